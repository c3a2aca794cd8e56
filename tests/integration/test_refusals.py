#!/usr/bin/env python3
"""How the service turns providers away (lib/proto/wf_refusal.h).

Before the WebSocket handshake completes it answers with an HTTP status:
409 another provider is attached, 403 origin refused (also a Host of the
form [name] that is no IPv6 literal), 429 this address must wait after
refusals, 503 too many connections (64) wait for admission. After the handshake
it closes with the matching WebSocket close code: 4401 token rejected.
"""

import base64
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOKEN = "secret"
WAITING_MAX = 64  # WF_ADMISSION_MAX (lib/service/admission.h)


def no_time_wait(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def open_handshake(port, src="127.0.0.1", host=None, headers=(), family=socket.AF_INET,
                   address="127.0.0.1"):
    """Sends a handshake; returns (socket, HTTP status, bytes after the head)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET / HTTP/1.1", "Host: %s" % (host or "127.0.0.1:%d" % port),
             "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
             "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: webfuse2"]
    lines += ["%s: %s" % kv for kv in headers]
    s = socket.socket(family)
    no_time_wait(s)
    s.settimeout(5)
    if src:
        s.bind((src, 0))
    s.connect((address, port))
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            s.close()
            return None, None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return s, int(head.split(b" ")[1]), rest


def status_of(port, **kw):
    s, status, _ = open_handshake(port, **kw)
    if s:
        s.close()
    return status


def close_code(s, data=b"", timeout=15.0):
    """Reads server frames until the close frame; its code (None at EOF)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(data) >= 2:
            n = data[1] & 0x7f
            head = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if n >= 126 and len(data) >= head:
                n = int.from_bytes(data[2:head], "big")
            if len(data) >= head + n:
                if data[0] & 0x0f == 0x8:
                    return int.from_bytes(data[head:head + 2], "big")
                data = data[head + n:]
                continue
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    raise h.HarnessError("no close frame within %.1fs" % timeout)


class RefusalTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        os.environ.pop("WEBFUSE_TOKEN", None)

    def service(self, *args):
        svc = h.Service(extra_args=list(args))
        self.addCleanup(svc.cleanup)
        svc.start()
        return svc

    def authenticated_service(self):
        tmp = h.TempDir(prefix="wf-refusal-")
        self.addCleanup(tmp.__exit__)
        auth = os.path.join(tmp.path, "auth.sh")
        with open(auth, "w") as f:
            f.write('#!/bin/sh\nt=\nread -r t\n[ "$t" = %s ]\n' % TOKEN)
        os.chmod(auth, 0o755)
        return self.service("--wf-authenticator", auth, "--wf-auth-header", "X-Auth-Token")

    def test_busy_409(self):
        svc = self.service()
        prov = h.Provider(svc)
        self.addCleanup(prov.cleanup)
        prov.start()
        self.assertEqual(status_of(svc.port), 409)

    def test_origin_403(self):
        svc = self.service()
        self.assertEqual(status_of(svc.port, headers=[("Origin", "http://evil.example")]), 403)

    def test_bracketed_host(self):
        svc = self.service()
        # DNS rebinding with a bracketed name: not an IPv6 literal, not ours
        self.assertEqual(status_of(svc.port, host="[evil.example]",
                                   headers=[("Origin", "http://[evil.example]")]), 403)
        self.assertEqual(status_of(svc.port, host="[evil.example]:%d" % svc.port,
                                   headers=[("Origin", "http://[evil.example]:%d" % svc.port)]), 403)
        # a real IPv6 literal names this service
        host = "[::1]:%d" % svc.port
        s, status, _ = open_handshake(svc.port, host=host, headers=[("Origin", "http://" + host)])
        s.close()
        self.assertEqual(status, 101, svc.log_tail())

    def test_token_4401_then_backoff_429(self):
        svc = self.authenticated_service()
        src = "127.0.0.7"
        for attempt in range(2):
            s, status, rest = open_handshake(svc.port, src=src, headers=[("X-Auth-Token", "wrong")])
            self.assertEqual(status, 101, "attempt %d" % attempt)
            self.assertEqual(close_code(s, rest), 4401)
            s.close()
        # two refusals: this address waits (1 s), others do not
        self.assertEqual(status_of(svc.port, src=src, headers=[("X-Auth-Token", TOKEN)]), 429)
        prov = h.Provider(svc, extra_args=["-t", TOKEN])
        self.addCleanup(prov.cleanup)
        prov.start()
        self.assertEqual(status_of(svc.port, src=src), 409)  # busy comes first
        self.assertIn("credentials rejected", svc.log_text())

    def test_backoff_ends(self):
        svc = self.authenticated_service()
        src = "127.0.0.8"
        for _ in range(2):
            s, status, rest = open_handshake(svc.port, src=src, headers=[("X-Auth-Token", "wrong")])
            self.assertEqual(close_code(s, rest), 4401)
            s.close()
        self.assertEqual(status_of(svc.port, src=src), 429)
        time.sleep(1.2)
        s, status, rest = open_handshake(svc.port, src=src, headers=[("X-Auth-Token", TOKEN)])
        self.assertEqual(status, 101, svc.log_tail())
        h.wait_until(lambda: "provider from 127.0.0.8 authenticated" in svc.log_text(), 5,
                     "the right token to be admitted", logs=svc.log_tail)
        s.close()

    def test_overload_503(self):
        svc = self.authenticated_service()
        waiting = []
        try:
            # connections that never answer getcreds, one per address
            for i in range(WAITING_MAX):
                s, status, _ = open_handshake(svc.port, src="127.0.0.%d" % (10 + i))
                self.assertEqual(status, 101, "connection %d" % i)
                waiting.append(s)
            self.assertEqual(status_of(svc.port, src="127.0.0.100"), 503)
            # a newer connection from an address replaces its older one
            s, status, rest = open_handshake(svc.port, src="127.0.0.10")
            self.assertEqual(status, 101)
            waiting.append(s)
            self.assertEqual(close_code(waiting[0]), 4409)
        finally:
            for s in waiting:
                s.close()


if __name__ == "__main__":
    h.main()
