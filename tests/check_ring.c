/*
 * check_ring.c - the "ring" suite: the ring algorithm and the segment format
 * on plain memory, no backend, no OS shared memory.  The lossless tcase
 * (reader slots, registration, eviction, the wake handshakes) is in
 * check_ring_lossless.c; the rings in memory they share are here.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <malloc.h> /* _aligned_malloc: Windows has no posix_memalign */
#endif

#include <check.h>

#include "check_ring.h"

void mem_ring_make_flags(struct mem_ring *m, uint32_t item_size,
                                uint64_t length, uint64_t origin,
                                uint32_t flags, uint32_t max_readers)
{
    memset(&m->g, 0, sizeof m->g);
    m->g.item_size = item_size;
    m->g.length = length;
    m->g.flags = flags;
    m->g.max_readers = max_readers;
    m->g.mode = 0600;
    m->g.origin = origin;
    strcpy(m->g.name, "ring-test");
    ck_assert_int_eq(scb_layout_plan(&m->g, PAGE), SCB_OK);
#ifdef _WIN32
    m->base = _aligned_malloc(m->g.total_size, PAGE);
    ck_assert_ptr_nonnull(m->base);
#else
    ck_assert_int_eq(posix_memalign(&m->base, PAGE, m->g.total_size), 0);
#endif
    memset(m->base, 0, m->g.total_size);
    scb_layout_init(m->base, &m->g, 42);
    scb_ring_attach(&m->ring, m->base, &m->g);
}

void mem_ring_make(struct mem_ring *m, uint32_t item_size,
                          uint64_t length, uint64_t origin)
{
    mem_ring_make_flags(m, item_size, length, origin, 0, 0);
}

void mem_ring_free(struct mem_ring *m)
{
#ifdef _WIN32
    _aligned_free(m->base);
#else
    free(m->base);
#endif
    m->base = NULL;
}

struct scb_hdr *hdr_of(struct mem_ring *m)
{
    return m->base;
}

/* scb_layout_is_ring_of over the whole of m. */
static int is_ring_of(const struct mem_ring *m, const char *name)
{
    return scb_layout_is_ring_of(m->base, m->g.total_size, name);
}

/* ---- layout ----------------------------------------------------------- */

START_TEST(test_plan_bounds)
{
    scb_geom_t g;

    memset(&g, 0, sizeof g);
    g.item_size = 0;
    g.length = 2;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.item_size = 1;
    g.length = 0;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.length = SCB_LENGTH_MAX + 1;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.length = SCB_LENGTH_MAX;
    g.item_size = SCB_ITEM_SIZE_MAX;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.item_size = SCB_ITEM_SIZE_MAX + 1;
    g.length = 1;
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_EINVAL);
    g.item_size = 8;
    g.length = 10;
    ck_assert_int_eq(scb_layout_plan(&g, 1000), SCB_EINVAL); /* not 2^k */
    ck_assert_int_eq(scb_layout_plan(&g, PAGE), SCB_OK);
    ck_assert_uint_eq(g.shared_off % PAGE, 0);
    ck_assert_uint_eq(g.items_off % PAGE, 0);
    ck_assert_uint_ge(g.shared_off, sizeof(struct scb_hdr));
    ck_assert_uint_ge(g.items_off, g.shared_off + g.shared_size);
    ck_assert_uint_eq(g.total_size, g.items_off + 80);
    ck_assert_uint_eq(g.max_readers, 0);
}
END_TEST

