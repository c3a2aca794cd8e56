/* The process's limit on open files, which both sides outgrow: the service
 * with many waiting connections, the provider with many open files. */
#ifndef WF_FD_LIMIT_H
#define WF_FD_LIMIT_H

/* Raises the soft limit on open files to the hard limit; returns the soft
 * limit now in force (-1 if it cannot be read). */
long wf_raise_fd_limit(void);

#endif
