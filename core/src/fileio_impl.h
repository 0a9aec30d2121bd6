/* fileio_impl.h: reading a whole file, shared by the YAML loader, the image decoders
 * and the dataset formats. */
#ifndef LLX_FILEIO_IMPL_H
#define LLX_FILEIO_IMPL_H

#include <stddef.h>

#include "llx/status.h"

/* The file's bytes in a malloc'd buffer with a NUL after them (text or binary), *len
 * bytes long. On failure err says "<path>: cannot open: <reason>" (or read error, out of
 * memory) and errno keeps the cause. */
llx_status llx_read_text(const char *path, char **text, size_t *len, llx_error *err);

#endif
