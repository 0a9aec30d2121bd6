/* test_ops_elementwise.c: sigmoid, add and mul (broadcast) on the CPU, F32 and F64.
 *
 * Finite-difference gradchecks of every op and broadcast pattern (both inputs), forward and
 * backward against hand-computed numbers and against a naive broadcast reference for every
 * pattern of b, accumulation into din, F32 against F64, thread-count determinism, and the
 * shape errors. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "llx/ops.h"
#include "oprun.h"

#define SIGMOID llx_builtin_op(LLX_OP_SIGMOID)
#define ADD llx_builtin_op(LLX_OP_ADD)
#define MUL llx_builtin_op(LLX_OP_MUL)

/* The case of op (no attributes) on n_in inputs of the given shapes, for op_run. */
static gc_case ew_case(const llx_op_desc *op, int n_in, const llx_shape *shape)
{
    gc_case c = {.op = op, .n_in = n_in};
    for (int i = 0; i < n_in; i++) c.in[i].shape = shape[i];
    return c;
}

static void fill(double *p, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (double)(seed >> 11) / 4503599627370496.0 - 1.0; /* [-1, 1) */
    }
}

/* ---- sigmoid ---- */

static void test_sigmoid_values(void)
{
    const double x[] = {0, 1, -1, -1000, 1000, 20, -20, 40};
    const llx_shape s = llx_shape1(8);
    const double e1 = 0.7310585786300049; /* 1 / (1 + exp(-1)) */
    for (int t = 0; t < 2; t++) {
        llx_dtype dt = t ? LLX_F32 : LLX_F64;
        const double tol = t ? 1e-7 : 1e-15;
        const double dy[8] = {1, 2, 1, 1, 1, 1, 1, 1}, dx0[8] = {10, 0, 0, 0, 0, 0, 0, 0};
        const gc_case c = ew_case(SIGMOID, 1, &s);
        op_run_result r;
        llx_error err;
        CHECK(op_run(&c, dt,
                     &(op_run_opts){.threads = 1, .values = (const double *[]){x}, .dout = dy,
                                    .din = (const double *[]){dx0}},
                     &r, &err) == LLX_OK);
        if (!r.out) continue;
        const double *y = r.out, *dx = r.din[0];
        CHECK_NEAR(y[0], 0.5, 0);
        CHECK_NEAR(y[1], e1, tol);
        CHECK_NEAR(y[2], 1 - e1, tol);
        CHECK(isfinite(y[3]) && y[3] >= 0 && y[3] < 1e-300);
        CHECK_NEAR(y[4], 1, 0);
        CHECK_NEAR(y[5], 1 / (1 + exp(-20.0)), tol);
        CHECK_NEAR(y[6] / (exp(-20.0) / (1 + exp(-20.0))), 1, tol); /* relative */
        CHECK_NEAR(dx[0], 10.25, tol); /* accumulates onto 10: 1 * 0.5 * 0.5 */
        CHECK_NEAR(dx[1], 2 * e1 * (1 - e1), tol);
        for (int i = 3; i < 8; i++) CHECK(isfinite(dx[i]) && fabs(dx[i]) < 3e-9);
        op_run_free(&r);
    }
}

static void test_sigmoid_gradcheck(void)
{
    gc_case c = {.op = SIGMOID, .n_in = 1, .in = {{.shape = llx_shape4(2, 3, 4, 5)}}};
    CHECK(gradcheck("sigmoid", &c));
    c.in[0].shape = llx_shape2(3, 7);
    CHECK(gradcheck("sigmoid 2-D", &c));
}

static void test_sigmoid_f32_matches_f64(void)
{
    enum { N = 1000 };
    double x[N];
    for (int i = 0; i < N; i++) x[i] = -30 + 60.0 * i / (N - 1);
    const llx_shape s = llx_shape4(2, 5, 10, 10);
    const gc_case c = ew_case(SIGMOID, 1, &s);
    const op_run_opts o = {.threads = 2, .values = (const double *[]){x}, .forward_only = true};
    op_run_result r32, r64;
    llx_error err;
    CHECK(op_run(&c, LLX_F32, &o, &r32, &err) == LLX_OK);
    CHECK(op_run(&c, LLX_F64, &o, &r64, &err) == LLX_OK);
    const double *y32 = r32.out, *y64 = r64.out;
    double worst = 0;
    for (int i = 0; y32 && y64 && i < N; i++)
        worst = fmax(worst, fabs(y32[i] - y64[i]) / (1e-30 + y64[i]));
    CHECK_MSG(worst < 1e-6, "worst relative difference %g", worst);
    op_run_free(&r32);
    op_run_free(&r64);
}

