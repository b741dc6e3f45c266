/*
 * check_ring_records.c - the ring suite's "records" tcase: record rings
 * (SCB_RECORDS) and zero-copy on both kinds of ring, on plain memory, one
 * thread, no backend; and the record helpers that check_ring_records_mt.c
 * shares (declared in check_ring.h).
 *
 * Record k (counted from 0 by the writer) has the length rec_len(k) and the
 * bytes rec_fill(k): a reader that knows which record it expects checks
 * every byte and the length.  It knows because the loss count is exact:
 * after each record returned, the next one must be k + 1 + (what scb_lost
 * grew by), so a record skipped without being counted, counted without
 * being skipped, torn, doubled or out of order all fail.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_ring.h"

/* ---- records made and checked ----------------------------------------- */

uint32_t rec_len(uint64_t k, uint32_t max)
{
    uint64_t x = (k + 1) * UINT64_C(0x9e3779b97f4a7c15);

    x ^= x >> 29;
    /* Now and then the extremes. */
    if (k % 17 == 3)
        return 0;
    if (k % 19 == 5)
        return max;
    return (uint32_t)(x % ((uint64_t)max + 1));
}

void rec_fill(uint8_t *b, uint64_t k, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        b[i] = (uint8_t)(k * 131u + i * 7u + (k >> 8));
}

int rec_ok(const uint8_t *b, uint64_t k, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (b[i] != (uint8_t)(k * 131u + i * 7u + (k >> 8)))
            return 0;
    return 1;
}

/* Pushes like io.c's scb_push_record: SCB_OK or SCB_EAGAIN (lossless). */
static int mpush(struct mem_ring *m, scb_wcursor_t *w, const void *d,
                 uint32_t len)
{
    uint64_t need;

    scb_ring_op_begin(&m->ring, w);
    need = scb_rec_need(&m->ring, w, len);
    if (scb_ring_room(&m->ring, w, need) < need) {
        scb_ring_op_end(&m->ring, w);
        return SCB_EAGAIN;
    }
    scb_rec_push(&m->ring, w, d, len);
    scb_ring_op_end(&m->ring, w);
    return SCB_OK;
}

/* Pushes record k. */
int mpush_k(struct mem_ring *m, scb_wcursor_t *w, uint64_t k)
{
    uint8_t buf[4096];
    uint32_t n = rec_len(k, m->g.item_size);

    ck_assert_uint_le(n, sizeof buf);
    rec_fill(buf, k, n);
    return mpush(m, w, buf, n);
}

/* A reader that checks every record against the one it expects. */
struct checker {
    uint64_t next;     /* the record expected next, once known */
    uint64_t lost;     /* c->lost when it last looked */
    uint64_t got;
    int started;
};

/* Checks the record just returned (buf, len); the reader's cursor c. */
static void check_rec(struct checker *ck, const scb_rcursor_t *c,
                      const uint8_t *buf, size_t len, uint32_t max)
{
    uint64_t k;

    if (!ck->started) {
        /* The first: the test knows where the reader starts. */
        ck->started = 1;
    }
    k = ck->next + (c->lost - ck->lost);
    ck_assert_msg(len == rec_len(k, max) && rec_ok(buf, k, (uint32_t)len),
                  "record %" PRIu64 " (lost %" PRIu64 "): length %zu, "
                  "expected %u, or bytes differ",
                  k, c->lost, len, rec_len(k, max));
    ck->next = k + 1;
    ck->lost = c->lost;
    ck->got++;
}

/* Pops everything there is into the checker; returns how many. */
static uint64_t drain(struct mem_ring *m, scb_rcursor_t *c,
                      struct checker *ck)
{
    uint8_t buf[4096];
    size_t len;
    uint64_t n = 0;
    int rc;

    while ((rc = scb_rec_pop(&m->ring, c, buf, sizeof buf, &len)) == SCB_OK) {
        check_rec(ck, c, buf, len, m->g.item_size);
        n++;
    }
    ck_assert_int_eq(rc, SCB_EAGAIN);
    return n;
}

void writer_start(struct mem_ring *m, scb_wcursor_t *w)
{
    memset(w, 0, sizeof *w);
    scb_ring_writer_start(&m->ring, w);
}

