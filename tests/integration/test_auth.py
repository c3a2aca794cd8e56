#!/usr/bin/env python3
"""Provider admission with an authenticator program.

The service runs `--wf-authenticator PATH` with the provider's token on its
stdin; exit status 0 admits the provider. The token comes either in an HTTP
header of the WebSocket handshake (`--wf-auth-header NAME`) or, without a
configured header or when the header is absent, as the answer to `getcreds`,
the first request after the handshake.

The authenticator used here is a small shell script written by each test. It
appends the token it received to a log file, so a test can tell that (and
how often, and with what) it ran.

Whether a filesystem request reached the provider is read from the provider's
verbose log (`-v`), where lib/provider/dispatch.c writes one
"request N: TYPE ..." line per request it handles.
"""

import base64
import hashlib
import os
import re
import socket
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOKEN = "secret"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REQUEST_LINE = re.compile(r"request \d+: (\w+)")
# How long a refused provider keeps trying before the test looks at the mount.
ATTEMPT_WAIT = 15.0


def ws_handshake(port, headers=(), host=None, protocol="webfuse2", timeout=10.0):
    """Sends a WebSocket upgrade request to 127.0.0.1:port and reads the answer.

    Returns (status, elapsed_seconds): status is the HTTP status code of the
    answer (101 = accepted, with a correct Sec-WebSocket-Accept), or None when
    the service closed the connection without an HTTP answer. The socket is
    closed right away in every case. Bounded by `timeout` seconds."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET / HTTP/1.1",
             "Host: %s" % (host or "127.0.0.1:%d" % port),
             "Upgrade: websocket",
             "Connection: Upgrade",
             "Sec-WebSocket-Key: " + key,
             "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    lines += ["%s: %s" % (k, v) for k, v in headers]
    start = time.monotonic()
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = start + timeout
        while b"\r\n\r\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise h.HarnessError("no answer to the WebSocket handshake within %.1fs" % timeout)
            s.settimeout(left)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - start
    if b"\r\n\r\n" not in data:
        return None, elapsed
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if status == 101:
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if fields.get("sec-websocket-accept") != want:
            raise h.HarnessError("101 with a wrong Sec-WebSocket-Accept: %r" % (head,))
    return status, elapsed


def read_close_code(sock, timeout, data=b""):
    """Reads server frames (after `data`, already received) until a close
    frame; its code, or None at EOF or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while len(data) >= 2:
            opcode, n = data[0] & 0x0f, data[1] & 0x7f
            head = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if len(data) < head:
                break
            if n >= 126:
                n = int.from_bytes(data[2:head], "big")
            if len(data) < head + n:
                break
            if opcode == 0x8:
                return int.from_bytes(data[head:head + 2], "big") if n >= 2 else 1005
            data = data[head + n:]
        sock.settimeout(max(0.01, min(0.1, deadline - time.monotonic())))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return None


