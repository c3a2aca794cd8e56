/* The service's state, shared by the loop (service.c), the session
 * (session.c) and the FUSE operations (fs_*.c). Dependencies run one way:
 * service.c -> session.c, heartbeat.c -> fs_*.c / open_files.c -> requests.c -> wf_conn. */
#ifndef WF_SERVICE_INT_H
#define WF_SERVICE_INT_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

#include "nodes.h"
#include "open_files.h"
#include "requests.h"
#include "transport/wf_conn.h"
#include "webfuse/service.h"

/* A session is the time files stay open on a provider. A lost connection
 * does not end it at once: requests are held for the grace period, and a
 * provider admitted within it resumes the session (see session.c). */
enum wf_session_state {
    WF_SESSION_NONE,     /* no provider: the mount shows an empty root */
    WF_SESSION_ACTIVE,   /* a provider answers */
    WF_SESSION_HOLDING,  /* provider lost: requests wait for the next one */
    WF_SESSION_RESUMING, /* a new provider re-opens the open files, then gets the held requests */
};

struct wf_service {
    struct wf_service_config cfg;
    char *mountpoint;
    struct fuse_session *se;
    struct fuse_buf fbuf;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws *fuse_wsi;
    struct lws_http_mount *http_mount;
    struct wf_listener *listener; /* listener.c */
    struct wf_admission *adm;     /* admission.c; NULL without an authenticator */
    int port;
    volatile sig_atomic_t stop;
    time_t started;
    lws_sorted_usec_list_t readahead_sul; /* runs once after FUSE init */

    struct wf_nodes nodes;
    struct wf_open open_items; /* list head: open files and directories */
    double attr_timeout, entry_timeout, negative_timeout;
    uid_t root_uid;            /* owner of the provided tree's root (idmap=user) */
    gid_t root_gid;
    bool root_owner_known;

    /* the provider connection (service.c) */
    struct wf_conn conn;
    struct lws *provider;        /* its wsi while connected, else NULL */
    bool closed_on_purpose;      /* it sent a normal close frame */
    time_t connected_at;
    uint64_t bytes_read, bytes_written; /* file data it served on this connection */

    /* the session (session.c) */
    enum wf_session_state state;
    unsigned generation;      /* sessions ended so far: tags directory listings */
    unsigned resume_epoch;    /* resumes so far: late re-open answers are ignored */
    size_t reopen_pending;
    int resume_timeout_secs;
    lws_sorted_usec_list_t grace_sul;

    struct wf_requests requests;
    lws_sorted_usec_list_t heartbeat_sul; /* heartbeat.c */
    size_t write_behind_bytes; /* written data answered but not yet confirmed by the provider */
    struct wf_op *write_waiters; /* sent writes waiting for room to be answered, in order */
};

/* fs_ops.c */
extern const struct fuse_lowlevel_ops wf_fs_ops;

/* mount.c: the FUSE mount itself */
int wf_mount(struct wf_service *s);
void wf_unmount(struct wf_service *s);
/* After FUSE init (the kernel applies its settings only after the reply). */
void wf_mount_initialized(struct wf_service *s);

#endif
