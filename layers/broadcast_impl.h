/* broadcast_impl.h: the shared body of add.c, mul.c and sigmoid_gate.c (private; each
 * includes it once and uses what it needs, hence static inline throughout).
 *
 * y = a + b or y = a * b, b broadcast onto a: b has a's ndim and each of its dims is 1 or
 * equal to a's; y has a's shape. Gradients accumulate (din += ...):
 *   da += dy            (add)      da += dy * b            (mul)
 *   db += sum dy        (add)      db += sum dy * a        (mul)
 * where the sums run over the dims in which b is 1.
 *
 * The kernels work on the canonical 5-level form (s0, .., s4) of llx_bcast_canon
 * (broadcast.h): a is (s0, s1, s2, s3, s4), b is (s1, s3). The innermost run is then s4
 * elements against one b (s4 > 1) or s3 elements against s3 contiguous b (s4 == 1): both
 * vectorise, so the channel, spatial, per-channel and equal-shape patterns are all fast.
 * OpenMP is deterministic: each thread owns its output elements, and db sums each element
 * in a fixed order whatever the thread count. */
#ifndef LLX_TYPED_PASS
#ifndef LLX_BROADCAST_IMPL_H
#define LLX_BROADCAST_IMPL_H
#include <omp.h>
#include <stdbool.h>

#include "broadcast.h"
#include "layers_impl.h"

enum bcast_how {
    BC_SET_ADD, /* y = x + b */
    BC_SET_MUL, /* y = x * b */
    BC_ACC_MUL, /* y += x * b */
};

#define BC_CHUNK 256 /* columns per task of the column-wise db reduction */

#define LLX_TYPED_FILE "broadcast_impl.h"
#include "typed_impl.h"

static inline llx_status bcast_infer(const char *op, const llx_shape *in, llx_shape *out,
                                     llx_error *err)
{
    LLX_TRY(llx_bcast_check(op, &in[0], &in[1], err));
    *out = in[0];
    return LLX_OK;
}

/* in[0] a (any, ndim <= 4), in[1] b (a's ndim, each dim 1 or a's) -> out like a. */
static inline llx_status bcast_forward(const llx_op_call *c, bool mul, llx_error *err)
{
    const llx_tensor *a = c->in[0], *b = c->in[1];
    LLX_TRY(llx_bcast_check(c->op->name, &a->shape, &b->shape, err));
    llx_bcast_dims d = llx_bcast_canon(&a->shape, &b->shape);
    LLX_DISPATCH(c->out->dtype, bcast_map, &d, a->data, b->data, c->out->data,
                 mul ? BC_SET_MUL : BC_SET_ADD);
    return LLX_OK;
}

static inline llx_status bcast_backward(const llx_op_call *c, bool mul, llx_error *err)
{
    const llx_tensor *a = c->in[0], *b = c->in[1];
    LLX_TRY(llx_bcast_check(c->op->name, &a->shape, &b->shape, err));
    llx_bcast_dims d = llx_bcast_canon(&a->shape, &b->shape);
    llx_dtype dt = c->out->dtype;
    if (c->din[0] && mul)
        LLX_DISPATCH(dt, bcast_map, &d, c->dout->data, b->data, c->din[0]->data, BC_ACC_MUL);
    else if (c->din[0])
        LLX_DISPATCH(dt, bcast_acc, c->dout->data, c->din[0]->data, llx_tensor_numel(a));
    if (c->din[1])
        LLX_DISPATCH(dt, bcast_reduce, &d, c->dout->data, mul ? a->data : NULL,
                     c->din[1]->data);
    return LLX_OK;
}

#endif /* LLX_BROADCAST_IMPL_H */
#else

/* One run of len elements: y (len) = / += x (len) op b, b one value (b_scalar) or len values. */
static inline void T_(bcast_run)(real *y, const real *x, const real *b, bool b_scalar,
                                 int64_t len, enum bcast_how how)
{
    if (b_scalar) {
        const real v = b[0];
        switch (how) {
        case BC_SET_ADD: for (int64_t i = 0; i < len; i++) y[i] = x[i] + v; break;
        case BC_SET_MUL: for (int64_t i = 0; i < len; i++) y[i] = x[i] * v; break;
        case BC_ACC_MUL: for (int64_t i = 0; i < len; i++) y[i] += x[i] * v; break;
        }
    } else {
        switch (how) {
        case BC_SET_ADD: for (int64_t i = 0; i < len; i++) y[i] = x[i] + b[i]; break;
        case BC_SET_MUL: for (int64_t i = 0; i < len; i++) y[i] = x[i] * b[i]; break;
        case BC_ACC_MUL: for (int64_t i = 0; i < len; i++) y[i] += x[i] * b[i]; break;
        }
    }
}

