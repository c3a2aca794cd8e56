/* Admission of providers: handshake checks, credentials, the authenticator
 * as an asynchronous child, per-address backoff. See admission.h. */
#include "admission.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "proto/wf_msg.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

#define TICK_US (100 * LWS_US_PER_MS)        /* deadline checks; reaping without pidfd */
#define GETCREDS_ID 1u
#define TABLE_SIZE (2 * WF_ADMISSION_MAX)
#define KNOWN_GOOD 8 /* addresses admitted lately: their credentials are checked first */
/* A getcreds answer is small; nothing bigger is reassembled for a stranger. */
#define MAX_UNADMITTED_MESSAGE (WF_MAX_CREDENTIAL + 64u)

enum state {
    WAIT_HANDSHAKE, /* filtered, 101 not sent yet */
    WAIT_CREDENTIAL,
    QUEUED,         /* credential here, authenticator busy with another */
    CHECKING,       /* the authenticator runs for it */
    CLOSING,        /* refused: close frame on the next writable */
};

struct peer_key {
    unsigned char b[8]; /* IPv4 address, or the /64 of an IPv6 one */
    int family;
};

struct entry {
    struct lws *wsi;
    struct peer_key key;
    char peer[INET6_ADDRSTRLEN];
    enum state state;
    bool from_header;
    unsigned long long seq; /* arrival order of the credential */
    lws_usec_t deadline;
    enum wf_refusal refusal;
    const char *reason;
    struct wf_conn conn;
    size_t cred_len;
    char cred[WF_MAX_CREDENTIAL];
};

struct backoff {
    struct peer_key key;
    unsigned fails;
    lws_usec_t until, last;
};

struct wf_admission {
    const char *program;
    wf_admit_fn admit;
    void *ud;
    struct lws_context *ctx;
    /* waiting connections, and refused ones until their close is sent */
    struct entry *entries[TABLE_SIZE];
    unsigned long long seq;
    lws_sorted_usec_list_t tick;
    bool tick_armed;
    /* the authenticator run, at most one */
    pid_t pid;
    struct entry *checking; /* NULL once its connection went away */
    struct lws *pidfd_wsi;
    lws_usec_t run_deadline;
    bool killed;
    struct backoff backoff[WF_BACKOFF_ADDRESSES];
    struct peer_key good[KNOWN_GOOD];
    unsigned good_next;
};

static void start_next(struct wf_admission *a);

static lws_usec_t now_us(void)
{
    return lws_now_usecs();
}

/* The peer's address, folded: IPv4 (also as ::ffff:a.b.c.d) by address,
 * IPv6 by /64, which is what one host can easily vary. */
static void peer_of(struct lws *wsi, struct peer_key *k, char *text, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(k, 0, sizeof *k);
    snprintf(text, cap, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
        k->family = AF_INET;
        memcpy(k->b, &v4->sin_addr, 4);
        inet_ntop(AF_INET, &v4->sin_addr, text, (socklen_t)cap);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            k->family = AF_INET;
            memcpy(k->b, &v6->sin6_addr.s6_addr[12], 4);
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, (socklen_t)cap);
        } else {
            k->family = AF_INET6;
            memcpy(k->b, &v6->sin6_addr, 8);
            inet_ntop(AF_INET6, &v6->sin6_addr, text, (socklen_t)cap);
        }
    }
}

static bool same_peer(const struct peer_key *x, const struct peer_key *y)
{
    return x->family == y->family && memcmp(x->b, y->b, sizeof x->b) == 0;
}

/* --- per-address backoff ------------------------------------------------ */

static struct backoff *backoff_find(struct wf_admission *a, const struct peer_key *k)
{
    for (unsigned i = 0; i < WF_BACKOFF_ADDRESSES; i++)
        if (a->backoff[i].key.family && same_peer(&a->backoff[i].key, k))
            return &a->backoff[i];
    return NULL;
}

/* A refusal that cost the service something: the address waits before its
 * next try. The first is free (a mistyped token); then 1 s, 2 s, ... 60 s.
 * After a quiet spell as long as the cap, it starts over. */
