/* test_graph.c: the engine's autodiff end to end. A small network with a
 * residual block (a node with two consumers), a projection, an attention
 * gate and batch norm is built from YAML in F64, and every parameter's
 * gradient is compared with central finite differences of the loss. Also:
 * gradients accumulate until zero_grad, a short last batch gives the
 * same outputs as the full one, and backward without the zeroing pass
 * (fresh_grads: each activation gradient written by the first call to reach
 * it) gives the gradients of the zeroing pass with every activation gradient
 * filled with NaN beforehand, an input used twice by one op and an op whose
 * output leads nowhere included. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llx/llx.h"
#include "llx_fixture.h"

static llx_registry *reg;

static const char *net_yaml = "model:\n"
                              "  input: [3, 6, 6]\n"
                              "  layers:\n"
                              "    - {type: conv2d, name: conv1, out: 4}\n"
                              "    - {type: batchnorm2d, name: bn1}\n"
                              "    - {type: relu}\n"
                              "    - {type: basic_block, name: block, out: 6, stride: 2, attention: channel_scale}\n"
                              "    - {type: global_avgpool, name: pool}\n"
                              "    - {type: linear, name: fc, out: 3}\n";

typedef struct net {
    llx_doc *doc;
    llx_graph *g;
    llx_backend *be;
    llx_node_id logits, loss;
} net;

static int net_open(net *n, int batch)
{
    llx_error err = {0};
    memset(n, 0, sizeof *n);
    if (llx_doc_parse("net.yaml", net_yaml, NULL, 0, &n->doc, &err) != LLX_OK ||
        llx_model_build(reg, llx_cfg_get(llx_doc_root(n->doc), "model"), batch, LLX_F64, &n->g, &n->logits, &err) !=
            LLX_OK ||
        llx_graph_add_loss(n->g, n->logits, NULL, 0, &n->loss, &err) != LLX_OK ||
        llx_backend_cpu_create(1, &n->be, &err) != LLX_OK || llx_graph_compile(n->g, n->be, 7, &err) != LLX_OK) {
        fprintf(stderr, "net_open: %s\n", err.msg);
        return 0;
    }
    double *x = llx_graph_value(n->g, llx_graph_input_node(n->g))->data;
    for (int64_t i = 0; i < batch * 3 * 6 * 6; i++) x[i] = sin(0.37 * (double)i) + 0.1 * cos(1.3 * (double)i);
    int32_t *y = llx_graph_value(n->g, llx_graph_labels_node(n->g))->data;
    for (int i = 0; i < batch; i++) y[i] = (i * 2 + 1) % 3;
    /* Non-trivial gates and BN affine so that every path carries gradient. */
    double *gate = llx_graph_value(n->g, llx_graph_find(n->g, "block.attn.weight"))->data;
    for (int c = 0; c < 6; c++) gate[c] = 0.3 * c - 0.7;
    return 1;
}

static void net_close(net *n)
{
    llx_graph_free(n->g);
    llx_backend_free(n->be);
    llx_doc_free(n->doc);
}

static double loss_of(net *n)
{
    llx_error err;
    if (llx_graph_forward(n->g, true, &err) != LLX_OK) return NAN;
    return *(double *)llx_graph_value(n->g, n->loss)->data;
}

