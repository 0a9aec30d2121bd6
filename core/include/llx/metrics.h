/* llx/metrics.h: classification metrics from a confusion matrix.
 *
 * confusion[t][p] counts samples of true class t predicted as p. Classes
 * with no true and no predicted sample have F1 0 and still count in the
 * macro mean (as sklearn's f1_score(average='macro') with zero_division=0
 * and the ABAW evaluation do over the 7 classes). */
#ifndef LLX_METRICS_H
#define LLX_METRICS_H

#include <stdint.h>

#include "llx/data.h"

typedef struct llx_metrics {
    int64_t total;
    double accuracy;
    double macro_f1;
    double abaw; /* 0.67 * macro_f1 + 0.33 * accuracy (ABAW 2020 expression score) */
    double precision[LLX_NUM_CLASSES], recall[LLX_NUM_CLASSES], f1[LLX_NUM_CLASSES];
    double class_accuracy[LLX_NUM_CLASSES]; /* = recall: correct / true count per class */
} llx_metrics;

typedef struct llx_confusion {
    int64_t m[LLX_NUM_CLASSES][LLX_NUM_CLASSES];
} llx_confusion;

void llx_confusion_clear(llx_confusion *c);
void llx_confusion_add(llx_confusion *c, int truth, int predicted);
void llx_metrics_compute(const llx_confusion *c, llx_metrics *out);
/* The value of a metric by name ("accuracy", "macro_f1", "abaw", "f1_anger",
 * "acc_neutral", ...); returns 0 and fills *out, or -1 for an unknown name. */
int llx_metrics_get(const llx_metrics *m, const char *name, double *out);

#endif
