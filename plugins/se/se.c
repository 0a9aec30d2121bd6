/* se: Squeeze-and-Excitation (Hu et al.; moskomule/senet.pytorch; timm squeeze_excite.py).
 *
 *   s = GAP(F_cur)                        (N,C,1,1)
 *   h = relu(fc1(s))                      fc1: 1x1 conv C -> R, weight (R,C,1,1) [+ bias (R)]
 *   g = sigmoid(fc2(h))                   fc2: 1x1 conv R -> C, weight (C,R,1,1) [+ bias (C)]
 *   y = F_cur * g                         (N,C,H,W), g broadcast over H, W
 *
 * Keys: reduction (16), bias (true), round (false). Hidden width
 *   round false: R = max(1, C // reduction)  (C < reduction gives R = 1)
 *   round true:  R = timm's make_divisible(C / reduction, 8)
 * Parameters: fc1.weight, fc1.bias, fc2.weight, fc2.bias (fixture names).
 * Init: PyTorch's default for nn.Linear/nn.Conv2d (senet.pytorch's linear
 * layers), U(+-1/sqrt(fan_in)) for weights and biases, so the gate starts near
 * 0.5 (Kaiming fan_out would not). Uses only in[LLX_ATTN_CUR]. */
#include "llx/llx.h"

static const llx_key_spec se_keys[] = {
    {"reduction", LLX_KEY_INT, "16", "channel reduction r of the hidden layer (>= 1)"},
    {"bias", LLX_KEY_BOOL, "true", "biases in fc1 and fc2"},
    {"round", LLX_KEY_BOOL, "false", "timm rounding of C/r to a multiple of 8 (min 8)"},
    {0},
};

/* timm's make_divisible(v, 8): nearest multiple of 8, at least 8, not below 0.9 v. */
static int64_t make_divisible8(double v)
{
    int64_t n = (int64_t)(v + 4) / 8 * 8;
    if (n < 8) n = 8;
    if ((double)n < 0.9 * v) n += 8;
    return n;
}

static int64_t se_hidden(int64_t c, int64_t r, bool round)
{
    if (round) return make_divisible8((double)c / (double)r);
    return c / r > 1 ? c / r : 1;
}

/* A 1x1 conv "<name>" from x (N,in,1,1) to (N,out,1,1) with PyTorch's default init. */
static llx_node_id fc(llx_builder *b, const char *name, llx_node_id x, int64_t in, int64_t out, bool bias)
{
    llx_scope_push(b, name);
    llx_node_id w = llx_param(b, "weight", llx_shape4(out, in, 1, 1), (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    llx_node_id bi =
        bias ? llx_param(b, "bias", llx_shape1(out), (llx_init){LLX_INIT_UNIFORM_FAN_IN, (double)in})
             : LLX_NO_NODE;
    llx_scope_pop(b);
    return llx_emit_conv2d(b, x, w, bi, 1, 0);
}

static llx_status se_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                           llx_node_id *out)
{
    (void)n_in;
    llx_node_id x = in[LLX_ATTN_CUR];
    llx_shape xs = llx_node_shape(b, x);
    if (xs.ndim != 4) return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "needs a 4-D (N, C, H, W) input");
    int64_t r = llx_arg_int(b, cfg, "reduction");
    bool bias = llx_arg_bool(b, cfg, "bias");
    bool round = llx_arg_bool(b, cfg, "round");
    if (llx_build_status(b) != LLX_OK) return llx_build_status(b);
    if (r < 1) {
        const llx_cfg *at = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "reduction") : NULL;
        return llx_build_fail(b, at, LLX_ERR_INVALID, "key 'reduction': %lld is not an integer >= 1",
                              (long long)r);
    }
    int64_t c = xs.dim[1], hidden = se_hidden(c, r, round);

    llx_node_id s = llx_emit_unary(b, LLX_OP_GLOBAL_AVGPOOL, x);                      /* (N,C,1,1) */
    llx_node_id h = llx_emit_unary(b, LLX_OP_RELU, fc(b, "fc1", s, c, hidden, bias)); /* (N,R,1,1) */
    llx_node_id z = fc(b, "fc2", h, hidden, c, bias);                                 /* (N,C,1,1) */
    *out = llx_emit_binary(b, LLX_OP_SIGMOID_GATE, x, z); /* x * sigmoid(z): (N,C,H,W) */
    return llx_build_status(b);
}

static const llx_layer_desc se_layer = {
    .name = "se",
    .doc = "Squeeze-and-Excitation: F * sigmoid(fc2(relu(fc1(GAP(F)))))",
    .keys = se_keys,
    .build = se_build,
};

static llx_status se_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &se_layer, "se", err);
}

LLX_PLUGIN(se, "1.0.0", se_register)
