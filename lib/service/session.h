/* The session: the time the files opened on a provider stay usable. It
 * begins when a provider is admitted and survives a lost connection for
 * the grace period (--wf-resume-timeout): requests are held meanwhile, and
 * a provider admitted within it resumes the session: every open file is
 * re-opened on it and checked to be the same file, then the held requests
 * go out again. A provider that leaves on purpose ends the session at once.
 *
 *   NONE --admitted--> ACTIVE --lost/stalled--> HOLDING --admitted--> RESUMING --re-opened--> ACTIVE
 *                        |                        |  (grace over: fail all, NONE)   |
 *                        +--left on purpose: fail all, NONE       RESUMING --lost--> HOLDING */
#ifndef WF_SESSION_H
#define WF_SESSION_H

#include <stdbool.h>

struct wf_service;

void wf_session_init(struct wf_service *s);
/* A provider's connection is up (not yet admitted): only control requests
 * (getcreds) go out. */
void wf_session_connected(struct wf_service *s);
/* The provider is admitted: a new session begins or the held one resumes. */
void wf_session_begin(struct wf_service *s);
/* The provider's connection is gone. on_purpose (a normal close, or a
 * broken protocol): the session ends now; else it is held. */
void wf_session_connection_gone(struct wf_service *s, bool on_purpose);
/* At shutdown: everything outstanding fails. */
void wf_session_cleanup(struct wf_service *s);

#endif
