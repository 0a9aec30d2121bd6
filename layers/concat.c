/* concat.c: x_i (N, C_i, H, W), 2..8 inputs -> y (N, sum C_i, H, W), joined along channels
 * in input order. Gradients accumulate: dx_i += the matching channel slice of dy. */
#ifndef LLX_TYPED_PASS
#include "layers_impl.h"

/* The channel count of each input and where its slice starts in the output. */
typedef struct concat_geom {
    int64_t n, hw, c_out;
    int64_t c[LLX_OP_MAX_INPUTS], c_at[LLX_OP_MAX_INPUTS];
} concat_geom;

#define LLX_TYPED_FILE "concat.c"
#include "typed_impl.h"

static llx_status concat_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                               llx_error *err)
{
    if (n_in < 2 || n_in > LLX_OP_MAX_INPUTS)
        return llx_errorf(err, LLX_ERR_SHAPE, "concat: needs 2 to %d inputs, got %d",
                          LLX_OP_MAX_INPUTS, n_in);
    int64_t channels = 0;
    for (int i = 0; i < n_in; i++) {
        char what[32], s0[64], si[64];
        snprintf(what, sizeof what, "input %d", i);
        LLX_TRY(llx_require_4d(&in[i], "concat", what, err));
        const int64_t *d = in[i].dim, *d0 = in[0].dim;
        if (d[0] != d0[0] || d[2] != d0[2] || d[3] != d0[3])
            return llx_errorf(err, LLX_ERR_SHAPE,
                              "concat: input %d has shape %s but input 0 has %s: N, H and W "
                              "must match (inputs join along C)",
                              i, llx_shape_str(&in[i], si, sizeof si),
                              llx_shape_str(&in[0], s0, sizeof s0));
        channels += d[1];
    }
    *out = llx_shape4(in[0].dim[0], channels, in[0].dim[2], in[0].dim[3]);
    return LLX_OK;
}

static llx_status concat_geom_of(const llx_op_call *c, concat_geom *g, llx_error *err)
{
    llx_shape in[LLX_OP_MAX_INPUTS], out;
    for (int i = 0; i < c->n_in; i++) in[i] = c->in[i]->shape;
    LLX_TRY(concat_infer(NULL, in, c->n_in, &out, err));
    g->n = out.dim[0];
    g->hw = out.dim[2] * out.dim[3];
    g->c_out = out.dim[1];
    int64_t at = 0;
    for (int i = 0; i < c->n_in; i++) {
        g->c[i] = in[i].dim[1];
        g->c_at[i] = at;
        at += g->c[i];
    }
    return LLX_OK;
}

/* Forward is a copy of whole (C_i, H, W) blocks: no arithmetic, so no typed kernel. */
static llx_status concat_forward(const llx_op_call *c, llx_error *err)
{
    concat_geom g;
    LLX_TRY(concat_geom_of(c, &g, err));
    const size_t es = llx_dtype_size(c->out->dtype);
    char *y = c->out->data; /* (N, C_out, H*W) */
    const int n_in = c->n_in;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < g.n; b++)
        for (int64_t i = 0; i < n_in; i++) {
            const char *x = c->in[i]->data; /* (N, C_i, H*W) */
            memcpy(y + (size_t)((b * g.c_out + g.c_at[i]) * g.hw) * es,
                   x + (size_t)(b * g.c[i] * g.hw) * es, (size_t)(g.c[i] * g.hw) * es);
        }
    return LLX_OK;
}

static llx_status concat_backward(const llx_op_call *c, llx_error *err)
{
    concat_geom g;
    LLX_TRY(concat_geom_of(c, &g, err));
    void *dx[LLX_OP_MAX_INPUTS];
    for (int i = 0; i < c->n_in; i++) dx[i] = c->din[i] ? c->din[i]->data : NULL;
    LLX_DISPATCH(c->out->dtype, concat_bwd, c->dout->data, dx, c->n_in, &g);
    return LLX_OK;
}

const llx_op_desc llx_op_concat = {
    .name = "concat",
    .min_inputs = 2,
    .max_inputs = LLX_OP_MAX_INPUTS,
    .infer = concat_infer,
    .kernels[LLX_DEVICE_CPU] = {.forward = concat_forward, .backward = concat_backward},
    LLX_CUDA_KERNELS(concat)
};

#else

/* dy: (N, C_out, H*W); dx[i]: (N, C_i, H*W) or NULL (no gradient) += its slice of dy. */
static void T_(concat_bwd)(const real *dy, void *const *dx, int n_in, const concat_geom *g)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t i = 0; i < n_in; i++) {
            if (!dx[i]) continue;
            const int64_t len = g->c[i] * g->hw;
            real *d = (real *)dx[i] + b * len;
            const real *s = dy + (b * g->c_out + g->c_at[i]) * g->hw;
            for (int64_t k = 0; k < len; k++) d[k] += s[k];
        }
}

#endif
