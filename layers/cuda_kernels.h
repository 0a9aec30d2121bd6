/* cuda_kernels.h: the CUDA kernels of the built-in ops, as the op descriptors see them.
 *
 * Plain C (no CUDA headers): the layers/<op>.c files include it through layers_impl.h and put
 * LLX_CUDA_KERNELS(op) into their descriptor, which fills the CUDA slot when this build has
 * the CUDA backend (LLX_HAVE_CUDA) and leaves it empty otherwise, so that running the op on a
 * CUDA backend is the error "no cuda kernel for op ..." (llx/op.h), never a CPU fallback.
 * The kernels live in layers/cuda/<op>.cu; they take F32 tensors on the device and run on
 * the backend's stream (layers/cuda/cuda_impl.h). */
#ifndef LLX_CUDA_KERNELS_H
#define LLX_CUDA_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

#include "llx/op.h"
#include "llx/ops.h"

/* Every built-in op with CUDA kernels: llx_cuda_<op>_forward / _backward. */
#define LLX_CUDA_OPS(X)                                                                       \
    X(conv2d)                                                                                 \
    X(batchnorm2d)                                                                            \
    X(relu)                                                                                   \
    X(sigmoid)                                                                                \
    X(add)                                                                                    \
    X(mul)                                                                                    \
    X(sigmoid_gate)                                                                           \
    X(concat)                                                                                 \
    X(maxpool2d)                                                                              \
    X(global_avgpool)                                                                         \
    X(global_maxpool)                                                                         \
    X(channel_mean)                                                                           \
    X(channel_max)                                                                            \
    X(conv1d_channels)                                                                        \
    X(linear)                                                                                 \
    X(softmax_ce)

#ifdef LLX_HAVE_CUDA
#define LLX_CUDA_DECLARE_OP(op)                                                               \
    llx_status llx_cuda_##op##_forward(const llx_op_call *c, llx_error *err);                \
    llx_status llx_cuda_##op##_backward(const llx_op_call *c, llx_error *err);
LLX_CUDA_OPS(LLX_CUDA_DECLARE_OP)
#undef LLX_CUDA_DECLARE_OP

#define LLX_CUDA_KERNELS(op)                                                                  \
    .kernels[LLX_DEVICE_CUDA] = {.forward = llx_cuda_##op##_forward,                          \
                                 .backward = llx_cuda_##op##_backward},
/* The same for kernels whose backward honours c->din_fresh (llx/op.h). */
#define LLX_CUDA_KERNELS_FRESH(op)                                                            \
    .kernels[LLX_DEVICE_CUDA] = {.forward = llx_cuda_##op##_forward,                          \
                                 .backward = llx_cuda_##op##_backward, .fresh_din = true},

/* The fused SGD update (layers/cuda/sgd.cu): every tensor of the list in one launch, for
 * lists that llx_sgd_update_all has checked. F32 only; velocity[i] unused when momentum is
 * 0; decay[i] false (decay NULL: always true): no weight decay for tensor i. */
llx_status llx_cuda_sgd_update_all(llx_backend *be, const llx_sgd_params *p, bool first_step,
                                   int n, llx_tensor *const *w, const llx_tensor *const *grad,
                                   llx_tensor *const *velocity, const bool *decay,
                                   llx_error *err);

/* llx_grad_unscale on CUDA (layers/cuda/grad_unscale.cu), for arguments it has checked: g (n
 * F32) *= inv_scale, *found = 1 where any g[i] is not finite; one launch, nothing waits. */
llx_status llx_cuda_grad_unscale(llx_backend *be, float *g, int64_t n, float inv_scale,
                                 float *found, llx_error *err);

/* llx_batch_stats_add on CUDA (layers/cuda/batch_stats.cu), for arguments it has checked:
 * F32 logits and loss, at most 64 classes; one launch, nothing waits. */
llx_status llx_cuda_batch_stats_add(llx_backend *be, const llx_tensor *logits,
                                    const llx_tensor *labels, const llx_tensor *loss, int crops,
                                    llx_tensor *acc, llx_error *err);
#else
#define LLX_CUDA_KERNELS(op)
#define LLX_CUDA_KERNELS_FRESH(op)
#endif

#ifdef __cplusplus
}
#endif

#endif
