/* libwebfuse provider API: serve any filesystem to a webfuse service.
 *
 * Fill a struct wf_provider_ops with path-based callbacks (like libfuse's
 * high-level fuse_operations), then connect to a service. Paths are absolute
 * within the provided tree ("/" is its root). Callbacks return 0 (or a byte
 * count where noted) on success and a negated errno on failure; a NULL
 * callback answers -ENOSYS. Callbacks run on the thread that calls
 * wf_provider_run()/wf_provider_service(); a wf_provider is not thread-safe
 * except for wf_provider_stop(), which may be called from any thread or a
 * signal handler. No global state. */
#ifndef WEBFUSE_PROVIDER_H
#define WEBFUSE_PROVIDER_H

#include "webfuse/api.h"
#include "webfuse/error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WF_NO_FILE_HANDLE UINT64_MAX

/* Error codes of the library functions: webfuse/error.h */

/* Adds one name to a readdir answer. Returns 0, or -1 when the answer is full. */
typedef int (*wf_dir_filler)(void *dirbuf, const char *name);

struct wf_provider_ops {
    int (*access)(void *ud, const char *path, int mode);
    int (*getattr)(void *ud, const char *path, struct stat *st);
    /* Writes at most size bytes (no terminator needed); returns the length. */
    int (*readlink)(void *ud, const char *path, char *buf, size_t size);
    int (*symlink)(void *ud, const char *target, const char *linkpath);
    int (*link)(void *ud, const char *oldpath, const char *newpath);
    int (*rename)(void *ud, const char *oldpath, const char *newpath, unsigned int flags);
    int (*chmod)(void *ud, const char *path, mode_t mode);
    int (*chown)(void *ud, const char *path, uid_t uid, gid_t gid);
    int (*truncate)(void *ud, const char *path, off_t size, uint64_t fh);
    int (*fsync)(void *ud, const char *path, int datasync, uint64_t fh);
    int (*open)(void *ud, const char *path, int flags, uint64_t *fh);
    int (*mknod)(void *ud, const char *path, mode_t mode, dev_t rdev);
    int (*create)(void *ud, const char *path, mode_t mode, uint64_t *fh);
    int (*release)(void *ud, const char *path, uint64_t fh);
    int (*unlink)(void *ud, const char *path);
    /* Returns bytes read (0 at end of file). */
    int (*read)(void *ud, const char *path, char *buf, size_t size, off_t offset, uint64_t fh);
    /* Returns bytes written. */
    int (*write)(void *ud, const char *path, const char *buf, size_t size, off_t offset, uint64_t fh);
    int (*mkdir)(void *ud, const char *path, mode_t mode);
    int (*readdir)(void *ud, const char *path, wf_dir_filler filler, void *dirbuf);
    int (*rmdir)(void *ud, const char *path);
    int (*statfs)(void *ud, const char *path, struct statvfs *st);
    /* tv[0] = atime, tv[1] = mtime; tv_nsec may be UTIME_NOW / UTIME_OMIT. */
    int (*utimens)(void *ud, const char *path, const struct timespec tv[2], uint64_t fh);
    /* Called when the connection to the service ends: drop every open handle. */
    void (*disconnected)(void *ud);
    /* Optional (added in 0.2; the struct grew): the attributes of the open
     * file fh, also when its name is gone (fstat after unlink). NULL: the
     * service's request is answered by path with getattr. */
    int (*fgetattr)(void *ud, const char *path, struct stat *st, uint64_t fh);
};

struct wf_provider_config {
    const char *url;       /* ws://host:port/path or wss://... (required) */
    const char *ca_path;   /* PEM file of trusted CAs for wss (NULL: system store) */
    const char *token;     /* sent in X-Auth-Token and answered to getcreds (NULL: none) */
    int reconnect;         /* WF_RECONNECT..., or 0: finish when the connection fails or ends */
    int verbose;           /* nonzero: log each request */
};

