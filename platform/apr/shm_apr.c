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
 * Names.  The ring NAME is the APR file name APR_DIR "/scb-apr.NAME"
 * ("/tmp/scb-apr.NAME" on Unix), one fixed directory so that every process
 * finds the same name whatever its $TMPDIR.  On Unix APR (1.7, shm_open
 * build) makes no file there: it hashes the path into a POSIX shared memory
 * object "/ShM.<hash>H<hash>", which Linux shows as /dev/shm/ShM.*.  The
 * ring name maps to exactly one APR name, so names_exact is 1.
 *
 * Layout.  APR keeps its own 8 bytes of metadata (the real size) at the
 * start of the object and hands out the address after them, which is only
 * 8-byte aligned.  The ring needs a page aligned base (the header's cache
 * lines, and protect() works on whole pages), so the backend asks APR for
 * APR_META_SLACK more bytes and uses the first page boundary after APR's
 * address as seg->base: on Unix the ring starts exactly one page into the
 * object.  seg->size is the usable size from that base, the same for the
 * creator and for every opener (computed from apr_shm_size_get).
 *
 * Mode.  APR creates its segments 0600 and cannot change that: a create
 * with another mode is SCB_ENOTSUP, and so is one under a umask that takes
 * the owner's read or write bit away (Linux reads it from /proc/self/status).
 *
 * Read-only.  APR attaches read-write only; on Unix the backend then makes
 * the ring's pages read-only itself with mprotect, so readers' mappings are
 * read-only as with the other backends.
 *
 * Windows.  APR's Windows shared memory is a CreateFileMapping on a real
 * file: where those files live and what the backend adds there is in
 * shm_apr_win32.c.  APR keeps 16 bytes of metadata there (memblock_t), and
 * readers' pages are made read-only with VirtualProtect.
 *
 * APR itself: apr_initialize/apr_terminate are reference counted here (one
 * reference per live segment handle, under a mutex), every segment has its
 * own unmanaged pool (seg->priv), so a program that also uses APR is not
 * disturbed, and its own apr_terminate cannot free our segments.
 */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#define APR_CAN_PROTECT 1
#else
#include <pthread.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#define APR_HAVE_MPROTECT 1
#define APR_CAN_PROTECT 1
#endif
#endif

#include <apr_errno.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_shm.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"
#include "shm_apr.h"

#define APR_META SCB_APR_META
#define APR_SHM_MODE SCB_APR_MODE

#if defined(_WIN32)
#define APR_NAME_MAX SCB_APR_WIN_NAME_MAX
#else
/* Unix: the APR name of ring NAME (see the top). */
#define APR_PREFIX "/tmp/scb-apr."
#define APR_LEAF_PREFIX_LEN 8 /* strlen("scb-apr.") */
/* A file name component is at most 255 bytes on the systems APR runs on;
 * on Unix the name is hashed anyway. */
#if 255 - APR_LEAF_PREFIX_LEN < SCB_NAME_MAX
#define APR_NAME_MAX (255 - APR_LEAF_PREFIX_LEN)
#else
#define APR_NAME_MAX SCB_NAME_MAX
#endif
#define APR_PATH_SIZE (sizeof APR_PREFIX + APR_NAME_MAX)
#endif

/* --- apr_initialize / apr_terminate, reference counted ------------------ */

#if defined(_WIN32)
static SRWLOCK apr_ref_lock = SRWLOCK_INIT;
#define REF_LOCK() AcquireSRWLockExclusive(&apr_ref_lock)
#define REF_UNLOCK() ReleaseSRWLockExclusive(&apr_ref_lock)
#else
static pthread_mutex_t apr_ref_lock = PTHREAD_MUTEX_INITIALIZER;
#define REF_LOCK() pthread_mutex_lock(&apr_ref_lock)
#define REF_UNLOCK() pthread_mutex_unlock(&apr_ref_lock)
#endif
static unsigned long apr_refs;

