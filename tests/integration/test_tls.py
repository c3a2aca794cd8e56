#!/usr/bin/env python3
"""TLS between provider and service (wss://).

The test makes its own PKI with the openssl command in a temporary directory:
a test CA, a server certificate for localhost / 127.0.0.1 (subjectAltName)
signed by it, and a second, unrelated CA. The service serves with
--wf-cert/--wf-key; the provider verifies the server against the CA given
with -a/--ca-path:

  - the right CA: the provider attaches, files can be read through the mount;
  - an unrelated CA, or the system store (which does not hold the test CA):
    the provider fails with an error that talks about the certificate, and
    the mount stays empty;
  - the right CA but a name that is not in the certificate: refused too
    (host name verification);
  - plain ws:// (and a raw plain-text handshake) against the TLS port gets
    no access.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402
from test_auth import ws_handshake  # noqa: E402

CERT_ERROR = re.compile(r"certif|verif", re.IGNORECASE)
REQUEST_LINE = re.compile(r"request \d+: (\w+)")
CONTENT = b"served over TLS\n"


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), r.stdout.decode(errors="replace")))


def make_ca(d, name, cn):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_pki(d):
    make_ca(d, "ca", "webfuse test CA")
    make_ca(d, "other-ca", "unrelated test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
            cwd=d)
    # sanity: the chain verifies with the right CA only
    openssl("verify", "-CAfile", "ca.pem", "server.pem", cwd=d)


class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is missing")
        os.environ.pop("WEBFUSE_TOKEN", None)
        cls.pki = tempfile.mkdtemp(prefix="wf-pki-")
        os.chmod(cls.pki, 0o755)
        try:
            make_pki(cls.pki)
        except BaseException:
            shutil.rmtree(cls.pki, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def pem(self, name):
        return os.path.join(self.pki, name)

    def setUp(self):
        self.svc = h.Service(extra_args=["--wf-cert", self.pem("server.pem"),
                                         "--wf-key", self.pem("server.key")])
        self.svc.start()
        self.addCleanup(self.svc.cleanup)

    def provider(self, url, *extra, wait=True, verbose=True):
        prov = h.Provider(self.svc, url=url, extra_args=list(extra), verbose=verbose)
        self.addCleanup(prov.cleanup)
        with open(prov.path("file.txt"), "wb") as f:
            f.write(CONTENT)
        prov.start(wait_for_content=wait)
        return prov

    def wss(self, host="localhost"):
        return "wss://%s:%d/" % (host, self.svc.port)

    def assert_no_access(self, prov):
        """The provider gives up (--no-reconnect) and never served a request."""
        code = prov.wait_exit(20)
        self.assertNotEqual(code, 0, "the provider should fail\n" + prov.logs())
        self.assertEqual(REQUEST_LINE.findall(prov.log_text()), [],
                         "a request was served over an unverified connection\n" + prov.logs())
        self.assertEqual(self.svc.listdir(), [])
        self.assertNotIn("provider connected", self.svc.log_text())

    def assert_certificate_error(self, prov, reason):
        """Failed, and an error line names the certificate problem: `reason`
        is a pattern for OpenSSL's verification reason, not just our hint."""
        self.assert_no_access(prov)
        errors = [line for line in prov.log_text().splitlines() if "error" in line.lower()]
        self.assertTrue(any(CERT_ERROR.search(line) for line in errors),
                        "no certificate error message\n" + prov.logs())
        self.assertTrue(any(re.search(reason, line, re.IGNORECASE) for line in errors),
                        "the error does not say why (%r)\n%s" % (reason, prov.logs()))

    def test_trusted_ca(self):
        prov = self.provider(self.wss(), "-a", self.pem("ca.pem"))
        with open(self.svc.path("file.txt"), "rb") as f:
            self.assertEqual(h.call(f.read), CONTENT)
        self.assertEqual(self.svc.listdir(), ["file.txt"])
        # and writing through it
        def write():
            with open(self.svc.path("new.txt"), "wb") as f:
                f.write(b"back\n")
        h.call(write)
        with open(prov.path("new.txt"), "rb") as f:
            self.assertEqual(f.read(), b"back\n")

    def test_trusted_ca_ip_address(self):
        prov = self.provider(self.wss("127.0.0.1"), "--ca-path", self.pem("ca.pem"))
        with open(self.svc.path("file.txt"), "rb") as f:
            self.assertEqual(h.call(f.read), CONTENT)
        self.assertTrue(prov.alive())

    def test_unrelated_ca(self):
        # without -v: the message a user sees by default
        prov = self.provider(self.wss(), "-a", self.pem("other-ca.pem"), "--no-reconnect",
                             wait=False, verbose=False)
        self.assert_certificate_error(prov, "issuer certificate")

    def test_system_store(self):
        # the test CA is not in the system's trust store
        prov = self.provider(self.wss(), "--no-reconnect", wait=False)
        self.assert_certificate_error(prov, "issuer certificate")

    def test_name_not_in_certificate(self):
        # 127.0.0.2 reaches the same service (it listens on all addresses)
        # but is not among the certificate's names
        prov = self.provider(self.wss("127.0.0.2"), "-a", self.pem("ca.pem"), "--no-reconnect",
                             wait=False)
        self.assert_certificate_error(prov, "mismatch")

    def test_unrelated_ca_is_permanent(self):
        """An untrusted certificate cannot change by trying again: the
        provider gives up (status 1) without --keep-trying."""
        prov = self.provider(self.wss(), "-a", self.pem("other-ca.pem"), wait=False)
        self.assert_certificate_error(prov, "issuer certificate")
        self.assertEqual(prov.returncode, 1)

    def test_unrelated_ca_keep_trying_without_access(self):
        prov = self.provider(self.wss(), "-a", self.pem("other-ca.pem"), "--keep-trying", wait=False)
        h.wait_until(lambda: len(re.findall("certificate was not accepted", prov.log_text())) >= 2, 15.0,
                     "repeated certificate errors", interval=0.2, logs=prov.logs)
        self.assertTrue(prov.alive(), prov.logs())
        self.assertEqual(self.svc.listdir(), [])
        prov.stop()
        self.assertEqual(REQUEST_LINE.findall(prov.log_text()), [])

    def test_plain_ws_to_tls_port(self):
        prov = self.provider("ws://127.0.0.1:%d/" % self.svc.port, "--no-reconnect", wait=False)
        self.assert_no_access(prov)

    def test_plain_handshake_to_tls_port(self):
        status, _ = ws_handshake(self.svc.port)
        self.assertNotEqual(status, 101)
        self.assertEqual(self.svc.listdir(), [])
        self.assertTrue(self.svc.alive())

    def test_no_http2(self):
        # A WebSocket over HTTP/2 (RFC 8441) would skip the handshake checks
        # (origin, busy, token) that run on the HTTP/1.1 upgrade: the service
        # must not agree to h2, even when a client offers nothing else first.
        ctx = ssl.create_default_context(cafile=self.pem("ca.pem"))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", self.svc.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertNotEqual(tls.selected_alpn_protocol(), "h2")


if __name__ == "__main__":
    h.main()
