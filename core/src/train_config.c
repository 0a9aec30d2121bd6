/* train_config.c: the data:, train: and eval: sections of an experiment.
 *
 *   data:
 *     train: {format: fer2013, root: "${FER2013}"}   # a source or a list of sources
 *     val:   {format: fer2013, root: "${FER2013}"}
 *     test:  {format: fer2013, root: "${FER2013}"}   # optional
 *     size: 48, channels: 3, pad: 4, flip: true, test_crops: ten, mean: [..], std: [..]
 *   train: {epochs: 60, batch: 256, lr: 0.01, momentum: 0.9, weight_decay: 5e-4,
 *           schedule: exponential, gamma: 0.9, seed: 1, device: auto,
 *           precision: bf16, loss_scale: auto}
 *   eval:  {select: abaw}
 */
#include <stdio.h>
#include <string.h>

#include "train_impl.h"

static const llx_key_spec data_keys[] = {
    {"train", LLX_KEY_ANY, NULL, "training sources"},
    {"val", LLX_KEY_ANY, NULL, "validation sources (model selection)"},
    {"test", LLX_KEY_ANY, "", "test sources (reported at the best epoch)"},
    {"size", LLX_KEY_INT, NULL, "network input height = width"},
    {"channels", LLX_KEY_INT, "3", "input channels: 1 or 3 (grey replicated)"},
    {"resize", LLX_KEY_INT, "0", "resize images to resize x resize first (0: keep)"},
    {"pad", LLX_KEY_INT, "0", "random crop from the image padded by this many pixels (train)"},
    {"random_crop", LLX_KEY_BOOL, "false", "random size x size crop of the (resized) image (train)"},
    {"flip", LLX_KEY_BOOL, "true", "random horizontal flip (train)"},
    {"test_crops", LLX_KEY_STRING, "center", "evaluation crops: none, center or ten (TenCrop, logits averaged)"},
    {"mean", LLX_KEY_ANY, "", "per-channel mean after scaling to [0,1] (default 0.5)"},
    {"std", LLX_KEY_ANY, "", "per-channel std (default 0.5)"},
    {"threads", LLX_KEY_INT, "0", "loader threads (0: one per core)"},
    {"cache", LLX_KEY_BOOL, "false", "keep decoded images in memory after the first epoch"},
    {0},
};

static const llx_key_spec train_keys[] = {
    {"epochs", LLX_KEY_INT, "10", "epochs"},
    {"batch", LLX_KEY_INT, "64", "batch size"},
    {"lr", LLX_KEY_FLOAT, "0.01", "base learning rate"},
    {"momentum", LLX_KEY_FLOAT, "0.9", "SGD momentum"},
    {"weight_decay", LLX_KEY_FLOAT, "5e-4", "L2 weight decay"},
    {"nesterov", LLX_KEY_BOOL, "false", "Nesterov momentum"},
    {"decay_bn_bias", LLX_KEY_BOOL, "true", "weight decay on BN parameters and biases too (PyTorch's default)"},
    {"schedule", LLX_KEY_STRING, "constant", "constant, step, exponential or cosine"},
    {"gamma", LLX_KEY_FLOAT, "0.1", "decay factor of step / exponential"},
    {"step_size", LLX_KEY_INT, "10", "epochs between steps (step)"},
    {"min_lr", LLX_KEY_FLOAT, "0", "final lr of cosine"},
    {"warmup_epochs", LLX_KEY_FLOAT, "0", "linear warm-up length in epochs"},
    {"warmup_start", LLX_KEY_FLOAT, "0.1", "warm-up starts at this fraction of lr"},
    {"seed", LLX_KEY_INT, "1", "seed of initialisation, order and augmentation"},
    {"device", LLX_KEY_STRING, "auto", "auto, cpu or cuda"},
    {"threads", LLX_KEY_INT, "0", "CPU threads (0: all cores)"},
    {"tf32", LLX_KEY_BOOL, "true", "GPU: TF32 tensor-core math in convolutions and linear layers (false: full fp32)"},
    {"precision", LLX_KEY_STRING, "fp32",
     "mixed precision: fp32, bf16 or fp16 operands and results of the convolutions (F32 accumulation, F32 "
     "tensors between ops and F32 master weights; GPU: cuDNN's half tensor cores, channels-last)"},
    {"loss_scale", LLX_KEY_ANY, "auto",
     "auto (dynamic for fp16, none otherwise), none, dynamic, or a number (static): the loss is scaled by it for "
     "backward and the gradients unscaled; a step with non-finite gradients is skipped"},
    {"class_weights", LLX_KEY_ANY, "", "loss weights: none, balanced, or 7 numbers"},
    {"init_from", LLX_KEY_STRING, "", "checkpoint to start from (fine-tuning; fc.* of another size is skipped)"},
    {0},
};

