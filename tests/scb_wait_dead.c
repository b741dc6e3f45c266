/*
 * scb_wait_dead.c - processes that die, in the wait suite of
 * tests/check_scb (see check_scb_wait.c): dead readers (also with their
 * pid reused), killed waiters, and reader permissions in lossless mode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

/* ======================================================================== */
/* 6. Dead readers                                                          */

/* A lossless ring of 8 with a live reader of the test process (hs[1]) that
 * has read everything and a reader child (returned) that registered and
 * read nothing, so the ring is full because of the child alone; hs[0] is
 * the writer, next_push 8. */
static pid_t full_because_of_child(void)
{
    struct kopts o;
    int rfd[2], cfd[2], rc, i;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: it waits to be killed */
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the doomed reader");
    next_push = next_pop = 0;
    for (i = 0; i < 8; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d: %s", i, scb_strerror(rc));
    }
    pop_expect_n(1, 8);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader child does not hold the writer back: "
             "scb_push = %s", scb_strerror(rc));
    tu_sleep_us(20000);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader child stopped holding the writer back "
             "after 20 ms: scb_push = %s", scb_strerror(rc));
    return pid;
}

/* After the writer was freed: the live reader (hs[1]) still holds it back
 * at 8 unread items, and receives them in order. */
static void live_reader_still_holds(int wh)
{
    int rc, i;

    for (i = 0; next_push - next_pop < 8; i++) {
        rc = push1(wh);
        W_ASSERT(rc == SCB_OK, "push after the dead reader was dropped: %s", scb_strerror(rc));
    }
    rc = push1(wh);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader has 8 unread items: scb_push = %s",
             scb_strerror(rc));
    pop_expect_n(1, 8);
    w_pop_empty(1);
    W_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
}

/* Retries scb_push on hs[0] every ms until it works; returns ms since t0,
 * asserts it did within 3 s. */
static double retry_push(uint64_t t0, const char *what)
{
    int rc;

    for (;;) {
        rc = push1(0);
        if (rc != SCB_EAGAIN || now_ns() - t0 > 3000000000u)
            break;
        tu_sleep_us(1000);
    }
    W_ASSERT(rc == SCB_OK, "%s: scb_push after the reader's death: %s after %.1f ms", what,
             scb_strerror(rc), ms_since(t0));
    return ms_since(t0);
}

/* The writer retries scb_push.  _i 0: the dead reader is reaped at once,
 * 1: it stays a zombie. */
START_TEST(test_dead_reader_retry)
{
    const char *what = _i ? "zombie reader" : "reaped reader";
    uint64_t t0;
    pid_t pid;
    double dt;
    int st;

    pid = full_because_of_child();
    t0 = now_ns();
    kill(pid, SIGKILL);
    if (_i == 0)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    dt = retry_push(t0, what);
    W_ASSERT(dt < 1000, "%s: the writer was free %.1f ms after the kill", what, dt);
    if (_i == 1) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    live_reader_still_holds(0);
}
END_TEST

/* scb_info's readers counts live readers only: a reader child SIGKILLed
 * (reaped, _i 0, or left a zombie, _i 1) stops counting at once, before
 * any writer has freed its slot, so `scb stat` and `scb rm --stale` see
 * the ring as it is. */
START_TEST(test_dead_reader_not_counted)
{
    const char *what = _i ? "zombie reader" : "reaped reader";
    scb_info_t info;
    pid_t pid;
    int st;

    pid = full_because_of_child();
    W_ASSERT(scb_info(hs[0], &info) == SCB_OK && info.readers == 2,
             "two live readers: scb_info says %u", (unsigned)info.readers);
    kill(pid, SIGKILL);
    if (_i == 0) {
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    } else {
        /* Wait until it is a zombie, without reaping it. */
        W_ASSERT(waitid(P_PID, (id_t)pid, &(siginfo_t){0}, WEXITED | WNOWAIT) == 0,
                 "the killed reader did not end");
    }
    W_ASSERT(scb_info(hs[1], &info) == SCB_OK && info.readers == 1,
             "%s: scb_info (reader handle) counts %u readers, want the 1 live one",
             what, (unsigned)info.readers);
    W_ASSERT(scb_info(hs[0], &info) == SCB_OK && info.readers == 1,
             "%s: scb_info (writer handle) counts %u readers, want the 1 live one",
             what, (unsigned)info.readers);
    if (_i == 1) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    close_h(1);
    W_ASSERT(scb_info(hs[0], &info) == SCB_OK && info.readers == 0,
             "%s: no live reader left: scb_info counts %u", what,
             (unsigned)info.readers);
}
END_TEST

