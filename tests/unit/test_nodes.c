/* The service's inode <-> path table (lib/service/nodes.c): lookup counting,
 * rename, unlink while open, forget, path building at the length limit and
 * growth past the initial bucket count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "service/nodes.h"

static struct wf_nodes t;

static int setup(void **state)
{
    return wf_nodes_init(&t);
}

static int teardown(void **state)
{
    wf_nodes_cleanup(&t);
    return 0;
}

/* path of ino (or of its child name) as a C string, "" on error */
static const char *path_of(uint64_t ino, const char *name, int last_known)
{
    static char buf[256];
    if (wf_nodes_path(&t, ino, name, buf, sizeof buf, last_known) < 0)
        buf[0] = '\0';
    return buf;
}

static uint64_t lookup(uint64_t parent, const char *name)
{
    struct wf_node *n = wf_nodes_lookup(&t, parent, name);
    assert_non_null(n);
    return n->ino;
}

static void test_lookup_creates_then_counts(void **state)
{
    assert_null(wf_nodes_find(&t, WF_ROOT_INO, "a"));
    uint64_t a = lookup(WF_ROOT_INO, "a");
    assert_true(a != WF_ROOT_INO);
    assert_int_equal(lookup(WF_ROOT_INO, "a"), a); /* same node, one more lookup */
    struct wf_node *n = wf_nodes_get(&t, a);
    assert_non_null(n);
    assert_int_equal(n->nlookup, 2);
    assert_ptr_equal(wf_nodes_find(&t, WF_ROOT_INO, "a"), n);
    assert_int_equal(n->nlookup, 2); /* find adds nothing */

    uint64_t b = lookup(a, "b");
    assert_true(b != a);
    assert_int_equal(wf_nodes_get(&t, a)->refs, 1);
    assert_string_equal(path_of(b, NULL, 0), "/a/b");
    assert_string_equal(path_of(a, "c", 0), "/a/c"); /* child path without a node */
    assert_string_equal(path_of(WF_ROOT_INO, NULL, 0), "/");
    assert_string_equal(path_of(WF_ROOT_INO, "x", 0), "/x");
    assert_null(wf_nodes_find(&t, WF_ROOT_INO, "b")); /* names are per parent */
    assert_null(wf_nodes_lookup(&t, 999, "x"));      /* unknown parent */
    assert_int_equal(wf_nodes_path(&t, 999, NULL, (char[8]){ 0 }, 8, 0), -ENOENT);
}

static void test_rename_plain(void **state)
{
    uint64_t d1 = lookup(WF_ROOT_INO, "d1"), d2 = lookup(WF_ROOT_INO, "d2");
    uint64_t f = lookup(d1, "f");
    uint64_t child = lookup(f, "inner"); /* paths below follow the rename */
    wf_nodes_rename(&t, d1, "f", d2, "g", 0);
    assert_null(wf_nodes_find(&t, d1, "f"));
    assert_int_equal(wf_nodes_find(&t, d2, "g")->ino, f);
    assert_string_equal(path_of(f, NULL, 0), "/d2/g");
    assert_string_equal(path_of(child, NULL, 0), "/d2/g/inner");
    assert_int_equal(wf_nodes_get(&t, d1)->refs, 0);
    assert_int_equal(wf_nodes_get(&t, d2)->refs, 1);

    /* renaming a name the table never saw is a no-op */
    wf_nodes_rename(&t, d1, "nothing", d2, "else", 0);
    assert_null(wf_nodes_find(&t, d2, "else"));
}

static void test_rename_exchange(void **state)
{
    uint64_t a = lookup(WF_ROOT_INO, "a"), d = lookup(WF_ROOT_INO, "d");
    uint64_t b = lookup(d, "b");
    wf_nodes_rename(&t, WF_ROOT_INO, "a", d, "b", 1);
    assert_string_equal(path_of(a, NULL, 0), "/d/b");
    assert_string_equal(path_of(b, NULL, 0), "/a");
    assert_int_equal(wf_nodes_find(&t, WF_ROOT_INO, "a")->ino, b);
    assert_int_equal(wf_nodes_find(&t, d, "b")->ino, a);
    assert_false(wf_nodes_get(&t, a)->unlinked);
    assert_false(wf_nodes_get(&t, b)->unlinked);
}

