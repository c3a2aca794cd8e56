/* Provider connection: a libwebsockets client that connects to the service,
 * answers its requests (dispatch.c) and reconnects with capped backoff. */
#include "webfuse/provider.h"

#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/wf_msg.h"
#include "proto/wf_refusal.h"
#include "provider/probe.h"
#include "provider/provider_int.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

#define WF_RX_BUFFER_SIZE WF_TX_CHUNK /* also the most lws sends at once */
#define WF_BACKOFF_MIN_MS 100u
#define WF_BACKOFF_MAX_MS 5000u
/* A connection that lived this long resets the backoff. */
#define WF_STABLE_US (10ll * LWS_US_PER_SEC)
/* Stop reading requests while this much output waits: a service that does not
 * read its answers must not make us buffer without bound, and a kernel reading
 * ahead on several files at once (12 requests of 1 MiB in flight) should not
 * cost us 12 MiB. The socket is the bottleneck then anyway. */
#define WF_TX_HIGH (2u * 1024u * 1024u)
#define WF_TX_LOW (1u * 1024u * 1024u)
/* The token travels in the handshake, which lws builds in one 64 KiB buffer
 * (WF_SOCKET_READ_SIZE) together with the other headers. */
#define WF_MAX_TOKEN (32u * 1024u)
/* A new connection counts as "connected" (logged, shown) once a request
 * arrives or it lasted this long; one that ends sooner was turned away. */
#define WF_TURNED_AWAY_US (1ll * LWS_US_PER_SEC)
/* How long a stop waits for the close handshake before it just goes. */
#define WF_CLOSE_WAIT_US (1ll * LWS_US_PER_SEC)
#define WF_REASON_MAX 124 /* a close frame's text is shorter */
#define WF_CAUSE_MAX 320

enum wf_state { WF_IDLE, WF_RUNNING, WF_FINISHING, WF_FINISHED };

struct wf_provider {
    struct wf_provider_ops ops;
    struct wf_dispatch dispatch;
    char *url, *ca_path, *token;
    int reconnect, verbose;

    /* parsed URL */
    char *host, *path;
    int port, tls;

    struct lws_protocols protocols[2];
    struct lws_context *volatile ctx;
    struct lws *wsi;
    struct wf_conn conn;
    int connecting, established, rx_paused;
    lws_usec_t established_at;
    int served;                 /* a request arrived on this connection */
    int quick_retry_used;       /* retried at once; reset by a connection that lasted */
    int announced;              /* counted as connected (see WF_TURNED_AWAY_US) */
    int creds_sent;             /* answered getcreds on this connection */
    int closing;                /* stop: our close frame is on its way */
    lws_usec_t close_deadline;

    /* why the last attempt or connection ended (wf_provider_get_status) */
    enum wf_provider_state pub_state;
    int close_code, permanent, tls_failed;
    char peer_reason[WF_REASON_MAX]; /* text of the service's close frame */
    char reason[WF_CAUSE_MAX];
    char logged[WF_CAUSE_MAX]; /* the cause last logged: one line per change */
    lws_usec_t retry_at;
    unsigned connections;
    struct wf_dispatch_stats stats;
    wf_credentials_fn ask_fn;
    void *ask_ud;
    int token_asked;            /* p->token came from ask_fn */

    enum wf_state state;
    int result;
    volatile sig_atomic_t stop;

    lws_sorted_usec_list_t sul_retry, sul_wake, sul_announce;
    unsigned backoff_ms;
    unsigned rng;
};

/* ---- helpers ---------------------------------------------------------- */

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

