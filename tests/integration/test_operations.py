#!/usr/bin/env python3
"""Every filesystem operation through the mount behaves like the same
operation on a local directory: same results, same contents and attributes,
same errors.

Each test runs one scenario twice, once on a plain local directory and once on
the mount (whose files live in the provider's directory), and compares what
came back. Afterwards the provided directory itself must equal the local one.
"""

import ctypes
import errno
import os
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
AT_FDCWD = -100
SYS_renameat2_x86_64 = 316

_libc = ctypes.CDLL(None, use_errno=True)


def renameat2(old, new, flags):
    """renameat2(2) through libc (or the raw syscall on old glibc)."""
    o, n = os.fsencode(old), os.fsencode(new)
    if hasattr(_libc, "renameat2"):
        rc = _libc.renameat2(AT_FDCWD, o, AT_FDCWD, n, ctypes.c_uint(flags))
    else:
        rc = _libc.syscall(SYS_renameat2_x86_64, AT_FDCWD, o, AT_FDCWD, n, ctypes.c_uint(flags))
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def outcome(fn, *args):
    """('ok', value) or ('err', errno name) for comparing both sides."""
    try:
        return ("ok", fn(*args))
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, e.errno))


def stat_view(st, with_size=True, times=True):
    v = {
        "type": stat.S_IFMT(st.st_mode),
        "perm": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }
    if not stat.S_ISDIR(st.st_mode):
        v["nlink"] = st.st_nlink
        if with_size:
            v["size"] = st.st_size
    if times:
        v["mtime_ns"] = st.st_mtime_ns
    return v


def write_file(p, data, mode="wb"):
    with open(p, mode) as f:
        return f.write(data)


def read_file(p):
    with open(p, "rb") as f:
        return f.read()


