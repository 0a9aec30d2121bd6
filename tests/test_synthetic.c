/* test_synthetic.c: the procedural face renderer and the `format: synthetic` source.
 *
 * With LLX_SYNTH_PREVIEW=path.png it also writes a preview grid (7 columns, one per
 * class in canonical order, x 6 rows of different seeds, each face enlarged 3x) for a
 * person to look at. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/src/synth_render.h"
#include "check.h"
#include "llx/config.h"
#include "llx/data.h"

#define S 48

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_deterministic(void)
{
    uint8_t a[S * S], b[S * S], c[S * S], d[S * S];
    for (int label = 0; label < LLX_NUM_CLASSES; label++) {
        llx_synth_render(label, 12345, S, 1.0f, a);
        llx_synth_render(label, 12345, S, 1.0f, b);
        llx_synth_render(label, 12346, S, 1.0f, c);
        llx_synth_render((label + 1) % LLX_NUM_CLASSES, 12345, S, 1.0f, d);
        CHECK_MSG(memcmp(a, b, sizeof a) == 0, "label %d: same seed, different bytes", label);
        CHECK_MSG(memcmp(a, c, sizeof a) != 0, "label %d: seeds 12345 and 12346 render alike", label);
        CHECK_MSG(memcmp(a, d, sizeof a) != 0, "labels %d and %d render alike", label,
                  (label + 1) % LLX_NUM_CLASSES);
    }
}

/* Every class gives an image with contrast, at the default and at other sizes. */
static void test_each_class_renders(void)
{
    static const int sizes[] = {48, 24, 112, 200};
    for (int k = 0; k < 4; k++) {
        int n = sizes[k];
        uint8_t *g = malloc((size_t)n * (size_t)n);
        for (int label = 0; label < LLX_NUM_CLASSES; label++) {
            double sum = 0, sum2 = 0;
            for (int seed = 0; seed < 20; seed++) {
                llx_synth_render(label, (uint64_t)seed, n, 1.0f, g);
                double m = 0, m2 = 0;
                for (int i = 0; i < n * n; i++) {
                    m += g[i];
                    m2 += (double)g[i] * g[i];
                }
                m /= n * n;
                sum += m;
                sum2 += m2 / (n * n) - m * m;
            }
            double mean = sum / 20, sd = sqrt(sum2 / 20);
            CHECK_MSG(mean > 20 && mean < 235, "size %d label %d: mean %.1f", n, label, mean);
            CHECK_MSG(sd > 15, "size %d label %d: mean stddev %.1f", n, label, sd);
        }
        free(g);
    }
}

/* Mean of the mouth region (rows 58..80%, columns 33..67%) over many faces: the
 * classes differ there (a weak check that the expressions are drawn at all). */
static void test_mouth_region_differs(void)
{
    enum { N = 400 };
    double mean[LLX_NUM_CLASSES][S * S] = {{0}};
    uint8_t g[S * S];
    for (int label = 0; label < LLX_NUM_CLASSES; label++)
        for (int seed = 0; seed < N; seed++) {
            llx_synth_render(label, 1000 + (uint64_t)seed, S, 1.0f, g);
            for (int i = 0; i < S * S; i++)
                mean[label][i] += g[i] / (double)N;
        }
    int y0 = S * 58 / 100, y1 = S * 80 / 100, x0 = S * 33 / 100, x1 = S * 67 / 100;
    double min_dist = 1e9;
    for (int a = 0; a < LLX_NUM_CLASSES; a++)
        for (int b = a + 1; b < LLX_NUM_CLASSES; b++) {
            double d2 = 0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) {
                    double t = mean[a][y * S + x] - mean[b][y * S + x];
                    d2 += t * t;
                }
            double rms = sqrt(d2 / ((y1 - y0) * (x1 - x0)));
            if (rms < min_dist) min_dist = rms;
            if ((a == LLX_NEUTRAL && (b == LLX_SURPRISE || b == LLX_HAPPINESS || b == LLX_FEAR)))
                CHECK_MSG(rms > 1.0, "mouth region: %s vs %s differ by only %.2f grey levels rms",
                          llx_class_name(a), llx_class_name(b), rms);
        }
    printf("     mouth region: smallest rms difference between class means %.2f grey levels\n", min_dist);
    CHECK(min_dist > 0.2);
}

static void test_render_time(void)
{
    uint8_t g[S * S];
    int n = 2000;
    double t0 = cpu_seconds();
    for (int i = 0; i < n; i++)
        llx_synth_render(i % LLX_NUM_CLASSES, (uint64_t)i, S, 1.0f, g);
    double us = (cpu_seconds() - t0) / n * 1e6;
    printf("     render %dx%d: %.1f us per image (thread CPU time)\n", S, S, us);
}

