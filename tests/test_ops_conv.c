/* test_ops_conv.c: conv2d, conv1d_channels (ECA) and linear.
 *
 * Finite-difference gradient checks (F64) over the options, forward values against numbers
 * worked out by hand, shape-inference messages, and F32 kernels against F64 kernels
 * (forward and backward) on the same inputs. */
#include "check.h"
#include "gradcheck.h"
#include "llx/llx.h"
#include "oprun.h"

/* ---- conv2d ---- */

static gc_case conv_case(const llx_conv2d_attr *a, int64_t n, int64_t c, int64_t h, int64_t w,
                         int64_t o, int64_t kh, int64_t kw, bool bias)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_CONV2D), .attr = a, .n_in = bias ? 3 : 2};
    gc.in[0].shape = llx_shape4(n, c, h, w);
    gc.in[1].shape = llx_shape4(o, c, kh, kw);
    gc.in[2].shape = llx_shape1(o);
    return gc;
}

static void test_conv2d_gradcheck(void)
{
    llx_conv2d_attr s1p1 = {1, 1, 1, 1}, s2p1 = {2, 2, 1, 1}, s1p0 = {1, 1, 0, 0};
    llx_conv2d_attr s2p0 = {2, 2, 0, 0}, s1p3 = {1, 1, 3, 3}, mixed = {2, 1, 0, 1};
    gc_case c;
    c = conv_case(&s1p1, 2, 3, 5, 4, 4, 3, 3, true);
    CHECK(gradcheck("conv k3 s1 p1 bias, 5x4 input", &c));
    c = conv_case(&s1p1, 2, 3, 5, 4, 4, 3, 3, false);
    CHECK(gradcheck("conv k3 s1 p1 no bias", &c));
    c = conv_case(&s2p1, 2, 2, 7, 6, 3, 3, 3, true);
    CHECK(gradcheck("conv k3 s2 p1 bias, 7x6 input", &c));
    c = conv_case(&s2p0, 1, 2, 6, 5, 3, 2, 2, false);
    CHECK(gradcheck("conv k2 s2 p0", &c));
    c = conv_case(&s1p3, 2, 2, 4, 5, 2, 7, 7, true);
    CHECK(gradcheck("conv k7 s1 p3 bias", &c));
    c = conv_case(&s1p0, 2, 5, 3, 4, 3, 1, 1, true);
    CHECK(gradcheck("conv 1x1 s1 p0 (pointwise shortcut) bias", &c));
    c = conv_case(&s1p0, 2, 5, 3, 4, 3, 1, 1, false);
    CHECK(gradcheck("conv 1x1 s1 p0 no bias", &c));
    c = conv_case(&s2p0, 2, 3, 5, 5, 4, 1, 1, false);
    CHECK(gradcheck("conv 1x1 s2 p0 (im2col path)", &c));
    c = conv_case(&mixed, 2, 2, 6, 4, 3, 3, 2, true);
    CHECK(gradcheck("conv 3x2 kernel, stride 2x1, pad 0x1", &c));
}

static void test_conv2d_values(void)
{
    /* x (1, 1, 3, 3) = 1..9 */
    static const double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const double w2[4] = {1, 2, 3, 4}, b[1] = {0.5}, ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    llx_conv2d_attr s1p0 = {1, 1, 0, 0}, s2p1 = {2, 2, 1, 1};
    llx_error err;
    op_run_result r;

    /* 2x2 kernel [1 2; 3 4], stride 1, bias 0.5: y[0,0] = 1 + 2*2 + 3*4 + 4*5 + 0.5, ... */
    gc_case c = conv_case(&s1p0, 1, 1, 3, 3, 1, 2, 2, true);
    const double *v1[3] = {x, w2, b};
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v1}, &r, &err) == LLX_OK);
    CHECK(r.out_shape.dim[2] == 2 && r.out_shape.dim[3] == 2);
    CHECK_NEAR(r.out[0], 37.5, 1e-12);
    CHECK_NEAR(r.out[1], 47.5, 1e-12);
    CHECK_NEAR(r.out[2], 67.5, 1e-12);
    CHECK_NEAR(r.out[3], 77.5, 1e-12);
    op_run_free(&r);

    /* 3x3 kernel of ones, stride 2, pad 1: each output sums one 2x2 corner of x. */
    c = conv_case(&s2p1, 1, 1, 3, 3, 1, 3, 3, false);
    const double *v2[2] = {x, ones};
    const double dy[4] = {1, 10, 100, 1000};
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v2, .dout = dy}, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], 12, 1e-12);
    CHECK_NEAR(r.out[1], 16, 1e-12);
    CHECK_NEAR(r.out[2], 24, 1e-12);
    CHECK_NEAR(r.out[3], 28, 1e-12);
    /* dx: each x cell gets the dy of every window covering it; the centre is in all four. */
    CHECK_NEAR(r.din[0][0], 1, 1e-12);
    CHECK_NEAR(r.din[0][4], 1111, 1e-12);
    CHECK_NEAR(r.din[0][8], 1000, 1e-12);
    op_run_free(&r);
}

