/* test_train.c: training end to end on the built-in synthetic faces, and the
 * pieces a run relies on: the loader's batches (deterministic whatever the
 * thread count, TenCrop counts), the learning-rate schedules, NaN handling,
 * experiment-section errors, and checkpoints that round-trip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture_tree.h"
#include "llx/checkpoint.h"
#include "llx/llx.h"
#include "llx_fixture.h"
#include "llx/train.h"

static llx_registry *reg;

static char *data_root;

/* A learnable 7-class image folder: class k has brightness 20 + 30 k plus noise, 16x16 PNG. */
static int make_dataset(void)
{
    data_root = fixture_tmpdir("llx_train");
    uint64_t s = 99;
    for (int k = 0; k < LLX_NUM_CLASSES && data_root; k++)
        for (int i = 0; i < 60; i++) {
            uint8_t px[16 * 16];
            for (int p = 0; p < 256; p++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                px[p] = (uint8_t)(20 + 30 * k + (int)((s >> 33) % 41) - 20 + 10);
            }
            llx_image im = {.width = 16, .height = 16, .channels = 1, .data = px};
            char path[512];
            llx_error err;
            fixture_path(path, sizeof path, "%s/%s/%s/%d.png", data_root, i < 45 ? "train" : "val",
                         llx_class_name(k), i);
            if (fixture_mkdirs(fixture_path((char[512]){0}, 512, "%s/%s/%s", data_root, i < 45 ? "train" : "val",
                                            llx_class_name(k))) != 0 ||
                llx_image_save_png(path, &im, &err) != LLX_OK)
                return 0;
        }
    return data_root != NULL;
}

/* A width-8 ResNet on 16x16 grey images; extra is appended to the train: section. */
static char *experiment(const char *train_extra)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "model:\n"
             "  input: [1, 16, 16]\n"
             "  layers:\n"
             "    - {type: conv2d, name: conv1, out: 8, bias: false}\n"
             "    - {type: batchnorm2d, name: bn1}\n"
             "    - {type: relu}\n"
             "    - {type: basic_block, name: layer1.0, out: 8, attention: se}\n"
             "    - {type: basic_block, name: layer2.0, out: 16, stride: 2}\n"
             "    - {type: basic_block, name: layer3.0, out: 32, stride: 2}\n"
             "    - {type: global_avgpool}\n"
             "    - {type: linear, name: fc, out: 7}\n"
             "data:\n"
             "  train: {format: imagefolder, root: %s}\n"
             "  val: {format: imagefolder, root: %s}\n"
             "  test: {format: imagefolder, root: %s, split: {test: val}}\n"
             "  size: 16\n  channels: 1\n  pad: 2\n  cache: true\n"
             "train: {epochs: 4, batch: 16, lr: 0.05, schedule: cosine, seed: 3, threads: 2%s}\n"
             "eval: {select: macro_f1}\n",
             data_root, data_root, data_root, train_extra);
    return text;
}

static llx_trainer *open_trainer(const char *text, llx_doc **doc, llx_error *err)
{
    llx_trainer *t = NULL;
    llx_train_options o = {.log = stderr};
    if (llx_doc_parse("train.yaml", text, NULL, 0, doc, err) != LLX_OK) return NULL;
    if (llx_trainer_create(reg, *doc, &o, &t, err) != LLX_OK) return NULL;
    return t;
}

