/* llx/loader.h: batches of network input from a dataset, prepared ahead.
 *
 * Worker threads decode and augment the samples of the next batches while
 * the training step runs. Every random choice of a sample (crop offset,
 * flip) comes from a stream seeded by (seed, epoch, sample index), so a
 * batch is the same whatever the number of threads. A sample that cannot be
 * decoded is reported once with its path, counted, and replaced by the next
 * good sample of the epoch order; the epoch fails when more than the
 * dataset's `max_bad` fraction is bad. */
#ifndef LLX_LOADER_H
#define LLX_LOADER_H

#include <stdbool.h>

#include "llx/data.h"

typedef enum llx_crops {
    LLX_CROPS_NONE = 0, /* the whole (resized) image */
    LLX_CROPS_CENTER,   /* one centre crop of size x size */
    LLX_CROPS_TEN,      /* torchvision ten_crop: 10 crops per sample, logits averaged by the caller */
} llx_crops;

typedef struct llx_augment {
    int size;        /* network input height = width */
    int channels;    /* 1 or 3 */
    int resize;      /* first resize to resize x resize (0: keep) */
    int pad;         /* random crop from the image padded by pad pixels (train) */
    bool random_crop;/* train: crop size x size at a random position (after resize / pad) */
    bool flip;       /* train: horizontal flip with probability 1/2 */
    llx_crops crops; /* evaluation crops (ignored when training) */
    float mean[3], std[3];
} llx_augment;

typedef struct llx_loader llx_loader;

/* train: shuffled order per epoch and random augmentation; else the dataset
 * order and the evaluation crops. threads <= 0: one per core. cache: keep
 * decoded images in memory after the first epoch (small datasets). */
llx_status llx_loader_create(const llx_dataset *d, const llx_augment *aug, int batch, bool train, int threads,
                             uint64_t seed, bool cache, llx_loader **out, llx_error *err);
void llx_loader_free(llx_loader *l);

/* Starts epoch e (0-based): order and augmentation depend on (seed, e). */
llx_status llx_loader_start(llx_loader *l, int epoch, llx_error *err);
/* The next batch of the epoch: *x holds n * crops_per_sample images (C, H, W) as
 * float, *labels n canonical labels; *n = 0 at the end of the epoch. The buffers
 * stay valid until the next call. */
llx_status llx_loader_next(llx_loader *l, const float **x, const int32_t **labels, int *n, llx_error *err);
int llx_loader_crops_per_sample(const llx_loader *l);
/* The evaluation transform of one decoded image (what the loader does for a
 * validation sample): writes crops x channels x size x size floats to out. */
llx_status llx_augment_eval(const llx_augment *aug, const llx_image *im, float *out, llx_error *err);
int64_t llx_loader_batches(const llx_loader *l); /* per epoch */
int64_t llx_loader_bad(const llx_loader *l);     /* undecodable samples met so far */

#endif
