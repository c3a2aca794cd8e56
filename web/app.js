// The sharing page: picks files, serves them read-only to the device over
// webfuse2 on the page's own origin (through webfuse/sharing.js, which runs
// the provider in a Worker), shows connection state and what the device is
// doing with each file.
import { Sharing, State } from './webfuse/index.js';

const $ = (id) => document.getElementById(id);
const ui = {
    input: $('file-input'),
    drop: $('drop-zone'),
    files: $('files'),
    empty: $('files-empty'),
    token: $('token'),
    connect: $('connect'),
    disconnect: $('disconnect'),
    state: $('state'),
    dot: $('state-dot'),
    detail: $('state-detail'),
    code: $('state-code'),
    device: $('device'),
    endpoint: $('endpoint'),
};

const params = new URLSearchParams(window.location.search);
const sharing = new Sharing({
    token: () => ui.token.value,
    worker: params.get('worker') !== '0', // ?worker=0: run in the page (tests, old browsers)
});
const url = sharing.url;
const rows = new Map(); // name -> row elements

export function formatSize(n) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${n} ${n === 1 ? 'byte' : 'bytes'}` : `${v.toFixed(1)} ${units[i]}`;
}

function formatRate(bytesPerSecond) {
    const mb = bytesPerSecond / 1e6;
    return mb >= 10 ? `${mb.toFixed(0)} MB/s` : mb >= 0.1 ? `${mb.toFixed(1)} MB/s` : `${Math.round(bytesPerSecond / 1e3)} kB/s`;
}

// ------------------------------------------------------------------ files

function addFiles(list) {
    for (const file of list) sharing.add(file).catch((err) => console.error(err));
}

function addRow(info) {
    const li = document.createElement('li');
    li.className = 'file';
    li.dataset.name = info.name;
    li.dataset.activity = 'waiting';
    li.id = `file-${info.ino}`;

    const name = document.createElement('span');
    name.className = 'file-name';
    name.textContent = info.name;
    name.title = info.name;

    const size = document.createElement('span');
    size.className = 'file-size';
    size.textContent = formatSize(info.size);

    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'file-remove';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Stop sharing ${info.name}`);
    remove.addEventListener('click', () => sharing.remove(info.name));

    const progress = document.createElement('progress');
    progress.className = 'file-progress';
    progress.id = `progress-${info.ino}`;
    progress.max = Math.max(info.size, 1);
    progress.value = 0;
    progress.dataset.read = '0';

    const activity = document.createElement('span');
    activity.className = 'file-activity';

    const text = document.createElement('span');
    text.className = 'file-progress-text';

    li.append(name, size, remove, progress, activity, text);
    ui.files.append(li);
    rows.set(info.name, { li, progress, activity, text });
    render(info);
    ui.empty.hidden = true;
}

function removeRow(name) {
    const row = rows.get(name);
    if (row) row.li.remove();
    rows.delete(name);
    ui.empty.hidden = rows.size > 0;
}

const ACTIVITY = {
    waiting: 'not read yet',
    reading: 'the device is reading',
    open: 'open on the device, paused',
    done: 'done: the device closed the file',
    cut: 'cut off: the connection was lost while the device was reading',
};

function render(info) {
    const row = rows.get(info.name);
    if (!row) return;
    const seen = info.covered;
    row.progress.value = Math.min(seen, row.progress.max);
    row.progress.dataset.read = String(seen);
    row.progress.dataset.served = String(info.bytesRead);
    row.li.dataset.activity = info.activity;
    // The reading dot blinks with the progress updates (four a second): a
    // CSS animation would repaint sixty times a second, CPU the device's
    // transfer competes for on small machines.
    row.li.dataset.beat = info.activity === 'reading' && row.li.dataset.beat !== '1' ? '1' : '0';
    row.activity.textContent = ACTIVITY[info.activity] ?? info.activity;
    const pct = info.size ? Math.floor((seen / info.size) * 100) : 100;
    if (info.reads === 0) {
        row.text.textContent = '';
    } else {
        const rate = info.activity === 'reading' && info.rate > 0 ? ` · ${formatRate(info.rate)}` : '';
        row.text.textContent = `read by the device: ${formatSize(seen)} of ${formatSize(info.size)} (${pct}%)${rate}`;
    }
    row.li.classList.toggle('done', info.activity === 'done');
}

