/* train.c: the training loop (see llx/train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llx/checkpoint.h"
#include "train_impl.h"

struct llx_trainer {
    train_config cfg;
    llx_train_options opt;
    llx_backend *be;
    llx_graph *g;
    llx_node_id logits, loss;
    int64_t graph_batch;
    llx_dataset *data[SPLIT_COUNT];
    llx_loader *train_loader, *eval_loader[SPLIT_COUNT];
    /* parameters and their optimiser state */
    int n_params;
    llx_node_id *params;
    bool *decay;
    llx_tensor *velocity;
    llx_tensor **w_list, **grad_list, **velocity_list; /* the n_params tensors, for llx_sgd_update_all */
    void *velocity_arena;
    bool first_step;
    llx_loss_scaler scaler; /* train.loss_scale (none unless mixed precision asks) */
    int epoch; /* epochs done */
    double best_value;
    int best_epoch;
    void **snapshot; /* per node, host copies of parameters and buffers */
    void *velocity_snapshot; /* host copy of the velocity arena (velocity_bytes) */
    size_t velocity_bytes;
    bool snapshot_first_step;
    float *host_logits; /* llx_trainer_predict's logits */
    /* Confusion counts and loss of the batches so far, summed on the device
     * (llx_batch_stats_add) and read back only when printed or returned. */
    llx_tensor stats;
    double host_stats[LLX_NUM_CLASSES * LLX_NUM_CLASSES + LLX_STATS_TAIL];
};

/* While training, the host reads the device's running figures when a progress line is due
 * and at least this often (seconds), so a NaN loss stops the epoch soon after it appears. */
#define STATS_READ_EVERY_S 1.0
#define LIVE_REFRESH_S 0.5

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static llx_status pick_backend(llx_trainer *t, llx_error *err)
{
    const char *dev = t->opt.device ? t->opt.device : t->cfg.device;
    int threads = t->opt.threads > 0 ? t->opt.threads : t->cfg.threads;
    LLX_TRY(llx_backend_create(dev, threads, &t->be, err));
    t->be->tf32 = t->cfg.tf32;
    t->be->conv_precision = t->cfg.precision;
    fprintf(t->opt.log, "device: %s -> %s (%s)\n", dev, t->be->name, t->be->describe(t->be));
    if (t->cfg.precision != LLX_PRECISION_F32)
        fprintf(t->opt.log, "precision: %s convolutions (F32 accumulation, F32 tensors and weights), loss scale %s\n",
                llx_precision_name(t->cfg.precision), llx_loss_scale_kind_name(t->cfg.loss_scale));
    return LLX_OK;
}

static llx_status build_network(llx_trainer *t, const llx_registry *reg, const llx_cfg *root, llx_error *err)
{
    int crops = t->cfg.eval_aug.crops == LLX_CROPS_TEN ? 10 : 1;
    t->graph_batch = t->cfg.batch > t->cfg.eval_batch * crops ? t->cfg.batch : t->cfg.eval_batch * crops;
    LLX_TRY(llx_model_build(reg, llx_cfg_get(root, "model"), t->graph_batch, LLX_F32, &t->g, &t->logits, err));
    llx_shape in = llx_graph_node_shape(t->g, llx_graph_input_node(t->g));
    const llx_augment *a = &t->cfg.train_aug;
    if (in.dim[1] != a->channels || in.dim[2] != a->size || in.dim[3] != a->size)
        return llx_errorf(err, LLX_ERR_SHAPE, "model input (%lld, %lld, %lld) differs from data: channels %d, size %d",
                          (long long)in.dim[1], (long long)in.dim[2], (long long)in.dim[3], a->channels, a->size);
    llx_shape out = llx_graph_node_shape(t->g, t->logits);
    if (out.ndim != 2 || out.dim[1] != LLX_NUM_CLASSES)
        return llx_errorf(err, LLX_ERR_SHAPE, "the model must end with %d outputs (the classes), it has %lld",
                          LLX_NUM_CLASSES, (long long)(out.ndim == 2 ? out.dim[1] : -1));
    double w[LLX_NUM_CLASSES];
    bool weighted = t->cfg.has_class_weights || t->cfg.balanced_weights;
    if (t->cfg.balanced_weights && t->data[SPLIT_TRAIN]) {
        int64_t counts[LLX_NUM_CLASSES], total = 0, present = 0;
        llx_dataset_class_counts(t->data[SPLIT_TRAIN], counts);
        for (int k = 0; k < LLX_NUM_CLASSES; k++) total += counts[k], present += counts[k] > 0;
        for (int k = 0; k < LLX_NUM_CLASSES; k++)
            w[k] = counts[k] ? (double)total / ((double)present * (double)counts[k]) : 0;
    } else {
        memcpy(w, t->cfg.class_weights, sizeof w);
    }
    LLX_TRY(llx_graph_add_loss(t->g, t->logits, weighted ? w : NULL, LLX_NUM_CLASSES, &t->loss, err));
    return llx_graph_compile(t->g, t->be, t->cfg.seed, err);
}