/* A writer child is blocked in scb_push_wait when the reader is killed.
 * _i: bit 0: the dead reader stays a zombie; bit 1: scb_push_wait(5000)
 * instead of (-1). */
START_TEST(test_dead_reader_blocked)
{
    int zombie = _i & 1;
    int64_t timeout = (_i & 2) ? 5000 : -1;
    char what[64];
    struct kopts o;
    uint64_t t_kill;
    int rfd[2], st;
    pid_t pid, wp;
    double dt;

    snprintf(what, sizeof what, "%s reader, scb_push_wait(%d)",
             zombie ? "zombie" : "reaped", (int)timeout);
    pid = full_because_of_child();
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.slot = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = timeout;
    wp = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the writer child");
    tu_sleep_us(100000);
    W_ASSERT(!atomic_load(&sh->k[0].done),
             "%s: scb_push_wait into a ring that is full for a live reader returned %s",
             what, scb_strerror(sh->k[0].rc));
    t_kill = now_ns();
    kill(pid, SIGKILL);
    if (!zombie)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    st = reap(wp, 5000);
    W_ASSERT(exited0(st) && sh->k[0].rc == SCB_OK, "%s: the blocked writer: %s, %s", what,
             st_str(st), atomic_load(&sh->k[0].done) ? scb_strerror(sh->k[0].rc)
                                                     : "still blocked after 5 s");
    dt = ms_between(t_kill, sh->k[0].t_ret);
    W_ASSERT(dt < 1000, "%s: the blocked writer was freed %.1f ms after the kill", what, dt);
    if (zombie) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    next_push++; /* the writer child's item */
    open_h(0, SCB_WRITER, 0);
    live_reader_still_holds(0);
}
END_TEST

#define STAGGERED 12

/* Several readers die at once, each registered at a different position
 * (SCB_LATEST, one push apart), so each in turn is the one that holds the
 * writer back: all of them stop doing so within 1 s of their death. */
START_TEST(test_dead_readers_staggered)
{
    struct kopts o;
    pid_t v[STAGGERED];
    uint64_t t0, target, i;
    int rfd[2], cfd[2], rc = SCB_OK, k;
    double dt;

    mk_ring(0, 16, 16, SCB_LOSSLESS, 0, 0, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.oflags = SCB_LATEST;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: they wait to be killed */
    o.rep_fd = -1;
    next_push = 0;
    for (k = 0; k < STAGGERED; k++) {
        v[k] = spawn(child_idle, &o);
        expect_ready(rfd[0], "a doomed reader");
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d: %s", k, scb_strerror(rc));
    }
    W_ASSERT(w_info_of(0).readers == STAGGERED, "readers %u", w_info_of(0).readers);
    while ((rc = push1(0)) == SCB_OK && next_push < 100)
        ;
    W_ASSERT(rc == SCB_EAGAIN && next_push == 16,
             "the first reader (16 unread) does not hold the writer back: %s at %" PRIu64,
             scb_strerror(rc), next_push);

    t0 = now_ns();
    for (k = 0; k < STAGGERED; k++)
        kill(v[k], SIGKILL);
    for (k = 0; k < STAGGERED; k++)
        W_ASSERT(killed9(kill_reap(v[k])), "reader %d was not killed", k);
    /* Each dead reader let go, the writer gets past the last one's place. */
    target = next_push + STAGGERED;
    while (next_push < target && now_ns() - t0 < 3000000000u) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK || rc == SCB_EAGAIN, "scb_push: %s", scb_strerror(rc));
        if (rc == SCB_EAGAIN)
            tu_sleep_us(1000);
    }
    dt = ms_since(t0);
    W_ASSERT(next_push >= target, "%d readers killed at once, one push apart: 3 s later "
             "the writer got only %" PRIu64 " of %d items past them", STAGGERED,
             next_push - (target - STAGGERED), STAGGERED);
    W_ASSERT(dt < 1000, "%d readers killed at once, one push apart: the writer was free "
             "of them all %.1f ms after the kill", STAGGERED, dt);
    for (i = 0; i < 64; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "no live reader left: push %" PRIu64 ": %s", i,
                 scb_strerror(rc));
    }
}
END_TEST

/* Writes want - 1 into ns_last_pid so that the next fork gets want (if it
 * is free and nothing else forks in between).  Returns 0 on success. */
