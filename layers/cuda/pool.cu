/* pool.cu: the CUDA kernels of the global and channel pools (F32), as layers/global_pool.c
 * and layers/channel_pool.c. x (N, C, H, W), shapes read at call time.
 *   global_avgpool  y (N, C, 1, 1) = mean over H, W     dx += dy / (H*W) on every cell
 *   global_maxpool  y (N, C, 1, 1) = max over H, W      dx += dy on the first cell holding
 *                   the max; saved: that cell's index, one int32 per (n, c) (as the CPU)
 *   channel_mean    y (N, 1, H, W) = mean over C        dx += dy * (1 / C) at every channel
 *   channel_max     y (N, 1, H, W) = max over C         dx += dy at the first channel holding
 *                   the max; saved: that channel, one int32 per (n, h, w) (as the CPU)
 *
 * Global pools reduce rows of H*W: groups of 1 to 32 lanes per row (about 4 loads per lane,
 * so a warp takes several short rows at once), or a 256-thread block per row when the row
 * has 1024 cells or more; float4 loads when H*W % 4 == 0 and x is 16-byte aligned.
 * Channel pools: a block of 32 x 8 threads takes 32 neighbouring pixels (coalesced); its 8
 * thread rows each walk every 8th channel, then combine in a fixed order. Ties (equal
 * maxima) go to the lowest index, so the argmax is the CPU's "first max". Every output is
 * reduced by one warp or block in a fixed order: no atomics, same result run after run.
 * With NaN in the input the max and argmax are deterministic but may differ from the CPU's.
 * Backward of the means is element-wise (multiply-shift divisions, float4 when H*W % 4 == 0);
 * backward of the maxima is a thread per output writing one cell (no two write the same). */
#include "kernel_util.cuh"

#define POOL_ROW_BLOCK_MIN 1024 /* cells per row from which a block (not a warp) reduces it */
#define CP_PIX 32               /* pixels per channel-pool block (blockDim.x) */
#define CP_SPLIT 8              /* channel strides per channel-pool block (blockDim.y) */

/* (v, i) becomes the better of itself and (ov, oi): a larger value, or an equal value at a
 * lower index; i < 0 means "nothing seen". */
static __device__ inline void pool_better(float &v, int &i, float ov, int oi)
{
    if (oi >= 0 && (i < 0 || ov > v || (ov == v && oi < i))) {
        v = ov;
        i = oi;
    }
}

/* The argmax over aligned groups of G lanes (G a power of two <= 32; every lane of the warp
 * calls it); the first lane of each group holds its group's result. */
static __device__ inline void pool_group_max(float &v, int &i, int G)
{
    for (int o = G >> 1; o > 0; o >>= 1) {
        const float ov = __shfl_down_sync(LLX_FULL_MASK, v, o);
        const int oi = __shfl_down_sync(LLX_FULL_MASK, i, o);
        pool_better(v, i, ov, oi);
    }
}

/* The argmax over the block (all threads call it); thread 0 holds the result. */
static __device__ inline void pool_block_max(float &v, int &i, float *sv, int *si)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = (int)(blockDim.x >> 5);
    pool_group_max(v, i, 32);
    if (lane == 0) {
        sv[warp] = v;
        si[warp] = i;
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? sv[lane] : 0.0f;
        i = lane < nwarps ? si[lane] : -1;
        pool_group_max(v, i, 32);
    }
    __syncthreads();
}

/* ------------------------------------------------------------------ global pools */

/* (v, i) takes (e, k) when nothing was seen or e is larger: for increasing k, the first
 * maximum (pool_better without the tie test). */
static __device__ inline void gpool_take(float &v, int &i, float e, int k)
{
    if (i < 0 || e > v) {
        v = e;
        i = k;
    }
}

/* The lane's part of row p (hw cells): its sum, or its first maximum and where. The lane
 * visits its cells in increasing order, so a strict > keeps the first. */
template <bool MAX, bool VEC>
static __device__ inline void gpool_lane(const float *p, int hw, int lane, int G, float &v,
                                         int &i)
{
    if (VEC) {
        const float4 *p4 = reinterpret_cast<const float4 *>(p);
#pragma unroll 4
        for (int k = lane; k < hw / 4; k += G) {
            const float4 q = p4[k];
            if (MAX) {
                gpool_take(v, i, q.x, 4 * k);
                gpool_take(v, i, q.y, 4 * k + 1);
                gpool_take(v, i, q.z, 4 * k + 2);
                gpool_take(v, i, q.w, 4 * k + 3);
            } else {
                v += (q.x + q.y) + (q.z + q.w);
            }
        }
    } else {
#pragma unroll 4
        for (int k = lane; k < hw; k += G) {
            if (MAX)
                gpool_take(v, i, p[k], k);
            else
                v += p[k];
        }
    }
}

