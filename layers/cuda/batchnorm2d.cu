/* batchnorm2d.cu: the CUDA kernels of batchnorm2d (F32, NCHW) on cuDNN, as
 * layers/batchnorm2d.c:
 *
 *   y = gamma[c] * (x - mean[c]) * invstd[c] + beta[c],   invstd = 1 / sqrt(var + eps)
 *
 * Inputs x (N, C, H, W), gamma, beta, running_mean, running_var (C); attr {momentum, eps}.
 * Saved state (c->saved, 2*C floats): mean (C) then invstd (C).
 *
 * Training forward: cudnnBatchNormalizationForwardTraining, mode CUDNN_BATCHNORM_SPATIAL,
 * exponentialAverageFactor = momentum, so running = (1 - momentum) * running + momentum *
 * batch, with the unbiased batch variance (M / (M - 1), M = N*H*W) for running_var, as
 * PyTorch (which passes its momentum to cuDNN the same way); cuDNN's resultSaveMean and
 * resultSaveInvVariance (batch mean, 1 / sqrt(biased var + eps)) go to c->saved.
 * Eval forward: cudnnBatchNormalizationForwardInference on the running statistics, and a
 * small kernel that saves mean = running_mean, invstd = 1 / sqrt(running_var + eps) (in
 * double, then rounded, as the CPU) for the eval backward.
 *
 * Backward, gradients accumulated (+=), dx written instead where c->din_fresh says so
 * (betaDataDiff 0; the eval kernel's `fresh`); fresh gamma/beta gradients (inputs that are
 * not parameters) are zeroed first, since one betaParamDiff serves both:
 *   training: cudnnBatchNormalizationBackward with alphaDataDiff = betaDataDiff = 1 and
 *             alphaParamDiff = betaParamDiff = 1; cuDNN writes all three gradients, so a
 *             NULL din[0] / din[1] / din[2] gets a scratch buffer instead (betaDataDiff 0 for a
 *             scratch dx, zeroed scratch for a missing parameter gradient);
 *   eval:     dx += gamma * invstd * dy, dbeta += sum dy, dgamma += sum dy * xhat
 *             (xhat = (x - mean) * invstd from the saved state), one block per channel,
 *             sums in double as the CPU, a fixed reduction tree (deterministic).
 *
 * LLX_CUDA_BN=llx takes llx's own kernels (batchnorm2d_own.cu) for the training forward and
 * backward and the eval forward, after the same checks.
 *
 * Mode: CUDNN_BATCHNORM_SPATIAL. SPATIAL_PERSISTENT can be faster but may reduce through
 * scaled integer atomics with a reduced dynamic range (NaN/Inf on overflow for large finite
 * inputs, only detectable with cudnnQueryRuntimeError), and PyTorch keeps plain SPATIAL for
 * NCHW because of reported accuracy losses; the persistent kernels mainly pay off for NHWC. */
#include "batchnorm2d_own.h"
#include "cudnn_owned.cuh"
#include "kernel_util.cuh"

#include <climits>
#include <cstdint>
#include <cstdio>

namespace {

constexpr int k_bwd_threads = 256;

struct bn_descs {
    cudnn_tensor x, bn;
};

struct bn_geom {
    int64_t n, c, h, w;
};

llx_status bn_fail(cudnnStatus_t s, const bn_geom &g, const char *what, llx_error *err)
{
    char buf[192];
    snprintf(buf, sizeof buf, "batchnorm2d: %s (x (%lld, %lld, %lld, %lld))", what,
             (long long)g.n, (long long)g.c, (long long)g.h, (long long)g.w);
    return llx_cudnn_check(s, buf, err);
}

#define BN_TRY(call, what)                                                                    \
    do {                                                                                      \
        cudnnStatus_t bn_s_ = (call);                                                         \
        if (bn_s_ != CUDNN_STATUS_SUCCESS) return bn_fail(bn_s_, g, (what), err);             \
    } while (0)

llx_status geom_of(const llx_op_call *c, bn_geom *g, llx_error *err)
{
    const llx_shape *x = &c->in[0]->shape;
    if (x->ndim != 4)
        return llx_errorf(err, LLX_ERR_SHAPE, "batchnorm2d (cuda): input must be (N, C, H, W)");
    for (int i = 1; i < 5; i++)
        if (c->in[i]->shape.ndim != 1 || c->in[i]->shape.dim[0] != x->dim[1])
            return llx_errorf(err, LLX_ERR_SHAPE,
                              "batchnorm2d (cuda): parameter %d does not fit the input's %lld "
                              "channels",
                              i, (long long)x->dim[1]);
    for (int i = 0; i < 4; i++)
        if (x->dim[i] > INT_MAX)
            return llx_errorf(err, LLX_ERR_UNSUPPORTED, "batchnorm2d (cuda): dimension %lld too large",
                              (long long)x->dim[i]);
    if (llx_shape_numel(x) > INT_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "batchnorm2d (cuda): tensors over 2^31 elements are not supported by "
                          "cuDNN's batch normalisation; use a smaller batch");
    *g = bn_geom{x->dim[0], x->dim[1], x->dim[2], x->dim[3]};
    return LLX_OK;
}

llx_status make_descs(const bn_geom &g, bn_descs *d, llx_error *err)
{
    BN_TRY(cudnnCreateTensorDescriptor(&d->x.d), "cudnnCreateTensorDescriptor");
    BN_TRY(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)g.n,
                                      (int)g.c, (int)g.h, (int)g.w),
           "cudnnSetTensor4dDescriptor");
    BN_TRY(cudnnCreateTensorDescriptor(&d->bn.d), "cudnnCreateTensorDescriptor");
    BN_TRY(cudnnDeriveBNTensorDescriptor(d->bn, d->x, CUDNN_BATCHNORM_SPATIAL),
           "cudnnDeriveBNTensorDescriptor");
    return LLX_OK;
}

