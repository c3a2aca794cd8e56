#!/usr/bin/env python3
"""Writes golden.json: webfuse2 byte vectors built straight from the wire
reference (/work/shared/webfuse2-protocol.md), independently of the C codec.

Each vector spells its fields in wire order with the primitive writers below,
so the hex can be checked by eye against the reference table. Run:
    python3 tests/vectors/gen_golden.py > tests/vectors/golden.json
"""
import json
import struct
import sys

NO_HANDLE = 2**64 - 1


def u8(v): return struct.pack(">B", v)
def i8(v): return struct.pack(">b", v)
def u32(v): return struct.pack(">I", v)
def i32(v): return struct.pack(">i", v)
def u64(v): return struct.pack(">Q", v)
def string(s): b = s.encode() if isinstance(s, str) else s; return u32(len(b)) + b
def strings(lst): return u32(len(lst)) + b"".join(string(s) for s in lst)
def timestamp(t): return u64(t["sec"]) + u32(t["nsec"])


def attributes(a):
    return (u64(a["ino"]) + u64(a["nlink"]) + u32(a["mode"]) + u32(a["uid"]) +
            u32(a["gid"]) + u64(a["rdev"]) + u64(a["size"]) + u64(a["blocks"]) +
            timestamp(a["atime"]) + timestamp(a["mtime"]) + timestamp(a["ctime"]))


def statistics(s):
    return b"".join(u64(s[k]) for k in
                    ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "namemax"))


def header(msg): return u32(msg["id"]) + u8(msg["type"])


def jsonable(v):
    """u64 values above 2^53 travel as decimal strings."""
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and v > 2**53:
        return str(v)
    return v


vectors = []


def vec(name, msg, body):
    vectors.append({"name": name, "hex": (header(msg) + body).hex(), "msg": jsonable(msg)})


H = 0x0102030405060708  # an ordinary handle
T1 = {"sec": 1700000000, "nsec": 123456789}
T2 = {"sec": 0, "nsec": 999999999}
T3 = {"sec": 2**64 - 1, "nsec": 4294967295}
ATTR = {"ino": 2, "nlink": 3, "mode": 0o100644, "uid": 1000, "gid": 100, "rdev": 0,
        "size": 2**53 + 1, "blocks": 8, "atime": T1, "mtime": T2, "ctime": T3}
STATFS = {"bsize": 4096, "frsize": 4096, "blocks": 1000000, "bfree": 500000,
          "bavail": 400000, "files": 65536, "ffree": 60000, "namemax": 255}

