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
//   readInto(path, target, offset, handle) -> view of target's memory (optional:
//     preferred over read(); the bytes land in the response's own buffer)
//   write(path, data, offset, handle) -> count
//   mkdir(path, mode)                  readdir(path) -> names
//   rmdir(path)                        statfs(path) -> statfs
//   utimens(path, atime, mtime, handle)
//
// Several requests may be in flight at once; each is answered when its
// handler settles, in whatever order that happens.

import {
    PROTOCOL, PROTOCOL_HEARTBEAT, RESPONSE, Type, Errno, decode, encode, errorResponse, unknownResponse,
    wireErrno, DecodeError, typeName, READ_HEADER, encodeReadHeader,
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
    RECONNECTING: 'reconnecting', // connection lost; trying again after a delay
    REFUSED: 'refused',       // the service did not accept us
    LOST: 'lost',             // connection ended without us asking (and no reconnecting)
});

// WebSocket close codes a service refuses providers with
// (lib/proto/wf_refusal.h), and the standard ones that matter here.
export const CloseCode = Object.freeze({
    NORMAL: 1000, GOING_AWAY: 1001, PROTOCOL: 1002, NO_STATUS: 1005, ABNORMAL: 1006, POLICY: 1008,
    SILENT: 4000, // ours to the device: nothing heard for silenceTimeout (not a normal close: it resumes)
    TOKEN: 4401, ORIGIN: 4403, AUTH_TIMEOUT: 4408, BUSY: 4409, BACKOFF: 4429, OVERLOAD: 4503,
});

const REFUSALS = {
    [CloseCode.TOKEN]: 'The device rejected the access token.',
    [CloseCode.ORIGIN]: 'The device does not accept connections from this page’s address.',
    [CloseCode.AUTH_TIMEOUT]: 'The access token did not reach the device in time.',
    [CloseCode.BUSY]: 'Another page or computer is already sharing files with the device.',
    [CloseCode.BACKOFF]: 'Too many attempts from this computer: the device asks to wait a little.',
    [CloseCode.OVERLOAD]: 'The device has too many connections waiting right now.',
};

/**
 * One plain sentence for how a connection ended, and whether trying again
 * with the same settings can help.
 * @param {number} code  WebSocket close code
 * @param {{opened?: boolean, credentials?: boolean}} [how]  opened: the
 *   handshake had completed; credentials: the service asked for the token
 *   and then closed without asking anything else (an older service's way of
 *   rejecting it)
 * @returns {{message: string, permanent: boolean, refused: boolean}}
 */
export function describeClose(code, how = {}) {
    if (REFUSALS[code]) {
        const permanent = code === CloseCode.TOKEN || code === CloseCode.ORIGIN;
        return { message: REFUSALS[code], permanent, refused: true };
    }
    if (code === CloseCode.POLICY) {
        return { message: 'The device refused the access token.', permanent: true, refused: true };
    }
    // An older service closes without a code when its authenticator says no;
    // a connection cut at that moment looks the same, so this is no reason
    // to give up for good.
    if (how.opened && how.credentials && (code === CloseCode.ABNORMAL || code === CloseCode.NO_STATUS)) {
        return { message: 'The device closed the connection right after it asked for the access token: the token was probably refused.', permanent: false, refused: true };
    }
    if (!how.opened) {
        return {
            message: 'The device could not be reached, or it did not accept the connection.',
            permanent: false, refused: true,
        };
    }
    if (code === CloseCode.GOING_AWAY) {
        return { message: 'The device’s webfuse service stopped.', permanent: false, refused: false };
    }
    return { message: 'The connection to the device was lost.', permanent: false, refused: false };
}

// Reconnect delays (ms) for attempt 1, 2, ...; the last one repeats.
export const RECONNECT_DELAYS = Object.freeze([250, 1000, 2000, 4000, 8000, 10000]);

// A first connection that is not accepted (the browser shows every
// handshake refusal as 1006) is tried this many more times, with the
// reconnect delays (about 15 s in all), before it counts as refused: the
// device may still hold our own connection from a network we just left.
// It pings that one when we knock and drops it unanswered (in 5 s, or its
// request timeout while reads are pending), so a later knock gets in.
const FIRST_RETRIES = 5;

// Silence (ms) after which a heartbeat-sending service counts as out of
// reach: its beat comes every 5 s at the latest.
export const SILENCE_MS = 20000;

