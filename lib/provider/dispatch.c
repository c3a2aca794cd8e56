/* Request dispatch: wire message -> callback -> wire response. */
#include "provider/provider_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provider/localfs.h"
#include "proto/wf_convert.h"
#include "proto/wf_msg.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

#define PATH_CAP (WF_MAX_PATH + 1u)

/* Copies a wire path into a C string: -EINVAL for an embedded NUL,
 * -ENAMETOOLONG when it does not fit. */
static int copy_path(struct wf_str s, char *dst)
{
    if (s.len >= PATH_CAP)
        return -ENAMETOOLONG;
    if (wf_str_copy(s, dst, PATH_CAP) != 0)
        return -EINVAL;
    return 0;
}

static void attr_of(const struct stat *st, struct wf_attr *a);

/* ---- readdir collection ------------------------------------------------ */

struct dirbuf {
    char *buf; /* names, each NUL-terminated, back to back */
    size_t len, cap;
    uint32_t count;
    size_t wire; /* bytes the names take on the wire */
    int full;
};

/* Room for the names: message size minus id, type, result and count. */
#define DIR_WIRE_LIMIT (WF_MAX_MESSAGE_SIZE - 16u)

static int dir_fill(void *p, const char *name)
{
    struct dirbuf *d = p;
    if (!name || d->full)
        return -1;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    size_t n = strlen(name);
    if (n > WF_MAX_PATH || d->wire + 4u + n > DIR_WIRE_LIMIT) {
        d->full = 1;
        return -1;
    }
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4096;
        while (cap < d->len + n + 1)
            cap *= 2;
        char *b = realloc(d->buf, cap);
        if (!b) {
            d->full = 1;
            return -1;
        }
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, name, n + 1);
    d->len += n + 1;
    d->wire += 4u + n;
    d->count++;
    return 0;
}

/* The readdir extension (WF_EXT_READDIR_ATTRS): one attributes record per
 * name, so the service needs no getattr per entry. An entry whose getattr
 * fails (e.g. removed meanwhile) gets mode 0, "unknown". Returns NULL (no
 * extension) when it does not fit the message or memory runs out. */
static struct wf_attr *collect_attrs(const struct wf_dispatch *dp, const char *dir,
                                     const struct wf_str *items, uint32_t count, size_t wire)
{
    if (!dp->ops->getattr || count == 0 || (size_t)count * 88u + 4u > DIR_WIRE_LIMIT - wire)
        return NULL;
    struct wf_attr *attrs = calloc(count, sizeof *attrs);
    char path[PATH_CAP];
    size_t dlen = strlen(dir);
    if (dlen == 1) /* the root "/" */
        dlen = 0;
    for (uint32_t i = 0; attrs && i < count; i++) {
        struct stat st;
        if (dlen + 1 + items[i].len >= sizeof path)
            continue;
        memcpy(path, dir, dlen);
        path[dlen] = '/';
        memcpy(path + dlen + 1, items[i].data, items[i].len + 1);
        memset(&st, 0, sizeof st);
        if (dp->ops->getattr(dp->ud, path, &st) == 0)
            attr_of(&st, &attrs[i]);
    }
    return attrs;
}

static int send_readdir(const struct wf_dispatch *dp, struct wf_conn *c, struct wf_msg *resp,
                        const char *path, uint32_t ext)
{
    struct dirbuf d = { 0 };
    struct wf_str *items = NULL;
    struct wf_attr *attrs = NULL;
    int rc = dp->ops->readdir ? dp->ops->readdir(dp->ud, path, dir_fill, &d) : -ENOSYS;
    if (rc >= 0 && d.full)
        rc = -E2BIG; /* the callback ignored the filler's "full" */
    if (rc >= 0 && d.count) {
        items = malloc(sizeof *items * d.count);
        if (!items) {
            rc = -ENOMEM;
        } else {
            const char *s = d.buf;
            for (uint32_t i = 0; i < d.count; i++) {
                items[i] = wf_str_of(s);
                s += items[i].len + 1;
            }
            if (ext & WF_EXT_READDIR_ATTRS)
                attrs = collect_attrs(dp, path, items, d.count, d.wire);
        }
    }
    resp->result = rc < 0 ? wf_result_to_wire(rc) : 0;
    resp->names.count = rc < 0 ? 0 : d.count;
    resp->names.items = items;
    resp->attrs.count = attrs ? d.count : 0;
    resp->attrs.items = attrs;
    int st = wf_conn_send(c, resp);
    free(attrs);
    free(items);
    free(d.buf);
    return st;
}

