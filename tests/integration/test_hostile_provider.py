"""A misbehaving provider against the real service.

tests/tools/wf_bad_provider.c connects to the service and sends garbage
(random bytes, mutated responses: unknown ids, wrong types, truncated bodies,
oversize lengths, text frames) or starts a message it never finishes, while
this test pokes the mount from a thread. Afterwards the service must be alive,
the mount must answer and a real webfuse_provider must attach and serve a file
correctly. Also: SIGKILL of the provider in the middle of a large read.
"""

import errno
import hashlib
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402
from test_timeout import BadProvider, check_real_provider_serves, require_tool  # noqa: E402

TIMEOUT = 2
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


class Poker:
    """Stats, lists and reads the mount in a thread until stopped; records
    calls that took longer than `limit` seconds (a hang would be one)."""

    def __init__(self, svc, limit):
        self.svc = svc
        self.limit = limit
        self.slow = []
        self.calls = 0
        self.errors = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _one(self, fn, *args):
        t0 = time.monotonic()
        err = h.errno_of(fn, *args)
        took = time.monotonic() - t0
        self.calls += 1
        self.errors[err] = self.errors.get(err, 0) + 1
        if took > self.limit:
            self.slow.append((getattr(fn, "__name__", "?"), args, took))

    def _read(self, path):
        with open(path, "rb") as f:
            return f.read(4096)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self._one(os.stat, self.svc.path("poke-%d" % (i % 7)))
            self._one(os.listdir, self.svc.mountpoint)
            self._one(self._read, self.svc.path("poke-%d" % (i % 5)))
            self._one(os.statvfs, self.svc.mountpoint)
            i += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(self.limit + 10)
        if self._thread.is_alive():
            raise h.CallTimeout("a filesystem call on the mount hung")
        return False


class HostileProviderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_tool()

    def setUp(self):
        self.svc = h.Service(timeout=TIMEOUT)
        self.svc.start()
        self.addCleanup(self.svc.cleanup)

    def tearDown(self):
        text = self.svc.log_text()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, text, "sanitizer report in the service log")

    def run_bad(self, *args, max_seconds=40):
        bad = BadProvider(self.svc, *args, max_seconds=max_seconds)
        self.addCleanup(bad.cleanup)
        bad.start()
        return bad

    def assert_service_fine(self):
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        h.wait_until(lambda: self.svc.listdir(timeout=5) == [], 10,
                     "the mount to answer (empty) after the bad provider", logs=self.svc.log_tail)
        check_real_provider_serves(self, self.svc)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())

    def garbage_round(self, seed):
        with Poker(self.svc, TIMEOUT + 3) as poker:
            bad = self.run_bad("garbage", "--seed", seed, "--count", 400, max_seconds=40)
            rc = bad.wait_exit(50)
        self.assertEqual(rc, 0, bad.log_tail())
        summary = bad.summary()
        self.assertIsNotNone(summary, bad.log_tail())
        self.assertEqual(summary["sent"], 400, summary)
        self.assertGreater(summary["connections"], 1, "service never hung up on garbage?")
        self.assertFalse(poker.slow, "mount calls took too long: %s" % poker.slow[:5])
        self.assertGreater(poker.calls, 0)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        bad.cleanup()
        time.sleep(0.5)
        # the garbage provider is gone: the mount is empty again
        h.wait_until(lambda: self.svc.listdir(timeout=5) == [], 10, "the mount to empty",
                     logs=self.svc.log_tail)
        self.assert_service_fine()

    def test_garbage(self):
        for seed in (1, 2, 3):
            with self.subTest(seed=seed):
                if seed != 1:  # a fresh service per seed
                    self.svc.cleanup()
                    self.svc = h.Service(timeout=TIMEOUT)
                    self.svc.start()
                    self.addCleanup(self.svc.cleanup)
                self.garbage_round(seed)

    def test_fragments(self):
        with Poker(self.svc, TIMEOUT + 3) as poker:
            bad = self.run_bad("fragments", max_seconds=30)
            bad.wait_event("connected")
            # requests time out; after three in a row the service hangs up
            bad.wait_event("closed", timeout=6 * TIMEOUT + 10)
        self.assertEqual(bad.wait_exit(10), 0, bad.log_tail())
        self.assertFalse(poker.slow, "mount calls took too long: %s" % poker.slow[:5])
        self.assertIn(errno.EIO, poker.errors)
        self.assert_service_fine()

    def test_root_reported_as_file_does_not_poison_the_mount(self):
        """A provider that answers getattr "/" with a non-directory mode gets
        EIO; passed on, the kernel would mark the root inode bad (type change)
        and the mount would fail with EIO for good, also with later providers."""
        bad = self.run_bad("silent", "--answer-after", 1, "--root-mode", "100644")
        bad.wait_event("connected")
        h.errno_of(os.stat, self.svc.mountpoint)
        bad.stop(signal.SIGTERM, 5)
        h.wait_until(lambda: self.svc.listdir(timeout=5) == [], 5, "the mount to answer again",
                     logs=self.svc.log_tail)

    def test_provider_killed_during_large_read(self):
        size = 256 * 1024 * 1024
        block = os.urandom(1024 * 1024)
        prov = h.Provider(self.svc)
        self.addCleanup(prov.cleanup)
        src = prov.path("big.bin")
        digest = hashlib.sha256()
        with open(src, "wb") as f:
            for i in range(size // len(block)):
                chunk = block[i % 7:] + block[:i % 7]  # not one repeated page
                f.write(chunk)
                digest.update(chunk)
        expected = digest.hexdigest()
        prov.start(wait=20)

        progress = {"bytes": 0, "error": None, "error_at": None}
        killed = threading.Event()

        def reader():
            with open(self.svc.path("big.bin"), "rb", buffering=0) as f:
                while True:
                    try:
                        data = f.read(1024 * 1024)
                    except OSError as e:
                        progress["error"] = e.errno
                        progress["error_at"] = time.monotonic()
                        return
                    if not data:
                        return
                    progress["bytes"] += len(data)
                    if progress["bytes"] >= 16 * 1024 * 1024 and not killed.is_set():
                        killed.wait(10)  # the read stays in progress until the kill

        t = h.BackgroundCall(reader)
        h.wait_until(lambda: progress["bytes"] >= 16 * 1024 * 1024 or not t.running(), 30,
                     "the reader to get going", logs=prov.logs)
        self.assertLess(progress["bytes"], size, "read finished before the kill")
        os.kill(prov.pid, signal.SIGKILL)
        kill_at = time.monotonic()
        killed.set()
        t.join(10, what="the reader after the provider was killed")
        self.assertEqual(progress["error"], errno.EIO, "reader ended with %r after %d bytes"
                         % (progress["error"], progress["bytes"]))
        self.assertLess(progress["error_at"] - kill_at, 1.0, "EIO took too long")
        prov.wait_exit(5)
        # the mount still answers
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        h.wait_until(lambda: self.svc.listdir(timeout=5) == [], 10, "the mount to empty",
                     logs=self.svc.log_tail)
        # a new provider for the same directory serves the file identically
        prov2 = h.Provider(self.svc, directory=prov.directory)
        self.addCleanup(prov2.cleanup)
        prov2.start(wait=20)

        self.assertEqual(h.call(h.sha256_file, self.svc.path("big.bin"), timeout=120,
                                what="sha256 through the mount"), expected)


if __name__ == "__main__":
    h.main()
