/* Generic webfuse2 codec: every function here walks the layout table
 * (wf_layout.c); there is no per-message code. Big-endian on the wire. */
#include "wf_layout.h"
#include "wf_msg.h"

#include <string.h>

#define WF_HEADER_SIZE 5u /* id u32, type u8 */
#define WF_ATTR_SIZE (8u + 8u + 4u + 4u + 4u + 8u + 8u + 8u + 3u * 12u)
#define WF_STATFS_SIZE (8u * 8u)

/* ---- member access ---------------------------------------------------- */

#define MEMBER(m, f, T) ((T *)(void *)((char *)(m) + (f)->offset))
#define CMEMBER(m, f, T) ((const T *)(const void *)((const char *)(m) + (f)->offset))

/* ---- big-endian primitives -------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
    return ((uint64_t)get_u32(p) << 32) | get_u32(p + 4);
}

/* i32 <-> u32 two's complement without implementation-defined conversions */
static uint32_t i32_bits(int32_t v)
{
    return v < 0 ? (uint32_t)(-(v + 1)) ^ UINT32_MAX : (uint32_t)v;
}

static int32_t bits_i32(uint32_t v)
{
    return v > INT32_MAX ? -(int32_t)(v ^ UINT32_MAX) - 1 : (int32_t)v;
}

/* ---- sizes ------------------------------------------------------------ */

/* Wire size of one string list, or 0 if it cannot be encoded. */
static size_t strings_size(const struct wf_strings *s, uint32_t max)
{
    size_t n = 4;
    if (s->items) {
        for (uint32_t i = 0; i < s->count; i++) {
            const struct wf_str *it = &s->items[i];
            if ((max && it->len > max) || it->len > WF_MAX_MESSAGE_SIZE || (it->len && !it->data))
                return 0;
            n += 4u + (size_t)it->len;
            if (n > WF_MAX_MESSAGE_SIZE)
                return 0;
        }
        return n;
    }
    if (s->raw) { /* re-encoding a decoded list: raw holds the items */
        if (s->raw_len > WF_MAX_MESSAGE_SIZE)
            return 0;
        return n + s->raw_len;
    }
    return s->count == 0 ? n : 0;
}

static size_t field_size(const struct wf_msg *m, const struct wf_field *f)
{
    switch ((enum wf_kind)f->kind) {
    case WF_K_U8:
    case WF_K_I8:
    case WF_K_BOOL:
        return 1;
    case WF_K_U32:
    case WF_K_I32:
    case WF_K_RESULT:
        return 4;
    case WF_K_U64:
        return 8;
    case WF_K_TIMESTAMP:
        return 12;
    case WF_K_ATTRIBUTES:
        return WF_ATTR_SIZE;
    case WF_K_STATISTICS:
        return WF_STATFS_SIZE;
    case WF_K_STRING:
    case WF_K_BYTES: {
        const struct wf_str *s = CMEMBER(m, f, struct wf_str);
        /* the size check also keeps 4 + len from wrapping a 32-bit size_t */
        if ((f->max && s->len > f->max) || s->len > WF_MAX_MESSAGE_SIZE || (s->len && !s->data))
            return 0;
        return 4u + (size_t)s->len;
    }
    case WF_K_STRINGS:
        return strings_size(CMEMBER(m, f, struct wf_strings), f->max);
    case WF_K_EXT: {
        uint32_t ext = *CMEMBER(m, f, uint32_t);
        return 4u + ((ext & WF_EXT_OWNER) ? 8u : 0u) + ((ext & WF_EXT_HANDLE) ? 8u : 0u);
    }
    case WF_K_ATTR_LIST: {
        const struct wf_attrs *l = CMEMBER(m, f, struct wf_attrs);
        if (!l->items && !l->raw && l->count)
            return 0;
        if (l->count > (WF_MAX_MESSAGE_SIZE - 4u) / WF_ATTR_SIZE)
            return 0;
        return 4u + (size_t)l->count * WF_ATTR_SIZE;
    }
    case WF_K_END:
        break;
    }
    return 0;
}