static void test_conv2d_f32_matches_f64(void)
{
    llx_conv2d_attr s2p1 = {2, 2, 1, 1}, s1p0 = {1, 1, 0, 0};
    gc_case c = conv_case(&s2p1, 3, 5, 9, 8, 6, 3, 3, true);
    CHECK(op_run_f32_matches_f64("conv k3 s2 p1", &c, 1e-5));
    c = conv_case(&s1p0, 2, 16, 5, 5, 8, 1, 1, true);
    CHECK(op_run_f32_matches_f64("conv 1x1", &c, 1e-5));
}

static void test_conv2d_infer_errors(void)
{
    const llx_op_desc *op = llx_builtin_op(LLX_OP_CONV2D);
    llx_conv2d_attr a = {1, 1, 1, 1};
    llx_shape in[3] = {llx_shape4(8, 64, 32, 32), llx_shape4(128, 32, 3, 3), llx_shape1(128)}, out;
    llx_error err = {0};
    CHECK(op->infer(&a, in, 3, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "conv2d: input (8, 64, 32, 32) has 64 channels");
    CHECK_CONTAINS(err.msg, "weight (128, 32, 3, 3) expects 32");
    in[1] = llx_shape4(128, 64, 3, 3);
    in[2] = llx_shape1(64);
    CHECK(op->infer(&a, in, 3, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "conv2d: bias (64)");
    llx_conv2d_attr s2p0 = {2, 2, 0, 0};
    in[0] = llx_shape4(1, 64, 2, 2);
    CHECK(op->infer(&s2p0, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "kernel 3x3 does not fit input (1, 64, 2, 2)");
    in[0] = llx_shape4(2, 64, 7, 6);
    llx_conv2d_attr s2p1 = {2, 2, 1, 1};
    CHECK(op->infer(&s2p1, in, 2, &out, &err) == LLX_OK);
    CHECK(out.ndim == 4 && out.dim[0] == 2 && out.dim[1] == 128 && out.dim[2] == 4 &&
          out.dim[3] == 3);
    CHECK(op->macs(&s2p1, in, 2, &out) == 2LL * 128 * 4 * 3 * 64 * 9);
    char buf[32];
    op->describe(&s2p1, buf, sizeof buf);
    CHECK_CONTAINS(buf, "s2 p1");
}

/* The batch of a run may be smaller than the planned one: kernels read N from the tensors. */
static void test_conv2d_smaller_batch(void)
{
    llx_conv2d_attr a = {1, 1, 1, 1};
    gc_case big = conv_case(&a, 4, 2, 5, 5, 3, 3, 3, true);
    gc_case small = conv_case(&a, 1, 2, 5, 5, 3, 3, 3, true);
    op_run_result rb, rs;
    llx_error err;
    CHECK(op_run(&big, LLX_F64, NULL, &rb, &err) == LLX_OK);
    /* the first sample of the big batch, the same weights and bias */
    const double *v[3] = {rb.in[0], rb.in[1], rb.in[2]};
    CHECK(op_run(&small, LLX_F64, &(op_run_opts){.values = v}, &rs, &err) == LLX_OK);
    CHECK(op_run_rel_diff(rs.out, rb.out, 3 * 25) == 0);
    op_run_free(&rb);
    op_run_free(&rs);
}

/* ---- conv1d_channels ---- */

static gc_case eca_case(const llx_conv1d_attr *a, int64_t n, int64_t c, int64_t k, bool flat)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_CONV1D_CHANNELS), .attr = a, .n_in = 2};
    gc.in[0].shape = flat ? llx_shape2(n, c) : llx_shape4(n, c, 1, 1);
    int64_t wd[3] = {1, 1, k};
    gc.in[1].shape = llx_shape_make(3, wd);
    return gc;
}

