/* op.c: running an op's kernel on the backend of the call. */
#include "llx/op.h"

static llx_status missing_kernel(const llx_op_call *c, const char *pass, llx_error *err)
{
    return llx_errorf(err, LLX_ERR_UNSUPPORTED, "no %s %s kernel for op '%s'",
                      llx_device_name(c->backend->device), pass, c->op->name);
}

llx_status llx_op_forward(const llx_op_call *c, llx_error *err)
{
    const llx_op_kernels *k = &c->op->kernels[c->backend->device];
    if (!k->forward) return missing_kernel(c, "forward", err);
    return k->forward(c, err);
}

llx_status llx_op_backward(const llx_op_call *c, llx_error *err)
{
    const llx_op_kernels *k = &c->op->kernels[c->backend->device];
    if (!k->backward) return missing_kernel(c, "backward", err);
    return k->backward(c, err);
}
