/* concat.cu: the CUDA kernels of concat (F32), as layers/concat.c:
 *   x_i (N, C_i, H, W), 2..8 inputs -> y (N, sum C_i, H, W), joined along C in input order
 *   backward: dx_i += the matching channel slice of dy (dx_i NULL: skipped)
 * Each input is a run of len_i = C_i*H*W floats per sample, landing at offset at_i =
 * (C_0 + .. + C_{i-1})*H*W of the output's row of C*H*W. One launch covers every input:
 * grid.z picks the input (a table passed by value), grid.y the sample, grid.x strides along
 * the run; float4 for an input whose run, offset and pointers allow it. */
#include <string.h>

#include "kernel_util.cuh"

typedef struct concat_part {
    float *x;   /* (N, len): the input (forward) or its gradient (backward) */
    int64_t len; /* C_i * H * W */
    int64_t at;  /* where its run starts in an output row */
    int vec;     /* float4: len, at, row % 4 == 0 and both pointers 16-byte aligned */
} concat_part;

typedef struct concat_table {
    concat_part part[LLX_OP_MAX_INPUTS];
    int64_t n;   /* samples */
    int64_t row; /* C * H * W of the output */
} concat_table;

/* FWD: y[b, at + k] = x[b, k]; else x[b, k] += y[b, at + k] (x: dx_i, y: dy). */
template <bool FWD>
static __global__ void concat_kernel(const __grid_constant__ concat_table t, float *y)
{
    const concat_part p = t.part[blockIdx.z];
    const int64_t start = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t b = blockIdx.y; b < t.n; b += gridDim.y) {
        float *yr = y + b * t.row + p.at;
        float *xr = p.x + b * p.len;
        if (p.vec) {
            float4 *y4 = reinterpret_cast<float4 *>(yr);
            float4 *x4 = reinterpret_cast<float4 *>(xr);
            for (int64_t k = start; k < p.len / 4; k += stride) {
                if (FWD) {
                    y4[k] = x4[k];
                } else {
                    const float4 g = y4[k];
                    float4 d = x4[k];
                    d.x += g.x;
                    d.y += g.y;
                    d.z += g.z;
                    d.w += g.w;
                    x4[k] = d;
                }
            }
        } else {
            for (int64_t k = start; k < p.len; k += stride) {
                if (FWD)
                    yr[k] = xr[k];
                else
                    xr[k] += yr[k];
            }
        }
    }
}

/* Checks the call's shapes (as concat.c's infer) and fills the table with the inputs
 * (forward) or the non-NULL input gradients (backward); *parts: how many. */
static llx_status concat_table_of(const llx_op_call *c, bool fwd, concat_table *t, int *parts,
                                  llx_error *err)
{
    if (c->n_in < 2 || c->n_in > LLX_OP_MAX_INPUTS)
        return llx_errorf(err, LLX_ERR_SHAPE, "concat: needs 2 to %d inputs, got %d",
                          LLX_OP_MAX_INPUTS, c->n_in);
    const llx_shape *s0 = &c->in[0]->shape;
    int64_t channels = 0;
    for (int i = 0; i < c->n_in; i++) {
        const llx_shape *s = &c->in[i]->shape;
        if (s->ndim != 4 || s->dim[0] != s0->dim[0] || s->dim[2] != s0->dim[2] ||
            s->dim[3] != s0->dim[3]) {
            char si[64], sz[64];
            return llx_errorf(err, LLX_ERR_SHAPE,
                              "concat: input %d has shape %s but input 0 has %s: want 4-D with "
                              "N, H and W equal",
                              i, llx_shape_str(s, si, sizeof si), llx_shape_str(s0, sz, sizeof sz));
        }
        channels += s->dim[1];
    }
    const int64_t hw = s0->dim[2] * s0->dim[3];
    t->n = s0->dim[0];
    t->row = channels * hw;
    if (llx_tensor_numel(c->out) != t->n * t->row) {
        char so[64];
        return llx_errorf(err, LLX_ERR_SHAPE, "concat: output %s does not hold the %lld values "
                          "of the inputs",
                          llx_shape_str(&c->out->shape, so, sizeof so),
                          (long long)(t->n * t->row));
    }
    const float *y = (const float *)(fwd ? c->out->data : c->dout->data);
    int m = 0;
    int64_t at = 0;
    for (int i = 0; i < c->n_in; i++) {
        const int64_t len = c->in[i]->shape.dim[1] * hw;
        float *x = (float *)(fwd ? c->in[i]->data : (c->din[i] ? c->din[i]->data : NULL));
        if (x && len > 0) {
            concat_part *p = &t->part[m++];
            p->x = x;
            p->len = len;
            p->at = at;
            p->vec = len % 4 == 0 && at % 4 == 0 && t->row % 4 == 0 && llx_aligned16(x) &&
                     llx_aligned16(y);
        }
        at += len;
    }
    *parts = m;
    return LLX_OK;
}

