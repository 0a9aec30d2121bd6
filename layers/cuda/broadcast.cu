/* broadcast.cu: the CUDA kernels of add, mul and sigmoid_gate (F32), as layers/add.c, mul.c
 * and sigmoid_gate.c (loops in broadcast_impl.h):
 *   add           y = a + b             da += dy           db += sum dy
 *   mul           y = a * b             da += dy * b       db += sum dy * a
 *   sigmoid_gate  y = a * s, s = sig(b) da += dy * s       db += (sum dy * a) * s * (1 - s)
 * b broadcasts onto a (b has a's ndim, each dim 1 or a's); the sums run over the dims where b
 * is 1. The host brings the shapes to the canonical form of broadcast.h, a = (s0 .. s4) with
 * b = (s1, s3); a's element (i0, .., i4) at (((i0*s1 + i1)*s2 + i2)*s3 + i3)*s4 + i4, b's at
 * i1*s3 + i3.
 *
 * Kernels:
 *   bc_map     y = / += x op f(b) over a's elements, grid-stride. Groups of 4 elements go
 *              through float4 when the pointers are 16-byte aligned and a group never leaves
 *              a run that shares one b (s4 % 4 == 0) or that faces 4 contiguous b
 *              (s4 == 1, s3 % 4 == 0). b's index comes from multiply-shift divisions
 *              (kernel_util.cuh); equal shapes skip them.
 *   bc_acc     y += x (add's da, and add's db for equal shapes; y = x for a gradient that
 *              c->din_fresh marks fresh), float4 when aligned;
 *              bc_acc2 does da and db of equal shapes (the residual join) in one pass.
 *   bc_units   db when s4 > 1: each b element sums s0*s2 runs of s4 (channel gates: one run
 *              of H*W per (n, c)). A group of 1 to 32 lanes per b element (about 4 loads per
 *              lane, so a warp takes several short units at once), or a 256-thread block when
 *              it sums 1024 elements or more; shuffle reductions.
 *   bc_cols    db when s4 == 1: b is contiguous along i3; a block takes 32 neighbouring b
 *              elements, 8 threads each walking every 8th (i0, i2) row, combined in order
 *              (spatial gates: 8 threads per (n, h, w) sum over C). bc_db_elem when b is
 *              like a (nothing to sum: the sigmoid gate's full map).
 * No atomics: every db element is summed by one warp, block or thread in a fixed order, so
 * results are the same run after run. */
#include "broadcast.h"
#include "kernel_util.cuh"

enum bc_mode {
    BC_SET_ADD,  /* y = x + b */
    BC_SET_MUL,  /* y = x * b */
    BC_SET_GATE, /* y = x * sigmoid(b) */
    BC_ACC_MUL,  /* y += x * b */
    BC_ACC_GATE, /* y += x * sigmoid(b) */
};

enum bc_kind { BC_ADD, BC_MUL, BC_GATE }; /* which op's db */

/* The canonical shape for the kernels: I the index type, D its divider. */
template <class I, class D> struct bc_geom {
    I n;          /* a's elements */
    I s1, s2, s3, s4;
    D d1, d2, d3, d4; /* dividers by s1 .. s4 */
    bool inner;   /* s4 > 1: runs of s4 share one b */
    bool same;    /* s0 == s2 == s4 == 1: b's index is a's */
};

template <class I, class D> static bc_geom<I, D> bc_geom_of(const llx_bcast_dims *d)
{
    bc_geom<I, D> g;
    const int64_t *s = d->s;
    g.n = (I)(s[0] * s[1] * s[2] * s[3] * s[4]);
    g.s1 = (I)s[1];
    g.s2 = (I)s[2];
    g.s3 = (I)s[3];
    g.s4 = (I)s[4];
    llx_div_make(&g.d1, s[1]);
    llx_div_make(&g.d2, s[2]);
    llx_div_make(&g.d3, s[3]);
    llx_div_make(&g.d4, s[4]);
    g.inner = s[4] > 1;
    g.same = s[0] == 1 && s[2] == 1 && s[4] == 1;
    return g;
}

