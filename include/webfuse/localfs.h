/* libwebfuse: a ready-made wf_provider_ops that serves a local directory
 * (what webfuse_provider uses).
 *
 * Every path from the service is resolved beneath a directory opened once at
 * creation, in the kernel (openat2 RESOLVE_BENEATH, or a component walk that
 * refuses symlinks and ".." where openat2 is missing). A symlink is data to
 * the provider; only open() follows in-tree symlinks, and only beneath the
 * root. A wf_localfs belongs to the thread that runs its provider. */
#ifndef WEBFUSE_LOCALFS_H
#define WEBFUSE_LOCALFS_H

#include "webfuse/api.h"
#include "webfuse/provider.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wf_localfs;

/* Opens root (must be a directory); read_only nonzero makes every change fail
 * with EROFS. Returns NULL with errno set on failure (EINVAL for NULL).
 * Raises the process's soft limit on open files to its hard limit: up to
 * 1024 files are kept open for the service, fewer (the limit minus 64) when
 * the limit stays lower. */
WF_API struct wf_localfs *wf_localfs_create(const char *root, int read_only);

/* The callbacks; pass the struct wf_localfs * as their user data:
 *   wf_provider_create(wf_localfs_ops(), fs, &config) */
WF_API const struct wf_provider_ops *wf_localfs_ops(void);

/* Closes every handle and the root. NULL is allowed. Destroy the provider
 * first. */
WF_API void wf_localfs_destroy(struct wf_localfs *fs);

#ifdef __cplusplus
}
#endif
#endif
