/* metrics.c: accuracy, per-class precision/recall/F1, macro-F1 and the ABAW
 * 2020 expression score from a 7x7 confusion matrix.
 *
 * confusion m[t][p] counts true class t predicted as p. For class c:
 *   tp = m[c][c], fp = column sum - tp, fn = row sum - tp
 *   precision = tp / (tp + fp), recall = tp / (tp + fn)  (0 when the denominator is 0)
 *   F1 = 2 tp / (2 tp + fp + fn)                          (0 when the denominator is 0)
 * The F1 form equals 2PR / (P + R) wherever that is defined and is 0 exactly
 * where sklearn's zero_division=0 gives 0. macro-F1 averages all 7 classes,
 * including classes absent from both truth and prediction. */
#include <stddef.h>
#include <string.h>

#include "llx/metrics.h"

#define ABAW_F1_WEIGHT  0.67
#define ABAW_ACC_WEIGHT 0.33

void llx_confusion_clear(llx_confusion *c)
{
    memset(c, 0, sizeof *c);
}

void llx_confusion_add(llx_confusion *c, int truth, int predicted)
{
    /* Labels are canonical classes; invalid frames are removed by the caller. */
    LLX_ASSERT(truth >= 0 && truth < LLX_NUM_CLASSES);
    LLX_ASSERT(predicted >= 0 && predicted < LLX_NUM_CLASSES);
    c->m[truth][predicted]++;
}

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

void llx_metrics_compute(const llx_confusion *c, llx_metrics *out)
{
    memset(out, 0, sizeof *out);
    int64_t total = 0, correct = 0;
    int64_t row[LLX_NUM_CLASSES] = {0}, col[LLX_NUM_CLASSES] = {0};
    for (int t = 0; t < LLX_NUM_CLASSES; t++) {
        for (int p = 0; p < LLX_NUM_CLASSES; p++) {
            int64_t v = c->m[t][p];
            row[t] += v;
            col[p] += v;
            total += v;
        }
        correct += c->m[t][t];
    }
    double f1_sum = 0;
    for (int k = 0; k < LLX_NUM_CLASSES; k++) {
        int64_t tp = c->m[k][k], fp = col[k] - tp, fn = row[k] - tp;
        out->precision[k] = ratio(tp, tp + fp);
        out->recall[k] = ratio(tp, tp + fn);
        out->class_accuracy[k] = out->recall[k];
        out->f1[k] = ratio(2 * tp, 2 * tp + fp + fn);
        f1_sum += out->f1[k];
    }
    out->total = total;
    out->accuracy = ratio(correct, total);
    out->macro_f1 = f1_sum / LLX_NUM_CLASSES;
    out->abaw = ABAW_F1_WEIGHT * out->macro_f1 + ABAW_ACC_WEIGHT * out->accuracy;
}

/* "<prefix><class name>" -> class index, or -1. */
static int class_suffix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0) return -1;
    for (int k = 0; k < LLX_NUM_CLASSES; k++) {
        const char *cls = llx_class_name(k);
        if (cls && strcmp(name + n, cls) == 0) return k;
    }
    return -1;
}

int llx_metrics_get(const llx_metrics *m, const char *name, double *out)
{
    if (!name) return -1;
    if (strcmp(name, "accuracy") == 0) {
        *out = m->accuracy;
        return 0;
    }
    if (strcmp(name, "macro_f1") == 0) {
        *out = m->macro_f1;
        return 0;
    }
    if (strcmp(name, "abaw") == 0) {
        *out = m->abaw;
        return 0;
    }
    static const struct {
        const char *prefix;
        size_t offset;
    } per_class[] = {
        {"f1_", offsetof(llx_metrics, f1)},
        {"precision_", offsetof(llx_metrics, precision)},
        {"recall_", offsetof(llx_metrics, recall)},
        {"acc_", offsetof(llx_metrics, class_accuracy)},
    };
    for (size_t i = 0; i < sizeof per_class / sizeof per_class[0]; i++) {
        int k = class_suffix(name, per_class[i].prefix);
        if (k < 0) continue;
        const double *arr = (const double *)((const char *)m + per_class[i].offset);
        *out = arr[k];
        return 0;
    }
    return -1;
}
