/* wf_log_escape (lib/util/wf_log_escape.c): peer text made safe for logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/wf_log.h"

static const char *esc(const char *in, size_t len, size_t cap)
{
    static char out[512];
    assert_true(cap <= sizeof out - 1);
    memset(out, '#', sizeof out);
    size_t n = wf_log_escape(in, len, out, cap);
    if (cap) {
        assert_int_equal(n, strlen(out));
        assert_true(n < cap);
    }
    assert_int_equal(out[cap], '#'); /* nothing written past cap */
    return out;
}

static void test_plain_text_unchanged(void **state)
{
    assert_string_equal(esc("https://example.org:8080", 24, 64), "https://example.org:8080");
    assert_string_equal(esc("", 0, 1), "");
    assert_string_equal(esc("a b~", 4, 5), "a b~"); /* exactly fits */
}

static void test_control_and_high_bytes(void **state)
{
    assert_string_equal(esc("a\nb", 3, 64), "a\\x0ab");
    assert_string_equal(esc("\x1b[31m", 5, 64), "\\x1b[31m");
    assert_string_equal(esc("\r\t\x7f", 3, 64), "\\x0d\\x09\\x7f");
    assert_string_equal(esc("\xc3\xa9", 2, 64), "\\xc3\\xa9");
    assert_string_equal(esc("x\0y", 3, 64), "x\\x00y"); /* length, not NUL, ends it */
    /* a literal backslash is escaped too: "\x0a" in the log is never forged */
    assert_string_equal(esc("\\x0a", 4, 64), "\\x5cx0a");
}

static void test_bounded(void **state)
{
    assert_string_equal(esc("abcdefgh", 8, 9), "abcdefgh");
    assert_string_equal(esc("abcdefgh", 8, 8), "abcd...");
    assert_string_equal(esc("abcdefgh", 8, 4), "...");
    assert_string_equal(esc("abcdefgh", 8, 2), ".");
    assert_string_equal(esc("abcdefgh", 8, 1), "");
    esc("abcdefgh", 8, 0); /* writes nothing at all */
    /* an escape is never cut in half */
    assert_string_equal(esc("ab\n", 3, 6), "ab...");
    assert_string_equal(esc("ab\n", 3, 7), "ab\\x0a");
    assert_string_equal(esc("\n\n\n\n", 4, 12), "\\x0a\\x0a...");
    char big[300];
    memset(big, '\n', sizeof big);
    const char *out = esc(big, sizeof big, 256);
    assert_int_equal(strlen(out), 255);
    assert_memory_equal(out + 252, "...", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_control_and_high_bytes),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
