#include "nodes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_name(uint64_t parent, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ parent; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static size_t hash_ino(uint64_t ino)
{
    return (size_t)(ino * 0x9E3779B97F4A7C15ull >> 17);
}

static struct wf_node **name_slot(struct wf_nodes *t, uint64_t parent, const char *name)
{
    return &t->name_tab[hash_name(parent, name) & (t->buckets - 1)];
}

static void link_name(struct wf_nodes *t, struct wf_node *n)
{
    struct wf_node **slot = name_slot(t, n->parent->ino, n->name);
    n->by_name = *slot;
    *slot = n;
}

static void unlink_name(struct wf_nodes *t, struct wf_node *n)
{
    for (struct wf_node **p = name_slot(t, n->parent->ino, n->name); *p; p = &(*p)->by_name) {
        if (*p == n) {
            *p = n->by_name;
            n->by_name = NULL;
            return;
        }
    }
}

static void link_ino(struct wf_nodes *t, struct wf_node *n)
{
    struct wf_node **slot = &t->ino_tab[hash_ino(n->ino) & (t->buckets - 1)];
    n->by_ino = *slot;
    *slot = n;
}

static int alloc_tables(struct wf_nodes *t, size_t buckets)
{
    t->name_tab = calloc(buckets, sizeof *t->name_tab);
    t->ino_tab = calloc(buckets, sizeof *t->ino_tab);
    if (!t->name_tab || !t->ino_tab) {
        free(t->name_tab);
        free(t->ino_tab);
        return -1;
    }
    t->buckets = buckets;
    return 0;
}

int wf_nodes_init(struct wf_nodes *t)
{
    memset(t, 0, sizeof *t);
    t->root.ino = WF_ROOT_INO;
    t->root.nlookup = 1;
    t->next_ino = WF_ROOT_INO + 1;
    return alloc_tables(t, 256);
}

static void grow(struct wf_nodes *t)
{
    struct wf_node **old_ino = t->ino_tab, **old_name = t->name_tab;
    size_t old = t->buckets;
    if (alloc_tables(t, old * 2) != 0) {
        t->ino_tab = old_ino; /* keep working with long chains */
        t->name_tab = old_name;
        return;
    }
    for (size_t i = 0; i < old; i++) {
        for (struct wf_node *n = old_ino[i], *next; n; n = next) {
            next = n->by_ino;
            link_ino(t, n);
            if (!n->unlinked)
                link_name(t, n);
        }
    }
    free(old_ino);
    free(old_name);
}

void wf_nodes_cleanup(struct wf_nodes *t)
{
    for (size_t i = 0; t->ino_tab && i < t->buckets; i++) {
        for (struct wf_node *n = t->ino_tab[i], *next; n; n = next) {
            next = n->by_ino;
            free(n->name);
            free(n);
        }
    }
    free(t->ino_tab);
    free(t->name_tab);
    memset(t, 0, sizeof *t);
}

struct wf_node *wf_nodes_get(struct wf_nodes *t, uint64_t ino)
{
    if (ino == WF_ROOT_INO)
        return &t->root;
    for (struct wf_node *n = t->ino_tab[hash_ino(ino) & (t->buckets - 1)]; n; n = n->by_ino)
        if (n->ino == ino)
            return n;
    return NULL;
}

void wf_nodes_changed_here(struct wf_nodes *t, uint64_t ino)
{
    struct wf_node *n = wf_nodes_get(t, ino);
    if (n)
        n->changed_here++;
}

