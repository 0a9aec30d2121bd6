/* schema.c: see llx/schema.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llx/schema.h"

llx_status llx_schema_check(const llx_cfg *map, const char *what, const llx_key_spec *keys,
                            const char *const *extra, llx_error *err)
{
    if (!map || llx_cfg_kind_of(map) == LLX_CFG_NULL) return LLX_OK;
    char loc[512];
    if (llx_cfg_kind_of(map) != LLX_CFG_MAP)
        return llx_errorf(err, LLX_ERR_INVALID, "%s%s: expected a mapping of keys", llx_cfg_loc_str(map, loc, sizeof loc),
                          what);
    const char *names[128];
    int n = 0;
    for (int i = 0; extra && extra[i] && n < 127; i++) names[n++] = extra[i];
    for (const llx_key_spec *k = keys; k && k->name && n < 127; k++) names[n++] = k->name;
    names[n] = NULL;
    for (size_t i = 0; i < llx_cfg_len(map); i++) {
        const char *key = llx_cfg_key_at(map, i);
        bool known = false;
        for (int j = 0; j < n && !known; j++) known = strcmp(key, names[j]) == 0;
        if (known) continue;
        llx_cfg_loc at = llx_cfg_key_where(map, i);
        const char *near = llx_suggest(key, names);
        char hint[160] = "";
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        return llx_errorf(err, LLX_ERR_INVALID, "%s:%d:%d: unknown key '%s' in %s%s", at.file, at.line, at.col, key,
                          what, hint);
    }
    return LLX_OK;
}

/* The node of key (NULL when absent or null) and its spec; fails on an undeclared key. */
static llx_status lookup(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                         const llx_cfg **node, const llx_key_spec **spec, llx_error *err)
{
    *spec = NULL;
    for (const llx_key_spec *k = keys; k && k->name && !*spec; k++)
        if (strcmp(k->name, key) == 0) *spec = k;
    LLX_ASSERT(*spec != NULL); /* reading a key the section does not declare is a bug */
    *node = map && llx_cfg_kind_of(map) == LLX_CFG_MAP ? llx_cfg_get(map, key) : NULL;
    if (*node && llx_cfg_kind_of(*node) == LLX_CFG_NULL) *node = NULL;
    if (!*node && !(*spec)->default_value) {
        char loc[512] = "";
        if (map) llx_cfg_loc_str(map, loc, sizeof loc);
        return llx_errorf(err, LLX_ERR_INVALID, "%s%s: missing required key '%s' (%s)", loc, what, key,
                          (*spec)->doc ? (*spec)->doc : "no default");
    }
    return LLX_OK;
}

llx_status llx_schema_int(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                          int64_t *out, llx_error *err)
{
    const llx_cfg *node;
    const llx_key_spec *spec;
    LLX_TRY(lookup(map, what, keys, key, &node, &spec, err));
    if (node) return llx_cfg_as_int(node, key, out, err);
    *out = strtoll(spec->default_value, NULL, 10);
    return LLX_OK;
}

llx_status llx_schema_double(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                             double *out, llx_error *err)
{
    const llx_cfg *node;
    const llx_key_spec *spec;
    LLX_TRY(lookup(map, what, keys, key, &node, &spec, err));
    if (node) return llx_cfg_as_double(node, key, out, err);
    *out = strtod(spec->default_value, NULL);
    return LLX_OK;
}

llx_status llx_schema_bool(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                           bool *out, llx_error *err)
{
    const llx_cfg *node;
    const llx_key_spec *spec;
    LLX_TRY(lookup(map, what, keys, key, &node, &spec, err));
    if (node) return llx_cfg_as_bool(node, key, out, err);
    *out = strcmp(spec->default_value, "true") == 0;
    return LLX_OK;
}

llx_status llx_schema_str(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                          const char **out, llx_error *err)
{
    const llx_cfg *node;
    const llx_key_spec *spec;
    LLX_TRY(lookup(map, what, keys, key, &node, &spec, err));
    if (!node) {
        *out = spec->default_value;
        return LLX_OK;
    }
    if (llx_cfg_kind_of(node) != LLX_CFG_SCALAR) {
        char loc[512];
        return llx_errorf(err, LLX_ERR_INVALID, "%skey '%s': expected a string", llx_cfg_loc_str(node, loc, sizeof loc),
                          key);
    }
    *out = llx_cfg_str(node);
    return LLX_OK;
}

const char *llx_schema_not_a_choice(const char *value, const char *const *choices, char *buf, size_t cap)
{
    char list[512] = "";
    for (int i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", choices[i]);
    const char *near = llx_suggest(value, choices);
    snprintf(buf, cap, "'%s' is not one of %s%s%s%s", value, list, near ? " (did you mean '" : "", near ? near : "",
             near ? "'?)" : "");
    return buf;
}

llx_status llx_schema_choice(const llx_cfg *map, const char *what, const llx_key_spec *keys, const char *key,
                             const char *const *choices, int *index, llx_error *err)
{
    const char *s;
    LLX_TRY(llx_schema_str(map, what, keys, key, &s, err));
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) {
            *index = i;
            return LLX_OK;
        }
    char loc[512] = "", text[768];
    const llx_cfg *node = map ? llx_cfg_get(map, key) : NULL;
    if (node) llx_cfg_loc_str(node, loc, sizeof loc);
    return llx_errorf(err, LLX_ERR_INVALID, "%skey '%s' in %s: %s", loc, key, what,
                      llx_schema_not_a_choice(s, choices, text, sizeof text));
}