static void test_training_learns(void)
{
    llx_doc *doc;
    llx_error err = {0};
    llx_trainer *t = open_trainer(experiment(""), &doc, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    double first_loss = 0, last_loss = 0, best = 0;
    for (int e = 0; e < 4; e++) {
        llx_epoch_result r;
        CHECK_MSG(llx_trainer_epoch(t, &r, &err) == LLX_OK, "%s", err.msg);
        if (e == 0) first_loss = r.train_loss;
        last_loss = r.train_loss;
        best = fmax(best, r.val.accuracy);
        printf("     epoch %d: train loss %.3f acc %.3f, val acc %.3f F1 %.3f (%.0f img/s)\n", r.epoch, r.train_loss,
               r.train_accuracy, r.val.accuracy, r.val.macro_f1, r.images_per_second);
    }
    CHECK_MSG(last_loss < 0.8 * first_loss, "loss %.3f -> %.3f", first_loss, last_loss);
    CHECK_MSG(best > 0.6, "best val accuracy %.3f (chance 0.14)", best);
    /* the checkpoint round trip gives the same evaluation */
    char path[] = "/tmp/llx_test_ckpt_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    llx_metrics before, after;
    CHECK(llx_trainer_evaluate(t, "test", &before, NULL, NULL, &err) == LLX_OK);
    CHECK_MSG(llx_checkpoint_save(llx_trainer_graph(t), path, 4, "model: {}", &err) == LLX_OK, "%s", err.msg);
    llx_graph *g = llx_trainer_graph(t);
    float *w = llx_graph_value(g, llx_graph_find(g, "fc.weight"))->data;
    float keep = w[0];
    w[0] += 1.0f;
    CHECK_MSG(llx_checkpoint_load(g, path, NULL, NULL, &err) == LLX_OK, "%s", err.msg);
    CHECK(w[0] == keep);
    CHECK(llx_trainer_evaluate(t, "test", &after, NULL, NULL, &err) == LLX_OK);
    CHECK(before.accuracy == after.accuracy);
    char *yaml;
    int epoch;
    CHECK(llx_checkpoint_read_experiment(path, &yaml, &epoch, &err) == LLX_OK && epoch == 4);
    CHECK(yaml && strcmp(yaml, "model: {}") == 0);
    free(yaml);
    unlink(path);
    llx_trainer_free(t);
    llx_doc_free(doc);
}

/* Mixed precision (train.precision, train.loss_scale): bf16 and fp16 convolutions learn as
 * F32 does; fp16 scales the loss dynamically from 2^16 and bf16 not at all; the loss scale
 * survives a checkpoint; a static scale that overflows skips every step and leaves the
 * weights as they were. */
static void test_mixed_precision(void)
{
    static const char *const extras[] = {", precision: bf16", ", precision: fp16"};
    static const double scales[] = {1, 65536};
    for (int k = 0; k < 2; k++) {
        llx_doc *doc;
        llx_error err = {0};
        llx_trainer *t = open_trainer(experiment(extras[k]), &doc, &err);
        CHECK_MSG(t != NULL, "%s", err.msg);
        if (!t) return;
        double best = 0;
        llx_epoch_result r = {0};
        for (int e = 0; e < 4; e++) {
            CHECK_MSG(llx_trainer_epoch(t, &r, &err) == LLX_OK, "%s", err.msg);
            best = fmax(best, r.val.accuracy);
        }
        printf("     %s: last train loss %.3f, best val acc %.3f, loss scale %g, %lld steps skipped in the last epoch\n",
               extras[k] + 2, r.train_loss, best, r.loss_scale, (long long)r.skipped_steps);
        CHECK_MSG(best > 0.6, "%s: best val accuracy %.3f (chance 0.14)", extras[k], best);
        CHECK(r.loss_scale == scales[k] && r.skipped_steps == 0);
        if (k == 1) {
            char path[] = "/tmp/llx_test_ckpt_XXXXXX";
            close(mkstemp(path));
            llx_trainer_state s;
            llx_trainer_get_state(t, &s);
            s.loss_scale = 1024, s.loss_scale_good_steps = 7;
            CHECK(llx_trainer_set_state(t, &s, &err) == LLX_OK);
            CHECK_MSG(llx_checkpoint_save_trainer(t, path, "model: {}", &err) == LLX_OK, "%s", err.msg);
            llx_doc *doc2;
            llx_trainer *t2 = open_trainer(experiment(extras[k]), &doc2, &err);
            CHECK(t2 && llx_checkpoint_load_trainer(t2, path, &err) == LLX_OK);
            if (t2) llx_trainer_get_state(t2, &s);
            CHECK(t2 && s.loss_scale == 1024 && s.loss_scale_good_steps == 7);
            llx_trainer_free(t2);
            llx_doc_free(doc2);
            unlink(path);
        }
        llx_trainer_free(t);
        llx_doc_free(doc);
    }
    llx_doc *doc;
    llx_error err = {0};
    llx_trainer *t = open_trainer(experiment(", precision: fp16, loss_scale: 1e30"), &doc, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    llx_graph *g = llx_trainer_graph(t);
    llx_tensor *w = llx_graph_value(g, llx_graph_find(g, "conv1.weight"));
    float keep = ((float *)w->data)[0];
    llx_epoch_result r;
    CHECK_MSG(llx_trainer_epoch(t, &r, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(r.skipped_steps == 315 / 16 + 1 && r.loss_scale == 1e30, "%lld skipped, scale %g",
              (long long)r.skipped_steps, r.loss_scale);
    CHECK(((float *)w->data)[0] == keep);
    llx_trainer_free(t);
    llx_doc_free(doc);
    CHECK(open_trainer(experiment(", loss_scale: lots"), &doc, &err) == NULL);
    CHECK_CONTAINS(err.msg, "train.yaml:20:");
    CHECK_CONTAINS(err.msg, "key 'loss_scale': expected auto, none, dynamic or a positive number, got 'lots'");
    llx_doc_free(doc);
    CHECK(open_trainer(experiment(", precision: fp8"), &doc, &err) == NULL);
    CHECK_CONTAINS(err.msg, "precision");
    llx_doc_free(doc);
}

static void test_nan_stops_with_epoch_and_step(void)
{
    llx_doc *doc;
    llx_error err = {0};
    const char *huge[] = {"train.lr=1e30"};
    llx_trainer *t = NULL;
    llx_train_options o = {.log = stderr};
    CHECK(llx_doc_parse("train.yaml", experiment(""), huge, 1, &doc, &err) == LLX_OK);
    CHECK_MSG(llx_trainer_create(reg, doc, &o, &t, &err) == LLX_OK, "%s", err.msg);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    llx_epoch_result r;
    llx_status st = llx_trainer_epoch(t, &r, &err);
    CHECK(st == LLX_ERR_NUMERIC);
    CHECK_CONTAINS(err.msg, "epoch 1, step");
    CHECK_CONTAINS(err.msg, "the loss is");
    llx_trainer_free(t);
    llx_doc_free(doc);
}

/* A NaN in epoch 2 (fc.weight poisoned after epoch 1): the error names epoch 2, step 1 (the
 * loss is read back later than that step, the first bad batch is counted on the device), and
 * the trainer is back at epoch 1's end: weights and every SGD velocity as they were. */
static void test_nan_later_restores_epoch_state(void)
{
    llx_doc *doc;
    llx_error err = {0};
    llx_trainer *t = open_trainer(experiment(""), &doc, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t) return;
    llx_epoch_result r;
    CHECK_MSG(llx_trainer_epoch(t, &r, &err) == LLX_OK, "%s", err.msg);
    llx_graph *g = llx_trainer_graph(t);
    llx_tensor *w = llx_graph_value(g, llx_graph_find(g, "fc.weight"));
    int64_t nw = llx_tensor_numel(w), nv = 0;
    float *keep_w = malloc((size_t)nw * sizeof *keep_w);
    memcpy(keep_w, w->data, (size_t)nw * sizeof *keep_w);
    for (int i = 0; i < llx_trainer_optimizer_count(t); i++) nv += llx_tensor_numel(llx_trainer_optimizer_tensor(t, i));
    float *keep_v = malloc((size_t)nv * sizeof *keep_v), *now_v = malloc((size_t)nv * sizeof *now_v);
    for (int i = 0, at = 0; i < llx_trainer_optimizer_count(t); i++) {
        const llx_tensor *v = llx_trainer_optimizer_tensor(t, i);
        memcpy(keep_v + at, v->data, llx_tensor_bytes(v));
        at += (int)llx_tensor_numel(v);
    }
    for (int64_t k = 0; k < nw; k++) ((float *)w->data)[k] = NAN;
    CHECK(llx_trainer_epoch(t, &r, &err) == LLX_ERR_NUMERIC);
    CHECK_CONTAINS(err.msg, "epoch 2, step 1: the loss is not finite");
    CHECK(llx_trainer_epochs_done(t) == 1);
    CHECK(memcmp(w->data, keep_w, (size_t)nw * sizeof *keep_w) == 0);
    for (int i = 0, at = 0; i < llx_trainer_optimizer_count(t); i++) {
        const llx_tensor *v = llx_trainer_optimizer_tensor(t, i);
        memcpy(now_v + at, v->data, llx_tensor_bytes(v));
        at += (int)llx_tensor_numel(v);
    }
    CHECK_MSG(nv > 0 && memcmp(now_v, keep_v, (size_t)nv * sizeof *keep_v) == 0,
              "the SGD velocities differ from epoch 1's after the NaN");
    free(keep_w);
    free(keep_v);
    free(now_v);
    llx_trainer_free(t);
    llx_doc_free(doc);
}

static void test_section_errors(void)
{
    llx_doc *doc;
    llx_error err = {0};
    CHECK(open_trainer(experiment(", lr_decay: 0.9"), &doc, &err) == NULL);
    CHECK_CONTAINS(err.msg, "train.yaml:20:");
    CHECK_CONTAINS(err.msg, "unknown key 'lr_decay' in train");
    llx_doc_free(doc);
    const char *bad_schedule[] = {"train.schedule=cosin"}, *bad_batch[] = {"train.batch=many"};
    llx_trainer *t = NULL;
    llx_train_options o = {.log = stderr};
    CHECK(llx_doc_parse("train.yaml", experiment(""), bad_schedule, 1, &doc, &err) == LLX_OK);
    CHECK(llx_trainer_create(reg, doc, &o, &t, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "did you mean 'cosine'");
    llx_doc_free(doc);
    CHECK(llx_doc_parse("train.yaml", experiment(""), bad_batch, 1, &doc, &err) == LLX_OK);
    CHECK(llx_trainer_create(reg, doc, &o, &t, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "key 'batch': expected an integer");
    llx_doc_free(doc);
}

static void test_schedules(void)
{
    llx_schedule s = {.kind = LLX_SCHEDULE_STEP, .lr = 0.1, .gamma = 0.1, .step_size = 10};
    CHECK_NEAR(llx_schedule_lr(&s, 9.9), 0.1, 1e-15);
    CHECK_NEAR(llx_schedule_lr(&s, 10), 0.01, 1e-15);
    s = (llx_schedule){.kind = LLX_SCHEDULE_EXPONENTIAL, .lr = 0.01, .gamma = 0.9};
    CHECK_NEAR(llx_schedule_lr(&s, 2.5), 0.01 * 0.81, 1e-15);
    s = (llx_schedule){.kind = LLX_SCHEDULE_COSINE, .lr = 0.1, .min_lr = 0, .epochs = 10};
    CHECK_NEAR(llx_schedule_lr(&s, 0), 0.1, 1e-15);
    CHECK_NEAR(llx_schedule_lr(&s, 5), 0.05, 1e-15);
    CHECK_NEAR(llx_schedule_lr(&s, 10), 0, 1e-15);
    s = (llx_schedule){.kind = LLX_SCHEDULE_CONSTANT, .lr = 0.1, .warmup_epochs = 2, .warmup_start = 0.1};
    CHECK_NEAR(llx_schedule_lr(&s, 0), 0.01, 1e-15);
    CHECK_NEAR(llx_schedule_lr(&s, 1), 0.055, 1e-15);
    CHECK_NEAR(llx_schedule_lr(&s, 2), 0.1, 1e-15);
}

/* The same batches whatever the number of loader threads; TenCrop gives 10 crops a sample. */
static void test_loader(void)
{
    llx_doc *doc;
    llx_error err = {0};
    CHECK(llx_doc_parse("d.yaml", "src: {format: synthetic, count: 50, size: 20}\n", NULL, 0, &doc, &err) == LLX_OK);
    llx_dataset *d;
    CHECK_MSG(llx_dataset_open(llx_cfg_get(llx_doc_root(doc), "src"), "train", 5, &d, &err) == LLX_OK, "%s", err.msg);
    llx_augment a = {.size = 16, .channels = 3, .pad = 2, .random_crop = true, .flip = true,
                     .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
    float *first = NULL;
    size_t floats = 0;
    for (int threads = 1; threads <= 3; threads += 2) {
        llx_loader *l;
        CHECK(llx_loader_create(d, &a, 16, true, threads, 9, false, &l, &err) == LLX_OK);
        CHECK(llx_loader_batches(l) == 4);
        CHECK(llx_loader_start(l, 1, &err) == LLX_OK);
        const float *x;
        const int32_t *y;
        int n, total = 0, batches = 0;
        for (;;) {
            CHECK(llx_loader_next(l, &x, &y, &n, &err) == LLX_OK);
            if (n == 0) break;
            if (batches == 2) { /* the third batch, kept to compare */
                floats = (size_t)n * 3 * 16 * 16;
                if (!first) {
                    first = malloc(floats * sizeof *first);
                    memcpy(first, x, floats * sizeof *first);
                } else {
                    CHECK(memcmp(first, x, floats * sizeof *first) == 0);
                }
            }
            total += n;
            batches++;
        }
        CHECK(total == 50 && batches == 4);
        llx_loader_free(l);
    }
    free(first);
    /* an evaluation batch holds exactly the dataset's samples in order, with their labels */
    llx_augment plain = {.size = 20, .channels = 1, .crops = LLX_CROPS_NONE, .mean = {0}, .std = {1}};
    llx_loader *e;
    CHECK(llx_loader_create(d, &plain, 16, false, 2, 9, false, &e, &err) == LLX_OK);
    CHECK(llx_loader_start(e, 0, &err) == LLX_OK);
    const float *ex;
    const int32_t *ey;
    int en;
    CHECK(llx_loader_next(e, &ex, &ey, &en, &err) == LLX_OK && en == 16);
    for (int j = 0; j < en; j++) {
        llx_image im;
        CHECK(llx_dataset_load(d, (size_t)j, &im, &err) == LLX_OK);
        CHECK(ey[j] == llx_dataset_sample(d, (size_t)j)->label);
        int diff = 0;
        for (int p = 0; p < 400; p++) diff += fabsf(ex[j * 400 + p] - im.data[p] / 255.0f) > 1e-6f;
        CHECK_MSG(diff == 0, "sample %d: %d pixels differ", j, diff);
        llx_image_free(&im);
    }
    llx_loader_free(e);
    a.crops = LLX_CROPS_TEN;
    llx_loader *l;
    CHECK(llx_loader_create(d, &a, 8, false, 2, 9, false, &l, &err) == LLX_OK);
    CHECK(llx_loader_crops_per_sample(l) == 10);
    CHECK(llx_loader_start(l, 0, &err) == LLX_OK);
    const float *x;
    const int32_t *y;
    int n;
    CHECK(llx_loader_next(l, &x, &y, &n, &err) == LLX_OK && n == 8);
    llx_loader_free(l);
    llx_dataset_free(d);
    llx_doc_free(doc);
}

int main(void)
{
    if (!(reg = fixture_registry_open(NULL))) return 1;
    if (!make_dataset()) {
        fprintf(stderr, "setup: cannot write the image folder\n");
        return 1;
    }
    RUN(test_schedules);
    RUN(test_loader);
    RUN(test_section_errors);
    RUN(test_nan_stops_with_epoch_and_step);
    RUN(test_nan_later_restores_epoch_state);
    RUN(test_training_learns);
    RUN(test_mixed_precision);
    fixture_rmtree(data_root);
    free(data_root);
    fixture_registry_close(reg);
    return check_report();
}
