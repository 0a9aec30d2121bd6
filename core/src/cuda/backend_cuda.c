/* backend_cuda.c: the CUDA backend, a peer of the CPU backend (llx/backend.h).
 *
 * One device, one non-blocking stream. Every kernel, cuDNN and cuBLAS call runs on that
 * stream (the handles are bound to it), so the order of the engine's calls is the order on
 * the GPU and the host only waits where it must: to_host and sync.
 *
 * Uploads: a batch goes up through one of two pinned staging buffers. to_device copies the
 * host data into the staging buffer (host memcpy), queues the asynchronous copy to the
 * device and returns: the copy then overlaps the host's next work (the loader's next batch,
 * the launches of the forward pass). A staging buffer is reused only after the event
 * recorded behind its last copy has fired. Small copies (labels, backward's seed, parameters'
 * scalars) take one of SMALL_SLOTS pinned slots in turn the same way, never pageable memory:
 * an asynchronous copy from pageable memory may wait for the stream (CUDA's API
 * synchronization notes), which would stop the host at every step.
 *
 * Kernel support (layers/cuda/cuda_impl.h): a grow-only scratch buffer for cuDNN
 * workspaces, a small key-value cache (cuDNN algorithms by shape), the error texts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mem_track_impl.h"
#include "cuda_impl.h"
#include "llx/backend.h"

#define STAGING_MIN_BYTES (64 * 1024) /* smaller uploads take a small slot */
#define SMALL_SLOTS 16                /* pinned slots of STAGING_MIN_BYTES, used in turn */

typedef struct cache_entry {
    void *key, *val;
    size_t key_bytes, val_bytes;
} cache_entry;

typedef struct staging {
    void *host; /* pinned */
    size_t bytes;
    cudaEvent_t done; /* recorded behind the last copy out of it */
    bool pending;
} staging;

typedef struct cuda_ctx {
    int index;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    struct cudaDeviceProp prop;
    void *scratch;
    size_t scratch_bytes;
    llx_mem_track mem; /* alloc()'s buffers and the scratch */
    staging stage[2], small[SMALL_SLOTS];
    int next_stage, next_small;
    cache_entry *cache;
    size_t n_cache, cap_cache;
    char description[512];
} cuda_ctx;

static cuda_ctx *ctx_of(llx_backend *be)
{
    LLX_ASSERT(be && be->device == LLX_DEVICE_CUDA);
    return be->ctx;
}

/* ---------------------------------------------------------------- errors */

llx_status llx_cuda_check(cudaError_t e, const char *what, llx_error *err)
{
    if (e == cudaSuccess) return LLX_OK;
    return llx_errorf(err, e == cudaErrorMemoryAllocation ? LLX_ERR_NOMEM : LLX_ERR_INVALID,
                      "%s: CUDA error %s: %s", what, cudaGetErrorName(e), cudaGetErrorString(e));
}

llx_status llx_cudnn_check(cudnnStatus_t s, const char *what, llx_error *err)
{
    if (s == CUDNN_STATUS_SUCCESS) return LLX_OK;
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    return llx_errorf(err, s == CUDNN_STATUS_ALLOC_FAILED ? LLX_ERR_NOMEM : LLX_ERR_INVALID,
                      "%s: cuDNN error %s%s%s", what, cudnnGetErrorString(s), *detail ? ": " : "",
                      detail);
}

llx_status llx_cublas_check(cublasStatus_t s, const char *what, llx_error *err)
{
    if (s == CUBLAS_STATUS_SUCCESS) return LLX_OK;
    return llx_errorf(err, s == CUBLAS_STATUS_ALLOC_FAILED ? LLX_ERR_NOMEM : LLX_ERR_INVALID,
                      "%s: cuBLAS error %s: %s", what, cublasGetStatusName(s),
                      cublasGetStatusString(s));
}

