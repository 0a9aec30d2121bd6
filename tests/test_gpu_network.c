/* test_gpu_network.c: whole networks on the CUDA backend against the CPU backend.
 *
 * Each model is built twice from its experiment YAML (with --set overrides, plugins from the
 * build's plugin folder) and compiled with the same seed on a CPU backend and on the CUDA
 * backend; the initial parameters and buffers must then be bit-identical. Both get the same
 * random input batch and labels (copied with be->to_device), and every comparison below
 * reads both sides back with be->to_host.
 *
 * The narrow ResNet (experiments/narrow_resnet.yaml: width 16, 48x48, batch 8) with each
 * attention: none, se, cbam, eca, llam:
 *   1. TF32 off: training forward + backward: loss, logits, BN running statistics, every
 *      parameter gradient (the worst tensor is named).
 *   2. 3 SGD steps (llx_sgd_update_all: lr 0.05, momentum 0.9, weight decay 5e-4 on
 *      weights with more than one dimension, as the trainer does, nesterov off), a new batch
 *      each step: every parameter, velocity and BN running statistic after each step. Before
 *      each step (and before 3 and 4) the GPU net gets the CPU net's weights, statistics and
 *      velocities, so every comparison measures one step's error: left to run, two
 *      trajectories drift apart through ReLU and max decisions that tiny differences flip
 *      (seen on an H200: bias weights 7e-4 apart after 3 steps at batch 8 while every
 *      single step agrees to 1e-6).
 *   3. Eval-mode forward (running statistics): logits.
 *   4. A short last batch (5 of the 8 planned, llx_graph_set_batch): loss, logits, gradients.
 *   5. TF32 on: a training forward: logits.
 *   6. Mixed precision, bf16 then fp16 convolutions on both backends (llx/precision.h: the CPU
 *      rounds operands and results as the GPU does): training forward + backward; the GPU's
 *      logits and parameter gradients must be as close to the CPU's F32 pass as the CPU's own
 *      mixed-precision pass is (mixed_precision_pass says why and how).
 * ResNet-18 (experiments/resnet18.yaml, 7 classes, size=64, batch 2), TF32 off: training
 * forward + backward (loss, logits, running statistics, every gradient), then the eval-mode
 * forward (logits), then step 6.
 *
 * ReLU decisions. A pre-activation within float rounding of zero can come out negative on
 * one backend and positive on the other (another summation order). Its ReLU then passes the
 * gradient on one side only, and that one element moves every gradient before it by about
 * 1e-3 relative: on an H200 one element of layer3.0's output ReLU (-1e-7 against an RMS of
 * 1) did this to 37 of CBAM's 66 gradient tensors, and an F32-vs-F64 CPU study found the
 * same on the CPU alone, for attention none, at another element. It is rounding, not a
 * wrong kernel, and no gradient tolerance can absorb it. So every pass whose gradients are
 * compared first counts ReLU outputs that are zero on one backend only; if there is any,
 * the batch is drawn again (the GPU net reset to the CPU's state), up to DRAWS times, and
 * the note says so. Every draw flipping fails the case.
 *
 * Tolerances (normwise relative error ||gpu - cpu||_2 / ||cpu||_2; NaN/Inf never passes):
 *   TF32 off: loss, logits, BN running statistics, weights after SGD      <= 1e-4 (TOL_VAL)
 *             parameter gradients, velocities (tens of ops deep, through
 *             every BN backward; each tensor on its own)                   <= 1e-3 (TOL_GRAD)
 *             BN gamma (beta) gradients, and the velocities and weights
 *             (x lr) one SGD step makes of them, value by value: values
 *             within TOL_SUM x A_c (B_c) count as equal, the rest as above;
 *             A_c = sum |dy xhat|, B_c = sum |dy| over the channel's N H W
 *             terms (CPU, double, that step's training pass)              <= 1e-6 (TOL_SUM)
 *             A float sum errs by about u = 6e-8 times the sum of its terms' magnitudes; the
 *             CPU sums BN in double, cuDNN in float. CBAM's spatial BN starts with gamma 0
 *             (a constant gate), so its dgamma = sum dy xhat cancels: on an H200 layer1.0's
 *             was -1.76e-6 against A_c 0.244 (18,432 terms), and the GPU's 6.8e-9 off (2.8e-8
 *             A_c) was 3.9e-3 relative. Ordinary BN channels here cancel 30-50 fold (median), so
 *             the rule loosens only gradients and velocities of channels that cancel over
 *             1,000 fold (1e-6 / 1e-3); for the weights, 100 fold (1e-6 / 1e-4), which the
 *             velocity check of the same step still holds to 1,000.
 *   TF32 on:  logits                                                        <= 1e-2 (TOL_TF32)
 *   bf16 / fp16 convolutions: the GPU's distance to the CPU's F32 pass within 1/3 to 3 times
 *             the CPU's own (MIXED_RATIO, logits and all gradients): on the CPU alone, a
 *             handful of rounding flips at the input moved the narrow nets' gradients by
 *             3-13 % and ResNet-18's (batch 2) by up to 37 %, the size of the mixed-precision
 *             error itself (the CPU's bf16 gradients are 8-15 % off its F32 ones, fp16's 3-6 %,
 *             ResNet-18's 40 and 15 %), so no fixed tolerance tells a right GPU from a wrong
 *             one. What dominates is ReLU decisions: pre-activations within a rounding of zero
 *             go the other way, each moving the gradients by a fixed amount (about 1e-3, see
 *             above); their number grows with the unit roundoff, so the error with its square
 *             root: bf16's (2^-9) 2.75 times fp16's (2^-12), where sqrt(8) = 2.8.
 *
 * Without a CUDA device: "SKIP test_gpu_network: no CUDA device (...)", exit 77. */
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpu_check.h"
#include "llx/llx.h"
#include "llx/loss_scale.h"
#include "llx_fixture.h"

