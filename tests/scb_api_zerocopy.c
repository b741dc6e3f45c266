/*
 * scb_api_zerocopy.c - tcase "records_zero_copy" of the API suite of
 * tests/check_scb: every rule of zero-copy on both kinds of ring, record
 * rings and fixed-size ones (scb_reserve, scb_commit, scb_discard,
 * scb_peek, scb_release): a commit longer than the reservation, discards
 * (also on a full ring), one reservation at a time, a full lossless ring, a
 * peeked record lapped by the writer (SCB_EOVERRUN), and a peek that holds
 * a lossless writer back.
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
/* The tcases of this file.                                                 */

void tu_api_add_zerocopy(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "records_zero_copy", 30);
    tcase_add_loop_test(tc, test_zc_reserve_commit, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_commit_longer, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_discard, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_discard_full, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_one_reservation, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_lossless_full, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_overrun, 0, N_ZC_KINDS);
    tcase_add_loop_test(tc, test_zc_lossless_peek_holds, 0, N_ZC_KINDS);
}
