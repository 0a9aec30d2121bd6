/* gradcheck.c: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gc_state {
    llx_backend *be;
    llx_tensor in[LLX_OP_MAX_INPUTS], din[LLX_OP_MAX_INPUTS], out, dout;
    void *saved, *workspace;
    llx_op_call call;
} gc_state;

static uint64_t gc_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gc_uniform(uint64_t *s) { return (double)(gc_next(s) >> 11) / 9007199254740992.0; }

static void gc_fill_input(const gc_input *gi, llx_tensor *t, uint64_t *rng)
{
    int64_t n = llx_tensor_numel(t);
    if (gi->fill == GC_LABELS) {
        int32_t *p = t->data;
        for (int64_t i = 0; i < n; i++) p[i] = (int32_t)(gc_next(rng) % (uint64_t)gi->labels_k);
        return;
    }
    double *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        switch (gi->fill) {
        case GC_POSITIVE: p[i] = 0.5 + gc_uniform(rng); break;
        case GC_SPREAD: p[i] = -1.0 + 2.0 * (double)i / (double)(n > 1 ? n - 1 : 1); break;
        default: p[i] = 2.0 * gc_uniform(rng) - 1.0; break;
        }
    }
    if (gi->fill == GC_SPREAD)
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(gc_next(rng) % (uint64_t)(i + 1));
            double tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
}

static int gc_setup(const gc_case *c, gc_state *st)
{
    llx_error err;
    memset(st, 0, sizeof *st);
    if (llx_backend_cpu_create(1, &st->be, &err) != LLX_OK) return 0;
    uint64_t rng = c->seed ? c->seed : 12345;
    llx_shape shapes[LLX_OP_MAX_INPUTS];
    for (int i = 0; i < c->n_in; i++) {
        const gc_input *gi = &c->in[i];
        shapes[i] = gi->shape;
        llx_dtype dt = gi->fill == GC_LABELS ? LLX_I32 : LLX_F64;
        st->in[i] = (llx_tensor){.name = "in", .dtype = dt, .shape = gi->shape};
        st->in[i].data = calloc((size_t)llx_shape_numel(&gi->shape), llx_dtype_size(dt));
        gc_fill_input(gi, &st->in[i], &rng);
        st->din[i] = st->in[i];
        st->din[i].data = calloc((size_t)llx_shape_numel(&gi->shape), sizeof(double));
        st->call.in[i] = &st->in[i];
        if (!(c->op->no_grad_inputs & (1u << i)) && dt == LLX_F64) st->call.din[i] = &st->din[i];
    }
    llx_shape out_shape;
    if (c->op->infer(c->attr, shapes, c->n_in, &out_shape, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck: %s: infer failed: %s\n", c->op->name, err.msg);
        return 0;
    }
    size_t n_out = (size_t)llx_shape_numel(&out_shape);
    st->out = (llx_tensor){.name = "out", .dtype = LLX_F64, .shape = out_shape,
                           .data = calloc(n_out, sizeof(double))};
    st->dout = st->out;
    st->dout.data = calloc(n_out, sizeof(double));
    double *r = st->dout.data;
    for (size_t i = 0; i < n_out; i++) r[i] = 2.0 * gc_uniform(&rng) - 1.0;
    size_t saved = c->op->saved_bytes
                       ? c->op->saved_bytes(c->attr, shapes, c->n_in, &out_shape, LLX_F64)
                       : 0;
    size_t ws = c->op->workspace_bytes
                    ? c->op->workspace_bytes(c->attr, shapes, c->n_in, &out_shape, LLX_F64)
                    : 0;
    st->saved = calloc(1, saved + 1);
    st->workspace = calloc(1, ws + 1);
    st->call.op = c->op;
    st->call.attr = c->attr;
    st->call.n_in = c->n_in;
    st->call.out = &st->out;
    st->call.dout = &st->dout;
    st->call.saved = st->saved;
    st->call.workspace = st->workspace;
    st->call.training = c->training;
    st->call.backend = st->be;
    return 1;
}

static void gc_teardown(const gc_case *c, gc_state *st)
{
    for (int i = 0; i < c->n_in; i++) {
        free(st->in[i].data);
        free(st->din[i].data);
    }
    free(st->out.data);
    free(st->dout.data);
    free(st->saved);
    free(st->workspace);
    llx_backend_free(st->be);
}

static double gc_loss(gc_state *st)
{
    llx_error err;
    if (llx_op_forward(&st->call, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck: forward failed: %s\n", err.msg);
        return NAN;
    }
    const double *y = st->out.data, *r = st->dout.data;
    double s = 0;
    for (int64_t i = 0; i < llx_tensor_numel(&st->out); i++) s += y[i] * r[i];
    return s;
}

int gradcheck(const char *label, const gc_case *c)
{
    gc_state st;
    if (!gc_setup(c, &st)) return 0;
    double eps = c->eps > 0 ? c->eps : 1e-6, atol = c->atol > 0 ? c->atol : 1e-7;
    double rtol = c->rtol > 0 ? c->rtol : 1e-5;
    llx_error err;
    int ok = 1;
    if (isnan(gc_loss(&st)) || llx_op_backward(&st.call, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck %s: forward/backward failed: %s\n", label, err.msg);
        gc_teardown(c, &st);
        return 0;
    }
    for (int i = 0; i < c->n_in; i++) {
        if (!st.call.din[i]) continue;
        double *x = st.in[i].data, *g = st.din[i].data, worst = 0;
        int64_t worst_at = -1;
        double worst_a = 0, worst_n = 0;
        for (int64_t k = 0; k < llx_tensor_numel(&st.in[i]); k++) {
            double keep = x[k];
            x[k] = keep + eps;
            double lp = gc_loss(&st);
            x[k] = keep - eps;
            double lm = gc_loss(&st);
            x[k] = keep;
            double num = (lp - lm) / (2 * eps), excess = fabs(g[k] - num) - (atol + rtol * fabs(num));
            if (worst_at < 0 || !(excess <= worst)) { /* NaN counts as worst */
                worst = excess;
                worst_at = k;
                worst_a = g[k];
                worst_n = num;
            }
        }
        if (!(worst <= 0)) {
            fprintf(stderr, "gradcheck %s: op %s input %d element %lld: analytic %.10g numeric %.10g\n",
                    label, c->op->name, i, (long long)worst_at, worst_a, worst_n);
            ok = 0;
        }
    }
    gc_teardown(c, &st);
    return ok;
}

double *gradcheck_forward(const gc_case *c, llx_shape *out_shape, double **in_values)
{
    gc_state st;
    if (!gc_setup(c, &st)) return NULL;
    double *y = NULL;
    if (!isnan(gc_loss(&st))) {
        size_t n = (size_t)llx_tensor_numel(&st.out);
        y = malloc(n * sizeof *y);
        memcpy(y, st.out.data, n * sizeof *y);
        *out_shape = st.out.shape;
        for (int i = 0; in_values && i < c->n_in; i++) {
            size_t bytes = llx_tensor_bytes(&st.in[i]);
            in_values[i] = malloc(bytes);
            memcpy(in_values[i], st.in[i].data, bytes);
        }
    }
    gc_teardown(c, &st);
    return y;
}
