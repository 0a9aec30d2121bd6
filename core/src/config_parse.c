/* config_parse.c: YAML text -> configuration tree (libyaml event API).
 *
 * Resolves anchors and aliases (an alias is a deep copy of the anchored node,
 * located at the alias) and YAML 1.1 merge keys (`<<: *a`, `<<: [*a, *b]`):
 * explicit keys win, earlier merged maps win over later ones. Plain `~`,
 * `null` and empty values are nulls; quoted scalars never are. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config_impl.h"

#define CFG_MAX_DEPTH 512
#define CFG_MAX_NODES 1000000 /* guards against alias expansion bombs */

typedef struct anchor {
    const char *name;
    llx_cfg *node;
    struct anchor *prev; /* the most recent definition is found first */
} anchor;

typedef struct parser {
    yaml_parser_t yp;
    cfg_arena *a;
    const char *file;
    int col_off;
    anchor *anchors;
    size_t budget; /* nodes left */
    int depth;
    llx_error *err;
} parser;

static llx_cfg_loc mark_loc(const parser *p, yaml_mark_t m)
{
    int col = (int)m.column + 1 + (m.line == 0 ? p->col_off : 0);
    return (llx_cfg_loc){.file = p->file, .line = (int)m.line + 1, .col = col};
}

__attribute__((format(printf, 3, 4))) static llx_status fail_at(parser *p, yaml_mark_t m,
                                                                  const char *fmt, ...)
{
    llx_cfg_loc l = mark_loc(p, m);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return llx_errorf(p->err, LLX_ERR_PARSE, "%s:%d:%d: %s", l.file, l.line, l.col, msg);
}

static llx_status syntax_error(parser *p)
{
    const yaml_parser_t *y = &p->yp;
    if (y->error == YAML_MEMORY_ERROR) return cfg_nomem(p->err);
    const char *problem = y->problem ? y->problem : "unknown error";
    if (y->error == YAML_READER_ERROR)
        return llx_errorf(p->err, LLX_ERR_PARSE, "%s: YAML read error: %s at byte %zu", p->file,
                          problem, y->problem_offset);
    llx_cfg_loc l = mark_loc(p, y->problem_mark);
    if (!y->context)
        return llx_errorf(p->err, LLX_ERR_PARSE, "%s:%d:%d: YAML syntax error: %s", l.file, l.line,
                          l.col, problem);
    return llx_errorf(p->err, LLX_ERR_PARSE, "%s:%d:%d: YAML syntax error: %s (%s at line %d)",
                      l.file, l.line, l.col, problem, y->context, (int)y->context_mark.line + 1);
}

static llx_status next_event(parser *p, yaml_event_t *ev)
{
    return yaml_parser_parse(&p->yp, ev) ? LLX_OK : syntax_error(p);
}

static llx_status add_anchor(parser *p, const yaml_char_t *name, llx_cfg *node)
{
    if (!name) return LLX_OK;
    anchor *an = cfg_alloc(p->a, sizeof *an);
    if (!an || !(an->name = cfg_strdup(p->a, (const char *)name))) return cfg_nomem(p->err);
    an->node = node;
    an->prev = p->anchors;
    p->anchors = an;
    return LLX_OK;
}

static llx_status parse_node(parser *p, yaml_event_t *ev, llx_cfg **out);

static llx_status parse_alias(parser *p, yaml_event_t *ev, llx_cfg **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *an = p->anchors;
    while (an && strcmp(an->name, name)) an = an->prev;
    if (!an) return fail_at(p, ev->start_mark, "unknown alias '*%s'", name);
    *out = cfg_copy(p->a, an->node, &p->budget);
    if (!*out) {
        if (p->budget) return cfg_nomem(p->err);
        return fail_at(p, ev->start_mark, "document too large after expanding alias '*%s'", name);
    }
    (*out)->loc = mark_loc(p, ev->start_mark);
    return LLX_OK;
}

