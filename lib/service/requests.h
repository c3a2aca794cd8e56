/* The request table: every protocol request the service has sent and not
 * yet seen answered, plus the requests held while no provider is there.
 *
 * Sent requests are matched to responses by id and failed in deadline order
 * on timeout. All share one timeout, so send order is deadline order and one
 * timer at the oldest suffices. When the provider is lost within a session,
 * sent requests move to the held queue (in order) and new ones join them;
 * wf_requests_release_held() sends them all again with fresh ids.
 *
 * The table knows nothing of the service beyond the pointer it passes to
 * completions; a stalled provider is reported through a callback. */
#ifndef WF_REQUESTS_H
#define WF_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>

#include "op.h"

struct wf_conn;

#define WF_REQ_BUCKETS 1024u
/* Held requests: beyond these, new ones fail at once with EIO. */
#define WF_HELD_MAX_COUNT 4096u
#define WF_HELD_MAX_BYTES (32u * 1024u * 1024u)

struct wf_requests {
    struct wf_service *owner; /* passed to completions */
    struct lws_context *ctx;
    lws_usec_t timeout;
    void (*stalled)(struct wf_service *owner); /* some timeouts in a row */

    struct wf_conn *conn; /* where requests go; NULL while no provider */
    bool flowing;         /* filesystem requests may go out (else only WF_OP_CONTROL) */
    bool holding;         /* not flowing: keep new requests instead of failing them */

    struct wf_op *buckets[WF_REQ_BUCKETS];
    struct wf_op *oldest, *newest; /* sent, by deadline */
    struct wf_op *held_first, *held_last;
    size_t held_count, held_bytes;
    uint32_t next_id;
    lws_usec_t last_sent;  /* when the last request went out (heartbeat.c) */
    unsigned timeouts_in_row;
    lws_sorted_usec_list_t timer;
};

void wf_requests_init(struct wf_requests *t, struct wf_service *owner, struct lws_context *ctx,
                      int timeout_secs, void (*stalled)(struct wf_service *owner));

/* Sends m for op (m->id is assigned here; m->handle is taken from op->file
 * when set). If it cannot go out now it is held (while holding) or
 * completed at once with -EIO. Either way op belongs to the table until its
 * completion returns. */
void wf_requests_send(struct wf_requests *t, struct wf_op *op, struct wf_msg *m, wf_op_done done);

/* Completes op with err as if its request had failed (for errors found
 * before sending). */
void wf_requests_fail(struct wf_requests *t, struct wf_op *op, int err);

/* A whole message from the provider. Returns 0, or -1 when it breaks the
 * protocol (the caller closes the connection). */
int wf_requests_receive(struct wf_requests *t, const uint8_t *buf, size_t len);

/* The provider's connection: requests go there (flowing) or only control
 * requests do (not flowing: admission, re-open). */
void wf_requests_connect(struct wf_requests *t, struct wf_conn *conn, bool flowing);
/* The connection is gone. hold: sent requests are kept for the next
 * provider (control and session-only ones fail); else everything sent or
 * held fails. */
void wf_requests_disconnect(struct wf_requests *t, bool hold);
/* Sends every held request again, in order, with fresh ids; from now on
 * requests flow. */
void wf_requests_release_held(struct wf_requests *t);
/* Completes op with err if it is held (not sent); -1 if it is not held. */
int wf_requests_cancel_held(struct wf_requests *t, struct wf_op *op, int err);
/* Fails every sent and held request with err; nothing is held any more. */
void wf_requests_fail_all(struct wf_requests *t, int err);
/* Answers are due: a request is in flight or queued to go, a heartbeat
 * (WF_OP_QUIET) alone aside. */
bool wf_requests_owed(const struct wf_requests *t);

void wf_requests_cleanup(struct wf_requests *t);

#endif
