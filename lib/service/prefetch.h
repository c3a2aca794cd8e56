/* Small-file prefetch. Reading a small file costs two round trips, open then
 * read. For a file opened read-only that its last attributes showed small,
 * a read without a handle (the provider opens the file for it) follows the
 * open at once, and the kernel's first read is answered from it. */
#ifndef WF_PREFETCH_H
#define WF_PREFETCH_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#define WF_PREFETCH_MAX (128u * 1024u)

struct wf_service;
struct wf_prefetch;
struct wf_op;

/* Sends the prefetching read for ino; NULL if it could not be started. */
struct wf_prefetch *wf_prefetch_start(struct wf_service *s, fuse_ino_t ino);
/* The owner lets go: freed now, or on arrival if still on its way. NULL is allowed. */
void wf_prefetch_drop(struct wf_prefetch *pf);
/* Answers the kernel's first read (op: offset 0, op->u.io.size bytes) from
 * pf, now or on its arrival, or with a real read. Takes pf. */
void wf_prefetch_serve(struct wf_service *s, struct wf_op *op, struct wf_prefetch *pf);
/* Data of ino is about to change: what was prefetched for it is dropped. */
void wf_prefetch_invalidate(struct wf_service *s, fuse_ino_t ino);

#endif
