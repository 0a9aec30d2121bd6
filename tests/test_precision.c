/* test_precision.c: mixed precision on the CPU, the reference the GPU is tested against
 * (tests/test_gpu_ops.c): rounding to bf16 and f16 against independent references, conv2d's
 * rounded operands and results, llx_grad_unscale, the loss scaler's steps, and the reason
 * for loss scaling: F16 gradients that flush to zero without it and survive with it. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llx/llx.h"
#include "llx/loss_scale.h"
#include "oprun.h"

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* bf16 by its definition: of the two bf16 neighbours of x (x's pattern with the low 16 bits
 * cleared, and the next bf16 up in magnitude) the nearer in exact double arithmetic, the
 * even one on a tie; past the largest bf16 the next one up is 2^128, which stands for
 * infinity (IEEE rounding). */
static float bf16_by_definition(float x)
{
    if (isnan(x) || isinf(x)) return x;
    float lo = float_of(bits_of(x) & 0xffff0000u), hi = float_of((bits_of(x) & 0xffff0000u) + 0x10000u);
    double dl = fabs((double)x - lo), dh = fabs((isinf(hi) ? copysign(0x1p128, x) : (double)hi) - x);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (bits_of(lo) >> 16) & 1u ? hi : lo;
}

static void test_round_bf16(void)
{
    CHECK(llx_round_bf16(1.0f) == 1.0f);
    CHECK(llx_round_bf16(1.0f + 0x1p-8f) == 1.0f);                      /* tie: to even (down) */
    CHECK(llx_round_bf16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);        /* tie: to even (up) */
    CHECK(llx_round_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f); /* past the tie */
    CHECK(llx_round_bf16(-3.14159265f) == -3.140625f);
    CHECK(isinf(llx_round_bf16(FLT_MAX)) && llx_round_bf16(-FLT_MAX) < 0);
    CHECK(isnan(llx_round_bf16(NAN)) && llx_round_bf16(INFINITY) == INFINITY);
    CHECK(llx_round_bf16(0x1p-140f) == 0.0f);             /* below half the smallest subnormal */
    CHECK(llx_round_bf16(3 * 0x1p-134f) == 0x1p-132f);     /* subnormal tie to even */
    uint64_t s = 1;
    int wrong = 0;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)next_random(&s);
        if (i % 3 == 0) u = (u & 0xffff0000u) | 0x8000u; /* exact ties, often */
        float x = float_of(u), r = llx_round_bf16(x), want = bf16_by_definition(x);
        if (!(isnan(x) ? isnan(r) : bits_of(r) == bits_of(want)) && wrong++ < 5)
            fprintf(stderr, "bf16(%a) = %a, want %a\n", (double)x, (double)r, (double)want);
    }
    CHECK_MSG(wrong == 0, "%d of 2e6 random floats round wrongly to bf16", wrong);
}

static void test_round_f16(void)
{
    CHECK(llx_round_f16(1.0f + 0x1p-11f) == 1.0f);               /* tie: to even */
    CHECK(llx_round_f16(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f); /* tie: to even (up) */
    CHECK(llx_round_f16(65504.0f) == 65504.0f);
    CHECK(llx_round_f16(65519.0f) == 65504.0f);
    CHECK(isinf(llx_round_f16(65520.0f)) && llx_round_f16(-65520.0f) < 0);
    CHECK(llx_round_f16(0x1p-24f) == 0x1p-24f);         /* the smallest subnormal */
    CHECK(llx_round_f16(0x1p-25f) == 0.0f);             /* tie with zero: to even, zero */
    CHECK(llx_round_f16(0x1.8p-25f) == 0x1p-24f);
    CHECK(llx_round_f16(3 * 0x1p-25f) == 0x1p-23f);     /* subnormal tie to even */
    CHECK(llx_round_f16(1e-8f) == 0.0f && signbit(llx_round_f16(-1e-8f)));
    CHECK(isnan(llx_round_f16(NAN)));
#ifdef __FLT16_MAX__
    /* the compiler's IEEE conversion (_Float16, GCC >= 12 on x86-64) as the reference */
    uint64_t s = 2;
    int wrong = 0;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)next_random(&s);
        if (i % 2) u = (u & 0x8fffffffu) | 0x30000000u; /* exponents near f16's range */
        if (i % 5 == 0) u = (u & 0xffffe000u) | 0x1000u; /* exact ties of the normal range */
        float x = float_of(u), r = llx_round_f16(x), want = (float)(_Float16)x;
        if (!(isnan(x) ? isnan(r) : bits_of(r) == bits_of(want)) && wrong++ < 5)
            fprintf(stderr, "f16(%a) = %a, want %a\n", (double)x, (double)r, (double)want);
    }
    CHECK_MSG(wrong == 0, "%d of 2e6 random floats round wrongly to f16", wrong);
