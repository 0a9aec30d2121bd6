/* checkpoint.c: see llx/checkpoint.h. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util_impl.h"
#include "llx/checkpoint.h"
#include "llx/llx.h"
#include "llx/train.h"

#define FORMAT_NAME "llx-checkpoint"

static llx_status h5_fail(llx_error *err, const char *path, const char *what)
{
    return llx_errorf(err, LLX_ERR_IO, "checkpoint %s: %s", path, what);
}

/* Writes tensor t (copied to the host as float32) as <group>/<name>. */
static llx_status write_tensor(hid_t group, llx_backend *be, const llx_tensor *t, llx_error *err)
{
    int64_t numel = llx_tensor_numel(t);
    void *host = malloc(llx_tensor_bytes(t) + 1);
    float *f32 = malloc((size_t)numel * sizeof(float) + 1);
    llx_status st = host && f32 ? be->to_host(be, host, t->data, llx_tensor_bytes(t), err)
                                : llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    if (st == LLX_OK) {
        for (int64_t i = 0; i < numel; i++)
            f32[i] = t->dtype == LLX_F64 ? (float)((double *)host)[i] : ((float *)host)[i];
        hsize_t dims[LLX_MAX_DIMS];
        for (int d = 0; d < t->shape.ndim; d++) dims[d] = (hsize_t)t->shape.dim[d];
        if (llx_h5_dataset(group, t->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t->shape.ndim, dims, f32) < 0)
            st = llx_errorf(err, LLX_ERR_IO, "cannot write tensor '%s'", t->name);
    }
    free(host);
    free(f32);
    return st;
}

/* The checkpoint file: params, and with a trainer its optimiser state and counters. */
static llx_status save_file(llx_graph *g, llx_trainer *tr, const char *path, int epoch, const char *experiment_yaml,
                            llx_error *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = llx_h5_create(tmp);
    if (f < 0) return h5_fail(err, tmp, "cannot create the file (does its folder exist?)");
    llx_status st = LLX_OK;
    if (llx_h5_str_attr(f, "format", FORMAT_NAME) < 0 ||
        llx_h5_i64_attr(f, "format_version", LLX_CHECKPOINT_VERSION) < 0 ||
        llx_h5_str_attr(f, "llx_version", LLX_VERSION) < 0 || llx_h5_i64_attr(f, "epoch", epoch) < 0 ||
        llx_h5_str_attr(f, "experiment", experiment_yaml ? experiment_yaml : "") < 0)
        st = h5_fail(err, tmp, "cannot write the attributes");
    hid_t group = st == LLX_OK ? H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    for (size_t i = 0; st == LLX_OK && i < llx_graph_node_count(g); i++) {
        llx_node_kind k = llx_graph_node_kind(g, (llx_node_id)i);
        if (k == LLX_NODE_PARAM || k == LLX_NODE_BUFFER)
            st = write_tensor(group, llx_graph_backend(g), llx_graph_value(g, (llx_node_id)i), err);
    }
    if (group >= 0) H5Gclose(group);
    if (st == LLX_OK && tr) {
        llx_trainer_state s;
        llx_trainer_get_state(tr, &s);
        if (llx_h5_i64_attr(f, "first_step", s.first_step) < 0 ||
            llx_h5_f64_attr(f, "best_value", s.best_value) < 0 ||
            llx_h5_i64_attr(f, "best_epoch", s.best_epoch) < 0 ||
            llx_h5_i64_attr(f, "seed", (int64_t)llx_trainer_seed(tr)) < 0 ||
            llx_h5_f64_attr(f, "loss_scale", s.loss_scale) < 0 ||
            llx_h5_i64_attr(f, "loss_scale_good_steps", s.loss_scale_good_steps) < 0 ||
            llx_h5_str_attr(f, "rng",
                            "the loader's order and augmentation are a pure function of (seed, epoch, "
                            "sample index): the epoch attribute is the random state") < 0 ||
            llx_h5_str_attr(f, "optimizer", "sgd") < 0)
            st = h5_fail(err, tmp, "cannot write the trainer's attributes");
        group = st == LLX_OK ? H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
        for (int i = 0; st == LLX_OK && i < llx_trainer_optimizer_count(tr); i++)
            st = write_tensor(group, llx_graph_backend(g), llx_trainer_optimizer_tensor(tr, i), err);
        if (group >= 0) H5Gclose(group);
    }
    if (H5Fclose(f) < 0 && st == LLX_OK) st = h5_fail(err, tmp, "cannot close the file");
    if (st == LLX_OK && rename(tmp, path) != 0) st = h5_fail(err, path, "cannot rename the temporary file into place");
    if (st != LLX_OK) unlink(tmp);
    return st;
}

