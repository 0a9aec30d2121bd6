/* llx/tensor.h: dtype, shape and tensor.
 *
 * A tensor carries device, dtype, shape and a name; its data lives on the
 * device of its backend. Moving data between devices is always explicit
 * (llx_backend.copy). Layout is row-major NCHW. */
#ifndef LLX_TENSOR_H
#define LLX_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum llx_dtype {
    LLX_F32 = 0,
    LLX_F64,
    LLX_I32, /* labels, indices */
    LLX_DTYPE_COUNT
} llx_dtype;

typedef enum llx_device {
    LLX_DEVICE_CPU = 0,
    LLX_DEVICE_CUDA,
    LLX_DEVICE_COUNT
} llx_device;

#define LLX_MAX_DIMS 4

typedef struct llx_shape {
    int ndim;
    int64_t dim[LLX_MAX_DIMS];
} llx_shape;

typedef struct llx_tensor {
    const char *name; /* dotted name for parameters, node name for activations (not owned) */
    llx_dtype dtype;
    llx_device device;
    llx_shape shape;
    void *data; /* device memory, not owned */
} llx_tensor;

const char *llx_dtype_name(llx_dtype t);
size_t llx_dtype_size(llx_dtype t);
const char *llx_device_name(llx_device d);

/* Shapes. */
llx_shape llx_shape_make(int ndim, const int64_t *dim);
llx_shape llx_shape1(int64_t a);
llx_shape llx_shape2(int64_t a, int64_t b);
llx_shape llx_shape4(int64_t n, int64_t c, int64_t h, int64_t w);
int64_t llx_shape_numel(const llx_shape *s);
bool llx_shape_equal(const llx_shape *a, const llx_shape *b);
/* "(N, C, H, W)"-style text, e.g. "(2, 64, 56, 56)"; returns buf. */
char *llx_shape_str(const llx_shape *s, char *buf, size_t cap);

static inline int64_t llx_tensor_numel(const llx_tensor *t) { return llx_shape_numel(&t->shape); }
static inline size_t llx_tensor_bytes(const llx_tensor *t)
{
    return (size_t)llx_tensor_numel(t) * llx_dtype_size(t->dtype);
}

#endif
