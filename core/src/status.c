/* status.c: status names and error message helpers. */
#include <string.h>

#include "llx/status.h"

static const char *const status_names[] = {
    [LLX_OK] = "ok",
    [LLX_ERR_INVALID] = "invalid argument",
    [LLX_ERR_PARSE] = "parse error",
    [LLX_ERR_SHAPE] = "shape mismatch",
    [LLX_ERR_IO] = "i/o error",
    [LLX_ERR_NOMEM] = "out of memory",
    [LLX_ERR_PLUGIN] = "plugin error",
    [LLX_ERR_UNSUPPORTED] = "unsupported",
    [LLX_ERR_NOT_FOUND] = "not found",
    [LLX_ERR_NUMERIC] = "numeric error",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == LLX_STATUS_COUNT,
               "status_names must name every llx_status");

const char *llx_status_name(llx_status s)
{
    return (s >= 0 && s < LLX_STATUS_COUNT) ? status_names[s] : "unknown status";
}

llx_status llx_errorf(llx_error *err, llx_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

void llx_error_prefix(llx_error *err, const char *fmt, ...)
{
    if (!err) return;
    char prefix[LLX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix), mlen = strlen(err->msg);
    if (plen + 3 >= sizeof err->msg) return;
    size_t keep = mlen < sizeof err->msg - plen - 3 ? mlen : sizeof err->msg - plen - 3;
    memmove(err->msg + plen + 2, err->msg, keep);
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, ": ", 2);
    err->msg[plen + 2 + keep] = '\0';
}

void llx_error_clear(llx_error *err)
{
    if (!err) return;
    err->status = LLX_OK;
    err->msg[0] = '\0';
}
