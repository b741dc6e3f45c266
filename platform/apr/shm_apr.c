#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_apr.c - the "apr" backend: rings on the Apache Portable Runtime's
 * named shared memory (apr_shm_create / apr_shm_attach / apr_shm_detach /
 * apr_shm_destroy / apr_shm_remove).  Only apr_shm_* comes from APR: waits,
 * wakes and process liveness stay in the OS layer (src/sys.h), as for the
 * other backends.
 *
 * This file is the part every OS shares: APR's reference count and pools,
 * its status codes, the page aligned view of a segment, and the create,
 * open and close methods.  Where rings live and how names become APR names
 * is the OS part's business (shm_apr.h): shm_apr_unix.c or shm_apr_win32.c
 * (with shm_apr_win32_files.c), chosen by Makefile.am, which also defines
 * scb_backend_apr with that OS's facts.  No OS conditionals in here.
 *
 * Names.  The ring NAME is an APR file name in one fixed directory, so
 * that every process finds the same name whatever its $TMPDIR: on Unix
 * "/tmp/scb-apr.NAME", which APR hashes into a POSIX shared memory object
 * (shm_apr_unix.c); on Windows a real file (shm_apr_win32.c).  The ring
 * name maps to exactly one APR name, so names_exact is 1.
 *
 * Layout.  APR keeps its own metadata (the real size) at the start of the
 * segment and hands out the address after it, which is only 8-byte
 * aligned.  The ring needs a page aligned base (the header's cache lines,
 * and protect() works on whole pages), so the backend asks APR for a page
 * more and uses the first page boundary after APR's address as seg->base:
 * on Unix the ring starts exactly one page into the object.  seg->size is
 * the usable size from that base, the same for the creator and for every
 * opener (computed from apr_shm_size_get).
 *
 * Mode.  APR creates its segments 0600 and cannot change that: a create
 * with another mode is SCB_ENOTSUP, and so is one under a umask that takes
 * the owner's read or write bit away (Linux reads it from /proc/self/status).
 *
 * Read-only.  APR attaches read-write only; where the backend can_protect
 * it then makes the ring's pages read-only itself (mprotect on Unix,
 * VirtualProtect on Windows), so readers' mappings are read-only as with
 * the other backends.
 *
 * APR itself: apr_initialize/apr_terminate are reference counted here (one
 * reference per live segment handle, under a lock), every segment has its
 * own unmanaged pool (seg->priv), so a program that also uses APR is not
 * disturbed, and its own apr_terminate cannot free our segments.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <apr_errno.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_shm.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"
#include "shm_apr.h"

#define APR_SHM_MODE SCB_APR_MODE

/* --- apr_initialize / apr_terminate, reference counted ------------------ */

static unsigned long apr_refs;

static int apr_ref(void)
{
    apr_status_t st = APR_SUCCESS;

    scb_apr_os_lock();
    if (apr_refs == 0)
        st = apr_initialize();
    if (st == APR_SUCCESS)
        apr_refs++;
    scb_apr_os_unlock();
    return st == APR_SUCCESS ? SCB_OK : SCB_ESYS;
}

static void apr_unref(void)
{
    scb_apr_os_lock();
    if (apr_refs > 0 && --apr_refs == 0)
        apr_terminate();
    scb_apr_os_unlock();
}

/* A fresh unmanaged pool (its own allocator, no parent), with APR
 * referenced; NULL with errno set on failure. */
apr_pool_t *scb_apr_pool_new(int *rc)
{
    apr_pool_t *pool = NULL;

    *rc = apr_ref();
    if (*rc != SCB_OK)
        return NULL;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS ||
        pool == NULL) {
        apr_unref();
        errno = ENOMEM;
        *rc = SCB_ENOMEM;
        return NULL;
    }
    return pool;
}

void scb_apr_pool_free(apr_pool_t *pool)
{
    int saved = errno;
    unsigned long last = scb_apr_os_last_error();

    if (pool != NULL) {
        apr_pool_destroy(pool);
        apr_unref(); /* apr_terminate may run: it clobbers both */
    }
    errno = saved;
    scb_apr_os_set_last_error(last);
}

/* --- helpers ------------------------------------------------------------- */

