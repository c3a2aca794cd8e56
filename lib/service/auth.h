/* Provider admission helpers: starting the authenticator program (see
 * admission.c for when and how long), and the browser origin policy. */
#ifndef WF_AUTH_H
#define WF_AUTH_H

#include <stddef.h>
#include <sys/types.h>

#define WF_AUTH_TIMEOUT_MS 5000
#define WF_MAX_CREDENTIAL 4096

/* Starts program (no shell, only stdin/stdout/stderr open, stdout and stderr
 * to /dev/null) with the credential written to its stdin, and returns at
 * once: its pid, or -1. The caller waits for it (waitpid) and kills it if it
 * takes too long. */
pid_t wf_auth_spawn(const char *program, const char *credential, size_t len);

/* 1 if a browser Origin may connect: it is one of the allowed ones, or the
 * service's own origin (scheme + Host header) where Host names the service:
 * an IP address, "localhost" or the vhost name. Trusting any Host would let a
 * DNS-rebinding page (evil.example resolving to the device) pass as same-origin. */
int wf_origin_allowed(const char *origin, const char *host, int tls, const char *vhost,
                      const char *const *allowed, size_t allowed_count);

#endif
