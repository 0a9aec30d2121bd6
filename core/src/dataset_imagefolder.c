/* dataset_imagefolder.c: format `imagefolder`: root/<split>/<class>/<image>.
 *
 * Keys:
 *   root:    the folder holding one sub-folder per split
 *   folders: {train: train, val: val, test: test}: the sub-folder of each split (default:
 *            the first that exists of train|training, val|valid|validation, test|testing)
 * Class folders are named by any spelling llx_class_from_name knows (angry, happy,
 * surprised, ...); other folders (contempt, ...) are counted as dropped_class. Images are
 * .jpg, .jpeg or .png files (any case), sorted by class folder then file name. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_impl.h"

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot &&
           (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

llx_status llx_scan_class_folders(filelist *fl, const char *dir, const char *prefix, llx_data_stats *stats,
                                  llx_error *err)
{
    char **classes;
    size_t n_classes;
    LLX_TRY(llx_list_dir(dir, 1, &classes, &n_classes, err));
    llx_status st = LLX_OK;
    char path[4096];
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t c = 0; st == LLX_OK && c < n_classes; c++) {
        int cls = llx_class_from_name(classes[c]);
        snprintf(path, sizeof path, "%s/%s", dir, classes[c]);
        char **files;
        size_t n_files;
        st = llx_list_dir(path, 0, &files, &n_files, err);
        if (st != LLX_OK) break;
        uint32_t di = 0;
        if (cls >= 0) st = llx_filelist_dir(fl, path, &di, err);
        for (size_t f = 0; st == LLX_OK && f < n_files; f++) {
            if (!is_image_name(files[f])) continue;
            if (prefix && strncmp(files[f], prefix, plen) != 0) continue;
            if (cls < 0)
                stats->dropped_class++;
            else
                st = llx_filelist_add(fl, di, files[f], cls, -1, -1, -1, err);
        }
        llx_free_names(files, n_files);
    }
    llx_free_names(classes, n_classes);
    return st;
}

static const char *const imagefolder_keys[] = {"folders", NULL};

llx_status llx_dataset_open_imagefolder(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                        llx_error *err)
{
    static const char *const aliases[][4] = {
        {"train", "train", "training", NULL},
        {"val", "val", "valid", "validation"},
        {"test", "test", "testing", NULL},
    };
    LLX_TRY(llx_source_check_keys(src, imagefolder_keys, err));
    const char *root;
    int is_dir;
    LLX_TRY(llx_source_root(src, &root, &is_dir, err));
    char where[600], dir[4096];
    llx_source_where(src, where, sizeof where);
    if (!is_dir) return llx_errorf(err, LLX_ERR_INVALID, "%s: root '%s' is not a folder", where, root);

    const llx_cfg *folders = llx_cfg_get(src, "folders");
    const char *sub = NULL;
    if (folders) {
        const llx_cfg *f = llx_cfg_get(folders, split);
        if (llx_cfg_kind_of(folders) != LLX_CFG_MAP || (f && !llx_cfg_str(f))) {
            char loc[512];
            return llx_errorf(err, LLX_ERR_INVALID,
                              "%skey 'folders': expected a map split -> sub-folder "
                              "(e.g. {train: Training, val: PublicTest})",
                              llx_cfg_loc_str(f ? f : folders, loc, sizeof loc));
        }
        if (f) sub = llx_cfg_str(f);
    }
    if (!sub) {
        for (int i = 0; i < 3; i++) {
            if (strcmp(aliases[i][0], split) != 0) continue;
            for (int j = 1; j < 4 && aliases[i][j] && !sub; j++) {
                snprintf(dir, sizeof dir, "%s/%s", root, aliases[i][j]);
                if (llx_path_exists(dir)) sub = aliases[i][j];
            }
        }
    }
    if (!sub)
        return llx_errorf(err, LLX_ERR_IO,
                          "%s: no folder for split '%s' in '%s' (looked for %s): name it in "
                          "'folders' or use 'split'",
                          where, split, root,
                          strcmp(split, "train") == 0 ? "train, training"
                          : strcmp(split, "val") == 0 ? "val, valid, validation"
                                                      : "test, testing");
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    filelist *fl = llx_filelist_new();
    if (!fl) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    llx_data_stats stats = {0};
    llx_status st = llx_scan_class_folders(fl, dir, NULL, &stats, err);
    if (st != LLX_OK) {
        llx_filelist_free(fl);
        return st;
    }
    return llx_filelist_source(fl, &stats, out, err);
}