#define TOL_VAL 1e-4
#define TOL_GRAD 1e-3
#define TOL_TF32 1e-2
#define MIXED_RATIO 3.0 /* mixed precision: the GPU's error against the CPU's (step 6) */
/* fp16's loss scale here: 2^16 (training's first S) overflows ResNet-18's stem weight gradient
 * in fp16 (dynamic scaling would back off); 2^10 keeps every gradient in range */
#define MIXED_F16_LOSS_SCALE 1024.0f
/* BN parameter gradients, |gpu - cpu| per value against A_c or B_c (top): 16 u, over what a
 * tree-summed float reduction lost on an H200 (2.8e-8), and tight enough that only channels
 * cancelling over 1,000 fold (TOL_GRAD / TOL_SUM) get more room than the relative rule gives. */
#define TOL_SUM 1e-6
#define SEED 2024
#define DRAWS 4 /* batches drawn per compared pass while ReLU decisions differ */

static llx_backend *gpu, *cpu;
static llx_registry *reg;

/* The trainer's SGD (sgd_step); BN parameters and biases take no weight decay. */
static const llx_sgd_params SGD = {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = false};

/* The sum of magnitudes behind a BN parameter's gradient, per channel: A_c = sum |dy xhat|
 * (gamma) or B_c = sum |dy| (beta). mag NULL: not a BN parameter. */
typedef struct bn_sum {
    double *mag;
    bool beta;
} bn_sum;
static const char *const SUM_NAME[2] = {"A_c", "B_c"}, *const SUM_TERMS[2] = {"|dy * xhat|", "|dy|"};

/* One compiled model on one backend, with the optimiser's velocity buffers. */
typedef struct net {
    llx_backend *be;
    llx_graph *g;
    llx_node_id logits, loss;
    int n_params;
    llx_node_id *params; /* PARAM nodes in graph order */
    llx_tensor *velocity;
    bool *decay;
    bn_sum *sums; /* per node; the CPU net's from its last train_pass (bn_sums_update) */
} net;

static void net_free(net *n)
{
    if (n->velocity)
        for (int i = 0; i < n->n_params; i++)
            if (n->velocity[i].data) n->be->free(n->be, n->velocity[i].data);
    free(n->velocity);
    free(n->params);
    free(n->decay);
    for (size_t i = 0; n->sums && i < llx_graph_node_count(n->g); i++) free(n->sums[i].mag);
    free(n->sums);
    llx_graph_free(n->g);
    memset(n, 0, sizeof *n);
}

static llx_status net_build(const char *experiment, const char *const *sets, int n_sets,
                            int batch, llx_backend *be, net *n, llx_error *err)
{
    memset(n, 0, sizeof *n);
    n->be = be;
    LLX_TRY(fixture_build_experiment(reg, experiment, sets, n_sets, batch, &n->g, &n->logits, err));
    LLX_TRY(llx_graph_add_loss(n->g, n->logits, NULL, 0, &n->loss, err));
    LLX_TRY(llx_graph_compile(n->g, be, SEED, err));
    size_t nodes = llx_graph_node_count(n->g);
    n->params = calloc(nodes, sizeof *n->params);
    n->velocity = calloc(nodes, sizeof *n->velocity);
    n->decay = calloc(nodes, sizeof *n->decay);
    n->sums = calloc(nodes, sizeof *n->sums);
    if (!n->params || !n->velocity || !n->decay || !n->sums)
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nodes; i++) {
        if (llx_graph_node_kind(n->g, (llx_node_id)i) != LLX_NODE_PARAM) continue;
        llx_tensor *w = llx_graph_value(n->g, (llx_node_id)i);
        int k = n->n_params++;
        n->params[k] = (llx_node_id)i;
        n->decay[k] = w->shape.ndim > 1; /* no decay for BN parameters and biases */
        n->velocity[k] = *w;
        n->velocity[k].data = be->alloc(be, llx_tensor_bytes(w), err);
        if (!n->velocity[k].data) return err->status;
    }
    return LLX_OK;
}

/* Both nets (true), or neither (false, the reason CHECKed). */
static bool build_pair(const char *label, const char *experiment, const char *const *sets,
                       int n_sets, int batch, net *c, net *g)
{
    llx_error err = {0};
    memset(c, 0, sizeof *c);
    memset(g, 0, sizeof *g);
    llx_status st = net_build(experiment, sets, n_sets, batch, cpu, c, &err);
    CHECK_MSG(st == LLX_OK, "%s: cpu build: %s", label, err.msg);
    if (st == LLX_OK) {
        st = net_build(experiment, sets, n_sets, batch, gpu, g, &err);
        CHECK_MSG(st == LLX_OK, "%s: gpu build: %s", label, err.msg);
    }
    if (st != LLX_OK) {
        net_free(c);
        net_free(g);
        return false;
    }
    return true;
}