START_TEST(test_check_roundtrip)
{
    struct mem_ring m;
    scb_geom_t g;

    mem_ring_make(&m, 24, 100, 7);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g), SCB_OK);
    ck_assert_uint_eq(g.item_size, 24);
    ck_assert_uint_eq(g.length, 100);
    ck_assert_uint_eq(g.origin, 7);
    ck_assert_str_eq(g.name, "ring-test");
    ck_assert_uint_eq(g.items_off, m.g.items_off);
    /* Smaller than the header says, or than a header. */
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size - 1, &g),
                     SCB_EBADFORMAT);
    ck_assert_int_eq(scb_layout_check(m.base, 100, &g), SCB_EBADFORMAT);
    ck_assert_int_eq(scb_layout_check(m.base, 0, &g), SCB_EAGAIN);
    /* Not yet published by its creator. */
    scb_store_relaxed(&hdr_of(&m)->magic, 0);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g), SCB_EAGAIN);
    /* Marked as being created: the name and the creator only. */
    scb_layout_mark_creating(m.base, &m.g, 77);
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_LAYOUT_CREATING);
    ck_assert_uint_eq(g.creator, 77);
    ck_assert_str_eq(g.name, "ring-test");
    hdr_of(&m)->name_len = 0;
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    hdr_of(&m)->name_len = SCB_NAME_MAX + 1;
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    hdr_of(&m)->name_len = 9;
    hdr_of(&m)->name[2] = '/';
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    /* Finished: the name stays and the ring is valid. */
    hdr_of(&m)->name[2] = 'n';
    ck_assert_int_eq(is_ring_of(&m, "ring-test"), 1);
    scb_layout_init(m.base, &m.g, 42);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g), SCB_OK);
    ck_assert_str_eq(g.name, "ring-test");
    /* A ring of that name, whatever else its header says; nothing else. */
    ck_assert_int_eq(is_ring_of(&m, "ring-test"), 1);
    ck_assert_int_eq(is_ring_of(&m, "ring-tes"), 0);
    ck_assert_int_eq(scb_layout_is_ring_of(m.base, 639, "ring-test"), 0);
    hdr_of(&m)->version = 99;
    hdr_of(&m)->name_len = 0;
    ck_assert_int_eq(is_ring_of(&m, "ring-test"), 1);
    memset(hdr_of(&m)->name, 'a', sizeof hdr_of(&m)->name);
    ck_assert_int_eq(is_ring_of(&m, "ring-test"), 0);
    memcpy(hdr_of(&m)->name, "ring-test", 10);
    scb_store_relaxed(&hdr_of(&m)->magic, 0);
    ck_assert_int_eq(is_ring_of(&m, "ring-test"), 0);
    mem_ring_free(&m);
}
END_TEST

/* One corruption per loop iteration: every one must be refused. */
static void corrupt(struct scb_hdr *h, int which)
{
    switch (which) {
    case 0: scb_store_relaxed(&h->magic, 0x1234); break;
    case 1: h->version = SCB_FORMAT_VERSION + 1; break;
    case 2: h->hdr_size = 64; break;
    case 3: h->total_size += PAGE; break;
    case 4: h->length = 0; break;
    case 5: h->length = UINT64_C(1) << 60; break;
    case 6: h->length = h->length * 2; break;
    case 7: h->item_size = 0; break;
    case 8: h->item_size = UINT32_C(1) << 31; break;
    case 9: h->flags |= 0x80; break;
    case 10: h->max_readers = 3; break;
    case 11: h->mode = 07777; break;
    case 12: h->items_off = h->total_size + PAGE; break;
    case 13: h->items_off += 1; break;
    case 14: h->items_off = 0; break;
    case 15: h->shared_off = 64; break;
    case 16: h->shared_size = 0; break;
    case 17: h->name_len = 0; break;
    case 18: h->name_len = 300; break;
    case 19: h->name_len = 3; break;
    case 20: h->name[2] = '/'; break;
    case 21: h->items_off = UINT64_MAX - 10; break;
    case 22: h->shared_size = UINT64_MAX - 100; break;
    case 23: h->shared_off = h->items_off; break;
    case 24: /* length * item_size = 2^64, which wraps to 0 */
        h->length = UINT64_C(1) << 48;
        h->item_size = UINT32_C(1) << 16;
        break;
    case 25: /* 2^64 + 16: wraps to 16 bytes, which fit */
        h->length = UINT64_C(281406274007041);
        h->item_size = 65552;
        break;
    }
}
#define N_CORRUPT 26

