/*
 * scb_api_rings.c - the ring tcases of the API suite of
 * tests/check_scb: "capacity", "latest", "observe", "check_name" and
 * "wait".  scb_info and the writer role ("info", "roles") are in
 * scb_api_roles.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

/* ------------------------------------------------------------------------ */
/* tcase "capacity": exactly `length` items, loss counting.                 */

static const uint64_t cap_lengths[] = {1, 2, 3, 5, 64, 1000, 4097};
static const uint32_t cap_sizes[] = {1, 3, 8, 64, 1000, 4096, 65536};
#define CAP_MAX_BYTES (UINT64_C(64) << 20)

/* The _i-th (length, item_size) pair of the table whose items fit in
 * CAP_MAX_BYTES; returns the number of such pairs. */
static int cap_combo(int want, uint64_t *length, uint32_t *size)
{
    size_t a, b;
    int n = 0;

    for (a = 0; a < sizeof cap_lengths / sizeof cap_lengths[0]; a++)
        for (b = 0; b < sizeof cap_sizes / sizeof cap_sizes[0]; b++) {
            if (cap_lengths[a] * cap_sizes[b] > CAP_MAX_BYTES)
                continue;
            if (n == want) {
                *length = cap_lengths[a];
                *size = cap_sizes[b];
            }
            n++;
        }
    return n;
}

