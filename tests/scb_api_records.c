/*
 * scb_api_records.c - the tcases of the API suite of tests/check_scb for
 * version 0.2: record rings (SCB_RECORDS), zero-copy on both kinds of ring
 * (scb_reserve, scb_commit, scb_discard, scb_peek, scb_release) and
 * scb_wait, through the public API on the suite's backend, and record
 * headers rewritten in the segment by the other side.
 *
 * Record k (counted from 0 by a test's writer) holds tu_fill(k) bytes: the
 * first min(8, length) bytes hold k, every later byte depends on k and its
 * offset, so a record of 8 bytes or more names itself and a reader that
 * knows which record it expects checks every byte and the length.
 *
 * Writer and readers are handles of this one process: nothing here forks,
 * so it all runs on Windows too (CK_NOFORK), but for the tests that wait
 * for another thread (Unix only: the suite uses no threads on Windows).
 * The hostile tests rewrite the segment through the internal backend API,
 * as scb_api_hostile.c does.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

#ifndef _WIN32
#include <pthread.h>
#endif

/* ------------------------------------------------------------------------ */
/* Records made and checked.                                                */

/* The length of record k: min..max, the extremes now and then. */
static uint32_t rec_len(uint64_t k, uint32_t min, uint32_t max)
{
    uint64_t x = (k + 1) * UINT64_C(0x9e3779b97f4a7c15);

    x ^= x >> 31;
    if (k % 13 == 4)
        return min;
    if (k % 11 == 7)
        return max;
    return min + (uint32_t)(x % ((uint64_t)max - min + 1));
}

/* A heap buffer of exactly n bytes (one when n is 0), so that
 * AddressSanitizer sees any copy past it. */
static uint8_t *xmalloc(size_t n)
{
    uint8_t *p = malloc(n != 0 ? n : 1);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* 1 if the n bytes at p are record k of n bytes. */
static int rec_is(const void *p, size_t n, uint64_t k)
{
    uint8_t *e = xmalloc(n);
    int same;

    tu_fill(e, n, k);
    same = n == 0 || memcmp(p, e, n) == 0;
    free(e);
    return same;
}

/* Pushes record k of len bytes with scb_push_record. */
static void push_k(scb_t *w, uint64_t k, uint32_t len)
{
    uint8_t *b = xmalloc(len);
    int rc;

    tu_fill(b, len, k);
    rc = scb_push_record(w, b, len);
    free(b);
    ck_assert_msg(rc == SCB_OK, "scb_push_record(record %ju, %u bytes) = %d (%s)",
                  (uintmax_t)k, (unsigned)len, rc, scb_strerror(rc));
}

/* Pops one record into a buffer of cap bytes and checks that it is record
 * k of len bytes. */
static void pop_k(scb_t *r, size_t cap, uint64_t k, uint32_t len)
{
    uint8_t *b = xmalloc(cap);
    size_t got = 12345;
    int rc = scb_pop_record(r, b, cap, &got);

    ck_assert_msg(rc == SCB_OK,
                  "scb_pop_record (cap %zu, expecting record %ju of %u bytes) = %d (%s)",
                  cap, (uintmax_t)k, (unsigned)len, rc, scb_strerror(rc));
    ck_assert_msg(got == len, "record %ju: length %zu, expected %u",
                  (uintmax_t)k, got, (unsigned)len);
    ck_assert_msg(rec_is(b, len, k), "record %ju of %u bytes: bytes differ",
                  (uintmax_t)k, (unsigned)len);
    free(b);
}

/* scb_pop_record finds nothing: SCB_EAGAIN with *len 0. */
static void pop_none(scb_t *r, size_t cap)
{
    uint8_t *b = xmalloc(cap);
    size_t got = 12345;
    int rc = scb_pop_record(r, b, cap, &got);

    free(b);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop_record on a drained ring = %d (%s)",
                  rc, scb_strerror(rc));
    ck_assert_uint_eq(got, 0);
}

static uint64_t pushed_of(const scb_t *h)
{
    return info_of(h).pushed;
}

/* Pops until SCB_EAGAIN records that name themselves (lengths
 * rec_len(k, lo, max) with lo >= 8): each must be intact and follow the one
 * before it.  Returns how many, the first one's index in *first (untouched
 * if none). */
static uint64_t drain_named(scb_t *r, uint32_t lo, uint32_t max,
                            uint64_t *first)
{
    uint8_t *b = xmalloc(max);
    uint64_t n = 0, k, next = 0;
    size_t len;
    int rc;

    while ((rc = scb_pop_record(r, b, max, &len)) == SCB_OK) {
        ck_assert_msg(len >= 8 && tu_check(b, len, &k),
                      "a record of %zu bytes that names no record", len);
        if (n == 0)
            *first = k;
        else
            ck_assert_msg(k == next, "record %ju after record %ju",
                          (uintmax_t)k, (uintmax_t)(next - 1));
        ck_assert_msg(len == rec_len(k, lo, max) && rec_is(b, len, k),
                      "record %ju: %zu bytes, expected %u, or bytes differ",
                      (uintmax_t)k, len, (unsigned)rec_len(k, lo, max));
        next = k + 1;
        n++;
    }
    free(b);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop_record = %d (%s)", rc,
                  scb_strerror(rc));
    return n;
}

/* A record ring of max-record `max` and `length` bytes, or a fixed-size ring
 * of `length` items of `max` bytes. */
static scb_t *mk_ring(int records, uint32_t max, uint64_t length,
                      uint32_t flags)
{
    return mk_writer(g_name, max, length, flags | (records ? SCB_RECORDS : 0));
}

/* ------------------------------------------------------------------------ */
/* tcase "records_args": argument and kind rules; each failing call changes */
/* nothing.                                                                 */

/* NULLs everywhere, on a record ring (_i 0) and a fixed-size ring (_i 1). */
START_TEST(test_rec_null_args)
{
    const int records = _i == 0;
    const uint32_t S = 16;
    scb_t *w = records ? mk_ring(1, S, 256, 0) : mk_ring(0, S, 4, 0);
    scb_t *r = mk_open(g_name, 0);
    uint8_t item[16];
    void *p;
    const void *cp;
    size_t len;

    tu_fill(item, S, 7);
    ck_assert_int_eq(scb_push_record(NULL, item, S), SCB_EINVAL);
    ck_assert_int_eq(scb_push_record(w, NULL, S), SCB_EINVAL);
    ck_assert_int_eq(scb_push_record(w, NULL, 1), SCB_EINVAL);
    ck_assert_int_eq(scb_push_record(NULL, NULL, 0), SCB_EINVAL);
    p = &p;
    ck_assert_int_eq(scb_reserve(NULL, S, &p), SCB_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_reserve(w, S, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_commit(NULL, S), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_wait(NULL, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_wait(NULL, -1), SCB_EINVAL);
    ck_assert_int_eq(scb_wait(NULL, 10), SCB_EINVAL);
    /* scb_reserve(w, S, NULL) opened no reservation. */
    ck_assert_int_eq(scb_commit(w, S), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(w), SCB_EINVAL);
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_uint_eq(scb_usage(w), 0);

    /* data NULL with len 0: the empty record on a record ring; a fixed-size
     * ring has no records of 0 bytes. */
    ck_assert_int_eq(scb_push_record(w, NULL, 0),
                     records ? SCB_OK : SCB_EMSGSIZE);
    ck_assert_uint_eq(pushed_of(w), records ? 1 : 0);
    push_k(w, 7, S);
    ck_assert_uint_eq(pushed_of(w), records ? 2 : 1);

    len = 99;
    ck_assert_int_eq(scb_pop_record(NULL, item, S, &len), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_record(r, item, S, NULL), SCB_EINVAL);
    len = 99;
    ck_assert_int_eq(scb_pop_record(r, NULL, S, &len), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_record(r, NULL, 1, &len), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_record(NULL, NULL, 0, NULL), SCB_EINVAL);
    cp = &cp;
    len = 99;
    ck_assert_int_eq(scb_peek(NULL, &cp, &len), SCB_EINVAL);
    ck_assert_ptr_null(cp);
    ck_assert_int_eq(scb_peek(r, NULL, &len), SCB_EINVAL);
    cp = &cp;
    ck_assert_int_eq(scb_peek(r, &cp, NULL), SCB_EINVAL);
    ck_assert_ptr_null(cp);
    ck_assert_int_eq(scb_peek(NULL, NULL, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_release(NULL), SCB_EINVAL);
    /* The peeks that failed peeked nothing; nothing was consumed. */
    ck_assert_int_eq(scb_release(r), SCB_EINVAL);
    ck_assert_uint_eq(scb_usage(r), records ? 16 + 32 : 1);
    ck_assert_uint_eq(scb_lost(r), 0);
    if (records)
        pop_k(r, S, 0, 0);
    pop_k(r, S, 7, S);
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* Records larger than the ring allows or the caller's buffer. */
START_TEST(test_rec_msgsize)
{
    scb_t *w = mk_ring(1, 100, 1024, 0), *r = mk_open(g_name, 0);
    uint8_t big[101], buf[100];
    void *p;
    size_t len;

    memset(big, 0xab, sizeof big);
    ck_assert_int_eq(scb_push_record(w, big, 101), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_push_record(w, big, 1000), SCB_EMSGSIZE);
    /* The length is judged before a byte of data is read. */
    ck_assert_int_eq(scb_push_record(w, big, SIZE_MAX), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_push_record(w, big, (size_t)UINT32_MAX + 1),
                     SCB_EMSGSIZE);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, 101, &p), SCB_EMSGSIZE);
    ck_assert_ptr_null(p);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, SIZE_MAX, &p), SCB_EMSGSIZE);
    ck_assert_ptr_null(p);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, (size_t)UINT32_MAX + 50, &p), SCB_EMSGSIZE);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_commit(w, 0), SCB_EINVAL); /* none opened */
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    pop_none(r, 100);

    push_k(w, 1, 100); /* the largest is fine */
    push_k(w, 2, 37);
    push_k(w, 3, 0);
    ck_assert_uint_eq(scb_usage(r), 120 + 56 + 16);

    len = 0;
    ck_assert_int_eq(scb_pop_record(r, buf, 99, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, 100);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, 100);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, buf, 1, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, 100);
    /* Nothing consumed, nothing lost. */
    ck_assert_uint_eq(scb_usage(r), 120 + 56 + 16);
    ck_assert_uint_eq(scb_lost(r), 0);
    pop_k(r, 100, 1, 100);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, 37);
    ck_assert_int_eq(scb_pop_record(r, buf, 36, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, 37);
    pop_k(r, 37, 2, 37); /* a buffer of exactly its length */
    /* The empty record fits in no buffer at all. */
    len = 99;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_OK);
    ck_assert_uint_eq(len, 0);
    pop_none(r, 100);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_uint_eq(pushed_of(r), 3);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* scb_pop_record(r, NULL, 0, &len), the way to ask for the next length,
 * takes an empty record (it fits in no buffer at all), many times over and
 * between others. */