/* b's index for a's element p. */
template <class I, class D> static __device__ inline I bc_bidx(const bc_geom<I, D> &g, I p)
{
    if (g.same) return p;
    const I q = g.inner ? (I)llx_div(g.d4, p) : p; /* (i0, i1, i2, i3) */
    const I r = (I)llx_div(g.d3, q);                 /* (i0, i1, i2) */
    const I i3 = q - r * g.s3;
    const I t = (I)llx_div(g.d2, r); /* (i0, i1) */
    const I i1 = t - (I)llx_div(g.d1, t) * g.s1;
    return i1 * g.s3 + i3;
}

template <int MODE> static __device__ inline float bc_op(float x, float b, float y)
{
    switch (MODE) {
    case BC_SET_ADD: return x + b;
    case BC_SET_MUL: return x * b;
    case BC_SET_GATE: return x * llx_sigmoidf(b);
    case BC_ACC_MUL: return y + x * b;
    default: return y + x * llx_sigmoidf(b);
    }
}

template <int MODE> static __device__ inline bool bc_reads_y()
{
    return MODE == BC_ACC_MUL || MODE == BC_ACC_GATE;
}

/* x, y: a's shape (g.n); b: (s1, s3). y = / += x op f(b). VEC: groups of 4 through float4
 * (host checked alignment and that n, and s4 or s3, are multiples of 4). */
template <int MODE, class I, class D, bool VEC>
static __global__ void bc_map(bc_geom<I, D> g, const float *x, const float *b, float *y)
{
    const I stride = (I)gridDim.x * (I)blockDim.x;
    const I start = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x;
    if constexpr (!VEC) {
        for (I p = start; p < g.n; p += stride) {
            const float yp = bc_reads_y<MODE>() ? y[p] : 0.0f;
            y[p] = bc_op<MODE>(x[p], b[bc_bidx(g, p)], yp);
        }
    } else {
        const I n4 = g.n / 4;
        const float4 *x4 = reinterpret_cast<const float4 *>(x);
        float4 *y4 = reinterpret_cast<float4 *>(y);
        for (I q = start; q < n4; q += stride) {
            const I bi = bc_bidx(g, q * 4);
            float4 bv;
            if (g.inner) {
                const float v = b[bi];
                bv = make_float4(v, v, v, v);
            } else {
                bv = *reinterpret_cast<const float4 *>(b + bi); /* bi % 4 == 0 */
            }
            const float4 xv = x4[q];
            float4 yv = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (bc_reads_y<MODE>()) yv = y4[q];
            yv.x = bc_op<MODE>(xv.x, bv.x, yv.x);
            yv.y = bc_op<MODE>(xv.y, bv.y, yv.y);
            yv.z = bc_op<MODE>(xv.z, bv.z, yv.z);
            yv.w = bc_op<MODE>(xv.w, bv.w, yv.w);
            y4[q] = yv;
        }
    }
}

/* x, y: (n). y += x (y = x when fresh); VEC: both 16-byte aligned (the last n % 4 one by one). */
template <bool VEC> static __global__ void bc_acc(const float *x, float *y, int64_t n, bool fresh)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t start = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t from = 0;
    if (VEC) {
        const int64_t n4 = n / 4;
        const float4 *x4 = reinterpret_cast<const float4 *>(x);
        float4 *y4 = reinterpret_cast<float4 *>(y);
        for (int64_t i = start; i < n4; i += stride) {
            const float4 a = x4[i];
            float4 o = fresh ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : y4[i];
            o.x += a.x;
            o.y += a.y;
            o.z += a.z;
            o.w += a.w;
            y4[i] = o;
        }
        from = n4 * 4;
    }
    for (int64_t i = from + start; i < n; i += stride) y[i] = (fresh ? 0.0f : y[i]) + x[i];
}

/* x, y1, y2: (n). y1 += x and y2 += x, x read once (add's backward for equal shapes); = for
 * a fresh one (f1, f2). VEC: all three 16-byte aligned (the last n % 4 one by one). */
template <bool VEC>
static __global__ void bc_acc2(const float *x, float *y1, float *y2, int64_t n, bool f1, bool f2)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t start = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t from = 0;
    if (VEC) {
        const int64_t n4 = n / 4;
        const float4 *x4 = reinterpret_cast<const float4 *>(x);
        float4 *p4 = reinterpret_cast<float4 *>(y1);
        float4 *q4 = reinterpret_cast<float4 *>(y2);
        for (int64_t i = start; i < n4; i += stride) {
            const float4 a = x4[i], zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            float4 p = f1 ? zero : p4[i], q = f2 ? zero : q4[i];
            p.x += a.x;
            p.y += a.y;
            p.z += a.z;
            p.w += a.w;
            q.x += a.x;
            q.y += a.y;
            q.z += a.z;
            q.w += a.w;
            p4[i] = p;
            q4[i] = q;
        }
        from = n4 * 4;
    }
    for (int64_t i = from + start; i < n; i += stride) {
        const float a = x[i];
        y1[i] = (f1 ? 0.0f : y1[i]) + a;
        y2[i] = (f2 ? 0.0f : y2[i]) + a;
    }
}

