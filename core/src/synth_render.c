/* synth_render.c: procedural greyscale faces of the 7 canonical expressions.
 *
 * Every pixel centre is mapped into the face frame (image spans [-0.5, 0.5] at
 * scale 1, y pointing down) by undoing the sample's shift, rotation and scale;
 * each part of the face is a signed-distance shape whose coverage over one pixel
 * (anti-aliasing) blends its tone over what lies below. Order: background, hair,
 * neck and shoulders, face, nose, folds, eyes, brows, mouth; then in image space
 * an occluder, an illumination ramp, an optional blur and Gaussian noise.
 *
 * An expression is a displacement of the neutral geometry scaled by a random
 * intensity (weak smiles exist); the neutral geometry itself varies per identity
 * by amounts comparable to weak expressions, so the classes overlap a little. */
#include "synth_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llx/data.h"

#define PI_F 3.14159265358979323846f

/* ---- a local generator (splitmix64): no global state ---- */
typedef struct rng {
    uint64_t s;
} rng;

static float rnd_u(rng *r) /* [0, 1) */
{
    return (float)(llx_synth_mix(&r->s) >> 40) * (1.0f / 16777216.0f);
}
static float rnd_in(rng *r, float lo, float hi)
{
    return lo + (hi - lo) * rnd_u(r);
}
static float rnd_sym(rng *r, float a)
{
    return rnd_in(r, -a, a);
}
/* Approximately standard normal: the sum of four 16-bit uniforms (Irwin-Hall), cheap
 * enough for per-pixel noise. */
static float rnd_normal(rng *r)
{
    uint64_t z = llx_synth_mix(&r->s);
    float s =
        (float)(z & 0xffff) + (float)((z >> 16) & 0xffff) + (float)((z >> 32) & 0xffff) + (float)(z >> 48);
    return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

static inline float min_f(float a, float b)
{
    return a < b ? a : b;
}
static inline float max_f(float a, float b)
{
    return a > b ? a : b;
}
static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}
static float blend(float under, float tone, float cov)
{
    return under + (tone - under) * cov;
}
/* Coverage of a shape with signed distance d (negative inside) over a pixel of size aa. */
static float cover(float d, float aa)
{
    return clamp01(0.5f - d / aa);
}

/* Approximate signed distance to the ellipse ((x-cx)/a)^2 + ((y-cy)/b)^2 = 1. */
static float sd_ellipse(float x, float y, float cx, float cy, float a, float b)
{
    float dx = x - cx, dy = y - cy;
    float ia = 1.0f / (a * a), ib = 1.0f / (b * b);
    float g = dx * dx * ia + dy * dy * ib - 1.0f;
    float gx = 2.0f * dx * ia, gy = 2.0f * dy * ib;
    float n = sqrtf(gx * gx + gy * gy);
    float m = a < b ? a : b;
    if (n < 1e-6f) return -m;
    float d = g / n;
    return d < -m ? -m : d;
}

/* Signed distance to a capsule (segment p0-p1, half thickness t). */
static float sd_capsule(float x, float y, float x0, float y0, float x1, float y1, float t)
{
    float vx = x1 - x0, vy = y1 - y0, wx = x - x0, wy = y - y0;
    float l2 = vx * vx + vy * vy;
    float h = l2 > 0.0f ? (wx * vx + wy * vy) / l2 : 0.0f;
    h = h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
    float ex = wx - h * vx, ey = wy - h * vy;
    return sqrtf(ex * ex + ey * ey) - t;
}

