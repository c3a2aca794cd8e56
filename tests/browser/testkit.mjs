// Helpers both browser tests use (test_page.mjs, test_provider.mjs): checks
// reported as ok/not ok lines, the step they belong to, polling, child
// processes with a time limit, free ports, mount checks.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const SKIP = 77; // ctest SKIP_RETURN_CODE

// What the test is doing (named in failures) and how many checks failed.
export const suite = { step: 'setup', failures: 0 };
const t0 = Date.now();

export function log(...args) {
    console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...args);
}

export function check(cond, what) {
    if (cond) {
        log(`ok - ${what}`);
    } else {
        suite.failures++;
        log(`not ok - ${what}`);
    }
    return cond;
}

export function fail(what) {
    throw new Error(`${suite.step}: ${what}`);
}

// Polls fn until it returns a truthy value; throws after ms.
export async function waitFor(what, fn, ms = 15000, every = 100) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
        await sleep(every);
    }
}

// Runs a program with a hard time limit (stdin empty). Resolves {code,
// signal, stdout, stderr, timedOut}; never rejects.
export function run(cmd, args, { timeoutMs = 10000 } = {}) {
    return new Promise((resolvePromise) => {
        let child;
        try {
            child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (err) {
            resolvePromise({ code: -1, stdout: '', stderr: String(err), timedOut: false });
            return;
        }
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
        }, timeoutMs);
        child.on('error', (err) => { stderr += String(err); });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolvePromise({ code, signal, stdout, stderr, timedOut });
        });
    });
}

// A TCP port on 127.0.0.1 nobody listens on right now.
export function freePort() {
    return new Promise((res, rej) => {
        const srv = createServer();
        srv.on('error', rej);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => res(port));
        });
    });
}

export function isMounted(dir) {
    try {
        return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
    } catch {
        return false;
    }
}

/**
 * Runs a test's main() (which returns SKIP when the test cannot run), then
 * cleanup() (given 60 s at most) and done(); on a failure, details() says
 * more. Exits the process: 0, 1, or SKIP.
 */
export async function finish(name, main, { cleanup, done, details }) {
    let exitCode = 0;
    try {
        if (await main() === SKIP) exitCode = SKIP;
    } catch (err) {
        suite.failures++;
        log(`FAILED in step "${suite.step}": ${err && err.stack || err}`);
    } finally {
        await Promise.race([cleanup(), sleep(60000)]);
        done();
    }
    if (suite.failures) {
        details();
        exitCode = 1;
    }
    console.log(exitCode === SKIP ? `${name}: skipped`
        : suite.failures ? `${name}: ${suite.failures} failed` : `${name}: all checks passed`);
    process.exit(exitCode);
}
