/* tensor.c: dtype tables and shape helpers. */
#include <stdio.h>
#include <string.h>

#include "llx/status.h"
#include "llx/tensor.h"

static const char *const dtype_names[] = {[LLX_F32] = "f32", [LLX_F64] = "f64", [LLX_I32] = "i32"};
static const size_t dtype_sizes[] = {[LLX_F32] = 4, [LLX_F64] = 8, [LLX_I32] = 4};
static const char *const device_names[] = {[LLX_DEVICE_CPU] = "cpu", [LLX_DEVICE_CUDA] = "cuda"};
_Static_assert(sizeof dtype_names / sizeof dtype_names[0] == LLX_DTYPE_COUNT, "dtype names");
_Static_assert(sizeof dtype_sizes / sizeof dtype_sizes[0] == LLX_DTYPE_COUNT, "dtype sizes");
_Static_assert(sizeof device_names / sizeof device_names[0] == LLX_DEVICE_COUNT, "device names");

const char *llx_dtype_name(llx_dtype t) { return dtype_names[t]; }
size_t llx_dtype_size(llx_dtype t) { return dtype_sizes[t]; }
const char *llx_device_name(llx_device d) { return device_names[d]; }

llx_shape llx_shape_make(int ndim, const int64_t *dim)
{
    LLX_ASSERT(ndim >= 0 && ndim <= LLX_MAX_DIMS);
    llx_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim; i++) s.dim[i] = dim[i];
    return s;
}

llx_shape llx_shape1(int64_t a) { return (llx_shape){.ndim = 1, .dim = {a}}; }
llx_shape llx_shape2(int64_t a, int64_t b) { return (llx_shape){.ndim = 2, .dim = {a, b}}; }
llx_shape llx_shape4(int64_t n, int64_t c, int64_t h, int64_t w)
{
    return (llx_shape){.ndim = 4, .dim = {n, c, h, w}};
}

int64_t llx_shape_numel(const llx_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
    return n;
}

bool llx_shape_equal(const llx_shape *a, const llx_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

char *llx_shape_str(const llx_shape *s, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < s->ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "",
                                 (long long)s->dim[i]);
    if (used < cap) snprintf(buf + used, cap - used, ")");
    return buf;
}