/* ws://host[:port][/path] or wss://...; host may be [v6]. */
static int parse_url(struct wf_provider *p)
{
    const char *u = p->url, *rest;
    if (strncmp(u, "ws://", 5) == 0) {
        p->tls = 0;
        p->port = 80;
        rest = u + 5;
    } else if (strncmp(u, "wss://", 6) == 0) {
        p->tls = 1;
        p->port = 443;
        rest = u + 6;
    } else {
        wf_error("URL must start with ws:// or wss://: %s", u);
        return -1;
    }
    const char *slash = strchr(rest, '/');
    size_t hplen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *hend = rest + hplen, *port = NULL, *hstart = rest;
    if (*rest == '[') {
        const char *rb = memchr(rest, ']', hplen);
        if (!rb)
            goto bad;
        hstart = rest + 1;
        hend = rb;
        if (rb + 1 < rest + hplen) {
            if (rb[1] != ':')
                goto bad;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(rest, ':', hplen);
        if (colon) {
            hend = colon;
            port = colon + 1;
        }
    }
    if (hend == hstart)
        goto bad;
    if (port) {
        char *end;
        long v = strtol(port, &end, 10);
        if (end == port || end != rest + hplen || v < 1 || v > 65535)
            goto bad;
        p->port = (int)v;
    }
    p->host = strndup(hstart, (size_t)(hend - hstart));
    p->path = strdup(slash ? slash : "/");
    if (!p->host || !p->path)
        return -1;
    return 0;
bad:
    wf_error("invalid URL: %s", u);
    return -1;
}

static unsigned next_random(struct wf_provider *p)
{
    /* xorshift: only for jitter */
    unsigned x = p->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->rng = x ? x : 0x9e3779b9u;
    return p->rng;
}

/* ---- connection lifecycle -------------------------------------------- */

static void connect_now(struct wf_provider *p);

static void retry_cb(lws_sorted_usec_list_t *sul)
{
    struct wf_provider *p = lws_container_of(sul, struct wf_provider, sul_retry);
    if (p->state == WF_RUNNING && !p->stop)
        connect_now(p);
}

static void wake_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only ends the wait in wf_provider_service() */
}

/* Records why the attempt or connection ended: a close code or refusal (0:
 * none), whether trying again can help, and the cause in words. */
static void set_cause(struct wf_provider *p, int code, int permanent, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void set_cause(struct wf_provider *p, int code, int permanent, const char *fmt, ...)
{
    p->close_code = code;
    p->permanent = permanent;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
}

static int give_up(const struct wf_provider *p)
{
    return !p->reconnect || (p->permanent && p->reconnect != WF_RECONNECT_ALWAYS);
}

/* The current attempt or connection is over: retry later or finish. One log
 * line per change of cause, not per attempt. at_once: retry without delay
 * (a working connection was lost). */
static void connection_ended(struct wf_provider *p, int at_once)
{
    if (p->state != WF_RUNNING || p->stop)
        return;
    if (give_up(p)) {
        p->state = WF_FINISHING;
        p->result = p->tls_failed ? WF_ETLS : p->permanent ? WF_EREFUSED : WF_ECONNECT;
        return;
    }
    unsigned delay = 1;
    if (p->close_code == WF_REFUSE_BACKOFF)
        p->backoff_ms = WF_BACKOFF_MAX_MS; /* the service asks us to wait */
    if (!at_once) {
        unsigned base = p->backoff_ms;
        delay = base / 2u + next_random(p) % (base / 2u + 1u);
        p->backoff_ms = base * 2u > WF_BACKOFF_MAX_MS ? WF_BACKOFF_MAX_MS : base * 2u;
    }
    if (strcmp(p->logged, p->reason) != 0) {
        wf_info("%s; retrying, at most %u s apart", p->reason, WF_BACKOFF_MAX_MS / 1000u);
        snprintf(p->logged, sizeof p->logged, "%s", p->reason);
    }
    wf_debug("retrying in %u ms", delay);
    p->pub_state = WF_PROVIDER_WAITING;
    p->retry_at = lws_now_usecs() + (lws_usec_t)delay * LWS_US_PER_MS;
    lws_sul_schedule(p->ctx, 0, &p->sul_retry, retry_cb, (lws_usec_t)delay * LWS_US_PER_MS);
}

static int is_tls_error(const char *msg)
{
    static const char *const words[] = { "ssl", "SSL", "tls", "TLS", "cert", "X509", "x509" };
    if (!msg)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(msg, words[i]))
            return 1;
    return 0;
}