static llx_status open_data(llx_trainer *t, llx_error *err)
{
    static const char *const names[] = {"train", "val", "test"};
    for (int s = 0; s < SPLIT_COUNT; s++) {
        if (!t->cfg.sources[s] || t->opt.no_data || (s == SPLIT_TRAIN && t->opt.eval_only)) continue;
        LLX_TRY(llx_dataset_open(t->cfg.sources[s], names[s], t->cfg.seed, &t->data[s], err));
        int64_t counts[LLX_NUM_CLASSES];
        llx_dataset_class_counts(t->data[s], counts);
        fprintf(t->opt.log, "data %-5s %7zu samples:", names[s], llx_dataset_size(t->data[s]));
        for (int k = 0; k < LLX_NUM_CLASSES; k++) fprintf(t->opt.log, " %s %lld", llx_class_name(k), (long long)counts[k]);
        fputc('\n', t->opt.log);
        bool train = s == SPLIT_TRAIN;
        LLX_TRY(llx_loader_create(t->data[s], train ? &t->cfg.train_aug : &t->cfg.eval_aug,
                                  train ? t->cfg.batch : t->cfg.eval_batch, train, t->cfg.loader_threads,
                                  t->cfg.seed, t->cfg.cache, train ? &t->train_loader : &t->eval_loader[s], err));
    }
    return LLX_OK;
}

/* Velocity buffers and the weight-decay groups of the parameters. */
static llx_status prepare_optimizer(llx_trainer *t, llx_error *err)
{
    size_t n = llx_graph_node_count(t->g), bytes = 0;
    t->params = calloc(n, sizeof *t->params);
    t->decay = calloc(n, sizeof *t->decay);
    t->velocity = calloc(n, sizeof *t->velocity);
    t->w_list = calloc(n, sizeof *t->w_list);
    t->grad_list = calloc(n, sizeof *t->grad_list);
    t->velocity_list = calloc(n, sizeof *t->velocity_list);
    if (!t->params || !t->decay || !t->velocity || !t->w_list || !t->grad_list || !t->velocity_list)
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (llx_graph_node_kind(t->g, (llx_node_id)i) != LLX_NODE_PARAM) continue;
        llx_tensor *w = llx_graph_value(t->g, (llx_node_id)i);
        t->params[t->n_params] = (llx_node_id)i;
        t->decay[t->n_params] = t->cfg.decay_bn_bias || w->shape.ndim > 1; /* 1-D: BN parameters and biases */
        t->velocity[t->n_params] = *w;
        t->velocity[t->n_params].data = (void *)bytes;
        bytes += llx_tensor_bytes(w);
        t->n_params++;
    }
    t->velocity_arena = t->be->alloc(t->be, bytes, err);
    if (!t->velocity_arena) return err->status;
    t->velocity_bytes = bytes;
    for (int p = 0; p < t->n_params; p++) {
        t->velocity[p].data = (char *)t->velocity_arena + (size_t)t->velocity[p].data;
        t->w_list[p] = llx_graph_value(t->g, t->params[p]);
        t->grad_list[p] = llx_graph_grad(t->g, t->params[p]);
        t->velocity_list[p] = &t->velocity[p];
    }
    t->first_step = true;
    return llx_loss_scaler_init(&t->scaler, t->be, t->cfg.loss_scale, t->cfg.loss_scale_value, err);
}

