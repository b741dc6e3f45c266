#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_apr_win32_files.c - the ring files of the apr backend on Windows
 * (see shm_apr_win32.c for how create, open and remove use them): the
 * ring directory, the paths a ring name becomes and the names a listing
 * reads back from them, their security, the generation in a name file,
 * tombstones, and the sweep of files no ring needs.  It maps nothing:
 * APR's segments are shm_apr_win32.c's.
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
 * Paths are ANSI (the -A functions) and APR reads them as UTF-8: the same
 * as long as the directory's path is ASCII, as C:\ProgramData is.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <sddl.h>
#include <shlobj.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"
#include "shm_apr.h"

#define LEAF_PREFIX "scb-apr."
#define TOMB_PREFIX "scb-dead."

/* --- errors, paths ------------------------------------------------------- */

/* A Windows error code (a DWORD) as an SCB_E* code; the code is left for
 * GetLastError() (SCB_ESYS). */
int scb_apr_win_error(DWORD e)
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
static char dir_path[SCB_APR_PATH_SIZE];
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
        return scb_apr_win_error(GetLastError());
    if (dir_error != 0)
        return scb_apr_win_error(dir_error);
    if (strlen(dir_path) >= size)
        return SCB_ENAMETOOLONG;
    memcpy(dir, dir_path, strlen(dir_path) + 1);
    return SCB_OK;
}

int scb_apr_paths(scb_apr_paths_t *p, const char *name)
{
    char dir[SCB_APR_PATH_SIZE];
    size_t n, i, k;
    int rc;

    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    n = strlen(name);
    if (n > SCB_APR_NAME_MAX)
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
    if (k + 1 + SCB_APR_GEN_DIGITS > SCB_APR_PATH_MAX_LEN)
        return SCB_ENAMETOOLONG;
    memcpy(p->data, p->name, k);
    p->data[k] = '.';
    p->data[k + 1] = '\0';
    p->data_len = k + 1;
    return SCB_OK;
}

/* Completes p->data with generation gen. */
void scb_apr_data_path(scb_apr_paths_t *p, uint64_t gen)
{
    snprintf(p->data + p->data_len, sizeof p->data - p->data_len, "%016llx",
             (unsigned long long)gen);
}

/* A fresh generation: the process, the clock and a counter, mixed. */
uint64_t scb_apr_new_gen(void)
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

/* A tombstone path in the ring directory (see shm_apr_win32.c). */
int scb_apr_tomb_path(char *buf, size_t size)
{
    static volatile LONG counter;
    char dir[SCB_APR_PATH_SIZE];
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
int scb_apr_make_dir(void)
{
    char dir[SCB_APR_PATH_SIZE];
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
        return scb_apr_win_error(GetLastError());
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    rc = SCB_OK;
    if (!CreateDirectoryA(dir, &sa) &&
        (err = GetLastError()) != ERROR_ALREADY_EXISTS)
        rc = scb_apr_win_error(err);
    LocalFree(sd);
    return rc;
}

/* Creates `path` anew (CREATE_NEW) as a private ring file, open for
 * reading, writing and `access`; the handle, or INVALID_HANDLE_VALUE with
 * GetLastError set. */
HANDLE scb_apr_create_file(const char *path, DWORD access)
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
int scb_apr_read_gen(HANDLE h, uint64_t *gen)
{
    char buf[SCB_APR_GEN_DIGITS + 1];
    DWORD got = 0;
    uint64_t g = 0;
    int i;

    if (SetFilePointer(h, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER &&
        GetLastError() != NO_ERROR)
        return 1;
    if (!ReadFile(h, buf, sizeof buf, &got, NULL) || got != SCB_APR_GEN_DIGITS)
        return 1;
    for (i = 0; i < SCB_APR_GEN_DIGITS; i++) {
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
HANDLE scb_apr_open_name(const char *path, DWORD share)
{
    return CreateFileA(path, GENERIC_READ, share, NULL, OPEN_EXISTING,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

/* The generation ring `p` leads to now: SCB_OK, 1 (none yet), or an SCB_E*
 * code (SCB_ENOENT: no such ring). */
int scb_apr_current_gen(const scb_apr_paths_t *p, uint64_t *gen)
{
    HANDLE h = scb_apr_open_name(p->name, FILE_SHARE_READ | FILE_SHARE_WRITE |
                                      FILE_SHARE_DELETE);
    int rc;

    if (h == INVALID_HANDLE_VALUE)
        return scb_apr_win_error(GetLastError());
    rc = scb_apr_read_gen(h, gen);
    CloseHandle(h);
    return rc;
}

/* --- sweep ----------------------------------------------------------------- */

/* 1 if data file `file` (a leaf in dir) is one that no name file leads
 * to: its name file is gone, or holds another generation. */
static int orphan_data(const char *dir, const char *file)
{
    char name[SCB_APR_PATH_SIZE], *dot;
    uint64_t gen, mine = 0;
    HANDLE h;
    int n, i;

    n = snprintf(name, sizeof name, "%s\\%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof name)
        return 0;
    dot = strrchr(name, '.');
    if (dot == NULL || strlen(dot + 1) != SCB_APR_GEN_DIGITS || dot[-1] != '~')
        return 0;
    for (i = 1; i <= SCB_APR_GEN_DIGITS; i++) {
        char c = dot[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        mine = mine << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *dot = '\0';
    h = scb_apr_open_name(name, FILE_SHARE_READ | FILE_SHARE_WRITE |
                                    FILE_SHARE_DELETE);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND;
    n = scb_apr_read_gen(h, &gen);
    CloseHandle(h);
    return n == SCB_OK && gen != mine;
}

void scb_apr_sweep(void)
{
    char dir[SCB_APR_PATH_SIZE], pat[SCB_APR_PATH_SIZE + 16];
    char file[SCB_APR_PATH_SIZE + MAX_PATH];
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

/* --- list ------------------------------------------------------------------ */

/* The ring name a name file's leaf spells (see scb_apr_paths); 0 if `leaf`
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
    return k > 0 && k <= SCB_APR_NAME_MAX;
}

int scb_apr_list(const scb_backend_lister_t *l)
{
    char dir[SCB_APR_PATH_SIZE], pat[SCB_APR_PATH_SIZE + 16];
    char name[SCB_NAME_MAX + 1];
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
                   : scb_apr_win_error(err);
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
    scb_apr_paths_t p;
    uint64_t gen;
    int rc;

    if (buf == NULL)
        return SCB_EINVAL;
    rc = scb_apr_paths(&p, name);
    if (rc != SCB_OK)
        return rc;
    rc = scb_apr_current_gen(&p, &gen);
    if (rc == SCB_APR_NOT_READY)
        return SCB_EBADFORMAT;
    if (rc != SCB_OK)
        return rc;
    scb_apr_data_path(&p, gen);
    if (strlen(p.data) >= size)
        return SCB_ENAMETOOLONG;
    memcpy(buf, p.data, strlen(p.data) + 1);
    return SCB_OK;
}
