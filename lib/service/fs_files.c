/* FUSE operations on open files: open, create, read, write, fsync, flush,
 * release. A file's requests carry its provider handle (op->handle points
 * at it), so a resumed session sends the re-opened file's new handle.
 *
 * Write-behind: the kernel sends one write at a time per writer and waits
 * for its answer, so a write that waited for the provider would cost a
 * round trip each. Writes are answered as soon as they are queued, up to
 * WF_WRITE_BEHIND_MAX bytes not yet confirmed; a write beyond that is sent
 * too, and answered as soon as an earlier one is confirmed and makes room
 * (not when its own answer comes: that would let the link run dry every
 * window). The provider still gets them in order, before anything sent
 * later. A failure is kept in the file and reported by the next write,
 * fsync or close (flush waits for the pending writes), the way NFS reports
 * a failed write-behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "prefetch.h"
#include "proto/wf_convert.h"
#include "util/wf_log.h"

/* A re-open after a resume must never create or truncate. */
#define WF_REOPEN_DROP (O_CREAT | O_EXCL | O_TRUNC)

/* Written bytes answered early but not yet confirmed (all files together).
 * With the write waiting for room this keeps two 512 KiB requests in
 * flight, more than the bandwidth-delay product of links up to 1 Gbit/s at
 * a few ms or 50 Mbit/s at 50 ms; 1 MiB measured no faster on any of them
 * and cost the service 0.5-1 MiB more at its peak (bench/run --link,
 * docs/performance.md). */
#define WF_WRITE_BEHIND_MAX (512u * 1024u)

static bool writable(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY;
}

/* The first failure of a write answered early, once. */
static int take_write_error(struct wf_file *f)
{
    int err = f->write_error;
    f->write_error = 0;
    return err;
}
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
    /* flush has no request in the protocol: only a writer's close needs it,
     * to wait for its writes and report their failure */
    op->u.open.fi.noflush = !writable(fi->flags);
    if (fi->flags & O_TRUNC) {
        wf_prefetch_invalidate(s, ino);
        wf_nodes_changed_here(&s->nodes, ino);
    }
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
    f->create_parent = op->parent;
    f->create_name = op->name;
    struct wf_msg m = { .type = WF_GETATTR };
    fs_send(s, op, &m, op->parent, op->name, fs_entry_done);
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
    struct wf_op *op = fs_new_op(req, 0, parent, name);
    if (!op)
        return;
    op->u.entry.fi = *fi;
    op->u.entry.fi.noflush = !writable(fi->flags);
    struct wf_msg m = { .type = WF_CREATE, .mode = wf_mode_to_wire(mode) };
    fs_set_creator(svc(req), req, &m);
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
    s->bytes_read += n;
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

static void drain_parked(struct wf_service *s, struct wf_file *f);

/* Ops waiting outside the request table (writes for room, flush/fsync for
 * a file's writes) form singly linked lists through parked_next, in order. */
static void park(struct wf_op **list, struct wf_op *op)
{
    while (*list)
        list = &(*list)->parked_next;
    *list = op;
}

/* Takes op out of list; false if it was not there. */
static bool unpark(struct wf_op **list, struct wf_op *op)
{
    for (; *list; list = &(*list)->parked_next) {
        if (*list == op) {
            *list = op->parked_next;
            op->parked_next = NULL;
            return true;
        }
    }
    return false;
}

/* Answers writes waiting for room, in order, while there is room. */
static void answer_waiting_writes(struct wf_service *s)
{
    struct wf_op *op;
    while ((op = s->write_waiters) && s->write_behind_bytes + op->u.io.size <= WF_WRITE_BEHIND_MAX) {
        s->write_waiters = op->parked_next;
        op->parked_next = NULL;
        op->u.io.answered = true;
        s->write_behind_bytes += op->u.io.size;
        op_reply_write(op, op->u.io.size);
    }
}