const DEVICE = {
    waiting: '',
    reading: 'The device is reading…',
    open: 'The device has files open.',
    idle: 'The device has not read anything for a while: it is probably done.',
    done: 'The device is done: it has closed every file it read.',
    cut: 'The connection was lost while the device was reading.',
};

function renderDevice(device) {
    const active = sharing.state === State.CONNECTED || device.activity === 'done' || device.activity === 'cut';
    const text = active || device.activity !== 'waiting' ? DEVICE[device.activity] ?? '' : '';
    ui.device.textContent = text;
    ui.device.dataset.activity = device.activity;
    ui.device.hidden = !text;
}

sharing.addEventListener('add', (e) => addRow(e.detail));
sharing.addEventListener('remove', (e) => removeRow(e.detail.name));
sharing.addEventListener('progress', (e) => {
    for (const info of e.detail.files) render(info);
    renderDevice(e.detail.device);
});

ui.input.addEventListener('change', () => {
    addFiles(ui.input.files);
    ui.input.value = '';
});

for (const name of ['dragenter', 'dragover']) {
    ui.drop.addEventListener(name, (e) => {
        e.preventDefault();
        ui.drop.classList.add('over');
    });
}
for (const name of ['dragleave', 'drop']) {
    ui.drop.addEventListener(name, () => ui.drop.classList.remove('over'));
}
ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files) addFiles(e.dataTransfer.files);
});
// A file dropped next to the zone should not make the browser navigate away.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// ------------------------------------------------------------------ connection

const LABELS = {
    [State.IDLE]: 'Not sharing',
    [State.CONNECTING]: 'Connecting…',
    [State.CONNECTED]: 'Sharing: the device can read the files',
    [State.RECONNECTING]: 'Reconnecting…',
    [State.REFUSED]: 'Refused by the device',
    [State.LOST]: 'Connection lost',
};

function showState(d) {
    ui.state.textContent = LABELS[d.state] ?? d.state;
    ui.state.dataset.state = d.state;
    ui.dot.dataset.state = d.state;
    let sentence = '';
    if (d.state === State.REFUSED || d.state === State.LOST) sentence = d.message ?? '';
    else if (d.state === State.RECONNECTING) {
        sentence = `${d.message ?? ''} Trying again automatically${d.attempt > 1 ? ` (attempt ${d.attempt})` : ''}.`;
    } else if (d.state === State.CONNECTED && d.resumed) sentence = 'Connected again.';
    ui.detail.textContent = sentence.trim();
    const showCode = typeof d.code === 'number' && d.state !== State.IDLE && d.state !== State.CONNECTED;
    ui.code.textContent = showCode ? `Details: close code ${d.code}${d.reason ? ` (${d.reason})` : ''}` : '';
    ui.code.dataset.code = showCode ? String(d.code) : '';
    ui.code.hidden = !showCode;
    const active = d.state === State.CONNECTING || d.state === State.CONNECTED || d.state === State.RECONNECTING;
    ui.connect.disabled = active;
    ui.disconnect.disabled = !active;
    ui.token.disabled = active;
}
sharing.addEventListener('statechange', (e) => {
    showState(e.detail);
    renderDevice(sharing.device);
});

// Start sharing: the button, or Enter in the token field. Each start is a
// new session: progress starts from zero.
$('share-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const s = sharing.state;
    if (s !== State.CONNECTING && s !== State.CONNECTED && s !== State.RECONNECTING) sharing.start();
});
ui.disconnect.addEventListener('click', () => sharing.stop());

window.addEventListener('beforeunload', (e) => {
    if (sharing.state === State.CONNECTED || sharing.state === State.RECONNECTING) {
        e.preventDefault();
        e.returnValue = '';
    }
});
// Leaving the page: say goodbye with a normal close so the device does not
// wait for this page to come back.
window.addEventListener('pagehide', () => sharing.stop());

ui.endpoint.textContent = `Device address: ${url}`;
showState({ state: sharing.state });

// For people poking around in the console, and for tests.
window.webfuseApp = { sharing, url, fs: sharing.core ? sharing.core.fs : null };
