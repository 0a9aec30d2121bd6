/* graph.c: nodes, memory planning, forward and backward.
 *
 * Memory is planned once by llx_graph_compile: every node's value and
 * gradient gets an offset in one of five arenas (parameters, parameter
 * gradients, activations, activation gradients, saved state) and the ops
 * share one workspace sized to the largest need. Forward and backward then
 * run the prepared calls with no allocation. With profiling on
 * (llx_graph_set_profile) each op node runs between two backend
 * synchronisations and its time is added to the node. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph_impl.h"

#define ALIGN 64

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

llx_status llx_graph_create(const llx_registry *r, llx_dtype dtype, llx_shape input,
                            llx_graph **out, llx_error *err)
{
    llx_graph *g = calloc(1, sizeof *g);
    if (!g) return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
    g->reg = r;
    g->dtype = dtype;
    g->batch = input.dim[0];
    g->labels = LLX_NO_NODE;
    g->builder.g = g;
    node in = {.kind = LLX_NODE_INPUT, .name = "input", .shape = input, .dtype = dtype,
               .row = -1, .batched = true};
    g->input = llx_graph_add_node(g, &in, NULL, 0);
    if (g->input == LLX_NO_NODE) {
        llx_graph_free(g);
        return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
    }
    *out = g;
    return LLX_OK;
}

void llx_graph_free(llx_graph *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].attr);
        free(g->nodes[i].init_values);
    }
    for (size_t i = 0; i < g->n_rows; i++) free(g->row_names[i]);
    if (g->be) {
        for (int a = 0; a < ARENA_COUNT; a++)
            if (g->arenas[a]) g->be->free(g->be, g->arenas[a]);
        if (g->workspace) g->be->free(g->be, g->workspace);
    }
    free(g->grad_written);
    free(g->nodes);
    free(g->rows);
    free(g->row_names);
    free(g);
}

llx_node_id llx_graph_add_node(llx_graph *g, const node *proto, const void *attr, size_t attr_size)
{
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        node *nodes = realloc(g->nodes, cap * sizeof *nodes);
        if (!nodes) return LLX_NO_NODE;
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    node *n = &g->nodes[g->n_nodes];
    *n = *proto;
    n->name = strdup(proto->name ? proto->name : "");
    n->attr = NULL;
    n->init_values = NULL;
    if (attr_size) {
        n->attr = malloc(attr_size);
        if (n->attr) memcpy(n->attr, attr, attr_size);
    }
    if (!n->name || (attr_size && !n->attr)) {
        free(n->name);
        free(n->attr);
        return LLX_NO_NODE;
    }
    return (llx_node_id)g->n_nodes++;
}

int llx_graph_add_row(llx_graph *g, const char *name, const char *type, int depth)
{
    if (g->n_rows == g->cap_rows) {
        size_t cap = g->cap_rows ? 2 * g->cap_rows : 32;
        llx_layer_row *rows = realloc(g->rows, cap * sizeof *rows);
        char **names = realloc(g->row_names, cap * sizeof *names);
        if (rows) g->rows = rows;
        if (names) g->row_names = names;
        if (!rows || !names) return -1;
        g->cap_rows = cap;
    }
    char *copy = strdup(name);
    if (!copy) return -1;
    g->row_names[g->n_rows] = copy;
    g->rows[g->n_rows] = (llx_layer_row){.name = copy, .type = type, .depth = depth};
    return (int)g->n_rows++;
}

llx_node_id llx_graph_add_input(llx_graph *g, const char *name, llx_shape shape, bool requires_grad)
{
    LLX_ASSERT(!g->be);
    node in = {.kind = LLX_NODE_INPUT, .name = (char *)name, .shape = shape, .dtype = g->dtype,
               .row = -1, .batched = true, .requires_grad = requires_grad};
    return llx_graph_add_node(g, &in, NULL, 0);
}

void llx_graph_input_requires_grad(llx_graph *g, llx_node_id input)
{
    LLX_ASSERT(!g->be && g->nodes[input].kind == LLX_NODE_INPUT);
    g->nodes[input].requires_grad = true;
}

/* ---------------------------------------------------------------- compile */

static bool takes_grad(const node *n, int i) { return !(n->op->no_grad_inputs & (1u << i)); }

static void mark_needs_grad(llx_graph *g)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        n->needs_grad = n->kind == LLX_NODE_PARAM || n->requires_grad;
        if (n->kind != LLX_NODE_OP) continue;
        for (int k = 0; k < n->n_in; k++)
            if (takes_grad(n, k) && g->nodes[n->in[k]].needs_grad) n->needs_grad = true;
    }
}

