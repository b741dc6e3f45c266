#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_apr_unix.c - the apr backend on Unix (see shm_apr.c for the backend
 * as a whole): names, APR's apr_shm_t, and the OS object behind an APR
 * name, which APR does not tell.
 *
 * Names.  The ring NAME is the APR file name "/tmp/scb-apr.NAME", one
 * fixed directory so that every process finds the same name whatever its
 * $TMPDIR.  APR (1.7, shm_open build) makes no file there: it hashes the
 * path into a POSIX shared memory object "/ShM.<hash>H<hash>", which Linux
 * shows as /dev/shm/ShM.*.
 *
 * Layout.  APR keeps 8 bytes of metadata (the real size) at the start of
 * the object, so the ring starts exactly one page into it.
 *
 * Read-only.  Readers' pages are made read-only with mprotect.
 */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#define APR_HAVE_MPROTECT 1
#define APR_CAN_PROTECT   1
#else
#define APR_CAN_PROTECT 0
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

/* APR's metadata before the address apr_shm_baseaddr_get returns: the
 * size word. */
#define APR_META     ((size_t)APR_ALIGN_DEFAULT(sizeof(apr_size_t)))
#define APR_SHM_MODE SCB_APR_MODE

/* The APR name of ring NAME (see the top). */
#define APR_PREFIX          "/tmp/scb-apr."
#define APR_LEAF_PREFIX_LEN 8 /* strlen("scb-apr.") */
/* A file name component is at most 255 bytes on the systems APR runs on;
 * on Unix the name is hashed anyway. */
#if 255 - APR_LEAF_PREFIX_LEN < SCB_NAME_MAX
#define APR_NAME_MAX (255 - APR_LEAF_PREFIX_LEN)
#else
#define APR_NAME_MAX SCB_NAME_MAX
#endif
#define APR_PATH_SIZE (sizeof APR_PREFIX + APR_NAME_MAX)

/* --- what shm_apr.c asks of the OS ---------------------------------------- */

static pthread_mutex_t apr_ref_lock = PTHREAD_MUTEX_INITIALIZER;

void scb_apr_os_lock(void)
{
    pthread_mutex_lock(&apr_ref_lock);
}

void scb_apr_os_unlock(void)
{
    pthread_mutex_unlock(&apr_ref_lock);
}

/* errno is all there is. */
unsigned long scb_apr_os_last_error(void)
{
    return 0;
}

void scb_apr_os_set_last_error(unsigned long code)
{
    (void)code;
}

/* APR's OS errors on Unix are errno values: scb_apr_status knows them. */
int scb_apr_os_status(apr_status_t st)
{
    (void)st;
    return SCB_OK;
}

/* The size word is APR's own reading of the object, checked at open
 * against the object's size where the backend knows the object. */
int scb_apr_os_view(const void *usable, size_t *have)
{
    (void)usable;
    (void)have;
    return 1;
}

/* After a close: nothing left to clean up. */
void scb_apr_os_closed(void)
{
}

/*
 * The creator's handle.  apr_shm_create registers a pool cleanup that
 * unmaps *and removes the name* (shm_unlink), and apr_shm_detach does not
 * cancel it: destroying the creator's pool would remove the ring, which
 * close must never do.  APR offers no way to keep the name, so the backend
 * disarms that cleanup: APR's apr_shm_t (shmem/unix/apr_arch_shm.h, the
 * same in APR 1.4 to 1.7) begins with the fields below, and a NULL filename
 * makes the cleanup treat the segment as anonymous (unmap only).  create
 * checks the layout against what the public accessors say and refuses
 * (SCB_ENOTSUP) an APR where it does not match.
 */
struct apr_shm_head {
    apr_pool_t *pool;
    void *base;
    void *usable;
    apr_size_t reqsize;
    apr_size_t realsize;
    const char *filename;
};