static void connect_now(struct wf_provider *p)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = p->ctx;
    ci.address = p->host;
    ci.port = p->port;
    ci.path = p->path;
    ci.host = p->host;
    ci.origin = NULL; /* not a browser: no Origin header */
    ci.protocol = WF_PROTOCOL_NAME;
    ci.local_protocol_name = WF_PROTOCOL_NAME;
    ci.retry_and_idle_policy = &wf_idle_policy; /* a service that vanished is noticed */
    /* Certificate and host name are verified; no insecure flags, ever. */
    ci.ssl_connection = p->tls ? LCCSCF_USE_SSL : 0;
    ci.pwsi = &p->wsi;
    ci.opaque_user_data = p;

    wf_debug("connecting to %s", p->url);
    p->connecting = 1;
    p->tls_failed = 0;
    p->peer_reason[0] = '\0';
    p->pub_state = WF_PROVIDER_CONNECTING;
    if (!lws_client_connect_via_info(&ci) && p->connecting) {
        /* failed before any callback reported it */
        p->connecting = 0;
        p->wsi = NULL;
        char why[160];
        wf_probe_tcp(p->host, p->port, 1000, why, sizeof why);
        set_cause(p, 0, 0, "cannot reach %s: %s", p->url, why);
        connection_ended(p, 0);
    }
}

/* The attempt failed before the WebSocket was open. */
static void on_connect_error(struct wf_provider *p, struct lws *wsi, const char *msg)
{
    unsigned status = wsi ? lws_http_client_http_response(wsi) : 0;
    enum wf_refusal r = status ? wf_refusal_from_code((int)status) : WF_REFUSE_NONE;
    if (r != WF_REFUSE_NONE) {
        set_cause(p, (int)r, wf_refusal_permanent(r), "refused: %s", wf_refusal_text(r));
    } else if (status) {
        set_cause(p, 0, 0, "%s answered HTTP %u instead of opening a WebSocket (is the URL right?)", p->url,
                  status);
    } else if (p->tls && is_tls_error(msg) && wf_probe_scheme(p->host, p->port, 1000) == WF_PROBE_HTTP) {
        set_cause(p, 0, 1, "%s does not speak TLS: the URL must start with ws://", p->url);
    } else if (p->tls && is_tls_error(msg)) {
        p->tls_failed = 1;
        set_cause(p, 0, 1, "TLS error with %s: %s (is the service's certificate trusted? see --ca-path)", p->url,
                  msg);
    } else if (!p->tls && strstr(msg, "read failed") && wf_probe_scheme(p->host, p->port, 1000) == WF_PROBE_TLS) {
        set_cause(p, 0, 1, "%s uses TLS: the URL must start with wss://", p->url);
    } else if (strstr(msg, "read failed")) {
        set_cause(p, 0, 0, "%s", p->token ? "the service closed the connection during the handshake: "
                  "the token may have been rejected, or another provider is attached"
                  : "the service closed the connection during the handshake: "
                  "a token may be required or another provider may be attached");
    } else {
        char why[160];
        if (strstr(msg, "nable to connect") && wf_probe_tcp(p->host, p->port, 1000, why, sizeof why) != 0)
            msg = why;
        set_cause(p, 0, 0, "cannot reach %s: %s", p->url, msg);
    }
}

/* The connection was not turned away: from now on it counts. */
static void announce(struct wf_provider *p)
{
    if (!p->established || p->announced)
        return;
    p->announced = 1;
    p->pub_state = WF_PROVIDER_CONNECTED;
    p->connections++;
    p->logged[0] = '\0'; /* a failure after this is news again */
    wf_info("connected to %s", p->url);
}

static void announce_cb(lws_sorted_usec_list_t *sul)
{
    announce(lws_container_of(sul, struct wf_provider, sul_announce));
}