START_TEST(test_capacity)
{
    uint64_t L = 0, i, k, pushed;
    uint32_t S = 0;
    scb_t *w, *r;
    uint8_t *buf;
    scb_info_t info;

    cap_combo(_i, &L, &S);
    buf = malloc(S);
    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_uint_eq(scb_usage(w), 0);

    /* length items fit and all come back, intact and in order. */
    for (i = 0; i < L; i++) {
        push_seq(w, buf, S, i);
        ck_assert_uint_eq(scb_usage(r), i + 1);
        ck_assert_uint_eq(scb_usage(w), i + 1);
    }
    ck_assert_uint_eq(scb_lost(r), 0);
    for (i = 0; i < L; i++) {
        ck_assert_uint_eq(scb_usage(r), L - i);
        pop_expect(r, buf, S, i);
    }
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_uint_eq(scb_usage(w), L);
    ck_assert_uint_eq(scb_lost(r), 0);
    pop_empty(r, buf);

    /* length + k: the last length items, and exactly k lost. */
    k = L < 100 ? 2 * L + 3 : L / 3 + 1;
    for (i = 0; i < L + k; i++)
        push_seq(w, buf, S, L + i);
    pushed = 2 * L + k;
    ck_assert_uint_eq(scb_usage(r), L);
    ck_assert_uint_eq(scb_usage(w), L);
    ck_assert_uint_eq(scb_lost(r), k); /* includes the pending loss */
    info = info_of(r);
    ck_assert_uint_eq(info.lost, k);
    ck_assert_uint_eq(info.pushed, pushed);
    for (i = 0; i < L; i++)
        pop_expect(r, buf, S, L + k + i);
    pop_empty(r, buf);
    ck_assert_uint_eq(scb_lost(r), k);
    ck_assert_uint_eq(L + L + scb_lost(r), pushed); /* returned + lost */
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

static const struct { uint64_t length; uint32_t size; } many_cases[] = {
    {1, 1}, {2, 3}, {3, 8}, {5, 64}, {64, 3}, {1000, 8}, {4097, 1},
    {7, 4096}, {3, 65536}, {13, 1000},
};
#define N_MANY_CASES ((int)(sizeof many_cases / sizeof many_cases[0]))

/* push_many / pop_many in odd batch sizes, including batches longer than
 * the ring, with exact loss accounting after every round. */
START_TEST(test_capacity_many)
{
    const uint64_t L = many_cases[_i].length;
    const uint32_t S = many_cases[_i].size;
    const uint64_t pb[] = {1, 3, L > 1 ? L - 1 : 1, L, L + 1, 2 * L + 3, 7, 0, 2};
    const uint64_t qb[] = {1, 2, 5, L, L + 3, 64};
    uint64_t pushed = 0, next_read = 0, pending = 0, lost = 0, returned = 0;
    uint64_t round, j;
    size_t count, maxb = 2 * L + 3 + 64, q;
    uint8_t *buf = malloc(maxb * S);
    scb_t *w, *r;
    int rc;

    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    for (round = 0; round < 36; round++) {
        uint64_t m = pb[round % (sizeof pb / sizeof pb[0])];
        uint64_t drop;

        for (j = 0; j < m; j++)
            tu_fill(buf + j * S, S, pushed + j);
        count = 12345;
        rc = scb_push_many(w, buf, m, &count);
        ck_assert_int_eq(rc, SCB_OK);
        ck_assert_uint_eq(count, m);
        pushed += m;
        drop = pending + m > L ? pending + m - L : 0;
        pending = pending + m - drop;
        next_read += drop;
        lost += drop;
        ck_assert_uint_eq(scb_usage(r), pending);
        ck_assert_uint_eq(scb_usage(w), pushed < L ? pushed : L);
        ck_assert_uint_eq(scb_lost(r), lost);
        ck_assert_uint_eq(info_of(w).pushed, pushed);

        /* Read all of it every third round, some of it otherwise. */
        {
            uint64_t want = round % 3 == 2 ? pending : pending / 2;
            uint64_t got = 0;

            while (got < want || (round % 3 == 2 && pending > 0)) {
                q = qb[(round + got) % (sizeof qb / sizeof qb[0])];
                count = 12345;
                rc = scb_pop_many(r, buf, q, &count);
                ck_assert_int_eq(rc, SCB_OK);
                ck_assert_uint_eq(count, q < pending ? q : pending);
                for (j = 0; j < count; j++) {
                    uint64_t s = 0;
                    ck_assert_msg(tu_check(buf + j * S, S, &s),
                                  "round %ju: item %ju torn",
                                  (uintmax_t)round,
                                  (uintmax_t)j);
                    ck_assert_msg(s == ((next_read + j) & seq_mask(S)),
                                  "round %ju: got seq %ju, expected %ju",
                                  (uintmax_t)round,
                                  (uintmax_t)s,
                                  (uintmax_t)((next_read + j) &
                                              seq_mask(S)));
                }
                next_read += count;
                pending -= count;
                got += count;
                returned += count;
            }
        }
        ck_assert_uint_eq(scb_lost(r), lost);
        ck_assert_uint_eq(returned + lost + pending, pushed);
    }
    while (pending > 0) {
        rc = scb_pop_many(r, buf, 3, &count);
        ck_assert_int_eq(rc, SCB_OK);
        pending -= count;
        returned += count;
    }
    count = 9;
    ck_assert_int_eq(scb_pop_many(r, buf, 3, &count), SCB_EAGAIN);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(returned + scb_lost(r), pushed);
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* One push_many of far more than length items: the last length survive. */
START_TEST(test_push_many_huge_batch)
{
    const uint64_t L = 5, N = 1003;
    const uint32_t S = 24;
    uint8_t *buf = malloc(N * S), item[24];
    size_t count;
    uint64_t j;
    scb_t *w, *r;

    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    push_seq(w, item, S, 0);
    for (j = 0; j < N; j++)
        tu_fill(buf + j * S, S, 1 + j);
    ck_assert_int_eq(scb_push_many(w, buf, N, &count), SCB_OK);
    ck_assert_uint_eq(count, N);
    ck_assert_uint_eq(info_of(w).pushed, N + 1);
    ck_assert_uint_eq(scb_lost(r), N + 1 - L);
    ck_assert_uint_eq(scb_usage(r), L);
    for (j = 0; j < L; j++)
        pop_expect(r, item, S, N + 1 - L + j);
    pop_empty(r, item);
    ck_assert_uint_eq(L + scb_lost(r), N + 1);
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "latest".                                                          */

START_TEST(test_latest)
{
    scb_t *w, *rd, *rl, *rd2, *rl2, *re;
    uint8_t item[16];
    uint64_t i;

    w = mk_writer(g_name, 16, 8, 0);
    re = mk_open(g_name, SCB_LATEST); /* on an empty ring */
    for (i = 0; i < 5; i++)
        push_seq(w, item, 16, i);
    rd = mk_open(g_name, 0);
    rl = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(scb_usage(rd), 5);
    ck_assert_uint_eq(scb_usage(rl), 0);
    pop_empty(rl, item);
    ck_assert_uint_eq(scb_lost(rl), 0);
    pop_expect(re, item, 16, 0);

    for (i = 5; i < 8; i++)
        push_seq(w, item, 16, i);
    for (i = 5; i < 8; i++)
        pop_expect(rl, item, 16, i);
    pop_empty(rl, item);
    for (i = 0; i < 8; i++)
        pop_expect(rd, item, 16, i);
    pop_empty(rd, item);
    ck_assert_uint_eq(scb_lost(rd), 0);

    for (i = 8; i < 28; i++)
        push_seq(w, item, 16, i);
    /* A default reader sees the oldest kept: min(pushed, length) items. */
    rd2 = mk_open(g_name, 0);
    ck_assert_uint_eq(scb_usage(rd2), 8);
    ck_assert_uint_eq(scb_lost(rd2), 0);
    rl2 = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(scb_usage(rl2), 0);
    pop_empty(rl2, item);
    push_seq(w, item, 16, 28);
    pop_expect(rl2, item, 16, 28);
    pop_empty(rl2, item);
    ck_assert_uint_eq(scb_lost(rl2), 0);
    for (i = 21; i < 29; i++)
        pop_expect(rd2, item, 16, i);
    ck_assert_uint_eq(scb_lost(rd2), 1);
    ck_assert_uint_eq(scb_lost(rl), 29 - 8 - 8);
    for (i = 21; i < 29; i++)
        pop_expect(rl, item, 16, i);
    scb_close(re);
    scb_close(rd);
    scb_close(rl);
    scb_close(rd2);
    scb_close(rl2);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "observe": SCB_OBSERVE, a reader that takes no slot.               */

/* On a lossless ring whose only slot is taken, an observer opens all the
 * same, is not counted as a reader, and never holds the writer back: the
 * writer overwrites what the observer has not read (it counts it as lost)
 * as soon as the registered reader has read it. */
START_TEST(test_observe_lossless_full)
{
    scb_config_t cfg = cfg_of(16, 8, SCB_LOSSLESS);
    scb_t *w, *r, *o, *x;
    uint8_t item[16];
    uint64_t i;

    cfg.max_readers = 1;
    ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_OK);
    r = mk_open(g_name, 0);
    ck_assert_int_eq(open_rc(g_name, 0, &x), SCB_ELIMIT);
    o = mk_open(g_name, SCB_OBSERVE);
    ck_assert_uint_eq(info_of(o).readers, 1);
    ck_assert_uint_eq(info_of(w).readers, 1);
    ck_assert_uint_eq(info_of(o).max_readers, 1);
    ck_assert_int_eq(info_of(o).is_writer, 0);
    ck_assert_uint_eq(info_of(o).flags & SCB_LOSSLESS, SCB_LOSSLESS);
    for (i = 0; i < 8; i++)
        push_seq(w, item, 16, i);
    /* A second observer, with SCB_LATEST, on the full ring. */
    x = mk_open(g_name, SCB_OBSERVE | SCB_LATEST);
    ck_assert_uint_eq(scb_usage(x), 0);
    ck_assert_int_eq(scb_push(w, item), SCB_EAGAIN); /* r holds it back */
    for (i = 0; i < 4; i++)
        pop_expect(o, item, 16, i);
    ck_assert_uint_eq(scb_usage(w), 8);

    /* r reads everything: the observers, behind, hold nothing back. */
    for (i = 0; i < 8; i++)
        pop_expect(r, item, 16, i);
    ck_assert_uint_eq(scb_usage(w), 0);
    for (i = 8; i < 16; i++)
        push_seq(w, item, 16, i);
    ck_assert_int_eq(scb_push(w, item), SCB_EAGAIN); /* r again, not o */
    ck_assert_uint_eq(scb_lost(o), 4);
    for (i = 8; i < 16; i++)
        pop_expect(o, item, 16, i);
    pop_empty(o, item);
    ck_assert_uint_eq(scb_lost(o), 4);
    ck_assert_uint_eq(info_of(o).lost, 4);
    for (i = 8; i < 16; i++)
        pop_expect(x, item, 16, i);
    ck_assert_uint_eq(scb_lost(x), 0);

    /* With the registered reader gone, observers alone never block it. */
    scb_close(r);
    ck_assert_uint_eq(info_of(w).readers, 0);
    for (i = 16; i < 40; i++)
        push_seq(w, item, 16, i);
    ck_assert_uint_eq(scb_lost(o), 4 + 16);
    for (i = 32; i < 40; i++)
        pop_expect(o, item, 16, i);
    ck_assert_int_eq(scb_close(x), SCB_OK);
    ck_assert_int_eq(scb_close(o), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* An observer of an overwrite ring reads as any reader; SCB_OBSERVE does
 * not combine with SCB_WRITER, and scb_create ignores it. */
START_TEST(test_observe_flags)
{
    scb_config_t cfg = cfg_of(8, 4, SCB_OBSERVE);
    scb_t *w, *o, *h;
    uint8_t item[8];

    ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_OK);
    ck_assert_uint_eq(info_of(w).flags, 0);
    push_seq(w, item, 8, 1);
    o = mk_open(g_name, SCB_OBSERVE);
    pop_expect(o, item, 8, 1);
    pop_empty(o, item);
    ck_assert_int_eq(scb_pop_wait(o, item, 20), SCB_ETIMEDOUT);
    push_seq(w, item, 8, 2);
    ck_assert_int_eq(scb_pop_wait(o, item, 1000), SCB_OK);
    ck_assert_int_eq(scb_push(o, item), SCB_ENOTWRITER);
    h = (scb_t *)(void *)&cfg;
    ck_assert_int_eq(open_rc(g_name, SCB_OBSERVE | SCB_WRITER, &h), SCB_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(scb_close(o), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "check_name": does the name still lead to the handle's ring?       */

START_TEST(test_check_name)
{
    scb_config_t cfg = cfg_of(8, 4, 0);
    scb_t *w, *r, *o, *w2, *r2;
    uint8_t item[8];

    ck_assert_int_eq(scb_check_name(NULL), SCB_EINVAL);
    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    o = mk_open(g_name, SCB_OBSERVE);
    ck_assert_int_eq(scb_check_name(w), SCB_OK);
    ck_assert_int_eq(scb_check_name(r), SCB_OK);
    ck_assert_int_eq(scb_check_name(o), SCB_OK);

    /* Removed: the handles keep working, the name leads nowhere. */
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    ck_assert_int_eq(scb_check_name(r), SCB_ENOENT);
    ck_assert_int_eq(scb_check_name(w), SCB_ENOENT);
    push_seq(w, item, 8, 1);
    pop_expect(r, item, 8, 1);

    /* Created again with the same geometry: another ring. */
    w2 = mk_writer(g_name, 8, 4, 0);
    push_seq(w2, item, 8, 1); /* as many items as the old one, too */
    ck_assert_int_eq(scb_check_name(r), SCB_ENOENT);
    ck_assert_int_eq(scb_check_name(o), SCB_ENOENT);
    ck_assert_int_eq(scb_check_name(w), SCB_ENOENT);
    ck_assert_int_eq(scb_check_name(w2), SCB_OK);
    r2 = mk_open(g_name, 0);
    ck_assert_int_eq(scb_check_name(r2), SCB_OK);
    pop_expect(r2, item, 8, 1);
    /* Checking changes nothing: no reader slot, nothing read. */
    ck_assert_uint_eq(scb_usage(r2), 0);
    ck_assert_int_eq(scb_close(r2), SCB_OK);
    ck_assert_int_eq(scb_close(w2), SCB_OK);
    ck_assert_int_eq(scb_close(o), SCB_OK);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "wait".                                                            */

START_TEST(test_pop_wait_zero)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    ck_assert_msg(now_ms() - t0 < 90, "pop_wait(0) waited %.1f ms", now_ms() - t0);
    tu_fill(item, 8, 3);
    ck_assert_int_eq(scb_push(w, item), SCB_OK);
    memset(item, 0, sizeof item);
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_OK);
    {
        uint64_t s = 0;
        ck_assert(tu_check(item, 8, &s));
        ck_assert_uint_eq(s, 3);
    }
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_pop_wait_timeout)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 100), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 95 && dt < 1000, "pop_wait(100) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 1), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 0.9 && dt < 500, "pop_wait(1) took %.1f ms", dt);

    /* With an item present it returns at once. */
    push_seq(w, item, 8, 77);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 100), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "pop_wait with an item waiting took %.1f ms", dt);
    {
        uint64_t s = 0;
        ck_assert(tu_check(item, 8, &s));
        ck_assert_uint_eq(s, 77);
    }
    push_seq(w, item, 8, 78);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, -1), SCB_OK);
    ck_assert_msg(now_ms() - t0 < 90, "pop_wait(-1) with an item waited");
    scb_close(r);
    scb_close(w);
}
END_TEST

