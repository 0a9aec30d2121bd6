/* graph_info.c: read-only views of a graph (summaries, tests, checkpoints) and the loss. */
#include <stdlib.h>
#include <string.h>

#include "graph_impl.h"

size_t llx_graph_node_count(const llx_graph *g) { return g->n_nodes; }
llx_node_kind llx_graph_node_kind(const llx_graph *g, llx_node_id n) { return g->nodes[n].kind; }
const char *llx_graph_node_name(const llx_graph *g, llx_node_id n) { return g->nodes[n].name; }
const llx_op_desc *llx_graph_node_op(const llx_graph *g, llx_node_id n) { return g->nodes[n].op; }
const void *llx_graph_node_attr(const llx_graph *g, llx_node_id n) { return g->nodes[n].attr; }
llx_shape llx_graph_node_shape(const llx_graph *g, llx_node_id n) { return g->nodes[n].shape; }
llx_node_id llx_graph_input_node(const llx_graph *g) { return g->input; }
llx_node_id llx_graph_labels_node(const llx_graph *g) { return g->labels; }
llx_dtype llx_graph_dtype(const llx_graph *g) { return g->dtype; }
llx_backend *llx_graph_backend(const llx_graph *g) { return g->be; }
llx_builder *llx_graph_builder(llx_graph *g) { return &g->builder; }

int llx_graph_node_inputs(const llx_graph *g, llx_node_id n, const llx_node_id **in)
{
    *in = g->nodes[n].in;
    return g->nodes[n].n_in;
}

const char *llx_graph_node_layer(const llx_graph *g, llx_node_id n, const char **type)
{
    int row = g->nodes[n].row;
    if (type) *type = row >= 0 ? g->rows[row].type : NULL;
    return row >= 0 ? g->rows[row].name : NULL;
}

llx_tensor *llx_graph_value(llx_graph *g, llx_node_id n)
{
    return g->be ? &g->nodes[n].value : NULL;
}

llx_tensor *llx_graph_grad(llx_graph *g, llx_node_id n)
{
    return g->be && g->nodes[n].needs_grad ? &g->nodes[n].grad : NULL;
}

llx_node_id llx_graph_find(const llx_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const node *n = &g->nodes[i];
        if ((n->kind == LLX_NODE_PARAM || n->kind == LLX_NODE_BUFFER) && strcmp(n->name, name) == 0)
            return (llx_node_id)i;
    }
    return LLX_NO_NODE;
}

int64_t llx_graph_param_count(const llx_graph *g)
{
    int64_t total = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].kind == LLX_NODE_PARAM) total += llx_shape_numel(&g->nodes[i].shape);
    return total;
}

int64_t llx_graph_macs(const llx_graph *g)
{
    int64_t total = 0;
    for (size_t i = 0; i < g->n_rows; i++)
        if (g->rows[i].depth == 0) total += g->rows[i].macs;
    return total;
}

size_t llx_graph_layer_rows(const llx_graph *g, const llx_layer_row **rows)
{
    *rows = g->rows;
    return g->n_rows;
}

llx_status llx_graph_add_loss(llx_graph *g, llx_node_id logits, const double *class_weights,
                              int n_classes, llx_node_id *loss, llx_error *err)
{
    if (g->be) return llx_errorf(err, LLX_ERR_INVALID, "graph: add the loss before compile");
    llx_shape ls = g->nodes[logits].shape;
    if (ls.ndim != 2)
        return llx_errorf(err, LLX_ERR_SHAPE, "loss: the model's output must be (N, classes), got %d-D", ls.ndim);
    if (class_weights && n_classes != ls.dim[1])
        return llx_errorf(err, LLX_ERR_SHAPE, "loss: %d class weights for %lld classes",
                          n_classes, (long long)ls.dim[1]);
    node labels = {.kind = LLX_NODE_INPUT, .name = "labels", .shape = llx_shape1(ls.dim[0]),
                   .dtype = LLX_I32, .row = -1, .batched = true};
    g->labels = llx_graph_add_node(g, &labels, NULL, 0);
    if (g->labels == LLX_NO_NODE) return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
    llx_node_id in[3] = {logits, g->labels, LLX_NO_NODE};
    int n_in = 2;
    if (class_weights) {
        node w = {.kind = LLX_NODE_BUFFER, .name = "loss.class_weights", .shape = llx_shape1(n_classes),
                  .dtype = g->dtype, .row = -1, .init = {LLX_INIT_CONSTANT, 1.0}};
        llx_node_id wid = llx_graph_add_node(g, &w, NULL, 0);
        double *values = malloc((size_t)n_classes * sizeof *values);
        if (wid == LLX_NO_NODE || !values) {
            free(values);
            return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
        }
        memcpy(values, class_weights, (size_t)n_classes * sizeof *values);
        g->nodes[wid].init_values = values;
        in[n_in++] = wid;
    }
    llx_softmax_ce_attr attr = {.reduction_mean = 1};
    llx_builder *b = &g->builder;
    int row = llx_graph_add_row(g, "loss", "softmax_ce", 0);
    if (row < 0) return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
    b->frames[b->n_frames++] = (layer_frame){.row = row};
    *loss = llx_emit(b, llx_builtin_op(LLX_OP_SOFTMAX_CE), &attr, in, n_in);
    b->n_frames--;
    if (b->status != LLX_OK) {
        if (err) *err = b->err;
        return b->status;
    }
    return LLX_OK;
}
