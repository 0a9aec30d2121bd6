/* llx_fixture.c: see llx_fixture.h. */
#include "llx_fixture.h"

#include <stdio.h>
#include <string.h>

/* The plugins of each open registry, freed after it. */
enum { MAX_OPEN = 8 };
static struct {
    llx_registry *reg;
    llx_plugins *plugins;
} open_[MAX_OPEN];

llx_registry *fixture_registry_open(llx_error *err)
{
    llx_error local = {0};
    if (!err) err = &local;
    int slot = 0;
    while (slot < MAX_OPEN && open_[slot].reg)
        slot++;
    llx_registry *reg = NULL;
    llx_plugins *plugins = NULL;
    if (slot == MAX_OPEN) {
        snprintf(err->msg, sizeof err->msg, "more than %d fixture registries open", MAX_OPEN);
        err->status = LLX_ERR_INVALID;
    } else if (llx_registry_create(&reg, err) == LLX_OK && llx_plugins_create(&plugins, err) == LLX_OK &&
               llx_plugins_load_all(plugins, reg, NULL, 0, err) == LLX_OK) {
        open_[slot].reg = reg;
        open_[slot].plugins = plugins;
        return reg;
    }
    fprintf(stderr, "setup: %s\n", err->msg);
    llx_registry_free(reg);
    llx_plugins_free(plugins);
    return NULL;
}

void fixture_registry_close(llx_registry *reg)
{
    if (!reg) return;
    llx_registry_free(reg);
    for (int i = 0; i < MAX_OPEN; i++)
        if (open_[i].reg == reg) {
            llx_plugins_free(open_[i].plugins);
            open_[i].reg = NULL;
            open_[i].plugins = NULL;
        }
}

/* Builds the "model" section of doc (consumed) into *g. */
static llx_status build_doc(const llx_registry *reg, llx_status st, llx_doc *doc, int batch, llx_dtype dtype,
                            llx_graph **g, llx_node_id *out, llx_error *err)
{
    llx_node_id unused;
    *g = NULL;
    if (st != LLX_OK) return st;
    st = llx_model_build(reg, llx_cfg_get(llx_doc_root(doc), "model"), batch, dtype, g, out ? out : &unused,
                         err);
    llx_doc_free(doc);
    return st;
}

llx_status fixture_build_experiment(const llx_registry *reg, const char *experiment, const char *const *sets,
                                    int n_sets, int batch, llx_graph **g, llx_node_id *out, llx_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/experiments/%s", LLX_SOURCE_DIR, experiment);
    llx_doc *doc = NULL;
    llx_status st = llx_doc_load(path, sets, n_sets, &doc, err);
    return build_doc(reg, st, doc, batch, LLX_F32, g, out, err);
}

llx_status fixture_build_text(const llx_registry *reg, const char *text, int batch, llx_dtype dtype,
                              llx_graph **g, llx_node_id *out, llx_error *err)
{
    llx_doc *doc = NULL;
    llx_status st = llx_doc_parse("exp.yaml", text, NULL, 0, &doc, err);
    return build_doc(reg, st, doc, batch, dtype, g, out, err);
}

int64_t fixture_params(const llx_registry *reg, const char *experiment, const char *set, int64_t *macs)
{
    llx_graph *g;
    llx_error err = {0};
    if (fixture_build_experiment(reg, experiment, &set, set ? 1 : 0, 1, &g, NULL, &err) != LLX_OK) {
        fprintf(stderr, "%s: %s\n", experiment, err.msg);
        return -1;
    }
    int64_t p = llx_graph_param_count(g);
    if (macs) *macs = llx_graph_macs(g);
    llx_graph_free(g);
    return p;
}

int fixture_totals_wrong(const llx_registry *reg, const fixture_totals *rows, size_t n)
{
    static const char *const experiments[] = {"resnet18.yaml", "resnet18_small_stem.yaml"};
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            int64_t want = k ? rows[i].stem3 : rows[i].stem7;
            int64_t got = fixture_params(reg, experiments[k], rows[i].set, NULL);
            if (got != want) {
                fprintf(stderr, "%s with %s: %lld parameters, want %lld\n", experiments[k], rows[i].set,
                        (long long)got, (long long)want);
                wrong++;
            }
        }
    return wrong;
}

int fixture_build_fails(const llx_registry *reg, const char *text, const char *const *needles)
{
    llx_graph *g;
    llx_error err = {0};
    if (fixture_build_text(reg, text, 1, LLX_F32, &g, NULL, &err) == LLX_OK) {
        fprintf(stderr, "expected an error for:\n%s", text);
        llx_graph_free(g);
        return 0;
    }
    int ok = 1;
    for (int i = 0; needles[i]; i++)
        if (!strstr(err.msg, needles[i])) {
            fprintf(stderr, "'%s' not in '%s', the error for:\n%s", needles[i], err.msg, text);
            ok = 0;
        }
    return ok;
}

int fixture_attention_fails(const llx_registry *reg, const char *attn, const char *const *needles)
{
    char text[512];
    snprintf(text, sizeof text,
             "model:\n  input: [3, 8, 8]\n  layers:\n"
             "    - {type: basic_block, name: layer1.0, out: 32, attention: %s}\n",
             attn);
    return fixture_build_fails(reg, text, needles);
}

int64_t fixture_block_params(const llx_registry *reg, const char *cfg, int c)
{
    block_case bc = {cfg, 2, c, 6, 6, NULL};
    llx_error err = {0};
    int64_t n = block_param_count(reg, &bc, &err);
    if (n < 0) fprintf(stderr, "%s: %s\n", cfg, err.msg);
    return n;
}

int fixture_blocks_wrong(const llx_registry *reg, const block_case *cases, size_t n, int golden)
{
    int wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int bad = golden ? block_golden(reg, &cases[i]) : block_gradcheck(reg, &cases[i]);
        if (bad != 0) {
            fprintf(stderr, "%s (%s): %d\n", cases[i].cfg, golden ? cases[i].golden : "gradcheck", bad);
            wrong++;
        }
    }
    return wrong;
}