#else
    printf("     (no _Float16 in this compiler: the random f16 comparison is skipped)\n");
#endif
    float v[] = {1.0f + 0x1p-12f, -2.5f, 70000.0f}, out[3];
    llx_round_to(LLX_PRECISION_F16, v, out, 3);
    CHECK(out[0] == 1.0f && out[1] == -2.5f && isinf(out[2]));
    CHECK(llx_precision_from_name("bf16") == LLX_PRECISION_BF16 && llx_precision_from_name("fp64") == -1);
    CHECK(strcmp(llx_precision_name(LLX_PRECISION_F16), "fp16") == 0);
}

/* ---- conv2d with rounded operands ---- */

static gc_case conv_case(const llx_conv2d_attr *a, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k,
                         bool bias)
{
    gc_case gc = {.op = llx_builtin_op(LLX_OP_CONV2D), .attr = a, .n_in = bias ? 3 : 2, .seed = 41};
    gc.in[0].shape = llx_shape4(n, c, h, w);
    gc.in[1].shape = llx_shape4(o, c, k, k);
    gc.in[2].shape = llx_shape1(o);
    return gc;
}

static double round_p(llx_precision p, double v)
{
    return p == LLX_PRECISION_BF16 ? llx_round_bf16((float)v) : llx_round_f16((float)v);
}

/* A half-ulp of the type at v: the most a correctly rounded value is from v. */
static double half_ulp(llx_precision p, double v)
{
    int e;
    frexp(fabs(v), &e);
    int frac_bits = p == LLX_PRECISION_BF16 ? 7 : 10;
    if (p == LLX_PRECISION_F16 && e - 1 < -14) e = -13; /* subnormal: fixed quantum 2^-24 */
    return ldexp(1.0, e - 1 - frac_bits - 1);
}

/* y, dx and dw of a conv2d in precision p on the CPU against the definition: products of the
 * rounded operands summed in double, then rounded. The op sums in F32, so where the double
 * sum lies near a rounding boundary the op may land on the neighbour: each value must be
 * within one ulp (two half-ulps) of the definition plus F32's summation error. The bias is
 * added to the rounded y, and dx and dw are added to the gradients already there. */
