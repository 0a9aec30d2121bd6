/* sgd.c: the SGD parameter update (llx_sgd_update, llx/ops.h), PyTorch semantics.
 *
 *   g = grad + weight_decay * w
 *   v = momentum * v + g            (v = g on the first step)
 *   step = nesterov ? g + momentum * v : v
 *   w -= lr * step
 *
 * Element-wise over one parameter tensor; w and v are updated in place, grad is read only.
 * With momentum 0 the velocity is not touched and may be NULL. One kernel per device in
 * sgd_kernels; a device without one is an error naming it. Arithmetic is done in the dtype
 * of the tensors, as PyTorch does. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "sgd.c"
#include "typed_impl.h"

typedef void (*sgd_kernel)(const llx_sgd_params *p, bool first_step, int64_t n, llx_dtype dt,
                           void *w, const void *grad, void *velocity);

static void sgd_cpu(const llx_sgd_params *p, bool first_step, int64_t n, llx_dtype dt, void *w,
                    const void *grad, void *velocity)
{
    LLX_DISPATCH(dt, sgd_update, p, first_step, n, w, grad, velocity);
}

static const sgd_kernel sgd_kernels[LLX_DEVICE_COUNT] = {[LLX_DEVICE_CPU] = sgd_cpu};

llx_status llx_sgd_update(llx_backend *be, const llx_sgd_params *p, bool first_step,
                          llx_tensor *w, const llx_tensor *grad, llx_tensor *velocity,
                          llx_error *err)
{
    char ws[64], gs[64];
    const char *name = w->name ? w->name : "(unnamed)";
    bool need_v = p->momentum != 0;
    if (w->dtype != LLX_F32 && w->dtype != LLX_F64)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "sgd: parameter '%s' has dtype %s, want f32 or f64", name,
                          llx_dtype_name(w->dtype));
    if (!llx_shape_equal(&w->shape, &grad->shape) ||
        (need_v && (!velocity || !llx_shape_equal(&w->shape, &velocity->shape))))
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "sgd: parameter '%s' %s, its gradient %s and velocity %s differ", name,
                          llx_shape_str(&w->shape, ws, sizeof ws),
                          llx_shape_str(&grad->shape, gs, sizeof gs),
                          velocity ? "shape" : "(missing)");
    if (grad->dtype != w->dtype || (need_v && velocity->dtype != w->dtype))
        return llx_errorf(err, LLX_ERR_INVALID,
                          "sgd: parameter '%s' is %s but its gradient is %s and velocity %s", name,
                          llx_dtype_name(w->dtype), llx_dtype_name(grad->dtype),
                          need_v ? llx_dtype_name(velocity->dtype) : "unused");
    if (w->device != be->device || grad->device != be->device ||
        (need_v && velocity->device != be->device))
        return llx_errorf(err, LLX_ERR_INVALID,
                          "sgd: parameter '%s' or its gradient/velocity is not on the %s device",
                          name, llx_device_name(be->device));
    sgd_kernel k = sgd_kernels[be->device];
    if (!k)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "sgd: no kernel for device %s",
                          llx_device_name(be->device));
    k(p, first_step, llx_tensor_numel(w), w->dtype, w->data, grad->data,
      need_v ? velocity->data : NULL);
    return LLX_OK;
}

#else

/* w, grad, v: (n) each; v unused (may be NULL) when p->momentum == 0. */
static void T_(sgd_update)(const llx_sgd_params *p, bool first_step, int64_t n, real *w,
                           const real *grad, real *v)
{
    real lr = (real)p->lr, mom = (real)p->momentum, wd = (real)p->weight_decay;
    bool nesterov = p->nesterov;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        real g = grad[i] + wd * w[i];
        if (v) {
            v[i] = first_step ? g : mom * v[i] + g;
            g = nesterov ? g + mom * v[i] : v[i];
        }
        w[i] -= lr * g;
    }
}

#endif
