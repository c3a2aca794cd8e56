/* Small-file prefetch (see prefetch.h). */
#include "prefetch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "service_int.h"

struct wf_prefetch {
    struct wf_op *waiting; /* the kernel's first read, while the data is on its way */
    char *data;
    uint32_t len;
    int state;   /* 1 on its way, 0 arrived, < 0 failed */
    bool orphan; /* nobody wants it any more: freed on arrival */
};

void wf_prefetch_drop(struct wf_prefetch *pf)
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

/* Replies from pf if it holds what op asks for (the whole file, or at least
 * the bytes asked), else sends a real read. Frees pf. */
static void answer(struct wf_service *s, struct wf_op *op, struct wf_prefetch *pf)
{
    size_t size = op->u.io.size;
    if (pf->state == 0 && (pf->len < WF_PREFETCH_MAX || size <= pf->len)) {
        op_reply_buf(op, pf->data, size < pf->len ? size : pf->len);
        wf_op_finish(op);
    } else {
        struct wf_msg m = { .type = WF_READ, .length = (uint32_t)size, .offset = 0 };
        fs_send(s, op, &m, op->ino, NULL, fs_read_done);
    }
    free(pf->data);
    free(pf);
}

void wf_prefetch_serve(struct wf_service *s, struct wf_op *op, struct wf_prefetch *pf)
{
    if (pf->state == 1)
        pf->waiting = op; /* answered when the data arrives */
    else
        answer(s, op, pf);
}

static void prefetch_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_prefetch *pf = op->u.prefetch.pf;
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
        answer(s, pf->waiting, pf);
}

struct wf_prefetch *wf_prefetch_start(struct wf_service *s, fuse_ino_t ino)
{
    struct wf_prefetch *pf = calloc(1, sizeof *pf);
    struct wf_op *op = pf ? wf_op_new(NULL) : NULL;
    if (!op) {
        free(pf);
        return NULL;
    }
    pf->state = 1;
    op->u.prefetch.pf = pf;
    op->ino = ino;
    struct wf_msg m = { .type = WF_READ, .length = WF_PREFETCH_MAX, .offset = 0, .handle = WF_NO_HANDLE };
    fs_send(s, op, &m, ino, NULL, prefetch_done);
    return pf;
}

static void drop_for(struct wf_service *s, struct wf_file *f, void *ud)
{
    if (f->ino == *(const fuse_ino_t *)ud && f->pf) {
        wf_prefetch_drop(f->pf);
        f->pf = NULL;
    }
}

void wf_prefetch_invalidate(struct wf_service *s, fuse_ino_t ino)
{
    wf_open_each_file(s, drop_for, &ino);
}
