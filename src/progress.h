/* The provider's terminal status line and its session summaries. */
#ifndef WF_PROGRESS_H
#define WF_PROGRESS_H

#include <stdint.h>

#include "webfuse/log.h"
#include "webfuse/provider.h"

struct wf_progress {
    int live;              /* draw the status line (stderr is a terminal) */
    int shown;             /* a status line is on the screen now */
    const char *url;
    enum wf_provider_state last_state;
    unsigned connections;  /* st->connections when last seen */
    double session_start;  /* monotonic seconds */
    uint64_t session_bytes;/* bytes_served when the session began */
    double rate_time, rate;/* bytes per second over the last second or so */
    uint64_t rate_bytes;
    double drawn_at;
    char line[512];
};

/* live: draw a status line on stderr (call only when it is a terminal). */
void wf_progress_init(struct wf_progress *pg, const char *url, int live);

/* Call often (a few times a second): redraws the line at most 4 times a
 * second, and logs a one-line summary when a session ends. */
void wf_progress_update(struct wf_progress *pg, const struct wf_provider_status *st);

/* At exit: the summary of a session still open, and the line cleared. */
void wf_progress_finish(struct wf_progress *pg, const struct wf_provider_status *st);

/* Takes the status line off the screen (before a prompt); the next update
 * draws it again. */
void wf_progress_pause(struct wf_progress *pg);

/* A wf_log_handler (ud = the wf_progress): prints the line above the status line. */
void wf_progress_log(void *ud, enum wf_log_level level, const char *line);

/* "12.3 MiB" */
void wf_format_bytes(double bytes, char *buf, unsigned size);

#endif
