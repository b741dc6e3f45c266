#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_apr_win32.c - the apr backend on Windows (see shm_apr.c for the
 * backend as a whole): where rings live, and what the backend adds to APR's
 * Windows shared memory, a CreateFileMapping on a real file whose mapping
 * is named after the file's path.  APR keeps 16 bytes of metadata there
 * (memblock_t), and readers' pages are made read-only with VirtualProtect.
 *
 * Files.  Every ring file is in one directory, <CSIDL_COMMON_APPDATA>\libscb
 * (normally C:\ProgramData\libscb), the same for every user and every
 * environment (TEMP could differ between two processes).  Ring NAME has
 *  - a name file scb-apr.LEAF: 16 hex digits, the ring's generation G;
 *  - a data file scb-apr.LEAF.G: the APR segment, which keeps the ring while
 *    no process maps it.
 * LEAF spells NAME for a file system that ignores case and drops a trailing
 * dot: a capital is '+' and the letter in lowercase, and '~' ends it
 * ("Ring." is "+ring.~").  The directory, when the backend makes it, lets
 * everyone list it and add files but delete only their own; every file is
 * made readable and writable by its creator and the system only (the mode
 * 0600 this backend accepts), and so is the mapping (APR makes it with the
 * creator's default security).
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
 *
 * Paths are ANSI (the -A functions) and APR reads them as UTF-8: the same
 * as long as the directory's path is ASCII, as C:\ProgramData is.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <sddl.h>
#include <shlobj.h>

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
/* The longest ring name (see PATH_MAX_LEN). */
#define APR_NAME_MAX 100

#define LEAF_PREFIX "scb-apr."
#define TOMB_PREFIX "scb-dead."
#define GEN_DIGITS 16
/* APR names the mapping after the last 256 - 7 characters of the path
 * ("Global\" or "Local\" first): a data file's path stays within 248, so
 * that the whole path, hence the generation, is in the mapping's name.  A
 * name of 100 characters spells at most 201, which fits under
 * C:\ProgramData; a longer directory shortens them (SCB_ENAMETOOLONG). */
#define PATH_MAX_LEN 248
#define PATH_SIZE (PATH_MAX_LEN + 1)
/* The byte of the name file a creator locks until its mapping exists. */
#define CREATE_LOCK_OFF 0x40000000u
/* How long remove retries while an opener holds the files (ms). */
#define REMOVE_RETRY_MS 2000

/* --- errors, paths ------------------------------------------------------- */

/* A Windows error code (a DWORD) as an SCB_E* code; the code is left for
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

/* The directory of the ring files, found once per process (every
 * operation needs it, and the sweep runs at every close). */
static INIT_ONCE dir_once = INIT_ONCE_STATIC_INIT;
static char dir_path[PATH_SIZE];
static DWORD dir_error; /* 0, or why there is none */

static BOOL CALLBACK find_dir(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
    char base[MAX_PATH];
    int n;

    (void)once;
    (void)arg;
    (void)ctx;
    if (SHGetFolderPathA(NULL, CSIDL_COMMON_APPDATA, NULL, SHGFP_TYPE_CURRENT,
                         base) != S_OK) {
        dir_error = ERROR_PATH_NOT_FOUND;
        return TRUE;
    }
    n = snprintf(dir_path, sizeof dir_path, "%s\\libscb", base);
    if (n < 0 || (size_t)n >= sizeof dir_path)
        dir_error = ERROR_FILENAME_EXCED_RANGE;
    return TRUE;
}

static int ring_dir(char *dir, size_t size)
{
    if (!InitOnceExecuteOnce(&dir_once, find_dir, NULL, NULL))
        return win_to_scb(GetLastError());
    if (dir_error != 0)
        return win_to_scb(dir_error);
    if (strlen(dir_path) >= size)
        return SCB_ENAMETOOLONG;
    memcpy(dir, dir_path, strlen(dir_path) + 1);
    return SCB_OK;
}

/* The paths of ring `name`: its name file, and the prefix of its data files
 * (the name file's path plus '.'). */
typedef struct ring_paths {
    char name[PATH_SIZE];
    char data[PATH_SIZE];
    size_t data_len; /* of the prefix in data */
} ring_paths_t;

static int ring_paths(ring_paths_t *p, const char *name)
{
    char dir[PATH_SIZE];
    size_t n, i, k;
    int rc;

    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    n = strlen(name);
    if (n > APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
    rc = ring_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    k = (size_t)snprintf(p->name, sizeof p->name, "%s\\" LEAF_PREFIX, dir);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        /* scb.c let only [A-Za-z0-9._-] through; anything else here would
         * be a path or a device. */
        if (c < 32 || strchr("<>:\"/\\|?*+~", c) != NULL)
            return SCB_EINVAL;
        if (k + 3 >= sizeof p->name)
            return SCB_ENAMETOOLONG;
        if (c >= 'A' && c <= 'Z') {
            p->name[k++] = '+';
            p->name[k++] = (char)(c - 'A' + 'a');
        } else {
            p->name[k++] = (char)c;
        }
    }
    p->name[k++] = '~';
    p->name[k] = '\0';
    if (k + 1 + GEN_DIGITS > PATH_MAX_LEN)
        return SCB_ENAMETOOLONG;
    memcpy(p->data, p->name, k);
    p->data[k] = '.';
    p->data[k + 1] = '\0';
    p->data_len = k + 1;
    return SCB_OK;
}

/* Completes p->data with generation gen. */
static void data_path(ring_paths_t *p, uint64_t gen)
{
    snprintf(p->data + p->data_len, sizeof p->data - p->data_len, "%016llx",
             (unsigned long long)gen);
}

/* A fresh generation: the process, the clock and a counter, mixed. */
static uint64_t new_gen(void)
{
    static volatile LONG counter;
    LARGE_INTEGER c;
    uint64_t z;

    QueryPerformanceCounter(&c);
    z = (uint64_t)c.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 40) ^
        ((uint64_t)(uint32_t)InterlockedIncrement(&counter) << 20) ^
        GetTickCount64();
    return scb_sys_mix64(z);
}

