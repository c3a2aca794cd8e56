#!/usr/bin/env python3
"""Smoke test of the benchmark: `bench/run --small --runs 1` completes quickly
(and `--link wan` and `--browser` runs, below).

Runs the benchmark with tiny sizes against the built programs (webfuse and
the local directory; no sshfs), and checks that it finishes within the
bound, prints the table header and a number in the webfuse and local
columns of every row, counts the provider's requests, writes the CSV, and
leaves no mount, process or temporary file behind. No performance target is
checked here: the figures of a debug or sanitizer build mean nothing.
"""

import csv
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

BENCH = os.path.join(h.SOURCE_DIR, "bench", "run")
BOUND = h.env_int("WF_BENCH_SMOKE_BOUND", 50)  # seconds

ROWS = [
    "sequential read",
    "sequential write (fsync+close)",
    "stat all small files, cold",
    "stat all small files, warm",
    "read all small files",
    "parallel read, aggregate",
]
STEPS = ["seq_read", "seq_write", "stat_cold", "stat_warm", "small_read", "par_read"]
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run_bench(test, what, args):
    """bench/run ARGS run to its end (within BOUND + 30 s) and successful;
    its output, which is also printed. `what` names the run in failures."""
    # run it with this interpreter: a wrapper such as a pyenv shim would
    # not pass on the kill that a timeout sends
    argv = [sys.executable, BENCH] + args + ["--build-dir", h.BUILD_DIR]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=BOUND + 30)
    except subprocess.TimeoutExpired as e:
        test.fail("bench/run %s did not finish within %ds:\n%s"
                  % (what, BOUND + 30, (e.stdout or b"").decode("utf-8", "replace")))
    out = r.stdout.decode("utf-8", "replace")
    print(out)
    test.assertEqual(r.returncode, 0, "bench/run %s failed:\n%s" % (what, out))
    return out