START_TEST(test_rec_pop_null_empty)
{
    scb_t *w = mk_ring(1, 16, 256, 0), *r = mk_open(g_name, 0);
    size_t len;
    uint64_t k;

    for (k = 0; k < 40; k++) {
        push_k(w, k, 0);
        push_k(w, k, 9);
        len = 99;
        ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_OK);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EMSGSIZE);
        ck_assert_uint_eq(len, 9);
        pop_k(r, 9, k, 9);
    }
    pop_none(r, 16);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* The record calls on a fixed-size ring: a record is exactly item_size. */
START_TEST(test_rec_on_fixed_ring)
{
    const uint32_t S = 16;
    scb_t *w = mk_ring(0, S, 4, 0), *r = mk_open(g_name, 0);
    uint8_t item[16], buf[64];
    void *p;
    size_t len;
    uint64_t k;

    tu_fill(item, S, 5);
    ck_assert_int_eq(scb_push_record(w, item, 15), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_push_record(w, item, 17), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_push_record(w, item, 0), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_push_record(w, item, SIZE_MAX), SCB_EMSGSIZE);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, 15, &p), SCB_EMSGSIZE);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_reserve(w, 17, &p), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_reserve(w, 0, &p), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_commit(w, S), SCB_EINVAL); /* none opened */
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    len = 99;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EAGAIN);
    ck_assert_uint_eq(len, 0);
    pop_none(r, S);

    push_k(w, 1, S);
    push_k(w, 2, S);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, buf, 15, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, S);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, S);
    ck_assert_uint_eq(scb_usage(r), 2);
    pop_k(r, S, 1, S);
    pop_k(r, 64, 2, S); /* a larger buffer: the length is item_size */
    pop_none(r, S);

    /* Items and records are the same thing there. */
    push_seq(w, item, S, 3);
    pop_k(r, S, 3, S);
    push_k(w, 4, S);
    pop_expect(r, buf, S, 4);

    /* Lapped: the loss counts as for items. */
    for (k = 10; k < 16; k++)
        push_k(w, k, S);
    len = 0;
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EMSGSIZE);
    ck_assert_uint_eq(len, S);
    for (k = 12; k < 16; k++)
        pop_k(r, S, k, S);
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 2);
    ck_assert_uint_eq(pushed_of(w), 10);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* The fixed-size calls on a record ring are SCB_EINVAL, also with n 0. */
START_TEST(test_rec_fixed_calls_refused)
{
    scb_t *w = mk_ring(1, 16, 256, _i ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    uint8_t item[16], items[64];
    size_t count;
    double t0;

    memset(items, 0, sizeof items);
    tu_fill(item, 16, 9);
    t0 = now_ms();
    ck_assert_int_eq(scb_push(w, item), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_push_many(w, items, 2, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    count = 77;
    ck_assert_int_eq(scb_push_many(w, items, 0, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_push_wait(w, item, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, item, 10), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, item, -1), SCB_EINVAL);
    ck_assert_uint_eq(pushed_of(w), 0);
    push_k(w, 1, 16);
    ck_assert_int_eq(scb_pop(r, item), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_pop_many(r, items, 4, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, item, 10), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, item, -1), SCB_EINVAL);
    ck_assert_msg(now_ms() - t0 < 500, "refused calls waited");
    ck_assert_uint_eq(pushed_of(w), 1);
    ck_assert_uint_eq(scb_usage(r), 32);
    pop_k(r, 16, 1, 16);
    pop_none(r, 16);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* Roles: each new call on the wrong handle, on a record ring (_i 0) and a
 * fixed-size ring (_i 1). */
START_TEST(test_rec_roles)
{
    const int records = _i == 0;
    const uint32_t S = 16;
    scb_t *w = records ? mk_ring(1, S, 256, 0) : mk_ring(0, S, 4, 0);
    scb_t *r = mk_open(g_name, 0), *r2 = mk_open(g_name, 0);
    uint8_t item[16], buf[16];
    void *p;
    const void *cp;
    size_t len;

    tu_fill(item, S, 3);
    ck_assert_int_eq(scb_push_record(r, item, S), SCB_ENOTWRITER);
    p = &p;
    ck_assert_int_eq(scb_reserve(r, S, &p), SCB_ENOTWRITER);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_commit(r, S), SCB_ENOTWRITER);
    ck_assert_int_eq(scb_discard(r), SCB_ENOTWRITER);
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r2), 0);

    push_k(w, 3, S);
    len = 99;
    ck_assert_int_eq(scb_pop_record(w, buf, S, &len), SCB_ENOTREADER);
    cp = &cp;
    ck_assert_int_eq(scb_peek(w, &cp, &len), SCB_ENOTREADER);
    ck_assert_ptr_null(cp);
    ck_assert_int_eq(scb_release(w), SCB_ENOTREADER);
    /* A writer's reservation is no reader's: the reader still peeks. */
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
    ck_assert_int_eq(scb_release(w), SCB_ENOTREADER);
    ck_assert_int_eq(scb_discard(w), SCB_OK);
    /* scb_wait serves both roles. */
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK);
    ck_assert_uint_eq(pushed_of(w), 1);
    pop_k(r, S, 3, S);
    pop_k(r2, S, 3, S);
    pop_none(r, S);
    ck_assert_int_eq(scb_close(r2), SCB_OK);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* Create: length a multiple of 8 and at least 2 * (item_size + 16), in
 * bytes; anything else is SCB_EINVAL and leaves nothing behind. */
static const struct {
    uint32_t item_size;
    uint64_t length;
    int ok;
} create_cases[] = {
    {100, 236, 0},                 /* not a multiple of 8 */
    {100, 224, 0},                 /* below 2 * 116 */
    {100, 240, 1},
    {100, 1000, 1},
    {1, 32, 0},                    /* below 2 * 17 */
    {1, 33, 0},
    {1, 48, 1},
    {8, 40, 0},                    /* below 2 * 24 */
    {8, 48, 1},                    /* exactly 2 * 24 */
    {13, 56, 0},                   /* below 2 * 29 */
    {13, 60, 0},                   /* not a multiple of 8 */
    {13, 64, 1},
    {16, 1, 0},
    {16, 7, 0},
    {16, 8, 0},
    {16, 63, 0},
    {4096, 8192, 0},               /* below 2 * 4112 */
    {4096, 8224, 1},
    {(UINT32_C(1) << 30) + 1, UINT64_C(1) << 32, 0}, /* item_size bound */
    {1000, UINT64_C(1) << 62, 0},  /* beyond any segment */
    {1000, UINT64_MAX - 7, 0},
};
#define N_CREATE_CASES ((int)(sizeof create_cases / sizeof create_cases[0]))

/* A record ring that was created works: records of every length up to the
 * largest go through, wrapping many times; lossless: with one reader, a
 * record of item_size always fits once it caught up (semantics 13). */
static void exercise_ring(scb_t *w, uint32_t max, uint64_t length)
{
    scb_t *r = mk_open(g_name, 0);
    uint64_t k, n = 3 * length / 16 + 20;

    if (n > 3000)
        n = 3000;
    for (k = 0; k < n; k++) {
        uint32_t len = k % 2 ? max : rec_len(k, 0, max);

        push_k(w, k, len);
        pop_k(r, max, k, len);
    }
    pop_none(r, max);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
}

