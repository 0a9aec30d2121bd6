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

/* Frees tensor data: host memory, or the backend's when the state lives on it. */
static void run_release(op_run_state *s, void *p)
{
    if (!p) return;
    if (s->on_be) s->be->free(s->be, p);
    else free(p);
}

void op_run_teardown(op_run_state *s)
{
    for (int i = 0; i < LLX_OP_MAX_INPUTS; i++) {
        run_release(s, s->in[i].data);
        run_release(s, s->din[i].data);
    }
    run_release(s, s->out.data);
    run_release(s, s->dout.data);
    run_release(s, s->saved);
    run_release(s, s->workspace);
    if (s->own_be) llx_backend_free(s->be);
    memset(s, 0, sizeof *s);
}

/* Moves host tensor t (built by run_tensor) into be's memory: one extra element, as on the
 * host, zero-filled by be->alloc. On failure t->data is NULL (nothing to free). */
static llx_status run_move(llx_backend *be, llx_tensor *t, llx_error *err)
{
    if (!t->data) return LLX_OK;
    size_t bytes = llx_tensor_bytes(t);
    void *host = t->data, *dev = be->alloc(be, bytes + llx_dtype_size(t->dtype), err);
    t->data = dev;
    t->device = be->device;
    llx_status st = dev ? be->to_device(be, dev, host, bytes, err)
                        : (err && err->status != LLX_OK ? err->status : LLX_ERR_NOMEM);
    free(host);
    return st;
}

/* saved / workspace: bytes + 1, zero-filled, in be's memory. */
static llx_status run_scratch(llx_backend *be, size_t bytes, void **out, llx_error *err)
{
    *out = be->alloc(be, bytes + 1, err);
    return *out ? LLX_OK : (err && err->status != LLX_OK ? err->status : LLX_ERR_NOMEM);
}

llx_status op_run_setup(const gc_case *c, llx_dtype dt, const op_run_opts *opts,
                        op_run_state *s, llx_error *err)
{
    static const op_run_opts none;
    if (!opts) opts = &none;
    memset(s, 0, sizeof *s);
    if (opts->backend) {
        s->be = opts->backend;
    } else {
        LLX_TRY(llx_backend_cpu_create(opts->threads, &s->be, err));
        s->own_be = true;
    }
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
    if (opts->backend) {
        /* Everything into the backend's memory. From here teardown frees through be. */
        llx_tensor *all[2 * LLX_OP_MAX_INPUTS + 2];
        int n_all = 0;
        for (int i = 0; i < c->n_in; i++) {
            all[n_all++] = &s->in[i];
            all[n_all++] = &s->din[i];
        }
        all[n_all++] = &s->out;
        all[n_all++] = &s->dout;
        s->on_be = true;
        st = LLX_OK;
        for (int k = 0; k < n_all; k++) {
            if (st == LLX_OK) {
                st = run_move(s->be, all[k], err);
            } else { /* not moved: still host memory */
                free(all[k]->data);
                all[k]->data = NULL;
            }
        }
        if (st == LLX_OK) st = run_scratch(s->be, sb, &s->saved, err);
        if (st == LLX_OK) st = run_scratch(s->be, wb, &s->workspace, err);
        if (st != LLX_OK) {
            op_run_teardown(s);
            return st;
        }
    } else {
        s->saved = calloc(1, sb + 1);
        s->workspace = calloc(1, wb + 1);
    }
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

llx_status op_run_download(const op_run_state *s, const llx_tensor *t, int64_t n, double **out,
                           llx_error *err)
{
    *out = NULL;
    if (n < 0) n = llx_tensor_numel(t);
    if (!s->on_be) {
        llx_tensor part = *t;
        part.shape = llx_shape1(n);
        *out = run_load(&part);
        return LLX_OK;
    }
    size_t bytes = (size_t)n * llx_dtype_size(t->dtype);
    llx_tensor host = *t;
    host.shape = llx_shape1(n);
    host.data = malloc(bytes + 1);
    if (!host.data) return llx_errorf(err, LLX_ERR_NOMEM, "op_run: out of memory");
    llx_status st = s->be->sync(s->be, err);
    if (st == LLX_OK) st = s->be->to_host(s->be, host.data, t->data, bytes, err);
    if (st == LLX_OK) st = s->be->sync(s->be, err);
    if (st == LLX_OK) *out = run_load(&host);
    free(host.data);
    return st;
}

llx_status op_run_upload(const op_run_state *s, llx_tensor *t, const double *v, int64_t n,
                         llx_error *err)
{
    if (n < 0) n = llx_tensor_numel(t);
    llx_tensor host = run_tensor("upload", t->dtype, llx_shape1(n), v);
    if (!host.data) return llx_errorf(err, LLX_ERR_NOMEM, "op_run: out of memory");
    size_t bytes = (size_t)n * llx_dtype_size(t->dtype);
    llx_status st = LLX_OK;
    if (s->on_be) {
        st = s->be->to_device(s->be, t->data, host.data, bytes, err);
        if (st == LLX_OK) st = s->be->sync(s->be, err);
    } else if (bytes) {
        memcpy(t->data, host.data, bytes);
    }
    free(host.data);
    return st;
}

/* opts->fresh: every input gradient NaN and marked fresh for the backward call. */
static llx_status run_make_fresh(op_run_state *s, llx_error *err)
{
    const llx_op_desc *op = s->call.op;
    if (!op->kernels[s->be->device].fresh_din)
        return llx_errorf(err, LLX_ERR_INVALID, "op_run: '%s' on %s does not declare fresh_din", op->name,
                          s->be->name);
    for (int i = 0; i < s->call.n_in; i++) {
        if (!s->call.din[i]) continue;
        int64_t n = llx_tensor_numel(&s->din[i]);
        double *nan = malloc((size_t)(n ? n : 1) * sizeof *nan);
        if (!nan) return llx_errorf(err, LLX_ERR_NOMEM, "op_run: out of memory");
        for (int64_t k = 0; k < n; k++) nan[k] = NAN;
        llx_status st = op_run_upload(s, &s->din[i], nan, n, err);
        free(nan);
        LLX_TRY(st);
        s->call.din_fresh |= 1u << i;
    }
    return LLX_OK;
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
        if (!s.on_be) {
            r->out = run_load(&s.out);
            for (int i = 0; i < c->n_in; i++) r->in[i] = run_load(&s.in[i]);
        } else {
            st = op_run_download(&s, &s.out, -1, &r->out, err);
            for (int i = 0; i < c->n_in && st == LLX_OK; i++)
                st = op_run_download(&s, &s.in[i], -1, &r->in[i], err);
        }
        if (st == LLX_OK && opts && opts->fresh && !opts->forward_only) st = run_make_fresh(&s, err);
        if (st == LLX_OK && !(opts && opts->forward_only)) st = llx_op_backward(&s.call, err);
    }
    if (st == LLX_OK && !(opts && opts->forward_only))
        for (int i = 0; i < c->n_in && st == LLX_OK; i++) {
            if (!s.call.din[i]) continue;
            if (!s.on_be) r->din[i] = run_load(&s.din[i]);
            else st = op_run_download(&s, &s.din[i], -1, &r->din[i], err);
        }
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