/* Tensor t of net n as doubles (malloc'd; NULL on failure, CHECKed). */
static double *fetch(const net *n, const llx_tensor *t)
{
    llx_error err = {0};
    int64_t k = llx_tensor_numel(t);
    float *h = malloc((size_t)k * sizeof *h + 1);
    llx_status st = gpu_fetch(n->be, h, t->data, (size_t)k * sizeof *h, &err);
    CHECK_MSG(st == LLX_OK, "reading '%s' back from %s: %s", t->name ? t->name : "?", n->be->name,
              err.msg);
    double *v = st == LLX_OK ? gpu_f32_to_f64(h, k) : NULL;
    free(h);
    return v;
}

typedef struct worst {
    double rel;
    char what[128];
    int compared, failed;
    int by_sum;       /* tensors beyond tol that passed by the BN sum rule */
    double sum_ratio; /* the largest |gpu - cpu| / (scale x A_c or B_c) the rule let pass */
    char sum_what[160];
} worst;

/* The BN sum rule on one tensor: value k may differ by up to TOL_SUM x scale x sum->mag[k]
 * (scale 1 for gradients and velocities, lr for weights: each step starts both nets from the
 * same weights and velocities, so these differ by what the gradients do). sum NULL: none. */
typedef struct sum_rule {
    const bn_sum *sum;
    double scale;
} sum_rule;

/* "A_c", "lr x B_c", ...: what TOL_SUM multiplies under rule r. */
static const char *sum_unit(sum_rule r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", r.scale != 1 ? "lr x " : "", SUM_NAME[r.sum->beta]);
    return buf;
}

/* What the sum rule did: values within it (and the largest ratio among them), and the value
 * furthest from it. */
typedef struct sum_outcome {
    int64_t within, worst_at;
    double within_ratio;    /* the largest |gpu - cpu| / (scale x mag) of the values within */
    double ratio, gpu, cpu; /* that ratio at worst_at, and the values there */
} sum_outcome;

/* Sets the GPU values within the sum rule to the CPU's, so that only the others are judged
 * by the relative criterion. */
static sum_outcome apply_sum_rule(sum_rule r, double *vg, const double *vc, int64_t n)
{
    sum_outcome o = {.worst_at = -1};
    for (int64_t k = 0; k < n; k++) {
        double e = fabs(vg[k] - vc[k]), bound = r.scale * r.sum->mag[k];
        double ratio = e == 0 ? 0 : isfinite(e) ? e / bound : INFINITY;
        if (o.worst_at < 0 || !(ratio <= o.ratio)) {
            o.worst_at = k;
            o.ratio = ratio;
            o.gpu = vg[k];
            o.cpu = vc[k];
        }
        if (ratio <= TOL_SUM) {
            o.within++;
            if (ratio > o.within_ratio) o.within_ratio = ratio;
            vg[k] = vc[k];
        }
    }
    return o;
}

static void print_sum_failure(sum_rule r, const sum_outcome *o, int64_t n)
{
    char unit[16];
    const char *name = SUM_NAME[r.sum->beta];
    fprintf(stderr,
            "       nor by the BN sum rule |gpu - cpu| <= %.0e x %s (%s = sum %s over the channel; "
            "the error norm above counts only values beyond it): %lld of %lld within; furthest [%lld]: "
            "|gpu - cpu| = %.3g x %s (%s %.4g), gpu %.9g, cpu %.9g\n",
            TOL_SUM, sum_unit(r, unit, sizeof unit), name, SUM_TERMS[r.sum->beta],
            (long long)o->within, (long long)n, (long long)o->worst_at, o->ratio, unit, name,
            r.sum->mag[o->worst_at], o->gpu, o->cpu);
}

static void keep_worst(worst *w, const char *what, int ok, double rel)
{
    w->compared++;
    if (!ok) w->failed++;
    if (w->compared == 1 || !(rel <= w->rel)) {
        w->rel = rel;
        snprintf(w->what, sizeof w->what, "%s", what);
    }
}

static void keep_worst_sum(worst *w, const char *what, sum_rule r, double ratio)
{
    if (w->by_sum++ == 0 || !(ratio <= w->sum_ratio)) {
        w->sum_ratio = ratio;
        char unit[16];
        snprintf(w->sum_what, sizeof w->sum_what, "%s (%s)", sum_unit(r, unit, sizeof unit), what);
    }
}

/* Compares tensor t_g of the GPU net with t_c of the CPU net, with the sum rule r when r.sum
 * is set; keeps the worst. */
static int compare_tensor(const char *ctx, const char *what, const net *c, const llx_tensor *t_c,
                          const net *g, const llx_tensor *t_g, double tol, sum_rule r, worst *w)
{
    double *vc = fetch(c, t_c), *vg = fetch(g, t_g), rel = INFINITY;
    int64_t n = llx_tensor_numel(t_c);
    bool by_sum = r.sum && vc && vg && !(gpu_diff_of(vg, vc, n, tol).rel <= tol);
    sum_outcome o = by_sum ? apply_sum_rule(r, vg, vc, n) : (sum_outcome){0};
    int ok = vc && vg && gpu_check(ctx, what, &t_c->shape, vg, vc, n, tol, &rel);
    if (by_sum && !ok) print_sum_failure(r, &o, n);
    if (w) keep_worst(w, what, ok, rel);
    if (w && by_sum && ok) keep_worst_sum(w, what, r, o.within_ratio);
    free(vc);
    free(vg);
    return ok;
}