static void test_rename_over_existing(void **state)
{
    uint64_t src = lookup(WF_ROOT_INO, "src"), dst = lookup(WF_ROOT_INO, "dst");
    wf_nodes_rename(&t, WF_ROOT_INO, "src", WF_ROOT_INO, "dst", 0);
    assert_int_equal(wf_nodes_find(&t, WF_ROOT_INO, "dst")->ino, src);
    assert_null(wf_nodes_find(&t, WF_ROOT_INO, "src"));
    /* the replaced node stays (the kernel may hold it open) but has no name */
    struct wf_node *old = wf_nodes_get(&t, dst);
    assert_non_null(old);
    assert_true(old->unlinked);
    assert_int_equal(wf_nodes_path(&t, dst, NULL, (char[64]){ 0 }, 64, 0), -ENOENT);
    assert_string_equal(path_of(dst, NULL, 1), "/dst"); /* last known path */
    /* a new lookup of the name finds the renamed node, not the old one */
    assert_int_equal(lookup(WF_ROOT_INO, "dst"), src);
    wf_nodes_forget(&t, dst, 1);
    assert_null(wf_nodes_get(&t, dst));
}

static void test_unlink_while_open(void **state)
{
    uint64_t d = lookup(WF_ROOT_INO, "d");
    uint64_t f = lookup(d, "f");
    wf_nodes_remove_name(&t, d, "f");
    assert_null(wf_nodes_find(&t, d, "f"));
    struct wf_node *n = wf_nodes_get(&t, f);
    assert_non_null(n); /* still held by the kernel's lookup */
    assert_true(n->unlinked);
    char buf[64];
    assert_int_equal(wf_nodes_path(&t, f, NULL, buf, sizeof buf, 0), -ENOENT);
    assert_int_equal(wf_nodes_path(&t, f, NULL, buf, sizeof buf, 1), 4);
    assert_string_equal(buf, "/d/f");
    /* no child paths below an unlinked node, even with last_known */
    assert_int_equal(wf_nodes_path(&t, f, "x", buf, sizeof buf, 1), -ENOENT);
    assert_null(wf_nodes_lookup(&t, f, "x"));
    /* the name is free again: a new file gets a new node */
    uint64_t f2 = lookup(d, "f");
    assert_true(f2 != f);
    assert_string_equal(path_of(f2, NULL, 0), "/d/f");
    /* an unlinked parent makes descendants unreachable by path */
    uint64_t e = lookup(d, "e"), g = lookup(e, "g");
    wf_nodes_remove_name(&t, d, "e");
    assert_int_equal(wf_nodes_path(&t, g, NULL, buf, sizeof buf, 0), -ENOENT);
    assert_string_equal(path_of(g, NULL, 1), "/d/e/g");
}

static void test_forget_frees_node_and_parents(void **state)
{
    uint64_t a = lookup(WF_ROOT_INO, "a");
    uint64_t b = lookup(a, "b");
    uint64_t c = lookup(b, "c");
    lookup(b, "c"); /* c: nlookup 2 */
    size_t before = t.count;
    assert_int_equal(before, 3);

    /* the kernel forgets a and b, but c still points at b */
    wf_nodes_forget(&t, a, 1);
    wf_nodes_forget(&t, b, 1);
    assert_non_null(wf_nodes_get(&t, a));
    assert_non_null(wf_nodes_get(&t, b));
    assert_string_equal(path_of(c, NULL, 0), "/a/b/c");

    wf_nodes_forget(&t, c, 1); /* one lookup left */
    assert_non_null(wf_nodes_get(&t, c));
    wf_nodes_forget(&t, c, 5); /* more than held: clamps to zero */
    assert_null(wf_nodes_get(&t, c));
    assert_null(wf_nodes_get(&t, b)); /* nothing holds them any more */
    assert_null(wf_nodes_get(&t, a));
    assert_null(wf_nodes_find(&t, WF_ROOT_INO, "a"));
    assert_int_equal(t.count, 0);
    assert_int_equal(t.root.refs, 0);

    /* forgetting the root or an unknown inode is ignored */
    wf_nodes_forget(&t, WF_ROOT_INO, 1);
    wf_nodes_forget(&t, 12345, 1);
    assert_non_null(wf_nodes_get(&t, WF_ROOT_INO));

    /* a forgotten unlinked node goes too, and so does its old parent */
    uint64_t d = lookup(WF_ROOT_INO, "d");
    uint64_t f = lookup(d, "f");
    wf_nodes_forget(&t, d, 1);
    wf_nodes_remove_name(&t, d, "f");
    wf_nodes_forget(&t, f, 1);
    assert_null(wf_nodes_get(&t, f));
    assert_null(wf_nodes_get(&t, d));
    assert_int_equal(t.count, 0);
}

