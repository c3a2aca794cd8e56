#include "wf_conn.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wf_msg.h"
#include "util/wf_log.h"

/* Keep a large reassembly buffer only while large messages flow. */
#define WF_RX_KEEP ((1u << 20) + 4096u)

void wf_conn_init(struct wf_conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
}

const lws_retry_bo_t wf_idle_policy = {
    .secs_since_valid_ping = WF_IDLE_PING_SECS,
    .secs_since_valid_hangup = WF_IDLE_HANGUP_SECS,
};

void wf_conn_cleanup(struct wf_conn *c)
{
    lws_sul_cancel(&c->probe_sul);
    struct wf_outmsg *m = c->head;
    while (m) {
        struct wf_outmsg *next = m->next;
        wf_outmsg_unref(m);
        m = next;
    }
    free(c->rx);
    memset(c, 0, sizeof *c);
}

struct wf_outmsg *wf_outmsg_new(size_t cap)
{
    struct wf_outmsg *m = malloc(sizeof *m + LWS_PRE + cap);
    if (m) {
        m->next = NULL;
        m->len = 0;
        m->refs = 1;
    }
    return m;
}

void wf_outmsg_ref(struct wf_outmsg *m)
{
    m->refs++;
}

void wf_outmsg_unref(struct wf_outmsg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

struct wf_outmsg *wf_outmsg_encode(const struct wf_msg *msg)
{
    size_t size = wf_encoded_size(msg);
    struct wf_outmsg *m = size ? wf_outmsg_new(size) : NULL;
    if (m && (m->len = wf_encode(msg, wf_outmsg_payload(m), size)) == 0) {
        wf_outmsg_unref(m);
        m = NULL;
    }
    return m;
}

uint8_t *wf_outmsg_payload(struct wf_outmsg *m)
{
    return m->buf + LWS_PRE;
}

void wf_conn_queue(struct wf_conn *c, struct wf_outmsg *m)
{
    m->next = NULL;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued_bytes += m->len;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

int wf_conn_send(struct wf_conn *c, const struct wf_msg *msg)
{
    struct wf_outmsg *m = wf_outmsg_encode(msg);
    if (!m)
        return -1;
    wf_conn_queue(c, m);
    return 0;
}

static void on_probe_unanswered(lws_sorted_usec_list_t *sul)
{
    struct wf_conn *c = lws_container_of(sul, struct wf_conn, probe_sul);
    char peer[64] = "?";
    lws_get_peer_simple(c->wsi, peer, sizeof peer);
    c->probing = false;
    wf_warn("%s did not answer a ping in time: closing its connection", peer);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
}

void wf_conn_probe(struct wf_conn *c, unsigned secs)
{
    if (!c->wsi || c->probing)
        return;
    c->probing = c->ping_due = true;
    lws_sul_schedule(lws_get_context(c->wsi), 0, &c->probe_sul, on_probe_unanswered,
                     (lws_usec_t)secs * LWS_US_PER_SEC);
    lws_callback_on_writable(c->wsi);
}

void wf_conn_heard(struct wf_conn *c)
{
    if (c->wsi)
        lws_validity_confirmed(c->wsi); /* lws's idle ping waits again */
    if (c->probing) {
        c->probing = c->ping_due = false;
        lws_sul_cancel(&c->probe_sul);
    }
}

int wf_conn_on_writable(struct wf_conn *c)
{
    if (c->ping_due) { /* between two fragments is fine: control frames may interleave */
        uint8_t ping[LWS_PRE + 1];
        c->ping_due = false;
        if (lws_write(c->wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (c->head)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    struct wf_outmsg *m = c->head;
    if (!m)
        return 0;
    /* Large messages go out as fragments of at most WF_TX_CHUNK, one per
     * writable callback: lws sends at most that much per send() and would
     * otherwise copy the rest of the message into a buffer of its own. lws
     * writes each fragment's header into the LWS_PRE bytes before it, which
     * belong to the fragment already sent: they are put back afterwards (lws
     * has copied or sent the fragment by then), so the message stays whole. */
    size_t left = m->len - c->tx_off;
    size_t n = left > WF_TX_CHUNK ? WF_TX_CHUNK : left;
    int flags = c->tx_off == 0 ? LWS_WRITE_BINARY : LWS_WRITE_CONTINUATION;
    if (n < left)
        flags |= LWS_WRITE_NO_FIN;
    uint8_t *frag = wf_outmsg_payload(m) + c->tx_off, saved[LWS_PRE];
    memcpy(saved, frag - LWS_PRE, LWS_PRE);
    int w = lws_write(c->wsi, frag, n, (enum lws_write_protocol)flags);
    memcpy(frag - LWS_PRE, saved, LWS_PRE);
    if (w < 0 || (size_t)w < n)
        return -1;
    lws_validity_confirmed(c->wsi); /* the peer took the last fragment: lws asks for more only then */
    c->tx_off += n;
    if (c->tx_off == m->len) {
        c->tx_off = 0;
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued_bytes -= m->len;
        wf_outmsg_unref(m);
    }
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int wf_conn_on_receive(struct wf_conn *c, const void *in, size_t len)
{
    wf_conn_heard(c);
    if (lws_frame_is_binary(c->wsi) == 0)
        return -1; /* text frames are a protocol error */
    if (lws_is_first_fragment(c->wsi))
        c->rx_len = 0;
    if (len > WF_MAX_MESSAGE_SIZE - c->rx_len)
        return -1;
    size_t need = c->rx_len + len;
    if (need > c->rx_cap) {
        /* Grow for what arrived plus what lws says remains of this frame,
         * but a frame length is only a claim until its bytes arrive, so by at
         * most one more chunk or the size already held. And at least double:
         * a message in many small frames then costs log(n) reallocations. */
        size_t want = need + lws_remaining_packet_payload(c->wsi);
        size_t most = need + (c->rx_cap > WF_TX_CHUNK ? c->rx_cap : WF_TX_CHUNK);
        if (want > most)
            want = most;
        if (want < 2 * c->rx_cap)
            want = 2 * c->rx_cap;
        if (want > WF_MAX_MESSAGE_SIZE)
            want = WF_MAX_MESSAGE_SIZE;
        if (want < 4096)
            want = 4096;
        uint8_t *p = realloc(c->rx, want);
        if (!p)
            return -1;
        c->rx = p;
        c->rx_cap = want;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len = need;
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return 0;
    return 1;
}

void wf_conn_rx_done(struct wf_conn *c)
{
    c->rx_len = 0;
    if (c->rx_cap > WF_RX_KEEP) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
}