void make_records(struct mem_ring *m, uint32_t max, uint64_t length,
                         uint64_t origin, uint32_t flags)
{
    mem_ring_make_flags(m, max, length, origin, SCB_RECORDS | flags,
                        (flags & SCB_LOSSLESS) ? 4 : 0);
}

/* ---- layout ------------------------------------------------------------ */

START_TEST(test_rec_plan)
{
    scb_geom_t g;

    memset(&g, 0, sizeof g);
    g.flags = SCB_RECORDS;
    g.item_size = 100;
    g.length = 2 * (100 + 16);
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_OK);
    ck_assert_uint_eq(g.total_size - g.items_off, g.length); /* bytes */
    g.length -= 8;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL); /* too short */
    g.item_size = 97; /* 2 * (97 + 16) = 226: 232 is the least */
    g.length = 224;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.length = 232;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_OK);
    g.item_size = 100;
    g.length = 2 * SCB_REC_SPAN(100) + 4;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL); /* not by 8 */
    g.length = 1 << 20;
    g.origin = 4;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    /* A large record, a small space: length in bytes, not items. */
    g.origin = 0;
    g.item_size = 1u << 20;
    g.length = 2 * SCB_REC_SPAN(1u << 20);
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_OK);
}
END_TEST

START_TEST(test_rec_check_roundtrip)
{
    struct mem_ring m;
    scb_geom_t g;
    struct scb_hdr *h;

    make_records(&m, 1000, 8192, 64, 0);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g), SCB_OK);
    ck_assert_uint_eq(g.flags & SCB_RECORDS, SCB_RECORDS);
    ck_assert_uint_eq(g.length, 8192);
    /* Corrupt geometry: each is refused. */
    h = hdr_of(&m);
    h->length = 8196;
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    h->length = 2000; /* < 2 * (1000 + 16) */
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    h->length = m.g.total_size; /* past the segment */
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    h->length = 8192;
    h->origin = 65;
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    mem_ring_free(&m);
}
END_TEST

/* ---- one thread: integrity, wrap, loss -------------------------------- */

/* Geometries: (max record, length, origin). */
static const struct {
    uint32_t max;
    uint64_t length;
    uint64_t origin;
} geoms[] = {
    {1, 64, 0},
    {8, 48, 0},
    {100, 2 * (100 + 16) + 8, 0},
    {1000, 4096, 0},
    {1000, 4096, UINT64_MAX - 4095}, /* positions wrap past 2^64 */
    {4096, 1 << 16, UINT64_MAX - 7},
    {13, 4000, 8},
    {97, 232, 0},   /* the least space: a largest record after the most */
    {101, 240, 0},  /* padding fills it exactly */
    {3, 40, 16},
};
#define N_GEOMS (int)(sizeof geoms / sizeof geoms[0])

START_TEST(test_rec_roundtrip)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct checker ck = {0, 0, 0, 0};
    uint64_t k, total = 20000;

    make_records(&m, geoms[_i].max, geoms[_i].length, geoms[_i].origin, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    ck_assert_int_eq(c.seq_known, 1);
    for (k = 0; k < total; k++) {
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
        ck_assert_uint_eq(drain(&m, &c, &ck), 1);
    }
    ck_assert_uint_eq(ck.got, total);
    ck_assert_uint_eq(c.lost, 0);
    ck_assert_uint_eq(scb_ring_pushed(&m.ring), total);
    mem_ring_free(&m);
}
END_TEST

/* A reader lapped by every amount, including many laps at once: returned +
 * lost == pushed, exactly, with every record checked. */
START_TEST(test_rec_lapped_exact)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct checker ck = {0, 0, 0, 0};
    uint64_t k = 0, round, burst;

    make_records(&m, geoms[_i].max, geoms[_i].length, geoms[_i].origin, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (round = 0; round < 300; round++) {
        burst = (round * 37) % 200 + (round % 10 == 0 ? 5000 : 0);
        while (burst-- > 0) {
            ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
            k++;
        }
        (void)drain(&m, &c, &ck);
        ck_assert_uint_eq(ck.got + c.lost, k);
    }
    ck_assert_uint_gt(c.lost, 0);
    ck_assert_uint_gt(ck.got, 0);
    mem_ring_free(&m);
}
END_TEST

/* Peek/release readers: an overrun release is SCB_EOVERRUN and counted;
 * returned + lost stays exact. */
