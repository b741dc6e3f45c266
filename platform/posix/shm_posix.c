#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * shm_posix.c - the "posix" backend: the ring NAME is the POSIX shared memory
 * object "/scb.NAME" (shm_open), which Linux shows as /dev/shm/scb.NAME, so
 * rings can be listed and told apart from other programs' objects.
 *
 * It knows nothing of the ring format and never reads or writes the mapped
 * bytes.  It keeps no file descriptor open after a call returns, except
 * from create to reserve: the mapping, and the identity (device and inode)
 * of the object mapped, are all a handle holds.  It never removes a name
 * except in remove() and to undo its own failed create.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "scb.h"
#include "backend.h"
#include "sys.h"

#define POSIX_PREFIX "/scb."
#define POSIX_PREFIX_LEN 5 /* strlen(POSIX_PREFIX), for the preprocessor */
_Static_assert(sizeof POSIX_PREFIX - 1 == POSIX_PREFIX_LEN,
               "POSIX_PREFIX_LEN must be the length of POSIX_PREFIX");

/*
 * The longest ring name.  The OS limit applies to the object's name without
 * its leading slash ("scb.NAME"), which Linux and FreeBSD bound by NAME_MAX
 * (255), leaving 251 for NAME.  macOS bounds the whole name, slash included,
 * by PSHMNAMLEN (31, in no public header), which leaves 26: short of the 30
 * characters the contract promises on every backend.
 */
#if defined(__APPLE__)
#define POSIX_NAME_MAX (31 - POSIX_PREFIX_LEN)
#elif defined(NAME_MAX)
#define POSIX_NAME_MAX (NAME_MAX - (POSIX_PREFIX_LEN - 1))
#else
#define POSIX_NAME_MAX (255 - (POSIX_PREFIX_LEN - 1))
#endif

#if POSIX_NAME_MAX > SCB_NAME_MAX
#undef POSIX_NAME_MAX
#define POSIX_NAME_MAX SCB_NAME_MAX
#endif

/* Room for the prefix, the longest name and the terminating NUL. */
#define POSIX_PATH_SIZE (sizeof POSIX_PREFIX + POSIX_NAME_MAX)

/* The largest value of off_t, which POSIX leaves without a macro. */
#define POSIX_OFF_MAX \
    ((uintmax_t)((UINTMAX_C(1) << (sizeof(off_t) * CHAR_BIT - 1)) - 1))

#if defined(__linux__)
/* Where Linux shows the POSIX shared memory objects. */
#define POSIX_SHM_DIR "/dev/shm"
/* Linux keeps the objects as files there, where a symbolic link could sit
 * at a ring's name: shm_open must not follow it (glibc and musl add the
 * flag themselves), nor block on a FIFO made there (O_NONBLOCK; fstat then
 * tells it is no regular file).  FreeBSD and macOS keep no paths and
 * refuse the flags. */
#define POSIX_NOFOLLOW (O_NOFOLLOW | O_NONBLOCK)
#else
#define POSIX_NOFOLLOW 0
#endif

/* What a handle keeps besides its mapping (seg->priv): the object it
 * mapped, so that remove() through the handle removes that object and
 * never a newer one made under the same name since. */
typedef struct posix_obj {
    dev_t dev;
    ino_t ino;
    int fd; /* from create to reserve (or close), else -1 */
} posix_obj_t;

/* Keeps the identity of the object `st` describes in seg->priv, and `fd`
 * (or -1). */
static int keep_identity(scb_seg_t *seg, const struct stat *st, int fd)
{
    posix_obj_t *obj = malloc(sizeof *obj);

    if (obj == NULL) {
        errno = ENOMEM;
        return SCB_ENOMEM;
    }
    obj->dev = st->st_dev;
    obj->ino = st->st_ino;
    obj->fd = fd;
    seg->priv = obj;
    scb_backend_seg_perm(seg, (uint32_t)st->st_uid, (uint32_t)st->st_gid,
                         (uint32_t)st->st_mode);
    return SCB_OK;
}

/* Builds the OS name of ring `name` into path[POSIX_PATH_SIZE]. */
static int posix_path(char *path, const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0')
        return SCB_EINVAL;
    n = strlen(name);
    if (n > POSIX_NAME_MAX)
        return SCB_ENAMETOOLONG;
    /* A slash would make the name a path that no system accepts the same
     * way; the portable code rejects it already, this is defence only. */
    if (memchr(name, '/', n) != NULL)
        return SCB_EINVAL;
    memcpy(path, POSIX_PREFIX, sizeof POSIX_PREFIX - 1);
    memcpy(path + sizeof POSIX_PREFIX - 1, name, n + 1);
    return SCB_OK;
}

