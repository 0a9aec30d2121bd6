/* test_golden.c: whole networks against PyTorch (tests/fixtures/golden, made by
 * tests/fixtures/make_golden.py). The network is built from the experiment
 * YAML, filled with the fixtures' deterministic values, and must give the same
 * train- and eval-mode logits, loss, BN running statistics and every parameter
 * gradient: max |llx - torch| / max |torch| < 1e-4 per tensor, in fp32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "golden_fill.h"
#include "h5read.h"
#include "llx/llx.h"
#include "llx_fixture.h"

#define REL_TOL 1e-4

typedef struct golden_case {
    const char *file;       /* under tests/fixtures/golden */
    const char *experiment; /* under experiments */
    const char *sets[4];
    int batch;
} golden_case;

/* max |a - b| / max |b|. */
static double rel_err(const float *a, const double *b, int64_t n, const int64_t *index)
{
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        double x = a[index ? index[i] : i];
        diff = fmax(diff, fabs(x - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return diff / scale;
}

static void check_tensor(h5file *f, const char *path, const float *ours, const char *what)
{
    int64_t n;
    double *ref = h5_read_f64(f, path, &n);
    CHECK_MSG(ref != NULL, "%s missing in fixture", path);
    if (!ref) return;
    double e = rel_err(ours, ref, n, NULL);
    CHECK_MSG(e < REL_TOL, "%s: relative error %.3g", what, e);
    free(ref);
}

/* Full gradients, or samples + l2, sum and probe_dot for large tensors. */
static int check_grads(llx_graph *g, h5file *f)
{
    int checked = 0;
    for (size_t i = 0; i < llx_graph_node_count(g); i++) {
        llx_node_id n = (llx_node_id)i;
        if (llx_graph_node_kind(g, n) != LLX_NODE_PARAM) continue;
        const char *name = llx_graph_node_name(g, n);
        const float *grad = llx_graph_grad(g, n)->data;
        int64_t numel = llx_tensor_numel(llx_graph_grad(g, n));
        char path[512];
        snprintf(path, sizeof path, "/grads/%s/full", name);
        if (h5_exists(f, path)) {
            check_tensor(f, path, grad, name);
        } else {
            int64_t ns, ni;
            snprintf(path, sizeof path, "/grads/%s/sample", name);
            double *sample = h5_read_f64(f, path, &ns);
            snprintf(path, sizeof path, "/grads/%s/sample_index", name);
            double *index = h5_read_f64(f, path, &ni);
            CHECK_MSG(sample && index && ns == ni, "%s: samples missing", name);
            int64_t *idx = malloc((size_t)ni * sizeof *idx);
            for (int64_t k = 0; index && k < ni; k++) idx[k] = (int64_t)index[k];
            if (sample && index) CHECK_MSG(rel_err(grad, sample, ns, idx) < REL_TOL, "%s: sampled gradient", name);
            free(idx);
            free(sample);
            free(index);
        }
        snprintf(path, sizeof path, "/grads/%s", name);
        char probe_name[512];
        snprintf(probe_name, sizeof probe_name, "%s#probe", name);
        double l2 = 0, sum = 0, probe = 0;
        for (int64_t k = 0; k < numel; k++) {
            l2 += (double)grad[k] * grad[k];
            sum += grad[k];
            probe += grad[k] * golden_v(probe_name, (uint64_t)k);
        }
        double ref_l2 = h5_attr_f64(f, path, "l2");
        CHECK_MSG(fabs(sqrt(l2) - ref_l2) <= REL_TOL * ref_l2, "%s: l2 %.8g vs %.8g", name, sqrt(l2), ref_l2);
        CHECK_MSG(fabs(probe - h5_attr_f64(f, path, "probe_dot")) <= REL_TOL * ref_l2 * sqrt((double)numel),
                  "%s: probe_dot %.8g vs %.8g", name, probe, h5_attr_f64(f, path, "probe_dot"));
        CHECK_MSG(numel == (int64_t)h5_attr_f64(f, path, "numel"), "%s: numel %lld", name, (long long)numel);
        checked++;
    }
    return checked;
}

static void run_case(const golden_case *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/golden/%s", LLX_SOURCE_DIR, c->file);
    h5file *f = h5_open(path);
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    llx_error err = {0};
    llx_graph *g;
    llx_backend *be;
    llx_node_id logits, loss;
    int n_sets = 0;
    while (n_sets < 4 && c->sets[n_sets]) n_sets++;
    llx_registry *reg = fixture_registry_open(&err);
    CHECK_MSG(reg != NULL, "%s", err.msg);
    llx_status st = reg ? fixture_build_experiment(reg, c->experiment, c->sets, n_sets, c->batch, &g, &logits, &err)
                        : LLX_ERR_PLUGIN;
    CHECK_MSG(st == LLX_OK, "%s", err.msg);
    if (st != LLX_OK) {
        fixture_registry_close(reg);
        h5_close(f);
        return;
    }
    CHECK(llx_graph_param_count(g) == (int64_t)h5_attr_f64(f, "/params", "count"));
    CHECK(llx_graph_add_loss(g, logits, NULL, 0, &loss, &err) == LLX_OK);
    CHECK(llx_backend_cpu_create(2, &be, &err) == LLX_OK);
    CHECK_MSG(llx_graph_compile(g, be, 1, &err) == LLX_OK, "%s", err.msg);
    golden_fill_graph(g);
    llx_tensor *x = llx_graph_value(g, llx_graph_input_node(g));
    golden_fill_f32(x->data, (uint64_t)llx_tensor_numel(x), "input", 1, GOLDEN_INPUT);
    llx_tensor *labels = llx_graph_value(g, llx_graph_labels_node(g));
    int32_t k = (int32_t)llx_graph_node_shape(g, logits).dim[1];
    for (int64_t i = 0; i < c->batch; i++) ((int32_t *)labels->data)[i] = golden_label(i, k);

    CHECK_MSG(llx_graph_forward(g, false, &err) == LLX_OK, "%s", err.msg);
    check_tensor(f, "/logits_eval", llx_graph_value(g, logits)->data, "eval logits");
    CHECK_MSG(llx_graph_forward(g, true, &err) == LLX_OK, "%s", err.msg);
    check_tensor(f, "/logits", llx_graph_value(g, logits)->data, "train logits");
    check_tensor(f, "/loss", llx_graph_value(g, loss)->data, "loss");
    check_tensor(f, "/after_train/bn1.running_mean", llx_graph_value(g, llx_graph_find(g, "bn1.running_mean"))->data,
                 "bn1 running mean");
    check_tensor(f, "/after_train/bn1.running_var", llx_graph_value(g, llx_graph_find(g, "bn1.running_var"))->data,
                 "bn1 running var");
    CHECK(llx_graph_zero_grad(g, &err) == LLX_OK);
    CHECK_MSG(llx_graph_backward(g, loss, &err) == LLX_OK, "%s", err.msg);
    int64_t in_fixture = h5_count(f, "/grads");
    CHECK_MSG(check_grads(g, f) == in_fixture, "every parameter gradient checked (%lld in the fixture)",
              (long long)in_fixture);
    printf("     %s: loss %.6f, %lld parameters\n", c->file, *(float *)llx_graph_value(g, loss)->data,
           (long long)llx_graph_param_count(g));

    llx_graph_free(g);
    llx_backend_free(be);
    fixture_registry_close(reg);
    h5_close(f);
}

static void test_resnet18_stem7(void)
{
    run_case(&(golden_case){"resnet18_stem7.h5", "resnet18.yaml", {"size=64"}, 2});
}

static void test_narrow_stem3(void)
{
    run_case(&(golden_case){"resnet_w16_stem3.h5", "resnet18_small_stem.yaml", {"size=32", "width=16"}, 4});
}

static void test_narrow_stem7(void)
{
    run_case(&(golden_case){"resnet_w16_stem7.h5", "resnet18.yaml", {"size=64", "width=16"}, 2});
}

/* The narrow ResNet with each attention block at its defaults in every BasicBlock. */
static void test_narrow_with_attention(void)
{
    static const char *const blocks[][2] = {{"resnet_w16_stem3_se.h5", "attention=se"},
                                            {"resnet_w16_stem3_cbam_original.h5", "attention=cbam"},
                                            {"resnet_w16_stem3_eca_adaptive.h5", "attention=eca"},
                                            {"resnet_w16_stem3_llam.h5", "attention=llam"}};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        run_case(&(golden_case){blocks[i][0], "resnet18_small_stem.yaml", {"size=32", "width=16", blocks[i][1]}, 4});
}

int main(void)
{
    RUN(test_narrow_stem3);
    RUN(test_narrow_with_attention);
    RUN(test_narrow_stem7);
    RUN(test_resnet18_stem7);
    return check_report();
}
