/* test_ops_norm_pool.c: batchnorm2d and maxpool2d.
 *
 * Finite-difference gradient checks (F64) of BN in training and eval mode and of max
 * pooling (no ties: GC_SPREAD), forward values and the running-statistics update against
 * numbers worked out by hand, shape-inference messages, and F32 against F64 kernels. */
#include <math.h>

#include "check.h"
#include "gradcheck.h"
#include "llx/llx.h"
#include "oprun.h"

/* ---- batchnorm2d ---- */

static gc_case bn_case(const llx_batchnorm2d_attr *a, int64_t n, int64_t c, int64_t h, int64_t w,
                       bool training)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_BATCHNORM2D), .attr = a, .n_in = 5,
                  .training = training};
    gc.in[0].shape = llx_shape4(n, c, h, w);
    for (int i = 1; i < 5; i++) gc.in[i].shape = llx_shape1(c);
    gc.in[4].fill = GC_POSITIVE; /* running variance */
    return gc;
}

static void test_bn_gradcheck(void)
{
    llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    gc_case c = bn_case(&a, 3, 4, 3, 2, true);
    CHECK(gradcheck("bn training", &c));
    c = bn_case(&a, 2, 3, 1, 1, true);
    CHECK(gradcheck("bn training, 2 values per channel", &c));
    c = bn_case(&a, 3, 4, 3, 2, false);
    CHECK(gradcheck("bn eval", &c));
}

static void test_bn_running_stats(void)
{
    /* x (2, 2, 1, 2): channel 0 holds 1, 2, 3, 6 (mean 3, var 3.5, unbiased 14/3);
     * channel 1 holds 0, 0, 4, 4 (mean 2, var 4, unbiased 16/3). */
    static const double x[8] = {1, 2, 0, 0, 3, 6, 4, 4};
    static const double gamma[2] = {1, 2}, beta[2] = {0, 1}, rm[2] = {0, 1}, rv[2] = {1, 2};
    llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    gc_case c = bn_case(&a, 2, 2, 1, 2, true);
    const double *v[5] = {x, gamma, beta, rm, rv};
    op_run_result r;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.in[3][0], 0.9 * 0 + 0.1 * 3, 1e-12);
    CHECK_NEAR(r.in[3][1], 0.9 * 1 + 0.1 * 2, 1e-12);
    CHECK_NEAR(r.in[4][0], 0.9 * 1 + 0.1 * 14.0 / 3, 1e-12);
    CHECK_NEAR(r.in[4][1], 0.9 * 2 + 0.1 * 16.0 / 3, 1e-12);
    /* normalised with the biased variance */
    CHECK_NEAR(r.out[0], (1 - 3) / sqrt(3.5 + 1e-5), 1e-12);
    CHECK_NEAR(r.out[5], (6 - 3) / sqrt(3.5 + 1e-5), 1e-12);
    CHECK_NEAR(r.out[2], 2 * (0 - 2) / sqrt(4 + 1e-5) + 1, 1e-12);
    CHECK_NEAR(r.out[7], 2 * (4 - 2) / sqrt(4 + 1e-5) + 1, 1e-12);
    op_run_free(&r);

    /* eval: the running statistics normalise and stay as they are */
    c.training = false;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], (1 - 0) / sqrt(1 + 1e-5), 1e-12);
    CHECK_NEAR(r.out[6], 2 * (4 - 1) / sqrt(2 + 1e-5) + 1, 1e-12);
    CHECK(r.in[3][0] == 0 && r.in[3][1] == 1 && r.in[4][0] == 1 && r.in[4][1] == 2);
    op_run_free(&r);

    /* one value per channel cannot be trained on */
    gc_case one = bn_case(&a, 1, 2, 1, 1, true);
    CHECK(op_run(&one, LLX_F64, NULL, &r, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "batchnorm2d: training needs more than 1 value per channel");
}

static void test_bn_f32_matches_f64(void)
{
    llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    gc_case c = bn_case(&a, 4, 6, 5, 7, true);
    CHECK(op_run_f32_matches_f64("bn training", &c, 1e-5));
    c.training = false;
    CHECK(op_run_f32_matches_f64("bn eval", &c, 1e-5));
}

static void test_bn_infer(void)
{
    const llx_op_desc *op = llx_builtin_op(LLX_OP_BATCHNORM2D);
    llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    llx_shape in[5] = {llx_shape4(2, 8, 4, 4), llx_shape1(8), llx_shape1(8), llx_shape1(4),
                       llx_shape1(8)},
              out;
    llx_error err;
    CHECK(op->infer(&a, in, 5, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "batchnorm2d: running_mean (4) does not fit input (2, 8, 4, 4)");
    in[3] = llx_shape1(8);
    CHECK(op->infer(&a, in, 5, &out, &err) == LLX_OK);
    CHECK(llx_shape_equal(&out, &in[0]));
    CHECK(op->macs(&a, in, 5, &out) == 2 * 8 * 4 * 4);
    CHECK(op->no_grad_inputs == ((1u << 3) | (1u << 4)));
}

/* ---- maxpool2d ---- */

static gc_case pool_case(const llx_pool2d_attr *a, int64_t n, int64_t c, int64_t h, int64_t w)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_MAXPOOL2D), .attr = a, .n_in = 1};
    gc.in[0].shape = llx_shape4(n, c, h, w);
    gc.in[0].fill = GC_SPREAD;
    return gc;
}

