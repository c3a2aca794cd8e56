/* The service: one libwebsockets loop drives both the WebSocket server (the
 * provider connection, optional static files) and the FUSE device, which is
 * adopted into the loop as a raw file descriptor. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "auth.h"
#include "docroot.h"
#include "heartbeat.h"
#include "listener.h"
#include "proto/wf_refusal.h"
#include "service_int.h"
#include "session.h"
#include "util/wf_fd_limit.h"
#include "util/wf_log.h"

/* lws hands us at most this much per receive callback, and sends at most
 * this much per send(): see WF_TX_CHUNK. */
#define WF_RX_CHUNK WF_TX_CHUNK
#define WF_FUSE_BATCH 32              /* kernel requests handled per wakeup */
#define WF_DOCROOT_INDEX "index.html"
/* A provider knocking while one is attached may be that one back on a new
 * network: the attached one must answer a ping within this long or go
 * (while it owes answers, within --wf-timeout if that is longer). */
#define WF_KNOCK_PROBE_SECS 5

/* The one way a provider connection ends here. on_purpose: the session
 * ends with it; else it is held for a resume. why (when we close it):
 * logged, and the connection is closed. */
static void detach_provider(struct wf_service *s, bool on_purpose, const char *why)
{
    struct lws *wsi = s->provider;
    if (!wsi)
        return;
    if (why)
        wf_warn("closing provider connection: %s", why);
    s->provider = NULL;
    wf_heartbeat_stop(s);
    wf_session_connection_gone(s, on_purpose); /* before the queue goes: held requests keep their bytes */
    wf_conn_cleanup(&s->conn);
    lws_set_wsi_user(wsi, NULL); /* its later callbacks no longer concern us */
    if (why)
        lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

static bool is_current(const struct wf_service *s, const struct lws *wsi)
{
    return wsi && s->provider == wsi;
}

static void provider_stalled(struct wf_service *s)
{
    detach_provider(s, false, "provider stopped answering");
}

/* Copies header NAME ("X-Auth-Token", "Authorization", ...) into buf; returns
 * its length or -1 when absent. lws parses the headers it knows into tokens
 * (x-auth-token and authorization among them) and keeps the others as custom
 * headers, so both are searched. An Authorization scheme ("Bearer ") is
 * dropped: the authenticator sees the token only. */
static int copy_header(struct lws *wsi, const char *name, char *buf, int cap)
{
    char key[128];
    int klen = snprintf(key, sizeof key, "%s:", name);
    if (klen <= 0 || klen >= (int)sizeof key)
        return -1;
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    int n = -1;
    for (int t = 0; t < WSI_TOKEN_COUNT && n < 0; t++) {
        const char *known = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (known && strcmp(known, key) == 0 && lws_hdr_total_length(wsi, (enum lws_token_indexes)t) > 0)
            n = lws_hdr_copy(wsi, buf, cap, (enum lws_token_indexes)t);
    }
    if (n < 0 && lws_hdr_custom_length(wsi, key, klen) >= 0)
        n = lws_hdr_custom_copy(wsi, buf, cap, key, klen);
    if (n < 0)
        return -1;
    if (strncasecmp(buf, "Bearer ", 7) == 0) {
        memmove(buf, buf + 7, (size_t)n - 6);
        n -= 7;
    }
    return n;
}

static int check_origin(struct wf_service *s, struct lws *wsi)
{
    char origin[256], host[256];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 0; /* not a browser: CLI providers send no Origin */
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0 ||
        lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) < 0)
        host[0] = '\0', origin[0] = '\0';
    if (origin[0] && wf_origin_allowed(origin, host, s->cfg.cert_path != NULL, s->cfg.vhost,
                                       s->cfg.allowed_origins, s->cfg.allowed_origin_count))
        return 0;
    char shown[256]; /* the origin is peer text */
    wf_log_escape(origin, strlen(origin), shown, sizeof shown);
    wf_warn("refusing provider from origin '%s' (not this service's origin; see --wf-allow-origin)", shown);
    return -1;
}

/* The provider connection is wsi from now on: a session begins or resumes. */
static void attach_provider(struct wf_service *s, struct lws *wsi)
{
    char peer[64] = "?";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    wf_conn_init(&s->conn, wsi);
    lws_set_wsi_user(wsi, s);
    s->provider = wsi;
    s->closed_on_purpose = false;
    s->connected_at = time(NULL);
    s->bytes_read = s->bytes_written = 0;
    wf_listener_admitted(s->listener, wsi);
    wf_session_connected(s);
    wf_info("provider connected from %s", peer);
    wf_session_begin(s);
    wf_heartbeat_start(s);
}

