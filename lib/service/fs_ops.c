/* FUSE low-level operations -> webfuse2 requests. Every handler builds a
 * request, sends it and returns at once; the matching *_done callback replies
 * to the kernel when the provider answers (or the request fails). Nothing here
 * blocks, so one thread serves any number of concurrent callers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/wf_convert.h"
#include "service_int.h"
#include "util/wf_log.h"

static struct wf_service *svc(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static void reply_status(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    fuse_reply_err(op->req, err < 0 ? -err : 0);
    wf_op_free(op);
}

/* For requests nobody waits for (release). */
static void ignore_reply(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    wf_op_free(op);
}

/* Writes the node's path (or its child name's) into buf and points out at it. */
static int set_path(struct wf_service *s, fuse_ino_t ino, const char *name, char *buf, struct wf_str *out,
                    int last_known)
{
    int len = wf_nodes_path(&s->nodes, ino, name, buf, WF_MAX_PATH, last_known);
    if (len < 0)
        return len;
    out->data = buf;
    out->len = (uint32_t)len;
    return 0;
}

static struct wf_op *new_op(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
    struct wf_op *op = wf_op_new(req);
    if (!op || (name && !(op->name = strdup(name)))) {
        if (op)
            wf_op_free(op);
        fuse_reply_err(req, ENOMEM);
        return NULL;
    }
    op->ino = ino;
    op->parent = parent;
    return op;
}

/* Sends a request about (ino, name) for op; on a path error replies at once. */
static void send_for(struct wf_service *s, struct wf_op *op, struct wf_msg *m, fuse_ino_t ino,
                     const char *name, wf_op_done done)
{
    /* Requests on an open handle still reach an unlinked file. */
    int by_handle = m->type == WF_READ || m->type == WF_WRITE || m->type == WF_FSYNC ||
                    ((m->type == WF_TRUNCATE || m->type == WF_UTIMENS) && m->handle != WF_NO_HANDLE);
    char path[WF_MAX_PATH];
    int rc = set_path(s, ino, name, path, &m->path, by_handle);
    if (rc < 0) {
        op->type = m->type;
        done(s, op, NULL, rc);
        return;
    }
    wf_send(s, op, m, done);
}

/* The usual shape: a new op for (ino) or (parent, name), one request. */
static void request(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name,
                    struct wf_msg *m, wf_op_done done)
{
    struct wf_op *op = new_op(req, ino, parent, name);
    if (op)
        send_for(svc(req), op, m, name ? parent : ino, name, done);
}

static void fill_stat(struct stat *st, const struct wf_attr *a, fuse_ino_t ino)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
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
}

/* Attributes the kernel can take: a known file type, a size that fits off_t,
 * and a directory for the root (the kernel marks an inode with anything else
 * bad; for the root that lasts until remount). */
static bool attr_usable(fuse_ino_t ino, const struct wf_attr *a)
{
    mode_t type = wf_mode_from_wire(a->mode) & S_IFMT;
    if (a->size > (uint64_t)INT64_MAX)
        return false;
    if (ino == WF_ROOT_INO)
        return type == S_IFDIR;
    return type == S_IFREG || type == S_IFDIR || type == S_IFLNK || type == S_IFCHR ||
           type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK;
}

/* Reading a small file costs two round trips, open then read. For a file
 * opened read-only that its last attributes showed small, the read (without
 * a handle: the provider opens the file for it) follows the open at once, and
 * the kernel's first read is answered from it. */
#define WF_PREFETCH_MAX (128u * 1024u)

struct wf_prefetch {
    struct wf_op *waiting; /* the kernel's first read, while the data is on its way */
    char *data;
    uint32_t len;
    int state;   /* 1 on its way, 0 arrived, < 0 failed */
    bool orphan; /* nobody wants it any more: freed on arrival */
};

static void remember_size(struct wf_service *s, fuse_ino_t ino, const struct wf_attr *a)
{
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (n)
        n->small_file = S_ISREG(wf_mode_from_wire(a->mode)) && a->size <= WF_PREFETCH_MAX;
}

/* A file with several names has one node per name here, so another name's
 * cached attributes (and pages) could go stale: such files are not cached. */
