/* h5util_impl.h: the small HDF5 helpers that run.h5 (runfile.c, runread.c) and the
 * checkpoints (checkpoint.c) share. Files are created with the 1.8 file format as the
 * lower bound and dense attribute storage, so an attribute of any size (a large
 * `git diff`, a long experiment) can be written; the attributes themselves are plain
 * scalars: fixed-length NUL-terminated ASCII strings, int64 and float64, which h5py,
 * h5dump and HDF5 1.8+ read as before. Every function returns a negative value (or
 * NULL) on failure and leaves no identifier open. */
#ifndef LLX_H5UTIL_IMPL_H
#define LLX_H5UTIL_IMPL_H

#include <hdf5.h>
#include <stdint.h>

/* Creates (truncates) path for writing; attributes of any size work in it. */
hid_t llx_h5_create(const char *path);

/* Scalar attributes on a file, group or dataset; a NULL string is written as "". */
herr_t llx_h5_str_attr(hid_t obj, const char *name, const char *value);
herr_t llx_h5_i64_attr(hid_t obj, const char *name, int64_t value);
herr_t llx_h5_f64_attr(hid_t obj, const char *name, double value);

/* A dataset of rank nd written from data (mem_type) as file_type; data may be NULL when
 * a dimension is 0. */
herr_t llx_h5_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int nd,
                      const hsize_t *dims, const void *data);

/* A scalar string attribute (fixed or variable length, as h5py writes it), malloc'd; NULL
 * when absent, not a scalar string, over 64 MiB or unreadable. */
char *llx_h5_read_str(hid_t obj, const char *name);

/* A scalar integer or float attribute converted to mem_type; 0 on success, -1 when absent,
 * of another kind or unreadable. */
int llx_h5_read_num(hid_t obj, const char *name, hid_t mem_type, void *out);

#endif
