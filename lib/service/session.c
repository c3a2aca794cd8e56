/* The session state machine (see session.h). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "proto/wf_convert.h"
#include "service_int.h"
#include "util/wf_log.h"

static void on_grace_over(lws_sorted_usec_list_t *sul);

void wf_session_init(struct wf_service *s)
{
    s->state = WF_SESSION_NONE;
}

void wf_session_connected(struct wf_service *s)
{
    wf_requests_connect(&s->requests, &s->conn, false);
}

/* Everything outstanding fails, no handle is usable, the mount is empty. */
static void end_session(struct wf_service *s)
{
    lws_sul_cancel(&s->grace_sul);
    if (s->state != WF_SESSION_NONE)
        s->generation++; /* directory listings of this session are not kept */
    s->state = WF_SESSION_NONE;
    s->resume_epoch++;
    wf_open_invalidate_all(s);
    wf_requests_disconnect(&s->requests, false);
}

static void on_grace_over(lws_sorted_usec_list_t *sul)
{
    struct wf_service *s = lws_container_of(sul, struct wf_service, grace_sul);
    wf_warn("no provider came back within %d s: failing %zu held requests", s->resume_timeout_secs,
            s->requests.held_count);
    end_session(s);
}

void wf_session_connection_gone(struct wf_service *s, bool on_purpose)
{
    bool hold = !on_purpose && s->resume_timeout_secs > 0 && s->state != WF_SESSION_NONE;
    if (!hold) {
        if (s->state != WF_SESSION_NONE)
            wf_info("session ended");
        end_session(s);
        return;
    }
    bool was_holding = s->state == WF_SESSION_HOLDING;
    s->state = WF_SESSION_HOLDING;
    s->resume_epoch++; /* late answers to re-opens are ignored */
    wf_requests_disconnect(&s->requests, true);
    if (!was_holding) {
        wf_info("provider lost: holding %zu requests for up to %d s", s->requests.held_count,
                s->resume_timeout_secs);
        lws_sul_schedule(s->ctx, 0, &s->grace_sul, on_grace_over,
                         (lws_usec_t)s->resume_timeout_secs * LWS_US_PER_SEC);
    }
}

/* ---- resume: re-open every open file, then send what was held ---- */

static void resume_done(struct wf_service *s)
{
    s->state = WF_SESSION_ACTIVE;
    wf_info("session resumed: sending %zu held requests", s->requests.held_count);
    wf_requests_release_held(&s->requests);
}

/* The file as the new provider has it is the one that was open: same inode
 * number where both know one; for a file opened read-only also the same
 * size and mtime (writes of our own change those of a writable one). */
static bool same_file(struct wf_service *s, const struct wf_file *f, const struct wf_attr *a)
{
    if (!S_ISREG(wf_mode_from_wire(a->mode)))
        return false;
    if (!f->ident.known)
        return true;
    if (f->ident.pino && a->ino && f->ident.pino != a->ino)
        return false;
    if ((f->flags & O_ACCMODE) != O_RDONLY)
        return true;
    const struct wf_node *n = wf_nodes_get(&s->nodes, f->ino);
    if (!n || n->changed_here != f->ident.changed_here)
        return true; /* changed through the mount since it was opened */
    return a->size == f->ident.size && a->mtime.sec == f->ident.mtime_sec && a->mtime.nsec == f->ident.mtime_nsec;
}

static bool reopen_current(const struct wf_service *s, const struct wf_op *op)
{
    return op->u.reopen.epoch == s->resume_epoch && s->state == WF_SESSION_RESUMING;
}

static void reopen_finished(struct wf_service *s, struct wf_file *f, bool current)
{
    f->reopening = false;
    wf_file_unhold(s, f); /* frees it if it was closed meanwhile */
    if (current && --s->reopen_pending == 0)
        resume_done(s);
}

static void mark_changed(struct wf_file *f, const char *why)
{
    wf_warn("an open file %s while the provider was away: its reads and writes now fail", why);
    f->handle = WF_NO_HANDLE;
}

static void reopen_open_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *f = op->u.reopen.file;
    bool current = reopen_current(s, op);
    if (current && resp)
        f->handle = resp->handle;
    else if (current)
        mark_changed(f, "could not be opened again");
    reopen_finished(s, f, current);
}

/* Sends request m about f's path for a re-open step. */
static void reopen_send(struct wf_service *s, struct wf_op *op, struct wf_msg *m, wf_op_done done)
{
    char path[WF_MAX_PATH + 1];
    int len = op->name ? wf_nodes_path(&s->nodes, op->parent, op->name, path, sizeof path, 0)
                       : wf_nodes_path(&s->nodes, op->ino, NULL, path, sizeof path, 0);
    op->done = done;
    op->type = m->type;
    if (len < 0) { /* unlinked: nothing to re-open by path */
        wf_requests_fail(&s->requests, op, len);
        return;
    }
    m->path = (struct wf_str){ path, (uint32_t)len };
    wf_requests_send(&s->requests, op, m, done);
}

static void reopen_stat_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err)
{
    struct wf_file *f = op->u.reopen.file;
    if (!reopen_current(s, op)) {
        reopen_finished(s, f, false);
        return;
    }
    if (!resp || !same_file(s, f, &resp->attr)) {
        mark_changed(f, resp ? "changed" : "vanished");
        reopen_finished(s, f, true);
        return;
    }
    struct wf_msg m = { .type = WF_OPEN, .flags = wf_oflags_to_wire(f->flags) };
    reopen_send(s, op, &m, reopen_open_done);
}

static void reopen(struct wf_service *s, struct wf_file *f, void *ud)
{
    /* A released file still in use (writes answered early, a held getattr)
     * is re-opened too: its requests must not carry the old provider's
     * handle, which may name another file on the new one. Its release goes
     * out with the new handle once the last request is done. */
    if (f->handle == WF_NO_HANDLE || f->reopening)
        return;
    struct wf_op *op = wf_op_new(NULL);
    if (!op) {
        mark_changed(f, "could not be opened again (no memory)");
        return;
    }
    op->flags = WF_OP_CONTROL;
    op->ino = f->ino;
    if (f->ino == 0 && f->create_name) { /* created, its entry still on its way: by name */
        op->parent = f->create_parent;
        op->name = strdup(f->create_name);
        if (!op->name) {
            wf_op_free(op);
            mark_changed(f, "could not be opened again (no memory)");
            return;
        }
    }
    op->u.reopen.file = f;
    op->u.reopen.epoch = s->resume_epoch;
    f->reopening = true;
    wf_file_hold(f);
    s->reopen_pending++;
    struct wf_msg m = { .type = WF_GETATTR };
    reopen_send(s, op, &m, reopen_stat_done);
}

void wf_session_begin(struct wf_service *s)
{
    if (s->state != WF_SESSION_HOLDING) {
        s->state = WF_SESSION_ACTIVE;
        wf_requests_release_held(&s->requests); /* nothing held: requests flow from now on */
        return;
    }
    lws_sul_cancel(&s->grace_sul);
    s->state = WF_SESSION_RESUMING;
    s->resume_epoch++;
    s->reopen_pending = 1; /* until every re-open is under way */
    wf_info("provider back: re-opening open files, then %zu held requests", s->requests.held_count);
    wf_open_each_file(s, reopen, NULL);
    if (s->state == WF_SESSION_RESUMING && --s->reopen_pending == 0)
        resume_done(s);
}

void wf_session_cleanup(struct wf_service *s)
{
    lws_sul_cancel(&s->grace_sul);
    s->state = WF_SESSION_NONE;
    s->resume_epoch++;
    wf_requests_cleanup(&s->requests);
}
