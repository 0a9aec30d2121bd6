/* config_load.c: loading an experiment document.
 *
 * Order: parse the file; follow `extends:` (one file or a list, relative to
 * the including file's folder, recursively, cycles are errors) and deep-merge
 * the child over its bases; apply --set overrides; substitute ${...}. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "fileio_impl.h"

#define CFG_MAX_EXTENDS 32

typedef struct loader {
    cfg_arena *a;
    const char *real[CFG_MAX_EXTENDS]; /* canonical paths of the files being loaded */
    const char *shown[CFG_MAX_EXTENDS];
    int depth;
    llx_error *err;
} loader;


llx_cfg *cfg_merge(cfg_arena *a, llx_cfg *base, llx_cfg *child)
{
    if (base->kind != LLX_CFG_MAP || child->kind != LLX_CFG_MAP) return child;
    for (size_t i = 0; i < child->n; i++) {
        const cfg_entry *e = &child->items[i];
        long j = cfg_find(base, e->key);
        if (j < 0) {
            if (!cfg_push(a, base, e->key, e->key_loc, e->val)) return NULL;
            continue;
        }
        llx_cfg *m = cfg_merge(a, base->items[j].val, e->val);
        if (!m) return NULL;
        base->items[j].val = m;
        base->items[j].key_loc = e->key_loc;
    }
    return base;
}

/* "dir/of/from" + "/" + name, unless name is absolute or from has no folder. */
static char *relative_path(cfg_arena *a, const char *from, const char *name)
{
    const char *slash = strrchr(from, '/');
    if (name[0] == '/' || !slash) return cfg_strdup(a, name);
    size_t dir = (size_t)(slash - from) + 1, n = strlen(name);
    char *p = cfg_alloc(a, dir + n + 1);
    if (p) {
        memcpy(p, from, dir);
        memcpy(p + dir, name, n + 1);
    }
    return p;
}

static llx_status load_file(loader *L, const char *path, const llx_cfg *from, llx_cfg **out);

/* "a.yaml -> b.yaml -> a.yaml" for a cycle error. */
static void cycle_text(const loader *L, const char *again, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < L->depth && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s -> ", L->shown[i]);
    if (n < cap) snprintf(buf + n, cap - n, "%s", again);
}

/* Loads one base named by the scalar `name` in file `from_file`. */
static llx_status load_base(loader *L, const char *from_file, const llx_cfg *name, llx_cfg **out)
{
    char loc[512];
    llx_cfg_loc_str(name, loc, sizeof loc);
    if (name->kind != LLX_CFG_SCALAR)
        return llx_errorf(L->err, LLX_ERR_INVALID,
                          "%sextends: expected a file name or a list of file names", loc);
    const char *path = relative_path(L->a, from_file, name->str);
    if (!path) return cfg_nomem(L->err);
    return load_file(L, path, name, out);
}

/* Replaces *root by its `extends:` bases with *root merged over them. */
static llx_status apply_extends(loader *L, const char *file, llx_cfg **root)
{
    long i = cfg_find(*root, "extends");
    if (i < 0) return LLX_OK;
    const llx_cfg *ext = (*root)->items[i].val;
    cfg_remove_at(*root, (size_t)i);
    bool list = ext->kind == LLX_CFG_SEQ;
    size_t n = list ? ext->n : 1;
    llx_cfg *acc = NULL;
    for (size_t k = 0; k < n; k++) {
        llx_cfg *base;
        LLX_TRY(load_base(L, file, list ? ext->items[k].val : ext, &base));
        if (!(acc = acc ? cfg_merge(L->a, acc, base) : base)) return cfg_nomem(L->err);
    }
    if (acc && !(*root = cfg_merge(L->a, acc, *root))) return cfg_nomem(L->err);
    return LLX_OK;
}

