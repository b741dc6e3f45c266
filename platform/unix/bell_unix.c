/*
 * bell_unix.c - the doorbells of src/sys.h (scb_fd) for Unix.
 *
 * Linux: a bell is a FIFO (named pipe) at /dev/shm/scb-bell.<key in hex>,
 * which its owner opens read-write, non-blocking, and hands to the event
 * loop: readable while it holds a byte.  A ringer opens the FIFO by name
 * once, read-write too (so no write can ever raise SIGPIPE, whoever died),
 * keeps the descriptor in a small cache and writes one byte per ring; a
 * full FIFO (EAGAIN) is one that is ringing already.  So a ring costs what
 * a pipe's write costs, and a clear what its read costs.  The file
 * carries the ring's group and, for each class that may write the ring,
 * read and write (nothing for the others), so a process that may write the
 * ring, and only such a process, can ring; /dev/shm is what processes
 * sharing POSIX shared
 * memory share, also across containers without a common network
 * namespace.  The ringer opens it with O_NOFOLLOW and writes only to a
 * FIFO: a name another user made cannot lead its byte elsewhere.  The
 * owner holds a lock on its FIFO (flock) and removes the file when it
 * closes the bell; a killed owner's lock is gone with it, and the next
 * handle of the ring that closes or reclaims its entry removes the file
 * (scb_sys_bell_remove).  The bell is made under a temporary name and
 * linked to its own only once open, locked and given its bits.  A timed
 * bell (a lossless writer's, which must also wake up to look for dead
 * readers) is an epoll descriptor over the FIFO and a timerfd.
 *
 * Weighed and left: Unix datagram sockets (bound in the abstract
 * namespace or to a path) cost three times a pipe's write and read per
 * ring, and the abstract namespace stops at network namespaces and has no
 * permissions.
 *
 * FreeBSD and macOS (not built yet, SCB_ENOTSUP): the same FIFOs under
 * /tmp, with a kqueue holding the FIFO's EVFILT_READ and an EVFILT_TIMER
 * for a timed bell.  Other systems: SCB_ENOTSUP.
 */

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#endif

#include <stdatomic.h>

#include "scb.h"
#include "sys.h"

_Atomic unsigned long scb_sys_wake_calls;

#if defined(__linux__)

#define BELL_DIR "/dev/shm"
#define BELL_PATH_MAX 64

/* Descriptors a ringer keeps open, one per bell it rang lately. */
#define RINGER_CACHE 64

struct scb_sys_bell {
    int fifo;  /* the FIFO, open read-write */
    int timer; /* timed bells: the timerfd, else -1 */
    int fd;    /* what the event loop waits on: fifo, or an epoll fd */
    char path[BELL_PATH_MAX];
};

struct scb_sys_ringer {
    uint64_t key[RINGER_CACHE];
    int fd[RINGER_CACHE]; /* -1: none */
    unsigned next;        /* the entry to reuse when all are taken */
};

static void bell_path(uint64_t key, char path[BELL_PATH_MAX])
{
    snprintf(path, BELL_PATH_MAX, BELL_DIR "/scb-bell.%016llx",
             (unsigned long long)key);
}

static void close_quiet(int fd)
{
    int saved = errno;

    if (fd >= 0)
        (void)close(fd);
    errno = saved;
}

