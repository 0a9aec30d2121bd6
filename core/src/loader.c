/* loader.c: batches prepared ahead by worker threads (see llx/loader.h).
 *
 * The epoch is a list of tasks, one per sample; workers take the next task
 * while its batch is at most SLOTS - 1 ahead of the batch the trainer holds,
 * and write the sample straight into that batch's slot. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llx/loader.h"
#include "llx/transform.h"

#define SLOTS 3
#define MAX_THREADS 64
#define MAX_RETRIES 16

typedef struct slot {
    float *x;
    int32_t *labels;
    int done; /* samples written */
} slot;

struct llx_loader {
    const llx_dataset *d;
    llx_augment aug;
    int batch, crops, threads;
    bool train;
    uint64_t seed;
    int64_t n, n_batches;
    size_t sample_floats; /* floats of one sample (all its crops) */
    int64_t *order;
    llx_image *cache; /* per dataset index (data NULL until decoded) */

    pthread_t workers[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t work, ready;
    slot slots[SLOTS];
    int epoch;
    int64_t next_task, total_tasks;
    int in_flight;    /* tasks taken by workers and not yet written */
    int64_t held;     /* batch index the trainer holds (-1 none) */
    int64_t released; /* batches fully consumed */
    bool running, stop;
    int64_t bad, bad_epoch;
    llx_error first_bad;
};

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    return mix(*s);
}

static int64_t batch_size(const llx_loader *l, int64_t b)
{
    int64_t rest = l->n - b * l->batch;
    return rest < l->batch ? rest : l->batch;
}

/* Decodes dataset item i, from the cache when it is there. Only the worker
 * that owns index i this epoch (its first try) touches l->cache[i]: a retry
 * reads another task's index, whose owner may be writing that entry, so
 * retries decode without the cache. */
static llx_status fetch(llx_loader *l, int64_t i, bool owner, llx_image *im, bool *owned, llx_error *err)
{
    bool use_cache = l->cache && owner;
    if (use_cache && l->cache[i].data) {
        *im = l->cache[i];
        *owned = false;
        return LLX_OK;
    }
    LLX_TRY(llx_dataset_load(l->d, (size_t)i, im, err));
    *owned = true;
    if (use_cache) {
        l->cache[i] = *im;
        *owned = false;
    }
    return LLX_OK;
}

/* Writes the crops of one decoded image into out (crops x C x size x size). */
static llx_status augment(const llx_augment *a, bool train, const llx_image *src, uint64_t rng, float *out,
                          llx_error *err)
{
    llx_image sized = {0}, work = {0};
    const llx_image *im = src;
    int target = a->resize > 0 ? a->resize : (train && (a->random_crop || a->pad) ? im->width : a->size);
    if (im->width != target || im->height != target) {
        LLX_TRY(llx_image_resize(im, target, target, &sized, err));
        im = &sized;
    }
    size_t plane = (size_t)a->channels * (size_t)a->size * (size_t)a->size;
    llx_status st = LLX_OK;
    if (train) {
        int x = (im->width - a->size) / 2, y = (im->height - a->size) / 2;
        if (a->random_crop || a->pad) {
            int span_x = im->width + 2 * a->pad - a->size + 1, span_y = im->height + 2 * a->pad - a->size + 1;
            x = span_x > 0 ? (int)(rng_next(&rng) % (uint64_t)span_x) - a->pad : x;
            y = span_y > 0 ? (int)(rng_next(&rng) % (uint64_t)span_y) - a->pad : y;
        }
        st = llx_image_crop(im, x, y, a->size, a->size, 0, &work, err);
        if (st == LLX_OK && a->flip && (rng_next(&rng) & 1)) llx_image_hflip(&work);
        if (st == LLX_OK) llx_image_to_chw(&work, a->channels, a->mean, a->std, out);
    } else if (a->crops == LLX_CROPS_TEN) {
        llx_box boxes[5];
        llx_five_crop_boxes(im->width, im->height, a->size, a->size, boxes);
        for (int k = 0; k < 10 && st == LLX_OK; k++) {
            /* crops 5..9 are five_crop of the flipped image: box b of the flipped image is
             * the flip of the original's window at x = W - size - b.x */
            const llx_box *b = &boxes[k % 5];
            int x = k < 5 ? b->x : im->width - a->size - b->x;
            st = llx_image_crop(im, x, b->y, a->size, a->size, 0, &work, err);
            if (st != LLX_OK) break;
            if (k >= 5) llx_image_hflip(&work);
            llx_image_to_chw(&work, a->channels, a->mean, a->std, out + (size_t)k * plane);
            llx_image_free(&work);
        }
    } else {
        llx_box c = llx_center_crop_box(im->width, im->height, a->size, a->size);
        st = llx_image_crop(im, c.x, c.y, a->size, a->size, 0, &work, err);
        if (st == LLX_OK) llx_image_to_chw(&work, a->channels, a->mean, a->std, out);
    }
    llx_image_free(&work);
    llx_image_free(&sized);
    return st;
}

