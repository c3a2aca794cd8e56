/* FUSE low-level operations -> webfuse2 requests: the operation table,
 * lookups and everything that makes or removes a name, and attributes.
 * Open files are in fs_files.c, directory listings in fs_dirs.c.
 *
 * Every handler builds a request, sends it and returns at once; its
 * completion (*_done) replies to the kernel when the provider answers or the
 * request fails. Nothing here blocks, so one thread serves any number of
 * concurrent callers. Completions never free their op (see op.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "prefetch.h"
#include "proto/wf_convert.h"
#include "util/wf_compat.h"
#include "util/wf_log.h"

/* Background (asynchronous) requests the kernel may have out at once: see fs_init. */
#define WF_MAX_BACKGROUND 64u

/* The caller got a signal (the kernel sends FUSE_INTERRUPT; a fatal one
 * cannot end a request already handed to us). A request held while the
 * provider is away, or a close or fsync waiting for held writes, would keep
 * the caller for the whole grace period: it ends now with EINTR. Requests
 * on their way to a provider are answered as usual, within --wf-timeout. */
static void on_interrupt(fuse_req_t req, void *data)
{
    struct wf_service *s = fuse_req_userdata(req);
    struct wf_op *op = data;
    if (wf_requests_cancel_held(&s->requests, op, -EINTR) != 0)
        fs_cancel_parked(s, op);
}

struct wf_op *fs_new_op(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
    struct wf_op *op = wf_op_new(req);
    if (!op || (name && !(op->name = strdup(name)))) {
        if (op)
            op->req = NULL; /* replied below */
        wf_op_free(op);
        fuse_reply_err(req, ENOMEM);
        return NULL;
    }
    op->ino = ino;
    op->parent = parent;
    fuse_req_interrupt_func(req, on_interrupt, op); /* op outlives the request: replied before freed */
    return op;
}

void fs_send(struct wf_service *s, struct wf_op *op, struct wf_msg *m, fuse_ino_t ino, const char *name,
             wf_op_done done)
{
    /* Requests on an open handle still reach an unlinked file. */
    int by_handle = m->type == WF_READ || m->type == WF_WRITE || m->type == WF_FSYNC ||
                    ((m->type == WF_TRUNCATE || m->type == WF_UTIMENS) && m->handle != WF_NO_HANDLE) ||
                    (m->type == WF_GETATTR && (m->ext & WF_EXT_HANDLE));
    char path[WF_MAX_PATH + 1];
    int len = wf_nodes_path(&s->nodes, ino, name, path, sizeof path, by_handle);
    if (len < 0) {
        op->done = done;
        op->type = m->type;
        wf_requests_fail(&s->requests, op, len);
        return;
    }
    m->path.data = path;
    m->path.len = (uint32_t)len;
    wf_requests_send(&s->requests, op, m, done);
}

void fs_request(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name, struct wf_msg *m,
                wf_op_done done)
{
    struct wf_op *op = fs_new_op(req, ino, parent, name);
    if (op)
        fs_send(svc(req), op, m, name ? parent : ino, name, done);
}

void fs_status_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    op_reply_err(op, err < 0 ? -err : 0);
}

/* ---- attributes ---- */

/* Owners and modes as the owner mapping (-o uid=, gid=, umask=, idmap=user)
 * says they are to be seen. */
static void map_owner(const struct wf_service *s, struct stat *st)
{
    const struct wf_service_config *c = &s->cfg;
    if (c->idmap_user && s->root_owner_known) {
        if (st->st_uid == s->root_uid)
            st->st_uid = getuid();
        if (st->st_gid == s->root_gid)
            st->st_gid = getgid();
    }
    if (c->set_uid)
        st->st_uid = c->uid;
    if (c->set_gid)
        st->st_gid = c->gid;
    if (c->set_umask)
        st->st_mode &= ~(mode_t)(c->umask & 0777);
}

