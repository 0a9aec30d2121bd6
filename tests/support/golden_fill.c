/* golden_fill.c: see golden_fill.h. */
#include "golden_fill.h"

#include <math.h>

uint32_t golden_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

static double golden_v_seeded(uint32_t seed, uint64_t i)
{
    uint32_t h = (uint32_t)(i * UINT64_C(2654435761));
    h ^= seed;
    h ^= h >> 16;
    h *= 2246822519u;
    h ^= h >> 13;
    h *= 3266489917u;
    h ^= h >> 16;
    return 2.0 * ((double)h / 4294967296.0) - 1.0;
}

double golden_v(const char *name, uint64_t i)
{
    return golden_v_seeded(golden_hash(name), i);
}

static double golden_rule(double v, int64_t fan_in, golden_kind kind)
{
    switch (kind) {
    case GOLDEN_WEIGHT: return v * sqrt(3.0 / (double)fan_in);
    case GOLDEN_BIAS: return 0.1 * v;
    case GOLDEN_BN_WEIGHT: return 1.0 + 0.1 * v;
    case GOLDEN_BN_BIAS: return 0.1 * v;
    case GOLDEN_BN_MEAN: return 0.1 * v;
    case GOLDEN_BN_VAR: return 1.0 + 0.25 * (v + 1.0);
    case GOLDEN_INPUT: return v;
    }
    return v;
}

double golden_value(const char *name, uint64_t i, int64_t fan_in, golden_kind kind)
{
    return golden_rule(golden_v(name, i), fan_in, kind);
}

void golden_fill_f32(float *dst, uint64_t n, const char *name, int64_t fan_in,
                     golden_kind kind)
{
    uint32_t seed = golden_hash(name);
    for (uint64_t i = 0; i < n; i++)
        dst[i] = (float)golden_rule(golden_v_seeded(seed, i), fan_in, kind);
}

int32_t golden_label(int64_t n, int32_t classes)
{
    return (int32_t)((3 * n + 1) % classes);
}
