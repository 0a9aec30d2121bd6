/* cmd_compare.c: `llx compare RUN...`: the ablation table of a set of run folders.
 *
 * Rows are configurations (runs that differ only by seed, mean ± sample std over the
 * seeds) or single runs; columns the varied variables (attention first), size, best
 * epoch, scores in percent, per-class accuracy, optional deltas to a baseline, commit.
 * Best value per score column: '*' after it in the terminal table, bold in Markdown and
 * LaTeX, listed in the `best` column of CSV (whose cells stay plain numbers). Runs that
 * cannot be in the table (running, failed, unreadable, without scores) are listed after
 * it with their state and the reason (CSV: as rows with state and note). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "llx/plot.h"
#include "llx/runread.h"

#define MAX_COLS 64
#define CELL     160

typedef enum { FMT_TABLE, FMT_MARKDOWN, FMT_CSV, FMT_LATEX } out_format;
static const char *const format_names[] = {"table", "markdown", "csv", "latex", NULL};

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

static const char *const short_class[LLX_NUM_CLASSES] = {"neu", "ang", "dis", "fea", "hap", "sad", "sur"};
static const char *const score_names[3] = {"accuracy", "macro_f1", "abaw"};
static const char *const score_titles[3] = {"accuracy", "macro-F1", "ABAW"};

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

static const llx_run *first_run(const compare *c, size_t g)
{
    return &c->runs[c->groups[g].runs[0]];
}

static const char *var_of(const compare *c, size_t g, const char *name)
{
    const char *v = llx_run_var_get(first_run(c, g), name);
    return v ? v : "-";
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
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

static void choose_columns(compare *c)
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

static bool numeric_col(const column *col)
{
    return col->kind != COL_RUN && col->kind != COL_EXPERIMENT && col->kind != COL_VAR &&
           col->kind != COL_COMMIT;
}

static const char *header(const column *col, out_format f, char *buf, size_t cap)
{
    bool tex = f == FMT_LATEX;
    switch (col->kind) {
    case COL_RUN:
        return "run";
    case COL_EXPERIMENT:
        return "experiment";
    case COL_VAR:
        return col->var;
    case COL_N:
        return tex ? "$n$" : "n";
    case COL_PARAMS:
        return "params (M)";
    case COL_MACS:
        return "MACs (G)";
    case COL_EPOCH:
        return "best ep.";
    case COL_COMMIT:
        return "commit";
    case COL_SCORE:
        if (col->score >= LLX_SCORE_CLASS0) return short_class[col->score - LLX_SCORE_CLASS0];
        snprintf(buf, cap, "%s (%s)", score_titles[col->score], tex ? "\\%" : "%");
        return buf;
    case COL_DELTA:
        snprintf(buf, cap, "%s %s", f == FMT_TABLE || f == FMT_MARKDOWN ? "Δ" : "$\\Delta$",
                 col->score == LLX_SCORE_ACCURACY   ? "acc"
                 : col->score == LLX_SCORE_MACRO_F1 ? "F1"
                                                    : "ABAW");
        return buf;
    }
    return "?";
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
static void cell(const compare *c, const column *col, size_t g, out_format f, char *buf, size_t cap)
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

static void mark_best(compare *c)
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
static int resolve_baseline(compare *c, llx_error *err)
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
static int sort_rows(compare *c, const char *what, llx_error *err)
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
        if (!strcmp(what, short_class[k]) || !strcmp(what, llx_class_name(k))) score = LLX_SCORE_CLASS0 + k;
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
                cell(c, &key, g, FMT_CSV, a, sizeof a);
                cell(c, &key, h, FMT_CSV, b, sizeof b);
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
static void baseline_first(compare *c)
{
    size_t k = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t g = 0; g < c->n_groups; g++)
            if ((c->ref[g] == (long)g) == (pass == 0)) c->order[k++] = g;
}

/* ---- output ---- */

static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *out, const char *s, size_t width, bool right)
{
    size_t w = display_width(s);
    if (right)
        fprintf(out, "%*s%s", (int)(width > w ? width - w : 0), "", s);
    else
        fprintf(out, "%s%*s", s, (int)(width > w ? width - w : 0), "");
}

static void csv_field(FILE *out, const char *s, bool first)
{
    if (!first) fputc(',', out);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void latex_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("_%&#${}", *s))
            fprintf(out, "\\%c", *s);
        else if (*s == '~')
            fputs("\\textasciitilde{}", out);
        else if (*s == '^')
            fputs("\\textasciicircum{}", out);
        else if (*s == '\\')
            fputs("\\textbackslash{}", out);
        else
            fputc(*s, out);
    }
}

