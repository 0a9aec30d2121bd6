/* llx/config.h: the configuration tree of an experiment (loaded from YAML).
 *
 * Every node remembers the file, line and column it came from so that any
 * error about it can name them. Scalars keep their text; typed accessors
 * convert it and report the expected type on failure. Anchors, aliases
 * and merge keys (<<) are resolved by the loader; so are `extends:`,
 * `vars:` substitution (${name}, ${expr}) and --set overrides. */
#ifndef LLX_CONFIG_H
#define LLX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llx/status.h"

typedef enum llx_cfg_kind {
    LLX_CFG_NULL = 0,
    LLX_CFG_SCALAR,
    LLX_CFG_MAP,
    LLX_CFG_SEQ
} llx_cfg_kind;

typedef struct llx_cfg llx_cfg; /* a node; owned by its document */

typedef struct llx_cfg_loc {
    const char *file;
    int line, col; /* 1-based */
} llx_cfg_loc;

llx_cfg_kind llx_cfg_kind_of(const llx_cfg *c);
llx_cfg_loc llx_cfg_where(const llx_cfg *c);
/* Scalar text (NULL if not a scalar). */
const char *llx_cfg_str(const llx_cfg *c);
/* Map: value under key (NULL if absent or not a map). */
const llx_cfg *llx_cfg_get(const llx_cfg *map, const char *key);
/* Map or sequence: number of entries, i-th value, i-th key (maps only). */
size_t llx_cfg_len(const llx_cfg *c);
const llx_cfg *llx_cfg_at(const llx_cfg *c, size_t i);
const char *llx_cfg_key_at(const llx_cfg *map, size_t i);
/* Location of the i-th key of a map (for "unknown key" errors). */
llx_cfg_loc llx_cfg_key_where(const llx_cfg *map, size_t i);

/* Typed reads of a scalar; on failure: "file:line:col: key 'what': expected an integer, got 'x'". */
llx_status llx_cfg_as_int(const llx_cfg *c, const char *what, int64_t *out, llx_error *err);
llx_status llx_cfg_as_double(const llx_cfg *c, const char *what, double *out, llx_error *err);
llx_status llx_cfg_as_bool(const llx_cfg *c, const char *what, bool *out, llx_error *err);

/* A loaded experiment document. */
typedef struct llx_doc llx_doc;

/* Loads path: parses YAML, follows `extends:` (relative to the file), applies
 * the `vars:` section with `sets` overrides ("name=value" for a variable, or
 * "a.b.c=value" for a path in the document), substitutes ${...}. */
llx_status llx_doc_load(const char *path, const char *const *sets, int n_sets, llx_doc **out,
                        llx_error *err);
/* Parses YAML text (no extends; `name` stands for the file in messages). */
llx_status llx_doc_parse(const char *name, const char *text, const char *const *sets, int n_sets,
                         llx_doc **out, llx_error *err);
void llx_doc_free(llx_doc *d);
const llx_cfg *llx_doc_root(const llx_doc *d);
/* The resolved document as YAML text (malloc'd): what a run stores. */
char *llx_doc_to_yaml(const llx_doc *d);

/* Formats "file:line:col: " for c into buf. */
char *llx_cfg_loc_str(const llx_cfg *c, char *buf, size_t cap);

/* Closest of `candidates` (NULL-terminated) to `word` by edit distance, or NULL
 * when none is close enough to suggest. */
const char *llx_suggest(const char *word, const char *const *candidates);

#endif
