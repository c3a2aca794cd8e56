#!/usr/bin/env python3
"""`mount -t fuse.webfuse none MNT -o port=N,...` and an fstab line work
(issue 16): mount(8) runs mount.fuse3, which runs `webfuse none MNT -o ...`
found in mount's PATH (/usr/local/bin, /usr/bin, ...); webfuse takes its
options from the -o list, mounts, daemonizes, and ends when unmounted.

The test runs in a private mount namespace (unshare -m) where the build
directory is bind-mounted over /usr/local/bin, so mount finds this build's
webfuse without installing anything; the checks run inside that namespace,
the provider outside (it connects over TCP). umount ends the service.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

SCRIPT = r'''
set -u
bindir="$1"; mnt="$2"; port="$3"; fstab="$4"; how="$5"
trap 'umount -l "$mnt" 2>/dev/null' EXIT
mount --bind "$bindir" /usr/local/bin || { echo "SKIP: cannot bind-mount"; exit 0; }
if [ "$how" = fstab ]; then
    printf 'none %s fuse.webfuse port=%s,timeout=5,noauto,x-systemd.automount 0 0\n' "$mnt" "$port" > "$fstab"
    mount -T "$fstab" "$mnt"
else
    mount -t fuse.webfuse none "$mnt" -o "port=$port,timeout=5"
fi
echo "mount-status=$?"
grep -q " $mnt " /proc/self/mountinfo && echo "mounted=yes"
i=0
while [ $i -lt 100 ] && [ ! -e "$mnt/hello.txt" ]; do sleep 0.1; i=$((i+1)); done
echo "content=$(cat "$mnt/hello.txt" 2>&1)"
umount "$mnt"
echo "umount-status=$?"
i=0
while [ $i -lt 50 ] && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do sleep 0.1; i=$((i+1)); done
(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && echo "service=still-listening" || echo "service=gone"
'''


class MountHelper(unittest.TestCase):
    def setUp(self):
        h.require_binaries()
        for tool in ("unshare", "mount", "bash"):
            if shutil.which(tool) is None:
                self.skipTest(tool + " is missing")
        if not (os.path.exists("/sbin/mount.fuse3") or os.path.exists("/usr/sbin/mount.fuse3")):
            self.skipTest("mount.fuse3 is missing")
        if os.geteuid() != 0:
            self.skipTest("mount -t needs root")
        self.tmp = tempfile.mkdtemp(prefix="wf-mount-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)

    def run_mount(self, how):
        port = h.free_port()
        prov = h.Provider(url="ws://127.0.0.1:%d/" % port, verbose=False)
        self.addCleanup(prov.cleanup)
        with open(prov.path("hello.txt"), "w") as f:
            f.write("hello via mount -t")
        prov.start(wait_for_content=False)
        script = os.path.join(self.tmp, "mount.sh")
        with open(script, "w") as f:
            f.write(SCRIPT)
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", script, os.path.abspath(h.BUILD_DIR), self.mnt,
                            str(port), os.path.join(self.tmp, "fstab"), how],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        h.log("mount script (%s):\n%s" % (how, out))
        if "SKIP:" in out or "unshare failed" in out:
            self.skipTest(out)
        self.assertIn("mount-status=0", out)
        self.assertIn("mounted=yes", out)
        self.assertIn("content=hello via mount -t", out)
        self.assertIn("umount-status=0", out)
        self.assertIn("service=gone", out, "the service ends when unmounted")
        self.assertTrue(prov.alive(), "the provider keeps running (it reconnects)")

    def test_mount_t_fuse_webfuse(self):
        self.run_mount("mount")

    def test_fstab_line(self):
        self.run_mount("fstab")


if __name__ == "__main__":
    h.main()
