/* libFuzzer target: the service's response handling (lib/service/requests.c
 * wf_requests_receive and what it reaches: matching by id, type checks,
 * result conversion, refusing malformed input), plus holding and re-sending.
 *
 * The request table stands alone: an lws context without a listener (for
 * the request timer) and a connection whose wsi is NULL (so queuing touches
 * no socket). Per input, three requests are outstanding, the first with the
 * id and (request) type the input's header names, so mutated golden
 * responses hit a matching op; then the input is received twice (the second
 * time its id is no longer outstanding). When the input's first byte is odd,
 * the connection is then lost, the rest held and re-sent on a new one. The
 * completions only check and count what they get: there is no FUSE request
 * to reply to. Every op must complete exactly once per input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/requests.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

static struct lws_context *ctx;
static struct wf_requests table;
static struct wf_conn conn;
static unsigned live_ops;
static size_t input_size;

static void done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    (void)s;
    if (resp) {
        if (err < 0 || resp->type != (op->type | WF_RESPONSE) || resp->id != op->id)
            abort();
        if (resp->data.len > input_size || resp->path2.len > input_size || resp->names.raw_len > input_size)
            abort();
    } else if (err >= 0) {
        abort(); /* no response must come with an error */
    }
    if (live_ops == 0)
        abort(); /* completed twice */
    live_ops--;
}

static void stalled(struct wf_service *s)
{
    (void)s;
}

static void send_op(uint8_t type, const uint64_t *handle)
{
    struct wf_op *op = wf_op_new(NULL);
    if (!op)
        abort();
    op->handle = handle;
    struct wf_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.path = wf_str_of("/fuzz");
    m.path2 = wf_str_of("/fuzz2");
    m.length = 4096;
    m.handle = WF_NO_HANDLE;
    live_ops++;
    wf_requests_send(&table, op, &m, done);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const struct lws_protocols protocols[] = {
        { "fuzz", lws_callback_http_dummy, 0, 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 },
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    lws_set_log_level(LLL_ERR, NULL);
    wf_log_setup("fuzz_service", WF_LOG_ERROR, 0);
    ctx = lws_create_context(&info);
    if (!ctx)
        abort();
    wf_requests_init(&table, NULL, ctx, 30, stalled);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t handle = 7;
    wf_conn_init(&conn, NULL);
    wf_requests_connect(&table, &conn, true);
    input_size = size;

    uint32_t id = 1;
    uint8_t type = WF_GETATTR;
    if (size >= 5) {
        id = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
        uint8_t t = data[4] & (uint8_t)~WF_RESPONSE;
        if (t > 0 && t < WF_TYPE_COUNT)
            type = t;
    }
    table.next_id = id - 1; /* the first op gets the input's id (unless 0) */
    send_op(type, NULL);
    send_op(WF_READ, &handle);
    send_op(WF_READDIR, NULL);

    /* an exact-size copy: responses point into the buffer they came in */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    if (wf_requests_receive(&table, buf, size) == 0)
        wf_requests_receive(&table, buf, size); /* a duplicate: its id is gone */
    free(buf);

    if (size > 0 && (data[0] & 1)) { /* lost, held, re-sent elsewhere with a new handle */
        wf_requests_disconnect(&table, true);
        wf_conn_cleanup(&conn);
        handle++;
        wf_conn_init(&conn, NULL);
        wf_requests_connect(&table, &conn, false);
        wf_requests_release_held(&table);
    }
    /* whatever is still outstanding fails as if the provider went away */
    wf_requests_fail_all(&table, -EIO);
    if (live_ops != 0 || table.oldest || table.newest || table.held_first || table.held_count)
        abort();
    for (unsigned i = 0; i < WF_REQ_BUCKETS; i++)
        if (table.buckets[i])
            abort();
    wf_requests_disconnect(&table, false);
    wf_conn_cleanup(&conn);
    return 0;
}