static int set_last_pid(pid_t want)
{
    char buf[32];
    int fd = open(NS_LAST_PID, O_WRONLY), n, ok;

    if (fd < 0)
        return -1;
    n = snprintf(buf, sizeof buf, "%ld", (long)want - 1);
    ok = write(fd, buf, (size_t)n) == n;
    close(fd);
    return ok ? 0 : -1;
}

/* Suite construction: 1 if a reaped process id can be handed to the next
 * fork through ns_last_pid here. */
static int pid_reuse_works(void)
{
    int tries, st;

    if (geteuid() != 0 || access(NS_LAST_PID, W_OK) != 0)
        return 0;
    for (tries = 0; tries < 10; tries++) {
        pid_t a, b;

        fflush(stdout);
        fflush(stderr);
        a = fork();
        if (a < 0)
            return 0;
        if (a == 0)
            _exit(0);
        waitpid(a, &st, 0);
        if (set_last_pid(a) != 0)
            return 0;
        b = fork();
        if (b < 0)
            return 0;
        if (b == 0)
            _exit(0);
        waitpid(b, &st, 0);
        if (b == a)
            return 1;
    }
    return 0;
}

/* The dead reader's process id goes at once to a new (sleeping) process
 * before the writer looks again.  _i 0: the writer retries scb_push,
 * 1: it calls scb_push_wait(5000). */
START_TEST(test_dead_reader_pid_reuse)
{
    const char *what = _i ? "pid reused, scb_push_wait(5000)" : "pid reused, scb_push retried";
    struct kopts o;
    uint64_t t0;
    int cfd[2], st, tries, rc;
    pid_t pid, sleeper = -1;
    double dt;

    pid = full_because_of_child();
    t0 = now_ns();
    W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = -1;
    o.ready_fd = -1;
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    /* Any process forking in between (other tests beside this one) takes
     * the number: tried many times. */
    for (tries = 0; tries < 500; tries++) {
        W_ASSERT(set_last_pid(pid) == 0, "writing %s: %s", NS_LAST_PID, strerror(errno));
        sleeper = spawn(child_idle, &o);
        if (sleeper == pid)
            break;
        kill_reap(sleeper);
    }
    if (sleeper != pid)
        fprintf(stderr, "check_scb_wait: %s: could not force the reuse of pid %ld (an "
                "environment problem, not a library one): test_dead_reader_pid_reuse "
                "FAILS rather than pass unchecked\n", tu_backend, (long)pid);
    W_ASSERT(sleeper == pid, "could not force the reuse of pid %ld in %d tries", (long)pid,
             tries);
    /* The writer looks only when it pushes: from now on, however long
     * forcing the reuse took (seconds, on a loaded machine under ASan). */
    t0 = now_ns();

    if (_i == 0) {
        dt = retry_push(t0, what);
    } else {
        uint8_t item[16];
        tu_fill(item, sizeof item, next_push);
        rc = scb_push_wait(hs[0], item, 5000);
        dt = ms_since(t0);
        W_ASSERT(rc == SCB_OK, "%s: %s after %.1f ms", what, scb_strerror(rc), dt);
        next_push++;
    }
    W_ASSERT(dt < 1000, "%s: the writer was free %.1f ms after the pid was reused", what, dt);
    /* The process that got the id lived throughout. */
    W_ASSERT(waitpid(sleeper, &st, WNOHANG) == 0 && kill(sleeper, 0) == 0,
             "the process with the reused pid %ld is gone", (long)pid);
    live_reader_still_holds(0);
    put_byte(cfd[1], 'q');
    st = reap(sleeper, REAP_MS);
    W_ASSERT(exited0(st), "the process with the reused pid: %s", st_str(st));
}
END_TEST

/* ======================================================================== */
/* 7. Waiters killed                                                        */

#define VICTIM_ROUNDS 6
#define RATE_PUSHES 500000

/* Nanoseconds for RATE_PUSHES scb_push on hs[h], best of three. */
static uint64_t push_time(int h)
{
    uint8_t item[16];
    uint64_t best = UINT64_MAX;
    int run, i, rc;

    tu_fill(item, sizeof item, 0);
    for (run = 0; run < 3; run++) {
        uint64_t t0 = now_ns(), dt;
        for (i = 0; i < RATE_PUSHES; i++) {
            rc = scb_push(hs[h], item);
            if (rc != SCB_OK)
                break;
        }
        dt = now_ns() - t0;
        W_ASSERT(rc == SCB_OK, "push %d of a rate run (no live reader registered): %s",
                 i, scb_strerror(rc));
        if (dt < best)
            best = dt;
    }
    return best;
}

