/* conv2d.c: 2-D convolution (cross-correlation, groups 1, no dilation), NCHW.
 *
 *   y[n,o,i,j] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] * x[n, c, i*sh - ph + kh, j*sw - pw + kw]
 *
 * with zero padding. Gradients (accumulated, +=): dw += dy_n * col^T, db += sum dy,
 * dx_n += col2im(w^T * dy_n).
 *
 * Two CPU implementations. F32 runs on oneDNN (conv2d_onednn.c: its direct convolutions on
 * the blocked layouts it picks, converting from and to NCHW inside the op). F64, which
 * oneDNN does not have and the finite-difference gradient checks use, runs the reference
 * below: per image col = im2col(x_n) (C*KH*KW, H'*W'), y_n = w (O, C*KH*KW) * col; a 1x1
 * kernel with stride 1 and no padding skips im2col (col is x_n itself). Its workspace holds
 * one image's col matrix; GEMMs run one image at a time, im2col/col2im run under OpenMP,
 * each thread owning whole rows or channels, so results do not depend on scheduling.
 *
 * Mixed precision (llx_backend.conv_precision BF16 or F16, llx/precision.h): the F32 kernels
 * run on rounded copies of the operands and each result is rounded before it is stored or
 * added, the reference for the GPU's half-precision convolutions; the bias and its gradient
 * stay F32. */
#ifndef LLX_TYPED_PASS
#include <stdlib.h>

#include "conv2d_onednn.h"
#include "layers_impl.h"
#include "llx/precision.h"

static bool conv_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

#define LLX_TYPED_FILE "conv2d.c"
#include "typed_impl.h"

static llx_status conv2d_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                               llx_error *err)
{
    const llx_conv2d_attr *a = attr;
    char xs[64], ws[64], bs[64];
    LLX_TRY(llx_require_4d(&in[0], "conv2d", "input", err));
    LLX_TRY(llx_require_4d(&in[1], "conv2d", "weight (O, C, KH, KW)", err));
    llx_shape_str(&in[0], xs, sizeof xs);
    llx_shape_str(&in[1], ws, sizeof ws);
    if (a->stride_h < 1 || a->stride_w < 1 || a->pad_h < 0 || a->pad_w < 0)
        return llx_errorf(err, LLX_ERR_INVALID,
                          "conv2d: stride must be >= 1 and padding >= 0, "
                          "got stride %dx%d pad %dx%d",
                          a->stride_h, a->stride_w, a->pad_h, a->pad_w);
    if (in[0].dim[1] != in[1].dim[1])
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv2d: input %s has %lld channels but weight %s expects %lld", xs,
                          (long long)in[0].dim[1], ws, (long long)in[1].dim[1]);
    if (n_in > 2 && (in[2].ndim != 1 || in[2].dim[0] != in[1].dim[0]))
        return llx_errorf(err, LLX_ERR_SHAPE, "conv2d: bias %s does not fit weight %s: want (%lld)",
                          llx_shape_str(&in[2], bs, sizeof bs), ws, (long long)in[1].dim[0]);
    int64_t hp = in[0].dim[2] + 2 * a->pad_h, wp = in[0].dim[3] + 2 * a->pad_w;
    if (hp < in[1].dim[2] || wp < in[1].dim[3])
        return llx_errorf(err, LLX_ERR_SHAPE,
                          "conv2d: kernel %lldx%lld does not fit input %s padded by %dx%d "
                          "(%lldx%lld)",
                          (long long)in[1].dim[2], (long long)in[1].dim[3], xs, a->pad_h, a->pad_w,
                          (long long)hp, (long long)wp);
    *out = llx_shape4(in[0].dim[0], in[1].dim[0], (hp - in[1].dim[2]) / a->stride_h + 1,
                      (wp - in[1].dim[3]) / a->stride_w + 1);
    return LLX_OK;
}

static conv_geom conv_geom_of(const llx_conv2d_attr *a, const llx_shape *x, const llx_shape *w,
                              const llx_shape *y)
{
    return (conv_geom){.n = y->dim[0], .c = x->dim[1], .h = x->dim[2], .w = x->dim[3],
                       .o = w->dim[0], .kh = w->dim[2], .kw = w->dim[3],
                       .oh = y->dim[2], .ow = y->dim[3],
                       .sh = a->stride_h, .sw = a->stride_w, .ph = a->pad_h, .pw = a->pad_w};
}

