/* sigmoid_impl.h: the logistic function without overflow for any x, shared by sigmoid.c and
 * sigmoid_gate.c. Included in the typed part of an op file (real and T_ defined, see
 * layers_impl.h), so once per pass; no include guard. */
#include <tgmath.h> /* exp and fabs follow real: float or double */

/* x (n) -> y (n) = 1 / (1 + exp(-x)). exp only ever sees -|x|, so it never overflows. */
static void T_(sigmoid_fwd)(const real *x, real *y, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const real e = exp(-fabs(x[i])); /* in (0, 1] */
        y[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}