/* A tombstone path in the ring directory (see the top). */
static int tomb_path(char *buf, size_t size)
{
    static volatile LONG counter;
    char dir[PATH_SIZE];
    int n, rc;

    rc = ring_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    n = snprintf(buf, size, "%s\\" TOMB_PREFIX "%lx.%lx.%llx", dir,
                 (unsigned long)GetCurrentProcessId(),
                 (unsigned long)InterlockedIncrement(&counter),
                 (unsigned long long)GetTickCount64());
    if (n < 0 || (size_t)n >= size)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* --- security ------------------------------------------------------------ */

/* A security descriptor from SDDL, with "%s" in it replaced by this
 * process's user SID; NULL on failure (GetLastError set).  LocalFree it. */
static PSECURITY_DESCRIPTOR make_sd(const char *sddl_fmt)
{
    HANDLE tok = NULL;
    char buf[256], sddl[512], *sid = NULL;
    DWORD len = 0;
    PSECURITY_DESCRIPTOR sd = NULL;

    if (strstr(sddl_fmt, "%s") != NULL) {
        if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
            return NULL;
        if (GetTokenInformation(tok, TokenUser, buf, sizeof buf, &len) &&
            ConvertSidToStringSidA(((TOKEN_USER *)(void *)buf)->User.Sid,
                                   &sid)) {
            snprintf(sddl, sizeof sddl, sddl_fmt, sid);
            LocalFree(sid);
        } else {
            CloseHandle(tok);
            return NULL;
        }
        CloseHandle(tok);
    } else {
        snprintf(sddl, sizeof sddl, "%s", sddl_fmt);
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
            sddl, SDDL_REVISION_1, &sd, NULL))
        return NULL;
    return sd;
}

/* A ring file: its creator and the system, nobody else (mode 0600). */
#define FILE_SDDL "D:P(A;;FA;;;%s)(A;;FA;;;SY)"
/* The directory: the system and administrators may do anything; everyone
 * may list it, add files and read attributes, but not delete others'
 * files (FILE_LIST_DIRECTORY | FILE_ADD_FILE | FILE_READ_EA |
 * FILE_TRAVERSE | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE). */
#define DIR_SDDL "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200ab;;;WD)"

