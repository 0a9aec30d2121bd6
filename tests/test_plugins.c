/* test_plugins.c: the plugin loader (core/src/plugin.c).
 *
 * Every way a plugin can fail to load must give a message that names the
 * path and the reason: a missing file, a file that is not a shared object
 * (dlerror() text), no llx_plugin_entry, another plugin ABI, a layer name
 * already taken, the same plugin twice. Then the search order (build folder,
 * $LLX_PLUGIN_PATH, extra folders), llx_plugins_load_all on the build's
 * plugins, and a network using the template's channel_scale layer that
 * builds, runs forward and backward, and has the right gradient.
 *
 * The broken plugins come from tests/plugins, built into LLX_TEST_PLUGIN_DIR
 * (never the build's plugin folder, which llx_plugins_load_all scans). */
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "llx/llx.h"

#ifndef LLX_TEST_PLUGIN_DIR
#error "LLX_TEST_PLUGIN_DIR must name the folder of the test plugins (tests/plugins/CMakeLists.txt)"
#endif

/* A registry and a plugin set; free the registry first (it points into the plugins). */
typedef struct fixture {
    llx_registry *reg;
    llx_plugins *plugins;
    llx_error err;
} fixture;

static bool fixture_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    bool ok =
        llx_registry_create(&f->reg, &f->err) == LLX_OK && llx_plugins_create(&f->plugins, &f->err) == LLX_OK;
    CHECK_MSG(ok, "%s", f->err.msg);
    return ok;
}

static void fixture_close(fixture *f)
{
    llx_registry_free(f->reg);
    llx_plugins_free(f->plugins);
}

static const char *plugin_path(char *buf, size_t cap, const char *dir, const char *stem)
{
    snprintf(buf, cap, "%s/llx_%s.so", dir, stem);
    return buf;
}