void fs_fill_stat(const struct wf_service *s, struct stat *st, const struct wf_attr *a, fuse_ino_t ino)
{
    memset(st, 0, sizeof *st);
    /* The provider's inode number where it reports one: all names of a
     * hard-linked file show the same number. */
    st->st_ino = a->ino ? a->ino : ino;
    st->st_mode = wf_mode_from_wire(a->mode);
    st->st_nlink = a->nlink;
    st->st_uid = a->uid;
    st->st_gid = a->gid;
    st->st_rdev = a->rdev;
    st->st_size = (off_t)a->size;
    st->st_blocks = (blkcnt_t)a->blocks;
    st->st_blksize = 4096;
    st->st_atim.tv_sec = (time_t)a->atime.sec;
    st->st_atim.tv_nsec = a->atime.nsec;
    st->st_mtim.tv_sec = (time_t)a->mtime.sec;
    st->st_mtim.tv_nsec = a->mtime.nsec;
    st->st_ctim.tv_sec = (time_t)a->ctime.sec;
    st->st_ctim.tv_nsec = a->ctime.nsec;
    map_owner(s, st);
}

/* Attributes the kernel can take: a known file type, a size that fits off_t,
 * and a directory for the root (the kernel marks an inode with anything else
 * bad; for the root that lasts until remount). */
bool fs_attr_usable(fuse_ino_t ino, const struct wf_attr *a)
{
    mode_t type = wf_mode_from_wire(a->mode) & S_IFMT;
    if (a->size > (uint64_t)INT64_MAX)
        return false;
    if (ino == WF_ROOT_INO)
        return type == S_IFDIR;
    return type == S_IFREG || type == S_IFDIR || type == S_IFLNK || type == S_IFCHR ||
           type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK;
}

void fs_remember_attrs(struct wf_service *s, fuse_ino_t ino, const struct wf_attr *a)
{
    if (ino == WF_ROOT_INO) { /* the owner idmap=user maps */
        s->root_uid = a->uid;
        s->root_gid = a->gid;
        s->root_owner_known = true;
    }
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (!n)
        return;
    n->small_file = S_ISREG(wf_mode_from_wire(a->mode)) && a->size <= WF_PREFETCH_MAX;
    n->size = a->size;
    n->pino = a->ino;
    n->mtime_sec = a->mtime.sec;
    n->mtime_nsec = a->mtime.nsec;
}

/* A file with several names has one node per name here, so another name's
 * cached attributes (and pages) could go stale: such files (regular files,
 * fifos, sockets, symlinks; not directories) are not cached. */
double fs_attr_timeout(const struct wf_service *s, const struct wf_attr *a)
{
    return a->nlink > 1 && !S_ISDIR(wf_mode_from_wire(a->mode)) ? 0.0 : s->attr_timeout;
}

/* The root while no provider is attached: an empty directory, dated when
 * the service started. */
static void empty_root(const struct wf_service *s, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = s->started;
    st->st_ino = WF_ROOT_INO;
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    st->st_uid = getuid();
    st->st_gid = getgid();
}

static void attr_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (resp && !fs_attr_usable(op->ino, &resp->attr)) {
        wf_warn("provider sent unusable attributes (mode 0%o)", (unsigned)resp->attr.mode);
        op_reply_err(op, EIO);
    } else if (resp) {
        struct stat st;
        fs_remember_attrs(s, op->ino, &resp->attr);
        fs_fill_stat(s, &st, &resp->attr, op->ino);
        op_reply_attr(op, &st, fs_attr_timeout(s, &resp->attr));
    } else {
        op_reply_err(op, err);
    }
}

static void getattr_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    attr_done(s, op, resp, err);
    struct wf_file *f = op->u.getattr.held;
    if (f) {
        op->u.getattr.held = NULL;
        op->handle = NULL;
        wf_file_unhold(s, f); /* frees it if it was released meanwhile */
    }
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    if (fs_offline(s)) {
        struct stat st;
        empty_root(s, &st);
        if (ino == WF_ROOT_INO)
            fuse_reply_attr(req, &st, 0);
        else
            fuse_reply_err(req, ENOENT);
        return;
    }
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    struct wf_msg m = { .type = WF_GETATTR };
    /* fstat of a file whose name is gone: by the handle of an open file (the
     * kernel passes fi only in a few cases; fstat itself comes without) */
    struct wf_file *f = file_of(fi);
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (!f && n && n->unlinked)
        f = wf_open_find(s, ino);
    if (f && f->handle != WF_NO_HANDLE) {
        m.ext = WF_EXT_HANDLE;
        op->handle = &f->handle;
        /* a file found by inode is not the caller's: the kernel may release
         * it while this request is held, so the request keeps it */
        op->u.getattr.held = f;
        wf_file_hold(f);
    }
    fs_send(s, op, &m, ino, NULL, getattr_done);
}