/* An optional field that is not set ends the message (see WF_FF_OPTIONAL). */
static int absent(const struct wf_msg *m, const struct wf_field *f)
{
    if (!(f->flags & WF_FF_OPTIONAL))
        return 0;
    if (f->kind == WF_K_ATTR_LIST) {
        const struct wf_attrs *l = CMEMBER(m, f, struct wf_attrs);
        return !l->items && !l->raw;
    }
    if (f->kind == WF_K_EXT)
        return (*CMEMBER(m, f, uint32_t) & WF_EXT_CREATE_KNOWN) == 0;
    return *CMEMBER(m, f, uint32_t) == 0; /* WF_K_U32 */
}

/* Field list for encoding m, or NULL if not encodable. The opaque unknown
 * request (0x00) encodes as id and type only. */
static const struct wf_field *encode_fields(const struct wf_msg *m)
{
    static const struct wf_field none[1] = { { 0 } };
    const struct wf_field *fields = wf_layout_fields(m->type);
    if (!fields && wf_layout_of(m->type))
        fields = none; /* 0x00 request: id and type only */
    return fields;
}

size_t wf_encoded_size(const struct wf_msg *m)
{
    const struct wf_field *f = encode_fields(m);
    size_t n = WF_HEADER_SIZE;
    if (!f)
        return 0;
    for (; f->kind != WF_K_END && !absent(m, f); f++) {
        size_t s = field_size(m, f);
        if (s == 0)
            return 0;
        if ((f->flags & WF_FF_RESULT_LEN) && m->result >= 0) {
            const struct wf_str *d = CMEMBER(m, f, struct wf_str);
            if ((uint32_t)m->result != d->len)
                return 0;
        }
        n += s;
        if (n > WF_MAX_MESSAGE_SIZE)
            return 0;
        if (f->kind == WF_K_RESULT && m->result < 0)
            break;
    }
    return n;
}

size_t wf_data_offset(const struct wf_msg *m)
{
    const struct wf_field *f = wf_layout_fields(m->type);
    size_t n = WF_HEADER_SIZE;
    if (!f)
        return 0;
    for (; f->kind != WF_K_END; f++) {
        if (f->kind == WF_K_BYTES)
            return n + 4u;
        size_t s = field_size(m, f);
        if (s == 0)
            return 0;
        n += s;
    }
    return 0;
}

/* ---- encode ----------------------------------------------------------- */

static uint8_t *put_str(uint8_t *p, const struct wf_str *s)
{
    put_u32(p, s->len);
    p += 4;
    /* data may already sit in place (provider read straight into buf) */
    if (s->len && (const uint8_t *)s->data != p)
        memmove(p, s->data, s->len);
    return p + s->len;
}

static uint8_t *put_time(uint8_t *p, const struct wf_time *t)
{
    put_u64(p, t->sec);
    put_u32(p + 8, t->nsec);
    return p + 12;
}

static uint8_t *put_attr(uint8_t *p, const struct wf_attr *a)
{
    put_u64(p, a->ino);
    put_u64(p + 8, a->nlink);
    put_u32(p + 16, a->mode);
    put_u32(p + 20, a->uid);
    put_u32(p + 24, a->gid);
    put_u64(p + 28, a->rdev);
    put_u64(p + 36, a->size);
    put_u64(p + 44, a->blocks);
    p = put_time(p + 52, &a->atime);
    p = put_time(p, &a->mtime);
    return put_time(p, &a->ctime);
}

