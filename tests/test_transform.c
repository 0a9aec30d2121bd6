/* test_transform.c: resize, crop, flip, five/ten-crop positions and to_chw.
 *
 * Crop positions follow torchvision (five_crop / center_crop, Python's
 * round-half-to-even for the centre); resize is checked against PyTorch's
 * interpolate(mode='bilinear', align_corners=False) in
 * tests/fixtures/golden/transforms.h5 (made by make_transform_golden.py). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h5read.h"
#include "llx/transform.h"

/* An image whose pixels are all distinct-ish: v = (x * 7 + y * 13 + c * 101) % 256. */
static llx_image make_image(int w, int h, int c)
{
    llx_image im = {.width = w, .height = h, .channels = c, .data = malloc((size_t)w * h * c)};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                im.data[((size_t)y * w + x) * c + k] = (uint8_t)((x * 7 + y * 13 + k * 101) % 256);
    return im;
}

static void image_release(llx_image *im)
{
    free(im->data);
    im->data = NULL;
}

static uint8_t px(const llx_image *im, int x, int y, int c)
{
    return im->data[((size_t)y * im->width + x) * im->channels + c];
}

static int boxes_equal(const llx_box *got, const int want[5][2])
{
    for (int i = 0; i < 5; i++)
        if (got[i].x != want[i][0] || got[i].y != want[i][1]) return 0;
    return 1;
}

static void test_five_crop_48_40(void)
{
    llx_box b[5];
    llx_five_crop_boxes(48, 48, 40, 40, b);
    const int want[5][2] = {{0, 0}, {8, 0}, {0, 8}, {8, 8}, {4, 4}};
    CHECK(boxes_equal(b, want));
}

static void test_five_crop_112_100(void)
{
    llx_box b[5];
    llx_five_crop_boxes(112, 112, 100, 100, b);
    const int want[5][2] = {{0, 0}, {12, 0}, {0, 12}, {12, 12}, {6, 6}};
    CHECK(boxes_equal(b, want));
}

/* Odd margins: Python's round is half to even, so round(3.5) = 4, round(2.5) = 2. */
static void test_five_crop_odd(void)
{
    llx_box b[5];
    llx_five_crop_boxes(47, 45, 40, 40, b); /* W - w = 7, H - h = 5 */
    const int want[5][2] = {{0, 0}, {7, 0}, {0, 5}, {7, 5}, {4, 2}};
    CHECK(boxes_equal(b, want));
    llx_box c = llx_center_crop_box(47, 45, 40, 40);
    CHECK(c.x == 4 && c.y == 2);
}

/* int(round(d / 2.0)) in Python 3 for d = -7 .. 9. */
static void test_center_round_half_even(void)
{
    static const int want[][2] = {{-7, -4}, {-6, -3}, {-5, -2}, {-4, -2}, {-3, -2}, {-2, -1},
                                  {-1, 0},  {0, 0},   {1, 0},   {2, 1},   {3, 2},   {4, 2},
                                  {5, 2},   {6, 3},   {7, 4},   {8, 4},   {9, 4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int d = want[i][0];
        llx_box b = llx_center_crop_box(40 + d, 30 + d, 40, 30);
        CHECK_MSG(b.x == want[i][1] && b.y == want[i][1], "d=%d: (%d, %d), want %d", d, b.x, b.y, want[i][1]);
    }
}

static void test_hflip(void)
{
    for (int w = 1; w <= 6; w++) {
        llx_image a = make_image(w, 3, 3), b = make_image(w, 3, 3);
        llx_image_hflip(&b);
        int ok = 1;
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    ok &= px(&b, x, y, c) == px(&a, w - 1 - x, y, c);
        CHECK_MSG(ok, "width %d", w);
        llx_image_hflip(&b);
        CHECK(memcmp(a.data, b.data, (size_t)w * 3 * 3) == 0);
        image_release(&a);
        image_release(&b);
    }
}

/* ten_crop = five_crop(img) + five_crop(hflip(img)); the flipped crop at box
 * (x, y) is the mirror of the original's crop at (W - w - x, y). */
static void test_ten_crop_flip_composition(void)
{
    const int W = 47, H = 45, w = 40, h = 40;
    llx_image img = make_image(W, H, 3), flipped = make_image(W, H, 3);
    llx_image_hflip(&flipped);
    llx_box b[5];
    llx_five_crop_boxes(W, H, w, h, b);
    llx_error err;
    for (int i = 0; i < 5; i++) {
        llx_image cf = {0}, co = {0};
        CHECK(llx_image_crop(&flipped, b[i].x, b[i].y, w, h, 0, &cf, &err) == LLX_OK);
        CHECK(llx_image_crop(&img, W - w - b[i].x, b[i].y, w, h, 0, &co, &err) == LLX_OK);
        llx_image_hflip(&co);
        CHECK_MSG(memcmp(cf.data, co.data, (size_t)w * h * 3) == 0, "crop %d", i);
        image_release(&cf);
        image_release(&co);
    }
    /* The centre crop of the flip mirrors the original's centre crop only when
     * W - w is even or rounding is symmetric; with W - w = 7 it comes from x = 3. */
    CHECK(W - w - b[4].x == 3);
    image_release(&img);
    image_release(&flipped);
}

static void test_crop_inside(void)
{
    llx_image img = make_image(20, 15, 3), out = {0};
    llx_error err;
    CHECK(llx_image_crop(&img, 3, 5, 10, 7, 99, &out, &err) == LLX_OK);
    CHECK(out.width == 10 && out.height == 7 && out.channels == 3);
    int ok = 1;
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 10; x++)
            for (int c = 0; c < 3; c++)
                ok &= px(&out, x, y, c) == px(&img, x + 3, y + 5, c);
    CHECK(ok);
    image_release(&out);
    image_release(&img);
}

