// Dedicated Worker entry: runs the sharing engine (core.js) off the page's
// main thread. Blob reads here are synchronous (FileReaderSync) and the
// WebSocket lives here too, so a busy or throttled page does not slow the
// device down. The page talks to it through sharing.js.
import { SharingCore } from './core.js';

/** @type {any} */
const scope = globalThis;
const core = new SharingCore((msg) => scope.postMessage(msg));
scope.onmessage = (/** @type {MessageEvent} */ ev) => core.handle(ev.data);
