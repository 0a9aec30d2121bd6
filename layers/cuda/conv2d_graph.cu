/* conv2d_graph.cu: conv2d's three directions through cuDNN's graph ("backend") API
 * (cudnn_graph_v9.h), tried by conv2d.cu before its legacy path.
 *
 * Per problem (direction, shapes, strides, pads, tf32, beta, pointer alignments), once:
 *   1. tensors x (N,C,H,W), w (O,C,KH,KW), y (N,O,OH,OW): F32, NCHW fully packed, uids 1/2/3,
 *      byte alignment = what the call's pointers guarantee (up to 16, part of the key);
 *      a convolution descriptor (2 spatial dims, F32 compute, cross-correlation, dilation 1);
 *      one operation (forward: alpha 1, beta 0; backward data / filter: alpha 1, beta 1, as
 *      llx's gradients accumulate, or beta 0 for a fresh gradient: cuDNN's own frontend
 *      always builds beta 0, so some engines may take only that); an operation graph of it;
 *   2. engine configs from the heuristics, mode A, then mode FALLBACK for engines A did not
 *      give; each filtered by its engine's notes: DOWN_CONVERT_INPUTS never (as PyTorch);
 *      TENSOR_CORE (for F32 data: TF32) only when tf32; RUNTIME_COMPILATION only with
 *      LLX_CUDNN_RTC=1 (NVRTC finalizes are slow, and every new shape searches);
 *   3. an execution plan for each of the first k_max_timed usable configs (those whose
 *      finalize fails or whose workspace exceeds min(free/2, 4 GiB) are skipped), timed
 *      with events on the backend's stream (1 warm-up, min of 2), reading the real inputs
 *      but writing a temporary output (the real backward outputs accumulate);
 *   4. the fastest plan is kept in the backend's cache (llx_cuda_cache_put stores bytes: a
 *      pointer to a heap graph_plan). Plans and the descriptors they were built from live
 *      until the process ends (the cache frees only its bytes): a few dozen per network.
 * If any of this fails, a null plan is cached and conv2d.cu uses the legacy API for the
 * problem from then on (one line under LLX_CUDA_VERBOSE=1 with the failing step, cuDNN's
 * status and its last error text, and how many plans failed to finalize or to run).
 *
 * After the search a call builds a variant pack (uids 1, 2, 3 with the pointers in the same
 * order, the workspace from llx_cuda_scratch) and runs cudnnBackendExecute on the backend's
 * handle (bound to its stream); no host sync.
 *
 * The default since an H200 ran it (2026-11-28, tools/gpu_check_notes.md): test_gpu_ops
 * passed on it, test_gpu_network failed only where the legacy path failed too (CBAM's
 * cancelling BN sum), all problems of the tests and benchmarks ran on graph plans (none fell
 * back), and ResNet-18's training step went from 18.5 to 16.1 ms. LLX_CUDNN_API=legacy skips
 * it. */
