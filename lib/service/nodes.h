/* Inode table of the service. The kernel speaks inode numbers, the protocol
 * speaks paths: each node is (parent, name), so a path is built by walking up
 * to the root. A node lives while the kernel holds lookups on it or a child
 * still points at it. Rename and unlink update names in place. */
#ifndef WF_NODES_H
#define WF_NODES_H

#include <stddef.h>
#include <stdint.h>

#define WF_ROOT_INO 1u

struct wf_node {
    uint64_t ino;
    uint64_t nlookup;        /* lookups the kernel holds */
    unsigned refs;           /* children pointing here */
    struct wf_node *parent;  /* NULL for the root */
    char *name;              /* kept after unlink, for requests on open handles */
    int unlinked;            /* the name is gone: not findable, no child paths */
    unsigned listed;         /* provider generation + 1 that last listed it (0: none) */
    /* from the last attributes the provider sent: what a re-open after a
     * resume compares against, and whether a read-only open may prefetch */
    uint64_t size, pino;     /* pino: the provider's inode number (0: none reported) */
    uint64_t mtime_sec;
    uint32_t mtime_nsec;
    int small_file;          /* a regular file small enough to prefetch */
    unsigned changed_here;   /* writes, setattrs, truncating opens sent through the mount */
    struct wf_node *by_name; /* hash chains */
    struct wf_node *by_ino;
};

struct wf_nodes {
    struct wf_node **name_tab, **ino_tab;
    size_t buckets, count;
    uint64_t next_ino;
    struct wf_node root;
};

int wf_nodes_init(struct wf_nodes *t);
void wf_nodes_cleanup(struct wf_nodes *t);

/* The file's data or attributes change through the mount (a write, a
 * setattr, a truncating open): read-only handles opened before no longer
 * expect their size and mtime at a re-open. */
void wf_nodes_changed_here(struct wf_nodes *t, uint64_t ino);
struct wf_node *wf_nodes_get(struct wf_nodes *t, uint64_t ino);
/* Finds or creates the child and adds one lookup. NULL: no memory or no parent. */
struct wf_node *wf_nodes_lookup(struct wf_nodes *t, uint64_t parent, const char *name);
/* Child if known, without adding a lookup. */
struct wf_node *wf_nodes_find(struct wf_nodes *t, uint64_t parent, const char *name);
void wf_nodes_forget(struct wf_nodes *t, uint64_t ino, uint64_t n);
/* The name is gone (unlink/rmdir): the node stays for open handles but can no
 * longer be found by name. Its last path is still known (see wf_nodes_path). */
void wf_nodes_remove_name(struct wf_nodes *t, uint64_t parent, const char *name);
/* Applies a successful rename; exchange swaps both names. */
void wf_nodes_rename(struct wf_nodes *t, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname, int exchange);

/* Writes the path of node ino (or of child name of ino when name != NULL)
 * into buf. Returns its length, -ENOENT for an unknown node or one whose name
 * (or an ancestor's) is gone, -ENAMETOOLONG when it does not fit. With
 * last_known, an unlinked node yields its last path instead (requests on an
 * open handle carry a path, but the provider goes by the handle). */
int wf_nodes_path(struct wf_nodes *t, uint64_t ino, const char *name, char *buf, size_t cap,
                  int last_known);

#endif