static const llx_key_spec eval_keys[] = {
    {"select", LLX_KEY_STRING, "accuracy", "validation metric that picks the best epoch"},
    {"batch", LLX_KEY_INT, "0", "evaluation batch in samples (0: the training batch / crops)"},
    {0},
};

/* A list of up to n numbers (mean/std); absent: fill. */
static llx_status read_floats(const llx_cfg *section, const char *key, float *out, int n, float fill, llx_error *err)
{
    const llx_cfg *v = section ? llx_cfg_get(section, key) : NULL;
    for (int i = 0; i < n; i++) out[i] = fill;
    if (!v || llx_cfg_kind_of(v) == LLX_CFG_NULL) return LLX_OK;
    char loc[512];
    if (llx_cfg_kind_of(v) != LLX_CFG_SEQ || (llx_cfg_len(v) != 1 && (int)llx_cfg_len(v) != n))
        return llx_errorf(err, LLX_ERR_INVALID, "%skey '%s': expected a list of 1 or %d numbers",
                          llx_cfg_loc_str(v, loc, sizeof loc), key, n);
    for (int i = 0; i < n; i++) {
        double d;
        LLX_TRY(llx_cfg_as_double(llx_cfg_at(v, llx_cfg_len(v) == 1 ? 0 : (size_t)i), key, &d, err));
        out[i] = (float)d;
    }
    return LLX_OK;
}

static llx_status read_data(const llx_cfg *d, train_config *c, llx_error *err)
{
    LLX_TRY(llx_schema_check(d, "data", data_keys, NULL, err));
    static const char *const split_keys[] = {"train", "val", "test"};
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const llx_cfg *src = d ? llx_cfg_get(d, split_keys[s]) : NULL;
        c->sources[s] = src && llx_cfg_kind_of(src) != LLX_CFG_NULL ? src : NULL;
        if (!c->sources[s] && s != SPLIT_TEST)
            return llx_errorf(err, LLX_ERR_INVALID, "data: missing '%s:' (the %s sources; see experiments/quickstart.yaml)",
                              split_keys[s], split_keys[s]);
    }
    int64_t size, ch, resize, pad, threads;
    bool random_crop, flip;
    int crops;
    static const char *const crop_names[] = {"none", "center", "ten", NULL};
    LLX_TRY(llx_schema_int(d, "data", data_keys, "size", &size, err));
    LLX_TRY(llx_schema_int(d, "data", data_keys, "channels", &ch, err));
    LLX_TRY(llx_schema_int(d, "data", data_keys, "resize", &resize, err));
    LLX_TRY(llx_schema_int(d, "data", data_keys, "pad", &pad, err));
    LLX_TRY(llx_schema_bool(d, "data", data_keys, "random_crop", &random_crop, err));
    LLX_TRY(llx_schema_bool(d, "data", data_keys, "flip", &flip, err));
    LLX_TRY(llx_schema_choice(d, "data", data_keys, "test_crops", crop_names, &crops, err));
    LLX_TRY(llx_schema_int(d, "data", data_keys, "threads", &threads, err));
    LLX_TRY(llx_schema_bool(d, "data", data_keys, "cache", &c->cache, err));
    llx_augment a = {.size = (int)size, .channels = (int)ch, .resize = (int)resize, .pad = (int)pad,
                     .random_crop = random_crop, .flip = flip, .crops = (llx_crops)crops};
    LLX_TRY(read_floats(d, "mean", a.mean, 3, 0.5f, err));
    LLX_TRY(read_floats(d, "std", a.std, 3, 0.5f, err));
    c->train_aug = a;
    c->eval_aug = a;
    c->loader_threads = (int)threads;
    return LLX_OK;
}

