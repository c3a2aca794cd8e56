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

struct wf_dispatch {
    const struct wf_provider_ops *ops;
    void *ud;
    const char *token; /* answered to getcreds; NULL: empty string */
    int verbose;
};

/* Handles one complete incoming message: decodes it, calls the callback and
 * queues the response on c. Returns 0, or -1 when the message is malformed
 * and the connection must be closed. */
int wf_dispatch_message(const struct wf_dispatch *d, struct wf_conn *c, const uint8_t *buf, size_t len);

#endif
