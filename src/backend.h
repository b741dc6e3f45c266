/*
 * backend.h - the shared-memory backend interface.
 *
 * A backend gives the ring a named, mapped, zero-filled segment and nothing
 * else: it knows nothing of the ring format.  Backends are const tables
 * chosen at run time by name; dispatch happens only in create, open, close,
 * unlink, list and (later) wake, never on the push/pop fast path.  Only the
 * wrappers in backend.c call through the table.
 *
 * Every method returns SCB_OK or an SCB_E* code; it translates the OS error
 * at this boundary and leaves the native code in errno for SCB_ESYS.
 */
#ifndef SCB_BACKEND_H
#define SCB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* One mapping of one segment, owned by one handle. */
typedef struct scb_seg {
    void *base;      /* start of the mapping (page aligned), NULL when size is 0 */
    size_t size;     /* bytes mapped: the size the OS reports, never the header's */
    int writable;    /* 1 if mapped read-write */
    intptr_t id;     /* backend private: file descriptor, shm id... */
    void *priv;      /* backend private */
    /* The OS object's owner and permission bits as the OS reported them at
     * create or open (scb_fd gives its doorbell the same group and the
     * matching bits); has_perm 0 where the backend does not know them. */
    int has_perm;
    uint32_t uid, gid, mode;
} scb_seg_t;

/* What a backend's list method is handed (see scb_backend_t.list): the
 * ring format stays in src/, so the backend asks name_of what a candidate
 * segment holds and reports names through report. */
typedef struct scb_backend_lister {
    /* Reads the ring name kept in the segment `seg` (mapped read-only) into
     * name[SCB_NAME_MAX + 1]; returns 1 if the segment is a valid ring, 0
     * if it is not (then name is unspecified). */
    int (*name_of)(const scb_seg_t *seg, char *name, void *arg);
    /* Reports one ring by name; non-zero stops the listing. */
    int (*report)(const char *name, void *arg);
    void *arg;
} scb_backend_lister_t;

/* Resets seg to "nothing mapped", so that a failed call leaves it
 * harmless; backends call it at the start and on their failure paths. */
static inline void scb_backend_seg_clear(scb_seg_t *seg)
{
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    seg->id = 0;
    seg->priv = NULL;
    seg->has_perm = 0;
    seg->uid = seg->gid = seg->mode = 0;
}

/* Records what the OS says of the object's owner and permission bits. */
static inline void scb_backend_seg_perm(scb_seg_t *seg, uint32_t uid,
                                        uint32_t gid, uint32_t mode)
{
    seg->has_perm = 1;
    seg->uid = uid;
    seg->gid = gid;
    seg->mode = mode & 0777u;
}

typedef struct scb_backend {
    const char *name; /* "posix", "sysv", "apr" */
    /* Longest ring name it accepts (<= SCB_NAME_MAX). */
    size_t name_max;
    /* 1 if a ring name maps to exactly one OS object, so unlink may remove
     * it whatever it holds; 0 if names are hashed (System V keys) and unlink
     * must first check that the segment is the named ring. */
    int names_exact;
    /* 1 if the OS layer can make part of a read-write mapping read-only in
     * place (scb_sys_protect_readonly, through scb_backend_protect): its
     * seg->base is page aligned and the mapping covers the last, partly
     * used page.  0 when the OS cannot. */
    int can_protect;
    /* Creates `name` with exactly `size` zero-filled bytes and exactly the
     * permission bits `mode` (no umask), and maps it read-write.  SCB_EEXIST
     * if it exists.  Atomic; nothing left behind on failure. */
    int (*create)(scb_seg_t *seg, const char *name, size_t size, uint32_t mode);
    /* Optional (NULL when create does it all): the slow part of a create,
     * which the portable code runs after it marked the new segment as being
     * created (layout.h), so that openers meanwhile wait for it rather than
     * take it for a corrupt one: reserves the memory behind the whole
     * segment, so that no later first touch of a page can fault.  On
     * failure the caller removes and closes the segment. */
    int (*reserve)(scb_seg_t *seg);
    /* Opens and maps the whole of `name`, its size taken from the OS;
     * read-only unless `writable`.  A segment of size 0 opens with base NULL.
     * SCB_ENOENT if there is none. */
    int (*open)(scb_seg_t *seg, const char *name, int writable);
    /* Unmaps and releases the handle's resources; never removes the name. */
    int (*close)(scb_seg_t *seg);
    /* Removes `name`, so a later open gets SCB_ENOENT; existing mappings
     * keep working.  `seg` is the segment created or opened under `name`,
     * not yet closed, and only that segment is removed: if the name leads
     * to another one by now (the ring was removed and a new one made under
     * its name), it is left alone and the answer is SCB_ENOENT.  With
     * names_exact `seg` may also be a zeroed, never-opened segment, and
     * then whatever the name leads to is removed. */
    int (*remove)(scb_seg_t *seg, const char *name);
    /* Optional (NULL when the backend cannot enumerate its rings): calls
     * l->report once per ring name found, stopping when it returns
     * non-zero.  A backend with exact names reports the names its OS
     * objects carry; one with hashed names attaches each candidate segment
     * read-only, asks l->name_of for the name inside and reports it only if
     * that name leads to this very segment.  Segments it cannot attach are
     * skipped.  SCB_OK, or an error if the enumeration itself failed. */
    int (*list)(const scb_backend_lister_t *l);
} scb_backend_t;

/* The registry: the backends built in, default first, NULL-terminated. */
extern const scb_backend_t *const scb_backend_list[];
extern const char *const scb_backend_names[];

/* The backend called `name` (NULL: the default), or NULL if not built in. */
const scb_backend_t *scb_backend_find(const char *name);

/* Wrappers: the only code that calls through a backend table.  They check
 * the preconditions and that the backend kept its side of the contract.
 * scb_backend_list_rings wraps the list method (scb_backend_list above is
 * the registry). */
int scb_backend_create(const scb_backend_t *be, scb_seg_t *seg,
                       const char *name, size_t size, uint32_t mode);
int scb_backend_reserve(const scb_backend_t *be, scb_seg_t *seg);
int scb_backend_open(const scb_backend_t *be, scb_seg_t *seg, const char *name,
                     int writable);
/* Makes [off, off + len) of a read-write mapping read-only, with the OS
 * layer's scb_sys_protect_readonly; off and len are page aligned, and the
 * range may end in the last, partly used page of the mapping.  SCB_ENOTSUP
 * unless the backend can_protect. */
int scb_backend_protect(const scb_backend_t *be, scb_seg_t *seg, size_t off,
                        size_t len);
int scb_backend_close(const scb_backend_t *be, scb_seg_t *seg);
int scb_backend_remove(const scb_backend_t *be, scb_seg_t *seg,
                       const char *name);
int scb_backend_list_rings(const scb_backend_t *be,
                           const scb_backend_lister_t *l);

/* The backends, each defined under platform/ when configure builds it. */
extern const scb_backend_t scb_backend_posix;
extern const scb_backend_t scb_backend_sysv;
extern const scb_backend_t scb_backend_apr;

#endif /* SCB_BACKEND_H */
