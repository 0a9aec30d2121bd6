/* conv2d_onednn.c: the F32 CPU kernels of conv2d on oneDNN (Debian's libdnnl 2.6, C API).
 *
 * Computes what conv2d.c documents, y = conv(x, w) + b written, dx += ..., dw += ...,
 * db += ..., with oneDNN's direct convolution primitives (forward_training, backward_data,
 * backward_weights) on the layouts oneDNN picks (format_tag_any: blocked, nChw16c and
 * OIhw16i16o on AVX-512). llx tensors stay plain NCHW / OIHW, so every call converts with
 * reorder primitives: each input plain -> picked layout into the workspace, the output
 * picked -> plain. The convolution primitives only write their output, so the gradient
 * reorders carry a sum post-op (dx = dx + reorder(dx')), which keeps the accumulate
 * convention without a separate pass; db' (O floats) is added by a loop.
 *
 * Cache. Creating a primitive costs milliseconds (JIT code generation), so primitives are
 * created once per (N, C, H, W, O, KH, KW, stride, pad, bias) and kept in a list; each entry
 * holds the three passes, each created on its first call. N is part of the key: a short last
 * batch gets its own entry. One mutex guards lookup and creation; execution runs outside it
 * (a oneDNN primitive is immutable once created). The engine is created once (pthread_once).
 * Nothing is freed at exit: the entries and the engine stay reachable through static
 * pointers (leak checkers do not report them) and the OS reclaims them.
 *
 * Memory. The converted tensors live in the op's workspace, which the engine sizes through
 * llx_conv2d_onednn_workspace: per activation N * ceil16(C) * H * W floats (f32 blocked
 * layouts pad channels to a multiple of at most 16), monotone in N, so a planned workspace
 * also holds any smaller batch. Each call checks the sizes oneDNN asks for against that
 * bound and, should a layout ever need more, uses the per-thread buffer below instead.
 * oneDNN's scratchpad is in user mode, in a grow-only buffer per calling thread, next to a
 * stream per calling thread: Debian builds oneDNN with DNNL_ENABLE_CONCURRENT_EXEC, where a
 * library-managed scratchpad belongs to its primitive and that primitive may then not run in
 * two threads at once; with user scratchpads, cached primitives are safe to share.
 *
 * Threads: oneDNN uses OpenMP (libgomp), the pool of llx's own kernels, with
 * omp_get_max_threads() threads. Its convolutions are deterministic for a fixed count. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "conv2d_onednn.h"

enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_WEIGHTS, PASS_COUNT };
enum { KIND_X, KIND_W, KIND_Y, KIND_B, KIND_COUNT }; /* workspace slots */