/*
 * 1 if shm_open(path) or shm_unlink(path) failing with errno `e` means that
 * what sits at the name is no shared memory object: a symbolic link (ELOOP
 * under O_NOFOLLOW) or a directory (EISDIR, which glibc reports as EINVAL
 * for a read-write open; a read-only open of it succeeds, and fstat tells).
 * Keeps errno.
 */
static int not_an_object(const char *path, int e)
{
    struct stat st;
    int fd, yes;

    if (e == ELOOP || e == EISDIR)
        return 1;
    if (e != EINVAL)
        return 0;
    fd = shm_open(path, O_RDONLY | POSIX_NOFOLLOW, 0);
    if (fd < 0) {
        errno = e;
        return 0;
    }
    yes = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
    (void)close(fd);
    errno = e;
    return yes;
}

/* 1 if the object at `path` is the one open as `fd`, or if that cannot be
 * told; 0 if the name leads to another object, or to none. */
static int name_leads_to(const char *path, int fd)
{
    struct stat a, b;
    int other, ok;

    if (fstat(fd, &a) != 0)
        return 1;
    other = shm_open(path, O_RDONLY | POSIX_NOFOLLOW, 0);
    if (other < 0)
        return errno != ENOENT;
    ok = fstat(other, &b) != 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    (void)close(other);
    return ok;
}

static int posix_create(scb_seg_t *seg, const char *name, size_t size,
                        uint32_t mode)
{
    char path[POSIX_PATH_SIZE];
    struct stat st;
    void *base;
    int fd, rc, saved, chmod_errno;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    rc = posix_path(path, name);
    if (rc != SCB_OK)
        return rc;
    if (size == 0 || (mode & ~UINT32_C(07777)) != 0)
        return SCB_EINVAL;
    if ((uintmax_t)size > POSIX_OFF_MAX) {
        errno = EFBIG;
        return SCB_ENOMEM;
    }

    fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, (mode_t)mode);
    if (fd < 0)
        return scb_sys_errno_to_scb(errno);

    /* From here on the name exists and every failure must remove it. */

    /* shm_open applied the umask; the contract is the exact mode.  Some
     * systems (macOS) cannot chmod a shared memory object, which only matters
     * if the umask took bits away: the check after fstat decides. */
    chmod_errno = fchmod(fd, (mode_t)mode) == 0 ? 0 : errno;

    /* The memory is reserved by reserve(), after the caller marked the
     * segment as being created: that takes long for a large segment. */
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail;
#if defined(__linux__)
    /* The page the caller marks before reserve() must be memory already:
     * on a full /dev/shm the marker's store would otherwise fault
     * (SIGBUS) instead of failing here with SCB_ENOMEM. */
    {
        size_t first = scb_sys_page_size();

        if (first > size)
            first = size;
        if (fallocate(fd, 0, 0, (off_t)first) != 0 && errno != EOPNOTSUPP &&
            errno != ENOSYS)
            goto fail;
    }
#endif
    if (fstat(fd, &st) != 0)
        goto fail;
    if (((uint32_t)st.st_mode & UINT32_C(07777)) != mode) {
        /* Refuse a mode we cannot honour rather than ignore it. */
        errno = chmod_errno != 0 ? chmod_errno : EPERM;
        rc = SCB_ENOTSUP;
        goto undo;
    }
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        goto fail;
    /* reserve() needs the descriptor; after it the mapping keeps the
     * object alive. */
    rc = keep_identity(seg, &st, fd);
    if (rc != SCB_OK) {
        saved = errno;
        (void)munmap(base, size);
        errno = saved;
        goto undo;
    }

    seg->base = base;
    seg->size = size;
    seg->writable = 1;
    return SCB_OK;

fail:
    rc = scb_sys_errno_to_scb(errno);
undo:
    /* Cleanup must not replace the errno that explains the failure.  The
     * name is removed only while it still leads to the object made here
     * (or when that cannot be told): never a ring made under it since. */
    saved = errno;
    if (name_leads_to(path, fd))
        (void)shm_unlink(path);
    (void)close(fd);
    errno = saved;
    return rc;
}