static void backoff_note_failure(struct wf_admission *a, const struct peer_key *k)
{
    lws_usec_t now = now_us();
    struct backoff *b = backoff_find(a, k);
    if (!b) {
        b = &a->backoff[0]; /* least recently used (or unused) */
        for (unsigned i = 1; i < WF_BACKOFF_ADDRESSES && b->key.family; i++)
            if (!a->backoff[i].key.family || a->backoff[i].last < b->last)
                b = &a->backoff[i];
        memset(b, 0, sizeof *b);
        b->key = *k;
    }
    if (b->fails && now > b->last + (lws_usec_t)WF_BACKOFF_MAX_MS * LWS_US_PER_MS)
        b->fails = 0;
    b->fails++;
    b->last = now;
    if (b->fails >= 2) {
        unsigned shift = b->fails - 2 < 16 ? b->fails - 2 : 16;
        lws_usec_t ms = (lws_usec_t)WF_BACKOFF_FIRST_MS << shift;
        if (ms > WF_BACKOFF_MAX_MS)
            ms = WF_BACKOFF_MAX_MS;
        b->until = now + ms * LWS_US_PER_MS;
    }
}

static void backoff_forget(struct wf_admission *a, const struct peer_key *k)
{
    struct backoff *b = backoff_find(a, k);
    if (b)
        memset(b, 0, sizeof *b);
}

/* --- addresses admitted lately ------------------------------------------- */

static bool known_good(const struct wf_admission *a, const struct peer_key *k)
{
    for (unsigned i = 0; i < KNOWN_GOOD; i++)
        if (a->good[i].family && same_peer(&a->good[i], k))
            return true;
    return false;
}

static void remember_good(struct wf_admission *a, const struct peer_key *k)
{
    if (known_good(a, k))
        return;
    a->good[a->good_next] = *k;
    a->good_next = (a->good_next + 1) % KNOWN_GOOD;
}

/* --- connections -------------------------------------------------------- */

static struct entry *find(const struct wf_admission *a, const struct lws *wsi)
{
    for (unsigned i = 0; a && wsi && i < TABLE_SIZE; i++)
        if (a->entries[i] && a->entries[i]->wsi == wsi)
            return a->entries[i];
    return NULL;
}

/* Connections waiting for admission (refused ones not counted). */
static unsigned count(const struct wf_admission *a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        n += a->entries[i] != NULL && a->entries[i]->state != CLOSING;
    return n;
}

static unsigned occupied(const struct wf_admission *a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        n += a->entries[i] != NULL;
    return n;
}

static void schedule_tick(struct wf_admission *a);

/* Removes e from the table and frees it. */
static void drop(struct wf_admission *a, struct entry *e)
{
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        if (a->entries[i] == e)
            a->entries[i] = NULL;
    if (a->checking == e)
        a->checking = NULL; /* the run goes on until killed and reaped */
    wf_conn_cleanup(&e->conn);
    explicit_bzero(e->cred, sizeof e->cred);
    free(e);
}

/* Closes e's connection with refusal r at its next writable callback. */
static void refuse(struct wf_admission *a, struct entry *e, enum wf_refusal r, const char *reason)
{
    if (a->checking == e) {
        if (a->pid > 0 && !a->killed)
            kill(a->pid, SIGKILL); /* reaped as usual; its verdict no longer matters */
        a->killed = true;
        a->checking = NULL;
    }
    bool established = e->state != WAIT_HANDSHAKE; /* else established() asks */
    e->state = CLOSING;
    e->refusal = r;
    e->reason = reason;
    if (established)
        lws_callback_on_writable(e->wsi);
}