llx_status check_eps(double eps, llx_error *err)
{
    if (!(eps >= CUDNN_BN_MIN_EPSILON) || !(eps > 0))
        return llx_errorf(err, LLX_ERR_INVALID,
                          "batchnorm2d (cuda): eps %g must be > 0 and >= CUDNN_BN_MIN_EPSILON (%g)",
                          eps, (double)CUDNN_BN_MIN_EPSILON);
    return LLX_OK;
}

/* Eval: saved mean = running_mean, invstd = 1 / sqrt(running_var + eps), in double. */
__global__ void bn_eval_saved_kernel(int64_t c, const float *rmean, const float *rvar,
                                     double eps, float *smean, float *sinv)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < c; i += stride) {
        smean[i] = rmean[i];
        sinv[i] = (float)(1.0 / sqrt((double)rvar[i] + eps));
    }
}

/* Eval backward, one block per channel: dx += gamma * invstd * dy (= when fresh);
 * dbeta += sum dy; dgamma += sum dy * (x - mean) * invstd. dx, dgamma, dbeta may be NULL. */
__global__ void __launch_bounds__(k_bwd_threads)
    bn_eval_bwd_kernel(int64_t n, int64_t c, int64_t hw, const float *x, const float *gamma,
                       const float *smean, const float *sinv, const float *dy, float *dx,
                       bool fresh, float *dgamma, float *dbeta)
{
    __shared__ double smem[32];
    const int64_t ch = blockIdx.x;
    const double mean = smean[ch], inv = sinv[ch], k = (double)gamma[ch] * inv;
    const int64_t m = n * hw;
    double sdy = 0, sdyx = 0;
    for (int64_t t = threadIdx.x; t < m; t += blockDim.x) {
        const int64_t i = t / hw, j = t - i * hw;
        const int64_t off = (i * c + ch) * hw + j;
        const float d = dy[off];
        sdy += d;
        sdyx += (double)d * ((double)x[off] - mean) * inv;
        if (dx) dx[off] = (fresh ? 0.0f : dx[off]) + (float)(k * d);
    }
    sdy = llx_block_sum_d(sdy, smem);
    sdyx = llx_block_sum_d(sdyx, smem);
    if (threadIdx.x == 0) {
        if (dbeta) dbeta[ch] += (float)sdy;
        if (dgamma) dgamma[ch] += (float)sdyx;
    }
}

const float k_one = 1.0f, k_zero = 0.0f;

size_t align256(size_t b) { return (b + 255) & ~(size_t)255; }

} // namespace

extern "C" llx_status llx_cuda_batchnorm2d_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    const llx_batchnorm2d_attr *a = (const llx_batchnorm2d_attr *)c->attr;
    bn_geom g{};
    LLX_TRY(geom_of(c, &g, err));
    if (c->training && g.n * g.h * g.w < 2)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "batchnorm2d: training needs more than 1 value per channel, input "
                          "(%lld, %lld, %lld, %lld)",
                          (long long)g.n, (long long)g.c, (long long)g.h, (long long)g.w);
    LLX_TRY(check_eps(a->eps, err));
    if (g.c == 0) return LLX_OK;
    if (llx_cuda_env()->own_bn) return llx_cuda_batchnorm2d_own_forward(c, g.n, g.c, g.h * g.w, err);
    llx_backend *be = c->backend;
    float *smean = (float *)c->saved, *sinv = smean + g.c;
    if (!c->training) {
        /* the saved state first: it depends on the running statistics only */
        bn_eval_saved_kernel<<<llx_cuda_grid(be, g.c), LLX_CUDA_THREADS, 0, llx_cuda_stream(be)>>>(
            g.c, (const float *)c->in[3]->data, (const float *)c->in[4]->data, a->eps, smean,
            sinv);
        LLX_TRY(llx_cuda_launched("batchnorm2d eval saved state", err));
        if (g.n * g.h * g.w == 0) return LLX_OK;
    }
    bn_descs d;
    LLX_TRY(make_descs(g, &d, err));
    cudnnHandle_t h = llx_cuda_cudnn(be);
    if (c->training)
        BN_TRY(cudnnBatchNormalizationForwardTraining(
                   h, CUDNN_BATCHNORM_SPATIAL, &k_one, &k_zero, d.x, c->in[0]->data, d.x,
                   c->out->data, d.bn, c->in[1]->data, c->in[2]->data, a->momentum,
                   c->in[3]->data, c->in[4]->data, a->eps, smean, sinv),
               "cudnnBatchNormalizationForwardTraining");
    else
        BN_TRY(cudnnBatchNormalizationForwardInference(
                   h, CUDNN_BATCHNORM_SPATIAL, &k_one, &k_zero, d.x, c->in[0]->data, d.x,
                   c->out->data, d.bn, c->in[1]->data, c->in[2]->data, c->in[3]->data,
                   c->in[4]->data, a->eps),
               "cudnnBatchNormalizationForwardInference");
    return LLX_OK;
}