/* ---- add and mul: the broadcast patterns ---- */

typedef struct bc_pattern {
    const char *name;
    llx_shape a, b;
} bc_pattern;

static const bc_pattern *patterns(int *n)
{
    static bc_pattern p[8];
    p[0] = (bc_pattern){"equal", llx_shape4(2, 3, 4, 5), llx_shape4(2, 3, 4, 5)};
    p[1] = (bc_pattern){"channel (N,C,1,1)", llx_shape4(2, 3, 4, 5), llx_shape4(2, 3, 1, 1)};
    p[2] = (bc_pattern){"spatial (N,1,H,W)", llx_shape4(2, 3, 4, 5), llx_shape4(2, 1, 4, 5)};
    p[3] = (bc_pattern){"per-channel (1,C,1,1)", llx_shape4(2, 3, 4, 5), llx_shape4(1, 3, 1, 1)};
    p[4] = (bc_pattern){"general (1,C,1,W)", llx_shape4(2, 3, 4, 5), llx_shape4(1, 3, 1, 5)};
    p[5] = (bc_pattern){"scalar (1,1,1,1)", llx_shape4(2, 3, 4, 5), llx_shape4(1, 1, 1, 1)};
    p[6] = (bc_pattern){"2-D (1,F)", llx_shape2(4, 6), llx_shape2(1, 6)};
    p[7] = (bc_pattern){"a with ones (N,1,H,1)", llx_shape4(2, 1, 4, 1), llx_shape4(1, 1, 4, 1)};
    *n = 8;
    return p;
}

static void test_add_mul_gradcheck(void)
{
    int n;
    const bc_pattern *p = patterns(&n);
    const llx_op_desc *ops[] = {ADD, MUL};
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < n; i++) {
            gc_case c = {.op = ops[o], .n_in = 2, .in = {{.shape = p[i].a}, {.shape = p[i].b}}};
            char label[96];
            snprintf(label, sizeof label, "%s %s", ops[o]->name, p[i].name);
            CHECK_MSG(gradcheck(label, &c), "%s", label);
        }
}

/* Naive y = a op b, da += dy * (b or 1), db += dy * (a or 1), all 4-D (a's ndim 4). */
static void naive_bcast(bool mul, const llx_shape *as, const llx_shape *bs, const double *a,
                        const double *b, const double *dy, double *y, double *da, double *db)
{
    const int64_t *d = as->dim, *e = bs->dim;
    for (int64_t i = 0; i < llx_shape_numel(as); i++) {
        int64_t k[4], r = i;
        for (int j = 3; j >= 0; j--) k[j] = r % d[j], r /= d[j];
        int64_t bi = 0;
        for (int j = 0; j < 4; j++) bi = bi * e[j] + (e[j] == 1 ? 0 : k[j]);
        y[i] = mul ? a[i] * b[bi] : a[i] + b[bi];
        da[i] += mul ? dy[i] * b[bi] : dy[i];
        db[bi] += mul ? dy[i] * a[i] : dy[i];
    }
}

/* Every b mask over a (2, 3, 4, 5) and a (3, 1, 6, 1), add and mul, forward and backward
 * (starting from non-zero gradients) against the naive loops, with 3 threads. */
