#!/usr/bin/env python3
"""Stopping and restarting the service.

- SIGKILL while mounted leaves the mount point stale: it stays in
  /proc/self/mountinfo and stat() fails with ENOTCONN, also a descriptor that
  was open on the mount. Starting the service again on the same mount point
  detects the stale mount, detaches it (lib/service/service.c,
  clear_stale_mount) and mounts afresh: exactly one mount, and a provider
  serves files again (the one that was attached, reconnecting, or a new one).
- SIGTERM and SIGINT each make the service unmount and exit 0 while a
  provider is attached; the mount is gone from /proc/self/mountinfo.
- The same with a file and a directory on the mount held open: the open
  descriptors fail instead of hanging afterwards.

Known bug (reported, lib/service/fs_ops.c): the service frees a file's or a
directory's handle state (struct wf_file from new_file(), struct wf_dir from
wf_opendir() with its listing from readdir_done()) only on release, which the
kernel never sends for handles still open when the service unmounts; under
LeakSanitizer the service then exits 1 with a leak report. While that is so,
test_sigterm_with_open_handles is skipped when the report holds exactly those
leaks and nothing else; any other sanitizer report fails it.
"""

import errno
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

BACKOFF_CAP = 5.0   # seconds: the provider's longest retry delay
SLACK = 3.0
CONTENT = b"restart me\n"
STALE_LOG = "stale mount of a dead process"
def populate(d):
    with open(os.path.join(d, "file.txt"), "wb") as f:
        f.write(CONTENT)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def mount_count(path):
    """How many mounts /proc/self/mountinfo lists on `path`."""
    path = os.path.realpath(path)
    n = 0
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" ")
            if len(fields) > 4 and h._unescape_mountinfo(fields[4]) == path:
                n += 1
    return n


