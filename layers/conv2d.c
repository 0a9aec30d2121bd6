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
 * each thread owning whole rows or channels, so results do not depend on scheduling. */
#ifndef LLX_TYPED_PASS
#include "conv2d_onednn.h"
#include "layers_impl.h"

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

static llx_status conv2d_forward(const llx_op_call *c, llx_error *err)
{
    conv_geom g = conv_geom_of(c->attr, &c->in[0]->shape, &c->in[1]->shape, &c->out->shape);
    const void *b = c->n_in > 2 ? c->in[2]->data : NULL;
    if (c->out->dtype == LLX_F32) {
        llx_status st = llx_conv2d_onednn_forward(&g, c->in[0]->data, c->in[1]->data, b,
                                                  c->out->data, c->workspace, err);
        if (st != LLX_ERR_UNSUPPORTED) return st;
        /* oneDNN has no implementation for this geometry (it said so before computing
         * anything): run the reference in F32 */
        llx_error_clear(err);
    }
    LLX_DISPATCH(c->out->dtype, conv2d_fwd, &g, c->in[0]->data, c->in[1]->data, b,
                 c->out->data, c->workspace);
    return LLX_OK;
}

static llx_status conv2d_backward(const llx_op_call *c, llx_error *err)
{
    conv_geom g = conv_geom_of(c->attr, &c->in[0]->shape, &c->in[1]->shape, &c->out->shape);
    void *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    void *db = c->n_in > 2 && c->din[2] ? c->din[2]->data : NULL;
    if (c->out->dtype == LLX_F32) {
        llx_status st = llx_conv2d_onednn_backward(&g, c->in[0]->data, c->in[1]->data,
                                                   c->dout->data, dx, dw, db, c->n_in > 2,
                                                   c->workspace, err);
        if (st != LLX_ERR_UNSUPPORTED) return st; /* as in forward */
        llx_error_clear(err);
    }
    LLX_DISPATCH(c->out->dtype, conv2d_bwd, &g, c->in[0]->data, c->in[1]->data, c->dout->data, dx,
                 dw, db, c->workspace);
    return LLX_OK;
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
