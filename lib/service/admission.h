/* Admission of providers when an authenticator is configured: which
 * WebSocket connections may become the provider, decided without ever
 * making the service's loop wait.
 *
 * - At the handshake, cheap checks only: an address that was refused lately
 *   waits (backoff: free the first time, then 1 s doubling to 60 s, kept for
 *   WF_BACKOFF_ADDRESSES addresses, IPv6 by /64), at most
 *   WF_ADMISSION_MAX connections wait for admission, one per address (a new
 *   one from the same address replaces the old one).
 * - After it, each waiting connection gives its credential (from the
 *   handshake header, else answering getcreds, sent from here) within
 *   WF_ADMISSION_TIMEOUT_MS.
 * - Credentials are checked in arrival order by the authenticator, run as a
 *   child process one at a time; its exit is watched through a pidfd in the
 *   loop, bounded by WF_AUTH_TIMEOUT_MS, killed (and reaped) when its
 *   connection goes away first.
 * - Refusals close with a code from proto/wf_refusal.h and a reason. */
#ifndef WF_ADMISSION_H
#define WF_ADMISSION_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "proto/wf_refusal.h"

#define WF_ADMISSION_PROTOCOL "wf-auth"
#define WF_ADMISSION_MAX 64
#define WF_ADMISSION_TIMEOUT_MS 10000
#define WF_BACKOFF_ADDRESSES 256
#define WF_BACKOFF_FIRST_MS 1000
#define WF_BACKOFF_MAX_MS 60000

struct wf_admission;

/* Called when wsi's credential was accepted. Return WF_REFUSE_NONE when wsi
 * becomes the provider (from then on its events are the caller's), or the
 * refusal to close it with (e.g. WF_REFUSE_BUSY). */
typedef enum wf_refusal (*wf_admit_fn)(void *ud, struct lws *wsi);

struct wf_admission *wf_admission_new(const char *authenticator, wf_admit_fn admit, void *ud);
/* Kills and reaps a running authenticator; forgets every connection. */
void wf_admission_destroy(struct wf_admission *a);

/* At the handshake (before 101): WF_REFUSE_NONE and wsi is registered, or
 * the refusal to answer with (its HTTP status). credential is the token from
 * the handshake header, or NULL to ask with getcreds after the handshake. */
enum wf_refusal wf_admission_filter(struct wf_admission *a, struct lws *wsi, const char *credential,
                                    size_t len);
/* The handshake of a registered wsi completed. */
void wf_admission_established(struct wf_admission *a, struct lws *wsi);

/* Whether wsi is a connection waiting for admission. */
bool wf_admission_owns(const struct wf_admission *a, const struct lws *wsi);
/* Its RECEIVE and SERVER_WRITEABLE events; the result is the callback's. */
int wf_admission_on_receive(struct wf_admission *a, struct lws *wsi, const void *in, size_t len);
int wf_admission_on_writable(struct wf_admission *a, struct lws *wsi);
/* wsi is closing (CLOSED or WSI_DESTROY): forget it, kill its authenticator.
 * Harmless for a wsi that is not registered. */
void wf_admission_cancel(struct wf_admission *a, struct lws *wsi);

/* The protocol callback of the authenticator's pidfd. */
int wf_admission_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len);

#endif
