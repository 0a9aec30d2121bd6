/* conv2d.cu: the CUDA kernels of conv2d (F32, NCHW; half-precision arithmetic in mixed
 * precision) on cuDNN, as layers/conv2d.c:
 *
 *   y[n,o,i,j] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] * x[n, c, i*sh - ph + kh, j*sw - pw + kw]
 *
 * x (N, C, H, W), w (O, C, KH, KW), optional b (O) -> y (N, O, OH, OW); cross-correlation,
 * zero padding, groups 1, no dilation. Gradients accumulate (beta = 1): dx += ..., dw += ...,
 * db += sum dy, or are written (beta = 0) where c->din_fresh says so; a NULL din[i] is
 * skipped.
 *
 * Graph API first. Each direction is first offered to conv2d_graph.cu (cuDNN's graph API,
 * whose engines include ones the legacy algorithm enum does not reach, e.g. Hopper kernels);
 * with LLX_CUDNN_API=legacy, or when it is unusable for the problem, the legacy API below
 * runs it. The bias (cudnnAddTensor / cudnnConvolutionBackwardBias) is legacy always.
 *
 * Mixed precision (be->conv_precision BF16 or F16, llx/precision.h). The convolution runs
 * on half copies of its operands, on the legacy API only (conv2d_graph.cu is F32 NCHW and
 * takes its workspace from the scratch itself, which here holds the copies):
 *   forward          x -> x half (N,H,W,C), w -> w half (O,KH,KW,C: cuDNN's NHWC filter
 *                    format, KRSC); cuDNN writes y half (N,OH,OW,O), widened into the F32
 *                    NCHW output; then the bias is added in F32 to that output (as above)
 *   backward filter  x half, dy half -> dw half (O,KH,KW,C), written into or added to dw
 *   backward data    w half, dy half -> dx half (N,H,W,C), written into or added to dx
 *   bias gradient    from the F32 dy, as above
 * Rounding: the F32 operands round to nearest, ties to even (half_cast.cu); cuDNN multiplies
 * the half values (exactly), accumulates in F32 (compute type CUDNN_DATA_FLOAT: cuDNN's
 * PSEUDO_HALF / PSEUDO_BFLOAT16 configurations) and rounds its result to the half type; the
 * CPU (layers/conv2d.c) computes the same up to the order of the F32 sums. The half results
 * are computed with beta 0 and then written or added (c->din_fresh) in F32 by the widening
 * kernel. Scratch: the algorithms are chosen first (their workspace sizes), then ONE
 * llx_cuda_scratch request holds the copies and the workspace, in pieces at 256-byte
 * boundaries: forward [x | w | y | workspace]; backward [dy | x, then dx | dw, then w |
 * larger workspace] (the reuse is safe in stream order: the filter gradient is finished
 * with x half and dw half before the data gradient writes them). The algorithm choice below
 * is the same, with half data allowed tensor-op math as F32 is with tf32 (be->tf32 plays no
 * part), and the precision in the key.
 *
 * Algorithms (legacy path). Each direction (forward, backward data, backward filter) has its algorithm
 * chosen once per exact problem, key = (direction, N, C, H, W, O, KH, KW, strides, pads,
 * tf32, precision), and kept in the backend's cache (llx_cuda_cache_get/put): a short last
 * batch is a new N and so a new key. The choice:
 *   1. cudnnFind*Algorithm (the variants that allocate their own buffers, so our tensors and
 *      the accumulating gradients are never touched), which times every algorithm; the
 *      fastest result with status SUCCESS, an acceptable math type (below) and a workspace
 *      within the cap (1 GiB, or half the free device memory if that is less) wins;
 *   2. if Find fails or nothing fits, the same filter over cudnnGet*Algorithm_v7 (heuristics);
 *   3. last resort: IMPLICIT_GEMM / BWD_DATA_ALGO_1 / BWD_FILTER_ALGO_1, which need no
 *      workspace and support every geometry.
 * The workspace comes from the backend's shared scratch (llx_cuda_scratch) on every call.
 * LLX_CUDA_VERBOSE=1 in the environment prints each choice to stderr ("tf32 0/1" for F32
 * operands, "bf16 NHWC" / "fp16 NHWC" for half copies).
 *
 * Math. be->tf32 true: the descriptor starts at CUDNN_DEFAULT_MATH (TF32 tensor cores allowed
 * for F32, PyTorch's default for convolutions); Find may report a result with another math
 * type (TENSOR_OP), and the descriptor is then set to the reported one for the run, as cuDNN
 * asks; TENSOR_OP_MATH_ALLOW_CONVERSION (down-conversion below TF32) is never taken.
 * be->tf32 false: CUDNN_FMA_MATH (true F32) for the search and every run. cuDNN's Find also
 * tries DEFAULT_MATH for algorithms that have no tensor-core variant; such results are
 * accepted after the FMA-labelled ones, but still run with FMA_MATH, so TF32 never happens.
 *
 * Descriptors are made per call (microseconds) and destroyed on every path by a scoped
 * holder. The legacy cuDNN API is deprecated in cuDNN 9 but warns only under
 * CUDNN_WARN_DEPRECATED, which this build does not define. */
