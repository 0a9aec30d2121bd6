/* template: a complete, minimal attention plugin to copy when writing a new one.
 *
 * Layer `channel_scale`: y = F_cur * sigmoid(w), one learned logit per channel
 * (w starts at `init`, 0 by default, so the gate starts at 0.5 like SE's).
 *
 *   F_cur (N,C,H,W), w (1,C,1,1) -> y (N,C,H,W)
 *
 * As `attention:` of basic_block it gets the inputs of LLX_ATTENTION_INPUTS
 * (llx/layer.h) and uses only in[LLX_ATTN_CUR]; as a standalone layer in a
 * model it gets the previous layer's output. Backward comes from the ops it
 * emits: nothing to write. See README.md beside this file. */
#include "llx/llx.h"

/* 1. The keys the layer accepts: name, type, default (NULL: required), doc. */
static const llx_key_spec channel_scale_keys[] = {
    {"init", LLX_KEY_FLOAT, "0", "initial gate logit of every channel"},
    {0},
};

/* 2. The builder: declare parameters under the layer's scope, emit ops. */
static llx_status channel_scale_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                                      llx_node_id *out)
{
    if (n_in < 1) return llx_build_fail(b, NULL, LLX_ERR_INVALID, "needs an input");
    llx_node_id x = in[LLX_ATTN_CUR];
    llx_shape xs = llx_node_shape(b, x);
    if (xs.ndim != 4) return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "needs a 4-D (N, C, H, W) input");
    double init = llx_arg_float(b, cfg, "init");
    llx_node_id w = llx_param(b, "weight", llx_shape4(1, xs.dim[1], 1, 1), (llx_init){LLX_INIT_CONSTANT, init});
    /* x * sigmoid(w) in one op: w (1,C,1,1) broadcast over N, H, W -> (N,C,H,W) */
    *out = llx_emit_binary(b, LLX_OP_SIGMOID_GATE, x, w);
    return llx_build_status(b); /* the first error, if any */
}

/* 3. The descriptor and the registration; LLX_PLUGIN exports the one entry symbol. */
static const llx_layer_desc channel_scale_layer = {
    .name = "channel_scale",
    .doc = "template: F * sigmoid(w_c), one learned gate per channel",
    .keys = channel_scale_keys,
    .build = channel_scale_build,
};

static llx_status template_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &channel_scale_layer, "template", err);
}

LLX_PLUGIN(template, "1.0.0", template_register)
