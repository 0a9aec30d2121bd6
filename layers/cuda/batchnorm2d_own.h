/* batchnorm2d_own.h: llx's own batch-normalisation kernels (batchnorm2d_own.cu), which
 * batchnorm2d.cu calls instead of cuDNN's with LLX_CUDA_BN=llx, after its own checks: x is
 * (n, ch, hw) with n * ch * hw < 2^31, eps valid, training only with n * hw >= 2. The forward
 * serves training and eval; the backward serves training (fresh gamma / beta gradients
 * already zeroed by the caller: it adds to them). */
#ifndef LLX_CUDA_BATCHNORM2D_OWN_H
#define LLX_CUDA_BATCHNORM2D_OWN_H

#include "cuda_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

llx_status llx_cuda_batchnorm2d_own_forward(const llx_op_call *c, int64_t n, int64_t ch,
                                            int64_t hw, llx_error *err);
llx_status llx_cuda_batchnorm2d_own_backward(const llx_op_call *c, int64_t n, int64_t ch,
                                             int64_t hw, llx_error *err);

#ifdef __cplusplus
}
#endif

#endif