/* Random crop with padding 4: a 48x48 window at (x, y) in [-4, 4]^2 of a 48x48
 * image padded with `fill`, compared to cropping an explicitly padded image. */
static void test_crop_padding(void)
{
    const int S = 48, P = 4, F = 37;
    llx_image img = make_image(S, S, 1);
    llx_image padded = {.width = S + 2 * P, .height = S + 2 * P, .channels = 1};
    padded.data = malloc((size_t)padded.width * padded.height);
    memset(padded.data, F, (size_t)padded.width * padded.height);
    for (int y = 0; y < S; y++)
        memcpy(padded.data + (size_t)(y + P) * padded.width + P, img.data + (size_t)y * S, S);
    llx_error err;
    int ok = 1;
    for (int y = -P; y <= P; y++)
        for (int x = -P; x <= P; x++) {
            llx_image a = {0};
            CHECK(llx_image_crop(&img, x, y, S, S, F, &a, &err) == LLX_OK);
            for (int j = 0; j < S; j++)
                ok &= memcmp(a.data + (size_t)j * S,
                             padded.data + (size_t)(y + P + j) * padded.width + (x + P), S) == 0;
            image_release(&a);
        }
    CHECK(ok);
    /* A window entirely outside is all fill; one larger than the image holds it whole. */
    llx_image a = {0};
    CHECK(llx_image_crop(&img, 100, -200, 5, 4, F, &a, &err) == LLX_OK);
    int all_fill = 1;
    for (int i = 0; i < 5 * 4; i++)
        all_fill &= a.data[i] == F;
    CHECK(all_fill);
    image_release(&a);
    CHECK(llx_image_crop(&img, -P, -P, S + 2 * P, S + 2 * P, F, &a, &err) == LLX_OK);
    CHECK(memcmp(a.data, padded.data, (size_t)padded.width * padded.height) == 0);
    image_release(&a);
    image_release(&padded);
    image_release(&img);
}

