/* conv_blas_vs_onednn.c: llx's conv2d op (im2col + OpenBLAS sgemm) against oneDNN
 * convolution primitives, fp32, on the convolution shapes of ResNet-18.
 *
 * Per shape it times, median of REPS calls after WARM warm-up calls:
 *   llx   the built-in conv2d op through llx_op_forward / llx_op_backward (NCHW; backward run
 *         once with only dx requested, once with only dw requested);
 *   nchw  oneDNN forward_training / backward_data / backward_weights on plain nchw / oihw
 *         memory (the same buffers llx uses; the results are checked against llx's);
 *   any   the same primitives with format_tag_any: the layouts oneDNN picks (blocked).
 *         Reorders are outside the timed loop; "reord" is the time of the reorders one
 *         training step of this conv needs when its neighbours stay NCHW (x, w, y for
 *         forward; dy, w, dx for backward-data; x, dy, dw for backward-weights, skipping
 *         ones whose layout is already plain or already converted by an earlier pass).
 * Network totals weight each shape by how often ResNet-18 has it; the stem's backward-data
 * is counted 0 there (the input needs no gradient).
 *
 * Usage: conv_blas_vs_onednn [reps [112|48]]   (default 5, both networks; threads from
 * OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#include "llx/llx.h"

int openblas_get_parallel(void); /* OpenBLAS: 0 sequential, 1 pthreads, 2 OpenMP */
char *openblas_get_config(void);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

#define WARM 2
static int REPS = 5;