/* The sum of dy * a (dy alone for add) over the elements of unit j, strided by lane over a
 * group of G lanes. Unit j = i1*s3 + i3 owns s0*s2 runs of s4 elements. VEC: one run per unit
 * (s0 == s2 == 1), s4 % 4 == 0 and dy, a 16-byte aligned. */
template <int KIND, class I, class D, bool VEC>
static __device__ inline float bc_unit_partial(const bc_geom<I, D> &g, I rows, I j, int lane,
                                               int G, const float *dy, const float *a)
{
    float acc = 0.0f;
    if (rows == 1) {
        const I base = j * g.s4;
        if (VEC) {
            const float4 *d4 = reinterpret_cast<const float4 *>(dy + base);
            const float4 *a4 = KIND == BC_ADD ? nullptr : reinterpret_cast<const float4 *>(a + base);
#pragma unroll 4
            for (I k = (I)lane; k < g.s4 / 4; k += (I)G) {
                const float4 d = d4[k];
                if (KIND == BC_ADD) {
                    acc += (d.x + d.y) + (d.z + d.w);
                } else {
                    const float4 v = a4[k];
                    acc += (d.x * v.x + d.y * v.y) + (d.z * v.z + d.w * v.w);
                }
            }
        } else {
#pragma unroll 4
            for (I k = (I)lane; k < g.s4; k += (I)G)
                acc += KIND == BC_ADD ? dy[base + k] : dy[base + k] * a[base + k];
        }
        return acc;
    }
    const I i1 = (I)llx_div(g.d3, j), i3 = j - i1 * g.s3;
    const I len = rows * g.s4;
    for (I k = (I)lane; k < len; k += (I)G) {
        const I rr = (I)llx_div(g.d4, k), i4 = k - rr * g.s4; /* rr = (i0, i2) */
        const I i0 = (I)llx_div(g.d2, rr), i2 = rr - i0 * g.s2;
        const I at = (((i0 * g.s1 + i1) * g.s2 + i2) * g.s3 + i3) * g.s4 + i4;
        acc += KIND == BC_ADD ? dy[at] : dy[at] * a[at];
    }
    return acc;
}

/* db[j] += sum (times s * (1 - s) for the gate, s = sigmoid(b[j])). */
template <int KIND>
static __device__ inline void bc_db_store(float *db, const float *b, int64_t j, float sum)
{
    if (KIND == BC_GATE) {
        const float s = llx_sigmoidf(b[j]);
        db[j] += sum * s * (1.0f - s);
    } else {
        db[j] += sum;
    }
}

/* s4 > 1. dy, a: a's shape; b, db: (s1, s3). db[j] += reduction of unit j (see above), by
 * groups of G lanes (a power of two <= 32), 32 / G units per warp at a time; the unit loop is
 * uniform over the warp, so every lane reaches the shuffles. rows = s0 * s2. */
template <int KIND, class I, class D, bool VEC>
static __global__ void bc_units_warp(bc_geom<I, D> g, I rows, I units, int G, const float *dy,
                                     const float *a, const float *b, float *db)
{
    const int lane = threadIdx.x & 31, sub = lane / G, gl = lane % G;
    const I per_warp = (I)(32 / G);
    const I warp = (I)blockIdx.x * (I)(blockDim.x / 32) + (I)(threadIdx.x / 32);
    const I warps = (I)gridDim.x * (I)(blockDim.x / 32);
    for (I base = warp * per_warp; base < units; base += warps * per_warp) {
        const I j = base + (I)sub;
        float sum = 0.0f;
        if (j < units) sum = bc_unit_partial<KIND, I, D, VEC>(g, rows, j, gl, G, dy, a);
        sum = llx_group_sum(sum, G);
        if (gl == 0 && j < units) bc_db_store<KIND>(db, b, (int64_t)j, sum);
    }
}

