// webfuse browser provider: the public entry point.
//
// Sharing is all most pages need (see sharing.js and docs/browser.md). The
// lower layers are exported for pages that serve their own filesystem:
// Provider answers webfuse2 requests with any object that has the
// filesystem methods listed in provider.js; FilesFS is the read-only
// filesystem of picked files; the codec encodes and decodes messages.
export { Sharing } from './sharing.js';
export { SharingCore, IDLE_MS } from './core.js';
export {
    Provider, FsError, State, CloseCode, describeClose, sameOriginUrl, RECONNECT_DELAYS, SILENCE_MS,
    handleRequest, answer,
} from './provider.js';
export { FilesFS, READING_MS } from './filesfs.js';
export { ReadAhead } from './readahead.js';
export * as codec from './codec.js';