llx_status llx_checkpoint_save(llx_graph *g, const char *path, int epoch, const char *experiment_yaml, llx_error *err)
{
    return save_file(g, NULL, path, epoch, experiment_yaml, err);
}

llx_status llx_checkpoint_save_trainer(llx_trainer *t, const char *path, const char *experiment_yaml, llx_error *err)
{
    llx_trainer_state s;
    llx_trainer_get_state(t, &s);
    return save_file(llx_trainer_graph(t), t, path, s.epoch, experiment_yaml, err);
}

static llx_status open_checked(const char *path, hid_t *out, llx_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0) return h5_fail(err, path, "cannot read the file");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return h5_fail(err, path, "not an HDF5 file (truncated or another format?)");
    long long version = -1;
    if (llx_h5_read_num(f, "format_version", H5T_NATIVE_LLONG, &version) < 0) version = -1;
    if (version != LLX_CHECKPOINT_VERSION) {
        H5Fclose(f);
        return llx_errorf(err, LLX_ERR_INVALID,
                          "checkpoint %s: format version %lld, this llx reads version %d%s", path, version,
                          LLX_CHECKPOINT_VERSION,
                          version < 0 ? " (not an llx checkpoint)" : ": use the llx version that wrote it");
    }
    *out = f;
    return LLX_OK;
}