/* x: (rows, hw) -> y: (rows) mean, or max with arg: (rows) its first index. Groups of G
 * lanes (a power of two <= 32), 32 / G rows per warp at a time; the row loop is uniform over
 * the warp, so every lane reaches the shuffles. */
template <bool MAX, bool VEC>
static __global__ void gpool_fwd_warp(const float *x, float *y, int32_t *arg, int64_t rows,
                                      int hw, int G)
{
    const int lane = threadIdx.x & 31, sub = lane / G, gl = lane % G;
    const int64_t per_warp = 32 / G;
    const int64_t warp = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
    for (int64_t base = warp * per_warp; base < rows; base += warps * per_warp) {
        const int64_t r = base + sub;
        float v = 0.0f;
        int i = -1;
        if (r < rows) gpool_lane<MAX, VEC>(x + r * hw, hw, gl, G, v, i);
        if (MAX)
            pool_group_max(v, i, G);
        else
            v = llx_group_sum(v, G);
        if (gl == 0 && r < rows) {
            if (MAX) {
                y[r] = v;
                arg[r] = i;
            } else {
                y[r] = v / (float)hw;
            }
        }
    }
}

/* As gpool_fwd_warp with a block per row (long rows). */
template <bool MAX, bool VEC>
static __global__ void gpool_fwd_block(const float *x, float *y, int32_t *arg, int64_t rows,
                                       int hw)
{
    __shared__ float sv[32];
    __shared__ int si[32];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) { /* uniform over the block */
        float v = 0.0f;
        int i = -1;
        gpool_lane<MAX, VEC>(x + r * hw, hw, (int)threadIdx.x, (int)blockDim.x, v, i);
        if (MAX) {
            pool_block_max(v, i, sv, si);
            if (threadIdx.x == 0) {
                y[r] = v;
                arg[r] = i;
            }
        } else {
            v = llx_block_sum(v, sv);
            if (threadIdx.x == 0) y[r] = v / (float)hw;
        }
    }
}

template <bool MAX>
static llx_status gpool_forward(const llx_op_call *c, const char *name, llx_error *err)
{
    const int64_t *d = c->in[0]->shape.dim;
    const int64_t rows = d[0] * d[1], hw64 = d[2] * d[3];
    if (rows <= 0 || hw64 <= 0) return LLX_OK;
    if (!llx_fits32(hw64))
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "%s: %lld cells per channel is over 2^31",
                          name, (long long)hw64);
    const int hw = (int)hw64;
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out->data;
    int32_t *arg = (int32_t *)c->saved;
    if (MAX && !arg)
        return llx_errorf(err, LLX_ERR_INVALID, "%s: no saved state for the argmax", name);
    const bool vec = hw % 4 == 0 && llx_aligned16(x);
    const int64_t cap = (int64_t)llx_cuda_sm_count(c->backend) * 8;
    cudaStream_t st = llx_cuda_stream(c->backend);
    if (hw >= POOL_ROW_BLOCK_MIN) {
        const unsigned grid = llx_blocks_for(rows, 1, cap);
        if (vec)
            gpool_fwd_block<MAX, true><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, arg, rows, hw);
        else
            gpool_fwd_block<MAX, false><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, arg, rows, hw);
    } else {
        const int G = llx_group_lanes(vec ? hw / 4 : hw);
        const unsigned grid = llx_blocks_for(rows, LLX_CUDA_THREADS / G, cap);
        if (vec)
            gpool_fwd_warp<MAX, true><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, arg, rows, hw, G);
        else
            gpool_fwd_warp<MAX, false><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, arg, rows, hw, G);
    }
    return llx_cuda_launched(name, err);
}

/* ------------------------------------------------------------------ mean backward */

enum pool_spread_mode {
    SPREAD_AVG,   /* dx (rows, hw) += dy[row] / hw */
    SPREAD_CMEAN, /* dx (n, c, hw) += dy[n, pix] * (1 / c) */
};

/* dx: (total) floats, planes of hw; dy: (planes) for AVG, (n, hw) for CMEAN. VEC: groups of
 * 4 cells inside one plane (hw % 4 == 0, dx and, for CMEAN, dy 16-byte aligned). */
