/* llx/plot.h: PNG figures of runs, drawn with cairo for a paper draft.
 *
 *     llx_plot_run(&run, run.dir, &err);        // run.dir/curves.png and run.dir/confusion.png
 *
 * Every function writes the file whole (path.tmp.<pid>, then rename) and returns a status
 * with a message naming the path on failure. Figures are drawn at twice their logical
 * size (about 1600 pixels wide) with DejaVu Sans, a colour-blind-safe palette and light
 * grid lines. */
#ifndef LLX_PLOT_H
#define LLX_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "llx/data.h"
#include "llx/runread.h"
#include "llx/status.h"

/* Grouped bars: n_groups groups (labels along x, wrapped at ", ") of n_series bars each
 * (legend names in series). values and errors are (n_groups, n_series) row-major; errors
 * may be NULL, a 0 error draws no whisker. The y axis starts at a round value below the
 * smallest bar (not at 0 when every bar is high) and says so. */
typedef struct llx_plot_bars_spec {
    const char *title, *subtitle, *ylabel; /* subtitle, ylabel (optional) */
    const char *const *series;
    int n_series; /* at most 8 */
    const char *const *labels;
    size_t n_groups;
    const double *values, *errors;
} llx_plot_bars_spec;

llx_status llx_plot_bars(const char *path, const llx_plot_bars_spec *spec, llx_error *err);

/* Training curves of a run: loss (train, val), accuracy (train, val, val macro-F1) and
 * learning rate per epoch, the best epoch marked. Needs a /history with epoch and at
 * least one of the columns. */
llx_status llx_plot_curves(const llx_run *run, const char *path, llx_error *err);

/* A confusion matrix (rows truth, columns predicted) as a grid coloured by the row
 * fraction, with counts, row percentages and class names. */
llx_status llx_plot_confusion(const int64_t m[LLX_NUM_CLASSES][LLX_NUM_CLASSES], const char *title,
                              const char *path, llx_error *err);

/* dir/curves.png and dir/confusion.png (the /test confusion when present, else /val_best,
 * else the best epoch's row of /history/val_confusion). A run without history or
 * confusion gives LLX_ERR_NOT_FOUND naming what is missing; curves.png is still written
 * when only the confusion is missing. */
llx_status llx_plot_run(const llx_run *run, const char *dir, llx_error *err);

#endif
