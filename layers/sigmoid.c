/* sigmoid.c: y = 1 / (1 + exp(-x)), computed without overflow for any x;
 * dx += dy * y * (1 - y) (from the saved output y). Shapes: any, y like x. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "sigmoid.c"
#include "typed_impl.h"

static llx_status sigmoid_forward(const llx_op_call *c, llx_error *err)
{
    LLX_DISPATCH(c->out->dtype, sigmoid_fwd, c->in[0]->data, c->out->data,
                 llx_tensor_numel(c->out));
    return LLX_OK;
}

static llx_status sigmoid_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    LLX_DISPATCH(c->out->dtype, sigmoid_bwd, c->out->data, c->dout->data, c->din[0]->data,
                 llx_tensor_numel(c->out));
    return LLX_OK;
}

const llx_op_desc llx_op_sigmoid = {
    .name = "sigmoid",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = llx_infer_same,
    .kernels[LLX_DEVICE_CPU] = {.forward = sigmoid_forward, .backward = sigmoid_backward},
    LLX_CUDA_KERNELS_FRESH(sigmoid)
};

#else

#include "sigmoid_impl.h" /* sigmoid_fwd: x (n) -> y (n) */

/* y (n): the forward output; dy (n) -> dx (n) += dy * y * (1 - y). */
static void T_(sigmoid_bwd)(const real *y, const real *dy, real *dx, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
}

#endif