/* The sum rule for node id of the CPU net at scale (0: none). */
static sum_rule sum_rule_of(const net *c, llx_node_id id, double scale)
{
    return (sum_rule){scale > 0 && c->sums[id].mag ? &c->sums[id] : NULL, scale};
}

/* sum_scale > 0: the BN sum rule at that scale for BN parameters (compare_tensor). */
static int compare_node(const char *ctx, const net *c, const net *g, llx_node_id id, bool grad,
                        double tol, double sum_scale, worst *w)
{
    char what[160];
    snprintf(what, sizeof what, "%s%s", llx_graph_node_name(c->g, id), grad ? " (gradient)" : "");
    const llx_tensor *tc = grad ? llx_graph_grad(c->g, id) : llx_graph_value(c->g, id);
    const llx_tensor *tg = grad ? llx_graph_grad(g->g, id) : llx_graph_value(g->g, id);
    if (!tc || !tg) {
        CHECK_MSG(tc == NULL && tg == NULL, "%s: %s missing on one side", ctx, what);
        return tc == NULL && tg == NULL;
    }
    return compare_tensor(ctx, what, c, tc, g, tg, tol, sum_rule_of(c, id, sum_scale), w);
}

/* Every node of a kind: parameters (values or gradients) or buffers (running stats). */
static int compare_kind(const char *ctx, const net *c, const net *g, llx_node_kind kind, bool grad,
                        double tol, double sum_scale, worst *w)
{
    int ok = 1;
    size_t nodes = llx_graph_node_count(c->g);
    CHECK_MSG(nodes == llx_graph_node_count(g->g), "%s: node counts differ", ctx);
    for (size_t i = 0; i < nodes; i++)
        if (llx_graph_node_kind(c->g, (llx_node_id)i) == kind)
            ok &= compare_node(ctx, c, g, (llx_node_id)i, grad, tol, sum_scale, w);
    return ok;
}

static void report(const char *ctx, const char *what, const worst *w, double tol)
{
    printf("     %-4s %-36s %-28s %3d tensors, worst rel %.2e (%s), tol %.0e\n",
           w->failed ? "FAIL" : "ok", ctx, what, w->compared, w->rel, w->what, tol);
    CHECK_MSG(w->failed == 0, "%s: %s: %d of %d tensors differ (details above)", ctx, what,
              w->failed, w->compared);
    if (w->by_sum)
        printf("     ok   %-36s %-28s %3d tensors beyond tol pass by the BN sum rule, worst "
               "|gpu - cpu| = %.2e x %s, tol %.0e\n",
               ctx, what, w->by_sum, w->sum_ratio, w->sum_what, TOL_SUM);
}

/* Initial parameters and buffers bit-identical on both backends. */
static void check_same_init(const char *ctx, const net *c, const net *g)
{
    int compared = 0, differ = 0;
    size_t nodes = llx_graph_node_count(c->g);
    for (size_t i = 0; i < nodes; i++) {
        llx_node_kind k = llx_graph_node_kind(c->g, (llx_node_id)i);
        if (k != LLX_NODE_PARAM && k != LLX_NODE_BUFFER) continue;
        const llx_tensor *tc = llx_graph_value(c->g, (llx_node_id)i);
        const llx_tensor *tg = llx_graph_value(g->g, (llx_node_id)i);
        double *vc = fetch(c, tc), *vg = fetch(g, tg);
        int64_t n = llx_tensor_numel(tc);
        compared++;
        if (!vc || !vg || llx_tensor_numel(tg) != n || memcmp(vc, vg, (size_t)n * sizeof *vc) != 0) {
            differ++;
            fprintf(stderr, "  FAIL %s: initial '%s' differs between the backends\n", ctx,
                    llx_graph_node_name(c->g, (llx_node_id)i));
        }
        free(vc);
        free(vg);
    }
    CHECK_MSG(differ == 0, "%s: %d of %d initial tensors differ (same seed)", ctx, differ, compared);
}

/* A random batch (inputs in [-1, 1), labels in [0, classes)) into both nets. */
static void feed(const net *c, const net *g, uint64_t seed)
{
    llx_error err = {0};
    const net *nets[2] = {c, g};
    const llx_tensor *x = llx_graph_value(c->g, llx_graph_input_node(c->g));
    const llx_tensor *y = llx_graph_value(c->g, llx_graph_labels_node(c->g));
    int64_t nx = llx_tensor_numel(x), ny = llx_tensor_numel(y);
    int64_t classes = llx_graph_node_shape(c->g, c->logits).dim[1];
    float *hx = malloc((size_t)nx * sizeof *hx);
    int32_t *hy = malloc((size_t)ny * sizeof *hy);
    gpu_fill_uniform_f32(hx, nx, seed, -1, 1);
    for (int64_t i = 0; i < ny; i++) hy[i] = (int32_t)((i * 5 + (int64_t)seed) % classes);
    for (int k = 0; k < 2; k++) {
        llx_backend *be = nets[k]->be;
        llx_tensor *xk = llx_graph_value(nets[k]->g, llx_graph_input_node(nets[k]->g));
        llx_tensor *yk = llx_graph_value(nets[k]->g, llx_graph_labels_node(nets[k]->g));
        CHECK_MSG(be->to_device(be, xk->data, hx, (size_t)nx * sizeof *hx, &err) == LLX_OK &&
                      be->to_device(be, yk->data, hy, (size_t)ny * sizeof *hy, &err) == LLX_OK,
                  "feeding %s: %s", be->name, err.msg);
    }
    free(hx);
    free(hy);
}

