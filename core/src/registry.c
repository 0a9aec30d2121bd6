/* registry.c: named layers and ops, each with the plugin that owns it. */
#include <stdlib.h>
#include <string.h>

#include "llx/registry.h"
#include "registry_impl.h"

typedef struct entry {
    const char *name;
    const void *desc;
    const char *owner;
} entry;

typedef struct table {
    entry *items;
    size_t n, cap;
} table;

struct llx_registry {
    table layers, ops;
};

static const entry *table_find(const table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].name, name) == 0) return &t->items[i];
    return NULL;
}

static llx_status table_add(table *t, const char *kind, const char *name, const void *desc,
                            const char *owner, llx_error *err)
{
    const entry *old = table_find(t, name);
    if (old)
        return llx_errorf(err, LLX_ERR_PLUGIN, "duplicate %s name '%s': registered by '%s' and again by '%s'",
                          kind, name, old->owner, owner);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        entry *items = realloc(t->items, cap * sizeof *items);
        if (!items) return llx_errorf(err, LLX_ERR_NOMEM, "registry: out of memory");
        t->items = items;
        t->cap = cap;
    }
    t->items[t->n++] = (entry){name, desc, owner};
    return LLX_OK;
}

llx_status llx_registry_create(llx_registry **out, llx_error *err)
{
    llx_registry *r = calloc(1, sizeof *r);
    if (!r) return llx_errorf(err, LLX_ERR_NOMEM, "registry: out of memory");
    llx_status st = LLX_OK;
    for (int id = 0; id < LLX_OP_COUNT && st == LLX_OK; id++)
        st = llx_registry_add_op(r, llx_builtin_op((llx_op_id)id), "builtin", err);
    if (st == LLX_OK) st = llx_register_builtin_layers(r, err);
    if (st != LLX_OK) {
        llx_registry_free(r);
        return st;
    }
    *out = r;
    return LLX_OK;
}

void llx_registry_free(llx_registry *r)
{
    if (!r) return;
    free(r->layers.items);
    free(r->ops.items);
    free(r);
}

llx_status llx_registry_add_layer(llx_registry *r, const llx_layer_desc *l, const char *owner,
                                  llx_error *err)
{
    return table_add(&r->layers, "layer", l->name, l, owner, err);
}

llx_status llx_registry_add_op(llx_registry *r, const llx_op_desc *op, const char *owner,
                               llx_error *err)
{
    return table_add(&r->ops, "op", op->name, op, owner, err);
}

const llx_layer_desc *llx_registry_layer(const llx_registry *r, const char *name)
{
    const entry *e = table_find(&r->layers, name);
    return e ? e->desc : NULL;
}

const llx_op_desc *llx_registry_op(const llx_registry *r, const char *name)
{
    const entry *e = table_find(&r->ops, name);
    return e ? e->desc : NULL;
}

size_t llx_registry_layer_count(const llx_registry *r) { return r->layers.n; }

const llx_layer_desc *llx_registry_layer_at(const llx_registry *r, size_t i, const char **owner)
{
    if (i >= r->layers.n) return NULL;
    if (owner) *owner = r->layers.items[i].owner;
    return r->layers.items[i].desc;
}

const char **llx_registry_layer_names(const llx_registry *r)
{
    const char **names = calloc(r->layers.n + 1, sizeof *names);
    for (size_t i = 0; names && i < r->layers.n; i++) names[i] = r->layers.items[i].name;
    return names;
}