static llx_status read_class_weights(const llx_cfg *t, train_config *c, llx_error *err)
{
    const llx_cfg *w = t ? llx_cfg_get(t, "class_weights") : NULL;
    if (!w || llx_cfg_kind_of(w) == LLX_CFG_NULL) return LLX_OK;
    if (llx_cfg_kind_of(w) == LLX_CFG_SCALAR) {
        if (strcmp(llx_cfg_str(w), "none") == 0) return LLX_OK;
        if (strcmp(llx_cfg_str(w), "balanced") == 0) {
            c->balanced_weights = true;
            return LLX_OK;
        }
    }
    char loc[512];
    if (llx_cfg_kind_of(w) != LLX_CFG_SEQ || llx_cfg_len(w) != LLX_NUM_CLASSES)
        return llx_errorf(err, LLX_ERR_INVALID, "%skey 'class_weights': expected none, balanced or a list of %d numbers",
                          llx_cfg_loc_str(w, loc, sizeof loc), LLX_NUM_CLASSES);
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        LLX_TRY(llx_cfg_as_double(llx_cfg_at(w, (size_t)k), "class_weights", &c->class_weights[k], err));
    c->has_class_weights = true;
    return LLX_OK;
}

llx_status llx_train_read_precision(const llx_cfg *t, llx_precision *precision, llx_loss_scale_kind *kind,
                                    double *scale, llx_error *err)
{
    const char *names[LLX_PRECISION_COUNT + 1] = {NULL}; /* llx/precision.h's names, NULL-ended */
    for (int p = 0; p < LLX_PRECISION_COUNT; p++) names[p] = llx_precision_name((llx_precision)p);
    int p;
    LLX_TRY(llx_schema_choice(t, "train", train_keys, "precision", names, &p, err));
    *precision = (llx_precision)p;
    /* loss_scale: auto, none, dynamic or a positive number (static) */
    const llx_cfg *v = t ? llx_cfg_get(t, "loss_scale") : NULL;
    const char *text = v && llx_cfg_kind_of(v) == LLX_CFG_SCALAR ? llx_cfg_str(v) : "auto";
    *scale = 0;
    if (!v || llx_cfg_kind_of(v) == LLX_CFG_NULL || strcmp(text, "auto") == 0)
        *kind = *precision == LLX_PRECISION_F16 ? LLX_LOSS_SCALE_DYNAMIC : LLX_LOSS_SCALE_NONE;
    else if (strcmp(text, "none") == 0)
        *kind = LLX_LOSS_SCALE_NONE;
    else if (strcmp(text, "dynamic") == 0)
        *kind = LLX_LOSS_SCALE_DYNAMIC;
    else {
        char loc[512];
        if (llx_cfg_kind_of(v) != LLX_CFG_SCALAR || llx_cfg_as_double(v, "loss_scale", scale, NULL) != LLX_OK ||
            !(*scale > 0) || !(*scale < 0x1p127))
            return llx_errorf(err, LLX_ERR_INVALID,
                              "%skey 'loss_scale': expected auto, none, dynamic or a positive number, got '%s'",
                              llx_cfg_loc_str(v, loc, sizeof loc),
                              llx_cfg_kind_of(v) == LLX_CFG_SCALAR ? text : "a list or map");
        *kind = LLX_LOSS_SCALE_STATIC;
    }
    return LLX_OK;
}