# ---- requests (service -> provider) ------------------------------------
m = {"id": 1, "type": 0x00}
vec("unknown_request", m, b"")
m = {"id": 2, "type": 0x01, "path": "/a", "access": 4}
vec("access_request", m, string(m["path"]) + i8(m["access"]))
m = {"id": 3, "type": 0x02, "path": "/"}
vec("getattr_request", m, string(m["path"]))
m = {"id": 4, "type": 0x03, "path": "/link"}
vec("readlink_request", m, string(m["path"]))
# symlink: target travels first (path2), then linkpath (path)
m = {"id": 5, "type": 0x04, "path2": "../target", "path": "/dir/link"}
vec("symlink_request", m, string(m["path2"]) + string(m["path"]))
m = {"id": 6, "type": 0x05, "path": "/old", "path2": "/new"}
vec("link_request", m, string(m["path"]) + string(m["path2"]))
m = {"id": 7, "type": 0x06, "path": "/from", "path2": "/to", "rename_flags": 1}
vec("rename_request", m, string(m["path"]) + string(m["path2"]) + u8(m["rename_flags"]))
m = {"id": 8, "type": 0x07, "path": "/f", "mode": 0o4755}
vec("chmod_request", m, string(m["path"]) + u32(m["mode"]))
m = {"id": 9, "type": 0x08, "path": "/f", "uid": 4294967295, "gid": 0}
vec("chown_request", m, string(m["path"]) + u32(m["uid"]) + u32(m["gid"]))
m = {"id": 10, "type": 0x09, "path": "/f", "size": 2**64 - 1, "handle": NO_HANDLE}
vec("truncate_request", m, string(m["path"]) + u64(m["size"]) + u64(m["handle"]))
m = {"id": 11, "type": 0x0a, "path": "/f", "datasync": 1, "handle": H}
vec("fsync_request", m, string(m["path"]) + u8(m["datasync"]) + u64(m["handle"]))
m = {"id": 12, "type": 0x0b, "path": "/f", "flags": 0o2101102}  # O_RDWR|O_CREAT|O_TRUNC|O_LARGEFILE|O_CLOEXEC
vec("open_request", m, string(m["path"]) + i32(m["flags"]))
m = {"id": 13, "type": 0x0c, "path": "/dev0", "mode": 0o020600, "rdev": 0x0801}
vec("mknod_request", m, string(m["path"]) + u32(m["mode"]) + u64(m["rdev"]))
m = {"id": 14, "type": 0x0d, "path": "/new", "mode": 0o100600}
vec("create_request", m, string(m["path"]) + u32(m["mode"]))
m = {"id": 15, "type": 0x0e, "path": "/f", "handle": 0}
vec("release_request", m, string(m["path"]) + u64(m["handle"]))
m = {"id": 16, "type": 0x0f, "path": "/gone"}
vec("unlink_request", m, string(m["path"]))
m = {"id": 17, "type": 0x10, "path": "/f", "length": 65536, "offset": 4096, "handle": H}
vec("read_request", m, string(m["path"]) + u32(m["length"]) + u64(m["offset"]) + u64(m["handle"]))
m = {"id": 18, "type": 0x11, "path": "/f", "data_hex": "00ff10", "offset": 2**63, "handle": 7}
vec("write_request", m, string(m["path"]) + string(bytes.fromhex(m["data_hex"])) +
    u64(m["offset"]) + u64(m["handle"]))
m = {"id": 19, "type": 0x12, "path": "/d", "mode": 0o755}
vec("mkdir_request", m, string(m["path"]) + u32(m["mode"]))
m = {"id": 20, "type": 0x13, "path": "/d"}
vec("readdir_request", m, string(m["path"]))
m = {"id": 21, "type": 0x14, "path": "/d"}
vec("rmdir_request", m, string(m["path"]))
m = {"id": 22, "type": 0x15, "path": "/"}
vec("statfs_request", m, string(m["path"]))
m = {"id": 23, "type": 0x16, "path": "/f", "atime": T1, "mtime": T2, "handle": NO_HANDLE}
vec("utimens_request", m, string(m["path"]) + timestamp(m["atime"]) + timestamp(m["mtime"]) +
    u64(m["handle"]))
m = {"id": 24, "type": 0x17}
vec("getcreds_request", m, b"")
m = {"id": 0xFFFFFFFF, "type": 0x02, "path": ""}
vec("getattr_request_empty_path_max_id", m, string(m["path"]))

# Optional extension (webfuse2 extension, docs/protocol.md): create, mkdir,
# mknod and symlink requests may end with u32 ext; bit 0x2 (owner) is followed
# by u32 uid, u32 gid of the caller. Peers without it ignore these bytes.
OWNER = 0x2
m = {"id": 25, "type": 0x0d, "path": "/f", "mode": 0o104777, "ext": OWNER, "uid": 1000, "gid": 100}
vec("create_request_owner", m, string(m["path"]) + u32(m["mode"]) + u32(m["ext"]) + u32(m["uid"]) +
    u32(m["gid"]))
m = {"id": 26, "type": 0x12, "path": "/d", "mode": 0o1777, "ext": OWNER, "uid": 0, "gid": 0}
vec("mkdir_request_owner_root", m, string(m["path"]) + u32(m["mode"]) + u32(m["ext"]) + u32(m["uid"]) +
    u32(m["gid"]))
