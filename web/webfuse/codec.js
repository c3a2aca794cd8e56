// webfuse2 wire codec: plain ES module, no dependencies.
//
// A message is a plain object whose keys follow the C struct wf_msg
// (lib/proto/wf_msg.h): id, type, result, path, path2, data (Uint8Array),
// names (array of strings), mode, uid, gid, length, flags, access,
// rename_flags, datasync, rdev, size, offset, handle, atime, mtime ({sec,
// nsec}), attr, statfs.
//
// u64 values decode to a Number while they fit into Number.MAX_SAFE_INTEGER
// and to a BigInt beyond that (NO_HANDLE, for one, is always a BigInt). The
// encoder takes either a Number or a BigInt for every u64.

export const PROTOCOL = 'webfuse2';
// The same protocol, from a service that asks something every few seconds
// while a provider is attached (offered first; lib/service/heartbeat.c).
export const PROTOCOL_HEARTBEAT = 'webfuse2-heartbeat';
export const RESPONSE = 0x80;
export const NO_HANDLE = 0xffffffffffffffffn;
export const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

export const Type = Object.freeze({
    UNKNOWN: 0x00, ACCESS: 0x01, GETATTR: 0x02, READLINK: 0x03, SYMLINK: 0x04,
    LINK: 0x05, RENAME: 0x06, CHMOD: 0x07, CHOWN: 0x08, TRUNCATE: 0x09,
    FSYNC: 0x0a, OPEN: 0x0b, MKNOD: 0x0c, CREATE: 0x0d, RELEASE: 0x0e,
    UNLINK: 0x0f, READ: 0x10, WRITE: 0x11, MKDIR: 0x12, READDIR: 0x13,
    RMDIR: 0x14, STATFS: 0x15, UTIMENS: 0x16, GETCREDS: 0x17,
});

const TYPE_NAMES = Object.freeze(Object.fromEntries(
    Object.entries(Type).map(([k, v]) => [v, k.toLowerCase()])));

// Linux x86-64 errno numbers as used on the wire (positive).
export const Errno = Object.freeze({
    EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9,
    EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17,
    EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23,
    EMFILE: 24, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, EROFS: 30, EMLINK: 31,
    EPIPE: 32, ERANGE: 34, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39,
    ELOOP: 40, ENODATA: 61, EOVERFLOW: 75, EDESTADDRREQ: 89, ENOTSUP: 95,
    EDQUOT: 122,
});
/** @type {Set<number>} */
const KNOWN_ERRNO = new Set(Object.values(Errno));

// Positive errno -> a value the wire knows (unknown codes become EIO).
export function wireErrno(errno) {
    const e = Math.abs(Number(errno) | 0);
    return KNOWN_ERRNO.has(e) ? e : Errno.EIO;
}

export const Mode = Object.freeze({
    S_IFMT: 0o170000, S_IFREG: 0o100000, S_IFDIR: 0o040000, S_IFLNK: 0o120000,
    S_IFCHR: 0o020000, S_IFBLK: 0o060000, S_IFIFO: 0o010000, S_IFSOCK: 0o140000,
});

export const OpenFlags = Object.freeze({
    O_ACCMODE: 3, O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100,
    O_EXCL: 0o200, O_NOCTTY: 0o400, O_TRUNC: 0o1000, O_APPEND: 0o2000,
    O_NONBLOCK: 0o4000, O_DIRECTORY: 0o200000,
});

export const Access = Object.freeze({ F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4 });

export class DecodeError extends Error {
    // id / type are set when the header could be read.
    constructor(message, id, type) {
        super(message);
        this.name = 'DecodeError';
        this.id = id;
        this.type = type;
    }
}

export function typeName(type) {
    return TYPE_NAMES[type & 0x7f] ?? null;
}