class Restart(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def wait_listed(self, svc, prov, names, timeout, what):
        def listed():
            if not prov.alive():
                raise h.HarnessError("provider exited with %s" % prov.proc.returncode)
            return svc.listdir(timeout=5) == names
        t0 = time.monotonic()
        h.wait_until(listed, timeout, what, interval=0.02, logs=prov.logs)
        return time.monotonic() - t0

    def kill_and_check_stale(self, svc, held_fd=None):
        rc = svc.stop(signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL)
        self.assertTrue(h.is_mounted(svc.mountpoint), "a killed service leaves its mount behind")
        self.assertEqual(h.errname(h.call(h.errno_of, os.stat, svc.mountpoint, timeout=10)), "ENOTCONN",
                         "stat on the stale mount point")
        self.assertEqual(h.errname(h.call(h.errno_of, os.listdir, svc.mountpoint, timeout=10)), "ENOTCONN")
        if held_fd is not None:
            self.assertEqual(h.errname(h.call(h.errno_of, os.pread, held_fd, 64, 0, timeout=10)), "ENOTCONN",
                             "read on a descriptor opened before the kill")

    def restart_on_stale(self, svc):
        before = svc.log_text().count(STALE_LOG)
        svc.start()
        self.assertEqual(svc.log_text().count(STALE_LOG), before + 1,
                         "the new service reports the stale mount it detached\n" + svc.log_tail())
        self.assertEqual(mount_count(svc.mountpoint), 1, "exactly one mount after the restart")
        st = h.call(os.stat, svc.mountpoint, timeout=10)
        self.assertTrue(os.path.isdir(svc.mountpoint) and st.st_nlink >= 1)

    def test_sigkill_then_restart_with_reconnecting_provider(self):
        svc = h.Service()
        prov = None
        fd = None
        try:
            svc.start()
            port, mnt = svc.port, svc.mountpoint
            prov = h.Provider(svc, verbose=False)
            populate(prov.directory)
            with open(prov.path("held.txt"), "wb") as f:
                f.write(CONTENT)
            prov.start()
            self.assertEqual(h.call(_read, svc.path("file.txt")), CONTENT)
            # opened, not read: a read needs the service, not the page cache
            fd = h.call(os.open, svc.path("held.txt"), os.O_RDONLY)

            self.kill_and_check_stale(svc, held_fd=fd)
            # close() may report the failed flush (ENOTCONN); it closes all the same
            self.assertIn(h.errname(h.errno_of(os.close, fd)), ("OK", "ENOTCONN"))
            fd = None
            h.wait_until(lambda: "disconnected" in prov.log_text(), 10,
                         "the provider to notice the killed service", logs=prov.logs)

            self.restart_on_stale(svc)
            self.assertEqual((svc.port, svc.mountpoint), (port, mnt))
            dt = self.wait_listed(svc, prov, ["file.txt", "held.txt"], BACKOFF_CAP + SLACK,
                                  "the provider to re-attach to the restarted service")
            h.log("provider re-attached %.2fs after the restarted service listened" % dt)
            self.assertEqual(h.call(_read, svc.path("file.txt")), CONTENT)
            self.assertEqual(h.call(_read, svc.path("held.txt")), CONTENT)
            h.call(_write, svc.path("new.txt"), b"after restart\n")
            with open(prov.path("new.txt"), "rb") as f:
                self.assertEqual(f.read(), b"after restart\n")

            self.assertEqual(svc.stop(signal.SIGTERM, timeout=15), 0, svc.log_tail())
            self.assertEqual(mount_count(mnt), 0, "mounts left after SIGTERM")
            self.assertEqual(prov.stop(), 0, prov.logs())
        finally:
            if fd is not None:
                h.errno_of(os.close, fd)
            try:
                if prov is not None:
                    prov.cleanup()
            finally:
                svc.cleanup()

    def test_sigkill_twice_then_new_providers(self):
        """No provider waits: the restarted service shows an empty root, then a
        newly started provider serves. A --no-reconnect provider exits when
        the service is killed."""
        svc = h.Service()
        provs = []
        try:
            svc.start()
            first = h.Provider(svc, verbose=False, extra_args=["--no-reconnect"])
            provs.append(first)
            populate(first.directory)
            first.start()
            for round_ in (1, 2):
                self.kill_and_check_stale(svc)
                if round_ == 1:
                    self.assertEqual(first.wait_exit(10), 1,
                                     "--no-reconnect provider after the service was killed\n" + first.logs())
                self.restart_on_stale(svc)
                self.assertEqual(svc.listdir(timeout=10), [], "no provider yet: empty root")
                prov = h.Provider(svc, verbose=False)
                provs.append(prov)
                populate(prov.directory)
                with open(prov.path("round-%d" % round_), "w") as f:
                    f.write("%d\n" % round_)
                prov.start()
                self.assertEqual(svc.listdir(), ["file.txt", "round-%d" % round_])
                self.assertEqual(h.call(_read, svc.path("file.txt")), CONTENT)
                if round_ == 1:
                    # the next kill leaves this provider retrying; stop it first
                    self.assertEqual(prov.stop(), 0, prov.logs())
                    h.wait_until(lambda: svc.listdir(timeout=5) == [], 10, "the root to be empty",
                                 logs=svc.log_tail)
            self.assertEqual(svc.stop(signal.SIGINT, timeout=15), 0, svc.log_tail())
            self.assertEqual(mount_count(svc.mountpoint), 0)
        finally:
            try:
                for p in provs:
                    p.cleanup()
            finally:
                svc.cleanup()

    def signal_unmounts(self, sig, hold_open=False):
        svc = h.Service()
        prov = None
        fds = []
        try:
            svc.start()
            mnt = svc.mountpoint
            prov = h.Provider(svc, verbose=False)
            populate(prov.directory)
            os.mkdir(prov.path("dir"))
            open(prov.path("dir", "entry"), "w").close()
            prov.start()
            self.assertEqual(h.call(_read, svc.path("file.txt")), CONTENT)
            self.assertEqual(svc.listdir("dir"), ["entry"])
            if hold_open:
                # opened, not read: a read needs the (then gone) service, not the page cache
                h.call(_write, svc.path("unread.txt"), b"never read\n")
                fds.append(h.call(os.open, svc.path("unread.txt"), os.O_RDONLY))
                dfd = h.call(os.open, svc.path("dir"), os.O_RDONLY | os.O_DIRECTORY)
                fds.append(dfd)
                self.assertEqual(h.call(os.listdir, dfd), ["entry"])  # a dup: dfd stays open
            self.assertEqual(mount_count(mnt), 1)
            rc = svc.stop(sig, timeout=15)
            # (files and directories still open at unmount are freed too: a
            # leak report would make the exit status 1 under ASan)
            self.assertEqual(rc, 0, "service exit status after %s\n%s" % (sig.name, svc.log_tail()))
            if h.SANITIZER_CHECK:
                self.assertIsNone(svc.sanitizer_report(), "sanitizer report in the service log")
            self.assertEqual(mount_count(mnt), 0, "mount left in /proc/self/mountinfo after %s" % sig.name)
            self.assertFalse(h.is_mounted(mnt))
            self.assertIn("unmounted", svc.log_text())
            if hold_open:
                # the descriptors opened before fail, they do not hang
                err = h.call(h.errno_of, os.pread, fds[0], 64, 0, timeout=10)
                self.assertIn(err, (errno.ENOTCONN, errno.EIO), "read after unmount: %s" % h.errname(err))
                # a directory listing the kernel cached (cache_readdir) may
                # still be served, like cached file pages; it must not hang
                err = h.call(h.errno_of, os.listdir, fds[1], timeout=10)
                self.assertIn(err, (0, errno.ENOTCONN, errno.EIO), "listing after unmount: %s" % h.errname(err))
            # the mount point is a plain empty directory again
            self.assertEqual(os.listdir(mnt), [])
            self.assertTrue(prov.alive(), "a reconnecting provider outlives the service")
            self.assertEqual(prov.stop(), 0, prov.logs())
        finally:
            for fd in fds:
                h.errno_of(os.close, fd)
            try:
                if prov is not None:
                    prov.cleanup()
            finally:
                svc.cleanup()

    def test_sigterm_unmounts_and_exits_0(self):
        self.signal_unmounts(signal.SIGTERM)

    def test_sigint_unmounts_and_exits_0(self):
        self.signal_unmounts(signal.SIGINT)

    def test_sigterm_with_open_handles(self):
        self.signal_unmounts(signal.SIGTERM, hold_open=True)


if __name__ == "__main__":
    h.main()
