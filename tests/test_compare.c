/* test_compare.c: reading run folders (llx/runread.h), grouping over seeds, `llx compare`
 * in every format, and the plots. Fixture runs are written with the HDF5 C API
 * (support/run_fixture.c), independent of llx run's writer.
 *
 *     test_compare                 runs the tests
 *     test_compare --fixtures DIR  only writes the fixture runs into DIR (for test_compare_cli.sh) */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture_tree.h"
#include "llx/plot.h"
#include "llx/runread.h"
#include "run_fixture.h"

/* fontconfig (under cairo's text) leaks the 288 bytes of its configuration parse once
 * per process, out of our reach; LeakSanitizer builds (tools/setup.sh --sanitize) read
 * this hook and leave that one alone. Unused in other builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static char *root; /* the fixture suite */

/* ---- helpers ---- */

/* stdout (and stderr with `2>&1` in cmd) of a shell command, malloc'd. */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p) return strdup("");
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (len + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    pclose(p);
    return out;
}

/* The CSV line whose field `col` (by header name) equals value, split into fields. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') { /* quoted: "" is a quote */
            char *w = ++p;
            fields[n++] = w;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"') p++;
                *w++ = *p++;
            }
            if (*p == '"') p++;
            char *end = p;
            *w = 0;
            if (*end != ',') break;
            p = end + 1;
        } else {
            fields[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = 0;
            p = comma + 1;
        }
    }
    return n;
}

typedef struct csv {
    char *text;
    char *lines[64][64];
    int n_fields[64], n_lines;
} csv;

static void csv_parse(csv *c, const char *text)
{
    memset(c, 0, sizeof *c);
    c->text = strdup(text);
    char *save = NULL;
    for (char *line = strtok_r(c->text, "\n", &save); line && c->n_lines < 64;
         line = strtok_r(NULL, "\n", &save)) {
        c->n_fields[c->n_lines] = csv_split(line, c->lines[c->n_lines], 64);
        c->n_lines++;
    }
}

static const char *csv_get(const csv *c, int row, const char *col)
{
    for (int j = 0; c->n_lines && j < c->n_fields[0]; j++)
        if (strcmp(c->lines[0][j], col) == 0) return j < c->n_fields[row] ? c->lines[row][j] : NULL;
    return NULL;
}

static int csv_row(const csv *c, const char *col, const char *value)
{
    for (int r = 1; r < c->n_lines; r++) {
        const char *v = csv_get(c, r, col);
        if (v && strcmp(v, value) == 0) return r;
    }
    return -1;
}

static double csv_num(const csv *c, int row, const char *col)
{
    const char *v = row > 0 ? csv_get(c, row, col) : NULL;
    return v && *v ? atof(v) : -999;
}

