/* wf_bad_provider: a webfuse2 WebSocket *client* that connects to a service
 * and misbehaves, for robustness tests of the service.
 *
 *   wf_bad_provider --port N [--host H] --mode silent [--answer-after MS]
 *   wf_bad_provider --port N --mode garbage --seed N --count N
 *   wf_bad_provider --port N --mode fragments
 *   common: [--max-seconds S (60)] [--root-mode OCTAL (40755): the mode its
 *           answers give "/" (e.g. 100644 to play a provider whose root is a file)]
 *
 * silent     never answers (with --answer-after, answers each request MS
 *            milliseconds late); exits 0 once the service closes the connection.
 * garbage    sends COUNT messages: random bytes and mutations of valid
 *            responses (unknown ids, wrong types, truncated bodies, oversize
 *            length fields, bit flips, text frames, duplicates) both as answers
 *            to the service's requests and unsolicited; reconnects whenever the
 *            service hangs up; exits 0 after COUNT messages.
 * fragments  starts a binary message and never finishes it; exits 0 once the
 *            service closes the connection.
 * Events are printed to stdout as JSON lines; the last one is a summary.
 * Exit status 2: --max-seconds ran out (the summary says where). */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "wf_tool_common.h"

enum mode { M_SILENT, M_GARBAGE, M_FRAGMENTS };

struct late {
    struct late *next;
    int64_t due;
    size_t len;
    uint8_t buf[];
};

static struct {
    enum mode mode;
    const char *host;
    int port;
    int answer_after_ms;
    uint32_t root_mode; /* wire mode answered for getattr "/" */
    unsigned count;
    uint64_t rng;
    struct lws_context *ctx;
    struct lws *wsi;
    bool connecting, connected;
    struct wf_conn conn;
    struct tq q;
    struct late *late;
    int64_t reconnect_at;
    unsigned connections, closed_by_server, connect_errors, requests, sent, answered_late;
    unsigned kinds[16];
    bool finished;
    int exit_code;
    int64_t finish_at;
} g;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t rnd(void)
{
    /* xorshift64* */
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return g.rng * 2685821657736338717ull;
}

static unsigned rnd_below(unsigned n)
{
    return n ? (unsigned)(rnd() % n) : 0;
}

/* A plausible answer to request r: "/" is a directory holding nothing,
 * everything else does not exist. */
static void build_answer(const struct wf_msg *r, struct wf_msg *a)
{
    memset(a, 0, sizeof *a);
    a->id = r->id;
    a->type = (uint8_t)(r->type | WF_RESPONSE);
    a->handle = WF_NO_HANDLE;
    bool root = r->path.len == 1 && r->path.data[0] == '/';
    switch (r->type) {
    case WF_GETATTR:
        if (root) {
            a->attr.mode = g.root_mode;
            a->attr.nlink = 2;
            a->attr.ino = 1;
            a->attr.size = 4096;
        } else {
            a->result = -2;
        }
        break;
    case WF_READDIR:
        a->result = root ? 0 : -2;
        break;
    case WF_STATFS:
        a->statfs.bsize = a->statfs.frsize = 4096;
        a->statfs.namemax = 255;
        break;
    case WF_GETCREDS:
        a->path2 = wf_str_of("");
        break;
    case WF_RELEASE:
        break;
    default:
        a->result = -2;
        break;
    }
}

static void send_raw(const void *buf, size_t len, enum lws_write_protocol wp)
{
    tq_push(&g.q, g.wsi, buf, len, wp);
}

static size_t encode(const struct wf_msg *m, uint8_t *buf, size_t cap)
{
    return wf_encode(m, buf, cap);
}

