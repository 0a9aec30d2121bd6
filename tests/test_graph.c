/* test_graph.c: the engine's autodiff end to end. A small network with a
 * residual block (a node with two consumers), a projection, an attention
 * gate and batch norm is built from YAML in F64, and every parameter's
 * gradient is compared with central finite differences of the loss. Also:
 * gradients accumulate until zero_grad, and a short last batch gives the
 * same outputs as the full one. */
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

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    RUN(test_every_parameter_gradient);
    RUN(test_gradients_accumulate_until_zeroed);
    RUN(test_short_last_batch);
    RUN(test_init_is_reproducible);
    fixture_registry_close(reg);
    return check_report();
}