template <int MODE, class I, class D, bool VEC>
static __global__ void pool_spread(I total, I hw, D d_hw, D d_c, float f, const float *dy,
                                   float *dx)
{
    const I stride = (I)gridDim.x * (I)blockDim.x;
    const I start = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x;
    const I groups = VEC ? total / 4 : total;
    for (I q = start; q < groups; q += stride) {
        const I p = VEC ? q * 4 : q;
        const I plane = (I)llx_div(d_hw, p);
        float4 g;
        if (MODE == SPREAD_AVG) {
            const float v = dy[plane] / f; /* f = hw, as the CPU: dy / hw */
            g = make_float4(v, v, v, v);
        } else {
            const I pix = p - plane * hw, n = (I)llx_div(d_c, plane);
            const I at = n * hw + pix;
            if (VEC) {
                g = *reinterpret_cast<const float4 *>(dy + at);
            } else {
                g.x = dy[at];
                g.y = g.z = g.w = 0.0f;
            }
            g.x *= f; /* f = 1 / c, as the CPU: dy * (1 / c) */
            g.y *= f;
            g.z *= f;
            g.w *= f;
        }
        if (VEC) {
            float4 *d4 = reinterpret_cast<float4 *>(dx + p);
            float4 o = *d4;
            o.x += g.x;
            o.y += g.y;
            o.z += g.z;
            o.w += g.w;
            *d4 = o;
        } else {
            dx[p] += g.x;
        }
    }
}

template <int MODE, class I, class D>
static llx_status pool_spread_launch(llx_backend *be, int64_t total, int64_t hw, int64_t c,
                                     float f, const float *dy, float *dx, const char *name,
                                     llx_error *err)
{
    D d_hw, d_c;
    llx_div_make(&d_hw, hw);
    llx_div_make(&d_c, c);
    const bool vec = hw % 4 == 0 && llx_aligned16(dx) &&
                     (MODE == SPREAD_AVG || llx_aligned16(dy));
    const unsigned grid = llx_cuda_grid(be, vec ? total / 4 : total);
    cudaStream_t st = llx_cuda_stream(be);
    if (vec)
        pool_spread<MODE, I, D, true>
            <<<grid, LLX_CUDA_THREADS, 0, st>>>((I)total, (I)hw, d_hw, d_c, f, dy, dx);
    else
        pool_spread<MODE, I, D, false>
            <<<grid, LLX_CUDA_THREADS, 0, st>>>((I)total, (I)hw, d_hw, d_c, f, dy, dx);
    return llx_cuda_launched(name, err);
}

/* dx: (n, c, hw) floats. */
template <int MODE>
static llx_status pool_spread_run(llx_backend *be, int64_t n, int64_t c, int64_t hw, float f,
                                  const float *dy, float *dx, const char *name, llx_error *err)
{
    const int64_t total = n * c * hw;
    if (total <= 0) return LLX_OK;
    if (llx_fits32(total))
        return pool_spread_launch<MODE, uint32_t, llx_fdiv32>(be, total, hw, c, f, dy, dx, name,
                                                              err);
    return pool_spread_launch<MODE, int64_t, llx_div64>(be, total, hw, c, f, dy, dx, name, err);
}

/* ------------------------------------------------------------------ max backward */

/* dy, arg: (rows); dx: (rows, hw) += dy at each row's argmax. */
static __global__ void gmax_bwd(const float *dy, const int32_t *arg, float *dx, int64_t rows,
                                int64_t hw)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += stride)
        dx[r * hw + arg[r]] += dy[r];
}

/* dy, arg: (n, hw); dx: (n, c, hw) += dy at each pixel's argmax channel. */
static __global__ void cmax_bwd(const float *dy, const int32_t *arg, float *dx, int64_t n,
                                int64_t c, int64_t hw)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x, total = n * hw;
    for (int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; q < total; q += stride) {
        const int64_t b = q / hw, pix = q - b * hw;
        dx[(b * c + arg[q]) * hw + pix] += dy[q];
    }
}

/* ------------------------------------------------------------------ channel pools */

/* x: (n, c, hw) -> y: (n, hw) mean over c, or max with arg: (n, hw) its first channel.
 * Block (CP_PIX, CP_SPLIT): threadIdx.x a pixel of the block's tile, threadIdx.y a start
 * channel; each thread takes channels y, y + CP_SPLIT, ... (increasing), then the CP_SPLIT
 * partials are combined in order by the first thread row. */
template <bool MAX>
static __global__ void cpool_fwd(const float *x, float *y, int32_t *arg, int64_t n, int64_t c,
                                 int64_t hw)
{
    __shared__ float sv[CP_SPLIT][CP_PIX];
    __shared__ int si[CP_SPLIT][CP_PIX];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t total = n * hw;
    for (int64_t tile = blockIdx.x; tile * CP_PIX < total; tile += gridDim.x) {
        const int64_t q = tile * CP_PIX + tx;
        float v = 0.0f;
        int i = -1;
        if (q < total) {
            const int64_t b = q / hw, pix = q - b * hw;
            const float *p = x + b * c * hw + pix;
            if constexpr (MAX) {
#pragma unroll 4
                for (int64_t ch = ty; ch < c; ch += CP_SPLIT) {
                    const float e = p[ch * hw];
                    if (i < 0 || e > v) { /* channels increase: a strict > keeps the first */
                        v = e;
                        i = (int)ch;
                    }
                }
            } else {
                for (int64_t ch = ty; ch < c; ch += CP_SPLIT) v += p[ch * hw];
            }
        }
        sv[ty][tx] = v;
        si[ty][tx] = i;
        __syncthreads();
        if (ty == 0 && q < total) {
            for (int k = 1; k < CP_SPLIT; k++) {
                if (MAX)
                    pool_better(v, i, sv[k][tx], si[k][tx]);
                else
                    v += sv[k][tx];
            }
            if (MAX) {
                y[q] = v;
                arg[q] = i;
            } else {
                y[q] = v / (float)c;
            }
        }
        __syncthreads();
    }
}