START_TEST(test_rec_peek_overrun)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct checker ck = {0, 0, 0, 0};
    uint64_t k = 0, i, overruns = 0;
    int rc;

    make_records(&m, 1000, 4096, 0, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (i = 0; i < 2000; i++) {
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
        k++;
        rc = scb_rec_peek(&m.ring, &c);
        ck_assert_int_eq(rc, SCB_OK);
        /* Peeking again gives the same record (io.c keeps it); check it
         * now, before the writer may overwrite it. */
        {
            uint64_t exp = ck.next + (c.lost - ck.lost);
            int good = c.peek_len == rec_len(exp, 1000) &&
                       rec_ok(c.peek_ptr, exp, c.peek_len);
            /* Sometimes the writer laps the peeked record. */
            uint64_t j, n = (i % 7 == 0) ? 40 : 0;
            for (j = 0; j < n; j++) {
                ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
                k++;
            }
            rc = scb_rec_release(&m.ring, &c);
            if (n > 0) {
                ck_assert_int_eq(rc, SCB_EOVERRUN);
                overruns++;
                ck.next = exp + 1;
                ck.lost = c.lost; /* the overrun one counted */
            } else {
                ck_assert_int_eq(rc, SCB_OK);
                ck_assert(good);
                ck.next = exp + 1;
                ck.lost = c.lost;
                ck.got++;
            }
        }
        (void)drain(&m, &c, &ck);
        ck_assert_uint_eq(ck.got + c.lost, k);
    }
    ck_assert_uint_gt(overruns, 0);
    mem_ring_free(&m);
}
END_TEST

/* A reader that starts on a full ring: at the oldest record kept (seq known
 * from its header), or at the next one pushed; exact even when it is lapped
 * before its first read. */
START_TEST(test_rec_start)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c1, c2, c3;
    struct checker ck1 = {0, 0, 0, 0}, ck2, ck3;
    uint64_t k, first_kept;
    uint8_t buf[4096];
    size_t len;

    make_records(&m, 500, 4096, 0, 0);
    writer_start(&m, &w);
    for (k = 0; k < 1000; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    /* Oldest kept: its sequence number is its index. */
    scb_ring_reader_start(&m.ring, &c1, 0);
    ck_assert_int_eq(c1.seq_known, 1);
    first_kept = c1.seq;
    ck_assert_uint_lt(first_kept, 1000);
    ck_assert_uint_gt(first_kept, 900);
    ck1.next = first_kept;
    scb_ring_reader_start(&m.ring, &c2, 1);
    ck_assert_int_eq(c2.seq_known, 1);
    ck_assert_uint_eq(c2.seq, 1000);
    ck2 = (struct checker){1000, 0, 0, 0};
    ck_assert_int_eq(scb_rec_pop(&m.ring, &c2, buf, sizeof buf, &len),
                     SCB_EAGAIN);
    /* A third starts at the oldest and is lapped many times over before it
     * reads anything. */
    scb_ring_reader_start(&m.ring, &c3, 0);
    ck3 = (struct checker){c3.seq, 0, 0, 0};
    for (; k < 20000; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    (void)drain(&m, &c1, &ck1);
    (void)drain(&m, &c2, &ck2);
    (void)drain(&m, &c3, &ck3);
    ck_assert_uint_eq(ck1.got + c1.lost, 20000 - first_kept);
    ck_assert_uint_eq(ck2.got + c2.lost, 20000 - 1000);
    ck_assert_uint_eq(ck3.got + c3.lost, 20000 - first_kept);
    ck_assert_uint_eq(ck3.next, 20000);
    ck_assert_uint_gt(c3.lost, 0);
    mem_ring_free(&m);
}
END_TEST

/* ---- lossless: capacity (semantics 13) --------------------------------- */

void register_reader(struct mem_ring *m, scb_rcursor_t *c, uint32_t i)
{
    scb_store_relaxed(&m->ring.slots[i].owner, 1000 + i);
    if (scb_load32_relaxed(&m->ring.wait->slots_hi) < i + 1)
        scb_store32_relaxed(&m->ring.wait->slots_hi, i + 1);
    scb_ring_reader_register_begin(&m->ring, c, &m->ring.slots[i], 1000 + i,
                                   SCB_START_OLDEST);
    ck_assert_int_eq(
        scb_ring_reader_register_end(&m->ring, c, SCB_START_OLDEST), 0);
}

static const uint32_t cap_sizes[] = {0, 1, 7, 8, 9, 100, 250, 1000};
#define N_CAP (int)(sizeof cap_sizes / sizeof cap_sizes[0])

START_TEST(test_rec_capacity)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint32_t n = cap_sizes[_i % N_CAP], max = 1000;
    uint64_t length = (_i / N_CAP) ? 10000 : 2 * SCB_REC_SPAN(1000);
    uint64_t pushed = 0, bound, skew, got = 0;
    uint8_t buf[1000], out[1000];
    size_t len;

    length -= length % 8;
    make_records(&m, max, length, 0, SCB_LOSSLESS);
    writer_start(&m, &w);
    /* Move the positions around the space first, so the bound holds
     * wherever the writer stands. */
    register_reader(&m, &c, 0);
    for (skew = 0; skew < (uint64_t)_i * 3; skew++) {
        ck_assert_int_eq(mpush(&m, &w, buf, 40), SCB_OK);
        ck_assert_int_eq(scb_rec_pop(&m.ring, &c, out, sizeof out, &len),
                         SCB_OK);
    }
    bound = (length - 2 * SCB_REC_SPAN(max)) / SCB_REC_SPAN(n);
    memset(buf, 0x5a, sizeof buf);
    while (mpush(&m, &w, buf, n) == SCB_OK) {
        pushed++;
        ck_assert_uint_le(pushed, length / 16);
    }
    ck_assert_uint_ge(pushed, bound);
    while (scb_rec_pop(&m.ring, &c, out, sizeof out, &len) == SCB_OK) {
        ck_assert_uint_eq(len, n);
        ck_assert(n == 0 || memcmp(out, buf, n) == 0);
        got++;
    }
    ck_assert_uint_eq(got, pushed);
    ck_assert_uint_eq(c.lost, 0);
    /* Caught up: the largest record fits. */
    ck_assert_int_eq(mpush(&m, &w, buf, max), SCB_OK);
    mem_ring_free(&m);
}
END_TEST

