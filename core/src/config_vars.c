/* config_vars.c: ${...} substitution from the top-level `vars:` map.
 *
 * A scalar that is exactly "${name}" (or "${name.key.0}") becomes a deep copy
 * of that node, of any kind, located at the use site. "${expr}" with
 * arithmetic (+ - * / // % parentheses, unary minus; ints stay ints except
 * `/`, which is float division) becomes a number scalar. Inside a longer
 * string ${...} is replaced by text; "$${" writes a literal "${". Variables
 * may use other variables (cycles are errors); vars: keeps resolved values.
 * Quoted scalars are substituted too; map keys never are. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

enum { VAR_TODO, VAR_ACTIVE, VAR_DONE };

typedef struct subst {
    cfg_arena *a;
    llx_cfg *vars;        /* NULL when the document has none */
    unsigned char *state; /* per variable */
    size_t *stack;        /* variables being resolved, for cycle messages */
    size_t depth;
    size_t budget; /* nodes that copies may still add */
    llx_error *err;
} subst;

typedef struct num {
    bool is_int;
    long long i;
    double d;
} num;

typedef struct expr {
    subst *s;
    const llx_cfg *at;   /* the scalar being substituted */
    const char *src;     /* "${...}" for messages */
    int src_len;
    const char *p, *end; /* cursor inside the braces */
} expr;

static llx_status subst_node(subst *s, llx_cfg **slot);

/* "loc: <msg> in '${...}'<tail>". */
__attribute__((format(printf, 3, 4))) static llx_status expr_fail(const expr *e, const char *tail,
                                                                    const char *fmt, ...)
{
    char loc[512], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return llx_errorf(e->s->err, LLX_ERR_INVALID, "%s%s in '%.*s'%s",
                      llx_cfg_loc_str(e->at, loc, sizeof loc), msg, e->src_len, e->src,
                      tail ? tail : "");
}

/* ---- variables ---- */

static llx_status cycle_error(subst *s, size_t idx, const llx_cfg *at)
{
    char loc[512], chain[1024];
    size_t n = 0, k = 0;
    while (s->stack[k] != idx) k++;
    for (; k < s->depth && n < sizeof chain; k++)
        n += (size_t)snprintf(chain + n, sizeof chain - n, "%s -> ",
                              s->vars->items[s->stack[k]].key);
    if (n < sizeof chain) snprintf(chain + n, sizeof chain - n, "%s", s->vars->items[idx].key);
    return llx_errorf(s->err, LLX_ERR_INVALID, "%svariable cycle: %s",
                      llx_cfg_loc_str(at, loc, sizeof loc), chain);
}

static llx_status resolve_var(subst *s, size_t idx, const llx_cfg *at)
{
    if (s->state[idx] == VAR_DONE) return LLX_OK;
    if (s->state[idx] == VAR_ACTIVE) return cycle_error(s, idx, at);
    s->state[idx] = VAR_ACTIVE;
    s->stack[s->depth++] = idx;
    LLX_TRY(subst_node(s, &s->vars->items[idx].val));
    s->depth--;
    s->state[idx] = VAR_DONE;
    return LLX_OK;
}

static const char **var_names(const subst *s)
{
    size_t n = s->vars ? s->vars->n : 0;
    const char **names = malloc((n + 1) * sizeof *names);
    if (!names) return NULL;
    for (size_t i = 0; i < n; i++) names[i] = s->vars->items[i].key;
    names[n] = NULL;
    return names;
}

static llx_status unknown_var(const expr *e, const char *name)
{
    const char **names = var_names(e->s);
    const char *hint = names ? llx_suggest(name, names) : NULL;
    char tail[300] = "";
    if (hint) snprintf(tail, sizeof tail, " (did you mean '%s'?)", hint);
    free(names);
    return expr_fail(e, tail, "unknown variable '%s'", name);
}

/* ${env.NAME}: the environment variable NAME, or "" when it is not set (a dataset
 * root left empty is reported by the dataset, with the variable to set). */
static llx_status lookup_env(expr *e, const char *name, const llx_cfg **out)
{
    const char *v = getenv(name);
    llx_cfg *c = cfg_new_scalar(e->s->a, v ? v : "", llx_cfg_where(e->at));
    if (!c) return cfg_nomem(e->s->err);
    *out = c;
    return LLX_OK;
}

