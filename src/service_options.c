/* Table-driven parsing of the service's own options. Each option exists as
 * --wf-NAME (its value as the next argument or after '=') and as the key
 * NAME inside -o lists, so an fstab line can carry all of them. Values are
 * checked here (numbers and ranges); files are checked in service_checks.c. */
#include "service_options.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum kind { K_INT, K_OCTAL, K_DOUBLE, K_STRING, K_FLAG, K_ORIGIN, K_IDMAP };

struct opt_def {
    const char *name;  /* --wf-NAME; -o NAME (with '-' as '_') */
    enum kind kind;
    size_t offset;     /* into struct wf_cli */
    long min, max;     /* K_INT, K_OCTAL */
    int wf_form;       /* exists as --wf-NAME */
    int o_form;        /* exists as -o NAME=VALUE */
    const char *what;  /* for messages: "a port number (1-65535, or 0 for any free port)" */
};

#define FIELD(f) offsetof(struct wf_cli, f)

static const struct opt_def defs[] = {
    { "port", K_INT, FIELD(port), 0, 65535, 1, 1, "a port number (1-65535, or 0 for any free port)" },
    { "vhost", K_STRING, FIELD(vhost), 0, 0, 1, 1, "a host name" },
    { "bind", K_STRING, FIELD(bind), 0, 0, 1, 1, "an IP address" },
    { "timeout", K_INT, FIELD(timeout), 1, 86400, 1, 1, "a number of seconds (1-86400)" },
    { "resume-timeout", K_INT, FIELD(resume_timeout), 0, 86400, 1, 1,
      "a number of seconds (0-86400; 0: fail at once)" },
    { "docroot", K_STRING, FIELD(docroot), 0, 0, 1, 1, "a directory" },
    { "cert", K_STRING, FIELD(cert), 0, 0, 1, 1, "a PEM file" },
    { "key", K_STRING, FIELD(key), 0, 0, 1, 1, "a PEM file" },
    { "authenticator", K_STRING, FIELD(authenticator), 0, 0, 1, 1, "a program" },
    { "auth-header", K_STRING, FIELD(auth_header), 0, 0, 1, 1, "an HTTP header name" },
    { "allow-origin", K_ORIGIN, FIELD(origins), 0, 0, 1, 1, "an origin such as http://pc.lan:8000" },
    { "syslog", K_FLAG, FIELD(syslog), 0, 0, 1, 1, NULL },
    { "version", K_FLAG, FIELD(version), 0, 0, 1, 0, NULL },
    { "attr-timeout", K_DOUBLE, FIELD(attr_timeout), 0, 0, 0, 1, "a number of seconds (0 or more)" },
    { "entry-timeout", K_DOUBLE, FIELD(entry_timeout), 0, 0, 0, 1, "a number of seconds (0 or more)" },
    { "negative-timeout", K_DOUBLE, FIELD(negative_timeout), 0, 0, 0, 1, "a number of seconds (0 or more)" },
    { "uid", K_INT, FIELD(uid), 0, INT_MAX - 1, 0, 1, "a numeric user id" },
    { "gid", K_INT, FIELD(gid), 0, INT_MAX - 1, 0, 1, "a numeric group id" },
    { "umask", K_OCTAL, FIELD(umask), 0, 0777, 0, 1, "octal permission bits (0-0777)" },
    { "idmap", K_IDMAP, FIELD(idmap_user), 0, 0, 0, 1, "user or none" },
};

/* mount(8)/fstab words that mean nothing to us or to libfuse */
static const char *const ignored_mount_opts[] = { "defaults", "auto", "noauto", "user", "users", "nouser",
                                                  "nofail", "_netdev", "owner", "group", NULL };

/* libfuse high-level options upstream webfuse listed: caching hints have
 * no effect on this low-level service (warned, ignored), path-changing
 * modules would change meaning and are refused. */
