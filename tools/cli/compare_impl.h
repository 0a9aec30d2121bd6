/* compare_impl.h: the private pieces of `llx compare` (cmd_compare.c, compare_table.c,
 * compare_format.c).
 *
 * A `compare` holds the run folders read, the groups the table shows (rows: configurations
 * or single runs), the columns chosen for them and the baseline of each row. Scores are
 * fractions in [0, 1] in the groups and percent in every cell. */
#ifndef LLX_COMPARE_IMPL_H
#define LLX_COMPARE_IMPL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "llx/runread.h"

#define MAX_COLS 64
#define CELL     160

typedef enum { FMT_TABLE, FMT_MARKDOWN, FMT_CSV, FMT_LATEX } out_format;

typedef enum {
    COL_RUN,
    COL_EXPERIMENT,
    COL_VAR,
    COL_N,
    COL_PARAMS,
    COL_MACS,
    COL_EPOCH,
    COL_SCORE,
    COL_DELTA,
    COL_COMMIT
} col_kind;

typedef struct column {
    col_kind kind;
    const char *var; /* COL_VAR */
    int score;       /* COL_SCORE, COL_DELTA: LLX_SCORE_* */
} column;

/* Abbreviations of the class names: "neu", "ang", ... (headers, --sort keys, CSV `best`). */
extern const char *const compare_short_class[LLX_NUM_CLASSES];

typedef struct compare {
    llx_run *runs;
    size_t n_runs;
    bool *use; /* in the table */
    llx_run_split split;
    bool grouped, several_experiments;
    llx_run_group *groups;
    size_t n_groups;
    size_t *order; /* rows: group indices */
    bool (*best)[LLX_RUN_NSCORES];
    long *ref; /* baseline group of each group, -1 none */
    char *base_names[8], *base_values[8];
    int n_base;
    column cols[MAX_COLS];
    int n_cols;
} compare;

/* A column naming the row (run, experiment, variable) rather than holding a number. */
static inline bool label_col(const column *col)
{
    return col->kind == COL_RUN || col->kind == COL_EXPERIMENT || col->kind == COL_VAR;
}

static inline const llx_run *first_run(const compare *c, size_t g)
{
    return &c->runs[c->groups[g].runs[0]];
}

/* "results/ablation.yaml" -> "ablation.yaml". */
static inline const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---- the table: compare_table.c ---- */

/* Number of runs in the table. */
size_t compare_n_used(const compare *c);
/* Fills c->cols from the runs in use (varied variables, sizes, scores, deltas, commit). */
void compare_choose_columns(compare *c);
/* The text of one cell of group g (markup of the format included, CSV excepted) into buf. */
void compare_cell(const compare *c, const column *col, size_t g, out_format f, char *buf, size_t cap);
/* Fills c->best: the top group(s) of each score, none when all tie. */
void compare_mark_best(compare *c);
/* Fills c->ref from the --baseline pairs; -1 with err when no run has one of them. */
int compare_resolve_baseline(compare *c, llx_error *err);
/* Reorders c->order by the column named `what`; -1 with err when there is none. */
int compare_sort_rows(compare *c, const char *what, llx_error *err);
/* Without --sort, the baseline rows come first (the rest keep their order). */
void compare_baseline_first(compare *c);

/* ---- the output formats: compare_format.c ---- */

/* The runs not in the table (and the stopped ones that are), with state and reason. */
void compare_notes(const compare *c, FILE *out, out_format f);
/* The terminal table (f FMT_TABLE) or Markdown (f FMT_MARKDOWN). */
void compare_write_table(const compare *c, FILE *out, out_format f);
void compare_write_latex(const compare *c, FILE *out);
void compare_write_csv(const compare *c, FILE *out);

#endif
