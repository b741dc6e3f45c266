/*
 * scb_mp_records_overrun.c - SCB_EOVERRUN across processes, in the
 * multi-process suite of tests/check_scb (see check_scb_mp.c): a writer
 * process driven batch by batch laps a reader that peeks, on record rings
 * and fixed-size ones, and a reader holds a peeked record while a writer
 * process pushes on and on; scb_release vouches for what was read or
 * throws it away as lost.  The mp_records_overrun tcase.
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

/* ---- 5. SCB_EOVERRUN across processes ------------------------------------ */

struct cw_opts {
    int cmd_fd; /* 8 bytes: how many records to push; 0: close and end */
    int rep_fd; /* 8 bytes: how many it pushed */
};

/* A writer driven by the test process.  On a record ring it pushes records
 * by put_rec; on a fixed-size ring items of item_size made by tu_fill,
 * through scb_push_record and scb_reserve/scb_commit in turn.  A lossless
 * ring's SCB_EAGAIN ends a batch early. */
static int cmd_writer_main(void *arg)
{
    const struct cw_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t n, k, i;
    scb_info_t info;
    uint8_t *buf;
    void *p;
    scb_t *w;
    int rc, fixed;

    c.flags = SCB_WRITER;
    rc = scb_open(&w, ring, &c);
    if (rc != SCB_OK) {
        say("writer: scb_open: %s", scb_strerror(rc));
        return 10;
    }
    scb_info(w, &info);
    fixed = !(info.flags & SCB_RECORDS);
    buf = malloc(info.item_size + 1);
    if (buf == NULL)
        return 11;
    i = info.pushed;
    while (read_bytes(o->cmd_fd, &n, sizeof n, REAP_MS) == sizeof n && n != 0) {
        for (k = 0; k < n; k++, i++) {
            if (!fixed) {
                rc = put_rec(w, i, info.item_size, buf);
            } else if (i & 1) {
                rc = scb_reserve(w, info.item_size, &p);
                if (rc == SCB_OK) {
                    tu_fill(p, info.item_size, i);
                    rc = scb_commit(w, info.item_size);
                }
            } else {
                tu_fill(buf, info.item_size, i);
                rc = scb_push_record(w, buf, info.item_size);
            }
            if (rc == SCB_EAGAIN && (info.flags & SCB_LOSSLESS))
                break;
            if (rc != SCB_OK) {
                say("writer: record %" PRIu64 ": %s", i, scb_strerror(rc));
                return 1;
            }
        }
        if (write(o->rep_fd, &k, sizeof k) != (ssize_t)sizeof k)
            return 2;
    }
    free(buf);
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* Test process: tells the writer to push n records; returns how many it
 * did. */
static uint64_t cw_push(const int cmd[2], const int rep[2], uint64_t n)
{
    uint64_t k = UINT64_MAX;

    MP_ASSERT(write(cmd[1], &n, sizeof n) == (ssize_t)sizeof n, "write: %s",
              strerror(errno));
    MP_ASSERT(read_bytes(rep[0], &k, sizeof k, 10000) == sizeof k,
              "the writer did not push %" PRIu64 " records", n);
    return k;
}

/* A reader in the test process, as the reader children keep one. */
static void rr_init(struct rr_state *s, scb_t *r, int lossless)
{
    scb_info_t info;

    memset(s, 0, sizeof *s);
    scb_info(r, &info);
    s->r = r;
    s->max = info.item_size;
    s->length = info.length;
    s->st = &rsh->r[0];
    s->lossless = lossless;
}

/* Pops every record left; each must be right.  Returns the count. */
static uint64_t rr_drain(struct rr_state *s, uint8_t *buf)
{
    uint64_t n = 0;
    int rc;

    while ((rc = rr_pop(s, buf, (int)(rnd() & 1))) == SCB_OK)
        n++;
    MP_ASSERT(rc == SCB_EAGAIN, "drain: %s: %s", scb_strerror(rc), s->why);
    return n;
}

/* Record rings: a reader peeks record 0 or 1, holds it while the writer
 * process pushes (_i 0: less than a ring, then more than a ring; _i 1:
 * the same on a lossless ring, where the writer must stop instead). */
START_TEST(test_records_overrun)
{
    int lossless = _i, cmd[2], rep[2], rc, st;
    static uint8_t buf[128], copy[128];
    const void *p;
    size_t len, len0;
    struct rr_state s;
    struct cw_opts co;
    uint64_t k, lost;
    scb_info_t info;
    pid_t wp;

    rec_create(100, 1024, lossless ? SCB_LOSSLESS : 0);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    mk_pipe(cmd);
    mk_pipe(rep);
    co.cmd_fd = cmd[0];
    co.rep_fd = rep[1];
    wp = spawn(cmd_writer_main, &co);
    rr_init(&s, hs[1], lossless);

    MP_ASSERT(cw_push(cmd, rep, 3) == 3, "3 records into an empty ring");
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && rec_is(p, len, 0, 100),
              "peek of record 0: %s, %zu bytes", scb_strerror(rc), len);
    /* Records 3 and 4 take at most 232 bytes more: record 0 is intact. */
    MP_ASSERT(cw_push(cmd, rep, 2) == 2, "2 more records");
    MP_ASSERT(rec_is(p, len, 0, 100), "record 0 changed while peeked");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_OK,
              "release of a record the writer did not reach: "
              "%s",
              scb_strerror(rc));
    s.returned = 1;
    s.have_prev = 1;
    s.prev = 0;

    /* Record 1, held while the writer pushes 100 records (1600 bytes at
     * least, over a ring of 1024). */
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && rec_is(p, len, 1, 100),
              "peek of record 1: %s, %zu bytes", scb_strerror(rc), len);
    len0 = len;
    memcpy(copy, p, len);
    lost = scb_lost(hs[1]);
    MP_ASSERT(lost == 0, "lost %" PRIu64 " before the writer lapped", lost);
    k = cw_push(cmd, rep, 100);
    rc = scb_release(hs[1]);
    if (!lossless) {
        MP_ASSERT(k == 100, "the writer pushed %" PRIu64 " of 100", k);
        MP_ASSERT(rc == SCB_EOVERRUN,
                  "release of a record the writer "
                  "process overwrote: %s",
                  scb_strerror(rc));
        MP_ASSERT(scb_lost(hs[1]) >= 1,
                  "the overrun record is not counted "
                  "by scb_lost (%" PRIu64 ")",
                  scb_lost(hs[1]));
    } else {
        MP_ASSERT(k < 100 && k > 0,
                  "a lossless writer pushed %" PRIu64
                  " of 100 records past a reader holding a peek",
                  k);
        MP_ASSERT(rc == SCB_OK,
                  "release of a registered reader's peek in a "
                  "lossless ring: %s",
                  scb_strerror(rc));
        MP_ASSERT(rec_is(copy, len0, 1, 100), "record 1 was wrong");
        s.returned = 2;
        s.prev = 1;
        MP_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
    }
    k = rr_drain(&s, buf);
    scb_info(hs[1], &info);
    MP_ASSERT(s.returned + scb_lost(hs[1]) == info.pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              s.returned, scb_lost(hs[1]), info.pushed);
    MP_ASSERT(s.have_prev && s.prev == info.pushed - 1,
              "the last record returned is %" PRIu64 " of %" PRIu64, s.prev,
              info.pushed);
    if (lossless)
        MP_ASSERT(scb_lost(hs[1]) == 0 && s.returned == info.pushed,
                  "lost %" PRIu64, scb_lost(hs[1]));
    k = 0;
    MP_ASSERT(write(cmd[1], &k, sizeof k) == (ssize_t)sizeof k, "write");
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    close(cmd[0]);
    close(cmd[1]);
    close(rep[0]);
    close(rep[1]);
}
END_TEST