#include "conv2d_graph.h"
#include "cuda_impl.h"
#include "cudnn_owned.cuh"
#include "half_cast.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

enum conv_dir { DIR_FWD = 0, DIR_BWD_DATA = 1, DIR_BWD_FILTER = 2 };
static_assert((int)DIR_FWD == (int)LLX_CONV2D_GRAPH_FWD &&
                  (int)DIR_BWD_DATA == (int)LLX_CONV2D_GRAPH_BWD_DATA &&
                  (int)DIR_BWD_FILTER == (int)LLX_CONV2D_GRAPH_BWD_FILTER,
              "conv2d.cu and conv2d_graph.h number the directions alike");
const char *const k_dir_name[] = {"forward", "backward data", "backward filter"};

constexpr size_t k_workspace_cap = (size_t)1 << 30;

/* Cache key: plain int32 fields after an 8-byte tag, so no padding; zeroed before filling. */
struct conv_key {
    char tag[8]; /* "conv2d": keeps our entries apart from other users of the cache */
    int32_t dir, n, c, h, w, o, kh, kw, sh, sw, ph, pw, tf32;
    int32_t prec; /* llx_precision of the operands: F32 (0) keys never meet half ones */
};

struct conv_choice {
    int32_t algo;     /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    int32_t math;     /* cudnnMathType_t to set on the descriptor for the run */
    uint64_t workspace; /* bytes */
};

struct conv_geom {
    int n, c, h, w, o, kh, kw, oh, ow, sh, sw, ph, pw;
};

/* The descriptors of one call, destroyed whatever the path out. x, y, w describe the
 * convolution's operands: F32 NCHW, or the half NHWC copies in mixed precision; y32 (half
 * with a bias only) the F32 NCHW output or dy that the bias add and the bias gradient use. */
struct conv_descs {
    cudnn_tensor x, y, bias, y32;
    cudnn_filter w;
    cudnn_conv conv;
    cudnnTensorDescriptor_t y_f32() const { return y32.d ? y32.d : y.d; }
};

/* A failing cuDNN call: the message names the call and the problem. */
llx_status conv_fail(cudnnStatus_t s, const conv_geom &g, const char *what, llx_error *err)
{
    char buf[256];
    snprintf(buf, sizeof buf,
             "conv2d: %s (x (%d, %d, %d, %d), w (%d, %d, %d, %d), stride %dx%d, pad %dx%d)",
             what, g.n, g.c, g.h, g.w, g.o, g.c, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
    return llx_cudnn_check(s, buf, err);
}

#define CONV_TRY(call, what)                                                                  \
    do {                                                                                      \
        cudnnStatus_t conv_s_ = (call);                                                       \
        if (conv_s_ != CUDNN_STATUS_SUCCESS) return conv_fail(conv_s_, g, (what), err);       \
    } while (0)

/* Geometry from the tensors of the call; y: the output's shape (out or dout). */
llx_status geom_of(const llx_op_call *c, const llx_shape *y, conv_geom *g, llx_error *err)
{
    const llx_shape *x = &c->in[0]->shape, *w = &c->in[1]->shape;
    const llx_conv2d_attr *a = (const llx_conv2d_attr *)c->attr;
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || w->dim[1] != x->dim[1] ||
        y->dim[0] != x->dim[0] || y->dim[1] != w->dim[0])
        return llx_errorf(err, LLX_ERR_SHAPE, "conv2d (cuda): input, weight and output do not fit");
    const int64_t dims[] = {x->dim[0], x->dim[1], x->dim[2], x->dim[3], w->dim[0],
                            w->dim[2], w->dim[3], y->dim[2], y->dim[3]};
    for (int64_t d : dims)
        if (d < 0 || d > INT_MAX)
            return llx_errorf(err, LLX_ERR_UNSUPPORTED, "conv2d (cuda): dimension %lld too large",
                              (long long)d);
    if (llx_shape_numel(x) > INT_MAX || llx_shape_numel(y) > INT_MAX ||
        llx_shape_numel(w) > INT_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "conv2d (cuda): tensors over 2^31 elements are not supported by cuDNN's "
                          "legacy convolutions; use a smaller batch");
    *g = conv_geom{(int)x->dim[0], (int)x->dim[1], (int)x->dim[2], (int)x->dim[3],
                   (int)w->dim[0], (int)w->dim[2], (int)w->dim[3], (int)y->dim[2],
                   (int)y->dim[3], a->stride_h,    a->stride_w,    a->pad_h,
                   a->pad_w};
    return LLX_OK;
}

