/* llx/status.h: status codes and error messages for every public function.
 *
 * Two tiers (STYLE.md): LLX_ASSERT for programming bugs (file:line, abort);
 * everything a caller could handle returns an llx_status and fills an
 * llx_error with a message that carries its context. */
#ifndef LLX_STATUS_H
#define LLX_STATUS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum llx_status {
    LLX_OK = 0,
    LLX_ERR_INVALID,     /* bad argument or configuration */
    LLX_ERR_PARSE,       /* malformed YAML or file content */
    LLX_ERR_SHAPE,       /* shapes that do not fit */
    LLX_ERR_IO,          /* a file could not be read or written */
    LLX_ERR_NOMEM,       /* an allocation failed */
    LLX_ERR_PLUGIN,      /* a plugin could not be loaded */
    LLX_ERR_UNSUPPORTED, /* no kernel for this op on this backend or dtype */
    LLX_ERR_NOT_FOUND,   /* an unknown name */
    LLX_ERR_NUMERIC,     /* NaN or Inf where a number was expected */
    LLX_STATUS_COUNT
} llx_status;

#define LLX_ERROR_MSG_MAX 2048

typedef struct llx_error {
    llx_status status;
    char msg[LLX_ERROR_MSG_MAX];
} llx_error;

/* Name of a status ("invalid argument", ...). */
const char *llx_status_name(llx_status s);

/* Fills err (which may be NULL) and returns st. */
llx_status llx_errorf(llx_error *err, llx_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already in err. */
void llx_error_prefix(llx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to LLX_OK with an empty message. */
void llx_error_clear(llx_error *err);

/* Programming bugs only: prints file:line and the failed condition, aborts. */
#define LLX_ASSERT(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", __FILE__,       \
                    __LINE__, #cond);                                                         \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* Propagates a failing status: LLX_TRY(llx_graph_forward(g, err)); */
#define LLX_TRY(expr)                                                                         \
    do {                                                                                      \
        llx_status llx_try_status_ = (expr);                                                  \
        if (llx_try_status_ != LLX_OK) return llx_try_status_;                                \
    } while (0)

#endif