/* Forward (and backward from the loss after zeroing parameter gradients) on both. */
/* seed: d(loss)/d(loss) of backward, S with loss scaling (llx/loss_scale.h), else 1. */
static bool run_one(const char *ctx, const net *n, bool training, bool backward, float seed)
{
    llx_error err = {0};
    llx_status st = llx_graph_forward(n->g, training, &err);
    if (st == LLX_OK && backward) st = llx_graph_zero_grad(n->g, &err);
    if (st == LLX_OK && backward) st = llx_graph_backward_seed(n->g, n->loss, &seed, &err);
    if (st == LLX_OK) st = n->be->sync(n->be, &err);
    CHECK_MSG(st == LLX_OK, "%s: %s %s: %s", ctx, n->be->name, backward ? "forward/backward" : "forward",
              err.msg);
    return st == LLX_OK;
}

static bool run_both_seeded(const char *ctx, const net *c, const net *g, bool training, bool backward, float seed)
{
    return run_one(ctx, c, training, backward, seed) && run_one(ctx, g, training, backward, seed);
}

static bool run_both(const char *ctx, const net *c, const net *g, bool training, bool backward)
{
    return run_both_seeded(ctx, c, g, training, backward, 1.0f);
}

static llx_status sgd_step(net *n, bool first_step, llx_error *err)
{
    llx_tensor **w = malloc((size_t)n->n_params * sizeof *w);
    const llx_tensor **g = malloc((size_t)n->n_params * sizeof *g);
    llx_tensor **v = malloc((size_t)n->n_params * sizeof *v);
    for (int i = 0; i < n->n_params; i++) {
        w[i] = llx_graph_value(n->g, n->params[i]);
        g[i] = llx_graph_grad(n->g, n->params[i]);
        v[i] = &n->velocity[i];
    }
    llx_status st = llx_sgd_update_all(n->be, &SGD, first_step, n->n_params, w,
                                       (const llx_tensor *const *)g, v, n->decay, err);
    free(w);
    free(g);
    free(v);
    return st;
}

/* Loss, logits and (training) BN running statistics after a forward pass. */
static void compare_forward(const char *ctx, const char *what, const net *c, const net *g,
                            bool training, double tol)
{
    worst w = {0};
    compare_node(ctx, c, g, c->logits, false, tol, 0, &w);
    if (training) {
        compare_node(ctx, c, g, c->loss, false, tol, 0, &w);
        compare_kind(ctx, c, g, LLX_NODE_BUFFER, false, tol, 0, &w);
    }
    report(ctx, what, &w, tol);
}

static void compare_grads(const char *ctx, const char *what, const net *c, const net *g)
{
    worst w = {0};
    compare_kind(ctx, c, g, LLX_NODE_PARAM, true, TOL_GRAD, 1, &w);
    report(ctx, what, &w, TOL_GRAD);
}

static void print_loss(const char *ctx, const net *c, const net *g)
{
    double *lc = fetch(c, llx_graph_value(c->g, c->loss)), *lg = fetch(g, llx_graph_value(g->g, g->loss));
    if (lc && lg) printf("     ..   %-36s loss cpu %.7f gpu %.7f\n", ctx, lc[0], lg[0]);
    free(lc);
    free(lg);
}

/* One tensor of the CPU net into the same tensor of the GPU net. */
static void copy_tensor(const net *c, const llx_tensor *tc, const net *g, llx_tensor *tg)
{
    llx_error err = {0};
    size_t bytes = llx_tensor_bytes(tc);
    void *host = malloc(bytes ? bytes : 1);
    CHECK_MSG(host && llx_tensor_bytes(tg) == bytes &&
                  c->be->to_host(c->be, host, tc->data, bytes, &err) == LLX_OK &&
                  g->be->to_device(g->be, tg->data, host, bytes, &err) == LLX_OK,
              "copying '%s' to the GPU: %s", tc->name ? tc->name : "?", err.msg);
    free(host);
}

/* The GPU net takes the CPU net's parameters, BN statistics and velocities. */
static void copy_state(const net *c, const net *g)
{
    size_t nodes = llx_graph_node_count(c->g);
    for (size_t i = 0; i < nodes; i++) {
        llx_node_kind k = llx_graph_node_kind(c->g, (llx_node_id)i);
        if (k == LLX_NODE_PARAM || k == LLX_NODE_BUFFER)
            copy_tensor(c, llx_graph_value(c->g, (llx_node_id)i), g, llx_graph_value(g->g, (llx_node_id)i));
    }
    for (int i = 0; i < c->n_params; i++) copy_tensor(c, &c->velocity[i], g, &g->velocity[i]);
}

