// The sharing page: picks files, serves them read-only to the device over
// webfuse2 on the page's own origin, shows connection state and progress.
import { FilesFS } from './webfuse/filesfs.js';
import { Provider, State, sameOriginUrl } from './webfuse/provider.js';

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
    endpoint: $('endpoint'),
};

const url = sameOriginUrl(window.location);
const rows = new Map(); // entry -> row elements
let dirty = new Set();
let frame = 0;

const fs = new FilesFS({ onChange });
const provider = new Provider(fs, { token: () => ui.token.value, onError: (err) => console.error(err) });
provider.addEventListener('statechange', (e) => showState(e.detail));

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

// ------------------------------------------------------------------ files

function addFiles(list) {
    for (const file of list) fs.add(file);
}

function onChange(kind, entry) {
    if (kind === 'add') addRow(entry);
    else if (kind === 'remove') removeRow(entry);
    else schedule(entry);
}

function addRow(entry) {
    const li = document.createElement('li');
    li.className = 'file';
    li.dataset.name = entry.name;
    li.id = `file-${entry.ino}`;

    const name = document.createElement('span');
    name.className = 'file-name';
    name.textContent = entry.name;
    name.title = entry.name;

    const size = document.createElement('span');
    size.className = 'file-size';
    size.textContent = formatSize(entry.size);

    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'file-remove';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Stop sharing ${entry.name}`);
    remove.addEventListener('click', () => fs.remove(entry.name));

    const progress = document.createElement('progress');
    progress.className = 'file-progress';
    progress.id = `progress-${entry.ino}`;
    progress.max = Math.max(entry.size, 1);
    progress.value = 0;
    progress.dataset.read = '0';

    const text = document.createElement('span');
    text.className = 'file-progress-text';

    li.append(name, size, remove, progress, text);
    ui.files.append(li);
    rows.set(entry, { li, progress, text });
    render(entry);
    ui.empty.hidden = true;
}

function removeRow(entry) {
    const row = rows.get(entry);
    if (row) row.li.remove();
    rows.delete(entry);
    ui.empty.hidden = rows.size > 0;
}

// Progress events can come thousands of times a second: draw once a frame.
function schedule(entry) {
    dirty.add(entry);
    if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
    frame = 0;
    const todo = dirty;
    dirty = new Set();
    for (const entry of todo) render(entry);
}

function render(entry) {
    const row = rows.get(entry);
    if (!row) return;
    const seen = fs.progressOf(entry);
    row.progress.value = Math.min(seen, row.progress.max);
    row.progress.dataset.read = String(seen);
    row.progress.dataset.served = String(entry.bytesRead);
    const pct = entry.size ? Math.floor((seen / entry.size) * 100) : 100;
    if (entry.reads === 0) {
        row.text.textContent = 'not read yet';
    } else {
        row.text.textContent = `read by the device: ${formatSize(seen)} of ${formatSize(entry.size)} (${pct}%)`;
    }
    row.li.classList.toggle('done', entry.size > 0 && seen >= entry.size);
}

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
    [State.CONNECTED]: 'Connected — the device can read the files',
    [State.REFUSED]: 'Refused by the device',
    [State.LOST]: 'Connection lost',
};

function showState(d) {
    ui.state.textContent = LABELS[d.state] ?? d.state;
    ui.state.dataset.state = d.state;
    ui.dot.dataset.state = d.state;
    const parts = [];
    if (d.state === State.REFUSED || d.state === State.LOST) {
        if (d.message) parts.push(d.message);
        if (typeof d.code === 'number') parts.push(`close code ${d.code}${d.reason ? `: ${d.reason}` : ''}`);
    }
    ui.detail.textContent = parts.join(' — ');
    ui.detail.dataset.code = typeof d.code === 'number' ? String(d.code) : '';
    const active = d.state === State.CONNECTING || d.state === State.CONNECTED;
    ui.connect.disabled = active;
    ui.disconnect.disabled = !active;
    ui.token.disabled = active;
}

// Start sharing: the button, or Enter in the token field.
$('share-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (provider.state !== State.CONNECTING && provider.state !== State.CONNECTED) provider.connect(url);
});
ui.disconnect.addEventListener('click', () => {
    provider.disconnect();
});

window.addEventListener('beforeunload', (e) => {
    if (provider.state === State.CONNECTED) {
        e.preventDefault();
        e.returnValue = '';
    }
});

ui.endpoint.textContent = `Device address: ${url}`;
showState({ state: provider.state });

// For people poking around in the console, and for tests.
window.webfuseApp = { fs, provider, url };
