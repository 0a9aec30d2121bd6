/* test_ops_gate.c: sigmoid_gate, y = a * sigmoid(b) with b broadcast onto a, on the CPU.
 *
 * Finite-difference gradchecks (F64) of both inputs for the gate patterns; F32 forward and
 * backward bit for bit equal to the two-node mul(a, sigmoid(b)) it replaces (accumulating
 * onto non-zero gradients, several threads); a missing din; large |b| without overflow;
 * infer, macs, workspace and the shape error. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "llx/ops.h"
#include "oprun.h"

#define GATE llx_builtin_op(LLX_OP_SIGMOID_GATE)
#define SIGMOID llx_builtin_op(LLX_OP_SIGMOID)
#define MUL llx_builtin_op(LLX_OP_MUL)

typedef struct gate_pattern {
    const char *name;
    llx_shape a, b;
} gate_pattern;

/* a (2, 3, 4, 5) and each shape of b the attention plugins use. */
static const gate_pattern *patterns(int *n)
{
    static gate_pattern p[6];
    p[0] = (gate_pattern){"equal (LLAM)", llx_shape4(2, 3, 4, 5), llx_shape4(2, 3, 4, 5)};
    p[1] = (gate_pattern){"channel (N,C,1,1)", llx_shape4(2, 3, 4, 5), llx_shape4(2, 3, 1, 1)};
    p[2] = (gate_pattern){"spatial (N,1,H,W)", llx_shape4(2, 3, 4, 5), llx_shape4(2, 1, 4, 5)};
    p[3] = (gate_pattern){"per-channel (1,C,1,1)", llx_shape4(2, 3, 4, 5), llx_shape4(1, 3, 1, 1)};
    p[4] = (gate_pattern){"general (1,C,1,W)", llx_shape4(2, 3, 4, 5), llx_shape4(1, 3, 1, 5)};
    p[5] = (gate_pattern){"2-D (1,F)", llx_shape2(4, 6), llx_shape2(1, 6)};
    *n = 6;
    return p;
}

static gc_case gate_case(const llx_op_desc *op, const llx_shape *a, const llx_shape *b)
{
    gc_case c = {.op = op, .n_in = b ? 2 : 1, .in = {{.shape = *a}}};
    if (b) c.in[1].shape = *b;
    return c;
}

static void fill(double *p, int64_t n, uint64_t seed, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = scale * ((double)(seed >> 11) / 4503599627370496.0 - 1.0); /* [-scale, scale) */
    }
}

static void test_gate_gradcheck(void)
{
    int n;
    const gate_pattern *p = patterns(&n);
    for (int i = 0; i < n; i++) {
        gc_case c = gate_case(GATE, &p[i].a, &p[i].b);
        char label[96];
        snprintf(label, sizeof label, "sigmoid_gate %s", p[i].name);
        CHECK_MSG(gradcheck(label, &c), "%s", label);
    }
}

/* Both numbers arrays of n doubles, equal bit for bit (F32 values widened). */
static int same_bits(const double *x, const double *y, int64_t n)
{
    return x && y && memcmp(x, y, (size_t)n * sizeof *x) == 0;
}

/* F32: gate(a, b) and its gradients against sigmoid then mul, which compute the same
 * products in the same order; b spans [-12, 12) so that s saturates in places. */
static void test_gate_equals_mul_of_sigmoid(void)
{
    enum { NA = 2 * 3 * 4 * 5 };
    int n;
    const gate_pattern *p = patterns(&n);
    for (int k = 0; k < n; k++) {
        const llx_shape *as = &p[k].a, *bs = &p[k].b;
        const int64_t na = llx_shape_numel(as), nb = llx_shape_numel(bs);
        double a[NA], b[NA], dy[NA], da0[NA], db0[NA], zeros[NA] = {0};
        fill(a, na, 1 + k, 1), fill(b, nb, 2 + k, 12), fill(dy, na, 3 + k, 1);
        fill(da0, na, 4, 1), fill(db0, nb, 5, 1);
        const gc_case sig = gate_case(SIGMOID, bs, NULL), mul = gate_case(MUL, as, bs),
                      gate = gate_case(GATE, as, bs);
        op_run_result s, m, sb, g;
        llx_error err;
        CHECK(op_run(&sig, LLX_F32,
                     &(op_run_opts){.threads = 3, .values = (const double *[]){b},
                                    .forward_only = true},
                     &s, &err) == LLX_OK);
        CHECK(op_run(&mul, LLX_F32,
                     &(op_run_opts){.threads = 3, .values = (const double *[]){a, s.out},
                                    .dout = dy, .din = (const double *[]){da0, zeros}},
                     &m, &err) == LLX_OK);
        CHECK(op_run(&sig, LLX_F32,
                     &(op_run_opts){.threads = 3, .values = (const double *[]){b},
                                    .dout = m.din[1], .din = (const double *[]){db0}},
                     &sb, &err) == LLX_OK);
        CHECK(op_run(&gate, LLX_F32,
                     &(op_run_opts){.threads = 3, .values = (const double *[]){a, b}, .dout = dy,
                                    .din = (const double *[]){da0, db0}},
                     &g, &err) == LLX_OK);
        CHECK_MSG(same_bits(g.out, m.out, na), "%s: y", p[k].name);
        CHECK_MSG(same_bits(g.din[0], m.din[0], na), "%s: da", p[k].name);
        CHECK_MSG(same_bits(g.din[1], sb.din[0], nb), "%s: db", p[k].name);
        op_run_free(&s), op_run_free(&m), op_run_free(&sb), op_run_free(&g);
    }
}

