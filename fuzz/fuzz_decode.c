/* libFuzzer target: wf_decode on arbitrary bytes. On success the message is
 * re-encoded, decoded again and compared, and its string list walked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wf_msg.h"

static void check_str_eq(struct wf_str a, struct wf_str b)
{
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
        abort();
}

static size_t walk_names(const struct wf_strings *s)
{
    size_t pos = 0, n = 0, total = 0;
    struct wf_str it;
    char tmp[WF_MAX_PATH + 1];
    while (wf_strings_next(s, &pos, &it)) {
        if (it.len > WF_MAX_PATH)
            abort();
        (void)wf_str_copy(it, tmp, sizeof tmp);
        total += it.len;
        n++;
    }
    if (n != s->count || pos != s->raw_len)
        abort();
    return total;
}

static void check_msg_eq(const struct wf_msg *a, const struct wf_msg *b)
{
    check_str_eq(a->path, b->path);
    check_str_eq(a->path2, b->path2);
    check_str_eq(a->data, b->data);
    if (a->names.count != b->names.count || a->names.raw_len != b->names.raw_len ||
        (a->names.raw_len && memcmp(a->names.raw, b->names.raw, a->names.raw_len)))
        abort();
    /* every scalar member: compare the structs with the pointers blanked */
    struct wf_msg x = *a, y = *b;
    memset(&x.path, 0, sizeof x.path), memset(&y.path, 0, sizeof y.path);
    memset(&x.path2, 0, sizeof x.path2), memset(&y.path2, 0, sizeof y.path2);
    memset(&x.data, 0, sizeof x.data), memset(&y.data, 0, sizeof y.data);
    memset(&x.names, 0, sizeof x.names), memset(&y.names, 0, sizeof y.names);
    if (x.id != y.id || x.type != y.type || x.result != y.result || x.mode != y.mode ||
        x.uid != y.uid || x.gid != y.gid || x.length != y.length || x.flags != y.flags ||
        x.access != y.access || x.rename_flags != y.rename_flags ||
        x.datasync != y.datasync || x.rdev != y.rdev || x.size != y.size ||
        x.offset != y.offset || x.handle != y.handle ||
        memcmp(&x.atime, &y.atime, sizeof x.atime) || memcmp(&x.mtime, &y.mtime, sizeof x.mtime) ||
        memcmp(&x.statfs, &y.statfs, sizeof x.statfs) || x.attr.ino != y.attr.ino ||
        x.attr.nlink != y.attr.nlink || x.attr.mode != y.attr.mode || x.attr.uid != y.attr.uid ||
        x.attr.gid != y.attr.gid || x.attr.rdev != y.attr.rdev || x.attr.size != y.attr.size ||
        x.attr.blocks != y.attr.blocks ||
        memcmp(&x.attr.atime, &y.attr.atime, sizeof x.attr.atime) ||
        memcmp(&x.attr.mtime, &y.attr.mtime, sizeof x.attr.mtime) ||
        memcmp(&x.attr.ctime, &y.attr.ctime, sizeof x.attr.ctime))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wf_msg m;
    int rc = wf_decode(data, size, &m);
    if (rc == WF_ERR_UNKNOWN_TYPE || rc == WF_ERR_TRUNCATED || rc == WF_ERR_TOO_LARGE ||
        rc == WF_ERR_INVALID)
        return 0;
    if (rc != WF_OK)
        abort();
    (void)wf_type_name(m.type);
    walk_names(&m.names);

    /* a decoded message always re-encodes, to at most the input size (plus
     * the empty data field a read EOF response may leave out) */
    size_t n = wf_encoded_size(&m);
    int short_eof = m.type == (WF_READ | WF_RESPONSE) && m.result == 0 && n == size + 4;
    if (n == 0 || (n > size && !short_eof))
        abort();
    uint8_t *buf = malloc(n);
    if (!buf)
        return 0;
    if (wf_encode(&m, buf, n - 1) != 0 || wf_encode(&m, buf, n) != n)
        abort();
    /* the canonical encoding decodes to the same message (it is not always
     * a prefix of the input: bools are normalised to 0/1) */
    struct wf_msg again;
    if (wf_decode(buf, n, &again) != WF_OK)
        abort();
    check_msg_eq(&m, &again);
    size_t off = wf_data_offset(&again);
    if (off && (again.data.len == 0 || (const uint8_t *)again.data.data == buf + off)) {
        /* in-place payload: encoding again must leave the bytes unchanged */
        uint8_t *copy = malloc(n);
        if (copy) {
            memcpy(copy, buf, n);
            if (wf_encode(&again, buf, n) != n || memcmp(copy, buf, n))
                abort();
            free(copy);
        }
    } else if (off) {
        abort(); /* data must sit where wf_data_offset says */
    }
    free(buf);
    return 0;
}