static const char *split_note(const compare *c, char *buf, size_t cap)
{
    if (c->split == LLX_SPLIT_TEST)
        snprintf(buf, cap, "scores (%%) from /test: the test split at the best validation epoch");
    else
        snprintf(buf, cap,
                 "scores (%%) from /val_best: the validation split at the best epoch (no /test in %s)",
                 c->n_groups ? "every run" : "any run");
    return buf;
}

static size_t n_used(const compare *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_runs; i++)
        n += c->use[i];
    return n;
}

static void title_line(const compare *c, FILE *out, const char *prefix, bool tex)
{
    char note[256];
    fprintf(out, "%sllx compare: %zu run%s", prefix, n_used(c), n_used(c) == 1 ? "" : "s");
    if (c->grouped)
        fprintf(out, " in %zu configuration%s, mean %s std over seeds", c->n_groups,
                c->n_groups == 1 ? "" : "s", tex ? "+-" : "±");
    fprintf(out, "; %s\n", split_note(c, note, sizeof note));
}

/* Why run i is not in the table (its state and the reason), written into buf. */
static void why_not(const compare *c, size_t i, char *buf, size_t cap)
{
    const llx_run *r = &c->runs[i];
    switch (r->state) {
    case LLX_RUN_BROKEN:
        snprintf(buf, cap, "%s", r->error);
        return;
    case LLX_RUN_RUNNING:
        if (r->val_best.present)
            snprintf(buf, cap,
                     "%s: still running, epoch %lld of %lld (best val accuracy so far %.2f %% at epoch %lld)",
                     r->dir, (long long)r->epochs_done, (long long)r->epochs_total,
                     100 * r->val_best.accuracy, (long long)r->val_best.epoch);
        else
            snprintf(buf, cap, "%s: still running, epoch %lld of %lld", r->dir, (long long)r->epochs_done,
                     (long long)r->epochs_total);
        return;
    case LLX_RUN_FAILED:
        snprintf(buf, cap, "%s: failed after epoch %lld of %lld: %s", r->dir, (long long)r->epochs_done,
                 (long long)r->epochs_total, r->error);
        return;
    default:
        snprintf(buf, cap, "%s: %s without %s scores", r->dir, llx_run_state_name(r->state),
                 c->split == LLX_SPLIT_TEST ? "/test" : "/val_best");
        return;
    }
}

static void notes(const compare *c, FILE *out, out_format f)
{
    char why[4096];
    bool any = false;
    for (size_t i = 0; i < c->n_runs; i++) {
        const llx_run *r = &c->runs[i];
        bool stopped = c->use[i] && r->state == LLX_RUN_STOPPED;
        if (c->use[i] && !stopped) continue;
        if (!any && f == FMT_MARKDOWN)
            fputs("\nNot in the table:\n\n", out);
        else if (!any && f == FMT_TABLE)
            fputs("\nnot in the table:\n", out);
        any = true;
        if (stopped)
            snprintf(why, sizeof why,
                     "%s: stopped after epoch %lld of %lld (in the table with its best epoch so far)", r->dir,
                     (long long)r->epochs_done, (long long)r->epochs_total);
        else
            why_not(c, i, why, sizeof why);
        const char *state = stopped ? "stopped" : llx_run_state_name(r->state);
        if (f == FMT_MARKDOWN)
            fprintf(out, "- %s: %s\n", state, why);
        else if (f == FMT_LATEX)
            fprintf(out, "%% %s: %s\n", state, why);
        else
            fprintf(out, "  %-9s %s\n", state, why);
    }
}

