/* dataset.c: llx_dataset: the samples of one split drawn from one or more data sources.
 *
 * Common keys of every source (each format documents its own keys in its file):
 *   format:    imagefolder | fer2013 | affwild2 | rafdb | affectnet | synthetic (required)
 *   root/path: the dataset's folder (or file); must exist
 *   split:     which of the source's splits to read instead of the requested one: a name
 *              (split: test) or a map from requested to used (split: {val: test})
 *   classes:   [anger, disgust, ...] keep only these canonical classes (labels stay canonical)
 *   subsample: {neutral: 12, ...} within each run of consecutive frames (frame numbers
 *              n, n+1, ...) of one video with one label, keep the first frame of every k
 *   max_bad:   fraction of samples allowed to fail decoding during training (default 0.01)
 *   limit:     keep only the first N samples of this source after the filters above
 * Filters run in that order: the format's own drops, classes, subsample, limit. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_impl.h"

typedef struct format_entry {
    const char *name;
    source_open_fn open;
    const char *var; /* the experiment variable that usually holds its root */
} format_entry;

static const format_entry formats[] = {
    {"imagefolder", llx_dataset_open_imagefolder, "DATA"},  {"fer2013", llx_dataset_open_fer2013, "FER2013"},
    {"affwild2", llx_dataset_open_affwild2, "AFFWILD2"},    {"rafdb", llx_dataset_open_rafdb, "RAFDB"},
    {"affectnet", llx_dataset_open_affectnet, "AFFECTNET"}, {"synthetic", llx_dataset_open_synthetic, NULL},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static const char *const common_keys[] = {"format",  "root",      "path",    "split",
                                          "classes", "subsample", "max_bad", "limit"};
#define N_COMMON (sizeof common_keys / sizeof common_keys[0])

struct llx_dataset {
    source **src;
    size_t n_src;
    llx_sample *samples;
    size_t *local; /* index of sample i within its source */
    size_t n, cap;
    llx_data_stats stats;
    double max_bad;
};

/* ---- helpers shared with the formats ---- */

source *llx_source_new(const source_ops *ops, void *ctx)
{
    source *s = calloc(1, sizeof *s);
    if (s) {
        s->ops = ops;
        s->ctx = ctx;
    }
    return s;
}

const char *llx_source_where(const llx_cfg *src, char *buf, size_t cap)
{
    char loc[512];
    const char *fmt = llx_cfg_str(llx_cfg_get(src, "format"));
    snprintf(buf, cap, "%sdata source '%s'", llx_cfg_loc_str(src, loc, sizeof loc), fmt ? fmt : "?");
    return buf;
}

llx_status llx_source_check_keys(const llx_cfg *src, const char *const *keys, llx_error *err)
{
    const char *all[N_COMMON + 32];
    size_t n = 0;
    for (size_t i = 0; i < N_COMMON; i++)
        all[n++] = common_keys[i];
    for (size_t i = 0; keys && keys[i] && n < N_COMMON + 31; i++)
        all[n++] = keys[i];
    all[n] = NULL;
    for (size_t k = 0; k < llx_cfg_len(src); k++) {
        const char *key = llx_cfg_key_at(src, k);
        size_t j = 0;
        while (all[j] && strcmp(all[j], key) != 0)
            j++;
        if (all[j]) continue;
        llx_cfg_loc at = llx_cfg_key_where(src, k);
        const char *fmt = llx_cfg_str(llx_cfg_get(src, "format"));
        const char *near = llx_suggest(key, all);
        char hint[300] = "";
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        return llx_errorf(err, LLX_ERR_INVALID, "%s:%d:%d: data source '%s': unknown key '%s'%s",
                          at.file ? at.file : "?", at.line, at.col, fmt ? fmt : "?", key, hint);
    }
    return LLX_OK;
}

llx_status llx_source_root(const llx_cfg *src, const char **root, int *is_dir, llx_error *err)
{
    if (llx_cfg_get(src, "root") && llx_cfg_get(src, "path")) {
        char w[600];
        return llx_errorf(err, LLX_ERR_INVALID, "%s: give either 'root' or 'path', not both",
                          llx_source_where(src, w, sizeof w));
    }
    const char *key = llx_cfg_get(src, "root") ? "root" : "path";
    const llx_cfg *node = llx_cfg_get(src, key);
    const char *fmt = llx_cfg_str(llx_cfg_get(src, "format"));
    const char *var = "DATA";
    for (size_t i = 0; i < N_FORMATS; i++)
        if (fmt && strcmp(fmt, formats[i].name) == 0 && formats[i].var) var = formats[i].var;
    char where[600], loc[512];
    if (!node)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "%s: needs key 'root' (the dataset folder): set the variable %s "
                          "(--set %s=/path) or see experiments/quickstart.yaml for a dataset "
                          "that needs no download",
                          llx_source_where(src, where, sizeof where), var, var);
    const char *path = llx_cfg_str(node);
    if (!path) path = "";
    struct stat st;
    if (path[0] == '\0' || stat(path, &st) != 0)
        return llx_errorf(err, LLX_ERR_IO,
                          "%sdata source '%s': %s '%s' does not exist: set the variable %s "
                          "(--set %s=/path) or see experiments/quickstart.yaml for a dataset "
                          "that needs no download",
                          llx_cfg_loc_str(node, loc, sizeof loc), fmt ? fmt : "?", key, path, var, var);
    if (is_dir) *is_dir = S_ISDIR(st.st_mode);
    *root = path;
    return LLX_OK;
}