static void set_time(struct wf_time *t, const struct timespec *ts, int set, int now)
{
    t->sec = 0;
    t->nsec = now ? UTIME_NOW : set ? (uint32_t)ts->tv_nsec : UTIME_OMIT;
    if (set && !now)
        t->sec = (uint64_t)ts->tv_sec;
}

/* setattr is a chain: chmod, chown, truncate, utimens (whichever are asked
 * for), then getattr for the reply. */
static void setattr_next(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err < 0) {
        op_reply_err(op, err);
        return;
    }
    const int set = op->u.setattr.to_set;
    const struct stat *attr = &op->u.setattr.attr;
    struct wf_msg m = { .type = WF_GETATTR };
    while (m.type == WF_GETATTR && op->u.setattr.next_step < 4) {
        switch (op->u.setattr.next_step++) {
        case 0:
            if (set & FUSE_SET_ATTR_MODE) {
                m.type = WF_CHMOD;
                m.mode = wf_mode_to_wire(attr->st_mode);
            }
            break;
        case 1:
            if (set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
                m.type = WF_CHOWN;
                m.uid = (set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uint32_t)-1;
                m.gid = (set & FUSE_SET_ATTR_GID) ? attr->st_gid : (uint32_t)-1;
            }
            break;
        case 2:
            if (set & FUSE_SET_ATTR_SIZE) {
                m.type = WF_TRUNCATE;
                m.size = (uint64_t)attr->st_size;
            }
            break;
        case 3:
            if (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
                m.type = WF_UTIMENS;
                set_time(&m.atime, &attr->st_atim, set & FUSE_SET_ATTR_ATIME, set & FUSE_SET_ATTR_ATIME_NOW);
                set_time(&m.mtime, &attr->st_mtim, set & FUSE_SET_ATTR_MTIME, set & FUSE_SET_ATTR_MTIME_NOW);
            }
            break;
        }
    }
    /* truncate and utimens go by the open file's handle when there is one,
     * and so does the closing getattr of a file whose name is gone
     * (ftruncate after unlink); the caller's fi outlives the request */
    struct wf_file *f = op->u.setattr.file;
    bool has_handle = f && f->handle != WF_NO_HANDLE;
    bool by_handle = has_handle && (m.type == WF_TRUNCATE || m.type == WF_UTIMENS);
    if (has_handle && m.type == WF_GETATTR) {
        const struct wf_node *n = wf_nodes_get(&s->nodes, op->ino);
        if (n && n->unlinked) {
            m.ext = WF_EXT_HANDLE;
            by_handle = true;
        }
    }
    op->handle = by_handle ? &f->handle : NULL;
    m.handle = by_handle ? f->handle : WF_NO_HANDLE;
    fs_send(s, op, &m, op->ino, NULL, m.type == WF_GETATTR ? attr_done : setattr_next);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->u.setattr.attr = *attr;
    op->u.setattr.to_set = to_set;
    op->u.setattr.file = file_of(fi);
    wf_prefetch_invalidate(s, ino);
    wf_nodes_changed_here(&s->nodes, ino);
    setattr_next(s, op, NULL, 0);
}

static void readlink_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    char *target = NULL;
    if (resp && (target = malloc((size_t)resp->path2.len + 1)) &&
        wf_str_copy(resp->path2, target, (size_t)resp->path2.len + 1) == 0)
        op_reply_readlink(op, target); /* no NUL inside, and terminated */
    else
        op_reply_err(op, resp ? EIO : -err);
    free(target);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct wf_msg m = { .type = WF_READLINK };
    fs_request(req, ino, 0, NULL, &m, readlink_done);
}

/* ---- entries: lookup and everything that creates a name ---- */

