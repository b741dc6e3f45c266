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
 * file, named after the file's path (Local\ or Global\ plus the path with
 * its separators replaced).  The ring NAME is the file
 * <CSIDL_COMMON_APPDATA>\libscb\scb-apr.LEAF, normally
 * C:\ProgramData\libscb\scb-apr.LEAF, one directory for every user and
 * every environment (see win_dir); LEAF spells NAME so that case and a
 * trailing dot survive (win_leaf: "Ring." is "+ring.~").  Windows differs
 * from Unix in three more ways, which the backend hides:
 *  - a mapping disappears when its last handle closes, but the file keeps
 *    the ring: open re-maps the file (win_revive) when no process has the
 *    mapping, so a ring outlives its processes as on Unix;
 *  - APR opens the file without O_EXCL and truncates it: create makes the
 *    file itself, exclusively, first (win_claim), so a second create is
 *    SCB_EEXIST and never truncates a live ring;
 *  - a file that some process maps cannot be deleted (Windows refuses,
 *    Wine defers it): remove renames it to a tombstone
 *    (scb-dead.<pid>.<n>.<ticks>) and deletes that, or the next create,
 *    remove or close of any ring does once nobody maps it (win_sweep).
 *    Opening an unlinked ring that other processes still map is
 *    SCB_ENOENT; creating its name again is SCB_EEXIST until they have
 *    closed it, because the mapping's name (made from the path) is still
 *    taken.
 * APR keeps 16 bytes of metadata there (memblock_t), and rounds the size up
 * to the allocation granularity (64 KiB): create asks for exactly a multiple
 * so that every process computes the same size.  Readers' pages are made
 * read-only with VirtualProtect.  The mapping takes the creator's default
 * security: only the creator's account (and the system) can open it, which
 * is the mode 0600 this backend accepts.
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
#include <shlobj.h>
#define APR_CAN_PROTECT 1
#else
#include <pthread.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <sys/statvfs.h>
#define APR_HAVE_MPROTECT 1
#define APR_CAN_PROTECT 1
#endif
#endif

#include <apr_errno.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_shm.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"

/* The directory of the APR file names (see the top). */
#define APR_LEAF_PREFIX "scb-apr."
#define APR_LEAF_PREFIX_LEN 8 /* strlen("scb-apr.") */

#if defined(_WIN32)
/* Windows: <common application data>\\libscb\\scb-apr.LEAF, LEAF being the
 * name spelled for a file system that ignores case (win_leaf).  APR names
 * the mapping after the last 256 - 7 characters of the path ("Global\\" or
 * "Local\\" first), so the whole path stays within 248 characters: a name
 * of 100 characters spells at most 201 and fits under C:\\ProgramData; a
 * longer directory shortens them (SCB_ENAMETOOLONG, checked in apr_path). */
#define APR_NAME_MAX 100
#define SCB_APR_PATH_MAX 248
#define APR_PATH_SIZE (SCB_APR_PATH_MAX + 1)
/* APR's memblock_t: two apr_size_t before the user's memory. */
#define APR_META (2 * sizeof(apr_size_t))
#else
#define APR_DIR "/tmp"
#define APR_PREFIX APR_DIR "/" APR_LEAF_PREFIX
/* A file name component is at most 255 bytes on the systems APR runs on;
 * on Unix the name is hashed anyway. */
#if 255 - APR_LEAF_PREFIX_LEN < SCB_NAME_MAX
#define APR_NAME_MAX (255 - APR_LEAF_PREFIX_LEN)
#else
#define APR_NAME_MAX SCB_NAME_MAX
#endif
#define APR_PATH_SIZE (sizeof APR_PREFIX + APR_NAME_MAX)
/* APR's metadata before the address apr_shm_baseaddr_get returns. */
#define APR_META ((size_t)APR_ALIGN_DEFAULT(sizeof(apr_size_t)))
#endif

/* The one mode APR creates. */
#define APR_SHM_MODE UINT32_C(0600)

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
static apr_pool_t *pool_new(int *rc)
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

