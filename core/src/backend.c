/* backend.c: choosing a backend by device name (see llx/backend.h). */
#include <string.h>

#include "llx/backend.h"

llx_status llx_backend_create(const char *device, int threads, llx_backend **out, llx_error *err)
{
    if (!device) device = "auto";
    if (strcmp(device, "cuda") == 0)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "device cuda: this llx was built without a CUDA backend (use device: cpu or auto)");
    if (strcmp(device, "cpu") != 0 && strcmp(device, "auto") != 0)
        return llx_errorf(err, LLX_ERR_INVALID, "device '%s': expected auto, cpu or cuda", device);
    return llx_backend_cpu_create(threads, out, err); /* auto: no GPU backend in this build */
}

void llx_backend_free(llx_backend *be)
{
    if (be) be->destroy(be);
}
