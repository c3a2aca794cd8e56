"""Test harness for webfuse integration tests (Python standard library only).

Starts the real programs:
  - Service: `webfuse -f --wf-port PORT --wf-timeout T [-o ...] MOUNTPOINT`
  - Provider: `webfuse_provider -u ws://127.0.0.1:PORT/ -p DIR [...]`
on 127.0.0.1, with temporary mount points and directories, and always cleans
up: processes are stopped by their pid, the mount is detached with
`fusermount3 -u -z` and temporary directories are removed, also when a test
fails or raises.

Every wait is bounded and fails with a message that says what was awaited,
followed by the tail of the programs' logs. Filesystem calls on the mount
that could hang are run through `call()`, which fails the test after a
timeout instead of hanging the suite.

Sanitizer reports: the programs' output (stdout and stderr) goes to a log
file; when a Service or Provider is cleaned up, that log is scanned for
AddressSanitizer / LeakSanitizer / UndefinedBehaviorSanitizer reports, and a
report fails the test (HarnessError raised by cleanup(), after the cleanup is
complete). So a sanitizer build fails a test on any report, also one from a
process whose exit status the test does not check. Disable per program with
`sanitizer_check=False`, or for the whole run with WF_SANITIZER_CHECK=0.

Environment: WF_BUILD_DIR (directory holding webfuse and webfuse_provider),
WF_SOURCE_DIR, WF_TEST_VERBOSE=1 (always print program logs),
WF_SANITIZER_CHECK=0 (do not fail on sanitizer reports in program logs).
"""