/* Assigns each tensor an offset in its arena; returns the arena sizes in bytes. */
static void plan_offsets(llx_graph *g, size_t size[ARENA_COUNT], size_t *workspace)
{
    memset(size, 0, ARENA_COUNT * sizeof size[0]);
    *workspace = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        size_t bytes = align_up((size_t)llx_shape_numel(&n->shape) * llx_dtype_size(n->dtype));
        bool is_param = n->kind == LLX_NODE_PARAM || n->kind == LLX_NODE_BUFFER;
        int va = is_param ? ARENA_PARAM : ARENA_ACT, ga = is_param ? ARENA_PARAM_GRAD : ARENA_ACT_GRAD;
        n->value = (llx_tensor){.name = n->name, .dtype = n->dtype, .shape = n->shape,
                                .data = (void *)size[va]};
        size[va] += bytes;
        n->grad = n->value;
        n->grad.data = NULL;
        if (n->needs_grad) {
            n->grad.data = (void *)size[ga];
            size[ga] += bytes;
        }
        if (n->kind != LLX_NODE_OP) continue;
        llx_shape in[LLX_OP_MAX_INPUTS];
        for (int k = 0; k < n->n_in; k++) in[k] = g->nodes[n->in[k]].shape;
        const llx_op_desc *op = n->op;
        n->saved_bytes = op->saved_bytes ? op->saved_bytes(n->attr, in, n->n_in, &n->shape, n->dtype) : 0;
        n->saved = (void *)size[ARENA_SAVED];
        size[ARENA_SAVED] += align_up(n->saved_bytes);
        size_t ws = op->workspace_bytes ? op->workspace_bytes(n->attr, in, n->n_in, &n->shape, n->dtype) : 0;
        if (ws > *workspace) *workspace = ws;
    }
}

static void *rebase(void *base, void *offset) { return (char *)base + (size_t)offset; }

/* Turns offsets into pointers and prepares each op's call. */
static void bind(llx_graph *g)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        bool is_param = n->kind == LLX_NODE_PARAM || n->kind == LLX_NODE_BUFFER;
        n->value.data = rebase(g->arenas[is_param ? ARENA_PARAM : ARENA_ACT], n->value.data);
        n->value.device = n->grad.device = g->be->device;
        if (n->needs_grad)
            n->grad.data = rebase(g->arenas[is_param ? ARENA_PARAM_GRAD : ARENA_ACT_GRAD], n->grad.data);
        if (n->kind != LLX_NODE_OP) continue;
        n->saved = rebase(g->arenas[ARENA_SAVED], n->saved);
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        if (n->kind != LLX_NODE_OP) continue;
        llx_op_call *c = &n->call;
        *c = (llx_op_call){.op = n->op, .attr = n->attr, .n_in = n->n_in, .out = &n->value,
                           .dout = n->needs_grad ? &n->grad : NULL, .saved = n->saved,
                           .workspace = g->workspace, .backend = g->be};
        for (int k = 0; k < n->n_in; k++) {
            node *src = &g->nodes[n->in[k]];
            c->in[k] = &src->value;
            c->din[k] = takes_grad(n, k) && src->needs_grad ? &src->grad : NULL;
        }
    }
}

static llx_status init_params(llx_graph *g, uint64_t seed, llx_error *err)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        if (n->kind != LLX_NODE_PARAM && n->kind != LLX_NODE_BUFFER) continue;
        size_t bytes = llx_tensor_bytes(&n->value);
        void *host = malloc(bytes ? bytes : 1);
        if (!host) return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
        llx_init_param(n, seed, host);
        llx_status st = g->be->to_device(g->be, n->value.data, host, bytes, err);
        free(host);
        LLX_TRY(st);
    }
    return LLX_OK;
}

llx_status llx_graph_compile(llx_graph *g, llx_backend *be, uint64_t seed, llx_error *err)
{
    if (g->be) return llx_errorf(err, LLX_ERR_INVALID, "graph: already compiled");
    g->be = be;
    mark_needs_grad(g);
    size_t size[ARENA_COUNT], ws;
    plan_offsets(g, size, &ws);
    for (int a = 0; a < ARENA_COUNT; a++) {
        g->arenas[a] = be->alloc(be, size[a], err);
        if (!g->arenas[a]) return err ? err->status : LLX_ERR_NOMEM;
    }
    g->act_grad_bytes = size[ARENA_ACT_GRAD];
    g->param_grad_bytes = size[ARENA_PARAM_GRAD];
    g->workspace = be->alloc(be, ws, err);
    if (!g->workspace) return err ? err->status : LLX_ERR_NOMEM;
    g->planned_bytes = ws;
    for (int a = 0; a < ARENA_COUNT; a++) g->planned_bytes += size[a];
    if (!(g->grad_written = calloc(g->n_nodes, sizeof *g->grad_written)))
        return llx_errorf(err, LLX_ERR_NOMEM, "graph: out of memory");
    bind(g);
    return init_params(g, seed, err);
}

