/* linear.cu: the CUDA kernels of linear (F32) on cuBLAS, as layers/linear.c:
 *
 *   x (N, F) or (N, C, H, W) read as (N, F = C*H*W), w (O, F), b (O) optional -> y (N, O)
 *   y = x w^T + b;  gradients (accumulated, +=): dx += dy w, dw += dy^T x, db += sum_n dy
 *
 * Row-major tensors under column-major cuBLAS. A row-major (r, c) matrix with leading
 * dimension c is, read column-major, the (c, r) matrix of its transpose. So x (N, F) is the
 * column-major F x N matrix X^T (ld F), w (O, F) is W^T (F x O, ld F), y (N, O) is Y^T
 * (O x N, ld O), dy likewise dY^T (O x N, ld O). Each product is written for the transposes:
 *   y:  Y^T  (O x N) = W (O x F) X^T (F x N)     gemm(T, N, m O, n N, k F, A w ld F, B x ld F, C y ld O)
 *   dx: dX^T (F x N) = W^T (F x O) dY^T (O x N)  gemm(N, N, m F, n N, k O, A w ld F, B dy ld O, C dx ld F)
 *   dw: dW^T (F x O) = X^T (F x N) dY (N x O)    gemm(N, T, m F, n O, k N, A x ld F, B dy ld O, C dw ld F)
 * (dW = dY^T X, so dW^T = X^T dY). Accumulation is beta = 1; the forward fills y with the
 * bias first and runs the GEMM with beta = 1 (beta = 0 without a bias).
 *
 * cublasGemmEx with F32 storage; compute CUBLAS_COMPUTE_32F_FAST_TF32 when be->tf32 (TF32
 * tensor cores), CUBLAS_COMPUTE_32F otherwise. alpha and beta are host scalars: the backend's
 * handle keeps cuBLAS's default pointer mode (host).
 * db: one thread per output column summing its N rows in order, in double, as the CPU
 * (deterministic, and bit-identical to the CPU's sum). */
#include "cuda_impl.h"

#include <climits>
#include <cstdint>
#include <cstdio>

namespace {

struct lin_geom {
    int64_t n, f, o;
};

llx_status lin_fail(cublasStatus_t s, const lin_geom &g, const char *what, llx_error *err)
{
    char buf[192];
    snprintf(buf, sizeof buf, "linear: %s (N %lld, F %lld, O %lld)", what, (long long)g.n,
             (long long)g.f, (long long)g.o);
    return llx_cublas_check(s, buf, err);
}

#define LIN_TRY(call, what)                                                                   \
    do {                                                                                      \
        cublasStatus_t lin_s_ = (call);                                                       \
        if (lin_s_ != CUBLAS_STATUS_SUCCESS) return lin_fail(lin_s_, g, (what), err);         \
    } while (0)

/* n from the output (N, O), f and o from w (O, F). */
llx_status geom_of(const llx_op_call *c, const llx_shape *y, lin_geom *g, llx_error *err)
{
    const llx_shape *x = &c->in[0]->shape, *w = &c->in[1]->shape;
    if (w->ndim != 2 || y->ndim != 2 || (x->ndim != 2 && x->ndim != 4) ||
        x->dim[0] != y->dim[0] || w->dim[0] != y->dim[1] ||
        llx_shape_numel(x) != y->dim[0] * w->dim[1])
        return llx_errorf(err, LLX_ERR_SHAPE, "linear (cuda): input, weight and output do not fit");
    *g = lin_geom{y->dim[0], w->dim[1], w->dim[0]};
    if (g->n > INT_MAX || g->f > INT_MAX || g->o > INT_MAX)
        return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                          "linear (cuda): N %lld, F %lld or O %lld too large for cuBLAS (int)",
                          (long long)g->n, (long long)g->f, (long long)g->o);
    return LLX_OK;
}

cublasComputeType_t compute_of(const llx_backend *be)
{
    return be->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

/* y (N, O): every row = b. */
__global__ void bias_fill_kernel(int64_t total, int64_t o, const float *b, float *y)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = b[i % o];
}