/* The largest record fits after every drain, wherever the writer stands,
 * down to the least space the contract allows. */
static const struct {
    uint32_t max;
    uint64_t length;
} fits[] = {
    {600, 2 * (600 + 16) + 64}, {600, 2 * (600 + 16)}, {97, 232},
    {101, 240}, {3, 40}, {1, 40}, {9, 56},
};
#define N_FITS (int)(sizeof fits / sizeof fits[0])

START_TEST(test_rec_largest_fits)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct checker ck = {0, 0, 0, 0};
    uint64_t k = 0, i;
    uint8_t big[600], spare[600];
    uint32_t max = fits[_i].max;

    make_records(&m, max, fits[_i].length, 0, SCB_LOSSLESS);
    writer_start(&m, &w);
    register_reader(&m, &c, 0);
    memset(big, 1, sizeof big);
    for (i = 0; i < 3000; i++) {
        while (mpush_k(&m, &w, k) == SCB_OK)
            k++;
        (void)drain(&m, &c, &ck);
        ck_assert_int_eq(mpush(&m, &w, big, max), SCB_OK);
        ck_assert_int_eq(scb_rec_peek(&m.ring, &c), SCB_OK);
        ck_assert_uint_eq(c.peek_len, max);
        /* (Consumed outside the checker: the big one is no record k.) */
        ck_assert_int_eq(scb_rec_release(&m.ring, &c), SCB_OK);
        /* A few small ones move the writer around the space. */
        if (i % 3 == 0)
            ck_assert_int_eq(mpush(&m, &w, big, (uint32_t)(i % (max + 1))),
                             SCB_OK);
        if (i % 3 == 0)
            ck_assert_int_eq(scb_rec_pop(&m.ring, &c, spare, sizeof spare,
                                         &(size_t){0}),
                             SCB_OK);
    }
    ck_assert_uint_eq(c.lost, 0);
    mem_ring_free(&m);
}
END_TEST

/* A lossless reader's peeked record is never overwritten: the writer gets
 * no room over it. */
