#!/usr/bin/env python3
"""The service's listening socket (lib/service/listener.c).

- `--wf-bind ADDRESS` listens on exactly that address: with 127.0.0.1 a
  connection to 127.0.0.2 (another address of this machine) is refused; an
  IPv6 address or an interface name likewise.
- Without IPv6 in the kernel (tests/tools/wf_no_ipv6 makes socket(AF_INET6)
  fail) the service listens on IPv4 and says so.
- A port in use, or an address that is not this machine's: the service exits
  non-zero and says why in words.
- The port accepts connections before the mount appears, so a provider
  started when the mount shows up gets in at its first try.
- Out of file descriptors (the service's limit lowered to 128 while 200
  connections are held) it does not spin, and the provider still gets in.
"""

import os
import resource
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOOLS_DIR = os.environ.get("WF_TOOLS_DIR", os.path.join(h.BUILD_DIR, "tests"))
NO_IPV6 = os.path.join(TOOLS_DIR, "wf_no_ipv6")


def no_time_wait(s):
    """Closes with a reset, leaving no TIME_WAIT socket on a port bound to
    127.0.0.x (it would keep later listeners off that port for a minute)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def connects(address, port, family=socket.AF_INET, src=None):
    with socket.socket(family) as s:
        s.settimeout(2.0)
        no_time_wait(s)
        if src:
            s.bind((src, 0))
        try:
            s.connect((address, port))
            return True
        except ConnectionRefusedError:
            return False


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Unwrapped(h.Service):
    """A service whose start is not waited for (it is expected to fail)."""

    def start_and_exit(self):
        argv = [h.SERVICE_BIN, "-f", "--wf-port", str(self.port)] + self.extra_args + [self.mountpoint]
        self._spawn(argv)
        return self.wait_exit(10)


class NoIpv6Service(h.Service):
    def _spawn(self, argv):
        return super()._spawn([NO_IPV6] + argv)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ListenerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()

    def service(self, *args, cls=h.Service):
        svc = cls(extra_args=list(args))
        self.addCleanup(svc.cleanup)
        svc.start()
        return svc

    def test_bind_ipv4_address_only(self):
        svc = self.service("--wf-bind", "127.0.0.1")
        self.assertTrue(connects("127.0.0.1", svc.port))
        self.assertFalse(connects("127.0.0.2", svc.port), "listening on 127.0.0.2 too")
        if have_ipv6():
            self.assertFalse(connects("::1", svc.port, socket.AF_INET6), "listening on [::1] too")
        self.assertIn("listening on 127.0.0.1 port %d" % svc.port, svc.log_text())

    def test_bind_ipv6_address_only(self):
        if not have_ipv6():
            self.skipTest("no IPv6 here")
        svc = h.Service(extra_args=["--wf-bind", "::1"])
        self.addCleanup(svc.cleanup)
        svc._port_open = lambda: connects("::1", svc.port, socket.AF_INET6)
        svc.start()
        self.assertFalse(connects("127.0.0.1", svc.port), "listening on 127.0.0.1 too")

    def test_bind_interface(self):
        svc = self.service("--wf-bind", "lo")
        self.assertTrue(connects("127.0.0.1", svc.port))
        self.assertIn("listening on 127.0.0.1", svc.log_text())

    def test_default_listens_everywhere(self):
        svc = self.service()
        self.assertTrue(connects("127.0.0.1", svc.port))
        self.assertTrue(connects("127.0.0.2", svc.port))
        if have_ipv6():
            self.assertTrue(connects("::1", svc.port, socket.AF_INET6))

    def test_without_ipv6_listens_on_ipv4(self):
        if not os.access(NO_IPV6, os.X_OK):
            self.skipTest("not built: " + NO_IPV6)
        svc = self.service(cls=NoIpv6Service)
        self.assertTrue(connects("127.0.0.1", svc.port))
        self.assertIn("IPv4 only", svc.log_text())
        prov = h.Provider(svc)
        self.addCleanup(prov.cleanup)
        with open(prov.path("a"), "w") as f:
            f.write("a")
        prov.start()

    def test_port_in_use_said_in_words(self):
        with socket.socket(socket.AF_INET) as busy:
            busy.bind(("0.0.0.0", 0))
            busy.listen(1)
            svc = Unwrapped(port=busy.getsockname()[1])
            self.addCleanup(svc.cleanup)
            self.assertNotEqual(svc.start_and_exit(), 0)
        self.assertIn("address already in use", svc.log_text())
        self.assertFalse(h.is_mounted(svc.mountpoint), "mounted although it cannot listen")

    def test_foreign_address_said_in_words(self):
        svc = Unwrapped(extra_args=["--wf-bind", "192.0.2.1"])
        self.addCleanup(svc.cleanup)
        self.assertNotEqual(svc.start_and_exit(), 0)
        # said by the command line's check (src/service_checks.c) or by the listener
        self.assertRegex(svc.log_text(), "no such address on this machine|not an address of this machine")

    def test_listening_before_mounted(self):
        svc = h.Service()
        self.addCleanup(svc.cleanup)
        argv = [h.SERVICE_BIN, "-f", "--wf-port", str(svc.port), svc.mountpoint]
        svc._spawn(argv)
        h.wait_until(lambda: h.is_mounted(svc.mountpoint) or not svc.alive(), 10,
                     "the mount", interval=0.001, logs=svc.log_tail)
        self.assertTrue(connects("127.0.0.1", svc.port), "mounted, but the port is closed")
        prov = h.Provider(svc, extra_args=["--no-reconnect"])
        self.addCleanup(prov.cleanup)
        with open(prov.path("a"), "w") as f:
            f.write("a")
        prov.start()

    def test_out_of_descriptors(self):
        # 128: the cap on waiting connections keeps room; 40: accept() itself fails (EMFILE)
        for limit in (128, 40):
            with self.subTest(limit=limit):
                self.out_of_descriptors(limit)

    def test_no_descriptor_left(self):
        """Not a single descriptor to spare: accepting pauses (no spinning),
        and resumes once descriptors are back."""
        svc = self.service()
        # its descriptors at rest: one it holds a moment after start (the
        # read-ahead setting, a mount table read) would leave a free slot
        used = []
        for _ in range(6):
            used.append(len(os.listdir("/proc/%d/fd" % svc.pid)))
            time.sleep(0.1)
        used = min(used)
        _, hard = resource.prlimit(svc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(svc.pid, resource.RLIMIT_NOFILE, (used, hard))
        held = []
        try:
            for i in range(50):
                s = socket.socket()
                no_time_wait(s)
                s.bind(("127.0.0.%d" % (2 + i), 0))
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", svc.port))
                held.append(s)
            time.sleep(0.5)
            c0, t0 = cpu_seconds(svc.pid), time.monotonic()
            time.sleep(2.0)
            load = (cpu_seconds(svc.pid) - c0) / (time.monotonic() - t0)
            h.log("no descriptor left: service CPU %.0f %%" % (100 * load))
            self.assertLess(load, 0.5, "the service spins with no descriptor left")
            self.assertIn("not accepting for", svc.log_text())
            resource.prlimit(svc.pid, resource.RLIMIT_NOFILE, (hard, hard))
            prov = h.Provider(svc)
            with open(prov.path("a"), "w") as f:
                f.write("a")
            with prov:
                self.assertEqual(svc.listdir(), ["a"])
        finally:
            for s in held:
                s.close()

    def out_of_descriptors(self, limit):
        svc = self.service()
        resource.prlimit(svc.pid, resource.RLIMIT_NOFILE, (limit, limit))
        held = []
        try:
            for i in range(200):
                s = socket.socket()
                no_time_wait(s)
                s.bind(("127.0.0.%d" % (2 + i % 50), 0))
                s.settimeout(2)
                try:
                    s.connect(("127.0.0.1", svc.port))
                except OSError:
                    s.close()
                    continue
                held.append(s)
            time.sleep(0.5)
            c0, t0 = cpu_seconds(svc.pid), time.monotonic()
            time.sleep(2.0)
            load = (cpu_seconds(svc.pid) - c0) / (time.monotonic() - t0)
            h.log("out of descriptors (limit %d): %d connections held, service CPU %.0f %%"
                  % (limit, len(held), 100 * load))
            self.assertLess(load, 0.5, "the service spins while out of descriptors")
            prov = h.Provider(svc)
            with open(prov.path("a"), "w") as f:
                f.write("a")
            t0 = time.monotonic()
            with prov:
                h.log("out of descriptors: provider attached after %.2f s" % (time.monotonic() - t0))
                self.assertEqual(svc.listdir(), ["a"])
        finally:
            for s in held:
                s.close()
            svc.cleanup()


if __name__ == "__main__":
    h.main()
