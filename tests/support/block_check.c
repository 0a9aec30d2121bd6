/* block_check.c: see block_check.h. */
#include "block_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_fill.h"
#include "h5read.h"

typedef struct block_net {
    llx_doc *doc;
    llx_graph *g;
    llx_backend *be;
    llx_node_id in[LLX_ATTENTION_INPUTS], out;
} block_net;

static const char *const input_names[LLX_ATTENTION_INPUTS] = {"cur", "pre", "shortcut"};

static void block_close(block_net *b)
{
    llx_graph_free(b->g);
    llx_backend_free(b->be);
    llx_doc_free(b->doc);
}

/* Builds (and, when compile, compiles and fills) the block. */
static int block_open(block_net *b, const llx_registry *reg, const block_case *bc, llx_dtype dt, int compile,
                      llx_error *err)
{
    memset(b, 0, sizeof *b);
    char text[1024];
    snprintf(text, sizeof text, "block: %s\n", bc->cfg);
    llx_shape s = llx_shape4(bc->n, bc->c, bc->h, bc->w);
    if (llx_doc_parse("block.yaml", text, NULL, 0, &b->doc, err) != LLX_OK ||
        llx_graph_create(reg, dt, s, &b->g, err) != LLX_OK)
        return 0;
    b->in[0] = llx_graph_input_node(b->g);
    llx_graph_input_requires_grad(b->g, b->in[0]);
    for (int i = 1; i < LLX_ATTENTION_INPUTS; i++) b->in[i] = llx_graph_add_input(b->g, input_names[i], s, true);
    llx_builder *bld = llx_graph_builder(b->g);
    b->out = llx_sublayer(bld, "", llx_cfg_get(llx_doc_root(b->doc), "block"), b->in, LLX_ATTENTION_INPUTS, false);
    if (llx_build_status(bld) != LLX_OK) {
        if (err) *err = *llx_build_error(bld);
        return 0;
    }
    if (!compile) return 1;
    if (llx_backend_cpu_create(1, &b->be, err) != LLX_OK || llx_graph_compile(b->g, b->be, 1, err) != LLX_OK)
        return 0;
    golden_fill_graph(b->g);
    for (int i = 0; i < LLX_ATTENTION_INPUTS; i++)
        golden_fill_tensor(llx_graph_value(b->g, b->in[i]), input_names[i], GOLDEN_INPUT);
    return 1;
}

/* L = sum(y * probe) after a training-mode forward; NAN on failure. */
static double block_loss(block_net *b, const double *probe)
{
    llx_error err;
    if (llx_graph_forward(b->g, true, &err) != LLX_OK) return NAN;
    const llx_tensor *y = llx_graph_value(b->g, b->out);
    double l = 0;
    for (int64_t i = 0; i < llx_tensor_numel(y); i++) l += ((const double *)y->data)[i] * probe[i];
    return l;
}

static void *make_probe(const block_net *b, llx_dtype dt)
{
    llx_tensor p = *llx_graph_value(b->g, b->out);
    p.dtype = dt;
    p.data = malloc(llx_tensor_bytes(&p));
    golden_fill_tensor(&p, "dout", GOLDEN_INPUT);
    return p.data;
}

int64_t block_param_count(const llx_registry *reg, const block_case *bc, llx_error *err)
{
    block_net b;
    int64_t n = block_open(&b, reg, bc, LLX_F32, 0, err) ? llx_graph_param_count(b.g) : -1;
    block_close(&b);
    return n;
}

/* The tensors that take gradients: parameters and the three inputs. */
static int grad_tensors(block_net *b, llx_node_id *ids, int cap)
{
    int n = 0;
    for (int i = 0; i < LLX_ATTENTION_INPUTS && n < cap; i++) ids[n++] = b->in[i];
    for (size_t i = 0; i < llx_graph_node_count(b->g) && n < cap; i++)
        if (llx_graph_node_kind(b->g, (llx_node_id)i) == LLX_NODE_PARAM) ids[n++] = (llx_node_id)i;
    return n;
}