/* db[j] += sum_i dy[i, j], dy (N, O); one thread per column, rows in order, in double. */
__global__ void bias_grad_kernel(int64_t n, int64_t o, const float *dy, float *db)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < o; j += stride) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += dy[i * o + j];
        db[j] += (float)s;
    }
}

const float k_one = 1.0f, k_zero = 0.0f;

} // namespace

extern "C" llx_status llx_cuda_linear_forward(const llx_op_call *c, llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    lin_geom g{};
    LLX_TRY(geom_of(c, &c->out->shape, &g, err));
    if (g.n == 0 || g.o == 0) return LLX_OK;
    llx_backend *be = c->backend;
    cudaStream_t stream = llx_cuda_stream(be);
    float *y = (float *)c->out->data;
    const bool with_bias = c->n_in > 2;
    if (with_bias) {
        bias_fill_kernel<<<llx_cuda_grid(be, g.n * g.o), LLX_CUDA_THREADS, 0, stream>>>(
            g.n * g.o, g.o, (const float *)c->in[2]->data, y);
        LLX_TRY(llx_cuda_launched("linear bias", err));
    }
    if (g.f == 0) { /* no features: y = b, or 0 */
        if (!with_bias)
            LLX_CUDA_TRY(cudaMemsetAsync(y, 0, (size_t)(g.n * g.o) * sizeof(float), stream),
                         "linear: zeroing the output");
        return LLX_OK;
    }
    LIN_TRY(cublasGemmEx(llx_cuda_cublas(be), CUBLAS_OP_T, CUBLAS_OP_N, (int)g.o, (int)g.n,
                         (int)g.f, &k_one, c->in[1]->data, CUDA_R_32F, (int)g.f, c->in[0]->data,
                         CUDA_R_32F, (int)g.f, with_bias ? &k_one : &k_zero, y, CUDA_R_32F,
                         (int)g.o, compute_of(be), CUBLAS_GEMM_DEFAULT),
            "cublasGemmEx (y = x w^T)");
    return LLX_OK;
}

extern "C" llx_status llx_cuda_linear_backward(const llx_op_call *c, llx_error *err)
{
    if (!c->dout)
        return llx_errorf(err, LLX_ERR_INVALID, "linear (cuda): backward without an output gradient");
    llx_tensor *dx = c->din[0], *dw = c->din[1];
    llx_tensor *db = c->n_in > 2 ? c->din[2] : nullptr;
    if (!dx && !dw && !db) return LLX_OK;
    LLX_TRY(llx_cuda_require_f32(c, err));
    lin_geom g{};
    LLX_TRY(geom_of(c, &c->dout->shape, &g, err));
    if (g.n == 0 || g.o == 0) return LLX_OK;
    llx_backend *be = c->backend;
    cublasHandle_t h = llx_cuda_cublas(be);
    const cublasComputeType_t ct = compute_of(be);
    const void *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout->data;
    if (dx && g.f > 0)
        LIN_TRY(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)g.f, (int)g.n, (int)g.o, &k_one, w,
                             CUDA_R_32F, (int)g.f, dy, CUDA_R_32F, (int)g.o, &k_one, dx->data,
                             CUDA_R_32F, (int)g.f, ct, CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx (dx += dy w)");
    if (dw && g.f > 0)
        LIN_TRY(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, (int)g.f, (int)g.o, (int)g.n, &k_one, x,
                             CUDA_R_32F, (int)g.f, dy, CUDA_R_32F, (int)g.o, &k_one, dw->data,
                             CUDA_R_32F, (int)g.f, ct, CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx (dw += dy^T x)");
    if (db) {
        bias_grad_kernel<<<llx_cuda_grid(be, g.o), LLX_CUDA_THREADS, 0, llx_cuda_stream(be)>>>(
            g.n, g.o, (const float *)dy, (float *)db->data);
        LLX_TRY(llx_cuda_launched("linear bias gradient", err));
    }
    return LLX_OK;
}
