/* dataset_util.c: pieces shared by the dataset formats: the file-list source,
 * sorted directory listings and an RFC 4180 CSV reader. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dataset_impl.h"

/* ---- file list ---- */

typedef struct fentry {
    uint32_t dir;
    uint32_t name; /* offset into names, or NO_NAME: "%05d.jpg" of the frame */
    llx_sample s;
} fentry;

#define NO_NAME UINT32_MAX

struct filelist {
    char **dirs;
    size_t n_dirs;
    char *names;
    size_t names_len, names_cap;
    fentry *e;
    size_t n, cap;
};

filelist *llx_filelist_new(void)
{
    return calloc(1, sizeof(filelist));
}

void llx_filelist_free(filelist *fl)
{
    if (!fl) return;
    for (size_t i = 0; i < fl->n_dirs; i++)
        free(fl->dirs[i]);
    free(fl->dirs);
    free(fl->names);
    free(fl->e);
    free(fl);
}

static llx_status nomem(llx_error *err)
{
    return llx_errorf(err, LLX_ERR_NOMEM, "out of memory listing dataset files");
}

llx_status llx_filelist_dir(filelist *fl, const char *dir, uint32_t *index, llx_error *err)
{
    char **nd = realloc(fl->dirs, (fl->n_dirs + 1) * sizeof *nd);
    if (!nd) return nomem(err);
    fl->dirs = nd;
    if (!(nd[fl->n_dirs] = strdup(dir))) return nomem(err);
    *index = (uint32_t)fl->n_dirs++;
    return LLX_OK;
}

llx_status llx_filelist_add(filelist *fl, uint32_t dir, const char *name, int label, int video, int frame,
                            int64_t item, llx_error *err)
{
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 1024;
        fentry *ne = realloc(fl->e, cap * sizeof *ne);
        if (!ne) return nomem(err);
        fl->e = ne;
        fl->cap = cap;
    }
    uint32_t off = NO_NAME;
    if (name) {
        size_t len = strlen(name) + 1;
        if (fl->names_len + len > fl->names_cap) {
            size_t cap = fl->names_cap ? fl->names_cap * 2 : 1 << 16;
            while (cap < fl->names_len + len)
                cap *= 2;
            char *nn = realloc(fl->names, cap);
            if (!nn) return nomem(err);
            fl->names = nn;
            fl->names_cap = cap;
        }
        if (fl->names_len + len >= NO_NAME) return nomem(err);
        off = (uint32_t)fl->names_len;
        memcpy(fl->names + off, name, len);
        fl->names_len += len;
    }
    if (item < 0) item = (int64_t)fl->n;
    fl->e[fl->n++] = (fentry){
        .dir = dir, .name = off, .s = {.label = label, .video = video, .frame = frame, .item = item}};
    return LLX_OK;
}

static const char *fl_path(const filelist *fl, size_t i, char *buf, size_t cap)
{
    const fentry *e = &fl->e[i];
    if (e->name == NO_NAME)
        snprintf(buf, cap, "%s/%05d.jpg", fl->dirs[e->dir], (int)e->s.frame);
    else
        snprintf(buf, cap, "%s/%s", fl->dirs[e->dir], fl->names + e->name);
    return buf;
}

static size_t fl_size(const source *s)
{
    return ((const filelist *)s->ctx)->n;
}

static void fl_info(const source *s, size_t i, llx_sample *out)
{
    *out = ((const filelist *)s->ctx)->e[i].s;
}

static const char *fl_describe(const source *s, size_t i, char *buf, size_t cap)
{
    return fl_path(s->ctx, i, buf, cap);
}

static llx_status fl_load(const source *s, size_t i, llx_image *out, llx_error *err)
{
    char path[4096];
    return llx_image_load(fl_path(s->ctx, i, path, sizeof path), out, err);
}

static void fl_free(source *s)
{
    llx_filelist_free(s->ctx);
    free(s);
}

static const source_ops filelist_ops = {
    .size = fl_size, .info = fl_info, .load = fl_load, .describe = fl_describe, .free = fl_free};

llx_status llx_filelist_source(filelist *fl, const llx_data_stats *stats, source **out, llx_error *err)
{
    source *s = llx_source_new(&filelist_ops, fl);
    if (!s) {
        llx_filelist_free(fl);
        return nomem(err);
    }
    if (stats) s->stats = *stats;
    *out = s;
    return LLX_OK;
}

