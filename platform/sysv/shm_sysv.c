#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_sysv.c - the "sysv" backend: the ring NAME is the System V shared
 * memory segment whose key is derived from NAME (shmget, shmat).
 *
 * The key is the 32-bit FNV-1a hash of the string "scb:" NAME, read as a
 * key_t; a hash that falls on IPC_PRIVATE (0) or on -1 becomes 1.  Keys are
 * hashed, so two names can share a key: this backend declares names_exact 0,
 * and the portable code, which keeps the full name in the ring header,
 * compares it at open and before unlink, so a collision is reported, never
 * silently shared or removed.
 *
 * It knows nothing of the ring format and never reads or writes the mapped
 * bytes.  It never marks a segment for removal except in remove() and to
 * undo its own failed create: a named ring outlives the processes that use
 * it until it is unlinked.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/types.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"

/* Ring names are hashed, so the OS puts no bound on them. */
#define SYSV_NAME_MAX 255

_Static_assert(SYSV_NAME_MAX <= SCB_NAME_MAX,
               "a backend may not accept names longer than SCB_NAME_MAX");

/* FNV-1a, 32 bits, over `s` continuing from hash `h`. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= UINT32_C(16777619);
    }
    return h;
}

/* The key of ring `name`, as described at the top of the file. */
static key_t sysv_key(const char *name)
{
    uint32_t h = fnv1a(fnv1a(UINT32_C(2166136261), "scb:"), name);
    key_t key;

    /* Read the hash as a signed 32-bit value without relying on
     * implementation-defined conversion, so every system where key_t is at
     * least 32 bits derives the same key from the same name. */
    if (h <= UINT32_C(0x7fffffff))
        key = (key_t)h;
    else
        key = (key_t)(-(key_t)(UINT32_C(0xffffffff) - h) - 1);
    if (key == IPC_PRIVATE || key == (key_t)-1)
        key = 1;
    return key;
}

/* Checks `name`: SCB_OK, SCB_EINVAL or SCB_ENAMETOOLONG. */
static int sysv_check_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    if (strlen(name) > SYSV_NAME_MAX)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* Translates an errno from a call on a segment already found by its id: the
 * id going stale (EINVAL, EIDRM) means the segment was removed meanwhile. */
static int sysv_errno_by_id(int e)
{
    if (e == EINVAL
#ifdef EIDRM
        || e == EIDRM
#endif
    )
        return SCB_ENOENT;
    return scb_sys_errno_to_scb(e);
}

static int sysv_create(scb_seg_t *seg, const char *name, size_t size,
                       uint32_t mode)
{
    struct shmid_ds ds;
    void *base;
    int id, rc, saved;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    rc = sysv_check_name(name);
    if (rc != SCB_OK)
        return rc;
    if (size == 0 || (mode & ~UINT32_C(07777)) != 0)
        return SCB_EINVAL;
    /* System V segments have no set-id or sticky bits: refuse rather than
     * silently drop them. */
    if ((mode & ~UINT32_C(0777)) != 0)
        return SCB_ENOTSUP;

    /* System V does not apply the umask.  The owner gets read-write for now
     * whatever `mode` says, because shmat checks the mode even for the
     * creator and the writer must attach read-write; the exact mode is set
     * once attached.  The owner can change the mode at any time, so this
     * grants nobody anything they could not have taken. */
    id = shmget(sysv_key(name), size,
                IPC_CREAT | IPC_EXCL | (int)(mode | UINT32_C(0600)));
    if (id < 0) {
        /* With IPC_EXCL an existing key fails with EEXIST first, so EINVAL
         * can only mean a size outside [SHMMIN, SHMMAX]: more shared memory
         * than the system grants. */
        return errno == EINVAL ? SCB_ENOMEM : scb_sys_errno_to_scb(errno);
    }

    /* From here on the segment exists and every failure must remove it. */

    base = shmat(id, NULL, 0);
    if (base == (void *)-1)
        goto fail;
    if (shmctl(id, IPC_STAT, &ds) != 0)
        goto fail_detach;
    if (((uint32_t)ds.shm_perm.mode & UINT32_C(0777)) != mode) {
        ds.shm_perm.mode = (ds.shm_perm.mode & ~0777u) | mode;
        if (shmctl(id, IPC_SET, &ds) != 0 || shmctl(id, IPC_STAT, &ds) != 0)
            goto fail_detach;
        if (((uint32_t)ds.shm_perm.mode & UINT32_C(0777)) != mode) {
            errno = EPERM;
            rc = SCB_ENOTSUP;
            goto undo_detach;
        }
    }

    /* The OS hands out zero-filled segments; nothing to clear. */
    seg->base = base;
    seg->size = size;
    seg->writable = 1;
    seg->id = id;
    scb_backend_seg_perm(seg, (uint32_t)ds.shm_perm.uid,
                         (uint32_t)ds.shm_perm.gid, (uint32_t)ds.shm_perm.mode);
    return SCB_OK;

fail_detach:
    rc = scb_sys_errno_to_scb(errno);
undo_detach:
    saved = errno;
    (void)shmdt(base);
    errno = saved;
    goto undo;
fail:
    rc = scb_sys_errno_to_scb(errno);
undo:
    /* Cleanup must not replace the errno that explains the failure. */
    saved = errno;
    (void)shmctl(id, IPC_RMID, NULL);
    errno = saved;
    return rc;
}

