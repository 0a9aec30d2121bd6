/* layers_impl.h: private helpers shared by the built-in op files.
 *
 * CPU kernels are written once for a generic `real` and compiled for float
 * and double (double for the finite-difference gradient checks). An op file
 * has two parts:
 *
 *     #ifndef LLX_TYPED_PASS            // untyped part, seen once
 *     #include "layers_impl.h"
 *     #define LLX_TYPED_FILE "relu.c"
 *     #include "typed_impl.h"           // compiles the part below twice
 *     ... shape inference, dispatch with LLX_DISPATCH, the descriptor ...
 *     #else                             // typed part: real = float, then double
 *     static void T_(relu_fwd)(const real *x, real *y, int64_t n) { ... }
 *     #endif
 *
 * In the typed part T_(name) gives name_f32 / name_f64 and LLX_GEMM the
 * matching cblas_sgemm / cblas_dgemm. */
#ifndef LLX_LAYERS_IMPL_H
#define LLX_LAYERS_IMPL_H

#include <math.h>
#include <string.h>

#include "cuda_kernels.h"
#include "llx/ops.h"

/* Calls fn_f32(...) or fn_f64(...) by the dtype of the call's output. */
#define LLX_DISPATCH(dtype, fn, ...)                                                          \
    ((dtype) == LLX_F64 ? fn##_f64(__VA_ARGS__) : fn##_f32(__VA_ARGS__))

/* Output shape = shape of input 0 (element-wise ops). */
llx_status llx_infer_same(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                          llx_error *err);
/* Fails unless s is 4-D (N, C, H, W); `what` names the operand in the message. */
llx_status llx_require_4d(const llx_shape *s, const char *op, const char *what, llx_error *err);

/* Each built-in op descriptor, defined in its own file. */
extern const llx_op_desc llx_op_conv2d, llx_op_batchnorm2d, llx_op_relu, llx_op_sigmoid,
    llx_op_add, llx_op_mul, llx_op_concat, llx_op_maxpool2d, llx_op_global_avgpool,
    llx_op_global_maxpool, llx_op_channel_mean, llx_op_channel_max, llx_op_conv1d_channels,
    llx_op_linear, llx_op_softmax_ce, llx_op_sigmoid_gate;

#endif