#ifndef _WIN32
/* Left out on Windows: they fork.  Multi-process tests there are in
 * tests/scb_win.c. */

/* A child takes the writer role over and pushes while the parent waits:
 * _i 0 waits forever, _i 1 with a timeout.  (The writer handle the child
 * inherits is not the child's: it opens its own once the parent closed
 * that one.) */
START_TEST(test_pop_wait_wakes)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;
    pid_t pid;
    uint64_t s = 0;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_t *cw = NULL;
        uint8_t it[8];
        tu_sleep_us(60000);
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &cw), SCB_OK);
        tu_fill(it, 8, 1234);
        CHILD_EQ(scb_push(cw, it), SCB_OK);
        _exit(0);
    }
    scb_close(w);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, _i == 0 ? -1 : 3000), SCB_OK);
    dt = now_ms() - t0;
    expect_child_ok(pid, "pusher");
    ck_assert_msg(dt >= 40 && dt < 2000, "pop_wait returned after %.1f ms", dt);
    ck_assert(tu_check(item, 8, &s));
    ck_assert_uint_eq(s, 1234);
    scb_close(r);
}
END_TEST

/* Timeouts so long they mean "forever" in practice must wait, not time out
 * at once: the conversion to a deadline must not overflow.  A child pushes
 * after 100 ms. */
