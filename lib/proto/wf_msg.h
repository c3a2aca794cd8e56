/* webfuse2 messages: one in-memory form for every request and response, and the
 * codec that turns it into wire bytes and back. No I/O, no allocation. */
#ifndef WF_MSG_H
#define WF_MSG_H

#include <stddef.h>
#include <stdint.h>

#define WF_PROTOCOL_NAME "webfuse2"
/* The same protocol; a service that selects this name (a provider offers it
 * first, then "webfuse2") promises a request at least every few seconds
 * while the provider is attached (a heartbeat), so a provider that cannot
 * see WebSocket pings, a browser page, can take silence for a lost device. */
#define WF_PROTOCOL_HEARTBEAT "webfuse2-heartbeat"

/* Largest message either side accepts or produces (header included). Reads and
 * writes are at most 1 MiB of payload; the rest is room for big directories. */
#define WF_MAX_MESSAGE_SIZE (16u * 1024u * 1024u)
#define WF_MAX_PATH 4096u /* longest path (bytes) a peer may send */

#define WF_NO_HANDLE UINT64_MAX
#define WF_RESPONSE 0x80u /* response type = request type | WF_RESPONSE */

enum wf_type {
    WF_UNKNOWN = 0x00,
    WF_ACCESS = 0x01, WF_GETATTR = 0x02, WF_READLINK = 0x03, WF_SYMLINK = 0x04,
    WF_LINK = 0x05, WF_RENAME = 0x06, WF_CHMOD = 0x07, WF_CHOWN = 0x08,
    WF_TRUNCATE = 0x09, WF_FSYNC = 0x0a, WF_OPEN = 0x0b, WF_MKNOD = 0x0c,
    WF_CREATE = 0x0d, WF_RELEASE = 0x0e, WF_UNLINK = 0x0f, WF_READ = 0x10,
    WF_WRITE = 0x11, WF_MKDIR = 0x12, WF_READDIR = 0x13, WF_RMDIR = 0x14,
    WF_STATFS = 0x15, WF_UTIMENS = 0x16, WF_GETCREDS = 0x17,
    WF_TYPE_COUNT = 0x18
};

/* Decode results (negative) */
enum wf_status {
    WF_OK = 0,
    WF_ERR_TRUNCATED = -1,    /* buffer ends inside a field / length runs past the end */
    WF_ERR_UNKNOWN_TYPE = -2, /* id and type are filled in, nothing else */
    WF_ERR_TOO_LARGE = -3,    /* message or path exceeds the limits above */
    WF_ERR_INVALID = -4       /* other malformed content */
};

/* A byte string that lives elsewhere (in the wire buffer after decode). Not
 * NUL-terminated; may contain NUL bytes. */
struct wf_str {
    const char *data;
    uint32_t len;
};

/* A list of strings. Encoding reads items/count; decoding sets count and the
 * raw, already-validated wire bytes, walked with wf_strings_next(). */
struct wf_strings {
    uint32_t count;
    const struct wf_str *items; /* encode side */
    const uint8_t *raw;         /* decode side */
    size_t raw_len;
};

/* A list of attributes (readdir extension). Encoding reads items/count;
 * decoding sets count and the validated wire bytes, read with wf_attrs_get(). */
struct wf_attrs {
    uint32_t count;
    const struct wf_attr *items; /* encode side */
    const uint8_t *raw;          /* decode side */
};

struct wf_time {
    uint64_t sec;
    uint32_t nsec;
};

struct wf_attr {
    uint64_t ino, nlink;
    uint32_t mode, uid, gid; /* mode in wire values */
    uint64_t rdev, size, blocks;
    struct wf_time atime, mtime, ctime;
};

struct wf_statfs {
    uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, namemax;
};

/* Optional extensions, carried in trailing fields that peers without them
 * ignore (every receiver accepts extra trailing bytes):
 *   readdir request  + u32 ext          WF_EXT_READDIR_ATTRS: "send attributes too"
 *   readdir response + u32 count, count x attributes (one per name, same order;
 *                      mode 0 = unknown). Sent only when asked for. */
#define WF_EXT_READDIR_ATTRS 0x1u
/*   create, mkdir, mknod, symlink request + u32 ext, then per set bit its
 *                      fields, in bit order:
 *     WF_EXT_OWNER     u32 uid, u32 gid: the caller's (fs)uid/fsgid. The
 *                      provider gives the new entry this owner when it may
 *                      (it runs as root, or the ids are its own) and ignores
 *                      it otherwise. A receiver drops bits it does not know
 *                      and whatever follows the fields of the bits it knows;
 *                      an ext whose fields are cut short is dropped whole. */
