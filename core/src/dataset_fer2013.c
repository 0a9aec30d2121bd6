/* dataset_fer2013.c: format `fer2013`, in either of its two published forms.
 *
 * CSV form (root is fer2013.csv, or a folder holding it): columns found by header name
 *   emotion, pixels, Usage; pixels = 48x48 space-separated grey values held in memory.
 *   Splits by Usage: train = Training, val = PublicTest, test = PrivateTest.
 *   Labels 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
 *   A row whose pixels do not parse stays in the dataset and fails at llx_dataset_load
 *   (so the training loader counts it against max_bad).
 * Image-folder form (root has train/ and test/): train/<class>/Training_<id>.jpg,
 *   test/<class>/{PublicTest,PrivateTest}_<id>.jpg; split by file-name prefix:
 *   train = Training, val = PublicTest, test = PrivateTest.
 * Keys:
 *   root (or path): the CSV file or the folder
 *   csv:     the CSV's name inside a root folder (default fer2013.csv)
 *   ferplus: FER+ relabelling (CSV form only): path of fer2013new.csv (same row order; the
 *            label is the argmax of the votes, first on ties; contempt, unknown and NF
 *            winners are dropped_class, rows without votes dropped_invalid) */
#include <stdlib.h>
#include <string.h>

#include "dataset_impl.h"

#define FER_SIDE   48
#define FER_PIXELS (FER_SIDE * FER_SIDE)

static const int fer_to_canonical[7] = {LLX_ANGER,   LLX_DISGUST,  LLX_FEAR,   LLX_HAPPINESS,
                                        LLX_SADNESS, LLX_SURPRISE, LLX_NEUTRAL};

typedef struct fer_csv {
    char *path;
    size_t n, cap;
    llx_sample *s;
    uint8_t *pixels; /* n x 2304 */
    uint8_t *bad;    /* 0 ok, 1 wrong number of values, 2 a value outside 0..255 */
} fer_csv;

static size_t fc_size(const source *s)
{
    return ((const fer_csv *)s->ctx)->n;
}
static void fc_info(const source *s, size_t i, llx_sample *out)
{
    *out = ((const fer_csv *)s->ctx)->s[i];
}
static const char *fc_describe(const source *s, size_t i, char *buf, size_t cap)
{
    const fer_csv *f = s->ctx;
    snprintf(buf, cap, "%s row %lld", f->path, (long long)f->s[i].item + 1);
    return buf;
}
static llx_status fc_load(const source *s, size_t i, llx_image *out, llx_error *err)
{
    const fer_csv *f = s->ctx;
    *out = (llx_image){0};
    if (f->bad[i]) {
        char d[4200];
        return llx_errorf(err, LLX_ERR_IO, "%s: pixels: %s", fc_describe(s, i, d, sizeof d),
                          f->bad[i] == 1 ? "expected 2304 space-separated values (48x48)"
                                         : "a value outside 0..255");
    }
    uint8_t *data = malloc(FER_PIXELS);
    if (!data) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory for a 48x48 image");
    memcpy(data, f->pixels + i * FER_PIXELS, FER_PIXELS);
    *out = (llx_image){.width = FER_SIDE, .height = FER_SIDE, .channels = 1, .data = data};
    return LLX_OK;
}
static void fc_free(source *s)
{
    fer_csv *f = s->ctx;
    if (f) {
        free(f->path);
        free(f->s);
        free(f->pixels);
        free(f->bad);
        free(f);
    }
    free(s);
}
static const source_ops fer_csv_ops = {
    .size = fc_size, .info = fc_info, .load = fc_load, .describe = fc_describe, .free = fc_free};

static int parse_pixels(const char *text, uint8_t *px)
{
    const char *p = text;
    for (int k = 0; k < FER_PIXELS; k++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) return 1;
        if (v < 0 || v > 255) return 2;
        px[k] = (uint8_t)v;
        p = end;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p ? 1 : 0;
}

/* FER+ labels for every data row of fer2013new.csv: canonical class, -1 invalid, -2 class. */
static llx_status read_ferplus(const char *path, int **labels, size_t *n, llx_error *err)
{
    static const char *const votes[] = {"neutral", "happiness", "surprise", "sadness", "anger",
                                        "disgust", "fear",      "contempt", "unknown", "NF"};
    static const int canon[] = {LLX_NEUTRAL, LLX_HAPPINESS, LLX_SURPRISE, LLX_SADNESS, LLX_ANGER,
                                LLX_DISGUST, LLX_FEAR,      -2,           -2,          -2};
    char *text;
    size_t len;
    LLX_TRY(llx_read_text(path, &text, &len, err));
    csv_reader r = {.text = text, .len = len};
    int col[10], nf = llx_csv_next(&r);
    llx_status st = LLX_OK;
    for (int v = 0; v < 10; v++)
        if ((col[v] = llx_csv_column(&r, nf, votes[v])) < 0) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:1: FER+ header lacks column '%s'", path, votes[v]);
            break;
        }
    int *lab = NULL;
    size_t cnt = 0, cap = 0;
    while (st == LLX_OK && (nf = llx_csv_next(&r)) != 0) {
        if (nf < 0) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: unterminated quote", path, r.line);
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 4096;
            int *nl = realloc(lab, cap * sizeof *nl);
            if (!nl) {
                st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            lab = nl;
        }
        long best = 0;
        int arg = -1;
        for (int v = 0; v < 10; v++) {
            long c = col[v] < nf ? strtol(r.fields[col[v]], NULL, 10) : 0;
            if (c > best) best = c, arg = v;
        }
        lab[cnt++] = arg < 0 ? -1 : canon[arg];
    }
    llx_csv_free(&r);
    free(text);
    if (st != LLX_OK) {
        free(lab);
        return st;
    }
    *labels = lab;
    *n = cnt;
    return LLX_OK;
}

