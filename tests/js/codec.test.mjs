// webfuse2 JavaScript codec: hand-made vectors from the protocol reference,
// plus the shared golden vectors (tests/vectors/golden.json) when present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = process.env.WF_SOURCE_DIR ?? join(here, '..', '..');
const codec = await import(join(sourceDir, 'web', 'webfuse', 'codec.js'));
const { decode, encode, tryDecode, toHex, fromHex, NO_HANDLE, Type, RESPONSE, DecodeError } = codec;
const { answer } = await import(join(sourceDir, 'web', 'webfuse', 'provider.js'));

const ENC = new TextEncoder();

// ------------------------------------------------------------------ own vectors

const REQUESTS = [
    ['getattr /', '00000001' + '02' + '00000001' + '2f', { id: 1, type: 0x02, path: '/' }],
    ['access R_OK', '00000002' + '01' + '00000002' + '2f78' + '04', { id: 2, type: 0x01, path: '/x', access: 4 }],
    ['access negative byte', '00000002' + '01' + '00000002' + '2f78' + 'ff', { id: 2, type: 0x01, path: '/x', access: -1 }],
    ['read big offset no handle',
        '10203040' + '10' + '00000002' + '2f61' + '00001000' + '0000000100000001' + 'ffffffffffffffff',
        { id: 0x10203040, type: 0x10, path: '/a', length: 4096, offset: 2 ** 32 + 1, handle: NO_HANDLE }],
    ['symlink target first', '00000001' + '04' + '00000001' + '74' + '00000002' + '2f6c',
        { id: 1, type: 0x04, path2: 't', path: '/l' }],
    ['rename', '00000003' + '06' + '00000002' + '2f61' + '00000002' + '2f62' + '01',
        { id: 3, type: 0x06, path: '/a', path2: '/b', rename_flags: 1 }],
    ['open flags', '00000004' + '0b' + '00000002' + '2f61' + '00008002',
        { id: 4, type: 0x0b, path: '/a', flags: 0o100002 }],
    ['write', '00000005' + '11' + '00000002' + '2f61' + '00000002' + 'abcd' + '0000000000000010' + '0000000000000007',
        { id: 5, type: 0x11, path: '/a', data: fromHex('abcd'), offset: 16, handle: 7 }],
    ['fsync', '00000006' + '0a' + '00000002' + '2f61' + '01' + '0000000000000002',
        { id: 6, type: 0x0a, path: '/a', datasync: 1, handle: 2 }],
    ['utimens', '00000007' + '16' + '00000002' + '2f61' + '0000000000000001' + '00000002' + '0000000000000003' + '00000004' + 'ffffffffffffffff',
        { id: 7, type: 0x16, path: '/a', atime: { sec: 1, nsec: 2 }, mtime: { sec: 3, nsec: 4 }, handle: NO_HANDLE }],
    ['mknod', '00000008' + '0c' + '00000002' + '2f61' + '00001180' + '0000000000000103',
        { id: 8, type: 0x0c, path: '/a', mode: 0o10600, rdev: 0x103 }],
    ['getcreds', '00000009' + '17', { id: 9, type: 0x17 }],
    ['trailing bytes accepted', '0000000a' + '13' + '00000001' + '2f' + 'deadbeef', { id: 10, type: 0x13, path: '/' }],
];

const RESPONSES = [
    ['read ok', { id: 7, type: 0x90, result: 3, data: ENC.encode('abc') }, '00000007' + '90' + '00000003' + '00000003' + '616263'],
    ['read eof', { id: 7, type: 0x90, result: 0, data: new Uint8Array(0) }, '00000007' + '90' + '00000000' + '00000000'],
    ['getattr error', { id: 9, type: 0x82, result: -2 }, '00000009' + '82' + 'fffffffe'],
    ['getcreds', { id: 3, type: 0x97, path2: 'tok' }, '00000003' + '97' + '00000003' + '746f6b'],
    ['unknown', { id: 5, type: 0x80 }, '00000005' + '80'],
    ['readdir', { id: 4, type: 0x93, result: 0, names: ['a', 'bc'] },
        '00000004' + '93' + '00000000' + '00000002' + '00000001' + '61' + '00000002' + '6263'],
    ['open', { id: 6, type: 0x8b, result: 0, handle: 5 }, '00000006' + '8b' + '00000000' + '0000000000000005'],
    ['readlink', { id: 6, type: 0x83, result: 0, path2: '/t' }, '00000006' + '83' + '00000000' + '00000002' + '2f74'],
    ['release', { id: 1, type: 0x8e, result: 0 }, '00000001' + '8e' + '00000000'],
    ['error drops body', { id: 1, type: 0x93, result: -13, names: ['x'] }, '00000001' + '93' + 'fffffff3'],
    ['getattr', {
        id: 2, type: 0x82, result: 0,
        attr: {
            ino: 1, nlink: 2, mode: 0o40555, uid: 3, gid: 4, rdev: 0, size: 2 ** 40, blocks: 8,
            atime: { sec: 5, nsec: 6 }, mtime: { sec: 7, nsec: 8 }, ctime: { sec: 9, nsec: 10 },
        },
    }, '00000002' + '82' + '00000000' + '0000000000000001' + '0000000000000002' + '0000416d' + '00000003' + '00000004'
        + '0000000000000000' + '0000010000000000' + '0000000000000008'
        + '0000000000000005' + '00000006' + '0000000000000007' + '00000008' + '0000000000000009' + '0000000a'],
    ['statfs', {
        id: 3, type: 0x95, result: 0,
        statfs: { bsize: 4096, frsize: 4096, blocks: 10, bfree: 0, bavail: 0, files: 3, ffree: 0, namemax: 255 },
    }, '00000003' + '95' + '00000000' + '0000000000001000' + '0000000000001000' + '000000000000000a'
        + '0000000000000000' + '0000000000000000' + '0000000000000003' + '0000000000000000' + '00000000000000ff'],
];

