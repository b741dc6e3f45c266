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
 * carries the ring's permission bits (read and write wherever the ring is
 * writable), so a process that may write the ring, and only such a
 * process, can ring; /dev/shm is what processes sharing POSIX shared
 * memory share, also across containers without a common network
 * namespace.  The ringer opens it with O_NOFOLLOW and writes only to a
 * FIFO: a name another user made cannot lead its byte elsewhere.  The
 * owner removes the file when it closes the bell; a killed owner's file is
 * removed, once no ringer holds it open any more, by the next handle of
 * the ring that closes or reclaims its entry (scb_sys_bell_remove).  A timed
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

int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode,
                      scb_sys_bell_t **out)
{
    struct epoll_event ev;
    scb_sys_bell_t *b;
    mode_t m = (mode_t)(mode & 0666);
    int rc, made = 0;

    *out = NULL;
    if ((b = malloc(sizeof *b)) == NULL)
        return SCB_ENOMEM;
    b->timer = b->fd = b->fifo = -1;
    bell_path(key, b->path);
    /* Whoever may write the ring may ring: read and write wherever the
     * ring is writable (a FIFO is opened read-write), and the owner. */
    m |= (mode_t)((m & 0222) << 1) | 0600;
    if (mkfifo(b->path, m) != 0)
        goto fail;
    made = 1;
    if (chmod(b->path, m) != 0) /* exactly, whatever the umask */
        goto fail;
    b->fifo = open(b->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (b->fifo < 0)
        goto fail;
    b->fd = b->fifo;
    if (timed) {
        b->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->timer < 0)
            goto fail;
        if ((b->fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
            goto fail;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        if (epoll_ctl(b->fd, EPOLL_CTL_ADD, b->fifo, &ev) != 0 ||
            epoll_ctl(b->fd, EPOLL_CTL_ADD, b->timer, &ev) != 0)
            goto fail;
    }
    *out = b;
    return SCB_OK;

fail:
    rc = errno == EEXIST ? SCB_EEXIST : scb_sys_errno_to_scb(errno);
    if (b->fd >= 0 && b->fd != b->fifo)
        close_quiet(b->fd);
    close_quiet(b->timer);
    close_quiet(b->fifo);
    if (made) {
        int saved = errno;

        (void)unlink(b->path);
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
    int saved = errno, fd, rc = 1;

    /* The key comes from the ring's table, which others write: remove
     * only a FIFO nobody holds open (opening it write-only then fails with
     * ENXIO), never a live bell of another ring or another user's file. */
    bell_path(key, path);
    fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        close_quiet(fd);
        rc = 0;
    } else if (errno == ENXIO) {
        rc = unlink(path) == 0 || errno == ENOENT;
    } else if (errno != ENOENT) {
        rc = 0;
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

int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode,
                      scb_sys_bell_t **out)
{
    (void)key;
    (void)timed;
    (void)mode;
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
