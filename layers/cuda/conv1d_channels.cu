/* conv1d_channels.cu: the CUDA kernels of conv1d_channels (F32), ECA's 1-D convolution along
 * the channel axis, as layers/conv1d_channels.c:
 *   x (N, C, 1, 1) or (N, C), w (1, 1, K), K = 2*pad + 1 -> y like x
 *   y[n, c]  = sum_k w[k] * x[n, c + k - pad]          (zero outside [0, C))
 *   dx[n, j] += sum_k w[k] * dy[n, j - k + pad]
 *   dw[k]    += sum_{n,c} dy[n, c] * x[n, c + k - pad]
 * Each product is a float, summed in double, as the CPU does.
 * y and dx: a thread per (n, c). dw: deterministic two-pass reduction, no atomics: G blocks
 * each sum a fixed slice of (n, c) for every tap into a (G, K) table of doubles in the
 * backend's scratch, then one pass adds the G partials of each tap in order. */
#include "kernel_util.cuh"

/* x, y: (n*ch) as (n, ch); w: (k). y = conv(x), or y += conv^T(x) when BWD (x is dy). */
template <bool BWD>
static __global__ void conv1c_map(const float *x, const float *w, float *y, int64_t n,
                                  int64_t ch, int k, int pad)
{
    const int64_t total = n * ch, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; q < total; q += stride) {
        const int64_t i = q / ch, c = q - i * ch;
        const float *row = x + i * ch;
        double s = 0.0;
        for (int t = 0; t < k; t++) {
            const int64_t src = BWD ? c - t + pad : c + t - pad;
            if (src >= 0 && src < ch) s += (double)(w[t] * row[src]);
        }
        if (BWD)
            y[q] += (float)s;
        else
            y[q] = (float)s;
    }
}

/* Pass 1 of dw. part: (gridDim.x, k) doubles; block b sums, for each tap t, the products
 * dy[q] * x[n, c + t - pad] over q = b*blockDim + tid, stepping by the grid. */
static __global__ void conv1c_dw_part(const float *x, const float *dy, double *part, int64_t n,
                                      int64_t ch, int k, int pad)
{
    __shared__ double smem[32];
    const int64_t total = n * ch, stride = (int64_t)gridDim.x * blockDim.x;
    for (int t = 0; t < k; t++) {
        double s = 0.0;
        for (int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; q < total;
             q += stride) {
            const int64_t i = q / ch, c = q - i * ch, src = c + t - pad;
            if (src >= 0 && src < ch) s += (double)(dy[q] * x[i * ch + src]);
        }
        s = llx_block_sum_d(s, smem);
        if (threadIdx.x == 0) part[(int64_t)blockIdx.x * k + t] = s;
    }
}

/* Pass 2 of dw: dw[t] += sum over the g blocks of part[., t], in block order. */
static __global__ void conv1c_dw_sum(const double *part, float *dw, int g, int k)
{
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < k; t += gridDim.x * blockDim.x) {
        double s = 0.0;
        for (int b = 0; b < g; b++) s += part[(int64_t)b * k + t];
        dw[t] += (float)s;
    }
}

/* The call's (n, ch), taps k and pad, checked as conv1d_channels.c's infer does. */
static llx_status conv1c_dims(const llx_op_call *c, int64_t *n, int64_t *ch, int *k, int *pad,
                              llx_error *err)
{
    const llx_shape *xs = &c->in[0]->shape, *ws = &c->in[1]->shape;
    const int p = ((const llx_conv1d_attr *)c->attr)->pad;
    char sx[64], sw[64];
    const bool x_ok = xs->ndim == 2 || (xs->ndim == 4 && xs->dim[2] == 1 && xs->dim[3] == 1);
    if (!x_ok || ws->ndim != 3 || ws->dim[0] != 1 || ws->dim[1] != 1 || p < 0 ||
        ws->dim[2] != 2 * (int64_t)p + 1 || ws->dim[2] > INT32_MAX ||
        llx_tensor_numel(c->out) != llx_tensor_numel(c->in[0]))
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv1d_channels: input %s and weight %s with pad %d do not fit: want "
                          "(N, C, 1, 1) or (N, C) and (1, 1, 2*pad + 1)",
                          llx_shape_str(xs, sx, sizeof sx), llx_shape_str(ws, sw, sizeof sw), p);
    *n = xs->dim[0];
    *ch = xs->dim[1];
    *k = (int)ws->dim[2];
    *pad = p;
    return LLX_OK;
}

extern "C" llx_status llx_cuda_conv1d_channels_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    int64_t n, ch;
    int k, pad;
    LLX_TRY(conv1c_dims(c, &n, &ch, &k, &pad, err));
    if (n * ch <= 0) return LLX_OK;
    conv1c_map<false><<<llx_cuda_grid(c->backend, n * ch), LLX_CUDA_THREADS, 0,
                        llx_cuda_stream(c->backend)>>>((const float *)c->in[0]->data,
                                                       (const float *)c->in[1]->data,
                                                       (float *)c->out->data, n, ch, k, pad);
    return llx_cuda_launched("conv1d_channels forward kernel", err);
}

extern "C" llx_status llx_cuda_conv1d_channels_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    int64_t n, ch;
    int k, pad;
    LLX_TRY(conv1c_dims(c, &n, &ch, &k, &pad, err));
    if (n * ch <= 0) return LLX_OK;
    llx_backend *be = c->backend;
    cudaStream_t st = llx_cuda_stream(be);
    const float *x = (const float *)c->in[0]->data, *w = (const float *)c->in[1]->data;
    const float *dy = (const float *)c->dout->data;
    if (c->din[0]) {
        conv1c_map<true><<<llx_cuda_grid(be, n * ch), LLX_CUDA_THREADS, 0, st>>>(
            dy, w, (float *)c->din[0]->data, n, ch, k, pad);
        LLX_TRY(llx_cuda_launched("conv1d_channels backward (dx) kernel", err));
    }
    if (c->din[1]) {
        /* At least 8 products per thread per tap, at most one block per multiprocessor. */
        const unsigned g = llx_blocks_for(n * ch, (int64_t)LLX_CUDA_THREADS * 8,
                                          (int64_t)llx_cuda_sm_count(be));
        void *part = NULL;
        LLX_TRY(llx_cuda_scratch(be, (size_t)g * (size_t)k * sizeof(double), &part, err));
        conv1c_dw_part<<<g, LLX_CUDA_THREADS, 0, st>>>(x, dy, (double *)part, n, ch, k, pad);
        LLX_TRY(llx_cuda_launched("conv1d_channels backward (dw partials) kernel", err));
        conv1c_dw_sum<<<llx_blocks_for(k, 32, 64), 32, 0, st>>>((const double *)part,
                                                              (float *)c->din[1]->data, (int)g,
                                                              k);
        LLX_TRY(llx_cuda_launched("conv1d_channels backward (dw) kernel", err));
    }
    return LLX_OK;
}