/* ReLU outputs that are zero on one backend and not on the other (see the top). */
static int64_t relu_flips(const net *c, const net *g)
{
    int64_t flips = 0;
    size_t nodes = llx_graph_node_count(c->g);
    for (size_t i = 0; i < nodes; i++) {
        const llx_op_desc *op = llx_graph_node_op(c->g, (llx_node_id)i);
        if (!op || strcmp(op->name, "relu") != 0) continue;
        const llx_tensor *tc = llx_graph_value(c->g, (llx_node_id)i);
        double *vc = fetch(c, tc), *vg = fetch(g, llx_graph_value(g->g, (llx_node_id)i));
        for (int64_t k = 0; vc && vg && k < llx_tensor_numel(tc); k++) flips += (vc[k] == 0) != (vg[k] == 0);
        free(vc);
        free(vg);
    }
    return flips;
}

/* Mean and 1 / sqrt(var + eps) of channel ch of x (n, chans, hw), in double, as the CPU's
 * batchnorm2d has them in training (batch statistics, biased variance). */
static void channel_stats(const double *x, int64_t n, int64_t chans, int64_t hw, int64_t ch,
                          double eps, double *mean, double *inv)
{
    double s = 0, ss = 0, m = (double)(n * hw);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < hw; j++) s += x[(i * chans + ch) * hw + j];
    *mean = s / m;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < hw; j++) {
            double d = x[(i * chans + ch) * hw + j] - *mean;
            ss += d * d;
        }
    *inv = 1 / sqrt(ss / m + eps);
}

/* Zeroed sums of chans values for node p of the CPU net (A_c, or B_c when beta); NULL unless
 * p is a parameter with a gradient. */
static double *sum_slot(net *c, llx_node_id p, bool beta, int64_t chans)
{
    if (llx_graph_node_kind(c->g, p) != LLX_NODE_PARAM || !llx_graph_grad(c->g, p)) return NULL;
    if (!c->sums[p].mag) c->sums[p].mag = calloc((size_t)chans, sizeof *c->sums[p].mag);
    c->sums[p].beta = beta;
    return c->sums[p].mag;
}

/* A_c = sum |dy xhat| and B_c = sum |dy| per channel of batchnorm2d node id of the CPU net,
 * from its last training pass, added to the sums of its gamma (input 1) and beta (input 2). */
static void bn_add_sums(net *c, llx_node_id id)
{
    const llx_node_id *in;
    llx_graph_node_inputs(c->g, id, &in);
    const llx_tensor *xt = llx_graph_value(c->g, in[0]), *dyt = llx_graph_grad(c->g, id);
    const llx_shape *s = &xt->shape;
    int64_t n = s->dim[0], chans = s->dim[1], hw = s->dim[2] * s->dim[3];
    double eps = ((const llx_batchnorm2d_attr *)llx_graph_node_attr(c->g, id))->eps;
    double *a = sum_slot(c, in[1], false, chans), *b = sum_slot(c, in[2], true, chans);
    double *x = dyt && (a || b) ? fetch(c, xt) : NULL, *dy = x ? fetch(c, dyt) : NULL;
    for (int64_t ch = 0; dy && ch < chans; ch++) {
        double mean, inv;
        channel_stats(x, n, chans, hw, ch, eps, &mean, &inv);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                int64_t k = (i * chans + ch) * hw + j;
                if (a) a[ch] += fabs(dy[k] * (x[k] - mean) * inv);
                if (b) b[ch] += fabs(dy[k]);
            }
    }
    free(x);
    free(dy);
}

/* The BN sums of the CPU net's last training pass, for the sum rule (see the top). */
static void bn_sums_update(net *c)
{
    size_t nodes = llx_graph_node_count(c->g);
    for (size_t i = 0; i < nodes; i++) {
        free(c->sums[i].mag);
        c->sums[i].mag = NULL;
    }
    for (size_t i = 0; i < nodes; i++) {
        const llx_op_desc *op = llx_graph_node_op(c->g, (llx_node_id)i);
        if (op && strcmp(op->name, "batchnorm2d") == 0) bn_add_sums(c, (llx_node_id)i);
    }
}

/* A training forward and backward of a batch drawn from seed on both nets, for comparing
 * gradients: drawn again (seed + 1000 d) while a ReLU decides differently on the two
 * backends, the GPU net reset to the CPU's state before each new draw. False after a
 * failure or DRAWS flipped draws (CHECKed). The CPU net's BN sums are then this pass's. */
static bool train_pass(const char *ctx, net *c, const net *g, uint64_t seed)
{
    for (int d = 0; d < DRAWS; d++) {
        if (d) copy_state(c, g);
        feed(c, g, seed + 1000 * (uint64_t)d);
        if (!run_both(ctx, c, g, true, true)) return false;
        int64_t flips = relu_flips(c, g);
        if (flips == 0) {
            bn_sums_update(c);
            return true;
        }
        printf("     ..   %-36s draw %d: %lld ReLU output(s) zero on one backend only (rounding at 0); "
               "drawing again\n", ctx, d + 1, (long long)flips);
    }
    CHECK_MSG(false, "%s: ReLU decisions differed between the backends in all %d draws", ctx, DRAWS);
    return false;
}

