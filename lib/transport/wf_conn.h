/* One webfuse2 WebSocket connection on libwebsockets: reassembles incoming
 * messages (bounded by WF_MAX_MESSAGE_SIZE, growing only as bytes arrive) and
 * queues outgoing ones until the socket is writable. Used by both sides. */
#ifndef WF_CONN_H
#define WF_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

struct wf_msg;

struct wf_outmsg {
    struct wf_outmsg *next;
    size_t len;    /* payload bytes */
    unsigned refs; /* the queue holds one while it is queued; a sender may keep another */
    uint8_t buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

/* Largest piece of a message handed to lws at once; the lws protocols of
 * both sides allow sends of this size (their rx_buffer_size). */
#define WF_TX_CHUNK (256u * 1024u)

/* Most bytes lws takes from the socket per readiness event (its context's
 * pt_serv_buf_size, 4 KiB by default, one buffer per context). lws 4.1's
 * client parses frames a byte at a time, so the provider's receive path is
 * CPU-bound; 64 KiB reads cut the poll/recv rounds 16-fold and raised writes
 * over a 1 Gbit/s link from ~100 to ~115 MB/s. On the service side they made
 * the browser page's reads ~11 % faster for ~64 KiB of memory
 * (docs/performance.md). */
#define WF_SOCKET_READ_SIZE (64u * 1024u)

/* The provider's idle policy (lws does the pinging): a connection is pinged
 * after this long without a sign of life from the peer, and closed when
 * there is still none this long after the last one: a device that rebooted
 * or lost its network leaves a connection TCP keeps open for hours. A sign
 * of life is anything received, a pong, or a fragment sent (the socket only
 * takes more when the peer acknowledges), so a slow uplink, or a provider
 * that stopped reading while its answers drain, is not taken for a dead one.
 * The service does not use it: it must keep a provider that owes answers
 * for --wf-timeout and a sleeping laptop's session, and it learns of a
 * vanished provider when that one knocks again (wf_conn_probe). */
#define WF_IDLE_PING_SECS 20
#define WF_IDLE_HANGUP_SECS 40

struct wf_conn {
    struct lws *wsi;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    struct wf_outmsg *head, *tail;
    size_t tx_off;       /* bytes of head already sent */
    size_t queued_bytes;
    /* wf_conn_probe(): a ping to send, a deadline for the answer */
    bool ping_due, probing;
    lws_sorted_usec_list_t probe_sul;
};

/* The idle policy above, for lws_client_connect_info.retry_and_idle_policy. */
extern const lws_retry_bo_t wf_idle_policy;

void wf_conn_init(struct wf_conn *c, struct lws *wsi);
/* Frees buffers and drops queued messages. */
void wf_conn_cleanup(struct wf_conn *c);

/* A message buffer for cap payload bytes (one reference); write at
 * wf_outmsg_payload(). Sending leaves the payload bytes as they were, so a
 * kept message can be sent again. */
struct wf_outmsg *wf_outmsg_new(size_t cap);
uint8_t *wf_outmsg_payload(struct wf_outmsg *m);
/* msg encoded into a new message, or NULL (no memory, not encodable). */
struct wf_outmsg *wf_outmsg_encode(const struct wf_msg *msg);
void wf_outmsg_ref(struct wf_outmsg *m);
/* Drops one reference; the last frees m. NULL is allowed. */
void wf_outmsg_unref(struct wf_outmsg *m);

/* Queues m (its len set) and asks lws for a writable callback. Takes over
 * one reference. */
void wf_conn_queue(struct wf_conn *c, struct wf_outmsg *m);
/* Encodes msg and queues it. Returns 0, or -1 if it cannot be encoded. */
int wf_conn_send(struct wf_conn *c, const struct wf_msg *msg);

/* Asks the peer for a sign of life now: a ping; unless some bytes or a
 * pong arrive within secs, the connection is closed (asynchronously: the
 * CLOSED callback follows). A probe already under way is not restarted. */
void wf_conn_probe(struct wf_conn *c, unsigned secs);
/* A sign of life (see above). Call from the RECEIVE_PONG callback;
 * wf_conn_on_receive and wf_conn_on_writable count their own. */
void wf_conn_heard(struct wf_conn *c);

/* Call from the WRITEABLE callback. Returns 0, or -1 if the connection must close. */
int wf_conn_on_writable(struct wf_conn *c);

/* Call from the RECEIVE callback. Returns 1 when a whole message is in
 * c->rx[0..rx_len) (the caller handles it, then calls wf_conn_rx_done), 0 when
 * more fragments are needed, -1 for a protocol violation (text frame, message
 * over WF_MAX_MESSAGE_SIZE, out of memory): the caller closes the connection. */
int wf_conn_on_receive(struct wf_conn *c, const void *in, size_t len);
void wf_conn_rx_done(struct wf_conn *c);

#endif
