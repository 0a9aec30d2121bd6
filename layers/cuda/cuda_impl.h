/* cuda_impl.h: what the CUDA kernels (layers/cuda/<op>.cu) get from the CUDA backend
 * (core/src/cuda/backend_cuda.c). Private to the llx library.
 *
 * Every kernel runs on the backend's one stream (llx_cuda_stream); cuDNN and cuBLAS calls
 * go through the backend's handles, which are bound to that stream. Nothing here
 * synchronises: the engine decides when the host waits (llx_backend.sync, to_host).
 *
 * Errors: every CUDA, cuDNN and cuBLAS call is checked, and every launch is followed by
 * llx_cuda_launched, so a failure is a status whose message names the kernel and the
 * library's own error text. */
#ifndef LLX_CUDA_IMPL_H
#define LLX_CUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "cuda_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

cudaStream_t llx_cuda_stream(llx_backend *be);
cudnnHandle_t llx_cuda_cudnn(llx_backend *be);
cublasHandle_t llx_cuda_cublas(llx_backend *be);
/* Multiprocessors of the device (grid sizing). */
int llx_cuda_sm_count(llx_backend *be);

/* Grow-only device scratch (cuDNN workspaces), shared by all kernels of the backend: the
 * pointer is valid until the next call, which may move it. Growing synchronises the
 * stream first, so work still queued on the old scratch finishes before it is freed.
 * bytes 0 gives NULL and LLX_OK. */
llx_status llx_cuda_scratch(llx_backend *be, size_t bytes, void **out, llx_error *err);

/* A per-backend cache of small values by key (cuDNN algorithms by convolution shape):
 * get copies the value into val and returns true when the key is there; put adds the key or
 * replaces its value. */
bool llx_cuda_cache_get(llx_backend *be, const void *key, size_t key_bytes, void *val,
                        size_t val_bytes);
llx_status llx_cuda_cache_put(llx_backend *be, const void *key, size_t key_bytes,
                              const void *val, size_t val_bytes, llx_error *err);

/* The CUDA backend's environment switches, read once per process (the defaults ran and were
 * timed on an H200, tools/gpu_check_notes.md; the other paths stay for comparison):
 *   LLX_CUDA_VERBOSE set and not "0"  print each algorithm choice and its time  (verbose)
 *   LLX_CUDNN_API=legacy              convolutions through cuDNN's legacy API
 *                                     (cudnnFind*), not the graph API         (!graph_conv)
 *   LLX_CUDNN_RTC=1                   the graph API's runtime-compiled engines too (rtc)
 *   LLX_CUDA_MAXPOOL=cudnn            cuDNN's max pooling, not llx's kernels (!own_maxpool)
 *   LLX_CUDA_FRESH_GRADS=0            one zeroing pass over all activation gradients before
 *                                     backward, not fresh writes
 *                                     (llx_backend.fresh_grads, llx/op.h)    (!fresh_grads)
 *   LLX_CUDA_BN=llx                   llx's batch-norm kernels, not cuDNN's    (own_bn; opt-in
 *                                     until a GPU session has run them) */
typedef struct llx_cuda_switches {
    bool verbose, graph_conv, rtc, own_maxpool, fresh_grads, own_bn;
} llx_cuda_switches;

/* Bit i of c->din_fresh (llx/op.h): din[i] holds stale bytes and must be written, not added
 * to (only for kernels that declare fresh_din: LLX_CUDA_KERNELS_FRESH). A path that writes
 * din[i] tests it; a path that can only accumulate calls llx_cuda_fresh_zero first, which
 * zeroes, on the stream, each fresh din[i] with bit i in mask. */
static inline bool llx_cuda_fresh(const llx_op_call *c, int i) { return (c->din_fresh >> i) & 1u; }
/* cuDNN's beta for din[i]: 0 (write it) when fresh, else 1 (add to it). */
static inline const float *llx_cuda_beta(const llx_op_call *c, int i)
{
    static const float zero = 0.0f, one = 1.0f;
    return llx_cuda_fresh(c, i) ? &zero : &one;
}
llx_status llx_cuda_fresh_zero(const llx_op_call *c, unsigned mask, llx_error *err);
const llx_cuda_switches *llx_cuda_env(void);

/* "what: <CUDA error name>: <text>" and LLX_ERR_INVALID (NOMEM for out-of-memory). */
llx_status llx_cuda_check(cudaError_t e, const char *what, llx_error *err);
llx_status llx_cudnn_check(cudnnStatus_t s, const char *what, llx_error *err);
llx_status llx_cublas_check(cublasStatus_t s, const char *what, llx_error *err);
/* After a kernel launch: cudaGetLastError, the message naming the kernel. */
llx_status llx_cuda_launched(const char *kernel, llx_error *err);

/* LLX_UNSUPPORTED unless every tensor of the call (inputs, output, gradients given) that is
 * not I32 is F32: the CUDA kernels are F32 only (F64 is the CPU's gradient-check type). */
llx_status llx_cuda_require_f32(const llx_op_call *c, llx_error *err);

#define LLX_CUDA_TRY(call, what) LLX_TRY(llx_cuda_check((call), (what), err))
#define LLX_CUDNN_TRY(call, what) LLX_TRY(llx_cudnn_check((call), (what), err))
#define LLX_CUBLAS_TRY(call, what) LLX_TRY(llx_cublas_check((call), (what), err))

/* Blocks for a grid-stride loop over n items of `per_block` each, at most `cap` (>= 1). */
static inline unsigned llx_blocks_for(int64_t n, int64_t per_block, int64_t cap)
{
    int64_t b = (n + per_block - 1) / per_block;
    if (b > cap) b = cap;
    return (unsigned)(b < 1 ? 1 : b);
}

/* Threads per block of the element-wise kernels, and a grid for n elements of a
 * grid-stride loop (at most a few waves of the device). */
#define LLX_CUDA_THREADS 256
static inline unsigned llx_cuda_grid(llx_backend *be, int64_t n)
{
    return llx_blocks_for(n, LLX_CUDA_THREADS, (int64_t)llx_cuda_sm_count(be) * 8);
}

#ifdef __cplusplus
}
#endif

#endif
