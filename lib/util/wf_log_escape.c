/* Makes peer-supplied text safe for a log line: control characters,
 * non-ASCII bytes and the backslash itself become \xNN, so that a peer can
 * neither break a line, drive a terminal, nor forge an escape. */
#include "wf_log.h"

#include <stdio.h>

static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

size_t wf_log_escape(const char *in, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += plain((unsigned char)in[i]) ? 1 : 4;
    /* too long: stop where "..." still fits after the last whole character */
    size_t limit = total < cap ? total : (cap - 1 > 3 ? cap - 1 - 3 : 0);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (n + (plain(c) ? 1 : 4) > limit)
            break;
        if (plain(c))
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
    }
    while (total >= cap && n < cap - 1 && n < limit + 3)
        out[n++] = '.';
    out[n] = '\0';
    return n;
}
