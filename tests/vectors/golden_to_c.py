#!/usr/bin/env python3
"""Turns golden.json into a C header for tests/unit/test_codec.c, so that the
C test needs no JSON parser. Run by the build (tests/CMakeLists.txt):

    python3 golden_to_c.py golden.json golden_vectors.h

Each vector becomes a fill function that sets the struct wf_msg members its
"msg" object names (schema: README.md). The generator does not know member
types: a JSON number is assigned, a JSON string goes through GOLDEN_TEXT,
which lets the compiler pick "string" (struct wf_str) or "u64 in decimal"
(uint64_t) from the member's type. A key ending in _hex is bytes for the
member without the suffix; an object sets the members of a nested struct; an
array becomes a static item table plus count. A key the struct lacks is a
compile error naming it.
"""
import json
import sys

# Element types of lists whose items are objects (lists of strings are
# struct wf_str). Add an entry when a vector carries a new list of objects.
OBJECT_LIST_ITEMS = {"attrs": "struct wf_attr"}


def c_bytes(data):
    """C string literal for arbitrary bytes (octal escapes never swallow a
    following digit the way \\x escapes do)."""
    out = []
    for b in data:
        c = chr(b)
        if 0x20 <= b < 0x7f and c not in '"\\?':
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def c_number(v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise SystemExit("golden_to_c: unsupported number %r" % (v,))
    if -2**31 <= v < 2**31:
        return str(v)
    return "%dLL" % v if v < 0 else "%duLL" % v


class Gen:
    def __init__(self):
        self.statics = []  # file-scope item tables
        self.n_tables = 0

    def value(self, lv, key, v, body):
        if key.endswith("_hex"):
            data = bytes.fromhex(v)
            body.append("GOLDEN_BYTES(%s%s, %s, %d);" % (lv, key[:-4], c_bytes(data), len(data)))
        elif isinstance(v, str):
            data = v.encode("utf-8")
            body.append("GOLDEN_TEXT(%s%s, %s, %d);" % (lv, key, c_bytes(data), len(data)))
        elif isinstance(v, dict):
            for k, x in v.items():
                self.value("%s%s." % (lv, key), k, x, body)
        elif isinstance(v, list):
            self.items(lv + key, key, v, body)
        else:
            body.append("%s%s = %s;" % (lv, key, c_number(v)))

    def items(self, lv, key, items, body):
        if all(isinstance(x, str) for x in items):
            ctype = "struct wf_str"
        elif all(isinstance(x, dict) for x in items) and key in OBJECT_LIST_ITEMS:
            ctype = OBJECT_LIST_ITEMS[key]
        else:
            raise SystemExit("golden_to_c: list %r: add its item type to OBJECT_LIST_ITEMS" % key)
        table = "golden_items_%d" % self.n_tables
        self.n_tables += 1
        # never a zero-length array: an empty list still gets items != NULL
        self.statics.append("static %s %s[%d];" % (ctype, table, max(len(items), 1)))
        for i, x in enumerate(items):
            if isinstance(x, str):
                self.value("%s[%d]" % (table, i), "", x, body)
            else:
                for k, y in x.items():
                    self.value("%s[%d]." % (table, i), k, y, body)
        body.append("%s.items = %s;" % (lv, table))
        body.append("%s.count = %d;" % (lv, len(items)))


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: golden_to_c.py golden.json out.h")
    with open(sys.argv[1], encoding="utf-8") as f:
        vectors = json.load(f)
    gen = Gen()
    fills, table = [], []
    for i, v in enumerate(vectors):
        body = []
        for k, x in v["msg"].items():
            gen.value("m->", k, x, body)
        fills.append("static void golden_fill_%d(struct wf_msg *m)\n{\n%s\n}\n"
                     % (i, "\n".join("    " + line for line in body)))
        wire = bytes.fromhex(v["hex"])
        table.append("    { %s, (const uint8_t *)%s, %d, golden_fill_%d },"
                     % (c_bytes(v["name"].encode()), c_bytes(wire), len(wire), i))
    out = [
        "/* Generated from tests/vectors/golden.json by tests/vectors/golden_to_c.py. */",
        "#include <stdint.h>",
        "#include <stdlib.h>",
        "#include <string.h>",
        '#include "proto/wf_msg.h"',
        "",
        "static inline void golden_set_str(void *lv, const char *s, size_t n)",
        "{",
        "    struct wf_str *p = lv;",
        "    p->data = s;",
        "    p->len = (uint32_t)n;",
        "}",
        "",
        "static inline void golden_set_u64(void *lv, const char *s, size_t n)",
        "{",
        "    *(uint64_t *)lv = strtoull(s, NULL, 10);",
        "}",
        "",
        "/* a JSON string: text for a struct wf_str, decimal for a uint64_t */",
        "#define GOLDEN_TEXT(lv, lit, n) \\",
        "    _Generic((lv), struct wf_str: golden_set_str, uint64_t: golden_set_u64)(&(lv), lit, n)",
        "#define GOLDEN_BYTES(lv, lit, n) golden_set_str(&(lv), lit, n)",
        "",
        "struct golden_vec {",
        "    const char *name;",
        "    const uint8_t *bytes; /* the whole message */",
        "    size_t len;",
        "    void (*fill)(struct wf_msg *m); /* sets the members msg names */",
        "};",
        "",
    ]
    out += gen.statics
    out.append("")
    out += fills
    out.append("static const struct golden_vec golden_vecs[] = {")
    out += table
    out.append("};")
    out.append("#define GOLDEN_COUNT (sizeof golden_vecs / sizeof golden_vecs[0])")
    text = "\n".join(out) + "\n"
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
