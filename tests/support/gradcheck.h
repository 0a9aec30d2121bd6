/* gradcheck.h: finite-difference gradient checks of one op, in double precision.
 *
 * The check builds inputs of the given shapes (F64 on the CPU backend, one thread, with
 * op_run_setup from oprun.h, which also runs ops on hand-made values),
 * defines the scalar L = sum(out * r) for a fixed random r, computes dL/din
 * with the op's backward (dout = r) and compares it with central differences
 * (L(x + eps) - L(x - eps)) / 2eps for every element of every input that
 * takes a gradient. It passes when |analytic - numeric| <= atol + rtol * |numeric|
 * for all elements. */
#ifndef LLX_TESTS_GRADCHECK_H
#define LLX_TESTS_GRADCHECK_H

#include "llx/llx.h"

typedef enum gc_fill {
    GC_RANDOM = 0, /* uniform in [-1, 1) */
    GC_POSITIVE,   /* uniform in [0.5, 1.5) (variances) */
    GC_LABELS,     /* I32 labels in [0, labels_k) */
    GC_SPREAD,     /* a random permutation of evenly spaced values: no ties (max ops) */
} gc_fill;

typedef struct gc_input {
    llx_shape shape;
    gc_fill fill;
    int labels_k; /* GC_LABELS only */
} gc_input;

/* One op and its inputs: what gradcheck checks and what op_run (oprun.h) runs. */
typedef struct gc_case {
    const llx_op_desc *op;
    const void *attr;
    int n_in;
    gc_input in[LLX_OP_MAX_INPUTS];
    bool training;   /* passed to the op (default false) */
    uint64_t seed;   /* 0: a fixed default (gradcheck 12345, op_run 777) */
    double eps;      /* 0: 1e-6 */
    double atol;     /* 0: 1e-7 */
    double rtol;     /* 0: 1e-5 */
} gc_case;

/* Runs the check; prints the worst element per input on failure. Returns 1 if it passes. */
int gradcheck(const char *label, const gc_case *c);

#endif