/* The cuDNN data type of the operands of precision p. */
cudnnDataType_t data_type_of(llx_precision p)
{
    return p == LLX_PRECISION_BF16  ? CUDNN_DATA_BFLOAT16
           : p == LLX_PRECISION_F16 ? CUDNN_DATA_HALF
                                    : CUDNN_DATA_FLOAT;
}

/* x, y, w of precision prec (F32: NCHW; half: NHWC, the filter KRSC), F32 compute either way;
 * with_bias: the F32 NCHW bias (and, for half, y32). */
llx_status make_descs(const conv_geom &g, llx_precision prec, bool with_bias, conv_descs *d,
                      llx_error *err)
{
    const bool half = prec != LLX_PRECISION_F32;
    const cudnnDataType_t dt = data_type_of(prec);
    const cudnnTensorFormat_t fmt = half ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    CONV_TRY(cudnnCreateTensorDescriptor(&d->x.d), "cudnnCreateTensorDescriptor");
    CONV_TRY(cudnnSetTensor4dDescriptor(d->x, fmt, dt, g.n, g.c, g.h, g.w),
             "cudnnSetTensor4dDescriptor (x)");
    CONV_TRY(cudnnCreateTensorDescriptor(&d->y.d), "cudnnCreateTensorDescriptor");
    CONV_TRY(cudnnSetTensor4dDescriptor(d->y, fmt, dt, g.n, g.o, g.oh, g.ow),
             "cudnnSetTensor4dDescriptor (y)");
    CONV_TRY(cudnnCreateFilterDescriptor(&d->w.d), "cudnnCreateFilterDescriptor");
    CONV_TRY(cudnnSetFilter4dDescriptor(d->w, dt, fmt, g.o, g.c, g.kh, g.kw),
             "cudnnSetFilter4dDescriptor");
    CONV_TRY(cudnnCreateConvolutionDescriptor(&d->conv.d), "cudnnCreateConvolutionDescriptor");
    CONV_TRY(cudnnSetConvolution2dDescriptor(d->conv, g.ph, g.pw, g.sh, g.sw, 1, 1,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
             "cudnnSetConvolution2dDescriptor");
    int n = 0, ch = 0, oh = 0, ow = 0;
    CONV_TRY(cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &n, &ch, &oh, &ow),
             "cudnnGetConvolution2dForwardOutputDim");
    if (n != g.n || ch != g.o || oh != g.oh || ow != g.ow)
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv2d (cuda): cuDNN computes output (%d, %d, %d, %d) but the output "
                          "tensor is (%d, %d, %d, %d)",
                          n, ch, oh, ow, g.n, g.o, g.oh, g.ow);
    if (with_bias) {
        CONV_TRY(cudnnCreateTensorDescriptor(&d->bias.d), "cudnnCreateTensorDescriptor");
        CONV_TRY(cudnnSetTensor4dDescriptor(d->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g.o,
                                            1, 1),
                 "cudnnSetTensor4dDescriptor (bias)");
    }
    if (with_bias && half) {
        CONV_TRY(cudnnCreateTensorDescriptor(&d->y32.d), "cudnnCreateTensorDescriptor");
        CONV_TRY(cudnnSetTensor4dDescriptor(d->y32, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g.n, g.o,
                                            g.oh, g.ow),
                 "cudnnSetTensor4dDescriptor (y, F32)");
    }
    return LLX_OK;
}