/* Whether the dynamic loader still has path mapped (it must not once nothing uses it). */
static bool still_mapped(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

/* Loads path, expects a refusal, returns the message (in f->err). */
static const char *load_fails(fixture *f, const char *path)
{
    llx_error_clear(&f->err);
    llx_status st = llx_plugin_load(f->plugins, f->reg, path, &f->err);
    CHECK_MSG(st == LLX_ERR_PLUGIN, "%s: status %d, message '%s'", path, (int)st, f->err.msg);
    return f->err.msg;
}

static void test_missing_file(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    const char *path = LLX_TEST_PLUGIN_DIR "/llx_not_there.so";
    const char *msg = load_fails(&f, path);
    CHECK_CONTAINS(msg, path);
    CHECK_CONTAINS(msg, "no such file");
    CHECK(llx_plugins_count(f.plugins) == 0);
    fixture_close(&f);
}

static void test_not_a_shared_object(void)
{
    char dir[] = "/tmp/llx_test_plugins_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512];
    plugin_path(path, sizeof path, dir, "text");
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    fputs("This is a text file, not an ELF shared object: dlopen() must refuse it\n"
          "and the loader must pass dlerror()'s reason on.\n",
          fp);
    fclose(fp);
    fixture f;
    if (fixture_open(&f)) {
        const char *msg = load_fails(&f, path);
        CHECK_CONTAINS(msg, path);
        CHECK_CONTAINS(msg, "cannot load");
        CHECK_CONTAINS(msg, "invalid ELF header"); /* glibc's dlerror() text */
        CHECK(llx_plugins_count(f.plugins) == 0);
        fixture_close(&f);
    }
    unlink(path);
    rmdir(dir);
}

static void test_no_entry_symbol(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    char path[512];
    const char *msg = load_fails(&f, plugin_path(path, sizeof path, LLX_TEST_PLUGIN_DIR, "no_entry"));
    CHECK_CONTAINS(msg, path);
    CHECK_CONTAINS(msg, LLX_PLUGIN_ENTRY_NAME);
    CHECK_CONTAINS(msg, "LLX_PLUGIN("); /* the hint */
    CHECK(llx_plugins_count(f.plugins) == 0);
    fixture_close(&f);
}

static void test_abi_mismatch(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    char path[512], theirs[32], ours[32];
    const char *msg = load_fails(&f, plugin_path(path, sizeof path, LLX_TEST_PLUGIN_DIR, "abi_next"));
    snprintf(theirs, sizeof theirs, "ABI %d", LLX_ABI_VERSION + 1);
    snprintf(ours, sizeof ours, "ABI %d", LLX_ABI_VERSION);
    CHECK_CONTAINS(msg, path);
    CHECK_CONTAINS(msg, theirs);
    CHECK_CONTAINS(msg, ours);
    CHECK_CONTAINS(msg, "rebuild");
    CHECK_CONTAINS(msg, "abi_next");
    CHECK_CONTAINS(msg, "9.9.9");
    CHECK_MSG(!strstr(msg, "must not be called"), "register ran: %s", msg);
    CHECK(llx_plugins_count(f.plugins) == 0);
    fixture_close(&f);
}

static void test_duplicate_layer_of_a_plugin(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    char real[512], dup[512];
    plugin_path(real, sizeof real, LLX_BUILD_PLUGIN_DIR, "basic_block");
    CHECK_MSG(llx_plugin_load(f.plugins, f.reg, real, &f.err) == LLX_OK, "%s", f.err.msg);
    const char *msg = load_fails(&f, plugin_path(dup, sizeof dup, LLX_TEST_PLUGIN_DIR, "dup_block"));
    CHECK_CONTAINS(msg, dup);
    CHECK_CONTAINS(msg, "duplicate layer name 'basic_block'");
    CHECK_CONTAINS(msg, "'basic_block'"); /* the first owner */
    CHECK_CONTAINS(msg, "'dup_block'");   /* the second */
    /* The refused plugin is not listed and the real layer is untouched. */
    CHECK(llx_plugins_count(f.plugins) == 1);
    const llx_layer_desc *l = llx_registry_layer(f.reg, "basic_block");
    CHECK(l && l->doc && strncmp(l->doc, "test:", 5) != 0);
    CHECK(still_mapped(dup)); /* its register ran: the registry may point into it */
    fixture_close(&f);
    CHECK_MSG(!still_mapped(dup), "%s stays mapped after llx_plugins_free", dup);
    CHECK(!still_mapped(real));
}

static void test_duplicate_builtin_layer(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    char path[512];
    const char *msg = load_fails(&f, plugin_path(path, sizeof path, LLX_TEST_PLUGIN_DIR, "dup_conv2d"));
    CHECK_CONTAINS(msg, path);
    CHECK_CONTAINS(msg, "duplicate layer name 'conv2d'");
    CHECK_CONTAINS(msg, "'builtin'");
    CHECK_CONTAINS(msg, "'dup_conv2d'");
    CHECK(llx_plugins_count(f.plugins) == 0);
    fixture_close(&f);
}

static void test_same_plugin_twice(void)
{
    fixture f;
    if (!fixture_open(&f)) return;
    char path[512], again[512];
    plugin_path(path, sizeof path, LLX_BUILD_PLUGIN_DIR, "template");
    CHECK_MSG(llx_plugin_load(f.plugins, f.reg, path, &f.err) == LLX_OK, "%s", f.err.msg);
    const char *msg = load_fails(&f, path);
    CHECK_CONTAINS(msg, "already loaded from");
    CHECK_CONTAINS(msg, "'template'");
    CHECK_CONTAINS(msg, path);
    /* The same file spelled another way is the same plugin, named by its first path. */
    snprintf(again, sizeof again, "%s/./llx_template.so", LLX_BUILD_PLUGIN_DIR);
    msg = load_fails(&f, again);
    CHECK_CONTAINS(msg, again);
    CHECK_CONTAINS(msg, "already loaded from");
    CHECK_CONTAINS(strstr(msg, "already loaded from"), path);
    CHECK(llx_plugins_count(f.plugins) == 1);
    CHECK(llx_registry_layer(f.reg, "channel_scale") != NULL);
    /* By name, an already loaded plugin is not an error. */
    CHECK_MSG(llx_plugin_load_by_name(f.plugins, f.reg, "template", NULL, 0, &f.err) == LLX_OK, "%s",
              f.err.msg);
    CHECK(llx_plugins_count(f.plugins) == 1);
    fixture_close(&f);
    /* The refusals dropped the references their dlopen took. */
    CHECK_MSG(!still_mapped(path), "%s stays mapped after llx_plugins_free", path);
}

/* A bare file name is a file in the current folder, as for stat(), not a
 * library name that dlopen() would look up in the library path. */
static void test_bare_file_name(void)
{
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(LLX_BUILD_PLUGIN_DIR) == 0);
    fixture f;
    if (fixture_open(&f)) {
        CHECK_MSG(llx_plugin_load(f.plugins, f.reg, "llx_template.so", &f.err) == LLX_OK, "%s", f.err.msg);
        CHECK(llx_registry_layer(f.reg, "channel_scale") != NULL);
        fixture_close(&f);
    }
    CHECK(chdir(cwd) == 0);
}

