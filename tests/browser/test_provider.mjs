// The browser provider end to end, driven over the DevTools pipe (cdp.mjs; no
// Playwright, whose page hooks would copy every WebSocket frame):
//
//  - the provider runs in a Worker, and the in-page fallback still works
//  - progress states per file: waiting, reading (with a rate), done when the
//    device closes the file, cut off by a lost connection, reset when the
//    person starts a new session
//  - a 3 GiB (WF_BROWSER_WHOLE_GIB; default 1) sparse file read whole through the mount with the page's memory
//    flat, and reads across the 2 GiB and 4 GiB offsets of a 4.5 GiB file
//  - refusal close codes (4401 permanent, 4409 retried) shown as sentences,
//    with the code on a details line; Stop closes with code 1000
//  - web/webfuse/example.html, the 20-line embedding example, works
//  - a WebSocket cut in the middle of a read: the page reconnects and the
//    read completes with the right hash. This needs the service to hold
//    requests across a reconnect (issue 13, --wf-resume-timeout); it is
//    skipped while `webfuse --help` does not list that option.
//
// The page reaches the service through a small TCP proxy in this process, so
// the test can cut the connection (no close frame: code 1006 on both sides),
// answer the handshake with a refusal, and see the page's close frame.
//
//   node tests/browser/test_provider.mjs     (env WF_BUILD_DIR, WF_SOURCE_DIR)
// Exits 0 on success, 1 on failure, 77 when a tool is missing, 2 on watchdog.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect as netConnect } from 'node:net';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, chromiumPresent, CHROMIUM, memorySampler } from './cdp.mjs';
import { SKIP, check, fail, finish, freePort, isMounted, log, run, sleep, suite, waitFor } from './testkit.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = resolve(process.env.WF_SOURCE_DIR ?? join(here, '..', '..'));
const BUILD = resolve(process.env.WF_BUILD_DIR ?? join(SOURCE, 'build'));
const WEBFUSE = join(BUILD, 'webfuse');
const ARTIFACTS = join(BUILD, 'artifacts');
const WATCHDOG_MS = 9 * 60 * 1000;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
// The file read whole with the page's memory watched: 3 GiB as the issue
// measured (WF_BROWSER_WHOLE_GIB=3); 1 GiB by default to keep the suite short
// (the reads across 2 GiB and 4 GiB use the 4.5 GiB file either way).
const wholeGiB = Number(process.env.WF_BROWSER_WHOLE_GIB || 1);
const wholeSize = wholeGiB * GiB;

// A reader on the device side: reads PATH in CHUNK bytes, sleeping DELAY s
// after each, then holds the file open HOLD s; prints the sha256 (or the error).
const READER = `
import hashlib, sys, time
path, chunk, delay, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
h = hashlib.sha256()
try:
    with open(path, 'rb', buffering=0) as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
            if delay:
                time.sleep(delay)
        time.sleep(hold)
    print(h.hexdigest())
except OSError as e:
    print('error', e.strerror)
    sys.exit(1)
`;
const reader = (path, chunk, delay, hold, timeoutMs) =>
    run('python3', ['-c', READER, path, String(chunk), String(delay), String(hold)], { timeoutMs });

// ------------------------------------------------------------------ the proxy

