/* test_plugin_eca.c: the `eca` attention plugin: gradients, PyTorch fixtures,
 * the adaptive kernel size, ResNet-18 totals and kernel errors. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "llx/llx.h"
#include "llx_fixture.h"

static llx_registry *reg;

static const block_case variants[] = {
    {"{type: eca, kernel: adaptive}", 2, 32, 6, 6, "attn_eca_adaptive.h5"},
    {"{type: eca, kernel: 5}", 2, 32, 6, 6, "attn_eca_k5.h5"},
};

static void test_gradcheck(void)
{
    CHECK(fixture_blocks_wrong(reg, variants, sizeof variants / sizeof variants[0], 0) == 0);
    block_case k1 = {"{type: eca, kernel: 1}", 2, 8, 3, 3, NULL};
    CHECK(block_gradcheck(reg, &k1) == 0);
    block_case wide = {"{type: eca, kernel: 9}", 2, 4, 3, 3, NULL}; /* kernel longer than C */
    CHECK(block_gradcheck(reg, &wide) == 0);
}

static void test_golden(void)
{
    CHECK(fixture_blocks_wrong(reg, variants, sizeof variants / sizeof variants[0], 1) == 0);
}

static void test_param_count(void)
{
    /* adaptive k = odd(int((log2 C + 1) / 2)): the one conv.weight (1,1,k) */
    static const struct {
        int c, k;
    } adaptive[] = {{1, 1},   {2, 1},   {16, 3},  {32, 3},   {64, 3},
                    {128, 5}, {256, 5}, {512, 5}, {1024, 5}, {4096, 7}};
    for (size_t i = 0; i < sizeof adaptive / sizeof adaptive[0]; i++)
        CHECK_MSG(fixture_block_params(reg, "eca", adaptive[i].c) == adaptive[i].k, "C = %d", adaptive[i].c);
    CHECK(fixture_block_params(reg, "{type: eca, kernel: 5}", 32) == 5);
    CHECK(fixture_block_params(reg, "{type: eca, kernel: \"7\"}", 64) == 7);
    CHECK(fixture_block_params(reg, "{type: eca, kernel: 1}", 512) == 1);
}

static void test_resnet18_totals(void)
{
    static const fixture_totals rows[] = {
        {"attention=eca", 11180139, 11172459}, /* 2 x (3 + 5 + 5 + 5) = 36 */
        {"attention={type: eca, kernel: adaptive}", 11180139, 11172459},
        {"attention={type: eca, kernel: 3}", 11180127, 11172447}, /* ECANet's eca_resnet18: 8 x 3 */
    };
    CHECK(fixture_totals_wrong(reg, rows, sizeof rows / sizeof rows[0]) == 0);
}

static void test_errors(void)
{
    /* the value starts at column 83 of line 4 */
    CHECK(fixture_attention_fails(
        reg, "{type: eca, kernel: 4}",
        (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'4'", "'adaptive' or an odd integer >= 1", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: eca, kernel: 0}",
                                  (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'0'", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: eca, kernel: -3}",
                                  (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'-3'", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: eca, kernel: 3.0}",
                                  (const char *[]){"exp.yaml:4:83", "key 'kernel'", "'3.0'", NULL}));
    CHECK(fixture_attention_fails(
        reg, "{type: eca, kernel: adaptve}",
        (const char *[]){"exp.yaml:4:83", "key 'kernel'", "did you mean 'adaptive'", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: eca, kernel: [3]}",
                                  (const char *[]){"exp.yaml:4:83", "key 'kernel'", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: eca, k: 3}",
                                  (const char *[]){"exp.yaml:4:", "unknown key 'k'", NULL}));
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    RUN(test_gradcheck);
    RUN(test_golden);
    RUN(test_param_count);
    RUN(test_resnet18_totals);
    RUN(test_errors);
    fixture_registry_close(reg);
    return check_report();
}