/* Creates the ring directory if it is not there yet. */
static int make_dir(void)
{
    char dir[PATH_SIZE];
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd;
    DWORD err;
    int rc;

    rc = ring_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    if (GetFileAttributesA(dir) != INVALID_FILE_ATTRIBUTES)
        return SCB_OK;
    sd = make_sd(DIR_SDDL);
    if (sd == NULL)
        return win_to_scb(GetLastError());
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    rc = SCB_OK;
    if (!CreateDirectoryA(dir, &sa) &&
        (err = GetLastError()) != ERROR_ALREADY_EXISTS)
        rc = win_to_scb(err);
    LocalFree(sd);
    return rc;
}

/* Creates `path` anew (CREATE_NEW) as a private ring file, open for
 * reading, writing and `access`; the handle, or INVALID_HANDLE_VALUE with
 * GetLastError set. */
static HANDLE create_file(const char *path, DWORD access)
{
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd = make_sd(FILE_SDDL);
    HANDLE h;
    DWORD err;

    if (sd == NULL)
        return INVALID_HANDLE_VALUE;
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE | access,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    err = GetLastError();
    LocalFree(sd);
    SetLastError(err);
    return h;
}

/* --- the name file --------------------------------------------------------- */

/* Reads the generation from an open name file: SCB_OK, or 1 if it does not
 * hold one (a creator not done, one that died, or garbage). */
