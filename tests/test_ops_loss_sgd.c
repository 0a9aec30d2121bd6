/* test_ops_loss_sgd.c: softmax cross-entropy and the SGD update.
 *
 * Finite-difference gradient checks (F64) of softmax_ce with and without class weights,
 * loss values worked out by hand, the label range error, and three SGD steps with
 * momentum 0.9 and weight decay 5e-4 (plain and Nesterov) against PyTorch's update rule
 * worked through by hand, in F64 and F32; llx_sgd_update_all over a list with per-tensor
 * decay against llx_sgd_update tensor by tensor, bit for bit, and its errors; the device-side
 * classifier statistics (llx_batch_stats_add) worked out by hand: crops summed, ties, NaN
 * logits, labels out of range, the first non-finite loss, F32 and F64, and its errors. */
#include <math.h>
#include <string.h>

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

/* ---- sgd_update_all ---- */

enum { ALL_N = 3, ALL_MAX = 70 };
static const int64_t all_sizes[ALL_N] = {5, 70, 17};

/* Three parameters (sizes all_sizes) of dtype dt with weights, gradients and velocities
 * in data[t][0..2]; values from a fixed sequence, velocities 0. */
typedef struct sgd_list {
    double data[ALL_N][3][ALL_MAX]; /* F64 storage, or F32 in the first half of each row */
    llx_tensor w[ALL_N], g[ALL_N], v[ALL_N];
    llx_tensor *wp[ALL_N], *vp[ALL_N];
    const llx_tensor *gp[ALL_N];
} sgd_list;

static void sgd_list_init(sgd_list *l, llx_dtype dt)
{
    static const char *const names[ALL_N] = {"a.weight", "a.bias", "b.weight"};
    memset(l->data, 0, sizeof l->data);
    for (int t = 0; t < ALL_N; t++) {
        llx_tensor base = {.name = names[t], .dtype = dt, .shape = llx_shape1(all_sizes[t])};
        l->w[t] = l->g[t] = l->v[t] = base;
        l->w[t].data = l->data[t][0], l->g[t].data = l->data[t][1], l->v[t].data = l->data[t][2];
        for (int64_t i = 0; i < all_sizes[t]; i++) {
            double w = sin(0.7 * (double)(i + 10 * t)), g = cos(1.3 * (double)(i + 7 * t));
            if (dt == LLX_F64)
                l->data[t][0][i] = w, l->data[t][1][i] = g;
            else
                ((float *)l->data[t][0])[i] = (float)w, ((float *)l->data[t][1])[i] = (float)g;
        }
        l->wp[t] = &l->w[t], l->gp[t] = &l->g[t], l->vp[t] = &l->v[t];
    }
}

/* Two Nesterov steps with weight decay on tensors 0 and 2 only: update_all and tensor by
 * tensor llx_sgd_update (weight_decay 0 for tensor 1) give the same bits. */
static void test_sgd_update_all_matches_per_tensor(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    const llx_sgd_params p = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.05, .nesterov = true};
    const bool decay[ALL_N] = {true, false, true};
    static sgd_list all, one;
    for (int d = 0; d < 2; d++) {
        llx_dtype dt = d ? LLX_F32 : LLX_F64;
        sgd_list_init(&all, dt), sgd_list_init(&one, dt);
        for (int step = 0; step < 2; step++) {
            CHECK(llx_sgd_update_all(be, &p, step == 0, ALL_N, all.wp, all.gp, all.vp, decay,
                                     &err) == LLX_OK);
            for (int t = 0; t < ALL_N; t++) {
                llx_sgd_params pt = p;
                if (!decay[t]) pt.weight_decay = 0;
                CHECK(llx_sgd_update(be, &pt, step == 0, one.wp[t], one.gp[t], one.vp[t], &err) ==
                      LLX_OK);
            }
        }
        CHECK_MSG(memcmp(all.data, one.data, sizeof all.data) == 0, "%s", llx_dtype_name(dt));
        /* and the decay flags mattered: tensor 1 without decay differs from with it */
        sgd_list_init(&one, dt);
        for (int step = 0; step < 2; step++)
            CHECK(llx_sgd_update_all(be, &p, step == 0, ALL_N, one.wp, one.gp, one.vp, NULL,
                                     &err) == LLX_OK);
        CHECK(memcmp(all.data[0], one.data[0], sizeof all.data[0]) == 0);
        CHECK(memcmp(all.data[1], one.data[1], sizeof all.data[1]) != 0);
    }
    llx_backend_free(be);
}

