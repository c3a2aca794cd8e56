#!/usr/bin/env python3
"""The ABI of libwebfuse.so: exactly the public API is exported.

- the defined dynamic symbols (`nm -D --defined-only`) of the built
  libwebfuse.so equal the functions declared with WF_API in
  include/webfuse/*.h, all of them prefixed wf_;
- every function declared in a public header is marked WF_API (so none is
  silently missing from the shared library);
- the SONAME is libwebfuse.so.0.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfharness as h  # noqa: E402

HEADER_DIR = os.path.join(h.SOURCE_DIR, "include", "webfuse")
LIBRARY = os.path.join(h.BUILD_DIR, "libwebfuse.so")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_declarations():
    """(exported, all): names of WF_API functions and of all function
    declarations at file scope (outside struct bodies) in the public headers."""
    exported, declared = set(), set()
    for path in sorted(glob.glob(os.path.join(HEADER_DIR, "*.h"))):
        with open(path) as f:
            text = strip_comments(f.read())
        # preprocessor lines, and the extern "C" { ... } wrapper (its closing
        # brace stands alone on a line; struct bodies end with "};")
        text = "\n".join(l for l in text.splitlines()
                         if not l.lstrip().startswith("#") and l.strip() != "}")
        text = text.replace('extern "C" {', " ")
        # drop struct/enum/union bodies (callback members are not functions)
        prev = None
        while prev != text:
            prev = text
            text = re.sub(r"\{[^{}]*\}", ";", text)
        for decl in text.split(";"):
            decl = " ".join(decl.split())
            if "typedef" in decl.split():
                continue
            m = re.search(r"\b(wf_\w+)\s*\(", decl)
            if not m or "(*" in decl[:m.start()]:
                continue
            declared.add(m.group(1))
            if re.match(r"^WF_API\b", decl):
                exported.add(m.group(1))
    return exported, declared


def dynamic_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True, timeout=60).stdout.decode()
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms[parts[2].split("@")[0]] = parts[1]
    return syms


class Symbols(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("nm") is None:
            raise unittest.SkipTest("nm is missing")
        if not os.path.exists(LIBRARY):
            raise unittest.SkipTest("not built: " + LIBRARY)

    def test_headers_parse(self):
        exported, declared = header_declarations()
        # a sanity check of the parser on functions that must be there
        for name in ("wf_provider_create", "wf_provider_stop", "wf_service_create",
                     "wf_service_destroy", "wf_localfs_ops", "wf_log_setup"):
            self.assertIn(name, exported)
        self.assertEqual(declared - exported, set(),
                         "declared in include/webfuse/ without WF_API")

    def test_exports_equal_public_api(self):
        exported, _ = header_declarations()
        syms = dynamic_symbols(LIBRARY)
        # sanitizer builds may add their runtime's interceptors/hooks
        ignored = {s for s in syms if s.startswith(("__asan", "__ubsan", "__sanitizer", "__lsan"))}
        names = set(syms) - ignored
        self.assertEqual(sorted(n for n in names if not n.startswith("wf_")), [],
                         "exported symbols without the wf_ prefix")
        self.assertEqual(sorted(names - exported), [], "exported but not public API")
        self.assertEqual(sorted(exported - names), [], "public API missing from libwebfuse.so")
        for name in exported:
            self.assertEqual(syms[name], "T", "%s is not a function (%s)" % (name, syms[name]))

    def test_soname(self):
        if shutil.which("readelf") is None:
            self.skipTest("readelf is missing")
        out = subprocess.run(["readelf", "-d", LIBRARY], stdout=subprocess.PIPE, check=True,
                             timeout=60).stdout.decode()
        m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
        self.assertIsNotNone(m, "no SONAME")
        self.assertEqual(m.group(1), "libwebfuse.so.0")
        self.assertEqual(os.readlink(LIBRARY), "libwebfuse.so.0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
