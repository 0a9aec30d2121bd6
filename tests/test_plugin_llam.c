/* test_plugin_llam.c: the LLAM plugin (plugins/llam) against the PyTorch
 * fixtures (attn_llam*.h5), finite differences, hand-counted parameters, the
 * ResNet-18 totals of SPEC.md, its initial gate, and its errors. */
#include <stdlib.h>
#include <string.h>

#include "block_check.h"
#include "check.h"
#include "llx/llx.h"
#include "llx_fixture.h"

static llx_registry *reg;

/* The five variants of the fixtures: default, kernel 1, source input, norm bn, order caption. */
static const block_case variants[] = {
    {"{type: llam}", 2, 32, 6, 6, "attn_llam.h5"},
    {"{type: llam, kernel: 1}", 2, 32, 6, 6, "attn_llam_k1.h5"},
    {"{type: llam, source: input}", 2, 32, 6, 6, "attn_llam_input.h5"},
    {"{type: llam, norm: bn}", 2, 32, 6, 6, "attn_llam_bn.h5"},
    {"{type: llam, order: caption}", 2, 32, 6, 6, "attn_llam_caption.h5"},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

/* With norm bn, conv.bias is cancelled by the train-mode BN that follows: its
 * gradient is 0 in exact arithmetic (the fixture holds float noise, 2.7e-7, which
 * block_golden compares absolutely); test_bn_cancels_conv_bias checks the zero directly. */
static void test_golden(void)
{
    for (size_t i = 0; i < N_VARIANTS; i++) {
        int bad = block_golden(reg, &variants[i]);
        CHECK_MSG(bad == 0, "%s: %d tensors differ", variants[i].cfg, bad);
    }
}

/* Every parameter and input element in F64, on a smaller map (C = 8, odd H x W
 * for the padding edges) to keep the 2 * numel forwards quick. */
static void test_gradcheck(void)
{
    for (size_t i = 0; i < N_VARIANTS; i++) {
        block_case bc = variants[i];
        bc.c = 8, bc.h = 5, bc.w = 5;
        CHECK_MSG(block_gradcheck(reg, &bc) == 0, "%s", bc.cfg);
    }
}

/* conv (C, 2C, k, k) + bias (C) [+ bn gamma, beta (C)]. */
static void test_param_count(void)
{
    CHECK(fixture_block_params(reg, "llam", 32) == 32 * 64 * 9 + 32);                        /* 18,464 */
    CHECK(fixture_block_params(reg, "{type: llam, kernel: 1}", 32) == 32 * 64 + 32);         /* 2,080 */
    CHECK(fixture_block_params(reg, "{type: llam, norm: bn}", 32) == 32 * 64 * 9 + 32 + 64); /* 18,528 */
    CHECK(fixture_block_params(reg, "llam", 64) == 18 * 64 * 64 + 64); /* 18C^2 + C: 73,792 */
    CHECK(fixture_block_params(reg, "{type: llam, kernel: 5, source: input}", 16) == 16 * 32 * 25 + 16);
}

static void test_resnet18_totals(void)
{
    CHECK(fixture_params(reg, "resnet18.yaml", "attention=llam", NULL) == 23715783);
    CHECK(fixture_params(reg, "resnet18.yaml", "attention={type: llam, kernel: 1}", NULL) == 12574663);
    CHECK(fixture_params(reg, "resnet18.yaml", "attention={type: llam, norm: bn}", NULL) == 23719623);
    CHECK(fixture_params(reg, "resnet18.yaml", "attention={type: llam, source: input}", NULL) == 23715783);
    CHECK(fixture_params(reg, "resnet18_small_stem.yaml", "attention=llam", NULL) == 23708103);
    CHECK(fixture_params(reg, "resnet18_small_stem.yaml", "attention={type: llam, kernel: 1}", NULL) ==
          12566983);
    CHECK(fixture_params(reg, "resnet18_small_stem.yaml", "attention={type: llam, norm: bn}", NULL) ==
          23711943);
}

#define WIRED                                                                                                \
    "model:\n  input: [4, 6, 6]\n  layers:\n"                                                                \
    "    - {type: conv2d, name: cur, out: 32}\n"                                                             \
    "    - {type: conv2d, name: pre, out: 32, from: input}\n"

/* PyTorch's conv init for the weight (|w| <= 1/sqrt(2C k k)), zero bias, gate near 0.5. */
static void test_init_gate_near_half(void)
{
    llx_graph *g;
    llx_node_id out;
    llx_error err = {0};
    llx_backend *be = NULL;
    if (fixture_build_text(reg, WIRED "    - {type: llam, name: attn, from: [cur, pre]}\n", 2, LLX_F32, &g,
                           &out, &err) != LLX_OK ||
        llx_backend_cpu_create(1, &be, &err) != LLX_OK || llx_graph_compile(g, be, 7, &err) != LLX_OK) {
        CHECK_MSG(0, "%s", err.msg);
        llx_graph_free(g);
        llx_backend_free(be);
        return;
    }
    const llx_tensor *w = llx_graph_value(g, llx_graph_find(g, "attn.conv.weight"));
    const llx_tensor *bias = llx_graph_value(g, llx_graph_find(g, "attn.conv.bias"));
    double bound = 1.0 / sqrt(64.0 * 9.0), wmax = 0;
    for (int64_t i = 0; i < llx_tensor_numel(w); i++)
        wmax = fmax(wmax, fabs(((const float *)w->data)[i]));
    CHECK_MSG(wmax <= bound && wmax > 0.95 * bound, "max |w| %g, bound %g", wmax, bound);
    for (int64_t i = 0; i < llx_tensor_numel(bias); i++)
        CHECK(((const float *)bias->data)[i] == 0.0f);

    llx_tensor *x = llx_graph_value(g, llx_graph_input_node(g));
    for (int64_t i = 0; i < llx_tensor_numel(x); i++)
        ((float *)x->data)[i] = (float)((i * 7919 % 201) - 100) / 50.0f;
    CHECK(llx_graph_forward(g, true, &err) == LLX_OK);
    int found = 0;
    for (size_t n = 0; n < llx_graph_node_count(g); n++) {
        /* the gate M = sigmoid(z) is fused into cur * sigmoid(z): z is its second input */
        if (llx_graph_node_op(g, (llx_node_id)n) != llx_builtin_op(LLX_OP_SIGMOID_GATE)) continue;
        const llx_node_id *in;
        int n_in = llx_graph_node_inputs(g, (llx_node_id)n, &in);
        CHECK(n_in == 2);
        if (n_in != 2) continue;
        const llx_tensor *m = llx_graph_value(g, in[1]); /* z (N,C,H,W) */
        double sum = 0;
        for (int64_t i = 0; i < llx_tensor_numel(m); i++)
            sum += 1 / (1 + exp(-((const float *)m->data)[i]));
        double mean = sum / (double)llx_tensor_numel(m);
        CHECK_MSG(fabs(mean - 0.5) < 0.05, "initial gate mean %g", mean);
        CHECK(llx_tensor_numel(m) == 2 * 32 * 6 * 6); /* lossless: one gate per element */
        found++;
    }
    CHECK(found == 1);
    llx_graph_free(g);
    llx_backend_free(be);
}

/* norm bn: d/d(conv.bias) is exactly 0 (BN removes each channel's mean), in F64. */
static void test_bn_cancels_conv_bias(void)
{
    llx_graph *g;
    llx_node_id out;
    llx_error err = {0};
    llx_backend *be = NULL;
    if (fixture_build_text(reg, WIRED "    - {type: llam, name: attn, norm: bn, from: [cur, pre]}\n", 2,
                           LLX_F64, &g, &out, &err) != LLX_OK ||
        llx_backend_cpu_create(1, &be, &err) != LLX_OK || llx_graph_compile(g, be, 3, &err) != LLX_OK) {
        CHECK_MSG(0, "%s", err.msg);
        llx_graph_free(g);
        llx_backend_free(be);
        return;
    }
    llx_tensor *x = llx_graph_value(g, llx_graph_input_node(g));
    for (int64_t i = 0; i < llx_tensor_numel(x); i++)
        ((double *)x->data)[i] = (double)((i * 7919 % 201) - 100) / 50.0;
    int64_t n = llx_tensor_numel(llx_graph_value(g, out));
    double *dout = malloc((size_t)n * sizeof *dout);
    for (int64_t i = 0; i < n; i++)
        dout[i] = (double)((i * 104729 % 97) - 48) / 48.0;
    CHECK(llx_graph_forward(g, true, &err) == LLX_OK);
    CHECK(llx_graph_backward_seed(g, out, dout, &err) == LLX_OK);
    const llx_tensor *gb = llx_graph_grad(g, llx_graph_find(g, "attn.conv.bias"));
    const llx_tensor *gw = llx_graph_grad(g, llx_graph_find(g, "attn.conv.weight"));
    double bmax = 0, wmax = 0;
    for (int64_t i = 0; i < llx_tensor_numel(gb); i++)
        bmax = fmax(bmax, fabs(((const double *)gb->data)[i]));
    for (int64_t i = 0; i < llx_tensor_numel(gw); i++)
        wmax = fmax(wmax, fabs(((const double *)gw->data)[i]));
    CHECK_MSG(wmax > 1e-3 && bmax < 1e-10 * wmax, "max |dbias| %g, max |dweight| %g", bmax, wmax);
    free(dout);
    llx_graph_free(g);
    llx_backend_free(be);
}

#define HEAD "model:\n  input: [4, 6, 6]\n  layers:\n"

static void test_error_bad_options(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, source: inptu}}\n",
        (const char *[]){"exp.yaml:4:", "key 'source'", "'inptu' is not one of conv1, input",
                         "did you mean 'input'", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, norm: batchnorm}}\n",
        (const char *[]){"exp.yaml:4:", "key 'norm'", "none, bn", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, order: figure}}\n",
        (const char *[]){"exp.yaml:4:", "key 'order'", "equations, caption", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, kernel: 2}}\n",
        (const char *[]){"exp.yaml:4:", "key 'kernel'", "odd", "llam", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, kernel: 0}}\n",
        (const char *[]){"exp.yaml:4:", "key 'kernel'", "odd", NULL}));
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: basic_block, name: b, out: 8, attention: {type: llam, kernal: 3}}\n",
        (const char *[]){"exp.yaml:4:", "unknown key 'kernal'", "did you mean 'kernel'", NULL}));
}

