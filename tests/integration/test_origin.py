#!/usr/bin/env python3
"""Browser origin policy of the service's WebSocket endpoint.

A web page in a browser can open a WebSocket to any address, including the
service on the device, and the browser then sends the page's Origin header.
The service admits a handshake with an Origin only when the origin is the
service's own (scheme + Host header) or one given with --wf-allow-origin;
handshakes without an Origin (command-line providers) are admitted.

The handshakes are written by hand (tests/integration/test_auth.py:
ws_handshake) so the test controls every header; each admitted connection is
closed right away.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402
from test_auth import ws_handshake  # noqa: E402


class OriginTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()

    def service(self, *extra):
        svc = h.Service(extra_args=list(extra))
        svc.start()
        self.addCleanup(svc.cleanup)
        self.admitted = 0
        return svc

    def handshake(self, svc, origin=None, host=None):
        headers = [("Origin", origin)] if origin is not None else []
        status, _ = ws_handshake(svc.port, headers, host=host)
        return status

    def assert_admitted(self, svc, origin=None, host=None):
        status = self.handshake(svc, origin, host)
        self.assertEqual(status, 101, "origin %r (Host %r) was refused\n%s"
                         % (origin, host, svc.log_tail()))
        # closed at once; wait until the service no longer counts it as the
        # attached provider, or the next handshake would be a second provider
        self.admitted += 1
        h.wait_until(lambda: svc.log_text().count("provider disconnected") >= self.admitted,
                     h.DEFAULT_WAIT, "the service to notice the closed connection",
                     logs=svc.log_tail)

    def assert_refused(self, svc, origin, host=None):
        before = svc.log_text().count("refusing provider from origin")
        status = self.handshake(svc, origin, host)
        self.assertNotEqual(status, 101, "origin %r (Host %r) was admitted" % (origin, host))
        h.wait_until(lambda: svc.log_text().count("refusing provider from origin") > before,
                     h.DEFAULT_WAIT, "the service to log the refused origin", logs=svc.log_tail)

    def test_foreign_origin_refused(self):
        svc = self.service()
        own_host = "localhost:%d" % svc.port
        self.assert_refused(svc, "http://evil.example", own_host)
        self.assert_refused(svc, "http://evil.example")
        self.assert_refused(svc, "null", own_host)
        # same host, other scheme or port: a different origin
        self.assert_refused(svc, "https://localhost:%d" % svc.port, own_host)
        self.assert_refused(svc, "http://localhost:%d" % (svc.port + 1), own_host)
        self.assert_refused(svc, "http://localhost", own_host)
        # an Origin that merely starts with the own one
        self.assert_refused(svc, "http://localhost:%d.evil.example" % svc.port, own_host)
        self.assertEqual(svc.listdir(), [])
        self.assertTrue(svc.alive())

    def test_own_origin_admitted(self):
        svc = self.service()
        self.assert_admitted(svc, "http://localhost:%d" % svc.port, "localhost:%d" % svc.port)
        self.assert_admitted(svc, "http://127.0.0.1:%d" % svc.port, "127.0.0.1:%d" % svc.port)
        # scheme and host compare without regard to case, like browsers do
        self.assert_admitted(svc, "HTTP://LOCALHOST:%d" % svc.port, "localhost:%d" % svc.port)

    def test_dns_rebinding_refused(self):
        # a page on evil.example whose name now resolves to the device: Origin
        # and Host agree, but the Host does not name this service
        svc = self.service()
        rebound = "evil.example:%d" % svc.port
        self.assert_refused(svc, "http://" + rebound, rebound)
        # the configured vhost name is this service's own
        svc2 = self.service("--wf-vhost", "device.lan")
        self.assert_admitted(svc2, "http://device.lan:%d" % svc2.port, "device.lan:%d" % svc2.port)

    def test_no_origin_admitted(self):
        svc = self.service()
        self.assert_admitted(svc, None)
        self.assert_admitted(svc, None, "some.other.name:1")

    def test_allowed_origin(self):
        svc = self.service("--wf-allow-origin", "http://trusted.example",
                           "--wf-allow-origin", "https://also.trusted.example:8443")
        own_host = "localhost:%d" % svc.port
        self.assert_admitted(svc, "http://trusted.example", own_host)
        self.assert_admitted(svc, "https://also.trusted.example:8443", own_host)
        self.assert_admitted(svc, "http://localhost:%d" % svc.port, own_host)
        self.assert_refused(svc, "http://evil.example", own_host)
        self.assert_refused(svc, "https://trusted.example", own_host)
        self.assert_refused(svc, "http://trusted.example.evil.example", own_host)

    def test_allowed_origin_equals_form(self):
        svc = self.service("--wf-allow-origin=http://trusted.example")
        self.assert_admitted(svc, "http://trusted.example", "localhost:%d" % svc.port)
        self.assert_refused(svc, "http://evil.example", "localhost:%d" % svc.port)


if __name__ == "__main__":
    h.main()
