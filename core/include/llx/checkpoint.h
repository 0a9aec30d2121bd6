/* llx/checkpoint.h: network weights in HDF5, readable without llx.
 *
 *   /                     attributes: format ("llx-checkpoint"), format_version, llx_version,
 *                         epoch, experiment (the resolved YAML that built the network)
 *   /params/<dotted name> one float32 dataset per parameter and batch-norm buffer, in its shape
 *
 * Files are written to a temporary name and renamed, so a reader never sees a
 * half-written checkpoint. Loading checks the format version and that every
 * tensor of the network is there with its shape; the message names the first
 * one that is not. */
#ifndef LLX_CHECKPOINT_H
#define LLX_CHECKPOINT_H

#include "llx/graph.h"

#define LLX_CHECKPOINT_VERSION 1

llx_status llx_checkpoint_save(llx_graph *g, const char *path, int epoch, const char *experiment_yaml,
                               llx_error *err);
/* Loads every parameter and buffer of g from path. skip_prefix (may be NULL):
 * tensors whose name starts with it may be missing or of another shape (a
 * classifier of another size when fine-tuning): they keep their values and a
 * note is written to *skipped (may be NULL) */
llx_status llx_checkpoint_load(llx_graph *g, const char *path, const char *skip_prefix, int *skipped,
                               llx_error *err);
/* The experiment YAML stored in a checkpoint (malloc'd) and its epoch. */
llx_status llx_checkpoint_read_experiment(const char *path, char **yaml, int *epoch, llx_error *err);

#endif
