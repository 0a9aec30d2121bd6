/* test_plugin_cbam.c: the cbam attention plugin (plugins/cbam).
 *
 * For both variants (original, timm): F64 finite-difference gradients of every
 * parameter and input, the PyTorch fixtures attn_cbam_{original,timm}.h5
 * (output, parameter and input gradients; also the eval-mode output and the
 * spatial BN running statistics after the train step, read here since
 * block_check does not), parameter counts by hand, the ResNet-18 totals of
 * SPEC.md, and the errors of bad option values. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "golden_fill.h"
#include "h5read.h"
#include "llx_fixture.h"

static llx_registry *reg;

static const block_case cases[] = {
    {"{type: cbam}", 2, 32, 6, 6, "attn_cbam_original.h5"},
    {"{type: cbam, variant: timm}", 2, 32, 6, 6, "attn_cbam_timm.h5"},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static void test_gradcheck(void)
{
    CHECK(fixture_blocks_wrong(reg, cases, N_CASES, 0) == 0);
}

static void test_golden(void)
{
    CHECK(fixture_blocks_wrong(reg, cases, N_CASES, 1) == 0);
}

/* max |ours - ref| / max |ref| against fixture dataset path, F32 values. */
static void check_against(h5file *f, const char *path, const llx_tensor *t)
{
    int64_t n = 0;
    double *ref = h5_read_f64(f, path, &n);
    CHECK_MSG(ref && n == llx_tensor_numel(t), "%s: missing or %lld values", path, (long long)n);
    double d = 0, s = 1e-30;
    for (int64_t i = 0; ref && i < n; i++) {
        d = fmax(d, fabs(((const float *)t->data)[i] - ref[i]));
        s = fmax(s, fabs(ref[i]));
    }
    CHECK_MSG(ref && d / s < 1e-4, "%s: relative error %.3g", path, d / s);
    free(ref);
}

/* The block built as block_check builds it, filled with the golden values:
 * eval output (filled running statistics), then one train-mode forward and the
 * running statistics it leaves. */
static void check_eval_and_running_stats(const block_case *bc)
{
    static const char *const names[] = {"cur", "pre", "shortcut"};
    char text[256], path[1024];
    snprintf(text, sizeof text, "block: %s\n", bc->cfg);
    snprintf(path, sizeof path, "%s/tests/fixtures/golden/%s", LLX_SOURCE_DIR, bc->golden);
    llx_shape s = llx_shape4(bc->n, bc->c, bc->h, bc->w);
    llx_doc *doc = NULL;
    llx_graph *g = NULL;
    llx_backend *be = NULL;
    llx_error err = {0};
    h5file *f = h5_open(path);
    int ok = f && llx_doc_parse("block.yaml", text, NULL, 0, &doc, &err) == LLX_OK &&
             llx_graph_create(reg, LLX_F32, s, &g, &err) == LLX_OK;
    llx_node_id in[LLX_ATTENTION_INPUTS] = {ok ? llx_graph_input_node(g) : LLX_NO_NODE}, out = LLX_NO_NODE;
    for (int i = 1; ok && i < LLX_ATTENTION_INPUTS; i++)
        in[i] = llx_graph_add_input(g, names[i], s, false);
    if (ok)
        out = llx_sublayer(llx_graph_builder(g), "", llx_cfg_get(llx_doc_root(doc), "block"), in,
                           LLX_ATTENTION_INPUTS, false);
    ok = ok && out != LLX_NO_NODE && llx_backend_cpu_create(1, &be, &err) == LLX_OK &&
         llx_graph_compile(g, be, 1, &err) == LLX_OK;
    CHECK_MSG(ok, "%s: %s", bc->golden, f ? err.msg : "cannot open the fixture");
    if (ok) {
        golden_fill_graph(g);
        for (int i = 0; i < LLX_ATTENTION_INPUTS; i++)
            golden_fill_tensor(llx_graph_value(g, in[i]), names[i], GOLDEN_INPUT);
        CHECK_MSG(llx_graph_forward(g, false, &err) == LLX_OK, "%s", err.msg);
        check_against(f, "/out_eval", llx_graph_value(g, out));
        CHECK_MSG(llx_graph_forward(g, true, &err) == LLX_OK, "%s", err.msg);
        check_against(f, "/out", llx_graph_value(g, out));
        const char *bufs[] = {"spatial.bn.running_mean", "spatial.bn.running_var"};
        for (int i = 0; i < 2; i++) {
            llx_node_id id = llx_graph_find(g, bufs[i]);
            CHECK_MSG(id != LLX_NO_NODE, "no buffer %s", bufs[i]);
            snprintf(path, sizeof path, "/after_train/%s", bufs[i]);
            if (id != LLX_NO_NODE) check_against(f, path, llx_graph_value(g, id));
        }
    }
    llx_graph_free(g);
    llx_backend_free(be);
    llx_doc_free(doc);
    h5_close(f);
}