llx_status llx_cuda_launched(const char *kernel, llx_error *err)
{
    return llx_cuda_check(cudaGetLastError(), kernel, err);
}

static llx_status require_f32_tensor(const llx_op_call *c, const llx_tensor *t, const char *what,
                                     llx_error *err)
{
    if (!t || t->dtype == LLX_F32 || t->dtype == LLX_I32) return LLX_OK;
    return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                      "no cuda kernel for op '%s' in %s (%s is %s): the CUDA kernels are f32 only",
                      c->op->name, llx_dtype_name(t->dtype), what, llx_dtype_name(t->dtype));
}

llx_status llx_cuda_require_f32(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(require_f32_tensor(c, c->out, "the output", err));
    LLX_TRY(require_f32_tensor(c, c->dout, "the output gradient", err));
    for (int i = 0; i < c->n_in; i++) {
        LLX_TRY(require_f32_tensor(c, c->in[i], "an input", err));
        LLX_TRY(require_f32_tensor(c, c->din[i], "an input gradient", err));
    }
    return LLX_OK;
}

/* ---------------------------------------------------------------- kernel support */

static llx_cuda_switches switches;
static pthread_once_t switches_once = PTHREAD_ONCE_INIT;

static bool env_is(const char *name, const char *value)
{
    const char *e = getenv(name);
    return e && strcmp(e, value) == 0;
}

/* The defaults are the paths validated and timed on an H200 (tools/gpu_check_notes.md); each
 * switch names the other path, kept for comparison and as a way round a problem. */
static void read_switches(void)
{
    const char *v = getenv("LLX_CUDA_VERBOSE");
    switches = (llx_cuda_switches){.verbose = v && *v && strcmp(v, "0") != 0,
                                   .graph_conv = !env_is("LLX_CUDNN_API", "legacy"),
                                   .rtc = env_is("LLX_CUDNN_RTC", "1"),
                                   .own_maxpool = !env_is("LLX_CUDA_MAXPOOL", "cudnn"),
                                   .fresh_grads = !env_is("LLX_CUDA_FRESH_GRADS", "0"),
                                   .own_bn = env_is("LLX_CUDA_BN", "llx")};
}

const llx_cuda_switches *llx_cuda_env(void)
{
    pthread_once(&switches_once, read_switches);
    return &switches;
}

llx_status llx_cuda_fresh_zero(const llx_op_call *c, unsigned mask, llx_error *err)
{
    for (int i = 0; i < c->n_in; i++)
        if (((mask >> i) & 1u) && llx_cuda_fresh(c, i) && c->din[i])
            LLX_CUDA_TRY(cudaMemsetAsync(c->din[i]->data, 0, llx_tensor_bytes(c->din[i]), ctx_of(c->backend)->stream),
                         "zeroing a fresh input gradient");
    return LLX_OK;
}

cudaStream_t llx_cuda_stream(llx_backend *be) { return ctx_of(be)->stream; }
cudnnHandle_t llx_cuda_cudnn(llx_backend *be) { return ctx_of(be)->cudnn; }
cublasHandle_t llx_cuda_cublas(llx_backend *be) { return ctx_of(be)->cublas; }
int llx_cuda_sm_count(llx_backend *be) { return ctx_of(be)->prop.multiProcessorCount; }

