/* test_gpu_ops.c: every built-in op on the CUDA backend against the CPU backend.
 *
 * Each case runs one op through op_run (tests/support/oprun.h) twice on the same inputs and
 * the same output gradient (drawn from the case's seed), in F32 on both backends: once on
 * the CPU, once on the GPU (inputs, din seeds and dout copied with be->to_device, results
 * with be->to_host). The gradients start from NON-zero values, so backward must add into
 * din. Compared: the forward output, every input after forward (untouched inputs must be
 * bit-identical; BN's running statistics are updated in place), every input gradient.
 * Backward reads what forward saved, so the gradients check the saved state too.
 *
 * Kernels that declare fresh_din (llx/op.h) also run their backward over NaN-filled input
 * gradients marked fresh, against the CPU's gradients from zero.
 *
 * Mixed precision (llx/precision.h): the conv2d cases again with conv_precision BF16 and F16
 * on both backends (the CPU's emulation on a CPU backend of its own, cpu_mixed), and exact
 * values that show the GPU rounds the operands, rounds the results, and adds the bias after
 * rounding, in all three directions.
 *
 * Also: llx_sgd_update_all over several tensors (momentum, nesterov, decay mask, first and
 * later steps); llx_grad_unscale (values bit-identical, NaN where the CPU has NaN, the same
 * found flag); TF32 off giving fp32 exactly (an input pair that TF32 would round to 0);
 * the trainer's device-side statistics (llx_batch_stats_add: confusion counts
 * and loss sums, bit-identical, TenCrop rows too, and the first non-finite loss); a short last batch (buffers planned for N=8, tensors shaped N=5, after a
 * full batch, then the full batch again); F64 refused on the GPU.
 *
 * Tolerances: the normwise relative error ||gpu - cpu||_2 / ||cpu||_2, per precision:
 *   TF32 off (be->tf32 = false, full fp32 arithmetic):
 *     element-wise ops (relu, sigmoid, add, mul, sigmoid_gate, concat, max pooling, sgd)
 *                                                     <= 1e-5   (TOL_EW)
 *     conv2d, linear, batchnorm2d, softmax_ce, reductions (average pools, channel means,
 *     conv1d_channels, gradients of broadcast inputs)  <= 1e-4   (TOL_RED)
 *   TF32 on (the CUDA default): conv2d and linear    <= 5e-3   (TOL_TF32)
 *   mixed precision, conv2d: bf16 <= 4e-3 (TOL_BF16, 2^-8), fp16 <= 5e-4 (TOL_F16, 2^-11):
 *     one unit roundoff of the half type. Both backends round the same operands (RNE), their
 *     products are exact in F32 and only the order of the F32 sums differs (about 1e-6
 *     relative), so the rounded results differ only where a sum straddles a rounding
 *     boundary: a flip of one half ulp (2u) in a small fraction of the elements, typically
 *     about 0.1u normwise or less; every element flipped would be about 2u. The tolerance
 *     cannot tell a GPU that skips the roundings (F32 against the emulation: about 0.7u on
 *     these cases), which the exact-value test below (test_mixed_exact) does.
 *   inputs that the op must not change: bit-identical (tolerance 0).
 * NaN or Inf never passes. Each failure prints the case, the tensor, the relative error,
 * the largest absolute error and the first bad element with NCHW coordinates.
 *
 * Without a CUDA device the program prints "SKIP test_gpu_ops: no CUDA device (...)" and
 * exits 77, which ctest (label gpu) reports as skipped. */
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpu_check.h"
#include "gradcheck.h"
#include "llx/llx.h"
#include "oprun.h"

#define TOL_EW 1e-5
#define TOL_RED 1e-4
#define TOL_TF32 5e-3
#define TOL_BF16 4e-3 /* 2^-8 */
#define TOL_F16 5e-4  /* 2^-11 */

static llx_backend *gpu;
/* The CPU reference of mixed-precision cases: a CPU backend whose conv_precision run_pair sets
 * (op_run's own CPU backend is always F32). */
static llx_backend *cpu_mixed;

/* ------------------------------------------------------------------ one op, both ways */

typedef struct op_case {
    const char *label;
    gc_case c;
    double tol;                  /* output and gradients with TF32 off */
    unsigned reduce_din;         /* bit i: din[i] sums over broadcast dims: at least TOL_RED */
    unsigned updated_in;         /* bit i: input i is updated by forward (BN running stats) */
    bool tf32_too;               /* conv2d, linear: run again with TF32 on, TOL_TF32 */
    const double *const *values; /* explicit inputs (NULL: drawn from the seed) */
    llx_precision prec;          /* conv_precision of both backends (F32: the default) */
} op_case;

static double tol_max(double a, double b) { return a > b ? a : b; }

/* c with options o on the CPU, then on the GPU (o plus the backend, tf32 and fresh), with
 * convolutions in precision prec on both (not F32: the CPU side runs on cpu_mixed): true when
 * both ran (a failure is CHECKed; the results are empty then, op_run_free still safe). */
static bool run_pair(const char *ctx, const gc_case *c, op_run_opts o, bool tf32, bool fresh,
                     llx_precision prec, op_run_result *rc, op_run_result *rg)
{
    llx_error err = {0};
    if (prec != LLX_PRECISION_F32) {
        cpu_mixed->conv_precision = prec;
        o.backend = cpu_mixed;
    }
    llx_status sc = op_run(c, LLX_F32, &o, rc, &err);
    CHECK_MSG(sc == LLX_OK, "%s: cpu run: %s", ctx, err.msg);
    gpu->tf32 = tf32;
    gpu->conv_precision = prec;
    o.backend = gpu;
    o.fresh = fresh;
    llx_status sg = op_run(c, LLX_F32, &o, rg, &err);
    CHECK_MSG(sg == LLX_OK, "%s: gpu run: %s", ctx, err.msg);
    gpu->conv_precision = LLX_PRECISION_F32;
    return sc == LLX_OK && sg == LLX_OK;
}

/* "tf32 on" / "tf32 off", or the precision's name for a mixed-precision case. */
static const char *mode_of(const op_case *k, bool tf32)
{
    if (k->prec != LLX_PRECISION_F32) return llx_precision_name(k->prec);
    return tf32 ? "tf32 on" : "tf32 off";
}

/* Runs k on the CPU and on the GPU (tf32 as given) and compares everything. */
static void compare_case(const op_case *k, bool tf32)
{
    const gc_case *c = &k->c;
    char ctx[192];
    snprintf(ctx, sizeof ctx, "%s [%s%s]", k->label, mode_of(k, tf32), c->training ? ", training" : "");
    double tol = tf32 ? TOL_TF32 : k->tol;
    double *start[LLX_OP_MAX_INPUTS] = {0};
    for (int i = 0; i < c->n_in; i++)
        start[i] = gpu_nonzero_values(llx_shape_numel(&c->in[i].shape), 101 + (uint64_t)i);
    op_run_opts o = {.values = k->values, .din = (const double *const *)start};
    op_run_result rc, rg;
    if (run_pair(ctx, c, o, tf32, false, k->prec, &rc, &rg)) {
        double worst = 0, rel;
        char worst_what[48] = "output", what[48];
        int ok = 1;
        CHECK_MSG(llx_shape_equal(&rc.out_shape, &rg.out_shape), "%s: output shapes differ", ctx);
        int64_t n_out = llx_shape_numel(&rc.out_shape);
        ok &= gpu_check(ctx, "output", &rc.out_shape, rg.out, rc.out, n_out, tol, &worst);
        for (int i = 0; i < c->n_in; i++) {
            int64_t n = llx_shape_numel(&c->in[i].shape);
            bool updated = k->updated_in & (1u << i);
            snprintf(what, sizeof what, "input %d after forward%s", i,
                     updated ? " (updated in place)" : " (must be unchanged)");
            ok &= gpu_check(ctx, what, &c->in[i].shape, rg.in[i], rc.in[i], n,
                            updated ? tol_max(tol, TOL_RED) : 0, &rel);
            if (rel > worst) {
                worst = rel;
                snprintf(worst_what, sizeof worst_what, "input %d", i);
            }
            if (!rc.din[i] && !rg.din[i]) continue;
            double t = (k->reduce_din & (1u << i)) ? tol_max(tol, TOL_RED) : tol;
            snprintf(what, sizeof what, "din[%d] (started non-zero)", i);
            ok &= gpu_check(ctx, what, &c->in[i].shape, rg.din[i], rc.din[i], n, t, &rel);
            if (rel > worst) {
                worst = rel;
                snprintf(worst_what, sizeof worst_what, "din[%d]", i);
            }
        }
        CHECK_MSG(ok, "%s: gpu and cpu differ (details above)", ctx);
        printf("     %-4s %-58s worst rel %.2e (%s), tol %.0e\n", ok ? "ok" : "FAIL", ctx, worst,
               worst_what, tol);
    }
    op_run_free(&rc);
    op_run_free(&rg);
    for (int i = 0; i < c->n_in; i++) free(start[i]);
}

/* For kernels that declare fresh_din on the GPU: backward over NaN-filled input gradients
 * marked fresh (op_run_opts.fresh) against the CPU's gradients accumulated from zero. */