/* As bc_units_warp with a block per unit (units of 1024 elements or more). */
template <int KIND, class I, class D, bool VEC>
static __global__ void bc_units_block(bc_geom<I, D> g, I rows, I units, const float *dy,
                                      const float *a, const float *b, float *db)
{
    __shared__ float smem[32];
    for (I j = (I)blockIdx.x; j < units; j += (I)gridDim.x) { /* uniform over the block */
        float sum = bc_unit_partial<KIND, I, D, VEC>(g, rows, j, (int)threadIdx.x,
                                                     (int)blockDim.x, dy, a);
        sum = llx_block_sum(sum, smem);
        if (threadIdx.x == 0) bc_db_store<KIND>(db, b, (int64_t)j, sum);
    }
}

/* db[p] += dy[p] (* a[p]) (* s * (1 - s), s = sigmoid(b[p])) for b like a: no sum. VEC: the
 * four pointers 16-byte aligned (the last n % 4 one by one). */
template <int KIND> static __device__ inline float bc_db_one(float dy, float a, float b, float db)
{
    const float v = KIND == BC_ADD ? dy : dy * a;
    if (KIND != BC_GATE) return db + v;
    const float s = llx_sigmoidf(b);
    return db + v * s * (1.0f - s);
}

template <int KIND, bool VEC>
static __global__ void bc_db_elem(const float *dy, const float *a, const float *b, float *db,
                                  int64_t n)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t start = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t from = 0;
    if (VEC) {
        const int64_t n4 = n / 4;
        const float4 *g4 = reinterpret_cast<const float4 *>(dy);
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *d4 = reinterpret_cast<float4 *>(db);
        for (int64_t i = start; i < n4; i += stride) {
            const float4 g = g4[i];
            float4 av = make_float4(0.0f, 0.0f, 0.0f, 0.0f), bv = av;
            if (KIND != BC_ADD) av = a4[i];
            if (KIND == BC_GATE) bv = b4[i];
            float4 d = d4[i];
            d.x = bc_db_one<KIND>(g.x, av.x, bv.x, d.x);
            d.y = bc_db_one<KIND>(g.y, av.y, bv.y, d.y);
            d.z = bc_db_one<KIND>(g.z, av.z, bv.z, d.z);
            d.w = bc_db_one<KIND>(g.w, av.w, bv.w, d.w);
            d4[i] = d;
        }
        from = n4 * 4;
    }
    for (int64_t i = from + start; i < n; i += stride)
        db[i] = bc_db_one<KIND>(dy[i], KIND == BC_ADD ? 0.0f : a[i],
                                KIND == BC_GATE ? b[i] : 0.0f, db[i]);
}

#define BC_COL_TILE 32 /* columns per bc_cols block (blockDim.x) */
#define BC_COL_SPLIT 8 /* row strides per bc_cols block (blockDim.y) */

/* s4 == 1. dy, a: a's shape (s0, s1, s2, s3); b, db: (s1, s3). A block (BC_COL_TILE,
 * BC_COL_SPLIT) takes BC_COL_TILE neighbouring columns j = i1*s3 + i3 (coalesced along i3);
 * thread row ty sums the rows (i0, i2) with i0*s2 + i2 = ty mod BC_COL_SPLIT, in increasing
 * order, and the first thread row adds the BC_COL_SPLIT partials in order. */
template <int KIND>
static __global__ void bc_cols(int64_t s0, int64_t s1, int64_t s2, int64_t s3,
                               const float *dy, const float *a, const float *b, float *db)
{
    __shared__ float part[BC_COL_SPLIT][BC_COL_TILE];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t cols = s1 * s3;
    for (int64_t tile = blockIdx.x; tile * BC_COL_TILE < cols; tile += gridDim.x) {
        const int64_t j = tile * BC_COL_TILE + tx;
        float acc = 0.0f;
        if (j < cols) {
            const int64_t i1 = j / s3, i3 = j - i1 * s3;
            for (int64_t i0 = 0; i0 < s0; i0++) {
                /* the first i2 with (i0*s2 + i2) % BC_COL_SPLIT == ty */
                const int64_t first =
                    ((int64_t)ty - (i0 * s2) % BC_COL_SPLIT + BC_COL_SPLIT) % BC_COL_SPLIT;
                const int64_t base = (i0 * s1 + i1) * s2;
#pragma unroll 4
                for (int64_t i2 = first; i2 < s2; i2 += BC_COL_SPLIT) {
                    const int64_t at = (base + i2) * s3 + i3;
                    acc += KIND == BC_ADD ? dy[at] : dy[at] * a[at];
                }
            }
        }
        part[ty][tx] = acc;
        __syncthreads();
        if (ty == 0 && j < cols) {
            for (int k = 1; k < BC_COL_SPLIT; k++) acc += part[k][tx];
            bc_db_store<KIND>(db, b, j, acc);
        }
        __syncthreads();
    }
}