static int on_established(struct wf_provider *p, struct lws *wsi)
{
    p->connecting = 0;
    p->established = 1;
    p->rx_paused = 0;
    p->served = 0;
    p->announced = 0;
    p->creds_sent = 0;
    p->close_code = 0; /* an earlier attempt's refusal is not this connection's */
    p->permanent = 0;
    p->established_at = lws_now_usecs();
    p->stats.files_open = 0;
    wf_conn_init(&p->conn, wsi);
    wf_debug("WebSocket open to %s", p->url);
    lws_sul_schedule(p->ctx, 0, &p->sul_announce, announce_cb, WF_TURNED_AWAY_US);
    return 0;
}

/* The service sent a close frame: 2-byte code, then a reason text. */
static void on_peer_close(struct wf_provider *p, const unsigned char *in, size_t len)
{
    if (len < 2) {
        p->close_code = WF_CLOSE_NORMAL; /* a close frame without a code */
        return;
    }
    p->close_code = (in[0] << 8) | in[1];
    size_t n = len - 2 < sizeof p->peer_reason - 1 ? len - 2 : sizeof p->peer_reason - 1;
    for (size_t i = 0; i < n; i++) /* printable only: it goes into our log */
        p->peer_reason[i] = in[2 + i] >= 0x20 && in[2 + i] < 0x7f ? (char)in[2 + i] : '?';
    p->peer_reason[n] = '\0';
}

/* Why an open connection ended, from its close code (or the lack of one). */
static void closed_cause(struct wf_provider *p, int code)
{
    enum wf_refusal r = wf_refusal_from_code(code);
    const char *extra = p->peer_reason;
    if (r != WF_REFUSE_NONE) {
        set_cause(p, (int)r, wf_refusal_permanent(r), "refused: %s%s%s%s", wf_refusal_text(r),
                  *extra ? " (" : "", extra, *extra ? ")" : "");
    } else if (code == WF_CLOSE_GOING_AWAY) {
        set_cause(p, code, 0, "the service at %s is shutting down", p->url);
    } else if (code == WF_CLOSE_PROTOCOL) {
        set_cause(p, code, 0, "the service closed the connection: protocol error %s", extra);
    } else if (code && code != WF_CLOSE_ABNORMAL) {
        set_cause(p, code, 0, "the service closed the connection (code %d%s%s)", code, *extra ? ": " : "",
                  extra);
    } else if (!p->announced && p->creds_sent) {
        set_cause(p, 0, 0, "%s", "the service closed the connection after it asked for credentials: "
                  "the token was probably rejected");
    } else if (!p->announced) {
        set_cause(p, 0, 0, "%s", "the service closed the connection right after it opened: "
                  "a token may be required or another provider may be attached");
    } else {
        set_cause(p, 0, 0, "connection to %s lost", p->url);
    }
}

/* A token the person typed was rejected: forget it and ask again on the
 * next attempt, instead of giving up. */
static void forget_asked_token(struct wf_provider *p)
{
    if (!p->token_asked || p->close_code != WF_REFUSE_TOKEN)
        return;
    free(p->token);
    p->token = NULL;
    p->dispatch.token = NULL;
    p->token_asked = 0;
    p->permanent = 0;
    wf_info("%s; asking for the token again", p->reason);
}

static void on_closed(struct wf_provider *p)
{
    if (!p->established)
        return;
    p->established = 0;
    lws_sul_cancel(&p->sul_announce);
    int code = p->close_code;
    p->close_code = 0;
    wf_conn_cleanup(&p->conn);
    if (p->ops.disconnected)
        p->ops.disconnected(p->dispatch.ud);
    /* stats.files_open keeps its value for the session summary: the files
     * the connection held when it ended (on_established resets it) */
    if (p->stop || p->closing) {
        wf_info("disconnected (stopped)");
        return;
    }
    lws_usec_t lived = lws_now_usecs() - p->established_at;
    closed_cause(p, code);
    forget_asked_token(p);
    if (p->announced) {
        wf_info("disconnected: %s", p->reason);
        snprintf(p->logged, sizeof p->logged, "%s", p->reason);
    }
    /* A connection that worked was lost: try again at once, then back off
     * from the start. One that was turned away backs off as before. So does
     * one that worked for less than a second right after such an immediate
     * retry: a service that drops each connection is not hammered. */
    int worked = p->served || lived >= WF_STABLE_US;
    if ((p->served && lived >= WF_TURNED_AWAY_US) || lived >= WF_STABLE_US)
        p->quick_retry_used = 0;
    int at_once = worked && !p->quick_retry_used && wf_refusal_from_code(p->close_code) == WF_REFUSE_NONE;
    if (at_once) {
        p->quick_retry_used = 1;
        p->backoff_ms = WF_BACKOFF_MIN_MS;
    }
    connection_ended(p, at_once);
}

