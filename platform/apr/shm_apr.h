/*
 * shm_apr.h - what the parts of the apr backend share: shm_apr.c (the part
 * every OS has) and one OS part, chosen by Makefile.am: shm_apr_unix.c
 * (APR's POSIX shared memory objects) or shm_apr_win32.c with
 * shm_apr_win32_files.c (its Windows files and names).  The OS part
 * implements the scb_apr_os_* functions and the two that know APR's
 * apr_shm_t, and defines scb_backend_apr with its OS's facts and the
 * methods below.  Internal to platform/apr/.
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

/* --- Windows: shm_apr_win32.c and its ring files (shm_apr_win32_files.c) -- */

#ifdef _WIN32
#include <windows.h>

/* The longest ring name (see SCB_APR_PATH_MAX_LEN). */
#define SCB_APR_NAME_MAX 100
/* The hex digits of a generation, in a name file and a data file's path. */
#define SCB_APR_GEN_DIGITS 16
/* APR names the mapping after the last 256 - 7 characters of the path
 * ("Global\" or "Local\" first): a data file's path stays within 248, so
 * that the whole path, hence the generation, is in the mapping's name.  A
 * name of 100 characters spells at most 201, which fits under
 * C:\ProgramData; a longer directory shortens them (SCB_ENAMETOOLONG). */
#define SCB_APR_PATH_MAX_LEN 248
#define SCB_APR_PATH_SIZE (SCB_APR_PATH_MAX_LEN + 1)
/* A name file that holds no generation (yet): scb_apr_read_gen and
 * scb_apr_current_gen return it. */
#define SCB_APR_NOT_READY 1

/* The paths of ring `name`: its name file, and the prefix of its data files
 * (the name file's path plus '.'). */
typedef struct scb_apr_paths {
    char name[SCB_APR_PATH_SIZE];
    char data[SCB_APR_PATH_SIZE];
    size_t data_len; /* of the prefix in data */
} scb_apr_paths_t;

/* A Windows error code as an SCB_E* code, left for GetLastError(). */
int scb_apr_win_error(DWORD e);

/* Fills *p for ring `name`: SCB_OK, SCB_EINVAL or SCB_ENAMETOOLONG. */
int scb_apr_paths(scb_apr_paths_t *p, const char *name);
/* Completes p->data with generation gen. */
void scb_apr_data_path(scb_apr_paths_t *p, uint64_t gen);
/* A fresh generation. */
uint64_t scb_apr_new_gen(void);
/* A fresh tombstone path in the ring directory. */
int scb_apr_tomb_path(char *buf, size_t size);

/* Makes the ring directory if it is not there yet. */
int scb_apr_make_dir(void);
/* Creates `path` anew as a private ring file (mode 0600), open for reading,
 * writing and `access`; INVALID_HANDLE_VALUE with GetLastError set. */
HANDLE scb_apr_create_file(const char *path, DWORD access);

/* The generation in an open name file: SCB_OK or SCB_APR_NOT_READY. */
int scb_apr_read_gen(HANDLE h, uint64_t *gen);
/* Opens a name file to read, sharing what `share` says. */
HANDLE scb_apr_open_name(const char *path, DWORD share);
/* The generation ring `p` leads to now: SCB_OK, SCB_APR_NOT_READY, or an
 * SCB_E* code (SCB_ENOENT: no such ring). */
int scb_apr_current_gen(const scb_apr_paths_t *p, uint64_t *gen);

/* Deletes tombstones and data files no name file leads to, where nobody
 * maps them any more; keeps GetLastError(). */
void scb_apr_sweep(void);

/* The list method of scb_backend_apr: reports every name file's ring. */
int scb_apr_list(const scb_backend_lister_t *l);
#endif /* _WIN32 */

#endif /* SCB_SHM_APR_H */