static int apr_ref(void)
{
    apr_status_t st = APR_SUCCESS;

    REF_LOCK();
    if (apr_refs == 0)
        st = apr_initialize();
    if (st == APR_SUCCESS)
        apr_refs++;
    REF_UNLOCK();
    return st == APR_SUCCESS ? SCB_OK : SCB_ESYS;
}

static void apr_unref(void)
{
    REF_LOCK();
    if (apr_refs > 0 && --apr_refs == 0)
        apr_terminate();
    REF_UNLOCK();
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
#if defined(_WIN32)
    DWORD err = GetLastError();
#endif

    if (pool != NULL) {
        apr_pool_destroy(pool);
        apr_unref(); /* apr_terminate may run: it clobbers both */
    }
    errno = saved;
#if defined(_WIN32)
    SetLastError(err);
#endif
}

/* --- helpers ------------------------------------------------------------- */

#if defined(_WIN32)
int scb_apr_win_error(unsigned long code)
{
    DWORD e = (DWORD)code;

    SetLastError(e);
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return SCB_ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return SCB_EEXIST;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
        return SCB_EACCES;
    case ERROR_FILENAME_EXCED_RANGE:
        return SCB_ENAMETOOLONG;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return SCB_ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
        return SCB_EINVAL;
    default:
        return SCB_ESYS;
    }
}
#endif

int scb_apr_status(apr_status_t st)
{
    int e;

    if (st == APR_SUCCESS)
        return SCB_OK;
#if defined(_WIN32)
    /* Windows errors, kept for GetLastError(); APR_STATUS_IS_EEXIST would
     * take ERROR_ACCESS_DENIED for "exists". */
    if (st >= APR_OS_START_SYSERR)
        return scb_apr_win_error((DWORD)APR_TO_OS_ERROR(st));
#endif
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

/*
 * The creator's handle.  apr_shm_create registers a pool cleanup that
 * unmaps *and removes the name* (shm_unlink; on Windows, deletes the file),
 * and apr_shm_detach does not cancel it: destroying the creator's pool
 * would remove the ring, which close must never do.  APR offers no way to
 * keep the name, so the backend disarms that cleanup: the apr_shm_t of
 * each platform (shmem/unix/apr_arch_shm.h and shmem/win32/shm.c, the same
 * in APR 1.4 to 1.7) begins with the fields below, and a NULL filename makes
 * the cleanup treat the segment as anonymous (unmap only).  create checks
 * the layout against what the public accessors say and refuses
 * (SCB_ENOTSUP) an APR where it does not match.
 */
#if defined(_WIN32)
struct apr_shm_head {
    apr_pool_t *pool;
    void *memblk;
    void *usrmem;
    apr_size_t size;
    apr_size_t length;
    HANDLE hMap;
    const char *filename;
};
#else
struct apr_shm_head {
    apr_pool_t *pool;
    void *base;
    void *usable;
    apr_size_t reqsize;
    apr_size_t realsize;
    const char *filename;
};
#endif

int scb_apr_owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool, const char *path)
{
#if defined(_WIN32)
    const struct apr_shm_head *h = (const void *)shm;

    return h->pool == pool && h->usrmem == apr_shm_baseaddr_get(shm) &&
           h->length == apr_shm_size_get(shm) &&
           (char *)h->memblk + APR_META == (char *)h->usrmem &&
           h->size == h->length + APR_META && h->hMap != NULL &&
           h->filename != NULL && strcmp(h->filename, path) == 0;
#elif APR_USE_SHMEM_MMAP_SHM && APR_USE_SHMEM_MMAP_ANON
    const struct apr_shm_head *h = (const void *)shm;

    return h->pool == pool && h->usable == apr_shm_baseaddr_get(shm) &&
           h->reqsize == apr_shm_size_get(shm) &&
           (char *)h->base + APR_META == (char *)h->usable &&
           h->realsize == h->reqsize + APR_META && h->filename != NULL &&
           strcmp(h->filename, path) == 0;
#else
    (void)shm;
    (void)pool;
    (void)path;
    return 0;
#endif
}