static double attr_timeout_for(const struct wf_service *s, const struct wf_attr *a)
{
    return a->nlink > 1 && S_ISREG(wf_mode_from_wire(a->mode)) ? 0.0 : s->attr_timeout;
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

static void track(struct wf_service *s, struct wf_open *o)
{
    struct wf_open *head = &s->open_items;
    if (!head->next)
        head->next = head->prev = head;
    o->next = head->next;
    o->prev = head;
    head->next->prev = o;
    head->next = o;
}

static void untrack(struct wf_open *o)
{
    o->prev->next = o->next;
    o->next->prev = o->prev;
}

static void free_dir(struct wf_dir *d);
static void invalidate_prefetch(struct wf_service *s, fuse_ino_t ino);

static void forget_handle(struct wf_service *s, struct wf_file *f, const char *path);

/* ---- entries: lookup and everything that creates a name ---- */

/* Replies with the entry; 0, or -1 when the kernel did not get it (then a
 * created file's handle is the caller's to give back). */
static int reply_entry(struct wf_service *s, struct wf_op *op, const struct wf_attr *a)
{
    if (!attr_usable(0, a)) {
        wf_warn("provider sent unusable attributes (mode 0%o) for %s", (unsigned)a->mode, op->name);
        fuse_reply_err(op->req, EIO);
        return -1;
    }
    struct wf_node *n = wf_nodes_lookup(&s->nodes, op->parent, op->name);
    if (!n) {
        fuse_reply_err(op->req, ENOMEM);
        return -1;
    }
    remember_size(s, n->ino, a);
    struct fuse_entry_param e = { .ino = n->ino, .attr_timeout = attr_timeout_for(s, a),
                                  .entry_timeout = s->entry_timeout };
    fill_stat(&e.attr, a, n->ino);
    int rc = op->fi.fh ? fuse_reply_create(op->req, &e, &op->fi) : fuse_reply_entry(op->req, &e);
    if (rc != 0) {
        wf_nodes_forget(&s->nodes, n->ino, 1); /* the kernel did not take it */
        return -1;
    }
    return 0;
}

static void entry_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (resp) {
        if (reply_entry(s, op, &resp->attr) != 0 && op->fi.fh) /* a created file nobody got */
            forget_handle(s, (struct wf_file *)(uintptr_t)op->fi.fh, "/");
    } else if (err == -ENOENT && op->type == WF_GETATTR && !op->fi.fh && op->step == 0) {
        /* negative entry: lets the kernel cache the absence */
        struct fuse_entry_param e = { .ino = 0, .entry_timeout = s->negative_timeout };
        fuse_reply_entry(op->req, &e);
    } else {
        if (op->fi.fh) /* create succeeded but stat failed: give the handle back */
            forget_handle(s, (struct wf_file *)(uintptr_t)op->fi.fh, "/");
        fuse_reply_err(op->req, -err);
    }
    wf_op_free(op);
}

static void stat_new_entry(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err < 0) {
        fuse_reply_err(op->req, -err);
        wf_op_free(op);
        return;
    }
    struct wf_msg m = { .type = WF_GETATTR };
    op->step = 1; /* a missing entry now is an error, not a negative entry */
    send_for(s, op, &m, op->parent, op->name, entry_done);
}

static void wf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_service *s = svc(req);
    if (!s->ready) {
        struct fuse_entry_param e = { .ino = 0 };
        fuse_reply_entry(req, &e);
        return;
    }
    struct wf_msg m = { .type = WF_GETATTR };
    request(req, 0, parent, name, &m, entry_done);
}

static void wf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct wf_msg m = { .type = WF_MKNOD, .mode = wf_mode_to_wire(mode), .rdev = rdev };
    request(req, 0, parent, name, &m, stat_new_entry);
}

static void wf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct wf_msg m = { .type = WF_MKDIR, .mode = wf_mode_to_wire(mode) };
    request(req, 0, parent, name, &m, stat_new_entry);
}

static void wf_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_SYMLINK, .path2 = wf_str_of(target) };
    request(req, 0, parent, name, &m, stat_new_entry);
}