#define CHK(x)                                                                               \
    do {                                                                                     \
        dnnl_status_t s_ = (x);                                                              \
        if (s_ != dnnl_success) {                                                            \
            fprintf(stderr, "%s:%d: %s: dnnl status %d\n", __FILE__, __LINE__, #x, (int)s_); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

typedef struct conv_shape {
    const char *name;
    int n, c, hw, o, k, s, p; /* input (n, c, hw, hw), weight (o, c, k, k), stride, pad */
    int count;                /* occurrences in ResNet-18 */
    int need_dx;              /* 0: network input, no gradient */
} conv_shape;

/* torchvision ResNet-18 at 112x112, batch 32: 7x7/2 stem -> 56, max-pool -> 28. */
static const conv_shape resnet112[] = {
    {"stem 7x7/2 3->64 @112", 32, 3, 112, 64, 7, 2, 3, 1, 0},
    {"l1 3x3 64->64 @28", 32, 64, 28, 64, 3, 1, 1, 4, 1},
    {"l2.0 3x3/2 64->128 @28", 32, 64, 28, 128, 3, 2, 1, 1, 1},
    {"l2.0 ds 1x1/2 64->128 @28", 32, 64, 28, 128, 1, 2, 0, 1, 1},
    {"l2 3x3 128->128 @14", 32, 128, 14, 128, 3, 1, 1, 3, 1},
    {"l3.0 3x3/2 128->256 @14", 32, 128, 14, 256, 3, 2, 1, 1, 1},
    {"l3.0 ds 1x1/2 128->256 @14", 32, 128, 14, 256, 1, 2, 0, 1, 1},
    {"l3 3x3 256->256 @7", 32, 256, 7, 256, 3, 1, 1, 3, 1},
    {"l4.0 3x3/2 256->512 @7", 32, 256, 7, 512, 3, 2, 1, 1, 1},
    {"l4.0 ds 1x1/2 256->512 @7", 32, 256, 7, 512, 1, 2, 0, 1, 1},
    {"l4 3x3 512->512 @4", 32, 512, 4, 512, 3, 1, 1, 3, 1},
};
/* Small stem (experiments/resnet18_small_stem.yaml) at 48x48, batch 64: 3x3/1 stem, no
 * max-pool, so the stages run at 48, 24, 12, 6. */
static const conv_shape resnet48[] = {
    {"stem 3x3 3->64 @48", 64, 3, 48, 64, 3, 1, 1, 1, 0},
    {"l1 3x3 64->64 @48", 64, 64, 48, 64, 3, 1, 1, 4, 1},
    {"l2.0 3x3/2 64->128 @48", 64, 64, 48, 128, 3, 2, 1, 1, 1},
    {"l2.0 ds 1x1/2 64->128 @48", 64, 64, 48, 128, 1, 2, 0, 1, 1},
    {"l2 3x3 128->128 @24", 64, 128, 24, 128, 3, 1, 1, 3, 1},
    {"l3.0 3x3/2 128->256 @24", 64, 128, 24, 256, 3, 2, 1, 1, 1},
    {"l3.0 ds 1x1/2 128->256 @24", 64, 128, 24, 256, 1, 2, 0, 1, 1},
    {"l3 3x3 256->256 @12", 64, 256, 12, 256, 3, 1, 1, 3, 1},
    {"l4.0 3x3/2 256->512 @12", 64, 256, 12, 512, 3, 2, 1, 1, 1},
    {"l4.0 ds 1x1/2 256->512 @12", 64, 256, 12, 512, 1, 2, 0, 1, 1},
    {"l4 3x3 512->512 @6", 64, 512, 6, 512, 3, 1, 1, 3, 1},
};

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms of REPS calls of fn(ctx) after WARM warm-up calls. */
static double time_ms(void (*fn)(void *), void *ctx)
{
    double t[64];
    for (int i = 0; i < WARM; i++) fn(ctx);
    for (int i = 0; i < REPS; i++) {
        double t0 = now_ms();
        fn(ctx);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)REPS, sizeof t[0], cmp_double);
    return t[REPS / 2];
}

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
}

/* ---- llx ---- */
typedef struct llx_run {
    llx_op_call call;
    int mode; /* 0 forward, 1 backward-data, 2 backward-weights */
} llx_run;

static void llx_step(void *ctx)
{
    llx_run *r = ctx;
    llx_error err;
    llx_status st = r->mode == 0 ? llx_op_forward(&r->call, &err) : llx_op_backward(&r->call, &err);
    if (st != LLX_OK) {
        fprintf(stderr, "llx conv2d: %s\n", err.msg);
        exit(1);
    }
}

/* ---- oneDNN ---- */
typedef struct dnnl_run {
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[4];
} dnnl_run;

static void dnnl_step(void *ctx)
{
    dnnl_run *r = ctx;
    CHK(dnnl_primitive_execute(r->prim, strm, r->nargs, r->args));
    CHK(dnnl_stream_wait(strm));
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *handle)
{
    dnnl_memory_t m;
    CHK(dnnl_memory_create(&m, md, eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
    void *p;
    CHK(dnnl_memory_get_data_handle(m, &p));
    if (!handle && p) fill(p, dnnl_memory_desc_get_size(md) / sizeof(float), 7);
    return m;
}

/* Sets up r for pd: each (arg, query) gets memory of the pd's layout for that query, or the
 * given plain buffer (user[i] != NULL, nchw runs); plus the scratchpad. */
static void dnnl_setup(dnnl_run *r, dnnl_primitive_desc_t pd, const int *arg,
                       const dnnl_query_t *q, float *const *user)
{
    CHK(dnnl_primitive_create(&r->prim, pd));
    r->nargs = 0;
    for (int i = 0; i < 3; i++)
        r->args[r->nargs++] = (dnnl_exec_arg_t){arg[i], mem(dnnl_primitive_desc_query_md(pd, q[i], 0),
                                                            user ? user[i] : NULL)};
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp && dnnl_memory_desc_get_size(sp) > 0)
        r->args[r->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mem(sp, NULL)};
}

static void dnnl_free_run(dnnl_run *r)
{
    for (int i = 0; i < r->nargs; i++) dnnl_memory_destroy(r->args[i].memory);
    dnnl_primitive_destroy(r->prim);
}

/* The three convolution primitive descs for s; tag: dnnl_nchw or dnnl_format_tag_any. */
static void conv_pds(const conv_shape *s, dnnl_format_tag_t tag, dnnl_primitive_desc_t pd[3])
{
    int oh = (s->hw + 2 * s->p - s->k) / s->s + 1;
    dnnl_dims_t xd = {s->n, s->c, s->hw, s->hw}, wd = {s->o, s->c, s->k, s->k},
                yd = {s->n, s->o, oh, oh}, st = {s->s, s->s}, pad = {s->p, s->p};
    dnnl_memory_desc_t x, w, y;
    CHK(dnnl_memory_desc_init_by_tag(&x, 4, xd, dnnl_f32, tag));
    CHK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, tag == dnnl_nchw ? dnnl_oihw : tag));
    CHK(dnnl_memory_desc_init_by_tag(&y, 4, yd, dnnl_f32, tag));
    dnnl_convolution_desc_t cd;
    CHK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                           &x, &w, NULL, &y, st, pad, pad));
    CHK(dnnl_primitive_desc_create(&pd[0], &cd, NULL, eng, NULL));
    CHK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &x, &w, &y, st,
                                                 pad, pad));
    CHK(dnnl_primitive_desc_create(&pd[1], &cd, NULL, eng, pd[0]));
    CHK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &x, &w, NULL,
                                                    &y, st, pad, pad));
    CHK(dnnl_primitive_desc_create(&pd[2], &cd, NULL, eng, pd[0]));
}

