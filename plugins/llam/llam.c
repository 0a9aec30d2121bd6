/* llam: the Lossless Attention Module, the seed of llx (Wang et al., "Lossless
 * Attention in Convolutional Networks for Facial Expression Recognition in the
 * Wild", ABAW / FG-2020; SPEC.md "The seed: LLAM").
 *
 * Equations of the paper, inside a ResNet BasicBlock (all maps (N,C,H,W)):
 *
 *   F_cat = [S : F_cur]            concat on channels, S FIRST    (N,2C,H,W)
 *   z     = conv(F_cat)            conv.weight (C,2C,k,k), conv.bias (C),
 *                                  stride 1, padding k/2          (N,C,H,W)
 *  [z     = bn(z)]                 norm: bn only ("bn.*", (C))
 *   y     = F_cur * sigmoid(z)     order: equations (default)     (N,C,H,W)
 *   y     = sigmoid(F_cur * z)     order: caption (Figure 2's caption)
 *
 * "Lossless": the gate M = sigmoid(z) keeps all C channels and the full H x W
 * (no pooling, no reduction, unlike SE / CBAM / ECA).
 *
 * Options (the paper leaves them open; defaults per SPEC.md):
 *   kernel  int, 3        odd, >= 1; padding kernel/2 keeps H x W
 *   source  conv1 | input S = F_pre = in[LLX_ATTN_PRE] (conv1-bn1-relu, default), or
 *                         S = in[LLX_ATTN_SHORTCUT]: the block input, projected
 *                         by the shortcut (downsample) when shapes differ
 *   norm    none | bn     bn: a batchnorm2d "bn" after the gate conv
 *   order   equations | caption   where the sigmoid goes (see above)
 *
 * Cost: the gate conv has 2C*C*k*k + C parameters. With kernel 3 that is
 * 18C^2 weights per block, as many as the block's own two 3x3 convs, so it
 * doubles the network: LLAM-ResNet-18 has 23,715,783 parameters (+12.5M) and
 * about twice the MACs of ResNet-18; kernel 1 adds 1.39M (12,574,663).
 *
 * Init: PyTorch's default Conv2d init for the gate weight, U(+-1/sqrt(fan_in))
 * with fan_in = 2C*k*k (kaiming_uniform, a = sqrt(5)), and a ZERO bias (not
 * PyTorch's uniform bias), so z is centred at 0 and M starts near 0.5 on
 * average; bn (norm: bn) starts at gamma 1, beta 0.
 *
 * Inputs: as `attention:` of basic_block it gets the three maps of
 * LLX_ATTENTION_INPUTS (llx/layer.h). Standalone in a model it gets only the
 * previous layer's output, which has no F_pre: that is a build error (the
 * gate would be meaningless with S = F_cur); wire the maps explicitly with
 * `from: [cur, pre]` (source conv1) or `from: [cur, pre, shortcut]` (source
 * input), or use it as the attention: of basic_block. Backward comes from the
 * ops (concat, conv2d, batchnorm2d, and sigmoid_gate for order equations, sigmoid
 * and mul for order caption). */
#include "llx/llx.h"

static const llx_key_spec llam_keys[] = {
    {"kernel", LLX_KEY_INT, "3", "odd kernel of the gate conv 2C -> C (padding kernel/2)"},
    {"source", LLX_KEY_STRING, "conv1", "S concatenated before F_cur: conv1 (F_pre) or input (the shortcut)"},
    {"norm", LLX_KEY_STRING, "none", "none, or bn: a batchnorm2d after the gate conv"},
    {"order", LLX_KEY_STRING, "equations", "equations: F*sigmoid(z); caption: sigmoid(F*z)"},
    {0},
};

static const char *const llam_sources[] = {"conv1", "input", NULL};
static const char *const llam_norms[] = {"none", "bn", NULL};
static const char *const llam_orders[] = {"equations", "caption", NULL};
enum { LLAM_SOURCE_CONV1 = 0, LLAM_SOURCE_INPUT = 1 };
enum { LLAM_NORM_NONE = 0, LLAM_NORM_BN = 1 };
enum { LLAM_ORDER_EQUATIONS = 0, LLAM_ORDER_CAPTION = 1 };

typedef struct llam_opts {
    int kernel, source, norm, order;
} llam_opts;