llx_status llx_cuda_scratch(llx_backend *be, size_t bytes, void **out, llx_error *err)
{
    cuda_ctx *x = ctx_of(be);
    *out = NULL;
    if (bytes == 0) return LLX_OK;
    if (bytes > x->scratch_bytes) {
        /* Work queued on the old buffer must finish before it goes. */
        LLX_CUDA_TRY(cudaStreamSynchronize(x->stream), "cuda scratch: waiting for the stream");
        if (x->scratch) LLX_CUDA_TRY(cudaFree(x->scratch), "cuda scratch: free");
        llx_mem_track_remove(&x->mem, x->scratch);
        x->scratch = NULL;
        x->scratch_bytes = 0;
        size_t grown = bytes + bytes / 4; /* room for the next, slightly larger request */
        cudaError_t e = cudaMalloc(&x->scratch, grown);
        if (e != cudaSuccess) {
            cudaGetLastError(); /* clear the sticky-free error before the exact retry */
            grown = bytes;
            e = cudaMalloc(&x->scratch, grown);
        }
        if (e != cudaSuccess) {
            char what[96];
            snprintf(what, sizeof what, "cuda scratch: %zu bytes", bytes);
            return llx_cuda_check(e, what, err);
        }
        x->scratch_bytes = grown;
        if (!llx_mem_track_add(&x->mem, x->scratch, grown))
            return llx_errorf(err, LLX_ERR_NOMEM, "cuda scratch: out of host memory");
    }
    *out = x->scratch;
    return LLX_OK;
}

static cache_entry *cache_find(cuda_ctx *x, const void *key, size_t key_bytes, size_t val_bytes)
{
    for (size_t i = 0; i < x->n_cache; i++) {
        cache_entry *e = &x->cache[i];
        if (e->key_bytes == key_bytes && e->val_bytes == val_bytes && memcmp(e->key, key, key_bytes) == 0)
            return e;
    }
    return NULL;
}

bool llx_cuda_cache_get(llx_backend *be, const void *key, size_t key_bytes, void *val,
                        size_t val_bytes)
{
    const cache_entry *e = cache_find(ctx_of(be), key, key_bytes, val_bytes);
    if (e) memcpy(val, e->val, val_bytes);
    return e != NULL;
}

llx_status llx_cuda_cache_put(llx_backend *be, const void *key, size_t key_bytes,
                              const void *val, size_t val_bytes, llx_error *err)
{
    cuda_ctx *x = ctx_of(be);
    cache_entry *old = cache_find(x, key, key_bytes, val_bytes);
    if (old) { /* a key already there gets the new value */
        memcpy(old->val, val, val_bytes);
        return LLX_OK;
    }
    if (x->n_cache == x->cap_cache) {
        size_t cap = x->cap_cache ? 2 * x->cap_cache : 64;
        cache_entry *grown = realloc(x->cache, cap * sizeof *grown);
        if (!grown) return llx_errorf(err, LLX_ERR_NOMEM, "cuda cache: out of memory");
        x->cache = grown;
        x->cap_cache = cap;
    }
    cache_entry e = {.key = malloc(key_bytes), .val = malloc(val_bytes),
                     .key_bytes = key_bytes, .val_bytes = val_bytes};
    if (!e.key || !e.val) {
        free(e.key);
        free(e.val);
        return llx_errorf(err, LLX_ERR_NOMEM, "cuda cache: out of memory");
    }
    memcpy(e.key, key, key_bytes);
    memcpy(e.val, val, val_bytes);
    x->cache[x->n_cache++] = e;
    return LLX_OK;
}

/* ---------------------------------------------------------------- the vtable */

static void *cuda_alloc(llx_backend *be, size_t bytes, llx_error *err)
{
    cuda_ctx *x = ctx_of(be);
    void *p = NULL;
    char what[96];
    snprintf(what, sizeof what, "cuda: allocating %zu bytes on device %d", bytes, x->index);
    if (llx_cuda_check(cudaMalloc(&p, bytes ? bytes : 1), what, err) != LLX_OK) return NULL;
    if (llx_cuda_check(cudaMemsetAsync(p, 0, bytes, x->stream), what, err) != LLX_OK) {
        cudaFree(p);
        return NULL;
    }
    if (!llx_mem_track_add(&x->mem, p, bytes)) {
        cudaFree(p);
        llx_errorf(err, LLX_ERR_NOMEM, "cuda: out of host memory");
        return NULL;
    }
    return p;
}

static void cuda_free(llx_backend *be, void *ptr)
{
    if (!ptr) return;
    llx_mem_track_remove(&ctx_of(be)->mem, ptr);
    cudaFree(ptr); /* waits for the device, so no queued work still uses ptr */
}