#define WF_EXT_OWNER 0x2u
/*   getattr request + u32 ext, then per set bit its fields (as above):
 *     WF_EXT_HANDLE    u64 handle: the attributes of this open file (fstat),
 *                      also when its name is gone. A provider without it
 *                      answers by path, as before. */
#define WF_EXT_HANDLE 0x4u
/* Extension bits a receiver knows; their fields travel in bit order. */
#define WF_EXT_CREATE_KNOWN (WF_EXT_OWNER | WF_EXT_HANDLE)

/* Every field any message has. Which ones a message uses, and in which order
 * they travel, is described once in the layout table (wf_layout.c):
 *   path      : path / old_path / symlink linkpath
 *   path2     : link, rename new_path; symlink target; readlink result target;
 *               getcreds credentials
 *   mode      : chmod, mknod, create, mkdir (wire values)
 *   access    : access mode (wire, one byte)
 *   flags     : open flags (wire values)
 *   rename_flags, datasync, rdev
 *   uid, gid  : chown; the creator with WF_EXT_OWNER (create, mkdir, mknod,
 *               symlink)
 *   size      : truncate size
 *   length    : read request size
 *   offset    : read/write offset
 *   handle    : WF_NO_HANDLE when absent
 *   data      : read response payload, write request payload
 *   ext       : readdir request extension bits; create, mkdir, mknod and
 *               symlink request extension bits (optional fields)
 *   attrs     : readdir response attributes (optional field)
 */
struct wf_msg {
    uint32_t id;
    uint8_t type; /* includes WF_RESPONSE for responses */
    int32_t result;
    struct wf_str path, path2, data;
    struct wf_strings names;
    struct wf_attrs attrs;
    uint32_t ext;
    uint32_t mode, uid, gid, length;
    int32_t flags;
    int8_t access;
    uint8_t rename_flags, datasync;
    uint64_t rdev, size, offset, handle;
    struct wf_time atime, mtime;
    struct wf_attr attr;
    struct wf_statfs statfs;
};

/* "getattr", "read", ... or NULL for a type outside the table. Works for
 * request and response types alike. */
const char *wf_type_name(uint8_t type);

/* Bytes wf_encode() will write, or 0 if the type is not encodable. */
size_t wf_encoded_size(const struct wf_msg *m);

/* Writes m into buf. Returns the byte count, or 0 if buf is too small, the
 * type unknown or the result too large for WF_MAX_MESSAGE_SIZE. A response with
 * result < 0 is encoded with nothing after the result. If m->data.data already
 * points at the right place inside buf, the payload is not copied (lets a
 * provider pread() straight into the output buffer). */
size_t wf_encode(const struct wf_msg *m, uint8_t *buf, size_t cap);

/* Byte offset of the payload in an encoded read response / write request
 * (so callers can place data before encoding). 0 for other types. */
size_t wf_data_offset(const struct wf_msg *m);

/* Parses len bytes at buf into m (zeroed first; handle defaults to
 * WF_NO_HANDLE). Strings point into buf. Trailing bytes are accepted. Never
 * reads outside [buf, buf+len). Returns WF_OK or a negative wf_status. */
int wf_decode(const uint8_t *buf, size_t len, struct wf_msg *m);

/* Walks a decoded string list: *pos starts at 0. Returns 1 and fills *out
 * while items remain, 0 at the end. */
int wf_strings_next(const struct wf_strings *s, size_t *pos, struct wf_str *out);

/* Reads item i of a decoded (or encode-side) attribute list. Returns 0, or -1
 * when i is out of range. */
int wf_attrs_get(const struct wf_attrs *l, uint32_t i, struct wf_attr *out);

/* Copies s into dst as a C string. Returns 0, or -1 if s holds a NUL byte or
 * does not fit (cap includes the terminator). */
int wf_str_copy(struct wf_str s, char *dst, size_t cap);

static inline struct wf_str wf_str_of(const char *cstr);

#include <string.h>
static inline struct wf_str wf_str_of(const char *cstr)
{
    struct wf_str s = { cstr, cstr ? (uint32_t)strlen(cstr) : 0 };
    return s;
}

#endif
