/* transform.c: image geometry (resize, crop, flip, five/ten-crop boxes) and
 * the conversion of an HWC uint8 image to normalised float CHW input.
 *
 * Geometry follows torchvision/PyTorch so crops line up with PyTorch
 * pipelines:
 *   resize: bilinear with half-pixel centres (interpolate(mode='bilinear',
 *     align_corners=False), no antialias). Output pixel d samples source
 *     s = (d + 0.5) * in / out - 0.5, clamped below at 0; the right/bottom
 *     neighbour is clamped to the last pixel. The float result is clamped to
 *     [0, 255] and rounded half up.
 *   centre positions: int(round((W - w) / 2.0)) with Python's round
 *     (half to even), e.g. W - w = 7 -> 4, W - w = 5 -> 2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llx/transform.h"

static size_t image_bytes(int w, int h, int c)
{
    return (size_t)w * (size_t)h * (size_t)c;
}

static llx_status check_image(const llx_image *im, const char *fn, llx_error *err)
{
    if (!im || !im->data || im->width <= 0 || im->height <= 0 || im->channels <= 0)
        return llx_errorf(err, LLX_ERR_INVALID, "%s: empty or invalid input image", fn);
    return LLX_OK;
}

/* Fills out with the new image. out's previous contents are not freed
 * (it may be uninitialised) unless out is the input image itself, whose old
 * pixels are released once the new ones are written. */
static void image_assign(const llx_image *in, llx_image *out, int w, int h, int c, uint8_t *data)
{
    if (out == in) free(out->data);
    out->width = w;
    out->height = h;
    out->channels = c;
    out->data = data;
}

/* Source index pairs and weights of one axis: out pixel d reads i0[d], i1[d]
 * with weight (1 - l[d]) and l[d]. Arithmetic in float, as PyTorch does for
 * float images. */
static void axis_weights(int in, int out, int *i0, int *i1, float *l)
{
    float scale = (float)in / (float)out;
    for (int d = 0; d < out; d++) {
        float s = scale * ((float)d + 0.5f) - 0.5f;
        if (s < 0) s = 0;
        int a = (int)s;
        if (a > in - 1) a = in - 1;
        i0[d] = a;
        i1[d] = a < in - 1 ? a + 1 : a;
        l[d] = s - (float)a;
    }
}

llx_status llx_image_resize(const llx_image *in, int width, int height, llx_image *out, llx_error *err)
{
    LLX_TRY(check_image(in, "llx_image_resize", err));
    if (width <= 0 || height <= 0)
        return llx_errorf(err, LLX_ERR_INVALID, "llx_image_resize: target size %dx%d must be positive", width,
                          height);
    const int C = in->channels, W = in->width, H = in->height;
    uint8_t *data = malloc(image_bytes(width, height, C));
    int *ix = malloc(sizeof(int) * 2 * ((size_t)width + (size_t)height));
    float *lw = malloc(sizeof(float) * ((size_t)width + (size_t)height));
    if (!data || !ix || !lw) {
        free(data);
        free(ix);
        free(lw);
        return llx_errorf(err, LLX_ERR_NOMEM, "llx_image_resize: cannot allocate a %dx%dx%d image", width,
                          height, C);
    }
    int *x0 = ix, *x1 = ix + width, *y0 = ix + 2 * width, *y1 = y0 + height;
    float *lx = lw, *ly = lw + width;
    axis_weights(W, width, x0, x1, lx);
    axis_weights(H, height, y0, y1, ly);
    for (int y = 0; y < height; y++) {
        const uint8_t *r0 = in->data + (size_t)y0[y] * W * C;
        const uint8_t *r1 = in->data + (size_t)y1[y] * W * C;
        float wy1 = ly[y], wy0 = 1.0f - wy1;
        uint8_t *dst = data + (size_t)y * width * C;
        for (int x = 0; x < width; x++) {
            float wx1 = lx[x], wx0 = 1.0f - wx1;
            size_t a = (size_t)x0[x] * C, b = (size_t)x1[x] * C;
            for (int c = 0; c < C; c++) {
                float v =
                    wy0 * (wx0 * r0[a + c] + wx1 * r0[b + c]) + wy1 * (wx0 * r1[a + c] + wx1 * r1[b + c]);
                if (v < 0) v = 0;
                if (v > 255) v = 255;
                dst[(size_t)x * C + c] = (uint8_t)(v + 0.5f);
            }
        }
    }
    free(ix);
    free(lw);
    image_assign(in, out, width, height, C, data);
    return LLX_OK;
}