static const int ARGS[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                               {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                               {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}};
static const dnnl_query_t QS[3][3] = {
    {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
    {dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md},
    {dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md}};

static const char *impl_name(dnnl_primitive_desc_t pd)
{
    const char *s = "?";
    CHK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
    return s;
}

/* ms of one reorder between a plain layout and md (0 when md is already plain). */
static double reorder_ms(const dnnl_memory_desc_t *md, int weights, int to_plain)
{
    dnnl_memory_desc_t plain;
    CHK(dnnl_memory_desc_init_by_tag(&plain, 4, md->dims, dnnl_f32, weights ? dnnl_oihw : dnnl_nchw));
    if (dnnl_memory_desc_equal(&plain, md)) return 0;
    const dnnl_memory_desc_t *from = to_plain ? md : &plain, *to = to_plain ? &plain : md;
    dnnl_primitive_desc_t pd;
    CHK(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL));
    dnnl_run r;
    CHK(dnnl_primitive_create(&r.prim, pd));
    r.nargs = 2;
    r.args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, mem(from, NULL)};
    r.args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, mem(to, NULL)};
    double t = time_ms(dnnl_step, &r);
    dnnl_free_run(&r);
    dnnl_primitive_desc_destroy(pd);
    return t;
}

/* Reorders one training step needs around the "any" primitives (see the top comment). */
static double step_reorders(dnnl_primitive_desc_t pd[3], int need_dx)
{
#define MD(i, q) dnnl_primitive_desc_query_md(pd[i], q, 0)
    double t = reorder_ms(MD(0, dnnl_query_src_md), 0, 0) +
               reorder_ms(MD(0, dnnl_query_weights_md), 1, 0) +
               reorder_ms(MD(0, dnnl_query_dst_md), 0, 1) +
               reorder_ms(MD(2, dnnl_query_diff_weights_md), 1, 1);
    if (need_dx) {
        t += reorder_ms(MD(1, dnnl_query_diff_dst_md), 0, 0) +
             reorder_ms(MD(1, dnnl_query_diff_src_md), 0, 1);
        if (!dnnl_memory_desc_equal(MD(1, dnnl_query_weights_md), MD(0, dnnl_query_weights_md)))
            t += reorder_ms(MD(1, dnnl_query_weights_md), 1, 0);
    }
    if (!dnnl_memory_desc_equal(MD(2, dnnl_query_src_md), MD(0, dnnl_query_src_md)))
        t += reorder_ms(MD(2, dnnl_query_src_md), 0, 0);
    if (!need_dx ||
        !dnnl_memory_desc_equal(MD(2, dnnl_query_diff_dst_md), MD(1, dnnl_query_diff_dst_md)))
        t += reorder_ms(MD(2, dnnl_query_diff_dst_md), 0, 0);
    return t;
#undef MD
}

