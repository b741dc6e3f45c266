/*
 * scb_wait_fd_mp.c - the wait suite's scb_fd tcases between processes
 * (Unix): the contract's loop for 100 000 round trips with random pauses,
 * 64 armed readers woken by one push, armed readers and writers killed
 * (system calls counted after), a dead blocker, epoll over three rings.
 * The rules on one handle, and the helpers used here, are in scb_wait_fd.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

#ifdef __linux__
#include <sys/epoll.h>
#endif

#define PP_FD_ROUNDS 100000

/* A random pause now and then: none mostly, up to 50 us often, 1 ms rarely,
 * so that items arrive before, during and after the other side's poll. */
static void fd_pause(void)
{
    uint64_t r = rnd();

    if ((r & 1023) == 0)
        tu_sleep_us(1000);
    else if ((r & 15) == 0)
        tu_sleep_us((unsigned)((r >> 10) % 50));
}

/* One side of the ping-pong: waits for item `seq` on r with the contract's
 * loop (pop until SCB_EAGAIN, then poll with a timeout that counts as a
 * lost wake-up).  0, or what went wrong in *why. */
static int pp_await(scb_t *r, int fd, uint64_t seq, const char **why)
{
    uint64_t s;
    int rc, n;

    for (;;) {
        rc = fd_pop(r, &s);
        if (rc == SCB_OK) {
            if (s != seq) {
                *why = "an item out of order";
                return -1;
            }
            return 0;
        }
        if (rc != SCB_EAGAIN) {
            *why = scb_strerror(rc);
            return -1;
        }
        n = k_ready(fd, 2000);
        if (n <= 0) {
            *why = n == 0 ? "no readiness in 2 s (a lost wake-up)" : "poll failed";
            return -1;
        }
    }
}

/* Echo child: rings[0] -> rings[1], PP_FD_ROUNDS items, through its fd. */
static int child_fd_echo(void *arg)
{
    const struct kopts *o = arg;
    struct kopts o1 = *o;
    const char *why = "";
    scb_t *r, *w;
    scb_fd_t fd;
    uint64_t i;
    int rc;

    o1.ring = 0;
    if (k_open(&o1, 0, &r) != SCB_OK)
        return 10;
    o1.ring = 1;
    if (k_open(&o1, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(r, &fd)) != SCB_OK) {
        say("echo: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    ready(o);
    for (i = 0; i < o->n; i++) {
        if (pp_await(r, fd, i, &why) != 0) {
            say("echo: round %" PRIu64 ": %s", i, why);
            return 1;
        }
        fd_pause();
        while ((rc = fd_push(w, i)) == SCB_EAGAIN)
            tu_sleep_us(10);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": push: %s", i, scb_strerror(rc));
            return 2;
        }
    }
    scb_close(r);
    scb_close(w);
    return 0;
}

/* The contract's loop between two processes for 100 000 round trips, with
 * random pauses on both sides: every wait is in poll on scb_fd, with a
 * timeout that fails the test.  _i: the ring kind. */
START_TEST(test_fd_pingpong)
{
    uint32_t flags = fd_kinds[_i];
    const char *why = "";
    struct kopts o;
    scb_fd_t fd;
    uint64_t i, t0;
    int rfd[2], rc, st;
    pid_t pid;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 1024 : 16, flags, 0, 0, 0);
    mk_ring(1, 16, (flags & SCB_RECORDS) ? 1024 : 16, flags, 0, 0, 1);
    open_h(1, 0, 2);
    close_h(1);
    fd = fd_of(2);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = PP_FD_ROUNDS;
    pid = spawn(child_fd_echo, &o);
    expect_ready(rfd[0], "the echo child");
    t0 = now_ns();
    for (i = 0; i < PP_FD_ROUNDS; i++) {
        while ((rc = fd_push(hs[0], i)) == SCB_EAGAIN)
            tu_sleep_us(10);
        W_ASSERT(rc == SCB_OK, "%s: round %" PRIu64 ": push: %s", fd_kind(flags), i,
                 scb_strerror(rc));
        rc = pp_await(hs[2], fd, i, &why);
        W_ASSERT(rc == 0, "%s: round %" PRIu64 " of %d: %s", fd_kind(flags), i,
                 PP_FD_ROUNDS, why);
        fd_pause();
    }
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the echo child: %s", st_str(st));
    fprintf(stderr, "check_scb_wait: %s %s scb_fd ping-pong: %d rounds in %.0f ms\n",
            tu_backend, fd_kind(flags), PP_FD_ROUNDS, ms_since(t0));
}
END_TEST

