/* webfuse2 codec: golden vectors (tests/vectors/golden.json, turned into
 * golden_vectors.h at build time by tests/vectors/golden_to_c.py) in both
 * directions, round trips with boundary values, truncation, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/wf_layout.h"
#include "proto/wf_msg.h"

#include "golden_vectors.h" /* generated from tests/vectors/golden.json */

/* ---- hex -------------------------------------------------------------- */

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    assert_int_equal(n % 2, 0);
    uint8_t *out = malloc(n / 2 + 1); /* +1: never malloc(0) */
    assert_non_null(out);
    for (size_t i = 0; i < n / 2; i++) {
        char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };
        out[i] = (uint8_t)strtoul(b, NULL, 16);
    }
    *len = n / 2;
    return out;
}

/* exact-size heap copy so ASan catches any over-read */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

/* ---- messages --------------------------------------------------------- */

static void msg_init(struct wf_msg *m)
{
    memset(m, 0, sizeof *m);
    m->handle = WF_NO_HANDLE;
}

/* ---- comparison ------------------------------------------------------- */

static void assert_str_eq(struct wf_str a, struct wf_str b, const char *what)
{
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
        fail_msg("%s differs (len %u vs %u)", what, a.len, b.len);
}

static void assert_time_eq(const struct wf_time *a, const struct wf_time *b)
{
    assert_true(a->sec == b->sec);
    assert_int_equal(a->nsec, b->nsec);
}

static void assert_attr_eq(const struct wf_attr *a, const struct wf_attr *b)
{
    assert_true(a->ino == b->ino && a->nlink == b->nlink);
    assert_true(a->mode == b->mode && a->uid == b->uid && a->gid == b->gid);
    assert_true(a->rdev == b->rdev && a->size == b->size && a->blocks == b->blocks);
    assert_time_eq(&a->atime, &b->atime);
    assert_time_eq(&a->mtime, &b->mtime);
    assert_time_eq(&a->ctime, &b->ctime);
}

static void assert_msg_eq(const struct wf_msg *a, const struct wf_msg *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->result, b->result);
    assert_str_eq(a->path, b->path, "path");
    assert_str_eq(a->path2, b->path2, "path2");
    assert_str_eq(a->data, b->data, "data");
    assert_int_equal(a->names.count, b->names.count);
    size_t pa = 0, pb = 0;
    struct wf_str sa, sb;
    uint32_t n = 0;
    while (wf_strings_next(&a->names, &pa, &sa)) {
        assert_int_equal(wf_strings_next(&b->names, &pb, &sb), 1);
        assert_str_eq(sa, sb, "names item");
        n++;
    }
    assert_int_equal(wf_strings_next(&b->names, &pb, &sb), 0);
    assert_int_equal(n, a->names.count);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->access, b->access);
    assert_int_equal(a->rename_flags, b->rename_flags);
    assert_int_equal(a->datasync, b->datasync);
    assert_true(a->rdev == b->rdev);
    assert_true(a->size == b->size);
    assert_true(a->offset == b->offset);
    assert_true(a->handle == b->handle);
    assert_time_eq(&a->atime, &b->atime);
    assert_time_eq(&a->mtime, &b->mtime);
    assert_attr_eq(&a->attr, &b->attr);
    assert_int_equal(a->ext, b->ext);
    assert_int_equal(a->attrs.count, b->attrs.count);
    for (uint32_t i = 0; i < a->attrs.count; i++) {
        struct wf_attr x, y;
        assert_int_equal(wf_attrs_get(&a->attrs, i, &x), 0);
        assert_int_equal(wf_attrs_get(&b->attrs, i, &y), 0);
        assert_attr_eq(&x, &y);
    }
    assert_memory_equal(&a->statfs, &b->statfs, sizeof a->statfs);
}

/* ---- golden tests ----------------------------------------------------- */

struct vec {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    struct wf_msg msg;
};

static struct vec vecs[GOLDEN_COUNT];
static size_t nvecs;

static int setup(void **state)
{
    for (size_t i = 0; i < GOLDEN_COUNT; i++) {
        vecs[i].name = golden_vecs[i].name;
        vecs[i].bytes = golden_vecs[i].bytes;
        vecs[i].len = golden_vecs[i].len;
        msg_init(&vecs[i].msg);
        golden_vecs[i].fill(&vecs[i].msg);
    }
    nvecs = GOLDEN_COUNT;
    return 0;
}