/* The device accumulator of llx_batch_stats_add for the 7 classes. */
static llx_status prepare_stats(llx_trainer *t, llx_error *err)
{
    t->stats = (llx_tensor){.dtype = LLX_F64, .device = t->be->device, .name = "batch stats",
                            .shape = {.ndim = 1, .dim = {llx_batch_stats_len(LLX_NUM_CLASSES)}}};
    t->stats.data = t->be->alloc(t->be, llx_tensor_bytes(&t->stats), err);
    return t->stats.data ? LLX_OK : err->status;
}

/* train.init_from: fine-tuning starts from another run's weights; a classifier
 * of another size (fc.*) keeps its initial values, and the log says so. */
static llx_status init_from(llx_trainer *t, const llx_cfg *root, llx_error *err)
{
    const llx_cfg *train = llx_cfg_get(root, "train");
    const llx_cfg *v = train ? llx_cfg_get(train, "init_from") : NULL;
    const char *path = v ? llx_cfg_str(v) : NULL;
    if (!path || !*path) return LLX_OK;
    int skipped = 0;
    LLX_TRY(llx_checkpoint_init_from(t->g, path, "fc.", t->opt.log, &skipped, err));
    fprintf(t->opt.log, "init_from %s: loaded, %d tensor%s skipped\n", path, skipped, skipped == 1 ? "" : "s");
    return LLX_OK;
}

llx_status llx_trainer_create(const llx_registry *reg, const llx_doc *doc, const llx_train_options *o,
                              llx_trainer **out, llx_error *err)
{
    llx_trainer *t = calloc(1, sizeof *t);
    if (!t) return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    t->opt = *o;
    if (!t->opt.log) t->opt.log = stderr;
    t->best_value = -INFINITY;
    const llx_cfg *root = llx_doc_root(doc);
    llx_status st = llx_train_config_read(root, &t->cfg, err);
    if (st == LLX_OK) st = pick_backend(t, err);
    if (st == LLX_OK) st = open_data(t, err);
    if (st == LLX_OK) st = build_network(t, reg, root, err);
    if (st == LLX_OK && !(t->host_logits = malloc((size_t)t->graph_batch * LLX_NUM_CLASSES * sizeof(float))))
        st = llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    if (st == LLX_OK) st = prepare_stats(t, err);
    if (st == LLX_OK && !o->eval_only) st = prepare_optimizer(t, err);
    if (st == LLX_OK && !o->eval_only && !o->no_data && !o->skip_init_from) st = init_from(t, root, err);
    if (st != LLX_OK) {
        llx_trainer_free(t);
        return st;
    }
    *out = t;
    return LLX_OK;
}

void llx_trainer_free(llx_trainer *t)
{
    if (!t) return;
    llx_loader_free(t->train_loader);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        llx_loader_free(t->eval_loader[s]);
        llx_dataset_free(t->data[s]);
    }
    if (t->velocity_arena) t->be->free(t->be, t->velocity_arena);
    if (t->stats.data) t->be->free(t->be, t->stats.data);
    llx_loss_scaler_free(&t->scaler);
    for (size_t i = 0; t->snapshot && t->g && i < llx_graph_node_count(t->g); i++) free(t->snapshot[i]);
    free(t->snapshot);
    free(t->velocity_snapshot);
    llx_graph_free(t->g);
    llx_backend_free(t->be);
    free(t->params);
    free(t->decay);
    free(t->velocity);
    free(t->w_list);
    free(t->grad_list);
    free(t->velocity_list);
    free(t->host_logits);
    free(t);
}

llx_graph *llx_trainer_graph(llx_trainer *t) { return t->g; }
int llx_trainer_epochs_done(const llx_trainer *t) { return t->epoch; }
int llx_trainer_epochs_total(const llx_trainer *t) { return t->cfg.epochs; }
const char *llx_trainer_select_metric(const llx_trainer *t) { return t->cfg.select; }

/* Most rows of a batch whose labels live on the stack: feed()'s copy per crop, predict()'s zeros. */
#define MAX_CROP_ROWS 4096

