#!/usr/bin/env python3
"""Attaching and detaching providers, and stopping the programs.

- without a provider the mount root is empty and listing it is quick;
- a provider attaches: its files appear; it stops: the root is empty again,
  without hangs; a new provider can attach afterwards;
- a second provider is refused while one is attached, the first keeps serving;
- SIGTERM / SIGINT make the service unmount and exit 0, and the provider exit 0.
"""

import errno
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

PROMPT = 3.0  # seconds a listing may take without a provider


def populate(d, tag):
    with open(os.path.join(d, "from-%s.txt" % tag), "w") as f:
        f.write("provided by %s\n" % tag)
    os.mkdir(os.path.join(d, "sub-%s" % tag))


def timed_listdir(svc, timeout=15):
    t0 = time.monotonic()
    names = svc.listdir(timeout=timeout)
    return names, time.monotonic() - t0


class Lifecycle(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def wait_empty(self, svc, what):
        h.wait_until(lambda: svc.listdir(timeout=10) == [], 10, what, interval=0.1, logs=svc.log_tail)

    def test_empty_root_without_provider(self):
        with h.Service() as svc:
            names, dt = timed_listdir(svc)
            self.assertEqual(names, [])
            self.assertLess(dt, PROMPT, "listing the empty root took %.2fs" % dt)
            st = h.call(os.stat, svc.mountpoint)
            self.assertTrue(os.path.isdir(svc.mountpoint))
            self.assertGreaterEqual(st.st_nlink, 1)
            self.assertEqual(h.errname(h.call(h.errno_of, os.stat, svc.path("anything"))), "ENOENT")
            self.assertEqual(h.call(h.errno_of, open, svc.path("new"), "w") in (errno.EACCES, errno.EROFS,
                             errno.EPERM, errno.EIO, errno.ENOENT, errno.ENOTCONN, errno.ENOSYS), True)
            self.assertEqual(svc.stop(), 0, "service exit status")

    def test_attach_detach_reattach(self):
        with h.Service() as svc:
            self.assertEqual(svc.listdir(), [])
            prov = h.Provider(svc)
            try:
                populate(prov.directory, "one")
                prov.start()
                self.assertEqual(svc.listdir(), ["from-one.txt", "sub-one"])
                self.assertEqual(h.call(lambda: open(svc.path("from-one.txt")).read()), "provided by one\n")
                self.assertEqual(prov.stop(signal.SIGTERM), 0, "provider exit status after SIGTERM")
                self.wait_empty(svc, "the root to be empty after the provider stopped")
                names, dt = timed_listdir(svc)
                self.assertEqual(names, [])
                self.assertLess(dt, PROMPT)
                self.assertEqual(h.errname(h.call(h.errno_of, os.stat, svc.path("from-one.txt"))), "ENOENT")
            finally:
                prov.cleanup()
            # a new provider attaches after the first one left
            with h.Provider(svc):
                pass  # an empty directory: start() waited for the ready marker
            prov3 = h.Provider(svc)
            try:
                populate(prov3.directory, "three")
                prov3.start()
                self.assertEqual(svc.listdir(), ["from-three.txt", "sub-three"])
                self.assertEqual(prov3.stop(signal.SIGINT), 0, "provider exit status after SIGINT")
                self.wait_empty(svc, "the root to be empty after SIGINT to the provider")
            finally:
                prov3.cleanup()
            self.assertEqual(svc.stop(), 0)

    def test_provider_killed(self):
        with h.Service() as svc:
            prov = h.Provider(svc)
            try:
                populate(prov.directory, "k")
                prov.start()
                prov.stop(signal.SIGKILL)
                self.wait_empty(svc, "the root to be empty after the provider was killed")
                names, dt = timed_listdir(svc)
                self.assertLess(dt, PROMPT)
            finally:
                prov.cleanup()
            self.assertEqual(svc.stop(), 0)

    def test_second_provider_refused(self):
        with h.Service() as svc:
            first = h.Provider(svc)
            second = h.Provider(svc, extra_args=["--no-reconnect"])
            try:
                populate(first.directory, "first")
                populate(second.directory, "second")
                first.start()
                second.start(wait_for_content=False)
                refused = None
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if not second.alive():
                        refused = "exit"
                        break
                    if re.search(r"refus|reject|busy|already|in use|403|409|denied|closed",
                                 second.log_text(), re.I):
                        refused = "log"
                        break
                    time.sleep(0.1)
                self.assertIsNotNone(refused, "second provider neither exited nor logged a refusal within 10s\n"
                                     + second.log_tail() + "\n" + svc.log_tail())
                if not second.alive():
                    self.assertNotEqual(second.proc.returncode, 0, "second provider exited 0 although refused")
                # the first one keeps serving
                for _ in range(3):
                    self.assertEqual(svc.listdir(), ["from-first.txt", "sub-first"])
                    self.assertEqual(h.call(lambda: open(svc.path("from-first.txt")).read()),
                                     "provided by first\n")
                    time.sleep(0.3)
                self.assertTrue(first.alive(), "first provider died")
            finally:
                second.cleanup()
                first.cleanup()
            self.assertEqual(svc.stop(), 0)

    def test_service_sigterm_unmounts(self):
        svc = h.Service()
        prov = None
        try:
            svc.start()
            prov = h.Provider(svc)
            populate(prov.directory, "t")
            prov.start()
            mnt = svc.mountpoint
            self.assertTrue(h.is_mounted(mnt))
            rc = svc.stop(signal.SIGTERM, timeout=15)
            self.assertEqual(rc, 0, "service exit status after SIGTERM\n" + svc.log_tail())
            self.assertFalse(h.is_mounted(mnt), "still mounted after the service exited")
            # the provider notices (it may reconnect-loop or exit); it must not crash
            time.sleep(0.5)
            if not prov.alive():
                self.assertGreaterEqual(prov.proc.returncode, 0, "provider crashed: %s" % prov.proc.returncode)
        finally:
            if prov is not None:
                prov.cleanup()
            svc.cleanup()

    def test_service_sigint_unmounts(self):
        svc = h.Service()
        try:
            svc.start()
            rc = svc.stop(signal.SIGINT, timeout=15)
            self.assertEqual(rc, 0, "service exit status after SIGINT\n" + svc.log_tail())
            self.assertFalse(h.is_mounted(svc.mountpoint))
        finally:
            svc.cleanup()


if __name__ == "__main__":
    h.main()