static llx_status read_train(const llx_cfg *t, train_config *c, llx_error *err)
{
    LLX_TRY(llx_schema_check(t, "train", train_keys, NULL, err));
    int64_t epochs, batch, step, seed, threads;
    int kind;
    static const char *const kinds[] = {"constant", "step", "exponential", "cosine", NULL};
    _Static_assert(LLX_SCHEDULE_KIND_COUNT == 4, "schedule names");
    llx_schedule *s = &c->schedule;
    LLX_TRY(llx_schema_int(t, "train", train_keys, "epochs", &epochs, err));
    LLX_TRY(llx_schema_int(t, "train", train_keys, "batch", &batch, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "lr", &c->sgd.lr, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "momentum", &c->sgd.momentum, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "weight_decay", &c->sgd.weight_decay, err));
    LLX_TRY(llx_schema_bool(t, "train", train_keys, "nesterov", &c->sgd.nesterov, err));
    LLX_TRY(llx_schema_bool(t, "train", train_keys, "decay_bn_bias", &c->decay_bn_bias, err));
    LLX_TRY(llx_schema_choice(t, "train", train_keys, "schedule", kinds, &kind, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "gamma", &s->gamma, err));
    LLX_TRY(llx_schema_int(t, "train", train_keys, "step_size", &step, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "min_lr", &s->min_lr, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "warmup_epochs", &s->warmup_epochs, err));
    LLX_TRY(llx_schema_double(t, "train", train_keys, "warmup_start", &s->warmup_start, err));
    LLX_TRY(llx_schema_int(t, "train", train_keys, "seed", &seed, err));
    LLX_TRY(llx_schema_str(t, "train", train_keys, "device", &c->device, err));
    LLX_TRY(llx_schema_int(t, "train", train_keys, "threads", &threads, err));
    LLX_TRY(llx_schema_bool(t, "train", train_keys, "tf32", &c->tf32, err));
    LLX_TRY(llx_train_read_precision(t, &c->precision, &c->loss_scale, &c->loss_scale_value, err));
    if (epochs < 1 || batch < 1)
        return llx_errorf(err, LLX_ERR_INVALID, "train: epochs (%lld) and batch (%lld) must be positive",
                          (long long)epochs, (long long)batch);
    c->epochs = (int)epochs;
    c->batch = (int)batch;
    c->seed = (uint64_t)seed;
    c->threads = (int)threads;
    s->kind = (llx_schedule_kind)kind;
    s->lr = c->sgd.lr;
    s->step_size = (int)step;
    s->epochs = c->epochs;
    return read_class_weights(t, c, err);
}

static llx_status read_eval(const llx_cfg *e, train_config *c, llx_error *err)
{
    LLX_TRY(llx_schema_check(e, "eval", eval_keys, NULL, err));
    int64_t batch;
    LLX_TRY(llx_schema_str(e, "eval", eval_keys, "select", &c->select, err));
    LLX_TRY(llx_schema_int(e, "eval", eval_keys, "batch", &batch, err));
    llx_metrics probe = {0};
    double v;
    if (llx_metrics_get(&probe, c->select, &v) != 0) {
        const llx_cfg *at = e ? llx_cfg_get(e, "select") : NULL;
        char loc[512] = "";
        if (at) llx_cfg_loc_str(at, loc, sizeof loc);
        return llx_errorf(err, LLX_ERR_INVALID,
                          "%skey 'select': unknown metric '%s' (accuracy, macro_f1, abaw, f1_<class>, acc_<class>, ...)",
                          loc, c->select);
    }
    int crops = c->eval_aug.crops == LLX_CROPS_TEN ? 10 : 1;
    c->eval_batch = batch > 0 ? (int)batch : (c->batch / crops > 0 ? c->batch / crops : 1);
    return LLX_OK;
}

llx_status llx_train_config_read(const llx_cfg *root, train_config *c, llx_error *err)
{
    memset(c, 0, sizeof *c);
    const llx_cfg *data = llx_cfg_get(root, "data");
    if (!data) return llx_errorf(err, LLX_ERR_INVALID, "the experiment has no 'data:' section (see experiments/quickstart.yaml)");
    LLX_TRY(read_data(data, c, err));
    LLX_TRY(read_train(llx_cfg_get(root, "train"), c, err));
    return read_eval(llx_cfg_get(root, "eval"), c, err);
}