static int expected_rc(const struct wf_msg *m)
{
    return m->type == WF_UNKNOWN ? WF_ERR_UNKNOWN_TYPE : WF_OK;
}

static void test_golden_covers_every_type(void **state)
{
    int seen[256] = { 0 };
    for (size_t i = 0; i < nvecs; i++)
        seen[vecs[i].msg.type] = 1;
    for (unsigned t = 0; t < WF_TYPE_COUNT; t++) {
        if (!seen[t] || !seen[t | WF_RESPONSE])
            fail_msg("no golden vector for type 0x%02x", t);
    }
}

static void test_golden_decode(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        struct wf_msg m;
        uint8_t *buf = exact_copy(vecs[i].bytes, vecs[i].len);
        int rc = wf_decode(buf, vecs[i].len, &m);
        if (rc != expected_rc(&vecs[i].msg))
            fail_msg("%s: decode rc %d", vecs[i].name, rc);
        if (rc == WF_OK) {
            assert_msg_eq(&m, &vecs[i].msg);
        } else {
            assert_int_equal(m.id, vecs[i].msg.id);
            assert_int_equal(m.type, vecs[i].msg.type);
        }
        free(buf);
    }
}

static void test_golden_encode(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        uint8_t *buf = malloc(v->len + 16);
        assert_non_null(buf);
        if (wf_encoded_size(&v->msg) != v->len)
            fail_msg("%s: encoded size %zu != %zu", v->name, wf_encoded_size(&v->msg), v->len);
        assert_int_equal(wf_encode(&v->msg, buf, v->len + 16), v->len);
        if (memcmp(buf, v->bytes, v->len))
            fail_msg("%s: encoded bytes differ", v->name);
        /* exact capacity works, one byte less does not */
        assert_int_equal(wf_encode(&v->msg, buf, v->len), v->len);
        assert_int_equal(wf_encode(&v->msg, buf, v->len - 1), 0);
        free(buf);
    }
}

static void test_golden_type_names(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        const char *name = wf_type_name(vecs[i].msg.type);
        assert_non_null(name);
        assert_int_equal(strncmp(vecs[i].name, name, strlen(name)), 0);
        assert_int_equal(vecs[i].name[strlen(name)], '_');
    }
    assert_null(wf_type_name(0x18));
    assert_null(wf_type_name(0x98));
    assert_null(wf_type_name(0xff));
}

/* Every proper prefix of every vector is rejected cleanly; the only valid
 * prefix is a read response with result 0 that stops before its data. */
static void test_golden_truncations(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        for (size_t len = 0; len < v->len; len++) {
            struct wf_msg m;
            uint8_t *buf = exact_copy(v->bytes, len);
            int rc = wf_decode(buf, len, &m);
            int eof_ok = v->msg.type == (WF_READ | WF_RESPONSE) && v->msg.result == 0 && len == 9;
            /* an optional extension cut anywhere: the message without it */
            struct wf_msg base = v->msg;
            base.ext = 0;
            base.uid = base.gid = 0;
            int ext_cut = v->msg.ext && len >= wf_encoded_size(&base);
            if (ext_cut) {
                assert_int_equal(rc, WF_OK);
                assert_msg_eq(&m, &base);
            } else if (eof_ok) {
                assert_int_equal(rc, WF_OK);
                assert_int_equal(m.data.len, 0);
            } else if (len >= 5 && expected_rc(&v->msg) == WF_ERR_UNKNOWN_TYPE) {
                assert_int_equal(rc, WF_ERR_UNKNOWN_TYPE);
            } else if (rc != WF_ERR_TRUNCATED) {
                fail_msg("%s: prefix %zu gave %d", v->name, len, rc);
            }
            free(buf);
        }
    }
}

static void test_golden_trailing_bytes(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        uint8_t *buf = malloc(v->len + 7);
        assert_non_null(buf);
        memcpy(buf, v->bytes, v->len);
        memcpy(buf + v->len, "\xff\xff\xff\xff\x01\x02\x03", 7);
        struct wf_msg m;
        assert_int_equal(wf_decode(buf, v->len + 7, &m), expected_rc(&v->msg));
        /* trailing bytes may be read as an optional extension field
         * (readdir ext; the owner ext of creation requests, whose uid/gid
         * fields would need 8 more bytes: dropped whole); everything the
         * vector itself holds is unchanged */
        if (!v->msg.ext)
            m.ext = 0;
        memset(&m.attrs, 0, sizeof m.attrs);
        if (expected_rc(&v->msg) == WF_OK)
            assert_msg_eq(&m, &v->msg);
        free(buf);
    }
}