static llx_status open_csv(const llx_cfg *src, const char *path, const char *split, source **out,
                           llx_error *err)
{
    const char *usage = strcmp(split, "train") == 0 ? "Training"
                        : strcmp(split, "val") == 0 ? "PublicTest"
                                                    : "PrivateTest";
    const char *ferplus;
    LLX_TRY(llx_source_str(src, "ferplus", NULL, &ferplus, err));
    int *plus = NULL;
    size_t n_plus = 0;
    if (ferplus) LLX_TRY(read_ferplus(ferplus, &plus, &n_plus, err));
    char *text;
    size_t len;
    llx_status st = llx_read_text(path, &text, &len, err);
    if (st != LLX_OK) {
        free(plus);
        return st;
    }
    fer_csv *f = calloc(1, sizeof *f);
    source *s = llx_source_new(&fer_csv_ops, f);
    csv_reader r = {.text = text, .len = len};
    if (!f || !s || !(f->path = strdup(path))) {
        st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    int nf = llx_csv_next(&r);
    int c_emo = llx_csv_column(&r, nf, "emotion");
    int c_pix = llx_csv_column(&r, nf, "pixels");
    int c_use = llx_csv_column(&r, nf, "Usage");
    if (c_emo < 0 || c_pix < 0 || c_use < 0) {
        st = llx_errorf(err, LLX_ERR_PARSE, "%s:1: expected a header with columns emotion, pixels, Usage",
                        path);
        goto done;
    }
    int64_t row = -1;
    while ((nf = llx_csv_next(&r)) != 0) {
        row++;
        if (nf < 0) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: unterminated quote", path, r.line);
            goto done;
        }
        if (nf <= c_emo || nf <= c_pix || nf <= c_use) {
            int need = c_emo > c_pix ? c_emo : c_pix;
            need = (need > c_use ? need : c_use) + 1;
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: expected %d fields, got %d", path, r.line, need, nf);
            goto done;
        }
        if (strcmp(r.fields[c_use], usage) != 0) continue;
        char *end;
        long e = strtol(r.fields[c_emo], &end, 10);
        if (end == r.fields[c_emo] || *end || e < 0 || e > 6) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: emotion '%s' is not 0..6", path, r.line,
                            r.fields[c_emo]);
            goto done;
        }
        int label = fer_to_canonical[e];
        if (plus) {
            if ((size_t)row >= n_plus) {
                st = llx_errorf(err, LLX_ERR_PARSE, "%s: has fewer rows than %s (row %lld)", ferplus, path,
                                (long long)row + 1);
                goto done;
            }
            label = plus[row];
            if (label == -1) s->stats.dropped_invalid++;
            if (label == -2) s->stats.dropped_class++;
            if (label < 0) continue;
        }
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 4096;
            llx_sample *ns = realloc(f->s, cap * sizeof *ns);
            if (ns) f->s = ns;
            uint8_t *np = ns ? realloc(f->pixels, cap * FER_PIXELS) : NULL;
            if (np) f->pixels = np;
            uint8_t *nb = np ? realloc(f->bad, cap) : NULL;
            if (!nb) {
                st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory reading %s", path);
                goto done;
            }
            f->bad = nb;
            f->cap = cap;
        }
        f->s[f->n] = (llx_sample){.label = label, .video = -1, .frame = -1, .item = row};
        f->bad[f->n] = (uint8_t)parse_pixels(r.fields[c_pix], f->pixels + f->n * FER_PIXELS);
        f->n++;
    }
done:
    llx_csv_free(&r);
    free(text);
    free(plus);
    if (st != LLX_OK) {
        if (s)
            fc_free(s);
        else
            free(f);
        return st;
    }
    *out = s;
    return LLX_OK;
}

static const char *const fer2013_keys[] = {"csv", "ferplus", NULL};

llx_status llx_dataset_open_fer2013(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                    llx_error *err)
{
    LLX_TRY(llx_source_check_keys(src, fer2013_keys, err));
    const char *root, *csv;
    int is_dir;
    LLX_TRY(llx_source_root(src, &root, &is_dir, err));
    LLX_TRY(llx_source_str(src, "csv", "fer2013.csv", &csv, err));
    char path[4096], where[600];
    if (!is_dir) return open_csv(src, root, split, out, err);
    snprintf(path, sizeof path, "%s/%s", root, csv);
    if (llx_path_exists(path)) return open_csv(src, path, split, out, err);
    if (llx_cfg_get(src, "ferplus"))
        return llx_errorf(err, LLX_ERR_INVALID, "%s: 'ferplus' needs the CSV form (%s not found in '%s')",
                          llx_source_where(src, where, sizeof where), csv, root);

    /* image-folder form */
    int train = strcmp(split, "train") == 0;
    snprintf(path, sizeof path, "%s/%s", root, train ? "train" : "test");
    if (!llx_path_exists(path))
        return llx_errorf(err, LLX_ERR_IO,
                          "%s: '%s' has neither %s nor the folder %s/ (FER2013 comes as "
                          "fer2013.csv or as train/ and test/ image folders)",
                          llx_source_where(src, where, sizeof where), root, csv, train ? "train" : "test");
    const char *prefix = train ? "Training_" : strcmp(split, "val") == 0 ? "PublicTest_" : "PrivateTest_";
    filelist *fl = llx_filelist_new();
    if (!fl) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    llx_data_stats stats = {0};
    llx_status st = llx_scan_class_folders(fl, path, prefix, &stats, err);
    if (st != LLX_OK) {
        llx_filelist_free(fl);
        return st;
    }
    return llx_filelist_source(fl, &stats, out, err);
}
