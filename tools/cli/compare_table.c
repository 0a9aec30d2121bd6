/* compare_table.c: the table of `llx compare`: which columns, the text of each cell, the
 * best value of each score, the baseline of each row and the order of the rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare_impl.h"

const char *const compare_short_class[LLX_NUM_CLASSES] = {"neu", "ang", "dis", "fea", "hap", "sad", "sur"};

static const char *var_of(const compare *c, size_t g, const char *name)
{
    const char *v = llx_run_var_get(first_run(c, g), name);
    return v ? v : "-";
}

/* ---- columns ---- */

static bool has_var_col(const compare *c, const char *name)
{
    for (int i = 0; i < c->n_cols; i++)
        if (c->cols[i].kind == COL_VAR && strcmp(c->cols[i].var, name) == 0) return true;
    return false;
}

static void add_col(compare *c, column col)
{
    if (c->n_cols < MAX_COLS) c->cols[c->n_cols++] = col;
}

/* A variable is a column when a sweep varied it or its value differs among the runs. */
static bool var_varies(const compare *c, const char *name)
{
    const char *first = NULL;
    bool swept = false;
    for (size_t i = 0; i < c->n_runs; i++) {
        if (!c->use[i]) continue;
        for (size_t k = 0; k < c->runs[i].n_sweep_vars; k++)
            swept |= strcmp(c->runs[i].sweep_vars[k], name) == 0;
        const char *v = llx_run_var_get(&c->runs[i], name);
        v = v ? v : "";
        if (!first)
            first = v;
        else if (strcmp(first, v) != 0)
            return true;
    }
    return swept;
}

void compare_choose_columns(compare *c)
{
    if (c->several_experiments) add_col(c, (column){.kind = COL_EXPERIMENT});
    int first_var = c->n_cols;
    if (var_varies(c, "attention")) add_col(c, (column){.kind = COL_VAR, .var = "attention"});
    for (size_t i = 0; i < c->n_runs; i++) {
        if (!c->use[i]) continue;
        const llx_run *r = &c->runs[i];
        for (size_t k = 0; k < r->n_vars; k++) {
            const char *name = r->vars[k].name;
            if ((c->grouped && strcmp(name, "seed") == 0) || has_var_col(c, name)) continue;
            if (var_varies(c, name)) add_col(c, (column){.kind = COL_VAR, .var = name});
        }
    }
    if (c->n_cols == first_var && !c->several_experiments)
        add_col(c, (column){.kind = c->grouped ? COL_EXPERIMENT : COL_RUN});
    if (c->grouped) add_col(c, (column){.kind = COL_N});
    add_col(c, (column){.kind = COL_PARAMS});
    add_col(c, (column){.kind = COL_MACS});
    add_col(c, (column){.kind = COL_EPOCH});
    for (int k = 0; k < 3; k++)
        add_col(c, (column){.kind = COL_SCORE, .score = k});
    if (c->n_base)
        for (int k = 0; k < 3; k++)
            add_col(c, (column){.kind = COL_DELTA, .score = k});
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        add_col(c, (column){.kind = COL_SCORE, .score = LLX_SCORE_CLASS0 + k});
    add_col(c, (column){.kind = COL_COMMIT});
}
static void commit_of(const compare *c, size_t g, char *buf, size_t cap)
{
    const llx_run_group *grp = &c->groups[g];
    const llx_run *r = first_run(c, g);
    for (size_t j = 1; j < grp->n_runs; j++) {
        const llx_run *o = &c->runs[grp->runs[j]];
        if (strcmp(o->git_commit, r->git_commit) != 0 || o->git_dirty != r->git_dirty) {
            snprintf(buf, cap, "mixed");
            return;
        }
    }
    if (!r->git_commit[0])
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.8s%s", r->git_commit, r->git_dirty ? "*" : "");
}

