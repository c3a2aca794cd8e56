#!/usr/bin/env python3
"""Review reproducer: a signal to a writer whose write is on its way to the
provider (sent, not held: it waits for room in the write-behind window).

on_interrupt (fs_ops.c) tries wf_requests_cancel_held, which fails for a sent
request, and then calls fs_cancel_parked, which reads op->u.sync.parked of
any op: for a write that byte lies inside op->u.io.file, so a write op may be
taken for a parked flush, and op->u.io.size for the file it is parked on.
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402


class ReviewInterrupt(unittest.TestCase):
    def test_interrupted_write_in_flight(self):
        h.require_binaries()
        svc = h.Service(timeout=20)
        self.addCleanup(svc.cleanup)
        svc.start()
        prov = h.Provider(svc)
        self.addCleanup(prov.cleanup)
        prov.start()
        fd = h.call(os.open, svc.path("big"), os.O_WRONLY | os.O_CREAT, 0o644, timeout=10)
        self.addCleanup(os.close, fd)
        prov.send_signal(signal.SIGSTOP)  # no answers: the window fills, the third write waits
        self.addCleanup(lambda: prov.alive() and prov.send_signal(signal.SIGCONT))
        dd = subprocess.Popen(["dd", "if=/dev/zero", "bs=512k", "count=8"],
                              stdout=fd, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: dd.poll() is None and dd.kill())
        time.sleep(1.0)
        self.assertIsNone(dd.poll(), "dd finished although the provider answers nothing")
        dd.send_signal(signal.SIGINT)  # FUSE_INTERRUPT for the waiting write
        time.sleep(1.0)
        prov.send_signal(signal.SIGCONT)
        dd.wait(timeout=20)
        self.assertTrue(svc.alive(), "service died:\n" + svc.log_tail(60))
        report = svc.sanitizer_report()
        self.assertFalse(report, report)


if __name__ == "__main__":
    unittest.main(verbosity=2)
