/* graph_impl.h: the graph's private structures, shared by graph.c (nodes,
 * compile, run), graph_info.c (views, loss), builder.c and emit.c (what layers
 * call), init.c (initial values), model.c (YAML -> graph) and builtin_layers.c. */
#ifndef LLX_GRAPH_IMPL_H
#define LLX_GRAPH_IMPL_H

#include "llx/graph.h"

#define LLX_SCOPE_MAX 512
#define LLX_NEST_MAX 32

typedef struct node {
    llx_node_kind kind;
    char *name; /* dotted: parameter name, or "<layer>:<op>" for ops */
    const llx_op_desc *op;
    void *attr;
    llx_node_id in[LLX_OP_MAX_INPUTS];
    int n_in;
    llx_shape shape;
    llx_dtype dtype;
    llx_init init;   /* parameters and buffers */
    double *init_values; /* (optional, owned) explicit initial values, numel long */
    int row;         /* the layer row that made it, -1 for graph inputs */
    bool batched;    /* dim 0 is the batch */
    bool requires_grad; /* inputs whose gradient is wanted */
    bool needs_grad;    /* set by compile */
    llx_tensor value, grad;
    void *saved;
    size_t saved_bytes;
    llx_op_call call; /* prepared by compile */
    double prof_fwd_s, prof_bwd_s; /* profiling: summed seconds and calls */
    int64_t prof_fwd_n, prof_bwd_n;
} node;

typedef struct layer_frame {
    const llx_layer_desc *desc;
    const llx_cfg *cfg;
    int row;
    size_t scope_len; /* length of the scope before this frame */
} layer_frame;

struct llx_builder {
    llx_graph *g;
    char scope[LLX_SCOPE_MAX];
    size_t scope_len;
    size_t scope_stack[LLX_NEST_MAX];
    int n_scope;
    layer_frame frames[LLX_NEST_MAX];
    int n_frames;
    llx_status status;
    llx_error err;
};

typedef struct row_ext {
    llx_layer_row row;
    char *name;
} row_ext;

struct llx_graph {
    const llx_registry *reg;
    llx_dtype dtype;
    node *nodes;
    size_t n_nodes, cap_nodes;
    llx_node_id input, labels;
    int64_t batch;
    llx_layer_row *rows;
    char **row_names;
    size_t n_rows, cap_rows;
    llx_builder builder;
    /* after compile */
    llx_backend *be;
    void *arenas[5]; /* parameters, parameter grads, activations, activation grads, saved */
    size_t act_grad_bytes, param_grad_bytes;
    void *workspace;
    size_t planned_bytes; /* arenas + workspace */
    bool profile;         /* time every op node (llx_graph_set_profile) */
    bool *grad_written;   /* per node, during backward: its activation gradient holds a value */
};

enum { ARENA_PARAM, ARENA_PARAM_GRAD, ARENA_ACT, ARENA_ACT_GRAD, ARENA_SAVED, ARENA_COUNT };

/* Appends a node (copying attr); returns its id or LLX_NO_NODE on allocation failure. */
llx_node_id llx_graph_add_node(llx_graph *g, const node *proto, const void *attr, size_t attr_size);
/* Starts a layer row (inclusive counts) at the current nesting depth. */
int llx_graph_add_row(llx_graph *g, const char *name, const char *type, int depth);
/* Builds one layer from cfg (map with type:, or a scalar type name) under scope `name`. */
llx_status llx_build_layer_cfg(llx_builder *b, const char *name, const llx_cfg *cfg,
                               const llx_node_id *in, int n_in, llx_node_id *out);
/* Fills parameter values from seed (host buffer of the node's numel elements, dtype of g). */
void llx_init_param(const node *n, uint64_t seed, void *host);

#endif