/* Copies a batch into the graph's input and labels (labels repeated per crop). */
static llx_status feed(llx_trainer *t, const float *x, const int32_t *labels, int n, int crops, llx_error *err)
{
    int64_t rows = (int64_t)n * crops;
    LLX_TRY(llx_graph_set_batch(t->g, rows, err));
    llx_tensor *in = llx_graph_value(t->g, llx_graph_input_node(t->g));
    LLX_TRY(t->be->to_device(t->be, in->data, x, llx_tensor_bytes(in), err));
    int32_t rep[MAX_CROP_ROWS];
    const int32_t *lab = labels;
    if (crops > 1) {
        if (rows > MAX_CROP_ROWS)
            return llx_errorf(err, LLX_ERR_INVALID, "evaluation batch of %lld crops is over %d", (long long)rows,
                              MAX_CROP_ROWS);
        for (int64_t r = 0; r < rows; r++) rep[r] = labels[r / crops];
        lab = rep;
    }
    llx_tensor *y = llx_graph_value(t->g, llx_graph_labels_node(t->g));
    return t->be->to_device(t->be, y->data, lab, (size_t)rows * sizeof(int32_t), err);
}

/* Adds the last forward's predictions and loss to the device's running figures. */
static llx_status stats_add(llx_trainer *t, int crops, llx_error *err)
{
    return llx_batch_stats_add(t->be, llx_graph_value(t->g, t->logits), llx_graph_value(t->g, llx_graph_labels_node(t->g)),
                               llx_graph_value(t->g, t->loss), crops, &t->stats, err);
}

/* The running figures since the last zeroing, on the host: the confusion matrix and the
 * loss summed over samples (waits for the device). */
static llx_status stats_read(llx_trainer *t, llx_confusion *c, double *loss_sum, llx_error *err)
{
    LLX_TRY(t->be->to_host(t->be, t->host_stats, t->stats.data, sizeof t->host_stats, err));
    for (int y = 0; y < LLX_NUM_CLASSES; y++)
        for (int p = 0; p < LLX_NUM_CLASSES; p++) c->m[y][p] = (int64_t)t->host_stats[y * LLX_NUM_CLASSES + p];
    *loss_sum = t->host_stats[LLX_NUM_CLASSES * LLX_NUM_CLASSES + LLX_STATS_LOSS_SUM];
    return LLX_OK;
}

/* The batch (counting from 1) of the last stats_read whose loss was NaN or infinite; 0: none. */
static int64_t stats_first_bad(const llx_trainer *t)
{
    return (int64_t)t->host_stats[LLX_NUM_CLASSES * LLX_NUM_CLASSES + LLX_STATS_FIRST_BAD];
}

static int64_t confusion_correct(const llx_confusion *c)
{
    int64_t n = 0;
    for (int k = 0; k < LLX_NUM_CLASSES; k++) n += c->m[k][k];
    return n;
}

/* One optimiser step over every parameter (one fused launch on the GPU). */
static llx_status sgd_step(llx_trainer *t, double lr, llx_error *err)
{
    llx_sgd_params sp = t->cfg.sgd;
    sp.lr = lr;
    LLX_TRY(llx_sgd_update_all(t->be, &sp, t->first_step, t->n_params, t->w_list,
                               (const llx_tensor *const *)t->grad_list, t->velocity_list, t->decay, err));
    t->first_step = false;
    return LLX_OK;
}

static void progress(llx_trainer *t, int64_t i, int64_t steps, double loss, double acc, double img_s, double elapsed)
{
    double eta = i ? elapsed / (double)i * (double)(steps - i) : 0;
    FILE *f = t->opt.log;
    if (t->opt.live) {
        fprintf(f, "\r  epoch %d/%d  batch %lld/%lld  loss %.4f  acc %.1f%%  %.0f img/s  ETA %dm%02ds   ", t->epoch + 1,
                t->cfg.epochs, (long long)i, (long long)steps, loss, 100 * acc, img_s, (int)eta / 60, (int)eta % 60);
        fflush(f);
    } else if (t->opt.log_every > 0 && i % t->opt.log_every == 0) {
        fprintf(f, "epoch %d/%d batch %lld/%lld loss %.4f acc %.4f img/s %.0f eta_s %.0f\n", t->epoch + 1,
                t->cfg.epochs, (long long)i, (long long)steps, loss, acc, img_s, eta);
    }
}

/* Reads the running figures of the epoch (c, loss_sum): stops the epoch at a NaN or
 * infinite loss, else (show) prints a progress line when one is due. */
