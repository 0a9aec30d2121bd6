/* llx/op.h: primitive ops, the first level of extension.
 *
 * An op has shape inference and, per backend, a forward and a backward
 * kernel. Gradient convention (every op, every backend): backward ADDS into
 * the input gradients it is given (din[i] += ...); the optimiser zeroes
 * parameter gradients. din[i] is NULL where no gradient is needed.
 * Activation gradients are not zeroed in advance: the first backward call to
 * reach one (its last consumer) finds stale bytes there. The engine zeroes it
 * just before that call, unless the kernel declares fresh_din: then bit i of
 * c->din_fresh tells it to write din[i] (=) instead of adding, which saves a
 * pass over the memory (llx_graph_backward_seed).
 *
 * Built-in ops are listed in enum llx_op_id (llx/ops.h); a plugin may add
 * its own op descriptors through llx_registry_add_op (a fused kernel, say). */
#ifndef LLX_OP_H
#define LLX_OP_H

#include "llx/backend.h"
#include "llx/status.h"
#include "llx/tensor.h"

#define LLX_OP_MAX_INPUTS 8

typedef struct llx_op_desc llx_op_desc;

/* One call of a kernel: everything it reads and writes. */
typedef struct llx_op_call {
    const llx_op_desc *op;
    const void *attr; /* the op's attribute struct, e.g. llx_conv2d_attr */
    int n_in;
    llx_tensor *in[LLX_OP_MAX_INPUTS];  /* inputs; buffers an op updates (BN running stats) too */
    llx_tensor *out;                    /* output value */
    llx_tensor *din[LLX_OP_MAX_INPUTS]; /* input gradients (accumulate) or NULL */
    unsigned din_fresh; /* backward, kernels with fresh_din only: bit i set: din[i] holds no
                           gradient yet (stale bytes): write it, do not add to it */
    const llx_tensor *dout;             /* output gradient (backward only) */
    void *saved;       /* op-private state kept from forward to backward, saved_bytes long */
    void *workspace;   /* scratch, workspace_bytes long, shared by all ops */
    bool training;     /* batch statistics, dropout, ... */
    llx_backend *backend;
} llx_op_call;

typedef struct llx_op_kernels {
    llx_status (*forward)(const llx_op_call *c, llx_error *err);
    llx_status (*backward)(const llx_op_call *c, llx_error *err); /* (optional): no gradient */
    bool fresh_din; /* backward honours c->din_fresh (else din_fresh is always 0) */
} llx_op_kernels;

struct llx_op_desc {
    const char *name; /* "conv2d" */
    size_t attr_size; /* sizeof the attribute struct (0: none) */
    int min_inputs, max_inputs;
    /* Which inputs never receive a gradient (bit i set: input i), e.g. labels, running stats. */
    unsigned no_grad_inputs;
    /* Output shape from input shapes; message names what does not fit. */
    llx_status (*infer)(const void *attr, const llx_shape *in, int n_in, llx_shape *out,
                        llx_error *err);
    /* Bytes of saved state per node (optional: none). */
    size_t (*saved_bytes)(const void *attr, const llx_shape *in, int n_in, const llx_shape *out,
                          llx_dtype dt);
    /* Bytes of shared scratch (optional: none). */
    size_t (*workspace_bytes)(const void *attr, const llx_shape *in, int n_in,
                              const llx_shape *out, llx_dtype dt);
    /* Multiply-accumulates of one forward pass (optional: 0). */
    int64_t (*macs)(const void *attr, const llx_shape *in, int n_in, const llx_shape *out);
    /* Short description of the attributes for summaries, e.g. "k3 s2 p1" (optional). */
    void (*describe)(const void *attr, char *buf, size_t cap);
    llx_op_kernels kernels[LLX_DEVICE_COUNT]; /* .forward NULL: no kernel on that device */
};

/* Runs an op's kernel on c->backend; "no <device> kernel for op '<name>'" when missing. */
llx_status llx_op_forward(const llx_op_call *c, llx_error *err);
llx_status llx_op_backward(const llx_op_call *c, llx_error *err);

#endif
