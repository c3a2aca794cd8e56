// A read-only filesystem for the webfuse provider, backed by File / Blob
// objects the person picked: one flat root directory holding those files.
// Reads go through a bounded read-ahead cache (readahead.js), so a file is
// never loaded whole. Per file it tracks what the device did: bytes read,
// reads in flight, open handles, when it last read, whether it closed the
// file (done) or the connection was lost while it read (cut off).

import { Errno, Mode, OpenFlags, Access } from './codec.js';
import { FsError } from './provider.js';
import { ReadAhead, syncLoader } from './readahead.js';

/**
 * What the device is doing with a file:
 * - waiting: not read yet
 * - reading: a read in flight or within the last READING_MS
 * - open: opened (and read), but no read for a while
 * - done: read, then closed by the device
 * - cut: the connection was lost while the file was open or being read
 * @typedef {'waiting' | 'reading' | 'open' | 'done' | 'cut'} Activity
 */

/**
 * @typedef {object} Entry
 * @property {string} name
 * @property {Blob} blob
 * @property {number} size
 * @property {{sec: number, nsec: number}} mtime
 * @property {number} ino
 * @property {number} bytesRead   every byte handed to the device, re-reads included
 * @property {number} reads
 * @property {Coverage} coverage  which bytes the device has read at least once
 * @property {number} openCount
 * @property {number} inflight
 * @property {number} lastReadAt  Date.now() of the last read answered, 0 = never
 * @property {boolean} cut
 * @property {boolean} removed
 */

export const READING_MS = 1000;

const BLOCK = 4096;

function timeOf(ms) {
    const t = Math.max(0, Math.floor(Number(ms) || 0));
    return { sec: Math.floor(t / 1000), nsec: (t % 1000) * 1000000 };
}

const NAME_MAX = 255; // bytes, as the device's filesystem counts them

/**
 * name with suffix before its extension ("update (2).img"), the stem
 * shortened so the whole stays within NAME_MAX bytes of UTF-8: the device
 * does not list longer names.
 * @param {string} name @param {string} suffix @returns {string}
 */
function withSuffix(name, suffix) {
    const dot = name.lastIndexOf('.');
    let ext = dot > 0 ? name.slice(dot) : '';
    if (utf8Length(ext) > 32) ext = ''; // not an extension worth keeping
    const stem = Array.from(ext ? name.slice(0, dot) : name); // code points: never split one
    const room = NAME_MAX - utf8Length(suffix + ext);
    let bytes = utf8Length(stem.join(''));
    while (stem.length > 1 && bytes > room) bytes -= utf8Length(/** @type {string} */ (stem.pop()));
    return stem.join('') + suffix + ext;
}

const utf8 = new TextEncoder();

/** @param {string} s */
function utf8Length(s) {
    return utf8.encode(s).length;
}

// Merged, sorted [start, end) ranges: how much of a file the device has seen.
class Coverage {
    constructor() {
        this.ranges = [];
        this.covered = 0;
    }
    add(start, end) {
        if (end <= start) return;
        const tail = this.ranges[this.ranges.length - 1];
        if (tail && tail[0] <= start && start <= tail[1]) { // the usual case: reading on in order
            if (end > tail[1]) {
                this.covered += end - tail[1];
                tail[1] = end;
            }
            return;
        }
        const out = [];
        let s = start;
        let e = end;
        let placed = false;
        for (const [a, b] of this.ranges) {
            if (b < s) out.push([a, b]);
            else if (a > e) {
                if (!placed) {
                    out.push([s, e]);
                    placed = true;
                }
                out.push([a, b]);
            } else {
                s = Math.min(s, a);
                e = Math.max(e, b);
            }
        }
        if (!placed) out.push([s, e]);
        this.ranges = out;
        this.covered = out.reduce((n, [a, b]) => n + (b - a), 0);
    }
}

export class FilesFS {
    /**
     * @param {object} [options]
     * @param {(kind: 'add' | 'remove' | 'progress', entry: Entry) => void} [options.onChange]
     * @param {ReadAhead | object} [options.cache]  a ReadAhead, or options for one
     *   (FileReaderSync is used for misses where it exists: in a Worker)
     */
    constructor(options = {}) {
        /** @type {Map<string, Entry>} */
        this.entries = new Map(); // name -> entry
        /** @type {Map<number, Entry>} */
        this.handles = new Map(); // handle -> entry
        this.nextIno = 2;
        this.nextHandle = 1;
        // Bumped when a connection ends or progress is reset: a read that
        // was started before answers nobody and counts for nothing.
        this.session = 0;
        this.rootTime = timeOf(Date.now());
        this.onChange = options.onChange ?? null;
        this.cache = options.cache instanceof ReadAhead
            ? options.cache : new ReadAhead({ loadSync: syncLoader(), ...(options.cache ?? {}) });
    }

