/* test_plugin_se.c: the `se` attention plugin: gradients, PyTorch fixtures,
 * hidden widths (plain and timm-rounded), ResNet-18 totals and option errors. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "llx/llx.h"

static llx_registry *reg;
static llx_plugins *plugins;

static const block_case variants[] = {
    {"{type: se, bias: true, round: false}", 2, 32, 6, 6, "attn_se.h5"},
    {"{type: se, bias: false, round: true}", 2, 32, 6, 6, "attn_se_nobias_round.h5"},
};

static void test_gradcheck(void)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        CHECK_MSG(block_gradcheck(reg, &variants[i]) == 0, "%s", variants[i].cfg);
}

static void test_golden(void)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        CHECK_MSG(block_golden(reg, &variants[i]) == 0, "%s", variants[i].golden);
}

static int64_t count(const char *cfg, int c)
{
    block_case bc = {cfg, 1, c, 4, 4, NULL};
    llx_error err = {0};
    int64_t n = block_param_count(reg, &bc, &err);
    if (n < 0) fprintf(stderr, "%s: %s\n", cfg, err.msg);
    return n;
}

static void test_param_count(void)
{
    /* R = C/16: 2C*R weights + R + C biases */
    CHECK(count("se", 32) == 2 * 32 * 2 + 2 + 32);
    CHECK(count("{type: se, bias: false}", 64) == 2 * 64 * 4);
    CHECK(count("{type: se, reduction: 4}", 64) == 2 * 64 * 16 + 16 + 64);
    /* C < reduction: hidden width 1 */
    CHECK(count("se", 8) == 2 * 8 * 1 + 1 + 8);
    /* timm rounding: C/16 = 2 -> 8, 4 -> 8, 16 -> 16, 32 -> 32; 20 -> 24; 11 -> 8 < 0.9 * 11, so 16 */
    CHECK(count("{type: se, bias: false, round: true}", 32) == 2 * 32 * 8);
    CHECK(count("{type: se, bias: false, round: true}", 64) == 2 * 64 * 8);
    CHECK(count("{type: se, bias: false, round: true}", 256) == 2 * 256 * 16);
    CHECK(count("{type: se, bias: false, round: true}", 512) == 2 * 512 * 32);
    CHECK(count("{type: se, bias: false, round: true, reduction: 1}", 20) == 2 * 20 * 24);
    CHECK(count("{type: se, bias: false, round: true, reduction: 1}", 11) == 2 * 11 * 16);
}

static int64_t params_of(const char *experiment, const char *set)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/experiments/%s", LLX_SOURCE_DIR, experiment);
    llx_doc *doc;
    llx_graph *g;
    llx_error err = {0};
    llx_node_id out;
    if (llx_doc_load(path, &set, 1, &doc, &err) != LLX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    llx_status st = llx_model_build(reg, llx_cfg_get(llx_doc_root(doc), "model"), 1, LLX_F32, &g, &out, &err);
    llx_doc_free(doc);
    if (st != LLX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int64_t p = llx_graph_param_count(g);
    llx_graph_free(g);
    return p;
}

static void test_resnet18_totals(void)
{
    static const struct {
        const char *set;
        int64_t stem7, stem3;
    } rows[] = {
        {"attention=se", 11269183, 11261503},
        {"attention={type: se, bias: false}", 11267143, 11259463},
        {"attention={type: se, bias: false, round: true}", 11268167, 11260487},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t p7 = params_of("resnet18.yaml", rows[i].set);
        int64_t p3 = params_of("resnet18_small_stem.yaml", rows[i].set);
        CHECK_MSG(p7 == rows[i].stem7, "%s: %lld", rows[i].set, (long long)p7);
        CHECK_MSG(p3 == rows[i].stem3, "%s (small stem): %lld", rows[i].set, (long long)p3);
    }
}

/* A one-block model whose attention is `attn`; the build must fail naming every needle. */
static void expect_error(const char *attn, const char *const *needles)
{
    char text[512];
    snprintf(text, sizeof text,
             "model:\n  input: [3, 8, 8]\n  layers:\n"
             "    - {type: basic_block, name: layer1.0, out: 32, attention: %s}\n",
             attn);
    llx_doc *doc;
    llx_graph *g = NULL;
    llx_error err = {0};
    llx_node_id out;
    llx_status st = llx_doc_parse("exp.yaml", text, NULL, 0, &doc, &err);
    if (st == LLX_OK) {
        st = llx_model_build(reg, llx_cfg_get(llx_doc_root(doc), "model"), 1, LLX_F32, &g, &out, &err);
        llx_doc_free(doc);
    }
    CHECK_MSG(st != LLX_OK, "expected an error for attention %s", attn);
    if (st == LLX_OK) llx_graph_free(g);
    for (int i = 0; needles[i]; i++)
        CHECK_CONTAINS(err.msg, needles[i]);
}

static void test_errors(void)
{
    /* the value starts at column 85 of line 4 */
    expect_error("{type: se, reduction: 0}", (const char *[]){"exp.yaml:4:85", "'reduction'", ">= 1", NULL});
    expect_error("{type: se, bias: maybe}", (const char *[]){"exp.yaml:4:", "'bias'", "maybe", NULL});
    expect_error("{type: se, round: 8}", (const char *[]){"exp.yaml:4:", "'round'", NULL});
    expect_error("{type: se, reduction: two}", (const char *[]){"exp.yaml:4:", "'reduction'", "two", NULL});
    expect_error("{type: se, reductoin: 8}", (const char *[]){"exp.yaml:4:", "unknown key 'reductoin'",
                                                              "did you mean 'reduction'", NULL});
}

int main(void)
{
    llx_error err;
    if (llx_registry_create(&reg, &err) != LLX_OK || llx_plugins_create(&plugins, &err) != LLX_OK ||
        llx_plugins_load_all(plugins, reg, NULL, 0, &err) != LLX_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    RUN(test_gradcheck);
    RUN(test_golden);
    RUN(test_param_count);
    RUN(test_resnet18_totals);
    RUN(test_errors);
    llx_registry_free(reg);
    llx_plugins_free(plugins);
    return check_report();
}
