#!/usr/bin/env python3
"""The musl static build (`bash scripts/build.sh musl-static DIR`) works here.

- webfuse and webfuse_provider in DIR are static executables (no ELF
  interpreter) and report the project's version;
- the static service mounts, and serves both the static (TLS-less, musl)
  provider and the regular glibc one: listing, a 1 MiB file read back with
  the right sha256, a file written through the mount;
- built without TLS (the default), the provider refuses wss:// with a
  message saying why; built with WF_MUSL_TLS=mbedtls, the static service
  serves the static provider over wss:// with a test CA (test_tls's PKI).

DIR is $WF_MUSL_DIR (ctest passes the WF_MUSL_DIR cache entry, by default
build-musl/ in the source tree). Skips (exit 77) when no musl build is
there: build it first, or run scripts/portability.sh, which does both.
"""

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import wfharness as h  # noqa: E402
from ports import service_port  # noqa: E402

SKIP = 77
MUSL_DIR = os.environ.get("WF_MUSL_DIR") or os.path.join(h.SOURCE_DIR, "build-musl")
SERVICE = os.path.join(MUSL_DIR, "webfuse")
PROVIDER = os.path.join(MUSL_DIR, "webfuse_provider")


def has_interpreter(path):
    """Whether the ELF file at path names a dynamic loader (PT_INTERP)."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF":
            raise AssertionError(path + " is not an ELF file")
        is64, end = ident[4] == 2, "<" if ident[5] == 1 else ">"
        f.seek(0x20 if is64 else 0x1C)
        phoff = struct.unpack(end + ("Q" if is64 else "I"), f.read(8 if is64 else 4))[0]
        f.seek(0x36 if is64 else 0x2A)
        phentsize, phnum = struct.unpack(end + "HH", f.read(4))
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack(end + "I", f.read(4))[0] == 3:  # PT_INTERP
                return True
    return False


def built_with_tls():
    """Whether the musl build's libwebsockets has TLS (its CMake cache says)."""
    try:
        with open(os.path.join(MUSL_DIR, "CMakeCache.txt")) as f:
            return any(re.match(r"WF_LWS_HAS_TLS:INTERNAL=1$", l.strip()) for l in f)
    except OSError:
        return False


def project_version():
    with open(os.path.join(h.SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(webfuse VERSION ([0-9.]+)", f.read()).group(1)


class MuslStatic(unittest.TestCase):
    def setUp(self):
        self.saved = (h.SERVICE_BIN, h.PROVIDER_BIN)
        h.SERVICE_BIN = SERVICE

    def tearDown(self):
        h.SERVICE_BIN, h.PROVIDER_BIN = self.saved

    def test_static_and_versioned(self):
        for exe in (SERVICE, PROVIDER):
            self.assertFalse(has_interpreter(exe), exe + " is dynamically linked")
        out = subprocess.run([SERVICE, "--version"], stdout=subprocess.PIPE, timeout=30).stdout
        self.assertIn(("webfuse " + project_version()).encode(), out)

    def serve(self, provider_bin):
        h.PROVIDER_BIN = provider_bin
        data = os.urandom(1 << 20)

        def populate(d):
            os.mkdir(os.path.join(d, "sub"))
            with open(os.path.join(d, "sub", "blob"), "wb") as f:
                f.write(data)
        with h.attached(service_kwargs={"port": service_port()}, populate=populate) as (svc, prov):
            self.assertEqual(svc.listdir(), ["sub"])

            def read_blob():
                with open(svc.path("sub", "blob"), "rb") as f:
                    return f.read()
            got = h.call(read_blob, what="read sub/blob")
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

            def write_note():
                with open(svc.path("note"), "wb") as f:
                    f.write(b"written through the mount\n")
            h.call(write_note, what="write note")
            with open(prov.path("note"), "rb") as f:
                self.assertEqual(f.read(), b"written through the mount\n")

    def test_serves_musl_provider(self):
        self.serve(PROVIDER)

    def test_serves_glibc_provider(self):
        if not os.access(self.saved[1], os.X_OK):
            self.skipTest("no regular build of webfuse_provider at " + self.saved[1])
        self.serve(self.saved[1])

    def test_wss(self):
        if not built_with_tls():
            self.skipTest("built without TLS (WF_MUSL_TLS=mbedtls builds it with)")
        if shutil.which("openssl") is None:
            self.skipTest("openssl is missing")
        from test_tls import make_pki
        h.PROVIDER_BIN = PROVIDER
        pki = tempfile.mkdtemp(prefix="wf-musl-pki-")
        self.addCleanup(shutil.rmtree, pki, True)
        make_pki(pki)
        port = service_port()
        svc = h.Service(port=port, extra_args=["--wf-cert", os.path.join(pki, "server.pem"),
                                               "--wf-key", os.path.join(pki, "server.key")])
        with svc:
            prov = h.Provider(svc, url="wss://localhost:%d/" % port,
                              extra_args=["--ca-path", os.path.join(pki, "ca.pem")])
            self.addCleanup(prov.cleanup)
            with open(prov.path("file.txt"), "wb") as f:
                f.write(b"over wss\n")
            prov.start()
            with open(svc.path("file.txt"), "rb") as f:
                self.assertEqual(h.call(f.read, what="read over wss"), b"over wss\n")

    def test_tlsless_provider_refuses_wss(self):
        if built_with_tls():
            self.skipTest("built with TLS")
        with h.TempDir() as d:
            r = subprocess.run([PROVIDER, "-u", "wss://127.0.0.1:9/", "-p", d],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"without", r.stdout)


if __name__ == "__main__":
    missing = [p for p in (SERVICE, PROVIDER) if not os.access(p, os.X_OK)]
    if missing:
        print("SKIP: no musl static build in %s (bash scripts/build.sh musl-static %s, "
              "or bash scripts/portability.sh)" % (MUSL_DIR, MUSL_DIR))
        sys.exit(SKIP)
    for tool in ("fusermount3",):
        if shutil.which(tool) is None:
            print("SKIP: %s is missing (apt-get install fuse3)" % tool)
            sys.exit(SKIP)
    if not os.path.exists("/dev/fuse"):
        print("SKIP: no /dev/fuse")
        sys.exit(SKIP)
    h.main()
