/* plot.c: see llx/plot.h. A few cairo helpers (text, axes with round ticks, legends)
 * and three figures: grouped bars, training curves, confusion matrix. Coordinates are
 * logical units; the surface is SCALE times larger. */
#include <cairo.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llx/plot.h"

#define SCALE 2.0
#define FONT  "DejaVu Sans"

/* Okabe-Ito-like, colour-blind safe: blue, orange, green, vermillion, purple, sky, yellow, grey. */
static const unsigned palette[8] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00,
                                    0xCC79A7, 0x56B4E9, 0xF0E442, 0x7F7F7F};

typedef struct fig {
    cairo_surface_t *surface;
    cairo_t *cr;
} fig;

static void rgb(cairo_t *cr, unsigned hex)
{
    cairo_set_source_rgb(cr, ((hex >> 16) & 255) / 255.0, ((hex >> 8) & 255) / 255.0, (hex & 255) / 255.0);
}

static llx_status fig_open(fig *f, double w, double h, const char *path, llx_error *err)
{
    f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(w * SCALE), (int)(h * SCALE));
    f->cr = cairo_create(f->surface);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(f->cr);
        cairo_surface_destroy(f->surface);
        return llx_errorf(err, LLX_ERR_NOMEM, "%s: cannot make a %.0fx%.0f image", path, w * SCALE,
                          h * SCALE);
    }
    cairo_scale(f->cr, SCALE, SCALE);
    rgb(f->cr, 0xFFFFFF);
    cairo_paint(f->cr);
    cairo_select_font_face(f->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_join(f->cr, CAIRO_LINE_JOIN_ROUND);
    return LLX_OK;
}

/* Writes path.tmp.<pid>, renames it into place, frees the figure. */
static llx_status fig_save(fig *f, const char *path, llx_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cairo_surface_flush(f->surface);
    cairo_status_t st = cairo_surface_write_to_png(f->surface, tmp);
    cairo_destroy(f->cr);
    cairo_surface_destroy(f->surface);
    /* No cairo object is alive now: drop cairo's font caches, which leak checkers
     * would otherwise report at exit (llx draws a few figures, not thousands). */
    cairo_debug_reset_static_data();
    if (st != CAIRO_STATUS_SUCCESS) {
        unlink(tmp);
        return llx_errorf(err, LLX_ERR_IO, "%s: cannot write the PNG (%s; does its folder exist?)", path,
                          cairo_status_to_string(st));
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return llx_errorf(err, LLX_ERR_IO, "%s: cannot rename %s into place", path, tmp);
    }
    return LLX_OK;
}