    // Shares a File or Blob. name defaults to file.name; a clash gets a
    // " (2)" style suffix. Returns the entry.
    add(blob, name) {
        let base = name ?? blob.name ?? 'file';
        base = String(base).replace(/[/\0]/g, '_');
        if (base === '' || base === '.' || base === '..') base = 'file';
        let unique = withSuffix(base, '');
        for (let i = 2; this.entries.has(unique); i++) unique = withSuffix(base, ` (${i})`);
        const entry = {
            name: unique,
            blob,
            size: blob.size,
            mtime: timeOf(blob.lastModified ?? Date.now()),
            ino: this.nextIno++,
            bytesRead: 0,   // every byte handed to the device, re-reads included
            reads: 0,
            coverage: new Coverage(),
            openCount: 0,
            inflight: 0,
            lastReadAt: 0,
            cut: false,
            removed: false,
        };
        this.entries.set(unique, entry);
        this.rootTime = timeOf(Date.now());
        this._changed('add', entry);
        return entry;
    }

    remove(name) {
        const entry = this.entries.get(name);
        if (!entry) return false;
        entry.removed = true;
        this.cache.drop(entry);
        this.entries.delete(name);
        this.rootTime = timeOf(Date.now());
        this._changed('remove', entry);
        return true;
    }

    clear() {
        for (const name of [...this.entries.keys()]) this.remove(name);
    }

    list() {
        return [...this.entries.values()];
    }

    // Bytes of the file the device has read at least once.
    progressOf(entry) {
        return entry.coverage.covered;
    }

    /**
     * @param {Entry} e
     * @param {number} [now]
     * @returns {Activity}
     */
    activityOf(e, now = Date.now()) {
        if (e.inflight > 0 || (e.lastReadAt && now - e.lastReadAt < READING_MS)) return 'reading';
        if (e.cut) return 'cut';
        if (e.openCount > 0 && e.reads > 0) return 'open';
        return e.reads > 0 ? 'done' : 'waiting';
    }

    // A new session: nothing read yet.
    resetProgress() {
        this.session++;
        for (const e of this.entries.values()) {
            e.inflight = 0;
            e.bytesRead = 0;
            e.reads = 0;
            e.coverage = new Coverage();
            e.lastReadAt = 0;
            e.cut = false;
            this._changed('progress', e);
        }
    }

    // The connection ended: handles belonged to it (a resuming service opens
    // the files again). A file open or being read is marked cut off.
    connectionEnded() {
        this.session++;
        for (const e of this.entries.values()) {
            if ((e.openCount > 0 || e.inflight > 0) && e.reads > 0) e.cut = true;
            e.openCount = 0;
            e.inflight = 0;
            e.lastReadAt = 0;
            this._changed('progress', e);
        }
        this.handles.clear();
        this.cache.clear();
    }

    _changed(kind, entry) {
        if (this.onChange) {
            try {
                this.onChange(kind, entry);
            } catch {
                // the UI's problem, not the device's
            }
        }
    }

    _lookup(path) {
        if (path === '/') return null;
        if (typeof path !== 'string' || path[0] !== '/') throw new FsError(Errno.ENOENT);
        const name = path.slice(1);
        const entry = this.entries.get(name);
        if (!entry) {
            if (name.includes('/')) {
                // below a regular file, or a missing directory
                const first = name.slice(0, name.indexOf('/'));
                throw new FsError(this.entries.has(first) ? Errno.ENOTDIR : Errno.ENOENT);
            }
            throw new FsError(Errno.ENOENT);
        }
        return entry;
    }

    // ------------------------------------------------------------ reading

    getattr(path) {
        const e = this._lookup(path);
        if (e === null) {
            return {
                ino: 1, nlink: 2, mode: Mode.S_IFDIR | 0o555, uid: 0, gid: 0, rdev: 0,
                size: 0, blocks: 0, atime: this.rootTime, mtime: this.rootTime, ctime: this.rootTime,
            };
        }
        return {
            ino: e.ino, nlink: 1, mode: Mode.S_IFREG | 0o444, uid: 0, gid: 0, rdev: 0,
            size: e.size, blocks: Math.ceil(e.size / 512), atime: e.mtime, mtime: e.mtime, ctime: e.mtime,
        };
    }

    access(path, mode) {
        const e = this._lookup(path);
        const m = Number(mode) & 7;
        if (m & Access.W_OK) throw new FsError(Errno.EROFS);
        if (e !== null && (m & Access.X_OK)) throw new FsError(Errno.EACCES);
    }

    readdir(path) {
        const e = this._lookup(path);
        if (e !== null) throw new FsError(Errno.ENOTDIR);
        return [...this.entries.keys()];
    }

    readlink(path) {
        this._lookup(path);
        throw new FsError(Errno.EINVAL);
    }

    open(path, flags) {
        const e = this._lookup(path);
        const f = Number(flags) | 0;
        if ((f & OpenFlags.O_ACCMODE) !== OpenFlags.O_RDONLY || (f & OpenFlags.O_TRUNC)) {
            throw new FsError(Errno.EROFS);
        }
        if (e === null) throw new FsError(Errno.EISDIR);
        if (f & OpenFlags.O_DIRECTORY) throw new FsError(Errno.ENOTDIR);
        const handle = this.nextHandle++;
        this.handles.set(handle, e);
        e.openCount++;
        e.cut = false;
        this._changed('progress', e);
        return handle;
    }

