/* llx/backend.h: the backend interface. CPU and CUDA are peers behind it.
 *
 * The core never asks which backend it runs on; it allocates, copies and
 * synchronises through this vtable and runs each op through the op's
 * kernels for backend->device (llx/op.h). A missing kernel is an error that
 * names the op, never a silent fallback to another device. */
#ifndef LLX_BACKEND_H
#define LLX_BACKEND_H

#include <stdbool.h>

#include "llx/precision.h"
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
    /* Bytes of memory this backend's allocations hold now and held at most so far: alloc()'s
     * buffers, and on CUDA its grow-only scratch (cuDNN workspaces); not the libraries' own
     * (cuBLAS's workspace, cuDNN's search buffers) nor the CUDA context. */
    void (*memory)(llx_backend *be, size_t *in_use, size_t *peak);
    /* Human-readable description of the device ("CPU, 2 threads"). */
    const char *(*describe)(llx_backend *be);
    void (*destroy)(llx_backend *be);
    void *ctx; /* backend-private state */
    /* CUDA: TF32 tensor-core math for convolutions and linear layers (fp32 storage), as
     * PyTorch does for convolutions. On by default; false: full fp32 arithmetic. The CPU
     * ignores it, and so do convolutions in half precision (conv_precision below). */
    bool tf32;
    /* Activation gradients written fresh by the first backward call to reach each one
     * (llx/op.h) instead of one zeroing pass over all of them before backward. The CPU: on;
     * CUDA: on unless LLX_CUDA_FRESH_GRADS=0. */
    bool fresh_grads;
    /* Mixed precision: the precision of every convolution's operands and results
     * (llx/precision.h). LLX_PRECISION_F32 by default; both backends honour it. */
    llx_precision conv_precision;
};

/* The backend for a device name: "cpu", "cuda", or "auto" (the GPU when one exists, else
 * the CPU). An unknown name or a device this build has no backend for is an error that
 * says so. threads: CPU threads (<= 0: the OpenMP default). */
llx_status llx_backend_create(const char *device, int threads, llx_backend **out, llx_error *err);

/* The CUDA backend on GPU `index` (0: the first): one stream, cuDNN and cuBLAS handles.
 * LLX_ERR_UNSUPPORTED when this build has no CUDA backend or there is no such device, with
 * the reason (driver missing, no device, ...) in the message. */
llx_status llx_backend_cuda_create(int index, llx_backend **out, llx_error *err);
/* GPUs the CUDA backend can use (0 without a driver or in a build without CUDA). */
int llx_cuda_device_count(void);

/* The CPU backend: OpenMP threads (threads <= 0: the OpenMP default). */
llx_status llx_backend_cpu_create(int threads, llx_backend **out, llx_error *err);
void llx_backend_free(llx_backend *be);

#endif