static uint8_t *put_field(uint8_t *p, const struct wf_msg *m, const struct wf_field *f)
{
    switch ((enum wf_kind)f->kind) {
    case WF_K_U8:
        *p = *CMEMBER(m, f, uint8_t);
        return p + 1;
    case WF_K_I8:
        *p = (uint8_t)i32_bits(*CMEMBER(m, f, int8_t));
        return p + 1;
    case WF_K_BOOL:
        *p = *CMEMBER(m, f, uint8_t) ? 1 : 0;
        return p + 1;
    case WF_K_U32:
        put_u32(p, *CMEMBER(m, f, uint32_t));
        return p + 4;
    case WF_K_EXT: {
        uint32_t ext = *CMEMBER(m, f, uint32_t) & WF_EXT_CREATE_KNOWN;
        put_u32(p, ext);
        p += 4;
        if (ext & WF_EXT_OWNER) {
            put_u32(p, m->uid);
            put_u32(p + 4, m->gid);
            p += 8;
        }
        if (ext & WF_EXT_HANDLE) {
            put_u64(p, m->handle);
            p += 8;
        }
        return p;
    }
    case WF_K_I32:
    case WF_K_RESULT:
        put_u32(p, i32_bits(*CMEMBER(m, f, int32_t)));
        return p + 4;
    case WF_K_U64:
        put_u64(p, *CMEMBER(m, f, uint64_t));
        return p + 8;
    case WF_K_STRING:
    case WF_K_BYTES:
        return put_str(p, CMEMBER(m, f, struct wf_str));
    case WF_K_STRINGS: {
        const struct wf_strings *s = CMEMBER(m, f, struct wf_strings);
        put_u32(p, s->count);
        p += 4;
        if (s->items) {
            for (uint32_t i = 0; i < s->count; i++)
                p = put_str(p, &s->items[i]);
        } else if (s->raw_len) {
            memmove(p, s->raw, s->raw_len);
            p += s->raw_len;
        }
        return p;
    }
    case WF_K_TIMESTAMP:
        return put_time(p, CMEMBER(m, f, struct wf_time));
    case WF_K_ATTRIBUTES:
        return put_attr(p, CMEMBER(m, f, struct wf_attr));
    case WF_K_ATTR_LIST: {
        const struct wf_attrs *l = CMEMBER(m, f, struct wf_attrs);
        put_u32(p, l->count);
        p += 4;
        if (!l->items) { /* re-encoding a decoded list */
            memmove(p, l->raw, (size_t)l->count * WF_ATTR_SIZE);
            return p + (size_t)l->count * WF_ATTR_SIZE;
        }
        for (uint32_t i = 0; i < l->count; i++)
            p = put_attr(p, &l->items[i]);
        return p;
    }
    case WF_K_STATISTICS: {
        const struct wf_statfs *s = CMEMBER(m, f, struct wf_statfs);
        const uint64_t v[8] = { s->bsize, s->frsize, s->blocks, s->bfree,
                                s->bavail, s->files, s->ffree, s->namemax };
        for (int i = 0; i < 8; i++, p += 8)
            put_u64(p, v[i]);
        return p;
    }
    case WF_K_END:
        break;
    }
    return p;
}

size_t wf_encode(const struct wf_msg *m, uint8_t *buf, size_t cap)
{
    size_t n = wf_encoded_size(m);
    if (n == 0 || n > cap || !buf)
        return 0;
    uint8_t *p = buf;
    put_u32(p, m->id);
    p[4] = m->type;
    p += WF_HEADER_SIZE;
    for (const struct wf_field *f = encode_fields(m); f->kind != WF_K_END && !absent(m, f); f++) {
        p = put_field(p, m, f);
        if (f->kind == WF_K_RESULT && m->result < 0)
            break;
    }
    return (size_t)(p - buf);
}

/* ---- decode ----------------------------------------------------------- */

struct reader {
    const uint8_t *p;
    size_t left;
};

static int need(const struct reader *r, size_t n)
{
    return r->left >= n;
}

