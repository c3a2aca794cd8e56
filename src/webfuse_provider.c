/* webfuse_provider: serves a local directory to a webfuse service. */
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "webfuse/localfs.h"
#include "webfuse/log.h"
#include "webfuse/provider.h"

#include "wf_version.h"
#include "progress.h"
#include "tty_prompt.h"


static struct wf_provider *g_provider;

static void on_signal(int sig)
{
    (void)sig;
    wf_provider_stop(g_provider);
}

/* libwebsockets' own lines are for debugging only (-d), except the reason a
 * certificate was not accepted, which is said in our words. */
static void lws_log_to_wf(int level, const char *line)
{
    static const char tls_prefix[] = "SSL error: ";
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level == LLL_ERR && strncmp(line, tls_prefix, sizeof tls_prefix - 1) == 0) {
        size_t skip = sizeof tls_prefix - 1;
        wf_log(WF_LOG_ERROR, "the service's certificate was not accepted: %.*s", (int)(n - skip), line + skip);
        return;
    }
    wf_log(WF_LOG_DEBUG, "lws: %.*s", (int)n, line);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: webfuse_provider -u URL [options]\n"
            "Provides a local directory to a webfuse service.\n"
            "\n"
            "  -u, --url URL         service address: ws://host:port/ or wss://host:port/\n"
            "  -p, --path DIR        directory to provide (default: .)\n"
            "  -a, --ca-path FILE    PEM file with the CA certificates to trust for wss://\n"
            "                        (default: the system store)\n"
            "  -t, --token TOKEN     authentication token (default: $WEBFUSE_TOKEN; asked for\n"
            "                        on the terminal when the service wants one)\n"
            "  -r, --read-only       provide the directory read-only\n"
            "      --reconnect       reconnect when the connection fails or ends (default)\n"
            "      --no-reconnect    exit instead\n"
            "      --keep-trying     reconnect even after a refusal that cannot change\n"
            "                        (rejected token, origin, TLS)\n"
            "  -d, --verbose         log every request and libwebsockets' own lines\n"
            "      --no-progress     no live status line on a terminal\n"
            "      --syslog          log to syslog instead of stderr\n"
            "  -h, --help            show this help\n"
            "  -v, --version         show the version\n"
            "\n"
            "Exit status: 0 after SIGINT/SIGTERM, 1 for usage errors, a refusal,\n"
            "or a failed connection (--no-reconnect).\n");
}

struct cli {
    const char *url, *path, *ca_path, *token;
    int read_only, reconnect, verbose, use_syslog, progress;
};

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct cli *o)
{
    enum { OPT_RECONNECT = 256, OPT_NO_RECONNECT, OPT_KEEP_TRYING, OPT_SYSLOG, OPT_NO_PROGRESS };
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },
        { "path", required_argument, NULL, 'p' },
        { "ca-path", required_argument, NULL, 'a' },
        { "token", required_argument, NULL, 't' },
        { "read-only", no_argument, NULL, 'r' },
        { "reconnect", no_argument, NULL, OPT_RECONNECT },
        { "no-reconnect", no_argument, NULL, OPT_NO_RECONNECT },
        { "keep-trying", no_argument, NULL, OPT_KEEP_TRYING },
        { "verbose", no_argument, NULL, 'd' },
        { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
        { "syslog", no_argument, NULL, OPT_SYSLOG },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "u:p:a:t:rdvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': o->url = optarg; break;
        case 'p': o->path = optarg; break;
        case 'a': o->ca_path = optarg; break;
        case 't': o->token = optarg; break;
        case 'r': o->read_only = 1; break;
        case 'd': o->verbose = 1; break;
        case OPT_RECONNECT: o->reconnect = WF_RECONNECT; break;
        case OPT_NO_RECONNECT: o->reconnect = 0; break;
        case OPT_KEEP_TRYING: o->reconnect = WF_RECONNECT_ALWAYS; break;
        case OPT_SYSLOG: o->use_syslog = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        case 'v': printf("webfuse_provider %s\n", WF_VERSION); return EXIT_SUCCESS;
        default:
            fprintf(stderr, "webfuse_provider: see webfuse_provider --help\n");
            return EXIT_FAILURE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "webfuse_provider: unexpected argument: %s (see --help)\n", argv[optind]);
        return EXIT_FAILURE;
    }
    if (!o->url) {
        fprintf(stderr, "webfuse_provider: missing -u URL (e.g. -u ws://localhost:8081/)\n");
        return EXIT_FAILURE;
    }
    if (strncmp(o->url, "ws://", 5) != 0 && strncmp(o->url, "wss://", 6) != 0) {
        fprintf(stderr, "webfuse_provider: the URL must start with ws:// or wss://: %s\n", o->url);
        return EXIT_FAILURE;
    }
    if (o->ca_path && access(o->ca_path, R_OK) != 0) {
        fprintf(stderr, "webfuse_provider: cannot read the CA file %s: %s\n", o->ca_path, strerror(errno));
        return EXIT_FAILURE;
    }
    return -1;
}

