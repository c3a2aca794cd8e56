// webfuse2 provider: a WebSocket client that answers the requests of a
// webfuse service by calling a filesystem object.
//
// The filesystem object implements any of these (async or not) methods;
// a missing method answers -ENOSYS. A method fails by throwing an FsError
// (or any error with a numeric `errno`); other exceptions answer -EIO.
//
//   access(path, mode)                 getattr(path) -> attr
//   readlink(path) -> target           symlink(target, linkpath)
//   link(oldPath, newPath)             rename(oldPath, newPath, flags)
//   chmod(path, mode)                  chown(path, uid, gid)
//   truncate(path, size, handle)       fsync(path, datasync, handle)
//   open(path, flags) -> handle        mknod(path, mode, rdev)
//   create(path, mode) -> handle       release(path, handle)
//   unlink(path)                       read(path, length, offset, handle) -> bytes
//   write(path, data, offset, handle) -> count
//   mkdir(path, mode)                  readdir(path) -> names
//   rmdir(path)                        statfs(path) -> statfs
//   utimens(path, atime, mtime, handle)
//
// Several requests may be in flight at once; each is answered when its
// handler settles, in whatever order that happens.

import {
    PROTOCOL, RESPONSE, Type, Errno, decode, encode, errorResponse, unknownResponse,
    wireErrno, DecodeError, typeName,
} from './codec.js';

export class FsError extends Error {
    constructor(errno, message) {
        super(message ?? `errno ${errno}`);
        this.name = 'FsError';
        this.errno = Math.abs(errno);
    }
}

export const State = Object.freeze({
    IDLE: 'idle',             // never connected, or stopped by the user
    CONNECTING: 'connecting',
    CONNECTED: 'connected',
    REFUSED: 'refused',       // the service did not accept us
    LOST: 'lost',             // connection ended without us asking
});

const MAX_READ = 1024 * 1024; // largest read payload a response may carry

function asBytes(x) {
    if (x === undefined || x === null) return new Uint8Array(0);
    if (x instanceof Uint8Array) return x;
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (typeof x === 'string') return new TextEncoder().encode(x);
    throw new TypeError('read must return bytes');
}

// type -> async (fs, req) => fields of the success response (result included
// where it is not 0).
const HANDLERS = {
    [Type.ACCESS]: (fs, m) => fs.access(m.path, m.access),
    [Type.GETATTR]: async (fs, m) => ({ attr: await fs.getattr(m.path) }),
    [Type.READLINK]: async (fs, m) => ({ path2: await fs.readlink(m.path) }),
    [Type.SYMLINK]: (fs, m) => fs.symlink(m.path2, m.path),
    [Type.LINK]: (fs, m) => fs.link(m.path, m.path2),
    [Type.RENAME]: (fs, m) => fs.rename(m.path, m.path2, m.rename_flags),
    [Type.CHMOD]: (fs, m) => fs.chmod(m.path, m.mode),
    [Type.CHOWN]: (fs, m) => fs.chown(m.path, m.uid, m.gid),
    [Type.TRUNCATE]: (fs, m) => fs.truncate(m.path, m.size, m.handle),
    [Type.FSYNC]: (fs, m) => fs.fsync(m.path, !!m.datasync, m.handle),
    [Type.OPEN]: async (fs, m) => ({ handle: await fs.open(m.path, m.flags) }),
    [Type.MKNOD]: (fs, m) => fs.mknod(m.path, m.mode, m.rdev),
    [Type.CREATE]: async (fs, m) => ({ handle: await fs.create(m.path, m.mode) }),
    [Type.RELEASE]: (fs, m) => fs.release(m.path, m.handle),
    [Type.UNLINK]: (fs, m) => fs.unlink(m.path),
    [Type.READ]: async (fs, m) => {
        const want = Math.min(m.length, MAX_READ);
        let data = asBytes(await fs.read(m.path, want, m.offset, m.handle));
        if (data.length > want) data = data.subarray(0, want);
        return { result: data.length, data };
    },
    [Type.WRITE]: async (fs, m) => {
        const n = await fs.write(m.path, m.data, m.offset, m.handle);
        return { result: typeof n === 'number' ? n : m.data.length };
    },
    [Type.MKDIR]: (fs, m) => fs.mkdir(m.path, m.mode),
    [Type.READDIR]: async (fs, m) => ({
        names: (await fs.readdir(m.path)).filter((n) => n !== '.' && n !== '..'),
    }),
    [Type.RMDIR]: (fs, m) => fs.rmdir(m.path),
    [Type.STATFS]: async (fs, m) => ({ statfs: await fs.statfs(m.path) }),
    [Type.UTIMENS]: (fs, m) => fs.utimens(m.path, m.atime, m.mtime, m.handle),
};

const METHOD = Object.fromEntries(Object.keys(HANDLERS).map((t) => [t, typeName(Number(t))]));

// Answers one decoded request. Never throws; resolves to the response object.
export async function handleRequest(fs, req, options = {}) {
    const base = req.type & 0x7f;
    if (req.type & RESPONSE) return null; // not a request: nothing to answer
    if (base === Type.GETCREDS) {
        const t = options.token;
        const token = typeof t === 'function' ? await t() : t;
        return { id: req.id, type: Type.GETCREDS | RESPONSE, path2: token ?? '' };
    }
    const handler = HANDLERS[base];
    if (!handler) return unknownResponse(req.id);
    const method = METHOD[base];
    if (!fs || typeof fs[method] !== 'function') return errorResponse(req, Errno.ENOSYS);
    try {
        const fields = await handler(fs, req);
        const extra = fields && typeof fields === 'object' ? fields : {};
        return { id: req.id, type: base | RESPONSE, result: 0, ...extra };
    } catch (err) {
        const errno = err && typeof err.errno === 'number' ? err.errno : Errno.EIO;
        if (!(err instanceof FsError) && options.onError) options.onError(err, req);
        return errorResponse(req, wireErrno(errno));
    }
}

