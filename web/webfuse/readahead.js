// Read-ahead for Blob-backed files, with a small bounded cache.
//
// Each Blob read has a fixed cost far above the copy (a browser IPC round
// trip: ~2 ms for blob.slice().arrayBuffer() on the main thread), so reading
// the device's 128-512 KiB requests one by one is slow. A sequential reader
// (a hash, a copy, a loop-mounted image scanned in order) is instead served
// from large blocks, and the next blocks are read in the background while the
// current one is answered. A random read misses the cache and reads just the
// bytes asked for, so a lone 4 KiB read does not pay for a whole block.
//
// A sequential reader is served from one Blob stream per file, read with a
// BYOB reader: in Chromium that costs about a third of the CPU of a
// slice().arrayBuffer() per block and runs at 600-1000 MB/s instead of 250
// (the stream is opened once and the browser keeps feeding it). readInto()
// fills a read that continues where the stream stands straight into the
// caller's buffer; other reads near the last one get 2 MiB blocks filled
// from the stream. Where Blob streams are not byte streams, blocks are read
// with slice().
//
// Memory: at most maxBlocks * blockSize bytes (16 MiB by default), whatever
// the file size, plus what the browser buffers for an open stream.

/** @typedef {{ size: number, blob: Blob, removed?: boolean }} CachedFile */

/**
 * @callback SyncLoader
 * @param {Blob} blob
 * @param {number} start
 * @param {number} end
 * @returns {ArrayBuffer}
 */
/**
 * @callback AsyncLoader
 * @param {Blob} blob
 * @param {number} start
 * @param {number} end
 * @returns {Promise<ArrayBuffer>}
 */

/**
 * @callback StreamOpener  a BYOB reader of blob's bytes from start on, or
 *   null when this browser's Blob streams are not byte streams
 * @param {Blob} blob
 * @param {number} start
 * @returns {ReadableStreamBYOBReader | null}
 */

/**
 * An open stream of one file and where its next byte lies: blocks are
 * filled from it in order, each fill queued behind the one before.
 * @typedef {{ reader: ReadableStreamBYOBReader, pos: number, tail: Promise<void> }} Cursor
 */

const EMPTY = new Uint8Array(0);
const ignore = () => {};

/** @type {StreamOpener} */
export function byobStream(blob, start) {
    try {
        return blob.slice(start).stream().getReader({ mode: 'byob' });
    } catch {
        return null;
    }
}

/**
 * Fills all of `target` from the reader; fewer bytes mean the file changed
 * under us, which fails the read rather than truncating it. Each read
 * transfers the buffer, so the result is a view of the same memory in the
 * buffer's last incarnation.
 * @param {ReadableStreamBYOBReader} reader @param {Uint8Array} target
 * @returns {Promise<Uint8Array>}
 */
async function fillInto(reader, target) {
    const n = target.length;
    const start = target.byteOffset;
    let buf = /** @type {ArrayBuffer} */ (target.buffer);
    let got = 0;
    while (got < n) {
        const { value, done } = await reader.read(new Uint8Array(buf, start + got, n - got));
        if (value) buf = /** @type {ArrayBuffer} */ (value.buffer);
        if (done || !value) break;
        got += value.byteLength;
    }
    if (got < n) throw new Error(`file ended ${n - got} bytes early (changed while shared?)`);
    return new Uint8Array(buf, start, n);
}

/** @type {AsyncLoader} */
export function loadAsync(blob, start, end) {
    return blob.slice(start, end).arrayBuffer();
}

/**
 * FileReaderSync (dedicated workers only): the read blocks the worker, which
 * has nothing else to do meanwhile, and skips a promise round trip.
 * @returns {SyncLoader | null}
 */
export function syncLoader() {
    const FRS = /** @type {any} */ (globalThis).FileReaderSync;
    if (typeof FRS !== 'function') return null;
    const reader = new FRS();
    return (blob, start, end) => reader.readAsArrayBuffer(blob.slice(start, end));
}

/**
 * @typedef {object} Block
 * @property {CachedFile} file
 * @property {number} index
 * @property {Uint8Array | null} data      null while loading
 * @property {Promise<Uint8Array> | null} pending
 */