/* decode -> encode gives the same bytes (names re-encoded from raw) */
static void test_golden_reencode(void **state)
{
    for (size_t i = 0; i < nvecs; i++) {
        const struct vec *v = &vecs[i];
        struct wf_msg m;
        if (wf_decode(v->bytes, v->len, &m) != WF_OK)
            continue;
        uint8_t *buf = malloc(v->len);
        assert_non_null(buf);
        assert_int_equal(wf_encode(&m, buf, v->len), v->len);
        assert_memory_equal(buf, v->bytes, v->len);
        free(buf);
    }
}

/* ---- round trips with boundary values --------------------------------- */

static char long_path[WF_MAX_PATH + 2];
static char big_data[1024 * 1024];

/* variant 0: minimum, 1: maximum, 2: most negative, 3: result -1 */
static void fill(struct wf_msg *m, uint8_t type, int variant, struct wf_str *items)
{
    msg_init(m);
    m->type = type;
    m->id = variant == 1 ? UINT32_MAX : (uint32_t)variant;
    const struct wf_field *f = wf_layout_fields(type);
    if (!f)
        return;
    struct wf_str empty = { "", 0 }, longest = { long_path, WF_MAX_PATH };
    for (; f->kind != WF_K_END; f++) {
        void *p = (char *)m + f->offset;
        uint64_t u = variant == 1 ? UINT64_MAX : (variant == 2 ? 1u : 0u);
        switch ((enum wf_kind)f->kind) {
        case WF_K_U8: *(uint8_t *)p = (uint8_t)u; break;
        case WF_K_BOOL: *(uint8_t *)p = variant == 1; break;
        case WF_K_I8: *(int8_t *)p = variant == 1 ? INT8_MAX : variant == 2 ? INT8_MIN : 0; break;
        case WF_K_U32: *(uint32_t *)p = (uint32_t)u; break;
        case WF_K_I32: *(int32_t *)p = variant == 1 ? INT32_MAX : variant == 2 ? INT32_MIN : 0; break;
        case WF_K_U64: *(uint64_t *)p = u; break;
        case WF_K_RESULT:
            m->result = variant == 1 ? INT32_MAX : variant == 2 ? INT32_MIN : variant == 3 ? -1 : 0;
            break;
        case WF_K_STRING:
            *(struct wf_str *)p = variant == 1 ? (f->max ? (struct wf_str){ long_path, f->max < WF_MAX_PATH ? f->max : WF_MAX_PATH } : longest) : empty;
            break;
        case WF_K_BYTES:
            if (f->flags & WF_FF_RESULT_LEN) { /* payload length == result */
                if (variant == 1)
                    m->result = (int32_t)sizeof big_data;
                m->data.data = big_data;
                m->data.len = m->result > 0 ? (uint32_t)m->result : 0;
            } else {
                m->data.data = big_data;
                m->data.len = variant == 1 ? (uint32_t)sizeof big_data : 0;
            }
            break;
        case WF_K_STRINGS:
            if (variant == 1) {
                items[0] = empty;
                items[1] = longest;
                items[2] = wf_str_of("x");
                m->names.items = items;
                m->names.count = 3;
            }
            break;
        case WF_K_TIMESTAMP: {
            struct wf_time *t = p;
            t->sec = u;
            t->nsec = variant == 1 ? UINT32_MAX : 0;
            break;
        }
        case WF_K_ATTRIBUTES:
            memset(p, variant == 1 ? 0xff : 0, sizeof(struct wf_attr));
            break;
        case WF_K_STATISTICS:
            memset(p, variant == 1 ? 0xff : 0, sizeof(struct wf_statfs));
            break;
        case WF_K_EXT: /* the owner extension, with root's ids in variant 2 */
            if (variant == 1 || variant == 2) {
                m->ext = WF_EXT_OWNER;
                m->uid = m->gid = variant == 1 ? UINT32_MAX : 0;
            }
            break;
        case WF_K_ATTR_LIST: {
            static struct wf_attr three[3];
            memset(three, variant == 1 ? 0xff : 0, sizeof three);
            if (variant == 1) {
                m->attrs.items = three;
                m->attrs.count = 3;
            }
            break;
        }
        case WF_K_END:
            break;
        }
        if (f->kind == WF_K_RESULT && m->result < 0)
            break;
    }
}