/* One misbehaving message; r is the request being answered or a made-up one. */
static void send_garbage(const struct wf_msg *r)
{
    uint8_t buf[512];
    struct wf_msg a;
    build_answer(r, &a);
    size_t n = encode(&a, buf, sizeof buf);
    if (n == 0) { /* e.g. made-up type outside the table */
        a.type = WF_RESPONSE;
        n = encode(&a, buf, sizeof buf);
    }
    unsigned kind = rnd_below(11);
    g.kinds[kind]++;
    switch (kind) {
    case 0: { /* random bytes */
        size_t len = rnd_below(48);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        send_raw(buf, len, LWS_WRITE_BINARY);
        break;
    }
    case 1: /* unknown id */
        a.id = (uint32_t)rnd() | 0x80000000u;
        n = encode(&a, buf, sizeof buf);
        send_raw(buf, n, LWS_WRITE_BINARY);
        break;
    case 2: /* wrong type byte */
        if (n >= 5)
            buf[4] = (uint8_t)rnd();
        send_raw(buf, n, LWS_WRITE_BINARY);
        break;
    case 3: /* truncated */
        send_raw(buf, n ? rnd_below((unsigned)n) : 0, LWS_WRITE_BINARY);
        break;
    case 4: { /* an oversize length field somewhere after the header */
        uint8_t big[16];
        size_t len = n;
        if (len < 13) { /* make room for a "field" */
            memset(buf + len, 0, 13 - len);
            len = 13;
        }
        size_t at = 5 + rnd_below((unsigned)(len - 8));
        uint32_t v = rnd_below(2) ? 0xffffffffu : 0x7ffffff0u + rnd_below(16);
        big[0] = (uint8_t)(v >> 24), big[1] = (uint8_t)(v >> 16), big[2] = (uint8_t)(v >> 8), big[3] = (uint8_t)v;
        memcpy(buf + at, big, 4);
        send_raw(buf, len, LWS_WRITE_BINARY);
        break;
    }
    case 5: /* a text frame */
        send_raw(buf, n, LWS_WRITE_TEXT);
        break;
    case 6: { /* bit flips */
        unsigned flips = 1 + rnd_below(4);
        for (unsigned i = 0; i < flips && n; i++)
            buf[rnd_below((unsigned)n)] ^= (uint8_t)(1u << rnd_below(8));
        send_raw(buf, n, LWS_WRITE_BINARY);
        break;
    }
    case 7: /* fine */
        send_raw(buf, n, LWS_WRITE_BINARY);
        break;
    case 8: { /* fine, in two fragments */
        size_t cut = n ? rnd_below((unsigned)n) : 0;
        send_raw(buf, cut, (enum lws_write_protocol)(LWS_WRITE_BINARY | LWS_WRITE_NO_FIN));
        send_raw(buf + cut, n - cut, LWS_WRITE_CONTINUATION);
        break;
    }
    case 9: /* fine, twice */
        send_raw(buf, n, LWS_WRITE_BINARY);
        send_raw(buf, n, LWS_WRITE_BINARY);
        break;
    case 10: { /* trailing junk after a valid answer (legal), or extra huge names count */
        size_t extra = rnd_below(32);
        for (size_t i = 0; i < extra && n + i < sizeof buf; i++)
            buf[n + i] = (uint8_t)rnd();
        send_raw(buf, n + extra, LWS_WRITE_BINARY);
        break;
    }
    }
    g.sent++;
}

static void made_up_garbage(void)
{
    struct wf_msg r;
    memset(&r, 0, sizeof r);
    r.id = 1 + rnd_below(64); /* sometimes an id the service has outstanding */
    r.type = (uint8_t)(1 + rnd_below(WF_TYPE_COUNT - 1));
    r.path = wf_str_of(rnd_below(2) ? "/" : "/x");
    send_garbage(&r);
}

static void connect_now(void)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g.ctx;
    ci.address = g.host;
    ci.port = g.port;
    ci.path = "/";
    ci.host = g.host;
    ci.protocol = WF_PROTOCOL_NAME;
    ci.pwsi = &g.wsi;
    g.connecting = true;
    if (!lws_client_connect_via_info(&ci)) {
        g.connecting = false;
        g.connect_errors++;
        g.reconnect_at = now_ms() + 200;
    }
}

