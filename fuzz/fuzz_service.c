/* libFuzzer target: the service's response handling (lib/service/requests.c
 * wf_dispatch_response and what it reaches: matching by id, type checks,
 * result conversion, closing the provider on malformed input).
 *
 * A struct wf_service is set up just enough: an lws context without a
 * listener (for the request timer), attached and ready, conn.wsi NULL (so
 * queuing touches no socket). Per input, three requests are outstanding, the
 * first with the id and (request) type the input's header names, so mutated
 * golden responses hit a matching op; then the input is dispatched twice (the
 * second time its id is no longer outstanding). The ops' done callbacks only
 * check and count what they get: there is no FUSE request to reply to.
 * Every op must complete exactly once per input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"
#include "util/wf_log.h"

static struct lws_context *ctx;
static struct wf_service svc;
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
    wf_op_free(op);
}

static void send_op(uint8_t type)
{
    struct wf_op *op = wf_op_new(NULL);
    if (!op)
        abort();
    struct wf_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.path = wf_str_of("/fuzz");
    m.path2 = wf_str_of("/fuzz2");
    m.length = 4096;
    m.handle = WF_NO_HANDLE;
    live_ops++;
    wf_send(&svc, op, &m, done);
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
    memset(&svc, 0, sizeof svc);
    svc.ctx = ctx;
    svc.cfg.timeout_secs = 30;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_conn_init(&svc.conn, NULL);
    svc.attached = true;
    svc.ready = true;
    svc.timeouts_in_row = 0;
    input_size = size;

    uint32_t id = 1;
    uint8_t type = WF_GETATTR;
    if (size >= 5) {
        id = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
        uint8_t t = data[4] & (uint8_t)~WF_RESPONSE;
        if (t > 0 && t < WF_TYPE_COUNT)
            type = t;
    }
    svc.next_id = id - 1; /* the first op gets the input's id (unless 0) */
    send_op(type);
    send_op(WF_READ);
    send_op(WF_READDIR);

    /* an exact-size copy: responses point into the buffer they came in */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    wf_dispatch_response(&svc, buf, size);
    if (svc.attached)
        wf_dispatch_response(&svc, buf, size); /* a duplicate: its id is gone */
    free(buf);

    /* whatever is still outstanding fails as if the provider went away */
    wf_fail_all(&svc, -EIO);
    if (live_ops != 0 || svc.oldest || svc.newest)
        abort();
    for (unsigned i = 0; i < WF_OP_BUCKETS; i++)
        if (svc.ops[i])
            abort();
    wf_conn_cleanup(&svc.conn);
    return 0;
}