/* Another provider wants in. The attached one may be gone without TCP
 * knowing (its laptop changed networks, and this is it reconnecting): it
 * is pinged and dropped unless it answers, so the next attempt gets in. */
static enum wf_refusal refuse_busy(struct wf_service *s)
{
    /* Owing nothing, it answers in a round trip. With requests in flight
     * the ping may queue behind megabytes on a slow link: it gets the
     * patience its answers get, so a knock cannot cost a provider that
     * works its connection. */
    unsigned secs = WF_KNOCK_PROBE_SECS;
    if (wf_requests_owed(&s->requests) && s->cfg.timeout_secs > (int)secs)
        secs = (unsigned)s->cfg.timeout_secs;
    wf_debug("refusing a second provider: one is already attached (pinging it)");
    wf_conn_probe(&s->conn, secs);
    return WF_REFUSE_BUSY;
}

/* The authenticator accepted wsi (admission.c). */
static enum wf_refusal provider_admitted(void *ud, struct lws *wsi)
{
    struct wf_service *s = ud;
    if (s->provider)
        return refuse_busy(s); /* another one got in first */
    attach_provider(s, wsi);
    return WF_REFUSE_NONE;
}

/* Handshake, before the 101: one provider at a time, browser origins
 * checked; with an authenticator, admission.c registers the connection
 * (and its header token) or refuses it cheaply. Nothing here waits. */
static enum wf_refusal admit(struct wf_service *s, struct lws *wsi)
{
    if (check_origin(s, wsi) != 0)
        return WF_REFUSE_ORIGIN; /* before busy: a foreign page's knock pings no one */
    if (s->provider)
        return refuse_busy(s);
    if (!s->adm)
        return WF_REFUSE_NONE;
    char token[WF_MAX_CREDENTIAL + 1];
    int n = s->cfg.auth_header ? copy_header(wsi, s->cfg.auth_header, token, sizeof token) : -1;
    return wf_admission_filter(s->adm, wsi, n < 0 ? NULL : token, n < 0 ? 0 : (size_t)n);
}

/* Refuses a handshake with the HTTP status of r. */
static int refuse_handshake(struct lws *wsi, enum wf_refusal r)
{
    lws_return_http_status(wsi, (unsigned)wf_refusal_http_status(r), wf_refusal_text(r));
    return -1; /* lws closes the connection after the answer */
}

/* A close frame's status code (RFC 6455: two bytes, big-endian), 0 if none. */
static int close_code(const void *in, size_t len)
{
    const unsigned char *p = in;
    return len >= 2 ? p[0] << 8 | p[1] : 0;
}

/* The handshake is complete: the connection waits for admission, or is the
 * provider at once when no authenticator is configured. */
static int on_established(struct wf_service *s, struct lws *wsi)
{
    if (s->adm) {
        if (!wf_admission_owns(s->adm, wsi))
            return -1;
        wf_admission_established(s->adm, wsi);
        return 0;
    }
    if (s->provider) {
        refuse_busy(s);
        lws_close_reason(wsi, (enum lws_close_status)WF_REFUSE_BUSY, NULL, 0);
        return -1; /* two handshakes in one go: the first one won */
    }
    attach_provider(s, wsi);
    return 0;
}

