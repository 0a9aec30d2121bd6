/* llx/layer.h: layers, the second level of extension.
 *
 * A layer is a builder: from its YAML keys and input node(s) it declares
 * parameters (dotted name, shape, initialiser) and emits ops into the graph.
 * The engine derives backward from the ops, so a new attention block only
 * writes its forward composition.
 *
 * Errors are sticky in the builder: once a call fails, later calls do
 * nothing and return LLX_NO_NODE, and build() returns llx_build_status(b).
 * Messages name the layer, its YAML location and what did not fit. */
#ifndef LLX_LAYER_H
#define LLX_LAYER_H

#include "llx/config.h"
#include "llx/ops.h"

typedef int llx_node_id; /* index of a node in the graph */
#define LLX_NO_NODE (-1)

typedef enum llx_key_type {
    LLX_KEY_INT = 0,
    LLX_KEY_FLOAT,
    LLX_KEY_BOOL,
    LLX_KEY_STRING,
    LLX_KEY_ANY, /* any node, read by the layer itself (e.g. a nested layer config) */
    LLX_KEY_TYPE_COUNT
} llx_key_type;

/* One key a layer accepts. default_value NULL: required. The list ends with {0}. */
typedef struct llx_key_spec {
    const char *name;
    llx_key_type type;
    const char *default_value;
    const char *doc;
} llx_key_spec;

typedef struct llx_builder llx_builder;

typedef struct llx_layer_desc {
    const char *name;         /* the YAML `type:` */
    const char *doc;          /* one line for `llx plugins` */
    const llx_key_spec *keys; /* accepted keys besides type/name/from */
    /* in: input nodes (1 for most layers; attention layers get 3, see
     * LLX_ATTENTION_INPUTS). *out: the output node. */
    llx_status (*build)(llx_builder *b, const llx_cfg *cfg, const llx_node_id *in, int n_in,
                        llx_node_id *out);
} llx_layer_desc;

/* Attention layers called by a residual block get these inputs:
 *   in[0] F_cur: the branch output after bn2 (N,C,H,W), the map to gate;
 *   in[1] F_pre: the branch after conv1-bn1-relu (N,C,H,W);
 *   in[2] the shortcut of the block input (identity or projection) (N,C,H,W). */
enum { LLX_ATTN_CUR = 0, LLX_ATTN_PRE = 1, LLX_ATTN_SHORTCUT = 2, LLX_ATTENTION_INPUTS = 3 };

/* ---- reading the layer's keys (defaults come from the key spec) ---- */
int64_t llx_arg_int(llx_builder *b, const llx_cfg *cfg, const char *key);
double llx_arg_float(llx_builder *b, const llx_cfg *cfg, const char *key);
bool llx_arg_bool(llx_builder *b, const llx_cfg *cfg, const char *key);
const char *llx_arg_str(llx_builder *b, const llx_cfg *cfg, const char *key);
/* Raw node for LLX_KEY_ANY keys (NULL when absent). */
const llx_cfg *llx_arg_node(llx_builder *b, const llx_cfg *cfg, const char *key);
/* A string key limited to choices (NULL-terminated): index of the choice. */
int llx_arg_choice(llx_builder *b, const llx_cfg *cfg, const char *key,
                   const char *const *choices);

/* ---- parameters and buffers ---- */
typedef enum llx_init_kind {
    LLX_INIT_ZEROS = 0,
    LLX_INIT_ONES,
    LLX_INIT_CONSTANT,             /* value */
    LLX_INIT_KAIMING_NORMAL_FAN_OUT, /* N(0, 2 / fan_out), relu gain (torchvision conv init) */
    LLX_INIT_UNIFORM_FAN_IN,       /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for
                                      linear/conv weights (kaiming_uniform, a = sqrt(5)) and biases;
                                      for a bias, fan_in is taken from `value` */
    LLX_INIT_NORMAL,               /* N(0, value^2) */
    LLX_INIT_KIND_COUNT
} llx_init_kind;

typedef struct llx_init {
    llx_init_kind kind;
    double value;
} llx_init;

/* Trainable parameter named "<scope>.<name>" with the given shape. */
llx_node_id llx_param(llx_builder *b, const char *name, llx_shape shape, llx_init init);
/* Non-trainable state saved with the parameters (running statistics). */
llx_node_id llx_buffer(llx_builder *b, const char *name, llx_shape shape, llx_init init);

/* ---- ops ---- */
llx_node_id llx_emit(llx_builder *b, const llx_op_desc *op, const void *attr,
                     const llx_node_id *in, int n_in);
llx_node_id llx_emit_conv2d(llx_builder *b, llx_node_id x, llx_node_id w, llx_node_id bias,
                            int stride, int pad);
llx_node_id llx_emit_batchnorm2d(llx_builder *b, llx_node_id x, llx_node_id gamma,
                                 llx_node_id beta, llx_node_id mean, llx_node_id var,
                                 double momentum, double eps);
llx_node_id llx_emit_unary(llx_builder *b, llx_op_id op, llx_node_id x); /* relu, sigmoid, pools */
llx_node_id llx_emit_binary(llx_builder *b, llx_op_id op, llx_node_id a, llx_node_id c); /* add, mul */
llx_node_id llx_emit_concat(llx_builder *b, const llx_node_id *in, int n);
llx_node_id llx_emit_maxpool2d(llx_builder *b, llx_node_id x, int kernel, int stride, int pad);
llx_node_id llx_emit_conv1d_channels(llx_builder *b, llx_node_id x, llx_node_id w, int pad);
llx_node_id llx_emit_linear(llx_builder *b, llx_node_id x, llx_node_id w, llx_node_id bias);

/* Convenience layers made of params + ops, named under the current scope:
 * "<name>.weight" (O,C,k,k) [+ "<name>.bias"], kaiming fan_out init for the weight. */
llx_node_id llx_conv2d_layer(llx_builder *b, const char *name, llx_node_id x, int64_t out_ch,
                             int kernel, int stride, int pad, bool bias);
/* "<name>.weight/.bias/.running_mean/.running_var": gamma = gamma_init, beta 0, mean 0, var 1;
 * attr NULL: PyTorch's momentum 0.1 and eps 1e-5. */
llx_node_id llx_batchnorm2d_layer(llx_builder *b, const char *name, llx_node_id x,
                                  double gamma_init, const llx_batchnorm2d_attr *attr);

/* ---- structure ---- */
llx_shape llx_node_shape(llx_builder *b, llx_node_id n);
/* Builds another registered layer from cfg (a map with `type:`, or a scalar
 * naming the type) under the sub-scope `scope` ("attn"). The scalar "none"
 * with allow_none returns in[0] unchanged. */
llx_node_id llx_sublayer(llx_builder *b, const char *scope, const llx_cfg *cfg,
                         const llx_node_id *in, int n_in, bool allow_none);
void llx_scope_push(llx_builder *b, const char *name);
void llx_scope_pop(llx_builder *b);

/* ---- errors ---- */
/* Records an error at cfg's location (or the current layer's) naming the layer. */
llx_status llx_build_fail(llx_builder *b, const llx_cfg *at, llx_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
llx_status llx_build_status(const llx_builder *b);
/* The first error with its message (status LLX_OK when none). */
const llx_error *llx_build_error(const llx_builder *b);

#endif
