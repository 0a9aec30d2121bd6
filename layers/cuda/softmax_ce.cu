/* softmax_ce.cu: the CUDA kernels of softmax_ce (F32), PyTorch's CrossEntropyLoss, as
 * layers/softmax_ce.c:
 *   logits (N, K), labels (N) int32, class weights (K) optional -> loss (1), on the device
 *   l_n  = logsumexp(logits_n) - logits_n[y_n]     (rows shifted by their max before exp)
 *   loss = sum_n w[y_n] l_n / sum_n w[y_n]   (reduction_mean)   or   sum_n w[y_n] l_n
 *   dlogits[n, k] += dout * w[y_n] * (p[n, k] - [k == y_n]) / (mean ? sum_n w[y_n] : 1)
 * saved: p (N, K) floats, the softmax (the descriptor's saved_bytes).
 *
 * Forward: a warp per row computes p and the row's w[y] * l and w[y] (into the backend's
 * scratch, doubles); one block then sums the N rows in a fixed order into the loss. Backward:
 * one block sums the weights (mean), then a thread per logit adds its gradient.
 *
 * Labels outside [0, K): the CPU checks them on the host and fails; here they stay on the
 * device (no synchronisation), so such a row reads nothing out of bounds, makes the loss NaN
 * (the engine's check of the loss then stops the run), adds nothing to the weight sum and
 * gets no gradient. */
#include <math.h>

#include "kernel_util.cuh"

/* logits, p: (n, k); labels (n); w (k) or NULL. Per row: p = softmax, rl[i] = w[y] * l_i and
 * rw[i] = w[y] (NaN and 0 for a label outside [0, k)). A warp per row. */
static __global__ void sce_rows(const float *logits, const int32_t *labels, const float *w,
                                float *p, double *rl, double *rw, int64_t n, int64_t k)
{
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
    for (int64_t i = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; i < n;
         i += warps) {
        const float *l = logits + i * k;
        float *pi = p + i * k;
        float mx = -INFINITY;
        for (int64_t j = lane; j < k; j += 32) mx = fmaxf(mx, l[j]);
        for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(LLX_FULL_MASK, mx, o));
        float s = 0.0f;
        for (int64_t j = lane; j < k; j += 32) s += expf(l[j] - mx);
        s = llx_warp_sum(s);
        s = __shfl_sync(LLX_FULL_MASK, s, 0); /* every lane: lane 0's total */
        for (int64_t j = lane; j < k; j += 32) pi[j] = expf(l[j] - mx) / s;
        if (lane == 0) {
            const int32_t y = labels[i];
            if (y >= 0 && (int64_t)y < k) {
                const float wy = w ? w[y] : 1.0f;
                rl[i] = (double)wy * ((double)logf(s) - ((double)l[y] - (double)mx));
                rw[i] = (double)wy;
            } else {
                rl[i] = (double)NAN;
                rw[i] = 0.0;
            }
        }
    }
}

/* One block: loss[0] = sum rl / sum rw (mean) or sum rl. */
static __global__ void sce_total(const double *rl, const double *rw, float *loss, int64_t n,
                                 int mean)
{
    __shared__ double smem[32];
    double tl = 0.0, tw = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        tl += rl[i];
        tw += rw[i];
    }
    tl = llx_block_sum_d(tl, smem);
    tw = llx_block_sum_d(tw, smem);
    if (threadIdx.x == 0) loss[0] = (float)(mean ? tl / tw : tl);
}

/* One block: wsum[0] = sum of w[y_i] over the rows with a label in [0, k) (mean), else 1. */
static __global__ void sce_wsum(const int32_t *labels, const float *w, double *wsum, int64_t n,
                                int64_t k, int mean)
{
    __shared__ double smem[32];
    double t = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const int32_t y = labels[i];
        if (y >= 0 && (int64_t)y < k) t += w ? (double)w[y] : 1.0;
    }
    t = llx_block_sum_d(t, smem);
    if (threadIdx.x == 0) wsum[0] = mean ? t : 1.0;
}

/* dl (n, k) += dout * w[y] * (p - [j == y]) / wsum, a thread per logit; rows with a label
 * outside [0, k) get nothing. */
static __global__ void sce_grad(const float *p, const int32_t *labels, const float *w,
                                const double *wsum, const float *dout, float *dl, int64_t n,
                                int64_t k)
{
    const int64_t total = n * k, stride = (int64_t)gridDim.x * blockDim.x;
    const float g = dout[0];
    const double ws = wsum[0];
    for (int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; q < total; q += stride) {
        const int64_t i = q / k, j = q - i * k;
        const int32_t y = labels[i];
        if (y < 0 || (int64_t)y >= k) continue;
        const double scale = (double)(g * (w ? w[y] : 1.0f)) / ws;
        dl[q] += (float)(scale * (double)(p[q] - (j == y ? 1.0f : 0.0f)));
    }
}

