/* runread.c: see llx/runread.h. Reads run.h5 defensively: every HDF5 call is checked,
 * sizes are bounded, and any object the record lacks leaves a neutral value. */
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util_impl.h"
#include "llx/config.h"
#include "llx/runread.h"

#define MAX_ELEMENTS (1u << 24) /* datasets larger than this are refused */

static const char *const state_names[] = {
    [LLX_RUN_BROKEN] = "broken", [LLX_RUN_RUNNING] = "running", [LLX_RUN_FINISHED] = "finished",
    [LLX_RUN_FAILED] = "failed", [LLX_RUN_STOPPED] = "stopped",
};
_Static_assert(sizeof state_names / sizeof state_names[0] == LLX_RUN_STATE_COUNT,
               "state_names must name every llx_run_state");

const char *llx_run_state_name(llx_run_state s)
{
    return (s >= 0 && s < LLX_RUN_STATE_COUNT) ? state_names[s] : "unknown";
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = malloc(n + 1);
    if (d) memcpy(d, s ? s : "", n + 1);
    return d;
}

/* ---- attributes ---- */

static int64_t attr_i64(hid_t obj, const char *name, int64_t dflt)
{
    long long v;
    return llx_h5_read_num(obj, name, H5T_NATIVE_LLONG, &v) == 0 ? (int64_t)v : dflt;
}

static double attr_f64(hid_t obj, const char *name)
{
    double v;
    return llx_h5_read_num(obj, name, H5T_NATIVE_DOUBLE, &v) == 0 ? v : NAN;
}

/* ---- datasets ---- */

/* Reads a numeric dataset of at most `cap` elements into out (as mem_type); fills dims
 * and returns the rank, or -1. */
static int read_dataset(hid_t loc, const char *name, hid_t mem_type, void **out, hsize_t dims[3])
{
    *out = NULL;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return -1;
    H5O_info_t info;
    if (H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET) return -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    int rank = -1;
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && nd >= 1 && nd <= 3) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        hssize_t n = H5Sget_simple_extent_npoints(space);
        size_t elem = H5Tget_size(mem_type);
        if (n >= 0 && (uint64_t)n <= MAX_ELEMENTS && (*out = malloc((size_t)n * elem + elem))) {
            if (n == 0 || H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0) {
                rank = nd;
            } else {
                free(*out);
                *out = NULL;
            }
        }
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Dclose(ds);
    return rank;
}

static void read_scores(hid_t file, const char *group, llx_run_scores *s)
{
    memset(s, 0, sizeof *s);
    s->accuracy = s->macro_f1 = s->abaw = NAN;
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        s->class_accuracy[c] = s->f1[c] = NAN;
    if (H5Lexists(file, group, H5P_DEFAULT) <= 0) return;
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0) return;
    s->accuracy = attr_f64(g, "accuracy");
    s->macro_f1 = attr_f64(g, "macro_f1");
    s->abaw = attr_f64(g, "abaw");
    s->epoch = attr_i64(g, "epoch", 0);
    s->present = !isnan(s->accuracy);
    hsize_t dims[3];
    void *buf;
    if (read_dataset(g, "class_accuracy", H5T_NATIVE_DOUBLE, &buf, dims) == 1 && dims[0] == LLX_NUM_CLASSES)
        memcpy(s->class_accuracy, buf, sizeof s->class_accuracy);
    free(buf);
    if (read_dataset(g, "f1", H5T_NATIVE_DOUBLE, &buf, dims) == 1 && dims[0] == LLX_NUM_CLASSES)
        memcpy(s->f1, buf, sizeof s->f1);
    free(buf);
    if (read_dataset(g, "confusion", H5T_NATIVE_LLONG, &buf, dims) == 2 && dims[0] == LLX_NUM_CLASSES &&
        dims[1] == LLX_NUM_CLASSES)
        memcpy(s->confusion, buf, sizeof s->confusion);
    free(buf);
    H5Gclose(g);
}

