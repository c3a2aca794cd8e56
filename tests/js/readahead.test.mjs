// The read-ahead cache (web/webfuse/readahead.js) with counting loaders over
// in-memory Blobs: hits, misses, eviction, reads past EOF, files removed
// while cached, background read-ahead, loader failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = process.env.WF_SOURCE_DIR ?? join(here, '..', '..');
const { ReadAhead } = await import(join(sourceDir, 'web', 'webfuse', 'readahead.js'));
const { FilesFS } = await import(join(sourceDir, 'web', 'webfuse', 'filesfs.js'));
const { Errno, NO_HANDLE } = await import(join(sourceDir, 'web', 'webfuse', 'codec.js'));

const KiB = 1024;

// Bytes whose value tells their offset: byte i is (i * 7 + (i >> 8)) & 0xff.
function pattern(size) {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
    return b;
}

function file(size) {
    const bytes = pattern(size);
    return { size, blob: new Blob([bytes]), bytes };
}

// Loaders that read the pattern back (from the file's bytes, not the Blob:
// node's Blob has no synchronous read) and log every call.
function loaders(files) {
    const calls = [];
    const find = (blob) => files.find((f) => f.blob === blob);
    return {
        calls,
        loadSync(blob, start, end) {
            calls.push(['sync', start, end]);
            return find(blob).bytes.slice(start, end).buffer;
        },
        async loadAsync(blob, start, end) {
            calls.push(['async', start, end]);
            await new Promise((r) => setTimeout(r, 1));
            return find(blob).bytes.slice(start, end).buffer;
        },
    };
}

test('sequential reads: one block load, then hits, and the next blocks read ahead', async () => {
    const f = file(1024 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 256 * KiB, maxBlocks: 4, ahead: 1, loadSync: l.loadSync, loadAsync: l.loadAsync });
    const a = c.read(f, 0, 64 * KiB);
    assert.ok(a instanceof Uint8Array, 'a sync loader answers at once');
    assert.deepEqual(a, f.bytes.subarray(0, 64 * KiB));
    assert.deepEqual(l.calls, [['sync', 0, 256 * KiB], ['async', 256 * KiB, 512 * KiB]]);
    for (let off = 64 * KiB; off < 256 * KiB; off += 64 * KiB) {
        assert.deepEqual(c.read(f, off, 64 * KiB), f.bytes.subarray(off, off + 64 * KiB));
    }
    assert.equal(c.stats.hits, 3);
    assert.equal(l.calls.filter((x) => x[0] === 'sync').length, 1, 'no more sync loads within the block');
    // The block read ahead: once it has arrived, reading into it is a hit.
    await new Promise((r) => setTimeout(r, 20));
    const b = c.read(f, 256 * KiB, 64 * KiB);
    assert.ok(b instanceof Uint8Array);
    assert.deepEqual(b, f.bytes.subarray(256 * KiB, 320 * KiB));
});

test('a read spanning two blocks is assembled in order', () => {
    const f = file(600 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 256 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync, ahead: 0 });
    c.read(f, 0, 4 * KiB);
    const out = c.read(f, 200 * KiB, 128 * KiB);
    assert.deepEqual(out, f.bytes.subarray(200 * KiB, 328 * KiB));
});

test('a random read misses: just the bytes asked for, nothing cached', () => {
    const f = file(8 * 1024 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 1024 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync });
    const out = c.read(f, 5000 * KiB + 3, 4 * KiB);
    assert.deepEqual(out, f.bytes.subarray(5000 * KiB + 3, 5004 * KiB + 3));
    assert.deepEqual(l.calls, [['sync', 5000 * KiB + 3, 5004 * KiB + 3]]);
    assert.equal(c.stats.direct, 1);
    assert.equal(c.bytes, 0);
    // ...but a read right after it counts as sequential and fills a block.
    c.read(f, 5004 * KiB + 3, 4 * KiB);
    assert.equal(c.stats.misses, 1);
    assert.ok(c.bytes >= 1024 * KiB);
});

test('eviction keeps the cache within maxBlocks, least recently used first', () => {
    const f = file(4096 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 256 * KiB, maxBlocks: 3, ahead: 0, loadSync: l.loadSync, loadAsync: l.loadAsync });
    for (let off = 0; off < f.size; off += 128 * KiB) {
        assert.deepEqual(c.read(f, off, 128 * KiB), f.bytes.subarray(off, off + 128 * KiB));
        assert.ok(c.blocks.size <= 3 && c.bytes <= 3 * 256 * KiB, `bounded at ${off}`);
    }
    assert.equal(c.stats.evicted, 16 - 3);
    // the oldest blocks are gone: reading block 0 again loads it again
    const before = l.calls.length;
    c.read(f, 0, 4 * KiB);
    assert.equal(l.calls.length, before + 1);
});