for (const [name, hex, msg] of REQUESTS) {
    test(`decode request: ${name}`, () => {
        assert.deepEqual(decode(fromHex(hex)), msg);
    });
}

for (const [name, msg, hex] of RESPONSES) {
    test(`encode response: ${name}`, () => {
        assert.equal(toHex(encode(msg)), hex);
    });
}

test('requests re-encode to the same bytes', () => {
    for (const [name, hex, msg] of REQUESTS) {
        if (name === 'trailing bytes accepted') continue;
        assert.equal(toHex(encode(msg)), hex, name);
    }
});

test('responses decode back', () => {
    for (const [name, msg, hex] of RESPONSES) {
        const got = decode(fromHex(hex));
        const want = { ...msg };
        if (want.result < 0) {
            for (const k of Object.keys(want)) if (!['id', 'type', 'result'].includes(k)) delete want[k];
        }
        assert.deepEqual(got, want, name);
    }
});

test('read response with result 0 and no data decodes as empty', () => {
    const m = decode(fromHex('00000007' + '90' + '00000000'));
    assert.equal(m.result, 0);
    assert.equal(m.data.length, 0);
});

test('u64 beyond 2^53 decodes to BigInt, below to Number', () => {
    const m = decode(fromHex('00000001' + '10' + '00000001' + '2f' + '00000010' + '0020000000000001' + '001fffffffffffff'));
    assert.equal(m.offset, 2n ** 53n + 1n);
    assert.equal(m.handle, Number.MAX_SAFE_INTEGER);
    assert.equal(toHex(encode(m)), '00000001' + '10' + '00000001' + '2f' + '00000010' + '0020000000000001' + '001fffffffffffff');
});

test('utf-8 paths', () => {
    const m = { id: 1, type: 0x02, path: '/größe ✓' };
    assert.deepEqual(decode(encode(m)), m);
});

// ------------------------------------------------------------------ malformed input

test('truncated input is rejected with DecodeError, never anything else', () => {
    for (const [name, hex] of REQUESTS) {
        const full = fromHex(hex);
        const minimal = name === 'trailing bytes accepted' ? full.length - 4 : full.length;
        for (let n = 0; n < minimal; n++) {
            const r = tryDecode(full.subarray(0, n));
            assert.ok(r.error instanceof DecodeError, `${name} cut at ${n}`);
            assert.throws(() => decode(full.subarray(0, n)), DecodeError);
        }
    }
    for (const [name, , hex] of RESPONSES) {
        const full = fromHex(hex);
        for (let n = 0; n < full.length; n++) {
            if (name === 'read eof' && n === 9) continue; // legal: data left out at end of file
            assert.ok(tryDecode(full.subarray(0, n)).error instanceof DecodeError, `${name} cut at ${n}`);
        }
    }
});

test('huge lengths and counts are rejected', () => {
    assert.throws(() => decode(fromHex('00000001' + '02' + 'ffffffff' + '2f')), DecodeError);
    assert.throws(() => decode(fromHex('00000001' + '93' + '00000000' + 'ffffffff')), DecodeError);
});

test('unknown type: DecodeError carries id and type', () => {
    const r = tryDecode(fromHex('0000002a' + '42' + '0102'));
    assert.ok(r.error instanceof DecodeError);
    assert.equal(r.error.id, 42);
    assert.equal(r.error.type, 0x42);
});

test('provider answers unknown types with 0x80 and the same id', async () => {
    for (const type of ['00', '18', '42', '7f']) {
        const out = await answer({}, fromHex('deadbeef' + type + '00112233'));
        assert.equal(toHex(out), 'deadbeef80', `type ${type}`);
    }
});

