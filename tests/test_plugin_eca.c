/* test_plugin_eca.c: the `eca` attention plugin: gradients, PyTorch fixtures,
 * the adaptive kernel size, ResNet-18 totals and kernel errors. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "llx/llx.h"

static llx_registry *reg;
static llx_plugins *plugins;

static const block_case variants[] = {
    {"{type: eca, kernel: adaptive}", 2, 32, 6, 6, "attn_eca_adaptive.h5"},
    {"{type: eca, kernel: 5}", 2, 32, 6, 6, "attn_eca_k5.h5"},
};

static void test_gradcheck(void)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        CHECK_MSG(block_gradcheck(reg, &variants[i]) == 0, "%s", variants[i].cfg);
    block_case k1 = {"{type: eca, kernel: 1}", 2, 8, 3, 3, NULL};
    CHECK(block_gradcheck(reg, &k1) == 0);
    block_case wide = {"{type: eca, kernel: 9}", 2, 4, 3, 3, NULL}; /* kernel longer than C */
    CHECK(block_gradcheck(reg, &wide) == 0);
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
    /* adaptive k = odd(int((log2 C + 1) / 2)): the one conv.weight (1,1,k) */
    static const struct {
        int c, k;
    } adaptive[] = {{1, 1},   {2, 1},   {16, 3},  {32, 3},   {64, 3},
                    {128, 5}, {256, 5}, {512, 5}, {1024, 5}, {4096, 7}};
    for (size_t i = 0; i < sizeof adaptive / sizeof adaptive[0]; i++)
        CHECK_MSG(count("eca", adaptive[i].c) == adaptive[i].k, "C = %d", adaptive[i].c);
    CHECK(count("{type: eca, kernel: 5}", 32) == 5);
    CHECK(count("{type: eca, kernel: \"7\"}", 64) == 7);
    CHECK(count("{type: eca, kernel: 1}", 512) == 1);
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
        {"attention=eca", 11180139, 11172459}, /* 2 x (3 + 5 + 5 + 5) = 36 */
        {"attention={type: eca, kernel: adaptive}", 11180139, 11172459},
        {"attention={type: eca, kernel: 3}", 11180127, 11172447}, /* ECANet's eca_resnet18: 8 x 3 */
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
    /* the value starts at column 83 of line 4 */
    expect_error("{type: eca, kernel: 4}", (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'4'",
                                                            "'adaptive' or an odd integer >= 1", NULL});
    expect_error("{type: eca, kernel: 0}", (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'0'", NULL});
    expect_error("{type: eca, kernel: -3}", (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'-3'", NULL});
    expect_error("{type: eca, kernel: 3.0}",
                 (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'3.0'", NULL});
    expect_error("{type: eca, kernel: adaptve}",
                 (const char *[]){"exp.yaml:4:83", "key 'kernel'", "did you mean 'adaptive'", NULL});
    expect_error("{type: eca, kernel: [3]}", (const char *[]){"exp.yaml:4:83", "key 'kernel'", NULL});
    expect_error("{type: eca, k: 3}", (const char *[]){"exp.yaml:4:", "unknown key 'k'", NULL});
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