/* Produces sample `pos` of the epoch order into out; replaces an undecodable
 * sample by the next ones of the order. Returns its label or -1. */
static int32_t produce(llx_loader *l, int64_t pos, float *out)
{
    for (int tries = 0; tries < MAX_RETRIES; tries++) {
        int64_t i = l->order[(pos + tries) % l->n];
        llx_image im;
        bool owned = false;
        llx_error err = {0};
        uint64_t rng = mix(l->seed ^ mix((uint64_t)l->epoch * 0x51ED27ull + 1) ^ mix((uint64_t)i + 7));
        llx_status st = fetch(l, i, tries == 0, &im, &owned, &err);
        if (st == LLX_OK) st = augment(&l->aug, l->train, &im, rng, out, &err);
        if (owned) llx_image_free(&im);
        if (st == LLX_OK) return llx_dataset_sample(l->d, (size_t)i)->label;
        pthread_mutex_lock(&l->mu);
        if (l->bad == 0) l->first_bad = err;
        l->bad++;
        l->bad_epoch++;
        pthread_mutex_unlock(&l->mu);
    }
    return -1;
}

static void *worker(void *arg)
{
    llx_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !(l->running && l->next_task < l->total_tasks &&
                             l->next_task / l->batch < l->released + SLOTS))
            pthread_cond_wait(&l->work, &l->mu);
        if (l->stop) break;
        int64_t t = l->next_task++, b = t / l->batch, j = t % l->batch;
        slot *s = &l->slots[b % SLOTS];
        l->in_flight++;
        pthread_mutex_unlock(&l->mu);
        int32_t label = produce(l, t, s->x + (size_t)j * l->sample_floats);
        pthread_mutex_lock(&l->mu);
        s->labels[j] = label;
        s->done++;
        l->in_flight--;
        pthread_cond_broadcast(&l->ready);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

llx_status llx_loader_create(const llx_dataset *d, const llx_augment *aug, int batch, bool train, int threads,
                             uint64_t seed, bool cache, llx_loader **out, llx_error *err)
{
    if (batch < 1 || aug->size < 1 || (aug->channels != 1 && aug->channels != 3))
        return llx_errorf(err, LLX_ERR_INVALID, "loader: batch %d, size %d, channels %d: expected positive, positive, 1 or 3",
                          batch, aug->size, aug->channels);
    if (llx_dataset_size(d) == 0) return llx_errorf(err, LLX_ERR_INVALID, "loader: the dataset is empty");
    llx_loader *l = calloc(1, sizeof *l);
    if (!l) return llx_errorf(err, LLX_ERR_NOMEM, "loader: out of memory");
    *l = (llx_loader){.d = d, .aug = *aug, .batch = batch, .train = train, .seed = seed,
                      .n = (int64_t)llx_dataset_size(d), .held = -1};
    l->crops = train ? 1 : (aug->crops == LLX_CROPS_TEN ? 10 : 1);
    l->n_batches = (l->n + batch - 1) / batch;
    l->sample_floats = (size_t)l->crops * (size_t)aug->channels * (size_t)aug->size * (size_t)aug->size;
    l->order = malloc((size_t)l->n * sizeof *l->order);
    l->cache = cache ? calloc((size_t)l->n, sizeof *l->cache) : NULL;
    bool ok = l->order && (!cache || l->cache);
    for (int s = 0; s < SLOTS && ok; s++) {
        l->slots[s].x = malloc((size_t)batch * l->sample_floats * sizeof(float));
        l->slots[s].labels = malloc((size_t)batch * sizeof(int32_t));
        ok = l->slots[s].x && l->slots[s].labels;
    }
    if (!ok) {
        size_t floats = (size_t)batch * l->sample_floats;
        llx_loader_free(l);
        return llx_errorf(err, LLX_ERR_NOMEM, "loader: cannot allocate %d batches of %zu floats", SLOTS,
                          floats);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->ready, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    l->threads = threads > 0 ? threads : (int)(cores > 0 ? cores : 1);
    if (l->threads > MAX_THREADS) l->threads = MAX_THREADS;
    for (int t = 0; t < l->threads; t++) {
        if (pthread_create(&l->workers[t], NULL, worker, l) != 0) {
            l->threads = t;
            llx_loader_free(l);
            return llx_errorf(err, LLX_ERR_NOMEM, "loader: cannot start thread %d", t);
        }
    }
    *out = l;
    return LLX_OK;
}

void llx_loader_free(llx_loader *l)
{
    if (!l) return;
    if (l->threads) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->mu);
        for (int t = 0; t < l->threads; t++) pthread_join(l->workers[t], NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->work);
        pthread_cond_destroy(&l->ready);
    }
    for (int s = 0; s < SLOTS; s++) {
        free(l->slots[s].x);
        free(l->slots[s].labels);
    }
    for (int64_t i = 0; l->cache && i < l->n; i++) llx_image_free(&l->cache[i]);
    free(l->cache);
    free(l->order);
    free(l);
}

