#!/usr/bin/env python3
"""webfuse_provider at a terminal (issue 16), in a scripted session under
script(1):

- the service asks for credentials (an authenticator, no token given): the
  provider asks "Token for URL:" on the terminal, reads it with echo off,
  and is admitted;
- a live status line shows where it is connected, files open, bytes served
  and the rate; reading a file through the mount moves the byte count;
- Ctrl-C ends it with status 0 and a one-line session summary;
- a typed token the service rejects (close code 4401) is asked for again.
"""

import os
import re
import select
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402
from wsfake import FakeService  # noqa: E402

TOKEN = "s3cret-token"
DATA = os.urandom(3 * 1024 * 1024)


class Terminal(unittest.TestCase):
    def setUp(self):
        h.require_binaries()
        if shutil.which("script") is None:
            self.skipTest("script(1) is missing")
        self.out = b""

    def read_until(self, proc, pattern, timeout=15):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.out.decode("utf-8", "replace")
            m = regex.search(text)
            if m:
                return m
            r, _, _ = select.select([proc.stdout], [], [], 0.1)
            if r:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.out += chunk
        raise h.HarnessError("no %r on the terminal within %ss; it shows:\n%r" % (pattern, timeout, self.out[-3000:]))

    def start_in_script(self, url, root):
        env = dict(os.environ, TERM="xterm", WEBFUSE_TOKEN="")
        cmd = "exec %s -u %s -p %s" % (h.PROVIDER_BIN, url, root)
        return subprocess.Popen(["script", "-q", "-f", "-e", "-c", cmd, "/dev/null"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    @staticmethod
    def reap(proc):
        """Ends the terminal session if the test did not, and closes its pipes."""
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdin.close()
        proc.stdout.close()

    def test_rejected_token_is_asked_again(self):
        with h.TempDir() as root, FakeService("creds", token=TOKEN) as fake:
            proc = self.start_in_script(fake.url, root)
            try:
                self.read_until(proc, r"Token for ws://127\.0\.0\.1:\d+/: ")
                proc.stdin.write(b"wrong\n")
                proc.stdin.flush()
                self.read_until(proc, r"rejected the token.*; asking for the token again")
                self.out = b""
                self.read_until(proc, r"Token for ws://127\.0\.0\.1:\d+/: ")
                proc.stdin.write(TOKEN.encode() + b"\n")
                proc.stdin.flush()
                h.wait_until(lambda: fake.mode_creds_ok, 10, "the right token to arrive")
                self.assertEqual(fake.tokens, ["wrong", TOKEN])
                self.assertIsNone(proc.poll(), "the provider keeps running")
                proc.stdin.write(b"\x03")
                proc.stdin.flush()
                self.assertEqual(proc.wait(15), 0)
            finally:
                self.reap(proc)

    def test_prompt_progress_and_summary(self):
        with h.TempDir() as tmp:
            auth = os.path.join(tmp, "auth.sh")
            with open(auth, "w") as f:
                f.write('#!/bin/sh\nread -r t\n[ "$t" = "%s" ]\n' % TOKEN)
            os.chmod(auth, 0o755)
            with h.Service(extra_args=["--wf-authenticator", auth]) as svc:
                root = os.path.join(tmp, "root")
                os.mkdir(root)
                with open(os.path.join(root, "image.bin"), "wb") as f:
                    f.write(DATA)
                proc = self.start_in_script(svc.url, root)
                try:
                    self.read_until(proc, r"Token for ws://127\.0\.0\.1:\d+/: ")
                    proc.stdin.write(TOKEN.encode() + b"\n")
                    proc.stdin.flush()
                    h.wait_until(lambda: svc.listdir(timeout=5) == ["image.bin"], 15,
                                 "the mount to show the provided file", logs=svc.log_tail)
                    with open(svc.path("image.bin"), "rb") as f:
                        self.assertEqual(h.call(f.read), DATA)
                    m = self.read_until(proc, r"connected to ws://127\.0\.0\.1:\d+/ \| \d+ files? open \| "
                                        r"([\d.]+) (MiB|KiB) served \| [\d.]+ \S*B/s")
                    self.assertGreaterEqual(float(m.group(1)), 2.9 if m.group(2) == "MiB" else 2900)
                    self.assertIn(b"\r\x1b[K", self.out, "the status line is redrawn in place")
                    self.assertNotIn(TOKEN.encode(), self.out, "the token was echoed")
                    proc.stdin.write(b"\x03")  # Ctrl-C on the terminal
                    proc.stdin.flush()
                    self.read_until(proc, r"session closed: [\d.]+ MiB served in [\d.]+ s")
                    self.assertEqual(proc.wait(15), 0, self.out[-2000:])
                    h.log("terminal:\n%r" % self.out[-1500:])
                finally:
                    self.reap(proc)


if __name__ == "__main__":
    h.main()