static void cuda_memory(llx_backend *be, size_t *in_use, size_t *peak)
{
    const cuda_ctx *x = ctx_of(be);
    *in_use = x->mem.in_use;
    *peak = x->mem.peak;
}

/* Staging buffer i of the 2 + SMALL_SLOTS: the two large ones, then the small slots. */
static staging *staging_at(cuda_ctx *x, int i) { return i < 2 ? &x->stage[i] : &x->small[i - 2]; }

/* The next buffer of a ring of n (next: its turn counter), at least `bytes` long, its
 * previous copy finished. */
static llx_status take_staging(staging *ring, int n, int *next, size_t bytes, staging **out, llx_error *err)
{
    staging *s = &ring[*next];
    *next = (*next + 1) % n;
    if (s->pending) LLX_CUDA_TRY(cudaEventSynchronize(s->done), "cuda upload: waiting for a staging buffer");
    s->pending = false;
    if (s->bytes < bytes) {
        if (s->host) LLX_CUDA_TRY(cudaFreeHost(s->host), "cuda upload: freeing a staging buffer");
        s->host = NULL;
        s->bytes = 0;
        LLX_CUDA_TRY(cudaHostAlloc(&s->host, bytes, cudaHostAllocDefault),
                     "cuda upload: allocating a pinned staging buffer");
        s->bytes = bytes;
    }
    *out = s;
    return LLX_OK;
}

static llx_status cuda_to_device(llx_backend *be, void *dst, const void *host_src, size_t bytes,
                                 llx_error *err)
{
    cuda_ctx *x = ctx_of(be);
    if (bytes == 0) return LLX_OK;
    staging *s;
    if (bytes < STAGING_MIN_BYTES)
        LLX_TRY(take_staging(x->small, SMALL_SLOTS, &x->next_small, STAGING_MIN_BYTES, &s, err));
    else
        LLX_TRY(take_staging(x->stage, 2, &x->next_stage, bytes, &s, err));
    memcpy(s->host, host_src, bytes);
    LLX_CUDA_TRY(cudaMemcpyAsync(dst, s->host, bytes, cudaMemcpyHostToDevice, x->stream),
                 "cuda upload");
    LLX_CUDA_TRY(cudaEventRecord(s->done, x->stream), "cuda upload: recording its event");
    s->pending = true;
    return LLX_OK;
}

static llx_status cuda_to_host(llx_backend *be, void *host_dst, const void *src, size_t bytes,
                               llx_error *err)
{
    cuda_ctx *x = ctx_of(be);
    if (bytes == 0) return LLX_OK;
    LLX_CUDA_TRY(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, x->stream),
                 "cuda download");
    LLX_CUDA_TRY(cudaStreamSynchronize(x->stream), "cuda download (or a kernel before it)");
    return LLX_OK;
}

static llx_status cuda_zero(llx_backend *be, void *ptr, size_t bytes, llx_error *err)
{
    if (bytes == 0) return LLX_OK;
    LLX_CUDA_TRY(cudaMemsetAsync(ptr, 0, bytes, ctx_of(be)->stream), "cuda memset");
    return LLX_OK;
}

static llx_status cuda_sync(llx_backend *be, llx_error *err)
{
    LLX_CUDA_TRY(cudaStreamSynchronize(ctx_of(be)->stream), "cuda sync (a kernel queued before it)");
    return llx_cuda_launched("cuda sync", err);
}

static const char *cuda_describe(llx_backend *be)
{
    cuda_ctx *x = ctx_of(be);
    size_t cudnn = cudnnGetVersion();
    snprintf(x->description, sizeof x->description,
             "CUDA device %d: %s, sm_%d%d, %d SMs, %.0f GiB; cuDNN %zu.%zu.%zu; TF32 %s", x->index,
             x->prop.name, x->prop.major, x->prop.minor, x->prop.multiProcessorCount,
             (double)x->prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), cudnn / 10000,
             cudnn / 100 % 100, cudnn % 100, be->tf32 ? "on" : "off");
    return x->description;
}

