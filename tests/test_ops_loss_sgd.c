/* test_ops_loss_sgd.c: softmax cross-entropy and the SGD update.
 *
 * Finite-difference gradient checks (F64) of softmax_ce with and without class weights,
 * loss values worked out by hand, the label range error, and three SGD steps with
 * momentum 0.9 and weight decay 5e-4 (plain and Nesterov) against PyTorch's update rule
 * worked through by hand, in F64 and F32. */
#include "check.h"
#include "gradcheck.h"
#include "llx/llx.h"
#include "oprun.h"

/* ---- softmax_ce ---- */

static gc_case ce_case(const llx_softmax_ce_attr *a, int64_t n, int64_t k, bool weights)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_SOFTMAX_CE), .attr = a, .n_in = weights ? 3 : 2};
    gc.in[0].shape = llx_shape2(n, k);
    gc.in[1] = (gc_input){.shape = llx_shape1(n), .fill = GC_LABELS, .labels_k = (int)k};
    gc.in[2] = (gc_input){.shape = llx_shape1(k), .fill = GC_POSITIVE};
    return gc;
}

static void test_softmax_ce_gradcheck(void)
{
    llx_softmax_ce_attr mean = {1}, sum = {0};
    gc_case c = ce_case(&mean, 5, 7, false);
    CHECK(gradcheck("ce mean", &c));
    c = ce_case(&mean, 5, 7, true);
    CHECK(gradcheck("ce weighted mean", &c));
    c = ce_case(&sum, 4, 3, false);
    CHECK(gradcheck("ce sum", &c));
    c = ce_case(&sum, 4, 3, true);
    CHECK(gradcheck("ce weighted sum", &c));
}

static void test_softmax_ce_values(void)
{
    /* logits [[1, 2, 3], [1, 1, 1]], labels [2, 0]:
     * l0 = log(e + e^2 + e^3) - 3 = 0.40760596444438, l1 = log 3 = 1.09861228866811 */
    static const double logits[6] = {1, 2, 3, 1, 1, 1}, labels[2] = {2, 0}, w[3] = {2, 1, 0.5};
    const double l0 = 0.40760596444438013, l1 = 1.0986122886681098;
    llx_softmax_ce_attr mean = {1}, sum = {0};
    op_run_result r;
    llx_error err;
    const double dout[1] = {1};
    gc_case c = ce_case(&mean, 2, 3, false);
    const double *v[3] = {logits, labels, w};
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v, .dout = dout}, &r, &err) == LLX_OK);
    CHECK(r.out_shape.ndim == 1 && r.out_shape.dim[0] == 1);
    CHECK_NEAR(r.out[0], (l0 + l1) / 2, 1e-12);
    /* sample 1: p = 1/3 each, label 0: (p - onehot) / N */
    CHECK_NEAR(r.din[0][3], (1.0 / 3 - 1) / 2, 1e-12);
    CHECK_NEAR(r.din[0][4], (1.0 / 3) / 2, 1e-12);
    CHECK(r.din[1] == NULL);
    op_run_free(&r);

    c = ce_case(&sum, 2, 3, false);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v, .dout = dout}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], l0 + l1, 1e-12);
    op_run_free(&r);

    /* weighted mean: (w[2] l0 + w[0] l1) / (w[2] + w[0]) = 0.96041102382336 */
    c = ce_case(&mean, 2, 3, true);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v, .dout = dout}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], 0.9604110238233637, 1e-12);
    CHECK_NEAR(r.din[0][3], 2 * (1.0 / 3 - 1) / 2.5, 1e-12);
    CHECK(r.din[2] == NULL);
    op_run_free(&r);

    /* large logits stay finite: the row max is subtracted */
    static const double big[4] = {1000, 0, -1000, 1000}, big_labels[2] = {0, 0};
    const double *vb[2] = {big, big_labels};
    c = ce_case(&sum, 2, 2, false);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = vb, .dout = dout}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], 2000, 1e-9);
    op_run_free(&r);
}

static void test_softmax_ce_bad_label(void)
{
    static const double labels[5] = {0, 6, 2, 9, 1};
    llx_softmax_ce_attr mean = {1};
    gc_case c = ce_case(&mean, 5, 7, false);
    const double *v[2] = {NULL, labels};
    op_run_result r;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v}, &r, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "softmax_ce: label 9 of sample 3 is outside [0, 7)");
    llx_shape in[2] = {llx_shape2(5, 7), llx_shape1(4)}, out;
    CHECK(c.op->infer(&mean, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "softmax_ce: labels (4) do not fit logits (5, 7)");
}

static void test_softmax_ce_f32_matches_f64(void)
{
    llx_softmax_ce_attr mean = {1};
    gc_case c = ce_case(&mean, 16, 10, true);
    CHECK(op_run_f32_matches_f64("ce weighted mean", &c, 1e-5));
}

/* ---- sgd ---- */