/* getcreds without a configured token: ask once, keep the answer. */
static const char *ask_token(void *ctx)
{
    struct wf_provider *p = ctx;
    if (!p->ask_fn || p->token)
        return p->token;
    char buf[1024];
    memset(buf, 0, sizeof buf);
    if (p->ask_fn(p->ask_ud, buf, sizeof buf) != 0)
        return NULL;
    buf[sizeof buf - 1] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    p->token = strdup(buf);
    p->dispatch.token = p->token;
    p->token_asked = p->token != NULL;
    memset(buf, 0, sizeof buf);
    return p->token;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct wf_provider *p = ctx ? lws_context_user(ctx) : NULL;
    if (!p)
        return 0;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (p->token) {
            unsigned char **pos = (unsigned char **)in;
            unsigned char *end = *pos + len;
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"X-Auth-Token:",
                                            (const unsigned char *)p->token, (int)strlen(p->token), pos, end)) {
                wf_error("token does not fit into the handshake");
                return -1;
            }
        }
        return 0;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        return on_established(p, wsi);

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        wf_debug("connection error: %s", in ? (const char *)in : "unknown error");
        if (p->connecting) {
            p->connecting = 0;
            on_connect_error(p, wsi, in ? (const char *)in : "unknown error");
            forget_asked_token(p);
            p->wsi = NULL;
            connection_ended(p, 0);
        }
        p->wsi = NULL;
        return 0;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(p, in, len);
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!p->established)
            return -1;
        int r = wf_conn_on_receive(&p->conn, in, len);
        if (r < 0) {
            wf_error("protocol violation by the service (text frame or oversized message): closing");
            return -1;
        }
        if (r == 0)
            return 0;
        if (p->conn.rx_len > 4 && p->conn.rx[4] == WF_GETCREDS) {
            p->creds_sent = 1; /* not yet admitted: the service may still refuse */
        } else {
            p->served = 1;
            announce(p);
        }
        int rc = wf_dispatch_message(&p->dispatch, &p->conn, p->conn.rx, p->conn.rx_len);
        wf_conn_rx_done(&p->conn);
        if (rc < 0)
            return -1;
        if (!p->rx_paused && p->conn.queued_bytes > WF_TX_HIGH) {
            p->rx_paused = 1;
            lws_rx_flow_control(wsi, 0);
        }
        return 0;
    }

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!p->established)
            return 0;
        if (p->closing) {
            static const char bye[] = "provider stopped";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)bye, sizeof bye - 1);
            return -1;
        }
        if (wf_conn_on_writable(&p->conn) < 0) {
            wf_error("write to the service failed: closing");
            return -1;
        }
        if (p->rx_paused && p->conn.queued_bytes < WF_TX_LOW) {
            p->rx_paused = 0;
            lws_rx_flow_control(wsi, 1);
        }
        return 0;

    case LWS_CALLBACK_CLIENT_CLOSED:
        on_closed(p);
        return 0;

    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == p->wsi || wsi == p->conn.wsi) {
            on_closed(p); /* no-op unless CLIENT_CLOSED was skipped */
            if (p->connecting) {
                p->connecting = 0;
                set_cause(p, 0, 0, "the connection to %s ended before it opened", p->url);
                connection_ended(p, 0);
            }
            p->wsi = NULL;
        }
        return 0;

    default:
        return 0;
    }
}

