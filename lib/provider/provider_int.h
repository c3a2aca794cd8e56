/* Provider internals shared by the connection code (provider.c) and the
 * request dispatcher (dispatch.c). */
#ifndef WF_PROVIDER_INT_H
#define WF_PROVIDER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "webfuse/provider.h"

struct wf_conn;

/* Largest read payload the provider answers (the service never asks more). */
#define WF_PROVIDER_MAX_READ (1u << 20)

/* What the service did with us; counted by the dispatcher. */
struct wf_dispatch_stats {
    unsigned files_open;
    uint64_t bytes_served, bytes_received;
};

struct wf_dispatch {
    const struct wf_provider_ops *ops;
    void *ud;
    const char *token; /* answered to getcreds; NULL: ask_token, else empty string */
    /* Asked once for a token when getcreds comes and token is NULL; returns
     * the token (kept by the caller) or NULL. May be NULL. */
    const char *(*ask_token)(void *ctx);
    void *ask_ctx;
    struct wf_dispatch_stats *stats; /* may be NULL */
    int verbose;
};

/* Handles one complete incoming message: decodes it, calls the callback and
 * queues the response on c. Returns 0, or -1 when the message is malformed
 * and the connection must be closed. */
int wf_dispatch_message(const struct wf_dispatch *d, struct wf_conn *c, const uint8_t *buf, size_t len);

#endif
