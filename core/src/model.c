/* model.c: the `model:` section of an experiment -> a graph.
 *
 *   model:
 *     input: [3, 112, 112]          # C, H, W of one sample
 *     layers:
 *       - {type: conv2d, name: conv1, out: 64, kernel: 7, stride: 2, padding: 3, bias: false}
 *       - {type: relu}
 *       - {type: add, from: [a, b]}  # inputs by layer name; default: the previous layer
 *       - ${stem}                     # a nested list is spliced in place (shared stems, stages)
 */
#include <stdlib.h>
#include <string.h>

#include "graph_impl.h"
#include "llx/schema.h"

typedef struct named {
    char *name;
    llx_node_id node;
} named;

static llx_status fail_at(const llx_cfg *at, llx_error *err, llx_status st, const char *fmt, const char *a,
                          const char *hint)
{
    char loc[512] = "", msg[1024];
    if (at) llx_cfg_loc_str(at, loc, sizeof loc);
    snprintf(msg, sizeof msg, fmt, a);
    return llx_errorf(err, st, "%s%s%s", loc, msg, hint ? hint : "");
}

static llx_status check_model_keys(const llx_cfg *model, llx_error *err)
{
    static const char *const keys[] = {"input", "layers", NULL};
    if (llx_cfg_kind_of(model) != LLX_CFG_MAP)
        return fail_at(model, err, LLX_ERR_INVALID, "%s", "model: expected a mapping with 'input' and 'layers'", NULL);
    return llx_schema_check(model, "model", NULL, keys, err);
}

static llx_status read_input_shape(const llx_cfg *model, int64_t batch, llx_shape *s, llx_error *err)
{
    const llx_cfg *in = llx_cfg_get(model, "input");
    if (!in || llx_cfg_kind_of(in) != LLX_CFG_SEQ || llx_cfg_len(in) != 3)
        return fail_at(in ? in : model, err, LLX_ERR_INVALID, "%s",
                       "key 'input': expected [channels, height, width]", NULL);
    s->ndim = 4;
    s->dim[0] = batch;
    for (size_t i = 0; i < 3; i++) {
        LLX_TRY(llx_cfg_as_int(llx_cfg_at(in, i), "input", &s->dim[i + 1], err));
        if (s->dim[i + 1] < 1)
            return fail_at(llx_cfg_at(in, i), err, LLX_ERR_INVALID, "%s", "key 'input': sizes must be positive", NULL);
    }
    return LLX_OK;
}

/* Resolves `from:` (a name or a list of names) against the layers built so far. */
static llx_status resolve_from(const llx_cfg *from, const named *known, size_t n_known, llx_node_id *in,
                               int *n_in, llx_error *err)
{
    bool list = llx_cfg_kind_of(from) == LLX_CFG_SEQ;
    size_t n = list ? llx_cfg_len(from) : 1;
    if (n < 1 || n > LLX_OP_MAX_INPUTS)
        return fail_at(from, err, LLX_ERR_INVALID, "key 'from': expected 1 to %s layer names", "8", NULL);
    _Static_assert(LLX_OP_MAX_INPUTS == 8, "the message above names LLX_OP_MAX_INPUTS");
    const char **names = calloc(n_known + 1, sizeof *names);
    if (!names) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_known; i++) names[i] = known[i].name;
    llx_status st = LLX_OK;
    for (size_t i = 0; i < n && st == LLX_OK; i++) {
        const llx_cfg *item = list ? llx_cfg_at(from, i) : from;
        const char *want = llx_cfg_str(item);
        size_t j = n_known;
        while (want && j-- > 0 && strcmp(known[j].name, want) != 0) {
        }
        if (want && j < n_known) {
            in[i] = known[j].node;
            continue;
        }
        const char *near = want ? llx_suggest(want, names) : NULL;
        char hint[160] = "";
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        st = fail_at(item, err, LLX_ERR_NOT_FOUND, "key 'from': no earlier layer named '%s'",
                     want ? want : "?", hint);
    }
    free(names);
    *n_in = (int)n;
    return st;
}

/* Appends the layer configs of seq to list, splicing nested sequences. */
static size_t flatten(const llx_cfg *seq, const llx_cfg **list, size_t n, size_t cap, int depth)
{
    for (size_t i = 0; i < llx_cfg_len(seq); i++) {
        const llx_cfg *item = llx_cfg_at(seq, i);
        if (llx_cfg_kind_of(item) == LLX_CFG_SEQ && depth < 8) n = flatten(item, list, n, cap, depth + 1);
        else if (n < cap) list[n++] = item;
        else n++;
    }
    return n;
}

static llx_status build_layers(llx_graph *g, const llx_cfg *layer_seq, llx_node_id *out, llx_error *err)
{
    size_t n = flatten(layer_seq, NULL, 0, 0, 0);
    const llx_cfg **layers = calloc(n + 1, sizeof *layers);
    named *known = calloc(n + 1, sizeof *known);
    if (!known || !layers) {
        free(known);
        free(layers);
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    }
    flatten(layer_seq, layers, 0, n, 0);
    known[0] = (named){strdup("input"), g->input};
    size_t n_known = 1;
    llx_node_id prev = g->input;
    llx_builder *b = &g->builder;
    llx_status st = known[0].name ? LLX_OK : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && st == LLX_OK; i++) {
        const llx_cfg *cfg = layers[i];
        const llx_cfg *name_cfg = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "name") : NULL;
        const llx_cfg *type_cfg = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "type") : cfg;
        char name[256];
        if (name_cfg && llx_cfg_str(name_cfg)) snprintf(name, sizeof name, "%s", llx_cfg_str(name_cfg));
        else snprintf(name, sizeof name, "%s_%zu", type_cfg && llx_cfg_str(type_cfg) ? llx_cfg_str(type_cfg) : "layer", i);
        llx_node_id in[LLX_OP_MAX_INPUTS] = {prev};
        int n_in = 1;
        const llx_cfg *from = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, "from") : NULL;
        if (from) st = resolve_from(from, known, n_known, in, &n_in, err);
        if (st != LLX_OK) break;
        if (llx_build_layer_cfg(b, name, cfg, in, n_in, &prev) != LLX_OK) {
            if (err) *err = b->err;
            st = b->status;
            break;
        }
        known[n_known] = (named){strdup(name), prev};
        if (!known[n_known++].name) st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_known; i++) free(known[i].name);
    free(known);
    free(layers);
    *out = prev;
    return st;
}

llx_status llx_model_build(const llx_registry *r, const llx_cfg *model, int64_t batch, llx_dtype dtype,
                           llx_graph **out, llx_node_id *out_node, llx_error *err)
{
    if (!model) return llx_errorf(err, LLX_ERR_INVALID, "the experiment has no 'model:' section");
    LLX_TRY(check_model_keys(model, err));
    llx_shape input;
    LLX_TRY(read_input_shape(model, batch, &input, err));
    const llx_cfg *layers = llx_cfg_get(model, "layers");
    if (!layers || llx_cfg_kind_of(layers) != LLX_CFG_SEQ || llx_cfg_len(layers) == 0)
        return fail_at(layers ? layers : model, err, LLX_ERR_INVALID, "%s",
                       "key 'layers': expected a list of layers", NULL);
    llx_graph *g;
    LLX_TRY(llx_graph_create(r, dtype, input, &g, err));
    llx_status st = build_layers(g, layers, out_node, err);
    if (st != LLX_OK) {
        llx_graph_free(g);
        return st;
    }
    *out = g;
    return LLX_OK;
}