/* Looks up "name.key.0" (n chars) among the resolved variables, or "env.NAME". */
static llx_status lookup(expr *e, const char *path, size_t n, const llx_cfg **out)
{
    char buf[256];
    if (n >= sizeof buf) return expr_fail(e, NULL, "variable name too long");
    memcpy(buf, path, n);
    buf[n] = '\0';
    if (strncmp(buf, "env.", 4) == 0) return lookup_env(e, buf + 4, out);
    char *save = NULL, *part = strtok_r(buf, ".", &save);
    long idx = cfg_find(e->s->vars, part);
    if (idx < 0) return unknown_var(e, part);
    LLX_TRY(resolve_var(e->s, (size_t)idx, e->at));
    const llx_cfg *c = e->s->vars->items[idx].val;
    const char *parent = part;
    while ((part = strtok_r(NULL, ".", &save))) {
        long long k;
        const llx_cfg *next = llx_cfg_get(c, part);
        if (c->kind == LLX_CFG_SEQ && cfg_parse_int(part, &k) && k >= 0) next = llx_cfg_at(c, k);
        if (!next) return expr_fail(e, NULL, "'%s' has no key '%s'", parent, part);
        c = next;
        parent = part;
    }
    *out = c;
    return LLX_OK;
}

/* ---- arithmetic ---- */

/* What a non-number node is, for messages. */
static const char *describe(const llx_cfg *c)
{
    switch (c->kind) {
    case LLX_CFG_MAP: return "a mapping";
    case LLX_CFG_SEQ: return "a sequence";
    case LLX_CFG_NULL: return "null";
    default: return c->str;
    }
}

static double as_double(num v) { return v.is_int ? (double)v.i : v.d; }

static llx_status var_number(expr *e, const char *name, size_t n, num *out)
{
    const llx_cfg *c;
    LLX_TRY(lookup(e, name, n, &c));
    if (c->kind == LLX_CFG_SCALAR && cfg_parse_int(c->str, &out->i)) {
        out->is_int = true;
        return LLX_OK;
    }
    if (c->kind == LLX_CFG_SCALAR && cfg_parse_double(c->str, &out->d)) {
        out->is_int = false;
        return LLX_OK;
    }
    return expr_fail(e, NULL, "variable '%.*s' is not a number ('%s')", (int)n, name,
                     describe(c));
}

static llx_status int_op(expr *e, char op, long long a, long long b, long long *r)
{
    bool ovf = false;
    if ((op == 'f' || op == '%') && b == 0) return expr_fail(e, NULL, "division by zero");
    switch (op) {
    case '+': ovf = __builtin_add_overflow(a, b, r); break;
    case '-': ovf = __builtin_sub_overflow(a, b, r); break;
    case '*': ovf = __builtin_mul_overflow(a, b, r); break;
    case 'f': /* floor division */
        ovf = b == -1 && a == LLONG_MIN;
        *r = ovf ? 0 : a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
        break;
    default: /* '%': floor modulo, sign of the divisor */
        *r = b == -1 ? 0 : a % b;
        if (*r != 0 && ((*r < 0) != (b < 0))) *r += b;
    }
    return ovf ? expr_fail(e, NULL, "integer overflow") : LLX_OK;
}

static llx_status apply_op(expr *e, char op, num a, num b, num *r)
{
    if (a.is_int && b.is_int && op != '/') {
        r->is_int = true;
        return int_op(e, op, a.i, b.i, &r->i);
    }
    double x = as_double(a), y = as_double(b);
    if ((op == '/' || op == 'f' || op == '%') && y == 0)
        return expr_fail(e, NULL, "division by zero");
    r->is_int = false;
    switch (op) {
    case '+': r->d = x + y; break;
    case '-': r->d = x - y; break;
    case '*': r->d = x * y; break;
    case '/': r->d = x / y; break;
    case 'f': r->d = floor(x / y); break;
    default: r->d = x - y * floor(x / y); /* '%': floor modulo */
    }
    return isfinite(r->d) ? LLX_OK : expr_fail(e, NULL, "result is not a finite number");
}

static void skip_ws(expr *e)
{
    while (e->p < e->end && isspace((unsigned char)*e->p)) e->p++;
}

static bool is_name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

