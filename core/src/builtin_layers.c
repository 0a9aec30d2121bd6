/* builtin_layers.c: the layers that wrap one primitive op each, so that a
 * network can be written from them in YAML. Parameter names follow PyTorch
 * (<name>.weight, <name>.bias, <name>.running_mean, <name>.running_var). */
#include "graph_impl.h"
#include "registry_impl.h"

static llx_status conv2d_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                               llx_node_id *out)
{
    int k = (int)llx_arg_int(b, cfg, "kernel");
    int pad = (int)llx_arg_int(b, cfg, "padding");
    *out = llx_conv2d_layer(b, "", in[0], llx_arg_int(b, cfg, "out"), k,
                            (int)llx_arg_int(b, cfg, "stride"), pad < 0 ? k / 2 : pad,
                            llx_arg_bool(b, cfg, "bias"));
    return llx_build_status(b);
}

static const llx_key_spec conv2d_keys[] = {
    {"out", LLX_KEY_INT, NULL, "output channels"},
    {"kernel", LLX_KEY_INT, "3", "square kernel size"},
    {"stride", LLX_KEY_INT, "1", "stride"},
    {"padding", LLX_KEY_INT, "-1", "zero padding; -1: kernel / 2"},
    {"bias", LLX_KEY_BOOL, "true", "add a learned bias"},
    {0},
};

static llx_status batchnorm2d_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in,
                                    int n_in, llx_node_id *out)
{
    llx_batchnorm2d_attr a = {.momentum = llx_arg_float(b, cfg, "momentum"),
                              .eps = llx_arg_float(b, cfg, "eps")};
    *out = llx_batchnorm2d_layer(b, "", in[0], llx_arg_float(b, cfg, "gamma"), &a);
    return llx_build_status(b);
}

static const llx_key_spec batchnorm2d_keys[] = {
    {"momentum", LLX_KEY_FLOAT, "0.1", "running statistics: (1 - m) * running + m * batch"},
    {"eps", LLX_KEY_FLOAT, "1e-5", "added to the variance"},
    {"gamma", LLX_KEY_FLOAT, "1", "initial scale (0 for a zero-init gate)"},
    {0},
};

static llx_status maxpool2d_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                                  llx_node_id *out)
{
    int k = (int)llx_arg_int(b, cfg, "kernel"), s = (int)llx_arg_int(b, cfg, "stride");
    *out = llx_emit_maxpool2d(b, in[0], k, s < 0 ? k : s, (int)llx_arg_int(b, cfg, "padding"));
    return llx_build_status(b);
}

static const llx_key_spec maxpool2d_keys[] = {
    {"kernel", LLX_KEY_INT, "2", "window size"},
    {"stride", LLX_KEY_INT, "-1", "stride; -1: the kernel size"},
    {"padding", LLX_KEY_INT, "0", "padding (never wins the max)"},
    {0},
};

static llx_status linear_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                               llx_node_id *out)
{
    llx_shape xs = llx_node_shape(b, in[0]);
    int64_t features = xs.ndim ? llx_shape_numel(&xs) / xs.dim[0] : 0;
    int64_t o = llx_arg_int(b, cfg, "out");
    llx_node_id w = llx_param(b, "weight", llx_shape2(o, features), (llx_init){LLX_INIT_UNIFORM_FAN_IN, 0});
    llx_node_id bias = llx_arg_bool(b, cfg, "bias")
                           ? llx_param(b, "bias", llx_shape1(o), (llx_init){LLX_INIT_UNIFORM_FAN_IN, (double)features})
                           : LLX_NO_NODE;
    *out = llx_emit_linear(b, in[0], w, bias);
    return llx_build_status(b);
}

static const llx_key_spec linear_keys[] = {
    {"out", LLX_KEY_INT, NULL, "output features (classes for the last layer)"},
    {"bias", LLX_KEY_BOOL, "true", "add a learned bias"},
    {0},
};

/* One-input layers that are just their op. */
#define UNARY_LAYER(fn, op_id)                                                                  \
    static llx_status fn(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,  \
                         llx_node_id *out)                                                      \
    {                                                                                           \
        *out = llx_emit_unary(b, op_id, in[0]);                                                 \
        return llx_build_status(b);                                                             \
    }
UNARY_LAYER(relu_build, LLX_OP_RELU)
UNARY_LAYER(sigmoid_build, LLX_OP_SIGMOID)
UNARY_LAYER(global_avgpool_build, LLX_OP_GLOBAL_AVGPOOL)
UNARY_LAYER(global_maxpool_build, LLX_OP_GLOBAL_MAXPOOL)

/* Multi-input layers fed through `from: [a, b]`. */
static llx_status binary_build(llx_builder *b, llx_op_id op, const llx_node_id *in, int n_in,
                               llx_node_id *out)
{
    if (n_in != 2) return llx_build_fail(b, NULL, LLX_ERR_INVALID, "needs two inputs (from: [a, b]), got %d", n_in);
    *out = llx_emit_binary(b, op, in[0], in[1]);
    return llx_build_status(b);
}

static llx_status add_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                            llx_node_id *out)
{
    return binary_build(b, LLX_OP_ADD, in, n_in, out);
}

static llx_status mul_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                            llx_node_id *out)
{
    return binary_build(b, LLX_OP_MUL, in, n_in, out);
}

static llx_status concat_build(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                               llx_node_id *out)
{
    *out = llx_emit_concat(b, in, n_in);
    return llx_build_status(b);
}

static const llx_key_spec no_keys[] = {{0}};

static const llx_layer_desc builtin_layers[] = {
    {"conv2d", "2-D convolution (weight kaiming-normal fan_out)", conv2d_keys, conv2d_build},
    {"batchnorm2d", "batch normalisation over N, H, W", batchnorm2d_keys, batchnorm2d_build},
    {"relu", "max(x, 0)", no_keys, relu_build},
    {"sigmoid", "1 / (1 + exp(-x))", no_keys, sigmoid_build},
    {"maxpool2d", "max pooling", maxpool2d_keys, maxpool2d_build},
    {"global_avgpool", "mean over H, W -> (N, C, 1, 1)", no_keys, global_avgpool_build},
    {"global_maxpool", "max over H, W -> (N, C, 1, 1)", no_keys, global_maxpool_build},
    {"linear", "fully connected on the flattened input", linear_keys, linear_build},
    {"add", "a + b (b broadcast), inputs from: [a, b]", no_keys, add_build},
    {"mul", "a * b (b broadcast), inputs from: [a, b]", no_keys, mul_build},
    {"concat", "channel concatenation of the inputs in from:", no_keys, concat_build},
};

llx_status llx_register_builtin_layers(llx_registry *r, llx_error *err)
{
    for (size_t i = 0; i < sizeof builtin_layers / sizeof builtin_layers[0]; i++)
        LLX_TRY(llx_registry_add_layer(r, &builtin_layers[i], "builtin", err));
    return LLX_OK;
}
