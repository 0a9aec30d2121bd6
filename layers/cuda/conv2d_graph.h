/* conv2d_graph.h: conv2d through cuDNN's graph ("backend") API, for layers/cuda/conv2d.cu.
 * Private to the llx library; C++ (both users are .cu files).
 *
 * One call runs one direction of one convolution (F32, NCHW fully packed, cross-correlation,
 * groups 1, dilation 1). The first call for a problem searches the engine configs that
 * cuDNN's heuristics offer, times them and keeps the fastest plan in the backend's cache;
 * see conv2d_graph.cu. */
#ifndef LLX_CONV2D_GRAPH_H
#define LLX_CONV2D_GRAPH_H

#include "cuda_impl.h"

/* The three directions, as conv2d.cu numbers them. */
enum llx_conv2d_graph_dir {
    LLX_CONV2D_GRAPH_FWD = 0,        /* y  = conv(x, w)             (beta 0) */
    LLX_CONV2D_GRAPH_BWD_DATA = 1,   /* dx += conv_bwd_data(w, dy)  (beta 1; 0 when overwrite) */
    LLX_CONV2D_GRAPH_BWD_FILTER = 2, /* dw += conv_bwd_filter(x, dy) (beta 1; 0 when overwrite) */
};

struct llx_conv2d_graph_problem {
    int dir; /* llx_conv2d_graph_dir */
    /* x (n, c, h, w), w (o, c, kh, kw), y (n, o, oh, ow); strides sh, sw; pads ph, pw on both
     * sides of each spatial dimension. */
    int n, c, h, w, o, kh, kw, oh, ow, sh, sw, ph, pw;
    bool tf32;      /* TF32 tensor cores allowed (be->tf32) */
    bool overwrite; /* backward: the gradient is fresh (llx_op_call.din_fresh): beta 0 */
};

/* Runs direction p->dir with device pointers x, w, y (for the backward directions x is dx or
 * x, y is dy; the output is y forward, x backward data, w backward filter, and the backward
 * ones accumulate into it unless p->overwrite). *done false (and LLX_OK): the graph path is off
 * (LLX_CUDNN_API=legacy) or unusable for this problem (also when its
 * workspace or variant pack cannot be had before running; the problem then stays legacy);
 * the caller runs the legacy API. An error status only when a chosen plan fails to run (its
 * output may be partly written) or the cache fails. */
llx_status llx_cuda_conv2d_graph(llx_backend *be, const llx_conv2d_graph_problem *p, void *x, void *w,
                                 void *y, bool *done, llx_error *err);

#endif
