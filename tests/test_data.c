/* test_data.c: images, classes and the dataset formats (llx/data.h) on fixture trees
 * generated in a temporary folder, plus the real FER2013 folders when present. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture_tree.h"
#include "llx/data.h"

#define REAL_FER2013 "/work/shared/data/fer2013"

static char *tmp; /* the fixture root of this run */

/* Opens `data:` of yaml (named exp.yaml in messages) for split. */
static llx_status open_yaml(const char *yaml, const char *split, llx_dataset **d, llx_error *err)
{
    llx_doc *doc = NULL;
    *d = NULL;
    llx_status st = llx_doc_parse("exp.yaml", yaml, NULL, 0, &doc, err);
    if (st == LLX_OK) st = llx_dataset_open(llx_cfg_get(llx_doc_root(doc), "data"), split, 7, d, err);
    llx_doc_free(doc);
    return st;
}

/* Opens and fails the test on error. */
static llx_dataset *open_ok(const char *yaml, const char *split)
{
    llx_dataset *d;
    llx_error err = {0};
    llx_status st = open_yaml(yaml, split, &d, &err);
    CHECK_MSG(st == LLX_OK, "%s", err.msg);
    return st == LLX_OK ? d : NULL;
}

static llx_data_stats stats_of(const llx_dataset *d)
{
    llx_data_stats s;
    llx_dataset_stats(d, &s);
    return s;
}

