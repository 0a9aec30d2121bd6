/* test_results.c: what a run records. The git state read with libgit2 in a
 * repository the test makes with `git` (clean, dirty with the diff, untracked
 * files ignored, outside any repository), run.h5 written by llx_runfile_write
 * and read back with the plain HDF5 C API (attributes, history columns,
 * confusion matrices), atomic replacement (a reader holding the old file keeps
 * reading it; no temporary file is left), llx_runfile_reload, and a trainer
 * checkpoint that carries the optimiser state bit for bit, train.init_from
 * skipping a classifier of another size, and string attributes far over HDF5's
 * 64 KiB compact limit (a large `git diff`, a long experiment) in both files. */
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture_tree.h"
#include "llx/checkpoint.h"
#include "llx/gitinfo.h"
#include "llx/llx.h"
#include "llx/runfile.h"
#include "llx/runread.h"
#include "llx/train.h"

static char *tmp_root;

static int sh(const char *fmt, const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && (%s) >/dev/null 2>&1", dir, fmt);
    return system(cmd);
}

#define GIT                                                                                                  \
    "git -c user.name=llx -c user.email=llx@example.com -c init.defaultBranch=main -c commit.gpgsign=false "

static void test_gitinfo(void)
{
    char repo[512], sub[600];
    fixture_path(repo, sizeof repo, "%s/repo", tmp_root);
    fixture_path(sub, sizeof sub, "%s/src", repo);
    CHECK(fixture_mkdirs(sub) == 0);
    CHECK(fixture_text(fixture_path((char[700]){0}, 700, "%s/model.c", sub), "int width = 8;\n") == 0);
    CHECK(sh(GIT "init -q . && " GIT "add src/model.c && " GIT "commit -q -m first", repo) == 0);
    llx_gitinfo g;
    llx_error err = {0};

    /* clean, from a subfolder: the repository is found upwards */
    CHECK(llx_gitinfo_read(sub, &g, &err) == LLX_OK);
    CHECK(g.in_repo);
    CHECK_MSG(strlen(g.commit) == 40 && strspn(g.commit, "0123456789abcdef") == 40, "commit '%s'", g.commit);
    CHECK_MSG(strcmp(g.branch, "main") == 0, "branch '%s'", g.branch);
    CHECK(!g.dirty && g.diff && g.diff[0] == '\0');
    CHECK_CONTAINS(g.repo, "/repo");
    CHECK(g.note[0] == '\0');
    char first[41];
    snprintf(first, sizeof first, "%s", g.commit);
    llx_gitinfo_free(&g);

    /* an untracked file alone: not dirty */
    CHECK(fixture_text(fixture_path((char[700]){0}, 700, "%s/notes.txt", repo), "scratch\n") == 0);
    CHECK(llx_gitinfo_read(repo, &g, &err) == LLX_OK);
    CHECK(g.in_repo && !g.dirty && g.diff[0] == '\0');
    CHECK(strcmp(g.commit, first) == 0);
    llx_gitinfo_free(&g);

    /* a tracked file modified: dirty, and the diff holds the change */
    CHECK(fixture_text(fixture_path((char[700]){0}, 700, "%s/model.c", sub), "int width = 16;\n") == 0);
    CHECK(llx_gitinfo_read(repo, &g, &err) == LLX_OK);
    CHECK(g.dirty);
    CHECK_CONTAINS(g.diff, "src/model.c");
    CHECK_CONTAINS(g.diff, "-int width = 8;");
    CHECK_CONTAINS(g.diff, "+int width = 16;");
    CHECK(!strstr(g.diff, "notes.txt"));
    llx_gitinfo_free(&g);

    /* detached HEAD: no branch, still the commit */
    CHECK(sh(GIT "stash -q && " GIT "checkout -q --detach HEAD", repo) == 0);
    CHECK(llx_gitinfo_read(repo, &g, &err) == LLX_OK);
    CHECK(g.in_repo && !g.dirty && g.branch[0] == '\0' && strcmp(g.commit, first) == 0);
    llx_gitinfo_free(&g);

    /* outside any repository: empty fields and a note, not an error */
    char outside[600];
    fixture_path(outside, sizeof outside, "%s/plain", tmp_root);
    CHECK(fixture_mkdirs(outside) == 0);
    setenv("GIT_CEILING_DIRECTORIES", tmp_root, 1); /* in case /tmp sits inside a checkout */
    CHECK(llx_gitinfo_read(outside, &g, &err) == LLX_OK);
    unsetenv("GIT_CEILING_DIRECTORIES");
    CHECK(!g.in_repo && g.commit[0] == '\0' && g.branch[0] == '\0' && !g.dirty && g.repo[0] == '\0');
    CHECK_MSG(strcmp(g.note, "not a git checkout") == 0, "note '%s'", g.note);
    llx_gitinfo_free(&g);
}