static int read_gen(HANDLE h, uint64_t *gen)
{
    char buf[GEN_DIGITS + 1];
    DWORD got = 0;
    uint64_t g = 0;
    int i;

    if (SetFilePointer(h, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER &&
        GetLastError() != NO_ERROR)
        return 1;
    if (!ReadFile(h, buf, sizeof buf, &got, NULL) || got != GEN_DIGITS)
        return 1;
    for (i = 0; i < GEN_DIGITS; i++) {
        char c = buf[i];

        if (c >= '0' && c <= '9')
            g = g << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            g = g << 4 | (uint64_t)(c - 'a' + 10);
        else
            return 1;
    }
    *gen = g;
    return SCB_OK;
}

/* Opens a name file to read, sharing what `share` says. */
static HANDLE open_name(const char *path, DWORD share)
{
    return CreateFileA(path, GENERIC_READ, share, NULL, OPEN_EXISTING,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

/* The generation ring `p` leads to now: SCB_OK, 1 (none yet), or an SCB_E*
 * code (SCB_ENOENT: no such ring). */
static int current_gen(const ring_paths_t *p, uint64_t *gen)
{
    HANDLE h = open_name(p->name, FILE_SHARE_READ | FILE_SHARE_WRITE |
                                      FILE_SHARE_DELETE);
    int rc;

    if (h == INVALID_HANDLE_VALUE)
        return win_to_scb(GetLastError());
    rc = read_gen(h, gen);
    CloseHandle(h);
    return rc;
}

/* --- sweep ----------------------------------------------------------------- */

/* 1 if data file `file` (a leaf in dir) is one that no name file leads
 * to: its name file is gone, or holds another generation. */
static int orphan_data(const char *dir, const char *file)
{
    char name[PATH_SIZE], *dot;
    uint64_t gen, mine = 0;
    HANDLE h;
    int n, i;

    n = snprintf(name, sizeof name, "%s\\%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof name)
        return 0;
    dot = strrchr(name, '.');
    if (dot == NULL || strlen(dot + 1) != GEN_DIGITS || dot[-1] != '~')
        return 0;
    for (i = 1; i <= GEN_DIGITS; i++) {
        char c = dot[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        mine = mine << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *dot = '\0';
    h = open_name(name, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND;
    n = read_gen(h, &gen);
    CloseHandle(h);
    return n == SCB_OK && gen != mine;
}

static void sweep(void)
{
    char dir[PATH_SIZE], pat[PATH_SIZE + 16], file[PATH_SIZE + MAX_PATH];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    DWORD err = GetLastError();
    int n;

    if (ring_dir(dir, sizeof dir) != SCB_OK)
        goto out;
    n = snprintf(pat, sizeof pat, "%s\\scb-*", dir);
    if (n < 0 || (size_t)n >= sizeof pat)
        goto out;
    h = FindFirstFileA(pat, &fd);
    if (h == INVALID_HANDLE_VALUE)
        goto out;
    do {
        int tomb = strncmp(fd.cFileName, TOMB_PREFIX,
                           sizeof TOMB_PREFIX - 1) == 0;

        if (!tomb && !(strncmp(fd.cFileName, LEAF_PREFIX,
                               sizeof LEAF_PREFIX - 1) == 0 &&
                       orphan_data(dir, fd.cFileName)))
            continue;
        n = snprintf(file, sizeof file, "%s\\%s", dir, fd.cFileName);
        if (n > 0 && (size_t)n < sizeof file)
            (void)DeleteFileA(file); /* fails while someone maps it */
    } while (FindNextFileA(h, &fd));
    FindClose(h);
out:
    SetLastError(err);
}

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
        return win_to_scb((DWORD)APR_TO_OS_ERROR(st));
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
    if (strlen(name) > APR_NAME_MAX)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* A close may have let go of the last map of an unlinked ring. */
void scb_apr_os_closed(void)
{
    sweep();
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
    ring_paths_t p;
    OVERLAPPED ov;
    char hex[GEN_DIGITS + 1];
    size_t page = scb_sys_page_size(), gran = granularity(), req;
    uint64_t gen = new_gen();
    HANDLE hn, hd;
    DWORD put = 0, err;
    apr_pool_t *pool;
    apr_shm_t *shm = NULL;
    apr_status_t st;
    int rc;

    rc = ring_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    data_path(&p, gen);
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

    sweep();
    rc = make_dir();
    if (rc != SCB_OK)
        return rc;
    /* With DELETE: an opener cannot open it without delete sharing (it
     * waits), and a failed create deletes exactly this file. */
    hn = create_file(p.name, DELETE);
    if (hn == INVALID_HANDLE_VALUE)
        return win_to_scb(GetLastError());
    memset(&ov, 0, sizeof ov);
    ov.Offset = CREATE_LOCK_OFF;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)gen);
    if (!LockFileEx(hn, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov) ||
        !WriteFile(hn, hex, GEN_DIGITS, &put, NULL) || put != GEN_DIGITS) {
        rc = win_to_scb(GetLastError());
        goto fail_name;
    }
    hd = create_file(p.data, 0);
    if (hd == INVALID_HANDLE_VALUE) {
        rc = win_to_scb(GetLastError());
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

#define NOT_READY 1
#define TRY_AGAIN 2

/*
 * No process maps generation gen of ring p: maps its data file again with
 * apr_shm_create on the existing file and its size (APR does not truncate
 * it to less, and writes the same size words the creator wrote).  SCB_OK
 * with *shm; NOT_READY (a creator not done, or a ring whose creator died
 * before it was complete); TRY_AGAIN (another process mapped it meanwhile,
 * or the name now leads elsewhere); or an SCB_E* code.
 */
static int revive(const ring_paths_t *p, uint64_t gen, apr_pool_t *pool,
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
    hn = open_name(p->name, FILE_SHARE_READ | FILE_SHARE_WRITE);
    if (hn == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_SHARING_VIOLATION
                   ? NOT_READY /* its creator holds it (with DELETE) */
                   : win_to_scb(GetLastError());
    memset(&ov, 0, sizeof ov);
    ov.Offset = CREATE_LOCK_OFF;
    if (!LockFileEx(hn, LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        CloseHandle(hn);
        return NOT_READY; /* its creator holds it */
    }
    rc = read_gen(hn, &now);
    if (rc != SCB_OK || now != gen) {
        rc = rc != SCB_OK ? NOT_READY : TRY_AGAIN;
        goto out;
    }
    hd = CreateFileA(p->data, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (hd == INVALID_HANDLE_VALUE) {
        rc = GetLastError() == ERROR_FILE_NOT_FOUND
                 ? NOT_READY
                 : win_to_scb(GetLastError());
        goto out;
    }
    if (!GetFileSizeEx(hd, &fsize)) {
        rc = win_to_scb(GetLastError());
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
    ring_paths_t p;
    apr_pool_t *pool;
    apr_shm_t *shm;
    apr_status_t st;
    uint64_t gen, now;
    int rc, tries, owner;

    rc = ring_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    for (tries = 0; tries < 64; tries++) {
        rc = current_gen(&p, &gen);
        if (rc == NOT_READY)
            return SCB_OK; /* an empty segment: scb.c retries */
        if (rc != SCB_OK)
            return rc;
        data_path(&p, gen);
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
        rc = current_gen(&p, &now);
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
        rc = tomb_path(tomb, size);
        if (rc != SCB_OK)
            return rc;
        if (MoveFileExA(path, tomb, 0))
            return SCB_OK;
        if (GetLastError() != ERROR_SHARING_VIOLATION || GetTickCount64() > end)
            return win_to_scb(GetLastError());
        Sleep(1);
    }
}

int scb_apr_os_remove(scb_seg_t *seg, const char *name)
{
    ring_paths_t p;
    char tomb_name[PATH_SIZE + 64], tomb_data[PATH_SIZE + 64];
    uint64_t gen;
    HANDLE h;
    int rc, have_gen;

    (void)seg;
    rc = ring_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    sweep();
    /* The name first: it is free for a new ring from here on. */
    rc = to_tomb(p.name, tomb_name, sizeof tomb_name);
    if (rc != SCB_OK)
        return rc;
    h = open_name(tomb_name, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    have_gen = h != INVALID_HANDLE_VALUE && read_gen(h, &gen) == SCB_OK;
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    (void)DeleteFileA(tomb_name);
    if (have_gen) {
        data_path(&p, gen);
        /* The ring is gone with its name: a data file that cannot be
         * moved now is an orphan the sweep deletes later. */
        if (to_tomb(p.data, tomb_data, sizeof tomb_data) == SCB_OK)
            (void)DeleteFileA(tomb_data); /* fails while someone maps it */
    }
    SetLastError(NO_ERROR);
    return SCB_OK;
}

/* --- list ------------------------------------------------------------------ */

/* The ring name a name file's leaf spells (see ring_paths); 0 if `leaf`
 * is no name file. */
static int leaf_name(const char *leaf, char *name, size_t size)
{
    size_t plen = sizeof LEAF_PREFIX - 1, n = strlen(leaf), i, k = 0;

    if (n <= plen + 1 || strncmp(leaf, LEAF_PREFIX, plen) != 0 ||
        leaf[n - 1] != '~')
        return 0;
    for (i = plen; i < n - 1; i++) {
        char c = leaf[i];

        if (k + 1 >= size)
            return 0;
        if (c == '+') {
            c = leaf[++i];
            if (i >= n - 1 || c < 'a' || c > 'z')
                return 0;
            c = (char)(c - 'a' + 'A');
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-')) {
            return 0;
        }
        name[k++] = c;
    }
    name[k] = '\0';
    return k > 0 && k <= APR_NAME_MAX;
}

static int list_rings(const scb_backend_lister_t *l)
{
    char dir[PATH_SIZE], pat[PATH_SIZE + 16], name[SCB_NAME_MAX + 1];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    DWORD err;
    int rc;

    if (l == NULL || l->report == NULL)
        return SCB_EINVAL;
    rc = ring_dir(dir, sizeof dir);
    if (rc != SCB_OK)
        return rc;
    snprintf(pat, sizeof pat, "%s\\" LEAF_PREFIX "*~", dir);
    h = FindFirstFileA(pat, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND
                   ? SCB_OK
                   : win_to_scb(err);
    }
    do {
        if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0 &&
            leaf_name(fd.cFileName, name, sizeof name) &&
            l->report(name, l->arg) != 0)
            break;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return SCB_OK;
}

/* The data file of ring `name` as it is now, for the tests (tests/scb_win.c
 * declares it): SCB_OK, or the code open would return. */
int scb_apr_file_path(const char *name, char *buf, size_t size);

int scb_apr_file_path(const char *name, char *buf, size_t size)
{
    ring_paths_t p;
    uint64_t gen;
    int rc;

    if (buf == NULL)
        return SCB_EINVAL;
    rc = ring_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    rc = current_gen(&p, &gen);
    if (rc == NOT_READY)
        return SCB_EBADFORMAT;
    if (rc != SCB_OK)
        return rc;
    data_path(&p, gen);
    if (strlen(p.data) >= size)
        return SCB_ENAMETOOLONG;
    memcpy(buf, p.data, strlen(p.data) + 1);
    return SCB_OK;
}

const scb_backend_t scb_backend_apr = {
    .name = "apr",
    .name_max = APR_NAME_MAX,
    .names_exact = 1,
    /* seg->base is page aligned (a page into APR's segment), and the
     * mapping covers the last, partly used page. */
    .can_protect = 1,
    .create = scb_apr_create,
    .open = scb_apr_open,
    .close = scb_apr_close,
    .remove = scb_apr_os_remove,
    /* The name files are there to list. */
    .list = list_rings,
};
