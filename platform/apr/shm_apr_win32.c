#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_apr_win32.c - the apr backend on Windows (see shm_apr.c for the
 * backend as a whole): what the backend adds to APR's Windows shared
 * memory, a CreateFileMapping on a real file whose mapping is named after
 * the file's path.  APR keeps 16 bytes of metadata there (memblock_t), and
 * readers' pages are made read-only with VirtualProtect.  Where rings live,
 * the name file and the data file of a ring, their paths and security,
 * the sweep and the listing are in shm_apr_win32_files.c.
 *
 * Why two files.  A Windows mapping disappears with its last handle, its
 * name is made from the file's path, and a mapped file cannot be deleted.
 * With the generation in the data file's path, removing a ring frees its
 * name at once, and a new ring of the same name gets a new data file and a
 * new mapping name while processes still map the old one.
 *
 *  - create claims the name file exclusively (CREATE_NEW), open with
 *    DELETE access so that an opener cannot hold it meanwhile, and with an
 *    exclusive lock on it until the mapping exists; writes G, makes the
 *    data file (CREATE_NEW: APR would open an existing one and truncate
 *    it), and maps it with apr_shm_create.  A create that fails deletes
 *    its name file through its handle;
 *  - open reads G, attaches to the mapping, and if no process has it, maps
 *    the data file again (revive) while holding the name and data files open
 *    without delete sharing, so neither can be removed or re-created under
 *    it, and a shared lock on the name file; while a creator is not done
 *    the segment opens as an empty one, as on Unix;
 *    afterwards it checks that the name still leads to G (SCB_ENOENT if the
 *    ring was removed meanwhile);
 *  - remove renames the name file, then the data file, to tombstones
 *    (scb-dead.*) and deletes them; a tombstone some process still maps is
 *    deleted by a later create, remove or close of any ring (sweep), which
 *    also deletes data files no name file leads to.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_shm.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"
#include "shm_apr.h"

/* APR's metadata before the address apr_shm_baseaddr_get returns: its
 * memblock_t (two apr_size_t). */
#define APR_META (2 * sizeof(apr_size_t))
/* The byte of the name file a creator locks until its mapping exists. */
#define CREATE_LOCK_OFF 0x40000000u
/* How long remove retries while an opener holds the files (ms). */
#define REMOVE_RETRY_MS 2000

/* --- what shm_apr.c asks of the OS ---------------------------------------- */

static SRWLOCK apr_ref_lock = SRWLOCK_INIT;

void scb_apr_os_lock(void)
{
    AcquireSRWLockExclusive(&apr_ref_lock);
}

void scb_apr_os_unlock(void)
{
    ReleaseSRWLockExclusive(&apr_ref_lock);
}

unsigned long scb_apr_os_last_error(void)
{
    return (unsigned long)GetLastError();
}

void scb_apr_os_set_last_error(unsigned long code)
{
    SetLastError((DWORD)code);
}

/* Windows errors, kept for GetLastError(); APR_STATUS_IS_EEXIST would take
 * ERROR_ACCESS_DENIED for "exists". */
int scb_apr_os_status(apr_status_t st)
{
    if (st >= APR_OS_START_SYSERR)
        return scb_apr_win_error((DWORD)APR_TO_OS_ERROR(st));
    return SCB_OK;
}

/*
 * The creator's handle.  apr_shm_create registers a pool cleanup that
 * unmaps *and deletes the file*, and apr_shm_detach does not cancel it:
 * destroying the creator's pool would remove the ring, which close must
 * never do.  APR offers no way to keep the file, so the backend disarms
 * that cleanup: APR's apr_shm_t (shmem/win32/shm.c, the same in APR 1.4 to
 * 1.7) begins with the fields below, and a NULL filename makes the cleanup
 * treat the segment as anonymous (unmap only).  create checks the layout
 * against what the public accessors say and refuses (SCB_ENOTSUP) an APR
 * where it does not match.
 */
struct apr_shm_head {
    apr_pool_t *pool;
    void *memblk;
    void *usrmem;
    apr_size_t size;
    apr_size_t length;
    HANDLE hMap;
    const char *filename;
};

