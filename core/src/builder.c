/* builder.c: what layers call to declare parameters and emit ops.
 *
 * Errors are sticky: the first failure is kept in the builder with the YAML
 * location and name of the layer being built; later calls do nothing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph_impl.h"
#include "llx/schema.h"
#include "registry_impl.h"

static layer_frame *top_frame(llx_builder *b)
{
    return b->n_frames ? &b->frames[b->n_frames - 1] : NULL;
}

static llx_status vfail(llx_builder *b, const llx_cfg *at, llx_status st, const char *fmt, va_list ap)
{
    if (b->status != LLX_OK) return b->status;
    layer_frame *f = top_frame(b);
    if (!at && f) at = f->cfg;
    char loc[512] = "", msg[LLX_ERROR_MSG_MAX];
    if (at) llx_cfg_loc_str(at, loc, sizeof loc);
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (f && f->desc)
        llx_errorf(&b->err, st, "%slayer '%s' (%s): %s", loc, b->scope_len ? b->scope : "(top)",
                   f->desc->name, msg);
    else
        llx_errorf(&b->err, st, "%s%s", loc, msg);
    b->status = st;
    return st;
}

llx_status llx_build_fail(llx_builder *b, const llx_cfg *at, llx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(b, at, st, fmt, ap);
    va_end(ap);
    return b->status;
}

llx_status llx_build_status(const llx_builder *b) { return b->status; }

const llx_error *llx_build_error(const llx_builder *b) { return &b->err; }

/* ---------------------------------------------------------------- scopes */

void llx_scope_push(llx_builder *b, const char *name)
{
    LLX_ASSERT(b->n_scope < LLX_NEST_MAX);
    b->scope_stack[b->n_scope++] = b->scope_len;
    if (!name || !*name) return;
    int n = snprintf(b->scope + b->scope_len, sizeof b->scope - b->scope_len, "%s%s",
                     b->scope_len ? "." : "", name);
    if (n < 0 || (size_t)n >= sizeof b->scope - b->scope_len) {
        llx_build_fail(b, NULL, LLX_ERR_INVALID, "name too long under '%s'", b->scope);
        return;
    }
    b->scope_len += (size_t)n;
}

void llx_scope_pop(llx_builder *b)
{
    LLX_ASSERT(b->n_scope > 0);
    b->scope_len = b->scope_stack[--b->n_scope];
    b->scope[b->scope_len] = '\0';
}

/* ---------------------------------------------------------------- keys */

static const llx_key_spec *find_spec(const llx_layer_desc *d, const char *key)
{
    for (const llx_key_spec *k = d && d->keys ? d->keys : NULL; k && k->name; k++)
        if (strcmp(k->name, key) == 0) return k;
    return NULL;
}

/* The value node of key (NULL: absent), or the default text in *dflt. */
static const llx_cfg *arg_lookup(llx_builder *b, const llx_cfg *cfg, const char *key, llx_key_type want,
                                 const char **dflt)
{
    *dflt = NULL;
    if (b->status != LLX_OK) return NULL;
    layer_frame *f = top_frame(b);
    const llx_key_spec *spec = find_spec(f ? f->desc : NULL, key);
    if (!spec || (spec->type != want && !(want == LLX_KEY_STRING && spec->type == LLX_KEY_ANY))) {
        llx_build_fail(b, NULL, LLX_ERR_INVALID, "the layer reads key '%s' that its key list %s", key,
                       spec ? "declares with another type" : "does not declare");
        return NULL;
    }
    const llx_cfg *v = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, key) : NULL;
    if (v && llx_cfg_kind_of(v) == LLX_CFG_NULL) v = NULL;
    if (!v && !spec->default_value && spec->type != LLX_KEY_ANY)
        llx_build_fail(b, NULL, LLX_ERR_INVALID, "missing required key '%s'", key);
    *dflt = spec->default_value;
    return v;
}

/* Records a conversion error of node v at v's location, once (the message
 * from llx_cfg_as_* already starts with it). */
static void take_cfg_error(llx_builder *b, const llx_cfg *v, llx_status st, const llx_error *e)
{
    if (st == LLX_OK) return;
    char loc[512];
    llx_cfg_loc_str(v, loc, sizeof loc);
    size_t n = strlen(loc);
    llx_build_fail(b, v, st, "%s", strncmp(e->msg, loc, n) == 0 ? e->msg + n : e->msg);
}

int64_t llx_arg_int(llx_builder *b, const llx_cfg *cfg, const char *key)
{
    const char *dflt;
    const llx_cfg *v = arg_lookup(b, cfg, key, LLX_KEY_INT, &dflt);
    int64_t out = 0;
    llx_error e;
    if (v) take_cfg_error(b, v, llx_cfg_as_int(v, key, &out, &e), &e);
    else if (dflt) out = strtoll(dflt, NULL, 10);
    return out;
}

double llx_arg_float(llx_builder *b, const llx_cfg *cfg, const char *key)
{
    const char *dflt;
    const llx_cfg *v = arg_lookup(b, cfg, key, LLX_KEY_FLOAT, &dflt);
    double out = 0;
    llx_error e;
    if (v) take_cfg_error(b, v, llx_cfg_as_double(v, key, &out, &e), &e);
    else if (dflt) out = strtod(dflt, NULL);
    return out;
}

