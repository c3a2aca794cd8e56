/* Keeps --wf-docroot requests beneath the docroot. See docroot.h. */
#include "docroot.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* real lies beneath (or is) root. */
static bool beneath(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (strncmp(root, real, n) != 0)
        return false;
    return real[n] == '\0' || real[n] == '/' || (n == 1 && root[0] == '/');
}

bool wf_docroot_allows(const char *docroot, const char *uri, const char *index_name)
{
    char root[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    if (!realpath(docroot, root))
        return false;
    if (snprintf(path, sizeof path, "%s/%s", root, uri[0] == '/' ? uri + 1 : uri) >= (int)sizeof path)
        return false;
    if (!realpath(path, real))
        return true; /* nothing there (or unreadable): lws finds nothing either */
    if (!beneath(root, real))
        return false;
    struct stat st;
    if (index_name && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (snprintf(path, sizeof path, "%s/%s", real, index_name) >= (int)sizeof path)
            return false;
        if (realpath(path, real) && !beneath(root, real))
            return false;
    }
    return true;
}
