/* Local directory provider: the operations, on top of the path resolution
 * in localfs_path.c and a table of open handles. See localfs.h for the
 * confinement rules. */
#include "provider/localfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "provider/localfs_path.h"
#include "util/wf_compat.h"
#include "util/wf_fd_limit.h"

struct wf_localfs {
    struct lfs_root root;
    int read_only;
    int owner_set; /* the creator of the next new entry is known (WF_EXT_OWNER) */
    uid_t owner_uid;
    gid_t owner_gid;
    unsigned nopen;
    unsigned max_open; /* WF_LOCALFS_MAX_HANDLES, or fewer under a low limit on open files */
    unsigned hint;
    int fds[WF_LOCALFS_MAX_HANDLES]; /* -1: free */
};

/* ---- handles --------------------------------------------------------- */

static int lfs_handle_add(struct wf_localfs *fs, int fd, uint64_t *fh)
{
    if (fs->nopen >= fs->max_open) {
        close(fd);
        return -EMFILE;
    }
    for (unsigned i = 0; i < WF_LOCALFS_MAX_HANDLES; i++) {
        unsigned slot = (fs->hint + i) % WF_LOCALFS_MAX_HANDLES;
        if (fs->fds[slot] < 0) {
            fs->fds[slot] = fd;
            fs->nopen++;
            fs->hint = (slot + 1) % WF_LOCALFS_MAX_HANDLES;
            *fh = slot;
            return 0;
        }
    }
    close(fd);
    return -EMFILE;
}

static int lfs_handle_fd(const struct wf_localfs *fs, uint64_t fh)
{
    if (fh >= WF_LOCALFS_MAX_HANDLES || fs->fds[fh] < 0)
        return -EBADF;
    return fs->fds[fh];
}

static void lfs_close_all(struct wf_localfs *fs)
{
    for (unsigned i = 0; i < WF_LOCALFS_MAX_HANDLES; i++) {
        if (fs->fds[i] >= 0)
            close(fs->fds[i]);
        fs->fds[i] = -1;
    }
    fs->nopen = 0;
    fs->hint = 0;
}

/* ---- operations ------------------------------------------------------ */

enum { LFS_READ, LFS_WRITE };

/* Resolves path to (parent, name) for an operation that reads or writes
 * (LFS_WRITE fails with EROFS on a read-only provider); a path naming the
 * root itself fails with root_err (0: the root is allowed).
 * Returns 0 (release at) or -errno. */
static int lfs_target(struct wf_localfs *fs, const char *path, struct lfs_at *at, int access, int root_err)
{
    if (access == LFS_WRITE && fs->read_only)
        return -EROFS;
    int rc = lfs_resolve(&fs->root, path, at);
    if (rc == 0 && root_err && lfs_is_root(at)) {
        lfs_release_at(at);
        rc = root_err;
    }
    return rc;
}

/* Releases at and turns a libc result (-1 with errno) into 0 or -errno. The
 * result is evaluated as an argument, so errno is still the call's. */
static int lfs_done(struct lfs_at *at, int result)
{
    int err = errno;
    lfs_release_at(at);
    return result < 0 ? -err : 0;
}

/* Opens the last component of a resolved target without following a symlink
 * and only if it is a regular file (no device or FIFO side effects). */
static int lfs_open_regular(struct lfs_at *at, int flags)
{
    struct stat st;
    if (fstatat(at->dirfd, at->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    int fd = openat(at->dirfd, at->name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

/* The fd an operation works on: the open handle when the service sent one,
 * else the regular file at path, opened with flags for this call only
 * (*tmp is then that fd too: the caller closes it). Returns an fd or -errno. */
static int lfs_fd_for(struct wf_localfs *fs, const char *path, uint64_t fh, int flags, int *tmp)
{
    *tmp = -1;
    if (fh != WF_NO_FILE_HANDLE)
        return lfs_handle_fd(fs, fh);
    struct lfs_at at;
    int rc = lfs_target(fs, path, &at, LFS_READ, 0);
    if (rc < 0)
        return rc;
    int fd = lfs_open_regular(&at, flags);
    lfs_release_at(&at);
    if (fd >= 0)
        *tmp = fd;
    return fd;
}

static void lfs_close_tmp(int tmp)
{
    if (tmp >= 0)
        close(tmp);
}

static int lfs_access(void *ud, const char *path, int mode)
{
    struct wf_localfs *fs = ud;
    if (fs->read_only && (mode & W_OK))
        return -EROFS;
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_READ, 0);
    return rc < 0 ? rc : lfs_done(&at, faccessat(at.dirfd, at.name, mode, AT_SYMLINK_NOFOLLOW));
}

static int lfs_getattr(void *ud, const char *path, struct stat *st)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_READ, 0);
    return rc < 0 ? rc : lfs_done(&at, fstatat(at.dirfd, at.name, st, AT_SYMLINK_NOFOLLOW));
}

static int lfs_fgetattr(void *ud, const char *path, struct stat *st, uint64_t fh)
{
    int tmp;
    int fd = lfs_fd_for(ud, path, fh, O_RDONLY, &tmp);
    int rc = fd < 0 ? fd : fstat(fd, st) < 0 ? -errno : 0;
    lfs_close_tmp(tmp);
    return rc;
}

static int lfs_readlink(void *ud, const char *path, char *buf, size_t size)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_READ, 0);
    if (rc < 0)
        return rc;
    ssize_t n = readlinkat(at.dirfd, at.name, buf, size);
    rc = lfs_done(&at, n < 0 ? -1 : 0);
    return rc < 0 ? rc : (int)n;
}

