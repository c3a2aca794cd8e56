/* localfs: operations on a temporary tree, confinement, read-only mode; with
 * openat2, with the walk forced by the test hook, and with openat2 answering
 * ENOSYS at run time (a seccomp filter, as on kernels < 5.6 or qemu-user). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#if __has_include(<linux/seccomp.h>) && __has_include(<linux/filter.h>)
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_SECCOMP 1
#endif

#include <cmocka.h>

#include "provider/localfs.h"
#include "util/wf_compat.h"

struct fixture {
    char base[64];    /* temp dir holding root/ and outside/ */
    char root[128];
    char outside[128];
    struct wf_localfs *fs;
    const struct wf_provider_ops *ops;
    int fallback; /* no openat2: no symlink is followed at all */
};

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int setup_mode(void **state, int read_only, int no_openat2)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->base, "/tmp/wf_localfs_XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->root, sizeof f->root, "%s/root", f->base);
    snprintf(f->outside, sizeof f->outside, "%s/outside", f->base);
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_int_equal(mkdir(f->outside, 0755), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/secret", f->outside);
    write_file(p, "secret");
    snprintf(p, sizeof p, "%s/file", f->root);
    write_file(p, "hello");
    snprintf(p, sizeof p, "%s/dir", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/dir/inner", f->root);
    write_file(p, "inner");
    /* escapes */
    snprintf(p, sizeof p, "%s/abs_out", f->root);
    char t[256];
    snprintf(t, sizeof t, "%s/secret", f->outside);
    assert_int_equal(symlink(t, p), 0);
    snprintf(p, sizeof p, "%s/rel_out", f->root);
    assert_int_equal(symlink("../outside/secret", p), 0);
    snprintf(p, sizeof p, "%s/dir_out", f->root);
    assert_int_equal(symlink("../outside", p), 0);
    snprintf(p, sizeof p, "%s/dangling_out", f->root);
    assert_int_equal(symlink("../outside/newfile", p), 0);
    /* in-tree symlinks */
    snprintf(p, sizeof p, "%s/rel_in", f->root);
    assert_int_equal(symlink("dir/inner", p), 0);
    snprintf(p, sizeof p, "%s/dir_in", f->root);
    assert_int_equal(symlink("dir", p), 0);

    f->fs = wf_localfs_create(f->root, read_only);
    assert_non_null(f->fs);
    if (no_openat2)
        wf_localfs_disable_openat2(f->fs);
    /* without openat2 in the kernel the provider falls back by itself */
    f->fallback = no_openat2 || !wf_localfs_openat2_available();
    f->ops = wf_localfs_ops();
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_mode(state, 0, 0); }
static int setup_fallback(void **state) { return setup_mode(state, 0, 1); }
static int setup_ro(void **state) { return setup_mode(state, 1, 0); }

static int teardown(void **state)
{
    struct fixture *f = *state;
    wf_localfs_destroy(f->fs);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->base);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

struct names {
    char buf[4096];
    size_t len;
    int count;
};

static int collect(void *dirbuf, const char *name)
{
    struct names *n = dirbuf;
    size_t l = strlen(name);
    if (n->len + l + 2 > sizeof n->buf)
        return -1;
    memcpy(n->buf + n->len, name, l);
    n->buf[n->len + l] = '|';
    n->len += l + 1;
    n->buf[n->len] = '\0';
    n->count++;
    return 0;
}

static void test_basic_ops(void **state)
{
    struct fixture *f = *state;
    const struct wf_provider_ops *o = f->ops;
    void *ud = f->fs;
    struct stat st;

    assert_int_equal(o->getattr(ud, "/", &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(o->getattr(ud, "/file", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 5);
    assert_int_equal(o->getattr(ud, "/abs_out", &st), 0); /* lstat semantics */
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(o->getattr(ud, "/missing", &st), -ENOENT);
    assert_int_equal(o->access(ud, "/file", R_OK), 0);

    /* readdir leaves out . and .. */
    struct names n = { .len = 0 };
    assert_int_equal(o->readdir(ud, "/dir", collect, &n), 0);
    assert_string_equal(n.buf, "inner|");
    n.len = 0;
    n.count = 0;
    assert_int_equal(o->readdir(ud, "/", collect, &n), 0);
    assert_int_equal(n.count, 8);
    assert_null(strstr(n.buf, "..|"));

    /* create, write, read, truncate, release */
    uint64_t fh = 12345;
    assert_int_equal(o->create(ud, "/dir/new", 0644, &fh), 0);
    assert_int_equal(wf_localfs_open_handles(f->fs), 1);
    assert_int_equal(o->write(ud, "/dir/new", "abcdef", 6, 0, fh), 6);
    char buf[16] = { 0 };
    assert_int_equal(o->read(ud, "/dir/new", buf, sizeof buf, 2, fh), 4);
    assert_memory_equal(buf, "cdef", 4);
    assert_int_equal(o->truncate(ud, "/dir/new", 3, fh), 0);
    assert_int_equal(o->fsync(ud, "/dir/new", 1, fh), 0);
    assert_int_equal(o->release(ud, "/dir/new", fh), 0);
    assert_int_equal(o->release(ud, "/dir/new", fh), -EBADF);
    assert_int_equal(o->truncate(ud, "/dir/new", 2, WF_NO_FILE_HANDLE), 0);
    assert_int_equal(o->getattr(ud, "/dir/new", &st), 0);
    assert_int_equal(st.st_size, 2);

    if (!f->fallback) {
        /* open follows an in-tree symlink */
        assert_int_equal(o->open(ud, "/rel_in", O_RDONLY, &fh), 0);
        memset(buf, 0, sizeof buf);
        assert_int_equal(o->read(ud, "/rel_in", buf, sizeof buf, 0, fh), 5);
        assert_string_equal(buf, "inner");
        assert_int_equal(o->release(ud, "/rel_in", fh), 0);
        assert_int_equal(o->open(ud, "/dir_in/inner", O_RDONLY, &fh), 0);
        assert_int_equal(o->release(ud, "/dir_in/inner", fh), 0);
        assert_int_equal(o->getattr(ud, "/dir_in/inner", &st), 0);
    } else {
        assert_int_equal(o->open(ud, "/rel_in", O_RDONLY, &fh), -ELOOP);
        assert_true(o->getattr(ud, "/dir_in/inner", &st) < 0);
    }

    /* symlink / readlink */
    assert_int_equal(o->symlink(ud, "/etc/passwd", "/lnk"), 0);
    char target[64];
    int len = o->readlink(ud, "/lnk", target, sizeof target);
    assert_int_equal(len, 11);
    assert_memory_equal(target, "/etc/passwd", 11);

    /* link, rename (plain, NOREPLACE, EXCHANGE) */
    assert_int_equal(o->link(ud, "/file", "/file2"), 0);
    assert_int_equal(o->getattr(ud, "/file2", &st), 0);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(o->rename(ud, "/file2", "/file", RENAME_NOREPLACE), -EEXIST);
    assert_int_equal(o->rename(ud, "/file2", "/file3", 0), 0);
    assert_int_equal(o->rename(ud, "/file3", "/dir/new", RENAME_EXCHANGE), 0);
    assert_int_equal(o->getattr(ud, "/file3", &st), 0);
    assert_int_equal(st.st_size, 2);
    assert_int_equal(o->rename(ud, "/file3", "/x", 0x80), -EINVAL);

    /* chmod, chown, utimens */
    assert_int_equal(o->chmod(ud, "/file", 0600), 0);
    assert_int_equal(o->getattr(ud, "/file", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(o->chown(ud, "/file", (uid_t)-1, (gid_t)-1), 0);
    struct timespec tv[2] = { { 1000, 5 }, { 2000, 7 } };
    assert_int_equal(o->utimens(ud, "/file", tv, WF_NO_FILE_HANDLE), 0);
    assert_int_equal(o->getattr(ud, "/file", &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 2000);
    assert_int_equal(st.st_atim.tv_sec, 1000);
    /* utimens on a symlink changes the link, not its target */
    assert_int_equal(o->utimens(ud, "/lnk", tv, WF_NO_FILE_HANDLE), 0);

    /* mkdir, mknod, unlink, rmdir, statfs */
    assert_int_equal(o->mkdir(ud, "/d2", 0700), 0);
    assert_int_equal(o->mkdir(ud, "/d2", 0700), -EEXIST);
    assert_int_equal(o->mknod(ud, "/d2/fifo", S_IFIFO | 0600, 0), 0);
    assert_int_equal(o->mknod(ud, "/d2/dev", S_IFCHR | 0600, makedev(1, 3)), -EPERM);
    assert_int_equal(o->open(ud, "/d2/fifo", O_RDONLY, &fh), -ENXIO); /* never blocks */
    assert_int_equal(o->rmdir(ud, "/d2"), -ENOTEMPTY);
    assert_int_equal(o->unlink(ud, "/d2/fifo"), 0);
    assert_int_equal(o->rmdir(ud, "/d2"), 0);
    assert_int_equal(o->unlink(ud, "/lnk"), 0);
    struct statvfs sv;
    assert_int_equal(o->statfs(ud, "/", &sv), 0);
    assert_true(sv.f_bsize > 0);

    /* bad paths */
    assert_int_equal(o->getattr(ud, "/dir/./inner", &st), -EINVAL);
    assert_int_equal(o->mkdir(ud, "/.", 0700), -EINVAL);
    assert_int_equal(o->unlink(ud, "/"), -EISDIR);
    assert_int_equal(o->rmdir(ud, "/"), -EBUSY);
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(o->getattr(ud, longp, &st), -ENAMETOOLONG);
    assert_int_equal(o->read(ud, "/file", buf, 4, 0, 999), -EBADF);
    assert_int_equal(o->read(ud, "/file", buf, 4, 0, 77777), -EBADF);
}

static void test_handles(void **state)
{
    struct fixture *f = *state;
    const struct wf_provider_ops *o = f->ops;
    uint64_t fh;
    int n = 0, rc;
    while ((rc = o->open(f->fs, "/file", O_RDONLY, &fh)) == 0)
        n++;
    assert_int_equal(rc, -EMFILE);
    assert_int_equal(n, WF_LOCALFS_MAX_HANDLES);
    o->disconnected(f->fs);
    assert_int_equal(wf_localfs_open_handles(f->fs), 0);
    assert_int_equal(o->open(f->fs, "/file", O_RDONLY, &fh), 0);
    assert_int_equal(o->release(f->fs, "/file", fh), 0);
}

static void test_confinement(void **state)
{
    struct fixture *f = *state;
    const struct wf_provider_ops *o = f->ops;
    void *ud = f->fs;
    struct stat st;
    uint64_t fh;
    char buf[64];
    char p[256];

    /* ".." in any position */
    assert_true(o->getattr(ud, "/..", &st) < 0);
    assert_true(o->getattr(ud, "/../outside/secret", &st) < 0);
    assert_true(o->open(ud, "/../outside/secret", O_RDONLY, &fh) < 0);
    assert_true(o->open(ud, "/dir/../../outside/secret", O_RDONLY, &fh) < 0);
    assert_true(o->readdir(ud, "/..", collect, &(struct names){ .len = 0 }) < 0);

    /* absolute and relative symlinks out: open fails */
    assert_true(o->open(ud, "/abs_out", O_RDONLY, &fh) < 0);
    assert_true(o->open(ud, "/rel_out", O_RDONLY, &fh) < 0);
    assert_true(o->open(ud, "/rel_out", O_RDWR | O_TRUNC, &fh) < 0);
    assert_true(o->read(ud, "/rel_out", buf, sizeof buf, 0, WF_NO_FILE_HANDLE) < 0);
    assert_true(o->truncate(ud, "/rel_out", 0, WF_NO_FILE_HANDLE) < 0);
    assert_true(o->write(ud, "/abs_out", "x", 1, 0, WF_NO_FILE_HANDLE) < 0);
    assert_true(o->create(ud, "/dangling_out", 0644, &fh) < 0);

    /* symlinked directory out: every op through it fails */
    assert_true(o->getattr(ud, "/dir_out/secret", &st) < 0);
    assert_true(o->open(ud, "/dir_out/secret", O_RDONLY, &fh) < 0);
    assert_true(o->readdir(ud, "/dir_out", collect, &(struct names){ .len = 0 }) < 0);
    assert_true(o->create(ud, "/dir_out/created", 0644, &fh) < 0);
    assert_true(o->mkdir(ud, "/dir_out/newdir", 0755) < 0);
    assert_true(o->unlink(ud, "/dir_out/secret") < 0);
    assert_true(o->symlink(ud, "x", "/dir_out/newlink") < 0);
    assert_true(o->chmod(ud, "/dir_out/secret", 0777) < 0);
    assert_true(o->chmod(ud, "/abs_out", 0777) < 0);
    assert_true(o->utimens(ud, "/dir_out/secret",
                           (const struct timespec[2]){ { 1, 0 }, { 1, 0 } }, WF_NO_FILE_HANDLE) < 0);

    /* hard link whose target lies outside, and link out of the tree */
    assert_true(o->link(ud, "/dir_out/secret", "/stolen") < 0);
    assert_true(o->link(ud, "/file", "/dir_out/planted") < 0);
    assert_true(o->link(ud, "/../outside/secret", "/stolen") < 0);

    /* rename out and in */
    assert_true(o->rename(ud, "/file", "/dir_out/moved", 0) < 0);
    assert_true(o->rename(ud, "/file", "/../outside/moved", 0) < 0);
    assert_true(o->rename(ud, "/dir_out/secret", "/taken", 0) < 0);
    assert_true(o->rename(ud, "/file", "/dir_out", RENAME_EXCHANGE) == 0); /* swaps the links only */
    assert_true(o->rename(ud, "/file", "/dir_out", RENAME_EXCHANGE) == 0);

    /* nothing outside was touched */
    snprintf(p, sizeof p, "%s/secret", f->outside);
    assert_int_equal(stat(p, &st), 0);
    assert_int_not_equal(st.st_mode & 0777, 0777);
    assert_int_equal(st.st_size, 6);
    assert_int_equal(st.st_nlink, 1);
    assert_true(st.st_mtime > 100);
    const char *never[] = { "created", "newdir", "newlink", "planted", "moved", "newfile" };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", f->outside, never[i]);
        assert_false(exists(p));
    }
    snprintf(p, sizeof p, "%s/moved", f->base);
    assert_false(exists(p));
    snprintf(p, sizeof p, "%s/stolen", f->root);
    assert_false(exists(p));
    snprintf(p, sizeof p, "%s/file", f->root);
    assert_true(exists(p));
    assert_int_equal(wf_localfs_open_handles(f->fs), 0);
}

static void test_read_only(void **state)
{
    struct fixture *f = *state;
    const struct wf_provider_ops *o = f->ops;
    void *ud = f->fs;
    uint64_t fh;
    struct timespec tv[2] = { { 1, 0 }, { 1, 0 } };

    assert_int_equal(o->symlink(ud, "x", "/l"), -EROFS);
    assert_int_equal(o->link(ud, "/file", "/l"), -EROFS);
    assert_int_equal(o->rename(ud, "/file", "/l", 0), -EROFS);
    assert_int_equal(o->chmod(ud, "/file", 0777), -EROFS);
    assert_int_equal(o->chown(ud, "/file", 0, 0), -EROFS);
    assert_int_equal(o->truncate(ud, "/file", 0, WF_NO_FILE_HANDLE), -EROFS);
    assert_int_equal(o->mknod(ud, "/n", S_IFIFO | 0600, 0), -EROFS);
    assert_int_equal(o->create(ud, "/n", 0600, &fh), -EROFS);
    assert_int_equal(o->unlink(ud, "/file"), -EROFS);
    assert_int_equal(o->write(ud, "/file", "x", 1, 0, WF_NO_FILE_HANDLE), -EROFS);
    assert_int_equal(o->mkdir(ud, "/n", 0700), -EROFS);
    assert_int_equal(o->rmdir(ud, "/dir"), -EROFS);
    assert_int_equal(o->utimens(ud, "/file", tv, WF_NO_FILE_HANDLE), -EROFS);
    assert_int_equal(o->open(ud, "/file", O_WRONLY, &fh), -EROFS);
    assert_int_equal(o->open(ud, "/file", O_RDWR, &fh), -EROFS);
    assert_int_equal(o->open(ud, "/file", O_RDONLY | O_TRUNC, &fh), -EROFS);
    assert_int_equal(o->open(ud, "/file", O_RDONLY | O_CREAT, &fh), -EROFS);
    assert_int_equal(o->access(ud, "/file", W_OK), -EROFS);

    /* reading still works */
    char buf[8] = { 0 };
    assert_int_equal(o->open(ud, "/file", O_RDONLY, &fh), 0);
    assert_int_equal(o->read(ud, "/file", buf, sizeof buf, 0, fh), 5);
    assert_string_equal(buf, "hello");
    assert_int_equal(o->release(ud, "/file", fh), 0);

    char p[256];
    snprintf(p, sizeof p, "%s/file", f->root);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 5);
}

/* Makes openat2 answer ENOSYS in this process from now on. Returns 0, or -1
 * where seccomp filters are not available (then the ENOSYS group skips). */
static int deny_openat2(void)
{
#if defined(HAVE_SECCOMP) && defined(SYS_openat2)
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
        return 0;
#endif
    return -1;
}

static void test_enosys_detected(void **state)
{
    (void)state;
    assert_false(wf_localfs_openat2_available());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confinement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_ops, setup_fallback, teardown),
        cmocka_unit_test_setup_teardown(test_confinement, setup_fallback, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    /* Last, as a seccomp filter cannot be removed: the provider must notice
     * ENOSYS on its own and keep working (and confining) with the walk. */
    const struct CMUnitTest enosys[] = {
        cmocka_unit_test(test_enosys_detected),
        cmocka_unit_test_setup_teardown(test_basic_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confinement, setup, teardown),
    };
    if (deny_openat2() < 0) {
        printf("SKIP: openat2 ENOSYS group: no seccomp filter here\n");
        return failed;
    }
    return failed + cmocka_run_group_tests_name("openat2_enosys", enosys, NULL, NULL);
}