static void test_every_parameter_gradient(void)
{
    net n;
    if (!net_open(&n, 4)) {
        CHECK(0);
        return;
    }
    llx_error err;
    loss_of(&n);
    CHECK(llx_graph_zero_grad(n.g, &err) == LLX_OK);
    CHECK(llx_graph_backward(n.g, n.loss, &err) == LLX_OK);
    int checked = 0, bad = 0;
    for (size_t i = 0; i < llx_graph_node_count(n.g); i++) {
        if (llx_graph_node_kind(n.g, (llx_node_id)i) != LLX_NODE_PARAM) continue;
        llx_tensor *w = llx_graph_value(n.g, (llx_node_id)i), *gw = llx_graph_grad(n.g, (llx_node_id)i);
        double *p = w->data, *g = gw->data;
        for (int64_t k = 0; k < llx_tensor_numel(w); k++) {
            double keep = p[k], eps = 1e-6;
            p[k] = keep + eps;
            double lp = loss_of(&n);
            p[k] = keep - eps;
            double lm = loss_of(&n);
            p[k] = keep;
            double num = (lp - lm) / (2 * eps);
            if (fabs(num - g[k]) > 1e-6 + 1e-4 * fabs(num)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s[%lld]: analytic %.9g numeric %.9g\n", w->name, (long long)k, g[k], num);
            }
            checked++;
        }
    }
    CHECK_MSG(bad == 0, "%d of %d parameter gradients differ", bad, checked);
    CHECK(checked == (int)llx_graph_param_count(n.g));
    printf("     %d parameter gradients match finite differences\n", checked);
    net_close(&n);
}

static void test_gradients_accumulate_until_zeroed(void)
{
    net n;
    if (!net_open(&n, 2)) {
        CHECK(0);
        return;
    }
    llx_error err;
    llx_node_id w = llx_graph_find(n.g, "fc.weight");
    double *g = llx_graph_grad(n.g, w)->data;
    loss_of(&n);
    CHECK(llx_graph_backward(n.g, n.loss, &err) == LLX_OK);
    double once = g[0];
    loss_of(&n);
    CHECK(llx_graph_backward(n.g, n.loss, &err) == LLX_OK);
    CHECK_NEAR(g[0], 2 * once, 1e-12);
    CHECK(llx_graph_zero_grad(n.g, &err) == LLX_OK);
    CHECK(g[0] == 0);
    CHECK(once != 0);
    net_close(&n);
}

