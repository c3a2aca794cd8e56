#!/usr/bin/env python3
"""Installation and packaging: `cmake --install` into a DESTDIR.

- every expected file is installed (programs, libwebfuse.so.0 and .a,
  headers, webfuse.pc, man pages, examples);
- webfuse.pc names the prefix given to `cmake --install --prefix`;
- the example provider (examples/c-provider) builds from the installed
  sources with the installed pkg-config file (PKG_CONFIG_PATH /
  PKG_CONFIG_SYSROOT_DIR into DESTDIR), runs against the installed
  libwebfuse.so (LD_LIBRARY_PATH) and serves /hello.txt to the installed
  webfuse service, read through the mount;
- libwebfuse.a is self-contained (the example links statically as well);
- the installed programs find libwebfuse.so.0 through their RUNPATH;
- the authenticator scripts accept the right token and refuse others.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

PREFIX = "/usr"
HELLO = b"Hello from a webfuse provider written in C!\n"


def cmake_cache(name):
    try:
        with open(os.path.join(h.BUILD_DIR, "CMakeCache.txt")) as f:
            for line in f:
                m = re.match(r"%s:[A-Z]+=(.*)$" % re.escape(name), line.strip())
                if m:
                    return m.group(1)
    except OSError:
        pass
    return None


def project_version():
    with open(os.path.join(h.SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(webfuse VERSION ([0-9.]+)", f.read()).group(1)


def run(argv, env=None, cwd=None, timeout=300):
    r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0:
        raise AssertionError("%s failed with %d:\n%s" % (" ".join(argv), r.returncode, out))
    return out


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cmake", "pkg-config", "make"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(tool + " is missing")
        if not os.path.exists(os.path.join(h.BUILD_DIR, "CMakeCache.txt")):
            raise unittest.SkipTest("no CMake build directory at " + h.BUILD_DIR)
        cls.tmp = tempfile.mkdtemp(prefix="wf-install-")
        cls.destdir = os.path.join(cls.tmp, "dest")
        env = dict(os.environ, DESTDIR=cls.destdir)
        run(["cmake", "--install", h.BUILD_DIR, "--prefix", PREFIX], env=env)
        cls.root = cls.destdir + PREFIX
        libdir = None
        for cand in ("lib", "lib64", os.path.join("lib", "x86_64-linux-gnu")):
            if os.path.exists(os.path.join(cls.root, cand, "pkgconfig", "webfuse.pc")):
                libdir = os.path.join(cls.root, cand)
        if libdir is None:
            raise AssertionError("webfuse.pc not installed under %s/lib*/pkgconfig" % cls.root)
        cls.libdir = libdir
        cls.doc = os.path.join(cls.root, "share", "doc", "webfuse")
        cls.pc_env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"),
                          PKG_CONFIG_SYSROOT_DIR=cls.destdir)
        cls.pc_env.pop("PKG_CONFIG_LIBDIR", None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_files(self):
        expected = [
            "bin/webfuse", "bin/webfuse_provider",
            "include/webfuse/api.h", "include/webfuse/provider.h", "include/webfuse/service.h",
            "include/webfuse/localfs.h", "include/webfuse/log.h", "include/webfuse/error.h",
            "share/man/man1/webfuse.1", "share/man/man1/webfuse_provider.1",
            "share/doc/webfuse/library.md",
            "share/doc/webfuse/examples/systemd/webfuse.service",
            "lib/systemd/system/webfuse.service",
            "share/doc/webfuse/examples/systemd/mnt-remote.mount",
            "share/doc/webfuse/cli.md", "share/doc/webfuse/browser.md", "share/doc/webfuse/security.md",
            "share/webfuse/web/index.html", "share/webfuse/web/webfuse/provider.js",
            "share/doc/webfuse/examples/authenticators/token-file.sh",
            "share/doc/webfuse/examples/authenticators/token-sha256.sh",
            "share/doc/webfuse/examples/c-provider/memfs_provider.c",
            "share/doc/webfuse/examples/c-provider/Makefile",
        ]
        for rel in expected:
            self.assertTrue(os.path.isfile(os.path.join(self.root, rel)), rel + " not installed")
        for rel in ("bin/webfuse", "bin/webfuse_provider",
                    "share/doc/webfuse/examples/authenticators/token-file.sh"):
            self.assertTrue(os.access(os.path.join(self.root, rel), os.X_OK), rel + " not executable")
        version = project_version()
        so = os.path.join(self.libdir, "libwebfuse.so")
        self.assertTrue(os.path.islink(so))
        self.assertEqual(os.readlink(so), "libwebfuse.so.0")
        self.assertEqual(os.readlink(so + ".0"), "libwebfuse.so." + version)
        self.assertTrue(os.path.isfile(so + "." + version))
        self.assertTrue(os.path.isfile(os.path.join(self.libdir, "libwebfuse.a")))
        if shutil.which("readelf"):
            dyn = run(["readelf", "-d", so + "." + version])
            self.assertIn("[libwebfuse.so.0]", dyn)  # SONAME
        with open(os.path.join(self.root, "lib/systemd/system/webfuse.service")) as f:
            self.assertIn("ExecStart=%s/bin/webfuse " % PREFIX, f.read())
        # no stray headers: only the public API is installed
        headers = sorted(os.listdir(os.path.join(self.root, "include", "webfuse")))
        self.assertEqual(headers, ["api.h", "error.h", "localfs.h", "log.h", "provider.h", "service.h"])

    def test_pkg_config(self):
        with open(os.path.join(self.libdir, "pkgconfig", "webfuse.pc")) as f:
            pc = f.read()
        self.assertIn("prefix=%s\n" % PREFIX, pc)
        self.assertRegex(pc, r"Requires.private:\s*fuse3 libwebsockets")
        out = run(["pkg-config", "--modversion", "webfuse"], env=self.pc_env).strip()
        self.assertEqual(out, project_version())
        cflags = run(["pkg-config", "--cflags", "webfuse"], env=self.pc_env).split()
        self.assertIn("-I" + os.path.join(self.root, "include"), cflags)
        libs = run(["pkg-config", "--libs", "webfuse"], env=self.pc_env).split()
        self.assertIn("-L" + self.libdir, libs)
        self.assertIn("-lwebfuse", libs)

    def test_man_pages(self):
        if shutil.which("man") is None:
            self.skipTest("man is missing")
        for page in ("webfuse.1", "webfuse_provider.1"):
            path = os.path.join(self.root, "share", "man", "man1", page)
            r = subprocess.run(["man", "--warnings", "-l", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(os.environ, MANWIDTH="80"),
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.decode().strip(), "", "warnings from man for " + page)
            self.assertIn(b"SYNOPSIS", r.stdout)

    def test_authenticators(self):
        d = os.path.join(self.tmp, "auth")
        os.makedirs(d, exist_ok=True)
        token_file = os.path.join(d, "token")
        with open(token_file, "w") as f:
            f.write("s3cret-token\n")
        hashes = os.path.join(d, "hashes")
        import hashlib
        with open(hashes, "w") as f:
            f.write("# allowed\n\n%s\n" % hashlib.sha256(b"s3cret-token").hexdigest())
        scripts = os.path.join(self.doc, "examples", "authenticators")
        env = dict(PATH=os.environ.get("PATH", "/usr/bin:/bin"), WEBFUSE_TOKEN_FILE=token_file,
                   WEBFUSE_TOKEN_HASHES=hashes)
        for script in ("token-file.sh", "token-sha256.sh"):
            path = os.path.join(scripts, script)
            for token, ok in ((b"s3cret-token", True), (b"s3cret-toke", False), (b"", False),
                              (b"s3cret-token-and-more", False), (b"wrong", False)):
                r = subprocess.run([path], input=token, env=env, timeout=30)
                self.assertEqual(r.returncode == 0, ok, "%s with %r" % (script, token))
            missing = dict(env, WEBFUSE_TOKEN_FILE=os.path.join(d, "none"),
                           WEBFUSE_TOKEN_HASHES=os.path.join(d, "none"))
            r = subprocess.run([path], input=b"s3cret-token", env=missing, timeout=30)
            self.assertNotEqual(r.returncode, 0, script + " accepted without a token file")

    def _build_example(self, static=False):
        src = os.path.join(self.doc, "examples", "c-provider")
        work = os.path.join(self.tmp, "c-provider-static" if static else "c-provider")
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(src, work)
        make = ["make", "-C", work, "CC=" + (cmake_cache("CMAKE_C_COMPILER") or "cc")]
        flags = "-O1 -g -Wall -Wextra -Wno-unused-parameter -Werror"
        ldflags = ""
        if (cmake_cache("WF_SANITIZE") or "").upper() in ("ON", "1", "TRUE", "YES"):
            flags += " -fsanitize=address,undefined"
            ldflags += " -fsanitize=address,undefined"
        if static:
            # libwebfuse.a plus the libraries webfuse.pc requires privately
            pc = run(["pkg-config", "--libs", "fuse3", "libwebsockets"]).split()
            libs = os.path.join(self.libdir, "libwebfuse.a") + " " + " ".join(pc)
            make += ["WEBFUSE_LIBS=" + libs]
        make += ["CFLAGS=" + flags, "LDFLAGS=" + ldflags]
        run(make, env=self.pc_env)
        exe = os.path.join(work, "memfs_provider")
        self.assertTrue(os.access(exe, os.X_OK))
        return exe

    def test_example_static(self):
        exe = self._build_example(static=True)
        if shutil.which("nm"):
            # statically linked: it must not need libwebfuse.so
            r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, LD_LIBRARY_PATH="/nonexistent"), timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)  # usage
            self.assertIn(b"usage", r.stderr)

    def test_example_against_service(self):
        h.require_binaries()
        exe = self._build_example()
        run_env = dict(os.environ, LD_LIBRARY_PATH=self.libdir)
        out = run(["ldd", exe], env=run_env) if shutil.which("ldd") else ""
        if out:
            self.assertIn(os.path.join(self.libdir, "libwebfuse.so.0"), out)
        # the installed service, which finds libwebfuse.so.0 through its RUNPATH
        installed_service = os.path.join(self.root, "bin", "webfuse")
        env_no_ld = dict(os.environ)
        env_no_ld.pop("LD_LIBRARY_PATH", None)
        if shutil.which("ldd"):
            line = [l for l in run(["ldd", installed_service], env=env_no_ld).splitlines()
                    if "libwebfuse.so.0" in l]
            self.assertEqual(len(line), 1)
            self.assertIn(self.destdir, line[0], "RUNPATH does not lead to the installed library")
        saved = h.SERVICE_BIN
        h.SERVICE_BIN = installed_service
        svc = h.Service()
        provider = None
        log_path = os.path.join(self.tmp, "memfs_provider.log")
        try:
            svc.start()
            with open(log_path, "wb") as log:
                provider = subprocess.Popen([exe, svc.url], stdout=log, stderr=subprocess.STDOUT,
                                            env=run_env)

            def logs():
                with open(log_path, "rb") as f:
                    return f.read().decode("utf-8", "replace")[-4000:] + "\n" + svc.log_tail()

            def listed():
                if provider.poll() is not None:
                    raise h.HarnessError("memfs_provider exited with %s\n%s" % (provider.returncode, logs()))
                return svc.listdir(timeout=10) == ["hello.txt"]
            h.wait_until(listed, h.DEFAULT_WAIT, "hello.txt to appear in the mount", logs=logs)

            def read_hello():
                with open(svc.path("hello.txt"), "rb") as f:
                    return f.read()
            self.assertEqual(h.call(read_hello, what="read hello.txt"), HELLO)
            st = h.call(os.stat, svc.path("hello.txt"), what="stat hello.txt")
            self.assertEqual(st.st_size, len(HELLO))
            self.assertNotEqual(h.errno_of(lambda: open(svc.path("hello.txt"), "wb")), 0)
            self.assertNotEqual(h.errno_of(os.stat, svc.path("missing")), 0)
            # SIGTERM: wf_provider_stop() from the signal handler, exit 0
            provider.terminate()
            self.assertEqual(provider.wait(10), 0, logs())
            provider = None
            h.wait_until(lambda: svc.listdir(timeout=10) == [], h.DEFAULT_WAIT,
                         "the mount to be empty after the provider stopped", logs=logs)
        finally:
            h.SERVICE_BIN = saved
            if provider is not None and provider.poll() is None:
                provider.kill()
                provider.wait(5)
            svc.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
