/* The FUSE mount: session setup, a stale mount left by a killed service,
 * the read-ahead window, unmount. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "service_int.h"
#include "util/wf_log.h"

#define WF_READAHEAD_KB 1024u

/* A mountpoint left behind by a killed service answers ENOTCONN: detach it. */
static void clear_stale_mount(const char *mountpoint)
{
    struct stat st;
    if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
        return;
    wf_warn("%s is a stale mount of a dead process; unmounting it", mountpoint);
    if (umount2(mountpoint, MNT_DETACH) != 0)
        wf_warn("could not unmount stale %s: %s", mountpoint, strerror(errno));
}

int wf_mount(struct wf_service *s)
{
    const struct wf_service_config *c = &s->cfg;
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    int ok = fuse_opt_add_arg(&args, c->fuse_argc > 0 ? c->fuse_argv[0] : "webfuse") == 0;
    for (int i = 1; ok && i < c->fuse_argc; i++)
        ok = fuse_opt_add_arg(&args, c->fuse_argv[i]) == 0;
    /* The kernel checks permissions from the provider's modes and owners. */
    ok = ok && fuse_opt_add_arg(&args, "-odefault_permissions,fsname=webfuse,subtype=webfuse") == 0;
    if (!ok) {
        fuse_opt_free_args(&args);
        return -1;
    }
    s->se = fuse_session_new(&args, &wf_fs_ops, sizeof wf_fs_ops, s);
    fuse_opt_free_args(&args);
    if (!s->se)
        return -1;
    clear_stale_mount(s->mountpoint);
    if (fuse_session_mount(s->se, s->mountpoint) != 0) {
        fuse_session_destroy(s->se);
        s->se = NULL;
        return -1;
    }
    int fd = fuse_session_fd(s->se);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

void wf_unmount(struct wf_service *s)
{
    if (!s->se)
        return;
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    s->se = NULL;
}

/* The kernel reads ahead only 128 KiB on a FUSE mount by default, so a
 * sequential read arrives as 128 KiB requests. A larger window (up to the
 * request size agreed in init) means fewer, larger requests. The window
 * lives in the mount's bdi; its device number comes from
 * /proc/self/mountinfo (a stat of the mountpoint would ask this very loop).
 * Best effort: needs root, and is skipped quietly otherwise. */
static void widen_readahead(lws_sorted_usec_list_t *sul)
{
    struct wf_service *s = lws_container_of(sul, struct wf_service, readahead_sul);
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096], dev[32] = "";
    while (f && fgets(line, sizeof line, f)) {
        char mnt[PATH_MAX], mdev[32];
        if (sscanf(line, "%*d %*d %31s %*s %4095s", mdev, mnt) == 2 && strcmp(mnt, s->mountpoint) == 0)
            snprintf(dev, sizeof dev, "%s", mdev); /* the last match is the newest mount */
    }
    if (f)
        fclose(f);
    char path[96];
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", dev);
    FILE *ra = dev[0] ? fopen(path, "w") : NULL;
    if (ra) {
        fprintf(ra, "%u\n", WF_READAHEAD_KB);
        fclose(ra);
    }
}

void wf_mount_initialized(struct wf_service *s)
{
    if (s->ctx)
        lws_sul_schedule(s->ctx, 0, &s->readahead_sul, widen_readahead, 1);
}
