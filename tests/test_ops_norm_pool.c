/* test_ops_norm_pool.c: batchnorm2d and maxpool2d.
 *
 * Finite-difference gradient checks (F64) of BN in training and eval mode and of max
 * pooling (no ties: GC_SPREAD), forward values and the running-statistics update against
 * numbers worked out by hand, shape-inference messages, and F32 against F64 kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "llx/llx.h"

/* ---- op_run: runs one op forward and backward on tensors built here, in F32 or F64 ---- */

typedef struct op_run {
    llx_shape out_shape;
    double *out;                    /* forward output */
    double *in[LLX_OP_MAX_INPUTS];  /* inputs after forward (running statistics updated) */
    double *din[LLX_OP_MAX_INPUTS]; /* input gradients from backward (NULL: none) */
} op_run;

static uint64_t run_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double run_uniform(uint64_t *s) { return (double)(run_next(s) >> 11) / 9007199254740992.0; }

/* p (n) filled as gc_fill says (see gradcheck.h). */
static void run_fill(const gc_input *gi, double *p, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++) {
        switch (gi->fill) {
        case GC_LABELS: p[i] = (double)(run_next(s) % (uint64_t)gi->labels_k); break;
        case GC_POSITIVE: p[i] = 0.5 + run_uniform(s); break;
        case GC_SPREAD: p[i] = -1.0 + 2.0 * (double)i / (double)(n > 1 ? n - 1 : 1); break;
        default: p[i] = 2.0 * run_uniform(s) - 1.0; break;
        }
    }
    if (gi->fill == GC_SPREAD)
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(run_next(s) % (uint64_t)(i + 1));
            double t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
}

static void run_store(llx_tensor *t, const double *v)
{
    for (int64_t i = 0; i < llx_tensor_numel(t); i++) {
        if (t->dtype == LLX_F32) ((float *)t->data)[i] = (float)v[i];
        else if (t->dtype == LLX_F64) ((double *)t->data)[i] = v[i];
        else ((int32_t *)t->data)[i] = (int32_t)v[i];
    }
}

static double *run_load(const llx_tensor *t)
{
    double *v = malloc((size_t)llx_tensor_numel(t) * sizeof *v);
    for (int64_t i = 0; i < llx_tensor_numel(t); i++) {
        if (t->dtype == LLX_F32) v[i] = ((float *)t->data)[i];
        else if (t->dtype == LLX_F64) v[i] = ((double *)t->data)[i];
        else v[i] = ((int32_t *)t->data)[i];
    }
    return v;
}

static void op_run_free(op_run *r)
{
    free(r->out);
    for (int i = 0; i < LLX_OP_MAX_INPUTS; i++) {
        free(r->in[i]);
        free(r->din[i]);
    }
    memset(r, 0, sizeof *r);
}

/* Runs c->op forward, then backward with dout (NULL: random, from the seed) in dtype dt.
 * values[i] (values or values[i] may be NULL) gives input i, else c->in[i].fill does. */
static llx_status op_run_do(const gc_case *c, llx_dtype dt, const double *const *values,
                            const double *dout, op_run *r, llx_error *err)
{
    memset(r, 0, sizeof *r);
    llx_backend *be;
    LLX_TRY(llx_backend_cpu_create(0, &be, err));
    uint64_t seed = c->seed ? c->seed : 777;
    llx_tensor in[LLX_OP_MAX_INPUTS], din[LLX_OP_MAX_INPUTS], out = {0}, dy = {0};
    llx_shape shapes[LLX_OP_MAX_INPUTS];
    llx_op_call call = {.op = c->op, .attr = c->attr, .n_in = c->n_in,
                        .training = c->training, .backend = be};
    memset(din, 0, sizeof din);
    for (int i = 0; i < c->n_in; i++) {
        const gc_input *gi = &c->in[i];
        shapes[i] = gi->shape;
        int64_t n = llx_shape_numel(&gi->shape);
        llx_dtype idt = gi->fill == GC_LABELS ? LLX_I32 : dt;
        double *v = malloc((size_t)n * sizeof *v);
        if (values && values[i]) memcpy(v, values[i], (size_t)n * sizeof *v);
        else run_fill(gi, v, n, &seed);
        in[i] = (llx_tensor){.name = "in", .dtype = idt, .shape = gi->shape,
                             .data = calloc((size_t)n, llx_dtype_size(idt))};
        run_store(&in[i], v);
        free(v);
        call.in[i] = &in[i];
        if (!(c->op->no_grad_inputs & (1u << i)) && idt != LLX_I32) {
            din[i] = in[i];
            din[i].data = calloc((size_t)n, llx_dtype_size(idt));
            call.din[i] = &din[i];
        }
    }
    llx_status st = c->op->infer(c->attr, shapes, c->n_in, &r->out_shape, err);
    void *saved = NULL, *ws = NULL;
    if (st == LLX_OK) {
        int64_t n_out = llx_shape_numel(&r->out_shape);
        out = (llx_tensor){.name = "out", .dtype = dt, .shape = r->out_shape,
                           .data = calloc((size_t)n_out, llx_dtype_size(dt))};
        dy = out;
        dy.data = calloc((size_t)n_out, llx_dtype_size(dt));
        double *dv = malloc((size_t)n_out * sizeof *dv);
        for (int64_t i = 0; i < n_out; i++) dv[i] = dout ? dout[i] : 2 * run_uniform(&seed) - 1;
        run_store(&dy, dv);
        free(dv);
        size_t sb = c->op->saved_bytes
                        ? c->op->saved_bytes(c->attr, shapes, c->n_in, &r->out_shape, dt)
                        : 0;
        size_t wb = c->op->workspace_bytes
                        ? c->op->workspace_bytes(c->attr, shapes, c->n_in, &r->out_shape, dt)
                        : 0;
        saved = calloc(1, sb + 1);
        ws = calloc(1, wb + 1);
        call.out = &out;
        call.dout = &dy;
        call.saved = saved;
        call.workspace = ws;
        st = llx_op_forward(&call, err);
    }
    if (st == LLX_OK) {
        r->out = run_load(&out);
        for (int i = 0; i < c->n_in; i++) r->in[i] = run_load(&in[i]);
        st = llx_op_backward(&call, err);
    }
    if (st == LLX_OK)
        for (int i = 0; i < c->n_in; i++)
            if (call.din[i]) r->din[i] = run_load(&din[i]);
    for (int i = 0; i < c->n_in; i++) {
        free(in[i].data);
        free(din[i].data);
    }
    free(out.data);
    free(dy.data);
    free(saved);
    free(ws);
    llx_backend_free(be);
    if (st != LLX_OK) op_run_free(r);
    return st;
}