/* Loads `order` by name and returns the version of the copy that won ("path", "extra"). */
static const char *order_winner(fixture *f, const char *const *extra, int n_extra, const char **path)
{
    if (llx_plugin_load_by_name(f->plugins, f->reg, "order", extra, n_extra, &f->err) != LLX_OK) {
        CHECK_MSG(0, "%s", f->err.msg);
        return "";
    }
    CHECK(llx_plugins_count(f->plugins) == 1);
    const llx_plugin_info *info = llx_plugins_at(f->plugins, 0, path);
    return info ? info->version : "";
}

static void test_search_order(void)
{
    const char *path_dir = LLX_TEST_PLUGIN_DIR "/path_dir", *extra_dir = LLX_TEST_PLUGIN_DIR "/extra_dir";
    const char *extra[] = {extra_dir};
    const char *found = NULL;
    fixture f;

    /* $LLX_PLUGIN_PATH (empty entries and missing folders skipped) before extra_dirs. */
    setenv("LLX_PLUGIN_PATH", "/nonexistent/llx_a::" LLX_TEST_PLUGIN_DIR "/path_dir", 1);
    if (!fixture_open(&f)) return;
    CHECK(strcmp(order_winner(&f, extra, 1, &found), "path") == 0);
    CHECK_CONTAINS(found, path_dir);
    fixture_close(&f);

    /* Without it, extra_dirs are searched. */
    unsetenv("LLX_PLUGIN_PATH");
    if (!fixture_open(&f)) return;
    CHECK(strcmp(order_winner(&f, extra, 1, &found), "extra") == 0);
    CHECK_CONTAINS(found, extra_dir);
    fixture_close(&f);

    /* The build's plugin folder comes first. */
    setenv("LLX_PLUGIN_PATH", LLX_TEST_PLUGIN_DIR "/path_dir", 1);
    if (!fixture_open(&f)) return;
    CHECK_MSG(llx_plugin_load_by_name(f.plugins, f.reg, "basic_block", extra, 1, &f.err) == LLX_OK, "%s",
              f.err.msg);
    CHECK(llx_plugins_count(f.plugins) == 1);
    if (llx_plugins_count(f.plugins) == 1) {
        llx_plugins_at(f.plugins, 0, &found);
        CHECK_CONTAINS(found, LLX_BUILD_PLUGIN_DIR "/llx_basic_block.so");
    }
    fixture_close(&f);

    /* Found nowhere: the message lists every folder searched, in order. */
    setenv("LLX_PLUGIN_PATH", "/nonexistent/llx_a:/nonexistent/llx_b", 1);
    const char *nowhere[] = {"/nonexistent/llx_extra"};
    if (!fixture_open(&f)) return;
    CHECK(llx_plugin_load_by_name(f.plugins, f.reg, "no_such_block", nowhere, 1, &f.err) == LLX_ERR_PLUGIN);
    const char *msg = f.err.msg;
    CHECK_CONTAINS(msg, "'no_such_block'");
    CHECK_CONTAINS(msg, "llx_no_such_block.so");
    CHECK_CONTAINS(msg, LLX_BUILD_PLUGIN_DIR);
    CHECK_CONTAINS(msg, "/nonexistent/llx_a");
    CHECK_CONTAINS(msg, "/nonexistent/llx_b");
    CHECK_CONTAINS(msg, "/nonexistent/llx_extra");
    CHECK_CONTAINS(msg, "LLX_PLUGIN_PATH"); /* the hint */
    const char *a = strstr(msg, LLX_BUILD_PLUGIN_DIR), *b = strstr(msg, "/nonexistent/llx_a"),
               *c = strstr(msg, "/nonexistent/llx_b"), *d = strstr(msg, "/nonexistent/llx_extra");
    CHECK_MSG(a && b && c && d && a < b && b < c && c < d, "folders out of order: %s", msg);
    CHECK(llx_plugins_count(f.plugins) == 0);
    fixture_close(&f);
    unsetenv("LLX_PLUGIN_PATH");
}

