/* run_fixture.c: see run_fixture.h. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/src/h5util_impl.h" /* the writer llx uses: the same file layout */
#include "fixture_tree.h"
#include "run_fixture.h"

static const char *const class_names[7] = {"neutral",   "anger",   "disgust", "fear",
                                           "happiness", "sadness", "surprise"};

/* An integer (is_int) or float64 dataset. */
static void dataset(hid_t loc, const char *name, int rank, const hsize_t *dims, int is_int, const void *data)
{
    llx_h5_dataset(loc, name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                   is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, rank, dims, data);
}

/* 100 samples per class: the diagonal is the class accuracy, the rest goes to the next class. */
static void confusion_of(const double acc[7], long long m[7][7])
{
    memset(m, 0, sizeof(long long) * 49);
    for (int t = 0; t < 7; t++) {
        long long right = llround(100 * acc[t]);
        m[t][t] = right;
        m[t][(t + 1) % 7] += 100 - right;
    }
}

static void scores_group(hid_t f, const char *name, const run_fixture_scores *s)
{
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    llx_h5_f64_attr(g, "accuracy", s->accuracy);
    llx_h5_f64_attr(g, "macro_f1", s->macro_f1);
    llx_h5_f64_attr(g, "abaw", s->abaw);
    llx_h5_i64_attr(g, "epoch", s->epoch);
    hsize_t d7[1] = {7}, d77[2] = {7, 7};
    double f1[7];
    for (int c = 0; c < 7; c++)
        f1[c] = s->class_accuracy[c] * 0.9;
    long long m[7][7];
    confusion_of(s->class_accuracy, m);
    dataset(g, "class_accuracy", 1, d7, 0, s->class_accuracy);
    dataset(g, "f1", 1, d7, 0, f1);
    dataset(g, "confusion", 2, d77, 1, m);
    H5Gclose(g);
}