/* Every 1-D numeric dataset of /history becomes a column; n_epochs is the shortest. */
static void read_history(hid_t file, llx_run *run)
{
    if (H5Lexists(file, "history", H5P_DEFAULT) <= 0) return;
    hid_t g = H5Gopen2(file, "history", H5P_DEFAULT);
    if (g < 0) return;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0 || info.nlinks > 4096) {
        H5Gclose(g);
        return;
    }
    run->history = calloc(info.nlinks + 1, sizeof *run->history);
    size_t shortest = SIZE_MAX;
    for (hsize_t i = 0; run->history && i < info.nlinks; i++) {
        char name[256];
        ssize_t len =
            H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        if (len <= 0 || (size_t)len >= sizeof name || strcmp(name, "val_confusion") == 0) continue;
        hsize_t dims[3];
        void *buf;
        char *dup = NULL;
        if (read_dataset(g, name, H5T_NATIVE_DOUBLE, &buf, dims) != 1 || !(dup = dup_str(name))) {
            free(buf);
            continue;
        }
        run->history[run->n_history].name = dup;
        run->history[run->n_history++].values = buf;
        if (dims[0] < shortest) shortest = (size_t)dims[0];
    }
    run->n_epochs = run->n_history ? shortest : 0;
    hsize_t dims[3];
    void *conf;
    if (read_dataset(g, "val_confusion", H5T_NATIVE_LLONG, &conf, dims) == 3 && dims[0] >= run->n_epochs &&
        dims[1] == LLX_NUM_CLASSES && dims[2] == LLX_NUM_CLASSES)
        run->val_confusion = conf;
    else
        free(conf);
    H5Gclose(g);
}

/* The text after "key:" on key's line of yaml (a flow sequence or mapping as written). */
static char *flow_text(const char *yaml, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = yaml; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, key, klen) != 0 || p[klen] != ':') continue;
        p += klen + 1;
        p += strspn(p, " ");
        size_t len = strcspn(p, "\n");
        while (len && p[len - 1] == ' ')
            len--;
        char *out = len ? strndup(p, len) : NULL;
        if (out) return out;
        break;
    }
    return dup_str("(nested)");
}

/* vars: a YAML mapping of scalars ("attention: se\nseed: 1\n"), or {vars: {...}}. */
static void parse_vars(llx_run *run)
{
    if (!run->vars_yaml || !run->vars_yaml[0]) return;
    llx_doc *doc = NULL;
    llx_error err = {0};
    if (llx_doc_parse("vars", run->vars_yaml, NULL, 0, &doc, &err) != LLX_OK) return;
    const llx_cfg *map = llx_doc_root(doc);
    if (llx_cfg_kind_of(map) == LLX_CFG_MAP && llx_cfg_len(map) == 1 && llx_cfg_get(map, "vars") &&
        llx_cfg_kind_of(llx_cfg_get(map, "vars")) == LLX_CFG_MAP)
        map = llx_cfg_get(map, "vars");
    size_t n = llx_cfg_kind_of(map) == LLX_CFG_MAP ? llx_cfg_len(map) : 0;
    run->vars = calloc(n + 1, sizeof *run->vars);
    for (size_t i = 0; run->vars && i < n; i++) {
        const llx_cfg *v = llx_cfg_at(map, i);
        const char *key = llx_cfg_key_at(map, i);
        char *name = dup_str(key), *value;
        if (llx_cfg_kind_of(v) == LLX_CFG_SCALAR)
            value = dup_str(llx_cfg_str(v));
        else if (llx_cfg_kind_of(v) == LLX_CFG_NULL)
            value = dup_str("null");
        else
            value = flow_text(run->vars_yaml, key); /* [10, 20]: as written */
        if (!name || !value) { /* out of memory: a variable without its name or value is left out */
            free(name);
            free(value);
            continue;
        }
        run->vars[run->n_vars].name = name;
        run->vars[run->n_vars++].value = value;
    }
    llx_doc_free(doc);
}

static void split_sweep_vars(llx_run *run, const char *text)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    run->sweep_vars = calloc(n, sizeof *run->sweep_vars);
    const char *p = text;
    while (run->sweep_vars && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        char *s = len ? strndup(p, len) : NULL;
        if (s) run->sweep_vars[run->n_sweep_vars++] = s;
        p += strcspn(p, ",");
    }
}