void scb_apr_owner_disarm(apr_shm_t *shm)
{
    ((struct apr_shm_head *)(void *)shm)->filename = NULL;
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
#if defined(_WIN32)
    /* The size word comes from the segment, which another process may
     * have written anything into: believe it only within the view. */
    MEMORY_BASIC_INFORMATION mbi;
    uintptr_t end;

    if (VirtualQuery((void *)u, &mbi, sizeof mbi) == 0 ||
        mbi.State != MEM_COMMIT)
        return 0;
    end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
    if (end <= u)
        return 0;
    if (have > (size_t)(end - u))
        have = (size_t)(end - u);
#endif

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
#if !defined(_WIN32)
    as->has_ident = 0;
#endif
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
#if APR_CAN_PROTECT
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
#else
    /* No way to make the mapping read-only: it stays read-write. */
    (void)rc;
    seg->writable = 1;
#endif
    as->pool = pool;
    as->shm = shm;
    as->owner = owner;
#if !defined(_WIN32)
    as->has_ident = 0;
#endif
    seg->priv = as;
    return SCB_OK;
}

#if !defined(_WIN32)
static int apr_path(char *path, const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    n = strlen(name);
    if (n > APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
    if (memchr(name, '/', n) != NULL || memchr(name, '\\', n) != NULL)
        return SCB_EINVAL;
    memcpy(path, APR_PREFIX, sizeof APR_PREFIX - 1);
    memcpy(path + sizeof APR_PREFIX - 1, name, n + 1);
    return SCB_OK;
}
#endif

#if !defined(_WIN32) && APR_USE_SHMEM_MMAP_SHM
#define APR_KNOWS_OBJECT 1
/*
 * The OS object behind an APR name, which APR does not tell.  APR 1.7 on
 * Unix (APR_USE_SHMEM_MMAP_SHM) keeps the segment of the APR name `path` in
 * the POSIX shared memory object "/ShM.<h1>H<h2>", h1 and h2 two 32-bit
 * hashes of the path in hex: h1 apr_hashfunc_default's, h2 the RS hash of
 * Sedgewick's "Algorithms in C".  The backend opens that object itself to
 * learn its identity and its real size.  create checks that the object is
 * there under that name and refuses an APR that names it otherwise
 * (SCB_ENOTSUP).  Paths here are ASCII (apr_path), so how APR's hash reads a
 * char (signed or not) makes no difference.
 */
static unsigned int rs_hash(const char *s)
{
    const unsigned int b = 378551u;
    unsigned int a = 63689u, h = 0;

    for (; *s != '\0'; s++) {
        h = h * a + (unsigned int)(unsigned char)*s;
        a *= b;
    }
    return h;
}

/* Opens the OS object of APR name `path` read-only: a descriptor, or -1
 * with errno set. */
static int apr_object_open(const char *path)
{
    char obj[32];
    apr_ssize_t len = (apr_ssize_t)strlen(path);
    unsigned int h1 = apr_hashfunc_default(path, &len);

    snprintf(obj, sizeof obj, "/ShM.%xH%x", h1 & 0xffffffffu,
             rs_hash(path) & 0xffffffffu);
#if defined(__linux__)
    return shm_open(obj, O_RDONLY | O_NOFOLLOW, 0); /* a file there: no link */
#else
    return shm_open(obj, O_RDONLY, 0); /* FreeBSD, macOS: no paths, no flag */
#endif
}

/* fstat of the OS object of APR name `path`: SCB_OK, SCB_ENOENT if there
 * is none, or another SCB_E* code. */
static int apr_object_stat(const char *path, struct stat *st)
{
    int fd = apr_object_open(path), rc = SCB_OK, saved;

    if (fd < 0)
        return scb_sys_errno_to_scb(errno);
    if (fstat(fd, st) != 0)
        rc = scb_sys_errno_to_scb(errno);
    saved = errno;
    (void)close(fd);
    errno = saved;
    return rc;
}

/* Records in seg->priv which object the handle maps. */
static void keep_identity(scb_seg_t *seg, const struct stat *st)
{
    scb_apr_seg_t *as = seg->priv;

    if (as != NULL) {
        as->has_ident = 1;
        as->dev = (uint64_t)st->st_dev;
        as->ino = (uint64_t)st->st_ino;
    }
}
#else
#define APR_KNOWS_OBJECT 0
#endif

#if defined(__linux__)
/* The process umask, without changing it (Linux 4.7+); -1 if unknown. */
static long read_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long mask = -1;
    unsigned int m;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Umask: %o", &m) == 1) {
            mask = (long)m;
            break;
        }
    fclose(f);
    return mask;
}
#endif

