/* Host <-> wire value translation (lib/proto/wf_convert.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/wf_convert.h"

static const struct {
    int host;
    int32_t wire;
} errnos[] = {
    { EPERM, 1 }, { ENOENT, 2 }, { EINTR, 4 }, { EIO, 5 }, { ENXIO, 6 }, { E2BIG, 7 },
    { EBADF, 9 }, { EAGAIN, 11 }, { ENOMEM, 12 }, { EACCES, 13 }, { EFAULT, 14 },
    { EBUSY, 16 }, { EEXIST, 17 }, { EXDEV, 18 }, { ENODEV, 19 }, { ENOTDIR, 20 },
    { EISDIR, 21 }, { EINVAL, 22 }, { ENFILE, 23 }, { EMFILE, 24 }, { ETXTBSY, 26 },
    { EFBIG, 27 }, { ENOSPC, 28 }, { EROFS, 30 }, { EMLINK, 31 }, { EPIPE, 32 },
    { ERANGE, 34 }, { ENAMETOOLONG, 36 }, { ENOSYS, 38 }, { ENOTEMPTY, 39 },
    { ELOOP, 40 }, { ENODATA, 61 }, { EOVERFLOW, 75 }, { EDESTADDRREQ, 89 },
    { ENOTSUP, 95 }, { EDQUOT, 122 },
};

static void test_errno_table(void **state)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++) {
        assert_int_equal(wf_errno_to_wire(errnos[i].host), errnos[i].wire);
        assert_int_equal(wf_errno_from_wire(errnos[i].wire), errnos[i].host);
        assert_int_equal(wf_result_to_wire(-errnos[i].host), -errnos[i].wire);
        assert_int_equal(wf_result_from_wire(-errnos[i].wire), -errnos[i].host);
    }
    assert_int_equal(wf_errno_to_wire(EOPNOTSUPP), 95);
    assert_int_equal(wf_errno_to_wire(EWOULDBLOCK), 11);
}

static void test_errno_unknown(void **state)
{
    /* not in the reference list */
    assert_int_equal(wf_errno_to_wire(ECHILD), 5);
    assert_int_equal(wf_errno_to_wire(EHOSTUNREACH), 5);
    assert_int_equal(wf_errno_to_wire(0), 5);
    assert_int_equal(wf_errno_to_wire(-3), 5);
    assert_int_equal(wf_errno_to_wire(100000), 5);
    assert_int_equal(wf_errno_from_wire(3), EIO);   /* ESRCH */
    assert_int_equal(wf_errno_from_wire(10), EIO);  /* ECHILD */
    assert_int_equal(wf_errno_from_wire(0), EIO);
    assert_int_equal(wf_errno_from_wire(-1), EIO);
    assert_int_equal(wf_errno_from_wire(INT32_MAX), EIO);
    assert_int_equal(wf_result_from_wire(-3), -EIO);
    assert_int_equal(wf_result_from_wire(INT32_MIN), -EIO);
    assert_int_equal(wf_result_to_wire(INT_MIN), -5);
    assert_int_equal(wf_result_to_wire(-ECHILD), -5);
}

static void test_result_passthrough(void **state)
{
    assert_int_equal(wf_result_to_wire(0), 0);
    assert_int_equal(wf_result_to_wire(4096), 4096);
    assert_int_equal(wf_result_to_wire(INT_MAX), INT32_MAX);
    assert_int_equal(wf_result_from_wire(0), 0);
    assert_int_equal(wf_result_from_wire(123), 123);
    assert_int_equal(wf_result_from_wire(INT32_MAX), INT32_MAX);
}

static void test_modes(void **state)
{
    static const uint32_t types[] = { 0100000, 0040000, 0120000, 0020000, 0060000, 0010000, 0140000 };
    static const mode_t host_types[] = { S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK };
    for (size_t i = 0; i < 7; i++) {
        for (uint32_t perm = 0; perm <= 07777; perm += 0111) {
            assert_int_equal(wf_mode_to_wire(host_types[i] | perm), types[i] | perm);
            assert_int_equal(wf_mode_from_wire(types[i] | perm), host_types[i] | perm);
        }
        assert_int_equal(wf_mode_to_wire(host_types[i] | 07777), types[i] | 07777);
    }
    assert_int_equal(wf_mode_to_wire(S_IFREG | S_ISUID | S_ISGID | S_ISVTX | 0644), 0107644);
    assert_int_equal(wf_mode_from_wire(0755), 0755); /* no type bits */
    assert_int_equal(wf_mode_from_wire(0170755), 0755); /* unknown type dropped */
}