export class ReadAhead {
    /**
     * @param {object} [options]
     * @param {number} [options.blockSize]   bytes per cached block (2 MiB)
     * @param {number} [options.maxBlocks]   blocks held at most (8)
     * @param {number} [options.ahead]       blocks read ahead of a sequential reader (2)
     * @param {SyncLoader | null} [options.loadSync]  reads a random miss synchronously when given
     *   (and a sequential one too when there are no streams)
     * @param {AsyncLoader} [options.loadAsync]       reads in the background
     * @param {StreamOpener | null} [options.openStream]  streams for sequential blocks
     *   (default byobStream; null: read blocks with the loaders)
     */
    constructor(options = {}) {
        this.blockSize = options.blockSize ?? 2 * 1024 * 1024;
        this.maxBlocks = Math.max(1, options.maxBlocks ?? 8);
        this.ahead = options.ahead ?? 2;
        this.loadSync = options.loadSync ?? null;
        this.loadAsync = options.loadAsync ?? loadAsync;
        this.openStream = options.openStream === undefined ? byobStream : options.openStream;
        /** @type {Set<Cursor>} open streams, to close them on clear() */
        this.cursors = new Set();
        /** @type {Map<number, Block>} key: file id * 2^32 + block index; insertion order = least recently used first */
        this.blocks = new Map();
        /** @type {WeakMap<CachedFile, {id: number, lastEnd: number, cursor: Cursor | null}>} */
        this.files = new WeakMap();
        this.nextId = 1;
        this.stats = { hits: 0, misses: 0, direct: 0, prefetched: 0, evicted: 0, streams: 0, streamed: 0 };
    }

    /** Bytes held in cached blocks. */
    get bytes() {
        let n = 0;
        for (const b of this.blocks.values()) if (b.data) n += b.data.length;
        return n;
    }

    /** @param {CachedFile} file @returns {{id: number, lastEnd: number, cursor: Cursor | null}} */
    _state(file) {
        let st = this.files.get(file);
        if (!st) {
            st = { id: this.nextId++, lastEnd: -1, cursor: null };
            this.files.set(file, st);
        }
        return st;
    }

    /**
     * Up to `length` bytes at `offset` (fewer at the end of the file, none
     * past it). Synchronous when the bytes are cached or a sync loader is
     * set and nothing needed is still loading; a Promise otherwise.
     * @param {CachedFile} file
     * @param {number} offset
     * @param {number} length
     * @returns {Uint8Array | Promise<Uint8Array>}
     */
    read(file, offset, length) {
        const size = file.size;
        if (!(offset < size) || length <= 0) return EMPTY;
        const end = Math.min(size, offset + length);
        const st = this._state(file);
        const B = this.blockSize;
        // Sequential: starts the file, or within two blocks of the last read
        // (the kernel's read-ahead may send neighbouring requests out of order).
        const sequential = offset === 0 || (st.lastEnd >= 0 && Math.abs(offset - st.lastEnd) <= 2 * B);
        st.lastEnd = end;
        const first = Math.floor(offset / B);
        const last = Math.floor((end - 1) / B);

        const keys = [];
        let missing = false;
        let loading = false;
        for (let i = first; i <= last; i++) {
            const key = st.id * 0x100000000 + i;
            keys.push(key);
            const b = this.blocks.get(key);
            if (!b) missing = true;
            else if (!b.data) loading = true;
        }
        if (!missing && !loading) {
            this.stats.hits++;
            const out = this._assemble(keys, offset, end);
            if (sequential) this._prefetch(file, st, last + 1);
            return out;
        }
        if (!sequential && !loading) {
            // A random read: just the bytes asked for, not cached.
            this.stats.direct++;
            return this._direct(file, offset, end);
        }
        this.stats.misses++;
        for (let i = first; i <= last; i++) {
            const key = keys[i - first];
            if (this.blocks.has(key)) continue;
            if (this.loadSync && !this.openStream) this._store(file, key, i, this._syncBlock(file, i));
            else this._startLoad(file, key, i);
        }
        const waits = [];
        for (const key of keys) {
            const b = this.blocks.get(key);
            if (b && !b.data && b.pending) waits.push(b.pending);
        }
        if (!waits.length) {
            // (a cache smaller than one read may have evicted a block already)
            if (!keys.every((k) => this.blocks.get(k)?.data)) return this._direct(file, offset, end);
            const out = this._assemble(keys, offset, end);
            this._prefetch(file, st, last + 1);
            return out;
        }
        this._prefetch(file, st, last + 1);
        return Promise.all(waits).then(() => {
            if (file.removed) throw new Error('file removed');
            // A block evicted meanwhile (tiny caches): read the range directly.
            if (keys.some((k) => !this.blocks.get(k)?.data)) return this._direct(file, offset, end);
            return this._assemble(keys, offset, end);
        });
    }

