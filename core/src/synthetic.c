/* synthetic.c: `format: synthetic`, procedural faces rendered in memory (no files).
 *
 * Keys (besides the common ones of dataset.c):
 *   count:    samples in the split (default: train 7000, val 1400, test 1400)
 *   size:     image side in pixels (default 48; 8 to 1024)
 *   channels: 1 (grey, default) or 3 (the grey image repeated as RGB)
 *   difficulty: 0..1 (default 1): scales the resting-face variation and the nuisances of
 *             faces in the wild and lowers the weakest expression (see synth_render.h)
 *
 * Labels are balanced (sample i has class i % 7 before a deterministic shuffle) and
 * each sample is rendered on load from (dataset seed, split, index) by
 * llx_synth_render, so train, val and test never share a face and the same seed
 * always gives the same bytes. Loading is thread-safe: the source is read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_impl.h"
#include "synth_render.h"

typedef struct synth {
    char split[16];
    uint64_t seed; /* the dataset seed, for messages */
    uint64_t base; /* seed mixed with the split */
    size_t count;
    int size, channels;
    float difficulty;
    uint8_t *labels; /* (count) canonical classes */
} synth;

static uint64_t split_salt(const char *split)
{
    if (strcmp(split, "train") == 0) return 0x5452414e00000001ULL;
    if (strcmp(split, "val") == 0) return 0x56414c0000000002ULL;
    if (strcmp(split, "test") == 0) return 0x5445535400000003ULL;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a of another name */
    for (const char *p = split; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    return h;
}

static uint64_t sample_seed(const synth *y, size_t i)
{
    uint64_t s = y->base + (uint64_t)i * 0xd6e8feb86659fd93ULL;
    return llx_synth_mix(&s);
}

static size_t synth_size(const source *s)
{
    return ((const synth *)s->ctx)->count;
}

static void synth_info(const source *s, size_t i, llx_sample *out)
{
    const synth *y = s->ctx;
    out->label = y->labels[i];
    out->video = -1;
    out->frame = -1;
    out->item = (int64_t)i;
}

static llx_status synth_load(const source *s, size_t i, llx_image *out, llx_error *err)
{
    const synth *y = s->ctx;
    size_t px = (size_t)y->size * (size_t)y->size;
    uint8_t *data = malloc(px * (size_t)y->channels);
    if (!data)
        return llx_errorf(err, LLX_ERR_NOMEM, "synthetic %s #%zu: out of memory for a %dx%d image", y->split,
                          i, y->size, y->size);
    llx_synth_render(y->labels[i], sample_seed(y, i), y->size, y->difficulty, data);
    if (y->channels == 3)
        for (size_t k = px; k-- > 0;)
            data[3 * k] = data[3 * k + 1] = data[3 * k + 2] = data[k];
    *out = (llx_image){.width = y->size, .height = y->size, .channels = y->channels, .data = data};
    return LLX_OK;
}

static const char *synth_describe(const source *s, size_t i, char *buf, size_t cap)
{
    const synth *y = s->ctx;
    snprintf(buf, cap, "synthetic %s #%zu (seed %llu)", y->split, i, (unsigned long long)y->seed);
    return buf;
}

static void synth_free(source *s)
{
    if (!s) return;
    synth *y = s->ctx;
    if (y) free(y->labels);
    free(y);
    free(s);
}

static const source_ops synth_ops = {
    .size = synth_size,
    .info = synth_info,
    .load = synth_load,
    .describe = synth_describe,
    .free = synth_free,
};

/* An integer key within [lo, hi], or def when absent. */
static llx_status int_key(const llx_cfg *src, const char *key, int64_t def, int64_t lo, int64_t hi,
                          int64_t *out, llx_error *err)
{
    const llx_cfg *node = llx_cfg_get(src, key);
    *out = def;
    if (!node) return LLX_OK;
    LLX_TRY(llx_cfg_as_int(node, key, out, err));
    if (*out < lo || *out > hi) {
        char loc[512];
        return llx_errorf(err, LLX_ERR_INVALID, "%skey '%s': must be in [%lld, %lld], got %lld",
                          llx_cfg_loc_str(node, loc, sizeof loc), key, (long long)lo, (long long)hi,
                          (long long)*out);
    }
    return LLX_OK;
}

llx_status llx_dataset_open_synthetic(const llx_cfg *src, const char *split, uint64_t seed,
                                      struct source **out, llx_error *err)
{
    static const char *const keys[] = {"count", "size", "channels", "difficulty", NULL};
    LLX_TRY(llx_source_check_keys(src, keys, err));
    int64_t count, size, channels;
    int64_t def_count = strcmp(split, "train") == 0 ? 7000 : 1400;
    LLX_TRY(int_key(src, "count", def_count, 1, 100000000, &count, err));
    LLX_TRY(int_key(src, "size", 48, 8, LLX_SYNTH_MAX_SIZE, &size, err));
    LLX_TRY(int_key(src, "channels", 1, 1, 3, &channels, err));
    double difficulty = 1.0;
    const llx_cfg *dnode = llx_cfg_get(src, "difficulty");
    if (dnode) {
        LLX_TRY(llx_cfg_as_double(dnode, "difficulty", &difficulty, err));
        if (difficulty < 0 || difficulty > 1) {
            char loc[512];
            return llx_errorf(err, LLX_ERR_INVALID, "%skey 'difficulty': must be in [0, 1], got %g",
                              llx_cfg_loc_str(dnode, loc, sizeof loc), difficulty);
        }
    }
    if (channels == 2) {
        char loc[512];
        return llx_errorf(err, LLX_ERR_INVALID, "%skey 'channels': must be 1 or 3, got 2",
                          llx_cfg_loc_str(llx_cfg_get(src, "channels"), loc, sizeof loc));
    }

    synth *y = calloc(1, sizeof *y);
    uint8_t *labels = malloc((size_t)count);
    source *s = y && labels ? llx_source_new(&synth_ops, y) : NULL;
    if (!s) {
        free(labels);
        free(y);
        return llx_errorf(err, LLX_ERR_NOMEM, "synthetic %s: out of memory for %lld samples", split,
                          (long long)count);
    }
    snprintf(y->split, sizeof y->split, "%s", split);
    y->seed = seed;
    y->base = seed ^ split_salt(split);
    y->count = (size_t)count;
    y->size = (int)size;
    y->channels = (int)channels;
    y->difficulty = (float)difficulty;
    y->labels = labels;

    /* balanced labels, shuffled deterministically (Fisher-Yates) */
    for (size_t i = 0; i < y->count; i++)
        labels[i] = (uint8_t)(i % LLX_NUM_CLASSES);
    uint64_t r = y->base ^ 0x6a09e667f3bcc909ULL;
    for (size_t i = y->count; i > 1; i--) {
        size_t j = (size_t)(llx_synth_mix(&r) % i);
        uint8_t t = labels[i - 1];
        labels[i - 1] = labels[j];
        labels[j] = t;
    }
    *out = s;
    return LLX_OK;
}
