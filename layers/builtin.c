/* builtin.c: the table of built-in ops, indexed by llx_op_id. */
#include "layers_impl.h"

static const llx_op_desc *const builtin_ops[] = {
    [LLX_OP_CONV2D] = &llx_op_conv2d,
    [LLX_OP_BATCHNORM2D] = &llx_op_batchnorm2d,
    [LLX_OP_RELU] = &llx_op_relu,
    [LLX_OP_SIGMOID] = &llx_op_sigmoid,
    [LLX_OP_ADD] = &llx_op_add,
    [LLX_OP_MUL] = &llx_op_mul,
    [LLX_OP_CONCAT] = &llx_op_concat,
    [LLX_OP_MAXPOOL2D] = &llx_op_maxpool2d,
    [LLX_OP_GLOBAL_AVGPOOL] = &llx_op_global_avgpool,
    [LLX_OP_GLOBAL_MAXPOOL] = &llx_op_global_maxpool,
    [LLX_OP_CHANNEL_MEAN] = &llx_op_channel_mean,
    [LLX_OP_CHANNEL_MAX] = &llx_op_channel_max,
    [LLX_OP_CONV1D_CHANNELS] = &llx_op_conv1d_channels,
    [LLX_OP_LINEAR] = &llx_op_linear,
    [LLX_OP_SOFTMAX_CE] = &llx_op_softmax_ce,
    [LLX_OP_SIGMOID_GATE] = &llx_op_sigmoid_gate,
};
_Static_assert(sizeof builtin_ops / sizeof builtin_ops[0] == LLX_OP_COUNT,
               "builtin_ops must list every llx_op_id");

const llx_op_desc *llx_builtin_op(llx_op_id id)
{
    LLX_ASSERT(id >= 0 && id < LLX_OP_COUNT);
    return builtin_ops[id];
}

llx_status llx_infer_same(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                          llx_error *err)
{
    *out = in[0];
    return LLX_OK;
}

llx_status llx_require_4d(const llx_shape *s, const char *op, const char *what, llx_error *err)
{
    if (s->ndim == 4) return LLX_OK;
    char buf[64];
    return llx_errorf(err, LLX_ERR_SHAPE, "%s: %s must be 4-D (N, C, H, W), got %s", op, what,
                      llx_shape_str(s, buf, sizeof buf));
}