llx_status llx_source_str(const llx_cfg *src, const char *key, const char *def, const char **out,
                          llx_error *err)
{
    const llx_cfg *node = llx_cfg_get(src, key);
    *out = def;
    if (!node) return LLX_OK;
    const char *s = llx_cfg_str(node);
    if (!s) {
        char loc[512];
        return llx_errorf(err, LLX_ERR_INVALID, "%skey '%s': expected a string",
                          llx_cfg_loc_str(node, loc, sizeof loc), key);
    }
    *out = s;
    return LLX_OK;
}

/* ---- options common to every source ---- */

typedef struct source_opts {
    const format_entry *format;
    const char *split;
    int keep[LLX_NUM_CLASSES];      /* classes filter */
    int64_t every[LLX_NUM_CLASSES]; /* subsample k per class (1: keep all) */
    double max_bad;
    int has_max_bad;
    int64_t limit; /* -1: none */
} source_opts;

static const char *const split_names[] = {"train", "val", "test", NULL};

static int is_split(const char *s)
{
    for (int i = 0; split_names[i]; i++)
        if (s && strcmp(s, split_names[i]) == 0) return 1;
    return 0;
}

static llx_status bad_split(const llx_cfg *node, const char *what, const char *s, llx_error *err)
{
    char loc[512];
    const char *near = llx_suggest(s, split_names);
    return llx_errorf(err, LLX_ERR_INVALID, "%s%s: unknown split '%s'%s%s%s (train, val or test)",
                      llx_cfg_loc_str(node, loc, sizeof loc), what, s ? s : "",
                      near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

/* A class name of `classes` or `subsample`: an error listing the canonical names. */
static llx_status class_of(const llx_cfg *node, const char *name, const char *what, int *cls, llx_error *err)
{
    *cls = llx_class_from_name(name);
    if (*cls >= 0) return LLX_OK;
    const char *names[LLX_NUM_CLASSES + 1];
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        names[c] = llx_class_name(c);
    names[LLX_NUM_CLASSES] = NULL;
    const char *near = llx_suggest(name, names);
    char loc[512], hint[300] = "";
    if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return llx_errorf(err, LLX_ERR_INVALID,
                      "%skey '%s': unknown class '%s'%s; classes: neutral, anger, disgust, fear, "
                      "happiness, sadness, surprise",
                      llx_cfg_loc_str(node, loc, sizeof loc), what, name ? name : "", hint);
}

static llx_status read_opts(const llx_cfg *src, const char *split, source_opts *o, llx_error *err)
{
    char loc[512];
    memset(o, 0, sizeof *o);
    o->limit = -1;
    if (llx_cfg_kind_of(src) != LLX_CFG_MAP)
        return llx_errorf(err, LLX_ERR_INVALID, "%sdata source: expected a mapping with 'format' and 'root'",
                          llx_cfg_loc_str(src, loc, sizeof loc));
    const llx_cfg *fnode = llx_cfg_get(src, "format");
    const char *fmt = llx_cfg_str(fnode);
    if (!fmt)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "%sdata source: needs key 'format' (imagefolder, fer2013, affwild2, "
                          "rafdb, affectnet or synthetic)",
                          llx_cfg_loc_str(src, loc, sizeof loc));
    const char *names[N_FORMATS + 1];
    for (size_t i = 0; i < N_FORMATS; i++) {
        names[i] = formats[i].name;
        if (strcmp(fmt, formats[i].name) == 0) o->format = &formats[i];
    }
    names[N_FORMATS] = NULL;
    if (!o->format) {
        const char *near = llx_suggest(fmt, names);
        char hint[300] = "";
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        return llx_errorf(err, LLX_ERR_NOT_FOUND,
                          "%sdata source: unknown format '%s'%s; formats: imagefolder, fer2013, "
                          "affwild2, rafdb, affectnet, synthetic",
                          llx_cfg_loc_str(fnode, loc, sizeof loc), fmt, hint);
    }

    /* split: requested, possibly overridden */
    if (!is_split(split)) return bad_split(src, "llx_dataset_open", split, err);
    o->split = split;
    const llx_cfg *sp = llx_cfg_get(src, "split");
    if (sp && llx_cfg_kind_of(sp) == LLX_CFG_MAP) {
        for (size_t i = 0; i < llx_cfg_len(sp); i++) {
            const char *from = llx_cfg_key_at(sp, i), *to = llx_cfg_str(llx_cfg_at(sp, i));
            if (!is_split(from)) return bad_split(sp, "key 'split'", from, err);
            if (!is_split(to)) return bad_split(llx_cfg_at(sp, i), "key 'split'", to, err);
            if (strcmp(from, split) == 0) o->split = to;
        }
    } else if (sp) {
        if (!is_split(llx_cfg_str(sp))) return bad_split(sp, "key 'split'", llx_cfg_str(sp), err);
        o->split = llx_cfg_str(sp);
    }

    /* classes */
    const llx_cfg *cl = llx_cfg_get(src, "classes");
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        o->keep[c] = cl ? 0 : 1;
    if (cl) {
        if (llx_cfg_kind_of(cl) != LLX_CFG_SEQ || llx_cfg_len(cl) == 0)
            return llx_errorf(err, LLX_ERR_INVALID,
                              "%skey 'classes': expected a list of class names (e.g. [anger, "
                              "disgust])",
                              llx_cfg_loc_str(cl, loc, sizeof loc));
        for (size_t i = 0; i < llx_cfg_len(cl); i++) {
            int c;
            LLX_TRY(class_of(llx_cfg_at(cl, i), llx_cfg_str(llx_cfg_at(cl, i)), "classes", &c, err));
            o->keep[c] = 1;
        }
    }

    /* subsample */
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        o->every[c] = 1;
    const llx_cfg *ss = llx_cfg_get(src, "subsample");
    if (ss && llx_cfg_kind_of(ss) != LLX_CFG_MAP)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "%skey 'subsample': expected a map class -> k (e.g. {neutral: 12})",
                          llx_cfg_loc_str(ss, loc, sizeof loc));
    for (size_t i = 0; ss && i < llx_cfg_len(ss); i++) {
        int c;
        const llx_cfg *v = llx_cfg_at(ss, i);
        LLX_TRY(class_of(v, llx_cfg_key_at(ss, i), "subsample", &c, err));
        LLX_TRY(llx_cfg_as_int(v, "subsample", &o->every[c], err));
        if (o->every[c] < 1)
            return llx_errorf(err, LLX_ERR_INVALID,
                              "%skey 'subsample': k must be at least 1 (keep one frame in k), "
                              "got %lld",
                              llx_cfg_loc_str(v, loc, sizeof loc), (long long)o->every[c]);
    }

    const llx_cfg *mb = llx_cfg_get(src, "max_bad");
    if (mb) {
        LLX_TRY(llx_cfg_as_double(mb, "max_bad", &o->max_bad, err));
        if (!(o->max_bad >= 0 && o->max_bad <= 1))
            return llx_errorf(err, LLX_ERR_INVALID, "%skey 'max_bad': a fraction between 0 and 1, got %g",
                              llx_cfg_loc_str(mb, loc, sizeof loc), o->max_bad);
        o->has_max_bad = 1;
    }
    const llx_cfg *lim = llx_cfg_get(src, "limit");
    if (lim) {
        LLX_TRY(llx_cfg_as_int(lim, "limit", &o->limit, err));
        if (o->limit < 0)
            return llx_errorf(err, LLX_ERR_INVALID, "%skey 'limit': must be >= 0, got %lld",
                              llx_cfg_loc_str(lim, loc, sizeof loc), (long long)o->limit);
    }
    return LLX_OK;
}