// How long after answering getcreds a close without a code still counts as
// an older service refusing the token (its authenticator answers at once).
const CREDS_VERDICT_MS = 5000;

const MAX_READ = 1024 * 1024; // largest read payload a response may carry

function asBytes(x) {
    if (x === undefined || x === null) return new Uint8Array(0);
    if (x instanceof Uint8Array) return x;
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (typeof x === 'string') return new TextEncoder().encode(x);
    throw new TypeError('read must return bytes');
}

// Reply buffers for readInto(): header room, then up to MAX_READ bytes. A
// few are kept for reuse (one per read in flight is enough; at the mount's
// 1 MiB read-ahead a sequential reader has up to four out: three buffers
// were allocated for a whole 512 MiB file), the rest are left to the
// garbage collector.
/** @type {ArrayBuffer[]} */
const replyBuffers = [];
const KEEP_REPLY_BUFFERS = 4;

/**
 * A read answered with the file's bytes read straight into the response's
 * own buffer (fs.readInto): the response carries `frame`, the encoded
 * message, besides the usual fields, and Provider sends that as it is.
 * @param {any} fs @param {any} m @param {number} want
 */
async function readIntoFrame(fs, m, want) {
    const buf = replyBuffers.pop() ?? new ArrayBuffer(READ_HEADER + MAX_READ);
    const data = await fs.readInto(m.path, new Uint8Array(buf, READ_HEADER, want), m.offset, m.handle);
    const n = Math.min(data.length, want);
    // Not in the target's memory (a readInto breaking its contract): plain encoding.
    if (data.byteOffset !== READ_HEADER) return { result: n, data: data.subarray(0, n) };
    const frame = new Uint8Array(data.buffer, 0, READ_HEADER + n);
    encodeReadHeader(m.id, n, frame);
    return { result: n, data: data.subarray(0, n), frame };
}

/** Hands a sent frame's buffer back for the next read. @param {Uint8Array} frame */
function recycle(frame) {
    if (replyBuffers.length < KEEP_REPLY_BUFFERS && frame.buffer.byteLength === READ_HEADER + MAX_READ) {
        replyBuffers.push(/** @type {ArrayBuffer} */ (frame.buffer));
    }
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
        if (typeof fs.readInto === 'function') return readIntoFrame(fs, m, want);
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
        let token = t;
        try {
            if (typeof t === 'function') token = await t();
        } catch (err) {
            token = ''; // the service refuses an empty token, which the page then shows
            if (options.onError) options.onError(err, req);
        }
        return { id: req.id, type: Type.GETCREDS | RESPONSE, path2: typeof token === 'string' ? token : '' };
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

// Turns raw bytes of one request into its answer: a response object to
// encode, or null when there is nothing that could be answered. Never throws.
async function respond(fs, bytes, options) {
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
        return { req: null, resp };
    }
    const resp = await handleRequest(fs, req, options);
    return resp ? { req, resp } : null;
}

/**
 * The encoded response (a view of `scratch` when given); never throws.
 * @param {{req: any, resp: any}} r @param {any} options @param {Uint8Array} [scratch]
 */
function encodeResponse(r, options, scratch) {
    try {
        return encode(r.resp, scratch);
    } catch (err) {
        if (options.onError) options.onError(err, r.req);
        return encode(errorResponse(r.req ?? r.resp, Errno.EIO));
    }
}

// Turns raw bytes of one request into the bytes of its answer (or null when
// there is nothing that could be answered). Never throws.
export async function answer(fs, bytes, options = {}) {
    const r = await respond(fs, bytes, options);
    return r ? encodeResponse(r, options) : null;
}

