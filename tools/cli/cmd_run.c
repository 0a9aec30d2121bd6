/* cmd_run.c: `llx run EXP.yaml`: trains an experiment (every member of its sweep:),
 * one run folder each, and prints the per-epoch figures and the final scores.
 * `llx run --resume RUN_DIR` continues a run that stopped (killed, failed, ^C)
 * from its checkpoint_last.h5 with the experiment stored in its run.h5.
 *
 * The run folder (format: results/README.md) is written after every epoch in
 * this order, each file atomically (temporary name + rename): run.h5, then
 * checkpoint_best.h5 when the epoch is the best, then checkpoint_last.h5, then
 * history.csv. checkpoint_last.h5 is the commit point: a resumed run keeps the
 * history up to its epoch and redoes the epochs after it, which, training being
 * deterministic, gives the same numbers again. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "llx/checkpoint.h"
#include "llx/runfile.h"
#include "llx/train.h"

#define MAX_SETS 64

typedef struct run_args {
    const char *exp, *out_root, *device, *name, *resume;
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
        else if (strcmp(argv[i], "--resume") == 0 && v) a->resume = argv[++i];
        else if (argv[i][0] != '-' && !a->exp) a->exp = argv[i];
        else {
            fprintf(stderr, "llx run: unexpected argument '%s' (see llx run --help)\n", argv[i]);
            return 2;
        }
    }
    if (a->resume && (a->exp || a->n_sets)) {
        fprintf(stderr, "llx run: --resume RUN_DIR takes the experiment from RUN_DIR/run.h5: give no EXP.yaml and "
                        "no --set\n");
        return 2;
    }
    if (!a->exp && !a->resume) {
        fprintf(stderr, "llx run: which experiment? usage: llx run EXP.yaml, or llx run --resume RUN_DIR\n");
        return 2;
    }
    return 0;
}

/* SIGINT / SIGTERM: the epoch in progress stops at its next batch and the run
 * is recorded as "stopped" (resumable); a second signal ends the process. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    stop_requested = 1;
    signal(sig, SIG_DFL);
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

/* results/<experiment>[-var=value...]-<time>: readable and unique. combo holds
 * "var=value" of the sweep's variables and of --set variables (not dotted paths). */
