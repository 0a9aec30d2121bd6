/* grad_unscale.c: loss scaling's unscale step (llx_grad_unscale, llx/ops.h):
 *
 *   g[i] *= inv_scale for every i;  found = 1 when some g[i] is NaN or infinite
 *
 * over one flat F32 run of gradients (the graph's parameter-gradient arena). On the CPU the
 * loop below; on CUDA one launch (layers/cuda/grad_unscale.cu). */
#include "layers_impl.h"

static llx_status grad_unscale_check(const llx_backend *be, const llx_tensor *g, const llx_tensor *found,
                                     llx_error *err)
{
    if (g->dtype != LLX_F32 || found->dtype != LLX_F32 || llx_tensor_numel(found) != 1)
        return llx_errorf(err, LLX_ERR_INVALID, "grad_unscale: want F32 gradients (got %s) and one F32 flag (got %s, "
                          "%lld values)", llx_dtype_name(g->dtype), llx_dtype_name(found->dtype),
                          (long long)llx_tensor_numel(found));
    if (g->device != be->device || found->device != be->device)
        return llx_errorf(err, LLX_ERR_INVALID, "grad_unscale: the gradients or the flag are not on the %s device",
                          llx_device_name(be->device));
    return LLX_OK;
}

static void grad_unscale_cpu(float *g, int64_t n, float inv_scale, float *found)
{
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        bad |= !isfinite(g[i]);
        g[i] *= inv_scale;
    }
    if (bad) *found = 1.0f;
}

llx_status llx_grad_unscale(llx_backend *be, llx_tensor *grads, float inv_scale, llx_tensor *found, llx_error *err)
{
    LLX_TRY(grad_unscale_check(be, grads, found, err));
    switch (be->device) {
    case LLX_DEVICE_CPU:
        grad_unscale_cpu(grads->data, llx_tensor_numel(grads), inv_scale, found->data);
        return LLX_OK;
#ifdef LLX_HAVE_CUDA
    case LLX_DEVICE_CUDA:
        return llx_cuda_grad_unscale(be, grads->data, llx_tensor_numel(grads), inv_scale, found->data, err);
#endif
    default:
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "grad_unscale: no kernel for device %s",
                          llx_device_name(be->device));
    }
}