template <bool MAX>
static llx_status cpool_forward(const llx_op_call *c, const char *name, llx_error *err)
{
    const int64_t *d = c->in[0]->shape.dim;
    const int64_t n = d[0], ch = d[1], hw = d[2] * d[3];
    if (n * ch * hw <= 0) return LLX_OK;
    if (!llx_fits32(ch))
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "%s: %lld channels is over 2^31", name,
                          (long long)ch);
    int32_t *arg = (int32_t *)c->saved;
    if (MAX && !arg)
        return llx_errorf(err, LLX_ERR_INVALID, "%s: no saved state for the argmax", name);
    const int64_t tiles = (n * hw + CP_PIX - 1) / CP_PIX;
    const unsigned grid = llx_blocks_for(tiles, 1, (int64_t)INT32_MAX);
    const dim3 block(CP_PIX, CP_SPLIT);
    cpool_fwd<MAX><<<grid, block, 0, llx_cuda_stream(c->backend)>>>(
        (const float *)c->in[0]->data, (float *)c->out->data, arg, n, ch, hw);
    return llx_cuda_launched(name, err);
}

/* ------------------------------------------------------------------ entry points */

extern "C" llx_status llx_cuda_global_avgpool_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return gpool_forward<false>(c, "global_avgpool forward kernel", err);
}

extern "C" llx_status llx_cuda_global_avgpool_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    const int64_t *d = c->in[0]->shape.dim;
    const int64_t hw = d[2] * d[3];
    return pool_spread_run<SPREAD_AVG>(c->backend, d[0], d[1], hw, (float)hw,
                                       (const float *)c->dout->data, (float *)c->din[0]->data,
                                       "global_avgpool backward kernel", err);
}

extern "C" llx_status llx_cuda_global_maxpool_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return gpool_forward<true>(c, "global_maxpool forward kernel", err);
}

extern "C" llx_status llx_cuda_global_maxpool_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    const int64_t *d = c->in[0]->shape.dim;
    const int64_t rows = d[0] * d[1], hw = d[2] * d[3];
    if (rows * hw <= 0) return LLX_OK;
    if (!c->saved)
        return llx_errorf(err, LLX_ERR_INVALID, "global_maxpool: no saved state for the argmax");
    gmax_bwd<<<llx_cuda_grid(c->backend, rows), LLX_CUDA_THREADS, 0,
               llx_cuda_stream(c->backend)>>>((const float *)c->dout->data,
                                              (const int32_t *)c->saved,
                                              (float *)c->din[0]->data, rows, hw);
    return llx_cuda_launched("global_maxpool backward kernel", err);
}

extern "C" llx_status llx_cuda_channel_mean_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return cpool_forward<false>(c, "channel_mean forward kernel", err);
}

extern "C" llx_status llx_cuda_channel_mean_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    const int64_t *d = c->in[0]->shape.dim;
    if (d[1] <= 0) return LLX_OK;
    return pool_spread_run<SPREAD_CMEAN>(c->backend, d[0], d[1], d[2] * d[3], 1.0f / (float)d[1],
                                         (const float *)c->dout->data, (float *)c->din[0]->data,
                                         "channel_mean backward kernel", err);
}

extern "C" llx_status llx_cuda_channel_max_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return cpool_forward<true>(c, "channel_max forward kernel", err);
}

extern "C" llx_status llx_cuda_channel_max_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    const int64_t *d = c->in[0]->shape.dim;
    const int64_t n = d[0], ch = d[1], hw = d[2] * d[3];
    if (n * ch * hw <= 0) return LLX_OK;
    if (!c->saved)
        return llx_errorf(err, LLX_ERR_INVALID, "channel_max: no saved state for the argmax");
    cmax_bwd<<<llx_cuda_grid(c->backend, n * hw), LLX_CUDA_THREADS, 0,
               llx_cuda_stream(c->backend)>>>((const float *)c->dout->data,
                                              (const int32_t *)c->saved,
                                              (float *)c->din[0]->data, n, ch, hw);
    return llx_cuda_launched("channel_max backward kernel", err);
}