static void run_dir(const run_args *a, const char *const *combo, int n_combo, char *out, size_t cap)
{
    const char *base = strrchr(a->exp, '/') ? strrchr(a->exp, '/') + 1 : a->exp;
    size_t n = (size_t)snprintf(out, cap, "%s/%.*s", a->out_root, (int)strcspn(base, "."), base);
    for (int i = 0; i < n_combo && n + 1 < cap; i++) {
        n += (size_t)snprintf(out + n, cap - n, "-");
        for (const char *c = combo[i]; *c && n + 1 < cap; c++) out[n++] = strchr("/ {}:,[]\"'*?", *c) ? '_' : *c;
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

/* history.csv from the record, written whole and renamed into place. */
static void write_history_csv(const char *dir, const llx_runfile *rec)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/history.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "llx run: cannot write %s: %s\n", tmp, strerror(errno));
        return;
    }
    fprintf(f, "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1,val_abaw,seconds,"
               "images_per_second,best,loss_scale,skipped_steps\n");
    for (int i = 0; i < rec->n_epochs; i++) {
        const llx_epoch_result *r = &rec->epochs[i];
        fprintf(f, "%d,%.8g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,%d,%.9g,%lld\n", r->epoch, r->lr, r->train_loss,
                r->train_accuracy, r->val_loss, r->val.accuracy, r->val.macro_f1, r->val.abaw, r->seconds,
                r->images_per_second, r->best, r->loss_scale, (long long)r->skipped_steps);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "llx run: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t grown = (*cap + n + 1) * 2;
        char *b = realloc(*buf, grown);
        if (!b) return;
        *buf = b;
        *cap = grown;
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

/* A scalar as a YAML value: plain when safe, else double-quoted. */
static void yaml_scalar(char **buf, size_t *len, size_t *cap, const char *v)
{
    bool plain = *v && !strpbrk(v, ":#{}[],&*!|>'\"%@`\n") && v[0] != ' ' && v[0] != '-' && v[strlen(v) - 1] != ' ';
    if (plain) {
        append(buf, len, cap, v);
        return;
    }
    append(buf, len, cap, "\"");
    for (const char *c = v; *c; c++) {
        char e[8] = {*c, 0};
        if (*c == '"' || *c == '\\') snprintf(e, sizeof e, "\\%c", *c);
        else if (*c == '\n') snprintf(e, sizeof e, "\\n");
        append(buf, len, cap, e);
    }
    append(buf, len, cap, "\"");
}

/* A value in flow style ([a, b], {k: v}). */
static void yaml_flow(char **buf, size_t *len, size_t *cap, const llx_cfg *c)
{
    switch (llx_cfg_kind_of(c)) {
    case LLX_CFG_SCALAR: yaml_scalar(buf, len, cap, llx_cfg_str(c)); break;
    case LLX_CFG_SEQ:
    case LLX_CFG_MAP: {
        bool map = llx_cfg_kind_of(c) == LLX_CFG_MAP;
        append(buf, len, cap, map ? "{" : "[");
        for (size_t i = 0; i < llx_cfg_len(c); i++) {
            if (i) append(buf, len, cap, ", ");
            if (map) {
                yaml_scalar(buf, len, cap, llx_cfg_key_at(c, i));
                append(buf, len, cap, ": ");
            }
            yaml_flow(buf, len, cap, llx_cfg_at(c, i));
        }
        append(buf, len, cap, map ? "}" : "]");
        break;
    }
    default: append(buf, len, cap, "null"); break;
    }
}

/* The resolved vars: section as YAML, one "name: value" line each (malloc'd). */
static char *vars_yaml(const llx_doc *doc)
{
    const llx_cfg *vars = llx_cfg_get(llx_doc_root(doc), "vars");
    size_t len = 0, cap = 64;
    char *buf = calloc(1, cap);
    for (size_t i = 0; buf && vars && llx_cfg_kind_of(vars) == LLX_CFG_MAP && i < llx_cfg_len(vars); i++) {
        yaml_scalar(&buf, &len, &cap, llx_cfg_key_at(vars, i));
        append(&buf, &len, &cap, ": ");
        yaml_flow(&buf, &len, &cap, llx_cfg_at(vars, i));
        append(&buf, &len, &cap, "\n");
    }
    return buf;
}

/* Removes the temporary files (NAME.tmp.PID) a killed process left in dir. */
static void remove_stale_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || !t[5] || strspn(t + 5, "0123456789") != strlen(t + 5)) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) fprintf(stderr, "removed %s (left by a run that was killed)\n", path);
    }
    closedir(d);
}

/* Writes run.h5; a failure is reported (the run goes on: the checkpoints matter more). */
static int save_record(const char *dir, const llx_runfile *rec)
{
    char path[4200];
    llx_error err = {0};
    snprintf(path, sizeof path, "%s/run.h5", dir);
    return llx_runfile_write(rec, path, &err) == LLX_OK ? 0 : cli_fail(&err);
}

/* Ends the record as failed (message from err) or stopped, and writes it. */
static int end_record(const char *dir, llx_runfile *rec, const llx_error *err)
{
    bool stopped = stop_requested != 0;
    snprintf(rec->state, sizeof rec->state, "%s", stopped ? "stopped" : "failed");
    if (!stopped) llx_runfile_set(&rec->error, err->msg, NULL);
    llx_runfile_now(rec->end_time);
    save_record(dir, rec);
    if (stopped) {
        printf("stopped after %d epochs: llx run --resume %s continues it\n", rec->n_epochs, dir);
        return 130;
    }
    return cli_fail(err);
}

/* The best epoch's weights on a split, into s. */
static llx_status score_best(llx_trainer *t, const char *split, int epoch, llx_runfile_scores *s, llx_error *err)
{
    LLX_TRY(llx_trainer_evaluate(t, split, &s->m, &s->c, NULL, err));
    s->present = true;
    s->epoch = epoch;
    return LLX_OK;
}

