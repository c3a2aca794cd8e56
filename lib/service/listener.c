/* The listening socket: bind exactly what was asked, accept without spinning,
 * and keep room for the provider. See listener.h. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/wf_fd_limit.h"
#include "util/wf_log.h"

#define WF_ACCEPT_BATCH 32          /* connections taken per wakeup */
#define WF_FD_RESERVE 16            /* descriptors kept for FUSE, the authenticator, logs */
#define WF_ACCEPT_PAUSE_US (200 * LWS_US_PER_MS) /* out of descriptors: wait this long */

struct pending {
    struct lws *wsi;
    unsigned long long seq; /* accept order: the smallest is the oldest */
};

struct wf_listener {
    int fd;
    int port;
    int spare; /* held in reserve, given up at EMFILE to shed one connection */
    long fd_limit;
    char name[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
    struct lws_vhost *vh;
    struct lws *wsi;
    lws_sorted_usec_list_t resume_sul;
    bool paused;
    unsigned long long seq;
    unsigned npending;
    struct pending pending[WF_LISTEN_MAX_PENDING];
};

static bool ipv6_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The first address of interface name: IPv4 preferred, as lws did. */
static int interface_address(const char *name, struct sockaddr_storage *ss)
{
    struct ifaddrs *all, *a;
    int found = -1;
    if (getifaddrs(&all) != 0)
        return -1;
    for (int family = AF_INET; family && found != 0; family = family == AF_INET ? AF_INET6 : 0)
        for (a = all; a && found != 0; a = a->ifa_next)
            if (a->ifa_addr && a->ifa_addr->sa_family == family && strcmp(a->ifa_name, name) == 0) {
                memcpy(ss, a->ifa_addr, family == AF_INET ? sizeof(struct sockaddr_in)
                                                          : sizeof(struct sockaddr_in6));
                found = 0;
            }
    freeifaddrs(all);
    return found;
}

/* Fills ss for address (see wf_listener_open); -1 if it is neither a literal
 * nor an interface with an address. */
static int resolve(const char *address, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!address) {
        if (ipv6_available()) {
            v6->sin6_family = AF_INET6;
            v6->sin6_addr = in6addr_any;
        } else {
            v4->sin_family = AF_INET;
            v4->sin_addr.s_addr = htonl(INADDR_ANY);
        }
        return 0;
    }
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    size_t len = strlen(address);
    if (len >= sizeof text)
        return -1;
    memcpy(text, address, len + 1);
    if (text[0] == '[' && len > 2 && text[len - 1] == ']') {
        memmove(text, text + 1, len - 2);
        text[len - 2] = '\0';
    }
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 0;
    }
    char *scope = strchr(text, '%'); /* fe80::1%eth0 */
    if (scope)
        *scope++ = '\0';
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_scope_id = scope ? if_nametoindex(scope) : 0;
        return scope && !v6->sin6_scope_id ? -1 : 0;
    }
    return scope ? -1 : interface_address(address, ss);
}

static void describe(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s", ip);
    } else {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]", ip);
    }
}

static const char *bind_error(int err)
{
    switch (err) {
    case EADDRINUSE: return "address already in use (is another service listening there?)";
    case EADDRNOTAVAIL: return "not an address of this machine";
    case EACCES: return "permission denied (ports below 1024 need privileges)";
    default: return strerror(err);
    }
}

