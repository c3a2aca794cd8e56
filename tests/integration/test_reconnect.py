#!/usr/bin/env python3
"""A provider outlives a restart of the service.

- With the default (reconnect on), the same provider process survives the
  service going away: the service is stopped with SIGTERM (it unmounts),
  the provider logs the disconnect and its retries (at debug level, -d: the
  info level has one line per change of cause): the first at once (a working
  connection was lost), then with a delay that grows and is capped at 5 s
  (src: WF_BACKOFF_MAX_MS; a delay is drawn between half and all of the
  current step), and once a new service listens on the same
  port and mount point the provider attaches within one capped step and the
  file reads again.
- A provider that went silent (its laptop changed networks: TCP still
  believes in the connection) gives way to the same person's provider
  reconnecting: the service pings the attached one when another knocks and
  drops it without an answer, and a file opened before reads on through the
  newcomer (the session resumes). One that owes an answer is given the
  request timeout instead: stopped for 8 s with a read in flight, it keeps
  its connection and the newcomer stays out.
- With --no-reconnect the provider exits when the service goes away, with a
  non-zero status and "giving up" in its log (docs/cli.md: "exit (non-zero)
  when the connection fails, is refused or is lost"), also when the service is
  not there at all when it starts.
"""

import hashlib
import os
import re
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

BACKOFF_CAP_MS = 5000      # WF_BACKOFF_MAX_MS in lib/provider/provider.c
BACKOFF_MIN_MS = 100       # WF_BACKOFF_MIN_MS
KNOCK_PROBE_S = 5          # WF_KNOCK_PROBE_SECS in lib/service/service.c
SLACK = 3.0                # seconds on top of a backoff step (attach, listing, slow builds)
CONTENT = "survives restarts\n"

RE_CONNECTED = re.compile(r"webfuse_provider info: connected to (\S+)")
RE_DISCONNECTED = re.compile(r"webfuse_provider info: disconnected")
RE_RETRY = re.compile(r"webfuse_provider debug: retrying in (\d+) ms")
RE_REFUSED = re.compile(r"webfuse_provider debug: connection error: ")
RE_UNREACHABLE = re.compile(r"cannot reach (\S+): connection refused")
RE_GIVING_UP = re.compile(r"webfuse_provider error: giving up")


def populate(d):
    with open(os.path.join(d, "file.txt"), "w") as f:
        f.write(CONTENT)


def _read(path):
    with open(path) as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_file(svc):
    return h.call(_read, svc.path("file.txt"), timeout=10, what="read file.txt")


def count(regex, text):
    return len(regex.findall(text))


