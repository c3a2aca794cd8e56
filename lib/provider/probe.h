/* Finding out why a TCP connection cannot be made, in words. */
#ifndef WF_PROBE_H
#define WF_PROBE_H

#include <stddef.h>

/* Tries a TCP connection to host:port for at most timeout_ms and writes the
 * cause of failure ("connection refused", "host not found", ...) into buf.
 * Returns 0 when the connection could be made (buf then says so). */
int wf_probe_tcp(const char *host, int port, int timeout_ms, char *buf, size_t size);

enum wf_probe_kind { WF_PROBE_UNKNOWN, WF_PROBE_HTTP, WF_PROBE_TLS };

/* Sends a plain HTTP request to host:port and looks at the first bytes of
 * the answer: an HTTP status line (plain port) or a TLS record (TLS port).
 * Bounded by timeout_ms. */
enum wf_probe_kind wf_probe_scheme(const char *host, int port, int timeout_ms);

#endif