/* Readers killed while asleep in scb_pop_wait(-1) leave the ring working:
 * another reader asleep in scb_pop_wait(-1) wakes for every push, and once
 * the dead are gone the writer pushes at its old rate.  _i 0: overwrite,
 * 1: lossless. */
START_TEST(test_pop_waiter_killed)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    const uint64_t base = 1000;
    struct kopts ob, ov;
    uint64_t before, after, last_kill = 0;
    int rfd[2], bfd[2], st, r;
    pid_t b;

    mk_ring(0, 16, 16, flags, 0, 0, 0);
    before = push_time(0);

    mk_pipe(rfd);
    mk_pipe(bfd);
    memset(&ob, 0, sizeof ob);
    ob.ring = 0;
    ob.oflags = SCB_LATEST;
    ob.ready_fd = rfd[1];
    ob.cmd_fd = -1;
    ob.rep_fd = bfd[1];
    ob.n = VICTIM_ROUNDS;
    ob.seq = base;
    b = spawn(child_waiter, &ob);
    expect_ready(rfd[0], "the surviving waiter");

    memset(&ov, 0, sizeof ov);
    ov.ring = 0;
    ov.oflags = SCB_LATEST;
    ov.ready_fd = rfd[1];
    ov.cmd_fd = ov.rep_fd = -1;
    ov.timeout_ms = -1;
    for (r = 0; r < VICTIM_ROUNDS; r++) {
        uint8_t item[16];
        pid_t v[2];
        char c = 0;
        int nv = 1 + r % 2, j, rc;

        for (j = 0; j < nv; j++) {
            v[j] = spawn(child_idle, &ov);
            expect_ready(rfd[0], "a victim");
        }
        tu_sleep_us(30000); /* everyone is asleep in scb_pop_wait */
        for (j = 0; j < nv; j++)
            kill(v[j], SIGKILL);
        last_kill = now_ns();
        if (r % 3 != 2) /* every third round they stay zombies over the push */
            for (j = 0; j < nv; j++)
                W_ASSERT(killed9(kill_reap(v[j])), "a victim was not killed");
        tu_fill(item, sizeof item, base + (uint64_t)r);
        rc = scb_push(hs[0], item);
        W_ASSERT(rc == SCB_OK, "%s: round %d: scb_push: %s", kind(flags), r, scb_strerror(rc));
        W_ASSERT(read_bytes(bfd[0], &c, 1, 2000) == 1,
                 "%s: round %d: the surviving waiter did not wake within 2 s of a push "
                 "after %d waiter(s) were killed in scb_pop_wait", kind(flags), r, nv);
        if (r % 3 == 2)
            for (j = 0; j < nv; j++)
                W_ASSERT(killed9(kill_reap(v[j])), "a victim was not killed");
    }
    st = reap(b, REAP_MS);
    W_ASSERT(exited0(st), "the surviving waiter: %s", st_str(st));

    /* Nobody waits any more (the survivor closed, the victims are dead
     * for a second): the writer is back on its fast path. */
    while (now_ns() - last_kill < 1100000000u)
        tu_sleep_us(10000);
    after = push_time(0);
    W_ASSERT(after <= 10 * before + 20000000u,
             "%s: %d pushes took %.1f ms before waiters were killed in scb_pop_wait and "
             "%.1f ms after (a waiter count left wrong?)", kind(flags), RATE_PUSHES,
             (double)before / 1e6, (double)after / 1e6);
}
END_TEST

/* A writer killed while blocked in scb_push_wait: a new writer takes the
 * role over and works, waits and wakes included. */