static void test_round_trip_every_type(void **state)
{
    static uint8_t buf[2 * 1024 * 1024];
    memset(long_path, 'p', sizeof long_path);
    for (size_t i = 0; i < sizeof big_data; i++)
        big_data[i] = (char)(i * 7);
    for (unsigned t = 0; t < 2 * WF_TYPE_COUNT; t++) {
        uint8_t type = (uint8_t)(t < WF_TYPE_COUNT ? t : (t - WF_TYPE_COUNT) | WF_RESPONSE);
        for (int variant = 0; variant < 4; variant++) {
            struct wf_msg in, out;
            struct wf_str items[3];
            fill(&in, type, variant, items);
            size_t n = wf_encode(&in, buf, sizeof buf);
            assert_true(n >= 5);
            assert_int_equal(n, wf_encoded_size(&in));
            uint8_t *copy = exact_copy(buf, n);
            int rc = wf_decode(copy, n, &out);
            if (type == WF_UNKNOWN) {
                assert_int_equal(rc, WF_ERR_UNKNOWN_TYPE);
                assert_int_equal(out.id, in.id);
            } else {
                if (rc != WF_OK)
                    fail_msg("type 0x%02x variant %d: rc %d", type, variant, rc);
                assert_msg_eq(&out, &in);
            }
            free(copy);
        }
    }
}

/* ---- hand-made malformed messages ------------------------------------- */

/* decodes from an exact-size copy that stays valid until the next call */
static int decode_hex(const char *hex, struct wf_msg *m)
{
    static uint8_t *last;
    size_t len;
    uint8_t *b = unhex(hex, &len);
    free(last);
    last = exact_copy(b, len);
    free(b);
    return wf_decode(last, len, m);
}

static void test_oversize_lengths(void **state)
{
    struct wf_msg m;
    /* path length 0xffffffff */
    assert_int_equal(decode_hex("0000000102ffffffff2f", &m), WF_ERR_TOO_LARGE);
    /* path length just over the limit with too few bytes: still too large */
    assert_int_equal(decode_hex("000000010200001001", &m), WF_ERR_TOO_LARGE);
    /* write data length 0xffffffff (not path-limited): does not fit */
    assert_int_equal(decode_hex("0000000111000000012fffffffff00", &m), WF_ERR_TRUNCATED);
    /* read response data length larger than the rest */
    assert_int_equal(decode_hex("000000019000000005000000066162636465", &m), WF_ERR_TRUNCATED);
    /* credentials length 0xffffffff */
    assert_int_equal(decode_hex("0000000197ffffffff", &m), WF_ERR_TOO_LARGE);
    /* readdir name length 0xffffffff */
    assert_int_equal(decode_hex("000000019300000000" "00000001" "ffffffff", &m), WF_ERR_TOO_LARGE);
    /* readdir name length fits the limit but not the buffer */
    assert_int_equal(decode_hex("000000019300000000" "00000001" "00000002" "61", &m), WF_ERR_TRUNCATED);
}

/* The readdir attribute extension rides in optional trailing fields: old
 * peers' messages decode with it absent, and it round-trips when present. */