static void test_sgd_update_all_errors(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    static sgd_list l, before;
    const llx_sgd_params mom = {.lr = 0.1, .momentum = 0.9}, plain = {.lr = 0.5};
    /* momentum 0: no velocities needed at all, decay NULL; an empty list is fine */
    sgd_list_init(&l, LLX_F64);
    CHECK(llx_sgd_update_all(be, &plain, true, ALL_N, l.wp, l.gp, NULL, NULL, &err) == LLX_OK);
    CHECK_NEAR(l.data[2][0][3], sin(0.7 * 23) - 0.5 * cos(1.3 * 17), 1e-15);
    CHECK(llx_sgd_update_all(be, &mom, true, 0, NULL, NULL, NULL, NULL, &err) == LLX_OK);
    /* a bad tensor anywhere in the list: an error naming it, and no tensor is updated */
    sgd_list_init(&l, LLX_F64);
    l.v[2].shape = llx_shape1(3);
    before = l;
    CHECK(llx_sgd_update_all(be, &mom, false, ALL_N, l.wp, l.gp, l.vp, NULL, &err) ==
          LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "sgd: parameter 'b.weight' (17)");
    CHECK(memcmp(l.data, before.data, sizeof l.data) == 0);
    CHECK(llx_sgd_update_all(be, &mom, false, ALL_N, l.wp, l.gp, NULL, NULL, &err) ==
          LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "velocity (missing)");
    sgd_list_init(&l, LLX_F64);
    l.g[1].dtype = LLX_F32;
    CHECK(llx_sgd_update_all(be, &mom, false, ALL_N, l.wp, l.gp, l.vp, NULL, &err) ==
          LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "'a.bias' is f64 but its gradient is f32");
    l.g[1].dtype = LLX_F64;
    l.w[0].dtype = l.g[0].dtype = l.v[0].dtype = LLX_I32;
    CHECK(llx_sgd_update_all(be, &mom, false, ALL_N, l.wp, l.gp, l.vp, NULL, &err) ==
          LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "'a.weight' has dtype i32");
    /* F64 tensors on a (fake) CUDA backend: no kernel in a build without CUDA, and the
     * CUDA update takes F32 only in a build with it; either way it fails before any launch */
    sgd_list_init(&l, LLX_F64);
    llx_backend fake = *be;
    fake.device = LLX_DEVICE_CUDA;
    for (int t = 0; t < ALL_N; t++) l.w[t].device = l.g[t].device = l.v[t].device = LLX_DEVICE_CUDA;
    CHECK(llx_sgd_update_all(&fake, &mom, true, ALL_N, l.wp, l.gp, l.vp, NULL, &err) ==
          LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "sgd");
    CHECK_CONTAINS(err.msg, "cuda");
    /* tensors on another device than the backend's */
    CHECK(llx_sgd_update_all(be, &mom, true, ALL_N, l.wp, l.gp, l.vp, NULL, &err) ==
          LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "not on the cpu device");
    llx_backend_free(be);
}

/* ---- batch_stats ---- */

enum { BS_K = 3, BS_CROPS = 2, BS_ROWS = 10 };

/* Logits or a loss as F64 or F32. */
typedef union bs_store {
    double d[BS_ROWS * BS_K];
    float f[BS_ROWS * BS_K];
} bs_store;

static void bs_set(llx_dtype dt, bs_store *s, int i, double x)
{
    if (dt == LLX_F64) s->d[i] = x;
    else s->f[i] = (float)x;
}

/* Five samples of two crops each over three classes, as F64 or F32 in `store`:
 *   s0 label 1: crop rows argmax 0 and 1, the sum's argmax 1   -> cell (1, 1)
 *   s1 label 2: sums tie between classes 0 and 2: the first     -> cell (2, 0)
 *   s2 label 0: a NaN logit in class 1: never the largest        -> cell (0, 2)
 *   s3 label 7: outside [0, 3), counted nowhere
 *   s4 label 0: a NaN in class 0, classes 1 and 2 tie: class 1   -> cell (0, 1) */
static void bs_fill(llx_dtype dt, bs_store *store, llx_tensor *logits)
{
    static const double v[BS_ROWS][BS_K] = {
        {3, 2, 0}, {0, 4, 1},           /* s0: sums 3, 6, 1 */
        {1, 0, 2}, {2, 0, 1},           /* s1: sums 3, 0, 3 */
        {0, NAN, 1}, {0, 5, 2},         /* s2: sums 0, NaN, 3 */
        {9, 0, 0}, {9, 0, 0},           /* s3 */
        {NAN, 1, 1}, {1, 1, 1},         /* s4: sums NaN, 2, 2 */
    };
    for (int i = 0; i < BS_ROWS * BS_K; i++) bs_set(dt, store, i, v[i / BS_K][i % BS_K]);
    *logits = (llx_tensor){.name = "logits", .dtype = dt, .shape = llx_shape2(BS_ROWS, BS_K), .data = store};
}

