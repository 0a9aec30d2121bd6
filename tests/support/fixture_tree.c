/* fixture_tree.c: small dataset trees for tests (see fixture_tree.h). */
#define _XOPEN_SOURCE 700
#include "fixture_tree.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llx/data.h"

const char *const fixture_fer_folders[7] = {"angry", "disgust",  "fear",   "happy",
                                            "sad",   "surprise", "neutral"};

char *fixture_tmpdir(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s_XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(buf)) {
        fprintf(stderr, "fixture: mkdtemp %s: %s\n", buf, strerror(errno));
        return NULL;
    }
    return strdup(buf);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fixture_rmtree(const char *dir)
{
    if (dir && *dir) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fixture_mkdirs(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "fixture: mkdir %s: %s\n", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

const char *fixture_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return buf;
}

static int parent_dirs(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    return fixture_mkdirs(dir);
}

int fixture_bytes(const char *path, const void *bytes, size_t len)
{
    if (parent_dirs(path) != 0) return -1;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len) {
        fprintf(stderr, "fixture: write %s: %s\n", path, strerror(errno));
        if (f) fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

int fixture_text(const char *path, const char *text)
{
    return fixture_bytes(path, text, strlen(text));
}

int fixture_image(const char *path, int w, int h, int channels, uint8_t value)
{
    if (parent_dirs(path) != 0) return -1;
    size_t n = (size_t)w * (size_t)h * (size_t)channels;
    llx_image im = {.width = w, .height = h, .channels = channels, .data = malloc(n)};
    if (!im.data) return -1;
    memset(im.data, value, n);
    llx_error err = {0};
    const char *dot = strrchr(path, '.');
    llx_status st = dot && strcmp(dot, ".png") == 0 ? llx_image_save_png(path, &im, &err)
                                                    : llx_image_save_jpeg(path, &im, 95, &err);
    free(im.data);
    if (st != LLX_OK) fprintf(stderr, "fixture: %s\n", err.msg);
    return st == LLX_OK ? 0 : -1;
}

int fixture_truncated_image(const char *path, int w, int h, size_t keep)
{
    if (fixture_image(path, w, h, 3, 99) != 0) return -1;
    return truncate(path, (off_t)keep);
}

int fixture_fer2013_csv(const char *path, const char *header, int n_train, int n_public, int n_private)
{
    if (parent_dirs(path) != 0) return -1;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", header);
    char cols[3][16];
    if (sscanf(header, "%15[^,],%15[^,],%15s", cols[0], cols[1], cols[2]) != 3) {
        fclose(f);
        return -1;
    }
    int total = n_train + n_public + n_private;
    for (int r = 0; r < total; r++) {
        const char *usage = r < n_train ? "Training" : r < n_train + n_public ? "PublicTest" : "PrivateTest";
        for (int c = 0; c < 3; c++) {
            if (c) fputc(',', f);
            if (strcmp(cols[c], "emotion") == 0) fprintf(f, "%d", r % 7);
            if (strcmp(cols[c], "Usage") == 0) fputs(usage, f);
            if (strcmp(cols[c], "pixels") == 0)
                for (int k = 0; k < 48 * 48; k++)
                    fprintf(f, k ? " %d" : "%d", r % 256);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

int fixture_fer2013_folders(const char *root, int n_train, int n_public, int n_private)
{
    char p[4096];
    int total = n_train + n_public + n_private;
    for (int r = 0; r < total; r++) {
        const char *cls = fixture_fer_folders[r % 7];
        if (r < n_train)
            fixture_path(p, sizeof p, "%s/train/%s/Training_%d.jpg", root, cls, r);
        else
            fixture_path(p, sizeof p, "%s/test/%s/%s_%d.jpg", root, cls,
                         r < n_train + n_public ? "PublicTest" : "PrivateTest", r);
        if (fixture_image(p, 48, 48, 1, (uint8_t)(r % 256)) != 0) return -1;
    }
    return 0;
}

int fixture_affwild2_video(const char *root, const char *set, const char *video, const int *labels, int n,
                           const uint8_t *has_image, int header)
{
    char p[4096];
    fixture_path(p, sizeof p, "%s/annotations/EXPR_Set/%s/%s.txt", root, set, video);
    if (parent_dirs(p) != 0) return -1;
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    if (header) fputs("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%d\n", labels[i]);
    if (fclose(f) != 0) return -1;
    fixture_path(p, sizeof p, "%s/cropped_aligned/%s", root, video);
    if (fixture_mkdirs(p) != 0) return -1;
    for (int i = 0; i < n; i++) {
        if (has_image && !has_image[i]) continue;
        fixture_path(p, sizeof p, "%s/cropped_aligned/%s/%05d.jpg", root, video, i + 1);
        if (fixture_image(p, 8, 8, 3, (uint8_t)(i % 256)) != 0) return -1;
    }
    return 0;
}