static int posix_open(scb_seg_t *seg, const char *name, int writable)
{
    char path[POSIX_PATH_SIZE];
    struct stat st;
    void *base = NULL;
    size_t size;
    int fd, rc, saved;

    if (seg == NULL)
        return SCB_EINVAL;
    scb_backend_seg_clear(seg);
    rc = posix_path(path, name);
    if (rc != SCB_OK)
        return rc;

    /* A symbolic link at the name is no shared memory object. */
    fd = shm_open(path, (writable ? O_RDWR : O_RDONLY) | POSIX_NOFOLLOW, 0);
    if (fd < 0)
        return not_an_object(path, errno) ? SCB_EBADFORMAT
                                          : scb_sys_errno_to_scb(errno);

    /* The size is the object's, as the OS reports it: whatever the ring
     * header claims is checked against this, never the other way. */
    if (fstat(fd, &st) != 0) {
        rc = scb_sys_errno_to_scb(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A directory (opened read-only), or anything else that is no
         * shared memory object: no ring. */
        errno = EINVAL;
        rc = SCB_EBADFORMAT;
        goto fail;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)SIZE_MAX) {
        errno = EOVERFLOW;
        rc = SCB_ENOMEM;
        goto fail;
    }
    size = (size_t)st.st_size;
    /* A creator between shm_open and ftruncate shows size 0; mmap refuses a
     * length of 0, so such a segment opens unmapped and the caller decides. */
    if (size > 0) {
        base = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                    MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
            rc = scb_sys_errno_to_scb(errno);
            goto fail;
        }
    }
    rc = keep_identity(seg, &st, -1);
    if (rc != SCB_OK) {
        saved = errno;
        if (base != NULL)
            (void)munmap(base, size);
        errno = saved;
        goto fail;
    }
    (void)close(fd);

    seg->base = base;
    seg->size = size;
    seg->writable = writable ? 1 : 0;
    return SCB_OK;

fail:
    saved = errno;
    (void)close(fd);
    errno = saved;
    return rc;
}

/*
 * Reserves the memory of a segment just created, then lets its descriptor
 * go.  tmpfs allocates a page when it is first touched, and a touch it
 * cannot back (a full /dev/shm, a container's small one) kills the process
 * with SIGBUS in the middle of a push.  Allocating now turns that into
 * SCB_ENOMEM here; for gigabytes it takes a second or more, which is why it
 * comes after the caller marked the segment.  A file system that cannot
 * preallocate says so with EOPNOTSUPP, and then the old behaviour is all
 * there is.
 */
static int posix_reserve(scb_seg_t *seg)
{
    posix_obj_t *obj;
    int rc = SCB_OK, saved;

    if (seg == NULL || seg->priv == NULL)
        return SCB_EINVAL;
    obj = seg->priv;
    if (obj->fd < 0)
        return SCB_OK;
#if defined(__linux__)
    if (fallocate(obj->fd, 0, 0, (off_t)seg->size) != 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS)
        rc = scb_sys_errno_to_scb(errno);
#endif
    saved = errno;
    (void)close(obj->fd);
    obj->fd = -1;
    errno = saved;
    return rc;
}

static int posix_close(scb_seg_t *seg)
{
    int rc = SCB_OK;

    if (seg == NULL)
        return SCB_EINVAL;
    if (seg->priv != NULL && ((posix_obj_t *)seg->priv)->fd >= 0)
        (void)close(((posix_obj_t *)seg->priv)->fd);
    if (seg->base != NULL && seg->size > 0 &&
        munmap(seg->base, seg->size) != 0)
        rc = scb_sys_errno_to_scb(errno);
    /* The handle is released even if munmap failed: the caller frees it
     * either way, and a second munmap of the same address must not happen. */
    free(seg->priv);
    seg->priv = NULL;
    seg->base = NULL;
    seg->size = 0;
    seg->writable = 0;
    return rc;
}

/*
 * SCB_OK if the name `path` (ring `name`) still leads to the object `obj`
 * identifies; SCB_ENOENT if it leads nowhere or to another object (the
 * ring was removed and another made under its name).  Where the object
 * cannot be opened to be looked at (its mode shuts this process out), Linux
 * looks at the file it shows instead, and other systems let the name alone
 * decide, as without an identity.
 */