/* Reads and checks the keys; errors stay in the builder. */
static llam_opts llam_read(llx_builder *b, const llx_cfg *cfg)
{
    llam_opts o;
    int64_t k = llx_arg_int(b, cfg, "kernel");
    o.kernel = (int)k;
    o.source = llx_arg_choice(b, cfg, "source", llam_sources);
    o.norm = llx_arg_choice(b, cfg, "norm", llam_norms);
    o.order = llx_arg_choice(b, cfg, "order", llam_orders);
    if (llx_build_status(b) == LLX_OK && (k < 1 || k % 2 == 0 || k > 63)) {
        const llx_cfg *at = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "kernel") : NULL;
        llx_build_fail(b, at, LLX_ERR_INVALID,
                       "key 'kernel': %lld must be odd and in 1..63 (padding kernel/2 keeps H x W)",
                       (long long)k);
    }
    return o;
}

/* S: F_pre (in[1]) or the shortcut (in[2]); LLX_NO_NODE with an error when absent. */
static llx_node_id llam_source(llx_builder *b, const llam_opts *o, const llx_node_id *in, int n_in)
{
    int want = o->source == LLAM_SOURCE_CONV1 ? LLX_ATTN_PRE : LLX_ATTN_SHORTCUT;
    if (n_in > want) return in[want];
    llx_build_fail(b, NULL, LLX_ERR_INVALID,
                   "needs %s (input %d) for source %s but got %d input%s: use it as the attention: of "
                   "basic_block, or wire it with from: [cur, pre%s]",
                   want == LLX_ATTN_PRE ? "F_pre" : "the shortcut", want, llam_sources[o->source], n_in,
                   n_in == 1 ? "" : "s", want == LLX_ATTN_PRE ? "" : ", shortcut");
    return LLX_NO_NODE;
}

static bool same_shape(llx_shape a, llx_shape c)
{
    if (a.ndim != c.ndim) return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != c.dim[i]) return false;
    return true;
}

static llx_status llam_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                             llx_node_id *out)
{
    llam_opts o = llam_read(b, cfg);
    if (llx_build_status(b) != LLX_OK) return llx_build_status(b);
    llx_node_id cur = in[LLX_ATTN_CUR];
    llx_node_id s = llam_source(b, &o, in, n_in);
    if (s == LLX_NO_NODE) return llx_build_status(b);
    llx_shape cs = llx_node_shape(b, cur), ss = llx_node_shape(b, s);
    if (cs.ndim != 4) return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "needs a 4-D (N, C, H, W) input");
    if (!same_shape(cs, ss))
        return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "S (source %s) must have F_cur's shape (N, C, H, W)",
                              llam_sources[o.source]);
    int64_t c = cs.dim[1];
    int k = o.kernel;

    llx_node_id cat_in[2] = {s, cur};
    llx_node_id cat = llx_emit_concat(b, cat_in, 2); /* (N,2C,H,W), S first */
    llx_node_id w =
        llx_param(b, "conv.weight", llx_shape4(c, 2 * c, k, k), (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    llx_node_id bias = llx_param(b, "conv.bias", llx_shape1(c), (llx_init){LLX_INIT_ZEROS, 0});
    llx_node_id z = llx_emit_conv2d(b, cat, w, bias, 1, k / 2); /* (N,C,H,W) */
    if (o.norm == LLAM_NORM_BN) z = llx_batchnorm2d_layer(b, "bn", z, 1.0, NULL);
    if (o.order == LLAM_ORDER_EQUATIONS)
        *out = llx_emit_binary(b, LLX_OP_SIGMOID_GATE, cur, z); /* cur * sigmoid(z) (N,C,H,W) */
    else
        *out = llx_emit_unary(b, LLX_OP_SIGMOID, llx_emit_binary(b, LLX_OP_MUL, cur, z));
    return llx_build_status(b);
}

static const llx_layer_desc llam_layer = {
    .name = "llam",
    .doc = "LLAM (seed): F_cur * sigmoid(conv([F_pre : F_cur])), a full C x H x W gate",
    .keys = llam_keys,
    .build = llam_build,
};

static llx_status llam_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &llam_layer, "llam", err);
}

LLX_PLUGIN(llam, "1.0.0", llam_register)
