/*
 * scb_api_records_mixed.c - tcase "records_mixed" of the API suite of
 * tests/check_scb: records of every length through the real API, copied
 * in and reserved, many times around the ring (semantics 11, 12, 13): how
 * many records fit, readers lapped by the writer, SCB_LATEST and
 * observers.
 *
 * Writer and readers are handles of this one process: nothing here forks,
 * so it all runs on Windows too (CK_NOFORK).  Records are made and checked
 * by the helpers of scb_api_records.h.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api_records.h"

/* ------------------------------------------------------------------------ */
/* tcase "records_mixed": records of every length through the real API,    */
/* many times around the ring (semantics 11, 12, 13).                       */

static const struct {
    uint32_t max;
    uint64_t length;
} mix_geoms[] = {
    {1, 48}, {7, 48}, {8, 48}, {13, 64}, {100, 240}, {100, 1000},
    {1000, 4096}, {4096, 8224}, {255, 65536},
};
#define N_MIX_GEOMS ((int)(sizeof mix_geoms / sizeof mix_geoms[0]))

/* Writes record k (rec_len(k, 0, max) bytes) one of three ways: copied in,
 * reserved at its length, or reserved at the largest and committed
 * shorter.  SCB_OK, or SCB_EAGAIN (lossless: no room; nothing opened). */
static int put_k(scb_t *w, uint64_t k, uint32_t max)
{
    uint32_t len = rec_len(k, 0, max);
    uint8_t *b;
    void *p = NULL;
    int rc;

    switch (k % 4) {
    case 1:
    case 2:
        rc = scb_reserve(w, k % 4 == 1 ? len : max, &p);
        if (rc != SCB_OK) {
            ck_assert_ptr_null(p);
            ck_assert_int_eq(scb_commit(w, len), SCB_EINVAL);
            return rc;
        }
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
        tu_fill(p, len, k);
        ck_assert_int_eq(scb_commit(w, len), SCB_OK);
        return SCB_OK;
    default:
        b = xmalloc(len);
        tu_fill(b, len, k);
        rc = scb_push_record(w, b, len);
        free(b);
        return rc;
    }
}

/* Reads record k, expected next, one of four ways: into a buffer of the
 * largest size, into one of exactly its length after asking for it, in
 * place (peek and release), into a larger buffer. */
static void get_k(scb_t *r, uint64_t k, uint32_t max)
{
    uint32_t len = rec_len(k, 0, max);
    const void *cp, *cp2;
    size_t got = 99, got2;

    switch ((k / 3) % 4) {
    case 0:
        pop_k(r, max, k, len);
        break;
    case 1:
        if (len == 0) {
            /* (With a buffer: NULL is test_rec_pop_null_empty's.) */
            uint8_t none;

            ck_assert_int_eq(scb_pop_record(r, &none, 0, &got), SCB_OK);
            ck_assert_uint_eq(got, 0);
            break;
        }
        ck_assert_int_eq(scb_pop_record(r, NULL, 0, &got), SCB_EMSGSIZE);
        ck_assert_uint_eq(got, len);
        pop_k(r, len, k, len);
        break;
    case 2:
        ck_assert_int_eq(scb_peek(r, &cp, &got), SCB_OK);
        ck_assert_msg(got == len && rec_is(cp, len, k),
                      "peeked record %ju: %zu bytes, expected %u, or bytes differ",
                      (uintmax_t)k, got, (unsigned)len);
        ck_assert_int_eq(scb_peek(r, &cp2, &got2), SCB_OK);
        ck_assert_ptr_eq(cp2, cp);
        ck_assert_uint_eq(got2, got);
        ck_assert_int_eq(scb_release(r), SCB_OK);
        break;
    default:
        pop_k(r, (size_t)max + 9, k, len);
        break;
    }
}

