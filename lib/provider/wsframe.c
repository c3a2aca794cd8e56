/* Client-side WebSocket framing for outgoing messages.
 *
 * A client must mask every frame (RFC 6455 5.3). libwebsockets 4.1 masks one
 * byte at a time, which costs more CPU than everything else on the read path
 * together; here the frame header is written into the LWS_PRE headroom, the
 * payload is masked in place eight bytes at a time with a key from the
 * kernel's CSPRNG, and the finished frame goes out through lws as raw bytes
 * (lws still buffers partial sends). */
#include "provider/provider_int.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "transport/wf_conn.h"

#define WS_MAX_HEADER 14u /* 2 + 8 (length) + 4 (mask key) */

_Static_assert(WS_MAX_HEADER <= LWS_PRE, "frame header must fit into the lws headroom");

void wf_ws_tx_init(struct wf_ws_tx *tx)
{
    tx->pos = sizeof tx->pool; /* empty: filled on first use */
}

static int next_key(struct wf_ws_tx *tx, uint8_t key[4])
{
    if (tx->pos + 4 > sizeof tx->pool) {
        size_t got = 0;
        while (got < sizeof tx->pool) {
            ssize_t n = getrandom(tx->pool + got, sizeof tx->pool - got, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            got += (size_t)n;
        }
        tx->pos = 0;
    }
    memcpy(key, tx->pool + tx->pos, 4);
    tx->pos += 4;
    return 0;
}

static void mask(uint8_t *data, size_t len, const uint8_t key[4])
{
    uint64_t k8;
    uint8_t kb[8] = { key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3] };
    memcpy(&k8, kb, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        v ^= k8;
        memcpy(data + i, &v, 8);
    }
    for (; i < len; i++)
        data[i] ^= key[i & 3u];
}

int wf_ws_send_next(struct wf_ws_tx *tx, struct wf_conn *c)
{
    struct wf_outmsg *m = c->head;
    if (!m)
        return 0;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued_bytes -= m->len;

    uint8_t key[4];
    if (next_key(tx, key) != 0) {
        free(m);
        return -1;
    }
    uint8_t *payload = wf_outmsg_payload(m);
    size_t len = m->len;
    uint8_t hdr[WS_MAX_HEADER];
    size_t h = 0;
    hdr[h++] = 0x82; /* FIN, binary */
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80u | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80u | 126u;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80u | 127u;
        for (int s = 56; s >= 0; s -= 8)
            hdr[h++] = (uint8_t)((uint64_t)len >> s);
    }
    memcpy(hdr + h, key, 4);
    h += 4;
    memcpy(payload - h, hdr, h); /* into the LWS_PRE headroom */
    mask(payload, len, key);

    size_t total = h + len;
    int n = lws_write(c->wsi, payload - h, total, LWS_WRITE_RAW);
    free(m);
    if (n < 0 || (size_t)n < total)
        return -1;
    if (c->head)
        lws_callback_on_writable(c->wsi);
    return 0;
}
