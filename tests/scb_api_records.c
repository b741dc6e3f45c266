/*
 * scb_api_records.c - tcase "records_args" of the API suite of
 * tests/check_scb (version 0.2, record rings, SCB_RECORDS): the argument
 * and kind rules of the record calls (each failing call changes nothing):
 * NULLs, records too large, the length probe and empty records, the record
 * calls on a fixed-size ring and the fixed-size calls on a record ring,
 * roles, creating record rings (lengths, the default length, flags),
 * scb_info and the geometry scb_open takes from the ring.
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
}