/* ---- new entries: exact mode, the caller as owner --------------------- */

#if !defined(SYS_fchmodat2) && defined(__NR_fchmodat2)
#define SYS_fchmodat2 __NR_fchmodat2
#endif

/* chmod of the inode an fd refers to, O_PATH fds included (fchmod refuses
 * those): fchmodat2(AT_EMPTY_PATH) where the headers know it (Linux 6.6),
 * else the fd's /proc magic link. */
static int lfs_fchmod_any(int fd, mode_t mode)
{
    if (fchmod(fd, mode) == 0)
        return 0;
    if (errno != EBADF)
        return -1;
#ifdef SYS_fchmodat2
    if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
        return 0;
#endif
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return chmod(proc, mode);
}

/* Finishes an entry create/mkdir/mknod/symlink has just made (fd: the open
 * file, or -1 to look the name up beneath dirfd without following it).
 *
 * Owner: with the owner extension, the caller's uid/gid when the provider may
 * give them (root, or ids it may chown to; otherwise the attempt fails and the
 * entry stays the provider's). The group stays the parent's when the parent is
 * set-group-ID, as the kernel decides for a local create.
 *
 * Mode (not for symlinks): exactly the mode asked for. The caller's kernel
 * already applied the caller's umask; the provider's own umask must not apply
 * a second time. A directory keeps the set-group-ID bit it inherits. Set-user-
 * and set-group-ID bits of a new non-directory are kept only when the entry
 * belongs to the caller (owner extension applied, or the caller's ids are the
 * provider's): never a set-ID file of another user on a remote's request.
 *
 * The entry is looked at, not trusted: where it is not of the type just made
 * (type: S_IFDIR, S_IFLNK, ...) or a non-directory has another name (someone
 * swapped in a hard link to another file meanwhile), nothing is changed.
 *
 * Best effort: the entry exists whatever happens here. */