def tree(root):
    """Everything below root: {relpath: (type, perm, uid, gid, size/target/content)}."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                extra = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                extra = read_file(p)
            else:
                extra = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, extra)
    return out


def as_user(uid, gid, fn, *args):
    """fn(*args) in a forked child running as uid/gid (no supplementary
    groups); returns repr() of its result, or of the OSError's errno name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            try:
                res = repr(fn(*args))
            except OSError as e:
                res = repr(errno.errorcode.get(e.errno, e.errno))
            os.write(w, res.encode())
        except BaseException as e:  # noqa: BLE001
            os.write(w, ("child failed: %r" % (e,)).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        c = os.read(r, 4096)
        if not c:
            break
        chunks.append(c)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def with_umask(mask, fn, *args):
    old = os.umask(mask)
    try:
        return fn(*args)
    finally:
        os.umask(old)


def make_entries(b, d, file_mode, dir_mode, fifo_mode):
    """Creates one file (open O_CREAT), directory and FIFO in b/d; returns their
    type/permission bits."""
    os.close(os.open(os.path.join(b, d, "f"), os.O_CREAT | os.O_WRONLY | os.O_EXCL, file_mode))
    os.mkdir(os.path.join(b, d, "d"), dir_mode)
    os.mkfifo(os.path.join(b, d, "p"), fifo_mode)
    return [oct(os.lstat(os.path.join(b, d, n)).st_mode) for n in ("f", "d", "p")]


def populate(d):
    with open(os.path.join(d, "hello.txt"), "wb") as f:
        f.write(b"hello, webfuse\n")
    with open(os.path.join(d, "binary.bin"), "wb") as f:
        f.write(bytes(range(256)) * 1000)
    os.chmod(os.path.join(d, "binary.bin"), 0o640)
    os.mkdir(os.path.join(d, "subdir"))
    with open(os.path.join(d, "subdir", "inner.txt"), "wb") as f:
        f.write(b"inner\n")
    os.symlink("hello.txt", os.path.join(d, "link-to-hello"))
    os.symlink("does/not/exist", os.path.join(d, "dangling"))
    open(os.path.join(d, "empty"), "wb").close()
    with open(os.path.join(d, "secret"), "wb") as f:
        f.write(b"root only\n")
    os.chmod(os.path.join(d, "secret"), 0o600)
    with open(os.path.join(d, "public"), "wb") as f:
        f.write(b"everyone\n")
    os.chmod(os.path.join(d, "public"), 0o644)
    # fixed times, so that both sides have the same ones (directories last)
    for name in ("binary.bin", "subdir/inner.txt", "link-to-hello", "dangling", "empty", "secret", "public",
                 "subdir"):
        os.utime(os.path.join(d, name), ns=(1_200_000_000_000_000_000, 1_300_000_000_000_000_000),
                 follow_symlinks=False)
    os.utime(os.path.join(d, "hello.txt"), ns=(1_000_000_000_123_456_789, 1_100_000_000_987_654_321))


class Operations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        cls.local_tmp = h.TempDir("wf-local-")
        cls.local = cls.local_tmp.path
        populate(cls.local)
        cls.service = h.Service(options=["allow_other"])
        try:
            cls.service.start()
            cls.provider = h.Provider(cls.service)
            populate(cls.provider.directory)
            cls.provider.start()
        except BaseException:
            cls._cleanup()
            raise
        h.make_world_traversable(cls.local)
        h.make_world_traversable(cls.provider.directory)

    @classmethod
    def _cleanup(cls):
        if getattr(cls, "provider", None):
            cls.provider.cleanup()
        if getattr(cls, "service", None):
            cls.service.cleanup()
        cls.local_tmp.__exit__(None, None, None)

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()

    # ------------------------------------------------------------ helpers

    def both(self, scenario, *args):
        """Run scenario(base, *args) on the local dir and on the mount; the
        outcomes must be equal. Returns the outcome."""
        local = outcome(scenario, self.local, *args)
        mounted = h.call(outcome, scenario, self.service.mountpoint, *args,
                         what="%s on the mount" % scenario.__name__)
        self.assertEqual(mounted, local, "%s%r: mount differs from local" % (scenario.__name__, args))
        return local

    def same_error(self, code, scenario, *args):
        res = self.both(scenario, *args)
        self.assertEqual(res, ("err", errno.errorcode[code]),
                         "%s%r: expected %s" % (scenario.__name__, args, errno.errorcode[code]))

    def fresh_dir(self, name):
        """A per-test directory created through both sides."""
        self.both(lambda b: os.mkdir(os.path.join(b, name)))
        return name

    def assert_provider_matches_local(self, rel=""):
        local = tree(os.path.join(self.local, rel))
        provided = tree(os.path.join(self.provider.directory, rel))
        self.assertEqual(provided, local, "provider's directory differs from the local one")

    def lstat_of(self, rel, **kw):
        return lambda b: stat_view(os.lstat(os.path.join(b, rel)), **kw)

    # ------------------------------------------------------------ reading

    def test_readdir_listings(self):
        for rel in ("", "subdir"):
            self.both(lambda b, r: sorted(os.listdir(os.path.join(b, r))), rel)
        self.same_error(errno.ENOENT, lambda b: os.listdir(os.path.join(b, "nope")))
        self.same_error(errno.ENOTDIR, lambda b: os.listdir(os.path.join(b, "hello.txt")))

    def test_read_content_size_mode(self):
        for rel in ("hello.txt", "binary.bin", "subdir/inner.txt", "empty", "link-to-hello"):
            self.both(lambda b, r: read_file(os.path.join(b, r)), rel)
            self.both(self.lstat_of(rel))
            self.both(lambda b, r: stat_view(os.stat(os.path.join(b, r))), rel)
        self.both(self.lstat_of("subdir"))
        self.both(lambda b: stat_view(os.stat(b), times=False))

    def test_pread_offsets(self):
        def scenario(b):
            fd = os.open(os.path.join(b, "binary.bin"), os.O_RDONLY)
            try:
                return [os.pread(fd, n, off) for n, off in
                        ((1, 0), (100, 255), (4096, 1000), (70000, 100000), (10, 255990), (10, 256000), (10, 10**9))]
            finally:
                os.close(fd)
        self.both(scenario)

    def test_access(self):
        modes = [os.F_OK, os.R_OK, os.W_OK, os.X_OK, os.R_OK | os.W_OK]
        for rel in ("hello.txt", "binary.bin", "secret", "subdir", "nope"):
            for m in modes:
                self.both(lambda b, r, mm: os.access(os.path.join(b, r), mm), rel, m)

    def test_statvfs(self):
        def scenario(b):
            s = os.statvfs(b)
            return (s.f_bsize, s.f_blocks, s.f_files, s.f_namemax)
        # both directories are on the same filesystem (the temp dir)
        if os.stat(self.local).st_dev != os.stat(self.provider.directory).st_dev:
            self.skipTest("local and provided dirs are on different filesystems")
        self.both(scenario)

    def test_errors_on_open(self):
        self.same_error(errno.ENOENT, lambda b: open(os.path.join(b, "nope"), "rb"))
        self.same_error(errno.ENOENT, lambda b: open(os.path.join(b, "nodir", "x"), "wb"))
        self.same_error(errno.EISDIR, lambda b: open(os.path.join(b, "subdir"), "wb"))
        self.same_error(errno.ENOTDIR, lambda b: open(os.path.join(b, "hello.txt", "x"), "rb"))
        self.same_error(errno.ENOENT, lambda b: open(os.path.join(b, "dangling"), "rb"))

    # ------------------------------------------------------------ links

    def test_symlink_readlink(self):
        d = self.fresh_dir("symlinks")
        self.both(lambda b: os.symlink("../hello.txt", os.path.join(b, d, "rel")))
        self.both(lambda b: os.symlink("/absolute/target with space", os.path.join(b, d, "abs")))
        for rel in ("rel", "abs"):
            self.both(lambda b, r: os.readlink(os.path.join(b, d, r)), rel)
            self.both(lambda b, r: stat.S_ISLNK(os.lstat(os.path.join(b, d, r)).st_mode), rel)
        self.both(lambda b: read_file(os.path.join(b, d, "rel")))
        self.both(lambda b: os.readlink(os.path.join(b, "dangling")))
        self.same_error(errno.EEXIST, lambda b: os.symlink("x", os.path.join(b, d, "rel")))
        self.same_error(errno.EINVAL, lambda b: os.readlink(os.path.join(b, "hello.txt")))
        self.same_error(errno.ENOENT, lambda b: os.readlink(os.path.join(b, d, "missing")))
        self.assert_provider_matches_local(d)

    def test_hard_link(self):
        d = self.fresh_dir("hardlinks")
        self.both(lambda b: write_file(os.path.join(b, d, "a"), b"linked content"))
        self.both(lambda b: os.link(os.path.join(b, d, "a"), os.path.join(b, d, "b")))
        self.both(lambda b: read_file(os.path.join(b, d, "b")))
        self.both(lambda b: (os.stat(os.path.join(b, d, "a")).st_nlink,
                             os.stat(os.path.join(b, d, "b")).st_nlink))
        # writing through one name shows through the other
        self.both(lambda b: write_file(os.path.join(b, d, "b"), b" + more", "ab"))
        self.both(lambda b: read_file(os.path.join(b, d, "a")))
        self.same_error(errno.EEXIST, lambda b: os.link(os.path.join(b, d, "a"), os.path.join(b, d, "b")))
        self.same_error(errno.ENOENT, lambda b: os.link(os.path.join(b, d, "zz"), os.path.join(b, d, "c")))
        self.both(lambda b: os.unlink(os.path.join(b, d, "a")))
        self.both(lambda b: (read_file(os.path.join(b, d, "b")), os.stat(os.path.join(b, d, "b")).st_nlink))
        self.assert_provider_matches_local(d)

    # ------------------------------------------------------------ rename

    def test_rename(self):
        d = self.fresh_dir("rename")

        def mk(b, name, data):
            with open(os.path.join(b, d, name), "wb") as f:
                f.write(data)
        for name, data in (("a", b"A"), ("b", b"B"), ("c", b"C"), ("x", b"X"), ("y", b"Y")):
            self.both(mk, name, data)
        self.both(lambda b: os.mkdir(os.path.join(b, d, "dir1")))
        self.both(lambda b: os.mkdir(os.path.join(b, d, "full")))
        self.both(mk, "full/f", b"F")
        self.both(lambda b: os.mkdir(os.path.join(b, d, "empty")))

        P = lambda b, n: os.path.join(b, d, n)  # noqa: E731
        # plain rename, rename over an existing file
        self.both(lambda b: os.rename(P(b, "a"), P(b, "a2")))
        self.both(lambda b: os.rename(P(b, "a2"), P(b, "b")))
        self.both(lambda b: (sorted(os.listdir(os.path.join(b, d))), read_file(P(b, "b"))))
        # RENAME_NOREPLACE
        self.same_error(errno.EEXIST, lambda b: renameat2(P(b, "b"), P(b, "c"), RENAME_NOREPLACE))
        self.both(lambda b: renameat2(P(b, "c"), P(b, "c2"), RENAME_NOREPLACE))
        # RENAME_EXCHANGE
        self.both(lambda b: renameat2(P(b, "x"), P(b, "y"), RENAME_EXCHANGE))
        self.both(lambda b: (read_file(P(b, "x")), read_file(P(b, "y"))))
        self.same_error(errno.ENOENT, lambda b: renameat2(P(b, "x"), P(b, "nope"), RENAME_EXCHANGE))
        self.both(lambda b: renameat2(P(b, "x"), P(b, "dir1"), RENAME_EXCHANGE))
        self.both(lambda b: (stat.S_ISDIR(os.lstat(P(b, "x")).st_mode), read_file(P(b, "dir1"))))
        self.both(lambda b: renameat2(P(b, "x"), P(b, "dir1"), RENAME_EXCHANGE))
        # errors
        self.same_error(errno.ENOENT, lambda b: os.rename(P(b, "missing"), P(b, "m2")))
        self.same_error(errno.ENOTEMPTY, lambda b: os.rename(P(b, "dir1"), P(b, "full")))
        self.same_error(errno.EISDIR, lambda b: os.rename(P(b, "b"), P(b, "empty")))
        self.same_error(errno.ENOTDIR, lambda b: os.rename(P(b, "empty"), P(b, "b")))
        self.same_error(errno.EINVAL, lambda b: os.rename(P(b, "full"), P(b, "full/sub")))
        # directory over an empty directory, and moving into a subdirectory
        self.both(lambda b: os.rename(P(b, "dir1"), P(b, "empty")))
        self.both(lambda b: os.rename(P(b, "b"), P(b, "full/b")))
        self.both(lambda b: sorted(os.listdir(P(b, "full"))))
        self.assert_provider_matches_local(d)

    def test_exdev(self):
        with h.TempDir() as other:
            src = self.service.path("hello.txt")
            err = h.call(h.errno_of, os.rename, src, os.path.join(other, "moved"))
            self.assertEqual(h.errname(err), "EXDEV")
            err = h.call(h.errno_of, os.link, src, os.path.join(other, "linked"))
            self.assertEqual(h.errname(err), "EXDEV")
        self.assertTrue(os.path.exists(self.provider.path("hello.txt")))

    # ------------------------------------------------------------ attributes

    def test_chmod(self):
        d = self.fresh_dir("chmod")
        self.both(lambda b: write_file(os.path.join(b, d, "f"), b"x"))
        for mode in (0o600, 0o755, 0o4750, 0o1777, 0o000, 0o644):
            self.both(lambda b, m: os.chmod(os.path.join(b, d, "f"), m), mode)
            self.both(lambda b: stat.S_IMODE(os.stat(os.path.join(b, d, "f")).st_mode))
        self.both(lambda b: os.chmod(os.path.join(b, d), 0o750))
        self.both(lambda b: stat.S_IMODE(os.stat(os.path.join(b, d)).st_mode))
        self.both(lambda b: os.chmod(os.path.join(b, d), 0o755))
        self.same_error(errno.ENOENT, lambda b: os.chmod(os.path.join(b, d, "nope"), 0o644))
        self.assert_provider_matches_local(d)

    @unittest.skipUnless(os.geteuid() == 0, "chown needs root")
    def test_chown(self):
        d = self.fresh_dir("chown")
        self.both(lambda b: write_file(os.path.join(b, d, "f"), b"x"))
        for uid, gid in ((1234, 5678), (-1, 4321), (65534, -1), (0, 0)):
            self.both(lambda b, u, g: os.chown(os.path.join(b, d, "f"), u, g), uid, gid)
            self.both(lambda b: (os.stat(os.path.join(b, d, "f")).st_uid, os.stat(os.path.join(b, d, "f")).st_gid))
        self.same_error(errno.ENOENT, lambda b: os.chown(os.path.join(b, d, "nope"), 1, 1))
        self.assert_provider_matches_local(d)

    def test_utime(self):
        d = self.fresh_dir("utime")
        self.both(lambda b: write_file(os.path.join(b, d, "f"), b"x"))
        for at, mt in ((1_500_000_000_111_222_333, 1_600_000_000_444_555_666), (0, 1), (2**33 * 10**9, 5 * 10**9)):
            self.both(lambda b, a, m: os.utime(os.path.join(b, d, "f"), ns=(a, m)), at, mt)
            res = self.both(lambda b: (os.stat(os.path.join(b, d, "f")).st_atime_ns,
                                       os.stat(os.path.join(b, d, "f")).st_mtime_ns))
            self.assertEqual(res, ("ok", (at, mt)))
        # times on the provider side too
        st = os.stat(self.provider.path(d, "f"))
        self.assertEqual((st.st_atime_ns, st.st_mtime_ns), (2**33 * 10**9, 5 * 10**9))
        self.same_error(errno.ENOENT, lambda b: os.utime(os.path.join(b, d, "nope"), ns=(1, 1)))

    # ------------------------------------------------------------ contents

    def test_create_write_read_append(self):
        d = self.fresh_dir("rw")
        P = lambda b, n: os.path.join(b, d, n)  # noqa: E731

        def create_excl(b):
            fd = os.open(P(b, "new"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
            try:
                return os.write(fd, b"first line\n")
            finally:
                os.close(fd)
        self.both(create_excl)
        self.same_error(errno.EEXIST, create_excl)
        self.both(lambda b: stat_view(os.stat(P(b, "new")), times=False))

        def append(b):
            fd = os.open(P(b, "new"), os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"appended\n")
                os.lseek(fd, 0, os.SEEK_SET)
                return os.write(fd, b"still appended\n")
            finally:
                os.close(fd)
        self.both(append)
        self.both(lambda b: read_file(P(b, "new")))

        def rdwr(b):
            fd = os.open(P(b, "new"), os.O_RDWR)
            try:
                os.pwrite(fd, b"FIRST", 0)
                os.pwrite(fd, b"hole", 100)  # write past the end leaves a hole of zeroes
                return os.pread(fd, 200, 0), os.fstat(fd).st_size
            finally:
                os.close(fd)
        self.both(rdwr)

        def trunc_open(b):
            with open(P(b, "new"), "wb") as f:
                f.write(b"replaced")
            return read_file(P(b, "new"))
        self.both(trunc_open)

        def create_and_read_back_same_handle(b):
            fd = os.open(P(b, "rw2"), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                os.write(fd, b"0123456789")
                return os.pread(fd, 4, 3)
            finally:
                os.close(fd)
        self.both(create_and_read_back_same_handle)
        self.same_error(errno.EISDIR, lambda b: os.open(os.path.join(b, d), os.O_RDWR))
        self.assert_provider_matches_local(d)

    def test_truncate(self):
        d = self.fresh_dir("truncate")
        P = lambda b: os.path.join(b, d, "f")  # noqa: E731
        self.both(lambda b: write_file(P(b), bytes(range(256)) * 64))
        for size in (10000, 5, 0, 70000, 123):
            self.both(lambda b, s: os.truncate(P(b), s), size)
            self.both(lambda b: (os.stat(P(b)).st_size, read_file(P(b))))

        def ftrunc(b):
            fd = os.open(P(b), os.O_RDWR)
            try:
                os.write(fd, b"abcdef")
                os.ftruncate(fd, 3)
                return os.fstat(fd).st_size, os.pread(fd, 10, 0)
            finally:
                os.close(fd)
        self.both(ftrunc)
        self.same_error(errno.EISDIR, lambda b: os.truncate(os.path.join(b, d), 0))
        self.same_error(errno.ENOENT, lambda b: os.truncate(os.path.join(b, d, "nope"), 0))
        self.assert_provider_matches_local(d)

    def test_fsync(self):
        d = self.fresh_dir("fsync")

        def scenario(b):
            fd = os.open(os.path.join(b, d, "f"), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                os.write(fd, b"durable")
                os.fsync(fd)
                os.write(fd, b" data")
                os.fdatasync(fd)
                return os.pread(fd, 100, 0)
            finally:
                os.close(fd)
        self.both(scenario)
        self.assert_provider_matches_local(d)

    def test_mknod_fifo(self):
        d = self.fresh_dir("fifo")
        self.both(lambda b: os.mkfifo(os.path.join(b, d, "pipe"), 0o640))
        self.both(lambda b: stat_view(os.lstat(os.path.join(b, d, "pipe")), with_size=False, times=False))
        self.both(lambda b: stat.S_ISFIFO(os.lstat(os.path.join(b, d, "pipe")).st_mode))
        self.same_error(errno.EEXIST, lambda b: os.mkfifo(os.path.join(b, d, "pipe")))
        self.both(lambda b: os.unlink(os.path.join(b, d, "pipe")))
        self.assert_provider_matches_local(d)

    # ------------------------------------------------------------ namespace

    def test_unlink(self):
        d = self.fresh_dir("unlink")
        self.both(lambda b: write_file(os.path.join(b, d, "f"), b"bye"))
        self.both(lambda b: os.symlink("f", os.path.join(b, d, "l")))
        self.both(lambda b: os.unlink(os.path.join(b, d, "l")))  # removes the link, not the target
        self.both(lambda b: os.path.exists(os.path.join(b, d, "f")))
        self.both(lambda b: os.unlink(os.path.join(b, d, "f")))
        self.same_error(errno.ENOENT, lambda b: os.stat(os.path.join(b, d, "f")))
        self.same_error(errno.ENOENT, lambda b: os.unlink(os.path.join(b, d, "f")))
        self.same_error(errno.EISDIR, lambda b: os.unlink(os.path.join(b, "subdir")))
        self.same_error(errno.ENOTDIR, lambda b: os.unlink(os.path.join(b, "hello.txt", "x")))
        self.both(lambda b: sorted(os.listdir(os.path.join(b, d))))
        self.assert_provider_matches_local(d)

    def test_small_file_changed_between_open_and_read(self):
        # the service reads a small file ahead when it is opened read-only;
        # a write through another descriptor before the first read must win
        d = self.fresh_dir("prefetch")

        def scenario(b):
            p = os.path.join(b, d, "f")
            with open(p, "wb") as f:
                f.write(b"old contents")
            os.stat(p)  # attributes known: a small regular file
            fd = os.open(p, os.O_RDONLY)
            try:
                with open(p, "r+b") as f:
                    f.write(b"NEW")
                return os.pread(fd, 100, 0)
            finally:
                os.close(fd)
        self.both(scenario)
        self.assert_provider_matches_local(d)

    def test_unlink_open_file(self):
        """An open file whose name is gone: still read, written, fstat'ed and
        ftruncate'd through its handle (fstat by handle: the getattr
        extension), also while another file takes its name."""
        d = self.fresh_dir("unlink-open")

        def scenario(b):
            p = os.path.join(b, d, "f")
            with open(p, "wb") as f:
                f.write(b"still readable")
            fd = os.open(p, os.O_RDWR)
            try:
                os.unlink(p)
                gone = os.path.exists(p)
                with open(p, "wb") as f:  # a new file under the old name
                    f.write(b"another file, longer than the first")
                os.pwrite(fd, b"STILL", 0)
                st = os.fstat(fd)
                os.ftruncate(fd, 100)  # the truncate goes by handle, and so must its answer
                return (gone, os.pread(fd, 100, 0)[:20], st.st_size, st.st_nlink, os.path.getsize(p),
                        os.fstat(fd).st_size)
            finally:
                os.close(fd)
        self.both(scenario)

    def test_new_entries_exact_mode(self):
        """The caller's umask applies once (by the caller's kernel), the
        provider's not again: whatever mode a local create gives, the mount
        gives too."""
        d = self.fresh_dir("modes")
        cases = [(0o000, 0o777, 0o1777, 0o666), (0o000, 0o1755, 0o770, 0o606),
                 (0o022, 0o777, 0o777, 0o666), (0o077, 0o666, 0o1777, 0o640), (0o027, 0o751, 0o2750, 0o604)]
        for i, (mask, fm, dm, pm) in enumerate(cases):
            sub = os.path.join(d, str(i))
            self.both(lambda b: os.mkdir(os.path.join(b, sub)))
            self.both(lambda b: with_umask(mask, make_entries, b, sub, fm, dm, pm))
        self.assert_provider_matches_local(d)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to switch to another user")
    def test_new_entries_owned_by_caller(self):
        """create/mkdir/mknod/symlink by another user: the new entries are that
        user's, and set-ID bits of the caller's own new files stay."""
        d = self.fresh_dir("owner")
        self.both(lambda b: os.chmod(os.path.join(b, d), 0o777))

        def create_all(b):
            os.umask(0)
            os.close(os.open(os.path.join(b, d, "f"), os.O_CREAT | os.O_WRONLY, 0o4755))
            os.mkdir(os.path.join(b, d, "dir"), 0o750)
            os.mkfifo(os.path.join(b, d, "fifo"), 0o620)
            os.symlink("f", os.path.join(b, d, "link"))
            return [(n, oct(st.st_mode), st.st_uid, st.st_gid) for n in ("f", "dir", "fifo", "link")
                    for st in [os.lstat(os.path.join(b, d, n))]]

        local = as_user(1234, 5678, create_all, self.local)
        mounted = h.call(as_user, 1234, 5678, create_all, self.service.mountpoint, what="create as 1234")
        self.assertIn("1234, 5678", local)
        self.assertEqual(mounted, local, "entries created by uid 1234: mount differs from local")
        # root's own set-ID file keeps its bits
        sub = os.path.join(d, "root")
        self.both(lambda b: os.mkdir(os.path.join(b, sub)))
        self.both(lambda b: with_umask(0, make_entries, b, sub, 0o6755, 0o755, 0o600))
        self.assert_provider_matches_local(d)

    # ------------------------------------------------------------ documented differences

    @unittest.skipUnless(os.geteuid() == 0, "creating device nodes needs root")
    def test_device_nodes_refused(self):
        """The one deliberate difference (docs/security.md, "Device nodes"): no
        block or character device is created through the mount; FIFOs are."""
        d = self.fresh_dir("devices")
        for kind in (stat.S_IFCHR, stat.S_IFBLK):
            p = os.path.join(d, "dev%o" % kind)
            self.assertEqual(outcome(os.mknod, os.path.join(self.local, p), kind | 0o600, os.makedev(1, 3))[0], "ok")
            got = h.call(outcome, os.mknod, os.path.join(self.service.mountpoint, p), kind | 0o600,
                         os.makedev(1, 3), what="mknod device on the mount")
            self.assertEqual(got, ("err", "EPERM"))
            self.assertFalse(os.path.lexists(os.path.join(self.provider.directory, p)))
            os.unlink(os.path.join(self.local, p))
        self.both(lambda b: os.mknod(os.path.join(b, d, "fifo"), stat.S_IFIFO | 0o600))
        self.assert_provider_matches_local(d)

    def test_path_length_limit(self):
        """The protocol names files by their whole path, at most 4096 bytes
        (docs/protocol.md, "Limits"): a deeper entry, reachable locally with
        *at() calls, answers ENAMETOOLONG through the mount."""
        d = self.fresh_dir("deep")
        comp = "c" * 200

        def deep(b):
            fd = os.open(os.path.join(b, d), os.O_RDONLY | os.O_DIRECTORY)
            depth = 0
            try:
                for depth in range(1, 26):  # 25 x 201 bytes: beyond 4096
                    os.mkdir(comp, dir_fd=fd)
                    nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    os.close(fd)
                    fd = nfd
                return ("ok", depth)
            except OSError as e:
                return (errno.errorcode.get(e.errno, e.errno), depth)
            finally:
                os.close(fd)

        self.assertEqual(deep(self.local), ("ok", 25))
        got = h.call(deep, self.service.mountpoint, what="deep tree on the mount")
        self.assertEqual(got[0], "ENAMETOOLONG")
        # it stops where the path from the root no longer fits 4096 bytes
        self.assertEqual(got[1], (4096 - len("/" + d)) // (len(comp) + 1) + 1)
        for base in (self.local, self.provider.directory):  # fd-relative, any depth
            shutil.rmtree(os.path.join(base, d, comp))

    def test_longest_path(self):
        """A path of exactly 4096 bytes from the root ("/" + 4095) works; one
        byte more answers ENAMETOOLONG."""
        d = self.fresh_dir("longest")
        comp = "c" * 250
        depth = (4095 - len(d) - 1) // (len(comp) + 1)  # d/comp/comp/.../name

        def make(b, extra):
            name_len = 4095 - len(d) - depth * (len(comp) + 1) - 1 + extra
            fd = os.open(os.path.join(b, d), os.O_RDONLY | os.O_DIRECTORY)
            try:
                for _ in range(depth):
                    try:
                        os.mkdir(comp, dir_fd=fd)
                    except FileExistsError:
                        pass
                    nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    os.close(fd)
                    fd = nfd
                os.close(os.open("n" * name_len, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
                return "ok"
            except OSError as e:
                return errno.errorcode.get(e.errno, e.errno)
            finally:
                os.close(fd)

        self.assertEqual(h.call(make, self.service.mountpoint, 0, what="4096-byte path"), "ok")
        self.assertEqual(h.call(make, self.service.mountpoint, 1, what="4097-byte path"), "ENAMETOOLONG")
        shutil.rmtree(os.path.join(self.provider.directory, d, comp))

    def test_hard_linked_fifo_nlink(self):
        """Other names of a hard-linked non-regular file see nlink, mode and
        owner changes at once (no attribute caching for nlink > 1)."""
        d = self.fresh_dir("fifo-links")

        def scenario(b):
            a, bb, c = (os.path.join(b, d, n) for n in "abc")
            os.mkfifo(a, 0o644)
            os.link(a, bb)
            os.stat(a)
            os.link(bb, c)
            n1 = os.lstat(a).st_nlink
            os.chmod(bb, 0o600)
            m = oct(os.lstat(a).st_mode)
            os.unlink(a)
            return n1, m, os.lstat(bb).st_nlink
        self.both(scenario)

    def test_mkdir(self):
        d = self.fresh_dir("mkdir")
        self.both(lambda b: os.mkdir(os.path.join(b, d, "a"), 0o750))
        self.both(lambda b: os.makedirs(os.path.join(b, d, "a", "b", "c")))
        self.both(lambda b: stat_view(os.stat(os.path.join(b, d, "a")), times=False))
        self.same_error(errno.EEXIST, lambda b: os.mkdir(os.path.join(b, d, "a")))
        self.same_error(errno.EEXIST, lambda b: os.mkdir(os.path.join(b, "hello.txt")))
        self.same_error(errno.ENOENT, lambda b: os.mkdir(os.path.join(b, d, "x", "y")))
        self.same_error(errno.ENOTDIR, lambda b: os.mkdir(os.path.join(b, "hello.txt", "y")))
        self.both(lambda b: sorted(os.listdir(os.path.join(b, d, "a", "b"))))
        self.assert_provider_matches_local(d)

    def test_rmdir(self):
        d = self.fresh_dir("rmdir")
        self.both(lambda b: os.makedirs(os.path.join(b, d, "full", "child")))
        self.both(lambda b: os.mkdir(os.path.join(b, d, "empty")))
        self.both(lambda b: open(os.path.join(b, d, "file"), "wb").close())
        self.both(lambda b: os.rmdir(os.path.join(b, d, "empty")))
        self.same_error(errno.ENOENT, lambda b: os.rmdir(os.path.join(b, d, "empty")))
        self.same_error(errno.ENOTEMPTY, lambda b: os.rmdir(os.path.join(b, d, "full")))
        self.same_error(errno.ENOTDIR, lambda b: os.rmdir(os.path.join(b, d, "file")))
        self.both(lambda b: os.rmdir(os.path.join(b, d, "full", "child")))
        self.both(lambda b: os.rmdir(os.path.join(b, d, "full")))
        self.both(lambda b: sorted(os.listdir(os.path.join(b, d))))
        self.assert_provider_matches_local(d)

    def test_many_entries(self):
        d = self.fresh_dir("many")

        def scenario(b):
            for i in range(300):
                with open(os.path.join(b, d, "entry-%03d-%s" % (i, "x" * (i % 50))), "wb") as f:
                    f.write(str(i).encode())
            return sorted(os.listdir(os.path.join(b, d)))
        self.both(scenario)
        self.assert_provider_matches_local(d)

    # ------------------------------------------------------------ permissions

    @unittest.skipUnless(os.geteuid() == 0, "needs root to switch to another user")
    def test_eacces_as_other_user(self):
        def as_nobody(b):
            """Results of a few calls made by uid/gid 65534, from a forked child."""
            def calls():
                res = []
                for fn in (lambda: read_file(os.path.join(b, "secret")),
                           lambda: read_file(os.path.join(b, "public")),
                           lambda: write_file(os.path.join(b, "public"), b"x", "ab"),
                           lambda: os.listdir(b) and None,
                           lambda: os.mkdir(os.path.join(b, "nobody-dir")),
                           lambda: os.unlink(os.path.join(b, "public"))):
                    try:
                        res.append("ok:%r" % (fn(),))
                    except OSError as e:
                        res.append(errno.errorcode.get(e.errno, str(e.errno)))
                return res
            return as_user(65534, 65534, calls)

        local = as_nobody(self.local)
        mounted = h.call(as_nobody, self.service.mountpoint, timeout=60, what="calls as uid 65534")
        self.assertIn("EACCES", local)
        self.assertTrue(local.startswith("['EACCES', \"ok:b'everyone\\\\n'\""), local)
        self.assertEqual(mounted, local, "as uid 65534: mount differs from local")


if __name__ == "__main__":
    h.main()
