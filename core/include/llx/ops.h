/* llx/ops.h: the built-in primitive ops (layers/) and their attributes.
 *
 * Shapes are NCHW. Every op has CPU forward and backward kernels for F32
 * and F64 (F64 for finite-difference gradient checks). */
#ifndef LLX_OPS_H
#define LLX_OPS_H

#include "llx/op.h"

typedef enum llx_op_id {
    LLX_OP_CONV2D = 0,     /* x (N,C,H,W), w (O,C,KH,KW), [b (O)] -> (N,O,H',W') */
    LLX_OP_BATCHNORM2D,    /* x (N,C,H,W), gamma (C), beta (C), running_mean (C), running_var (C) */
    LLX_OP_RELU,           /* x -> max(x, 0) */
    LLX_OP_SIGMOID,        /* x -> 1 / (1 + exp(-x)) */
    LLX_OP_ADD,            /* a (N,C,H,W), b broadcast to a (each dim 1 or equal) -> a + b */
    LLX_OP_MUL,            /* a (N,C,H,W), b broadcast to a (each dim 1 or equal) -> a * b */
    LLX_OP_CONCAT,         /* x_i (N,C_i,H,W) -> (N, sum C_i, H, W) */
    LLX_OP_MAXPOOL2D,      /* x (N,C,H,W) -> (N,C,H',W') */
    LLX_OP_GLOBAL_AVGPOOL, /* x (N,C,H,W) -> (N,C,1,1) */
    LLX_OP_GLOBAL_MAXPOOL, /* x (N,C,H,W) -> (N,C,1,1) */
    LLX_OP_CHANNEL_MEAN,   /* x (N,C,H,W) -> (N,1,H,W) */
    LLX_OP_CHANNEL_MAX,    /* x (N,C,H,W) -> (N,1,H,W) */
    LLX_OP_CONV1D_CHANNELS,/* x (N,C,1,1), w (1,1,K) -> (N,C,1,1): 1-D conv along C (ECA) */
    LLX_OP_LINEAR,         /* x (N,F) or (N,C,H,W) flattened, w (O,F), [b (O)] -> (N,O) */
    LLX_OP_SOFTMAX_CE,     /* logits (N,K), labels (N) I32, [class weights (K)] -> loss (1) */
    LLX_OP_SIGMOID_GATE,   /* a (N,C,H,W), b broadcast to a -> a * sigmoid(b) (attention gates) */
    LLX_OP_COUNT
} llx_op_id;

/* The descriptor of a built-in op. */
const llx_op_desc *llx_builtin_op(llx_op_id id);

typedef struct llx_conv2d_attr {
    int stride_h, stride_w;
    int pad_h, pad_w;
} llx_conv2d_attr;

typedef struct llx_batchnorm2d_attr {
    double momentum; /* running = (1 - momentum) * running + momentum * batch (PyTorch) */
    double eps;
} llx_batchnorm2d_attr;

typedef struct llx_pool2d_attr {
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_h, pad_w; /* padded cells never win the max */
} llx_pool2d_attr;

typedef struct llx_conv1d_attr {
    int pad; /* zero padding on both ends of the channel axis, usually (K-1)/2 */
} llx_conv1d_attr;

typedef struct llx_softmax_ce_attr {
    int reduction_mean; /* 1: weighted mean over the batch (PyTorch); 0: sum */
} llx_softmax_ce_attr;

/* The SGD update over one parameter tensor (PyTorch semantics):
 *   g = grad + weight_decay * w
 *   v = momentum * v + g            (v = g on the first step, i.e. when first_step)
 *   step = nesterov ? g + momentum * v : v
 *   w -= lr * step                                                          */
typedef struct llx_sgd_params {
    double lr, momentum, weight_decay;
    bool nesterov;
} llx_sgd_params;

/* w, grad, velocity: same shape and dtype, all on backend's device. */
llx_status llx_sgd_update(llx_backend *be, const llx_sgd_params *p, bool first_step,
                          llx_tensor *w, const llx_tensor *grad, llx_tensor *velocity,
                          llx_error *err);

/* One SGD step over n parameter tensors (the optimiser's whole parameter list): on the GPU
 * one fused launch. velocity[i] may be NULL when momentum is 0; decay[i] false: no weight
 * decay for tensor i (decay NULL: every tensor decays). Same checks and arithmetic as
 * llx_sgd_update, tensor by tensor. */
llx_status llx_sgd_update_all(llx_backend *be, const llx_sgd_params *p, bool first_step, int n,
                              llx_tensor *const *w, const llx_tensor *const *grad,
                              llx_tensor *const *velocity, const bool *decay, llx_error *err);

/* Loss scaling's unscale step (llx/loss_scale.h) over a flat run of gradients: g[i] *=
 * inv_scale for the n = numel(grads) elements of grads (F32, on be's device), and found (one
 * F32 on be's device, zeroed by the caller) set to 1 when any g[i] is NaN or infinite (as
 * read, before scaling). One launch on the GPU; nothing waits. */
llx_status llx_grad_unscale(llx_backend *be, llx_tensor *grads, float inv_scale, llx_tensor *found,
                            llx_error *err);

/* Classifier statistics summed over batches on the backend's device, so that a training
 * loop can run on without waiting for each step: the host reads `acc` back only when it
 * prints or records them (llx_backend.to_host). acc: F64 (llx_batch_stats_len(K)) values on
 * be's device, zeroed by the caller to start a sum:
 *   [t * K + p]                     samples of true class t predicted as class p
 *   [K * K + LLX_STATS_LOSS_SUM]    sum over batches of loss * samples
 *   [K * K + LLX_STATS_BATCHES]     batches added
 *   [K * K + LLX_STATS_FIRST_BAD]   the first of them (counting from 1) whose loss was NaN or
 *                                   infinite; 0: none yet
 * logits (R, K) F32 or F64 with R = samples * crops: the `crops` rows of a sample follow each
 * other, and its prediction is the first largest entry of the sum of its rows (summed in
 * double, in row order; TenCrop's mean; a NaN sum never wins, all NaN: class 0). labels (R) I32: a sample's label is its first row's;
 * a label outside [0, K) counts in no cell. loss: one value of logits' dtype. */
enum { LLX_STATS_LOSS_SUM, LLX_STATS_BATCHES, LLX_STATS_FIRST_BAD, LLX_STATS_TAIL };
static inline int64_t llx_batch_stats_len(int64_t classes) { return classes * classes + LLX_STATS_TAIL; }

llx_status llx_batch_stats_add(llx_backend *be, const llx_tensor *logits, const llx_tensor *labels,
                               const llx_tensor *loss, int crops, llx_tensor *acc, llx_error *err);

#endif