// Forwards 127.0.0.1:port to the service. cut() drops every connection
// without a close frame; refuseWith(code) answers the next WebSocket
// handshakes itself and closes with that code; closeCodes lists the close
// codes of the close frames the page sent.
async function startProxy(target) {
    const pairs = new Set();
    const proxy = { port: 0, refuse: null, closeCodes: [], handshakes: 0 };
    const server = createServer((client) => {
        client.on('error', () => {});
        let head = Buffer.alloc(0);
        let upstream = null;
        const pair = { client, upstream: null };
        pairs.add(pair);
        const drop = () => {
            pairs.delete(pair);
            client.destroy();
            upstream?.destroy();
        };
        client.on('close', drop);
        client.on('data', (d) => {
            if (!upstream) {
                head = Buffer.concat([head, d]);
                const end = head.indexOf('\r\n\r\n');
                if (end < 0) return;
                const text = head.subarray(0, end).toString('latin1');
                const isWs = /^upgrade:\s*websocket/im.test(text);
                if (isWs) proxy.handshakes++;
                if (isWs && proxy.refuse) {
                    const key = (text.match(/^sec-websocket-key:\s*(\S+)/im) ?? [])[1] ?? '';
                    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
                    const reason = Buffer.from('refused by the test proxy');
                    const frame = Buffer.concat([Buffer.from([0x88, 2 + reason.length, proxy.refuse >> 8, proxy.refuse & 0xff]), reason]);
                    client.end(Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                        + `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: webfuse2\r\n\r\n`), frame]));
                    return;
                }
                upstream = netConnect(target, '127.0.0.1');
                pair.upstream = upstream;
                upstream.on('error', () => {});
                upstream.on('close', drop);
                upstream.on('data', (u) => client.write(u));
                upstream.write(head);
                return;
            }
            // a masked close frame from the page: 0x88, 0x80|len, mask, code
            if (d.length >= 8 && d[0] === 0x88 && (d[1] & 0x80) && d.length === 6 + (d[1] & 0x7f)) {
                proxy.closeCodes.push(((d[6] ^ d[2]) << 8) | (d[7] ^ d[3]));
            }
            upstream.write(d);
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    proxy.port = server.address().port;
    proxy.cut = () => {
        for (const p of [...pairs]) {
            p.client.resetAndDestroy?.() ?? p.client.destroy();
            p.upstream?.destroy();
        }
        pairs.clear();
    };
    proxy.close = () => new Promise((r) => { proxy.cut(); server.close(() => r()); });
    return proxy;
}

// ------------------------------------------------------------------ cleanup

let browser = null;
let proxy = null;
const services = [];
const mounts = [];
let work = null;
let serviceLog = '';
let page = null;

async function cleanup() {
    if (page) {
        try {
            mkdirSync(ARTIFACTS, { recursive: true });
            writeFileSync(join(ARTIFACTS, 'browser-provider-console.log'), page.console.join('\n') + '\n');
        } catch {
            // a convenience only
        }
    }
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(10000)]);
    browser = null;
    if (proxy) await Promise.race([proxy.close(), sleep(2000)]);
    for (const proc of services) {
        if (proc.exitCode !== null || proc.signalCode !== null) continue;
        proc.kill('SIGTERM');
        const exited = await Promise.race([new Promise((r) => proc.once('exit', () => r(true))), sleep(5000)]);
        if (!exited) proc.kill('SIGKILL');
    }
    for (const dir of mounts) if (isMounted(dir)) await run('fusermount3', ['-u', '-z', dir], { timeoutMs: 10000 });
    if (work && !mounts.some(isMounted)) await rm(work, { recursive: true, force: true }).catch(() => {});
    try {
        mkdirSync(ARTIFACTS, { recursive: true });
        writeFileSync(join(ARTIFACTS, 'browser-provider-webfuse.log'), serviceLog);
    } catch {
        // a convenience only
    }
}

const watchdog = setTimeout(async () => {
    log(`watchdog: still running after ${WATCHDOG_MS / 1000}s in step "${suite.step}"`);
    await Promise.race([cleanup(), sleep(30000)]);
    process.exit(2);
}, WATCHDOG_MS);