static void wf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = new_op(req, ino, newparent, newname);
    if (!op)
        return;
    char target[WF_MAX_PATH];
    struct wf_msg m = { .type = WF_LINK };
    int rc = set_path(s, newparent, newname, target, &m.path2, 0);
    if (rc < 0) {
        stat_new_entry(s, op, NULL, rc);
        return;
    }
    send_for(s, op, &m, ino, NULL, stat_new_entry);
}

/* ---- attributes ---- */

static void attr_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (resp && !attr_usable(op->ino, &resp->attr)) {
        wf_warn("provider sent unusable attributes (mode 0%o)", (unsigned)resp->attr.mode);
        fuse_reply_err(op->req, EIO);
    } else if (resp) {
        struct stat st;
        remember_size(s, op->ino, &resp->attr);
        fill_stat(&st, &resp->attr, op->ino);
        fuse_reply_attr(op->req, &st, attr_timeout_for(s, &resp->attr));
    } else {
        fuse_reply_err(op->req, -err);
    }
    wf_op_free(op);
}

static void wf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    if (!s->ready) {
        struct stat st;
        empty_root(s, &st);
        if (ino == WF_ROOT_INO)
            fuse_reply_attr(req, &st, 0);
        else
            fuse_reply_err(req, ENOENT);
        return;
    }
    struct wf_msg m = { .type = WF_GETATTR };
    request(req, ino, 0, NULL, &m, attr_done);
}

static uint64_t handle_of(struct wf_service *s, const struct fuse_file_info *fi)
{
    const struct wf_file *f = fi ? (const struct wf_file *)(uintptr_t)fi->fh : NULL;
    return f && f->generation == s->generation ? f->handle : WF_NO_HANDLE;
}

static void set_time(struct wf_time *t, const struct timespec *ts, int set, int now)
{
    t->sec = 0;
    t->nsec = now ? UTIME_NOW : set ? (uint32_t)ts->tv_nsec : UTIME_OMIT;
    if (set && !now)
        t->sec = (uint64_t)ts->tv_sec;
}

/* setattr is a chain: chmod, chown, truncate, utimens (whichever are asked
 * for), then getattr for the reply. op->step remembers how far it got. */
static void setattr_next(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err < 0) {
        fuse_reply_err(op->req, -err);
        wf_op_free(op);
        return;
    }
    const int set = op->to_set;
    struct wf_msg m = { .type = WF_GETATTR, .handle = op->handle };
    while (m.type == WF_GETATTR && op->step < 4) {
        switch (op->step++) {
        case 0:
            if (set & FUSE_SET_ATTR_MODE) {
                m.type = WF_CHMOD;
                m.mode = wf_mode_to_wire(op->attr.st_mode);
            }
            break;
        case 1:
            if (set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
                m.type = WF_CHOWN;
                m.uid = (set & FUSE_SET_ATTR_UID) ? op->attr.st_uid : (uint32_t)-1;
                m.gid = (set & FUSE_SET_ATTR_GID) ? op->attr.st_gid : (uint32_t)-1;
            }
            break;
        case 2:
            if (set & FUSE_SET_ATTR_SIZE) {
                m.type = WF_TRUNCATE;
                m.size = (uint64_t)op->attr.st_size;
            }
            break;
        case 3:
            if (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
                m.type = WF_UTIMENS;
                set_time(&m.atime, &op->attr.st_atim, set & FUSE_SET_ATTR_ATIME, set & FUSE_SET_ATTR_ATIME_NOW);
                set_time(&m.mtime, &op->attr.st_mtim, set & FUSE_SET_ATTR_MTIME, set & FUSE_SET_ATTR_MTIME_NOW);
            }
            break;
        }
    }
    send_for(s, op, &m, op->ino, NULL, m.type == WF_GETATTR ? attr_done : setattr_next);
}

static void wf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->attr = *attr;
    op->to_set = to_set;
    op->handle = handle_of(s, fi);
    invalidate_prefetch(s, ino);
    setattr_next(s, op, NULL, 0);
}

static void readlink_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    char *target = NULL;
    if (resp && (target = malloc((size_t)resp->path2.len + 1)) &&
        wf_str_copy(resp->path2, target, (size_t)resp->path2.len + 1) == 0)
        fuse_reply_readlink(op->req, target); /* no NUL inside, and terminated */
    else
        fuse_reply_err(op->req, resp ? EIO : -err);
    free(target);
    wf_op_free(op);
}

