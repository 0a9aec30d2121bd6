/* llx/checkpoint.h: network weights in HDF5, readable without llx.
 *
 *   /                     attributes: format ("llx-checkpoint"), format_version, llx_version,
 *                         epoch, experiment (the resolved YAML that built the network)
 *   /params/<dotted name> one float32 dataset per parameter and batch-norm buffer, in its shape
 *
 * Checkpoints written with the trainer (llx_checkpoint_save_trainer, what llx
 * run writes) also hold what resuming needs:
 *   /                     attributes first_step (0/1), best_value (float64, -inf: none yet),
 *                         best_epoch (0: none yet), seed, optimizer ("sgd"), rng (a note: the
 *                         loader's randomness is a function of (seed, epoch, index), so the
 *                         epoch attribute is the whole random state), loss_scale (float64, the
 *                         loss scaler's S, 1 without loss scaling) and loss_scale_good_steps
 *                         (its finite steps since S last changed; both absent in checkpoints
 *                         written before loss scaling, which resume with S as configured)
 *   /optimizer/<dotted name> the SGD velocity of each trainable parameter, float32, its shape
 *
 * Files are written to a temporary name and renamed, so a reader never sees a
 * half-written checkpoint. Loading checks the format version and that every
 * tensor of the network is there with its shape; the message names the first
 * one that is not. */
#ifndef LLX_CHECKPOINT_H
#define LLX_CHECKPOINT_H

#include <stdio.h>

#include "llx/graph.h"
#include "llx/train.h"

#define LLX_CHECKPOINT_VERSION 1

llx_status llx_checkpoint_save(llx_graph *g, const char *path, int epoch, const char *experiment_yaml,
                               llx_error *err);
/* Loads every parameter and buffer of g from path. skip_prefix (may be NULL):
 * tensors whose name starts with it may be missing or of another shape (a
 * classifier of another size when fine-tuning): they keep their values and a
 * note is written to *skipped (may be NULL) */
llx_status llx_checkpoint_load(llx_graph *g, const char *path, const char *skip_prefix, int *skipped,
                               llx_error *err);
/* llx_checkpoint_load that writes a line to log (may be NULL) for every
 * skipped tensor, naming it and both shapes (train.init_from). */
llx_status llx_checkpoint_init_from(llx_graph *g, const char *path, const char *skip_prefix, FILE *log, int *skipped,
                                    llx_error *err);

/* The weights, optimiser state and counters of a trainer (epoch = epochs done). */
llx_status llx_checkpoint_save_trainer(llx_trainer *t, const char *path, const char *experiment_yaml, llx_error *err);
/* Puts all of that back: the same network (else the message names the first
 * tensor that differs), the same seed; a weights-only checkpoint is refused. */
llx_status llx_checkpoint_load_trainer(llx_trainer *t, const char *path, llx_error *err);

/* The experiment YAML stored in a checkpoint (malloc'd) and its epoch. */
llx_status llx_checkpoint_read_experiment(const char *path, char **yaml, int *epoch, llx_error *err);

#endif