test('provider answers a truncated known request with -EIO and ignores garbage', async () => {
    const out = await answer({ getattr: () => ({}) }, fromHex('00000003' + '02' + '000000'));
    assert.equal(toHex(out), '00000003' + '82' + 'fffffffb');
    assert.equal(await answer({}, fromHex('0000')), null);
    assert.equal(await answer({}, fromHex('0000000190')), null); // a response is not a request
});

test('provider answers getcreds with the token only', async () => {
    const out = await answer({}, fromHex('00000005' + '17'), { token: 's3cret' });
    assert.equal(toHex(out), '00000005' + '97' + '00000006' + toHex(ENC.encode('s3cret')));
    const empty = await answer({}, fromHex('00000006' + '17'));
    assert.equal(toHex(empty), '00000006' + '97' + '00000000');
});

// ------------------------------------------------------------------ golden vectors

const goldenPath = join(sourceDir, 'tests', 'vectors', 'golden.json');

// golden msg -> encoder input: data_hex -> bytes, decimal strings -> BigInt
// for u64 fields.
const U64 = new Set(['rdev', 'size', 'offset', 'handle', 'ino', 'nlink', 'blocks', 'sec',
    'bsize', 'frsize', 'bfree', 'bavail', 'files', 'ffree', 'namemax']);
function fromGolden(obj) {
    const out = {};
    for (const [k, v] of Object.entries(obj)) {
        if (k === 'data_hex') out.data = fromHex(v);
        else if (typeof v === 'string' && U64.has(k) && /^\d+$/.test(v)) out[k] = BigInt(v);
        else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = fromGolden(v);
        else out[k] = v;
    }
    return out;
}
// decoded msg -> golden form
function toGolden(obj) {
    const out = {};
    for (const [k, v] of Object.entries(obj)) {
        if (k === 'data') out.data_hex = toHex(v);
        else if (typeof v === 'bigint') out[k] = v.toString();
        else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = toGolden(v);
        else out[k] = v;
    }
    return out;
}
function sameValue(a, b) {
    // a u64 may be written as a number or as a decimal string
    if ((typeof a === 'string' || typeof a === 'number') && (typeof b === 'string' || typeof b === 'number')
        && /^\d+$/.test(String(a)) && /^\d+$/.test(String(b))) return String(a) === String(b);
    if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) === Number(b);
    return false;
}
function defaultFor(key) {
    if (key === 'handle') return NO_HANDLE.toString();
    if (['path', 'path2'].includes(key)) return '';
    if (key === 'data_hex') return '';
    if (key === 'names') return [];
    return 0;
}
function assertGoldenSubset(got, want, where) {
    for (const [k, v] of Object.entries(want)) {
        const g = k in got ? got[k] : defaultFor(k);
        if (v && typeof v === 'object' && !Array.isArray(v)) {
            assert.ok(g && typeof g === 'object', `${where}.${k} missing`);
            assertGoldenSubset(g, v, `${where}.${k}`);
        } else if (!sameValue(g, v)) {
            assert.deepEqual(g, v, `${where}.${k}`);
        }
    }
}

const golden = existsSync(goldenPath) ? JSON.parse(readFileSync(goldenPath, 'utf8')) : null;

test('golden vectors', { skip: golden ? false : 'tests/vectors/golden.json not present' }, async (t) => {
    assert.ok(Array.isArray(golden) && golden.length > 0);
    let requests = 0;
    let responses = 0;
    for (const v of golden) {
        const type = Number(v.msg.type);
        const isResponse = (type & RESPONSE) !== 0;
        const base = type & 0x7f;
        const known = type === RESPONSE || (base >= 1 && base <= Type.GETCREDS);
        if (!known) {
            // a request of a type the provider does not know: 0x80, same id
            await t.test(v.name, async () => {
                const out = await answer({}, fromHex(v.hex));
                const id = Number(v.msg.id);
                assert.equal(toHex(out), id.toString(16).padStart(8, '0') + '80', v.name);
            });
            continue;
        }
        await t.test(v.name, () => {
            if (!isResponse) {
                const got = toGolden(decode(fromHex(v.hex)));
                // This codec has no optional extensions: like any old peer it
                // reads the message without them (the trailing bytes ignored).
                const want = { ...v.msg };
                if ('ext' in want) {
                    delete want.ext;
                    delete want.uid;
                    delete want.gid;
                    assert.ok(!('ext' in got), `${v.name}: ext not expected from this codec`);
                }
                assertGoldenSubset(got, want, v.name);
                requests++;
            } else {
                assert.equal(toHex(encode(fromGolden(v.msg))), v.hex.toLowerCase(), v.name);
                responses++;
            }
        });
    }
    assert.ok(requests > 0, 'golden vectors hold requests');
    assert.ok(responses > 0, 'golden vectors hold responses');
});
