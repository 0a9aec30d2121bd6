/* llx/data.h: images, datasets and the canonical expression classes.
 *
 * Every dataset maps its labels to the 7 canonical classes, in the order
 * ABAW uses: 0 neutral, 1 anger, 2 disgust, 3 fear, 4 happiness, 5 sadness,
 * 6 surprise. Samples are read lazily (files) or from memory (CSV pixels,
 * synthetic faces); a sample that cannot be decoded is reported with its
 * path and counted, never fatal on its own. */
#ifndef LLX_DATA_H
#define LLX_DATA_H

#include <stdint.h>

#include "llx/config.h"
#include "llx/status.h"

#define LLX_NUM_CLASSES 7

typedef enum llx_class {
    LLX_NEUTRAL = 0,
    LLX_ANGER,
    LLX_DISGUST,
    LLX_FEAR,
    LLX_HAPPINESS,
    LLX_SADNESS,
    LLX_SURPRISE,
} llx_class;

/* "neutral", "anger", ...; llx_class_from_name also accepts the datasets'
 * own spellings (angry, happy, sad, surprised, ...); -1 when unknown. */
const char *llx_class_name(int cls);
int llx_class_from_name(const char *name);

/* ---- images ---- */
typedef struct llx_image {
    int width, height;
    int channels;  /* 1 (grey) or 3 (RGB) */
    uint8_t *data; /* height x width x channels, row-major, malloc'd (owned) */
} llx_image;

/* JPEG (libjpeg-turbo) or PNG (libpng), told apart by their first bytes.
 * Errors name the path and the decoder's reason. */
llx_status llx_image_load(const char *path, llx_image *out, llx_error *err);
llx_status llx_image_decode(const uint8_t *bytes, size_t len, const char *name, llx_image *out,
                            llx_error *err);
llx_status llx_image_save_png(const char *path, const llx_image *im, llx_error *err);
/* Baseline JPEG, quality 1..100 (tests write fixture trees with it). */
llx_status llx_image_save_jpeg(const char *path, const llx_image *im, int quality,
                               llx_error *err);
void llx_image_free(llx_image *im);

/* ---- datasets ---- */
typedef struct llx_sample {
    int32_t label;  /* canonical class */
    int32_t source; /* which source of the dataset it came from */
    int32_t video;  /* video (or subject) id for frame subsampling, -1 when none */
    int32_t frame;  /* frame number within the video, -1 when none */
    int64_t item;   /* the source's own index of the sample (file list row, CSV row) */
} llx_sample;

typedef struct llx_dataset llx_dataset;

/* Opens the sources of one split. `sources` is a map (one source) or a list of maps:
 *   {format: imagefolder|fer2013|affwild2|rafdb|affectnet|synthetic,
 *    root: PATH, split: train|val|test (the source's own split name may differ: see
 *    each format), classes: [anger, disgust] (keep only these), subsample: {neutral: 12}
 *    (keep one frame in k within runs of the same video and label), ...format keys}
 * Errors name the YAML location; a missing root says which variable to set. */
llx_status llx_dataset_open(const llx_cfg *sources, const char *split, uint64_t seed,
                            llx_dataset **out, llx_error *err);
void llx_dataset_free(llx_dataset *d);

size_t llx_dataset_size(const llx_dataset *d);
const llx_sample *llx_dataset_sample(const llx_dataset *d, size_t i);
/* A description of sample i for messages: its file path, or "fer2013.csv row 17". */
const char *llx_dataset_describe(const llx_dataset *d, size_t i, char *buf, size_t cap);
/* Decodes sample i. Thread-safe (loader threads call it concurrently). */
llx_status llx_dataset_load(const llx_dataset *d, size_t i, llx_image *out, llx_error *err);
/* Samples per canonical class. */
void llx_dataset_class_counts(const llx_dataset *d, int64_t counts[LLX_NUM_CLASSES]);

/* What opening dropped, summed over the sources (in the order the filters run). The type
 * is not called llx_dataset_stats: C puts typedef and function names in one namespace. */
typedef struct llx_data_stats {
    int64_t kept;              /* samples in the dataset (llx_dataset_size) */
    int64_t dropped_invalid;   /* label -1 or unusable (Aff-Wild2 -1, FER+ no majority, ...) */
    int64_t dropped_class;     /* label outside the 7 classes (Aff-Wild2 7 Other, AffectNet
                                  7-10, FER+ contempt/unknown/NF, folders like 'contempt')
                                  or outside the source's `classes` */
    int64_t dropped_missing;   /* labelled frame or row whose image file does not exist */
    int64_t dropped_subsample; /* removed by `subsample` */
    int64_t dropped_limit;     /* removed by `limit` */
} llx_data_stats;
void llx_dataset_stats(const llx_dataset *d, llx_data_stats *out);
/* Fraction of samples that may fail to decode before training stops (`max_bad`,
 * default 0.01; the strictest value when several sources set it). */
double llx_dataset_max_bad(const llx_dataset *d);

#endif