/* Every parameter, statistic and velocity after an SGD step. */
static void compare_after_step(const char *ctx, const char *what, const net *c, const net *g)
{
    worst w = {0};
    compare_kind(ctx, c, g, LLX_NODE_PARAM, false, TOL_VAL, SGD.lr, &w);
    compare_kind(ctx, c, g, LLX_NODE_BUFFER, false, TOL_VAL, 0, &w);
    char label[96];
    snprintf(label, sizeof label, "weights+stats, %s", what);
    report(ctx, label, &w, TOL_VAL);
    worst wv = {0};
    for (int i = 0; i < c->n_params; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s (velocity)", llx_graph_node_name(c->g, c->params[i]));
        compare_tensor(ctx, name, c, &c->velocity[i], g, &g->velocity[i], TOL_GRAD,
                       sum_rule_of(c, c->params[i], 1), &wv);
    }
    snprintf(label, sizeof label, "velocities, %s", what);
    report(ctx, label, &wv, TOL_GRAD);
}

/* The logits (what = 0) or all parameter gradients as one vector (their arena) of net n. */
static double *fetch_mixed(const net *n, int what, int64_t *count)
{
    llx_tensor t = what ? llx_graph_param_grads(n->g) : *llx_graph_value(n->g, n->logits);
    *count = llx_tensor_numel(&t);
    return fetch(n, &t);
}

/* Step 6, for bf16 then fp16 convolutions. The rounding noise of a mixed-precision pass is
 * not small: each convolution's result is a half value, so two correct implementations that
 * sum in different F32 orders land on neighbouring halves here and there, and through tens of
 * layers (BN's backward cancels) those differences grow to the size of the rounding error
 * itself. So the GPU is held to the CPU's own accuracy, not to its values: from the same state
 * and batch, the CPU runs the training pass in F32 (the reference) and in the precision, the
 * GPU in the precision, and the GPU's normwise distance to the reference, for the logits and
 * for all parameter gradients together, must be within a factor MIXED_RATIO of the CPU's,
 * either way: a wrong layout or a missing cast is far worse than the CPU, a pass that stayed
 * in F32 is far better. fp16's backward is seeded with MIXED_F16_LOSS_SCALE, as training
 * scales the loss (unscaled, its small gradients fall into fp16's subnormals); all three
 * passes use the same seed, so the distances compare as they are. The backends go back to
 * F32 after. */
static void mixed_precision_pass(const char *ctx, net *c, net *g)
{
    for (int p = LLX_PRECISION_BF16; p <= LLX_PRECISION_F16; p++) {
        const char *name = llx_precision_name((llx_precision)p);
        const float seed = p == LLX_PRECISION_F16 ? MIXED_F16_LOSS_SCALE : 1.0f;
        copy_state(c, g);
        feed(c, g, 60 + (uint64_t)p);
        cpu->conv_precision = gpu->conv_precision = LLX_PRECISION_F32;
        const bool ref_ok = run_one(ctx, c, true, true, seed); /* the F32 reference */
        int64_t n[2];
        double *ref[2] = {fetch_mixed(c, 0, &n[0]), fetch_mixed(c, 1, &n[1])};
        cpu->conv_precision = gpu->conv_precision = (llx_precision)p;
        /* BN's running statistics moved in the reference pass; training mode does not read them */
        if (ref_ok && ref[0] && ref[1] && run_both_seeded(ctx, c, g, true, true, seed)) {
            static const char *const what[2] = {"logits", "all gradients"};
            for (int k = 0; k < 2; k++) {
                int64_t m;
                double *vc = fetch_mixed(c, k, &m), *vg = fetch_mixed(g, k, &m);
                if (!vc || !vg) {
                    free(vc), free(vg);
                    continue;
                }
                double e_cpu = gpu_diff_of(vc, ref[k], m, 1).rel, e_gpu = gpu_diff_of(vg, ref[k], m, 1).rel;
                double cross = gpu_diff_of(vg, vc, m, 1).rel;
                bool ok = e_gpu <= MIXED_RATIO * e_cpu + 1e-7 && e_gpu >= e_cpu / MIXED_RATIO;
                char label[64];
                snprintf(label, sizeof label, "%s [%s conv]", what[k], name);
                printf("     %-4s %-36s %-28s off f32 by %.2e (cpu %.2e, ratio %.2f), gpu-cpu %.2e; "
                       "ratio within 1/%g..%g\n", ok ? "ok" : "FAIL", ctx, label, e_gpu, e_cpu,
                       e_cpu > 0 ? e_gpu / e_cpu : INFINITY, cross, MIXED_RATIO, MIXED_RATIO);
                CHECK_MSG(ok, "%s: %s: the gpu is %.3g off the f32 reference, the cpu %.3g", ctx, label, e_gpu,
                          e_cpu);
                free(vc);
                free(vg);
            }
        }
        free(ref[0]);
        free(ref[1]);
    }
    cpu->conv_precision = gpu->conv_precision = LLX_PRECISION_F32;
}

/* ------------------------------------------------------------------ narrow ResNet */