// Field layouts. Each entry is [kind, field]. Request layouts travel after
// id and type. Response layouts travel after id, type and result (except
// getcreds, which has no result).
const REQUEST = {
    [Type.ACCESS]: [['string', 'path'], ['i8', 'access']],
    [Type.GETATTR]: [['string', 'path']],
    [Type.READLINK]: [['string', 'path']],
    [Type.SYMLINK]: [['string', 'path2'], ['string', 'path']],
    [Type.LINK]: [['string', 'path'], ['string', 'path2']],
    [Type.RENAME]: [['string', 'path'], ['string', 'path2'], ['u8', 'rename_flags']],
    [Type.CHMOD]: [['string', 'path'], ['u32', 'mode']],
    [Type.CHOWN]: [['string', 'path'], ['u32', 'uid'], ['u32', 'gid']],
    [Type.TRUNCATE]: [['string', 'path'], ['u64', 'size'], ['u64', 'handle']],
    [Type.FSYNC]: [['string', 'path'], ['u8', 'datasync'], ['u64', 'handle']],
    [Type.OPEN]: [['string', 'path'], ['i32', 'flags']],
    [Type.MKNOD]: [['string', 'path'], ['u32', 'mode'], ['u64', 'rdev']],
    [Type.CREATE]: [['string', 'path'], ['u32', 'mode']],
    [Type.RELEASE]: [['string', 'path'], ['u64', 'handle']],
    [Type.UNLINK]: [['string', 'path']],
    [Type.READ]: [['string', 'path'], ['u32', 'length'], ['u64', 'offset'], ['u64', 'handle']],
    [Type.WRITE]: [['string', 'path'], ['bytes', 'data'], ['u64', 'offset'], ['u64', 'handle']],
    [Type.MKDIR]: [['string', 'path'], ['u32', 'mode']],
    [Type.READDIR]: [['string', 'path']],
    [Type.RMDIR]: [['string', 'path']],
    [Type.STATFS]: [['string', 'path']],
    [Type.UTIMENS]: [['string', 'path'], ['time', 'atime'], ['time', 'mtime'], ['u64', 'handle']],
    [Type.GETCREDS]: [],
};

const RESPONSE_BODY = {
    [Type.GETATTR]: [['attr', 'attr']],
    [Type.READLINK]: [['string', 'path2']],
    [Type.OPEN]: [['u64', 'handle']],
    [Type.CREATE]: [['u64', 'handle']],
    [Type.READ]: [['bytes', 'data']],
    [Type.READDIR]: [['strings', 'names']],
    [Type.STATFS]: [['statfs', 'statfs']],
};

const ATTR_FIELDS = [
    ['u64', 'ino'], ['u64', 'nlink'], ['u32', 'mode'], ['u32', 'uid'], ['u32', 'gid'],
    ['u64', 'rdev'], ['u64', 'size'], ['u64', 'blocks'],
    ['time', 'atime'], ['time', 'mtime'], ['time', 'ctime'],
];
const STATFS_FIELDS = ['bsize', 'frsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree', 'namemax']
    .map((f) => ['u64', f]);

