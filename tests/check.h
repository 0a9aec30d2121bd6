/* tests/check.h: the minimal test harness of llx's C tests.
 *
 *     static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *     int main(void) { RUN(test_something); return check_report(); }
 *
 * check_report prints "N passed, N failed" and returns the exit status. */
#ifndef LLX_TESTS_CHECK_H
#define LLX_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_tests_passed_, check_tests_failed_;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
            check_failures_++;                                                                \
        }                                                                                     \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                  \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            check_failures_++;                                                                \
        }                                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                 \
    do {                                                                                      \
        double check_a_ = (a), check_b_ = (b);                                                \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                          \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.10g, %s = %.10g (tol %g)\n",    \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_, (double)(tol));           \
            check_failures_++;                                                                \
        }                                                                                     \
    } while (0)

/* Asserts that text contains every NULL-terminated needle. */
#define CHECK_CONTAINS(text, needle)                                                          \
    do {                                                                                      \
        const char *check_t_ = (text), *check_n_ = (needle);                                  \
        if (!check_t_ || !strstr(check_t_, check_n_)) {                                       \
            fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: '%s' not in '%s'\n", __FILE__,     \
                    __LINE__, check_n_, check_t_ ? check_t_ : "(null)");                      \
            check_failures_++;                                                                \
        }                                                                                     \
    } while (0)

#define RUN(fn)                                                                               \
    do {                                                                                      \
        int check_before_ = check_failures_;                                                  \
        fn();                                                                                 \
        if (check_failures_ == check_before_) {                                               \
            check_tests_passed_++;                                                            \
            printf("ok   %s\n", #fn);                                                         \
        } else {                                                                              \
            check_tests_failed_++;                                                            \
            printf("FAIL %s\n", #fn);                                                         \
        }                                                                                     \
        fflush(stdout);                                                                       \
    } while (0)

static inline int check_report(void)
{
    printf("%d passed, %d failed\n", check_tests_passed_, check_tests_failed_);
    return check_tests_failed_ ? 1 : 0;
}

#endif
