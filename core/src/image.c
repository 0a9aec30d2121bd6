/* image.c: JPEG (libjpeg-turbo) and PNG (libpng simplified API) decoding and writing.
 *
 * Every function is reentrant: decoder state lives on the caller's stack, so
 * loader threads decode concurrently. A corrupt or truncated file is an
 * LLX_ERR_IO naming the path and the decoder's reason; libjpeg's fatal errors
 * come back through setjmp/longjmp instead of exit(). Output is 8-bit grey
 * (1 channel) for grey sources and RGB (3 channels) for everything else;
 * PNG alpha is composited onto black. */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "fileio_impl.h"
#include "llx/data.h"

/* ---- JPEG ---- */

typedef struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_fail;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_fail *f = (jpeg_fail *)cinfo->err;
    cinfo->err->format_message(cinfo, f->msg);
    longjmp(f->jump, 1);
}

/* Warnings are ignored (libjpeg recovers from extraneous bytes and the like),
 * except a premature end of data: a truncated file is an error, not a grey tail. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(cinfo);
}

static llx_status decode_jpeg(const uint8_t *bytes, size_t len, const char *name, llx_image *out,
                              llx_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_fail fail;
    uint8_t *volatile data = NULL;
    memset(&fail, 0, sizeof fail);
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_on_error;
    fail.mgr.emit_message = jpeg_on_message;
    if (setjmp(fail.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(data);
        return llx_errorf(err, LLX_ERR_IO, "%s: corrupt JPEG: %s", name, fail.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    int c = cinfo.output_components;
    size_t stride = (size_t)w * (size_t)c;
    data = malloc(stride * (size_t)h);
    if (!data) {
        jpeg_destroy_decompress(&cinfo);
        return llx_errorf(err, LLX_ERR_NOMEM, "%s: out of memory for a %dx%d image", name, w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = data + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *out = (llx_image){.width = w, .height = h, .channels = c, .data = data};
    return LLX_OK;
}

/* ---- PNG ---- */

static llx_status decode_png(const uint8_t *bytes, size_t len, const char *name, llx_image *out,
                             llx_error *err)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, bytes, len)) {
        llx_status st = llx_errorf(err, LLX_ERR_IO, "%s: corrupt PNG: %s", name, im.message);
        png_image_free(&im);
        return st;
    }
    int grey = !(im.format & PNG_FORMAT_FLAG_COLOR);
    im.format = grey ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    size_t size = PNG_IMAGE_SIZE(im);
    uint8_t *data = calloc(size ? size : 1, 1); /* zeroed: alpha composites onto black */
    if (!data) {
        png_image_free(&im);
        return llx_errorf(err, LLX_ERR_NOMEM, "%s: out of memory for a %ux%u image", name, im.width,
                          im.height);
    }
    if (!png_image_finish_read(&im, NULL, data, 0, NULL)) {
        llx_status st = llx_errorf(err, LLX_ERR_IO, "%s: corrupt PNG: %s", name, im.message);
        png_image_free(&im);
        free(data);
        return st;
    }
    *out =
        (llx_image){.width = (int)im.width, .height = (int)im.height, .channels = grey ? 1 : 3, .data = data};
    png_image_free(&im);
    return LLX_OK;
}

/* ---- public ---- */

llx_status llx_image_decode(const uint8_t *bytes, size_t len, const char *name, llx_image *out,
                            llx_error *err)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!name) name = "(image)";
    *out = (llx_image){0};
    if (len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return decode_jpeg(bytes, len, name, out, err);
    if (len >= 8 && memcmp(bytes, png_magic, 8) == 0) return decode_png(bytes, len, name, out, err);
    if (len == 0) return llx_errorf(err, LLX_ERR_IO, "%s: empty file", name);
    return llx_errorf(err, LLX_ERR_IO, "%s: neither a JPEG nor a PNG file (first bytes %02x %02x)", name,
                      bytes[0], len > 1 ? bytes[1] : 0);
}

llx_status llx_image_load(const char *path, llx_image *out, llx_error *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    *out = (llx_image){0};
    LLX_TRY(llx_read_text(path, (char **)&bytes, &len, err));
    llx_status st = llx_image_decode(bytes, len, path, out, err);
    free(bytes);
    return st;
}

static llx_status check_image(const char *path, const llx_image *im, llx_error *err)
{
    if (!im || !im->data || im->width <= 0 || im->height <= 0 || (im->channels != 1 && im->channels != 3))
        return llx_errorf(err, LLX_ERR_INVALID, "%s: cannot write an image of %dx%d with %d channels", path,
                          im ? im->width : 0, im ? im->height : 0, im ? im->channels : 0);
    return LLX_OK;
}

llx_status llx_image_save_png(const char *path, const llx_image *im, llx_error *err)
{
    LLX_TRY(check_image(path, im, err));
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->width;
    pi.height = (png_uint_32)im->height;
    pi.format = im->channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pi, path, 0, im->data, 0, NULL)) {
        llx_status st = llx_errorf(err, LLX_ERR_IO, "%s: cannot write PNG: %s", path, pi.message);
        png_image_free(&pi);
        return st;
    }
    return LLX_OK;
}

llx_status llx_image_save_jpeg(const char *path, const llx_image *im, int quality, llx_error *err)
{
    LLX_TRY(check_image(path, im, err));
    FILE *volatile f = fopen(path, "wb");
    if (!f) return llx_errorf(err, LLX_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    jpeg_fail fail;
    memset(&fail, 0, sizeof fail);
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_on_error;
    if (setjmp(fail.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        return llx_errorf(err, LLX_ERR_IO, "%s: cannot write JPEG: %s", path, fail.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)im->width;
    cinfo.image_height = (JDIMENSION)im->height;
    cinfo.input_components = im->channels;
    cinfo.in_color_space = im->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)im->width * (size_t)im->channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = im->data + stride * cinfo.next_scanline;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) return llx_errorf(err, LLX_ERR_IO, "%s: write error", path);
    return LLX_OK;
}

void llx_image_free(llx_image *im)
{
    if (!im) return;
    free(im->data);
    *im = (llx_image){0};
}
