/* typed_impl.h: includes LLX_TYPED_FILE twice, with real = float and real = double.
 * See layers_impl.h. No include guard: it is meant to be included once per op file. */
#include <cblas.h>

#define LLX_TYPED_PASS 1

#define real float
#define T_(name) name##_f32
#define LLX_GEMM cblas_sgemm
#include LLX_TYPED_FILE
#undef real
#undef T_
#undef LLX_GEMM

#define real double
#define T_(name) name##_f64
#define LLX_GEMM cblas_dgemm
#include LLX_TYPED_FILE
#undef real
#undef T_
#undef LLX_GEMM

#undef LLX_TYPED_PASS
