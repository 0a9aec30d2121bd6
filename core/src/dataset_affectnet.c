/* dataset_affectnet.c: format `affectnet`: AffectNet (manually annotated part).
 *
 * Layout: root/training.csv and root/validation.csv with the columns
 * subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks,
 * expression, valence, arousal (facial_landmarks is a quoted ';'-separated field; the
 * validation file often comes without the header line: detected by its first field).
 * Images: root/<images>/<subDirectory_filePath>.
 * Splits: train = training.csv, val and test = validation.csv (the test set is not public).
 * Labels: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger; 7 contempt,
 * 8 none, 9 uncertain, 10 no-face are dropped_class; a listed image that does not exist
 * is dropped_missing. Order: as listed.
 * Keys:
 *   root:   the AffectNet folder
 *   images: the image folder under root (default Manually_Annotated_Images)
 *   train_csv, val_csv: the label files under root (default training.csv, validation.csv) */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_impl.h"

static const int affectnet_to_canonical[7] = {LLX_NEUTRAL, LLX_HAPPINESS, LLX_SADNESS, LLX_SURPRISE,
                                              LLX_FEAR,    LLX_DISGUST,   LLX_ANGER};

static const char *const affectnet_keys[] = {"images", "train_csv", "val_csv", NULL};

llx_status llx_dataset_open_affectnet(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                      llx_error *err)
{
    LLX_TRY(llx_source_check_keys(src, affectnet_keys, err));
    const char *root, *images, *csv;
    LLX_TRY(llx_source_root(src, &root, NULL, err));
    LLX_TRY(llx_source_str(src, "images", "Manually_Annotated_Images", &images, err));
    int train = strcmp(split, "train") == 0;
    LLX_TRY(llx_source_str(src, train ? "train_csv" : "val_csv", train ? "training.csv" : "validation.csv",
                           &csv, err));
    char where[600], list[4096], dir[4096], path[8192];
    llx_source_where(src, where, sizeof where);
    snprintf(list, sizeof list, "%s/%s", root, csv);
    if (!llx_path_exists(list))
        return llx_errorf(err, LLX_ERR_IO, "%s: label file '%s' does not exist", where, list);
    snprintf(dir, sizeof dir, "%s/%s", root, images);

    char *text;
    size_t len;
    LLX_TRY(llx_read_text(list, &text, &len, err));
    csv_reader r = {.text = text, .len = len};
    filelist *fl = llx_filelist_new();
    llx_data_stats stats = {0};
    uint32_t di = 0;
    llx_status st =
        fl ? llx_filelist_dir(fl, dir, &di, err) : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    int c_path = 0, c_expr = 6, first = 1;
    int64_t row = -1;
    int nf;
    while (st == LLX_OK && (nf = llx_csv_next(&r)) != 0) {
        if (nf < 0) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: unterminated quote", list, r.line);
            break;
        }
        if (first) {
            first = 0;
            if (strcasecmp(r.fields[0], "subDirectory_filePath") == 0) { /* a header */
                c_path = llx_csv_column(&r, nf, "subDirectory_filePath");
                c_expr = llx_csv_column(&r, nf, "expression");
                if (c_expr < 0) {
                    st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: header lacks 'expression'", list, r.line);
                    break;
                }
                continue;
            }
        }
        row++;
        if (nf <= c_path || nf <= c_expr) {
            st = llx_errorf(err, LLX_ERR_PARSE,
                            "%s:%ld: expected at least %d fields, got %d (is a field with ',' "
                            "unquoted?)",
                            list, r.line, (c_path > c_expr ? c_path : c_expr) + 1, nf);
            break;
        }
        char *end;
        long e = strtol(r.fields[c_expr], &end, 10);
        if (end == r.fields[c_expr] || *end || e < 0 || e > 10) {
            st = llx_errorf(err, LLX_ERR_PARSE, "%s:%ld: expression '%s' is not 0..10", list, r.line,
                            r.fields[c_expr]);
            break;
        }
        if (e >= 7) {
            stats.dropped_class++;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, r.fields[c_path]);
        if (!llx_path_exists(path))
            stats.dropped_missing++;
        else
            st = llx_filelist_add(fl, di, r.fields[c_path], affectnet_to_canonical[e], -1, -1, row, err);
    }
    llx_csv_free(&r);
    free(text);
    if (st != LLX_OK) {
        llx_filelist_free(fl);
        return st;
    }
    return llx_filelist_source(fl, &stats, out, err);
}
