/* Path resolution for the local directory provider: every path from the
 * service is checked and resolved beneath one directory fd, in the kernel.
 * See localfs.h for the confinement rules. */
#ifndef WF_LOCALFS_PATH_H
#define WF_LOCALFS_PATH_H

#include <sys/types.h>

#define LFS_PATH_CAP 4097 /* WF_MAX_PATH + terminator */

/* The served directory. */
struct lfs_root {
    int fd;         /* O_PATH | O_DIRECTORY */
    int no_openat2; /* set once openat2 answered ENOSYS (or by a test) */
};

/* A resolved target: its parent directory and the last component. */
struct lfs_at {
    int dirfd;
    int owned;        /* dirfd is ours to close */
    const char *name; /* "." for the root itself */
    const char *rel;  /* whole path relative to the root ("." for the root) */
    char buf[LFS_PATH_CAP];
    char relbuf[LFS_PATH_CAP];
};

/* Checks path (no "." or ".." components, length limits) and fills at->rel;
 * at->dirfd stays -1. Returns 0 or -errno. */
int lfs_check_path(const char *path, struct lfs_at *at);

/* lfs_check_path, then opens the parent directory beneath the root.
 * Returns 0 (release at with lfs_release_at) or -errno. */
int lfs_resolve(struct lfs_root *root, const char *path, struct lfs_at *at);

void lfs_release_at(struct lfs_at *at);

int lfs_is_root(const struct lfs_at *at);

/* Opens rel (relative to the root) with flags, following in-tree symlinks
 * but never leaving the tree (openat2 RESOLVE_BENEATH); without openat2 no
 * symlink is followed at all. Returns an fd or -errno. */
int lfs_open_beneath(struct lfs_root *root, const char *rel, int flags, mode_t mode);

/* Whether this kernel answers openat2 (for tests). */
int lfs_openat2_available(void);

#endif
