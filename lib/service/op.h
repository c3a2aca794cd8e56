/* One FUSE operation in flight (or one internal request: release, prefetch,
 * getcreds, re-open). An op may take several protocol requests in a row; its
 * completion callback runs once per request.
 *
 * Who frees an op: nobody by hand. The request table frees it after the
 * completion returns, unless the completion sent it again. Replies go
 * through op_reply_*(), which reply at most once; an op freed without a
 * reply answers EIO, so no caller waits forever. */
#ifndef WF_OP_H
#define WF_OP_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/wf_msg.h"

struct wf_service;
struct wf_op;
struct wf_file;
struct wf_dir;
struct wf_prefetch;
struct wf_outmsg;

/* Called once per protocol request: resp is the decoded response, or NULL
 * with err < 0 (timeout, provider gone, bad response). For a response, err
 * holds its result as a host value (negated errno or >= 0). */
typedef void (*wf_op_done)(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);

/* op->flags */
#define WF_OP_CONTROL 0x1u      /* goes out before the provider is admitted or resumed (getcreds, re-open) */
#define WF_OP_SESSION_ONLY 0x2u /* meaningless to another provider (release): failed, not held, when the provider goes */
#define WF_OP_NO_REPEAT 0x4u    /* must not reach a provider twice (an O_APPEND write): failed, not held, if sent when the provider goes */
#define WF_OP_RESENT 0x8u       /* was sent to a provider that went away before answering: it may have been carried out */
#define WF_OP_QUIET 0x10u       /* a heartbeat: its timeout is neither logged nor counted towards a stall */

struct wf_op {
    fuse_req_t req;       /* NULL for internal requests, and once replied */
    unsigned flags;
    wf_op_done done;

    /* request table bookkeeping (requests.c) */
    uint32_t id;
    uint8_t type;
    bool queued;          /* in the table or held; not freed after its completion */
    unsigned in_done;     /* completions running (a completion may send again) */
    lws_usec_t deadline;
    struct wf_op *hash_next, *prev, *next;
    struct wf_outmsg *wire; /* the encoded request, kept until answered so it can go out again */
    struct wf_op *parked_next; /* flush/fsync waiting on a file (not while queued) */
    bool sync_parked;       /* a flush/fsync in its file's parked list (outside the union:
                             * on_interrupt asks any op) */
    const uint64_t *handle; /* request on an open file: its current handle goes out
                             * (WF_NO_HANDLE there: unusable, the request fails with EIO) */

    /* what the operation is about */
    fuse_ino_t ino, parent;
    char *name;
    char *newname; /* rename */

    union {
        struct {                    /* lookup, mknod, mkdir, symlink, link, create */
            struct fuse_file_info fi;
            struct wf_file *created; /* create: the new file, given back if the entry fails */
            bool negative_ok;        /* lookup: ENOENT becomes a cacheable negative entry */
        } entry;
        struct {                    /* setattr: a chain of requests */
            struct stat attr;
            int to_set;
            int next_step;
            struct wf_file *file;   /* ftruncate, futimens: by its handle */
        } setattr;
        struct {
            fuse_ino_t newparent;
            unsigned flags;
        } rename;
        struct {
            struct fuse_file_info fi;
            struct wf_prefetch *pf;
        } open;
        struct {
            size_t size;
            struct wf_file *file;
            bool behind;            /* write-behind: counted in the file's pending writes */
            bool answered;          /* ... and already answered to the kernel */
        } io;                       /* read, write */
        struct {                    /* flush, fsync parked until the file's writes are answered */
            struct wf_file *file;
            bool fsync, datasync;
        } sync;
        struct {
            struct wf_dir *dir;
            size_t size;
            off_t off;
            bool plus;
        } list;
        struct {
            struct wf_prefetch *pf;
        } prefetch;
        struct {                    /* getattr by the handle of an open file found by inode */
            struct wf_file *held;   /* kept (wf_file_hold) until the answer */
        } getattr;
        struct {                    /* re-open of one file after a resume */
            struct wf_file *file;
            unsigned epoch;
        } reopen;
    } u;
};

struct wf_op *wf_op_new(fuse_req_t req);
/* Frees op and what it owns; replies EIO first if the kernel still waits.
 * Only the request table and wf_op_finish() call it. */
void wf_op_free(struct wf_op *op);
/* For an op that ends without (another) request, after its reply: frees it
 * unless the request table still owns it. */
void wf_op_finish(struct wf_op *op);

/* Replies to the kernel (once; later calls and internal ops do nothing).
 * They return fuse_reply_*'s result: non-zero when the kernel did not take it. */
int op_reply_err(struct wf_op *op, int err); /* err: errno value or negated errno */
int op_reply_entry(struct wf_op *op, const struct fuse_entry_param *e);
int op_reply_create(struct wf_op *op, const struct fuse_entry_param *e, const struct fuse_file_info *fi);
int op_reply_attr(struct wf_op *op, const struct stat *st, double timeout);
int op_reply_open(struct wf_op *op, const struct fuse_file_info *fi);
int op_reply_buf(struct wf_op *op, const void *buf, size_t len);
int op_reply_write(struct wf_op *op, size_t count);
int op_reply_readlink(struct wf_op *op, const char *target);
int op_reply_statfs(struct wf_op *op, const struct statvfs *st);

#endif
