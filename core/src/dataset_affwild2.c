/* dataset_affwild2.c: format `affwild2`: Aff-Wild2 expression labels (ABAW 2020).
 *
 * Layout: root/<images>/<video>/<NNNNN>.jpg (5 digits, 1-based frame numbers) and
 * root/<annotations>/{Training_Set,Validation_Set}/<video>.txt: an optional header line
 * (Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise) then one integer per frame.
 * Labels are canonical already: -1 is dropped_invalid, 7 (Other) dropped_class, and a
 * labelled frame without an image file (videos have some) dropped_missing.
 * Splits: train = Training_Set, val = Validation_Set; ABAW withholds the test labels, so
 * split test is an error (write split: {test: val} to report on the validation set).
 * Videos are numbered in name order (sample.video), frames by their number (sample.frame).
 * Keys:
 *   root:        the Aff-Wild2 folder
 *   images:      the image folder under root (default cropped_aligned)
 *   annotations: the label folder under root (default annotations/EXPR_Set) */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_impl.h"

/* Frame numbers that have an image in dir, as a bitmap up to max_frame. */
static llx_status present_frames(const char *dir, int max_frame, uint8_t **present, llx_error *err)
{
    uint8_t *p = calloc((size_t)max_frame + 2, 1);
    if (!p) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    *present = p;
    if (!llx_path_exists(dir)) return LLX_OK; /* every frame missing */
    char **names;
    size_t n;
    LLX_TRY(llx_list_dir(dir, 0, &names, &n, err));
    for (size_t i = 0; i < n; i++) {
        char *end;
        if (!isdigit((unsigned char)names[i][0])) continue;
        long f = strtol(names[i], &end, 10);
        if (strcmp(end, ".jpg") == 0 && f >= 1 && f <= max_frame) p[f] = 1;
    }
    llx_free_names(names, n);
    return LLX_OK;
}

/* Reads one label file into labels (one per frame, frame = index + 1). */
static llx_status read_labels(const char *path, int **labels, int *n, llx_error *err)
{
    char *text;
    size_t len;
    LLX_TRY(llx_read_text(path, &text, &len, err));
    int *lab = malloc((len / 2 + 1) * sizeof *lab); /* at most one label per two bytes */
    if (!lab) {
        free(text);
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory reading %s", path);
    }
    int count = 0;
    long line = 0;
    int blank_at = 0; /* line of a blank line, an error if data follows */
    llx_status st = LLX_OK;
    char *p = text;
    while (*p && st == LLX_OK) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = '\0';
        line++;
        char *s = p;
        while (isspace((unsigned char)*s))
            s++;
        size_t l = strlen(s);
        while (l && isspace((unsigned char)s[l - 1]))
            s[--l] = '\0';
        p = eol ? eol + 1 : p + strlen(p);
        if (!*s) {
            if (!blank_at) blank_at = (int)line;
            continue;
        }
        if (line == 1 && !isdigit((unsigned char)*s) && *s != '-') {
            if (strncasecmp(s, "neutral", 7) != 0)
                st = llx_errorf(err, LLX_ERR_PARSE,
                                "%s:1: expected the header Neutral,Anger,... or a label, got '%.40s'", path,
                                s);
            continue;
        }
        if (blank_at) {
            st =
                llx_errorf(err, LLX_ERR_PARSE,
                           "%s:%d: blank line inside the labels (frame numbers would shift)", path, blank_at);
            break;
        }
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || *end || v < -1 || v > 7)
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: label '%.40s' is not -1..7", path, line, s);
        else
            lab[count++] = (int)v;
    }
    free(text);
    if (st != LLX_OK) {
        free(lab);
        return st;
    }
    *labels = lab;
    *n = count;
    return LLX_OK;
}

static const char *const affwild2_keys[] = {"images", "annotations", NULL};

llx_status llx_dataset_open_affwild2(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                     llx_error *err)
{
    LLX_TRY(llx_source_check_keys(src, affwild2_keys, err));
    const char *root, *images, *annotations;
    LLX_TRY(llx_source_root(src, &root, NULL, err));
    LLX_TRY(llx_source_str(src, "images", "cropped_aligned", &images, err));
    LLX_TRY(llx_source_str(src, "annotations", "annotations/EXPR_Set", &annotations, err));
    char where[600], dir[4096], path[8192];
    llx_source_where(src, where, sizeof where);
    if (strcmp(split, "test") == 0)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "%s: Aff-Wild2 has no labelled test split (ABAW withholds it): write "
                          "split: {test: val} to evaluate on Validation_Set",
                          where);
    const char *set = strcmp(split, "train") == 0 ? "Training_Set" : "Validation_Set";
    snprintf(dir, sizeof dir, "%s/%s/%s", root, annotations, set);
    if (!llx_path_exists(dir))
        return llx_errorf(err, LLX_ERR_IO,
                          "%s: label folder '%s' does not exist (expected "
                          "<root>/%s/{Training_Set,Validation_Set}/<video>.txt)",
                          where, dir, annotations);
    char **files;
    size_t n_files;
    LLX_TRY(llx_list_dir(dir, 0, &files, &n_files, err));
    filelist *fl = llx_filelist_new();
    llx_data_stats stats = {0};
    llx_status st = fl ? LLX_OK : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    int video = 0;
    for (size_t v = 0; st == LLX_OK && v < n_files; v++) {
        size_t l = strlen(files[v]);
        if (l <= 4 || strcmp(files[v] + l - 4, ".txt") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, files[v]);
        int *labels = NULL, n = 0;
        st = read_labels(path, &labels, &n, err);
        if (st != LLX_OK) break;
        files[v][l - 4] = '\0';
        snprintf(path, sizeof path, "%s/%s/%s", root, images, files[v]);
        uint8_t *present = NULL;
        uint32_t di = 0;
        st = present_frames(path, n, &present, err);
        if (st == LLX_OK) st = llx_filelist_dir(fl, path, &di, err);
        for (int i = 0; st == LLX_OK && i < n; i++) {
            if (labels[i] == -1)
                stats.dropped_invalid++;
            else if (labels[i] >= LLX_NUM_CLASSES)
                stats.dropped_class++;
            else if (!present[i + 1])
                stats.dropped_missing++;
            else
                st = llx_filelist_add(fl, di, NULL, labels[i], video, i + 1, i, err);
        }
        free(present);
        free(labels);
        video++;
    }
    llx_free_names(files, n_files);
    if (st != LLX_OK) {
        llx_filelist_free(fl);
        return st;
    }
    return llx_filelist_source(fl, &stats, out, err);
}
