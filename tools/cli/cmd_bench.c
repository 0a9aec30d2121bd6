/* cmd_bench.c: `llx bench EXP.yaml`: training and inference images/s of an
 * experiment's network on random data, peak memory, and where a training step
 * spends its time, per op type (the graph's profiler). The experiment's
 * train.precision and train.loss_scale apply as in training (--set
 * train.precision=bf16): a step with loss scaling unscales the gradients and
 * reads the flag back, as the trainer's does. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "llx/train.h"

#define MAX_SETS 64
#define MAX_OPS 64

typedef struct bench_args {
    const char *exp, *device;
    const char *sets[MAX_SETS];
    int n_sets, batch, steps, warmup, threads;
    bool csv, no_tf32;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->steps = 10;
    a->warmup = 2;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--set") == 0 && v && a->n_sets < MAX_SETS) a->sets[a->n_sets++] = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && v) a->batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && v) a->steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && v) a->warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && v) a->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && v) a->device = argv[++i];
        else if (strcmp(argv[i], "--csv") == 0) a->csv = true;
        else if (strcmp(argv[i], "--no-tf32") == 0) a->no_tf32 = true;
        else if (argv[i][0] != '-' && !a->exp) a->exp = argv[i];
        else {
            fprintf(stderr, "llx bench: unexpected argument '%s' (see llx bench --help)\n", argv[i]);
            return 2;
        }
    }
    if (!a->exp) {
        fprintf(stderr, "llx bench: which experiment? usage: llx bench EXP.yaml\n");
        return 2;
    }
    if (a->steps < 1 || a->warmup < 0 || a->batch < 0) {
        fprintf(stderr, "llx bench: --steps must be >= 1, --warmup and --batch >= 0\n");
        return 2;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return v[0];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

/* An integer under train: (or fallback when absent). */
static llx_status train_int(const llx_cfg *root, const char *key, int64_t fallback, int64_t *out, llx_error *err)
{
    const llx_cfg *train = llx_cfg_get(root, "train");
    const llx_cfg *v = train ? llx_cfg_get(train, key) : NULL;
    *out = fallback;
    if (!v) return LLX_OK;
    char what[64];
    snprintf(what, sizeof what, "train.%s", key);
    return llx_cfg_as_int(v, what, out, err);
}

/* The network under test: graph with loss, its backend and one velocity per parameter. */
typedef struct bench {
    llx_backend *be;
    llx_graph *g;
    llx_node_id logits, loss;
    llx_node_id *params;
    llx_tensor *velocity;
    llx_tensor **w_list, **grad_list, **velocity_list; /* for llx_sgd_update_all */
    int n_params;
    size_t velocity_bytes;
    int batch, threads;
    const char *device;
    bool no_tf32;
    llx_loss_scaler scaler; /* train.loss_scale */
} bench;

static void bench_free(bench *b)
{
    for (int p = 0; p < b->n_params; p++)
        if (b->velocity[p].data) b->be->free(b->be, b->velocity[p].data);
    free(b->params);
    free(b->velocity);
    free(b->w_list);
    free(b->grad_list);
    free(b->velocity_list);
    llx_graph_free(b->g);
    llx_loss_scaler_free(&b->scaler);
    if (b->be) llx_backend_free(b->be);
}

static llx_status pick_backend(bench *b, const llx_cfg *root, llx_error *err)
{
    const llx_cfg *train = llx_cfg_get(root, "train");
    const char *dev = b->device;
    if (!dev && train && llx_cfg_get(train, "device")) dev = llx_cfg_str(llx_cfg_get(train, "device"));
    if (b->threads <= 0) {
        int64_t t;
        LLX_TRY(train_int(root, "threads", 0, &t, err));
        b->threads = (int)t;
    }
    LLX_TRY(llx_backend_create(dev, b->threads, &b->be, err));
    b->be->tf32 = !b->no_tf32;
    llx_loss_scale_kind kind;
    double scale;
    LLX_TRY(llx_train_read_precision(train, &b->be->conv_precision, &kind, &scale, err));
    return llx_loss_scaler_init(&b->scaler, b->be, kind, scale, err);
}

