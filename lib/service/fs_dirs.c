/* FUSE directory operations: opendir, readdir(plus), releasedir. A listing
 * is fetched once per open directory (readdir by path) and handed to the
 * kernel in chunks; in plus mode, names whose attributes came along become
 * lookups, so a following stat needs no request. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct wf_service *s = svc(req);
    struct wf_dir *d = wf_dir_new(s);
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fi->fh = (uintptr_t)d;
    /* The kernel may keep a listing (like attributes, until the directory's
     * mtime changes), but only one this session gave it: a listing from an
     * earlier session, or the empty root, is dropped. */
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    fi->cache_readdir = !fs_offline(s);
    fi->keep_cache = !fs_offline(s) && n && n->listed == s->generation + 1;
    if (fuse_reply_open(req, fi) != 0)
        wf_dir_free(d);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    wf_dir_free(dir_of(fi));
    fuse_reply_err(req, 0);
}

/* Adds entry i (0 ".", 1 "..", then the names) to buf. Returns the bytes
 * used, or 0 when the entry does not fit. */
static size_t add_entry(struct wf_service *s, fuse_req_t req, fuse_ino_t ino, const struct wf_dir *d,
                        size_t i, const char *name, char *buf, size_t room, bool plus)
{
    struct wf_node *n = i >= 2 ? wf_nodes_find(&s->nodes, ino, name) : NULL;
    struct fuse_entry_param e = { .attr.st_ino = n ? n->ino : (fuse_ino_t)-1 - i }; /* type unknown: ls stats */
    if (!plus) {
        size_t need = fuse_add_direntry(req, buf, room, name, &e.attr, (off_t)i + 1);
        return need <= room ? need : 0;
    }
    const struct wf_attr *a = i >= 2 && d->attrs && fs_attr_usable(0, &d->attrs[i - 2]) ? &d->attrs[i - 2] : NULL;
    if (a && !(n = wf_nodes_lookup(&s->nodes, ino, name)))
        a = NULL;
    if (a) {
        e.ino = n->ino;
        fs_remember_attrs(s, n->ino, a);
        fs_fill_stat(s, &e.attr, a, n->ino);
        e.attr_timeout = fs_attr_timeout(s, a);
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
static void emit_dir(struct wf_service *s, fuse_req_t req, fuse_ino_t ino, struct wf_dir *d, size_t size,
                     off_t off, bool plus)
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
            if ((off_t)i >= off && n && d->attrs && fs_attr_usable(0, &d->attrs[i - 2]))
                wf_nodes_forget(&s->nodes, n->ino, 1);
        }
    }
    free(buf);
}

/* Keeps the names a listing may show: not "." or "..", not empty, no '/'
 * or NUL, at most NAME_MAX (such names could not be looked up anyway). */
static bool showable(struct wf_str item)
{
    bool dot = (item.len == 1 && item.data[0] == '.') ||
               (item.len == 2 && item.data[0] == '.' && item.data[1] == '.');
    return !dot && item.len > 0 && item.len <= NAME_MAX && !memchr(item.data, '/', item.len) &&
           !memchr(item.data, 0, item.len);
}

static int load_listing(struct wf_dir *d, const struct wf_msg *resp)
{
    bool with_attrs = resp->attrs.count == resp->names.count && resp->names.count > 0;
    char *names = malloc(resp->names.raw_len + 1);
    struct wf_attr *attrs = with_attrs ? malloc(sizeof *attrs * resp->names.count) : NULL;
    if (!names || (with_attrs && !attrs)) {
        free(names);
        free(attrs);
        return -ENOMEM;
    }
    size_t count = 0, used = 0, pos = 0;
    struct wf_str item;
    for (uint32_t i = 0; wf_strings_next(&resp->names, &pos, &item); i++) {
        if (!showable(item))
            continue;
        memcpy(names + used, item.data, item.len);
        used += item.len;
        names[used++] = '\0';
        if (attrs)
            wf_attrs_get(&resp->attrs, i, &attrs[count]);
        count++;
    }
    wf_dir_clear(d);
    d->names = names;
    d->attrs = attrs;
    d->count = count;
    d->loaded = true;
    return 0;
}

static void readdir_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    if (resp)
        err = load_listing(op->u.list.dir, resp);
    if (err < 0) {
        op_reply_err(op, err);
        return;
    }
    struct wf_node *n = wf_nodes_get(&s->nodes, op->ino);
    if (n)
        n->listed = s->generation + 1;
    fuse_req_t req = op->req;
    op->req = NULL; /* replied by emit_dir */
    emit_dir(s, req, op->ino, op->u.list.dir, op->u.list.size, op->u.list.off, op->u.list.plus);
}

static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
                     bool plus)
{
    struct wf_service *s = svc(req);
    struct wf_dir *d = dir_of(fi);
    if (fs_offline(s)) {
        wf_dir_clear(d);
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
    struct wf_op *op = fs_new_op(req, ino, 0, NULL);
    if (!op)
        return;
    op->u.list.dir = d;
    op->u.list.size = size;
    op->u.list.off = off;
    op->u.list.plus = plus;
    struct wf_msg m = { .type = WF_READDIR, .ext = plus ? WF_EXT_READDIR_ATTRS : 0 };
    fs_send(s, op, &m, ino, NULL, readdir_done);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    list_dir(req, ino, size, off, fi, false);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    list_dir(req, ino, size, off, fi, true);
}