/* max |a - b| / max(max |b|, 1e-30) over n elements: a normwise relative difference. */
static double rel_diff(const double *a, const double *b, int64_t n)
{
    double d = 0, m = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d || isnan(a[i])) d = isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]);
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

/* Runs c in F32 and in F64 (same inputs) and checks that output, updated inputs and every
 * gradient agree to tol (normwise relative). */
static void check_f32_matches_f64(const char *label, const gc_case *c, double tol)
{
    op_run r32, r64;
    llx_error err;
    llx_status s64 = op_run_do(c, LLX_F64, NULL, NULL, &r64, &err);
    CHECK_MSG(s64 == LLX_OK, "%s f64: %s", label, err.msg);
    llx_status s32 = op_run_do(c, LLX_F32, NULL, NULL, &r32, &err);
    CHECK_MSG(s32 == LLX_OK, "%s f32: %s", label, err.msg);
    if (s32 != LLX_OK || s64 != LLX_OK) return;
    double d = rel_diff(r32.out, r64.out, llx_shape_numel(&r64.out_shape));
    CHECK_MSG(d <= tol, "%s: output f32 vs f64 differ by %g", label, d);
    for (int i = 0; i < c->n_in; i++) {
        int64_t n = llx_shape_numel(&c->in[i].shape);
        d = rel_diff(r32.in[i], r64.in[i], n);
        CHECK_MSG(d <= tol, "%s: input %d after forward differs by %g", label, i, d);
        if (!r64.din[i]) continue;
        d = rel_diff(r32.din[i], r64.din[i], n);
        CHECK_MSG(d <= tol, "%s: gradient of input %d f32 vs f64 differ by %g", label, i, d);
    }
    op_run_free(&r32);
    op_run_free(&r64);
}

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
    op_run r;
    llx_error err;
    CHECK(op_run_do(&c, LLX_F64, v, NULL, &r, &err) == LLX_OK);
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
    CHECK(op_run_do(&c, LLX_F64, v, NULL, &r, &err) == LLX_OK);
    CHECK_NEAR(r.out[0], (1 - 0) / sqrt(1 + 1e-5), 1e-12);
    CHECK_NEAR(r.out[6], 2 * (4 - 1) / sqrt(2 + 1e-5) + 1, 1e-12);
    CHECK(r.in[3][0] == 0 && r.in[3][1] == 1 && r.in[4][0] == 1 && r.in[4][1] == 2);
    op_run_free(&r);

    /* one value per channel cannot be trained on */
    gc_case one = bn_case(&a, 1, 2, 1, 1, true);
    CHECK(op_run_do(&one, LLX_F64, NULL, NULL, &r, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "batchnorm2d: training needs more than 1 value per channel");
}

static void test_bn_f32_matches_f64(void)
{
    llx_batchnorm2d_attr a = {.momentum = 0.1, .eps = 1e-5};
    gc_case c = bn_case(&a, 4, 6, 5, 7, true);
    check_f32_matches_f64("bn training", &c, 1e-5);
    c.training = false;
    check_f32_matches_f64("bn eval", &c, 1e-5);
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
    op_run r;
    llx_error err;
    const double *v[1] = {x};
    gc_case c = pool_case(&k2s2, 1, 1, 4, 4);
    CHECK(op_run_do(&c, LLX_F64, v, dy, &r, &err) == LLX_OK);
    CHECK(r.out[0] == 5 && r.out[1] == 9 && r.out[2] == 7 && r.out[3] == 11);
    CHECK(r.din[0][1] == 1 && r.din[0][6] == 2 && r.din[0][8] == 3 && r.din[0][15] == 4);
    double total = 0;
    for (int i = 0; i < 16; i++) total += r.din[0][i];
    CHECK_NEAR(total, 10, 0);
    op_run_free(&r);

    const double *vn[1] = {xn};
    c = pool_case(&k3s2p1, 1, 1, 4, 4);
    CHECK(op_run_do(&c, LLX_F64, vn, dy, &r, &err) == LLX_OK);
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
    check_f32_matches_f64("maxpool", &c, 1e-6);
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
