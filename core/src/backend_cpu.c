/* backend_cpu.c: the CPU backend, the reference and test bed.
 * Memory is plain host memory; kernels run with OpenMP threads. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llx/backend.h"
#include "mem_track_impl.h"

typedef struct cpu_ctx {
    int threads;
    char description[64];
    llx_mem_track mem;
} cpu_ctx;

static void *cpu_alloc(llx_backend *be, size_t bytes, llx_error *err)
{
    cpu_ctx *ctx = be->ctx;
    void *p = calloc(1, bytes ? bytes : 1);
    if (p && !llx_mem_track_add(&ctx->mem, p, bytes)) {
        free(p);
        p = NULL;
    }
    if (!p) llx_errorf(err, LLX_ERR_NOMEM, "cpu: cannot allocate %zu bytes", bytes);
    return p;
}

static void cpu_free(llx_backend *be, void *ptr)
{
    llx_mem_track_remove(&((cpu_ctx *)be->ctx)->mem, ptr);
    free(ptr);
}

static void cpu_memory(llx_backend *be, size_t *in_use, size_t *peak)
{
    const cpu_ctx *ctx = be->ctx;
    *in_use = ctx->mem.in_use;
    *peak = ctx->mem.peak;
}

static llx_status cpu_copy(llx_backend *be, void *dst, const void *src, size_t bytes,
                           llx_error *err)
{
    if (bytes) memmove(dst, src, bytes);
    return LLX_OK;
}

static llx_status cpu_zero(llx_backend *be, void *ptr, size_t bytes, llx_error *err)
{
    if (bytes) memset(ptr, 0, bytes);
    return LLX_OK;
}

static llx_status cpu_sync(llx_backend *be, llx_error *err) { return LLX_OK; }

static const char *cpu_describe(llx_backend *be)
{
    return ((cpu_ctx *)be->ctx)->description;
}

static void cpu_destroy(llx_backend *be)
{
    llx_mem_track_free(&((cpu_ctx *)be->ctx)->mem);
    free(be->ctx);
    free(be);
}

llx_status llx_backend_cpu_create(int threads, llx_backend **out, llx_error *err)
{
    llx_backend *be = calloc(1, sizeof *be);
    cpu_ctx *ctx = calloc(1, sizeof *ctx);
    if (!be || !ctx) {
        free(be);
        free(ctx);
        return llx_errorf(err, LLX_ERR_NOMEM, "cpu backend: out of memory");
    }
    if (threads > 0) omp_set_num_threads(threads);
    /* One thread pool only: llx's kernels and oneDNN run on OpenMP threads, while Debian's
     * OpenBLAS (the pthreads build) keeps a pool of its own. With both, every GEMM hands the
     * cores from one pool to the other, and spinning OpenMP threads oversubscribe them
     * (tools/bench/README.md saw the two pools fight). The GEMMs left (F64 conv, linear)
     * run on the calling thread. */
    openblas_set_num_threads(1);
    ctx->threads = threads > 0 ? threads : omp_get_max_threads();
    snprintf(ctx->description, sizeof ctx->description, "CPU, %d thread%s", ctx->threads,
             ctx->threads == 1 ? "" : "s");
    *be = (llx_backend){
        .name = "cpu",
        .device = LLX_DEVICE_CPU,
        .alloc = cpu_alloc,
        .free = cpu_free,
        .to_device = cpu_copy,
        .to_host = cpu_copy,
        .memset_zero = cpu_zero,
        .sync = cpu_sync,
        .memory = cpu_memory,
        .describe = cpu_describe,
        .destroy = cpu_destroy,
        .ctx = ctx,
        .fresh_grads = true,
    };
    *out = be;
    return LLX_OK;
}