/* ---------------------------------------------------------------- algorithm choice */

struct candidate {
    int algo;
    cudnnStatus_t status;
    size_t memory;
    cudnnMathType_t math;
    float time; /* ms (Find) or -1 (heuristics) */
};

constexpr int k_max_candidates = 16;

template <class Perf> int copy_perf(const Perf *r, int got, bool timed, candidate *out)
{
    int n = 0;
    for (int i = 0; i < got && n < k_max_candidates; i++, n++)
        out[n] = candidate{(int)r[i].algo, r[i].status, r[i].memory, r[i].mathType,
                           timed ? r[i].time : -1.0f};
    return n;
}

/* The algorithms cuDNN offers for dir: timed by Find (heuristic false) or ranked by the
 * heuristics. */
cudnnStatus_t list_algos(cudnnHandle_t h, const conv_descs &d, int dir, bool heuristic,
                         candidate *out, int *n)
{
    *n = 0;
    int got = 0;
    cudnnStatus_t s;
    if (dir == DIR_FWD) {
        cudnnConvolutionFwdAlgoPerf_t r[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        const int req = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        s = heuristic
                ? cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, req, &got, r)
                : cudnnFindConvolutionForwardAlgorithm(h, d.x, d.w, d.conv, d.y, req, &got, r);
        if (s == CUDNN_STATUS_SUCCESS) *n = copy_perf(r, got, !heuristic, out);
    } else if (dir == DIR_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        const int req = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
        s = heuristic ? cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, req,
                                                                    &got, r)
                      : cudnnFindConvolutionBackwardDataAlgorithm(h, d.w, d.y, d.conv, d.x, req,
                                                                  &got, r);
        if (s == CUDNN_STATUS_SUCCESS) *n = copy_perf(r, got, !heuristic, out);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        const int req = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
        s = heuristic ? cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                                      req, &got, r)
                      : cudnnFindConvolutionBackwardFilterAlgorithm(h, d.x, d.y, d.conv, d.w, req,
                                                                    &got, r);
        if (s == CUDNN_STATUS_SUCCESS) *n = copy_perf(r, got, !heuristic, out);
    }
    return s;
}

/* Workspace of algo for dir with the math type already set on d.conv; also tells whether
 * cuDNN accepts the combination. */
