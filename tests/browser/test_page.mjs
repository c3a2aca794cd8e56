// End-to-end: the real webfuse service serves web/ and mounts what the page
// shares; headless Chromium plays the person picking files.
//
//   node tests/browser/test_page.mjs      (env WF_BUILD_DIR, WF_SOURCE_DIR)
//
// Every wait is bounded; all I/O on the FUSE mount runs in child processes
// that are killed on timeout, so a hung service cannot hang this test.
// Exits 0 on success, 1 on failure, 2 when the watchdog fires.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SKIP, check, fail, finish, freePort, isMounted, log, run, sleep, suite, waitFor } from './testkit.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = resolve(process.env.WF_SOURCE_DIR ?? join(here, '..', '..'));
const BUILD = resolve(process.env.WF_BUILD_DIR ?? join(SOURCE, 'build'));
const WEBFUSE = join(BUILD, 'webfuse');
const ARTIFACTS = join(BUILD, 'artifacts');
const CHROMIUM = process.env.WF_CHROMIUM ?? '/usr/bin/chromium';
const BIG_SIZE = 64 * 1024 * 1024;
const WATCHDOG_MS = 8 * 60 * 1000;

async function writeRandomFile(path, size) {
    const hash = createHash('sha256');
    const out = createWriteStream(path);
    const chunk = 1024 * 1024;
    for (let done = 0; done < size; done += chunk) {
        const b = randomBytes(Math.min(chunk, size - done));
        hash.update(b);
        if (!out.write(b)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((r, j) => out.end((err) => (err ? j(err) : r())));
    return hash.digest('hex');
}

function sha256File(path) {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
}

// ------------------------------------------------------------------ state shared with cleanup

let browser = null;
let service = null;
const services = [];
const mounts = [];
let work = null;
let mnt = null;
let loopDir = null;
let serviceLog = '';
const consoleLines = [];

async function cleanup() {
    if (browser) {
        const b = browser;
        browser = null;
        await Promise.race([b.close().catch(() => {}), sleep(10000)]);
    }
    if (loopDir && isMounted(loopDir)) {
        await run('umount', [loopDir], { timeoutMs: 10000 });
        if (isMounted(loopDir)) await run('umount', ['-l', loopDir], { timeoutMs: 10000 });
    }
    for (const proc of services) {
        if (proc.exitCode !== null || proc.signalCode !== null) continue;
        proc.kill('SIGTERM');
        const exited = await Promise.race([
            new Promise((r) => proc.once('exit', () => r(true))), sleep(5000).then(() => false)]);
        if (!exited) proc.kill('SIGKILL');
    }
    for (const dir of mounts) {
        if (isMounted(dir)) await run('fusermount3', ['-u', '-z', dir], { timeoutMs: 10000 });
    }
    if (work) {
        // never recurse into a mount that is somehow still there
        if (!mounts.some(isMounted) && !(loopDir && isMounted(loopDir))) {
            await rm(work, { recursive: true, force: true }).catch(() => {});
        } else {
            log(`leaving ${work} in place: still mounted`);
        }
    }
    try {
        mkdirSync(ARTIFACTS, { recursive: true });
        writeFileSync(join(ARTIFACTS, 'browser-webfuse.log'), serviceLog);
        writeFileSync(join(ARTIFACTS, 'browser-console.log'), consoleLines.join('\n') + '\n');
    } catch {
        // artifacts are a convenience
    }
}

const watchdog = setTimeout(async () => {
    log(`watchdog: test still running after ${WATCHDOG_MS / 1000}s (in step "${suite.step}"), giving up`);
    await Promise.race([cleanup(), sleep(30000)]);
    process.exit(2);
}, WATCHDOG_MS);

// Starts webfuse serving web/ on a free port and waits until the page is
// served and the mount is up.
async function startService(dir, extra = []) {
    const port = await freePort();
    // WF_SERVICE_PREFIX="gdb -batch -ex run -ex bt --args" (or valgrind ...) wraps the service.
    const prefix = (process.env.WF_SERVICE_PREFIX ?? '').split(' ').filter(Boolean);
    const args = ['-f', '--wf-port', String(port), '--wf-bind', '127.0.0.1',
        '--wf-docroot', join(SOURCE, 'web'), '--wf-timeout', '60', ...extra, dir];
    const proc = spawn(prefix[0] ?? WEBFUSE, [...prefix.slice(1), ...(prefix.length ? [WEBFUSE] : []), ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    services.push(proc);
    mounts.push(dir);
    proc.stdout.on('data', (d) => { serviceLog += d; });
    proc.stderr.on('data', (d) => { serviceLog += d; });
    proc.on('exit', (code, sig) => log(`service on port ${port} exited (code ${code}, signal ${sig})`));
    const origin = `http://127.0.0.1:${port}`;
    await waitFor('the service to serve the page', async () => {
        if (proc.exitCode !== null) fail(`service exited early:\n${serviceLog}`);
        const res = await fetch(`${origin}/`, { signal: AbortSignal.timeout(2000) });
        return res.ok && (await res.text()).includes('id="file-input"');
    });
    await waitFor('the FUSE mount', () => isMounted(dir));
    return { proc, port, origin };
}

// ------------------------------------------------------------------ the test

async function main() {
    if (!existsSync(WEBFUSE)) fail(`${WEBFUSE} not built`);
    if (!existsSync(CHROMIUM)) {
        console.log(`SKIP: ${CHROMIUM} missing (scripts/deps.sh installs it)`);
        return SKIP;
    }
    let chromium;
    try {
        ({ chromium } = await import('playwright-core'));
    } catch {
        console.log('SKIP: playwright-core not installed (scripts/deps.sh, or npm install in tests/browser)');
        return SKIP;
    }
    mkdirSync(ARTIFACTS, { recursive: true });

    work = await mkdtemp(join(tmpdir(), 'wf-browser-'));
    mnt = join(work, 'mnt');
    loopDir = join(work, 'loop');
    const data = join(work, 'data');
    for (const d of [mnt, loopDir, data, join(data, 'fw')]) mkdirSync(d, { recursive: true });

    suite.step = 'make test files';
    const bigPath = join(data, 'big.bin');
    const bigSha = await writeRandomFile(bigPath, BIG_SIZE);
    const slowPath = join(data, 'slow.bin');
    await writeRandomFile(slowPath, 1024 * 1024);
    const fwContent = `webfuse firmware ${randomBytes(8).toString('hex')}\n`;
    writeFileSync(join(data, 'fw', 'VERSION'), fwContent);
    mkdirSync(join(data, 'fw', 'bin'));
    writeFileSync(join(data, 'fw', 'bin', 'app'), randomBytes(300000));
    const imgPath = join(data, 'update.img');
    const mk = await run('mksquashfs', [join(data, 'fw'), imgPath, '-noappend', '-quiet', '-no-progress', '-all-root'],
        { timeoutMs: 60000 });
    if (mk.code !== 0) fail(`mksquashfs failed: ${mk.stderr}`);
    const imgSha = sha256File(imgPath);
    const imgSize = statSync(imgPath).size;
    log(`files ready: big.bin ${bigSha.slice(0, 12)}…, update.img ${imgSize} bytes`);

    suite.step = 'start service';
    let origin;
    ({ proc: service, origin } = await startService(mnt));
    const empty0 = await run('ls', ['-A', mnt], { timeoutMs: 5000 });
    check(empty0.code === 0 && empty0.stdout.trim() === '', 'mount is empty before sharing');

    suite.step = 'open page';
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
            '--disable-quic', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`[page] ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[page] error: ${e.message}`));
    await page.goto(`${origin}/`, { timeout: 15000 });
    await page.waitForFunction(() => window.webfuseApp !== undefined, null, { timeout: 10000 });
    check(await page.getAttribute('#state', 'data-state') === 'idle', 'page starts idle');
    const externals = await page.evaluate(() => [...document.querySelectorAll('script[src],link[href],img[src]')]
        .map((e) => e.src || e.href).filter((u) => !u.startsWith(location.origin) && !u.startsWith('data:')));
    check(externals.length === 0, 'page loads nothing from other origins');

    suite.step = 'share big.bin';
    await page.setInputFiles('#file-input', bigPath);
    await page.waitForSelector('#files li[data-name="big.bin"]', { timeout: 10000 });
    const sizeText = await page.textContent('#files li[data-name="big.bin"] .file-size');
    check(sizeText.includes('64.0 MiB'), `page lists big.bin with its size (${sizeText})`);
    await page.click('#connect');
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
    check(true, 'page shows connected');
    await waitFor('big.bin in the mount', async () => {
        const r = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
        return r.code === 0 && r.stdout.split('\n').includes('big.bin');
    });
    const st = await run('stat', ['-c', '%s %a %F', join(mnt, 'big.bin')], { timeoutMs: 5000 });
    check(st.stdout.trim() === `${BIG_SIZE} 444 regular file`, `size and mode through the mount (${st.stdout.trim()})`);

    suite.step = 'drag and drop, remove';
    await page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['dropped on the page\n'], 'dropped.txt', { type: 'text/plain' }));
        const zone = document.getElementById('drop-zone');
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('#files li[data-name="dropped.txt"]', { timeout: 10000 });
    await waitFor('dropped.txt in the mount', async () => {
        const r = await run('cat', [join(mnt, 'dropped.txt')], { timeoutMs: 5000 });
        return r.code === 0 && r.stdout === 'dropped on the page\n';
    });
    check(true, 'a dropped file is shared');
    await page.click('#files li[data-name="dropped.txt"] .file-remove');
    await waitFor('dropped.txt gone from the mount', async () => {
        const r = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
        return r.code === 0 && !r.stdout.split('\n').includes('dropped.txt');
    }, 15000);
    check(await page.$('#files li[data-name="dropped.txt"]') === null, 'a removed file leaves the list and the mount');

    suite.step = 'read big.bin through the mount';
    const sum = await run('sha256sum', [join(mnt, 'big.bin')], { timeoutMs: 180000 });
    check(!sum.timedOut && sum.code === 0, `sha256sum through the mount finished (${sum.stderr.trim()})`);
    check(sum.stdout.split(' ')[0] === bigSha, 'sha256 of big.bin read through the mount matches');
    const progressSel = '#files li[data-name="big.bin"] progress';
    await page.waitForFunction((sel) => {
        const p = document.querySelector(sel);
        return p && Number(p.dataset.read) >= Number(p.max);
    }, progressSel, { timeout: 10000 }).catch(() => {});
    const read = Number(await page.getAttribute(progressSel, 'data-read'));
    check(read === BIG_SIZE, `page progress shows all of big.bin read (${read})`);
    const ptext = await page.textContent('#files li[data-name="big.bin"] .file-progress-text');
    check(ptext.includes('100%'), `progress text: ${ptext}`);
    check(await page.getAttribute('#state', 'data-state') === 'connected', 'page still connected after the read');

    suite.step = 'firmware flow';
    await page.setInputFiles('#file-input', imgPath);
    await page.waitForSelector('#files li[data-name="update.img"]', { timeout: 10000 });
    const fw = await run('sh', [join(SOURCE, 'examples', 'firmware-update.sh'), mnt, imgSha, '30'],
        { timeoutMs: 120000 });
    log(`firmware-update.sh said:\n${fw.stdout}${fw.stderr}`);
    check(fw.code === 0, 'examples/firmware-update.sh succeeded');
    check(fw.stdout.includes('./VERSION') && fw.stdout.includes('./bin/app'), 'firmware-update.sh listed the image');
    const wrong = await run('sh', [join(SOURCE, 'examples', 'firmware-update.sh'), mnt, '0'.repeat(64), '5'],
        { timeoutMs: 60000 });
    check(wrong.code !== 0 && wrong.stderr.includes('mismatch'), 'firmware-update.sh refuses a wrong sha256');

    const mount = await run('mount', ['-t', 'squashfs', '-o', 'loop,ro', join(mnt, 'update.img'), loopDir],
        { timeoutMs: 60000 });
    check(mount.code === 0, `loop-mounted update.img from the webfuse mount ${mount.stderr.trim()}`);
    if (mount.code === 0) {
        const cat = await run('cat', [join(loopDir, 'VERSION')], { timeoutMs: 30000 });
        check(cat.stdout === fwContent, 'file inside the squashfs image has the expected content');
        const app = await run('sha256sum', [join(loopDir, 'bin', 'app')], { timeoutMs: 30000 });
        check(app.stdout.split(' ')[0] === sha256File(join(data, 'fw', 'bin', 'app')), 'bin/app inside the image intact');
        const um = await run('umount', [loopDir], { timeoutMs: 30000 });
        check(um.code === 0, 'squashfs image unmounted');
    }
    // progress reaches the page at most four times a second
    await page.waitForFunction(() => Number(document.querySelector('#files li[data-name="update.img"] progress')
        .dataset.read) > 0, null, { timeout: 5000 }).catch(() => {});
    const imgRead = Number(await page.getAttribute('#files li[data-name="update.img"] progress', 'data-read'));
    check(imgRead > 0, `page shows progress for update.img (${imgRead} of ${imgSize})`);

    suite.step = 'screenshot';
    const shot = join(ARTIFACTS, 'browser-page.png');
    await page.screenshot({ path: shot, fullPage: true, timeout: 15000 });
    check(existsSync(shot) && statSync(shot).size > 1000, `screenshot written to ${shot}`);

    suite.step = 'second provider is refused';
    const page2 = await context.newPage();
    page2.on('console', (m) => consoleLines.push(`[page2] ${m.type()}: ${m.text()}`));
    await page2.goto(`${origin}/`, { timeout: 15000 });
    await page2.waitForFunction(() => window.webfuseApp !== undefined, null, { timeout: 10000 });
    await page2.click('#connect');
    // a first connection refused by HTTP status (1006 to the page) is
    // tried five more times, 12-19 s in all, before it is "refused"
    const t2 = Date.now();
    const s2 = await page2.waitForFunction(() => {
        const s = document.getElementById('state').dataset.state;
        return s === 'refused' || s === 'lost' ? s : null;
    }, null, { timeout: 30000 }).then((h) => h.jsonValue()).catch(() => 'still ' + 'connecting/connected');
    const detail2 = await page2.textContent('#state-detail');
    const code2 = await page2.textContent('#state-code');
    check(s2 === 'refused', `a second page is refused (${s2}; ${detail2})`);
    check(Date.now() - t2 > 10000, `after knocking a few times (${Date.now() - t2} ms)`);
    check(/^[A-Z][^—]*\.$/.test(detail2.trim()), `refusal is one plain sentence (${detail2})`);
    check(/close code \d+/.test(code2), `refusal shows the close code on the details line (${code2})`);
    await page2.close();
    await sleep(500);
    check(await page.getAttribute('#state', 'data-state') === 'connected', 'first page still connected');
    const stillThere = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
    check(stillThere.stdout.split('\n').includes('big.bin'), 'files still in the mount');

    suite.step = 'stop sharing with a read in flight';
    await page.setInputFiles('#file-input', slowPath);
    await page.waitForSelector('#files li[data-name="slow.bin"]', { timeout: 10000 });
    // Reads of slow.bin never finish on the page side: the request stays in flight.
    await page.evaluate(() => {
        const { sharing } = window.webfuseApp;
        window.hungReads = 0;
        sharing.addEventListener('held', () => { window.hungReads++; });
        sharing.hold('slow.bin', true);
    });
    await waitFor('slow.bin in the mount', async () => {
        const r = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
        return r.stdout.split('\n').includes('slow.bin');
    });
    const pending = run('dd', [`if=${join(mnt, 'slow.bin')}`, 'of=/dev/null', 'bs=4096', 'count=1'], { timeoutMs: 30000 });
    await page.waitForFunction(() => window.hungReads > 0, null, { timeout: 15000 });
    log('read of slow.bin is in flight; stopping');
    const stopAt = Date.now();
    await page.click('#disconnect');
    await page.waitForSelector('#state[data-state="idle"]', { timeout: 5000 });
    const dd = await pending;
    const took = Date.now() - stopAt;
    check(!dd.timedOut, `read in flight ended after stop (${took} ms)`);
    check(dd.code !== 0 && /Input\/output error/.test(dd.stderr), `read in flight failed with EIO (${dd.stderr.trim()})`);
    check(took < 20000, 'well before the service timeout (60 s)');
    await waitFor('the mount root to be empty', async () => {
        const r = await run('ls', ['-A', mnt], { timeoutMs: 5000 });
        return r.code === 0 && r.stdout.trim() === '';
    }, 15000);
    check(true, 'mount root is empty after stop');

    suite.step = 'lost connection';
    await page.evaluate(() => window.webfuseApp.sharing.hold('slow.bin', false));
    await page.click('#connect');
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
    await waitFor('files back in the mount', async () => {
        const r = await run('ls', ['-1', mnt], { timeoutMs: 5000 });
        return r.stdout.split('\n').includes('big.bin');
    });
    service.kill('SIGTERM');
    await page.waitForSelector('#state[data-state="reconnecting"]', { timeout: 15000 });
    check(await page.textContent('#state') === 'Reconnecting…', 'page shows Reconnecting… after the service went away');
    const lostCode = await page.textContent('#state-code');
    check(/close code \d+/.test(lostCode), `the close code is on the details line (${lostCode})`);
    await Promise.race([new Promise((r) => (service.exitCode !== null ? r() : service.once('exit', r))), sleep(10000)]);
    check(service.exitCode !== null || service.signalCode !== null, 'service exited on SIGTERM');
    await waitFor('the mount to go away', () => !isMounted(mnt), 10000).catch(() => {});
    check(!isMounted(mnt), 'service unmounted on SIGTERM');
    await sleep(1500); // a failed attempt or two: the page keeps trying
    check(await page.getAttribute('#state', 'data-state') === 'reconnecting', 'still reconnecting while the device is away');
    await page.click('#disconnect');
    await page.waitForSelector('#state[data-state="idle"]', { timeout: 5000 });
    check(true, 'Stop ends reconnecting');

    suite.step = 'token via getcreds';
    const auth = join(work, 'auth.sh');
    writeFileSync(auth, '#!/bin/sh\n[ "$(cat)" = "s3cret-token" ]\n', { mode: 0o755 });
    const mnt2 = join(work, 'mnt2');
    mkdirSync(mnt2);
    const svc2 = await startService(mnt2, ['--wf-authenticator', auth]);
    const page3 = await context.newPage();
    page3.on('console', (m) => consoleLines.push(`[page3] ${m.type()}: ${m.text()}`));
    await page3.goto(`${svc2.origin}/`, { timeout: 15000 });
    await page3.waitForFunction(() => window.webfuseApp !== undefined, null, { timeout: 10000 });
    await page3.setInputFiles('#file-input', imgPath);
    await page3.fill('#token', 'wrong');
    await page3.click('#connect');
    const bad = await page3.waitForFunction(() => {
        const s = document.getElementById('state').dataset.state;
        return s === 'refused' || s === 'lost' ? s : null;
    }, null, { timeout: 15000 }).then((h) => h.jsonValue()).catch(() => 'no refusal');
    check(bad === 'refused', `a wrong token is refused (${bad}; ${await page3.textContent('#state-detail')})`);
    const none = await run('ls', ['-A', mnt2], { timeoutMs: 5000 });
    check(none.code === 0 && none.stdout.trim() === '', 'nothing shared with a wrong token');
    await page3.fill('#token', 's3cret-token');
    await page3.press('#token', 'Enter'); // Enter in the token field starts sharing too
    await page3.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
    await waitFor('update.img in the authenticated mount', async () => {
        const r = await run('ls', ['-1', mnt2], { timeoutMs: 5000 });
        return r.stdout.split('\n').includes('update.img');
    });
    const sum2 = await run('sha256sum', [join(mnt2, 'update.img')], { timeoutMs: 30000 });
    check(sum2.stdout.split(' ')[0] === imgSha, 'the right token shares the file');
    await page3.click('#disconnect');
    await page3.close();
}

await finish('browser test', main, {
    cleanup,
    done: () => clearTimeout(watchdog),
    details: () => {
        log(`service log (last 3000 chars):\n${serviceLog.slice(-3000)}`);
        log(`page console:\n${consoleLines.slice(-50).join('\n')}`);
    },
});
