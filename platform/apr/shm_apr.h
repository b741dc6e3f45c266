/*
 * shm_apr.h - what the two files of the apr backend share: shm_apr.c (the
 * backend, and Unix) and shm_apr_win32.c (its Windows files and names).
 * Internal to platform/apr/.
 */
#ifndef SCB_SHM_APR_H
#define SCB_SHM_APR_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_shm.h>

#include "backend.h"

/* APR's metadata before the address apr_shm_baseaddr_get returns: the
 * Windows memblock_t (two apr_size_t), the Unix size word. */
#if defined(_WIN32)
#define SCB_APR_META (2 * sizeof(apr_size_t))
#else
#define SCB_APR_META ((size_t)APR_ALIGN_DEFAULT(sizeof(apr_size_t)))
#endif

/* The one mode APR creates. */
#define SCB_APR_MODE UINT32_C(0600)

/* The per-handle state behind seg->priv. */
typedef struct scb_apr_seg {
    apr_pool_t *pool;
    apr_shm_t *shm;
    int owner; /* 1: made by apr_shm_create in this handle */
#if !defined(_WIN32)
    /* Unix: the OS object APR mapped (device and inode), so that remove()
     * through this handle removes that object and never a newer one made
     * under the same name since. */
    int has_ident;
    uint64_t dev, ino;
#endif
} scb_apr_seg_t;

/* A fresh unmanaged pool with APR referenced (apr_initialize counted), or
 * NULL with *rc set. */
apr_pool_t *scb_apr_pool_new(int *rc);

/* Destroys a pool from scb_apr_pool_new; keeps errno (and GetLastError()
 * on Windows). */
void scb_apr_pool_free(apr_pool_t *pool);

/* An apr_status_t as an SCB_E* code, the native error left in errno (in
 * GetLastError() on Windows) for SCB_ESYS. */
int scb_apr_status(apr_status_t st);

/* 1 if shm, just made by apr_shm_create(path) in pool, has the apr_shm_t
 * layout that scb_apr_owner_disarm relies on. */
int scb_apr_owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool,
                            const char *path);

/* Makes the pool cleanup of a segment made by apr_shm_create unmap only,
 * never remove the name (or delete the file). */
void scb_apr_owner_disarm(apr_shm_t *shm);

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

#if defined(_WIN32)
/* A Windows error code (a DWORD) as an SCB_E* code; the code is left for
 * GetLastError() (SCB_ESYS). */
int scb_apr_win_error(unsigned long code);

/* shm_apr_win32.c: the Windows side of create, open and remove (see
 * there), after shm_apr.c checked the arguments; size is the ring's. */
#define SCB_APR_WIN_NAME_MAX 100
int scb_apr_win_create(scb_seg_t *seg, const char *name, size_t size);
int scb_apr_win_open(scb_seg_t *seg, const char *name, int writable);
int scb_apr_win_remove(const char *name);
/* Reports the rings whose name files are in the ring directory. */
int scb_apr_win_list(const scb_backend_lister_t *l);
/* Deletes the files of unlinked rings that nobody maps any more. */
void scb_apr_win_sweep(void);
#endif

#endif /* SCB_SHM_APR_H */