bool llx_arg_bool(llx_builder *b, const llx_cfg *cfg, const char *key)
{
    const char *dflt;
    const llx_cfg *v = arg_lookup(b, cfg, key, LLX_KEY_BOOL, &dflt);
    bool out = false;
    llx_error e;
    if (v) take_cfg_error(b, v, llx_cfg_as_bool(v, key, &out, &e), &e);
    else if (dflt) out = strcmp(dflt, "true") == 0;
    return out;
}

const char *llx_arg_str(llx_builder *b, const llx_cfg *cfg, const char *key)
{
    const char *dflt;
    const llx_cfg *v = arg_lookup(b, cfg, key, LLX_KEY_STRING, &dflt);
    if (!v) return dflt;
    if (llx_cfg_kind_of(v) != LLX_CFG_SCALAR) {
        llx_build_fail(b, v, LLX_ERR_INVALID, "key '%s': expected a string", key);
        return dflt;
    }
    return llx_cfg_str(v);
}

const llx_cfg *llx_arg_node(llx_builder *b, const llx_cfg *cfg, const char *key)
{
    const char *dflt;
    return arg_lookup(b, cfg, key, LLX_KEY_ANY, &dflt);
}

int llx_arg_choice(llx_builder *b, const llx_cfg *cfg, const char *key, const char *const *choices)
{
    const char *s = llx_arg_str(b, cfg, key);
    if (!s) return 0;
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) return i;
    const llx_cfg *at = llx_cfg_kind_of(cfg) == LLX_CFG_MAP ? llx_cfg_get(cfg, key) : NULL;
    char text[768];
    llx_build_fail(b, at, LLX_ERR_INVALID, "key '%s': %s", key, llx_schema_not_a_choice(s, choices, text, sizeof text));
    return 0;
}

/* ---------------------------------------------------------------- nodes */

static void count_in_rows(llx_builder *b, int64_t params, int64_t macs)
{
    for (int i = 0; i < b->n_frames; i++) {
        llx_layer_row *r = &b->g->rows[b->frames[i].row];
        r->params += params;
        r->macs += macs;
    }
}

static llx_node_id add_state(llx_builder *b, llx_node_kind kind, const char *name, llx_shape shape,
                             llx_init init)
{
    if (b->status != LLX_OK) return LLX_NO_NODE;
    char full[LLX_SCOPE_MAX + 128];
    snprintf(full, sizeof full, "%s%s%s", b->scope, b->scope_len ? "." : "", name);
    if (llx_graph_find(b->g, full) != LLX_NO_NODE) {
        llx_build_fail(b, NULL, LLX_ERR_INVALID, "parameter '%s' is declared twice (give the layers distinct names)", full);
        return LLX_NO_NODE;
    }
    layer_frame *f = top_frame(b);
    node proto = {.kind = kind, .name = full, .shape = shape, .dtype = b->g->dtype, .init = init,
                  .row = f ? f->row : -1};
    llx_node_id id = llx_graph_add_node(b->g, &proto, NULL, 0);
    if (id == LLX_NO_NODE) llx_build_fail(b, NULL, LLX_ERR_NOMEM, "out of memory");
    else if (kind == LLX_NODE_PARAM) count_in_rows(b, llx_shape_numel(&shape), 0);
    return id;
}

llx_node_id llx_param(llx_builder *b, const char *name, llx_shape shape, llx_init init)
{
    return add_state(b, LLX_NODE_PARAM, name, shape, init);
}

llx_node_id llx_buffer(llx_builder *b, const char *name, llx_shape shape, llx_init init)
{
    return add_state(b, LLX_NODE_BUFFER, name, shape, init);
}

llx_shape llx_node_shape(llx_builder *b, llx_node_id n)
{
    if (n < 0 || (size_t)n >= b->g->n_nodes) return (llx_shape){0};
    return b->g->nodes[n].shape;
}

