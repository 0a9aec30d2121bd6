/* kernel_util.cuh: small device helpers shared by the element-wise, broadcast, pooling and
 * loss kernels (elementwise.cu, broadcast.cu, concat.cu, pool.cu, conv1d_channels.cu,
 * softmax_ce.cu, sgd.cu). Private to layers/cuda; included by .cu files only.
 *
 *   llx_aligned16        a pointer fit for float4 loads and stores
 *   llx_fdiv32/llx_div64 integer division by a run-time divisor: a multiply-and-shift for
 *                        32-bit indices (every index < 2^31), plain division for 64-bit ones.
 *                        Kernels are templated on <index type, divider> and the host picks
 *                        the 32-bit pair when the largest index fits (llx_fits32).
 *   llx_sigmoidf         the logistic function without overflow, as the CPU's sigmoid_impl.h
 *   llx_warp_sum/...     deterministic shuffle reductions (fixed tree, no atomics) */
#ifndef LLX_CUDA_KERNEL_UTIL_CUH
#define LLX_CUDA_KERNEL_UTIL_CUH

#include <stdint.h>

#include "cuda_impl.h"

#define LLX_FULL_MASK 0xffffffffu

static inline bool llx_aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

/* True when every index below n fits the 32-bit kernels (n <= 2^31 - 1). */
static inline bool llx_fits32(int64_t n) { return n >= 0 && n <= (int64_t)INT32_MAX; }

/* Division of n < 2^31 by d in [1, 2^31) as (umulhi(n, m) + n) >> s with
 * s = ceil(log2 d) and m = floor(2^32 * (2^s - d) / d) + 1 (Granlund-Montgomery). */
typedef struct llx_fdiv32 {
    uint32_t d, m, s;
} llx_fdiv32;

typedef struct llx_div64 {
    int64_t d;
} llx_div64;

/* d in [1, 2^31): the caller keeps 32-bit dividers for shapes that pass llx_fits32. */
static inline llx_fdiv32 llx_div_make32(int64_t d)
{
    llx_fdiv32 r;
    uint32_t s = 0;
    while (s < 31 && ((uint64_t)1 << s) < (uint64_t)d) s++;
    r.d = (uint32_t)d;
    r.s = s;
    r.m = (uint32_t)((((uint64_t)1 << 32) * (((uint64_t)1 << s) - (uint64_t)d)) / (uint64_t)d + 1);
    return r;
}

static inline llx_div64 llx_div_make64(int64_t d)
{
    llx_div64 r;
    r.d = d;
    return r;
}

/* Overloads so that templated host code makes the divider its kernel wants. */
static inline void llx_div_make(llx_fdiv32 *out, int64_t d) { *out = llx_div_make32(d); }
static inline void llx_div_make(llx_div64 *out, int64_t d) { *out = llx_div_make64(d); }

static __host__ __device__ inline uint32_t llx_div(const llx_fdiv32 &v, uint32_t n)
{
#ifdef __CUDA_ARCH__
    const uint32_t t = __umulhi(n, v.m);
#else
    const uint32_t t = (uint32_t)(((uint64_t)n * v.m) >> 32);
#endif
    return (t + n) >> v.s;
}

static __host__ __device__ inline int64_t llx_div(const llx_div64 &v, int64_t n)
{
    return n / v.d;
}

/* 1 / (1 + exp(-x)); expf only ever sees -|x|, so it never overflows (sigmoid_impl.h). */
static __device__ inline float llx_sigmoidf(float x)
{
    const float e = expf(-fabsf(x)); /* in (0, 1] */
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

/* Sum over the warp; lane 0 holds the result (the other lanes partial sums). */
static __device__ inline float llx_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(LLX_FULL_MASK, v, o);
    return v;
}

static __device__ inline double llx_warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(LLX_FULL_MASK, v, o);
    return v;
}

/* Lanes per row for sub-warp reductions of rows of `units` loads each: a power of two in
 * [1, 32] giving each lane about 4 loads, so short rows (7x7, 4x4, 1x1 maps) keep the whole
 * warp busy on several rows at once. */
static inline int llx_group_lanes(int64_t units)
{
    const int64_t per_lane = (units + 3) / 4;
    int g = 1;
    while (g < 32 && g < per_lane) g <<= 1;
    return g;
}

/* Sum over aligned groups of G lanes (G a power of two <= 32; every lane of the warp calls
 * it); the first lane of each group holds its group's sum. */
static __device__ inline float llx_group_sum(float v, int G)
{
    for (int o = G >> 1; o > 0; o >>= 1) v += __shfl_down_sync(LLX_FULL_MASK, v, o);
    return v;
}

/* Sum over a block of blockDim.x threads (a multiple of 32, at most 1024), all of which must
 * call it; thread 0 holds the result. smem: 32 floats. Ends with a barrier, so smem may be
 * reused at once. */
static __device__ inline float llx_block_sum(float v, float *smem)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = (int)(blockDim.x >> 5);
    v = llx_warp_sum(v);
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? smem[lane] : 0.0f;
        v = llx_warp_sum(v);
    }
    __syncthreads();
    return v;
}

static __device__ inline double llx_block_sum_d(double v, double *smem)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = (int)(blockDim.x >> 5);
    v = llx_warp_sum_d(v);
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? smem[lane] : 0.0;
        v = llx_warp_sum_d(v);
    }
    __syncthreads();
    return v;
}

#endif