static void test_load_all(void)
{
    unsetenv("LLX_PLUGIN_PATH");
    fixture f;
    if (!fixture_open(&f)) return;
    CHECK_MSG(llx_plugins_load_all(f.plugins, f.reg, NULL, 0, &f.err) == LLX_OK, "%s", f.err.msg);
    size_t n = llx_plugins_count(f.plugins);
    CHECK(n >= 2);
    bool saw_block = false, saw_template = false;
    for (size_t i = 0; i < n; i++) {
        const char *path;
        const llx_plugin_info *info = llx_plugins_at(f.plugins, i, &path);
        CHECK_MSG(strncmp(path, LLX_BUILD_PLUGIN_DIR "/", strlen(LLX_BUILD_PLUGIN_DIR) + 1) == 0, "%s", path);
        saw_block |= strcmp(info->name, "basic_block") == 0;
        saw_template |= strcmp(info->name, "template") == 0;
    }
    CHECK(saw_block && saw_template);
    const char *owner = NULL;
    for (size_t i = 0; i < llx_registry_layer_count(f.reg); i++) {
        const char *o;
        if (strcmp(llx_registry_layer_at(f.reg, i, &o)->name, "channel_scale") == 0) owner = o;
    }
    CHECK(llx_registry_layer(f.reg, "basic_block") != NULL);
    CHECK(owner && strcmp(owner, "template") == 0);
    /* Loading all again loads nothing new. */
    CHECK_MSG(llx_plugins_load_all(f.plugins, f.reg, NULL, 0, &f.err) == LLX_OK, "%s", f.err.msg);
    CHECK(llx_plugins_count(f.plugins) == n);
    /* A folder of broken plugins stops load_all at the first one (sorted), naming it. */
    const char *broken[] = {LLX_TEST_PLUGIN_DIR};
    CHECK(llx_plugins_load_all(f.plugins, f.reg, broken, 1, &f.err) == LLX_ERR_PLUGIN);
    CHECK_CONTAINS(f.err.msg, LLX_TEST_PLUGIN_DIR "/llx_abi_next.so");
    CHECK(llx_plugins_count(f.plugins) == n);
    fixture_close(&f);
}

/* conv2d -> channel_scale [-> global_avgpool -> linear], input (3, 8, 8). */
static const char *const net_yaml = "model:\n"
                                    "  input: [3, 8, 8]\n"
                                    "  layers:\n"
                                    "    - {type: conv2d, name: conv, out: 4}\n"
                                    "    - {type: channel_scale, name: gate, init: 0.25}\n"
                                    "    - {type: global_avgpool}\n"
                                    "    - {type: linear, name: fc, out: 3}\n";