/* ---------------------------------------------------------------- running */

static llx_status run_error(const llx_graph *g, const node *n, const char *pass, llx_error *err)
{
    const char *type = n->row >= 0 ? g->rows[n->row].type : "?";
    const char *layer = n->row >= 0 ? g->rows[n->row].name : n->name;
    llx_error_prefix(err, "%s of layer '%s' (%s), op %s", pass, layer, type, n->op->name);
    return err ? err->status : LLX_ERR_INVALID;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs one op between two backend synchronisations and adds its time to the node. */
static llx_status run_timed(llx_graph *g, node *n, bool backward, llx_error *err)
{
    LLX_TRY(g->be->sync(g->be, err));
    double t0 = now_seconds();
    LLX_TRY(backward ? llx_op_backward(&n->call, err) : llx_op_forward(&n->call, err));
    LLX_TRY(g->be->sync(g->be, err));
    double dt = now_seconds() - t0;
    if (backward) {
        n->prof_bwd_s += dt;
        n->prof_bwd_n++;
    } else {
        n->prof_fwd_s += dt;
        n->prof_fwd_n++;
    }
    return LLX_OK;
}

llx_status llx_graph_forward(llx_graph *g, bool training, llx_error *err)
{
    if (!g->be) return llx_errorf(err, LLX_ERR_INVALID, "graph: forward before compile");
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        if (n->kind != LLX_NODE_OP) continue;
        n->call.training = training;
        llx_status st = g->profile ? run_timed(g, n, false, err) : llx_op_forward(&n->call, err);
        if (st != LLX_OK) return run_error(g, n, "forward", err);
    }
    return LLX_OK;
}

/* Activation gradients without a zeroing pass (backend fresh_grads; llx/op.h). Backward runs
 * in reverse node order, so the first call to reach an activation's gradient is its last
 * consumer's: that call gets the din_fresh bit (kernels with fresh_din write the gradient)
 * or the engine zeroes the gradient just before it. An input that appears twice in one call
 * is zeroed (both slots add into it). */
static llx_status mark_fresh(llx_graph *g, node *n, llx_error *err)
{
    bool kernel_writes = n->op->kernels[g->be->device].fresh_din;
    unsigned fresh = 0;
    for (int j = 0; j < n->n_in; j++) {
        node *src = &g->nodes[n->in[j]];
        if (!n->call.din[j] || src->kind == LLX_NODE_PARAM || g->grad_written[n->in[j]]) continue;
        g->grad_written[n->in[j]] = true;
        bool twice = false;
        for (int k = j + 1; k < n->n_in; k++) twice |= n->in[k] == n->in[j];
        if (kernel_writes && !twice)
            fresh |= 1u << j;
        else
            LLX_TRY(g->be->memset_zero(g->be, src->grad.data, llx_tensor_bytes(&src->grad), err));
    }
    n->call.din_fresh = fresh;
    return LLX_OK;
}

/* With fresh_grads, an op whose own gradient nobody wrote (it leads nowhere near `out`)
 * would only add zeros: it is skipped, and every activation gradient still unwritten at the
 * end is zeroed, so all of them read as they would after a zeroing pass. Without it, one
 * pass zeroes all activation gradients first. */