/* Per pass: its two inputs and its output, as execute arguments, queries and tensor kinds. */
static const int ARG[PASS_COUNT][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                       {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                                       {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}};
static const dnnl_query_t QUERY[PASS_COUNT][3] = {
    {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
    {dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md},
    {dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md}};
static const int KIND[PASS_COUNT][3] = {
    {KIND_X, KIND_W, KIND_Y}, {KIND_Y, KIND_W, KIND_X}, {KIND_X, KIND_Y, KIND_W}};

/* A primitive with its user-mode scratchpad. */
typedef struct conv_prim {
    dnnl_primitive_t prim;
    dnnl_memory_desc_t scratch_md;
    size_t scratch_bytes;
} conv_prim;

typedef struct conv_pass {
    dnnl_primitive_desc_t pd; /* NULL until needed */
    conv_prim conv;           /* .prim NULL until the pass's first call */
    dnnl_memory_desc_t md[3]; /* the layouts oneDNN picked: inputs 0, 1 and the output */
    /* plain -> md[i] for the inputs, md[2] -> plain for the output (+= for gradients);
     * .prim NULL where no conversion is needed */
    conv_prim reorder[3];
    size_t scratch_bytes; /* the largest scratchpad of the conv and its reorders */
} conv_pass;

typedef struct conv_key {
    conv_geom g;
    int bias;
} conv_key;

typedef struct conv_entry {
    conv_key key;
    dnnl_memory_desc_t plain[KIND_COUNT]; /* x nchw, w oihw, y nchw, b a */
    conv_pass pass[PASS_COUNT];
    struct conv_entry *next;
} conv_entry;

/* What each calling thread owns: its stream and a grow-only buffer (scratchpads first). */
typedef struct conv_thread {
    dnnl_stream_t stream;
    void *buf;
    size_t cap;
} conv_thread;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static dnnl_status_t g_engine_status = dnnl_success;
static dnnl_engine_t g_engine;
static pthread_key_t g_thread_key;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static conv_entry *g_entries;

#define ALIGN 64
static size_t align_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}
static size_t ceil16(int64_t n)
{
    return (size_t)((n + 15) / 16 * 16);
}

/* dnnl_unimplemented (no implementation for this geometry) becomes LLX_ERR_UNSUPPORTED,
 * which conv2d.c answers with its reference kernels; it only arises while creating
 * primitives, before a call has written anything. */
static llx_status dnnl_fail(llx_error *err, const char *what, dnnl_status_t s)
{
    llx_status st = s == dnnl_out_of_memory   ? LLX_ERR_NOMEM
                    : s == dnnl_unimplemented ? LLX_ERR_UNSUPPORTED
                                              : LLX_ERR_INVALID;
    return llx_errorf(err, st, "conv2d (oneDNN): %s failed: %s", what, dnnl_status2str(s));
}

/* Evaluates a oneDNN call; on failure fills err and jumps to `done` with st set. */
#define DNNL_CHECK(call)                                                                                     \
    do {                                                                                                     \
        dnnl_status_t s_ = (call);                                                                           \
        if (s_ != dnnl_success) {                                                                            \
            st = dnnl_fail(err, #call, s_);                                                                  \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

static void thread_free(void *p)
{
    conv_thread *t = p;
    if (t->stream) dnnl_stream_destroy(t->stream);
    free(t->buf);
    free(t);
}

static void once_init(void)
{
    g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_engine_status == dnnl_success && pthread_key_create(&g_thread_key, thread_free) != 0)
        g_engine_status = dnnl_runtime_error;
}

/* The calling thread's stream and buffer (created on its first call). */
static llx_status thread_get(conv_thread **out, llx_error *err)
{
    llx_status st = LLX_OK;
    pthread_once(&g_once, once_init);
    if (g_engine_status != dnnl_success) return dnnl_fail(err, "engine creation", g_engine_status);
    conv_thread *t = pthread_getspecific(g_thread_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) return llx_errorf(err, LLX_ERR_NOMEM, "conv2d (oneDNN): out of memory");
        dnnl_status_t s = dnnl_stream_create(&t->stream, g_engine, dnnl_stream_default_flags);
        if (s != dnnl_success || pthread_setspecific(g_thread_key, t) != 0) {
            thread_free(t);
            return dnnl_fail(err, "stream creation", s != dnnl_success ? s : dnnl_runtime_error);
        }
    }
    *out = t;
    return st;
}

static llx_status thread_reserve(conv_thread *t, size_t bytes, llx_error *err)
{
    if (bytes <= t->cap) return LLX_OK;
    void *p = NULL;
    if (posix_memalign(&p, ALIGN, bytes) != 0)
        return llx_errorf(err, LLX_ERR_NOMEM, "conv2d (oneDNN): cannot allocate %zu bytes", bytes);
    free(t->buf);
    t->buf = p;
    t->cap = bytes;
    return LLX_OK;
}

/* Fills p from pd (a primitive with user scratchpad); pd stays the caller's. */
static dnnl_status_t prim_create(conv_prim *p, const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    p->scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    if (sp) p->scratch_md = *sp;
    return dnnl_primitive_create(&p->prim, pd);
}

/* A reorder from -> to (accumulate: to += from) into r. */
static dnnl_status_t reorder_create(conv_prim *r, const dnnl_memory_desc_t *from,
                                    const dnnl_memory_desc_t *to, bool accumulate)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && accumulate) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, g_engine, to, g_engine, attr);
    if (s == dnnl_success) s = prim_create(r, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

/* The primitive desc of pass p of e (the forward one is the hint of the backward ones). */
static dnnl_status_t pass_desc(conv_entry *e, int p)
{
    const conv_geom *g = &e->key.g;
    dnnl_dims_t xd = {g->n, g->c, g->h, g->w}, wd = {g->o, g->c, g->kh, g->kw},
                yd = {g->n, g->o, g->oh, g->ow}, stride = {g->sh, g->sw}, pad = {g->ph, g->pw};
    dnnl_memory_desc_t x, w, y;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    const dnnl_memory_desc_t *b = e->key.bias ? &e->plain[KIND_B] : NULL;
    dnnl_status_t s = dnnl_memory_desc_init_by_tag(&x, 4, xd, dnnl_f32, dnnl_format_tag_any);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any);
    if (s == dnnl_success) s = dnnl_memory_desc_init_by_tag(&y, 4, yd, dnnl_f32, dnnl_format_tag_any);
    /* llx's output size floor((H + 2p - K) / s) + 1 is oneDNN's with equal padding on both
     * sides: oneDNN checks dst with the same integer division. */
    if (s == dnnl_success)
        s = p == PASS_FWD
                ? dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &x,
                                                     &w, b, &y, stride, pad, pad)
            : p == PASS_BWD_DATA ? dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &x,
                                                                            &w, &y, stride, pad, pad)
                                 : dnnl_convolution_backward_weights_desc_init(
                                       &cd, dnnl_convolution_direct, &x, &w, b, &y, stride, pad, pad);
    if (s == dnnl_success) s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&e->pass[p].pd, &cd, attr, g_engine,
                                       p == PASS_FWD ? NULL : e->pass[PASS_FWD].pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

