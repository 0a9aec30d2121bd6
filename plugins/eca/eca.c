/* eca: Efficient Channel Attention (Wang et al.; BangguWu/ECANet eca_module.py; timm eca.py).
 *
 *   s = GAP(F_cur)                        (N,C,1,1), read as a length-C sequence
 *   z = conv1d_channels(s, w, (k-1)/2)    w "conv.weight" (1,1,k), zero padding, no bias
 *   y = F_cur * sigmoid(z)                (N,C,H,W)
 *
 * Key kernel: "adaptive" (default) or an odd integer >= 1. Adaptive:
 *   t = int(|log2(C) + 1| / 2), k = t if t is odd else t + 1
 * (3 at C = 32 and 64, 5 at 128, 256 and 512). Even or < 1 kernels are errors.
 * Init: PyTorch's default for nn.Conv1d (ECANet leaves it untouched),
 * U(+-1/sqrt(k)), so the gate starts near 0.5. Uses only in[LLX_ATTN_CUR]. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llx/llx.h"

static const llx_key_spec eca_keys[] = {
    {"kernel", LLX_KEY_STRING, "adaptive", "1-D kernel size: adaptive (from C) or an odd integer >= 1"},
    {0},
};

static int eca_adaptive_kernel(int64_t c)
{
    int t = (int)(fabs(log2((double)c) + 1.0) / 2.0);
    return t % 2 ? t : t + 1;
}

/* The kernel size of key `kernel` for C channels; 0 after a recorded error. */
static int eca_kernel(llx_builder *b, const llx_cfg *cfg, int64_t c)
{
    const char *s = llx_arg_str(b, cfg, "kernel");
    if (llx_build_status(b) != LLX_OK || !s) return 0;
    if (strcmp(s, "adaptive") == 0) return eca_adaptive_kernel(c);
    char *end;
    errno = 0;
    long k = strtol(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0 && k >= 1 && k % 2 == 1 && k <= INT_MAX) return (int)k;
    const llx_cfg *at = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "kernel") : NULL;
    static const char *const words[] = {"adaptive", NULL};
    const char *near = llx_suggest(s, words);
    llx_build_fail(b, at, LLX_ERR_INVALID, "key 'kernel': '%s' is not 'adaptive' or an odd integer >= 1%s", s,
                   near ? " (did you mean 'adaptive'?)" : "");
    return 0;
}

static llx_status eca_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                            llx_node_id *out)
{
    (void)n_in;
    llx_node_id x = in[LLX_ATTN_CUR];
    llx_shape xs = llx_node_shape(b, x);
    if (xs.ndim != 4) return llx_build_fail(b, NULL, LLX_ERR_SHAPE, "needs a 4-D (N, C, H, W) input");
    int k = eca_kernel(b, cfg, xs.dim[1]);
    if (llx_build_status(b) != LLX_OK) return llx_build_status(b);

    llx_node_id w = llx_param(b, "conv.weight", llx_shape_make(3, (const int64_t[]){1, 1, k}),
                              (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    llx_node_id s = llx_emit_unary(b, LLX_OP_GLOBAL_AVGPOOL, x);    /* (N,C,1,1) */
    llx_node_id z = llx_emit_conv1d_channels(b, s, w, (k - 1) / 2); /* (N,C,1,1) */
    *out = llx_emit_binary(b, LLX_OP_SIGMOID_GATE, x, z);           /* x * sigmoid(z): (N,C,H,W) */
    return llx_build_status(b);
}

static const llx_layer_desc eca_layer = {
    .name = "eca",
    .doc = "Efficient Channel Attention: F * sigmoid(conv1d_k(GAP(F)))",
    .keys = eca_keys,
    .build = eca_build,
};

static llx_status eca_register(llx_registry *r, llx_error *err)
{
    return llx_registry_add_layer(r, &eca_layer, "eca", err);
}

LLX_PLUGIN(eca, "1.0.0", eca_register)
