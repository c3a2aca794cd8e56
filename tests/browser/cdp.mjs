// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe.
//
// Used by the browser tests and bench/run to drive headless Chromium without
// Playwright's page hooks (those enable the Network domain, which copies every
// WebSocket frame to the driver and halves the page's throughput). Nothing
// here enables Network unless a caller asks for it.
//
//   const b = await launch();               // spawns chromium, fds 3/4 = pipe
//   const page = await b.newPage(url);
//   await page.eval('1 + 1');               // -> 2 (awaits promises)
//   await page.setFiles('#file-input', ['/path/a.img']);
//   await b.close();
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const CHROMIUM = process.env.WF_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-quic', '--disable-component-update', '--disable-sync',
    '--disable-extensions', '--disable-default-apps', '--mute-audio', '--no-default-browser-check',
    // a hidden headless tab must not be throttled while the device reads
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows'];

export function chromiumPresent() {
    return existsSync(CHROMIUM);
}

class Browser {
    constructor(proc) {
        this.proc = proc;
        this.nextId = 1;
        this.pending = new Map();
        this.listeners = new Set();
        this.exited = new Promise((r) => proc.once('exit', r));
        let buf = Buffer.alloc(0);
        proc.stdio[4].on('data', (chunk) => {
            buf = Buffer.concat([buf, chunk]);
            for (let i; (i = buf.indexOf(0)) >= 0;) {
                const msg = JSON.parse(buf.subarray(0, i).toString('utf8'));
                buf = buf.subarray(i + 1);
                this._dispatch(msg);
            }
        });
        proc.stdio[4].on('error', () => {});
        proc.stdio[3].on('error', () => {});
        proc.once('exit', () => {
            for (const { reject } of this.pending.values()) reject(new Error('chromium exited'));
            this.pending.clear();
        });
    }

    _dispatch(msg) {
        if (msg.id !== undefined) {
            const p = this.pending.get(msg.id);
            if (!p) return;
            this.pending.delete(msg.id);
            if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
            else p.resolve(msg.result);
            return;
        }
        for (const fn of this.listeners) fn(msg);
    }

    send(method, params = {}, sessionId = undefined, timeoutMs = 60000) {
        const id = this.nextId++;
        const msg = { id, method, params };
        if (sessionId) msg.sessionId = sessionId;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(id, {
                method,
                resolve: (v) => { clearTimeout(timer); resolve(v); },
                reject: (e) => { clearTimeout(timer); reject(e); },
            });
            this.proc.stdio[3].write(JSON.stringify(msg) + '\0');
        });
    }

    on(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

    async newPage(url) {
        const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
        const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
        const page = new Page(this, targetId, sessionId);
        await page.send('Runtime.enable');
        await page.send('Page.enable');
        if (url) await page.goto(url);
        return page;
    }

    // pids of the renderer processes (the page and its workers run there)
    async rendererPids() {
        const info = await this.send('SystemInfo.getProcessInfo');
        return info.processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
    }

    async close() {
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
        this.send('Browser.close', {}, undefined, 5000).catch(() => {});
        const done = await Promise.race([this.exited.then(() => true),
            new Promise((r) => setTimeout(() => r(false), 5000))]);
        if (!done) {
            this.proc.kill('SIGKILL');
            await this.exited;
        }
    }
}

class Page {
    constructor(browser, targetId, sessionId) {
        this.browser = browser;
        this.targetId = targetId;
        this.sessionId = sessionId;
        this.console = [];
        browser.on((msg) => {
            if (msg.sessionId !== sessionId) return;
            if (msg.method === 'Runtime.consoleAPICalled') {
                const text = msg.params.args.map((a) => a.value ?? a.description ?? '').join(' ');
                this.console.push(`${msg.params.type}: ${text}`);
            } else if (msg.method === 'Runtime.exceptionThrown') {
                const d = msg.params.exceptionDetails;
                this.console.push(`exception: ${d.exception?.description ?? d.text}`);
            }
        });
    }

    send(method, params = {}, timeoutMs = 60000) {
        return this.browser.send(method, params, this.sessionId, timeoutMs);
    }

    async goto(url) {
        const loaded = new Promise((resolve) => {
            const off = this.browser.on((msg) => {
                if (msg.sessionId === this.sessionId && msg.method === 'Page.loadEventFired') {
                    off();
                    resolve();
                }
            });
        });
        await this.send('Page.navigate', { url });
        await Promise.race([loaded, new Promise((r) => setTimeout(r, 15000))]);
    }

    // Evaluates an expression (or a function source with JSON arguments) in
    // the page; awaits promises; returns the value. Throws the page's error.
    async eval(expr, ...args) {
        const expression = typeof expr === 'function'
            ? `(${expr.toString()})(...${JSON.stringify(args)})` : expr;
        const r = await this.send('Runtime.evaluate', {
            expression, awaitPromise: true, returnByValue: true, userGesture: true,
        }, 600000);
        if (r.exceptionDetails) {
            const d = r.exceptionDetails;
            throw new Error(`page: ${d.exception?.description ?? d.text}`);
        }
        return r.result.value;
    }

    // Polls fn (an expression or function) until it returns a truthy value.
    async waitFor(expr, timeoutMs = 15000, what = String(expr).slice(0, 80)) {
        const deadline = Date.now() + timeoutMs;
        let last;
        for (;;) {
            last = await this.eval(expr).catch((e) => e);
            if (last && !(last instanceof Error)) return last;
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    async setFiles(selector, files) {
        const { root } = await this.send('DOM.getDocument', { depth: 1 });
        const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
        if (!nodeId) throw new Error(`no element ${selector}`);
        await this.send('DOM.setFileInputFiles', { nodeId, files });
    }

    async close() {
        await this.browser.send('Target.closeTarget', { targetId: this.targetId }).catch(() => {});
    }
}

export async function launch({ args = [], executablePath = CHROMIUM } = {}) {
    const proc = spawn(executablePath, [...CHROMIUM_ARGS, '--remote-debugging-pipe', ...args, 'about:blank'],
        { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    const b = new Browser(proc);
    b.stderr = () => stderr;
    await b.send('Browser.getVersion', {}, undefined, 30000);
    return b;
}

// Resident memory of a process, in KiB: { rss, hwm, anon } (anon: RssAnon,
// what the process holds itself, without shared libraries and files).
export function memoryOf(pid) {
    try {
        const s = readFileSync(`/proc/${pid}/status`, 'utf8');
        const get = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) ?? [])[1] ?? 0);
        return { rss: get('VmRSS'), hwm: get('VmHWM'), anon: get('RssAnon') };
    } catch {
        return { rss: 0, hwm: 0, anon: 0 };
    }
}

// Samples the anonymous memory of processes every `everyMs`; peak() is the
// largest value seen for any one of them, in KiB (the page's renderer is the
// biggest one).
export function memorySampler(pids, everyMs = 200) {
    const peaks = new Map();
    const sample = () => {
        for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, memoryOf(pid).anon));
    };
    sample();
    const timer = setInterval(sample, everyMs);
    return {
        peak() { sample(); return Math.max(0, ...peaks.values()); },
        now() { return Math.max(0, ...pids.map((pid) => memoryOf(pid).anon)); },
        stop() { clearInterval(timer); },
    };
}