/* Backward with one of the gradients missing leaves the other as with both. */
static void test_gate_one_gradient(void)
{
    int n;
    const gate_pattern *p = &patterns(&n)[1]; /* channel gate */
    const gc_case c = gate_case(GATE, &p->a, &p->b);
    op_run_result full;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.threads = 2}, &full, &err) == LLX_OK);
    for (int drop = 0; drop < 2 && full.out; drop++) {
        op_run_state st;
        CHECK(op_run_setup(&c, LLX_F64, &(op_run_opts){.threads = 2}, &st, &err) == LLX_OK);
        st.call.din[drop] = NULL;
        CHECK(llx_op_forward(&st.call, &err) == LLX_OK);
        CHECK(llx_op_backward(&st.call, &err) == LLX_OK);
        const llx_tensor *kept = &st.din[1 - drop];
        CHECK_MSG(same_bits(kept->data, full.din[1 - drop], llx_tensor_numel(kept)),
                  "without din[%d]", drop);
        double sum_dropped = 0; /* the dropped gradient's tensor stays zero */
        for (int64_t i = 0; i < llx_tensor_numel(&st.din[drop]); i++)
            sum_dropped += fabs(((const double *)st.din[drop].data)[i]);
        CHECK(sum_dropped == 0);
        op_run_teardown(&st);
    }
    op_run_free(&full);
}

/* |b| up to 1000: y is a or 0, the gradients finite, in F32 and F64. */
static void test_gate_large_logits(void)
{
    const double a[] = {2, -3, 4, 5, -6, 7}, b[] = {1000, -1000, 90, -90, 0, 40};
    const llx_shape s = llx_shape1(6);
    const gc_case c = gate_case(GATE, &s, &s);
    for (int t = 0; t < 2; t++) {
        op_run_result r;
        llx_error err;
        const double dy[6] = {1, 1, 1, 1, 1, 1};
        CHECK(op_run(&c, t ? LLX_F32 : LLX_F64,
                     &(op_run_opts){.threads = 1, .values = (const double *[]){a, b}, .dout = dy},
                     &r, &err) == LLX_OK);
        if (!r.out) continue;
        CHECK_NEAR(r.out[0], 2, 0);
        CHECK(r.out[1] == 0 || fabs(r.out[1]) < 1e-300);
        CHECK_NEAR(r.out[4], -3, 0); /* sigmoid(0) = 0.5 */
        CHECK_NEAR(r.out[5], 7, 1e-6);
        for (int i = 0; i < 6; i++) CHECK(isfinite(r.din[0][i]) && isfinite(r.din[1][i]));
        CHECK_NEAR(r.din[1][4], -6 * 0.25, 1e-7);
        op_run_free(&r);
    }
}

static void test_gate_descriptor_and_errors(void)
{
    llx_error err;
    llx_shape out;
    llx_shape in[2] = {llx_shape4(2, 8, 4, 4), llx_shape4(2, 8, 1, 1)};
    CHECK(strcmp(GATE->name, "sigmoid_gate") == 0);
    CHECK(GATE->min_inputs == 2 && GATE->max_inputs == 2 && GATE->no_grad_inputs == 0);
    CHECK(GATE->infer(NULL, in, 2, &out, &err) == LLX_OK && llx_shape_equal(&out, &in[0]));
    CHECK(GATE->macs && GATE->macs(NULL, in, 2, &out) == 256);
    CHECK(GATE->workspace_bytes &&
          GATE->workspace_bytes(NULL, in, 2, &out, LLX_F32) == 2 * 16 * sizeof(float));
    in[1] = llx_shape4(2, 1, 5, 5);
    CHECK(GATE->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "sigmoid_gate: cannot broadcast (2, 1, 5, 5) onto (2, 8, 4, 4)");
    in[1] = llx_shape_make(3, (const int64_t[]){8, 1, 1});
    CHECK(GATE->infer(NULL, in, 2, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "4 dims");
}

int main(void)
{
    RUN(test_gate_gradcheck);
    RUN(test_gate_equals_mul_of_sigmoid);
    RUN(test_gate_one_gradient);
    RUN(test_gate_large_logits);
    RUN(test_gate_descriptor_and_errors);
    return check_report();
}
