/* One logger for the whole project: levels, stderr by default, syslog on
 * request. The functions are public (webfuse/log.h); the macros are internal. */
#ifndef WF_LOG_H
#define WF_LOG_H

#include "webfuse/log.h"

#define wf_error(...) wf_log(WF_LOG_ERROR, __VA_ARGS__)
#define wf_warn(...) wf_log(WF_LOG_WARN, __VA_ARGS__)
#define wf_info(...) wf_log(WF_LOG_INFO, __VA_ARGS__)
#define wf_debug(...) wf_log(WF_LOG_DEBUG, __VA_ARGS__)

#endif