/* ---- the source, through llx_dataset ---- */

static llx_dataset *open_yaml(const char *yaml, const char *split, uint64_t seed, llx_error *err)
{
    llx_doc *doc = NULL;
    llx_dataset *d = NULL;
    if (llx_doc_parse("synth.yaml", yaml, NULL, 0, &doc, err) != LLX_OK) return NULL;
    if (llx_dataset_open(llx_doc_root(doc), split, seed, &d, err) != LLX_OK) d = NULL;
    llx_doc_free(doc);
    return d;
}

static void test_source_defaults_and_balance(void)
{
    llx_error err = {0};
    static const char *const splits[] = {"train", "val", "test"};
    static const size_t sizes[] = {7000, 1400, 1400};
    for (int k = 0; k < 3; k++) {
        llx_dataset *d = open_yaml("format: synthetic\n", splits[k], 42, &err);
        CHECK_MSG(d != NULL, "%s", err.msg);
        if (!d) return;
        CHECK(llx_dataset_size(d) == sizes[k]);
        int64_t counts[LLX_NUM_CLASSES];
        llx_dataset_class_counts(d, counts);
        for (int c = 0; c < LLX_NUM_CLASSES; c++)
            CHECK_MSG(counts[c] == (int64_t)sizes[k] / 7, "%s class %d: %lld", splits[k], c,
                      (long long)counts[c]);
        /* shuffled: the first 14 labels are not 0,1,...,6,0,... */
        int in_order = 1;
        for (size_t i = 0; i < 14; i++)
            in_order &= llx_dataset_sample(d, i)->label == (int)(i % 7);
        CHECK(!in_order);
        llx_image im = {0};
        CHECK(llx_dataset_load(d, 5, &im, &err) == LLX_OK);
        CHECK(im.width == 48 && im.height == 48 && im.channels == 1 && im.data);
        llx_image_free(&im);
        char buf[128];
        CHECK_CONTAINS(llx_dataset_describe(d, 17, buf, sizeof buf), "synthetic");
        CHECK_CONTAINS(buf, "#17");
        llx_dataset_free(d);
    }
}

static int same_sample(llx_dataset *a, size_t i, llx_dataset *b, size_t j)
{
    llx_image x = {0}, y = {0};
    llx_error err = {0};
    int same = llx_dataset_load(a, i, &x, &err) == LLX_OK && llx_dataset_load(b, j, &y, &err) == LLX_OK &&
               x.width == y.width && x.channels == y.channels &&
               memcmp(x.data, y.data, (size_t)x.width * x.height * x.channels) == 0;
    llx_image_free(&x);
    llx_image_free(&y);
    return same;
}

static void test_source_seeds_and_splits(void)
{
    llx_error err = {0};
    const char *yaml = "format: synthetic\ncount: 70\nsize: 32\n";
    llx_dataset *a = open_yaml(yaml, "train", 7, &err), *b = open_yaml(yaml, "train", 7, &err);
    llx_dataset *c = open_yaml(yaml, "train", 8, &err), *v = open_yaml(yaml, "val", 7, &err);
    CHECK_MSG(a && b && c && v, "%s", err.msg);
    if (a && b && c && v) {
        CHECK(llx_dataset_size(a) == 70);
        int labels_same = 1, differ_seed = 0, differ_split = 0;
        for (size_t i = 0; i < 70; i++) {
            labels_same &= llx_dataset_sample(a, i)->label == llx_dataset_sample(b, i)->label;
            CHECK(same_sample(a, i, b, i));
            differ_seed += !same_sample(a, i, c, i);
            differ_split += !same_sample(a, i, v, i);
        }
        CHECK(labels_same);
        CHECK(differ_seed == 70);
        CHECK(differ_split == 70);
    }
    llx_dataset_free(a);
    llx_dataset_free(b);
    llx_dataset_free(c);
    llx_dataset_free(v);

    llx_dataset *rgb = open_yaml("format: synthetic\ncount: 7\nchannels: 3\n", "test", 1, &err);
    CHECK_MSG(rgb != NULL, "%s", err.msg);
    if (rgb) {
        llx_image im = {0};
        CHECK(llx_dataset_load(rgb, 3, &im, &err) == LLX_OK);
        CHECK(im.channels == 3 && im.width == 48);
        int grey = 1;
        for (int i = 0; im.data && i < 48 * 48; i++)
            grey &= im.data[3 * i] == im.data[3 * i + 1] && im.data[3 * i] == im.data[3 * i + 2];
        CHECK(grey);
        llx_image_free(&im);
        llx_dataset_free(rgb);
    }
}

