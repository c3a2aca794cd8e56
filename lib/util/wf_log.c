#include "wf_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

/* Process-wide by nature (stderr and syslog are); everything else in the
 * library keeps its state in its own objects. */
static const char *log_ident = "webfuse";
static enum wf_log_level log_max = WF_LOG_INFO;
static int log_syslog;
static wf_log_handler log_handler;
static void *log_handler_ud;

void wf_log_set_handler(wf_log_handler fn, void *ud)
{
    log_handler = fn;
    log_handler_ud = ud;
}

void wf_log_setup(const char *ident, enum wf_log_level max_level, int use_syslog)
{
    log_ident = ident ? ident : "webfuse";
    log_max = max_level;
    log_syslog = use_syslog;
    if (use_syslog)
        openlog(log_ident, LOG_PID, LOG_DAEMON);
}

int wf_log_enabled(enum wf_log_level level)
{
    return level <= log_max;
}

void wf_log(enum wf_log_level level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    if (!fmt || (int)level < 0 || (int)level > (int)WF_LOG_DEBUG || level > log_max)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (log_syslog) {
        vsyslog(prio[level], fmt, ap);
    } else {
        char line[1024];
        vsnprintf(line, sizeof line, fmt, ap);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        char out[1200];
        snprintf(out, sizeof out, "%02d:%02d:%02d.%03ld %s %s: %s", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, log_ident, names[level], line);
        if (log_handler)
            log_handler(log_handler_ud, level, out);
        else
            fprintf(stderr, "%s\n", out);
    }
    va_end(ap);
}
