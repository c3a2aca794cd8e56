/* Provider lifecycle without a service: argument checks, connection failure
 * with and without reconnect, bounded service steps, stop from a signal. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <cmocka.h>

#include "webfuse/provider.h"

static const struct wf_provider_ops no_ops;

/* A TCP port on 127.0.0.1 where nothing listens (port 1 needs root to bind). */
#define DEAD_URL "ws://127.0.0.1:1/"

static struct wf_provider *create(const char *url, int reconnect, const char *token, const char *ca)
{
    struct wf_provider_config cfg = { .url = url, .ca_path = ca, .token = token, .reconnect = reconnect };
    return wf_provider_create(&no_ops, NULL, &cfg);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_create_checks(void **state)
{
    struct wf_provider_config cfg = { .url = DEAD_URL };
    assert_null(wf_provider_create(NULL, NULL, &cfg));
    assert_null(wf_provider_create(&no_ops, NULL, NULL));
    assert_null(create(NULL, 0, NULL, NULL));
    assert_null(create("http://127.0.0.1/", 0, NULL, NULL));
    assert_null(create("ws://", 0, NULL, NULL));
    assert_null(create("ws://host:0/", 0, NULL, NULL));
    assert_null(create("ws://host:99999/", 0, NULL, NULL));
    assert_null(create("ws://host:12x/", 0, NULL, NULL));
    assert_null(create("ws://[::1/", 0, NULL, NULL));
    assert_null(create(DEAD_URL, 0, "bad\r\ntoken", NULL));
    struct wf_provider *p = create("wss://[::1]:8443/path?q", 1, "tok", NULL);
    assert_non_null(p);
    wf_provider_destroy(p);
    wf_provider_destroy(NULL);
    assert_int_equal(wf_provider_stop(NULL), WF_EINVAL);
    assert_int_equal(wf_provider_run(NULL), WF_EINVAL);
}

static void test_no_reconnect_fails(void **state)
{
    struct wf_provider *p = create(DEAD_URL, 0, NULL, NULL);
    assert_non_null(p);
    double t0 = now();
    assert_int_equal(wf_provider_run(p), WF_ECONNECT);
    assert_true(now() - t0 < 5.0);
    wf_provider_destroy(p);
}

static void test_bad_ca_is_tls_error(void **state)
{
    struct wf_provider *p = create("wss://127.0.0.1:1/", 0, NULL, "/nonexistent/ca.pem");
    assert_non_null(p);
    assert_int_equal(wf_provider_run(p), WF_ETLS);
    wf_provider_destroy(p);
}

static void test_service_steps_and_stop(void **state)
{
    struct wf_provider *p = create(DEAD_URL, 1, NULL, NULL);
    assert_non_null(p);
    double t0 = now();
    for (int i = 0; i < 5; i++)
        assert_int_equal(wf_provider_service(p, 20), WF_SUCCESS);
    assert_true(now() - t0 < 2.0); /* each step is bounded */
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_stop(p), WF_SUCCESS);
    assert_int_equal(wf_provider_service(p, 1000), 1);
    assert_int_equal(wf_provider_service(p, 1000), 1);
    assert_int_equal(wf_provider_run(p), WF_SUCCESS);
    wf_provider_destroy(p);
}

static struct wf_provider *g_p;
static void on_alarm(int sig)
{
    (void)sig;
    wf_provider_stop(g_p);
}

static void test_stop_from_signal(void **state)
{
    g_p = create(DEAD_URL, 1, NULL, NULL);
    assert_non_null(g_p);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 0 }, { 1, 0 } };
    double t0 = now();
    setitimer(ITIMER_REAL, &it, NULL);
    assert_int_equal(wf_provider_run(g_p), WF_SUCCESS);
    double dt = now() - t0;
    assert_true(dt >= 0.95 && dt < 1.25); /* exits promptly, not at the next retry */
    signal(SIGALRM, SIG_DFL);
    wf_provider_destroy(g_p);
    g_p = NULL;
}

static void test_stop_before_run(void **state)
{
    struct wf_provider *p = create(DEAD_URL, 1, NULL, NULL);
    assert_non_null(p);
    wf_provider_stop(p);
    assert_int_equal(wf_provider_run(p), WF_SUCCESS);
    wf_provider_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_checks),
        cmocka_unit_test(test_no_reconnect_fails),
        cmocka_unit_test(test_bad_ca_is_tls_error),
        cmocka_unit_test(test_service_steps_and_stop),
        cmocka_unit_test(test_stop_from_signal),
        cmocka_unit_test(test_stop_before_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