START_TEST(test_rec_create)
{
    const int c = _i / 2, lossless = _i % 2;
    uint32_t flags = SCB_RECORDS | (lossless ? SCB_LOSSLESS : 0);
    scb_config_t cfg = cfg_of(create_cases[c].item_size,
                              create_cases[c].length, flags);
    scb_t *w = (scb_t *)(void *)&cfg;
    int rc = scb_create(&w, g_name, &cfg);

    if (!create_cases[c].ok) {
        ck_assert_msg(rc == SCB_EINVAL,
                      "scb_create(SCB_RECORDS%s, item_size %u, length %ju) = %d (%s), "
                      "expected SCB_EINVAL",
                      lossless ? " | SCB_LOSSLESS" : "",
                      (unsigned)create_cases[c].item_size,
                      (uintmax_t)create_cases[c].length, rc, scb_strerror(rc));
        ck_assert_ptr_null(w);
        assert_absent(g_name);
        return;
    }
    ck_assert_msg(rc == SCB_OK,
                  "scb_create(SCB_RECORDS%s, item_size %u, length %ju) = %d (%s)",
                  lossless ? " | SCB_LOSSLESS" : "",
                  (unsigned)create_cases[c].item_size,
                  (uintmax_t)create_cases[c].length, rc, scb_strerror(rc));
    ck_assert_uint_eq(info_of(w).length, create_cases[c].length);
    ck_assert_uint_eq(info_of(w).item_size, create_cases[c].item_size);
    exercise_ring(w, create_cases[c].item_size, create_cases[c].length);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* The smallest lengths the contract allows: 2 * (item_size + 16) rounded up
 * to a multiple of 8.  For item sizes whose remainder by 8 is 1 to 4 that
 * is 8 bytes less than 2 * SCB_REC_SPAN(item_size), and still enough: a
 * record of item_size needs at most its span plus a padding shorter than
 * its span. */
static const uint32_t min_len_sizes[] = {1, 2, 3, 4, 9, 12, 100, 1001, 5, 8, 13, 16};
#define N_MIN_LEN ((int)(sizeof min_len_sizes / sizeof min_len_sizes[0]))

START_TEST(test_rec_create_min_length)
{
    const uint32_t S = min_len_sizes[_i / 2];
    const int lossless = _i % 2;
    uint64_t min = 2 * ((uint64_t)S + 16);
    scb_config_t cfg;
    scb_t *w = NULL;
    int rc;

    min = (min + 7) & ~UINT64_C(7);
    cfg = cfg_of(S, min, SCB_RECORDS | (lossless ? SCB_LOSSLESS : 0));
    rc = scb_create(&w, g_name, &cfg);
    ck_assert_msg(rc == SCB_OK,
                  "scb_create(SCB_RECORDS%s, item_size %u, length %ju = the "
                  "smallest multiple of 8 >= 2 * (item_size + 16)) = %d (%s)",
                  lossless ? " | SCB_LOSSLESS" : "", (unsigned)S,
                  (uintmax_t)min, rc, scb_strerror(rc));
    exercise_ring(w, S, min);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    /* And 8 less is too little. */
    cfg.length = min - 8;
    w = (scb_t *)(void *)&cfg;
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_EINVAL);
    ck_assert_ptr_null(w);
    assert_absent(g_name);
}
END_TEST

/* length 0 takes a default that holds records of item_size; item_size 0
 * means 1. */
static const uint32_t default_sizes[] = {0, 1, 8, 13, 100, 4096};
#define N_DEFAULT_SIZES ((int)(sizeof default_sizes / sizeof default_sizes[0]))