/* ---- read: the callback writes straight into the outgoing message ----- */

static int send_read(const struct wf_dispatch *dp, struct wf_conn *c, struct wf_msg *resp,
                     const struct wf_msg *req, const char *path)
{
    uint32_t size = req->length;
    if (size > WF_PROVIDER_MAX_READ)
        size = WF_PROVIDER_MAX_READ;
    if (req->offset > (uint64_t)INT64_MAX) {
        resp->result = wf_result_to_wire(-EINVAL);
        return wf_conn_send(c, resp);
    }
    if (!dp->ops->read) {
        resp->result = wf_result_to_wire(-ENOSYS);
        return wf_conn_send(c, resp);
    }
    resp->result = 0;
    resp->data.data = NULL;
    resp->data.len = 0;
    size_t off = wf_data_offset(resp);
    if (off == 0)
        return -1;
    struct wf_outmsg *m = wf_outmsg_new(off + size);
    if (!m) {
        resp->result = wf_result_to_wire(-ENOMEM);
        return wf_conn_send(c, resp);
    }
    uint8_t *out = wf_outmsg_payload(m);
    int n = dp->ops->read(dp->ud, path, (char *)out + off, size, (off_t)req->offset, req->handle);
    if (n > (int)size)
        n = -EIO; /* a callback must not claim more than it was given room for */
    if (n >= 0) {
        resp->result = n;
        resp->data.data = (const char *)out + off;
        resp->data.len = (uint32_t)n;
    } else {
        resp->result = wf_result_to_wire(n);
    }
    m->len = wf_encode(resp, out, off + size);
    if (m->len == 0) {
        free(m);
        return -1;
    }
    wf_conn_queue(c, m);
    if (n > 0 && dp->stats)
        dp->stats->bytes_served += (uint64_t)n;
    return 0;
}

/* ---- attribute conversion --------------------------------------------- */

static struct wf_time time_of(struct timespec ts)
{
    struct wf_time t = { ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec };
    return t;
}

static void attr_of(const struct stat *st, struct wf_attr *a)
{
    a->ino = (uint64_t)st->st_ino;
    a->nlink = (uint64_t)st->st_nlink;
    a->mode = wf_mode_to_wire(st->st_mode);
    a->uid = (uint32_t)st->st_uid;
    a->gid = (uint32_t)st->st_gid;
    a->rdev = (uint64_t)st->st_rdev;
    a->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
    a->blocks = st->st_blocks < 0 ? 0 : (uint64_t)st->st_blocks;
    a->atime = time_of(st->st_atim);
    a->mtime = time_of(st->st_mtim);
    a->ctime = time_of(st->st_ctim);
}

static void statfs_of(const struct statvfs *s, struct wf_statfs *w)
{
    w->bsize = s->f_bsize;
    w->frsize = s->f_frsize;
    w->blocks = s->f_blocks;
    w->bfree = s->f_bfree;
    w->bavail = s->f_bavail;
    w->files = s->f_files;
    w->ffree = s->f_ffree;
    w->namemax = s->f_namemax;
}