/* --- methods ------------------------------------------------------------- */

static int apr_create(scb_seg_t *seg, const char *name, size_t size,
                      uint32_t mode)
{
#if !defined(_WIN32)
    char path[APR_PATH_SIZE];
    size_t page = scb_sys_page_size(), req;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc;
#endif

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
#if defined(_WIN32)
    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    if (strlen(name) > APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
#else
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
#endif
    if (size == 0 || (mode & ~UINT32_C(07777)) != 0)
        return SCB_EINVAL;
    if (mode != APR_SHM_MODE) {
        errno = EPERM;
        return SCB_ENOTSUP;
    }
#if defined(_WIN32)
    return scb_apr_win_create(seg, name, size);
#else
#if defined(__linux__)
    {
        long mask = read_umask();

        if (mask >= 0 && ((unsigned long)mask & APR_SHM_MODE) != 0) {
            errno = EPERM;
            return SCB_ENOTSUP;
        }
    }
#endif
    /* APR's address is APR_META bytes past a page boundary: ask for enough
     * to start the ring on the next one. */
    if (size > SIZE_MAX / 2 - page) {
        errno = EFBIG;
        return SCB_ENOMEM;
    }
    req = size + page - APR_META;
#if defined(__linux__)
    {
        /* APR neither preallocates nor checks its mmap: a segment larger
         * than /dev/shm can hold would fault later.  Refuse it now. */
        struct statvfs vfs;

        if (statvfs("/dev/shm", &vfs) == 0 && vfs.f_frsize > 0 &&
            (uintmax_t)req / vfs.f_frsize + 2 > (uintmax_t)vfs.f_bavail) {
            errno = ENOSPC;
            return SCB_ENOMEM;
        }
    }
#endif
    pool = scb_apr_pool_new(&rc);
    if (pool == NULL)
        return rc;
    st = apr_shm_create(&shm, (apr_size_t)req, path, pool);
    if (st != APR_SUCCESS) {
        rc = scb_apr_status(st);
        scb_apr_pool_free(pool);
        return rc;
    }
#if APR_KNOWS_OBJECT
    {
        struct stat ost;

        rc = apr_object_stat(path, &ost);
        if (rc != SCB_OK) {
            /* No object under the name APR 1.7 gives it: an APR that names
             * its objects otherwise, which this backend cannot check. */
            (void)apr_shm_destroy(shm); /* unmaps and removes the name */
            scb_apr_pool_free(pool);
            errno = ENOSYS;
            return SCB_ENOTSUP;
        }
        rc = scb_apr_finish_create(seg, pool, shm, path, size);
        if (rc == SCB_OK)
            keep_identity(seg, &ost);
        return rc;
    }
#else
    return scb_apr_finish_create(seg, pool, shm, path, size);
#endif
#endif
}

#if !defined(_WIN32)
#if APR_KNOWS_OBJECT
/*
 * Checks, after apr_shm_attach, the object APR mapped against `obj`, a
 * descriptor of the OS object under the name opened before the attach.
 * APR maps as many bytes as the size word at the start of the object says
 * (`realsize`, its own metadata included) without looking at the object's
 * real size: a word larger than the object, or a truncated object, would
 * let the ring touch pages beyond its end (SIGBUS), and a word smaller than
 * APR's metadata wraps its size around.  Either is SCB_EBADFORMAT.  The name
 * still leading to `obj` after the attach means that APR opened `obj` too:
 * an object once removed from its name does not come back to it (short of
 * its owner renaming it back, who could as well truncate it under every
 * mapping).  SCB_EAGAIN if it leads elsewhere by now (try again),
 * SCB_ENOENT if nowhere.  Fills *ost with obj's fstat.
 */
static int check_object(const char *path, int obj, size_t realsize,
                        struct stat *ost)
{
    struct stat named;
    int rc;

    if (fstat(obj, ost) != 0)
        return scb_sys_errno_to_scb(errno);
    rc = apr_object_stat(path, &named);
    if (rc != SCB_OK)
        return rc;
    if (named.st_dev != ost->st_dev || named.st_ino != ost->st_ino)
        return SCB_EAGAIN;
    if (realsize < APR_META || ost->st_size < 0 ||
        (uintmax_t)realsize > (uintmax_t)ost->st_size) {
        errno = EINVAL;
        return SCB_EBADFORMAT;
    }
    return SCB_OK;
}
#endif

/*
 * Attaches the APR segment `path` and fills seg.  `obj` is a descriptor of
 * its OS object opened before, or -1 where the backend does not know the
 * object (then APR's size word is all there is to go by).
 */
static int apr_attach(scb_seg_t *seg, const char *path, int writable, int obj)
{
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    size_t realsize;
    int rc, saved, mapped;
#if APR_KNOWS_OBJECT
    struct stat ost;
#endif

    pool = scb_apr_pool_new(&rc);
    if (pool == NULL)
        return rc;
    st = apr_shm_attach(&shm, path, pool);
    if (APR_STATUS_IS_EOF(st)) {
        /* An object without APR's size word yet: a creator between
         * shm_open and ftruncate.  It opens as a segment of size 0. */
        scb_apr_pool_free(pool);
        return SCB_OK;
    }
    if (st != APR_SUCCESS) {
        rc = scb_apr_status(st);
        scb_apr_pool_free(pool);
        return rc;
    }
    saved = errno;
    /* APR mapped the size word's value; it reports that less the word. */
    realsize = (size_t)apr_shm_size_get(shm) + sizeof(apr_size_t);
#if APR_HAVE_MPROTECT
    /* APR does not check its mmap: a failed one (or a size word of 0, the
     * creator not done yet) leaves MAP_FAILED + APR_META as the address. */
    mapped = (char *)apr_shm_baseaddr_get(shm) != (char *)MAP_FAILED + APR_META;
#else
    mapped = 1;
#endif
    if (!mapped && realsize == 0) {
        /* The size word was still 0: a creator not done yet. */
        scb_apr_pool_free(pool); /* its cleanup's munmap fails harmlessly */
        return SCB_OK;
    }
#if APR_KNOWS_OBJECT
    if (obj >= 0) {
        rc = check_object(path, obj, realsize, &ost);
        if (rc != SCB_OK) {
            saved = errno;
            if (mapped)
                (void)scb_apr_release(shm, pool, 0);
            else
                scb_apr_pool_free(pool);
            errno = saved;
            return rc;
        }
    }
#else
    (void)obj;
#endif
    if (!mapped) {
        scb_apr_pool_free(pool);
        errno = saved;
        return scb_sys_errno_to_scb(saved);
    }
    rc = scb_apr_finish_open(seg, pool, shm, 0, writable);
#if APR_KNOWS_OBJECT
    if (rc == SCB_OK && obj >= 0)
        keep_identity(seg, &ost);
#endif
    return rc;
}
#endif

static int apr_open(scb_seg_t *seg, const char *name, int writable)
{
#if !defined(_WIN32)
    char path[APR_PATH_SIZE];
    int rc;
#if APR_KNOWS_OBJECT
    int obj, saved, attempt;
#endif
#endif

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
#if defined(_WIN32)
    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    return scb_apr_win_open(seg, name, writable);
#else
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
#if APR_KNOWS_OBJECT
    /* The object first, then APR: check_object ties the two together.  A
     * name that leads to a new object each time looked is given up on. */
    for (attempt = 0; attempt < 4; attempt++) {
        obj = apr_object_open(path);
        if (obj < 0)
            return scb_sys_errno_to_scb(errno);
        rc = apr_attach(seg, path, writable, obj);
        saved = errno;
        (void)close(obj);
        errno = saved;
        if (rc != SCB_EAGAIN)
            return rc;
    }
    errno = EAGAIN;
    return SCB_ESYS;
#else
    return apr_attach(seg, path, writable, -1);
#endif
#endif
}

static int apr_close(scb_seg_t *seg)
{
    scb_apr_seg_t *as;
    int rc = SCB_OK;

    if (seg == NULL)
        return SCB_EINVAL;
    as = seg->priv;
    if (as != NULL) {
        /* Unmap, never remove: the name stays until remove(). */
        rc = scb_apr_release(as->shm, as->pool, as->owner);
#if defined(_WIN32)
        scb_apr_win_sweep(); /* this may have been the last map of one */
#endif
    }
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    seg->priv = NULL;
    return rc;
}

/* Names are exact: the name says what to remove.  On Unix a segment this
 * backend created or opened removes only the object it maps (SCB_ENOENT if
 * the name leads to another one by now); as with posix, a ring removed and
 * made again between that check and apr_shm_remove is still removed.  A
 * zeroed, never-opened seg (scb_unlink) removes whatever the name leads to. */
static int apr_remove(scb_seg_t *seg, const char *name)
{
#if defined(_WIN32)
    (void)seg;
    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    return scb_apr_win_remove(name);
#else
    char path[APR_PATH_SIZE];
    apr_pool_t *pool;
    apr_status_t st;
    int rc;

    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
#if APR_KNOWS_OBJECT
    if (seg != NULL && seg->priv != NULL &&
        ((scb_apr_seg_t *)seg->priv)->has_ident) {
        const scb_apr_seg_t *as = seg->priv;
        struct stat ost;

        rc = apr_object_stat(path, &ost);
        if (rc == SCB_ENOENT)
            return SCB_ENOENT;
        if (rc == SCB_OK && ((uint64_t)ost.st_dev != as->dev ||
                             (uint64_t)ost.st_ino != as->ino))
            return SCB_ENOENT; /* a newer ring under the name */
        /* Not to be looked at (EACCES): the name decides, as before. */
    }
#else
    (void)seg;
#endif
    pool = scb_apr_pool_new(&rc);
    if (pool == NULL)
        return rc;
    st = apr_shm_remove(path, pool);
    rc = scb_apr_status(st);
    scb_apr_pool_free(pool);
    return rc;
#endif
}

const scb_backend_t scb_backend_apr = {
    .name = "apr",
    .name_max = APR_NAME_MAX,
    .names_exact = 1,
#if APR_CAN_PROTECT
    /* seg->base is page aligned (one page into APR's segment), and the
     * mapping covers the last, partly used page. */
    .can_protect = 1,
#else
    .can_protect = 0,
#endif
    .create = apr_create,
    .open = apr_open,
    .close = apr_close,
    .remove = apr_remove,
#if defined(_WIN32)
    /* Windows: the name files are there to list.  Unix: APR hashes the
     * names, so there is nothing to list them from. */
    .list = scb_apr_win_list,
#else
    .list = NULL,
#endif
};
