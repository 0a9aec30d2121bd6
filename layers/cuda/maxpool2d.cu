/* maxpool2d.cu: the CUDA kernels of maxpool2d (F32, NCHW) on cuDNN pooling, as
 * layers/maxpool2d.c:
 *
 *   y[n,c,i,j] = max_{ki,kj} x[n, c, i*sh - ph + ki, j*sw - pw + kj]  (padded cells never win)
 *   dx[n,c, winner] += dy[n,c,i,j]
 *
 * Forward: cudnnPoolingForward. Backward: cudnnPoolingBackward, which finds each window's
 * winner again from x (c->in[0]) and y (c->out), and accumulates into dx (beta = 1; beta = 0
 * where c->din_fresh marks dx fresh); the CPU's saved argmax (c->saved) is not used.
 *
 * Mode CUDNN_POOLING_MAX_DETERMINISTIC: plain CUDNN_POOLING_MAX may scatter the gradients of
 * overlapping windows (3x3 stride 2) with atomics, in an order that changes from run to run.
 * Should cuDNN report NOT_SUPPORTED for the deterministic mode, the call is retried once with
 * CUDNN_POOLING_MAX. NaN: CUDNN_NOT_PROPAGATE_NAN, so a NaN does not win a window, as in the
 * CPU's `x > best` (which differs only when the NaN is the window's first real cell).
 * Max pooling in cuDNN ignores padded cells (they never win), as the CPU.
 * Ties: cuDNN gives each window's gradient to one of the tied cells; the CPU gives it to the
 * first in row-major order. Both are valid subgradients; they differ only where a window
 * holds equal maxima (e.g. zeros after a ReLU).
 *
 * These are taken only with LLX_CUDA_MAXPOOL=cudnn: llx's own kernels (maxpool2d_own.cu) are
 * the default since an H200 ran them (their backward took 0.78 ms of a ResNet-18 step where
 * cuDNN's took 1.24). */
#include "cudnn_owned.cuh"
#include "maxpool2d_own.h"

#include <climits>
#include <cstdint>
#include <cstdio>

namespace {

struct pool_geom {
    int n, c, h, w, oh, ow;
};

struct pool_descs {
    cudnn_pooling pool;
    cudnn_tensor x, y;
};

llx_status pool_fail(cudnnStatus_t s, const pool_geom &g, const llx_pool2d_attr *a,
                     const char *what, llx_error *err)
{
    char buf[224];
    snprintf(buf, sizeof buf, "maxpool2d: %s (x (%d, %d, %d, %d), k%dx%d s%dx%d p%dx%d)", what,
             g.n, g.c, g.h, g.w, a->kernel_h, a->kernel_w, a->stride_h, a->stride_w, a->pad_h,
             a->pad_w);
    return llx_cudnn_check(s, buf, err);
}

#define POOL_TRY(call, what)                                                                  \
    do {                                                                                      \
        cudnnStatus_t pool_s_ = (call);                                                       \
        if (pool_s_ != CUDNN_STATUS_SUCCESS) return pool_fail(pool_s_, g, a, (what), err);    \
    } while (0)

/* y: the output's shape (out or dout). */
llx_status geom_of(const llx_op_call *c, const llx_shape *y, pool_geom *g, llx_error *err)
{
    const llx_shape *x = &c->in[0]->shape;
    if (x->ndim != 4 || y->ndim != 4 || y->dim[0] != x->dim[0] || y->dim[1] != x->dim[1])
        return llx_errorf(err, LLX_ERR_SHAPE, "maxpool2d (cuda): input and output do not fit");
    for (int i = 0; i < 4; i++)
        if (x->dim[i] > INT_MAX || y->dim[i] > INT_MAX)
            return llx_errorf(err, LLX_ERR_UNSUPPORTED, "maxpool2d (cuda): dimension too large");
    if (llx_shape_numel(x) > INT_MAX || llx_shape_numel(y) > INT_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "maxpool2d (cuda): tensors over 2^31 elements are not supported by "
                          "cuDNN pooling; use a smaller batch");
    *g = pool_geom{(int)x->dim[0], (int)x->dim[1], (int)x->dim[2],
                   (int)x->dim[3], (int)y->dim[2], (int)y->dim[3]};
    return LLX_OK;
}

llx_status set_pool_mode(pool_descs *d, const pool_geom &g, const llx_pool2d_attr *a,
                         cudnnPoolingMode_t mode, llx_error *err)
{
    POOL_TRY(cudnnSetPooling2dDescriptor(d->pool, mode, CUDNN_NOT_PROPAGATE_NAN, a->kernel_h,
                                         a->kernel_w, a->pad_h, a->pad_w, a->stride_h,
                                         a->stride_w),
             "cudnnSetPooling2dDescriptor");
    return LLX_OK;
}

llx_status make_descs(const pool_geom &g, const llx_pool2d_attr *a, pool_descs *d,
                      llx_error *err)
{
    POOL_TRY(cudnnCreatePoolingDescriptor(&d->pool.d), "cudnnCreatePoolingDescriptor");
    LLX_TRY(set_pool_mode(d, g, a, CUDNN_POOLING_MAX_DETERMINISTIC, err));
    POOL_TRY(cudnnCreateTensorDescriptor(&d->x.d), "cudnnCreateTensorDescriptor");
    POOL_TRY(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.n, g.c, g.h,
                                        g.w),
             "cudnnSetTensor4dDescriptor (x)");
    POOL_TRY(cudnnCreateTensorDescriptor(&d->y.d), "cudnnCreateTensorDescriptor");
    POOL_TRY(cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.n, g.c, g.oh,
                                        g.ow),
             "cudnnSetTensor4dDescriptor (y)");
    int n = 0, ch = 0, oh = 0, ow = 0;
    POOL_TRY(cudnnGetPooling2dForwardOutputDim(d->pool, d->x, &n, &ch, &oh, &ow),
             "cudnnGetPooling2dForwardOutputDim");
    if (n != g.n || ch != g.c || oh != g.oh || ow != g.ow)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "maxpool2d (cuda): cuDNN computes output (%d, %d, %d, %d) but the "
                          "output tensor is (%d, %d, %d, %d)",
                          n, ch, oh, ow, g.n, g.c, g.oh, g.ow);
    return LLX_OK;
}

