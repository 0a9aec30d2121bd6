/* h5util.c: see h5util_impl.h. */
#include "h5util_impl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STRING (64u << 20) /* string attributes longer than this are refused */

hid_t llx_h5_create(const char *path)
{
    /* The 1.8 format's object headers move attributes into dense storage (a fractal heap),
     * which has no 64 KiB limit; phase change 0/0 puts the root group's attributes there
     * from the first one. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t f = -1;
    if (fcpl >= 0 && fapl >= 0 && H5Pset_attr_phase_change(fcpl, 0, 0) >= 0 &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) >= 0)
        f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    return f;
}

static herr_t scalar_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) return -1;
    hid_t a = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, mem_type, value);
    if (a >= 0 && H5Aclose(a) < 0) st = -1;
    H5Sclose(space);
    return st;
}

herr_t llx_h5_str_attr(hid_t obj, const char *name, const char *value)
{
    if (!value) value = "";
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0) return -1;
    herr_t st = -1;
    /* bytes as given (UTF-8 text stays UTF-8); readable with H5T_C_S1 */
    if (H5Tset_size(type, strlen(value) + 1) >= 0 && H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0 &&
        H5Tset_cset(type, H5T_CSET_ASCII) >= 0)
        st = scalar_attr(obj, name, type, type, value);
    H5Tclose(type);
    return st;
}

herr_t llx_h5_i64_attr(hid_t obj, const char *name, int64_t value)
{
    return scalar_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

herr_t llx_h5_f64_attr(hid_t obj, const char *name, double value)
{
    return scalar_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

herr_t llx_h5_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int nd,
                      const hsize_t *dims, const void *data)
{
    hid_t space = H5Screate_simple(nd, dims, NULL);
    if (space < 0) return -1;
    hid_t ds = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= dims[d];
    herr_t st = ds < 0 ? -1 : n == 0 ? 0 : H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0 && H5Dclose(ds) < 0) st = -1;
    H5Sclose(space);
    return st;
}

/* Opens obj's attribute name when it is a scalar of class cls1 or cls2; its file type in *type. */
static hid_t open_scalar(hid_t obj, const char *name, H5T_class_t cls1, H5T_class_t cls2, hid_t *type)
{
    *type = -1;
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a), space = H5Aget_space(a);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    bool ok = (cls == cls1 || cls == cls2) && space >= 0 && H5Sget_simple_extent_npoints(space) == 1;
    if (space >= 0) H5Sclose(space);
    if (!ok) {
        if (t >= 0) H5Tclose(t);
        H5Aclose(a);
        return -1;
    }
    *type = t;
    return a;
}

char *llx_h5_read_str(hid_t obj, const char *name)
{
    hid_t type;
    hid_t a = open_scalar(obj, name, H5T_STRING, H5T_STRING, &type);
    if (a < 0) return NULL;
    char *out = NULL;
    hid_t mem = H5Tcopy(H5T_C_S1);
    if (mem >= 0 && H5Tset_cset(mem, H5Tget_cset(type)) >= 0) { /* HDF5 converts no character sets */
        if (H5Tis_variable_str(type) > 0) {
            char *v = NULL;
            if (H5Tset_size(mem, H5T_VARIABLE) >= 0 && H5Aread(a, mem, &v) >= 0 && v) {
                size_t n = strlen(v);
                if (n < MAX_STRING && (out = malloc(n + 1))) memcpy(out, v, n + 1);
            }
            if (v) H5free_memory(v);
        } else {
            /* one byte more than stored: a NUL-padded string that fills its size keeps its last byte */
            size_t size = H5Tget_size(type);
            if (size > 0 && size < MAX_STRING && H5Tset_size(mem, size + 1) >= 0 &&
                (out = calloc(1, size + 1)) && H5Aread(a, mem, out) < 0) {
                free(out);
                out = NULL;
            }
        }
    }
    if (mem >= 0) H5Tclose(mem);
    H5Tclose(type);
    H5Aclose(a);
    return out;
}

int llx_h5_read_num(hid_t obj, const char *name, hid_t mem_type, void *out)
{
    hid_t type;
    hid_t a = open_scalar(obj, name, H5T_INTEGER, H5T_FLOAT, &type);
    if (a < 0) return -1;
    int rc = H5Aread(a, mem_type, out) < 0 ? -1 : 0;
    H5Tclose(type);
    H5Aclose(a);
    return rc;
}
