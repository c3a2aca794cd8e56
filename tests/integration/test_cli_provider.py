#!/usr/bin/env python3
"""webfuse_provider's command line as a user meets it (issue 16, issue 13):

- drop-in for upstream: -v/--version prints the version; -d/--verbose logs;
- usage errors exit 1 with words that say what is wrong;
- refusals are named (close codes 44xx and HTTP statuses, plus words for
  services that just close), a permanent one ends the provider with status 1
  unless --keep-trying, and retrying logs one line per change of cause;
- a lost connection that worked is retried at once;
- SIGTERM sends a close frame with code 1000 before the provider goes.

The service side is played by tests/integration/wsfake.py where the real
service cannot be made to answer that way, and by the real service for TLS
scheme mistakes.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402
from wsfake import FakeService  # noqa: E402

IDLE_HANGUP_S = 40  # WF_IDLE_HANGUP_SECS in lib/transport/wf_conn.h


def run(*args, timeout=10):
    r = subprocess.run([h.PROVIDER_BIN] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


class Usage(unittest.TestCase):
    def setUp(self):
        if not os.access(h.PROVIDER_BIN, os.X_OK):
            self.skipTest("not built")

    def test_version_short_and_long(self):
        for flag in ("-v", "--version"):
            rc, out, _ = run(flag)
            self.assertEqual(rc, 0, flag)
            self.assertRegex(out, r"^webfuse_provider \d+\.\d+", flag)

    def test_missing_url(self):
        rc, _, err = run("-p", ".")
        self.assertEqual(rc, 1)
        self.assertIn("missing -u URL", err)

    def test_wrong_scheme(self):
        rc, _, err = run("-u", "http://127.0.0.1:1/")
        self.assertEqual(rc, 1)
        self.assertIn("ws:// or wss://", err)

    def test_not_a_directory(self):
        with tempfile.NamedTemporaryFile() as f:
            rc, _, err = run("-u", "ws://127.0.0.1:1/", "-p", f.name)
        self.assertEqual(rc, 1)
        self.assertIn("not a directory", err)

    def test_missing_ca_file(self):
        rc, _, err = run("-u", "wss://127.0.0.1:1/", "-a", "/nonexistent/ca.pem")
        self.assertEqual(rc, 1)
        self.assertIn("cannot read the CA file", err)

    def test_unknown_option(self):
        rc, _, err = run("--frobnicate")
        self.assertEqual(rc, 1)
        self.assertIn("--help", err)


class Refusals(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def provider(self, url, *extra, verbose=False):
        prov = h.Provider(url=url, verbose=verbose, extra_args=list(extra))
        self.addCleanup(prov.cleanup)
        prov.start(wait_for_content=False)
        return prov

    def assert_gives_up(self, prov, words, fake=None):
        rc = prov.wait_exit(10)
        self.assertEqual(rc, 1, prov.log_tail())
        self.assertIn(words, prov.log_text())
        self.assertIn("giving up", prov.log_text())
        if fake is not None:
            self.assertEqual(fake.connections, 1, "a permanent refusal is not retried")

    def test_close_code_token_rejected_is_permanent(self):
        with FakeService("close", code=4401, reason="token rejected") as fake:
            self.assert_gives_up(self.provider(fake.url), "rejected the token", fake)

    def test_http_401_before_handshake_is_permanent(self):
        with FakeService("http", status=401) as fake:
            self.assert_gives_up(self.provider(fake.url), "rejected the token", fake)

    def test_keep_trying_after_permanent_refusal(self):
        with FakeService("close", code=4401) as fake:
            prov = self.provider(fake.url, "--keep-trying")
            h.wait_until(lambda: fake.connections >= 3, 10, "three attempts", logs=prov.log_tail)
            self.assertTrue(prov.alive())
            self.assertEqual(prov.log_text().count("rejected the token"), 1,
                             "one line per change of cause\n" + prov.log_tail())
            self.assertEqual(prov.stop(), 0)

    def test_busy_is_retried_with_one_line(self):
        with FakeService("close", code=4409, reason="busy") as fake:
            prov = self.provider(fake.url)
            h.wait_until(lambda: fake.connections >= 3, 10, "three attempts", logs=prov.log_tail)
            self.assertTrue(prov.alive())
            self.assertEqual(prov.log_text().count("another provider is already attached"), 1, prov.log_tail())
            self.assertEqual(prov.stop(), 0)

    def test_old_service_that_just_closes(self):
        with FakeService("drop", hold_s=0.05) as fake:
            prov = self.provider(fake.url)
            h.wait_until(lambda: fake.connections >= 3, 10, "three attempts", logs=prov.log_tail)
            text = prov.log_text()
            self.assertIn("right after it opened: a token may be required or another provider may be attached",
                          text)
            self.assertEqual(text.count("right after it opened"), 1, text)
            self.assertEqual(prov.stop(), 0)

    def test_unreachable_logs_one_line(self):
        port = h.free_port()
        prov = self.provider("ws://127.0.0.1:%d/" % port)
        time.sleep(2.5)  # several attempts (100, 200, 400, 800 ms ...)
        text = prov.log_text()
        self.assertEqual(len(re.findall(r"connection refused", text)), 1, text)
        self.assertIn("retrying", text)
        self.assertEqual(prov.stop(), 0)

    def test_lost_connection_is_retried_at_once(self):
        with FakeService("drop", hold_s=0.3, request=True) as fake:
            prov = self.provider(fake.url, verbose=True)
            h.wait_until(lambda: fake.connections >= 2, 10, "a second attempt", logs=prov.log_tail)
            prov.stop()
            text = prov.log_text()
            m = re.search(r"(\d\d):(\d\d):(\d\d\.\d+) \S+ info: disconnected: connection to .* lost\n"
                          r"(?:.*\n)*?(\d\d):(\d\d):(\d\d\.\d+) \S+ debug: connecting to", text)
            self.assertIsNotNone(m, text)
            t0 = int(m.group(2)) * 60 + float(m.group(3))
            t1 = int(m.group(5)) * 60 + float(m.group(6))
            self.assertLess((t1 - t0) % 3600, 0.05, "retried at once after a lost connection\n" + text)

    def test_service_dropping_each_connection_is_not_hammered(self):
        # Each connection takes a request, so it "worked"; only the first
        # drop is retried at once, the rest back off (100, 200, 400 ms ...).
        with FakeService("drop", hold_s=0.02, request=True) as fake:
            prov = self.provider(fake.url, verbose=True)
            time.sleep(2.5)
            prov.stop()
            delays = [int(d) for d in re.findall(r"retrying in (\d+) ms", prov.log_text())]
            self.assertLessEqual(fake.connections, 12, "connections in 2.5 s: %d" % fake.connections)
            self.assertGreaterEqual(len(delays), 3, prov.log_tail())
            self.assertLessEqual(delays[0], 1, "the first drop is retried at once: %s" % delays)
            self.assertTrue(all(d >= 50 for d in delays[1:]), "later drops back off: %s" % delays)

    def test_refusal_before_a_working_connection_is_forgotten(self):
        # Refused once (409), then a connection that works and is lost: the
        # log says lost, not refused, and the retry comes at once.
        with FakeService("drop", hold_s=1.2, request=True, first="http", status=409) as fake:
            prov = self.provider(fake.url, verbose=True)
            h.wait_until(lambda: fake.connections >= 3, 15, "a third attempt", logs=prov.log_tail)
            prov.stop()
            text = prov.log_text()
            self.assertEqual(text.count("another provider is already attached"), 1, text)
            self.assertRegex(text, r"info: disconnected: connection to .* lost", text)
            after = text[re.search(r"info: disconnected: connection to .* lost", text).end():]
            self.assertRegex(after, r"^\n\S+ \S+ debug: retrying in [01] ms\n", "retried at once" + after)

    def test_service_gone_silent_is_left_and_retried(self):
        # The device rebooted (or lost its network) without closing: nothing
        # arrives any more, pings go unanswered. The provider pings after
        # WF_IDLE_PING_SECS without a byte, hangs up at WF_IDLE_HANGUP_SECS
        # and connects again (not before: an idle service is not hung up on).
        if os.environ.get("WF_SILENCE_TESTS", "1") == "0":
            self.skipTest("WF_SILENCE_TESTS=0: the 40 s wait runs in the main stage only")
        with FakeService("silent") as fake:
            prov = self.provider(fake.url, verbose=True)
            h.wait_until(lambda: fake.connections >= 1, 10, "connected", logs=prov.log_tail)
            t0 = time.monotonic()
            h.wait_until(lambda: fake.connections >= 2, IDLE_HANGUP_S + 5, "a new connection",
                         interval=0.2, logs=prov.log_tail)
            dt = time.monotonic() - t0
            h.log("silent service: left after %.1f s, %d ping(s) unanswered" % (dt, fake.pings))
            self.assertGreaterEqual(fake.pings, 1, "pinged before hanging up")
            self.assertGreater(dt, IDLE_HANGUP_S - 2, "hung up on a service that was idle, not gone")
            self.assertIn("lost", prov.log_text())

    def stop_sends_close_1000(self, sig):
        with FakeService("hold") as fake:
            prov = self.provider(fake.url)
            h.wait_until(lambda: "connected to" in prov.log_text(), 10, "connected", logs=prov.log_tail)
            self.assertEqual(prov.stop(sig), 0)
            h.wait_until(lambda: fake.close_frames or fake.ended_without_close, 5, "the close frame")
            self.assertEqual([c for c, _ in fake.close_frames], [1000], prov.log_tail())
            self.assertEqual(fake.ended_without_close, 0)

    def test_sigterm_sends_close_1000(self):
        self.stop_sends_close_1000(signal.SIGTERM)

    def test_sigint_sends_close_1000(self):
        self.stop_sends_close_1000(signal.SIGINT)


class RealService(unittest.TestCase):
    """The close frame as the real service sees it (its log names the cause)."""

    def setUp(self):
        h.require_binaries()

    def test_sigterm_is_closed_on_purpose(self):
        with h.attached() as (svc, prov):
            self.assertEqual(prov.stop(signal.SIGTERM), 0)
            h.wait_until(lambda: "provider disconnected" in svc.log_text(), 10, "the service to notice",
                         logs=svc.log_tail)
            self.assertIn("provider disconnected (closed on purpose)", svc.log_text())

    def test_sigkill_is_a_lost_connection(self):
        with h.attached() as (svc, prov):
            prov.stop(signal.SIGKILL)
            h.wait_until(lambda: "provider disconnected" in svc.log_text(), 10, "the service to notice",
                         logs=svc.log_tail)
            self.assertIn("provider disconnected (connection lost)", svc.log_text())


class Scheme(unittest.TestCase):
    """ws:// to a TLS port and wss:// to a plain one are named and permanent."""

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is missing")
        cls.tmp = tempfile.mkdtemp(prefix="wf-scheme-")
        cls.cert, cls.key = os.path.join(cls.tmp, "cert.pem"), os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.key,
                        "-out", cls.cert, "-days", "1", "-subj", "/CN=localhost"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assert_no_raw_lws_lines(self, text):
        """libwebsockets' own lines ("[2026/01/01 10:00:00:0000] E: ...") only with -d."""
        self.assertNotRegex(text, r"(?m)^\[\d{4}/\d\d/\d\d [\d:]+\] [EWN]: ")
        self.assertNotIn("lws:", text)

    def test_ws_to_tls_port(self):
        with h.Service(extra_args=["--wf-cert", self.cert, "--wf-key", self.key]) as svc:
            prov = h.Provider(url=svc.url, verbose=False)
            self.addCleanup(prov.cleanup)
            prov.start(wait_for_content=False)
            self.assertEqual(prov.wait_exit(10), 1, prov.log_tail())
            self.assertIn("the URL must start with wss://", prov.log_text())
            self.assert_no_raw_lws_lines(prov.log_text() + svc.log_text())

    def test_wss_to_plain_port(self):
        with h.Service() as svc:
            prov = h.Provider(url=svc.url.replace("ws://", "wss://"), verbose=False)
            self.addCleanup(prov.cleanup)
            prov.start(wait_for_content=False)
            self.assertEqual(prov.wait_exit(10), 1, prov.log_tail())
            self.assertIn("the URL must start with ws://", prov.log_text())
            self.assert_no_raw_lws_lines(prov.log_text() + svc.log_text())


if __name__ == "__main__":
    h.main()