static void test_crop_resize_errors(void)
{
    llx_image img = make_image(8, 8, 1), out = {0};
    llx_error err;
    CHECK(llx_image_crop(&img, 0, 0, 0, 4, 0, &out, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "llx_image_crop");
    CHECK(llx_image_resize(&img, 0, 4, &out, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "0x4");
    llx_image empty = {0};
    CHECK(llx_image_resize(&empty, 4, 4, &out, &err) == LLX_ERR_INVALID);
    image_release(&img);
}

static void test_resize_constant(void)
{
    static const int sizes[][4] = {
        {48, 48, 40, 40}, {48, 48, 112, 112}, {47, 33, 20, 29}, {1, 1, 9, 5}, {9, 5, 1, 1}};
    static const uint8_t values[] = {0, 17, 128, 255};
    llx_error err;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t v = 0; v < sizeof values; v++)
            for (int c = 1; c <= 3; c += 2) {
                llx_image img = {.width = sizes[s][0], .height = sizes[s][1], .channels = c};
                size_t n = (size_t)img.width * img.height * c;
                img.data = malloc(n);
                memset(img.data, values[v], n);
                llx_image out = {0};
                CHECK(llx_image_resize(&img, sizes[s][2], sizes[s][3], &out, &err) == LLX_OK);
                CHECK(out.width == sizes[s][2] && out.height == sizes[s][3] && out.channels == c);
                size_t m = (size_t)out.width * out.height * c;
                int ok = 1;
                for (size_t i = 0; i < m; i++)
                    ok &= out.data[i] == values[v];
                CHECK_MSG(ok, "size %zu value %d channels %d", s, values[v], c);
                image_release(&out);
                image_release(&img);
            }
}

/* Resizing into the input image itself replaces its pixels. */
static void test_resize_in_place(void)
{
    llx_image a = make_image(30, 20, 3), b = {0};
    llx_error err;
    CHECK(llx_image_resize(&a, 17, 11, &b, &err) == LLX_OK);
    CHECK(llx_image_resize(&a, 17, 11, &a, &err) == LLX_OK);
    CHECK(a.width == 17 && a.height == 11 && memcmp(a.data, b.data, 17 * 11 * 3) == 0);
    CHECK(llx_image_crop(&a, -2, 1, 5, 5, 0, &a, &err) == LLX_OK);
    CHECK(a.width == 5 && a.data[0] == 0 && px(&a, 2, 0, 1) == px(&b, 0, 1, 1));
    image_release(&a);
    image_release(&b);
}

/* Against torch.nn.functional.interpolate(bilinear, align_corners=False) before
 * rounding: llx rounds half up, so each pixel is within 0.5 (plus float noise). */
static void test_resize_vs_torch(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/golden/transforms.h5", LLX_SOURCE_DIR);
    h5file *f = h5_open(path);
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    int count = (int)h5_attr_f64(f, "/", "count");
    CHECK(count >= 5);
    llx_error err;
    double worst = 0;
    for (int i = 0; i < count; i++) {
        char g[64], p[96];
        snprintf(g, sizeof g, "/resize/%d", i);
        int ow = (int)h5_attr_f64(f, g, "out_w"), oh = (int)h5_attr_f64(f, g, "out_h");
        int64_t nin, nout;
        snprintf(p, sizeof p, "%s/input", g);
        double *in = h5_read_f64(f, p, &nin);
        snprintf(p, sizeof p, "%s/output", g);
        double *ref = h5_read_f64(f, p, &nout);
        CHECK_MSG(in && ref, "case %d missing", i);
        if (!in || !ref) {
            free(in);
            free(ref);
            continue;
        }
        int c = (int)(nout / ((int64_t)ow * oh));
        int64_t hw = nin / c;
        /* h5read flattens the (H, W, C) input: its size comes from attributes. */
        int iw = (int)h5_attr_f64(f, g, "in_w"), ih = (int)h5_attr_f64(f, g, "in_h");
        CHECK_MSG((int64_t)iw * ih == hw, "case %d: input %dx%d vs %lld pixels", i, iw, ih, (long long)hw);
        llx_image img = {.width = iw, .height = ih, .channels = c, .data = malloc((size_t)nin)};
        for (int64_t k = 0; k < nin; k++)
            img.data[k] = (uint8_t)in[k];
        llx_image out = {0};
        CHECK(llx_image_resize(&img, ow, oh, &out, &err) == LLX_OK);
        double case_worst = 0;
        for (int64_t k = 0; k < nout; k++)
            case_worst = fmax(case_worst, fabs(out.data[k] - ref[k]));
        CHECK_MSG(case_worst <= 0.5 + 1e-3, "case %d (%dx%dx%d -> %dx%d): max |llx - torch| = %.4f", i, iw,
                  ih, c, ow, oh, case_worst);
        worst = fmax(worst, case_worst);
        image_release(&out);
        image_release(&img);
        free(in);
        free(ref);
    }
    printf("     resize vs torch: %d cases, max |llx - torch| = %.4f grey levels\n", count, worst);
    h5_close(f);
}

static void test_to_chw(void)
{
    /* 2x1 grey image -> 3 planes, normalised per channel. */
    uint8_t grey_px[2] = {0, 255};
    llx_image grey = {.width = 2, .height = 1, .channels = 1, .data = grey_px};
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.5f, 0.25f, 2.0f};
    float out[6];
    llx_image_to_chw(&grey, 3, mean, std, out);
    const float want3[6] = {-1.0f, 1.0f, -1.0f, 3.0f, 0.0f, 0.5f};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(out[i], want3[i], 1e-6);

    /* RGB pixels (HWC) -> CHW planes, no normalisation. */
    uint8_t rgb_px[6] = {10, 20, 30, 40, 50, 60};
    llx_image rgb = {.width = 2, .height = 1, .channels = 3, .data = rgb_px};
    llx_image_to_chw(&rgb, 3, NULL, NULL, out);
    const float want_rgb[6] = {10, 40, 20, 50, 30, 60};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(out[i], want_rgb[i] / 255.0, 1e-6);

    /* RGB -> grey by 0.299 R + 0.587 G + 0.114 B, then normalised. */
    float g[2];
    const float m1 = 0.5f, s1 = 0.25f;
    llx_image_to_chw(&rgb, 1, &m1, &s1, g);
    CHECK_NEAR(g[0], ((0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255.0 - 0.5) / 0.25, 1e-5);
    CHECK_NEAR(g[1], ((0.299 * 40 + 0.587 * 50 + 0.114 * 60) / 255.0 - 0.5) / 0.25, 1e-5);
    uint8_t white[3] = {255, 255, 255};
    llx_image w = {.width = 1, .height = 1, .channels = 3, .data = white};
    llx_image_to_chw(&w, 1, NULL, NULL, g);
    CHECK_NEAR(g[0], 1.0, 1e-5);

    /* Grey -> grey. */
    llx_image_to_chw(&grey, 1, NULL, NULL, g);
    CHECK_NEAR(g[0], 0.0, 0);
    CHECK_NEAR(g[1], 1.0, 0);
}

int main(void)
{
    RUN(test_five_crop_48_40);
    RUN(test_five_crop_112_100);
    RUN(test_five_crop_odd);
    RUN(test_center_round_half_even);
    RUN(test_hflip);
    RUN(test_ten_crop_flip_composition);
    RUN(test_crop_inside);
    RUN(test_crop_padding);
    RUN(test_crop_resize_errors);
    RUN(test_resize_constant);
    RUN(test_resize_in_place);
    RUN(test_resize_vs_torch);
    RUN(test_to_chw);
    return check_report();
}
