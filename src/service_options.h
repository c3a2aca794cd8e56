/* The service's command line: --wf-NAME VALUE / --wf-NAME=VALUE, the
 * webfuse keys inside -o (also as fstab/mount options: port=8081,...), and
 * mount(8)'s "SOURCE MOUNTPOINT" form. Everything else goes to libfuse. */
#ifndef WF_SERVICE_OPTIONS_H
#define WF_SERVICE_OPTIONS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#define WF_MAX_ORIGINS 16

struct wf_cli {
    long port, timeout, resume_timeout;  /* resume_timeout -1: default */
    const char *vhost, *bind, *docroot, *cert, *key, *authenticator, *auth_header;
    const char *origins[WF_MAX_ORIGINS];
    int origin_count;
    double attr_timeout, entry_timeout, negative_timeout; /* -1: default */
    long uid, gid, umask;                /* -1: unset */
    int idmap_user, version, syslog;
    const char *source;                  /* mount(8)'s first argument, ignored */
    char **owned;                        /* copies of -o lists the values point into */
    int owned_count;
};

/* Fills o and builds rest: argv[0], what libfuse should see (-f, -d, -s,
 * -o with the keys it knows, the mount point). Returns 0, or -1 after
 * printing what is wrong to stderr (a usage error: exit status 1). */
int wf_cli_parse(int argc, char **argv, struct wf_cli *o, struct fuse_args *rest);

void wf_cli_free(struct wf_cli *o);

void wf_cli_usage(const char *prog);

#endif
