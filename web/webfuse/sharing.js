// Share files with a device: the one object an embedding page needs.
//
//   import { Sharing } from './webfuse/index.js';
//   const sharing = new Sharing();                 // url defaults to the page's own origin
//   sharing.addEventListener('statechange', (e) => show(e.detail.state, e.detail.message));
//   sharing.addEventListener('progress', (e) => draw(e.detail.files, e.detail.device));
//   await sharing.add(file);                       // a File from <input type=file> or a drop
//   sharing.start();                               // ... later: sharing.stop()
//
// The engine (core.js) runs in a dedicated module Worker when the browser
// can start one, and in the page otherwise.

import { SharingCore } from './core.js';
import { State, sameOriginUrl } from './provider.js';

/** @typedef {import('./core.js').FileInfo} FileInfo */
/** @typedef {import('./core.js').DeviceInfo} DeviceInfo */

/**
 * @typedef {object} SharingOptions
 * @property {string} [url]        ws:// or wss:// address of the service (default: the page's origin)
 * @property {string | (() => string)} [token]  sent when the service asks for credentials
 * @property {boolean} [worker]    run in a Worker (default true; falls back to the page)
 * @property {boolean} [reconnect] reconnect with backoff after a lost connection (default true)
 * @property {object} [cache]      read-ahead options: blockSize, maxBlocks, ahead
 */

export class Sharing extends EventTarget {
    /** @param {SharingOptions} [options] */
    constructor(options = {}) {
        super();
        this.options = options;
        this.url = options.url ?? (globalThis.location ? sameOriginUrl(globalThis.location) : '');
        /** @type {string} */
        this.state = State.IDLE;
        /** @type {Record<string, any>} */
        this.detail = { state: State.IDLE };
        /** @type {FileInfo[]} */
        this.files = [];
        /** @type {DeviceInfo} */
        this.device = { activity: 'waiting', idleMs: 0 };
        this.nextId = 1;
        /** @type {Map<number, {resolve: (f: FileInfo) => void, reject: (e: Error) => void}>} */
        this.waiting = new Map();
        /** @type {Worker | null} */
        this.worker = null;
        /** @type {SharingCore | null} */
        this.core = null;
        const onMessage = (/** @type {any} */ msg) => this._message(msg);
        if (options.worker !== false && typeof Worker === 'function') {
            try {
                this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
                this.worker.onmessage = (ev) => onMessage(ev.data);
                this.worker.onerror = (ev) => console.error('webfuse worker:', ev.message);
            } catch (err) {
                console.warn('webfuse: no Worker, sharing from the page itself:', err);
                this.worker = null;
            }
        }
        if (!this.worker) {
            this.core = new SharingCore((msg) => queueMicrotask(() => onMessage(msg)),
                { reconnect: options.reconnect, cache: options.cache });
        } else if (options.reconnect === false || options.cache) {
            this._send({ op: 'configure', reconnect: options.reconnect, cache: options.cache });
        }
    }

    /** 'worker' or 'page': where the engine runs. */
    get mode() {
        return this.worker ? 'worker' : 'page';
    }

    /** @param {any} cmd */
    _send(cmd) {
        if (this.worker) this.worker.postMessage(cmd);
        else /** @type {SharingCore} */ (this.core).handle(cmd);
    }

    /** @param {any} msg */
    _message(msg) {
        if (msg.kind === 'added') {
            const w = this.waiting.get(msg.id);
            this.waiting.delete(msg.id);
            if (msg.error) w?.reject(new Error(msg.error));
            else {
                this.files = [...this.files.filter((f) => f.name !== msg.file.name), msg.file];
                w?.resolve(msg.file);
                this._emit('add', msg.file);
            }
        } else if (msg.kind === 'removed') {
            this.files = this.files.filter((f) => f.name !== msg.name);
            this._emit('remove', { name: msg.name });
        } else if (msg.kind === 'state') {
            this.state = msg.detail.state;
            this.detail = msg.detail;
            this._emit('statechange', msg.detail);
        } else if (msg.kind === 'held') {
            this._emit('held', { path: msg.path });
        } else if (msg.kind === 'progress') {
            this.files = msg.files;
            this.device = msg.device;
            this._emit('progress', { files: msg.files, device: msg.device });
        }
    }

    /**
     * Shares a File or Blob under its name (or `name`); a taken name gets a
     * " (2)" suffix. Resolves to the file's info, with the name used.
     * @param {Blob} file @param {string} [name] @returns {Promise<FileInfo>}
     */
    add(file, name) {
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.waiting.set(id, { resolve, reject });
            this._send({ op: 'add', id, file, name });
        });
    }

    /** Stops sharing one file. @param {string} name */
    remove(name) {
        this._send({ op: 'remove', name });
    }

    /** Starts a new session (progress starts from zero). @param {string} [url] */
    start(url) {
        if (url) this.url = url;
        const t = this.options.token;
        const token = typeof t === 'function' ? t() : (t ?? '');
        this._send({ op: 'start', url: this.url, token });
    }

    /** Stops sharing: a normal close, the device's mount empties at once. */
    stop() {
        this._send({ op: 'stop' });
    }

    resetProgress() {
        this._send({ op: 'resetProgress' });
    }

    /**
     * For tests: leave the device's reads of a file unanswered (a 'held'
     * event tells when one arrives), as a stalled disk would.
     * @param {string} name @param {boolean} on
     */
    hold(name, on) {
        this._send({ op: 'hold', name, on });
    }

    /** Stops and ends the Worker. */
    close() {
        this.stop();
        if (this.worker) {
            const w = this.worker;
            setTimeout(() => w.terminate(), 1000); // let the close frame go out first
            this.worker = null;
        } else this.core?.close();
    }

    /** @param {string} name @param {any} detail */
    _emit(name, detail) {
        this.dispatchEvent(new CustomEvent(name, { detail }));
    }
}
