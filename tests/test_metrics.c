/* test_metrics.c: accuracy, precision/recall/F1, macro-F1 and the ABAW score
 * on hand-computed confusion matrices (m[t][p]: true t predicted p). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "llx/metrics.h"

static void fill(llx_confusion *c, const int64_t m[LLX_NUM_CLASSES][LLX_NUM_CLASSES])
{
    llx_confusion_clear(c);
    for (int t = 0; t < LLX_NUM_CLASSES; t++)
        for (int p = 0; p < LLX_NUM_CLASSES; p++)
            for (int64_t k = 0; k < m[t][p]; k++)
                llx_confusion_add(c, t, p);
}

static void test_clear_add(void)
{
    llx_confusion c;
    memset(&c, 0x5a, sizeof c);
    llx_confusion_clear(&c);
    for (int t = 0; t < LLX_NUM_CLASSES; t++)
        for (int p = 0; p < LLX_NUM_CLASSES; p++)
            CHECK(c.m[t][p] == 0);
    llx_confusion_add(&c, 1, 4);
    llx_confusion_add(&c, 1, 4);
    llx_confusion_add(&c, 6, 6);
    CHECK(c.m[1][4] == 2 && c.m[4][1] == 0 && c.m[6][6] == 1);
}

static void test_empty(void)
{
    llx_confusion c;
    llx_confusion_clear(&c);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 0);
    CHECK(m.accuracy == 0 && m.macro_f1 == 0 && m.abaw == 0);
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        CHECK(m.f1[k] == 0 && m.precision[k] == 0 && m.recall[k] == 0);
}

static void test_perfect(void)
{
    llx_confusion c;
    llx_confusion_clear(&c);
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        for (int i = 0; i <= k; i++)
            llx_confusion_add(&c, k, k);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 28);
    CHECK_NEAR(m.accuracy, 1.0, 0);
    CHECK_NEAR(m.macro_f1, 1.0, 1e-15);
    CHECK_NEAR(m.abaw, 1.0, 1e-15);
    for (int k = 0; k < LLX_NUM_CLASSES; k++) {
        CHECK_NEAR(m.f1[k], 1.0, 0);
        CHECK_NEAR(m.precision[k], 1.0, 0);
        CHECK_NEAR(m.recall[k], 1.0, 0);
        CHECK_NEAR(m.class_accuracy[k], 1.0, 0);
    }
}

/* Perfect on the classes present; sadness and fear never occur (truth or
 * prediction): their F1 is 0 and still counts, so macro-F1 = 5/7. */
static void test_absent_classes(void)
{
    static const int64_t mat[LLX_NUM_CLASSES][LLX_NUM_CLASSES] = {
        {4}, {0, 2}, {0, 0, 3}, {0}, {0, 0, 0, 0, 9}, {0}, {0, 0, 0, 0, 0, 0, 1},
    };
    llx_confusion c;
    fill(&c, mat);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 19);
    CHECK_NEAR(m.accuracy, 1.0, 0);
    CHECK_NEAR(m.macro_f1, 5.0 / 7.0, 1e-15);
    CHECK_NEAR(m.abaw, 0.67 * 5.0 / 7.0 + 0.33, 1e-15);
    CHECK(m.f1[LLX_FEAR] == 0 && m.f1[LLX_SADNESS] == 0);
    CHECK(m.precision[LLX_FEAR] == 0 && m.recall[LLX_SADNESS] == 0);
    CHECK(m.f1[LLX_ANGER] == 1.0);
}

/* Nothing on the diagonal: accuracy and every F1 are 0, though every class
 * has true and predicted samples. */
static void test_diagonal_free(void)
{
    llx_confusion c;
    llx_confusion_clear(&c);
    for (int t = 0; t < LLX_NUM_CLASSES; t++) {
        llx_confusion_add(&c, t, (t + 1) % LLX_NUM_CLASSES);
        llx_confusion_add(&c, t, (t + 3) % LLX_NUM_CLASSES);
    }
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 14);
    CHECK(m.accuracy == 0 && m.macro_f1 == 0 && m.abaw == 0);
    for (int k = 0; k < LLX_NUM_CLASSES; k++)
        CHECK(m.f1[k] == 0 && m.precision[k] == 0 && m.recall[k] == 0);
}

/* A small 7x7 example, computed by hand (rows = truth, columns = prediction):
 *
 *             ne an di fe ha sa su | row  tp  P      R     F1 = 2tp/(row+col)
 *   neutral    3  1  0  0  0  0  0 |  4   3   3/4    3/4   6/8 = 3/4
 *   anger      0  2  1  0  0  0  0 |  3   2   2/3    2/3   4/6 = 2/3
 *   disgust    0  0  1  0  0  0  0 |  1   1   1/2    1     2/3
 *   fear       0  0  0  0  0  0  1 |  1   0   0      0     0
 *   happiness  1  0  0  0  4  0  0 |  5   4   1      4/5   8/9
 *   sadness    0  0  0  0  0  0  0 |  0   0   0      0     0   (absent)
 *   surprise   0  0  0  1  0  0  1 |  2   1   1/2    1/2   2/4 = 1/2
 *   column     4  3  2  1  4  0  2 | total 16, correct 11
 *
 * accuracy = 11/16; sum F1 = (27 + 24 + 24 + 0 + 32 + 0 + 18) / 36 = 125/36,
 * macro-F1 = 125/252 = 0.496031..., ABAW = 0.67 * 125/252 + 0.33 * 11/16. */