/* Plausible curves: losses fall, accuracies rise toward the best scores, cosine lr. */
static void history(hid_t f, const run_fixture *fx)
{
    hid_t g = H5Gcreate2(f, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int64_t n = fx->epochs_done;
    const run_fixture_scores *ref = fx->val_best.present ? &fx->val_best : &fx->test;
    double *col = calloc((size_t)n + 1, sizeof *col);
    long long *conf = calloc((size_t)n * 49 + 1, sizeof *conf);
    hsize_t dn[1] = {(hsize_t)n}, dconf[3] = {(hsize_t)n, 7, 7};
    const char *names[] = {
        "epoch",        "lr",           "train_loss", "train_accuracy", "val_loss",
        "val_accuracy", "val_macro_f1", "val_abaw",   "seconds",        "images_per_second"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        for (int64_t e = 0; e < n; e++) {
            double t = (double)(e + 1) / (double)(fx->epochs_total ? fx->epochs_total : 1);
            double rise = 1 - exp(-4.0 * t), wiggle = 0.01 * sin(3.0 * (double)e + (double)fx->seed);
            double v = 0;
            switch (k) {
            case 0:
                v = (double)(e + 1);
                break;
            case 1:
                v = 0.05 * 0.5 * (1 + cos(M_PI * (double)e / (double)fx->epochs_total));
                break;
            case 2:
                v = 1.95 * exp(-2.2 * t) + 0.15;
                break;
            case 3:
                v = 0.2 + (ref->accuracy + 0.12 - 0.2) * rise;
                break;
            case 4:
                v = 1.95 * exp(-1.6 * t) + 0.55 + wiggle + 0.3 * t * t;
                break;
            case 5:
                v = 0.2 + (ref->accuracy - 0.2) * rise + wiggle;
                break;
            case 6:
                v = 0.1 + (ref->macro_f1 - 0.1) * rise + wiggle;
                break;
            case 7:
                v = 0.67 * (0.1 + (ref->macro_f1 - 0.1) * rise) + 0.33 * (0.2 + (ref->accuracy - 0.2) * rise);
                break;
            case 8:
                v = 41.5 + (double)(e % 3);
                break;
            default:
                v = 310.0 - (double)(e % 4);
                break;
            }
            col[e] = v;
        }
        dataset(g, names[k], 1, dn, 0, col);
    }
    for (int c = 0; c < 7; c++) {
        char name[64];
        for (int64_t e = 0; e < n; e++)
            col[e] = ref->class_accuracy[c] * (0.6 + 0.4 * (double)(e + 1) / (double)n);
        snprintf(name, sizeof name, "val_acc_%s", class_names[c]);
        dataset(g, name, 1, dn, 0, col);
        for (int64_t e = 0; e < n; e++)
            col[e] *= 0.9;
        snprintf(name, sizeof name, "val_f1_%s", class_names[c]);
        dataset(g, name, 1, dn, 0, col);
    }
    for (int64_t e = 0; e < n; e++) {
        double acc[7];
        for (int c = 0; c < 7; c++)
            acc[c] = ref->class_accuracy[c] * (0.6 + 0.4 * (double)(e + 1) / (double)n);
        confusion_of(acc, (long long(*)[7])(conf + e * 49));
    }
    dataset(g, "val_confusion", 3, dconf, 1, conf);
    free(col);
    free(conf);
    H5Gclose(g);
}

run_fixture run_fixture_default(void)
{
    run_fixture f = {
        .state = "finished",
        .error = "",
        .experiment_path = "experiments/quick.yaml",
        .vars_yaml = "attention: none\nseed: 1\n",
        .sweep_vars = "attention,seed",
        .git_commit = "3f2a9c1d7b4e5f60718293a4b5c6d7e8f9012345",
        .seed = 1,
        .params = 11176512,
        .macs = 1820000000,
        .epochs_total = 10,
        .epochs_done = 10,
        .best_epoch = 8,
    };
    run_fixture_scores s = {.present = 1,
                            .epoch = 8,
                            .accuracy = 0.6,
                            .macro_f1 = 0.5,
                            .class_accuracy = {0.7, 0.5, 0.3, 0.4, 0.85, 0.55, 0.75}};
    s.abaw = 0.67 * s.macro_f1 + 0.33 * s.accuracy;
    f.test = s;
    f.val_best = s;
    f.val_best.accuracy += 0.01;
    return f;
}

int run_fixture_write(const char *dir, const run_fixture *fx)
{
    char path[4096], tmp[4200];
    if (fixture_mkdirs(dir) != 0) return -1;
    snprintf(path, sizeof path, "%s/run.h5", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = llx_h5_create(tmp);
    if (f < 0) {
        fprintf(stderr, "run_fixture: cannot create %s\n", tmp);
        return -1;
    }
    llx_h5_str_attr(f, "format", "llx-run");
    llx_h5_i64_attr(f, "format_version", 1);
    llx_h5_str_attr(f, "llx_version", "0.1.0");
    llx_h5_str_attr(f, "state", fx->state);
    if (strcmp(fx->state, "failed") == 0) llx_h5_str_attr(f, "error", fx->error);
    llx_h5_str_attr(f, "experiment", "model: {}\n");
    llx_h5_str_attr(f, "experiment_path", fx->experiment_path);
    llx_h5_str_attr(f, "vars", fx->vars_yaml);
    llx_h5_str_attr(f, "sweep_vars", fx->sweep_vars);
    llx_h5_i64_attr(f, "seed", fx->seed);
    llx_h5_str_attr(f, "device", "cpu");
    llx_h5_str_attr(f, "device_name", "CPU, 2 threads");
    llx_h5_str_attr(f, "host", "testhost");
    llx_h5_str_attr(f, "start_time", "2024-05-01T10:00:00Z");
    llx_h5_str_attr(f, "end_time", strcmp(fx->state, "running") == 0 ? "" : "2024-05-01T11:00:00Z");
    llx_h5_str_attr(f, "git_commit", fx->git_commit);
    llx_h5_str_attr(f, "git_branch", "main");
    llx_h5_i64_attr(f, "git_dirty", fx->git_dirty);
    llx_h5_str_attr(f, "git_diff", fx->git_dirty ? "diff --git a/x b/x\n" : "");
    llx_h5_str_attr(f, "git_repo", "/work/main");
    llx_h5_i64_attr(f, "params", fx->params);
    llx_h5_i64_attr(f, "macs", fx->macs);
    llx_h5_i64_attr(f, "epochs_total", fx->epochs_total);
    llx_h5_i64_attr(f, "epochs_done", fx->epochs_done);
    llx_h5_str_attr(f, "select_metric", "accuracy");
    llx_h5_i64_attr(f, "best_epoch", fx->best_epoch);
    llx_h5_f64_attr(f, "best_value", fx->val_best.accuracy);
    history(f, fx);
    if (fx->test.present) scores_group(f, "test", &fx->test);
    if (fx->val_best.present) scores_group(f, "val_best", &fx->val_best);
    if (H5Fclose(f) < 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "run_fixture: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static int finished(const char *root, const char *name, const char *attention, int seed, double acc,
                    double f1)
{
    char dir[4096], vars[128];
    run_fixture f = run_fixture_default();
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(vars, sizeof vars, "attention: %s\nseed: %d\n", attention, seed);
    f.vars_yaml = vars;
    f.seed = seed;
    if (strcmp(attention, "llam") == 0) {
        f.params = 11180103;
        f.macs = 1822000000;
        f.best_epoch = 9;
        f.git_dirty = 1;
    }
    f.test.accuracy = acc;
    f.test.macro_f1 = f1;
    f.test.abaw = 0.67 * f1 + 0.33 * acc;
    f.test.epoch = f.best_epoch;
    for (int c = 0; c < 7; c++)
        f.test.class_accuracy[c] = fmin(1.0, f.test.class_accuracy[c] + (acc - 0.6));
    f.val_best = f.test;
    f.val_best.accuracy = acc + 0.01;
    return run_fixture_write(dir, &f);
}

int run_fixture_suite(const char *root)
{
    char dir[4096], path[4200];
    if (finished(root, "q-none-s1", "none", 1, 0.60, 0.50) ||
        finished(root, "q-none-s2", "none", 2, 0.64, 0.54) ||
        finished(root, "q-llam-s1", "llam", 1, 0.70, 0.61) ||
        finished(root, "q-llam-s2", "llam", 2, 0.66, 0.63))
        return -1;
    run_fixture f = run_fixture_default();
    f.state = "running";
    f.vars_yaml = "attention: se\nseed: 1\n";
    f.epochs_done = 3;
    f.best_epoch = 3;
    f.test.present = 0;
    f.val_best.epoch = 3;
    if (run_fixture_write(fixture_path(dir, sizeof dir, "%s/q-se-s1", root), &f)) return -1;
    f = run_fixture_default();
    f.state = "failed";
    f.error = "out of memory in stage3.block0.attn";
    f.vars_yaml = "attention: cbam\nseed: 1\n";
    f.epochs_done = 2;
    f.test.present = 0;
    if (run_fixture_write(fixture_path(dir, sizeof dir, "%s/q-cbam-s1", root), &f)) return -1;
    /* truncated: a whole record cut to half its size */
    f = run_fixture_default();
    f.vars_yaml = "attention: eca\nseed: 1\n";
    if (run_fixture_write(fixture_path(dir, sizeof dir, "%s/q-truncated", root), &f)) return -1;
    struct stat st;
    fixture_path(path, sizeof path, "%s/run.h5", dir);
    if (stat(path, &st) != 0 || truncate(path, st.st_size / 2) != 0) return -1;
    /* foreign: a valid HDF5 file with other content */
    fixture_mkdirs(fixture_path(dir, sizeof dir, "%s/q-foreign", root));
    hid_t h = llx_h5_create(fixture_path(path, sizeof path, "%s/run.h5", dir));
    if (h < 0) return -1;
    llx_h5_str_attr(h, "format", "llx-checkpoint");
    hid_t g = H5Gcreate2(h, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double w[4] = {1, 2, 3, 4};
    hsize_t d[1] = {4};
    dataset(g, "fc.weight", 1, d, 0, w);
    H5Gclose(g);
    H5Fclose(h);
    fixture_path(dir, sizeof dir, "%s/q-text", root);
    return fixture_text(fixture_path(path, sizeof path, "%s/run.h5", dir), "this is not an HDF5 file\n");
}