/* Replies with the entry; 0, or -1 when the kernel did not get it. */
static int reply_entry(struct wf_service *s, struct wf_op *op, const struct wf_attr *a)
{
    if (!fs_attr_usable(0, a)) {
        wf_warn("provider sent unusable attributes (mode 0%o)", (unsigned)a->mode);
        op_reply_err(op, EIO);
        return -1;
    }
    struct wf_node *n = wf_nodes_lookup(&s->nodes, op->parent, op->name);
    if (!n) {
        op_reply_err(op, ENOMEM);
        return -1;
    }
    fs_remember_attrs(s, n->ino, a);
    struct fuse_entry_param e = { .ino = n->ino, .attr_timeout = fs_attr_timeout(s, a),
                                  .entry_timeout = s->entry_timeout };
    fs_fill_stat(s, &e.attr, a, n->ino);
    struct wf_file *created = op->u.entry.created;
    if (created)
        wf_file_bind(s, created, n->ino); /* the node holds a's values now */
    int rc = created ? op_reply_create(op, &e, &op->u.entry.fi) : op_reply_entry(op, &e);
    if (rc != 0) {
        wf_nodes_forget(&s->nodes, n->ino, 1); /* the kernel did not take it */
        return -1;
    }
    return 0;
}

void fs_entry_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *created = op->u.entry.created;
    if (created)
        created->create_name = NULL; /* op->name goes with the op */
    if (resp) {
        if (reply_entry(s, op, &resp->attr) == 0)
            return;
    } else if (err == -ENOENT && op->u.entry.negative_ok) {
        /* negative entry: lets the kernel cache the absence */
        struct fuse_entry_param e = { .ino = 0, .entry_timeout = s->negative_timeout };
        op_reply_entry(op, &e);
        return;
    } else {
        op_reply_err(op, err);
    }
    if (created) /* a created file nobody got: give the handle back */
        wf_file_close(s, created);
}

void fs_set_creator(const struct wf_service *s, fuse_req_t req, struct wf_msg *m)
{
    const struct wf_service_config *c = &s->cfg;
    if (c->set_uid || c->set_gid)
        return; /* owners are forced on this mount: the provider's choice stands */
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    m->ext |= WF_EXT_OWNER;
    m->uid = (uint32_t)ctx->uid;
    m->gid = (uint32_t)ctx->gid;
    if (c->idmap_user && s->root_owner_known) { /* the inverse of map_owner */
        if (ctx->uid == getuid())
            m->uid = (uint32_t)s->root_uid;
        if (ctx->gid == getgid())
            m->gid = (uint32_t)s->root_gid;
    }
}

/* After a request that made a name: its attributes for the entry reply. */
static void stat_new_entry(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err == -EEXIST && (op->flags & WF_OP_RESENT))
        err = 0; /* sent again after a lost connection: the first sending made it */
    if (err < 0) {
        op_reply_err(op, err);
        return;
    }
    struct wf_msg m = { .type = WF_GETATTR };
    fs_send(s, op, &m, op->parent, op->name, fs_entry_done);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_service *s = svc(req);
    if (fs_offline(s)) {
        struct fuse_entry_param e = { .ino = 0 };
        fuse_reply_entry(req, &e);
        return;
    }
    struct wf_op *op = fs_new_op(req, 0, parent, name);
    if (!op)
        return;
    op->u.entry.negative_ok = true;
    struct wf_msg m = { .type = WF_GETATTR };
    fs_send(s, op, &m, parent, name, fs_entry_done);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct wf_msg m = { .type = WF_MKNOD, .mode = wf_mode_to_wire(mode), .rdev = rdev };
    fs_set_creator(svc(req), req, &m);
    fs_request(req, 0, parent, name, &m, stat_new_entry);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct wf_msg m = { .type = WF_MKDIR, .mode = wf_mode_to_wire(mode) };
    fs_set_creator(svc(req), req, &m);
    fs_request(req, 0, parent, name, &m, stat_new_entry);
}

static void fs_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_SYMLINK, .path2 = wf_str_of(target) };
    fs_set_creator(svc(req), req, &m);
    fs_request(req, 0, parent, name, &m, stat_new_entry);
}

/* The file gained a name: the attributes the kernel holds for its other
 * names (nlink, ctime) are out of date. */
static void link_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err >= 0 && s->se)
        fuse_lowlevel_notify_inval_inode(s->se, op->ino, -1, 0);
    stat_new_entry(s, op, resp, err);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = fs_new_op(req, ino, newparent, newname);
    if (!op)
        return;
    char target[WF_MAX_PATH + 1];
    struct wf_msg m = { .type = WF_LINK };
    int len = wf_nodes_path(&s->nodes, newparent, newname, target, sizeof target, 0);
    if (len < 0) {
        op_reply_err(op, len);
        wf_op_finish(op);
        return;
    }
    m.path2 = (struct wf_str){ target, (uint32_t)len };
    fs_send(s, op, &m, ino, NULL, link_done);
}