static int on_provider_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
    struct wf_service *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        if (!in || strcasecmp((const char *)in, "websocket") != 0)
            return -1; /* h2c or anything else: not for us */
        enum wf_refusal r = admit(s, wsi);
        return r == WF_REFUSE_NONE ? 0 : refuse_handshake(wsi, r);
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 0; /* decided at LWS_CALLBACK_HTTP_CONFIRM_UPGRADE */
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION: /* a plain HTTP request: --wf-docroot */
        if (s->cfg.docroot && in && !wf_docroot_allows(s->cfg.docroot, (const char *)in, WF_DOCROOT_INDEX)) {
            wf_warn("refusing an HTTP request: a symlink leads outside --wf-docroot");
            lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(s, wsi);
    case LWS_CALLBACK_RECEIVE: {
        if (wf_admission_owns(s->adm, wsi))
            return wf_admission_on_receive(s->adm, wsi, in, len);
        if (!user || !is_current(s, wsi))
            return -1;
        int rc = wf_conn_on_receive(&s->conn, in, len);
        if (rc == 1 && wf_requests_receive(&s->requests, s->conn.rx, s->conn.rx_len) != 0)
            rc = -1;
        if (rc < 0) {
            detach_provider(s, true, "protocol violation");
            return -1;
        }
        if (rc == 1)
            wf_conn_rx_done(&s->conn);
        return is_current(s, wsi) ? 0 : -1;
    }
    case LWS_CALLBACK_RECEIVE_PONG:
        if (user && is_current(s, wsi))
            wf_conn_heard(&s->conn);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (wf_admission_owns(s->adm, wsi))
            return wf_admission_on_writable(s->adm, wsi);
        if (!user || !is_current(s, wsi))
            return 0;
        if (wf_conn_on_writable(&s->conn) != 0) {
            detach_provider(s, false, "write failed");
            return -1;
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (user && is_current(s, wsi)) {
            int code = close_code(in, len);
            s->closed_on_purpose = code == WF_CLOSE_NORMAL || code == WF_CLOSE_GOING_AWAY;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        wf_admission_cancel(s->adm, wsi);
        if (user && is_current(s, wsi)) {
            wf_info("provider disconnected (%s) after %ld s: %llu bytes read, %llu bytes written",
                    s->closed_on_purpose ? "closed on purpose" : "connection lost",
                    (long)(time(NULL) - s->connected_at), (unsigned long long)s->bytes_read,
                    (unsigned long long)s->bytes_written);
            detach_provider(s, s->closed_on_purpose, NULL);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return 0;
    case LWS_CALLBACK_WSI_DESTROY: /* every connection's last word, also unadmitted ones */
        wf_admission_cancel(s->adm, wsi);
        wf_listener_forget(s->listener, wsi);
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* The FUSE device is readable: take requests until it would block. */
static int on_fuse_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    struct wf_service *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        for (int i = 0; i < WF_FUSE_BATCH && !fuse_session_exited(s->se); i++) {
            int res = fuse_session_receive_buf(s->se, &s->fbuf);
            if (res == -EINTR)
                continue;
            if (res == -EAGAIN)
                break;
            if (res <= 0) {
                if (res < 0)
                    wf_error("reading the FUSE device: %s", strerror(-res));
                s->stop = 1;
                break;
            }
            fuse_session_process_buf(s->se, &s->fbuf);
        }
        if (fuse_session_exited(s->se))
            s->stop = 1;
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        s->fuse_wsi = NULL;
        s->stop = 1;
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* internal: not a subprotocol a client may ask for */
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    /* first: also chosen when a provider names no subprotocol */
    { WF_PROTOCOL_NAME, on_provider_event, 0, WF_RX_CHUNK, 0, NULL, 0 },
    { WF_PROTOCOL_HEARTBEAT, on_provider_event, 0, WF_RX_CHUNK, 0, NULL, 0 }, /* heartbeat.c */
    { "wf-fuse", on_fuse_event, 0, 0, 0, NULL, 0 },
    { WF_LISTEN_PROTOCOL, wf_listener_callback, 0, 0, 0, NULL, 0 },
    { WF_ADMISSION_PROTOCOL, wf_admission_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int start_websockets(struct wf_service *s)
{
    const struct wf_service_config *c = &s->cfg;
    static const struct lws_protocol_vhost_options mime_mjs = { NULL, NULL, ".mjs", "text/javascript" };
    struct lws_http_mount *mount = NULL;
    if (c->docroot) {
        mount = calloc(1, sizeof *mount);
        if (!mount)
            return -1;
        mount->mountpoint = "/";
        mount->mountpoint_len = 1;
        mount->origin = c->docroot;
        mount->def = WF_DOCROOT_INDEX;
        mount->origin_protocol = LWSMPRO_FILE;
        mount->extra_mimetypes = &mime_mjs;
    }

#if !defined(LWS_WITH_TLS)
    if (c->cert_path || c->key_path) {
        wf_error("a certificate needs TLS, and libwebsockets was built without it");
        free(mount);
        return -1;
    }
#endif
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.pt_serv_buf_size = WF_SOCKET_READ_SIZE;
#if defined(LWS_WITH_TLS)
    /* HTTP/1.1 only (HTTP/2 comes by ALPN, so only with TLS): a WebSocket
     * over HTTP/2 (RFC 8441) never passes LWS_CALLBACK_HTTP_CONFIRM_UPGRADE,
     * where admit() checks origin, busy and token. */
    info.alpn = "http/1.1";
#endif
    if (c->cert_path && c->key_path)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = s;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(mount);
        return -1;
    }
    info.vhost_name = c->vhost ? c->vhost : "localhost";
    info.protocols = protocols;
    info.mounts = mount;
#if defined(LWS_WITH_TLS)
    info.ssl_cert_filepath = c->cert_path;
    info.ssl_private_key_filepath = c->key_path;
#endif
    s->vhost = wf_listener_create_vhost(s->listener, s->ctx, &info);
    s->http_mount = mount; /* lws keeps pointing at it */
    if (!s->vhost)
        return -1;
    wf_requests_init(&s->requests, s, s->ctx, c->timeout_secs, provider_stalled);

    /* lws closes what it adopts; libfuse closes its own descriptor. */
    lws_sock_file_fd_type fd;
    fd.filefd = dup(fuse_session_fd(s->se));
    if (fd.filefd < 0)
        return -1;
    s->fuse_wsi = lws_adopt_descriptor_vhost(s->vhost, LWS_ADOPT_RAW_FILE_DESC, fd, "wf-fuse", NULL);
    return s->fuse_wsi ? 0 : -1;
}

struct wf_service *wf_service_create(const struct wf_service_config *config)
{
    if (!config || !config->mountpoint)
        return NULL;
    struct wf_service *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *config;
    s->started = time(NULL);
    if (s->cfg.timeout_secs <= 0)
        s->cfg.timeout_secs = 10;
    s->attr_timeout = config->attr_timeout >= 0 ? config->attr_timeout : 1.0;
    s->entry_timeout = config->entry_timeout >= 0 ? config->entry_timeout : 1.0;
    s->negative_timeout = config->negative_timeout >= 0 ? config->negative_timeout : 0.0;
    s->resume_timeout_secs = config->resume_timeout_secs < 0 ? 30 : config->resume_timeout_secs;
    wf_session_init(s);
    s->mountpoint = strdup(config->mountpoint);
    s->cfg.mountpoint = s->mountpoint;
    /* libwebsockets' own lines only at debug level, through our logger (an
     * emitter the program installed before stays) */
    lws_set_log_level(wf_log_enabled(WF_LOG_DEBUG) ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, NULL);
    if (!s->mountpoint || wf_nodes_init(&s->nodes) != 0) {
        wf_service_destroy(s);
        return NULL;
    }
    /* Listen before mounting: a provider started when the mount appears
     * finds the port open (its connection waits in the backlog). */
    wf_raise_fd_limit();
    s->listener = wf_listener_open(config->bind_address, config->port);
    s->adm = config->authenticator ? wf_admission_new(config->authenticator, provider_admitted, s) : NULL;
    if (!s->listener || (config->authenticator && !s->adm)) {
        wf_service_destroy(s);
        return NULL;
    }
    s->port = wf_listener_port(s->listener);
    if (wf_mount(s) != 0) {
        wf_error("cannot mount %s", s->mountpoint);
        wf_service_destroy(s);
        return NULL;
    }
    if (start_websockets(s) != 0) {
        wf_error("cannot start the WebSocket server on port %d", s->port);
        wf_service_destroy(s);
        return NULL;
    }
    wf_info("mounted %s, waiting for a provider on port %d", s->mountpoint, s->port);
    return s;
}

int wf_service_port(const struct wf_service *s)
{
    return s ? s->port : WF_EINVAL;
}

int wf_service_run(struct wf_service *s)
{
    if (!s || !s->ctx)
        return WF_EINVAL;
    while (!s->stop && lws_service(s->ctx, 0) >= 0)
        ;
    return WF_SUCCESS;
}

int wf_service_stop(struct wf_service *s)
{
    if (!s)
        return WF_EINVAL;
    s->stop = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
    return WF_SUCCESS;
}

void wf_service_destroy(struct wf_service *s)
{
    if (!s)
        return;
    detach_provider(s, true, NULL);
    wf_session_cleanup(s); /* fails what is held, before the files it points at go */
    /* admission first: it kills its authenticator and lets go of its timer
     * while the context still exists; the listener is asked about closing
     * connections until the context is gone */
    wf_admission_destroy(s->adm);
    s->adm = NULL;
    if (s->ctx)
        lws_context_destroy(s->ctx);
    s->ctx = NULL; /* a late wf_service_stop() must not wake a freed context */
    wf_listener_destroy(s->listener);
    wf_unmount(s);
    wf_open_free_all(s); /* the kernel sends no release for what was open at unmount */
    free(s->fbuf.mem);
    wf_nodes_cleanup(&s->nodes);
    free(s->http_mount);
    free(s->mountpoint);
    free(s);
}
