/*
 * scb_mp_records_crash.c - record readers and writers SIGKILLed, in the
 * multi-process suite of tests/check_scb (see check_scb_mp.c): a dead
 * record reader, idle or holding a peek, stops holding a lossless writer
 * back; writers killed with a reservation open or not, and their ring
 * taken over.  The mp_records_dead_reader and mp_records_crash tcases.
 *
 * The record children are scb_mp_rec_children.c (scb_mp_records.h); the
 * conventions of check_scb_mp.c apply.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp_records.h"

/* ---- 2. a dead record reader stops holding a lossless writer back ------- */

struct victim_opts {
    int ready_fd; /* 'R' once registered, 'P' once it peeks */
    int cmd_fd;   /* 'p': peek the next record and hold it */
    int cmd_wfd;  /* the test process's end, closed here */
};

/* A registered record reader that reads nothing, or holds a peek, until
 * it is killed. */
static int victim_main(void *arg)
{
    const struct victim_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    const void *p;
    uint64_t seq = UINT64_MAX;
    size_t len;
    scb_t *r;
    char cmd;
    int rc;

    close(o->cmd_wfd);
    rc = scb_open(&r, ring, &c);
    if (rc != SCB_OK) {
        say("victim: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    put_byte(o->ready_fd, 'R');
    for (;;) {
        ssize_t n = read(o->cmd_fd, &cmd, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (cmd == 'p') {
            rc = scb_peek(r, &p, &len);
            put_byte(o->ready_fd, rc == SCB_OK && len == DR_SIZE &&
                                          tu_check(p, len, &seq) && seq == 0
                                      ? 'P'
                                      : 'E');
        }
    }
    scb_close(r);
    return 0;
}

/* A writer that takes the role over and waits in scb_wait(w, timeout_ms)
 * for room, then pushes record `first`. */
struct waiter_opts {
    int ready_fd;
    int64_t timeout_ms;
    uint64_t first;
};

static int wait_writer_main(void *arg)
{
    const struct waiter_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t until = now_ns() + 2000000000u;
    uint8_t item[DR_SIZE];
    scb_t *w;
    int rc;

    c.flags = SCB_WRITER;
    while ((rc = scb_open(&w, ring, &c)) == SCB_EBUSY && now_ns() < until)
        tu_sleep_us(200);
    if (rc != SCB_OK) {
        say("waiting writer: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    put_byte(o->ready_fd, 'R');
    rsh->t_call = now_ns();
    rc = scb_wait(w, o->timeout_ms);
    rsh->t_ret = now_ns();
    rsh->wait_rc = rc;
    atomic_store(&rsh->wait_done, 1);
    if (rc != SCB_OK) {
        say("waiting writer: scb_wait(%" PRId64 "): %s", o->timeout_ms,
            scb_strerror(rc));
        return 1;
    }
    tu_fill(item, sizeof item, o->first);
    rc = scb_push_record(w, item, sizeof item);
    if (rc != SCB_OK) {
        say("waiting writer: scb_wait said there is room, then "
            "scb_push_record: %s",
            scb_strerror(rc));
        return 2;
    }
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* Test process: pops records of DR_SIZE from hs[h], which must be
 * *next.. in order, until none is left; returns how many. */
static uint64_t drain(int h, uint64_t *next)
{
    uint8_t item[DR_SIZE];
    uint64_t n = 0, s;
    size_t len;
    int rc;

    for (;;) {
        rc = scb_pop_record(hs[h], item, sizeof item, &len);
        if (rc == SCB_EAGAIN)
            return n;
        s = UINT64_MAX;
        MP_ASSERT(rc == SCB_OK && len == DR_SIZE && tu_check(item, len, &s) &&
                      s == *next,
                  "pop: %s, %zu bytes, record %" PRIu64 ", expected %" PRIu64,
                  scb_strerror(rc), len, s, *next);
        ++*next;
        n++;
    }
}

/* _i: bit 0: the victim holds a peeked record (else it reads nothing);
 * bit 1: the writer is a child blocked in scb_wait(w, -1) (else the test
 * process retries scb_push_record every ms).  The victim is left a zombie
 * when _i is 1 or 2, and reaped at once otherwise. */
START_TEST(test_records_dead_reader)
{
    int peeking = _i & 1, child_writer = (_i >> 1) & 1;
    int zombie = _i == 1 || _i == 2;
    struct victim_opts vo;
    struct waiter_opts wo;
    uint64_t next = 0, popped = 0, n, t_kill, t_free;
    int rfd[2], cfd[2], st, rc;
    pid_t victim, wp = 0;
    scb_config_t wc;
    char c = 0;
    double dt;

    rec_create(DR_SIZE, DR_LENGTH, SCB_LOSSLESS);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    mk_pipe(rfd);
    mk_pipe(cfd);
    vo.ready_fd = rfd[1];
    vo.cmd_fd = cfd[0];
    vo.cmd_wfd = cfd[1];
    victim = spawn(victim_main, &vo);
    close(cfd[0]);
    read_bytes(rfd[0], &c, 1, 10000);
    MP_ASSERT(c == 'R', "the victim did not open the ring");

    /* Full because of the victim alone. */
    n = fill_up(0, &next);
    MP_ASSERT(n >= DR_MIN && n <= DR_MAX,
              "%" PRIu64 " records of %u bytes fit in %u bytes", n, DR_SIZE,
              DR_LENGTH);
    MP_ASSERT(drain(1, &popped) == n, "the live reader did not get them all");
    if (peeking) {
        c = 0;
        put_byte(cfd[1], 'p');
        read_bytes(rfd[0], &c, 1, 10000);
        MP_ASSERT(c == 'P', "the victim could not peek record 0");
    }
    tu_sleep_us(20000);
    MP_ASSERT(fill_up(0, &next) == 0,
              "the live victim stopped holding the writer back");
    rc = scb_wait(hs[0], 0);
    MP_ASSERT(rc == SCB_ETIMEDOUT, "scb_wait(0) on a full ring: %s",
              scb_strerror(rc));

    if (child_writer) {
        drop_writer(0);
        wo.ready_fd = rfd[1];
        wo.timeout_ms = -1;
        wo.first = next;
        wp = spawn(wait_writer_main, &wo);
        c = 0;
        read_bytes(rfd[0], &c, 1, 10000);
        MP_ASSERT(c == 'R', "the waiting writer did not take the role");
        tu_sleep_us(100000);
        MP_ASSERT(!atomic_load(&rsh->wait_done),
                  "scb_wait of a writer whose ring is full for a live reader "
                  "returned %s",
                  scb_strerror(rsh->wait_rc));
    }

    t_kill = now_ns();
    kill(victim, SIGKILL);
    if (!zombie)
        MP_ASSERT(killed9(kill_reap(victim)), "the victim was not killed");
    if (child_writer) {
        st = reap(wp, 5000);
        MP_ASSERT(exited0(st), "the waiting writer: %s (%s)", st_str(st),
                  atomic_load(&rsh->wait_done) ? scb_strerror(rsh->wait_rc)
                                               : "still waiting after 5 s");
        t_free = rsh->t_ret;
        next++;
        wc = cfg;
        wc.flags = SCB_WRITER;
        rc = scb_open(&hs[0], ring, &wc);
        MP_ASSERT(rc == SCB_OK, "takeover: %s", scb_strerror(rc));
    } else {
        uint8_t item[DR_SIZE];

        tu_fill(item, sizeof item, next);
        while ((rc = scb_push_record(hs[0], item, sizeof item)) == SCB_EAGAIN &&
               now_ns() - t_kill < 3000000000u)
            tu_sleep_us(1000);
        t_free = now_ns();
        MP_ASSERT(rc == SCB_OK, "push after the victim's death: %s",
                  scb_strerror(rc));
        next++;
    }
    dt = ms_between(t_kill, t_free);
    MP_ASSERT(dt < 1000,
              "a %s record reader %s was killed: the writer was free %.1f ms "
              "later",
              zombie ? "zombie" : "reaped",
              peeking ? "holding a peek" : "reading nothing", dt);
    if (zombie) {
        MP_ASSERT(waitpid(victim, &st, WNOHANG) == victim && killed9(st),
                  "the killed victim was not a zombie");
        forget(victim);
    }

    /* The live reader still holds the writer back, and loses nothing. */
    fill_up(0, &next);
    MP_ASSERT(next - popped == n,
              "the live reader has %" PRIu64 " records unread when the "
              "writer stops, expected %" PRIu64,
              next - popped, n);
    MP_ASSERT(drain(1, &popped) == n && popped == next,
              "the live reader got up to record %" PRIu64 " of %" PRIu64,
              popped, next);
    MP_ASSERT(scb_lost(hs[1]) == 0, "the live reader lost %" PRIu64,
              scb_lost(hs[1]));
    close(rfd[0]);
    close(rfd[1]);
    close(cfd[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "dead record reader %s (%s, %s, %s): free after "
                "%.1f ms\n",
                tu_backend, zombie ? "zombie" : "reaped",
                peeking ? "peeking" : "idle",
                child_writer ? "writer in scb_wait" : "writer retrying", dt);
}
END_TEST

/* ---- 3. writers SIGKILLed, a reservation open or not -------------------- */

#define CRASH_ROUNDS 60

/* _i 0: an overwrite ring, 1: a lossless one. */
START_TEST(test_records_crash)
{
    int lossless = _i, i, st, rc, prev_how = 0, fds[2], blk[2];
    unsigned halves = 0, loops = 0, blind = 0;
    struct rr_opts ro[3];
    struct rw_opts wo;
    pid_t rp[3], wp, pending = 0;
    uint64_t total, t0 = now_ns();
    char c;

    rec_create(200, 4096, lossless ? SCB_LOSSLESS : 0);
    rp[0] = start_rec_reader(&ro[0], 0, RR_POP, lossless);
    rp[1] = start_rec_reader(&ro[1], 1, RR_MIX, lossless);
    /* Lapped over and over (overwrite), or holding the writers back so
     * that some are killed while they wait for room (lossless). */
    rp[2] = start_rec_reader(&ro[2], 2, RR_SLOW, lossless);
    drop_writer(0);
    mk_pipe(blk); /* never written: a half writer blocks on it */

    for (i = 0; i < CRASH_ROUNDS; i++) {
        int how = i % 3, half = i % 4 == 1, is_blind = !half && i % 10 == 9;

        mk_pipe(fds);
        memset(&wo, 0, sizeof wo);
        wo.mode = half ? WR_HALF : WR_LOOP;
        wo.report_fd = fds[1];
        wo.block_fd = blk[0];
        /* Only a writer killed a moment ago may take up to 1 s to be seen
         * dead. */
        wo.retry_ms = prev_how == 2 ? 1000 : 0;
        wp = spawn(rec_writer_main, &wo);
        close(fds[1]);
        c = 0;
        if (is_blind) {
            /* Killed whatever it is doing, even opening. */
            blind++;
            tu_sleep_us((unsigned)(rnd() % 2000));
        } else {
            read_bytes(fds[0], &c, 1, 5000);
            MP_ASSERT(c == 'O',
                      "round %d: the writer could not take over "
                      "(%c)",
                      i, c ? c : '-');
            if (half) {
                c = 0;
                read_bytes(fds[0], &c, 1, 5000);
                MP_ASSERT(c == 'H',
                          "round %d: the writer did not open its "
                          "half written reservation (%c)",
                          i, c ? c : '-');
                halves++;
            } else {
                loops++;
                tu_sleep_us((unsigned)(rnd() % 3000));
            }
        }
        kill(wp, SIGKILL);
        if (pending != 0) {
            st = reap(pending, REAP_MS);
            MP_ASSERT(killed9(st), "round %d: a killed writer: %s", i,
                      st_str(st));
            pending = 0;
        }
        if (is_blind) {
            c = 0;
            read_bytes(fds[0], &c, 1, 0);
            MP_ASSERT(c != 'E', "round %d: the writer could not take over", i);
        }
        close(fds[0]);
        if (how == 0) {
            st = reap(wp, REAP_MS);
            MP_ASSERT(killed9(st), "round %d: the writer: %s", i, st_str(st));
        } else {
            if (how == 1) {
                siginfo_t si;

                while (waitid(P_PID, (id_t)wp, &si, WEXITED | WNOWAIT) < 0 &&
                       errno == EINTR)
                    ;
            }
            pending = wp;
        }
        prev_how = how;
        MP_ASSERT(!rsh->r[0].finished && !rsh->r[1].finished &&
                      !rsh->r[2].finished,
                  "round %d: a reader stopped early: %s; %s; %s", i, rr_str(0),
                  rr_str(1), rr_str(2));
    }
    if (pending != 0) {
        st = reap(pending, REAP_MS);
        MP_ASSERT(killed9(st), "the last killed writer: %s", st_str(st));
    }

    /* A clean writer takes over and carries on. */
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_COUNT;
    wo.count = 500;
    wo.report_fd = -1;
    wo.retry_ms = 1000;
    wo.final = 1;
    wp = spawn(rec_writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the clean writer: %s", st_str(st));
    total = atomic_load(&rsh->total);
    for (i = 0; i < 3; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "%s: %s", st_str(st), rr_str(i));
    }
    close(blk[0]);
    close(blk[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record crash %s %s: %d rounds (%u half reservations, "
                "%u in a push loop, %u blind) in %.3f s, %" PRIu64
                " pushed\n  %s\n  %s\n  %s\n",
                tu_backend, lossless ? "lossless" : "overwrite", CRASH_ROUNDS,
                halves, loops, blind, (double)(now_ns() - t0) / 1e9, total,
                rr_str(0), rr_str(1), rr_str(2));
    for (i = 0; i < 3; i++) {
        const struct recstat *s = &rsh->r[i];

        MP_ASSERT(s->finished && s->bad == 0, "%s", rr_str(i));
        MP_ASSERT(s->returned + s->lost == total,
                  "returned + lost != pushed: %s", rr_str(i));
        MP_ASSERT(s->have_last && s->last_idx == total - 1,
                  "the last record never came: %s", rr_str(i));
        if (lossless)
            MP_ASSERT(s->lost == 0,
                      "a registered reader of a lossless ring lost records "
                      "to writers killed: %s",
                      rr_str(i));
    }
    (void)rc;
}
END_TEST

void tu_mp_add_records_crash(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_records_dead_reader");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_dead_reader, 0, 4);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_records_crash");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_crash, 0, 2);
    suite_add_tcase(s, tc);
}
