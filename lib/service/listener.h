/* The service's listening socket, opened by us rather than by libwebsockets:
 * it binds exactly the address asked for (lws 4.1 binds [::] for an IPv4
 * address given as its iface), falls back to IPv4 on a kernel without IPv6,
 * says why it cannot listen, and keeps accepting under load: at most
 * WF_LISTEN_MAX_PENDING connections that are not the admitted provider (the
 * oldest is dropped for a new one), and out of descriptors it pauses instead
 * of spinning. Accepted sockets go to the vhost's HTTP/WebSocket server. */
#ifndef WF_LISTENER_H
#define WF_LISTENER_H

#include <libwebsockets.h>

#define WF_LISTEN_PROTOCOL "wf-listen"
#define WF_LISTEN_MAX_PENDING 128

struct wf_listener;

/* Opens the socket and listens: address NULL means every address (IPv6 and
 * IPv4, or IPv4 alone without IPv6 in the kernel); otherwise an IPv4 or IPv6
 * literal (brackets allowed) or an interface name. port 0 picks a free one.
 * NULL on failure, with the reason logged. */
struct wf_listener *wf_listener_open(const char *address, int port);

/* The port listened on. */
int wf_listener_port(const struct wf_listener *l);

/* Creates the server vhost described by info (its port and iface are
 * overridden) with no listener of its own, and hands our socket to its loop.
 * info->protocols must contain WF_LISTEN_PROTOCOL with wf_listener_callback.
 * NULL on failure (logged). */
struct lws_vhost *wf_listener_create_vhost(struct wf_listener *l, struct lws_context *ctx,
                                           struct lws_context_creation_info *info);

/* The protocol callback of the listening socket. */
int wf_listener_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len);

/* wsi became the admitted provider: it is no longer counted or dropped. */
void wf_listener_admitted(struct wf_listener *l, struct lws *wsi);
/* wsi is going away (call from LWS_CALLBACK_WSI_DESTROY). */
void wf_listener_forget(struct wf_listener *l, struct lws *wsi);

/* Frees l; call after lws_context_destroy (which closes the socket once it
 * was handed over). */
void wf_listener_destroy(struct wf_listener *l);

#endif