static const char *const highlevel_ignored[] = { "kernel_cache", "auto_cache", "noauto_cache", "ac_attr_timeout",
                                                 "noforget", "remember", "hard_remove", "use_ino", "readdir_ino",
                                                 "intr", "intr_signal", NULL };
static const char *const highlevel_refused[] = { "modules", "subdir", "rellinks", "norellinks", "from_code",
                                                 "to_code", NULL };

static int in_list(const char *const *list, const char *opt, size_t len)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncmp(list[i], opt, len) == 0)
            return 1;
    return 0;
}

/* Both spellings: "auth-header" for --wf-, "auth_header" (or the dashed one) in -o. */
static int name_is(const char *def, const char *name, size_t len)
{
    if (strlen(def) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char a = def[i], b = name[i];
        if (a != b && !(a == '-' && b == '_'))
            return 0;
    }
    return 1;
}

static const struct opt_def *find(const char *name, size_t len, int wf_form)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if ((wf_form ? defs[i].wf_form : defs[i].o_form) && name_is(defs[i].name, name, len))
            return &defs[i];
    return NULL;
}

static void bad_value(const char *shown, const char *value, const struct opt_def *d)
{
    fprintf(stderr, "webfuse: %s: '%s' is not %s\n", shown, value, d->what);
}

static int parse_long(const char *value, int base, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, base);
    if (errno != 0 || end == value || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int store_origin(struct wf_cli *o, const char *shown, const char *value, const struct opt_def *d)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        bad_value(shown, value, d);
        return -1;
    }
    if (o->origin_count == WF_MAX_ORIGINS) {
        fprintf(stderr, "webfuse: too many %s options (at most %d)\n", shown, WF_MAX_ORIGINS);
        return -1;
    }
    o->origins[o->origin_count++] = value;
    return 0;
}

