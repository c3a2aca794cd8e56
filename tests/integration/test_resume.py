#!/usr/bin/env python3
"""A lost provider connection does not break what was in flight or open.

The service holds requests for --wf-resume-timeout seconds after the provider's
connection is lost (here: the provider is killed with SIGKILL, so no close
frame is sent). A provider admitted within that time resumes the session: open
files are re-opened on it and checked to be the same file, then the held
requests go out again.

- a sha256sum through the mount, provider killed mid-read and a new one started
  1.5 s later: the hash is right and no call failed;
- a squashfs image loop-mounted from the mount (root, mksquashfs and a loop
  device needed, else skipped): every file inside hashes right across a kill and
  restart;
- a file changed on the provider side during the outage: the old handle fails
  with EIO, a fresh open sees the new content;
- no provider within the grace period: held calls fail with EIO within grace +
  slack, and the mount is an empty root again;
- a burst of writes made during the outage lands intact;
- a provider that leaves on purpose (SIGTERM: close code 1000) ends the
  session at once: no grace period.
"""

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

GRACE = h.ResumeFixtures.GRACE  # seconds the service holds requests here
OUTAGE = 1.5        # seconds between the kill and the new provider
SLACK = 3.0         # on top of the grace period, for slow (sanitizer) builds


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


def rchar(pid):
    """Bytes the process has read so far (from /proc/PID/io), or -1."""
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Resume(h.ResumeFixtures, unittest.TestCase):
    def test_hash_survives_provider_kill(self):
        size = h.env_int("WF_BIGFILE_MIB", 256) << 20
        src = os.path.join(self.dir, "image.bin")
        write_random(src, size)
        expected = h.sha256_file(src)
        svc = self.service()
        prov = self.provider(svc)
        hasher = subprocess.Popen(["sha256sum", svc.path("image.bin")], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: hasher.poll() is None and hasher.kill())
        h.wait_until(lambda: rchar(hasher.pid) > size // 4 or hasher.poll() is not None, 30,
                     "sha256sum to read a quarter of the file", logs=svc.log_tail)
        self.assertIsNone(hasher.poll(), "sha256sum finished before the provider was killed")
        self.kill(prov)
        time.sleep(OUTAGE)
        self.provider(svc, wait=False)
        out, err = hasher.communicate(timeout=120)
        self.assertEqual(hasher.returncode, 0, "sha256sum failed: %s\n%s" % (err, svc.log_tail()))
        self.assertEqual(out.split()[0], expected)
        self.assertIn("session resumed", svc.log_text())

    def test_loop_mounted_squashfs(self):
        if os.geteuid() != 0 or not shutil.which("mksquashfs") or not shutil.which("losetup"):
            self.skipTest("needs root, mksquashfs (squashfs-tools) and losetup")
        content = tempfile.mkdtemp(prefix="wf-sqfs-")
        self.addCleanup(shutil.rmtree, content, True)
        hashes = {}
        for i in range(24):
            p = os.path.join(content, "f%02d.bin" % i)
            write_random(p, (i + 1) * 97 * 1024)
            hashes["f%02d.bin" % i] = h.sha256_file(p)
        image = os.path.join(self.dir, "rootfs.sqfs")
        subprocess.run(["mksquashfs", content, image, "-noappend", "-no-progress", "-quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        svc = self.service()
        prov = self.provider(svc)
        mnt = tempfile.mkdtemp(prefix="wf-sqfs-mnt-")
        self.addCleanup(os.rmdir, mnt)
        r = subprocess.run(["mount", "-t", "squashfs", "-o", "loop,ro", svc.path("rootfs.sqfs"), mnt],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.skipTest("cannot loop-mount here: %s" % r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], timeout=30)
        first = sorted(hashes)[:4]
        for name in first:  # the image is open and read before the outage
            self.assertEqual(h.sha256_file(os.path.join(mnt, name)), hashes[name])
        self.kill(prov)
        results = {}

        def hash_rest():
            for name in sorted(hashes)[4:]:
                try:
                    results[name] = h.sha256_file(os.path.join(mnt, name))
                except OSError as e:
                    results[name] = "error: %s" % e
        t = threading.Thread(target=hash_rest, daemon=True)
        t.start()
        time.sleep(OUTAGE)
        self.provider(svc, wait=False)
        t.join(120)
        self.assertFalse(t.is_alive(), "hashing inside the image hung")
        for name in sorted(hashes)[4:]:
            self.assertEqual(results.get(name), hashes[name], name)

    def test_changed_file_fails_old_handle(self):
        src = os.path.join(self.dir, "data.bin")
        write_random(src, 4 << 20)
        svc = self.service()
        prov = self.provider(svc)
        fd = h.call(os.open, svc.path("data.bin"), os.O_RDONLY, timeout=10)
        self.addCleanup(os.close, fd)
        self.assertEqual(len(h.call(os.pread, fd, 4096, 0, timeout=10)), 4096)
        self.kill(prov)
        new = os.urandom(4 << 20)  # same size, new bytes and mtime
        with open(src, "wb") as f:
            f.write(new)
        os.utime(src, (time.time() + 5, time.time() + 5))
        time.sleep(OUTAGE)
        self.provider(svc, wait=False)
        self.assertEqual(h.errno_of(lambda: h.call(os.pread, fd, 4096, 3 << 20, timeout=GRACE)), errno.EIO)
        time.sleep(1.2)  # the kernel's cached attributes expire
        self.assertEqual(h.call(lambda: open(svc.path("data.bin"), "rb").read(), timeout=20), new)

    def test_no_provider_within_grace(self):
        grace = 2
        with open(os.path.join(self.dir, "file.txt"), "w") as f:
            f.write("x" * 100000)
        svc = self.service(grace=grace)
        prov = self.provider(svc)
        fd = h.call(os.open, svc.path("file.txt"), os.O_RDONLY, timeout=10)
        self.addCleanup(os.close, fd)
        self.kill(prov)
        start = time.monotonic()
        res = h.errno_of(lambda: h.call(os.pread, fd, 4096, 65536, timeout=grace + 10))
        took = time.monotonic() - start
        self.assertEqual(res, errno.EIO)
        self.assertLess(took, grace + SLACK, "held read failed only after %.1f s" % took)
        self.assertGreater(took, grace - 1, "the read failed before the grace period ended")
        self.assertEqual(svc.listdir(timeout=5), [])

    def test_killed_caller_does_not_wait_for_grace(self):
        """A process blocked on a held request (or in close waiting for held
        writes) dies at once when killed, not when the grace period ends."""
        with open(os.path.join(self.dir, "file.txt"), "w") as f:
            f.write("x" * 300000)
        svc = self.service()
        prov = self.provider(svc)
        self.kill(prov)
        reader = subprocess.Popen(["cat", svc.path("file.txt")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: reader.poll() is None and reader.kill())
        time.sleep(0.5)
        self.assertIsNone(reader.poll(), "cat did not wait for the provider")
        reader.send_signal(signal.SIGTERM)
        start = time.monotonic()
        reader.wait(timeout=GRACE)
        self.assertLess(time.monotonic() - start, 3.0, "a killed reader waited for the grace period")
        self.provider(svc)  # the session goes on for others
        self.assertEqual(len(h.call(lambda: open(svc.path("file.txt")).read(), timeout=20)), 300000)

    def test_provider_leaving_on_purpose_ends_session(self):
        """SIGTERM: the provider closes with 1000; no grace period then."""
        with open(os.path.join(self.dir, "file.txt"), "w") as f:
            f.write("x" * 300000)
        svc = self.service()
        prov = self.provider(svc)
        fd = h.call(os.open, svc.path("file.txt"), os.O_RDONLY, timeout=10)
        self.addCleanup(os.close, fd)
        prov.stop(signal.SIGTERM)
        h.wait_until(lambda: "closed on purpose" in svc.log_text(), 10, "the service to see a normal close",
                     logs=svc.log_tail)
        start = time.monotonic()
        self.assertEqual(h.errno_of(lambda: h.call(os.pread, fd, 4096, 200000, timeout=10)), errno.EIO)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(svc.listdir(timeout=5), [])

    def test_writes_during_outage_land(self):
        # The writer is a process of its own (an updater would be): a close
        # waits for pending writes, and a process started by this one (the
        # new provider) would close an inherited descriptor on exec.
        writer_code = (
            "import os, sys\n"
            "first, burst = sys.stdin.buffer.read(1 << 20), None\n"
            "f = open(sys.argv[1], 'wb')\n"
            "f.write(first); f.flush()\n"
            "print('ready', flush=True)\n"
            "burst = sys.stdin.buffer.read(8 << 20)\n"
            "for i in range(0, len(burst), 256 << 10):\n"
            "    f.write(burst[i:i + (256 << 10)])\n"
            "f.flush(); os.fsync(f.fileno()); f.close()\n"
            "print('done', flush=True)\n")
        svc = self.service()
        prov = self.provider(svc)
        first, burst = os.urandom(1 << 20), os.urandom(8 << 20)
        writer = subprocess.Popen([sys.executable, "-c", writer_code, svc.path("out.bin")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: writer.poll() is None and writer.kill())
        writer.stdin.write(first)
        writer.stdin.flush()
        self.assertEqual(writer.stdout.readline().strip(), b"ready")
        self.kill(prov)
        writer.stdin.write(burst)  # written while no provider is there
        writer.stdin.close()
        time.sleep(OUTAGE)
        self.provider(svc, wait=False)
        writer.wait(timeout=60)
        self.assertEqual(writer.returncode, 0, "writer failed: %s\n%s" % (writer.stderr.read().decode(),
                                                                          svc.log_tail()))
        self.assertEqual(writer.stdout.read().strip(), b"done")
        self.assertEqual(h.sha256_file(os.path.join(self.dir, "out.bin")),
                         hashlib.sha256(first + burst).hexdigest())


if __name__ == "__main__":
    unittest.main(verbosity=2)