export class Provider extends EventTarget {
    /**
     * @param {object} fs  the filesystem (see the list at the top); its
     *   optional connectionEnded() is called whenever a connection ends
     * @param {object} [options]
     * @param {string | (() => string | Promise<string>)} [options.token]
     * @param {boolean} [options.reconnect]  after a lost connection, connect
     *   again with backoff (State.RECONNECTING) until it works, a permanent
     *   refusal comes, or disconnect() is called
     * @param {number[]} [options.reconnectDelays]  ms, default RECONNECT_DELAYS
     * @param {number} [options.silenceTimeout]  ms without a word from a
     *   service that sends heartbeats (nothing received, nothing owed to it,
     *   nothing of ours draining) after which the connection counts as lost;
     *   default SILENCE_MS, 0: never
     * @param {any} [options.WebSocket]  constructor, for tests
     * @param {(err: unknown, req: object) => void} [options.onError]  unexpected handler failures
     */
    constructor(fs, options = {}) {
        super();
        this.fs = fs;
        this.options = options;
        /** @type {WebSocket | null} */
        this.ws = null;
        /** @type {string} */
        this.state = State.IDLE;
        /** @type {Record<string, any>} */
        this.detail = {};
        this.inflight = 0;
        this.requests = 0;
        this.url = '';
        this._established = false; // a connection of this session was accepted
        this._attempt = 0;
        this._timer = null;
        /** @type {any} the socket being closed by disconnect() */
        this._closing = null;
        /** @type {(() => void) | null} */
        this._pendingOpen = null;
        this._heardAt = 0; // performance.now() of the last sign of life (_watch)
    }

    /** Starts a new session. @param {string} url */
    connect(url) {
        if (this.ws || this._timer) this.disconnect();
        this.url = url;
        this._established = false;
        this._attempt = 0;
        this._open();
    }

