/* test_ops_conv.c: conv2d, conv1d_channels (ECA) and linear.
 *
 * Finite-difference gradient checks (F64) over the options, forward values against numbers
 * worked out by hand, shape-inference messages, and F32 kernels against F64 kernels
 * (forward and backward) on the same inputs. For conv2d the F32 kernels are oneDNN's and the
 * F64 ones llx's im2col reference, so the F32-vs-F64 checks compare the two implementations:
 * every shape of the gradient checks, gradients accumulating into non-zero din, a batch
 * smaller than the workspace was planned for, and bit-for-bit repeatability. */
#include <string.h>

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

/* Every conv2d shape tested above, in F32 (oneDNN) against F64 (im2col): y, dx, dw, db. */
static void test_conv2d_onednn_matches_reference(void)
{
    static const struct {
        const char *label;
        llx_conv2d_attr a;
        int64_t n, c, h, w, o, kh, kw;
        bool bias;
    } cases[] = {
        {"k3 s1 p1 bias, 5x4", {1, 1, 1, 1}, 2, 3, 5, 4, 4, 3, 3, true},
        {"k3 s1 p1 no bias", {1, 1, 1, 1}, 2, 3, 5, 4, 4, 3, 3, false},
        {"k3 s2 p1 bias, 7x6", {2, 2, 1, 1}, 2, 2, 7, 6, 3, 3, 3, true},
        {"k2 s2 p0", {2, 2, 0, 0}, 1, 2, 6, 5, 3, 2, 2, false},
        {"k7 s1 p3 bias", {1, 1, 3, 3}, 2, 2, 4, 5, 2, 7, 7, true},
        {"1x1 s1 p0 bias", {1, 1, 0, 0}, 2, 5, 3, 4, 3, 1, 1, true},
        {"1x1 s1 p0 no bias", {1, 1, 0, 0}, 2, 5, 3, 4, 3, 1, 1, false},
        {"1x1 s2 p0", {2, 2, 0, 0}, 2, 3, 5, 5, 4, 1, 1, false},
        {"3x2 kernel, stride 2x1, pad 0x1", {2, 1, 0, 1}, 2, 2, 6, 4, 3, 3, 2, true},
        {"k2 s1 p0 bias, 3x3", {1, 1, 0, 0}, 1, 1, 3, 3, 1, 2, 2, true},
        {"k3 s2 p1, 3x3", {2, 2, 1, 1}, 1, 1, 3, 3, 1, 3, 3, false},
        {"k3 s1 p1 bias, batch 4", {1, 1, 1, 1}, 4, 2, 5, 5, 3, 3, 3, true},
        {"k3 s1 p1 bias, batch 1", {1, 1, 1, 1}, 1, 2, 5, 5, 3, 3, 3, true},
        {"k3 s2 p1 bias, 9x8", {2, 2, 1, 1}, 3, 5, 9, 8, 6, 3, 3, true},
        {"1x1 bias, 16 -> 8", {1, 1, 0, 0}, 2, 16, 5, 5, 8, 1, 1, true},
        {"k3 s1 p1, 32 -> 48 (blocked layouts)", {1, 1, 1, 1}, 3, 32, 9, 7, 48, 3, 3, true},
        {"k7 s2 p3, 3 -> 16 (stem)", {2, 2, 3, 3}, 2, 3, 17, 15, 16, 7, 7, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gc_case c = conv_case(&cases[i].a, cases[i].n, cases[i].c, cases[i].h, cases[i].w,
                              cases[i].o, cases[i].kh, cases[i].kw, cases[i].bias);
        CHECK_MSG(op_run_f32_matches_f64(cases[i].label, &c, 1e-5), "%s", cases[i].label);
    }
}

/* Backward adds into din: start every gradient from non-zero values. */
static void test_conv2d_onednn_accumulates(void)
{
    llx_conv2d_attr a = {2, 2, 1, 1};
    gc_case c = conv_case(&a, 2, 20, 9, 8, 24, 3, 3, true);
    int64_t n[3] = {llx_shape_numel(&c.in[0].shape), llx_shape_numel(&c.in[1].shape),
                    llx_shape_numel(&c.in[2].shape)};
    double *start[3];
    for (int i = 0; i < 3; i++) {
        start[i] = malloc((size_t)n[i] * sizeof(double));
        for (int64_t k = 0; k < n[i]; k++) start[i][k] = 0.25 * (double)((k * 7 + i) % 9) - 1;
    }
    const double *din[3] = {start[0], start[1], start[2]};
    op_run_result zero32, acc32, acc64;
    llx_error err;
    CHECK(op_run(&c, LLX_F32, NULL, &zero32, &err) == LLX_OK);
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.din = din}, &acc32, &err) == LLX_OK);
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.din = din}, &acc64, &err) == LLX_OK);
    for (int i = 0; i < 3; i++) {
        /* acc32 = start + the gradient from zero */
        double *want = malloc((size_t)n[i] * sizeof(double));
        for (int64_t k = 0; k < n[i]; k++) want[k] = start[i][k] + zero32.din[i][k];
        CHECK_MSG(op_run_rel_diff(acc32.din[i], want, n[i]) <= 1e-6, "input %d", i);
        CHECK_MSG(op_run_rel_diff(acc32.din[i], acc64.din[i], n[i]) <= 1e-5, "input %d", i);
        free(want);
        free(start[i]);
    }
    op_run_free(&zero32);
    op_run_free(&acc32);
    op_run_free(&acc64);
}