/* True when two parts' memory (n rows of len floats each) overlaps. */
static bool concat_parts_overlap(const concat_table *t, int parts)
{
    for (int i = 0; i < parts; i++)
        for (int j = i + 1; j < parts; j++) {
            const uintptr_t a0 = (uintptr_t)t->part[i].x, b0 = (uintptr_t)t->part[j].x;
            const uintptr_t a1 = a0 + (uintptr_t)(t->n * t->part[i].len) * sizeof(float);
            const uintptr_t b1 = b0 + (uintptr_t)(t->n * t->part[j].len) * sizeof(float);
            if (a0 < b1 && b0 < a1) return true;
        }
    return false;
}

static llx_status concat_run(const llx_op_call *c, bool fwd, llx_error *err)
{
    concat_table t;
    memset(&t, 0, sizeof t);
    int parts = 0;
    LLX_TRY(concat_table_of(c, fwd, &t, &parts, err));
    if (parts == 0 || t.n == 0) return LLX_OK;
    int64_t units = 0; /* the longest run, in float4 or float */
    for (int i = 0; i < parts; i++) {
        const int64_t u = t.part[i].vec ? t.part[i].len / 4 : t.part[i].len;
        if (u > units) units = u;
    }
    const int64_t gy = t.n < 65535 ? t.n : 65535;
    const int64_t want = llx_cuda_grid(c->backend, t.n * units * parts); /* a few waves */
    int64_t gx = want / (gy * parts);
    const int64_t gx_max = (units + LLX_CUDA_THREADS - 1) / LLX_CUDA_THREADS;
    if (gx > gx_max) gx = gx_max;
    if (gx < 1) gx = 1;
    cudaStream_t st = llx_cuda_stream(c->backend);
    if (fwd) {
        const dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)parts);
        concat_kernel<true><<<grid, LLX_CUDA_THREADS, 0, st>>>(t, (float *)c->out->data);
        return llx_cuda_launched("concat forward kernel", err);
    }
    if (!concat_parts_overlap(&t, parts)) {
        const dim3 grid((unsigned)gx, (unsigned)gy, (unsigned)parts);
        concat_kernel<false><<<grid, LLX_CUDA_THREADS, 0, st>>>(t, (float *)c->dout->data);
        return llx_cuda_launched("concat backward kernel", err);
    }
    /* Gradients sharing memory (concat(x, x)): one launch per input, in order, so that no
     * two blocks add into the same element at once. */
    for (int i = 0; i < parts; i++) {
        concat_table one = t;
        one.part[0] = t.part[i];
        concat_kernel<false><<<dim3((unsigned)gx, (unsigned)gy, 1), LLX_CUDA_THREADS, 0, st>>>(
            one, (float *)c->dout->data);
        LLX_TRY(llx_cuda_launched("concat backward kernel", err));
    }
    return LLX_OK;
}

extern "C" llx_status llx_cuda_concat_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return concat_run(c, true, err);
}

extern "C" llx_status llx_cuda_concat_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return concat_run(c, false, err);
}
