/* What glibc (with _GNU_SOURCE) and kernel headers >= 5.6 declare and musl
 * or older headers may not: rename flags, renameat2, O_TMPFILE, openat2.
 * Header-only; include it after the system headers. Linux only.
 *
 * Calls go through the syscall numbers, so the same code runs on a libc
 * without the wrapper; where the kernel lacks the call they fail with ENOSYS
 * and the caller falls back (see lib/provider/localfs_path.c). */
#ifndef WF_COMPAT_H
#define WF_COMPAT_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* renameat2 flags: <stdio.h> (glibc) or <linux/fs.h>, values fixed by the kernel ABI. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

/* O_TMPFILE where the libc knows it, else 0 (then it cannot be asked for). */
#if defined(O_TMPFILE)
#define WF_O_TMPFILE O_TMPFILE
#elif defined(__O_TMPFILE)
#define WF_O_TMPFILE (__O_TMPFILE | O_DIRECTORY)
#else
#define WF_O_TMPFILE 0
#endif

/* openat2(2): struct and flags from <linux/openat2.h> (kernel headers 5.6),
 * else the same ABI spelled out here. */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define WF_HAVE_LINUX_OPENAT2_H 1
#endif
#endif
#ifndef WF_HAVE_LINUX_OPENAT2_H
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif

/* 437 on every architecture since the unified syscall table (5.1), offset
 * by the ABI base on MIPS; alpha differs and gets the ENOSYS fallback. */
#if !defined(SYS_openat2) && defined(__NR_openat2)
#define SYS_openat2 __NR_openat2
#endif
#if !defined(SYS_openat2) && !defined(__alpha__)
#if defined(__mips__) && defined(__NR_Linux)
#define SYS_openat2 (__NR_Linux + 437)
#elif !defined(__mips__)
#define SYS_openat2 437
#endif
#endif

static inline int wf_openat2(int dirfd, const char *path, const struct open_how *how)
{
#ifdef SYS_openat2
    return (int)syscall(SYS_openat2, dirfd, path, how, sizeof *how);
#else
    (void)dirfd, (void)path, (void)how;
    errno = ENOSYS;
    return -1;
#endif
}

/* renameat2 without relying on the libc wrapper (glibc >= 2.28 only). */
#if !defined(SYS_renameat2) && defined(__NR_renameat2)
#define SYS_renameat2 __NR_renameat2
#endif

static inline int wf_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                               unsigned int flags)
{
    if (flags == 0)
        return renameat(olddirfd, oldpath, newdirfd, newpath);
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
#else
    errno = EINVAL;
    return -1;
#endif
}

#endif