// Turns raw bytes of one request into the bytes of its answer (or null when
// there is nothing that could be answered). Never throws.
export async function answer(fs, bytes, options = {}) {
    let req;
    try {
        req = decode(bytes);
    } catch (err) {
        if (!(err instanceof DecodeError) || err.id === undefined) return null;
        if (err.type & RESPONSE) return null;
        // Unknown type: 0x80 with the same id. Malformed known type: -EIO.
        const known = typeName(err.type) !== null && err.type !== 0;
        const resp = known && err.type !== Type.GETCREDS
            ? errorResponse({ id: err.id, type: err.type }, Errno.EIO)
            : unknownResponse(err.id);
        return encode(resp);
    }
    const resp = await handleRequest(fs, req, options);
    if (!resp) return null;
    try {
        return encode(resp);
    } catch (err) {
        if (options.onError) options.onError(err, req);
        return encode(errorResponse(req, Errno.EIO));
    }
}

export class Provider extends EventTarget {
    // options: token (string or function), WebSocket (constructor, for tests),
    // onError(err, req) for unexpected handler failures.
    constructor(fs, options = {}) {
        super();
        this.fs = fs;
        this.options = options;
        this.ws = null;
        this.state = State.IDLE;
        this.detail = {};
        this.inflight = 0;
        this.requests = 0;
    }

    connect(url) {
        if (this.ws) this.disconnect();
        const WS = this.options.WebSocket ?? globalThis.WebSocket;
        this._opened = false;
        this._userClosed = false;
        this._fsRequests = 0;
        this._sawGetcreds = false;
        this._setState(State.CONNECTING, { url });
        let ws;
        try {
            ws = new WS(url, PROTOCOL);
        } catch (err) {
            this._setState(State.REFUSED, { url, message: String(err && err.message || err) });
            return;
        }
        ws.binaryType = 'arraybuffer';
        this.ws = ws;
        ws.onopen = () => {
            if (this.ws !== ws) return;
            this._opened = true;
            this._setState(State.CONNECTED, { url });
        };
        ws.onerror = () => {
            if (this.ws !== ws) return;
            this._sawError = true;
        };
        ws.onclose = (ev) => {
            if (this.ws !== ws) return;
            this.ws = null;
            this._closed(ev);
        };
        ws.onmessage = (ev) => {
            if (this.ws !== ws) return;
            this._message(ws, ev.data);
        };
    }

    disconnect() {
        const ws = this.ws;
        if (!ws) {
            if (this.state === State.CONNECTING) this._setState(State.IDLE, {});
            return;
        }
        this._userClosed = true;
        this.ws = null;
        try {
            ws.close(1000, 'provider stopped sharing');
        } catch {
            // already closing
        }
        this._setState(State.IDLE, { code: 1000, reason: 'stopped by user' });
    }

    _closed(ev) {
        const code = ev && typeof ev.code === 'number' ? ev.code : 1006;
        const reason = (ev && ev.reason) || '';
        if (this._userClosed) {
            this._setState(State.IDLE, { code, reason });
        } else if (!this._opened) {
            this._setState(State.REFUSED, {
                code, reason, message: 'the service did not accept the connection (wrong address, or another page is already sharing?)',
            });
        } else if (code === 1008 || (this._sawGetcreds && this._fsRequests === 0)) {
            this._setState(State.REFUSED, {
                code, reason, message: 'the service closed the connection after checking the credentials',
            });
        } else {
            this._setState(State.LOST, { code, reason, message: 'connection lost' });
        }
    }

    async _message(ws, data) {
        if (typeof data === 'string') return; // text messages are a protocol error: ignore
        let bytes;
        if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
        else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        else if (data && typeof data.arrayBuffer === 'function') bytes = new Uint8Array(await data.arrayBuffer());
        else return;
        if (bytes.length >= 5) {
            const type = bytes[4];
            if (type === Type.GETCREDS) this._sawGetcreds = true;
            else this._fsRequests++;
        }
        this.requests++;
        this.inflight++;
        this._emit('request', { inflight: this.inflight });
        let out = null;
        try {
            out = await answer(this.fs, bytes, this.options);
        } finally {
            this.inflight--;
        }
        if (out && this.ws === ws && ws.readyState === 1) {
            try {
                ws.send(out);
            } catch {
                // socket went away meanwhile
            }
        }
        this._emit('response', { inflight: this.inflight });
    }

    _setState(state, detail) {
        this.state = state;
        this.detail = detail ?? {};
        this._emit('statechange', { state, ...this.detail });
    }

    _emit(name, detail) {
        let ev;
        if (typeof CustomEvent === 'function') ev = new CustomEvent(name, { detail });
        else {
            ev = new Event(name);
            ev.detail = detail;
        }
        this.dispatchEvent(ev);
    }
}

// ws:// or wss:// URL of the page's own origin, path "/".
export function sameOriginUrl(loc = globalThis.location) {
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${loc.host}/`;
}
