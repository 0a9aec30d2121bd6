/* half_cast.cu: F32 (n, c, p) <-> half (n, p, c) for conv2d's mixed precision (half_cast.h).
 *
 * Transpose through shared memory: a block of 32 x 8 threads moves 32 x 32 tiles (32
 * channels by 32 positions of one sample). It reads its tile from the source with
 * consecutive threads on consecutive source elements (positions on the F32 NCHW side,
 * channels on the half NHWC side), stores it in a padded 32 x 33 float array (no bank
 * conflicts on the transposed read), then writes it to the destination the same way. The
 * conversion happens on the write to the half copy (round to nearest even) or on the read
 * from it (exact). blockIdx.x walks the tiles of a sample (along p first), blockIdx.y the
 * samples, both grid-stride (gridDim.y is at most 65535), with 64-bit indices.
 *
 * Narrow tensors, where most of a 32 x 32 tile would be empty, take a grid-stride loop over
 * items instead, without shared memory:
 *   c <= 16 (the stem's 3 channels; c == 1): one thread per position (sample, h*w), looping
 *     over its c channels: for each channel the warp reads consecutive F32 positions, and the
 *     warp's half elements form one contiguous run of 32 * c;
 *   p <= 16 otherwise (4x4 and smaller maps, the weights of 3x3 and 1x1 kernels): one thread
 *     per channel (sample, c), looping over its p positions, the mirror image.
 * When c == 1 or p == 1 both are a plain element-wise conversion (the layouts coincide).
 *
 * The per-thread steps are __host__ __device__ functions, so that a host program can run
 * them over a simulated grid. */
#include "half_cast.h"
#include "kernel_util.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>

namespace {

constexpr int k_tile = 32;       /* a tile: k_tile channels by k_tile positions */
constexpr int k_rows = 8;        /* block: k_tile x k_rows threads, k_tile / k_rows elements each */
constexpr unsigned k_max_grid_y = 65535;
constexpr int64_t k_narrow = 16; /* c or p up to this: one thread per position / channel */

typedef float tile_t[k_tile][k_tile + 1]; /* [channel in tile][position in tile] */

/* Rounding to the half type (RNE) and widening back (exact). */
template <class T> __host__ __device__ inline T to_half(float v);
template <> __host__ __device__ inline __nv_bfloat16 to_half<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}
template <> __host__ __device__ inline __half to_half<__half>(float v) { return __float2half_rn(v); }
__host__ __device__ inline float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
__host__ __device__ inline float widen(__half v) { return __half2float(v); }

struct cast_dims {
    int64_t n, c, p;
    int64_t tiles_p; /* tiles along p: ceil(p / k_tile) */
    int64_t tiles;   /* tiles per sample: ceil(c / k_tile) * tiles_p */
};

__host__ __device__ inline cast_dims dims_of(int64_t n, int64_t c, int64_t p)
{
    const int64_t tp = (p + k_tile - 1) / k_tile, tc = (c + k_tile - 1) / k_tile;
    return cast_dims{n, c, p, tp, tp * tc};
}

/* Tile t of a sample: its first channel and first position. */
__host__ __device__ inline void tile_origin(const cast_dims &d, int64_t t, int64_t *c0, int64_t *p0)
{
    *c0 = t / d.tiles_p * k_tile;
    *p0 = t % d.tiles_p * k_tile;
}

/* Index of step r (a row of the tile), lane x of tile (c0, p0) of sample s, -1 outside the
 * tensor. NCHW side: channel c0 + r, position p0 + x (tile cell [r][x]). NHWC side: position
 * p0 + r, channel c0 + x (tile cell [x][r]). Consecutive lanes: consecutive addresses. */
__host__ __device__ inline int64_t nchw_at(const cast_dims &d, int64_t s, int64_t c0, int64_t p0, int r, int x)
{
    const int64_t c = c0 + r, p = p0 + x;
    return c < d.c && p < d.p ? (s * d.c + c) * d.p + p : -1;
}
__host__ __device__ inline int64_t nhwc_at(const cast_dims &d, int64_t s, int64_t c0, int64_t p0, int r, int x)
{
    const int64_t p = p0 + r, c = c0 + x;
    return c < d.c && p < d.p ? (s * d.p + p) * d.c + c : -1;
}