static int timespec_of(struct wf_time t, struct timespec *ts)
{
    if (t.sec > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (t.nsec >= 1000000000u && t.nsec != (uint32_t)UTIME_NOW && t.nsec != (uint32_t)UTIME_OMIT)
        return -EINVAL;
    ts->tv_sec = (time_t)t.sec;
    ts->tv_nsec = (long)t.nsec;
    return 0;
}

/* ---- the owner extension ----------------------------------------------- */

/* create/mkdir/mknod/symlink may carry the caller's uid/gid (WF_EXT_OWNER).
 * The local directory provider applies them (see lfs_new_entry in localfs.c);
 * the callbacks of other providers have no caller parameter and create as
 * before. Set for the one call, forgotten afterwards. The provider keeps its
 * own copy of the ops, so localfs is recognised by the callback about to run
 * (which works only with a struct wf_localfs as ud). */
static int is_localfs(const struct wf_dispatch *dp, uint8_t type)
{
    const struct wf_provider_ops *o = dp->ops, *l = wf_localfs_ops();
    switch (type) {
    case WF_CREATE: return o->create && o->create == l->create;
    case WF_MKDIR: return o->mkdir && o->mkdir == l->mkdir;
    case WF_MKNOD: return o->mknod && o->mknod == l->mknod;
    case WF_SYMLINK: return o->symlink && o->symlink == l->symlink;
    default: return 0;
    }
}

static void owner_begin(const struct wf_dispatch *dp, const struct wf_msg *req)
{
    if (is_localfs(dp, req->type))
        wf_localfs_set_owner(dp->ud, (req->ext & WF_EXT_OWNER) != 0, (uid_t)req->uid, (gid_t)req->gid);
}

static void owner_end(const struct wf_dispatch *dp, const struct wf_msg *req)
{
    if (is_localfs(dp, req->type))
        wf_localfs_set_owner(dp->ud, 0, 0, 0);
}

/* ---- dispatch --------------------------------------------------------- */

static void count(struct wf_dispatch_stats *s, const struct wf_msg *req, int rc)
{
    if (!s || rc < 0)
        return;
    if (req->type == WF_OPEN || req->type == WF_CREATE)
        s->files_open++;
    else if (req->type == WF_RELEASE && s->files_open > 0)
        s->files_open--;
    else if (req->type == WF_WRITE)
        s->bytes_received += (uint64_t)rc;
}

#define CALL(fn, ...) (o->fn ? o->fn(dp->ud, __VA_ARGS__) : -ENOSYS)

int wf_dispatch_message(const struct wf_dispatch *dp, struct wf_conn *c, const uint8_t *buf, size_t len)
{
    struct wf_msg req;
    /* A response type is not a request we know: answer "unknown", whatever
     * its body (decoding it as a response could fail and drop the link). */
    int st = len >= 5 && (buf[4] & WF_RESPONSE) ? WF_ERR_UNKNOWN_TYPE : wf_decode(buf, len, &req);
    if (st == WF_ERR_UNKNOWN_TYPE && len >= 5) {
        req.id = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) | ((uint32_t)buf[2] << 8) | buf[3];
        req.type = buf[4];
    }
    struct wf_msg resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.handle = WF_NO_HANDLE;

    if (st == WF_ERR_UNKNOWN_TYPE || (st == WF_OK && (req.type == WF_UNKNOWN || (req.type & WF_RESPONSE)))) {
        if (dp->verbose)
            wf_debug("request %u: unknown type 0x%02x", (unsigned)req.id, (unsigned)req.type);
        resp.type = WF_RESPONSE; /* "unknown" response, nothing but id and type */
        return wf_conn_send(c, &resp);
    }
    if (st != WF_OK) {
        wf_error("malformed request (type 0x%02x, %zu bytes, error %d): closing the connection",
                 len >= 5 ? (unsigned)buf[4] : 0u, len, st);
        return -1;
    }
    resp.type = (uint8_t)(req.type | WF_RESPONSE);

    if (req.type == WF_GETCREDS) {
        const char *token = dp->token;
        if (!token && dp->ask_token)
            token = dp->ask_token(dp->ask_ctx);
        resp.path2 = wf_str_of(token ? token : "");
        if (dp->verbose)
            wf_debug("request %u: getcreds", (unsigned)req.id);
        return wf_conn_send(c, &resp);
    }

    const struct wf_provider_ops *o = dp->ops;
    char path[PATH_CAP], path2[PATH_CAP];
    int rc = copy_path(req.path, path);
    int two = req.type == WF_SYMLINK || req.type == WF_LINK || req.type == WF_RENAME;
    if (rc == 0 && two)
        rc = copy_path(req.path2, path2);

    if (rc == 0) {
        switch (req.type) {
        case WF_ACCESS:
            rc = CALL(access, path, wf_access_from_wire(req.access));
            break;
        case WF_GETATTR: {
            struct stat stt;
            memset(&stt, 0, sizeof stt);
            if ((req.ext & WF_EXT_HANDLE) && req.handle != WF_NO_HANDLE && dp->ops->fgetattr)
                rc = CALL(fgetattr, path, &stt, req.handle);
            else
                rc = CALL(getattr, path, &stt);
            if (rc >= 0)
                attr_of(&stt, &resp.attr);
            break;
        }
        case WF_READLINK: {
            rc = CALL(readlink, path, path2, WF_MAX_PATH);
            if (rc > (int)WF_MAX_PATH)
                rc = -ENAMETOOLONG;
            if (rc >= 0) {
                resp.path2.data = path2;
                resp.path2.len = (uint32_t)rc;
                rc = 0;
            }
            break;
        }
        case WF_SYMLINK: /* target travels in path2, linkpath in path */
            owner_begin(dp, &req);
            rc = CALL(symlink, path2, path);
            owner_end(dp, &req);
            break;
        case WF_LINK:
            rc = CALL(link, path, path2);
            break;
        case WF_RENAME:
            rc = CALL(rename, path, path2, wf_rename_from_wire(req.rename_flags));
            break;
        case WF_CHMOD:
            rc = CALL(chmod, path, wf_mode_from_wire(req.mode));
            break;
        case WF_CHOWN:
            rc = CALL(chown, path, (uid_t)req.uid, (gid_t)req.gid);
            break;
        case WF_TRUNCATE:
            rc = req.size > (uint64_t)INT64_MAX ? -EINVAL : CALL(truncate, path, (off_t)req.size, req.handle);
            break;
        case WF_FSYNC:
            rc = CALL(fsync, path, req.datasync ? 1 : 0, req.handle);
            break;
        case WF_OPEN: {
            uint64_t fh = WF_NO_FILE_HANDLE;
            rc = CALL(open, path, wf_oflags_from_wire(req.flags), &fh);
            resp.handle = fh;
            break;
        }
        case WF_MKNOD:
            owner_begin(dp, &req);
            rc = CALL(mknod, path, wf_mode_from_wire(req.mode), (dev_t)req.rdev);
            owner_end(dp, &req);
            break;
        case WF_CREATE: {
            uint64_t fh = WF_NO_FILE_HANDLE;
            owner_begin(dp, &req);
            rc = CALL(create, path, wf_mode_from_wire(req.mode), &fh);
            owner_end(dp, &req);
            resp.handle = fh;
            break;
        }
        case WF_RELEASE:
            rc = CALL(release, path, req.handle);
            break;
        case WF_UNLINK:
            rc = CALL(unlink, path);
            break;
        case WF_READ:
            if (dp->verbose) {
                char shown[512];
                wf_log_escape(req.path.data, req.path.len, shown, sizeof shown);
                wf_debug("request %u: read %s %u@%llu", (unsigned)req.id, shown, (unsigned)req.length,
                         (unsigned long long)req.offset);
            }
            return send_read(dp, c, &resp, &req, path) == 0 ? 0 : -1;
        case WF_WRITE:
            if (req.offset > (uint64_t)INT64_MAX) {
                rc = -EINVAL;
                break;
            }
            rc = CALL(write, path, req.data.data, req.data.len, (off_t)req.offset, req.handle);
            if (rc > (int)req.data.len)
                rc = -EIO;
            break;
        case WF_MKDIR:
            owner_begin(dp, &req);
            rc = CALL(mkdir, path, wf_mode_from_wire(req.mode));
            owner_end(dp, &req);
            break;
        case WF_READDIR:
            if (dp->verbose) {
                char shown[512];
                wf_log_escape(req.path.data, req.path.len, shown, sizeof shown);
                wf_debug("request %u: readdir %s", (unsigned)req.id, shown);
            }
            return send_readdir(dp, c, &resp, path, req.ext) == 0 ? 0 : -1;
        case WF_RMDIR:
            rc = CALL(rmdir, path);
            break;
        case WF_STATFS: {
            struct statvfs sv;
            memset(&sv, 0, sizeof sv);
            rc = CALL(statfs, path, &sv);
            if (rc >= 0)
                statfs_of(&sv, &resp.statfs);
            break;
        }
        case WF_UTIMENS: {
            struct timespec tv[2];
            rc = timespec_of(req.atime, &tv[0]);
            if (rc == 0)
                rc = timespec_of(req.mtime, &tv[1]);
            if (rc == 0)
                rc = CALL(utimens, path, tv, req.handle);
            break;
        }
        default:
            resp.type = WF_RESPONSE;
            return wf_conn_send(c, &resp);
        }
    }

    count(dp->stats, &req, rc);
    /* Only read and write answer a byte count; elsewhere success is 0. */
    if (rc > 0 && req.type != WF_WRITE)
        rc = 0;
    if (rc < 0) {
        resp.handle = WF_NO_HANDLE;
        resp.path2.data = NULL;
        resp.path2.len = 0;
    }
    resp.result = wf_result_to_wire(rc);
    if (dp->verbose) {
        /* the path as sent (path is unset when it was refused): peer text */
        char shown[512];
        wf_log_escape(req.path.data, req.path.len, shown, sizeof shown);
        wf_debug("request %u: %s %s -> %d", (unsigned)req.id, wf_type_name(req.type), shown, rc);
    }
    if (wf_conn_send(c, &resp) == 0)
        return 0;
    /* Could not encode the answer (should not happen): still answer. */
    wf_error("cannot encode the %s response; answering EIO", wf_type_name(req.type));
    memset(&resp.attr, 0, sizeof resp.attr);
    resp.path2.data = NULL;
    resp.path2.len = 0;
    resp.result = wf_result_to_wire(-EIO);
    return wf_conn_send(c, &resp);
}