    _open() {
        // After Stop, the old socket may still be closing: the service lets a
        // new provider in only once the old one is gone, so wait for that
        // (bounded) instead of being refused as "busy".
        if (this._closing) {
            const closing = this._closing;
            if (this.state !== State.RECONNECTING) this._setState(State.CONNECTING, { url: this.url });
            const go = () => {
                clearTimeout(timer);
                if (this._closing === closing) this._closing = null;
                if (this._pendingOpen === go) {
                    this._pendingOpen = null;
                    this._open();
                }
            };
            const timer = setTimeout(go, 2000);
            this._pendingOpen = go;
            closing._onClosed = go;
            return;
        }
        const url = this.url;
        const WS = this.options.WebSocket ?? globalThis.WebSocket;
        this._opened = false;
        this._userClosed = false;
        this._fsRequests = 0;
        this._credsAt = 0;
        if (this.state !== State.RECONNECTING) this._setState(State.CONNECTING, { url });
        let ws;
        try {
            ws = new WS(url, [PROTOCOL_HEARTBEAT, PROTOCOL]);
        } catch (err) {
            this._setState(State.REFUSED, { url, message: String(err && err.message || err) });
            return;
        }
        ws.binaryType = 'arraybuffer';
        this.ws = ws;
        ws.onopen = () => {
            if (this.ws !== ws) return;
            this._opened = true;
            if (!this._established) this._attempt = 0; // first-connection retries are over
            this._watch(ws);
            this._setState(State.CONNECTED, { url, resumed: this._established });
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

    /** Stops sharing: a normal close (1000), so the service ends the session at once. */
    disconnect() {
        this._pendingOpen = null;
        if (this._timer) {
            clearTimeout(this._timer);
            this._timer = null;
        }
        const ws = /** @type {any} */ (this.ws);
        if (!ws) {
            if (this.state !== State.IDLE && this.state !== State.REFUSED && this.state !== State.LOST) {
                this._setState(State.IDLE, {});
            }
            return;
        }
        this._userClosed = true;
        this.ws = null;
        this._closing = ws;
        ws.onclose = () => {
            if (this._closing === ws) this._closing = null;
            if (typeof ws._onClosed === 'function') ws._onClosed();
        };
        try {
            ws.close(1000, 'provider stopped sharing');
        } catch {
            // already closing
        }
        this._ended();
        this._setState(State.IDLE, { code: 1000, reason: 'stopped by user' });
    }

    // A device out of reach (the computer moved to another network) leaves
    // the socket open for minutes, and a page cannot see WebSocket pings.
    // A service that selected PROTOCOL_HEARTBEAT asks something every few
    // seconds, so a long silence means it is gone: the connection then ends
    // as lost (close code 4000 to the device, which holds the session) and
    // the reconnect begins.
    /** @param {any} ws */
    _watch(ws) {
        const limit = this.options.silenceTimeout ?? SILENCE_MS;
        if (ws.protocol !== PROTOCOL_HEARTBEAT || !(limit > 0)) return;
        this._heardAt = performance.now(); // monotonic: a computer that slept has not been silent
        let buffered = 0;
        const timer = setInterval(() => {
            if (this.ws !== ws) {
                clearInterval(timer);
                return;
            }
            const now = performance.now();
            const b = ws.bufferedAmount ?? 0;
            // answering, or our answers still draining: the device is taking them
            if (this.inflight > 0 || b < buffered) this._heardAt = now;
            buffered = b;
            if (now - this._heardAt < limit) return;
            clearInterval(timer);
            this.ws = null;
            try {
                ws.close(CloseCode.SILENT, 'no word from the device');
            } catch {
                // already closing
            }
            this._closed({ code: CloseCode.SILENT, reason: `no word from the device for ${Math.round(limit / 1000)} s` });
        }, Math.min(1000, limit / 4));
    }

    _ended() {
        if (this.fs && typeof this.fs.connectionEnded === 'function') {
            try {
                this.fs.connectionEnded();
            } catch {
                // the filesystem's problem
            }
        }
    }

    _closed(ev) {
        const code = ev && typeof ev.code === 'number' ? ev.code : 1006;
        const reason = (ev && ev.reason) || '';
        this._ended();
        if (this._userClosed) {
            this._setState(State.IDLE, { code, reason });
            return;
        }
        // "Right after": an authenticated session may wait for hours for the
        // device's first request, and a drop then is just a drop.
        const credentials = this._credsAt > 0 && this._fsRequests === 0 && Date.now() - this._credsAt < CREDS_VERDICT_MS;
        const d = describeClose(code, { opened: this._opened, credentials });
        const accepted = this._opened && !d.refused;
        if (accepted) this._established = true;
        const retryFirst = !this._established && !this._opened && code === CloseCode.ABNORMAL &&
            this._attempt < FIRST_RETRIES;
        if (this.options.reconnect && retryFirst) {
            this._openLater(code); // still CONNECTING: nothing to tell the person yet
            return;
        }
        if (this.options.reconnect && this._established && !d.permanent) {
            const delay = this._openLater(code);
            this._setState(State.RECONNECTING, {
                code, reason, message: d.message, attempt: this._attempt, delay, url: this.url,
            });
            return;
        }
        this._setState(accepted ? State.LOST : State.REFUSED, { code, reason, message: d.message, permanent: d.permanent });
    }

    /**
     * Connects again after the next reconnect delay (±20 %: no lockstep with
     * other pages; at least 5 s when the service asked to wait).
     * @param {number} code  how the last connection ended
     * @returns {number} the delay (ms)
     */
    _openLater(code) {
        const delays = this.options.reconnectDelays ?? RECONNECT_DELAYS;
        let delay = delays[Math.min(this._attempt, delays.length - 1)];
        this._attempt++;
        if (code === CloseCode.BACKOFF) delay = Math.max(delay, 5000);
        delay = Math.round(delay * (0.8 + 0.4 * Math.random()));
        this._timer = setTimeout(() => {
            this._timer = null;
            this._open();
        }, delay);
        return delay;
    }

    async _message(ws, data) {
        this._heardAt = performance.now();
        if (typeof data === 'string') return; // text messages are a protocol error: ignore
        let bytes;
        if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
        else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        else if (data && typeof data.arrayBuffer === 'function') bytes = new Uint8Array(await data.arrayBuffer());
        else return;
        if (bytes.length >= 5) {
            const type = bytes[4];
            if (type === Type.GETCREDS) this._credsAt = Date.now();
            else if (this._fsRequests++ === 0) this._attempt = 0; // the service took us: backoff starts over
        }
        this.requests++;
        this.inflight++;
        let r = null;
        try {
            r = await respond(this.fs, bytes, this.options);
        } finally {
            this.inflight--;
        }
        if (r && this.ws === ws && ws.readyState === 1) {
            // Encoded into one reused buffer and sent in the same breath:
            // send() copies it, so no buffer per response (a read answer is
            // up to 1 MiB; allocating each one keeps the GC busy).
            if (!this._scratch) this._scratch = new Uint8Array(MAX_READ + 4096);
            const frame = r.resp.frame;
            try {
                ws.send(frame ?? encodeResponse(r, this.options, this._scratch));
            } catch {
                // socket went away meanwhile
            }
            if (frame) recycle(frame);
        }
    }

    _setState(state, detail) {
        this.state = state;
        this.detail = detail ?? {};
        this._emit('statechange', { state, ...this.detail });
    }

    _emit(name, detail) {
        /** @type {any} */
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
