/* gpu_check.h: what the GPU tests (tests/test_gpu_*.c) share: the CUDA backend or a clean
 * skip, and GPU-vs-CPU comparisons that say where and by how much they differ.
 *
 *     llx_backend *gpu = gpu_backend_or_skip("test_gpu_ops");   // exits 77 without a GPU
 *     CHECK(gpu_check("conv2d k3 s1 p1", "output", &shape, gpu_y, cpu_y, n, 1e-4, NULL));
 *
 * The measure is the normwise relative error ||gpu - cpu||_2 / ||cpu||_2. Where the CPU's
 * values are all exactly zero (a gradient that vanishes analytically, e.g. behind a BN with
 * gamma 0) it is 0 when every |gpu| <= GPU_ZERO_ABS, else Inf. A NaN or Inf on either side
 * never passes. On failure one block on stderr
 * names the case and tensor and gives the relative error against its tolerance, the largest
 * absolute error with its index (as NCHW coordinates when a shape is given) and both values,
 * and the first "bad" element: the first non-finite one or the first with
 * |gpu - cpu| > tol * max|cpu|, with the number of such elements. */
#ifndef LLX_TESTS_GPU_CHECK_H
#define LLX_TESTS_GPU_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "llx/llx.h"

/* Exit status ctest reads as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt). */
#define GPU_SKIP_CODE 77

/* Largest |gpu| accepted where the CPU reference is exactly zero everywhere. */
#define GPU_ZERO_ABS 1e-7

/* The CUDA backend (device 0). When llx_backend_create("cuda") fails (a build without CUDA,
 * no driver, no device) prints "SKIP <test>: no CUDA device (<message>)" on stdout and
 * exits GPU_SKIP_CODE. Otherwise prints "<test>: <be->describe>" and returns it.
 * LLX_GPU_TEST_SELFTEST=cpu in the environment: a second CPU backend instead (the tests run
 * their whole harness, on_be paths included, against the CPU; every comparison must pass). */
llx_backend *gpu_backend_or_skip(const char *test);

typedef struct gpu_diff {
    double rel;        /* ||gpu - cpu||_2 / ||cpu||_2 (Inf: a non-finite value somewhere) */
    double norm_cpu;   /* ||cpu||_2 */
    double max_abs;    /* max |gpu - cpu| over finite pairs */
    int64_t max_at;    /* its index (-1: n == 0) */
    int64_t first_bad; /* first non-finite or |gpu - cpu| > tol * max|cpu| (-1: none) */
    int64_t n_bad;     /* how many such elements */
    int64_t nonfinite; /* NaN or Inf on either side */
    int64_t first_nonfinite; /* the first of them (-1: none) */
} gpu_diff;

/* The comparison of n elements with tolerance tol (tol only decides what counts as bad). */
gpu_diff gpu_diff_of(const double *gpu, const double *cpu, int64_t n, double tol);

/* Passes (returns 1) when every value is finite and rel <= tol; else prints the block
 * described above for "<ctx>: <what>" and returns 0. shape (may be NULL): turns indices
 * into coordinates; it must hold n elements when given. *rel_out (may be NULL): rel. */
int gpu_check(const char *ctx, const char *what, const llx_shape *shape, const double *gpu,
              const double *cpu, int64_t n, double tol, double *rel_out);

/* Widened copy of n floats (malloc'd). */
double *gpu_f32_to_f64(const float *p, int64_t n);

/* n values in +-[0.25, 1] (never zero) from a fixed stream of seed: starting gradients that
 * show whether backward adds into din. malloc'd. */
double *gpu_nonzero_values(int64_t n, uint64_t seed);

/* n values uniform in [lo, hi) from seed into p (float). */
void gpu_fill_uniform_f32(float *p, int64_t n, uint64_t seed, double lo, double hi);

/* Copies bytes from tensor data on be into host memory (be->to_host, then be->sync). */
llx_status gpu_fetch(llx_backend *be, void *host, const void *src, size_t bytes, llx_error *err);

/* Seconds on the monotonic clock (the programs report their run time). */
double gpu_now_s(void);

#endif