START_TEST(test_rec_lossless_peek_holds)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint8_t buf[100];
    uint64_t n = 0;

    make_records(&m, 100, 1024, 0, SCB_LOSSLESS);
    writer_start(&m, &w);
    register_reader(&m, &c, 0);
    memset(buf, 7, sizeof buf);
    ck_assert_int_eq(mpush(&m, &w, buf, 100), SCB_OK);
    ck_assert_int_eq(scb_rec_peek(&m.ring, &c), SCB_OK);
    while (mpush(&m, &w, buf, 50) == SCB_OK)
        n++;
    ck_assert_uint_gt(n, 5);
    ck_assert_int_eq(scb_rec_release(&m.ring, &c), SCB_OK);
    mem_ring_free(&m);
}
END_TEST

/* ---- crashes and take-over --------------------------------------------- */

/* A writer that dies inside a reservation publishes nothing of it; the
 * next writer starts clean, the numbering goes on, readers lose nothing
 * that was published. */
START_TEST(test_rec_takeover)
{
    struct mem_ring m;
    scb_wcursor_t w, w2;
    scb_rcursor_t c;
    struct checker ck = {0, 0, 0, 0};
    uint64_t k = 0, i;
    uint8_t *p;

    make_records(&m, 300, 2048, 0, 0);
    for (i = 0; i < 200; i++) {
        writer_start(&m, &w);
        if (i == 0)
            scb_ring_reader_start(&m.ring, &c, 0);
        while (k < i * 7 + 5) {
            ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
            k++;
        }
        (void)drain(&m, &c, &ck);
        /* Dies with a reservation open, its payload half written. */
        p = scb_rec_reserve(&m.ring, &w, 300);
        memset(p, 0xee, 150);
        /* Now and then it dies right after storing last, or after head
         * but before the counter: emulated with the stores it made. */
        if (i % 3 == 1)
            scb_store_relaxed(&hdr_of(&m)->last, w.res_start);
        if (i % 3 == 2)
            scb_store_relaxed(&hdr_of(&m)->records, w.seq + 7);
        writer_start(&m, &w2);
        ck_assert_int_eq(w2.res_open, 0);
        ck_assert_uint_eq(w2.seq, w.seq);
        w = w2;
        ck_assert_int_eq(drain(&m, &c, &ck), 0);
    }
    ck_assert_uint_eq(ck.got + c.lost, k);
    mem_ring_free(&m);
}
END_TEST

/* A claim far ahead of head (only another process writes one): a writer
 * taking over goes on past it, and readers old and new read what it
 * pushes (it used to leave every record looking overwritten). */