struct wf_listener *wf_listener_open(const char *address, int port)
{
    struct sockaddr_storage ss;
    if (port < 0 || port > 65535) {
        wf_error("cannot listen: port %d is out of range", port);
        return NULL;
    }
    if (resolve(address, &ss) != 0) {
        wf_error("cannot listen on '%s': neither an IP address nor an interface with an address",
                 address);
        return NULL;
    }
    struct wf_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->spare = -1;
    describe(&ss, l->name, sizeof l->name);
    bool v6 = ss.ss_family == AF_INET6;
    if (v6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    int err = l->fd < 0 ? errno : 0;
    if (!err && setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        err = errno;
    /* [::] also takes IPv4 (dual stack); a given IPv6 address only itself */
    if (!err && v6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, address ? &one : &zero, sizeof one) != 0)
        err = errno;
    if (!err && bind(l->fd, (struct sockaddr *)&ss, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0)
        err = errno;
    if (!err && listen(l->fd, SOMAXCONN) != 0)
        err = errno;
    socklen_t sl = sizeof ss;
    if (!err && getsockname(l->fd, (struct sockaddr *)&ss, &sl) != 0)
        err = errno;
    if (err) {
        wf_error("cannot listen on %s port %d: %s", l->name, port, bind_error(err));
        wf_listener_destroy(l);
        return NULL;
    }
    l->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    l->fd_limit = wf_raise_fd_limit();
    l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    wf_info("listening on %s port %d%s", l->name, l->port,
            address ? "" : v6 ? " (IPv6 and IPv4)" : " (IPv4 only: no IPv6 in this kernel)");
    return l;
}

int wf_listener_port(const struct wf_listener *l)
{
    return l ? l->port : -1;
}

struct lws_vhost *wf_listener_create_vhost(struct wf_listener *l, struct lws_context *ctx,
                                           struct lws_context_creation_info *info)
{
    info->port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info->iface = NULL;
    l->vh = lws_create_vhost(ctx, info);
    if (!l->vh) {
        wf_error("cannot set up the WebSocket server (TLS certificate or key unusable?)");
        return NULL;
    }
    lws_adopt_desc_t desc;
    memset(&desc, 0, sizeof desc);
    desc.vh = l->vh;
    desc.type = LWS_ADOPT_RAW_FILE_DESC;
    desc.fd.filefd = l->fd;
    desc.vh_prot_name = WF_LISTEN_PROTOCOL;
    desc.opaque = l;
    l->wsi = lws_adopt_descriptor_vhost_via_info(&desc);
    if (!l->wsi) {
        wf_error("cannot add the listening socket to the event loop");
        return NULL;
    }
    l->fd = -1; /* lws closes it now */
    return l->vh;
}

static void forget_at(struct wf_listener *l, unsigned i)
{
    l->pending[i] = l->pending[--l->npending];
}

void wf_listener_forget(struct wf_listener *l, struct lws *wsi)
{
    for (unsigned i = 0; l && i < l->npending; i++)
        if (l->pending[i].wsi == wsi) {
            forget_at(l, i);
            return;
        }
}

void wf_listener_admitted(struct wf_listener *l, struct lws *wsi)
{
    wf_listener_forget(l, wsi);
}

/* Closes the connection that has waited longest without being admitted. */
static void drop_oldest(struct wf_listener *l)
{
    if (l->npending == 0)
        return;
    unsigned oldest = 0;
    for (unsigned i = 1; i < l->npending; i++)
        if (l->pending[i].seq < l->pending[oldest].seq)
            oldest = i;
    struct lws *wsi = l->pending[oldest].wsi;
    forget_at(l, oldest);
    lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
}

static void resume_accepting(lws_sorted_usec_list_t *sul)
{
    struct wf_listener *l = lws_container_of(sul, struct wf_listener, resume_sul);
    l->paused = false;
    if (l->wsi)
        lws_rx_flow_control(l->wsi, 1);
}

/* The limit may have been lowered since start (prlimit). */
static void reread_fd_limit(struct wf_listener *l)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        l->fd_limit = (long)rl.rlim_cur;
}

/* Out of descriptors with nothing of ours to close: the connection waiting
 * in the backlog would make the socket readable forever. Take it with the
 * spare descriptor, close it, and stop listening for a moment. */
static void out_of_descriptors(struct wf_listener *l, int lfd, int err)
{
    if (l->spare >= 0) {
        close(l->spare);
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0)
            close(fd);
        l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (!l->paused)
        wf_warn("out of file descriptors (%s, limit %ld): not accepting for %d ms", strerror(err),
                l->fd_limit, (int)(WF_ACCEPT_PAUSE_US / LWS_US_PER_MS));
    l->paused = true;
    lws_rx_flow_control(l->wsi, 0);
    lws_sul_schedule(lws_get_context(l->wsi), 0, &l->resume_sul, resume_accepting, WF_ACCEPT_PAUSE_US);
}

static void accept_some(struct wf_listener *l, int lfd)
{
    for (int i = 0; i < WF_ACCEPT_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                reread_fd_limit(l);
                if (l->npending == 0) {
                    out_of_descriptors(l, lfd, errno);
                    return;
                }
                drop_oldest(l); /* closes at once: try again with its descriptor */
                continue;
            }
            continue; /* the peer gave up already (ECONNABORTED), EINTR, ... */
        }
        /* Room for the new one: the oldest unadmitted connection goes when
         * too many wait, or when descriptors run short. */
        if (l->npending == WF_LISTEN_MAX_PENDING || fd >= l->fd_limit - WF_FD_RESERVE)
            drop_oldest(l);
        struct lws *wsi = lws_adopt_socket_vhost(l->vh, fd); /* closes fd on failure */
        if (wsi && l->npending < WF_LISTEN_MAX_PENDING)
            l->pending[l->npending++] = (struct pending){ wsi, ++l->seq };
    }
}

int wf_listener_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct wf_listener *l = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (l && l->wsi == wsi)
            accept_some(l, lws_get_socket_fd(wsi));
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (l && l->wsi == wsi) {
            lws_sul_cancel(&l->resume_sul);
            l->wsi = NULL;
        }
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* internal: not a subprotocol a client may ask for */
    default:
        return 0;
    }
}

void wf_listener_destroy(struct wf_listener *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->spare >= 0)
        close(l->spare);
    free(l);
}
