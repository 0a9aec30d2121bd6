/* sgd.cu: the fused SGD update on CUDA (llx_cuda_sgd_update_all, F32), as layers/sgd.c:
 *   g = grad + wd * w                (wd = 0 for a tensor without decay)
 *   v = first_step ? g : mom * v + g (only when mom != 0; v untouched and may be NULL else)
 *   step = nesterov ? g + mom * v : v
 *   w -= lr * step
 * in float, as the CPU kernel (which runs in the tensors' dtype).
 *
 * Every tensor of the list in one launch: a table of up to SGD_TABLE tensors {w, grad, v,
 * numel, first block, wd, float4 flag} goes to the kernel by value (kernel parameters up to
 * 32764 bytes: CUDA 12.1+, sm_70+). Tensor i owns blocks [first_i, first_i + ceil(numel_i /
 * SGD_CHUNK)); a block finds its tensor by binary search over the first blocks and updates
 * SGD_CHUNK elements (float4 when the three pointers are 16-byte aligned). Longer lists go
 * in several launches of SGD_TABLE tensors. Nothing is allocated and nothing waits. */
#include "kernel_util.cuh"

#define SGD_TABLE 512                         /* tensors per launch */
#define SGD_CHUNK (LLX_CUDA_THREADS * 4 * 4) /* elements per block: 4 float4 per thread */

typedef struct sgd_entry {
    float *w;
    const float *g;
    float *v;            /* NULL when momentum is 0 */
    int64_t numel;
    int64_t first_block; /* the tensor's first block in the launch */
    float wd;            /* weight decay, 0 without decay */
    int vec;             /* w, g (and v) 16-byte aligned */
} sgd_entry;

typedef struct sgd_table {
    sgd_entry e[SGD_TABLE];
    int count;
} sgd_table;

typedef struct sgd_coef {
    float lr, mom;
    int use_v, nesterov, first;
} sgd_coef;

static_assert(sizeof(sgd_table) + sizeof(sgd_coef) <= 32000,
              "the SGD table must fit the kernel parameter space (32764 bytes)");

/* One element: w, v updated in place (v only with use_v). */
static __device__ inline void sgd_one(float &w, float grad, float &v, float wd,
                                      const sgd_coef &k)
{
    float g = grad + wd * w;
    if (k.use_v) {
        v = k.first ? g : k.mom * v + g;
        g = k.nesterov ? g + k.mom * v : v;
    }
    w -= k.lr * g;
}

static __global__ void sgd_kernel(const __grid_constant__ sgd_table t, const sgd_coef k)
{
    /* The last entry whose first block is <= this block (first blocks strictly increase). */
    const int64_t b = blockIdx.x;
    int lo = 0, hi = t.count - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (t.e[mid].first_block <= b)
            lo = mid;
        else
            hi = mid - 1;
    }
    const sgd_entry e = t.e[lo];
    const int64_t start = (b - e.first_block) * SGD_CHUNK;
    const int64_t end = start + SGD_CHUNK < e.numel ? start + SGD_CHUNK : e.numel;
    int64_t from = start; /* where the scalar loop begins */
    if (e.vec) {
        float4 *w4 = reinterpret_cast<float4 *>(e.w);
        const float4 *g4 = reinterpret_cast<const float4 *>(e.g);
        float4 *v4 = reinterpret_cast<float4 *>(e.v);
        for (int64_t q = start / 4 + threadIdx.x; q < end / 4; q += blockDim.x) {
            float4 w = w4[q];
            const float4 g = g4[q];
            float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (k.use_v) v = v4[q];
            sgd_one(w.x, g.x, v.x, e.wd, k);
            sgd_one(w.y, g.y, v.y, e.wd, k);
            sgd_one(w.z, g.z, v.z, e.wd, k);
            sgd_one(w.w, g.w, v.w, e.wd, k);
            w4[q] = w;
            if (k.use_v) v4[q] = v;
        }
        from = end / 4 * 4; /* start is a multiple of 4; only the tensor's tail is left */
    }
    for (int64_t i = from + threadIdx.x; i < end; i += blockDim.x) {
        float w = e.w[i], v = k.use_v ? e.v[i] : 0.0f;
        sgd_one(w, e.g[i], v, e.wd, k);
        e.w[i] = w;
        if (k.use_v) e.v[i] = v;
    }
}

static llx_status sgd_flush(llx_backend *be, const sgd_table *t, int64_t blocks,
                            const sgd_coef *k, llx_error *err)
{
    if (t->count == 0 || blocks == 0) return LLX_OK;
    sgd_kernel<<<(unsigned)blocks, LLX_CUDA_THREADS, 0, llx_cuda_stream(be)>>>(*t, *k);
    return llx_cuda_launched("sgd update kernel", err);
}

extern "C" llx_status llx_cuda_sgd_update_all(llx_backend *be, const llx_sgd_params *p,
                                              bool first_step, int n, llx_tensor *const *w,
                                              const llx_tensor *const *grad,
                                              llx_tensor *const *velocity, const bool *decay,
                                              llx_error *err)
{
    for (int i = 0; i < n; i++)
        if (w[i]->dtype != LLX_F32)
            return llx_errorf(err, LLX_ERR_UNSUPPORTED,
                              "sgd: parameter '%s' is %s; the cuda kernel takes f32 only",
                              w[i]->name ? w[i]->name : "(unnamed)",
                              llx_dtype_name(w[i]->dtype));
    sgd_coef k;
    k.lr = (float)p->lr;
    k.mom = (float)p->momentum;
    k.use_v = p->momentum != 0;
    k.nesterov = p->nesterov;
    k.first = first_step;
    const float wd = (float)p->weight_decay;
    sgd_table t; /* 24 KB on the host stack; the launch copies it */
    t.count = 0;
    int64_t blocks = 0;
    for (int i = 0; i < n; i++) {
        const int64_t numel = llx_tensor_numel(w[i]);
        if (numel <= 0) continue;
        float *wi = (float *)w[i]->data, *v = k.use_v ? (float *)velocity[i]->data : NULL;
        const float *g = (const float *)grad[i]->data;
        if (!wi || !g || (k.use_v && !v))
            return llx_errorf(err, LLX_ERR_INVALID,
                              "sgd: tensor %d of %d has no data, gradient or velocity", i, n);
        const int64_t nb = (numel + SGD_CHUNK - 1) / SGD_CHUNK;
        if (nb > (int64_t)INT32_MAX)
            return llx_errorf(err, LLX_ERR_UNSUPPORTED, "sgd: tensor %d has %lld elements", i,
                              (long long)numel);
        if (t.count == SGD_TABLE || blocks + nb > (int64_t)INT32_MAX) {
            LLX_TRY(sgd_flush(be, &t, blocks, &k, err));
            t.count = 0;
            blocks = 0;
        }
        sgd_entry *e = &t.e[t.count++];
        e->w = wi;
        e->g = g;
        e->v = v;
        e->numel = numel;
        e->first_block = blocks;
        e->wd = !decay || decay[i] ? wd : 0.0f;
        e->vec = llx_aligned16(wi) && llx_aligned16(g) && (!v || llx_aligned16(v));
        blocks += nb;
    }
    return sgd_flush(be, &t, blocks, &k, err);
}
