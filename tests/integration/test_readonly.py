#!/usr/bin/env python3
"""A read-only provider (`webfuse_provider -r`).

Every operation through the mount that would change the provided directory
fails with EROFS, and the directory is exactly as before afterwards: the
same entries, types, modes, owners, sizes, link targets, content hashes,
mtimes and ctimes. Reading still works.
"""

import errno
import hashlib
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

DATA = b"read-only data\n" * 100


def populate(d):
    with open(os.path.join(d, "data.txt"), "wb") as f:
        f.write(DATA)
    os.mkdir(os.path.join(d, "dir"))
    with open(os.path.join(d, "dir", "inner.txt"), "wb") as f:
        f.write(b"inner\n")
    os.mkdir(os.path.join(d, "emptydir"))
    os.symlink("data.txt", os.path.join(d, "link"))
    os.chmod(os.path.join(d, "data.txt"), 0o644)


def inventory(root):
    """{relpath: attributes (and content hash / link target)} of root and below."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        paths = [os.path.join(dirpath, n) for n in dirnames + filenames]
        if dirpath == root:
            paths.append(root)
        for p in paths:
            st = os.lstat(p)
            entry = {
                "mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid,
                "nlink": st.st_nlink, "size": st.st_size, "ino": st.st_ino,
                "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            }
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entry["sha256"] = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                entry["target"] = os.readlink(p)
            out[os.path.relpath(p, root)] = entry
    return out


def open_close(path, flags, mode=0o644):
    fd = os.open(path, flags, mode)
    os.close(fd)


def open_write(path, flags):
    fd = os.open(path, flags)
    try:
        os.write(fd, b"changed")
    finally:
        os.close(fd)


class ReadOnlyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()

    def setUp(self):
        self.svc = h.Service()
        self.svc.start()
        self.addCleanup(self.svc.cleanup)
        self.prov = h.Provider(self.svc, extra_args=["-r"])
        self.addCleanup(self.prov.cleanup)
        populate(self.prov.directory)
        self.before = inventory(self.prov.directory)
        self.prov.start()

    def m(self, *parts):
        return self.svc.path(*parts)

    def mutations(self):
        m = self.m
        other = 4242
        return [
            ("create O_CREAT|O_WRONLY", open_close, m("new.txt"), os.O_CREAT | os.O_WRONLY),
            ("create O_CREAT|O_EXCL|O_RDWR", open_close, m("new.txt"),
             os.O_CREAT | os.O_EXCL | os.O_RDWR),
            ("create in subdirectory", open_close, m("dir", "new.txt"), os.O_CREAT | os.O_WRONLY),
            ("open existing O_WRONLY + write", open_write, m("data.txt"), os.O_WRONLY),
            ("open existing O_RDWR + write", open_write, m("data.txt"), os.O_RDWR),
            ("open existing O_APPEND + write", open_write, m("data.txt"),
             os.O_WRONLY | os.O_APPEND),
            ("open existing O_TRUNC", open_close, m("data.txt"), os.O_WRONLY | os.O_TRUNC),
            ("open existing O_RDONLY|O_TRUNC", open_close, m("data.txt"),
             os.O_RDONLY | os.O_TRUNC),
            ("truncate to 0", os.truncate, m("data.txt"), 0),
            ("truncate longer", os.truncate, m("data.txt"), len(DATA) + 10),
            ("mkdir", os.mkdir, m("newdir")),
            ("mkdir in subdirectory", os.mkdir, m("dir", "newdir")),
            ("rmdir", os.rmdir, m("emptydir")),
            ("unlink file", os.unlink, m("data.txt")),
            ("unlink in subdirectory", os.unlink, m("dir", "inner.txt")),
            ("unlink symlink", os.unlink, m("link")),
            ("rename file", os.rename, m("data.txt"), m("renamed.txt")),
            ("rename onto existing", os.rename, m("data.txt"), m("dir", "inner.txt")),
            ("rename directory", os.rename, m("emptydir"), m("moved")),
            ("symlink", os.symlink, "data.txt", m("newlink")),
            ("link", os.link, m("data.txt"), m("hardlink")),
            ("chmod", os.chmod, m("data.txt"), 0o600),
            ("chmod directory", os.chmod, m("dir"), 0o700),
            ("chown", os.chown, m("data.txt"), other, other),
            ("chown group only", os.chown, m("data.txt"), -1, other),
            ("utime explicit", os.utime, m("data.txt"), (1, 1)),
            ("utime now", os.utime, m("data.txt"), None),
            ("utime directory", os.utime, m("dir"), (1, 1)),
            ("mknod fifo", os.mkfifo, m("fifo")),
            ("mknod regular", os.mknod, m("node"), stat.S_IFREG | 0o644),
        ]

    def test_mutations_fail_with_erofs(self):
        wrong = []
        for what, fn, *args in self.mutations():
            with self.subTest(what):
                code = h.errno_of(h.call, fn, *args, what=what)
                if code != errno.EROFS:
                    wrong.append("%s: %s" % (what, h.errname(code)))
        after = inventory(self.prov.directory)
        self.assertEqual(wrong, [], "not EROFS:\n  " + "\n  ".join(wrong))
        self.assertEqual(after, self.before, "the provided directory changed")
        self.assert_reads_work()
        self.assertTrue(self.prov.alive())

    def test_mutations_reached_the_provider_and_were_refused(self):
        """The refusals come from the provider (EROFS answers in its -v log),
        not merely from the kernel."""
        for what, fn, *args in self.mutations():
            h.errno_of(h.call, fn, *args, what=what)
        log = self.prov.log_text()
        refused = set()
        for line in log.splitlines():
            if line.endswith("-> -30"):
                refused.add(line.split("request ", 1)[1].split(" ")[1])
        for op in ("create", "open", "truncate", "mkdir", "rmdir", "unlink", "rename",
                   "symlink", "link", "chmod", "chown", "utimens", "mknod"):
            self.assertIn(op, refused, "no EROFS answer for %s in the provider log" % op)
        self.assertEqual(inventory(self.prov.directory), self.before)

    def assert_reads_work(self):
        self.assertEqual(self.svc.listdir(), ["data.txt", "dir", "emptydir", "link"])
        self.assertEqual(self.svc.listdir("dir"), ["inner.txt"])

        def read(p):
            with open(p, "rb") as f:
                return f.read()
        self.assertEqual(h.call(read, self.m("data.txt")), DATA)
        self.assertEqual(h.call(read, self.m("link")), DATA)
        self.assertEqual(h.call(read, self.m("dir", "inner.txt")), b"inner\n")
        self.assertEqual(h.call(os.readlink, self.m("link")), "data.txt")
        st = h.call(os.stat, self.m("data.txt"))
        self.assertEqual(st.st_size, len(DATA))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        # a read-write open of a read-only provider is refused, O_RDONLY works
        fd = h.call(os.open, self.m("data.txt"), os.O_RDONLY)
        try:
            self.assertEqual(h.call(os.pread, fd, 5, 5), DATA[5:10])
        finally:
            os.close(fd)

    def test_reads_work(self):
        self.assert_reads_work()
        self.assertEqual(inventory(self.prov.directory), self.before)


if __name__ == "__main__":
    h.main()