/* The two halves of one tile for thread (x, y), with a barrier between them. */
__host__ __device__ inline void to_half_read(const float *src, tile_t &tile, const cast_dims &d, int64_t s,
                                             int64_t c0, int64_t p0, int x, int y)
{
    for (int r = y; r < k_tile; r += k_rows) {
        const int64_t i = nchw_at(d, s, c0, p0, r, x);
        if (i >= 0) tile[r][x] = src[i];
    }
}
template <class T>
__host__ __device__ inline void to_half_write(T *dst, const tile_t &tile, const cast_dims &d, int64_t s,
                                              int64_t c0, int64_t p0, int x, int y)
{
    for (int r = y; r < k_tile; r += k_rows) {
        const int64_t i = nhwc_at(d, s, c0, p0, r, x);
        if (i >= 0) dst[i] = to_half<T>(tile[x][r]);
    }
}
template <class T>
__host__ __device__ inline void from_half_read(const T *src, tile_t &tile, const cast_dims &d, int64_t s,
                                               int64_t c0, int64_t p0, int x, int y)
{
    for (int r = y; r < k_tile; r += k_rows) {
        const int64_t i = nhwc_at(d, s, c0, p0, r, x);
        if (i >= 0) tile[x][r] = widen(src[i]);
    }
}
template <bool Acc>
__host__ __device__ inline void from_half_write(float *dst, const tile_t &tile, const cast_dims &d, int64_t s,
                                                int64_t c0, int64_t p0, int x, int y)
{
    for (int r = y; r < k_tile; r += k_rows) {
        const int64_t i = nchw_at(d, s, c0, p0, r, x);
        if (i >= 0) dst[i] = Acc ? dst[i] + tile[r][x] : tile[r][x];
    }
}

/* The narrow paths: item i is position i of the n * p positions (c <= k_narrow, "per
 * position") or channel i of the n * c channels ("per channel"); one thread moves all of its
 * c or p elements. */
enum cast_path { PATH_TILED, PATH_POSITION, PATH_CHANNEL };

__host__ __device__ inline cast_path path_of(const cast_dims &d)
{
    return d.c <= k_narrow ? PATH_POSITION : d.p <= k_narrow ? PATH_CHANNEL : PATH_TILED;
}
__host__ __device__ inline int64_t items_of(const cast_dims &d, cast_path path)
{
    return d.n * (path == PATH_POSITION ? d.p : d.c);
}

template <class T, cast_path Path>
__host__ __device__ inline void to_half_item(const float *src, T *dst, const cast_dims &d, int64_t i)
{
    if (Path == PATH_POSITION) {
        const int64_t s = i / d.p, q = i - s * d.p;
        const float *from = src + s * d.c * d.p + q;
        T *to = dst + i * d.c;
        for (int64_t ch = 0; ch < d.c; ch++) to[ch] = to_half<T>(from[ch * d.p]);
    } else {
        const int64_t s = i / d.c, ch = i - s * d.c;
        const float *from = src + i * d.p;
        T *to = dst + s * d.p * d.c + ch;
        for (int64_t q = 0; q < d.p; q++) to[q * d.c] = to_half<T>(from[q]);
    }
}

template <class T, bool Acc, cast_path Path>
__host__ __device__ inline void from_half_item(const T *src, float *dst, const cast_dims &d, int64_t i)
{
    if (Path == PATH_POSITION) {
        const int64_t s = i / d.p, q = i - s * d.p;
        const T *from = src + i * d.c;
        float *to = dst + s * d.c * d.p + q;
        for (int64_t ch = 0; ch < d.c; ch++) to[ch * d.p] = Acc ? to[ch * d.p] + widen(from[ch]) : widen(from[ch]);
    } else {
        const int64_t s = i / d.c, ch = i - s * d.c;
        const T *from = src + s * d.p * d.c + ch;
        float *to = dst + i * d.p;
        for (int64_t q = 0; q < d.p; q++) to[q] = Acc ? to[q] + widen(from[q * d.c]) : widen(from[q * d.c]);
    }
}

template <class T, cast_path Path>
__global__ void to_half_narrow(const float *__restrict__ src, T *__restrict__ dst, const cast_dims d)
{
    const int64_t items = items_of(d, Path), step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < items; i += step)
        to_half_item<T, Path>(src, dst, d, i);
}

template <class T, bool Acc, cast_path Path>
__global__ void from_half_narrow(const T *__restrict__ src, float *__restrict__ dst, const cast_dims d)
{
    const int64_t items = items_of(d, Path), step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < items; i += step)
        from_half_item<T, Acc, Path>(src, dst, d, i);
}

template <class T>
__global__ void __launch_bounds__(k_tile *k_rows)
    to_half_kernel(const float *__restrict__ src, T *__restrict__ dst, const cast_dims d)
{
    __shared__ tile_t tile;
    const int x = (int)threadIdx.x, y = (int)threadIdx.y;
    for (int64_t s = blockIdx.y; s < d.n; s += gridDim.y)
        for (int64_t t = blockIdx.x; t < d.tiles; t += gridDim.x) {
            int64_t c0, p0;
            tile_origin(d, t, &c0, &p0);
            to_half_read(src, tile, d, s, c0, p0, x, y);
            __syncthreads();
            to_half_write<T>(dst, tile, d, s, c0, p0, x, y);
            __syncthreads(); /* the tile is read before the next one overwrites it */
        }
}