/* Checks as softmax_ce.c: logits (N, K), labels (N) int32, weights (K). */
static llx_status sce_dims(const llx_op_call *c, int64_t *n, int64_t *k, llx_error *err)
{
    const llx_shape *ls = &c->in[0]->shape, *ys = &c->in[1]->shape;
    char a[64], b[64];
    if (c->in[1]->dtype != LLX_I32)
        return llx_errorf(err, LLX_ERR_INVALID, "softmax_ce: labels must be i32, got %s",
                          llx_dtype_name(c->in[1]->dtype));
    if (ls->ndim != 2 || ys->ndim != 1 || ys->dim[0] != ls->dim[0] ||
        (c->n_in > 2 && (c->in[2]->shape.ndim != 1 || c->in[2]->shape.dim[0] != ls->dim[1])))
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "softmax_ce: logits %s and labels %s (or class weights) do not fit: "
                          "want (N, K), (N) and (K)",
                          llx_shape_str(ls, a, sizeof a), llx_shape_str(ys, b, sizeof b));
    *n = ls->dim[0];
    *k = ls->dim[1];
    return LLX_OK;
}

#define SCE_SUM_THREADS 1024 /* the single-block sums */

extern "C" llx_status llx_cuda_softmax_ce_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    int64_t n, k;
    LLX_TRY(sce_dims(c, &n, &k, err));
    if (!c->saved)
        return llx_errorf(err, LLX_ERR_INVALID, "softmax_ce: no saved state for the softmax");
    llx_backend *be = c->backend;
    cudaStream_t st = llx_cuda_stream(be);
    const int mean = ((const llx_softmax_ce_attr *)c->attr)->reduction_mean;
    const float *w = c->n_in > 2 ? (const float *)c->in[2]->data : NULL;
    double *rows = NULL;
    if (n > 0 && k > 0) {
        void *scratch = NULL;
        LLX_TRY(llx_cuda_scratch(be, 2 * (size_t)n * sizeof(double), &scratch, err));
        rows = (double *)scratch;
        const unsigned grid = llx_blocks_for(n, LLX_CUDA_THREADS / 32,
                                             (int64_t)llx_cuda_sm_count(be) * 8);
        sce_rows<<<grid, LLX_CUDA_THREADS, 0, st>>>((const float *)c->in[0]->data,
                                                    (const int32_t *)c->in[1]->data, w,
                                                    (float *)c->saved, rows, rows + n, n, k);
        LLX_TRY(llx_cuda_launched("softmax_ce forward (rows) kernel", err));
    } else {
        n = 0; /* no rows: the sums below are 0 (mean: 0 / 0, NaN, as the CPU) */
    }
    sce_total<<<1, SCE_SUM_THREADS, 0, st>>>(rows, rows ? rows + n : NULL,
                                             (float *)c->out->data, n, mean);
    return llx_cuda_launched("softmax_ce forward (loss) kernel", err);
}

extern "C" llx_status llx_cuda_softmax_ce_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    int64_t n, k;
    LLX_TRY(sce_dims(c, &n, &k, err));
    if (n <= 0 || k <= 0) return LLX_OK;
    if (!c->saved)
        return llx_errorf(err, LLX_ERR_INVALID, "softmax_ce: no saved state for the softmax");
    llx_backend *be = c->backend;
    cudaStream_t st = llx_cuda_stream(be);
    const int mean = ((const llx_softmax_ce_attr *)c->attr)->reduction_mean;
    const float *w = c->n_in > 2 ? (const float *)c->in[2]->data : NULL;
    const int32_t *labels = (const int32_t *)c->in[1]->data;
    void *scratch = NULL;
    LLX_TRY(llx_cuda_scratch(be, sizeof(double), &scratch, err));
    double *wsum = (double *)scratch;
    sce_wsum<<<1, SCE_SUM_THREADS, 0, st>>>(labels, w, wsum, n, k, mean);
    LLX_TRY(llx_cuda_launched("softmax_ce backward (weight sum) kernel", err));
    sce_grad<<<llx_cuda_grid(be, n * k), LLX_CUDA_THREADS, 0, st>>>(
        (const float *)c->saved, labels, w, wsum, (const float *)c->dout->data,
        (float *)c->din[0]->data, n, k);
    return llx_cuda_launched("softmax_ce backward kernel", err);
}