START_TEST(test_rec_create_default_length)
{
    uint32_t S = default_sizes[_i / 2];
    const int lossless = _i % 2;
    scb_t *w = mk_ring(1, S, 0, lossless ? SCB_LOSSLESS : 0);
    scb_info_t info = info_of(w);

    if (S == 0)
        S = 1;
    ck_assert_uint_eq(info.item_size, S);
    ck_assert_uint_eq(info.length % 8, 0);
    ck_assert_uint_ge(info.length, 2 * ((uint64_t)S + 16));
    ck_assert_uint_eq(info.flags & SCB_RECORDS, SCB_RECORDS);
    exercise_ring(w, S, info.length);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* SCB_RECORDS combines with SCB_LOSSLESS and SCB_UNLINK_ON_CLOSE. */
START_TEST(test_rec_create_flags)
{
    const int lossless = _i;
    uint32_t flags = SCB_UNLINK_ON_CLOSE | (lossless ? SCB_LOSSLESS : 0);
    scb_t *w = mk_ring(1, 64, 1024, flags), *r = mk_open(g_name, 0);
    scb_info_t info = info_of(w);
    uint64_t k = 0, n, first;

    ck_assert_uint_eq(info.flags & (SCB_RECORDS | SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE),
                      SCB_RECORDS | SCB_UNLINK_ON_CLOSE | (lossless ? SCB_LOSSLESS : 0));
    ck_assert_uint_eq(info_of(r).flags & (SCB_RECORDS | SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE),
                      SCB_RECORDS | SCB_UNLINK_ON_CLOSE | (lossless ? SCB_LOSSLESS : 0));
    ck_assert_uint_eq(info.max_readers, lossless ? 64 : 0);
    ck_assert_uint_eq(info_of(w).readers, lossless ? 1 : 0);
    if (lossless) {
        uint8_t b[40];

        /* Full: SCB_EAGAIN; the reader then gets every record. */
        memset(b, 0, sizeof b);
        for (;;) {
            tu_fill(b, 40, k);
            if (scb_push_record(w, b, 40) != SCB_OK)
                break;
            k++;
            ck_assert_uint_le(k, 1024 / 16);
        }
        ck_assert_int_eq(scb_push_record(w, b, 40), SCB_EAGAIN);
        ck_assert_uint_ge(k, (1024 - 2 * (64 + 16)) / 56);
    } else {
        for (; k < 100; k++)
            push_k(w, k, 40);
    }
    ck_assert_uint_eq(pushed_of(w), k);
    first = 99999;
    n = drain_named(r, 40, 40, &first);
    ck_assert_uint_eq(first + n, k);
    if (lossless)
        ck_assert_uint_eq(first, 0);
    ck_assert_uint_eq(scb_lost(r), first);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    assert_absent(g_name);
}
END_TEST

/* scb_info on record rings: bytes for length and usage, records for pushed
 * and lost, the largest record as item_size. */
START_TEST(test_rec_info)
{
    const int lossless = _i;
    scb_t *w = mk_ring(1, 100, 1024, lossless ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    scb_info_t iw = info_of(w), ir;
    uint64_t k, got = 0, first;

    ck_assert_uint_eq(iw.flags & SCB_RECORDS, SCB_RECORDS);
    ck_assert_uint_eq(iw.item_size, 100);
    ck_assert_uint_eq(iw.length, 1024);
    ck_assert_uint_eq(iw.pushed, 0);
    ck_assert_uint_eq(iw.usage, 0);
    ck_assert_uint_eq(iw.lost, 0);
    ck_assert_int_eq(iw.is_writer, 1);
    ck_assert_uint_eq(iw.readers, lossless ? 1 : 0);
    push_k(w, 0, 0);
    push_k(w, 1, 5);
    push_k(w, 2, 100);
    iw = info_of(w);
    ir = info_of(r);
    ck_assert_uint_eq(iw.pushed, 3);
    ck_assert_uint_eq(ir.pushed, 3);
    ck_assert_uint_eq(iw.usage, 16 + 24 + 120);
    ck_assert_uint_eq(scb_usage(w), 16 + 24 + 120);
    ck_assert_uint_eq(ir.usage, 16 + 24 + 120);
    ck_assert_uint_eq(scb_usage(r), 16 + 24 + 120);
    ck_assert_uint_eq(ir.item_size, 100);
    ck_assert_uint_eq(ir.length, 1024);
    ck_assert_int_eq(ir.is_writer, 0);
    pop_k(r, 100, 0, 0);
    ck_assert_uint_eq(scb_usage(r), 24 + 120);
    ck_assert_uint_eq(info_of(r).usage, 24 + 120);
    /* Lossless: the writer's usage is what its slowest reader has not
     * read; overwrite: the bytes it keeps. */
    ck_assert_uint_eq(scb_usage(w), lossless ? 24 + 120 : 16 + 24 + 120);
    if (lossless) {
        ck_assert_uint_eq(info_of(w).readers, 1);
        pop_k(r, 100, 1, 5);
        pop_k(r, 100, 2, 100);
        ck_assert_uint_eq(scb_usage(w), 0);
    } else {
        /* 30 records of 120 bytes lap the reader. */
        for (k = 3; k < 33; k++)
            push_k(w, k, 100);
        ck_assert_uint_eq(pushed_of(w), 33);
        ck_assert_uint_le(scb_usage(w), 1024);
        ck_assert_uint_ge(scb_usage(w), 1024 - 2 * 120);
        ck_assert_uint_le(scb_usage(r), 1024);
        first = 0;
        got = drain_named(r, 100, 100, &first);
        ck_assert_uint_eq(first + got, 33);
        ck_assert_uint_ge(got, (1024 - 2 * 120) / 120);
        ck_assert_uint_eq(scb_usage(r), 0);
        /* 32 after the one it read: 32 - got lost, in records. */
        ck_assert_uint_eq(scb_lost(r), 32 - got);
        ck_assert_uint_eq(info_of(r).lost, 32 - got);
        ck_assert_uint_eq(info_of(w).lost, 0);
    }
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A reader's open takes the geometry from the ring, whatever its config
 * says; a take-over writer too, and it starts with no reservation. */
START_TEST(test_rec_open_geometry)
{
    scb_t *w = mk_ring(1, 300, 4096, SCB_LOSSLESS), *r = NULL, *w2 = NULL;
    scb_config_t cfg = cfg_of(7, 3, 0);
    scb_info_t info;
    void *p;

    cfg.max_readers = 2;
    ck_assert_int_eq(scb_open(&r, g_name, &cfg), SCB_OK);
    info = info_of(r);
    ck_assert_uint_eq(info.item_size, 300);
    ck_assert_uint_eq(info.length, 4096);
    ck_assert_uint_eq(info.flags & (SCB_RECORDS | SCB_LOSSLESS),
                      SCB_RECORDS | SCB_LOSSLESS);
    ck_assert_uint_eq(info.max_readers, 64);
    push_k(w, 0, 300);
    push_k(w, 1, 1);
    pop_k(r, 300, 0, 300);
    /* The writer dies with a reservation open (closes, here): nothing of
     * it is published, and the next writer starts clean. */
    ck_assert_int_eq(scb_reserve(w, 300, &p), SCB_OK);
    tu_fill(p, 300, 77);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    cfg = cfg_of(5, 9, SCB_WRITER);
    ck_assert_int_eq(scb_open(&w2, g_name, &cfg), SCB_OK);
    info = info_of(w2);
    ck_assert_uint_eq(info.item_size, 300);
    ck_assert_uint_eq(info.length, 4096);
    ck_assert_uint_eq(info.pushed, 2);
    ck_assert_int_eq(scb_commit(w2, 300), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(w2), SCB_EINVAL);
    push_k(w2, 2, 299);
    pop_k(r, 300, 1, 1);
    pop_k(r, 300, 2, 299);
    pop_none(r, 300);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_uint_eq(pushed_of(w2), 3);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w2), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "records_zero_copy": every rule of scb_reserve, scb_commit,        */
/* scb_discard, scb_peek and scb_release, on both kinds of ring.            */

static const struct {
    int records;
    uint32_t size;   /* item_size: the largest record, or the item */
    uint64_t length; /* bytes, or items */
} zc_kinds[] = {
    {1, 100, 1024}, {1, 8, 48}, {1, 13, 64}, {0, 16, 4}, {0, 24, 8}, {0, 13, 4},
};
#define N_ZC_KINDS ((int)(sizeof zc_kinds / sizeof zc_kinds[0]))

/* The pointer scb_reserve hands out is 8-byte aligned; on a fixed-size
 * ring the items lie back to back, so only where item_size allows. */
static void expect_aligned(const void *p, int records, uint32_t S)
{
    if (records || S % 8 == 0)
        ck_assert_msg((uintptr_t)p % 8 == 0, "scb_reserve gave %p", p);
}

/* Every pop call on a reader with a record peeked is SCB_EINVAL. */
static void expect_pops_refused(scb_t *r, uint32_t S)
{
    uint8_t *b = xmalloc((size_t)S * 2);
    size_t len, count;

    len = 99;
    ck_assert_int_eq(scb_pop_record(r, b, S, &len), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_record(r, NULL, 0, &len), SCB_EINVAL);
    ck_assert_int_eq(scb_pop(r, b), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_pop_many(r, b, 2, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_pop_wait(r, b, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, b, 10), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, b, -1), SCB_EINVAL);
    free(b);
}

/* Every push call on a writer with a reservation open is SCB_EINVAL. */
static void expect_pushes_refused(scb_t *w, uint32_t S)
{
    uint8_t *b = xmalloc((size_t)S * 2);
    void *p;
    size_t count;

    tu_fill(b, S, 999);
    ck_assert_int_eq(scb_push_record(w, b, S), SCB_EINVAL);
    ck_assert_int_eq(scb_push_record(w, NULL, 0), SCB_EINVAL);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_push(w, b), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_push_many(w, b, 2, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_push_wait(w, b, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, b, 10), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, b, -1), SCB_EINVAL);
    free(b);
}

START_TEST(test_zc_reserve_commit)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size, n = R ? S / 2 : S;
    scb_t *w = mk_ring(R, S, zc_kinds[_i].length, 0), *r = mk_open(g_name, 0);
    void *p = NULL;
    const void *cp, *cp2;
    size_t len, len2;

    ck_assert_int_eq(scb_commit(w, n), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(w), SCB_EINVAL);
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
    ck_assert_ptr_nonnull(p);
    expect_aligned(p, R, S);
    memset(p, 0x5a, S); /* all of it is the caller's */
    tu_fill(p, n, 1);
    /* Nothing is published before the commit. */
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_EAGAIN);
    ck_assert_ptr_null(cp);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* A shorter final length (a fixed-size ring has only item_size). */
    ck_assert_int_eq(scb_commit(w, n), SCB_OK);
    ck_assert_int_eq(scb_commit(w, n), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(w), SCB_EINVAL);
    ck_assert_uint_eq(pushed_of(w), 1);

    ck_assert_int_eq(scb_release(r), SCB_EINVAL);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert_uint_eq(len, n);
    ck_assert(rec_is(cp, n, 1));
    ck_assert_int_eq(scb_peek(r, &cp2, &len2), SCB_OK);
    ck_assert_ptr_eq(cp2, cp);
    ck_assert_uint_eq(len2, len);
    expect_pops_refused(r, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK); /* at once while peeked */
    ck_assert_uint_eq(scb_usage(r), R ? SCB_REC_SPAN(n) : 1);
    ck_assert_int_eq(scb_release(r), SCB_OK);
    ck_assert_int_eq(scb_release(r), SCB_EINVAL);
    cp = &cp;
    len = 99;
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_EAGAIN);
    ck_assert_ptr_null(cp);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);

    if (R) {
        /* The empty record, in place; and one of exactly what was
         * reserved. */
        ck_assert_int_eq(scb_reserve(w, 0, &p), SCB_OK);
        ck_assert_ptr_nonnull(p);
        expect_aligned(p, R, S);
        ck_assert_int_eq(scb_commit(w, 0), SCB_OK);
        ck_assert_int_eq(scb_reserve(w, n, &p), SCB_OK);
        expect_aligned(p, R, S);
        tu_fill(p, n, 2);
        ck_assert_int_eq(scb_commit(w, n), SCB_OK);
        pop_k(r, S, 0, 0);
        pop_k(r, S, 2, n);
    }
    /* The pointers stay aligned wherever the writer stands. */
    {
        uint64_t k;
        for (k = 3; k < 3 + 4 * zc_kinds[_i].length; k++) {
            uint32_t len3 = R ? rec_len(k, 0, S) : S;

            ck_assert_int_eq(scb_reserve(w, len3, &p), SCB_OK);
            expect_aligned(p, R, S);
            tu_fill(p, len3, k);
            ck_assert_int_eq(scb_commit(w, len3), SCB_OK);
            pop_k(r, S, k, len3);
        }
    }
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A commit longer than reserved fails and leaves the reservation open. */
START_TEST(test_zc_commit_longer)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size, res = R ? S / 2 : S;
    scb_t *w = mk_ring(R, S, zc_kinds[_i].length, 0), *r = mk_open(g_name, 0);
    void *p = NULL;

    ck_assert_int_eq(scb_reserve(w, res, &p), SCB_OK);
    tu_fill(p, res, 2);
    ck_assert_int_eq(scb_commit(w, res + 1), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_commit(w, SIZE_MAX), SCB_EMSGSIZE);
    ck_assert_int_eq(scb_commit(w, (size_t)UINT32_MAX + 1 + res), SCB_EMSGSIZE);
    if (R)
        ck_assert_int_eq(scb_commit(w, S), SCB_EMSGSIZE); /* <= item_size, > reserved */
    else
        ck_assert_int_eq(scb_commit(w, S - 1), SCB_EMSGSIZE);
    /* Still open: nothing published, no other push or reservation. */
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    expect_pushes_refused(w, S);
    ck_assert_int_eq(scb_commit(w, res), SCB_OK);
    pop_k(r, S, 2, res);
    pop_none(r, S);
    push_k(w, 3, S);
    pop_k(r, S, 3, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* scb_discard publishes nothing, as often as it is done. */
START_TEST(test_zc_discard)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    const uint64_t L = zc_kinds[_i].length;
    scb_t *w = mk_ring(R, S, L, 0), *r = mk_open(g_name, 0);
    void *p = NULL;
    const void *cp;
    size_t len;
    uint64_t k, usage;

    push_k(w, 1, S);
    usage = scb_usage(r);
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
    tu_fill(p, S, 9);
    ck_assert_int_eq(scb_discard(w), SCB_OK);
    ck_assert_int_eq(scb_discard(w), SCB_EINVAL);
    ck_assert_int_eq(scb_commit(w, S), SCB_EINVAL);
    ck_assert_uint_eq(pushed_of(w), 1);
    ck_assert_uint_eq(scb_usage(r), usage);
    pop_k(r, S, 1, S);
    pop_none(r, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* Reservations dropped all around the ring, between pushes. */
    for (k = 2; k < 2 + 6 * L; k++) {
        uint32_t n = R ? rec_len(k, 0, S) : S;

        ck_assert_int_eq(scb_reserve(w, k % 2 ? S : n, &p), SCB_OK);
        tu_fill(p, n, k + 1000);
        ck_assert_int_eq(scb_discard(w), SCB_OK);
        ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_EAGAIN);
        push_k(w, k, n);
        pop_k(r, S, k, n);
    }
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_uint_eq(pushed_of(w), 1 + 6 * L);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* An overwrite writer's reservation on a full ring makes room before
 * anything is written: what it overwrote counts as lost even if it is
 * then discarded, and returned + lost == pushed stays exact. */
START_TEST(test_zc_discard_full)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    const uint64_t L = zc_kinds[_i].length;
    scb_t *w = mk_ring(R, S, L, 0), *r = mk_open(g_name, 0);
    uint64_t k, n = R ? L / SCB_REC_SPAN(S) + 3 : L + 2, first = 0, got;
    uint64_t lost_before;
    void *p;
    int i;

    ck_assert_uint_ge(S, 8);
    for (k = 0; k < n; k++)
        push_k(w, k, S);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
        memset(p, 0xee, S);
        ck_assert_int_eq(scb_discard(w), SCB_OK);
    }
    ck_assert_uint_eq(pushed_of(w), n);
    lost_before = scb_lost(r);
    got = drain_named(r, S, S, &first);
    ck_assert_msg(scb_lost(r) == lost_before,
                  "scb_lost said %ju before the reads, %ju after",
                  (uintmax_t)lost_before, (uintmax_t)scb_lost(r));
    ck_assert_uint_eq(first + got, n);
    ck_assert_uint_eq(scb_lost(r), first);
    push_k(w, n, S);
    pop_k(r, S, n, S);
    ck_assert_uint_eq(got + 1 + scb_lost(r), pushed_of(w));
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* One reservation at a time: while it is open scb_reserve and every push
 * call are SCB_EINVAL, and what was written in it survives them. */