static llx_status parse_number(expr *e, num *out)
{
    const char *s = e->p;
    bool is_int = true;
    while (e->p < e->end && (isdigit((unsigned char)*e->p) || *e->p == '.')) {
        is_int &= *e->p != '.';
        e->p++;
    }
    if (e->p < e->end && (*e->p == 'e' || *e->p == 'E')) {
        is_int = false;
        e->p++;
        if (e->p < e->end && (*e->p == '+' || *e->p == '-')) e->p++;
        while (e->p < e->end && isdigit((unsigned char)*e->p)) e->p++;
    }
    char buf[64];
    int n = (int)(e->p - s);
    snprintf(buf, sizeof buf, "%.*s", n, s);
    out->is_int = is_int;
    bool ok = n < (int)sizeof buf &&
              (is_int ? cfg_parse_int(buf, &out->i) : cfg_parse_double(buf, &out->d));
    return ok ? LLX_OK : expr_fail(e, NULL, "bad number '%.*s'", n, s);
}

static llx_status parse_sum(expr *e, num *out);

static llx_status parse_primary(expr *e, num *out)
{
    skip_ws(e);
    if (e->p < e->end && *e->p == '(') {
        e->p++;
        LLX_TRY(parse_sum(e, out));
        skip_ws(e);
        if (e->p == e->end || *e->p != ')') return expr_fail(e, NULL, "missing ')'");
        e->p++;
        return LLX_OK;
    }
    if (e->p < e->end && (isdigit((unsigned char)*e->p) || *e->p == '.'))
        return parse_number(e, out);
    if (e->p < e->end && is_name_start(*e->p)) {
        const char *s = e->p;
        while (e->p < e->end && is_name_char(*e->p)) e->p++;
        return var_number(e, s, (size_t)(e->p - s), out);
    }
    if (e->p == e->end) return expr_fail(e, NULL, "expression ends too early");
    return expr_fail(e, NULL, "unexpected '%c'", *e->p);
}

static llx_status parse_unary(expr *e, num *out)
{
    skip_ws(e);
    if (e->p < e->end && (*e->p == '-' || *e->p == '+')) {
        char sign = *e->p++;
        LLX_TRY(parse_unary(e, out));
        if (sign == '+') return LLX_OK;
        num zero = {.is_int = true, .i = 0};
        return apply_op(e, '-', zero, *out, out);
    }
    return parse_primary(e, out);
}

static llx_status parse_product(expr *e, num *out)
{
    LLX_TRY(parse_unary(e, out));
    for (;;) {
        skip_ws(e);
        if (e->p == e->end || !strchr("*/%", *e->p)) return LLX_OK;
        char op = *e->p++;
        if (op == '/' && e->p < e->end && *e->p == '/') {
            op = 'f';
            e->p++;
        }
        num rhs;
        LLX_TRY(parse_unary(e, &rhs));
        LLX_TRY(apply_op(e, op, *out, rhs, out));
    }
}

static llx_status parse_sum(expr *e, num *out)
{
    LLX_TRY(parse_product(e, out));
    for (;;) {
        skip_ws(e);
        if (e->p == e->end || (*e->p != '+' && *e->p != '-')) return LLX_OK;
        char op = *e->p++;
        num rhs;
        LLX_TRY(parse_product(e, &rhs));
        LLX_TRY(apply_op(e, op, *out, rhs, out));
    }
}

/* Evaluates the inside of src ("${...}"): a plain reference gives *node,
 * anything else a number in *val. */
static llx_status eval(subst *s, const llx_cfg *at, const char *src, size_t len,
                       const llx_cfg **node, num *val)
{
    expr e = {.s = s, .at = at, .src = src, .src_len = (int)len, .p = src + 2,
              .end = src + len - 1};
    *node = NULL;
    skip_ws(&e);
    const char *end = e.end;
    while (end > e.p && isspace((unsigned char)end[-1])) end--;
    const char *q = e.p;
    if (q < end && is_name_start(*q)) {
        while (q < end && is_name_char(*q)) q++;
        if (q == end) return lookup(&e, e.p, (size_t)(end - e.p), node);
    }
    LLX_TRY(parse_sum(&e, val));
    skip_ws(&e);
    if (e.p != e.end) return expr_fail(&e, NULL, "unexpected '%c'", *e.p);
    return LLX_OK;
}

static void format_num(num v, char *buf, size_t cap)
{
    if (v.is_int)
        snprintf(buf, cap, "%lld", v.i);
    else
        snprintf(buf, cap, "%.15g", v.d == 0 ? 0.0 : v.d);
}

/* ---- substitution ---- */

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static bool sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) return false;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return true;
}

