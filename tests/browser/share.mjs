#!/usr/bin/env node
// Shares files from the real page in headless Chromium, driven over the
// DevTools pipe (no Playwright hooks): for bench/run and manual checks.
//
//   node tests/browser/share.mjs URL FILE... [--query worker=0]
//
// Prints "ready" once the page is connected, then keeps sharing until
// SIGTERM/SIGINT; then prints "peak_anon_kib N cpu_s S" (the largest
// renderer's peak anonymous memory: the page and its Worker; CPU seconds of
// all renderers) and exits.
import { launch, memorySampler } from './cdp.mjs';
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
let query = '';
const files = [];
let url;
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--query') query = argv[++i];
    else if (!url) url = argv[i];
    else files.push(argv[i]);
}
if (!url || !files.length) {
    console.error('usage: share.mjs URL FILE... [--query k=v&...]');
    process.exit(64);
}

function cpuOf(pid) {
    try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
        return 0;
    }
}

const b = await launch();
let pids = [];
let mem = null;
let finished = false;
async function finish(code) {
    if (finished) return;
    finished = true;
    const peak = mem ? mem.peak() : 0;
    mem?.stop();
    const cpu = pids.reduce((n, pid) => n + cpuOf(pid), 0);
    console.log(`peak_anon_kib ${peak} cpu_s ${cpu.toFixed(2)}`);
    await b.close();
    process.exit(code);
}
process.on('SIGTERM', () => finish(0));
process.on('SIGINT', () => finish(0));
try {
    const page = await b.newPage(`${url}${query ? `?${query}` : ''}`);
    await page.waitFor('window.webfuseApp !== undefined', 15000);
    await page.setFiles('#file-input', files);
    await page.waitFor(`document.querySelectorAll('#files li').length === ${files.length}`, 15000);
    await page.eval("document.getElementById('connect').click()");
    await page.waitFor("document.getElementById('state').dataset.state === 'connected'", 15000);
    pids = await b.rendererPids();
    mem = memorySampler(pids);
    console.log(`ready renderer_pids ${pids.join(',')}`);
} catch (err) {
    console.error(`share: ${err.message}\n${b.stderr()}`);
    await finish(1);
}