static void narrow_case(const char *attention)
{
    char set[64], ctx[96];
    snprintf(set, sizeof set, "attention=%s", attention);
    snprintf(ctx, sizeof ctx, "narrow_resnet %s", set);
    const char *sets[] = {set};
    net c, g;
    if (!build_pair(ctx, "narrow_resnet.yaml", sets, 1, 8, &c, &g)) return;
    llx_error err = {0};
    check_same_init(ctx, &c, &g);
    gpu->tf32 = false;

    /* 1. forward (training) + backward */
    if (train_pass(ctx, &c, &g, 1)) {
        print_loss(ctx, &c, &g);
        compare_forward(ctx, "train fwd [tf32 off]", &c, &g, true, TOL_VAL);
        compare_grads(ctx, "gradients [tf32 off]", &c, &g);
    }

    /* 2. three SGD steps: the gradients above, then two new batches; each from the same state */
    bool ok = true;
    for (int step = 0; step < 3 && ok; step++) {
        if (step > 0) {
            copy_state(&c, &g);
            ok = train_pass(ctx, &c, &g, 10 + (uint64_t)step);
        }
        for (int k = 0; k < 2 && ok; k++) {
            net *n = k ? &g : &c;
            llx_status st = sgd_step(n, step == 0, &err);
            CHECK_MSG(st == LLX_OK, "%s: %s sgd step %d: %s", ctx, n->be->name, step + 1, err.msg);
            ok = st == LLX_OK;
        }
        char what[32];
        snprintf(what, sizeof what, "sgd step %d", step + 1);
        if (ok) compare_after_step(ctx, what, &c, &g);
    }
    copy_state(&c, &g);

    /* 3. eval-mode forward */
    feed(&c, &g, 20);
    if (run_both(ctx, &c, &g, false, false))
        compare_forward(ctx, "eval fwd [tf32 off]", &c, &g, false, TOL_VAL);

    /* 4. short last batch: 5 of the 8 planned */
    bool short_ok = llx_graph_set_batch(c.g, 5, &err) == LLX_OK &&
                    llx_graph_set_batch(g.g, 5, &err) == LLX_OK;
    CHECK_MSG(short_ok, "%s: set_batch 5: %s", ctx, err.msg);
    if (short_ok) {
        copy_state(&c, &g);
        if (train_pass(ctx, &c, &g, 30)) {
            compare_forward(ctx, "batch 5 of 8 train fwd", &c, &g, true, TOL_VAL);
            compare_grads(ctx, "batch 5 of 8 gradients", &c, &g);
        }
        short_ok = llx_graph_set_batch(c.g, 8, &err) == LLX_OK &&
                   llx_graph_set_batch(g.g, 8, &err) == LLX_OK;
        CHECK_MSG(short_ok, "%s: set_batch 8: %s", ctx, err.msg);
    }

    /* 5. TF32 on */
    gpu->tf32 = true;
    feed(&c, &g, 40);
    if (run_both(ctx, &c, &g, true, false)) {
        worst w = {0};
        compare_node(ctx, &c, &g, c.logits, false, TOL_TF32, 0, &w);
        report(ctx, "train fwd logits [tf32 on]", &w, TOL_TF32);
    }
    gpu->tf32 = false;

    /* 6. mixed precision */
    mixed_precision_pass(ctx, &c, &g);
    net_free(&c);
    net_free(&g);
}

static void test_narrow_none(void) { narrow_case("none"); }
static void test_narrow_se(void) { narrow_case("se"); }
static void test_narrow_cbam(void) { narrow_case("cbam"); }
static void test_narrow_eca(void) { narrow_case("eca"); }
static void test_narrow_llam(void) { narrow_case("llam"); }

/* ------------------------------------------------------------------ ResNet-18 */

static void test_resnet18(void)
{
    const char *ctx = "resnet18 size=64 batch 2";
    const char *sets[] = {"size=64", "classes=7"};
    net c, g;
    if (!build_pair(ctx, "resnet18.yaml", sets, 2, 2, &c, &g)) return;
    check_same_init(ctx, &c, &g);
    gpu->tf32 = false;
    if (train_pass(ctx, &c, &g, 50)) {
        print_loss(ctx, &c, &g);
        compare_forward(ctx, "train fwd [tf32 off]", &c, &g, true, TOL_VAL);
        compare_grads(ctx, "gradients [tf32 off]", &c, &g);
    }
    if (run_both(ctx, &c, &g, false, false))
        compare_forward(ctx, "eval fwd [tf32 off]", &c, &g, false, TOL_VAL);
    mixed_precision_pass(ctx, &c, &g);
    net_free(&c);
    net_free(&g);
}

int main(void)
{
    double t0 = gpu_now_s();
    llx_error err = {0};
    gpu = gpu_backend_or_skip("test_gpu_network");
    if (llx_backend_cpu_create(0, &cpu, &err) != LLX_OK) {
        fprintf(stderr, "setup: cpu backend: %s\n", err.msg);
        return 1;
    }
    if (!(reg = fixture_registry_open(&err))) return 1;
    printf("tolerances (||gpu - cpu|| / ||cpu||): tf32 off: loss/logits/running stats/weights %.0e, "
           "gradients/velocities %.0e; tf32 on: logits %.0e; initial weights bit-identical\n",
           TOL_VAL, TOL_GRAD, TOL_TF32);
    RUN(test_narrow_none);
    RUN(test_narrow_se);
    RUN(test_narrow_cbam);
    RUN(test_narrow_eca);
    RUN(test_narrow_llam);
    RUN(test_resnet18);
    fixture_registry_close(reg);
    llx_backend_free(cpu);
    llx_backend_free(gpu);
    printf("test_gpu_network: %.1f s\n", gpu_now_s() - t0);
    return check_report();
}