static void lfs_new_entry(struct wf_localfs *fs, int fd, int dirfd, const char *name, mode_t type, mode_t mode)
{
    int pfd = fd >= 0 ? fd : openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st, dst;
    if (pfd < 0)
        return;
    if (fstat(pfd, &st) < 0 || (st.st_mode & S_IFMT) != type || (!S_ISDIR(st.st_mode) && st.st_nlink != 1))
        goto out;
    int caller_owns = 0;
    if (fs->owner_set) {
        gid_t gid = fs->owner_gid;
        if (fstat(dirfd, &dst) == 0 && (dst.st_mode & S_ISGID))
            gid = st.st_gid; /* inherited from a set-group-ID parent */
        if ((st.st_uid != fs->owner_uid || st.st_gid != gid) &&
            fchownat(pfd, "", fs->owner_uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 &&
            fstat(pfd, &st) < 0) /* again: a chown clears set-ID bits of a non-directory */
            goto out;
        caller_owns = st.st_uid == fs->owner_uid && st.st_gid == gid;
    }
    if (S_ISLNK(st.st_mode))
        goto out;
    mode_t want = mode & 07777;
    if (S_ISDIR(st.st_mode))
        want = (mode & 01777) | (st.st_mode & S_ISGID);
    else if (!caller_owns)
        want &= (mode_t)~(S_ISUID | S_ISGID);
    if ((st.st_mode & 07777) != want)
        (void)lfs_fchmod_any(pfd, want);
out:
    if (pfd != fd)
        close(pfd);
}

static int lfs_symlink(void *ud, const char *target, const char *linkpath)
{
    /* The target is stored as data; the provider never follows it. */
    struct lfs_at at;
    int rc = lfs_target(ud, linkpath, &at, LFS_WRITE, -EEXIST);
    if (rc < 0)
        return rc;
    rc = symlinkat(target, at.dirfd, at.name);
    if (rc == 0)
        lfs_new_entry(ud, -1, at.dirfd, at.name, S_IFLNK, 0);
    return lfs_done(&at, rc);
}

/* link and rename: both ends resolved, neither may be the root. */
static int lfs_two_paths(struct wf_localfs *fs, const char *oldpath, const char *newpath, int root_err,
                         unsigned rename_flags, int is_rename)
{
    struct lfs_at from, to;
    int rc = lfs_target(fs, oldpath, &from, LFS_WRITE, root_err);
    if (rc < 0)
        return rc;
    rc = lfs_target(fs, newpath, &to, LFS_WRITE, root_err);
    if (rc < 0) {
        lfs_release_at(&from);
        return rc;
    }
    int r = is_rename ? wf_renameat2(from.dirfd, from.name, to.dirfd, to.name, rename_flags)
                      : linkat(from.dirfd, from.name, to.dirfd, to.name, 0);
    rc = r < 0 ? -errno : 0;
    lfs_release_at(&to);
    lfs_release_at(&from);
    return rc;
}

static int lfs_link(void *ud, const char *oldpath, const char *newpath)
{
    return lfs_two_paths(ud, oldpath, newpath, -EPERM, 0, 0);
}

static int lfs_rename(void *ud, const char *oldpath, const char *newpath, unsigned int flags)
{
    struct wf_localfs *fs = ud;
    if (fs->read_only)
        return -EROFS;
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    return lfs_two_paths(fs, oldpath, newpath, -EBUSY, flags, 1);
}

static int lfs_chmod(void *ud, const char *path, mode_t mode)
{
    /* glibc emulates NOFOLLOW race-free (O_PATH + /proc) and answers
     * EOPNOTSUPP for a symlink. */
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, 0);
    return rc < 0 ? rc : lfs_done(&at, fchmodat(at.dirfd, at.name, mode & 07777, AT_SYMLINK_NOFOLLOW));
}

static int lfs_chown(void *ud, const char *path, uid_t uid, gid_t gid)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, 0);
    return rc < 0 ? rc : lfs_done(&at, fchownat(at.dirfd, at.name, uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int lfs_truncate(void *ud, const char *path, off_t size, uint64_t fh)
{
    struct wf_localfs *fs = ud;
    if (fs->read_only)
        return -EROFS;
    int tmp;
    int fd = lfs_fd_for(fs, path, fh, O_WRONLY, &tmp);
    if (fd < 0)
        return fd;
    int rc = ftruncate(fd, size) < 0 ? -errno : 0;
    lfs_close_tmp(tmp);
    return rc;
}

static int lfs_fsync(void *ud, const char *path, int datasync, uint64_t fh)
{
    int tmp;
    int fd = lfs_fd_for(ud, path, fh, O_RDONLY, &tmp);
    if (fd < 0)
        return fd;
    int rc = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
    lfs_close_tmp(tmp);
    return rc;
}

static int lfs_open(void *ud, const char *path, int flags, uint64_t *fh)
{
    struct wf_localfs *fs = ud;
    int acc = flags & O_ACCMODE;
    if (fs->read_only && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT | O_APPEND))))
        return -EROFS;
    /* Keep what makes sense for a served file; O_PATH, O_TMPFILE, O_DIRECT
     * (unaligned buffers), O_NOATIME (EPERM when not owner) and O_CREAT
     * (create has its own request) are dropped. */
    int keep = O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOFOLLOW | O_DIRECTORY;
    flags &= keep;
    if (acc == O_ACCMODE)
        return -EINVAL;

    struct lfs_at at;
    int rc = lfs_check_path(path, &at); /* at.rel only */
    if (rc < 0)
        return rc;

    /* Look first (O_PATH), so no device or FIFO is opened with side effects. */
    int pfd = lfs_open_beneath(&fs->root, at.rel, O_PATH | (flags & O_NOFOLLOW), 0);
    if (pfd < 0)
        return pfd;
    struct stat st1, st2;
    rc = fstat(pfd, &st1) < 0 ? -errno : 0;
    close(pfd);
    if (rc < 0)
        return rc;
    if (S_ISLNK(st1.st_mode))
        return -ELOOP; /* O_NOFOLLOW asked, or no openat2 */
    if (!S_ISREG(st1.st_mode) && !S_ISDIR(st1.st_mode))
        return -ENXIO; /* no devices, FIFOs or sockets: open could block or have side effects */
    if (S_ISDIR(st1.st_mode) && acc != O_RDONLY)
        return -EISDIR;

    int fd = lfs_open_beneath(&fs->root, at.rel, flags | O_NONBLOCK, 0);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st2) < 0 || st2.st_dev != st1.st_dev || st2.st_ino != st1.st_ino) {
        close(fd);
        return -EAGAIN; /* replaced under us */
    }
    if (!(flags & O_NONBLOCK))
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return lfs_handle_add(fs, fd, fh);
}

