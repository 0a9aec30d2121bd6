/* dataset_rafdb.c: format `rafdb`: RAF-DB basic emotions.
 *
 * Layout: root/EmoLabel/list_patition_label.txt (sic; list_partition_label.txt is also
 * tried) with lines "train_00001.jpg 5"; images root/Image/aligned/train_00001_aligned.jpg.
 * Splits by name prefix: train = train_*, val and test = test_* (RAF-DB has no val set).
 * Labels: 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral.
 * A listed image that does not exist is dropped_missing. Order: as listed.
 * Keys:
 *   root:   the RAF-DB basic folder
 *   labels: the label list under root (default EmoLabel/list_patition_label.txt)
 *   images: the image folder under root (default Image/aligned)
 *   suffix: added to the stem of each listed name (default _aligned; "" for Image/original) */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_impl.h"

static const int raf_to_canonical[8] = {-1,          LLX_SURPRISE, LLX_FEAR,   LLX_DISGUST, LLX_HAPPINESS,
                                        LLX_SADNESS, LLX_ANGER,    LLX_NEUTRAL};

static const char *const rafdb_keys[] = {"labels", "images", "suffix", NULL};

llx_status llx_dataset_open_rafdb(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                  llx_error *err)
{
    LLX_TRY(llx_source_check_keys(src, rafdb_keys, err));
    const char *root, *labels, *images, *suffix;
    LLX_TRY(llx_source_root(src, &root, NULL, err));
    LLX_TRY(llx_source_str(src, "labels", NULL, &labels, err));
    LLX_TRY(llx_source_str(src, "images", "Image/aligned", &images, err));
    LLX_TRY(llx_source_str(src, "suffix", "_aligned", &suffix, err));
    char where[600], list[4096], path[8192], dir[4096], name[1024];
    llx_source_where(src, where, sizeof where);
    if (labels) {
        snprintf(list, sizeof list, "%s/%s", root, labels);
    } else {
        snprintf(list, sizeof list, "%s/EmoLabel/list_patition_label.txt", root);
        if (!llx_path_exists(list)) snprintf(list, sizeof list, "%s/EmoLabel/list_partition_label.txt", root);
    }
    if (!llx_path_exists(list))
        return llx_errorf(err, LLX_ERR_IO,
                          "%s: label list '%s' does not exist (RAF-DB basic has "
                          "EmoLabel/list_patition_label.txt)",
                          where, list);
    snprintf(dir, sizeof dir, "%s/%s", root, images);
    const char *prefix = strcmp(split, "train") == 0 ? "train_" : "test_";
    size_t plen = strlen(prefix);

    char *text;
    size_t len;
    LLX_TRY(llx_read_text(list, &text, &len, err));
    filelist *fl = llx_filelist_new();
    llx_data_stats stats = {0};
    uint32_t di = 0;
    llx_status st =
        fl ? llx_filelist_dir(fl, dir, &di, err) : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    long line = 0;
    int64_t row = -1;
    char *p = text;
    while (st == LLX_OK && *p) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = '\0';
        char *s = p;
        p = eol ? eol + 1 : p + strlen(p);
        line++;
        char file[1024];
        int label;
        char tail;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s) continue;
        row++;
        if (sscanf(s, "%1023s %d %c", file, &label, &tail) != 2 || label < 1 || label > 7) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: expected '<name>.jpg <label 1..7>', got '%.60s'",
                            list, line, s);
            break;
        }
        if (strncmp(file, prefix, plen) != 0) continue;
        char *dot = strrchr(file, '.');
        const char *ext = dot ? dot : "";
        int stem = dot ? (int)(dot - file) : (int)strlen(file);
        snprintf(name, sizeof name, "%.*s%s%s", stem, file, suffix, ext);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (!llx_path_exists(path))
            stats.dropped_missing++;
        else
            st = llx_filelist_add(fl, di, name, raf_to_canonical[label], -1, -1, row, err);
    }
    free(text);
    if (st != LLX_OK) {
        llx_filelist_free(fl);
        return st;
    }
    return llx_filelist_source(fl, &stats, out, err);
}