static void write_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    size_t size = op->u.io.size;
    if (resp && (size_t)err > size)
        err = -EIO;
    if (err > 0)
        s->bytes_written += (size_t)err;
    if (!op->u.io.behind || !op->u.io.answered) { /* the caller still waits: the answer is its own */
        if (op->u.io.behind)
            unpark(&s->write_waiters, op);
        if (err < 0)
            op_reply_err(op, err);
        else
            op_reply_write(op, (size_t)err);
    } else {
        s->write_behind_bytes -= size;
        if (err >= 0 && (size_t)err < size)
            err = -EIO; /* the caller was told all of it was written */
        struct wf_file *f = op->u.io.file;
        if (err < 0 && f->write_error == 0) {
            wf_warn("a write answered early failed (%s): reported at the next write, fsync or close",
                    strerror(-err));
            f->write_error = err;
        }
    }
    if (op->u.io.behind) {
        struct wf_file *f = op->u.io.file;
        if (--f->writes_pending == 0)
            drain_parked(s, f);
        answer_waiting_writes(s);
        wf_file_unhold(s, f);
    }
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_file *f = usable_file(req, fi);
    if (!f)
        return;
    if (f->write_error) {
        fuse_reply_err(req, -take_write_error(f));
        return;
    }
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->u.io.size = size;
    op->u.io.file = f;
    op->handle = &f->handle;
    if (f->flags & O_APPEND)
        op->flags |= WF_OP_NO_REPEAT; /* sent twice, it would append twice */
    wf_prefetch_invalidate(s, ino);
    wf_nodes_changed_here(&s->nodes, ino);
    struct wf_msg m = { .type = WF_WRITE, .data = { buf, (uint32_t)size }, .offset = (uint64_t)off };
    if (s->state == WF_SESSION_ACTIVE) { /* while held, writes wait for their own answers */
        op->u.io.behind = true;
        f->writes_pending++;
        wf_file_hold(f);
        park(&s->write_waiters, op);
        answer_waiting_writes(s); /* at once if there is room */
    }
    fs_send(s, op, &m, ino, NULL, write_done);
}

static void fsync_send(struct wf_service *s, struct wf_op *op)
{
    struct wf_msg m = { .type = WF_FSYNC, .datasync = op->u.sync.datasync };
    fs_send(s, op, &m, op->ino, NULL, fs_status_done);
}

/* Flush or fsync, once no write of the file is pending. */
static void finish_sync(struct wf_service *s, struct wf_op *op)
{
    struct wf_file *f = op->u.sync.file;
    int err = take_write_error(f);
    if (err < 0 || !op->u.sync.fsync) {
        op_reply_err(op, err);
        wf_op_finish(op);
    } else {
        fsync_send(s, op);
    }
}

static void drain_parked(struct wf_service *s, struct wf_file *f)
{
    struct wf_op *list = f->parked;
    f->parked = NULL;
    while (list) {
        struct wf_op *op = list;
        list = op->parked_next;
        op->parked_next = NULL;
        op->sync_parked = false;
        finish_sync(s, op);
        wf_file_unhold(s, f);
    }
}

void fs_cancel_parked(struct wf_service *s, struct wf_op *op)
{
    struct wf_file *f = op->sync_parked ? op->u.sync.file : NULL;
    if (!f || !unpark(&f->parked, op))
        return;
    op->sync_parked = false;
    op_reply_err(op, EINTR);
    wf_op_finish(op);
    wf_file_unhold(s, f);
}

static void sync_file(fuse_req_t req, fuse_ino_t ino, struct wf_file *f, bool fsync, bool datasync)
{
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->handle = &f->handle;
    op->u.sync.file = f;
    op->u.sync.fsync = fsync;
    op->u.sync.datasync = datasync;
    if (f->writes_pending == 0) {
        finish_sync(svc(req), op);
        return;
    }
    park(&f->parked, op);
    op->sync_parked = true;
    wf_file_hold(f);
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_file *f = file_of(fi);
    if (!f)
        fuse_reply_err(req, 0);
    else
        sync_file(req, ino, f, false, false);
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    struct wf_file *f = usable_file(req, fi);
    if (f)
        sync_file(req, ino, f, true, datasync != 0);
}