static void on_request(const uint8_t *buf, size_t len)
{
    struct wf_msg r;
    int rc = wf_decode(buf, len, &r);
    g.requests++;
    printf("{\"event\":\"request\",\"id\":%u,\"type\":%u,\"decode\":%d}\n", rc == WF_OK ? r.id : 0,
           rc == WF_OK ? r.type : 0, rc);
    fflush(stdout);
    if (rc != WF_OK)
        return;
    if (g.mode == M_SILENT && g.answer_after_ms > 0) {
        struct wf_msg a;
        uint8_t tmp[512];
        build_answer(&r, &a);
        size_t n = wf_encode(&a, tmp, sizeof tmp);
        struct late *l = malloc(sizeof *l + n);
        if (!l)
            return;
        l->due = now_ms() + g.answer_after_ms;
        l->len = n;
        memcpy(l->buf, tmp, n);
        struct late **pp = &g.late;
        while (*pp)
            pp = &(*pp)->next;
        l->next = NULL;
        *pp = l;
    } else if (g.mode == M_GARBAGE && g.sent < g.count) {
        send_garbage(&r);
    }
}

static void finish(int code, const char *why)
{
    if (g.finished)
        return;
    g.finished = true;
    g.exit_code = code;
    printf("{\"event\":\"summary\",\"why\":\"%s\",\"connections\":%u,\"closed_by_server\":%u,"
           "\"connect_errors\":%u,\"requests\":%u,\"sent\":%u,\"answered_late\":%u,\"kinds\":[",
           why, g.connections, g.closed_by_server, g.connect_errors, g.requests, g.sent, g.answered_late);
    for (int i = 0; i < 11; i++)
        printf("%s%u", i ? "," : "", g.kinds[i]);
    printf("]}\n");
    fflush(stdout);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        g.connecting = false;
        g.connected = true;
        g.wsi = wsi;
        g.connections++;
        wf_conn_init(&g.conn, wsi);
        printf("{\"event\":\"connected\",\"connection\":%u}\n", g.connections);
        fflush(stdout);
        if (g.mode == M_FRAGMENTS) {
            /* an id and a type, then nothing more: the message never ends */
            static const uint8_t start[] = { 0, 0, 0, 1, 0x82, 0, 0, 0 };
            send_raw(start, sizeof start, (enum lws_write_protocol)(LWS_WRITE_BINARY | LWS_WRITE_NO_FIN));
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("{\"event\":\"connect_error\",\"detail\":");
        json_str(stdout, in ? (const char *)in : "", in ? strlen((const char *)in) : 0);
        printf("}\n");
        fflush(stdout);
        g.connect_errors++;
        g.connecting = false;
        g.connected = false;
        g.wsi = NULL;
        g.reconnect_at = now_ms() + 200;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (wsi != g.wsi)
            return -1;
        int rc = wf_conn_on_receive(&g.conn, in, len);
        if (rc < 0) {
            printf("{\"event\":\"bad_message_from_service\"}\n");
            return -1;
        }
        if (rc == 1) {
            on_request(g.conn.rx, g.conn.rx_len);
            wf_conn_rx_done(&g.conn);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (wsi != g.wsi)
            return 0;
        return tq_write_one(&g.q, wsi) == 0 ? 0 : -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi == g.wsi) {
            g.closed_by_server++;
            printf("{\"event\":\"closed\",\"by\":\"server\",\"connection\":%u}\n", g.connections);
            fflush(stdout);
            g.wsi = NULL;
            g.connected = false;
            tq_clear(&g.q);
            wf_conn_cleanup(&g.conn);
            while (g.late) {
                struct late *n = g.late->next;
                free(g.late);
                g.late = n;
            }
            if (g.mode == M_GARBAGE && g.sent < g.count)
                g.reconnect_at = now_ms() + 100;
            else if (g.mode == M_GARBAGE)
                finish(0, "count reached");
            else
                finish(0, "server closed the connection");
        }
        return 0;
    default:
        return 0;
    }
}

static lws_sorted_usec_list_t tick_sul;

