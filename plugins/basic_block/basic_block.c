/* basic_block: the torchvision ResNet BasicBlock with an attention hook.
 *
 *   x (N,C,H,W) -> conv1 3x3 stride s -> bn1 -> relu        = F_pre (N,O,H/s,W/s)
 *               -> conv2 3x3 -> bn2                         = F_cur
 *   shortcut    = x, or downsample.0 (conv 1x1 stride s) -> downsample.1 (bn)
 *                 when s != 1 or C != O
 *   out         = relu(attention(F_cur, F_pre, shortcut) + shortcut)
 *
 * `attention:` names any registered attention layer (none, se, cbam, eca,
 * llam, or a third-party plugin's) as a type name or a map with `type:`.
 * It is built under the scope "attn" and gets the inputs of
 * LLX_ATTENTION_INPUTS (llx/layer.h). Parameter names follow torchvision. */
#include "llx/llx.h"

static const llx_key_spec basic_block_keys[] = {
    {"out", LLX_KEY_INT, NULL, "output channels"},
    {"stride", LLX_KEY_INT, "1", "stride of conv1 and of the projection"},
    {"attention", LLX_KEY_ANY, "none", "attention layer after bn2: a type name or {type: ..., keys}"},
    {0},
};

static llx_status basic_block_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                                    llx_node_id *out)
{
    if (n_in != 1) return llx_build_fail(b, NULL, LLX_ERR_INVALID, "takes one input, got %d", n_in);
    llx_node_id x = in[0];
    int64_t o = llx_arg_int(b, cfg, "out");
    int stride = (int)llx_arg_int(b, cfg, "stride");
    if (llx_build_status(b) == LLX_OK && (o < 1 || stride < 1))
        return llx_build_fail(b, NULL, LLX_ERR_INVALID, "out and stride must be positive");
    llx_shape xs = llx_node_shape(b, x);

    llx_node_id pre = llx_conv2d_layer(b, "conv1", x, o, 3, stride, 1, false);
    pre = llx_batchnorm2d_layer(b, "bn1", pre, 1.0, NULL);
    pre = llx_emit_unary(b, LLX_OP_RELU, pre);
    llx_node_id cur = llx_conv2d_layer(b, "conv2", pre, o, 3, 1, 1, false);
    cur = llx_batchnorm2d_layer(b, "bn2", cur, 1.0, NULL);

    llx_node_id shortcut = x;
    if (stride != 1 || xs.dim[1] != o) {
        shortcut = llx_conv2d_layer(b, "downsample.0", x, o, 1, stride, 0, false);
        shortcut = llx_batchnorm2d_layer(b, "downsample.1", shortcut, 1.0, NULL);
    }
    llx_node_id attn_in[LLX_ATTENTION_INPUTS] = {cur, pre, shortcut};
    llx_node_id gated = llx_sublayer(b, "attn", llx_arg_node(b, cfg, "attention"), attn_in,
                                     LLX_ATTENTION_INPUTS, true);
    *out = llx_emit_unary(b, LLX_OP_RELU, llx_emit_binary(b, LLX_OP_ADD, gated, shortcut));
    return llx_build_status(b);
}

static const llx_layer_desc basic_block_layer = {
    .name = "basic_block",
    .doc = "ResNet BasicBlock (torchvision) with an attention: hook after bn2",
    .keys = basic_block_keys,
    .build = basic_block_build,
};

static llx_status basic_block_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &basic_block_layer, "basic_block", err);
}

LLX_PLUGIN(basic_block, "1.0.0", basic_block_register)