START_TEST(test_check_rejects)
{
    struct mem_ring m;
    scb_geom_t g;

    mem_ring_make(&m, 16, 64, 0);
    corrupt(hdr_of(&m), _i);
    ck_assert_int_eq(scb_layout_check(m.base, m.g.total_size, &g),
                     SCB_EBADFORMAT);
    mem_ring_free(&m);
}
END_TEST

START_TEST(test_check_random)
{
    uint8_t *buf = malloc(2 * PAGE);
    scb_geom_t g;
    size_t i;

    ck_assert_ptr_nonnull(buf);
    srand(1000 + _i);
    for (i = 0; i < 2 * PAGE; i++)
        buf[i] = (uint8_t)rand();
    /* Random bytes, with and without a valid magic. */
    ck_assert_int_eq(scb_layout_check(buf, 2 * PAGE, &g), SCB_EBADFORMAT);
    memcpy(buf, &(uint64_t){SCB_MAGIC}, 8);
    ck_assert_int_eq(scb_layout_check(buf, 2 * PAGE, &g), SCB_EBADFORMAT);
    free(buf);
}
END_TEST

/* ---- push and pop ----------------------------------------------------- */

START_TEST(test_capacity)
{
    static const uint64_t lengths[] = {1, 2, 3, 7, 64, 1000};
    static const uint32_t sizes[] = {1, 3, 8, 64, 1000, 65536};
    uint64_t length = lengths[_i % 6];
    uint32_t size = sizes[_i / 6];
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint8_t *item = malloc(size);
    uint64_t i, seq;

    if (length * size > (UINT64_C(16) << 20))
        length = (UINT64_C(16) << 20) / size;
    mem_ring_make(&m, size, length, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < length; i++) {
        tu_fill(item, size, i);
        scb_ring_push(&m.ring, &w, item);
    }
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &r), length);
    ck_assert_uint_eq(scb_ring_writer_usage(&m.ring), length);
    for (i = 0; i < length; i++) {
        ck_assert_int_eq(scb_ring_pop(&m.ring, &r, item), SCB_OK);
        ck_assert(tu_check(item, size, &seq));
        if (size >= 8)
            ck_assert_uint_eq(seq, i);
    }
    ck_assert_int_eq(scb_ring_pop(&m.ring, &r, item), SCB_EAGAIN);
    ck_assert_uint_eq(scb_ring_reader_lost(&m.ring, &r), 0);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &r), 0);
    free(item);
    mem_ring_free(&m);
}
END_TEST

/* Pushes `total` items through a ring of `length` starting at `origin`,
 * reading with pop or pop_many in `batch`es every `every` pushes; checks
 * returned + lost == pushed and that every item is intact and in order. */
static void run_stream(uint64_t origin, uint64_t length, uint64_t total,
                       size_t batch, uint64_t every, int many_push)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t buf[64], in[16], i = 0, got = 0, last = 0, seq;
    size_t n, k;
    int first = 1;

    ck_assert_uint_le(batch, 64);
    mem_ring_make(&m, 8, length, origin);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    while (i < total) {
        if (many_push) {
            for (k = 0; k < 16 && i + k < total; k++)
                in[k] = i + k;
            scb_ring_push_many(&m.ring, &w, in, k);
            i += k;
        } else {
            scb_ring_push(&m.ring, &w, &i);
            i++;
        }
        if (i % every != 0 && i < total)
            continue;
        for (;;) {
            if (batch == 1) {
                if (scb_ring_pop(&m.ring, &r, buf) != SCB_OK)
                    break;
                n = 1;
            } else if (scb_ring_pop_many(&m.ring, &r, buf, batch, &n) !=
                       SCB_OK) {
                ck_assert_uint_eq(n, 0);
                break;
            }
            for (k = 0; k < n; k++) {
                seq = buf[k];
                ck_assert(first || seq > last);
                first = 0;
                last = seq;
            }
            got += n;
        }
    }
    ck_assert_uint_eq(scb_ring_pushed(&m.ring), total);
    ck_assert_uint_eq(got + r.lost, total);
    ck_assert_uint_eq(scb_ring_reader_lost(&m.ring, &r), total - got);
    ck_assert_uint_eq(last, total - 1);
    mem_ring_free(&m);
}

