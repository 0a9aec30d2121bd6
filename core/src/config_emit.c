/* config_emit.c: the resolved document as block YAML (libyaml emitter).
 *
 * The text parses back to the same tree: scalars that would read as null
 * (or as a merge key) are quoted, and "${" is written "$${" so that loading
 * the text again does not substitute a second time. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_impl.h"

typedef struct outbuf {
    char *s;
    size_t n, cap;
    bool failed;
} outbuf;

static int write_out(void *data, unsigned char *buf, size_t size)
{
    outbuf *o = data;
    if (o->n + size + 1 > o->cap) {
        size_t cap = (o->n + size + 1) * 2;
        char *p = realloc(o->s, cap);
        if (!p) {
            o->failed = true;
            return 0;
        }
        o->s = p;
        o->cap = cap;
    }
    memcpy(o->s + o->n, buf, size);
    o->n += size;
    o->s[o->n] = '\0';
    return 1;
}

/* text with every "${" written "$${" (malloc'd). */
static char *escape_dollars(const char *text)
{
    size_t n = strlen(text), extra = 0;
    for (const char *p = text; (p = strstr(p, "${")); p += 2) extra++;
    char *out = malloc(n + extra + 1), *q = out;
    if (!out) return NULL;
    for (const char *p = text; *p; p++) {
        if (p[0] == '$' && p[1] == '{') *q++ = '$';
        *q++ = *p;
    }
    *q = '\0';
    return out;
}

static bool emit_scalar(yaml_emitter_t *em, const char *text, bool is_key)
{
    char *esc = escape_dollars(text);
    if (!esc) return false;
    bool quote = cfg_is_null_text(esc) || (is_key && !strcmp(esc, "<<"));
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)esc, (int)strlen(esc),
                                          1, 1,
                                          quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                : YAML_ANY_SCALAR_STYLE);
    free(esc);
    return ok && yaml_emitter_emit(em, &ev);
}

static bool emit_node(yaml_emitter_t *em, const llx_cfg *c)
{
    yaml_event_t ev;
    if (c->kind == LLX_CFG_NULL)
        return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)"null", 4, 1, 1,
                                            YAML_PLAIN_SCALAR_STYLE) &&
               yaml_emitter_emit(em, &ev);
    if (c->kind == LLX_CFG_SCALAR) return emit_scalar(em, c->str, false);
    bool map = c->kind == LLX_CFG_MAP;
    int ok = map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                       YAML_BLOCK_MAPPING_STYLE)
                 : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                        YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok || !yaml_emitter_emit(em, &ev)) return false;
    for (size_t i = 0; i < c->n; i++) {
        if (map && !emit_scalar(em, c->items[i].key, true)) return false;
        if (!emit_node(em, c->items[i].val)) return false;
    }
    ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev);
}

static bool emit_doc(yaml_emitter_t *em, const llx_cfg *root)
{
    yaml_event_t ev;
    return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
           yaml_emitter_emit(em, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
           yaml_emitter_emit(em, &ev) && emit_node(em, root) &&
           yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(em, &ev) &&
           yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

char *llx_doc_to_yaml(const llx_doc *d)
{
    if (!d || !d->root) return NULL;
    yaml_emitter_t em;
    outbuf o = {0};
    if (!yaml_emitter_initialize(&em)) return NULL;
    yaml_emitter_set_output(&em, write_out, &o);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_indent(&em, 2);
    bool ok = emit_doc(&em, d->root) && yaml_emitter_flush(&em) && !o.failed;
    yaml_emitter_delete(&em);
    if (!ok) {
        free(o.s);
        return NULL;
    }
    return o.s;
}