static void test_rename_releases_old_parent(void **state)
{
    uint64_t d = lookup(WF_ROOT_INO, "d");
    uint64_t f = lookup(d, "f");
    wf_nodes_forget(&t, d, 1); /* d is held only by f */
    wf_nodes_rename(&t, d, "f", WF_ROOT_INO, "f", 0);
    assert_null(wf_nodes_get(&t, d));
    assert_string_equal(path_of(f, NULL, 0), "/f");
    assert_int_equal(t.count, 1);
}

/* A path of exactly cap - 1 bytes fits; one more byte is -ENAMETOOLONG. */
static void test_path_length_limit(void **state)
{
    char name[200], buf[512];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    uint64_t d = lookup(WF_ROOT_INO, name); /* "/nnn...": 200 bytes */
    size_t dlen = 1 + strlen(name);

    /* node path: needs dlen + 1 bytes */
    assert_int_equal(wf_nodes_path(&t, d, NULL, buf, dlen + 1, 0), (int)dlen);
    assert_int_equal(strlen(buf), dlen);
    assert_int_equal(wf_nodes_path(&t, d, NULL, buf, dlen, 0), -ENAMETOOLONG);

    /* child name appended: "/nnn.../xyz" */
    size_t clen = dlen + 4;
    assert_int_equal(wf_nodes_path(&t, d, "xyz", buf, clen + 1, 0), (int)clen);
    assert_memory_equal(buf + dlen, "/xyz", 5);
    assert_int_equal(wf_nodes_path(&t, d, "xyz", buf, clen, 0), -ENAMETOOLONG);

    /* deeper: the limit applies to the whole walk, not per part */
    uint64_t e = lookup(d, "e");
    assert_int_equal(wf_nodes_path(&t, e, NULL, buf, dlen + 3, 0), (int)dlen + 2);
    assert_int_equal(wf_nodes_path(&t, e, NULL, buf, dlen + 2, 0), -ENAMETOOLONG);

    /* the root: "/" needs 2 bytes */
    assert_int_equal(wf_nodes_path(&t, WF_ROOT_INO, NULL, buf, 2, 0), 1);
    assert_string_equal(buf, "/");
    assert_int_equal(wf_nodes_path(&t, WF_ROOT_INO, NULL, buf, 1, 0), -ENAMETOOLONG);
    assert_int_equal(wf_nodes_path(&t, WF_ROOT_INO, NULL, buf, 0, 0), -ENAMETOOLONG);
    assert_int_equal(wf_nodes_path(&t, WF_ROOT_INO, "a", buf, 3, 0), 2);
    assert_int_equal(wf_nodes_path(&t, WF_ROOT_INO, "a", buf, 2, 0), -ENAMETOOLONG);
}

/* Well past the initial bucket count: every node still found by name and by
 * inode, including after renames and forgets across the growth. */
static void test_growth(void **state)
{
    enum { N = 2000 };
    size_t initial = t.buckets;
    uint64_t ino[N];
    char name[32];
    uint64_t d = lookup(WF_ROOT_INO, "dir");
    wf_nodes_remove_name(&t, WF_ROOT_INO, "dir"); /* an unlinked node through growth */
    uint64_t live = lookup(WF_ROOT_INO, "live");
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%d", i);
        ino[i] = lookup(live, name);
    }
    assert_true(t.buckets > initial);
    assert_true(t.buckets >= t.count);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%d", i);
        struct wf_node *n = wf_nodes_find(&t, live, name);
        assert_non_null(n);
        assert_int_equal(n->ino, ino[i]);
        assert_ptr_equal(wf_nodes_get(&t, ino[i]), n);
        char want[64];
        snprintf(want, sizeof want, "/live/%s", name);
        assert_string_equal(path_of(ino[i], NULL, 0), want);
    }
    assert_null(wf_nodes_find(&t, WF_ROOT_INO, "dir")); /* stayed unlinked */
    assert_string_equal(path_of(d, NULL, 1), "/dir");
    for (int i = 0; i < N; i += 2)
        wf_nodes_forget(&t, ino[i], 1);
    for (int i = 0; i < N; i++)
        assert_true((wf_nodes_get(&t, ino[i]) != NULL) == (i % 2 == 1));
    assert_int_equal(t.count, 2 + N / 2);
}

/* every test on a fresh table */
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_lookup_creates_then_counts),   TEST(test_rename_plain),
        TEST(test_rename_exchange),              TEST(test_rename_over_existing),
        TEST(test_unlink_while_open),            TEST(test_forget_frees_node_and_parents),
        TEST(test_rename_releases_old_parent),   TEST(test_path_length_limit),
        TEST(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