cudnnStatus_t workspace_of(cudnnHandle_t h, const conv_descs &d, int dir, int algo,
                           size_t *bytes)
{
    *bytes = 0;
    if (dir == DIR_FWD)
        return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                                       (cudnnConvolutionFwdAlgo_t)algo, bytes);
    if (dir == DIR_BWD_DATA)
        return cudnnGetConvolutionBackwardDataWorkspaceSize(
            h, d.w, d.y, d.conv, d.x, (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, d.x, d.y, d.conv, d.w, (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
}

/* Whether a result with math type m may be used in this pass (see the file comment). */
bool math_ok(cudnnMathType_t m, bool tf32, int pass)
{
    if (tf32) return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    return pass == 0 ? m == CUDNN_FMA_MATH : m == CUDNN_DEFAULT_MATH;
}

const char *math_name(int m)
{
    switch (m) {
    case CUDNN_DEFAULT_MATH: return "default";
    case CUDNN_TENSOR_OP_MATH: return "tensor-op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor-op-conversion";
    case CUDNN_FMA_MATH: return "fma";
    default: return "?";
    }
}

/* Picks from cand the first usable candidate (the lists come fastest first). */
bool pick(cudnnHandle_t h, const conv_descs &d, int dir, bool tf32, size_t cap,
          const candidate *cand, int n, conv_choice *out, float *time)
{
    for (int pass = 0; pass < (tf32 ? 1 : 2); pass++)
        for (int i = 0; i < n; i++) {
            const candidate &k = cand[i];
            if (k.status != CUDNN_STATUS_SUCCESS || !math_ok(k.math, tf32, pass)) continue;
            if (k.memory > cap) continue;
            const cudnnMathType_t run = tf32 ? k.math : CUDNN_FMA_MATH;
            if (cudnnSetConvolutionMathType(d.conv, run) != CUDNN_STATUS_SUCCESS) continue;
            size_t ws = 0;
            if (workspace_of(h, d, dir, k.algo, &ws) != CUDNN_STATUS_SUCCESS) continue;
            if (k.memory > ws) ws = k.memory;
            if (ws > cap) continue;
            *out = conv_choice{k.algo, (int32_t)run, (uint64_t)ws};
            *time = k.time;
            return true;
        }
    return false;
}

llx_status choose(llx_backend *be, const conv_geom &g, const conv_descs &d, int dir, bool tf32,
                  llx_precision prec, conv_choice *out, llx_error *err)
{
    cudnnHandle_t h = llx_cuda_cudnn(be);
    size_t cap = k_workspace_cap, free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        if (free_b / 2 < cap) cap = free_b / 2;
    } else {
        (void)cudaGetLastError(); /* not sticky: only the cap is lost */
    }
    const cudnnMathType_t base = tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    candidate cand[k_max_candidates];
    const char *source = nullptr;
    float time = -1.0f;
    cudnnStatus_t find_status = CUDNN_STATUS_SUCCESS;
    for (int heuristic = 0; heuristic < 2 && !source; heuristic++) {
        CONV_TRY(cudnnSetConvolutionMathType(d.conv, base), "cudnnSetConvolutionMathType");
        int n = 0;
        cudnnStatus_t s = list_algos(h, d, dir, heuristic != 0, cand, &n);
        /* Find allocates with cudaMalloc; an allocation it could not make (an algorithm
         * reported as ALLOC_FAILED) must not linger as the last CUDA error, where the next
         * llx_cuda_launched would find it. */
        (void)cudaGetLastError();
        if (!heuristic) find_status = s;
        if (s != CUDNN_STATUS_SUCCESS) continue;
        if (pick(h, d, dir, tf32, cap, cand, n, out, &time))
            source = heuristic ? "heuristics" : "find";
    }
    if (!source) {
        /* Workspace-free algorithms that cuDNN supports for every 2-D geometry. */
        static const int fallback[] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1};
        CONV_TRY(cudnnSetConvolutionMathType(d.conv, base), "cudnnSetConvolutionMathType");
        size_t ws = 0;
        char what[128];
        snprintf(what, sizeof what, "no usable %s algorithm (Find: %s)", k_dir_name[dir],
                 cudnnGetErrorString(find_status));
        CONV_TRY(workspace_of(h, d, dir, fallback[dir], &ws), what);
        *out = conv_choice{fallback[dir], (int32_t)base, (uint64_t)ws};
        source = "fallback";
    }
    if (llx_cuda_env()->verbose) {
        char mode[32]; /* "tf32 0/1" for F32 data, "bf16 NHWC" / "fp16 NHWC" for half copies */
        if (prec == LLX_PRECISION_F32)
            snprintf(mode, sizeof mode, "tf32 %d", (int)tf32);
        else
            snprintf(mode, sizeof mode, "%s NHWC", llx_precision_name(prec));
        fprintf(stderr,
                "llx cuda: conv2d %s x (%d, %d, %d, %d) w (%d, %d, %d, %d) s%dx%d p%dx%d "
                "%s: algo %d (%s), math %s, workspace %llu bytes, %.3f ms\n",
                k_dir_name[dir], g.n, g.c, g.h, g.w, g.o, g.c, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                mode, (int)out->algo, source, math_name(out->math),
                (unsigned long long)out->workspace, (double)time);
    }
    return LLX_OK;
}

/* The algorithm for dir on operands of precision prec (d made for it): from the cache, or
 * chosen now and cached. Leaves the descriptor's math type set for the run. */
llx_status algo_for(llx_backend *be, const conv_geom &g, llx_precision prec, const conv_descs &d,
                    int dir, conv_choice *out, llx_error *err)
{
    /* Half operands: tensor-op math allowed (as TF32 is for F32 data when be->tf32), whatever
     * be->tf32 says; never ALLOW_CONVERSION (math_ok). */
    const bool tf32 = prec != LLX_PRECISION_F32 || be->tf32;
    conv_key key;
    memset(&key, 0, sizeof key);
    memcpy(key.tag, "conv2d", 6);
    key.dir = dir;
    key.n = g.n, key.c = g.c, key.h = g.h, key.w = g.w, key.o = g.o, key.kh = g.kh,
    key.kw = g.kw;
    key.sh = g.sh, key.sw = g.sw, key.ph = g.ph, key.pw = g.pw;
    key.tf32 = tf32 ? 1 : 0;
    key.prec = (int32_t)prec;
    if (!llx_cuda_cache_get(be, &key, sizeof key, out, sizeof *out)) {
        LLX_TRY(choose(be, g, d, dir, tf32, prec, out, err));
        LLX_TRY(llx_cuda_cache_put(be, &key, sizeof key, out, sizeof *out, err));
    }
    CONV_TRY(cudnnSetConvolutionMathType(d.conv, (cudnnMathType_t)out->math),
             "cudnnSetConvolutionMathType");
    return LLX_OK;
}

