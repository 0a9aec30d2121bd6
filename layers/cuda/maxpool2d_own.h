/* maxpool2d_own.h: llx's own max-pooling kernels (maxpool2d_own.cu), which maxpool2d.cu
 * calls unless LLX_CUDA_MAXPOOL=cudnn. Same contract as the op's kernels. */
#ifndef LLX_CUDA_MAXPOOL2D_OWN_H
#define LLX_CUDA_MAXPOOL2D_OWN_H

#include "cuda_impl.h"

llx_status llx_cuda_maxpool2d_own_forward(const llx_op_call *c, llx_error *err);
llx_status llx_cuda_maxpool2d_own_backward(const llx_op_call *c, llx_error *err);

#endif
