"""A scripted WebSocket server (Python standard library only) that plays a
webfuse service towards webfuse_provider in ways the real service cannot be
made to: answer the handshake with an HTTP status, close at once with a
given close code and reason, or keep the connection open and record the
close frame the provider sends when it leaves.

    with FakeService(mode="close", code=4401, reason="token rejected") as fake:
        ... fake.url, fake.connections, fake.close_frames ...

mode: "http" (answer every handshake with `status`), "close" (accept, then
send a close frame with `code`/`reason`), "hold" (accept and keep open;
record the provider's close frame), "silent" (hold, but leave pings
unanswered, as a peer that vanished would; count them in `pings`), "drop" (accept, then close the socket
without a close frame after `hold_s` seconds), "creds" (ask with getcreds,
record the answer in `tokens`; close with 4401 unless it is `token`, then
hold). `first` gives the first connection a mode of its own (e.g. "http":
refused, then accepted).
Every socket it opens is closed in stop(); the thread ends within 1 s.
"""

import base64
import hashlib
import socket
import struct
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    headers = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return headers


def _recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(conn):
    """(opcode, payload) of one client frame (masked)."""
    b0, b1 = _recv_exact(conn, 2)
    length = b1 & 0x7F
    if length == 126:
        length = struct.unpack(">H", _recv_exact(conn, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _recv_exact(conn, 8))[0]
    mask = _recv_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
    payload = bytearray(_recv_exact(conn, length))
    for i in range(length):
        payload[i] ^= mask[i % 4]
    return b0 & 0x0F, bytes(payload)


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, n)
    else:
        head = struct.pack(">BBH", 0x80 | opcode, 126, n)
    return head + payload


class FakeService:
    def __init__(self, mode, status=401, code=4401, reason="", hold_s=0.2, request=False, token=None,
                 first=None):
        self.mode, self.status, self.code, self.reason, self.hold_s = mode, status, code, reason, hold_s
        self.first = first      # the first connection's mode, when it differs
        self.request = request  # drop mode: send one getattr first (the connection "worked")
        self.token = token      # creds mode: the token that is accepted
        self.tokens = []        # creds mode: the answers to getcreds
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = "ws://127.0.0.1:%d/" % self.port
        self.connections = 0
        self.close_frames = []   # (code, reason) the provider sent
        self.ended_without_close = 0
        self.mode_creds_ok = False
        self.pings = 0
        self._stop = False
        self._conns = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop = True
        self._thread.join(5)
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._conns.append(conn)
            conn.settimeout(5)
            try:
                self._serve(conn)
            except (OSError, EOFError):
                pass
            finally:
                conn.close()

    def _serve(self, conn):
        headers = _read_request(conn)
        if headers is None:
            return
        self.connections += 1
        mode = self.first if self.first and self.connections == 1 else self.mode
        if mode == "http":
            body = b"refused\n"
            conn.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (self.status, len(body), body))
            return
        key = headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n")
        if "sec-websocket-protocol" in headers:
            resp += b"Sec-WebSocket-Protocol: webfuse2\r\n"
        conn.sendall(resp + b"\r\n")
        if mode == "close":
            conn.sendall(frame(0x8, struct.pack(">H", self.code) + self.reason.encode()))
            try:
                read_frame(conn)  # the provider's answer to our close
            except (OSError, EOFError):
                pass
            return
        if mode == "creds":
            conn.sendall(frame(0x2, b"\x00\x00\x00\x07\x17"))  # getcreds, id 7
            conn.settimeout(30)  # a person is typing
            _, payload = read_frame(conn)
            # id u32, type u8 (0x97), credentials: u32 length + bytes
            n = struct.unpack(">I", payload[5:9])[0]
            self.tokens.append(payload[9:9 + n].decode("utf-8", "replace"))
            if self.tokens[-1] != self.token:
                conn.sendall(frame(0x8, struct.pack(">H", 4401) + b"token rejected"))
                try:
                    read_frame(conn)
                except (OSError, EOFError):
                    pass
                return
            self.mode_creds_ok = True
        if mode == "drop":
            if self.request:
                # getattr "/": id 1, type 0x02, path (u32 length, bytes)
                conn.sendall(frame(0x2, b"\x00\x00\x00\x01\x02\x00\x00\x00\x01/"))
                read_frame(conn)
            time.sleep(self.hold_s)
            self.ended_without_close += 1
            return
        # hold, silent: wait for the provider's close frame (or the end of the socket)
        conn.settimeout(0.2)
        while not self._stop:
            try:
                op, payload = read_frame(conn)
            except socket.timeout:
                continue
            except (OSError, EOFError):
                self.ended_without_close += 1
                return
            if op == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                self.close_frames.append((code, payload[2:].decode("utf-8", "replace")))
                conn.sendall(frame(0x8, payload[:2]))
                return
            if op == 0x9:  # ping
                self.pings += 1
                if mode != "silent":
                    conn.sendall(frame(0xA, payload))