#include "conv2d_graph.h"
#include "cudnn_owned.cuh"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace
{

const char *const k_dir_name[] = {"forward", "backward data", "backward filter"};
constexpr int64_t k_uid[3] = {1, 2, 3}; /* x, w, y */
constexpr int k_max_configs = 64;       /* asked of each heuristics mode */
constexpr int k_max_timed = 12;         /* plans built and timed per problem */
constexpr size_t k_workspace_cap = (size_t)4 << 30;

/* Owns one backend descriptor; release() hands it over. */
using bdesc = cudnn_backend;

/* What the search keeps; never freed (see the file comment). */
struct graph_plan {
    cudnnBackendDescriptor_t plan, cfg, graph, op, conv, tx, tw, ty;
    int64_t workspace; /* bytes */
};

struct graph_key {
    char tag[8]; /* "conv2dg" */
    int32_t dir, n, c, h, w, o, kh, kw, sh, sw, ph, pw, tf32, beta, align_x, align_w, align_y;
};
struct graph_val {
    graph_plan *plan; /* null: use the legacy API */
};

/* Why the search gave up: the failing step and its status (for the verbose line). */
struct search_ctx {
    const llx_conv2d_graph_problem *p;
    cudnnHandle_t h;
    const char *what = nullptr;
    cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
    char detail[256] = ""; /* cudnnGetLastErrorString at the failure */
    int failed_finalize = 0, failed_run = 0; /* plans */
};

/* Records a failing cuDNN status under `name`, with cuDNN's own text; true on success. */
bool ok(search_ctx *ctx, cudnnStatus_t s, const char *name)
{
    if (s == CUDNN_STATUS_SUCCESS) return true;
    ctx->what = name;
    ctx->status = s;
    cudnnGetLastErrorString(ctx->detail, sizeof ctx->detail);
    return false;
}
/* cudnnBackend{CreateDescriptor,SetAttribute,GetAttribute,Finalize}, recorded under `name`. */
bool create(search_ctx *ctx, cudnnBackendDescriptorType_t type, bdesc *out, const char *name)
{
    return ok(ctx, cudnnBackendCreateDescriptor(type, &out->d), name);
}
bool set(search_ctx *ctx, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
         cudnnBackendAttributeType_t t, int64_t n, const void *v, const char *name)
{
    return ok(ctx, cudnnBackendSetAttribute(d, a, t, n, v), name);
}
bool get(search_ctx *ctx, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
         cudnnBackendAttributeType_t t, int64_t n, int64_t *got, void *v, const char *name)
{
    return ok(ctx, cudnnBackendGetAttribute(d, a, t, n, got, v), name);
}
bool finalize(search_ctx *ctx, cudnnBackendDescriptor_t d, const char *name)
{
    return ok(ctx, cudnnBackendFinalize(d), name);
}

/* The largest power of two <= 16 that divides the address. */
int32_t align_of(const void *ptr)
{
    const uintptr_t a = (uintptr_t)ptr;
    int32_t al = 16;
    while (al > 1 && a % (uintptr_t)al != 0)
        al /= 2;
    return al;
}

/* ------------------------------------------------------------------ the operation graph */

/* CUDNN_BACKEND_TENSOR_DESCRIPTOR: F32, dims, NCHW packed strides, uid, alignment. */
bool make_tensor(search_ctx *ctx, const int64_t dims[4], int64_t uid, int64_t align, bdesc *t)
{
    const int64_t strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
    const cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    return create(ctx, CUDNN_BACKEND_TENSOR_DESCRIPTOR, t, "create tensor") &&
           set(ctx, t->d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt, "tensor DATA_TYPE") &&
           set(ctx, t->d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims, "tensor DIMENSIONS") &&
           set(ctx, t->d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides, "tensor STRIDES") &&
           set(ctx, t->d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor UNIQUE_ID") &&
           set(ctx, t->d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align,
               "tensor BYTE_ALIGNMENT") &&
           finalize(ctx, t->d, "tensor finalize");
}

/* CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: 2-D cross-correlation, F32 compute. */
bool make_conv(search_ctx *ctx, bdesc *cv)
{
    const llx_conv2d_graph_problem &p = *ctx->p;
    const int64_t dims = 2, dil[2] = {1, 1}, stride[2] = {p.sh, p.sw}, pad[2] = {p.ph, p.pw};
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    const cudnnBackendDescriptor_t d =
        create(ctx, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, cv, "create convolution") ? cv->d : nullptr;
    return d &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims,
               "conv SPATIAL_DIMS") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp, "conv COMP_TYPE") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode,
               "conv CONV_MODE") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil, "conv DILATIONS") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride,
               "conv FILTER_STRIDES") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad, "conv PRE_PADDINGS") &&
           set(ctx, d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad,
               "conv POST_PADDINGS") &&
           finalize(ctx, d, "convolution finalize");
}

/* The operation of the direction: its descriptor type and attribute names, in the order
 * alpha, beta, conv, then the tensors x, w, y under their per-direction names. */
struct op_names {
    cudnnBackendDescriptorType_t type;
    cudnnBackendAttributeName_t alpha, beta, conv, x, w, y;
};
const op_names k_ops[3] = {
    {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
     CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
     CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
     CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y},
    {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY},
    {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY},
};