/* Stores value (a string that lives as long as o) for d. shown: the option as typed. */
static int store(struct wf_cli *o, const struct opt_def *d, const char *shown, const char *value)
{
    char *field = (char *)o + d->offset;
    long v;
    double dv;
    char *end;
    switch (d->kind) {
    case K_INT:
    case K_OCTAL:
        if (parse_long(value, d->kind == K_OCTAL ? 8 : 10, &v) != 0 || v < d->min || v > d->max) {
            bad_value(shown, value, d);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    case K_DOUBLE:
        errno = 0;
        dv = strtod(value, &end);
        if (errno != 0 || end == value || *end != '\0' || !(dv >= 0.0) || dv > 1e9) {
            bad_value(shown, value, d);
            return -1;
        }
        memcpy(field, &dv, sizeof dv);
        return 0;
    case K_STRING:
        if (!*value) {
            bad_value(shown, value, d);
            return -1;
        }
        memcpy(field, &value, sizeof value);
        return 0;
    case K_FLAG: {
        int one = 1;
        memcpy(field, &one, sizeof one);
        return 0;
    }
    case K_ORIGIN:
        return store_origin(o, shown, value, d);
    case K_IDMAP:
        if (strcmp(value, "user") != 0 && strcmp(value, "none") != 0) {
            bad_value(shown, value, d);
            return -1;
        }
        o->idmap_user = strcmp(value, "user") == 0;
        return 0;
    }
    return -1;
}

/* A writable copy of s owned by o (freed by wf_cli_free). */
static char *own_copy(struct wf_cli *o, const char *s)
{
    char **grown = realloc(o->owned, (size_t)(o->owned_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    o->owned = grown;
    char *c = strdup(s);
    if (c)
        o->owned[o->owned_count++] = c;
    return c;
}

/* --wf-NAME[=VALUE]: i is advanced past a separate value. */
static int take_wf(struct wf_cli *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *name = arg + 5, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt_def *d = find(name, len, 1);
    if (!d) {
        fprintf(stderr, "webfuse: unknown option %.*s (see webfuse --help)\n", (int)(len + 5), arg);
        return -1;
    }
    char shown[64];
    snprintf(shown, sizeof shown, "--wf-%s", d->name);
    if (d->kind == K_FLAG) {
        if (eq) {
            fprintf(stderr, "webfuse: %s takes no value\n", shown);
            return -1;
        }
        return store(o, d, shown, "");
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "webfuse: %s needs a value: %s\n", shown, d->what);
            return -1;
        }
        value = argv[++*i];
    }
    return store(o, d, shown, value);
}

static int ignored(const char *opt)
{
    if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
        return 1;
    for (int i = 0; ignored_mount_opts[i]; i++)
        if (strcmp(opt, ignored_mount_opts[i]) == 0)
            return 1;
    return 0;
}

/* One -o list: our keys are taken, the rest is added to rest as one -o. */
static int take_o(struct wf_cli *o, const char *list, struct fuse_args *rest)
{
    char *copy = own_copy(o, list);
    char *left = copy ? malloc(strlen(list) + 1) : NULL;
    if (!left) {
        fprintf(stderr, "webfuse: out of memory\n");
        return -1;
    }
    left[0] = '\0';
    int rc = 0;
    for (char *opt = copy, *next; rc == 0 && opt; opt = next) {
        next = strchr(opt, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(opt, '=');
        size_t len = eq ? (size_t)(eq - opt) : strlen(opt);
        const struct opt_def *d = find(opt, len, 0);
        if (d) {
            char shown[64];
            snprintf(shown, sizeof shown, "-o %.*s", (int)len, opt);
            if (d->kind != K_FLAG && !eq) {
                fprintf(stderr, "webfuse: %s needs a value: -o %s=VALUE\n", shown, opt);
                rc = -1;
            } else {
                rc = store(o, d, shown, eq ? eq + 1 : "");
            }
        } else if (in_list(highlevel_ignored, opt, len)) {
            fprintf(stderr, "webfuse: warning: -o %.*s has no effect here (a libfuse high-level option; "
                    "this webfuse uses the low-level API)\n", (int)len, opt);
        } else if (in_list(highlevel_refused, opt, len)) {
            fprintf(stderr, "webfuse: -o %.*s is not supported (a libfuse high-level module that changes "
                    "paths or names); leave it out\n", (int)len, opt);
            rc = -1;
        } else if (*opt && !ignored(opt)) {
            if (left[0])
                strcat(left, ",");
            strcat(left, opt);
        }
    }
    if (rc == 0 && left[0] && (fuse_opt_add_arg(rest, "-o") != 0 || fuse_opt_add_arg(rest, left) != 0)) {
        fprintf(stderr, "webfuse: out of memory\n");
        rc = -1;
    }
    free(left);
    return rc;
}

int wf_cli_parse(int argc, char **argv, struct wf_cli *o, struct fuse_args *rest)
{
    memset(o, 0, sizeof *o);
    o->port = 8081;
    o->timeout = 10;
    o->resume_timeout = -1;
    o->attr_timeout = o->entry_timeout = o->negative_timeout = -1;
    o->uid = o->gid = o->umask = -1;
    const char *positional[3];
    int npos = 0, only_positional = 0;
    if (fuse_opt_add_arg(rest, argc > 0 ? argv[0] : "webfuse") != 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc = 0;
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (npos == 3) {
                fprintf(stderr, "webfuse: too many arguments: %s (one MOUNTPOINT, see webfuse --help)\n", arg);
                return -1;
            }
            positional[npos++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            only_positional = 1;
        } else if (strncmp(arg, "--wf-", 5) == 0) {
            rc = take_wf(o, argc, argv, &i);
        } else if (strcmp(arg, "-o") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "webfuse: -o needs a list of options\n");
                return -1;
            }
            rc = take_o(o, argv[++i], rest);
        } else if (strncmp(arg, "-o", 2) == 0) {
            rc = take_o(o, arg + 2, rest);
        } else {
            rc = fuse_opt_add_arg(rest, arg); /* -f, -d, -s, -h, -V, ...: libfuse's */
        }
        if (rc != 0)
            return -1;
    }
    if (npos == 3) {
        fprintf(stderr, "webfuse: too many arguments: %s (one MOUNTPOINT, see webfuse --help)\n", positional[2]);
        return -1;
    }
    /* mount(8) and mount.fuse3 call "webfuse SOURCE MOUNTPOINT -o ..." */
    if (npos == 2) {
        o->source = positional[0];
        struct stat st;
        if (stat(o->source, &st) == 0 && S_ISDIR(st.st_mode))
            fprintf(stderr, "webfuse: warning: two arguments: '%s' is taken as mount(8)'s SOURCE and ignored; "
                    "the mount point is '%s'\n", o->source, positional[1]);
    }
    if (npos > 0) {
        /* no "--" for libfuse (it would keep it for the mount): a relative
         * mount point that looks like an option gets a "./" instead */
        const char *mp = positional[npos - 1];
        char *dotted = NULL;
        if (mp[0] == '-') {
            dotted = malloc(strlen(mp) + 3);
            if (!dotted)
                return -1;
            strcpy(dotted, "./");
            strcat(dotted, mp);
            mp = own_copy(o, dotted);
            free(dotted);
        }
        if (!mp || fuse_opt_add_arg(rest, mp) != 0)
            return -1;
    }
    return 0;
}

