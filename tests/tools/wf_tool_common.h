/* Shared helpers of the test peers in tests/tools: an outgoing queue of raw
 * WebSocket writes (any frame kind, for malformed traffic) and JSON output. */
#ifndef WF_TOOL_COMMON_H
#define WF_TOOL_COMMON_H

#include <libwebsockets.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/wf_msg.h"
#include "transport/wf_conn.h"

struct tq_item {
    struct tq_item *next;
    size_t len;
    enum lws_write_protocol wp;
    unsigned char buf[]; /* LWS_PRE headroom, then len bytes */
};

struct tq {
    struct tq_item *head, *tail;
};

static inline void tq_push(struct tq *q, struct lws *wsi, const void *data, size_t len,
                           enum lws_write_protocol wp)
{
    struct tq_item *it = malloc(sizeof *it + LWS_PRE + len + 1);
    if (!it) {
        fprintf(stderr, "out of memory\n");
        exit(3);
    }
    it->next = NULL;
    it->len = len;
    it->wp = wp;
    if (len)
        memcpy(it->buf + LWS_PRE, data, len);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    if (wsi)
        lws_callback_on_writable(wsi);
}

static inline void tq_clear(struct tq *q)
{
    while (q->head) {
        struct tq_item *n = q->head->next;
        free(q->head);
        q->head = n;
    }
    q->tail = NULL;
}

/* Writes the first queued item. Returns 0, or -1 when the write failed. */
static inline int tq_write_one(struct tq *q, struct lws *wsi)
{
    struct tq_item *it = q->head;
    if (!it)
        return 0;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    int n = lws_write(wsi, it->buf + LWS_PRE, it->len, it->wp);
    size_t len = it->len;
    free(it);
    if (n < 0 || (size_t)n < len)
        return -1;
    if (q->head)
        lws_callback_on_writable(wsi);
    return 0;
}

/* Encodes m and queues it as one binary message. Returns 0 or -1. */
static inline int tq_send_msg(struct tq *q, struct lws *wsi, const struct wf_msg *m)
{
    size_t size = wf_encoded_size(m);
    if (size == 0)
        return -1;
    uint8_t *buf = malloc(size);
    if (!buf)
        return -1;
    size_t n = wf_encode(m, buf, size);
    if (n)
        tq_push(q, wsi, buf, n, LWS_WRITE_BINARY);
    free(buf);
    return n ? 0 : -1;
}

static inline void json_str(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static inline void json_hex(FILE *f, const void *p, size_t len)
{
    const unsigned char *b = p;
    fputc('"', f);
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02x", b[i]);
    fputc('"', f);
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signals and an lws context with the one webfuse2 protocol: a server on
 * iface:port, or a client only (port CONTEXT_PORT_NO_LISTEN). */
static inline struct lws_context *tool_context(lws_callback_function *cb, int port, const char *iface,
                                               void (*on_signal)(int))
{
    static struct lws_protocols protocols[2];
    protocols[0] = (struct lws_protocols){ WF_PROTOCOL_NAME, cb, 0, 65536, 0, NULL, 0 };
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = iface;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    return lws_create_context(&info);
}

#endif