test('reads at and past the end of the file', async () => {
    const f = file(300 * KiB + 5);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 256 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync });
    assert.equal(c.read(f, f.size, 4096).length, 0);
    assert.equal(c.read(f, f.size + 1e9, 4096).length, 0);
    assert.equal(c.read(f, 0, 0).length, 0);
    assert.equal(l.calls.length, 0, 'nothing loaded for empty reads');
    c.read(f, 0, 4096);
    const tail = await c.read(f, 300 * KiB, 128 * KiB); // block 1 may still be on its way
    assert.deepEqual(tail, f.bytes.subarray(300 * KiB));
    assert.equal(tail.length, 5);
    // read-ahead never asks for blocks past the end
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(l.calls.every(([, s, e]) => s < f.size && e <= f.size), JSON.stringify(l.calls));
});

test('async only (main thread): misses wait for the block, prefetches are shared', async () => {
    const f = file(2048 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ openStream: null, blockSize: 512 * KiB, ahead: 2, loadAsync: l.loadAsync });
    const p = c.read(f, 0, 128 * KiB);
    assert.ok(p instanceof Promise);
    assert.deepEqual(await p, f.bytes.subarray(0, 128 * KiB));
    // block 1 is already on its way: this read waits for it, no new load
    const calls = l.calls.length;
    assert.deepEqual(await c.read(f, 512 * KiB, 128 * KiB), f.bytes.subarray(512 * KiB, 640 * KiB));
    assert.ok(l.calls.filter(([, s]) => s === 512 * KiB).length === 1, 'block 1 loaded once');
    assert.ok(l.calls.length >= calls);
});

test('a failed load rejects that read; the next read tries again', async () => {
    const f = file(1024 * KiB);
    let fail = true;
    const c = new ReadAhead({ openStream: null,
        blockSize: 256 * KiB,
        ahead: 0,
        loadAsync: async (blob, s, e) => {
            if (fail) throw new Error('NotReadableError');
            return f.bytes.slice(s, e).buffer;
        },
    });
    await assert.rejects(Promise.resolve(c.read(f, 0, 4096)), /NotReadable/);
    assert.equal(c.blocks.size, 0, 'the failed block is not kept');
    fail = false;
    assert.deepEqual(await c.read(f, 0, 4096), f.bytes.subarray(0, 4096));
});

test('drop() forgets a file; FilesFS drops it on remove and fails reads with EIO', async () => {
    const f = file(1024 * KiB);
    const g = file(1024 * KiB);
    const l = loaders([f, g]);
    const c = new ReadAhead({ openStream: null, blockSize: 256 * KiB, ahead: 0, loadSync: l.loadSync, loadAsync: l.loadAsync });
    c.read(f, 0, 4096);
    c.read(g, 0, 4096);
    assert.equal(c.bytes, 512 * KiB);
    c.drop(f);
    assert.equal(c.bytes, 256 * KiB, 'only the other file stays');
    assert.deepEqual(c.read(g, 4096, 4096), g.bytes.subarray(4096, 8192));

    const fs = new FilesFS({ cache: new ReadAhead({ openStream: null, blockSize: 256 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync }) });
    const e = fs.add(f.blob, 'f.bin');
    assert.equal(e.size, f.size);
    const h = fs.open('/f.bin', 0);
    assert.deepEqual(await fs.read('/f.bin', 4096, 0, h), f.bytes.subarray(0, 4096));
    assert.ok(fs.cache.bytes > 0);
    fs.remove('f.bin');
    assert.equal(fs.cache.bytes, 0, 'removing the file frees its blocks');
    await assert.rejects(async () => fs.read('/f.bin', 4096, 4096, h), (err) => err.errno === Errno.EIO);
    await assert.rejects(async () => fs.read('/f.bin', 4096, 0, NO_HANDLE), (err) => err.errno === Errno.ENOENT);
});

test('FilesFS activity: waiting, reading, open, done, cut, reset', async () => {
    const f = file(64 * KiB);
    const l = loaders([f]);
    const fs = new FilesFS({ cache: new ReadAhead({ openStream: null, loadSync: l.loadSync, loadAsync: l.loadAsync }) });
    const e = fs.add(f.blob, 'f.bin');
    assert.equal(fs.activityOf(e), 'waiting');
    const h = fs.open('/f.bin', 0);
    assert.equal(fs.activityOf(e), 'waiting', 'opened, nothing read');
    await fs.read('/f.bin', 4096, 0, h);
    const now = Date.now();
    assert.equal(fs.activityOf(e, now), 'reading');
    assert.equal(fs.activityOf(e, now + 5000), 'open');
    fs.release('/f.bin', h);
    assert.equal(fs.activityOf(e), 'done', 'closed by the device');
    const h2 = fs.open('/f.bin', 0);
    await fs.read('/f.bin', 4096, 4096, h2);
    fs.connectionEnded();
    assert.equal(fs.activityOf(e), 'cut');
    assert.equal(e.openCount, 0, 'handles belonged to the connection');
    fs.resetProgress();
    assert.equal(fs.activityOf(e), 'waiting');
    assert.equal(fs.progressOf(e), 0);
});