/* ---- directories ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void llx_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

llx_status llx_list_dir(const char *dir, int dirs_only, char ***names, size_t *n, llx_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) return llx_errorf(err, LLX_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    char **v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.') continue; /* ., .., hidden files */
        int is_dir;
        if (de->d_type == DT_DIR || de->d_type == DT_REG) {
            is_dir = de->d_type == DT_DIR;
        } else { /* symlinks and file systems without d_type */
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (stat(path, &st) != 0) continue;
            is_dir = S_ISDIR(st.st_mode);
            if (!is_dir && !S_ISREG(st.st_mode)) continue;
        }
        if (is_dir != !!dirs_only) continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 256;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) goto oom;
            v = nv;
        }
        if (!(v[len] = strdup(de->d_name))) goto oom;
        len++;
    }
    closedir(dp);
    if (len) qsort(v, len, sizeof *v, cmp_names);
    *names = v;
    *n = len;
    return LLX_OK;
oom:
    closedir(dp);
    llx_free_names(v, len);
    return nomem(err);
}

int llx_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- CSV ---- */

static int csv_grow(csv_reader *r, size_t out)
{
    if (out + 2 <= r->buf_cap) return 1;
    size_t cap = r->buf_cap ? r->buf_cap * 2 : 4096;
    char *nb = realloc(r->buf, cap);
    if (!nb) return 0;
    r->buf = nb;
    r->buf_cap = cap;
    return 1;
}

int llx_csv_next(csv_reader *r)
{
    r->line += r->pending;
    r->pending = 0;
    /* skip empty lines */
    while (r->pos < r->len && (r->text[r->pos] == '\n' || r->text[r->pos] == '\r')) {
        if (r->text[r->pos] == '\n') r->line++;
        r->pos++;
    }
    if (r->pos >= r->len) return 0;
    r->line++;
    if (r->pos == 0 && r->len >= 3 && memcmp(r->text, "\xef\xbb\xbf", 3) == 0)
        r->pos += 3; /* UTF-8 byte order mark */
    size_t out = 0, nf = 0;
    int quoted = 0, at_start = 1;
    for (;;) {
        if (!csv_grow(r, out)) return -1;
        if (at_start) { /* begin a field */
            if (nf == r->fields_cap) {
                size_t cap = r->fields_cap ? r->fields_cap * 2 : 16;
                char **nfv = realloc(r->fields, cap * sizeof *nfv);
                if (!nfv) return -1;
                r->fields = nfv;
                size_t *no = realloc(r->offs, cap * sizeof *no);
                if (!no) return -1;
                r->offs = no;
                r->fields_cap = cap;
            }
            r->offs[nf++] = out;
            at_start = 0;
            if (r->pos < r->len && r->text[r->pos] == '"') {
                quoted = 1;
                r->pos++;
            }
        }
        if (r->pos >= r->len) {
            if (quoted) return -1;
            r->buf[out++] = '\0';
            break;
        }
        char ch = r->text[r->pos++];
        if (quoted) {
            if (ch == '"') {
                if (r->pos < r->len && r->text[r->pos] == '"') {
                    r->buf[out++] = '"';
                    r->pos++;
                } else {
                    quoted = 0;
                }
            } else {
                if (ch == '\n') r->pending++;
                r->buf[out++] = ch;
            }
        } else if (ch == ',') {
            r->buf[out++] = '\0';
            at_start = 1;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && r->pos < r->len && r->text[r->pos] == '\n') r->pos++;
            r->buf[out++] = '\0';
            break;
        } else {
            r->buf[out++] = ch;
        }
    }
    for (size_t i = 0; i < nf; i++)
        r->fields[i] = r->buf + r->offs[i];
    return (int)nf;
}

int llx_csv_column(const csv_reader *r, int nf, const char *name)
{
    for (int i = 0; i < nf; i++)
        if (strcasecmp(r->fields[i], name) == 0) return i;
    return -1;
}

void llx_csv_free(csv_reader *r)
{
    free(r->buf);
    free(r->fields);
    free(r->offs);
    r->buf = NULL;
    r->fields = NULL;
    r->offs = NULL;
}