/* The same on a fixed-size ring, where a record is an item. */
START_TEST(test_items_overrun)
{
    int cmd[2], rep[2], rc, st;
    uint8_t item[32];
    const void *p;
    size_t len;
    struct cw_opts co;
    uint64_t s = UINT64_MAX, returned = 1, last = 0;
    scb_info_t info;
    pid_t wp;

    cfg = tu_cfg(sizeof item, 8);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    mk_pipe(cmd);
    mk_pipe(rep);
    co.cmd_fd = cmd[0];
    co.rep_fd = rep[1];
    wp = spawn(cmd_writer_main, &co);

    MP_ASSERT(cw_push(cmd, rep, 3) == 3, "3 items");
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && len == sizeof item && tu_check(p, len, &s) &&
                  s == 0,
              "peek of item 0: %s, %zu bytes, seq %" PRIu64, scb_strerror(rc),
              len, s);
    MP_ASSERT(cw_push(cmd, rep, 5) == 5, "5 more items");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_OK, "release of an item the writer did not reach: %s",
              scb_strerror(rc));
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && len == sizeof item && tu_check(p, len, &s) &&
                  s == 1,
              "peek of item 1: %s, %zu bytes, seq %" PRIu64, scb_strerror(rc),
              len, s);
    MP_ASSERT(cw_push(cmd, rep, 20) == 20, "20 more items");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_EOVERRUN,
              "release of an item the writer process "
              "overwrote: %s",
              scb_strerror(rc));
    MP_ASSERT(scb_lost(hs[1]) >= 1, "the overrun item is not counted");
    for (;;) {
        rc = scb_pop_record(hs[1], item, sizeof item, &len);
        if (rc == SCB_EAGAIN)
            break;
        MP_ASSERT(rc == SCB_OK && len == sizeof item &&
                      tu_check(item, len, &s) && s > last,
                  "pop after the overrun: %s, %zu bytes, seq %" PRIu64
                  " after %" PRIu64,
                  scb_strerror(rc), len, s, last);
        last = s;
        returned++;
    }
    scb_info(hs[1], &info);
    MP_ASSERT(info.pushed == 28 && last == 27,
              "pushed %" PRIu64 ", last item %" PRIu64, info.pushed, last);
    MP_ASSERT(returned + scb_lost(hs[1]) == info.pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              returned, scb_lost(hs[1]), info.pushed);
    s = 0;
    MP_ASSERT(write(cmd[1], &s, sizeof s) == (ssize_t)sizeof s, "write");
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    close(cmd[0]);
    close(cmd[1]);
    close(rep[0]);
    close(rep[1]);
}
END_TEST

