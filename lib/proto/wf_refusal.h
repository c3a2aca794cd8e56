/* Why a service turns a provider away, as both sides see it. No I/O.
 *
 * Before the WebSocket handshake completes the service answers with an HTTP
 * status; after it, it closes with a WebSocket close code from the private
 * range (4000-4999) plus a short reason text. The codes mirror the HTTP
 * statuses (4401 ~ 401) so one table serves both. A provider that sees one of
 * these names the cause; an older service just closes (code 1006 or 1000),
 * and the provider falls back to words. */
#ifndef WF_REFUSAL_H
#define WF_REFUSAL_H

enum wf_refusal {
    WF_REFUSE_NONE = 0,
    WF_REFUSE_TOKEN = 4401,     /* HTTP 401: token missing or rejected (permanent) */
    WF_REFUSE_ORIGIN = 4403,    /* HTTP 403: browser origin not allowed (permanent) */
    WF_REFUSE_AUTH_TIMEOUT = 4408, /* no credentials in time */
    WF_REFUSE_BUSY = 4409,      /* HTTP 409: another provider is attached */
    WF_REFUSE_BACKOFF = 4429,   /* HTTP 429: too many attempts from this address; retry later */
    WF_REFUSE_OVERLOAD = 4503,  /* HTTP 503: too many pending connections */
};

/* Normal WebSocket close codes that matter here (RFC 6455). */
#define WF_CLOSE_NORMAL 1000     /* provider left on purpose: the session ends at once */
#define WF_CLOSE_GOING_AWAY 1001 /* service shutting down */
#define WF_CLOSE_PROTOCOL 1002   /* malformed message */
#define WF_CLOSE_ABNORMAL 1006   /* no close frame: connection lost (never sent) */

/* The HTTP status that goes with a refusal (401, 403, ...), 0 for none. */
static inline int wf_refusal_http_status(enum wf_refusal r)
{
    return r >= 4000 && r < 5000 ? (int)r - 4000 : 0;
}

/* The refusal for a close code or an HTTP status (4401 or 401); NONE if
 * neither is one of ours. */
static inline enum wf_refusal wf_refusal_from_code(int code)
{
    if (code > 0 && code < 1000)
        code += 4000;
    switch (code) {
    case WF_REFUSE_TOKEN: case WF_REFUSE_ORIGIN: case WF_REFUSE_AUTH_TIMEOUT:
    case WF_REFUSE_BUSY: case WF_REFUSE_BACKOFF: case WF_REFUSE_OVERLOAD:
        return (enum wf_refusal)code;
    default:
        return WF_REFUSE_NONE;
    }
}

/* One plain sentence for each refusal. */
static inline const char *wf_refusal_text(enum wf_refusal r)
{
    switch (r) {
    case WF_REFUSE_TOKEN: return "the service rejected the token";
    case WF_REFUSE_ORIGIN: return "the service does not allow this page's origin";
    case WF_REFUSE_AUTH_TIMEOUT: return "no credentials reached the service in time";
    case WF_REFUSE_BUSY: return "another provider is already attached to the service";
    case WF_REFUSE_BACKOFF: return "too many attempts from this address; the service asks to wait";
    case WF_REFUSE_OVERLOAD: return "the service has too many pending connections";
    default: return "refused";
    }
}

/* Permanent refusals: trying again with the same settings cannot succeed. */
static inline int wf_refusal_permanent(enum wf_refusal r)
{
    return r == WF_REFUSE_TOKEN || r == WF_REFUSE_ORIGIN;
}

#endif