int scb_apr_owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool, const char *path)
{
#if APR_USE_SHMEM_MMAP_SHM && APR_USE_SHMEM_MMAP_ANON
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

/* --- names --------------------------------------------------------------- */


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

int scb_apr_os_check_name(const char *name)
{
    char path[APR_PATH_SIZE];

    return apr_path(path, name);
}

#if APR_USE_SHMEM_MMAP_SHM
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

/* The name of the OS object APR 1.7 makes for APR name `path`. */
static void apr_object_name(const char *path, char obj[32])
{
    apr_ssize_t len = (apr_ssize_t)strlen(path);
    unsigned int h1 = apr_hashfunc_default(path, &len);

    snprintf(obj, 32, "/ShM.%xH%x", h1 & 0xffffffffu,
             rs_hash(path) & 0xffffffffu);
}

/* Opens the OS object of APR name `path` read-only: a descriptor, or -1
 * with errno set. */
static int apr_object_open(const char *path)
{
    char obj[32];

    apr_object_name(path, obj);
#if defined(__linux__)
    /* A file there: no link, and no wait on a FIFO. */
    return shm_open(obj, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
#else
    return shm_open(obj, O_RDONLY, 0); /* FreeBSD, macOS: no paths, no flag */
#endif
}

#if defined(__linux__)
/* Reserves the memory behind the first `len` bytes of the OS object of APR
 * name `path` (0: all of it), which must still be the object (dev, ino):
 * APR neither preallocates nor checks, and a write to a page tmpfs cannot
 * supply faults (SIGBUS) instead of failing.  SCB_ENOMEM when /dev/shm is
 * full, SCB_ESYS (ENOENT) when the name leads elsewhere by now.  (APR's
 * own store of its size word, inside apr_shm_create, comes before any
 * reservation: a /dev/shm filled between the free-space check of create
 * and that store still faults there.) */
static int apr_object_reserve(const char *path, uint64_t dev, uint64_t ino,
                              off_t len)
{
    char obj[32];
    struct stat st;
    int fd, rc = SCB_OK, saved;

    apr_object_name(path, obj);
    fd = shm_open(obj, O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0)
        return scb_sys_errno_to_scb(errno);
    if (fstat(fd, &st) != 0) {
        rc = scb_sys_errno_to_scb(errno);
    } else if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
        errno = ENOENT;
        rc = SCB_ESYS;
    } else {
        if (len == 0 || len > st.st_size)
            len = st.st_size;
        if (fallocate(fd, 0, 0, len) != 0 && errno != EOPNOTSUPP &&
            errno != ENOSYS)
            rc = scb_sys_errno_to_scb(errno);
    }
    saved = errno;
    (void)close(fd);
    errno = saved;
    return rc;
}
#endif

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

int scb_apr_os_create(scb_seg_t *seg, const char *name, size_t size)
{
    char path[APR_PATH_SIZE];
    size_t page = scb_sys_page_size(), req;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc;

    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
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
#if defined(__linux__)
        /* APR's own page and the ring's header page are memory before
         * the caller writes its marker there; reserve() does the rest. */
        rc = apr_object_reserve(path, (uint64_t)ost.st_dev,
                                (uint64_t)ost.st_ino, (off_t)(2 * page));
        if (rc != SCB_OK) {
            int saved = errno;

            if (rc == SCB_ESYS && saved == ENOENT) {
                /* The name leads to another object by now: unmap this
                 * one, remove nothing. */
                (void)scb_apr_release(shm, pool, 1);
            } else {
                (void)apr_shm_destroy(shm); /* unmaps, removes the name */
                scb_apr_pool_free(pool);
            }
            errno = saved;
            return rc;
        }
#endif
        rc = scb_apr_finish_create(seg, pool, shm, path, size);
        if (rc == SCB_OK) {
            keep_identity(seg, &ost);
            snprintf(((scb_apr_seg_t *)seg->priv)->path,
                     sizeof ((scb_apr_seg_t *)seg->priv)->path, "%s", path);
        }
        return rc;
    }
#else
    return scb_apr_finish_create(seg, pool, shm, path, size);
#endif
}

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

int scb_apr_os_open(scb_seg_t *seg, const char *name, int writable)
{
    char path[APR_PATH_SIZE];
    int rc;
#if APR_KNOWS_OBJECT
    int obj, saved, attempt;
    struct stat st;
#endif

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
        /* APR would read its size word from whatever is there, and block
         * on a FIFO: only a regular file is a segment. */
        rc = fstat(obj, &st) != 0  ? scb_sys_errno_to_scb(errno)
             : !S_ISREG(st.st_mode) ? SCB_EBADFORMAT
                                    : SCB_OK;
        if (rc == SCB_OK)
            rc = apr_attach(seg, path, writable, obj);
        if (rc == SCB_OK)
            scb_backend_seg_perm(seg, (uint32_t)st.st_uid,
                                 (uint32_t)st.st_gid, (uint32_t)st.st_mode);
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
}

/* Names are exact: the name says what to remove.  On Unix a segment this
 * backend created or opened removes only the object it maps (SCB_ENOENT if
 * the name leads to another one by now); as with posix, a ring removed and
 * made again between that check and apr_shm_remove is still removed.  A
 * zeroed, never-opened seg (scb_unlink) removes whatever the name leads to. */
int scb_apr_os_remove(scb_seg_t *seg, const char *name)
{
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
}

#if APR_KNOWS_OBJECT && defined(__linux__)
/* The rest of the object's memory, after the caller marked the ring as
 * being created (a large segment takes long). */
static int apr_reserve(scb_seg_t *seg)
{
    scb_apr_seg_t *as;

    if (seg == NULL || seg->priv == NULL)
        return SCB_EINVAL;
    as = seg->priv;
    if (!as->has_ident || as->path[0] == '\0')
        return SCB_OK;
    return apr_object_reserve(as->path, as->dev, as->ino, 0);
}
#define APR_RESERVE apr_reserve
#else
#define APR_RESERVE NULL
#endif

const scb_backend_t scb_backend_apr = {
    .name = "apr",
    .name_max = APR_NAME_MAX,
    .names_exact = 1,
    /* seg->base is page aligned (one page into APR's segment), and the
     * mapping covers the last, partly used page. */
    .can_protect = APR_CAN_PROTECT,
    .create = scb_apr_create,
    .reserve = APR_RESERVE,
    .open = scb_apr_open,
    .close = scb_apr_close,
    .remove = scb_apr_os_remove,
    /* APR hashes the names: there is nothing to list them from. */
    .list = NULL,
};
