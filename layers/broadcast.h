/* broadcast.h: the shape rules of the broadcasting binary ops (add, mul, sigmoid_gate),
 * shared by their CPU kernels (broadcast_impl.h) and CUDA kernels (layers/cuda).
 *
 * b broadcasts onto a when b has a's ndim and each of its dims is 1 or equal to a's; the
 * output has a's shape. Every such pair is brought to one canonical 5-level form. Dims where
 * a is 1 are dropped; neighbouring dims where b is kept (K: b's dim equals a's) or
 * broadcast (B: b's dim is 1) are merged; the groups are right-aligned into the pattern
 * B0 K1 B2 K3 B4, unused groups being 1:
 *   equal shapes              -> (1, 1, 1, N*C*H*W, 1)
 *   channel gate (N, C, 1, 1) -> (1, 1, 1, N*C, H*W)
 *   spatial gate (N, 1, H, W) -> (1, N, C, H*W, 1)
 *   per-channel  (1, C, 1, 1) -> (1, 1, N, C, H*W)
 * a's element (i0, .., i4) lies at (((i0*s1 + i1)*s2 + i2)*s3 + i3)*s4 + i4 and b's at
 * i1*s3 + i3. */
#ifndef LLX_BROADCAST_H
#define LLX_BROADCAST_H

#ifdef __cplusplus
extern "C" {
#endif

#include "llx/status.h"
#include "llx/tensor.h"

typedef struct llx_bcast_dims {
    int64_t s[5]; /* group sizes B0 K1 B2 K3 B4 */
} llx_bcast_dims;

/* LLX_ERR_SHAPE, naming op and both shapes, unless b broadcasts onto a. */
llx_status llx_bcast_check(const char *op, const llx_shape *a, const llx_shape *b,
                           llx_error *err);
/* The canonical form of a pair that passed llx_bcast_check. */
llx_bcast_dims llx_bcast_canon(const llx_shape *a, const llx_shape *b);

#ifdef __cplusplus
}
#endif

#endif
