/* cbam: Convolutional Block Attention Module (Woo et al., ECCV 2018), channel
 * gate then spatial gate, as Jongchan/attention-module (variant original) and
 * timm's cbam.py (variant timm). See SPEC.md, "Attention blocks".
 *
 *   x  = F_cur                                               (N,C,H,W)
 *   R  = max(1, C // reduction)          (C < reduction: hidden width 1)
 *   mlp(t) = channel.fc2(relu(channel.fc1(t)))   1x1 convs C->R->C on (N,C,1,1)
 *   g  = sigmoid(mlp(avgpool(x)) + mlp(maxpool(x)))          (N,C,1,1)
 *        one shared MLP: the same parameter nodes are used twice and the
 *        engine sums their gradients
 *   x1 = x * g                                               (N,C,H,W)
 *   m  = concat(channel_max(x1), channel_mean(x1))  original (N,2,H,W)
 *        concat(channel_mean(x1), channel_max(x1))  timm
 *   s  = sigmoid(spatial.bn(spatial.conv(m)))    conv (1,2,k,k), pad k/2, no bias;
 *        BN over 1 channel                                   (N,1,H,W)
 *   y  = x1 * s                                              (N,C,H,W)
 *
 * Parameters: channel.fc1.weight (R,C,1,1) [+ .bias (R)], channel.fc2.weight
 * (C,R,1,1) [+ .bias (C)] (bias: original only), spatial.conv.weight (1,2,k,k),
 * spatial.bn.weight/bias (1), buffers spatial.bn.running_mean/running_var (1).
 *
 * Init: the references' PyTorch defaults, uniform +-1/sqrt(fan_in) for the MLP
 * weights and biases and the spatial conv (not llx_conv2d_layer's kaiming
 * fan_out, which saturates CBAM's gates at the start); spatial BN gamma 0 in
 * the original (spatial gate starts at 0.5), 1 in timm (default BN), beta 0.
 * Uses only in[LLX_ATTN_CUR]. */
#include "llx/llx.h"

enum { CBAM_ORIGINAL = 0, CBAM_TIMM = 1 };
static const char *const cbam_variants[] = {"original", "timm", NULL};

static const llx_key_spec cbam_keys[] = {
    {"reduction", LLX_KEY_INT, "16", "MLP hidden width max(1, C // reduction)"},
    {"variant", LLX_KEY_STRING, "original",
     "original: MLP bias, spatial order (max, mean), BN gamma 0; timm: no bias, (mean, max), gamma 1"},
    {"spatial_kernel", LLX_KEY_INT, "7", "odd kernel of the spatial conv (padding k/2)"},
    {0},
};