m = {"id": 27, "type": 0x0c, "path": "/p", "mode": 0o10600, "rdev": 0, "ext": OWNER, "uid": 65534,
     "gid": 4294967295}
vec("mknod_request_owner", m, string(m["path"]) + u32(m["mode"]) + u64(m["rdev"]) + u32(m["ext"]) +
    u32(m["uid"]) + u32(m["gid"]))
m = {"id": 28, "type": 0x04, "path2": "target", "path": "/l", "ext": OWNER, "uid": 1, "gid": 2}
vec("symlink_request_owner", m, string(m["path2"]) + string(m["path"]) + u32(m["ext"]) + u32(m["uid"]) +
    u32(m["gid"]))

# ---- responses (provider -> service) -----------------------------------
m = {"id": 1, "type": 0x80}
vec("unknown_response", m, b"")
m = {"id": 2, "type": 0x81, "result": 0}
vec("access_response", m, i32(m["result"]))
m = {"id": 3, "type": 0x82, "result": 0, "attr": ATTR}
vec("getattr_response", m, i32(m["result"]) + attributes(m["attr"]))
m = {"id": 3, "type": 0x82, "result": -2}
vec("getattr_response_failed", m, i32(m["result"]))
m = {"id": 4, "type": 0x83, "result": 0, "path2": "../target"}
vec("readlink_response", m, i32(m["result"]) + string(m["path2"]))
m = {"id": 5, "type": 0x84, "result": -17}
vec("symlink_response_failed", m, i32(m["result"]))
for t, name, ident in ((0x85, "link", 6), (0x86, "rename", 7), (0x87, "chmod", 8),
                       (0x88, "chown", 9), (0x89, "truncate", 10), (0x8a, "fsync", 11),
                       (0x8c, "mknod", 13), (0x8e, "release", 15), (0x8f, "unlink", 16),
                       (0x92, "mkdir", 19), (0x94, "rmdir", 21), (0x96, "utimens", 23),
                       (0x84, "symlink", 5)):
    m = {"id": ident, "type": t, "result": 0}
    vec(name + "_response", m, i32(m["result"]))
m = {"id": 12, "type": 0x8b, "result": 0, "handle": H}
vec("open_response", m, i32(m["result"]) + u64(m["handle"]))
m = {"id": 14, "type": 0x8d, "result": 0, "handle": NO_HANDLE - 1}
vec("create_response", m, i32(m["result"]) + u64(m["handle"]))
m = {"id": 17, "type": 0x90, "result": 5, "data_hex": "68656c6c6f"}
vec("read_response", m, i32(m["result"]) + string(bytes.fromhex(m["data_hex"])))
m = {"id": 17, "type": 0x90, "result": 0, "data_hex": ""}
vec("read_response_eof", m, i32(m["result"]) + string(b""))
m = {"id": 17, "type": 0x90, "result": -2147483648}
vec("read_response_failed_int32_min", m, i32(m["result"]))
m = {"id": 18, "type": 0x91, "result": 3}
vec("write_response", m, i32(m["result"]))
m = {"id": 20, "type": 0x93, "result": 0, "names": [".", "..", "a", "", "\u00e9t\u00e9"]}
vec("readdir_response", m, i32(m["result"]) + strings(m["names"]))
m = {"id": 20, "type": 0x93, "result": 0, "names": []}
vec("readdir_response_empty", m, i32(m["result"]) + strings(m["names"]))
m = {"id": 22, "type": 0x95, "result": 0, "statfs": STATFS}
vec("statfs_response", m, i32(m["result"]) + statistics(m["statfs"]))
m = {"id": 22, "type": 0x95, "result": -38}
vec("statfs_response_failed", m, i32(m["result"]))
m = {"id": 24, "type": 0x97, "path2": "secret-token"}
vec("getcreds_response", m, string(m["path2"]))

json.dump(vectors, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