static void compare_fresh(const op_case *k)
{
    const gc_case *c = &k->c;
    if (!c->op->kernels[gpu->device].fresh_din) return;
    char ctx[192];
    snprintf(ctx, sizeof ctx, "%s [fresh din, %s%s]", k->label, mode_of(k, false),
             c->training ? ", training" : "");
    op_run_result rc, rg;
    if (run_pair(ctx, c, (op_run_opts){.values = k->values}, false, true, k->prec, &rc, &rg)) {
        double worst = 0, rel;
        int ok = 1;
        for (int i = 0; i < c->n_in; i++) {
            if (!rc.din[i] && !rg.din[i]) continue;
            char what[48];
            snprintf(what, sizeof what, "din[%d] (written over NaN)", i);
            double t = (k->reduce_din & (1u << i)) ? tol_max(k->tol, TOL_RED) : k->tol;
            ok &= gpu_check(ctx, what, &c->in[i].shape, rg.din[i], rc.din[i], llx_shape_numel(&c->in[i].shape), t,
                            &rel);
            worst = rel > worst ? rel : worst;
        }
        CHECK_MSG(ok, "%s: gpu and cpu differ (details above)", ctx);
        printf("     %-4s %-58s worst rel %.2e\n", ok ? "ok" : "FAIL", ctx, worst);
    }
    op_run_free(&rc);
    op_run_free(&rg);
}

static void run_cases(const op_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        compare_case(&cases[i], false);
        if (cases[i].tf32_too) compare_case(&cases[i], true);
        compare_fresh(&cases[i]);
    }
}

/* ------------------------------------------------------------------ cases */

#define OP(id) llx_builtin_op(LLX_OP_##id)
#define S4(n, c, h, w) llx_shape4(n, c, h, w)

static gc_case conv_case(const llx_conv2d_attr *a, int64_t n, int64_t c, int64_t h, int64_t w,
                         int64_t o, int64_t k, bool bias)
{
    gc_case gc = {.op = OP(CONV2D), .attr = a, .n_in = bias ? 3 : 2, .seed = 11};
    gc.in[0].shape = S4(n, c, h, w);
    gc.in[1].shape = S4(o, c, k, k);
    gc.in[2].shape = llx_shape1(o);
    return gc;
}

static void test_conv2d(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1}, s2p1 = {2, 2, 1, 1}, s2p0 = {2, 2, 0, 0};
    static const llx_conv2d_attr s2p3 = {2, 2, 3, 3}, s1p0 = {1, 1, 0, 0};
    const op_case cases[] = {
        {.label = "conv2d 3x3 s1 p1 (4,32,14,14)->32 bias", conv_case(&s1p1, 4, 32, 14, 14, 32, 3, true),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 3x3 s1 p1 (4,32,14,14)->32", conv_case(&s1p1, 4, 32, 14, 14, 32, 3, false),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 3x3 s2 p1 (4,16,28,28)->32", conv_case(&s2p1, 4, 16, 28, 28, 32, 3, false),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 3x3 s2 p1 (4,16,28,28)->32 bias", conv_case(&s2p1, 4, 16, 28, 28, 32, 3, true),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 1x1 s2 p0 downsample (4,32,14,14)->64",
         conv_case(&s2p0, 4, 32, 14, 14, 64, 1, false), TOL_RED, .tf32_too = true},
        {.label = "conv2d 1x1 s2 p0 downsample bias", conv_case(&s2p0, 4, 32, 14, 14, 64, 1, true),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 1x1 s1 p0 (4,64,7,7)->16 bias", conv_case(&s1p0, 4, 64, 7, 7, 16, 1, true),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 7x7 s2 p3 stem (4,3,56,56)->16", conv_case(&s2p3, 4, 3, 56, 56, 16, 7, false),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 7x7 s2 p3 stem (4,3,56,56)->16 bias",
         conv_case(&s2p3, 4, 3, 56, 56, 16, 7, true), TOL_RED, .tf32_too = true},
        {.label = "conv2d 3x3 s1 p1 odd (3,5,13,11)->7 bias", conv_case(&s1p1, 3, 5, 13, 11, 7, 3, true),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 3x3 s2 p1 odd (3,5,13,11)->7", conv_case(&s2p1, 3, 5, 13, 11, 7, 3, false),
         TOL_RED, .tf32_too = true},
        {.label = "conv2d 7x7 s2 p3 odd (3,3,21,19)->8 bias", conv_case(&s2p3, 3, 3, 21, 19, 8, 7, true),
         TOL_RED, .tf32_too = true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* Mixed precision: the conv2d geometries above, a one-channel input and 1x1 maps, in bf16
 * and in fp16, forward and every gradient, against the CPU's emulation. Between them the
 * GPU's casts (half_cast.cu) take all three paths: tiled (C and H*W > 16), per position
 * (C <= 16: the stem, C = 1) and per channel (H*W <= 16: 3x3 weights, 1x1 maps). */
static void test_conv2d_mixed(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1}, s2p1 = {2, 2, 1, 1}, s2p0 = {2, 2, 0, 0};
    static const llx_conv2d_attr s2p3 = {2, 2, 3, 3}, s1p0 = {1, 1, 0, 0};
    static const struct {
        llx_precision prec;
        double tol;
    } precs[] = {{LLX_PRECISION_BF16, TOL_BF16}, {LLX_PRECISION_F16, TOL_F16}};
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
        const llx_precision p = precs[i].prec;
        const double tol = precs[i].tol;
        const op_case cases[] = {
            {.label = "conv2d 3x3 s1 p1 (4,32,14,14)->32 bias", conv_case(&s1p1, 4, 32, 14, 14, 32, 3, true), tol,
             .prec = p},
            {.label = "conv2d 3x3 s1 p1 (4,32,14,14)->32", conv_case(&s1p1, 4, 32, 14, 14, 32, 3, false), tol,
             .prec = p},
            {.label = "conv2d 3x3 s2 p1 (4,16,28,28)->32", conv_case(&s2p1, 4, 16, 28, 28, 32, 3, false), tol,
             .prec = p},
            {.label = "conv2d 3x3 s2 p1 (4,16,28,28)->32 bias", conv_case(&s2p1, 4, 16, 28, 28, 32, 3, true), tol,
             .prec = p},
            {.label = "conv2d 1x1 s2 p0 downsample (4,32,14,14)->64", conv_case(&s2p0, 4, 32, 14, 14, 64, 1, false),
             tol, .prec = p},
            {.label = "conv2d 1x1 s2 p0 downsample bias", conv_case(&s2p0, 4, 32, 14, 14, 64, 1, true), tol,
             .prec = p},
            {.label = "conv2d 1x1 s1 p0 (4,64,7,7)->16 bias", conv_case(&s1p0, 4, 64, 7, 7, 16, 1, true), tol,
             .prec = p},
            {.label = "conv2d 7x7 s2 p3 stem (4,3,56,56)->16", conv_case(&s2p3, 4, 3, 56, 56, 16, 7, false), tol,
             .prec = p},
            {.label = "conv2d 7x7 s2 p3 stem (4,3,56,56)->16 bias", conv_case(&s2p3, 4, 3, 56, 56, 16, 7, true),
             tol, .prec = p},
            {.label = "conv2d 3x3 s1 p1 odd (3,5,13,11)->7 bias", conv_case(&s1p1, 3, 5, 13, 11, 7, 3, true), tol,
             .prec = p},
            {.label = "conv2d 3x3 s2 p1 odd (3,5,13,11)->7", conv_case(&s2p1, 3, 5, 13, 11, 7, 3, false), tol,
             .prec = p},
            {.label = "conv2d 7x7 s2 p3 odd (3,3,21,19)->8 bias", conv_case(&s2p3, 3, 3, 21, 19, 8, 7, true), tol,
             .prec = p},
            {.label = "conv2d 3x3 s1 p1 C=1 (2,1,9,9)->4 bias", conv_case(&s1p1, 2, 1, 9, 9, 4, 3, true), tol,
             .prec = p},
            {.label = "conv2d 1x1 s1 p0 H*W=1 (8,64,1,1)->16 bias", conv_case(&s1p0, 8, 64, 1, 1, 16, 1, true), tol,
             .prec = p},
        };
        run_cases(cases, sizeof cases / sizeof cases[0]);
    }
}

static gc_case bn_case(int64_t n, int64_t c, int64_t h, int64_t w, bool training)
{
    static const llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    gc_case gc = {.op = OP(BATCHNORM2D), .attr = &a, .n_in = 5, .training = training,
                  .seed = 21};
    gc.in[0].shape = S4(n, c, h, w);
    for (int i = 1; i < 5; i++) gc.in[i].shape = llx_shape1(c);
    gc.in[1].fill = GC_POSITIVE; /* gamma */
    gc.in[4].fill = GC_POSITIVE; /* running_var */
    return gc;
}

