/* cmd_compare.c: `llx compare RUN...`: the ablation table of a set of run folders.
 *
 * Rows are configurations (runs that differ only by seed, mean ± sample std over the
 * seeds) or single runs; columns the varied variables (attention first), size, best
 * epoch, scores in percent, per-class accuracy, optional deltas to a baseline, commit.
 * Best value per score column: '*' after it in the terminal table, bold in Markdown and
 * LaTeX, listed in the `best` column of CSV (whose cells stay plain numbers). Runs that
 * cannot be in the table (running, failed, unreadable, without scores) are listed after
 * it with their state and the reason (CSV: as rows with state and note).
 *
 * This file: the arguments, reading and grouping the runs, the bar chart (--plot); the
 * table model is in compare_table.c, the output formats in compare_format.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare_impl.h"
#include "llx/plot.h"

static const char *const format_names[] = {"table", "markdown", "csv", "latex", NULL};

/* ---- the bar chart ---- */

static int write_plot(const compare *c, const char *path)
{
    size_t n = c->n_groups;
    const char **labels = calloc(n + 1, sizeof *labels);
    char(*text)[CELL] = calloc(n + 1, sizeof *text);
    double *values = calloc(3 * n + 1, sizeof *values), *errors = calloc(3 * n + 1, sizeof *errors);
    int rc = 1;
    if (labels && text && values && errors) {
        int n_label_cols = 0;
        for (int j = 0; j < c->n_cols; j++)
            n_label_cols += label_col(&c->cols[j]);
        for (size_t r = 0; r < n; r++) {
            size_t g = c->order[r], len = 0;
            for (int j = 0; j < c->n_cols; j++) { /* one line per variable: "llam" or "attention=llam" */
                if (!label_col(&c->cols[j])) continue;
                char buf[CELL];
                compare_cell(c, &c->cols[j], g, FMT_CSV, buf, sizeof buf);
                if (c->cols[j].kind == COL_VAR && n_label_cols > 1)
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
    if (!copy) {
        fprintf(stderr, "llx compare: out of memory\n");
        return -1;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || c->n_base == 8) {
            fprintf(stderr, "llx compare: --baseline %s: expected NAME=VALUE (attention=none)\n", arg);
            free(copy);
            return -1;
        }
        *eq = 0;
        char *name = strdup(tok), *value = strdup(eq + 1);
        c->base_names[c->n_base] = name; /* compare_free frees them, NULL too */
        c->base_values[c->n_base++] = value;
        if (!name || !value) {
            fprintf(stderr, "llx compare: out of memory\n");
            free(copy);
            return -1;
        }
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
    if (!args) {
        fprintf(stderr, "llx compare: out of memory\n");
        return 1;
    }
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
    if (!c.runs || !c.use) {
        fprintf(stderr, "llx compare: out of memory\n");
        llx_runs_find_free(dirs, n_dirs);
        goto done;
    }
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
        group = ng < compare_n_used(&c);
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
    if (!c.order || !c.best || !c.ref) {
        fprintf(stderr, "llx compare: out of memory\n");
        goto done;
    }
    for (size_t g = 0; g < c.n_groups; g++)
        c.order[g] = g;
    compare_choose_columns(&c);
    compare_mark_best(&c);
    if ((c.n_base && c.n_groups && compare_resolve_baseline(&c, &err)) ||
        (sort && c.n_groups && compare_sort_rows(&c, sort, &err))) {
        cli_fail(&err);
        goto done;
    }
    if (c.n_base && !sort) compare_baseline_first(&c);
    if (c.n_groups == 0) {
        fprintf(stdout, "llx compare: none of the %zu run%s has scores to compare yet\n", c.n_runs,
                c.n_runs == 1 ? "" : "s");
        compare_notes(&c, stdout, FMT_TABLE);
        rc = 1;
        goto done;
    }
    if (fmt == FMT_CSV)
        compare_write_csv(&c, stdout);
    else if (fmt == FMT_LATEX)
        compare_write_latex(&c, stdout);
    else
        compare_write_table(&c, stdout, fmt);
    rc = plot ? write_plot(&c, plot) : 0;
done:
    compare_free(&c);
    free(args);
    return rc;
}
