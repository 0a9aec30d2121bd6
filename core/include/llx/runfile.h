/* llx/runfile.h: run.h5, the record of one run (format: results/README.md).
 *
 * llx run keeps an llx_runfile in memory, adds each finished epoch, and
 * rewrites run.h5 whole after every epoch: into run.h5.tmp.<pid>, flushed,
 * then renamed over run.h5, so a reader (or a run killed at any moment)
 * always finds a complete file. Strings are fixed-length, NUL-terminated
 * ASCII/UTF-8 attributes, integers int64, reals float64: h5py and h5dump read
 * them without llx. */
#ifndef LLX_RUNFILE_H
#define LLX_RUNFILE_H

#include "llx/gitinfo.h"
#include "llx/train.h"

#define LLX_RUNFILE_FORMAT  "llx-run"
#define LLX_RUNFILE_VERSION 1

/* Scores of one split with one set of weights (/val_best, /test). */
typedef struct llx_runfile_scores {
    bool present;
    int epoch; /* the epoch whose weights were scored */
    llx_metrics m;
    llx_confusion c;
} llx_runfile_scores;

typedef struct llx_runfile {
    /* root attributes; the char * members are malloc'd and freed by llx_runfile_free */
    char *experiment;      /* the resolved YAML */
    char *experiment_path; /* as given to llx run */
    char *vars;            /* YAML of the resolved vars: section */
    char *sweep_vars;      /* "attention,seed" or "" */
    char *error;           /* the failure's message (state "failed"), else NULL */
    char state[16];        /* running, finished, failed, stopped */
    int64_t seed, threads; /* threads: CPU threads of the run (resuming bit for bit needs the same) */
    char device[32], device_name[128], host[256];
    char start_time[32], end_time[32]; /* ISO 8601 UTC; end "" while running */
    llx_gitinfo git;
    int64_t params, macs; /* trainable parameters; multiply-accumulates per sample */
    int64_t epochs_total;
    char select_metric[64];
    int64_t best_epoch; /* 0: none yet */
    double best_value;
    /* /history: one record per finished epoch */
    llx_epoch_result *epochs;
    int n_epochs, cap_epochs;
    llx_runfile_scores val_best, test;
} llx_runfile;

/* An empty record in state "running", started now. */
llx_status llx_runfile_init(llx_runfile *r, llx_error *err);
void llx_runfile_free(llx_runfile *r);
/* Replaces a malloc'd string member (*field) with a copy of value (NULL: ""). */
llx_status llx_runfile_set(char **field, const char *value, llx_error *err);
/* Appends an epoch's figures and updates best_epoch / best_value. */
llx_status llx_runfile_add_epoch(llx_runfile *r, const llx_epoch_result *e, llx_error *err);
/* Keeps the first n epochs (a resumed run redoes the ones after its checkpoint). */
void llx_runfile_truncate(llx_runfile *r, int n);
/* Writes the record to path atomically (path.tmp.<pid>, fsync, rename). */
llx_status llx_runfile_write(const llx_runfile *r, const char *path, llx_error *err);
/* Reads a run.h5 back into r (llx run --resume): every attribute above and the
 * history, the validation metrics recomputed from the confusion matrices. */
llx_status llx_runfile_reload(const char *path, llx_runfile *r, llx_error *err);
/* The current time as ISO 8601 UTC ("2024-05-01T12:34:56Z"). */
void llx_runfile_now(char out[32]);

#endif