static const uint8_t *take(struct reader *r, size_t n)
{
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static int get_str(struct reader *r, struct wf_str *out, uint32_t max)
{
    if (!need(r, 4))
        return WF_ERR_TRUNCATED;
    uint32_t len = get_u32(r->p);
    if (max && len > max)
        return WF_ERR_TOO_LARGE;
    if (r->left - 4 < len)
        return WF_ERR_TRUNCATED;
    take(r, 4);
    out->len = len;
    out->data = (const char *)take(r, len);
    return WF_OK;
}

static void get_time(const uint8_t *p, struct wf_time *t)
{
    t->sec = get_u64(p);
    t->nsec = get_u32(p + 8);
}

static void get_attr(const uint8_t *p, struct wf_attr *a)
{
    a->ino = get_u64(p);
    a->nlink = get_u64(p + 8);
    a->mode = get_u32(p + 16);
    a->uid = get_u32(p + 20);
    a->gid = get_u32(p + 24);
    a->rdev = get_u64(p + 28);
    a->size = get_u64(p + 36);
    a->blocks = get_u64(p + 44);
    get_time(p + 52, &a->atime);
    get_time(p + 64, &a->mtime);
    get_time(p + 76, &a->ctime);
}

static int get_strings(struct reader *r, struct wf_strings *out, uint32_t max)
{
    if (!need(r, 4))
        return WF_ERR_TRUNCATED;
    uint32_t count = get_u32(take(r, 4));
    if (count > r->left / 4) /* every item needs at least its length */
        return WF_ERR_TRUNCATED;
    const uint8_t *start = r->p;
    for (uint32_t i = 0; i < count; i++) {
        struct wf_str s;
        int rc = get_str(r, &s, max);
        if (rc != WF_OK)
            return rc;
    }
    out->count = count;
    out->items = NULL;
    out->raw = start;
    out->raw_len = (size_t)(r->p - start);
    return WF_OK;
}

static int get_field(struct reader *r, struct wf_msg *m, const struct wf_field *f)
{
    switch ((enum wf_kind)f->kind) {
    case WF_K_U8:
    case WF_K_I8:
    case WF_K_BOOL: {
        if (!need(r, 1))
            return WF_ERR_TRUNCATED;
        uint8_t v = *take(r, 1);
        if (f->kind == WF_K_U8)
            *MEMBER(m, f, uint8_t) = v;
        else if (f->kind == WF_K_BOOL)
            *MEMBER(m, f, uint8_t) = v != 0;
        else
            *MEMBER(m, f, int8_t) = (int8_t)bits_i32(v > INT8_MAX ? v | 0xFFFFFF00u : v);
        return WF_OK;
    }
    case WF_K_U32:
        if (!need(r, 4))
            return WF_ERR_TRUNCATED;
        *MEMBER(m, f, uint32_t) = get_u32(take(r, 4));
        return WF_OK;
    case WF_K_I32:
    case WF_K_RESULT:
        if (!need(r, 4))
            return WF_ERR_TRUNCATED;
        *MEMBER(m, f, int32_t) = bits_i32(get_u32(take(r, 4)));
        return WF_OK;
    case WF_K_EXT: {
        if (!need(r, 4))
            return WF_ERR_TRUNCATED;
        uint32_t ext = get_u32(r->p) & WF_EXT_CREATE_KNOWN;
        size_t size = 4u + ((ext & WF_EXT_OWNER) ? 8u : 0u) + ((ext & WF_EXT_HANDLE) ? 8u : 0u);
        if (!need(r, size))
            return WF_ERR_TRUNCATED;
        take(r, 4);
        if (ext & WF_EXT_OWNER) {
            m->uid = get_u32(take(r, 4));
            m->gid = get_u32(take(r, 4));
        }
        if (ext & WF_EXT_HANDLE)
            m->handle = get_u64(take(r, 8));
        *MEMBER(m, f, uint32_t) = ext;
        return WF_OK;
    }
    case WF_K_U64:
        if (!need(r, 8))
            return WF_ERR_TRUNCATED;
        *MEMBER(m, f, uint64_t) = get_u64(take(r, 8));
        return WF_OK;
    case WF_K_STRING:
        return get_str(r, MEMBER(m, f, struct wf_str), f->max);
    case WF_K_BYTES: {
        struct wf_str *d = MEMBER(m, f, struct wf_str);
        if (f->flags & WF_FF_RESULT_LEN) {
            if (r->left == 0 && m->result == 0) { /* EOF without data field */
                d->data = (const char *)r->p;
                d->len = 0;
                return WF_OK;
            }
        }
        int rc = get_str(r, d, f->max);
        if (rc == WF_OK && (f->flags & WF_FF_RESULT_LEN) && (uint32_t)m->result != d->len)
            return WF_ERR_INVALID;
        return rc;
    }
    case WF_K_STRINGS:
        return get_strings(r, MEMBER(m, f, struct wf_strings), f->max);
    case WF_K_TIMESTAMP:
        if (!need(r, 12))
            return WF_ERR_TRUNCATED;
        get_time(take(r, 12), MEMBER(m, f, struct wf_time));
        return WF_OK;
    case WF_K_ATTRIBUTES:
        if (!need(r, WF_ATTR_SIZE))
            return WF_ERR_TRUNCATED;
        get_attr(take(r, WF_ATTR_SIZE), MEMBER(m, f, struct wf_attr));
        return WF_OK;
    case WF_K_ATTR_LIST: {
        if (!need(r, 4))
            return WF_ERR_TRUNCATED;
        uint32_t count = get_u32(r->p);
        if (count > (r->left - 4) / WF_ATTR_SIZE)
            return WF_ERR_TRUNCATED;
        take(r, 4);
        struct wf_attrs *l = MEMBER(m, f, struct wf_attrs);
        l->count = count;
        l->items = NULL;
        l->raw = take(r, (size_t)count * WF_ATTR_SIZE);
        return WF_OK;
    }
    case WF_K_STATISTICS: {
        if (!need(r, WF_STATFS_SIZE))
            return WF_ERR_TRUNCATED;
        const uint8_t *p = take(r, WF_STATFS_SIZE);
        struct wf_statfs *s = MEMBER(m, f, struct wf_statfs);
        uint64_t *v[8] = { &s->bsize, &s->frsize, &s->blocks, &s->bfree,
                           &s->bavail, &s->files, &s->ffree, &s->namemax };
        for (int i = 0; i < 8; i++)
            *v[i] = get_u64(p + 8 * i);
        return WF_OK;
    }
    case WF_K_END:
        break;
    }
    return WF_ERR_INVALID;
}

int wf_decode(const uint8_t *buf, size_t len, struct wf_msg *m)
{
    memset(m, 0, sizeof *m);
    m->handle = WF_NO_HANDLE;
    if (!buf || len < WF_HEADER_SIZE)
        return WF_ERR_TRUNCATED;
    m->id = get_u32(buf);
    m->type = buf[4];
    if (len > WF_MAX_MESSAGE_SIZE)
        return WF_ERR_TOO_LARGE;
    const struct wf_field *f = wf_layout_fields(m->type);
    if (!f)
        return WF_ERR_UNKNOWN_TYPE;
    struct reader r = { buf + WF_HEADER_SIZE, len - WF_HEADER_SIZE };
    for (; f->kind != WF_K_END; f++) {
        if (f->flags & WF_FF_OPTIONAL) {
            /* Trailing bytes that do not form the extension are someone
             * else's optional data: ignored, like any trailing bytes. */
            struct reader probe = r;
            if (get_field(&probe, m, f) != WF_OK) {
                memset((char *)m + f->offset, 0, f->kind == WF_K_ATTR_LIST ? sizeof(struct wf_attrs) : 4u);
                if (f->kind == WF_K_EXT) {
                    m->uid = m->gid = 0;
                    m->handle = WF_NO_HANDLE;
                }
                break;
            }
            r = probe;
            continue;
        }
        int rc = get_field(&r, m, f);
        if (rc != WF_OK)
            return rc;
        if (f->kind == WF_K_RESULT && m->result < 0)
            break; /* failed response: nothing follows */
    }
    return WF_OK; /* trailing bytes are room for optional fields */
}

/* ---- helpers ---------------------------------------------------------- */

int wf_strings_next(const struct wf_strings *s, size_t *pos, struct wf_str *out)
{
    if (!s || !pos || !out)
        return 0;
    if (s->items) { /* encode-side list: *pos is an index */
        if (*pos >= s->count)
            return 0;
        *out = s->items[(*pos)++];
        return 1;
    }
    if (!s->raw || *pos >= s->raw_len || s->raw_len - *pos < 4)
        return 0;
    uint32_t len = get_u32(s->raw + *pos);
    if (s->raw_len - *pos - 4 < len)
        return 0;
    out->data = (const char *)s->raw + *pos + 4;
    out->len = len;
    *pos += 4u + (size_t)len;
    return 1;
}

int wf_attrs_get(const struct wf_attrs *l, uint32_t i, struct wf_attr *out)
{
    if (!l || !out || i >= l->count)
        return -1;
    if (l->items)
        *out = l->items[i];
    else if (l->raw)
        get_attr(l->raw + (size_t)i * WF_ATTR_SIZE, out);
    else
        return -1;
    return 0;
}

int wf_str_copy(struct wf_str s, char *dst, size_t cap)
{
    if (!dst || cap == 0 || (size_t)s.len >= cap)
        return -1;
    if (s.len && !s.data)
        return -1;
    if (s.len && memchr(s.data, '\0', s.len))
        return -1;
    if (s.len)
        memcpy(dst, s.data, s.len);
    dst[s.len] = '\0';
    return 0;
}