const float k_one = 1.0f, k_zero = 0.0f;

/* Direction dir through the graph API (conv2d_graph.h); *done false: use the legacy API. */
llx_status run_graph(llx_backend *be, const conv_geom &g, int dir, bool overwrite, const void *x, const void *w,
                     const void *y, bool *done, llx_error *err)
{
    const llx_conv2d_graph_problem p{dir,  g.n,  g.c,  g.h,  g.w,  g.o,  g.kh,     g.kw,      g.oh,
                                     g.ow, g.sh, g.sw, g.ph, g.pw, be->tf32, overwrite};
    return llx_cuda_conv2d_graph(be, &p, const_cast<void *>(x), const_cast<void *>(w),
                                 const_cast<void *>(y), done, err);
}

/* ---------------------------------------------------------------- mixed precision */

/* Appends a piece of `bytes` to a scratch layout of *total bytes and returns its offset: a
 * multiple of 256 (the scratch is cudaMalloc'd; cuDNN wants NHWC half operands 16-byte
 * aligned). */
size_t piece(size_t *total, size_t bytes)
{
    const size_t at = *total;
    *total += (bytes + 255) & ~(size_t)255;
    return at;
}

/* The forward convolution on half copies. Scratch: [x half | w half | y half | workspace]. */
llx_status forward_half(llx_backend *be, const conv_geom &g, llx_precision prec, const conv_descs &d,
                        const float *x, const float *w, float *y, llx_error *err)
{
    conv_choice ch;
    LLX_TRY(algo_for(be, g, prec, d, DIR_FWD, &ch, err));
    const size_t e = llx_precision_bytes(prec);
    const int64_t px = (int64_t)g.h * g.w, pw = (int64_t)g.kh * g.kw, py = (int64_t)g.oh * g.ow;
    size_t total = 0;
    const size_t at_x = piece(&total, (size_t)((int64_t)g.n * g.c * px) * e);
    const size_t at_w = piece(&total, (size_t)((int64_t)g.o * g.c * pw) * e);
    const size_t at_y = piece(&total, (size_t)((int64_t)g.n * g.o * py) * e);
    const size_t at_ws = piece(&total, (size_t)ch.workspace);
    void *base = nullptr;
    LLX_TRY(llx_cuda_scratch(be, total, &base, err));
    char *s = static_cast<char *>(base);
    LLX_TRY(llx_cuda_to_half_nhwc(be, prec, x, s + at_x, g.n, g.c, px, err));
    LLX_TRY(llx_cuda_to_half_nhwc(be, prec, w, s + at_w, g.o, g.c, pw, err));
    CONV_TRY(cudnnConvolutionForward(llx_cuda_cudnn(be), &k_one, d.x, s + at_x, d.w, s + at_w, d.conv,
                                     (cudnnConvolutionFwdAlgo_t)ch.algo, s + at_ws,
                                     (size_t)ch.workspace, &k_zero, d.y, s + at_y),
             "cudnnConvolutionForward (half)");
    return llx_cuda_from_half_nhwc(be, prec, s + at_y, y, g.n, g.o, py, false, err);
}

/* dw and dx (those asked for) on half copies. Both algorithms are chosen first, then one
 * scratch holds [dy half | x half, later dx half | dw half, later w half | workspace (the
 * larger one)]: on the stream the filter gradient's convolution has read x half, and dw half
 * has been widened into dw, before the data gradient's cast and convolution overwrite them.
 * Each half gradient is computed fresh (beta 0) and then written into, or added to, the F32
 * gradient (c->din_fresh). */