/* Makes pass p of e ready to run: desc, primitive, reorders. Under g_lock. */
static dnnl_status_t pass_prepare(conv_entry *e, int p)
{
    conv_pass *ps = &e->pass[p];
    dnnl_status_t s = dnnl_success;
    if (ps->conv.prim) return s;
    if (!e->pass[PASS_FWD].pd) s = pass_desc(e, PASS_FWD);
    if (s == dnnl_success && !ps->pd) s = pass_desc(e, p);
    for (int i = 0; s == dnnl_success && i < 3; i++) {
        ps->md[i] = *dnnl_primitive_desc_query_md(ps->pd, QUERY[p][i], 0);
        const dnnl_memory_desc_t *plain = &e->plain[KIND[p][i]];
        bool same = dnnl_memory_desc_equal(&ps->md[i], plain);
        if (i < 2 && !same) s = reorder_create(&ps->reorder[i], plain, &ps->md[i], false);
        /* gradients always go through an accumulating reorder, even plain -> plain */
        if (i == 2 && (p != PASS_FWD || !same))
            s = reorder_create(&ps->reorder[i], &ps->md[i], plain, p != PASS_FWD);
    }
    if (s == dnnl_success) s = prim_create(&ps->conv, ps->pd);
    ps->scratch_bytes = ps->conv.scratch_bytes;
    for (int i = 0; i < 3; i++)
        if (ps->reorder[i].scratch_bytes > ps->scratch_bytes)
            ps->scratch_bytes = ps->reorder[i].scratch_bytes;
    return s;
}

/* The entry for (g, bias) with the passes in want[] ready; created on first use. */
static llx_status entry_get(const conv_geom *g, bool bias, const bool want[PASS_COUNT], conv_entry **out,
                            llx_error *err)
{
    conv_key key;
    memset(&key, 0, sizeof key);
    key.g = *g;
    key.bias = bias;
    llx_status st = LLX_OK;
    pthread_mutex_lock(&g_lock);
    conv_entry *e = g_entries;
    while (e && memcmp(&e->key, &key, sizeof key) != 0)
        e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            st = llx_errorf(err, LLX_ERR_NOMEM, "conv2d (oneDNN): out of memory");
            goto done;
        }
        e->key = key;
        dnnl_dims_t xd = {g->n, g->c, g->h, g->w}, wd = {g->o, g->c, g->kh, g->kw},
                    yd = {g->n, g->o, g->oh, g->ow}, bd = {g->o};
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&e->plain[KIND_X], 4, xd, dnnl_f32, dnnl_nchw));
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&e->plain[KIND_W], 4, wd, dnnl_f32, dnnl_oihw));
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&e->plain[KIND_Y], 4, yd, dnnl_f32, dnnl_nchw));
        DNNL_CHECK(dnnl_memory_desc_init_by_tag(&e->plain[KIND_B], 1, bd, dnnl_f32, dnnl_a));
        e->next = g_entries;
        g_entries = e;
    }
    for (int p = 0; p < PASS_COUNT; p++)
        if (want[p]) DNNL_CHECK(pass_prepare(e, p));
    *out = e;
done:
    /* a failed entry stays in the list with its passes unprepared: the next call fails the
     * same way rather than leaking a half-built entry */
    pthread_mutex_unlock(&g_lock);
    return st;
}

size_t llx_conv2d_onednn_workspace(const conv_geom *g, bool bias)
{
    size_t f = sizeof(float);
    size_t x = (size_t)g->n * ceil16(g->c) * (size_t)(g->h * g->w) * f;
    size_t w = ceil16(g->o) * ceil16(g->c) * (size_t)(g->kh * g->kw) * f;
    size_t y = (size_t)g->n * ceil16(g->o) * (size_t)(g->oh * g->ow) * f;
    size_t b = (size_t)g->o * f;
    /* each slot 64-aligned, plus up to 64 bytes to align the base */
    return align_up(x) + align_up(w) + align_up(y) + align_up(b) + ALIGN;
}