START_TEST(test_rec_takeover_corrupt_claim)
{
    static const uint64_t bumps[] = {UINT64_C(1) << 62, 4104, 2048 + 8, 5};
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c, c2;
    struct checker ck = {0, 0, 0, 0}, ck2;
    uint64_t k;
    struct scb_hdr *h;

    make_records(&m, 100, 2048, 0, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (k = 0; k < 10; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    (void)drain(&m, &c, &ck);
    h = hdr_of(&m);
    scb_store_relaxed(&h->claim, scb_load_relaxed(&h->head) + bumps[_i]);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c2, 0);
    ck2 = (struct checker){c2.seq, 0, 0, 0};
    for (; k < 20; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    ck_assert_uint_eq(drain(&m, &c, &ck) + c.lost, 10);
    ck_assert_uint_eq(ck.next, 20);
    /* A small bump leaves the old records kept: a new reader gets them. */
    ck_assert_uint_eq(drain(&m, &c2, &ck2), _i == 3 ? 20 : 10);
    mem_ring_free(&m);
}
END_TEST

/* ---- hostile headers ---------------------------------------------------- */

/* Each corruption of a published record header, or of the counters: the
 * reader's call returns SCB_EBADFORMAT (or SCB_EAGAIN for counters it
 * cannot tell from a writer's), never faults, never loops (AddressSanitizer
 * and the tcase timeout catch those). */
#define N_HOSTILE 9

START_TEST(test_rec_hostile)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct scb_hdr *h;
    struct scb_rec *rec;
    uint8_t buf[200];
    size_t len;
    uint64_t k, word;
    int rc, expect = SCB_EBADFORMAT;

    make_records(&m, 200, 2048, 0, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (k = 0; k < 5; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    ck_assert_int_eq(scb_rec_pop(&m.ring, &c, buf, sizeof buf, &len), SCB_OK);
    h = hdr_of(&m);
    rec = (struct scb_rec *)(void *)(m.ring.items + c.idx);
    word = scb_load_relaxed(&rec->word);
    switch (_i) {
    case 0: /* a length beyond item_size */
        scb_store_relaxed(&rec->word, (word & ~UINT64_C(0xffffffff)) | 201);
        break;
    case 1: /* a header that does not belong at its position */
        scb_store_relaxed(&rec->word, word ^ (UINT64_C(1) << 40));
        break;
    case 2: /* a sequence number going backwards */
        scb_store_relaxed(&rec->seq, 0);
        break;
    case 3: /* a record running past the end of what was published */
        scb_store_relaxed(&h->head, c.pos + 8);
        c.head = c.pos; /* (a cached head is one the writer stored) */
        break;
    case 4: /* a tail ahead of head, for a reader lapped */
        scb_store_relaxed(&h->head, c.pos + 2048 + 8 + 2048);
        scb_store_relaxed(&h->claim, c.pos + 2048 + 8 + 2048);
        scb_store_relaxed(&h->tail, c.pos + 1000000);
        break;
    case 5: /* a misaligned tail */
        scb_store_relaxed(&h->head, c.pos + 4096);
        scb_store_relaxed(&h->claim, c.pos + 4096);
        scb_store_relaxed(&h->tail, c.pos + 3);
        break;
    case 6: /* padding after padding */
        scb_store_relaxed(&rec->word, (word & ~UINT64_C(0xffffffff)) |
                                          SCB_REC_PAD);
        {
            struct scb_rec *first = (struct scb_rec *)(void *)m.ring.items;
            uint64_t w0 = (uint64_t)SCB_REC_PAD |
                          (uint64_t)scb_rec_check(c.pos + 2048 - c.idx) << 32;
            scb_store_relaxed(&first->word, w0);
            scb_store_relaxed(&h->head, c.pos + 2048 - c.idx + 16);
            scb_store_relaxed(&h->claim, c.pos + 2048 - c.idx + 16);
        }
        break;
    case 7: /* head far behind: nothing to read, not a fault */
        scb_store_relaxed(&h->head, c.pos - 1000);
        c.head = c.pos;
        expect = SCB_EAGAIN;
        break;
    case 8: /* claim far ahead: every record looks overwritten */
        scb_store_relaxed(&h->claim, c.pos + (UINT64_C(1) << 40));
        expect = SCB_EAGAIN;
        break;
    }
    rc = scb_rec_pop(&m.ring, &c, buf, sizeof buf, &len);
    ck_assert_int_eq(rc, expect);
    rc = scb_rec_peek(&m.ring, &c);
    ck_assert_int_eq(rc, expect);
    /* The writer goes on over a corrupt ring without faulting either. */
    for (k = 0; k < 100; k++)
        (void)mpush_k(&m, &w, k);
    mem_ring_free(&m);
}
END_TEST

/* A head off the multiples of 8 (only another process writes one): new
 * readers and a new writer never access a header there (UndefinedBehavior-
 * Sanitizer checks the alignment of every access in CI). */
START_TEST(test_rec_misaligned_head)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct scb_hdr *h;
    uint8_t buf[100];
    size_t len;
    uint64_t k;
    int rc;

    make_records(&m, 100, 1024, 0, 0);
    writer_start(&m, &w);
    for (k = 0; k < 30; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    h = hdr_of(&m);
    scb_store_relaxed(&h->head, scb_load_relaxed(&h->head) + 3 + 8 * (_i % 3));
    scb_store_relaxed(&h->tail, scb_load_relaxed(&h->tail) + (_i % 2) * 5);
    scb_ring_reader_start(&m.ring, &c, _i % 2);
    ck_assert_uint_eq((c.pos - m.g.origin) % 8, 0);
    rc = scb_rec_pop(&m.ring, &c, buf, sizeof buf, &len);
    ck_assert(rc == SCB_EBADFORMAT || rc == SCB_EAGAIN || rc == SCB_OK);
    writer_start(&m, &w);
    ck_assert_uint_eq((w.pos - m.g.origin) % 8, 0);
    for (k = 0; k < 100; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    mem_ring_free(&m);
}
END_TEST

/* Random bytes over the record space and the writer's counters: calls end
 * with some code, never fault, never loop. */
START_TEST(test_rec_garbage)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    struct scb_hdr *h;
    uint8_t buf[64];
    size_t len, i;
    uint64_t x = (uint64_t)_i * 7919 + 1, k;

    make_records(&m, 64, 1024, 0, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (k = 0; k < 40; k++)
        ck_assert_int_eq(mpush_k(&m, &w, k), SCB_OK);
    h = hdr_of(&m);
    for (i = 0; i < 1024; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x % 3 == 0)
            m.ring.items[i] = (uint8_t)x;
    }
    if (_i % 2) {
        scb_store_relaxed(&h->tail, x);
        scb_store_relaxed(&h->last, x >> 3);
        scb_store_relaxed(&h->head, scb_load_relaxed(&h->head) + (x % 64));
    }
    for (k = 0; k < 50; k++) {
        (void)scb_rec_pop(&m.ring, &c, buf, sizeof buf, &len);
        ck_assert_uint_le(len, 64);
        if (scb_rec_peek(&m.ring, &c) == SCB_OK) {
            ck_assert_uint_le(c.peek_len, 64);
            ck_assert(c.peek_ptr >= m.ring.items &&
                      c.peek_ptr + c.peek_len <= m.ring.items + 1024);
            (void)scb_rec_release(&m.ring, &c);
        }
    }
    /* A new writer and reader over it. */
    writer_start(&m, &w);
    for (k = 0; k < 100; k++)
        (void)mpush_k(&m, &w, k);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (k = 0; k < 50; k++)
        (void)scb_rec_pop(&m.ring, &c, buf, sizeof buf, &len);
    mem_ring_free(&m);
}
END_TEST

/* ---- zero-copy on fixed-size rings ------------------------------------- */

START_TEST(test_fixed_zero_copy)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint8_t *p;
    uint64_t seq, i;

    mem_ring_make(&m, 16, 8, 0);
    writer_start(&m, &w);
    scb_ring_reader_start(&m.ring, &c, 0);
    for (i = 0; i < 100; i++) {
        p = scb_ring_reserve(&m.ring, &w);
        tu_fill(p, 16, i);
        if (i % 5 == 4) {
            w.res_open = 0; /* discarded: the next reserve reuses it */
            continue;
        }
        scb_ring_commit(&m.ring, &w);
        ck_assert_int_eq(scb_ring_peek(&m.ring, &c), SCB_OK);
        ck_assert(tu_check(c.peek_ptr, 16, &seq));
        ck_assert_uint_eq(seq, i);
        ck_assert_int_eq(scb_ring_release(&m.ring, &c), SCB_OK);
    }
    /* Overrun while peeked. */
    p = scb_ring_reserve(&m.ring, &w);
    scb_ring_commit(&m.ring, &w);
    ck_assert_int_eq(scb_ring_peek(&m.ring, &c), SCB_OK);
    for (i = 0; i < 8; i++) {
        (void)scb_ring_reserve(&m.ring, &w);
        scb_ring_commit(&m.ring, &w);
    }
    ck_assert_int_eq(scb_ring_release(&m.ring, &c), SCB_EOVERRUN);
    ck_assert_uint_eq(c.lost, 1);
    mem_ring_free(&m);
}
END_TEST

void ring_add_records(Suite *s)
{
    TCase *tc;

    tc = tcase_create("records");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rec_plan);
    tcase_add_test(tc, test_rec_check_roundtrip);
    tcase_add_loop_test(tc, test_rec_roundtrip, 0, N_GEOMS);
    tcase_add_loop_test(tc, test_rec_lapped_exact, 0, N_GEOMS);
    tcase_add_test(tc, test_rec_peek_overrun);
    tcase_add_test(tc, test_rec_start);
    tcase_add_loop_test(tc, test_rec_capacity, 0, 2 * N_CAP);
    tcase_add_loop_test(tc, test_rec_largest_fits, 0, N_FITS);
    tcase_add_test(tc, test_rec_lossless_peek_holds);
    tcase_add_test(tc, test_rec_takeover);
    tcase_add_loop_test(tc, test_rec_takeover_corrupt_claim, 0, 4);
    tcase_add_loop_test(tc, test_rec_hostile, 0, N_HOSTILE);
    tcase_add_loop_test(tc, test_rec_garbage, 0, 32);
    tcase_add_loop_test(tc, test_rec_misaligned_head, 0, 6);
    tcase_add_test(tc, test_fixed_zero_copy);
    suite_add_tcase(s, tc);
}