import contextlib
import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SOURCE_DIR = os.environ.get(
    "WF_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("WF_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
SERVICE_BIN = os.path.join(BUILD_DIR, "webfuse")
PROVIDER_BIN = os.path.join(BUILD_DIR, "webfuse_provider")
VERBOSE = os.environ.get("WF_TEST_VERBOSE", "") not in ("", "0")

DEFAULT_WAIT = 10.0       # seconds for mounts, connections, listings
CALL_TIMEOUT = 30.0       # seconds for a single filesystem call on the mount
READY_MARKER = ".wf-harness-ready"
SERVICE_READY = "waiting for a provider on port"  # logged once mounted and listening
SANITIZER_CHECK = os.environ.get("WF_SANITIZER_CHECK", "1") not in ("", "0")
# The first line of a sanitizer report (ASan, LSan, UBSan, TSan, MSan).
SANITIZER_REPORT = re.compile(
    r"ERROR: (?:AddressSanitizer|LeakSanitizer|MemorySanitizer)|WARNING: ThreadSanitizer"
    r"|runtime error: |SUMMARY: UndefinedBehaviorSanitizer")


class HarnessError(AssertionError):
    """A bounded wait ran out or a program misbehaved (counts as a test failure)."""


def log(msg):
    print("[wfharness] " + msg, file=sys.stderr, flush=True)


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# --------------------------------------------------------------------------
# small helpers

def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unescape_mountinfo(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_entry(path):
    """The /proc/self/mountinfo line (as fields) for mount point `path`, or None."""
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4 and _unescape_mountinfo(fields[4]) == path:
            found = fields  # the last one wins (stacked mounts)
    return found


def is_mounted(path):
    return mount_entry(path) is not None


def wait_until(predicate, timeout=DEFAULT_WAIT, what="condition", interval=0.05, logs=None):
    """Poll `predicate` until it returns a true value; fail after `timeout` seconds.

    Exceptions from the predicate count as 'not yet'. `logs` is an optional
    callable returning text appended to the failure message."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except HarnessError:
            raise  # the predicate saw a definite failure (e.g. a program died)
        except Exception as e:  # noqa: BLE001 - polling: keep trying
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            if logs is not None:
                msg += "\n" + logs()
            raise HarnessError(msg)
        time.sleep(interval)


class CallTimeout(HarnessError):
    pass


def call(fn, *args, timeout=CALL_TIMEOUT, what=None, **kwargs):
    """Run fn(*args, **kwargs) in a daemon thread and return its result.

    Re-raises the function's exception. If it does not finish within
    `timeout` seconds, raises CallTimeout (a test failure): a hung FUSE call
    then fails its test instead of hanging the suite; the thread stays
    blocked until cleanup tears the mount down."""
    result = {}

    def runner():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            result["error"] = e

    t = threading.Thread(target=runner, daemon=True,
                         name="wfcall-" + getattr(fn, "__name__", "fn"))
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise CallTimeout("%s did not return within %.1fs (hung filesystem call?)"
                          % (what or getattr(fn, "__name__", repr(fn)), timeout))
    if "error" in result:
        raise result["error"]
    return result.get("value")


class BackgroundCall:
    """Start fn in a daemon thread now; join() later with a bounded wait."""

    def __init__(self, fn, *args, **kwargs):
        self.result = None
        self.error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kwargs):
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001
            self.error = e

    def running(self):
        return self._thread.is_alive()

    def join(self, timeout=CALL_TIMEOUT, what="background call"):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise CallTimeout("%s did not finish within %.1fs" % (what, timeout))
        if self.error is not None:
            raise self.error
        return self.result


def read_to_end(fd, timeout=CALL_TIMEOUT, what="read to the end"):
    """The rest of an open file, read in 1 MiB pieces (bounded wait)."""
    return call(lambda: b"".join(iter(lambda: os.read(fd, 1 << 20), b"")), timeout=timeout, what=what)


def errno_of(fn, *args, **kwargs):
    """Run fn; return 0 on success or the errno of the OSError it raised."""
    try:
        fn(*args, **kwargs)
        return 0
    except OSError as e:
        return e.errno


def errname(code):
    return errno.errorcode.get(code, str(code)) if code else "OK"


def require_binaries(testcase=None):
    """Skip (unittest.SkipTest) unless both programs are built and FUSE is usable."""
    missing = [p for p in (SERVICE_BIN, PROVIDER_BIN) if not os.access(p, os.X_OK)]
    if missing:
        raise unittest.SkipTest("not built: " + ", ".join(missing))
    if not os.path.exists("/dev/fuse"):
        raise unittest.SkipTest("/dev/fuse is missing")
    if shutil.which("fusermount3") is None:
        raise unittest.SkipTest("fusermount3 is missing")


def sanitizer_report(text, context=60):
    """The first sanitizer report in `text` (up to `context` lines), or None."""
    m = SANITIZER_REPORT.search(text)
    if m is None:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return "\n".join(text[start:].splitlines()[:context])


def _tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "(no log)"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------
# processes

class _Program:
    """A child process with its output in a log file, stopped by pid."""

    name = "program"
    sanitizer_check = True

    def __init__(self):
        self.proc = None
        self.returncode = None
        self._sanitizer_reported = False
        self._tmp = tempfile.mkdtemp(prefix="wf-%s-" % self.name)
        os.chmod(self._tmp, 0o755)
        self.log_path = os.path.join(self._tmp, self.name + ".log")
        self._log_file = None

    def _spawn(self, argv):
        # start() again (a restart of the same program) appends to the same log
        self._close_log()
        self._log_file = open(self.log_path, "ab")
        log("start: " + " ".join(argv))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, close_fds=True)
        return self.proc

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        return _tail(self.log_path, 10**6)

    def log_tail(self, lines=40):
        return "--- %s log (%s), last %d lines ---\n%s" % (self.name, self.log_path, lines,
                                                          _tail(self.log_path, lines))

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=DEFAULT_WAIT):
        """Wait (bounded) for the process to exit; return its exit code."""
        if self.proc is None:
            return self.returncode
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("%s (pid %d) did not exit within %.1fs\n%s"
                               % (self.name, self.proc.pid, timeout, self.log_tail()))
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=DEFAULT_WAIT):
        """Send `sig` and wait (bounded) for the exit; return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        return self.wait_exit(timeout)

    def _kill(self):
        """Best-effort termination by pid: SIGTERM, then SIGKILL."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            log("%s pid %d ignored SIGTERM, sending SIGKILL" % (self.name, self.proc.pid))
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.returncode = self.proc.poll()

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _remove_tmp(self):
        shutil.rmtree(self._tmp, ignore_errors=True)

    def sanitizer_report(self):
        """The first sanitizer report in this program's log so far, or None."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        return sanitizer_report(text)

    def _finish_cleanup(self, keep_tmp=False):
        """Removes the temporary directory unless it must stay (a sanitizer
        report keeps it with the log), then fails on a sanitizer report."""
        report = None
        if SANITIZER_CHECK and self.sanitizer_check and not self._sanitizer_reported:
            report = self.sanitizer_report()
        if report is None and not keep_tmp:
            self._remove_tmp()
        self.check_sanitizers()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def check_sanitizers(self):
        """Raise HarnessError if the log holds a sanitizer report (once per program)."""
        if not (SANITIZER_CHECK and self.sanitizer_check) or self._sanitizer_reported:
            return
        report = self.sanitizer_report()
        if report is not None:
            self._sanitizer_reported = True
            raise HarnessError("sanitizer report in the %s log (%s):\n%s"
                               % (self.name, self.log_path, report))


class Service(_Program):
    """The webfuse service on a temporary mount point."""

    name = "service"

    def __init__(self, port=None, timeout=None, options=(), extra_args=(), debug=False,
                 sanitizer_check=True, resume_timeout=0):
        super().__init__()
        # Tests of a provider going away expect the old behaviour (fail at
        # once) unless they ask for a grace period.
        self.resume_timeout = resume_timeout
        self.sanitizer_check = sanitizer_check
        self.port = port or free_port()
        self.timeout = timeout if timeout is not None else env_int("WF_TEST_SERVICE_TIMEOUT", 3)
        self.options = list(options)
        self.extra_args = list(extra_args)
        self.debug = debug
        self.mountpoint = os.path.join(self._tmp, "mnt")
        os.mkdir(self.mountpoint)
        self.url = "ws://127.0.0.1:%d/" % self.port

    def start(self, wait=DEFAULT_WAIT):
        argv = [SERVICE_BIN, "-f"]
        if self.debug:
            argv.append("-d")
        if self.options:
            argv += ["-o", ",".join(self.options)]
        argv += ["--wf-port", str(self.port), "--wf-timeout", str(self.timeout)]
        argv += ["--wf-resume-timeout", str(self.resume_timeout)]
        argv += self.extra_args
        argv.append(self.mountpoint)
        ready_before = self.log_text().count(SERVICE_READY)
        self._spawn(argv)

        def mounted():
            if not self.alive():
                raise HarnessError("service exited with %s before mounting\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            return is_mounted(self.mountpoint)
        try:
            wait_until(mounted, wait, "the service to mount %s" % self.mountpoint,
                       logs=self.log_tail)
        except HarnessError:
            raise
        # and the WebSocket port must accept connections
        wait_until(lambda: self._port_open(), wait, "the service to listen on 127.0.0.1:%d"
                   % self.port, logs=self.log_tail)
        # The port opens before the mount, and a stale mount on the mount
        # point counts as mounted: the service says when both are its own.
        if "--wf-syslog" not in self.extra_args:
            wait_until(lambda: self.log_text().count(SERVICE_READY) > ready_before, wait,
                       "the service to report it is ready", logs=self.log_tail)
        return self

    def _port_open(self):
        if not self.alive():
            raise HarnessError("service died\n" + self.log_tail())
        with socket.socket() as s:
            s.settimeout(0.5)
            try:
                s.connect(("127.0.0.1", self.port))
                return True
            except OSError:
                return False

    def path(self, *parts):
        return os.path.join(self.mountpoint, *parts)

    def listdir(self, *parts, timeout=CALL_TIMEOUT):
        return sorted(call(os.listdir, self.path(*parts), timeout=timeout, what="listdir(mount)"))

    def unmount(self):
        if is_mounted(self.mountpoint):
            subprocess.run(["fusermount3", "-u", "-z", self.mountpoint],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def cleanup(self):
        alive_before = self.alive()
        self._kill()
        # lazy unmount also aborts anything still blocked in the mount
        try:
            self.unmount()
        except Exception as e:  # noqa: BLE001
            log("fusermount3 failed: %r" % (e,))
        self._close_log()
        if VERBOSE or (self.returncode not in (0, None, -signal.SIGTERM)) or \
                (alive_before and self.returncode not in (0, -signal.SIGTERM)):
            log(self.log_tail(80))
        if is_mounted(self.mountpoint):
            log("WARNING: %s is still mounted" % self.mountpoint)
            self._finish_cleanup(keep_tmp=True)
        else:
            self._finish_cleanup()


class Provider(_Program):
    """webfuse_provider offering a directory (a temporary one unless given)."""

    name = "provider"

    def __init__(self, service=None, url=None, directory=None, extra_args=(), verbose=True,
                 sanitizer_check=True, prefix=()):
        super().__init__()
        self.prefix = list(prefix)  # e.g. ["ip", "netns", "exec", NS]: a program that execs the provider
        self.sanitizer_check = sanitizer_check
        if url is None:
            if service is None:
                raise ValueError("Provider needs a service or a url")
            url = service.url
        self.url = url
        self.service = service
        self.own_dir = directory is None
        self.directory = directory or os.path.join(self._tmp, "root")
        if self.own_dir:
            os.mkdir(self.directory)
            os.chmod(self.directory, 0o755)
        self.extra_args = list(extra_args)
        self.verbose = verbose

    def path(self, *parts):
        return os.path.join(self.directory, *parts)

    def start(self, wait=DEFAULT_WAIT, wait_for_content=True):
        argv = self.prefix + [PROVIDER_BIN, "-u", self.url, "-p", self.directory]
        if self.verbose:
            argv.append("-d")
        argv += self.extra_args
        self._spawn(argv)
        if wait_for_content and self.service is not None:
            self.wait_attached(wait)
        return self

    def logs(self):
        text = self.log_tail()
        if self.service is not None:
            text += "\n" + self.service.log_tail()
        return text

    def wait_attached(self, wait=DEFAULT_WAIT):
        """Wait until the mount root lists what the provided directory holds.

        An empty directory gets a marker file for the wait, removed after."""
        svc = self.service
        marker = None
        if not os.listdir(self.directory):
            marker = self.path(READY_MARKER)
            open(marker, "w").close()
        expected = sorted(os.listdir(self.directory))

        def listed():
            if not self.alive():
                raise HarnessError("provider exited with %s\n%s" % (self.proc.returncode, self.logs()))
            return svc.listdir(timeout=5) == expected
        wait_until(listed, wait, "the mount to list the provider's files %r" % expected[:8],
                   interval=0.1, logs=self.logs)
        if marker:
            os.unlink(marker)
            wait_until(lambda: READY_MARKER not in svc.listdir(timeout=5), wait,
                       "the ready marker to disappear from the mount", logs=self.logs)
        return self

    def cleanup(self):
        self._kill()
        self._close_log()
        if VERBOSE or self.returncode not in (0, None, -signal.SIGTERM):
            log(self.log_tail(80))
        self._finish_cleanup()


@contextlib.contextmanager
def attached(service_kwargs=None, provider_kwargs=None, populate=None):
    """Service + provider, attached; yields (service, provider).

    `populate(directory)` fills the provided directory before the provider
    starts. Everything is cleaned up on exit, whatever happens."""
    with Service(**(service_kwargs or {})) as svc:
        prov = Provider(svc, **(provider_kwargs or {}))
        try:
            if populate is not None:
                populate(prov.directory)
            prov.start()
            yield svc, prov
        finally:
            prov.cleanup()


def sha256_file(path, chunk=1 << 20):
    """Hex sha256 of a file, read in 1 MiB pieces."""
    d = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return d.hexdigest()
            d.update(b)


class TempDir:
    """A temporary directory (mode 0755) removed on exit."""

    def __init__(self, prefix="wf-local-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o755)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


class ResumeFixtures:
    """For unittest.TestCase subclasses that lose and resume provider
    sessions: a provided directory (self.dir), a service holding requests for
    GRACE seconds, providers on that directory, a kill without a close frame,
    and a resume."""

    GRACE = 20  # seconds the service holds requests in these tests

    def setUp(self):
        require_binaries()
        self.dir = tempfile.mkdtemp(prefix="wf-resume-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def service(self, grace=None, **kw):
        svc = Service(resume_timeout=self.GRACE if grace is None else grace, **kw)
        self.addCleanup(svc.cleanup)
        svc.start()
        return svc

    def provider(self, svc, wait=True, **kw):
        prov = Provider(svc, directory=self.dir, **kw)
        self.addCleanup(prov.cleanup)
        prov.start(wait_for_content=wait)
        return prov

    def kill(self, prov, svc=None):
        """SIGKILL (no close frame); with svc, until the service holds the session."""
        lost = svc.log_text().count("provider lost") if svc else 0
        prov.send_signal(signal.SIGKILL)
        prov.wait_exit()
        if svc:
            wait_until(lambda: svc.log_text().count("provider lost") > lost, 10,
                       "the service to hold the session", logs=svc.log_tail)

    def resume(self, svc):
        """A new provider; returns once the service says the session resumed."""
        resumed = svc.log_text().count("session resumed")
        self.provider(svc, wait=False)
        wait_until(lambda: svc.log_text().count("session resumed") > resumed, 15,
                   "the session to resume", logs=svc.log_tail)


def make_world_traversable(path):
    """chmod o+x on path and its parents, so a non-root user can reach it."""
    path = os.path.realpath(path)
    while path not in ("/", ""):
        st = os.stat(path)
        if not st.st_mode & stat.S_IXOTH:
            os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
        path = os.path.dirname(path)


def main():
    """unittest.main that exits non-zero on failure, with verbosity 2."""
    unittest.main(verbosity=2)