extern "C" llx_status llx_cuda_batchnorm2d_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->dout)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "batchnorm2d (cuda): backward without an output gradient");
    llx_tensor *tdx = c->din[0], *tdg = c->din[1], *tdb = c->din[2];
    if (!tdx && !tdg && !tdb) return LLX_OK;
    LLX_TRY(llx_cuda_require_f32(c, err));
    const llx_batchnorm2d_attr *a = (const llx_batchnorm2d_attr *)c->attr;
    bn_geom g{};
    LLX_TRY(geom_of(c, &g, err));
    LLX_TRY(check_eps(a->eps, err));
    const int64_t m = g.n * g.h * g.w;
    LLX_TRY(llx_cuda_fresh_zero(c, 6u, err)); /* gamma, beta: only accumulated below */
    if (g.c == 0 || m == 0) return LLX_OK;
    llx_backend *be = c->backend;
    cudaStream_t stream = llx_cuda_stream(be);
    const float *smean = (const float *)c->saved, *sinv = smean + g.c;
    float *dx = tdx ? (float *)tdx->data : nullptr;
    float *dg = tdg ? (float *)tdg->data : nullptr;
    float *db = tdb ? (float *)tdb->data : nullptr;
    const bool fresh_dx = llx_cuda_fresh(c, 0);

    if (!c->training) {
        bn_eval_bwd_kernel<<<(unsigned)g.c, k_bwd_threads, 0, stream>>>(
            g.n, g.c, g.h * g.w, (const float *)c->in[0]->data, (const float *)c->in[1]->data,
            smean, sinv, (const float *)c->dout->data, dx, fresh_dx, dg, db);
        return llx_cuda_launched("batchnorm2d eval backward", err);
    }
    if (llx_cuda_env()->own_bn) return llx_cuda_batchnorm2d_own_backward(c, g.n, g.c, g.h * g.w, err);

    /* Scratch for the gradients cuDNN must write but nobody asked for. */
    const size_t x_bytes = (size_t)llx_shape_numel(&c->in[0]->shape) * sizeof(float);
    const size_t p_bytes = (size_t)g.c * sizeof(float);
    size_t off_dx = 0, off_dg = 0, off_db = 0, total = 0;
    if (!dx) {
        off_dx = total;
        total += align256(x_bytes);
    }
    const size_t params_from = total;
    if (!dg) {
        off_dg = total;
        total += align256(p_bytes);
    }
    if (!db) {
        off_db = total;
        total += align256(p_bytes);
    }
    if (total > 0) {
        void *s = nullptr;
        LLX_TRY(llx_cuda_scratch(be, total, &s, err));
        char *base = (char *)s;
        if (!dx) dx = (float *)(base + off_dx);
        if (!dg) dg = (float *)(base + off_dg);
        if (!db) db = (float *)(base + off_db);
        if (total > params_from)
            LLX_CUDA_TRY(cudaMemsetAsync(base + params_from, 0, total - params_from, stream),
                         "batchnorm2d: zeroing scratch parameter gradients");
    }
    bn_descs d;
    LLX_TRY(make_descs(g, &d, err));
    const float *beta_data = tdx ? llx_cuda_beta(c, 0) : &k_zero; /* scratch dx: not read */
    BN_TRY(cudnnBatchNormalizationBackward(llx_cuda_cudnn(be), CUDNN_BATCHNORM_SPATIAL, &k_one,
                                           beta_data, &k_one, &k_one, d.x, c->in[0]->data, d.x,
                                           c->dout->data, d.x, dx, d.bn, c->in[1]->data, dg, db,
                                           a->eps, smean, sinv),
           "cudnnBatchNormalizationBackward");
    return LLX_OK;
}
