/* Misuse of the public API (include/webfuse/): NULL and invalid arguments to
 * every public function give an error (WF_EINVAL / NULL), never a crash;
 * stopping twice and destroying NULL are harmless. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "webfuse/localfs.h"
#include "webfuse/log.h"
#include "webfuse/provider.h"
#include "webfuse/service.h"

static const struct wf_provider_ops no_ops;

static void test_provider_null(void **state)
{
    struct wf_provider_config cfg = { .url = "ws://127.0.0.1:1/" };
    struct wf_provider_config no_url = { .url = NULL, .token = "t" };
    assert_null(wf_provider_create(NULL, NULL, &cfg));
    assert_null(wf_provider_create(&no_ops, NULL, NULL));
    assert_null(wf_provider_create(NULL, NULL, NULL));
    assert_null(wf_provider_create(&no_ops, NULL, &no_url));
    struct wf_provider_config empty_url = { .url = "" };
    assert_null(wf_provider_create(&no_ops, NULL, &empty_url));
    assert_int_equal(wf_provider_run(NULL), WF_EINVAL);
    assert_int_equal(wf_provider_service(NULL, 0), WF_EINVAL);
    assert_int_equal(wf_provider_service(NULL, -1), WF_EINVAL);
    assert_int_equal(wf_provider_stop(NULL), WF_EINVAL);
    struct wf_provider_status st;
    assert_int_equal(wf_provider_get_status(NULL, &st), WF_EINVAL);
    assert_int_equal(wf_provider_set_credentials_handler(NULL, NULL, NULL), WF_EINVAL);
    wf_provider_destroy(NULL);
}

static void test_provider_double_stop(void **state)
{
    struct wf_provider_config cfg = { .url = "ws://127.0.0.1:1/", .reconnect = 1 };
    struct wf_provider *p = wf_provider_create(&no_ops, NULL, &cfg);
    assert_non_null(p);
    /* stopped before it ever ran: run returns at once without connecting */
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_run(p), WF_SUCCESS);
    assert_int_equal(wf_provider_service(p, 0), 1); /* finished stays finished */
    assert_int_equal(wf_provider_run(p), WF_SUCCESS);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    wf_provider_destroy(p);

    /* stopped while running (a few steps against a dead port, reconnecting) */
    p = wf_provider_create(&no_ops, NULL, &cfg);
    assert_non_null(p);
    struct wf_provider_status st;
    assert_int_equal(wf_provider_get_status(p, NULL), WF_EINVAL);
    assert_int_equal(wf_provider_get_status(p, &st), WF_SUCCESS);
    assert_int_equal(st.state, WF_PROVIDER_IDLE);
    assert_string_equal(st.reason, "");
    for (int i = 0; i < 3; i++)
        assert_int_equal(wf_provider_service(p, 10), WF_SUCCESS);
    assert_int_equal(wf_provider_get_status(p, &st), WF_SUCCESS);
    assert_true(st.state == WF_PROVIDER_WAITING || st.state == WF_PROVIDER_CONNECTING);
    assert_int_equal(st.connections, 0);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_run(p), WF_SUCCESS);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    wf_provider_destroy(p);

    /* destroyed without ever running or stopping */
    p = wf_provider_create(&no_ops, NULL, &cfg);
    assert_non_null(p);
    wf_provider_destroy(p);
}

static void test_service_null(void **state)
{
    assert_null(wf_service_create(NULL));
    struct wf_service_config no_mount = { .mountpoint = NULL, .port = 0 };
    assert_null(wf_service_create(&no_mount));
    struct wf_service_config missing = { .mountpoint = "/nonexistent/wf-api-misuse", .port = 0,
                                         .bind_address = "127.0.0.1",
                                         .attr_timeout = -1, .entry_timeout = -1, .negative_timeout = -1 };
    assert_null(wf_service_create(&missing));
    assert_int_equal(wf_service_port(NULL), WF_EINVAL);
    assert_int_equal(wf_service_run(NULL), WF_EINVAL);
    assert_int_equal(wf_service_stop(NULL), WF_EINVAL);
    wf_service_destroy(NULL);
}

/* A real mount (skipped where FUSE is not available): stop twice, run after
 * stop returns at once, destroy unmounts. */
static void test_service_double_stop(void **state)
{
    if (access("/dev/fuse", R_OK | W_OK) != 0)
        skip();
    char dir[] = "/tmp/wf-api-misuse-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct wf_service_config cfg = { .mountpoint = dir, .port = 0, .bind_address = "127.0.0.1",
                                     .attr_timeout = -1, .entry_timeout = -1, .negative_timeout = -1 };
    struct wf_service *s = wf_service_create(&cfg);
    if (!s) {
        rmdir(dir);
        skip(); /* no permission to mount here */
    }
    assert_true(wf_service_port(s) > 0);
    assert_int_equal(wf_service_stop(s), WF_SUCCESS);
    assert_int_equal(wf_service_stop(s), WF_SUCCESS);
    assert_int_equal(wf_service_run(s), WF_SUCCESS);
    assert_int_equal(wf_service_stop(s), WF_SUCCESS);
    wf_service_destroy(s);
    assert_int_equal(rmdir(dir), 0); /* unmounted again */
}

static void test_localfs_null(void **state)
{
    errno = 0;
    assert_null(wf_localfs_create(NULL, 0));
    assert_int_equal(errno, EINVAL);
    assert_null(wf_localfs_create("/nonexistent/wf-api-misuse", 0));
    assert_int_equal(errno, ENOENT);
    char file[] = "/tmp/wf-api-misuse-file-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    close(fd);
    assert_null(wf_localfs_create(file, 1)); /* not a directory */
    assert_int_equal(errno, ENOTDIR);
    unlink(file);
    wf_localfs_destroy(NULL);
    assert_non_null(wf_localfs_ops());
    struct wf_localfs *fs = wf_localfs_create("/", 1);
    assert_non_null(fs);
    wf_localfs_destroy(fs);
}

static void test_log_misuse(void **state)
{
    const char *volatile no_format = NULL;
    wf_log_setup(NULL, WF_LOG_DEBUG, 0);
    assert_true(wf_log_enabled(WF_LOG_DEBUG));
    wf_log(WF_LOG_DEBUG, no_format);
    wf_log((enum wf_log_level)-1, "negative level");
    wf_log((enum wf_log_level)42, "level out of range");
    wf_log_setup("test_api_misuse", (enum wf_log_level)42, 0);
    wf_log((enum wf_log_level)42, "level out of range with a high maximum");
    wf_log_setup("test_api_misuse", WF_LOG_ERROR, 0);
    assert_false(wf_log_enabled(WF_LOG_INFO));
    assert_true(wf_log_enabled(WF_LOG_ERROR));
    wf_log(WF_LOG_INFO, "dropped");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_null),
        cmocka_unit_test(test_provider_double_stop),
        cmocka_unit_test(test_service_null),
        cmocka_unit_test(test_service_double_stop),
        cmocka_unit_test(test_localfs_null),
        cmocka_unit_test(test_log_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
