#!/usr/bin/env python3
"""The laptop changes networks in the middle of an update.

A provider runs in a network namespace the test creates, linked to the
device (this host) by a veth pair, and the device reads a file through it.
Then the namespace's address changes, as a laptop gets a new address on a
new network: the old TCP connection is black-holed both ways and neither end
hears of it. The provider started again from the new address knocks; the
service pings the old connection, hears nothing, drops it (holding the
reader's requests) and lets the newcomer in, and the reader reads on, whole.
Without the ping the newcomer would be refused (409) until the silence
(40 s) or the request timeouts gave the old connection up.

The same with the web page in headless Chromium as the provider (skipped
without node and Chromium): a page cannot see WebSocket pings, so it learns
of the dark connection from the silence of a service that sends heartbeats
(`webfuse2-heartbeat`, SILENCE_MS in web/webfuse/provider.js) and connects
again by itself; the reader reads on, whole.

Skipped without root or the `ip` tool.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

SILENCE_S = 20             # SILENCE_MS in web/webfuse/provider.js
KNOCK_PROBE_S = 5          # WF_KNOCK_PROBE_SECS in lib/service/service.c
BACKOFF_CAP_S = 5.0        # WF_BACKOFF_MAX_MS in lib/provider/provider.c
SLACK = 3.0


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=10, check=check)


class NetworkChange(unittest.TestCase):
    def setUp(self):
        h.require_binaries()
        if os.geteuid() != 0 or shutil.which("ip") is None:
            self.skipTest("needs root and `ip` for a network namespace")
        tag = os.getpid() % 100000
        self.ns = "wfnc%d" % tag
        self.veth = ("wfnc%dh" % tag, "wfnc%dn" % tag)  # device side, laptop side
        net = "10.215.%d" % (os.getpid() % 250 + 1)
        self.device, self.old_addr, self.new_addr = net + ".1", net + ".2", net + ".3"
        r = ip("netns", "add", self.ns, check=False)
        if r.returncode != 0:
            self.skipTest("no network namespaces here: %s" % r.stdout.decode(errors="replace").strip())
        self.addCleanup(ip, "netns", "del", self.ns, check=False)
        ip("link", "add", self.veth[0], "type", "veth", "peer", "name", self.veth[1], "netns", self.ns)
        self.addCleanup(ip, "link", "del", self.veth[0], check=False)
        ip("addr", "add", self.device + "/24", "dev", self.veth[0])
        ip("link", "set", self.veth[0], "up")
        ip("-n", self.ns, "addr", "add", self.old_addr + "/24", "dev", self.veth[1])
        ip("-n", self.ns, "link", "set", self.veth[1], "up")

    def change_network(self):
        """The laptop's new address; the old one goes, with its connection."""
        ip("-n", self.ns, "addr", "del", self.old_addr + "/24", "dev", self.veth[1])
        ip("-n", self.ns, "addr", "add", self.new_addr + "/24", "dev", self.veth[1])

    def laptop_provider(self, svc, directory):
        prov = h.Provider(svc, url="ws://%s:%d/" % (self.device, svc.port), directory=directory,
                          prefix=["ip", "netns", "exec", self.ns])
        self.addCleanup(prov.cleanup)
        return prov

    def test_update_survives_a_network_change(self):
        data = os.urandom(16 << 20)
        with h.Service(resume_timeout=30) as svc, h.TempDir() as d:
            with open(os.path.join(d, "update.img"), "wb") as f:
                f.write(data)
            old = self.laptop_provider(svc, d)
            old.start(wait=20)  # the link may take a moment to come up
            fd = h.call(os.open, svc.path("update.img"), os.O_RDONLY, timeout=10)
            self.addCleanup(os.close, fd)
            head = h.call(os.read, fd, 1 << 20, timeout=10)

            self.change_network()
            t0 = time.monotonic()
            new = self.laptop_provider(svc, d)
            new.start(wait_for_content=False)
            h.wait_until(lambda: "connected to" in new.log_text(),
                         KNOCK_PROBE_S + BACKOFF_CAP_S + SLACK, "the provider on the new network to get in",
                         interval=0.1, logs=new.logs)
            h.log("network change: the new connection got in after %.2fs" % (time.monotonic() - t0))
            self.assertIn("%s did not answer a ping" % self.old_addr, svc.log_text())
            self.assertIn("provider connected from %s" % self.new_addr, svc.log_text().replace("::ffff:", ""))
            rest = h.read_to_end(fd, timeout=30, what="the rest of the update")
            self.assertEqual(hashlib.sha256(head + rest).digest(), hashlib.sha256(data).digest())
            old.send_signal(signal.SIGTERM)

    def test_page_reconnects_after_a_network_change(self):
        if os.environ.get("WF_SILENCE_TESTS", "1") == "0":
            self.skipTest("WF_SILENCE_TESTS=0: the 20 s of silence runs in the main stage only")
        node, chromium = shutil.which("node"), os.environ.get("WF_CHROMIUM", "/usr/bin/chromium")
        if node is None or not os.access(chromium, os.X_OK):
            self.skipTest("needs node and %s (scripts/deps.sh)" % chromium)
        ip("-n", self.ns, "link", "set", "lo", "up")  # Chromium's DevTools pipe needs none, its helpers may
        share = os.path.join(h.SOURCE_DIR, "tests", "browser", "share.mjs")
        data = os.urandom(64 << 20)
        with h.TempDir() as d, h.Service(resume_timeout=60, timeout=10,
                                         extra_args=["--wf-docroot", os.path.join(h.SOURCE_DIR, "web")]) as svc:
            path = os.path.join(d, "update.img")
            with open(path, "wb") as f:
                f.write(data)
            log = open(os.path.join(d, "page.log"), "w")
            page = subprocess.Popen(["ip", "netns", "exec", self.ns, node, share,
                                     "http://%s:%d/" % (self.device, svc.port), path],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

            def stop_page():
                if page.poll() is None:
                    page.send_signal(signal.SIGTERM)
                    try:
                        page.wait(15)
                    except subprocess.TimeoutExpired:
                        page.kill()
                        page.wait(5)
                log.close()
            self.addCleanup(stop_page)
            h.wait_until(lambda: os.path.exists(svc.path("update.img")), 60, "the page to share the file",
                         logs=lambda: svc.log_tail() + open(log.name).read()[-2000:])
            fd = h.call(os.open, svc.path("update.img"), os.O_RDONLY, timeout=10)
            self.addCleanup(os.close, fd)
            head = h.call(os.read, fd, 4 << 20, timeout=10)
            self.change_network()
            t0 = time.monotonic()
            rest = h.read_to_end(fd, timeout=SILENCE_S + KNOCK_PROBE_S + 20,
                                 what="the rest of the update through the page")
            h.log("network change: the page's update read on after %.1fs" % (time.monotonic() - t0))
            self.assertEqual(hashlib.sha256(head + rest).digest(), hashlib.sha256(data).digest())
            text = svc.log_text().replace("::ffff:", "")
            self.assertIn("provider connected from %s" % self.new_addr, text)
            self.assertIn("session resumed", text)


if __name__ == "__main__":
    h.main()
