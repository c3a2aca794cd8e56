/* wf_hostile_service: a webfuse2 WebSocket *server* that plays a malicious
 * service against webfuse_provider. Once the provider connects it sends a
 * scripted series of requests trying to escape the provided directory (".."
 * and absolute paths, symlinks pointing outside, rename/link out of the tree,
 * creation through such links), unknown types, more opens than the handle
 * table holds, and finally malformed messages (each of which should make the
 * provider drop the connection; it reconnects for the next one). Every
 * response is printed to stdout as one JSON line for the test to judge.
 *
 * The "owner" script is no attack: a service that sends the owner extension
 * (WF_EXT_OWNER) with create/mkdir/mknod/symlink, for the provider's side of it.
 *
 *   wf_hostile_service --port N --outside ABS_DIR [--script escape|readonly|owner]
 *                      [--max-seconds S]
 *
 * Exit status: 0 when the script ran to the end, 2 on overall timeout,
 * 1 on usage errors. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "wf_tool_common.h"

enum expect { EXP_ANY, EXP_OK, EXP_FAIL };
enum hsrc { H_NONE, H_LAST, H_LITERAL };

struct step {
    const char *name;
    uint8_t type;
    const char *path, *path2; /* "@O" at the start stands for the outside directory */
    uint32_t mode;
    int32_t flags;
    uint64_t size, offset;
    uint32_t length;
    enum hsrc hsrc;
    uint64_t handle;
    enum expect expect;
    uint32_t ext, uid, gid; /* owner extension of creation requests */
};

#define S_DIR 0040000u
#define S_REG 0100000u
#define S_FIFO 0010000u

/* Root layout made by the test (tests/integration/test_hostile_service.py):
 *   inside.txt, inlink -> inside.txt, sub/, loop -> loop,
 *   abs_file -> OUTSIDE/secret.txt, rel_file -> ../outside/secret.txt,
 *   abs_dir -> OUTSIDE, rel_dir -> ../outside, sub/deep -> ../../outside
 * OUTSIDE (a sibling "outside") holds secret.txt, canary.txt, subdir/. */
