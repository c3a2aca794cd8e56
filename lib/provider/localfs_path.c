/* Path resolution beneath the served directory: openat2 RESOLVE_BENEATH where
 * the kernel has it, else a walk one component at a time that refuses
 * symlinks and "..". See localfs_path.h. */
#include "provider/localfs_path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/wf_compat.h"

/* Opens every directory of rel in turn, never following a symlink.
 * Returns an O_PATH fd or -errno. */
static int walk_dirs(const struct lfs_root *root, const char *rel)
{
    char tmp[LFS_PATH_CAP];
    size_t len = strlen(rel);
    if (len >= sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, rel, len + 1);

    int cur = dup(root->fd);
    if (cur < 0)
        return -errno;
    char *save = NULL;
    for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            close(cur);
            return -EACCES;
        }
        int next = openat(cur, c, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        int err = errno;
        close(cur);
        if (next < 0)
            return -err;
        cur = next;
    }
    return cur;
}

/* The fallback of lfs_open_beneath: walks the directories, then opens the
 * last component without following it. */
static int open_by_walk(const struct lfs_root *root, const char *rel, int flags, mode_t mode)
{
    char tmp[LFS_PATH_CAP];
    size_t len = strlen(rel);
    if (len >= sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, rel, len + 1);
    char *slash = strrchr(tmp, '/');
    const char *name = tmp;
    if (slash) {
        *slash = '\0';
        name = slash + 1;
    }
    int dirfd = walk_dirs(root, slash ? tmp : "");
    if (dirfd < 0)
        return dirfd;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW, mode);
    int err = errno;
    close(dirfd);
    return fd >= 0 ? fd : -err;
}

int lfs_open_beneath(struct lfs_root *root, const char *rel, int flags, mode_t mode)
{
    flags |= O_CLOEXEC;
    if (!root->no_openat2) {
        int takes_mode = (flags & O_CREAT) || (WF_O_TMPFILE && (flags & WF_O_TMPFILE) == WF_O_TMPFILE);
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)(unsigned)flags;
        how.mode = takes_mode ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        int fd = wf_openat2(root->fd, rel, &how);
        if (fd >= 0)
            return fd;
        if (errno != ENOSYS)
            return errno == EXDEV ? -EACCES : -errno; /* EXDEV: tried to leave the tree */
        root->no_openat2 = 1;
    }
    return open_by_walk(root, rel, flags, mode);
}

int lfs_check_path(const char *path, struct lfs_at *at)
{
    at->dirfd = -1;
    at->owned = 0;
    size_t len = strlen(path);
    if (len >= LFS_PATH_CAP)
        return -ENAMETOOLONG;
    while (*path == '/')
        path++, len--;
    while (len > 0 && path[len - 1] == '/')
        len--;
    memcpy(at->buf, path, len);
    at->buf[len] = '\0';
    memcpy(at->relbuf, at->buf, len + 1);

    /* Component check (the kernel confines anyway; this keeps the semantics simple). */
    const char *c = at->buf;
    while (*c) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return -EINVAL;
        if (n > 255)
            return -ENAMETOOLONG;
        c += n;
        while (*c == '/')
            c++;
    }
    at->name = len == 0 ? "." : at->buf;
    at->rel = len == 0 ? "." : at->relbuf;
    return 0;
}

int lfs_resolve(struct lfs_root *root, const char *path, struct lfs_at *at)
{
    int rc = lfs_check_path(path, at);
    if (rc < 0)
        return rc;
    char *slash = strrchr(at->buf, '/');
    if (!slash) { /* the root itself, or a name directly beneath it */
        at->dirfd = root->fd;
        return 0;
    }
    *slash = '\0';
    at->name = slash + 1;
    /* strip a run of slashes before the name ("a//b") */
    for (char *s = slash - 1; s >= at->buf && *s == '/'; s--)
        *s = '\0';

    int fd = lfs_open_beneath(root, at->buf, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    at->dirfd = fd;
    at->owned = 1;
    return 0;
}

void lfs_release_at(struct lfs_at *at)
{
    if (at->owned && at->dirfd >= 0)
        close(at->dirfd);
    at->dirfd = -1;
    at->owned = 0;
}

int lfs_is_root(const struct lfs_at *at)
{
    return strcmp(at->name, ".") == 0;
}

int lfs_openat2_available(void)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    int fd = wf_openat2(AT_FDCWD, "/", &how);
    if (fd >= 0)
        close(fd);
    return fd >= 0 || errno != ENOSYS;
}
