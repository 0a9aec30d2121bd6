/* precision.c: precision names and rounding to bf16 / f16 (llx/precision.h). */
#include <math.h>
#include <string.h>

#include "llx/precision.h"

static const char *const precision_names[LLX_PRECISION_COUNT] = {"fp32", "bf16", "fp16"};

const char *llx_precision_name(llx_precision p)
{
    return p >= 0 && p < LLX_PRECISION_COUNT ? precision_names[p] : "?";
}

int llx_precision_from_name(const char *name)
{
    for (int p = 0; name && p < LLX_PRECISION_COUNT; p++)
        if (strcmp(name, precision_names[p]) == 0) return p;
    return -1;
}

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Keeps the top 32 - drop bits of x's pattern, rounding the dropped ones to nearest, ties to
 * even. Exact for every finite x whose result has the same quantum as x's binade (bf16
 * everywhere, f16 in its normal range); a carry into the exponent is the right result, and
 * one past the largest finite value gives infinity. */
static float round_bits(float x, int drop)
{
    uint32_t u = bits_of(x), half = (1u << (drop - 1)) - 1, lsb = (u >> drop) & 1u;
    return float_of((u + half + lsb) & ~((1u << drop) - 1u));
}

float llx_round_bf16(float x)
{
    if (isnan(x)) return x;
    return round_bits(x, 16); /* bf16 keeps 7 of float's 23 fraction bits, and its exponent */
}

float llx_round_f16(float x)
{
    if (isnan(x)) return x;
    float a = fabsf(x);
    if (a >= 65520.0f) return copysignf(INFINITY, x); /* halfway past 65504 rounds up (even) */
    if (a >= 0x1p-14f) return round_bits(x, 13);        /* normal: 10 fraction bits of 23 */
    /* subnormal: multiples of 2^-24; a * 2^24 is exact, nearbyintf rounds ties to even */
    return copysignf(nearbyintf(a * 0x1p24f) * 0x1p-24f, x);
}

void llx_round_to(llx_precision p, const float *src, float *dst, int64_t n)
{
    if (p == LLX_PRECISION_BF16) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) dst[i] = llx_round_bf16(src[i]);
    } else if (p == LLX_PRECISION_F16) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) dst[i] = llx_round_f16(src[i]);
    } else if (dst != src) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    }
}
