#!/usr/bin/env python3
"""webfuse's command line as a user meets it (issue 16): every documented
mistake exits with status 1 and a message that names it; both option forms
(--wf-NAME VALUE, --wf-NAME=VALUE) work; the mount point is checked (not a
directory, already mounted: refused; not empty: a warning); a port in use is
"address already in use"; an unusable /dev/fuse gets a hint; the fstab form
(-o port=N,... and "SOURCE MOUNTPOINT") works.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402


def run(*args, timeout=10):
    """Runs webfuse -f ARGS that must fail before mounting: (status, stderr)."""
    r = subprocess.run([h.SERVICE_BIN, "-f"] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


class Mistakes(unittest.TestCase):
    def setUp(self):
        h.require_binaries()
        self.tmp = tempfile.mkdtemp(prefix="wf-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)

    def file(self, name, text="x", mode=0o644):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def refused(self, words, *args):
        rc, text = run(*args)
        self.assertEqual(rc, 1, "%s\n%s" % (args, text))
        for w in words if isinstance(words, (list, tuple)) else [words]:
            self.assertIn(w, text, args)
        self.assertFalse(h.is_mounted(self.mnt), "mounted although refused")
        return text

    def test_port_out_of_range(self):
        for bad in ("70000", "-1", "abc", "8081x"):
            self.refused(["--wf-port", "not a port number"], "--wf-port", bad, self.mnt)
            self.refused(["--wf-port", "not a port number"], "--wf-port=" + bad, self.mnt)

    def test_timeouts(self):
        self.refused(["--wf-timeout", "'0'"], "--wf-timeout", "0", self.mnt)
        self.refused(["--wf-timeout", "'-5'"], "--wf-timeout=-5", self.mnt)
        self.refused(["--wf-resume-timeout", "'x'"], "--wf-resume-timeout", "x", self.mnt)
        self.refused(["attr_timeout", "'-1'"], "-o", "attr_timeout=-1", self.mnt)

    def test_missing_value(self):
        self.refused(["--wf-port needs a value"], self.mnt, "--wf-port")

    def test_unknown_option(self):
        self.refused(["unknown option --wf-prot"], "--wf-prot", "8081", self.mnt)

    def test_flag_with_value(self):
        self.refused(["--wf-syslog takes no value"], "--wf-syslog=yes", self.mnt)

    def test_cert_without_key_and_key_without_cert(self):
        pem = self.file("cert.pem")
        self.refused(["--wf-cert needs --wf-key"], "--wf-cert", pem, self.mnt)
        self.refused(["--wf-key needs --wf-cert"], "--wf-key=" + pem, self.mnt)

    def test_unreadable_cert(self):
        self.refused(["--wf-cert", "No such file"], "--wf-cert", "/nonexistent.pem", "--wf-key",
                     "/nonexistent.pem", self.mnt)

    def test_docroot(self):
        self.refused(["--wf-docroot", "No such file"], "--wf-docroot", "/nonexistent/web", self.mnt)
        self.refused(["--wf-docroot", "not a directory"], "--wf-docroot", self.file("f"), self.mnt)

    def test_authenticator(self):
        self.refused(["--wf-authenticator", "No such file"], "--wf-authenticator", "/nonexistent/auth",
                     self.mnt)
        self.refused(["not an executable"], "--wf-authenticator", self.file("auth.sh", mode=0o644), self.mnt)

    def test_auth_header_without_authenticator(self):
        self.refused(["--wf-auth-header needs --wf-authenticator"], "--wf-auth-header", "X-Auth-Token",
                     self.mnt)

    def test_origin(self):
        self.refused(["--wf-allow-origin", "not an origin"], "--wf-allow-origin", "pc.lan", self.mnt)

    def test_owner_options(self):
        self.refused(["uid", "not a numeric user id"], "-o", "uid=alice", self.mnt)
        self.refused(["gid", "not a numeric group id"], "-o", "gid=-3", self.mnt)
        self.refused(["umask", "octal"], "-o", "umask=0999", self.mnt)
        self.refused(["idmap", "user or none"], "-o", "idmap=file", self.mnt)

    def test_mountpoint_is_a_file(self):
        self.refused(["not a directory"], self.file("plain"))

    def test_mountpoint_missing(self):
        rc, text = run(os.path.join(self.tmp, "nothere"))
        self.assertEqual(rc, 1, text)

    def test_no_mountpoint(self):
        self.refused(["no mount point"], "--wf-port", "8081")

    def test_too_many_arguments(self):
        self.refused(["too many arguments"], "a", "b", self.mnt)

    def test_port_in_use(self):
        with socket.socket(socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET) as s:
            s.bind(("", 0))
            s.listen(1)
            port = s.getsockname()[1]
            self.refused(["address already in use", str(port)], "--wf-port", str(port), self.mnt)

    def test_live_mount_refused(self):
        with h.Service() as svc:
            rc, text = run("--wf-port", str(h.free_port()), svc.mountpoint)
            self.assertEqual(rc, 1, text)
            self.assertIn("already a mount point", text)
            self.assertTrue(svc.alive())
            self.assertEqual(svc.listdir(), [])

    def test_no_dev_fuse_hint(self):
        if shutil.which("unshare") is None:
            self.skipTest("unshare is missing")
        # a private mount namespace whose /dev has no fuse device
        script = 'mount -t tmpfs none /dev && exec "$0" -f --wf-port "$1" "$2"'
        r = subprocess.run(["unshare", "-m", "sh", "-c", script, h.SERVICE_BIN, str(h.free_port()), self.mnt],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        text = r.stdout.decode()
        if "unshare failed" in text or "Operation not permitted" in text:
            self.skipTest("no mount namespaces here: " + text)
        self.assertEqual(r.returncode, 1, text)
        self.assertIn("/dev/fuse", text)
        self.assertIn("hint:", text)


    def test_dev_fuse_not_usable_by_the_user(self):
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            self.skipTest("needs root and setpriv to run as another user")
        if os.stat("/dev/fuse").st_mode & 0o006 == 0o006:
            self.skipTest("/dev/fuse is usable by everyone here")
        os.chmod(self.tmp, 0o755)
        os.chown(self.mnt, 65534, 65534)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", h.SERVICE_BIN, "-f",
                            "--wf-port", "0", self.mnt], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        text = r.stdout.decode()
        self.assertEqual(r.returncode, 1, text)
        self.assertIn("cannot open /dev/fuse: Permission denied", text)
        self.assertIn("hint:", text)
        self.assertIn("fusermount3", text)
        self.assertFalse(h.is_mounted(self.mnt))


class Accepted(unittest.TestCase):
    """The forms users are promised work, and lead to a working mount."""

    def setUp(self):
        h.require_binaries()

    def attach(self, svc):
        prov = h.Provider(svc, verbose=False)
        self.addCleanup(prov.cleanup)
        with open(prov.path("hello.txt"), "w") as f:
            f.write("hello\n")
        prov.start()
        self.assertEqual(svc.listdir(), ["hello.txt"])

    def test_equals_form(self):
        svc = h.Service()
        # the harness passes --wf-port P --wf-timeout T; add the = forms on top (the last wins)
        svc.extra_args = ["--wf-port=%d" % svc.port, "--wf-timeout=5", "--wf-resume-timeout=0"]
        with svc:
            self.attach(svc)

    def test_mount_style_options(self):
        """webfuse SOURCE MOUNTPOINT -o port=N,timeout=T: as mount.fuse3 calls it."""
        svc = h.Service()
        svc.extra_args = ["-o", "port=%d,timeout=4,resume_timeout=0,rw,noauto,x-systemd.automount" % svc.port,
                          "none"]
        with svc:
            self.attach(svc)

    def test_non_empty_mountpoint_warns(self):
        svc = h.Service()
        with open(os.path.join(svc.mountpoint, "hidden.txt"), "w") as f:
            f.write("x")
        with svc:
            self.assertIn("is not empty", svc.log_text())
            self.attach(svc)

    def test_version(self):
        for flag in ("--wf-version", "-V", "--version"):
            r = subprocess.run([h.SERVICE_BIN, flag], stdout=subprocess.PIPE, timeout=10)
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"webfuse ", r.stdout)


if __name__ == "__main__":
    h.main()