/* ---- the sample's parameters ---- */
typedef struct face {
    /* placement (image frame) */
    float shift_x, shift_y, cos_r, sin_r, scale;
    /* identity */
    float fa, fb, fcy; /* face half width, half height, centre y */
    float bg, skin, hair, hairline, has_hair, cloth;
    float eye_x, eye_y, eye_w; /* eye centre offset from the midline, height, half width */
    float iris_tone;
    float brow_gap, brow_t, brow_tone, brow_w;
    float nose_x, nose_y, nose_tone;
    float mouth_x, mouth_y, mouth_w, lip_t, lip_tone;
    /* expression (after intensity) */
    float eye_open; /* eye half height / half width */
    float brow_raise, brow_tilt, brow_in, brow_arch;
    float m_curve, m_open, m_wide, m_square, m_teeth, m_asym, m_drop, m_up, m_low;
    float wrinkle, fold;
    /* nuisances */
    int occ; /* 0 none, 1 rectangle, 2 hand */
    float occ_x, occ_y, occ_w, occ_h, occ_c, occ_s, occ_tone;
    float light_x, light_y, light_g, gain, offset;
    int blur;
    float blur_w, noise;
} face;

/* Displacements of the neutral geometry at full intensity, per class. */
typedef struct expr {
    float eye_open, brow_raise, brow_tilt, brow_in, brow_arch;
    float m_curve, m_open, m_wide, m_square, m_teeth, m_drop, wrinkle, fold;
} expr;

/* clang-format off */
static const expr EXPRS[LLX_NUM_CLASSES] = {
    /*                eye     raise    tilt    in       arch     curve    open    wide    sq     teeth drop    wrk    fold */
    [LLX_NEUTRAL]   = {0.0f,   0.0f,    0.0f,   0.0f,    0.0f,    0.0f,    0.0f,   0.0f,   0.0f,  0.0f, 0.0f,   0.0f,  0.0f},
    [LLX_ANGER]     = {-0.22f, -0.022f, -0.55f, -0.012f, -0.004f, -0.018f, 0.0f,   -0.18f, 0.4f,  0.0f, 0.0f,   0.35f, 0.2f},
    [LLX_DISGUST]   = {-0.18f, -0.012f, -0.22f, -0.006f, 0.0f,    -0.028f, 0.020f, -0.05f, 0.5f,  0.8f, 0.0f,   1.0f,  0.7f},
    [LLX_FEAR]      = {0.40f,  0.028f,  0.38f,  -0.008f, -0.004f, -0.012f, 0.030f, 0.30f,  0.55f, 0.5f, 0.012f, 0.0f,  0.0f},
    [LLX_HAPPINESS] = {-0.12f, 0.0f,    0.0f,   0.0f,    0.0f,    0.050f,  0.0f,   0.28f,  0.0f,  0.0f, 0.0f,   0.0f,  0.9f},
    [LLX_SADNESS]   = {-0.12f, 0.006f,  0.50f,  0.0f,    -0.004f, -0.040f, 0.0f,   -0.08f, 0.0f,  0.0f, 0.008f, 0.0f,  0.0f},
    [LLX_SURPRISE]  = {0.48f,  0.042f,  0.05f,  0.0f,    0.012f,  0.0f,    0.070f, -0.42f, 0.0f,  0.0f, 0.022f, 0.0f,  0.0f},
};
/* clang-format on */

