/* grad_unscale.cu: loss scaling's unscale step on CUDA (llx_cuda_grad_unscale, llx/ops.h):
 *
 *   *found = 1 when any g[i] is NaN or infinite;   g[i] *= inv_scale
 *
 * One grid-stride launch over the n gradients, four at a time (float4) when g is 16-byte
 * aligned, the last n % 4 one by one. Each value is tested before the product, as the CPU's
 * loop (layers/grad_unscale.c) does, so both set the flag for the same gradients whatever
 * inv_scale is. Every thread that sees a non-finite value writes 1.0f to *found: concurrent
 * stores of the same value, no atomics needed; no thread writes 0 (the caller zeroes
 * *found). Nothing waits. */
#include "kernel_util.cuh"

namespace {

__device__ inline bool scale_one(float &v, float s)
{
    const bool bad = !isfinite(v);
    v *= s;
    return bad;
}

__global__ void grad_unscale_kernel(float *__restrict__ g, int64_t n, float s, float *__restrict__ found, bool vec)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    const int64_t first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    bool bad = false;
    int64_t tail = 0; /* where the scalar loop starts */
    if (vec) {
        float4 *g4 = reinterpret_cast<float4 *>(g);
        const int64_t n4 = n / 4;
        for (int64_t q = first; q < n4; q += step) {
            float4 v = g4[q];
            bad |= scale_one(v.x, s);
            bad |= scale_one(v.y, s);
            bad |= scale_one(v.z, s);
            bad |= scale_one(v.w, s);
            g4[q] = v;
        }
        tail = n4 * 4;
    }
    for (int64_t i = tail + first; i < n; i += step) bad |= scale_one(g[i], s);
    if (bad) *found = 1.0f;
}

} // namespace

extern "C" llx_status llx_cuda_grad_unscale(llx_backend *be, float *g, int64_t n, float inv_scale, float *found,
                                            llx_error *err)
{
    if (n <= 0) return LLX_OK;
    const bool vec = llx_aligned16(g);
    const unsigned grid = llx_cuda_grid(be, vec ? (n + 3) / 4 : n);
    grad_unscale_kernel<<<grid, LLX_CUDA_THREADS, 0, llx_cuda_stream(be)>>>(g, n, inv_scale, found, vec);
    return llx_cuda_launched("grad_unscale", err);
}
