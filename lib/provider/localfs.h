/* The local directory provider (public part: webfuse/localfs.h) plus hooks
 * for tests, which are not exported from the shared library.
 *
 * Every path from the service is resolved beneath a directory fd opened once
 * at creation, in the kernel (openat2 RESOLVE_BENEATH, or a component walk
 * that refuses symlinks and ".." where openat2 is missing). The last
 * component is handled with *at() calls that never follow a symlink, so a
 * symlink is data to the provider; only open() follows in-tree symlinks, and
 * only beneath the root. The resolution lives in localfs_path.c. */
#ifndef WF_LOCALFS_H
#define WF_LOCALFS_H

#include "webfuse/localfs.h"

#define WF_LOCALFS_MAX_HANDLES 1024
/* Descriptors kept free for everything but open files (path walks, readdir,
 * sockets): under a limit of 1024, open files get 1024 minus this. */
#define WF_LOCALFS_FD_RESERVE 64

/* The creator of the entries the following create/mkdir/mknod/symlink calls
 * make (the owner extension, WF_EXT_OWNER): known = 0 forgets it. The
 * dispatcher sets it around each such request. */
void wf_localfs_set_owner(struct wf_localfs *fs, int known, uid_t uid, gid_t gid);

/* For tests: forces the fallback path walk used when openat2 is missing. */
void wf_localfs_disable_openat2(struct wf_localfs *fs);

/* Whether this kernel answers openat2 (else every wf_localfs falls back to
 * the walk on its first call; e.g. kernels < 5.6, qemu-user 7.2). */
int wf_localfs_openat2_available(void);

/* Number of open handles (for tests and diagnostics). */
unsigned wf_localfs_open_handles(const struct wf_localfs *fs);

#endif