/* Appends the text of one ${...} inside a longer string. */
static llx_status subst_piece(subst *s, const llx_cfg *at, const char *src, size_t len, strbuf *b)
{
    const llx_cfg *node;
    num v;
    char text[64];
    LLX_TRY(eval(s, at, src, len, &node, &v));
    if (node && node->kind != LLX_CFG_SCALAR) {
        expr e = {.s = s, .at = at, .src = src, .src_len = (int)len};
        return expr_fail(&e, NULL, "%s inside a string (only a whole value '${name}' can be one)",
                         describe(node));
    }
    if (!node) format_num(v, text, sizeof text);
    const char *t = node ? node->str : text;
    return sb_add(b, t, strlen(t)) ? LLX_OK : cfg_nomem(s->err);
}

static llx_status subst_text(subst *s, const llx_cfg *c, strbuf *b)
{
    const char *p = c->str;
    while (*p) {
        if (!strncmp(p, "$${", 3)) { /* escaped: a literal "${" */
            if (!sb_add(b, "${", 2)) return cfg_nomem(s->err);
            p += 3;
            continue;
        }
        if (strncmp(p, "${", 2)) {
            if (!sb_add(b, p++, 1)) return cfg_nomem(s->err);
            continue;
        }
        const char *close = strchr(p + 2, '}');
        if (!close) {
            expr e = {.s = s, .at = c, .src = p, .src_len = (int)strlen(p)};
            return expr_fail(&e, NULL, "unterminated '${'");
        }
        LLX_TRY(subst_piece(s, c, p, (size_t)(close - p) + 1, b));
        p = close + 1;
    }
    return LLX_OK;
}

static llx_status subst_scalar(subst *s, llx_cfg **slot)
{
    llx_cfg *c = *slot;
    if (!strstr(c->str, "${")) return LLX_OK;
    size_t len = strlen(c->str);
    if (!strncmp(c->str, "${", 2) && strchr(c->str, '}') == c->str + len - 1) {
        const llx_cfg *node;
        num v;
        char text[64];
        LLX_TRY(eval(s, c, c->str, len, &node, &v));
        if (!node) format_num(v, text, sizeof text);
        *slot = node ? cfg_copy(s->a, node, &s->budget) : cfg_new_scalar(s->a, text, c->loc);
        if (!*slot && s->budget == 0) {
            char loc[512];
            return llx_errorf(s->err, LLX_ERR_INVALID,
                              "%sdocument too large after substituting '%s'",
                              llx_cfg_loc_str(c, loc, sizeof loc), c->str);
        }
        if (!*slot) return cfg_nomem(s->err);
        (*slot)->loc = c->loc;
        return LLX_OK;
    }
    strbuf b = {0};
    llx_status st = subst_text(s, c, &b);
    if (st == LLX_OK) {
        *slot = cfg_new_scalar(s->a, b.s ? b.s : "", c->loc);
        if (*slot) (*slot)->quoted = true;
        else st = cfg_nomem(s->err);
    }
    free(b.s);
    return st;
}

static llx_status subst_node(subst *s, llx_cfg **slot)
{
    llx_cfg *c = *slot;
    if (c->kind == LLX_CFG_SCALAR) return subst_scalar(s, slot);
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].val != s->vars) LLX_TRY(subst_node(s, &c->items[i].val));
    return LLX_OK;
}

llx_status cfg_substitute(cfg_arena *a, llx_cfg *root, llx_error *err)
{
    subst s = {.a = a, .budget = 1000000, .err = err};
    s.vars = (llx_cfg *)llx_cfg_get(root, "vars");
    if (s.vars && s.vars->kind == LLX_CFG_NULL) s.vars = NULL;
    if (s.vars && s.vars->kind != LLX_CFG_MAP) {
        char loc[512];
        return llx_errorf(err, LLX_ERR_INVALID, "%s'vars' must be a mapping of variables",
                          llx_cfg_loc_str(s.vars, loc, sizeof loc));
    }
    size_t n = s.vars ? s.vars->n : 0;
    s.state = calloc(n + 1, 1);
    s.stack = calloc(n + 1, sizeof *s.stack);
    llx_status st = s.state && s.stack ? LLX_OK : cfg_nomem(err);
    for (size_t i = 0; st == LLX_OK && i < n; i++) st = resolve_var(&s, i, s.vars->items[i].val);
    if (st == LLX_OK) st = subst_node(&s, &root);
    free(s.state);
    free(s.stack);
    return st;
}