    /**
     * Like read(), into `target` (up to target.length bytes at `offset`):
     * a read that continues where the file's stream stands (or starts the
     * file) is filled straight from the stream, with no block in between;
     * any other read goes through read() and is copied. The target's buffer
     * may be transferred on the way: use the returned view (same memory,
     * same offsets, possibly a new ArrayBuffer), not the target, afterwards.
     * @param {CachedFile} file
     * @param {number} offset
     * @param {Uint8Array} target
     * @returns {Uint8Array | Promise<Uint8Array>}  the bytes read, in target's memory
     */
    readInto(file, offset, target) {
        const size = file.size;
        if (!(offset < size) || target.length === 0) return target.subarray(0, 0);
        const n = Math.min(target.length, size - offset);
        const st = this._state(file);
        // Where the stream stands, or the start of the file (a new stream).
        const streaming = (st.cursor !== null && st.cursor.pos === offset) || offset === 0;
        const c = streaming ? this._cursor(file, offset, offset + n) : null;
        if (!c) {
            const copy = (/** @type {Uint8Array} */ d) => {
                target.set(d);
                return target.subarray(0, d.length);
            };
            const d = this.read(file, offset, n);
            return d instanceof Uint8Array ? copy(d) : d.then(copy);
        }
        st.lastEnd = offset + n;
        this.stats.streamed++;
        return this._fill(file, c, target.subarray(0, n));
    }

    /** Forgets a file's blocks (removed, or changed). @param {CachedFile} file */
    drop(file) {
        const st = this.files.get(file);
        if (!st) return;
        if (st.cursor) this._close(st.cursor);
        for (const [key, b] of [...this.blocks]) if (b.file === file) this.blocks.delete(key);
        this.files.delete(file);
    }

    clear() {
        for (const c of this.cursors) this._close(c);
        this.blocks.clear();
        this.files = new WeakMap();
    }

    /** Closes a stream once the fills queued on it are done. @param {Cursor} c */
    _close(c) {
        this.cursors.delete(c);
        c.tail.then(() => c.reader.cancel()).catch(ignore);
    }

    /**
     * The file's stream positioned at `start`, with [start, end) claimed from
     * it; a stream elsewhere is closed and a new one opened. Null without
     * streams.
     * @param {CachedFile} file @param {number} start @param {number} end
     * @returns {Cursor | null}
     */
    _cursor(file, start, end) {
        if (!this.openStream) return null;
        const st = this._state(file);
        let c = st.cursor;
        if (!c || c.pos !== start) {
            if (c) this._close(c);
            st.cursor = null;
            const reader = this.openStream(file.blob, start);
            if (!reader) {
                this.openStream = null; // not byte streams here: slice() from now on
                return null;
            }
            c = { reader, pos: start, tail: Promise.resolve() };
            this.stats.streams++;
            this.cursors.add(c);
            st.cursor = c;
        }
        c.pos = end;
        return c;
    }

    /**
     * Bytes [start, end) of the file: from its stream when there is one.
     * @param {CachedFile} file @param {number} start @param {number} end
     * @returns {Promise<Uint8Array>}
     */
    _load(file, start, end) {
        const c = this._cursor(file, start, end);
        if (!c) return this.loadAsync(file.blob, start, end).then((buf) => new Uint8Array(buf));
        return this._fill(file, c, new Uint8Array(end - start));
    }