/* The beta of a problem: forward and fresh gradients overwrite, other gradients accumulate. */
float beta_of(const llx_conv2d_graph_problem &p)
{
    return p.dir == LLX_CONV2D_GRAPH_FWD || p.overwrite ? 0.0f : 1.0f;
}

/* CUDNN_BACKEND_OPERATION_CONVOLUTION_*_DESCRIPTOR. Alpha and beta as CUDNN_TYPE_FLOAT: the
 * data and compute type are F32 (the backend accepts FLOAT or DOUBLE scaling factors). */
bool make_op(search_ctx *ctx, const bdesc &cv, const bdesc &tx, const bdesc &tw, const bdesc &ty, bdesc *op)
{
    const op_names &k = k_ops[ctx->p->dir];
    const float alpha = 1.0f, beta = beta_of(*ctx->p);
    const cudnnBackendAttributeType_t D = CUDNN_TYPE_BACKEND_DESCRIPTOR;
    return create(ctx, k.type, op, "create operation") &&
           set(ctx, op->d, k.alpha, CUDNN_TYPE_FLOAT, 1, &alpha, "operation ALPHA") &&
           set(ctx, op->d, k.beta, CUDNN_TYPE_FLOAT, 1, &beta, "operation BETA") &&
           set(ctx, op->d, k.conv, D, 1, &cv.d, "operation CONV_DESC") &&
           set(ctx, op->d, k.x, D, 1, &tx.d, "operation X / DX") &&
           set(ctx, op->d, k.w, D, 1, &tw.d, "operation W / DW") &&
           set(ctx, op->d, k.y, D, 1, &ty.d, "operation Y / DY") &&
           finalize(ctx, op->d, "operation finalize");
}

/* CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: OPS = {op}, HANDLE = the backend's handle. */
bool make_graph(search_ctx *ctx, const bdesc &op, bdesc *graph)
{
    return create(ctx, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, graph, "create operation graph") &&
           set(ctx, graph->d, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op.d,
               "operation graph OPS") &&
           set(ctx, graph->d, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &ctx->h,
               "operation graph HANDLE") &&
           finalize(ctx, graph->d, "operation graph finalize");
}

/* ------------------------------------------------------------------ engine configs */

struct candidate {
    bdesc cfg;
    int64_t engine = -1; /* CUDNN_ATTR_ENGINE_GLOBAL_INDEX */
    bool tensor_core = false;
};

struct config_list {
    candidate c[2 * k_max_configs];
    int n = 0, from_a = 0, from_fallback = 0, rejected_tc = 0, rejected_precision = 0, rejected_rtc = 0;
};

/* Whether cfg's engine may run this problem, from CUDNN_ATTR_ENGINE_NUMERICAL_NOTE; fills
 * the engine's global index and tensor-core note. */