/* clang-format off */
static const int64_t hand_mat[LLX_NUM_CLASSES][LLX_NUM_CLASSES] = {
    {3, 1, 0, 0, 0, 0, 0},
    {0, 2, 1, 0, 0, 0, 0},
    {0, 0, 1, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 0, 1},
    {1, 0, 0, 0, 4, 0, 0},
    {0, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 1, 0, 0, 1},
};
/* clang-format on */

static void test_hand_7x7(void)
{
    static const double P[7] = {3. / 4, 2. / 3, 1. / 2, 0, 1, 0, 1. / 2};
    static const double R[7] = {3. / 4, 2. / 3, 1, 0, 4. / 5, 0, 1. / 2};
    static const double F1[7] = {3. / 4, 2. / 3, 2. / 3, 0, 8. / 9, 0, 1. / 2};
    llx_confusion c;
    fill(&c, hand_mat);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 16);
    CHECK_NEAR(m.accuracy, 11.0 / 16.0, 1e-15);
    for (int k = 0; k < LLX_NUM_CLASSES; k++) {
        CHECK_NEAR(m.precision[k], P[k], 1e-15);
        CHECK_NEAR(m.recall[k], R[k], 1e-15);
        CHECK_NEAR(m.class_accuracy[k], R[k], 1e-15);
        CHECK_NEAR(m.f1[k], F1[k], 1e-15);
    }
    CHECK_NEAR(m.macro_f1, 125.0 / 252.0, 1e-15);
    CHECK_NEAR(m.abaw, 0.67 * 125.0 / 252.0 + 0.33 * 11.0 / 16.0, 1e-15);
}

/* The ABAW 2020 arithmetic: macro-F1 0.38 and accuracy 0.49 give
 * 0.67 * 0.38 + 0.33 * 0.49 = 0.4163. This 100-sample matrix (49 correct) has
 * per-class F1 (2 tp / (row + col)):
 *   neutral 0/15, anger 0/13, disgust 22/35, fear 6/20, happiness 24/42,
 *   sadness 12/25, surprise 34/50,
 * summing to 42/35 + 3/10 + 29/25 = 133/50 = 2.66 = 7 x 0.38. */
static void test_abaw_paper_example(void)
{
    static const int64_t mat[LLX_NUM_CLASSES][LLX_NUM_CLASSES] = {
        {0, 2, 0, 0, 0, 3, 2},  {2, 0, 0, 1, 1, 2, 0}, {0, 4, 11, 1, 1, 0, 1}, {0, 0, 2, 3, 0, 0, 1},
        {3, 0, 1, 4, 12, 2, 1}, {0, 1, 0, 1, 4, 6, 0}, {3, 0, 3, 4, 1, 0, 17},
    };
    llx_confusion c;
    fill(&c, mat);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    CHECK(m.total == 100);
    CHECK_NEAR(m.accuracy, 0.49, 1e-15);
    CHECK_NEAR(m.macro_f1, 0.38, 1e-15);
    CHECK_NEAR(m.abaw, 0.4163, 1e-15);
    CHECK_NEAR(0.67 * 0.38 + 0.33 * 0.49, 0.4163, 1e-15);
}

static void test_get_by_name(void)
{
    llx_confusion c;
    fill(&c, hand_mat);
    llx_metrics m;
    llx_metrics_compute(&c, &m);
    double v = -1;
    CHECK(llx_metrics_get(&m, "accuracy", &v) == 0 && v == m.accuracy);
    CHECK(llx_metrics_get(&m, "macro_f1", &v) == 0 && v == m.macro_f1);
    CHECK(llx_metrics_get(&m, "abaw", &v) == 0 && v == m.abaw);
    static const char *const names[LLX_NUM_CLASSES] = {"neutral",   "anger",   "disgust", "fear",
                                                       "happiness", "sadness", "surprise"};
    for (int k = 0; k < LLX_NUM_CLASSES; k++) {
        char key[64];
        snprintf(key, sizeof key, "f1_%s", names[k]);
        CHECK_MSG(llx_metrics_get(&m, key, &v) == 0 && v == m.f1[k], "%s", key);
        snprintf(key, sizeof key, "precision_%s", names[k]);
        CHECK_MSG(llx_metrics_get(&m, key, &v) == 0 && v == m.precision[k], "%s", key);
        snprintf(key, sizeof key, "recall_%s", names[k]);
        CHECK_MSG(llx_metrics_get(&m, key, &v) == 0 && v == m.recall[k], "%s", key);
        snprintf(key, sizeof key, "acc_%s", names[k]);
        CHECK_MSG(llx_metrics_get(&m, key, &v) == 0 && v == m.class_accuracy[k], "%s", key);
    }
    CHECK(llx_metrics_get(&m, "f1_happiness", &v) == 0 && fabs(v - 8.0 / 9.0) < 1e-15);
    CHECK(llx_metrics_get(&m, "precision_disgust", &v) == 0 && v == 0.5);
    v = 42;
    CHECK(llx_metrics_get(&m, "f1_happy", &v) == -1); /* dataset spellings are not metric names */
    CHECK(llx_metrics_get(&m, "f1_", &v) == -1);
    CHECK(llx_metrics_get(&m, "f1_neutralx", &v) == -1);
    CHECK(llx_metrics_get(&m, "loss", &v) == -1);
    CHECK(llx_metrics_get(&m, "", &v) == -1);
    CHECK(v == 42);
}

int main(void)
{
    RUN(test_clear_add);
    RUN(test_empty);
    RUN(test_perfect);
    RUN(test_absent_classes);
    RUN(test_diagonal_free);
    RUN(test_hand_7x7);
    RUN(test_abaw_paper_example);
    RUN(test_get_by_name);
    return check_report();
}