static void sample_face(face *f, int label, uint64_t seed, float d)
{
    rng r = {seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(label + 1))};
    llx_synth_mix(&r.s);

    /* placement: shifts of +-8%, rotations of +-12 degrees, scale jitter */
    f->shift_x = rnd_sym(&r, 0.08f);
    f->shift_y = rnd_sym(&r, 0.08f);
    float rot = rnd_sym(&r, 12.0f) * PI_F / 180.0f;
    f->cos_r = cosf(rot);
    f->sin_r = sinf(rot);
    f->scale = rnd_in(&r, 0.88f, 1.12f);

    /* identity */
    f->fa = rnd_in(&r, 0.27f, 0.33f);
    f->fb = rnd_in(&r, 0.36f, 0.42f);
    f->fcy = rnd_sym(&r, 0.015f);
    f->skin = rnd_in(&r, 0.35f, 0.85f);
    f->bg = rnd_in(&r, 0.03f, 0.97f);
    if (fabsf(f->bg - f->skin) < 0.15f) f->bg = f->skin > 0.5f ? f->skin - 0.3f : f->skin + 0.3f;
    f->has_hair = rnd_u(&r) < 0.85f ? 1.0f : 0.0f;
    f->hair = rnd_in(&r, 0.02f, 0.65f);
    f->hairline = rnd_in(&r, -0.30f, -0.20f);
    f->cloth = rnd_in(&r, 0.05f, 0.95f);
    f->eye_x = f->fa * rnd_in(&r, 0.36f, 0.46f);
    f->eye_y = rnd_in(&r, -0.09f, -0.04f);
    f->eye_w = rnd_in(&r, 0.048f, 0.062f);
    f->iris_tone = rnd_in(&r, 0.02f, 0.30f);
    f->brow_gap = rnd_in(&r, 0.055f, 0.075f);
    f->brow_t = rnd_in(&r, 0.011f, 0.019f);
    f->brow_w = f->eye_w * rnd_in(&r, 1.05f, 1.3f);
    f->brow_tone = min_f(f->hair, f->skin - 0.25f);
    f->nose_x = rnd_sym(&r, 0.008f);
    f->nose_y = rnd_in(&r, 0.08f, 0.11f);
    f->nose_tone = f->skin * rnd_in(&r, 0.7f, 0.85f);
    f->mouth_x = rnd_sym(&r, 0.006f);
    f->mouth_y = f->nose_y + rnd_in(&r, 0.085f, 0.11f);
    f->mouth_w = rnd_in(&r, 0.085f, 0.11f);
    f->lip_t = rnd_in(&r, 0.009f, 0.016f);
    f->lip_tone = f->skin * rnd_in(&r, 0.6f, 0.8f);

    /* the identity's resting face: comparable to weak expressions (scaled by difficulty d) */
    float eye_open = 0.52f + d * rnd_sym(&r, 0.10f);
    float brow_raise = d * rnd_sym(&r, 0.008f), brow_tilt = d * rnd_sym(&r, 0.12f);
    float brow_arch = d * rnd_in(&r, 0.0f, 0.012f);
    float m_curve = d * rnd_sym(&r, 0.010f);
    float m_asym = d * rnd_sym(&r, 0.006f);

    /* expression at a random intensity: from 0.2 (d = 1) or 0.6 (d = 0) to full */
    float s_min = 0.6f - 0.4f * d;
    float s = label == LLX_NEUTRAL ? 0.0f : s_min + (1.0f - s_min) * sqrtf(rnd_u(&r));
    const expr *e = &EXPRS[label < 0 || label >= LLX_NUM_CLASSES ? 0 : label];
    f->eye_open = eye_open + s * e->eye_open;
    f->brow_raise = brow_raise + s * e->brow_raise;
    f->brow_tilt = brow_tilt + s * e->brow_tilt;
    f->brow_in = s * e->brow_in;
    f->brow_arch = brow_arch + s * e->brow_arch;
    f->m_curve = m_curve + s * e->m_curve;
    f->m_open = s * e->m_open;
    f->m_wide = 1.0f + s * e->m_wide;
    f->m_square = e->m_square;
    f->m_teeth = 0.0f;
    f->m_drop = s * e->m_drop;
    f->m_up = 0.35f; /* how the opening splits between the upper lip and the jaw */
    f->m_low = 1.0f;
    f->m_asym = m_asym;
    f->wrinkle = s * e->wrinkle;
    f->fold = s * e->fold;
    /* variants within a class */
    if (label == LLX_HAPPINESS && rnd_u(&r) < 0.5f) { /* open, toothy smile */
        f->m_open = s * rnd_in(&r, 0.012f, 0.035f);
        f->m_teeth = 1.0f;
        f->m_square = 0.3f;
    }
    if (label == LLX_ANGER && rnd_u(&r) < 0.3f) { /* bared teeth */
        f->m_open = s * rnd_in(&r, 0.01f, 0.025f);
        f->m_teeth = 1.0f;
    }
    if (label == LLX_DISGUST) { /* the upper lip rises, the jaw stays */
        f->m_up = 1.0f;
        f->m_low = 0.25f;
        f->m_teeth = rnd_u(&r) < 0.6f ? 1.0f : 0.0f;
        f->m_asym += (rnd_u(&r) < 0.5f ? -1.0f : 1.0f) * s * 0.012f; /* one-sided lip curl */
    }
    if (label == LLX_FEAR) f->m_teeth = rnd_u(&r) < 0.5f ? 1.0f : 0.0f;
    if (label == LLX_SURPRISE && rnd_u(&r) < 0.25f) f->m_open *= 0.4f; /* jaw less dropped */

    /* nuisances */
    f->occ = 0;
    if (rnd_u(&r) < 0.3f * d) {
        f->occ = rnd_u(&r) < 0.5f ? 1 : 2;
        f->occ_x = rnd_sym(&r, 0.28f);
        f->occ_y = rnd_sym(&r, 0.30f);
        f->occ_w = rnd_in(&r, 0.08f, 0.20f);
        f->occ_h = rnd_in(&r, 0.06f, 0.16f);
        float a = rnd_sym(&r, PI_F);
        f->occ_c = cosf(a);
        f->occ_s = sinf(a);
        f->occ_tone = f->occ == 2 ? clamp01(f->skin + rnd_sym(&r, 0.2f)) : rnd_u(&r);
    }
    float la = rnd_sym(&r, PI_F);
    f->light_x = cosf(la);
    f->light_y = sinf(la);
    f->light_g = d * rnd_in(&r, 0.0f, 0.9f);
    f->gain = rnd_in(&r, 0.8f, 1.15f);
    f->offset = rnd_sym(&r, 0.06f);
    f->blur = rnd_u(&r) < 0.3f * d ? 1 + (rnd_u(&r) < 0.25f) : 0;
    f->blur_w = rnd_in(&r, 0.08f, 0.22f);
    f->noise = rnd_in(&r, 0.004f, 0.004f + 0.041f * d);
}