/* ---- opening ---- */

static llx_status push_sample(llx_dataset *d, const llx_sample *s, size_t local, llx_error *err)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        llx_sample *ns = realloc(d->samples, cap * sizeof *ns);
        if (!ns) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory for %zu samples", cap);
        d->samples = ns;
        size_t *nl = realloc(d->local, cap * sizeof *nl);
        if (!nl) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory for %zu samples", cap);
        d->local = nl;
        d->cap = cap;
    }
    d->samples[d->n] = *s;
    d->local[d->n++] = local;
    return LLX_OK;
}

/* Adds the samples of source s (already opened) through the common filters. */
static llx_status add_source(llx_dataset *d, source *s, const source_opts *o, llx_error *err)
{
    llx_data_stats *st = &s->stats;
    int32_t src_index = (int32_t)d->n_src - 1;
    size_t n = s->ops->size(s);
    int64_t kept = 0;
    llx_sample prev = {.label = -1, .video = -1, .frame = -1};
    int64_t run_pos = 0;
    for (size_t i = 0; i < n; i++) {
        llx_sample smp = {.video = -1, .frame = -1};
        s->ops->info(s, i, &smp);
        smp.source = src_index;
        LLX_ASSERT(smp.label >= 0 && smp.label < LLX_NUM_CLASSES);
        if (!o->keep[smp.label]) {
            st->dropped_class++;
            continue;
        }
        int same_run = smp.video >= 0 && smp.frame >= 0 && smp.video == prev.video &&
                       smp.label == prev.label && smp.frame == prev.frame + 1;
        run_pos = same_run ? run_pos + 1 : 0;
        prev = smp;
        if (run_pos % o->every[smp.label] != 0) {
            st->dropped_subsample++;
            continue;
        }
        if (o->limit >= 0 && kept >= o->limit) {
            st->dropped_limit++;
            continue;
        }
        LLX_TRY(push_sample(d, &smp, i, err));
        kept++;
    }
    st->kept = kept;
    d->stats.kept += st->kept;
    d->stats.dropped_invalid += st->dropped_invalid;
    d->stats.dropped_class += st->dropped_class;
    d->stats.dropped_missing += st->dropped_missing;
    d->stats.dropped_subsample += st->dropped_subsample;
    d->stats.dropped_limit += st->dropped_limit;
    return LLX_OK;
}

