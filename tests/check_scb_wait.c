/*
 * check_scb_wait.c - blocking waits, SCB_LOSSLESS and processes that die:
 * the part of the per-backend suite (tests/check_scb BACKEND)
 * that covers scb_pop_wait and scb_push_wait, reader slots and SCB_ELIMIT,
 * readers and waiters killed with SIGKILL, and reader permissions in
 * lossless mode.
 *
 *     Suite *tu_wait_suite(void);
 *
 * Tests are written against the public contract (spec/API.md, scb.h) only:
 * nothing here looks inside a segment.
 *
 * The conventions of check_scb_mp.c apply.  Every tcase runs real forked
 * processes.  The test process (Check's forked child) creates the rings
 * before it forks, so children only open them.  Children never call Check:
 * they report by exit status, print details on stderr, leave their figures
 * in an anonymous shared mapping (struct shared) and leave with _exit.  In
 * fork mode a failed Check assertion ends the test process at once, without
 * the checked teardown, so every assertion here goes through W_ASSERT, which
 * first kills and reaps the children, closes the handles and unlinks the
 * rings.  As a last resort (a test that times out is killed by Check), every
 * ring name is also recorded in a mapping shared with Check's runner
 * process, whose unchecked teardown unlinks whatever is left.  On Linux the
 * children also die with the test process (PR_SET_PDEATHSIG).
 *
 * Time limits are the contract's and scb.h's: a timeout is never early
 * and not late by more than a loaded machine's scheduling (100 ms waits
 * return after 100 to 250 ms; under ASan on two busy CPUs 125 ms has been
 * seen), a dead reader stops
 * holding the writer back within 1 s of its death, and a wake-up is never
 * lost (a round that needs a wake-up and gets none runs into a 2 s
 * timeout, which fails the test).
 *
 * The machine may have two cores: children never spin; they sleep in the
 * library's waits or in short naps, and every wait of the test process has
 * a deadline.
 *
 * This file holds the fixture-free part: the timeouts and the cross-process
 * wake-ups, and the suite; scb_wait_lossless.c and scb_wait_dead.c hold the
 * rest, scb_wait_util.c the helpers and children, mputil.c the harness.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

START_TEST(test_pop_wait_timeouts)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    uint64_t t0, s = UINT64_MAX;
    int rfd[2], cfd[2], rc, st;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 8, flags, 0, 0, 0);
    open_h(0, 0, 1);

    t0 = now_ns();
    rc = scb_pop_wait(hs[1], item, 0);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_EAGAIN, "%s: scb_pop_wait(0) on an empty ring: %s", kind(flags),
             scb_strerror(rc));
    W_ASSERT(dt < 90, "%s: scb_pop_wait(0) took %.1f ms", kind(flags), dt);

    t0 = now_ns();
    rc = scb_pop_wait(hs[1], item, 100);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_ETIMEDOUT, "%s: scb_pop_wait(100) on an empty ring: %s",
             kind(flags), scb_strerror(rc));
    W_ASSERT(dt >= 100 && dt < 250, "%s: scb_pop_wait(100) timed out after %.2f ms",
             kind(flags), dt);

    /* Forever, with a push from another process after 50 ms. */
    close_h(0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    o.seq = 42;
    o.delay_us = 50000;
    pid = spawn(child_push_later, &o);
    expect_ready(rfd[0], "the pushing child");
    t0 = now_ns();
    put_byte(cfd[1], 'g');
    rc = scb_pop_wait(hs[1], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == 42,
             "%s: scb_pop_wait(-1): %s, seq %" PRIu64 ", expected 42", kind(flags),
             scb_strerror(rc), s);
    W_ASSERT(dt >= 50 && dt < 1000,
             "%s: scb_pop_wait(-1) returned after %.1f ms (the push came after 50 ms)",
             kind(flags), dt);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the pushing child: %s", st_str(st));
    w_pop_empty(1);
}
END_TEST