/* The trainer for rec's experiment; for a resumed run with its checkpoint_last.h5 loaded. */
static llx_status open_trainer(const run_args *a, cli_env *env, const char *dir, llx_runfile *rec, bool resumed,
                               llx_trainer **out, llx_error *err)
{
    int threads = a->threads > 0 ? a->threads : resumed ? (int)rec->threads : 0;
    llx_train_options o = {.device = a->device, .threads = threads, .log = stderr, .live = isatty(2),
                           .log_every = a->log_every, .stop = (const volatile int *)&stop_requested,
                           .skip_init_from = resumed};
    LLX_TRY(llx_trainer_create(env->reg, env->doc, &o, out, err));
    llx_trainer *t = *out;
    llx_graph *g = llx_trainer_graph(t);
    rec->threads = threads;
    rec->seed = (int64_t)llx_trainer_seed(t);
    snprintf(rec->device, sizeof rec->device, "%s", llx_trainer_device(t));
    snprintf(rec->device_name, sizeof rec->device_name, "%s", llx_trainer_device_name(t));
    rec->params = llx_graph_param_count(g);
    llx_shape in = llx_graph_node_shape(g, llx_graph_input_node(g));
    rec->macs = in.dim[0] > 0 ? llx_graph_macs(g) / in.dim[0] : llx_graph_macs(g);
    rec->epochs_total = llx_trainer_epochs_total(t);
    snprintf(rec->select_metric, sizeof rec->select_metric, "%s", llx_trainer_select_metric(t));
    if (!resumed) return LLX_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint_last.h5", dir);
    llx_trainer_state s = {0};
    if (access(path, F_OK) == 0) {
        LLX_TRY(llx_checkpoint_load_trainer(t, path, err));
        LLX_TRY(llx_trainer_snapshot(t, err)); /* the last good state, for a NaN in the next epoch */
        llx_trainer_get_state(t, &s);
    } else {
        fprintf(stderr, "%s: no checkpoint_last.h5 (stopped in the first epoch): starting from epoch 1\n", dir);
    }
    if (s.epoch > rec->n_epochs)
        return llx_errorf(err, LLX_ERR_INVALID, "%s: checkpoint_last.h5 is at epoch %d but run.h5 has only %d epochs",
                          dir, s.epoch, rec->n_epochs);
    llx_runfile_truncate(rec, s.epoch);
    rec->best_epoch = s.best_epoch;
    rec->best_value = s.best_value;
    printf("resuming %s at epoch %d of %lld\n", dir, s.epoch + 1, (long long)rec->epochs_total);
    return LLX_OK;
}