/* Selects the font for s and returns its advance width. */
static double text_width(cairo_t *cr, const char *s, double size, bool bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

/* Text anchored at (x, y): ax 0 left, 0.5 centre, 1 right; ay 0 top, 0.5 middle, 1 baseline. */
static double text(cairo_t *cr, double x, double y, const char *s, double size, double ax, double ay,
                   bool bold)
{
    double w = text_width(cr, s, size, bold);
    double cap = size * 0.72; /* height of capitals */
    cairo_move_to(cr, x - ax * w, y + (1 - ay) * cap);
    cairo_show_text(cr, s);
    return w;
}

/* A round tick step giving about `want` intervals over range. */
static double nice_step(double range, int want)
{
    if (!(range > 0)) return 1;
    double raw = range / want, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return mag * (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10);
}

static int decimals_for(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

typedef struct axes {
    double x0, y0, x1, y1; /* plot box (logical units), y0 top */
    double xmin, xmax, ymin, ymax;
} axes;

static double px(const axes *a, double v)
{
    return a->x0 + (v - a->xmin) / (a->xmax - a->xmin) * (a->x1 - a->x0);
}

static double py(const axes *a, double v)
{
    return a->y1 - (v - a->ymin) / (a->ymax - a->ymin) * (a->y1 - a->y0);
}

/* Grid, frame (left and bottom), y ticks; x ticks when xstep > 0. */
static void draw_axes(cairo_t *cr, const axes *a, double ystep, double xstep, const char *ylabel,
                      const char *xlabel)
{
    cairo_set_line_width(cr, 0.6);
    int yd = decimals_for(ystep);
    bool sci = a->ymax < 0.01 && a->ymax > 0;
    for (double v = ceil(a->ymin / ystep - 1e-9) * ystep; v <= a->ymax + ystep * 1e-6; v += ystep) {
        double y = py(a, v);
        rgb(cr, 0xE5E5E5);
        cairo_move_to(cr, a->x0, y);
        cairo_line_to(cr, a->x1, y);
        cairo_stroke(cr);
        char buf[32];
        if (sci)
            snprintf(buf, sizeof buf, "%.1e", v);
        else
            snprintf(buf, sizeof buf, "%.*f", yd, fabs(v) < ystep * 1e-6 ? 0.0 : v);
        rgb(cr, 0x333333);
        text(cr, a->x0 - 5, y, buf, 9, 1, 0.5, false);
    }
    if (xstep > 0) {
        int xd = decimals_for(xstep);
        for (double v = ceil(a->xmin / xstep - 1e-9) * xstep; v <= a->xmax + xstep * 1e-6; v += xstep) {
            double x = px(a, v);
            rgb(cr, 0xF0F0F0);
            cairo_move_to(cr, x, a->y0);
            cairo_line_to(cr, x, a->y1);
            cairo_stroke(cr);
            rgb(cr, 0x333333);
            cairo_move_to(cr, x, a->y1);
            cairo_line_to(cr, x, a->y1 + 3);
            cairo_stroke(cr);
            char buf[32];
            snprintf(buf, sizeof buf, "%.*f", xd, v);
            text(cr, x, a->y1 + 6, buf, 9, 0.5, 0, false);
        }
    }
    rgb(cr, 0x333333);
    cairo_set_line_width(cr, 0.9);
    cairo_move_to(cr, a->x0, a->y0);
    cairo_line_to(cr, a->x0, a->y1);
    cairo_line_to(cr, a->x1, a->y1);
    cairo_stroke(cr);
    if (xlabel) text(cr, (a->x0 + a->x1) / 2, a->y1 + 22, xlabel, 10, 0.5, 0, false);
    if (ylabel) {
        cairo_save(cr);
        cairo_translate(cr, a->x0 - (sci ? 52 : 38), (a->y0 + a->y1) / 2);
        cairo_rotate(cr, -M_PI / 2);
        text(cr, 0, 0, ylabel, 10, 0.5, 0.5, false);
        cairo_restore(cr);
    }
}

/* A row of legend entries (line or box swatches) starting at (x, y); returns its width. */
static double legend(cairo_t *cr, double x, double y, const char *const *names, const unsigned *colors,
                     const bool *dashed, int n, bool boxes, bool measure)
{
    double x0 = x;
    for (int i = 0; i < n; i++) {
        if (!measure) {
            rgb(cr, colors[i]);
            if (boxes) {
                cairo_rectangle(cr, x, y - 4.5, 10, 9);
                cairo_fill(cr);
            } else {
                cairo_set_line_width(cr, 2);
                if (dashed && dashed[i]) cairo_set_dash(cr, (const double[]){4, 2}, 2, 0);
                cairo_move_to(cr, x, y);
                cairo_line_to(cr, x + 16, y);
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
            }
            rgb(cr, 0x222222);
        }
        x += (boxes ? 14 : 20);
        x += measure ? text_width(cr, names[i], 9.5, false) : text(cr, x, y, names[i], 9.5, 0, 0.5, false);
        x += 14;
    }
    return x - x0 - 14;
}

/* ---- grouped bars ---- */

/* Splits label at ", " into at most 3 lines. */
static int wrap_label(const char *label, char lines[3][128])
{
    int n = 0;
    const char *p = label;
    while (*p && n < 3) {
        const char *sep = n < 2 ? strstr(p, ", ") : NULL;
        size_t len = sep ? (size_t)(sep - p) : strlen(p);
        if (len > 127) len = 127;
        memcpy(lines[n], p, len);
        lines[n++][len] = 0;
        p = sep ? sep + 2 : p + strlen(p);
    }
    return n;
}

llx_status llx_plot_bars(const char *path, const llx_plot_bars_spec *s, llx_error *err)
{
    if (!s || s->n_series < 1 || s->n_series > 8 || s->n_groups < 1 || !s->values || !s->series || !s->labels)
        return llx_errorf(err, LLX_ERR_INVALID, "%s: a bar chart needs 1 to 8 series and at least one group",
                          path);
    size_t ng = s->n_groups;
    int ns = s->n_series, label_lines = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t g = 0; g < ng; g++) {
        char lines[3][128];
        int nl = wrap_label(s->labels[g] ? s->labels[g] : "", lines);
        if (nl > label_lines) label_lines = nl;
        for (int k = 0; k < ns; k++) {
            double v = s->values[g * (size_t)ns + (size_t)k],
                   e = s->errors ? s->errors[g * (size_t)ns + (size_t)k] : 0;
            if (isnan(v)) continue;
            if (v - e < lo) lo = v - e;
            if (v + e > hi) hi = v + e;
        }
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    double group_w = fmax(36.0 * ns + 30, 90), w = fmax(560, 90 + group_w * (double)ng),
           h = 380 + 12.0 * label_lines;
    fig f;
    LLX_TRY(fig_open(&f, w, h, path, err));
    cairo_t *cr = f.cr;
    /* y range: from a round value below the data (0 when the data come near it) */
    double span = fmax(hi - lo, 1e-9), step = nice_step(span * 1.4, 5);
    double ymin = floor((lo - 0.25 * span) / step) * step, ymax = ceil((hi + 0.12 * span) / step) * step;
    if (ymin < 0 && lo >= 0) ymin = 0;
    if (lo >= 0 && ymin <= 0.35 * hi) ymin = 0;
    step = nice_step(ymax - ymin, 6);
    axes a = {.x0 = 70,
              .y0 = 78,
              .x1 = w - 20,
              .y1 = h - 34 - 12.0 * label_lines,
              .xmin = 0,
              .xmax = (double)ng,
              .ymin = ymin,
              .ymax = ymax};
    rgb(cr, 0x111111);
    text(cr, a.x0, 16, s->title ? s->title : "", 14, 0, 0, true);
    char sub[512]; /* an axis that does not start at zero says so */
    snprintf(sub, sizeof sub, "%s%s", s->subtitle ? s->subtitle : "", ymin > 0 && s->subtitle ? "; " : "");
    if (ymin > 0)
        snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "the y axis starts at %.*f", decimals_for(step),
                 ymin);
    rgb(cr, 0x555555);
    text(cr, a.x0, 36, sub, 10, 0, 0, false);
    draw_axes(cr, &a, step, 0, s->ylabel, NULL);
    unsigned colors[8];
    for (int k = 0; k < ns; k++)
        colors[k] = palette[k];
    double lw = legend(cr, 0, 0, s->series, colors, NULL, ns, true, true);
    legend(cr, a.x1 - lw, 58, s->series, colors, NULL, ns, true, false);
    double slot = (a.x1 - a.x0) / (double)ng, bar = fmin(34, (slot - 24) / ns);
    for (size_t g = 0; g < ng; g++) {
        double cx = a.x0 + slot * ((double)g + 0.5), left = cx - bar * ns / 2;
        for (int k = 0; k < ns; k++) {
            double v = s->values[g * (size_t)ns + (size_t)k],
                   e = s->errors ? s->errors[g * (size_t)ns + (size_t)k] : 0;
            if (isnan(v)) continue;
            double x = left + bar * k, top = py(&a, fmax(v, ymin)), base = a.y1;
            rgb(cr, colors[k]);
            cairo_rectangle(cr, x + 1, top, bar - 2, base - top);
            cairo_fill(cr);
            double label_y = top;
            if (e > 0) {
                double ey0 = py(&a, fmax(v - e, ymin)), ey1 = py(&a, fmin(v + e, ymax));
                rgb(cr, 0x222222);
                cairo_set_line_width(cr, 1);
                cairo_move_to(cr, x + bar / 2, ey0);
                cairo_line_to(cr, x + bar / 2, ey1);
                cairo_move_to(cr, x + bar / 2 - 4, ey0);
                cairo_line_to(cr, x + bar / 2 + 4, ey0);
                cairo_move_to(cr, x + bar / 2 - 4, ey1);
                cairo_line_to(cr, x + bar / 2 + 4, ey1);
                cairo_stroke(cr);
                label_y = ey1;
            }
            char buf[32];
            snprintf(buf, sizeof buf, "%.1f", v);
            rgb(cr, 0x333333);
            text(cr, x + bar / 2, label_y - 3, buf, bar < 26 ? 6.5 : 7.5, 0.5, 1, false);
        }
        char lines[3][128];
        int nl = wrap_label(s->labels[g] ? s->labels[g] : "", lines);
        rgb(cr, 0x111111);
        for (int l = 0; l < nl; l++)
            text(cr, cx, a.y1 + 8 + 13.0 * l, lines[l], 10, 0.5, 0, l == 0);
    }
    return fig_save(&f, path, err);
}

/* ---- training curves ---- */

typedef struct series {
    const char *name, *label;
    unsigned color;
    bool dashed;
    double scale;
} series;

/* One panel: the columns of `ser` that the run has, against epoch. */
static void curve_panel(cairo_t *cr, const llx_run *run, axes a, const char *title, const char *ylabel,
                        const series *ser, int n_ser)
{
    const double *epoch = llx_run_history(run, "epoch");
    size_t n = run->n_epochs;
    double lo = INFINITY, hi = -INFINITY;
    const char *names[4];
    unsigned colors[4];
    bool dashed[4];
    int n_leg = 0;
    for (int k = 0; k < n_ser; k++) {
        const double *v = llx_run_history(run, ser[k].name);
        if (!v) continue;
        names[n_leg] = ser[k].label;
        colors[n_leg] = ser[k].color;
        dashed[n_leg++] = ser[k].dashed;
        for (size_t i = 0; i < n; i++)
            if (isfinite(v[i])) lo = fmin(lo, v[i] * ser[k].scale), hi = fmax(hi, v[i] * ser[k].scale);
    }
    rgb(cr, 0x111111);
    text(cr, a.x0, a.y0 - 30, title, 11, 0, 0.5, true);
    if (!isfinite(lo)) {
        rgb(cr, 0x777777);
        text(cr, (a.x0 + a.x1) / 2, (a.y0 + a.y1) / 2, "(not recorded)", 10, 0.5, 0.5, false);
        return;
    }
    double span = hi - lo > 1e-12 ? hi - lo : fmax(fabs(hi), 1e-3);
    double step = nice_step(span * 1.15, 5);
    a.ymin = floor((lo - 0.05 * span) / step) * step;
    a.ymax = ceil((hi + 0.05 * span) / step) * step;
    if (lo >= 0 && a.ymin < 0) a.ymin = 0;
    a.xmin = epoch && n ? epoch[0] : 1;
    a.xmax = epoch && n ? epoch[n - 1] : (double)n;
    if (a.xmax <= a.xmin) a.xmin -= 0.5, a.xmax += 0.5;
    double xstep = fmax(1, nice_step(a.xmax - a.xmin, 6));
    draw_axes(cr, &a, step, xstep, ylabel, "epoch");
    legend(cr, a.x0, a.y0 - 12, names, colors, dashed, n_leg, false, false);
    if (run->best_epoch > 0 && run->best_epoch >= a.xmin && run->best_epoch <= a.xmax) {
        double x = px(&a, (double)run->best_epoch);
        rgb(cr, 0x999999);
        cairo_set_line_width(cr, 1);
        cairo_set_dash(cr, (const double[]){3, 3}, 2, 0);
        cairo_move_to(cr, x, a.y0);
        cairo_line_to(cr, x, a.y1);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        rgb(cr, 0x666666);
        text(cr, x + 3, a.y0 + 2, "best", 8, 0, 0, false);
    }
    cairo_save(cr);
    cairo_rectangle(cr, a.x0, a.y0 - 2, a.x1 - a.x0 + 2, a.y1 - a.y0 + 4);
    cairo_clip(cr);
    for (int k = 0; k < n_ser; k++) {
        const double *v = llx_run_history(run, ser[k].name);
        if (!v) continue;
        rgb(cr, ser[k].color);
        cairo_set_line_width(cr, 1.8);
        if (ser[k].dashed) cairo_set_dash(cr, (const double[]){5, 3}, 2, 0);
        bool pen = false;
        for (size_t i = 0; i < n; i++) {
            double x = px(&a, epoch ? epoch[i] : (double)(i + 1));
            if (!isfinite(v[i])) {
                pen = false;
                continue;
            }
            double y = py(&a, v[i] * ser[k].scale);
            if (pen)
                cairo_line_to(cr, x, y);
            else
                cairo_move_to(cr, x, y);
            pen = true;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        for (size_t i = 0; n <= 40 && i < n; i++) {
            if (!isfinite(v[i])) continue;
            cairo_arc(cr, px(&a, epoch ? epoch[i] : (double)(i + 1)), py(&a, v[i] * ser[k].scale), 2.2, 0,
                      2 * M_PI);
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
}

static void run_caption(const llx_run *run, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "%s", run->name);
    for (size_t i = 0; i < run->n_vars && len + 8 < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", i ? ", " : "  —  ", run->vars[i].name,
                                run->vars[i].value);
}

llx_status llx_plot_curves(const llx_run *run, const char *path, llx_error *err)
{
    if (!run->n_epochs || !llx_run_history(run, "epoch"))
        return llx_errorf(err, LLX_ERR_NOT_FOUND, "%s: no training history to plot (no epoch finished yet?)",
                          run->dir);
    fig f;
    double w = 1080, h = 340;
    LLX_TRY(fig_open(&f, w, h, path, err));
    cairo_t *cr = f.cr;
    char caption[1024];
    run_caption(run, caption, sizeof caption);
    rgb(cr, 0x111111);
    text(cr, 20, 14, caption, 12, 0, 0, true);
    char sub[256];
    snprintf(sub, sizeof sub, "%s; %lld of %lld epochs; best epoch %lld by %s",
             llx_run_state_name(run->state), (long long)run->epochs_done, (long long)run->epochs_total,
             (long long)run->best_epoch,
             run->select_metric && run->select_metric[0] ? run->select_metric : "validation score");
    rgb(cr, 0x555555);
    text(cr, 20, 32, sub, 9.5, 0, 0, false);
    const series loss[] = {{"train_loss", "train", palette[0], false, 1},
                           {"val_loss", "validation", palette[1], false, 1}};
    const series acc[] = {{"train_accuracy", "train", palette[0], false, 100},
                          {"val_accuracy", "validation", palette[1], false, 100},
                          {"val_macro_f1", "val macro-F1", palette[2], true, 100}};
    const series lr[] = {{"lr", "learning rate", palette[4], false, 1}};
    double pw = (w - 40) / 3, top = 100, bottom = h - 40;
    curve_panel(cr, run, (axes){.x0 = 20 + 56, .y0 = top, .x1 = 20 + pw - 18, .y1 = bottom}, "Loss",
                "cross-entropy", loss, 2);
    curve_panel(cr, run, (axes){.x0 = 20 + pw + 56, .y0 = top, .x1 = 20 + 2 * pw - 18, .y1 = bottom},
                "Accuracy", "%", acc, 3);
    curve_panel(cr, run, (axes){.x0 = 20 + 2 * pw + 64, .y0 = top, .x1 = 20 + 3 * pw - 18, .y1 = bottom},
                "Learning rate", NULL, lr, 1);
    return fig_save(&f, path, err);
}

/* ---- confusion matrix ---- */

static unsigned blues(double t)
{
    static const unsigned stops[] = {0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6,
                                     0x4292C6, 0x2171B5, 0x08519C, 0x08306B};
    t = fmin(1, fmax(0, t)) * 8;
    int i = (int)floor(t);
    if (i >= 8) return stops[8];
    double u = t - i;
    unsigned a = stops[i], b = stops[i + 1], out = 0;
    for (int sh = 16; sh >= 0; sh -= 8) {
        double c = ((a >> sh) & 255) * (1 - u) + ((b >> sh) & 255) * u;
        out |= (unsigned)lround(c) << sh;
    }
    return out;
}

llx_status llx_plot_confusion(const int64_t m[LLX_NUM_CLASSES][LLX_NUM_CLASSES], const char *title,
                              const char *path, llx_error *err)
{
    const int n = LLX_NUM_CLASSES;
    double cell = 58, x0 = 110, y0 = 70, w = x0 + cell * n + 90, h = y0 + cell * n + 90;
    fig f;
    LLX_TRY(fig_open(&f, w, h, path, err));
    cairo_t *cr = f.cr;
    rgb(cr, 0x111111);
    text(cr, 20, 16, title ? title : "Confusion matrix", 12, 0, 0, true);
    int64_t total = 0, right = 0;
    for (int t = 0; t < n; t++)
        for (int p = 0; p < n; p++)
            total += m[t][p], right += t == p ? m[t][p] : 0;
    char sub[128];
    snprintf(sub, sizeof sub, "%lld samples, accuracy %.1f %%; colour: share of the true class",
             (long long)total, total ? 100.0 * (double)right / (double)total : 0.0);
    rgb(cr, 0x555555);
    text(cr, 20, 36, sub, 9.5, 0, 0, false);
    for (int t = 0; t < n; t++) {
        int64_t row = 0;
        for (int p = 0; p < n; p++)
            row += m[t][p];
        for (int p = 0; p < n; p++) {
            double frac = row ? (double)m[t][p] / (double)row : 0, x = x0 + cell * p, y = y0 + cell * t;
            rgb(cr, blues(frac));
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", (long long)m[t][p]);
            rgb(cr, frac > 0.5 ? 0xFFFFFF : 0x222222);
            text(cr, x + cell / 2, y + cell / 2 - 6, buf, 11, 0.5, 0.5, t == p);
            snprintf(buf, sizeof buf, "%.0f%%", 100 * frac);
            text(cr, x + cell / 2, y + cell / 2 + 9, buf, 8, 0.5, 0.5, false);
        }
    }
    rgb(cr, 0xFFFFFF);
    cairo_set_line_width(cr, 1);
    for (int i = 0; i <= n; i++) {
        cairo_move_to(cr, x0 + cell * i, y0);
        cairo_line_to(cr, x0 + cell * i, y0 + cell * n);
        cairo_move_to(cr, x0, y0 + cell * i);
        cairo_line_to(cr, x0 + cell * n, y0 + cell * i);
    }
    cairo_stroke(cr);
    rgb(cr, 0x222222);
    for (int i = 0; i < n; i++) {
        text(cr, x0 - 8, y0 + cell * (i + 0.5), llx_class_name(i), 10, 1, 0.5, false);
        cairo_save(cr);
        cairo_translate(cr, x0 + cell * (i + 0.5) + 3, y0 + cell * n + 8);
        cairo_rotate(cr, M_PI / 5);
        text(cr, 0, 0, llx_class_name(i), 10, 0, 0.5, false);
        cairo_restore(cr);
    }
    text(cr, x0 + cell * n / 2, h - 14, "predicted", 10.5, 0.5, 0.5, true);
    cairo_save(cr);
    cairo_translate(cr, 22, y0 + cell * n / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, "true", 10.5, 0.5, 0.5, true);
    cairo_restore(cr);
    /* colour bar */
    double bx = x0 + cell * n + 22, bh = cell * n;
    for (int i = 0; i < 100; i++) {
        rgb(cr, blues(1 - i / 99.0));
        cairo_rectangle(cr, bx, y0 + bh * i / 100.0, 14, bh / 100.0 + 0.6);
        cairo_fill(cr);
    }
    rgb(cr, 0x333333);
    for (int i = 0; i <= 4; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d%%", 25 * i);
        text(cr, bx + 18, y0 + bh * (1 - i / 4.0), buf, 8.5, 0, 0.5, false);
    }
    return fig_save(&f, path, err);
}

/* The /history row of the best epoch, or -1. */
static long best_row(const llx_run *run)
{
    const double *epoch = llx_run_history(run, "epoch");
    for (size_t i = 0; epoch && i < run->n_epochs; i++)
        if (epoch[i] == (double)run->best_epoch) return (long)i;
    return -1;
}

llx_status llx_plot_run(const llx_run *run, const char *dir, llx_error *err)
{
    char path[4096], title[512];
    snprintf(path, sizeof path, "%s/curves.png", dir);
    LLX_TRY(llx_plot_curves(run, path, err));
    const int64_t(*m)[LLX_NUM_CLASSES] = NULL;
    long best = best_row(run);
    if (run->test.present) {
        m = run->test.confusion;
        snprintf(title, sizeof title, "Confusion matrix: test split, epoch %lld", (long long)run->test.epoch);
    } else if (run->val_best.present) {
        m = run->val_best.confusion;
        snprintf(title, sizeof title, "Confusion matrix: validation split, best epoch %lld",
                 (long long)run->val_best.epoch);
    } else if (run->val_confusion && best >= 0) {
        m = (const int64_t(*)[LLX_NUM_CLASSES])(run->val_confusion +
                                                (size_t)best * LLX_NUM_CLASSES * LLX_NUM_CLASSES);
        snprintf(title, sizeof title, "Confusion matrix: validation split, best epoch %lld",
                 (long long)run->best_epoch);
    }
    if (!m)
        return llx_errorf(err, LLX_ERR_NOT_FOUND,
                          "%s: no confusion matrix yet (no /test, /val_best or best epoch)", run->dir);
    snprintf(path, sizeof path, "%s/confusion.png", dir);
    return llx_plot_confusion(m, title, path, err);
}
