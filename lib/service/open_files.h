/* The open-file registry: every file and directory the kernel holds open.
 * They are linked into the service so that what is still open at unmount
 * (the kernel sends no release then) is freed, and so that a resumed
 * session can re-open each file on the new provider. */
#ifndef WF_OPEN_FILES_H
#define WF_OPEN_FILES_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wf_service;
struct wf_prefetch;
struct wf_attr;

struct wf_open {
    struct wf_open *prev, *next;
    bool is_dir;
};

struct wf_dir {
    struct wf_open link;   /* first member */
    char *names;           /* NUL-separated */
    struct wf_attr *attrs; /* one per name when the provider sent them (readdir extension) */
    size_t count;
    bool loaded;
};

/* What a file looked like when opened; a re-open must find the same. */
struct wf_ident {
    uint64_t size, pino, mtime_sec;
    uint32_t mtime_nsec;
    bool known;
    unsigned changed_here; /* the node's count at open: size and mtime hold only while unchanged */
};

struct wf_file {
    struct wf_open link;   /* first member */
    uint64_t handle;       /* the provider's; WF_NO_HANDLE once unusable (session over, file changed) */
    fuse_ino_t ino;
    int flags;             /* open flags, for a re-open */
    struct wf_ident ident;
    struct wf_prefetch *pf; /* read sent along with the open, for the first read */
    /* write-behind (fs_files.c): writes answered before the provider's answer */
    size_t writes_pending;
    int write_error;       /* first failure of such a write (negated errno), reported once */
    struct wf_op *parked;  /* flush/fsync waiting for the pending writes, in order */
    unsigned busy;         /* requests still using the file: it outlives a release until 0.
                            * Reads, fsync and setattr need no hold: the kernel releases
                            * a file only once no such request on it is outstanding. */
    /* created, entry not yet given to the kernel (ino 0): where it is, for a
     * re-open; name points into the create's op, which clears it */
    fuse_ino_t create_parent;
    const char *create_name;
    bool reopening;        /* a re-open is on its way */
    bool released;         /* the kernel let go; freed when no longer busy */
};

static inline struct wf_file *file_of(const struct fuse_file_info *fi)
{
    return fi ? (struct wf_file *)(uintptr_t)fi->fh : NULL;
}

static inline struct wf_dir *dir_of(const struct fuse_file_info *fi)
{
    return (struct wf_dir *)(uintptr_t)fi->fh;
}

/* A new open file (tracked); NULL without memory. */
struct wf_file *wf_file_new(struct wf_service *s, fuse_ino_t ino, uint64_t handle, int flags);
/* f is inode ino; its identity is taken from the node's last attributes. */
void wf_file_bind(struct wf_service *s, struct wf_file *f, fuse_ino_t ino);
/* The kernel let go: the provider's handle is released, the file freed
 * (once no request uses it any more). */
void wf_file_close(struct wf_service *s, struct wf_file *f);
/* A request keeps using f (a re-open, a write answered early). */
void wf_file_hold(struct wf_file *f);
void wf_file_unhold(struct wf_service *s, struct wf_file *f);

struct wf_dir *wf_dir_new(struct wf_service *s);
void wf_dir_clear(struct wf_dir *d);
void wf_dir_free(struct wf_dir *d);

/* Calls fn for every open file (fn may not free it). */
void wf_open_each_file(struct wf_service *s, void (*fn)(struct wf_service *s, struct wf_file *f, void *ud),
                       void *ud);
/* An open file of inode ino with a usable handle, or NULL. */
struct wf_file *wf_open_find(struct wf_service *s, fuse_ino_t ino);
/* The session is over: no handle is usable any more. */
void wf_open_invalidate_all(struct wf_service *s);
/* Frees everything still open (at unmount). */
void wf_open_free_all(struct wf_service *s);

#endif
