/* elementwise.cu: the CUDA kernels of relu and sigmoid (F32), as layers/relu.c and
 * layers/sigmoid.c:
 *   relu     y = x > 0 ? x : 0           dx += x > 0 ? dy : 0      (x: the saved input)
 *   sigmoid  y = 1 / (1 + exp(-x))       dx += dy * y * (1 - y)    (y: the forward output)
 * (dx = ... instead of += when c->din_fresh marks dx fresh: its stale bytes are not read.)
 * Shapes: any, y like x; the element count is the output's at call time.
 *
 * One grid-stride kernel per op and direction. When every pointer is 16-byte aligned, the
 * body runs on float4 (n / 4 of them), then the last n % 4 elements one by one; otherwise
 * element by element. No __restrict__: an in-place call (y == x, dx == dy) stays correct,
 * since each element is read and written by the same thread. */
#include "kernel_util.cuh"

enum ew_op {
    EW_RELU_FWD,    /* out = relu(a) */
    EW_RELU_BWD,    /* out += a > 0 ? b : 0      a: x, b: dy */
    EW_SIGMOID_FWD, /* out = sigmoid(a) */
    EW_SIGMOID_BWD, /* out += b * a * (1 - a)    a: y, b: dy */
};

template <int OP> static __device__ inline float ew_apply(float a, float b, float out)
{
    switch (OP) {
    case EW_RELU_FWD: return a > 0.0f ? a : 0.0f;
    case EW_RELU_BWD: return out + (a > 0.0f ? b : 0.0f);
    case EW_SIGMOID_FWD: return llx_sigmoidf(a);
    default: return out + b * a * (1.0f - a);
    }
}

/* Forward ops read only a and write out; backward ops also read b and out. */
template <int OP> static __device__ inline bool ew_is_bwd()
{
    return OP == EW_RELU_BWD || OP == EW_SIGMOID_BWD;
}

/* a, b, out: (n). Scalar grid-stride loop over [from, n). fresh: backward ops write out
 * without reading it. */
template <int OP>
static __device__ inline void ew_scalar(const float *a, const float *b, float *out, int64_t from,
                                        int64_t n, bool fresh)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = from + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float bi = ew_is_bwd<OP>() ? b[i] : 0.0f;
        const float oi = ew_is_bwd<OP>() && !fresh ? out[i] : 0.0f;
        out[i] = ew_apply<OP>(a[i], bi, oi);
    }
}

/* a, b, out: (n) floats; VEC: all three 16-byte aligned (b unused by forward ops). */
template <int OP, bool VEC>
static __global__ void ew_kernel(const float *a, const float *b, float *out, int64_t n, bool fresh)
{
    if constexpr (!VEC) {
        ew_scalar<OP>(a, b, out, 0, n, fresh);
    } else {
        const int64_t n4 = n / 4, stride = (int64_t)gridDim.x * blockDim.x;
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *o4 = reinterpret_cast<float4 *>(out);
        for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
            const float4 x = a4[i];
            float4 g = make_float4(0.0f, 0.0f, 0.0f, 0.0f), o = g;
            if (ew_is_bwd<OP>()) {
                g = b4[i];
                if (!fresh) o = o4[i];
            }
            o.x = ew_apply<OP>(x.x, g.x, o.x);
            o.y = ew_apply<OP>(x.y, g.y, o.y);
            o.z = ew_apply<OP>(x.z, g.z, o.z);
            o.w = ew_apply<OP>(x.w, g.w, o.w);
            o4[i] = o;
        }
        ew_scalar<OP>(a, b, out, n4 * 4, n, fresh); /* the last n % 4 */
    }
}

/* Launches OP over n elements on the backend's stream; b NULL for forward ops; fresh: a
 * backward op writes out instead of adding to it. */
template <int OP>
static llx_status ew_launch(llx_backend *be, const float *a, const float *b, float *out,
                            int64_t n, bool fresh, const char *name, llx_error *err)
{
    if (n <= 0) return LLX_OK;
    const bool vec = llx_aligned16(a) && llx_aligned16(out) && (!b || llx_aligned16(b));
    const unsigned grid = llx_cuda_grid(be, vec ? (n + 3) / 4 : n);
    cudaStream_t st = llx_cuda_stream(be);
    if (vec)
        ew_kernel<OP, true><<<grid, LLX_CUDA_THREADS, 0, st>>>(a, b, out, n, fresh);
    else
        ew_kernel<OP, false><<<grid, LLX_CUDA_THREADS, 0, st>>>(a, b, out, n, fresh);
    return llx_cuda_launched(name, err);
}

extern "C" llx_status llx_cuda_relu_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return ew_launch<EW_RELU_FWD>(c->backend, (const float *)c->in[0]->data, NULL,
                                  (float *)c->out->data, llx_tensor_numel(c->out), false,
                                  "relu forward kernel", err);
}

extern "C" llx_status llx_cuda_relu_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    return ew_launch<EW_RELU_BWD>(c->backend, (const float *)c->in[0]->data,
                                  (const float *)c->dout->data, (float *)c->din[0]->data,
                                  llx_tensor_numel(c->out), llx_cuda_fresh(c, 0),
                                  "relu backward kernel", err);
}

extern "C" llx_status llx_cuda_sigmoid_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    return ew_launch<EW_SIGMOID_FWD>(c->backend, (const float *)c->in[0]->data, NULL,
                                     (float *)c->out->data, llx_tensor_numel(c->out), false,
                                     "sigmoid forward kernel", err);
}

extern "C" llx_status llx_cuda_sigmoid_backward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    if (!c->din[0]) return LLX_OK;
    return ew_launch<EW_SIGMOID_BWD>(c->backend, (const float *)c->out->data,
                                     (const float *)c->dout->data, (float *)c->din[0]->data,
                                     llx_tensor_numel(c->out), llx_cuda_fresh(c, 0),
                                     "sigmoid backward kernel", err);
}