static const char *at(const char *dir)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, dir);
    return buf[k];
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static bool is_png(const char *path)
{
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t got = fread(sig, 1, 8, f);
    fclose(f);
    return got == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* ---- reading ---- */

static void test_read_finished(void)
{
    llx_run r;
    llx_error err;
    CHECK(llx_run_read(at("q-llam-s1"), &r, &err) == LLX_OK);
    CHECK(r.state == LLX_RUN_FINISHED);
    CHECK(strcmp(r.name, "q-llam-s1") == 0);
    CHECK(r.n_vars == 2 && llx_run_var_get(&r, "attention") &&
          strcmp(llx_run_var_get(&r, "attention"), "llam") == 0);
    CHECK(llx_run_var_get(&r, "seed") && strcmp(llx_run_var_get(&r, "seed"), "1") == 0);
    CHECK(r.n_sweep_vars == 2 && strcmp(r.sweep_vars[0], "attention") == 0 &&
          strcmp(r.sweep_vars[1], "seed") == 0);
    CHECK(r.params == 11180103 && r.macs == 1822000000);
    CHECK(r.git_dirty && strncmp(r.git_commit, "3f2a9c1d", 8) == 0);
    CHECK(r.test.present && r.val_best.present);
    CHECK_NEAR(r.test.accuracy, 0.70, 1e-12);
    CHECK_NEAR(r.test.macro_f1, 0.61, 1e-12);
    CHECK_NEAR(r.test.class_accuracy[0], 0.80, 1e-12);
    CHECK(r.test.confusion[0][0] == 80 && r.test.confusion[0][1] == 20);
    CHECK(r.n_epochs == 10 && llx_run_history(&r, "val_loss") && llx_run_history(&r, "lr"));
    CHECK(llx_run_history(&r, "epoch") && llx_run_history(&r, "epoch")[9] == 10);
    CHECK(r.val_confusion != NULL);
    CHECK(llx_run_history(&r, "nonexistent") == NULL);
    llx_run_free(&r);
    /* the run.h5 file itself works too */
    char path[4200];
    snprintf(path, sizeof path, "%s/run.h5", at("q-none-s2"));
    CHECK(llx_run_read(path, &r, &err) == LLX_OK && strcmp(r.name, "q-none-s2") == 0);
    llx_run_free(&r);
}

static void test_read_states(void)
{
    llx_run r;
    llx_error err;
    CHECK(llx_run_read(at("q-se-s1"), &r, &err) == LLX_OK);
    CHECK(r.state == LLX_RUN_RUNNING && r.epochs_done == 3 && !r.test.present && r.val_best.present);
    llx_run_free(&r);
    CHECK(llx_run_read(at("q-cbam-s1"), &r, &err) == LLX_OK);
    CHECK(r.state == LLX_RUN_FAILED);
    CHECK_CONTAINS(r.error, "out of memory in stage3.block0.attn");
    llx_run_free(&r);
}

/* Each broken record: a status, state BROKEN and a message naming the path and the reason. */
static void check_broken(const char *dir, llx_status want, const char *reason)
{
    llx_run r;
    llx_error err;
    llx_status st = llx_run_read(dir, &r, &err);
    CHECK_MSG(st == want, "%s: status %d, want %d (%s)", dir, st, want, err.msg);
    CHECK(r.state == LLX_RUN_BROKEN && r.status == want);
    CHECK_CONTAINS(err.msg, dir);
    CHECK_CONTAINS(err.msg, reason);
    CHECK_CONTAINS(r.error, reason);
    llx_run_free(&r);
}

static void test_read_broken(void)
{
    check_broken(at("q-truncated"), LLX_ERR_PARSE, "truncated or damaged HDF5 file");
    check_broken(at("q-foreign"), LLX_ERR_PARSE, "not an llx run record");
    check_broken(at("q-foreign"), LLX_ERR_PARSE, "format 'llx-checkpoint'");
    check_broken(at("q-text"), LLX_ERR_PARSE, "not an HDF5 file");
    check_broken(at("no-such-run"), LLX_ERR_NOT_FOUND, "run.h5: missing");
}

/* Cutting a good record at many lengths never crashes and never reads as a good run
 * with nonsense; a newer format version is refused with a hint. */
static void test_read_cut_everywhere(void)
{
    char src[4200], dst_dir[4200], dst[4300];
    snprintf(src, sizeof src, "%s/run.h5", at("q-none-s1"));
    snprintf(dst_dir, sizeof dst_dir, "%s/cut/x", root);
    snprintf(dst, sizeof dst, "%s/run.h5", dst_dir);
    fixture_mkdirs(dst_dir);
    long size = file_size(src);
    char *bytes = malloc((size_t)size);
    FILE *f = fopen(src, "rb");
    CHECK(f && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    if (f) fclose(f);
    int broken = 0, tries = 0;
    for (long keep = 0; keep < size; keep += size / 37 + 1, tries++) {
        fixture_bytes(dst, bytes, (size_t)keep);
        llx_run r;
        llx_error err;
        if (llx_run_read(dst_dir, &r, &err) != LLX_OK) {
            broken++;
            CHECK_CONTAINS(err.msg, dst);
        }
        llx_run_free(&r);
    }
    CHECK_MSG(broken == tries, "%d of %d cut files read as good runs", tries - broken, tries);
    free(bytes);
    /* a newer version */
    run_fixture fx = run_fixture_default();
    CHECK(run_fixture_write(dst_dir, &fx) == 0);
    hid_t h = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(h, "format_version", H5P_DEFAULT);
    long long v = 2;
    H5Awrite(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
    H5Fclose(h);
    llx_run r;
    llx_error err;
    CHECK(llx_run_read(dst_dir, &r, &err) == LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "version 2, this llx reads version 1: use a newer llx");
    llx_run_free(&r);
}

static void test_find(void)
{
    char **dirs;
    size_t n;
    llx_error err;
    char readme[4200];
    fixture_text(fixture_path(readme, sizeof readme, "%s/README.md", root), "not a run\n");
    const char *args[] = {root};
    CHECK(llx_runs_find(args, 1, &dirs, &n, &err) == LLX_OK);
    CHECK_MSG(n == 9, "found %zu runs", n);       /* cut/ holds no run itself (cut/x is two levels down) */
    CHECK(n > 0 && strstr(dirs[0], "q-cbam-s1")); /* sorted by name */
    llx_runs_find_free(dirs, n);
    const char *two[] = {at("q-llam-s2"), readme};
    CHECK(llx_runs_find(two, 2, &dirs, &n, &err) == LLX_OK && n == 1); /* README.md skipped */
    llx_runs_find_free(dirs, n);
    const char *missing[] = {at("nope")};
    CHECK(llx_runs_find(missing, 1, &dirs, &n, &err) == LLX_ERR_NOT_FOUND && n == 0);
    CHECK_CONTAINS(err.msg, "nope: no such file or folder");
}

/* Mean and sample std over the two seeds, by hand:
 *   none acc 0.60 0.64 -> 0.62, std sqrt(2 * 0.02^2 / 1) = 0.0282843;  f1 0.50 0.54 -> 0.52, 0.0282843
 *   llam acc 0.70 0.66 -> 0.68, 0.0282843;                             f1 0.61 0.63 -> 0.62, 0.0141421
 *   abaw = 0.67 f1 + 0.33 acc: none 0.5530, llam 0.6398; neutral accuracy none 0.72, llam 0.78 */
static void test_group(void)
{
    const char *names[] = {"q-none-s1", "q-llam-s1", "q-none-s2", "q-llam-s2", "q-se-s1", "q-text"};
    llx_run runs[6];
    bool use[6];
    for (int i = 0; i < 6; i++) {
        llx_run_read(at(names[i]), &runs[i], NULL);
        use[i] = runs[i].state == LLX_RUN_FINISHED;
    }
    CHECK(llx_runs_split(runs, use, 6, LLX_SPLIT_AUTO) == LLX_SPLIT_TEST);
    CHECK(llx_runs_split(runs, NULL, 5, LLX_SPLIT_AUTO) == LLX_SPLIT_VAL); /* the running one has no /test */
    llx_run_group *g;
    size_t ng;
    llx_error err;
    CHECK(llx_runs_group(runs, use, 6, LLX_SPLIT_TEST, true, &g, &ng, &err) == LLX_OK);
    CHECK(ng == 2);
    if (ng == 2) {
        CHECK(strcmp(g[0].key, "attention=none") == 0 && strcmp(g[1].key, "attention=llam") == 0);
        CHECK(g[0].n_runs == 2 && g[0].runs[0] == 0 && g[0].runs[1] == 2);
        CHECK_NEAR(g[0].mean[LLX_SCORE_ACCURACY], 0.62, 1e-12);
        CHECK_NEAR(g[0].std[LLX_SCORE_ACCURACY], 0.0282843, 1e-6);
        CHECK_NEAR(g[0].mean[LLX_SCORE_MACRO_F1], 0.52, 1e-12);
        CHECK_NEAR(g[0].mean[LLX_SCORE_ABAW], 0.553, 1e-12);
        CHECK_NEAR(g[1].mean[LLX_SCORE_ACCURACY], 0.68, 1e-12);
        CHECK_NEAR(g[1].std[LLX_SCORE_MACRO_F1], 0.0141421, 1e-6);
        CHECK_NEAR(g[1].mean[LLX_SCORE_ABAW], 0.6398, 1e-12);
        CHECK_NEAR(g[0].mean[LLX_SCORE_CLASS0], 0.72, 1e-12);
        CHECK_NEAR(g[1].mean[LLX_SCORE_CLASS0], 0.78, 1e-12);
        CHECK(g[0].best_epoch_min == 8 && g[1].best_epoch_max == 9);
    }
    llx_runs_group_free(g, ng);
    CHECK(llx_runs_group(runs, use, 6, LLX_SPLIT_TEST, false, &g, &ng, &err) == LLX_OK && ng == 4);
    if (ng == 4) CHECK(g[1].n_runs == 1 && g[1].std[LLX_SCORE_ACCURACY] == 0);
    llx_runs_group_free(g, ng);
    for (int i = 0; i < 6; i++)
        llx_run_free(&runs[i]);
}

/* ---- llx compare ---- */

#define LLX LLX_BINARY_DIR "/llx"

static void test_compare_csv(void)
{
    char *out = capture("%s compare %s --format csv --baseline attention=none 2>&1", LLX, root);
    csv c;
    csv_parse(&c, out);
    CHECK_MSG(c.n_lines == 1 + 2 + 5, "%d lines:\n%s", c.n_lines,
              out); /* header, 2 configurations, 5 others */
    CHECK(c.n_lines > 0 &&
          strncmp(out, "attention,n,params,macs,best_epoch,accuracy,accuracy_std,", 57) == 0);
    int none = csv_row(&c, "attention", "none"), llam = csv_row(&c, "attention", "llam");
    CHECK(none > 0 && llam > 0);
    CHECK_NEAR(csv_num(&c, none, "accuracy"), 62.0, 1e-9);
    CHECK_NEAR(csv_num(&c, none, "accuracy_std"), 2.8284, 1e-9);
    CHECK_NEAR(csv_num(&c, llam, "macro_f1_std"), 1.4142, 1e-9);
    CHECK_NEAR(csv_num(&c, llam, "abaw"), 63.98, 1e-9);
    CHECK_NEAR(csv_num(&c, llam, "acc_neutral"), 78.0, 1e-9);
    CHECK_NEAR(csv_num(&c, llam, "n"), 2, 0);
    CHECK_NEAR(csv_num(&c, none, "params"), 11176512, 0);
    CHECK_NEAR(csv_num(&c, llam, "delta_accuracy"), 6.0, 1e-9);
    CHECK_NEAR(csv_num(&c, llam, "delta_macro_f1"), 10.0, 1e-9);
    CHECK_NEAR(csv_num(&c, none, "delta_accuracy"), 0.0, 1e-9);
    CHECK(llam > 0 &&
          strcmp(csv_get(&c, llam, "best"), "accuracy;macro_f1;abaw;neu;ang;dis;fea;hap;sad;sur") == 0);
    CHECK(none > 0 && strcmp(csv_get(&c, none, "best"), "") == 0);
    CHECK(llam > 0 && strcmp(csv_get(&c, llam, "commit"), "3f2a9c1d*") == 0);
    CHECK(none > 0 && strcmp(csv_get(&c, none, "commit"), "3f2a9c1d") == 0);
    CHECK(llam > 0 && strcmp(csv_get(&c, llam, "split"), "test") == 0);
    CHECK(llam > 0 && strcmp(csv_get(&c, llam, "runs"), "q-llam-s1;q-llam-s2") == 0);
    /* the others: state and a note naming the path and the reason */
    int trunc = csv_row(&c, "runs", "q-truncated"), failed = csv_row(&c, "runs", "q-cbam-s1");
    int running = csv_row(&c, "runs", "q-se-s1"), text = csv_row(&c, "runs", "q-text");
    CHECK(trunc > 0 && strcmp(csv_get(&c, trunc, "state"), "broken") == 0);
    if (trunc > 0) {
        CHECK_CONTAINS(csv_get(&c, trunc, "note"), at("q-truncated/run.h5"));
        CHECK_CONTAINS(csv_get(&c, trunc, "note"), "truncated or damaged");
    }
    CHECK(failed > 0 && strcmp(csv_get(&c, failed, "state"), "failed") == 0 &&
          strcmp(csv_get(&c, failed, "attention"), "cbam") == 0);
    if (failed > 0) CHECK_CONTAINS(csv_get(&c, failed, "note"), "out of memory in stage3.block0.attn");
    CHECK(running > 0 && strcmp(csv_get(&c, running, "state"), "running") == 0);
    if (text > 0) CHECK_CONTAINS(csv_get(&c, text, "note"), "not an HDF5 file");
    free(c.text);
    free(out);
}

static void test_compare_table(void)
{
    char *out = capture("%s compare %s 2>&1", LLX, root);
    CHECK_CONTAINS(out,
                   "llx compare: 4 runs in 2 configurations, mean ± std over seeds; scores (%) from /test");
    CHECK_CONTAINS(out, "68.00 ± 2.83*");
    CHECK_CONTAINS(out, "62.00 ± 2.83 ");
    CHECK_CONTAINS(out, "* best value in its column");
    /* one line per run outside the table, naming its path and the reason */
    const struct {
        const char *dir, *state, *reason;
    } others[] = {
        {"q-truncated/run.h5", "broken", "truncated or damaged HDF5 file"},
        {"q-foreign/run.h5", "broken", "not an llx run record"},
        {"q-text/run.h5", "broken", "not an HDF5 file"},
        {"q-cbam-s1", "failed", "failed after epoch 2 of 10: out of memory in stage3.block0.attn"},
        {"q-se-s1", "running", "still running, epoch 3 of 10"},
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        const char *line = strstr(out, at(others[i].dir));
        CHECK_MSG(line, "no line for %s in:\n%s", others[i].dir, out);
        if (!line) continue;
        const char *start = line;
        while (start > out && start[-1] != '\n')
            start--;
        const char *end = strchr(line, '\n');
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s", (int)((end ? end : line + strlen(line)) - start), start);
        CHECK_CONTAINS(buf, others[i].state);
        CHECK_CONTAINS(buf, others[i].reason);
    }
    /* aligned: the last column (commit) starts at the same place in the header, the rule
     * and a row (counted in characters: '±' is two bytes) */
    const char *hdr = strstr(out, "\nattention");
    CHECK(hdr != NULL);
    if (hdr) {
        hdr++;
        const char *rule = strchr(hdr, '\n') + 1, *row = strchr(rule, '\n') + 1;
        size_t at_header = 0, at_rule = 0, at_row = 0;
        for (const char *p = hdr; p < strstr(hdr, "commit"); p++)
            at_header += ((unsigned char)*p & 0xC0) != 0x80;
        for (const char *p = rule; p < strchr(rule, '\n') && *p; p++)
            at_rule = (*p == ' ' ? (size_t)(p - rule) + 1 : at_rule);
        for (const char *p = row; p < strstr(row, "3f2a9c1d"); p++)
            at_row += ((unsigned char)*p & 0xC0) != 0x80;
        CHECK_MSG(at_header == at_rule && at_rule == at_row, "commit at %zu, %zu, %zu", at_header, at_rule,
                  at_row);
    }
    free(out);
    /* per run, sorted by a column, with a baseline */
    out = capture("%s compare %s --runs --sort params --baseline attention=none 2>&1", LLX, root);
    CHECK_CONTAINS(out, "llx compare: 4 runs; scores");
    CHECK_CONTAINS(out, "seed");
    CHECK_CONTAINS(out, "Δ acc");
    CHECK_CONTAINS(out, "+10.00"); /* llam seed 1 against none seed 1: 70 - 60 */
    CHECK_CONTAINS(out, "+2.00");  /* llam seed 2 against none seed 2: 66 - 64 */
    const char *n1 = strstr(out, "\nnone"), *l1 = strstr(out, "\nllam");
    CHECK(n1 && l1 && n1 < l1);
    free(out);
    out = capture("%s compare %s --sort accuracy 2>&1", LLX, root);
    n1 = strstr(out, "\nnone");
    l1 = strstr(out, "\nllam");
    CHECK(n1 && l1 && l1 < n1);
    free(out);
}

static void test_compare_markdown_latex(void)
{
    char *out = capture("%s compare %s --format markdown 2>/dev/null", LLX, root);
    CHECK_CONTAINS(out, "| attention | n   | params (M) |");
    CHECK_CONTAINS(out, "| --------- | --: | ---------: |");
    CHECK_CONTAINS(out, "| **68.00 ± 2.83** |");
    CHECK_CONTAINS(out, "| llam      |   2 |     11.180 |");
    CHECK_CONTAINS(out, "- broken: ");
    CHECK_CONTAINS(out, "Best value per column in **bold**");
    free(out);
    out = capture("%s compare %s --format latex --baseline attention=none 2>/dev/null", LLX, root);
    CHECK_CONTAINS(out, "\\begin{tabular}{lrrrrrrrrrrrrrrrrrl}");
    CHECK_CONTAINS(out, "\\toprule\nattention & $n$ & params (M) & MACs (G) & best ep. & accuracy (\\%)");
    CHECK_CONTAINS(out, "\\midrule\nnone & 2 & 11.177 & 1.820 & 8 & $62.00 \\pm 2.83$");
    CHECK_CONTAINS(out, "$\\mathbf{68.00 \\pm 2.83}$");
    CHECK_CONTAINS(out, " & +6.00 & ");
    CHECK_CONTAINS(out, " & -- & ");
    CHECK_CONTAINS(out, "3f2a9c1d* \\\\\n\\bottomrule\n\\end{tabular}\n");
    CHECK_CONTAINS(out, "% broken: ");
    free(out);
}

static void test_compare_errors(void)
{
    char *out = capture("%s compare %s --baseline attention=gcn 2>&1; echo rc=$?", LLX, root);
    CHECK_CONTAINS(out, "--baseline attention=gcn: no compared run has it (values: llam, none)");
    CHECK_CONTAINS(out, "rc=1");
    free(out);
    out = capture("%s compare %s --sort acuracy 2>&1; echo rc=$?", LLX, root);
    CHECK_CONTAINS(out, "did you mean 'accuracy'?");
    free(out);
    out = capture("%s compare %s --format html 2>&1; echo rc=$?", LLX, root);
    CHECK_CONTAINS(out, "expected table, markdown, csv or latex");
    CHECK_CONTAINS(out, "rc=2");
    free(out);
    out = capture("%s compare %s %s 2>&1; echo rc=$?", LLX, at("q-text"), at("q-se-s1"));
    CHECK_CONTAINS(out, "none of the 2 runs has scores to compare yet");
    CHECK_CONTAINS(out, "not an HDF5 file");
    CHECK_CONTAINS(out, "rc=1");
    free(out);
}

/* ---- plots ---- */

static void check_png(const char *path, long min_size)
{
    CHECK_MSG(is_png(path), "%s is not a PNG", path);
    CHECK_MSG(file_size(path) > min_size, "%s: %ld bytes", path, file_size(path));
}

static void test_plots(void)
{
    llx_run r;
    llx_error err;
    CHECK(llx_run_read(at("q-llam-s1"), &r, &err) == LLX_OK);
    CHECK(llx_plot_run(&r, r.dir, &err) == LLX_OK);
    char path[4200];
    check_png(fixture_path(path, sizeof path, "%s/curves.png", r.dir), 20000);
    check_png(fixture_path(path, sizeof path, "%s/confusion.png", r.dir), 20000);
    CHECK(llx_plot_curves(&r, "/nonexistent/folder/curves.png", &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "/nonexistent/folder/curves.png: cannot write the PNG");
    llx_run_free(&r);
    /* a running run: curves of its 3 epochs, the best validation epoch's confusion */
    CHECK(llx_run_read(at("q-se-s1"), &r, &err) == LLX_OK);
    CHECK(llx_plot_run(&r, r.dir, &err) == LLX_OK);
    check_png(fixture_path(path, sizeof path, "%s/confusion.png", r.dir), 10000);
    llx_run_free(&r);
    const char *series[] = {"a", "b"}, *labels[] = {"x"};
    double v[2] = {1, 2};
    llx_plot_bars_spec bad = {.series = series, .n_series = 0, .labels = labels, .n_groups = 1, .values = v};
    CHECK(llx_plot_bars(fixture_path(path, sizeof path, "%s/bad.png", root), &bad, &err) == LLX_ERR_INVALID);
    /* llx compare --plot and llx plot */
    char *out = capture("%s compare %s --plot %s/scores.png >/dev/null 2>&1; echo rc=$?", LLX, root, root);
    CHECK_CONTAINS(out, "rc=0");
    check_png(fixture_path(path, sizeof path, "%s/scores.png", root), 20000);
    free(out);
    out = capture("%s plot %s 2>&1; echo rc=$?", LLX, at("q-none-s2"));
    CHECK_CONTAINS(out, "q-none-s2/curves.png");
    CHECK_CONTAINS(out, "rc=0");
    check_png(fixture_path(path, sizeof path, "%s/confusion.png", at("q-none-s2")), 20000);
    free(out);
    out = capture("%s plot %s 2>&1; echo rc=$?", LLX, at("q-truncated"));
    CHECK_CONTAINS(out, "truncated or damaged");
    CHECK_CONTAINS(out, "rc=1");
    free(out);
}

int main(int argc, char **argv)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (argc == 3 && strcmp(argv[1], "--fixtures") == 0) return run_fixture_suite(argv[2]) ? 1 : 0;
    root = fixture_tmpdir("llx_compare");
    if (!root || run_fixture_suite(root) != 0) {
        fprintf(stderr, "cannot write the fixture runs\n");
        return 1;
    }
    RUN(test_read_finished);
    RUN(test_read_states);
    RUN(test_read_broken);
    RUN(test_read_cut_everywhere);
    RUN(test_find);
    RUN(test_group);
    RUN(test_compare_csv);
    RUN(test_compare_table);
    RUN(test_compare_markdown_latex);
    RUN(test_compare_errors);
    RUN(test_plots);
    if (getenv("LLX_KEEP_FIXTURES"))
        printf("fixtures kept in %s\n", root);
    else
        fixture_rmtree(root);
    free(root);
    return check_report();
}
