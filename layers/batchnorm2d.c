/* batchnorm2d.c: batch normalisation over (N, H, W) per channel, NCHW.
 *
 *   y = gamma[c] * (x - mean[c]) * invstd[c] + beta[c],   invstd = 1 / sqrt(var + eps)
 *
 * Training: mean and (biased) var of the batch; the running statistics (inputs 3 and 4,
 * no gradient) are updated in place, running = (1 - momentum) * running + momentum * batch,
 * with the unbiased variance (M / (M - 1), M = N*H*W) for running_var, as PyTorch does.
 * Eval: the running statistics. The per-channel mean and invstd used are saved for backward.
 * Gradients (accumulated, +=), xhat = (x - mean) * invstd:
 *   dbeta += sum dy,  dgamma += sum dy * xhat,
 *   training: dx += gamma * invstd / M * (M * dy - sum dy - xhat * sum(dy * xhat))
 *   eval:     dx += gamma * invstd * dy
 * Channel sums accumulate in double for both dtypes. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "batchnorm2d.c"
#include "typed_impl.h"

static llx_status bn_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                           llx_error *err)
{
    static const char *const names[] = {"input", "gamma", "beta", "running_mean", "running_var"};
    const llx_batchnorm2d_attr *a = attr;
    LLX_TRY(llx_require_4d(&in[0], "batchnorm2d", "input", err));
    if (!(a->eps > 0) || !(a->momentum >= 0 && a->momentum <= 1))
        return llx_errorf(err, LLX_ERR_INVALID,
                          "batchnorm2d: need eps > 0 and momentum in [0, 1], "
                          "got eps %g momentum %g",
                          a->eps, a->momentum);
    for (int i = 1; i < n_in; i++)
        if (in[i].ndim != 1 || in[i].dim[0] != in[0].dim[1]) {
            char xs[64], ps[64];
            return llx_errorf(err, LLX_ERR_SHAPE,
                              "batchnorm2d: %s %s does not fit input %s: want (%lld)", names[i],
                              llx_shape_str(&in[i], ps, sizeof ps),
                              llx_shape_str(&in[0], xs, sizeof xs), (long long)in[0].dim[1]);
        }
    *out = in[0];
    return LLX_OK;
}

/* mean (C) and invstd (C), in the dtype. */
static size_t bn_saved(const void *attr, const llx_shape *in, int n_in, const llx_shape *out,
                       llx_dtype dt)
{
    return 2 * (size_t)in[0].dim[1] * llx_dtype_size(dt);
}

static int64_t bn_macs(const void *attr, const llx_shape *in, int n_in, const llx_shape *out)
{
    return llx_shape_numel(&in[0]);
}

static void bn_describe(const void *attr, char *buf, size_t cap)
{
    const llx_batchnorm2d_attr *a = attr;
    snprintf(buf, cap, "eps %g mom %g", a->eps, a->momentum);
}

static llx_status bn_forward(const llx_op_call *c, llx_error *err)
{
    const llx_batchnorm2d_attr *a = c->attr;
    const llx_shape *s = &c->out->shape;
    int64_t n = s->dim[0], ch = s->dim[1], hw = s->dim[2] * s->dim[3];
    if (c->training && n * hw < 2) {
        char xs[64];
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "batchnorm2d: training needs more than 1 value per channel, input %s",
                          llx_shape_str(s, xs, sizeof xs));
    }
    LLX_DISPATCH(c->out->dtype, bn_fwd, a, c->training, n, ch, hw, c->in[0]->data,
                 c->in[1]->data, c->in[2]->data, c->in[3]->data, c->in[4]->data, c->out->data,
                 c->saved);
    return LLX_OK;
}

static llx_status bn_backward(const llx_op_call *c, llx_error *err)
{
    const llx_shape *s = &c->out->shape;
    void *dx = c->din[0] ? c->din[0]->data : NULL, *dg = c->din[1] ? c->din[1]->data : NULL;
    void *db = c->din[2] ? c->din[2]->data : NULL;
    LLX_DISPATCH(c->out->dtype, bn_bwd, c->training, s->dim[0], s->dim[1], s->dim[2] * s->dim[3],
                 c->in[0]->data, c->in[1]->data, c->saved, c->dout->data, dx, dg, db);
    return LLX_OK;
}

