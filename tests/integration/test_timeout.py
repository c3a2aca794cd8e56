"""Request timeouts against a provider that does not answer.

tests/tools/wf_bad_provider.c in silent mode connects and never answers (or
answers late with --answer-after). With a short --wf-timeout the service must
fail a filesystem call with EIO after the timeout (not at once, not never),
close the connection after repeated timeouts, discard late answers safely and
keep serving the next provider.
"""

import errno
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOOLS_DIR = os.environ.get("WF_TOOLS_DIR", os.path.join(h.BUILD_DIR, "tests"))
BAD_PROVIDER_BIN = os.path.join(TOOLS_DIR, "wf_bad_provider")
TIMEOUT = 2  # --wf-timeout for these tests


class BadProvider(h._Program):
    """wf_bad_provider; its stdout is JSON lines (see the tool's header)."""

    name = "bad_provider"

    def __init__(self, service, mode, *args, max_seconds=60):
        super().__init__()
        self.argv = [BAD_PROVIDER_BIN, "--port", str(service.port), "--mode", mode,
                     "--max-seconds", str(max_seconds)] + [str(a) for a in args]

    def start(self):
        self._spawn(self.argv)
        return self

    def events(self):
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def count(self, event):
        return sum(1 for e in self.events() if e.get("event") == event)

    def wait_event(self, event, n=1, timeout=h.DEFAULT_WAIT):
        h.wait_until(lambda: self.count(event) >= n, timeout,
                     "wf_bad_provider event %r x%d" % (event, n), logs=self.log_tail)

    def summary(self):
        s = [e for e in self.events() if e.get("event") == "summary"]
        return s[-1] if s else None

    def cleanup(self):
        self._kill()
        self._close_log()
        if h.VERBOSE:
            h.log(self.log_tail(80))
        self._remove_tmp()


def require_tool():
    h.require_binaries()
    if not os.access(BAD_PROVIDER_BIN, os.X_OK):
        raise unittest.SkipTest("not built: " + BAD_PROVIDER_BIN)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def timed_errno(fn, *args, timeout=h.CALL_TIMEOUT):
    t0 = time.monotonic()
    err = h.call(h.errno_of, fn, *args, timeout=timeout, what=getattr(fn, "__name__", "call"))
    return err, time.monotonic() - t0


def check_real_provider_serves(testcase, svc, content=b"served after the bad provider\n"):
    """A real provider attaches and serves a file correctly."""
    def populate(d):
        with open(os.path.join(d, "hello.txt"), "wb") as f:
            f.write(content)
    prov = h.Provider(svc)
    try:
        populate(prov.directory)
        prov.start(wait=20)
        data = h.call(read_file, svc.path("hello.txt"), timeout=10, what="read hello.txt")
        testcase.assertEqual(data, content)
    finally:
        prov.cleanup()


class TimeoutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_tool()

    def setUp(self):
        self.svc = h.Service(timeout=TIMEOUT)
        self.svc.start()
        self.addCleanup(self.svc.cleanup)

    def bad(self, *args, **kw):
        b = BadProvider(self.svc, *args, **kw)
        self.addCleanup(b.cleanup)
        b.start()
        b.wait_event("connected")
        return b

    def test_silent_provider_gives_eio_after_timeout_then_is_dropped(self):
        bad = self.bad("silent")
        for i in range(3):
            err, took = timed_errno(os.stat, self.svc.path("nothing-%d" % i), timeout=TIMEOUT + 10)
            self.assertEqual(err, errno.EIO, "stat %d: %s" % (i, h.errname(err)))
            self.assertGreaterEqual(took, TIMEOUT - 0.5, "EIO came too early (%.2fs)" % took)
            self.assertLessEqual(took, TIMEOUT + 2, "EIO came too late (%.2fs)" % took)
            if bad.count("closed"):
                break
        # three timeouts in a row: the service hangs up on the provider
        bad.wait_event("closed", timeout=TIMEOUT + 5)
        self.assertEqual(bad.wait_exit(5), 0, bad.log_tail())
        self.assertGreaterEqual(bad.count("request"), 1)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        # the mount still answers (empty while nobody is attached)
        self.assertEqual(self.svc.listdir(timeout=5), [])
        check_real_provider_serves(self, self.svc)

    def test_answer_within_timeout_is_used(self):
        self.bad("silent", "--answer-after", 300)
        err, took = timed_errno(os.stat, self.svc.path("absent"), timeout=TIMEOUT + 10)
        self.assertEqual(err, errno.ENOENT, h.errname(err))
        self.assertLess(took, TIMEOUT, "answer was not used (%.2fs)" % took)

    def test_late_answers_are_discarded(self):
        bad = self.bad("silent", "--answer-after", (TIMEOUT + 1) * 1000)
        err, took = timed_errno(os.stat, self.svc.path("late-1"), timeout=TIMEOUT + 10)
        self.assertEqual(err, errno.EIO, h.errname(err))
        self.assertLessEqual(took, TIMEOUT + 2)
        # the late answer arrives after the request expired: discarded, no harm
        bad.wait_event("answered_late", timeout=TIMEOUT + 5)
        time.sleep(0.5)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        self.assertTrue(bad.alive(), "service dropped a provider for one late answer")
        # a second one, to have several late answers in flight around expiry
        err, _ = timed_errno(os.stat, self.svc.path("late-2"), timeout=TIMEOUT + 10)
        self.assertEqual(err, errno.EIO, h.errname(err))
        bad.wait_event("answered_late", 2, timeout=TIMEOUT + 5)
        time.sleep(0.3)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        bad.stop(signal.SIGTERM, 5)
        h.wait_until(lambda: self.svc.listdir(timeout=5) == [], 10, "the mount to empty")
        check_real_provider_serves(self, self.svc)
        self.assertTrue(self.svc.alive())

    def test_unfinished_fragment_times_out(self):
        bad = self.bad("fragments")
        err, took = timed_errno(os.stat, self.svc.path("frag"), timeout=TIMEOUT + 10)
        self.assertEqual(err, errno.EIO, h.errname(err))
        self.assertLessEqual(took, TIMEOUT + 2)
        for i in range(2):
            if bad.count("closed"):
                break
            timed_errno(os.stat, self.svc.path("frag-%d" % i), timeout=TIMEOUT + 10)
        bad.wait_event("closed", timeout=TIMEOUT + 5)
        self.assertTrue(self.svc.alive(), self.svc.log_tail())
        check_real_provider_serves(self, self.svc)


if __name__ == "__main__":
    h.main()
