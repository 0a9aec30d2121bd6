/* maxpool2d_own.cu: llx's own max-pooling kernels (F32, NCHW), taken by maxpool2d.cu by
 * default (cuDNN's with LLX_CUDA_MAXPOOL=cudnn; these passed test_gpu_ops on an H200 and took
 * 0.95 ms of a ResNet-18 step where cuDNN's took 1.41). As
 * layers/maxpool2d.c:
 *
 *   y[p,i,j] = max over the window of x[p, i*sh - ph + ki, j*sw - pw + kj]   (p = n*C + c)
 *   dx[p, argmax[p,i,j]] += dy[p,i,j]
 *
 * The same rule as the CPU: the window's first in-bounds cell in row-major order starts as
 * the best and a later cell wins only when strictly greater, so padded cells never win and
 * ties go to the first; argmax (int32, the cell's index in its H*W plane, one per output)
 * goes to c->saved, the CPU's layout.
 *
 * Backward gathers instead of scattering: one thread per input cell visits the outputs
 * whose windows cover it (at most ceil(kh/sh) * ceil(kw/sw), 4 for the ResNet stem's 3x3
 * stride 2) and adds the dy of those whose argmax is this cell, in output order. No atomics,
 * so it is deterministic, and dx is read and written once, coalesced (written without being
 * read where c->din_fresh marks it fresh).
 *
 * (cuDNN's deterministic max-pooling backward took 1.2 ms of a 17 ms ResNet-18 training step
 * at batch 256, 112x112, on an H200; this is one pass over x's size.) */
#include "maxpool2d_own.h"
#include "kernel_util.cuh"

namespace {

struct pool_geom {
    int64_t planes; /* N * C */
    int h, w, oh, ow;
    int kh, kw, sh, sw, ph, pw;
};

/* One thread per output cell: y and argmax. */
__global__ void maxpool_fwd_kernel(pool_geom g, const float *__restrict__ x, float *__restrict__ y,
                                   int32_t *__restrict__ argmax)
{
    const int64_t total = g.planes * g.oh * g.ow;
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total;
         o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = o / ((int64_t)g.oh * g.ow);
        const int rem = (int)(o - p * g.oh * g.ow);
        const int i = rem / g.ow, j = rem % g.ow;
        const int h0 = i * g.sh - g.ph, w0 = j * g.sw - g.pw;
        const int hs = h0 < 0 ? 0 : h0, he = h0 + g.kh > g.h ? g.h : h0 + g.kh;
        const int ws = w0 < 0 ? 0 : w0, we = w0 + g.kw > g.w ? g.w : w0 + g.kw;
        const float *xp = x + p * g.h * g.w;
        int best = hs * g.w + ws;
        float v = xp[best];
        for (int hi = hs; hi < he; hi++)
            for (int wi = ws; wi < we; wi++) {
                const float t = xp[hi * g.w + wi];
                if (t > v) {
                    v = t;
                    best = hi * g.w + wi;
                }
            }
        y[o] = v;
        argmax[o] = best;
    }
}

/* First output index (rows or columns) whose window [o*s - pad, o*s - pad + k) covers cell
 * `at`, and the last, clipped to [0, n). */
__device__ inline void covering(int at, int k, int s, int pad, int n, int *first, int *last)
{
    const int lo = at + pad - k + 1; /* o*s >= lo */
    *first = lo <= 0 ? 0 : (lo + s - 1) / s;
    const int hi = (at + pad) / s; /* o*s <= at + pad */
    *last = hi < n - 1 ? hi : n - 1;
}

/* One thread per input cell: dx += the dy of every window it won (dx = ... when fresh). */
__global__ void maxpool_bwd_kernel(pool_geom g, const float *__restrict__ dy,
                                   const int32_t *__restrict__ argmax, float *__restrict__ dx,
                                   bool fresh)
{
    const int64_t total = g.planes * g.h * g.w;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < total;
         q += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = q / ((int64_t)g.h * g.w);
        const int cell = (int)(q - p * g.h * g.w);
        const int ih = cell / g.w, iw = cell % g.w;
        int i0, i1, j0, j1;
        covering(ih, g.kh, g.sh, g.ph, g.oh, &i0, &i1);
        covering(iw, g.kw, g.sw, g.pw, g.ow, &j0, &j1);
        const int64_t base = p * g.oh * g.ow;
        float acc = 0.0f;
        for (int i = i0; i <= i1; i++)
            for (int j = j0; j <= j1; j++) {
                const int64_t o = base + (int64_t)i * g.ow + j;
                if (argmax[o] == cell) acc += dy[o];
            }
        if (fresh)
            dx[q] = acc;
        else if (acc != 0.0f)
            dx[q] += acc;
    }
}

llx_status geom_of(const llx_op_call *c, const llx_shape *out, pool_geom *g, llx_error *err)
{
    const llx_pool2d_attr *a = (const llx_pool2d_attr *)c->attr;
    const llx_shape *x = &c->in[0]->shape;
    if (x->ndim != 4 || out->ndim != 4 || x->dim[2] > INT32_MAX / 2 || x->dim[3] > INT32_MAX / 2)
        return llx_errorf(err, LLX_ERR_SHAPE, "maxpool2d (cuda): input must be 4-D (N, C, H, W)");
    if (x->dim[2] * x->dim[3] > (int64_t)INT32_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "maxpool2d (cuda): H*W over 2^31");
    *g = pool_geom{x->dim[0] * x->dim[1], (int)x->dim[2], (int)x->dim[3], (int)out->dim[2],
                   (int)out->dim[3], a->kernel_h, a->kernel_w, a->stride_h, a->stride_w,
                   a->pad_h, a->pad_w};
    return LLX_OK;
}

} // namespace

llx_status llx_cuda_maxpool2d_own_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    pool_geom g;
    LLX_TRY(geom_of(c, &c->out->shape, &g, err));
    const int64_t n = llx_tensor_numel(c->out);
    if (n == 0) return LLX_OK;
    maxpool_fwd_kernel<<<llx_cuda_grid(c->backend, n), LLX_CUDA_THREADS, 0,
                         llx_cuda_stream(c->backend)>>>(g, (const float *)c->in[0]->data,
                                                        (float *)c->out->data, (int32_t *)c->saved);
    return llx_cuda_launched("maxpool2d forward kernel", err);
}

llx_status llx_cuda_maxpool2d_own_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    if (!c->dout)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "maxpool2d (cuda): backward without an output gradient");
    LLX_TRY(llx_cuda_require_f32(c, err));
    pool_geom g;
    LLX_TRY(geom_of(c, &c->dout->shape, &g, err));
    const int64_t n = llx_tensor_numel(c->din[0]);
    if (n == 0 || llx_tensor_numel(c->dout) == 0) return LLX_OK;
    maxpool_bwd_kernel<<<llx_cuda_grid(c->backend, n), LLX_CUDA_THREADS, 0,
                         llx_cuda_stream(c->backend)>>>(g, (const float *)c->dout->data,
                                                        (const int32_t *)c->saved,
                                                        (float *)c->din[0]->data,
                                                        llx_cuda_fresh(c, 0));
    return llx_cuda_launched("maxpool2d backward kernel", err);
}
