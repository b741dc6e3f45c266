#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * bell_unix.c - the doorbells of src/sys.h (scb_fd) for Unix.
 *
 * Linux: a bell is a Unix datagram socket bound to the path
 * /dev/shm/scb-bell.<key in hex>, whose file carries the ring's permission
 * bits, so a process that may write the ring, and only such a process, can
 * ring it with one sendto() knowing the key alone.  /dev/shm is what
 * processes sharing POSIX shared memory share, also across containers that
 * share it without sharing a network namespace (the abstract socket
 * namespace would not reach across those).  Ringing a bell whose owner
 * died fails at once (ECONNREFUSED: the file stays, nobody is bound to
 * it), and a full queue (EAGAIN) means it is ringing already.  The owner
 * removes the file when it closes the bell; a killed owner's file is
 * removed by the first ringer that finds nobody bound to it, by the next
 * handle that reclaims its entry in the ring's table, or by the ring's
 * writer when it closes (scb_sys_bell_remove).  A timed bell (a lossless
 * writer's, which must also wake up to look for dead readers) is an epoll
 * descriptor over the socket and a timerfd.
 *
 * FreeBSD and macOS (not built yet, SCB_ENOTSUP): the same sockets under
 * /tmp, with a kqueue holding the socket's EVFILT_READ and an
 * EVFILT_TIMER for a timed bell.  Other systems: SCB_ENOTSUP.
 */

#if defined(__linux__)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include <stdatomic.h>

#include "scb.h"
#include "sys.h"

_Atomic unsigned long scb_sys_wake_calls;

#if defined(__linux__)

struct scb_sys_bell {
    int sock;  /* the bound datagram socket */
    int timer; /* timed bells: the timerfd, else -1 */
    int fd;    /* what the event loop waits on: sock, or an epoll fd */
    struct sockaddr_un addr; /* its name */
    socklen_t addr_len;
};

struct scb_sys_ringer {
    int sock; /* an unbound datagram socket to send from */
};

#define BELL_DIR "/dev/shm"

/* The address of the bell `key`; returns its length. */
static socklen_t bell_addr(uint64_t key, struct sockaddr_un *sa)
{
    int n;

    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path, sizeof sa->sun_path, BELL_DIR "/scb-bell.%016llx",
                 (unsigned long long)key);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
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
    int rc, bound = 0;

    *out = NULL;
    if ((b = malloc(sizeof *b)) == NULL)
        return SCB_ENOMEM;
    b->timer = b->fd = -1;
    b->addr_len = bell_addr(key, &b->addr);
    b->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->sock < 0)
        goto fail;
    if (bind(b->sock, (struct sockaddr *)&b->addr, b->addr_len) != 0)
        goto fail;
    bound = 1;
    /* Whoever may write the ring may ring: its write bits, with read bits
     * beside them (and the owner's own), never more. */
    if (chmod(b->addr.sun_path, (mode_t)((mode & 0666) | 0600)) != 0)
        goto fail;
    b->fd = b->sock;
    if (timed) {
        b->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->timer < 0)
            goto fail;
        if ((b->fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
            goto fail;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        if (epoll_ctl(b->fd, EPOLL_CTL_ADD, b->sock, &ev) != 0 ||
            epoll_ctl(b->fd, EPOLL_CTL_ADD, b->timer, &ev) != 0)
            goto fail;
    }
    *out = b;
    return SCB_OK;

fail:
    rc = errno == EADDRINUSE ? SCB_EEXIST : scb_sys_errno_to_scb(errno);
    if (b->fd >= 0 && b->fd != b->sock)
        close_quiet(b->fd);
    close_quiet(b->timer);
    if (bound) {
        int saved = errno;

        (void)unlink(b->addr.sun_path);
        errno = saved;
    }
    close_quiet(b->sock);
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
    struct mmsghdr msgs[8];
    int saved = errno, n, rounds = 0;
    uint64_t ticks;

    /* Rings are one-byte datagrams: take up to 8 a call, until none is
     * left (one system call when at most 7 were queued).  Anyone in the
     * network namespace can send here, so the rounds are bounded: a flood
     * leaves the bell ready (spurious readiness), it does not hold the
     * caller. */
    memset(msgs, 0, sizeof msgs);
    do {
        n = recvmmsg(b->sock, msgs, 8, MSG_DONTWAIT, NULL);
    } while ((n == 8 && ++rounds < 8) || (n < 0 && errno == EINTR));
    if (b->timer >= 0) {
        (void)timerfd_settime(b->timer, 0, &off, NULL);
        (void)read(b->timer, &ticks, sizeof ticks);
    }
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

void scb_sys_bell_set(scb_sys_bell_t *b)
{
    int saved = errno;

    /* From its own socket: no descriptor to find, none to run out of. */
    (void)sendto(b->sock, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                 (struct sockaddr *)&b->addr, b->addr_len);
    errno = saved;
}

void scb_sys_bell_close(scb_sys_bell_t *b, int remove)
{
    int saved = errno;

    if (b == NULL)
        return;
    if (remove)
        (void)unlink(b->addr.sun_path);
    errno = saved;
    if (b->fd != b->sock)
        close_quiet(b->fd);
    close_quiet(b->timer);
    close_quiet(b->sock);
    free(b);
}

void scb_sys_bell_remove(uint64_t key)
{
    struct sockaddr_un sa;
    int saved = errno;

    (void)bell_addr(key, &sa);
    (void)unlink(sa.sun_path);
    errno = saved;
}

int scb_sys_bell_ring(scb_sys_ringer_t **ringer, uint64_t key)
{
    struct sockaddr_un sa;
    socklen_t len = bell_addr(key, &sa);
    scb_sys_ringer_t *g = *ringer;
    int saved = errno, rc;
    ssize_t n;

    if (g == NULL) {
        if ((g = malloc(sizeof *g)) == NULL)
            return -1;
        g->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (g->sock < 0) {
            free(g);
            errno = saved;
            return -1;
        }
        *ringer = g;
    }
    atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
    do {
        n = sendto(g->sock, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (struct sockaddr *)&sa, len);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 || errno == EAGAIN)
        /* EAGAIN: its queue is full, so it is ringing already.  (The other
         * EAGAIN, this socket's own send buffer full, would take hundreds
         * of rings nobody drained: one per armed bell is the most the ring
         * makes.) */
        rc = 0;
    else if (errno == ENOBUFS || errno == ENOMEM)
        rc = -1; /* the caller tries again later */
    else {
        /* ECONNREFUSED or ENOENT: its owner is gone; EACCES, EPERM,
         * EPROTOTYPE...: not ours to ring.  Never worth a second try.  A
         * name nobody is bound to any more is its killed owner's: remove
         * it (where the directory lets this process). */
        if (errno == ECONNREFUSED)
            (void)unlink(sa.sun_path);
        rc = 1;
    }
    errno = saved;
    return rc;
}

void scb_sys_ringer_close(scb_sys_ringer_t *ringer)
{
    if (ringer == NULL)
        return;
    close_quiet(ringer->sock);
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

void scb_sys_bell_remove(uint64_t key)
{
    (void)key;
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