int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode, uint32_t gid,
                      scb_sys_bell_t **out)
{
    char tmp[BELL_PATH_MAX];
    struct epoll_event ev;
    scb_sys_bell_t *b;
    struct stat st;
    mode_t m = 0600;
    int rc, made = 0, refused = 0;

    *out = NULL;
    if ((b = malloc(sizeof *b)) == NULL)
        return SCB_ENOMEM;
    b->timer = b->fd = b->fifo = -1;
    bell_path(key, b->path);
    /* Read and write for the owner, and for each class that may write the
     * ring (a ringer opens the FIFO read-write); nothing for the others,
     * which could otherwise read the rings away. */
    if (mode & 020)
        m |= 060;
    if (mode & 002)
        m |= 006;
    /* Made under a name of its own, opened, given its bits, group and the
     * lock that says its owner lives, and only then linked where ringers
     * and reapers look: the bell's name never leads to a FIFO nobody
     * holds. */
    snprintf(tmp, sizeof tmp, BELL_DIR "/scb-bell.%016llx.new",
             (unsigned long long)key);
    if (mkfifo(tmp, 0600) != 0)
        goto fail;
    made = 1;
    b->fifo = open(tmp, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (b->fifo < 0 || fstat(b->fifo, &st) != 0)
        goto fail;
    if (!S_ISFIFO(st.st_mode)) {
        errno = EEXIST;
        goto fail;
    }
    /* The ring's group, where only its members (not every user) may write
     * the ring; a process that cannot give it cannot be rung by them:
     * refused. */
    if ((m & 060) && !(m & 006) && gid != UINT32_MAX && st.st_gid != (gid_t)gid &&
        fchown(b->fifo, (uid_t)-1, (gid_t)gid) != 0) {
        errno = EACCES;
        refused = 1;
        goto fail;
    }
    if (fchmod(b->fifo, m) != 0 || flock(b->fifo, LOCK_EX | LOCK_NB) != 0)
        goto fail;
    if (link(tmp, b->path) != 0)
        goto fail;
    (void)unlink(tmp);
    made = 0;
    b->fd = b->fifo;
    if (timed) {
        b->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->timer < 0)
            goto fail_linked;
        if ((b->fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
            goto fail_linked;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        if (epoll_ctl(b->fd, EPOLL_CTL_ADD, b->fifo, &ev) != 0 ||
            epoll_ctl(b->fd, EPOLL_CTL_ADD, b->timer, &ev) != 0)
            goto fail_linked;
    }
    *out = b;
    return SCB_OK;

fail_linked:
    {
        int saved = errno;

        (void)unlink(b->path);
        errno = saved;
    }
fail:
    rc = refused          ? SCB_ENOTSUP
         : errno == EEXIST ? SCB_EEXIST
                           : scb_sys_errno_to_scb(errno);
    if (b->fd >= 0 && b->fd != b->fifo)
        close_quiet(b->fd);
    close_quiet(b->timer);
    close_quiet(b->fifo);
    if (made) {
        int saved = errno;

        (void)unlink(tmp);
        errno = saved;
    }
    free(b);
    return rc;
}

scb_fd_t scb_sys_bell_fd(const scb_sys_bell_t *b)
{
    return b->fd;
}

void scb_sys_bell_clear(scb_sys_bell_t *b)
{
    static const struct itimerspec off;
    char buf[64];
    int saved = errno, rounds = 0;
    ssize_t n;
    uint64_t ticks;

    /* One read takes every byte of an ordinary ring.  Whoever may write
     * the ring may also write here, so the rounds are bounded: a flood
     * leaves the bell ready (spurious readiness), it does not hold the
     * caller. */
    do {
        n = read(b->fifo, buf, sizeof buf);
    } while ((n == (ssize_t)sizeof buf && ++rounds < 8) ||
             (n < 0 && errno == EINTR));
    if (b->timer >= 0) {
        (void)timerfd_settime(b->timer, 0, &off, NULL);
        (void)read(b->timer, &ticks, sizeof ticks);
    }
    errno = saved;
}

void scb_sys_bell_set(scb_sys_bell_t *b)
{
    int saved = errno;

    (void)write(b->fifo, "!", 1); /* EAGAIN: full, so set already */
    errno = saved;
}

void scb_sys_bell_timer(scb_sys_bell_t *b, uint64_t ns)
{
    struct itimerspec t;
    int saved = errno;

    if (b->timer < 0)
        return;
    memset(&t, 0, sizeof t);
    t.it_value.tv_sec = (time_t)(ns / 1000000000u);
    t.it_value.tv_nsec = (long)(ns % 1000000000u);
    if (ns == 0)
        t.it_value.tv_nsec = 1;
    (void)timerfd_settime(b->timer, 0, &t, NULL);
    errno = saved;
}

void scb_sys_bell_close(scb_sys_bell_t *b, int remove)
{
    int saved = errno;

    if (b == NULL)
        return;
    if (remove)
        (void)unlink(b->path);
    errno = saved;
    if (b->fd != b->fifo)
        close_quiet(b->fd);
    close_quiet(b->timer);
    close_quiet(b->fifo);
    free(b);
}

int scb_sys_bell_remove(uint64_t key)
{
    char path[BELL_PATH_MAX];
    struct stat st;
    int saved = errno, fd, rc;

    /* The key comes from the ring's table, which others write: remove
     * only a FIFO whose owner's lock is gone (it died), never a live bell
     * of another ring, nor anything that is not a bell. */
    bell_path(key, path);
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT; /* else not ours to judge: it stays */
    } else {
        rc = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
             flock(fd, LOCK_SH | LOCK_NB) == 0 &&
             (unlink(path) == 0 || errno == ENOENT);
        close_quiet(fd);
    }
    errno = saved;
    return rc;
}

/* The ringer's descriptor of the bell `key`, opened (and cached) if need
 * be: >= 0, or -1 with *gone set when there is no such bell, or it is not
 * a FIFO, or not this process's to open; -1 with *gone clear when it could
 * not be opened now (no descriptor, no memory). */
static int ringer_fd(scb_sys_ringer_t *g, uint64_t key, int *gone)
{
    char path[BELL_PATH_MAX];
    struct stat st;
    unsigned i;
    int fd;

    *gone = 0;
    for (i = 0; i < RINGER_CACHE; i++)
        if (g->fd[i] >= 0 && g->key[i] == key)
            return g->fd[i];
    bell_path(key, path);
    fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *gone = !(errno == EMFILE || errno == ENFILE || errno == ENOMEM);
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        close_quiet(fd);
        *gone = 1;
        return -1;
    }
    for (i = 0; i < RINGER_CACHE && g->fd[i] >= 0; i++)
        ;
    if (i == RINGER_CACHE) {
        i = g->next++ % RINGER_CACHE;
        close_quiet(g->fd[i]);
    }
    g->key[i] = key;
    g->fd[i] = fd;
    return fd;
}

