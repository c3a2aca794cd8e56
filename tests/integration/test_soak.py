#!/usr/bin/env python3
"""Soak: many provider connections and many files, without resource growth.

- WF_SOAK_CYCLES (default 200) provider connect/disconnect cycles against one
  service: start a provider, wait until its file is listed, SIGTERM it, wait
  until the root is empty. Each cycle is bounded.
- WF_SOAK_FILES (default 10,000) create/write/close/unlink cycles through the
  mount with one provider, each file under a new name.

After a warm-up and at the end, the open descriptors (/proc/PID/fd) and the
resident set (VmRSS in /proc/PID/status) of the service (and, for the file
cycles, of the provider) are measured in the same state (no provider attached,
or no file open) and printed. Descriptors must stay equal (within
FD_MARGIN), the resident set must not grow by more than RSS_MARGIN_KIB or
RSS_MARGIN_RATIO of the warm-up figure. Under AddressSanitizer the resident
set is printed but not checked: the sanitizer's quarantine keeps freed memory
on purpose.

A long soak: WF_SOAK_CYCLES=5000 WF_SOAK_FILES=1000000 (see docs/testing.md).
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

CYCLES = max(1, h.env_int("WF_SOAK_CYCLES", 200))
FILES = max(1, h.env_int("WF_SOAK_FILES", 10000))
CYCLE_WAIT = 10.0          # bound for each wait inside one connect cycle
FILE_BATCH = 500           # files per bounded call()
BATCH_TIMEOUT = 120.0      # seconds for one batch of FILE_BATCH files
FD_MARGIN = 2
RSS_MARGIN_KIB = 2048
RSS_MARGIN_RATIO = 0.20
PAYLOAD = bytes(range(256)) * 4  # 1 KiB per file


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise h.HarnessError("no VmRSS for pid %d" % pid)


def fd_targets(pid):
    """Where each descriptor points, for the failure message."""
    out = []
    d = "/proc/%d/fd" % pid
    for name in sorted(os.listdir(d), key=int):
        try:
            out.append("%s -> %s" % (name, os.readlink(os.path.join(d, name))))
        except OSError:
            pass
    return "\n".join(out)


_SANITIZED = None


def sanitized_build():
    """True when the programs are built with AddressSanitizer."""
    global _SANITIZED
    if _SANITIZED is None:
        try:
            with open(h.SERVICE_BIN, "rb") as f:
                _SANITIZED = b"__asan_init" in f.read()
        except OSError:
            _SANITIZED = False
    return _SANITIZED


class Sample:
    def __init__(self, prog):
        self.fds = fd_count(prog.pid)
        self.rss = rss_kib(prog.pid)
        self.fd_list = fd_targets(prog.pid)


class Soak(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def check_flat(self, who, start, end, count, unit):
        grown = end.rss - start.rss
        print("soak: %s after warm-up: %d fds, VmRSS %d KiB; after %d %s: %d fds, VmRSS %d KiB "
              "(%+d KiB, %+.1f bytes per %s)%s"
              % (who, start.fds, start.rss, count, unit + "s", end.fds, end.rss, grown,
                 grown * 1024.0 / count, unit,
                 " [RSS not checked: sanitizer build]" if sanitized_build() else ""),
              file=sys.stderr, flush=True)
        self.assertLessEqual(abs(end.fds - start.fds), FD_MARGIN,
                             "%s: open descriptors went from %d to %d\nbefore:\n%s\nafter:\n%s"
                             % (who, start.fds, end.fds, start.fd_list, end.fd_list))
        if not sanitized_build():
            allowed = max(RSS_MARGIN_KIB, int(start.rss * RSS_MARGIN_RATIO))
            self.assertLess(grown, allowed, "%s: VmRSS grew by %d KiB (from %d to %d KiB) over %d %ss"
                            % (who, grown, start.rss, end.rss, count, unit))

    # ------------------------------------------------------------------

    def test_provider_connect_cycles(self):
        warmup = min(20, max(1, CYCLES // 10))
        with h.Service() as svc, h.TempDir() as root:
            with open(os.path.join(root, "present.txt"), "w") as f:
                f.write("here\n")
            times = []
            start_sample = None
            t_all = time.monotonic()
            for i in range(warmup + CYCLES):
                if i == warmup:
                    start_sample = Sample(svc)
                t0 = time.monotonic()
                prov = h.Provider(svc, directory=root, verbose=False)
                try:
                    prov.start(wait_for_content=False)

                    def attached():
                        if not prov.alive():
                            raise h.HarnessError("provider exited with %s\n%s"
                                                 % (prov.proc.returncode, prov.logs()))
                        return svc.listdir(timeout=CYCLE_WAIT) == ["present.txt"]
                    h.wait_until(attached, CYCLE_WAIT, "cycle %d: the provider to attach" % i,
                                 interval=0.005, logs=prov.logs)
                    rc = prov.stop(signal.SIGTERM, timeout=CYCLE_WAIT)
                    self.assertEqual(rc, 0, "cycle %d: provider exit status after SIGTERM\n%s"
                                     % (i, prov.logs()))
                    h.wait_until(lambda: svc.listdir(timeout=CYCLE_WAIT) == [], CYCLE_WAIT,
                                 "cycle %d: the root to be empty after the provider stopped" % i,
                                 interval=0.005, logs=prov.logs)
                finally:
                    prov.cleanup()
                times.append(time.monotonic() - t0)
                self.assertTrue(svc.alive(), "service died in cycle %d\n%s" % (i, svc.log_tail()))
            end_sample = Sample(svc)
            total = time.monotonic() - t_all
            print("soak: %d connect cycles (+%d warm-up) in %.1fs: mean %.1f ms, max %.1f ms per cycle"
                  % (CYCLES, warmup, total, 1000 * sum(times) / len(times), 1000 * max(times)),
                  file=sys.stderr, flush=True)
            self.check_flat("service", start_sample, end_sample, CYCLES, "cycle")
            self.assertEqual(svc.stop(), 0, "service exit status\n" + svc.log_tail())

    # ------------------------------------------------------------------

    def test_create_write_unlink_cycles(self):
        warmup = min(1000, max(1, FILES // 10))
        with h.attached(provider_kwargs={"verbose": False}) as (svc, prov):

            def run_batch(first, count):
                for n in range(first, first + count):
                    path = svc.path("soak-%07d.dat" % n)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    try:
                        if os.write(fd, PAYLOAD) != len(PAYLOAD):
                            raise AssertionError("short write to %s" % path)
                    finally:
                        os.close(fd)
                    if n % 1000 == 0:  # now and then, read it back
                        with open(path, "rb") as f:
                            if f.read() != PAYLOAD:
                                raise AssertionError("%s reads back wrong" % path)
                    os.unlink(path)

            def run(first, count):
                done = 0
                while done < count:
                    k = min(FILE_BATCH, count - done)
                    h.call(run_batch, first + done, k, timeout=BATCH_TIMEOUT,
                           what="files %d..%d" % (first + done, first + done + k - 1))
                    done += k
                    self.assertTrue(prov.alive(), "provider died\n" + prov.logs())
                    self.assertTrue(svc.alive(), "service died\n" + svc.log_tail())

            run(0, warmup)
            svc_start, prov_start = Sample(svc), Sample(prov)
            t0 = time.monotonic()
            run(warmup, FILES)
            dt = time.monotonic() - t0
            svc_end, prov_end = Sample(svc), Sample(prov)
            print("soak: %d create/write/close/unlink cycles (+%d warm-up) in %.1fs (%.2f ms each)"
                  % (FILES, warmup, dt, 1000 * dt / FILES), file=sys.stderr, flush=True)
            self.assertEqual(os.listdir(prov.directory), [], "files left in the provided directory")
            self.assertEqual(svc.listdir(), [], "files left in the mount")
            self.check_flat("service", svc_start, svc_end, FILES, "file")
            self.check_flat("provider", prov_start, prov_end, FILES, "file")
            self.assertEqual(prov.stop(), 0, "provider exit status\n" + prov.logs())
            self.assertEqual(svc.stop(), 0, "service exit status\n" + svc.log_tail())


if __name__ == "__main__":
    h.main()
