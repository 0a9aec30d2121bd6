/* llx/schema.h: strict, typed reading of a YAML section against its key list.
 *
 * Every section of an experiment (train:, data:, a layer) declares its keys
 * with llx_key_spec (name, type, default, doc). An unknown key is an error
 * with file:line:column and a near-miss suggestion; a value of the wrong type
 * names the key and the expected type; defaults come from the key list, so
 * what a run used is always what the list says. */
#ifndef LLX_SCHEMA_H
#define LLX_SCHEMA_H

#include "llx/layer.h"

/* Fails on a key of map that is neither in keys nor in extra (NULL-terminated,
 * may be NULL). `what` names the section in the message ("train", "layer 'conv1' (conv2d)"). */
llx_status llx_schema_check(const llx_cfg *map, const char *what, const llx_key_spec *keys,
                            const char *const *extra, llx_error *err);

/* The value of key in map, or its default (map may be NULL: all defaults).
 * A required key (default NULL) that is absent is an error naming `what`. */
llx_status llx_schema_int(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                          int64_t *out, llx_error *err);
llx_status llx_schema_double(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                             double *out, llx_error *err);
llx_status llx_schema_bool(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                           bool *out, llx_error *err);
llx_status llx_schema_str(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                          const char **out, llx_error *err);
/* "'tim' is not one of original, timm (did you mean 'timm'?)" into buf; returns buf. */
const char *llx_schema_not_a_choice(const char *value, const char *const *choices, char *buf, size_t cap);

/* A string limited to choices (NULL-terminated): *index of the choice. */
llx_status llx_schema_choice(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                             const char *const *choices, int *index, llx_error *err);

#endif