int scb_apr_owner_layout_ok(apr_shm_t *shm, apr_pool_t *pool, const char *path)
{
    const struct apr_shm_head *h = (const void *)shm;

    return h->pool == pool && h->usrmem == apr_shm_baseaddr_get(shm) &&
           h->length == apr_shm_size_get(shm) &&
           (char *)h->memblk + APR_META == (char *)h->usrmem &&
           h->size == h->length + APR_META && h->hMap != NULL &&
           h->filename != NULL && strcmp(h->filename, path) == 0;
}

void scb_apr_owner_disarm(apr_shm_t *shm)
{
    ((struct apr_shm_head *)(void *)shm)->filename = NULL;
}

/* The size word comes from the segment, which another process may have
 * written anything into: believe it only within the view. */
int scb_apr_os_view(const void *usable, size_t *have)
{
    MEMORY_BASIC_INFORMATION mbi;
    uintptr_t u = (uintptr_t)usable, end;

    if (VirtualQuery(usable, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT)
        return 0;
    end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
    if (end <= u)
        return 0;
    if (*have > (size_t)(end - u))
        *have = (size_t)(end - u);
    return 1;
}

int scb_apr_os_check_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    if (strlen(name) > SCB_APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* A close may have let go of the last map of an unlinked ring. */
void scb_apr_os_closed(void)
{
    scb_apr_sweep();
}

/* --- create ---------------------------------------------------------------- */

/* The allocation granularity: APR sizes file mappings in these units. */
static size_t granularity(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    if (si.dwAllocationGranularity == 0 ||
        (si.dwAllocationGranularity & (si.dwAllocationGranularity - 1)) != 0)
        return 65536;
    return (size_t)si.dwAllocationGranularity;
}

int scb_apr_os_create(scb_seg_t *seg, const char *name, size_t size)
{
    scb_apr_paths_t p;
    OVERLAPPED ov;
    char hex[SCB_APR_GEN_DIGITS + 1];
    size_t page = scb_sys_page_size(), gran = granularity(), req;
    uint64_t gen = scb_apr_new_gen();
    HANDLE hn, hd;
    DWORD put = 0, err;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc;

    rc = scb_apr_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    scb_apr_data_path(&p, gen);
    /* APR puts APR_META bytes before our address and rounds
     * req + APR_META up to the granularity: ask for exactly that, with
     * a page of slack to start the ring on a page boundary, so that a
     * process mapping the file again computes the same size from it. */
    if (size > SIZE_MAX / 2 - page - gran) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return SCB_ENOMEM;
    }
    req = size + page - APR_META;
    req = (req + APR_META + gran - 1) / gran * gran - APR_META;

    scb_apr_sweep();
    rc = scb_apr_make_dir();
    if (rc != SCB_OK)
        return rc;
    /* With DELETE: an opener cannot open it without delete sharing (it
     * waits), and a failed create deletes exactly this file. */
    hn = scb_apr_create_file(p.name, DELETE);
    if (hn == INVALID_HANDLE_VALUE)
        return scb_apr_win_error(GetLastError());
    memset(&ov, 0, sizeof ov);
    ov.Offset = CREATE_LOCK_OFF;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)gen);
    if (!LockFileEx(hn, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov) ||
        !WriteFile(hn, hex, SCB_APR_GEN_DIGITS, &put, NULL) ||
        put != SCB_APR_GEN_DIGITS) {
        rc = scb_apr_win_error(GetLastError());
        goto fail_name;
    }
    hd = scb_apr_create_file(p.data, 0);
    if (hd == INVALID_HANDLE_VALUE) {
        rc = scb_apr_win_error(GetLastError());
        goto fail_name;
    }
    CloseHandle(hd);

    pool = scb_apr_pool_new(&rc);
    if (pool == NULL)
        goto fail_data;
    st = apr_shm_create(&shm, (apr_size_t)req, p.data, pool);
    if (st != APR_SUCCESS) {
        rc = scb_apr_status(st);
        scb_apr_pool_free(pool);
        goto fail_data;
    }
    /* It destroys shm on failure, which deletes the data file. */
    rc = scb_apr_finish_create(seg, pool, shm, p.data, size);
    if (rc != SCB_OK)
        goto fail_name;
    UnlockFileEx(hn, 0, 1, 0, &ov);
    CloseHandle(hn);
    return SCB_OK;