/* ---- parts; each blends over v at face-frame point (x, y) ---- */

static float draw_eye(const face *f, float v, float x, float y, float cx, float aa)
{
    float a = f->eye_w, b = f->eye_w * f->eye_open, cy = f->eye_y;
    if (fabsf(x - cx) > a + 2 * aa + 0.02f || fabsf(y - cy) > b + 2 * aa + 0.02f) return v;
    float d = sd_ellipse(x, y, cx, cy, a, b);
    float sclera = min_f(1.0f, f->skin + 0.25f);
    v = blend(v, f->skin * 0.55f, cover(fabsf(d) - 0.008f, aa)); /* lid outline */
    v = blend(v, sclera, cover(d, aa));
    float ri = f->eye_w * 0.48f;
    float di = sqrtf((x - cx) * (x - cx) + (y - cy) * (y - cy)) - ri;
    v = blend(v, f->iris_tone, cover(max_f(di, d), aa));
    /* upper lid: a darker arc along the top of the eye */
    if (y < cy) v = blend(v, f->skin * 0.35f, cover(fabsf(d) - 0.007f, aa));
    return v;
}

static float draw_brow(const face *f, float v, float x, float y, float side, float aa)
{
    float cx = side * f->eye_x;
    float by = f->eye_y - f->eye_w * f->eye_open - f->brow_gap + 0.02f - f->brow_raise;
    float w = f->brow_w;
    float ox = cx + side * w, oy = by + f->brow_tilt * w * 0.35f;
    float mx = cx + side * 0.1f * w, my = by - f->brow_arch - 0.004f;
    float ix = cx - side * (w * 0.95f + f->brow_in), iy = by - f->brow_tilt * w * 0.9f;
    if (fabsf(x - cx) > w * 1.4f + 0.03f || fabsf(y - by) > 0.08f) return v;
    float d = min_f(sd_capsule(x, y, ox, oy, mx, my, f->brow_t * 0.8f),
                    sd_capsule(x, y, mx, my, ix, iy, f->brow_t));
    return blend(v, f->brow_tone, cover(d, aa));
}