enum wf_refusal wf_admission_filter(struct wf_admission *a, struct lws *wsi, const char *credential,
                                    size_t len)
{
    struct peer_key k;
    char peer[INET6_ADDRSTRLEN];
    a->ctx = lws_get_context(wsi);
    peer_of(wsi, &k, peer, sizeof peer);
    struct backoff *b = backoff_find(a, &k);
    if (b && now_us() < b->until) {
        wf_debug("refusing a provider from %s: still waiting after a refusal", peer);
        return WF_REFUSE_BACKOFF;
    }
    if (credential && len > WF_MAX_CREDENTIAL) {
        wf_warn("refusing a provider from %s: token longer than %d bytes", peer, WF_MAX_CREDENTIAL);
        backoff_note_failure(a, &k);
        return WF_REFUSE_TOKEN;
    }
    /* One waiting connection per address: a newer one replaces it (a
     * provider that restarted, or a flood that gains nothing). */
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        struct entry *old = a->entries[i];
        if (old && old->state != CLOSING && same_peer(&old->key, &k)) {
            if (old->state == QUEUED || old->state == CHECKING)
                backoff_note_failure(a, &k);
            refuse(a, old, WF_REFUSE_BUSY, "replaced by a newer connection from the same address");
        }
    }
    unsigned slot = TABLE_SIZE;
    for (unsigned i = 0; i < TABLE_SIZE && slot == TABLE_SIZE; i++)
        if (!a->entries[i])
            slot = i;
    if (slot == TABLE_SIZE || count(a) >= WF_ADMISSION_MAX) {
        wf_warn("refusing a provider from %s: %u connections already wait for admission", peer,
                count(a));
        return WF_REFUSE_OVERLOAD;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return WF_REFUSE_OVERLOAD;
    e->wsi = wsi;
    e->key = k;
    memcpy(e->peer, peer, sizeof e->peer);
    e->state = WAIT_HANDSHAKE;
    e->deadline = now_us() + (lws_usec_t)WF_ADMISSION_TIMEOUT_MS * LWS_US_PER_MS;
    if (credential) {
        e->from_header = true;
        e->cred_len = len;
        memcpy(e->cred, credential, len);
    }
    a->entries[slot] = e;
    schedule_tick(a);
    return WF_REFUSE_NONE;
}

static void queue_credential(struct wf_admission *a, struct entry *e)
{
    e->state = QUEUED;
    e->seq = ++a->seq;
    start_next(a);
}

void wf_admission_established(struct wf_admission *a, struct lws *wsi)
{
    struct entry *e = find(a, wsi);
    if (!e)
        return;
    if (e->state == CLOSING) /* replaced before its handshake completed */
        lws_callback_on_writable(wsi);
    if (e->state != WAIT_HANDSHAKE)
        return;
    wf_conn_init(&e->conn, wsi);
    if (e->from_header) {
        queue_credential(a, e);
        return;
    }
    e->state = WAIT_CREDENTIAL;
    struct wf_msg m = { .id = GETCREDS_ID, .type = WF_GETCREDS };
    if (wf_conn_send(&e->conn, &m) != 0)
        refuse(a, e, WF_REFUSE_OVERLOAD, "out of memory");
    wf_info("provider from %s connected, asking for credentials", e->peer);
}

bool wf_admission_owns(const struct wf_admission *a, const struct lws *wsi)
{
    return find(a, wsi) != NULL;
}

int wf_admission_on_receive(struct wf_admission *a, struct lws *wsi, const void *in, size_t len)
{
    struct entry *e = find(a, wsi);
    if (!e)
        return -1;
    if (e->state != WAIT_CREDENTIAL)
        return 0; /* nothing more is expected from it; ignored */
    if (len > MAX_UNADMITTED_MESSAGE - e->conn.rx_len) {
        refuse(a, e, WF_REFUSE_TOKEN, "message too large before admission");
        return 0;
    }
    int rc = wf_conn_on_receive(&e->conn, in, len);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    struct wf_msg m;
    if (wf_decode(e->conn.rx, e->conn.rx_len, &m) == WF_OK && m.id == GETCREDS_ID &&
        m.type == (WF_GETCREDS | WF_RESPONSE)) {
        if (m.path2.len > WF_MAX_CREDENTIAL) {
            wf_warn("refusing provider from %s: credentials longer than %d bytes", e->peer,
                    WF_MAX_CREDENTIAL);
            backoff_note_failure(a, &e->key);
            refuse(a, e, WF_REFUSE_TOKEN, "credentials too long");
        } else {
            e->cred_len = m.path2.len;
            memcpy(e->cred, m.path2.data, m.path2.len);
            queue_credential(a, e);
        }
    }
    wf_conn_rx_done(&e->conn);
    return 0;
}