fail_data:
    err = GetLastError();
    (void)DeleteFileA(p.data);
    SetLastError(err);
fail_name:
    err = GetLastError();
    {
        /* Through the handle: the path may lead to another ring by now. */
        FILE_DISPOSITION_INFO del;

        del.DeleteFile = TRUE;
        (void)SetFileInformationByHandle(hn, FileDispositionInfo, &del,
                                         sizeof del);
    }
    CloseHandle(hn); /* and its lock */
    SetLastError(err);
    return rc;
}

/* --- open ------------------------------------------------------------------ */

#define NOT_READY SCB_APR_NOT_READY /* as scb_apr_current_gen says */
#define TRY_AGAIN 2

/*
 * No process maps generation gen of ring p: maps its data file again with
 * apr_shm_create on the existing file and its size (APR does not truncate
 * it to less, and writes the same size words the creator wrote).  SCB_OK
 * with *shm; NOT_READY (a creator not done, or a ring whose creator died
 * before it was complete); TRY_AGAIN (another process mapped it meanwhile,
 * or the name now leads elsewhere); or an SCB_E* code.
 */
static int revive(const scb_apr_paths_t *p, uint64_t gen, apr_pool_t *pool,
                  apr_shm_t **shm)
{
    size_t gran = granularity();
    LARGE_INTEGER fsize;
    OVERLAPPED ov;
    HANDLE hn, hd = INVALID_HANDLE_VALUE;
    uint64_t now;
    apr_status_t st;
    int rc;

    /* Without FILE_SHARE_DELETE: nobody removes or renames the files
     * while they are being mapped again. */
    hn = scb_apr_open_name(p->name, FILE_SHARE_READ | FILE_SHARE_WRITE);
    if (hn == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_SHARING_VIOLATION
                   ? NOT_READY /* its creator holds it (with DELETE) */
                   : scb_apr_win_error(GetLastError());
    memset(&ov, 0, sizeof ov);
    ov.Offset = CREATE_LOCK_OFF;
    if (!LockFileEx(hn, LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        CloseHandle(hn);
        return NOT_READY; /* its creator holds it */
    }
    rc = scb_apr_read_gen(hn, &now);
    if (rc != SCB_OK || now != gen) {
        rc = rc != SCB_OK ? NOT_READY : TRY_AGAIN;
        goto out;
    }
    hd = CreateFileA(p->data, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (hd == INVALID_HANDLE_VALUE) {
        rc = GetLastError() == ERROR_FILE_NOT_FOUND
                 ? NOT_READY
                 : scb_apr_win_error(GetLastError());
        goto out;
    }
    if (!GetFileSizeEx(hd, &fsize)) {
        rc = scb_apr_win_error(GetLastError());
        goto out;
    }
    if (fsize.QuadPart < (LONGLONG)gran || fsize.QuadPart % (LONGLONG)gran != 0 ||
        (uint64_t)fsize.QuadPart > (uint64_t)SIZE_MAX / 2) {
        rc = NOT_READY; /* not a file this backend made */
        goto out;
    }
    st = apr_shm_create(shm, (apr_size_t)fsize.QuadPart - APR_META, p->data,
                        pool);
    if (st == APR_EEXIST)
        rc = TRY_AGAIN;
    else if (st != APR_SUCCESS)
        rc = scb_apr_status(st);
    else
        rc = SCB_OK;
out:
    if (hd != INVALID_HANDLE_VALUE)
        CloseHandle(hd);
    UnlockFileEx(hn, 0, 1, 0, &ov);
    CloseHandle(hn);
    return rc;
}

int scb_apr_os_open(scb_seg_t *seg, const char *name, int writable)
{
    scb_apr_paths_t p;
    apr_pool_t *pool;
    apr_shm_t *shm;
    apr_status_t st;
    uint64_t gen, now;
    int rc, tries, owner;

    rc = scb_apr_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    for (tries = 0; tries < 64; tries++) {
        rc = scb_apr_current_gen(&p, &gen);
        if (rc == NOT_READY)
            return SCB_OK; /* an empty segment: scb.c retries */
        if (rc != SCB_OK)
            return rc;
        scb_apr_data_path(&p, gen);
        pool = scb_apr_pool_new(&rc);
        if (pool == NULL)
            return rc;
        shm = NULL;
        owner = 0;
        st = apr_shm_attach(&shm, p.data, pool);
        if (st != APR_SUCCESS && !APR_STATUS_IS_ENOENT(st)) {
            rc = scb_apr_status(st);
            scb_apr_pool_free(pool);
            return rc;
        }
        if (st != APR_SUCCESS) {
            rc = revive(&p, gen, pool, &shm);
            if (rc != SCB_OK) {
                scb_apr_pool_free(pool);
                if (rc == NOT_READY)
                    return SCB_OK;
                if (rc == TRY_AGAIN) {
                    Sleep(tries < 8 ? 0 : 1);
                    continue;
                }
                return rc;
            }
            owner = 1;
            if (!scb_apr_owner_layout_ok(shm, pool, p.data)) {
                (void)scb_apr_release(shm, pool, 1);
                SetLastError(ERROR_NOT_SUPPORTED);
                return SCB_ENOTSUP;
            }
        }
        /* Still this ring under this name? */
        rc = scb_apr_current_gen(&p, &now);
        if (rc == SCB_OK && now == gen)
            return scb_apr_finish_open(seg, pool, shm, owner, writable);
        (void)scb_apr_release(shm, pool, owner);
        if (rc != SCB_OK && rc != NOT_READY)
            return rc; /* removed meanwhile: SCB_ENOENT */
    }
    SetLastError(ERROR_BUSY);
    return SCB_ESYS;
}

/* --- remove ---------------------------------------------------------------- */

/* Moves `path` to a fresh tombstone (tomb); retries while an opener holds
 * the file without delete sharing. */
static int to_tomb(const char *path, char *tomb, size_t size)
{
    ULONGLONG end = GetTickCount64() + REMOVE_RETRY_MS;
    int rc;

    for (;;) {
        rc = scb_apr_tomb_path(tomb, size);
        if (rc != SCB_OK)
            return rc;
        if (MoveFileExA(path, tomb, 0))
            return SCB_OK;
        if (GetLastError() != ERROR_SHARING_VIOLATION || GetTickCount64() > end)
            return scb_apr_win_error(GetLastError());
        Sleep(1);
    }
}

int scb_apr_os_remove(scb_seg_t *seg, const char *name)
{
    scb_apr_paths_t p;
    char tomb_name[SCB_APR_PATH_SIZE + 64], tomb_data[SCB_APR_PATH_SIZE + 64];
    uint64_t gen;
    HANDLE h;
    int rc, have_gen;

    (void)seg;
    rc = scb_apr_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    scb_apr_sweep();
    /* The name first: it is free for a new ring from here on. */
    rc = to_tomb(p.name, tomb_name, sizeof tomb_name);
    if (rc != SCB_OK)
        return rc;
    h = scb_apr_open_name(tomb_name, FILE_SHARE_READ | FILE_SHARE_WRITE |
                                         FILE_SHARE_DELETE);
    have_gen = h != INVALID_HANDLE_VALUE && scb_apr_read_gen(h, &gen) == SCB_OK;
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    (void)DeleteFileA(tomb_name);
    if (have_gen) {
        scb_apr_data_path(&p, gen);
        /* The ring is gone with its name: a data file that cannot be
         * moved now is an orphan the sweep deletes later. */
        if (to_tomb(p.data, tomb_data, sizeof tomb_data) == SCB_OK)
            (void)DeleteFileA(tomb_data); /* fails while someone maps it */
    }
    SetLastError(NO_ERROR);
    return SCB_OK;
}

const scb_backend_t scb_backend_apr = {
    .name = "apr",
    .name_max = SCB_APR_NAME_MAX,
    .names_exact = 1,
    /* seg->base is page aligned (a page into APR's segment), and the
     * mapping covers the last, partly used page. */
    .can_protect = 1,
    .create = scb_apr_create,
    .open = scb_apr_open,
    .close = scb_apr_close,
    .remove = scb_apr_os_remove,
    /* The name files are there to list. */
    .list = scb_apr_list,
};
