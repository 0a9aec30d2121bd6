/* h5read.c: see h5read.h. */
#include "h5read.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>

struct h5file {
    hid_t id;
};

h5file *h5_open(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) return NULL;
    h5file *f = malloc(sizeof *f);
    f->id = id;
    return f;
}

void h5_close(h5file *f)
{
    if (!f) return;
    H5Fclose(f->id);
    free(f);
}

int h5_exists(h5file *f, const char *path)
{
    return H5Lexists(f->id, path, H5P_DEFAULT) > 0;
}

int64_t h5_count(h5file *f, const char *path)
{
    H5G_info_t info;
    if (!h5_exists(f, path) || H5Gget_info_by_name(f->id, path, &info, H5P_DEFAULT) < 0) return -1;
    return (int64_t)info.nlinks;
}

double *h5_read_f64(h5file *f, const char *path, int64_t *n)
{
    if (!h5_exists(f, path)) return NULL;
    hid_t ds = H5Dopen2(f->id, path, H5P_DEFAULT);
    if (ds < 0) return NULL;
    hid_t sp = H5Dget_space(ds);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    double *out = malloc((size_t)(count > 0 ? count : 1) * sizeof *out);
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        free(out);
        out = NULL;
    }
    H5Sclose(sp);
    H5Dclose(ds);
    *n = count;
    return out;
}

double h5_attr_f64(h5file *f, const char *obj, const char *attr)
{
    if (H5Aexists_by_name(f->id, obj, attr, H5P_DEFAULT) <= 0) return NAN;
    hid_t a = H5Aopen_by_name(f->id, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
    double v = NAN;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) v = NAN;
    H5Aclose(a);
    return v;
}