/* Trains one experiment document into dir; rec is filled already (resumed: read from run.h5). */
static int run_one(const run_args *a, cli_env *env, const char *dir, llx_runfile *rec, bool resumed)
{
    llx_error err = {0};
    char path[4200];
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "llx run: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (!resumed) {
        snprintf(path, sizeof path, "%s/experiment.yaml", dir);
        FILE *y = fopen(path, "w");
        if (y) fputs(rec->experiment, y);
        if (!y || fclose(y) != 0) /* run.h5 keeps the experiment too: go on */
            fprintf(stderr, "llx run: cannot write %s: %s\n", path, strerror(errno));
    } else {
        remove_stale_temporaries(dir);
        snprintf(rec->state, sizeof rec->state, "running");
        free(rec->error);
        rec->error = NULL;
        rec->end_time[0] = '\0';
        rec->val_best.present = rec->test.present = false;
    }
    printf("run %s\n", dir);
    fflush(stdout);
    if (!resumed && save_record(dir, rec) != 0) return 1; /* a folder killed while the data loads can resume */
    llx_trainer *t = NULL;
    if (open_trainer(a, env, dir, rec, resumed, &t, &err) != LLX_OK) {
        llx_trainer_free(t);
        return end_record(dir, rec, &err);
    }
    int status = save_record(dir, rec);
    write_history_csv(dir, rec);
    while (status == 0 && llx_trainer_epochs_done(t) < llx_trainer_epochs_total(t)) {
        llx_epoch_result r;
        if (llx_trainer_epoch(t, &r, &err) != LLX_OK) {
            status = end_record(dir, rec, &err);
            break;
        }
        print_epoch(&r, llx_trainer_epochs_total(t), llx_trainer_select_metric(t));
        llx_status st = llx_runfile_add_epoch(rec, &r, &err);
        if (st == LLX_OK && save_record(dir, rec) != 0) st = LLX_ERR_IO; /* reported already */
        if (st == LLX_OK && r.best) {
            snprintf(path, sizeof path, "%s/checkpoint_best.h5", dir);
            st = llx_checkpoint_save_trainer(t, path, rec->experiment, &err);
        }
        if (st == LLX_OK) {
            snprintf(path, sizeof path, "%s/checkpoint_last.h5", dir);
            st = llx_checkpoint_save_trainer(t, path, rec->experiment, &err);
        }
        write_history_csv(dir, rec);
        if (st != LLX_OK) {
            if (!err.msg[0]) snprintf(err.msg, sizeof err.msg, "cannot write %s/run.h5", dir);
            status = end_record(dir, rec, &err);
        }
    }
    if (status == 0 && rec->best_epoch > 0) {
        snprintf(path, sizeof path, "%s/checkpoint_best.h5", dir);
        int best = (int)rec->best_epoch;
        llx_status st = llx_checkpoint_load(llx_trainer_graph(t), path, NULL, NULL, &err);
        if (st == LLX_OK) st = score_best(t, "val", best, &rec->val_best, &err);
        if (st == LLX_OK) {
            printf("best epoch %d by val %s\n", best, llx_trainer_select_metric(t));
            print_metrics("val ", &rec->val_best.m);
            llx_error none = {0};
            if (score_best(t, "test", best, &rec->test, &none) == LLX_OK) print_metrics("test", &rec->test.m);
        }
        if (st != LLX_OK) status = end_record(dir, rec, &err);
    }
    if (status == 0) {
        snprintf(rec->state, sizeof rec->state, "finished");
        llx_runfile_now(rec->end_time);
        status = save_record(dir, rec);
    }
    llx_trainer_free(t);
    return status;
}

/* A new run: the record's attributes that come from the command line and the machine. */
static int new_record(const run_args *a, const llx_doc *doc, const char *sweep_vars, llx_runfile *rec)
{
    llx_error err = {0};
    if (llx_runfile_init(rec, &err) != LLX_OK) return cli_fail(&err);
    char *yaml = llx_doc_to_yaml(doc), *vars = vars_yaml(doc);
    llx_status st = llx_runfile_set(&rec->experiment, yaml, &err);
    if (st == LLX_OK) st = llx_runfile_set(&rec->experiment_path, a->exp, &err);
    if (st == LLX_OK) st = llx_runfile_set(&rec->vars, vars, &err);
    if (st == LLX_OK) st = llx_runfile_set(&rec->sweep_vars, sweep_vars, &err);
    free(yaml);
    free(vars);
    if (st == LLX_OK) llx_gitinfo_free(&rec->git), st = llx_gitinfo_read(NULL, &rec->git, &err);
    if (st != LLX_OK) return cli_fail(&err);
    if (gethostname(rec->host, sizeof rec->host) != 0) rec->host[0] = '\0';
    rec->host[sizeof rec->host - 1] = '\0';
    if (!rec->git.in_repo) fprintf(stderr, "git: %s (run.h5 records no commit)\n", rec->git.note);
    return 0;
}