static int lfs_mknod(void *ud, const char *path, mode_t mode, dev_t rdev)
{
    /* No device nodes: a remote peer must not create a door to local hardware. */
    mode_t type = mode & S_IFMT;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != 0)
        return -EPERM;
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, -EEXIST);
    if (rc < 0)
        return rc;
    rc = mknodat(at.dirfd, at.name, (type ? type : S_IFREG) | (mode & 07777), 0);
    if (rc == 0)
        lfs_new_entry(ud, -1, at.dirfd, at.name, type ? type : S_IFREG, mode);
    return lfs_done(&at, rc);
}

static int lfs_create(void *ud, const char *path, mode_t mode, uint64_t *fh)
{
    struct wf_localfs *fs = ud;
    struct lfs_at at;
    int rc = lfs_target(fs, path, &at, LFS_WRITE, -EISDIR);
    if (rc < 0)
        return rc;
    struct stat st;
    if (fstatat(at.dirfd, at.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        lfs_release_at(&at);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EEXIST;
    }
    /* O_NOFOLLOW: never create through a (dangling) symlink. No O_TRUNC.
     * O_EXCL first: only an entry made here gets the new entry's mode and
     * owner; one that appeared meanwhile is opened as it is. */
    int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = openat(at.dirfd, at.name, flags | O_CREAT | O_EXCL, mode & 07777);
    if (fd >= 0)
        lfs_new_entry(fs, fd, at.dirfd, at.name, S_IFREG, mode);
    else if (errno == EEXIST)
        fd = openat(at.dirfd, at.name, flags);
    rc = lfs_done(&at, fd);
    if (rc < 0)
        return rc;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EEXIST;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return lfs_handle_add(fs, fd, fh);
}

static int lfs_release(void *ud, const char *path, uint64_t fh)
{
    struct wf_localfs *fs = ud;
    int fd = lfs_handle_fd(fs, fh);
    if (fd < 0)
        return fd;
    fs->fds[fh] = -1;
    fs->nopen--;
    return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static int lfs_unlink(void *ud, const char *path)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, -EISDIR);
    return rc < 0 ? rc : lfs_done(&at, unlinkat(at.dirfd, at.name, 0));
}

/* pread/pwrite through the handle, or through a file opened for this one
 * call when the service sent none; loops over short transfers. */
static int lfs_io(struct wf_localfs *fs, const char *path, uint64_t fh, char *buf, size_t size,
                  off_t offset, int writing)
{
    int tmp;
    int fd = lfs_fd_for(fs, path, fh, writing ? O_WRONLY : O_RDONLY, &tmp);
    if (fd < 0)
        return fd;
    if (size > INT32_MAX)
        size = INT32_MAX;
    size_t done = 0;
    int rc = 0;
    while (done < size) {
        ssize_t n = writing ? pwrite(fd, buf + done, size - done, offset + (off_t)done)
                            : pread(fd, buf + done, size - done, offset + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    lfs_close_tmp(tmp);
    return (rc < 0 && done == 0) ? rc : (int)done;
}

static int lfs_read(void *ud, const char *path, char *buf, size_t size, off_t offset, uint64_t fh)
{
    return lfs_io(ud, path, fh, buf, size, offset, 0);
}

static int lfs_write(void *ud, const char *path, const char *buf, size_t size, off_t offset, uint64_t fh)
{
    struct wf_localfs *fs = ud;
    if (fs->read_only)
        return -EROFS;
    return lfs_io(fs, path, fh, (char *)buf, size, offset, 1); /* not written to when writing */
}

static int lfs_mkdir(void *ud, const char *path, mode_t mode)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, -EEXIST);
    if (rc < 0)
        return rc;
    rc = mkdirat(at.dirfd, at.name, mode & 07777);
    if (rc == 0)
        lfs_new_entry(ud, -1, at.dirfd, at.name, S_IFDIR, mode);
    return lfs_done(&at, rc);
}

static int lfs_readdir(void *ud, const char *path, wf_dir_filler filler, void *dirbuf)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_READ, 0);
    if (rc < 0)
        return rc;
    int fd = openat(at.dirfd, at.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    rc = lfs_done(&at, fd);
    if (rc < 0)
        return rc;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        return -err;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = -errno;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (filler(dirbuf, e->d_name) != 0) {
            rc = -E2BIG; /* directory does not fit into one answer */
            break;
        }
    }
    closedir(d);
    return rc;
}