/* Values of wf_provider_config.reconnect (any other nonzero value counts as
 * WF_RECONNECT). After a lost connection the first attempt is made at once,
 * then with a capped backoff. */
#define WF_RECONNECT 1        /* retry, but finish on a permanent refusal (token, origin, TLS) */
#define WF_RECONNECT_ALWAYS 2 /* retry even after a permanent refusal */

struct wf_provider;

/* What a provider is doing; see wf_provider_get_status(). */
enum wf_provider_state {
    WF_PROVIDER_IDLE,       /* not started */
    WF_PROVIDER_CONNECTING, /* an attempt is under way */
    WF_PROVIDER_CONNECTED,  /* serving the service */
    WF_PROVIDER_WAITING,    /* the last attempt failed or the connection ended; retrying later */
    WF_PROVIDER_STOPPED,    /* finished (stopped, or given up) */
};

struct wf_provider_status {
    enum wf_provider_state state;
    /* Why the last attempt or connection ended: a refusal code of the service
     * (4401 token, 4403 origin, 4408 auth timeout, 4409 busy, 4429 backoff,
     * 4503 overload; these HTTP statuses before the handshake are given as
     * 4000 + status), another close code (1000, 1001, ...), or 0 when no code
     * was received (reason then says what happened). */
    int close_code;
    int permanent;          /* nonzero: the same settings cannot succeed */
    /* The cause in words ("" before the first failure). Stays valid until the
     * next call of wf_provider_service()/run()/destroy(). */
    const char *reason;
    unsigned retry_in_ms;   /* WAITING: the next attempt is due in about this long */
    unsigned connections;   /* connections that counted (served a request or lasted 1 s) */
    unsigned files_open;    /* files the service holds open on this connection */
    uint64_t bytes_served;  /* file bytes read by the service, since create */
    uint64_t bytes_received;/* file bytes written by the service, since create */
};

/* Fills *status. WF_EINVAL for NULL. Call from the thread that runs the provider. */
WF_API int wf_provider_get_status(const struct wf_provider *p, struct wf_provider_status *status);

/* Asked for a token when the service requests credentials (getcreds) and the
 * config had none: writes a NUL-terminated token of at most size - 1 bytes
 * into buf and returns 0, or returns -1 to send none. Runs on the provider's
 * thread and may block (e.g. a terminal prompt); the answer is kept and sent
 * again on later connections, until the service rejects it (close code
 * 4401 / HTTP 401): then it is asked for again instead of giving up. */
typedef int (*wf_credentials_fn)(void *ud, char *buf, size_t size);

/* Sets (fn non-NULL) or clears the credentials handler. WF_EINVAL for NULL p. */
WF_API int wf_provider_set_credentials_handler(struct wf_provider *p, wf_credentials_fn fn, void *ud);

/* Returns NULL on invalid arguments (ops, config or config->url NULL) or no memory.
 * The strings in config are copied. */
WF_API struct wf_provider *wf_provider_create(const struct wf_provider_ops *ops, void *ud,
                                              const struct wf_provider_config *config);

/* Connects and serves until wf_provider_stop() (returns WF_SUCCESS), or, without
 * reconnect, until the connection fails or ends (returns WF_ECONNECT / WF_ETLS),
 * or until a permanent refusal (WF_EREFUSED, unless WF_RECONNECT_ALWAYS).
 * A stop while connected first sends a WebSocket close frame with code 1000
 * (normal closure), so the service ends the session at once. */
WF_API int wf_provider_run(struct wf_provider *p);

/* One bounded step for callers with their own loop: waits at most timeout_ms.
 * Returns WF_SUCCESS while running, 1 once finished, or an error. */
WF_API int wf_provider_service(struct wf_provider *p, int timeout_ms);

/* Asks a running provider to finish. Safe from signal handlers and other threads.
 * Returns WF_EINVAL for NULL. Calling it twice is harmless. */
WF_API int wf_provider_stop(struct wf_provider *p);

WF_API void wf_provider_destroy(struct wf_provider *p);

#ifdef __cplusplus
}
#endif
#endif