static int check_directory(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "webfuse_provider: cannot access %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "webfuse_provider: not a directory: %s\n", path);
        return -1;
    }
    return 0;
}

struct prompt_ctx {
    const char *url;
    struct wf_progress *progress;
};

/* The service asked for credentials and none were given: ask the person. */
static int ask_token(void *ud, char *buf, size_t size)
{
    struct prompt_ctx *c = ud;
    char prompt[600];
    snprintf(prompt, sizeof prompt, "Token for %s: ", c->url);
    wf_progress_pause(c->progress);
    return wf_tty_read_secret(prompt, buf, size);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve(struct wf_provider *p, struct wf_progress *pg)
{
    struct wf_provider_status st;
    int rc;
    while ((rc = wf_provider_service(p, 250)) == WF_SUCCESS) {
        wf_provider_get_status(p, &st);
        wf_progress_update(pg, &st);
    }
    wf_provider_get_status(p, &st);
    wf_progress_finish(pg, &st);
    return rc == 1 ? WF_SUCCESS : rc;
}

int main(int argc, char **argv)
{
    /* Message buffers of up to 1 MiB come and go. Mapped, they go back to the
     * system when freed; glibc's adaptive threshold would keep them on the
     * heap, and resident, after the first one. */
#ifdef M_MMAP_THRESHOLD /* glibc; musl's allocator gives large blocks back anyway */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    struct cli o = { .path = ".", .reconnect = WF_RECONNECT, .progress = 1 };
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    wf_log_setup("webfuse_provider", o.verbose ? WF_LOG_DEBUG : WF_LOG_INFO, o.use_syslog);
    lws_set_log_level(o.verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : LLL_ERR, lws_log_to_wf);
    if (!o.token) {
        o.token = getenv("WEBFUSE_TOKEN");
        if (o.token && !*o.token)
            o.token = NULL;
    }
    if (check_directory(o.path) != 0)
        return EXIT_FAILURE;

    struct wf_localfs *fs = wf_localfs_create(o.path, o.read_only);
    if (!fs) {
        wf_log(WF_LOG_ERROR, "cannot open %s: %s", o.path, strerror(errno));
        return EXIT_FAILURE;
    }
    struct wf_provider_config cfg = {
        .url = o.url, .ca_path = o.ca_path, .token = o.token, .reconnect = o.reconnect, .verbose = o.verbose,
    };
    struct wf_provider *p = wf_provider_create(wf_localfs_ops(), fs, &cfg);
    if (!p) {
        wf_log(WF_LOG_ERROR, "cannot start the provider (check the URL: %s)", o.url);
        wf_localfs_destroy(fs);
        return EXIT_FAILURE;
    }
    struct wf_progress pg;
    wf_progress_init(&pg, o.url, o.progress && !o.use_syslog && isatty(STDERR_FILENO));
    if (pg.live)
        wf_log_set_handler(wf_progress_log, &pg);
    struct prompt_ctx prompt = { o.url, &pg };
    if (!o.token && wf_tty_can_prompt())
        wf_provider_set_credentials_handler(p, ask_token, &prompt);

    g_provider = p;
    install_signals();
    wf_log(WF_LOG_INFO, "providing %s%s to %s", o.path, o.read_only ? " (read-only)" : "", o.url);
    int rc = serve(p, &pg);

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    g_provider = NULL;
    wf_provider_destroy(p);
    wf_localfs_destroy(fs);
    wf_log_set_handler(NULL, NULL);
    if (rc == WF_SUCCESS) {
        wf_log(WF_LOG_INFO, "stopped");
        return EXIT_SUCCESS;
    }
    if (rc == WF_EREFUSED || rc == WF_ETLS)
        wf_log(WF_LOG_INFO, "this cannot change by trying again; --keep-trying retries anyway");
    return EXIT_FAILURE;
}
