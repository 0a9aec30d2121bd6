/* llx/transform.h: image geometry and the conversion to network input.
 *
 * Images are llx_image (HWC uint8). Geometry follows torchvision's
 * conventions so that crops line up with PyTorch pipelines: bilinear resize
 * with half-pixel centres (align_corners=False, no antialias); five_crop order
 * top-left, top-right, bottom-left, bottom-right, centre; ten_crop = five_crop
 * of the image then of its horizontal flip. */
#ifndef LLX_TRANSFORM_H
#define LLX_TRANSFORM_H

#include <stdbool.h>

#include "llx/data.h"

/* Bilinear resize to width x height (same channels). */
llx_status llx_image_resize(const llx_image *in, int width, int height, llx_image *out, llx_error *err);
/* The w x h window with top-left (x, y); parts outside the image are `fill`
 * (random crop with padding crops from a virtually padded image). */
llx_status llx_image_crop(const llx_image *in, int x, int y, int w, int h, uint8_t fill, llx_image *out,
                          llx_error *err);
void llx_image_hflip(llx_image *im); /* in place */

typedef struct llx_box {
    int x, y; /* top-left */
} llx_box;
/* torchvision five_crop positions of a w x h crop in a W x H image:
 * (0,0), (W-w,0), (0,H-h), (W-w,H-h), centre (round((W-w)/2), round((H-h)/2)). */
void llx_five_crop_boxes(int W, int H, int w, int h, llx_box boxes[5]);
/* torchvision center_crop's top-left (int(round((W - w) / 2.0)), same for y). */
llx_box llx_center_crop_box(int W, int H, int w, int h);

/* Writes the image as float CHW with `channels` planes (grey is replicated
 * to 3, RGB averaged to 1 by ITU-R 601 luma), scaled to [0,1] then
 * normalised: (v - mean[c]) / std[c]. out holds channels * height * width. */
void llx_image_to_chw(const llx_image *im, int channels, const float *mean, const float *std, float *out);

#endif