static const int64_t long_timeouts[] = {
    INT64_MAX, INT64_C(1) << 62, INT64_C(18446744073710), INT64_C(10000000000000),
};
#define N_LONG_TIMEOUTS ((int)(sizeof long_timeouts / sizeof long_timeouts[0]))

START_TEST(test_pop_wait_long_timeout)
{
    int64_t timeout = long_timeouts[_i];
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;
    pid_t pid;
    uint64_t s = 0;
    int rc;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_t *cw = NULL;
        uint8_t it[8];
        tu_sleep_us(100000);
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &cw), SCB_OK);
        tu_fill(it, 8, 4321);
        CHILD_EQ(scb_push(cw, it), SCB_OK);
        _exit(0);
    }
    scb_close(w);
    t0 = now_ms();
    rc = scb_pop_wait(r, item, timeout);
    dt = now_ms() - t0;
    expect_child_ok(pid, "pusher");
    ck_assert_msg(rc == SCB_OK,
                  "scb_pop_wait(timeout %jd ms) on an empty ring = %d (%s) "
                  "after %.1f ms; expected SCB_OK once the item came at 100 ms",
                  (intmax_t)timeout, rc, scb_strerror(rc), dt);
    ck_assert_msg(dt >= 80, "pop_wait returned after %.1f ms", dt);
    ck_assert(tu_check(item, 8, &s));
    ck_assert_uint_eq(s, 4321);
    scb_close(r);
}
END_TEST
#endif /* !_WIN32 */