static void test_oflags(void **state)
{
    static const struct {
        int host;
        int32_t wire;
    } flags[] = {
        { O_RDONLY, 0 }, { O_WRONLY, 1 }, { O_RDWR, 2 }, { O_CREAT, 0100 },
        { O_EXCL, 0200 }, { O_NOCTTY, 0400 }, { O_TRUNC, 01000 }, { O_APPEND, 02000 },
        { O_NONBLOCK, 04000 }, { O_DSYNC, 010000 }, { O_ASYNC, 020000 },
        { O_DIRECT, 040000 }, { O_DIRECTORY, 0200000 }, { O_NOFOLLOW, 0400000 },
        { O_NOATIME, 01000000 }, { O_CLOEXEC, 02000000 }, { O_SYNC, 04010000 },
        { O_PATH, 010000000 }, { O_TMPFILE, 020200000 },
    };
    int all_host = 0;
    int32_t all_wire = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        assert_int_equal(wf_oflags_to_wire(flags[i].host), flags[i].wire);
        assert_int_equal(wf_oflags_from_wire(flags[i].wire), flags[i].host);
        if (flags[i].wire > 2 && flags[i].host != O_PATH && flags[i].host != O_TMPFILE) {
            all_host |= flags[i].host;
            all_wire |= flags[i].wire;
        }
    }
    assert_int_equal(wf_oflags_to_wire(all_host), all_wire);
    assert_int_equal(wf_oflags_from_wire(all_wire), all_host);
    assert_int_equal(wf_oflags_to_wire(O_RDWR | O_CREAT | O_EXCL), 0302);
    /* O_DIRECTORY alone is not O_TMPFILE; O_DSYNC alone is not O_SYNC */
    assert_int_equal(wf_oflags_from_wire(0200000), O_DIRECTORY);
    assert_int_equal(wf_oflags_from_wire(010000), O_DSYNC);
    /* unknown bits (e.g. the kernel's FMODE_EXEC 040) are dropped */
    assert_int_equal(wf_oflags_to_wire(O_RDONLY | 040), 0);
    assert_int_equal(wf_oflags_from_wire(040 | 2), O_RDWR);
    /* wire O_LARGEFILE maps to the host's (0 on 64-bit glibc) */
    assert_int_equal(wf_oflags_from_wire(0100000), O_LARGEFILE);
}

static void test_access(void **state)
{
    assert_int_equal(wf_access_to_wire(F_OK), 0);
    assert_int_equal(wf_access_to_wire(X_OK), 1);
    assert_int_equal(wf_access_to_wire(W_OK), 2);
    assert_int_equal(wf_access_to_wire(R_OK), 4);
    assert_int_equal(wf_access_to_wire(R_OK | W_OK | X_OK), 7);
    assert_int_equal(wf_access_from_wire(0), F_OK);
    assert_int_equal(wf_access_from_wire(1), X_OK);
    assert_int_equal(wf_access_from_wire(2), W_OK);
    assert_int_equal(wf_access_from_wire(4), R_OK);
    assert_int_equal(wf_access_from_wire(7), R_OK | W_OK | X_OK);
    /* unknown bits stay visible so the callee rejects them */
    assert_int_not_equal(wf_access_from_wire(8) & ~(R_OK | W_OK | X_OK), 0);
    assert_int_not_equal(wf_access_to_wire(0x100) & ~7, 0);
}

static void test_rename(void **state)
{
    assert_int_equal(wf_rename_to_wire(0), 0);
    assert_int_equal(wf_rename_to_wire(RENAME_NOREPLACE), 1);
    assert_int_equal(wf_rename_to_wire(RENAME_EXCHANGE), 2);
    assert_int_equal(wf_rename_from_wire(0), 0);
    assert_int_equal(wf_rename_from_wire(1), RENAME_NOREPLACE);
    assert_int_equal(wf_rename_from_wire(2), RENAME_EXCHANGE);
    assert_int_equal(wf_rename_from_wire(3), RENAME_NOREPLACE | RENAME_EXCHANGE);
    /* unknown bits kept */
    assert_int_equal(wf_rename_from_wire(4), 4);
    assert_int_equal(wf_rename_from_wire(0x81), RENAME_NOREPLACE | 0x80);
    assert_int_equal(wf_rename_to_wire(RENAME_WHITEOUT), 4);
    assert_int_not_equal(wf_rename_to_wire(1u << 20) & ~3, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_table),
        cmocka_unit_test(test_errno_unknown),
        cmocka_unit_test(test_result_passthrough),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_oflags),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