static void write_text_table(const compare *c, FILE *out, out_format f)
{
    size_t rows = c->n_groups + 1;
    char(*cells)[MAX_COLS][CELL] = calloc(rows, sizeof *cells);
    size_t width[MAX_COLS] = {0};
    if (!cells) return;
    for (int j = 0; j < c->n_cols; j++) {
        char buf[CELL];
        snprintf(cells[0][j], CELL, "%s", header(&c->cols[j], f, buf, sizeof buf));
        for (size_t r = 1; r < rows; r++)
            cell(c, &c->cols[j], c->order[r - 1], f, cells[r][j], CELL);
        if (f == FMT_MARKDOWN) width[j] = 3; /* a delimiter cell needs a hyphen beside its colon */
        for (size_t r = 0; r < rows; r++)
            if (display_width(cells[r][j]) > width[j]) width[j] = display_width(cells[r][j]);
    }
    title_line(c, out, f == FMT_MARKDOWN ? "" : "", false);
    if (f == FMT_MARKDOWN) fputc('\n', out);
    for (size_t r = 0; r < rows; r++) {
        for (int j = 0; j < c->n_cols; j++) {
            bool right = numeric_col(&c->cols[j]);
            if (f == FMT_MARKDOWN)
                fputs(j ? " | " : "| ", out);
            else if (j)
                fputs("  ", out);
            if (f == FMT_TABLE && j == c->n_cols - 1 && !right)
                fputs(cells[r][j], out); /* no trailing blanks */
            else
                pad(out, cells[r][j], width[j], right && (r > 0 || f == FMT_TABLE));
        }
        fputs(f == FMT_MARKDOWN ? " |\n" : "\n", out);
        if (r == 0) {
            for (int j = 0; j < c->n_cols; j++) {
                if (f == FMT_MARKDOWN) {
                    fputs(j ? " | " : "| ", out);
                    for (size_t k = 0; k + 1 < width[j]; k++)
                        fputc('-', out);
                    fputc(numeric_col(&c->cols[j]) ? ':' : '-', out);
                } else {
                    if (j) fputs("  ", out);
                    for (size_t k = 0; k < width[j]; k++)
                        fputc('-', out);
                }
            }
            fputs(f == FMT_MARKDOWN ? " |\n" : "\n", out);
        }
    }
    if (f == FMT_MARKDOWN) fputc('\n', out);
    fprintf(out, "%s",
            f == FMT_MARKDOWN ? "Best value per column in **bold**" : "* best value in its column");
    if (c->n_base) {
        fprintf(out, "; Δ: points against ");
        for (int i = 0; i < c->n_base; i++)
            fprintf(out, "%s%s=%s", i ? "," : "", c->base_names[i], c->base_values[i]);
    }
    fputs(f == FMT_MARKDOWN ? ".\n" : "\n", out);
    notes(c, out, f);
    free(cells);
}

static void write_latex(const compare *c, FILE *out)
{
    title_line(c, out, "% ", true);
    fputs("% best value per column in bold; needs \\usepackage{booktabs}\n\\begin{tabular}{", out);
    for (int j = 0; j < c->n_cols; j++)
        fputc(numeric_col(&c->cols[j]) ? 'r' : 'l', out);
    fputs("}\n\\toprule\n", out);
    for (int j = 0; j < c->n_cols; j++) {
        char buf[CELL];
        const char *h = header(&c->cols[j], FMT_LATEX, buf, sizeof buf);
        if (j) fputs(" & ", out);
        if (c->cols[j].kind == COL_VAR || c->cols[j].kind == COL_RUN || c->cols[j].kind == COL_EXPERIMENT)
            latex_escaped(out, h);
        else
            fputs(h, out);
    }
    fputs(" \\\\\n\\midrule\n", out);
    for (size_t r = 0; r < c->n_groups; r++) {
        for (int j = 0; j < c->n_cols; j++) {
            char buf[CELL];
            cell(c, &c->cols[j], c->order[r], FMT_LATEX, buf, sizeof buf);
            if (j) fputs(" & ", out);
            col_kind k = c->cols[j].kind;
            if (k == COL_VAR || k == COL_RUN || k == COL_EXPERIMENT || k == COL_COMMIT)
                latex_escaped(out, buf);
            else
                fputs(strcmp(buf, "base") == 0 ? "--" : buf, out);
        }
        fputs(" \\\\\n", out);
    }
    fputs("\\bottomrule\n\\end{tabular}\n", out);
    notes(c, out, FMT_LATEX);
}