/* Three steps from w = (1, -2) with gradients (0.5, 0.1), (-0.3, 0.2), (0.1, -0.4);
 * lr 0.1, momentum 0.9, weight decay 5e-4 (PyTorch SGD). Step 1 by hand, plain:
 *   g = 0.5 + 5e-4 * 1 = 0.5005, v = g, w = 1 - 0.1 * 0.5005 = 0.94995
 * Nesterov: step = g + 0.9 v = 0.95095, w = 1 - 0.095095 = 0.904905. */
static const double sgd_grads[3][2] = {{0.5, 0.1}, {-0.3, 0.2}, {0.1, -0.4}};
static const double sgd_plain_w[3][2] = {{0.94995, -2.0099},
                                         {0.9348575025, -2.038709505},
                                         {0.9112275118748749, -2.02453612402475}};
static const double sgd_plain_v[2] = {0.23629990625124997, -0.1417338097525};
static const double sgd_nesterov_w[3][2] = {{0.904905, -2.01881},
                                            {0.9212785340249999, -2.06463721305},
                                            {0.8899679139117675, -2.01177641070976}};
static const double sgd_nesterov_v[2] = {0.23627284651701247, -0.141750783106525};

static void sgd_three_steps(llx_dtype dt, bool nesterov, double tol)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    double wd[2] = {1, -2}, gd[2], vd[2] = {0, 0};
    float wf[2] = {1, -2}, gf[2], vf[2] = {0, 0};
    bool f64 = dt == LLX_F64;
    llx_tensor w = {.name = "fc.weight", .dtype = dt, .shape = llx_shape1(2),
                    .data = f64 ? (void *)wd : (void *)wf};
    llx_tensor g = w, v = w;
    g.data = f64 ? (void *)gd : (void *)gf;
    v.data = f64 ? (void *)vd : (void *)vf;
    llx_sgd_params p = {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = nesterov};
    const double(*want)[2] = nesterov ? sgd_nesterov_w : sgd_plain_w;
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < 2; i++) {
            gd[i] = sgd_grads[s][i];
            gf[i] = (float)sgd_grads[s][i];
        }
        CHECK(llx_sgd_update(be, &p, s == 0, &w, &g, &v, &err) == LLX_OK);
        for (int i = 0; i < 2; i++) CHECK_NEAR(f64 ? wd[i] : wf[i], want[s][i], tol);
    }
    const double *want_v = nesterov ? sgd_nesterov_v : sgd_plain_v;
    for (int i = 0; i < 2; i++) CHECK_NEAR(f64 ? vd[i] : vf[i], want_v[i], tol);
    llx_backend_free(be);
}

static void test_sgd_momentum(void)
{
    sgd_three_steps(LLX_F64, false, 1e-14);
    sgd_three_steps(LLX_F32, false, 1e-6);
}

static void test_sgd_nesterov(void)
{
    sgd_three_steps(LLX_F64, true, 1e-14);
    sgd_three_steps(LLX_F32, true, 1e-6);
}

static void test_sgd_plain_and_errors(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    double wd[3] = {1, 2, 3}, gd[3] = {1, 1, -1}, vd[2] = {0, 0};
    llx_tensor w = {.name = "w", .dtype = LLX_F64, .shape = llx_shape1(3), .data = wd};
    llx_tensor g = w, v = {.name = "v", .dtype = LLX_F64, .shape = llx_shape1(2), .data = vd};
    g.data = gd;
    /* no momentum: w -= lr * (g + wd * w), the velocity is not needed */
    llx_sgd_params plain = {.lr = 0.5, .weight_decay = 0.1};
    CHECK(llx_sgd_update(be, &plain, true, &w, &g, NULL, &err) == LLX_OK);
    CHECK_NEAR(wd[0], 1 - 0.5 * (1 + 0.1), 1e-15);
    CHECK_NEAR(wd[2], 3 - 0.5 * (-1 + 0.3), 1e-15);
    llx_sgd_params mom = {.lr = 0.1, .momentum = 0.9};
    CHECK(llx_sgd_update(be, &mom, false, &w, &g, &v, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "sgd: parameter 'w' (3)");
    /* a device without an SGD kernel: an error naming sgd and the device */
    llx_backend fake = *be;
    fake.device = LLX_DEVICE_CUDA;
    w.device = g.device = LLX_DEVICE_CUDA;
    CHECK(llx_sgd_update(&fake, &plain, true, &w, &g, NULL, &err) == LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "sgd");
    CHECK_CONTAINS(err.msg, "cuda");
    llx_backend_free(be);
}

int main(void)
{
    RUN(test_softmax_ce_gradcheck);
    RUN(test_softmax_ce_values);
    RUN(test_softmax_ce_bad_label);
    RUN(test_softmax_ce_f32_matches_f64);
    RUN(test_sgd_momentum);
    RUN(test_sgd_nesterov);
    RUN(test_sgd_plain_and_errors);
    return check_report();
}