static void test_broadcast_every_pattern(void)
{
    const llx_shape as_list[] = {llx_shape4(2, 3, 4, 5), llx_shape4(3, 1, 6, 1)};
    enum { MAXN = 120 };
    for (int s = 0; s < 2; s++)
        for (int mask = 0; mask < 16; mask++)
            for (int mul = 0; mul < 2; mul++) {
                llx_shape as = as_list[s], bs = as;
                for (int j = 0; j < 4; j++)
                    if (mask & (1 << j)) bs.dim[j] = 1;
                const int64_t na = llx_shape_numel(&as), nb = llx_shape_numel(&bs);
                double a[MAXN], b[MAXN], dy[MAXN], da[MAXN], db[MAXN];
                double ry[MAXN], rda[MAXN], rdb[MAXN];
                fill(a, na, 1 + mask), fill(b, nb, 2 + mask), fill(dy, na, 3 + mask);
                fill(da, na, 4), fill(db, nb, 5);
                memcpy(rda, da, sizeof da), memcpy(rdb, db, sizeof db);
                naive_bcast(mul, &as, &bs, a, b, dy, ry, rda, rdb);
                const llx_shape sh[] = {as, bs};
                const gc_case c = ew_case(mul ? MUL : ADD, 2, sh);
                op_run_result r;
                llx_error err;
                CHECK(op_run(&c, LLX_F64,
                             &(op_run_opts){.threads = 3, .values = (const double *[]){a, b},
                                            .dout = dy, .din = (const double *[]){da, db}},
                             &r, &err) == LLX_OK);
                if (!r.out) continue;
                double worst = 0;
                for (int64_t i = 0; i < na; i++)
                    worst = fmax(worst, fmax(fabs(r.out[i] - ry[i]), fabs(r.din[0][i] - rda[i])));
                for (int64_t i = 0; i < nb; i++) worst = fmax(worst, fabs(r.din[1][i] - rdb[i]));
                CHECK_MSG(worst < 1e-12, "%s a %d mask %d: worst %g", mul ? "mul" : "add", s,
                          mask, worst);
                op_run_free(&r);
            }
}