template <class T, bool Acc>
__global__ void __launch_bounds__(k_tile *k_rows)
    from_half_kernel(const T *__restrict__ src, float *__restrict__ dst, const cast_dims d)
{
    __shared__ tile_t tile;
    const int x = (int)threadIdx.x, y = (int)threadIdx.y;
    for (int64_t s = blockIdx.y; s < d.n; s += gridDim.y)
        for (int64_t t = blockIdx.x; t < d.tiles; t += gridDim.x) {
            int64_t c0, p0;
            tile_origin(d, t, &c0, &p0);
            from_half_read<T>(src, tile, d, s, c0, p0, x, y);
            __syncthreads();
            from_half_write<Acc>(dst, tile, d, s, c0, p0, x, y);
            __syncthreads();
        }
}

/* The grid of the tiled kernels: every tile of every sample once, within the limits. */
__host__ __device__ inline void tiled_grid(const cast_dims &d, unsigned *gx, unsigned *gy)
{
    *gx = (unsigned)(d.tiles < (int64_t)INT_MAX ? d.tiles : (int64_t)INT_MAX);
    *gy = (unsigned)(d.n < (int64_t)k_max_grid_y ? d.n : (int64_t)k_max_grid_y);
}

template <class T>
llx_status to_half_run(llx_backend *be, const float *src, void *dst, const cast_dims &d, llx_error *err)
{
    cudaStream_t st = llx_cuda_stream(be);
    const cast_path path = path_of(d);
    if (path != PATH_TILED) {
        const unsigned grid = llx_cuda_grid(be, items_of(d, path));
        if (path == PATH_POSITION)
            to_half_narrow<T, PATH_POSITION><<<grid, LLX_CUDA_THREADS, 0, st>>>(src, (T *)dst, d);
        else
            to_half_narrow<T, PATH_CHANNEL><<<grid, LLX_CUDA_THREADS, 0, st>>>(src, (T *)dst, d);
        return llx_cuda_launched("to_half_narrow", err);
    }
    unsigned gx, gy;
    tiled_grid(d, &gx, &gy);
    to_half_kernel<T><<<dim3(gx, gy), dim3(k_tile, k_rows), 0, st>>>(src, (T *)dst, d);
    return llx_cuda_launched("to_half_nhwc", err);
}

template <class T, bool Acc>
llx_status from_half_run(llx_backend *be, const void *src, float *dst, const cast_dims &d, llx_error *err)
{
    cudaStream_t st = llx_cuda_stream(be);
    const cast_path path = path_of(d);
    if (path != PATH_TILED) {
        const unsigned grid = llx_cuda_grid(be, items_of(d, path));
        if (path == PATH_POSITION)
            from_half_narrow<T, Acc, PATH_POSITION><<<grid, LLX_CUDA_THREADS, 0, st>>>((const T *)src, dst, d);
        else
            from_half_narrow<T, Acc, PATH_CHANNEL><<<grid, LLX_CUDA_THREADS, 0, st>>>((const T *)src, dst, d);
        return llx_cuda_launched("from_half_narrow", err);
    }
    unsigned gx, gy;
    tiled_grid(d, &gx, &gy);
    from_half_kernel<T, Acc><<<dim3(gx, gy), dim3(k_tile, k_rows), 0, st>>>((const T *)src, dst, d);
    return llx_cuda_launched("from_half_nhwc", err);
}

template <class T>
llx_status from_half_acc(llx_backend *be, const void *src, float *dst, const cast_dims &d, bool accumulate,
                         llx_error *err)
{
    return accumulate ? from_half_run<T, true>(be, src, dst, d, err) : from_half_run<T, false>(be, src, dst, d, err);
}

llx_status not_half(llx_precision prec, llx_error *err)
{
    return llx_errorf(err, LLX_ERR_INVALID, "half cast (cuda): precision %d is not bf16 or fp16", (int)prec);
}

} // namespace

extern "C" llx_status llx_cuda_to_half_nhwc(llx_backend *be, llx_precision prec, const float *src, void *dst,
                                            int64_t n, int64_t c, int64_t p, llx_error *err)
{
    if (n <= 0 || c <= 0 || p <= 0) return LLX_OK;
    const cast_dims d = dims_of(n, c, p);
    switch (prec) {
    case LLX_PRECISION_BF16: return to_half_run<__nv_bfloat16>(be, src, dst, d, err);
    case LLX_PRECISION_F16: return to_half_run<__half>(be, src, dst, d, err);
    default: return not_half(prec, err);
    }
}

extern "C" llx_status llx_cuda_from_half_nhwc(llx_backend *be, llx_precision prec, const void *src, float *dst,
                                              int64_t n, int64_t c, int64_t p, bool accumulate, llx_error *err)
{
    if (n <= 0 || c <= 0 || p <= 0) return LLX_OK;
    const cast_dims d = dims_of(n, c, p);
    switch (prec) {
    case LLX_PRECISION_BF16: return from_half_acc<__nv_bfloat16>(be, src, dst, d, accumulate, err);
    case LLX_PRECISION_F16: return from_half_acc<__half>(be, src, dst, d, accumulate, err);
    default: return not_half(prec, err);
    }
}
