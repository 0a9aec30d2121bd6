/* dataset_impl.h: the interface between llx_dataset (dataset.c) and its formats.
 *
 * A format opens one data source for one split and returns a `struct source`:
 * a vtable over its samples in a fixed, deterministic order, with labels
 * already mapped to the canonical classes. dataset.c does everything common
 * to all formats on top: the `classes` filter, `subsample`, `limit`,
 * `max_bad`, the split override, and the unknown-key check of common keys.
 *
 * Contract for a format's open function (llx_dataset_open_<format>):
 *  - Called with the source's YAML map, the split already resolved to
 *    "train", "val" or "test", and the dataset seed (use it for anything
 *    random so a run is reproducible; the same seed gives the same samples).
 *  - First call llx_source_check_keys(src, <NULL-terminated list of the
 *    format's own keys>, err): the common keys (format, root, path, split,
 *    classes, subsample, max_bad, limit) are always allowed.
 *  - A format reading files gets its root through llx_source_root, which
 *    produces the "root does not exist" message with the variable to set.
 *  - Errors carry the YAML location (llx_cfg_loc_str) or the file:line of
 *    the label file. On failure *out is untouched and nothing leaks.
 *  - Samples it drops itself (invalid labels, classes outside the 7, missing
 *    image files) are counted in (*out)->stats.
 *  - vtable: size and info are called while opening; load and describe may be
 *    called concurrently from loader threads, so they must not modify the
 *    source (no shared scratch buffers, no lazy caches without a lock).
 *
 * Synthetic faces (core/src/synthetic.c) follow the same contract without files:
 * info() gives label, video = -1, frame = -1, item = the sample index; load()
 * renders the face in memory; describe() says e.g. "synthetic train #17 (seed 42)". */
#ifndef LLX_DATASET_IMPL_H
#define LLX_DATASET_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fileio_impl.h"
#include "llx/data.h"

struct source;

typedef struct source_ops {
    /* Number of samples. */
    size_t (*size)(const struct source *s);
    /* Sample i: label (canonical class), video, frame, item; `source` is set by dataset.c. */
    void (*info)(const struct source *s, size_t i, llx_sample *out);
    /* Decodes sample i into out (malloc'd data). Thread-safe. Errors: LLX_ERR_IO naming
     * the file (or row) and the reason. */
    llx_status (*load)(const struct source *s, size_t i, llx_image *out, llx_error *err);
    /* "path/to/file.jpg" or "fer2013.csv row 17" into buf; returns buf. Thread-safe. */
    const char *(*describe)(const struct source *s, size_t i, char *buf, size_t cap);
    /* Frees ctx and the source itself. */
    void (*free)(struct source *s);
} source_ops;

typedef struct source {
    const source_ops *ops;
    void *ctx;            /* the format's state */
    llx_data_stats stats; /* drops counted by the format (kept is filled by dataset.c) */
} source;

/* Allocates a zeroed source with ops and ctx; NULL when out of memory. */
source *llx_source_new(const source_ops *ops, void *ctx);

/* Fails on a key of src that is neither common nor in `keys` (NULL-terminated):
 * "exp.yaml:4:5: data source 'rafdb': unknown key 'imges' (did you mean 'images'?)". */
llx_status llx_source_check_keys(const llx_cfg *src, const char *const *keys, llx_error *err);

/* The source's `root` (or `path`) as given: it must exist. *is_dir tells a folder from a
 * file (may be NULL). The error names the key, the path and the variable to set. */
llx_status llx_source_root(const llx_cfg *src, const char **root, int *is_dir, llx_error *err);

/* A format-specific string key with a default (NULL when absent and no default). */
llx_status llx_source_str(const llx_cfg *src, const char *key, const char *def, const char **out,
                          llx_error *err);

/* "exp.yaml:3:5: data source 'rafdb'" for messages (the location of the map). */
const char *llx_source_where(const llx_cfg *src, char *buf, size_t cap);

/* ---- the file-list source shared by the formats that read image files ---- */
typedef struct filelist filelist;
filelist *llx_filelist_new(void);
/* Adds a directory (returned index) that later entries are relative to. */
llx_status llx_filelist_dir(filelist *fl, const char *dir, uint32_t *index, llx_error *err);
/* Adds file dirs[dir]/name; name NULL means "%05d.jpg" of frame (Aff-Wild2); item < 0
 * means the entry's own row in the list. */
llx_status llx_filelist_add(filelist *fl, uint32_t dir, const char *name, int label, int video, int frame,
                            int64_t item, llx_error *err);
/* Makes a source of fl (which it takes over, also on failure). */
llx_status llx_filelist_source(filelist *fl, const llx_data_stats *stats, source **out, llx_error *err);
void llx_filelist_free(filelist *fl);

/* Sorted names of the entries of dir (no "." and ".."); only directories when
 * dirs_only, else only regular files. *names is an array of malloc'd strings. */
llx_status llx_list_dir(const char *dir, int dirs_only, char ***names, size_t *n, llx_error *err);
void llx_free_names(char **names, size_t n);
/* Whether path exists (as anything). */
int llx_path_exists(const char *path);

/* Adds dir/<class>/<file> for every class folder of dir (named by llx_class_from_name;
 * other folders count as dropped_class) and every .jpg/.jpeg/.png file whose name starts
 * with prefix (NULL: any), sorted by class folder then file name. */
llx_status llx_scan_class_folders(filelist *fl, const char *dir, const char *prefix, llx_data_stats *stats,
                                  llx_error *err);

/* ---- CSV ---- */
/* Splits one CSV record of text at *pos (RFC 4180: quoted fields, "" escapes,
 * CRLF or LF) into fields (pointers into buf, a copy it owns and reuses).
 * Returns the number of fields, 0 at the end of text, -1 on an unterminated quote. */
typedef struct csv_reader {
    const char *text;
    size_t len, pos;
    long line;    /* line where the record just read starts (1-based) */
    long pending; /* newlines inside quotes of that record */
    char *buf;
    size_t buf_cap;
    char **fields;
    size_t *offs;
    size_t fields_cap;
} csv_reader;
int llx_csv_next(csv_reader *r);
/* Index of the field named `name` (ignoring case) among the nf fields just read, or -1. */
int llx_csv_column(const csv_reader *r, int nf, const char *name);
void llx_csv_free(csv_reader *r);

/* ---- formats ---- */
typedef llx_status (*source_open_fn)(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                     llx_error *err);
llx_status llx_dataset_open_imagefolder(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                        llx_error *err);
llx_status llx_dataset_open_fer2013(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                    llx_error *err);
llx_status llx_dataset_open_affwild2(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                     llx_error *err);
llx_status llx_dataset_open_rafdb(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                  llx_error *err);
llx_status llx_dataset_open_affectnet(const llx_cfg *src, const char *split, uint64_t seed, source **out,
                                      llx_error *err);
llx_status llx_dataset_open_synthetic(const llx_cfg *src, const char *split, uint64_t seed,
                                      struct source **out, llx_error *err);

#endif
