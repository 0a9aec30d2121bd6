/* test_ops_reduce.c: concat, global_avgpool, global_maxpool, channel_mean, channel_max.
 *
 * Finite-difference gradchecks of each op (concat with 2 and 3 inputs; tie-free GC_SPREAD
 * inputs for the max ops, whose argmax routes the gradient), forward values against numbers
 * known by hand and against naive loops over the same inputs, and the shape errors. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "llx/ops.h"
#include "oprun.h"

#define CONCAT llx_builtin_op(LLX_OP_CONCAT)
#define GAVG llx_builtin_op(LLX_OP_GLOBAL_AVGPOOL)
#define GMAX llx_builtin_op(LLX_OP_GLOBAL_MAXPOOL)
#define CMEAN llx_builtin_op(LLX_OP_CHANNEL_MEAN)
#define CMAX llx_builtin_op(LLX_OP_CHANNEL_MAX)

/* Forward of a one-input op on x (shape s, filled as `fill` says); returns y and the input
 * in *x (both malloc'd, the caller frees them; NULL on failure), the output shape in *ys. */
static double *forward1(const llx_op_desc *op, llx_shape s, gc_fill fill, double **x,
                        llx_shape *ys)
{
    gc_case c = {.op = op, .n_in = 1, .in = {{.shape = s, .fill = fill}}};
    op_run_result r;
    llx_error err;
    *x = NULL;
    if (op_run(&c, LLX_F64, &(op_run_opts){.forward_only = true}, &r, &err) != LLX_OK) {
        fprintf(stderr, "%s: %s\n", op->name, err.msg);
        return NULL;
    }
    *x = r.in[0]; /* ownership moves to the caller */
    *ys = r.out_shape;
    return r.out;
}

/* ---- concat ---- */

static void test_concat_gradcheck(void)
{
    gc_case two = {.op = CONCAT, .n_in = 2,
                   .in = {{.shape = llx_shape4(2, 3, 4, 5)}, {.shape = llx_shape4(2, 2, 4, 5)}}};
    CHECK(gradcheck("concat 2 inputs", &two));
    gc_case three = {.op = CONCAT, .n_in = 3,
                     .in = {{.shape = llx_shape4(2, 1, 3, 3)},
                            {.shape = llx_shape4(2, 4, 3, 3)},
                            {.shape = llx_shape4(2, 2, 3, 3)}}};
    CHECK(gradcheck("concat 3 inputs", &three));
}

/* Output element (b, ch, p) comes from the input that owns channel ch, in order. */
static void test_concat_values(void)
{
    const int64_t ci[] = {1, 4, 2}, n = 2, hw = 6;
    gc_case c = {.op = CONCAT, .n_in = 3};
    for (int i = 0; i < 3; i++) c.in[i].shape = llx_shape4(n, ci[i], 2, 3);
    op_run_result r;
    llx_error err;
    CHECK(op_run(&c, LLX_F64, &(op_run_opts){.forward_only = true}, &r, &err) == LLX_OK);
    if (!r.out) return;
    const double *y = r.out;
    double *const *x = r.in;
    const llx_shape ys = r.out_shape;
    const llx_shape want = llx_shape4(2, 7, 2, 3);
    CHECK(llx_shape_equal(&ys, &want));
    int bad = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0, i = 0, first = 0; ch < 7; ch++) {
            if (ch - first == ci[i]) first += ci[i++];
            for (int64_t p = 0; p < hw; p++)
                bad += y[(b * 7 + ch) * hw + p] != x[i][(b * ci[i] + ch - first) * hw + p];
        }
    CHECK_MSG(bad == 0, "%d elements differ", bad);
    op_run_free(&r);
}

