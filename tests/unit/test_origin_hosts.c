/* Which Host headers name this service for the browser origin check
 * (wf_origin_allowed in lib/service/auth.c): DNS rebinding must not pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "service/auth.h"

/* The page's origin matches the Host it sent: allowed only if Host is ours. */
static int same_origin_allowed(const char *host)
{
    char origin[300];
    snprintf(origin, sizeof origin, "http://%s", host);
    return wf_origin_allowed(origin, host, 0, "device.lan", NULL, 0);
}

static void test_ours(void **state)
{
    assert_true(same_origin_allowed("127.0.0.1"));
    assert_true(same_origin_allowed("127.0.0.1:8081"));
    assert_true(same_origin_allowed("[::1]"));
    assert_true(same_origin_allowed("[::1]:8081"));
    assert_true(same_origin_allowed("[fe80::1]:80"));
    assert_true(same_origin_allowed("[::ffff:192.168.1.2]:8081"));
    assert_true(same_origin_allowed("localhost:8081"));
    assert_true(same_origin_allowed("device.lan:8081"));
}

static void test_not_ours(void **state)
{
    assert_false(same_origin_allowed("evil.example"));
    assert_false(same_origin_allowed("evil.example:8081"));
    /* brackets hold an IPv6 literal or nothing */
    assert_false(same_origin_allowed("[evil.example]"));
    assert_false(same_origin_allowed("[evil.example]:8081"));
    assert_false(same_origin_allowed("[127.0.0.1]"));
    assert_false(same_origin_allowed("[]"));
    assert_false(same_origin_allowed("[::1"));
    assert_false(same_origin_allowed("[::1]x"));
    assert_false(same_origin_allowed("[::1]:"));
    assert_false(same_origin_allowed("[::1]:80a"));
    assert_false(same_origin_allowed("[::1]:123456"));
    /* an IPv6 literal without brackets, and ports that are not numbers */
    assert_false(same_origin_allowed("::1"));
    assert_false(same_origin_allowed("127.0.0.1:evil"));
    assert_false(same_origin_allowed("127.0.0.1:"));
    assert_false(same_origin_allowed(""));
}

static void test_origin_must_match_host(void **state)
{
    assert_false(wf_origin_allowed("http://evil.example", "127.0.0.1:8081", 0, NULL, NULL, 0));
    assert_false(wf_origin_allowed("https://127.0.0.1:8081", "127.0.0.1:8081", 0, NULL, NULL, 0));
    assert_true(wf_origin_allowed("https://127.0.0.1:8081", "127.0.0.1:8081", 1, NULL, NULL, 0));
    const char *allowed[] = { "http://trusted.example" };
    assert_true(wf_origin_allowed("http://trusted.example", "[evil.example]", 0, NULL, allowed, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours),
        cmocka_unit_test(test_not_ours),
        cmocka_unit_test(test_origin_must_match_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