/* ------------------------------------------------------------------ host side */

/* Shapes checked, canonical form in *d; n: a's elements. */
/* The call's canonical dims and element count (after checking it is all F32). */
static llx_status bc_dims(const llx_op_call *c, const char *op, llx_bcast_dims *d, int64_t *n,
                          llx_error *err)
{
    LLX_TRY(llx_cuda_require_f32(c, err));
    const llx_tensor *a = c->in[0], *b = c->in[1];
    LLX_TRY(llx_bcast_check(op, &a->shape, &b->shape, err));
    *d = llx_bcast_canon(&a->shape, &b->shape);
    *n = llx_tensor_numel(a);
    return LLX_OK;
}

/* float4 fits the map: see bc_map. */
static bool bc_map_vec(const llx_bcast_dims *d, const float *x, const float *b, const float *y)
{
    if (!llx_aligned16(x) || !llx_aligned16(y)) return false;
    if (d->s[4] > 1) return d->s[4] % 4 == 0;
    return d->s[3] % 4 == 0 && llx_aligned16(b);
}

template <int MODE, class I, class D>
static llx_status bc_map_launch(llx_backend *be, const llx_bcast_dims *d, const float *x,
                                const float *b, float *y, const char *name, llx_error *err)
{
    const bc_geom<I, D> g = bc_geom_of<I, D>(d);
    const bool vec = bc_map_vec(d, x, b, y);
    const unsigned grid = llx_cuda_grid(be, vec ? (int64_t)g.n / 4 : (int64_t)g.n);
    cudaStream_t st = llx_cuda_stream(be);
    if (vec)
        bc_map<MODE, I, D, true><<<grid, LLX_CUDA_THREADS, 0, st>>>(g, x, b, y);
    else
        bc_map<MODE, I, D, false><<<grid, LLX_CUDA_THREADS, 0, st>>>(g, x, b, y);
    return llx_cuda_launched(name, err);
}

/* x, y: a's shape; b: (s1, s3). y = / += x op f(b), per MODE. */
template <int MODE>
static llx_status bc_map_run(llx_backend *be, const llx_bcast_dims *d, int64_t n, const float *x,
                             const float *b, float *y, const char *name, llx_error *err)
{
    if (n <= 0) return LLX_OK;
    if (llx_fits32(n)) return bc_map_launch<MODE, uint32_t, llx_fdiv32>(be, d, x, b, y, name, err);
    return bc_map_launch<MODE, int64_t, llx_div64>(be, d, x, b, y, name, err);
}

/* y1 (n) += x (n); y2 (n) += x (n). */
static llx_status bc_acc2_run(llx_backend *be, const float *x, float *y1, float *y2, int64_t n,
                              bool f1, bool f2, const char *name, llx_error *err)
{
    if (n <= 0) return LLX_OK;
    const bool vec = llx_aligned16(x) && llx_aligned16(y1) && llx_aligned16(y2);
    const unsigned grid = llx_cuda_grid(be, vec ? (n + 3) / 4 : n);
    cudaStream_t st = llx_cuda_stream(be);
    if (vec)
        bc_acc2<true><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y1, y2, n, f1, f2);
    else
        bc_acc2<false><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y1, y2, n, f1, f2);
    return llx_cuda_launched(name, err);
}

/* y (n) += x (n); y = x when fresh. */
static llx_status bc_acc_run(llx_backend *be, const float *x, float *y, int64_t n, bool fresh,
                             const char *name, llx_error *err)
{
    if (n <= 0) return LLX_OK;
    const bool vec = llx_aligned16(x) && llx_aligned16(y);
    const unsigned grid = llx_cuda_grid(be, vec ? (n + 3) / 4 : n);
    cudaStream_t st = llx_cuda_stream(be);
    if (vec)
        bc_acc<true><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, n, fresh);
    else
        bc_acc<false><<<grid, LLX_CUDA_THREADS, 0, st>>>(x, y, n, fresh);
    return llx_cuda_launched(name, err);
}