static void test_eval_and_running_stats(void)
{
    for (int i = 0; i < N_CASES; i++)
        check_eval_and_running_stats(&cases[i]);
}

/* Default init (no golden fill): PyTorch's uniform +-1/sqrt(fan_in) for the MLP and the
 * spatial conv, spatial BN gamma 0 (original) or 1 (timm), beta 0. */
static void check_init(const char *cfg, double gamma)
{
    char text[256];
    snprintf(text, sizeof text, "block: %s\n", cfg);
    llx_shape s = llx_shape4(2, 32, 6, 6);
    llx_doc *doc = NULL;
    llx_graph *g = NULL;
    llx_backend *be = NULL;
    llx_error err = {0};
    int ok = llx_doc_parse("block.yaml", text, NULL, 0, &doc, &err) == LLX_OK &&
             llx_graph_create(reg, LLX_F32, s, &g, &err) == LLX_OK;
    llx_node_id in[LLX_ATTENTION_INPUTS] = {ok ? llx_graph_input_node(g) : LLX_NO_NODE, LLX_NO_NODE,
                                            LLX_NO_NODE};
    for (int i = 1; ok && i < LLX_ATTENTION_INPUTS; i++)
        in[i] = llx_graph_add_input(g, i == 1 ? "pre" : "shortcut", s, false);
    ok = ok &&
         llx_sublayer(llx_graph_builder(g), "", llx_cfg_get(llx_doc_root(doc), "block"), in,
                      LLX_ATTENTION_INPUTS, false) != LLX_NO_NODE &&
         llx_backend_cpu_create(1, &be, &err) == LLX_OK && llx_graph_compile(g, be, 7, &err) == LLX_OK;
    CHECK_MSG(ok, "%s: %s", cfg, err.msg);
    struct {
        const char *name;
        double lo, hi;
    } want[] = {
        {"channel.fc1.weight", -1 / sqrt(32.0), 1 / sqrt(32.0)},  /* fan_in C = 32 */
        {"channel.fc2.weight", -1 / sqrt(2.0), 1 / sqrt(2.0)},    /* fan_in R = 2 */
        {"spatial.conv.weight", -1 / sqrt(98.0), 1 / sqrt(98.0)}, /* fan_in 2*7*7 */
        {"spatial.bn.weight", gamma, gamma},
        {"spatial.bn.bias", 0, 0},
    };
    for (size_t i = 0; ok && i < sizeof want / sizeof want[0]; i++) {
        llx_node_id id = llx_graph_find(g, want[i].name);
        CHECK_MSG(id != LLX_NO_NODE, "no parameter %s", want[i].name);
        if (id == LLX_NO_NODE) continue;
        const llx_tensor *t = llx_graph_value(g, id);
        double mn = INFINITY, mx = -INFINITY;
        for (int64_t k = 0; k < llx_tensor_numel(t); k++) {
            mn = fmin(mn, ((const float *)t->data)[k]);
            mx = fmax(mx, ((const float *)t->data)[k]);
        }
        CHECK_MSG(mn >= want[i].lo - 1e-7 && mx <= want[i].hi + 1e-7,
                  "%s %s: values in [%g, %g], want [%g, %g]", cfg, want[i].name, mn, mx, want[i].lo,
                  want[i].hi);
        /* a uniform init spans most of its range (not kaiming normal, not a constant) */
        if (want[i].hi > want[i].lo)
            CHECK_MSG(mx - mn > (want[i].hi - want[i].lo) / 2, "%s %s", cfg, want[i].name);
    }
    llx_graph_free(g);
    llx_backend_free(be);
    llx_doc_free(doc);
}

