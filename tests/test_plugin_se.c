/* test_plugin_se.c: the `se` attention plugin: gradients, PyTorch fixtures,
 * hidden widths (plain and timm-rounded), ResNet-18 totals and option errors. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "llx/llx.h"
#include "llx_fixture.h"

static llx_registry *reg;

static const block_case variants[] = {
    {"{type: se, bias: true, round: false}", 2, 32, 6, 6, "attn_se.h5"},
    {"{type: se, bias: false, round: true}", 2, 32, 6, 6, "attn_se_nobias_round.h5"},
};

static void test_gradcheck(void)
{
    CHECK(fixture_blocks_wrong(reg, variants, sizeof variants / sizeof variants[0], 0) == 0);
}

static void test_golden(void)
{
    CHECK(fixture_blocks_wrong(reg, variants, sizeof variants / sizeof variants[0], 1) == 0);
}

static void test_param_count(void)
{
    /* R = C/16: 2C*R weights + R + C biases */
    CHECK(fixture_block_params(reg, "se", 32) == 2 * 32 * 2 + 2 + 32);
    CHECK(fixture_block_params(reg, "{type: se, bias: false}", 64) == 2 * 64 * 4);
    CHECK(fixture_block_params(reg, "{type: se, reduction: 4}", 64) == 2 * 64 * 16 + 16 + 64);
    /* C < reduction: hidden width 1 */
    CHECK(fixture_block_params(reg, "se", 8) == 2 * 8 * 1 + 1 + 8);
    /* timm rounding: C/16 = 2 -> 8, 4 -> 8, 16 -> 16, 32 -> 32; 20 -> 24; 11 -> 8 < 0.9 * 11, so 16 */
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true}", 32) == 2 * 32 * 8);
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true}", 64) == 2 * 64 * 8);
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true}", 256) == 2 * 256 * 16);
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true}", 512) == 2 * 512 * 32);
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true, reduction: 1}", 20) == 2 * 20 * 24);
    CHECK(fixture_block_params(reg, "{type: se, bias: false, round: true, reduction: 1}", 11) == 2 * 11 * 16);
}

static void test_resnet18_totals(void)
{
    static const fixture_totals rows[] = {
        {"attention=se", 11269183, 11261503},
        {"attention={type: se, bias: false}", 11267143, 11259463},
        {"attention={type: se, bias: false, round: true}", 11268167, 11260487},
    };
    CHECK(fixture_totals_wrong(reg, rows, sizeof rows / sizeof rows[0]) == 0);
}

static void test_errors(void)
{
    /* the value starts at column 85 of line 4 */
    CHECK(fixture_attention_fails(reg, "{type: se, reduction: 0}",
                                  (const char *[]){"exp.yaml:4:85", "'reduction'", ">= 1", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: se, bias: maybe}",
                                  (const char *[]){"exp.yaml:4:", "'bias'", "maybe", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: se, round: 8}",
                                  (const char *[]){"exp.yaml:4:", "'round'", NULL}));
    CHECK(fixture_attention_fails(reg, "{type: se, reduction: two}",
                                  (const char *[]){"exp.yaml:4:", "'reduction'", "two", NULL}));
    CHECK(fixture_attention_fails(
        reg, "{type: se, reductoin: 8}",
        (const char *[]){"exp.yaml:4:", "unknown key 'reductoin'", "did you mean 'reduction'", NULL}));
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