/* Random input in [-1, 1) and labels in [0, classes): xorshift64, fixed seed. */
static llx_status fill_random(bench *b, llx_error *err)
{
    llx_tensor *x = llx_graph_value(b->g, llx_graph_input_node(b->g));
    llx_tensor *y = llx_graph_value(b->g, llx_graph_labels_node(b->g));
    int64_t n = llx_tensor_numel(x), classes = llx_graph_node_shape(b->g, b->logits).dim[1];
    float *hx = malloc((size_t)n * sizeof *hx);
    int32_t *hy = malloc((size_t)b->batch * sizeof *hy);
    if (!hx || !hy) {
        free(hx);
        free(hy);
        return llx_errorf(err, LLX_ERR_NOMEM, "bench: out of memory");
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < n + b->batch; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (i < n) hx[i] = (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
        else hy[i - n] = (int32_t)(s % (uint64_t)classes);
    }
    llx_status st = b->be->to_device(b->be, x->data, hx, llx_tensor_bytes(x), err);
    if (st == LLX_OK) st = b->be->to_device(b->be, y->data, hy, llx_tensor_bytes(y), err);
    free(hx);
    free(hy);
    return st;
}

static llx_status bench_create(bench *b, const llx_doc *doc, const llx_registry *reg, llx_error *err)
{
    const llx_cfg *root = llx_doc_root(doc);
    if (b->batch <= 0) {
        int64_t batch;
        LLX_TRY(train_int(root, "batch", 64, &batch, err));
        if (batch < 1) return llx_errorf(err, LLX_ERR_INVALID, "bench: train.batch %lld must be positive", (long long)batch);
        b->batch = (int)batch;
    }
    LLX_TRY(pick_backend(b, root, err));
    LLX_TRY(llx_model_build(reg, llx_cfg_get(root, "model"), b->batch, LLX_F32, &b->g, &b->logits, err));
    LLX_TRY(llx_graph_add_loss(b->g, b->logits, NULL, 0, &b->loss, err));
    LLX_TRY(llx_graph_compile(b->g, b->be, 1, err));
    size_t n = llx_graph_node_count(b->g);
    b->params = calloc(n, sizeof *b->params);
    b->velocity = calloc(n, sizeof *b->velocity);
    b->w_list = calloc(n, sizeof *b->w_list);
    b->grad_list = calloc(n, sizeof *b->grad_list);
    b->velocity_list = calloc(n, sizeof *b->velocity_list);
    if (!b->params || !b->velocity || !b->w_list || !b->grad_list || !b->velocity_list)
        return llx_errorf(err, LLX_ERR_NOMEM, "bench: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (llx_graph_node_kind(b->g, (llx_node_id)i) != LLX_NODE_PARAM) continue;
        llx_tensor v = *llx_graph_value(b->g, (llx_node_id)i);
        size_t bytes = llx_tensor_bytes(&v);
        v.data = b->be->alloc(b->be, bytes, err);
        if (!v.data) return err ? err->status : LLX_ERR_NOMEM;
        b->velocity_bytes += bytes;
        b->params[b->n_params] = (llx_node_id)i;
        b->w_list[b->n_params] = llx_graph_value(b->g, (llx_node_id)i);
        b->grad_list[b->n_params] = llx_graph_grad(b->g, (llx_node_id)i);
        b->velocity[b->n_params++] = v;
    }
    for (int p = 0; p < b->n_params; p++) b->velocity_list[p] = &b->velocity[p];
    return fill_random(b, err);
}

/* One training step with the SGD update over all parameters (momentum 0.9), queued on the
 * backend. sgd_s: NULL, or where to add the time of the update alone (it then waits for the
 * device before and after the update). */
static llx_status train_step(bench *b, bool first, double *sgd_s, llx_error *err)
{
    const llx_sgd_params sp = {.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4};
    LLX_TRY(llx_graph_zero_grad(b->g, err));
    LLX_TRY(llx_graph_forward(b->g, true, err));
    bool take_step;
    LLX_TRY(llx_loss_scaler_backward(&b->scaler, b->g, b->loss, &take_step, err));
    (void)take_step; /* a skipped step is still timed as a full one */
    double t0 = 0;
    if (sgd_s) {
        LLX_TRY(b->be->sync(b->be, err));
        t0 = now_seconds();
    }
    LLX_TRY(llx_sgd_update_all(b->be, &sp, first, b->n_params, b->w_list, (const llx_tensor *const *)b->grad_list,
                               b->velocity_list, NULL, err));
    if (sgd_s) {
        LLX_TRY(b->be->sync(b->be, err));
        *sgd_s += now_seconds() - t0;
    }
    return LLX_OK;
}

typedef struct bench_result {
    double train_step_s, infer_step_s, train_total_s, sgd_s;
    llx_op_profile ops[MAX_OPS];
    size_t n_ops;
} bench_result;

/* Step times are taken with nothing in between (one wait for the device per step); the
 * per-op breakdown comes from a second, profiled series, since profiling waits for the
 * device around every op, which an asynchronous GPU pays for. */
static llx_status measure(bench *b, int warmup, int steps, bench_result *r, llx_error *err)
{
    double *t = malloc((size_t)steps * sizeof *t);
    if (!t) return llx_errorf(err, LLX_ERR_NOMEM, "bench: out of memory");
    llx_status st = LLX_OK;
    for (int i = 0; i < warmup && st == LLX_OK; i++) st = train_step(b, i == 0, NULL, err);
    if (st == LLX_OK) st = b->be->sync(b->be, err);
    for (int i = 0; i < steps && st == LLX_OK; i++) {
        double t0 = now_seconds();
        st = train_step(b, warmup == 0 && i == 0, NULL, err);
        if (st == LLX_OK) st = b->be->sync(b->be, err);
        t[i] = now_seconds() - t0;
    }
    if (st == LLX_OK) r->train_step_s = median(t, steps);
    llx_graph_profile_reset(b->g);
    llx_graph_set_profile(b->g, true);
    r->sgd_s = r->train_total_s = 0;
    for (int i = 0; i < steps && st == LLX_OK; i++) {
        double t0 = now_seconds();
        st = train_step(b, false, &r->sgd_s, err);
        r->train_total_s += now_seconds() - t0;
    }
    llx_graph_set_profile(b->g, false);
    if (st == LLX_OK) {
        r->n_ops = llx_graph_profile(b->g, r->ops, MAX_OPS);
        if (r->n_ops > MAX_OPS) r->n_ops = MAX_OPS;
    }
    for (int i = 0; i < warmup && st == LLX_OK; i++) st = llx_graph_forward(b->g, false, err);
    if (st == LLX_OK) st = b->be->sync(b->be, err);
    for (int i = 0; i < steps && st == LLX_OK; i++) {
        double t0 = now_seconds();
        st = llx_graph_forward(b->g, false, err);
        if (st == LLX_OK) st = b->be->sync(b->be, err);
        t[i] = now_seconds() - t0;
    }
    if (st == LLX_OK) r->infer_step_s = median(t, steps);
    free(t);
    return st;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* The most memory the backend's allocations held (llx_backend.memory). */
static double device_peak_mib(llx_backend *be)
{
    size_t in_use = 0, peak = 0;
    be->memory(be, &in_use, &peak);
    return (double)peak / 1048576.0;
}

/* --csv's peak: the device's on a GPU (beside torch.cuda.max_memory_allocated), RSS on the CPU. */
static double csv_peak_mib(llx_backend *be)
{
    return be->device == LLX_DEVICE_CPU ? peak_rss_mib() : device_peak_mib(be);
}

static void print_report(const bench_args *a, const bench *b, const bench_result *r)
{
    llx_shape in = llx_graph_node_shape(b->g, llx_graph_input_node(b->g));
    char params[32];
    printf("llx bench %s: batch %d, input %lldx%lldx%lld, %s, median of %d steps after %d warm-up\n", a->exp, b->batch,
           (long long)in.dim[1], (long long)in.dim[2], (long long)in.dim[3], b->be->describe(b->be), a->steps, a->warmup);
    printf("network: %s parameters, %.1f M MACs per sample; convolutions in %s, loss scale %s\n\n",
           cli_thousands(llx_graph_param_count(b->g), params, sizeof params),
           (double)llx_graph_macs(b->g) / 1e6 / b->batch, llx_precision_name(b->be->conv_precision),
           llx_loss_scale_kind_name(b->scaler.kind));
    printf("%-10s %12s %12s\n", "pass", "images/s", "ms/batch");
    printf("%-10s %12.1f %12.2f\n", "train", b->batch / r->train_step_s, 1e3 * r->train_step_s);
    printf("%-10s %12.1f %12.2f\n", "inference", b->batch / r->infer_step_s, 1e3 * r->infer_step_s);
    printf("\nmemory: peak RSS %.1f MiB; %s memory held by llx at most %.1f MiB (graph arenas and workspace "
           "%.1f MiB, SGD velocity %.1f MiB, the rest scratch)\n\n",
           peak_rss_mib(), b->be->name, device_peak_mib(b->be), (double)llx_graph_memory(b->g) / 1048576.0,
           (double)b->velocity_bytes / 1048576.0);

    double steps = a->steps, total = r->train_total_s / steps, ops = 0;
    printf("training step, per op type (a second series of %d steps, profiled: the device is waited for around\n"
           "every op, %.2f ms per step):\n", a->steps, 1e3 * total);
    printf("%-22s %10s %12s %12s %8s\n", "op", "calls/step", "forward ms", "backward ms", "share");
    for (size_t i = 0; i < r->n_ops; i++) {
        const llx_op_profile *o = &r->ops[i];
        double f = o->forward_s / steps, bw = o->backward_s / steps;
        ops += f + bw;
        printf("%-22s %10.0f %12.3f %12.3f %7.1f%%\n", o->op, (double)o->forward_calls / steps, 1e3 * f, 1e3 * bw,
               100 * (f + bw) / total);
    }
    double sgd = r->sgd_s / steps, other = total - ops - sgd;
    printf("%-22s %10d %12s %12.3f %7.1f%%\n", "sgd_update", b->n_params, "", 1e3 * sgd, 100 * sgd / total);
    printf("%-22s %10s %12s %12s %7.1f%%\n", "other (zero_grad, ...)", "", "", "", 100 * (other > 0 ? other : 0) / total);
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    cli_env env;
    if (cli_env_open(&env, a.exp, a.sets, a.n_sets)) return 1;
    llx_error err = {0};
    bench b = {.batch = a.batch, .threads = a.threads, .device = a.device, .no_tf32 = a.no_tf32};
    bench_result *r = calloc(1, sizeof *r);
    llx_status st = r ? bench_create(&b, env.doc, env.reg, &err) : llx_errorf(&err, LLX_ERR_NOMEM, "out of memory");
    if (st == LLX_OK) st = measure(&b, a.warmup, a.steps, r, &err);
    if (st != LLX_OK) {
        rc = cli_fail(&err);
    } else if (a.csv) {
        const char *base = strrchr(a.exp, '/') ? strrchr(a.exp, '/') + 1 : a.exp;
        printf("llx,%.*s,%d,%.2f,%.2f,%.1f\n", (int)strcspn(base, "."), base, b.batch, b.batch / r->train_step_s,
               b.batch / r->infer_step_s, csv_peak_mib(b.be));
    } else {
        print_report(&a, &b, r);
    }
    free(r);
    bench_free(&b);
    cli_env_close(&env);
    return rc;
}
