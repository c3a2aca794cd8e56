/* The open-file registry (see open_files.h). */
#include "open_files.h"

#include <stdlib.h>
#include <string.h>

#include "prefetch.h"
#include "service_int.h"

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

struct wf_file *wf_file_new(struct wf_service *s, fuse_ino_t ino, uint64_t handle, int flags)
{
    struct wf_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->handle = handle;
    f->flags = flags;
    wf_file_bind(s, f, ino);
    track(s, &f->link);
    return f;
}

void wf_file_bind(struct wf_service *s, struct wf_file *f, fuse_ino_t ino)
{
    f->ino = ino;
    struct wf_node *n = wf_nodes_get(&s->nodes, ino);
    if (n)
        f->ident = (struct wf_ident){ .size = n->size, .pino = n->pino, .mtime_sec = n->mtime_sec,
                                      .mtime_nsec = n->mtime_nsec, .known = true,
                                      .changed_here = n->changed_here };
}

static void ignore_reply(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
}

/* Gives the provider's handle back (only the current provider knows it). */
static void release_handle(struct wf_service *s, struct wf_file *f)
{
    if (f->handle == WF_NO_HANDLE || (s->state != WF_SESSION_ACTIVE && s->state != WF_SESSION_RESUMING))
        return;
    char path[WF_MAX_PATH + 1];
    if (wf_nodes_path(&s->nodes, f->ino, NULL, path, sizeof path, 1) < 0)
        strcpy(path, "/"); /* unknown: the handle alone identifies the file */
    struct wf_op *op = wf_op_new(NULL);
    if (!op)
        return;
    op->flags = WF_OP_CONTROL | WF_OP_SESSION_ONLY; /* may go out while a resume re-opens others */
    struct wf_msg m = { .type = WF_RELEASE, .path = wf_str_of(path), .handle = f->handle };
    wf_requests_send(&s->requests, op, &m, ignore_reply);
}

void wf_file_close(struct wf_service *s, struct wf_file *f)
{
    if (!f)
        return;
    wf_prefetch_drop(f->pf);
    f->pf = NULL;
    f->released = true;
    if (f->busy) /* the last request using it finishes the job */
        return;
    release_handle(s, f);
    untrack(&f->link);
    free(f);
}

void wf_file_hold(struct wf_file *f)
{
    f->busy++;
}

void wf_file_unhold(struct wf_service *s, struct wf_file *f)
{
    if (--f->busy == 0 && f->released)
        wf_file_close(s, f);
}

struct wf_dir *wf_dir_new(struct wf_service *s)
{
    struct wf_dir *d = calloc(1, sizeof *d);
    if (d) {
        d->link.is_dir = true;
        track(s, &d->link);
    }
    return d;
}

void wf_dir_clear(struct wf_dir *d)
{
    free(d->names);
    free(d->attrs);
    d->names = NULL;
    d->attrs = NULL;
    d->count = 0;
}

void wf_dir_free(struct wf_dir *d)
{
    untrack(&d->link);
    wf_dir_clear(d);
    free(d);
}

void wf_open_each_file(struct wf_service *s, void (*fn)(struct wf_service *s, struct wf_file *f, void *ud),
                       void *ud)
{
    for (struct wf_open *o = s->open_items.next; o && o != &s->open_items; o = o->next)
        if (!o->is_dir)
            fn(s, (struct wf_file *)o, ud);
}

struct wf_file *wf_open_find(struct wf_service *s, fuse_ino_t ino)
{
    for (struct wf_open *o = s->open_items.next; o && o != &s->open_items; o = o->next) {
        struct wf_file *f = (struct wf_file *)o;
        if (!o->is_dir && f->ino == ino && f->handle != WF_NO_HANDLE && !f->released)
            return f;
    }
    return NULL;
}

static void invalidate(struct wf_service *s, struct wf_file *f, void *ud)
{
    f->handle = WF_NO_HANDLE;
    wf_prefetch_drop(f->pf);
    f->pf = NULL;
}

void wf_open_invalidate_all(struct wf_service *s)
{
    wf_open_each_file(s, invalidate, NULL);
}

void wf_open_free_all(struct wf_service *s)
{
    struct wf_open *head = &s->open_items;
    while (head->next && head->next != head) {
        struct wf_open *o = head->next;
        if (o->is_dir) {
            wf_dir_free((struct wf_dir *)o);
        } else {
            untrack(o);
            wf_prefetch_drop(((struct wf_file *)o)->pf);
            free(o);
        }
    }
}
