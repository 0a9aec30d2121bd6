/* llx/train.h: training and evaluating an experiment.
 *
 * A trainer reads the experiment's model:, data:, train: and eval: sections
 * (strict keys, defaults from their key lists), builds the network, opens the
 * datasets and loaders, and then runs epoch by epoch: SGD over the training
 * split, evaluation on the validation split, the best epoch chosen by a
 * named validation metric. */
#ifndef LLX_TRAIN_H
#define LLX_TRAIN_H

#include <stdio.h>

#include "llx/graph.h"
#include "llx/loader.h"
#include "llx/loss_scale.h"
#include "llx/metrics.h"

/* ---- learning-rate schedules ---- */
typedef enum llx_schedule_kind {
    LLX_SCHEDULE_CONSTANT = 0,
    LLX_SCHEDULE_STEP,        /* lr * gamma ^ floor(epoch / step_size) */
    LLX_SCHEDULE_EXPONENTIAL, /* lr * gamma ^ epoch (the LLAM paper: 0.9) */
    LLX_SCHEDULE_COSINE,      /* min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2, per step */
    LLX_SCHEDULE_KIND_COUNT
} llx_schedule_kind;

typedef struct llx_schedule {
    llx_schedule_kind kind;
    double lr, gamma, min_lr;
    int step_size;
    int epochs;           /* T of the cosine */
    double warmup_epochs; /* linear warm-up from warmup_start * lr, per step (0: none) */
    double warmup_start;
} llx_schedule;

/* lr at a fractional epoch (epoch + step / steps_per_epoch). Step-wise kinds
 * change at whole epochs, as PyTorch's schedulers stepped once per epoch. */
double llx_schedule_lr(const llx_schedule *s, double epoch);

/* ---- the trainer ---- */
typedef struct llx_trainer llx_trainer;

typedef struct llx_train_options {
    const char *device; /* NULL: the experiment's train.device */
    int threads;        /* CPU threads; 0: the experiment's, else all cores */
    FILE *log;          /* progress and notes (NULL: stderr) */
    bool live;          /* a live progress line (a terminal); else plain lines */
    int log_every;      /* plain lines every N batches (0: per epoch only) */
    bool eval_only;     /* open only the val and test data (llx eval) */
    bool no_data;       /* open no data at all (llx predict) */
    /* (optional) checked between batches: when *stop != 0 the epoch ends with
     * LLX_ERR_INVALID "stopped" and the weights are those of an unfinished epoch */
    const volatile int *stop;
    bool skip_init_from; /* ignore train.init_from (llx run --resume loads its own checkpoint) */
} llx_train_options;

typedef struct llx_epoch_result {
    int epoch; /* 1-based */
    double lr, train_loss, train_accuracy;
    double seconds;           /* wall clock of the epoch: training and evaluation */
    double images_per_second; /* training images per second of training */
    double val_loss;
    llx_metrics val;
    llx_confusion val_confusion;
    bool best; /* the best epoch so far by eval.select */
    /* loss scaling (train.loss_scale, llx/loss_scale.h): steps of this epoch skipped for
     * non-finite gradients, and S at its end (1 without loss scaling) */
    int64_t skipped_steps;
    double loss_scale;
} llx_epoch_result;

llx_status llx_trainer_create(const llx_registry *reg, const llx_doc *doc, const llx_train_options *o,
                              llx_trainer **out, llx_error *err);
void llx_trainer_free(llx_trainer *t);

/* Trains one epoch and evaluates on the validation split. */
llx_status llx_trainer_epoch(llx_trainer *t, llx_epoch_result *r, llx_error *err);
/* The train: section's (t, may be NULL) precision and loss_scale keys, checked as the trainer
 * reads them: the convolutions' precision, the loss scaling kind and its S (static) or 0. */
llx_status llx_train_read_precision(const llx_cfg *t, llx_precision *precision, llx_loss_scale_kind *kind,
                                    double *scale, llx_error *err);
/* Epochs done, and the experiment's total. */
int llx_trainer_epochs_done(const llx_trainer *t);
int llx_trainer_epochs_total(const llx_trainer *t);
/* Evaluates the current weights on a split ("val", "test"); loss may be NULL. */
llx_status llx_trainer_evaluate(llx_trainer *t, const char *split, llx_metrics *m, llx_confusion *c, double *loss,
                                llx_error *err);
llx_graph *llx_trainer_graph(llx_trainer *t);
/* The evaluation transform of this experiment (for llx predict). */
const llx_augment *llx_trainer_eval_augment(const llx_trainer *t);
/* Class probabilities (n x LLX_NUM_CLASSES, softmax of the logits averaged over
 * the crops) of n samples prepared by llx_augment_eval; n <= the eval batch. */
llx_status llx_trainer_predict(llx_trainer *t, const float *x, int n, double *probs, llx_error *err);
const char *llx_trainer_select_metric(const llx_trainer *t);
/* Host copies of every parameter and buffer and of the optimiser's state (velocities, first
 * step); restore puts them back (after a NaN loss: the last finished epoch's state, since the
 * steps before the NaN was read back may have moved the velocities too). */
llx_status llx_trainer_snapshot(llx_trainer *t, llx_error *err);
llx_status llx_trainer_restore_snapshot(llx_trainer *t, llx_error *err);

/* ---- resuming: everything that carries over from one epoch to the next ----
 * The weights and batch-norm statistics (graph values), the SGD velocity of
 * every parameter, and this state. The data order and augmentation are a pure
 * function of (seed, epoch, sample index) and the learning rate of (epoch,
 * step), so the epoch number is the whole random state. */
typedef struct llx_trainer_state {
    int epoch;         /* epochs done */
    bool first_step;   /* no SGD step taken yet (the velocity starts as the first gradient) */
    double best_value; /* best eval.select value so far (-inf: none yet) */
    int best_epoch;    /* its epoch (0: none yet) */
    double loss_scale; /* the loss scaler's S (llx/loss_scale.h); set_state: <= 0 keeps S */
    int64_t loss_scale_good_steps; /* and its finite steps since S last changed */
} llx_trainer_state;

void llx_trainer_get_state(const llx_trainer *t, llx_trainer_state *s);
llx_status llx_trainer_set_state(llx_trainer *t, const llx_trainer_state *s, llx_error *err);
/* The optimiser's state tensors: one SGD velocity per trainable parameter, in
 * the parameter's shape and dtype, named like it (on the trainer's device). */
int llx_trainer_optimizer_count(const llx_trainer *t);
llx_tensor *llx_trainer_optimizer_tensor(llx_trainer *t, int i);
/* The backend's name ("cpu") and description ("CPU, 2 threads"). */
const char *llx_trainer_device(const llx_trainer *t);
const char *llx_trainer_device_name(const llx_trainer *t);
/* The experiment's train.seed. */
uint64_t llx_trainer_seed(const llx_trainer *t);

#endif