/* llx run --resume DIR. */
static int resume(const run_args *a)
{
    char path[4200];
    llx_error err = {0};
    llx_runfile rec;
    snprintf(path, sizeof path, "%s/run.h5", a->resume);
    if (llx_runfile_reload(path, &rec, &err) != LLX_OK) {
        llx_runfile_free(&rec);
        return cli_fail(&err);
    }
    if (strcmp(rec.state, "finished") == 0) {
        printf("%s: finished already (%d of %lld epochs)\n", a->resume, rec.n_epochs, (long long)rec.epochs_total);
        llx_runfile_free(&rec);
        return 0;
    }
    llx_gitinfo now;
    if (llx_gitinfo_read(NULL, &now, &err) == LLX_OK && (strcmp(now.commit, rec.git.commit) != 0 || now.dirty != rec.git.dirty))
        fprintf(stderr, "note: the code is now at %s%s, the run started at %s%s (run.h5 keeps the latter)\n",
                now.commit[0] ? now.commit : "(no commit)", now.dirty ? " (dirty)" : "",
                rec.git.commit[0] ? rec.git.commit : "(no commit)", rec.git.dirty ? " (dirty)" : "");
    llx_gitinfo_free(&now);
    cli_env env;
    llx_doc *doc = NULL;
    snprintf(path, sizeof path, "%s/run.h5:experiment", a->resume);
    int rc = llx_doc_parse(path, rec.experiment, NULL, 0, &doc, &err) != LLX_OK ? cli_fail(&err)
                                                                              : cli_env_open_doc(&env, doc, rec.experiment_path);
    if (rc == 0) {
        rc = run_one(a, &env, a->resume, &rec, true);
        cli_env_close(&env);
    }
    llx_runfile_free(&rec);
    return rc;
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
    stop_requested = 0;
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    if (a.resume) return resume(&a);
    cli_env env;
    if (cli_env_open(&env, a.exp, a.sets, a.n_sets)) return 1;
    const llx_cfg *sweep = llx_cfg_get(llx_doc_root(env.doc), "sweep");
    if (check_sweep(sweep)) {
        cli_env_close(&env);
        return 1;
    }
    int members = sweep_size(sweep), failed = 0;
    char sweep_vars[1024] = "";
    for (size_t i = 0; members > 1 && sweep && i < llx_cfg_len(sweep); i++)
        snprintf(sweep_vars + strlen(sweep_vars), sizeof sweep_vars - strlen(sweep_vars), "%s%s", i ? "," : "",
                 llx_cfg_key_at(sweep, i));
    for (int m = 0; m < members && !stop_requested; m++) {
        char combo[16][256], dir[4096];
        int n_combo = combo_sets(sweep, m, combo, 16);
        const char *sets[MAX_SETS + 16], *names[MAX_SETS + 16];
        int n_sets = 0, n_names = 0;
        for (int i = 0; i < a.n_sets; i++) {
            sets[n_sets++] = a.sets[i];
            size_t key = strcspn(a.sets[i], "=");
            if (!memchr(a.sets[i], '.', key)) names[n_names++] = a.sets[i]; /* a variable, not a path */
        }
        for (int i = 0; i < n_combo; i++) sets[n_sets++] = combo[i];
        if (members > 1)
            for (int i = 0; i < n_combo; i++) names[n_names++] = combo[i];
        if (members > 1) {
            printf("\n== sweep member %d/%d:", m + 1, members);
            for (int i = 0; i < n_combo; i++) printf(" %s", combo[i]);
            printf("\n");
        }
        /* the sweep's values (a one-value sweep: too) are --set onto a fresh load */
        cli_env member;
        if (n_combo > 0 && cli_env_open(&member, a.exp, sets, n_sets)) {
            failed++;
            continue;
        }
        cli_env *use = n_combo > 0 ? &member : &env;
        run_dir(&a, names, n_names, dir, sizeof dir);
        llx_runfile rec;
        if (new_record(&a, use->doc, sweep_vars, &rec) != 0) failed++;
        else failed += run_one(&a, use, dir, &rec, false) != 0;
        llx_runfile_free(&rec);
        if (n_combo > 0) cli_env_close(&member);
    }
    cli_env_close(&env);
    if (members > 1) printf("\nsweep: %d of %d runs finished\n", members - failed, members);
    return stop_requested ? 130 : failed ? 1 : 0;
}
