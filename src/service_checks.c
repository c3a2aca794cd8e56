/* Start-up checks of the service: files, pairs, mount point, port, /dev/fuse. */
#include "service_checks.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int readable_file(const char *option, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "webfuse: %s %s: %s\n", option, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "webfuse: %s %s: not a regular file\n", option, path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "webfuse: %s %s: cannot read it: %s\n", option, path, strerror(errno));
        return -1;
    }
    return 0;
}

int wf_check_options(const struct wf_cli *o)
{
    if (!!o->cert != !!o->key) {
        fprintf(stderr, "webfuse: %s needs %s as well (TLS takes a certificate and its key)\n",
                o->cert ? "--wf-cert" : "--wf-key", o->cert ? "--wf-key" : "--wf-cert");
        return -1;
    }
    if (o->cert && (readable_file("--wf-cert", o->cert) != 0 || readable_file("--wf-key", o->key) != 0))
        return -1;
    struct stat st;
    if (o->docroot) {
        if (stat(o->docroot, &st) != 0) {
            fprintf(stderr, "webfuse: --wf-docroot %s: %s\n", o->docroot, strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "webfuse: --wf-docroot %s: not a directory\n", o->docroot);
            return -1;
        }
    }
    if (o->authenticator) {
        if (stat(o->authenticator, &st) != 0) {
            fprintf(stderr, "webfuse: --wf-authenticator %s: %s\n", o->authenticator, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode) || access(o->authenticator, X_OK) != 0) {
            fprintf(stderr, "webfuse: --wf-authenticator %s: not an executable file (chmod +x?)\n",
                    o->authenticator);
            return -1;
        }
    }
    if (o->auth_header && !o->authenticator) {
        fprintf(stderr, "webfuse: --wf-auth-header needs --wf-authenticator (the program that checks the token)\n");
        return -1;
    }
    return 0;
}

/* The fstype of the mount at path per /proc/self/mountinfo, or NULL. */
static int mounted_at(const char *path, char *fstype, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        /* id parent major:minor root MOUNTPOINT options... - FSTYPE source ... */
        char *field[5], *save = NULL, *tok = strtok_r(line, " ", &save);
        int n = 0;
        while (tok && n < 5) {
            field[n++] = tok;
            if (n < 5)
                tok = strtok_r(NULL, " ", &save);
        }
        if (n < 5)
            continue;
        /* unescape \040 and friends in place */
        char *src = field[4], *dst = field[4];
        while (*src) {
            if (src[0] == '\\' && src[1] >= '0' && src[1] <= '3' && src[2] && src[3]) {
                *dst++ = (char)(((src[1] - '0') << 6) | ((src[2] - '0') << 3) | (src[3] - '0'));
                src += 4;
            } else {
                *dst++ = *src++;
            }
        }
        *dst = '\0';
        if (strcmp(field[4], path) != 0)
            continue;
        char *rest = save ? strstr(save, " - ") : NULL;
        snprintf(fstype, size, "%s", "unknown");
        if (rest) {
            char *type = rest + 3, *end = strchr(type, ' ');
            if (end)
                *end = '\0';
            snprintf(fstype, size, "%s", type);
        }
        found = 1; /* the last one wins: stacked mounts */
    }
    fclose(f);
    return found;
}

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 1; /* cannot tell: no warning */
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

int wf_check_mountpoint(const char *mountpoint)
{
    struct stat st;
    if (stat(mountpoint, &st) != 0) {
        if (errno == ENOTCONN)
            return 0; /* a stale FUSE mount: the service detaches it */
        fprintf(stderr, "webfuse: mount point %s: %s\n", mountpoint, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "webfuse: mount point %s is not a directory\n", mountpoint);
        return -1;
    }
    char fstype[64];
    if (mounted_at(mountpoint, fstype, sizeof fstype)) {
        fprintf(stderr, "webfuse: %s is already a mount point (%s)%s; unmount it first "
                "(fusermount3 -u %s) or choose another directory\n", mountpoint, fstype,
                strncmp(fstype, "fuse", 4) == 0 ? ", maybe of another webfuse" : "", mountpoint);
        return -1;
    }
    if (!is_empty_dir(mountpoint))
        fprintf(stderr, "webfuse: warning: mount point %s is not empty; its files are hidden while mounted\n",
                mountpoint);
    return 0;
}

/* Nonzero when a connection to the port on the bind address (or the
 * loopback) is accepted: a listener is there. */
static int someone_listens(const struct wf_cli *o)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%ld", o->port);
    if (getaddrinfo(o->bind, port, &hints, &res) != 0) /* NULL host: the loopback */
        return 0;
    int found = 0;
    for (const struct addrinfo *ai = res; ai && !found; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        found = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        close(fd);
    }
    freeaddrinfo(res);
    return found;
}

int wf_check_port(const struct wf_cli *o)
{
    if (o->port == 0)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = o->bind ? AF_UNSPEC : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
    char port[16];
    snprintf(port, sizeof port, "%ld", o->port);
    int rc = getaddrinfo(o->bind, port, &hints, &res);
    if (rc == EAI_NONAME && o->bind)
        return 0; /* an interface name: the service's listener resolves and checks it */
    if (rc != 0 && !o->bind) {
        hints.ai_family = AF_INET; /* no IPv6 here */
        rc = getaddrinfo(NULL, port, &hints, &res);
    }
    if (rc != 0) {
        fprintf(stderr, "webfuse: --wf-bind %s: %s\n", o->bind ? o->bind : "(any)", gai_strerror(rc));
        return -1;
    }
    int err = 0;
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
            err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (err == EADDRINUSE && !someone_listens(o)) /* only a closing connection holds it */
        err = 0;
    if (err == EADDRINUSE) {
        fprintf(stderr, "webfuse: port %ld: address already in use (another webfuse or program listens on it; "
                "choose another --wf-port)\n", o->port);
        return -1;
    }
    if (err == EADDRNOTAVAIL) {
        fprintf(stderr, "webfuse: --wf-bind %s: no such address on this machine\n", o->bind);
        return -1;
    }
    if (err == EACCES) {
        fprintf(stderr, "webfuse: port %ld: permission denied (ports below 1024 need root)\n", o->port);
        return -1;
    }
    return 0;
}

static const char fuse_hint[] =
    "webfuse: hint: the service needs /dev/fuse readable and writable by its user (usually mode 0666; "
    "as root it always is) and, when not root, fusermount3 (setuid root, package fuse3); "
    "in a container the device must be passed in (e.g. docker run --device /dev/fuse --cap-add SYS_ADMIN)\n";

int wf_check_fuse_device(void)
{
    struct stat st;
    if (stat("/dev/fuse", &st) != 0) {
        fprintf(stderr, "webfuse: cannot use /dev/fuse: %s (load the module: modprobe fuse)\n", strerror(errno));
        fputs(fuse_hint, stderr);
        return -1;
    }
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    int err = errno;
    fprintf(stderr, "webfuse: cannot open /dev/fuse: %s\n", strerror(err));
    fputs(fuse_hint, stderr);
    return -1;
}

void wf_hint_mount_failure(void)
{
    fputs(fuse_hint, stderr);
}
