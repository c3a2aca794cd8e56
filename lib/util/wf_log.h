/* One logger for the whole project: levels, stderr by default, syslog on
 * request. The functions are public (webfuse/log.h); the macros are internal. */
#ifndef WF_LOG_H
#define WF_LOG_H

#include "webfuse/log.h"

#include <stddef.h>

#define wf_error(...) wf_log(WF_LOG_ERROR, __VA_ARGS__)
#define wf_warn(...) wf_log(WF_LOG_WARN, __VA_ARGS__)
#define wf_info(...) wf_log(WF_LOG_INFO, __VA_ARGS__)
#define wf_debug(...) wf_log(WF_LOG_DEBUG, __VA_ARGS__)

/* Copies len bytes of peer-supplied text (tokens, origins, paths, reasons)
 * into out as a printable C string: bytes outside 0x20..0x7e and '\' become
 * "\xNN". Never writes more than cap bytes; when the text does not fit it is
 * cut at a whole character and ends in "...". Returns the length written. */
size_t wf_log_escape(const char *in, size_t len, char *out, size_t cap);

#endif
