/* llx/backend.h: the backend interface. CPU and CUDA are peers behind it.
 *
 * The core never asks which backend it runs on; it allocates, copies and
 * synchronises through this vtable and runs each op through the op's
 * kernels for backend->device (llx/op.h). A missing kernel is an error that
 * names the op, never a silent fallback to another device. */
#ifndef LLX_BACKEND_H
#define LLX_BACKEND_H

#include "llx/status.h"
#include "llx/tensor.h"

typedef struct llx_backend llx_backend;

struct llx_backend {
    const char *name; /* "cpu", "cuda" */
    llx_device device;
    /* Device memory, zero-filled. NULL + err on failure. */
    void *(*alloc)(llx_backend *be, size_t bytes, llx_error *err);
    void (*free)(llx_backend *be, void *ptr);
    /* Copies between host memory and this device (either pointer may be host). */
    llx_status (*to_device)(llx_backend *be, void *dst, const void *host_src, size_t bytes,
                            llx_error *err);
    llx_status (*to_host)(llx_backend *be, void *host_dst, const void *src, size_t bytes,
                          llx_error *err);
    llx_status (*memset_zero)(llx_backend *be, void *ptr, size_t bytes, llx_error *err);
    llx_status (*sync)(llx_backend *be, llx_error *err);
    /* Human-readable description of the device ("CPU, 2 threads"). */
    const char *(*describe)(llx_backend *be);
    void (*destroy)(llx_backend *be);
    void *ctx; /* backend-private state */
};

/* The backend for a device name: "cpu", "cuda", or "auto" (the GPU when one exists, else
 * the CPU). An unknown name or a device this build has no backend for is an error that
 * says so. threads: CPU threads (<= 0: the OpenMP default). */
llx_status llx_backend_create(const char *device, int threads, llx_backend **out, llx_error *err);

/* The CPU backend: OpenMP threads (threads <= 0: the OpenMP default). */
llx_status llx_backend_cpu_create(int threads, llx_backend **out, llx_error *err);
void llx_backend_free(llx_backend *be);

#endif
