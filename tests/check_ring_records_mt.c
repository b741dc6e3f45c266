/*
 * check_ring_records_mt.c - the ring suite's "records_threads" tcase: one
 * writer thread and one reader thread on a record ring in plain memory, the
 * reader checking every record with the helpers of check_ring_records.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_ring.h"

/* ---- threads ------------------------------------------------------------ */

struct rec_thread {
    struct mem_ring *m;
    scb_rcursor_t c;    /* the reader's, started before the writer runs */
    uint64_t total;
    int peek;           /* the reader peeks and releases */
    int lossless;
    uint64_t got, lost, bad, overruns;
};

static void *rec_writer(void *p)
{
    struct rec_thread *a = p;
    scb_wcursor_t w;
    uint64_t k = 0;
    uint8_t *dst;
    uint32_t n;

    writer_start(a->m, &w);
    while (k < a->total) {
        n = rec_len(k, a->m->g.item_size);
        if (k % 3 == 0) {
            /* In place, reserving the largest then committing less. */
            scb_ring_op_begin(&a->m->ring, &w);
            if (scb_ring_room(&a->m->ring, &w,
                              scb_rec_need(&a->m->ring, &w,
                                           a->m->g.item_size)) <
                scb_rec_need(&a->m->ring, &w, a->m->g.item_size)) {
                scb_ring_op_end(&a->m->ring, &w);
                continue;
            }
            dst = scb_rec_reserve(&a->m->ring, &w, a->m->g.item_size);
            scb_ring_op_end(&a->m->ring, &w);
            rec_fill(dst, k, n);
            scb_rec_commit(&a->m->ring, &w, n);
            k++;
        } else if (mpush_k(a->m, &w, k) == SCB_OK) {
            k++;
        }
    }
    return NULL;
}

/* The reader's copy out of a peeked record, which the writer may be
 * overwriting (scb_rec_release tells): named in tests/tsan.supp. */
static void peek_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
}

static void *rec_reader(void *p)
{
    struct rec_thread *a = p;
    scb_rcursor_t c = a->c;
    uint8_t buf[4096];
    size_t len;
    uint64_t next = 0, lost = 0, k;
    int rc;

    while (next < a->total) {
        if (a->peek) {
            rc = scb_rec_peek(&a->m->ring, &c);
            if (rc == SCB_EAGAIN)
                continue;
            if (rc != SCB_OK) {
                a->bad++;
                break;
            }
            k = next + (c.lost - lost);
            /* Copy out, then release: the release vouches for the copy. */
            len = c.peek_len;
            peek_copy(buf, c.peek_ptr, len);
            rc = scb_rec_release(&a->m->ring, &c);
            if (rc == SCB_EOVERRUN) {
                a->overruns++;
                next = k + 1;
                lost = c.lost;
                continue;
            }
        } else {
            rc = scb_rec_pop(&a->m->ring, &c, buf, sizeof buf, &len);
            if (rc == SCB_EAGAIN)
                continue;
            if (rc != SCB_OK) {
                a->bad++;
                break;
            }
            k = next + (c.lost - lost);
        }
        if (len != rec_len(k, a->m->g.item_size) ||
            !rec_ok(buf, k, (uint32_t)len))
            a->bad++;
        a->got++;
        next = k + 1;
        lost = c.lost;
    }
    a->lost = c.lost;
    return NULL;
}

START_TEST(test_rec_threads)
{
    struct mem_ring m;
    struct rec_thread a;
    pthread_t tw, tr;

    memset(&a, 0, sizeof a);
    a.peek = _i & 1;
    a.lossless = (_i & 2) != 0;
    make_records(&m, 1000, 8192, 0, a.lossless ? SCB_LOSSLESS : 0);
    a.m = &m;
    a.total = 200000;
    if (a.lossless)
        register_reader(&m, &a.c, 0);
    else
        scb_ring_reader_start(&m.ring, &a.c, 0);
    ck_assert_int_eq(pthread_create(&tr, NULL, rec_reader, &a), 0);
    ck_assert_int_eq(pthread_create(&tw, NULL, rec_writer, &a), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    ck_assert_uint_eq(a.bad, 0);
    ck_assert_uint_gt(a.got, 0);
    if (a.lossless)
        ck_assert_uint_eq(a.lost, 0);
    ck_assert_uint_eq(a.got + a.lost, a.total);
    mem_ring_free(&m);
}
END_TEST

void ring_add_records_threads(Suite *s)
{
    TCase *tc;

    tc = tcase_create("records_threads");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_rec_threads, 0, 4);
    suite_add_tcase(s, tc);
}