static void test_source_errors(void)
{
    llx_error err = {0};
    CHECK(open_yaml("format: synthetic\ncuont: 10\n", "train", 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "unknown key 'cuont'");
    CHECK_CONTAINS(err.msg, "did you mean 'count'");
    CHECK(open_yaml("format: synthetic\nsize: 4\n", "train", 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "synth.yaml:2:");
    CHECK_CONTAINS(err.msg, "'size'");
    CHECK(open_yaml("format: synthetic\nchannels: 2\n", "train", 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "'channels'");
    CHECK(open_yaml("format: synthetic\ncount: many\n", "train", 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "count");
    CHECK(open_yaml("format: synthetic\ndifficulty: 1.5\n", "train", 1, &err) == NULL);
    CHECK_CONTAINS(err.msg, "synth.yaml:2:");
    CHECK_CONTAINS(err.msg, "key 'difficulty': must be in [0, 1]");
}

/* The difficulty changes the faces (the same label and seed render differently at 0 and
 * 1), deterministically, and the source reads it from YAML. */
static void test_difficulty(void)
{
    uint8_t easy[S * S], easy2[S * S], hard[S * S];
    llx_synth_render(LLX_HAPPINESS, 77, S, 0.0f, easy);
    llx_synth_render(LLX_HAPPINESS, 77, S, 0.0f, easy2);
    llx_synth_render(LLX_HAPPINESS, 77, S, 1.0f, hard);
    CHECK(memcmp(easy, easy2, sizeof easy) == 0);
    CHECK(memcmp(easy, hard, sizeof easy) != 0);
    llx_error err = {0};
    llx_dataset *ds = open_yaml("format: synthetic\ndifficulty: 0.25\ncount: 7\n", "train", 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    llx_dataset_free(ds);
}

/* Loader threads load concurrently: every thread must see the serial bytes. */
typedef struct load_job {
    llx_dataset *d;
    const uint8_t *ref; /* (n, 48 * 48) */
    int n, bad;
} load_job;

static void *load_all(void *arg)
{
    load_job *j = arg;
    for (int i = 0; i < j->n; i++) {
        llx_image im = {0};
        llx_error err = {0};
        if (llx_dataset_load(j->d, (size_t)i, &im, &err) != LLX_OK ||
            memcmp(im.data, j->ref + (size_t)i * S * S, S * S) != 0)
            j->bad++;
        llx_image_free(&im);
    }
    return NULL;
}

static void test_source_threads(void)
{
    llx_error err = {0};
    llx_dataset *d = open_yaml("format: synthetic\ncount: 140\n", "train", 3, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    if (!d) return;
    enum { N = 140, T = 4 };
    uint8_t *ref = malloc((size_t)N * S * S);
    for (int i = 0; i < N; i++) {
        llx_image im = {0};
        CHECK(llx_dataset_load(d, (size_t)i, &im, &err) == LLX_OK);
        memcpy(ref + (size_t)i * S * S, im.data, S * S);
        llx_image_free(&im);
    }
    pthread_t th[T];
    load_job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (load_job){.d = d, .ref = ref, .n = N};
        pthread_create(&th[t], NULL, load_all, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].bad == 0);
    }
    free(ref);
    llx_dataset_free(d);
}

static void test_preview(void)
{
    const char *path = getenv("LLX_SYNTH_PREVIEW");
    if (!path || !*path) return;
    enum { ROWS = 6, Z = 3, GAP = 2, CELL = S * Z + GAP };
    llx_image im = {.width = 7 * CELL + GAP, .height = ROWS * CELL + GAP, .channels = 1};
    im.data = calloc((size_t)im.width * im.height, 1);
    uint8_t g[S * S];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < LLX_NUM_CLASSES; c++) {
            llx_synth_render(c, 9000 + (uint64_t)r, S, 1.0f, g);
            for (int y = 0; y < S * Z; y++)
                for (int x = 0; x < S * Z; x++)
                    im.data[(size_t)(GAP + r * CELL + y) * im.width + GAP + c * CELL + x] =
                        g[(y / Z) * S + x / Z];
        }
    llx_error err = {0};
    CHECK_MSG(llx_image_save_png(path, &im, &err) == LLX_OK, "%s", err.msg);
    printf("     preview: %s (columns: neutral anger disgust fear happiness sadness surprise)\n", path);
    llx_image_free(&im);
}

int main(void)
{
    RUN(test_deterministic);
    RUN(test_each_class_renders);
    RUN(test_mouth_region_differs);
    RUN(test_render_time);
    RUN(test_source_defaults_and_balance);
    RUN(test_source_seeds_and_splits);
    RUN(test_source_errors);
    RUN(test_difficulty);
    RUN(test_source_threads);
    RUN(test_preview);
    return check_report();
}