static void write_csv(const compare *c, FILE *out)
{
    bool first = true;
    for (int j = 0; j < c->n_cols; j++) {
        const column *col = &c->cols[j];
        char name[CELL];
        switch (col->kind) {
        case COL_PARAMS:
            snprintf(name, sizeof name, "params");
            break;
        case COL_MACS:
            snprintf(name, sizeof name, "macs");
            break;
        case COL_EPOCH:
            snprintf(name, sizeof name, "best_epoch");
            break;
        case COL_SCORE:
            if (col->score >= LLX_SCORE_CLASS0)
                snprintf(name, sizeof name, "acc_%s", llx_class_name(col->score - LLX_SCORE_CLASS0));
            else
                snprintf(name, sizeof name, "%s", score_names[col->score]);
            break;
        case COL_DELTA:
            snprintf(name, sizeof name, "delta_%s", score_names[col->score]);
            break;
        default: {
            char buf[CELL];
            snprintf(name, sizeof name, "%s", header(col, FMT_CSV, buf, sizeof buf));
        }
        }
        csv_field(out, name, first);
        first = false;
        if (col->kind == COL_SCORE && col->score < LLX_SCORE_CLASS0) {
            snprintf(name, sizeof name, "%s_std", score_names[col->score]);
            csv_field(out, name, false);
        }
    }
    fputs(",split,state,best,runs,note\n", out);
    for (size_t r = 0; r < c->n_groups; r++) {
        size_t g = c->order[r];
        for (int j = 0; j < c->n_cols; j++) {
            const column *col = &c->cols[j];
            char buf[CELL];
            if (col->kind == COL_PARAMS)
                snprintf(buf, sizeof buf, "%lld", (long long)first_run(c, g)->params);
            else if (col->kind == COL_MACS)
                snprintf(buf, sizeof buf, "%lld", (long long)first_run(c, g)->macs);
            else
                cell(c, col, g, FMT_CSV, buf, sizeof buf);
            csv_field(out, buf, j == 0);
            if (col->kind == COL_SCORE && col->score < LLX_SCORE_CLASS0) {
                snprintf(buf, sizeof buf, "%.4f", 100 * c->groups[g].std[col->score]);
                csv_field(out, buf, false);
            }
        }
        char best[256] = "", runs[2048] = "";
        size_t bl = 0, rl = 0;
        for (int k = 0; k < LLX_RUN_NSCORES; k++)
            if (c->best[g][k])
                bl += (size_t)snprintf(best + bl, sizeof best - bl, "%s%s", bl ? ";" : "",
                                       k < 3 ? score_names[k] : short_class[k - LLX_SCORE_CLASS0]);
        for (size_t j = 0; j < c->groups[g].n_runs && rl + 64 < sizeof runs; j++)
            rl += (size_t)snprintf(runs + rl, sizeof runs - rl, "%s%s", j ? ";" : "",
                                   c->runs[c->groups[g].runs[j]].name);
        csv_field(out, c->split == LLX_SPLIT_TEST ? "test" : "val", false);
        csv_field(out, "finished", false);
        csv_field(out, best, false);
        csv_field(out, runs, false);
        csv_field(out, "", false);
        fputc('\n', out);
    }
    /* runs outside the table: their variables, state and the reason */
    for (size_t i = 0; i < c->n_runs; i++) {
        if (c->use[i]) continue;
        const llx_run *r = &c->runs[i];
        for (int j = 0; j < c->n_cols; j++) {
            const column *col = &c->cols[j];
            const char *v = col->kind == COL_VAR   ? llx_run_var_get(r, col->var)
                            : col->kind == COL_RUN ? r->name
                                                   : NULL;
            csv_field(out, v ? v : "", j == 0);
            if (col->kind == COL_SCORE && col->score < LLX_SCORE_CLASS0) csv_field(out, "", false);
        }
        char why[4096];
        why_not(c, i, why, sizeof why);
        csv_field(out, "", false);
        csv_field(out, llx_run_state_name(r->state), false);
        csv_field(out, "", false);
        csv_field(out, r->name, false);
        csv_field(out, why, false);
        fputc('\n', out);
    }
}

/* ---- the bar chart ---- */

