#!/usr/bin/env python3
"""fsx-style random operations on one file through the mount.

The same seeded sequence of reads, writes, truncates and appends runs on a
file in the mount and on a local file; every read must return the same bytes,
and the whole contents are compared periodically and at the end (also on the
provider side). WF_FSX_OPS (default 10000) sets the count, WF_FSX_SEED the
seed (printed, so a failure can be replayed).
"""

import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

OPS = max(h.env_int("WF_FSX_OPS", 10000), 1)
MAX_SIZE = 256 * 1024
CHECK_EVERY = 500


def whole(fd):
    size = os.fstat(fd).st_size
    out = bytearray()
    off = 0
    while off < size:
        chunk = os.pread(fd, min(1 << 20, size - off), off)
        if not chunk:
            break
        out += chunk
        off += len(chunk)
    return bytes(out)


class Fsx(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def test_random_operations(self):
        seed = int(os.environ.get("WF_FSX_SEED") or random.SystemRandom().randrange(1 << 31))
        print("fsx: seed %d (replay with WF_FSX_SEED=%d), %d operations" % (seed, seed, OPS),
              file=sys.stderr, flush=True)
        rng = random.Random(seed)
        with h.TempDir() as local_dir, h.attached() as (svc, prov):
            local_path = os.path.join(local_dir, "fsx.bin")
            mount_path = svc.path("fsx.bin")
            fds = {}
            fds["local"] = os.open(local_path, os.O_CREAT | os.O_RDWR, 0o644)
            fds["local_app"] = os.open(local_path, os.O_WRONLY | os.O_APPEND)
            fds["mount"] = h.call(os.open, mount_path, os.O_CREAT | os.O_RDWR, 0o644)
            fds["mount_app"] = h.call(os.open, mount_path, os.O_WRONLY | os.O_APPEND)
            counts = {}
            history = []
            try:
                for i in range(OPS):
                    size = os.fstat(fds["local"]).st_size
                    r = rng.random()
                    if r < 0.35:
                        op = "read"
                        off = rng.randrange(0, size + 100)
                        n = rng.randrange(1, 65536)
                        a = os.pread(fds["local"], n, off)
                        b = h.call(os.pread, fds["mount"], n, off, what="op %d pread(%d, %d)" % (i, n, off))
                        desc = "pread(n=%d, off=%d)" % (n, off)
                        if a != b:
                            self.fail("op %d %s: got %d bytes through the mount, expected %d (seed %d)"
                                      % (i, desc, len(b), len(a), seed))
                    elif r < 0.70:
                        op = "write"
                        off = rng.randrange(0, min(size + 4096, MAX_SIZE))
                        n = rng.randrange(1, min(65536, MAX_SIZE - off + 1) + 1)
                        data = rng.randbytes(n)
                        ra = os.pwrite(fds["local"], data, off)
                        rb = h.call(os.pwrite, fds["mount"], data, off, what="op %d pwrite" % i)
                        desc = "pwrite(n=%d, off=%d)" % (n, off)
                        self.assertEqual(rb, ra, "op %d %s (seed %d)" % (i, desc, seed))
                    elif r < 0.82:
                        op = "truncate"
                        new = rng.randrange(0, MAX_SIZE)
                        if rng.random() < 0.5:
                            os.ftruncate(fds["local"], new)
                            h.call(os.ftruncate, fds["mount"], new, what="op %d ftruncate" % i)
                            desc = "ftruncate(%d)" % new
                        else:
                            os.truncate(local_path, new)
                            h.call(os.truncate, mount_path, new, what="op %d truncate" % i)
                            desc = "truncate(%d)" % new
                    elif r < 0.94:
                        op = "append"
                        n = rng.randrange(1, 8192)
                        if size + n > MAX_SIZE:
                            n = 1
                        data = rng.randbytes(n)
                        ra = os.write(fds["local_app"], data)
                        rb = h.call(os.write, fds["mount_app"], data, what="op %d append" % i)
                        desc = "append(n=%d)" % n
                        self.assertEqual(rb, ra, "op %d %s (seed %d)" % (i, desc, seed))
                    else:
                        op = "stat"
                        a = os.fstat(fds["local"]).st_size
                        b = h.call(os.stat, mount_path).st_size
                        desc = "stat"
                        self.assertEqual(b, a, "op %d stat size (seed %d)" % (i, seed))
                    counts[op] = counts.get(op, 0) + 1
                    history.append(desc)
                    if (i + 1) % CHECK_EVERY == 0 or i + 1 == OPS:
                        a = whole(fds["local"])
                        b = h.call(whole, fds["mount"], what="whole-file read after op %d" % i)
                        if a != b:
                            first = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
                                         min(len(a), len(b)))
                            self.fail("after op %d: contents differ (local %d bytes, mount %d bytes, first "
                                      "difference at %d); seed %d; last ops: %s"
                                      % (i, len(a), len(b), first, seed, history[-10:]))
            finally:
                os.close(fds["local"])
                os.close(fds["local_app"])
                for k in ("mount", "mount_app"):
                    try:
                        h.call(os.close, fds[k], timeout=10)
                    except Exception as e:  # noqa: BLE001
                        print("closing %s: %r" % (k, e), file=sys.stderr)
            print("fsx: %r" % (counts,), file=sys.stderr)
            expected = open(local_path, "rb").read()
            # after close (release) the provider's file holds the same bytes
            h.wait_until(lambda: open(prov.path("fsx.bin"), "rb").read() == expected, 10,
                         "the provider's file to equal the local one (seed %d)" % seed)
            self.assertEqual(h.call(lambda: open(mount_path, "rb").read()), expected)
            self.assertEqual(h.call(os.stat, mount_path).st_size, len(expected))


if __name__ == "__main__":
    h.main()
