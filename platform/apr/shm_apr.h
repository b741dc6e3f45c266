/*
 * shm_apr.h - what the parts of the apr backend share: shm_apr.c (the part
 * every OS has) and one OS part, chosen by Makefile.am: shm_apr_unix.c
 * (APR's POSIX shared memory objects) or shm_apr_win32.c (its Windows files
 * and names).  The OS part implements the scb_apr_os_* functions and the
 * two that know APR's apr_shm_t, and defines scb_backend_apr with its
 * OS's facts and the methods below.  Internal to platform/apr/.
 */
#ifndef SCB_SHM_APR_H
#define SCB_SHM_APR_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_shm.h>

#include "backend.h"

/* The one mode APR creates. */
#define SCB_APR_MODE UINT32_C(0600)

/* The per-handle state behind seg->priv. */
typedef struct scb_apr_seg {
    apr_pool_t *pool;
    apr_shm_t *shm;
    int owner; /* 1: made by apr_shm_create in this handle */
    /* The OS object APR mapped, where the OS part can tell (Unix: device
     * and inode), so that remove() through this handle removes that object
     * and never a newer one made under the same name since. */
    int has_ident;
    uint64_t dev, ino;
    /* Unix, a segment this handle created: its APR name, for reserve(). */
    char path[300];
} scb_apr_seg_t;

/* --- shm_apr.c ------------------------------------------------------------ */

/* A fresh unmanaged pool with APR referenced (apr_initialize counted), or
 * NULL with *rc set. */
apr_pool_t *scb_apr_pool_new(int *rc);

/* Destroys a pool from scb_apr_pool_new; keeps errno (and GetLastError()
 * on Windows). */
void scb_apr_pool_free(apr_pool_t *pool);

/* An apr_status_t as an SCB_E* code, the native error left in errno (in
 * GetLastError() on Windows) for SCB_ESYS. */
int scb_apr_status(apr_status_t st);

/* Lets go of shm (unmap; never remove) and of its pool: SCB_OK, or the code
 * of a failed unmap. */
int scb_apr_release(apr_shm_t *shm, apr_pool_t *pool, int owner);

/*
 * Fills seg from a mapped APR segment: the page aligned base, the usable
 * size, a read-only view for a reader (!writable), and seg->priv.  A
 * segment too small to hold a page opens as an empty one.  On failure it
 * releases shm and pool.  Returns SCB_OK or an SCB_E* code.
 */
int scb_apr_finish_open(scb_seg_t *seg, apr_pool_t *pool, apr_shm_t *shm,
                        int owner, int writable);

/*
 * The same for the creator of a segment of `size` usable bytes: checks the
 * apr_shm_t layout (SCB_ENOTSUP if it is not the one known) and the size.
 * On failure it destroys shm (which removes APR's name) and the pool.
 */
int scb_apr_finish_create(scb_seg_t *seg, apr_pool_t *pool, apr_shm_t *shm,
                          const char *path, size_t size);

/* The create, open and close methods, for the OS part's scb_backend_apr:
 * they check the arguments, then call the OS part's create and open. */
int scb_apr_create(scb_seg_t *seg, const char *name, size_t size,
                   uint32_t mode);
int scb_apr_open(scb_seg_t *seg, const char *name, int writable);
int scb_apr_close(scb_seg_t *seg);

/* --- the OS part: shm_apr_unix.c or shm_apr_win32.c ----------------------- */

/* The lock around APR's reference count. */
void scb_apr_os_lock(void);
void scb_apr_os_unlock(void);

/* The OS's error code besides errno, which APR calls may change and the
 * backend keeps: GetLastError() on Windows; nothing (0) on Unix. */
unsigned long scb_apr_os_last_error(void);
void scb_apr_os_set_last_error(unsigned long code);

/* An APR status that carries an error code of this OS's own (Windows: a
 * system error, left for GetLastError()) as an SCB_E* code; SCB_OK when st
 * is no such status, and scb_apr_status translates it. */
int scb_apr_os_status(apr_status_t st);

/* 1 if shm, just made by apr_shm_create(path) in pool, has the apr_shm_t
 * layout of this OS that scb_apr_owner_disarm relies on. */
int scb_apr_owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool, const char *path);

/* Makes the pool cleanup of a segment made by apr_shm_create unmap only,
 * never remove the name (or delete the file). */
void scb_apr_owner_disarm(apr_shm_t *shm);

/* Narrows *have, the bytes APR says follow its address `usable`, to what
 * this OS shows is mapped there; 0 if nothing is. */
int scb_apr_os_view(const void *usable, size_t *have);

/* create's check of a ring name: SCB_OK, SCB_EINVAL or SCB_ENAMETOOLONG. */
int scb_apr_os_check_name(const char *name);

/* The OS side of create (after the checks of scb_apr_create; size is the
 * ring's), open (seg cleared, name unchecked) and remove. */
int scb_apr_os_create(scb_seg_t *seg, const char *name, size_t size);
int scb_apr_os_open(scb_seg_t *seg, const char *name, int writable);
int scb_apr_os_remove(scb_seg_t *seg, const char *name);

/* After a handle let go of its segment (Windows: deletes the files of
 * unlinked rings that nobody maps any more). */
void scb_apr_os_closed(void);

#endif /* SCB_SHM_APR_H */