llx_status llx_image_crop(const llx_image *in, int x, int y, int w, int h, uint8_t fill, llx_image *out,
                          llx_error *err)
{
    LLX_TRY(check_image(in, "llx_image_crop", err));
    if (w <= 0 || h <= 0)
        return llx_errorf(err, LLX_ERR_INVALID, "llx_image_crop: crop size %dx%d must be positive", w, h);
    const int C = in->channels, W = in->width, H = in->height;
    uint8_t *data = malloc(image_bytes(w, h, C));
    if (!data)
        return llx_errorf(err, LLX_ERR_NOMEM, "llx_image_crop: cannot allocate a %dx%dx%d image", w, h, C);
    memset(data, fill, image_bytes(w, h, C));
    /* The part of the window inside the image: columns [cx0, cx1), rows [cy0, cy1) of the source. */
    int64_t cx0 = x > 0 ? x : 0, cy0 = y > 0 ? y : 0;
    int64_t cx1 = (int64_t)x + w < W ? (int64_t)x + w : W;
    int64_t cy1 = (int64_t)y + h < H ? (int64_t)y + h : H;
    if (cx1 > cx0) {
        for (int64_t sy = cy0; sy < cy1; sy++) {
            const uint8_t *src = in->data + ((size_t)sy * W + (size_t)cx0) * C;
            uint8_t *dst = data + ((size_t)(sy - y) * w + (size_t)(cx0 - x)) * C;
            memcpy(dst, src, (size_t)(cx1 - cx0) * C);
        }
    }
    image_assign(in, out, w, h, C, data);
    return LLX_OK;
}

void llx_image_hflip(llx_image *im)
{
    const int C = im->channels, W = im->width;
    for (int y = 0; y < im->height; y++) {
        uint8_t *row = im->data + (size_t)y * W * C;
        for (int a = 0, b = W - 1; a < b; a++, b--) {
            for (int c = 0; c < C; c++) {
                uint8_t t = row[(size_t)a * C + c];
                row[(size_t)a * C + c] = row[(size_t)b * C + c];
                row[(size_t)b * C + c] = t;
            }
        }
    }
}

/* int(round(d / 2.0)) with Python's round (ties to even), in integers. */
static int half_round_even(int d)
{
    if (d % 2 == 0) return d / 2;
    int lo = (d - 1) / 2; /* exact: d - 1 is even */
    return lo % 2 == 0 ? lo : lo + 1;
}

llx_box llx_center_crop_box(int W, int H, int w, int h)
{
    return (llx_box){.x = half_round_even(W - w), .y = half_round_even(H - h)};
}

void llx_five_crop_boxes(int W, int H, int w, int h, llx_box boxes[5])
{
    boxes[0] = (llx_box){.x = 0, .y = 0};
    boxes[1] = (llx_box){.x = W - w, .y = 0};
    boxes[2] = (llx_box){.x = 0, .y = H - h};
    boxes[3] = (llx_box){.x = W - w, .y = H - h};
    boxes[4] = llx_center_crop_box(W, H, w, h);
}

/* im: (H, W, C_in) uint8; out: (channels, H, W) float. mean/std may be NULL
 * (0 and 1). */
void llx_image_to_chw(const llx_image *im, int channels, const float *mean, const float *std, float *out)
{
    LLX_ASSERT(im && im->data && out);
    LLX_ASSERT(channels == 1 || channels == 3);
    LLX_ASSERT(im->channels == 1 || im->channels == 3);
    const size_t plane = (size_t)im->width * (size_t)im->height;
    const int cin = im->channels;
    for (int c = 0; c < channels; c++) {
        float m = mean ? mean[c] : 0.0f, sd = std ? std[c] : 1.0f;
        float *dst = out + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++) {
            const uint8_t *px = im->data + i * cin;
            float v;
            if (cin == channels)
                v = px[c];
            else if (cin == 1)
                v = px[0]; /* grey replicated to every plane */
            else
                v = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]; /* ITU-R 601 luma */
            dst[i] = (v / 255.0f - m) / sd;
        }
    }
}