static int write_plot(const compare *c, const char *path)
{
    size_t n = c->n_groups;
    const char **labels = calloc(n + 1, sizeof *labels);
    char(*text)[CELL] = calloc(n + 1, sizeof *text);
    double *values = calloc(3 * n + 1, sizeof *values), *errors = calloc(3 * n + 1, sizeof *errors);
    int rc = 1;
    if (labels && text && values && errors) {
        for (size_t r = 0; r < n; r++) {
            size_t g = c->order[r], len = 0;
            int n_label_cols = 0;
            for (int j = 0; j < c->n_cols; j++)
                n_label_cols += c->cols[j].kind == COL_VAR || c->cols[j].kind == COL_RUN ||
                                c->cols[j].kind == COL_EXPERIMENT;
            for (int j = 0; j < c->n_cols; j++) { /* one line per variable: "llam" or "attention=llam" */
                col_kind k = c->cols[j].kind;
                if (k != COL_VAR && k != COL_RUN && k != COL_EXPERIMENT) continue;
                char buf[CELL];
                cell(c, &c->cols[j], g, FMT_CSV, buf, sizeof buf);
                if (k == COL_VAR && n_label_cols > 1)
                    len += (size_t)snprintf(text[r] + len, CELL - len, "%s%s=%s", len ? ", " : "",
                                            c->cols[j].var, buf);
                else
                    len += (size_t)snprintf(text[r] + len, CELL - len, "%s%s", len ? ", " : "", buf);
                if (len >= CELL) len = CELL - 1;
            }
            if (c->grouped && len + 16 < CELL)
                snprintf(text[r] + len, CELL - len, ", %zu seed%s", c->groups[g].n_runs,
                         c->groups[g].n_runs == 1 ? "" : "s");
            labels[r] = text[r];
            for (int k = 0; k < 3; k++) {
                values[3 * r + (size_t)k] = 100 * c->groups[g].mean[k];
                errors[3 * r + (size_t)k] = c->groups[g].n_runs > 1 ? 100 * c->groups[g].std[k] : 0;
            }
        }
        char subtitle[256];
        snprintf(subtitle, sizeof subtitle, "%s split%s", c->split == LLX_SPLIT_TEST ? "test" : "validation",
                 c->grouped ? ", mean ± std over seeds" : "");
        const char *series[3] = {"accuracy", "macro-F1", "ABAW"};
        llx_plot_bars_spec spec = {.title = c->grouped ? "Scores per configuration" : "Scores per run",
                                   .subtitle = subtitle,
                                   .ylabel = "score (%)",
                                   .series = series,
                                   .n_series = 3,
                                   .labels = labels,
                                   .n_groups = n,
                                   .values = values,
                                   .errors = errors};
        llx_error err = {0};
        rc = llx_plot_bars(path, &spec, &err) == LLX_OK ? 0 : cli_fail(&err);
        if (!rc) fprintf(stderr, "llx compare: wrote %s\n", path);
    }
    free(labels);
    free(text);
    free(values);
    free(errors);
    return rc;
}

/* ---- the command ---- */

static void compare_free(compare *c)
{
    for (size_t i = 0; i < c->n_runs; i++)
        llx_run_free(&c->runs[i]);
    free(c->runs);
    free(c->use);
    llx_runs_group_free(c->groups, c->n_groups);
    free(c->order);
    free(c->best);
    free(c->ref);
    for (int i = 0; i < c->n_base; i++) {
        free(c->base_names[i]);
        free(c->base_values[i]);
    }
}

