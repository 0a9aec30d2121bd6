/* train_impl.h: the trainer's private state, shared by train_config.c (the
 * experiment's sections -> train_config) and train.c (the loop). */
#ifndef LLX_TRAIN_IMPL_H
#define LLX_TRAIN_IMPL_H

#include "llx/loader.h"
#include "llx/loss_scale.h"
#include "llx/schema.h"
#include "llx/train.h"

typedef struct train_config {
    /* train: */
    int epochs, batch, threads;
    uint64_t seed;
    const char *device;
    llx_sgd_params sgd;
    bool decay_bn_bias;
    bool tf32; /* GPU: TF32 math in convolutions and linear layers (backend.tf32) */
    llx_precision precision;        /* of the convolutions (backend.conv_precision) */
    llx_loss_scale_kind loss_scale; /* and its S (static) or first S (dynamic) */
    double loss_scale_value;
    llx_schedule schedule;
    bool balanced_weights;
    double class_weights[LLX_NUM_CLASSES];
    bool has_class_weights;
    /* data: */
    const llx_cfg *sources[3]; /* train, val, test (test may be NULL) */
    llx_augment train_aug, eval_aug;
    int loader_threads;
    bool cache;
    /* eval: */
    const char *select;
    int eval_batch;
} train_config;

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };

/* Reads and checks the data:, train: and eval: sections of the experiment root. */
llx_status llx_train_config_read(const llx_cfg *root, train_config *c, llx_error *err);

#endif