static llx_status read_error(loader *L, const char *path, const llx_cfg *from)
{
    char loc[512];
    if (!from) return llx_errorf(L->err, LLX_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    return llx_errorf(L->err, LLX_ERR_IO, "%sextends: cannot read '%s': %s",
                      llx_cfg_loc_str(from, loc, sizeof loc), from->str, strerror(errno));
}

/* Checks that path is not already being loaded; pushes it on the chain. */
static llx_status enter(loader *L, const char *path, const llx_cfg *from)
{
    char *canon = realpath(path, NULL), loc[512], chain[1024];
    const char *real = canon ? cfg_strdup(L->a, canon) : path;
    free(canon);
    if (!real) return cfg_nomem(L->err);
    llx_cfg_loc_str(from, loc, sizeof loc);
    for (int i = 0; i < L->depth; i++) {
        if (strcmp(L->real[i], real)) continue;
        cycle_text(L, path, chain, sizeof chain);
        return llx_errorf(L->err, LLX_ERR_INVALID, "%sextends: cycle: %s", loc, chain);
    }
    if (L->depth == CFG_MAX_EXTENDS)
        return llx_errorf(L->err, LLX_ERR_INVALID, "%sextends: nested too deeply", loc);
    L->real[L->depth] = real;
    L->shown[L->depth++] = path;
    return LLX_OK;
}

/* Parses text as a document root (an empty one is an empty map). */
static llx_status parse_root(cfg_arena *a, const char *name, const char *text, size_t len,
                             llx_cfg **out, llx_error *err)
{
    LLX_TRY(cfg_parse_text(a, name, text, len, 0, out, err));
    if (!*out || (*out)->kind == LLX_CFG_NULL) {
        llx_cfg_loc loc = {.file = cfg_strdup(a, name), .line = 1, .col = 1};
        if (!loc.file || !(*out = cfg_new(a, LLX_CFG_MAP, loc))) return cfg_nomem(err);
    }
    return LLX_OK;
}

static llx_status load_file(loader *L, const char *path, const llx_cfg *from, llx_cfg **out)
{
    size_t len = 0;
    char *text = NULL;
    if (llx_read_text(path, &text, &len, NULL) != LLX_OK)
        return errno == ENOMEM ? cfg_nomem(L->err) : read_error(L, path, from);
    llx_status st = enter(L, path, from);
    if (st) {
        free(text);
        return st;
    }
    st = parse_root(L->a, path, text, len, out, L->err);
    free(text);
    if (st == LLX_OK && (*out)->kind == LLX_CFG_MAP) st = apply_extends(L, path, out);
    L->depth--;
    return st;
}

/* Sets and substitution on a loaded root; fills *out on success. */
static llx_status finish(llx_doc *d, const char *const *sets, int n_sets, llx_doc **out,
                         llx_error *err)
{
    llx_status st = cfg_apply_sets(&d->arena, d->root, sets, n_sets, err);
    if (st == LLX_OK) st = cfg_substitute(&d->arena, d->root, err);
    if (st) {
        llx_doc_free(d);
        return st;
    }
    *out = d;
    return LLX_OK;
}

llx_status llx_doc_load(const char *path, const char *const *sets, int n_sets, llx_doc **out,
                        llx_error *err)
{
    LLX_ASSERT(path && out);
    *out = NULL;
    llx_doc *d = calloc(1, sizeof *d);
    if (!d) return cfg_nomem(err);
    loader L = {.a = &d->arena, .err = err};
    const char *p = cfg_strdup(&d->arena, path);
    llx_status st = p ? load_file(&L, p, NULL, &d->root) : cfg_nomem(err);
    if (st) {
        llx_doc_free(d);
        return st;
    }
    return finish(d, sets, n_sets, out, err);
}

llx_status llx_doc_parse(const char *name, const char *text, const char *const *sets, int n_sets,
                         llx_doc **out, llx_error *err)
{
    LLX_ASSERT(name && text && out);
    *out = NULL;
    llx_doc *d = calloc(1, sizeof *d);
    if (!d) return cfg_nomem(err);
    loader L = {.a = &d->arena, .err = err};
    const char *nm = cfg_strdup(&d->arena, name);
    llx_status st = nm ? parse_root(&d->arena, nm, text, strlen(text), &d->root, err)
                       : cfg_nomem(err);
    if (st == LLX_OK && d->root->kind == LLX_CFG_MAP) st = apply_extends(&L, nm, &d->root);
    if (st) {
        llx_doc_free(d);
        return st;
    }
    return finish(d, sets, n_sets, out, err);
}

void llx_doc_free(llx_doc *d)
{
    if (!d) return;
    cfg_arena_free(&d->arena);
    free(d);
}

const llx_cfg *llx_doc_root(const llx_doc *d) { return d ? d->root : NULL; }