static llx_status train_progress(llx_trainer *t, int64_t step, int64_t steps, int64_t seen, double start, bool show,
                                 llx_confusion *c, double *loss_sum, llx_error *err)
{
    LLX_TRY(stats_read(t, c, loss_sum, err));
    if (stats_first_bad(t))
        return llx_errorf(err, LLX_ERR_NUMERIC,
                          "epoch %d, step %lld: the loss is not finite (NaN or infinite); stopping (lower train.lr?). "
                          "The weights of the last finished epoch are kept",
                          t->epoch + 1, (long long)stats_first_bad(t));
    double elapsed = now_seconds() - start;
    if (show)
        progress(t, step, steps, *loss_sum / (double)seen, (double)confusion_correct(c) / (double)seen,
                 (double)seen / elapsed, elapsed);
    return LLX_OK;
}

/* The host queues each step and does not wait for it: loss and accuracy are summed on the
 * device and read back only when a progress line is due, at least every STATS_READ_EVERY_S
 * seconds, and at the end. */
static llx_status train_epoch(llx_trainer *t, llx_epoch_result *r, llx_error *err)
{
    LLX_TRY(llx_loader_start(t->train_loader, t->epoch, err));
    LLX_TRY(t->be->memset_zero(t->be, t->stats.data, llx_tensor_bytes(&t->stats), err));
    int64_t steps = llx_loader_batches(t->train_loader), seen = 0, i = 0, skipped_before = t->scaler.skipped;
    double start = now_seconds(), last_read = start, loss_sum;
    llx_confusion c;
    for (;; i++) {
        const float *x;
        const int32_t *labels;
        int n;
        LLX_TRY(llx_loader_next(t->train_loader, &x, &labels, &n, err));
        if (n == 0) break;
        if (t->opt.stop && *t->opt.stop)
            return llx_errorf(err, LLX_ERR_INVALID, "stopped in epoch %d at step %lld", t->epoch + 1, (long long)i + 1);
        double lr = llx_schedule_lr(&t->cfg.schedule, t->epoch + (double)i / (double)steps);
        r->lr = i == 0 ? lr : r->lr;
        LLX_TRY(feed(t, x, labels, n, 1, err));
        LLX_TRY(llx_graph_forward(t->g, true, err));
        LLX_TRY(stats_add(t, 1, err));
        LLX_TRY(llx_graph_zero_grad(t->g, err));
        bool take_step;
        LLX_TRY(llx_loss_scaler_backward(&t->scaler, t->g, t->loss, &take_step, err));
        if (take_step) LLX_TRY(sgd_step(t, lr, err));
        seen += n;
        double now = now_seconds();
        bool line_due = t->opt.live ? now - last_read >= LIVE_REFRESH_S
                                    : t->opt.log_every > 0 && (i + 1) % t->opt.log_every == 0;
        if (line_due || now - last_read >= STATS_READ_EVERY_S) {
            LLX_TRY(train_progress(t, i + 1, steps, seen, start, true, &c, &loss_sum, err));
            last_read = now_seconds();
        }
    }
    /* the live line ends on the epoch's figures; plain lines came every log_every steps */
    LLX_TRY(train_progress(t, i, steps, seen ? seen : 1, start, t->opt.live, &c, &loss_sum, err));
    if (t->opt.live) fputc('\n', t->opt.log);
    r->seconds = now_seconds() - start;
    r->train_loss = loss_sum / (double)(seen ? seen : 1);
    r->train_accuracy = (double)confusion_correct(&c) / (double)(seen ? seen : 1);
    r->images_per_second = (double)seen / r->seconds;
    r->skipped_steps = t->scaler.skipped - skipped_before;
    r->loss_scale = t->scaler.scale;
    if (t->scaler.kind != LLX_LOSS_SCALE_NONE)
        fprintf(t->opt.log, "loss scale %g (%s): %lld of %lld steps skipped for non-finite gradients\n",
                t->scaler.scale, llx_loss_scale_kind_name(t->scaler.kind), (long long)r->skipped_steps, (long long)i);
    return LLX_OK;
}

