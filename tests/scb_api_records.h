/*
 * scb_api_records.h - what the record tcases of the API suite of
 * tests/check_scb share (scb_api_records.c, scb_api_zerocopy.c,
 * scb_api_records_mixed.c, scb_api_wait.c, scb_api_records_hostile.c):
 * records made and checked through the public API on the suite's backend.
 *
 * Record k (counted from 0 by a test's writer) holds tu_fill(k) bytes: the
 * first min(8, length) bytes hold k, every later byte depends on k and its
 * offset, so a record of 8 bytes or more names itself and a reader that
 * knows which record it expects checks every byte and the length.
 *
 * The helpers are static inline: each file of the suite gets its own copy
 * of those it uses.
 */
#ifndef SCB_API_RECORDS_H
#define SCB_API_RECORDS_H

#include "scb_api.h"

/* ------------------------------------------------------------------------ */
/* Records made and checked.                                                */

/* The length of record k: min..max, the extremes now and then. */
static inline uint32_t rec_len(uint64_t k, uint32_t min, uint32_t max)
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
static inline uint8_t *xmalloc(size_t n)
{
    uint8_t *p = malloc(n != 0 ? n : 1);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* 1 if the n bytes at p are record k of n bytes. */
static inline int rec_is(const void *p, size_t n, uint64_t k)
{
    uint8_t *e = xmalloc(n);
    int same;

    tu_fill(e, n, k);
    same = n == 0 || memcmp(p, e, n) == 0;
    free(e);
    return same;
}

/* Pushes record k of len bytes with scb_push_record. */
static inline void push_k(scb_t *w, uint64_t k, uint32_t len)
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
static inline void pop_k(scb_t *r, size_t cap, uint64_t k, uint32_t len)
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
static inline void pop_none(scb_t *r, size_t cap)
{
    uint8_t *b = xmalloc(cap);
    size_t got = 12345;
    int rc = scb_pop_record(r, b, cap, &got);

    free(b);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop_record on a drained ring = %d (%s)",
                  rc, scb_strerror(rc));
    ck_assert_uint_eq(got, 0);
}

static inline uint64_t pushed_of(const scb_t *h)
{
    return info_of(h).pushed;
}

/* Pops until SCB_EAGAIN records that name themselves (lengths
 * rec_len(k, lo, max) with lo >= 8): each must be intact and follow the one
 * before it.  Returns how many, the first one's index in *first (untouched
 * if none). */
static inline uint64_t drain_named(scb_t *r, uint32_t lo, uint32_t max,
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
static inline scb_t *mk_ring(int records, uint32_t max, uint64_t length,
                             uint32_t flags)
{
    return mk_writer(g_name, max, length, flags | (records ? SCB_RECORDS : 0));
}

#endif /* SCB_API_RECORDS_H */
