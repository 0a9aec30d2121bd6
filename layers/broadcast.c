/* broadcast.c: the shape rules of the broadcasting binary ops (broadcast.h), shared by their
 * CPU kernels (broadcast_impl.h) and CUDA kernels (layers/cuda). */
#include "broadcast.h"

#include <stdbool.h>

llx_status llx_bcast_check(const char *op, const llx_shape *a, const llx_shape *b,
                           llx_error *err)
{
    bool ok = a->ndim == b->ndim;
    for (int i = 0; ok && i < a->ndim; i++) ok = b->dim[i] == 1 || b->dim[i] == a->dim[i];
    if (ok) return LLX_OK;
    char sa[64], sb[64];
    return llx_errorf(err, LLX_ERR_SHAPE,
                      "%s: cannot broadcast %s onto %s (b needs a's %d dims, each 1 or equal "
                      "to a's)",
                      op, llx_shape_str(b, sb, sizeof sb), llx_shape_str(a, sa, sizeof sa),
                      a->ndim);
}

/* a, b: shapes that passed llx_bcast_check. */
llx_bcast_dims llx_bcast_canon(const llx_shape *a, const llx_shape *b)
{
    int64_t size[LLX_MAX_DIMS]; /* the merged groups of a's non-1 dims, outermost first */
    bool kept[LLX_MAX_DIMS];    /* group g is K (b keeps it) or B (b is 1 there) */
    int m = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dim[i] == 1) continue;
        bool k = b->dim[i] != 1;
        if (m > 0 && kept[m - 1] == k) {
            size[m - 1] *= a->dim[i];
        } else {
            size[m] = a->dim[i];
            kept[m++] = k;
        }
    }
    llx_bcast_dims d = {{1, 1, 1, 1, 1}};
    int slot = 4;
    for (int g = m - 1; g >= 0; g--) {
        if ((slot % 2 == 1) != kept[g]) slot--; /* K groups sit in the odd slots */
        d.s[slot--] = size[g];
    }
    return d;
}