/* ---- names ---- */

static void remove_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err == -ENOENT && (op->flags & WF_OP_RESENT))
        err = 0; /* sent again after a lost connection: the first sending removed it */
    if (err >= 0)
        wf_nodes_remove_name(&s->nodes, op->parent, op->name);
    op_reply_err(op, err < 0 ? -err : 0);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_UNLINK };
    fs_request(req, 0, parent, name, &m, remove_done);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_RMDIR };
    fs_request(req, 0, parent, name, &m, remove_done);
}

static void rename_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err >= 0)
        wf_nodes_rename(&s->nodes, op->parent, op->name, op->u.rename.newparent, op->newname,
                        (op->u.rename.flags & RENAME_EXCHANGE) != 0);
    op_reply_err(op, err < 0 ? -err : 0);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct wf_service *s = svc(req);
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    struct wf_op *op = fs_new_op(req, 0, parent, name);
    if (!op)
        return;
    char target[WF_MAX_PATH + 1];
    int len = wf_nodes_path(&s->nodes, newparent, newname, target, sizeof target, 0);
    if (len < 0 || !(op->newname = strdup(newname))) {
        op_reply_err(op, len < 0 ? len : -ENOMEM);
        wf_op_finish(op);
        return;
    }
    op->u.rename.newparent = newparent;
    op->u.rename.flags = flags;
    if (flags & RENAME_EXCHANGE)
        op->flags |= WF_OP_NO_REPEAT; /* sent twice, it would swap the two back */
    struct wf_msg m = { .type = WF_RENAME, .rename_flags = wf_rename_to_wire(flags),
                        .path2 = { target, (uint32_t)len } };
    fs_send(s, op, &m, parent, name, rename_done);
}

/* ---- the rest ---- */

static void statfs_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (!resp) {
        op_reply_err(op, err);
        return;
    }
    const struct wf_statfs *w = &resp->statfs;
    struct statvfs st = { .f_bsize = w->bsize, .f_frsize = w->frsize, .f_blocks = w->blocks,
                          .f_bfree = w->bfree, .f_bavail = w->bavail, .f_files = w->files,
                          .f_ffree = w->ffree, .f_namemax = w->namemax };
    op_reply_statfs(op, &st);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    if (fs_offline(svc(req))) {
        struct statvfs st = { .f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255 };
        fuse_reply_statfs(req, &st);
        return;
    }
    struct wf_msg m = { .type = WF_STATFS };
    fs_request(req, ino, 0, NULL, &m, statfs_done);
}

static void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    if (fs_offline(svc(req))) {
        fuse_reply_err(req, ino == WF_ROOT_INO ? 0 : ENOENT);
        return;
    }
    struct wf_msg m = { .type = WF_ACCESS, .access = wf_access_to_wire(mask) };
    fs_request(req, ino, 0, NULL, &m, fs_status_done);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    wf_nodes_forget(&svc(req)->nodes, ino, nlookup);
    fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        wf_nodes_forget(&svc(req)->nodes, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    /* Large requests: the kernel may send up to 512 KiB per read/write (1 MiB
     * measured no faster, and costs the service 1.5 MiB more at its peak: the
     * kernel's request and the encoded message) and reads ahead by 1 MiB, so
     * two reads are in flight per sequential reader. */
    conn->max_write = 1u << 19;
    conn->max_readahead = 1u << 20;
    /* Read-ahead requests are background requests. At the kernel's default
     * limits (12, congested from 9) it drops asynchronous read-ahead while
     * congested: the reader then stalls on the missing pages and fetches
     * them itself, out of order. Room for several readers' windows: */
    conn->max_background = WF_MAX_BACKGROUND;
    conn->congestion_threshold = WF_MAX_BACKGROUND * 3 / 4;
    conn->want |= FUSE_CAP_ASYNC_READ;
    conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
    wf_mount_initialized(userdata);
}

const struct fuse_lowlevel_ops wf_fs_ops = {
    .init = fs_init,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .forget_multi = fs_forget_multi,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .readlink = fs_readlink,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .flush = fs_flush,
    .release = fs_release,
    .fsync = fs_fsync,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
    .statfs = fs_statfs,
    .access = fs_access,
    .create = fs_create,
};
