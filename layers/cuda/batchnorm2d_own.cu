/* batchnorm2d_own.cu: llx's own batch-normalisation kernels (F32, NCHW), taken by
 * batchnorm2d.cu with LLX_CUDA_BN=llx for the training forward and backward and the eval
 * forward (the eval backward is batchnorm2d.cu's own kernel either way). As
 * layers/batchnorm2d.c:
 *
 *   y = gamma[c] * (x - mean[c]) * invstd[c] + beta[c],   invstd = 1 / sqrt(var + eps)
 *
 * Why: cuDNN's NCHW batch norm ran at about a quarter of the H200's memory bandwidth (4.8 ms
 * of a 24.7 ms profiled LLAM-ResNet-18 step for 20 layers that move about 5 GB). Each pass here reads
 * what it must once: forward 2 reads + 1 write of x's size, backward 4 reads + 1 write.
 *
 * Forward (training), three launches on the backend's stream:
 *   1. partial sums: grid (C, S), block (c, s) sums x and x^2 (in double) over the batch
 *      rows n in [s*N/S, (s+1)*N/S) of channel c; each thread keeps 4 loads in flight;
 *   2. finalize, one thread per channel: the S partials added in a fixed order, mean and
 *      biased var = E[x^2] - mean^2 (double), the running statistics updated as the CPU
 *      (momentum; unbiased var M / (M - 1)), saved mean and invstd (c->saved), and
 *      scale = gamma * invstd and the mean's rounding residual mlo = mean - (float)mean;
 *   3. apply: y = ((x - mean) - mlo) * scale + beta, four values per thread when H*W % 4 == 0
 *      (x - (float)mean is exact for x near the mean, so a channel whose mean is far above its
 *      spread keeps its precision, as the CPU's double shift does).
 * Eval forward: finalize from the running statistics, then apply.
 * Backward (training): partial sums of dy and dy * (x - mean), finalize (dbeta += sum dy,
 * dgamma += invstd * sum dy (x - mean), and three coefficients per channel), then
 *   dx (+)= k dy + c1 (x - mean) + c0,   k = gamma invstd, c1 = -k invstd^2 sum(dy (x-mean)) / M,
 *                                       c0 = -k sum(dy) / M
 * written rather than added where c->din_fresh says so (never read then).
 * Sums are in double as the CPU's and in a fixed order: the results do not depend on timing.
 * Indices are 32-bit: batchnorm2d.cu refuses tensors over 2^31 - 1 elements. */
#include "batchnorm2d_own.h"

#include "kernel_util.cuh"

#include <cstdint>

