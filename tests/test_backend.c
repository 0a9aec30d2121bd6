/* test_backend.c: choosing a backend by device name, what a device without a kernel says,
 * and the CPU backend's memory accounting. Runs everywhere (no GPU needed); the GPU itself is
 * tested by test_gpu_*.c. */
#include "check.h"
#include "llx/llx.h"

static llx_status create(const char *device, llx_backend **be, llx_error *err)
{
    *be = NULL;
    llx_error_clear(err);
    return llx_backend_create(device, 1, be, err);
}

static void test_cpu_and_auto(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(create("cpu", &be, &err) == LLX_OK);
    CHECK(be && be->device == LLX_DEVICE_CPU && strcmp(be->name, "cpu") == 0);
    llx_backend_free(be);
    /* auto: the GPU when one exists, else the CPU. */
    CHECK(create("auto", &be, &err) == LLX_OK);
    CHECK(be && be->device == (llx_cuda_device_count() > 0 ? LLX_DEVICE_CUDA : LLX_DEVICE_CPU));
    llx_backend_free(be);
}

static void test_bad_names(void)
{
    llx_backend *be;
    llx_error err;
    CHECK(create("tpu", &be, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "device 'tpu': expected auto, cpu, cuda or cuda:N");
    CHECK(create("cuda:x", &be, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "cuda:N");
    CHECK(create("cuda:-1", &be, &err) == LLX_ERR_INVALID);
    CHECK(be == NULL);
}

/* Without a GPU (or without the CUDA backend in the build) cuda is an error that says why. */
static void test_cuda_without_gpu(void)
{
    if (llx_cuda_device_count() > 0) return;
    llx_backend *be;
    llx_error err;
    CHECK(create("cuda", &be, &err) == LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "device cuda");
    CHECK(create("cuda:3", &be, &err) == LLX_ERR_UNSUPPORTED);
    CHECK(be == NULL);
}

/* A build with the CUDA backend has a CUDA kernel for every built-in op; one without has
 * none. (Whether the build has it shows in the error of a GPU-less machine.) */
static void test_every_op_has_a_cuda_kernel_in_a_cuda_build(void)
{
    llx_backend *be;
    llx_error err;
    bool built = create("cuda", &be, &err) == LLX_OK || !strstr(err.msg, "built without");
    llx_backend_free(be);
    for (int id = 0; id < LLX_OP_COUNT; id++) {
        const llx_op_desc *op = llx_builtin_op((llx_op_id)id);
        bool has = op->kernels[LLX_DEVICE_CUDA].forward && op->kernels[LLX_DEVICE_CUDA].backward;
        CHECK_MSG(has == built, "op %s: cuda kernels %s in a build %s the CUDA backend", op->name,
                  has ? "present" : "missing", built ? "with" : "without");
    }
}

/* A missing kernel is an error naming the op and device, never a fallback to the CPU. */
static void test_missing_kernel_names_op(void)
{
    static const llx_op_desc cpu_only = {.name = "cpu_only_op", .min_inputs = 1, .max_inputs = 1};
    llx_backend fake_gpu = {.name = "cuda", .device = LLX_DEVICE_CUDA};
    llx_op_call c = {.op = &cpu_only, .n_in = 1, .backend = &fake_gpu};
    llx_error err;
    llx_error_clear(&err);
    CHECK(llx_op_forward(&c, &err) == LLX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "cuda");
    CHECK_CONTAINS(err.msg, "cpu_only_op");
}

/* The backend counts what its allocations hold, now and at most (llx bench's peak). */
static void test_memory_accounting(void)
{
    llx_backend *be;
    llx_error err = {0};
    CHECK(llx_backend_cpu_create(1, &be, &err) == LLX_OK);
    size_t in_use = 1, peak = 1;
    be->memory(be, &in_use, &peak);
    CHECK(in_use == 0 && peak == 0);
    void *a = be->alloc(be, 1000, &err), *b = be->alloc(be, 500, &err);
    be->memory(be, &in_use, &peak);
    CHECK(in_use == 1500 && peak == 1500);
    be->free(be, a);
    void *c = be->alloc(be, 200, &err);
    be->memory(be, &in_use, &peak);
    CHECK_MSG(in_use == 700 && peak == 1500, "in use %zu, peak %zu", in_use, peak);
    be->free(be, b);
    be->free(be, c);
    be->free(be, NULL);
    be->memory(be, &in_use, &peak);
    CHECK(in_use == 0 && peak == 1500);
    llx_backend_free(be);
}

int main(void)
{
    RUN(test_cpu_and_auto);
    RUN(test_bad_names);
    RUN(test_cuda_without_gpu);
    RUN(test_every_op_has_a_cuda_kernel_in_a_cuda_build);
    RUN(test_missing_kernel_names_op);
    RUN(test_memory_accounting);
    return check_report();
}
