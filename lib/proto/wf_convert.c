/* Host <-> wire value translation. The wire speaks Linux x86-64 numbers; every
 * value set is mapped entry by entry through a table below, so on another host
 * only the host column changes (and on Linux x86-64 everything is identity). */
#include "wf_convert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/wf_compat.h" /* RENAME_*, which musl does not define */

struct wf_pair {
    long host;
    long wire;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errno ------------------------------------------------------------ */

#define WIRE_EIO 5

static const struct wf_pair errno_table[] = {
    { EPERM, 1 }, { ENOENT, 2 }, { EINTR, 4 }, { EIO, 5 }, { ENXIO, 6 },
    { E2BIG, 7 }, { EBADF, 9 }, { EAGAIN, 11 }, { ENOMEM, 12 }, { EACCES, 13 },
    { EFAULT, 14 }, { EBUSY, 16 }, { EEXIST, 17 }, { EXDEV, 18 }, { ENODEV, 19 },
    { ENOTDIR, 20 }, { EISDIR, 21 }, { EINVAL, 22 }, { ENFILE, 23 }, { EMFILE, 24 },
    { ETXTBSY, 26 }, { EFBIG, 27 }, { ENOSPC, 28 }, { EROFS, 30 }, { EMLINK, 31 },
    { EPIPE, 32 }, { ERANGE, 34 }, { ENAMETOOLONG, 36 }, { ENOSYS, 38 },
    { ENOTEMPTY, 39 }, { ELOOP, 40 },
#ifdef ENODATA
    { ENODATA, 61 },
#endif
    { EOVERFLOW, 75 }, { EDESTADDRREQ, 89 }, { ENOTSUP, 95 },
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    { EOPNOTSUPP, 95 }, /* host-to-wire only: the ENOTSUP row comes first */
#endif
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    { EWOULDBLOCK, 11 },
#endif
    { EDQUOT, 122 },
};

int32_t wf_errno_to_wire(int host_errno)
{
    for (size_t i = 0; i < COUNT(errno_table); i++)
        if (errno_table[i].host == host_errno)
            return (int32_t)errno_table[i].wire;
    return WIRE_EIO;
}

int wf_errno_from_wire(int32_t wire_errno)
{
    for (size_t i = 0; i < COUNT(errno_table); i++)
        if (errno_table[i].wire == wire_errno)
            return (int)errno_table[i].host;
    return EIO;
}

int32_t wf_result_to_wire(int host_result)
{
    if (host_result >= 0)
        return host_result > INT32_MAX ? INT32_MAX : (int32_t)host_result;
    if (host_result == INT_MIN)
        return -WIRE_EIO;
    return -wf_errno_to_wire(-host_result);
}

int wf_result_from_wire(int32_t wire_result)
{
    if (wire_result >= 0)
        return wire_result;
    if (wire_result == INT32_MIN)
        return -EIO;
    return -wf_errno_from_wire(-wire_result);
}

/* ---- generic bit mapping ---------------------------------------------- */

/* Each table row maps a (possibly multi-bit) value: if all its bits are set
 * on the source side, all bits of the other side are set. Rows whose source
 * value is 0 never match (e.g. O_LARGEFILE on 64-bit glibc). */
static unsigned long map_bits(const struct wf_pair *t, size_t n, unsigned long v,
                              int to_wire, unsigned long *unmapped)
{
    unsigned long out = 0, seen = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long from = (unsigned long)(to_wire ? t[i].host : t[i].wire);
        unsigned long to = (unsigned long)(to_wire ? t[i].wire : t[i].host);
        if (from != 0 && (v & from) == from) {
            out |= to;
            seen |= from;
        }
    }
    if (unmapped)
        *unmapped = v & ~seen;
    return out;
}

/* ---- mode ------------------------------------------------------------- */

static const struct wf_pair mode_type_table[] = {
    { S_IFREG, 0100000 }, { S_IFDIR, 0040000 }, { S_IFLNK, 0120000 },
    { S_IFCHR, 0020000 }, { S_IFBLK, 0060000 }, { S_IFIFO, 0010000 },
    { S_IFSOCK, 0140000 },
};
#define WIRE_S_IFMT 0170000

static const struct wf_pair mode_bit_table[] = {
    { S_ISUID, 04000 }, { S_ISGID, 02000 }, { S_ISVTX, 01000 },
    { S_IRUSR, 0400 }, { S_IWUSR, 0200 }, { S_IXUSR, 0100 },
    { S_IRGRP, 0040 }, { S_IWGRP, 0020 }, { S_IXGRP, 0010 },
    { S_IROTH, 0004 }, { S_IWOTH, 0002 }, { S_IXOTH, 0001 },
};