static void test_concat_shape_errors(void)
{
    llx_error err;
    llx_shape out;
    llx_shape in[3] = {llx_shape4(2, 4, 4, 4), llx_shape4(2, 1, 4, 4), llx_shape4(2, 3, 5, 4)};
    CHECK(CONCAT->infer(NULL, in, 3, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "concat: input 2 has shape (2, 3, 5, 4) but input 0 has (2, 4, 4, 4)");
    CHECK_CONTAINS(err.msg, "N, H and W must match");
    in[2] = llx_shape4(3, 3, 4, 4);
    CHECK(CONCAT->infer(NULL, in, 3, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "input 2 has shape (3, 3, 4, 4)");
    in[1] = llx_shape2(2, 16);
    CHECK(CONCAT->infer(NULL, in, 3, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "concat: input 1 must be 4-D");
    CHECK(CONCAT->infer(NULL, in, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "concat: needs 2 to 8 inputs, got 1");
    in[1] = llx_shape4(2, 5, 4, 4), in[2] = llx_shape4(2, 3, 4, 4);
    const llx_shape want = llx_shape4(2, 12, 4, 4);
    CHECK(CONCAT->infer(NULL, in, 3, &out, &err) == LLX_OK && llx_shape_equal(&out, &want));
}

/* ---- global pools ---- */

static void test_global_pool_gradcheck(void)
{
    gc_case avg = {.op = GAVG, .n_in = 1, .in = {{.shape = llx_shape4(2, 3, 4, 5)}}};
    CHECK(gradcheck("global_avgpool", &avg));
    gc_case max = {.op = GMAX, .n_in = 1,
                   .in = {{.shape = llx_shape4(2, 3, 4, 5), .fill = GC_SPREAD}}};
    CHECK(gradcheck("global_maxpool", &max));
    max.in[0].shape = llx_shape4(3, 2, 1, 1); /* one cell: the max is the input */
    CHECK(gradcheck("global_maxpool 1x1", &max));
}

static void test_global_pool_values(void)
{
    double *x, *y;
    llx_shape ys;
    /* Spread fill: a permutation of -1, -0.75, ..., 1: mean 0, max 1. */
    y = forward1(GAVG, llx_shape4(1, 1, 3, 3), GC_SPREAD, &x, &ys);
    CHECK(y && fabs(y[0]) < 1e-15);
    free(x), free(y);
    y = forward1(GMAX, llx_shape4(1, 1, 2, 2), GC_SPREAD, &x, &ys);
    CHECK(y && y[0] == 1);
    free(x), free(y);
    /* Random (2, 3, 4, 5) against naive loops. */
    for (int m = 0; m < 2; m++) {
        y = forward1(m ? GMAX : GAVG, llx_shape4(2, 3, 4, 5), GC_RANDOM, &x, &ys);
        const llx_shape want = llx_shape4(2, 3, 1, 1);
        CHECK(y && llx_shape_equal(&ys, &want));
        for (int r = 0; y && r < 6; r++) {
            double s = 0, best = x[r * 20];
            for (int k = 0; k < 20; k++) s += x[r * 20 + k], best = fmax(best, x[r * 20 + k]);
            CHECK_NEAR(y[r], m ? best : s / 20, 1e-15);
        }
        free(x), free(y);
    }
    CHECK(GMAX->saved_bytes && GMAX->saved_bytes(NULL, (llx_shape[]){llx_shape4(2, 3, 4, 5)}, 1,
                                                 NULL, LLX_F32) == 6 * sizeof(int32_t));
}

/* ---- channel pools ---- */

static void test_channel_pool_gradcheck(void)
{
    gc_case mean = {.op = CMEAN, .n_in = 1, .in = {{.shape = llx_shape4(2, 3, 4, 5)}}};
    CHECK(gradcheck("channel_mean", &mean));
    gc_case max = {.op = CMAX, .n_in = 1,
                   .in = {{.shape = llx_shape4(2, 4, 3, 5), .fill = GC_SPREAD}}};
    CHECK(gradcheck("channel_max", &max));
    /* More pixels than one kernel task (512) holds. */
    mean.in[0].shape = max.in[0].shape = llx_shape4(1, 3, 23, 25);
    CHECK(gradcheck("channel_mean 575 pixels", &mean));
    CHECK(gradcheck("channel_max 575 pixels", &max));
}

static void test_channel_pool_values(void)
{
    double *x, *y;
    llx_shape ys;
    y = forward1(CMEAN, llx_shape4(1, 3, 1, 1), GC_SPREAD, &x, &ys); /* {-1, 0, 1} */
    CHECK(y && fabs(y[0]) < 1e-15);
    free(x), free(y);
    y = forward1(CMAX, llx_shape4(1, 5, 1, 1), GC_SPREAD, &x, &ys);
    CHECK(y && y[0] == 1);
    free(x), free(y);
    /* Random (2, 4, 3, 200) (600 pixels: two tasks per image) against naive loops. */
    enum { C = 4, HW = 600 };
    for (int m = 0; m < 2; m++) {
        y = forward1(m ? CMAX : CMEAN, llx_shape4(2, C, 3, 200), GC_RANDOM, &x, &ys);
        const llx_shape want = llx_shape4(2, 1, 3, 200);
        CHECK(y && llx_shape_equal(&ys, &want));
        double worst = 0;
        for (int b = 0; y && b < 2; b++)
            for (int p = 0; p < HW; p++) {
                double s = 0, best = x[b * C * HW + p];
                for (int ch = 0; ch < C; ch++)
                    s += x[(b * C + ch) * HW + p], best = fmax(best, x[(b * C + ch) * HW + p]);
                worst = fmax(worst, fabs(y[b * HW + p] - (m ? best : s / C)));
            }
        CHECK_MSG(worst < 1e-15, "%s: worst %g", m ? "channel_max" : "channel_mean", worst);
        free(x), free(y);
    }
    CHECK(CMAX->saved_bytes && CMAX->saved_bytes(NULL, (llx_shape[]){llx_shape4(2, 3, 4, 5)}, 1,
                                                 NULL, LLX_F32) == 40 * sizeof(int32_t));
}

static void test_pool_shape_errors(void)
{
    llx_error err;
    llx_shape out;
    const llx_shape flat = llx_shape2(2, 16), empty = llx_shape4(2, 0, 4, 4);
    CHECK(GAVG->infer(NULL, &flat, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "global_avgpool: input must be 4-D (N, C, H, W), got (2, 16)");
    CHECK(GMAX->infer(NULL, &empty, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "global_maxpool: input (2, 0, 4, 4) is empty");
    CHECK(CMEAN->infer(NULL, &flat, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "channel_mean: input must be 4-D");
    CHECK(CMAX->infer(NULL, &empty, 1, &out, &err) == LLX_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "channel_max: input (2, 0, 4, 4) is empty");
}

int main(void)
{
    RUN(test_concat_gradcheck);
    RUN(test_concat_values);
    RUN(test_concat_shape_errors);
    RUN(test_global_pool_gradcheck);
    RUN(test_global_pool_values);
    RUN(test_channel_pool_gradcheck);
    RUN(test_channel_pool_values);
    RUN(test_pool_shape_errors);
    return check_report();
}