static void check_conv_precision(llx_precision p, const gc_case *c, const char *label)
{
    const llx_conv2d_attr *a = c->attr;
    const int64_t n = c->in[0].shape.dim[0], ch = c->in[0].shape.dim[1], h = c->in[0].shape.dim[2],
                  w = c->in[0].shape.dim[3], o = c->in[1].shape.dim[0], k = c->in[1].shape.dim[2];
    const int64_t oh = (h + 2 * a->pad_h - k) / a->stride_h + 1, ow = (w + 2 * a->pad_w - k) / a->stride_w + 1;
    const int64_t nx = n * ch * h * w, nw = o * ch * k * k, ny = n * o * oh * ow;
    double *x = malloc(nx * sizeof *x), *wt = malloc(nw * sizeof *wt), *b = malloc(o * sizeof *b);
    double *dy = malloc(ny * sizeof *dy), *dx0 = malloc(nx * sizeof *dx0), *dw0 = malloc(nw * sizeof *dw0);
    uint64_t s = 5;
    for (int64_t i = 0; i < nx; i++) x[i] = (double)(next_random(&s) >> 11) * 0x1p-53 * 2 - 1;
    for (int64_t i = 0; i < nw; i++) wt[i] = (double)(next_random(&s) >> 11) * 0x1p-53 - 0.5;
    for (int64_t i = 0; i < o; i++) b[i] = 0.1 * (double)i;
    for (int64_t i = 0; i < ny; i++) dy[i] = (double)(next_random(&s) >> 11) * 0x1p-53 * 2 - 1;
    for (int64_t i = 0; i < nx; i++) dx0[i] = 0.25;
    for (int64_t i = 0; i < nw; i++) dw0[i] = -0.5;
    llx_error err = {0};
    llx_backend *be = NULL;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    be->conv_precision = p;
    const double *values[] = {x, wt, b}, *din[] = {dx0, dw0, NULL};
    op_run_result r;
    llx_status st = op_run(c, LLX_F32, &(op_run_opts){.values = values, .dout = dy, .din = din, .backend = be}, &r, &err);
    CHECK_MSG(st == LLX_OK, "%s: %s", label, err.msg);
    if (st != LLX_OK) goto done;
    /* the operands as the op sees them */
    for (int64_t i = 0; i < nx; i++) x[i] = round_p(p, (float)x[i]);
    for (int64_t i = 0; i < nw; i++) wt[i] = round_p(p, (float)wt[i]);
    for (int64_t i = 0; i < ny; i++) dy[i] = round_p(p, (float)dy[i]);
    double *ydef = calloc(ny, sizeof *ydef), *dxdef = calloc(nx, sizeof *dxdef), *dwdef = calloc(nw, sizeof *dwdef);
    double *mag_y = calloc(ny, sizeof *mag_y), *mag_dx = calloc(nx, sizeof *mag_dx), *mag_dw = calloc(nw, sizeof *mag_dw);
    for (int64_t in = 0; in < n; in++)
        for (int64_t oc = 0; oc < o; oc++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t yi = ((in * o + oc) * oh + i) * ow + j;
                    for (int64_t cc = 0; cc < ch; cc++)
                        for (int64_t ki = 0; ki < k; ki++)
                            for (int64_t kj = 0; kj < k; kj++) {
                                int64_t hi = i * a->stride_h - a->pad_h + ki, wi = j * a->stride_w - a->pad_w + kj;
                                if (hi < 0 || hi >= h || wi < 0 || wi >= w) continue;
                                int64_t xi = ((in * ch + cc) * h + hi) * w + wi, wi_ = ((oc * ch + cc) * k + ki) * k + kj;
                                ydef[yi] += x[xi] * wt[wi_];
                                mag_y[yi] += fabs(x[xi] * wt[wi_]);
                                dxdef[xi] += wt[wi_] * dy[yi];
                                mag_dx[xi] += fabs(wt[wi_] * dy[yi]);
                                dwdef[wi_] += x[xi] * dy[yi];
                                mag_dw[wi_] += fabs(x[xi] * dy[yi]);
                            }
                }
    struct {
        const char *what;
        const double *got, *def, *mag, *base;
        int64_t count;
        bool bias;
    } parts[] = {{"y", r.out, ydef, mag_y, NULL, ny, c->n_in > 2},
                 {"dx", r.din[0], dxdef, mag_dx, dx0, nx, false},
                 {"dw", r.din[1], dwdef, mag_dw, dw0, nw, false}};
    for (int q = 0; q < 3; q++) {
        int bad = 0, flips = 0;
        for (int64_t i = 0; i < parts[q].count; i++) {
            double got = parts[q].got[i];
            if (parts[q].base) got -= parts[q].base[i]; /* added to what was there: exact here */
            if (parts[q].bias) got -= b[(i / (oh * ow)) % o];
            double want = round_p(p, parts[q].def[i]);
            double sum_err = 1e-6 * parts[q].mag[i]; /* F32 summation error bound, generous */
            double tol = 2 * half_ulp(p, want) + sum_err + 1e-7 + (parts[q].bias ? 1e-6 : 0);
            if (got != want && !parts[q].bias) flips++; /* (got - bias is not exact) */
            if (!(fabs(got - want) <= tol) && bad++ < 3)
                fprintf(stderr, "%s %s[%lld] = %.9g, want %.9g (tol %.3g)\n", label, parts[q].what, (long long)i, got,
                        want, tol);
        }
        CHECK_MSG(bad == 0, "%s: %d %s values off", label, bad, parts[q].what);
        CHECK_MSG(flips * 20 <= parts[q].count, "%s: %d of %lld %s values not the definition's", label, flips,
                  (long long)parts[q].count, parts[q].what);
    }
    /* y (without bias) is made of values of the type */
    if (c->n_in == 2) {
        int off = 0;
        for (int64_t i = 0; i < ny; i++) off += round_p(p, r.out[i]) != r.out[i];
        CHECK_MSG(off == 0, "%s: %d y values are not %s values", label, off, llx_precision_name(p));
    }
    free(ydef), free(dxdef), free(dwdef), free(mag_y), free(mag_dx), free(mag_dw);
done:
    op_run_free(&r);
    llx_backend_free(be);
    free(x), free(wt), free(b), free(dy), free(dx0), free(dw0);
}

