/* runfile.c: writing run.h5 (see llx/runfile.h and results/README.md). Every
 * HDF5 call that can fail goes through H5_CHECK, which keeps the statement's
 * text for the message. */
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "h5util_impl.h"
#include "llx/llx.h"
#include "llx/runfile.h"

#define H5_CHECK(stmt)                                                                                       \
    do {                                                                                                     \
        if ((stmt) < 0) {                                                                                    \
            st = llx_errorf(err, LLX_ERR_IO, "run file %s: HDF5 failed: %s", path, #stmt);                   \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

/* ---- the history columns: name and value of one epoch ---- */
enum {
    COL_EPOCH,
    COL_LR,
    COL_TRAIN_LOSS,
    COL_TRAIN_ACC,
    COL_VAL_LOSS,
    COL_VAL_ACC,
    COL_VAL_F1,
    COL_VAL_ABAW,
    COL_VAL_ACC_CLASS,                                      /* 7 columns */
    COL_VAL_F1_CLASS = COL_VAL_ACC_CLASS + LLX_NUM_CLASSES, /* 7 columns */
    COL_SECONDS = COL_VAL_F1_CLASS + LLX_NUM_CLASSES,
    COL_IMAGES_PER_SECOND,
    COL_LOSS_SCALE,    /* loss scaling's S at the epoch's end (1 without), llx/loss_scale.h */
    COL_SKIPPED_STEPS, /* steps the epoch skipped for non-finite gradients */
    COL_COUNT
};

static void column_name(int c, char *buf, size_t cap)
{
    static const char *const fixed[] = {"epoch",    "lr",           "train_loss",   "train_accuracy",
                                        "val_loss", "val_accuracy", "val_macro_f1", "val_abaw"};
    if (c < COL_VAL_ACC_CLASS)
        snprintf(buf, cap, "%s", fixed[c]);
    else if (c < COL_VAL_F1_CLASS)
        snprintf(buf, cap, "val_acc_%s", llx_class_name(c - COL_VAL_ACC_CLASS));
    else if (c < COL_SECONDS)
        snprintf(buf, cap, "val_f1_%s", llx_class_name(c - COL_VAL_F1_CLASS));
    else {
        static const char *const tail[] = {"seconds", "images_per_second", "loss_scale", "skipped_steps"};
        _Static_assert(COL_COUNT - COL_SECONDS == 4, "history column names");
        snprintf(buf, cap, "%s", tail[c - COL_SECONDS]);
    }
}

static double column_value(int c, const llx_epoch_result *e)
{
    switch (c) {
    case COL_EPOCH:
        return e->epoch;
    case COL_LR:
        return e->lr;
    case COL_TRAIN_LOSS:
        return e->train_loss;
    case COL_TRAIN_ACC:
        return e->train_accuracy;
    case COL_VAL_LOSS:
        return e->val_loss;
    case COL_VAL_ACC:
        return e->val.accuracy;
    case COL_VAL_F1:
        return e->val.macro_f1;
    case COL_VAL_ABAW:
        return e->val.abaw;
    case COL_SECONDS:
        return e->seconds;
    case COL_IMAGES_PER_SECOND:
        return e->images_per_second;
    case COL_LOSS_SCALE:
        return e->loss_scale;
    case COL_SKIPPED_STEPS:
        return (double)e->skipped_steps;
    default:
        return c < COL_VAL_F1_CLASS ? e->val.class_accuracy[c - COL_VAL_ACC_CLASS]
                                    : e->val.f1[c - COL_VAL_F1_CLASS];
    }
}

/* ---- the record in memory ---- */
void llx_runfile_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

llx_status llx_runfile_set(char **field, const char *value, llx_error *err)
{
    char *copy = strdup(value ? value : "");
    if (!copy) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    free(*field);
    *field = copy;
    return LLX_OK;
}

llx_status llx_runfile_init(llx_runfile *r, llx_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->state, sizeof r->state, "running");
    llx_runfile_now(r->start_time);
    r->best_value = -INFINITY;
    LLX_TRY(llx_runfile_set(&r->experiment, "", err));
    LLX_TRY(llx_runfile_set(&r->experiment_path, "", err));
    LLX_TRY(llx_runfile_set(&r->vars, "", err));
    LLX_TRY(llx_runfile_set(&r->sweep_vars, "", err));
    return LLX_OK;
}

void llx_runfile_free(llx_runfile *r)
{
    if (!r) return;
    free(r->experiment);
    free(r->experiment_path);
    free(r->vars);
    free(r->sweep_vars);
    free(r->error);
    free(r->epochs);
    llx_gitinfo_free(&r->git);
    memset(r, 0, sizeof *r);
}

llx_status llx_runfile_add_epoch(llx_runfile *r, const llx_epoch_result *e, llx_error *err)
{
    if (r->n_epochs == r->cap_epochs) {
        int cap = r->cap_epochs ? 2 * r->cap_epochs : 64;
        llx_epoch_result *grown = realloc(r->epochs, (size_t)cap * sizeof *grown);
        if (!grown) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        r->epochs = grown;
        r->cap_epochs = cap;
    }
    r->epochs[r->n_epochs++] = *e;
    double v = 0;
    if (llx_metrics_get(&e->val, r->select_metric, &v) == 0 && e->best)
        r->best_epoch = e->epoch, r->best_value = v;
    return LLX_OK;
}

void llx_runfile_truncate(llx_runfile *r, int n)
{
    if (n < r->n_epochs) r->n_epochs = n < 0 ? 0 : n;
}

/* ---- writing ---- */
/* /history: one float64 column per figure and the confusion matrices. */
static llx_status write_history(hid_t f, const llx_runfile *r, const char *path, llx_error *err)
{
    llx_status st = LLX_OK;
    hsize_t n = (hsize_t)r->n_epochs;
    double *col = malloc((n ? n : 1) * sizeof *col);
    int64_t *conf = malloc((n ? n : 1) * LLX_NUM_CLASSES * LLX_NUM_CLASSES * sizeof *conf);
    hid_t g = -1;
    if (!col || !conf) {
        st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        goto done;
    }
    H5_CHECK(g = H5Gcreate2(f, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int c = 0; c < COL_COUNT; c++) {
        char name[64];
        column_name(c, name, sizeof name);
        for (hsize_t i = 0; i < n; i++)
            col[i] = column_value(c, &r->epochs[i]);
        H5_CHECK(llx_h5_dataset(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, col));
    }
    for (hsize_t i = 0; i < n; i++)
        memcpy(conf + i * LLX_NUM_CLASSES * LLX_NUM_CLASSES, r->epochs[i].val_confusion.m,
               sizeof r->epochs[i].val_confusion.m);
    hsize_t dims[3] = {n, LLX_NUM_CLASSES, LLX_NUM_CLASSES};
    H5_CHECK(llx_h5_dataset(g, "val_confusion", H5T_STD_I64LE, H5T_NATIVE_INT64, 3, dims, conf));
done:
    if (g >= 0) H5Gclose(g);
    free(col);
    free(conf);
    return st;
}

/* /val_best or /test. */
static llx_status write_scores(hid_t f, const char *name, const llx_runfile_scores *s, const char *path,
                               llx_error *err)
{
    llx_status st = LLX_OK;
    hid_t g = -1;
    if (!s->present) return LLX_OK;
    hsize_t seven = LLX_NUM_CLASSES, dims[2] = {LLX_NUM_CLASSES, LLX_NUM_CLASSES};
    H5_CHECK(g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5_CHECK(llx_h5_f64_attr(g, "accuracy", s->m.accuracy));
    H5_CHECK(llx_h5_f64_attr(g, "macro_f1", s->m.macro_f1));
    H5_CHECK(llx_h5_f64_attr(g, "abaw", s->m.abaw));
    H5_CHECK(llx_h5_i64_attr(g, "epoch", s->epoch));
    H5_CHECK(llx_h5_dataset(g, "class_accuracy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &seven,
                            s->m.class_accuracy));
    H5_CHECK(llx_h5_dataset(g, "f1", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &seven, s->m.f1));
    H5_CHECK(llx_h5_dataset(g, "confusion", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, dims, s->c.m));
done:
    if (g >= 0) H5Gclose(g);
    return st;
}

static llx_status write_root(hid_t f, const llx_runfile *r, const char *path, llx_error *err)
{
    llx_status st = LLX_OK;
    const llx_gitinfo *git = &r->git;
    H5_CHECK(llx_h5_str_attr(f, "format", LLX_RUNFILE_FORMAT));
    H5_CHECK(llx_h5_i64_attr(f, "format_version", LLX_RUNFILE_VERSION));
    H5_CHECK(llx_h5_str_attr(f, "llx_version", LLX_VERSION));
    H5_CHECK(llx_h5_str_attr(f, "state", r->state));
    if (r->error) H5_CHECK(llx_h5_str_attr(f, "error", r->error));
    H5_CHECK(llx_h5_str_attr(f, "experiment", r->experiment));
    H5_CHECK(llx_h5_str_attr(f, "experiment_path", r->experiment_path));
    H5_CHECK(llx_h5_str_attr(f, "vars", r->vars));
    H5_CHECK(llx_h5_str_attr(f, "sweep_vars", r->sweep_vars));
    H5_CHECK(llx_h5_i64_attr(f, "seed", r->seed));
    H5_CHECK(llx_h5_i64_attr(f, "threads", r->threads));
    H5_CHECK(llx_h5_str_attr(f, "device", r->device));
    H5_CHECK(llx_h5_str_attr(f, "device_name", r->device_name));
    H5_CHECK(llx_h5_str_attr(f, "host", r->host));
    H5_CHECK(llx_h5_str_attr(f, "start_time", r->start_time));
    H5_CHECK(llx_h5_str_attr(f, "end_time", r->end_time));
    H5_CHECK(llx_h5_str_attr(f, "git_commit", git->commit));
    H5_CHECK(llx_h5_str_attr(f, "git_branch", git->branch));
    H5_CHECK(llx_h5_i64_attr(f, "git_dirty", git->dirty));
    H5_CHECK(llx_h5_str_attr(f, "git_diff", git->dirty && git->diff ? git->diff : ""));
    H5_CHECK(llx_h5_str_attr(f, "git_repo", git->repo));
    H5_CHECK(llx_h5_str_attr(f, "git_note", git->note));
    H5_CHECK(llx_h5_i64_attr(f, "params", r->params));
    H5_CHECK(llx_h5_i64_attr(f, "macs", r->macs));
    H5_CHECK(llx_h5_i64_attr(f, "epochs_total", r->epochs_total));
    H5_CHECK(llx_h5_i64_attr(f, "epochs_done", r->n_epochs));
    H5_CHECK(llx_h5_str_attr(f, "select_metric", r->select_metric));
    H5_CHECK(llx_h5_i64_attr(f, "best_epoch", r->best_epoch));
    H5_CHECK(llx_h5_f64_attr(f, "best_value", r->best_value));
done:
    return st;
}

/* Flushes a closed file's bytes to the disk before it is renamed into place. */
static void sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

llx_status llx_runfile_write(const llx_runfile *r, const char *path, llx_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = llx_h5_create(tmp);
    if (f < 0)
        return llx_errorf(err, LLX_ERR_IO, "run file %s: cannot create it (does its folder exist?)", tmp);
    llx_status st = write_root(f, r, path, err);
    if (st == LLX_OK) st = write_history(f, r, path, err);
    if (st == LLX_OK) st = write_scores(f, "val_best", &r->val_best, path, err);
    if (st == LLX_OK) st = write_scores(f, "test", &r->test, path, err);
    if (H5Fclose(f) < 0 && st == LLX_OK)
        st = llx_errorf(err, LLX_ERR_IO, "run file %s: cannot close it", tmp);
    if (st == LLX_OK) sync_file(tmp);
    if (st == LLX_OK && rename(tmp, path) != 0)
        st = llx_errorf(err, LLX_ERR_IO, "run file %s: cannot rename %s into place", path, tmp);
    if (st != LLX_OK) unlink(tmp);
    return st;
}

/* ---- reading back (resume) ---- */
static llx_status read_str(hid_t f, const char *name, char **out, const char *path, llx_error *err)
{
    char *v = llx_h5_read_str(f, name);
    if (!v)
        return llx_errorf(err, LLX_ERR_INVALID, "run file %s: no readable string '%s' attribute", path, name);
    free(*out);
    *out = v;
    return LLX_OK;
}

static llx_status read_str_buf(hid_t f, const char *name, char *buf, size_t cap, const char *path,
                               llx_error *err)
{
    char *v = NULL;
    llx_status st = read_str(f, name, &v, path, err);
    if (st == LLX_OK) snprintf(buf, cap, "%s", v);
    free(v);
    return st;
}

static llx_status read_num(hid_t f, const char *name, hid_t mem_type, void *out, const char *path,
                           llx_error *err)
{
    return llx_h5_read_num(f, name, mem_type, out) < 0
               ? llx_errorf(err, LLX_ERR_INVALID, "run file %s: no numeric '%s' attribute", path, name)
               : LLX_OK;
}

/* Reads /history/<name>, expect rows of row_values each, into out. */
static llx_status read_column(hid_t g, const char *name, hid_t mem_type, int64_t expect, int64_t row_values,
                              void *out, const char *path, llx_error *err)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return llx_errorf(err, LLX_ERR_INVALID, "run file %s: no /history/%s", path, name);
    hid_t space = H5Dget_space(ds);
    hsize_t dims[3] = {0};
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd >= 1 && nd <= 3) H5Sget_simple_extent_dims(space, dims, NULL);
    llx_status st = LLX_OK;
    if ((int64_t)dims[0] != expect)
        st = llx_errorf(err, LLX_ERR_INVALID, "run file %s: /history/%s has %llu rows, epochs_done is %lld",
                        path, name, (unsigned long long)dims[0], (long long)expect);
    else if (H5Sget_simple_extent_npoints(space) != expect * row_values) /* H5Dread below fills out whole */
        st = llx_errorf(err, LLX_ERR_INVALID, "run file %s: /history/%s does not have %lld values per row", path,
                        name, (long long)row_values);
    else if (expect > 0 && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        st = llx_errorf(err, LLX_ERR_IO, "run file %s: cannot read /history/%s", path, name);
    H5Sclose(space);
    H5Dclose(ds);
    return st;
}

static llx_status reload_history(hid_t f, llx_runfile *r, int64_t n, const char *path, llx_error *err)
{
    hid_t g = H5Gopen2(f, "history", H5P_DEFAULT);
    if (g < 0) return llx_errorf(err, LLX_ERR_INVALID, "run file %s: no /history group", path);
    double *col = malloc((size_t)(n ? n : 1) * sizeof *col);
    int64_t *conf = malloc((size_t)(n ? n : 1) * LLX_NUM_CLASSES * LLX_NUM_CLASSES * sizeof *conf);
    llx_epoch_result *e = calloc((size_t)(n ? n : 1), sizeof *e);
    llx_status st = col && conf && e ? LLX_OK : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    static const int cols[] = {COL_EPOCH,    COL_LR,      COL_TRAIN_LOSS,        COL_TRAIN_ACC, COL_VAL_LOSS,
                               COL_SECONDS,  COL_IMAGES_PER_SECOND, COL_LOSS_SCALE, COL_SKIPPED_STEPS};
    for (size_t c = 0; st == LLX_OK && c < sizeof cols / sizeof *cols; c++) {
        char name[64];
        column_name(cols[c], name, sizeof name);
        if (cols[c] >= COL_LOSS_SCALE && H5Lexists(g, name, H5P_DEFAULT) <= 0) {
            /* a run file from before loss scaling: S 1, nothing skipped */
            for (int64_t i = 0; i < n; i++) e[i].loss_scale = 1, e[i].skipped_steps = 0;
            continue;
        }
        st = read_column(g, name, H5T_NATIVE_DOUBLE, n, 1, col, path, err);
        for (int64_t i = 0; st == LLX_OK && i < n; i++) {
            double v = col[i];
            switch (cols[c]) {
            case COL_EPOCH:
                e[i].epoch = (int)v;
                break;
            case COL_LR:
                e[i].lr = v;
                break;
            case COL_TRAIN_LOSS:
                e[i].train_loss = v;
                break;
            case COL_TRAIN_ACC:
                e[i].train_accuracy = v;
                break;
            case COL_VAL_LOSS:
                e[i].val_loss = v;
                break;
            case COL_SECONDS:
                e[i].seconds = v;
                break;
            case COL_LOSS_SCALE:
                e[i].loss_scale = v;
                break;
            case COL_SKIPPED_STEPS:
                e[i].skipped_steps = (int64_t)v;
                break;
            default:
                e[i].images_per_second = v;
                break;
            }
        }
    }
    if (st == LLX_OK)
        st = read_column(g, "val_confusion", H5T_NATIVE_INT64, n, LLX_NUM_CLASSES * LLX_NUM_CLASSES, conf, path,
                         err);
    double best = -INFINITY;
    for (int64_t i = 0; st == LLX_OK && i < n; i++) {
        memcpy(e[i].val_confusion.m, conf + i * LLX_NUM_CLASSES * LLX_NUM_CLASSES,
               sizeof e[i].val_confusion.m);
        llx_metrics_compute(&e[i].val_confusion, &e[i].val); /* the same doubles as when it was written */
        double v = 0;
        llx_metrics_get(&e[i].val, r->select_metric, &v);
        e[i].best = v > best;
        if (e[i].best) best = v;
        st = llx_runfile_add_epoch(r, &e[i], err);
    }
    H5Gclose(g);
    free(col);
    free(conf);
    free(e);
    return st;
}

llx_status llx_runfile_reload(const char *path, llx_runfile *r, llx_error *err)
{
    LLX_TRY(llx_runfile_init(r, err));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0) return llx_errorf(err, LLX_ERR_IO, "run file %s: cannot read it", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return llx_errorf(err, LLX_ERR_IO, "run file %s: not an HDF5 file", path);
    char *format = NULL;
    int64_t version = -1, n = 0, dirty = 0;
    llx_status st = read_str(f, "format", &format, path, err);
    if (st == LLX_OK && strcmp(format, LLX_RUNFILE_FORMAT) != 0)
        st = llx_errorf(err, LLX_ERR_INVALID, "run file %s: format '%s', not an llx run file", path, format);
    if (st == LLX_OK) st = read_num(f, "format_version", H5T_NATIVE_INT64, &version, path, err);
    if (st == LLX_OK && version != LLX_RUNFILE_VERSION)
        st = llx_errorf(err, LLX_ERR_INVALID,
                        "run file %s: format version %lld, this llx reads version %d: use the llx "
                        "version that wrote it",
                        path, (long long)version, LLX_RUNFILE_VERSION);
    if (st == LLX_OK) st = read_str(f, "experiment", &r->experiment, path, err);
    if (st == LLX_OK) st = read_str(f, "experiment_path", &r->experiment_path, path, err);
    if (st == LLX_OK) st = read_str(f, "vars", &r->vars, path, err);
    if (st == LLX_OK) st = read_str(f, "sweep_vars", &r->sweep_vars, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "state", r->state, sizeof r->state, path, err);
    if (st == LLX_OK) st = read_num(f, "seed", H5T_NATIVE_INT64, &r->seed, path, err);
    if (st == LLX_OK && H5Aexists(f, "threads") > 0)
        st = read_num(f, "threads", H5T_NATIVE_INT64, &r->threads, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "device", r->device, sizeof r->device, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "device_name", r->device_name, sizeof r->device_name, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "host", r->host, sizeof r->host, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "start_time", r->start_time, sizeof r->start_time, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "end_time", r->end_time, sizeof r->end_time, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "git_commit", r->git.commit, sizeof r->git.commit, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "git_branch", r->git.branch, sizeof r->git.branch, path, err);
    if (st == LLX_OK) st = read_num(f, "git_dirty", H5T_NATIVE_INT64, &dirty, path, err);
    if (st == LLX_OK) st = read_str(f, "git_diff", &r->git.diff, path, err);
    if (st == LLX_OK) st = read_str_buf(f, "git_repo", r->git.repo, sizeof r->git.repo, path, err);
    if (st == LLX_OK && H5Aexists(f, "git_note") > 0)
        st = read_str_buf(f, "git_note", r->git.note, sizeof r->git.note, path, err);
    if (st == LLX_OK) st = read_num(f, "params", H5T_NATIVE_INT64, &r->params, path, err);
    if (st == LLX_OK) st = read_num(f, "macs", H5T_NATIVE_INT64, &r->macs, path, err);
    if (st == LLX_OK) st = read_num(f, "epochs_total", H5T_NATIVE_INT64, &r->epochs_total, path, err);
    if (st == LLX_OK) st = read_num(f, "epochs_done", H5T_NATIVE_INT64, &n, path, err);
    if (st == LLX_OK && (n < 0 || n > INT_MAX))
        st = llx_errorf(err, LLX_ERR_INVALID, "run file %s: epochs_done %lld is out of range", path, (long long)n);
    if (st == LLX_OK)
        st = read_str_buf(f, "select_metric", r->select_metric, sizeof r->select_metric, path, err);
    if (st == LLX_OK && H5Aexists(f, "error") > 0) st = read_str(f, "error", &r->error, path, err);
    r->git.dirty = dirty != 0;
    r->git.in_repo = r->git.repo[0] != '\0';
    if (st == LLX_OK) st = reload_history(f, r, n, path, err);
    free(format);
    H5Fclose(f);
    return st;
}