static void test_maxpool_gradcheck(void)
{
    llx_pool2d_attr k3s2p1 = {3, 3, 2, 2, 1, 1}, k2s2 = {2, 2, 2, 2, 0, 0};
    llx_pool2d_attr k3s1p1 = {3, 3, 1, 1, 1, 1};
    gc_case c = pool_case(&k3s2p1, 2, 3, 7, 6);
    CHECK(gradcheck("maxpool k3 s2 p1", &c));
    c = pool_case(&k2s2, 2, 3, 6, 5);
    CHECK(gradcheck("maxpool k2 s2 (odd width)", &c));
    c = pool_case(&k3s1p1, 1, 2, 4, 4);
    CHECK(gradcheck("maxpool k3 s1 p1 (overlapping windows)", &c));
}

static void test_maxpool_values(void)
{
    /* a 4x4 plane, all negative so that a padded zero would win if padding counted */
    static const double x[16] = {1, 5, 2, 0, 3, 4, 9, 8, 7, 6, 1, 2, 0, 3, 4, 11};
    double xn[16];
    for (int i = 0; i < 16; i++) xn[i] = x[i] - 20;
    const double dy[4] = {1, 2, 3, 4};
    llx_pool2d_attr k2s2 = {2, 2, 2, 2, 0, 0}, k3s2p1 = {3, 3, 2, 2, 1, 1};
    op_run_result r;
    llx_error err;
    const double *v[1] = {x};
    gc_case c = pool_case(&k2s2, 1, 1, 4, 4);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v, .dout = dy}, &r, &err) == LLX_OK);
    CHECK(r.out[0] == 5 && r.out[1] == 9 && r.out[2] == 7 && r.out[3] == 11);
    CHECK(r.din[0][1] == 1 && r.din[0][6] == 2 && r.din[0][8] == 3 && r.din[0][15] == 4);
    double total = 0;
    for (int i = 0; i < 16; i++) total += r.din[0][i];
    CHECK_NEAR(total, 10, 0);
    op_run_free(&r);

    const double *vn[1] = {xn};
    c = pool_case(&k3s2p1, 1, 1, 4, 4);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = vn, .dout = dy}, &r, &err) == LLX_OK);
    CHECK(r.out_shape.dim[2] == 2 && r.out_shape.dim[3] == 2);
    CHECK(r.out[0] == -15 && r.out[1] == -11 && r.out[2] == -13 && r.out[3] == -9);
    CHECK(r.din[0][1] == 1 && r.din[0][6] == 2 && r.din[0][8] == 3 && r.din[0][15] == 4);
    op_run_free(&r);
}

static void test_maxpool_infer(void)
{
    const llx_op_desc *op = llx_builtin_op(LLX_OP_MAXPOOL2D);
    llx_pool2d_attr k3s2 = {3, 3, 2, 2, 0, 0}, k3s2p1 = {3, 3, 2, 2, 1, 1};
    llx_pool2d_attr k3p2 = {3, 3, 1, 1, 2, 2};
    llx_shape in = llx_shape4(1, 3, 2, 2), out;
    llx_error err;
    CHECK(op->infer(&k3s2, &in, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "maxpool2d: input (1, 3, 2, 2) is too small for the 3x3 window");
    CHECK(op->infer(&k3p2, &in, 1, &out, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "maxpool2d: padding 2x2");
    in = llx_shape4(2, 64, 112, 112);
    CHECK(op->infer(&k3s2p1, &in, 1, &out, &err) == LLX_OK);
    CHECK(out.dim[0] == 2 && out.dim[1] == 64 && out.dim[2] == 56 && out.dim[3] == 56);
    in = llx_shape4(2, 64, 7, 7);
    CHECK(op->infer(&k3s2, &in, 1, &out, &err) == LLX_OK);
    CHECK(out.dim[2] == 3 && out.dim[3] == 3);
    char buf[32];
    op->describe(&k3s2p1, buf, sizeof buf);
    CHECK_CONTAINS(buf, "k3 s2 p1");
}

static void test_maxpool_f32_matches_f64(void)
{
    llx_pool2d_attr k3s2p1 = {3, 3, 2, 2, 1, 1};
    gc_case c = pool_case(&k3s2p1, 2, 4, 9, 8);
    CHECK(op_run_f32_matches_f64("maxpool", &c, 1e-6));
}

int main(void)
{
    RUN(test_bn_gradcheck);
    RUN(test_bn_running_stats);
    RUN(test_bn_f32_matches_f64);
    RUN(test_bn_infer);
    RUN(test_maxpool_gradcheck);
    RUN(test_maxpool_values);
    RUN(test_maxpool_infer);
    RUN(test_maxpool_f32_matches_f64);
    return check_report();
}