/* x, y: (s0, s1, s2, s3, s4) like a; b: (s1, s3). y = x op b (or y += x * b). Each thread
 * takes an equal slice of y and walks it run by run. */
static inline void T_(bcast_map)(const llx_bcast_dims *d, const real *x, const real *b,
                                 real *y, enum bcast_how how)
{
    const int64_t *s = d->s;
    const int64_t n = s[0] * s[1] * s[2] * s[3] * s[4];
    const bool inner_b = s[4] > 1; /* runs of s4 against one b; else s3 against s3 b */
    const int64_t run = inner_b ? s[4] : s[3];
#pragma omp parallel
    {
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        const int64_t hi = n * (t + 1) / nt;
        for (int64_t p = n * t / nt; p < hi;) {
            const int64_t row = p / run, off = p % run;
            const int64_t len = run - off < hi - p ? run - off : hi - p;
            const int64_t at_b = inner_b ? ((row / (s[2] * s[3])) % s[1]) * s[3] + row % s[3]
                                         : ((row / s[2]) % s[1]) * s[3] + off;
            T_(bcast_run)(y + p, x + p, b + at_b, inner_b, len, how);
            p += len;
        }
    }
}

/* dx (n) += dy (n). */
static inline void T_(bcast_acc)(const real *dy, real *dx, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
}

/* Sum of x (n) * w (n), or of x alone when w is NULL; eight partial sums in a fixed order. */
static inline real T_(bcast_dot)(const real *x, const real *w, int64_t n)
{
    real part[8] = {0};
    int64_t i = 0;
    if (w)
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) part[k] += x[i + k] * w[i + k];
    else
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) part[k] += x[i + k];
    real sum = ((part[0] + part[1]) + (part[2] + part[3])) +
               ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++) sum += w ? x[i] * w[i] : x[i];
    return sum;
}

/* x, w: (s0, s1, s2, s3, s4) like a (w NULL: 1); db: (s1, s3) += sum over i0, i2, i4 of x * w. */
static inline void T_(bcast_reduce)(const llx_bcast_dims *d, const real *x, const real *w,
                                    real *db)
{
    const int64_t *s = d->s;
    if (s[4] > 1) { /* each b element sums rows of s4: one task per b element */
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < s[1] * s[3]; j++) {
            const int64_t i1 = j / s[3], i3 = j % s[3];
            real acc = 0;
            for (int64_t i0 = 0; i0 < s[0]; i0++)
                for (int64_t i2 = 0; i2 < s[2]; i2++) {
                    const int64_t at = (((i0 * s[1] + i1) * s[2] + i2) * s[3] + i3) * s[4];
                    acc += T_(bcast_dot)(x + at, w ? w + at : NULL, s[4]);
                }
            db[j] += acc;
        }
        return;
    }
    /* s4 == 1: b is contiguous along i3; a task sums BC_CHUNK columns over (i0, i2). */
    const int64_t nchunk = (s[3] + BC_CHUNK - 1) / BC_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < s[1] * nchunk; task++) {
        const int64_t i1 = task / nchunk, c0 = (task % nchunk) * BC_CHUNK;
        const int64_t len = s[3] - c0 < BC_CHUNK ? s[3] - c0 : BC_CHUNK;
        real acc[BC_CHUNK] = {0};
        for (int64_t i0 = 0; i0 < s[0]; i0++)
            for (int64_t i2 = 0; i2 < s[2]; i2++) {
                const int64_t at = ((i0 * s[1] + i1) * s[2] + i2) * s[3] + c0;
                if (w)
                    for (int64_t k = 0; k < len; k++) acc[k] += x[at + k] * w[at + k];
                else
                    for (int64_t k = 0; k < len; k++) acc[k] += x[at + k];
            }
        real *out = db + i1 * s[3] + c0;
        for (int64_t k = 0; k < len; k++) out[k] += acc[k];
    }
}

#endif