static int sysv_open(scb_seg_t *seg, const char *name, int writable)
{
    struct shmid_ds ds;
    void *base = NULL;
    size_t size;
    int id, rc;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    rc = sysv_check_name(name);
    if (rc != SCB_OK)
        return rc;

    /* Size 0 and no flags find an existing segment of any size without
     * creating one; ENOENT when there is none. */
    id = shmget(sysv_key(name), 0, 0);
    if (id < 0)
        return scb_sys_errno_to_scb(errno);
    /* The size is the segment's, as the OS reports it: whatever the ring
     * header claims is checked against this, never the other way. */
    if (shmctl(id, IPC_STAT, &ds) != 0)
        return sysv_errno_by_id(errno);
    size = (size_t)ds.shm_segsz;
    /* System V has no empty segments, but the contract for one is cheap. */
    if (size > 0) {
        base = shmat(id, NULL, writable ? 0 : SHM_RDONLY);
        if (base == (void *)-1)
            return sysv_errno_by_id(errno);
    }

    seg->base = base;
    seg->size = size;
    seg->writable = writable ? 1 : 0;
    seg->id = id;
    scb_backend_seg_perm(seg, (uint32_t)ds.shm_perm.uid,
                         (uint32_t)ds.shm_perm.gid, (uint32_t)ds.shm_perm.mode);
    return SCB_OK;
}

static int sysv_close(scb_seg_t *seg)
{
    int rc = SCB_OK;

    if (seg == NULL)
        return SCB_EINVAL;
    if (seg->base != NULL && shmdt(seg->base) != 0)
        rc = scb_sys_errno_to_scb(errno);
    /* The handle is released even if shmdt failed: the caller frees it
     * either way, and a second shmdt of the same address must not happen.
     * id stays: it holds no resource, and remove() may still be given it
     * after close. */
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    return rc;
}

/*
 * Removes the segment by the id it was opened under, not by looking the key
 * up again: between the portable code's check of the name in the header and
 * this call, the segment could have been removed and another one created
 * under the same key, which a fresh lookup would remove instead.  Attached
 * handles keep working; the OS frees the memory after the last detach.
 */
static int sysv_remove(scb_seg_t *seg, const char *name)
{
    int rc;

    if (seg == NULL)
        return SCB_EINVAL;
    rc = sysv_check_name(name);
    if (rc != SCB_OK)
        return rc;
    if (seg->id < 0 || seg->id > INT32_MAX)
        return SCB_EINVAL;
    if (shmctl((int)seg->id, IPC_RMID, NULL) != 0)
        return sysv_errno_by_id(errno);
    return SCB_OK;
}

#if defined(__linux__) && defined(SHM_INFO) && defined(SHM_STAT)
#define SYSV_CAN_LIST 1

/*
 * Lists the rings among the segments the caller can see: Linux enumerates
 * them by kernel index (SHM_INFO gives the highest index in use, SHM_STAT
 * turns an index into an id).  Each segment this process may attach is
 * attached read-only and handed to l->name_of, which reads the ring name in
 * it (the format is the portable code's business); the name is reported only
 * if its key leads to this very segment, so a segment removed already (its
 * key is gone) or a foreign segment that merely looks like a ring is not.
 * Segments that cannot be read or attached are skipped.  Other systems have
 * no such enumeration, so there list is NULL.
 */
static int sysv_list(const scb_backend_lister_t *l)
{
    char name[SCB_NAME_MAX + 1];
    struct shm_info info;
    struct shmid_ds ds;
    scb_seg_t seg;
    void *base;
    int max, i, id, ok;

    if (l == NULL || l->name_of == NULL || l->report == NULL)
        return SCB_EINVAL;
    max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
    if (max < 0)
        return scb_sys_errno_to_scb(errno);
    for (i = 0; i <= max; i++) {
        id = shmctl(i, SHM_STAT, &ds);
        if (id < 0 || ds.shm_segsz == 0)
            continue;
        base = shmat(id, NULL, SHM_RDONLY);
        if (base == (void *)-1)
            continue;
        scb_backend_seg_clear(&seg);
        seg.base = base;
        seg.size = (size_t)ds.shm_segsz;
        seg.id = id;
        ok = l->name_of(&seg, name, l->arg);
        (void)shmdt(base);
        if (!ok || sysv_check_name(name) != SCB_OK ||
            shmget(sysv_key(name), 0, 0) != id)
            continue;
        if (l->report(name, l->arg) != 0)
            break;
    }
    return SCB_OK;
}
#else
#define SYSV_CAN_LIST 0
#endif

const scb_backend_t scb_backend_sysv = {
    .name = "sysv",
    .name_max = SYSV_NAME_MAX,
    .names_exact = 0,
    .can_protect = 1,
    .create = sysv_create,
    .open = sysv_open,
    .close = sysv_close,
    .remove = sysv_remove,
#if SYSV_CAN_LIST
    .list = sysv_list,
#else
    .list = NULL,
#endif
};
