/* Asking the person at the terminal for a secret, echo off. */
#ifndef WF_TTY_PROMPT_H
#define WF_TTY_PROMPT_H

#include <stddef.h>

/* Nonzero when a person can be asked: standard input is a terminal and
 * /dev/tty can be opened. */
int wf_tty_can_prompt(void);

/* Writes prompt to /dev/tty and reads one line from it with echo off into
 * buf (NUL-terminated, without the newline). Returns 0, or -1 when there is
 * no terminal or reading failed (buf is then empty). */
int wf_tty_read_secret(const char *prompt, char *buf, size_t size);

#endif