llx_status backward_half(const llx_op_call *c, const conv_geom &g, llx_precision prec,
                         const conv_descs &d, llx_error *err)
{
    llx_backend *be = c->backend;
    llx_tensor *dx = c->din[0], *dw = c->din[1];
    if (!dx && !dw) return LLX_OK;
    conv_choice cf{}, cd{};
    if (dw) LLX_TRY(algo_for(be, g, prec, d, DIR_BWD_FILTER, &cf, err));
    if (dx) LLX_TRY(algo_for(be, g, prec, d, DIR_BWD_DATA, &cd, err));
    const size_t e = llx_precision_bytes(prec);
    const int64_t px = (int64_t)g.h * g.w, pw = (int64_t)g.kh * g.kw, py = (int64_t)g.oh * g.ow;
    size_t total = 0;
    const size_t at_dy = piece(&total, (size_t)((int64_t)g.n * g.o * py) * e);
    const size_t at_x = piece(&total, (size_t)((int64_t)g.n * g.c * px) * e);
    const size_t at_w = piece(&total, (size_t)((int64_t)g.o * g.c * pw) * e);
    const size_t at_ws = piece(&total, (size_t)(cf.workspace > cd.workspace ? cf.workspace : cd.workspace));
    void *base = nullptr;
    LLX_TRY(llx_cuda_scratch(be, total, &base, err));
    char *s = static_cast<char *>(base);
    cudnnHandle_t h = llx_cuda_cudnn(be);
    LLX_TRY(llx_cuda_to_half_nhwc(be, prec, static_cast<const float *>(c->dout->data), s + at_dy, g.n, g.o,
                                  py, err));
    if (dw) {
        LLX_TRY(llx_cuda_to_half_nhwc(be, prec, static_cast<const float *>(c->in[0]->data), s + at_x, g.n,
                                      g.c, px, err));
        CONV_TRY(cudnnSetConvolutionMathType(d.conv, (cudnnMathType_t)cf.math),
                 "cudnnSetConvolutionMathType");
        CONV_TRY(cudnnConvolutionBackwardFilter(h, &k_one, d.x, s + at_x, d.y, s + at_dy, d.conv,
                                                (cudnnConvolutionBwdFilterAlgo_t)cf.algo, s + at_ws,
                                                (size_t)cf.workspace, &k_zero, d.w, s + at_w),
                 "cudnnConvolutionBackwardFilter (half)");
        LLX_TRY(llx_cuda_from_half_nhwc(be, prec, s + at_w, static_cast<float *>(dw->data), g.o, g.c, pw,
                                        !llx_cuda_fresh(c, 1), err));
    }
    if (dx) {
        LLX_TRY(llx_cuda_to_half_nhwc(be, prec, static_cast<const float *>(c->in[1]->data), s + at_w, g.o,
                                      g.c, pw, err));
        CONV_TRY(cudnnSetConvolutionMathType(d.conv, (cudnnMathType_t)cd.math),
                 "cudnnSetConvolutionMathType");
        CONV_TRY(cudnnConvolutionBackwardData(h, &k_one, d.w, s + at_w, d.y, s + at_dy, d.conv,
                                              (cudnnConvolutionBwdDataAlgo_t)cd.algo, s + at_ws,
                                              (size_t)cd.workspace, &k_zero, d.x, s + at_x),
                 "cudnnConvolutionBackwardData (half)");
        LLX_TRY(llx_cuda_from_half_nhwc(be, prec, s + at_x, static_cast<float *>(dx->data), g.n, g.c, px,
                                        !llx_cuda_fresh(c, 0), err));
    }
    return LLX_OK;
}

} // namespace