static void test_conv1d_channels_gradcheck(void)
{
    llx_conv1d_attr p1 = {1}, p2 = {2};
    gc_case c = eca_case(&p1, 3, 8, 3, false);
    CHECK(gradcheck("eca K3 pad1 (N,C,1,1)", &c));
    c = eca_case(&p2, 2, 9, 5, false);
    CHECK(gradcheck("eca K5 pad2 (N,C,1,1)", &c));
    c = eca_case(&p1, 2, 4, 3, true);
    CHECK(gradcheck("eca K3 pad1 (N,C)", &c));
}

static void test_conv1d_channels_values(void)
{
    static const double x[4] = {1, 2, 3, 4}, w[3] = {1, 10, 100};
    llx_conv1d_attr p1 = {1};
    gc_case c = eca_case(&p1, 1, 4, 3, false);
    const double *v[2] = {x, w};
    op_run_result r;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v}, &r, &err) == LLX_OK);
    /* y[c] = w0 x[c-1] + w1 x[c] + w2 x[c+1] */
    CHECK_NEAR(r.out[0], 10 + 200, 1e-12);
    CHECK_NEAR(r.out[1], 1 + 20 + 300, 1e-12);
    CHECK_NEAR(r.out[3], 3 + 40, 1e-12);
    op_run_free(&r);
    llx_conv1d_attr p0 = {0};
    llx_shape in[2] = {c.in[0].shape, c.in[1].shape}, out;
    CHECK(c.op->infer(&p0, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "conv1d_channels: weight (1, 1, 3) with pad 0");
}

/* ---- linear ---- */

static gc_case linear_case(const llx_shape *x, int64_t o, bool bias)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_LINEAR), .n_in = bias ? 3 : 2};
    gc.in[0].shape = *x;
    gc.in[1].shape = llx_shape2(o, llx_shape_numel(x) / x->dim[0]);
    gc.in[2].shape = llx_shape1(o);
    return gc;
}

static void test_linear_gradcheck(void)
{
    llx_shape x2 = llx_shape2(3, 7), x4 = llx_shape4(2, 3, 2, 2);
    gc_case c = linear_case(&x2, 5, true);
    CHECK(gradcheck("linear 2-D bias", &c));
    c = linear_case(&x2, 5, false);
    CHECK(gradcheck("linear 2-D no bias", &c));
    c = linear_case(&x4, 4, true);
    CHECK(gradcheck("linear 4-D bias", &c));
    c = linear_case(&x4, 4, false);
    CHECK(gradcheck("linear 4-D no bias", &c));
}

static void test_linear_values_and_infer(void)
{
    static const double x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 1, 2, -1, 1}, b[3] = {0.5, 0, -1};
    llx_shape xs = llx_shape2(2, 2);
    gc_case c = linear_case(&xs, 3, true);
    const double *v[3] = {x, w, b};
    op_run_result r;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v}, &r, &err) == LLX_OK);
    /* row 0: (1,2).(1,0) + .5, (1,2).(1,2), (1,2).(-1,1) - 1 */
    CHECK_NEAR(r.out[0], 1.5, 1e-12);
    CHECK_NEAR(r.out[1], 5, 1e-12);
    CHECK_NEAR(r.out[2], 0, 1e-12);
    CHECK_NEAR(r.out[5], 0, 1e-12);
    op_run_free(&r);
    llx_shape in[2] = {llx_shape4(2, 3, 4, 4), llx_shape2(10, 50)}, out;
    CHECK(c.op->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "linear: input (2, 3, 4, 4) has 48 features but weight (10, 50)");
    in[1] = llx_shape2(10, 48);
    CHECK(c.op->infer(NULL, in, 2, &out, &err) == LLX_OK);
    CHECK(out.ndim == 2 && out.dim[0] == 2 && out.dim[1] == 10);
    CHECK(c.op->macs(NULL, in, 2, &out) == 2 * 10 * 48);
}

static void test_linear_f32_matches_f64(void)
{
    llx_shape x4 = llx_shape4(3, 4, 3, 3);
    gc_case c = linear_case(&x4, 6, true);
    CHECK(op_run_f32_matches_f64("linear", &c, 1e-5));
}

int main(void)
{
    RUN(test_conv2d_gradcheck);
    RUN(test_conv2d_values);
    RUN(test_conv2d_f32_matches_f64);
    RUN(test_conv2d_infer_errors);
    RUN(test_conv2d_smaller_batch);
    RUN(test_conv1d_channels_gradcheck);
    RUN(test_conv1d_channels_values);
    RUN(test_linear_gradcheck);
    RUN(test_linear_values_and_infer);
    RUN(test_linear_f32_matches_f64);
    return check_report();
}