static void test_batchnorm2d(void)
{
    const unsigned stats = (1u << 3) | (1u << 4);
    /* Variance about 4.5e-6, below eps = 1e-5 (training: batch variance; eval: running
     * variance): eps must sit where the CPU puts it. And channel means about 100 times their
     * standard deviation: the batch variance must not come from E[x^2] - E[x]^2 in float. */
    enum { SN = 4, SC = 8, SHW = 25 };
    static double eps_x[SN * SC * SHW], off_x[SN * SC * SHW], gamma[SC], beta[SC], rm[SC],
        rv[SC], rv_small[SC];
    for (int i = 0; i < SN * SC * SHW; i++) {
        int ch = i / SHW % SC; /* NCHW: channel of element i */
        eps_x[i] = 0.003 * sin(0.7 * i + 0.1 * ch);
        off_x[i] = 0.1 * (ch + 1) + 0.01 * sin(0.7 * i + 0.1 * ch);
    }
    for (int c = 0; c < SC; c++) {
        gamma[c] = 0.5 + 0.1 * c;
        beta[c] = 0.2 - 0.05 * c;
        rm[c] = 0.001 * c;
        rv[c] = 0.5 + 0.1 * c;
        rv_small[c] = 2e-6 * (1 + c);
    }
    static const double *const eps_train[] = {eps_x, gamma, beta, rm, rv};
    static const double *const eps_eval[] = {eps_x, gamma, beta, rm, rv_small};
    static const double *const offset[] = {off_x, gamma, beta, rm, rv};
    const op_case cases[] = {
        {.label = "batchnorm2d (8,32,14,14)", bn_case(8, 32, 14, 14, true), TOL_RED, .updated_in = stats},
        {.label = "batchnorm2d (8,32,14,14)", bn_case(8, 32, 14, 14, false), TOL_RED},
        {.label = "batchnorm2d H*W=1 (8,64,1,1)", bn_case(8, 64, 1, 1, true), TOL_RED,
         .updated_in = stats},
        {.label = "batchnorm2d H*W=1 (8,64,1,1)", bn_case(8, 64, 1, 1, false), TOL_RED},
        {.label = "batchnorm2d odd (3,5,7,9)", bn_case(3, 5, 7, 9, true), TOL_RED, .updated_in = stats},
        {.label = "batchnorm2d odd (3,5,7,9)", bn_case(3, 5, 7, 9, false), TOL_RED},
        {.label = "batchnorm2d (2,16,56,56) large planes", bn_case(2, 16, 56, 56, true), TOL_RED,
         .updated_in = stats},
        /* Batches split into uneven slices per channel (LLX_CUDA_BN=llx: 17 and 3 on an H200) */
        {.label = "batchnorm2d (64,64,28,28) sliced batch", bn_case(64, 64, 28, 28, true), TOL_RED,
         .updated_in = stats},
        {.label = "batchnorm2d (256,512,4,4) sliced batch", bn_case(256, 512, 4, 4, true), TOL_RED,
         .updated_in = stats},
        {.label = "batchnorm2d batch variance ~ eps/2 (4,8,5,5)", bn_case(SN, SC, 5, 5, true),
         TOL_RED, .updated_in = stats, .values = eps_train},
        {.label = "batchnorm2d running variance ~ eps (4,8,5,5)", bn_case(SN, SC, 5, 5, false),
         TOL_RED, .values = eps_eval},
        {.label = "batchnorm2d channel mean ~ 100 std (4,8,5,5)", bn_case(SN, SC, 5, 5, true),
         TOL_RED, .updated_in = stats, .values = offset},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static gc_case unary_case(const llx_op_desc *op, llx_shape s)
{
    return (gc_case){.op = op, .n_in = 1, .seed = 31, .in = {{.shape = s}}};
}

static void test_relu_sigmoid(void)
{
    /* Exact zeros (one value in 9): relu's gradient at 0 must follow the CPU's convention. */
    enum { ZN = 3 * 5 * 7 * 9 };
    static double zeros_x[ZN];
    for (int i = 0; i < ZN; i++) zeros_x[i] = (double)((i * 7) % 9 - 4) / 4.0;
    static const double *const zeros_vals[] = {zeros_x};
    const op_case cases[] = {
        {.label = "relu with exact zeros (3,5,7,9)", unary_case(OP(RELU), S4(3, 5, 7, 9)), TOL_EW,
         .values = zeros_vals},
        {.label = "relu (4,32,14,14)", unary_case(OP(RELU), S4(4, 32, 14, 14)), TOL_EW},
        {.label = "relu odd (3,5,7,9)", unary_case(OP(RELU), S4(3, 5, 7, 9)), TOL_EW},
        {.label = "sigmoid (4,32,14,14)", unary_case(OP(SIGMOID), S4(4, 32, 14, 14)), TOL_EW},
        {.label = "sigmoid odd (3,5,7,9)", unary_case(OP(SIGMOID), S4(3, 5, 7, 9)), TOL_EW},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static gc_case binary_case(const llx_op_desc *op, llx_shape a, llx_shape b)
{
    return (gc_case){.op = op, .n_in = 2, .seed = 41, .in = {{.shape = a}, {.shape = b}}};
}

static void test_binary(void)
{
    static const struct {
        llx_op_id id;
        const char *name;
    } ops[] = {{LLX_OP_ADD, "add"}, {LLX_OP_MUL, "mul"}, {LLX_OP_SIGMOID_GATE, "sigmoid_gate"}};
    const llx_shape a = S4(4, 32, 14, 14), a_odd = S4(3, 5, 7, 9);
    const struct {
        const char *what;
        llx_shape a, b;
        bool bcast;
    } shapes[] = {
        {"equal (4,32,14,14)", a, a, false},
        {"channel gate b (4,32,1,1)", a, S4(4, 32, 1, 1), true},
        {"spatial gate b (4,1,14,14)", a, S4(4, 1, 14, 14), true},
        {"per-channel b (1,32,1,1)", a, S4(1, 32, 1, 1), true},
        {"equal odd (3,5,7,9)", a_odd, a_odd, false},
        {"channel gate odd b (3,5,1,1)", a_odd, S4(3, 5, 1, 1), true},
        {"spatial gate odd b (3,1,7,9)", a_odd, S4(3, 1, 7, 9), true},
        {"per-channel odd b (1,5,1,1)", a_odd, S4(1, 5, 1, 1), true},
    };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            char label[128];
            snprintf(label, sizeof label, "%s %s", ops[o].name, shapes[s].what);
            op_case k = {.label = label, binary_case(llx_builtin_op(ops[o].id), shapes[s].a, shapes[s].b),
                         TOL_EW, .reduce_din = shapes[s].bcast ? 2u : 0u};
            run_cases(&k, 1);
        }
}

static void test_concat(void)
{
    const op_case cases[] = {
        {.label = "concat 2 inputs (4,16,14,14)+(4,32,14,14)",
         {.op = OP(CONCAT), .n_in = 2, .seed = 51,
          .in = {{.shape = S4(4, 16, 14, 14)}, {.shape = S4(4, 32, 14, 14)}}},
         TOL_EW},
        {.label = "concat 3 inputs (3,8,7,7)+(3,1,7,7)+(3,24,7,7)",
         {.op = OP(CONCAT), .n_in = 3, .seed = 52,
          .in = {{.shape = S4(3, 8, 7, 7)}, {.shape = S4(3, 1, 7, 7)}, {.shape = S4(3, 24, 7, 7)}}},
         TOL_EW},
        {.label = "concat 2 inputs H*W=1 (8,64,1,1)+(8,64,1,1)",
         {.op = OP(CONCAT), .n_in = 2, .seed = 53,
          .in = {{.shape = S4(8, 64, 1, 1)}, {.shape = S4(8, 64, 1, 1)}}},
         TOL_EW},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static gc_case spread_case(const llx_op_desc *op, const void *attr, llx_shape s)
{
    return (gc_case){.op = op, .attr = attr, .n_in = 1, .seed = 61,
                     .in = {{.shape = s, .fill = GC_SPREAD}}};
}

static void test_pooling(void)
{
    static const llx_pool2d_attr k3s2p1 = {3, 3, 2, 2, 1, 1}, k2s2 = {2, 2, 2, 2, 0, 0};
    static const llx_pool2d_attr k3s1p1 = {3, 3, 1, 1, 1, 1}, k1s1 = {1, 1, 1, 1, 0, 0};
    const op_case cases[] = {
        {.label = "maxpool2d 3x3 s2 p1 stem (4,16,28,28)", spread_case(OP(MAXPOOL2D), &k3s2p1, S4(4, 16, 28, 28)),
         TOL_EW},
        {.label = "maxpool2d 3x3 s2 p1 odd (3,8,13,11)", spread_case(OP(MAXPOOL2D), &k3s2p1, S4(3, 8, 13, 11)),
         TOL_EW},
        {.label = "maxpool2d 2x2 s2 (4,16,14,14)", spread_case(OP(MAXPOOL2D), &k2s2, S4(4, 16, 14, 14)),
         TOL_EW},
        {.label = "maxpool2d 2x2 s2 odd (3,8,13,11)", spread_case(OP(MAXPOOL2D), &k2s2, S4(3, 8, 13, 11)),
         TOL_EW},
        {.label = "maxpool2d 3x3 s1 p1 (2,8,9,7)", spread_case(OP(MAXPOOL2D), &k3s1p1, S4(2, 8, 9, 7)), TOL_EW},
        {.label = "maxpool2d 1x1 s1 (2,8,5,5)", spread_case(OP(MAXPOOL2D), &k1s1, S4(2, 8, 5, 5)), TOL_EW},
        {.label = "global_avgpool (4,64,7,7)", unary_case(OP(GLOBAL_AVGPOOL), S4(4, 64, 7, 7)), TOL_RED},
        {.label = "global_avgpool (2,32,28,28)", unary_case(OP(GLOBAL_AVGPOOL), S4(2, 32, 28, 28)), TOL_RED},
        {.label = "global_avgpool H*W=1 (8,64,1,1)", unary_case(OP(GLOBAL_AVGPOOL), S4(8, 64, 1, 1)), TOL_RED},
        {.label = "global_maxpool (4,64,7,7)", spread_case(OP(GLOBAL_MAXPOOL), NULL, S4(4, 64, 7, 7)), TOL_EW},
        {.label = "global_maxpool (2,32,28,28)", spread_case(OP(GLOBAL_MAXPOOL), NULL, S4(2, 32, 28, 28)),
         TOL_EW},
        {.label = "global_maxpool H*W=1 (8,64,1,1)", spread_case(OP(GLOBAL_MAXPOOL), NULL, S4(8, 64, 1, 1)),
         TOL_EW},
        {.label = "channel_mean (4,64,14,14)", unary_case(OP(CHANNEL_MEAN), S4(4, 64, 14, 14)), TOL_RED},
        {.label = "channel_mean odd (3,5,7,9)", unary_case(OP(CHANNEL_MEAN), S4(3, 5, 7, 9)), TOL_RED},
        {.label = "channel_mean C=1 (4,1,7,7)", unary_case(OP(CHANNEL_MEAN), S4(4, 1, 7, 7)), TOL_RED},
        {.label = "channel_max (4,64,14,14)", spread_case(OP(CHANNEL_MAX), NULL, S4(4, 64, 14, 14)), TOL_EW},
        {.label = "channel_max odd (3,5,7,9)", spread_case(OP(CHANNEL_MAX), NULL, S4(3, 5, 7, 9)), TOL_EW},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_conv1d_channels(void)
{
    static const llx_conv1d_attr p1 = {1}, p2 = {2};
    const op_case cases[] = {
        {.label = "conv1d_channels K=3 (8,64,1,1)",
         {.op = OP(CONV1D_CHANNELS), .attr = &p1, .n_in = 2, .seed = 71,
          .in = {{.shape = S4(8, 64, 1, 1)}, {.shape = llx_shape_make(3, (int64_t[]){1, 1, 3})}}},
         TOL_RED},
        {.label = "conv1d_channels K=5 (4,256,1,1)",
         {.op = OP(CONV1D_CHANNELS), .attr = &p2, .n_in = 2, .seed = 72,
          .in = {{.shape = S4(4, 256, 1, 1)}, {.shape = llx_shape_make(3, (int64_t[]){1, 1, 5})}}},
         TOL_RED},
        {.label = "conv1d_channels K=5 odd (3,37) 2-D input",
         {.op = OP(CONV1D_CHANNELS), .attr = &p2, .n_in = 2, .seed = 73,
          .in = {{.shape = llx_shape2(3, 37)}, {.shape = llx_shape_make(3, (int64_t[]){1, 1, 5})}}},
         TOL_RED},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static gc_case linear_case(llx_shape x, int64_t o, bool bias)
{
    int64_t f = llx_shape_numel(&x) / x.dim[0];
    gc_case gc = {.op = OP(LINEAR), .n_in = bias ? 3 : 2, .seed = 81};
    gc.in[0].shape = x;
    gc.in[1].shape = llx_shape2(o, f);
    gc.in[2].shape = llx_shape1(o);
    return gc;
}

static void test_linear(void)
{
    const op_case cases[] = {
        {.label = "linear (8,512)->7 bias", linear_case(llx_shape2(8, 512), 7, true), TOL_RED,
         .tf32_too = true},
        {.label = "linear (8,512)->7", linear_case(llx_shape2(8, 512), 7, false), TOL_RED,
         .tf32_too = true},
        {.label = "linear (8,64,1,1)->10 bias", linear_case(S4(8, 64, 1, 1), 10, true), TOL_RED,
         .tf32_too = true},
        {.label = "linear (8,64,1,1)->10", linear_case(S4(8, 64, 1, 1), 10, false), TOL_RED,
         .tf32_too = true},
        {.label = "linear odd (5,33)->100 bias", linear_case(llx_shape2(5, 33), 100, true), TOL_RED,
         .tf32_too = true},
        {.label = "linear (3,16,3,3)->9 bias", linear_case(S4(3, 16, 3, 3), 9, true), TOL_RED,
         .tf32_too = true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static gc_case ce_case(int64_t n, int64_t k, bool weights)
{
    static const llx_softmax_ce_attr mean = {.reduction_mean = 1};
    gc_case gc = {.op = OP(SOFTMAX_CE), .attr = &mean, .n_in = weights ? 3 : 2, .seed = 91};
    gc.in[0].shape = llx_shape2(n, k);
    gc.in[1] = (gc_input){.shape = llx_shape1(n), .fill = GC_LABELS, .labels_k = (int)k};
    gc.in[2] = (gc_input){.shape = llx_shape1(k), .fill = GC_POSITIVE};
    return gc;
}

static void test_softmax_ce(void)
{
    /* Large logits: the row max must be subtracted before exp. */
    enum { BN = 4, BK = 7 };
    static double big[BN * BK], labels[BN] = {0, 3, 6, 2};
    for (int i = 0; i < BN * BK; i++) big[i] = 80.0 * sin(1.3 * i) + (i % BK == 3 ? 85 : 0);
    static const double *const big_vals[] = {big, labels};
    const op_case cases[] = {
        {.label = "softmax_ce mean (8,7)", ce_case(8, 7, false), TOL_RED},
        {.label = "softmax_ce mean, class weights (8,7)", ce_case(8, 7, true), TOL_RED},
        {.label = "softmax_ce mean (37,100)", ce_case(37, 100, false), TOL_RED},
        {.label = "softmax_ce mean, class weights (37,100)", ce_case(37, 100, true), TOL_RED},
        {.label = "softmax_ce mean, logits ~ +-160 (4,7)", ce_case(BN, BK, false), TOL_RED,
         .values = big_vals},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* ------------------------------------------------------------------ short last batch */

/* What one pass leaves: output and gradients over the planned (full-batch) buffers. */
typedef struct pass_result {
    double *out, *in[LLX_OP_MAX_INPUTS], *din[LLX_OP_MAX_INPUTS];
} pass_result;

static void pass_free(pass_result *p)
{
    free(p->out);
    for (int i = 0; i < LLX_OP_MAX_INPUTS; i++) {
        free(p->in[i]);
        free(p->din[i]);
    }
    memset(p, 0, sizeof *p);
}

typedef struct batch_plan {
    const gc_case *c;
    unsigned batched;           /* inputs whose dim 0 is the batch */
    bool out_batched;           /* output dim 0 is the batch (not softmax_ce's loss) */
    llx_shape in_full[LLX_OP_MAX_INPUTS], out_full;
    double *init[LLX_OP_MAX_INPUTS];  /* input values before any pass */
    double *start[LLX_OP_MAX_INPUTS]; /* din starting values */
} batch_plan;

static void set_batch(op_run_state *s, const batch_plan *p, int64_t n)
{
    for (int i = 0; i < p->c->n_in; i++) {
        s->in[i].shape = s->din[i].shape = p->in_full[i];
        if (p->batched & (1u << i)) s->in[i].shape.dim[0] = s->din[i].shape.dim[0] = n;
    }
    s->out.shape = s->dout.shape = p->out_full;
    if (p->out_batched) s->out.shape.dim[0] = s->dout.shape.dim[0] = n;
}

/* Restores inputs, din starts and a zero output in the full buffers, then runs forward and
 * backward on the first n samples and reads back the full buffers. */
static llx_status one_pass(op_run_state *s, const batch_plan *p, int64_t n, pass_result *r,
                           llx_error *err)
{
    memset(r, 0, sizeof *r);
    set_batch(s, p, p->in_full[0].dim[0]);
    int64_t n_out = llx_shape_numel(&p->out_full);
    double *zeros = calloc((size_t)n_out + 1, sizeof *zeros);
    llx_status st = op_run_upload(s, &s->out, zeros, n_out, err);
    free(zeros);
    for (int i = 0; i < p->c->n_in && st == LLX_OK; i++) {
        st = op_run_upload(s, &s->in[i], p->init[i], -1, err);
        if (st == LLX_OK && s->call.din[i]) st = op_run_upload(s, &s->din[i], p->start[i], -1, err);
    }
    if (st != LLX_OK) return st;
    set_batch(s, p, n);
    LLX_TRY(llx_op_forward(&s->call, err));
    LLX_TRY(llx_op_backward(&s->call, err));
    LLX_TRY(op_run_download(s, &s->out, n_out, &r->out, err));
    for (int i = 0; i < p->c->n_in; i++) {
        int64_t full = llx_shape_numel(&p->in_full[i]);
        LLX_TRY(op_run_download(s, &s->in[i], full, &r->in[i], err));
        if (s->call.din[i]) LLX_TRY(op_run_download(s, &s->din[i], full, &r->din[i], err));
    }
    return LLX_OK;
}

static int compare_pass(const char *ctx, const batch_plan *p, const pass_result *g,
                        const pass_result *c, double tol, unsigned updated)
{
    char what[64];
    int ok = gpu_check(ctx, "output (full buffer: zero past the batch)", &p->out_full, g->out,
                       c->out, llx_shape_numel(&p->out_full), tol, NULL);
    for (int i = 0; i < p->c->n_in; i++) {
        int64_t n = llx_shape_numel(&p->in_full[i]);
        snprintf(what, sizeof what, "input %d after the pass", i);
        ok &= gpu_check(ctx, what, &p->in_full[i], g->in[i], c->in[i], n,
                        (updated & (1u << i)) ? tol : 0, NULL);
        if (!c->din[i] && !g->din[i]) continue;
        snprintf(what, sizeof what, "din[%d] (full buffer: start values past the batch)", i);
        ok &= gpu_check(ctx, what, &p->in_full[i], g->din[i], c->din[i], n, tol, NULL);
    }
    return ok;
}

/* The GPU tail of each batched buffer past sample n: output zeros, din its start values. */
static int tail_untouched(const char *ctx, const batch_plan *p, const pass_result *g, int64_t n)
{
    int ok = 1;
    if (p->out_batched) {
        int64_t per = llx_shape_numel(&p->out_full) / p->out_full.dim[0];
        for (int64_t k = n * per; k < llx_shape_numel(&p->out_full); k++)
            if (g->out[k] != 0) {
                fprintf(stderr, "  FAIL %s: output element %lld past the batch of %lld was written (%g)\n",
                        ctx, (long long)k, (long long)n, g->out[k]);
                ok = 0;
                break;
            }
    }
    for (int i = 0; i < p->c->n_in; i++) {
        if (!(p->batched & (1u << i)) || !g->din[i]) continue;
        int64_t per = llx_shape_numel(&p->in_full[i]) / p->in_full[i].dim[0];
        for (int64_t k = n * per; k < llx_shape_numel(&p->in_full[i]); k++)
            if (g->din[i][k] != (double)(float)p->start[i][k]) {
                fprintf(stderr, "  FAIL %s: din[%d] element %lld past the batch of %lld changed (%g, was %g)\n",
                        ctx, i, (long long)k, (long long)n, g->din[i][k], p->start[i][k]);
                ok = 0;
                break;
            }
    }
    return ok;
}

/* The passes of short_batch_case once both states are set up; returns 1 when all agree. */
static int short_batch_passes(const char *label, op_run_state *sc, op_run_state *sg,
                              batch_plan *p, double tol, unsigned updated, int64_t n)
{
    const gc_case *c = p->c;
    int64_t full = c->in[0].shape.dim[0];
    llx_error err = {0};
    char ctx[3][160];
    snprintf(ctx[0], sizeof ctx[0], "short batch: %s, full batch %lld", label, (long long)full);
    snprintf(ctx[1], sizeof ctx[1], "short batch: %s, batch %lld of %lld planned", label,
             (long long)n, (long long)full);
    snprintf(ctx[2], sizeof ctx[2], "short batch: %s, full batch %lld again", label,
             (long long)full);
    p->out_full = sc->out.shape;
    for (int i = 0; i < c->n_in; i++) {
        p->in_full[i] = c->in[i].shape;
        if (op_run_download(sc, &sc->in[i], -1, &p->init[i], &err) != LLX_OK) {
            CHECK_MSG(0, "%s: %s", label, err.msg);
            return 0;
        }
    }
    pass_result cf = {0}, cs = {0}, g = {0};
    int ok = 1;
    llx_status st = one_pass(sc, p, full, &cf, &err);
    CHECK_MSG(st == LLX_OK, "%s: cpu: %s", ctx[0], err.msg);
    if (st == LLX_OK) {
        st = one_pass(sc, p, n, &cs, &err);
        CHECK_MSG(st == LLX_OK, "%s: cpu: %s", ctx[1], err.msg);
    }
    for (int phase = 0; phase < 3 && st == LLX_OK; phase++) {
        int64_t b = phase == 1 ? n : full;
        st = one_pass(sg, p, b, &g, &err);
        CHECK_MSG(st == LLX_OK, "%s: gpu: %s", ctx[phase], err.msg);
        if (st != LLX_OK) break;
        int pass_ok = compare_pass(ctx[phase], p, &g, phase == 1 ? &cs : &cf, tol, updated);
        if (phase == 1) pass_ok &= tail_untouched(ctx[phase], p, &g, n);
        CHECK_MSG(pass_ok, "%s: gpu and cpu differ (details above)", ctx[phase]);
        ok &= pass_ok;
        pass_free(&g);
    }
    pass_free(&cf);
    pass_free(&cs);
    pass_free(&g);
    return ok && st == LLX_OK;
}

/* c is planned for N = c->in[0].shape.dim[0]: the full batch on both backends, then the
 * first n samples in the same buffers, then the full batch again on the GPU (plans it
 * caches for one batch size must follow the next). Outputs and gradients are compared over
 * the full buffers: past the short batch the output stays zero and din its start values. */
static void short_batch_case(const char *label, const gc_case *c, unsigned batched,
                             bool out_batched, double tol, unsigned updated, int64_t n)
{
    batch_plan p = {.c = c, .batched = batched, .out_batched = out_batched};
    op_run_state sc, sg;
    llx_error err = {0};
    for (int i = 0; i < c->n_in; i++)
        p.start[i] = gpu_nonzero_values(llx_shape_numel(&c->in[i].shape), 201 + (uint64_t)i);
    op_run_opts o = {.din = (const double *const *)p.start};
    llx_status st_c = op_run_setup(c, LLX_F32, &o, &sc, &err);
    CHECK_MSG(st_c == LLX_OK, "%s: cpu setup: %s", label, err.msg);
    gpu->tf32 = false;
    o.backend = gpu;
    llx_status st_g = op_run_setup(c, LLX_F32, &o, &sg, &err);
    CHECK_MSG(st_g == LLX_OK, "%s: gpu setup: %s", label, err.msg);
    int ok = st_c == LLX_OK && st_g == LLX_OK &&
             short_batch_passes(label, &sc, &sg, &p, tol, updated, n);
    printf("     %-4s short batch: %s (%lld, then %lld, then %lld)\n", ok ? "ok" : "FAIL", label,
           (long long)c->in[0].shape.dim[0], (long long)n, (long long)c->in[0].shape.dim[0]);
    if (st_c == LLX_OK) op_run_teardown(&sc);
    if (st_g == LLX_OK) op_run_teardown(&sg);
    for (int i = 0; i < c->n_in; i++) {
        free(p.start[i]);
        free(p.init[i]);
    }
}

static void test_short_batch(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1}, s2p0 = {2, 2, 0, 0};
    static const llx_pool2d_attr k3s2p1 = {3, 3, 2, 2, 1, 1};
    gc_case c;
    c = conv_case(&s1p1, 8, 16, 14, 14, 32, 3, true);
    short_batch_case("conv2d 3x3 s1 p1 bias (8,16,14,14)->32", &c, 1u, true, TOL_RED, 0, 5);
    c = conv_case(&s2p0, 8, 32, 14, 14, 64, 1, false);
    short_batch_case("conv2d 1x1 s2 p0 (8,32,14,14)->64", &c, 1u, true, TOL_RED, 0, 5);
    c = bn_case(8, 32, 7, 7, true);
    short_batch_case("batchnorm2d training (8,32,7,7)", &c, 1u, true, TOL_RED, (1u << 3) | (1u << 4), 5);
    c = bn_case(8, 32, 7, 7, false);
    short_batch_case("batchnorm2d eval (8,32,7,7)", &c, 1u, true, TOL_RED, 0, 5);
    c = linear_case(llx_shape2(8, 64), 10, true);
    short_batch_case("linear (8,64)->10 bias", &c, 1u, true, TOL_RED, 0, 5);
    c = ce_case(8, 7, true);
    short_batch_case("softmax_ce mean, class weights (8,7)", &c, 3u, false, TOL_RED, 0, 5);
    c = spread_case(OP(MAXPOOL2D), &k3s2p1, S4(8, 16, 14, 14));
    short_batch_case("maxpool2d 3x3 s2 p1 (8,16,14,14)", &c, 1u, true, TOL_EW, 0, 5);
    c = unary_case(OP(GLOBAL_AVGPOOL), S4(8, 64, 7, 7));
    short_batch_case("global_avgpool (8,64,7,7)", &c, 1u, true, TOL_RED, 0, 5);
    c = binary_case(OP(SIGMOID_GATE), S4(8, 32, 7, 7), S4(8, 32, 1, 1));
    short_batch_case("sigmoid_gate channel gate (8,32,7,7)*(8,32,1,1)", &c, 3u, true, TOL_RED, 0, 5);
    c = binary_case(OP(MUL), S4(8, 32, 7, 7), S4(1, 32, 1, 1));
    short_batch_case("mul per-channel (8,32,7,7)*(1,32,1,1)", &c, 1u, true, TOL_RED, 0, 5);
    c = (gc_case){.op = OP(CONCAT), .n_in = 2, .seed = 54,
                  .in = {{.shape = S4(8, 16, 7, 7)}, {.shape = S4(8, 8, 7, 7)}}};
    short_batch_case("concat (8,16,7,7)+(8,8,7,7)", &c, 3u, true, TOL_EW, 0, 5);
    c = spread_case(OP(CHANNEL_MAX), NULL, S4(8, 16, 7, 7));
    short_batch_case("channel_max (8,16,7,7)", &c, 1u, true, TOL_EW, 0, 5);
}

/* ------------------------------------------------------------------ SGD */

enum { SGD_N = 5 };
static const int64_t sgd_dims[SGD_N][4] = {
    {64, 32, 3, 3}, {64, 0, 0, 0}, {7, 512, 0, 0}, {1, 0, 0, 0}, {100003, 0, 0, 0}};

static llx_shape sgd_shape(int i)
{
    int nd = 0;
    while (nd < 4 && sgd_dims[i][nd]) nd++;
    return llx_shape_make(nd, sgd_dims[i]);
}

typedef struct sgd_side {
    llx_backend *be;
    llx_tensor w[SGD_N], g[SGD_N], v[SGD_N];
} sgd_side;

static llx_status sgd_alloc(sgd_side *s, llx_error *err)
{
    static const char *const names[SGD_N] = {"conv.weight", "bn.weight", "fc.weight", "scale",
                                             "big.bias"};
    for (int i = 0; i < SGD_N; i++) {
        llx_tensor t = {.name = names[i], .dtype = LLX_F32, .device = s->be->device,
                        .shape = sgd_shape(i)};
        s->w[i] = s->g[i] = s->v[i] = t;
        size_t bytes = llx_tensor_bytes(&t);
        if (!(s->w[i].data = s->be->alloc(s->be, bytes, err))) return err->status;
        if (!(s->g[i].data = s->be->alloc(s->be, bytes, err))) return err->status;
        if (!(s->v[i].data = s->be->alloc(s->be, bytes, err))) return err->status;
    }
    return LLX_OK;
}

static void sgd_release(sgd_side *s)
{
    for (int i = 0; i < SGD_N; i++) {
        if (s->w[i].data) s->be->free(s->be, s->w[i].data);
        if (s->g[i].data) s->be->free(s->be, s->g[i].data);
        if (s->v[i].data) s->be->free(s->be, s->v[i].data);
    }
}

/* Three steps (first_step, then two more) with fresh gradients each step, CPU vs GPU,
 * comparing every weight and velocity after each step. */
static void sgd_case(const char *label, llx_sgd_params sp, const bool *decay)
{
    llx_error err = {0};
    sgd_side cpu = {0}, dev = {.be = gpu};
    bool use_v = sp.momentum != 0;
    if (llx_backend_cpu_create(0, &cpu.be, &err) != LLX_OK) {
        CHECK_MSG(0, "%s: cpu backend: %s", label, err.msg);
        return;
    }
    int ok = 1;
    llx_status st = sgd_alloc(&cpu, &err);
    if (st == LLX_OK) st = sgd_alloc(&dev, &err);
    CHECK_MSG(st == LLX_OK, "%s: alloc: %s", label, err.msg);
    /* initial weights, the same on both (velocity starts zeroed by alloc; the first step
       must not read it) */
    for (int i = 0; i < SGD_N && st == LLX_OK; i++) {
        int64_t n = llx_tensor_numel(&cpu.w[i]);
        float *h = malloc((size_t)n * sizeof *h);
        gpu_fill_uniform_f32(h, n, 300 + (uint64_t)i, -1, 1);
        st = cpu.be->to_device(cpu.be, cpu.w[i].data, h, (size_t)n * sizeof *h, &err);
        if (st == LLX_OK) st = gpu->to_device(gpu, dev.w[i].data, h, (size_t)n * sizeof *h, &err);
        /* garbage in the GPU velocity: the first step must overwrite, not accumulate */
        for (int64_t k = 0; k < n; k++) h[k] = 1e3f;
        if (st == LLX_OK) st = gpu->to_device(gpu, dev.v[i].data, h, (size_t)n * sizeof *h, &err);
        if (st == LLX_OK) st = cpu.be->to_device(cpu.be, cpu.v[i].data, h, (size_t)n * sizeof *h, &err);
        free(h);
    }
    CHECK_MSG(st == LLX_OK, "%s: upload: %s", label, err.msg);
    for (int step = 0; step < 3 && st == LLX_OK; step++) {
        for (int i = 0; i < SGD_N && st == LLX_OK; i++) {
            int64_t n = llx_tensor_numel(&cpu.g[i]);
            float *h = malloc((size_t)n * sizeof *h);
            gpu_fill_uniform_f32(h, n, 400 + 10 * (uint64_t)step + (uint64_t)i, -0.5, 0.5);
            st = cpu.be->to_device(cpu.be, cpu.g[i].data, h, (size_t)n * sizeof *h, &err);
            if (st == LLX_OK) st = gpu->to_device(gpu, dev.g[i].data, h, (size_t)n * sizeof *h, &err);
            free(h);
        }
        sgd_side *sides[2] = {&cpu, &dev};
        for (int s = 0; s < 2 && st == LLX_OK; s++) {
            llx_tensor *w[SGD_N], *v[SGD_N];
            const llx_tensor *g[SGD_N];
            for (int i = 0; i < SGD_N; i++) {
                w[i] = &sides[s]->w[i];
                g[i] = &sides[s]->g[i];
                v[i] = use_v ? &sides[s]->v[i] : NULL;
            }
            st = llx_sgd_update_all(sides[s]->be, &sp, step == 0, SGD_N, w, g, v, decay, &err);
            CHECK_MSG(st == LLX_OK, "%s: %s llx_sgd_update_all step %d: %s", label,
                      sides[s]->be->name, step + 1, err.msg);
        }
        for (int i = 0; i < SGD_N && st == LLX_OK; i++) {
            int64_t n = llx_tensor_numel(&cpu.w[i]);
            size_t bytes = (size_t)n * sizeof(float);
            float *hg = malloc(bytes), *hc = malloc(bytes);
            char ctx[160], what[64];
            snprintf(ctx, sizeof ctx, "sgd %s step %d", label, step + 1);
            for (int which = 0; which < (use_v ? 2 : 1) && st == LLX_OK; which++) {
                const llx_tensor *tg = which ? &dev.v[i] : &dev.w[i];
                const llx_tensor *tc = which ? &cpu.v[i] : &cpu.w[i];
                st = gpu_fetch(gpu, hg, tg->data, bytes, &err);
                if (st == LLX_OK) st = gpu_fetch(cpu.be, hc, tc->data, bytes, &err);
                if (st != LLX_OK) break;
                double *dg = gpu_f32_to_f64(hg, n), *dc = gpu_f32_to_f64(hc, n);
                snprintf(what, sizeof what, "%s of '%s'%s", which ? "velocity" : "weight",
                         cpu.w[i].name, decay && !decay[i] ? " (no decay)" : "");
                ok &= gpu_check(ctx, what, &cpu.w[i].shape, dg, dc, n, TOL_EW, NULL);
                free(dg);
                free(dc);
            }
            free(hg);
            free(hc);
        }
        CHECK_MSG(st == LLX_OK, "%s: step %d: %s", label, step + 1, err.msg);
    }
    CHECK_MSG(ok, "sgd %s: gpu and cpu differ (details above)", label);
    printf("     %-4s sgd %s, %d tensors, 3 steps, tol %.0e\n", ok && st == LLX_OK ? "ok" : "FAIL",
           label, SGD_N, TOL_EW);
    sgd_release(&cpu);
    sgd_release(&dev);
    llx_backend_free(cpu.be);
}

static void test_sgd_update_all(void)
{
    static const bool mask[SGD_N] = {true, false, true, false, true};
    sgd_case("momentum 0.9, wd 5e-4, decay mask",
             (llx_sgd_params){.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}, mask);
    sgd_case("momentum 0.9, wd 5e-4, nesterov, decay mask",
             (llx_sgd_params){.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true},
             mask);
    sgd_case("momentum 0.9, wd 1e-2, every tensor decays (decay NULL)",
             (llx_sgd_params){.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2}, NULL);
    sgd_case("momentum 0 (velocity NULL), wd 5e-4, decay mask",
             (llx_sgd_params){.lr = 0.1, .momentum = 0, .weight_decay = 5e-4}, mask);
}

/* ------------------------------------------------------------------ batch stats */

/* t (shape and dtype) on be, filled from host memory; data NULL (and err) on failure. */
static llx_tensor on_device(llx_backend *be, llx_tensor t, const void *host, llx_error *err)
{
    void *p = be->alloc(be, llx_tensor_bytes(&t), err);
    if (p && be->to_device(be, p, host, llx_tensor_bytes(&t), err) != LLX_OK) be->free(be, p), p = NULL;
    t.data = p;
    t.device = be->device;
    return t;
}

/* Three batches (losses 0.7, +Inf, 1.3) of random logits with k classes, `crops` rows per
 * sample (labels repeated per crop, as the trainer feeds them; one label out of range, NaN
 * logits in classes 0 and 2) into an accumulator on each backend: the counts, loss sum, batch
 * count and first bad batch must be the same bits (integers and one double sum in batch
 * order). */
static void batch_stats_case(int64_t samples, int crops, int64_t k)
{
    const int64_t rows = samples * crops, len = llx_batch_stats_len(k);
    float *logits = malloc((size_t)(rows * k + 1) * sizeof *logits);
    int32_t *labels = malloc((size_t)(rows + 1) * sizeof *labels);
    gpu_fill_uniform_f32(logits, rows * k, (uint64_t)(rows + crops), -3, 3);
    for (int64_t r = 0; r < rows; r++) labels[r] = (int32_t)((r / crops * 5 + 3) % k);
    if (samples > 0) labels[0] = (int32_t)k; /* sample 0 counts nowhere */
    if (samples > 2) {
        logits[(int64_t)crops * k + 2] = NAN;     /* sample 1: class 2 never wins */
        logits[(int64_t)2 * crops * k + 0] = NAN; /* sample 2: nor class 0 */
    }
    double *acc[2] = {calloc((size_t)len, sizeof(double)), calloc((size_t)len, sizeof(double))};
    llx_backend *sides[2] = {NULL, gpu};
    llx_error err = {0};
    CHECK(llx_backend_cpu_create(1, &sides[0], &err) == LLX_OK);
    for (int b = 0; b < 2; b++) {
        llx_backend *be = sides[b];
        llx_tensor tl = on_device(be, (llx_tensor){.dtype = LLX_F32, .shape = llx_shape2(rows, k)}, logits, &err);
        llx_tensor ty = on_device(be, (llx_tensor){.dtype = LLX_I32, .shape = llx_shape1(rows)}, labels, &err);
        llx_tensor ta = on_device(be, (llx_tensor){.dtype = LLX_F64, .shape = llx_shape1(len)}, acc[b], &err);
        const float losses[3] = {0.7f, INFINITY, 1.3f}; /* NaN payloads may differ: Inf does not */
        for (int i = 0; i < 3 && tl.data && ty.data && ta.data; i++) {
            llx_tensor tloss = on_device(be, (llx_tensor){.dtype = LLX_F32, .shape = llx_shape1(1)}, &losses[i], &err);
            CHECK_MSG(tloss.data && llx_batch_stats_add(be, &tl, &ty, &tloss, crops, &ta, &err) == LLX_OK, "%s",
                      err.msg);
            if (tloss.data) be->free(be, tloss.data);
        }
        CHECK_MSG(ta.data && gpu_fetch(be, acc[b], ta.data, (size_t)len * sizeof(double), &err) == LLX_OK, "%s",
                  err.msg);
        if (tl.data) be->free(be, tl.data);
        if (ty.data) be->free(be, ty.data);
        if (ta.data) be->free(be, ta.data);
    }
    double counted = 0;
    for (int64_t i = 0; i < k * k; i++) counted += acc[0][i];
    CHECK_MSG(counted == 3.0 * (double)(samples > 0 ? samples - 1 : 0),
              "batch stats %lld x %d crops, %lld classes: the CPU counted %.0f", (long long)samples, crops,
              (long long)k, counted);
    CHECK(acc[0][k * k + LLX_STATS_FIRST_BAD] == 2 && acc[0][k * k + LLX_STATS_BATCHES] == 3);
    CHECK_MSG(memcmp(acc[0], acc[1], (size_t)len * sizeof(double)) == 0,
              "batch stats %lld samples x %d crops, %lld classes: the GPU's accumulator differs from the "
              "CPU's (loss sum %.17g vs %.17g)", (long long)samples, crops, (long long)k, acc[1][k * k],
              acc[0][k * k]);
    free(acc[0]);
    free(acc[1]);
    free(logits);
    free(labels);
    llx_backend_free(sides[0]);
}

static void test_batch_stats(void)
{
    batch_stats_case(256, 1, 7);  /* a training batch */
    batch_stats_case(61, 10, 7);  /* an evaluation batch of TenCrop rows */
    batch_stats_case(1000, 1, 7); /* more samples than threads */
    batch_stats_case(300, 1, 64); /* the most classes the CUDA kernel counts */
    batch_stats_case(0, 1, 7);    /* an empty batch: only the loss and the count */
}

/* ------------------------------------------------------------------ grad_unscale */

/* llx_grad_unscale over n random values (g[at1] = v1, g[at2] = v2 where at >= 0), `offset`
 * floats past an allocation's start (1: the GPU's pointer is not aligned for float4), with
 * the flag starting at found_start, on the CPU and on the GPU: the same bits after (NaN where
 * the CPU has NaN; the values around g too), the same flag, and the flag the case expects. */
static void grad_unscale_case(const char *label, int64_t n, int offset, float inv_scale, float found_start,
                              int64_t at1, float v1, int64_t at2, float v2, float want_found)
{
    const size_t len = (size_t)(n + offset + 1);
    float *host = malloc(len * sizeof *host);
    float *out[2] = {malloc(len * sizeof(float)), malloc(len * sizeof(float))}, found[2] = {-1, -1};
    gpu_fill_uniform_f32(host, (int64_t)len, (uint64_t)(n + 7), -3e4, 3e4);
    if (at1 >= 0) host[offset + at1] = v1;
    if (at2 >= 0) host[offset + at2] = v2;
    llx_backend *sides[2] = {NULL, gpu};
    llx_error err = {0};
    CHECK(llx_backend_cpu_create(1, &sides[0], &err) == LLX_OK);
    for (int b = 0; b < 2 && sides[0]; b++) {
        llx_backend *be = sides[b];
        llx_tensor all = on_device(be, (llx_tensor){.dtype = LLX_F32, .shape = llx_shape1((int64_t)len)}, host, &err);
        llx_tensor flag = on_device(be, (llx_tensor){.dtype = LLX_F32, .shape = llx_shape1(1)}, &found_start, &err);
        if (all.data && flag.data) {
            llx_tensor g = all;
            g.shape = llx_shape1(n);
            g.data = (float *)all.data + offset;
            llx_status st = llx_grad_unscale(be, &g, inv_scale, &flag, &err);
            CHECK_MSG(st == LLX_OK, "grad_unscale %s on %s: %s", label, be->name, err.msg);
            CHECK_MSG(gpu_fetch(be, out[b], all.data, len * sizeof(float), &err) == LLX_OK, "%s", err.msg);
            CHECK_MSG(gpu_fetch(be, &found[b], flag.data, sizeof(float), &err) == LLX_OK, "%s", err.msg);
        } else {
            CHECK_MSG(0, "grad_unscale %s: alloc on %s: %s", label, be->name, err.msg);
        }
        if (all.data) be->free(be, all.data);
        if (flag.data) be->free(be, flag.data);
    }
    int64_t bad = 0, first_bad = -1;
    for (size_t i = 0; i < len; i++) {
        const bool same = (isnan(out[0][i]) && isnan(out[1][i])) || memcmp(&out[0][i], &out[1][i], sizeof(float)) == 0;
        if (!same && bad++ == 0) first_bad = (int64_t)i;
    }
    CHECK_MSG(bad == 0, "grad_unscale %s: %lld of %zu values differ, first at %lld: gpu %.9g, cpu %.9g", label,
              (long long)bad, len, (long long)first_bad, first_bad >= 0 ? out[1][first_bad] : 0.0,
              first_bad >= 0 ? out[0][first_bad] : 0.0);
    CHECK_MSG(found[0] == want_found && found[1] == want_found, "grad_unscale %s: found cpu %g, gpu %g, want %g",
              label, found[0], found[1], want_found);
    printf("     %-4s grad_unscale %s (n %lld, offset %d, inv_scale %g): found %g\n",
           bad == 0 && found[0] == want_found && found[1] == want_found ? "ok" : "FAIL", label, (long long)n,
           offset, (double)inv_scale, found[1]);
    free(host);
    free(out[0]);
    free(out[1]);
    if (sides[0]) llx_backend_free(sides[0]);
}

static void test_grad_unscale(void)
{
    const float s10 = 1.0f / 1024, s16 = 1.0f / 65536;
    grad_unscale_case("finite", 1000003, 0, s10, 0, -1, 0, -1, 0, 0);
    grad_unscale_case("finite, unaligned", 1001, 1, s16, 0, -1, 0, -1, 0, 0);
    grad_unscale_case("a NaN", 4099, 0, s16, 0, 1234, NAN, -1, 0, 1);
    grad_unscale_case("+Inf in the tail", 4099, 0, s10, 0, 4098, INFINITY, -1, 0, 1);
    grad_unscale_case("-Inf first, unaligned", 257, 1, s10, 0, 0, -INFINITY, -1, 0, 1);
    grad_unscale_case("NaN and +Inf, several grid rounds", ((int64_t)1 << 22) + 3, 0, s16, 0, 3000001, NAN,
                      4000000, INFINITY, 1);
    grad_unscale_case("flag already set, finite", 999, 0, s10, 1, -1, 0, -1, 0, 1);
    grad_unscale_case("empty", 0, 0, s10, 0, -1, 0, -1, 0, 0);
}

/* ------------------------------------------------------------------ memory */

/* The backend's accounting (llx bench's device peak) follows alloc and free. */
static void test_memory_accounting(void)
{
    llx_error err = {0};
    size_t base, peak0, in_use, peak;
    gpu->memory(gpu, &base, &peak0);
    void *a = gpu->alloc(gpu, (size_t)3 << 20, &err);
    CHECK_MSG(a != NULL, "%s", err.msg);
    gpu->memory(gpu, &in_use, &peak);
    CHECK_MSG(in_use == base + ((size_t)3 << 20) && peak >= in_use, "in use %zu (before %zu), peak %zu", in_use, base,
              peak);
    gpu->free(gpu, a);
    gpu->memory(gpu, &in_use, &peak);
    CHECK(in_use == base && peak >= base + ((size_t)3 << 20));
}

/* ------------------------------------------------------------------ contract */

/* TF32 off means fp32 arithmetic, not just "close": with x = (1 + 2^-12, 1) per pixel and
 * weights (1, -1), fp32 gives 2^-12 exactly, TF32 (10-bit mantissa: 1 + 2^-12 rounds to 1)
 * gives 0. A TF32 leak (an engine or cuBLAS mode that rounds the inputs) would otherwise hide
 * under the 1e-4 tolerance. Convolution (whichever path the switches choose) and linear. */
static void test_tf32_off_is_fp32(void)
{
    const double one_plus = 1.0 + ldexp(1.0, -12), want = ldexp(1.0, -12);
    double x[2 * 16], w[2] = {1, -1};
    for (int i = 0; i < 16; i++) x[i] = one_plus, x[16 + i] = 1;
    const double *values[2] = {x, w};
    static const llx_conv2d_attr k1 = {1, 1, 0, 0};
    gc_case conv = conv_case(&k1, 1, 2, 4, 4, 1, 1, false), lin = linear_case(llx_shape2(1, 2), 1, false);
    double xl[2] = {one_plus, 1};
    const double *values_l[2] = {xl, w};
    const struct {
        const char *what;
        const gc_case *c;
        const double *const *values;
        int64_t n;
    } cases[] = {{"conv2d 1x1", &conv, values, 16}, {"linear", &lin, values_l, 1}};
    gpu->tf32 = false;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        op_run_result r;
        llx_error err = {0};
        llx_status st = op_run(cases[k].c, LLX_F32, &(op_run_opts){.values = cases[k].values, .backend = gpu,
                                                                   .forward_only = true}, &r, &err);
        CHECK_MSG(st == LLX_OK, "%s: %s", cases[k].what, err.msg);
        int64_t bad = 0;
        for (int64_t i = 0; st == LLX_OK && i < cases[k].n; i++) bad += r.out[i] != want;
        CHECK_MSG(st == LLX_OK && bad == 0, "%s with TF32 off: %lld of %lld outputs are not 2^-12 (first %.9g): "
                  "the inputs were rounded below fp32", cases[k].what, (long long)bad, (long long)cases[k].n,
                  st == LLX_OK ? r.out[0] : 0.0);
        printf("     %-4s %s with TF32 off keeps fp32 inputs (2^-12 exactly)\n", bad || st ? "FAIL" : "ok",
               cases[k].what);
        op_run_free(&r);
    }
}

/* Mixed precision in exact values, conv2d 1x1 on x (1,2,4,4), w (1,2,1,1), dy (1,1,4,4),
 * against a reference in double from the rounded operands (exact for these values):
 *   y = round(sum_c round(x) round(w)) (+ b in F32), dx = round(round(w) round(dy)),
 *   dw = round(sum_p round(x) round(dy)), db = sum dy in F32.
 * Case "operands": x = (1 + 2^-12, 1), w = (1, -1), dy = 1 + 2^-12: rounding the operands
 * gives y = 0 (F32: 2^-12), dx = +-1, dw = 16. Case "results": x = (1, 2^-12), w = (1, 1),
 * b = 2^-12, dy = (1, 2^-12, ...): y = round(1 + 2^-12) + 2^-12 = 1 + 2^-12 (F32 and a
 * bias added before rounding both differ), dw[0] = round(1 + 15 * 2^-12). Each case first
 * checks that its values tell rounded from unrounded arithmetic, then that the GPU gives
 * the reference bits. */
static float round_p(llx_precision p, double v)
{
    return p == LLX_PRECISION_BF16 ? llx_round_bf16((float)v) : llx_round_f16((float)v);
}

static void test_mixed_exact(void)
{
    enum { C = 2, P = 16 };
    const double u12 = ldexp(1.0, -12);
    static const llx_conv2d_attr k1 = {1, 1, 0, 0};
    for (int kcase = 0; kcase < 2; kcase++) {
        double x[C * P], w[C], b[1] = {u12}, dy[P];
        const bool results = kcase == 1;
        for (int q = 0; q < P; q++) {
            x[q] = results ? 1 : 1 + u12;
            x[P + q] = results ? u12 : 1;
            dy[q] = results ? (q == 0 ? 1 : u12) : 1 + u12;
        }
        w[0] = 1, w[1] = results ? 1 : -1;
        const double *values[3] = {x, w, b};
        gc_case c = conv_case(&k1, 1, C, 4, 4, 1, 1, results);
        for (int pi = 0; pi < 2; pi++) {
            const llx_precision p = pi ? LLX_PRECISION_F16 : LLX_PRECISION_BF16;
            char ctx[96];
            snprintf(ctx, sizeof ctx, "conv2d 1x1 %s in %s, exact", results ? "rounds results" : "rounds operands",
                     llx_precision_name(p));
            /* the reference, and the F32 values it must differ from */
            double y[P], dx[C * P], dw[C] = {0, 0}, db = 0;
            int differs = 0;
            for (int q = 0; q < P; q++) {
                double sum = 0, sum32 = 0;
                for (int ch = 0; ch < C; ch++) {
                    sum += (double)round_p(p, x[ch * P + q]) * round_p(p, w[ch]);
                    sum32 += (double)(float)x[ch * P + q] * (float)w[ch];
                }
                y[q] = (double)round_p(p, sum) + (results ? (double)(float)b[0] : 0.0);
                differs |= y[q] != sum32 + (results ? (float)b[0] : 0.0f);
                db += (float)dy[q];
                for (int ch = 0; ch < C; ch++) {
                    dx[ch * P + q] = round_p(p, (double)round_p(p, w[ch]) * round_p(p, dy[q]));
                    dw[ch] += (double)round_p(p, x[ch * P + q]) * round_p(p, dy[q]);
                }
            }
            for (int ch = 0; ch < C; ch++) dw[ch] = round_p(p, dw[ch]);
            CHECK_MSG(differs, "%s: the test values do not tell rounded from F32 arithmetic", ctx);
            gpu->conv_precision = p;
            op_run_result r;
            llx_error err = {0};
            llx_status st = op_run(&c, LLX_F32, &(op_run_opts){.values = values, .dout = dy, .backend = gpu}, &r,
                                   &err);
            gpu->conv_precision = LLX_PRECISION_F32;
            CHECK_MSG(st == LLX_OK, "%s: %s", ctx, err.msg);
            int64_t bad = 0;
            for (int q = 0; st == LLX_OK && q < P; q++) {
                bad += r.out[q] != y[q];
                for (int ch = 0; ch < C; ch++) bad += r.din[0][ch * P + q] != dx[ch * P + q];
            }
            for (int ch = 0; st == LLX_OK && ch < C; ch++) bad += r.din[1][ch] != dw[ch];
            if (st == LLX_OK && results) bad += r.din[2][0] != db;
            CHECK_MSG(st == LLX_OK && bad == 0,
                      "%s: %lld values differ from the reference (y[0] %.9g want %.9g, dx[0] %.9g want %.9g, "
                      "dw %.9g %.9g want %.9g %.9g)", ctx, (long long)bad, st ? 0.0 : r.out[0], y[0],
                      st ? 0.0 : r.din[0][0], dx[0], st ? 0.0 : r.din[1][0], st ? 0.0 : r.din[1][1], dw[0], dw[1]);
            printf("     %-4s %s: y, dx, dw%s bit-exact\n", st == LLX_OK && bad == 0 ? "ok" : "FAIL", ctx,
                   results ? ", db" : "");
            op_run_free(&r);
        }
    }
}

/* The CUDA kernels are F32 only: an F64 call is refused, never computed wrongly. */
static void test_f64_refused(void)
{
    if (gpu->device != LLX_DEVICE_CUDA) return; /* the CPU self-test runs F64 */
    const gc_case c = unary_case(OP(RELU), S4(2, 3, 4, 5));
    op_run_result r;
    llx_error err = {0};
    llx_status st = op_run(&c, LLX_F64, &(op_run_opts){.backend = gpu}, &r, &err);
    CHECK_MSG(st == LLX_ERR_UNSUPPORTED, "relu in F64 on the GPU: status %s (%s), want unsupported",
              llx_status_name(st), err.msg);
    op_run_free(&r);
}

int main(void)
{
    double t0 = gpu_now_s();
    gpu = gpu_backend_or_skip("test_gpu_ops");
    llx_error cpu_err = {0};
    if (llx_backend_cpu_create(0, &cpu_mixed, &cpu_err) != LLX_OK) {
        fprintf(stderr, "test_gpu_ops: cpu backend: %s\n", cpu_err.msg);
        return 1;
    }
    printf("tolerances (||gpu - cpu|| / ||cpu||): tf32 off: element-wise %.0e, conv/linear/BN/"
           "reductions %.0e; tf32 on: conv/linear %.0e; mixed precision conv: bf16 %.0e, fp16 %.0e; "
           "unchanged inputs bit-identical\n",
           TOL_EW, TOL_RED, TOL_TF32, TOL_BF16, TOL_F16);
    RUN(test_conv2d);
    RUN(test_conv2d_mixed);
    RUN(test_batchnorm2d);
    RUN(test_relu_sigmoid);
    RUN(test_binary);
    RUN(test_concat);
    RUN(test_pooling);
    RUN(test_conv1d_channels);
    RUN(test_linear);
    RUN(test_softmax_ce);
    RUN(test_short_batch);
    RUN(test_sgd_update_all);
    RUN(test_batch_stats);
    RUN(test_grad_unscale);
    RUN(test_memory_accounting);
    RUN(test_tf32_off_is_fp32);
    RUN(test_mixed_exact);
    RUN(test_f64_refused);
    llx_backend_free(cpu_mixed);
    llx_backend_free(gpu);
    printf("test_gpu_ops: %.1f s\n", gpu_now_s() - t0);
    return check_report();
}