START_TEST(test_loss_counting)
{
    /* Readers that keep up, that fall behind a little and a lot. */
    run_stream(0, 8, 1000, 1, 1, 0);
    run_stream(0, 8, 1000, 4, 5, 0);
    run_stream(0, 8, 1000, 3, 13, 0);
    run_stream(0, 8, 1000, 64, 100, 1);
    run_stream(0, 1, 500, 1, 3, 0);
    run_stream(0, 7, 1000, 5, 7, 1);
}
END_TEST

START_TEST(test_lost_exact)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t i, v;

    mem_ring_make(&m, 8, 10, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < 25; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* The loss is known before the reader pops. */
    ck_assert_uint_eq(scb_ring_reader_lost(&m.ring, &r), 15);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &r), 10);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &r, &v), SCB_OK);
    ck_assert_uint_eq(v, 15);
    ck_assert_uint_eq(scb_ring_reader_lost(&m.ring, &r), 15);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &r), 9);
    mem_ring_free(&m);
}
END_TEST

START_TEST(test_push_many_over_length)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t in[50], out[50], i;
    size_t n;

    mem_ring_make(&m, 8, 7, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < 50; i++)
        in[i] = i;
    scb_ring_push_many(&m.ring, &w, in, 3);
    scb_ring_push_many(&m.ring, &w, in + 3, 47);
    ck_assert_int_eq(scb_ring_pop_many(&m.ring, &r, out, 50, &n), SCB_OK);
    ck_assert_uint_eq(n, 7);
    for (i = 0; i < 7; i++)
        ck_assert_uint_eq(out[i], 43 + i);
    ck_assert_uint_eq(r.lost, 43);
    ck_assert_int_eq(scb_ring_pop_many(&m.ring, &r, out, 0, &n), SCB_EAGAIN);
    ck_assert_uint_eq(n, 0);
    mem_ring_free(&m);
}
END_TEST

START_TEST(test_counter_wrap)
{
    /* Counters start 5 below 2^64 and run through the wrap. */
    uint64_t origin = UINT64_MAX - 4;

    run_stream(origin, 8, 100, 1, 1, 0);
    run_stream(origin, 8, 100, 3, 11, 1);
    run_stream(origin, 3, 100, 1, 2, 0);
    run_stream(UINT64_MAX - 1000, 1000, 5000, 64, 900, 1);
}
END_TEST

START_TEST(test_latest_and_oldest)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t old, late;
    uint64_t i, v;

    mem_ring_make(&m, 8, 4, UINT64_MAX - 1);
    scb_ring_writer_start(&m.ring, &w);
    for (i = 0; i < 3; i++)
        scb_ring_push(&m.ring, &w, &i);
    scb_ring_reader_start(&m.ring, &old, 0);
    scb_ring_reader_start(&m.ring, &late, 1);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &old), 3);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &late), 0);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &late, &v), SCB_EAGAIN);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &old, &v), SCB_OK);
    ck_assert_uint_eq(v, 0);
    for (; i < 10; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* The oldest kept is item 6. */
    ck_assert_int_eq(scb_ring_pop(&m.ring, &old, &v), SCB_OK);
    ck_assert_uint_eq(v, 6);
    ck_assert_uint_eq(old.lost, 5);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &late, &v), SCB_OK);
    ck_assert_uint_eq(v, 6);
    ck_assert_uint_eq(late.lost, 3);
    /* A reader that starts on a full ring starts at the oldest kept. */
    scb_ring_reader_start(&m.ring, &old, 0);
    ck_assert_uint_eq(scb_ring_reader_usage(&m.ring, &old), 4);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &old, &v), SCB_OK);
    ck_assert_uint_eq(v, 6);
    ck_assert_uint_eq(old.lost, 0);
    mem_ring_free(&m);
}
END_TEST