    release(path, handle) {
        const e = this.handles.get(Number(handle));
        if (e) {
            this.handles.delete(Number(handle));
            e.openCount--;
            if (e.openCount === 0) e.lastReadAt = 0; // closed: done now, not "reading" for another second
            this._changed('progress', e);
        }
    }

    /**
     * @param {string} path
     * @param {number} size
     * @param {number | bigint} offset
     * @param {number | bigint} [handle]
     * @returns {Uint8Array | Promise<Uint8Array>}  synchronous when cached (or in a Worker)
     */
    read(path, size, offset, handle) {
        const e = this._entryFor(path, handle);
        // An offset past 2^53 (a BigInt) is past the end of any Blob.
        if (typeof offset === 'bigint' || offset >= e.size || size <= 0) return new Uint8Array(0);
        return this._settle(e, offset, () => this.cache.read(e, offset, size));
    }

    /** The entry a read is for. @param {string} path @param {number | bigint} [handle] @returns {Entry} */
    _entryFor(path, handle) {
        // Prefer the handle from open(); fall back to the path (the service
        // may send the no-handle value).
        let e = typeof handle === 'number' ? this.handles.get(handle) : undefined;
        if (!e) {
            e = this._lookup(path);
            if (e === null) throw new FsError(Errno.EISDIR);
        }
        if (e.removed) throw new FsError(Errno.EIO);
        return e;
    }

    /**
     * Runs a cache read and accounts its bytes now or when they arrive; a
     * failure becomes EIO.
     * @param {Entry} e @param {number} offset @param {() => Uint8Array | Promise<Uint8Array>} readCache
     * @returns {Uint8Array | Promise<Uint8Array>}
     */
    _settle(e, offset, readCache) {
        let data;
        try {
            data = readCache();
        } catch (err) {
            throw new FsError(Errno.EIO, String(err && /** @type {Error} */ (err).message || err));
        }
        if (data instanceof Uint8Array) return this._served(e, offset, data);
        const session = this.session;
        e.inflight++;
        this._changed('progress', e);
        return data.then((d) => {
            if (session !== this.session) return d; // its answer goes nowhere: not progress
            e.inflight--;
            if (e.removed) throw new FsError(Errno.EIO);
            return this._served(e, offset, d);
        }, (err) => {
            if (session === this.session) e.inflight--;
            this._changed('progress', e);
            throw err instanceof FsError ? err : new FsError(Errno.EIO, String(err && err.message || err));
        });
    }

    /**
     * read() into `target` (see ReadAhead.readInto: the target's buffer may
     * be transferred; use the returned view).
     * @param {string} path
     * @param {Uint8Array} target
     * @param {number | bigint} offset
     * @param {number | bigint} [handle]
     * @returns {Uint8Array | Promise<Uint8Array>}
     */
    readInto(path, target, offset, handle) {
        const e = this._entryFor(path, handle);
        if (typeof offset === 'bigint' || offset >= e.size || target.length === 0) return target.subarray(0, 0);
        return this._settle(e, offset, () => this.cache.readInto(e, offset, target));
    }

    /** @param {Entry} e @param {number} offset @param {Uint8Array} data */
    _served(e, offset, data) {
        const n = data.length;
        e.bytesRead += n;
        e.reads++;
        e.lastReadAt = Date.now();
        e.cut = false;
        e.coverage.add(offset, offset + n);
        this._changed('progress', e);
        return data;
    }

    fsync() {
        // nothing is ever dirty
    }

    statfs(path) {
        this._lookup(path);
        let blocks = 0;
        for (const e of this.entries.values()) blocks += Math.ceil(e.size / BLOCK);
        return {
            bsize: BLOCK, frsize: BLOCK, blocks, bfree: 0, bavail: 0,
            files: this.entries.size + 1, ffree: 0, namemax: 255,
        };
    }

    // ------------------------------------------------------------ mutating: all refused

    symlink() { throw new FsError(Errno.EROFS); }
    link() { throw new FsError(Errno.EROFS); }
    rename() { throw new FsError(Errno.EROFS); }
    chmod() { throw new FsError(Errno.EROFS); }
    chown() { throw new FsError(Errno.EROFS); }
    truncate() { throw new FsError(Errno.EROFS); }
    mknod() { throw new FsError(Errno.EROFS); }
    create() { throw new FsError(Errno.EROFS); }
    unlink() { throw new FsError(Errno.EROFS); }
    write() { throw new FsError(Errno.EROFS); }
    mkdir() { throw new FsError(Errno.EROFS); }
    rmdir() { throw new FsError(Errno.EROFS); }
    utimens() { throw new FsError(Errno.EROFS); }
}
