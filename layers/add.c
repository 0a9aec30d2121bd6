/* add.c: y = a + b, b broadcast onto a (b has a's ndim, each dim 1 or equal to a's).
 * Gradients accumulate: da += dy; db += dy summed over the dims where b is 1.
 * The kernels live in broadcast_impl.h, shared with mul.c. */
#include "broadcast_impl.h"

static llx_status add_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                            llx_error *err)
{
    return bcast_infer("add", in, out, err);
}

static llx_status add_forward(const llx_op_call *c, llx_error *err)
{
    return bcast_forward(c, false, err);
}

static llx_status add_backward(const llx_op_call *c, llx_error *err)
{
    return bcast_backward(c, false, err);
}

const llx_op_desc llx_op_add = {
    .name = "add",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = add_infer,
    .kernels[LLX_DEVICE_CPU] = {.forward = add_forward, .backward = add_backward},
    LLX_CUDA_KERNELS_FRESH(add)
};
