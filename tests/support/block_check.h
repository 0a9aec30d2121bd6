/* block_check.h: checks an attention layer alone, the way basic_block calls it.
 *
 * The block gets the three maps of LLX_ATTENTION_INPUTS ("cur", "pre",
 * "shortcut", each (N, C, H, W)) and is built with an empty scope, so its
 * parameters are named as in the fixtures ("fc1.weight", "conv.bias").
 * Parameters, buffers and inputs hold the golden values (golden_fill.h) and
 * the scalar checked is L = sum(y * probe), probe[i] = golden_v("dout", i). */
#ifndef LLX_TESTS_BLOCK_CHECK_H
#define LLX_TESTS_BLOCK_CHECK_H

#include "llx/llx.h"

typedef struct block_case {
    const char *cfg;    /* the layer as YAML flow text: "{type: se, bias: true}" */
    int n, c, h, w;     /* map shape (fixtures: 2, 32, 6, 6) */
    const char *golden; /* fixture file under tests/fixtures/golden, or NULL */
} block_case;

/* Every parameter and every input element: analytic gradient (F64) against
 * central differences, training mode. Returns the number of mismatches, -1 on setup failure. */
int block_gradcheck(const llx_registry *reg, const block_case *bc);

/* Against the PyTorch fixture in F32: the output, every parameter gradient and
 * the three input gradients within 1e-4 relative error (max |d| / max |ref|).
 * Returns the number of mismatching tensors, -1 on setup failure. */
int block_golden(const llx_registry *reg, const block_case *bc);

/* Trainable parameters of the block alone; -1 when it does not build (err filled). */
int64_t block_param_count(const llx_registry *reg, const block_case *bc, llx_error *err);

#endif