#define MANY_FD 64

/* A reader child: arms its fd, says ready, and must see it come up and pop
 * item 0 within 5 s; reports 'G' on rep_fd. */
static int child_fd_reader1(void *arg)
{
    const struct kopts *o = arg;
    uint64_t s = UINT64_MAX;
    scb_t *r;
    scb_fd_t fd;
    int rc;

    if (k_open(o, 0, &r) != SCB_OK)
        return 10;
    if ((rc = scb_fd(r, &fd)) != SCB_OK) {
        say("reader: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    if ((rc = fd_pop(r, &s)) != SCB_EAGAIN) {
        say("reader: pop on an empty ring: %s", scb_strerror(rc));
        return 12;
    }
    ready(o);
    if (o->timeout_ms == 0) {
        for (;;)
            pause(); /* a victim, armed until it is killed */
    }
    if (k_ready(fd, (int)o->timeout_ms) != 1) {
        say("reader: fd not ready within %d ms", (int)o->timeout_ms);
        return 1;
    }
    if ((rc = fd_pop(r, &s)) != SCB_OK || s != 0) {
        say("reader: pop after poll: %s, seq %" PRIu64, scb_strerror(rc), s);
        return 2;
    }
    put_byte(o->rep_fd, 'G');
    return scb_close(r) == SCB_OK ? 0 : 3;
}

/* 64 armed readers of one ring, each in its own process: one push wakes
 * them all. */
START_TEST(test_fd_many_readers)
{
    struct kopts o;
    int rfd[2], gfd[2], i, st;
    char buf[MANY_FD];
    size_t got;

    mk_ring(0, 16, 64, 0, 0, 0, 0);
    mk_pipe(rfd);
    mk_pipe(gfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.rep_fd = gfd[1];
    o.cmd_fd = -1;
    o.timeout_ms = 5000;
    for (i = 0; i < MANY_FD; i++)
        spawn(child_fd_reader1, &o);
    for (i = 0; i < MANY_FD; i++)
        expect_ready(rfd[0], "an armed reader");
    W_ASSERT(fd_push(hs[0], 0) == SCB_OK, "push");
    got = read_bytes(gfd[0], buf, MANY_FD, 5000);
    W_ASSERT(got == MANY_FD, "%zu of %d armed readers woke up", got, MANY_FD);
    for (i = 0; i < MANY_FD; i++) {
        st = reap(kids[0], REAP_MS);
        W_ASSERT(exited0(st), "reader %d: %s", i, st_str(st));
    }
}
END_TEST

/* An armed reader SIGKILLed: the writer pays one needless ring at most,
 * then pushes without system calls. */
START_TEST(test_fd_dead_reader)
{
    uint32_t flags = fd_kinds[_i];
    struct kopts o;
    unsigned long c0;
    uint64_t i;
    int rfd[2];
    pid_t pid;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 65536 : 4096, flags, 0, 0, 0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = 0; /* stays armed */
    pid = spawn(child_fd_reader1, &o);
    expect_ready(rfd[0], "the armed reader");
    W_ASSERT(killed9(kill_reap(pid)), "the armed reader did not die of SIGKILL");
    c0 = wake_calls();
    for (i = 0; i < 1000; i++)
        W_ASSERT(fd_push(hs[0], i) == SCB_OK, "push %" PRIu64, i);
    W_ASSERT(wake_calls() - c0 <= 1, "%s: %lu system calls in 1000 pushes after the armed "
             "reader died (at most 1)", fd_kind(flags), wake_calls() - c0);
}
END_TEST

/* A writer child for the lossless tests: fills the ring, arms its fd with
 * the push that finds it full, says ready, then waits in poll (5 s) and
 * pushes once more; exits 0 if that worked, with timeout_ms 0 it stays
 * armed until it is killed. */
static int child_fd_writer(void *arg)
{
    const struct kopts *o = arg;
    uint64_t n = 0;
    scb_t *w;
    scb_fd_t fd;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(w, &fd)) != SCB_OK) {
        say("writer: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    while ((rc = fd_push(w, n)) == SCB_OK)
        n++;
    if (rc != SCB_EAGAIN) {
        say("writer: push: %s", scb_strerror(rc));
        return 12;
    }
    ready(o);
    for (;;)
        pause();
}

/* An armed lossless writer SIGKILLed: the reader's pops pay one needless
 * ring at most. */
START_TEST(test_fd_dead_writer)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct kopts o;
    unsigned long c0;
    uint64_t s, n = 0;
    int rfd[2], rc;
    pid_t pid;

    mk_ring(0, 16, _i ? 4096 : 128, flags, 0, 0, 0);
    open_h(0, 0, 1);
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    pid = spawn(child_fd_writer, &o);
    expect_ready(rfd[0], "the armed writer");
    W_ASSERT(killed9(kill_reap(pid)), "the armed writer did not die of SIGKILL");
    c0 = wake_calls();
    while ((rc = fd_pop(hs[1], &s)) == SCB_OK) {
        W_ASSERT(s == n, "%s: popped %" PRIu64 ", expected %" PRIu64, fd_kind(flags), s, n);
        n++;
    }
    W_ASSERT(rc == SCB_EAGAIN && n > 10, "%s: %s after %" PRIu64 " pops", fd_kind(flags),
             scb_strerror(rc), n);
    W_ASSERT(wake_calls() - c0 <= 1, "%s: %lu system calls in %" PRIu64 " pops after the "
             "armed writer died (at most 1)", fd_kind(flags), wake_calls() - c0, n);
}
END_TEST

/* A lossless writer armed on a full ring whose only reader is killed: the
 * writer's fd comes up and its push succeeds within the 1 s a dead reader
 * may hold it back. */
START_TEST(test_fd_dead_blocker)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct kopts o;
    uint64_t n = 0, t0;
    scb_fd_t fd;
    int rfd[2], rc;
    pid_t pid;

    mk_ring(0, 16, _i ? 512 : 8, flags, 0, 0, 0);
    fd = fd_of(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = 0;
    pid = spawn(child_fd_reader1, &o);
    expect_ready(rfd[0], "the blocking reader");
    while ((rc = fd_push(hs[0], n)) == SCB_OK)
        n++;
    W_ASSERT(rc == SCB_EAGAIN, "%s: filling: %s", fd_kind(flags), scb_strerror(rc));
    W_ASSERT(killed9(kill_reap(pid)), "the reader did not die of SIGKILL");
    t0 = now_ns();
    for (;;) {
        W_ASSERT(ms_since(t0) < 1500, "%s: the writer is still held back %.0f ms after "
                 "its only reader died", fd_kind(flags), ms_since(t0));
        W_ASSERT(fd_ready(fd, 1500), "%s: the armed writer's fd did not come up in 1.5 s "
                 "after its reader died", fd_kind(flags));
        if ((rc = fd_push(hs[0], n)) == SCB_OK)
            break;
        W_ASSERT(rc == SCB_EAGAIN, "%s: push: %s", fd_kind(flags), scb_strerror(rc));
    }
}
END_TEST

#ifdef __linux__

#define EP_RINGS 3
#define EP_ITEMS 20000

/* A writer child of the epoll test: EP_ITEMS items with random pauses,
 * waiting for room in poll on its own fd (lossless ring). */
static int child_fd_stream_writer(void *arg)
{
    const struct kopts *o = arg;
    scb_t *w;
    scb_fd_t fd;
    uint64_t i;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(w, &fd)) != SCB_OK) {
        say("writer: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    ready(o);
    await_byte(o->cmd_fd);
    for (i = 0; i < o->n; i++) {
        while ((rc = fd_push(w, i)) == SCB_EAGAIN) {
            if (k_ready(fd, 2000) != 1) {
                say("writer: item %" PRIu64 ": no room in 2 s", i);
                return 1;
            }
        }
        if (rc != SCB_OK) {
            say("writer: push: %s", scb_strerror(rc));
            return 2;
        }
        fd_pause();
    }
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* One process reads three lossless rings and a timer through one epoll set
 * while three writer children push into them with random pauses: every
 * item arrives, in order, and every wait ends within its timeout. */
START_TEST(test_fd_epoll)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct epoll_event ev, evs[EP_RINGS + 1];
    uint64_t next[EP_RINGS], s, total = 0;
    struct kopts o[EP_RINGS];
    int rfd[2], cfd[2], ep, i, n, k, st, rc;

    mk_pipe(rfd);
    mk_pipe(cfd);
    ep = epoll_create1(EPOLL_CLOEXEC);
    W_ASSERT(ep >= 0, "epoll_create1: %s", strerror(errno));
    for (k = 0; k < EP_RINGS; k++) {
        mk_ring(k, 16, _i ? 2048 : 64, flags, 0, 0, k);
        open_h(k, 0, EP_RINGS + k);
        close_h(k);
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)k;
        W_ASSERT(epoll_ctl(ep, EPOLL_CTL_ADD, fd_of(EP_RINGS + k), &ev) == 0,
                 "epoll_ctl: %s", strerror(errno));
        memset(&o[k], 0, sizeof o[k]);
        o[k].ring = k;
        o[k].ready_fd = rfd[1];
        o[k].cmd_fd = cfd[0];
        o[k].rep_fd = -1;
        o[k].n = EP_ITEMS;
        spawn(child_fd_stream_writer, &o[k]);
        next[k] = 0;
    }
    for (k = 0; k < EP_RINGS; k++) {
        expect_ready(rfd[0], "a writer");
        /* The contract's loop starts with the pops: their SCB_EAGAIN arms. */
        rc = fd_pop(hs[EP_RINGS + k], &s);
        W_ASSERT(rc == SCB_EAGAIN, "%s: first pop: %s", fd_kind(flags), scb_strerror(rc));
    }
    for (k = 0; k < EP_RINGS; k++)
        put_byte(cfd[1], 'g'); /* go */
    while (total < (uint64_t)EP_RINGS * EP_ITEMS) {
        n = epoll_wait(ep, evs, EP_RINGS + 1, 2000);
        if (n < 0 && errno == EINTR)
            continue;
        W_ASSERT(n > 0, "%s: epoll_wait: %s with %" PRIu64 " of %d items in (a lost "
                 "wake-up)", fd_kind(flags), n == 0 ? "2 s without readiness" :
                 strerror(errno), total, EP_RINGS * EP_ITEMS);
        for (i = 0; i < n; i++) {
            k = (int)evs[i].data.u32;
            while ((rc = fd_pop(hs[EP_RINGS + k], &s)) == SCB_OK) {
                W_ASSERT(s == next[k], "%s: ring %d: item %" PRIu64 ", expected %" PRIu64,
                         fd_kind(flags), k, s, next[k]);
                next[k]++;
                total++;
            }
            W_ASSERT(rc == SCB_EAGAIN, "%s: pop: %s", fd_kind(flags), scb_strerror(rc));
        }
    }
    close(ep);
    for (k = 0; k < EP_RINGS; k++) {
        st = reap(kids[0], REAP_MS);
        W_ASSERT(exited0(st), "writer %d: %s", k, st_str(st));
    }
}
END_TEST

#endif /* __linux__ */

void tu_wait_add_fd_mp(Suite *s)
{
    TCase *tc;

    tc = w_tcase(s, "fd_pingpong", 120);
    tcase_add_loop_test(tc, test_fd_pingpong, 0, 4);

    tc = w_tcase(s, "fd_processes", 60);
    tcase_add_test(tc, test_fd_many_readers);
    tcase_add_loop_test(tc, test_fd_dead_reader, 0, 4);
    tcase_add_loop_test(tc, test_fd_dead_writer, 0, 2);
    tcase_add_loop_test(tc, test_fd_dead_blocker, 0, 2);
#ifdef __linux__
    tcase_add_loop_test(tc, test_fd_epoll, 0, 2);
#endif
}