START_TEST(test_push_wait_overwrite)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0;
    int i;

    w = mk_writer(g_name, 8, 2, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    for (i = 0; i < 5; i++) {
        tu_fill(item, 8, (uint64_t)i);
        ck_assert_int_eq(scb_push_wait(w, item, i % 3 == 0 ? 0 : i % 3 == 1 ? 100 : -1),
                         SCB_OK);
    }
    ck_assert_msg(now_ms() - t0 < 90, "push_wait waited in overwrite mode");
    ck_assert_uint_eq(info_of(w).pushed, 5);
    ck_assert_uint_eq(scb_lost(r), 3);
    pop_expect(r, item, 8, 3);
    pop_expect(r, item, 8, 4);
    pop_empty(r, item);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_rings(Suite *s)
{
    uint64_t l;
    uint32_t sz;
    TCase *tc;

    tc = new_tcase(s, "capacity", 120);
    tcase_add_loop_test(tc, test_capacity, 0, cap_combo(-1, &l, &sz));
    tcase_add_loop_test(tc, test_capacity_many, 0, N_MANY_CASES);
    tcase_add_test(tc, test_push_many_huge_batch);

    tc = new_tcase(s, "latest", 10);
    tcase_add_test(tc, test_latest);

    tc = new_tcase(s, "observe", 10);
    tcase_add_test(tc, test_observe_lossless_full);
    tcase_add_test(tc, test_observe_flags);

    tc = new_tcase(s, "check_name", 10);
    tcase_add_test(tc, test_check_name);

    tc = new_tcase(s, "wait", 10);
    tcase_add_test(tc, test_pop_wait_zero);
    tcase_add_test(tc, test_pop_wait_timeout);
#ifndef _WIN32
    tcase_add_loop_test(tc, test_pop_wait_wakes, 0, 2);
    tcase_add_loop_test(tc, test_pop_wait_long_timeout, 0, N_LONG_TIMEOUTS);
#endif
    tcase_add_test(tc, test_push_wait_overwrite);
}
