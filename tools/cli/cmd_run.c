/* cmd_run.c: `llx run EXP.yaml`: trains an experiment (every member of its sweep:),
 * one run folder each, and prints the per-epoch figures and the final scores. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "llx/checkpoint.h"
#include "llx/train.h"

#define MAX_SETS 64

typedef struct run_args {
    const char *exp, *out_root, *device, *name;
    const char *sets[MAX_SETS];
    int n_sets, threads, log_every;
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->out_root = "results";
    a->log_every = 50;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--set") == 0 && v && a->n_sets < MAX_SETS) a->sets[a->n_sets++] = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) a->out_root = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && v) a->device = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && v) a->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--log-every") == 0 && v) a->log_every = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !a->exp) a->exp = argv[i];
        else {
            fprintf(stderr, "llx run: unexpected argument '%s' (see llx run --help)\n", argv[i]);
            return 2;
        }
    }
    if (!a->exp) {
        fprintf(stderr, "llx run: which experiment? usage: llx run EXP.yaml\n");
        return 2;
    }
    return 0;
}

static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* results/<experiment>[-var=value...]-<time>: readable and unique. */
static void run_dir(const run_args *a, const char *const *combo, int n_combo, char *out, size_t cap)
{
    const char *base = strrchr(a->exp, '/') ? strrchr(a->exp, '/') + 1 : a->exp;
    size_t n = (size_t)snprintf(out, cap, "%s/%.*s", a->out_root, (int)strcspn(base, "."), base);
    for (int i = 0; i < n_combo && n < cap; i++) {
        n += (size_t)snprintf(out + n, cap - n, "-");
        for (const char *c = combo[i]; *c && n + 1 < cap; c++) out[n++] = strchr("/ {}:,", *c) ? '_' : *c;
        out[n] = '\0';
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    if (n < cap) n += strftime(out + n, cap - n, "-%Y%m%d-%H%M%S", &tm);
    for (int k = 2; access(out, F_OK) == 0 && k < 1000 && n + 5 < cap; k++) /* same second: number it */
        snprintf(out + n, cap - n, "-%d", k);
}

static void print_epoch(const llx_epoch_result *r, int total, const char *select)
{
    double sel = 0;
    llx_metrics_get(&r->val, select, &sel);
    printf("epoch %3d/%d  lr %.5f  train loss %.4f acc %5.1f%%  val loss %.4f acc %5.1f%% F1 %.3f ABAW %.3f  "
           "%s %.4f  %.0fs %.0f img/s%s\n",
           r->epoch, total, r->lr, r->train_loss, 100 * r->train_accuracy, r->val_loss, 100 * r->val.accuracy,
           r->val.macro_f1, r->val.abaw, select, sel, r->seconds, r->images_per_second, r->best ? "  *best*" : "");
    fflush(stdout);
}

static void print_metrics(const char *what, const llx_metrics *m)
{
    printf("%s: accuracy %.4f  macro-F1 %.4f  ABAW %.4f\n  per class accuracy:", what, m->accuracy, m->macro_f1, m->abaw);
    for (int k = 0; k < LLX_NUM_CLASSES; k++) printf(" %s %.3f", llx_class_name(k), m->class_accuracy[k]);
    printf("\n");
}

static FILE *open_history(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/history.csv", dir);
    FILE *f = fopen(path, "w");
    if (f)
        fprintf(f, "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1,val_abaw,seconds,"
                   "images_per_second,best\n");
    return f;
}

/* Trains one experiment document into dir. */
static int run_one(const run_args *a, cli_env *env, const char *dir)
{
    llx_error err = {0};
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "llx run: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *yaml = llx_doc_to_yaml(env->doc), path[4200];
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    FILE *y = fopen(path, "w");
    if (y && yaml) fputs(yaml, y);
    if (y) fclose(y);
    printf("run %s\n", dir);
    fflush(stdout);
    llx_train_options o = {.device = a->device, .threads = a->threads, .log = stderr, .live = isatty(2),
                           .log_every = a->log_every};
    llx_trainer *t;
    if (llx_trainer_create(env->reg, env->doc, &o, &t, &err) != LLX_OK) {
        free(yaml);
        return cli_fail(&err);
    }
    FILE *hist = open_history(dir);
    int status = 0, best_epoch = 0;
    while (llx_trainer_epochs_done(t) < llx_trainer_epochs_total(t)) {
        llx_epoch_result r;
        if (llx_trainer_epoch(t, &r, &err) != LLX_OK) {
            status = cli_fail(&err);
            break;
        }
        print_epoch(&r, llx_trainer_epochs_total(t), llx_trainer_select_metric(t));
        if (hist) {
            fprintf(hist, "%d,%.8g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,%d\n", r.epoch, r.lr, r.train_loss,
                    r.train_accuracy, r.val_loss, r.val.accuracy, r.val.macro_f1, r.val.abaw, r.seconds,
                    r.images_per_second, r.best);
            fflush(hist);
        }
        snprintf(path, sizeof path, "%s/checkpoint_last.h5", dir);
        llx_status st = llx_checkpoint_save(llx_trainer_graph(t), path, r.epoch, yaml, &err);
        if (st == LLX_OK && r.best) {
            best_epoch = r.epoch;
            snprintf(path, sizeof path, "%s/checkpoint_best.h5", dir);
            st = llx_checkpoint_save(llx_trainer_graph(t), path, r.epoch, yaml, &err);
        }
        if (st != LLX_OK) {
            status = cli_fail(&err);
            break;
        }
    }
    if (hist) fclose(hist);
    if (status == 0 && best_epoch > 0) {
        snprintf(path, sizeof path, "%s/checkpoint_best.h5", dir);
        llx_metrics m;
        if (llx_checkpoint_load(llx_trainer_graph(t), path, NULL, NULL, &err) != LLX_OK ||
            llx_trainer_evaluate(t, "val", &m, NULL, NULL, &err) != LLX_OK) {
            status = cli_fail(&err);
        } else {
            printf("best epoch %d by val %s\n", best_epoch, llx_trainer_select_metric(t));
            print_metrics("val ", &m);
            if (llx_trainer_evaluate(t, "test", &m, NULL, NULL, &err) == LLX_OK) print_metrics("test", &m);
        }
    }
    llx_trainer_free(t);
    free(yaml);
    return status;
}

/* The sweep: section ({var: [values]}) as lists of "var=value" sets, one per combination. */
static int sweep_size(const llx_cfg *sweep)
{
    int n = 1;
    for (size_t i = 0; sweep && i < llx_cfg_len(sweep); i++) n *= (int)llx_cfg_len(llx_cfg_at(sweep, i));
    return n;
}

static int combo_sets(const llx_cfg *sweep, int index, char sets[][256], int cap)
{
    int n = 0;
    for (size_t i = 0; sweep && i < llx_cfg_len(sweep) && n < cap; i++) {
        const llx_cfg *values = llx_cfg_at(sweep, i);
        int len = (int)llx_cfg_len(values);
        const char *v = llx_cfg_str(llx_cfg_at(values, (size_t)(index % len)));
        index /= len;
        snprintf(sets[n++], 256, "%s=%s", llx_cfg_key_at(sweep, i), v ? v : "");
    }
    return n;
}

static int check_sweep(const llx_cfg *sweep)
{
    char loc[512];
    if (!sweep) return 0;
    if (llx_cfg_kind_of(sweep) != LLX_CFG_MAP) {
        fprintf(stderr, "llx run: %ssweep: expected {variable: [values]}\n", llx_cfg_loc_str(sweep, loc, sizeof loc));
        return 1;
    }
    for (size_t i = 0; i < llx_cfg_len(sweep); i++) {
        const llx_cfg *v = llx_cfg_at(sweep, i);
        bool ok = llx_cfg_kind_of(v) == LLX_CFG_SEQ && llx_cfg_len(v) > 0;
        for (size_t k = 0; ok && k < llx_cfg_len(v); k++) ok = llx_cfg_kind_of(llx_cfg_at(v, k)) == LLX_CFG_SCALAR;
        if (!ok) {
            fprintf(stderr, "llx run: %ssweep: '%s' needs a list of plain values\n", llx_cfg_loc_str(v, loc, sizeof loc),
                    llx_cfg_key_at(sweep, i));
            return 1;
        }
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    cli_env env;
    if (cli_env_open(&env, a.exp, a.sets, a.n_sets)) return 1;
    const llx_cfg *sweep = llx_cfg_get(llx_doc_root(env.doc), "sweep");
    if (check_sweep(sweep)) {
        cli_env_close(&env);
        return 1;
    }
    int members = sweep_size(sweep), failed = 0;
    for (int m = 0; m < members; m++) {
        char combo[16][256], dir[4096];
        int n_combo = combo_sets(sweep, m, combo, 16);
        const char *sets[MAX_SETS + 16], *names[16];
        int n_sets = 0;
        for (int i = 0; i < a.n_sets; i++) sets[n_sets++] = a.sets[i];
        for (int i = 0; i < n_combo; i++) sets[n_sets++] = names[i] = combo[i];
        cli_env member;
        if (members > 1) {
            printf("\n== sweep member %d/%d:", m + 1, members);
            for (int i = 0; i < n_combo; i++) printf(" %s", combo[i]);
            printf("\n");
            if (cli_env_open(&member, a.exp, sets, n_sets)) {
                failed++;
                continue;
            }
        }
        run_dir(&a, names, members > 1 ? n_combo : 0, dir, sizeof dir);
        failed += run_one(&a, members > 1 ? &member : &env, dir) != 0;
        if (members > 1) cli_env_close(&member);
    }
    cli_env_close(&env);
    if (members > 1) printf("\nsweep: %d of %d runs finished\n", members - failed, members);
    return failed ? 1 : 0;
}
