/* mul.c: y = a * b, b broadcast onto a (b has a's ndim, each dim 1 or equal to a's): channel
 * gates (N, C, 1, 1), spatial gates (N, 1, H, W), per-channel scales (1, C, 1, 1), full maps.
 * Gradients accumulate: da += dy * b; db += dy * a summed over the dims where b is 1.
 * The kernels live in broadcast_impl.h, shared with add.c. */
#include "broadcast_impl.h"

static llx_status mul_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                            llx_error *err)
{
    return bcast_infer("mul", in, out, err);
}

/* One multiply per output element. */
static int64_t mul_macs(const void *attr, const llx_shape *in, int n_in, const llx_shape *out)
{
    return llx_shape_numel(out);
}

static llx_status mul_forward(const llx_op_call *c, llx_error *err)
{
    return bcast_forward(c, true, err);
}

static llx_status mul_backward(const llx_op_call *c, llx_error *err)
{
    return bcast_backward(c, true, err);
}

const llx_op_desc llx_op_mul = {
    .name = "mul",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = mul_infer,
    .macs = mul_macs,
    .kernels[LLX_DEVICE_CPU] = {.forward = mul_forward, .backward = mul_backward},
    LLX_CUDA_KERNELS(mul)
};