static void test_classes(void)
{
    CHECK(strcmp(llx_class_name(LLX_NEUTRAL), "neutral") == 0);
    CHECK(strcmp(llx_class_name(LLX_HAPPINESS), "happiness") == 0);
    CHECK(strcmp(llx_class_name(LLX_SURPRISE), "surprise") == 0);
    CHECK(strcmp(llx_class_name(7), "unknown") == 0);
    static const struct {
        const char *name;
        int cls;
    } cases[] = {{"angry", LLX_ANGER},
                 {"Anger", LLX_ANGER},
                 {"disgust", LLX_DISGUST},
                 {"fear", LLX_FEAR},
                 {"happy", LLX_HAPPINESS},
                 {"sad", LLX_SADNESS},
                 {"surprise", LLX_SURPRISE},
                 {"surprised", LLX_SURPRISE},
                 {"NEUTRAL", LLX_NEUTRAL},
                 {"contempt", -1},
                 {"other", -1},
                 {"", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(llx_class_from_name(cases[i].name) == cases[i].cls, "%s", cases[i].name);
    CHECK(llx_class_from_name(NULL) == -1);
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        CHECK(llx_class_from_name(llx_class_name(c)) == c);
}

static void test_image_roundtrip(void)
{
    char p[4096];
    llx_error err = {0};
    uint8_t px[4 * 3 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7);
    llx_image rgb = {.width = 4, .height = 3, .channels = 3, .data = px}, out;
    CHECK(llx_image_save_png(fixture_path(p, sizeof p, "%s/rt.png", tmp), &rgb, &err) == LLX_OK);
    CHECK(llx_image_load(p, &out, &err) == LLX_OK);
    CHECK(out.width == 4 && out.height == 3 && out.channels == 3);
    CHECK(out.data && memcmp(out.data, px, sizeof px) == 0);
    llx_image_free(&out);
    CHECK(out.data == NULL);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/g.jpg", tmp), 16, 8, 1, 200) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_OK);
    CHECK(out.width == 16 && out.height == 8 && out.channels == 1);
    CHECK(out.data && abs(out.data[5] - 200) <= 2);
    llx_image_free(&out);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/c.jpg", tmp), 9, 7, 3, 50) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_OK);
    CHECK(out.width == 9 && out.height == 7 && out.channels == 3);
    llx_image_free(&out);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/g.png", tmp), 5, 5, 1, 77) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_OK);
    CHECK(out.channels == 1 && out.data && out.data[24] == 77);
    llx_image_free(&out);
}

static void test_corrupt_images(void)
{
    char p[4096];
    llx_error err = {0};
    llx_image out;
    static const uint8_t junk[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',  'F',  'I', 'F',
                                   0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    CHECK(fixture_bytes(fixture_path(p, sizeof p, "%s/bad/corrupt.jpg", tmp), junk, sizeof junk) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, p);
    CHECK_CONTAINS(err.msg, "JPEG");
    CHECK(out.data == NULL);
    CHECK(fixture_truncated_image(fixture_path(p, sizeof p, "%s/bad/trunc.jpg", tmp), 64, 64, 300) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, p);
    CHECK(fixture_truncated_image(fixture_path(p, sizeof p, "%s/bad/trunc.png", tmp), 64, 64, 60) == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, p);
    CHECK_CONTAINS(err.msg, "PNG");
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/bad/text.jpg", tmp), "hello") == 0);
    CHECK(llx_image_load(p, &out, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "neither a JPEG nor a PNG");
    CHECK(llx_image_load(fixture_path(p, sizeof p, "%s/bad/none.jpg", tmp), &out, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, p);
}

/* root/train/{angry x3, happy x2, contempt x2}, root/val/{sad x1} */
static void make_imagefolder(const char *root)
{
    char p[4096];
    const char *names[] = {"angry", "angry", "angry", "happy", "happy", "contempt", "contempt"};
    for (int i = 0; i < 7; i++)
        CHECK(fixture_image(fixture_path(p, sizeof p, "%s/train/%s/img_%d.%s", root, names[i], 6 - i,
                                         i == 4 ? "png" : "jpg"),
                            8, 8, 3, (uint8_t)(10 * i)) == 0);
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/train/angry/notes.txt", root), "x") == 0);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/val/sad/a.jpg", root), 8, 8, 1, 1) == 0);
}

static void test_imagefolder(void)
{
    char root[4096], yaml[20000], buf[4096];
    make_imagefolder(fixture_path(root, sizeof root, "%s/if", tmp));
    snprintf(yaml, sizeof yaml, "data:\n  format: imagefolder\n  root: %s\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 5);
    int64_t counts[LLX_NUM_CLASSES];
    llx_dataset_class_counts(d, counts);
    CHECK(counts[LLX_ANGER] == 3 && counts[LLX_HAPPINESS] == 2 && counts[LLX_NEUTRAL] == 0);
    llx_data_stats s = stats_of(d);
    CHECK(s.kept == 5 && s.dropped_class == 2 && s.dropped_missing == 0);
    /* sorted by class folder, then file name */
    CHECK_CONTAINS(llx_dataset_describe(d, 0, buf, sizeof buf), "/train/angry/img_4.jpg");
    CHECK_CONTAINS(llx_dataset_describe(d, 2, buf, sizeof buf), "/train/angry/img_6.jpg");
    CHECK_CONTAINS(llx_dataset_describe(d, 3, buf, sizeof buf), "/train/happy/img_2.png");
    CHECK(llx_dataset_sample(d, 0)->label == LLX_ANGER);
    CHECK(llx_dataset_sample(d, 4)->label == LLX_HAPPINESS);
    CHECK(llx_dataset_sample(d, 4)->video == -1 && llx_dataset_sample(d, 4)->frame == -1);
    CHECK(llx_dataset_sample(d, 5) == NULL);
    CHECK_NEAR(llx_dataset_max_bad(d), 0.01, 1e-12);
    llx_image im;
    llx_error err = {0};
    CHECK(llx_dataset_load(d, 3, &im, &err) == LLX_OK);
    CHECK(im.width == 8 && im.channels == 3 && im.data[0] == 40);
    llx_image_free(&im);
    CHECK(llx_dataset_load(d, 99, &im, &err) == LLX_ERR_INVALID);
    llx_dataset_free(d);
    d = open_ok(yaml, "val");
    CHECK(d && llx_dataset_size(d) == 1 && llx_dataset_sample(d, 0)->label == LLX_SADNESS);
    llx_dataset_free(d);
    /* no test folder: the error says which folders it looked for */
    llx_error e2 = {0};
    CHECK(open_yaml(yaml, "test", &d, &e2) == LLX_ERR_IO);
    CHECK_CONTAINS(e2.msg, "no folder for split 'test'");
}

static void test_classes_filter_limit_multi(void)
{
    char root[4096], yaml[20000];
    fixture_path(root, sizeof root, "%s/if", tmp); /* made by test_imagefolder */
    snprintf(yaml, sizeof yaml, "data:\n  format: imagefolder\n  root: %s\n  classes: [happiness]\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    CHECK(d && llx_dataset_size(d) == 2 && stats_of(d).dropped_class == 5);
    llx_dataset_free(d);
    snprintf(yaml, sizeof yaml, "data:\n  format: imagefolder\n  root: %s\n  limit: 2\n", root);
    d = open_ok(yaml, "train");
    CHECK(d && llx_dataset_size(d) == 2 && stats_of(d).dropped_limit == 3);
    llx_dataset_free(d);
    snprintf(yaml, sizeof yaml,
             "data:\n"
             "  - {format: imagefolder, root: %s, classes: [anger], max_bad: 0.2}\n"
             "  - {format: imagefolder, root: %s, split: {train: val}, max_bad: 0.05}\n",
             root, root);
    d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 4);
    CHECK(llx_dataset_sample(d, 2)->source == 0 && llx_dataset_sample(d, 3)->source == 1);
    CHECK(llx_dataset_sample(d, 3)->label == LLX_SADNESS);
    CHECK_NEAR(llx_dataset_max_bad(d), 0.05, 1e-12);
    llx_dataset_free(d);
}

static void test_fer2013_csv(void)
{
    char path[4096], yaml[20000], buf[4096];
    fixture_path(path, sizeof path, "%s/fercsv/fer2013.csv", tmp);
    CHECK(fixture_fer2013_csv(path, "Usage,pixels,emotion", 9, 3, 2) == 0);
    snprintf(yaml, sizeof yaml, "data:\n  format: fer2013\n  path: %s\n", path);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 9);
    CHECK(llx_dataset_sample(d, 0)->label == LLX_ANGER);     /* 0 angry */
    CHECK(llx_dataset_sample(d, 3)->label == LLX_HAPPINESS); /* 3 happy */
    CHECK(llx_dataset_sample(d, 6)->label == LLX_NEUTRAL);   /* 6 neutral */
    CHECK(llx_dataset_sample(d, 7)->label == LLX_ANGER);
    CHECK_CONTAINS(llx_dataset_describe(d, 4, buf, sizeof buf), "fer2013.csv row 5");
    llx_image im;
    llx_error err = {0};
    CHECK(llx_dataset_load(d, 5, &im, &err) == LLX_OK);
    CHECK(im.width == 48 && im.height == 48 && im.channels == 1 && im.data[100] == 5);
    llx_image_free(&im);
    llx_dataset_free(d);
    /* folder holding fer2013.csv; val = PublicTest, test = PrivateTest */
    fixture_path(path, sizeof path, "%s/fercsv", tmp);
    snprintf(yaml, sizeof yaml, "data:\n  format: fer2013\n  root: %s\n", path);
    d = open_ok(yaml, "val");
    CHECK(d && llx_dataset_size(d) == 3 && llx_dataset_sample(d, 0)->item == 9);
    llx_dataset_free(d);
    d = open_ok(yaml, "test");
    CHECK(d && llx_dataset_size(d) == 2 && llx_dataset_sample(d, 1)->item == 13);
    llx_dataset_free(d);
    /* FER+ votes relabel the rows: argmax, contempt dropped, no votes invalid */
    char plus[4096], line[256];
    fixture_path(plus, sizeof plus, "%s/fercsv/fer2013new.csv", tmp);
    FILE *f = fopen(plus, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,"
          "unknown,NF\n",
          f);
    for (int r = 0; r < 14; r++) {
        const char *votes = r == 0   ? "0,6,4,0,0,0,0,0,0,0"
                            : r == 1 ? "0,0,0,0,0,0,0,7,3,0"
                            : r == 2 ? "0,0,0,0,0,0,0,0,0,0"
                                     : "10,0,0,0,0,0,0,0,0,0";
        snprintf(line, sizeof line, "Training,fer%07d.png,%s\n", r, votes);
        fputs(line, f);
    }
    fclose(f);
    snprintf(yaml, sizeof yaml, "data: {format: fer2013, root: %s/fercsv, ferplus: %s}\n", tmp, plus);
    d = open_ok(yaml, "train");
    CHECK(d && llx_dataset_size(d) == 7);
    if (d && llx_dataset_size(d) == 7) {
        CHECK(llx_dataset_sample(d, 0)->label == LLX_HAPPINESS);
        CHECK(llx_dataset_sample(d, 1)->label == LLX_NEUTRAL);
        CHECK(stats_of(d).dropped_class == 1 && stats_of(d).dropped_invalid == 1);
    }
    llx_dataset_free(d);
    /* a row with bad pixels stays and fails when loaded, naming the row */
    fixture_path(path, sizeof path, "%s/fercsv/bad.csv", tmp);
    CHECK(fixture_text(path, "emotion,pixels,Usage\n3,1 2 3,Training\n") == 0);
    snprintf(yaml, sizeof yaml, "data:\n  format: fer2013\n  path: %s\n", path);
    d = open_ok(yaml, "train");
    CHECK(d && llx_dataset_size(d) == 1);
    if (d) {
        CHECK(llx_dataset_load(d, 0, &im, &err) == LLX_ERR_IO);
        CHECK_CONTAINS(err.msg, "bad.csv row 1");
    }
    llx_dataset_free(d);
}

static void test_fer2013_folders(void)
{
    char root[4096], yaml[20000];
    fixture_path(root, sizeof root, "%s/ferdir", tmp);
    CHECK(fixture_fer2013_folders(root, 14, 4, 3) == 0);
    snprintf(yaml, sizeof yaml, "data: {format: fer2013, root: %s}\n", root);
    const char *splits[] = {"train", "val", "test"};
    const size_t sizes[] = {14, 4, 3};
    for (int s = 0; s < 3; s++) {
        llx_dataset *d = open_ok(yaml, splits[s]);
        CHECK_MSG(d && llx_dataset_size(d) == sizes[s], "split %s", splits[s]);
        llx_dataset_free(d);
    }
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    int64_t counts[LLX_NUM_CLASSES];
    llx_dataset_class_counts(d, counts);
    for (int c = 0; c < LLX_NUM_CLASSES; c++)
        CHECK(counts[c] == 2);
    /* class folders in name order: angry first */
    CHECK(llx_dataset_sample(d, 0)->label == LLX_ANGER);
    llx_dataset_free(d);
}

static void test_affwild2(void)
{
    char root[4096], yaml[20000], buf[4096];
    fixture_path(root, sizeof root, "%s/aw2", tmp);
    /* video a (with header): 0 0 -1 7 1 1 2, frame 6 has no image */
    int a[] = {0, 0, -1, 7, 1, 1, 2};
    uint8_t a_img[] = {1, 1, 1, 1, 1, 0, 1};
    CHECK(fixture_affwild2_video(root, "Training_Set", "a", a, 7, a_img, 1) == 0);
    /* video b (no header): 30 neutral frames */
    int b[30];
    for (int i = 0; i < 30; i++)
        b[i] = 0;
    CHECK(fixture_affwild2_video(root, "Training_Set", "b", b, 30, NULL, 0) == 0);
    /* video c: 30 neutral frames with frame 15 invalid: two runs */
    int c[30];
    for (int i = 0; i < 30; i++)
        c[i] = i == 14 ? -1 : 0;
    CHECK(fixture_affwild2_video(root, "Training_Set", "c", c, 30, NULL, 1) == 0);
    int v[] = {6, 6, 5};
    CHECK(fixture_affwild2_video(root, "Validation_Set", "v", v, 3, NULL, 1) == 0);

    snprintf(yaml, sizeof yaml, "data:\n  format: affwild2\n  root: %s\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 4 + 30 + 29);
    llx_data_stats s = stats_of(d);
    CHECK(s.dropped_invalid == 2 && s.dropped_class == 1 && s.dropped_missing == 1);
    const llx_sample *s0 = llx_dataset_sample(d, 0), *s3 = llx_dataset_sample(d, 3);
    CHECK(s0->label == LLX_NEUTRAL && s0->video == 0 && s0->frame == 1);
    CHECK(s3->label == LLX_DISGUST && s3->frame == 7);
    CHECK(llx_dataset_sample(d, 2)->frame == 5);
    CHECK(llx_dataset_sample(d, 4)->video == 1 && llx_dataset_sample(d, 4)->frame == 1);
    CHECK_CONTAINS(llx_dataset_describe(d, 3, buf, sizeof buf), "/cropped_aligned/a/00007.jpg");
    llx_image im;
    llx_error err = {0};
    CHECK(llx_dataset_load(d, 3, &im, &err) == LLX_OK);
    llx_image_free(&im);
    llx_dataset_free(d);

    /* subsample: b keeps frames 1, 13, 25; c keeps 1, 13 | 16, 28; a: run 0 0 keeps 1 */
    snprintf(yaml, sizeof yaml, "data:\n  format: affwild2\n  root: %s\n  subsample: {neutral: 12}\n", root);
    d = open_ok(yaml, "train");
    if (!d) return;
    s = stats_of(d);
    CHECK_MSG(llx_dataset_size(d) == 3 + 3 + 4, "size %zu", llx_dataset_size(d));
    CHECK(s.dropped_subsample == 1 + 27 + 25);
    int want_b[] = {1, 13, 25}, want_c[] = {1, 13, 16, 28};
    for (int i = 0; i < 3; i++)
        CHECK(llx_dataset_sample(d, 3 + i)->frame == want_b[i]);
    for (int i = 0; i < 4; i++)
        CHECK(llx_dataset_sample(d, 6 + i)->frame == want_c[i]);
    llx_dataset_free(d);

    d = open_ok(yaml, "val");
    CHECK(d && llx_dataset_size(d) == 3 && llx_dataset_sample(d, 0)->label == LLX_SURPRISE);
    llx_dataset_free(d);
    llx_error e2 = {0};
    CHECK(open_yaml(yaml, "test", &d, &e2) == LLX_ERR_INVALID);
    CHECK_CONTAINS(e2.msg, "split: {test: val}");
    snprintf(yaml, sizeof yaml, "data: {format: affwild2, root: %s, split: {test: val}}\n", root);
    d = open_ok(yaml, "test");
    CHECK(d && llx_dataset_size(d) == 3);
    llx_dataset_free(d);

    /* a label out of range names the file and line */
    fixture_path(buf, sizeof buf, "%s/aw2bad/annotations/EXPR_Set/Training_Set/x.txt", tmp);
    CHECK(fixture_text(buf, "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n0\n9\n") == 0);
    snprintf(yaml, sizeof yaml, "data: {format: affwild2, root: %s/aw2bad}\n", tmp);
    CHECK(open_yaml(yaml, "train", &d, &e2) == LLX_ERR_PARSE);
    CHECK_CONTAINS(e2.msg, "x.txt:3: label '9'");
}

static void test_rafdb(void)
{
    char root[4096], p[4096], yaml[20000];
    fixture_path(root, sizeof root, "%s/raf", tmp);
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/EmoLabel/list_patition_label.txt", root),
                       "train_00001.jpg 1\ntrain_00002.jpg 2\ntrain_00003.jpg 3\n"
                       "train_00004.jpg 4\ntrain_00005.jpg 5\ntrain_00006.jpg 6\n"
                       "train_00007.jpg 7\ntrain_00008.jpg 7\ntest_0001.jpg 4\n"
                       "test_0002.jpg 1\n") == 0);
    const char *stems[] = {
        "train_00001", "train_00002", "train_00003", "train_00004", "train_00005",
        "train_00006", "train_00007", "test_0001",   "test_0002"}; /* train_00008 has no image */
    for (int i = 0; i < 9; i++)
        CHECK(fixture_image(fixture_path(p, sizeof p, "%s/Image/aligned/%s_aligned.jpg", root, stems[i]), 8,
                            8, 3, 5) == 0);
    snprintf(yaml, sizeof yaml, "data: {format: rafdb, root: %s}\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    const int want[] = {LLX_SURPRISE, LLX_FEAR,  LLX_DISGUST, LLX_HAPPINESS,
                        LLX_SADNESS,  LLX_ANGER, LLX_NEUTRAL};
    CHECK(llx_dataset_size(d) == 7);
    for (int i = 0; i < 7 && i < (int)llx_dataset_size(d); i++)
        CHECK_MSG(llx_dataset_sample(d, i)->label == want[i], "raf label %d", i + 1);
    CHECK(stats_of(d).dropped_missing == 1);
    llx_image im;
    llx_error err = {0};
    CHECK(llx_dataset_load(d, 0, &im, &err) == LLX_OK);
    llx_image_free(&im);
    llx_dataset_free(d);
    d = open_ok(yaml, "test");
    CHECK(d && llx_dataset_size(d) == 2 && llx_dataset_sample(d, 1)->label == LLX_SURPRISE);
    llx_dataset_free(d);
}

static void test_affectnet(void)
{
    char root[4096], p[4096], yaml[20000];
    fixture_path(root, sizeof root, "%s/an", tmp);
    const char *lm = "\"1.5;2.5;3.5;4.5\"";
    char csv[4096];
    snprintf(csv, sizeof csv,
             "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
             "expression,valence,arousal\r\n"
             "1/a.jpg,0,0,10,10,%s,0,0.1,0.2\r\n"
             "1/b.jpg,0,0,10,10,%s,1,0.1,0.2\r\n"
             "2/c.jpg,0,0,10,10,\"7,8;9\",6,0.1,0.2\r\n"
             "2/d.jpg,0,0,10,10,%s,7,0.1,0.2\r\n"
             "2/e.jpg,0,0,10,10,%s,10,-2,-2\r\n"
             "2/missing.jpg,0,0,10,10,%s,3,0.1,0.2\r\n",
             lm, lm, lm, lm, lm);
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/training.csv", root), csv) == 0);
    snprintf(csv, sizeof csv,
             "9/x.jpg,0,0,10,10,%s,5,0.1,0.2\n9/y.jpg,0,0,10,10,%s,4,0.1,0.2\n"
             "9/z.jpg,0,0,10,10,%s,9,0.1,0.2\n",
             lm, lm, lm);
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/validation.csv", root), csv) == 0);
    const char *imgs[] = {"1/a.jpg", "1/b.jpg", "2/c.jpg", "2/d.jpg",
                          "2/e.jpg", "9/x.jpg", "9/y.jpg", "9/z.jpg"};
    for (int i = 0; i < 8; i++)
        CHECK(fixture_image(fixture_path(p, sizeof p, "%s/Manually_Annotated_Images/%s", root, imgs[i]), 8, 8,
                            3, 9) == 0);
    snprintf(yaml, sizeof yaml, "data: {format: affectnet, root: %s}\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 3);
    if (llx_dataset_size(d) == 3) {
        CHECK(llx_dataset_sample(d, 0)->label == LLX_NEUTRAL);
        CHECK(llx_dataset_sample(d, 1)->label == LLX_HAPPINESS);
        CHECK(llx_dataset_sample(d, 2)->label == LLX_ANGER);
        CHECK(llx_dataset_sample(d, 2)->item == 2);
    }
    llx_data_stats s = stats_of(d);
    CHECK(s.dropped_class == 2 && s.dropped_missing == 1);
    llx_dataset_free(d);
    d = open_ok(yaml, "val"); /* no header */
    CHECK(d && llx_dataset_size(d) == 2 && stats_of(d).dropped_class == 1);
    if (d && llx_dataset_size(d) == 2) {
        CHECK(llx_dataset_sample(d, 0)->label == LLX_DISGUST);
        CHECK(llx_dataset_sample(d, 1)->label == LLX_FEAR);
    }
    llx_dataset_free(d);
}

static void test_errors(void)
{
    char yaml[20000], root[4096];
    llx_dataset *d;
    llx_error err = {0};
    fixture_path(root, sizeof root, "%s/raf", tmp);
    snprintf(yaml, sizeof yaml, "data:\n  format: rafdb\n  root: %s\n  imges: x\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID && d == NULL);
    CHECK_CONTAINS(err.msg, "exp.yaml:4:3: data source 'rafdb': unknown key 'imges'");
    CHECK_CONTAINS(err.msg, "did you mean 'images'?");
    snprintf(yaml, sizeof yaml, "data:\n  format: rafbd\n  root: %s\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "exp.yaml:2:11: data source: unknown format 'rafbd'");
    CHECK_CONTAINS(err.msg, "did you mean 'rafdb'?");
    snprintf(yaml, sizeof yaml, "data:\n  format: affwild2\n  root: ''\n");
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:9: data source 'affwild2': root '' does not exist: "
                            "set the variable AFFWILD2 (--set AFFWILD2=/path)");
    CHECK_CONTAINS(err.msg, "experiments/quickstart.yaml");
    snprintf(yaml, sizeof yaml, "data:\n  - format: fer2013\n    path: /nonexistent/fer.csv\n");
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:11: data source 'fer2013': path '/nonexistent/fer.csv'");
    snprintf(yaml, sizeof yaml, "data:\n  format: rafdb\n");
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "needs key 'root'");
    snprintf(yaml, sizeof yaml, "data: {format: rafdb, root: %s, classes: [angri]}\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "unknown class 'angri'");
    snprintf(yaml, sizeof yaml, "data: {format: rafdb, root: %s, subsample: {neutral: 0}}\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "at least 1");
    snprintf(yaml, sizeof yaml, "data: {format: rafdb, root: %s, max_bad: 2}\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "max_bad");
    snprintf(yaml, sizeof yaml, "data: {format: rafdb, root: %s, split: tset}\n", root);
    CHECK(open_yaml(yaml, "train", &d, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "did you mean 'test'?");
}

/* A corrupt or vanished file fails at load time with its path, not at open. */
static void test_bad_files_in_dataset(void)
{
    char root[4096], p[4096], yaml[20000];
    fixture_path(root, sizeof root, "%s/badset", tmp);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/train/fear/0.jpg", root), 8, 8, 1, 3) == 0);
    CHECK(fixture_truncated_image(fixture_path(p, sizeof p, "%s/train/fear/1.png", root), 32, 32, 50) == 0);
    CHECK(fixture_text(fixture_path(p, sizeof p, "%s/train/fear/2.jpg", root), "\xff\xd8\xff garbage") == 0);
    CHECK(fixture_image(fixture_path(p, sizeof p, "%s/train/fear/3.jpg", root), 8, 8, 1, 3) == 0);
    snprintf(yaml, sizeof yaml, "data: {format: imagefolder, root: %s}\n", root);
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    CHECK(llx_dataset_size(d) == 4);
    unlink(p);
    llx_image im;
    llx_error err = {0};
    CHECK(llx_dataset_load(d, 0, &im, &err) == LLX_OK);
    llx_image_free(&im);
    const char *names[] = {"fear/1.png", "fear/2.jpg", "fear/3.jpg"};
    for (int i = 1; i < 4; i++) {
        CHECK(llx_dataset_load(d, (size_t)i, &im, &err) == LLX_ERR_IO);
        CHECK_CONTAINS(err.msg, names[i - 1]);
        CHECK(im.data == NULL);
    }
    llx_dataset_free(d);
}

typedef struct load_job {
    const llx_dataset *d;
    int failures;
} load_job;

static void *load_all(void *arg)
{
    load_job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < llx_dataset_size(j->d); i++) {
            llx_image im;
            llx_error err;
            if (llx_dataset_load(j->d, i, &im, &err) != LLX_OK || im.width != 48) j->failures++;
            llx_image_free(&im);
        }
    return NULL;
}

static void test_concurrent_load(void)
{
    char root[4096], yaml[20000];
    snprintf(yaml, sizeof yaml, "data: {format: fer2013, root: %s}\n",
             fixture_path(root, sizeof root, "%s/ferdir", tmp));
    llx_dataset *d = open_ok(yaml, "train");
    if (!d) return;
    pthread_t th[4];
    load_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (load_job){.d = d};
        CHECK(pthread_create(&th[t], NULL, load_all, &jobs[t]) == 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].failures == 0);
    }
    llx_dataset_free(d);
}

static void test_real_fer2013(void)
{
    if (access(REAL_FER2013 "/train", R_OK) != 0) {
        printf("skip test_real_fer2013: %s not present\n", REAL_FER2013);
        return;
    }
    const char *yaml = "data: {format: fer2013, root: " REAL_FER2013 "}\n";
    const char *splits[] = {"train", "val", "test"};
    const size_t sizes[] = {28709, 3589, 3589};
    for (int s = 0; s < 3; s++) {
        llx_dataset *d = open_ok(yaml, splits[s]);
        CHECK_MSG(d && llx_dataset_size(d) == sizes[s], "%s: %zu", splits[s], llx_dataset_size(d));
        if (d && s == 0) {
            /* counted with find: angry 3995, disgust 436, fear 4097, happy 7215,
             * sad 4830, surprise 3171, neutral 4965 */
            int64_t c[LLX_NUM_CLASSES];
            llx_dataset_class_counts(d, c);
            CHECK(c[LLX_ANGER] == 3995 && c[LLX_DISGUST] == 436 && c[LLX_FEAR] == 4097);
            CHECK(c[LLX_HAPPINESS] == 7215 && c[LLX_SADNESS] == 4830);
            CHECK(c[LLX_SURPRISE] == 3171 && c[LLX_NEUTRAL] == 4965);
            llx_image im;
            llx_error err = {0};
            CHECK_MSG(llx_dataset_load(d, 0, &im, &err) == LLX_OK, "%s", err.msg);
            CHECK(im.width == 48 && im.height == 48 && im.channels == 1);
            llx_image_free(&im);
        }
        if (d && s == 1) {
            int64_t c[LLX_NUM_CLASSES];
            llx_dataset_class_counts(d, c); /* PublicTest, counted with find */
            CHECK(c[LLX_ANGER] == 467 && c[LLX_DISGUST] == 56 && c[LLX_HAPPINESS] == 895);
        }
        llx_dataset_free(d);
    }
}

int main(void)
{
    tmp = fixture_tmpdir("llx_test_data");
    if (!tmp) return 1;
    RUN(test_classes);
    RUN(test_image_roundtrip);
    RUN(test_corrupt_images);
    RUN(test_imagefolder);
    RUN(test_classes_filter_limit_multi);
    RUN(test_fer2013_csv);
    RUN(test_fer2013_folders);
    RUN(test_affwild2);
    RUN(test_rafdb);
    RUN(test_affectnet);
    RUN(test_errors);
    RUN(test_bad_files_in_dataset);
    RUN(test_concurrent_load);
    RUN(test_real_fer2013);
    fixture_rmtree(tmp);
    free(tmp);
    return check_report();
}
