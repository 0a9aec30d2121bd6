/* conv1d_channels.c: 1-D convolution along the channel axis (ECA attention), no bias.
 *
 *   x (N, C, 1, 1) or (N, C), w (1, 1, K) -> y like x
 *   y[n, c] = sum_k w[k] * x[n, c + k - pad]   (zero outside [0, C)), with K = 2*pad + 1
 *
 * Gradients (accumulated, +=):
 *   dx[n, j] += sum_k w[k] * dy[n, j - k + pad]
 *   dw[k]    += sum_{n,c} dy[n, c] * x[n, c + k - pad]
 * dx is gathered per sample and dw summed per tap, so no two threads write one element. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "conv1d_channels.c"
#include "typed_impl.h"

static llx_status conv1d_channels_infer(const void *attr, const llx_shape *in, int n_in,
                                        llx_shape *out, llx_error *err)
{
    const llx_conv1d_attr *a = attr;
    char xs[64], ws[64];
    llx_shape_str(&in[0], xs, sizeof xs);
    llx_shape_str(&in[1], ws, sizeof ws);
    bool x_ok = in[0].ndim == 2 || (in[0].ndim == 4 && in[0].dim[2] == 1 && in[0].dim[3] == 1);
    if (!x_ok)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv1d_channels: input must be (N, C, 1, 1) or (N, C), got %s", xs);
    if (in[1].ndim != 3 || in[1].dim[0] != 1 || in[1].dim[1] != 1)
        return llx_errorf(err, LLX_ERR_SHAPE, "conv1d_channels: weight must be (1, 1, K), got %s",
                          ws);
    int64_t k = in[1].dim[2];
    if (a->pad < 0 || k != 2 * (int64_t)a->pad + 1)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv1d_channels: weight %s with pad %d would change the channel count "
                          "(%lld -> %lld); use an odd K with pad (K - 1) / 2",
                          ws, a->pad, (long long)in[0].dim[1],
                          (long long)(in[0].dim[1] + 2 * a->pad - k + 1));
    *out = in[0];
    return LLX_OK;
}

static int64_t conv1d_channels_macs(const void *attr, const llx_shape *in, int n_in,
                                    const llx_shape *out)
{
    return llx_shape_numel(out) * in[1].dim[2];
}

static void conv1d_channels_describe(const void *attr, char *buf, size_t cap)
{
    snprintf(buf, cap, "p%d", ((const llx_conv1d_attr *)attr)->pad);
}

static llx_status conv1d_channels_forward(const llx_op_call *c, llx_error *err)
{
    const llx_shape *s = &c->out->shape;
    LLX_DISPATCH(c->out->dtype, conv1d_channels_fwd, s->dim[0], s->dim[1],
                 c->in[1]->shape.dim[2], ((const llx_conv1d_attr *)c->attr)->pad,
                 c->in[0]->data, c->in[1]->data, c->out->data);
    return LLX_OK;
}

static llx_status conv1d_channels_backward(const llx_op_call *c, llx_error *err)
{
    const llx_shape *s = &c->out->shape;
    void *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    LLX_DISPATCH(c->out->dtype, conv1d_channels_bwd, s->dim[0], s->dim[1],
                 c->in[1]->shape.dim[2], ((const llx_conv1d_attr *)c->attr)->pad,
                 c->in[0]->data, c->in[1]->data, c->dout->data, dx, dw);
    return LLX_OK;
}

const llx_op_desc llx_op_conv1d_channels = {
    .name = "conv1d_channels",
    .attr_size = sizeof(llx_conv1d_attr),
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = conv1d_channels_infer,
    .macs = conv1d_channels_macs,
    .describe = conv1d_channels_describe,
    .kernels[LLX_DEVICE_CPU] = {.forward = conv1d_channels_forward,
                                .backward = conv1d_channels_backward},
    LLX_CUDA_KERNELS(conv1d_channels)
};

#else

/* x (N, C), w (K) -> y (N, C) */
static void T_(conv1d_channels_fwd)(int64_t n, int64_t ch, int64_t k, int pad, const real *x,
                                    const real *w, real *y)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < ch; c++) {
            double s = 0;
            for (int64_t t = 0; t < k; t++) {
                int64_t src = c + t - pad;
                if (src >= 0 && src < ch) s += w[t] * x[i * ch + src];
            }
            y[i * ch + c] = (real)s;
        }
}

/* x (N, C), w (K), dy (N, C); accumulates into dx (N, C) and dw (K); either may be NULL. */
static void T_(conv1d_channels_bwd)(int64_t n, int64_t ch, int64_t k, int pad, const real *x,
                                    const real *w, const real *dy, real *dx, real *dw)
{
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < ch; j++) {
                double s = 0;
                for (int64_t t = 0; t < k; t++) {
                    int64_t c = j - t + pad;
                    if (c >= 0 && c < ch) s += w[t] * dy[i * ch + c];
                }
                dx[i * ch + j] += (real)s;
            }
    }
    if (dw) {
        for (int64_t t = 0; t < k; t++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < ch; c++) {
                    int64_t src = c + t - pad;
                    if (src >= 0 && src < ch) s += dy[i * ch + c] * x[i * ch + src];
                }
            dw[t] += (real)s;
        }
    }
}

#endif
