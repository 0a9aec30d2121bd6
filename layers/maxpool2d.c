/* maxpool2d.c: max pooling over KHxKW windows, NCHW.
 *
 *   y[n,c,i,j] = max_{ki,kj} x[n, c, i*sh - ph + ki, j*sw - pw + kj]  (padded cells never win)
 *   H' = floor((H + 2*ph - KH) / sh) + 1, likewise W'.
 *
 * Forward saves the winner of each output as an int32 index into its input plane (h*W + w).
 * Gradient (accumulated): dx[n, c, argmax] += dy[n, c, i, j]. One thread per (n, c) plane,
 * so the accumulation order does not depend on scheduling. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "maxpool2d.c"
#include "typed_impl.h"

static llx_status maxpool2d_infer(const void *attr, const llx_shape *in, int n_in,
                                  llx_shape *out, llx_error *err)
{
    const llx_pool2d_attr *a = attr;
    char xs[64];
    LLX_TRY(llx_require_4d(&in[0], "maxpool2d", "input", err));
    llx_shape_str(&in[0], xs, sizeof xs);
    if (a->kernel_h < 1 || a->kernel_w < 1 || a->stride_h < 1 || a->stride_w < 1)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "maxpool2d: kernel and stride must be >= 1, "
                          "got kernel %dx%d stride %dx%d",
                          a->kernel_h, a->kernel_w, a->stride_h, a->stride_w);
    if (a->pad_h < 0 || a->pad_w < 0 || 2 * a->pad_h > a->kernel_h || 2 * a->pad_w > a->kernel_w)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "maxpool2d: padding %dx%d must be between 0 and half the kernel %dx%d",
                          a->pad_h, a->pad_w, a->kernel_h, a->kernel_w);
    int64_t hp = in[0].dim[2] + 2 * a->pad_h, wp = in[0].dim[3] + 2 * a->pad_w;
    if (hp < a->kernel_h || wp < a->kernel_w)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "maxpool2d: input %s is too small for the %dx%d window "
                          "(padded size %lldx%lld)",
                          xs, a->kernel_h, a->kernel_w, (long long)hp, (long long)wp);
    *out = llx_shape4(in[0].dim[0], in[0].dim[1], (hp - a->kernel_h) / a->stride_h + 1,
                      (wp - a->kernel_w) / a->stride_w + 1);
    return LLX_OK;
}

/* argmax: one int32 per output element. */
static size_t maxpool2d_saved(const void *attr, const llx_shape *in, int n_in,
                              const llx_shape *out, llx_dtype dt)
{
    return (size_t)llx_shape_numel(out) * sizeof(int32_t);
}

static void maxpool2d_describe(const void *attr, char *buf, size_t cap)
{
    const llx_pool2d_attr *a = attr;
    if (a->kernel_h == a->kernel_w && a->stride_h == a->stride_w && a->pad_h == a->pad_w)
        snprintf(buf, cap, "k%d s%d p%d", a->kernel_h, a->stride_h, a->pad_h);
    else
        snprintf(buf, cap, "k%dx%d s%dx%d p%dx%d", a->kernel_h, a->kernel_w, a->stride_h,
                 a->stride_w, a->pad_h, a->pad_w);
}

static llx_status maxpool2d_forward(const llx_op_call *c, llx_error *err)
{
    const llx_shape *x = &c->in[0]->shape, *y = &c->out->shape;
    if (x->dim[2] * x->dim[3] > INT32_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "maxpool2d: input plane too large for int32");
    LLX_DISPATCH(c->out->dtype, maxpool2d_fwd, c->attr, y->dim[0] * y->dim[1], x->dim[2],
                 x->dim[3], y->dim[2], y->dim[3], c->in[0]->data, c->out->data, c->saved);
    return LLX_OK;
}

static llx_status maxpool2d_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    const llx_shape *x = &c->in[0]->shape, *y = &c->out->shape;
    LLX_DISPATCH(c->out->dtype, maxpool2d_bwd, y->dim[0] * y->dim[1], x->dim[2] * x->dim[3],
                 y->dim[2] * y->dim[3], c->saved, c->dout->data, c->din[0]->data);
    return LLX_OK;
}

const llx_op_desc llx_op_maxpool2d = {
    .name = "maxpool2d",
    .attr_size = sizeof(llx_pool2d_attr),
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = maxpool2d_infer,
    .saved_bytes = maxpool2d_saved,
    .describe = maxpool2d_describe,
    .kernels[LLX_DEVICE_CPU] = {.forward = maxpool2d_forward, .backward = maxpool2d_backward},
    LLX_CUDA_KERNELS_FRESH(maxpool2d)
};

#else

/* x (planes, H, W) -> y (planes, OH, OW); argmax (planes, OH, OW) int32 into the input plane. */
static void T_(maxpool2d_fwd)(const llx_pool2d_attr *a, int64_t planes, int64_t h, int64_t w,
                              int64_t oh, int64_t ow, const real *x, real *y, int32_t *argmax)
{
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const real *xp = x + p * h * w;
        for (int64_t i = 0; i < oh; i++) {
            int64_t h0 = i * a->stride_h - a->pad_h;
            int64_t hs = h0 < 0 ? 0 : h0, he = h0 + a->kernel_h > h ? h : h0 + a->kernel_h;
            for (int64_t j = 0; j < ow; j++) {
                int64_t w0 = j * a->stride_w - a->pad_w;
                int64_t ws = w0 < 0 ? 0 : w0, we = w0 + a->kernel_w > w ? w : w0 + a->kernel_w;
                int64_t best = hs * w + ws;
                for (int64_t hi = hs; hi < he; hi++)
                    for (int64_t wi = ws; wi < we; wi++)
                        if (xp[hi * w + wi] > xp[best]) best = hi * w + wi;
                y[(p * oh + i) * ow + j] = xp[best];
                argmax[(p * oh + i) * ow + j] = (int32_t)best;
            }
        }
    }
}

/* dy (planes, OHW), argmax like dy; accumulates into dx (planes, HW). */
static void T_(maxpool2d_bwd)(int64_t planes, int64_t hw, int64_t ohw, const int32_t *argmax,
                              const real *dy, real *dx)
{
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t k = 0; k < ohw; k++) dx[p * hw + argmax[p * ohw + k]] += dy[p * ohw + k];
}

#endif