static void cuda_destroy(llx_backend *be)
{
    cuda_ctx *x = be->ctx;
    if (x) {
        if (x->stream) cudaStreamSynchronize(x->stream);
        for (int i = 0; i < 2 + SMALL_SLOTS; i++) {
            staging *s = staging_at(x, i);
            if (s->host) cudaFreeHost(s->host);
            if (s->done) cudaEventDestroy(s->done);
        }
        if (x->scratch) cudaFree(x->scratch);
        if (x->cublas) cublasDestroy(x->cublas);
        if (x->cudnn) cudnnDestroy(x->cudnn);
        if (x->stream) cudaStreamDestroy(x->stream);
        for (size_t i = 0; i < x->n_cache; i++) {
            free(x->cache[i].key);
            free(x->cache[i].val);
        }
        free(x->cache);
        llx_mem_track_free(&x->mem);
        free(x);
    }
    free(be);
}

/* ---------------------------------------------------------------- creation */

int llx_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* no driver or no device: not an error here */
        return 0;
    }
    return n;
}

static llx_status open_device(cuda_ctx *x, int index, llx_error *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "device cuda: no usable CUDA device (%s: %s)",
                          cudaGetErrorName(e), cudaGetErrorString(e));
    }
    if (index < 0 || index >= n)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "device cuda: GPU %d asked for, %d present", index, n);
    x->index = index;
    LLX_CUDA_TRY(cudaSetDevice(index), "device cuda: selecting the GPU");
    LLX_CUDA_TRY(cudaGetDeviceProperties(&x->prop, index), "device cuda: reading its properties");
    LLX_CUDA_TRY(cudaStreamCreateWithFlags(&x->stream, cudaStreamNonBlocking), "device cuda: creating a stream");
    for (int i = 0; i < 2 + SMALL_SLOTS; i++)
        LLX_CUDA_TRY(cudaEventCreateWithFlags(&staging_at(x, i)->done, cudaEventDisableTiming),
                     "device cuda: creating an event");
    LLX_CUDNN_TRY(cudnnCreate(&x->cudnn), "device cuda: creating the cuDNN handle");
    LLX_CUDNN_TRY(cudnnSetStream(x->cudnn, x->stream), "device cuda: binding cuDNN to the stream");
    LLX_CUBLAS_TRY(cublasCreate(&x->cublas), "device cuda: creating the cuBLAS handle");
    LLX_CUBLAS_TRY(cublasSetStream(x->cublas, x->stream), "device cuda: binding cuBLAS to the stream");
    return LLX_OK;
}

llx_status llx_backend_cuda_create(int index, llx_backend **out, llx_error *err)
{
    llx_backend *be = calloc(1, sizeof *be);
    cuda_ctx *x = calloc(1, sizeof *x);
    if (!be || !x) {
        free(be);
        free(x);
        return llx_errorf(err, LLX_ERR_NOMEM, "cuda backend: out of memory");
    }
    *be = (llx_backend){
        .name = "cuda",
        .device = LLX_DEVICE_CUDA,
        .alloc = cuda_alloc,
        .free = cuda_free,
        .to_device = cuda_to_device,
        .to_host = cuda_to_host,
        .memset_zero = cuda_zero,
        .sync = cuda_sync,
        .memory = cuda_memory,
        .describe = cuda_describe,
        .destroy = cuda_destroy,
        .ctx = x,
        .tf32 = true,
        .fresh_grads = llx_cuda_env()->fresh_grads,
    };
    llx_status st = open_device(x, index, err);
    if (st != LLX_OK) {
        cuda_destroy(be);
        return st;
    }
    *out = be;
    return LLX_OK;
}