#define BC_UNIT_BLOCK_MIN 1024 /* elements per b element from which a block sums it */

template <int KIND, class I, class D>
static llx_status bc_units_launch(llx_backend *be, const llx_bcast_dims *d, const float *dy,
                                  const float *a, const float *b, float *db, const char *name,
                                  llx_error *err)
{
    const int64_t *s = d->s;
    const bc_geom<I, D> g = bc_geom_of<I, D>(d);
    const int64_t rows = s[0] * s[2], units = s[1] * s[3];
    const bool vec = rows == 1 && s[4] % 4 == 0 && llx_aligned16(dy) &&
                     (KIND == BC_ADD || llx_aligned16(a));
    const int64_t cap = (int64_t)llx_cuda_sm_count(be) * 8;
    cudaStream_t st = llx_cuda_stream(be);
    const I r = (I)rows, u = (I)units;
    if (rows * s[4] >= BC_UNIT_BLOCK_MIN) {
        const unsigned grid = llx_blocks_for(units, 1, cap);
        if (vec)
            bc_units_block<KIND, I, D, true>
                <<<grid, LLX_CUDA_THREADS, 0, st>>>(g, r, u, dy, a, b, db);
        else
            bc_units_block<KIND, I, D, false>
                <<<grid, LLX_CUDA_THREADS, 0, st>>>(g, r, u, dy, a, b, db);
    } else {
        const int G = llx_group_lanes(vec ? s[4] / 4 : rows * s[4]);
        const unsigned grid = llx_blocks_for(units, LLX_CUDA_THREADS / G, cap);
        if (vec)
            bc_units_warp<KIND, I, D, true>
                <<<grid, LLX_CUDA_THREADS, 0, st>>>(g, r, u, G, dy, a, b, db);
        else
            bc_units_warp<KIND, I, D, false>
                <<<grid, LLX_CUDA_THREADS, 0, st>>>(g, r, u, G, dy, a, b, db);
    }
    return llx_cuda_launched(name, err);
}

/* db (s1, s3) += dy (* a) summed over (i0, i2, i4); the gate's factor s * (1 - s) after. */
template <int KIND>
static llx_status bc_reduce_run(llx_backend *be, const llx_bcast_dims *d, int64_t n,
                                const float *dy, const float *a, const float *b, float *db,
                                const char *name, llx_error *err)
{
    if (n <= 0) return LLX_OK;
    const int64_t *s = d->s;
    if (s[4] > 1) {
        if (llx_fits32(n))
            return bc_units_launch<KIND, uint32_t, llx_fdiv32>(be, d, dy, a, b, db, name, err);
        return bc_units_launch<KIND, int64_t, llx_div64>(be, d, dy, a, b, db, name, err);
    }
    cudaStream_t st = llx_cuda_stream(be);
    if (s[0] == 1 && s[2] == 1) { /* b like a: element-wise */
        const bool vec = llx_aligned16(dy) && llx_aligned16(db) &&
                         (KIND == BC_ADD || llx_aligned16(a)) &&
                         (KIND != BC_GATE || llx_aligned16(b));
        const unsigned grid = llx_cuda_grid(be, vec ? (n + 3) / 4 : n);
        if (vec)
            bc_db_elem<KIND, true><<<grid, LLX_CUDA_THREADS, 0, st>>>(dy, a, b, db, n);
        else
            bc_db_elem<KIND, false><<<grid, LLX_CUDA_THREADS, 0, st>>>(dy, a, b, db, n);
        return llx_cuda_launched(name, err);
    }
    const int64_t tiles = (s[1] * s[3] + BC_COL_TILE - 1) / BC_COL_TILE;
    const unsigned grid = llx_blocks_for(tiles, 1, (int64_t)INT32_MAX);
    bc_cols<KIND><<<grid, dim3(BC_COL_TILE, BC_COL_SPLIT), 0, st>>>(s[0], s[1], s[2], s[3], dy,
                                                                   a, b, db);
    return llx_cuda_launched(name, err);
}

/* ------------------------------------------------------------------ entry points */

static const float *fin(const llx_op_call *c, int i) { return (const float *)c->in[i]->data; }

