/* FUSE operations on open files: open, create, read, write, fsync, flush,
 * release. A file's requests carry its provider handle (op->handle points
 * at it), so a resumed session sends the re-opened file's new handle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "prefetch.h"
#include "proto/wf_convert.h"
#include "util/wf_log.h"

/* A re-open after a resume must never create or truncate. */
#define WF_REOPEN_DROP (O_CREAT | O_EXCL | O_TRUNC)

static void open_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_prefetch *pf = op->u.open.pf;
    op->u.open.pf = NULL;
    struct wf_file *f = resp ? wf_file_new(s, op->ino, resp->handle, op->u.open.fi.flags & ~WF_REOPEN_DROP) : NULL;
    if (!f) {
        wf_prefetch_drop(pf);
        op_reply_err(op, resp ? ENOMEM : -err);
        return;
    }
    f->pf = pf;
    op->u.open.fi.fh = (uintptr_t)f;
    if (op_reply_open(op, &op->u.open.fi) != 0)
        wf_file_close(s, f); /* the caller is gone */
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->u.open.fi = *fi;
    op->u.open.fi.noflush = 1; /* flush has no request in the protocol: spare the kernel asking */
    if (fi->flags & O_TRUNC)
        wf_prefetch_invalidate(s, ino);
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (n && n->small_file && (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC) &&
        s->state == WF_SESSION_ACTIVE)
        op->u.open.pf = wf_prefetch_start(s, ino); /* the two requests may be answered in any order */
    struct wf_msg m = { .type = WF_OPEN, .flags = wf_oflags_to_wire(fi->flags) };
    fs_send(s, op, &m, ino, NULL, open_done);
}

static void create_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *f = resp ? wf_file_new(s, 0, resp->handle, op->u.entry.fi.flags & ~WF_REOPEN_DROP) : NULL;
    if (!f) {
        op_reply_err(op, resp ? ENOMEM : -err);
        return;
    }
    op->u.entry.created = f;
    op->u.entry.fi.fh = (uintptr_t)f;
    struct wf_msg m = { .type = WF_GETATTR };
    fs_send(s, op, &m, op->parent, op->name, fs_entry_done);
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
    struct wf_op *op = fs_new_op(req, 0, parent, name);
    if (!op)
        return;
    op->u.entry.fi = *fi;
    op->u.entry.fi.noflush = 1;
    struct wf_msg m = { .type = WF_CREATE, .mode = wf_mode_to_wire(mode) };
    fs_send(svc(req), op, &m, parent, name, create_done);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    wf_file_close(svc(req), file_of(fi));
    fuse_reply_err(req, 0);
}

void fs_read_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (!resp) {
        op_reply_err(op, err);
        return;
    }
    size_t n = resp->data.len;
    if ((size_t)err < n)
        n = (size_t)err;
    if (n > op->u.io.size)
        n = op->u.io.size; /* never hand the kernel more than it asked for */
    op_reply_buf(op, resp->data.data, n);
}

/* The open file of fi if its handle is usable; else replies EIO. */
static struct wf_file *usable_file(fuse_req_t req, struct fuse_file_info *fi)
{
    struct wf_file *f = file_of(fi);
    if (!f || f->handle == WF_NO_HANDLE) {
        fuse_reply_err(req, EIO);
        return NULL;
    }
    return f;
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_file *f = usable_file(req, fi);
    if (!f)
        return;
    struct wf_prefetch *pf = f->pf; /* good for the first read only */
    f->pf = NULL;
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op) {
        wf_prefetch_drop(pf);
        return;
    }
    op->u.io.size = size;
    op->handle = &f->handle;
    if (pf && off == 0) {
        wf_prefetch_serve(s, op, pf);
        return;
    }
    wf_prefetch_drop(pf);
    struct wf_msg m = { .type = WF_READ, .length = (uint32_t)size, .offset = (uint64_t)off };
    fs_send(s, op, &m, ino, NULL, fs_read_done);
}

static void write_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (!resp)
        op_reply_err(op, err);
    else if ((size_t)err > op->u.io.size)
        op_reply_err(op, EIO);
    else
        op_reply_write(op, (size_t)err);
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_file *f = usable_file(req, fi);
    struct wf_op *op = f ? fs_new_op(req, ino, 0, NULL) : NULL;
    if (!op)
        return;
    op->u.io.size = size;
    op->handle = &f->handle;
    wf_prefetch_invalidate(s, ino);
    struct wf_msg m = { .type = WF_WRITE, .data = { buf, (uint32_t)size }, .offset = (uint64_t)off };
    fs_send(s, op, &m, ino, NULL, write_done);
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, 0); /* no such request in the protocol; release follows */
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    struct wf_file *f = usable_file(req, fi);
    struct wf_op *op = f ? fs_new_op(req, ino, 0, NULL) : NULL;
    if (!op)
        return;
    op->handle = &f->handle;
    struct wf_msg m = { .type = WF_FSYNC, .datasync = datasync != 0 };
    fs_send(svc(req), op, &m, ino, NULL, fs_status_done);
}
