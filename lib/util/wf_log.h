/* One logger for the whole project: levels, stderr by default, syslog on request. */
#ifndef WF_LOG_H
#define WF_LOG_H

enum wf_log_level { WF_LOG_ERROR, WF_LOG_WARN, WF_LOG_INFO, WF_LOG_DEBUG };

void wf_log_setup(const char *ident, enum wf_log_level max_level, int use_syslog);
void wf_log(enum wf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wf_log_enabled(enum wf_log_level level);

#define wf_error(...) wf_log(WF_LOG_ERROR, __VA_ARGS__)
#define wf_warn(...) wf_log(WF_LOG_WARN, __VA_ARGS__)
#define wf_info(...) wf_log(WF_LOG_INFO, __VA_ARGS__)
#define wf_debug(...) wf_log(WF_LOG_DEBUG, __VA_ARGS__)

#endif