int wf_admission_on_writable(struct wf_admission *a, struct lws *wsi)
{
    struct entry *e = find(a, wsi);
    if (!e)
        return -1;
    if (e->state == CLOSING) {
        const char *reason = e->reason ? e->reason : wf_refusal_text(e->refusal);
        size_t n = strlen(reason);
        if (n > 120)
            n = 120; /* a close frame's payload is at most 125 bytes */
        lws_close_reason(wsi, (enum lws_close_status)e->refusal, (unsigned char *)reason, n);
        return -1;
    }
    return wf_conn_on_writable(&e->conn) == 0 ? 0 : -1;
}

void wf_admission_cancel(struct wf_admission *a, struct lws *wsi)
{
    struct entry *e = find(a, wsi);
    if (!e)
        return;
    /* Hanging up with a credential in the queue still cost a check (or
     * would have): it counts like a refusal. */
    if (e->state == QUEUED || e->state == CHECKING)
        backoff_note_failure(a, &e->key);
    if (a->checking == e && a->pid > 0 && !a->killed) {
        kill(a->pid, SIGKILL);
        a->killed = true;
    }
    drop(a, e);
}

/* --- the authenticator run ---------------------------------------------- */

static void finish_run(struct wf_admission *a, int status)
{
    struct entry *e = a->checking;
    bool timed_out = a->killed;
    a->pid = 0;
    a->checking = NULL;
    a->killed = false;
    if (a->pidfd_wsi) {
        lws_set_opaque_user_data(a->pidfd_wsi, NULL);
        a->pidfd_wsi = NULL; /* its callback returns -1 and lws closes it */
    }
    if (e && e->state == CHECKING) {
        if (timed_out) {
            wf_warn("authenticator %s did not finish within %d ms; refusing provider from %s",
                    a->program, WF_AUTH_TIMEOUT_MS, e->peer);
            backoff_note_failure(a, &e->key);
            refuse(a, e, WF_REFUSE_AUTH_TIMEOUT, "the authenticator did not answer in time");
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            struct lws *wsi = e->wsi;
            struct peer_key k = e->key;
            wf_info("provider from %s authenticated", e->peer);
            e->state = CLOSING; /* out of every other path while admit() runs */
            enum wf_refusal r = a->admit(a->ud, wsi);
            if (r == WF_REFUSE_NONE) {
                backoff_forget(a, &k);
                remember_good(a, &k);
                drop(a, e);
            } else {
                refuse(a, e, r, NULL);
            }
        } else {
            wf_warn("refusing provider from %s: credentials rejected (%s)", e->peer,
                    e->from_header ? "token in the handshake header" : "answer to getcreds");
            backoff_note_failure(a, &e->key);
            refuse(a, e, WF_REFUSE_TOKEN, NULL);
        }
    }
    start_next(a);
}