static llx_status open_one(llx_dataset *d, const llx_cfg *src, const char *split, uint64_t seed,
                           llx_error *err)
{
    source_opts o;
    LLX_TRY(read_opts(src, split, &o, err));
    if (o.has_max_bad && o.max_bad < d->max_bad) d->max_bad = o.max_bad;
    source **ns = realloc(d->src, (d->n_src + 1) * sizeof *ns);
    if (!ns) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory opening a data source");
    d->src = ns;
    source *s = NULL;
    LLX_TRY(o.format->open(src, o.split, seed, &s, err));
    d->src[d->n_src++] = s;
    return add_source(d, s, &o, err);
}

llx_status llx_dataset_open(const llx_cfg *sources, const char *split, uint64_t seed, llx_dataset **out,
                            llx_error *err)
{
    *out = NULL;
    if (!sources)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "no data sources: give a map {format: ..., root: ...} or a list of them");
    llx_dataset *d = calloc(1, sizeof *d);
    if (!d) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory opening a dataset");
    d->max_bad = 1.0;
    int any_max_bad = 0;
    llx_status st = LLX_OK;
    if (llx_cfg_kind_of(sources) == LLX_CFG_SEQ) {
        if (llx_cfg_len(sources) == 0) {
            char loc[512];
            st = llx_errorf(err, LLX_ERR_INVALID, "%sdata sources: the list is empty",
                            llx_cfg_loc_str(sources, loc, sizeof loc));
        }
        for (size_t i = 0; st == LLX_OK && i < llx_cfg_len(sources); i++) {
            any_max_bad |= llx_cfg_get(llx_cfg_at(sources, i), "max_bad") != NULL;
            st = open_one(d, llx_cfg_at(sources, i), split, seed, err);
        }
    } else {
        any_max_bad = llx_cfg_get(sources, "max_bad") != NULL;
        st = open_one(d, sources, split, seed, err);
    }
    if (st != LLX_OK) {
        llx_dataset_free(d);
        return st;
    }
    if (!any_max_bad) d->max_bad = 0.01;
    *out = d;
    return LLX_OK;
}

