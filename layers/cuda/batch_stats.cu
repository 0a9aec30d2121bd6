/* batch_stats.cu: llx_batch_stats_add on CUDA (F32 logits and loss), as layers/batch_stats.c:
 * each sample's prediction is the first largest entry of the sum of its `crops` logit rows
 * (summed in double, in row order; a NaN sum never wins), counted in acc[label * K +
 * prediction]; then acc[K*K + LOSS_SUM] += loss * samples, acc[K*K + BATCHES] += 1, and
 * FIRST_BAD takes the batch count when the loss is not finite and it is still 0.
 *
 * One block: the counts go to integer atomics in shared memory (order-free, so exact and
 * deterministic), then thread j adds cell j to the double accumulator, and thread 0 the
 * tail. Nothing waits: the host reads acc when it wants the figures. */
#include <math.h>

#include "kernel_util.cuh"

#define STATS_THREADS 256
#define STATS_MAX_CELLS 4096 /* K * K counters of shared memory: at most 64 classes */

static __global__ void stats_kernel(const float *logits, const int32_t *labels, const float *loss,
                                    int64_t samples, int crops, int64_t k, double *acc)
{
    __shared__ unsigned int cells[STATS_MAX_CELLS];
    for (int64_t j = threadIdx.x; j < k * k; j += blockDim.x) cells[j] = 0;
    __syncthreads();
    for (int64_t s = threadIdx.x; s < samples; s += blockDim.x) {
        const int32_t y = labels[s * crops];
        if (y < 0 || (int64_t)y >= k) continue;
        const float *row = logits + s * crops * k;
        double best = -INFINITY;
        int64_t arg = 0;
        for (int64_t j = 0; j < k; j++) {
            double sum = 0.0;
            for (int c = 0; c < crops; c++) sum += (double)row[c * k + j];
            if (sum > best) best = sum, arg = j;
        }
        atomicAdd(&cells[y * k + arg], 1u);
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < k * k; j += blockDim.x) acc[j] += (double)cells[j];
    if (threadIdx.x == 0) {
        double *tail = acc + k * k;
        const double l = (double)loss[0];
        /* rounded multiply and add, no FMA contraction: the CPU's arithmetic */
        tail[LLX_STATS_LOSS_SUM] = __dadd_rn(tail[LLX_STATS_LOSS_SUM], __dmul_rn(l, (double)samples));
        tail[LLX_STATS_BATCHES] += 1.0;
        if (!isfinite(l) && tail[LLX_STATS_FIRST_BAD] == 0.0)
            tail[LLX_STATS_FIRST_BAD] = tail[LLX_STATS_BATCHES];
    }
}

extern "C" llx_status llx_cuda_batch_stats_add(llx_backend *be, const llx_tensor *logits,
                                               const llx_tensor *labels, const llx_tensor *loss,
                                               int crops, llx_tensor *acc, llx_error *err)
{
    const int64_t k = logits->shape.dim[1], samples = logits->shape.dim[0] / crops;
    if (logits->dtype != LLX_F32)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "batch stats: no cuda kernel for %s logits: the CUDA kernels are f32 only",
                          llx_dtype_name(logits->dtype));
    if (k * k > STATS_MAX_CELLS)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "batch stats: %lld classes, the CUDA kernel counts at most 64",
                          (long long)k);
    stats_kernel<<<1, STATS_THREADS, 0, llx_cuda_stream(be)>>>(
        (const float *)logits->data, (const int32_t *)labels->data, (const float *)loss->data,
        samples, crops, k, (double *)acc->data);
    return llx_cuda_launched("batch_stats", err);
}
