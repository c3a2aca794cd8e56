/* Outstanding protocol requests: matched to responses by id, failed in
 * deadline order on timeout, all failed at once when the provider goes. All
 * requests share one timeout, so send order is deadline order and a single
 * timer at the oldest request suffices. */
#include <errno.h>
#include <stdlib.h>

#include "proto/wf_convert.h"
#include "service_int.h"
#include "util/wf_log.h"

/* After this many timeouts in a row the provider is considered stalled. */
#define WF_MAX_TIMEOUTS_IN_ROW 3

struct wf_op *wf_op_new(fuse_req_t req)
{
    struct wf_op *op = calloc(1, sizeof *op);
    if (op)
        op->req = req;
    return op;
}

void wf_op_free(struct wf_op *op)
{
    free(op->name);
    free(op);
}

static struct wf_op **bucket(struct wf_service *s, uint32_t id)
{
    return &s->ops[id % WF_OP_BUCKETS];
}

static struct wf_op *find(struct wf_service *s, uint32_t id)
{
    for (struct wf_op *op = *bucket(s, id); op; op = op->hash_next)
        if (op->id == id)
            return op;
    return NULL;
}

static void detach(struct wf_service *s, struct wf_op *op)
{
    for (struct wf_op **p = bucket(s, op->id); *p; p = &(*p)->hash_next) {
        if (*p == op) {
            *p = op->hash_next;
            break;
        }
    }
    if (op->prev)
        op->prev->next = op->next;
    else
        s->oldest = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        s->newest = op->prev;
    op->prev = op->next = op->hash_next = NULL;
}

static void on_timeout(lws_sorted_usec_list_t *sul);

static void arm_timer(struct wf_service *s)
{
    if (s->oldest)
        lws_sul_schedule(s->ctx, 0, &s->timeout_sul, on_timeout, s->oldest->deadline - lws_now_usecs());
    else
        lws_sul_cancel(&s->timeout_sul);
}

static void on_timeout(lws_sorted_usec_list_t *sul)
{
    struct wf_service *s = lws_container_of(sul, struct wf_service, timeout_sul);
    lws_usec_t now = lws_now_usecs();
    while (s->oldest && s->oldest->deadline <= now) {
        struct wf_op *op = s->oldest;
        detach(s, op);
        wf_warn("request %u (%s) timed out after %d s", op->id, wf_type_name(op->type),
                s->cfg.timeout_secs);
        s->timeouts_in_row++;
        op->done(s, op, NULL, -EIO);
    }
    if (s->timeouts_in_row >= WF_MAX_TIMEOUTS_IN_ROW && s->attached) {
        s->timeouts_in_row = 0;
        wf_service_close_provider(s, "provider stopped answering");
    }
    arm_timer(s);
}

void wf_send(struct wf_service *s, struct wf_op *op, struct wf_msg *m, wf_op_done done)
{
    op->done = done;
    op->type = m->type;
    if (!s->attached || (!s->ready && m->type != WF_GETCREDS)) {
        done(s, op, NULL, -EIO);
        return;
    }
    do { /* ids wrap; skip 0 and any still in flight */
        s->next_id++;
    } while (s->next_id == 0 || find(s, s->next_id));
    op->id = m->id = s->next_id;
    if (wf_conn_send(&s->conn, m) != 0) {
        done(s, op, NULL, -EIO);
        return;
    }
    op->deadline = lws_now_usecs() + (lws_usec_t)s->cfg.timeout_secs * LWS_US_PER_SEC;
    op->hash_next = *bucket(s, op->id);
    *bucket(s, op->id) = op;
    op->prev = s->newest;
    op->next = NULL;
    if (s->newest)
        s->newest->next = op;
    else
        s->oldest = op;
    s->newest = op;
    if (s->oldest == op)
        arm_timer(s);
}

void wf_dispatch_response(struct wf_service *s, const uint8_t *buf, size_t len)
{
    struct wf_msg m;
    int rc = wf_decode(buf, len, &m);
    if (rc != WF_OK && rc != WF_ERR_UNKNOWN_TYPE) {
        wf_warn("malformed message from provider (%d, %zu bytes): closing", rc, len);
        wf_service_close_provider(s, "malformed message");
        return;
    }
    if (!(m.type & WF_RESPONSE)) {
        wf_warn("provider sent a request (type 0x%02x): closing", m.type);
        wf_service_close_provider(s, "unexpected request");
        return;
    }
    struct wf_op *op = find(s, m.id);
    if (!op) {
        wf_debug("discarding response with unknown or expired id %u", m.id);
        return;
    }
    bool was_oldest = s->oldest == op;
    detach(s, op);
    if (was_oldest)
        arm_timer(s);
    s->timeouts_in_row = 0;
    if (m.type == WF_RESPONSE) { /* "unknown": the provider lacks this operation */
        op->done(s, op, NULL, -ENOSYS);
    } else if (m.type != (op->type | WF_RESPONSE) || rc != WF_OK) {
        wf_warn("response %u has type 0x%02x, expected 0x%02x", m.id, m.type, op->type | WF_RESPONSE);
        op->done(s, op, NULL, -EIO);
    } else if (m.type == (WF_GETCREDS | WF_RESPONSE)) {
        op->done(s, op, &m, 0);
    } else {
        int result = wf_result_from_wire(m.result);
        op->done(s, op, result < 0 ? NULL : &m, result);
    }
}

void wf_fail_all(struct wf_service *s, int err)
{
    while (s->oldest) {
        struct wf_op *op = s->oldest;
        detach(s, op);
        op->done(s, op, NULL, err);
    }
    arm_timer(s);
}