static void wf_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct wf_msg m = { .type = WF_READLINK };
    request(req, ino, 0, NULL, &m, readlink_done);
}

/* ---- names ---- */

static void remove_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (err >= 0)
        wf_nodes_remove_name(&s->nodes, op->parent, op->name);
    reply_status(s, op, resp, err);
}

static void wf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_UNLINK };
    request(req, 0, parent, name, &m, remove_done);
}

static void wf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct wf_msg m = { .type = WF_RMDIR };
    request(req, 0, parent, name, &m, remove_done);
}

struct rename_ctx {
    fuse_ino_t newparent;
    unsigned flags;
    char newname[];
};

static void rename_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct rename_ctx *r = (struct rename_ctx *)op->dir;
    if (err >= 0)
        wf_nodes_rename(&s->nodes, op->parent, op->name, r->newparent, r->newname,
                        (r->flags & RENAME_EXCHANGE) != 0);
    free(r);
    reply_status(s, op, resp, err);
}

static void wf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct wf_service *s = svc(req);
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    struct wf_op *op = new_op(req, 0, parent, name);
    if (!op)
        return;
    size_t len = strlen(newname);
    struct rename_ctx *r = malloc(sizeof *r + len + 1);
    if (!r) {
        reply_status(s, op, NULL, -ENOMEM);
        return;
    }
    r->newparent = newparent;
    r->flags = flags;
    memcpy(r->newname, newname, len + 1);
    op->dir = (struct wf_dir *)r;
    char target[WF_MAX_PATH];
    struct wf_msg m = { .type = WF_RENAME, .rename_flags = wf_rename_to_wire(flags) };
    int rc = set_path(s, newparent, newname, target, &m.path2, 0);
    if (rc < 0) {
        rename_done(s, op, NULL, rc);
        return;
    }
    send_for(s, op, &m, parent, name, rename_done);
}

/* ---- files ---- */

static void read_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);

/* The owner lets go: freed now, or on arrival if still on its way. */
static void prefetch_drop(struct wf_prefetch *pf)
{
    if (!pf)
        return;
    if (pf->state == 1) {
        pf->orphan = true;
        return;
    }
    free(pf->data);
    free(pf);
}

/* Answers the kernel's read op from pf if pf holds what it asks for (the
 * whole file, or at least the bytes asked), else with a real request. */
static void serve_from_prefetch(struct wf_service *s, struct wf_op *op, struct wf_prefetch *pf)
{
    if (pf->state == 0 && (pf->len < WF_PREFETCH_MAX || op->size <= pf->len)) {
        fuse_reply_buf(op->req, pf->data, op->size < pf->len ? op->size : pf->len);
        wf_op_free(op);
    } else {
        struct wf_msg m = { .type = WF_READ, .length = (uint32_t)op->size, .offset = 0,
                            .handle = op->handle };
        send_for(s, op, &m, op->ino, NULL, read_done);
    }
    free(pf->data);
    free(pf);
}

static void prefetch_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_prefetch *pf = op->pf;
    wf_op_free(op);
    if (pf->orphan) {
        free(pf);
        return;
    }
    pf->state = err < 0 ? err : 0;
    if (resp && (pf->data = malloc(resp->data.len ? resp->data.len : 1)) != NULL) {
        memcpy(pf->data, resp->data.data, resp->data.len);
        pf->len = resp->data.len;
    } else if (resp) {
        pf->state = -ENOMEM;
    }
    if (pf->waiting)
        serve_from_prefetch(s, pf->waiting, pf);
}

/* Sends the prefetching read right behind an open (see WF_PREFETCH_MAX). */
static struct wf_prefetch *start_prefetch(struct wf_service *s, fuse_ino_t ino)
{
    struct wf_prefetch *pf = calloc(1, sizeof *pf);
    struct wf_op *op = pf ? wf_op_new(NULL) : NULL;
    if (!op) {
        free(pf);
        return NULL;
    }
    pf->state = 1;
    op->pf = pf;
    struct wf_msg m = { .type = WF_READ, .length = WF_PREFETCH_MAX, .offset = 0, .handle = WF_NO_HANDLE };
    send_for(s, op, &m, ino, NULL, prefetch_done);
    return pf;
}

