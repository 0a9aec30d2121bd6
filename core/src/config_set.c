/* config_set.c: --set overrides.
 *
 * "name=value": replaces variable `name` (vars:), else top-level key `name`.
 * "a.b.c=value": sets that path, creating maps as needed; when `a` is a
 * variable the path starts inside vars:. Sequence items are reached by index
 * ("layers.0.kernel=3"). The value text is parsed as YAML and located at
 * file "--set", line 1, column = its 1-based position in the argument. */
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

#define CFG_MAX_SET_PARTS 64

typedef struct set_arg {
    const char *text;                /* the whole "name=value" */
    char *parts[CFG_MAX_SET_PARTS];  /* name split at dots (arena) */
    int cols[CFG_MAX_SET_PARTS];     /* 1-based column of each part */
    int n;
    llx_cfg *value;
} set_arg;

static llx_cfg_loc set_loc(int col)
{
    return (llx_cfg_loc){.file = "--set", .line = 1, .col = col};
}

/* Splits "a.b.c" (text up to eq) into parts. */
static llx_status split_name(cfg_arena *a, set_arg *s, const char *eq, llx_error *err)
{
    const char *p = s->text;
    while (p <= eq) {
        const char *end = p;
        while (end < eq && *end != '.') end++;
        if (end == p || s->n == CFG_MAX_SET_PARTS)
            return llx_errorf(err, LLX_ERR_INVALID,
                              "--set %s: expected name=value or a.b.c=value", s->text);
        s->cols[s->n] = (int)(p - s->text) + 1;
        if (!(s->parts[s->n++] = cfg_strndup(a, p, (size_t)(end - p)))) return cfg_nomem(err);
        p = end + 1;
    }
    return LLX_OK;
}

static llx_status parse_set(cfg_arena *a, const char *text, set_arg *s, llx_error *err)
{
    *s = (set_arg){.text = text};
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return llx_errorf(err, LLX_ERR_INVALID, "--set %s: expected name=value or a.b.c=value",
                          text);
    LLX_TRY(split_name(a, s, eq, err));
    int col_off = (int)(eq - text) + 1;
    llx_status st = cfg_parse_text(a, "--set", eq + 1, strlen(eq + 1), col_off, &s->value, err);
    if (st) {
        llx_error_prefix(err, "--set %s", text);
        return st;
    }
    if (!s->value && !(s->value = cfg_new(a, LLX_CFG_NULL, set_loc(col_off + 1))))
        return cfg_nomem(err);
    return LLX_OK;
}

/* Names of vars and top-level keys, NULL-terminated (malloc'd). */
static const char **known_names(const llx_cfg *root, const llx_cfg *vars)
{
    size_t nv = vars ? vars->n : 0, n = 0;
    const char **names = malloc((nv + root->n + 1) * sizeof *names);
    if (!names) return NULL;
    for (size_t i = 0; i < nv; i++) names[n++] = vars->items[i].key;
    for (size_t i = 0; i < root->n; i++) names[n++] = root->items[i].key;
    names[n] = NULL;
    return names;
}

static llx_status unknown_name(const llx_cfg *root, const llx_cfg *vars, const set_arg *s,
                               llx_error *err)
{
    const char **names = known_names(root, vars);
    const char *hint = names ? llx_suggest(s->parts[0], names) : NULL;
    llx_status st;
    if (hint)
        st = llx_errorf(err, LLX_ERR_NOT_FOUND, "--set %s: no variable '%s' (did you mean '%s'?)",
                        s->text, s->parts[0], hint);
    else
        st = llx_errorf(err, LLX_ERR_NOT_FOUND,
                        "--set %s: no variable or top-level key '%s'",
                        s->text, s->parts[0]);
    free(names);
    return st;
}

/* The slot for part i in node c; creates a key in maps (NULL value) when create. */
static llx_cfg **child_slot(cfg_arena *a, llx_cfg *c, const set_arg *s, int i, bool create)
{
    const char *part = s->parts[i];
    if (c->kind == LLX_CFG_SEQ) {
        long long k;
        if (!cfg_parse_int(part, &k) || k < 0 || (size_t)k >= c->n) return NULL;
        return &c->items[k].val;
    }
    long j = cfg_find(c, part);
    if (j >= 0) return &c->items[j].val;
    if (!create) return NULL;
    llx_cfg *m = cfg_new(a, LLX_CFG_MAP, set_loc(s->cols[i]));
    if (!m || !cfg_push(a, c, part, set_loc(s->cols[i]), m)) return NULL;
    return &c->items[c->n - 1].val;
}

/* Walks parts[from..] below c and stores the value at the end. */
static llx_status set_path(cfg_arena *a, llx_cfg *c, const set_arg *s, int from, llx_error *err)
{
    for (int i = from; i < s->n; i++) {
        if (c->kind == LLX_CFG_NULL) *c = (llx_cfg){.kind = LLX_CFG_MAP, .loc = c->loc};
        if (c->kind == LLX_CFG_SCALAR) {
            char loc[512];
            return llx_errorf(err, LLX_ERR_INVALID, "--set %s: '%s' is not a mapping (%s'%s')",
                              s->text, s->parts[i - 1], llx_cfg_loc_str(c, loc, sizeof loc),
                              c->str);
        }
        llx_cfg **slot = child_slot(a, c, s, i, c->kind == LLX_CFG_MAP);
        if (!slot && c->kind == LLX_CFG_SEQ)
            return llx_errorf(err, LLX_ERR_INVALID,
                              "--set %s: '%s' is not an index of '%s' (it has %zu items)",
                              s->text, s->parts[i], s->parts[i - 1], c->n);
        if (!slot) return cfg_nomem(err);
        if (i == s->n - 1) *slot = s->value;
        c = *slot;
    }
    return LLX_OK;
}

static llx_status apply_set(cfg_arena *a, llx_cfg *root, const char *text, llx_error *err)
{
    set_arg s;
    LLX_TRY(parse_set(a, text, &s, err));
    if (root->kind != LLX_CFG_MAP)
        return llx_errorf(err, LLX_ERR_INVALID, "--set %s: the document is not a mapping", text);
    llx_cfg *vars = (llx_cfg *)llx_cfg_get(root, "vars");
    if (vars && vars->kind != LLX_CFG_MAP) vars = NULL;
    llx_cfg *start = cfg_find(vars, s.parts[0]) >= 0 ? vars : root;
    if (s.n == 1 && cfg_find(start, s.parts[0]) < 0) return unknown_name(root, vars, &s, err);
    return set_path(a, start, &s, 0, err);
}

llx_status cfg_apply_sets(cfg_arena *a, llx_cfg *root, const char *const *sets, int n_sets,
                          llx_error *err)
{
    for (int i = 0; i < n_sets; i++) LLX_TRY(apply_set(a, root, sets[i], err));
    return LLX_OK;
}