static int lfs_rmdir(void *ud, const char *path)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, -EBUSY);
    return rc < 0 ? rc : lfs_done(&at, unlinkat(at.dirfd, at.name, AT_REMOVEDIR));
}

static int lfs_statfs(void *ud, const char *path, struct statvfs *st)
{
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_READ, 0);
    if (rc < 0)
        return rc;
    int fd = openat(at.dirfd, at.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    rc = lfs_done(&at, fd);
    if (rc < 0)
        return rc;
    rc = fstatvfs(fd, st) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int lfs_utimens(void *ud, const char *path, const struct timespec tv[2], uint64_t fh)
{
    struct wf_localfs *fs = ud;
    if (fs->read_only)
        return -EROFS;
    if (fh != WF_NO_FILE_HANDLE) {
        int fd = lfs_handle_fd(fs, fh);
        if (fd < 0)
            return fd;
        return futimens(fd, tv) < 0 ? -errno : 0;
    }
    struct lfs_at at;
    int rc = lfs_target(ud, path, &at, LFS_WRITE, 0);
    return rc < 0 ? rc : lfs_done(&at, utimensat(at.dirfd, at.name, tv, AT_SYMLINK_NOFOLLOW));
}

static void lfs_disconnected(void *ud)
{
    lfs_close_all(ud);
}

static const struct wf_provider_ops lfs_ops = {
    .access = lfs_access,
    .getattr = lfs_getattr,
    .fgetattr = lfs_fgetattr,
    .readlink = lfs_readlink,
    .symlink = lfs_symlink,
    .link = lfs_link,
    .rename = lfs_rename,
    .chmod = lfs_chmod,
    .chown = lfs_chown,
    .truncate = lfs_truncate,
    .fsync = lfs_fsync,
    .open = lfs_open,
    .mknod = lfs_mknod,
    .create = lfs_create,
    .release = lfs_release,
    .unlink = lfs_unlink,
    .read = lfs_read,
    .write = lfs_write,
    .mkdir = lfs_mkdir,
    .readdir = lfs_readdir,
    .rmdir = lfs_rmdir,
    .statfs = lfs_statfs,
    .utimens = lfs_utimens,
    .disconnected = lfs_disconnected,
};

const struct wf_provider_ops *wf_localfs_ops(void)
{
    return &lfs_ops;
}

struct wf_localfs *wf_localfs_create(const char *root, int read_only)
{
    if (!root) {
        errno = EINVAL;
        return NULL;
    }
    struct wf_localfs *fs = malloc(sizeof *fs);
    if (!fs)
        return NULL;
    fs->root.fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fs->root.fd < 0) {
        int err = errno;
        free(fs);
        errno = err;
        return NULL;
    }
    fs->read_only = read_only ? 1 : 0;
    fs->owner_set = 0;
    fs->root.no_openat2 = 0;
    fs->nopen = 0;
    fs->hint = 0;
    for (unsigned i = 0; i < WF_LOCALFS_MAX_HANDLES; i++)
        fs->fds[i] = -1;
    /* Open files must leave descriptors for the rest: resolving a path opens
     * its parent, readdir opens the directory, lws needs its sockets. */
    long limit = wf_raise_fd_limit();
    fs->max_open = WF_LOCALFS_MAX_HANDLES;
    if (limit >= 0 && limit < WF_LOCALFS_MAX_HANDLES + WF_LOCALFS_FD_RESERVE)
        fs->max_open = limit > 2 * WF_LOCALFS_FD_RESERVE ? (unsigned)(limit - WF_LOCALFS_FD_RESERVE)
                                                         : (unsigned)(limit / 2);
    return fs;
}

void wf_localfs_destroy(struct wf_localfs *fs)
{
    if (!fs)
        return;
    lfs_close_all(fs);
    close(fs->root.fd);
    free(fs);
}

void wf_localfs_set_owner(struct wf_localfs *fs, int known, uid_t uid, gid_t gid)
{
    fs->owner_set = known ? 1 : 0;
    fs->owner_uid = uid;
    fs->owner_gid = gid;
}

void wf_localfs_disable_openat2(struct wf_localfs *fs)
{
    fs->root.no_openat2 = 1;
}

unsigned wf_localfs_open_handles(const struct wf_localfs *fs)
{
    return fs->nopen;
}

int wf_localfs_openat2_available(void)
{
    return lfs_openat2_available();
}