static void test_short_last_batch(void)
{
    net n;
    if (!net_open(&n, 4)) {
        CHECK(0);
        return;
    }
    llx_error err;
    CHECK(llx_graph_forward(n.g, false, &err) == LLX_OK);
    double full[6];
    memcpy(full, llx_graph_value(n.g, n.logits)->data, sizeof full);
    CHECK(llx_graph_set_batch(n.g, 2, &err) == LLX_OK);
    CHECK(llx_graph_forward(n.g, false, &err) == LLX_OK);
    const double *part = llx_graph_value(n.g, n.logits)->data;
    for (int i = 0; i < 6; i++) CHECK_NEAR(part[i], full[i], 1e-12);
    CHECK(llx_graph_value(n.g, n.logits)->shape.dim[0] == 2);
    CHECK(llx_graph_set_batch(n.g, 5, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "batch 5");
    net_close(&n);
}

static void test_init_is_reproducible(void)
{
    net a, b;
    if (!net_open(&a, 2) || !net_open(&b, 2)) {
        CHECK(0);
        return;
    }
    llx_tensor *wa = llx_graph_value(a.g, llx_graph_find(a.g, "block.conv1.weight"));
    llx_tensor *wb = llx_graph_value(b.g, llx_graph_find(b.g, "block.conv1.weight"));
    CHECK(memcmp(wa->data, wb->data, llx_tensor_bytes(wa)) == 0);
    /* kaiming normal, fan_out = 6 * 3 * 3: std = sqrt(2 / 54) */
    double s = 0;
    for (int64_t i = 0; i < llx_tensor_numel(wa); i++) s += ((double *)wa->data)[i] * ((double *)wa->data)[i];
    double std = sqrt(s / (double)llx_tensor_numel(wa));
    CHECK_MSG(std > 0.13 && std < 0.25, "std %.3f", std);
    net_close(&a);
    net_close(&b);
}

/* Every activation gradient (op and input nodes) of g set to NaN: stale bytes that backward
 * with fresh_grads must never read. */
static void poison_activation_grads(llx_graph *g)
{
    for (size_t i = 0; i < llx_graph_node_count(g); i++) {
        if (llx_graph_node_kind(g, (llx_node_id)i) == LLX_NODE_PARAM) continue;
        llx_tensor *t = llx_graph_grad(g, (llx_node_id)i);
        for (int64_t k = 0; t && t->data && k < llx_tensor_numel(t); k++) ((double *)t->data)[k] = NAN;
    }
}

/* Backward of g from loss into fresh copies of every parameter gradient and of the input's
 * gradient (NULL if none), concatenated into *out (malloc'd, *n values). */
static int grads_of(llx_graph *g, llx_node_id loss, double **out, int64_t *n)
{
    llx_error err = {0};
    *n = 0;
    *out = NULL;
    if (llx_graph_zero_grad(g, &err) != LLX_OK || llx_graph_backward(g, loss, &err) != LLX_OK) {
        fprintf(stderr, "backward: %s\n", err.msg);
        return 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        int64_t at = 0;
        for (size_t i = 0; i < llx_graph_node_count(g); i++) {
            llx_node_kind k = llx_graph_node_kind(g, (llx_node_id)i);
            const llx_tensor *t = llx_graph_grad(g, (llx_node_id)i);
            if ((k != LLX_NODE_PARAM && k != LLX_NODE_INPUT) || !t || !t->data) continue;
            if (pass) memcpy(*out + at, t->data, llx_tensor_bytes(t));
            at += llx_tensor_numel(t);
        }
        if (!pass && !(*out = malloc((size_t)at * sizeof **out))) return 0;
        *n = at;
    }
    return 1;
}

/* The YAML network (residual block with projection, attention gate, BN): training forward,
 * then backward with the zeroing pass and again without it over NaN-filled activation
 * gradients: every parameter gradient the same. */
static void test_fresh_gradients_network(void)
{
    net n;
    if (!net_open(&n, 3)) {
        CHECK(0);
        return;
    }
    double *ref = NULL, *got = NULL;
    int64_t nr = 0, ng = 0;
    CHECK(!isnan(loss_of(&n)));
    n.be->fresh_grads = false;
    CHECK(grads_of(n.g, n.loss, &ref, &nr));
    n.be->fresh_grads = true;
    poison_activation_grads(n.g);
    CHECK(grads_of(n.g, n.loss, &got, &ng));
    CHECK(nr == ng && nr == llx_graph_param_count(n.g));
    int64_t differ = 0;
    for (int64_t i = 0; ref && got && i < nr && nr == ng; i++) differ += !(ref[i] == got[i]);
    CHECK_MSG(differ == 0, "%lld of %lld gradients differ without the zeroing pass", (long long)differ, (long long)nr);
    free(ref);
    free(got);
    net_close(&n);
}

/* A test op y = a + b (F64, CPU) with fresh_din whose backward handles its inputs last to
 * first: a kernel may take them in any order, so an input given twice must not be fresh. */
static llx_status sum2_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out, llx_error *err)
{
    (void)attr, (void)n_in, (void)err;
    *out = in[0];
    return LLX_OK;
}

static llx_status sum2_forward(const llx_op_call *c, llx_error *err)
{
    (void)err;
    const double *a = c->in[0]->data, *b = c->in[1]->data;
    double *y = c->out->data;
    for (int64_t i = 0; i < llx_tensor_numel(c->out); i++) y[i] = a[i] + b[i];
    return LLX_OK;
}

static llx_status sum2_backward(const llx_op_call *c, llx_error *err)
{
    (void)err;
    const double *dy = c->dout->data;
    for (int k = 1; k >= 0; k--) {
        if (!c->din[k]) continue;
        double *dx = c->din[k]->data;
        bool fresh = (c->din_fresh >> k) & 1u;
        for (int64_t i = 0; i < llx_tensor_numel(c->dout); i++) dx[i] = (fresh ? 0 : dx[i]) + dy[i];
    }
    return LLX_OK;
}

static const llx_op_desc sum2_op = {
    .name = "sum2_last_first",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = sum2_infer,
    .kernels[LLX_DEVICE_CPU] = {.forward = sum2_forward, .backward = sum2_backward, .fresh_din = true},
};