static const struct step escape_steps[] = {
    /* controls: the provider works at all */
    { "ctl_getattr_root", WF_GETATTR, "/", .expect = EXP_OK },
    { "ctl_getattr_inside", WF_GETATTR, "/inside.txt", .expect = EXP_OK },
    { "ctl_readdir_root", WF_READDIR, "/", .expect = EXP_OK },
    { "ctl_readlink_rel_file", WF_READLINK, "/rel_file", .expect = EXP_OK },
    { "ctl_open_inside", WF_OPEN, "/inside.txt", .flags = 0, .expect = EXP_OK },
    { "ctl_read_inside", WF_READ, "/inside.txt", .length = 4096, .hsrc = H_LAST, .expect = EXP_OK },
    /* dot-dot */
    { "dotdot_getattr", WF_GETATTR, "/../outside/secret.txt", .expect = EXP_FAIL },
    { "dotdot_getattr_sub", WF_GETATTR, "/sub/../../outside/secret.txt", .expect = EXP_FAIL },
    { "dotdot_getattr_relative", WF_GETATTR, "../outside/secret.txt", .expect = EXP_FAIL },
    { "dotdot_getattr_parent", WF_GETATTR, "/..", .expect = EXP_ANY },
    { "dotdot_readdir_parent", WF_READDIR, "/..", .expect = EXP_ANY },
    { "dotdot_readdir_outside", WF_READDIR, "/../outside", .expect = EXP_FAIL },
    { "dotdot_open", WF_OPEN, "/../outside/secret.txt", .expect = EXP_FAIL },
    { "dotdot_read_nohandle", WF_READ, "/../outside/secret.txt", .length = 4096, .hsrc = H_NONE, .expect = EXP_FAIL },
    { "dotdot_access", WF_ACCESS, "/../outside/secret.txt", .expect = EXP_FAIL },
    { "dotdot_deep", WF_GETATTR, "/sub/../sub/../../../../../../../../etc/passwd", .expect = EXP_FAIL },
    /* absolute host paths */
    { "abs_getattr", WF_GETATTR, "@O/secret.txt", .expect = EXP_FAIL },
    { "abs_open", WF_OPEN, "@O/secret.txt", .expect = EXP_FAIL },
    { "abs_readdir", WF_READDIR, "@O", .expect = EXP_FAIL },
    { "abs_readlink", WF_READLINK, "@O/secret.txt", .expect = EXP_FAIL },
    { "abs_double_slash", WF_GETATTR, "//@O/secret.txt", .expect = EXP_FAIL },
    /* symlinks pointing outside: the link itself is data, never followed out */
    { "sym_getattr_abs_file", WF_GETATTR, "/abs_file", .expect = EXP_ANY },
    { "sym_getattr_rel_file", WF_GETATTR, "/rel_file", .expect = EXP_ANY },
    { "sym_open_abs_file", WF_OPEN, "/abs_file", .expect = EXP_FAIL },
    { "sym_open_rel_file", WF_OPEN, "/rel_file", .expect = EXP_FAIL },
    { "sym_open_rel_file_nofollow", WF_OPEN, "/rel_file", .flags = 0400000, .expect = EXP_FAIL },
    { "sym_read_rel_file_nohandle", WF_READ, "/rel_file", .length = 4096, .hsrc = H_NONE, .expect = EXP_FAIL },
    { "sym_getattr_abs_dir_child", WF_GETATTR, "/abs_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_getattr_rel_dir_child", WF_GETATTR, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_getattr_deep_child", WF_GETATTR, "/sub/deep/secret.txt", .expect = EXP_FAIL },
    { "sym_open_abs_dir_child", WF_OPEN, "/abs_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_open_rel_dir_child", WF_OPEN, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_open_deep_child", WF_OPEN, "/sub/deep/secret.txt", .expect = EXP_FAIL },
    { "sym_readdir_abs_dir", WF_READDIR, "/abs_dir", .expect = EXP_FAIL },
    { "sym_readdir_rel_dir", WF_READDIR, "/rel_dir", .expect = EXP_FAIL },
    { "sym_readdir_deep", WF_READDIR, "/sub/deep", .expect = EXP_FAIL },
    { "sym_readdir_rel_dir_slash", WF_READDIR, "/rel_dir/", .expect = EXP_FAIL },
    { "sym_readlink_through_dir", WF_READLINK, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_access_through_dir", WF_ACCESS, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "sym_statfs_through_dir", WF_STATFS, "/rel_dir", .expect = EXP_ANY },
    { "sym_open_loop", WF_OPEN, "/loop", .expect = EXP_FAIL },
    { "sym_getattr_loop_child", WF_GETATTR, "/loop/x", .expect = EXP_FAIL },
    { "sym_open_inlink", WF_OPEN, "/inlink", .expect = EXP_ANY },
    /* creation and change through the links */
    { "mut_create_abs_dir", WF_CREATE, "/abs_dir/created.txt", .mode = S_REG | 0644, .expect = EXP_FAIL },
    { "mut_create_rel_dir", WF_CREATE, "/rel_dir/created.txt", .mode = S_REG | 0644, .expect = EXP_FAIL },
    { "mut_create_dotdot", WF_CREATE, "/../outside/created.txt", .mode = S_REG | 0644, .expect = EXP_FAIL },
    { "mut_create_abs", WF_CREATE, "@O/created.txt", .mode = S_REG | 0644, .expect = EXP_ANY },
    { "mut_open_creat_rel_dir", WF_OPEN, "/rel_dir/created2.txt", .flags = 0100 | 1, .expect = EXP_FAIL },
    { "mut_open_trunc_rel_file", WF_OPEN, "/rel_file", .flags = 01000 | 1, .expect = EXP_FAIL },
    { "mut_mkdir_rel_dir", WF_MKDIR, "/rel_dir/newdir", .mode = S_DIR | 0755, .expect = EXP_FAIL },
    { "mut_mkdir_deep", WF_MKDIR, "/sub/deep/newdir", .mode = S_DIR | 0755, .expect = EXP_FAIL },
    { "mut_mknod_rel_dir", WF_MKNOD, "/rel_dir/fifo", .mode = S_FIFO | 0644, .expect = EXP_FAIL },
    { "mut_symlink_in_rel_dir", WF_SYMLINK, "/rel_dir/evil", "/etc/passwd", .expect = EXP_FAIL },
    { "mut_symlink_inside_to_out", WF_SYMLINK, "/evil_link", "../outside/secret.txt", .expect = EXP_ANY },
    { "mut_open_new_evil_link", WF_OPEN, "/evil_link", .expect = EXP_FAIL },
    { "mut_rename_into_rel_dir", WF_RENAME, "/inside.txt", "/rel_dir/moved.txt", .expect = EXP_FAIL },
    { "mut_rename_dotdot", WF_RENAME, "/inside.txt", "/../outside/moved.txt", .expect = EXP_FAIL },
    { "mut_rename_from_outside", WF_RENAME, "/rel_dir/secret.txt", "/stolen.txt", .expect = EXP_FAIL },
    { "mut_rename_exchange_out", WF_RENAME, "/inside.txt", "/abs_dir/canary.txt", .size = 2, .expect = EXP_FAIL },
    { "mut_link_from_outside", WF_LINK, "/rel_dir/secret.txt", "/hardlink.txt", .expect = EXP_FAIL },
    { "mut_link_from_outside_dotdot", WF_LINK, "/../outside/secret.txt", "/hardlink2.txt", .expect = EXP_FAIL },
    { "mut_link_into_outside", WF_LINK, "/inside.txt", "/rel_dir/hl.txt", .expect = EXP_FAIL },
    { "mut_link_symlink_itself", WF_LINK, "/rel_file", "/hl_of_link", .expect = EXP_ANY },
    { "mut_open_hl_of_link", WF_OPEN, "/hl_of_link", .expect = EXP_FAIL },
    { "mut_unlink_outside", WF_UNLINK, "/rel_dir/canary.txt", .expect = EXP_FAIL },
    { "mut_rmdir_outside", WF_RMDIR, "/rel_dir/subdir", .expect = EXP_FAIL },
    { "mut_chmod_rel_file", WF_CHMOD, "/rel_file", .mode = 0777, .expect = EXP_ANY },
    { "mut_chmod_through_dir", WF_CHMOD, "/rel_dir/secret.txt", .mode = 0777, .expect = EXP_FAIL },
    { "mut_chown_through_dir", WF_CHOWN, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "mut_truncate_rel_file", WF_TRUNCATE, "/rel_file", .size = 0, .expect = EXP_FAIL },
    { "mut_truncate_through_dir", WF_TRUNCATE, "/rel_dir/secret.txt", .size = 0, .expect = EXP_FAIL },
    { "mut_utimens_through_dir", WF_UTIMENS, "/rel_dir/secret.txt", .expect = EXP_FAIL },
    { "mut_utimens_rel_file", WF_UTIMENS, "/rel_file", .expect = EXP_ANY },
    /* handles and lengths */
    { "h_open_inside", WF_OPEN, "/inside.txt", .flags = 0, .expect = EXP_OK },
    { "h_read_huge_length", WF_READ, "/inside.txt", .length = 0xffffffffu, .hsrc = H_LAST, .expect = EXP_OK },
    { "h_read_huge_offset", WF_READ, "/inside.txt", .length = 16, .offset = UINT64_MAX - 1, .hsrc = H_LAST, .expect = EXP_FAIL },
    { "h_read_offset_2_63", WF_READ, "/inside.txt", .length = 16, .offset = 1ull << 63, .hsrc = H_LAST, .expect = EXP_FAIL },
    { "h_write_to_ro_handle", WF_WRITE, "/rel_dir/secret.txt", .offset = 0, .hsrc = H_LAST, .expect = EXP_FAIL },
    { "h_truncate_huge", WF_TRUNCATE, "/inside.txt", .size = UINT64_MAX, .expect = EXP_FAIL },
    { "h_release_inside", WF_RELEASE, "/inside.txt", .hsrc = H_LAST, .expect = EXP_OK },
    { "h_read_released", WF_READ, "/inside.txt", .length = 16, .hsrc = H_LITERAL, .handle = 0, .expect = EXP_ANY },
    { "h_read_bogus_handle", WF_READ, "/inside.txt", .length = 16, .hsrc = H_LITERAL, .handle = 0xffffffffull, .expect = EXP_FAIL },
    { "h_read_big_handle", WF_READ, "/inside.txt", .length = 16, .hsrc = H_LITERAL, .handle = 1ull << 40, .expect = EXP_FAIL },
    { "h_release_bogus", WF_RELEASE, "/inside.txt", .hsrc = H_LITERAL, .handle = 123456789, .expect = EXP_FAIL },
    { "h_fsync_bogus", WF_FSYNC, "/inside.txt", .hsrc = H_LITERAL, .handle = 77777, .expect = EXP_ANY },
    { "len_path_4096", WF_GETATTR, "@LONG", .expect = EXP_FAIL },
};

/* Mutations on a read-only provider answer EROFS; reads still work. */
static const struct step readonly_steps[] = {
    { "ctl_getattr_inside", WF_GETATTR, "/inside.txt", .expect = EXP_OK },
    { "ctl_open_rdonly", WF_OPEN, "/inside.txt", .flags = 0, .expect = EXP_OK },
    { "ctl_read", WF_READ, "/inside.txt", .length = 4096, .hsrc = H_LAST, .expect = EXP_OK },
    { "ro_open_wronly", WF_OPEN, "/inside.txt", .flags = 1, .expect = EXP_FAIL },
    { "ro_open_rdwr", WF_OPEN, "/inside.txt", .flags = 2, .expect = EXP_FAIL },
    { "ro_open_creat", WF_OPEN, "/new_by_open.txt", .flags = 0100 | 1, .expect = EXP_FAIL },
    { "ro_open_trunc", WF_OPEN, "/inside.txt", .flags = 01000, .expect = EXP_FAIL },
    { "ro_create", WF_CREATE, "/new.txt", .mode = S_REG | 0644, .expect = EXP_FAIL },
    { "ro_mkdir", WF_MKDIR, "/newdir", .mode = S_DIR | 0755, .expect = EXP_FAIL },
    { "ro_mknod", WF_MKNOD, "/fifo", .mode = S_FIFO | 0644, .expect = EXP_FAIL },
    { "ro_symlink", WF_SYMLINK, "/newlink", "inside.txt", .expect = EXP_FAIL },
    { "ro_link", WF_LINK, "/inside.txt", "/hardlink.txt", .expect = EXP_FAIL },
    { "ro_rename", WF_RENAME, "/inside.txt", "/renamed.txt", .expect = EXP_FAIL },
    { "ro_unlink", WF_UNLINK, "/inside.txt", .expect = EXP_FAIL },
    { "ro_rmdir", WF_RMDIR, "/sub", .expect = EXP_FAIL },
    { "ro_chmod", WF_CHMOD, "/inside.txt", .mode = 0600, .expect = EXP_FAIL },
    { "ro_chown", WF_CHOWN, "/inside.txt", .expect = EXP_FAIL },
    { "ro_truncate", WF_TRUNCATE, "/inside.txt", .size = 0, .expect = EXP_FAIL },
    { "ro_utimens", WF_UTIMENS, "/inside.txt", .expect = EXP_FAIL },
    { "ro_write_handle", WF_WRITE, "/inside.txt", .offset = 0, .hsrc = H_LAST, .expect = EXP_FAIL },
    { "ro_truncate_handle", WF_TRUNCATE, "/inside.txt", .size = 0, .hsrc = H_LAST, .expect = EXP_FAIL },
    { "ro_utimens_handle", WF_UTIMENS, "/inside.txt", .hsrc = H_LAST, .expect = EXP_FAIL },
    { "ro_release", WF_RELEASE, "/inside.txt", .hsrc = H_LAST, .expect = EXP_OK },
};

/* The owner extension (uid 1234, gid 5678) on every creation request, and one
 * create without it; the test checks the entries in the provided directory. */
#define OWNER .ext = WF_EXT_OWNER, .uid = 1234, .gid = 5678
static const struct step owner_steps[] = {
    { "own_create", WF_CREATE, "/owned.txt", .mode = S_REG | 04755, .expect = EXP_OK, OWNER },
    { "own_release", WF_RELEASE, "/owned.txt", .hsrc = H_LAST, .expect = EXP_OK },
    { "own_mkdir", WF_MKDIR, "/owned_dir", .mode = S_DIR | 0750, .expect = EXP_OK, OWNER },
    { "own_mknod", WF_MKNOD, "/owned_fifo", .mode = S_FIFO | 0640, .expect = EXP_OK, OWNER },
    { "own_symlink", WF_SYMLINK, "/owned_link", "inside.txt", .expect = EXP_OK, OWNER },
    { "plain_create", WF_CREATE, "/plain.txt", .mode = S_REG | 06777, .expect = EXP_OK },
    { "plain_release", WF_RELEASE, "/plain.txt", .hsrc = H_LAST, .expect = EXP_OK },
};

enum phase { PH_WAIT_CONNECT, PH_SCRIPT, PH_UNKNOWN, PH_HANDLES, PH_MALFORMED, PH_FINAL, PH_DONE };

#define HANDLE_OPENS 1100u
#define STEP_TIMEOUT_MS 5000
#define CLOSE_TIMEOUT_MS 5000
#define RECONNECT_TIMEOUT_MS 10000

static struct {
    const char *outside;
    const struct step *steps;
    size_t nsteps;
    bool readonly;
    enum phase phase;
    size_t idx; /* step / case index within the phase */
    struct lws *wsi;
    struct wf_conn conn; /* reassembly only */
    struct tq q;
    uint32_t next_id;
    uint32_t waiting_id; /* 0: nothing outstanding (single-request phases) */
    int64_t deadline;
    uint64_t last_handle;
    bool have_handle;
    /* handle phase */
    uint32_t h_first_id;
    unsigned h_answered, h_ok, h_released, h_rel_answered, h_stage;
    unsigned h_err[256];
    uint64_t *h_handles;
    /* malformed phase */
    bool m_sent, m_closed, m_answered;
    int connections;
    int exit_code;
    bool finished;
} g;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void expand_path(const char *in, char *out, size_t cap)
{
    if (strcmp(in, "@LONG") == 0) { /* exactly WF_MAX_PATH bytes of "../../" */
        size_t n = WF_MAX_PATH < cap - 1 ? WF_MAX_PATH : cap - 1;
        out[0] = '/';
        for (size_t i = 1; i < n; i++)
            out[i] = "../"[(i - 1) % 3];
        out[n] = 0;
        return;
    }
    const char *at = strstr(in, "@O");
    if (at) {
        snprintf(out, cap, "%.*s%s%s", (int)(at - in), in, g.outside, at + 2);
        return;
    }
    snprintf(out, cap, "%s", in);
}

static const char *expect_name(enum expect e)
{
    return e == EXP_OK ? "ok" : e == EXP_FAIL ? "fail" : "any";
}

static uint32_t new_id(void)
{
    if (++g.next_id == 0)
        g.next_id = 1;
    return g.next_id;
}

static void send_step(const struct step *st)
{
    static char p1[WF_MAX_PATH + 64], p2[WF_MAX_PATH + 64];
    static const char payload[] = "hostile write";
    struct wf_msg m;
    memset(&m, 0, sizeof m);
    expand_path(st->path, p1, sizeof p1);
    m.id = new_id();
    m.type = st->type;
    m.path = wf_str_of(p1);
    if (st->path2) {
        expand_path(st->path2, p2, sizeof p2);
        m.path2 = wf_str_of(p2);
    }
    m.mode = st->mode;
    m.flags = st->flags;
    m.size = st->size;
    m.rename_flags = (uint8_t)st->size; /* rename: flags ride in .size of the table */
    if (st->type == WF_RENAME)
        m.size = 0;
    m.length = st->length;
    m.offset = st->offset;
    m.access = 4; /* R_OK */
    m.uid = st->uid;
    m.gid = st->gid;
    m.ext = st->ext;
    m.atime.sec = 1;
    m.mtime.sec = 1;
    if (st->type == WF_WRITE)
        m.data = wf_str_of(payload);
    switch (st->hsrc) {
    case H_NONE: m.handle = WF_NO_HANDLE; break;
    case H_LAST: m.handle = g.have_handle ? g.last_handle : WF_NO_HANDLE; break;
    case H_LITERAL: m.handle = st->handle; break;
    }
    g.waiting_id = m.id;
    g.deadline = now_ms() + STEP_TIMEOUT_MS;
    if (tq_send_msg(&g.q, g.wsi, &m) != 0) {
        printf("{\"phase\":\"script\",\"step\":\"%s\",\"error\":\"cannot encode\"}\n", st->name);
        g.waiting_id = 0;
    }
}

static void print_step_result(const struct step *st, const struct wf_msg *r)
{
    printf("{\"phase\":\"script\",\"step\":\"%s\",\"op\":\"%s\",\"expect\":\"%s\",\"resp_type\":%u,"
           "\"result\":%d",
           st->name, wf_type_name(st->type), expect_name(st->expect), r->type, (int)r->result);
    if (r->type == (st->type | WF_RESPONSE) && r->result >= 0) {
        switch (st->type) {
        case WF_GETATTR:
            printf(",\"ino\":%llu,\"mode\":%u,\"size\":%llu,\"nlink\":%llu",
                   (unsigned long long)r->attr.ino, r->attr.mode, (unsigned long long)r->attr.size,
                   (unsigned long long)r->attr.nlink);
            break;
        case WF_READLINK:
            printf(",\"target\":");
            json_str(stdout, r->path2.data, r->path2.len);
            break;
        case WF_OPEN:
        case WF_CREATE:
            printf(",\"handle\":%llu", (unsigned long long)r->handle);
            break;
        case WF_READ: {
            size_t n = r->data.len > 4096 ? 4096 : r->data.len;
            printf(",\"data_len\":%u,\"data_hex\":", r->data.len);
            json_hex(stdout, r->data.data, n);
            break;
        }
        case WF_READDIR: {
            printf(",\"names\":[");
            size_t pos = 0;
            struct wf_str it;
            int first = 1;
            while (wf_strings_next(&r->names, &pos, &it)) {
                if (!first)
                    putchar(',');
                first = 0;
                json_str(stdout, it.data, it.len);
            }
            putchar(']');
            break;
        }
        default:
            break;
        }
    }
    printf("}\n");
    fflush(stdout);
}

/* ---- unknown types ---------------------------------------------------- */

static const uint8_t unknown_types[] = { 0x18, 0x55, 0x7f, 0x00, 0x82, 0xff };
#define N_UNKNOWN (sizeof unknown_types / sizeof unknown_types[0])

static void send_unknown(size_t i)
{
    uint8_t buf[32];
    uint32_t id = new_id();
    buf[0] = (uint8_t)(id >> 24), buf[1] = (uint8_t)(id >> 16), buf[2] = (uint8_t)(id >> 8), buf[3] = (uint8_t)id;
    buf[4] = unknown_types[i];
    /* a body shaped like a getattr of "/" plus trailing junk */
    const uint8_t body[] = { 0, 0, 0, 1, '/', 0xde, 0xad, 0xbe, 0xef };
    memcpy(buf + 5, body, sizeof body);
    g.waiting_id = id;
    g.deadline = now_ms() + STEP_TIMEOUT_MS;
    tq_push(&g.q, g.wsi, buf, 5 + sizeof body, LWS_WRITE_BINARY);
}

/* ---- handle limit ----------------------------------------------------- */

static void send_open_inside(uint32_t id)
{
    struct wf_msg m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.type = WF_OPEN;
    m.path = wf_str_of("/inside.txt");
    tq_send_msg(&g.q, g.wsi, &m);
}

static void start_handles(void)
{
    g.h_handles = calloc(HANDLE_OPENS, sizeof *g.h_handles);
    g.h_first_id = g.next_id + 1;
    g.h_answered = g.h_ok = g.h_released = g.h_rel_answered = 0;
    g.h_stage = 0;
    memset(g.h_err, 0, sizeof g.h_err);
    for (unsigned i = 0; i < HANDLE_OPENS; i++)
        send_open_inside(new_id());
    g.deadline = now_ms() + 4 * STEP_TIMEOUT_MS;
}

static void handles_report(const char *stage)
{
    printf("{\"phase\":\"handles\",\"step\":\"%s\",\"opens\":%u,\"answered\":%u,\"ok\":%u,\"errors\":{",
           stage, HANDLE_OPENS, g.h_answered, g.h_ok);
    int first = 1;
    for (int e = 0; e < 256; e++) {
        if (g.h_err[e]) {
            printf("%s\"%d\":%u", first ? "" : ",", -e, g.h_err[e]);
            first = 0;
        }
    }
    printf("},\"released\":%u,\"release_answered\":%u}\n", g.h_released, g.h_rel_answered);
    fflush(stdout);
}

static void handles_on_response(const struct wf_msg *r)
{
    if (g.h_stage == 0 && r->type == (WF_OPEN | WF_RESPONSE) && r->id >= g.h_first_id &&
        r->id < g.h_first_id + HANDLE_OPENS) {
        g.h_answered++;
        if (r->result >= 0)
            g.h_handles[g.h_ok++] = r->handle;
        else
            g.h_err[(-r->result) & 0xff]++;
        if (g.h_answered == HANDLE_OPENS) {
            /* release them all */
            g.h_stage = 1;
            for (unsigned i = 0; i < g.h_ok; i++) {
                struct wf_msg m;
                memset(&m, 0, sizeof m);
                m.id = new_id();
                m.type = WF_RELEASE;
                m.path = wf_str_of("/inside.txt");
                m.handle = g.h_handles[i];
                tq_send_msg(&g.q, g.wsi, &m);
                g.h_released++;
            }
            g.deadline = now_ms() + 4 * STEP_TIMEOUT_MS;
            if (g.h_released == 0)
                g.h_stage = 2;
        }
    } else if (g.h_stage == 1 && r->type == (WF_RELEASE | WF_RESPONSE)) {
        g.h_rel_answered++;
        if (g.h_rel_answered == g.h_released)
            g.h_stage = 2;
    }
    if (g.h_stage == 2) {
        handles_report("open_release");
        free(g.h_handles);
        g.h_handles = NULL;
        g.h_stage = 3; /* one more open must work again */
        g.waiting_id = new_id();
        send_open_inside(g.waiting_id);
        g.deadline = now_ms() + STEP_TIMEOUT_MS;
    } else if (g.h_stage == 3 && r->id == g.waiting_id) {
        printf("{\"phase\":\"handles\",\"step\":\"reopen_after_release\",\"expect\":\"ok\",\"result\":%d}\n",
               (int)r->result);
        fflush(stdout);
        g.waiting_id = 0;
        g.phase = PH_MALFORMED;
        g.idx = 0;
        g.m_sent = false;
    }
}

/* ---- malformed messages: each should make the provider hang up -------- */

static const char *const malformed_names[] = {
    "truncated_string", "huge_string_length", "path_over_limit", "text_frame",
    "oversize_fragmented_message", "header_only_4_bytes",
};
#define N_MALFORMED (sizeof malformed_names / sizeof malformed_names[0])

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void send_malformed(size_t i)
{
    uint8_t hdr[16];
    uint32_t id = new_id();
    put32(hdr, id);
    hdr[4] = WF_GETATTR;
    switch (i) {
    case 0: /* length 10, 3 bytes follow */
        put32(hdr + 5, 10);
        memcpy(hdr + 9, "/ab", 3);
        tq_push(&g.q, g.wsi, hdr, 12, LWS_WRITE_BINARY);
        break;
    case 1: /* a string claiming almost 4 GiB */
        put32(hdr + 5, 0xfffffff0u);
        memcpy(hdr + 9, "/x", 2);
        tq_push(&g.q, g.wsi, hdr, 11, LWS_WRITE_BINARY);
        break;
    case 2: { /* a path longer than WF_MAX_PATH */
        size_t n = WF_MAX_PATH + 100;
        uint8_t *b = malloc(9 + n);
        memcpy(b, hdr, 5);
        put32(b + 5, (uint32_t)n);
        b[9] = '/';
        memset(b + 10, 'a', n - 1);
        tq_push(&g.q, g.wsi, b, 9 + n, LWS_WRITE_BINARY);
        free(b);
        break;
    }
    case 3:
        tq_push(&g.q, g.wsi, "{\"id\":1,\"type\":2}", 17, LWS_WRITE_TEXT);
        break;
    case 4: { /* 17 MiB in 64 KiB fragments: over WF_MAX_MESSAGE_SIZE */
        size_t chunk = 64 * 1024, total = 17u * 1024u * 1024u;
        uint8_t *b = calloc(1, chunk);
        memcpy(b, hdr, 5);
        for (size_t off = 0; off < total; off += chunk) {
            int wp = off == 0 ? LWS_WRITE_BINARY : LWS_WRITE_CONTINUATION;
            if (off + chunk < total)
                wp |= LWS_WRITE_NO_FIN;
            tq_push(&g.q, g.wsi, b, chunk, (enum lws_write_protocol)wp);
        }
        free(b);
        break;
    }
    case 5:
        tq_push(&g.q, g.wsi, hdr, 4, LWS_WRITE_BINARY);
        break;
    }
    g.m_sent = true;
    g.m_closed = false;
    g.m_answered = false;
    g.deadline = now_ms() + CLOSE_TIMEOUT_MS;
}

/* ---- driving ---------------------------------------------------------- */

static void send_final(void)
{
    struct step st = { "final_getattr_inside", WF_GETATTR, "/inside.txt", .expect = EXP_OK };
    send_step(&st);
}

static void advance(void)
{
    /* start the next single request of the current phase, if nothing is pending */
    if (!g.wsi || g.waiting_id)
        return;
    switch (g.phase) {
    case PH_SCRIPT:
        if (g.idx < g.nsteps) {
            send_step(&g.steps[g.idx]);
            return;
        }
        if (g.readonly) {
            g.phase = PH_FINAL;
            send_final();
            return;
        }
        g.phase = PH_UNKNOWN;
        g.idx = 0;
        /* fall through */
    case PH_UNKNOWN:
        if (g.idx < N_UNKNOWN) {
            send_unknown(g.idx);
            return;
        }
        g.phase = PH_HANDLES;
        start_handles();
        return;
    case PH_MALFORMED:
        if (g.idx < N_MALFORMED) {
            if (!g.m_sent)
                send_malformed(g.idx);
            return;
        }
        g.phase = PH_FINAL;
        send_final();
        return;
    default:
        return;
    }
}

static void on_response(const uint8_t *buf, size_t len)
{
    struct wf_msg r;
    int rc = wf_decode(buf, len, &r);
    if (rc != WF_OK && rc != WF_ERR_UNKNOWN_TYPE) {
        printf("{\"phase\":\"any\",\"error\":\"undecodable response\",\"code\":%d,\"len\":%zu}\n", rc, len);
        fflush(stdout);
        return;
    }
    switch (g.phase) {
    case PH_SCRIPT:
        if (r.id == g.waiting_id) {
            const struct step *st = &g.steps[g.idx];
            print_step_result(st, &r);
            if ((st->type == WF_OPEN || st->type == WF_CREATE) && r.type == (st->type | WF_RESPONSE) &&
                r.result >= 0) {
                g.last_handle = r.handle;
                g.have_handle = true;
            }
            g.waiting_id = 0;
            g.idx++;
        }
        break;
    case PH_UNKNOWN:
        if (r.id == g.waiting_id) {
            printf("{\"phase\":\"unknown\",\"step\":\"unknown_0x%02x\",\"sent_type\":%u,\"resp_type\":%u,"
                   "\"len\":%zu}\n",
                   unknown_types[g.idx], unknown_types[g.idx], r.type, len);
            fflush(stdout);
            g.waiting_id = 0;
            g.idx++;
        }
        break;
    case PH_HANDLES:
        handles_on_response(&r);
        break;
    case PH_MALFORMED:
        g.m_answered = true;
        break;
    case PH_FINAL:
        if (r.id == g.waiting_id) {
            struct step st = { "final_getattr_inside", WF_GETATTR, "/inside.txt", .expect = EXP_OK };
            print_step_result(&st, &r);
            g.waiting_id = 0;
            g.phase = PH_DONE;
            g.finished = true;
        }
        break;
    default:
        break;
    }
    advance();
}

static void on_closed(void)
{
    g.wsi = NULL;
    tq_clear(&g.q);
    wf_conn_cleanup(&g.conn);
    if (g.phase == PH_MALFORMED && g.m_sent) {
        printf("{\"phase\":\"malformed\",\"step\":\"%s\",\"closed\":true,\"answered\":%s}\n",
               malformed_names[g.idx], g.m_answered ? "true" : "false");
        fflush(stdout);
        g.idx++;
        g.m_sent = false;
        g.deadline = now_ms() + RECONNECT_TIMEOUT_MS;
        return;
    }
    if (g.phase != PH_DONE) {
        printf("{\"phase\":\"any\",\"event\":\"provider disconnected unexpectedly\",\"during\":%d,\"index\":%zu}\n",
               (int)g.phase, g.idx);
        fflush(stdout);
        /* whatever was pending is lost; carry on with the next item after a reconnect */
        if (g.waiting_id) {
            g.waiting_id = 0;
            g.idx++;
        }
        g.deadline = now_ms() + RECONNECT_TIMEOUT_MS;
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (g.wsi) /* one provider at a time */
            return -1;
        g.wsi = wsi;
        g.connections++;
        wf_conn_init(&g.conn, wsi);
        printf("{\"event\":\"connected\",\"connection\":%d}\n", g.connections);
        fflush(stdout);
        if (g.phase == PH_WAIT_CONNECT)
            g.phase = PH_SCRIPT;
        advance();
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        if (wsi != g.wsi)
            return -1;
        int rc = wf_conn_on_receive(&g.conn, in, len);
        if (rc < 0) {
            printf("{\"phase\":\"any\",\"error\":\"provider sent a non-binary or oversize message\"}\n");
            fflush(stdout);
            return -1;
        }
        if (rc == 1) {
            on_response(g.conn.rx, g.conn.rx_len);
            if (g.wsi)
                wf_conn_rx_done(&g.conn);
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (wsi != g.wsi)
            return 0;
        if (tq_write_one(&g.q, wsi) != 0)
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (wsi == g.wsi)
            on_closed();
        return 0;
    default:
        return 0;
    }
}

static lws_sorted_usec_list_t tick_sul;
static struct lws_context *ctx;

static void tick(lws_sorted_usec_list_t *sul)
{
    int64_t now = now_ms();
    if (g.phase == PH_MALFORMED && g.m_sent && g.wsi && now > g.deadline) {
        printf("{\"phase\":\"malformed\",\"step\":\"%s\",\"closed\":false,\"answered\":%s}\n",
               malformed_names[g.idx], g.m_answered ? "true" : "false");
        fflush(stdout);
        /* drop it ourselves and go on with a fresh connection */
        g.idx++;
        g.m_sent = false;
        lws_set_timeout(g.wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
    } else if (g.wsi && g.waiting_id && now > g.deadline) {
        printf("{\"phase\":\"any\",\"error\":\"no response\",\"during\":%d,\"index\":%zu}\n", (int)g.phase, g.idx);
        fflush(stdout);
        g.waiting_id = 0;
        if (g.phase == PH_FINAL) {
            g.finished = true;
            g.exit_code = 3;
        } else {
            g.idx++;
            advance();
        }
    } else if (g.phase == PH_HANDLES && g.wsi && now > g.deadline) {
        handles_report("timeout");
        g.phase = PH_MALFORMED;
        g.idx = 0;
        g.m_sent = false;
        advance();
    } else if (!g.wsi && g.phase != PH_WAIT_CONNECT && g.phase != PH_DONE && now > g.deadline) {
        printf("{\"phase\":\"any\",\"error\":\"provider did not reconnect\"}\n");
        fflush(stdout);
        g.finished = true;
        g.exit_code = 4;
    }
    lws_sul_schedule(ctx, 0, sul, tick, 50 * LWS_US_PER_MS);
}

int main(int argc, char **argv)
{
    int port = 0, max_seconds = 120;
    const char *script = "escape";
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "outside", required_argument, NULL, 'o' },
        { "script", required_argument, NULL, 's' },
        { "max-seconds", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "p:o:s:m:", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'o': g.outside = optarg; break;
        case 's': script = optarg; break;
        case 'm': max_seconds = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s --port N --outside DIR [--script escape|readonly|owner] [--max-seconds S]\n",
                    argv[0]);
            return 1;
        }
    }
    if (port <= 0 || !g.outside) {
        fprintf(stderr, "--port and --outside are required\n");
        return 1;
    }
    if (strcmp(script, "readonly") == 0) {
        g.steps = readonly_steps;
        g.nsteps = sizeof readonly_steps / sizeof readonly_steps[0];
        g.readonly = true;
    } else if (strcmp(script, "owner") == 0) {
        g.steps = owner_steps;
        g.nsteps = sizeof owner_steps / sizeof owner_steps[0];
        g.readonly = true; /* the script only, like readonly */
    } else {
        g.steps = escape_steps;
        g.nsteps = sizeof escape_steps / sizeof escape_steps[0];
    }
    ctx = tool_context(callback, port, "127.0.0.1", on_signal);
    if (!ctx) {
        fprintf(stderr, "cannot create the lws context on port %d\n", port);
        return 1;
    }
    printf("{\"event\":\"listening\",\"port\":%d,\"steps\":%zu}\n", port, g.nsteps);
    fflush(stdout);
    lws_sul_schedule(ctx, 0, &tick_sul, tick, 50 * LWS_US_PER_MS);
    int64_t end = now_ms() + (int64_t)max_seconds * 1000;
    while (!interrupted && !g.finished) {
        if (lws_service(ctx, 100) < 0)
            break;
        if (now_ms() > end) {
            printf("{\"phase\":\"any\",\"error\":\"overall timeout\",\"during\":%d,\"index\":%zu}\n", (int)g.phase,
                   g.idx);
            g.exit_code = 2;
            break;
        }
    }
    if (g.finished && !g.exit_code)
        printf("{\"event\":\"done\"}\n");
    fflush(stdout);
    lws_sul_cancel(&tick_sul);
    tq_clear(&g.q);
    wf_conn_cleanup(&g.conn);
    free(g.h_handles);
    lws_context_destroy(ctx);
    return interrupted ? 5 : g.exit_code;
}