static void test_conv2d_rounded(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1}, s2p1 = {2, 2, 1, 1}, s2p0 = {2, 2, 0, 0}, s2p3 = {2, 2, 3, 3};
    const struct {
        const char *label;
        gc_case c;
    } cases[] = {
        {"3x3 s1 p1 bias", conv_case(&s1p1, 2, 8, 9, 7, 6, 3, true)},
        {"3x3 s2 p1", conv_case(&s2p1, 2, 5, 11, 10, 4, 3, false)},
        {"1x1 s2 p0", conv_case(&s2p0, 3, 16, 6, 6, 8, 1, false)},
        {"7x7 s2 p3 stem", conv_case(&s2p3, 1, 3, 15, 13, 4, 7, false)},
    };
    for (int p = LLX_PRECISION_BF16; p <= LLX_PRECISION_F16; p++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char label[96];
            snprintf(label, sizeof label, "conv2d %s %s", cases[i].label, llx_precision_name((llx_precision)p));
            check_conv_precision((llx_precision)p, &cases[i].c, label);
        }
}

/* The same convolution in F32 and BF16 differs, by about bf16's precision: the switch acts,
 * and does no more than round. */
static void test_conv2d_precision_differs_from_f32(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1};
    gc_case c = conv_case(&s1p1, 2, 16, 8, 8, 16, 3, false);
    llx_error err = {0};
    llx_backend *be = NULL;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    op_run_result r32, r16;
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.backend = be}, &r32, &err) == LLX_OK);
    be->conv_precision = LLX_PRECISION_BF16;
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.backend = be}, &r16, &err) == LLX_OK);
    int64_t ny = llx_shape_numel(&r32.out_shape);
    double d = op_run_rel_diff(r16.out, r32.out, ny), g = op_run_rel_diff(r16.din[1], r32.din[1], 16 * 16 * 9);
    printf("     bf16 vs f32: y %.2e, dw %.2e (normwise relative)\n", d, g);
    CHECK_MSG(d > 1e-4 && d < 2e-2, "y differs by %.3g", d);
    CHECK_MSG(g > 1e-4 && g < 2e-2, "dw differs by %.3g", g);
    op_run_free(&r32);
    op_run_free(&r16);
    llx_backend_free(be);
}

/* ---- unscaling and the loss scaler ---- */

static llx_tensor host_tensor(float *data, int64_t n)
{
    return (llx_tensor){.name = "g", .dtype = LLX_F32, .device = LLX_DEVICE_CPU, .shape = llx_shape1(n), .data = data};
}

static void test_grad_unscale(void)
{
    llx_error err = {0};
    llx_backend *be = NULL;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    float g[5] = {2, -4, 0, 1e-30f, 8}, flag = 0;
    llx_tensor t = host_tensor(g, 5), f = host_tensor(&flag, 1);
    CHECK(llx_grad_unscale(be, &t, 0.25f, &f, &err) == LLX_OK);
    CHECK(g[0] == 0.5f && g[1] == -1.0f && g[2] == 0 && g[3] == 0.25e-30f && g[4] == 2.0f && flag == 0);
    g[2] = INFINITY;
    CHECK(llx_grad_unscale(be, &t, 0.5f, &f, &err) == LLX_OK && flag == 1);
    flag = 0;
    g[2] = NAN;
    CHECK(llx_grad_unscale(be, &t, 1.0f, &f, &err) == LLX_OK && flag == 1);
    llx_tensor wrong = f;
    wrong.shape = llx_shape1(2);
    CHECK(llx_grad_unscale(be, &t, 1.0f, &wrong, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "one F32 flag");
    llx_backend_free(be);
}

static void test_loss_scaler(void)
{
    llx_error err = {0};
    llx_backend *be = NULL;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    float g[3];
    llx_tensor t = host_tensor(g, 3);
    bool step;
    llx_loss_scaler s;

    CHECK(llx_loss_scaler_init(&s, be, LLX_LOSS_SCALE_DYNAMIC, 0, &err) == LLX_OK);
    CHECK(s.scale == 65536 && llx_loss_scaler_seed(&s) == 65536.0f);
    s.growth_interval = 3;
    for (int i = 0; i < 3; i++) {
        g[0] = 65536, g[1] = -32768, g[2] = 0;
        CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && step);
        CHECK(g[0] == 1 && g[1] == -0.5f);
    }
    CHECK(s.scale == 131072 && s.good_steps == 0); /* doubled after 3 finite steps */
    g[1] = INFINITY;
    CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && !step);
    CHECK(s.scale == 65536 && s.skipped == 1 && s.good_steps == 0);
    g[1] = 1;
    CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && step && s.good_steps == 1);
    /* gradients that stay NaN at any scale: an error once S falls below 2^-24 */
    g[0] = NAN;
    llx_status st = LLX_OK;
    int steps = 0;
    while (st == LLX_OK && steps++ < 100) st = llx_loss_scaler_unscale(&s, &t, &step, &err);
    CHECK(st == LLX_ERR_NUMERIC && steps == 41); /* 2^16 -> 2^-25 */
    CHECK_CONTAINS(err.msg, "not finite by themselves");
    llx_loss_scaler_free(&s);

    CHECK(llx_loss_scaler_init(&s, be, LLX_LOSS_SCALE_STATIC, 128, &err) == LLX_OK);
    g[0] = 256, g[1] = INFINITY;
    CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && !step && s.scale == 128 && s.skipped == 1);
    g[0] = 256, g[1] = 0;
    CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && step && g[0] == 2 && s.scale == 128);
    llx_loss_scaler_free(&s);

    CHECK(llx_loss_scaler_init(&s, be, LLX_LOSS_SCALE_NONE, 0, &err) == LLX_OK);
    g[0] = NAN;
    CHECK(llx_loss_scaler_unscale(&s, &t, &step, &err) == LLX_OK && step && s.scale == 1);
    llx_loss_scaler_free(&s);
    CHECK(llx_loss_scaler_init(&s, be, LLX_LOSS_SCALE_STATIC, -1, &err) == LLX_ERR_INVALID);
    llx_backend_free(be);
}

