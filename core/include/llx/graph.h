/* llx/graph.h: the static graph.
 *
 * Built once per experiment from the `model:` section (llx_model_build) or
 * by hand with the builder API; shapes are inferred and checked while it is
 * built. llx_graph_compile plans all memory on a backend once: one arena for
 * parameters, one for their gradients, one for activations and their
 * gradients, one grow-only workspace. Then forward and backward run per
 * batch with no allocation. */
#ifndef LLX_GRAPH_H
#define LLX_GRAPH_H

#include "llx/layer.h"
#include "llx/registry.h"

typedef struct llx_graph llx_graph;

typedef enum llx_node_kind {
    LLX_NODE_INPUT = 0,
    LLX_NODE_PARAM,
    LLX_NODE_BUFFER,
    LLX_NODE_OP,
    LLX_NODE_KIND_COUNT
} llx_node_kind;

/* An empty graph with one input node of shape `input` (batch dimension included). */
llx_status llx_graph_create(const llx_registry *r, llx_dtype dtype, llx_shape input,
                            llx_graph **out, llx_error *err);
void llx_graph_free(llx_graph *g);

/* Adds another input node (for blocks with several inputs, tests); requires_grad:
 * its gradient is computed by backward (llx_graph_grad). Before compile. */
llx_node_id llx_graph_add_input(llx_graph *g, const char *name, llx_shape shape, bool requires_grad);
/* Makes backward compute the gradient of an input node (the main input too). Before compile. */
void llx_graph_input_requires_grad(llx_graph *g, llx_node_id input);

/* The builder that layers use to add to g (valid while g lives). */
llx_builder *llx_graph_builder(llx_graph *g);
llx_node_id llx_graph_input_node(const llx_graph *g);

/* Builds the `model:` section of cfg root into a new graph:
 *   model:
 *     input: [3, 112, 112]      # C, H, W
 *     layers:
 *       - {type: conv2d, name: conv1, out: 64, kernel: 7, stride: 2, padding: 3, bias: false}
 *       - ...
 * Each layer takes the previous layer's output, or the layers named in `from:`.
 * *out_node is the last layer's output (the logits). */
llx_status llx_model_build(const llx_registry *r, const llx_cfg *model, int64_t batch,
                           llx_dtype dtype, llx_graph **out, llx_node_id *out_node,
                           llx_error *err);

/* Adds labels (N) I32 input and softmax cross-entropy on logits; returns the loss node.
 * class_weights: K values or NULL. */
llx_status llx_graph_add_loss(llx_graph *g, llx_node_id logits, const double *class_weights,
                              int n_classes, llx_node_id *loss, llx_error *err);
llx_node_id llx_graph_labels_node(const llx_graph *g); /* LLX_NO_NODE before add_loss */

/* Plans memory on be and initialises parameters from seed. */
llx_status llx_graph_compile(llx_graph *g, llx_backend *be, uint64_t seed, llx_error *err);

/* Runs every op in order. training: batch statistics and saved state for backward. */
llx_status llx_graph_forward(llx_graph *g, bool training, llx_error *err);
/* Seeds d(loss)/d(loss) = 1 and runs backward in reverse order. Parameter
 * gradients accumulate: call llx_graph_zero_grad between steps. */
llx_status llx_graph_backward(llx_graph *g, llx_node_id loss, llx_error *err);
/* Backward from any node with a given output gradient (host memory, the node's numel
 * elements of the graph's dtype): d(sum(out * dout))/d(everything). */
llx_status llx_graph_backward_seed(llx_graph *g, llx_node_id out, const void *dout_host, llx_error *err);
llx_status llx_graph_zero_grad(llx_graph *g, llx_error *err);
/* Every parameter gradient at once: their arena as one flat 1-D tensor of the graph's dtype
 * (the bytes between tensors, kept for alignment, stay zero), for passes over all of them
 * (loss scaling's unscale, llx/loss_scale.h). After compile; an empty tensor without
 * parameters. */
llx_tensor llx_graph_param_grads(llx_graph *g);
/* Runs the next passes on the first n <= planned batch samples (a last, short batch). */
llx_status llx_graph_set_batch(llx_graph *g, int64_t n, llx_error *err);

/* ---- inspection ---- */
size_t llx_graph_node_count(const llx_graph *g);
llx_node_kind llx_graph_node_kind(const llx_graph *g, llx_node_id n);
const char *llx_graph_node_name(const llx_graph *g, llx_node_id n); /* dotted */
const llx_op_desc *llx_graph_node_op(const llx_graph *g, llx_node_id n);
const void *llx_graph_node_attr(const llx_graph *g, llx_node_id n);
int llx_graph_node_inputs(const llx_graph *g, llx_node_id n, const llx_node_id **in);
llx_shape llx_graph_node_shape(const llx_graph *g, llx_node_id n);
/* The layer (dotted name, type) that emitted node n, and its YAML location. */
const char *llx_graph_node_layer(const llx_graph *g, llx_node_id n, const char **type);
/* Value and gradient tensors (after compile; grad NULL when none). */
llx_tensor *llx_graph_value(llx_graph *g, llx_node_id n);
llx_tensor *llx_graph_grad(llx_graph *g, llx_node_id n);
/* Parameter or buffer by dotted name ("layer1.0.conv1.weight"), LLX_NO_NODE if none. */
llx_node_id llx_graph_find(const llx_graph *g, const char *name);

int64_t llx_graph_param_count(const llx_graph *g); /* trainable elements */
int64_t llx_graph_macs(const llx_graph *g);        /* per forward pass of the whole batch */
llx_dtype llx_graph_dtype(const llx_graph *g);
llx_backend *llx_graph_backend(const llx_graph *g);

/* One row per layer (in build order) for `llx summary`. */
typedef struct llx_layer_row {
    const char *name, *type;
    llx_shape out_shape;
    int64_t params, macs;
    int depth; /* 0: a top-level layer of the model; 1: inside it, ... */
} llx_layer_row;
size_t llx_graph_layer_rows(const llx_graph *g, const llx_layer_row **rows);

/* ---- profiling and memory (llx bench) ---- */
/* Time per op type, summed over the nodes that run that op since the last reset. */
typedef struct llx_op_profile {
    const char *op;               /* the op descriptor's name */
    double forward_s, backward_s; /* seconds */
    int64_t forward_calls, backward_calls;
} llx_op_profile;

/* When on, forward and backward time every op node (the backend is synchronised
 * around each op, so the times stay right on an asynchronous device). Off by default. */
void llx_graph_set_profile(llx_graph *g, bool on);
/* Fills up to cap rows, one per op type, by forward + backward time, largest first;
 * returns the number of op types that ran (may exceed cap). */
size_t llx_graph_profile(const llx_graph *g, llx_op_profile *rows, size_t cap);
void llx_graph_profile_reset(llx_graph *g);
/* Bytes planned on the backend by compile: every arena and the workspace (0 before). */
size_t llx_graph_memory(const llx_graph *g);

#endif
