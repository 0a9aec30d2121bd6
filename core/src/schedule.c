/* schedule.c: learning-rate schedules (see llx/train.h). */
#include <math.h>

#include "llx/train.h"

double llx_schedule_lr(const llx_schedule *s, double epoch)
{
    double whole = floor(epoch), lr = s->lr;
    switch (s->kind) {
    case LLX_SCHEDULE_CONSTANT: break;
    case LLX_SCHEDULE_STEP: lr = s->lr * pow(s->gamma, floor(whole / (s->step_size > 0 ? s->step_size : 1))); break;
    case LLX_SCHEDULE_EXPONENTIAL: lr = s->lr * pow(s->gamma, whole); break;
    case LLX_SCHEDULE_COSINE: {
        double t = s->epochs > 0 ? fmin(epoch / s->epochs, 1.0) : 1.0;
        lr = s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * t));
        break;
    }
    default: break;
    }
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs) {
        double start = s->warmup_start * s->lr, f = epoch / s->warmup_epochs;
        lr = start + (lr - start) * f;
    }
    return lr;
}
