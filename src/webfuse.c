/* webfuse: the service. Mounts MOUNTPOINT and serves it from whichever
 * provider connects over the WebSocket. A thin front end over libwebfuse. */
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "webfuse/log.h"
#include "webfuse/service.h"

#include "wf_version.h"
#include "service_checks.h"
#include "service_options.h"


static struct wf_service *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        wf_service_stop(running);
}

/* libwebsockets' own lines only at debug level (-d), in our log format.
 * Installed before the library sets its level; lws keeps this function. */
static void lws_log_to_wf(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    wf_log(WF_LOG_DEBUG, "lws: %.*s", (int)n, line);
}

/* The library's config from the checked options. */
static struct wf_service_config config_of(const struct wf_cli *o, const char *mountpoint, struct fuse_args *args)
{
    struct wf_service_config cfg = {
        .mountpoint = mountpoint, .port = (int)o->port, .vhost = o->vhost, .bind_address = o->bind,
        .timeout_secs = (int)o->timeout, .docroot = o->docroot, .cert_path = o->cert, .key_path = o->key,
        .authenticator = o->authenticator, .auth_header = o->auth_header,
        .allowed_origins = o->origins, .allowed_origin_count = (size_t)o->origin_count,
        .attr_timeout = o->attr_timeout, .entry_timeout = o->entry_timeout,
        .negative_timeout = o->negative_timeout, .fuse_argc = args->argc, .fuse_argv = args->argv,
        .set_uid = o->uid >= 0, .uid = o->uid >= 0 ? (unsigned)o->uid : 0,
        .set_gid = o->gid >= 0, .gid = o->gid >= 0 ? (unsigned)o->gid : 0,
        .set_umask = o->umask >= 0, .umask = o->umask >= 0 ? (unsigned)o->umask : 0,
        .idmap_user = o->idmap_user, .resume_timeout_secs = (int)o->resume_timeout,
    };
    return cfg;
}

static int checks(const struct wf_cli *o, const char *mountpoint)
{
    if (wf_check_options(o) != 0 || wf_check_mountpoint(mountpoint) != 0 || wf_check_port(o) != 0 ||
        wf_check_fuse_device() != 0)
        return -1;
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The service is being torn down: a second Ctrl-C must not reach it (its
 * memory is about to go); the unmount in progress finishes. */
static void ignore_signals(void)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
}

static void shut_down(void)
{
    ignore_signals();
    struct wf_service *s = running;
    running = NULL;
    wf_service_destroy(s);
}

int main(int argc, char *argv[])
{
    /* Message buffers of up to 1 MiB come and go. Mapped, they go back to the
     * system when freed; glibc's adaptive threshold would keep them on the
     * heap, and resident, after the first one. */
#ifdef M_MMAP_THRESHOLD /* glibc; musl's allocator gives large blocks back anyway */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    struct wf_cli o;
    struct fuse_cmdline_opts cmd;
    int status = 1;
    memset(&cmd, 0, sizeof cmd);
    if (wf_cli_parse(argc, argv, &o, &args) != 0)
        goto out;
    if (fuse_parse_cmdline(&args, &cmd) != 0) {
        fprintf(stderr, "webfuse: see %s --help\n", argv[0]);
        goto out;
    }
    if (cmd.show_help) {
        wf_cli_usage(argv[0]);
        status = 0;
        goto out;
    }
    if (o.version || cmd.show_version) {
        printf("webfuse %s (protocol webfuse2, libfuse %d)\n", WF_VERSION, fuse_version());
        status = 0;
        goto out;
    }
    if (!cmd.mountpoint) {
        fprintf(stderr, "webfuse: no mount point given (see %s --help)\n", argv[0]);
        goto out;
    }
    if (checks(&o, cmd.mountpoint) != 0)
        goto out;
    if (!cmd.foreground)
        o.syslog = 1; /* stderr goes away when daemonized */
    wf_log_setup("webfuse", cmd.debug ? WF_LOG_DEBUG : WF_LOG_INFO, o.syslog);
    lws_set_log_level(cmd.debug ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, lws_log_to_wf);

    /* what fuse_parse_cmdline left (e.g. -o allow_other) goes to the mount */
    if (cmd.debug)
        fuse_opt_add_arg(&args, "-d");
    struct wf_service_config cfg = config_of(&o, cmd.mountpoint, &args);
    running = wf_service_create(&cfg);
    if (!running) {
        if (access("/dev/fuse", R_OK | W_OK) != 0)
            wf_hint_mount_failure();
        goto out;
    }
    install_signals();
    if (fuse_daemonize(cmd.foreground) != 0) {
        shut_down();
        goto out;
    }
    status = wf_service_run(running) == WF_SUCCESS ? 0 : 1;
    shut_down();
    wf_log(WF_LOG_INFO, "unmounted, bye");
out:
    free(cmd.mountpoint);
    fuse_opt_free_args(&args);
    wf_cli_free(&o);
    return status;
}
