/* test_model.c: networks from YAML: parameter and MAC totals of the
 * experiments, one-key attention switching, `from:` wiring, and the errors a
 * researcher meets (each must name file, line, column and the key or layer). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llx/llx.h"

static llx_registry *reg;
static llx_plugins *plugins;

/* Builds the model of YAML text (or of an experiment file when path != NULL). */
static llx_status build(const char *path, const char *text, const char *const *sets, int n_sets,
                        llx_graph **g, llx_error *err)
{
    llx_doc *doc;
    llx_status st = path ? llx_doc_load(path, sets, n_sets, &doc, err)
                         : llx_doc_parse("exp.yaml", text, sets, n_sets, &doc, err);
    if (st != LLX_OK) return st;
    llx_node_id out;
    st = llx_model_build(reg, llx_cfg_get(llx_doc_root(doc), "model"), 1, LLX_F32, g, &out, err);
    llx_doc_free(doc);
    return st;
}

static int64_t params_of(const char *experiment, const char *const *sets, int n_sets, int64_t *macs)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/experiments/%s", LLX_SOURCE_DIR, experiment);
    llx_graph *g;
    llx_error err = {0};
    if (build(path, NULL, sets, n_sets, &g, &err) != LLX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int64_t p = llx_graph_param_count(g);
    if (macs) *macs = llx_graph_macs(g);
    llx_graph_free(g);
    return p;
}

static void test_resnet18_totals(void)
{
    int64_t macs;
    CHECK(params_of("resnet18.yaml", NULL, 0, &macs) == 11180103);
    CHECK_MSG(macs > 480000000 && macs < 490000000, "MACs at 112: %lld", (long long)macs);
    CHECK(params_of("resnet18_small_stem.yaml", NULL, 0, &macs) == 11172423);
    CHECK_MSG(macs > 1240000000 && macs < 1260000000, "MACs at 48: %lld", (long long)macs);
    const char *big[] = {"size=224"};
    CHECK(params_of("resnet18.yaml", big, 1, &macs) == 11180103);
    CHECK_MSG(macs > 1800000000 && macs < 1830000000, "MACs at 224: %lld", (long long)macs);
}

static void test_attention_switch_is_one_set(void)
{
    const char *sets[] = {"attention=channel_scale"};
    /* 8 blocks, one gate per channel: 2*(64+128+256+512) = 1920 more. */
    CHECK(params_of("resnet18.yaml", sets, 1, NULL) == 11180103 + 1920);
    const char *map[] = {"attention={type: channel_scale, init: 1.0}"};
    CHECK(params_of("resnet18.yaml", map, 1, NULL) == 11180103 + 1920);
}