/* Where this call's converted tensors go: slot[KIND_*] in the workspace (or the thread's
 * buffer after the scratchpad) and the scratchpad at the start of the thread's buffer. */
typedef struct conv_mem {
    char *slot[KIND_COUNT];
    void *scratch;
    dnnl_memory_t m[16]; /* memory objects of this call, destroyed at its end */
    int n;
} conv_mem;

static llx_status layout(const conv_entry *e, const bool use[PASS_COUNT], void *ws, conv_thread *t,
                         conv_mem *cm, llx_error *err)
{
    size_t need[KIND_COUNT] = {0}, scratch = 0;
    for (int p = 0; p < PASS_COUNT; p++) {
        if (!use[p]) continue;
        const conv_pass *ps = &e->pass[p];
        for (int i = 0; i < 3; i++) {
            size_t b = ps->reorder[i].prim ? dnnl_memory_desc_get_size(&ps->md[i]) : 0;
            if (b > need[KIND[p][i]]) need[KIND[p][i]] = b;
        }
        if (ps->scratch_bytes > scratch) scratch = ps->scratch_bytes;
    }
    if (use[PASS_BWD_WEIGHTS] && e->key.bias) need[KIND_B] = (size_t)e->key.g.o * sizeof(float);
    size_t total = ALIGN;
    for (int k = 0; k < KIND_COUNT; k++)
        total += align_up(need[k]);
    bool in_ws = total <= llx_conv2d_onednn_workspace(&e->key.g, e->key.bias);
    LLX_TRY(thread_reserve(t, align_up(scratch) + (in_ws ? 0 : total), err));
    char *base = in_ws ? ws : (char *)t->buf + align_up(scratch);
    base = (char *)(((uintptr_t)base + ALIGN - 1) / ALIGN * ALIGN);
    for (int k = 0; k < KIND_COUNT; k++) {
        cm->slot[k] = base;
        base += align_up(need[k]);
    }
    cm->scratch = t->buf;
    return LLX_OK;
}

/* A memory object for md over ptr, owned by cm. */
static dnnl_status_t wrap(conv_mem *cm, const dnnl_memory_desc_t *md, const void *ptr, dnnl_memory_t *out)
{
    if (cm->n == (int)(sizeof cm->m / sizeof cm->m[0])) return dnnl_runtime_error;
    dnnl_status_t s = dnnl_memory_create(out, md, g_engine, (void *)ptr);
    if (s == dnnl_success) cm->m[cm->n++] = *out;
    return s;
}

static void mem_release(conv_mem *cm)
{
    for (int i = 0; i < cm->n; i++)
        dnnl_memory_destroy(cm->m[i]);
    cm->n = 0;
}

/* Runs p with its scratchpad appended to args (args has room for one more). */
static dnnl_status_t exec(const conv_prim *p, int nargs, dnnl_exec_arg_t *args, conv_mem *cm, conv_thread *t)
{
    dnnl_status_t s = dnnl_success;
    if (p->scratch_bytes) {
        dnnl_memory_t sp;
        s = wrap(cm, &p->scratch_md, cm->scratch, &sp);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sp};
    }
    if (s == dnnl_success) s = dnnl_primitive_execute(p->prim, t->stream, nargs, args);
    if (s == dnnl_success) s = dnnl_stream_wait(t->stream);
    return s;
}

/* Converts plain user data into the layout of pass p's input i (or wraps the user data where
 * no conversion is needed; converted: the slot already holds it). */
static dnnl_status_t input(const conv_entry *e, int p, int i, const void *user, bool converted, conv_mem *cm,
                           conv_thread *t, dnnl_memory_t *out)
{
    const conv_pass *ps = &e->pass[p];
    if (!ps->reorder[i].prim) return wrap(cm, &ps->md[i], user, out);
    dnnl_memory_t from;
    dnnl_status_t s = wrap(cm, &ps->md[i], cm->slot[KIND[p][i]], out);
    if (s != dnnl_success || converted) return s;
    s = wrap(cm, &e->plain[KIND[p][i]], user, &from);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, *out}};
    return s == dnnl_success ? exec(&ps->reorder[i], 2, a, cm, t) : s;
}

