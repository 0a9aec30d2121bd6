/* emit.c: typed shorthands for emitting the built-in ops, and the conv and
 * batch-norm building blocks that most layers are made of. */
#include "graph_impl.h"

llx_node_id llx_emit_conv2d(llx_builder *b, llx_node_id x, llx_node_id w, llx_node_id bias,
                            int stride, int pad)
{
    llx_conv2d_attr a = {.stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
    llx_node_id in[3] = {x, w, bias};
    return llx_emit(b, llx_builtin_op(LLX_OP_CONV2D), &a, in, bias == LLX_NO_NODE ? 2 : 3);
}

llx_node_id llx_emit_batchnorm2d(llx_builder *b, llx_node_id x, llx_node_id gamma, llx_node_id beta,
                                 llx_node_id mean, llx_node_id var, double momentum, double eps)
{
    llx_batchnorm2d_attr a = {.momentum = momentum, .eps = eps};
    llx_node_id in[5] = {x, gamma, beta, mean, var};
    return llx_emit(b, llx_builtin_op(LLX_OP_BATCHNORM2D), &a, in, 5);
}

llx_node_id llx_emit_unary(llx_builder *b, llx_op_id op, llx_node_id x)
{
    return llx_emit(b, llx_builtin_op(op), NULL, &x, 1);
}

llx_node_id llx_emit_binary(llx_builder *b, llx_op_id op, llx_node_id a, llx_node_id c)
{
    llx_node_id in[2] = {a, c};
    return llx_emit(b, llx_builtin_op(op), NULL, in, 2);
}

llx_node_id llx_emit_concat(llx_builder *b, const llx_node_id *in, int n)
{
    return llx_emit(b, llx_builtin_op(LLX_OP_CONCAT), NULL, in, n);
}

llx_node_id llx_emit_maxpool2d(llx_builder *b, llx_node_id x, int kernel, int stride, int pad)
{
    llx_pool2d_attr a = {.kernel_h = kernel, .kernel_w = kernel, .stride_h = stride,
                         .stride_w = stride, .pad_h = pad, .pad_w = pad};
    return llx_emit(b, llx_builtin_op(LLX_OP_MAXPOOL2D), &a, &x, 1);
}

llx_node_id llx_emit_conv1d_channels(llx_builder *b, llx_node_id x, llx_node_id w, int pad)
{
    llx_conv1d_attr a = {.pad = pad};
    llx_node_id in[2] = {x, w};
    return llx_emit(b, llx_builtin_op(LLX_OP_CONV1D_CHANNELS), &a, in, 2);
}

llx_node_id llx_emit_linear(llx_builder *b, llx_node_id x, llx_node_id w, llx_node_id bias)
{
    llx_node_id in[3] = {x, w, bias};
    return llx_emit(b, llx_builtin_op(LLX_OP_LINEAR), NULL, in, bias == LLX_NO_NODE ? 2 : 3);
}

llx_node_id llx_conv2d_layer(llx_builder *b, const char *name, llx_node_id x, int64_t out_ch,
                             int kernel, int stride, int pad, bool bias)
{
    if (llx_build_status(b) != LLX_OK) return LLX_NO_NODE;
    llx_shape xs = llx_node_shape(b, x);
    if (xs.ndim != 4) {
        llx_build_fail(b, NULL, LLX_ERR_SHAPE, "conv2d '%s' needs a 4-D (N, C, H, W) input", name);
        return LLX_NO_NODE;
    }
    llx_scope_push(b, name);
    int64_t fan_in = xs.dim[1] * kernel * kernel;
    llx_node_id w = llx_param(b, "weight", llx_shape4(out_ch, xs.dim[1], kernel, kernel),
                              (llx_init){LLX_INIT_KAIMING_NORMAL_FAN_OUT, 0});
    llx_node_id bi = bias ? llx_param(b, "bias", llx_shape1(out_ch),
                                      (llx_init){LLX_INIT_UNIFORM_FAN_IN, (double)fan_in})
                          : LLX_NO_NODE;
    llx_scope_pop(b);
    return llx_emit_conv2d(b, x, w, bi, stride, pad);
}

llx_node_id llx_batchnorm2d_layer(llx_builder *b, const char *name, llx_node_id x, double gamma_init,
                                  const llx_batchnorm2d_attr *attr)
{
    if (llx_build_status(b) != LLX_OK) return LLX_NO_NODE;
    llx_shape xs = llx_node_shape(b, x);
    if (xs.ndim != 4) {
        llx_build_fail(b, NULL, LLX_ERR_SHAPE, "batchnorm2d '%s' needs a 4-D (N, C, H, W) input", name);
        return LLX_NO_NODE;
    }
    llx_shape c = llx_shape1(xs.dim[1]);
    llx_scope_push(b, name);
    llx_node_id gamma = llx_param(b, "weight", c, (llx_init){LLX_INIT_CONSTANT, gamma_init});
    llx_node_id beta = llx_param(b, "bias", c, (llx_init){LLX_INIT_ZEROS, 0});
    llx_node_id mean = llx_buffer(b, "running_mean", c, (llx_init){LLX_INIT_ZEROS, 0});
    llx_node_id var = llx_buffer(b, "running_var", c, (llx_init){LLX_INIT_ONES, 0});
    llx_scope_pop(b);
    llx_batchnorm2d_attr a = attr ? *attr : (llx_batchnorm2d_attr){.momentum = 0.1, .eps = 1e-5};
    return llx_emit_batchnorm2d(b, x, gamma, beta, mean, var, a.momentum, a.eps);
}
