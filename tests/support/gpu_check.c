/* gpu_check.c: see gpu_check.h. */
#include "gpu_check.h"

#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

llx_backend *gpu_backend_or_skip(const char *test)
{
    llx_backend *be = NULL;
    llx_error err = {0};
    const char *self = getenv("LLX_GPU_TEST_SELFTEST");
    if (self && strcmp(self, "cpu") == 0) {
        /* The harness against itself: the "GPU" is a second CPU backend, so every
         * comparison must come out exact. Checks the tests, not a GPU. */
        if (llx_backend_cpu_create(0, &be, &err) != LLX_OK) {
            printf("SKIP %s: self-test: %s\n", test, err.msg);
            exit(GPU_SKIP_CODE);
        }
        printf("%s: SELF-TEST on a second CPU backend (LLX_GPU_TEST_SELFTEST=cpu), not a GPU\n",
               test);
        fflush(stdout);
        return be;
    }
    if (llx_backend_create("cuda", 0, &be, &err) != LLX_OK || !be) {
        printf("SKIP %s: no CUDA device (%s)\n", test, err.msg[0] ? err.msg : "no reason given");
        fflush(stdout);
        exit(GPU_SKIP_CODE);
    }
    printf("%s: %s\n", test, be->describe ? be->describe(be) : be->name);
    fflush(stdout);
    return be;
}

gpu_diff gpu_diff_of(const double *gpu, const double *cpu, int64_t n, double tol)
{
    gpu_diff d = {.max_at = n > 0 ? 0 : -1, .first_bad = -1, .first_nonfinite = -1};
    double ss_diff = 0, ss_cpu = 0, max_cpu = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(cpu[i]) && fabs(cpu[i]) > max_cpu) max_cpu = fabs(cpu[i]);
    for (int64_t i = 0; i < n; i++) {
        bool finite = isfinite(gpu[i]) && isfinite(cpu[i]);
        double e = finite ? fabs(gpu[i] - cpu[i]) : INFINITY;
        if (isfinite(cpu[i])) ss_cpu += cpu[i] * cpu[i];
        if (!finite && d.nonfinite++ == 0) d.first_nonfinite = i;
        if (finite) {
            ss_diff += e * e;
            if (e > d.max_abs) {
                d.max_abs = e;
                d.max_at = i;
            }
        }
        if (!finite || e > tol * max_cpu) {
            if (d.first_bad < 0) d.first_bad = i;
            d.n_bad++;
        }
    }
    d.norm_cpu = sqrt(ss_cpu);
    if (d.nonfinite) d.rel = INFINITY;
    else if (ss_diff == 0) d.rel = 0;
    else if (ss_cpu > 0) d.rel = sqrt(ss_diff) / d.norm_cpu;
    else d.rel = d.max_abs <= GPU_ZERO_ABS ? 0 : INFINITY; /* an exactly-zero reference */
    return d;
}

/* "[n, c, h, w]" of flat index i in shape (or "[i]"). */
static char *index_str(const llx_shape *shape, int64_t i, char *buf, size_t cap)
{
    if (!shape || shape->ndim <= 1 || i < 0) {
        snprintf(buf, cap, "[%lld]", (long long)i);
        return buf;
    }
    int64_t coord[LLX_MAX_DIMS];
    int64_t rest = i;
    for (int k = shape->ndim - 1; k >= 0; k--) {
        int64_t d = shape->dim[k] > 0 ? shape->dim[k] : 1;
        coord[k] = rest % d;
        rest /= d;
    }
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < shape->ndim && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", k ? ", " : "", (long long)coord[k]);
    if (len < cap) snprintf(buf + len, cap - len, "] (flat %lld)", (long long)i);
    return buf;
}

int gpu_check(const char *ctx, const char *what, const llx_shape *shape, const double *gpu,
              const double *cpu, int64_t n, double tol, double *rel_out)
{
    if (!gpu || !cpu) {
        fprintf(stderr, "  FAIL %s: %s: missing result (gpu %s, cpu %s)\n", ctx, what,
                gpu ? "present" : "NULL", cpu ? "present" : "NULL");
        if (rel_out) *rel_out = INFINITY;
        return 0;
    }
    gpu_diff d = gpu_diff_of(gpu, cpu, n, tol);
    if (rel_out) *rel_out = d.rel;
    if (d.nonfinite == 0 && d.rel <= tol) return 1;
    char sh[64] = "", at[96], bad[96];
    if (shape) llx_shape_str(shape, sh, sizeof sh);
    fprintf(stderr,
            "  FAIL %s: %s %s (%lld values): relative error norm %.3g > tol %.1g "
            "(||cpu|| %.4g)\n",
            ctx, what, sh, (long long)n, d.rel, tol, d.norm_cpu);
    if (d.max_at >= 0)
        fprintf(stderr, "       max abs error %.4g at %s: gpu %.9g, cpu %.9g\n", d.max_abs,
                index_str(shape, d.max_at, at, sizeof at), gpu[d.max_at], cpu[d.max_at]);
    if (d.first_bad >= 0)
        fprintf(stderr,
                "       first bad index %s: gpu %.9g, cpu %.9g; %lld bad of %lld "
                "(|gpu - cpu| > tol * max|cpu| or non-finite), %lld non-finite\n",
                index_str(shape, d.first_bad, bad, sizeof bad), gpu[d.first_bad],
                cpu[d.first_bad], (long long)d.n_bad, (long long)n, (long long)d.nonfinite);
    if (d.first_nonfinite >= 0)
        fprintf(stderr, "       first non-finite at %s: gpu %.9g, cpu %.9g\n",
                index_str(shape, d.first_nonfinite, bad, sizeof bad), gpu[d.first_nonfinite],
                cpu[d.first_nonfinite]);
    return 0;
}

double *gpu_f32_to_f64(const float *p, int64_t n)
{
    double *v = malloc((size_t)n * sizeof *v + 1);
    if (!v) return NULL;
    for (int64_t i = 0; i < n; i++) v[i] = p[i];
    return v;
}

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s) { return (double)(mix(s) >> 11) / 9007199254740992.0; }

double *gpu_nonzero_values(int64_t n, uint64_t seed)
{
    double *v = malloc((size_t)n * sizeof *v + 1);
    if (!v) return NULL;
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
    for (int64_t i = 0; i < n; i++) {
        double m = 0.25 + 0.75 * unit(&s);
        v[i] = (mix(&s) & 1) ? m : -m;
    }
    return v;
}

void gpu_fill_uniform_f32(float *p, int64_t n, uint64_t seed, double lo, double hi)
{
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 7;
    for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * unit(&s));
}

llx_status gpu_fetch(llx_backend *be, void *host, const void *src, size_t bytes, llx_error *err)
{
    LLX_TRY(be->sync(be, err));
    if (bytes) LLX_TRY(be->to_host(be, host, src, bytes, err));
    return be->sync(be, err);
}

double gpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