/* Stops handing out the current epoch's tasks and waits for those in flight. */
static void drain(llx_loader *l)
{
    l->total_tasks = l->next_task;
    while (l->in_flight > 0) pthread_cond_wait(&l->ready, &l->mu);
}

llx_status llx_loader_start(llx_loader *l, int epoch, llx_error *err)
{
    pthread_mutex_lock(&l->mu);
    drain(l);
    for (int64_t i = 0; i < l->n; i++) l->order[i] = i;
    if (l->train) {
        uint64_t rng = mix(l->seed ^ mix((uint64_t)epoch + 0xE90C4ull));
        for (int64_t i = l->n - 1; i > 0; i--) {
            int64_t j = (int64_t)(rng_next(&rng) % (uint64_t)(i + 1)), tmp = l->order[i];
            l->order[i] = l->order[j];
            l->order[j] = tmp;
        }
    }
    for (int s = 0; s < SLOTS; s++) l->slots[s].done = 0;
    l->epoch = epoch;
    l->next_task = 0;
    l->total_tasks = l->n;
    l->held = -1;
    l->released = 0;
    l->bad_epoch = 0;
    l->running = true;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    return LLX_OK;
}

llx_status llx_loader_next(llx_loader *l, const float **x, const int32_t **labels, int *n, llx_error *err)
{
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) { /* the trainer is done with the batch it held: free its slot */
        l->slots[l->held % SLOTS].done = 0;
        l->released = l->held + 1;
        pthread_cond_broadcast(&l->work);
    }
    int64_t b = l->released;
    if (!l->running || b >= l->n_batches) {
        l->held = -1;
        *n = 0;
        pthread_mutex_unlock(&l->mu);
        return LLX_OK;
    }
    slot *s = &l->slots[b % SLOTS];
    while (s->done < batch_size(l, b)) pthread_cond_wait(&l->ready, &l->mu);
    l->held = b;
    double max_bad = llx_dataset_max_bad(l->d);
    bool too_bad = (double)l->bad_epoch > max_bad * (double)l->n;
    for (int64_t j = 0; j < batch_size(l, b); j++) too_bad |= s->labels[j] < 0;
    llx_error first = l->first_bad;
    int64_t bad = l->bad_epoch;
    pthread_mutex_unlock(&l->mu);
    if (too_bad)
        return llx_errorf(err, LLX_ERR_IO,
                          "%lld of %lld samples could not be read (more than max_bad = %g of the data); the first: %s",
                          (long long)bad, (long long)l->n, max_bad, first.msg);
    *x = s->x;
    *labels = s->labels;
    *n = (int)batch_size(l, b);
    return LLX_OK;
}

int llx_loader_crops_per_sample(const llx_loader *l) { return l->crops; }

llx_status llx_augment_eval(const llx_augment *aug, const llx_image *im, float *out, llx_error *err)
{
    return augment(aug, false, im, 0, out, err);
}
int64_t llx_loader_batches(const llx_loader *l) { return l->n_batches; }

int64_t llx_loader_bad(const llx_loader *l)
{
    pthread_mutex_lock((pthread_mutex_t *)&l->mu);
    int64_t bad = l->bad;
    pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
    return bad;
}
