/* config.c: the configuration tree: arena, nodes, accessors, typed reads,
 * locations and "did you mean" suggestions. Loading lives in config_load.c. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_impl.h"

/* ---- arena: a list of blocks, bump-allocated ---- */

#define CFG_BLOCK_SIZE 16384

struct cfg_block {
    cfg_block *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
};

void *cfg_alloc(cfg_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2) return NULL; /* the rounding and the block header below cannot overflow */
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    cfg_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > CFG_BLOCK_SIZE / 2 ? n : CFG_BLOCK_SIZE;
        b = malloc(sizeof(cfg_block) + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        if (cap == n && a->head) { /* big one: keep the current block in front */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *cfg_strndup(cfg_arena *a, const char *s, size_t n)
{
    char *d = cfg_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *cfg_strdup(cfg_arena *a, const char *s) { return cfg_strndup(a, s, strlen(s)); }

void cfg_arena_free(cfg_arena *a)
{
    while (a->head) {
        cfg_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

llx_status cfg_nomem(llx_error *err) { return llx_errorf(err, LLX_ERR_NOMEM, "out of memory"); }

/* ---- nodes ---- */

llx_cfg *cfg_new(cfg_arena *a, llx_cfg_kind kind, llx_cfg_loc loc)
{
    llx_cfg *c = cfg_alloc(a, sizeof *c);
    if (c) {
        c->kind = kind;
        c->loc = loc;
    }
    return c;
}

llx_cfg *cfg_new_scalar(cfg_arena *a, const char *text, llx_cfg_loc loc)
{
    llx_cfg *c = cfg_new(a, LLX_CFG_SCALAR, loc);
    if (c && !(c->str = cfg_strdup(a, text))) return NULL;
    return c;
}

bool cfg_insert(cfg_arena *a, llx_cfg *c, size_t pos, const char *key, llx_cfg_loc key_loc,
                llx_cfg *val)
{
    if (c->n == c->cap) { /* grow: the old array stays in the arena */
        size_t cap = c->cap ? 2 * c->cap : 4;
        cfg_entry *items = cfg_alloc(a, cap * sizeof *items);
        if (!items) return false;
        if (c->n) memcpy(items, c->items, c->n * sizeof *items);
        c->items = items;
        c->cap = cap;
    }
    memmove(c->items + pos + 1, c->items + pos, (c->n - pos) * sizeof *c->items);
    c->items[pos] = (cfg_entry){.key = key, .key_loc = key_loc, .val = val};
    c->n++;
    return true;
}

bool cfg_push(cfg_arena *a, llx_cfg *c, const char *key, llx_cfg_loc key_loc, llx_cfg *val)
{
    return cfg_insert(a, c, c->n, key, key_loc, val);
}

void cfg_remove_at(llx_cfg *map, size_t i)
{
    memmove(map->items + i, map->items + i + 1, (map->n - i - 1) * sizeof *map->items);
    map->n--;
}

long cfg_find(const llx_cfg *map, const char *key)
{
    if (!map || map->kind != LLX_CFG_MAP) return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[i].key, key) == 0) return (long)i;
    return -1;
}

llx_cfg *cfg_copy(cfg_arena *a, const llx_cfg *c, size_t *budget)
{
    if (budget && (*budget)-- == 0) return NULL;
    llx_cfg *d = cfg_new(a, c->kind, c->loc);
    if (!d) return NULL;
    d->quoted = c->quoted;
    d->str = c->str; /* strings are never modified in place */
    for (size_t i = 0; i < c->n; i++) {
        llx_cfg *v = cfg_copy(a, c->items[i].val, budget);
        if (!v || !cfg_push(a, d, c->items[i].key, c->items[i].key_loc, v)) return NULL;
    }
    return d;
}

bool cfg_is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

bool cfg_parse_int(const char *s, long long *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!isdigit((unsigned char)*p)) return false;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p)) return false;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno == 0;
}

bool cfg_parse_double(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0)) return false;
    *out = v;
    return true;
}

_Static_assert(sizeof(long long) == sizeof(int64_t), "cfg_parse_int reads 64-bit integers");

/* ---- public accessors ---- */

llx_cfg_kind llx_cfg_kind_of(const llx_cfg *c) { return c ? c->kind : LLX_CFG_NULL; }