START_TEST(test_zc_one_reservation)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    scb_t *w = mk_ring(R, S, zc_kinds[_i].length, _i % 2 ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    void *p = NULL;
    const void *cp;
    size_t len;

    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
    tu_fill(p, S, 3);
    expect_pushes_refused(w, S);
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK); /* at once: it can commit */
    ck_assert_uint_eq(pushed_of(w), 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_EAGAIN);
    ck_assert_int_eq(scb_commit(w, S), SCB_OK);
    pop_k(r, S, 3, S);
    push_k(w, 4, S);
    pop_k(r, S, 4, S);
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A lossless ring with no room: scb_reserve is SCB_EAGAIN and opens
 * nothing; once the reader made room it works. */
START_TEST(test_zc_lossless_full)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    const uint64_t L = zc_kinds[_i].length;
    scb_t *w = mk_ring(R, S, L, SCB_LOSSLESS), *r = mk_open(g_name, 0);
    uint8_t *b = xmalloc(S);
    void *p;
    uint64_t k = 0, first = 0;
    int rc;

    for (;;) {
        tu_fill(b, S, k);
        rc = scb_push_record(w, b, S);
        if (rc != SCB_OK)
            break;
        k++;
        ck_assert_uint_le(k, L);
    }
    ck_assert_int_eq(rc, SCB_EAGAIN);
    ck_assert_uint_ge(k, R ? (L - 2 * (S + 16)) / SCB_REC_SPAN(S) : L);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_EAGAIN);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_commit(w, S), SCB_EINVAL);
    ck_assert_int_eq(scb_discard(w), SCB_EINVAL);
    ck_assert_int_eq(scb_wait(w, 0), SCB_ETIMEDOUT);
    ck_assert_uint_eq(pushed_of(w), k);
    /* One consumed: a fixed-size ring has room for one; a record ring has
     * room for the largest record whenever scb_wait says so. */
    pop_k(r, S, 0, S);
    rc = scb_wait(w, 0);
    if (!R)
        ck_assert_int_eq(rc, SCB_OK);
    ck_assert_int_eq(scb_reserve(w, S, &p), rc == SCB_OK ? SCB_OK : SCB_EAGAIN);
    if (rc == SCB_OK) {
        tu_fill(p, S, k);
        ck_assert_int_eq(scb_commit(w, S), SCB_OK);
        k++;
    }
    if (S >= 8) {
        ck_assert_uint_eq(drain_named(r, S, S, &first) + 1, k);
        ck_assert_uint_eq(first, 1);
    } else {
        uint64_t j;
        for (j = 1; j < k; j++)
            pop_k(r, S, j, S);
    }
    pop_none(r, S);
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_OK);
    ck_assert_int_eq(scb_commit(w, S), SCB_OK);
    ck_assert_uint_eq(scb_lost(r), 0);
    free(b);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* An overwrite writer that laps a peeked record: scb_release is
 * SCB_EOVERRUN and the record counts in scb_lost, exactly. */
START_TEST(test_zc_overrun)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    const uint64_t L = zc_kinds[_i].length;
    scb_t *w = mk_ring(R, S, L, 0), *r = mk_open(g_name, 0);
    const void *cp;
    size_t len;
    uint64_t k, first = 0, got, lap = R ? L / SCB_REC_SPAN(S) + 2 : L + 1;

    push_k(w, 0, S);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert(len == S && rec_is(cp, S, 0));
    push_k(w, 1, S); /* not as far as the peeked one */
    ck_assert_int_eq(scb_release(r), SCB_OK);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert(len == S && rec_is(cp, S, 1));
    for (k = 2; k < 2 + lap; k++)
        push_k(w, k, S);
    ck_assert_int_eq(scb_release(r), SCB_EOVERRUN);
    ck_assert_int_eq(scb_release(r), SCB_EINVAL);
    /* The rest: records 2.. less those overwritten too. */
    got = drain_named(r, S, S, &first);
    ck_assert_uint_eq(first + got, k);
    ck_assert_uint_ge(first, 3);
    ck_assert_uint_eq(scb_lost(r), first - 1);
    ck_assert_uint_eq(info_of(r).lost, first - 1);
    /* Returned (record 0 and the drained) + lost == pushed. */
    ck_assert_uint_eq(1 + got + scb_lost(r), pushed_of(w));
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A lossless registered reader's peeked record is never overwritten: the
 * writer gets SCB_EAGAIN instead. */
START_TEST(test_zc_lossless_peek_holds)
{
    const int R = zc_kinds[_i].records;
    const uint32_t S = zc_kinds[_i].size;
    const uint64_t L = zc_kinds[_i].length;
    scb_t *w = mk_ring(R, S, L, SCB_LOSSLESS), *r = mk_open(g_name, 0);
    uint8_t *b = xmalloc(S);
    const void *cp, *cp2;
    void *p;
    size_t len;
    uint64_t k = 1, first = 0;
    uint32_t n;

    push_k(w, 0, S);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert(len == S && rec_is(cp, S, 0));
    for (;;) {
        n = R ? rec_len(k, S < 8 ? S : 8, S) : S;
        tu_fill(b, n, k);
        if (scb_push_record(w, b, n) != SCB_OK)
            break;
        k++;
        ck_assert_uint_le(k, L);
    }
    ck_assert_uint_ge(k, R ? 2 : L);
    p = &p;
    ck_assert_int_eq(scb_reserve(w, S, &p), SCB_EAGAIN);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(scb_wait(w, 0), SCB_ETIMEDOUT);
    ck_assert_int_eq(scb_peek(r, &cp2, &len), SCB_OK);
    ck_assert_ptr_eq(cp2, cp);
    ck_assert_msg(rec_is(cp, S, 0), "the peeked record was overwritten");
    ck_assert_int_eq(scb_release(r), SCB_OK);
    if (S >= 8) {
        ck_assert_uint_eq(drain_named(r, R ? 8 : S, S, &first), k - 1);
        ck_assert_uint_eq(first, 1);
    } else {
        uint64_t j;
        for (j = 1; j < k; j++)
            pop_k(r, S, j, R ? rec_len(j, S, S) : S);
    }
    pop_none(r, S);
    ck_assert_uint_eq(scb_lost(r), 0);
    push_k(w, k, S);
    free(b);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

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
/* tcase "records_wait": scb_wait, and the _wait calls built on it.         */

/* _i 0: a fixed-size ring; 1: a record ring. */
START_TEST(test_wait_reader)
{
    const int R = _i;
    const uint32_t S = R ? 100 : 16;
    scb_t *w = mk_ring(R, S, R ? 1024 : 4, 0), *r = mk_open(g_name, 0);
    const void *cp;
    size_t len;
    double t0, dt;
    uint64_t k;

    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT); /* only a check */
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "scb_wait(0) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 60), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 55 && dt < 2000, "scb_wait(60) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 1), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 0.9 && dt < 500, "scb_wait(1) took %.1f ms", dt);

    /* Something to read: at once, whatever the timeout, consuming
     * nothing. */
    push_k(w, 1, S);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK);
    ck_assert_int_eq(scb_wait(r, 1000), SCB_OK);
    ck_assert_int_eq(scb_wait(r, -1), SCB_OK);
    ck_assert_int_eq(scb_wait(r, INT64_MAX), SCB_OK);
    ck_assert_int_eq(scb_wait(r, INT64_MIN), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "scb_wait with a record waiting took %.1f ms", dt);
    ck_assert_uint_eq(scb_usage(r), R ? SCB_REC_SPAN(S) : 1);
    pop_k(r, S, 1, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* Peeked: at once. */
    push_k(w, 2, S);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert_int_eq(scb_wait(r, -1), SCB_OK);
    ck_assert_int_eq(scb_release(r), SCB_OK);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* Lapped: there is something (the oldest kept). */
    for (k = 3; k < 40; k++)
        push_k(w, k, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK);

    /* An overwrite writer never waits. */
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
    ck_assert_int_eq(scb_wait(w, 1000), SCB_OK);
    ck_assert_int_eq(scb_wait(w, -1), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "an overwrite writer's scb_wait took %.1f ms", dt);

    if (!R) {
        /* The fixed-size _wait calls, now loops over the same wait. */
        uint8_t item[16];

        while (scb_pop(r, item) == SCB_OK)
            ;
        t0 = now_ms();
        ck_assert_int_eq(scb_pop_wait(r, item, 50), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt >= 45 && dt < 2000, "scb_pop_wait(50) took %.1f ms", dt);
        ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
        push_seq(w, item, S, 70);
        t0 = now_ms();
        ck_assert_int_eq(scb_push_wait(w, item, -1), SCB_OK);
        ck_assert_int_eq(scb_pop_wait(r, item, -1), SCB_OK);
        ck_assert_msg(now_ms() - t0 < 90, "the _wait calls waited");
        ck_assert_int_eq(scb_pop_wait(r, item, 1000), SCB_OK);
        ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    }
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A lossless writer waits for room: none without readers; SCB_ETIMEDOUT
 * while its reader reads nothing; SCB_OK once there is room for a push of
 * item_size bytes, or once the reader that held it back left. */
START_TEST(test_wait_lossless_writer)
{
    const int R = _i;
    const uint32_t S = R ? 100 : 16;
    const uint64_t L = R ? 1024 : 4;
    scb_t *w = mk_ring(R, S, L, SCB_LOSSLESS), *r;
    uint8_t *b = xmalloc(S);
    double t0, dt;
    uint64_t k = 0, j;
    int round;

    ck_assert_int_eq(scb_wait(w, 0), SCB_OK); /* nobody to wait for */
    r = mk_open(g_name, 0);
    for (round = 0; round < 2; round++) {
        for (;;) {
            tu_fill(b, S, k);
            if (scb_push_record(w, b, S) != SCB_OK)
                break;
            k++;
        }
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 0), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt < 90, "scb_wait(0) took %.1f ms", dt);
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 60), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt >= 55 && dt < 2000, "scb_wait(60) took %.1f ms", dt);
        if (!R) {
            ck_assert_int_eq(scb_push_wait(w, b, 0), SCB_EAGAIN);
            t0 = now_ms();
            ck_assert_int_eq(scb_push_wait(w, b, 50), SCB_ETIMEDOUT);
            dt = now_ms() - t0;
            ck_assert_msg(dt >= 45 && dt < 2000, "scb_push_wait(50) took %.1f ms", dt);
        }
        if (round == 0) {
            /* The reader catches up. */
            for (j = 0; j < k; j++)
                pop_k(r, S, j, S);
            pop_none(r, S);
        } else {
            /* The reader leaves. */
            ck_assert_int_eq(scb_close(r), SCB_OK);
            r = NULL;
        }
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
        ck_assert_int_eq(scb_wait(w, -1), SCB_OK);
        ck_assert_int_eq(scb_wait(w, 1000), SCB_OK);
        dt = now_ms() - t0;
        ck_assert_msg(dt < 90, "scb_wait with room took %.1f ms", dt);
        /* It said so: a push of item_size bytes goes through. */
        push_k(w, k++, S);
        if (!R)
            ck_assert_int_eq(scb_push_wait(w, b, 1000), SCB_OK);
        else
            push_k(w, k, S);
        k++;
    }
    free(b);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

