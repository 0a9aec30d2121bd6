/* llx/precision.h: mixed precision, the arithmetic precision of convolutions.
 *
 * With llx_backend.conv_precision BF16 or F16, every conv2d rounds its operands (x and w
 * forward; dy with w or x backward) to that type, multiplies them exactly, accumulates in
 * F32 and rounds its result (y, dx, dw) to the type too; tensors between ops stay F32
 * (llx/tensor.h), and so do the bias, its gradient, every other op and the optimiser
 * (F32 master weights). The CUDA backend runs such a convolution on cuDNN's half-precision
 * tensor cores over channels-last (NHWC) half copies of its operands; the CPU backend
 * computes the same rounded operands and results in F32 (the reference the GPU is tested
 * against). Rounding is to nearest, ties to even, as __float2bfloat16_rn and
 * __float2half_rn: F16 overflows to infinity past 65504 and keeps subnormals down to 2^-24,
 * so small gradients need loss scaling (llx/loss_scale.h); BF16 has F32's range. */
#ifndef LLX_PRECISION_H
#define LLX_PRECISION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum llx_precision {
    LLX_PRECISION_F32 = 0, /* full F32 (TF32 on the GPU when llx_backend.tf32) */
    LLX_PRECISION_BF16,    /* bfloat16: 8 exponent bits, 8 significant bits */
    LLX_PRECISION_F16,     /* IEEE half: 5 exponent bits, 11 significant bits */
    LLX_PRECISION_COUNT
} llx_precision;

/* "fp32", "bf16", "fp16" (the names experiments use). */
const char *llx_precision_name(llx_precision p);
/* The precision of a name; -1 when it is none of them. */
int llx_precision_from_name(const char *name);

/* x rounded to the nearest bf16 / f16 value (ties to even), as a float; NaN stays NaN,
 * and values past the type's range become infinities. */
float llx_round_bf16(float x);
float llx_round_f16(float x);
/* dst[i] = x[i] rounded to p (F32: copied); dst may be src. */
void llx_round_to(llx_precision p, const float *src, float *dst, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
