/* conv2d_onednn.h: private to conv2d.c and conv2d_onednn.c: the geometry of one conv2d call
 * and the F32 CPU kernels on oneDNN (the F64 kernels stay im2col + BLAS in conv2d.c). */
#ifndef LLX_CONV2D_ONEDNN_H
#define LLX_CONV2D_ONEDNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llx/status.h"

/* Geometry of one call, read from the run-time shapes. */
typedef struct conv_geom {
    int64_t n, c, h, w; /* input (N, C, H, W) */
    int64_t o, kh, kw;  /* weight (O, C, KH, KW) */
    int64_t oh, ow;     /* output (N, O, OH, OW) */
    int sh, sw, ph, pw;
} conv_geom;

/* Workspace bytes the F32 kernels need for a call of geometry g (or any smaller batch): room
 * for the tensors converted to the layouts oneDNN picks. Monotone in g->n. */
size_t llx_conv2d_onednn_workspace(const conv_geom *g, bool bias);

/* x (N, C, H, W), w (O, C, KH, KW), b (O) or NULL -> y (N, O, OH, OW), written.
 * ws: llx_conv2d_onednn_workspace(g, b != NULL) bytes (or more). */
llx_status llx_conv2d_onednn_forward(const conv_geom *g, const float *x, const float *w, const float *b,
                                     float *y, void *ws, llx_error *err);

/* Accumulates into dx (like x), dw (like w), db (O); each may be NULL. bias: the op has a
 * bias input (db may still be NULL when it needs no gradient). */
llx_status llx_conv2d_onednn_backward(const conv_geom *g, const float *x, const float *w, const float *dy,
                                      float *dx, float *dw, float *db, bool bias, void *ws, llx_error *err);

#endif
