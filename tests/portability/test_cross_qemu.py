#!/usr/bin/env python3
"""A cross build (e.g. arm64, cmake/toolchains/) works under qemu-user.

The cross-built service mounts, the cross-built provider serves a directory
to it, and a file read through the mount has the right sha256; then the
host's provider is served by the cross-built service too. qemu-user 7.2
does not know openat2, so the provider runs on its no-openat2 fallback.

Environment: WF_CROSS_DIR (the cross build directory), WF_CROSS_SYSROOT
(the target's libraries, scripts/debian-sysroot.sh), WF_CROSS_QEMU (e.g.
qemu-aarch64-static). Skips (exit 77) unless all are set and present:
scripts/portability.sh sets them.
"""

import hashlib
import os
import shutil
import stat
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import wfharness as h  # noqa: E402
from ports import service_port  # noqa: E402

SKIP = 77
CROSS_DIR = os.environ.get("WF_CROSS_DIR", "")
SYSROOT = os.environ.get("WF_CROSS_SYSROOT", "")
QEMU = shutil.which(os.environ.get("WF_CROSS_QEMU", "") or "qemu-aarch64-static") or ""


def wrapper(directory, program):
    """A script that runs the cross-built program under qemu-user."""
    path = os.path.join(directory, program)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec "%s" -L "%s" "%s" "$@"\n'
                % (QEMU, SYSROOT, os.path.join(CROSS_DIR, program)))
    os.chmod(path, stat.S_IRWXU)
    return path


class CrossQemu(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="wf-cross-")
        cls.service = wrapper(cls.tmp, "webfuse")
        cls.provider = wrapper(cls.tmp, "webfuse_provider")
        cls.saved = (h.SERVICE_BIN, h.PROVIDER_BIN)

    @classmethod
    def tearDownClass(cls):
        h.SERVICE_BIN, h.PROVIDER_BIN = cls.saved
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def read_through_mount(self, service_bin, provider_bin):
        h.SERVICE_BIN, h.PROVIDER_BIN = service_bin, provider_bin
        data = os.urandom(300 * 1000)

        def populate(d):
            with open(os.path.join(d, "blob"), "wb") as f:
                f.write(data)
        with h.attached(service_kwargs={"port": service_port()}, populate=populate) as (svc, _prov):
            def read_blob():
                with open(svc.path("blob"), "rb") as f:
                    return f.read()
            got = h.call(read_blob, what="read blob through the mount")
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_cross_service_and_provider(self):
        self.read_through_mount(self.service, self.provider)

    def test_cross_service_host_provider(self):
        if not os.access(self.saved[1], os.X_OK):
            self.skipTest("no host build of webfuse_provider at " + self.saved[1])
        self.read_through_mount(self.service, self.saved[1])


if __name__ == "__main__":
    reasons = []
    if not (CROSS_DIR and os.access(os.path.join(CROSS_DIR, "webfuse"), os.X_OK)):
        reasons.append("no cross build (WF_CROSS_DIR)")
    if not (SYSROOT and os.path.isdir(SYSROOT)):
        reasons.append("no target sysroot (WF_CROSS_SYSROOT)")
    if not QEMU:
        reasons.append("no qemu-user (apt-get install qemu-user-static)")
    if reasons:
        print("SKIP: %s; scripts/portability.sh sets these up" % "; ".join(reasons))
        sys.exit(SKIP)
    h.main()