/* ---- run.h5 read with the plain HDF5 API ---- */
static char *attr_str(hid_t f, const char *name)
{
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t type = H5Aget_type(a), mem = H5Tcopy(H5T_C_S1); /* as checkpoint readers do: ASCII, fixed length */
    size_t size = H5Tget_size(type);
    char *v = calloc(1, size + 1);
    H5Tset_size(mem, size);
    if (H5Aread(a, mem, v) < 0) v[0] = '\0';
    H5Tclose(mem);
    H5Tclose(type);
    H5Aclose(a);
    return v;
}

static int64_t attr_i64(hid_t f, const char *name)
{
    int64_t v = -12345;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a >= 0) H5Aread(a, H5T_NATIVE_INT64, &v), H5Aclose(a);
    return v;
}

static double attr_f64(hid_t f, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a >= 0) H5Aread(a, H5T_NATIVE_DOUBLE, &v), H5Aclose(a);
    return v;
}

/* A dataset's shape (returns its rank) and, when out is given, its values. */
static int read_ds(hid_t f, const char *name, hid_t mem, hsize_t dims[3], void *out)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t space = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_dims(space, dims, NULL);
    if (out && H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) nd = -2;
    H5Sclose(space);
    H5Dclose(ds);
    return nd;
}

static llx_epoch_result epoch_result(int epoch)
{
    llx_epoch_result e = {.epoch = epoch,
                          .lr = 0.1 / epoch,
                          .train_loss = 2.0 / epoch,
                          .train_accuracy = 0.1 * epoch,
                          .seconds = 1.5 * epoch,
                          .images_per_second = 1000 + epoch,
                          .val_loss = 1.0 / epoch,
                          .loss_scale = 1024.0 * epoch,
                          .skipped_steps = epoch};
    llx_confusion_clear(&e.val_confusion);
    for (int t = 0; t < LLX_NUM_CLASSES; t++)
        for (int p = 0; p < LLX_NUM_CLASSES; p++)
            e.val_confusion.m[t][p] = t == p ? 10 + epoch * t : (t + p + epoch) % 3;
    llx_metrics_compute(&e.val_confusion, &e.val);
    return e;
}

static int count_temporaries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

/* A fresh run folder <tmp_root>/<name> and the path of its run.h5. */
static void run_dir(const char *name, char dir[512], char path[600])
{
    fixture_path(dir, 512, "%s/%s", tmp_root, name);
    fixture_path(path, 600, "%s/run.h5", dir);
    CHECK(fixture_mkdirs(dir) == 0);
}

