/* cmd_summary.c: `llx summary EXP.yaml`: the layer table and totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "(64, 56, 56)": a shape without its batch dimension. */
static const char *sample_shape(llx_shape s, char *buf, size_t cap)
{
    llx_shape t = {.ndim = s.ndim - 1};
    for (int i = 1; i < s.ndim; i++) t.dim[i - 1] = s.dim[i];
    return llx_shape_str(&t, buf, cap);
}

static const char *macs_str(int64_t macs, char *buf, size_t cap)
{
    if (macs >= 100000000) snprintf(buf, cap, "%.3f G", (double)macs / 1e9);
    else if (macs >= 1000000) snprintf(buf, cap, "%.2f M", (double)macs / 1e6);
    else if (macs >= 1000) snprintf(buf, cap, "%.1f K", (double)macs / 1e3);
    else snprintf(buf, cap, "%lld", (long long)macs);
    return buf;
}

static void print_table(const llx_graph *g, int max_depth)
{
    const llx_layer_row *rows;
    size_t n = llx_graph_layer_rows(g, &rows);
    printf("%-34s %-15s %-16s %12s %11s\n", "layer", "type", "output", "params", "MACs");
    for (size_t i = 0; i < n; i++) {
        if (rows[i].depth > max_depth || strcmp(rows[i].type, "softmax_ce") == 0) continue;
        char name[64], shape[64], params[32], macs[32];
        snprintf(name, sizeof name, "%*s%s", 2 * rows[i].depth, "", rows[i].name);
        printf("%-34s %-15s %-16s %12s %11s\n", name, rows[i].type, sample_shape(rows[i].out_shape, shape, sizeof shape),
               cli_thousands(rows[i].params, params, sizeof params), macs_str(rows[i].macs, macs, sizeof macs));
    }
}

int cmd_summary(int argc, char **argv)
{
    const char *exp = NULL, *sets[64];
    int n_sets = 0, depth = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && n_sets < 64) sets[n_sets++] = argv[++i];
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc) depth = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !exp) exp = argv[i];
        else {
            fprintf(stderr, "llx summary: unexpected argument '%s' (see llx summary --help)\n", argv[i]);
            return 2;
        }
    }
    if (!exp) {
        fprintf(stderr, "llx summary: which experiment? usage: llx summary EXP.yaml\n");
        return 2;
    }
    cli_env env;
    if (cli_env_open(&env, exp, sets, n_sets)) return 1;
    llx_graph *g;
    llx_node_id out;
    llx_error err = {0};
    if (llx_model_build(env.reg, llx_cfg_get(llx_doc_root(env.doc), "model"), 1, LLX_F32, &g, &out, &err) != LLX_OK) {
        cli_env_close(&env);
        return cli_fail(&err);
    }
    print_table(g, depth);
    char params[32], macs[32], in_shape[64], out_shape[64];
    llx_shape in = llx_graph_node_shape(g, llx_graph_input_node(g));
    printf("\ntotal: %s parameters (%.2f M), %s MACs per sample; input %s, output %s\n",
           cli_thousands(llx_graph_param_count(g), params, sizeof params), (double)llx_graph_param_count(g) / 1e6,
           macs_str(llx_graph_macs(g), macs, sizeof macs), sample_shape(in, in_shape, sizeof in_shape),
           sample_shape(llx_graph_node_shape(g, out), out_shape, sizeof out_shape));
    llx_graph_free(g);
    cli_env_close(&env);
    return 0;
}