static void set_batch(op_run_state *s, int64_t n)
{
    s->in[0].shape.dim[0] = s->din[0].shape.dim[0] = n;
    s->out.shape.dim[0] = s->dout.shape.dim[0] = n;
}

/* The graph plans the workspace for its batch and may then run a shorter last batch on it:
 * batch 4, then 1 on the same buffers, then 4 again. */
static void test_conv2d_onednn_batch_changes(void)
{
    llx_conv2d_attr a = {1, 1, 1, 1};
    gc_case c = conv_case(&a, 4, 24, 6, 7, 40, 3, 3, true);
    op_run_state s;
    llx_error err;
    CHECK(op_run_setup(&c, LLX_F32, NULL, &s, &err) == LLX_OK);
    size_t ny = (size_t)llx_shape_numel(&s.out.shape), nx = (size_t)llx_shape_numel(&s.in[0].shape);
    size_t nw = (size_t)llx_shape_numel(&s.in[1].shape);
    float *y4 = malloc(ny * sizeof(float)), *dx4 = malloc(nx * sizeof(float));
    float *dw4 = malloc(nw * sizeof(float));
    CHECK(llx_op_forward(&s.call, &err) == LLX_OK);
    CHECK(llx_op_backward(&s.call, &err) == LLX_OK);
    memcpy(y4, s.out.data, ny * sizeof(float));
    memcpy(dx4, s.din[0].data, nx * sizeof(float));
    memcpy(dw4, s.din[1].data, nw * sizeof(float));

    for (int i = 0; i < 3; i++) memset(s.din[i].data, 0, (size_t)llx_tensor_bytes(&s.din[i]));
    set_batch(&s, 1);
    memset(s.out.data, 0, ny * sizeof(float));
    CHECK(llx_op_forward(&s.call, &err) == LLX_OK);
    CHECK(llx_op_backward(&s.call, &err) == LLX_OK);
    double d = 0, m = 0;
    for (size_t k = 0; k < ny / 4; k++) {
        d = fmax(d, fabs((double)((float *)s.out.data)[k] - y4[k]));
        m = fmax(m, fabs((double)y4[k]));
    }
    CHECK_MSG(d <= 1e-6 * m, "batch 1 y differs from the first image of batch 4 by %g", d / m);
    d = m = 0;
    for (size_t k = 0; k < nx / 4; k++) {
        d = fmax(d, fabs((double)((float *)s.din[0].data)[k] - dx4[k]));
        m = fmax(m, fabs((double)dx4[k]));
    }
    CHECK_MSG(d <= 1e-6 * m, "batch 1 dx differs from the first image of batch 4 by %g", d / m);
    for (size_t k = nx / 4; k < nx; k++) CHECK(((float *)s.din[0].data)[k] == 0);

    set_batch(&s, 4);
    for (int i = 0; i < 3; i++) memset(s.din[i].data, 0, (size_t)llx_tensor_bytes(&s.din[i]));
    memset(s.out.data, 0, ny * sizeof(float));
    CHECK(llx_op_forward(&s.call, &err) == LLX_OK);
    CHECK(llx_op_backward(&s.call, &err) == LLX_OK);
    CHECK(memcmp(s.out.data, y4, ny * sizeof(float)) == 0);
    CHECK(memcmp(s.din[0].data, dx4, nx * sizeof(float)) == 0);
    CHECK(memcmp(s.din[1].data, dw4, nw * sizeof(float)) == 0);
    op_run_teardown(&s);
    free(y4);
    free(dx4);
    free(dw4);
}

/* The same call twice gives the same bits (fixed thread count). */
static void test_conv2d_onednn_deterministic(void)
{
    llx_conv2d_attr a = {1, 1, 1, 1};
    gc_case c = conv_case(&a, 8, 32, 14, 14, 64, 3, 3, true);
    op_run_result r1, r2;
    llx_error err;
    CHECK(op_run(&c, LLX_F32, NULL, &r1, &err) == LLX_OK);
    CHECK(op_run(&c, LLX_F32, NULL, &r2, &err) == LLX_OK);
    CHECK(memcmp(r1.out, r2.out, (size_t)llx_shape_numel(&r1.out_shape) * sizeof(double)) == 0);
    for (int i = 0; i < 3; i++)
        CHECK_MSG(memcmp(r1.din[i], r2.din[i],
                         (size_t)llx_shape_numel(&c.in[i].shape) * sizeof(double)) == 0,
                  "gradient of input %d", i);
    op_run_free(&r1);
    op_run_free(&r2);
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
    RUN(test_conv2d_onednn_matches_reference);
    RUN(test_conv2d_onednn_accumulates);
    RUN(test_conv2d_onednn_batch_changes);
    RUN(test_conv2d_onednn_deterministic);
    RUN(test_conv2d_infer_errors);
    RUN(test_conv2d_smaller_batch);
    RUN(test_conv1d_channels_gradcheck);
    RUN(test_conv1d_channels_values);
    RUN(test_linear_gradcheck);
    RUN(test_linear_values_and_infer);
    RUN(test_linear_f32_matches_f64);
    return check_report();
}