/* ---- public API ------------------------------------------------------- */

struct wf_provider *wf_provider_create(const struct wf_provider_ops *ops, void *ud,
                                       const struct wf_provider_config *config)
{
    if (!ops || !config || !config->url)
        return NULL;
    if (config->token) {
        size_t n = strlen(config->token);
        if (n > WF_MAX_TOKEN || strpbrk(config->token, "\r\n")) {
            wf_error("invalid token (longer than %u bytes, or contains a line break)", WF_MAX_TOKEN);
            return NULL;
        }
    }
    struct wf_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    int fail = 0;
    p->ops = *ops;
    p->url = dup_or_null(config->url, &fail);
    p->ca_path = dup_or_null(config->ca_path, &fail);
    p->token = dup_or_null(config->token, &fail);
    p->reconnect = config->reconnect == WF_RECONNECT_ALWAYS ? WF_RECONNECT_ALWAYS
                   : config->reconnect ? WF_RECONNECT : 0;
    p->verbose = config->verbose ? 1 : 0;
    if (fail || parse_url(p) != 0) {
        wf_provider_destroy(p);
        return NULL;
    }
    p->dispatch.ops = &p->ops;
    p->dispatch.ud = ud;
    p->dispatch.token = p->token;
    p->dispatch.ask_token = ask_token;
    p->dispatch.ask_ctx = p;
    p->dispatch.stats = &p->stats;
    p->dispatch.verbose = p->verbose;
    p->backoff_ms = WF_BACKOFF_MIN_MS;
    p->rng = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ (unsigned)(uintptr_t)p;
    if (!p->rng)
        p->rng = 1;
    p->state = WF_IDLE;

    p->protocols[0].name = WF_PROTOCOL_NAME;
    p->protocols[0].callback = callback;
    p->protocols[0].per_session_data_size = 0;
    p->protocols[0].rx_buffer_size = WF_RX_BUFFER_SIZE;
    return p;
}

static int start(struct wf_provider *p)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = p->protocols;
    info.user = p;
    info.gid = -1;
    info.uid = -1;
    info.fd_limit_per_thread = 16;
    info.pt_serv_buf_size = WF_SOCKET_READ_SIZE;
    if (p->tls) {
#if !defined(LWS_WITH_TLS)
        wf_error("wss:// needs TLS, and libwebsockets was built without it");
        return WF_ETLS;
#else
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = p->ca_path;
        if (p->ca_path && access(p->ca_path, R_OK) != 0) {
            wf_error("cannot read CA file %s: %s", p->ca_path, strerror(errno));
            return WF_ETLS;
        }
#endif
    }
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        wf_error(p->tls ? "cannot set up TLS (CA file %s)" : "cannot create the WebSocket context%s",
                 p->ca_path ? p->ca_path : (p->tls ? "system store" : ""));
        return p->tls ? WF_ETLS : WF_ENOMEM;
    }
    p->ctx = ctx;
    p->state = WF_RUNNING;
    connect_now(p);
    return WF_SUCCESS;
}

static void finish(struct wf_provider *p)
{
    p->state = WF_FINISHED;
    p->pub_state = WF_PROVIDER_STOPPED;
    if (p->ctx) {
        struct lws_context *ctx = p->ctx;
        lws_sul_cancel(&p->sul_retry);
        lws_sul_cancel(&p->sul_wake);
        lws_sul_cancel(&p->sul_announce);
        lws_context_destroy(ctx); /* closes the connection: on_closed() drops handles */
        p->ctx = NULL;
    }
    if (p->established) {
        p->established = 0;
        wf_conn_cleanup(&p->conn);
        if (p->ops.disconnected)
            p->ops.disconnected(p->dispatch.ud);
    }
    p->wsi = NULL;
}

static int finished_status(const struct wf_provider *p)
{
    return p->result == WF_SUCCESS ? 1 : p->result;
}

