/* config_impl.h: private layout of the configuration tree (llx/config.h).
 *
 * Every node and string of a document lives in one arena owned by the
 * llx_doc; nothing is freed before llx_doc_free. Maps and sequences share
 * one entry array (keys unused for sequences); maps keep insertion order. */
#ifndef LLX_CONFIG_IMPL_H
#define LLX_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "llx/config.h"

/* ---- arena ---- */
typedef struct cfg_block cfg_block;
typedef struct cfg_arena {
    cfg_block *head;
} cfg_arena;

void *cfg_alloc(cfg_arena *a, size_t n); /* zeroed; NULL when out of memory */
char *cfg_strndup(cfg_arena *a, const char *s, size_t n);
char *cfg_strdup(cfg_arena *a, const char *s);
void cfg_arena_free(cfg_arena *a);

/* ---- nodes ---- */
typedef struct cfg_entry {
    const char *key; /* maps only */
    llx_cfg_loc key_loc;
    llx_cfg *val;
} cfg_entry;

struct llx_cfg {
    llx_cfg_kind kind;
    bool quoted; /* scalar written quoted (never a null) */
    llx_cfg_loc loc;
    const char *str; /* scalars only */
    cfg_entry *items;
    size_t n, cap;
};

struct llx_doc {
    cfg_arena arena;
    llx_cfg *root;
};

llx_cfg *cfg_new(cfg_arena *a, llx_cfg_kind kind, llx_cfg_loc loc);
llx_cfg *cfg_new_scalar(cfg_arena *a, const char *text, llx_cfg_loc loc);
/* Appends (or inserts at pos) an entry; false when out of memory. */
bool cfg_push(cfg_arena *a, llx_cfg *c, const char *key, llx_cfg_loc key_loc, llx_cfg *val);
bool cfg_insert(cfg_arena *a, llx_cfg *c, size_t pos, const char *key, llx_cfg_loc key_loc,
                llx_cfg *val);
void cfg_remove_at(llx_cfg *map, size_t i);
/* Index of key in map, or -1. */
long cfg_find(const llx_cfg *map, const char *key);
/* Deep copy; *budget (optional) is decremented per node and the copy fails at 0. */
llx_cfg *cfg_copy(cfg_arena *a, const llx_cfg *c, size_t *budget);
/* "", "~", "null", "Null", "NULL": what a plain scalar reads as null. */
bool cfg_is_null_text(const char *s);
/* Strict decimal integer / finite double of a whole string. */
bool cfg_parse_int(const char *s, long long *out);
bool cfg_parse_double(const char *s, double *out);
llx_status cfg_nomem(llx_error *err);

/* ---- stages of loading ---- */
/* Parses one YAML document; *out is NULL for an empty stream. col_off shifts
 * columns of line 1 (values of --set). */
llx_status cfg_parse_text(cfg_arena *a, const char *file, const char *text, size_t len,
                          int col_off, llx_cfg **out, llx_error *err);
/* Deep merge: maps key by key, anything else replaced by child. */
llx_cfg *cfg_merge(cfg_arena *a, llx_cfg *base, llx_cfg *child);
/* Applies "name=value" / "a.b.c=value" overrides to root. */
llx_status cfg_apply_sets(cfg_arena *a, llx_cfg *root, const char *const *sets, int n_sets,
                          llx_error *err);
/* Substitutes ${...} over the whole document using root's `vars:`. */
llx_status cfg_substitute(cfg_arena *a, llx_cfg *root, llx_error *err);

#endif