extern "C" llx_status llx_cuda_add_forward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "add", &d, &n, err));
    return bc_map_run<BC_SET_ADD>(c->backend, &d, n, fin(c, 0), fin(c, 1), (float *)c->out->data,
                                  "add forward kernel", err);
}

extern "C" llx_status llx_cuda_add_backward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "add", &d, &n, err));
    const float *dy = (const float *)c->dout->data;
    const bool same = d.s[0] == 1 && d.s[2] == 1 && d.s[4] == 1; /* b like a: nothing to sum */
    const bool aliased = c->din[0] && c->din[1] && c->din[0]->data == c->din[1]->data;
    bool f0 = llx_cuda_fresh(c, 0), f1 = llx_cuda_fresh(c, 1);
    if (aliased && (f0 || f1)) { /* add(x, x): both passes add into one buffer */
        LLX_TRY(llx_cuda_fresh_zero(c, 3u, err));
        f0 = f1 = false;
    }
    /* The residual join: dy read once for both (not for add(x, x), whose da and db are one
     * buffer: that takes the two passes below, one after the other). */
    if (c->din[0] && c->din[1] && same && !aliased)
        return bc_acc2_run(c->backend, dy, (float *)c->din[0]->data, (float *)c->din[1]->data, n,
                           f0, f1, "add backward (da, db) kernel", err);
    if (c->din[0])
        LLX_TRY(bc_acc_run(c->backend, dy, (float *)c->din[0]->data, n, f0,
                           "add backward (da) kernel", err));
    if (!c->din[1]) return LLX_OK;
    float *db = (float *)c->din[1]->data;
    if (same) return bc_acc_run(c->backend, dy, db, n, f1, "add backward (db) kernel", err);
    if (f1) LLX_TRY(llx_cuda_fresh_zero(c, 2u, err)); /* the reductions only accumulate */
    return bc_reduce_run<BC_ADD>(c->backend, &d, n, dy, NULL, NULL, db,
                                 "add backward (db) kernel", err);
}

extern "C" llx_status llx_cuda_mul_forward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "mul", &d, &n, err));
    return bc_map_run<BC_SET_MUL>(c->backend, &d, n, fin(c, 0), fin(c, 1), (float *)c->out->data,
                                  "mul forward kernel", err);
}

extern "C" llx_status llx_cuda_mul_backward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "mul", &d, &n, err));
    const float *dy = (const float *)c->dout->data;
    if (c->din[0])
        LLX_TRY(bc_map_run<BC_ACC_MUL>(c->backend, &d, n, dy, fin(c, 1), (float *)c->din[0]->data,
                                       "mul backward (da) kernel", err));
    if (!c->din[1]) return LLX_OK;
    float *db = (float *)c->din[1]->data;
    if (d.s[0] == 1 && d.s[2] == 1 && d.s[4] == 1) /* b like a: db += dy * a element-wise */
        return bc_map_run<BC_ACC_MUL>(c->backend, &d, n, dy, fin(c, 0), db,
                                      "mul backward (db) kernel", err);
    return bc_reduce_run<BC_MUL>(c->backend, &d, n, dy, fin(c, 0), NULL, db,
                                 "mul backward (db) kernel", err);
}

extern "C" llx_status llx_cuda_sigmoid_gate_forward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "sigmoid_gate", &d, &n, err));
    return bc_map_run<BC_SET_GATE>(c->backend, &d, n, fin(c, 0), fin(c, 1),
                                   (float *)c->out->data, "sigmoid_gate forward kernel", err);
}

extern "C" llx_status llx_cuda_sigmoid_gate_backward(const llx_op_call *c, llx_error *err)
{
    llx_bcast_dims d;
    int64_t n;
    LLX_TRY(bc_dims(c, "sigmoid_gate", &d, &n, err));
    const float *dy = (const float *)c->dout->data;
    if (c->din[0])
        LLX_TRY(bc_map_run<BC_ACC_GATE>(c->backend, &d, n, dy, fin(c, 1),
                                        (float *)c->din[0]->data,
                                        "sigmoid_gate backward (da) kernel", err));
    if (!c->din[1]) return LLX_OK;
    /* Equal shapes (LLAM's full map): bc_db_elem, element-wise. */
    return bc_reduce_run<BC_GATE>(c->backend, &d, n, dy, fin(c, 0), fin(c, 1),
                                  (float *)c->din[1]->data, "sigmoid_gate backward (db) kernel",
                                  err);
}
