/* delay_relay: a TCP relay that holds every byte for a fixed time in each
 * direction, so a link shaped with `tc tbf` (rate only; this kernel has no
 * sch_netem) also gets a round-trip time. Used by bench/run --link.
 *
 *   delay_relay LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_US [BUF_BYTES]
 *
 * Every accepted connection gets its own connection to the target. Bytes read
 * from one side are queued with a due time (now + DELAY_US) and written to the
 * other side once due: a one-way delay of DELAY_US each way, so the round trip
 * grows by 2 * DELAY_US. At most BUF_BYTES (default 8 MiB) wait per direction;
 * beyond that the relay stops reading, which is TCP's own backpressure (set it
 * above the bandwidth-delay product). Half-closes are passed on once the queue
 * has drained. Single-threaded, poll(2); exits on SIGTERM/SIGINT. Prints
 * "ready PORT" on stdout once listening (PORT 0 picks a free port). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define CHUNK (64 * 1024)

struct chunk {
    struct chunk *next;
    int64_t due_us;
    size_t len, off;
    char data[];
};

struct dir {
    int from, to;          /* fds */
    struct chunk *head, *tail;
    size_t queued;
    int eof;               /* from-side reached EOF (or failed) */
    int shut;              /* to-side got SHUT_WR */
};

struct pair {
    int used;
    int fd[2];             /* 0: accepted client, 1: target */
    struct dir d[2];       /* d[0]: client -> target, d[1]: target -> client */
    int connecting;        /* fd[1] connect in progress */
};

static volatile sig_atomic_t stop;
static struct pair pairs[MAX_PAIRS];
static int64_t delay_us;
static size_t buf_limit = 8u << 20;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void pair_close(struct pair *p)
{
    for (int i = 0; i < 2; i++) {
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        struct chunk *c = p->d[i].head;
        while (c) {
            struct chunk *n = c->next;
            free(c);
            c = n;
        }
    }
    memset(p, 0, sizeof *p);
}

/* Reads what is there into the queue of d (one chunk per read). */
static int dir_read(struct dir *d)
{
    while (!d->eof && d->queued < buf_limit) {
        struct chunk *c = malloc(sizeof *c + CHUNK);
        if (!c)
            return -1;
        ssize_t n = read(d->from, c->data, CHUNK);
        if (n <= 0) {
            free(c);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
            d->eof = 1; /* EOF or error: pass a half-close on once drained */
            return 0;
        }
        c->next = NULL;
        c->due_us = now_us() + delay_us;
        c->len = (size_t)n;
        c->off = 0;
        if (d->tail)
            d->tail->next = c;
        else
            d->head = c;
        d->tail = c;
        d->queued += (size_t)n;
        if ((size_t)n < CHUNK)
            return 0;
    }
    return 0;
}

/* Writes every due chunk. Returns -1 when the to-side is gone. */
static int dir_write(struct dir *d, int64_t now)
{
    while (d->head && d->head->due_us <= now) {
        struct chunk *c = d->head;
        ssize_t n = write(d->to, c->data + c->off, c->len - c->off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            return -1;
        }
        c->off += (size_t)n;
        d->queued -= (size_t)n;
        if (c->off < c->len)
            return 0;
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        free(c);
    }
    if (!d->head && d->eof && !d->shut) {
        shutdown(d->to, SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

static int parse_addr(const char *host, const char *port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_US [BUF_BYTES]\n",
                argv[0]);
        return 2;
    }
    struct sockaddr_in la, ta;
    if (parse_addr(argv[1], argv[2], &la) || parse_addr(argv[3], argv[4], &ta)) {
        fprintf(stderr, "delay_relay: bad IPv4 address\n");
        return 2;
    }
    delay_us = atoll(argv[5]);
    if (argc > 6)
        buf_limit = (size_t)atoll(argv[6]);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 16) < 0) {
        perror("delay_relay: listen");
        return 1;
    }
    socklen_t sl = sizeof la;
    getsockname(lfd, (struct sockaddr *)&la, &sl);
    printf("ready %u\n", (unsigned)ntohs(la.sin_port));
    fflush(stdout);
    set_nonblock(lfd);

    while (!stop) {
        struct pollfd pfd[1 + 2 * MAX_PAIRS];
        int idx[1 + 2 * MAX_PAIRS]; /* pair*2 + side */
        int n = 0;
        int64_t now = now_us(), next_due = INT64_MAX;
        pfd[n].fd = lfd;
        pfd[n].events = POLLIN;
        idx[n++] = -1;
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used)
                continue;
            for (int s = 0; s < 2; s++) {
                short ev = 0;
                struct dir *rd = &p->d[s];     /* reads from fd[s] */
                struct dir *wd = &p->d[1 - s]; /* writes to fd[s] */
                if (!p->connecting && !rd->eof && rd->queued < buf_limit)
                    ev |= POLLIN;
                if (p->connecting && s == 1)
                    ev |= POLLOUT;
                if (!p->connecting && wd->head) {
                    if (wd->head->due_us <= now)
                        ev |= POLLOUT;
                    else if (wd->head->due_us < next_due)
                        next_due = wd->head->due_us;
                }
                pfd[n].fd = ev ? p->fd[s] : -1; /* nothing wanted: no POLLHUP spin */
                pfd[n].events = ev;
                idx[n++] = i * 2 + s;
            }
        }
        struct timespec ts, *tp = NULL;
        if (next_due != INT64_MAX) { /* microsecond wake-up: ppoll, not poll */
            int64_t t = next_due - now;
            if (t < 0)
                t = 0;
            ts.tv_sec = (time_t)(t / 1000000);
            ts.tv_nsec = (long)(t % 1000000) * 1000;
            tp = &ts;
        }
        int r = ppoll(pfd, (nfds_t)n, tp, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("delay_relay: poll");
            break;
        }
        if (pfd[0].revents & POLLIN) {
            int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                int slot = -1;
                for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
                    if (!pairs[i].used)
                        slot = i;
                int t = slot < 0 ? -1 : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (t < 0) {
                    close(c);
                } else {
                    struct pair *p = &pairs[slot];
                    memset(p, 0, sizeof *p);
                    set_nonblock(c);
                    set_nonblock(t);
                    p->used = 1;
                    p->fd[0] = c;
                    p->fd[1] = t;
                    p->d[0].from = c, p->d[0].to = t;
                    p->d[1].from = t, p->d[1].to = c;
                    p->connecting = 1;
                    if (connect(t, (struct sockaddr *)&ta, sizeof ta) == 0)
                        p->connecting = 0;
                    else if (errno != EINPROGRESS)
                        pair_close(p);
                }
            }
        }
        now = now_us();
        for (int k = 1; k < n; k++) {
            struct pair *p = &pairs[idx[k] / 2];
            int s = idx[k] % 2;
            if (!p->used)
                continue;
            short re = pfd[k].revents;
            if (p->connecting && s == 1 && (re & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    pair_close(p);
                    continue;
                }
                p->connecting = 0;
                continue;
            }
            if (p->connecting)
                continue;
            if (re & (POLLIN | POLLHUP | POLLERR))
                dir_read(&p->d[s]);
        }
        /* write everything due, on every pair (due times pass without events) */
        now = now_us();
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used || p->connecting)
                continue;
            if (dir_write(&p->d[0], now) < 0 || dir_write(&p->d[1], now) < 0) {
                pair_close(p);
                continue;
            }
            if (p->d[0].shut && p->d[1].shut)
                pair_close(p);
        }
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        if (pairs[i].used)
            pair_close(&pairs[i]);
    close(lfd);
    return 0;
}
