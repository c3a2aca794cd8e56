/* Service internals shared by the FUSE side (fs_ops.c), the request table
 * (requests.c) and the WebSocket side (service.c). */
#ifndef WF_SERVICE_INT_H
#define WF_SERVICE_INT_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>

#include "nodes.h"
#include "proto/wf_msg.h"
#include "transport/wf_conn.h"
#include "webfuse/service.h"

struct wf_service;
struct wf_op;
struct wf_prefetch;

/* Called once per protocol request: resp is the decoded response, or NULL
 * with err < 0 (timeout, provider gone, bad response). For a response,
 * err holds its result translated to a host value (negated errno or >= 0). */
typedef void (*wf_op_done)(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);

/* Open files and directories are linked into the service, so what the
 * kernel still holds at unmount (it sends no release then) is freed too. */
struct wf_open {
    struct wf_open *prev, *next;
    bool is_dir;
};

struct wf_dir {
    struct wf_open link; /* first member */
    char *names;           /* NUL-separated */
    struct wf_attr *attrs; /* one per name when the provider sent them (readdir extension) */
    size_t count;
    bool loaded;
};

/* An open file: the provider's handle and the connection it belongs to, so a
 * handle never reaches a later provider. */
struct wf_file {
    struct wf_open link; /* first member */
    uint64_t handle;
    unsigned generation;
    fuse_ino_t ino;
    struct wf_prefetch *pf; /* read sent with the open, for the first read */
};

/* One FUSE operation in flight; may take several protocol requests. */
struct wf_op {
    fuse_req_t req;
    uint32_t id;
    uint8_t type;
    wf_op_done done;
    lws_usec_t deadline;
    struct wf_op *hash_next, *prev, *next; /* by id; by deadline */
    /* context of the operation */
    fuse_ino_t ino, parent;
    char *name;
    struct fuse_file_info fi;
    struct stat attr;
    int to_set, step;
    uint64_t handle;
    size_t size;
    off_t off;
    struct wf_dir *dir;
    struct wf_prefetch *pf;
};

#define WF_OP_BUCKETS 1024u

struct wf_service {
    struct wf_service_config cfg;
    char *mountpoint;
    struct fuse_session *se;
    struct fuse_buf fbuf;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws *fuse_wsi;
    struct lws_http_mount *http_mount;
    int port;
    volatile sig_atomic_t stop;
    time_t started;

    struct wf_nodes nodes;
    struct wf_open open_items; /* list head: open files and directories */
    double attr_timeout, entry_timeout, negative_timeout;

    /* the attached provider, if any */
    struct wf_conn conn;
    bool attached;   /* connection open */
    bool ready;      /* authenticated: filesystem requests may flow */
    unsigned generation;
    unsigned timeouts_in_row;
    struct lws *handshake_authenticated; /* token accepted in the header */

    /* outstanding requests */
    struct wf_op *ops[WF_OP_BUCKETS];
    struct wf_op *oldest, *newest;
    uint32_t next_id;
    lws_sorted_usec_list_t timeout_sul;
    lws_sorted_usec_list_t readahead_sul; /* runs once after FUSE init */
};

/* requests.c */
struct wf_op *wf_op_new(fuse_req_t req);
void wf_op_free(struct wf_op *op);
/* Sends m for op (m->id assigned here). On failure op->done runs with the error. */
void wf_send(struct wf_service *s, struct wf_op *op, struct wf_msg *m, wf_op_done done);
void wf_dispatch_response(struct wf_service *s, const uint8_t *buf, size_t len);
void wf_fail_all(struct wf_service *s, int err);

/* fs_ops.c */
extern const struct fuse_lowlevel_ops wf_fs_ops;
void wf_free_open_items(struct wf_service *s);
void wf_service_initialized(struct wf_service *s);
void wf_provider_lost(struct wf_service *s);

/* service.c */
void wf_service_close_provider(struct wf_service *s, const char *why);

#endif
