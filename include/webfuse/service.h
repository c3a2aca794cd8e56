/* libwebfuse service API: a FUSE mount whose every call is answered by a
 * provider connected over a WebSocket.
 *
 * One wf_service owns one mount and one listening port and runs on the thread
 * that calls wf_service_run(). wf_service_stop() may be called from any thread
 * or a signal handler; nothing else is thread-safe. No global state. */
#ifndef WEBFUSE_SERVICE_H
#define WEBFUSE_SERVICE_H

#include "webfuse/api.h"
#include "webfuse/error.h" /* WF_SUCCESS, WF_EINVAL, ..., WF_EMOUNT */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wf_service_config {
    const char *mountpoint;  /* required */
    int port;                /* 0: pick a free port (see wf_service_port) */
    const char *vhost;       /* NULL: "localhost" */
    const char *bind_address;/* NULL: all interfaces */
    int timeout_secs;        /* request timeout; <= 0: 10 */
    const char *docroot;     /* serve static files over HTTP (NULL: none) */
    const char *cert_path, *key_path;       /* both set: wss/https */
    const char *authenticator;              /* program; NULL: accept all */
    const char *auth_header;                /* e.g. "X-Auth-Token" */
    const char *const *allowed_origins;     /* extra origins a browser may come from */
    size_t allowed_origin_count;
    double attr_timeout, entry_timeout, negative_timeout; /* < 0: defaults */
    /* FUSE arguments as for libfuse (argv[0] = program name, then -o ... / -d).
     * May be NULL. */
    int fuse_argc;
    char **fuse_argv;

    /* Added later; a zero-initialized config keeps the earlier behaviour. */

    /* Owner mapping (the programs' -o uid=N, gid=N, umask=M, idmap=user).
     * With set_uid / set_gid, every file and directory is reported as owned
     * by uid / gid whatever the provider says; with set_umask, the bits of
     * umask (0..0777) are cleared from every mode the provider reports. With
     * idmap_user, files the provider reports with the same owner (group) as
     * the root of the provided tree are reported as owned by the user (group)
     * that runs the service (getuid()/getgid()); others keep their numbers.
     * set_uid/set_gid win over idmap_user. default_permissions stays on: the
     * kernel checks access against the mapped owners and modes. */
    int set_uid, set_gid, set_umask, idmap_user;
    unsigned uid, gid, umask;

    /* Seconds requests wait for a provider to come back after its connection
     * was lost (not closed on purpose with close code 1000); open files carry
     * over to it. 0: off, requests fail at once; < 0: 30. */
    int resume_timeout_secs;
};

struct wf_service;

/* Mounts and starts listening. NULL on error (logged). */
WF_API struct wf_service *wf_service_create(const struct wf_service_config *config);
/* The port actually listened on. */
WF_API int wf_service_port(const struct wf_service *s);
/* Serves until wf_service_stop() or the mount goes away. WF_SUCCESS or an error. */
WF_API int wf_service_run(struct wf_service *s);
/* Asks a running service to finish. Async-signal-safe. WF_EINVAL for NULL. */
WF_API int wf_service_stop(struct wf_service *s);
/* Unmounts and frees. */
WF_API void wf_service_destroy(struct wf_service *s);

#ifdef __cplusplus
}
#endif
#endif
