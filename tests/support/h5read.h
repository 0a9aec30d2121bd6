/* h5read.h: small HDF5 readers for test fixtures (returns malloc'd arrays). */
#ifndef LLX_TESTS_H5READ_H
#define LLX_TESTS_H5READ_H

#include <stdint.h>

typedef struct h5file h5file;

h5file *h5_open(const char *path);
void h5_close(h5file *f);
/* 1 if the object (dataset or group) exists. */
int h5_exists(h5file *f, const char *path);
/* Number of links in the group at path (-1 if absent). */
int64_t h5_count(h5file *f, const char *path);
/* The dataset converted to double; *n = element count. NULL if absent. */
double *h5_read_f64(h5file *f, const char *path, int64_t *n);
/* A scalar numeric attribute of the object at path; NAN if absent. */
double h5_attr_f64(h5file *f, const char *obj, const char *attr);

#endif