llx_status llx_trainer_evaluate(llx_trainer *t, const char *split, llx_metrics *m, llx_confusion *c, double *loss,
                                llx_error *err)
{
    int s = strcmp(split, "test") == 0 ? SPLIT_TEST : strcmp(split, "val") == 0 ? SPLIT_VAL : -1;
    if (s < 0 || !t->eval_loader[s]) return llx_errorf(err, LLX_ERR_INVALID, "no '%s' data in this experiment", split);
    llx_loader *l = t->eval_loader[s];
    int crops = llx_loader_crops_per_sample(l);
    int64_t seen = 0;
    LLX_TRY(llx_loader_start(l, 0, err));
    LLX_TRY(t->be->memset_zero(t->be, t->stats.data, llx_tensor_bytes(&t->stats), err));
    for (;;) {
        const float *x;
        const int32_t *labels;
        int n;
        LLX_TRY(llx_loader_next(l, &x, &labels, &n, err));
        if (n == 0) break;
        LLX_TRY(feed(t, x, labels, n, crops, err));
        LLX_TRY(llx_graph_forward(t->g, false, err));
        LLX_TRY(stats_add(t, crops, err));
        seen += n;
    }
    llx_confusion conf;
    double loss_sum;
    LLX_TRY(stats_read(t, &conf, &loss_sum, err));
    llx_metrics_compute(&conf, m);
    if (c) *c = conf;
    if (loss) *loss = loss_sum / (double)(seen ? seen : 1);
    return LLX_OK;
}

llx_status llx_trainer_epoch(llx_trainer *t, llx_epoch_result *r, llx_error *err)
{
    memset(r, 0, sizeof *r);
    if (t->epoch >= t->cfg.epochs) return llx_errorf(err, LLX_ERR_INVALID, "all %d epochs are done", t->cfg.epochs);
    if (!t->train_loader) return llx_errorf(err, LLX_ERR_INVALID, "this trainer was opened for evaluation only");
    double start = now_seconds();
    llx_status st = train_epoch(t, r, err);
    if (st == LLX_ERR_NUMERIC && t->snapshot) llx_trainer_restore_snapshot(t, NULL);
    LLX_TRY(st);
    LLX_TRY(llx_trainer_evaluate(t, "val", &r->val, &r->val_confusion, &r->val_loss, err));
    r->seconds = now_seconds() - start; /* training and evaluation; images_per_second: training alone */
    r->epoch = ++t->epoch;
    double v = 0;
    llx_metrics_get(&r->val, t->cfg.select, &v);
    r->best = v > t->best_value;
    if (r->best) t->best_value = v, t->best_epoch = r->epoch;
    return llx_trainer_snapshot(t, err); /* the last good state, for a NaN in the next epoch */
}

llx_status llx_trainer_snapshot(llx_trainer *t, llx_error *err)
{
    size_t n = llx_graph_node_count(t->g);
    if (!t->snapshot && !(t->snapshot = calloc(n, sizeof *t->snapshot)))
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        llx_node_kind k = llx_graph_node_kind(t->g, (llx_node_id)i);
        if (k != LLX_NODE_PARAM && k != LLX_NODE_BUFFER) continue;
        llx_tensor *v = llx_graph_value(t->g, (llx_node_id)i);
        if (!t->snapshot[i] && !(t->snapshot[i] = malloc(llx_tensor_bytes(v))))
            return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
        LLX_TRY(t->be->to_host(t->be, t->snapshot[i], v->data, llx_tensor_bytes(v), err));
    }
    if (!t->velocity_arena) return LLX_OK;
    if (!t->velocity_snapshot && !(t->velocity_snapshot = malloc(t->velocity_bytes ? t->velocity_bytes : 1)))
        return llx_errorf(err, LLX_ERR_NOMEM, "out of memory");
    t->snapshot_first_step = t->first_step;
    return t->be->to_host(t->be, t->velocity_snapshot, t->velocity_arena, t->velocity_bytes, err);
}

