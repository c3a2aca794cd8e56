/* Shared by the FUSE operation files: fs_ops.c (entries, attributes,
 * names, the operation table), fs_files.c (open files), fs_dirs.c
 * (directory listings). Handlers are named fs_<operation>. */
#ifndef WF_FS_H
#define WF_FS_H

#include "service_int.h"

static inline struct wf_service *svc(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* No provider, no session: the mount is an empty root. */
static inline bool fs_offline(const struct wf_service *s)
{
    return s->state == WF_SESSION_NONE;
}

/* A new op for (ino) or (parent, name); replies ENOMEM and returns NULL on failure. */
struct wf_op *fs_new_op(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name);
/* Sends m about (ino, name) for op; a path that cannot be built fails op. */
void fs_send(struct wf_service *s, struct wf_op *op, struct wf_msg *m, fuse_ino_t ino, const char *name,
             wf_op_done done);
/* The usual shape: a new op for (ino) or (parent, name), one request. */
void fs_request(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name, struct wf_msg *m,
                wf_op_done done);

/* New entries: the caller's ids travel along (WF_EXT_OWNER), for the
 * provider to apply where it may. */
void fs_set_creator(const struct wf_service *s, fuse_req_t req, struct wf_msg *m);

/* Attributes */
void fs_fill_stat(const struct wf_service *s, struct stat *st, const struct wf_attr *a, fuse_ino_t ino);
bool fs_attr_usable(fuse_ino_t ino, const struct wf_attr *a);
void fs_remember_attrs(struct wf_service *s, fuse_ino_t ino, const struct wf_attr *a);
double fs_attr_timeout(const struct wf_service *s, const struct wf_attr *a);

/* Completions used across files */
void fs_entry_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);
void fs_read_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);
void fs_status_done(struct wf_service *s, struct wf_op *op, const struct wf_msg *resp, int err);

/* fs_files.c */
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
/* A flush or fsync waiting for a file's writes: answered EINTR now. */
void fs_cancel_parked(struct wf_service *s, struct wf_op *op);

/* fs_dirs.c */
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

#endif