void wf_cli_free(struct wf_cli *o)
{
    for (int i = 0; i < o->owned_count; i++)
        free(o->owned[i]);
    free(o->owned);
    o->owned = NULL;
    o->owned_count = 0;
}

void wf_cli_usage(const char *prog)
{
    printf("usage: %s [options] MOUNTPOINT\n"
           "       %s SOURCE MOUNTPOINT -o port=N,...   (as mount -t fuse.webfuse calls it)\n\n"
           "webfuse options (also as -o NAME=VALUE, e.g. in fstab; --wf-NAME=VALUE works too):\n"
           "    --wf-port N              WebSocket/HTTP port, 1-65535, 0 = any free one (default 8081)\n"
           "    --wf-vhost NAME          virtual host name (default localhost)\n"
           "    --wf-bind ADDRESS        listen on this address only (default: all)\n"
           "    --wf-timeout SECONDS     fail a request with EIO after this long (default 10)\n"
           "    --wf-resume-timeout S    hold requests this long while the provider reconnects\n"
           "                             (default 30; 0: fail at once)\n"
           "    --wf-docroot DIR         serve static files from DIR (the browser provider page)\n"
           "    --wf-cert PATH           TLS certificate (PEM), with --wf-key: wss:// and https://\n"
           "    --wf-key PATH            TLS private key (PEM)\n"
           "    --wf-authenticator PATH  program that checks a provider's token (on stdin)\n"
           "    --wf-auth-header NAME    HTTP header carrying the token (e.g. X-Auth-Token)\n"
           "    --wf-allow-origin ORIGIN a browser origin allowed to connect (repeatable)\n"
           "    --wf-syslog              log to syslog instead of stderr\n"
           "    --wf-version             print version and exit\n"
           "    -o uid=N,gid=N           report every file as owned by user N / group N\n"
           "    -o umask=M               clear the permission bits M (octal) of every file\n"
           "    -o idmap=user            the provider's own files appear as yours\n"
           "    -o attr_timeout=S        cache attributes for S seconds (default 1)\n"
           "    -o entry_timeout=S       cache names for S seconds (default 1)\n"
           "    -o negative_timeout=S    cache missing names for S seconds (default 0)\n\n"
           "Exit status: 0 after a clean stop, 1 for usage errors and failures.\n\n",
           prog, prog);
    printf("FUSE options:\n");
    fuse_cmdline_help();
    fuse_lowlevel_help();
}