static llx_status parse_scalar(parser *p, yaml_event_t *ev, llx_cfg **out)
{
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                 !(tag && !strcmp(tag, YAML_STR_TAG));
    llx_cfg_loc loc = mark_loc(p, ev->start_mark);
    bool null = plain && cfg_is_null_text(text);
    *out = cfg_new(p->a, null ? LLX_CFG_NULL : LLX_CFG_SCALAR, loc);
    if (!*out) return cfg_nomem(p->err);
    (*out)->quoted = !plain;
    if (!null && !((*out)->str = cfg_strndup(p->a, text, ev->data.scalar.length)))
        return cfg_nomem(p->err);
    return add_anchor(p, ev->data.scalar.anchor, *out);
}

static llx_status parse_seq(parser *p, llx_cfg *seq)
{
    for (;;) {
        yaml_event_t ev;
        LLX_TRY(next_event(p, &ev));
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return LLX_OK;
        }
        llx_cfg *item = NULL;
        llx_status st = parse_node(p, &ev, &item);
        yaml_event_delete(&ev);
        if (st) return st;
        if (!cfg_push(p->a, seq, NULL, item->loc, item)) return cfg_nomem(p->err);
    }
}

/* The maps a merge key brings in: a mapping or a list of mappings. */
static llx_status check_merge(parser *p, const llx_cfg *v, yaml_mark_t m)
{
    bool ok = v->kind == LLX_CFG_MAP || v->kind == LLX_CFG_SEQ;
    for (size_t i = 0; ok && v->kind == LLX_CFG_SEQ && i < v->n; i++)
        ok = v->items[i].val->kind == LLX_CFG_MAP;
    if (ok) return LLX_OK;
    return fail_at(p, m, "merge key '<<' expects a mapping or a list of mappings");
}

/* Inserts at *pos the keys of src that map does not have yet. */
static bool merge_one(parser *p, llx_cfg *map, const llx_cfg *src, size_t *pos)
{
    for (size_t i = 0; i < src->n; i++) {
        const cfg_entry *e = &src->items[i];
        if (cfg_find(map, e->key) >= 0) continue;
        if (!cfg_insert(p->a, map, (*pos)++, e->key, e->key_loc, e->val)) return false;
    }
    return true;
}

static llx_status apply_merges(parser *p, llx_cfg *map, llx_cfg *merges, size_t pos)
{
    for (size_t i = 0; merges && i < merges->n; i++) {
        const llx_cfg *v = merges->items[i].val;
        bool ok = true;
        if (v->kind == LLX_CFG_MAP) ok = merge_one(p, map, v, &pos);
        for (size_t j = 0; ok && v->kind == LLX_CFG_SEQ && j < v->n; j++)
            ok = merge_one(p, map, v->items[j].val, &pos);
        if (!ok) return cfg_nomem(p->err);
    }
    return LLX_OK;
}

/* One key: value pair; merge values go to *merges. */
static llx_status parse_pair(parser *p, yaml_event_t *kev, llx_cfg *map, llx_cfg **merges,
                             size_t *merge_pos)
{
    if (kev->type != YAML_SCALAR_EVENT)
        return fail_at(p, kev->start_mark, "only scalar mapping keys are supported");
    const char *key = (const char *)kev->data.scalar.value;
    bool merge = kev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(key, "<<");
    if (!merge && cfg_find(map, key) >= 0)
        return fail_at(p, kev->start_mark, "duplicate key '%s'", key);
    yaml_event_t ev;
    llx_cfg *val = NULL;
    LLX_TRY(next_event(p, &ev));
    llx_status st = parse_node(p, &ev, &val);
    yaml_event_delete(&ev);
    if (st) return st;
    if (merge) {
        LLX_TRY(check_merge(p, val, kev->start_mark));
        if (!*merges) *merges = cfg_new(p->a, LLX_CFG_SEQ, val->loc);
        if (!*merges || !cfg_push(p->a, *merges, NULL, val->loc, val)) return cfg_nomem(p->err);
        if ((*merges)->n == 1) *merge_pos = map->n;
        return LLX_OK;
    }
    const char *k = cfg_strndup(p->a, key, kev->data.scalar.length);
    if (!k || !cfg_push(p->a, map, k, mark_loc(p, kev->start_mark), val)) return cfg_nomem(p->err);
    return LLX_OK;
}