static void test_channel_scale_network(void)
{
    unsetenv("LLX_PLUGIN_PATH");
    fixture f;
    if (!fixture_open(&f)) return;
    llx_doc *doc = NULL;
    llx_graph *g = NULL;
    llx_backend *be = NULL;
    llx_node_id logits, loss;
    CHECK_MSG(llx_plugin_load_by_name(f.plugins, f.reg, "template", NULL, 0, &f.err) == LLX_OK, "%s",
              f.err.msg);

    /* The two first layers alone: 3*4*9 conv weights + 4 biases + 4 gates. */
    const char *short_yaml = "model:\n  input: [3, 8, 8]\n  layers:\n"
                             "    - {type: conv2d, out: 4}\n    - {type: channel_scale}\n";
    CHECK_MSG(llx_doc_parse("short.yaml", short_yaml, NULL, 0, &doc, &f.err) == LLX_OK, "%s", f.err.msg);
    if (doc) {
        CHECK_MSG(llx_model_build(f.reg, llx_cfg_get(llx_doc_root(doc), "model"), 2, LLX_F64, &g, &logits,
                                  &f.err) == LLX_OK,
                  "%s", f.err.msg);
        if (g) CHECK(llx_graph_param_count(g) == 3 * 4 * 9 + 4 + 4);
        llx_graph_free(g);
        llx_doc_free(doc);
        g = NULL;
        doc = NULL;
    }

    CHECK_MSG(llx_doc_parse("net.yaml", net_yaml, NULL, 0, &doc, &f.err) == LLX_OK, "%s", f.err.msg);
    if (!doc) goto done;
    const int64_t batch = 2;
    llx_status st =
        llx_model_build(f.reg, llx_cfg_get(llx_doc_root(doc), "model"), batch, LLX_F64, &g, &logits, &f.err);
    CHECK_MSG(st == LLX_OK, "%s", f.err.msg);
    if (st != LLX_OK) goto done;
    CHECK(llx_graph_param_count(g) == 116 + 4 * 3 + 3);
    llx_node_id gate = llx_graph_find(g, "gate.weight");
    CHECK(gate != LLX_NO_NODE);
    CHECK_MSG(llx_graph_add_loss(g, logits, NULL, 0, &loss, &f.err) == LLX_OK, "%s", f.err.msg);
    CHECK_MSG(llx_backend_cpu_create(1, &be, &f.err) == LLX_OK, "%s", f.err.msg);
    st = llx_graph_compile(g, be, 7, &f.err);
    CHECK_MSG(st == LLX_OK, "%s", f.err.msg);
    if (st != LLX_OK || gate == LLX_NO_NODE) goto done;

    double *w = llx_graph_value(g, gate)->data;
    for (int c = 0; c < 4; c++)
        CHECK_NEAR(w[c], 0.25, 0); /* init: 0.25 */
    llx_tensor *x = llx_graph_value(g, llx_graph_input_node(g));
    for (int64_t i = 0; i < llx_tensor_numel(x); i++)
        ((double *)x->data)[i] = sin(0.37 * (double)i);
    int32_t *labels = llx_graph_value(g, llx_graph_labels_node(g))->data;
    labels[0] = 2;
    labels[1] = 0;

    CHECK_MSG(llx_graph_forward(g, true, &f.err) == LLX_OK, "%s", f.err.msg);
    double l0 = *(double *)llx_graph_value(g, loss)->data;
    CHECK(isfinite(l0) && l0 > 0);
    CHECK(llx_graph_zero_grad(g, &f.err) == LLX_OK);
    CHECK_MSG(llx_graph_backward(g, loss, &f.err) == LLX_OK, "%s", f.err.msg);
    const double *dw = llx_graph_grad(g, gate)->data;

    /* The gate's gradient (derived from sigmoid and mul) against central differences. */
    const double h = 1e-6;
    double grad[4];
    memcpy(grad, dw, sizeof grad);
    for (int c = 0; c < 4; c++) {
        double keep = w[c], lp, lm;
        w[c] = keep + h;
        CHECK(llx_graph_forward(g, true, &f.err) == LLX_OK);
        lp = *(double *)llx_graph_value(g, loss)->data;
        w[c] = keep - h;
        CHECK(llx_graph_forward(g, true, &f.err) == LLX_OK);
        lm = *(double *)llx_graph_value(g, loss)->data;
        w[c] = keep;
        double fd = (lp - lm) / (2 * h);
        CHECK_MSG(fabs(fd - grad[c]) <= 1e-6 * fmax(1.0, fabs(fd)),
                  "gate %d: backward %.10g, finite difference %.10g", c, grad[c], fd);
    }
    printf("     channel_scale network: loss %.6f, %lld parameters, d loss / d gate[0] %.6g\n", l0,
           (long long)llx_graph_param_count(g), grad[0]);

done:
    llx_graph_free(g);
    llx_backend_free(be);
    llx_doc_free(doc);
    fixture_close(&f);
}

int main(void)
{
    unsetenv("LLX_PLUGIN_PATH"); /* the tests set it where they need it */
    RUN(test_missing_file);
    RUN(test_not_a_shared_object);
    RUN(test_no_entry_symbol);
    RUN(test_abi_mismatch);
    RUN(test_duplicate_layer_of_a_plugin);
    RUN(test_duplicate_builtin_layer);
    RUN(test_same_plugin_twice);
    RUN(test_bare_file_name);
    RUN(test_search_order);
    RUN(test_load_all);
    RUN(test_channel_scale_network);
    return check_report();
}