test('in-flight (async) reads count as reading; a lost connection marks them cut', async () => {
    const f = file(64 * KiB);
    let release;
    const gate = new Promise((r) => { release = r; });
    const fs = new FilesFS({
        cache: new ReadAhead({ openStream: null,
            loadAsync: async (blob, s, e) => {
                await gate;
                return f.bytes.slice(s, e).buffer;
            },
        }),
    });
    const e = fs.add(f.blob, 'f.bin');
    const h = fs.open('/f.bin', 0);
    const p = fs.read('/f.bin', 4096, 0, h);
    assert.equal(e.inflight, 1);
    assert.equal(fs.activityOf(e), 'reading');
    fs.connectionEnded();
    release();
    await p;
    assert.equal(e.inflight, 0);
});

// Streams: a counting opener around node's own Blob streams (byte streams,
// as in Chromium).
function streams() {
    const opened = [];
    return {
        opened,
        openStream(blob, start) {
            opened.push(start);
            return blob.slice(start).stream().getReader({ mode: 'byob' });
        },
    };
}

test('streams: a sequential reader is served from one stream, blocks in order', async () => {
    const f = file(3 * 1024 * KiB + 123);
    const l = loaders([f]);
    const s = streams();
    const c = new ReadAhead({ blockSize: 256 * KiB, maxBlocks: 4, ahead: 2, loadSync: l.loadSync, loadAsync: l.loadAsync, openStream: s.openStream });
    for (let off = 0; off < f.size; off += 128 * KiB) {
        const got = await c.read(f, off, 128 * KiB);
        assert.deepEqual(got, f.bytes.subarray(off, off + 128 * KiB), `bytes at ${off}`);
        assert.ok(c.blocks.size <= 4, 'bounded');
    }
    assert.deepEqual(s.opened, [0], 'one stream for the whole file');
    assert.deepEqual(l.calls, [], 'no slice reads');
    assert.equal(c.stats.streams, 1);
    assert.equal(c.cursors.size, 0, 'the stream is closed at the end of the file');
});

test('streams: a jump opens a stream at the new place; random reads use the loader', async () => {
    const f = file(8 * 1024 * KiB);
    const l = loaders([f]);
    const s = streams();
    const c = new ReadAhead({ blockSize: 256 * KiB, maxBlocks: 8, ahead: 1, loadSync: l.loadSync, loadAsync: l.loadAsync, openStream: s.openStream });
    assert.deepEqual(await c.read(f, 0, 64 * KiB), f.bytes.subarray(0, 64 * KiB));
    // random: far from the last read, nothing loading there
    const r = c.read(f, 6000 * KiB + 7, 4 * KiB);
    assert.ok(r instanceof Uint8Array, 'a random read is synchronous with a sync loader');
    assert.deepEqual(r, f.bytes.subarray(6000 * KiB + 7, 6004 * KiB + 7));
    assert.deepEqual(l.calls, [['sync', 6000 * KiB + 7, 6004 * KiB + 7]]);
    // sequential from there: a new stream at that block
    assert.deepEqual(await c.read(f, 6004 * KiB + 7, 64 * KiB), f.bytes.subarray(6004 * KiB + 7, 6068 * KiB + 7));
    assert.deepEqual(s.opened, [0, 5888 * KiB]);
    assert.equal(c.cursors.size, 1, 'the first stream was closed');
    c.clear();
    assert.equal(c.cursors.size, 0);
});

test('streams: a file that ends early fails the read (EIO), nothing truncated', async () => {
    const f = file(1024 * KiB);
    const short = { size: f.size, blob: new Blob([f.bytes.subarray(0, 300 * KiB)]), bytes: f.bytes };
    const c = new ReadAhead({ blockSize: 256 * KiB, ahead: 0, openStream: streams().openStream });
    assert.deepEqual(await c.read(short, 0, 4096), f.bytes.subarray(0, 4096));
    await assert.rejects(Promise.resolve(c.read(short, 256 * KiB, 128 * KiB)), /ended .* early/);
    assert.ok(![...c.blocks.values()].some((b) => b.index === 1), 'the failed block is not kept');

    const fs = new FilesFS({ cache: new ReadAhead({ blockSize: 256 * KiB, openStream: streams().openStream }) });
    fs.add(short.blob, 's.bin');
    const e = fs.list()[0];
    e.size = f.size; // the Blob is shorter than the size the device was told
    const h = fs.open('/s.bin', 0);
    assert.deepEqual(await fs.read('/s.bin', 4096, 0, h), f.bytes.subarray(0, 4096));
    await assert.rejects(async () => fs.read('/s.bin', 128 * KiB, 256 * KiB, h), (err) => err.errno === Errno.EIO);
});

