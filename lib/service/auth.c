#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/wf_log.h"

/* A write to a pipe whose reader is gone raises SIGPIPE; a library must not
 * change the process's handling of it, so it is blocked (and a pending one
 * taken) around the write instead. */
static void write_quietly(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    if (write(fd, buf, len) < 0 && errno == EPIPE) {
        struct timespec now = { 0, 0 };
        sigtimedwait(&pipe_set, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
/* posix_spawn shares the parent's memory until exec (no page tables copied,
 * which matters for a large process), and glibc 2.34 can close the other
 * descriptors on the way. Returns the pid, or -1 with errno set. */
static pid_t start_child(const char *program, int stdin_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dfl;
    pid_t pid = -1;
    char *const argv[] = { (char *)program, NULL };
    char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    int rc = posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &dfl);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawn(&pid, program, &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        errno = rc;
        return -1;
    }
    return pid;
}
#else
static void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lowfd, ~0u, 0) == 0)
        return;
#endif
    for (int fd = lowfd; fd < 1024; fd++)
        close(fd);
}

/* Without posix_spawn_file_actions_addclosefrom_np (musl, older glibc). */
static pid_t start_child(const char *program, int stdin_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int devnull = open("/dev/null", O_RDWR);
    dup2(stdin_fd, 0);
    if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    close_from(3);
    signal(SIGPIPE, SIG_DFL);
    char *const argv[] = { (char *)program, NULL };
    char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    execve(program, argv, envp);
    _exit(127);
}
#endif

pid_t wf_auth_spawn(const char *program, const char *credential, size_t len)
{
    int in[2];
    if (!program || len > WF_MAX_CREDENTIAL || pipe2(in, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = start_child(program, in[0]);
    if (pid < 0) {
        int err = errno;
        close(in[0]);
        close(in[1]);
        errno = err;
        return -1;
    }
    close(in[0]);
    /* The credential fits the pipe buffer (WF_MAX_CREDENTIAL), so this never
     * waits on the child. */
    if (len)
        write_quietly(in[1], credential, len);
    close(in[1]);
    return pid;
}

/* ":1234": a colon and 1 to 5 digits. */
static int port_ok(const char *p)
{
    size_t digits = strspn(p + 1, "0123456789");
    return p[0] == ':' && digits >= 1 && digits <= 5 && p[1 + digits] == '\0';
}

/* Host header without its port names this service: an IP literal,
 * "localhost" or the configured vhost. */
static int host_is_ours(const char *host, const char *vhost)
{
    char name[256];
    size_t len = strlen(host);
    if (len >= sizeof name)
        return 0;
    memcpy(name, host, len + 1);
    if (name[0] == '[') { /* "[v6]" or "[v6]:port": the brackets must hold an IPv6 literal */
        char *end = strchr(name, ']');
        if (!end || (end[1] != '\0' && !port_ok(end + 1)))
            return 0;
        *end = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, name + 1, &a6) == 1;
    }
    char *colon = strrchr(name, ':');
    if (colon) {
        if (!port_ok(colon))
            return 0;
        *colon = '\0';
    }
    struct in_addr a4;
    return inet_pton(AF_INET, name, &a4) == 1 || strcasecmp(name, "localhost") == 0 ||
           (vhost && strcasecmp(name, vhost) == 0);
}

int wf_origin_allowed(const char *origin, const char *host, int tls, const char *vhost,
                      const char *const *allowed, size_t allowed_count)
{
    for (size_t i = 0; i < allowed_count; i++)
        if (allowed[i] && strcasecmp(origin, allowed[i]) == 0)
            return 1;
    if (!host || !*host || !host_is_ours(host, vhost))
        return 0;
    char own[512];
    int n = snprintf(own, sizeof own, "%s://%s", tls ? "https" : "http", host);
    return n > 0 && (size_t)n < sizeof own && strcasecmp(origin, own) == 0;
}