bool engine_ok(search_ctx *ctx, candidate *k, config_list *l)
{
    bdesc eng; /* ENGINECFG_ENGINE fills a descriptor the caller created */
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t got = 0, n_notes = 0;
    if (!create(ctx, CUDNN_BACKEND_ENGINE_DESCRIPTOR, &eng, "create engine") ||
        !get(ctx, k->cfg.d, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got, &eng.d,
             "engine config ENGINE") ||
        !get(ctx, eng.d, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &got, &k->engine,
             "engine GLOBAL_INDEX") ||
        !get(ctx, eng.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
             CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n_notes, notes, "engine NUMERICAL_NOTE"))
        return false;
    for (int64_t i = 0; i < n_notes && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; i++) {
        if (notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) { /* below TF32: as PyTorch */
            l->rejected_precision++;
            return false;
        }
        if (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE) k->tensor_core = true;
    }
    /* Engines compiled at run time (NVRTC) can take a second each to finalize, and every new
     * shape (a test's, a short last batch's) searches: they are left out unless
     * LLX_CUDNN_RTC=1. An engine whose behaviour notes cannot be read is kept. */
    cudnnBackendBehaviorNote_t behaviour[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
    int64_t n_behaviour = 0;
    if (cudnnBackendGetAttribute(eng.d, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE,
                                 CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &n_behaviour, behaviour) ==
            CUDNN_STATUS_SUCCESS &&
        !llx_cuda_env()->rtc)
        for (int64_t i = 0; i < n_behaviour && i < CUDNN_BEHAVIOR_NOTE_TYPE_COUNT; i++)
            if (behaviour[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) {
                l->rejected_rtc++;
                return false;
            }
    if (k->tensor_core && !ctx->p->tf32) {
        l->rejected_tc++;
        return false;
    }
    return true;
}

/* Appends to l the usable configs of heuristics mode `mode` (CUDNN_BACKEND_ENGINEHEUR_
 * DESCRIPTOR: OPERATION_GRAPH, MODE; RESULTS after finalize), skipping engines already in l
 * when skip_known. A mode that fails adds nothing. */
void add_configs(search_ctx *ctx, const bdesc &graph, cudnnBackendHeurMode_t mode, bool skip_known,
                 config_list *l)
{
    bdesc heur;
    int64_t count = 0; /* RESULTS with 0 requested: only the number of results */
    if (!create(ctx, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur, "create heuristics") ||
        !set(ctx, heur.d, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph.d,
             "heuristics OPERATION_GRAPH") ||
        !set(ctx, heur.d, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics MODE") ||
        !finalize(ctx, heur.d, "heuristics finalize") ||
        !get(ctx, heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr,
             "heuristics RESULTS (count)"))
        return;
    if (count > k_max_configs) count = k_max_configs;
    /* RESULTS fills descriptors the caller created as CUDNN_BACKEND_ENGINECFG_DESCRIPTOR. */
    bdesc cfgs[k_max_configs];
    cudnnBackendDescriptor_t raw[k_max_configs];
    for (int64_t i = 0; i < count; i++) {
        if (!create(ctx, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfgs[i], "create engine config")) return;
        raw[i] = cfgs[i].d;
    }
    int64_t got = 0;
    if (count <= 0 || !get(ctx, heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                           &got, raw, "heuristics RESULTS"))
        return;
    for (int64_t i = 0; i < got && i < count; i++) {
        candidate &k = l->c[l->n];
        k.cfg.d = cfgs[i].release();
        k.engine = -1;
        k.tensor_core = false;
        bool keep = engine_ok(ctx, &k, l);
        for (int j = 0; keep && skip_known && j < l->n; j++)
            keep = l->c[j].engine != k.engine;
        if (!keep) {
            cudnnBackendDestroyDescriptor(k.cfg.release());
            continue;
        }
        l->n++;
        (mode == CUDNN_HEUR_MODE_FALLBACK ? l->from_fallback : l->from_a)++;
    }
}

/* ------------------------------------------------------------------ plans and timing */

/* CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: HANDLE, ENGINE_CONFIG; WORKSPACE_SIZE after
 * finalize. */
bool make_plan(search_ctx *ctx, const bdesc &cfg, bdesc *plan, int64_t *workspace)
{
    int64_t got = 0;
    return create(ctx, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, plan, "create plan") &&
           set(ctx, plan->d, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &ctx->h,
               "plan HANDLE") &&
           set(ctx, plan->d, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
               &cfg.d, "plan ENGINE_CONFIG") &&
           finalize(ctx, plan->d, "plan finalize") &&
           get(ctx, plan->d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &got, workspace,
               "plan WORKSPACE_SIZE");
}

/* CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: UNIQUE_IDS {1, 2, 3} and DATA_POINTERS {x, w, y}
 * index for index, WORKSPACE. */
bool make_varpack(search_ctx *ctx, void *const ptrs[3], void *workspace, bdesc *vp)
{
    void *data[3] = {ptrs[0], ptrs[1], ptrs[2]};
    return create(ctx, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, vp, "create variant pack") &&
           set(ctx, vp->d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, k_uid,
               "variant pack UNIQUE_IDS") &&
           set(ctx, vp->d, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, data,
               "variant pack DATA_POINTERS") &&
           set(ctx, vp->d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace,
               "variant pack WORKSPACE") &&
           finalize(ctx, vp->d, "variant pack finalize");
}

/* Owns the events and device buffers of the search. */
struct search_mem {
    cudaEvent_t ev[3] = {nullptr, nullptr, nullptr};
    void *out = nullptr, *ws = nullptr;
    ~search_mem()
    {
        for (cudaEvent_t e : ev)
            if (e) cudaEventDestroy(e);
        if (ws) cudaFree(ws);
        if (out) cudaFree(out);
        (void)cudaGetLastError(); /* a failed allocation must not reach llx_cuda_launched */
    }
};

/* The time of plan (ms, min of 2 after a warm-up), or a negative number if it fails. */
float time_plan(llx_backend *be, search_ctx *ctx, const bdesc &plan, int64_t workspace, void *const ptrs[3],
                search_mem *m)
{
    if (m->ws) cudaFree(m->ws);
    m->ws = nullptr;
    if (workspace > 0 && cudaMalloc(&m->ws, (size_t)workspace) != cudaSuccess) {
        (void)cudaGetLastError();
        m->ws = nullptr;
        return -1.0f;
    }
    bdesc vp;
    if (!make_varpack(ctx, ptrs, m->ws, &vp)) return -1.0f;
    cudaStream_t st = llx_cuda_stream(be);
    if (cudnnBackendExecute(ctx->h, plan.d, vp.d) != CUDNN_STATUS_SUCCESS) return -1.0f;
    bool ok = cudaEventRecord(m->ev[0], st) == cudaSuccess;
    ok = ok && cudnnBackendExecute(ctx->h, plan.d, vp.d) == CUDNN_STATUS_SUCCESS;
    ok = ok && cudaEventRecord(m->ev[1], st) == cudaSuccess;
    ok = ok && cudnnBackendExecute(ctx->h, plan.d, vp.d) == CUDNN_STATUS_SUCCESS;
    ok = ok && cudaEventRecord(m->ev[2], st) == cudaSuccess;
    ok = ok && cudaEventSynchronize(m->ev[2]) == cudaSuccess;
    float t1 = 0, t2 = 0;
    ok = ok && cudaEventElapsedTime(&t1, m->ev[0], m->ev[1]) == cudaSuccess &&
         cudaEventElapsedTime(&t2, m->ev[1], m->ev[2]) == cudaSuccess;
    if (!ok) {
        (void)cudaGetLastError();
        return -1.0f;
    }
    return t1 < t2 ? t1 : t2;
}

/* The whole search for one problem; true with *out set, or false with ctx->what set. */
bool search(llx_backend *be, search_ctx *ctx, void *const real[3], const int32_t align[3], graph_plan **out)
{
    const llx_conv2d_graph_problem &p = *ctx->p;
    const int64_t dx[4] = {p.n, p.c, p.h, p.w}, dw[4] = {p.o, p.c, p.kh, p.kw},
                  dy[4] = {p.n, p.o, p.oh, p.ow};
    bdesc tx, tw, ty, cv, op, graph;
    if (!make_tensor(ctx, dx, k_uid[0], align[0], &tx) || !make_tensor(ctx, dw, k_uid[1], align[1], &tw) ||
        !make_tensor(ctx, dy, k_uid[2], align[2], &ty) || !make_conv(ctx, &cv) ||
        !make_op(ctx, cv, tx, tw, ty, &op) || !make_graph(ctx, op, &graph))
        return false;

    config_list l; /* about 3 KiB */
    add_configs(ctx, graph, CUDNN_HEUR_MODE_A, false, &l);
    if (l.n < k_max_timed) add_configs(ctx, graph, CUDNN_HEUR_MODE_FALLBACK, true, &l);
    if (l.n == 0) {
        if (!ctx->what) ctx->what = "no engine config from the heuristics passes the numerical-note filter";
        if (ctx->status == CUDNN_STATUS_SUCCESS) ctx->status = CUDNN_STATUS_NOT_SUPPORTED;
        return false;
    }
    ctx->what = nullptr; /* a failed mode or engine query above no longer matters */
    ctx->status = CUDNN_STATUS_SUCCESS;

    size_t cap = k_workspace_cap, free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess && free_b / 2 < cap) cap = free_b / 2;
    (void)cudaGetLastError();
    search_mem m;
    const int64_t out_dims[3][4] = {{p.n, p.o, p.oh, p.ow}, {p.n, p.c, p.h, p.w}, {p.o, p.c, p.kh, p.kw}};
    const int out_slot[3] = {2, 0, 1}; /* y forward, x (dx) backward data, w (dw) filter */
    const int64_t *od = out_dims[p.dir];
    const size_t out_bytes = (size_t)(od[0] * od[1] * od[2] * od[3]) * sizeof(float);
    cudaStream_t st = llx_cuda_stream(be);
    if (cudaMalloc(&m.out, out_bytes) != cudaSuccess ||
        cudaMemsetAsync(m.out, 0, out_bytes, st) != cudaSuccess) {
        ctx->what = "allocating the search's temporary output";
        ctx->status = CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
        return false;
    }
    for (cudaEvent_t &e : m.ev)
        if (cudaEventCreate(&e) != cudaSuccess) {
            ctx->what = "creating the search's events";
            ctx->status = CUDNN_STATUS_INTERNAL_ERROR;
            return false;
        }
    void *ptrs[3] = {real[0], real[1], real[2]};
    ptrs[out_slot[p.dir]] = m.out;

    int best = -1, tried = 0;
    float best_ms = 0;
    bdesc best_plan;
    int64_t best_ws = 0;
    for (int i = 0; i < l.n && tried < k_max_timed; i++) {
        bdesc plan;
        int64_t ws = 0;
        if (!make_plan(ctx, l.c[i].cfg, &plan, &ws)) {
            ctx->failed_finalize++;
            continue;
        }
        if (ws < 0 || (uint64_t)ws > cap) continue;
        tried++;
        const float ms = time_plan(be, ctx, plan, ws, ptrs, &m);
        if (ms < 0) ctx->failed_run++;
        if (ms < 0 || (best >= 0 && ms >= best_ms)) continue;
        best = i, best_ms = ms, best_ws = ws;
        if (best_plan.d) cudnnBackendDestroyDescriptor(best_plan.d);
        best_plan.d = plan.release();
    }
    if (best < 0) {
        if (tried || !ctx->what)
            ctx->what = tried ? "every timed plan failed to run" : "no plan within the workspace cap";
        if (ctx->status == CUDNN_STATUS_SUCCESS) ctx->status = CUDNN_STATUS_NOT_SUPPORTED;
        return false;
    }
    graph_plan *gp = new (std::nothrow) graph_plan;
    if (!gp) {
        ctx->what = "out of host memory";
        ctx->status = CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
        return false;
    }
    const candidate &k = l.c[best];
    if (llx_cuda_env()->verbose)
        fprintf(stderr,
                "llx cuda: conv2d %s x (%d, %d, %d, %d) w (%d, %d, %d, %d) s%dx%d p%dx%d tf32 %d "
                "align %d/%d/%d: graph engine %lld%s, %.3f ms, workspace %lld bytes; %d timed of "
                "%d configs (%d heuristics A, %d fallback; rejected %d tensor-core, %d "
                "down-converting, %d run-time compiled; %d failed to finalize, %d to run); beta %g\n",
                k_dir_name[p.dir], p.n, p.c, p.h, p.w, p.o, p.c, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw,
                (int)p.tf32, align[0], align[1], align[2], (long long)k.engine,
                k.tensor_core ? " (tensor cores)" : "", (double)best_ms, (long long)best_ws, tried, l.n,
                l.from_a, l.from_fallback, l.rejected_tc, l.rejected_precision, l.rejected_rtc,
                ctx->failed_finalize, ctx->failed_run, (double)beta_of(p));
    /* Everything the plan was built from stays alive with it (never destroyed). */
    *gp = graph_plan{best_plan.release(),
                     l.c[best].cfg.release(),
                     graph.release(),
                     op.release(),
                     cv.release(),
                     tx.release(),
                     tw.release(),
                     ty.release(),
                     best_ws};
    *out = gp;
    return true;
}

} // namespace

llx_status llx_cuda_conv2d_graph(llx_backend *be, const llx_conv2d_graph_problem *p, void *x, void *w,
                                 void *y, bool *done, llx_error *err)
{
    *done = false;
    if (!llx_cuda_env()->graph_conv) return LLX_OK;
    const int32_t align[3] = {align_of(x), align_of(w), align_of(y)};
    graph_key key;
    memset(&key, 0, sizeof key);
    memcpy(key.tag, "conv2dg", 7);
    key.dir = p->dir, key.n = p->n, key.c = p->c, key.h = p->h, key.w = p->w, key.o = p->o;
    key.kh = p->kh, key.kw = p->kw, key.sh = p->sh, key.sw = p->sw, key.ph = p->ph, key.pw = p->pw;
    key.tf32 = p->tf32 ? 1 : 0;
    key.beta = (int32_t)beta_of(*p);
    key.align_x = align[0], key.align_w = align[1], key.align_y = align[2];
    graph_val val{nullptr};
    if (!llx_cuda_cache_get(be, &key, sizeof key, &val, sizeof val)) {
        search_ctx ctx;
        ctx.p = p;
        ctx.h = llx_cuda_cudnn(be);
        void *const real[3] = {x, w, y};
        if (!search(be, &ctx, real, align, &val.plan)) {
            val.plan = nullptr;
            if (llx_cuda_env()->verbose)
                fprintf(stderr,
                        "llx cuda: conv2d %s x (%d, %d, %d, %d) w (%d, %d, %d, %d) s%dx%d p%dx%d "
                        "tf32 %d beta %g: graph API unusable (%s: %s; %s; %d plans failed to finalize, "
                        "%d to run); legacy API from now on\n",
                        k_dir_name[p->dir], p->n, p->c, p->h, p->w, p->o, p->c, p->kh, p->kw, p->sh, p->sw,
                        p->ph, p->pw, (int)p->tf32, (double)beta_of(*p), ctx.what ? ctx.what : "?",
                        cudnnGetErrorString(ctx.status), ctx.detail[0] ? ctx.detail : "no cuDNN detail",
                        ctx.failed_finalize, ctx.failed_run);
        }
        LLX_TRY(llx_cuda_cache_put(be, &key, sizeof key, &val, sizeof val, err));
    }
    if (!val.plan) return LLX_OK;

    /* Nothing has run yet: a workspace or variant pack that cannot be had makes the problem
     * legacy from now on, rather than an error: the legacy path can still run it. */
    void *ws = nullptr;
    llx_error scratch_err = {};
    search_ctx ctx;
    ctx.p = p;
    ctx.h = llx_cuda_cudnn(be);
    void *const ptrs[3] = {x, w, y};
    bdesc vp;
    const bool ready = llx_cuda_scratch(be, (size_t)val.plan->workspace, &ws, &scratch_err) == LLX_OK &&
                       make_varpack(&ctx, ptrs, ws, &vp);
    if (!ready) {
        (void)cudaGetLastError();
        if (llx_cuda_env()->verbose)
            fprintf(stderr, "llx cuda: conv2d %s: graph plan not runnable (%s); legacy API from now on\n",
                    k_dir_name[p->dir], scratch_err.msg[0] ? scratch_err.msg : ctx.what);
        val.plan = nullptr;
        LLX_TRY(llx_cuda_cache_put(be, &key, sizeof key, &val, sizeof val, err));
        return LLX_OK;
    }
    ctx.what = "cudnnBackendExecute";
    ctx.status = cudnnBackendExecute(ctx.h, val.plan->plan, vp.d);
    if (ctx.status != CUDNN_STATUS_SUCCESS) {
        char buf[256];
        snprintf(
            buf, sizeof buf,
            "conv2d %s (graph API): %s (x (%d, %d, %d, %d), w (%d, %d, %d, %d), stride %dx%d, pad %dx%d)",
            k_dir_name[p->dir], ctx.what, p->n, p->c, p->h, p->w, p->o, p->c, p->kh, p->kw, p->sh, p->sw,
            p->ph, p->pw);
        return llx_cudnn_check(ctx.status, buf, err);
    }
    *done = true;
    return LLX_OK;
}
