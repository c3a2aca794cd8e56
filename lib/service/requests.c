/* The request table (see requests.h). */
#include "requests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wf_convert.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

/* After this many timeouts in a row the provider is considered stalled. */
#define WF_MAX_TIMEOUTS_IN_ROW 3

static void complete(struct wf_requests *t, struct wf_op *op, const struct wf_msg *resp, int err)
{
    op->queued = false;
    op->in_done++;
    op->done(t->owner, op, resp, err);
    op->in_done--;
    if (!op->queued && op->in_done == 0)
        wf_op_free(op);
}

void wf_requests_fail(struct wf_requests *t, struct wf_op *op, int err)
{
    complete(t, op, NULL, err);
}

bool wf_requests_owed(const struct wf_requests *t)
{
    /* a beat goes out only with nothing in flight: alone, it is the oldest and newest */
    const struct wf_op *first = t->oldest;
    bool only_beat = first && first == t->newest && (first->flags & WF_OP_QUIET);
    return (first && !only_beat) || (t->conn && t->conn->queued_bytes);
}

static struct wf_op **bucket(struct wf_requests *t, uint32_t id)
{
    return &t->buckets[id % WF_REQ_BUCKETS];
}

static struct wf_op *find(struct wf_requests *t, uint32_t id)
{
    for (struct wf_op *op = *bucket(t, id); op; op = op->hash_next)
        if (op->id == id)
            return op;
    return NULL;
}

/* Takes op out of a doubly linked list (the sent or the held one). */
static void unlink_from(struct wf_op **first, struct wf_op **last, struct wf_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        *first = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        *last = op->prev;
    op->prev = op->next = NULL;
}

/* Takes a sent op out of the id hash and the deadline list. */
static void unlink_sent(struct wf_requests *t, struct wf_op *op)
{
    for (struct wf_op **p = bucket(t, op->id); *p; p = &(*p)->hash_next) {
        if (*p == op) {
            *p = op->hash_next;
            break;
        }
    }
    op->hash_next = NULL;
    unlink_from(&t->oldest, &t->newest, op);
}

static void on_timeout(lws_sorted_usec_list_t *sul);

static void arm_timer(struct wf_requests *t)
{
    if (t->oldest)
        lws_sul_schedule(t->ctx, 0, &t->timer, on_timeout, t->oldest->deadline - lws_now_usecs());
    else
        lws_sul_cancel(&t->timer);
}

static void on_timeout(lws_sorted_usec_list_t *sul)
{
    struct wf_requests *t = lws_container_of(sul, struct wf_requests, timer);
    lws_usec_t now = lws_now_usecs();
    while (t->oldest && t->oldest->deadline <= now) {
        struct wf_op *op = t->oldest;
        unlink_sent(t, op);
        if (!(op->flags & WF_OP_QUIET)) {
            wf_warn("request %u (%s) timed out after %d s", op->id, wf_type_name(op->type),
                    (int)(t->timeout / LWS_US_PER_SEC));
            t->timeouts_in_row++;
        }
        complete(t, op, NULL, -EIO);
    }
    arm_timer(t);
    if (t->timeouts_in_row >= WF_MAX_TIMEOUTS_IN_ROW && t->conn) {
        t->timeouts_in_row = 0;
        t->stalled(t->owner);
    }
}

static void put_id(struct wf_outmsg *w, uint32_t id)
{
    uint8_t *p = wf_outmsg_payload(w);
    p[0] = (uint8_t)(id >> 24);
    p[1] = (uint8_t)(id >> 16);
    p[2] = (uint8_t)(id >> 8);
    p[3] = (uint8_t)id;
}

/* Puts op at the end of the doubly linked list first..last. */
static void append(struct wf_op **first, struct wf_op **last, struct wf_op *op)
{
    op->prev = *last;
    op->next = NULL;
    if (*last)
        (*last)->next = op;
    else
        *first = op;
    *last = op;
}