namespace {

constexpr int k_threads = 256;
constexpr int k_unroll = 4;

/* Block (c, s) of a grid (C, S): the sums over batch rows [s*N/S, (s+1)*N/S) of channel c,
 * to part[(s * C + c) * 2 + {0, 1}]:
 *   forward:  sum x,  sum x^2
 *   backward: sum dy, sum dy * (x - mean[c]) */
template <bool BWD>
__global__ void __launch_bounds__(k_threads)
    bn_partial_kernel(uint32_t n, uint32_t ch, uint32_t hw, llx_fdiv32 div_hw, uint32_t slices,
                      const float *__restrict__ x, const float *__restrict__ dy,
                      const float *__restrict__ mean, double *__restrict__ part)
{
    __shared__ double smem[32];
    const uint32_t c = blockIdx.x, s = blockIdx.y;
    const uint32_t n0 = (uint32_t)((uint64_t)n * s / slices);
    const uint32_t n1 = (uint32_t)((uint64_t)n * (s + 1) / slices);
    const uint32_t count = (n1 - n0) * hw;
    const double mu = BWD ? (double)mean[c] : 0.0;
    double a = 0.0, b = 0.0;
    for (uint32_t base = threadIdx.x; base < count; base += k_threads * k_unroll) {
        float xv[k_unroll], dv[k_unroll];
#pragma unroll
        for (int u = 0; u < k_unroll; u++) {
            const uint32_t t = base + (uint32_t)u * k_threads;
            xv[u] = 0.0f;
            dv[u] = 0.0f;
            if (t < count) {
                const uint32_t r = llx_div(div_hw, t);
                const uint32_t off = ((n0 + r) * ch + c) * hw + (t - r * hw);
                xv[u] = x[off];
                if (BWD) dv[u] = dy[off];
            }
        }
#pragma unroll
        for (int u = 0; u < k_unroll; u++) {
            if (base + (uint32_t)u * k_threads >= count) break;
            if (BWD) {
                a += dv[u];
                b += (double)dv[u] * ((double)xv[u] - mu);
            } else {
                a += xv[u];
                b += (double)xv[u] * xv[u];
            }
        }
    }
    a = llx_block_sum_d(a, smem);
    b = llx_block_sum_d(b, smem);
    if (threadIdx.x == 0) {
        part[((size_t)s * ch + c) * 2] = a;
        part[((size_t)s * ch + c) * 2 + 1] = b;
    }
}

/* Per channel: mean, invstd (saved), running statistics (training), scale = gamma * invstd. */
__global__ void bn_fwd_finalize_kernel(uint32_t ch, uint32_t slices, double m, double momentum,
                                       double eps, bool training, const double *part,
                                       const float *gamma, float *rmean, float *rvar,
                                       float *smean, float *sinv, float *scale, float *mlo)
{
    for (uint32_t c = blockIdx.x * blockDim.x + threadIdx.x; c < ch; c += gridDim.x * blockDim.x) {
        double mean, var;
        if (training) {
            double s = 0.0, ss = 0.0;
            for (uint32_t k = 0; k < slices; k++) {
                s += part[((size_t)k * ch + c) * 2];
                ss += part[((size_t)k * ch + c) * 2 + 1];
            }
            mean = s / m;
            var = ss / m - mean * mean;
            if (var < 0.0) var = 0.0; /* rounding; NaN stays NaN */
            rmean[c] = (float)((1.0 - momentum) * rmean[c] + momentum * mean);
            rvar[c] = (float)((1.0 - momentum) * rvar[c] + momentum * var * m / (m - 1.0));
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        const double inv = 1.0 / sqrt(var + eps);
        smean[c] = (float)mean;
        sinv[c] = (float)inv;
        scale[c] = (float)(gamma[c] * inv);
        mlo[c] = (float)(mean - (double)smean[c]);
    }
}

/* Per channel: dbeta += sum dy, dgamma += invstd * sum dy (x - mean) (each may be NULL), and
 * coef[3c..3c+2] = k, c1, c0 of dx = k dy + c1 (x - mean) + c0. */
__global__ void bn_bwd_finalize_kernel(uint32_t ch, uint32_t slices, double m, const double *part,
                                       const float *gamma, const float *sinv, float *dgamma,
                                       float *dbeta, float *coef)
{
    for (uint32_t c = blockIdx.x * blockDim.x + threadIdx.x; c < ch; c += gridDim.x * blockDim.x) {
        double sdy = 0.0, sdxm = 0.0;
        for (uint32_t k = 0; k < slices; k++) {
            sdy += part[((size_t)k * ch + c) * 2];
            sdxm += part[((size_t)k * ch + c) * 2 + 1];
        }
        const double inv = sinv[c], sdyx = sdxm * inv, k = (double)gamma[c] * inv;
        if (dbeta) dbeta[c] += (float)sdy;
        if (dgamma) dgamma[c] += (float)sdyx;
        coef[3 * c] = (float)k;
        coef[3 * c + 1] = (float)(-k * inv * sdyx / m);
        coef[3 * c + 2] = (float)(-k * sdy / m);
    }
}

/* The channel of flat element i of an (N, C, HW) tensor. */
__device__ inline uint32_t channel_of(uint32_t i, const llx_fdiv32 &div_hw, const llx_fdiv32 &div_c)
{
    const uint32_t row = llx_div(div_hw, i);
    return row - llx_div(div_c, row) * div_c.d;
}

/* y = ((x - mean[c]) - mlo[c]) * scale[c] + beta[c], VEC values per thread (VEC 4: H*W % 4
 * == 0 and 16-byte aligned x and y, so the four share a channel). */
template <int VEC>
__global__ void bn_apply_kernel(uint32_t groups, llx_fdiv32 div_hw, llx_fdiv32 div_c,
                                const float *__restrict__ x, const float *__restrict__ mean,
                                const float *__restrict__ mlo, const float *__restrict__ scale,
                                const float *__restrict__ beta, float *__restrict__ y)
{
    for (uint32_t g = blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += gridDim.x * blockDim.x) {
        const uint32_t c = channel_of(g * VEC, div_hw, div_c);
        const float mu = mean[c], lo = mlo[c], k = scale[c], b = beta[c];
        if (VEC == 4) {
            float4 v = reinterpret_cast<const float4 *>(x)[g];
            v.x = fmaf((v.x - mu) - lo, k, b);
            v.y = fmaf((v.y - mu) - lo, k, b);
            v.z = fmaf((v.z - mu) - lo, k, b);
            v.w = fmaf((v.w - mu) - lo, k, b);
            reinterpret_cast<float4 *>(y)[g] = v;
        } else {
            y[g] = fmaf((x[g] - mu) - lo, k, b);
        }
    }
}

__device__ inline float bn_dx(float d, float xv, float mu, const float *cf)
{
    return fmaf(cf[0], d, fmaf(cf[1], xv - mu, cf[2]));
}

/* dx (+)= k dy + c1 (x - mean) + c0 per channel (coef), VEC values per thread as above. */
template <int VEC>
__global__ void bn_bwd_apply_kernel(uint32_t groups, llx_fdiv32 div_hw, llx_fdiv32 div_c,
                                    const float *__restrict__ x, const float *__restrict__ dy,
                                    const float *__restrict__ mean, const float *__restrict__ coef,
                                    bool fresh, float *__restrict__ dx)
{
    for (uint32_t g = blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += gridDim.x * blockDim.x) {
        const uint32_t c = channel_of(g * VEC, div_hw, div_c);
        const float mu = mean[c];
        const float cf[3] = {coef[3 * c], coef[3 * c + 1], coef[3 * c + 2]};
        if (VEC == 4) {
            const float4 xv = reinterpret_cast<const float4 *>(x)[g];
            const float4 d = reinterpret_cast<const float4 *>(dy)[g];
            float4 r = {bn_dx(d.x, xv.x, mu, cf), bn_dx(d.y, xv.y, mu, cf), bn_dx(d.z, xv.z, mu, cf),
                        bn_dx(d.w, xv.w, mu, cf)};
            if (!fresh) {
                const float4 o = reinterpret_cast<const float4 *>(dx)[g];
                r.x += o.x;
                r.y += o.y;
                r.z += o.z;
                r.w += o.w;
            }
            reinterpret_cast<float4 *>(dx)[g] = r;
        } else {
            const float r = bn_dx(dy[g], x[g], mu, cf);
            dx[g] = fresh ? r : dx[g] + r;
        }
    }
}

struct bn_shape {
    uint32_t n, ch, hw, slices;
    llx_fdiv32 div_hw, div_c;
};

/* Batch slices per channel: about 8 blocks per multiprocessor in all, at most N, and at
 * least 1,024 values per block. */
bn_shape shape_of(llx_backend *be, int64_t n, int64_t ch, int64_t hw)
{
    bn_shape s;
    s.n = (uint32_t)n;
    s.ch = (uint32_t)ch;
    s.hw = (uint32_t)hw;
    int64_t slices = ((int64_t)llx_cuda_sm_count(be) * 8 + ch - 1) / ch;
    if (slices > n) slices = n;
    if (slices > n * hw / 1024) slices = n * hw / 1024;
    s.slices = (uint32_t)(slices < 1 ? 1 : slices);
    s.div_hw = llx_div_make32(hw > 0 ? hw : 1); /* eval may see H*W = 0: nothing to divide */
    s.div_c = llx_div_make32(ch);
    return s;
}

/* part (2 * S * C doubles) and per_c (floats_per_c * C floats) in the backend's scratch. */
llx_status scratch_for(llx_backend *be, const bn_shape &s, int floats_per_c, double **part,
                       float **per_c, llx_error *err)
{
    const size_t part_bytes = ((size_t)2 * s.slices * s.ch * sizeof(double) + 255) & ~(size_t)255;
    void *p = nullptr;
    LLX_TRY(llx_cuda_scratch(be, part_bytes + (size_t)floats_per_c * s.ch * sizeof(float), &p, err));
    *part = (double *)p;
    *per_c = (float *)((char *)p + part_bytes);
    return LLX_OK;
}

template <bool BWD>
llx_status launch_partial(llx_backend *be, const bn_shape &s, const float *x, const float *dy,
                          const float *mean, double *part, llx_error *err)
{
    const dim3 grid(s.ch, s.slices);
    bn_partial_kernel<BWD><<<grid, k_threads, 0, llx_cuda_stream(be)>>>(s.n, s.ch, s.hw, s.div_hw,
                                                                        s.slices, x, dy, mean, part);
    return llx_cuda_launched(BWD ? "batchnorm2d backward sums" : "batchnorm2d forward sums", err);
}

bool vec4_fits(const bn_shape &s, const void *a, const void *b, const void *c)
{
    return s.hw % 4 == 0 && llx_aligned16(a) && llx_aligned16(b) && (!c || llx_aligned16(c));
}

/* An apply kernel over numel values: k4 with four per thread when vec4, else k1; args after
 * the group count. */
template <typename... P, typename... A>
llx_status launch_apply(llx_backend *be, bool vec4, int64_t numel, void (*k4)(uint32_t, P...),
                        void (*k1)(uint32_t, P...), const char *what, llx_error *err, A... args)
{
    const int64_t groups = vec4 ? numel / 4 : numel;
    (vec4 ? k4 : k1)<<<llx_cuda_grid(be, groups), LLX_CUDA_THREADS, 0, llx_cuda_stream(be)>>>(
        (uint32_t)groups, args...);
    return llx_cuda_launched(what, err);
}

} // namespace

extern "C" llx_status llx_cuda_batchnorm2d_own_forward(const llx_op_call *c, int64_t n, int64_t ch,
                                                       int64_t hw, llx_error *err)
{
    const llx_batchnorm2d_attr *a = (const llx_batchnorm2d_attr *)c->attr;
    llx_backend *be = c->backend;
    cudaStream_t stream = llx_cuda_stream(be);
    const bn_shape s = shape_of(be, n, ch, hw);
    const float *x = (const float *)c->in[0]->data;
    float *smean = (float *)c->saved, *sinv = smean + ch;
    double *part = nullptr;
    float *scale = nullptr;
    LLX_TRY(scratch_for(be, s, 2, &part, &scale, err));
    float *mlo = scale + ch;
    const bool stats = c->training && n * hw > 0;
    if (stats) LLX_TRY(launch_partial<false>(be, s, x, nullptr, nullptr, part, err));
    bn_fwd_finalize_kernel<<<llx_cuda_grid(be, ch), LLX_CUDA_THREADS, 0, stream>>>(
        s.ch, s.slices, (double)(n * hw), a->momentum, a->eps, stats, part,
        (const float *)c->in[1]->data, (float *)c->in[3]->data, (float *)c->in[4]->data, smean,
        sinv, scale, mlo);
    LLX_TRY(llx_cuda_launched("batchnorm2d statistics", err));
    const int64_t numel = n * ch * hw;
    if (numel == 0) return LLX_OK;
    float *y = (float *)c->out->data;
    const float *beta = (const float *)c->in[2]->data;
    return launch_apply(be, vec4_fits(s, x, y, nullptr), numel, bn_apply_kernel<4>, bn_apply_kernel<1>,
                        "batchnorm2d normalise", err, s.div_hw, s.div_c, x, (const float *)smean,
                        (const float *)mlo, (const float *)scale, beta, y);
}

extern "C" llx_status llx_cuda_batchnorm2d_own_backward(const llx_op_call *c, int64_t n, int64_t ch,
                                                        int64_t hw, llx_error *err)
{
    llx_backend *be = c->backend;
    cudaStream_t stream = llx_cuda_stream(be);
    const bn_shape s = shape_of(be, n, ch, hw);
    const float *x = (const float *)c->in[0]->data, *dy = (const float *)c->dout->data;
    const float *smean = (const float *)c->saved, *sinv = smean + ch;
    llx_tensor *tdx = c->din[0], *tdg = c->din[1], *tdb = c->din[2];
    double *part = nullptr;
    float *coef = nullptr;
    LLX_TRY(scratch_for(be, s, 3, &part, &coef, err));
    LLX_TRY(launch_partial<true>(be, s, x, dy, smean, part, err));
    bn_bwd_finalize_kernel<<<llx_cuda_grid(be, ch), LLX_CUDA_THREADS, 0, stream>>>(
        s.ch, s.slices, (double)(n * hw), part, (const float *)c->in[1]->data, sinv,
        tdg ? (float *)tdg->data : nullptr, tdb ? (float *)tdb->data : nullptr, coef);
    LLX_TRY(llx_cuda_launched("batchnorm2d backward coefficients", err));
    if (!tdx) return LLX_OK;
    const int64_t numel = n * ch * hw;
    float *dx = (float *)tdx->data;
    const bool fresh = llx_cuda_fresh(c, 0);
    return launch_apply(be, vec4_fits(s, x, dy, dx), numel, bn_bwd_apply_kernel<4>,
                        bn_bwd_apply_kernel<1>, "batchnorm2d backward dx", err, s.div_hw, s.div_c, x,
                        dy, smean, (const float *)coef, fresh, dx);
}