/* Why F16 needs loss scaling: a convolution's weight gradient from small output gradients
 * (1e-8, below f16's smallest subnormal 6e-8) is all zeros in F16, while with the output
 * gradient scaled by 2^16 and the result divided by it afterwards it matches F32 to f16's
 * precision. BF16 has F32's range and needs no scaling. */
static void test_f16_needs_loss_scaling(void)
{
    static const llx_conv2d_attr s1p1 = {1, 1, 1, 1};
    gc_case c = conv_case(&s1p1, 2, 4, 6, 6, 4, 3, false);
    const int64_t ny = 2 * 4 * 6 * 6, nw = 4 * 4 * 9;
    double *dy = malloc(ny * sizeof *dy), *dy_scaled = malloc(ny * sizeof *dy_scaled);
    uint64_t s = 9;
    for (int64_t i = 0; i < ny; i++) {
        dy[i] = 1e-8 * ((double)(next_random(&s) >> 11) * 0x1p-53 * 2 - 1);
        dy_scaled[i] = dy[i] * 65536;
    }
    llx_error err = {0};
    llx_backend *be = NULL;
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    op_run_result f32, f16, f16_scaled, b16;
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.dout = dy, .backend = be}, &f32, &err) == LLX_OK);
    be->conv_precision = LLX_PRECISION_F16;
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.dout = dy, .backend = be}, &f16, &err) == LLX_OK);
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.dout = dy_scaled, .backend = be}, &f16_scaled, &err) == LLX_OK);
    be->conv_precision = LLX_PRECISION_BF16;
    CHECK(op_run(&c, LLX_F32, &(op_run_opts){.dout = dy, .backend = be}, &b16, &err) == LLX_OK);
    int zeros = 0;
    for (int64_t i = 0; i < nw; i++) {
        zeros += f16.din[1][i] == 0;
        f16_scaled.din[1][i] /= 65536;
    }
    double scaled = op_run_rel_diff(f16_scaled.din[1], f32.din[1], nw), bf = op_run_rel_diff(b16.din[1], f32.din[1], nw);
    printf("     dw from dy ~ 1e-8: f16 %d of %lld zero; f16 with S = 2^16 off by %.2e; bf16 off by %.2e\n", zeros,
           (long long)nw, scaled, bf);
    CHECK(zeros == nw);
    CHECK_MSG(scaled < 4e-3, "%.3g", scaled);
    CHECK_MSG(bf < 2e-2, "%.3g", bf);
    op_run_free(&f32), op_run_free(&f16), op_run_free(&f16_scaled), op_run_free(&b16);
    llx_backend_free(be);
    free(dy);
    free(dy_scaled);
}

int main(void)
{
    RUN(test_round_bf16);
    RUN(test_round_f16);
    RUN(test_conv2d_rounded);
    RUN(test_conv2d_precision_differs_from_f32);
    RUN(test_grad_unscale);
    RUN(test_loss_scaler);
    RUN(test_f16_needs_loss_scaling);
    return check_report();
}
