/* test_model.c: networks from YAML: parameter and MAC totals of the
 * experiments, one-key attention switching, `from:` wiring, and the errors a
 * researcher meets (each must name file, line, column and the key or layer). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llx/llx.h"
#include "llx_fixture.h"

static llx_registry *reg;

static void test_resnet18_totals(void)
{
    int64_t macs;
    CHECK(fixture_params(reg, "resnet18.yaml", NULL, &macs) == 11180103);
    CHECK_MSG(macs > 480000000 && macs < 490000000, "MACs at 112: %lld", (long long)macs);
    CHECK(fixture_params(reg, "resnet18_small_stem.yaml", NULL, &macs) == 11172423);
    CHECK_MSG(macs > 1240000000 && macs < 1260000000, "MACs at 48: %lld", (long long)macs);
    CHECK(fixture_params(reg, "resnet18.yaml", "size=224", &macs) == 11180103);
    CHECK_MSG(macs > 1800000000 && macs < 1830000000, "MACs at 224: %lld", (long long)macs);
}

static void test_attention_switch_is_one_set(void)
{
    /* 8 blocks, one gate per channel: 2*(64+128+256+512) = 1920 more. */
    CHECK(fixture_params(reg, "resnet18.yaml", "attention=channel_scale", NULL) == 11180103 + 1920);
    CHECK(fixture_params(reg, "resnet18.yaml", "attention={type: channel_scale, init: 1.0}", NULL) ==
          11180103 + 1920);
}

static void test_names_follow_torchvision(void)
{
    llx_graph *g;
    llx_error err;
    CHECK(fixture_build_experiment(reg, "resnet18.yaml", NULL, 0, 1, &g, NULL, &err) == LLX_OK);
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
    CHECK_MSG(fixture_build_text(reg, text, 1, LLX_F32, &g, NULL, &err) == LLX_OK, "%s", err.msg);
    if (err.status == LLX_OK) {
        const llx_layer_row *rows;
        size_t n = llx_graph_layer_rows(g, &rows);
        CHECK(n == 4 && rows[3].out_shape.dim[1] == 11);
        llx_graph_free(g);
    }
}

#define HEAD "model:\n  input: [3, 16, 16]\n  layers:\n"

static void test_error_unknown_key(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: conv2d, name: conv1, out: 8, kernal: 3}\n",
        (const char *[]){"exp.yaml:4:", "unknown key 'kernal'", "conv1", "did you mean 'kernel'", NULL}));
    CHECK(fixture_build_fails(
        reg, "model:\n  input: [3, 8, 8]\n  layer: []\n",
        (const char *[]){"exp.yaml:3:3", "unknown key 'layer'", "did you mean 'layers'", NULL}));
}

static void test_error_wrong_type(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - type: conv2d\n      name: conv1\n      out: 8\n      stride: two\n",
        (const char *[]){"exp.yaml:7:15", "key 'stride'", "expected an integer", "two", NULL}));
}

static void test_error_missing_key(void)
{
    CHECK(fixture_build_fails(reg, HEAD "    - {type: linear, name: fc}\n",
                              (const char *[]){"exp.yaml:4:", "missing required key 'out'", "'fc'", NULL}));
}

static void test_error_unknown_layer(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: conv2d, name: conv1, out: 8}\n    - {type: batchnrom2d, name: bn1}\n",
        (const char *[]){"exp.yaml:5:14", "unknown layer type 'batchnrom2d'", "did you mean 'batchnorm2d'",
                         NULL}));
    CHECK(fixture_build_fails(reg,
                              HEAD "    - {type: basic_block, name: layer1.0, out: 8, attention: sqeeze}\n",
                              (const char *[]){"exp.yaml:4:", "unknown layer type 'sqeeze'", NULL}));
}

static void test_error_shape_mismatch(void)
{
    CHECK(fixture_build_fails(
        reg,
        HEAD "    - {type: conv2d, name: a, out: 4}\n    - {type: conv2d, name: b, out: 8, from: input}\n"
             "    - {type: mul, name: gate, from: [a, b]}\n",
        (const char *[]){"exp.yaml:6:", "layer 'gate' (mul)", "(1, 8, 16, 16)", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: linear, name: fc, out: 7}\n    - {type: conv2d, name: conv1, out: 8}\n",
        (const char *[]){"exp.yaml:5:", "conv1", "4-D", NULL}));
}

static void test_error_bad_indentation(void)
{
    CHECK(fixture_build_fails(
        reg, "model:\n  input: [3, 16, 16]\n  layers:\n    - type: conv2d\n     name: conv1\n",
        (const char *[]){"exp.yaml:5:", "YAML syntax error", NULL}));
}

static void test_error_unknown_from(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: conv2d, name: conv1, out: 8}\n    - {type: add, from: [conv1, conv2]}\n",
        (const char *[]){"exp.yaml:5:", "no earlier layer named 'conv2'", "did you mean 'conv1'", NULL}));
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
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
    fixture_registry_close(reg);
    return check_report();
}