START_TEST(test_rec_mixed)
{
    const uint32_t max = mix_geoms[_i / 2].max;
    const uint64_t length = mix_geoms[_i / 2].length;
    const int lossless = _i % 2;
    scb_t *w = mk_ring(1, max, length, lossless ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    uint64_t total = 80 * length / (24 + max / 2), kw = 0, kr = 0;
    int rc;

    if (total > 12000)
        total = 12000;
    if (total < 2000)
        total = 2000;
    while (kr < total) {
        /* Overwrite: one at a time, so the reader is never lapped.
         * Lossless: until the ring is full. */
        do {
            rc = put_k(w, kw, max);
            ck_assert_msg(rc == SCB_OK || (lossless && rc == SCB_EAGAIN),
                          "writing record %ju = %d (%s)", (uintmax_t)kw, rc,
                          scb_strerror(rc));
            if (rc == SCB_OK)
                kw++;
        } while (lossless && rc == SCB_OK && kw < total);
        ck_assert_uint_gt(kw, kr);
        while (kr < kw)
            get_k(r, kr++, max);
        pop_none(r, max);
        ck_assert_uint_eq(scb_usage(r), 0);
    }
    ck_assert_uint_eq(pushed_of(w), total);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* Semantics 13: with one lossless reader that reads nothing, records of n
 * bytes fit at least (length - 2 * (item_size + 16)) / (16 + round8(n))
 * times, wherever the writer stands; the reader then gets all of them, and
 * a record of item_size fits again. */
static const uint32_t cap_n[] = {0, 1, 7, 8, 9, 50, 100};
#define N_CAP_N ((int)(sizeof cap_n / sizeof cap_n[0]))

START_TEST(test_rec_capacity)
{
    const uint32_t max = 100, n = cap_n[_i % N_CAP_N];
    const uint64_t length = (_i / N_CAP_N) % 2 ? 4096 : 240;
    const uint64_t skew = (uint64_t)(_i / (2 * N_CAP_N)) * 5 + 1;
    scb_t *w = mk_ring(1, max, length, SCB_LOSSLESS), *r = mk_open(g_name, 0);
    uint8_t *b = xmalloc(n);
    uint64_t k, pushed = 0, bound = (length - 2 * (max + 16)) / SCB_REC_SPAN(n);

    for (k = 0; k < skew; k++) {
        push_k(w, k, 40);
        pop_k(r, max, k, 40);
    }
    for (;;) {
        tu_fill(b, n, pushed);
        if (scb_push_record(w, b, n) != SCB_OK)
            break;
        pushed++;
        ck_assert_uint_le(pushed, length / 16);
    }
    ck_assert_int_eq(scb_push_record(w, b, n), SCB_EAGAIN);
    ck_assert_msg(pushed >= bound,
                  "%ju records of %u bytes fit in %ju bytes, at least %ju must",
                  (uintmax_t)pushed, (unsigned)n, (uintmax_t)length,
                  (uintmax_t)bound);
    for (k = 0; k < pushed; k++)
        pop_k(r, max, k, n);
    pop_none(r, max);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
    push_k(w, 0, max);
    pop_k(r, max, 0, max);
    free(b);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A reader lapped by every amount: every record returned is intact and
 * names itself, and returned + scb_lost == pushed, exactly, after every
 * drain.  _i odd: the reader peeks and releases, and now and then the
 * writer laps the very record it peeked (SCB_EOVERRUN, counted).  The
 * second half: the writer reserves every third record at the largest size
 * and commits it shorter. */
static const struct {
    uint32_t max;
    uint64_t length;
} lap_geoms[] = {
    {8, 48}, {13, 64}, {100, 240}, {100, 1000}, {1000, 4096}, {4096, 8224},
};
#define N_LAP_GEOMS ((int)(sizeof lap_geoms / sizeof lap_geoms[0]))

/* Reads the next record the peek way or the pop way; returns its index
 * (from its bytes), or UINT64_MAX when there is none. */
static uint64_t next_named(scb_t *r, int peek, uint32_t max)
{
    uint8_t *b = xmalloc(max);
    const void *cp;
    size_t len;
    uint64_t k = UINT64_MAX;
    int rc;

    if (peek) {
        rc = scb_peek(r, &cp, &len);
        if (rc == SCB_OK) {
            ck_assert_uint_le(len, max);
            memcpy(b, cp, len);
            ck_assert_int_eq(scb_release(r), SCB_OK);
        }
    } else {
        rc = scb_pop_record(r, b, max, &len);
    }
    if (rc == SCB_OK) {
        ck_assert_msg(len >= 8 && tu_check(b, len, &k),
                      "a record of %zu bytes that names no record", len);
        ck_assert_msg(len == rec_len(k, 8, max) && rec_is(b, len, k),
                      "record %ju: %zu bytes, expected %u, or bytes differ",
                      (uintmax_t)k, len, (unsigned)rec_len(k, 8, max));
    } else {
        ck_assert_msg(rc == SCB_EAGAIN, "reading = %d (%s)", rc, scb_strerror(rc));
    }
    free(b);
    return k;
}

/* Pushes record k (rec_len(k, 8, max) bytes); with `zc` every third one
 * is reserved at the largest size and committed shorter, which leaves the
 * writer's claim past its head. */
static void push_lap(scb_t *w, uint64_t k, uint32_t max, int zc)
{
    uint32_t len = rec_len(k, 8, max);
    void *p = NULL;

    if (!zc || k % 3 != 0) {
        push_k(w, k, len);
        return;
    }
    ck_assert_int_eq(scb_reserve(w, max, &p), SCB_OK);
    tu_fill(p, len, k);
    ck_assert_int_eq(scb_commit(w, len), SCB_OK);
}

START_TEST(test_rec_lapped)
{
    const uint32_t max = lap_geoms[(_i / 2) % N_LAP_GEOMS].max;
    const uint64_t length = lap_geoms[(_i / 2) % N_LAP_GEOMS].length;
    const int peek = _i % 2, zc = (_i / (2 * N_LAP_GEOMS)) != 0;
    scb_t *w = mk_ring(1, max, length, 0), *r = mk_open(g_name, 0);
    uint64_t pushed = 0, next = 0, got = 0, skipped = 0, overruns = 0;
    uint64_t round, burst, k, bytes, lost_before;
    const void *cp;
    size_t len;

    for (round = 0; round < 300; round++) {
        if (peek && round % 7 == 3) {
            push_lap(w, pushed, max, zc);
            pushed++;
            ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
            ck_assert(len >= 8 && tu_check(cp, len, &k));
            ck_assert(len == rec_len(k, 8, max) && rec_is(cp, len, k));
            ck_assert_uint_ge(k, next);
            skipped += k - next;
            /* Lap it: more than the ring's bytes after it. */
            for (bytes = 0; bytes <= length + SCB_REC_SPAN(max); pushed++) {
                push_lap(w, pushed, max, zc);
                bytes += SCB_REC_SPAN(rec_len(pushed, 8, max));
            }
            ck_assert_int_eq(scb_release(r), SCB_EOVERRUN);
            overruns++;
            next = k + 1;
        }
        burst = round * 37 % 50 + (round % 10 == 0 ? 3 * length / 16 : 0);
        for (; burst > 0; burst--, pushed++)
            push_lap(w, pushed, max, zc);
        /* The writer stands still: scb_lost already counts what the next
         * read will skip. */
        lost_before = scb_lost(r);
        while ((k = next_named(r, peek, max)) != UINT64_MAX) {
            ck_assert_msg(k >= next, "record %ju after record %ju",
                          (uintmax_t)k, (uintmax_t)(next - 1));
            skipped += k - next;
            next = k + 1;
            got++;
        }
        ck_assert_uint_eq(next, pushed);
        ck_assert_uint_eq(scb_lost(r), skipped + overruns);
        ck_assert_msg(lost_before == scb_lost(r),
                      "round %ju: scb_lost said %ju before the reads, %ju after",
                      (uintmax_t)round, (uintmax_t)lost_before,
                      (uintmax_t)scb_lost(r));
        ck_assert_uint_eq(info_of(r).lost, skipped + overruns);
        ck_assert_uint_eq(got + scb_lost(r), pushed);
        ck_assert_uint_eq(pushed_of(w), pushed);
    }
    ck_assert_uint_gt(skipped, 0);
    ck_assert_uint_gt(got, 0);
    if (peek)
        ck_assert_uint_gt(overruns, 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* SCB_LATEST readers of a record ring start at the next record pushed;
 * plain readers at the oldest kept, and both lose nothing from there. */
START_TEST(test_rec_latest)
{
    scb_t *w = mk_ring(1, 100, 1024, _i ? SCB_LOSSLESS : 0), *rl, *ro;
    uint64_t k, first = 0, n;

    ro = _i ? mk_open(g_name, 0) : NULL; /* lossless: keeps them all */
    for (k = 0; k < 50; k++) {
        if (_i && k % 4 == 0)
            while (next_named(ro, 0, 100) != UINT64_MAX)
                ;
        push_k(w, k, rec_len(k, 8, 100));
    }
    rl = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(scb_usage(rl), 0);
    ck_assert_uint_eq(scb_lost(rl), 0);
    pop_none(rl, 100);
    ck_assert_int_eq(scb_wait(rl, 0), SCB_ETIMEDOUT);
    if (ro == NULL)
        ro = mk_open(g_name, 0); /* at the oldest kept */
    n = drain_named(ro, 8, 100, &first);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(first + n, 50);
    /* Six records (with a padding) are less than the ring holds. */
    for (; k < 56; k++)
        push_k(w, k, rec_len(k, 8, 100));
    n = drain_named(rl, 8, 100, &first);
    ck_assert_uint_eq(first, 50);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(scb_lost(rl), 0);
    n = drain_named(ro, 8, 100, &first);
    ck_assert_uint_eq(first, 50);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(scb_lost(ro), 0);
    ck_assert_int_eq(scb_close(rl), SCB_OK);
    ck_assert_int_eq(scb_close(ro), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* An observer of a lossless record ring takes no slot and holds nothing
 * back: it reads like a reader of an overwrite ring, its loss counted. */
START_TEST(test_rec_observe)
{
    scb_t *w = mk_ring(1, 100, 1024, SCB_LOSSLESS), *r = mk_open(g_name, 0);
    scb_t *o = mk_open(g_name, SCB_OBSERVE);
    uint8_t b[100];
    uint64_t k = 0, j, first = 99, k1, seen;
    double t0, dt;

    ck_assert_uint_eq(info_of(w).readers, 1);
    ck_assert_uint_eq(info_of(o).readers, 1);
    for (;;) {
        tu_fill(b, rec_len(k, 8, 100), k);
        if (scb_push_record(w, b, rec_len(k, 8, 100)) != SCB_OK)
            break;
        k++;
    }
    ck_assert_uint_gt(k, 0);
    ck_assert_uint_eq(drain_named(o, 8, 100, &first), k);
    ck_assert_uint_eq(first, 0);
    ck_assert_uint_eq(scb_lost(o), 0);
    seen = k;
    for (j = 0; j < k; j++)
        ck_assert_uint_eq(next_named(r, j % 2, 100), j);
    /* The writer goes on as fast as r reads; the observer reads nothing
     * and holds nothing back. */
    for (j = 0; j < 200; j++, k++) {
        push_k(w, k, rec_len(k, 8, 100));
        ck_assert_uint_eq(next_named(r, j % 2, 100), k);
    }
    k1 = next_named(o, 1, 100); /* peek and release */
    ck_assert_uint_gt(k1, seen);
    ck_assert_uint_eq(drain_named(o, 8, 100, &first), k - k1 - 1);
    ck_assert_uint_eq(first, k1 + 1);
    ck_assert_uint_eq(scb_lost(o), k1 - seen);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(o, 30), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 25 && dt < 2000, "an observer's scb_wait(30) took %.1f ms", dt);
    push_k(w, k, 50);
    ck_assert_int_eq(scb_wait(o, 1000), SCB_OK);
    pop_k(o, 100, k, 50);
    ck_assert_uint_eq(scb_lost(o), k1 - seen);
    ck_assert_uint_eq(info_of(w).readers, 1);
    ck_assert_int_eq(scb_close(o), SCB_OK);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_records_mixed(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "records_mixed", 120);
    tcase_add_loop_test(tc, test_rec_mixed, 0, 2 * N_MIX_GEOMS);
    tcase_add_loop_test(tc, test_rec_capacity, 0, 2 * N_CAP_N * 3);
    tcase_add_loop_test(tc, test_rec_lapped, 0, 4 * N_LAP_GEOMS);
    tcase_add_loop_test(tc, test_rec_latest, 0, 2);
    tcase_add_test(tc, test_rec_observe);
}
