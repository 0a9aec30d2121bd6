/* oprun.h: runs one op forward (and backward) on tensors built from doubles, on the CPU or
 * on a backend given (the CUDA backend: tests/test_gpu_ops.c).
 *
 * An op test describes the op and its inputs with a gc_case (gradcheck.h: op, attr, n_in,
 * input shapes and fills, training, seed) and calls op_run with a dtype and options:
 *
 *     op_run_result r;
 *     llx_error err;
 *     CHECK(op_run(&c, LLX_F64, &(op_run_opts){.values = v, .dout = dy}, &r, &err) == LLX_OK);
 *     CHECK_NEAR(r.out[0], 37.5, 1e-12);  CHECK_NEAR(r.din[0][4], 1111, 1e-12);
 *     op_run_free(&r);
 *
 * Inputs. Input i is LLX_I32 when c->in[i].fill is GC_LABELS, else the dtype given (LLX_F32
 * or LLX_F64). Its values are opts->values[i] (converted to the tensor's dtype) or, when
 * that is NULL, drawn as c->in[i].fill says from a splitmix64 stream seeded with c->seed
 * (0: 777). The stream then draws the random dout, so the same case and seed give the same
 * inputs in F32 and F64.
 *
 * Gradients. Input i takes a gradient unless it is I32 or in op->no_grad_inputs. Backward
 * accumulates into din; din[i] starts from opts->din[i] (NULL: zeros). With opts->fresh the
 * backward is told that every din holds stale bytes (llx_op_call.din_fresh, llx/op.h): din
 * starts as NaN and must come out as the gradient alone; the op's kernel on the device must
 * declare fresh_din (else LLX_ERR_INVALID).
 *
 * Everything returned is a malloc'd double copy (op_run_free frees it): values are
 * widened from the tensor's dtype, so an F32 run gives float values as doubles.
 *
 * Backend. Without opts->backend the op runs on a CPU backend of its own (opts->threads)
 * on plain host tensors. With opts->backend (any device; not freed) every tensor, the saved
 * state and the workspace live in that backend's memory (be->alloc): inputs, the din seeds
 * and dout are built on the host exactly as above, then copied with be->to_device, and the
 * results come back with be->to_host after be->sync. The same case and seed therefore give
 * the same inputs on every backend. */
#ifndef LLX_TESTS_OPRUN_H
#define LLX_TESTS_OPRUN_H

#include "gradcheck.h"
#include "llx/llx.h"

typedef struct op_run_opts {
    int threads;                 /* CPU backend threads (0: the backend's default) */
    const double *const *values; /* values[i]: input i (NULL, or values[i] NULL: drawn) */
    const double *dout;          /* gradient of the output (NULL: drawn, in [-1, 1)) */
    const double *const *din;    /* din[i]: starting gradient of input i (NULL: zeros) */
    bool forward_only;           /* skip backward: the result's din[] stay NULL */
    bool fresh;                  /* backward writes din over NaN (din_fresh for every input) */
    llx_backend *backend;        /* run on this backend (threads ignored; NULL: own CPU one) */
} op_run_opts;

typedef struct op_run_result {
    llx_shape out_shape;
    double *out;                    /* forward output (out_shape) */
    double *in[LLX_OP_MAX_INPUTS];  /* inputs after forward (BN's running statistics move) */
    double *din[LLX_OP_MAX_INPUTS]; /* input gradients after backward (NULL: none) */
} op_run_result;

/* Runs c->op in dtype dt (opts NULL: all defaults): forward, then backward unless
 * forward_only. On LLX_OK r holds the copies; on failure err says why (infer, forward or
 * backward) and r is empty. Either way op_run_free(r) is safe. */
llx_status op_run(const gc_case *c, llx_dtype dt, const op_run_opts *opts, op_run_result *r,
                  llx_error *err);

void op_run_free(op_run_result *r);

/* max |a - b| / max(max |b|, 1e-30) over n elements: a normwise relative difference
 * (a NaN in a gives infinity). */
double op_run_rel_diff(const double *a, const double *b, int64_t n);

/* Runs c (random dout, default threads) in F32 and in F64 on the same inputs and compares
 * the output, every input after forward and every gradient with op_run_rel_diff. Returns 1
 * when all agree to tol; otherwise prints each disagreement under label and returns 0. */
int op_run_f32_matches_f64(const char *label, const gc_case *c, double tol);

/* ---- the pieces op_run is made of, for checks that drive the call themselves ---- */

/* A backend, the tensors (data in their dtypes) and an llx_op_call wired to them. */
typedef struct op_run_state {
    llx_backend *be;
    llx_tensor in[LLX_OP_MAX_INPUTS], din[LLX_OP_MAX_INPUTS], out, dout;
    void *saved, *workspace;
    llx_op_call call; /* ready for llx_op_forward / llx_op_backward; din[i] NULL: none */
    bool own_be;      /* be was created by setup (teardown frees it) */
    bool on_be;       /* opts->backend given: tensor data, saved and workspace are be->alloc'd
                         (device memory on a GPU: use op_run_download / op_run_upload) */
} op_run_state;

/* Builds s as op_run does (forward_only ignored). On failure frees what it built, fills err
 * and returns the status (s needs no teardown). */
llx_status op_run_setup(const gc_case *c, llx_dtype dt, const op_run_opts *opts,
                        op_run_state *s, llx_error *err);

void op_run_teardown(op_run_state *s);

/* The first n elements (n < 0: all of t's current shape) of tensor t of state s as a
 * malloc'd double array in *out (widened from t's dtype), fetched with be->sync and
 * be->to_host when s->on_be. On failure *out is NULL and err says why. */
llx_status op_run_download(const op_run_state *s, const llx_tensor *t, int64_t n, double **out,
                           llx_error *err);
/* Stores v (n doubles, n < 0: t's numel), converted to t's dtype, into the first n elements
 * of tensor t of state s (be->to_device when s->on_be). */
llx_status op_run_upload(const op_run_state *s, llx_tensor *t, const double *v, int64_t n,
                         llx_error *err);

#endif