static int still_at_name(const char *path, const char *name,
                         const posix_obj_t *obj)
{
    struct stat st;
    int fd, rc, saved;

    fd = shm_open(path, O_RDONLY | POSIX_NOFOLLOW, 0);
    if (fd >= 0) {
        rc = fstat(fd, &st) == 0 ? SCB_OK : scb_sys_errno_to_scb(errno);
        saved = errno;
        (void)close(fd);
        errno = saved;
        if (rc != SCB_OK)
            return rc;
    } else if (errno == ENOENT) {
        return SCB_ENOENT;
    } else if (errno == EACCES) {
#if defined(__linux__)
        char file[sizeof POSIX_SHM_DIR + POSIX_PATH_SIZE];

        snprintf(file, sizeof file, "%s/%s%s", POSIX_SHM_DIR,
                 POSIX_PREFIX + 1, name);
        if (lstat(file, &st) != 0)
            return SCB_OK; /* not where Linux shows it: the name decides */
#else
        (void)name;
        return SCB_OK;
#endif
    } else {
        /* Something that is no object of ours sits at the name now. */
        return not_an_object(path, errno) ? SCB_ENOENT
                                          : scb_sys_errno_to_scb(errno);
    }
    return st.st_dev == obj->dev && st.st_ino == obj->ino ? SCB_OK
                                                          : SCB_ENOENT;
}

/*
 * Names are exact here, so the name alone says what to remove.  seg may be
 * a zeroed, never-opened segment (scb_unlink), which lets the portable code
 * remove a ring it cannot open (a mode that shuts its owner out, say).  A
 * segment this backend created or opened removes only the object it mapped:
 * if the name now leads to another object (the ring was removed and a new
 * one made under its name), that one is left alone and the answer is
 * SCB_ENOENT.  The check and the removal are two calls: a ring removed and
 * made again between them is still removed (POSIX has no "unlink if this
 * inode").  A symbolic link at the name is removed (shm_unlink never follows
 * one), never its target; a directory is left as it is: SCB_EBADFORMAT.
 */
static int posix_remove(scb_seg_t *seg, const char *name)
{
    char path[POSIX_PATH_SIZE];
    int rc;

    rc = posix_path(path, name);
    if (rc != SCB_OK)
        return rc;
    if (seg != NULL && seg->priv != NULL) {
        rc = still_at_name(path, name, seg->priv);
        if (rc != SCB_OK)
            return rc;
    }
    if (shm_unlink(path) != 0)
        return not_an_object(path, errno) ? SCB_EBADFORMAT
                                          : scb_sys_errno_to_scb(errno);
    return SCB_OK;
}

#if defined(__linux__)
/*
 * Lists the objects "scb.NAME" of /dev/shm, anything but regular files
 * (directories, symbolic links, FIFOs) left out, and reports NAME (the portable code checks that it is a valid
 * ring name).  Other systems have no portable way to enumerate shm_open
 * objects, so there list is NULL.
 */
static int posix_list(const scb_backend_lister_t *l)
{
    const char *prefix = POSIX_PREFIX + 1; /* "scb.", without the slash */
    size_t plen = sizeof POSIX_PREFIX - 2;
    struct dirent *de;
    DIR *dir;
    int saved;

    if (l == NULL || l->report == NULL)
        return SCB_EINVAL;
    dir = opendir(POSIX_SHM_DIR);
    if (dir == NULL)
        return errno == ENOENT ? SCB_OK : scb_sys_errno_to_scb(errno);
    for (;;) {
        errno = 0;
        de = readdir(dir);
        if (de == NULL)
            break;
        if (strncmp(de->d_name, prefix, plen) != 0 ||
            de->d_name[plen] == '\0' ||
            strlen(de->d_name + plen) > POSIX_NAME_MAX)
            continue;
        /* A directory or a symbolic link at a ring's name is no ring (open
         * refuses it); a file system that gives no type keeps them in. */
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue;
        if (l->report(de->d_name + plen, l->arg) != 0) {
            errno = 0;
            break;
        }
    }
    saved = errno;
    (void)closedir(dir);
    return saved != 0 ? scb_sys_errno_to_scb(saved) : SCB_OK;
}
#endif

const scb_backend_t scb_backend_posix = {
    .name = "posix",
    .name_max = POSIX_NAME_MAX,
    .names_exact = 1,
    .can_protect = 1,
    .create = posix_create,
    .reserve = posix_reserve,
    .open = posix_open,
    .close = posix_close,
    .remove = posix_remove,
#if defined(__linux__)
    .list = posix_list,
#else
    .list = NULL,
#endif
};