/* Onto the wire with a fresh id; the table keeps the op until answered. */
static void transmit(struct wf_requests *t, struct wf_op *op)
{
    do { /* ids wrap; skip 0 and any still in flight */
        t->next_id++;
    } while (t->next_id == 0 || find(t, t->next_id));
    op->id = t->next_id;
    put_id(op->wire, op->id);
    wf_outmsg_ref(op->wire);
    wf_conn_queue(t->conn, op->wire);
    op->queued = true;
    t->last_sent = lws_now_usecs();
    op->deadline = t->last_sent + t->timeout;
    op->hash_next = *bucket(t, op->id);
    *bucket(t, op->id) = op;
    append(&t->oldest, &t->newest, op);
    if (t->oldest == op)
        arm_timer(t);
}

static void hold(struct wf_requests *t, struct wf_op *op)
{
    op->queued = true;
    append(&t->held_first, &t->held_last, op);
    t->held_count++;
    t->held_bytes += op->wire->len;
}

static bool may_go(const struct wf_requests *t, const struct wf_op *op)
{
    return t->conn && (t->flowing || (op->flags & WF_OP_CONTROL));
}

void wf_requests_send(struct wf_requests *t, struct wf_op *op, struct wf_msg *m, wf_op_done done)
{
    op->done = done;
    op->type = m->type;
    if (op->handle) {
        if (*op->handle == WF_NO_HANDLE) {
            complete(t, op, NULL, -EIO); /* the file is gone or changed */
            return;
        }
        m->handle = *op->handle;
    }
    bool go = may_go(t, op);
    bool keep = !go && t->holding && !(op->flags & WF_OP_SESSION_ONLY) &&
                t->held_count < WF_HELD_MAX_COUNT && t->held_bytes < WF_HELD_MAX_BYTES;
    if (!go && !keep) {
        complete(t, op, NULL, -EIO);
        return;
    }
    m->id = 0;
    struct wf_outmsg *w = wf_outmsg_encode(m);
    if (!w) {
        complete(t, op, NULL, -EIO);
        return;
    }
    wf_outmsg_unref(op->wire);
    op->wire = w;
    if (go)
        transmit(t, op);
    else
        hold(t, op);
}

int wf_requests_receive(struct wf_requests *t, const uint8_t *buf, size_t len)
{
    struct wf_msg m;
    int rc = wf_decode(buf, len, &m);
    if (rc != WF_OK && rc != WF_ERR_UNKNOWN_TYPE) {
        wf_warn("malformed message from provider (%d, %zu bytes)", rc, len);
        return -1;
    }
    if (!(m.type & WF_RESPONSE)) {
        wf_warn("provider sent a request (type 0x%02x)", m.type);
        return -1;
    }
    struct wf_op *op = find(t, m.id);
    if (!op) {
        wf_debug("discarding response with unknown or expired id %u", m.id);
        return 0;
    }
    bool was_oldest = t->oldest == op;
    unlink_sent(t, op);
    if (was_oldest)
        arm_timer(t);
    t->timeouts_in_row = 0;
    if (m.type == WF_RESPONSE) { /* "unknown": the provider lacks this operation */
        complete(t, op, NULL, -ENOSYS);
    } else if (m.type != (op->type | WF_RESPONSE) || rc != WF_OK) {
        wf_warn("response %u has type 0x%02x, expected 0x%02x", m.id, m.type, op->type | WF_RESPONSE);
        complete(t, op, NULL, -EIO);
    } else if (m.type == (WF_GETCREDS | WF_RESPONSE)) {
        complete(t, op, &m, 0);
    } else {
        int result = wf_result_from_wire(m.result);
        complete(t, op, result < 0 ? NULL : &m, result);
    }
    return 0;
}

void wf_requests_init(struct wf_requests *t, struct wf_service *owner, struct lws_context *ctx,
                      int timeout_secs, void (*stalled)(struct wf_service *owner))
{
    memset(t, 0, sizeof *t);
    t->owner = owner;
    t->ctx = ctx;
    t->timeout = (lws_usec_t)timeout_secs * LWS_US_PER_SEC;
    t->stalled = stalled;
}

void wf_requests_connect(struct wf_requests *t, struct wf_conn *conn, bool flowing)
{
    t->conn = conn;
    t->flowing = flowing;
    t->timeouts_in_row = 0;
}