test('streams: opener without byte streams falls back to slice() reads', async () => {
    const f = file(1024 * KiB);
    const l = loaders([f]);
    const c = new ReadAhead({ blockSize: 256 * KiB, ahead: 1, loadAsync: l.loadAsync, openStream: () => null });
    assert.deepEqual(await c.read(f, 0, 4096), f.bytes.subarray(0, 4096));
    assert.equal(c.openStream, null, 'not asked again');
    assert.ok(l.calls.some(([k, s]) => k === 'async' && s === 0));
});

test('readInto: contiguous reads come straight from one stream, into the target', async () => {
    const f = file(2 * 1024 * KiB + 99);
    const l = loaders([f]);
    const s = streams();
    const c = new ReadAhead({ blockSize: 256 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync, openStream: s.openStream });
    const buf = new ArrayBuffer(16 + 512 * KiB);
    let off = 0;
    let target = new Uint8Array(buf, 16, 512 * KiB);
    while (off < f.size) {
        const got = await c.readInto(f, off, target);
        assert.equal(got.byteOffset, 16, 'same place in the buffer');
        assert.equal(got.buffer.byteLength, 16 + 512 * KiB, 'the same (possibly transferred) buffer');
        assert.deepEqual(got, f.bytes.subarray(off, off + got.length), `bytes at ${off}`);
        off += got.length;
        target = new Uint8Array(got.buffer, 16, 512 * KiB);
    }
    assert.equal(off, f.size);
    assert.deepEqual(s.opened, [0]);
    assert.equal(c.stats.streamed, 5);
    assert.equal(c.blocks.size, 0, 'nothing cached on the way');
    assert.deepEqual(l.calls, []);
    assert.equal(c.cursors.size, 0, 'closed at the end of the file');
    assert.equal((await c.readInto(f, f.size, target)).length, 0);
});

test('readInto: two reads in flight are filled in order; other reads are copied from read()', async () => {
    const f = file(4 * 1024 * KiB);
    const l = loaders([f]);
    const s = streams();
    const c = new ReadAhead({ blockSize: 256 * KiB, loadSync: l.loadSync, loadAsync: l.loadAsync, openStream: s.openStream });
    const a = c.readInto(f, 0, new Uint8Array(128 * KiB));
    const b = c.readInto(f, 128 * KiB, new Uint8Array(256 * KiB));
    assert.deepEqual(await b, f.bytes.subarray(128 * KiB, 384 * KiB));
    assert.deepEqual(await a, f.bytes.subarray(0, 128 * KiB));
    // not where the stream stands: through the cache, copied into the target
    const t = new Uint8Array(8 * KiB).fill(0xee);
    const r = await c.readInto(f, 3000 * KiB + 5, t);
    assert.equal(r.buffer, t.buffer, 'copied, not transferred');
    assert.deepEqual(r, f.bytes.subarray(3000 * KiB + 5, 3008 * KiB + 5));
    assert.equal(c.stats.streamed, 2);
    assert.equal(c.stats.direct, 1);
    // starting over at 0 while a stream stands elsewhere: a new stream, straight again
    assert.deepEqual(await c.readInto(f, 0, new Uint8Array(4 * KiB)), f.bytes.subarray(0, 4 * KiB));
    assert.equal(c.stats.streamed, 3);
    assert.equal(s.opened.at(-1), 0);
});

test('readInto: a stream that ends early fails the read; the next read starts a new stream', async () => {
    const f = file(1024 * KiB);
    const short = { size: f.size, blob: new Blob([f.bytes.subarray(0, 100 * KiB)]), bytes: f.bytes };
    const s = streams();
    const c = new ReadAhead({ blockSize: 256 * KiB, openStream: s.openStream });
    await assert.rejects(Promise.resolve(c.readInto(short, 0, new Uint8Array(128 * KiB))), /ended .* early/);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(c.cursors.size, 0, 'the failed stream is closed');
    assert.deepEqual(await c.readInto(short, 0, new Uint8Array(4 * KiB)), f.bytes.subarray(0, 4 * KiB));
    assert.deepEqual(s.opened, [0, 0]);
});
