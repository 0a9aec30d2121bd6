/* half_cast.h: F32 channels-first tensors to and from half-precision channels-last copies,
 * for conv2d's mixed precision (conv2d.cu, llx/precision.h). Private to the llx library;
 * C-callable.
 *
 * A tensor is seen as (n, c, p): activations (N, C, H*W), weights (O, C, KH*KW). The half
 * copy is (n, p, c): NHWC, or O,KH,KW,C (cuDNN's NHWC filter format, KRSC). The half type is
 * bf16 for LLX_PRECISION_BF16 and IEEE fp16 for LLX_PRECISION_F16, rounded to nearest, ties
 * to even (__float2bfloat16_rn / __float2half_rn). Both run on the backend's stream, one
 * launch each (none when the tensor is empty), and wait for nothing. Element counts may pass
 * 2^31 (64-bit indexing); any n, c, p >= 0. */
#ifndef LLX_CUDA_HALF_CAST_H
#define LLX_CUDA_HALF_CAST_H

#include <stdbool.h>
#include <stdint.h>

#include "cuda_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of one element of precision p: 2 for BF16 and F16, 4 for F32. */
static inline size_t llx_precision_bytes(llx_precision p) { return p == LLX_PRECISION_F32 ? 4u : 2u; }

/* dst (n, p, c) half = src (n, c, p) F32 rounded to prec (BF16 or F16). */
llx_status llx_cuda_to_half_nhwc(llx_backend *be, llx_precision prec, const float *src, void *dst,
                                 int64_t n, int64_t c, int64_t p, llx_error *err);

/* dst (n, c, p) F32 = src (n, p, c) half of prec widened (exactly), or dst += it when
 * accumulate. */
llx_status llx_cuda_from_half_nhwc(llx_backend *be, llx_precision prec, const void *src, float *dst,
                                   int64_t n, int64_t c, int64_t p, bool accumulate, llx_error *err);

#ifdef __cplusplus
}
#endif

#endif