#define HOLD_ROUNDS 150

/* A writer process pushes on and on; the reader catches up, then peeks
 * the next record and holds it for no time, a little or long (longer than
 * the writer takes to go round the ring), reads it again at the end and
 * releases it: SCB_OK vouches for what it read, SCB_EOVERRUN throws it
 * away and counts it lost. */
START_TEST(test_records_hold)
{
    static uint8_t buf[128], copy[128];
    uint64_t oks = 0, overruns = 0, pushed;
    struct rr_state s;
    struct rw_opts wo;
    scb_info_t info;
    const void *p;
    size_t len;
    int i, rc, st, ok, how;
    uint64_t idx, until;
    pid_t wp;

    rec_create(100, 16384, 0);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_LOOP;
    wo.report_fd = -1;
    wo.nap_us = 100;
    wp = spawn(rec_writer_main, &wo);
    rr_init(&s, hs[1], 0);

    for (i = 0; i < HOLD_ROUNDS; i++) {
        unsigned hold = (unsigned[]){0, 0, 50, 20000}[rnd() % 4];

        rr_drain(&s, buf);
        until = now_ns() + 5000000000u;
        while ((rc = scb_peek(hs[1], &p, &len)) == SCB_EAGAIN &&
               now_ns() < until)
            tu_sleep_us(20);
        MP_ASSERT(rc == SCB_OK, "round %d: peek: %s", i, scb_strerror(rc));
        if (hold != 0)
            tu_sleep_us(hold);
        /* What is read at the end of the hold is what the release judges. */
        memcpy(copy, p, len <= sizeof copy ? len : sizeof copy);
        ok = len <= s.max && rr_judge(&s, copy, len, &idx, &how);
        rc = scb_release(hs[1]);
        if (rc == SCB_EOVERRUN) {
            overruns++;
            continue;
        }
        MP_ASSERT(rc == SCB_OK, "round %d: release: %s", i, scb_strerror(rc));
        MP_ASSERT(ok,
                  "round %d: scb_release said SCB_OK after a hold of %u "
                  "us: %s",
                  i, hold, s.why);
        rr_accept(&s, idx, how);
        oks++;
    }
    atomic_store(&rsh->stop, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    rr_drain(&s, buf);
    scb_info(hs[1], &info);
    pushed = info.pushed;
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record hold %s: %d rounds, %" PRIu64 " released "
                "intact, %" PRIu64 " overrun; returned %" PRIu64
                ", lost %" PRIu64 ", pushed %" PRIu64 "\n",
                tu_backend, HOLD_ROUNDS, oks, overruns, s.returned,
                scb_lost(hs[1]), pushed);
    MP_ASSERT(s.returned + scb_lost(hs[1]) == pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              s.returned, scb_lost(hs[1]), pushed);
    MP_ASSERT(s.have_prev && s.prev == pushed - 1,
              "the last record returned is %" PRIu64 " of %" PRIu64, s.prev,
              pushed);
    MP_ASSERT(oks > 0 && overruns > 0,
              "%" PRIu64 " holds released intact, %" PRIu64 " overrun: the "
              "test did not see both",
              oks, overruns);
    MP_ASSERT(scb_lost(hs[1]) >= overruns,
              "lost %" PRIu64 " < %" PRIu64 " overruns", scb_lost(hs[1]),
              overruns);
}
END_TEST

void tu_mp_add_records_overrun(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_records_overrun");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_overrun, 0, 2);
    tcase_add_test(tc, test_items_overrun);
    tcase_add_test(tc, test_records_hold);
    suite_add_tcase(s, tc);
}
