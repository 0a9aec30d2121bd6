/* sgd.c: the SGD parameter update (llx_sgd_update, llx_sgd_update_all; llx/ops.h), PyTorch
 * semantics.
 *
 *   g = grad + weight_decay * w
 *   v = momentum * v + g            (v = g on the first step)
 *   step = nesterov ? g + momentum * v : v
 *   w -= lr * step
 *
 * Element-wise over each parameter tensor; w and v are updated in place, grad is read only.
 * With momentum 0 the velocity is not touched and may be NULL. llx_sgd_update is the list
 * of one. On the CPU the kernel below runs tensor by tensor; on CUDA the whole list is one
 * launch (llx_cuda_sgd_update_all, F32 only); any other device is an error naming it.
 * Arithmetic is done in the dtype of the tensors, as PyTorch does. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"
#define LLX_TYPED_FILE "sgd.c"
#include "typed_impl.h"

/* The checks of one parameter: an f32/f64 w, its gradient (and velocity when momentum is
 * not 0) of w's shape and dtype, all three on be's device. */
static llx_status sgd_check(const llx_backend *be, const llx_sgd_params *p,
                            const llx_tensor *w, const llx_tensor *grad,
                            const llx_tensor *velocity, llx_error *err)
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
    return LLX_OK;
}

/* Tensor by tensor; decay[i] false (decay NULL: always true): weight decay 0 for tensor i. */
static void sgd_cpu_all(const llx_sgd_params *p, bool first_step, int n, llx_tensor *const *w,
                        const llx_tensor *const *grad, llx_tensor *const *velocity,
                        const bool *decay)
{
    for (int i = 0; i < n; i++) {
        llx_sgd_params pi = *p;
        if (decay && !decay[i]) pi.weight_decay = 0;
        void *v = p->momentum != 0 ? velocity[i]->data : NULL;
        LLX_DISPATCH(w[i]->dtype, sgd_update, &pi, first_step, llx_tensor_numel(w[i]),
                     w[i]->data, grad[i]->data, v);
    }
}


llx_status llx_sgd_update_all(llx_backend *be, const llx_sgd_params *p, bool first_step, int n,
                              llx_tensor *const *w, const llx_tensor *const *grad,
                              llx_tensor *const *velocity, const bool *decay, llx_error *err)
{
    if (n < 0) return llx_errorf(err, LLX_ERR_INVALID, "sgd: %d tensors", n);
    for (int i = 0; i < n; i++)
        LLX_TRY(sgd_check(be, p, w[i], grad[i], velocity ? velocity[i] : NULL, err));
    switch (be->device) {
    case LLX_DEVICE_CPU:
        sgd_cpu_all(p, first_step, n, w, grad, velocity, decay);
        return LLX_OK;
#ifdef LLX_HAVE_CUDA
    case LLX_DEVICE_CUDA:
        return llx_cuda_sgd_update_all(be, p, first_step, n, w, grad, velocity, decay, err);
#endif
    default:
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "sgd: no kernel for device %s",
                          llx_device_name(be->device));
    }
}

llx_status llx_sgd_update(llx_backend *be, const llx_sgd_params *p, bool first_step,
                          llx_tensor *w, const llx_tensor *grad, llx_tensor *velocity,
                          llx_error *err)
{
    return llx_sgd_update_all(be, p, first_step, 1, &w, &grad, &velocity, NULL, err);
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