START_TEST(test_push_waiter_killed)
{
    struct kopts o;
    uint64_t t0, t_pop;
    int rfd[2], st, rc;
    pid_t w1, w2;
    double dt;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.slot = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = 4; /* fills the ring, then waits for room */
    o.timeout_ms = -1;
    w1 = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the first writer");
    tu_sleep_us(50000);
    W_ASSERT(!atomic_load(&sh->k[0].done), "scb_push_wait into a full ring returned %s",
             scb_strerror(sh->k[0].rc));
    W_ASSERT(killed9(kill_reap(w1)), "the first writer was not killed");

    /* A new writer takes over; the ring is still full. */
    t0 = now_ns();
    while ((rc = w_open_rc(0, SCB_WRITER, &hs[0])) == SCB_EBUSY && now_ns() - t0 < 2000000000u)
        tu_sleep_us(1000);
    W_ASSERT(rc == SCB_OK, "takeover from a writer killed in scb_push_wait: %s after %.1f ms",
             scb_strerror(rc), ms_since(t0));
    W_ASSERT(ms_since(t0) < 1000, "takeover took %.1f ms", ms_since(t0));
    W_ASSERT(w_info_of(0).pushed == 4, "pushed %" PRIu64, w_info_of(0).pushed);
    next_push = 4;
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the new writer pushed into a full ring: %s", scb_strerror(rc));
    close_h(0);

    /* A second writer child waits in scb_push_wait(-1) and wakes when the
     * reader pops. */
    o.n = 0;
    o.slot = 1;
    w2 = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the second writer");
    tu_sleep_us(50000);
    W_ASSERT(!atomic_load(&sh->k[1].done), "the second writer's scb_push_wait into a full "
             "ring returned %s", scb_strerror(sh->k[1].rc));
    next_pop = 0;
    t_pop = now_ns();
    pop_expect_n(1, 1);
    st = reap(w2, 5000);
    W_ASSERT(exited0(st) && sh->k[1].rc == SCB_OK, "the second writer: %s, %s", st_str(st),
             atomic_load(&sh->k[1].done) ? scb_strerror(sh->k[1].rc) : "never woke");
    dt = ms_between(t_pop, sh->k[1].t_ret);
    W_ASSERT(dt < 1000, "the second writer woke %.1f ms after the pop", dt);
    pop_expect_n(1, 4); /* seq 1..3 of the first writer, 4 of the second */
    w_pop_empty(1);
}
END_TEST

/* ======================================================================== */
/* 8. Reader permissions in lossless mode (root only)                       */

/* Child side: becomes `nobody` for good; returns 0 on success. */
static int drop_to_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");

    if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
        say("no unprivileged user nobody");
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
        geteuid() != pw->pw_uid || getegid() != pw->pw_gid || setuid(0) != -1) {
        say("could not become nobody: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* As nobody: opening a reader must give SCB_EACCES. */
static int child_nobody_refused(void *arg)
{
    const struct kopts *o = arg;
    scb_t *h = (scb_t *)(void *)&h;
    int rc;

    if (drop_to_nobody() != 0)
        return 20;
    rc = w_open_rc(o->ring, 0, &h);
    if (rc != SCB_EACCES || h != NULL) {
        say("nobody, 0644 lossless ring: scb_open as reader: %s, expected SCB_EACCES",
            scb_strerror(rc));
        if (rc == SCB_OK)
            scb_close(h);
        return 1;
    }
    rc = w_open_rc(o->ring, SCB_LATEST, &h);
    if (rc != SCB_EACCES) {
        say("nobody, 0644 lossless ring: scb_open(SCB_LATEST): %s, expected SCB_EACCES",
            scb_strerror(rc));
        return 2;
    }
    return 0;
}

/* As nobody: a reader that pops o->n items (seq 0..), then after telling
 * the test process, waits for one more (seq n) with scb_pop_wait(-1), after
 * a scb_pop_wait(0) and a scb_pop_wait(100) that find nothing. */
static int child_nobody_reader(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t i, s, t0;
    double dt;
    scb_t *r;
    int rc;

    if (drop_to_nobody() != 0)
        return 20;
    if (k_open(o, 0, &r) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, 2000);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != i) {
            say("nobody reader: item %" PRIu64 ": %s", i, scb_strerror(rc));
            return 1;
        }
    }
    t0 = now_ns();
    rc = scb_pop_wait(r, item, 0);
    if (rc != SCB_EAGAIN || ms_since(t0) >= 90) {
        say("nobody reader: scb_pop_wait(0): %s after %.1f ms", scb_strerror(rc),
            ms_since(t0));
        return 2;
    }
    t0 = now_ns();
    rc = scb_pop_wait(r, item, 100);
    dt = ms_since(t0);
    if (rc != SCB_ETIMEDOUT || dt < 100 || dt >= 250) {
        say("nobody reader: scb_pop_wait(100): %s after %.2f ms", scb_strerror(rc), dt);
        return 3;
    }
    put_byte(o->rep_fd, 'w');
    t0 = now_ns();
    rc = scb_pop_wait(r, item, -1);
    dt = ms_since(t0);
    if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->n || dt >= 1000) {
        say("nobody reader: scb_pop_wait(-1): %s after %.1f ms", scb_strerror(rc), dt);
        return 4;
    }
    return scb_close(r) == SCB_OK ? 0 : 5;
}