/* x (input, gradient wanted) -> conv -> r = relu -> s = sum2(r, r) -> avgpool -> linear ->
 * loss, and a branch d = sigmoid(r) that leads nowhere: the input gradient and every
 * parameter gradient as with the zeroing pass, and d's gradient zero after backward (it was
 * NaN). */
static void test_fresh_gradients_edge_cases(void)
{
    llx_error err = {0};
    llx_graph *g = NULL;
    llx_backend *be = NULL;
    CHECK(llx_graph_create(reg, LLX_F64, llx_shape4(2, 2, 4, 4), &g, &err) == LLX_OK);
    if (!g) return;
    llx_node_id x = llx_graph_input_node(g);
    llx_graph_input_requires_grad(g, x);
    llx_builder *b = llx_graph_builder(g);
    llx_init fan_in = {LLX_INIT_UNIFORM_FAN_IN, 0};
    llx_node_id w = llx_param(b, "conv.weight", llx_shape4(3, 2, 3, 3), fan_in);
    llx_node_id r = llx_emit_unary(b, LLX_OP_RELU, llx_emit_conv2d(b, x, w, LLX_NO_NODE, 1, 1));
    llx_node_id s = llx_emit(b, &sum2_op, NULL, (llx_node_id[]){r, r}, 2);
    llx_node_id d = llx_emit_unary(b, LLX_OP_SIGMOID, r);
    llx_node_id pooled = llx_emit_unary(b, LLX_OP_GLOBAL_AVGPOOL, s);
    llx_node_id fc = llx_param(b, "fc.weight", llx_shape2(3, 3), fan_in);
    llx_node_id logits = llx_emit_linear(b, pooled, fc, LLX_NO_NODE), loss;
    CHECK_MSG(llx_build_status(b) == LLX_OK, "%s", llx_build_error(b)->msg);
    CHECK(llx_graph_add_loss(g, logits, NULL, 0, &loss, &err) == LLX_OK);
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    CHECK_MSG(llx_graph_compile(g, be, 3, &err) == LLX_OK, "%s", err.msg);
    double *xv = llx_graph_value(g, x)->data;
    for (int i = 0; i < 2 * 2 * 4 * 4; i++) xv[i] = sin(0.9 * i);
    int32_t *y = llx_graph_value(g, llx_graph_labels_node(g))->data;
    y[0] = 1, y[1] = 2;
    CHECK(llx_graph_forward(g, true, &err) == LLX_OK);
    double *ref = NULL, *got = NULL;
    int64_t nr = 0, ng = 0;
    be->fresh_grads = false;
    CHECK(grads_of(g, loss, &ref, &nr));
    be->fresh_grads = true;
    poison_activation_grads(g);
    CHECK(grads_of(g, loss, &got, &ng));
    CHECK(nr == ng && nr == 3 * 2 * 9 + 9 + 2 * 2 * 4 * 4);
    int64_t differ = 0, nonzero = 0;
    for (int64_t i = 0; ref && got && i < nr && nr == ng; i++) differ += !(ref[i] == got[i]), nonzero += ref[i] != 0;
    CHECK_MSG(differ == 0, "%lld of %lld gradients differ without the zeroing pass", (long long)differ, (long long)nr);
    CHECK(nonzero > nr / 2);
    const llx_tensor *dd = llx_graph_grad(g, d);
    int64_t dead = 0;
    for (int64_t k = 0; k < llx_tensor_numel(dd); k++) dead += ((const double *)dd->data)[k] != 0;
    CHECK_MSG(dead == 0, "%lld values of the unused branch's gradient are not 0", (long long)dead);
    free(ref);
    free(got);
    llx_graph_free(g);
    llx_backend_free(be);
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    RUN(test_every_parameter_gradient);
    RUN(test_gradients_accumulate_until_zeroed);
    RUN(test_short_last_batch);
    RUN(test_init_is_reproducible);
    RUN(test_fresh_gradients_network);
    RUN(test_fresh_gradients_edge_cases);
    fixture_registry_close(reg);
    return check_report();
}
