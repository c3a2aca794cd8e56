// The sharing engine: a FilesFS served by a Provider, and the progress the
// page shows, as messages. It runs in a dedicated Worker (worker.js) so that
// Blob reads, encoding and sending never wait for the page's main thread;
// sharing.js runs it in the page itself where Workers are unavailable.
//
// Commands in (plain objects, structured-cloneable):
//   { op: 'add', id, file, name? }   { op: 'remove', name }
//   { op: 'start', url, token }      { op: 'stop' }
//   { op: 'resetProgress' }          { op: 'configure', reconnect?, cache? }
//   { op: 'hold', name, on }         (tests: leave that file's reads unanswered)
// Messages out:
//   { kind: 'added', id, file: FileInfo } | { kind: 'added', id, error }
//   { kind: 'removed', name }
//   { kind: 'state', detail }        the Provider's statechange detail
//   { kind: 'progress', files: FileInfo[], device: DeviceInfo }
//   { kind: 'held', path }           a read left unanswered by 'hold'

import { FilesFS } from './filesfs.js';
import { Provider, State } from './provider.js';
import { ReadAhead, syncLoader } from './readahead.js';

/**
 * @typedef {object} FileInfo
 * @property {string} name
 * @property {number} ino
 * @property {number} size
 * @property {number} bytesRead   bytes handed to the device, re-reads included
 * @property {number} covered     bytes of the file read at least once
 * @property {number} reads
 * @property {number} open        handles the device holds
 * @property {import('./filesfs.js').Activity} activity
 * @property {number} rate        bytes per second over the last second
 */

/**
 * What the device as a whole is doing:
 * waiting (nothing read yet), reading, open (files open, no read for a
 * moment), idle (files open but nothing read for IDLE_MS: probably done),
 * done (everything it read it has closed), cut (a lost connection cut reads off).
 * @typedef {{ activity: 'waiting' | 'reading' | 'open' | 'idle' | 'done' | 'cut', idleMs: number }} DeviceInfo
 */

export const IDLE_MS = 10000;
const TICK_MS = 250;
const RATE_WINDOW_MS = 1000;

export class SharingCore {
    /**
     * @param {(msg: object) => void} post  where messages go
     * @param {object} [options]
     * @param {boolean} [options.reconnect]  default true
     * @param {object} [options.cache]       ReadAhead options
     * @param {number} [options.silenceTimeout]  see Provider (default SILENCE_MS)
     * @param {any} [options.WebSocket]
     */
    constructor(post, options = {}) {
        this.post = post;
        this.token = '';
        // Rate samples per entry; weak, so a removed file (and its Blob) is
        // not kept alive by them.
        /** @type {WeakMap<object, {t: number, bytes: number}[]>} */
        this.samples = new WeakMap();
        this.dirty = false;
        this.lastSent = '';
        /** @type {Set<string>} */
        this.held = new Set();
        this.fs = new FilesFS({ onChange: () => { this.dirty = true; }, cache: options.cache });
        // 'hold' (tests): reads of a held file are never answered.
        for (const name of /** @type {const} */ (['read', 'readInto'])) {
            const fn = this.fs[name].bind(this.fs);
            this.fs[name] = (/** @type {string} */ path, /** @type {any[]} */ ...rest) => {
                if (!this.held.has(path)) return fn(path, ...rest);
                this.post({ kind: 'held', path });
                return new Promise(() => {});
            };
        }
        this.provider = new Provider(this.fs, {
            token: () => this.token,
            reconnect: options.reconnect ?? true,
            silenceTimeout: options.silenceTimeout,
            WebSocket: options.WebSocket,
            onError: (err) => console.error(err),
        });
        this.provider.addEventListener('statechange', (e) => {
            this.post({ kind: 'state', detail: /** @type {CustomEvent} */ (e).detail });
            this.dirty = true;
            this._progress();
        });
        this.timer = setInterval(() => this._progress(), TICK_MS);
    }

    /** @param {any} cmd */
    handle(cmd) {
        switch (cmd.op) {
        case 'add':
            try {
                const e = this.fs.add(cmd.file, cmd.name);
                this.post({ kind: 'added', id: cmd.id, file: this._info(e, Date.now()) });
            } catch (err) {
                this.post({ kind: 'added', id: cmd.id, error: String(err && err.message || err) });
            }
            break;
        case 'remove':
            if (this.fs.remove(cmd.name)) this.post({ kind: 'removed', name: cmd.name });
            break;
        case 'start':
            this.token = cmd.token ?? '';
            this.fs.resetProgress(); // a new session starts from nothing read
            this.samples = new WeakMap();
            this.provider.connect(cmd.url);
            break;
        case 'stop':
            this.provider.disconnect();
            break;
        case 'resetProgress':
            this.fs.resetProgress();
            this.samples = new WeakMap();
            break;
        case 'configure':
            if (typeof cmd.reconnect === 'boolean') this.provider.options.reconnect = cmd.reconnect;
            if (cmd.cache) this.fs.cache = new ReadAhead({ loadSync: syncLoader(), ...cmd.cache });
            break;
        case 'hold':
            if (cmd.on) this.held.add(`/${cmd.name}`);
            else this.held.delete(`/${cmd.name}`);
            break;
        default:
            break;
        }
        this.dirty = true;
        this._progress();
    }

    /** @param {any} e @param {number} now @returns {FileInfo} */
    _info(e, now) {
        let s = this.samples.get(e);
        if (!s) {
            s = [];
            this.samples.set(e, s);
        }
        if (!s.length || now - s[s.length - 1].t >= TICK_MS / 2) s.push({ t: now, bytes: e.bytesRead });
        while (s.length > 2 && now - s[1].t >= RATE_WINDOW_MS) s.shift();
        const span = s[s.length - 1].t - s[0].t;
        const rate = span >= 200 ? ((s[s.length - 1].bytes - s[0].bytes) * 1000) / span : 0;
        return {
            name: e.name, ino: e.ino, size: e.size, bytesRead: e.bytesRead, covered: this.fs.progressOf(e),
            reads: e.reads, open: e.openCount, activity: this.fs.activityOf(e, now), rate: Math.round(rate),
        };
    }

    /** @param {FileInfo[]} files @param {number} now @returns {DeviceInfo} */
    _device(files, now) {
        let last = 0;
        for (const e of this.fs.list()) last = Math.max(last, e.lastReadAt);
        const idleMs = last ? now - last : 0;
        const has = (a) => files.some((f) => f.activity === a);
        /** @type {DeviceInfo['activity']} */
        let activity;
        if (has('reading')) activity = 'reading';
        else if (has('cut')) activity = 'cut';
        else if (has('open')) activity = idleMs >= IDLE_MS ? 'idle' : 'open';
        else if (has('done')) activity = 'done';
        else activity = 'waiting';
        return { activity, idleMs };
    }

    _progress() {
        const now = Date.now();
        const files = this.fs.list().map((e) => this._info(e, now));
        const device = this._device(files, now);
        // Send when something changed (idleMs alone is not a change).
        const key = JSON.stringify([files, device.activity]);
        if (!this.dirty && key === this.lastSent) return;
        this.dirty = false;
        this.lastSent = key;
        this.post({ kind: 'progress', files, device });
    }

    close() {
        clearInterval(this.timer);
        this.provider.disconnect();
    }
}

export { State };