/* Reaps the child if it has exited; 1 when it has. */
static int try_reap(struct wf_admission *a)
{
    int status = 0;
    pid_t r = waitpid(a->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    finish_run(a, r == a->pid ? status : 0x7f00 /* lost: counts as failure */);
    return 1;
}

static void start_next(struct wf_admission *a)
{
    if (a->pid > 0)
        return;
    /* In arrival order, but a provider coming back from an address that
     * was admitted lately goes first: a flood from elsewhere does not keep
     * it waiting behind one check per flooding address. */
    struct entry *next = NULL;
    bool next_good = false;
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        struct entry *e = a->entries[i];
        if (!e || e->state != QUEUED)
            continue;
        bool good = known_good(a, &e->key);
        if (!next || (good && !next_good) || (good == next_good && e->seq < next->seq)) {
            next = e;
            next_good = good;
        }
    }
    if (!next)
        return;
    pid_t pid = wf_auth_spawn(a->program, next->cred, next->cred_len);
    if (pid < 0) {
        wf_error("cannot start authenticator %s: %s", a->program, strerror(errno));
        refuse(a, next, WF_REFUSE_OVERLOAD, "cannot start the authenticator");
        return;
    }
    next->state = CHECKING;
    a->pid = pid;
    a->checking = next;
    a->killed = false;
    a->run_deadline = now_us() + (lws_usec_t)WF_AUTH_TIMEOUT_MS * LWS_US_PER_MS;
    /* Its exit wakes the loop through a pidfd; without one (Linux < 5.3)
     * the tick looks every TICK_US. */
    int pfd = -1;
#ifdef SYS_pidfd_open
    pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    if (pfd >= 0) {
        lws_adopt_desc_t desc;
        memset(&desc, 0, sizeof desc);
        desc.vh = lws_get_vhost(next->wsi);
        desc.type = LWS_ADOPT_RAW_FILE_DESC;
        desc.fd.filefd = pfd;
        desc.vh_prot_name = WF_ADMISSION_PROTOCOL;
        desc.opaque = a;
        a->pidfd_wsi = lws_adopt_descriptor_vhost_via_info(&desc);
        if (!a->pidfd_wsi)
            close(pfd);
    }
    schedule_tick(a);
}

int wf_admission_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    struct wf_admission *a = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (!a || a->pidfd_wsi != wsi)
            return -1; /* a leftover: close it */
        try_reap(a);
        return a->pidfd_wsi == wsi ? 0 : -1; /* reaped: done with this pidfd */
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (a && a->pidfd_wsi == wsi)
            a->pidfd_wsi = NULL;
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* internal: not a subprotocol a client may ask for */
    default:
        return 0;
    }
}

/* Deadlines of waiting connections and of the run; reaping without pidfd. */
static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct wf_admission *a = lws_container_of(sul, struct wf_admission, tick);
    lws_usec_t now = now_us();
    a->tick_armed = false;
    if (a->pid > 0 && !a->killed && now >= a->run_deadline) {
        kill(a->pid, SIGKILL);
        a->killed = true;
    }
    if (a->pid > 0 && !a->pidfd_wsi)
        try_reap(a);
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        struct entry *e = a->entries[i];
        if (!e || e->state == CLOSING || e->state == CHECKING || now < e->deadline)
            continue;
        wf_warn("refusing provider from %s: no credentials within %d s", e->peer,
                WF_ADMISSION_TIMEOUT_MS / 1000);
        backoff_note_failure(a, &e->key);
        refuse(a, e, WF_REFUSE_AUTH_TIMEOUT, NULL);
    }
    schedule_tick(a);
}

static void schedule_tick(struct wf_admission *a)
{
    /* armed once: rescheduling on every event would postpone it forever */
    if (a->ctx && !a->tick_armed && (a->pid > 0 || occupied(a) > 0)) {
        a->tick_armed = true;
        lws_sul_schedule(a->ctx, 0, &a->tick, on_tick, TICK_US);
    }
}

struct wf_admission *wf_admission_new(const char *authenticator, wf_admit_fn admit, void *ud)
{
    struct wf_admission *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->program = authenticator;
    a->admit = admit;
    a->ud = ud;
    return a;
}

void wf_admission_destroy(struct wf_admission *a)
{
    if (!a)
        return;
    if (a->pid > 0) {
        kill(a->pid, SIGKILL);
        waitpid(a->pid, NULL, 0); /* SIGKILL cannot be ignored: this is short */
    }
    if (a->pidfd_wsi)
        lws_set_opaque_user_data(a->pidfd_wsi, NULL);
    lws_sul_cancel(&a->tick);
    for (unsigned i = 0; i < TABLE_SIZE; i++)
        if (a->entries[i])
            drop(a, a->entries[i]);
    free(a);
}
