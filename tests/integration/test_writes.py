#!/usr/bin/env python3
"""Writes answered before the provider confirms them (write-behind) keep the
semantics writers rely on.

- a write that fails at the provider (its directory is a 1 MiB tmpfs: ENOSPC)
  reaches the writer: at a later write, at fsync or at close, never silently;
- O_APPEND appends, also with writes from two descriptors interleaved;
- a write through a shared mmap lands in the file;
- size and content seen right after writes (stat, read from another
  descriptor) are the written ones: the provider gets requests in order;
- the provider lost with writes pending (no grace period): close reports EIO.
"""

import errno
import mmap
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402


def write_all_then_close(path, chunks):
    """Writes chunks, then closes; returns the first errno seen (0 if none) and where."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for c in chunks:
            os.write(fd, c)
    except OSError as e:
        try:
            os.close(fd)  # may report a later write's failure too
        except OSError:
            pass
        return e.errno, "write"
    try:
        os.close(fd)
    except OSError as e:
        return e.errno, "close"
    return 0, None


class Writes(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def test_enospc_reaches_writer(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        small = tempfile.mkdtemp(prefix="wf-small-")
        self.addCleanup(shutil.rmtree, small, True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", small])
        os.chmod(small, 0o755)
        with h.Service() as svc:
            prov = h.Provider(svc, directory=small)
            self.addCleanup(prov.cleanup)
            prov.start()
            chunks = [os.urandom(256 << 10) for _ in range(8)]  # 2 MiB into 1 MiB
            err, where = h.call(write_all_then_close, svc.path("big.bin"), chunks, timeout=30)
            self.assertEqual(err, errno.ENOSPC, "the writer saw %s at %s" % (err, where))

    def test_append_and_read_after_write(self):
        with h.attached() as (svc, prov):
            path = svc.path("log.txt")
            a = h.call(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644, timeout=10)
            b = h.call(os.open, path, os.O_WRONLY | os.O_APPEND, timeout=10)
            expected = b""
            for i in range(50):
                line = ("line %d from %s\n" % (i, "ab"[i % 2])).encode()
                h.call(os.write, a if i % 2 == 0 else b, line, timeout=10)
                expected += line
            self.assertEqual(h.call(os.stat, path, timeout=10).st_size, len(expected))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), expected)
            os.close(a)
            os.close(b)
            with open(prov.path("log.txt"), "rb") as f:
                self.assertEqual(f.read(), expected)

    def test_mmap_write_lands(self):
        with h.attached() as (svc, prov):
            path = svc.path("mapped.bin")
            with open(path, "wb") as f:
                f.write(b"\0" * 65536)
            with open(path, "r+b") as f:
                m = mmap.mmap(f.fileno(), 65536)
                m[4096:4101] = b"hello"
                m.flush()
                m.close()
            with open(prov.path("mapped.bin"), "rb") as f:
                data = f.read()
            self.assertEqual(data[4096:4101], b"hello")
            self.assertEqual(len(data), 65536)

    def test_provider_lost_close_reports_eio(self):
        with h.attached() as (svc, prov):
            code = ("import os, sys\n"
                    "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)\n"
                    "os.write(fd, b'x' * 65536)\n"
                    "print('written', flush=True); sys.stdin.readline()\n"
                    "try:\n"
                    "    os.write(fd, b'y' * (1 << 20)); os.close(fd)\n"
                    "except OSError as e:\n"
                    "    print('error', e.errno, flush=True); sys.exit(0)\n"
                    "print('no error', flush=True)\n")
            writer = subprocess.Popen([sys.executable, "-c", code, svc.path("lost.bin")], text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.addCleanup(lambda: writer.poll() is None and writer.kill())
            self.assertEqual(writer.stdout.readline().strip(), "written")
            prov.send_signal(signal.SIGKILL)
            prov.wait_exit()
            writer.stdin.write("go\n")
            writer.stdin.flush()
            writer.wait(timeout=30)
            self.assertEqual(writer.stdout.read().strip(), "error %d" % errno.EIO)


if __name__ == "__main__":
    unittest.main(verbosity=2)
