/* linear.c: fully connected layer, y = x * w^T + b.
 *
 *   x (N, F) or (N, C, H, W) read as (N, F = C*H*W), w (O, F), b (O) optional -> y (N, O)
 *
 * Gradients (accumulated, +=): dx += dy * w, dw += dy^T * x, db += sum_n dy.
 * All products are single GEMMs (OpenBLAS threads inside them). */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "linear.c"
#include "typed_impl.h"

static llx_status linear_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                               llx_error *err)
{
    char xs[64], ws[64], bs[64];
    llx_shape_str(&in[0], xs, sizeof xs);
    llx_shape_str(&in[1], ws, sizeof ws);
    if (in[0].ndim != 2 && in[0].ndim != 4)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "linear: input must be (N, F) or (N, C, H, W), got %s", xs);
    if (in[1].ndim != 2)
        return llx_errorf(err, LLX_ERR_SHAPE, "linear: weight must be (O, F), got %s", ws);
    int64_t f = llx_shape_numel(&in[0]) / (in[0].dim[0] ? in[0].dim[0] : 1);
    if (f != in[1].dim[1])
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "linear: input %s has %lld features but weight %s expects %lld", xs,
                          (long long)f, ws, (long long)in[1].dim[1]);
    if (n_in > 2 && (in[2].ndim != 1 || in[2].dim[0] != in[1].dim[0]))
        return llx_errorf(err, LLX_ERR_SHAPE, "linear: bias %s does not fit weight %s: want (%lld)",
                          llx_shape_str(&in[2], bs, sizeof bs), ws, (long long)in[1].dim[0]);
    *out = llx_shape2(in[0].dim[0], in[1].dim[0]);
    return LLX_OK;
}

static int64_t linear_macs(const void *attr, const llx_shape *in, int n_in, const llx_shape *out)
{
    return llx_shape_numel(out) * in[1].dim[1];
}

static llx_status linear_forward(const llx_op_call *c, llx_error *err)
{
    int64_t n = c->out->shape.dim[0], o = c->out->shape.dim[1], f = c->in[1]->shape.dim[1];
    const void *b = c->n_in > 2 ? c->in[2]->data : NULL;
    LLX_DISPATCH(c->out->dtype, linear_fwd, n, f, o, c->in[0]->data, c->in[1]->data, b,
                 c->out->data);
    return LLX_OK;
}

static llx_status linear_backward(const llx_op_call *c, llx_error *err)
{
    int64_t n = c->out->shape.dim[0], o = c->out->shape.dim[1], f = c->in[1]->shape.dim[1];
    void *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    void *db = c->n_in > 2 && c->din[2] ? c->din[2]->data : NULL;
    LLX_DISPATCH(c->out->dtype, linear_bwd, n, f, o, c->in[0]->data, c->in[1]->data,
                 c->dout->data, dx, dw, db);
    return LLX_OK;
}

const llx_op_desc llx_op_linear = {
    .name = "linear",
    .min_inputs = 2,
    .max_inputs = 3,
    .infer = linear_infer,
    .macs = linear_macs,
    .kernels[LLX_DEVICE_CPU] = {.forward = linear_forward, .backward = linear_backward},
    LLX_CUDA_KERNELS(linear)
};

#else

/* x (N, F), w (O, F), b (O) or NULL -> y (N, O) */
static void T_(linear_fwd)(int64_t n, int64_t f, int64_t o, const real *x, const real *w,
                           const real *b, real *y)
{
    if (b)
        for (int64_t i = 0; i < n; i++) memcpy(y + i * o, b, (size_t)o * sizeof(real));
    LLX_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)o, (int)f, 1, x, (int)f, w,
             (int)f, b ? 1 : 0, y, (int)o);
}

/* x (N, F), w (O, F), dy (N, O); accumulates into dx (N, F), dw (O, F), db (O); each may be
 * NULL. */
static void T_(linear_bwd)(int64_t n, int64_t f, int64_t o, const real *x, const real *w,
                           const real *dy, real *dx, real *dw, real *db)
{
    if (dx)
        LLX_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)f, (int)o, 1, dy, (int)o,
                 w, (int)f, 1, dx, (int)f);
    if (dw)
        LLX_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)o, (int)f, (int)n, 1, dy, (int)o, x,
                 (int)f, 1, dw, (int)f);
    if (db)
        for (int64_t j = 0; j < o; j++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += dy[i * o + j];
            db[j] += (real)s;
        }
}

#endif
