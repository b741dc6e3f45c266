/*
 * scb_api_records_hostile.c - tcase "records_hostile" of the API suite of
 * tests/check_scb: record headers and the writer's record counters
 * rewritten in the segment by the other side, through the internal backend
 * API, as scb_api_hostile.c does for fixed-size rings.
 *
 * Nothing here forks, so it all runs on Windows too (CK_NOFORK).  Records
 * are made and checked by the helpers of scb_api_records.h.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api_records.h"

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

void tu_api_add_records_hostile(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "records_hostile", 60);
    tcase_add_loop_test(tc, test_rec_hostile_header, 0, N_HOSTILE_CASES);
    tcase_add_loop_test(tc, test_rec_hostile_takeover, 0, N_TAKEOVER_CASES);
    tcase_add_loop_test(tc, test_rec_hostile_misaligned, 0, 3);
    tcase_add_loop_test(tc, test_rec_hostile_garbage, 0, 12);
}
