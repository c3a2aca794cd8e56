/* webfuse: the service. Mounts MOUNTPOINT and serves it from whichever
 * provider connects over the WebSocket. A thin front end over libwebfuse. */
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "webfuse/log.h"
#include "webfuse/service.h"

#define WF_VERSION "0.1.0"

struct options {
    int port, timeout, resume_timeout;
    char *vhost, *docroot, *cert, *key, *authenticator, *auth_header, *bind;
    char *origins[16];
    int origin_count;
    double attr_timeout, entry_timeout, negative_timeout;
    int version, syslog;
};

#define OPT(t, f) { t, offsetof(struct options, f), 1 }
static const struct fuse_opt wf_opts[] = {
    OPT("--wf-port %d", port), OPT("--wf-port=%d", port),
    OPT("--wf-vhost %s", vhost), OPT("--wf-vhost=%s", vhost),
    OPT("--wf-bind %s", bind), OPT("--wf-bind=%s", bind),
    OPT("--wf-timeout %d", timeout), OPT("--wf-timeout=%d", timeout),
    OPT("--wf-resume-timeout %d", resume_timeout), OPT("--wf-resume-timeout=%d", resume_timeout),
    OPT("--wf-docroot %s", docroot), OPT("--wf-docroot=%s", docroot),
    OPT("--wf-cert %s", cert), OPT("--wf-cert=%s", cert),
    OPT("--wf-key %s", key), OPT("--wf-key=%s", key),
    OPT("--wf-authenticator %s", authenticator), OPT("--wf-authenticator=%s", authenticator),
    OPT("--wf-auth-header %s", auth_header), OPT("--wf-auth-header=%s", auth_header),
    OPT("attr_timeout=%lf", attr_timeout),
    OPT("entry_timeout=%lf", entry_timeout),
    OPT("negative_timeout=%lf", negative_timeout),
    OPT("--wf-version", version),
    OPT("--wf-syslog", syslog),
    FUSE_OPT_KEY("--wf-allow-origin ", 1),
    FUSE_OPT_KEY("--wf-allow-origin=", 1),
    FUSE_OPT_END
};

static int on_opt(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct options *o = data;
    if (key != 1)
        return 1; /* keep for libfuse */
    const char *value = strchr(arg, '=') ? strchr(arg, '=') + 1 : arg + strlen("--wf-allow-origin");
    while (*value == ' ')
        value++;
    if (o->origin_count == (int)(sizeof o->origins / sizeof o->origins[0])) {
        fprintf(stderr, "webfuse: too many --wf-allow-origin options\n");
        return -1;
    }
    o->origins[o->origin_count++] = strdup(value);
    return 0;
}

static void usage(const char *prog)
{
    printf("usage: %s [options] MOUNTPOINT\n\n"
           "webfuse options:\n"
           "    --wf-port N              WebSocket/HTTP port (default 8081)\n"
           "    --wf-vhost NAME          virtual host name (default localhost)\n"
           "    --wf-bind ADDRESS        listen on this address only (default: all)\n"
           "    --wf-timeout SECONDS     fail a request with EIO after this long (default 10)\n"
           "    --wf-resume-timeout SECONDS  hold requests this long for a lost provider to\n"
           "                             come back (default 30, 0: fail at once)\n"
           "    --wf-docroot DIR         serve static files from DIR (the browser provider page)\n"
           "    --wf-cert PATH           TLS certificate (PEM), with --wf-key: wss:// and https://\n"
           "    --wf-key PATH            TLS private key (PEM)\n"
           "    --wf-authenticator PATH  program that checks a provider's token (on stdin)\n"
           "    --wf-auth-header NAME    HTTP header carrying the token (e.g. X-Auth-Token)\n"
           "    --wf-allow-origin ORIGIN a browser origin allowed to connect (repeatable)\n"
           "    --wf-syslog              log to syslog instead of stderr\n"
           "    --wf-version             print version and exit\n"
           "    -o attr_timeout=S        cache attributes for S seconds (default 1)\n"
           "    -o entry_timeout=S       cache names for S seconds (default 1)\n"
           "    -o negative_timeout=S    cache missing names for S seconds (default 0)\n\n",
           prog);
    printf("FUSE options:\n");
    fuse_cmdline_help();
    fuse_lowlevel_help();
}

static struct wf_service *running;

static void on_signal(int sig)
{
    wf_service_stop(running);
}

int main(int argc, char *argv[])
{
    /* Message buffers of up to 1 MiB come and go. Mapped, they go back to the
     * system when freed; glibc's adaptive threshold would keep them on the
     * heap, and resident, after the first one. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct options o = { .port = 8081, .timeout = 10, .resume_timeout = 30,
                         .attr_timeout = -1, .entry_timeout = -1, .negative_timeout = -1 };
    struct fuse_cmdline_opts cmd;
    int status = 1;
    memset(&cmd, 0, sizeof cmd);
    if (fuse_opt_parse(&args, &o, wf_opts, on_opt) != 0 || fuse_parse_cmdline(&args, &cmd) != 0)
        goto out;
    if (cmd.show_help) {
        usage(argv[0]);
        status = 0;
        goto out;
    }
    if (o.version || cmd.show_version) {
        printf("webfuse %s (protocol webfuse2, libfuse %d)\n", WF_VERSION, fuse_version());
        status = 0;
        goto out;
    }
    if (!cmd.mountpoint) {
        fprintf(stderr, "webfuse: no mountpoint given (see %s -h)\n", argv[0]);
        goto out;
    }
    if (!cmd.foreground)
        o.syslog = 1; /* stderr goes away when daemonized */
    wf_log_setup("webfuse", cmd.debug ? WF_LOG_DEBUG : WF_LOG_INFO, o.syslog);

    /* what fuse_parse_cmdline left (e.g. -o allow_other) goes to the mount */
    struct wf_service_config cfg = {
        .mountpoint = cmd.mountpoint, .port = o.port, .vhost = o.vhost, .bind_address = o.bind,
        .timeout_secs = o.timeout, .docroot = o.docroot, .cert_path = o.cert, .key_path = o.key,
        .authenticator = o.authenticator, .auth_header = o.auth_header,
        .allowed_origins = (const char *const *)o.origins, .allowed_origin_count = (size_t)o.origin_count,
        .attr_timeout = o.attr_timeout, .entry_timeout = o.entry_timeout,
        .negative_timeout = o.negative_timeout, .resume_timeout_secs = o.resume_timeout, .fuse_argc = args.argc, .fuse_argv = args.argv,
    };
    if (cmd.debug)
        fuse_opt_add_arg(&args, "-d"), cfg.fuse_argc = args.argc, cfg.fuse_argv = args.argv;
    running = wf_service_create(&cfg);
    if (!running)
        goto out;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (fuse_daemonize(cmd.foreground) != 0) {
        wf_service_destroy(running);
        goto out;
    }
    status = wf_service_run(running) == WF_SUCCESS ? 0 : 1;
    wf_service_destroy(running);
    wf_log(WF_LOG_INFO, "unmounted, bye");
out:
    free(cmd.mountpoint);
    fuse_opt_free_args(&args);
    for (int i = 0; i < o.origin_count; i++)
        free(o.origins[i]);
    free(o.vhost), free(o.docroot), free(o.cert), free(o.key), free(o.bind);
    free(o.authenticator), free(o.auth_header);
    return status;
}