/* The text of one cell (markup of the format included, CSV excepted). */
void compare_cell(const compare *c, const column *col, size_t g, out_format f, char *buf, size_t cap)
{
    const llx_run_group *grp = &c->groups[g];
    const llx_run *r = first_run(c, g);
    char num[96];
    buf[0] = 0;
    switch (col->kind) {
    case COL_RUN:
        snprintf(buf, cap, "%s", r->name);
        return;
    case COL_EXPERIMENT:
        snprintf(buf, cap, "%s", base_name(r->experiment_path));
        return;
    case COL_VAR:
        snprintf(buf, cap, "%s", var_of(c, g, col->var));
        return;
    case COL_N:
        snprintf(buf, cap, "%zu", grp->n_runs);
        return;
    case COL_PARAMS:
        snprintf(buf, cap, "%.3f", (double)r->params / 1e6);
        return;
    case COL_MACS:
        snprintf(buf, cap, "%.3f", (double)r->macs / 1e9);
        return;
    case COL_EPOCH:
        if (grp->best_epoch_min == grp->best_epoch_max)
            snprintf(buf, cap, "%lld", (long long)grp->best_epoch_min);
        else
            snprintf(buf, cap, "%.1f", grp->best_epoch_mean);
        return;
    case COL_COMMIT:
        commit_of(c, g, buf, cap);
        return;
    case COL_DELTA: {
        long ref = c->ref[g];
        if (ref < 0)
            snprintf(buf, cap, "%s", f == FMT_CSV ? "" : "-");
        else if ((size_t)ref == g)
            snprintf(buf, cap, "%s", f == FMT_CSV ? "0" : "base");
        else
            snprintf(buf, cap, f == FMT_CSV ? "%.4f" : "%+.2f",
                     100 * (grp->mean[col->score] - c->groups[ref].mean[col->score]));
        return;
    }
    case COL_SCORE:
        break;
    }
    int k = col->score;
    double m = 100 * grp->mean[k], s = 100 * grp->std[k];
    bool best = c->best[g][k];
    if (isnan(m)) {
        snprintf(buf, cap, "%s", f == FMT_CSV ? "" : "-");
        return;
    }
    if (f == FMT_CSV) {
        snprintf(buf, cap, "%.4f", m);
        return;
    }
    bool with_std = grp->n_runs > 1 && k < LLX_SCORE_CLASS0;
    if (k >= LLX_SCORE_CLASS0)
        snprintf(num, sizeof num, "%.1f", m);
    else if (!with_std)
        snprintf(num, sizeof num, "%.2f", m);
    else if (f == FMT_LATEX)
        snprintf(num, sizeof num, "%.2f \\pm %.2f", m, s);
    else
        snprintf(num, sizeof num, "%.2f ± %.2f", m, s);
    if (f == FMT_TABLE)
        snprintf(buf, cap, "%s%s", num, best ? "*" : " ");
    else if (f == FMT_MARKDOWN)
        snprintf(buf, cap, best ? "**%s**" : "%s", num);
    else if (with_std)
        snprintf(buf, cap, best ? "$\\mathbf{%s}$" : "$%s$", num);
    else
        snprintf(buf, cap, best ? "\\textbf{%s}" : "%s", num);
}
/* ---- best marks, baseline, order ---- */

void compare_mark_best(compare *c)
{
    for (int k = 0; k < LLX_RUN_NSCORES; k++) {
        double top = -INFINITY, bottom = INFINITY;
        for (size_t g = 0; g < c->n_groups; g++) {
            double v = c->groups[g].mean[k];
            if (!isnan(v) && v > top) top = v;
            if (!isnan(v) && v < bottom) bottom = v;
        }
        bool all_tie = top - bottom <= 1e-12; /* nothing to point at */
        for (size_t g = 0; g < c->n_groups; g++)
            c->best[g][k] = !all_tie && !isnan(c->groups[g].mean[k]) && c->groups[g].mean[k] >= top - 1e-12;
    }
}

static bool is_base_name(const compare *c, const char *name)
{
    for (int i = 0; i < c->n_base; i++)
        if (strcmp(c->base_names[i], name) == 0) return true;
    return false;
}

/* The reference of group g: the group matching every --baseline pair that agrees with g
 * on every other variable column. */
int compare_resolve_baseline(compare *c, llx_error *err)
{
    for (int i = 0; i < c->n_base; i++) {
        bool found = false;
        for (size_t g = 0; g < c->n_groups && !found; g++) {
            const char *v = llx_run_var_get(first_run(c, g), c->base_names[i]);
            found = v && strcmp(v, c->base_values[i]) == 0;
        }
        if (!found) {
            char values[512] = "";
            size_t len = 0;
            for (size_t g = 0; g < c->n_groups && len + 64 < sizeof values; g++) {
                const char *v = llx_run_var_get(first_run(c, g), c->base_names[i]);
                if (v && !strstr(values, v))
                    len += (size_t)snprintf(values + len, sizeof values - len, "%s%s", len ? ", " : "", v);
            }
            llx_errorf(err, LLX_ERR_NOT_FOUND, "--baseline %s=%s: no compared run has it (%s%s%s)",
                       c->base_names[i], c->base_values[i], len ? "values: " : "no run has a variable '",
                       len ? values : c->base_names[i], len ? "" : "'");
            return -1;
        }
    }
    for (size_t g = 0; g < c->n_groups; g++) {
        c->ref[g] = -1;
        for (size_t b = 0; b < c->n_groups && c->ref[g] < 0; b++) {
            bool ok = true;
            for (int i = 0; ok && i < c->n_base; i++) {
                const char *v = llx_run_var_get(first_run(c, b), c->base_names[i]);
                ok = v && strcmp(v, c->base_values[i]) == 0;
            }
            for (int i = 0; ok && i < c->n_cols; i++)
                if (c->cols[i].kind == COL_VAR && !is_base_name(c, c->cols[i].var))
                    ok = strcmp(var_of(c, b, c->cols[i].var), var_of(c, g, c->cols[i].var)) == 0;
            if (ok && c->several_experiments)
                ok = strcmp(first_run(c, b)->experiment_path, first_run(c, g)->experiment_path) == 0;
            if (ok) c->ref[g] = (long)b;
        }
    }
    return 0;
}

