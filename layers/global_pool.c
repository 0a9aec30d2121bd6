/* global_pool.c: x (N, C, H, W) -> y (N, C, 1, 1), one value per channel map:
 *   global_avgpool: y = mean over H, W;  dx += dy / (H*W) on every cell.
 *   global_maxpool: y = max over H, W;   dx += dy on the first cell holding the max (saved
 *                   argmax, one int32 per (n, c)); the other cells get nothing.
 * Gradients accumulate into dx. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "global_pool.c"
#include "typed_impl.h"

static llx_status gpool_infer(const char *op, const llx_shape *in, llx_shape *out,
                              llx_error *err)
{
    LLX_TRY(llx_require_4d(&in[0], op, "input", err));
    if (llx_shape_numel(&in[0]) == 0) {
        char buf[64];
        return llx_errorf(err, LLX_ERR_SHAPE, "%s: input %s is empty", op,
                          llx_shape_str(&in[0], buf, sizeof buf));
    }
    *out = llx_shape4(in[0].dim[0], in[0].dim[1], 1, 1);
    return LLX_OK;
}

static llx_status gavg_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                             llx_error *err)
{
    return gpool_infer("global_avgpool", in, out, err);
}

static llx_status gmax_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                             llx_error *err)
{
    return gpool_infer("global_maxpool", in, out, err);
}

/* The argmax: one int32 per (n, c). */
static size_t gmax_saved_bytes(const void *attr, const llx_shape *in, int n_in,
                               const llx_shape *out, llx_dtype dt)
{
    return (size_t)(in[0].dim[0] * in[0].dim[1]) * sizeof(int32_t);
}

/* Rows (N*C) and row length (H*W) of the call's input, read at run time. */
static void gpool_rows(const llx_op_call *c, int64_t *rows, int64_t *hw)
{
    const int64_t *d = c->in[0]->shape.dim;
    *rows = d[0] * d[1];
    *hw = d[2] * d[3];
}

static llx_status gavg_forward(const llx_op_call *c, llx_error *err)
{
    int64_t rows, hw;
    gpool_rows(c, &rows, &hw);
    LLX_DISPATCH(c->out->dtype, gavg_fwd, c->in[0]->data, c->out->data, rows, hw);
    return LLX_OK;
}

static llx_status gavg_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    int64_t rows, hw;
    gpool_rows(c, &rows, &hw);
    LLX_DISPATCH(c->out->dtype, gavg_bwd, c->dout->data, c->din[0]->data, rows, hw);
    return LLX_OK;
}

static llx_status gmax_forward(const llx_op_call *c, llx_error *err)
{
    int64_t rows, hw;
    gpool_rows(c, &rows, &hw);
    LLX_DISPATCH(c->out->dtype, gmax_fwd, c->in[0]->data, c->out->data, c->saved, rows, hw);
    return LLX_OK;
}

static llx_status gmax_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    int64_t rows, hw;
    gpool_rows(c, &rows, &hw);
    LLX_DISPATCH(c->out->dtype, gmax_bwd, c->dout->data, c->saved, c->din[0]->data, rows, hw);
    return LLX_OK;
}

const llx_op_desc llx_op_global_avgpool = {
    .name = "global_avgpool",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = gavg_infer,
    .kernels[LLX_DEVICE_CPU] = {.forward = gavg_forward, .backward = gavg_backward},
    LLX_CUDA_KERNELS(global_avgpool)
};

const llx_op_desc llx_op_global_maxpool = {
    .name = "global_maxpool",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = gmax_infer,
    .saved_bytes = gmax_saved_bytes,
    .kernels[LLX_DEVICE_CPU] = {.forward = gmax_forward, .backward = gmax_backward},
    LLX_CUDA_KERNELS(global_maxpool)
};

#else

/* x: (rows, hw) -> y: (rows) mean of each row. */
static void T_(gavg_fwd)(const real *x, real *y, int64_t rows, int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const real *p = x + r * hw;
        real s = 0;
        for (int64_t k = 0; k < hw; k++) s += p[k];
        y[r] = s / (real)hw;
    }
}

/* dy: (rows) -> dx: (rows, hw) += dy / hw. */
static void T_(gavg_bwd)(const real *dy, real *dx, int64_t rows, int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const real g = dy[r] / (real)hw;
        for (int64_t k = 0; k < hw; k++) dx[r * hw + k] += g;
    }
}

/* x: (rows, hw) -> y: (rows) max of each row, arg: (rows) its first index. */
static void T_(gmax_fwd)(const real *x, real *y, int32_t *arg, int64_t rows, int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const real *p = x + r * hw;
        int64_t best = 0;
        for (int64_t k = 1; k < hw; k++)
            if (p[k] > p[best]) best = k;
        y[r] = p[best];
        arg[r] = (int32_t)best;
    }
}

/* dy: (rows), arg: (rows) -> dx: (rows, hw) += dy at the argmax of each row. */
static void T_(gmax_bwd)(const real *dy, const int32_t *arg, real *dx, int64_t rows, int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) dx[r * hw + arg[r]] += dy[r];
}

#endif
