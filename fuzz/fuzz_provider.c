/* libFuzzer target: the provider's request handling. Each input is one
 * incoming webfuse2 message for wf_dispatch_message() with the localfs ops on
 * a temporary tree made once: a few files, a subdirectory, and symlinks that
 * point at a sibling "outside" directory (absolute and relative, a file and a
 * directory). Oracle besides the sanitizers: no queued answer may carry the
 * outside file's content or list the outside directory's names.
 *
 * Read-only by default (deterministic); WF_FUZZ_PROVIDER_RW=1 serves the tree
 * read-write (it then changes as inputs run, inside the temporary tree only).
 * The localfs instance is made per input, so no handle outlives an input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider/localfs.h"
#include "proto/wf_msg.h"
#include "provider/provider_int.h"
#include "transport/wf_conn.h"
#include "util/wf_log.h"

#define SECRET "WF-FUZZ-SECRET-5e1f"
#define CANARY_NAME "wf-fuzz-canary-name-90ab"

static char root[4096];
static char outside[4096];
static int read_write;

static void write_file(const char *dir, const char *name, const char *content)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    fputs(content, f);
    fclose(f);
}

static void link_at(const char *target, const char *dir, const char *name)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (symlink(target, p) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char base[] = "/tmp/wf-fuzz-provider-XXXXXX";
    if (!mkdtemp(base))
        abort();
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    char p[8192];
    if (mkdir(root, 0755) || mkdir(outside, 0755))
        abort();
    snprintf(p, sizeof p, "%s/sub", root);
    if (mkdir(p, 0755))
        abort();
    write_file(root, "f", "hello from inside\n");
    write_file(root, "sub/g", "another file\n");
    write_file(outside, "secret", SECRET "\n");
    write_file(outside, CANARY_NAME, "x");
    char abs[8192];
    snprintf(abs, sizeof abs, "%s/secret", outside);
    link_at(abs, root, "abs_file");
    link_at(outside, root, "abs_dir");
    link_at("../outside/secret", root, "rel_file");
    link_at("../outside", root, "rel_dir");
    link_at("f", root, "inlink");
    link_at("loop", root, "loop");
    const char *rw = getenv("WF_FUZZ_PROVIDER_RW");
    read_write = rw && *rw == '1';
    wf_log_setup("fuzz_provider", WF_LOG_ERROR, 0);
    return 0;
}

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wf_localfs *fs = wf_localfs_create(root, !read_write);
    if (!fs)
        abort();
    struct wf_dispatch d = { .ops = wf_localfs_ops(), .ud = fs, .token = "fuzz-token", .verbose = 0 };
    struct wf_conn c;
    wf_conn_init(&c, NULL);
    /* the dispatcher may keep pointers into the input: give it an exact-size copy */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    int rc = wf_dispatch_message(&d, &c, buf, size);
    if (rc != 0 && rc != -1)
        abort();
    unsigned answers = 0;
    for (struct wf_outmsg *m = c.head; m; m = m->next) {
        const uint8_t *out = wf_outmsg_payload(m);
        answers++;
        if (contains(out, m->len, SECRET) || contains(out, m->len, CANARY_NAME))
            abort(); /* content or listing from outside the root */
        if (m->len < 5 || m->len > WF_MAX_MESSAGE_SIZE)
            abort();
        struct wf_msg resp;
        if (wf_decode(out, m->len, &resp) != WF_OK || !(resp.type & WF_RESPONSE))
            abort(); /* the provider must produce well-formed responses */
        if (size >= 4 && memcmp(out, data, 4) != 0)
            abort(); /* answered under a different id */
    }
    if (rc == 0 && answers != 1)
        abort(); /* exactly one answer per accepted request */
    wf_conn_cleanup(&c);
    wf_localfs_destroy(fs);
    free(buf);
    return 0;
}