/* Alone in a model there is no F_pre: an error that says how to use it. */
static void test_error_standalone(void)
{
    CHECK(fixture_build_fails(
        reg, HEAD "    - {type: conv2d, name: c, out: 8}\n    - {type: llam, name: attn}\n",
        (const char *[]){"exp.yaml:5:", "attn", "needs F_pre", "attention: of basic_block", NULL}));
    CHECK(fixture_build_fails(
        reg, WIRED "    - {type: llam, name: attn, source: input, from: [cur, pre]}\n",
        (const char *[]){"exp.yaml:6:", "needs the shortcut", "from: [cur, pre, shortcut]", NULL}));
    CHECK(fixture_build_fails(reg,
                              WIRED "    - {type: conv2d, name: small, out: 16, from: input}\n"
                                    "    - {type: llam, name: attn, from: [cur, small]}\n",
                              (const char *[]){"exp.yaml:7:", "F_cur's shape", NULL}));
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    RUN(test_golden);
    RUN(test_gradcheck);
    RUN(test_param_count);
    RUN(test_resnet18_totals);
    RUN(test_init_gate_near_half);
    RUN(test_bn_cancels_conv_bias);
    RUN(test_error_bad_options);
    RUN(test_error_standalone);
    fixture_registry_close(reg);
    return check_report();
}
