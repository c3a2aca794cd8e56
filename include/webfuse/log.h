/* libwebfuse: logging. The library logs errors and (with WF_LOG_DEBUG) its
 * traffic through one process-wide logger: stderr by default, syslog on
 * request. Call wf_log_setup() once, before creating services or providers
 * (it is not thread-safe); wf_log() may be called from any thread. */
#ifndef WEBFUSE_LOG_H
#define WEBFUSE_LOG_H

#include "webfuse/api.h"

#ifdef __cplusplus
extern "C" {
#endif

enum wf_log_level { WF_LOG_ERROR, WF_LOG_WARN, WF_LOG_INFO, WF_LOG_DEBUG };

/* ident: prefix of each line / syslog ident (NULL: "webfuse"; the string must
 * stay valid). Messages above max_level are dropped (default WF_LOG_INFO). */
WF_API void wf_log_setup(const char *ident, enum wf_log_level max_level, int use_syslog);

/* Logs one line (printf format, no newline needed). NULL fmt is ignored. */
WF_API void wf_log(enum wf_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Hands every line that would go to stderr (already formatted: time, ident,
 * level, text; no newline) to fn instead, e.g. to keep a terminal status line
 * intact. Not for syslog. fn NULL: stderr again. Set it like wf_log_setup(). */
typedef void (*wf_log_handler)(void *ud, enum wf_log_level level, const char *line);
WF_API void wf_log_set_handler(wf_log_handler fn, void *ud);

/* Nonzero when messages of this level are logged. */
WF_API int wf_log_enabled(enum wf_log_level level);

#ifdef __cplusplus
}
#endif
#endif
