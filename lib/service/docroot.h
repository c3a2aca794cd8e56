/* Static files of --wf-docroot: lws serves whatever a path under the docroot
 * leads to, symlinks to anywhere included. This keeps requests inside. */
#ifndef WF_DOCROOT_H
#define WF_DOCROOT_H

#include <stdbool.h>

/* Whether the file a request for uri (as lws parsed it, "/..." without a
 * query) would be served from lies beneath docroot once symlinks are
 * resolved; index_name is what lws serves for a directory. A path that does
 * not exist is allowed (lws answers 404). The check is made just before lws
 * opens the file: a symlink swapped in between is not caught, so the
 * docroot must not be writable by anyone the service does not trust. */
bool wf_docroot_allows(const char *docroot, const char *uri, const char *index_name);

#endif
