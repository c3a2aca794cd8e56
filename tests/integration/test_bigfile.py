#!/usr/bin/env python3
"""Large files cross the WebSocket intact in both directions.

- a random file of WF_BIGFILE_MIB (default 256) MiB on the provider side,
  read through the mount, has the same SHA-256;
- 64 MiB (at most WF_BIGFILE_MIB) written through the mount arrive unchanged
  on the provider side;
- the mount reads ahead 1 MiB and lets the kernel keep 64 background requests
  (read-ahead) out, so a sequential reader's next window is asked for while
  the provider still answers the current one.
"""

import hashlib
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

MIB = 1024 * 1024
BIG_MIB = h.env_int("WF_BIGFILE_MIB", 256)
WRITE_MIB = min(64, BIG_MIB)
TIMEOUT = h.env_int("WF_BIGFILE_TIMEOUT", 400)


def write_random(path, mib, seed):
    """Pseudo-random but cheap content: SHA-256 counter blocks, 1 MiB at a time."""
    digest = hashlib.sha256()
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        for i in range(mib):
            # vary every MiB so misplaced blocks are detected
            chunk = hashlib.sha256(b"%d:%d" % (seed, i)).digest() + block[32:]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path, chunk=1 * MIB):
    digest = hashlib.sha256()
    total = 0
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            digest.update(data)
            total += len(data)
    return digest.hexdigest(), total


FUSECTL = "/sys/fs/fuse/connections"


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


class BigFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        cls.service = h.Service()
        try:
            cls.service.start()
            cls.provider = h.Provider(cls.service)
            cls.big_sha = write_random(cls.provider.path("big.bin"), BIG_MIB, 1)
            cls.provider.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "provider", None):
            cls.provider.cleanup()
        cls.service.cleanup()

    def test_read_big_file(self):
        st = h.call(os.stat, self.service.path("big.bin"))
        self.assertEqual(st.st_size, BIG_MIB * MIB)
        t0 = time.monotonic()
        sha, total = h.call(sha256_of, self.service.path("big.bin"), timeout=TIMEOUT,
                            what="reading %d MiB through the mount" % BIG_MIB)
        dt = time.monotonic() - t0
        print("read %d MiB through the mount in %.1fs (%.1f MiB/s)" % (BIG_MIB, dt, BIG_MIB / max(dt, 1e-6)),
              file=sys.stderr)
        self.assertEqual(total, BIG_MIB * MIB)
        self.assertEqual(sha, self.big_sha, "content read through the mount differs")

    def test_read_ahead_limits(self):
        dev = h.mount_entry(self.service.mountpoint)[2]  # "major:minor"
        bdi = "/sys/class/bdi/%s/read_ahead_kb" % dev
        if os.geteuid() != 0 or not os.path.exists(bdi):
            self.skipTest("widening read-ahead needs root and /sys/class/bdi")
        h.wait_until(lambda: read_int(bdi) == 1024, what="read_ahead_kb 1024 (was %d)" % read_int(bdi))
        conn = os.path.join(FUSECTL, dev.split(":")[1])
        mounted_here = False
        if not os.path.isdir(conn):
            # the fuse control filesystem, for this test only
            if subprocess.run(["mount", "-t", "fusectl", "fusectl", FUSECTL],
                              stderr=subprocess.DEVNULL).returncode != 0:
                self.skipTest("no fuse control filesystem at %s" % FUSECTL)
            mounted_here = True
        try:
            self.assertEqual(read_int(os.path.join(conn, "max_background")), 64)
            self.assertEqual(read_int(os.path.join(conn, "congestion_threshold")), 48)
        finally:
            if mounted_here:
                subprocess.run(["umount", FUSECTL])

    def test_write_big_file(self):
        src = os.path.join(self.service._tmp, "source.bin")
        expected = write_random(src, WRITE_MIB, 2)

        def copy():
            with open(src, "rb") as fin, open(self.service.path("written.bin"), "wb") as fout:
                while True:
                    data = fin.read(MIB)
                    if not data:
                        break
                    fout.write(data)
        t0 = time.monotonic()
        h.call(copy, timeout=TIMEOUT, what="writing %d MiB through the mount" % WRITE_MIB)
        dt = time.monotonic() - t0
        print("wrote %d MiB through the mount in %.1fs (%.1f MiB/s)" % (WRITE_MIB, dt, WRITE_MIB / max(dt, 1e-6)),
              file=sys.stderr)
        os.unlink(src)
        sha, total = sha256_of(self.provider.path("written.bin"))
        self.assertEqual(total, WRITE_MIB * MIB)
        self.assertEqual(sha, expected, "content arriving on the provider side differs")
        # and reading it back through the mount gives the same
        sha2, _ = h.call(sha256_of, self.service.path("written.bin"), timeout=TIMEOUT)
        self.assertEqual(sha2, expected)


if __name__ == "__main__":
    h.main()