/* Sort key: scores descending, everything else ascending. */
int compare_sort_rows(compare *c, const char *what, llx_error *err)
{
    static const char *const names[] = {"accuracy", "acc",   "macro_f1", "macro-f1", "f1",  "abaw", "params",
                                        "macs",     "epoch", "n",        "commit",   "neu", "ang",  "dis",
                                        "fea",      "hap",   "sad",      "sur",      NULL};
    int score = -1;
    column key = {.kind = COL_VAR, .var = what};
    if (!strcmp(what, "accuracy") || !strcmp(what, "acc"))
        score = LLX_SCORE_ACCURACY;
    else if (!strcmp(what, "macro_f1") || !strcmp(what, "macro-f1") || !strcmp(what, "f1"))
        score = LLX_SCORE_MACRO_F1;
    else if (!strcmp(what, "abaw"))
        score = LLX_SCORE_ABAW;
    else if (!strcmp(what, "params"))
        key.kind = COL_PARAMS;
    else if (!strcmp(what, "macs"))
        key.kind = COL_MACS;
    else if (!strcmp(what, "epoch"))
        key.kind = COL_EPOCH;
    else if (!strcmp(what, "n"))
        key.kind = COL_N;
    else if (!strcmp(what, "commit"))
        key.kind = COL_COMMIT;
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        if (!strcmp(what, compare_short_class[k]) || !strcmp(what, llx_class_name(k)))
            score = LLX_SCORE_CLASS0 + k;
    if (key.kind == COL_VAR && score < 0 && !has_var_col(c, what)) {
        const char *near = llx_suggest(what, names);
        return llx_errorf(err, LLX_ERR_INVALID,
                          "--sort %s: no such column (scores: accuracy macro_f1 abaw neu..sur; "
                          "params macs epoch n commit; or a variable column)%s%s%s",
                          what, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : ""),
               -1;
    }
    for (size_t i = 1; i < c->n_groups; i++) { /* insertion sort: stable */
        size_t g = c->order[i], j = i;
        for (; j > 0; j--) {
            size_t h = c->order[j - 1];
            int cmp;
            if (score >= 0) {
                double a = c->groups[g].mean[score], b = c->groups[h].mean[score];
                cmp = isnan(a) ? 1 : isnan(b) ? -1 : (a > b) ? -1 : (a < b) ? 1 : 0;
            } else if (key.kind == COL_PARAMS || key.kind == COL_MACS) {
                int64_t a = key.kind == COL_PARAMS ? first_run(c, g)->params : first_run(c, g)->macs;
                int64_t b = key.kind == COL_PARAMS ? first_run(c, h)->params : first_run(c, h)->macs;
                cmp = a < b ? -1 : a > b;
            } else if (key.kind == COL_EPOCH || key.kind == COL_N) {
                double a = key.kind == COL_EPOCH ? c->groups[g].best_epoch_mean : (double)c->groups[g].n_runs;
                double b = key.kind == COL_EPOCH ? c->groups[h].best_epoch_mean : (double)c->groups[h].n_runs;
                cmp = a < b ? -1 : a > b;
            } else {
                char a[CELL], b[CELL];
                compare_cell(c, &key, g, FMT_CSV, a, sizeof a);
                compare_cell(c, &key, h, FMT_CSV, b, sizeof b);
                char *ea, *eb;
                double na = strtod(a, &ea), nb = strtod(b, &eb);
                cmp = (*a && !*ea && *b && !*eb) ? (na < nb ? -1 : na > nb) : strcmp(a, b);
            }
            if (cmp >= 0) break;
            c->order[j] = h;
        }
        c->order[j] = g;
    }
    return 0;
}

/* Without --sort, the baseline rows come first (the rest keep their order). */
void compare_baseline_first(compare *c)
{
    size_t k = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t g = 0; g < c->n_groups; g++)
            if ((c->ref[g] == (long)g) == (pass == 0)) c->order[k++] = g;
}
size_t compare_n_used(const compare *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_runs; i++)
        n += c->use[i];
    return n;
}