static void test_batch_stats_values(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    int32_t labels[BS_ROWS] = {1, 1, 2, 2, 0, 0, 7, 7, 0, 0};
    llx_tensor y = {.name = "labels", .dtype = LLX_I32, .shape = llx_shape1(BS_ROWS), .data = labels};
    for (int d = 0; d < 2; d++) {
        llx_dtype dt = d ? LLX_F32 : LLX_F64;
        bs_store store, loss_store;
        double acc[BS_K * BS_K + LLX_STATS_TAIL] = {0};
        llx_tensor logits, loss = {.name = "loss", .dtype = dt, .shape = llx_shape1(1), .data = &loss_store};
        llx_tensor a = {.dtype = LLX_F64, .shape = llx_shape1(llx_batch_stats_len(BS_K)), .data = acc};
        bs_fill(dt, &store, &logits);
        const double losses[3] = {0.5, INFINITY, 0.25};
        for (int b = 0; b < 3; b++) {
            bs_set(dt, &loss_store, 0, losses[b]);
            CHECK_MSG(llx_batch_stats_add(be, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_OK, "%s", err.msg);
            if (b == 0) {
                const double want[BS_K * BS_K] = {0, 1, 1, 0, 1, 0, 1, 0, 0};
                CHECK_MSG(memcmp(acc, want, sizeof want) == 0, "%s: confusion after one batch", llx_dtype_name(dt));
                CHECK(acc[BS_K * BS_K + LLX_STATS_LOSS_SUM] == 2.5); /* 0.5 * 5 samples */
                CHECK(acc[BS_K * BS_K + LLX_STATS_FIRST_BAD] == 0);
            }
        }
        CHECK(acc[1] == 3 && acc[2 * BS_K] == 3 && acc[0] == 0); /* three batches counted */
        CHECK(isinf(acc[BS_K * BS_K + LLX_STATS_LOSS_SUM]));
        CHECK(acc[BS_K * BS_K + LLX_STATS_BATCHES] == 3);
        CHECK(acc[BS_K * BS_K + LLX_STATS_FIRST_BAD] == 2); /* the infinite loss, and it stays */
    }
    llx_backend_free(be);
}

static void test_batch_stats_errors(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    int32_t labels[BS_ROWS] = {0};
    bs_store store;
    double loss_store[1] = {0}, acc[BS_K * BS_K + LLX_STATS_TAIL] = {0};
    llx_tensor logits, y = {.dtype = LLX_I32, .shape = llx_shape1(BS_ROWS), .data = labels};
    llx_tensor loss = {.dtype = LLX_F64, .shape = llx_shape1(1), .data = loss_store};
    llx_tensor a = {.dtype = LLX_F64, .shape = llx_shape1(llx_batch_stats_len(BS_K)), .data = acc};
    bs_fill(LLX_F64, &store, &logits);
    CHECK(llx_batch_stats_add(be, &logits, &y, &loss, 3, &a, &err) == LLX_ERR_SHAPE); /* 10 rows, 3 crops */
    CHECK_CONTAINS(err.msg, "batch stats: logits (10, 3) are not (samples * 3 crops, classes)");
    y.shape = llx_shape1(9);
    CHECK(llx_batch_stats_add(be, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "labels i32 (9) do not fit logits (10, 3)");
    y.shape = llx_shape1(BS_ROWS);
    a.shape = llx_shape1(9);
    CHECK(llx_batch_stats_add(be, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "accumulator is f64 of 9 values, want f64 of 12");
    a.shape = llx_shape1(llx_batch_stats_len(BS_K));
    loss.dtype = LLX_F32;
    CHECK(llx_batch_stats_add(be, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "logits f64 and loss f32");
    loss.dtype = LLX_F64;
    double untouched[BS_K * BS_K + LLX_STATS_TAIL] = {0};
    CHECK(memcmp(acc, untouched, sizeof acc) == 0); /* nothing was added by the failed calls */
    /* F64 on a (fake) CUDA backend: no kernel without CUDA, and F32 only with it; it fails
     * before any launch either way */
    llx_backend fake = *be;
    fake.device = LLX_DEVICE_CUDA;
    logits.device = y.device = loss.device = a.device = LLX_DEVICE_CUDA;
    CHECK(llx_batch_stats_add(&fake, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "batch stats");
    CHECK_CONTAINS(err.msg, "cuda");
    CHECK(llx_batch_stats_add(be, &logits, &y, &loss, BS_CROPS, &a, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "not on the cpu device");
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
    RUN(test_sgd_update_all_matches_per_tensor);
    RUN(test_sgd_update_all_errors);
    RUN(test_batch_stats_values);
    RUN(test_batch_stats_errors);
    return check_report();
}