static void tick(lws_sorted_usec_list_t *sul)
{
    int64_t now = now_ms();
    if (!g.wsi && !g.connecting && !g.finished && g.reconnect_at && now >= g.reconnect_at) {
        if (g.mode == M_GARBAGE || g.connections == 0) {
            g.reconnect_at = 0;
            connect_now();
        }
    }
    if (g.connected && g.mode == M_SILENT) {
        while (g.late && g.late->due <= now) {
            struct late *l = g.late;
            g.late = l->next;
            send_raw(l->buf, l->len, LWS_WRITE_BINARY);
            g.answered_late++;
            printf("{\"event\":\"answered_late\"}\n");
            fflush(stdout);
            free(l);
        }
    }
    if (g.connected && g.mode == M_GARBAGE) {
        if (g.sent < g.count && !g.q.head)
            made_up_garbage();
        if (g.sent >= g.count && !g.finish_at)
            g.finish_at = now + 500;
    }
    if (g.finish_at && now >= g.finish_at)
        finish(0, "count reached");
    lws_sul_schedule(g.ctx, 0, sul, tick, 10 * LWS_US_PER_MS);
}

int main(int argc, char **argv)
{
    int max_seconds = 60;
    const char *mode = NULL;
    g.host = "127.0.0.1";
    g.rng = 0x9e3779b97f4a7c15ull;
    g.count = 200;
    g.root_mode = 0040755;
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "host", required_argument, NULL, 'H' },
        { "mode", required_argument, NULL, 'm' },
        { "seed", required_argument, NULL, 's' },
        { "count", required_argument, NULL, 'c' },
        { "answer-after", required_argument, NULL, 'a' },
        { "max-seconds", required_argument, NULL, 't' },
        { "root-mode", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "p:H:m:s:c:a:t:r:", opts, NULL)) != -1) {
        switch (c) {
        case 'p': g.port = atoi(optarg); break;
        case 'H': g.host = optarg; break;
        case 'm': mode = optarg; break;
        case 's': g.rng = 0x9e3779b97f4a7c15ull ^ strtoull(optarg, NULL, 0); break;
        case 'c': g.count = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'a': g.answer_after_ms = atoi(optarg); break;
        case 't': max_seconds = atoi(optarg); break;
        case 'r': g.root_mode = (uint32_t)strtoul(optarg, NULL, 8); break;
        default:
            fprintf(stderr, "usage: %s --port N --mode silent|garbage|fragments [--seed N] [--count N] "
                            "[--answer-after MS] [--max-seconds S]\n", argv[0]);
            return 1;
        }
    }
    if (g.port <= 0 || !mode) {
        fprintf(stderr, "--port and --mode are required\n");
        return 1;
    }
    if (!g.rng)
        g.rng = 1;
    if (strcmp(mode, "silent") == 0)
        g.mode = M_SILENT;
    else if (strcmp(mode, "garbage") == 0)
        g.mode = M_GARBAGE;
    else if (strcmp(mode, "fragments") == 0)
        g.mode = M_FRAGMENTS;
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    g.ctx = tool_context(callback, CONTEXT_PORT_NO_LISTEN, NULL, on_signal);
    if (!g.ctx) {
        fprintf(stderr, "cannot create the lws context\n");
        return 1;
    }
    connect_now();
    lws_sul_schedule(g.ctx, 0, &tick_sul, tick, 10 * LWS_US_PER_MS);
    int64_t end = now_ms() + (int64_t)max_seconds * 1000;
    while (!interrupted && !g.finished) {
        if (lws_service(g.ctx, 50) < 0)
            break;
        if (now_ms() > end)
            finish(2, g.connected ? "max-seconds ran out while connected" : "max-seconds ran out");
    }
    if (!g.finished)
        finish(interrupted ? 5 : 1, interrupted ? "interrupted" : "loop ended");
    lws_sul_cancel(&tick_sul);
    tq_clear(&g.q);
    wf_conn_cleanup(&g.conn);
    while (g.late) {
        struct late *n = g.late->next;
        free(g.late);
        g.late = n;
    }
    lws_context_destroy(g.ctx);
    return g.exit_code;
}