static float draw_nose(const face *f, float v, float x, float y, float aa)
{
    float nx = f->nose_x, ny = f->nose_y;
    if (fabsf(x - nx) > 0.09f || y < f->eye_y - 0.02f || y > ny + 0.04f) return v;
    float tone = f->nose_tone;
    /* bridge shadow on one side, nostril wings, nostrils */
    float d = sd_capsule(x, y, nx + 0.012f, f->eye_y + 0.045f, nx + 0.018f, ny - 0.01f, 0.004f);
    v = blend(v, f->skin * 0.88f, 0.6f * cover(d, aa));
    d = sd_ellipse(x, y, nx, ny + 0.004f, 0.036f, 0.016f);
    v = blend(v, tone, 0.55f * cover(fabsf(d) - 0.004f, aa) * (y > ny - 0.004f ? 1.0f : 0.0f));
    for (int s = -1; s <= 1; s += 2) {
        d = sd_ellipse(x, y, nx + s * 0.016f, ny + 0.008f, 0.009f, 0.006f);
        v = blend(v, tone * 0.45f, cover(d, aa));
    }
    /* disgust: wrinkles across the bridge and beside it */
    if (f->wrinkle > 0.0f) {
        float c = clamp01(f->wrinkle);
        for (int s = -1; s <= 1; s += 2) {
            d = sd_capsule(x, y, nx + s * 0.012f, f->eye_y + 0.015f, nx + s * 0.032f, f->eye_y + 0.045f,
                           0.004f);
            v = blend(v, f->skin * 0.55f, c * cover(d, aa));
        }
        d = sd_capsule(x, y, nx - 0.016f, f->eye_y - 0.005f, nx + 0.016f, f->eye_y - 0.005f, 0.0035f);
        v = blend(v, f->skin * 0.6f, c * cover(d, aa));
    }
    return v;
}

static float draw_folds(const face *f, float v, float x, float y, float aa)
{
    if (f->fold <= 0.0f) return v;
    float w = f->mouth_w * f->m_wide;
    for (int s = -1; s <= 1; s += 2) {
        float d = sd_capsule(x, y, f->nose_x + s * 0.045f, f->nose_y, f->mouth_x + s * (w + 0.022f),
                             f->mouth_y - 0.005f, 0.004f);
        v = blend(v, f->skin * 0.7f, clamp01(f->fold) * cover(d, aa));
    }
    return v;
}

