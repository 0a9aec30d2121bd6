/* relu.c: y = max(x, 0); dx += dy * (x > 0) (dx = ... when fresh). Shapes: any, y like x. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "relu.c"
#include "typed_impl.h"

static llx_status relu_forward(const llx_op_call *c, llx_error *err)
{
    int64_t n = llx_tensor_numel(c->out);
    LLX_DISPATCH(c->out->dtype, relu_fwd, c->in[0]->data, c->out->data, n);
    return LLX_OK;
}

static llx_status relu_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    int64_t n = llx_tensor_numel(c->out);
    LLX_DISPATCH(c->out->dtype, relu_bwd, c->in[0]->data, c->dout->data, c->din[0]->data, n, c->din_fresh & 1u);
    return LLX_OK;
}

const llx_op_desc llx_op_relu = {
    .name = "relu",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = llx_infer_same,
    .kernels[LLX_DEVICE_CPU] = {.forward = relu_forward, .backward = relu_backward, .fresh_din = true},
    LLX_CUDA_KERNELS_FRESH(relu)
};

#else

static void T_(relu_fwd)(const real *x, real *y, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* fresh: dx holds stale bytes and is written, not added to. */
static void T_(relu_bwd)(const real *x, const real *dy, real *dx, int64_t n, bool fresh)
{
    if (fresh) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0; /* branch-free: vectorises */
}

#endif