static void test_runfile_round_trip(void)
{
    char dir[512], path[600];
    run_dir("run", dir, path);
    llx_runfile r;
    llx_error err = {0};
    CHECK(llx_runfile_init(&r, &err) == LLX_OK);
    CHECK(llx_runfile_set(&r.experiment, "model:\n  input: [1, 16, 16]\ntrain: {epochs: 3}\n", &err) ==
          LLX_OK);
    CHECK(llx_runfile_set(&r.experiment_path, "experiments/x.yaml", &err) == LLX_OK);
    CHECK(llx_runfile_set(&r.vars, "attention: se\nseed: 2\n", &err) == LLX_OK);
    CHECK(llx_runfile_set(&r.sweep_vars, "attention,seed", &err) == LLX_OK);
    r.seed = 2;
    r.threads = 2;
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.device_name, sizeof r.device_name, "CPU, 2 threads");
    snprintf(r.host, sizeof r.host, "testhost");
    snprintf(r.git.commit, sizeof r.git.commit, "0123456789abcdef0123456789abcdef01234567");
    snprintf(r.git.branch, sizeof r.git.branch, "main");
    snprintf(r.git.repo, sizeof r.git.repo, "/src/llx/");
    r.git.dirty = true;
    r.git.diff = strdup("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
    r.params = 1234;
    r.macs = 56789;
    r.epochs_total = 3;
    snprintf(r.select_metric, sizeof r.select_metric, "macro_f1");

    /* before the first epoch: empty history, still a valid file */
    CHECK_MSG(llx_runfile_write(&r, path, &err) == LLX_OK, "%s", err.msg);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    hsize_t dims[3] = {9, 9, 9};
    CHECK(attr_i64(f, "epochs_done") == 0);
    CHECK(read_ds(f, "/history/val_accuracy", H5T_NATIVE_DOUBLE, dims, NULL) == 1 && dims[0] == 0);
    CHECK(read_ds(f, "/history/val_confusion", H5T_NATIVE_INT64, dims, NULL) == 3 && dims[0] == 0 &&
          dims[1] == 7);

    /* a reader keeps the old file open while two epochs are written */
    llx_epoch_result e1 = epoch_result(1), e2 = epoch_result(2);
    e1.best = true;
    e2.best = e2.val.macro_f1 > e1.val.macro_f1;
    CHECK(llx_runfile_add_epoch(&r, &e1, &err) == LLX_OK && llx_runfile_add_epoch(&r, &e2, &err) == LLX_OK);
    CHECK_MSG(llx_runfile_write(&r, path, &err) == LLX_OK, "%s", err.msg);
    CHECK(attr_i64(f, "epochs_done") == 0); /* the old file, whole */
    CHECK(read_ds(f, "/history/epoch", H5T_NATIVE_DOUBLE, dims, NULL) == 1 && dims[0] == 0);
    H5Fclose(f);
    CHECK(count_temporaries(dir) == 0);

    r.val_best = (llx_runfile_scores){.present = true, .epoch = 2, .m = e2.val, .c = e2.val_confusion};
    r.test = (llx_runfile_scores){.present = true, .epoch = 2, .m = e1.val, .c = e1.val_confusion};
    snprintf(r.state, sizeof r.state, "finished");
    llx_runfile_now(r.end_time);
    CHECK_MSG(llx_runfile_write(&r, path, &err) == LLX_OK, "%s", err.msg);
    CHECK(count_temporaries(dir) == 0);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    struct {
        const char *name, *want;
    } strs[] = {{"format", "llx-run"},
                {"llx_version", LLX_VERSION},
                {"state", "finished"},
                {"experiment_path", "experiments/x.yaml"},
                {"vars", "attention: se\nseed: 2\n"},
                {"sweep_vars", "attention,seed"},
                {"device", "cpu"},
                {"device_name", "CPU, 2 threads"},
                {"host", "testhost"},
                {"git_commit", "0123456789abcdef0123456789abcdef01234567"},
                {"git_branch", "main"},
                {"git_repo", "/src/llx/"},
                {"git_diff", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"},
                {"select_metric", "macro_f1"}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        char *v = attr_str(f, strs[i].name);
        CHECK_MSG(v && strcmp(v, strs[i].want) == 0, "%s = '%s'", strs[i].name, v ? v : "(missing)");
        free(v);
    }
    char *yaml = attr_str(f, "experiment"), *start = attr_str(f, "start_time"),
         *end = attr_str(f, "end_time");
    CHECK_CONTAINS(yaml, "input: [1, 16, 16]");
    CHECK_MSG(start && strlen(start) == 20 && start[10] == 'T' && start[19] == 'Z', "start '%s'", start);
    CHECK(end && strlen(end) == 20);
    free(yaml);
    free(start);
    free(end);
    CHECK(attr_i64(f, "format_version") == 1);
    CHECK(attr_i64(f, "seed") == 2 && attr_i64(f, "git_dirty") == 1);
    CHECK(attr_i64(f, "params") == 1234 && attr_i64(f, "macs") == 56789);
    CHECK(attr_i64(f, "epochs_total") == 3 && attr_i64(f, "epochs_done") == 2);
    int best = e2.best ? 2 : 1;
    CHECK(attr_i64(f, "best_epoch") == best);
    CHECK(attr_f64(f, "best_value") == (best == 2 ? e2.val.macro_f1 : e1.val.macro_f1));

    double col[2];
    CHECK(read_ds(f, "/history/epoch", H5T_NATIVE_DOUBLE, dims, col) == 1 && dims[0] == 2);
    CHECK(col[0] == 1 && col[1] == 2);
    CHECK(read_ds(f, "/history/lr", H5T_NATIVE_DOUBLE, dims, col) == 1 && col[0] == e1.lr && col[1] == e2.lr);
    CHECK(read_ds(f, "/history/val_macro_f1", H5T_NATIVE_DOUBLE, dims, col) == 1 &&
          col[1] == e2.val.macro_f1);
    CHECK(read_ds(f, "/history/val_f1_surprise", H5T_NATIVE_DOUBLE, dims, col) == 1 &&
          col[0] == e1.val.f1[6]);
    CHECK(read_ds(f, "/history/val_acc_anger", H5T_NATIVE_DOUBLE, dims, col) == 1 &&
          col[1] == e2.val.class_accuracy[1]);
    CHECK(read_ds(f, "/history/images_per_second", H5T_NATIVE_DOUBLE, dims, col) == 1 && col[1] == 1002);
    CHECK(read_ds(f, "/history/loss_scale", H5T_NATIVE_DOUBLE, dims, col) == 1 && col[0] == 1024 && col[1] == 2048);
    CHECK(read_ds(f, "/history/skipped_steps", H5T_NATIVE_DOUBLE, dims, col) == 1 && col[1] == 2);
    static const char *const columns[] = {"train_loss",      "train_accuracy",  "val_loss",
                                          "val_accuracy",    "val_abaw",        "seconds",
                                          "val_acc_neutral", "val_f1_happiness"};
    for (size_t i = 0; i < sizeof columns / sizeof *columns; i++) {
        char name[64];
        snprintf(name, sizeof name, "/history/%s", columns[i]);
        CHECK_MSG(read_ds(f, name, H5T_NATIVE_DOUBLE, dims, col) == 1 && dims[0] == 2, "%s", name);
    }
    int64_t conf[2][7][7];
    CHECK(read_ds(f, "/history/val_confusion", H5T_NATIVE_INT64, dims, conf) == 3 && dims[0] == 2 &&
          dims[1] == 7 && dims[2] == 7);
    CHECK(memcmp(conf[1], e2.val_confusion.m, sizeof conf[1]) == 0);
    int64_t c7[7][7];
    double seven[7];
    CHECK(read_ds(f, "/test/confusion", H5T_NATIVE_INT64, dims, c7) == 2 &&
          memcmp(c7, e1.val_confusion.m, sizeof c7) == 0);
    CHECK(read_ds(f, "/val_best/f1", H5T_NATIVE_DOUBLE, dims, seven) == 1 && seven[3] == e2.val.f1[3]);
    hid_t g = H5Gopen2(f, "/val_best", H5P_DEFAULT);
    CHECK(g >= 0 && attr_f64(g, "accuracy") == e2.val.accuracy && attr_i64(g, "epoch") == 2);
    H5Gclose(g);
    H5Fclose(f);

    /* read back as llx run --resume does */
    llx_runfile back;
    CHECK_MSG(llx_runfile_reload(path, &back, &err) == LLX_OK, "%s", err.msg);
    CHECK(back.n_epochs == 2 && back.epochs[1].val.macro_f1 == e2.val.macro_f1 && back.epochs[0].lr == e1.lr);
    CHECK(memcmp(&back.epochs[1].val, &e2.val, sizeof e2.val) == 0);
    CHECK(back.epochs[0].best && back.epochs[1].best == e2.best && back.best_epoch == best);
    CHECK(strcmp(back.experiment, r.experiment) == 0 && strcmp(back.git.diff, r.git.diff) == 0);
    CHECK(back.threads == 2 && back.seed == 2 && back.epochs_total == 3 &&
          strcmp(back.state, "finished") == 0);
    CHECK(back.epochs[1].loss_scale == 2048 && back.epochs[1].skipped_steps == 2);
    llx_runfile_free(&back);

    /* a file written before loss scaling (no loss_scale, skipped_steps) reloads with S 1, none skipped */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(H5Ldelete(f, "/history/loss_scale", H5P_DEFAULT) >= 0 &&
          H5Ldelete(f, "/history/skipped_steps", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    CHECK_MSG(llx_runfile_reload(path, &back, &err) == LLX_OK, "%s", err.msg);
    CHECK(back.n_epochs == 2 && back.epochs[1].loss_scale == 1 && back.epochs[1].skipped_steps == 0 &&
          back.epochs[1].lr == e2.lr);
    llx_runfile_free(&back);
    CHECK(llx_runfile_write(&r, path, &err) == LLX_OK); /* as it was */

    /* a failed run keeps its message */
    snprintf(r.state, sizeof r.state, "failed");
    CHECK(llx_runfile_set(&r.error, "epoch 3, step 2: the loss is nan", &err) == LLX_OK);
    CHECK(llx_runfile_write(&r, path, &err) == LLX_OK);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *msg = attr_str(f, "error"), *state = attr_str(f, "state");
    CHECK(msg && strcmp(msg, "epoch 3, step 2: the loss is nan") == 0 && strcmp(state, "failed") == 0);
    free(msg);
    free(state);
    H5Fclose(f);

    /* a file of another format version is refused */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int64_t v2 = 2;
    H5Awrite(a, H5T_NATIVE_INT64, &v2);
    H5Aclose(a);
    H5Fclose(f);
    CHECK(llx_runfile_reload(path, &back, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "format version 2");
    llx_runfile_free(&back);
    llx_runfile_free(&r);
}

/* size bytes of patch-like text (every line different), malloc'd. */
static char *big_text(size_t size, const char *head)
{
    char *t = malloc(size + 1);
    size_t n = 0;
    for (int i = 0; n < size; i++)
        n += (size_t)snprintf(t + n, size + 1 - n, "%s line %d: +int width_%d = %d;\n", head, i, i, i * 7);
    t[size] = '\0';
    return t;
}

/* A 300 KiB git diff and experiment: written (dense attribute storage), read back the same
 * with the plain HDF5 API, llx_runfile_reload and llx_run_read. */
static void test_runfile_large_strings(void)
{
    char dir[512], path[600];
    run_dir("bigrun", dir, path);
    char *diff = big_text(300 * 1024, "diff"), *experiment = big_text(300 * 1024 + 17, "# note");
    llx_runfile r;
    llx_error err = {0};
    CHECK(llx_runfile_init(&r, &err) == LLX_OK);
    CHECK(llx_runfile_set(&r.experiment, experiment, &err) == LLX_OK);
    CHECK(llx_runfile_set(&r.vars, "seed: 1\n", &err) == LLX_OK);
    snprintf(r.state, sizeof r.state, "finished");
    snprintf(r.select_metric, sizeof r.select_metric, "accuracy");
    r.git.dirty = true;
    r.git.diff = strdup(diff);
    r.epochs_total = 1;
    llx_epoch_result e1 = epoch_result(1);
    e1.best = true;
    CHECK(llx_runfile_add_epoch(&r, &e1, &err) == LLX_OK);
    CHECK_MSG(llx_runfile_write(&r, path, &err) == LLX_OK, "%s", err.msg);
    CHECK(count_temporaries(dir) == 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    char *v = attr_str(f, "git_diff");
    CHECK(v && strcmp(v, diff) == 0);
    free(v);
    v = attr_str(f, "experiment");
    CHECK(v && strcmp(v, experiment) == 0);
    free(v);
    v = attr_str(f, "format");
    CHECK(v && strcmp(v, "llx-run") == 0);
    free(v);
    CHECK(attr_i64(f, "git_dirty") == 1 && attr_i64(f, "epochs_done") == 1);
    H5Fclose(f);

    llx_runfile back;
    CHECK_MSG(llx_runfile_reload(path, &back, &err) == LLX_OK, "%s", err.msg);
    CHECK(back.git.diff && strcmp(back.git.diff, diff) == 0);
    CHECK(back.experiment && strcmp(back.experiment, experiment) == 0);
    CHECK(back.git.dirty && back.n_epochs == 1);
    /* written again from the reloaded record (a resumed run): still the same */
    CHECK_MSG(llx_runfile_write(&back, path, &err) == LLX_OK, "%s", err.msg);
    llx_runfile_free(&back);

    llx_run run;
    CHECK_MSG(llx_run_read(dir, &run, &err) == LLX_OK, "%s", err.msg);
    CHECK(run.state == LLX_RUN_FINISHED && run.experiment && strcmp(run.experiment, experiment) == 0);
    CHECK(run.git_dirty);
    llx_run_free(&run);
    llx_runfile_free(&r);
    free(diff);
    free(experiment);
}

/* A trainer checkpoint restores the velocity and counters exactly; a weights-only one cannot resume. */
static void test_trainer_checkpoint(void)
{
    static const char *text = "model:\n"
                              "  input: [1, 16, 16]\n"
                              "  layers:\n"
                              "    - {type: conv2d, name: conv1, out: 4, bias: false}\n"
                              "    - {type: batchnorm2d, name: bn1}\n"
                              "    - {type: relu}\n"
                              "    - {type: global_avgpool}\n"
                              "    - {type: linear, name: fc, out: 7}\n"
                              "data:\n"
                              "  train: {format: synthetic, count: 64, size: 16}\n"
                              "  val: {format: synthetic, count: 28, size: 16}\n"
                              "  size: 16\n  channels: 1\n"
                              "train: {epochs: 3, batch: 16, lr: 0.05, seed: 5, threads: 1}\n";
    llx_registry *reg;
    llx_plugins *plugins;
    llx_error err = {0};
    llx_doc *doc;
    llx_trainer *a = NULL, *b = NULL;
    llx_train_options o = {.log = stderr};
    CHECK(llx_registry_create(&reg, &err) == LLX_OK && llx_plugins_create(&plugins, &err) == LLX_OK);
    CHECK(llx_plugins_load_all(plugins, reg, NULL, 0, &err) == LLX_OK);
    CHECK_MSG(llx_doc_parse("ckpt.yaml", text, NULL, 0, &doc, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(llx_trainer_create(reg, doc, &o, &a, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(llx_trainer_create(reg, doc, &o, &b, &err) == LLX_OK, "%s", err.msg);
    if (!a || !b) return;
    llx_epoch_result r;
    CHECK(llx_trainer_epoch(a, &r, &err) == LLX_OK);
    char path[600], weights[600];
    fixture_path(path, sizeof path, "%s/checkpoint_last.h5", tmp_root);
    fixture_path(weights, sizeof weights, "%s/weights.h5", tmp_root);
    CHECK_MSG(llx_checkpoint_save_trainer(a, path, text, &err) == LLX_OK, "%s", err.msg);
    CHECK(llx_checkpoint_save(llx_trainer_graph(a), weights, 1, text, &err) == LLX_OK);
    CHECK(count_temporaries(tmp_root) == 0);
    CHECK_MSG(llx_checkpoint_load_trainer(b, path, &err) == LLX_OK, "%s", err.msg);
    llx_trainer_state sa, sb;
    llx_trainer_get_state(a, &sa);
    llx_trainer_get_state(b, &sb);
    CHECK(sb.epoch == 1 && !sb.first_step && sb.best_epoch == sa.best_epoch &&
          sb.best_value == sa.best_value);
    CHECK(llx_trainer_optimizer_count(a) == llx_trainer_optimizer_count(b) &&
          llx_trainer_optimizer_count(a) > 0);
    for (int i = 0; i < llx_trainer_optimizer_count(a); i++) {
        llx_tensor *va = llx_trainer_optimizer_tensor(a, i), *vb = llx_trainer_optimizer_tensor(b, i);
        CHECK_MSG(memcmp(va->data, vb->data, llx_tensor_bytes(va)) == 0, "velocity of %s", va->name);
    }
    /* the next epoch is the same in both */
    llx_epoch_result ra, rb;
    CHECK(llx_trainer_epoch(a, &ra, &err) == LLX_OK && llx_trainer_epoch(b, &rb, &err) == LLX_OK);
    CHECK(ra.epoch == 2 && rb.epoch == 2 && ra.train_loss == rb.train_loss && ra.val_loss == rb.val_loss);
    llx_graph *ga = llx_trainer_graph(a), *gb = llx_trainer_graph(b);
    llx_tensor *wa = llx_graph_value(ga, llx_graph_find(ga, "conv1.weight"));
    llx_tensor *wb = llx_graph_value(gb, llx_graph_find(gb, "conv1.weight"));
    CHECK(memcmp(wa->data, wb->data, llx_tensor_bytes(wa)) == 0);
    /* weights only: refused with the reason */
    CHECK(llx_checkpoint_load_trainer(b, weights, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "cannot resume");

    /* a 300 KiB experiment in both kinds of checkpoint reads back the same */
    char big[600], *yaml = NULL, *long_text = big_text(300 * 1024, "# experiment");
    int epoch = -1;
    fixture_path(big, sizeof big, "%s/big_weights.h5", tmp_root);
    CHECK_MSG(llx_checkpoint_save(llx_trainer_graph(a), big, 1, long_text, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(llx_checkpoint_read_experiment(big, &yaml, &epoch, &err) == LLX_OK, "%s", err.msg);
    CHECK(yaml && strcmp(yaml, long_text) == 0 && epoch == 1);
    free(yaml);
    yaml = NULL;
    fixture_path(big, sizeof big, "%s/big_trainer.h5", tmp_root);
    CHECK_MSG(llx_checkpoint_save_trainer(a, big, long_text, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(llx_checkpoint_read_experiment(big, &yaml, &epoch, &err) == LLX_OK, "%s", err.msg);
    CHECK(yaml && strcmp(yaml, long_text) == 0 && epoch == 2); /* a has trained its second epoch */
    CHECK_MSG(llx_checkpoint_load_trainer(b, big, &err) == LLX_OK, "%s", err.msg);
    free(yaml);
    free(long_text);

    /* train.init_from: a classifier of another size (10 classes) is skipped with a message */
    hid_t f = H5Fopen(weights, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && H5Ldelete(f, "/params/fc.weight", H5P_DEFAULT) >= 0);
    hsize_t dims[2] = {10, 4};
    float w10[40] = {0};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t ds =
        H5Dcreate2(f, "/params/fc.weight", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w10) >= 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Fclose(f);
    char set[700], *log_text = NULL;
    size_t log_len = 0;
    snprintf(set, sizeof set, "train.init_from=%s", weights);
    const char *sets[] = {set};
    llx_doc *fine;
    llx_trainer *c = NULL;
    FILE *log = open_memstream(&log_text, &log_len);
    llx_train_options oc = {.log = log};
    CHECK_MSG(llx_doc_parse("fine.yaml", text, sets, 1, &fine, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(llx_trainer_create(reg, fine, &oc, &c, &err) == LLX_OK, "%s", err.msg);
    fclose(log);
    CHECK_CONTAINS(log_text, "skipped 'fc.weight'");
    CHECK_CONTAINS(log_text, "has shape (10, 4), the network's is (7, 4)");
    CHECK_CONTAINS(log_text, "1 tensor skipped");
    if (c) {
        llx_graph *gc = llx_trainer_graph(c);
        llx_tensor *wc = llx_graph_value(gc, llx_graph_find(gc, "conv1.weight"));
        float *saved = malloc(llx_tensor_bytes(wc));
        CHECK(llx_checkpoint_load(gc, path, NULL, NULL, &err) == LLX_OK); /* conv1 as saved after epoch 1 */
        memcpy(saved, wc->data, llx_tensor_bytes(wc));
        llx_trainer_free(c);
        c = NULL;
        /* init_from loaded conv1.weight from the weights file: the same values */
        FILE *quiet = fopen("/dev/null", "w");
        oc.log = quiet;
        CHECK(llx_trainer_create(reg, fine, &oc, &c, &err) == LLX_OK);
        if (c) {
            gc = llx_trainer_graph(c);
            wc = llx_graph_value(gc, llx_graph_find(gc, "conv1.weight"));
            CHECK(memcmp(saved, wc->data, llx_tensor_bytes(wc)) == 0);
        }
        fclose(quiet);
        free(saved);
    }
    free(log_text);
    llx_trainer_free(c);
    llx_doc_free(fine);
    llx_trainer_free(a);
    llx_trainer_free(b);
    llx_doc_free(doc);
    llx_registry_free(reg);
    llx_plugins_free(plugins);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    tmp_root = fixture_tmpdir("llx_results");
    if (!tmp_root) {
        fprintf(stderr, "setup: no temporary folder\n");
        return 1;
    }
    if (system("git --version >/dev/null 2>&1") == 0)
        RUN(test_gitinfo);
    else
        printf("skip test_gitinfo: no git command\n");
    RUN(test_runfile_round_trip);
    RUN(test_runfile_large_strings);
    RUN(test_trainer_checkpoint);
    fixture_rmtree(tmp_root);
    free(tmp_root);
    return check_report();
}