static size_t conv2d_workspace(const void *attr, const llx_shape *in, int n_in,
                               const llx_shape *out, llx_dtype dt)
{
    conv_geom g = conv_geom_of(attr, &in[0], &in[1], out);
    size_t col = conv_is_pointwise(&g) ? 0 : (size_t)(g.c * g.kh * g.kw * g.oh * g.ow) * llx_dtype_size(dt);
    if (dt != LLX_F32) return col;
    size_t dnnl = llx_conv2d_onednn_workspace(&g, n_in > 2);
    return dnnl > col ? dnnl : col; /* col: room for the fallback below */
}

static int64_t conv2d_macs(const void *attr, const llx_shape *in, int n_in, const llx_shape *out)
{
    return llx_shape_numel(out) * in[1].dim[1] * in[1].dim[2] * in[1].dim[3];
}

static void conv2d_describe(const void *attr, char *buf, size_t cap)
{
    const llx_conv2d_attr *a = attr;
    if (a->stride_h == a->stride_w && a->pad_h == a->pad_w)
        snprintf(buf, cap, "s%d p%d", a->stride_h, a->pad_h);
    else
        snprintf(buf, cap, "s%dx%d p%dx%d", a->stride_h, a->stride_w, a->pad_h, a->pad_w);
}

/* F32: oneDNN, or the reference where oneDNN has no implementation for the geometry (it says
 * so before computing anything). */
static llx_status conv2d_forward_f32(const conv_geom *g, const float *x, const float *w, const float *b,
                                     float *y, void *ws, llx_error *err)
{
    llx_status st = llx_conv2d_onednn_forward(g, x, w, b, y, ws, err);
    if (st != LLX_ERR_UNSUPPORTED) return st;
    llx_error_clear(err);
    conv2d_fwd_f32(g, x, w, b, y, ws);
    return LLX_OK;
}

static llx_status conv2d_backward_f32(const conv_geom *g, const float *x, const float *w, const float *dy, float *dx,
                                   float *dw, float *db, bool bias, void *ws, llx_error *err)
{
    llx_status st = llx_conv2d_onednn_backward(g, x, w, dy, dx, dw, db, bias, ws, err);
    if (st != LLX_ERR_UNSUPPORTED) return st;
    llx_error_clear(err);
    conv2d_bwd_f32(g, x, w, dy, dx, dw, db, ws);
    return LLX_OK;
}

/* ---- mixed precision (llx/precision.h): the CPU reference of the GPU's half convolutions.
 * The operands are rounded copies, the F32 products of two rounded values are exact and
 * summed in F32, and each result is rounded before it is stored (y) or added (dx, dw). */

/* A copy of src (n floats) rounded to p, or NULL (with err) when out of memory. */
static float *rounded_copy(llx_precision p, const float *src, int64_t n, llx_error *err)
{
    float *dst = malloc((size_t)(n > 0 ? n : 1) * sizeof *dst);
    if (!dst) {
        llx_errorf(err, LLX_ERR_NOMEM, "conv2d: out of memory for a %s copy of %lld values",
                   llx_precision_name(p), (long long)n);
        return NULL;
    }
    llx_round_to(p, src, dst, n);
    return dst;
}

/* acc[i] += rounded(v[i]) */
static void add_rounded(llx_precision p, float *v, float *acc, int64_t n)
{
    llx_round_to(p, v, v, n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) acc[i] += v[i];
}

static llx_status conv2d_forward_rounded(const llx_op_call *c, const conv_geom *g, llx_error *err)
{
    const llx_precision p = c->backend->conv_precision;
    const llx_tensor *x = c->in[0], *w = c->in[1];
    float *y = c->out->data, *xr = rounded_copy(p, x->data, llx_tensor_numel(x), err);
    float *wr = xr ? rounded_copy(p, w->data, llx_tensor_numel(w), err) : NULL;
    llx_status st = wr ? conv2d_forward_f32(g, xr, wr, NULL, y, c->workspace, err) : LLX_ERR_NOMEM;
    free(xr);
    free(wr);
    LLX_TRY(st);
    int64_t plane = g->oh * g->ow;
    llx_round_to(p, y, y, llx_tensor_numel(c->out));
    if (c->n_in < 3) return LLX_OK;
    const float *b = c->in[2]->data;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < g->n * g->o; r++)
        for (int64_t q = 0; q < plane; q++) y[r * plane + q] += b[r % g->o];
    return LLX_OK;
}