/* A writer that claimed slots and has not published them (in a batch, or
 * killed mid-push): readers must not return what it may have overwritten. */
START_TEST(test_claim_invalidates)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t i, v, out[8];
    size_t n;

    mem_ring_make(&m, 8, 8, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < 8; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* The writer has begun items 8, 9, 10: slots of items 0, 1, 2. */
    scb_store_relaxed(&hdr_of(&m)->claim, 11);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &r, &v), SCB_OK);
    ck_assert_uint_eq(v, 3);
    ck_assert_uint_eq(r.lost, 3);
    ck_assert_int_eq(scb_ring_pop_many(&m.ring, &r, out, 8, &n), SCB_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[0], 4);
    ck_assert_uint_eq(out[3], 7);

    /* The next writer (a take-over) keeps the claim and overwrites the
     * half-written slot before publishing it. */
    scb_ring_writer_start(&m.ring, &w);
    ck_assert_uint_eq(w.pos, 8);
    ck_assert_uint_eq(w.claim, 11);
    ck_assert_uint_eq(scb_load_relaxed(&hdr_of(&m)->claim), 11);
    v = 100;
    scb_ring_push(&m.ring, &w, &v);
    ck_assert_uint_eq(scb_load_relaxed(&hdr_of(&m)->claim), 11);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &r, &v), SCB_OK);
    ck_assert_uint_eq(v, 100);
    mem_ring_free(&m);
}
END_TEST

/* A pop_many whose copy straddles what a batch invalidated keeps only the
 * items that are still good. */
START_TEST(test_claim_partial_batch)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t i, out[8];
    size_t n;

    mem_ring_make(&m, 8, 8, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < 8; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* Read the whole ring but let the claim move during the copy: simulate
     * by raising claim before the call (the check after the copy sees it). */
    scb_store_relaxed(&hdr_of(&m)->claim, 13);
    ck_assert_int_eq(scb_ring_pop_many(&m.ring, &r, out, 8, &n), SCB_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0], 5);
    ck_assert_uint_eq(out[2], 7);
    ck_assert_uint_eq(r.lost, 5);
    /* A claim a whole ring ahead leaves nothing readable yet. */
    scb_store_relaxed(&hdr_of(&m)->claim, 16);
    ck_assert_int_eq(scb_ring_pop_many(&m.ring, &r, out, 8, &n), SCB_EAGAIN);
    ck_assert_uint_eq(n, 0);
    mem_ring_free(&m);
}
END_TEST

/* A reader the writer overran once while it copied resumes at the oldest
 * item kept, losing only what was overwritten (so a writer that stops
 * right after costs it nothing more).  Only a reader overrun again in the
 * same call goes a sixteenth of the ring further; that needs a writer
 * running concurrently, which the multi-process suites exercise. */
START_TEST(test_overrun_once)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t i, v;

    mem_ring_make(&m, 8, 64, 0);
    scb_ring_writer_start(&m.ring, &w);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (i = 0; i < 64; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* The writer has begun item 64 (the slot of item 0) as the reader
     * copies item 0. */
    scb_store_relaxed(&hdr_of(&m)->claim, 65);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &r, &v), SCB_OK);
    ck_assert_uint_eq(v, 1);
    ck_assert_uint_eq(r.lost, 1);
    mem_ring_free(&m);
}
END_TEST

/* Whatever the other side writes into the counters, the handle stays in
 * its mapping and every call returns. */