uint32_t wf_mode_to_wire(mode_t host_mode)
{
    unsigned long out = map_bits(mode_bit_table, COUNT(mode_bit_table),
                                 (unsigned long)host_mode, 1, NULL);
    for (size_t i = 0; i < COUNT(mode_type_table); i++)
        if ((unsigned long)(host_mode & S_IFMT) == (unsigned long)mode_type_table[i].host)
            out |= (unsigned long)mode_type_table[i].wire;
    return (uint32_t)out;
}

mode_t wf_mode_from_wire(uint32_t wire_mode)
{
    unsigned long out = map_bits(mode_bit_table, COUNT(mode_bit_table), wire_mode, 0, NULL);
    for (size_t i = 0; i < COUNT(mode_type_table); i++)
        if ((wire_mode & WIRE_S_IFMT) == (unsigned long)mode_type_table[i].wire)
            out |= (unsigned long)mode_type_table[i].host;
    return (mode_t)out;
}

/* ---- open flags ------------------------------------------------------- */

static const struct wf_pair oflag_access_table[] = {
    { O_RDONLY, 0 }, { O_WRONLY, 1 }, { O_RDWR, 2 },
};
#define WIRE_O_ACCMODE 3

static const struct wf_pair oflag_table[] = {
    { O_CREAT, 0100 }, { O_EXCL, 0200 }, { O_NOCTTY, 0400 }, { O_TRUNC, 01000 },
    { O_APPEND, 02000 }, { O_NONBLOCK, 04000 }, { O_DSYNC, 010000 },
#ifdef O_ASYNC
    { O_ASYNC, 020000 },
#endif
#ifdef O_DIRECT
    { O_DIRECT, 040000 },
#endif
#ifdef O_LARGEFILE
    { O_LARGEFILE, 0100000 },
#endif
    { O_DIRECTORY, 0200000 }, { O_NOFOLLOW, 0400000 },
#ifdef O_NOATIME
    { O_NOATIME, 01000000 },
#endif
    { O_CLOEXEC, 02000000 }, { O_SYNC, 04010000 },
#ifdef O_PATH
    { O_PATH, 010000000 },
#endif
#ifdef O_TMPFILE
    { O_TMPFILE, 020200000 },
#endif
};

int32_t wf_oflags_to_wire(int host_flags)
{
    unsigned long v = (unsigned int)host_flags;
    unsigned long out = map_bits(oflag_table, COUNT(oflag_table), v, 1, NULL);
    for (size_t i = 0; i < COUNT(oflag_access_table); i++)
        if ((v & O_ACCMODE) == (unsigned long)oflag_access_table[i].host)
            out |= (unsigned long)oflag_access_table[i].wire;
    return (int32_t)(uint32_t)out;
}

int wf_oflags_from_wire(int32_t wire_flags)
{
    unsigned long v = (uint32_t)wire_flags;
    unsigned long out = map_bits(oflag_table, COUNT(oflag_table), v, 0, NULL);
    for (size_t i = 0; i < COUNT(oflag_access_table); i++)
        if ((v & WIRE_O_ACCMODE) == (unsigned long)oflag_access_table[i].wire)
            out |= (unsigned long)oflag_access_table[i].host;
    return (int)(unsigned int)out;
}

/* ---- access ----------------------------------------------------------- */

/* F_OK is 0 on both sides: no bits. Unknown bits are passed through so the
 * callee rejects them (EINVAL) instead of silently checking less. */
static const struct wf_pair access_table[] = {
    { X_OK, 1 }, { W_OK, 2 }, { R_OK, 4 },
};

int8_t wf_access_to_wire(int host_mode)
{
    unsigned long unmapped;
    unsigned long out = map_bits(access_table, COUNT(access_table),
                                 (unsigned int)host_mode, 1, &unmapped);
    if (unmapped)
        out |= (unmapped & 0x78u) ? (unmapped & 0x78u) : 0x40u;
    return (int8_t)(out & 0x7fu);
}

int wf_access_from_wire(int8_t wire_mode)
{
    unsigned long unmapped;
    unsigned long out = map_bits(access_table, COUNT(access_table),
                                 (uint8_t)wire_mode, 0, &unmapped);
    return (int)(out | unmapped);
}

/* ---- rename flags ----------------------------------------------------- */

static const struct wf_pair rename_table[] = {
    { RENAME_NOREPLACE, 1 }, { RENAME_EXCHANGE, 2 },
};

uint8_t wf_rename_to_wire(unsigned host_flags)
{
    unsigned long unmapped;
    unsigned long out = map_bits(rename_table, COUNT(rename_table), host_flags, 1, &unmapped);
    if (unmapped) /* keep unknown low bits; any unknown bit must stay visible */
        out |= (unmapped & 0xfcu) ? (unmapped & 0xfcu) : 0x80u;
    return (uint8_t)out;
}

unsigned wf_rename_from_wire(uint8_t wire_flags)
{
    unsigned long unmapped;
    unsigned long out = map_bits(rename_table, COUNT(rename_table), wire_flags, 0, &unmapped);
    return (unsigned)(out | unmapped);
}
