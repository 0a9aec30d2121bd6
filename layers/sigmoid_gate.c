/* sigmoid_gate.c: y = a * sigmoid(b), b broadcast onto a with mul's rules (b has a's ndim,
 * each dim 1 or equal to a's; y like a): the gate of SE / ECA (N, C, 1, 1), CBAM's spatial
 * gate (N, 1, H, W), per-channel scales (1, C, 1, 1) and LLAM's full map, in one node.
 * Gradients accumulate, with s = sigmoid(b):
 *   da += dy * s
 *   db += (dy * a summed over the dims where b is 1) * s * (1 - s)
 * The workspace holds s (b's shape) and that sum (b's shape); forward and backward each
 * compute s afresh. The loops are broadcast_impl.h's (shared with mul.c) and the stable
 * sigmoid is sigmoid_impl.h's (shared with sigmoid.c). */
#ifndef LLX_TYPED_PASS
#include "broadcast_impl.h"
#undef LLX_TYPED_FILE /* broadcast_impl.h ran its own typed pass */
#define LLX_TYPED_FILE "sigmoid_gate.c"
#include "typed_impl.h"

static llx_status gate_infer(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                             llx_error *err)
{
    return bcast_infer("sigmoid_gate", in, out, err);
}

/* One multiply per output element, as mul. */
static int64_t gate_macs(const void *attr, const llx_shape *in, int n_in, const llx_shape *out)
{
    return llx_shape_numel(out);
}

/* s = sigmoid(b), then the sum of dy * a for db: b's numel each. */
static size_t gate_workspace(const void *attr, const llx_shape *in, int n_in,
                             const llx_shape *out, llx_dtype dt)
{
    return 2 * (size_t)llx_shape_numel(&in[1]) * llx_dtype_size(dt);
}

/* in[0] a (any, ndim <= 4), in[1] b (a's ndim, each dim 1 or a's) -> out like a. */
static llx_status gate_forward(const llx_op_call *c, llx_error *err)
{
    const llx_tensor *a = c->in[0], *b = c->in[1];
    LLX_TRY(llx_bcast_check(c->op->name, &a->shape, &b->shape, err));
    llx_bcast_dims d = llx_bcast_canon(&a->shape, &b->shape);
    llx_dtype dt = c->out->dtype;
    void *s = c->workspace; /* like b */
    LLX_DISPATCH(dt, sigmoid_fwd, b->data, s, llx_tensor_numel(b));
    LLX_DISPATCH(dt, bcast_map, &d, a->data, s, c->out->data, BC_SET_MUL);
    return LLX_OK;
}

static llx_status gate_backward(const llx_op_call *c, llx_error *err)
{
    const llx_tensor *a = c->in[0], *b = c->in[1];
    LLX_TRY(llx_bcast_check(c->op->name, &a->shape, &b->shape, err));
    if (!c->din[0] && !c->din[1]) return LLX_OK;
    llx_bcast_dims d = llx_bcast_canon(&a->shape, &b->shape);
    llx_dtype dt = c->out->dtype;
    const int64_t nb = llx_tensor_numel(b);
    const size_t b_bytes = (size_t)nb * llx_dtype_size(dt);
    void *s = c->workspace;                    /* like b: sigmoid(b) */
    void *sum = (char *)c->workspace + b_bytes; /* like b: dy * a summed onto b */
    LLX_DISPATCH(dt, sigmoid_fwd, b->data, s, nb);
    if (c->din[0])
        LLX_DISPATCH(dt, bcast_map, &d, c->dout->data, s, c->din[0]->data, BC_ACC_MUL);
    if (c->din[1]) {
        memset(sum, 0, b_bytes);
        LLX_DISPATCH(dt, bcast_reduce, &d, c->dout->data, a->data, sum);
        LLX_DISPATCH(dt, gate_db, s, sum, c->din[1]->data, nb);
    }
    return LLX_OK;
}

const llx_op_desc llx_op_sigmoid_gate = {
    .name = "sigmoid_gate",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = gate_infer,
    .workspace_bytes = gate_workspace,
    .macs = gate_macs,
    .kernels[LLX_DEVICE_CPU] = {.forward = gate_forward, .backward = gate_backward},
    LLX_CUDA_KERNELS(sigmoid_gate)
};

#else

#include "sigmoid_impl.h" /* sigmoid_fwd: x (n) -> y (n) */

/* s, sum, db: (n) each, b's shape. db += sum * s * (1 - s): the chain rule through sigmoid. */
static void T_(gate_db)(const real *s, const real *sum, real *db, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) db[i] += sum[i] * s[i] * (1 - s[i]);
}

#endif
