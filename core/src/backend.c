/* backend.c: choosing a backend by device name (see llx/backend.h). */
#include <stdlib.h>
#include <string.h>

#include "llx/backend.h"

#ifndef LLX_HAVE_CUDA
/* A build without the CUDA backend (no nvcc or cuDNN at configure time, or LLX_CUDA=OFF). */
llx_status llx_backend_cuda_create(int index, llx_backend **out, llx_error *err)
{
    return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                      "device cuda: this llx was built without the CUDA backend (configure found no "
                      "nvcc or cuDNN, or LLX_CUDA=OFF); use device: cpu or auto");
}

int llx_cuda_device_count(void) { return 0; }
#endif

llx_status llx_backend_create(const char *device, int threads, llx_backend **out, llx_error *err)
{
    if (!device) device = "auto";
    if (strcmp(device, "cuda") == 0) return llx_backend_cuda_create(0, out, err);
    if (strncmp(device, "cuda:", 5) == 0) { /* cuda:N, the N-th GPU */
        char *end;
        long index = strtol(device + 5, &end, 10);
        if (end == device + 5 || *end || index < 0)
            return llx_errorf(err, LLX_ERR_INVALID, "device '%s': expected cuda:N with N a GPU number", device);
        return llx_backend_cuda_create((int)index, out, err);
    }
    if (strcmp(device, "auto") == 0 && llx_cuda_device_count() > 0)
        return llx_backend_cuda_create(0, out, err);
    if (strcmp(device, "cpu") != 0 && strcmp(device, "auto") != 0)
        return llx_errorf(err, LLX_ERR_INVALID, "device '%s': expected auto, cpu, cuda or cuda:N", device);
    return llx_backend_cpu_create(threads, out, err);
}

void llx_backend_free(llx_backend *be)
{
    if (be) be->destroy(be);
}
