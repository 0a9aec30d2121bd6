/* golden_fill.h: the deterministic tensor values behind tests/fixtures/golden.
 *
 * tests/fixtures/make_golden.py fills every PyTorch parameter, BN buffer and
 * the input from a fixed integer hash of (dotted tensor name, flat row-major
 * index); no random generator is involved. This is the C port of that
 * formula, so a test can rebuild the exact same network and input in llx:
 *
 *   seed = FNV-1a 32-bit hash of name's bytes
 *   h = (uint32)(i * 2654435761) ^ seed; h ^= h >> 16; h *= 2246822519;
 *   h ^= h >> 13; h *= 3266489917; h ^= h >> 16          (uint32 wrap)
 *   v = 2 * (h / 2^32) - 1                                 (double, [-1, 1))
 *
 * golden_value() applies the per-kind rule in double; the caller casts the
 * result to float, as the script does (float64 -> float32). */
#ifndef LLX_TESTS_GOLDEN_FILL_H
#define LLX_TESTS_GOLDEN_FILL_H

#include <stdint.h>

typedef enum golden_kind {
    GOLDEN_WEIGHT = 0, /* conv / linear weight: v * sqrt(3 / fan_in) */
    GOLDEN_BIAS,       /* linear bias: 0.1 * v */
    GOLDEN_BN_WEIGHT,  /* 1 + 0.1 * v */
    GOLDEN_BN_BIAS,    /* 0.1 * v */
    GOLDEN_BN_MEAN,    /* running_mean: 0.1 * v */
    GOLDEN_BN_VAR,     /* running_var: 1 + 0.25 * (v + 1) */
    GOLDEN_INPUT,      /* network input: v */
} golden_kind;

/* FNV-1a 32-bit hash of the NUL-terminated UTF-8 string name. */
uint32_t golden_hash(const char *name);

/* v(name, i) in [-1, 1). */
double golden_v(const char *name, uint64_t i);

/* The value of element i of tensor name for the given kind; fan_in
 * (numel / shape[0]) is used by GOLDEN_WEIGHT only. */
double golden_value(const char *name, uint64_t i, int64_t fan_in, golden_kind kind);

/* dst[i] = (float)golden_value(name, i, fan_in, kind) for i in [0, n). */
void golden_fill_f32(float *dst, uint64_t n, const char *name, int64_t fan_in,
                     golden_kind kind);

/* Fills a tensor (F32 or F64, host memory) with golden_value cast to float,
 * fan_in = numel / shape[0]. */
struct llx_tensor;
void golden_fill_tensor(struct llx_tensor *t, const char *name, golden_kind kind);

/* Fills every parameter and buffer of a compiled CPU graph by its name: BN
 * weight/bias/running stats (a sibling "<prefix>.running_mean" marks a BN),
 * other weights (2-D or more) and biases. */
struct llx_graph;
void golden_fill_graph(struct llx_graph *g);

/* The fixtures' labels: (3 n + 1) % classes. */
int32_t golden_label(int64_t n, int32_t classes);

#endif
