/* llx/runread.h: reading run folders (the run.h5 record written by `llx run`) for
 * `llx compare` and `llx plot`.
 *
 * The format is the run folder format, version 1 (written by core/src/runfile.c). The
 * reader never trusts the file: a missing, truncated, foreign (another HDF5 file) or
 * non-HDF5 run.h5 gives a status and a message naming the path and the reason, and
 * every field the record lacks keeps a neutral value (NaN scores, empty strings).
 *
 *     llx_run run;
 *     llx_error err;
 *     if (llx_run_read("results/quick-20240101-120000", &run, &err) != LLX_OK)
 *         fprintf(stderr, "%s\n", err.msg);   // run.path, run.status and run.error are set too
 *     ...
 *     llx_run_free(&run);
 *
 * Groups: runs that differ only by their seed share a configuration; llx_runs_group
 * puts them together and computes mean and sample standard deviation (n - 1) of
 * every score over the seeds. */
#ifndef LLX_RUNREAD_H
#define LLX_RUNREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llx/data.h"
#include "llx/status.h"

#define LLX_RUN_FORMAT         "llx-run"
#define LLX_RUN_FORMAT_VERSION 1

typedef enum llx_run_state {
    LLX_RUN_BROKEN = 0, /* the record could not be read: see llx_run.error */
    LLX_RUN_RUNNING,
    LLX_RUN_FINISHED,
    LLX_RUN_FAILED, /* the run stopped on an error: llx_run.error holds its message */
    LLX_RUN_STOPPED,
    LLX_RUN_STATE_COUNT
} llx_run_state;

/* "broken", "running", "finished", "failed", "stopped". */
const char *llx_run_state_name(llx_run_state s);

/* Scores of one split at one epoch (/test or /val_best). */
typedef struct llx_run_scores {
    bool present;
    int64_t epoch;
    double accuracy, macro_f1, abaw; /* fractions in [0, 1] */
    double class_accuracy[LLX_NUM_CLASSES], f1[LLX_NUM_CLASSES];
    int64_t confusion[LLX_NUM_CLASSES][LLX_NUM_CLASSES]; /* rows truth, columns predicted */
} llx_run_scores;

typedef struct llx_run_var {
    char *name, *value; /* value as written in the YAML (a scalar's text) */
} llx_run_var;

typedef struct llx_run_column {
    char *name;     /* "epoch", "train_loss", "val_acc_anger", ... */
    double *values; /* (n_epochs) */
} llx_run_column;

typedef struct llx_run {
    char *dir;  /* the run folder as given */
    char *path; /* dir/run.h5 */
    char *name; /* the folder's last component */
    llx_run_state state;
    llx_status status; /* LLX_OK when the record was read */
    char *error;       /* why it could not be read (BROKEN) or why the run failed (FAILED); "" else */

    int64_t format_version;
    char *llx_version, *experiment, *experiment_path, *vars_yaml, *host, *device, *device_name;
    char *start_time, *end_time, *git_commit, *git_branch, *git_repo, *select_metric;
    bool git_dirty;
    llx_run_var *vars; /* parsed from vars_yaml, in its order */
    size_t n_vars;
    char **sweep_vars; /* split from the comma-separated attribute */
    size_t n_sweep_vars;
    int64_t seed, params, macs, epochs_total, epochs_done, best_epoch;
    double best_value;

    size_t n_epochs; /* rows of /history */
    llx_run_column *history;
    size_t n_history;
    int64_t *val_confusion; /* (n_epochs, 7, 7) or NULL */

    llx_run_scores test, val_best;
} llx_run;

/* Reads dir/run.h5 (dir may also name the run.h5 file itself). Always fills run
 * (free it with llx_run_free, whatever the result); on failure run->state is
 * LLX_RUN_BROKEN and run->error and err hold "<path>: <reason>". */
llx_status llx_run_read(const char *dir, llx_run *run, llx_error *err);
void llx_run_free(llx_run *run);

/* The value of variable name, or NULL. */
const char *llx_run_var_get(const llx_run *run, const char *name);
/* The history column name ((n_epochs) values), or NULL. */
const double *llx_run_history(const llx_run *run, const char *name);

/* Expands command-line arguments into run folders: an argument that is a run folder
 * (holds run.h5) or a run.h5 file is one run; a folder without run.h5 stands for its
 * subfolders that look like runs (hold run.h5 or experiment.yaml), sorted by name;
 * anything else is an error naming it. Fills a malloc'd array of malloc'd paths. */
llx_status llx_runs_find(const char *const *args, size_t n_args, char ***dirs, size_t *n_dirs,
                         llx_error *err);
void llx_runs_find_free(char **dirs, size_t n_dirs);

/* ---- configurations: runs that differ only by seed ---- */

/* Number of scores a group summarises: accuracy, macro_f1, abaw, then the class
 * accuracies in class order. */
#define LLX_RUN_NSCORES (3 + LLX_NUM_CLASSES)
enum { LLX_SCORE_ACCURACY = 0, LLX_SCORE_MACRO_F1 = 1, LLX_SCORE_ABAW = 2, LLX_SCORE_CLASS0 = 3 };

typedef struct llx_run_group {
    char *key;    /* "attention=llam,depth=2": the vars but seed (and experiment when they differ) */
    size_t *runs; /* indices into the runs array, in order */
    size_t n_runs;
    double mean[LLX_RUN_NSCORES], std[LLX_RUN_NSCORES]; /* std 0 for a single run */
    double best_epoch_mean;
    int64_t best_epoch_min, best_epoch_max;
} llx_run_group;

/* Which split a comparison reads. */
typedef enum llx_run_split {
    LLX_SPLIT_AUTO = 0, /* /test when every run has it, else /val_best */
    LLX_SPLIT_TEST,
    LLX_SPLIT_VAL,
} llx_run_split;

/* The scores of a run for split (NULL when it has none). */
const llx_run_scores *llx_run_scores_of(const llx_run *run, llx_run_split split);
/* The i-th score (LLX_SCORE_*) of s. */
double llx_run_score(const llx_run_scores *s, int i);
/* Resolves LLX_SPLIT_AUTO over the runs with use[i] set. */
llx_run_split llx_runs_split(const llx_run *runs, const bool *use, size_t n, llx_run_split want);

/* Groups the runs with use[i] set by configuration: same vars apart from seed (and the
 * same experiment_path when the experiments differ among them). Groups keep the order
 * of their first run. One group per run when by_seed is false. */
llx_status llx_runs_group(const llx_run *runs, const bool *use, size_t n, llx_run_split split, bool by_seed,
                          llx_run_group **groups, size_t *n_groups, llx_error *err);
void llx_runs_group_free(llx_run_group *groups, size_t n_groups);

#endif