/* Data is about to change: what was prefetched for ino is dropped. */
static void invalidate_prefetch(struct wf_service *s, fuse_ino_t ino)
{
    for (struct wf_open *o = s->open_items.next; o && o != &s->open_items; o = o->next) {
        struct wf_file *f = (struct wf_file *)o;
        if (!o->is_dir && f->ino == ino && f->pf) {
            prefetch_drop(f->pf);
            f->pf = NULL;
        }
    }
}

static void forget_handle(struct wf_service *s, struct wf_file *f, const char *path)
{
    prefetch_drop(f->pf);
    if (f->generation == s->generation && s->ready) {
        struct wf_op *op = wf_op_new(NULL);
        struct wf_msg m = { .type = WF_RELEASE, .path = wf_str_of(path), .handle = f->handle };
        if (op)
            wf_send(s, op, &m, ignore_reply);
    }
    untrack(&f->link);
    free(f);
}

static struct wf_file *new_file(struct wf_service *s, const struct wf_msg *resp)
{
    struct wf_file *f = malloc(sizeof *f);
    if (f) {
        f->handle = resp->handle;
        f->generation = s->generation;
        f->link.is_dir = false;
        f->ino = 0;
        f->pf = NULL;
        track(s, &f->link);
    }
    return f;
}

static void open_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *f = resp ? new_file(s, resp) : NULL;
    if (!f) {
        prefetch_drop(op->pf);
        fuse_reply_err(op->req, resp ? ENOMEM : -err);
    } else {
        f->ino = op->ino;
        f->pf = op->pf;
        op->fi.fh = (uintptr_t)f;
        if (fuse_reply_open(op->req, &op->fi) != 0)
            forget_handle(s, f, "/");
    }
    wf_op_free(op);
}

static void wf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_op *op = new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->fi = *fi;
    op->fi.noflush = 1; /* flush has no request in the protocol: spare the kernel asking */
    if (fi->flags & O_TRUNC)
        invalidate_prefetch(s, ino);
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (n && n->small_file && (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC) && s->ready)
        op->pf = start_prefetch(s, ino); /* the two requests may be answered in any order */
    struct wf_msg m = { .type = WF_OPEN, .flags = wf_oflags_to_wire(fi->flags) };
    send_for(s, op, &m, ino, NULL, open_done);
}

static void create_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *f = resp ? new_file(s, resp) : NULL;
    if (!f) {
        fuse_reply_err(op->req, resp ? ENOMEM : -err);
        wf_op_free(op);
        return;
    }
    op->fi.fh = (uintptr_t)f;
    struct wf_msg m = { .type = WF_GETATTR };
    op->step = 1;
    send_for(s, op, &m, op->parent, op->name, entry_done);
}

static void wf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    struct wf_op *op = new_op(req, 0, parent, name);
    if (!op)
        return;
    op->fi = *fi;
    op->fi.noflush = 1; /* flush has no request in the protocol: spare the kernel asking */
    op->fi.fh = 0;
    struct wf_msg m = { .type = WF_CREATE, .mode = wf_mode_to_wire(mode) };
    send_for(svc(req), op, &m, parent, name, create_done);
}

static void wf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    char path[WF_MAX_PATH];
    if (wf_nodes_path(&s->nodes, ino, NULL, path, sizeof path, 1) < 0)
        strcpy(path, "/"); /* unlinked: the handle alone identifies the file */
    forget_handle(s, (struct wf_file *)(uintptr_t)fi->fh, path);
    fuse_reply_err(req, 0);
}

static void read_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (!resp) {
        fuse_reply_err(op->req, -err);
    } else {
        size_t n = resp->data.len;
        if ((size_t)err < n)
            n = (size_t)err;
        if (n > op->size)
            n = op->size; /* never hand the kernel more than it asked for */
        fuse_reply_buf(op->req, resp->data.data, n);
    }
    wf_op_free(op);
}

