/* llx/loss_scale.h: loss scaling for mixed precision (llx/precision.h).
 *
 * F16 keeps no value below 2^-24, so the small gradients of a convolution's backward pass
 * flush to zero. Loss scaling multiplies the loss's gradient by S before backward (the seed
 * of llx_graph_backward_seed), which lifts every gradient by S, and divides the parameter
 * gradients by S after it (llx_grad_unscale) before the optimiser sees them. A step whose
 * gradients hold a NaN or an infinity (F16 overflows past 65504) is skipped. Kinds:
 *   none     S = 1, nothing is checked (F32 and BF16, which has F32's range)
 *   static   S fixed; non-finite steps are skipped
 *   dynamic  S starts at 2^16, halves at each non-finite step (which is skipped) and doubles
 *            after growth_interval (2000) finite steps in a row, as PyTorch's GradScaler
 * The check reads one flag back from the device per step: the host waits for the step. */
#ifndef LLX_LOSS_SCALE_H
#define LLX_LOSS_SCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "llx/backend.h"
#include "llx/graph.h"
#include "llx/status.h"
#include "llx/tensor.h"

typedef enum llx_loss_scale_kind {
    LLX_LOSS_SCALE_NONE = 0,
    LLX_LOSS_SCALE_STATIC,
    LLX_LOSS_SCALE_DYNAMIC
} llx_loss_scale_kind;

#define LLX_LOSS_SCALE_INIT 65536.0          /* dynamic: the first S, 2^16 */
#define LLX_LOSS_SCALE_GROWTH_INTERVAL 2000  /* dynamic: finite steps before S doubles */
#define LLX_LOSS_SCALE_MIN 0x1p-24           /* dynamic: below this S the gradients are not
                                                finite by themselves: an error */

typedef struct llx_loss_scaler {
    llx_loss_scale_kind kind;
    double scale;       /* S */
    int64_t good_steps; /* dynamic: finite steps since S last changed */
    int64_t skipped;    /* steps skipped so far for non-finite gradients */
    int64_t growth_interval;
    llx_backend *be;
    llx_tensor found; /* one F32 on be's device: the unscale step's non-finite flag */
} llx_loss_scaler;

/* kind with S = scale (static; dynamic: the first S, <= 0 for LLX_LOSS_SCALE_INIT; none:
 * ignored, S = 1). Allocates the flag on be. */
llx_status llx_loss_scaler_init(llx_loss_scaler *s, llx_backend *be, llx_loss_scale_kind kind, double scale,
                                llx_error *err);
void llx_loss_scaler_free(llx_loss_scaler *s);

/* The seed for backward: d(loss)/d(loss) = S. */
static inline float llx_loss_scaler_seed(const llx_loss_scaler *s) { return (float)s->scale; }

/* After backward: divides grads (llx_graph_param_grads) by S and reads whether they are all
 * finite. *take_step: true when the optimiser should step; false when the step is skipped
 * (S then backs off, dynamic). Kind none: *take_step true, nothing runs. LLX_ERR_NUMERIC
 * when dynamic S has fallen below LLX_LOSS_SCALE_MIN. */
llx_status llx_loss_scaler_unscale(llx_loss_scaler *s, llx_tensor *grads, bool *take_step, llx_error *err);

/* A training step's backward with loss scaling: backward from the loss node of g seeded with
 * S, then llx_loss_scaler_unscale over all of g's parameter gradients (llx_graph_param_grads).
 * Zero the gradients first (llx_graph_zero_grad); *take_step as above. */
llx_status llx_loss_scaler_backward(llx_loss_scaler *s, llx_graph *g, llx_node_id loss, bool *take_step,
                                    llx_error *err);

/* "none", "static", "dynamic". */
const char *llx_loss_scale_kind_name(llx_loss_scale_kind k);

#endif