static double max_rel_err(const float *a, const float *b, size_t n)
{
    double m = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return m / scale;
}

typedef struct result {
    double t[3][3]; /* [llx, nchw, any][fwd, bwd-data, bwd-weights] ms */
    double reord;
} result;

static result bench_shape(const conv_shape *s, llx_backend *be)
{
    result res = {0};
    const llx_op_desc *op = llx_builtin_op(LLX_OP_CONV2D);
    llx_conv2d_attr attr = {s->s, s->s, s->p, s->p};
    llx_shape shp[2] = {llx_shape4(s->n, s->c, s->hw, s->hw), llx_shape4(s->o, s->c, s->k, s->k)};
    llx_shape ys;
    llx_error err;
    if (op->infer(&attr, shp, 2, &ys, &err) != LLX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    size_t nx = (size_t)llx_shape_numel(&shp[0]), nw = (size_t)llx_shape_numel(&shp[1]),
           ny = (size_t)llx_shape_numel(&ys);
    float *buf[9]; /* x w y dx dw dy | y dx dw from oneDNN nchw */
    size_t sz[9] = {nx, nw, ny, nx, nw, ny, ny, nx, nw};
    for (int i = 0; i < 9; i++) buf[i] = calloc(sz[i], sizeof(float));
    fill(buf[0], nx, 1), fill(buf[1], nw, 2), fill(buf[5], ny, 3);
    llx_tensor t[6];
    for (int i = 0; i < 6; i++)
        t[i] = (llx_tensor){.name = "t", .dtype = LLX_F32, .device = LLX_DEVICE_CPU,
                            .shape = i == 1 || i == 4 ? shp[1] : i == 0 || i == 3 ? shp[0] : ys,
                            .data = buf[i]};
    size_t wsb = op->workspace_bytes(&attr, shp, 2, &ys, LLX_F32);
    void *ws = malloc(wsb + 1);
    llx_run lr = {.call = {.op = op, .attr = &attr, .n_in = 2, .in = {&t[0], &t[1]}, .out = &t[2],
                           .dout = &t[5], .workspace = ws, .training = true, .backend = be}};

    /* oneDNN on the same plain buffers, then with the layouts it picks. */
    dnnl_primitive_desc_t pn[3], pa[3];
    conv_pds(s, dnnl_nchw, pn);
    conv_pds(s, dnnl_format_tag_any, pa);
    float *user[3][3] = {{buf[0], buf[1], buf[6]}, {buf[5], buf[1], buf[7]}, {buf[0], buf[5], buf[8]}};
    dnnl_run rn[3], ra[3];
    for (int i = 0; i < 3; i++) {
        dnnl_setup(&rn[i], pn[i], ARGS[i], QS[i], user[i]);
        dnnl_setup(&ra[i], pa[i], ARGS[i], QS[i], NULL);
    }

    /* Check once: llx (dx, dw start at 0) against oneDNN nchw. */
    for (int m = 0; m < 3; m++) {
        lr.mode = m;
        lr.call.din[0] = m == 1 ? &t[3] : NULL;
        lr.call.din[1] = m == 2 ? &t[4] : NULL;
        llx_step(&lr);
        dnnl_step(&rn[m]);
    }
    double e[3] = {max_rel_err(buf[2], buf[6], ny), max_rel_err(buf[3], buf[7], nx),
                   max_rel_err(buf[4], buf[8], nw)};
    if (e[0] > 1e-4 || e[1] > 1e-4 || e[2] > 1e-4)
        fprintf(stderr, "WARNING %s: llx vs oneDNN relative error y %.2g dx %.2g dw %.2g\n",
                s->name, e[0], e[1], e[2]);

    for (int m = 0; m < 3; m++) {
        lr.mode = m;
        lr.call.din[0] = m == 1 ? &t[3] : NULL;
        lr.call.din[1] = m == 2 ? &t[4] : NULL;
        res.t[0][m] = time_ms(llx_step, &lr);
        res.t[1][m] = time_ms(dnnl_step, &rn[m]);
        res.t[2][m] = time_ms(dnnl_step, &ra[m]);
    }
    res.reord = step_reorders(pa, s->need_dx);
    printf("  %-28s nchw: %s / %s / %s   any: %s / %s / %s\n", s->name, impl_name(pn[0]),
           impl_name(pn[1]), impl_name(pn[2]), impl_name(pa[0]), impl_name(pa[1]),
           impl_name(pa[2]));

    for (int i = 0; i < 3; i++) {
        dnnl_free_run(&rn[i]);
        dnnl_free_run(&ra[i]);
        dnnl_primitive_desc_destroy(pn[i]);
        dnnl_primitive_desc_destroy(pa[i]);
    }
    for (int i = 0; i < 9; i++) free(buf[i]);
    free(ws);
    return res;
}

static void bench_net(const char *title, const conv_shape *sh, int n, llx_backend *be)
{
    result r[16];
    printf("\n%s\nimplementations (fwd / bwd-data / bwd-weights):\n", title);
    for (int i = 0; i < n; i++) r[i] = bench_shape(&sh[i], be);
    printf("\nms per call: fwd / bwd-data / bwd-weights; reord = reorders per training step of "
           "'any' with NCHW neighbours\n");
    printf("| shape | x | llx fwd | bd | bw | nchw fwd | bd | bw | any fwd | bd | bw | reord | "
           "llx/any |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    double tot[3] = {0}, reord = 0;
    for (int i = 0; i < n; i++) {
        double sum[3];
        printf("| %s | %d ", sh[i].name, sh[i].count);
        for (int k = 0; k < 3; k++) {
            sum[k] = 0;
            for (int m = 0; m < 3; m++) {
                printf("| %.2f ", r[i].t[k][m]);
                if (m != 1 || sh[i].need_dx) sum[k] += r[i].t[k][m];
            }
            tot[k] += sh[i].count * sum[k];
        }
        reord += sh[i].count * r[i].reord;
        printf("| %.2f | %.1fx |\n", r[i].reord, sum[0] / sum[2]);
    }
    printf("\nResNet-18 convs, one forward+backward (ms): llx %.0f | oneDNN nchw %.0f | "
           "oneDNN any %.0f (+ %.0f reorders = %.0f)\n",
           tot[0], tot[1], tot[2], reord, tot[2] + reord);
    printf("ratios: llx/nchw %.2fx, llx/any %.2fx, llx/(any+reorders) %.2fx\n", tot[0] / tot[1],
           tot[0] / tot[2], tot[0] / (tot[2] + reord));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) REPS = atoi(argv[1]);
    if (REPS < 1 || REPS > 64) REPS = 5;
    llx_backend *be;
    llx_error err;
    if (llx_backend_cpu_create(0, &be, &err) != LLX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    const char *par[] = {"sequential", "pthreads", "OpenMP"};
    int p = openblas_get_parallel();
    printf("llx backend: %s | OpenBLAS: %s (%s, %d threads, core %s) | oneDNN %d.%d.%d (cpu runtime %s) "
           "| median of %d after %d warm-up\n",
           be->describe(be), openblas_get_config(), p >= 0 && p < 3 ? par[p] : "?",
           openblas_get_num_threads(), openblas_get_corename(), v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", REPS, WARM);
    const char *which = argc > 2 ? argv[2] : "all";
    if (strcmp(which, "48") != 0)
        bench_net("== ResNet-18, 112x112, batch 32 ==", resnet112,
                  (int)(sizeof resnet112 / sizeof resnet112[0]), be);
    if (strcmp(which, "112") != 0)
        bench_net("== ResNet-18 small stem, 48x48, batch 64 ==", resnet48,
                  (int)(sizeof resnet48 / sizeof resnet48[0]), be);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    llx_backend_free(be);
    return 0;
}
