#!/usr/bin/env python3
"""Availability under a flood of wrong-token providers.

50 clients, each from its own loopback address (127.0.0.2 - 127.0.0.51, as
attackers elsewhere on the LAN would be), keep opening WebSocket handshakes
with a wrong token for 10 s: in the handshake header, or (the getcreds
variant) answering getcreds with it. The authenticator takes 50 ms a check
(a token file on slow flash). Meanwhile the right provider (from 127.0.0.1)
is attached, is killed, stays away for 1.5 s (the flood has the
authenticator to itself) and is started again; finally the service gets
SIGTERM. Checked:
  - calls on the mount keep answering within 0.5 s, all the time;
  - the restarted provider is attached within 3 s of its start;
  - the service exits within 1 s of SIGTERM, mid-flood.
The figures are printed (max call latency, reconnect time, exit time).
"""

import os
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOKEN = "secret"
CLIENTS = 50
FLOOD_SECONDS = 10.0
MAX_CALL_LATENCY = 0.5
MAX_RECONNECT = 3.0
MAX_STOP = 1.0


def no_time_wait(s):
    """Closes with a reset: thousands of sockets bound to 127.0.0.x left in
    TIME_WAIT would keep their ports from later tests' listeners."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def handshake(src, port, token):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    lines = ["GET / HTTP/1.1", "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: webfuse2"]
    if token is not None:
        lines.append("X-Auth-Token: " + token)
    s = socket.socket()
    try:
        s.settimeout(2.0)
        no_time_wait(s)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    except OSError:
        s.close()
        raise
    return s


def read_frame(s, buf):
    """One server frame (unmasked): (opcode, payload, rest of buf)."""
    while True:
        if len(buf) >= 2:
            n = buf[1] & 0x7f
            head = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if len(buf) >= head:
                if n >= 126:
                    n = int.from_bytes(buf[2:head], "big")
                if len(buf) >= head + n:
                    return buf[0] & 0x0f, buf[head:head + n], buf[head + n:]
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk


def masked_binary(payload):
    mask = os.urandom(4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0x80 | 126]) + struct.pack(">H", n)
    return head + mask + data


def attack_once(src, port, variant, stats):
    """One wrong-token attempt; its outcome goes to stats."""
    s = handshake(src, port, "wrong" if variant == "header" else None)
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise EOFError
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ")[1])
        if status != 101:
            stats["http %d" % status] = stats.get("http %d" % status, 0) + 1
            return
        while True:
            op, payload, buf = read_frame(s, buf)
            if op == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                stats["close %d" % code] = stats.get("close %d" % code, 0) + 1
                return
            if op == 0x2 and len(payload) >= 5 and payload[4] == 0x17:  # getcreds
                cred = b"wrong"
                s.sendall(masked_binary(payload[:4] + bytes([0x97]) + struct.pack(">I", len(cred)) + cred))
    except (OSError, EOFError):
        stats["dropped"] = stats.get("dropped", 0) + 1
    finally:
        s.close()


class Flood:
    def __init__(self, port, variant, seconds=FLOOD_SECONDS):
        self.port, self.variant, self.seconds = port, variant, seconds
        self.stop = threading.Event()
        self.stats = [dict() for _ in range(CLIENTS)]
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(CLIENTS)]

    def run(self, i):
        src = "127.0.0.%d" % (2 + i)
        end = time.monotonic() + self.seconds
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                attack_once(src, self.port, self.variant, self.stats[i])
            except OSError:
                self.stats[i]["connect failed"] = self.stats[i].get("connect failed", 0) + 1
                time.sleep(0.05)
            time.sleep(0.01)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)
        total = {}
        for st in self.stats:
            for k, v in st.items():
                total[k] = total.get(k, 0) + v
        return total


class Prober:
    """Times a stat of the mount root every 50 ms; remembers the slowest."""

    def __init__(self, svc):
        self.svc = svc
        self.worst = 0.0
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                h.call(os.listdir, self.svc.mountpoint, timeout=5, what="listdir(mount)")
            except OSError:
                pass
            except h.CallTimeout:
                pass
            dt = time.monotonic() - t0
            self.worst = max(self.worst, dt)
            self.count += 1
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)
        return False


def quiet_port():
    """A port below the ephemeral range, free on every address: the flood's
    client sockets, bound to 127.0.0.x, hold many ephemeral ports."""
    import random
    for _ in range(200):
        port = random.randint(20000, 30999)
        with socket.socket(socket.AF_INET6) as s:
            try:
                s.bind(("::", port))
                return port
            except OSError:
                continue
    raise h.HarnessError("no free port")


def populate(directory):
    with open(os.path.join(directory, "hello.txt"), "w") as f:
        f.write("hello\n")


class FloodTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        os.environ.pop("WEBFUSE_TOKEN", None)

    def setUp(self):
        self.tmp = h.TempDir(prefix="wf-flood-")
        self.addCleanup(self.tmp.__exit__)
        self.auth = os.path.join(self.tmp.path, "auth.sh")
        with open(self.auth, "w") as f:
            f.write('#!/bin/sh\nt=\nread -r t\nsleep 0.05\n[ "$t" = %s ]\n' % TOKEN)
        os.chmod(self.auth, 0o755)

    def provider(self, svc):
        prov = h.Provider(svc, extra_args=["-t", TOKEN], verbose=False)
        self.addCleanup(prov.cleanup)
        populate(prov.directory)
        return prov

    def flood(self, variant):
        svc = h.Service(port=quiet_port(), extra_args=["--wf-authenticator", self.auth,
                                    "--wf-auth-header", "X-Auth-Token"])
        svc.start()
        self.addCleanup(svc.cleanup)
        prov = self.provider(svc)
        prov.start()
        flood = Flood(svc.port, variant).start()
        try:
            with Prober(svc) as probe:
                time.sleep(3.0)  # attached, under flood
                self.assertEqual(svc.listdir(timeout=5), ["hello.txt"])
                prov.stop(signal.SIGKILL)
                time.sleep(1.5)  # the flood alone with the authenticator
                # the provider lost its connection; a new one comes back
                prov2 = self.provider(svc)
                t0 = time.monotonic()
                prov2.start(wait=MAX_RECONNECT + 5)
                reconnect = time.monotonic() - t0
                time.sleep(2.0)
            # mid-flood: SIGTERM
            t0 = time.monotonic()
            svc.send_signal(signal.SIGTERM)
            svc.wait_exit(10)
            stop = time.monotonic() - t0
        finally:
            outcomes = flood.finish()
        h.log("flood %s: outcomes %r" % (variant, outcomes))
        h.log("flood %s: %d mount calls, slowest %.3f s; provider back in %.2f s; "
              "exit %.2f s after SIGTERM" % (variant, probe.count, probe.worst, reconnect, stop))
        self.assertGreater(sum(v for k, v in outcomes.items() if k.startswith("close 44")), 0,
                           "the flood never reached the authenticator: %r" % outcomes)
        self.assertLess(probe.worst, MAX_CALL_LATENCY, "a mount call took %.2f s" % probe.worst)
        self.assertLess(reconnect, MAX_RECONNECT, "the provider came back after %.2f s" % reconnect)
        self.assertLess(stop, MAX_STOP, "the service took %.2f s to stop" % stop)
        self.assertEqual(svc.returncode, 0, svc.log_tail())

    def test_flood_header_token(self):
        self.flood("header")

    def test_flood_getcreds(self):
        self.flood("getcreds")


if __name__ == "__main__":
    h.main()