static float draw_mouth(const face *f, float v, float x, float y, float aa)
{
    float w = f->mouth_w * f->m_wide, mx = f->mouth_x, my = f->mouth_y + f->m_drop;
    float xn = (x - mx) / w;
    if (fabsf(xn) > 1.25f || fabsf(y - my) > 0.14f) return v;
    /* centre line: corners rise by curve (+- asym), the centre stays */
    float k = f->m_curve, a = f->m_asym;
    float yc = my - (k + a * xn) * xn * xn;
    float slope = -(2.0f * k * xn + 3.0f * a * xn * xn) / w;
    float sc = sqrtf(1.0f + slope * slope);
    float ax = fabsf(xn) < 1.0f ? 1.0f - xn * xn : 0.0f;
    float e = f->m_square > 0.0f ? powf(ax, 0.5f - 0.3f * f->m_square) : sqrtf(ax);
    float h = f->m_open;
    float hu = f->m_up * h * e + 0.003f, hl = f->m_low * h * e + 0.003f;
    float yu = yc - hu, yl = yc + hl;
    float xc = cover((fabsf(x - mx) - w) / sc, aa);
    /* lips around the opening */
    float lt = f->lip_t;
    float lips = clamp01((y - (yu - lt * (0.6f + 0.4f * e))) / (aa * sc) + 0.5f) *
                 clamp01(((yl + lt * (0.8f + 0.4f * e)) - y) / (aa * sc) + 0.5f) *
                 cover((fabsf(x - mx) - w - 0.004f) / sc, aa);
    v = blend(v, f->lip_tone, lips);
    float in = clamp01((y - yu) / (aa * sc) + 0.5f) * clamp01((yl - y) / (aa * sc) + 0.5f) * xc;
    v = blend(v, 0.06f, in);
    if (f->m_teeth > 0.0f && h > 0.0f) {
        float ty = yu + min_f(0.6f * (yl - yu), 0.018f);
        float teeth = clamp01((y - yu) / (aa * sc) + 0.5f) * clamp01((ty - y) / (aa * sc) + 0.5f) *
                      cover((fabsf(x - mx) - 0.85f * w) / sc, aa);
        v = blend(v, 0.88f, teeth);
    }
    return v;
}

static float draw_occluder(const face *f, float v, float u, float w, float aa)
{
    float dx = u - f->occ_x, dy = w - f->occ_y;
    float lx = f->occ_c * dx + f->occ_s * dy, ly = -f->occ_s * dx + f->occ_c * dy;
    float d;
    if (f->occ == 1) { /* a rotated rectangle */
        float qx = fabsf(lx) - f->occ_w, qy = fabsf(ly) - f->occ_h;
        float ox = max_f(qx, 0.0f), oy = max_f(qy, 0.0f);
        d = sqrtf(ox * ox + oy * oy) + min_f(max_f(qx, qy), 0.0f);
    } else { /* a hand: a palm and four fingers along the local x axis */
        float pw = f->occ_w * 0.7f, ph = f->occ_h * 0.9f;
        d = sd_ellipse(lx, ly, 0.0f, 0.0f, pw, ph);
        for (int i = 0; i < 4; i++) {
            float fy = -ph * 0.75f + ph * 0.5f * (float)i;
            float len = pw * (1.2f + 0.25f * (float)(i == 1 || i == 2));
            d = min_f(d, sd_capsule(lx, ly, pw * 0.5f, fy, pw * 0.5f + len, fy * 1.15f, ph * 0.2f));
        }
    }
    float c = cover(d, aa);
    if (c <= 0.0f) return v;
    float tone = f->occ_tone * (1.0f - 0.25f * clamp01(-d / (f->occ_h + 1e-3f))); /* a little shading */
    return blend(v, tone, c);
}

/* The scene at face-frame point (x, y), before occluder and illumination. */
static float shade(const face *f, float x, float y, float aa)
{
    float v = f->bg;
    float fy = y - f->fcy, ax = fabsf(x);
    /* shoulders and neck */
    if (fy > f->fb + 0.07f)
        v = blend(v, f->cloth, cover(sd_ellipse(x, fy, 0.0f, f->fb + 0.30f, 0.55f, 0.22f), aa));
    if (fy > f->fb - 0.04f) {
        float qx = ax - f->fa * 0.55f, qy = fabsf(fy - f->fb - 0.05f) - 0.08f;
        v = blend(v, f->skin * 0.8f, cover(max_f(qx, qy), aa));
    }
    /* hair behind the head */
    if (f->has_hair > 0.0f && ax < f->fa + 0.04f + aa && fy < f->fb + aa)
        v = blend(v, f->hair, cover(sd_ellipse(x, fy, 0.0f, -0.03f, f->fa + 0.035f, f->fb + 0.035f), aa));
    if (ax > f->fa + aa || fabsf(fy) > f->fb + aa) return v;
    float cf = cover(sd_ellipse(x, fy, 0.0f, 0.0f, f->fa, f->fb), aa);
    if (cf <= 0.0f) return v;
    float s = f->skin;
    /* fringe: hair over the forehead down to a wavy hairline */
    if (f->has_hair > 0.0f && fy < f->hairline + 0.045f) {
        float hl = f->hairline + 0.02f * cosf(x * 25.0f) - 0.06f * (x / f->fa) * (x / f->fa);
        s = blend(s, f->hair, cover(fy - hl, aa));
    }
    s = draw_nose(f, s, x, y, aa);
    s = draw_folds(f, s, x, y, aa);
    s = draw_eye(f, s, x, y, -f->eye_x, aa);
    s = draw_eye(f, s, x, y, f->eye_x, aa);
    s = draw_brow(f, s, x, y, -1.0f, aa);
    s = draw_brow(f, s, x, y, 1.0f, aa);
    s = draw_mouth(f, s, x, y, aa);
    return blend(v, s, cf);
}