static void test_add_mul_values(void)
{
    const double a[] = {1, 2, 3, 4, 5, 6, 7, 8}; /* (2, 2, 1, 2) */
    const llx_shape as = llx_shape4(2, 2, 1, 2);
    struct {
        const llx_op_desc *op;
        llx_shape bs;
        double b[4], y[8], db[4]; /* db with dy = 1 */
    } cases[] = {
        {ADD, llx_shape4(2, 2, 1, 1), {10, 20, 30, 40},
         {11, 12, 23, 24, 35, 36, 47, 48}, {2, 2, 2, 2}},
        {MUL, llx_shape4(2, 1, 1, 2), {10, 100, -1, 2},
         {10, 200, 30, 400, -5, 12, -7, 16}, {4, 6, 12, 14}},
        {MUL, llx_shape4(1, 2, 1, 1), {2, -3}, {2, 4, -9, -12, 10, 12, -21, -24},
         {14, 22}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double dy[8];
        for (int i = 0; i < 8; i++) dy[i] = 1;
        const llx_shape sh[] = {as, cases[k].bs};
        const gc_case c = ew_case(cases[k].op, 2, sh);
        op_run_result r;
        llx_error err;
        CHECK(op_run(&c, LLX_F64,
                     &(op_run_opts){.threads = 2, .values = (const double *[]){a, cases[k].b},
                                    .dout = dy},
                     &r, &err) == LLX_OK);
        if (!r.out) continue;
        const double *y = r.out, *db = r.din[1];
        for (int i = 0; i < 8; i++) CHECK_NEAR(y[i], cases[k].y[i], 0);
        for (int i = 0; i < llx_shape_numel(&cases[k].bs); i++)
            CHECK_NEAR(db[i], cases[k].db[i], 0);
        op_run_free(&r);
    }
    llx_shape out;
    const llx_shape in[] = {llx_shape4(2, 3, 4, 5), llx_shape4(2, 3, 1, 1)};
    CHECK(MUL->macs && MUL->macs(NULL, in, 2, &in[0]) == 120);
    CHECK(ADD->infer(NULL, in, 2, &out, NULL) == LLX_OK && llx_shape_equal(&out, &in[0]));
}

/* F32 against F64 for the gates, forward and both gradients. */
static void test_mul_f32_matches_f64(void)
{
    enum { NA = 2 * 8 * 6 * 7 };
    const llx_shape as = llx_shape4(2, 8, 6, 7);
    const llx_shape bss[] = {llx_shape4(2, 8, 1, 1), llx_shape4(2, 1, 6, 7),
                             llx_shape4(1, 8, 1, 1), as};
    for (int k = 0; k < 4; k++) {
        const int64_t nb = llx_shape_numel(&bss[k]);
        double a[NA], b[NA], dy[NA];
        fill(a, NA, 7), fill(b, nb, 8), fill(dy, NA, 9);
        const llx_shape sh[] = {as, bss[k]};
        const gc_case c = ew_case(MUL, 2, sh);
        const op_run_opts o = {.threads = 2, .values = (const double *[]){a, b}, .dout = dy};
        op_run_result r[2];
        llx_error err;
        for (int t = 0; t < 2; t++)
            CHECK(op_run(&c, t ? LLX_F32 : LLX_F64, &o, &r[t], &err) == LLX_OK);
        if (r[0].out && r[1].out) {
            double worst = 0;
            for (int i = 0; i < NA; i++)
                worst = fmax(worst, fmax(fabs(r[0].out[i] - r[1].out[i]),
                                         fabs(r[0].din[0][i] - r[1].din[0][i])));
            for (int i = 0; i < nb; i++)
                worst = fmax(worst, fabs(r[0].din[1][i] - r[1].din[1][i]) /
                                        (1 + fabs(r[0].din[1][i])));
            CHECK_MSG(worst < 1e-5, "pattern %d: worst %g", k, worst);
        }
        op_run_free(&r[0]);
        op_run_free(&r[1]);
    }
}

/* The gradient of b sums in a fixed order: 1 and 5 threads give the same bits in F32. */
static void test_broadcast_deterministic(void)
{
    enum { NA = 3 * 16 * 20 * 20 };
    static double a[NA], b[NA], dy[NA];
    const llx_shape as = llx_shape4(3, 16, 20, 20);
    const llx_shape bss[] = {llx_shape4(3, 16, 1, 1), llx_shape4(3, 1, 20, 20),
                             llx_shape4(1, 16, 1, 1)};
    for (int k = 0; k < 3; k++) {
        const int64_t nb = llx_shape_numel(&bss[k]);
        fill(a, NA, 11), fill(b, nb, 12), fill(dy, NA, 13);
        const llx_shape sh[] = {as, bss[k]};
        const gc_case c = ew_case(MUL, 2, sh);
        op_run_result r[2];
        llx_error err;
        for (int t = 0; t < 2; t++)
            CHECK(op_run(&c, LLX_F32,
                         &(op_run_opts){.threads = t ? 5 : 1, .values = (const double *[]){a, b},
                                        .dout = dy},
                         &r[t], &err) == LLX_OK);
        CHECK_MSG(r[0].din[1] && r[1].din[1] &&
                      memcmp(r[0].din[1], r[1].din[1], (size_t)nb * sizeof(double)) == 0,
                  "pattern %d", k);
        op_run_free(&r[0]);
        op_run_free(&r[1]);
    }
}

static void test_broadcast_shape_errors(void)
{
    llx_error err;
    llx_shape out;
    llx_shape in[2] = {llx_shape4(2, 8, 4, 4), llx_shape4(2, 1, 5, 5)};
    CHECK(MUL->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "mul: cannot broadcast (2, 1, 5, 5) onto (2, 8, 4, 4)");
    in[1] = llx_shape_make(3, (const int64_t[]){8, 1, 1});
    CHECK(ADD->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "add: cannot broadcast (8, 1, 1) onto (2, 8, 4, 4)");
    CHECK_CONTAINS(err.msg, "4 dims");
    in[0] = llx_shape4(2, 1, 4, 4), in[1] = llx_shape4(2, 8, 4, 4); /* b larger than a */
    CHECK(ADD->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "add: cannot broadcast (2, 8, 4, 4) onto (2, 1, 4, 4)");
}

int main(void)
{
    RUN(test_sigmoid_values);
    RUN(test_sigmoid_gradcheck);
    RUN(test_sigmoid_f32_matches_f64);
    RUN(test_add_mul_gradcheck);
    RUN(test_broadcast_every_pattern);
    RUN(test_add_mul_values);
    RUN(test_mul_f32_matches_f64);
    RUN(test_broadcast_deterministic);
    RUN(test_broadcast_shape_errors);
    return check_report();
}