START_TEST(test_push_wait_timeouts)
{
    struct kopts o;
    uint8_t item[16];
    uint64_t t0;
    int rfd[2], cfd[2], rc, st, i;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = 0;
    for (i = 0; i < 4; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d of 4: %s", i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "push into a full lossless ring: %s", scb_strerror(rc));

    tu_fill(item, sizeof item, next_push);
    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, 0);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_EAGAIN, "scb_push_wait(0) on a full ring: %s", scb_strerror(rc));
    W_ASSERT(dt < 90, "scb_push_wait(0) took %.1f ms", dt);

    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, 100);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_ETIMEDOUT, "scb_push_wait(100) on a full ring: %s",
             scb_strerror(rc));
    W_ASSERT(dt >= 100 && dt < 250, "scb_push_wait(100) timed out after %.2f ms", dt);
    W_ASSERT(w_info_of(0).pushed == 4, "failed pushes pushed: pushed %" PRIu64,
             w_info_of(0).pushed);

    /* Forever, with a reader in another process that pops after 50 ms;
     * the test process's own reader goes, so only the child holds room. */
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    o.seq = 0;
    o.delay_us = 50000;
    pid = spawn(child_pop_later, &o);
    expect_ready(rfd[0], "the popping child");
    close_h(1);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the child reader (4 unread items) does not hold the "
             "writer back: scb_push = %s", scb_strerror(rc));
    t0 = now_ns();
    put_byte(cfd[1], 'g');
    rc = scb_push_wait(hs[0], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK, "scb_push_wait(-1): %s", scb_strerror(rc));
    W_ASSERT(dt >= 50 && dt < 1000,
             "scb_push_wait(-1) returned after %.1f ms (the pop came after 50 ms)", dt);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the popping child: %s", st_str(st));
    W_ASSERT(w_info_of(0).pushed == 5, "pushed %" PRIu64 ", expected 5", w_info_of(0).pushed);
}
END_TEST

/* ======================================================================== */
/* 2. Cross-process wake-up, no lost wake                                   */

#define PP_ROUNDS 5000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* _i 0: overwrite rings, 1: lossless rings. */
START_TEST(test_pingpong)
{
    static double lat[PP_ROUNDS];
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    uint64_t t0, s;
    int rfd[2], rc, st, i;
    pid_t pid;

    mk_ring(0, 16, 4, flags, 0, 0, 0); /* ping: test process -> child */
    mk_ring(1, 16, 4, flags, 0, 0, 1); /* pong: child -> test process */
    open_h(1, 0, 2);
    close_h(1);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = PP_ROUNDS;
    pid = spawn(child_echo, &o);
    expect_ready(rfd[0], "the echo child");

    for (i = 0; i < PP_ROUNDS; i++) {
        double dt;

        tu_fill(item, sizeof item, (uint64_t)i);
        rc = scb_push(hs[0], item);
        W_ASSERT(rc == SCB_OK, "%s: round %d: scb_push: %s", kind(flags), i,
                 scb_strerror(rc));
        s = UINT64_MAX;
        t0 = now_ns();
        rc = scb_pop_wait(hs[2], item, 2000);
        dt = ms_since(t0);
        W_ASSERT(rc == SCB_OK, "%s: round %d of %d: scb_pop_wait(2000): %s after %.1f ms "
                 "(a lost wake-up on one side or the other)",
                 kind(flags), i, PP_ROUNDS, scb_strerror(rc), dt);
        W_ASSERT(tu_check(item, sizeof item, &s) && s == (uint64_t)i,
                 "%s: round %d: echo seq %" PRIu64, kind(flags), i, s);
        lat[i] = dt;
    }
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the echo child: %s", st_str(st));
    w_pop_empty(2);
    qsort(lat, PP_ROUNDS, sizeof lat[0], cmp_double);
    fprintf(stderr, "check_scb_wait: %s %s ping-pong: %d rounds, round trip median "
            "%.1f us, p99 %.1f us, max %.2f ms\n", tu_backend, kind(flags), PP_ROUNDS,
            lat[PP_ROUNDS / 2] * 1e3, lat[PP_ROUNDS * 99 / 100] * 1e3, lat[PP_ROUNDS - 1]);
}
END_TEST

#define BURST_ITEMS 20000
#define BURST_SIZE 24

/* The writer (the test process) pushes in random bursts of 1 to 8 items
 * with random tiny sleeps between them, while two reader children sleep in
 * scb_pop_wait(-1).  Now and then the writer waits (2 s at most) until both
 * readers have everything: a reader asleep through a push shows there.
 * _i 0: overwrite ring (large enough that nothing is overwritten),
 * 1: lossless ring of 64 (the writer waits for room in scb_push_wait). */
