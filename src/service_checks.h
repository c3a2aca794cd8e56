/* Checks made before the service starts, each with a message that says
 * what is wrong and what to do. Each returns 0, or -1 after printing to
 * stderr (exit status 1). */
#ifndef WF_SERVICE_CHECKS_H
#define WF_SERVICE_CHECKS_H

#include "service_options.h"

/* Pairs and files: --wf-cert with --wf-key (both readable), --wf-docroot a
 * directory, --wf-authenticator an executable file, --wf-auth-header only
 * with --wf-authenticator. */
int wf_check_options(const struct wf_cli *o);

/* An existing directory that is not already a mount point (a stale FUSE
 * mount left by a killed service is fine: it is detached later). Warns when
 * it is not empty. */
int wf_check_mountpoint(const char *mountpoint);

/* The port is free on the bind address: "address already in use" otherwise. */
int wf_check_port(const struct wf_cli *o);

/* /dev/fuse exists and can be opened (libfuse opens it itself, also when
 * it mounts through fusermount3 as a non-root user). */
int wf_check_fuse_device(void);

/* After a failed mount: one line on what usually causes it. */
void wf_hint_mount_failure(void);

#endif