static llx_status broken(llx_run *run, llx_error *err, llx_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static llx_status broken(llx_run *run, llx_error *err, llx_status st, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    run->state = LLX_RUN_BROKEN;
    run->status = st;
    free(run->error);
    size_t cap = strlen(run->path) + strlen(reason) + 3;
    run->error = malloc(cap);
    if (run->error) snprintf(run->error, cap, "%s: %s", run->path, reason);
    return llx_errorf(err, st, "%s: %s", run->path, reason);
}

/* Opens path read-only without taking HDF5's file lock (the writer renames a finished
 * file into place, so a lock would only stop us reading on some file systems). */
static hid_t open_record(const char *path)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

static llx_status read_record(llx_run *run, llx_error *err)
{
    struct stat st;
    if (stat(run->path, &st) != 0) {
        if (errno == ENOENT)
            return broken(run, err, LLX_ERR_NOT_FOUND,
                          "missing (not a run folder, or the run has not written its first record yet)");
        return broken(run, err, LLX_ERR_IO, "cannot read the file (%s)", strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return broken(run, err, LLX_ERR_IO, "not a regular file");
    if (st.st_size == 0) return broken(run, err, LLX_ERR_PARSE, "empty file (0 bytes)");
    FILE *fp = fopen(run->path, "rb");
    if (!fp) return broken(run, err, LLX_ERR_IO, "cannot read the file (%s)", strerror(errno));
    fclose(fp);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    htri_t is_h5 = H5Fis_hdf5(run->path);
    if (is_h5 <= 0)
        return broken(run, err, LLX_ERR_PARSE, "not an HDF5 file (%lld bytes of another format)",
                      (long long)st.st_size);
    hid_t f = open_record(run->path);
    if (f < 0)
        return broken(
            run, err, LLX_ERR_PARSE,
            "truncated or damaged HDF5 file (%lld bytes; copied while being written, or a full disk?)",
            (long long)st.st_size);
    char *format = llx_h5_read_str(f, "format");
    if (!format || strcmp(format, LLX_RUN_FORMAT) != 0) {
        llx_status s = broken(run, err, LLX_ERR_PARSE,
                              "not an llx run record (an HDF5 file with %s%s%s instead of format '%s')",
                              format ? "format '" : "no 'format' attribute", format ? format : "",
                              format ? "'" : "", LLX_RUN_FORMAT);
        free(format);
        H5Fclose(f);
        return s;
    }
    free(format);
    run->format_version = attr_i64(f, "format_version", -1);
    if (run->format_version != LLX_RUN_FORMAT_VERSION) {
        H5Fclose(f);
        return broken(run, err, LLX_ERR_UNSUPPORTED, "run format version %lld, this llx reads version %d%s",
                      (long long)run->format_version, LLX_RUN_FORMAT_VERSION,
                      run->format_version > LLX_RUN_FORMAT_VERSION ? ": use a newer llx" : "");
    }
    struct {
        const char *name;
        char **dst;
    } strs[] = {
        {"llx_version", &run->llx_version},
        {"experiment", &run->experiment},
        {"experiment_path", &run->experiment_path},
        {"vars", &run->vars_yaml},
        {"host", &run->host},
        {"device", &run->device},
        {"device_name", &run->device_name},
        {"start_time", &run->start_time},
        {"end_time", &run->end_time},
        {"git_commit", &run->git_commit},
        {"git_branch", &run->git_branch},
        {"git_repo", &run->git_repo},
        {"select_metric", &run->select_metric},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char *v = llx_h5_read_str(f, strs[i].name);
        *strs[i].dst = v ? v : dup_str("");
    }
    char *sweep = llx_h5_read_str(f, "sweep_vars");
    split_sweep_vars(run, sweep ? sweep : "");
    free(sweep);
    parse_vars(run);
    run->git_dirty = attr_i64(f, "git_dirty", 0) != 0;
    run->seed = attr_i64(f, "seed", 0);
    run->params = attr_i64(f, "params", 0);
    run->macs = attr_i64(f, "macs", 0);
    run->epochs_total = attr_i64(f, "epochs_total", 0);
    run->epochs_done = attr_i64(f, "epochs_done", 0);
    run->best_epoch = attr_i64(f, "best_epoch", 0);
    run->best_value = attr_f64(f, "best_value");
    read_history(f, run);
    read_scores(f, "test", &run->test);
    read_scores(f, "val_best", &run->val_best);

    char *state = llx_h5_read_str(f, "state");
    char *error = llx_h5_read_str(f, "error");
    llx_status s = LLX_OK;
    if (!state)
        s = broken(run, err, LLX_ERR_PARSE, "no 'state' attribute (a damaged run record?)");
    else if (strcmp(state, "running") == 0)
        run->state = LLX_RUN_RUNNING;
    else if (strcmp(state, "finished") == 0)
        run->state = LLX_RUN_FINISHED;
    else if (strcmp(state, "stopped") == 0)
        run->state = LLX_RUN_STOPPED;
    else if (strcmp(state, "failed") == 0) {
        run->state = LLX_RUN_FAILED;
        free(run->error);
        run->error = dup_str(error && error[0] ? error : "(no message recorded)");
    } else
        s = broken(run, err, LLX_ERR_PARSE, "unknown state '%s'", state);
    free(state);
    free(error);
    H5Fclose(f);
    return s;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

llx_status llx_run_read(const char *dir, llx_run *run, llx_error *err)
{
    memset(run, 0, sizeof *run);
    llx_error_clear(err);
    run->error = dup_str("");
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    struct stat st;
    bool file = has_suffix(dir, ".h5") && stat(dir, &st) == 0 && S_ISREG(st.st_mode);
    run->path = malloc(n + 8);
    run->dir = malloc(n + 2);
    if (!run->path || !run->dir || !run->error) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    if (file) {
        memcpy(run->path, dir, n);
        run->path[n] = 0;
        const char *slash = strrchr(run->path, '/');
        if (!slash)
            strcpy(run->dir, ".");
        else if (slash == run->path)
            strcpy(run->dir, "/");
        else {
            memcpy(run->dir, run->path, (size_t)(slash - run->path));
            run->dir[slash - run->path] = 0;
        }
    } else {
        memcpy(run->dir, dir, n);
        run->dir[n] = 0;
        snprintf(run->path, n + 8, "%s/run.h5", run->dir);
    }
    const char *base = strrchr(run->dir, '/');
    run->name = dup_str(base && base[1] ? base + 1 : run->dir);
    return read_record(run, err);
}

void llx_run_free(llx_run *run)
{
    if (!run) return;
    char **strs[] = {&run->dir,
                     &run->path,
                     &run->name,
                     &run->error,
                     &run->llx_version,
                     &run->experiment,
                     &run->experiment_path,
                     &run->vars_yaml,
                     &run->host,
                     &run->device,
                     &run->device_name,
                     &run->start_time,
                     &run->end_time,
                     &run->git_commit,
                     &run->git_branch,
                     &run->git_repo,
                     &run->select_metric};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    for (size_t i = 0; i < run->n_vars; i++) {
        free(run->vars[i].name);
        free(run->vars[i].value);
    }
    free(run->vars);
    for (size_t i = 0; i < run->n_sweep_vars; i++)
        free(run->sweep_vars[i]);
    free(run->sweep_vars);
    for (size_t i = 0; i < run->n_history; i++) {
        free(run->history[i].name);
        free(run->history[i].values);
    }
    free(run->history);
    free(run->val_confusion);
    memset(run, 0, sizeof *run);
}

const char *llx_run_var_get(const llx_run *run, const char *name)
{
    for (size_t i = 0; i < run->n_vars; i++)
        if (strcmp(run->vars[i].name, name) == 0) return run->vars[i].value;
    return NULL;
}

const double *llx_run_history(const llx_run *run, const char *name)
{
    for (size_t i = 0; i < run->n_history; i++)
        if (strcmp(run->history[i].name, name) == 0) return run->history[i].values;
    return NULL;
}

/* ---- finding run folders ---- */

static bool exists_in(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return false;
    return stat(p, &st) == 0;
}

static bool looks_like_run(const char *dir)
{
    return exists_in(dir, "run.h5") || exists_in(dir, "experiment.yaml") || exists_in(dir, "history.csv") ||
           exists_in(dir, "checkpoint_last.h5");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct str_list {
    char **v;
    size_t n, cap;
} str_list;

static int list_push(str_list *l, char *s)
{
    if (!s) return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static llx_status find_in_folder(const char *arg, str_list *out, llx_error *err)
{
    size_t len = strlen(arg);
    while (len > 1 && arg[len - 1] == '/')
        len--;
    char *dir = strndup(arg, len);
    if (!dir) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    if (exists_in(dir, "run.h5"))
        return list_push(out, dir) ? llx_errorf(err, LLX_ERR_NOMEM, "out of memory") : LLX_OK;
    DIR *d = opendir(dir);
    if (!d) {
        llx_status s = llx_errorf(err, LLX_ERR_IO, "%s: cannot list the folder (%s)", dir, strerror(errno));
        free(dir);
        return s;
    }
    str_list sub = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && looks_like_run(p)) list_push(&sub, strdup(p));
    }
    closedir(d);
    qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
    llx_status s = LLX_OK;
    if (sub.n == 0) {
        if (list_push(out, dir)) s = llx_errorf(err, LLX_ERR_NOMEM, "out of memory"); /* read as broken */
        dir = NULL;
    }
    for (size_t i = 0; i < sub.n; i++)
        if (s == LLX_OK && list_push(out, sub.v[i]))
            s = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        else if (s != LLX_OK)
            free(sub.v[i]);
    free(sub.v);
    free(dir);
    return s;
}

llx_status llx_runs_find(const char *const *args, size_t n_args, char ***dirs, size_t *n_dirs, llx_error *err)
{
    str_list out = {0};
    llx_status s = LLX_OK;
    for (size_t i = 0; s == LLX_OK && i < n_args; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            s = llx_errorf(err, LLX_ERR_NOT_FOUND, "%s: no such file or folder", args[i]);
        } else if (S_ISDIR(st.st_mode)) {
            s = find_in_folder(args[i], &out, err);
        } else if (has_suffix(args[i], ".h5")) {
            if (list_push(&out, strdup(args[i]))) s = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        } /* other files (README.md, notes) given by a glob are not runs: skipped */
    }
    if (s != LLX_OK) {
        llx_runs_find_free(out.v, out.n);
        out.v = NULL;
        out.n = 0;
    }
    *dirs = out.v;
    *n_dirs = out.n;
    return s;
}

void llx_runs_find_free(char **dirs, size_t n_dirs)
{
    for (size_t i = 0; i < n_dirs; i++)
        free(dirs[i]);
    free(dirs);
}

/* ---- configurations ---- */

const llx_run_scores *llx_run_scores_of(const llx_run *run, llx_run_split split)
{
    if (run->state == LLX_RUN_BROKEN) return NULL;
    if (split == LLX_SPLIT_TEST) return run->test.present ? &run->test : NULL;
    if (split == LLX_SPLIT_VAL) return run->val_best.present ? &run->val_best : NULL;
    return run->test.present ? &run->test : run->val_best.present ? &run->val_best : NULL;
}

double llx_run_score(const llx_run_scores *s, int i)
{
    if (i == LLX_SCORE_ACCURACY) return s->accuracy;
    if (i == LLX_SCORE_MACRO_F1) return s->macro_f1;
    if (i == LLX_SCORE_ABAW) return s->abaw;
    return i >= LLX_SCORE_CLASS0 && i < LLX_RUN_NSCORES ? s->class_accuracy[i - LLX_SCORE_CLASS0] : NAN;
}

llx_run_split llx_runs_split(const llx_run *runs, const bool *use, size_t n, llx_run_split want)
{
    if (want != LLX_SPLIT_AUTO) return want;
    size_t any = 0;
    for (size_t i = 0; i < n; i++) {
        if (use && !use[i]) continue;
        if (!runs[i].test.present) return LLX_SPLIT_VAL;
        any++;
    }
    return any ? LLX_SPLIT_TEST : LLX_SPLIT_VAL;
}

static const char *path_base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* "experiment=x,attention=se,depth=2" (the experiment only when with_experiment). */
static char *config_key(const llx_run *run, bool with_experiment)
{
    size_t cap = 64 + strlen(run->experiment_path ? run->experiment_path : "");
    for (size_t i = 0; i < run->n_vars; i++)
        cap += strlen(run->vars[i].name) + strlen(run->vars[i].value) + 2;
    char *key = malloc(cap);
    if (!key) return NULL;
    size_t len = 0;
    key[0] = 0;
    if (with_experiment) len += (size_t)snprintf(key, cap, "experiment=%s", path_base(run->experiment_path));
    for (size_t i = 0; i < run->n_vars; i++) {
        if (strcmp(run->vars[i].name, "seed") == 0) continue;
        len += (size_t)snprintf(key + len, cap - len, "%s%s=%s", len ? "," : "", run->vars[i].name,
                                run->vars[i].value);
    }
    return key;
}

static void group_stats(llx_run_group *g, const llx_run *runs, llx_run_split split)
{
    g->best_epoch_min = INT64_MAX;
    g->best_epoch_max = INT64_MIN;
    double epoch_sum = 0;
    for (int k = 0; k < LLX_RUN_NSCORES; k++) {
        double sum = 0, sq = 0;
        size_t n = 0;
        for (size_t j = 0; j < g->n_runs; j++) {
            double v = llx_run_score(llx_run_scores_of(&runs[g->runs[j]], split), k);
            if (isnan(v)) continue;
            sum += v;
            n++;
        }
        double mean = n ? sum / (double)n : NAN;
        for (size_t j = 0; j < g->n_runs; j++) {
            double v = llx_run_score(llx_run_scores_of(&runs[g->runs[j]], split), k);
            if (!isnan(v)) sq += (v - mean) * (v - mean);
        }
        g->mean[k] = mean;
        g->std[k] = n > 1 ? sqrt(sq / (double)(n - 1)) : n ? 0 : NAN;
    }
    for (size_t j = 0; j < g->n_runs; j++) {
        int64_t e = llx_run_scores_of(&runs[g->runs[j]], split)->epoch;
        epoch_sum += (double)e;
        if (e < g->best_epoch_min) g->best_epoch_min = e;
        if (e > g->best_epoch_max) g->best_epoch_max = e;
    }
    g->best_epoch_mean = g->n_runs ? epoch_sum / (double)g->n_runs : 0;
}

llx_status llx_runs_group(const llx_run *runs, const bool *use, size_t n, llx_run_split split, bool by_seed,
                          llx_run_group **groups, size_t *n_groups, llx_error *err)
{
    *groups = NULL;
    *n_groups = 0;
    bool several_experiments = false;
    const char *first_exp = NULL;
    for (size_t i = 0; i < n; i++) {
        if ((use && !use[i]) || !llx_run_scores_of(&runs[i], split)) continue;
        const char *e = path_base(runs[i].experiment_path ? runs[i].experiment_path : "");
        if (!first_exp)
            first_exp = e;
        else if (strcmp(first_exp, e) != 0)
            several_experiments = true;
    }
    llx_run_group *gs = calloc(n + 1, sizeof *gs);
    if (!gs) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if ((use && !use[i]) || !llx_run_scores_of(&runs[i], split)) continue;
        char *key = config_key(&runs[i], several_experiments);
        if (!key) {
            llx_runs_group_free(gs, ng);
            return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        }
        size_t g = ng;
        if (by_seed)
            for (g = 0; g < ng && strcmp(gs[g].key, key) != 0; g++) {
            }
        if (g == ng) {
            gs[ng].key = key;
            gs[ng].runs = calloc(n, sizeof *gs[ng].runs);
            if (!gs[ng++].runs) {
                llx_runs_group_free(gs, ng);
                return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
            }
        } else {
            free(key);
        }
        gs[g].runs[gs[g].n_runs++] = i;
    }
    for (size_t g = 0; g < ng; g++)
        group_stats(&gs[g], runs, split);
    *groups = gs;
    *n_groups = ng;
    return LLX_OK;
}

void llx_runs_group_free(llx_run_group *groups, size_t n_groups)
{
    for (size_t i = 0; i < n_groups; i++) {
        free(groups[i].key);
        free(groups[i].runs);
    }
    free(groups);
}