llx_node_id llx_emit(llx_builder *b, const llx_op_desc *op, const void *attr, const llx_node_id *in,
                     int n_in)
{
    if (b->status != LLX_OK) return LLX_NO_NODE;
    if (n_in < op->min_inputs || n_in > op->max_inputs) {
        llx_build_fail(b, NULL, LLX_ERR_INVALID, "op %s takes %d to %d inputs, got %d", op->name,
                       op->min_inputs, op->max_inputs, n_in);
        return LLX_NO_NODE;
    }
    llx_shape shapes[LLX_OP_MAX_INPUTS];
    bool batched = false;
    for (int i = 0; i < n_in; i++) {
        LLX_ASSERT(in[i] >= 0 && (size_t)in[i] < b->g->n_nodes);
        shapes[i] = b->g->nodes[in[i]].shape;
        batched |= b->g->nodes[in[i]].batched;
    }
    llx_shape out;
    llx_error e = {.msg = ""}; /* an op's infer may fail without a message */
    llx_status st = op->infer(attr, shapes, n_in, &out, &e);
    if (st != LLX_OK) {
        llx_build_fail(b, NULL, st, "%s", e.msg);
        return LLX_NO_NODE;
    }
    layer_frame *f = top_frame(b);
    char name[LLX_SCOPE_MAX + 64];
    snprintf(name, sizeof name, "%s:%s", b->scope, op->name);
    node proto = {.kind = LLX_NODE_OP, .name = name, .op = op, .n_in = n_in, .shape = out,
                  .dtype = b->g->dtype, .row = f ? f->row : -1, .batched = batched && out.ndim > 1};
    memcpy(proto.in, in, (size_t)n_in * sizeof in[0]);
    llx_node_id id = llx_graph_add_node(b->g, &proto, attr, op->attr_size);
    if (id == LLX_NO_NODE) {
        llx_build_fail(b, NULL, LLX_ERR_NOMEM, "out of memory");
        return LLX_NO_NODE;
    }
    count_in_rows(b, 0, op->macs ? op->macs(attr, shapes, n_in, &out) : 0);
    return id;
}

/* ---------------------------------------------------------------- layers */

static llx_status check_keys(llx_builder *b, const llx_layer_desc *d, const llx_cfg *cfg)
{
    static const char *const common[] = {"type", "name", "from", NULL};
    if (llx_cfg_kind_of(cfg) != LLX_CFG_MAP) return LLX_OK; /* a bare type name: all defaults */
    char what[LLX_SCOPE_MAX + 64];
    snprintf(what, sizeof what, "layer '%s' (%s)", b->scope_len ? b->scope : "(top)", d->name);
    llx_error e;
    if (llx_schema_check(cfg, what, d->keys, common, &e) == LLX_OK) return LLX_OK;
    b->err = e;
    return b->status = e.status;
}

static const llx_layer_desc *resolve_type(llx_builder *b, const llx_cfg *cfg)
{
    const llx_cfg *t = llx_cfg_kind_of(cfg) == LLX_CFG_SCALAR ? cfg : llx_cfg_get(cfg, "type");
    if (!t || llx_cfg_kind_of(t) != LLX_CFG_SCALAR) {
        llx_build_fail(b, cfg, LLX_ERR_INVALID, "a layer needs 'type:' (one of the layers that `llx plugins` lists)");
        return NULL;
    }
    const llx_layer_desc *d = llx_registry_layer(b->g->reg, llx_cfg_str(t));
    if (d) return d;
    const char **names = llx_registry_layer_names(b->g->reg);
    const char *near = names ? llx_suggest(llx_cfg_str(t), names) : NULL;
    llx_build_fail(b, t, LLX_ERR_NOT_FOUND, "unknown layer type '%s'%s%s%s (is its plugin loaded? see `llx plugins`)",
                   llx_cfg_str(t), near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    free(names);
    return NULL;
}

llx_status llx_build_layer_cfg(llx_builder *b, const char *name, const llx_cfg *cfg,
                               const llx_node_id *in, int n_in, llx_node_id *out)
{
    *out = LLX_NO_NODE;
    const llx_layer_desc *d = resolve_type(b, cfg);
    if (!d) return b->status;
    if (b->n_frames >= LLX_NEST_MAX)
        return llx_build_fail(b, cfg, LLX_ERR_INVALID, "layers nested deeper than %d", LLX_NEST_MAX);
    llx_scope_push(b, name);
    int row = llx_graph_add_row(b->g, b->scope, d->name, b->n_frames);
    if (row < 0) llx_build_fail(b, cfg, LLX_ERR_NOMEM, "out of memory");
    b->frames[b->n_frames++] = (layer_frame){.desc = d, .cfg = cfg, .row = row};
    if (b->status == LLX_OK && check_keys(b, d, cfg) == LLX_OK) {
        llx_status st = d->build(b, cfg, in, n_in, out);
        if (st != LLX_OK && b->status == LLX_OK)
            llx_build_fail(b, NULL, st, "the layer failed to build (%s)", llx_status_name(st));
        if (b->status == LLX_OK && *out == LLX_NO_NODE)
            llx_build_fail(b, NULL, LLX_ERR_INVALID, "the layer produced no output");
    }
    b->n_frames--;
    llx_scope_pop(b);
    if (b->status != LLX_OK) return b->status;
    b->g->rows[row].out_shape = b->g->nodes[*out].shape;
    return LLX_OK;
}

llx_node_id llx_sublayer(llx_builder *b, const char *scope, const llx_cfg *cfg, const llx_node_id *in,
                         int n_in, bool allow_none)
{
    if (b->status != LLX_OK) return LLX_NO_NODE;
    bool none = !cfg || llx_cfg_kind_of(cfg) == LLX_CFG_NULL ||
                (llx_cfg_kind_of(cfg) == LLX_CFG_SCALAR && strcmp(llx_cfg_str(cfg), "none") == 0);
    if (none && allow_none) return in[0];
    llx_node_id out;
    llx_build_layer_cfg(b, scope, cfg, in, n_in, &out);
    return out;
}