/* A lossless ring of mode 0644: `nobody` may read it but not write its
 * reader slot, so it cannot register: SCB_EACCES. */
START_TEST(test_perm_lossless_0644)
{
    struct kopts o;
    pid_t pid;
    int st;

    if (apr_mode_refused(0, SCB_LOSSLESS, 0644))
        return;
    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0644, 0);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = o.cmd_fd = o.rep_fd = -1;
    pid = spawn(child_nobody_refused, &o);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "nobody on a 0644 lossless ring: %s", st_str(st));
    W_ASSERT(w_info_of(0).readers == 0, "readers %u", w_info_of(0).readers);
    next_push = 0;
    W_ASSERT(push1(0) == SCB_OK, "push");
}
END_TEST

/* _i 0: an overwrite ring of mode 0644: `nobody` reads it, and
 * scb_pop_wait works there (by polling where it cannot announce itself);
 * _i 1: a lossless ring of mode 0666: `nobody` registers, holds the
 * writer back, and reads everything. */
START_TEST(test_perm_reader_works)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    char c = 0;
    int rfd[2], cfd[2], wfd[2], st, rc, i;
    pid_t pid;

    if (apr_mode_refused(0, flags, _i ? 0666 : 0644))
        return;
    mk_ring(0, 16, 8, flags, 0, _i ? 0666 : 0644, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    mk_pipe(wfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = wfd[1];
    o.n = 8;
    pid = spawn(child_nobody_reader, &o);
    expect_ready(rfd[0], "the nobody reader");
    next_push = 0;
    for (i = 0; i < 8; i++)
        W_ASSERT(push1(0) == SCB_OK, "push %d", i);
    if (_i) {
        W_ASSERT(w_info_of(0).readers == 1, "nobody's reader: readers %u", w_info_of(0).readers);
        rc = push1(0);
        W_ASSERT(rc == SCB_EAGAIN, "nobody's registered reader does not hold the writer "
                 "back: scb_push = %s", scb_strerror(rc));
    }
    put_byte(cfd[1], 'g');
    W_ASSERT(read_bytes(wfd[0], &c, 1, 5000) == 1, "the nobody reader did not get to "
             "its last wait: %s", st_str(reap(pid, 1)));
    tu_sleep_us(50000);
    tu_fill(item, sizeof item, next_push);
    rc = scb_push_wait(hs[0], item, 2000);
    W_ASSERT(rc == SCB_OK, "push of the last item: %s", scb_strerror(rc));
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "nobody on a %s ring of mode %o: %s", kind(flags),
             _i ? 0666 : 0644, st_str(st));
}
END_TEST

/* ======================================================================== */
/* The tcases of this file                                                  */

void tu_wait_add_dead(Suite *s)
{
    TCase *tc;

    tc = w_tcase(s, "dead_reader", 20);
    tcase_add_loop_test(tc, test_dead_reader_retry, 0, 2);
    tcase_add_loop_test(tc, test_dead_reader_blocked, 0, 4);
    tcase_add_test(tc, test_dead_readers_staggered);
    tcase_add_loop_test(tc, test_dead_reader_not_counted, 0, 2);

    if (pid_reuse_works()) {
        tc = w_tcase(s, "dead_reader_pid_reuse", 20);
        tcase_add_loop_test(tc, test_dead_reader_pid_reuse, 0, 2);
    } else {
        fprintf(stderr, "check_scb_wait: NOTE: a process id cannot be reused on demand "
                "here (needs root and a writable %s), so the \"dead_reader_pid_reuse\" "
                "tcase (a dead reader whose pid is reused at once) is NOT run\n",
                NS_LAST_PID);
    }

    tc = w_tcase(s, "waiter_killed", 30);
    tcase_add_loop_test(tc, test_pop_waiter_killed, 0, 2);
    tcase_add_test(tc, test_push_waiter_killed);

    if (geteuid() == 0) {
        tc = w_tcase(s, "lossless_perms", 20);
        tcase_add_test(tc, test_perm_lossless_0644);
        tcase_add_loop_test(tc, test_perm_reader_works, 0, 2);
    } else {
        fprintf(stderr, "check_scb_wait: NOTE: not root, so the \"lossless_perms\" tcase "
                "(reader permissions as another user) is NOT run\n");
    }
}
