#!/usr/bin/env python3
"""Parallel use of the mount.

- 8 threads read 8 different files at once, every one gets its own content;
- a directory listing completes while a large read is still in flight
  (a slow request must not block everything behind it).
"""

import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

MIB = 1024 * 1024
BIG_MIB = h.env_int("WF_BIGFILE_MIB", 256)
READERS = 8
LISTDIR_BOUND = 5.0  # seconds


def content(i, size):
    seed = hashlib.sha256(b"file-%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


def read_all(path, chunk=256 * 1024):
    out = bytearray()
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                return bytes(out)
            out += data


def populate(d):
    for i in range(READERS):
        with open(os.path.join(d, "file-%d.bin" % i), "wb") as f:
            f.write(content(i, (i + 1) * 3 * MIB + i * 4097))
    os.mkdir(os.path.join(d, "dir"))
    for i in range(20):
        open(os.path.join(d, "dir", "entry-%02d" % i), "wb").close()
    block = os.urandom(MIB)
    d256 = hashlib.sha256()
    with open(os.path.join(d, "big.bin"), "wb") as f:
        for i in range(BIG_MIB):
            chunk = hashlib.sha256(b"%d" % i).digest() + block[32:]
            f.write(chunk)
            d256.update(chunk)
    with open(os.path.join(d, "big.sha256"), "w") as f:
        f.write(d256.hexdigest())


class Concurrency(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        cls.service = h.Service()
        try:
            cls.service.start()
            cls.provider = h.Provider(cls.service)
            populate(cls.provider.directory)
            cls.provider.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "provider", None):
            cls.provider.cleanup()
        cls.service.cleanup()

    def test_parallel_readers(self):
        calls = [h.BackgroundCall(read_all, self.service.path("file-%d.bin" % i)) for i in range(READERS)]
        for i, c in enumerate(calls):
            data = c.join(timeout=300, what="reader %d" % i)
            expected = content(i, (i + 1) * 3 * MIB + i * 4097)
            self.assertEqual(len(data), len(expected), "reader %d: size" % i)
            self.assertTrue(data == expected, "reader %d: wrong content" % i)

    def test_listdir_during_big_read(self):
        expected_sha = open(self.provider.path("big.sha256")).read()
        started = time.monotonic()
        reader = h.BackgroundCall(h.sha256_file, self.service.path("big.bin"))
        time.sleep(0.3)  # let the read get going
        was_running = reader.running()
        t0 = time.monotonic()
        listing = h.call(os.listdir, self.service.path("dir"), timeout=60, what="listdir during a big read")
        listing_root = h.call(os.listdir, self.service.mountpoint, timeout=60)
        st = h.call(os.stat, self.service.path("file-0.bin"), timeout=60)
        dt = time.monotonic() - t0
        still_running = reader.running()
        sha = reader.join(timeout=600, what="reading big.bin")
        total = time.monotonic() - started
        print("listdir+stat took %.3fs while a %d MiB read (total %.1fs) was %s"
              % (dt, BIG_MIB, total, "in flight" if still_running else "already finished"), file=sys.stderr)
        self.assertEqual(sorted(listing), ["entry-%02d" % i for i in range(20)])
        self.assertIn("big.bin", listing_root)
        self.assertEqual(st.st_size, 3 * MIB)
        self.assertEqual(sha, expected_sha, "big file content")
        if was_running:
            self.assertLess(dt, LISTDIR_BOUND, "listing waited for the big read")


if __name__ == "__main__":
    h.main()