def ws_verdict(svc, headers=(), timeout=10.0):
    """A raw handshake carrying `headers`, and the service's verdict on it:
    ("http", status) refused before the handshake completed, ("close", code)
    refused after it with a WebSocket close code (proto/wf_refusal.h), or
    ("admitted", None) once the service logs the provider as connected."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET / HTTP/1.1", "Host: 127.0.0.1:%d" % svc.port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: webfuse2"] + ["%s: %s" % kv for kv in headers]
    connected_before = svc.log_text().count("provider connected from")
    with socket.create_connection(("127.0.0.1", svc.port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return ("http", None)
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ")[1])
        if status != 101:
            return ("http", status)
        code = read_close_code(s, 0.05, rest)
        deadline = time.monotonic() + timeout
        while code is None and time.monotonic() < deadline:
            if svc.log_text().count("provider connected from") > connected_before:
                return ("admitted", None)
            code = read_close_code(s, 0.1)
        if code is not None:
            return ("close", code)
        raise h.HarnessError("no verdict on the handshake within %.1fs" % timeout)


def populate(directory):
    with open(os.path.join(directory, "hello.txt"), "w") as f:
        f.write("hello from the provider\n")
    os.mkdir(os.path.join(directory, "sub"))


class AuthTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        # the provider falls back to $WEBFUSE_TOKEN: keep the tests independent of it
        os.environ.pop("WEBFUSE_TOKEN", None)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wf-auth-")
        os.chmod(self.tmp, 0o755)
        self.auth_log = os.path.join(self.tmp, "auth.log")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    # -- helpers -------------------------------------------------------------

    def authenticator(self, body='[ "$t" = %s ]\n' % TOKEN):
        """Writes the authenticator script; it logs every token it reads."""
        path = os.path.join(self.tmp, "authenticator.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    "t=\n"
                    "read -r t\n"  # the token comes without a newline: read fails, t is set
                    "printf 'token:%%s\\n' \"$t\" >> '%s'\n" % self.auth_log)
            f.write(body)
        os.chmod(path, 0o755)
        return path

    def auth_runs(self):
        try:
            with open(self.auth_log) as f:
                return [line[len("token:"):] for line in f.read().splitlines()
                        if line.startswith("token:")]
        except FileNotFoundError:
            return []

    def service(self, header=None, script=None):
        args = ["--wf-authenticator", script or self.authenticator()]
        if header:
            args += ["--wf-auth-header", header]
        svc = h.Service(extra_args=args)
        svc.start()
        self.addCleanup(svc.cleanup)
        return svc

    def provider(self, svc, token=None, wait=True, extra=()):
        args = (["-t", token] if token is not None else []) + list(extra)
        prov = h.Provider(svc, extra_args=args)
        self.addCleanup(prov.cleanup)
        populate(prov.directory)
        prov.start(wait_for_content=wait)
        return prov

    @staticmethod
    def wait_disconnected(svc, count=1):
        """After a raw handshake was admitted and closed: the service noticed."""
        h.wait_until(lambda: svc.log_text().count("provider disconnected") >= count,
                     h.DEFAULT_WAIT, "the service to notice the closed connection",
                     logs=svc.log_tail)

    @staticmethod
    def requests(prov):
        return REQUEST_LINE.findall(prov.log_text())

    def assert_admitted(self, svc, prov):
        self.assertEqual(svc.listdir(), ["hello.txt", "sub"])
        with open(svc.path("hello.txt")) as f:
            self.assertEqual(h.call(f.read), "hello from the provider\n")

    def assert_refused(self, svc, prov, min_runs=2, expect_getcreds=True):
        """The provider keeps trying (--keep-trying: a rejected token is a
        permanent refusal otherwise); each attempt is refused and the mount
        stays empty. Only getcreds ever reaches the provider."""
        def tried():
            self.assertEqual(svc.listdir(timeout=5), [], "mount shows files while refused")
            return len(self.auth_runs()) >= min_runs
        h.wait_until(tried, ATTEMPT_WAIT, "%d refused attempts" % min_runs, interval=0.1,
                     logs=prov.logs)
        self.assertEqual(svc.listdir(), [])
        self.assertTrue(prov.alive(), "the provider keeps retrying\n" + prov.logs())
        prov.stop()
        seen = self.requests(prov)
        other = [r for r in seen if r != "getcreds"]
        self.assertEqual(other, [], "filesystem requests reached an unauthenticated provider:\n"
                         + prov.log_text())
        if expect_getcreds:
            self.assertTrue(seen, "the service never asked for credentials\n" + prov.logs())
        elif expect_getcreds is not None:
            self.assertEqual(seen, [], "refused at the handshake, yet a request came\n"
                             + prov.logs())
        self.assertEqual(svc.listdir(), [])

    # -- accepted ------------------------------------------------------------

    def test_header_token_accepted(self):
        svc = self.service(header="X-Auth-Token")
        prov = self.provider(svc, TOKEN)
        self.assert_admitted(svc, prov)
        self.assertEqual(self.auth_runs(), [TOKEN])

    def test_x_auth_token_checked_at_handshake(self):
        """With --wf-auth-header X-Auth-Token the token is taken from the
        handshake: no getcreds, and a wrong token gets no WebSocket at all.

        Fails today: libwebsockets 4.x knows "x-auth-token" as a standard
        header (WSI_TOKEN_X_AUTH_TOKEN), so lws_hdr_custom_length() in
        copy_header() (lib/service/service.c) never finds it; the service
        treats the header as absent and falls back to getcreds."""
        svc = self.service(header="X-Auth-Token")
        self.assertEqual(ws_verdict(svc, [("X-Auth-Token", "wrong")]), ("close", 4401),
                         "a wrong X-Auth-Token was not refused")
        prov = self.provider(svc, TOKEN)
        self.assert_admitted(svc, prov)
        self.assertNotIn("getcreds", self.requests(prov),
                         "the header token was enough; no getcreds expected")

    def test_custom_header_checked_at_handshake(self):
        # a header name libwebsockets does not know itself
        svc = self.service(header="X-Webfuse-Token")
        self.assertEqual(ws_verdict(svc, [("X-Webfuse-Token", "wrong")]), ("close", 4401),
                         "a wrong token was accepted")
        self.assertEqual(self.auth_runs(), ["wrong"])
        self.assertIn("rejected", svc.log_text())
        # the first refusal costs no waiting: a mistyped token may be retried at once
        self.assertEqual(ws_verdict(svc, [("X-Webfuse-Token", TOKEN)]), ("admitted", None),
                         svc.log_tail())
        self.assertEqual(self.auth_runs(), ["wrong", TOKEN])
        self.wait_disconnected(svc)
        self.assertEqual(svc.listdir(), [])

    def test_getcreds_token_accepted(self):
        svc = self.service()
        prov = self.provider(svc, TOKEN)
        self.assert_admitted(svc, prov)
        self.assertEqual(self.auth_runs(), [TOKEN])
        seen = self.requests(prov)
        self.assertEqual(seen[0], "getcreds", "getcreds must come before anything else: %r" % seen)
        self.assertEqual(seen.count("getcreds"), 1)

    def test_authorization_bearer_header(self):
        svc = self.service(header="Authorization")
        self.assertEqual(ws_verdict(svc, [("Authorization", "Bearer " + TOKEN)]),
                         ("admitted", None), svc.log_tail())
        # the scheme is dropped: the authenticator sees the token alone
        self.assertEqual(self.auth_runs(), [TOKEN])
        self.wait_disconnected(svc)
        self.assertEqual(ws_verdict(svc, [("Authorization", "Bearer wrong")]), ("close", 4401),
                         "a wrong bearer token was accepted")
        self.assertEqual(self.auth_runs(), [TOKEN, "wrong"])
        self.assertEqual(svc.listdir(), [])

    # -- refused -------------------------------------------------------------

    def test_header_wrong_token_refused(self):
        svc = self.service(header="X-Auth-Token")
        prov = self.provider(svc, "not-the-secret", wait=False, extra=["--keep-trying"])
        # getcreds may come (see test_x_auth_token_checked_at_handshake), nothing else
        self.assert_refused(svc, prov, expect_getcreds=None)
        self.assertEqual(set(self.auth_runs()), {"not-the-secret"})
        self.assertIn("rejected", svc.log_text())

    def test_header_missing_token_refused(self):
        # no header: the service falls back to getcreds, answered with ""
        svc = self.service(header="X-Auth-Token")
        prov = self.provider(svc, None, wait=False, extra=["--keep-trying"])
        self.assert_refused(svc, prov)
        self.assertEqual(set(self.auth_runs()), {""})

    def test_getcreds_wrong_token_refused(self):
        svc = self.service()
        prov = self.provider(svc, "not-the-secret", wait=False, extra=["--keep-trying"])
        self.assert_refused(svc, prov)
        self.assertEqual(set(self.auth_runs()), {"not-the-secret"})
        self.assertIn("credentials rejected", svc.log_text())

    def test_getcreds_missing_token_refused(self):
        svc = self.service()
        prov = self.provider(svc, None, wait=False, extra=["--keep-trying"])
        self.assert_refused(svc, prov)
        self.assertEqual(set(self.auth_runs()), {""})

    # -- a hanging authenticator ---------------------------------------------

    def hanging_authenticator(self):
        # exec: the process the service kills after its timeout is sleep itself
        return self.authenticator(body="exec sleep 30\n")

    def test_authenticator_timeout_header(self):
        svc = self.service(header="X-Webfuse-Token", script=self.hanging_authenticator())
        start = time.monotonic()
        verdict = ws_verdict(svc, [("X-Webfuse-Token", TOKEN)], timeout=15)
        elapsed = time.monotonic() - start
        self.assertEqual(verdict, ("close", 4408), "admitted although the authenticator never answered")
        self.assertLess(elapsed, 6.5, "refusal took %.1fs" % elapsed)
        self.assertEqual(self.auth_runs(), [TOKEN])
        self.assertIn("did not finish", svc.log_text())
        self.assert_responsive(svc)

    def test_authenticator_timeout_getcreds(self):
        svc = self.service(script=self.hanging_authenticator())
        # no reconnect: each new attempt would hold the service up again
        prov = self.provider(svc, TOKEN, wait=False, extra=["--no-reconnect"])
        start = time.monotonic()
        h.wait_until(lambda: "did not finish" in svc.log_text(), 10.0,
                     "the service to give up on the authenticator", logs=prov.logs)
        self.assertLess(time.monotonic() - start, 8.0)
        self.assertEqual(self.auth_runs(), [TOKEN])
        self.assertNotEqual(prov.wait_exit(10), 0, "the refused provider should give up")
        self.assert_responsive(svc)
        self.assertEqual([r for r in self.requests(prov) if r != "getcreds"], [],
                         prov.log_text())

    def assert_responsive(self, svc):
        t0 = time.monotonic()
        self.assertEqual(svc.listdir(timeout=3), [])
        self.assertLess(time.monotonic() - t0, 2.0, "the mount answered slowly")
        self.assertTrue(svc.alive())
        # a handshake without the header is admitted at once (credentials
        # are asked for after it), so the WebSocket side answers as well
        status, elapsed = ws_handshake(svc.port, timeout=10)
        if status != 101:
            # one more try: a previous connection may still count as attached
            time.sleep(1)
            status, elapsed = ws_handshake(svc.port, timeout=10)
        self.assertEqual(status, 101, svc.log_tail())
        self.assertLess(elapsed, 2.0)


if __name__ == "__main__":
    h.main()