/* Takes every sent op out of the table, oldest first. */
static struct wf_op *take_sent(struct wf_requests *t)
{
    struct wf_op *list = t->oldest;
    t->oldest = t->newest = NULL;
    memset(t->buckets, 0, sizeof t->buckets);
    for (struct wf_op *op = list; op; op = op->next)
        op->hash_next = NULL;
    lws_sul_cancel(&t->timer);
    return list;
}

static struct wf_op *take_held(struct wf_requests *t);

static void fail_list(struct wf_requests *t, struct wf_op *list, int err)
{
    while (list) {
        struct wf_op *op = list;
        list = op->next;
        op->prev = op->next = NULL;
        complete(t, op, NULL, err);
    }
}

void wf_requests_disconnect(struct wf_requests *t, bool hold_them)
{
    t->conn = NULL;
    t->flowing = false;
    t->holding = hold_them;
    if (!hold_them) {
        wf_requests_fail_all(t, -EIO);
        return;
    }
    struct wf_op *list = take_sent(t);
    /* What was sent goes before what was already held, in order. */
    struct wf_op *keep_first = NULL, *keep_last = NULL, *fail_first = NULL, *fail_last = NULL;
    size_t count = 0, bytes = 0;
    while (list) {
        struct wf_op *op = list;
        list = op->next;
        bool keep = !(op->flags & (WF_OP_CONTROL | WF_OP_SESSION_ONLY | WF_OP_NO_REPEAT));
        if (keep)
            op->flags |= WF_OP_RESENT; /* its completion may see the effect of its first sending */
        if (keep)
            append(&keep_first, &keep_last, op);
        else
            append(&fail_first, &fail_last, op);
        if (keep) {
            count++;
            bytes += op->wire->len;
        }
    }
    if (keep_first) {
        keep_last->next = t->held_first;
        if (t->held_first)
            t->held_first->prev = keep_last;
        else
            t->held_last = keep_last;
        t->held_first = keep_first;
        t->held_count += count;
        t->held_bytes += bytes;
    }
    fail_list(t, fail_first, -EIO);
}

/* A held request whose file was re-opened carries the new handle. */
static int refresh_handle(struct wf_op *op)
{
    if (!op->handle)
        return 0;
    if (*op->handle == WF_NO_HANDLE)
        return -1;
    struct wf_msg m;
    if (wf_decode(wf_outmsg_payload(op->wire), op->wire->len, &m) != WF_OK)
        return -1;
    if (m.handle == *op->handle)
        return 0;
    m.handle = *op->handle;
    struct wf_outmsg *w = wf_outmsg_encode(&m);
    if (!w)
        return -1;
    wf_outmsg_unref(op->wire);
    op->wire = w;
    return 0;
}

static struct wf_op *take_held(struct wf_requests *t)
{
    struct wf_op *list = t->held_first;
    t->held_first = t->held_last = NULL;
    t->held_count = t->held_bytes = 0;
    return list;
}

void wf_requests_release_held(struct wf_requests *t)
{
    t->flowing = true;
    t->holding = false;
    struct wf_op *list = take_held(t);
    while (list) {
        struct wf_op *op = list;
        list = op->next;
        op->prev = op->next = NULL;
        if (!t->conn || refresh_handle(op) != 0)
            complete(t, op, NULL, -EIO);
        else
            transmit(t, op);
    }
}

int wf_requests_cancel_held(struct wf_requests *t, struct wf_op *op, int err)
{
    for (struct wf_op *h = t->held_first; h; h = h->next) {
        if (h != op)
            continue;
        unlink_from(&t->held_first, &t->held_last, op);
        t->held_count--;
        t->held_bytes -= op->wire->len;
        complete(t, op, NULL, err);
        return 0;
    }
    return -1;
}

void wf_requests_fail_all(struct wf_requests *t, int err)
{
    t->holding = false;
    fail_list(t, take_sent(t), err);
    fail_list(t, take_held(t), err);
}

void wf_requests_cleanup(struct wf_requests *t)
{
    t->conn = NULL;
    t->flowing = false;
    wf_requests_fail_all(t, -EIO);
}