llx_status llx_trainer_restore_snapshot(llx_trainer *t, llx_error *err)
{
    if (!t->snapshot) return llx_errorf(err, LLX_ERR_INVALID, "no snapshot taken");
    for (size_t i = 0; i < llx_graph_node_count(t->g); i++) {
        if (!t->snapshot[i]) continue;
        llx_tensor *v = llx_graph_value(t->g, (llx_node_id)i);
        LLX_TRY(t->be->to_device(t->be, v->data, t->snapshot[i], llx_tensor_bytes(v), err));
    }
    if (!t->velocity_snapshot) return LLX_OK;
    t->first_step = t->snapshot_first_step;
    return t->be->to_device(t->be, t->velocity_arena, t->velocity_snapshot, t->velocity_bytes, err);
}

const llx_augment *llx_trainer_eval_augment(const llx_trainer *t) { return &t->cfg.eval_aug; }

llx_status llx_trainer_predict(llx_trainer *t, const float *x, int n, double *probs, llx_error *err)
{
    int crops = t->cfg.eval_aug.crops == LLX_CROPS_TEN ? 10 : 1;
    int64_t most = t->graph_batch < MAX_CROP_ROWS ? t->graph_batch : MAX_CROP_ROWS; /* rows of zeros[] */
    if (n < 1 || (int64_t)n * crops > most)
        return llx_errorf(err, LLX_ERR_INVALID, "predict: %d samples, at most %lld at once", n,
                          (long long)(most / crops));
    int32_t zeros[MAX_CROP_ROWS] = {0};
    LLX_TRY(feed(t, x, zeros, n, crops, err));
    LLX_TRY(llx_graph_forward(t->g, false, err));
    LLX_TRY(t->be->to_host(t->be, t->host_logits, llx_graph_value(t->g, t->logits)->data,
                           (size_t)n * crops * LLX_NUM_CLASSES * sizeof(float), err));
    for (int i = 0; i < n; i++) {
        double mean[LLX_NUM_CLASSES] = {0}, top = -INFINITY, sum = 0;
        for (int c = 0; c < crops; c++)
            for (int k = 0; k < LLX_NUM_CLASSES; k++)
                mean[k] += t->host_logits[((size_t)i * crops + c) * LLX_NUM_CLASSES + k] / crops;
        for (int k = 0; k < LLX_NUM_CLASSES; k++) top = fmax(top, mean[k]);
        for (int k = 0; k < LLX_NUM_CLASSES; k++) sum += probs[i * LLX_NUM_CLASSES + k] = exp(mean[k] - top);
        for (int k = 0; k < LLX_NUM_CLASSES; k++) probs[i * LLX_NUM_CLASSES + k] /= sum;
    }
    return LLX_OK;
}

void llx_trainer_get_state(const llx_trainer *t, llx_trainer_state *s)
{
    *s = (llx_trainer_state){.epoch = t->epoch, .first_step = t->first_step, .best_value = t->best_value,
                             .best_epoch = t->best_epoch, .loss_scale = t->scaler.scale,
                             .loss_scale_good_steps = t->scaler.good_steps};
}

llx_status llx_trainer_set_state(llx_trainer *t, const llx_trainer_state *s, llx_error *err)
{
    if (s->epoch < 0 || s->epoch > t->cfg.epochs || s->best_epoch < 0 || s->best_epoch > s->epoch)
        return llx_errorf(err, LLX_ERR_INVALID, "trainer state: epoch %d (best %d) does not fit %d epochs", s->epoch,
                          s->best_epoch, t->cfg.epochs);
    t->epoch = s->epoch;
    t->first_step = s->first_step;
    t->best_value = s->best_value;
    t->best_epoch = s->best_epoch;
    if (s->loss_scale > 0 && t->scaler.kind != LLX_LOSS_SCALE_NONE) {
        t->scaler.scale = s->loss_scale;
        t->scaler.good_steps = s->loss_scale_good_steps;
    }
    return LLX_OK;
}

int llx_trainer_optimizer_count(const llx_trainer *t) { return t->velocity_arena ? t->n_params : 0; }
llx_tensor *llx_trainer_optimizer_tensor(llx_trainer *t, int i)
{
    return i >= 0 && i < llx_trainer_optimizer_count(t) ? &t->velocity[i] : NULL;
}
const char *llx_trainer_device(const llx_trainer *t) { return t->be->name; }
const char *llx_trainer_device_name(const llx_trainer *t) { return t->be->describe(t->be); }
uint64_t llx_trainer_seed(const llx_trainer *t) { return t->cfg.seed; }