int block_gradcheck(const llx_registry *reg, const block_case *bc)
{
    block_net b;
    llx_error err = {0};
    if (!block_open(&b, reg, bc, LLX_F64, 1, &err)) {
        fprintf(stderr, "block_gradcheck %s: %s\n", bc->cfg, err.msg);
        block_close(&b);
        return -1;
    }
    double *probe = make_probe(&b, LLX_F64);
    block_loss(&b, probe);
    int bad = 0;
    if (llx_graph_backward_seed(b.g, b.out, probe, &err) != LLX_OK) {
        fprintf(stderr, "block_gradcheck %s: %s\n", bc->cfg, err.msg);
        bad = -1;
    }
    llx_node_id ids[64];
    int n_ids = bad ? 0 : grad_tensors(&b, ids, 64);
    for (int t = 0; t < n_ids; t++) {
        double *x = llx_graph_value(b.g, ids[t])->data;
        int64_t n = llx_tensor_numel(llx_graph_value(b.g, ids[t]));
        /* keep the analytic gradient: block_loss below only runs forward */
        double *g = malloc((size_t)n * sizeof *g);
        memcpy(g, llx_graph_grad(b.g, ids[t])->data, (size_t)n * sizeof *g);
        for (int64_t k = 0; k < n; k++) {
            double keep = x[k], eps = 1e-6;
            x[k] = keep + eps;
            double lp = block_loss(&b, probe);
            x[k] = keep - eps;
            double lm = block_loss(&b, probe);
            x[k] = keep;
            double num = (lp - lm) / (2 * eps);
            if (!(fabs(num - g[k]) <= 1e-6 + 1e-4 * fabs(num)) && bad++ < 5)
                fprintf(stderr, "block_gradcheck %s: %s[%lld]: analytic %.9g numeric %.9g\n", bc->cfg,
                        llx_graph_node_name(b.g, ids[t]), (long long)k, g[k], num);
        }
        free(g);
    }
    free(probe);
    block_close(&b);
    return bad;
}

/* max |ours - ref| / max |ref| over n values. A reference that is zero but for float
 * noise (the gradient of a conv bias under train-mode BN: |ref| ~ 3e-7) is compared
 * absolutely instead: max |ref| is floored at 1e-2, so the 1e-4 tolerance means an
 * absolute 1e-6 there, float32 noise for the O(1) values around it. */
static double rel_err(const float *ours, const double *ref, int64_t n)
{
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs(ours[i] - ref[i]));
        s = fmax(s, fabs(ref[i]));
    }
    return d / fmax(s, 1e-2);
}

static int compare(h5file *f, const char *path, const llx_tensor *t, const char *what)
{
    int64_t n = 0;
    double *ref = h5_read_f64(f, path, &n);
    int bad = !ref || n != llx_tensor_numel(t);
    double e = bad ? INFINITY : rel_err(t->data, ref, n);
    if (bad || !(e < 1e-4)) {
        fprintf(stderr, "block_golden: %s (%s): %s\n", what, path, ref ? "" : "missing in the fixture");
        if (ref) fprintf(stderr, "    relative error %.3g (%lld values)\n", e, (long long)n);
        bad = 1;
    }
    free(ref);
    return bad;
}

int block_golden(const llx_registry *reg, const block_case *bc)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/golden/%s", LLX_SOURCE_DIR, bc->golden);
    h5file *f = h5_open(path);
    block_net b;
    llx_error err = {0};
    if (!f || !block_open(&b, reg, bc, LLX_F32, 1, &err)) {
        fprintf(stderr, "block_golden %s: %s\n", bc->golden, f ? err.msg : "cannot open the fixture");
        h5_close(f);
        return -1;
    }
    float *probe = make_probe(&b, LLX_F32);
    int bad = 0;
    if (llx_graph_forward(b.g, true, &err) != LLX_OK || llx_graph_backward_seed(b.g, b.out, probe, &err) != LLX_OK) {
        fprintf(stderr, "block_golden %s: %s\n", bc->golden, err.msg);
        bad = -1;
    }
    if (!bad) bad += compare(f, "/out", llx_graph_value(b.g, b.out), "output");
    llx_node_id ids[64];
    int n_ids = bad < 0 ? 0 : grad_tensors(&b, ids, 64);
    for (int t = 0; t < n_ids; t++) {
        const char *name = llx_graph_node_name(b.g, ids[t]);
        if (t < LLX_ATTENTION_INPUTS) snprintf(path, sizeof path, "/grads_in/%s", input_names[t]);
        else snprintf(path, sizeof path, "/grads/%s/full", name);
        bad += compare(f, path, llx_graph_grad(b.g, ids[t]), name);
    }
    free(probe);
    block_close(&b);
    h5_close(f);
    return bad;
}