#ifndef _WIN32
/* Another thread of this process, with its own handle, makes progress
 * after a delay.  (Unix only: the suite uses no threads on Windows.) */
enum { HELP_POP_ALL, HELP_PEEK_ALL, HELP_PUSH, HELP_COMMIT };

struct helper {
    scb_t *h;
    int what;
    uint32_t size;
    uint64_t k;     /* HELP_PUSH: the record pushed */
    int rc;
    uint64_t n;     /* HELP_POP_ALL: records popped */
};

static void *helper_main(void *arg)
{
    struct helper *a = arg;
    uint8_t *b = malloc(a->size);
    size_t len;

    if (b == NULL) {
        a->rc = SCB_ENOMEM;
        return NULL;
    }
    tu_sleep_us(100000);
    switch (a->what) {
    case HELP_PUSH:
        tu_fill(b, a->size, a->k);
        a->rc = scb_push_record(a->h, b, a->size);
        break;
    case HELP_COMMIT: {
        void *p = NULL;

        a->rc = scb_reserve(a->h, a->size, &p);
        if (a->rc == SCB_OK) {
            tu_fill(p, a->size, a->k);
            a->rc = scb_commit(a->h, a->size);
        }
        break;
    }
    case HELP_PEEK_ALL: {
        const void *cp;

        while ((a->rc = scb_peek(a->h, &cp, &len)) == SCB_OK &&
               (a->rc = scb_release(a->h)) == SCB_OK)
            a->n++;
        break;
    }
    default:
        while ((a->rc = scb_pop_record(a->h, b, a->size, &len)) == SCB_OK)
            a->n++;
        break;
    }
    free(b);
    return NULL;
}

/* _i: 0, 1: a lossless writer in scb_wait (fixed-size, records); 2: in
 * scb_push_wait; 3, 4: a reader in scb_wait (fixed-size, records); 5: in
 * scb_pop_wait; the other side pops or pushes.  6 to 8: as 0 to 2, the
 * other side peeks and releases; 9 to 11: as 3 to 5, the other side
 * reserves and commits. */