int scb_apr_status(apr_status_t st)
{
    int e, rc;

    if (st == APR_SUCCESS)
        return SCB_OK;
    rc = scb_apr_os_status(st);
    if (rc != SCB_OK)
        return rc;
    if (APR_STATUS_IS_ENOENT(st)) {
        errno = ENOENT;
        return SCB_ENOENT;
    }
    if (APR_STATUS_IS_EEXIST(st)) {
        errno = EEXIST;
        return SCB_EEXIST;
    }
    if (APR_STATUS_IS_EACCES(st)) {
        errno = EACCES;
        return SCB_EACCES;
    }
    if (APR_STATUS_IS_ENAMETOOLONG(st)) {
        errno = ENAMETOOLONG;
        return SCB_ENAMETOOLONG;
    }
    if (APR_STATUS_IS_ENOMEM(st) || APR_STATUS_IS_ENOSPC(st)) {
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
    if (APR_STATUS_IS_ENOTIMPL(st)) {
        errno = ENOSYS;
        return SCB_ENOTSUP;
    }
    if (st >= APR_OS_START_SYSERR || st < APR_OS_START_ERROR) {
        /* An OS error code, carried as is. */
        e = (int)APR_TO_OS_ERROR(st);
        errno = e;
        return scb_sys_errno_to_scb(e);
    }
    errno = EIO;
    return SCB_ESYS;
}

int scb_apr_release(apr_shm_t *shm, apr_pool_t *pool, int owner)
{
    apr_status_t st = APR_SUCCESS;
    int saved = errno, rc;

    /* The creator's pool cleanup, disarmed, unmaps when the pool goes. */
    if (shm != NULL && owner)
        scb_apr_owner_disarm(shm);
    else if (shm != NULL)
        st = apr_shm_detach(shm);
    errno = saved;
    rc = scb_apr_status(st); /* sets errno (GetLastError) for SCB_ESYS */
    scb_apr_pool_free(pool);
    if (rc == SCB_OK)
        errno = saved;
    return rc;
}

/* The page aligned base inside the APR segment and the usable size from
 * it; 0 if the segment is too small to hold one. */
static int aligned_view(apr_shm_t *shm, void **base, size_t *size)
{
    size_t page = scb_sys_page_size();
    uintptr_t u = (uintptr_t)apr_shm_baseaddr_get(shm);
    uintptr_t a = (u + page - 1) & ~(uintptr_t)(page - 1);
    size_t have = (size_t)apr_shm_size_get(shm);

    if (!scb_apr_os_view((const void *)u, &have))
        return 0;
    if (a - u > have)
        return 0;
    *base = (void *)a;
    *size = have - (size_t)(a - u);
    return 1;
}

int scb_apr_finish_create(scb_seg_t *seg, apr_pool_t *pool, apr_shm_t *shm,
                          const char *path, size_t size)
{
    scb_apr_seg_t *as = apr_palloc(pool, sizeof *as);
    int rc = SCB_OK, e = 0;

    if (as == NULL) {
        e = ENOMEM;
        rc = SCB_ENOMEM;
    } else if (!scb_apr_owner_layout_ok(shm, pool, path)) {
        e = ENOSYS;
        rc = SCB_ENOTSUP;
    } else if (!aligned_view(shm, &seg->base, &seg->size) || seg->size < size) {
        e = ENOMEM;
        rc = SCB_ENOMEM;
    }
    if (rc != SCB_OK) {
        (void)apr_shm_destroy(shm); /* unmaps and removes the name */
        scb_apr_pool_free(pool);
        scb_backend_seg_clear(seg);
        errno = e;
        return rc;
    }
    as->pool = pool;
    as->shm = shm;
    as->owner = 1;
    as->has_ident = 0;
    as->path[0] = '\0';
    seg->writable = 1;
    seg->priv = as;
    return SCB_OK;
}

int scb_apr_finish_open(scb_seg_t *seg, apr_pool_t *pool, apr_shm_t *shm,
                        int owner, int writable)
{
    scb_apr_seg_t *as = apr_palloc(pool, sizeof *as);
    int rc;

    scb_backend_seg_clear(seg);
    if (as == NULL) {
        (void)scb_apr_release(shm, pool, owner);
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
    if (!aligned_view(shm, &seg->base, &seg->size) || seg->size == 0) {
        /* Too small to be ours: nothing usable, like an empty object. */
        (void)scb_apr_release(shm, pool, owner);
        scb_backend_seg_clear(seg);
        return SCB_OK;
    }
    if (scb_backend_apr.can_protect) {
        if (!writable) {
            /* APR maps read-write only; make the ring's pages read-only. */
            size_t page = scb_sys_page_size();
            size_t len = seg->size + (page - seg->size % page) % page;

            rc = scb_sys_protect_readonly(seg->base, len);
            if (rc != SCB_OK) {
                int saved = errno;

                (void)scb_apr_release(shm, pool, owner);
                scb_backend_seg_clear(seg);
                errno = saved;
                return rc;
            }
        }
        seg->writable = writable ? 1 : 0;
    } else {
        /* No way to make the mapping read-only: it stays read-write. */
        seg->writable = 1;
    }
    as->pool = pool;
    as->shm = shm;
    as->owner = owner;
    as->has_ident = 0;
    as->path[0] = '\0';
    seg->priv = as;
    return SCB_OK;
}

/* --- methods ------------------------------------------------------------- */

int scb_apr_create(scb_seg_t *seg, const char *name, size_t size, uint32_t mode)
{
    int rc;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    rc = scb_apr_os_check_name(name);
    if (rc != SCB_OK)
        return rc;
    if (size == 0 || (mode & ~UINT32_C(07777)) != 0)
        return SCB_EINVAL;
    if (mode != APR_SHM_MODE) {
        errno = EPERM;
        return SCB_ENOTSUP;
    }
    return scb_apr_os_create(seg, name, size);
}

int scb_apr_open(scb_seg_t *seg, const char *name, int writable)
{
    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    return scb_apr_os_open(seg, name, writable);
}

int scb_apr_close(scb_seg_t *seg)
{
    scb_apr_seg_t *as;
    int rc = SCB_OK;

    if (seg == NULL)
        return SCB_EINVAL;
    as = seg->priv;
    if (as != NULL) {
        /* Unmap, never remove: the name stays until remove(). */
        rc = scb_apr_release(as->shm, as->pool, as->owner);
        scb_apr_os_closed(); /* this may have been the last map of one */
    }
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    seg->priv = NULL;
    return rc;
}