/* Runs pass p: inputs in0, in1 (plain user data), output into out (plain; written for the
 * forward pass, accumulated for the backward ones; NULL: discarded); with a bias, the
 * forward pass reads it from bias, backward-weights writes db' into its slot. skip1: input 1
 * is already converted in its slot. */
static dnnl_status_t run_pass(const conv_entry *e, int p, const void *in0, const void *in1, float *out,
                              const float *bias, bool skip1, conv_mem *cm, conv_thread *t)
{
    const conv_pass *ps = &e->pass[p];
    dnnl_exec_arg_t a[6];
    int n = 0;
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    dnnl_status_t s = input(e, p, 0, in0, false, cm, t, &m[0]);
    if (s == dnnl_success) s = input(e, p, 1, in1, skip1, cm, t, &m[1]);
    bool convert = ps->reorder[2].prim != NULL;
    if (s == dnnl_success)
        s = wrap(cm, &ps->md[2], convert ? (void *)cm->slot[KIND[p][2]] : (void *)out, &m[2]);
    for (int i = 0; i < 3; i++)
        a[n++] = (dnnl_exec_arg_t){ARG[p][i], m[i]};
    dnnl_memory_t mb;
    if (s == dnnl_success && e->key.bias && p != PASS_BWD_DATA) {
        s = wrap(cm, &e->plain[KIND_B], p == PASS_FWD ? (const void *)bias : (const void *)cm->slot[KIND_B],
                 &mb);
        a[n++] = (dnnl_exec_arg_t){p == PASS_FWD ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS, mb};
    }
    if (s == dnnl_success) s = exec(&ps->conv, n, a, cm, t);
    if (s != dnnl_success || !convert || !out) return s;
    dnnl_memory_t to;
    s = wrap(cm, &e->plain[KIND[p][2]], out, &to);
    dnnl_exec_arg_t r[3] = {{DNNL_ARG_FROM, m[2]}, {DNNL_ARG_TO, to}};
    return s == dnnl_success ? exec(&ps->reorder[2], 2, r, cm, t) : s;
}

llx_status llx_conv2d_onednn_forward(const conv_geom *g, const float *x, const float *w, const float *b,
                                     float *y, void *ws, llx_error *err)
{
    conv_thread *t;
    conv_entry *e;
    conv_mem cm = {0};
    const bool use[PASS_COUNT] = {[PASS_FWD] = true};
    LLX_TRY(thread_get(&t, err));
    LLX_TRY(entry_get(g, b != NULL, use, &e, err));
    llx_status st = layout(e, use, ws, t, &cm, err);
    if (st == LLX_OK) DNNL_CHECK(run_pass(e, PASS_FWD, x, w, y, b, false, &cm, t));
done:
    mem_release(&cm);
    return st;
}

llx_status llx_conv2d_onednn_backward(const conv_geom *g, const float *x, const float *w, const float *dy,
                                      float *dx, float *dw, float *db, bool bias, void *ws, llx_error *err)
{
    const bool use[PASS_COUNT] = {
        [PASS_BWD_DATA] = dx != NULL, [PASS_BWD_WEIGHTS] = dw != NULL || db != NULL};
    if (!use[PASS_BWD_DATA] && !use[PASS_BWD_WEIGHTS]) return LLX_OK;
    conv_thread *t;
    conv_entry *e;
    conv_mem cm = {0};
    LLX_TRY(thread_get(&t, err));
    LLX_TRY(entry_get(g, bias, use, &e, err));
    llx_status st = layout(e, use, ws, t, &cm, err);
    if (st != LLX_OK) goto done;
    bool dy_converted = false;
    if (use[PASS_BWD_DATA]) {
        DNNL_CHECK(run_pass(e, PASS_BWD_DATA, dy, w, dx, NULL, false, &cm, t));
        const conv_pass *bd = &e->pass[PASS_BWD_DATA], *bw = &e->pass[PASS_BWD_WEIGHTS];
        /* backward-weights reads dy from the same slot: convert it once when layouts agree */
        dy_converted = use[PASS_BWD_WEIGHTS] && bd->reorder[0].prim && bw->reorder[1].prim &&
                       dnnl_memory_desc_equal(&bd->md[0], &bw->md[1]);
    }
    if (use[PASS_BWD_WEIGHTS]) {
        DNNL_CHECK(run_pass(e, PASS_BWD_WEIGHTS, x, dy, dw, NULL, dy_converted, &cm, t));
        if (db) {
            const float *d = (const float *)cm.slot[KIND_B];
            for (int64_t o = 0; o < g->o; o++)
                db[o] += d[o];
        }
    }
done:
    mem_release(&cm);
    return st;
}