/* One lws_service() round, waiting at most timeout_ms (< 0: until an event). */
static void service_once(struct wf_provider *p, int timeout_ms)
{
    if (timeout_ms >= 0)
        lws_sul_schedule(p->ctx, 0, &p->sul_wake, wake_cb, (lws_usec_t)timeout_ms * LWS_US_PER_MS);
    lws_service(p->ctx, 0);
    if (timeout_ms >= 0)
        lws_sul_cancel(&p->sul_wake);
}

int wf_provider_service(struct wf_provider *p, int timeout_ms)
{
    if (!p)
        return WF_EINVAL;
    if (p->state == WF_FINISHED)
        return finished_status(p);
    if (p->state == WF_IDLE) {
        if (p->stop) {
            p->state = WF_FINISHED;
            return finished_status(p);
        }
        int rc = start(p);
        if (rc != WF_SUCCESS) {
            p->result = rc;
            finish(p);
            return rc;
        }
    }
    if (!p->stop && p->state == WF_RUNNING)
        service_once(p, timeout_ms);
    if (p->stop && p->state == WF_RUNNING && p->established) {
        /* leave on purpose: a close frame with 1000 first, then go */
        if (!p->closing) {
            p->closing = 1;
            p->close_deadline = lws_now_usecs() + WF_CLOSE_WAIT_US;
            lws_callback_on_writable(p->conn.wsi);
        }
        if (lws_now_usecs() < p->close_deadline) {
            service_once(p, 50);
            if (p->established && lws_now_usecs() < p->close_deadline)
                return WF_SUCCESS; /* the close handshake is still under way */
        }
    }
    if (p->stop) {
        if (p->state == WF_RUNNING)
            p->result = WF_SUCCESS;
        p->state = WF_FINISHING;
    }
    if (p->state == WF_FINISHING) {
        finish(p);
        if (p->result != WF_SUCCESS)
            wf_error("giving up: %s", p->reason[0] ? p->reason : "connection failed or closed");
        return finished_status(p);
    }
    return WF_SUCCESS;
}

int wf_provider_run(struct wf_provider *p)
{
    if (!p)
        return WF_EINVAL;
    int rc;
    while ((rc = wf_provider_service(p, -1)) == WF_SUCCESS)
        ;
    return rc == 1 ? WF_SUCCESS : rc;
}

int wf_provider_stop(struct wf_provider *p)
{
    if (!p)
        return WF_EINVAL;
    p->stop = 1; /* async-signal-safe: a flag and a wake-up write */
    struct lws_context *ctx = p->ctx;
    if (ctx)
        lws_cancel_service(ctx);
    return WF_SUCCESS;
}

int wf_provider_get_status(const struct wf_provider *p, struct wf_provider_status *st)
{
    if (!p || !st)
        return WF_EINVAL;
    memset(st, 0, sizeof *st);
    st->state = p->pub_state;
    st->close_code = p->close_code;
    st->permanent = p->permanent;
    st->reason = p->reason;
    if (p->pub_state == WF_PROVIDER_WAITING && p->ctx) {
        lws_usec_t left = p->retry_at - lws_now_usecs();
        st->retry_in_ms = left > 0 ? (unsigned)(left / LWS_US_PER_MS) : 0;
    }
    st->connections = p->connections;
    st->files_open = p->stats.files_open;
    st->bytes_served = p->stats.bytes_served;
    st->bytes_received = p->stats.bytes_received;
    return WF_SUCCESS;
}

int wf_provider_set_credentials_handler(struct wf_provider *p, wf_credentials_fn fn, void *ud)
{
    if (!p)
        return WF_EINVAL;
    p->ask_fn = fn;
    p->ask_ud = ud;
    return WF_SUCCESS;
}

void wf_provider_destroy(struct wf_provider *p)
{
    if (!p)
        return;
    if (p->state != WF_FINISHED && p->state != WF_IDLE)
        finish(p);
    free(p->url);
    free(p->ca_path);
    free(p->token);
    free(p->host);
    free(p->path);
    free(p);
}