static void test_readdir_extension(void **state)
{
    struct wf_msg m;
    /* plain readdir request: ext absent */
    assert_int_equal(decode_hex("0000000713000000012f", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    /* with ext = 1 */
    assert_int_equal(decode_hex("0000000713000000012f00000001", &m), WF_OK);
    assert_int_equal(m.ext, WF_EXT_READDIR_ATTRS);
    /* trailing bytes too short for ext: ignored like any trailing bytes */
    assert_int_equal(decode_hex("0000000713000000012f0000", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    /* response with names and no attributes (old provider) */
    assert_int_equal(decode_hex("0000000793" "00000000" "00000001" "00000001" "61", &m), WF_OK);
    assert_int_equal(m.attrs.count, 0);
    assert_null(m.attrs.raw);
    /* attribute count that cannot fit: not the extension, ignored */
    assert_int_equal(decode_hex("0000000793" "00000000" "00000000" "00000002" "00", &m), WF_OK);
    assert_int_equal(m.attrs.count, 0);
    assert_null(m.attrs.raw);

    /* encode: ext and attrs are written only when set */
    struct wf_attr attrs[2] = { { .ino = 7, .mode = 0100644, .size = 5 }, { .ino = 8, .mode = 040755 } };
    struct wf_str names[2] = { wf_str_of("a"), wf_str_of("b") };
    struct wf_msg out = { .id = 9, .type = WF_READDIR | WF_RESPONSE,
                          .names = { .count = 2, .items = names } };
    uint8_t buf[512];
    size_t plain = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(plain, 5 + 4 + 4 + 2 * 5);
    out.attrs.items = attrs;
    out.attrs.count = 2;
    size_t n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, plain + 4 + 2 * 88);
    assert_int_equal(wf_decode(buf, n, &m), WF_OK);
    assert_int_equal(m.attrs.count, 2);
    struct wf_attr got;
    assert_int_equal(wf_attrs_get(&m.attrs, 1, &got), 0);
    assert_true(got.ino == 8 && got.mode == 040755);
    assert_int_equal(wf_attrs_get(&m.attrs, 2, &got), -1);
    for (size_t cut = plain; cut < n; cut++) { /* cut inside the extension: dropped whole */
        assert_int_equal(wf_decode(buf, cut, &m), WF_OK);
        assert_int_equal(m.names.count, 2);
        assert_int_equal(m.attrs.count, 0);
    }
}

/* The owner extension of create/mkdir/mknod/symlink: u32 ext, then uid and
 * gid when WF_EXT_OWNER is set. Old peers' requests decode without it, a cut
 * one is dropped whole (never a half-read uid/gid), unknown bits are dropped. */
/* getattr + u32 ext WF_EXT_HANDLE + u64 handle: fstat by handle. Old
 * services send none (handle stays WF_NO_HANDLE); cut short, it is dropped. */
static void test_handle_extension(void **state)
{
    struct wf_msg m;
    assert_int_equal(decode_hex("0000000502" "000000022f66", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    assert_true(m.handle == WF_NO_HANDLE);
    assert_int_equal(decode_hex("0000000502" "000000022f66" "00000004" "0000000000000007", &m), WF_OK);
    assert_int_equal(m.ext, WF_EXT_HANDLE);
    assert_true(m.handle == 7);
    assert_int_equal(decode_hex("0000000502" "000000022f66" "00000004" "00000000", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    assert_true(m.handle == WF_NO_HANDLE);

    struct wf_msg out;
    msg_init(&out);
    out.id = 5;
    out.type = WF_GETATTR;
    out.path = wf_str_of("/f");
    out.ext = WF_EXT_HANDLE;
    out.handle = 9;
    uint8_t buf[64];
    size_t n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, 5 + 6 + 4 + 8);
    assert_int_equal(wf_encoded_size(&out), n);
    assert_int_equal(wf_decode(buf, n, &m), WF_OK);
    assert_true(m.ext == WF_EXT_HANDLE && m.handle == 9);
    out.ext = 0; /* without the bit nothing follows the path */
    assert_int_equal(wf_encode(&out, buf, sizeof buf), 5 + 6);
    (void)state;
}

static void test_owner_extension(void **state)
{
    struct wf_msg m;
    /* mkdir "/d" 0755, no extension (old service) */
    assert_int_equal(decode_hex("0000000312" "000000022f64" "000001ed", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    /* with the owner: uid 1000, gid 100 */
    assert_int_equal(decode_hex("0000000312" "000000022f64" "000001ed" "00000002" "000003e8" "00000064", &m),
                     WF_OK);
    assert_int_equal(m.ext, WF_EXT_OWNER);
    assert_int_equal(m.uid, 1000);
    assert_int_equal(m.gid, 100);
    assert_int_equal(m.mode, 0755);
    /* owner bit but the ids cut short: the extension is dropped whole */
    assert_int_equal(decode_hex("0000000312" "000000022f64" "000001ed" "00000002" "000003e8" "0000", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    assert_int_equal(m.uid, 0);
    assert_int_equal(m.gid, 0);
    /* unknown bits only: nothing known, no fields read */
    assert_int_equal(decode_hex("0000000312" "000000022f64" "000001ed" "80000000" "ffffffff", &m), WF_OK);
    assert_int_equal(m.ext, 0);
    assert_int_equal(m.uid, 0);
    /* unknown bits beside the owner: dropped, the owner fields kept */
    assert_int_equal(decode_hex("0000000312" "000000022f64" "000001ed" "80000002" "00000000" "00000000" "ab",
                                &m), WF_OK);
    assert_int_equal(m.ext, WF_EXT_OWNER);

    /* encode: absent unless a known bit is set; root's ids (0) travel */
    struct wf_msg out;
    msg_init(&out);
    out.id = 4;
    out.type = WF_CREATE;
    out.path = wf_str_of("/f");
    out.mode = 0100644;
    uint8_t buf[128];
    size_t plain = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(plain, 5 + 4 + 2 + 4);
    out.ext = 0x80000000u; /* unknown bit only: not encoded */
    assert_int_equal(wf_encode(&out, buf, sizeof buf), plain);
    out.ext = WF_EXT_OWNER | 0x80000000u;
    out.uid = 0;
    out.gid = 0;
    size_t n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, plain + 12);
    assert_int_equal(buf[plain + 3], WF_EXT_OWNER); /* unknown bit not sent */
    assert_int_equal(buf[plain], 0);
    assert_int_equal(wf_decode(buf, n, &m), WF_OK);
    assert_int_equal(m.ext, WF_EXT_OWNER);
    assert_int_equal(m.uid, 0);
    assert_int_equal(m.gid, 0);
    /* symlink and mknod carry it after their last field */
    out.type = WF_SYMLINK;
    out.path2 = wf_str_of("t");
    out.uid = 7;
    out.gid = 8;
    n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, 5 + 4 + 1 + 4 + 2 + 12);
    assert_int_equal(wf_decode(buf, n, &m), WF_OK);
    assert_true(m.ext == WF_EXT_OWNER && m.uid == 7 && m.gid == 8);
    out.type = WF_MKNOD;
    out.rdev = 0;
    n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, 5 + 4 + 2 + 4 + 8 + 12);
    assert_int_equal(wf_decode(buf, n, &m), WF_OK);
    assert_true(m.ext == WF_EXT_OWNER && m.uid == 7 && m.gid == 8);
    /* other requests have no such field: trailing bytes stay ignored */
    out.type = WF_UNLINK;
    n = wf_encode(&out, buf, sizeof buf);
    assert_int_equal(n, 5 + 4 + 2);
}

static void test_long_path_limit(void **state)
{
    size_t n = 5 + 4 + WF_MAX_PATH + 1;
    uint8_t *buf = calloc(1, n);
    struct wf_msg m;
    assert_non_null(buf);
    buf[4] = WF_GETATTR;
    buf[7] = (uint8_t)((WF_MAX_PATH + 1) >> 8);
    buf[8] = (uint8_t)(WF_MAX_PATH + 1);
    assert_int_equal(wf_decode(buf, n, &m), WF_ERR_TOO_LARGE);
    buf[8] = (uint8_t)WF_MAX_PATH; /* exactly the limit: fine */
    assert_int_equal(wf_decode(buf, n - 1, &m), WF_OK);
    assert_int_equal(m.path.len, WF_MAX_PATH);
    free(buf);

    /* the encoder refuses what the decoder would refuse */
    char *p = malloc(WF_MAX_PATH + 1);
    assert_non_null(p);
    memset(p, 'a', WF_MAX_PATH + 1);
    uint8_t out[WF_MAX_PATH + 64];
    msg_init(&m);
    m.type = WF_GETATTR;
    m.path.data = p;
    m.path.len = WF_MAX_PATH + 1;
    assert_int_equal(wf_encoded_size(&m), 0);
    assert_int_equal(wf_encode(&m, out, sizeof out), 0);
    free(p);
}

static void test_credentials_limit(void **state)
{
    size_t n = 5 + 4 + WF_MAX_CREDENTIALS + 1;
    uint8_t *buf = calloc(1, n);
    struct wf_msg m;
    assert_non_null(buf);
    buf[4] = WF_GETCREDS | WF_RESPONSE;
    buf[5] = (uint8_t)(WF_MAX_CREDENTIALS >> 24);
    buf[6] = (uint8_t)(WF_MAX_CREDENTIALS >> 16);
    buf[7] = (uint8_t)(WF_MAX_CREDENTIALS >> 8);
    buf[8] = (uint8_t)WF_MAX_CREDENTIALS;
    assert_int_equal(wf_decode(buf, n, &m), WF_OK); /* 64 KiB: fine */
    assert_int_equal(m.path2.len, WF_MAX_CREDENTIALS);
    buf[8] = (uint8_t)(WF_MAX_CREDENTIALS + 1);
    assert_int_equal(wf_decode(buf, n, &m), WF_ERR_TOO_LARGE);
    free(buf);
}

static void test_strings_count(void **state)
{
    struct wf_msg m;
    assert_int_equal(decode_hex("000000019300000000ffffffff", &m), WF_ERR_TRUNCATED);
    assert_int_equal(decode_hex("000000019300000000ffffffff00000000", &m), WF_ERR_TRUNCATED);
    assert_int_equal(decode_hex("00000001930000000040000000" "00000000", &m), WF_ERR_TRUNCATED);
    /* count 2, one item */
    assert_int_equal(decode_hex("00000001930000000000000002" "0000000161", &m), WF_ERR_TRUNCATED);
    /* count 2 with two empty items */
    assert_int_equal(decode_hex("00000001930000000000000002" "0000000000000000", &m), WF_OK);
    assert_int_equal(m.names.count, 2);
    assert_int_equal(m.names.raw_len, 8);
    size_t pos = 0;
    struct wf_str s;
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 1);
    assert_int_equal(s.len, 0);
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 1);
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 0);
}

static void test_message_size_limit(void **state)
{
    size_t n = WF_MAX_MESSAGE_SIZE + 1;
    uint8_t *buf = calloc(1, n);
    struct wf_msg m;
    assert_non_null(buf);
    buf[4] = WF_GETATTR; /* empty path, then zero trailing bytes */
    assert_int_equal(wf_decode(buf, n, &m), WF_ERR_TOO_LARGE);
    assert_int_equal(wf_decode(buf, n - 1, &m), WF_OK);

    /* encoding: a write whose total exceeds the limit is refused */
    msg_init(&m);
    m.type = WF_WRITE;
    m.path = wf_str_of("/f");
    m.data.data = (const char *)buf;
    m.data.len = WF_MAX_MESSAGE_SIZE - 5 - 6 - 4 - 16 + 1;
    assert_int_equal(wf_encoded_size(&m), 0);
    assert_int_equal(wf_encode(&m, buf, n), 0);
    m.data.len--;
    assert_int_equal(wf_encoded_size(&m), WF_MAX_MESSAGE_SIZE);
    free(buf);
}

static void test_unknown_types(void **state)
{
    static const uint8_t types[] = { 0x00, 0x18, 0x42, 0x7f, 0x98, 0xc0, 0xff };
    for (size_t i = 0; i < sizeof types; i++) {
        uint8_t b[8] = { 0x12, 0x34, 0x56, 0x78, types[i], 1, 2, 3 };
        struct wf_msg m;
        assert_int_equal(wf_decode(b, sizeof b, &m), WF_ERR_UNKNOWN_TYPE);
        assert_int_equal(m.id, 0x12345678);
        assert_int_equal(m.type, types[i]);
        if (types[i] != WF_UNKNOWN) {
            uint8_t out[16];
            assert_int_equal(wf_encoded_size(&m), 0);
            assert_int_equal(wf_encode(&m, out, sizeof out), 0);
        }
    }
    struct wf_msg m;
    assert_int_equal(decode_hex("0000000980", &m), WF_OK);
    assert_int_equal(decode_hex("0000000980deadbeef", &m), WF_OK);
    assert_int_equal(decode_hex("00000009", &m), WF_ERR_TRUNCATED);
    assert_int_equal(wf_decode(NULL, 0, &m), WF_ERR_TRUNCATED);
}

static void test_read_response_forms(void **state)
{
    struct wf_msg m;
    /* EOF with no data field, with an empty one */
    assert_int_equal(decode_hex("000000019000000000", &m), WF_OK);
    assert_int_equal(m.data.len, 0);
    assert_int_equal(decode_hex("00000001900000000000000000", &m), WF_OK);
    /* result > 0 needs data */
    assert_int_equal(decode_hex("000000019000000003", &m), WF_ERR_TRUNCATED);
    /* result and payload length disagree */
    assert_int_equal(decode_hex("00000001900000000300000002abcd", &m), WF_ERR_INVALID);
    assert_int_equal(decode_hex("00000001900000000000000001ab", &m), WF_ERR_INVALID);
    /* failed response: the rest is not read */
    assert_int_equal(decode_hex("0000000190fffffffb", &m), WF_OK);
    assert_int_equal(m.result, -5);
    assert_int_equal(decode_hex("0000000182fffffffe0102", &m), WF_OK);
    assert_int_equal(m.result, -2);
    assert_true(m.attr.ino == 0);

    /* encoder refuses a mismatch too */
    msg_init(&m);
    m.type = WF_READ | WF_RESPONSE;
    m.result = 3;
    m.data = wf_str_of("ab");
    assert_int_equal(wf_encoded_size(&m), 0);
}

static void test_bool_normalised(void **state)
{
    struct wf_msg m;
    assert_int_equal(decode_hex("000000010a000000012f07ffffffffffffffff", &m), WF_OK);
    assert_int_equal(m.datasync, 1);
    assert_true(m.handle == WF_NO_HANDLE);
    assert_int_equal(decode_hex("0000000101000000012fff", &m), WF_OK);
    assert_int_equal(m.access, -1);
}

static void test_data_in_place(void **state)
{
    uint8_t buf[64], expect[64];
    struct wf_msg m;
    msg_init(&m);
    m.id = 7;
    m.type = WF_READ | WF_RESPONSE;
    m.result = 5;
    size_t off = wf_data_offset(&m);
    assert_int_equal(off, 13);
    memcpy(buf + off, "hello", 5);
    m.data.data = (const char *)buf + off;
    m.data.len = 5;
    size_t n = wf_encode(&m, buf, sizeof buf);
    assert_int_equal(n, 18);
    m.data.data = "hello";
    assert_int_equal(wf_encode(&m, expect, sizeof expect), 18);
    assert_memory_equal(buf, expect, 18);

    msg_init(&m);
    m.type = WF_WRITE;
    m.path = wf_str_of("/abc");
    assert_int_equal(wf_data_offset(&m), 5 + 4 + 4 + 4);
    msg_init(&m);
    m.type = WF_GETATTR;
    assert_int_equal(wf_data_offset(&m), 0);
    m.type = WF_READ;
    assert_int_equal(wf_data_offset(&m), 0);
}

static void test_str_copy(void **state)
{
    char dst[4];
    assert_int_equal(wf_str_copy(wf_str_of("abc"), dst, sizeof dst), 0);
    assert_string_equal(dst, "abc");
    assert_int_equal(wf_str_copy(wf_str_of("abcd"), dst, sizeof dst), -1);
    struct wf_str nul = { "a\0b", 3 };
    assert_int_equal(wf_str_copy(nul, dst, sizeof dst), -1);
    struct wf_str empty = { NULL, 0 };
    assert_int_equal(wf_str_copy(empty, dst, sizeof dst), 0);
    assert_string_equal(dst, "");
    assert_int_equal(wf_str_copy(empty, dst, 0), -1);
}

static void test_encode_strings_items_and_raw(void **state)
{
    struct wf_str items[2] = { wf_str_of("a"), wf_str_of("bc") };
    struct wf_msg m, d;
    uint8_t buf[64], buf2[64];
    msg_init(&m);
    m.type = WF_READDIR | WF_RESPONSE;
    m.names.items = items;
    m.names.count = 2;
    size_t n = wf_encode(&m, buf, sizeof buf);
    assert_int_equal(n, 5 + 4 + 4 + 5 + 6);
    size_t pos = 0;
    struct wf_str s;
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 1);
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 1);
    assert_int_equal(s.len, 2);
    assert_int_equal(wf_strings_next(&m.names, &pos, &s), 0);
    assert_int_equal(wf_decode(buf, n, &d), WF_OK);
    assert_int_equal(wf_encode(&d, buf2, sizeof buf2), n);
    assert_memory_equal(buf, buf2, n);
    /* count without items or raw cannot be encoded */
    m.names.items = NULL;
    assert_int_equal(wf_encoded_size(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_covers_every_type),
        cmocka_unit_test(test_golden_decode),
        cmocka_unit_test(test_golden_encode),
        cmocka_unit_test(test_golden_type_names),
        cmocka_unit_test(test_golden_truncations),
        cmocka_unit_test(test_readdir_extension),
        cmocka_unit_test(test_owner_extension),
        cmocka_unit_test(test_handle_extension),
        cmocka_unit_test(test_golden_trailing_bytes),
        cmocka_unit_test(test_golden_reencode),
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_oversize_lengths),
        cmocka_unit_test(test_long_path_limit),
        cmocka_unit_test(test_credentials_limit),
        cmocka_unit_test(test_strings_count),
        cmocka_unit_test(test_message_size_limit),
        cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_read_response_forms),
        cmocka_unit_test(test_bool_normalised),
        cmocka_unit_test(test_data_in_place),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_encode_strings_items_and_raw),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