llx_cfg_loc llx_cfg_where(const llx_cfg *c)
{
    return c ? c->loc : (llx_cfg_loc){.file = NULL, .line = 0, .col = 0};
}

const char *llx_cfg_str(const llx_cfg *c)
{
    return c && c->kind == LLX_CFG_SCALAR ? c->str : NULL;
}

const llx_cfg *llx_cfg_get(const llx_cfg *map, const char *key)
{
    long i = cfg_find(map, key);
    return i < 0 ? NULL : map->items[i].val;
}

size_t llx_cfg_len(const llx_cfg *c)
{
    return c && (c->kind == LLX_CFG_MAP || c->kind == LLX_CFG_SEQ) ? c->n : 0;
}

const llx_cfg *llx_cfg_at(const llx_cfg *c, size_t i)
{
    return i < llx_cfg_len(c) ? c->items[i].val : NULL;
}

const char *llx_cfg_key_at(const llx_cfg *map, size_t i)
{
    return map && map->kind == LLX_CFG_MAP && i < map->n ? map->items[i].key : NULL;
}

llx_cfg_loc llx_cfg_key_where(const llx_cfg *map, size_t i)
{
    if (map && map->kind == LLX_CFG_MAP && i < map->n) return map->items[i].key_loc;
    return (llx_cfg_loc){.file = NULL, .line = 0, .col = 0};
}

char *llx_cfg_loc_str(const llx_cfg *c, char *buf, size_t cap)
{
    if (!cap) return buf;
    buf[0] = '\0';
    if (c && c->loc.file) snprintf(buf, cap, "%s:%d:%d: ", c->loc.file, c->loc.line, c->loc.col);
    return buf;
}

/* ---- typed reads ---- */

/* Fails with "loc: key 'what': expected <type>, got <what c is>". */
static llx_status type_error(const llx_cfg *c, const char *what, const char *type, llx_error *err)
{
    char loc[512], key[300] = "";
    if (what) snprintf(key, sizeof key, "key '%s': ", what);
    llx_cfg_loc_str(c, loc, sizeof loc);
    if (!c) return llx_errorf(err, LLX_ERR_INVALID, "%sexpected %s, got nothing", key, type);
    if (c->kind == LLX_CFG_SCALAR)
        return llx_errorf(err, LLX_ERR_INVALID, "%s%sexpected %s, got '%s'", loc, key, type,
                          c->str);
    const char *got = c->kind == LLX_CFG_MAP   ? "a mapping"
                      : c->kind == LLX_CFG_SEQ ? "a sequence"
                                               : "null";
    return llx_errorf(err, LLX_ERR_INVALID, "%s%sexpected %s, got %s", loc, key, type, got);
}

llx_status llx_cfg_as_int(const llx_cfg *c, const char *what, int64_t *out, llx_error *err)
{
    long long v;
    if (!c || c->kind != LLX_CFG_SCALAR || !cfg_parse_int(c->str, &v))
        return type_error(c, what, "an integer", err);
    *out = (int64_t)v;
    return LLX_OK;
}

llx_status llx_cfg_as_double(const llx_cfg *c, const char *what, double *out, llx_error *err)
{
    if (!c || c->kind != LLX_CFG_SCALAR || !cfg_parse_double(c->str, out))
        return type_error(c, what, "a number", err);
    return LLX_OK;
}

llx_status llx_cfg_as_bool(const llx_cfg *c, const char *what, bool *out, llx_error *err)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (c && c->kind == LLX_CFG_SCALAR) {
        for (int i = 0; i < 3; i++) {
            bool t = !strcasecmp(c->str, yes[i]), f = !strcasecmp(c->str, no[i]);
            if (t || f) {
                *out = t;
                return LLX_OK;
            }
        }
    }
    return type_error(c, what, "a boolean (true/false)", err);
}

/* ---- suggestions ---- */

/* Edit distance counting an adjacent swap as one edit ("widht" -> "width"):
 * optimal string alignment over three rolling rows. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *rows = malloc(3 * (lb + 1) * sizeof *rows);
    if (!rows) return (size_t)-1;
    size_t *prev2 = rows, *prev = rows + lb + 1, *cur = rows + 2 * (lb + 1);
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(rows);
    return d;
}

const char *llx_suggest(const char *word, const char *const *candidates)
{
    if (!word || !candidates) return NULL;
    size_t limit = strlen(word) / 3 > 1 ? strlen(word) / 3 : 1;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; candidates[i]; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