static int parse_baseline(compare *c, const char *arg)
{
    char *copy = strdup(arg), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || c->n_base == 8) {
            fprintf(stderr, "llx compare: --baseline %s: expected NAME=VALUE (attention=none)\n", arg);
            free(copy);
            return -1;
        }
        *eq = 0;
        c->base_names[c->n_base] = strdup(tok);
        c->base_values[c->n_base++] = strdup(eq + 1);
    }
    free(copy);
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    compare c = {0};
    const char **args = calloc((size_t)argc + 1, sizeof *args);
    const char *sort = NULL, *plot = NULL;
    size_t n_args = 0;
    int group = -1; /* -1: when some runs differ only by seed */
    out_format fmt = FMT_TABLE;
    llx_run_split split = LLX_SPLIT_AUTO;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--group"))
            group = 1;
        else if (!strcmp(a, "--runs") || !strcmp(a, "--no-group"))
            group = 0;
        else if (!strcmp(a, "--sort") && val)
            sort = argv[++i];
        else if (!strcmp(a, "--plot") && val)
            plot = argv[++i];
        else if (!strcmp(a, "--baseline") && val) {
            if (parse_baseline(&c, argv[++i])) goto done;
        } else if (!strcmp(a, "--split") && val) {
            i++;
            if (!strcmp(val, "test"))
                split = LLX_SPLIT_TEST;
            else if (!strcmp(val, "val"))
                split = LLX_SPLIT_VAL;
            else if (!strcmp(val, "auto"))
                split = LLX_SPLIT_AUTO;
            else {
                fprintf(stderr, "llx compare: --split %s: expected auto, test or val\n", val);
                goto done;
            }
        } else if (!strcmp(a, "--format") && val) {
            int f = -1;
            for (int k = 0; format_names[k]; k++)
                if (!strcmp(val, format_names[k]) || (!strcmp(val, "md") && k == FMT_MARKDOWN) ||
                    (!strcmp(val, "tex") && k == FMT_LATEX))
                    f = k;
            if (f < 0) {
                const char *near = llx_suggest(val, format_names);
                fprintf(stderr, "llx compare: --format %s: expected table, markdown, csv or latex%s%s%s\n",
                        val, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
                goto done;
            }
            fmt = (out_format)f;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llx compare: unexpected argument '%s' (see llx compare --help)\n", a);
            goto done;
        } else
            args[n_args++] = a;
    }
    if (!n_args) {
        fprintf(stderr,
                "llx compare: which runs? usage: llx compare RUN_DIR... (or a folder of runs: results/)\n");
        goto done;
    }
    llx_error err = {0};
    char **dirs = NULL;
    size_t n_dirs = 0;
    rc = 1;
    if (llx_runs_find(args, n_args, &dirs, &n_dirs, &err) != LLX_OK) {
        cli_fail(&err);
        goto done;
    }
    if (!n_dirs) {
        fprintf(stderr, "llx compare: no run folders among the arguments (a run folder holds run.h5)\n");
        llx_runs_find_free(dirs, n_dirs);
        goto done;
    }
    c.runs = calloc(n_dirs, sizeof *c.runs);
    c.use = calloc(n_dirs, sizeof *c.use);
    c.n_runs = n_dirs;
    for (size_t i = 0; i < n_dirs; i++)
        llx_run_read(dirs[i], &c.runs[i], NULL);
    llx_runs_find_free(dirs, n_dirs);
    for (size_t i = 0; i < c.n_runs; i++)
        c.use[i] = c.runs[i].state == LLX_RUN_FINISHED || c.runs[i].state == LLX_RUN_STOPPED;
    c.split = llx_runs_split(c.runs, c.use, c.n_runs, split);
    for (size_t i = 0; i < c.n_runs; i++)
        c.use[i] = c.use[i] && llx_run_scores_of(&c.runs[i], c.split);
    if (group < 0) { /* group when two runs share a configuration */
        llx_run_group *gs;
        size_t ng;
        if (llx_runs_group(c.runs, c.use, c.n_runs, c.split, true, &gs, &ng, &err) != LLX_OK) {
            cli_fail(&err);
            goto done;
        }
        group = ng < n_used(&c);
        llx_runs_group_free(gs, ng);
    }
    c.grouped = group == 1;
    if (llx_runs_group(c.runs, c.use, c.n_runs, c.split, c.grouped, &c.groups, &c.n_groups, &err) != LLX_OK) {
        cli_fail(&err);
        goto done;
    }
    for (size_t g = 0; g < c.n_groups; g++)
        c.several_experiments |=
            strcmp(first_run(&c, g)->experiment_path, first_run(&c, 0)->experiment_path) != 0 &&
            strcmp(base_name(first_run(&c, g)->experiment_path),
                   base_name(first_run(&c, 0)->experiment_path)) != 0;
    c.order = calloc(c.n_groups + 1, sizeof *c.order);
    c.best = calloc(c.n_groups + 1, sizeof *c.best);
    c.ref = calloc(c.n_groups + 1, sizeof *c.ref);
    for (size_t g = 0; g < c.n_groups; g++)
        c.order[g] = g;
    choose_columns(&c);
    mark_best(&c);
    if ((c.n_base && c.n_groups && resolve_baseline(&c, &err)) ||
        (sort && c.n_groups && sort_rows(&c, sort, &err))) {
        cli_fail(&err);
        goto done;
    }
    if (c.n_base && !sort) baseline_first(&c);
    if (c.n_groups == 0) {
        fprintf(stdout, "llx compare: none of the %zu run%s has scores to compare yet\n", c.n_runs,
                c.n_runs == 1 ? "" : "s");
        notes(&c, stdout, FMT_TABLE);
        rc = 1;
        goto done;
    }
    if (fmt == FMT_CSV)
        write_csv(&c, stdout);
    else if (fmt == FMT_LATEX)
        write_latex(&c, stdout);
    else
        write_text_table(&c, stdout, fmt);
    rc = plot ? write_plot(&c, plot) : 0;
done:
    compare_free(&c);
    free(args);
    return rc;
}