static void test_names_follow_torchvision(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/experiments/resnet18.yaml", LLX_SOURCE_DIR);
    llx_graph *g;
    llx_error err;
    CHECK(build(path, NULL, NULL, 0, &g, &err) == LLX_OK);
    const char *names[] = {"conv1.weight", "bn1.running_var", "layer1.0.conv2.weight",
                           "layer2.0.downsample.0.weight", "layer4.1.bn2.bias", "fc.weight", "fc.bias"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_MSG(llx_graph_find(g, names[i]) != LLX_NO_NODE, "no parameter %s", names[i]);
    llx_shape s = llx_graph_node_shape(g, llx_graph_find(g, "layer3.0.downsample.0.weight"));
    CHECK(s.ndim == 4 && s.dim[0] == 256 && s.dim[1] == 128 && s.dim[2] == 1);
    llx_graph_free(g);
}

static void test_from_wires_inputs(void)
{
    const char *text = "model:\n"
                       "  input: [3, 8, 8]\n"
                       "  layers:\n"
                       "    - {type: conv2d, name: a, out: 4}\n"
                       "    - {type: conv2d, name: b, out: 4, from: input}\n"
                       "    - {type: add, name: s, from: [a, b]}\n"
                       "    - {type: concat, name: c, from: [s, a, input]}\n";
    llx_graph *g;
    llx_error err = {0};
    CHECK_MSG(build(NULL, text, NULL, 0, &g, &err) == LLX_OK, "%s", err.msg);
    if (err.status == LLX_OK) {
        const llx_layer_row *rows;
        size_t n = llx_graph_layer_rows(g, &rows);
        CHECK(n == 4 && rows[3].out_shape.dim[1] == 11);
        llx_graph_free(g);
    }
}

/* The model of text must fail with a message holding every needle. */
static void expect_error(const char *text, const char *const *needles)
{
    llx_graph *g = NULL;
    llx_error err = {0};
    llx_status st = build(NULL, text, NULL, 0, &g, &err);
    CHECK_MSG(st != LLX_OK, "expected an error for:\n%s", text);
    if (st == LLX_OK) llx_graph_free(g);
    for (int i = 0; needles[i]; i++) CHECK_CONTAINS(err.msg, needles[i]);
}

#define HEAD "model:\n  input: [3, 16, 16]\n  layers:\n"

static void test_error_unknown_key(void)
{
    expect_error(HEAD "    - {type: conv2d, name: conv1, out: 8, kernal: 3}\n",
                 (const char *[]){"exp.yaml:4:", "unknown key 'kernal'", "conv1", "did you mean 'kernel'", NULL});
    expect_error("model:\n  input: [3, 8, 8]\n  layer: []\n",
                 (const char *[]){"exp.yaml:3:3", "unknown key 'layer'", "did you mean 'layers'", NULL});
}

static void test_error_wrong_type(void)
{
    expect_error(HEAD "    - type: conv2d\n      name: conv1\n      out: 8\n      stride: two\n",
                 (const char *[]){"exp.yaml:7:15", "key 'stride'", "expected an integer", "two", NULL});
}

static void test_error_missing_key(void)
{
    expect_error(HEAD "    - {type: linear, name: fc}\n",
                 (const char *[]){"exp.yaml:4:", "missing required key 'out'", "'fc'", NULL});
}

static void test_error_unknown_layer(void)
{
    expect_error(HEAD "    - {type: conv2d, name: conv1, out: 8}\n    - {type: batchnrom2d, name: bn1}\n",
                 (const char *[]){"exp.yaml:5:14", "unknown layer type 'batchnrom2d'", "did you mean 'batchnorm2d'",
                                  NULL});
    expect_error(HEAD "    - {type: basic_block, name: layer1.0, out: 8, attention: sqeeze}\n",
                 (const char *[]){"exp.yaml:4:", "unknown layer type 'sqeeze'", NULL});
}

static void test_error_shape_mismatch(void)
{
    expect_error(HEAD "    - {type: conv2d, name: a, out: 4}\n    - {type: conv2d, name: b, out: 8, from: input}\n"
                      "    - {type: mul, name: gate, from: [a, b]}\n",
                 (const char *[]){"exp.yaml:6:", "layer 'gate' (mul)", "(1, 8, 16, 16)", NULL});
    expect_error(HEAD "    - {type: linear, name: fc, out: 7}\n    - {type: conv2d, name: conv1, out: 8}\n",
                 (const char *[]){"exp.yaml:5:", "conv1", "4-D", NULL});
}

static void test_error_bad_indentation(void)
{
    expect_error("model:\n  input: [3, 16, 16]\n  layers:\n    - type: conv2d\n     name: conv1\n",
                 (const char *[]){"exp.yaml:5:", "YAML syntax error", NULL});
}

static void test_error_unknown_from(void)
{
    expect_error(HEAD "    - {type: conv2d, name: conv1, out: 8}\n    - {type: add, from: [conv1, conv2]}\n",
                 (const char *[]){"exp.yaml:5:", "no earlier layer named 'conv2'", "did you mean 'conv1'", NULL});
}

int main(void)
{
    llx_error err;
    if (llx_registry_create(&reg, &err) != LLX_OK || llx_plugins_create(&plugins, &err) != LLX_OK ||
        llx_plugins_load_all(plugins, reg, NULL, 0, &err) != LLX_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    RUN(test_resnet18_totals);
    RUN(test_attention_switch_is_one_set);
    RUN(test_names_follow_torchvision);
    RUN(test_from_wires_inputs);
    RUN(test_error_unknown_key);
    RUN(test_error_wrong_type);
    RUN(test_error_missing_key);
    RUN(test_error_unknown_layer);
    RUN(test_error_shape_mismatch);
    RUN(test_error_bad_indentation);
    RUN(test_error_unknown_from);
    llx_registry_free(reg);
    llx_plugins_free(plugins);
    return check_report();
}