/* A 1x1 conv "<name>" in -> out on a pooled (N,in,1,1) map, PyTorch default init. */
static void mlp_params(llx_builder *b, const char *name, int64_t in, int64_t out, bool bias, llx_node_id *w,
                       llx_node_id *bi)
{
    llx_scope_push(b, name);
    *w = llx_param(b, "weight", llx_shape4(out, in, 1, 1), (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    *bi = bias ? llx_param(b, "bias", llx_shape1(out), (llx_init){LLX_INIT_UNIFORM_FAN_IN, (double)in})
               : LLX_NO_NODE;
    llx_scope_pop(b);
}

/* x1 = x * sigmoid(mlp(avgpool(x)) + mlp(maxpool(x))), one shared MLP. */
static llx_node_id channel_gate(llx_builder *b, llx_node_id x, int64_t c, int64_t r, bool bias)
{
    llx_node_id w1, b1, w2, b2;
    llx_scope_push(b, "channel");
    mlp_params(b, "fc1", c, r, bias, &w1, &b1);
    mlp_params(b, "fc2", r, c, bias, &w2, &b2);
    llx_scope_pop(b);
    llx_node_id pooled[2] = {llx_emit_unary(b, LLX_OP_GLOBAL_AVGPOOL, x),
                             llx_emit_unary(b, LLX_OP_GLOBAL_MAXPOOL, x)};
    for (int i = 0; i < 2; i++) {
        llx_node_id h = llx_emit_unary(b, LLX_OP_RELU, llx_emit_conv2d(b, pooled[i], w1, b1, 1, 0));
        pooled[i] = llx_emit_conv2d(b, h, w2, b2, 1, 0); /* (N,C,1,1) */
    }
    llx_node_id z = llx_emit_binary(b, LLX_OP_ADD, pooled[0], pooled[1]); /* (N,C,1,1) */
    return llx_emit_binary(b, LLX_OP_SIGMOID_GATE, x, z);                 /* x * sigmoid(z): (N,C,H,W) */
}

/* y = x1 * sigmoid(bn(conv(concat(channel pools of x1)))). */
static llx_node_id spatial_gate(llx_builder *b, llx_node_id x1, int k, int variant)
{
    llx_scope_push(b, "spatial");
    llx_node_id w =
        llx_param(b, "conv.weight", llx_shape4(1, 2, k, k), (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    llx_node_id mx = llx_emit_unary(b, LLX_OP_CHANNEL_MAX, x1);    /* (N,1,H,W) */
    llx_node_id mean = llx_emit_unary(b, LLX_OP_CHANNEL_MEAN, x1); /* (N,1,H,W) */
    llx_node_id cat_in[2] = {mx, mean};
    if (variant == CBAM_TIMM) cat_in[0] = mean, cat_in[1] = mx;
    llx_node_id z = llx_emit_conv2d(b, llx_emit_concat(b, cat_in, 2), w, LLX_NO_NODE, 1, k / 2);
    z = llx_batchnorm2d_layer(b, "bn", z, variant == CBAM_ORIGINAL ? 0.0 : 1.0, NULL); /* (N,1,H,W) */
    llx_scope_pop(b);
    return llx_emit_binary(b, LLX_OP_SIGMOID_GATE, x1, z); /* x1 * sigmoid(z): (N,C,H,W) */
}

/* Where a key was written (NULL: the layer's own location). */
static const llx_cfg *key_at(const llx_cfg *cfg, const char *key)
{
    return llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, key) : NULL;
}

static llx_status cbam_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                             llx_node_id *out)
{
    if (n_in < 1) return llx_build_fail(b, NULL, LLX_ERR_INVALID, "needs an input");
    llx_node_id x = in[LLX_ATTN_CUR];
    llx_shape xs = llx_node_shape(b, x);
    int64_t reduction = llx_arg_int(b, cfg, "reduction");
    int variant = llx_arg_choice(b, cfg, "variant", cbam_variants);
    int64_t k = llx_arg_int(b, cfg, "spatial_kernel");
    if (llx_build_status(b) != LLX_OK) return llx_build_status(b);
    if (xs.ndim != 4) return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "needs a 4-D (N, C, H, W) input");
    if (reduction < 1)
        return llx_build_fail(b, key_at(cfg, "reduction"), LLX_ERR_INVALID,
                              "key 'reduction': %lld must be at least 1", (long long)reduction);
    if (k < 1 || k % 2 == 0 || k > 63)
        return llx_build_fail(b, key_at(cfg, "spatial_kernel"), LLX_ERR_INVALID,
                              "key 'spatial_kernel': %lld must be odd, 1 to 63 (padding k/2 keeps H and W)",
                              (long long)k);
    int64_t c = xs.dim[1], r = c / reduction > 1 ? c / reduction : 1;
    llx_node_id x1 = channel_gate(b, x, c, r, variant == CBAM_ORIGINAL);
    *out = spatial_gate(b, x1, (int)k, variant);
    return llx_build_status(b);
}

static const llx_layer_desc cbam_layer = {
    .name = "cbam",
    .doc = "CBAM: shared-MLP channel gate (avg + max pool), then 7x7 spatial gate with BN",
    .keys = cbam_keys,
    .build = cbam_build,
};

static llx_status cbam_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &cbam_layer, "cbam", err);
}

LLX_PLUGIN(cbam, "1.0.0", cbam_register)
