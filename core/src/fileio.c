/* fileio.c: reading whole files (see fileio_impl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio_impl.h"

llx_status llx_read_text(const char *path, char **text, size_t *len, llx_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int saved = errno;
        llx_errorf(err, LLX_ERR_IO, "%s: cannot open: %s", path, strerror(saved));
        errno = saved;
        return LLX_ERR_IO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        llx_errorf(err, LLX_ERR_NOMEM, "%s: out of memory reading the file", path);
        errno = ENOMEM;
        return LLX_ERR_NOMEM;
    }
    if (bad) {
        free(buf);
        llx_errorf(err, LLX_ERR_IO, "%s: read error", path);
        errno = EIO;
        return LLX_ERR_IO;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return LLX_OK;
}