struct wf_node *wf_nodes_find(struct wf_nodes *t, uint64_t parent, const char *name)
{
    for (struct wf_node *n = *name_slot(t, parent, name); n; n = n->by_name)
        if (n->parent->ino == parent && strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

struct wf_node *wf_nodes_lookup(struct wf_nodes *t, uint64_t parent, const char *name)
{
    struct wf_node *n = wf_nodes_find(t, parent, name);
    if (n) {
        n->nlookup++;
        return n;
    }
    struct wf_node *p = wf_nodes_get(t, parent);
    if (!p || p->unlinked)
        return NULL;
    if (t->count >= t->buckets)
        grow(t);
    n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return NULL;
    }
    n->ino = t->next_ino++;
    n->nlookup = 1;
    n->parent = p;
    p->refs++;
    link_name(t, n);
    link_ino(t, n);
    t->count++;
    return n;
}

/* Frees n (and, transitively, parents) once nothing holds it. */
static void release_node(struct wf_nodes *t, struct wf_node *n)
{
    while (n && n != &t->root && n->nlookup == 0 && n->refs == 0) {
        struct wf_node *parent = n->parent;
        if (!n->unlinked)
            unlink_name(t, n);
        for (struct wf_node **p = &t->ino_tab[hash_ino(n->ino) & (t->buckets - 1)]; *p; p = &(*p)->by_ino) {
            if (*p == n) {
                *p = n->by_ino;
                break;
            }
        }
        free(n->name);
        free(n);
        t->count--;
        parent->refs--;
        n = parent;
    }
}

void wf_nodes_forget(struct wf_nodes *t, uint64_t ino, uint64_t count)
{
    struct wf_node *n = wf_nodes_get(t, ino);
    if (!n || n == &t->root)
        return;
    n->nlookup = count < n->nlookup ? n->nlookup - count : 0;
    release_node(t, n);
}

void wf_nodes_remove_name(struct wf_nodes *t, uint64_t parent, const char *name)
{
    struct wf_node *n = wf_nodes_find(t, parent, name);
    if (!n)
        return;
    unlink_name(t, n);
    n->unlinked = 1;
}

static int set_name(struct wf_nodes *t, struct wf_node *n, uint64_t parent, const char *name)
{
    struct wf_node *p = wf_nodes_get(t, parent);
    char *copy = strdup(name);
    if (!p || !copy) {
        free(copy);
        n->unlinked = 1; /* unknown place: forget the name, keep the node */
        return -1;
    }
    p->refs++;
    struct wf_node *old_parent = n->parent;
    free(n->name);
    n->name = copy;
    n->parent = p;
    n->unlinked = 0;
    link_name(t, n);
    old_parent->refs--;
    release_node(t, old_parent);
    return 0;
}

void wf_nodes_rename(struct wf_nodes *t, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname, int exchange)
{
    struct wf_node *src = wf_nodes_find(t, parent, name);
    struct wf_node *dst = wf_nodes_find(t, newparent, newname);
    if (src == dst)
        return;
    if (src)
        unlink_name(t, src);
    if (dst)
        unlink_name(t, dst);
    if (dst && exchange)
        set_name(t, dst, parent, name);
    else if (dst)
        dst->unlinked = 1;
    if (src)
        set_name(t, src, newparent, newname);
}

int wf_nodes_path(struct wf_nodes *t, uint64_t ino, const char *name, char *buf, size_t cap,
                  int last_known)
{
    struct wf_node *n = wf_nodes_get(t, ino);
    if (!n || (n->unlinked && (name || !last_known)))
        return -ENOENT;
    /* Build right to left at the end of buf, then move to the front. */
    size_t pos = cap;
    if (pos == 0)
        return -ENAMETOOLONG;
    buf[--pos] = '\0';
    const char *part = name;
    for (;;) {
        if (part) {
            size_t len = strlen(part);
            if (len + 1 > pos)
                return -ENAMETOOLONG;
            pos -= len;
            memcpy(buf + pos, part, len);
            buf[--pos] = '/';
        }
        if (n == &t->root)
            break;
        if (n->unlinked && !last_known)
            return -ENOENT; /* it or an ancestor was removed */
        part = n->name;
        n = n->parent;
    }
    if (pos == cap - 1) { /* the root itself */
        if (pos == 0)
            return -ENAMETOOLONG;
        buf[--pos] = '/';
    }
    size_t len = cap - 1 - pos;
    memmove(buf, buf + pos, len + 1);
    return (int)len;
}