static llx_status conv2d_backward_rounded(const llx_op_call *c, const conv_geom *g, float *dx, float *dw, float *db,
                                          llx_error *err)
{
    const llx_precision p = c->backend->conv_precision;
    const int64_t nx = llx_tensor_numel(c->in[0]), nw = llx_tensor_numel(c->in[1]);
    const float *dy = c->dout->data;
    if (db) conv2d_bwd_f32(g, NULL, NULL, dy, NULL, NULL, db, c->workspace); /* F32 dy, as the GPU */
    if (!dx && !dw) return LLX_OK;
    float *dyr = rounded_copy(p, dy, llx_tensor_numel(c->dout), err);
    float *xr = dyr && dw ? rounded_copy(p, c->in[0]->data, nx, err) : NULL;
    float *wr = dyr && dx ? rounded_copy(p, c->in[1]->data, nw, err) : NULL;
    float *dx_new = dx ? calloc((size_t)nx, sizeof *dx_new) : NULL, *dw_new = dw ? calloc((size_t)nw, sizeof *dw_new) : NULL;
    llx_status st = LLX_ERR_NOMEM;
    if (!dyr || (dw && !xr) || (dx && !wr)) {
        /* err says which copy */
    } else if ((dx && !dx_new) || (dw && !dw_new)) {
        llx_errorf(err, LLX_ERR_NOMEM, "conv2d: out of memory for the %s gradients", llx_precision_name(p));
    } else {
        st = conv2d_backward_f32(g, xr ? xr : c->in[0]->data, wr ? wr : c->in[1]->data, dyr, dx_new, dw_new, NULL,
                                false, c->workspace, err);
        if (st == LLX_OK && dx) add_rounded(p, dx_new, dx, nx);
        if (st == LLX_OK && dw) add_rounded(p, dw_new, dw, nw);
    }
    free(dyr);
    free(xr);
    free(wr);
    free(dx_new);
    free(dw_new);
    return st;
}

static llx_status conv2d_forward(const llx_op_call *c, llx_error *err)
{
    conv_geom g = conv_geom_of(c->attr, &c->in[0]->shape, &c->in[1]->shape, &c->out->shape);
    const void *b = c->n_in > 2 ? c->in[2]->data : NULL;
    if (c->out->dtype != LLX_F32) {
        LLX_DISPATCH(c->out->dtype, conv2d_fwd, &g, c->in[0]->data, c->in[1]->data, b, c->out->data, c->workspace);
        return LLX_OK;
    }
    if (c->backend->conv_precision != LLX_PRECISION_F32) return conv2d_forward_rounded(c, &g, err);
    return conv2d_forward_f32(&g, c->in[0]->data, c->in[1]->data, b, c->out->data, c->workspace, err);
}

static llx_status conv2d_backward(const llx_op_call *c, llx_error *err)
{
    conv_geom g = conv_geom_of(c->attr, &c->in[0]->shape, &c->in[1]->shape, &c->out->shape);
    void *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    void *db = c->n_in > 2 && c->din[2] ? c->din[2]->data : NULL;
    if (c->out->dtype != LLX_F32) {
        LLX_DISPATCH(c->out->dtype, conv2d_bwd, &g, c->in[0]->data, c->in[1]->data, c->dout->data, dx, dw, db,
                     c->workspace);
        return LLX_OK;
    }
    if (c->backend->conv_precision != LLX_PRECISION_F32) return conv2d_backward_rounded(c, &g, dx, dw, db, err);
    return conv2d_backward_f32(&g, c->in[0]->data, c->in[1]->data, c->dout->data, dx, dw, db, c->n_in > 2,
                              c->workspace, err);
}

const llx_op_desc llx_op_conv2d = {
    .name = "conv2d",
    .attr_size = sizeof(llx_conv2d_attr),
    .min_inputs = 2,
    .max_inputs = 3,
    .infer = conv2d_infer,
    .workspace_bytes = conv2d_workspace,
    .macs = conv2d_macs,
    .describe = conv2d_describe,
    .kernels[LLX_DEVICE_CPU] = {.forward = conv2d_forward, .backward = conv2d_backward},
    LLX_CUDA_KERNELS_FRESH(conv2d)
};

#else