export function isKnownType(type) {
    return Object.prototype.hasOwnProperty.call(REQUEST, type & 0x7f);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function toBytes(buf) {
    if (buf instanceof Uint8Array) return buf;
    if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
    if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    throw new TypeError('expected ArrayBuffer or Uint8Array');
}

// ---------------------------------------------------------------- decoding

class Reader {
    constructor(bytes, id, type) {
        this.b = bytes;
        this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        this.pos = 0;
        this.id = id;
        this.type = type;
    }
    need(n, what) {
        if (this.pos + n > this.b.length) {
            throw new DecodeError(`truncated message: ${what} needs ${n} bytes at offset ${this.pos}`,
                this.id, this.type);
        }
    }
    u8(what) { this.need(1, what); return this.v.getUint8(this.pos++); }
    i8(what) { this.need(1, what); return this.v.getInt8(this.pos++); }
    u32(what) { this.need(4, what); const x = this.v.getUint32(this.pos); this.pos += 4; return x; }
    i32(what) { this.need(4, what); const x = this.v.getInt32(this.pos); this.pos += 4; return x; }
    u64(what) {
        this.need(8, what);
        const hi = this.v.getUint32(this.pos);
        const lo = this.v.getUint32(this.pos + 4);
        this.pos += 8;
        // No BigInt for the common case (offsets, handles below 2^53).
        if (hi < 0x200000) return hi * 0x100000000 + lo;
        return (BigInt(hi) << 32n) | BigInt(lo);
    }
    bytes(what) {
        const n = this.u32(what);
        this.need(n, what);
        const out = this.b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return out;
    }
    string(what) {
        const b = this.bytes(what);
        // Short ASCII (paths, mostly): no TextDecoder call.
        if (b.length <= 64) {
            let s = '';
            for (let i = 0; i < b.length; i++) {
                if (b[i] >= 0x80) return utf8Decoder.decode(b);
                s += String.fromCharCode(b[i]);
            }
            return s;
        }
        return utf8Decoder.decode(b);
    }
    strings(what) {
        const count = this.u32(what);
        // Each string needs at least its 4-byte length: reject absurd counts early.
        this.need(Math.min(count, 0x7fffffff) * 4, what);
        const out = [];
        for (let i = 0; i < count; i++) out.push(this.string(what));
        return out;
    }
    time(what) { return { sec: this.u64(what), nsec: this.u32(what) }; }
    struct(fields, what) {
        const out = {};
        for (const [kind, name] of fields) out[name] = this.field(kind, `${what}.${name}`);
        return out;
    }
    field(kind, what) {
        switch (kind) {
        case 'u8': return this.u8(what);
        case 'i8': return this.i8(what);
        case 'u32': return this.u32(what);
        case 'i32': return this.i32(what);
        case 'u64': return this.u64(what);
        case 'bytes': return this.bytes(what);
        case 'string': return this.string(what);
        case 'strings': return this.strings(what);
        case 'time': return this.time(what);
        case 'attr': return this.struct(ATTR_FIELDS, what);
        case 'statfs': return this.struct(STATFS_FIELDS, what);
        default: throw new Error(`bad layout kind ${kind}`);
        }
    }
}

// Decodes one complete message. Throws DecodeError on malformed input
// (truncated fields, unknown type). For an unknown type the error carries id
// and type so the caller can answer with 0x80. Trailing bytes are ignored.
export function decode(buf) {
    const bytes = toBytes(buf);
    if (bytes.length > MAX_MESSAGE_SIZE) throw new DecodeError('message too large');
    if (bytes.length < 5) throw new DecodeError('truncated message: header');
    const r = new Reader(bytes);
    const id = r.u32('id');
    const type = r.u8('type');
    r.id = id;
    r.type = type;
    const base = type & 0x7f;
    const msg = { id, type };
    if (type === RESPONSE) return msg; // answer to an unknown request: nothing more
    if (!isKnownType(base)) throw new DecodeError(`unknown message type 0x${type.toString(16)}`, id, type);

    if (!(type & RESPONSE)) {
        for (const [kind, name] of REQUEST[base]) msg[name] = r.field(kind, name);
        return msg;
    }
    if (base === Type.GETCREDS) {
        msg.path2 = r.string('credentials');
        return msg;
    }
    msg.result = r.i32('result');
    if (msg.result < 0) return msg;
    const body = RESPONSE_BODY[base] ?? [];
    for (const [kind, name] of body) {
        if (base === Type.READ && msg.result === 0 && r.pos === bytes.length) {
            msg.data = new Uint8Array(0); // end of file: data may be left out
            break;
        }
        msg[name] = r.field(kind, name);
    }
    return msg;
}

// Like decode() but never throws: { msg } or { error }.
export function tryDecode(buf) {
    try {
        return { msg: decode(buf) };
    } catch (error) {
        if (error instanceof DecodeError) return { error };
        return { error: new DecodeError(String(error && error.message || error)) };
    }
}

// ---------------------------------------------------------------- encoding

function u64Value(x, what) {
    if (x === undefined || x === null) return 0n;
    const v = typeof x === 'bigint' ? x : BigInt(x);
    if (v < 0n || v > NO_HANDLE) throw new RangeError(`${what} out of u64 range`);
    return v;
}

// Writes into one growing buffer: no allocation per value (a read response
// is one allocation of header + data, and one copy of the data).
class Writer {
    constructor(capacity = 64) {
        /** @type {Uint8Array} */
        this.b = new Uint8Array(capacity);
        this.v = new DataView(this.b.buffer);
        this.len = 0;
        this.scratch = false;
    }
    /** Writes into a caller's buffer (grown into a new one if too small). @param {Uint8Array} b */
    use(b) {
        this.b = b;
        this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        this.scratch = true;
    }
    ensure(n) {
        if (this.len + n <= this.b.length) return;
        let cap = this.b.length * 2;
        while (cap < this.len + n) cap *= 2;
        const b = new Uint8Array(cap);
        b.set(this.b.subarray(0, this.len));
        this.b = b;
        this.v = new DataView(b.buffer);
        this.scratch = false;
    }
    u8(x) { this.ensure(1); this.v.setUint8(this.len, Number(x ?? 0) & 0xff); this.len += 1; }
    i8(x) { this.ensure(1); this.v.setInt8(this.len, Number(x ?? 0)); this.len += 1; }
    u32(x) { this.ensure(4); this.v.setUint32(this.len, Number(x ?? 0) >>> 0); this.len += 4; }
    i32(x) { this.ensure(4); this.v.setInt32(this.len, Number(x ?? 0) | 0); this.len += 4; }
    u64(x, what) {
        this.ensure(8);
        if (typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER && Number.isInteger(x)) {
            this.v.setUint32(this.len, Math.floor(x / 0x100000000));
            this.v.setUint32(this.len + 4, x >>> 0);
        } else {
            this.v.setBigUint64(this.len, u64Value(x, what));
        }
        this.len += 8;
    }
    bytes(x) {
        const b = x === undefined || x === null ? EMPTY : toBytes(x);
        this.u32(b.length);
        this.ensure(b.length);
        this.b.set(b, this.len);
        this.len += b.length;
    }
    string(x) {
        const s = x ?? '';
        // UTF-8 needs at most 3 bytes per UTF-16 unit: write in place, then
        // fill in the length.
        this.ensure(4 + s.length * 3);
        const at = this.len;
        const { written } = utf8Encoder.encodeInto(s, this.b.subarray(at + 4));
        this.v.setUint32(at, written);
        this.len = at + 4 + written;
    }
    strings(list) {
        const items = list ?? [];
        this.u32(items.length);
        for (const s of items) this.string(s);
    }
    time(t) { this.u64(t?.sec, 'time.sec'); this.u32(t?.nsec); }
    struct(fields, obj) {
        for (const [kind, name] of fields) this.field(kind, obj?.[name], name);
    }
    field(kind, x, what) {
        switch (kind) {
        case 'u8': return this.u8(typeof x === 'boolean' ? (x ? 1 : 0) : x);
        case 'i8': return this.i8(x);
        case 'u32': return this.u32(x);
        case 'i32': return this.i32(x);
        case 'u64': return this.u64(what === 'handle' && (x === undefined || x === null) ? NO_HANDLE : x, what);
        case 'bytes': return this.bytes(x);
        case 'string': return this.string(x);
        case 'strings': return this.strings(x);
        case 'time': return this.time(x);
        case 'attr': return this.struct(ATTR_FIELDS, x);
        case 'statfs': return this.struct(STATFS_FIELDS, x);
        default: throw new Error(`bad layout kind ${kind}`);
        }
    }
    finish() {
        // The exact size: a view when the buffer has no slack, else one copy
        // (only for small messages: big ones are sized exactly up front).
        return this.len === this.b.length ? this.b : this.b.slice(0, this.len);
    }
}

const EMPTY = new Uint8Array(0);

// Encodes a request or a response. Returns a Uint8Array. A response with
// result < 0 carries nothing after the result. A read response without an
// explicit result gets result = data.length. Type 0x80 (answer to an
// unknown request) is id + type only.
/**
 * @param {object} msg
 * @param {Uint8Array} [scratch]  when given and large enough, the message is
 *   written into it and a view of it is returned: no allocation. The view is
 *   only valid until the next encode into the same scratch (WebSocket.send
 *   copies its argument, so sending it at once is safe).
 * @returns {Uint8Array}
 */
export function encode(msg, scratch = undefined) {
    const type = msg.type & 0xff;
    const base = type & 0x7f;
    if (type !== RESPONSE && !isKnownType(base)) {
        throw new RangeError(`cannot encode unknown type 0x${type.toString(16)}`);
    }
    // Size the buffer for the payload up front: a read response is written
    // with no reallocation and no trailing copy.
    const payload = msg.data ? toBytes(msg.data).length : 0;
    let capacity = 64;
    if (type === (Type.READ | RESPONSE)) capacity = 13 + payload; // id, type, result, length, data
    else if (payload) capacity = 64 + payload + 3 * String(msg.path ?? '').length;
    const w = new Writer(scratch && scratch.length >= capacity ? 0 : capacity);
    if (scratch && scratch.length >= capacity) w.use(scratch);
    w.u32(msg.id);
    w.u8(type);
    if (type === RESPONSE) return w.finish();
    if (!(type & RESPONSE)) {
        for (const [kind, name] of REQUEST[base]) w.field(kind, msg[name], name);
    } else if (base === Type.GETCREDS) {
        w.string(msg.path2);
    } else {
        let result = msg.result;
        if (result === undefined) {
            result = base === Type.READ ? toBytes(msg.data ?? new Uint8Array(0)).length : 0;
        }
        w.i32(result);
        if (result >= 0) {
            for (const [kind, name] of RESPONSE_BODY[base] ?? []) w.field(kind, msg[name], name);
        }
    }
    const out = w.scratch ? w.b.subarray(0, w.len) : w.finish();
    if (out.length > MAX_MESSAGE_SIZE) throw new RangeError('message too large');
    return out;
}

/** Bytes before the data of a successful read response: id, type, result, length. */
export const READ_HEADER = 13;

/**
 * Writes the header of a successful read response carrying n bytes into
 * out[0, READ_HEADER): the data is expected right after it, so a response
 * can be built around bytes read straight into its buffer.
 * @param {number} id @param {number} n @param {Uint8Array} out
 */
export function encodeReadHeader(id, n, out) {
    const v = new DataView(out.buffer, out.byteOffset, READ_HEADER);
    v.setUint32(0, id >>> 0);
    v.setUint8(4, Type.READ | RESPONSE);
    v.setInt32(5, n);
    v.setUint32(9, n);
}

// Convenience: the response skeleton for a request.
export function errorResponse(req, errno) {
    return { id: req.id, type: (req.type & 0x7f) | RESPONSE, result: -wireErrno(errno) };
}

export function unknownResponse(id) {
    return { id, type: RESPONSE };
}

export function toHex(bytes) {
    return Array.from(toBytes(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex) {
    const clean = hex.replace(/\s+/g, '');
    if (clean.length % 2) throw new Error('odd hex length');
    const out = new Uint8Array(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
    return out;
}
