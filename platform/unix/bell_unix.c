#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * bell_unix.c - the doorbells of src/sys.h (scb_fd) for Unix.
 *
 * Linux: a bell is a Unix datagram socket bound in the abstract namespace
 * under "scb-bell/<key in hex>", so any process that knows the key can
 * ring it with one sendto() and no file is ever left behind: the name goes
 * with the last descriptor, also when its process is killed.  Ringing a
 * bell whose owner died fails at once (ECONNREFUSED) and costs nothing
 * else; a full queue (EAGAIN) means the bell is ringing already.  A timed
 * bell (a lossless writer's, which must also wake up to look for dead
 * readers) is an epoll descriptor over the socket and a timerfd.
 *
 * FreeBSD and macOS (not built yet, SCB_ENOTSUP): they have no abstract
 * namespace, so the socket would be bound to a path in a private directory
 * (removed by the owner, and by whoever finds its owner dead), and a timed
 * bell would be a kqueue with the socket's EVFILT_READ and an EVFILT_TIMER.
 * Other systems: SCB_ENOTSUP.
 */

#if defined(__linux__)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
};

struct scb_sys_ringer {
    int sock; /* an unbound datagram socket to send from */
};

/* The abstract address of the bell `key`; returns its length. */
static socklen_t bell_addr(uint64_t key, struct sockaddr_un *sa)
{
    int n;

    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    /* sun_path[0] stays 0: the abstract namespace. */
    n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1,
                 "scb-bell/%016llx", (unsigned long long)key);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void close_quiet(int fd)
{
    int saved = errno;

    if (fd >= 0)
        (void)close(fd);
    errno = saved;
}

int scb_sys_bell_open(uint64_t key, int timed, scb_sys_bell_t **out)
{
    struct sockaddr_un sa;
    socklen_t len = bell_addr(key, &sa);
    struct epoll_event ev;
    scb_sys_bell_t *b;
    int rc;

    *out = NULL;
    if ((b = malloc(sizeof *b)) == NULL)
        return SCB_ENOMEM;
    b->timer = b->fd = -1;
    b->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->sock < 0)
        goto fail;
    if (bind(b->sock, (struct sockaddr *)&sa, len) != 0)
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
            epoll_ctl(b->fd, EPOLL_CTL_ADD, b->timer, &ev) != 0) {
            close_quiet(b->fd);
            b->fd = b->sock;
            goto fail;
        }
    }
    *out = b;
    return SCB_OK;

fail:
    rc = errno == EADDRINUSE ? SCB_EEXIST : scb_sys_errno_to_scb(errno);
    if (b->fd >= 0 && b->fd != b->sock)
        close_quiet(b->fd);
    close_quiet(b->timer);
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

void scb_sys_bell_close(scb_sys_bell_t *b)
{
    if (b == NULL)
        return;
    if (b->fd != b->sock)
        close_quiet(b->fd);
    close_quiet(b->timer);
    close_quiet(b->sock);
    free(b);
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
    if (n >= 0)
        rc = 0;
    else if (errno == ECONNREFUSED || errno == ENOENT)
        rc = 1; /* nobody has that name: its owner is gone */
    else if (errno == EAGAIN)
        /* Its queue is full, so it is ringing already.  (The other EAGAIN,
         * this socket's own send buffer full, would take hundreds of rings
         * nobody drained: one per armed bell is the most the ring makes.) */
        rc = 0;
    else
        rc = -1; /* ENOBUFS, ENOMEM...: the caller tries again later */
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

int scb_sys_bell_open(uint64_t key, int timed, scb_sys_bell_t **out)
{
    (void)key;
    (void)timed;
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

void scb_sys_bell_close(scb_sys_bell_t *b)
{
    (void)b;
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