void llx_dataset_free(llx_dataset *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_src; i++)
        d->src[i]->ops->free(d->src[i]);
    free(d->src);
    free(d->samples);
    free(d->local);
    free(d);
}

/* ---- access ---- */

size_t llx_dataset_size(const llx_dataset *d)
{
    return d ? d->n : 0;
}

const llx_sample *llx_dataset_sample(const llx_dataset *d, size_t i)
{
    return d && i < d->n ? &d->samples[i] : NULL;
}

const char *llx_dataset_describe(const llx_dataset *d, size_t i, char *buf, size_t cap)
{
    if (!d || i >= d->n) {
        snprintf(buf, cap, "(no sample %zu)", i);
        return buf;
    }
    const source *s = d->src[d->samples[i].source];
    return s->ops->describe(s, d->local[i], buf, cap);
}

llx_status llx_dataset_load(const llx_dataset *d, size_t i, llx_image *out, llx_error *err)
{
    *out = (llx_image){0};
    if (!d || i >= d->n)
        return llx_errorf(err, LLX_ERR_INVALID, "sample %zu out of range (dataset of %zu)", i, d ? d->n : 0);
    const source *s = d->src[d->samples[i].source];
    return s->ops->load(s, d->local[i], out, err);
}

void llx_dataset_class_counts(const llx_dataset *d, int64_t counts[LLX_NUM_CLASSES])
{
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        counts[c] = 0;
    for (size_t i = 0; d && i < d->n; i++)
        counts[d->samples[i].label]++;
}

void llx_dataset_stats(const llx_dataset *d, llx_data_stats *out)
{
    *out = d ? d->stats : (llx_data_stats){0};
}

double llx_dataset_max_bad(const llx_dataset *d)
{
    return d ? d->max_bad : 0.01;
}
