/* The webfuse2 message layouts (see /work/shared/webfuse2-protocol.md, table
 * "Messages"): for every type the ordered request and response fields, each
 * naming the struct wf_msg member it travels in. This is the only place that
 * knows the order of fields on the wire. */
#include "wf_layout.h"

#include <stddef.h>

/* offsetof(struct wf_msg, member), refusing to compile if the member's size
 * does not match the kind (a negative array size is a constant error). */
#define WF_MEMBER_SIZE(member) sizeof(((struct wf_msg *)0)->member)
#define WF_OFF(member, size) \
    (uint16_t)(offsetof(struct wf_msg, member) + \
               0 * sizeof(char[(WF_MEMBER_SIZE(member) == (size)) ? 1 : -1]))

#define FIELD(kind, member, size, max) { kind, 0, WF_OFF(member, size), max }

#define U8(m) FIELD(WF_K_U8, m, 1, 0)
#define I8(m) FIELD(WF_K_I8, m, 1, 0)
#define U32(m) FIELD(WF_K_U32, m, 4, 0)
#define I32(m) FIELD(WF_K_I32, m, 4, 0)
#define U64(m) FIELD(WF_K_U64, m, 8, 0)
#define BOOL(m) FIELD(WF_K_BOOL, m, 1, 0)
#define PATH(m) FIELD(WF_K_STRING, m, sizeof(struct wf_str), WF_MAX_PATH)
#define TEXT(m, max) FIELD(WF_K_STRING, m, sizeof(struct wf_str), max)
#define BYTES(m) FIELD(WF_K_BYTES, m, sizeof(struct wf_str), 0)
#define NAMES(m) FIELD(WF_K_STRINGS, m, sizeof(struct wf_strings), WF_MAX_PATH)
#define TIME(m) FIELD(WF_K_TIMESTAMP, m, sizeof(struct wf_time), 0)
#define ATTR(m) FIELD(WF_K_ATTRIBUTES, m, sizeof(struct wf_attr), 0)
#define STATFS(m) FIELD(WF_K_STATISTICS, m, sizeof(struct wf_statfs), 0)
#define HANDLE U64(handle)
#define RESULT FIELD(WF_K_RESULT, result, 4, 0)
/* read response payload: length equals result, absent allowed at EOF */
#define READ_DATA { WF_K_BYTES, WF_FF_RESULT_LEN, WF_OFF(data, sizeof(struct wf_str)), 0 }

/* extensions (see wf_msg.h): optional trailing fields */
#define OPT_U32(m) { WF_K_U32, WF_FF_OPTIONAL, WF_OFF(m, 4), 0 }
#define OPT_ATTRS(m) { WF_K_ATTR_LIST, WF_FF_OPTIONAL, WF_OFF(m, sizeof(struct wf_attrs)), 0 }
/* extension bits and their fields (WF_EXT_OWNER on creation, WF_EXT_HANDLE on getattr) */
#define OPT_EXT { WF_K_EXT, WF_FF_OPTIONAL, WF_OFF(ext, 4), 0 }

#define REQ(...) { __VA_ARGS__ }
#define RESP(...) { __VA_ARGS__ }
#define NONE { { 0 } }

static const struct wf_layout wf_layouts[WF_TYPE_COUNT] = {
    [WF_UNKNOWN] = { "unknown", WF_LF_OPAQUE_REQUEST, NONE, NONE },
    [WF_ACCESS] = { "access", 0, REQ(PATH(path), I8(access)), RESP(RESULT) },
    [WF_GETATTR] = { "getattr", 0, REQ(PATH(path), OPT_EXT), RESP(RESULT, ATTR(attr)) },
    [WF_READLINK] = { "readlink", 0, REQ(PATH(path)), RESP(RESULT, PATH(path2)) },
    /* symlink: target string -> path2, linkpath string -> path */
    [WF_SYMLINK] = { "symlink", 0, REQ(PATH(path2), PATH(path), OPT_EXT), RESP(RESULT) },
    [WF_LINK] = { "link", 0, REQ(PATH(path), PATH(path2)), RESP(RESULT) },
    [WF_RENAME] = { "rename", 0, REQ(PATH(path), PATH(path2), U8(rename_flags)), RESP(RESULT) },
    [WF_CHMOD] = { "chmod", 0, REQ(PATH(path), U32(mode)), RESP(RESULT) },
    [WF_CHOWN] = { "chown", 0, REQ(PATH(path), U32(uid), U32(gid)), RESP(RESULT) },
    [WF_TRUNCATE] = { "truncate", 0, REQ(PATH(path), U64(size), HANDLE), RESP(RESULT) },
    [WF_FSYNC] = { "fsync", 0, REQ(PATH(path), BOOL(datasync), HANDLE), RESP(RESULT) },
    [WF_OPEN] = { "open", 0, REQ(PATH(path), I32(flags)), RESP(RESULT, HANDLE) },
    [WF_MKNOD] = { "mknod", 0, REQ(PATH(path), U32(mode), U64(rdev), OPT_EXT), RESP(RESULT) },
    [WF_CREATE] = { "create", 0, REQ(PATH(path), U32(mode), OPT_EXT), RESP(RESULT, HANDLE) },
    [WF_RELEASE] = { "release", 0, REQ(PATH(path), HANDLE), RESP(RESULT) },
    [WF_UNLINK] = { "unlink", 0, REQ(PATH(path)), RESP(RESULT) },
    [WF_READ] = { "read", 0, REQ(PATH(path), U32(length), U64(offset), HANDLE),
                  RESP(RESULT, READ_DATA) },
    [WF_WRITE] = { "write", 0, REQ(PATH(path), BYTES(data), U64(offset), HANDLE), RESP(RESULT) },
    [WF_MKDIR] = { "mkdir", 0, REQ(PATH(path), U32(mode), OPT_EXT), RESP(RESULT) },
    [WF_READDIR] = { "readdir", 0, REQ(PATH(path), OPT_U32(ext)),
                     RESP(RESULT, NAMES(names), OPT_ATTRS(attrs)) },
    [WF_RMDIR] = { "rmdir", 0, REQ(PATH(path)), RESP(RESULT) },
    [WF_STATFS] = { "statfs", 0, REQ(PATH(path)), RESP(RESULT, STATFS(statfs)) },
    [WF_UTIMENS] = { "utimens", 0, REQ(PATH(path), TIME(atime), TIME(mtime), HANDLE), RESP(RESULT) },
    /* getcreds: empty request; the response is the credentials string in
     * path2 and has no result field */
    [WF_GETCREDS] = { "getcreds", 0, NONE, RESP(TEXT(path2, WF_MAX_CREDENTIALS)) },
};

const struct wf_layout *wf_layout_of(uint8_t type)
{
    uint8_t t = (uint8_t)(type & ~WF_RESPONSE);
    if (t >= WF_TYPE_COUNT)
        return NULL;
    return &wf_layouts[t];
}

const struct wf_field *wf_layout_fields(uint8_t type)
{
    const struct wf_layout *l = wf_layout_of(type);
    if (!l)
        return NULL;
    if (type & WF_RESPONSE)
        return l->resp;
    if (l->flags & WF_LF_OPAQUE_REQUEST)
        return NULL;
    return l->req;
}

const char *wf_type_name(uint8_t type)
{
    const struct wf_layout *l = wf_layout_of(type);
    return l ? l->name : NULL;
}
