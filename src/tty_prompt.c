/* Reads a secret from the controlling terminal with echo turned off, and
 * turns echo back on whatever happens (also when a signal ends the read). */
#include "tty_prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int wf_tty_can_prompt(void)
{
    if (!isatty(STDIN_FILENO))
        return 0;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Reads up to a newline; returns the length, or -1 on error / end of input. */
static int read_line(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            return -1; /* Ctrl-C while asked: give up the prompt */
        if (r <= 0)
            return len > 0 ? (int)len : -1;
        if (c == '\n' || c == '\r')
            return (int)len;
        if (len + 1 < size)
            buf[len++] = c;
        buf[len] = '\0';
    }
}

int wf_tty_read_secret(const char *prompt, char *buf, size_t size)
{
    if (!buf || size == 0)
        return -1;
    buf[0] = '\0';
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    int have_termios = tcgetattr(fd, &old) == 0;
    if (have_termios) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    write_all(fd, prompt);
    int n = read_line(fd, buf, size);
    if (have_termios)
        tcsetattr(fd, TCSAFLUSH, &old);
    write_all(fd, "\n");
    close(fd);
    if (n < 0) {
        memset(buf, 0, size);
        return -1;
    }
    buf[n] = '\0';
    return 0;
}
