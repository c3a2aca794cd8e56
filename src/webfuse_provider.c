/* webfuse_provider: serves a local directory to a webfuse service. */
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "webfuse/localfs.h"
#include "webfuse/log.h"
#include "webfuse/provider.h"

#include "wf_version.h"

static struct wf_provider *g_provider;

static void on_signal(int sig)
{
    (void)sig;
    wf_provider_stop(g_provider);
}

static void lws_log_to_wf(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    wf_log(level == LLL_ERR ? WF_LOG_ERROR : level == LLL_WARN ? WF_LOG_WARN : WF_LOG_DEBUG, "lws: %.*s",
           (int)n, line);
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
            "  -t, --token TOKEN     authentication token (default: $WEBFUSE_TOKEN)\n"
            "  -r, --read-only       provide the directory read-only\n"
            "      --reconnect       reconnect when the connection fails or ends (default)\n"
            "      --no-reconnect    exit instead\n"
            "  -v, --verbose         log every request\n"
            "      --syslog          log to syslog instead of stderr\n"
            "  -h, --help            show this help\n"
            "      --version         show the version\n");
}

int main(int argc, char **argv)
{
    /* Message buffers of up to 1 MiB come and go. Mapped, they go back to the
     * system when freed; glibc's adaptive threshold would keep them on the
     * heap, and resident, after the first one. */
#ifdef M_MMAP_THRESHOLD /* glibc; musl's allocator gives large blocks back anyway */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    enum { OPT_RECONNECT = 256, OPT_NO_RECONNECT, OPT_VERSION, OPT_SYSLOG };
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },
        { "path", required_argument, NULL, 'p' },
        { "ca-path", required_argument, NULL, 'a' },
        { "token", required_argument, NULL, 't' },
        { "read-only", no_argument, NULL, 'r' },
        { "reconnect", no_argument, NULL, OPT_RECONNECT },
        { "no-reconnect", no_argument, NULL, OPT_NO_RECONNECT },
        { "verbose", no_argument, NULL, 'v' },
        { "syslog", no_argument, NULL, OPT_SYSLOG },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *url = NULL, *path = ".", *ca_path = NULL, *token = NULL;
    int read_only = 0, reconnect = 1, verbose = 0, use_syslog = 0;

    int c;
    while ((c = getopt_long(argc, argv, "u:p:a:t:rvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'p': path = optarg; break;
        case 'a': ca_path = optarg; break;
        case 't': token = optarg; break;
        case 'r': read_only = 1; break;
        case 'v': verbose = 1; break;
        case OPT_RECONNECT: reconnect = 1; break;
        case OPT_NO_RECONNECT: reconnect = 0; break;
        case OPT_SYSLOG: use_syslog = 1; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        case OPT_VERSION: printf("webfuse_provider %s\n", WF_VERSION); return EXIT_SUCCESS;
        default: usage(stderr); return EXIT_FAILURE;
        }
    }
    wf_log_setup("webfuse_provider", verbose ? WF_LOG_DEBUG : WF_LOG_INFO, use_syslog);
    lws_set_log_level(verbose ? (LLL_ERR | LLL_WARN) : LLL_ERR, lws_log_to_wf);

    if (optind < argc) {
        wf_log(WF_LOG_ERROR, "unexpected argument: %s", argv[optind]);
        usage(stderr);
        return EXIT_FAILURE;
    }
    if (!url) {
        wf_log(WF_LOG_ERROR, "missing -u URL (e.g. -u ws://localhost:8081/)");
        usage(stderr);
        return EXIT_FAILURE;
    }
    if (!token) {
        token = getenv("WEBFUSE_TOKEN");
        if (token && !*token)
            token = NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        wf_log(WF_LOG_ERROR, "cannot access %s: %s", path, strerror(errno));
        return EXIT_FAILURE;
    }
    if (!S_ISDIR(st.st_mode)) {
        wf_log(WF_LOG_ERROR, "not a directory: %s", path);
        return EXIT_FAILURE;
    }

    struct wf_localfs *fs = wf_localfs_create(path, read_only);
    if (!fs) {
        wf_log(WF_LOG_ERROR, "cannot open %s: %s", path, strerror(errno));
        return EXIT_FAILURE;
    }
    struct wf_provider_config cfg = {
        .url = url, .ca_path = ca_path, .token = token, .reconnect = reconnect, .verbose = verbose,
    };
    struct wf_provider *p = wf_provider_create(wf_localfs_ops(), fs, &cfg);
    if (!p) {
        wf_log(WF_LOG_ERROR, "cannot start the provider (check the URL: %s)", url);
        wf_localfs_destroy(fs);
        return EXIT_FAILURE;
    }

    g_provider = p;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    wf_log(WF_LOG_INFO, "providing %s%s to %s", path, read_only ? " (read-only)" : "", url);
    int rc = wf_provider_run(p);

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    g_provider = NULL;
    wf_provider_destroy(p);
    wf_localfs_destroy(fs);
    if (rc == WF_SUCCESS) {
        wf_log(WF_LOG_INFO, "stopped");
        return EXIT_SUCCESS;
    }
    return EXIT_FAILURE;
}
