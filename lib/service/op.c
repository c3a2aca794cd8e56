/* Operation records and the one-reply-only helpers (see op.h). */
#include "op.h"

#include <errno.h>
#include <stdlib.h>

#include "transport/wf_conn.h"
#include "util/wf_log.h"

struct wf_op *wf_op_new(fuse_req_t req)
{
    struct wf_op *op = calloc(1, sizeof *op);
    if (op)
        op->req = req;
    return op;
}

void wf_op_free(struct wf_op *op)
{
    if (!op)
        return;
    if (op->req) {
        wf_warn("request %s finished without a reply: answering EIO", wf_type_name(op->type));
        op_reply_err(op, EIO);
    }
    free(op->newname);
    wf_outmsg_unref(op->wire);
    free(op->name);
    free(op);
}

void wf_op_finish(struct wf_op *op)
{
    if (!op->queued && op->in_done == 0)
        wf_op_free(op);
}

/* Takes the request out of op: the kernel gets exactly one reply. */
static fuse_req_t take(struct wf_op *op)
{
    fuse_req_t req = op->req;
    op->req = NULL;
    return req;
}

int op_reply_err(struct wf_op *op, int err)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_err(req, err < 0 ? -err : err) : 0;
}

int op_reply_entry(struct wf_op *op, const struct fuse_entry_param *e)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_entry(req, e) : -1;
}

int op_reply_create(struct wf_op *op, const struct fuse_entry_param *e, const struct fuse_file_info *fi)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_create(req, e, fi) : -1;
}

int op_reply_attr(struct wf_op *op, const struct stat *st, double timeout)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_attr(req, st, timeout) : -1;
}

int op_reply_open(struct wf_op *op, const struct fuse_file_info *fi)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_open(req, fi) : -1;
}

int op_reply_buf(struct wf_op *op, const void *buf, size_t len)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_buf(req, buf, len) : -1;
}

int op_reply_write(struct wf_op *op, size_t count)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_write(req, count) : -1;
}

int op_reply_readlink(struct wf_op *op, const char *target)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_readlink(req, target) : -1;
}

int op_reply_statfs(struct wf_op *op, const struct statvfs *st)
{
    fuse_req_t req = take(op);
    return req ? fuse_reply_statfs(req, st) : -1;
}