extern "C" llx_status llx_cuda_conv2d_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    conv_geom g{};
    LLX_TRY(geom_of(c, &c->out->shape, &g, err));
    if (g.n == 0) return LLX_OK;
    const bool with_bias = c->n_in > 2;
    llx_backend *be = c->backend;
    const llx_precision prec = be->conv_precision;
    conv_descs d;
    LLX_TRY(make_descs(g, prec, with_bias, &d, err));
    cudnnHandle_t h = llx_cuda_cudnn(be);
    bool done = false;
    if (prec != LLX_PRECISION_F32) {
        LLX_TRY(forward_half(be, g, prec, d, static_cast<const float *>(c->in[0]->data),
                             static_cast<const float *>(c->in[1]->data), static_cast<float *>(c->out->data),
                             err));
        done = true;
    } else {
        LLX_TRY(run_graph(be, g, DIR_FWD, true, c->in[0]->data, c->in[1]->data, c->out->data, &done, err));
    }
    if (!done) {
        conv_choice ch;
        LLX_TRY(algo_for(be, g, prec, d, DIR_FWD, &ch, err));
        void *ws = nullptr;
        LLX_TRY(llx_cuda_scratch(be, (size_t)ch.workspace, &ws, err));
        CONV_TRY(cudnnConvolutionForward(h, &k_one, d.x, c->in[0]->data, d.w, c->in[1]->data,
                                         d.conv, (cudnnConvolutionFwdAlgo_t)ch.algo, ws,
                                         (size_t)ch.workspace, &k_zero, d.y, c->out->data),
                 "cudnnConvolutionForward");
    }
    if (with_bias)
        CONV_TRY(cudnnAddTensor(h, &k_one, d.bias, c->in[2]->data, &k_one, d.y_f32(), c->out->data),
                 "cudnnAddTensor (bias)");
    return LLX_OK;
}

extern "C" llx_status llx_cuda_conv2d_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->dout)
        return llx_errorf(err, LLX_ERR_INVALID, "conv2d (cuda): backward without an output gradient");
    llx_tensor *dx = c->din[0], *dw = c->din[1];
    llx_tensor *db = c->n_in > 2 ? c->din[2] : nullptr;
    if (!dx && !dw && !db) return LLX_OK;
    LLX_TRY(llx_cuda_require_f32(c, err));
    conv_geom g{};
    LLX_TRY(geom_of(c, &c->dout->shape, &g, err));
    if (g.n == 0) return llx_cuda_fresh_zero(c, 6u, err); /* no samples: dw, db sum nothing */
    llx_backend *be = c->backend;
    const llx_precision prec = be->conv_precision;
    conv_descs d;
    LLX_TRY(make_descs(g, prec, db != nullptr, &d, err));
    cudnnHandle_t h = llx_cuda_cudnn(be);
    const void *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout->data;
    /* Fresh gradients (c->din_fresh) are written (beta 0), the others accumulated (beta 1), on
     * every path. */
    if (prec != LLX_PRECISION_F32) {
        LLX_TRY(backward_half(c, g, prec, d, err));
    } else {
        bool done = false;
        if (dw) LLX_TRY(run_graph(be, g, DIR_BWD_FILTER, llx_cuda_fresh(c, 1), x, dw->data, dy, &done, err));
        if (dw && !done) {
            conv_choice ch;
            LLX_TRY(algo_for(be, g, prec, d, DIR_BWD_FILTER, &ch, err));
            void *ws = nullptr;
            LLX_TRY(llx_cuda_scratch(be, (size_t)ch.workspace, &ws, err));
            CONV_TRY(cudnnConvolutionBackwardFilter(h, &k_one, d.x, x, d.y, dy, d.conv,
                                                    (cudnnConvolutionBwdFilterAlgo_t)ch.algo, ws,
                                                    (size_t)ch.workspace, llx_cuda_beta(c, 1), d.w, dw->data),
                     "cudnnConvolutionBackwardFilter");
        }
        done = false;
        if (dx) LLX_TRY(run_graph(be, g, DIR_BWD_DATA, llx_cuda_fresh(c, 0), dx->data, w, dy, &done, err));
        if (dx && !done) {
            conv_choice ch;
            LLX_TRY(algo_for(be, g, prec, d, DIR_BWD_DATA, &ch, err));
            void *ws = nullptr;
            LLX_TRY(llx_cuda_scratch(be, (size_t)ch.workspace, &ws, err));
            CONV_TRY(cudnnConvolutionBackwardData(h, &k_one, d.w, w, d.y, dy, d.conv,
                                                  (cudnnConvolutionBwdDataAlgo_t)ch.algo, ws,
                                                  (size_t)ch.workspace, llx_cuda_beta(c, 0), d.x, dx->data),
                     "cudnnConvolutionBackwardData");
        }
    }
    if (db)
        CONV_TRY(cudnnConvolutionBackwardBias(h, &k_one, d.y_f32(), dy, llx_cuda_beta(c, 2), d.bias, db->data),
                 "cudnnConvolutionBackwardBias");
    return LLX_OK;
}
