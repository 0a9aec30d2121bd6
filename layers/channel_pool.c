/* channel_pool.c: x (N, C, H, W) -> y (N, 1, H, W), one value per pixel across channels
 * (the two maps of CBAM's spatial gate):
 *   channel_mean: y = mean over C;  dx += dy / C at every channel.
 *   channel_max:  y = max over C;   dx += dy at the first channel holding the max (saved
 *                 argmax channel, one int32 per (n, h, w)); the other channels get nothing.
 * Gradients accumulate into dx. Kernels walk whole channel planes (contiguous H*W runs),
 * a task being one image and CP_CHUNK pixels. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"

#define CP_CHUNK 512 /* pixels per task */

#define LLX_TYPED_FILE "channel_pool.c"
#include "typed_impl.h"

static llx_status cpool_infer(const char *op, const llx_shape *in, llx_shape *out,
                              llx_error *err)
{
    LLX_TRY(llx_require_4d(&in[0], op, "input", err));
    if (llx_shape_numel(&in[0]) == 0) {
        char buf[64];
        return llx_errorf(err, LLX_ERR_SHAPE, "%s: input %s is empty", op,
                          llx_shape_str(&in[0], buf, sizeof buf));
    }
    *out = llx_shape4(in[0].dim[0], 1, in[0].dim[2], in[0].dim[3]);
    return LLX_OK;
}

static llx_status cmean_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                              llx_error *err)
{
    return cpool_infer("channel_mean", in, out, err);
}

static llx_status cmax_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                             llx_error *err)
{
    return cpool_infer("channel_max", in, out, err);
}

/* The argmax channel: one int32 per (n, h, w). */
static size_t cmax_saved_bytes(const void *attr, const llx_shape *in, int n_in,
                               const llx_shape *out, llx_dtype dt)
{
    return (size_t)(in[0].dim[0] * in[0].dim[2] * in[0].dim[3]) * sizeof(int32_t);
}

/* The call's input (N, C, H*W), read at run time. */
typedef struct cpool_dims {
    int64_t n, c, hw;
} cpool_dims;

static cpool_dims cpool_dims_of(const llx_op_call *c)
{
    const int64_t *d = c->in[0]->shape.dim;
    return (cpool_dims){.n = d[0], .c = d[1], .hw = d[2] * d[3]};
}

static llx_status cmean_forward(const llx_op_call *c, llx_error *err)
{
    cpool_dims d = cpool_dims_of(c);
    LLX_DISPATCH(c->out->dtype, cmean_fwd, c->in[0]->data, c->out->data, d.n, d.c, d.hw);
    return LLX_OK;
}

static llx_status cmean_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    cpool_dims d = cpool_dims_of(c);
    LLX_DISPATCH(c->out->dtype, cmean_bwd, c->dout->data, c->din[0]->data, d.n, d.c, d.hw);
    return LLX_OK;
}

static llx_status cmax_forward(const llx_op_call *c, llx_error *err)
{
    cpool_dims d = cpool_dims_of(c);
    LLX_DISPATCH(c->out->dtype, cmax_fwd, c->in[0]->data, c->out->data, c->saved, d.n, d.c,
                 d.hw);
    return LLX_OK;
}

static llx_status cmax_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    cpool_dims d = cpool_dims_of(c);
    LLX_DISPATCH(c->out->dtype, cmax_bwd, c->dout->data, c->saved, c->din[0]->data, d.n, d.c,
                 d.hw);
    return LLX_OK;
}

const llx_op_desc llx_op_channel_mean = {
    .name = "channel_mean",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = cmean_infer,
    .kernels[LLX_DEVICE_CPU] = {.forward = cmean_forward, .backward = cmean_backward},
    LLX_CUDA_KERNELS(channel_mean)
};

const llx_op_desc llx_op_channel_max = {
    .name = "channel_max",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = cmax_infer,
    .saved_bytes = cmax_saved_bytes,
    .kernels[LLX_DEVICE_CPU] = {.forward = cmax_forward, .backward = cmax_backward},
    LLX_CUDA_KERNELS(channel_max)
};

#else

/* x: (n, c, hw) -> y: (n, hw) mean over c. */
static void T_(cmean_fwd)(const real *x, real *y, int64_t n, int64_t c, int64_t hw)
{
    const int64_t nchunk = (hw + CP_CHUNK - 1) / CP_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < n * nchunk; task++) {
        const int64_t b = task / nchunk, p0 = (task % nchunk) * CP_CHUNK;
        const int64_t len = hw - p0 < CP_CHUNK ? hw - p0 : CP_CHUNK;
        real acc[CP_CHUNK] = {0};
        for (int64_t ch = 0; ch < c; ch++) {
            const real *p = x + (b * c + ch) * hw + p0;
            for (int64_t k = 0; k < len; k++) acc[k] += p[k];
        }
        for (int64_t k = 0; k < len; k++) y[b * hw + p0 + k] = acc[k] / (real)c;
    }
}

/* dy: (n, hw) -> dx: (n, c, hw) += dy / c. */
static void T_(cmean_bwd)(const real *dy, real *dx, int64_t n, int64_t c, int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < n * c; plane++) {
        const real *g = dy + (plane / c) * hw;
        real *d = dx + plane * hw;
        const real inv = 1 / (real)c;
        for (int64_t k = 0; k < hw; k++) d[k] += g[k] * inv;
    }
}

/* x: (n, c, hw) -> y: (n, hw) max over c, arg: (n, hw) its first channel. */
static void T_(cmax_fwd)(const real *x, real *y, int32_t *arg, int64_t n, int64_t c, int64_t hw)
{
    const int64_t nchunk = (hw + CP_CHUNK - 1) / CP_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < n * nchunk; task++) {
        const int64_t b = task / nchunk, p0 = (task % nchunk) * CP_CHUNK;
        const int64_t len = hw - p0 < CP_CHUNK ? hw - p0 : CP_CHUNK;
        real *best = y + b * hw + p0;
        int32_t *at = arg + b * hw + p0;
        const real *p = x + b * c * hw + p0;
        for (int64_t k = 0; k < len; k++) {
            best[k] = p[k];
            at[k] = 0;
        }
        for (int64_t ch = 1; ch < c; ch++) {
            p = x + (b * c + ch) * hw + p0;
            for (int64_t k = 0; k < len; k++)
                if (p[k] > best[k]) {
                    best[k] = p[k];
                    at[k] = (int32_t)ch;
                }
        }
    }
}

/* dy: (n, hw), arg: (n, hw) -> dx: (n, c, hw) += dy at the argmax channel of each pixel. */
static void T_(cmax_bwd)(const real *dy, const int32_t *arg, real *dx, int64_t n, int64_t c,
                         int64_t hw)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n * hw; i++) {
        const int64_t b = i / hw, k = i % hw;
        dx[(b * c + arg[i]) * hw + k] += dy[i];
    }
}

#endif