START_TEST(test_bursts)
{
    static uint8_t buf[8 * BURST_SIZE];
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o[2];
    pid_t rp[2];
    uint64_t seq = 0;
    int rfd[2], rc, st, j;

    mk_ring(0, BURST_SIZE, _i ? 64 : 65536, flags, 0, 0, 0);
    mk_pipe(rfd);
    for (j = 0; j < 2; j++) {
        memset(&o[j], 0, sizeof o[j]);
        o[j].ring = 0;
        o[j].slot = j;
        o[j].ready_fd = rfd[1];
        o[j].cmd_fd = o[j].rep_fd = -1;
        o[j].n = BURST_ITEMS;
        o[j].timeout_ms = -1;
        o[j].fast = j;
        rp[j] = spawn(child_stream_reader, &o[j]);
        expect_ready(rfd[0], "a reader");
    }
    while (seq < BURST_ITEMS) {
        uint64_t r = rnd();
        size_t k = 1 + (size_t)(r % 8), done = 0, c, i;

        if (k > BURST_ITEMS - seq)
            k = (size_t)(BURST_ITEMS - seq);
        for (i = 0; i < k; i++)
            tu_fill(buf + i * BURST_SIZE, BURST_SIZE, seq + i);
        while (done < k) {
            c = 99999;
            rc = scb_push_many(hs[0], buf + done * BURST_SIZE, k - done, &c);
            if (!_i) {
                W_ASSERT(rc == SCB_OK && c == k, "overwrite: scb_push_many(%zu): %s, count %zu",
                         k, scb_strerror(rc), c);
                done = k;
                break;
            }
            if (rc == SCB_OK) {
                W_ASSERT(c >= 1 && c <= k - done, "scb_push_many(%zu): SCB_OK, count %zu",
                         k - done, c);
                done += c;
                continue;
            }
            W_ASSERT(rc == SCB_EAGAIN && c == 0, "scb_push_many(%zu): %s, count %zu",
                     k - done, scb_strerror(rc), c);
            rc = scb_push_wait(hs[0], buf + done * BURST_SIZE, 5000);
            W_ASSERT(rc == SCB_OK, "lossless: scb_push_wait(5000) of seq %" PRIu64
                     ": %s (readers at %" PRIu64 " and %" PRIu64 ")",
                     seq + done, scb_strerror(rc),
                     (uint64_t)atomic_load(&sh->k[0].progress),
                     (uint64_t)atomic_load(&sh->k[1].progress));
            done++;
        }
        seq += k;
        if ((r >> 20) % 8 == 0) {
            uint64_t deadline = now_ns() + 2000000000u;
            while ((atomic_load(&sh->k[0].progress) < seq ||
                    atomic_load(&sh->k[1].progress) < seq) && now_ns() < deadline)
                tu_sleep_us(20);
            for (j = 0; j < 2; j++)
                W_ASSERT(atomic_load(&sh->k[j].progress) >= seq,
                         "%s: reader %d asleep at item %" PRIu64 " for 2 s while %" PRIu64
                         " were pushed (a lost wake-up)", kind(flags), j,
                         (uint64_t)atomic_load(&sh->k[j].progress), seq);
        } else if ((r >> 20) % 8 > 2) {
            tu_sleep_us((unsigned)((r >> 40) % 200));
        }
    }
    for (j = 0; j < 2; j++) {
        st = reap(rp[j], 5000);
        W_ASSERT(exited0(st), "%s: reader %d: %s, at item %" PRIu64 " of %d", kind(flags), j,
                 st_str(st), (uint64_t)atomic_load(&sh->k[j].progress), BURST_ITEMS);
        W_ASSERT(sh->k[j].returned == BURST_ITEMS && sh->k[j].lost == 0,
                 "%s: reader %d returned %" PRIu64 ", lost %" PRIu64, kind(flags), j,
                 sh->k[j].returned, sh->k[j].lost);
    }
}
END_TEST

/* ======================================================================== */
/* The suite                                                                */

Suite *tu_wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc;

    tc = w_tcase(s, "wait_timeouts", 20);
    tcase_add_loop_test(tc, test_pop_wait_timeouts, 0, 2);
    tcase_add_test(tc, test_push_wait_timeouts);

    tc = w_tcase(s, "wait_wakeup", 60);
    tcase_add_loop_test(tc, test_pingpong, 0, 2);
    tcase_add_loop_test(tc, test_bursts, 0, 2);

    tu_wait_add_lossless(s);
    tu_wait_add_dead(s);
    tu_wait_add_guard(s);
    tu_wait_add_fd(s);
    return s;
}