    /**
     * Fills `target` from the stream once the fills queued before it are
     * done (the cursor has claimed its bytes already). The stream is let go
     * after a failed fill, which leaves it at an unknown place (the next
     * read opens a new one), and at the end of the file.
     * @param {CachedFile} file @param {Cursor} c @param {Uint8Array} target
     * @returns {Promise<Uint8Array>}
     */
    _fill(file, c, target) {
        const st = this._state(file);
        const retire = () => {
            if (st.cursor === c) st.cursor = null;
            this._close(c);
        };
        const data = c.tail.then(() => fillInto(c.reader, target));
        c.tail = data.then(ignore, retire);
        if (c.pos >= file.size) retire();
        return data;
    }

    /** @param {CachedFile} file @param {number} offset @param {number} end */
    _direct(file, offset, end) {
        if (this.loadSync) return new Uint8Array(this.loadSync(file.blob, offset, end));
        return this.loadAsync(file.blob, offset, end).then((buf) => new Uint8Array(buf));
    }

    /** @param {number[]} keys @param {number} offset @param {number} end */
    _assemble(keys, offset, end) {
        const B = this.blockSize;
        if (keys.length === 1) {
            // Within one block: a view, no copy (blocks are never written to;
            // the encoder copies the bytes into the message once).
            const b = /** @type {Block} */ (this.blocks.get(keys[0]));
            this.blocks.delete(keys[0]);
            this.blocks.set(keys[0], b);
            const start = b.index * B;
            return /** @type {Uint8Array} */ (b.data).subarray(offset - start, end - start);
        }
        const out = new Uint8Array(end - offset);
        let pos = offset;
        for (const key of keys) {
            const b = /** @type {Block} */ (this.blocks.get(key));
            // touch: most recently used goes to the end
            this.blocks.delete(key);
            this.blocks.set(key, b);
            const data = /** @type {Uint8Array} */ (b.data);
            const blockStart = b.index * B;
            const from = pos - blockStart;
            const to = Math.min(data.length, end - blockStart);
            out.set(data.subarray(from, to), pos - offset);
            pos = blockStart + to;
        }
        return out;
    }

    /** @param {CachedFile} file @param {number} index */
    _syncBlock(file, index) {
        const start = index * this.blockSize;
        const end = Math.min(file.size, start + this.blockSize);
        return new Uint8Array(/** @type {SyncLoader} */ (this.loadSync)(file.blob, start, end));
    }

    /** @param {CachedFile} file @param {number} key @param {number} index @param {Uint8Array} data */
    _store(file, key, index, data) {
        this.blocks.set(key, { file, index, data, pending: null });
        this._evict();
    }

    /** @param {CachedFile} file @param {number} key @param {number} index */
    _startLoad(file, key, index) {
        const start = index * this.blockSize;
        const end = Math.min(file.size, start + this.blockSize);
        /** @type {Block} */
        const block = { file, index, data: null, pending: null };
        block.pending = this._load(file, start, end).then((data) => {
            if (this.blocks.get(key) === block) {
                block.data = data;
                block.pending = null;
            }
            return data;
        }, (err) => {
            if (this.blocks.get(key) === block) this.blocks.delete(key);
            throw err;
        });
        block.pending.catch(() => {}); // a failed prefetch is retried by the read that needs it
        this.blocks.set(key, block);
        this._evict();
    }

    /** @param {CachedFile} file @param {{id: number}} st @param {number} from */
    _prefetch(file, st, from) {
        for (let i = from; i < from + this.ahead; i++) {
            if (i * this.blockSize >= file.size) break;
            const key = st.id * 0x100000000 + i;
            if (this.blocks.has(key)) continue;
            this.stats.prefetched++;
            this._startLoad(file, key, i);
        }
    }

    // Least recently used first, but not a block still loading: that is the
    // read-ahead the reader is about to need (dropping it would also move
    // the file's stream back).
    _evict() {
        while (this.blocks.size > this.maxBlocks) {
            let victim = this.blocks.keys().next().value;
            for (const [key, b] of this.blocks) {
                if (b.data) {
                    victim = key;
                    break;
                }
            }
            this.blocks.delete(/** @type {number} */ (victim));
            this.stats.evicted++;
        }
    }
}