static llx_status parse_map(parser *p, llx_cfg *map)
{
    llx_cfg *merges = NULL;
    size_t merge_pos = 0;
    for (;;) {
        yaml_event_t ev;
        LLX_TRY(next_event(p, &ev));
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return apply_merges(p, map, merges, merge_pos);
        }
        llx_status st = parse_pair(p, &ev, map, &merges, &merge_pos);
        yaml_event_delete(&ev);
        if (st) return st;
    }
}

static llx_status parse_node(parser *p, yaml_event_t *ev, llx_cfg **out)
{
    if (ev->type == YAML_ALIAS_EVENT) return parse_alias(p, ev, out);
    if (p->budget-- == 0)
        return fail_at(p, ev->start_mark, "document has too many nodes");
    if (ev->type == YAML_SCALAR_EVENT) return parse_scalar(p, ev, out);
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (!is_map && ev->type != YAML_SEQUENCE_START_EVENT)
        return fail_at(p, ev->start_mark, "unexpected YAML event");
    if (++p->depth > CFG_MAX_DEPTH) return fail_at(p, ev->start_mark, "nested too deeply");
    *out = cfg_new(p->a, is_map ? LLX_CFG_MAP : LLX_CFG_SEQ, mark_loc(p, ev->start_mark));
    if (!*out) return cfg_nomem(p->err);
    llx_status st = is_map ? parse_map(p, *out) : parse_seq(p, *out);
    p->depth--;
    if (st) return st;
    const yaml_char_t *an = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    return add_anchor(p, an, *out);
}

/* Expects an event of the given type (stream/document framing). */
static llx_status expect(parser *p, yaml_event_type_t type, yaml_event_t *ev)
{
    LLX_TRY(next_event(p, ev));
    if (ev->type == type) return LLX_OK;
    yaml_mark_t m = ev->start_mark;
    yaml_event_delete(ev);
    return fail_at(p, m, "only one YAML document per file is supported");
}

static llx_status parse_stream(parser *p, llx_cfg **out)
{
    yaml_event_t ev;
    LLX_TRY(expect(p, YAML_STREAM_START_EVENT, &ev));
    yaml_event_delete(&ev);
    LLX_TRY(next_event(p, &ev));
    yaml_event_type_t type = ev.type;
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT) return LLX_OK; /* empty */
    LLX_TRY(next_event(p, &ev));
    llx_status st = parse_node(p, &ev, out);
    yaml_event_delete(&ev);
    if (st) return st;
    LLX_TRY(expect(p, YAML_DOCUMENT_END_EVENT, &ev));
    yaml_event_delete(&ev);
    LLX_TRY(expect(p, YAML_STREAM_END_EVENT, &ev));
    yaml_event_delete(&ev);
    return LLX_OK;
}

llx_status cfg_parse_text(cfg_arena *a, const char *file, const char *text, size_t len,
                          int col_off, llx_cfg **out, llx_error *err)
{
    parser p = {.a = a, .col_off = col_off, .budget = CFG_MAX_NODES, .err = err};
    *out = NULL;
    if (!(p.file = cfg_strdup(a, file))) return cfg_nomem(err);
    if (!yaml_parser_initialize(&p.yp)) return cfg_nomem(err);
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    llx_status st = parse_stream(&p, out);
    yaml_parser_delete(&p.yp);
    if (st) *out = NULL;
    return st;
}
