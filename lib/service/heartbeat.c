#include "heartbeat.h"

#include "op.h"
#include "service_int.h"

#define BEAT_US ((lws_usec_t)WF_HEARTBEAT_SECS * LWS_US_PER_SEC)

static void beat_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    (void)s, (void)op, (void)resp, (void)err; /* the answer is the point, not its content */
}

static void on_beat(lws_sorted_usec_list_t *sul)
{
    struct wf_service *s = lws_container_of(sul, struct wf_service, heartbeat_sul);
    if (!s->provider)
        return;
    lws_usec_t quiet = lws_now_usecs() - s->requests.last_sent;
    /* nothing in flight: also no beat of ours, which stays in the table until it ends */
    if (quiet >= BEAT_US && !s->requests.oldest && s->state == WF_SESSION_ACTIVE) {
        struct wf_op *op = wf_op_new(NULL);
        if (op) {
            op->flags = WF_OP_SESSION_ONLY | WF_OP_QUIET;
            struct wf_msg m = { .type = WF_GETATTR, .path = { "/", 1 } };
            wf_requests_send(&s->requests, op, &m, beat_done);
            quiet = 0;
        }
    }
    /* at the latest one beat after the last request; requests in flight keep it waiting */
    lws_usec_t next = quiet < BEAT_US ? BEAT_US - quiet : BEAT_US;
    lws_sul_schedule(s->ctx, 0, &s->heartbeat_sul, on_beat, next);
}

void wf_heartbeat_start(struct wf_service *s)
{
    lws_sul_schedule(s->ctx, 0, &s->heartbeat_sul, on_beat, BEAT_US);
}

void wf_heartbeat_stop(struct wf_service *s)
{
    lws_sul_cancel(&s->heartbeat_sul);
}
