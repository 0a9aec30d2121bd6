/* compare_format.c: the four output formats of `llx compare`: the terminal table, Markdown,
 * CSV (plain numbers, scores in percent with their std) and LaTeX (booktabs), and the notes
 * on runs that are not in the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare_impl.h"

static const char *const score_names[3] = {"accuracy", "macro_f1", "abaw"};
static const char *const score_titles[3] = {"accuracy", "macro-F1", "ABAW"};

/* ---- headers ---- */

static bool numeric_col(const column *col)
{
    return !label_col(col) && col->kind != COL_COMMIT;
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
        if (col->score >= LLX_SCORE_CLASS0) return compare_short_class[col->score - LLX_SCORE_CLASS0];
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
/* ---- writing ---- */

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
static void title_line(const compare *c, FILE *out, const char *prefix, bool tex)
{
    char note[256];
    fprintf(out, "%sllx compare: %zu run%s", prefix, compare_n_used(c), compare_n_used(c) == 1 ? "" : "s");
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

void compare_notes(const compare *c, FILE *out, out_format f)
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

void compare_write_table(const compare *c, FILE *out, out_format f)
{
    size_t rows = c->n_groups + 1;
    char(*cells)[MAX_COLS][CELL] = calloc(rows, sizeof *cells);
    size_t width[MAX_COLS] = {0};
    if (!cells) return;
    for (int j = 0; j < c->n_cols; j++) {
        char buf[CELL];
        snprintf(cells[0][j], CELL, "%s", header(&c->cols[j], f, buf, sizeof buf));
        for (size_t r = 1; r < rows; r++)
            compare_cell(c, &c->cols[j], c->order[r - 1], f, cells[r][j], CELL);
        if (f == FMT_MARKDOWN) width[j] = 3; /* a delimiter cell needs a hyphen beside its colon */
        for (size_t r = 0; r < rows; r++)
            if (display_width(cells[r][j]) > width[j]) width[j] = display_width(cells[r][j]);
    }
    title_line(c, out, "", false);
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
    compare_notes(c, out, f);
    free(cells);
}

void compare_write_latex(const compare *c, FILE *out)
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
        if (label_col(&c->cols[j]))
            latex_escaped(out, h);
        else
            fputs(h, out);
    }
    fputs(" \\\\\n\\midrule\n", out);
    for (size_t r = 0; r < c->n_groups; r++) {
        for (int j = 0; j < c->n_cols; j++) {
            char buf[CELL];
            compare_cell(c, &c->cols[j], c->order[r], FMT_LATEX, buf, sizeof buf);
            if (j) fputs(" & ", out);
            if (!numeric_col(&c->cols[j]))
                latex_escaped(out, buf);
            else
                fputs(strcmp(buf, "base") == 0 ? "--" : buf, out);
        }
        fputs(" \\\\\n", out);
    }
    fputs("\\bottomrule\n\\end{tabular}\n", out);
    compare_notes(c, out, FMT_LATEX);
}

void compare_write_csv(const compare *c, FILE *out)
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
                compare_cell(c, col, g, FMT_CSV, buf, sizeof buf);
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
                                       k < LLX_SCORE_CLASS0 ? score_names[k]
                                                            : compare_short_class[k - LLX_SCORE_CLASS0]);
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