START_TEST(test_wait_thread)
{
    const int c = _i % 6, R = c == 1 || c == 4, writer_waits = c < 3;
    const uint32_t S = R ? 100 : 16;
    scb_t *w = mk_ring(R, S, R ? 1024 : 4, writer_waits ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    struct helper a;
    pthread_t t;
    uint8_t *b = xmalloc(S);
    uint64_t k = 0;
    double t0, dt;
    int rc;

    memset(&a, 0, sizeof a);
    a.size = S;
    if (writer_waits) {
        for (;;) {
            tu_fill(b, S, k);
            if (scb_push_record(w, b, S) != SCB_OK)
                break;
            k++;
        }
        a.h = r;
        a.what = _i < 6 ? HELP_POP_ALL : HELP_PEEK_ALL;
    } else {
        a.h = w;
        a.what = _i < 6 ? HELP_PUSH : HELP_COMMIT;
        a.k = 42;
    }
    ck_assert_int_eq(pthread_create(&t, NULL, helper_main, &a), 0);
    t0 = now_ms();
    switch (c) {
    case 0:
    case 1:
        rc = scb_wait(w, 10000);
        break;
    case 2:
        tu_fill(b, S, k);
        rc = scb_push_wait(w, b, -1);
        break;
    case 3:
        rc = scb_wait(r, -1);
        break;
    case 4:
        rc = scb_wait(r, 10000);
        break;
    default:
        rc = scb_pop_wait(r, b, 10000);
        break;
    }
    dt = now_ms() - t0;
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(rc == SCB_OK, "the wait = %d (%s) after %.1f ms", rc,
                  scb_strerror(rc), dt);
    ck_assert_msg(dt >= 80 && dt < 5000, "the wait returned after %.1f ms", dt);
    if (writer_waits) {
        ck_assert_int_eq(a.rc, SCB_EAGAIN);
        if (c != 2) {
            ck_assert_uint_eq(a.n, k);
            push_k(w, k, S); /* the room it waited for */
            pop_k(r, S, k, S);
        } else {
            /* The helper may have popped the item pushed on waking. */
            ck_assert_msg(a.n == k || a.n == k + 1, "helper popped %ju of %ju",
                          (uintmax_t)a.n, (uintmax_t)k);
            if (a.n == k)
                pop_k(r, S, k, S);
        }
    } else {
        ck_assert_int_eq(a.rc, SCB_OK);
        if (c == 5)
            ck_assert(rec_is(b, S, 42));
        else
            pop_k(r, S, 42, S);
    }
    pop_none(r, S);
    free(b);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST
#endif /* !_WIN32 */

/* ------------------------------------------------------------------------ */
/* tcase "records_hostile": record headers and the writer's record counters */
/* rewritten in the segment by the other side (semantics 14): the reader's */
/* call returns SCB_EBADFORMAT, or SCB_EAGAIN where the damage looks like a */
/* writer moving on, and never faults or hangs (the tcase timeout, and      */
/* AddressSanitizer in CI, watch that).                                     */

#define HR_MAX 200u  /* the largest record of the rings forged below */
#define HR_LEN 2048u /* their bytes of record space */

struct hostile {
    scb_t *w, *r;
    scb_seg_t seg;
    struct scb_hdr *h;
    uint8_t *items;
    uint64_t origin;
    uint64_t p;      /* the reader's next position */
    uint64_t n1;     /* records it read: the next has sequence origin + n1 */
};

/* A record ring with a writer and a reader that read everything (so it
 * caches no head), then 5 records of 40 bytes more (n1 .. n1 + 4), the
 * first at x->p; `near_end`: x->p is 40 bytes before the end of the space.
 * Maps the segment writable, as the other side. */
static void hostile_setup(struct hostile *x, int near_end)
{
    uint64_t k, n0 = near_end ? 5 + 108 : 5;
    int rc;

    memset(x, 0, sizeof *x);
    x->w = mk_ring(1, HR_MAX, HR_LEN, 0);
    x->r = mk_open(g_name, 0);
    for (k = 0; k < n0; k++)
        push_k(x->w, k, k < 5 ? 40 : 0);
    for (k = 0; k < n0; k++)
        pop_k(x->r, HR_MAX, k, k < 5 ? 40 : 0);
    x->n1 = n0;
    rc = scb_backend_open(g_be, &x->seg, g_name, 1);
    ck_assert_msg(rc == SCB_OK, "raw open of %s = %d (%s)", g_name, rc,
                  scb_strerror(rc));
    x->h = x->seg.base;
    ck_assert_uint_le(x->h->items_off + HR_LEN, x->seg.size);
    x->items = (uint8_t *)x->seg.base + x->h->items_off;
    x->origin = x->h->origin;
    x->p = scb_load_relaxed(&x->h->head);
    ck_assert_uint_eq(x->p - x->origin, near_end ? 5 * 56 + 108 * 16 : 5 * 56);
    for (k = n0; k < n0 + 5; k++)
        push_k(x->w, k, 40);
}

static void hostile_done(struct hostile *x)
{
    scb_close(x->r);
    scb_close(x->w);
    ck_assert_int_eq(scb_backend_close(g_be, &x->seg), SCB_OK);
}

static struct scb_rec *rec_at_pos(struct hostile *x, uint64_t pos)
{
    return (struct scb_rec *)(void *)(x->items + (pos - x->origin) % HR_LEN);
}

/* Writes a record header at position pos, its check word that of
 * `check_pos`. */
static void forge(struct hostile *x, uint64_t pos, uint64_t check_pos,
                  uint64_t seq, uint32_t len)
{
    struct scb_rec *rec = rec_at_pos(x, pos);

    scb_store_relaxed(&rec->seq, seq);
    scb_store_relaxed(&rec->word,
                      (uint64_t)len | (uint64_t)scb_rec_check(check_pos) << 32);
}

static void set_head_claim(struct hostile *x, uint64_t v)
{
    scb_store_relaxed(&x->h->head, v);
    scb_store_relaxed(&x->h->claim, v);
}

static const char *const hostile_cases[] = {
    "length beyond item_size", "length 2^32 - 2",
    "check word of another position", "sequence number going backwards",
    "head inside the record", "record running past the end of the space",
    "padding after padding", "lapped, tail ahead of head",
    "lapped, tail misaligned", "lapped, tail where no record starts",
    "lapped, sequence number going backwards at the tail",
    "head far behind", "claim far ahead", "padding in the middle",
};
#define N_HOSTILE_CASES ((int)(sizeof hostile_cases / sizeof hostile_cases[0]))

/* Every reader call on a ring whose damage the reader must report as
 * `want`; then the writer goes on, and nothing faults or hangs. */
static void expect_reader_fails(struct hostile *x, int want, const char *what)
{
    uint8_t *b = xmalloc(HR_MAX);
    const void *cp;
    size_t len;
    double t0 = now_ms();
    uint64_t k;
    scb_t *r2;
    int rc, i;

    len = 99;
    rc = scb_pop_record(x->r, b, HR_MAX, &len);
    ck_assert_msg(rc == want, "%s: scb_pop_record = %d (%s), expected %d (%s)",
                  what, rc, scb_strerror(rc), want, scb_strerror(want));
    ck_assert_uint_eq(len, 0);
    /* A failing call changes nothing: the same damage, the same answer. */
    len = 99;
    rc = scb_pop_record(x->r, b, HR_MAX, &len);
    ck_assert_msg(rc == want,
                  "%s: scb_pop_record again = %d (%s), expected %d (%s) as "
                  "the first time: the failing call moved the reader",
                  what, rc, scb_strerror(rc), want, scb_strerror(want));
    ck_assert_uint_eq(len, 0);
    cp = &cp;
    rc = scb_peek(x->r, &cp, &len);
    ck_assert_msg(rc == want, "%s: scb_peek = %d (%s), expected %d (%s)",
                  what, rc, scb_strerror(rc), want, scb_strerror(want));
    ck_assert_ptr_null(cp);
    ck_assert_int_eq(scb_release(x->r), SCB_EINVAL);
    rc = scb_pop_record(x->r, NULL, 0, &len);
    ck_assert_msg(rc == want, "%s: scb_pop_record(NULL, 0) = %d (%s)", what,
                  rc, scb_strerror(rc));
    rc = scb_wait(x->r, 0);
    ck_assert(rc == SCB_OK || rc == SCB_ETIMEDOUT);
    rc = scb_wait(x->r, 20);
    ck_assert(rc == SCB_OK || rc == SCB_ETIMEDOUT);
    ck_assert_uint_le(scb_usage(x->r), HR_LEN);
    (void)scb_lost(x->r);
    ck_assert_uint_le(info_of(x->r).usage, HR_LEN);
    ck_assert_msg(now_ms() - t0 < 2000, "%s: the calls took %.0f ms", what,
                  now_ms() - t0);

    /* The writer goes on over it (it trusts only its own cursor), the
     * reader's calls stay bounded, a new reader reads what comes. */
    for (k = 1000; k < 1100; k++)
        push_k(x->w, k, rec_len(k, 8, HR_MAX));
    for (i = 0; i < 40; i++) {
        rc = scb_pop_record(x->r, b, HR_MAX, &len);
        ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN || rc == SCB_EBADFORMAT,
                      "%s: later scb_pop_record = %d (%s)", what, rc,
                      scb_strerror(rc));
        ck_assert_uint_le(len, HR_MAX);
    }
    r2 = mk_open(g_name, SCB_LATEST);
    push_k(x->w, 2000, 77);
    pop_k(r2, HR_MAX, 2000, 77);
    ck_assert_int_eq(scb_close(r2), SCB_OK);
    free(b);
}

START_TEST(test_rec_hostile_header)
{
    struct hostile x;
    uint64_t p, e, t, seq;
    int want = SCB_EBADFORMAT;

    hostile_setup(&x, _i == 5);
    p = x.p;
    seq = x.origin + x.n1;
    switch (_i) {
    case 0: forge(&x, p, p, seq, HR_MAX + 1); break;
    case 1: forge(&x, p, p, seq, UINT32_C(0xfffffffe)); break;
    case 2: forge(&x, p, p + 8, seq, 40); break;
    case 3: forge(&x, p, p, seq - 1, 40); break;
    case 4: scb_store_relaxed(&x.h->head, p + 8); break;
    case 5: /* 40 bytes left before the end; a record of 100 needs 120 */
        ck_assert_uint_eq(HR_LEN - (p - x.origin) % HR_LEN, 40);
        forge(&x, p, p, seq, 100);
        set_head_claim(&x, p + 120 + 56);
        break;
    case 6:
        e = p + HR_LEN - (p - x.origin) % HR_LEN; /* the next start of the space */
        forge(&x, p, p, seq, SCB_REC_PAD);
        forge(&x, e, e, seq, SCB_REC_PAD);
        set_head_claim(&x, e + 40);
        break;
    case 7:
        set_head_claim(&x, p + 2 * HR_LEN + 8);
        scb_store_relaxed(&x.h->tail, p + 1000000);
        break;
    case 8:
        set_head_claim(&x, p + 2 * HR_LEN);
        scb_store_relaxed(&x.h->tail, p + HR_LEN + 3);
        break;
    case 9: /* inside record n1's payload, a lap later */
        t = p + HR_LEN + 24;
        set_head_claim(&x, t + 100);
        scb_store_relaxed(&x.h->tail, t);
        break;
    case 10:
        t = p + HR_LEN;
        forge(&x, t, t, seq - 1, 40);
        set_head_claim(&x, t + 56);
        scb_store_relaxed(&x.h->tail, t);
        break;
    case 11:
        scb_store_relaxed(&x.h->head, p - 1000);
        want = SCB_EAGAIN;
        break;
    case 12:
        scb_store_relaxed(&x.h->claim, p + (UINT64_C(1) << 40));
        want = SCB_EAGAIN;
        break;
    default: /* the reader skips to the next start: nothing there yet */
        forge(&x, p, p, seq, SCB_REC_PAD);
        want = SCB_EAGAIN;
        break;
    }
    expect_reader_fails(&x, want, hostile_cases[_i]);
    hostile_done(&x);
}
END_TEST

/* The writer's counters for records damaged while no writer holds the
 * ring: a take-over writer carries on, numbering from what it can trust. */
static const char *const takeover_cases[] = {
    "last garbage", "last misaligned", "tail garbage", "tail_seq garbage",
    "last garbage, records counter going backwards",
};
#define N_TAKEOVER_CASES ((int)(sizeof takeover_cases / sizeof takeover_cases[0]))

START_TEST(test_rec_hostile_takeover)
{
    struct hostile x;
    scb_t *rl, *w2;
    uint64_t k, first = 0;
    uint8_t *b = xmalloc(HR_MAX);
    size_t len;
    int rc;

    hostile_setup(&x, 0);
    ck_assert_int_eq(scb_close(x.w), SCB_OK);
    x.w = NULL;
    switch (_i) {
    case 0: scb_store_relaxed(&x.h->last, UINT64_C(0x123456789abcdef0)); break;
    case 1: scb_store_relaxed(&x.h->last, x.p - 53); break;
    case 2: scb_store_relaxed(&x.h->tail, x.p + 12345); break;
    case 3: scb_store_relaxed(&x.h->tail_seq, UINT64_MAX - 5); break;
    default:
        scb_store_relaxed(&x.h->last, x.p + 4);
        scb_store_relaxed(&x.h->records, x.origin + 2);
        break;
    }
    rl = mk_open(g_name, SCB_LATEST);
    w2 = mk_open(g_name, SCB_WRITER);
    for (k = x.n1 + 5; k < x.n1 + 10; k++)
        push_k(w2, k, 40);
    /* The LATEST reader opened on the damage reads what came after. */
    ck_assert_uint_eq(drain_named(rl, 40, 40, &first), 5);
    ck_assert_uint_eq(first, x.n1 + 5);
    if (_i < N_TAKEOVER_CASES - 1) {
        /* The old reader carries on, losing nothing. */
        ck_assert_uint_eq(drain_named(x.r, 40, 40, &first), 10);
        ck_assert_uint_eq(first, x.n1);
        ck_assert_uint_eq(scb_lost(x.r), 0);
    } else {
        /* The new writer had to trust the counter, which went backwards:
         * the old reader finds its records, then a sequence going back. */
        for (k = x.n1; k < x.n1 + 5; k++)
            pop_k(x.r, HR_MAX, k, 40);
        rc = scb_pop_record(x.r, b, HR_MAX, &len);
        ck_assert_msg(rc == SCB_EBADFORMAT || rc == SCB_OK,
                      "after the take-over: scb_pop_record = %d (%s)", rc,
                      scb_strerror(rc));
    }
    free(b);
    ck_assert_int_eq(scb_close(rl), SCB_OK);
    ck_assert_int_eq(scb_close(w2), SCB_OK);
    hostile_done(&x);
}
END_TEST

/* A head that is no record boundary (not a multiple of 8 from origin),
 * left by the other side: a reader that starts there (_i 0: at the oldest
 * kept, with the tail at the same place; 1: SCB_LATEST), or a take-over
 * writer that would go on from there (_i 2), must not read or write record
 * headers at misaligned places.  (Under UndefinedBehaviorSanitizer a
 * misaligned header access aborts; on hardware that faults on misaligned
 * atomics it would crash.)  The reader reports SCB_EBADFORMAT or finds
 * nothing; the writer carries on at a record boundary. */
START_TEST(test_rec_hostile_misaligned)
{
    struct hostile x;
    scb_t *h = NULL, *rl;
    uint8_t *b = xmalloc(HR_MAX);
    const void *cp;
    void *p = NULL;
    uint64_t bad, k, n, first = 0;
    size_t len;
    int rc, i;

    hostile_setup(&x, 0);
    bad = x.p + 5 * 56 + 4;
    if (_i < 2) {
        set_head_claim(&x, bad);
        scb_store_relaxed(&x.h->tail, bad);
        h = mk_open(g_name, _i == 1 ? SCB_LATEST : 0);
        /* The live writer goes on from its own (aligned) position. */
        for (k = 100; k < 105; k++)
            push_k(x.w, k, 40);
        for (i = 0; i < 3; i++) {
            rc = scb_pop_record(h, b, HR_MAX, &len);
            ck_assert_msg(rc == SCB_EBADFORMAT || rc == SCB_EAGAIN,
                          "a reader started at a misaligned head: scb_pop_record = %d (%s)",
                          rc, scb_strerror(rc));
            ck_assert_int_ne(scb_peek(h, &cp, &len), SCB_OK);
        }
        ck_assert_int_eq(scb_close(h), SCB_OK);
    } else {
        ck_assert_int_eq(scb_close(x.w), SCB_OK);
        set_head_claim(&x, bad);
        x.w = mk_open(g_name, SCB_WRITER);
        rl = mk_open(g_name, SCB_LATEST);
        /* scb_reserve promises an 8-byte aligned pointer. */
        ck_assert_int_eq(scb_reserve(x.w, 8, &p), SCB_OK);
        ck_assert_msg((uintptr_t)p % 8 == 0,
                      "a take-over writer at a misaligned head: scb_reserve gave %p", p);
        ck_assert_int_eq(scb_discard(x.w), SCB_OK);
        for (k = 100; k < 140; k++)
            push_k(x.w, k, rec_len(k, 8, HR_MAX));
        ck_assert_uint_eq((scb_load_relaxed(&x.h->head) - x.origin) % 8, 0);
        /* 40 records of up to HR_MAX bytes lap the space: the reader
         * gets the newest of them, and counts the others lost. */
        n = drain_named(rl, 8, HR_MAX, &first);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(n + scb_lost(rl), 40);
        ck_assert_uint_eq(first, 100 + scb_lost(rl));
        ck_assert_int_eq(scb_close(rl), SCB_OK);
    }
    free(b);
    hostile_done(&x);
}
END_TEST

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random bytes over the record space (and, _i odd, the writer's counters),
 * again and again while a writer and readers go on: every call returns a
 * documented code and stays inside its buffers. */
static void garble(struct hostile *x, uint64_t *s, int counters)
{
    uint64_t head = scb_load_relaxed(&x->h->head), v;
    size_t i;

    for (i = 0; i < HR_LEN; i++)
        if ((v = xorshift(s)) % 3 == 0)
            x->items[i] = (uint8_t)(v >> 8);
    if (!counters)
        return;
    v = xorshift(s);
    scb_store_relaxed(&x->h->tail, v % 2 ? v : head - v % HR_LEN);
    scb_store_relaxed(&x->h->last, xorshift(s) % 2 ? xorshift(s) : head - 56);
    scb_store_relaxed(&x->h->tail_seq, xorshift(s));
    scb_store_relaxed(&x->h->records, xorshift(s));
    v = xorshift(s);
    scb_store_relaxed(&x->h->head, head + v % 512 - 256);
    scb_store_relaxed(&x->h->claim, v % 5 == 0 ? xorshift(s) : head + v % 64);
}

static void hammer_reader(scb_t *r)
{
    uint8_t *b = xmalloc(HR_MAX), *c;
    const void *cp;
    size_t len;
    int rc;

    rc = scb_pop_record(r, b, HR_MAX, &len);
    ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN || rc == SCB_EBADFORMAT,
                  "scb_pop_record = %d (%s)", rc, scb_strerror(rc));
    ck_assert_uint_le(len, HR_MAX);
    /* A buffer of capacity 0 (not NULL: see test_rec_pop_null_empty). */
    rc = scb_pop_record(r, b, 0, &len);
    ck_assert_msg(rc == SCB_OK || rc == SCB_EMSGSIZE || rc == SCB_EAGAIN ||
                      rc == SCB_EBADFORMAT,
                  "scb_pop_record(cap 0) = %d (%s)", rc, scb_strerror(rc));
    ck_assert_uint_le(len, HR_MAX);
    if (rc == SCB_OK)
        ck_assert_uint_eq(len, 0);
    rc = scb_peek(r, &cp, &len);
    ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN || rc == SCB_EBADFORMAT,
                  "scb_peek = %d (%s)", rc, scb_strerror(rc));
    if (rc == SCB_OK) {
        ck_assert_uint_le(len, HR_MAX);
        c = xmalloc(len);
        memcpy(c, cp, len); /* faults if the pointer left the mapping */
        free(c);
        rc = scb_release(r);
        ck_assert_msg(rc == SCB_OK || rc == SCB_EOVERRUN, "scb_release = %d", rc);
    }
    rc = scb_wait(r, 0);
    ck_assert(rc == SCB_OK || rc == SCB_ETIMEDOUT);
    ck_assert_uint_le(scb_usage(r), HR_LEN);
    (void)scb_lost(r);
    free(b);
}

