/* memfs_provider: serves one in-memory file, /hello.txt, to a webfuse service
 * through libwebfuse. Build: make (uses pkg-config webfuse).
 * Run:   ./memfs_provider ws://DEVICE:8081/   (stop with Ctrl-C) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <webfuse/provider.h>

static const char hello[] = "Hello from a webfuse provider written in C!\n";
static struct wf_provider *provider;

static int is_file(const char *path) { return strcmp(path, "/hello.txt") == 0; }

static int memfs_getattr(void *ud, const char *path, struct stat *st)
{
    memset(st, 0, sizeof *st);
    if (strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else if (is_file(path)) {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)(sizeof hello - 1);
    } else {
        return -ENOENT;
    }
    return 0;
}

static int memfs_readdir(void *ud, const char *path, wf_dir_filler filler, void *dirbuf)
{
    if (strcmp(path, "/") != 0)
        return is_file(path) ? -ENOTDIR : -ENOENT;
    return filler(dirbuf, "hello.txt") == 0 ? 0 : -ENOMEM;
}

static int memfs_open(void *ud, const char *path, int flags, uint64_t *fh)
{
    if (!is_file(path))
        return strcmp(path, "/") == 0 ? -EISDIR : -ENOENT;
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    *fh = 1; /* one file, no per-open state */
    return 0;
}

static int memfs_read(void *ud, const char *path, char *buf, size_t size, off_t offset, uint64_t fh)
{
    size_t len = sizeof hello - 1;
    if (!is_file(path))
        return -ENOENT;
    if (offset < 0 || (size_t)offset >= len)
        return 0;
    if (size > len - (size_t)offset)
        size = len - (size_t)offset;
    memcpy(buf, hello + offset, size);
    return (int)size;
}

static int memfs_release(void *ud, const char *path, uint64_t fh) { return 0; }

static void on_signal(int sig) { wf_provider_stop(provider); }

int main(int argc, char **argv)
{
    static const struct wf_provider_ops ops = {
        .getattr = memfs_getattr, .readdir = memfs_readdir, .open = memfs_open,
        .read = memfs_read, .release = memfs_release,
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/\n", argv[0]);
        return 2;
    }
    struct wf_provider_config config = { .url = argv[1], .reconnect = 1 };
    provider = wf_provider_create(&ops, NULL, &config);
    if (!provider) {
        fprintf(stderr, "%s: invalid URL %s\n", argv[0], argv[1]);
        return 1;
    }
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = wf_provider_run(provider); /* until a signal calls wf_provider_stop() */
    wf_provider_destroy(provider);
    return rc == WF_SUCCESS ? 0 : 1;
}
