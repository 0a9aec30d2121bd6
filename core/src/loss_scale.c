/* loss_scale.c: the loss scaler (llx/loss_scale.h). */
#include "llx/loss_scale.h"
#include "llx/ops.h"

const char *llx_loss_scale_kind_name(llx_loss_scale_kind k)
{
    static const char *const names[] = {"none", "static", "dynamic"};
    return k >= LLX_LOSS_SCALE_NONE && k <= LLX_LOSS_SCALE_DYNAMIC ? names[k] : "?";
}

llx_status llx_loss_scaler_init(llx_loss_scaler *s, llx_backend *be, llx_loss_scale_kind kind, double scale,
                                llx_error *err)
{
    *s = (llx_loss_scaler){.kind = kind, .scale = 1, .growth_interval = LLX_LOSS_SCALE_GROWTH_INTERVAL, .be = be};
    if (kind == LLX_LOSS_SCALE_NONE) return LLX_OK;
    if (kind == LLX_LOSS_SCALE_DYNAMIC && scale <= 0) scale = LLX_LOSS_SCALE_INIT;
    if (!(scale > 0) || !(scale < 0x1p127))
        return llx_errorf(err, LLX_ERR_INVALID, "loss scale %g: want a positive number below 2^127", scale);
    s->scale = scale;
    s->found = (llx_tensor){.name = "loss scaler flag", .dtype = LLX_F32, .device = be->device,
                            .shape = llx_shape1(1)};
    s->found.data = be->alloc(be, sizeof(float), err);
    return s->found.data ? LLX_OK : LLX_ERR_NOMEM;
}

void llx_loss_scaler_free(llx_loss_scaler *s)
{
    if (s->found.data) s->be->free(s->be, s->found.data);
    s->found.data = NULL;
}

llx_status llx_loss_scaler_unscale(llx_loss_scaler *s, llx_tensor *grads, bool *take_step, llx_error *err)
{
    *take_step = true;
    if (s->kind == LLX_LOSS_SCALE_NONE) return LLX_OK;
    llx_backend *be = s->be;
    float found = 0;
    LLX_TRY(be->memset_zero(be, s->found.data, sizeof found, err));
    LLX_TRY(llx_grad_unscale(be, grads, (float)(1.0 / s->scale), &s->found, err));
    LLX_TRY(be->to_host(be, &found, s->found.data, sizeof found, err));
    if (found == 0) {
        if (s->kind == LLX_LOSS_SCALE_DYNAMIC && ++s->good_steps >= s->growth_interval) {
            s->scale *= 2;
            s->good_steps = 0;
        }
        return LLX_OK;
    }
    *take_step = false;
    s->skipped++;
    s->good_steps = 0;
    if (s->kind != LLX_LOSS_SCALE_DYNAMIC) return LLX_OK;
    s->scale /= 2;
    if (s->scale < LLX_LOSS_SCALE_MIN)
        return llx_errorf(err, LLX_ERR_NUMERIC,
                          "the gradients are NaN or infinite even with the loss scaled by %g: they are not finite by "
                          "themselves (lower train.lr?)", s->scale);
    return LLX_OK;
}

llx_status llx_loss_scaler_backward(llx_loss_scaler *s, llx_graph *g, llx_node_id loss, bool *take_step,
                                    llx_error *err)
{
    const float seed = llx_loss_scaler_seed(s);
    LLX_TRY(llx_graph_backward_seed(g, loss, &seed, err));
    llx_tensor grads = llx_graph_param_grads(g);
    return llx_loss_scaler_unscale(s, &grads, take_step, err);
}
