/* gradcheck.c: see gradcheck.h. */
#include "gradcheck.h"

#include "oprun.h"

#include <math.h>
#include <stdio.h>

/* L = sum(out * dout) after one forward. Inputs the op updates in place change on every
 * call: BN in training moves its running mean and variance on each of the 2 finite-difference
 * forwards per element, so they drift over the check. Harmless: no gradient flows to them
 * (no_grad_inputs), and training-mode output does not read them (eval reads but never
 * moves them). */
static double gc_loss(op_run_state *st)
{
    llx_error err;
    if (llx_op_forward(&st->call, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck: forward failed: %s\n", err.msg);
        return NAN;
    }
    const double *y = st->out.data, *r = st->dout.data;
    double s = 0;
    for (int64_t i = 0; i < llx_tensor_numel(&st->out); i++) s += y[i] * r[i];
    return s;
}

int gradcheck(const char *label, const gc_case *c)
{
    /* The inputs, their fills and the random dout come from op_run_setup (oprun.h), in F64
     * on one thread; 12345 stays the default seed of the check. */
    gc_case seeded = *c;
    if (!seeded.seed) seeded.seed = 12345;
    op_run_state st;
    llx_error err;
    if (op_run_setup(&seeded, LLX_F64, &(op_run_opts){.threads = 1}, &st, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck %s: op %s: setup failed: %s\n", label, c->op->name, err.msg);
        return 0;
    }
    double eps = c->eps > 0 ? c->eps : 1e-6, atol = c->atol > 0 ? c->atol : 1e-7;
    double rtol = c->rtol > 0 ? c->rtol : 1e-5;
    int ok = 1;
    if (isnan(gc_loss(&st)) || llx_op_backward(&st.call, &err) != LLX_OK) {
        fprintf(stderr, "gradcheck %s: forward/backward failed: %s\n", label, err.msg);
        op_run_teardown(&st);
        return 0;
    }
    for (int i = 0; i < c->n_in; i++) {
        if (!st.call.din[i]) continue;
        double *x = st.in[i].data, *g = st.din[i].data, worst = 0;
        int64_t worst_at = -1;
        double worst_a = 0, worst_n = 0;
        for (int64_t k = 0; k < llx_tensor_numel(&st.in[i]); k++) {
            double keep = x[k];
            x[k] = keep + eps;
            double lp = gc_loss(&st);
            x[k] = keep - eps;
            double lm = gc_loss(&st);
            x[k] = keep;
            double num = (lp - lm) / (2 * eps), excess = fabs(g[k] - num) - (atol + rtol * fabs(num));
            if (worst_at < 0 || !(excess <= worst)) { /* NaN counts as worst */
                worst = excess;
                worst_at = k;
                worst_a = g[k];
                worst_n = num;
            }
        }
        if (!(worst <= 0)) {
            fprintf(stderr, "gradcheck %s: op %s input %d element %lld: analytic %.10g numeric %.10g\n",
                    label, c->op->name, i, (long long)worst_at, worst_a, worst_n);
            ok = 0;
        }
    }
    op_run_teardown(&st);
    return ok;
}