START_TEST(test_hostile_counters)
{
    static const uint64_t vals[] = {0, 1, 7, 8, 9, UINT64_MAX, UINT64_MAX / 2,
                                    UINT64_C(1) << 63, 12345678901234ULL};
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t r;
    uint64_t out[8], v = 0;
    size_t a, b, n;

    mem_ring_make(&m, 8, 8, 0);
    scb_ring_reader_start(&m.ring, &r, 0);
    for (a = 0; a < 9; a++) {
        for (b = 0; b < 9; b++) {
            scb_store_relaxed(&hdr_of(&m)->head, vals[a]);
            scb_store_relaxed(&hdr_of(&m)->claim, vals[b]);
            (void)scb_ring_pop(&m.ring, &r, &v);
            (void)scb_ring_pop_many(&m.ring, &r, out, 8, &n);
            ck_assert_uint_le(n, 8);
            ck_assert_uint_lt(r.idx, 8);
            ck_assert_uint_le(scb_ring_reader_usage(&m.ring, &r), 8);
            (void)scb_ring_reader_lost(&m.ring, &r);
            scb_ring_writer_start(&m.ring, &w);
            ck_assert_uint_lt(w.idx, 8);
            scb_ring_push(&m.ring, &w, &v);
            scb_ring_push_many(&m.ring, &w, out, 8);
            ck_assert_uint_lt(w.idx, 8);
        }
    }
    mem_ring_free(&m);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

struct thread_arg {
    struct mem_ring *m;
    uint64_t total;
    uint64_t got, lost, bad, start;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;
    scb_wcursor_t w;
    uint8_t item[40];
    uint64_t i;

    scb_ring_writer_start(&a->m->ring, &w);
    for (i = 0; i < a->total; i++) {
        tu_fill(item, sizeof item, i);
        scb_ring_push(&a->m->ring, &w, item);
    }
    return NULL;
}

static void *reader_thread(void *p)
{
    struct thread_arg *a = p;
    scb_rcursor_t r;
    uint8_t item[40];
    uint64_t seq, last = 0;
    int first = 1;

    scb_ring_reader_start(&a->m->ring, &r, 0);
    /* The writer may have pushed before this thread ran: the reader starts
     * at the oldest item kept and owes nothing before it. */
    a->start = r.pos - a->m->g.origin;
    while (r.pos - a->m->g.origin < a->total) {
        if (scb_ring_pop(&a->m->ring, &r, item) != SCB_OK)
            continue;
        if (!tu_check(item, sizeof item, &seq) || (!first && seq <= last))
            a->bad++;
        first = 0;
        last = seq;
        a->got++;
    }
    a->lost = r.lost;
    return NULL;
}

START_TEST(test_threads)
{
    struct mem_ring m;
    struct thread_arg a;
    pthread_t tw, tr;

    mem_ring_make(&m, 40, 16, 0);
    memset(&a, 0, sizeof a);
    a.m = &m;
    a.total = 300000;
    ck_assert_int_eq(pthread_create(&tr, NULL, reader_thread, &a), 0);
    ck_assert_int_eq(pthread_create(&tw, NULL, writer_thread, &a), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    ck_assert_uint_eq(a.bad, 0);
    ck_assert_uint_eq(a.got + a.lost, a.total - a.start);
    ck_assert_uint_gt(a.got, 0);
    mem_ring_free(&m);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc;

    tc = tcase_create("layout");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_plan_bounds);
    tcase_add_test(tc, test_check_roundtrip);
    tcase_add_loop_test(tc, test_check_rejects, 0, N_CORRUPT);
    tcase_add_loop_test(tc, test_check_random, 0, 16);
    suite_add_tcase(s, tc);

    tc = tcase_create("capacity");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_capacity, 0, 36);
    suite_add_tcase(s, tc);

    tc = tcase_create("loss");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_loss_counting);
    tcase_add_test(tc, test_lost_exact);
    tcase_add_test(tc, test_push_many_over_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("wrap");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_counter_wrap);
    suite_add_tcase(s, tc);

    tc = tcase_create("latest");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_latest_and_oldest);
    suite_add_tcase(s, tc);

    tc = tcase_create("claim");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_claim_invalidates);
    tcase_add_test(tc, test_claim_partial_batch);
    tcase_add_test(tc, test_hostile_counters);
    tcase_add_test(tc, test_overrun_once);
    suite_add_tcase(s, tc);

    ring_add_lossless(s);
    ring_add_records(s);
    ring_add_records_threads(s);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ring_suite());
    int failed;

#ifdef _WIN32
    srunner_set_fork_status(sr, CK_NOFORK); /* Windows has no fork */
#endif
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