/* col (C*KH*KW, OH*OW) = the receptive fields of one image x (C, H, W), zeros for padding. */
static void T_(im2col)(const conv_geom *g, const real *x, real *col)
{
    int64_t rows = g->c * g->kh * g->kw, plane = g->oh * g->ow;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t ch = r / (g->kh * g->kw), ki = r / g->kw % g->kh, kj = r % g->kw;
        const real *xc = x + ch * g->h * g->w;
        real *dst = col + r * plane;
        for (int64_t i = 0; i < g->oh; i++) {
            int64_t hi = i * g->sh - g->ph + ki;
            if (hi < 0 || hi >= g->h) {
                for (int64_t j = 0; j < g->ow; j++) dst[i * g->ow + j] = 0;
                continue;
            }
            for (int64_t j = 0; j < g->ow; j++) {
                int64_t wi = j * g->sw - g->pw + kj;
                dst[i * g->ow + j] = wi >= 0 && wi < g->w ? xc[hi * g->w + wi] : 0;
            }
        }
    }
}

/* dx (C, H, W) += col2im(col (C*KH*KW, OH*OW)); one thread per channel. */
static void T_(col2im_add)(const conv_geom *g, const real *col, real *dx)
{
    int64_t plane = g->oh * g->ow;
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < g->c; ch++) {
        real *dxc = dx + ch * g->h * g->w;
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
                const real *src = col + ((ch * g->kh + ki) * g->kw + kj) * plane;
                for (int64_t i = 0; i < g->oh; i++) {
                    int64_t hi = i * g->sh - g->ph + ki;
                    if (hi < 0 || hi >= g->h) continue;
                    for (int64_t j = 0; j < g->ow; j++) {
                        int64_t wi = j * g->sw - g->pw + kj;
                        if (wi >= 0 && wi < g->w) dxc[hi * g->w + wi] += src[i * g->ow + j];
                    }
                }
            }
    }
}

/* x (N, C, H, W), w (O, C, KH, KW), b (O) or NULL -> y (N, O, OH, OW); ws: one col matrix. */
static void T_(conv2d_fwd)(const conv_geom *g, const real *x, const real *w, const real *b,
                           real *y, void *ws)
{
    int64_t k = g->c * g->kh * g->kw, plane = g->oh * g->ow;
    bool pointwise = conv_is_pointwise(g);
    for (int64_t n = 0; n < g->n; n++) {
        const real *xn = x + n * g->c * g->h * g->w;
        real *yn = y + n * g->o * plane;
        const real *col = xn;
        if (!pointwise) {
            T_(im2col)(g, xn, ws);
            col = ws;
        }
        LLX_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->o, (int)plane, (int)k, 1, w,
                 (int)k, col, (int)plane, 0, yn, (int)plane);
        if (!b) continue;
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < g->o; o++)
            for (int64_t p = 0; p < plane; p++) yn[o * plane + p] += b[o];
    }
}

/* x (N, C, H, W), w (O, C, KH, KW), dy (N, O, OH, OW); accumulates into dx (like x), dw (like
 * w), db (O); each may be NULL. ws: one col matrix. */
static void T_(conv2d_bwd)(const conv_geom *g, const real *x, const real *w, const real *dy,
                           real *dx, real *dw, real *db, void *ws)
{
    int64_t k = g->c * g->kh * g->kw, plane = g->oh * g->ow, img = g->c * g->h * g->w;
    bool pointwise = conv_is_pointwise(g);
    if (db) {
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < g->o; o++) {
            double s = 0;
            for (int64_t n = 0; n < g->n; n++) {
                const real *d = dy + (n * g->o + o) * plane;
                for (int64_t p = 0; p < plane; p++) s += d[p];
            }
            db[o] += (real)s;
        }
    }
    for (int64_t n = 0; n < g->n; n++) {
        const real *dyn = dy + n * g->o * plane;
        if (dw) {
            const real *col = x + n * img;
            if (!pointwise) {
                T_(im2col)(g, x + n * img, ws);
                col = ws;
            }
            /* dw (O, K) += dy_n (O, P) * col^T (P, K) */
            LLX_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->o, (int)k, (int)plane, 1,
                     dyn, (int)plane, col, (int)plane, 1, dw, (int)k);
        }
        if (!dx) continue;
        if (pointwise) {
            /* dx_n (C, P) += w^T (C, O) * dy_n (O, P) */
            LLX_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)plane, (int)g->o, 1, w,
                     (int)k, dyn, (int)plane, 1, dx + n * img, (int)plane);
        } else {
            /* col (K, P) = w^T (K, O) * dy_n (O, P), then scattered into dx_n */
            LLX_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)plane, (int)g->o, 1, w,
                     (int)k, dyn, (int)plane, 0, ws, (int)plane);
            T_(col2im_add)(g, ws, dx + n * img);
        }
    }
}

#endif