void llx_synth_render(int label, uint64_t seed, int size, float difficulty, uint8_t *grey)
{
    face f;
    sample_face(&f, label, seed, difficulty < 0 ? 0 : difficulty > 1 ? 1 : difficulty);
    float inv = 1.0f / (float)size;
    float aa = inv / f.scale; /* one pixel, in face units */
    LLX_ASSERT(size > 0 && size <= LLX_SYNTH_MAX_SIZE);
    float small[96 * 96]; /* 36 KB of stack; larger images go to the heap */
    float *buf = size <= 96 ? small : malloc((size_t)size * (size_t)size * sizeof(float));
    if (!buf) { /* out of memory: a flat image rather than a crash in a loader thread */
        memset(grey, 128, (size_t)size * (size_t)size);
        return;
    }

    for (int py = 0; py < size; py++) {
        for (int px = 0; px < size; px++) {
            /* image frame: [-0.5, 0.5] */
            float u = ((float)px + 0.5f) * inv - 0.5f, w = ((float)py + 0.5f) * inv - 0.5f;
            float tu = u - f.shift_x, tw = w - f.shift_y;
            float x = (f.cos_r * tu + f.sin_r * tw) / f.scale;
            float y = (-f.sin_r * tu + f.cos_r * tw) / f.scale;

            float v = shade(&f, x, y, aa);
            if (f.occ) v = draw_occluder(&f, v, u, w, inv);
            /* illumination: a linear ramp of random direction, gain and offset */
            v = v * (1.0f + f.light_g * (f.light_x * u + f.light_y * w)) * f.gain + f.offset;
            buf[py * size + px] = v;
        }
    }
    /* blur: separable [b, 1-2b, b], edges clamped */
    for (int pass = 0; pass < f.blur; pass++) {
        float b = f.blur_w, c = 1.0f - 2.0f * b;
        for (int py = 0; py < size; py++) {
            float *row = buf + py * size, prev = row[0];
            for (int px = 0; px < size; px++) {
                float cur = row[px], next = row[px + 1 < size ? px + 1 : px];
                row[px] = b * prev + c * cur + b * next;
                prev = cur;
            }
        }
        for (int px = 0; px < size; px++) {
            float prev = buf[px];
            for (int py = 0; py < size; py++) {
                float cur = buf[py * size + px];
                float next = buf[(py + 1 < size ? py + 1 : py) * size + px];
                buf[py * size + px] = b * prev + c * cur + b * next;
                prev = cur;
            }
        }
    }
    /* sensor noise with its own stream, so the noise does not shift the geometry's draws */
    rng r = {seed * 0x2545f4914f6cdd1dULL + (uint64_t)label};
    for (int i = 0; i < size * size; i++) {
        float v = buf[i] + f.noise * rnd_normal(&r);
        grey[i] = (uint8_t)(clamp01(v) * 255.0f + 0.5f);
    }
    if (buf != small) free(buf);
}