class Reconnect(unittest.TestCase):
    def setUp(self):
        h.require_binaries()

    def wait_listed(self, svc, prov, timeout, what):
        def listed():
            if not prov.alive():
                raise h.HarnessError("provider exited with %s" % prov.proc.returncode)
            return svc.listdir(timeout=5) == ["file.txt"]
        t0 = time.monotonic()
        h.wait_until(listed, timeout, what, interval=0.02, logs=prov.logs)
        return time.monotonic() - t0

    def stop_service(self, svc, prov):
        """SIGTERM the service (it unmounts); the provider logs the disconnect."""
        mark = len(prov.log_text())
        self.assertEqual(svc.stop(signal.SIGTERM, timeout=15), 0,
                         "service exit status after SIGTERM\n" + svc.log_tail())
        self.assertFalse(h.is_mounted(svc.mountpoint), "still mounted after SIGTERM")
        h.wait_until(lambda: RE_RETRY.search(prov.log_text()[mark:]), 10,
                     "the provider to log the disconnect and a retry", logs=prov.logs)
        text = prov.log_text()[mark:]
        self.assertRegex(text, RE_DISCONNECTED)
        self.assertLess(RE_DISCONNECTED.search(text).start(), RE_RETRY.search(text).start(),
                        "'disconnected' before 'retrying'\n" + text)
        return mark

    def restart_service(self, svc, prov, mark, what):
        """A new service process on the same port and mount point; the same
        provider process attaches within one capped backoff step."""
        svc.start()
        dt = self.wait_listed(svc, prov, BACKOFF_CAP_MS / 1000.0 + SLACK,
                              "the provider to re-attach (%s)" % what)
        h.log("%s: provider re-attached %.2fs after the service listened" % (what, dt))
        self.assertEqual(read_file(svc), CONTENT)
        text = prov.log_text()[mark:]
        self.assertEqual(count(RE_CONNECTED, text), 1, "one 'connected to' line (%s)\n%s" % (what, text))
        self.assertLess(RE_RETRY.search(text).start(), RE_CONNECTED.search(text).start())
        self.assertEqual(count(RE_GIVING_UP, text), 0, text)
        self.assertTrue(prov.alive())

    def test_provider_survives_service_restart(self):
        svc = h.Service()
        prov = None
        try:
            svc.start()
            prov = h.Provider(svc, verbose=True)
            populate(prov.directory)
            prov.start()
            self.assertEqual(read_file(svc), CONTENT)
            log0 = prov.log_text()
            self.assertEqual(count(RE_CONNECTED, log0), 1, "one 'connected to' line\n" + log0)
            self.assertIn(svc.url, RE_CONNECTED.search(log0).group(1))

            # 1: the service is away long enough for the backoff to reach its cap
            mark = self.stop_service(svc, prov)
            # the first retry comes at once; then the 8th is the capped step
            # (1, 100, 200, 400, 800, 1600, 3200, 5000 ms); the first seven
            # add up to at most 6.3 s
            h.wait_until(lambda: count(RE_RETRY, prov.log_text()[mark:]) >= 8, 15,
                         "the provider to retry 8 times", interval=0.1, logs=prov.logs)
            self.assertTrue(prov.alive(), "provider exited without a service\n" + prov.logs())
            text = prov.log_text()[mark:]
            delays = [int(d) for d in RE_RETRY.findall(text)]
            h.log("provider retry delays (ms): %s" % delays)
            self.assertGreaterEqual(count(RE_REFUSED, text), 6,
                                    "refused connection attempts are logged (debug)\n" + text)
            self.assertEqual(count(RE_UNREACHABLE, text), 1,
                             "one info line for the whole outage\n" + text)
            self.assertTrue(all(1 <= d <= BACKOFF_CAP_MS for d in delays),
                            "a retry delay beyond the %d ms cap: %s" % (BACKOFF_CAP_MS, delays))
            self.assertLessEqual(delays[0], 1, "the first retry comes at once: %s" % delays)
            for k in range(6):  # step k is 100 * 2^k ms; a delay is half to all of it
                step = BACKOFF_MIN_MS << k
                self.assertTrue(step // 2 <= delays[k + 1] <= step, "retry %d: %s" % (k + 2, delays))
            self.assertGreaterEqual(delays[7], BACKOFF_CAP_MS // 2,
                                    "the backoff grows to its cap: %s" % delays)
            self.restart_service(svc, prov, mark, "restart 1")

            # 2: at once again. The connection served requests, so the
            # backoff starts from the beginning: one capped step at most.
            mark = self.stop_service(svc, prov)
            self.restart_service(svc, prov, mark, "restart 2")

            # the provider still exits 0 on SIGTERM, the service still unmounts
            self.assertEqual(prov.stop(signal.SIGTERM), 0, "provider exit status\n" + prov.logs())
            self.assertEqual(svc.stop(signal.SIGTERM, timeout=15), 0, svc.log_tail())
            self.assertFalse(h.is_mounted(svc.mountpoint))
        finally:
            try:
                if prov is not None:
                    prov.cleanup()
            finally:
                svc.cleanup()

    def test_no_reconnect_exits_when_service_goes_away(self):
        svc = h.Service()
        prov = None
        try:
            svc.start()
            prov = h.Provider(svc, verbose=True, extra_args=["--no-reconnect"])
            populate(prov.directory)
            prov.start()
            self.assertEqual(read_file(svc), CONTENT)
            self.assertEqual(svc.stop(signal.SIGTERM, timeout=15), 0, svc.log_tail())
            rc = prov.wait_exit(10)
            text = prov.log_text()
            self.assertNotEqual(rc, 0, "--no-reconnect: exit status after the service went away\n" + text)
            self.assertEqual(rc, 1, "EXIT_FAILURE, not a signal or a crash\n" + text)
            self.assertRegex(text, RE_DISCONNECTED)
            self.assertRegex(text, RE_GIVING_UP)
            self.assertIsNone(RE_RETRY.search(text), "--no-reconnect must not retry\n" + text)
        finally:
            try:
                if prov is not None:
                    prov.cleanup()
            finally:
                svc.cleanup()

    def test_no_reconnect_exits_without_service(self):
        with h.TempDir() as d:
            populate(d)
            prov = h.Provider(url="ws://127.0.0.1:%d/" % h.free_port(), directory=d,
                              verbose=True, extra_args=["--no-reconnect"])
            try:
                prov.start(wait_for_content=False)
                rc = prov.wait_exit(10)
                text = prov.log_text()
                self.assertEqual(rc, 1, "--no-reconnect without a service\n" + text)
                self.assertRegex(text, RE_REFUSED)
                self.assertRegex(text, RE_UNREACHABLE)
                self.assertRegex(text, RE_GIVING_UP)
                self.assertIsNone(RE_RETRY.search(text), text)
            finally:
                prov.cleanup()

    def test_reconnect_waits_for_a_late_service(self):
        """Started before the service, the provider attaches once it is there."""
        port = h.free_port()
        svc = h.Service(port=port)
        prov = h.Provider(svc, verbose=True)
        try:
            populate(prov.directory)
            prov.start(wait_for_content=False)
            h.wait_until(lambda: count(RE_RETRY, prov.log_text()) >= 3, 10,
                         "the provider to retry without a service", logs=prov.logs)
            svc.start()
            dt = self.wait_listed(svc, prov, BACKOFF_CAP_MS / 1000.0 + SLACK,
                                  "the provider to attach to the late service")
            h.log("late service: provider attached %.2fs after the service listened" % dt)
            self.assertEqual(read_file(svc), CONTENT)
            self.assertEqual(count(RE_CONNECTED, prov.log_text()), 1, prov.log_text())
        finally:
            try:
                prov.cleanup()
            finally:
                svc.cleanup()

    def old_and_new(self, svc):
        """Providers of one directory: a (to be stopped) and b (knocking
        later); both cleaned up, a continued first."""
        a = h.Provider(svc, verbose=True)
        b = h.Provider(svc, directory=a.directory, verbose=True)
        self.addCleanup(b.cleanup)
        self.addCleanup(a.cleanup)
        self.addCleanup(lambda: a.send_signal(signal.SIGCONT))
        return a, b

    def start_and_get_in(self, b):
        """Starts b while another provider holds the slot; waits for it to
        get in (the knock probe, then one backoff step)."""
        b.start(wait_for_content=False)
        h.wait_until(lambda: RE_CONNECTED.search(b.log_text()),
                     KNOCK_PROBE_S + BACKOFF_CAP_MS / 1000.0 + SLACK, "the new provider to get in",
                     interval=0.1, logs=b.logs)

    def test_silent_provider_gives_way_to_a_new_one(self):
        data = os.urandom(8 << 20)  # more than the kernel reads ahead
        with h.Service(resume_timeout=30) as svc:  # the default: requests wait for a provider
            a, b = self.old_and_new(svc)
            with open(a.path("image.bin"), "wb") as f:
                f.write(data)
            a.start()
            fd = h.call(os.open, svc.path("image.bin"), os.O_RDONLY, timeout=10)
            self.addCleanup(os.close, fd)
            head = h.call(os.read, fd, 4096, timeout=10)
            # A: no answers from now on, and no FUSE request for it to miss
            a.send_signal(signal.SIGSTOP)
            t0 = time.monotonic()
            self.start_and_get_in(b)
            h.log("silent provider: the new one got in after %.2fs" % (time.monotonic() - t0))
            self.assertIn("did not answer a ping", svc.log_text())
            rest = h.read_to_end(fd, timeout=30, what="read on through the new provider")
            self.assertEqual(hashlib.sha256(head + rest).digest(), hashlib.sha256(data).digest(),
                             "the file opened before the switch reads on, whole")

    def test_unanswered_heartbeat_is_not_an_answer_owed(self):
        # An idle provider is asked getattr "/" every 5 s (heartbeat.c). One
        # that vanished leaves a beat unanswered; that is no reason to give it
        # the request timeout (20 s here) when another provider knocks.
        if os.environ.get("WF_SILENCE_TESTS", "1") == "0":
            self.skipTest("WF_SILENCE_TESTS=0: the heartbeat waits run in the main stage only")
        with h.Service(timeout=20, resume_timeout=30) as svc:
            a, b = self.old_and_new(svc)
            populate(a.directory)
            a.start()
            h.wait_until(lambda: re.search(r"debug: request \d+: getattr / ", a.log_text()), 10,
                         "a heartbeat (getattr /) to the idle provider", logs=a.logs)
            a.send_signal(signal.SIGSTOP)
            time.sleep(5.5)  # the next beat goes out, unanswered
            t0 = time.monotonic()
            self.start_and_get_in(b)
            h.log("unanswered heartbeat: the new provider got in after %.2fs" % (time.monotonic() - t0))
            self.assertEqual(read_file(svc), CONTENT)

    def test_provider_owing_an_answer_gets_the_request_timeout(self):
        data = os.urandom(1 << 20)
        with h.Service(timeout=20, resume_timeout=30) as svc:
            a, b = self.old_and_new(svc)
            with open(a.path("slow.bin"), "wb") as f:
                f.write(data)
            a.start()
            a.send_signal(signal.SIGSTOP)  # a slow link, a busy laptop: an answer takes 8 s
            reader = h.BackgroundCall(read_bytes, svc.path("slow.bin"))
            time.sleep(0.5)  # the lookup is sent and waits
            b.start(wait_for_content=False)
            h.wait_until(lambda: "another provider is already attached" in b.log_text(), 10,
                         "the newcomer to be refused", logs=b.logs)
            time.sleep(KNOCK_PROBE_S + 2.5)
            a.send_signal(signal.SIGCONT)
            self.assertEqual(reader.join(20, "the read through the slow provider"), data)
            time.sleep(1.0)
            self.assertNotIn("did not answer a ping", svc.log_text())
            self.assertIsNone(RE_CONNECTED.search(b.log_text()), "the newcomer got in\n" + b.log_tail())
            self.assertEqual(svc.log_text().count("provider connected from"), 1, svc.log_tail())

    def test_foreign_page_knock_pings_no_one(self):
        # the origin is checked before "busy": a foreign page's handshake gets
        # 403 and the attached provider is not put to the test
        with h.Service(resume_timeout=30) as svc:
            a = h.Provider(svc, verbose=True)
            self.addCleanup(a.cleanup)
            self.addCleanup(lambda: a.send_signal(signal.SIGCONT))
            populate(a.directory)
            a.start()
            a.send_signal(signal.SIGSTOP)
            with socket.create_connection(("127.0.0.1", svc.port), timeout=5) as c:
                c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: webfuse2\r\n"
                          b"Origin: http://evil.example\r\n\r\n" % svc.port)
                status = c.recv(4096).split(b"\r\n", 1)[0]
            self.assertIn(b" 403", status, "a foreign origin is refused as such, not as busy")
            time.sleep(KNOCK_PROBE_S + 1.5)
            self.assertNotIn("did not answer a ping", svc.log_text())
            a.send_signal(signal.SIGCONT)
            self.assertEqual(read_file(svc), CONTENT)
            self.assertEqual(svc.log_text().count("provider connected from"), 1, svc.log_tail())


if __name__ == "__main__":
    h.main()