/* Reads <group>/<name> into tensor t (host staging, converted to t's dtype). */
static llx_status read_tensor(hid_t group, llx_backend *be, llx_tensor *t, const char *path, bool *missing,
                              llx_error *err)
{
    *missing = false;
    if (H5Lexists(group, t->name, H5P_DEFAULT) <= 0) {
        *missing = true;
        return llx_errorf(err, LLX_ERR_INVALID, "checkpoint %s has no tensor '%s' (another network?)", path, t->name);
    }
    hid_t ds = H5Dopen2(group, t->name, H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    hsize_t dims[8];
    int nd = H5Sget_simple_extent_ndims(space); /* more than 8: a mismatch, dims left unread */
    if (nd >= 0 && nd <= 8) nd = H5Sget_simple_extent_dims(space, dims, NULL);
    bool same = nd == t->shape.ndim;
    for (int d = 0; same && d < nd; d++) same = (int64_t)dims[d] == t->shape.dim[d];
    llx_status st = LLX_OK;
    if (!same) {
        char want[64], have[96] = "(";
        if (nd > 8) snprintf(have, sizeof have, "(%d dimensions", nd);
        for (int d = 0; nd <= 8 && d < nd; d++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
        strncat(have, ")", sizeof have - strlen(have) - 1);
        *missing = true;
        st = llx_errorf(err, LLX_ERR_SHAPE, "checkpoint %s: tensor '%s' has shape %s, the network's is %s", path, t->name,
                        have, llx_shape_str(&t->shape, want, sizeof want));
    } else {
        bool f64 = t->dtype == LLX_F64;
        void *host = malloc(llx_tensor_bytes(t) + 1);
        if (!host)
            st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        else if (H5Dread(ds, f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host) < 0)
            st = llx_errorf(err, LLX_ERR_IO, "checkpoint %s: cannot read tensor '%s'", path, t->name);
        if (st == LLX_OK) st = be->to_device(be, t->data, host, llx_tensor_bytes(t), err);
        free(host);
    }
    H5Sclose(space);
    H5Dclose(ds);
    return st;
}

/* Every parameter and buffer of g from the open file f; skipped ones are noted on log. */
static llx_status load_params(hid_t f, llx_graph *g, const char *path, const char *skip_prefix, FILE *log,
                              int *skipped, llx_error *err)
{
    hid_t group = H5Gopen2(f, "params", H5P_DEFAULT);
    llx_status st = group < 0 ? h5_fail(err, path, "no /params group") : LLX_OK;
    if (skipped) *skipped = 0;
    for (size_t i = 0; st == LLX_OK && i < llx_graph_node_count(g); i++) {
        llx_node_kind k = llx_graph_node_kind(g, (llx_node_id)i);
        if (k != LLX_NODE_PARAM && k != LLX_NODE_BUFFER) continue;
        llx_tensor *t = llx_graph_value(g, (llx_node_id)i);
        bool missing;
        st = read_tensor(group, llx_graph_backend(g), t, path, &missing, err);
        if (st != LLX_OK && missing && skip_prefix && strncmp(t->name, skip_prefix, strlen(skip_prefix)) == 0) {
            if (log) fprintf(log, "skipped '%s' (keeps its initial values): %s\n", t->name, err ? err->msg : "");
            st = LLX_OK; /* keeps its initial values */
            if (skipped) (*skipped)++;
        }
    }
    if (group >= 0) H5Gclose(group);
    return st;
}

llx_status llx_checkpoint_load(llx_graph *g, const char *path, const char *skip_prefix, int *skipped, llx_error *err)
{
    return llx_checkpoint_init_from(g, path, skip_prefix, NULL, skipped, err);
}

llx_status llx_checkpoint_init_from(llx_graph *g, const char *path, const char *skip_prefix, FILE *log, int *skipped,
                                    llx_error *err)
{
    hid_t f;
    llx_error local = {0};
    if (!err) err = &local;
    LLX_TRY(open_checked(path, &f, err));
    llx_status st = load_params(f, g, path, skip_prefix, log, skipped, err);
    H5Fclose(f);
    return st;
}

static llx_status read_attr(hid_t f, const char *name, hid_t type, void *out, const char *path, llx_error *err)
{
    if (llx_h5_read_num(f, name, type, out) < 0)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "checkpoint %s: no '%s' attribute: it holds weights only (written without the trainer's "
                          "state), so it cannot resume a run",
                          path, name);
    return LLX_OK;
}

llx_status llx_checkpoint_load_trainer(llx_trainer *t, const char *path, llx_error *err)
{
    hid_t f;
    LLX_TRY(open_checked(path, &f, err));
    llx_graph *g = llx_trainer_graph(t);
    long long epoch = 0, first = 0, best_epoch = 0, seed = 0, good_steps = 0;
    double best = 0, loss_scale = 0; /* loss scaler: absent in checkpoints before it, then kept as configured */
    llx_status st = read_attr(f, "epoch", H5T_NATIVE_LLONG, &epoch, path, err);
    if (st == LLX_OK) st = read_attr(f, "first_step", H5T_NATIVE_LLONG, &first, path, err);
    if (st == LLX_OK) st = read_attr(f, "best_value", H5T_NATIVE_DOUBLE, &best, path, err);
    if (st == LLX_OK) st = read_attr(f, "best_epoch", H5T_NATIVE_LLONG, &best_epoch, path, err);
    if (st == LLX_OK) st = read_attr(f, "seed", H5T_NATIVE_LLONG, &seed, path, err);
    if (st == LLX_OK && (uint64_t)seed != llx_trainer_seed(t))
        st = llx_errorf(err, LLX_ERR_INVALID, "checkpoint %s: seed %lld, the experiment's is %llu", path, seed,
                        (unsigned long long)llx_trainer_seed(t));
    if (st == LLX_OK && llx_h5_read_num(f, "loss_scale", H5T_NATIVE_DOUBLE, &loss_scale) >= 0)
        st = read_attr(f, "loss_scale_good_steps", H5T_NATIVE_LLONG, &good_steps, path, err);
    if (st == LLX_OK) st = load_params(f, g, path, NULL, NULL, NULL, err);
    hid_t group = -1;
    if (st == LLX_OK && (group = H5Gopen2(f, "optimizer", H5P_DEFAULT)) < 0)
        st = h5_fail(err, path, "no /optimizer group: it holds weights only, so it cannot resume a run");
    for (int i = 0; st == LLX_OK && i < llx_trainer_optimizer_count(t); i++) {
        bool missing;
        st = read_tensor(group, llx_graph_backend(g), llx_trainer_optimizer_tensor(t, i), path, &missing, err);
        if (st != LLX_OK) llx_error_prefix(err, "optimizer state");
    }
    if (group >= 0) H5Gclose(group);
    H5Fclose(f);
    if (st != LLX_OK) return st;
    llx_trainer_state s = {.epoch = (int)epoch, .first_step = first != 0, .best_value = best, .best_epoch = (int)best_epoch,
                           .loss_scale = loss_scale, .loss_scale_good_steps = good_steps};
    st = llx_trainer_set_state(t, &s, err);
    if (st != LLX_OK) llx_error_prefix(err, "checkpoint %s", path);
    return st;
}

llx_status llx_checkpoint_read_experiment(const char *path, char **yaml, int *epoch, llx_error *err)
{
    hid_t f;
    LLX_TRY(open_checked(path, &f, err));
    llx_status st = LLX_OK;
    *yaml = llx_h5_read_str(f, "experiment");
    if (!*yaml) st = h5_fail(err, path, "no readable 'experiment' attribute");
    long long e = 0;
    if (st == LLX_OK && llx_h5_read_num(f, "epoch", H5T_NATIVE_LLONG, &e) < 0) e = 0;
    if (epoch) *epoch = (int)e;
    H5Fclose(f);
    return st;
}
