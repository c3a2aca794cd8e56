#!/usr/bin/env python3
"""Static files of --wf-docroot stay inside the docroot.

libwebsockets follows symlinks in the docroot wherever they lead; the
service refuses (403) a request whose file, symlinks resolved, lies outside
(lib/service/docroot.c). Symlinks within the docroot still work, and `..`
in a URL never leaves it.
"""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402


def get(port, path):
    """(status, body) of GET path, sent as is (no normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                   % (path, port)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


class DocrootTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()

    def test_symlinks_stay_inside(self):
        with h.TempDir() as tmp:
            root = os.path.join(tmp, "web")
            os.mkdir(root)
            os.mkdir(os.path.join(root, "sub"))
            with open(os.path.join(tmp, "secret.txt"), "w") as f:
                f.write("outside\n")
            with open(os.path.join(root, "page.txt"), "w") as f:
                f.write("inside\n")
            os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(root, "abs.txt"))
            os.symlink("../secret.txt", os.path.join(root, "rel.txt"))
            os.symlink(tmp, os.path.join(root, "up"))
            os.symlink("../page.txt", os.path.join(root, "sub", "ok.txt"))
            os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(root, "sub", "index.html"))
            with h.Service(extra_args=["--wf-docroot", root]) as svc:
                self.assertEqual(get(svc.port, "/page.txt"), (200, b"inside\n"))
                self.assertEqual(get(svc.port, "/sub/ok.txt"), (200, b"inside\n"))
                for path in ("/abs.txt", "/rel.txt", "/up/secret.txt", "/sub/"):
                    status, body = get(svc.port, path)
                    self.assertEqual(status, 403, path)
                    self.assertNotIn(b"outside", body, path)
                status, body = get(svc.port, "/../secret.txt")
                self.assertNotIn(b"outside", body)
                self.assertEqual(get(svc.port, "/missing.txt")[0], 404)


if __name__ == "__main__":
    h.main()