static void pool_free(apr_pool_t *pool)
{
    if (pool != NULL) {
        apr_pool_destroy(pool);
        apr_unref();
    }
}

/* --- helpers ------------------------------------------------------------- */

#if defined(_WIN32)
/* A Windows error code as an SCB_E* code; the code is left for
 * GetLastError() (SCB_ESYS). */
static int win_to_scb(DWORD e)
{
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

/* Translates an apr_status_t into an SCB_E* code, leaving the native error
 * in errno (GetLastError() on Windows) for SCB_ESYS. */
static int apr_to_scb(apr_status_t st)
{
    int e;

    if (st == APR_SUCCESS)
        return SCB_OK;
#if defined(_WIN32)
    /* Windows errors first: APR_STATUS_IS_EEXIST takes
     * ERROR_ACCESS_DENIED for "exists" there. */
    if (st >= APR_OS_START_SYSERR)
        return win_to_scb((DWORD)APR_TO_OS_ERROR(st));
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

#if defined(_WIN32)
/* The directory of the ring files, <CSIDL_COMMON_APPDATA>\libscb: the same
 * for every user and whatever the environment (TEMP, TMP or ProgramData
 * could differ between two processes). */
static int win_dir(char *dir, size_t size)
{
    char base[MAX_PATH];
    int n;

    if (SHGetFolderPathA(NULL, CSIDL_COMMON_APPDATA, NULL, SHGFP_TYPE_CURRENT,
                         base) != S_OK)
        return win_to_scb(ERROR_PATH_NOT_FOUND);
    n = snprintf(dir, size, "%s\\libscb", base);
    if (n < 0 || (size_t)n >= size)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* 1 if c may not appear in a Windows file name. */
static int win_bad_char(unsigned char c)
{
    return c < 32 || strchr("<>:\"/\\|?*+", c) != NULL;
}

/*
 * The file name part for ring `name` (n bytes) into leaf (size bytes):
 * Windows file names and kernel object names ignore case, and Win32 drops
 * a trailing dot, so "Ring", "ring" and "ring." would be one ring.  An
 * uppercase letter is spelled '+' and the letter in lowercase, and a '~'
 * ends the leaf: "Ring." is "+ring.~".  The length, or 0 if it does not
 * fit.
 */
static size_t win_leaf(char *leaf, size_t size, const char *name, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (k + 3 >= size)
            return 0;
        if (c >= 'A' && c <= 'Z') {
            leaf[k++] = '+';
            leaf[k++] = (char)(c - 'A' + 'a');
        } else {
            leaf[k++] = (char)c;
        }
    }
    leaf[k++] = '~';
    leaf[k] = '\0';
    return k;
}
#endif

static int apr_path(char *path, const char *name)
{
    size_t n;
#if defined(_WIN32)
    char dir[APR_PATH_SIZE], leaf[APR_PATH_SIZE];
    size_t i, d, l;
    int rc;
#endif

    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    n = strlen(name);
    if (n > APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
    if (memchr(name, '/', n) != NULL || memchr(name, '\\', n) != NULL)
        return SCB_EINVAL;
#if defined(_WIN32)
    for (i = 0; i < n; i++)
        if (win_bad_char((unsigned char)name[i]))
            return SCB_EINVAL;
    rc = win_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    d = strlen(dir);
    l = win_leaf(leaf, sizeof leaf, name, n);
    if (l == 0 || d + 1 + APR_LEAF_PREFIX_LEN + l > SCB_APR_PATH_MAX)
        return SCB_ENAMETOOLONG;
    memcpy(path, dir, d);
    path[d] = '\\';
    memcpy(path + d + 1, APR_LEAF_PREFIX, APR_LEAF_PREFIX_LEN);
    memcpy(path + d + 1 + APR_LEAF_PREFIX_LEN, leaf, l + 1);
#else
    memcpy(path, APR_PREFIX, sizeof APR_PREFIX - 1);
    memcpy(path + sizeof APR_PREFIX - 1, name, n + 1);
#endif
    return SCB_OK;
}

#if defined(_WIN32)
/* Windows: the path of the file behind the apr ring `name`, for the tests
 * (tests/scb_win.c declares it); SCB_OK, or the code apr_path returns. */
int scb_apr_file_path(const char *name, char *buf, size_t size);

int scb_apr_file_path(const char *name, char *buf, size_t size)
{
    char path[APR_PATH_SIZE];
    int rc;

    if (buf == NULL)
        return SCB_EINVAL;
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
    if (strlen(path) >= size)
        return SCB_ENAMETOOLONG;
    memcpy(buf, path, strlen(path) + 1);
    return SCB_OK;
}
#endif

/* The per-handle state behind seg->priv. */
typedef struct apr_seg {
    apr_pool_t *pool;
    apr_shm_t *shm;
    int owner; /* 1: made by apr_shm_create in this handle */
} apr_seg_t;

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

static int owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool, const char *path)
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

/* Makes the owner cleanup unmap only (see above). */
static void owner_disarm(apr_shm_t *shm)
{
    ((struct apr_shm_head *)(void *)shm)->filename = NULL;
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

#if defined(_WIN32)
/* --- Windows: files, tombstones, re-mapping ------------------------------ */

#define WIN_TOMB_PREFIX "scb-dead."

/* The allocation granularity: APR sizes file mappings in these units. */
static size_t win_granularity(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    if (si.dwAllocationGranularity == 0 ||
        (si.dwAllocationGranularity & (si.dwAllocationGranularity - 1)) != 0)
        return 65536;
    return (size_t)si.dwAllocationGranularity;
}

/* Deletes the tombstones nobody maps any more (see the top); quietly. */
static void win_sweep(void)
{
    char dir[APR_PATH_SIZE], pat[APR_PATH_SIZE + 16], file[MAX_PATH + 8];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    DWORD err = GetLastError();
    int n;

    if (win_dir(dir, sizeof dir) != SCB_OK)
        goto out;
    n = snprintf(pat, sizeof pat, "%s\\" WIN_TOMB_PREFIX "*", dir);
    if (n < 0 || (size_t)n >= sizeof pat)
        goto out;
    h = FindFirstFileA(pat, &fd);
    if (h == INVALID_HANDLE_VALUE)
        goto out;
    do {
        n = snprintf(file, sizeof file, "%s\\%s", dir, fd.cFileName);
        if (n > 0 && (size_t)n < sizeof file &&
            strncmp(fd.cFileName, WIN_TOMB_PREFIX,
                    sizeof WIN_TOMB_PREFIX - 1) == 0)
            (void)DeleteFileA(file); /* fails while someone maps it */
    } while (FindNextFileA(h, &fd));
    FindClose(h);
out:
    SetLastError(err);
}

/* Creates the ring's directory if needed and its file, exclusively: a ring
 * file already there, even one no process maps, is SCB_EEXIST. */
static int win_claim(const char *path)
{
    char dir[APR_PATH_SIZE];
    HANDLE h;
    int rc;

    rc = win_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    if (!CreateDirectoryA(dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return win_to_scb(GetLastError());
    h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return win_to_scb(GetLastError());
    CloseHandle(h);
    return SCB_OK;
}

/* 1 if the ring file is there under its name (not renamed by remove). */
static int win_file_exists(const char *path)
{
    DWORD err = GetLastError();
    DWORD a = GetFileAttributesA(path);

    SetLastError(err);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/*
 * No process maps the ring: maps its file again, with apr_shm_create on the
 * existing file and the same size (APR opens it without truncating it to
 * less, and writes the same size words the creator wrote).  Returns SCB_OK
 * with *shm, SCB_EAGAIN if another process mapped it meanwhile (attach
 * again), 1 if the file is not a complete ring file (a creator not done,
 * or one that died before sizing it: it opens as an empty segment), or an
 * SCB_E* code (SCB_ENOENT: no file).
 */
static int win_revive(apr_shm_t **shm, const char *path, apr_pool_t *pool)
{
    size_t gran = win_granularity();
    apr_finfo_t fi;
    apr_status_t st;

    st = apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_TYPE, pool);
    if (st != APR_SUCCESS)
        return apr_to_scb(st);
    if (fi.filetype != APR_REG)
        return SCB_ENOENT;
    if (fi.size < (apr_off_t)gran || fi.size % (apr_off_t)gran != 0 ||
        (uint64_t)fi.size > (uint64_t)SIZE_MAX / 2)
        return 1;
    st = apr_shm_create(shm, (apr_size_t)fi.size - APR_META, path, pool);
    if (st == APR_EEXIST)
        return SCB_EAGAIN;
    if (st != APR_SUCCESS)
        return apr_to_scb(st);
    return SCB_OK;
}
#endif

/* --- methods ------------------------------------------------------------- */

static int apr_create(scb_seg_t *seg, const char *name, size_t size,
                      uint32_t mode)
{
    char path[APR_PATH_SIZE];
    size_t page = scb_sys_page_size(), slack, req;
    apr_seg_t *as;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc, saved;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_seg_clear(seg);
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
    if (size == 0 || (mode & ~UINT32_C(07777)) != 0)
        return SCB_EINVAL;
    if (mode != APR_SHM_MODE) {
        errno = EPERM;
        return SCB_ENOTSUP;
    }
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
    slack = page - APR_META;
    if (size > SIZE_MAX / 2 - page) {
        errno = EFBIG;
        return SCB_ENOMEM;
    }
    req = size + slack;
#if defined(_WIN32)
    {
        /* APR rounds req + APR_META up to the granularity: ask for exactly
         * that, so that a process re-mapping the file (win_revive) gets the
         * same size from the file's size. */
        size_t gran = win_granularity();

        req = (req + APR_META + gran - 1) / gran * gran - APR_META;
    }
#endif
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

    pool = pool_new(&rc);
    if (pool == NULL)
        return rc;
    as = apr_palloc(pool, sizeof *as);
    if (as == NULL) {
        pool_free(pool);
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
#if defined(_WIN32)
    win_sweep();
    rc = win_claim(path);
    if (rc != SCB_OK) {
        saved = (int)GetLastError();
        pool_free(pool);
        SetLastError((DWORD)saved);
        return rc;
    }
#endif
    st = apr_shm_create(&shm, (apr_size_t)req, path, pool);
    if (st != APR_SUCCESS) {
        rc = apr_to_scb(st);
        saved = errno;
#if defined(_WIN32)
        /* The mapping's name is taken (an unlinked ring some process still
         * maps, or an opener re-mapping the file just claimed): the file
         * claimed above is not a ring; give the name back. */
        {
            DWORD err = GetLastError();

            (void)DeleteFileA(path);
            SetLastError(err);
        }
#endif
        pool_free(pool);
        errno = saved;
        return rc;
    }
    as->pool = pool;
    as->shm = shm;
    as->owner = 1;
    if (!owner_layout_ok(shm, pool, path)) {
        (void)apr_shm_destroy(shm); /* unmaps and removes the name */
        pool_free(pool);
        scb_seg_clear(seg);
        errno = ENOSYS;
        return SCB_ENOTSUP;
    }
    if (!aligned_view(shm, &seg->base, &seg->size) || seg->size < size) {
        (void)apr_shm_destroy(shm); /* unmaps and removes the name */
        pool_free(pool);
        scb_seg_clear(seg);
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
    seg->writable = 1;
    seg->id = (intptr_t)APR_SHM_MODE;
    seg->priv = as;
    return SCB_OK;
}

static int apr_open(scb_seg_t *seg, const char *name, int writable)
{
    char path[APR_PATH_SIZE];
    apr_seg_t *as;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc, saved, owner = 0;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_seg_clear(seg);
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;

    pool = pool_new(&rc);
    if (pool == NULL)
        return rc;
    as = apr_palloc(pool, sizeof *as);
    if (as == NULL) {
        pool_free(pool);
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
#if defined(_WIN32)
    {
        int tries;

        for (tries = 0;; tries++) {
            st = apr_shm_attach(&shm, path, pool);
            if (st == APR_SUCCESS)
                break;
            if (!APR_STATUS_IS_ENOENT(st) || tries >= 16) {
                rc = apr_to_scb(st);
                saved = (int)GetLastError();
                pool_free(pool);
                SetLastError((DWORD)saved);
                return rc;
            }
            rc = win_revive(&shm, path, pool);
            if (rc == SCB_OK) {
                owner = 1;
                if (!owner_layout_ok(shm, pool, path)) {
                    owner_disarm(shm); /* never delete the ring's file */
                    pool_free(pool);
                    errno = ENOSYS;
                    return SCB_ENOTSUP;
                }
                break;
            }
            if (rc == 1) {
                /* Not a complete ring file: an empty segment. */
                pool_free(pool);
                seg->id = (intptr_t)APR_SHM_MODE;
                return SCB_OK;
            }
            if (rc != SCB_EAGAIN) {
                saved = (int)GetLastError();
                pool_free(pool);
                SetLastError((DWORD)saved);
                return rc;
            }
        }
        if (!win_file_exists(path)) {
            /* Removed (renamed to a tombstone) while others still map it:
             * there is no ring of this name any more. */
            if (owner)
                owner_disarm(shm);
            else
                (void)apr_shm_detach(shm);
            pool_free(pool);
            errno = ENOENT;
            SetLastError(ERROR_FILE_NOT_FOUND);
            return SCB_ENOENT;
        }
    }
#else
    st = apr_shm_attach(&shm, path, pool);
    if (APR_STATUS_IS_EOF(st)) {
        /* An object without APR's size word yet: a creator between
         * shm_open and ftruncate.  It opens as a segment of size 0. */
        pool_free(pool);
        seg->id = (intptr_t)APR_SHM_MODE;
        return SCB_OK;
    }
    if (st != APR_SUCCESS) {
        rc = apr_to_scb(st);
        saved = errno;
        pool_free(pool);
        errno = saved;
        return rc;
    }
#endif
#if APR_HAVE_MPROTECT
    /* APR does not check its mmap: a failed one (or a size word of 0, the
     * creator not done yet) leaves MAP_FAILED + APR_META as the address. */
    if ((char *)apr_shm_baseaddr_get(shm) == (char *)MAP_FAILED + APR_META) {
        saved = errno;
        /* The size word was still 0: a creator not done yet. */
        if ((size_t)apr_shm_size_get(shm) == (size_t)0 - sizeof(apr_size_t)) {
            pool_free(pool); /* its cleanup's munmap fails harmlessly */
            seg->id = (intptr_t)APR_SHM_MODE;
            return SCB_OK;
        }
        pool_free(pool);
        errno = saved;
        return scb_sys_errno_to_scb(saved);
    }
#endif
    as->pool = pool;
    as->shm = shm;
    as->owner = owner;
    if (!aligned_view(shm, &seg->base, &seg->size)) {
        /* Too small to be ours: nothing usable, like an empty object. */
        if (owner)
            owner_disarm(shm);
        else
            (void)apr_shm_detach(shm);
        pool_free(pool);
        scb_seg_clear(seg);
        seg->id = (intptr_t)APR_SHM_MODE;
        return SCB_OK;
    }
    if (seg->size == 0)
        seg->base = NULL;
#if APR_CAN_PROTECT
    if (!writable && seg->size > 0) {
        /* APR maps read-write only; make the ring's pages read-only. */
        size_t page = scb_sys_page_size();
        size_t len = seg->size + (page - seg->size % page) % page;

        rc = scb_sys_protect_readonly(seg->base, len);
        if (rc != SCB_OK) {
            saved = errno;
            if (owner)
                owner_disarm(shm);
            else
                (void)apr_shm_detach(shm);
            pool_free(pool);
            scb_seg_clear(seg);
            errno = saved;
            return rc;
        }
    }
    seg->writable = writable ? 1 : 0;
#else
    /* No way to make the mapping read-only: it stays read-write. */
    seg->writable = 1;
#endif
    seg->id = (intptr_t)APR_SHM_MODE;
    seg->priv = as;
    return SCB_OK;
}

#if APR_CAN_PROTECT
/* seg->base is page aligned relative to the real mapping (one page into
 * the object), and the mapping covers the last, partly used page. */
static int apr_protect(scb_seg_t *seg, size_t off, size_t len)
{
    /* scb_be_protect checked the range against the mapping. */
    if (seg == NULL || seg->base == NULL || !seg->writable)
        return SCB_EINVAL;
    return scb_sys_protect_readonly((char *)seg->base + off, len);
}
#endif

static int apr_close(scb_seg_t *seg)
{
    apr_seg_t *as;
    apr_status_t st = APR_SUCCESS;
    int rc = SCB_OK;

    if (seg == NULL)
        return SCB_EINVAL;
    as = seg->priv;
    if (as != NULL) {
        /* Unmap, never remove: the name stays until remove().  The
         * creator's pool cleanup, disarmed, unmaps when the pool goes. */
        if (as->shm != NULL && as->owner)
            owner_disarm(as->shm);
        else if (as->shm != NULL)
            st = apr_shm_detach(as->shm);
        if (st != APR_SUCCESS)
            rc = apr_to_scb(st);
        pool_free(as->pool);
#if defined(_WIN32)
        win_sweep(); /* this may have been the last map of a tombstone */
#endif
    }
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    seg->priv = NULL;
    return rc;
}

/* Names are exact: the name alone says what to remove; seg is unused and
 * may be NULL. */
static int apr_remove(scb_seg_t *seg, const char *name)
{
    char path[APR_PATH_SIZE];
    apr_pool_t *pool;
    apr_status_t st;
    int rc, saved;

    (void)seg;
    rc = apr_path(path, name);
    if (rc != SCB_OK)
        return rc;
#if defined(_WIN32)
    {
        /* Rename first, then delete: a file that some process maps cannot
         * be deleted on Windows (Wine lets it linger until unmapped), and
         * either way its name must be free at once.  The tombstone is
         * deleted now if nobody maps it, else by a later win_sweep. */
        static volatile LONG counter;
        char dir[APR_PATH_SIZE], tomb[APR_PATH_SIZE + 48];
        int n;

        (void)pool;
        (void)st;
        (void)saved;
        win_sweep();
        rc = win_dir(dir, sizeof dir);
        if (rc != SCB_OK)
            return rc;
        n = snprintf(tomb, sizeof tomb, "%s\\" WIN_TOMB_PREFIX "%lx.%lx.%llx",
                     dir, (unsigned long)GetCurrentProcessId(),
                     (unsigned long)InterlockedIncrement(&counter),
                     (unsigned long long)GetTickCount64());
        if (n < 0 || (size_t)n >= sizeof tomb)
            return SCB_ENAMETOOLONG;
        if (!MoveFileExA(path, tomb, 0))
            return win_to_scb(GetLastError());
        (void)DeleteFileA(tomb);
        SetLastError(0);
        return SCB_OK;
    }
#else
    pool = pool_new(&rc);
    if (pool == NULL)
        return rc;
    st = apr_shm_remove(path, pool);
    rc = apr_to_scb(st);
    saved = errno;
    pool_free(pool);
    errno = saved;
    return rc;
#endif
}

static int apr_get_mode(scb_seg_t *seg, uint32_t *mode)
{
    if (seg == NULL || mode == NULL)
        return SCB_EINVAL;
    *mode = (uint32_t)seg->id;
    return SCB_OK;
}

const scb_backend_t scb_backend_apr = {
    .name = "apr",
    .name_max = APR_NAME_MAX,
    .names_exact = 1,
    .create = apr_create,
    .open = apr_open,
#if APR_CAN_PROTECT
    .protect = apr_protect,
#else
    .protect = NULL,
#endif
    .close = apr_close,
    .remove = apr_remove,
    .get_mode = apr_get_mode,
};