START_TEST(test_rec_hostile_garbage)
{
    struct hostile x;
    uint64_t s = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(_i + 1), k;
    scb_t *ro, *rl;
    void *p;
    int round;

    hostile_setup(&x, 0);
    garble(&x, &s, _i % 2);
    ro = mk_open(g_name, 0);
    rl = mk_open(g_name, SCB_LATEST);
    for (round = 0; round < 400; round++) {
        if (round % 50 == 49)
            garble(&x, &s, _i % 2);
        hammer_reader(x.r);
        hammer_reader(ro);
        hammer_reader(rl);
        k = (uint64_t)round;
        push_k(x.w, k, rec_len(k, 0, HR_MAX));
        ck_assert_int_eq(scb_reserve(x.w, rec_len(k + 1, 0, HR_MAX), &p), SCB_OK);
        tu_fill(p, rec_len(k + 1, 0, HR_MAX), k);
        ck_assert_int_eq(scb_commit(x.w, rec_len(k, 0, HR_MAX) <
                                                 rec_len(k + 1, 0, HR_MAX)
                                             ? rec_len(k, 0, HR_MAX)
                                             : rec_len(k + 1, 0, HR_MAX)),
                         SCB_OK);
        ck_assert_int_eq(scb_wait(x.w, 0), SCB_OK);
        ck_assert_uint_le(scb_usage(x.w), HR_LEN);
    }
    /* A take-over writer over the garbage carries on too. */
    ck_assert_int_eq(scb_close(x.w), SCB_OK);
    garble(&x, &s, 1);
    x.w = mk_open(g_name, SCB_WRITER);
    for (round = 0; round < 100; round++) {
        push_k(x.w, (uint64_t)round, rec_len((uint64_t)round, 0, HR_MAX));
        hammer_reader(x.r);
        hammer_reader(ro);
    }
    ck_assert_int_eq(scb_close(ro), SCB_OK);
    ck_assert_int_eq(scb_close(rl), SCB_OK);
    hostile_done(&x);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_records(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "records_args", 30);
    tcase_add_loop_test(tc, test_rec_null_args, 0, 2);
    tcase_add_test(tc, test_rec_msgsize);
    tcase_add_test(tc, test_rec_pop_null_empty);
    tcase_add_test(tc, test_rec_on_fixed_ring);
    tcase_add_loop_test(tc, test_rec_fixed_calls_refused, 0, 2);
    tcase_add_loop_test(tc, test_rec_roles, 0, 2);
    tcase_add_loop_test(tc, test_rec_create, 0, 2 * N_CREATE_CASES);
    tcase_add_loop_test(tc, test_rec_create_min_length, 0, 2 * N_MIN_LEN);
    tcase_add_loop_test(tc, test_rec_create_default_length, 0,
                        2 * N_DEFAULT_SIZES);
    tcase_add_loop_test(tc, test_rec_create_flags, 0, 2);
    tcase_add_loop_test(tc, test_rec_info, 0, 2);
    tcase_add_test(tc, test_rec_open_geometry);

    tc = new_tcase(s, "records_zero_copy", 30);
    tcase_add_loop_test(tc, test_zc_reserve_commit, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_commit_longer, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_discard, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_discard_full, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_one_reservation, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_lossless_full, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_overrun, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_lossless_peek_holds, 0, N_ZC_KINDS);

    tc = new_tcase(s, "records_mixed", 120);
    tcase_add_loop_test(tc, test_rec_mixed, 0, 2 * N_MIX_GEOMS);
    tcase_add_loop_test(tc, test_rec_capacity, 0, 2 * N_CAP_N * 3);
    tcase_add_loop_test(tc, test_rec_lapped, 0, 4 * N_LAP_GEOMS);
    tcase_add_loop_test(tc, test_rec_latest, 0, 2);
    tcase_add_test(tc, test_rec_observe);

    tc = new_tcase(s, "records_wait", 30);
    tcase_add_loop_test(tc, test_wait_reader, 0, 2);
    tcase_add_loop_test(tc, test_wait_lossless_writer, 0, 2);
#ifndef _WIN32
    tcase_add_loop_test(tc, test_wait_thread, 0, 12);
#endif

    tc = new_tcase(s, "records_hostile", 60);
    tcase_add_loop_test(tc, test_rec_hostile_header, 0, N_HOSTILE_CASES);
    tcase_add_loop_test(tc, test_rec_hostile_takeover, 0, N_TAKEOVER_CASES);
    tcase_add_loop_test(tc, test_rec_hostile_misaligned, 0, 3);
    tcase_add_loop_test(tc, test_rec_hostile_garbage, 0, 12);
}