static void test_init(void)
{
    check_init("{type: cbam}", 0.0);
    check_init("{type: cbam, variant: timm}", 1.0);
}

static void test_param_counts(void)
{
    /* original: fc1 R*C + R, fc2 C*R + C, spatial conv 2*k*k, bn 2; timm: no MLP biases. */
    CHECK(fixture_block_params(reg, "{type: cbam}", 32) == 64 + 2 + 64 + 32 + 98 + 2);   /* R = 2: 262 */
    CHECK(fixture_block_params(reg, "{type: cbam}", 64) == 256 + 4 + 256 + 64 + 98 + 2); /* R = 4: 680 */
    CHECK(fixture_block_params(reg, "{type: cbam, variant: timm}", 32) == 64 + 64 + 98 + 2);
    CHECK(fixture_block_params(reg, "{type: cbam, variant: timm}", 512) == 2 * 512 * 32 + 98 + 2);
    /* C < reduction: hidden width 1 */
    CHECK(fixture_block_params(reg, "{type: cbam}", 8) == 8 + 1 + 8 + 8 + 98 + 2);
    CHECK(fixture_block_params(reg, "{type: cbam, reduction: 4, spatial_kernel: 3, variant: timm}", 32) ==
          2 * 32 * 8 + 18 + 2);
    CHECK(fixture_block_params(reg, "{type: cbam, reduction: 1}", 4) == 16 + 4 + 16 + 4 + 98 + 2);
}

static void test_resnet18_totals(void)
{
    static const fixture_totals rows[] = {
        {"attention=cbam", 11269983, 11262303},
        {"attention={type: cbam, variant: timm}", 11267943, 11260263},
    };
    CHECK(fixture_totals_wrong(reg, rows, sizeof rows / sizeof rows[0]) == 0);
}

static void test_names(void)
{
    const char *set = "attention=cbam";
    llx_graph *g;
    llx_error err = {0};
    CHECK_MSG(fixture_build_experiment(reg, "resnet18.yaml", &set, 1, 1, &g, NULL, &err) == LLX_OK, "%s",
              err.msg);
    const char *names[] = {"layer1.0.attn.channel.fc1.weight", "layer1.0.attn.channel.fc2.bias",
                           "layer4.1.attn.spatial.conv.weight", "layer2.0.attn.spatial.bn.running_var"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_MSG(llx_graph_find(g, names[i]) != LLX_NO_NODE, "no parameter %s", names[i]);
    llx_shape s = llx_graph_node_shape(g, llx_graph_find(g, "layer3.0.attn.channel.fc1.weight"));
    CHECK(s.ndim == 4 && s.dim[0] == 16 && s.dim[1] == 256 && s.dim[2] == 1 && s.dim[3] == 1);
    llx_graph_free(g);
}

static void test_errors(void)
{
    CHECK(fixture_attention_fails(reg, "{type: cbam, variant: tim}",
                                  (const char *[]){"exp.yaml:4:", "key 'variant'", "'tim'", "original, timm",
                                                   "did you mean 'timm'", "cbam", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: cbam, spatial_kernel: 4}",
                                  (const char *[]){"exp.yaml:4:", "key 'spatial_kernel'", "odd", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: cbam, reduction: 0}",
                                  (const char *[]){"exp.yaml:4:", "key 'reduction'", "at least 1", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: cbam, reducton: 8}",
                                  (const char *[]){"exp.yaml:4:", "reducton", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: cbam, reduction: two}",
                                  (const char *[]){"exp.yaml:4:", "key 'reduction'", NULL}));
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    RUN(test_gradcheck);
    RUN(test_golden);
    RUN(test_eval_and_running_stats);
    RUN(test_init);
    RUN(test_param_counts);
    RUN(test_resnet18_totals);
    RUN(test_names);
    RUN(test_errors);
    fixture_registry_close(reg);
    return check_report();
}
