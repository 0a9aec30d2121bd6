/* mem_track.c: the memory a backend holds (mem_track_impl.h). */
#include <stdlib.h>

#include "mem_track_impl.h"

bool llx_mem_track_add(llx_mem_track *t, const void *ptr, size_t bytes)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        llx_mem_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows) return false;
        t->rows = rows;
        t->cap = cap;
    }
    t->rows[t->n++] = (llx_mem_row){ptr, bytes};
    t->in_use += bytes;
    if (t->in_use > t->peak) t->peak = t->in_use;
    return true;
}

void llx_mem_track_remove(llx_mem_track *t, const void *ptr)
{
    for (size_t i = t->n; i-- > 0;) {
        if (t->rows[i].ptr != ptr) continue;
        t->in_use -= t->rows[i].bytes;
        t->rows[i] = t->rows[--t->n];
        return;
    }
}

void llx_mem_track_free(llx_mem_track *t)
{
    free(t->rows);
    *t = (llx_mem_track){0};
}