llx_status llx_graph_backward_seed(llx_graph *g, llx_node_id out, const void *dout_host, llx_error *err)
{
    if (!g->be) return llx_errorf(err, LLX_ERR_INVALID, "graph: backward before compile");
    node *o = &g->nodes[out];
    if (!o->needs_grad)
        return llx_errorf(err, LLX_ERR_INVALID, "graph: backward from '%s', which depends on no parameter", o->name);
    bool fresh = g->be->fresh_grads;
    if (!fresh) LLX_TRY(g->be->memset_zero(g->be, g->arenas[ARENA_ACT_GRAD], g->act_grad_bytes, err));
    memset(g->grad_written, 0, g->n_nodes * sizeof *g->grad_written);
    LLX_TRY(g->be->to_device(g->be, o->grad.data, dout_host, llx_tensor_bytes(&o->grad), err));
    g->grad_written[out] = true;
    for (size_t i = (size_t)out + 1; i-- > 0;) {
        node *n = &g->nodes[i];
        if (n->kind != LLX_NODE_OP || !n->needs_grad) continue;
        if (fresh) {
            if (!g->grad_written[i]) continue;
            LLX_TRY(mark_fresh(g, n, err));
        }
        llx_status st = g->profile ? run_timed(g, n, true, err) : llx_op_backward(&n->call, err);
        if (st != LLX_OK) return run_error(g, n, "backward", err);
    }
    for (size_t i = 0; fresh && i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        if (n->needs_grad && n->kind != LLX_NODE_PARAM && !g->grad_written[i])
            LLX_TRY(g->be->memset_zero(g->be, n->grad.data, llx_tensor_bytes(&n->grad), err));
    }
    return LLX_OK;
}

llx_status llx_graph_backward(llx_graph *g, llx_node_id loss, llx_error *err)
{
    if (llx_shape_numel(&g->nodes[loss].shape) != 1)
        return llx_errorf(err, LLX_ERR_INVALID, "graph: backward needs a scalar loss");
    const double one_f64 = 1.0;
    const float one_f32 = 1.0f;
    return llx_graph_backward_seed(g, loss, g->dtype == LLX_F64 ? (const void *)&one_f64 : (const void *)&one_f32,
                                   err);
}

llx_status llx_graph_zero_grad(llx_graph *g, llx_error *err)
{
    if (!g->be) return LLX_OK;
    return g->be->memset_zero(g->be, g->arenas[ARENA_PARAM_GRAD], g->param_grad_bytes, err);
}

llx_tensor llx_graph_param_grads(llx_graph *g)
{
    llx_tensor t = {.name = "parameter gradients", .dtype = g->dtype,
                    .device = g->be ? g->be->device : LLX_DEVICE_CPU,
                    .shape = llx_shape1(g->be ? (int64_t)(g->param_grad_bytes / llx_dtype_size(g->dtype)) : 0),
                    .data = g->be ? g->arenas[ARENA_PARAM_GRAD] : NULL};
    return t;
}

llx_status llx_graph_set_batch(llx_graph *g, int64_t n, llx_error *err)
{
    if (n < 1 || n > g->batch)
        return llx_errorf(err, LLX_ERR_INVALID, "graph: batch %lld outside [1, %lld] planned",
                          (long long)n, (long long)g->batch);
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].batched) g->nodes[i].value.shape.dim[0] = g->nodes[i].grad.shape.dim[0] = n;
    return LLX_OK;
}

/* ---------------------------------------------------------------- profiling */

void llx_graph_set_profile(llx_graph *g, bool on) { g->profile = on; }

void llx_graph_profile_reset(llx_graph *g)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        node *n = &g->nodes[i];
        n->prof_fwd_s = n->prof_bwd_s = 0;
        n->prof_fwd_n = n->prof_bwd_n = 0;
    }
}

static int by_total_time(const void *a, const void *b)
{
    const llx_op_profile *x = a, *y = b;
    double tx = x->forward_s + x->backward_s, ty = y->forward_s + y->backward_s;
    return tx < ty ? 1 : tx > ty ? -1 : strcmp(x->op, y->op);
}

size_t llx_graph_profile(const llx_graph *g, llx_op_profile *rows, size_t cap)
{
    llx_op_profile *all = malloc((g->n_nodes ? g->n_nodes : 1) * sizeof *all);
    if (!all) return 0;
    size_t n_types = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const node *n = &g->nodes[i];
        if (n->kind != LLX_NODE_OP || n->prof_fwd_n + n->prof_bwd_n == 0) continue;
        size_t k = 0;
        while (k < n_types && strcmp(all[k].op, n->op->name) != 0) k++;
        if (k == n_types) all[n_types++] = (llx_op_profile){.op = n->op->name};
        all[k].forward_s += n->prof_fwd_s;
        all[k].backward_s += n->prof_bwd_s;
        all[k].forward_calls += n->prof_fwd_n;
        all[k].backward_calls += n->prof_bwd_n;
    }
    qsort(all, n_types, sizeof *all, by_total_time);
    if (rows) memcpy(rows, all, (n_types < cap ? n_types : cap) * sizeof *rows);
    free(all);
    return n_types;
}

size_t llx_graph_memory(const llx_graph *g) { return g->be ? g->planned_bytes : 0; }