/* Checks the handle belongs to the current provider; replies EIO if not. */
static int check_file(fuse_req_t req, struct fuse_file_info *fi, uint64_t *handle)
{
    struct wf_service *s = svc(req);
    struct wf_file *f = (struct wf_file *)(uintptr_t)fi->fh;
    if (!f || f->generation != s->generation || !s->ready) {
        fuse_reply_err(req, EIO);
        return -1;
    }
    *handle = f->handle;
    return 0;
}

static void wf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    uint64_t handle;
    if (check_file(req, fi, &handle) != 0)
        return;
    struct wf_file *f = (struct wf_file *)(uintptr_t)fi->fh;
    struct wf_prefetch *pf = f->pf; /* good for the first read only */
    f->pf = NULL;
    struct wf_op *op = new_op(req, ino, 0, NULL);
    if (!op) {
        prefetch_drop(pf);
        return;
    }
    op->size = size;
    op->handle = handle;
    if (pf && off == 0) {
        if (pf->state == 1)
            pf->waiting = op; /* answered when the prefetch arrives */
        else
            serve_from_prefetch(svc(req), op, pf);
        return;
    }
    prefetch_drop(pf);
    struct wf_msg m = { .type = WF_READ, .length = (uint32_t)size, .offset = (uint64_t)off,
                        .handle = handle };
    send_for(svc(req), op, &m, ino, NULL, read_done);
}

static void write_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (!resp)
        fuse_reply_err(op->req, -err);
    else if ((size_t)err > op->size)
        fuse_reply_err(op->req, EIO);
    else
        fuse_reply_write(op->req, (size_t)err);
    wf_op_free(op);
}

static void wf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    uint64_t handle;
    if (check_file(req, fi, &handle) != 0)
        return;
    struct wf_op *op = new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->size = size;
    invalidate_prefetch(svc(req), ino);
    struct wf_msg m = { .type = WF_WRITE, .data = { buf, (uint32_t)size }, .offset = (uint64_t)off,
                        .handle = handle };
    send_for(svc(req), op, &m, ino, NULL, write_done);
}

static void wf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, 0); /* no such request in the protocol; release follows */
}

static void wf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    uint64_t handle;
    if (check_file(req, fi, &handle) != 0)
        return;
    struct wf_msg m = { .type = WF_FSYNC, .datasync = datasync != 0, .handle = handle };
    request(req, ino, 0, NULL, &m, reply_status);
}

/* ---- directories ---- */

static void wf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_dir *d = calloc(1, sizeof *d);
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    struct wf_service *s = svc(req);
    d->link.is_dir = true;
    track(s, &d->link);
    fi->fh = (uintptr_t)d;
    /* The kernel may keep a listing (like attributes, until the directory's
     * mtime changes), but only one this provider connection gave it: a
     * listing from an earlier provider, or the empty root, is dropped. */
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    fi->cache_readdir = s->ready;
    fi->keep_cache = s->ready && n && n->listed == s->generation + 1;
    if (fuse_reply_open(req, fi) != 0)
        free_dir(d);
}

static void clear_dir(struct wf_dir *d)
{
    free(d->names);
    free(d->attrs);
    d->names = NULL;
    d->attrs = NULL;
    d->count = 0;
}

static void free_dir(struct wf_dir *d)
{
    untrack(&d->link);
    clear_dir(d);
    free(d);
}

void wf_free_open_items(struct wf_service *s)
{
    struct wf_open *head = &s->open_items;
    while (head->next && head->next != head) {
        struct wf_open *o = head->next;
        if (o->is_dir) {
            free_dir((struct wf_dir *)o);
        } else {
            untrack(o);
            prefetch_drop(((struct wf_file *)o)->pf);
            free(o);
        }
    }
}

static void wf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    free_dir((struct wf_dir *)(uintptr_t)fi->fh);
    fuse_reply_err(req, 0);
}

/* Adds entry i (0 ".", 1 "..", then the names) to buf. In plus mode an entry
 * with known attributes is a lookup: the kernel caches it with its
 * attributes, so a following stat needs no request. Returns the bytes used,
 * or 0 when the entry does not fit. */