int scb_sys_bell_ring(scb_sys_ringer_t **ringer, uint64_t key)
{
    scb_sys_ringer_t *g = *ringer;
    int saved = errno, fd, gone;
    unsigned i;
    ssize_t n;

    if (g == NULL) {
        if ((g = malloc(sizeof *g)) == NULL)
            return -1;
        for (i = 0; i < RINGER_CACHE; i++)
            g->fd[i] = -1;
        g->next = 0;
        *ringer = g;
    }
    atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
    if ((fd = ringer_fd(g, key, &gone)) < 0) {
        errno = saved;
        return gone ? 1 : -1;
    }
    do {
        n = write(fd, "!", 1);
    } while (n < 0 && errno == EINTR);
    errno = saved;
    /* EAGAIN: full, so it is ringing already.  A killed owner's FIFO takes
     * the byte too (the ringer holds it open): one needless write, and
     * nothing rings it again, since only its owner arms it. */
    return 0;
}

void scb_sys_ringer_close(scb_sys_ringer_t *ringer)
{
    unsigned i;

    if (ringer == NULL)
        return;
    for (i = 0; i < RINGER_CACHE; i++)
        close_quiet(ringer->fd[i]);
    free(ringer);
}

#else /* no doorbells on this system yet */

int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode, uint32_t gid,
                      scb_sys_bell_t **out)
{
    (void)key;
    (void)timed;
    (void)mode;
    (void)gid;
    *out = NULL;
    return SCB_ENOTSUP;
}

scb_fd_t scb_sys_bell_fd(const scb_sys_bell_t *b)
{
    (void)b;
    return -1;
}

void scb_sys_bell_clear(scb_sys_bell_t *b)
{
    (void)b;
}

void scb_sys_bell_timer(scb_sys_bell_t *b, uint64_t ns)
{
    (void)b;
    (void)ns;
}

void scb_sys_bell_set(scb_sys_bell_t *b)
{
    (void)b;
}

void scb_sys_bell_close(scb_sys_bell_t *b, int remove)
{
    (void)b;
    (void)remove;
}

int scb_sys_bell_remove(uint64_t key)
{
    (void)key;
    return 1;
}

int scb_sys_bell_ring(scb_sys_ringer_t **ringer, uint64_t key)
{
    (void)ringer;
    (void)key;
    return -1;
}

void scb_sys_ringer_close(scb_sys_ringer_t *ringer)
{
    (void)ringer;
}

#endif
