// Type-checks the browser library (web/webfuse/*.js, JSDoc types) with
// `tsc --checkJs --noEmit` from npm's typescript, installed for the tests
// by scripts/deps.sh into tests/browser/node_modules. Exits 77 (ctest: skipped)
// with a message when typescript is not installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.env.WF_SOURCE_DIR ?? join(here, '..', '..');
const tsc = join(source, 'tests', 'browser', 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
    console.log(`SKIP: ${tsc} not installed (run scripts/deps.sh, or npm install in tests/browser)`);
    process.exit(77);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(source, 'web', 'webfuse', 'tsconfig.json')],
    { stdio: 'inherit', timeout: 300000 });
if (r.status === 0) console.log('typecheck: web/webfuse passes tsc --checkJs --noEmit');
process.exit(r.status ?? 1);