def bench_dirs(test, prefix):
    """A temporary directory, removed after the test, and inside it the
    empty `work` directory bench/run is given as --dir: (tmp, work)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
    work = os.path.join(tmp, "work")
    os.mkdir(work)
    return tmp, work


def processes_under(path):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/exe" % pid).startswith(path):
                found.append(pid)
        except OSError:
            pass
    return found


def assert_nothing_left(test, work):
    """No process, mount or file of the run remains under `work`."""
    test.assertEqual(processes_under(work), [], "a process was left behind")
    with open("/proc/self/mountinfo") as f:
        test.assertNotIn(work, f.read(), "a mount was left behind")
    test.assertEqual(os.listdir(work), [], "temporary files left behind")


class BenchSmoke(unittest.TestCase):
    def setUp(self):
        h.require_binaries()
        if not os.access(BENCH, os.X_OK):
            self.fail("%s is missing or not executable" % BENCH)
        self.tmp, self.work = bench_dirs(self, "wf-bench-smoke-")

    def test_small_run(self):
        csv_path = os.path.join(self.tmp, "out.csv")
        t0 = time.monotonic()
        out = run_bench(self, "--small", ["--small", "--runs", "1", "--no-sshfs", "--no-chart",
                                          "--dir", self.work, "--csv", csv_path])
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, BOUND, "bench/run --small took %.1fs" % elapsed)

        # the table: header, then one row per figure with numbers for both targets
        self.assertRegex(out, r"(?m)^\s+figure\s+unit\s+webfuse\s+local\s+wf/local\s+target")
        for label in ROWS:
            m = re.search(r"(?m)^\s+%s\s+(MB/s|s)\s+(%s)\s+(%s)\s+(%s)x\s" %
                          (re.escape(label), NUMBER, NUMBER, NUMBER), out)
            self.assertIsNotNone(m, "no figures for %r in:\n%s" % (label, out))
            self.assertGreater(float(m.group(2)), 0.0, label)
            self.assertGreater(float(m.group(3)), 0.0, label)
        for label in ("peak RSS, mounting side", "peak RSS, serving side"):
            self.assertRegex(out, r"(?m)^\s+%s\s+MiB\s+%s\s" % (re.escape(label), NUMBER))
        self.assertIn("sshfs", out)  # says it was skipped or measured; never silent
        # CPU per process per step
        self.assertRegex(out, r"(?m)^\s+seq_read\s+webfuse\s+%s\s+client %s .*service %s .*provider %s"
                         % (NUMBER, NUMBER, NUMBER, NUMBER))
        # request counts: reading 4 MiB takes read requests, the walk readdirs
        self.assertIn("requests the provider answered per step", out)
        self.assertRegex(out, r"(?m)^\s+small_read(\s+[0-9]+)+\s+[0-9.]+$")

        # CSV: a median per step and target
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        medians = {(x["target"], x["step"]) for x in rows if x["kind"] == "median"}
        for step in STEPS:
            for target in ("webfuse", "local"):
                self.assertIn((target, step), medians)
        req = {x["metric"]: int(x["value"]) for x in rows
               if x["kind"] == "requests" and x["step"] == "seq_read"}
        self.assertGreater(req.get("read", 0), 0, "no read requests counted")

        assert_nothing_left(self, self.work)


def netns_and_links():
    ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], stdout=subprocess.PIPE, text=True).stdout
    return ({l.split()[0] for l in ns.splitlines() if l.startswith("wfbench")},
            {l.split(":")[1].strip().split("@")[0] for l in links.splitlines() if ": wfb" in l})


class BenchLinkSmoke(unittest.TestCase):
    """`bench/run --link wan --small`: the provider in a network namespace
    behind a shaped veth and the delay relay; figures appear, and the
    namespace, the veth pair and the relay are gone afterwards."""

    def setUp(self):
        h.require_binaries()
        if os.geteuid() != 0:
            self.skipTest("--link needs root")
        for tool in ("ip", "tc", "cc"):
            if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
                self.skipTest("--link needs %s" % tool)
        _, self.work = bench_dirs(self, "wf-bench-link-")

    def test_link_run(self):
        before = netns_and_links()
        out = run_bench(self, "--link", ["--link", "wan", "--small", "--runs", "1", "--no-sshfs", "--no-csv",
                                         "--dir", self.work])
        self.assertRegex(out, r"(?m)^\s+link:\s+wan: RTT 50 ms, 50 Mbit/s")
        for label in ("sequential read", "sequential write (fsync+close)"):
            m = re.search(r"(?m)^\s+%s\s+MB/s\s+(%s)\s" % (re.escape(label), NUMBER), out)
            self.assertIsNotNone(m, "no figure for %r in:\n%s" % (label, out))
            # a 50 Mbit/s link carries at most 6.25 MB/s: the shaping works
            self.assertGreater(float(m.group(1)), 0.0, label)
            self.assertLess(float(m.group(1)), 6.6, label)
        self.assertEqual(netns_and_links(), before, "network namespace or veth left behind")
        assert_nothing_left(self, self.work)


def loop_devices():
    return subprocess.run(["losetup", "-a"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True).stdout


class BenchBrowserSmoke(unittest.TestCase):
    """`bench/run --browser` on an 8 MiB file: the page, the C provider and a
    local read each give a figure (and, as root with mksquashfs, the firmware
    flow through a loop-mounted image); nothing is left behind."""

    def setUp(self):
        h.require_binaries()
        chromium = os.environ.get("WF_CHROMIUM", "/usr/bin/chromium")
        if subprocess.run(["which", "node"], stdout=subprocess.DEVNULL).returncode != 0 \
                or not os.access(chromium, os.X_OK):
            self.skipTest("--browser needs node and %s (scripts/deps.sh)" % chromium)
        _, self.work = bench_dirs(self, "wf-bench-browser-")

    def test_browser_run(self):
        loops = loop_devices()
        out = run_bench(self, "--browser", ["--browser", "--runs", "1", "--seq-mb", "8", "--dir", self.work])
        rows = [("sha256 through the mount, MB/s", 3), ("one uncached 4 KiB read, us", 2)]
        if os.geteuid() == 0 and subprocess.run(["which", "mksquashfs"], stdout=subprocess.DEVNULL).returncode == 0:
            rows.append(("firmware flow (squashfs), s", 3))
        else:
            self.assertIn("firmware flow: skipped", out)
        for label, count in rows:
            m = re.search(r"(?m)^\s+%s((?:\s+%s){%d})\s" % (re.escape(label), NUMBER, count), out)
            self.assertIsNotNone(m, "no figures for %r in:\n%s" % (label, out))
            self.assertTrue(all(float(v) > 0 for v in m.group(1).split()), label)
        self.assertRegex(out, r"(?m)^\s+page peak memory \(anon\), MiB\s+%s$" % NUMBER)
        self.assertEqual(loop_devices(), loops, "a loop device was left behind")
        assert_nothing_left(self, self.work)


if __name__ == "__main__":
    unittest.main(verbosity=2)
