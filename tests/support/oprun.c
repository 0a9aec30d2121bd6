/* oprun.c: see oprun.h. */
#include "oprun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t run_next(uint64_t *s)
{
    /* splitmix64 */
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

/* A zeroed tensor of dtype dt and shape sh, then v (n doubles, NULL: zeros) stored in it. */
static llx_tensor run_tensor(const char *name, llx_dtype dt, llx_shape sh, const double *v)
{
    int64_t n = llx_shape_numel(&sh);
    llx_tensor t = {.name = name, .dtype = dt, .shape = sh,
                    .data = calloc((size_t)n + 1, llx_dtype_size(dt))};
    for (int64_t i = 0; v && i < n; i++) {
        if (dt == LLX_F32) ((float *)t.data)[i] = (float)v[i];
        else if (dt == LLX_F64) ((double *)t.data)[i] = v[i];
        else ((int32_t *)t.data)[i] = (int32_t)v[i];
    }
    return t;
}

static double *run_load(const llx_tensor *t)
{
    int64_t n = llx_tensor_numel(t);
    double *v = malloc((size_t)n * sizeof *v + 1);
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == LLX_F32) v[i] = ((float *)t->data)[i];
        else if (t->dtype == LLX_F64) v[i] = ((double *)t->data)[i];
        else v[i] = ((int32_t *)t->data)[i];
    }
    return v;
}

void op_run_teardown(op_run_state *s)
{
    for (int i = 0; i < LLX_OP_MAX_INPUTS; i++) {
        free(s->in[i].data);
        free(s->din[i].data);
    }
    free(s->out.data);
    free(s->dout.data);
    free(s->saved);
    free(s->workspace);
    llx_backend_free(s->be);
    memset(s, 0, sizeof *s);
}

llx_status op_run_setup(const gc_case *c, llx_dtype dt, const op_run_opts *opts,
                        op_run_state *s, llx_error *err)
{
    static const op_run_opts none;
    if (!opts) opts = &none;
    memset(s, 0, sizeof *s);
    LLX_TRY(llx_backend_cpu_create(opts->threads, &s->be, err));
    uint64_t seed = c->seed ? c->seed : 777;
    llx_shape shapes[LLX_OP_MAX_INPUTS];
    s->call = (llx_op_call){.op = c->op, .attr = c->attr, .n_in = c->n_in,
                            .training = c->training, .backend = s->be};
    for (int i = 0; i < c->n_in; i++) {
        const gc_input *gi = &c->in[i];
        shapes[i] = gi->shape;
        int64_t n = llx_shape_numel(&gi->shape);
        llx_dtype idt = gi->fill == GC_LABELS ? LLX_I32 : dt;
        const double *v = opts->values ? opts->values[i] : NULL;
        double *drawn = NULL;
        if (!v) {
            drawn = malloc((size_t)n * sizeof *drawn + 1);
            run_fill(gi, drawn, n, &seed);
            v = drawn;
        }
        s->in[i] = run_tensor("in", idt, gi->shape, v);
        free(drawn);
        s->call.in[i] = &s->in[i];
        if (!(c->op->no_grad_inputs & (1u << i)) && idt != LLX_I32) {
            s->din[i] = run_tensor("din", idt, gi->shape, opts->din ? opts->din[i] : NULL);
            s->call.din[i] = &s->din[i];
        }
    }
    llx_shape out_shape;
    llx_status st = c->op->infer(c->attr, shapes, c->n_in, &out_shape, err);
    if (st != LLX_OK) {
        op_run_teardown(s);
        return st;
    }
    int64_t n_out = llx_shape_numel(&out_shape);
    double *dv = NULL;
    if (!opts->dout) {
        dv = malloc((size_t)n_out * sizeof *dv + 1);
        for (int64_t i = 0; i < n_out; i++) dv[i] = 2 * run_uniform(&seed) - 1;
    }
    s->out = run_tensor("out", dt, out_shape, NULL);
    s->dout = run_tensor("dout", dt, out_shape, opts->dout ? opts->dout : dv);
    free(dv);
    size_t sb = c->op->saved_bytes ? c->op->saved_bytes(c->attr, shapes, c->n_in, &out_shape, dt)
                                   : 0;
    size_t wb = c->op->workspace_bytes
                    ? c->op->workspace_bytes(c->attr, shapes, c->n_in, &out_shape, dt)
                    : 0;
    s->saved = calloc(1, sb + 1);
    s->workspace = calloc(1, wb + 1);
    s->call.out = &s->out;
    s->call.dout = &s->dout;
    s->call.saved = s->saved;
    s->call.workspace = s->workspace;
    return LLX_OK;
}

void op_run_free(op_run_result *r)
{
    free(r->out);
    for (int i = 0; i < LLX_OP_MAX_INPUTS; i++) {
        free(r->in[i]);
        free(r->din[i]);
    }
    memset(r, 0, sizeof *r);
}

llx_status op_run(const gc_case *c, llx_dtype dt, const op_run_opts *opts, op_run_result *r,
                  llx_error *err)
{
    memset(r, 0, sizeof *r);
    op_run_state s;
    LLX_TRY(op_run_setup(c, dt, opts, &s, err));
    llx_status st = llx_op_forward(&s.call, err);
    if (st == LLX_OK) {
        r->out_shape = s.out.shape;
        r->out = run_load(&s.out);
        for (int i = 0; i < c->n_in; i++) r->in[i] = run_load(&s.in[i]);
        if (!(opts && opts->forward_only)) st = llx_op_backward(&s.call, err);
    }
    if (st == LLX_OK && !(opts && opts->forward_only))
        for (int i = 0; i < c->n_in; i++)
            if (s.call.din[i]) r->din[i] = run_load(&s.din[i]);
    op_run_teardown(&s);
    if (st != LLX_OK) op_run_free(r);
    return st;
}

double op_run_rel_diff(const double *a, const double *b, int64_t n)
{
    double d = 0, m = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d || isnan(a[i])) d = isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]);
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

int op_run_f32_matches_f64(const char *label, const gc_case *c, double tol)
{
    op_run_result r32, r64;
    llx_error err;
    int ok = 1;
    if (op_run(c, LLX_F64, NULL, &r64, &err) != LLX_OK) {
        fprintf(stderr, "%s f64: %s\n", label, err.msg);
        ok = 0;
    }
    if (op_run(c, LLX_F32, NULL, &r32, &err) != LLX_OK) {
        fprintf(stderr, "%s f32: %s\n", label, err.msg);
        ok = 0;
    }
    if (ok) {
        double d = op_run_rel_diff(r32.out, r64.out, llx_shape_numel(&r64.out_shape));
        if (!(d <= tol)) {
            fprintf(stderr, "%s: output f32 vs f64 differ by %g (tol %g)\n", label, d, tol);
            ok = 0;
        }
        for (int i = 0; i < c->n_in; i++) {
            int64_t n = llx_shape_numel(&c->in[i].shape);
            d = op_run_rel_diff(r32.in[i], r64.in[i], n);
            if (!(d <= tol)) {
                fprintf(stderr, "%s: input %d after forward differs by %g (tol %g)\n", label, i,
                        d, tol);
                ok = 0;
            }
            if (!r64.din[i]) continue;
            d = op_run_rel_diff(r32.din[i], r64.din[i], n);
            if (!(d <= tol)) {
                fprintf(stderr, "%s: gradient of input %d f32 vs f64 differ by %g (tol %g)\n",
                        label, i, d, tol);
                ok = 0;
            }
        }
    }
    op_run_free(&r32);
    op_run_free(&r64);
    return ok;
}
