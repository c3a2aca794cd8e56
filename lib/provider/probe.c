/* A plain TCP connect that keeps errno, for the words libwebsockets drops
 * ("Unable to connect" says neither refused nor unreachable). */
#include "provider/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int try_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int n = poll(&pfd, 1, timeout_ms);
            socklen_t len = sizeof err;
            if (n == 0)
                err = ETIMEDOUT;
            else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
    }
    close(fd);
    return err;
}

/* getaddrinfo for a TCP connection to host:port; its result code. */
static int resolve(const char *host, int port, struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    *res = NULL;
    return getaddrinfo(host, service, &hints, res);
}

/* A connected, blocking socket to host:port, or -1. */
static int connect_to(const char *host, int port, int timeout_ms)
{
    struct addrinfo *res;
    if (resolve(host, port, &res) != 0)
        return -1;
    int fd = -1;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Sends data on a fresh connection; returns how many answer bytes arrived. */
static ssize_t exchange(const char *host, int port, int timeout_ms, const void *data, size_t len,
                        unsigned char *buf, size_t size)
{
    int fd = connect_to(host, port, timeout_ms);
    if (fd < 0)
        return -1;
    ssize_t n = -1;
    if (send(fd, data, len, MSG_NOSIGNAL) == (ssize_t)len)
        n = recv(fd, buf, size, MSG_WAITALL);
    close(fd);
    return n;
}

enum wf_probe_kind wf_probe_scheme(const char *host, int port, int timeout_ms)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    /* a TLS handshake record with a body that is no ClientHello: a TLS
     * server answers with an alert record (0x15 0x03 ...) */
    static const unsigned char tls[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00 };
    unsigned char buf[8];
    ssize_t n = exchange(host, port, timeout_ms, http, sizeof http - 1, buf, sizeof buf);
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        return WF_PROBE_HTTP;
    n = exchange(host, port, timeout_ms, tls, sizeof tls, buf, 2);
    if (n == 2 && buf[0] == 0x15 && buf[1] == 0x03)
        return WF_PROBE_TLS;
    return WF_PROBE_UNKNOWN;
}

int wf_probe_tcp(const char *host, int port, int timeout_ms, char *buf, size_t size)
{
    struct addrinfo *res;
    int rc = resolve(host, port, &res);
    if (rc != 0) {
        snprintf(buf, size, "cannot resolve the host name %s (%s)", host, gai_strerror(rc));
        return -1;
    }
    int err = EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        err = try_one(ai, timeout_ms);
        if (err == 0)
            break;
    }
    freeaddrinfo(res);
    if (err == 0) {
        snprintf(buf, size, "the port accepts connections");
        return 0;
    }
    snprintf(buf, size, "%s", err == ECONNREFUSED ? "connection refused (is the service running on this port?)"
                              : err == ETIMEDOUT ? "no answer (timed out)" : strerror(err));
    return -1;
}