const llx_op_desc llx_op_batchnorm2d = {
    .name = "batchnorm2d",
    .attr_size = sizeof(llx_batchnorm2d_attr),
    .min_inputs = 5,
    .max_inputs = 5,
    .no_grad_inputs = (1u << 3) | (1u << 4),
    .infer = bn_infer,
    .saved_bytes = bn_saved,
    .macs = bn_macs,
    .describe = bn_describe,
    .kernels[LLX_DEVICE_CPU] = {.forward = bn_forward, .backward = bn_backward},
    LLX_CUDA_KERNELS_FRESH(batchnorm2d)
};

#else

/* x (N, C, HW), gamma, beta, rmean, rvar (C) -> y (N, C, HW); saved: mean (C), invstd (C).
 * Training updates rmean and rvar in place. */
static void T_(bn_fwd)(const llx_batchnorm2d_attr *a, bool training, int64_t n, int64_t ch,
                       int64_t hw, const real *x, const real *gamma, const real *beta,
                       real *rmean, real *rvar, real *y, void *saved)
{
    real *smean = saved, *sinv = smean + ch;
    double m = (double)(n * hw), mom = a->momentum;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < ch; c++) {
        double mean, var;
        if (training) {
            double s = 0, ss = 0;
            for (int64_t i = 0; i < n; i++) {
                const real *p = x + (i * ch + c) * hw;
                for (int64_t j = 0; j < hw; j++) s += p[j];
            }
            mean = s / m;
            for (int64_t i = 0; i < n; i++) {
                const real *p = x + (i * ch + c) * hw;
                for (int64_t j = 0; j < hw; j++) ss += (p[j] - mean) * (p[j] - mean);
            }
            var = ss / m;
            rmean[c] = (real)((1 - mom) * rmean[c] + mom * mean);
            rvar[c] = (real)((1 - mom) * rvar[c] + mom * var * m / (m - 1));
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        double inv = 1 / sqrt(var + a->eps);
        smean[c] = (real)mean;
        sinv[c] = (real)inv;
        double scale = gamma[c] * inv, shift = beta[c] - mean * scale;
        for (int64_t i = 0; i < n; i++) {
            const real *p = x + (i * ch + c) * hw;
            real *q = y + (i * ch + c) * hw;
            for (int64_t j = 0; j < hw; j++) q[j] = (real)(p[j] * scale + shift);
        }
    }
}

/* x (N, C, HW), gamma (C), saved mean/invstd (C), dy (N, C, HW); accumulates into dx (like x),
 * dgamma (C), dbeta (C); each may be NULL. */
static void T_(bn_bwd)(bool training, int64_t n, int64_t ch, int64_t hw, const real *x,
                       const real *gamma, const void *saved, const real *dy, real *dx,
                       real *dgamma, real *dbeta)
{
    const real *smean = saved, *sinv = smean + ch;
    double m = (double)(n * hw);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < ch; c++) {
        double mean = smean[c], inv = sinv[c], sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < n; i++) {
            const real *p = x + (i * ch + c) * hw, *d = dy + (i * ch + c) * hw;
            for (int64_t j = 0; j < hw; j++) {
                sdy += d[j];
                sdyx += d[j] * (p[j] - mean) * inv;
            }
        }
        if (dbeta) dbeta[c] += (real)sdy;
        if (dgamma) dgamma[c] += (real)sdyx;
        if (!dx) continue;
        double k = gamma[c] * inv;
        for (int64_t i = 0; i < n; i++) {
            const real *p = x + (i * ch + c) * hw, *d = dy + (i * ch + c) * hw;
            real *q = dx + (i * ch + c) * hw;
            if (training)
                for (int64_t j = 0; j < hw; j++)
                    q[j] += (real)(k * (d[j] - sdy / m - (p[j] - mean) * inv * sdyx / m));
            else
                for (int64_t j = 0; j < hw; j++) q[j] += (real)(k * d[j]);
        }
    }
}

#endif