static size_t add_entry(struct wf_service *s, fuse_req_t req, fuse_ino_t ino, const struct wf_dir *d,
                        size_t i, const char *name, char *buf, size_t room, int plus)
{
    struct wf_node *n = i >= 2 ? wf_nodes_find(&s->nodes, ino, name) : NULL;
    struct fuse_entry_param e = { .attr.st_ino = n ? n->ino : (fuse_ino_t)-1 - i }; /* type unknown: ls stats */
    if (!plus) {
        size_t need = fuse_add_direntry(req, buf, room, name, &e.attr, (off_t)i + 1);
        return need <= room ? need : 0;
    }
    const struct wf_attr *a = i >= 2 && d->attrs && attr_usable(0, &d->attrs[i - 2]) ? &d->attrs[i - 2] : NULL;
    if (a && !(n = wf_nodes_lookup(&s->nodes, ino, name)))
        a = NULL;
    if (a) {
        e.ino = n->ino;
        remember_size(s, n->ino, a);
        fill_stat(&e.attr, a, n->ino);
        e.attr_timeout = attr_timeout_for(s, a);
        e.entry_timeout = s->entry_timeout;
    }
    size_t need = fuse_add_direntry_plus(req, buf, room, name, &e, (off_t)i + 1);
    if (need <= room)
        return need;
    if (a)
        wf_nodes_forget(&s->nodes, n->ino, 1); /* not sent: not a lookup */
    return 0;
}

/* Replies with the entries from index off. */
static void emit_dir(struct wf_service *s, fuse_req_t req, fuse_ino_t ino, struct wf_dir *d,
                     size_t size, off_t off, int plus)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0, end = (size_t)off;
    const char *name = d->names;
    for (size_t i = 0; i < d->count + 2; i++, end = i) {
        const char *entry = i == 0 ? "." : i == 1 ? ".." : name;
        if (i >= 2)
            name += strlen(name) + 1;
        if ((off_t)i < off)
            continue;
        size_t n = add_entry(s, req, ino, d, i, entry, buf + used, size - used, plus);
        if (n == 0)
            break;
        used += n;
    }
    if (fuse_reply_buf(req, buf, used) != 0 && plus) {
        /* the kernel took none of the entries: undo their lookups */
        name = d->names;
        for (size_t i = 2; i < end && i < d->count + 2; i++, name += strlen(name) + 1) {
            struct wf_node *n = wf_nodes_find(&s->nodes, ino, name);
            if ((off_t)i >= off && n && d->attrs && attr_usable(0, &d->attrs[i - 2]))
                wf_nodes_forget(&s->nodes, n->ino, 1);
        }
    }
    free(buf);
}

static void readdir_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_dir *d = op->dir;
    if (!resp) {
        fuse_reply_err(op->req, -err);
        wf_op_free(op);
        return;
    }
    int with_attrs = resp->attrs.count == resp->names.count && resp->names.count > 0;
    char *names = malloc(resp->names.raw_len + 1);
    struct wf_attr *attrs = with_attrs ? malloc(sizeof *attrs * resp->names.count) : NULL;
    size_t count = 0, used = 0, pos = 0;
    struct wf_str item;
    for (uint32_t i = 0; names && wf_strings_next(&resp->names, &pos, &item); i++) {
        bool dot = (item.len == 1 && item.data[0] == '.') ||
                   (item.len == 2 && item.data[0] == '.' && item.data[1] == '.');
        if (dot || item.len == 0 || item.len > NAME_MAX || memchr(item.data, '/', item.len) ||
            memchr(item.data, 0, item.len))
            continue; /* tolerated, not shown: such a name cannot be looked up anyway */
        memcpy(names + used, item.data, item.len);
        used += item.len;
        names[used++] = '\0';
        if (attrs)
            wf_attrs_get(&resp->attrs, i, &attrs[count]);
        count++;
    }
    if (!names || (with_attrs && !attrs)) {
        free(names);
        free(attrs);
        fuse_reply_err(op->req, ENOMEM);
    } else {
        clear_dir(d);
        d->names = names;
        d->attrs = attrs;
        d->count = count;
        d->loaded = true;
        struct wf_node *n = wf_nodes_get(&s->nodes, op->ino);
        if (n)
            n->listed = s->generation + 1;
        emit_dir(s, op->req, op->ino, d, op->size, op->off, op->step);
    }
    wf_op_free(op);
}