async function startService(dir, extra = []) {
    const port = await freePort();
    const args = ['-f', '--wf-port', String(port), '--wf-bind', '127.0.0.1', '--wf-docroot', join(SOURCE, 'web'),
        '--wf-timeout', '60', ...extra, dir];
    const proc = spawn(WEBFUSE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    services.push(proc);
    mounts.push(dir);
    proc.stdout.on('data', (d) => { serviceLog += d; });
    proc.stderr.on('data', (d) => { serviceLog += d; });
    await waitFor('the service', async () => {
        if (proc.exitCode !== null) fail(`service exited early:\n${serviceLog}`);
        const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
        return r.ok;
    });
    await waitFor('the FUSE mount', () => isMounted(dir));
    return { proc, port };
}

// ------------------------------------------------------------------ page helpers

const state = () => page.eval("document.getElementById('state').dataset.state");
const rowOf = (name) => page.eval((n) => {
    const li = document.querySelector(`#files li[data-name="${n}"]`);
    if (!li) return null;
    const p = li.querySelector('progress');
    return {
        activity: li.dataset.activity, read: Number(p.dataset.read), served: Number(p.dataset.served ?? 0),
        text: li.querySelector('.file-progress-text').textContent,
        label: li.querySelector('.file-activity').textContent,
    };
}, name);
const device = () => page.eval(() => {
    const d = document.getElementById('device');
    return { activity: d.dataset.activity, text: d.hidden ? '' : d.textContent };
});
async function waitState(want, ms = 15000) {
    return waitFor(`page state ${want}`, async () => (await state()) === want, ms);
}
async function waitActivity(name, want, ms = 15000) {
    return waitFor(`${name} ${want}`, async () => (await rowOf(name))?.activity === want, ms);
}
// Never touch the mount from this process: the proxy runs on its event loop,
// so a blocking stat here would wait for itself.
async function inMount(mnt, name, ms = 15000) {
    return waitFor(`${name} in the mount`, async () => {
        const r = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
        return r.code === 0 && r.stdout.split('\n').includes(name);
    }, ms, 200);
}

function sparseFile(path, size, pieces) {
    // pieces: offsets where 1 MiB of random data goes; the rest stays holes
    const fd = openSync(path, 'w');
    ftruncateSync(fd, size);
    for (const off of pieces) writeSync(fd, randomBytes(MiB), 0, MiB, off);
    closeSync(fd);
}
async function sha256Local(path) {
    const r = await run('sha256sum', [path], { timeoutMs: 120000 });
    return r.stdout.split(' ')[0];
}

// ------------------------------------------------------------------ the test

async function main() {
    if (!existsSync(WEBFUSE)) {
        console.log(`SKIP: ${WEBFUSE} not built`);
        return SKIP;
    }
    if (!chromiumPresent()) {
        console.log(`SKIP: ${CHROMIUM} missing (scripts/deps.sh installs chromium)`);
        return SKIP;
    }
    if (spawnSync('python3', ['-c', '1']).status !== 0) {
        console.log('SKIP: python3 missing');
        return SKIP;
    }
    const help = spawnSync(WEBFUSE, ['--help'], { encoding: 'utf8' });
    const canResume = `${help.stdout}${help.stderr}`.includes('--wf-resume-timeout');

    work = await mkdtemp(join(tmpdir(), 'wf-provider-'));
    const mnt = join(work, 'mnt');
    const data = join(work, 'data');
    mkdirSync(mnt);
    mkdirSync(data);

    suite.step = 'make files';
    const small = join(data, 'small.bin');
    const smallBytes = randomBytes(32 * MiB);
    writeFileSync(small, smallBytes);
    const smallSha = createHash('sha256').update(smallBytes).digest('hex');
    const huge = join(data, 'huge.img');
    sparseFile(huge, wholeSize, [0, wholeSize > 2 * GiB ? 2 * GiB - MiB / 2 : wholeSize / 2, wholeSize - MiB]);
    const hugeSha = await sha256Local(huge);
    const wide = join(data, 'wide.img');
    sparseFile(wide, 4.5 * GiB, [2 * GiB - MiB / 2, 4 * GiB - MiB / 2]);

    suite.step = 'start service and proxy';
    const resumeArgs = canResume ? ['--wf-resume-timeout', '20'] : [];
    const svc = await startService(mnt, resumeArgs);
    proxy = await startProxy(svc.port);
    const origin = `http://127.0.0.1:${proxy.port}`;
    // The page comes through the proxy, so its origin is the proxy's.
    log(`service on ${svc.port}, proxy on ${proxy.port}${canResume ? ', resume supported' : ''}`);

    suite.step = 'open page';
    browser = await launch();
    page = await browser.newPage(`${origin}/`);
    await page.waitFor('window.webfuseApp !== undefined', 15000);
    check(await page.eval('window.webfuseApp.sharing.mode') === 'worker', 'the provider runs in a Worker');
    await page.setFiles('#file-input', [small]);
    await page.waitFor('document.querySelector(\'#files li[data-name="small.bin"]\') !== null', 10000);
    check((await rowOf('small.bin')).activity === 'waiting', 'a new file is waiting');
    await page.eval("document.getElementById('connect').click()");
    await waitState('connected');
    await inMount(mnt, 'small.bin');

    suite.step = 'progress: reading, rate, done';
    const slow = reader(join(mnt, 'small.bin'), MiB, 0.08, 0, 120000); // ~3 s
    const during = await waitFor('small.bin reading', async () => {
        const r = await rowOf('small.bin');
        return r.activity === 'reading' && /MB\/s|kB\/s/.test(r.text) ? r : null;
    });
    check(true, `while the device reads: "${during.label}", "${during.text}"`);
    const dev = await device();
    check(dev.activity === 'reading' && /reading/i.test(dev.text), `device line: ${dev.text}`);
    const slowDone = await slow;
    check(slowDone.stdout.trim() === smallSha, 'paced read through the Worker provider: right sha256');
    await waitActivity('small.bin', 'done', 10000);
    const done = await rowOf('small.bin');
    check(done.read === 32 * MiB && /100%/.test(done.text), `done after close: "${done.label}", "${done.text}"`);
    const devDone = await waitFor('device done', async () => {
        const d = await device();
        return d.activity === 'done' ? d : null;
    }, 5000);
    check(/done/i.test(devDone.text), `device line says done: ${devDone.text}`);

    suite.step = 'progress: open and paused';
    const holder = reader(join(mnt, 'small.bin'), 4 * MiB, 0, 4, 60000); // reads all, then holds it open 4 s
    await waitActivity('small.bin', 'open', 10000);
    check(true, 'a file read and still held open is shown as open, paused');
    await holder;
    await waitActivity('small.bin', 'done', 10000);

    suite.step = 'progress: cut off by a lost connection';
    const cutReader = reader(join(mnt, 'small.bin'), MiB, 0.05, 0, 120000);
    await waitActivity('small.bin', 'reading');
    proxy.cut();
    await waitFor('reconnecting or cut off', async () => {
        const s = await state();
        return s === 'reconnecting' || s === 'connected';
    }, 5000);
    const cutRow = await waitFor('small.bin cut off', async () => {
        const r = await rowOf('small.bin');
        return r.activity === 'cut' || r.activity === 'reading' ? r : null;
    }, 5000);
    log(`after the cut: ${cutRow.activity}: ${cutRow.label}`);
    const code = await page.eval("document.getElementById('state-code').textContent");
    const sentence = await page.eval("document.getElementById('state-detail').textContent");
    log(`status after the cut: "${sentence}" / "${code}"`);
    await waitState('connected', 15000);
    check(true, 'the page reconnected by itself after the cut');
    const cutDone = await cutReader;
    if (canResume) {
        check(cutDone.stdout.trim() === smallSha, `read across the cut completes with the right sha256 (${cutDone.stdout.trim()})`);
    } else {
        log(`SKIP (service has no --wf-resume-timeout yet): read across the cut ended with "${cutDone.stdout.trim()}"`);
        const after = await rowOf('small.bin');
        check(after.activity === 'cut', `without resume the read stays cut off: "${after.label}"`);
        const devCut = await device();
        check(devCut.activity === 'cut', `device line: ${devCut.text}`);
    }
    await inMount(mnt, 'small.bin');

    suite.step = 'progress resets for a new session';
    await page.eval("document.getElementById('disconnect').click()");
    await waitState('idle');
    await waitFor('the close frame', () => proxy.closeCodes.length > 0, 5000).catch(() => {});
    check(proxy.closeCodes.at(-1) === 1000, `Stop closes with a normal close (codes seen: ${proxy.closeCodes.join(',')})`);
    check((await rowOf('small.bin')).read > 0, 'progress kept after Stop, until the next start');
    await page.eval("document.getElementById('connect').click()");
    await waitState('connected');
    const reset = await waitFor('progress reset', async () => {
        const r = await rowOf('small.bin');
        return r.read === 0 && r.activity === 'waiting' ? r : null;
    }, 5000);
    check(reset.text === '', 'a new session starts from nothing read');

    suite.step = 'refusals';
    proxy.refuse = 4409;
    proxy.cut();
    await waitState('reconnecting', 5000);
    const h0 = proxy.handshakes;
    await waitFor('retries while busy', () => proxy.handshakes >= h0 + 2, 10000);
    const busy = await page.eval("document.getElementById('state-detail').textContent");
    const busyCode = await page.eval("document.getElementById('state-code').textContent");
    check(/already sharing/.test(busy) && /4409/.test(busyCode), `busy (4409) is retried: "${busy}" / "${busyCode}"`);
    proxy.refuse = 4401;
    await waitState('refused', 15000);
    const h1 = proxy.handshakes;
    const tok = await page.eval("document.getElementById('state-detail').textContent");
    const tokCode = await page.eval("document.getElementById('state-code').textContent");
    check(tok === 'The device rejected the access token.', `4401 in one plain sentence: "${tok}"`);
    check(/close code 4401/.test(tokCode), `the code on the details line: "${tokCode}"`);
    await sleep(1500);
    check(proxy.handshakes === h1, 'a rejected token is not retried');
    proxy.refuse = null;
    await page.eval("document.getElementById('connect').click()");
    await waitState('connected');

    suite.step = 'the in-page fallback';
    {
        const p2 = await browser.newPage(`${origin}/?worker=0`);
        await p2.waitFor('window.webfuseApp !== undefined', 15000);
        check(await p2.eval('window.webfuseApp.sharing.mode') === 'page', 'worker=0 runs the provider in the page');
        await page.eval("document.getElementById('disconnect').click()");
        await waitState('idle');
        await p2.setFiles('#file-input', [small]);
        await p2.waitFor('document.querySelector(\'#files li[data-name="small.bin"]\') !== null', 10000);
        await p2.eval("document.getElementById('connect').click()");
        await p2.waitFor("document.getElementById('state').dataset.state === 'connected'", 15000);
        await inMount(mnt, 'small.bin');
        const r = await run('sha256sum', [join(mnt, 'small.bin')], { timeoutMs: 60000 });
        check(r.stdout.split(' ')[0] === smallSha, 'in-page provider: right sha256');
        await p2.eval("document.getElementById('disconnect').click()");
        await p2.close();
    }

    suite.step = 'the embedding example';
    {
        const p3 = await browser.newPage(`${origin}/webfuse/example.html`);
        await p3.setFiles('#pick', [small]);
        await sleep(300);
        await p3.eval("document.getElementById('go').click()");
        await inMount(mnt, 'small.bin');
        const r = await run('sha256sum', [join(mnt, 'small.bin')], { timeoutMs: 60000 });
        check(r.stdout.split(' ')[0] === smallSha, 'web/webfuse/example.html shares a file: right sha256');
        const said = await p3.waitFor("document.getElementById('files').textContent.includes('done') && document.getElementById('files').textContent", 10000)
            .catch((e) => String(e));
        check(/The device is done/.test(said), `the example shows when the device is done ("${said}")`);
        await p3.eval("document.getElementById('stop').click()");
        await sleep(300);
        await p3.close();
    }

    suite.step = `big files: ${wholeGiB} GiB whole, and reads across 2 GiB and 4 GiB`;
    await page.setFiles('#file-input', [huge, wide]);
    await page.waitFor('document.querySelectorAll("#files li").length === 3', 10000);
    await page.eval("document.getElementById('connect').click()");
    await waitState('connected');
    await inMount(mnt, 'huge.img');
    const mem = memorySampler(await browser.rendererPids());
    await sleep(500);
    const base = mem.now();
    const started = Date.now();
    const hr = await run('sha256sum', [join(mnt, 'huge.img')], { timeoutMs: 300000 });
    const secs = (Date.now() - started) / 1000;
    const peak = mem.peak();
    mem.stop();
    check(hr.stdout.split(' ')[0] === hugeSha, `${wholeGiB} GiB sparse file read whole: right sha256 (${(wholeGiB * 1024 / secs).toFixed(0)} MiB/s)`);
    const grew = (peak - base) / 1024;
    check(grew < 160, `page memory flat over ${wholeGiB} GiB: ${(base / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB (+${grew.toFixed(0)} MiB)`);
    const hugeRow = await waitFor('all of huge.img in the progress', async () => {
        const r = await rowOf('huge.img');
        return r.read === wholeSize ? r : null;
    }, 5000).catch(() => rowOf('huge.img'));
    check(hugeRow.read === wholeSize, `progress counts all ${wholeGiB} GiB (${hugeRow.read})`);
    const wideTail = await run('python3', ['-c', `
import hashlib,sys
def piece(p, off, n):
    with open(p,'rb') as f:
        f.seek(off); return hashlib.sha256(f.read(n)).hexdigest()
a = [piece(sys.argv[1], o, 1 << 20) for o in (2**31 - 4096, 2**32 - 4096, int(4.5 * 2**30) - 4096)]
b = [piece(sys.argv[2], o, 1 << 20) for o in (2**31 - 4096, 2**32 - 4096, int(4.5 * 2**30) - 4096)]
print('same' if a == b else 'differ')
`, join(mnt, 'wide.img'), wide], { timeoutMs: 60000 });
    check(wideTail.stdout.trim() === 'same', `1 MiB across 2 GiB, across 4 GiB and at the end of a 4.5 GiB file match (${wideTail.stdout.trim()}${wideTail.stderr.trim()})`);

    await page.eval("document.getElementById('disconnect').click()");
    await waitState('idle');
    return 0;
}

await finish('browser provider test', main, {
    cleanup,
    done: () => clearTimeout(watchdog),
    details: () => {
        log(`service log (last 3000 chars):\n${serviceLog.slice(-3000)}`);
        if (page) log(`page console:\n${page.console.slice(-40).join('\n')}`);
    },
});
