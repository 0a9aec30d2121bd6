/* softmax_ce.c: softmax cross-entropy loss, PyTorch's CrossEntropyLoss.
 *
 *   logits (N, K), labels (N) int32, class weights (K) optional -> loss (1)
 *   l_n = -log softmax(logits_n)[y_n] = logsumexp(logits_n) - logits_n[y_n]
 *   loss = sum_n w[y_n] * l_n / sum_n w[y_n]   (reduction_mean, the weighted mean)
 *        = sum_n w[y_n] * l_n                  (reduction_mean == 0)
 * with w = 1 without weights. Rows are shifted by their max before exp. The probabilities
 * (N, K) are saved. Gradient (accumulated) for the logits only:
 *   dlogits[n, k] += dout[0] * w[y_n] * (p[n, k] - [k == y_n]) / (mean ? sum_n w[y_n] : 1)
 * Labels and weights never take a gradient. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "softmax_ce.c"
#include "typed_impl.h"

static llx_status softmax_ce_infer(const void *attr, const llx_shape *in, int n_in,
                                   llx_shape *out, llx_error *err)
{
    char ls[64], ys[64];
    llx_shape_str(&in[0], ls, sizeof ls);
    if (in[0].ndim != 2)
        return llx_errorf(err, LLX_ERR_SHAPE, "softmax_ce: logits must be (N, K), got %s", ls);
    if (in[1].ndim != 1 || in[1].dim[0] != in[0].dim[0])
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "softmax_ce: labels %s do not fit logits %s: want (%lld)",
                          llx_shape_str(&in[1], ys, sizeof ys), ls, (long long)in[0].dim[0]);
    if (n_in > 2 && (in[2].ndim != 1 || in[2].dim[0] != in[0].dim[1]))
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "softmax_ce: class weights %s do not fit logits %s: want (%lld)",
                          llx_shape_str(&in[2], ys, sizeof ys), ls, (long long)in[0].dim[1]);
    *out = llx_shape1(1);
    return LLX_OK;
}

/* probabilities (N, K) in the dtype */
static size_t softmax_ce_saved(const void *attr, const llx_shape *in, int n_in,
                               const llx_shape *out, llx_dtype dt)
{
    return (size_t)llx_shape_numel(&in[0]) * llx_dtype_size(dt);
}

static void softmax_ce_describe(const void *attr, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", ((const llx_softmax_ce_attr *)attr)->reduction_mean ? "mean" : "sum");
}

static llx_status softmax_ce_forward(const llx_op_call *c, llx_error *err)
{
    const llx_shape *s = &c->in[0]->shape;
    if (c->in[1]->dtype != LLX_I32)
        return llx_errorf(err, LLX_ERR_INVALID, "softmax_ce: labels must be i32, got %s",
                          llx_dtype_name(c->in[1]->dtype));
    const int32_t *y = c->in[1]->data;
    for (int64_t i = 0; i < s->dim[0]; i++)
        if (y[i] < 0 || y[i] >= s->dim[1])
            return llx_errorf(err, LLX_ERR_INVALID,
                              "softmax_ce: label %d of sample %lld is outside [0, %lld)", y[i],
                              (long long)i, (long long)s->dim[1]);
    const void *w = c->n_in > 2 ? c->in[2]->data : NULL;
    int mean = ((const llx_softmax_ce_attr *)c->attr)->reduction_mean;
    LLX_DISPATCH(c->out->dtype, softmax_ce_fwd, mean, s->dim[0], s->dim[1], c->in[0]->data, y, w,
                 c->out->data, c->saved);
    return LLX_OK;
}

static llx_status softmax_ce_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->din[0]) return LLX_OK;
    const llx_shape *s = &c->in[0]->shape;
    const void *w = c->n_in > 2 ? c->in[2]->data : NULL;
    int mean = ((const llx_softmax_ce_attr *)c->attr)->reduction_mean;
    LLX_DISPATCH(c->out->dtype, softmax_ce_bwd, mean, s->dim[0], s->dim[1], c->in[1]->data, w,
                 c->saved, c->dout->data, c->din[0]->data);
    return LLX_OK;
}

const llx_op_desc llx_op_softmax_ce = {
    .name = "softmax_ce",
    .attr_size = sizeof(llx_softmax_ce_attr),
    .min_inputs = 2,
    .max_inputs = 3,
    .no_grad_inputs = (1u << 1) | (1u << 2),
    .infer = softmax_ce_infer,
    .saved_bytes = softmax_ce_saved,
    .describe = softmax_ce_describe,
    .kernels[LLX_DEVICE_CPU] = {.forward = softmax_ce_forward, .backward = softmax_ce_backward},
    LLX_CUDA_KERNELS(softmax_ce)
};

#else

/* logits (N, K), labels (N) in [0, K), w (K) or NULL -> loss (1); saved: p (N, K). */
static void T_(softmax_ce_fwd)(int mean, int64_t n, int64_t k, const real *logits,
                               const int32_t *labels, const real *w, real *loss, void *saved)
{
    real *p = saved;
    double total = 0, wsum = 0;
    for (int64_t i = 0; i < n; i++) {
        const real *l = logits + i * k;
        real *pi = p + i * k;
        double mx = l[0], s = 0;
        for (int64_t j = 1; j < k; j++)
            if (l[j] > mx) mx = l[j];
        for (int64_t j = 0; j < k; j++) s += exp(l[j] - mx);
        for (int64_t j = 0; j < k; j++) pi[j] = (real)(exp(l[j] - mx) / s);
        double wy = w ? w[labels[i]] : 1;
        total += wy * (log(s) - (l[labels[i]] - mx));
        wsum += wy;
    }
    loss[0] = (real)(mean ? total / wsum : total);
}

/* labels (N), w (K) or NULL, saved p (N, K), dout (1); accumulates into dlogits (N, K). */
static void T_(softmax_ce_bwd)(int mean, int64_t n, int64_t k, const int32_t *labels,
                               const real *w, const void *saved, const real *dout, real *dlogits)
{
    const real *p = saved;
    double wsum = 0;
    if (mean)
        for (int64_t i = 0; i < n; i++) wsum += w ? w[labels[i]] : 1;
    else
        wsum = 1;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double scale = dout[0] * (w ? w[labels[i]] : 1) / wsum;
        for (int64_t j = 0; j < k; j++)
            dlogits[i * k + j] += (real)(scale * (p[i * k + j] - (j == labels[i] ? 1 : 0)));
    }
}

#endif