static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
                     int plus)
{
    struct wf_service *s = svc(req);
    struct wf_dir *d = (struct wf_dir *)(uintptr_t)fi->fh;
    if (!s->ready) {
        clear_dir(d);
        d->loaded = true;
        if (ino == WF_ROOT_INO)
            emit_dir(s, req, ino, d, size, off, plus);
        else
            fuse_reply_err(req, EIO);
        return;
    }
    if (d->loaded && off != 0) { /* later chunks of one listing */
        emit_dir(s, req, ino, d, size, off, plus);
        return;
    }
    struct wf_op *op = new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->dir = d;
    op->size = size;
    op->off = off;
    op->step = plus;
    struct wf_msg m = { .type = WF_READDIR, .ext = plus ? WF_EXT_READDIR_ATTRS : 0 };
    send_for(s, op, &m, ino, NULL, readdir_done);
}

static void wf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    list_dir(req, ino, size, off, fi, 0);
}

static void wf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    list_dir(req, ino, size, off, fi, 1);
}

/* ---- the rest ---- */

static void statfs_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (resp) {
        const struct wf_statfs *w = &resp->statfs;
        struct statvfs st = { .f_bsize = w->bsize, .f_frsize = w->frsize, .f_blocks = w->blocks,
                              .f_bfree = w->bfree, .f_bavail = w->bavail, .f_files = w->files,
                              .f_ffree = w->ffree, .f_namemax = w->namemax };
        fuse_reply_statfs(op->req, &st);
    } else {
        fuse_reply_err(op->req, -err);
    }
    wf_op_free(op);
}

static void wf_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct wf_service *s = svc(req);
    if (!s->ready) {
        struct statvfs st = { .f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255 };
        fuse_reply_statfs(req, &st);
        return;
    }
    struct wf_msg m = { .type = WF_STATFS };
    request(req, ino, 0, NULL, &m, statfs_done);
}

static void wf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct wf_service *s = svc(req);
    if (!s->ready) {
        fuse_reply_err(req, ino == WF_ROOT_INO ? 0 : ENOENT);
        return;
    }
    struct wf_msg m = { .type = WF_ACCESS, .access = wf_access_to_wire(mask) };
    request(req, ino, 0, NULL, &m, reply_status);
}

static void wf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    wf_nodes_forget(&svc(req)->nodes, ino, nlookup);
    fuse_reply_none(req);
}

static void wf_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        wf_nodes_forget(&svc(req)->nodes, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void wf_init(void *userdata, struct fuse_conn_info *conn)
{
    /* Large requests: the kernel may send up to 512 KiB per read/write (1 MiB
     * measured no faster, and costs the service 1.5 MiB more at its peak: the
     * kernel's request and the encoded message) and reads ahead by 1 MiB, so
     * two reads are in flight per sequential reader. */
    conn->max_write = 1u << 19;
    conn->max_readahead = 1u << 20;
    conn->want |= FUSE_CAP_ASYNC_READ;
    conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
    wf_service_initialized(userdata);
}

void wf_provider_lost(struct wf_service *s)
{
    s->generation++; /* handles of the old provider now answer EIO */
    wf_fail_all(s, -EIO);
}

const struct fuse_lowlevel_ops wf_fs_ops = {
    .init = wf_init,
    .lookup = wf_lookup,
    .forget = wf_forget,
    .forget_multi = wf_forget_multi,
    .getattr = wf_getattr,
    .setattr = wf_setattr,
    .readlink = wf_readlink,
    .mknod = wf_mknod,
    .mkdir = wf_mkdir,
    .unlink = wf_unlink,
    .rmdir = wf_rmdir,
    .symlink = wf_symlink,
    .rename = wf_rename,
    .link = wf_link,
    .open = wf_open,
    .read = wf_read,
    .write = wf_write,
    .flush = wf_flush,
    .release = wf_release,
    .fsync = wf_fsync,
    .opendir = wf_opendir,
    .readdir = wf_readdir,
    .readdirplus = wf_readdirplus,
    .releasedir = wf_releasedir,
    .statfs = wf_statfs,
    .access = wf_access,
    .create = wf_create,
};
