/* One live status line on a terminal (connected to, files open, bytes served,
 * rate), kept below the log lines, and a summary line per session. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wf_format_bytes(double bytes, char *buf, unsigned size)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    while (bytes >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f B", bytes);
    else
        snprintf(buf, size, "%.1f %s", bytes, units[u]);
}

static unsigned term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

static void clear_line(struct wf_progress *pg)
{
    if (pg->shown) {
        fputs("\r\033[K", stderr);
        pg->shown = 0;
    }
}

static void draw(struct wf_progress *pg)
{
    if (!pg->live || !pg->line[0])
        return;
    unsigned width = term_width() - 1; /* never wrap: \r must reach the start */
    fprintf(stderr, "\r\033[K%.*s", (int)width, pg->line);
    fflush(stderr);
    pg->shown = 1;
}

void wf_progress_init(struct wf_progress *pg, const char *url, int live)
{
    memset(pg, 0, sizeof *pg);
    pg->url = url;
    pg->live = live;
    pg->last_state = WF_PROVIDER_IDLE;
}

static void summary(struct wf_progress *pg, const struct wf_provider_status *st, const char *how)
{
    double secs = now_s() - pg->session_start;
    uint64_t bytes = st->bytes_served - pg->session_bytes;
    char amount[32], rate[32];
    wf_format_bytes((double)bytes, amount, sizeof amount);
    wf_format_bytes(secs > 0.001 ? (double)bytes / secs : 0.0, rate, sizeof rate);
    wf_log(WF_LOG_INFO, "session %s: %s served in %.1f s (%s/s), %u file%s still open", how, amount, secs,
           rate, st->files_open, st->files_open == 1 ? "" : "s");
}

static void compose(struct wf_progress *pg, const struct wf_provider_status *st)
{
    char amount[32], rate[32];
    switch (st->state) {
    case WF_PROVIDER_CONNECTED:
        wf_format_bytes((double)st->bytes_served, amount, sizeof amount);
        wf_format_bytes(pg->rate, rate, sizeof rate);
        snprintf(pg->line, sizeof pg->line, "connected to %s | %u file%s open | %s served | %s/s", pg->url,
                 st->files_open, st->files_open == 1 ? "" : "s", amount, rate);
        break;
    case WF_PROVIDER_WAITING:
        snprintf(pg->line, sizeof pg->line, "next try in %.1f s | %s", st->retry_in_ms / 1000.0,
                 st->reason && *st->reason ? st->reason : pg->url);
        break;
    case WF_PROVIDER_CONNECTING:
        snprintf(pg->line, sizeof pg->line, "connecting to %s ...", pg->url);
        break;
    default:
        pg->line[0] = '\0';
        break;
    }
}

void wf_progress_update(struct wf_progress *pg, const struct wf_provider_status *st)
{
    double t = now_s();
    int new_session = st->connections != pg->connections;
    if (st->state != pg->last_state || new_session) {
        if (pg->last_state == WF_PROVIDER_CONNECTED)
            summary(pg, st, "ended");
        pg->connections = st->connections;
        if (st->state == WF_PROVIDER_CONNECTED) {
            pg->session_start = t;
            pg->session_bytes = st->bytes_served;
            pg->rate_time = t;
            pg->rate_bytes = st->bytes_served;
            pg->rate = 0;
        }
        pg->last_state = st->state;
        pg->drawn_at = 0; /* redraw now */
    }
    if (t - pg->rate_time >= 1.0) {
        pg->rate = (double)(st->bytes_served - pg->rate_bytes) / (t - pg->rate_time);
        pg->rate_time = t;
        pg->rate_bytes = st->bytes_served;
    }
    if (!pg->live || t - pg->drawn_at < 0.25)
        return;
    pg->drawn_at = t;
    compose(pg, st);
    draw(pg);
}

void wf_progress_finish(struct wf_progress *pg, const struct wf_provider_status *st)
{
    if (pg->last_state == WF_PROVIDER_CONNECTED)
        summary(pg, st, "closed");
    pg->last_state = WF_PROVIDER_STOPPED;
    if (pg->live) {
        clear_line(pg);
        fflush(stderr);
    }
    pg->line[0] = '\0';
}

void wf_progress_pause(struct wf_progress *pg)
{
    clear_line(pg);
    fflush(stderr);
    pg->drawn_at = 0;
}

void wf_progress_log(void *ud, enum wf_log_level level, const char *line)
{
    (void)level;
    struct wf_progress *pg = ud;
    int was_shown = pg->shown;
    clear_line(pg);
    fprintf(stderr, "%s\n", line);
    if (was_shown)
        draw(pg);
    fflush(stderr);
}
