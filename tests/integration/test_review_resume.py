#!/usr/bin/env python3
"""Review reproducers: handles of files that are gone when a session resumes.

- a getattr held for an unlinked file found by inode (wf_open_find) points at
  that wf_file's handle; the file is released while the request is held and
  freed; the resume refreshes the handle of the held request from freed memory
  (heap-use-after-free in refresh_handle);
- writes answered early (write-behind) of a file the kernel released already
  (shared mmap written back at munmap: no flush) are held across a lost
  provider; the resume does not re-open released files, so the held writes go
  to the new provider with the old provider's handle, which there names
  another file;
- a read-only handle of a file written through the mount since it was opened
  is failed by the resume's identity check;
- a create whose completing getattr is held: the new file is not re-opened;
- (known, not fixed) a request the provider carried out but whose answer was
  lost is sent again: a mkdir then fails with EEXIST.
"""

import ctypes
import errno
import mmap
import os
import signal
import socket
import threading
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402



class ReviewResume(h.ResumeFixtures, unittest.TestCase):
    def provider_cut_after(self, svc, answers):
        """A provider behind a proxy that passes `answers` answers, then cuts
        the connection at the next one (the provider keeps reconnecting)."""
        proxy = CuttingProxy(svc.port)
        self.addCleanup(proxy.stop)
        prov = h.Provider(svc, url="ws://127.0.0.1:%d/" % proxy.port, directory=self.dir)
        self.addCleanup(prov.cleanup)
        prov.start()
        proxy.pass_answers = answers
        proxy.cut_on_next_answer = True
        return prov

    def test_held_getattr_of_released_unlinked_file(self):
        with open(os.path.join(self.dir, "victim"), "wb") as f:
            f.write(b"v" * 1000)
        svc = self.service(options=["attr_timeout=0", "entry_timeout=0"])
        prov = self.provider(svc)
        fd = h.call(os.open, svc.path("victim"), os.O_RDONLY, timeout=10)
        h.call(os.unlink, svc.path("victim"), timeout=10)
        self.kill(prov, svc)
        # stat through the magic link: a getattr without a file handle for
        # the unlinked inode; it is held and points at the open file's handle
        stat = h.BackgroundCall(os.stat, "/proc/self/fd/%d" % fd)
        time.sleep(0.5)
        self.assertTrue(stat.running(), "the stat was not held")
        os.close(fd)  # release: the wf_file is freed while the getattr is held
        time.sleep(0.5)
        self.resume(svc)
        try:
            stat.join(15, "the held stat")
        except OSError:
            pass
        self.assertTrue(svc.alive(), "service died:\n" + svc.log_tail(60))
        report = svc.sanitizer_report()
        self.assertFalse(report, report)

    def test_held_write_behind_of_released_file(self):
        size = 256 * 1024
        with open(os.path.join(self.dir, "a"), "wb") as f:
            f.write(b"a" * size)
        with open(os.path.join(self.dir, "b"), "wb") as f:
            f.write(b"b" * size)
        svc = self.service(timeout=15)
        prov = self.provider(svc)
        # a gets the provider's first handle, b the second
        fd_a = h.call(os.open, svc.path("a"), os.O_RDWR, timeout=10)
        # libc's mmap: Python's mmap object keeps a dup of the descriptor,
        # whose close would flush
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd_a, 0)
        self.assertNotEqual(addr, ctypes.c_void_p(-1).value)
        fd_b = h.call(os.open, svc.path("b"), os.O_RDWR, timeout=10)
        self.addCleanup(os.close, fd_b)
        os.close(fd_a)  # flush: nothing written yet; the mapping keeps the file
        h.call(ctypes.memset, addr, ord("A"), size, timeout=10)  # dirty pages, written back at munmap
        prov.send_signal(signal.SIGSTOP)
        # munmap writes the pages back; the writes are answered early, the
        # mapping's file reference goes, the kernel releases a (no flush)
        self.assertEqual(h.call(libc.munmap, addr, size, timeout=10, what="munmap"), 0)
        time.sleep(0.5)
        self.kill(prov, svc)  # the writes answered early are held
        self.resume(svc)  # only b is re-opened: on the new provider it gets the first handle
        time.sleep(1.0)
        with open(os.path.join(self.dir, "b"), "rb") as f:
            b = f.read()
        with open(os.path.join(self.dir, "a"), "rb") as f:
            a = f.read()
        self.assertEqual(b, b"b" * size, "a's write-behind data landed in b")
        self.assertEqual(a, b"A" * size, "a's write-behind data was lost")
        # b's handle still works
        os.pwrite(fd_b, b"x", 0)
        self.assertEqual(h.call(os.pread, fd_b, 1, 0, timeout=10), b"x")

    def test_reader_of_file_written_through_mount(self):
        """A read-only handle of a file the mount itself wrote to since: the
        re-open compares size and mtime with those seen at open time and
        fails the reader's handle, though nobody changed the file behind the
        service's back."""
        with open(os.path.join(self.dir, "log"), "wb") as f:
            f.write(b"0" * 100)
        svc = self.service()
        prov = self.provider(svc)
        fd_r = h.call(os.open, svc.path("log"), os.O_RDONLY, timeout=10)
        self.addCleanup(os.close, fd_r)
        fd_w = h.call(os.open, svc.path("log"), os.O_WRONLY | os.O_APPEND, timeout=10)
        self.addCleanup(os.close, fd_w)
        h.call(os.write, fd_w, b"1" * 100, timeout=10)
        h.call(os.fsync, fd_w, timeout=10)
        self.kill(prov, svc)
        time.sleep(0.5)
        self.resume(svc)
        self.assertEqual(h.call(os.pread, fd_r, 200, 0, timeout=10), b"0" * 100 + b"1" * 100)

    def test_request_answered_then_lost_is_not_sent_twice(self):
        """The connection breaks after the provider carried out a mkdir and
        before its answer arrived: the held mkdir is sent again to the next
        provider, which finds the directory there; EEXIST to a request sent
        again counts as done (unlink/rmdir: ENOENT likewise)."""
        svc = self.service()
        self.provider_cut_after(svc, 1)  # the kernel's lookup; then the mkdir's answer is lost
        h.call(os.mkdir, svc.path("newdir"), timeout=15)
        self.assertIn("session resumed", svc.log_text())
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "newdir")))

    def test_exchange_answered_then_lost_is_not_undone(self):
        """renameat2(RENAME_EXCHANGE) carried out, its answer lost: sent
        again it would swap the two back and report success. It fails with
        EIO instead, and the swap that happened stays."""
        for name, data in (("a", b"A"), ("b", b"B")):
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data)
        svc = self.service()
        proxy = CuttingProxy(svc.port)
        self.addCleanup(proxy.stop)
        prov = h.Provider(svc, url="ws://127.0.0.1:%d/" % proxy.port, directory=self.dir)
        self.addCleanup(prov.cleanup)
        prov.start()
        os.stat(svc.path("a")), os.stat(svc.path("b"))  # looked up before the cut
        proxy.cut_on_next_answer = True  # the exchange's answer is lost
        libc = ctypes.CDLL(None, use_errno=True)

        def exchange():
            rc = libc.renameat2(-100, svc.path("a").encode(), -100, svc.path("b").encode(), 2)
            return 0 if rc == 0 else ctypes.get_errno()

        self.assertEqual(h.call(exchange, timeout=15), errno.EIO)
        for name, data in (("a", b"B"), ("b", b"A")):
            with open(os.path.join(self.dir, name), "rb") as f:
                self.assertEqual(f.read(), data, "swapped exactly once")

    def test_create_in_flight_during_outage(self):
        """The connection breaks after the provider answered a create and
        before the getattr that completes it: the new file (no inode yet) is
        re-opened by its name on the resume, so the fd the caller gets
        writes."""
        svc = self.service()
        self.provider_cut_after(svc, 2)  # the kernel's lookup and the create; the getattr's answer is lost
        fd = h.call(os.open, svc.path("new.txt"), os.O_CREAT | os.O_WRONLY, 0o644, timeout=15)
        self.addCleanup(os.close, fd)
        self.assertIn("session resumed", svc.log_text())
        self.assertEqual(h.call(os.write, fd, b"hello", timeout=10), 5)


class CuttingProxy:
    """TCP proxy provider -> service; with cut_on_next_answer set, the next
    bytes from the provider are dropped and both sockets closed (a lost
    connection: no close frame)."""

    def __init__(self, service_port):
        self.service_port = service_port
        self.cut_on_next_answer = False
        self.pass_answers = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.service_port))
            self.socks += [c, u]
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, from_provider):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if from_provider and data and self.cut_on_next_answer:
                if self.pass_answers > 0:
                    self.pass_answers -= 1
                else:
                    self.cut_on_next_answer = False
                    data = b""
            if not data:
                for x in (src, dst):
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    x.close()
                return
            try:
                dst.sendall(data)
            except OSError:
                return

    def stop(self):
        self.running = False
        self.lsock.close()
        for x in self.socks:
            try:
                x.close()
            except OSError:
                pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
