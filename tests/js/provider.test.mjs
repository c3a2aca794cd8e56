// Provider logic with a fake socket and fake filesystems, and the read-only
// FilesFS behind it, driven through encoded requests like a service sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = process.env.WF_SOURCE_DIR ?? join(here, '..', '..');
const { encode, decode, Type, RESPONSE, NO_HANDLE, Errno } = await import(join(sourceDir, 'web', 'webfuse', 'codec.js'));
const { Provider, FsError, State, sameOriginUrl } = await import(join(sourceDir, 'web', 'webfuse', 'provider.js'));
const { FilesFS } = await import(join(sourceDir, 'web', 'webfuse', 'filesfs.js'));
const { ReadAhead } = await import(join(sourceDir, 'web', 'webfuse', 'readahead.js'));

// A stand-in for the browser WebSocket, driven by the test.
class FakeSocket {
    static last = null;
    constructor(url, protocol) {
        this.url = url;
        this.protocol = protocol;
        this.readyState = 0;
        this.sent = [];
        this.raw = []; // copies of the bytes sent
        this.closedWith = null;
        this.waiters = [];
        FakeSocket.last = this;
    }
    send(data) {
        assert.equal(this.readyState, 1, 'send on an open socket only');
        this.raw.push(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
        this.sent.push(decode(data));
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
    }
    close(code, reason) {
        this.closedWith = { code, reason };
        this.readyState = 3;
    }
    // test side
    open() {
        this.readyState = 1;
        this.onopen?.({});
    }
    request(msg) {
        const bytes = encode(msg);
        const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        this.onmessage?.({ data: copy });
    }
    serverClose(code, reason = '') {
        this.readyState = 3;
        this.onclose?.({ code, reason });
    }
    async waitSent(n, ms = 2000) {
        const deadline = Date.now() + ms;
        while (this.sent.length < n) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} responses, have ${this.sent.length}`);
            await new Promise((resolve) => {
                const t = setTimeout(resolve, 20);
                this.waiters.push(() => {
                    clearTimeout(t);
                    resolve();
                });
            });
        }
        return this.sent;
    }
}

function deferred() {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    return { promise, resolve };
}

function connected(fs, options = {}) {
    const p = new Provider(fs, { WebSocket: FakeSocket, ...options });
    const states = [];
    p.addEventListener('statechange', (e) => states.push(e.detail));
    p.connect('ws://device:8081/');
    const ws = FakeSocket.last;
    return { p, ws, states };
}

test('connects with the webfuse2 subprotocol and arraybuffer messages', () => {
    const { p, ws, states } = connected({});
    assert.deepEqual(ws.protocol, ['webfuse2-heartbeat', 'webfuse2'], 'the heartbeat name first, then plain webfuse2');
    assert.equal(ws.binaryType, 'arraybuffer');
    assert.equal(p.state, State.CONNECTING);
    ws.open();
    assert.equal(p.state, State.CONNECTED);
    assert.deepEqual(states.map((s) => s.state), ['connecting', 'connected']);
});

test('requests in flight are answered when done, in any order', async () => {
    const slow = deferred();
    const fs = {
        async read(path, length, offset) {
            if (path === '/slow') await slow.promise;
            return new Uint8Array(length).fill(offset & 0xff);
        },
        getattr: async () => ({ ino: 2, nlink: 1, mode: 0o100444, size: 9 }),
    };
    const { p, ws } = connected(fs);
    ws.open();
    ws.request({ id: 1, type: Type.READ, path: '/slow', length: 4, offset: 1, handle: NO_HANDLE });
    ws.request({ id: 2, type: Type.GETATTR, path: '/fast' });
    ws.request({ id: 3, type: Type.READ, path: '/fast', length: 2, offset: 7, handle: 5 });
    await ws.waitSent(2);
    assert.deepEqual(ws.sent.map((m) => m.id).sort(), [2, 3]);
    assert.equal(p.inflight, 1);
    slow.resolve();
    await ws.waitSent(3);
    assert.equal(ws.sent[2].id, 1);
    assert.equal(ws.sent[2].type, Type.READ | RESPONSE);
    assert.equal(ws.sent[2].result, 4);
    assert.deepEqual([...ws.sent[2].data], [1, 1, 1, 1]);
    const attr = ws.sent.find((m) => m.id === 2);
    assert.equal(attr.result, 0);
    assert.equal(attr.attr.size, 9);
});

test('getcreds gets the token the page supplies; unknown types get 0x80', async () => {
    let token = 'first';
    const { ws } = connected({}, { token: () => token });
    ws.open();
    ws.request({ id: 7, type: Type.GETCREDS });
    await ws.waitSent(1);
    assert.deepEqual(ws.sent[0], { id: 7, type: 0x97, path2: 'first' });
    token = 'second';
    ws.request({ id: 8, type: Type.GETCREDS });
    await ws.waitSent(2);
    assert.equal(ws.sent[1].path2, 'second');
    const raw = new Uint8Array([0, 0, 0, 9, 0x55, 1, 2, 3]);
    ws.onmessage({ data: raw.buffer });
    await ws.waitSent(3);
    assert.deepEqual(ws.sent[2], { id: 9, type: 0x80 });
});

test('errors: FsError errno, missing method ENOSYS, plain exception EIO', async () => {
    const errors = [];
    const fs = {
        getattr: () => { throw new FsError(Errno.ENOENT); },
        readdir: () => { throw new Error('bug'); },
        unlink: () => { throw Object.assign(new Error('odd'), { errno: 9999 }); },
    };
    const { ws } = connected(fs, { onError: (e) => errors.push(e) });
    ws.open();
    ws.request({ id: 1, type: Type.GETATTR, path: '/x' });
    ws.request({ id: 2, type: Type.READDIR, path: '/' });
    ws.request({ id: 3, type: Type.MKDIR, path: '/d', mode: 0o755 });
    ws.request({ id: 4, type: Type.UNLINK, path: '/x' });
    await ws.waitSent(4);
    const byId = Object.fromEntries(ws.sent.map((m) => [m.id, m]));
    assert.equal(byId[1].result, -Errno.ENOENT);
    assert.equal(byId[2].result, -Errno.EIO);
    assert.equal(byId[3].result, -Errno.ENOSYS);
    assert.equal(byId[4].result, -Errno.EIO); // unknown errno numbers become EIO
    assert.equal(errors.length, 2);
});

test('a text message is ignored; a truncated request gets -EIO', async () => {
    const { ws } = connected({ getattr: () => ({}) });
    ws.open();
    ws.onmessage({ data: 'hello' });
    ws.onmessage({ data: new Uint8Array([0, 0, 0, 4, 0x02, 0, 0]).buffer });
    await ws.waitSent(1);
    assert.deepEqual(ws.sent, [{ id: 4, type: 0x82, result: -Errno.EIO }]);
});

test('answers are dropped once the socket closed', async () => {
    const slow = deferred();
    const { p, ws } = connected({ statfs: async () => { await slow.promise; return {}; } });
    ws.open();
    ws.request({ id: 1, type: Type.STATFS, path: '/' });
    p.disconnect();
    assert.deepEqual(ws.closedWith, { code: 1000, reason: 'provider stopped sharing' });
    assert.equal(p.state, State.IDLE);
    slow.resolve();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ws.sent.length, 0);
    assert.equal(p.inflight, 0);
});

test('states: refused before open, lost after, refused after failed credentials', () => {
    let c = connected({});
    c.ws.serverClose(1006);
    assert.equal(c.p.state, State.REFUSED);
    assert.equal(c.states.at(-1).code, 1006);

    c = connected({});
    c.ws.open();
    c.ws.request({ id: 1, type: Type.STATFS, path: '/' });
    c.ws.serverClose(1001, 'going away');
    assert.equal(c.p.state, State.LOST);
    assert.equal(c.states.at(-1).code, 1001);
    assert.equal(c.states.at(-1).reason, 'going away');

    // An older service turns a token down by dropping the connection right
    // after getcreds: refused, but not for good (a cut looks the same).
    c = connected({}, { token: 'bad' });
    c.ws.open();
    c.ws.request({ id: 1, type: Type.GETCREDS });
    c.ws.serverClose(1006);
    assert.equal(c.p.state, State.REFUSED);
    assert.match(c.states.at(-1).message, /token was probably refused/);
    assert.equal(c.states.at(-1).permanent, false);

    c = connected({});
    c.ws.open();
    c.ws.serverClose(1008, 'policy');
    assert.equal(c.p.state, State.REFUSED);
});

test('a first connection not accepted is tried again a few times, quietly, then refused', async () => {
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    // knocked while the device still holds a vanished connection of ours
    let c = connected({}, { reconnect: true, reconnectDelays: [1] });
    c.ws.serverClose(1006);
    await wait(20);
    assert.notEqual(FakeSocket.last, c.ws, 'a second attempt');
    assert.equal(c.p.state, State.CONNECTING, 'nothing to tell the person yet');
    FakeSocket.last.open();
    assert.equal(c.p.state, State.CONNECTED);
    assert.ok(!c.states.some((s) => s.state === State.REFUSED || s.state === State.RECONNECTING));

    // never accepted: refused after 1 + 5 attempts
    c = connected({}, { reconnect: true, reconnectDelays: [1] });
    let attempts = 1;
    for (let i = 0; i < 10 && c.p.state !== State.REFUSED; i++) {
        const ws = FakeSocket.last;
        ws.serverClose(1006);
        await wait(20);
        if (FakeSocket.last !== ws) attempts++;
    }
    assert.equal(c.p.state, State.REFUSED);
    assert.equal(attempts, 6);
    assert.match(c.states.at(-1).message, /could not be reached/);

    // a refusal the browser can see (close code after the handshake) is not retried this way
    c = connected({}, { reconnect: true, reconnectDelays: [1] });
    c.ws.open();
    c.ws.serverClose(4401, 'token rejected');
    await wait(20);
    assert.equal(c.p.state, State.REFUSED);

    // Stop while waiting between attempts: no further attempt
    c = connected({}, { reconnect: true, reconnectDelays: [30] });
    c.ws.serverClose(1006);
    c.p.disconnect();
    const last = FakeSocket.last;
    await wait(60);
    assert.equal(FakeSocket.last, last);
    assert.equal(c.p.state, State.IDLE);
});

test('silence from a heartbeat service ends the connection as lost; answering or draining is not silence', async () => {
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    const fs = { getattr: async () => ({ ino: 1, nlink: 2, mode: 0o40755, size: 0 }) };
    // a service that selected the heartbeat name, then went dark
    let c = connected(fs, { reconnect: true, reconnectDelays: [5000], silenceTimeout: 80 });
    c.ws.protocol = 'webfuse2-heartbeat'; // what the service selected
    c.ws.open();
    c.ws.request({ id: 1, type: Type.GETATTR, path: '/' }); // a heartbeat
    await c.ws.waitSent(1);
    await wait(50);
    assert.equal(c.p.state, State.CONNECTED, 'heard 50 ms ago');
    await wait(120);
    assert.equal(c.p.state, State.RECONNECTING);
    assert.equal(c.states.at(-1).code, 4000);
    assert.match(c.states.at(-1).message, /connection to the device was lost/);
    assert.deepEqual(c.ws.closedWith, { code: 4000, reason: 'no word from the device' }, 'not 1000: the device holds the session');
    c.p.disconnect();

    // beats keep it alive; so do answers still draining
    c = connected(fs, { reconnect: true, silenceTimeout: 80 });
    c.ws.protocol = 'webfuse2-heartbeat';
    c.ws.open();
    for (let i = 0; i < 5; i++) {
        await wait(40);
        c.ws.request({ id: 10 + i, type: Type.GETATTR, path: '/' });
    }
    c.ws.bufferedAmount = 10000;
    for (let i = 0; i < 5; i++) {
        await wait(40);
        c.ws.bufferedAmount -= 1000; // the device takes our bytes, slowly
    }
    assert.equal(c.p.state, State.CONNECTED);
    await wait(150); // now nothing moves
    assert.equal(c.p.state, State.RECONNECTING);
    c.p.disconnect();

    // a service without heartbeats (plain webfuse2): silence is normal
    c = connected(fs, { reconnect: true, silenceTimeout: 40 });
    c.ws.protocol = 'webfuse2';
    c.ws.open();
    await wait(150);
    assert.equal(c.p.state, State.CONNECTED);
    c.p.disconnect();
});

test('after getcreds, a close with a code, or a drop minutes later, is not a token refusal', async () => {
    let c = connected({}, { token: 'good' });
    c.ws.open();
    c.ws.request({ id: 1, type: Type.GETCREDS });
    await c.ws.waitSent(1);
    c.ws.serverClose(1001, 'restarting');
    assert.equal(c.p.state, State.LOST, 'the service going away is not a verdict on the token');
    c.p.disconnect();

    c = connected({}, { token: 'good' });
    c.ws.open();
    c.ws.request({ id: 1, type: Type.GETCREDS });
    await c.ws.waitSent(1);
    const now = Date.now;
    Date.now = () => now() + 60000; // the device left the mount alone for a minute
    try {
        c.ws.serverClose(1006);
    } finally {
        Date.now = now;
    }
    assert.equal(c.p.state, State.LOST);
    assert.equal(c.states.at(-1).message, 'The connection to the device was lost.');
    c.p.disconnect();
});

test('a token function that throws still answers getcreds (with no token)', async () => {
    const errors = [];
    const c = connected({}, { token: () => { throw new Error('no keyring'); }, onError: (e) => errors.push(e) });
    c.ws.open();
    c.ws.request({ id: 7, type: Type.GETCREDS });
    await c.ws.waitSent(1);
    assert.deepEqual(c.ws.sent, [{ id: 7, type: Type.GETCREDS | RESPONSE, path2: '' }]);
    assert.equal(errors.length, 1);
    c.p.disconnect();
});

test('same-origin URL follows the page scheme and host', () => {
    assert.equal(sameOriginUrl({ protocol: 'http:', host: 'dev:8080' }), 'ws://dev:8080/');
    assert.equal(sameOriginUrl({ protocol: 'https:', host: 'dev' }), 'wss://dev/');
});

// ------------------------------------------------------------------ FilesFS through the provider

async function roundtrip(ws, msg) {
    const n = ws.sent.length;
    ws.request(msg);
    await ws.waitSent(n + 1);
    return ws.sent.find((m, i) => i >= n && m.id === msg.id);
}

test('FilesFS: attributes, listing, reads, progress, read-only', async () => {
    const events = [];
    const fs = new FilesFS({ onChange: (kind, e) => events.push([kind, e.name]) });
    const content = new Uint8Array(300000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
    const when = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    fs.add(new File([content], 'fw.img', { lastModified: when }));
    fs.add(new Blob([new Uint8Array([1, 2, 3])]), 'small.bin');
    fs.add(new File([new Uint8Array(0)], 'fw.img'));
    assert.deepEqual(fs.list().map((e) => e.name), ['fw.img', 'small.bin', 'fw (2).img']);

    const { ws } = connected(fs);
    ws.open();
    let id = 1;
    const rq = (m) => roundtrip(ws, { id: id++, ...m });

    const root = await rq({ type: Type.GETATTR, path: '/' });
    assert.equal(root.result, 0);
    assert.equal(root.attr.mode, 0o040555);
    const attr = await rq({ type: Type.GETATTR, path: '/fw.img' });
    assert.equal(attr.attr.mode, 0o100444);
    assert.equal(attr.attr.size, 300000);
    assert.deepEqual(attr.attr.mtime, { sec: Math.floor(when / 1000), nsec: 678000000 });
    assert.equal((await rq({ type: Type.GETATTR, path: '/nope' })).result, -Errno.ENOENT);
    assert.equal((await rq({ type: Type.GETATTR, path: '/fw.img/x' })).result, -Errno.ENOTDIR);

    const dir = await rq({ type: Type.READDIR, path: '/' });
    assert.deepEqual(dir.names, ['fw.img', 'small.bin', 'fw (2).img']);
    assert.equal((await rq({ type: Type.READDIR, path: '/fw.img' })).result, -Errno.ENOTDIR);

    for (const flags of [1, 2, 0o1000, 0o101]) {
        assert.equal((await rq({ type: Type.OPEN, path: '/fw.img', flags })).result, -Errno.EROFS, `flags ${flags}`);
    }
    assert.equal((await rq({ type: Type.OPEN, path: '/nope', flags: 0 })).result, -Errno.ENOENT);
    const opened = await rq({ type: Type.OPEN, path: '/fw.img', flags: 0o100000 });
    assert.equal(opened.result, 0);
    const h = opened.handle;

    const r1 = await rq({ type: Type.READ, path: '/fw.img', length: 131072, offset: 0, handle: h });
    assert.equal(r1.result, 131072);
    assert.deepEqual(r1.data, content.subarray(0, 131072));
    const r2 = await rq({ type: Type.READ, path: '/fw.img', length: 262144, offset: 131072, handle: NO_HANDLE });
    assert.equal(r2.result, 300000 - 131072);
    assert.deepEqual(r2.data, content.subarray(131072));
    const eof = await rq({ type: Type.READ, path: '/fw.img', length: 10, offset: 300000, handle: h });
    assert.equal(eof.result, 0);
    const far = await rq({ type: Type.READ, path: '/fw.img', length: 10, offset: 2n ** 60n, handle: h });
    assert.equal(far.result, 0);
    await rq({ type: Type.READ, path: '/fw.img', length: 100, offset: 0, handle: h }); // a re-read
    const entry = fs.list()[0];
    assert.equal(fs.progressOf(entry), 300000);
    assert.equal(entry.bytesRead, 300100);
    assert.ok(events.some(([k, n]) => k === 'progress' && n === 'fw.img'));
    assert.equal((await rq({ type: Type.RELEASE, path: '/fw.img', handle: h })).result, 0);
    assert.equal(entry.openCount, 0);

    const st = await rq({ type: Type.STATFS, path: '/' });
    assert.equal(st.result, 0);
    assert.equal(st.statfs.files, 4);
    assert.equal(st.statfs.namemax, 255);

    assert.equal((await rq({ type: Type.ACCESS, path: '/fw.img', access: 4 })).result, 0);
    assert.equal((await rq({ type: Type.ACCESS, path: '/fw.img', access: 2 })).result, -Errno.EROFS);
    assert.equal((await rq({ type: Type.ACCESS, path: '/', access: 5 })).result, 0);
    assert.equal((await rq({ type: Type.ACCESS, path: '/nope', access: 0 })).result, -Errno.ENOENT);

    const mutating = [
        { type: Type.SYMLINK, path2: 't', path: '/l' },
        { type: Type.LINK, path: '/fw.img', path2: '/l' },
        { type: Type.RENAME, path: '/fw.img', path2: '/x', rename_flags: 0 },
        { type: Type.CHMOD, path: '/fw.img', mode: 0o644 },
        { type: Type.CHOWN, path: '/fw.img', uid: 1, gid: 1 },
        { type: Type.TRUNCATE, path: '/fw.img', size: 0, handle: NO_HANDLE },
        { type: Type.MKNOD, path: '/n', mode: 0o10644, rdev: 0 },
        { type: Type.CREATE, path: '/n', mode: 0o644 },
        { type: Type.UNLINK, path: '/fw.img' },
        { type: Type.WRITE, path: '/fw.img', data: new Uint8Array([1]), offset: 0, handle: NO_HANDLE },
        { type: Type.MKDIR, path: '/d', mode: 0o755 },
        { type: Type.RMDIR, path: '/d' },
        { type: Type.UTIMENS, path: '/fw.img', atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 }, handle: NO_HANDLE },
    ];
    for (const m of mutating) {
        assert.equal((await rq(m)).result, -Errno.EROFS, `type ${m.type}`);
    }
    assert.deepEqual(fs.list().map((e) => e.size), [300000, 3, 0]);
});

test('FilesFS: a removed file fails reads on open handles, vanishes from the listing', async () => {
    const fs = new FilesFS();
    fs.add(new Blob([new Uint8Array(10)]), 'a.bin');
    const h = fs.open('/a.bin', 0);
    assert.equal((await fs.read('/a.bin', 4, 0, h)).length, 4);
    fs.remove('a.bin');
    await assert.rejects(async () => fs.read('/a.bin', 4, 0, h), (e) => e.errno === Errno.EIO);
    await assert.rejects(async () => fs.read('/a.bin', 4, 0, NO_HANDLE), (e) => e.errno === Errno.ENOENT);
    assert.deepEqual(fs.readdir('/'), []);
    fs.release('/a.bin', h);
});

// A cache whose reads finish when the test says so.
class HeldCache extends ReadAhead {
    constructor() {
        super();
        this.held = [];
    }
    read(file, offset, size) {
        const d = deferred();
        this.held.push(() => d.resolve(new Uint8Array(size)));
        return d.promise;
    }
}

test('FilesFS: a read from before a lost connection or a reset counts for nothing', async () => {
    const cache = new HeldCache();
    const fs = new FilesFS({ cache });
    const e = fs.add(new Blob([new Uint8Array(1 << 20)]), 'fw.img');
    fs.open('/fw.img', 0);
    const first = fs.read('/fw.img', 4096, 0, NO_HANDLE);
    cache.held.shift()();
    await first;
    assert.equal(e.reads, 1);

    const late = fs.read('/fw.img', 4096, 4096, NO_HANDLE);
    assert.equal(fs.activityOf(e), 'reading');
    fs.connectionEnded();
    assert.equal(fs.activityOf(e), 'cut');
    cache.held.shift()();
    await late;
    assert.equal(e.reads, 1, 'the late answer is not progress');
    assert.equal(e.cut, true);
    assert.equal(fs.activityOf(e, Date.now() + 5000), 'cut', 'still cut off, not done');

    const stale = fs.read('/fw.img', 4096, 8192, NO_HANDLE);
    fs.resetProgress(); // Stop, then Start: a new session
    cache.held.shift()();
    await stale;
    assert.deepEqual([e.reads, e.bytesRead, e.inflight, fs.activityOf(e)], [0, 0, 0, 'waiting']);
});

test('FilesFS: numbered names stay within 255 bytes and keep their extension', () => {
    const fs = new FilesFS();
    const long = 'é'.repeat(124) + '.img'; // 252 bytes
    assert.equal(fs.add(new Blob([]), long).name, long);
    const second = fs.add(new Blob([]), long).name;
    assert.ok(new TextEncoder().encode(second).length <= 255, second);
    assert.match(second, /^é+ \(2\)\.img$/);
    const huge = fs.add(new Blob([]), 'x'.repeat(300)).name;
    assert.equal(huge.length, 255);
    assert.equal(fs.add(new Blob([]), '..').name, 'file');
});

test('reads through readInto: the frame sent is the encoded response, buffers reused safely', async () => {
    const content = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < content.length; i++) content[i] = (i * 13 + (i >> 9)) & 0xff;
    const fs = new FilesFS();
    fs.add(new Blob([content]), 'img');
    const { ws } = connected(fs);
    ws.open();
    let id = 100;
    const h = (await roundtrip(ws, { id: id++, type: Type.OPEN, path: '/img', flags: 0 })).handle;
    for (let off = 0; off < content.length; off += 512 * 1024) {
        const n = ws.raw.length;
        const r = await roundtrip(ws, { id, type: Type.READ, path: '/img', length: 512 * 1024, offset: off, handle: h });
        const want = content.subarray(off, off + 512 * 1024);
        assert.deepEqual(r.data, want, `bytes at ${off}`);
        const expected = encode({ id, type: Type.READ | RESPONSE, result: want.length, data: want });
        assert.deepEqual(ws.raw[n], expected, `frame of the read at ${off}`);
        id++;
    }
    assert.ok(fs.cache.stats.streamed >= 6, `streamed ${fs.cache.stats.streamed}`);
    // a read that fails (file removed) answers -EIO and does not break the next ones
    fs.add(new Blob([content.subarray(0, 1000)]), 'other');
    const o = (await roundtrip(ws, { id: id++, type: Type.OPEN, path: '/other', flags: 0 })).handle;
    fs.remove('other');
    assert.equal((await roundtrip(ws, { id: id++, type: Type.READ, path: '/other', length: 10, offset: 0, handle: o })).result, -Errno.EIO);
    const again = await roundtrip(ws, { id: id++, type: Type.READ, path: '/img', length: 1000, offset: 7, handle: h });
    assert.deepEqual(again.data, content.subarray(7, 1007));
});

test('a readInto that answers outside its target still gets a right response', async () => {
    const fs = {
        read: () => new Uint8Array([9]),
        readInto: (path, target) => new Uint8Array([1, 2, 3].slice(0, target.length)),
    };
    const { ws } = connected(fs);
    ws.open();
    const r = await roundtrip(ws, { id: 5, type: Type.READ, path: '/x', length: 100, offset: 0, handle: NO_HANDLE });
    assert.equal(r.result, 3);
    assert.deepEqual([...r.data], [1, 2, 3]);
});
