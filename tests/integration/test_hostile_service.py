"""A malicious service against the real webfuse_provider.

tests/tools/wf_hostile_service.c plays the service: it sends requests that try
to escape the provided directory (".." and absolute paths, symlinks pointing
outside, rename/link out of the tree, creation through such links), unknown
types, more opens than the handle table holds and malformed messages, and
prints every answer as a JSON line. This test builds the provided directory
with the malicious symlinks next to an "outside" directory holding a secret,
and asserts that every escape failed, that nothing outside was read, listed,
created or changed, and that the provider survived (or exited cleanly).
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

TOOLS_DIR = os.environ.get("WF_TOOLS_DIR", os.path.join(h.BUILD_DIR, "tests"))
HOSTILE_BIN = os.path.join(TOOLS_DIR, "wf_hostile_service")

SECRET = b"WF-SECRET-7c1d0e: must never leave the outside directory\n"
CANARY = b"canary 93b2\n"
INSIDE = b"inside content\n"
OUTSIDE_NAMES = {"secret.txt", "canary.txt", "subdir", "outside", "deep_canary.txt"}
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

ENOENT, EMFILE, ENFILE, EROFS = 2, 24, 23, 30


def inventory(top):
    """Everything about `top` an escape could change or read: per entry the
    type, mode, size, times (atime too: files and directories get an old
    atime first, so a read or listing would move it), content hash or link
    target. Never follows symlinks."""
    inv = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in [""] + dirnames + filenames:
            p = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(p)
            rec = {"mode": st.st_mode, "size": st.st_size, "mtime": st.st_mtime_ns,
                   "ctime": st.st_ctime_ns, "atime": st.st_atime_ns, "ino": st.st_ino,
                   "nlink": st.st_nlink}
            if os.path.islink(p):
                rec["target"] = os.readlink(p)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    rec["sha256"] = hashlib.sha256(f.read()).hexdigest()
                # reading for the hash moved atime: put it back to the old value
                os.utime(p, ns=(OLD_ATIME, st.st_mtime_ns), follow_symlinks=False)
                rec["atime"] = OLD_ATIME
                rec["ctime"] = None  # utime changes ctime; content and mtime still count
            inv[os.path.relpath(p, top)] = rec
    return inv


OLD_ATIME = (int(time.time()) - 3 * 86400) * 10**9


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def make_world(base):
    root = os.path.join(base, "root")
    outside = os.path.join(base, "outside")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(outside, "subdir"))
    with open(os.path.join(root, "inside.txt"), "wb") as f:
        f.write(INSIDE)
    with open(os.path.join(outside, "secret.txt"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(outside, "canary.txt"), "wb") as f:
        f.write(CANARY)
    with open(os.path.join(outside, "subdir", "deep_canary.txt"), "wb") as f:
        f.write(CANARY)
    os.symlink("inside.txt", os.path.join(root, "inlink"))
    os.symlink("loop", os.path.join(root, "loop"))
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "abs_file"))
    os.symlink("../outside/secret.txt", os.path.join(root, "rel_file"))
    os.symlink(outside, os.path.join(root, "abs_dir"))
    os.symlink("../outside", os.path.join(root, "rel_dir"))
    os.symlink("../../outside", os.path.join(root, "sub", "deep"))
    # old atimes on everything outside (and its parent), so reads would show
    for dirpath, dirnames, filenames in os.walk(outside):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            os.utime(p, ns=(OLD_ATIME, os.lstat(p).st_mtime_ns))
    os.utime(outside, ns=(OLD_ATIME, os.lstat(outside).st_mtime_ns))
    return root, outside


class HostileServiceTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binaries()
        if not os.access(HOSTILE_BIN, os.X_OK):
            raise unittest.SkipTest("not built: " + HOSTILE_BIN)

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="wf-hostile-")
        os.chmod(self.base, 0o755)
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.base], timeout=60))
        self.root, self.outside = make_world(self.base)

    def run_script(self, script, provider_args=(), max_seconds=90):
        port = h.free_port()
        out_path = os.path.join(self.base, "hostile-%s.jsonl" % script)
        with open(out_path, "wb") as out:
            svc = subprocess.Popen([HOSTILE_BIN, "--port", str(port), "--outside", self.outside,
                                    "--script", script, "--max-seconds", str(max_seconds)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def stop_service():
            if svc.poll() is None:
                svc.kill()
                svc.wait(10)
        self.addCleanup(stop_service)
        # wait for it to listen
        h.wait_until(lambda: b'"listening"' in read_bytes(out_path) or svc.poll() is not None,
                     10, "wf_hostile_service to listen")
        self.assertIsNone(svc.poll(), "wf_hostile_service exited early:\n" + read_bytes(out_path).decode())
        prov = h.Provider(url="ws://127.0.0.1:%d/" % port, directory=self.root,
                          extra_args=list(provider_args))
        self.addCleanup(prov.cleanup)
        prov.start(wait_for_content=False)
        try:
            rc = svc.wait(max_seconds + 15)
        except subprocess.TimeoutExpired:
            self.fail("wf_hostile_service did not finish\n" + prov.log_tail())
        with open(out_path) as f:
            text = f.read()
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        self.assertEqual(rc, 0, "wf_hostile_service exit %s\n%s\n%s" % (rc, text[-3000:], prov.log_tail()))
        # the provider survived every request and stops cleanly on SIGTERM
        self.assertTrue(prov.alive(), "provider died: %s\n%s" % (prov.proc.poll(), prov.log_tail(80)))
        self.assertEqual(prov.stop(signal.SIGTERM, 15), 0, prov.log_tail())
        log_text = prov.log_text()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, log_text, "sanitizer report in the provider log")
        return lines, prov

    def check_no_leak(self, rec, outside_inodes):
        """No answer carries outside content, names or inodes."""
        name = rec.get("step", "?")
        data = bytes.fromhex(rec.get("data_hex", ""))
        self.assertNotIn(b"WF-SECRET", data, "%s returned the secret" % name)
        self.assertNotIn(b"canary", data, "%s returned the canary" % name)
        leaked = OUTSIDE_NAMES.intersection(rec.get("names", []))
        self.assertFalse(leaked, "%s listed outside names %s" % (name, leaked))
        if "ino" in rec:
            self.assertNotIn(rec["ino"], outside_inodes, "%s: attributes of an outside entry" % name)

    def test_escape_attempts_fail(self):
        before = inventory(self.outside)
        outside_inodes = {r["ino"] for r in before.values()} | {os.lstat(self.base).st_ino}
        lines, _ = self.run_script("escape")
        after = inventory(self.outside)

        errors = [r for r in lines if "error" in r]
        self.assertFalse(errors, "the script reported errors: %s" % errors)
        self.assertTrue(any(r.get("event") == "done" for r in lines), "script did not finish")

        script = [r for r in lines if r.get("phase") == "script"]
        self.assertGreater(len(script), 80, "too few steps answered")
        ops = {"getattr": 0x82, "readdir": 0x93}
        for r in script:
            with self.subTest(step=r["step"]):
                if r["op"] in ops:
                    self.assertEqual(r["resp_type"], ops[r["op"]])
                self.assertNotEqual(r["resp_type"], 0x80, "%s answered as unknown" % r["step"])
                if r["expect"] == "ok":
                    self.assertGreaterEqual(r["result"], 0, "control step failed: %r" % r)
                elif r["expect"] == "fail":
                    self.assertLess(r["result"], 0, "ESCAPE SUCCEEDED: %r" % r)
                self.check_no_leak(r, outside_inodes)
        by_step = {r["step"]: r for r in script}
        # the controls really read the inside file
        self.assertEqual(bytes.fromhex(by_step["ctl_read_inside"]["data_hex"]), INSIDE)
        # an oversize read length is clamped, not obeyed
        self.assertEqual(bytes.fromhex(by_step["h_read_huge_length"]["data_hex"]), INSIDE)
        # getattr of a symlink describes the link (S_IFLNK), not its outside target
        for step in ("sym_getattr_abs_file", "sym_getattr_rel_file"):
            r = by_step[step]
            if r["result"] == 0:
                self.assertEqual(r["mode"] & 0o170000, 0o120000, step)

        # unknown types are answered with 0x80 and the same id
        unknown = {r["step"]: r for r in lines if r.get("phase") == "unknown"}
        for t in ("0x18", "0x55", "0x7f", "0x00", "0xff"):
            self.assertEqual(unknown["unknown_" + t]["resp_type"], 0x80, t)
        # a response type (0x82) sent as a request: 0x80 per the protocol; the
        # provider currently decodes it as a response and hangs up instead
        # (reported); tolerate both, but nothing else
        if "unknown_0x82" in unknown:
            self.assertEqual(unknown["unknown_0x82"]["resp_type"], 0x80)

        # more opens than the handle table holds: EMFILE-like errors, no crash;
        # after releasing, opening works again
        handles = [r for r in lines if r.get("phase") == "handles"]
        summary = next(r for r in handles if r["step"] == "open_release")
        self.assertEqual(summary["answered"], summary["opens"])
        self.assertGreater(summary["ok"], 0)
        self.assertLess(summary["ok"], summary["opens"], "no handle limit?")
        self.assertTrue(set(summary["errors"]) <= {str(-EMFILE), str(-ENFILE)}, summary)
        self.assertEqual(summary["release_answered"], summary["released"])
        reopen = next(r for r in handles if r["step"] == "reopen_after_release")
        self.assertGreaterEqual(reopen["result"], 0)

        # malformed messages: the provider hangs up (and reconnects)
        malformed = [r for r in lines if r.get("phase") == "malformed"]
        self.assertEqual(len(malformed), 6, malformed)
        for r in malformed:
            self.assertTrue(r["closed"], "provider kept a connection after %s" % r["step"])

        # nothing outside was read, listed, created or changed
        self.assertEqual(sorted(before), sorted(after), "entries appeared/disappeared outside")
        for path in before:
            self.assertEqual(before[path], after[path], "outside entry changed: %s" % path)
        with open(os.path.join(self.outside, "secret.txt"), "rb") as f:
            self.assertEqual(f.read(), SECRET)
        # and the inside file was not replaced by anything from outside
        with open(os.path.join(self.root, "inside.txt"), "rb") as f:
            self.assertEqual(f.read(), INSIDE)
        for name in ("stolen.txt", "hardlink.txt", "hardlink2.txt"):
            self.assertFalse(os.path.lexists(os.path.join(self.root, name)), name)

    def test_read_only_mutations_answer_erofs(self):
        before_root = inventory(self.root)
        lines, _ = self.run_script("readonly", provider_args=["-r"])
        errors = [r for r in lines if "error" in r]
        self.assertFalse(errors, errors)
        script = [r for r in lines if r.get("phase") == "script"]
        ro = [r for r in script if r["step"].startswith("ro_") and r["step"] != "ro_release"]
        self.assertGreater(len(ro), 15)
        for r in ro:
            with self.subTest(step=r["step"]):
                self.assertEqual(r["result"], -EROFS, r)
        for r in script:
            if r["expect"] == "ok":
                self.assertGreaterEqual(r["result"], 0, r)
        after_root = inventory(self.root)
        self.assertEqual(sorted(before_root), sorted(after_root))
        for path in before_root:
            b, a = dict(before_root[path]), dict(after_root[path])
            b.pop("atime"), a.pop("atime")  # reads are allowed inside
            self.assertEqual(b, a, path)

    def test_owner_extension_applied(self):
        """A service that sends the owner extension: the provider gives new
        entries that owner where it may (as root), keeps the mode exactly,
        and keeps set-ID bits only on entries that are the caller's."""
        lines, _ = self.run_script("owner")
        errors = [r for r in lines if "error" in r]
        self.assertFalse(errors, errors)
        script = {r["step"]: r for r in lines if r.get("phase") == "script"}
        for step in ("own_create", "own_mkdir", "own_mknod", "own_symlink", "plain_create"):
            self.assertGreaterEqual(script[step]["result"], 0, script[step])
        root = os.geteuid() == 0
        want_uid, want_gid = (1234, 5678) if root else (os.geteuid(), None)
        for name, mode in (("owned.txt", 0o104755 if root else 0o100755), ("owned_dir", 0o40750),
                           ("owned_fifo", 0o10640), ("owned_link", None)):
            st = os.lstat(os.path.join(self.root, name))
            with self.subTest(name=name):
                self.assertEqual(st.st_uid, want_uid)
                if want_gid is not None:
                    self.assertEqual(st.st_gid, want_gid)
                if mode is not None:
                    self.assertEqual(oct(st.st_mode), oct(mode))
        # no owner sent: the provider's entry, exact mode without set-ID bits
        st = os.lstat(os.path.join(self.root, "plain.txt"))
        self.assertEqual((st.st_uid, oct(st.st_mode)), (os.geteuid(), oct(0o100777)))


if __name__ == "__main__":
    h.main()