const float k_one = 1.0f, k_zero = 0.0f;

} // namespace

extern "C" llx_status llx_cuda_maxpool2d_forward(const llx_op_call *c, llx_error *err)
{
    if (llx_cuda_env()->own_maxpool) return llx_cuda_maxpool2d_own_forward(c, err);
    LLX_TRY(llx_cuda_require_f32(c, err));
    const llx_pool2d_attr *a = (const llx_pool2d_attr *)c->attr;
    pool_geom g{};
    LLX_TRY(geom_of(c, &c->out->shape, &g, err));
    if (llx_tensor_numel(c->out) == 0) return LLX_OK;
    pool_descs d;
    LLX_TRY(make_descs(g, a, &d, err));
    cudnnHandle_t h = llx_cuda_cudnn(c->backend);
    cudnnStatus_t s = cudnnPoolingForward(h, d.pool, &k_one, d.x, c->in[0]->data, &k_zero, d.y,
                                          c->out->data);
    if (s == CUDNN_STATUS_NOT_SUPPORTED) {
        LLX_TRY(set_pool_mode(&d, g, a, CUDNN_POOLING_MAX, err));
        s = cudnnPoolingForward(h, d.pool, &k_one, d.x, c->in[0]->data, &k_zero, d.y,
                                c->out->data);
    }
    POOL_TRY(s, "cudnnPoolingForward");
    return LLX_OK;
}

extern "C" llx_status llx_cuda_maxpool2d_backward(const llx_op_call *c, llx_error *err)
{
    if (llx_cuda_env()->own_maxpool) return llx_cuda_maxpool2d_own_backward(c, err);
    if (!c->din[0]) return LLX_OK;
    if (!c->dout)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "maxpool2d (cuda): backward without an output gradient");
    LLX_TRY(llx_cuda_require_f32(c, err));
    const llx_pool2d_attr *a = (const llx_pool2d_attr *)c->attr;
    pool_geom g{};
    LLX_TRY(geom_of(c, &c->dout->shape, &g, err));
    if (llx_tensor_numel(c->dout) == 0) return LLX_OK;
    pool_descs d;
    LLX_TRY(make_descs(g, a, &d, err));
    cudnnHandle_t h = llx_cuda_cudnn(c->backend);
    const float *beta = llx_cuda_beta(c, 0);
    /* y: the forward output, which the engine keeps unchanged until backward */
    cudnnStatus_t s = cudnnPoolingBackward(h, d.pool, &k_one, d.y, c->out->data, d.y,
                                           c->dout->data, d.x, c->in[0]->data, beta, d.x,
                                           c->din[0]->data);
    if (s == CUDNN_STATUS_NOT_SUPPORTED) {
        LLX_TRY(set_pool_mode(&d, g, a, CUDNN_POOLING_MAX, err));
        s = cudnnPoolingBackward(h, d.pool, &k_one, d.y, c->out->data, d.y, c->dout->data, d.x,
                                 c->in[0]->data, beta, d.x, c->din[0]->data);
    }
    POOL_TRY(s, "cudnnPoolingBackward");
    return LLX_OK;
}
