/* Internal: the webfuse2 message layouts, described once as a table that the
 * generic codec (wf_codec.c) walks. Not part of the public API. */
#ifndef WF_LAYOUT_H
#define WF_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "wf_msg.h"

/* Wire kind of one field. WF_K_END (0) terminates a field list, so unused
 * slots of the fixed-size arrays below are zero and end the list. */
enum wf_kind {
    WF_K_END = 0,
    WF_K_U8,        /* uint8_t member */
    WF_K_I8,        /* int8_t member */
    WF_K_U32,       /* uint32_t member */
    WF_K_I32,       /* int32_t member */
    WF_K_U64,       /* uint64_t member */
    WF_K_BOOL,      /* uint8_t member, wire u8 0/1 (decoded != 0 -> 1) */
    WF_K_STRING,    /* struct wf_str, u32 length + bytes, at most .max bytes */
    WF_K_BYTES,     /* struct wf_str, u32 length + bytes, bounded by message */
    WF_K_STRINGS,   /* struct wf_strings, u32 count + strings (each <= .max) */
    WF_K_TIMESTAMP, /* struct wf_time, u64 sec + u32 nsec */
    WF_K_ATTRIBUTES,/* struct wf_attr */
    WF_K_STATISTICS,/* struct wf_statfs */
    WF_K_RESULT,    /* int32_t member; nothing follows on the wire if < 0 */
    WF_K_ATTR_LIST, /* struct wf_attrs, u32 count + count x attributes */
    WF_K_EXT        /* u32 ext member + the fields of its known bits: with
                     * WF_EXT_OWNER, u32 uid + u32 gid (the uid/gid members);
                     * then with WF_EXT_HANDLE, u64 handle (the handle member);
                     * unknown bits are dropped on decode and encode */
};

/* Field flags */
#define WF_FF_RESULT_LEN 0x01u /* bytes: length == result; may be absent when result is 0 */
/* An extension at the end of a message: when absent from the wire, or when
 * the trailing bytes do not form it, it (and anything after it) decodes as
 * zero; it is encoded only when set (non-zero u32, or a list with items). */
#define WF_FF_OPTIONAL 0x02u

struct wf_field {
    uint8_t kind;    /* enum wf_kind */
    uint8_t flags;   /* WF_FF_* */
    uint16_t offset; /* offsetof(struct wf_msg, member) */
    uint32_t max;    /* string / strings element limit in bytes (0: none) */
};

#define WF_LAYOUT_MAX_REQ 4
#define WF_LAYOUT_MAX_RESP 3

/* Layout flags */
#define WF_LF_OPAQUE_REQUEST 0x01u /* request content is unspecified (type 0x00) */

struct wf_layout {
    const char *name;
    uint8_t flags;
    struct wf_field req[WF_LAYOUT_MAX_REQ + 1];   /* ends with WF_K_END */
    struct wf_field resp[WF_LAYOUT_MAX_RESP + 1]; /* ends with WF_K_END */
};

/* Longest getcreds credentials string accepted / produced. */
#define WF_MAX_CREDENTIALS (64u * 1024u)

/* Layout for a request or response type (WF_RESPONSE bit ignored), or NULL
 * if the type is outside the table. */
const struct wf_layout *wf_layout_of(uint8_t type);

/* The field list (ending with WF_K_END) a message of this exact type carries
 * on the wire: request fields for requests, response fields for responses.
 * NULL if the type is outside the table or its content is opaque (0x00
 * request). */
const struct wf_field *wf_layout_fields(uint8_t type);

#endif
