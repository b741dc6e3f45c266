/*
 * check_ring_lossless.c - the "lossless" tcase of the ring suite: reader
 * slots and the writer's room, registration against a push, readers judged
 * dead (eviction, registering again), and the wake handshakes with their
 * step-by-step replays.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <string.h>

#include "check_ring.h"

/* ---- lossless --------------------------------------------------------- */

/* Registers a reader in slot i the way scb.c does: owner first, then the
 * high-water mark the writer scans up to. */
static void mem_register(struct mem_ring *m, scb_rcursor_t *c, uint32_t i,
                         int latest)
{
    scb_store_relaxed(&m->ring.slots[i].owner, 1000 + i);
    if (scb_load32_relaxed(&m->ring.wait->slots_hi) < i + 1)
        scb_store32_relaxed(&m->ring.wait->slots_hi, i + 1);
    /* No push is under way here: push_seq stays even. */
    scb_ring_reader_register_begin(&m->ring, c, &m->ring.slots[i], 1000 + i,
                                   latest ? SCB_START_LATEST : SCB_START_OLDEST);
    ck_assert_uint_eq(scb_ring_writer_push_seq(&m->ring) & 1, 0);
    scb_ring_reader_register_end(&m->ring, c,
                                 latest ? SCB_START_LATEST : SCB_START_OLDEST);
}

START_TEST(test_lossless_room)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t a, b;
    uint64_t i, v, min;

    mem_ring_make_flags(&m, 8, 5, UINT64_MAX - 2, SCB_LOSSLESS, 4);
    ck_assert_uint_eq(m.ring.nslots, 4);
    scb_ring_writer_start(&m.ring, &w);
    /* No reader: no limit, the writer overwrites. */
    for (i = 0; i < 12; i++) {
        scb_ring_op_begin(&m.ring, &w);
        ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 5), UINT64_MAX);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    ck_assert_uint_eq(scb_load_relaxed(&hdr_of(&m)->push_seq), 24);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 0);
    /* Two readers at the next item pushed. */
    mem_register(&m, &a, 0, 1);
    mem_register(&m, &b, 2, 1);
    for (i = 0; i < 5; i++) {
        /* Asking for all that should fit forces a rescan when the cached
         * view says less. */
        scb_ring_op_begin(&m.ring, &w);
        ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 5 - i), 5 - i);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 1), 0);
    /* The room is the slowest reader's. */
    ck_assert_int_eq(scb_ring_pop(&m.ring, &a, &v), SCB_OK);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &a, &v), SCB_OK);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 1), 0);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &b, &v), SCB_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 1), 1);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 1);
    ck_assert_uint_eq(w.pos - min, 4);
    /* A freed slot holds nothing back. */
    scb_store_relaxed(&m.ring.slots[2].owner, 0);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 5), 2);
    /* The last reader gone: no limit again. */
    scb_store_relaxed(&m.ring.slots[0].owner, 0);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 5), UINT64_MAX);
    ck_assert_uint_eq(a.lost + b.lost, 0);
    mem_ring_free(&m);
}
END_TEST

/* A reader registering while a push decided on stale room is under way
 * starts after what that push claimed, and the next push sees its slot. */
START_TEST(test_register_during_push)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint64_t i, v, push_seq;

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 2);
    scb_ring_writer_start(&m.ring, &w);
    for (i = 0; i < 3; i++) {
        scb_ring_op_begin(&m.ring, &w);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    /* The writer starts a batch of 3 with nobody registered... */
    scb_ring_op_begin(&m.ring, &w);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 3), UINT64_MAX);
    /* ...a reader registers meanwhile, wanting items 0-2... */
    scb_store_relaxed(&m.ring.slots[0].owner, 5);
    scb_store32_relaxed(&m.ring.wait->slots_hi, 1);
    scb_ring_reader_register_begin(&m.ring, &c, &m.ring.slots[0], 5,
                                   SCB_START_OLDEST);
    push_seq = scb_ring_writer_push_seq(&m.ring);
    ck_assert_uint_eq(push_seq & 1, 1);
    ck_assert_uint_eq(c.pos, 0);
    /* ...the batch overwrites items 0-2 and ends... */
    {
        uint64_t in[3] = {3, 4, 5};
        scb_ring_push_many(&m.ring, &w, in, 3);
    }
    scb_ring_op_end(&m.ring, &w);
    ck_assert_uint_ne(scb_load_relaxed(&hdr_of(&m)->push_seq), push_seq);
    /* ...so the reader starts at item 2, the oldest left intact. */
    scb_ring_reader_register_end(&m.ring, &c, SCB_START_OLDEST);
    ck_assert_uint_eq(c.pos, 2);
    /* The next push sees the slot: room for 4 - (6 - 2) = 0. */
    scb_ring_op_begin(&m.ring, &w);
    ck_assert_uint_eq(scb_ring_room(&m.ring, &w, 1), 0);
    scb_ring_op_end(&m.ring, &w);
    for (i = 2; i < 6; i++) {
        ck_assert_int_eq(scb_ring_pop(&m.ring, &c, &v), SCB_OK);
        ck_assert_uint_eq(v, i);
    }
    ck_assert_uint_eq(c.lost, 0);
    mem_ring_free(&m);
}
END_TEST

START_TEST(test_lossless_stale_slot)
{
    struct mem_ring m;
    scb_wcursor_t w;
    uint64_t i, min;

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 2);
    scb_ring_writer_start(&m.ring, &w);
    for (i = 0; i < 10; i++)
        scb_ring_push(&m.ring, &w, &i);
    /* A slot far behind (or corrupt) counts as a whole ring behind; one
     * ahead of the writer needs nothing yet. */
    scb_store_relaxed(&m.ring.slots[0].owner, 7);
    scb_store_relaxed(&m.ring.slots[0].pos, 1);
    scb_store32_relaxed(&m.ring.wait->slots_hi, 1);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 1);
    ck_assert_uint_eq(min, 6);
    scb_store_relaxed(&m.ring.slots[0].pos, 99);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 1);
    ck_assert_uint_eq(min, 10);
    /* slots_hi beyond the slots is clamped to them. */
    scb_store32_relaxed(&m.ring.wait->slots_hi, 1000000);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 1);
    mem_ring_free(&m);
}
END_TEST

static int alive_never(uint64_t id)
{
    (void)id;
    return 0;
}

/* A registered reader judged dead (its slot reaped while it lives): the
 * writer overwrites what it had not read.  The copies are checked like
 * everyone's: it returns no item twice and none out of place, and counts
 * exactly what it missed. */
START_TEST(test_misjudged_reader_copies_checked)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint64_t i, v, last, got = 1;

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 2);
    scb_ring_writer_start(&m.ring, &w);
    mem_register(&m, &c, 0, 0);
    for (i = 0; i < 10; i++) {
        if (i == 4) {
            /* The reader has read item 0 and knows of items 1-3; then it
             * is judged dead, and the writer no longer waits for it. */
            ck_assert_int_eq(scb_ring_pop(&m.ring, &c, &v), SCB_OK);
            ck_assert_uint_eq(v, 0);
            scb_ring_reap(&m.ring, alive_never);
        }
        scb_ring_op_begin(&m.ring, &w);
        ck_assert_uint_ge(scb_ring_room(&m.ring, &w, 1), 1);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    last = 0;
    while (scb_ring_pop(&m.ring, &c, &v) == SCB_OK) {
        ck_assert_msg(v > last && v == c.pos - 1,
                      "item %" PRIu64 " at position %" PRIu64 " after %" PRIu64,
                      v, c.pos - 1, last);
        last = v;
        got++;
    }
    ck_assert_uint_eq(got + c.lost, 10);
    mem_ring_free(&m);
}
END_TEST

/* A reader whose slot was reaped and taken by another reader never writes
 * its position into that slot: it notices and stops publishing. */
START_TEST(test_evicted_reader_keeps_out)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c, c2;
    uint64_t i, v;

    mem_ring_make_flags(&m, 8, 8, 0, SCB_LOSSLESS, 1);
    scb_ring_writer_start(&m.ring, &w);
    mem_register(&m, &c, 0, 0);
    for (i = 0; i < 4; i++) {
        scb_ring_op_begin(&m.ring, &w);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    ck_assert_int_eq(scb_ring_pop(&m.ring, &c, &v), SCB_OK);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 1);
    /* Judged dead; a new reader takes the slot at the latest item. */
    scb_ring_reap(&m.ring, alive_never);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].owner), 0);
    scb_store_relaxed(&m.ring.slots[0].owner, 2000);
    scb_ring_reader_register_begin(&m.ring, &c2, &m.ring.slots[0], 2000,
                                   SCB_START_LATEST);
    scb_ring_reader_register_end(&m.ring, &c2, SCB_START_LATEST);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 4);
    /* The first reader reads on: the slot keeps the new reader's
     * position, and the first one learns it was evicted. */
    ck_assert_int_eq(scb_ring_pop(&m.ring, &c, &v), SCB_OK);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(c.evicted, 1);
    ck_assert_ptr_null(c.slot);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 4);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &c, &v), SCB_OK);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 4);
    /* Giving back a slot it no longer holds frees nothing. */
    scb_ring_reader_unregister(&m.ring, &c);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].owner), 2000);
    mem_ring_free(&m);
}
END_TEST

/* Registers c in slot i for owner `self`, as scb_ring_slot_take would
 * have claimed it. */
static void mem_take(struct mem_ring *m, scb_rcursor_t *c, uint32_t i,
                     uint64_t self, enum scb_start start)
{
    scb_store_relaxed(&m->ring.slots[i].owner, self);
    if (scb_load32_relaxed(&m->ring.wait->slots_hi) < i + 1)
        scb_store32_relaxed(&m->ring.wait->slots_hi, i + 1);
    scb_ring_reader_register_begin(&m->ring, c, &m->ring.slots[i], self, start);
}

/* A reader whose slot is reaped and taken while it waits for a push under
 * way must not move the new owner's position when it ends its
 * registration: it learns it lost the slot. */
START_TEST(test_register_end_after_eviction)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c, c2;
    uint64_t i, in[3] = {3, 4, 5};

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 1);
    scb_ring_writer_start(&m.ring, &w);
    for (i = 0; i < 3; i++) {
        scb_ring_op_begin(&m.ring, &w);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    scb_ring_op_begin(&m.ring, &w); /* a batch under way, decided alone */
    mem_take(&m, &c, 0, 77, SCB_START_OLDEST);
    ck_assert_uint_eq(scb_ring_writer_push_seq(&m.ring) & 1, 1);
    scb_ring_push_many(&m.ring, &w, in, 3);
    scb_ring_op_end(&m.ring, &w);
    /* The reader is judged dead meanwhile; another takes the slot. */
    scb_ring_reap(&m.ring, alive_never);
    mem_take(&m, &c2, 0, 88, SCB_START_LATEST);
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &c2,
                                                  SCB_START_LATEST), 0);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 6);
    /* The first reader's fix-up (to position 2) must not land there. */
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &c,
                                                  SCB_START_OLDEST), -1);
    ck_assert_int_eq(c.evicted, 1);
    ck_assert_ptr_null(c.slot);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 6);
    mem_ring_free(&m);
}
END_TEST

/* An evicted reader's late compare-and-swap lands in the slot of a new
 * reader that started exactly where the evicted one last was: the new
 * reader must keep its slot (its next publish stores over the stale
 * value), not take itself for evicted and leave the slot held by nobody. */
START_TEST(test_stale_publish_shared_start)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t e, n;
    uint64_t i, v, stale;

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 1);
    scb_ring_writer_start(&m.ring, &w);
    mem_take(&m, &e, 0, 100, SCB_START_OLDEST);
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &e,
                                                  SCB_START_OLDEST), 0);
    for (i = 0; i < 4; i++) {
        scb_ring_op_begin(&m.ring, &w);
        scb_ring_push(&m.ring, &w, &i);
        scb_ring_op_end(&m.ring, &w);
    }
    /* E is judged dead; N takes the slot at the oldest item, 0: E's last
     * stored position too. */
    scb_ring_reap(&m.ring, alive_never);
    mem_take(&m, &n, 0, 200, SCB_START_OLDEST);
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &n,
                                                  SCB_START_OLDEST), 0);
    ck_assert_uint_eq(n.pos, 0);
    /* E's compare-and-swap from 0 to 1, decided before the reap. */
    stale = 0;
    ck_assert(scb_cas(&m.ring.slots[0].pos, &stale, 1));
    /* N reads on and keeps its slot. */
    ck_assert_int_eq(scb_ring_pop(&m.ring, &n, &v), SCB_OK);
    ck_assert_int_eq(scb_ring_pop(&m.ring, &n, &v), SCB_OK);
    ck_assert_int_eq(n.evicted, 0);
    ck_assert_ptr_nonnull(n.slot);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].owner), 200);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].pos), 2);
    mem_ring_free(&m);
}
END_TEST

/* Two handles of one process (one owner id): the first, judged dead and
 * reaped, must not free the slot the second took since when it closes. */
START_TEST(test_unregister_spares_sibling)
{
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c1, c2;
    uint64_t min;

    mem_ring_make_flags(&m, 8, 4, 0, SCB_LOSSLESS, 1);
    scb_ring_writer_start(&m.ring, &w);
    mem_take(&m, &c1, 0, 99, SCB_START_OLDEST);
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &c1,
                                                  SCB_START_OLDEST), 0);
    scb_ring_reap(&m.ring, alive_never);
    mem_take(&m, &c2, 0, 99, SCB_START_OLDEST);
    ck_assert_int_eq(scb_ring_reader_register_end(&m.ring, &c2,
                                                  SCB_START_OLDEST), 0);
    scb_ring_reader_unregister(&m.ring, &c1);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].owner), 99);
    ck_assert_int_eq(scb_ring_readers_min(&m.ring, w.pos, &min), 1);
    scb_ring_reader_unregister(&m.ring, &c2);
    ck_assert_uint_eq(scb_load_relaxed(&m.ring.slots[0].owner), 0);
    mem_ring_free(&m);
}
END_TEST

START_TEST(test_wake_handshake)
{
    struct mem_ring m;
    uint32_t s0, s1;

    mem_ring_make(&m, 8, 4, 0);
    /* Nobody asleep: no wake. */
    ck_assert_int_eq(scb_ring_readers_waiting(&m.ring), 0);
    s0 = scb_ring_reader_sleep_prepare(&m.ring);
    /* A sleeper: one wake, the word moves, the flag is cleared. */
    ck_assert_int_eq(scb_ring_readers_waiting(&m.ring), 1);
    s1 = scb_load32_relaxed(&m.ring.wait->rseq);
    ck_assert_uint_ne(s0, s1);
    ck_assert_int_eq(scb_ring_readers_waiting(&m.ring), 0);
    /* The same for the writer's word. */
    ck_assert_int_eq(scb_ring_writer_waiting(&m.ring), 0);
    s0 = scb_ring_writer_sleep_prepare(&m.ring);
    ck_assert_int_eq(scb_ring_writer_waiting(&m.ring), 1);
    ck_assert_uint_ne(s0, scb_load32_relaxed(&m.ring.wait->wseq));
    ck_assert_int_eq(scb_ring_writer_waiting(&m.ring), 0);
    mem_ring_free(&m);
}
END_TEST

/* The interleaving a wake handshake must survive, replayed step by step
 * with the ring's own functions.  A flag left raised by an earlier sleeper
 * (one that found work after all) is stale.  The waking side publishes
 * progress and sees that flag, and is preempted before it clears it; the
 * sleeping side consumes the progress and starts its handshake; the waker's
 * clear-and-bump runs in the middle of that handshake (the step hook); the
 * sleeper re-checks and finds nothing.  It would now sleep on the word
 * value its handshake returned: the next progress must move that word, or
 * the sleeper sleeps for ever with work waiting. */
struct replay {
    struct mem_ring m;
    scb_wcursor_t w;
    scb_rcursor_t c;
    uint32_t (*waker)(const scb_ring_t *r); /* the preempted waker's rest */
    int woke;                          /* what it returned */
};

static void replay_waker_resumes(void *arg)
{
    struct replay *rp = arg;

    rp->woke = rp->waker(&rp->m.ring);
}

/* Readers asleep in scb_pop_wait, the writer waking them. */
START_TEST(test_wake_replay_readers)
{
    struct replay rp;
    uint64_t v = 7, out;
    uint32_t s;

    memset(&rp, 0, sizeof rp);
    mem_ring_make(&rp.m, 8, 4, 0);
    scb_ring_writer_start(&rp.m.ring, &rp.w);
    scb_ring_reader_start(&rp.m.ring, &rp.c, 0);
    /* A stale flag: a reader prepared to sleep, then found an item. */
    (void)scb_ring_reader_sleep_prepare(&rp.m.ring);
    /* The writer publishes an item; its waker (which would see the flag)
     * is preempted before it runs. */
    scb_ring_push(&rp.m.ring, &rp.w, &v);
    /* The reader consumes everything and prepares to sleep, and the waker
     * runs to its end in the middle of that. */
    ck_assert_int_eq(scb_ring_pop(&rp.m.ring, &rp.c, &out), SCB_OK);
    rp.waker = scb_ring_readers_waiting;
    rp.m.ring.step_hook = replay_waker_resumes;
    rp.m.ring.step_arg = &rp;
    s = scb_ring_reader_sleep_prepare(&rp.m.ring);
    rp.m.ring.step_hook = NULL;
    ck_assert_int_eq(rp.woke, 1);
    ck_assert_int_eq(scb_ring_pop(&rp.m.ring, &rp.c, &out), SCB_EAGAIN);
    /* It sleeps on s.  The next push must end that sleep. */
    scb_ring_push(&rp.m.ring, &rp.w, &v);
    (void)scb_ring_readers_waiting(&rp.m.ring);
    ck_assert_msg(scb_load32_relaxed(&rp.m.ring.wait->rseq) != s,
                  "lost wake-up: the reader sleeps on %u with an item "
                  "waiting and nobody to wake it", (unsigned)s);
    mem_ring_free(&rp.m);
}
END_TEST

/* A lossless writer asleep in scb_push_wait, a reader waking it. */
START_TEST(test_wake_replay_writer)
{
    struct replay rp;
    uint64_t v = 7, out, i;
    uint32_t s;

    memset(&rp, 0, sizeof rp);
    mem_ring_make_flags(&rp.m, 8, 2, 0, SCB_LOSSLESS, 1);
    scb_ring_writer_start(&rp.m.ring, &rp.w);
    mem_register(&rp.m, &rp.c, 0, 0);
    /* The ring full, the writer's flag stale. */
    for (i = 0; i < 2; i++) {
        scb_ring_op_begin(&rp.m.ring, &rp.w);
        ck_assert_uint_ge(scb_ring_room(&rp.m.ring, &rp.w, 1), 1);
        scb_ring_push(&rp.m.ring, &rp.w, &v);
        scb_ring_op_end(&rp.m.ring, &rp.w);
    }
    (void)scb_ring_writer_sleep_prepare(&rp.m.ring);
    /* The reader makes room; its waker is preempted. */
    ck_assert_int_eq(scb_ring_pop(&rp.m.ring, &rp.c, &out), SCB_OK);
    /* The writer fills the room and prepares to sleep; the reader's waker
     * runs to its end in the middle of that. */
    scb_ring_op_begin(&rp.m.ring, &rp.w);
    ck_assert_uint_eq(scb_ring_room(&rp.m.ring, &rp.w, 1), 1);
    scb_ring_push(&rp.m.ring, &rp.w, &v);
    scb_ring_op_end(&rp.m.ring, &rp.w);
    rp.waker = scb_ring_writer_waiting;
    rp.m.ring.step_hook = replay_waker_resumes;
    rp.m.ring.step_arg = &rp;
    s = scb_ring_writer_sleep_prepare(&rp.m.ring);
    rp.m.ring.step_hook = NULL;
    ck_assert_int_eq(rp.woke, 1);
    scb_ring_op_begin(&rp.m.ring, &rp.w);
    ck_assert_uint_eq(scb_ring_room(&rp.m.ring, &rp.w, 1), 0);
    scb_ring_op_end(&rp.m.ring, &rp.w);
    /* It sleeps on s.  The reader's next pop must end that sleep. */
    ck_assert_int_eq(scb_ring_pop(&rp.m.ring, &rp.c, &out), SCB_OK);
    (void)scb_ring_writer_waiting(&rp.m.ring);
    ck_assert_msg(scb_load32_relaxed(&rp.m.ring.wait->wseq) != s,
                  "lost wake-up: the writer sleeps on %u with room made "
                  "and nobody to wake it", (unsigned)s);
    mem_ring_free(&rp.m);
}
END_TEST

void ring_add_lossless(Suite *s)
{
    TCase *tc;

    tc = tcase_create("lossless");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_lossless_room);
    tcase_add_test(tc, test_lossless_stale_slot);
    tcase_add_test(tc, test_register_during_push);
    tcase_add_test(tc, test_misjudged_reader_copies_checked);
    tcase_add_test(tc, test_evicted_reader_keeps_out);
    tcase_add_test(tc, test_register_end_after_eviction);
    tcase_add_test(tc, test_unregister_spares_sibling);
    tcase_add_test(tc, test_stale_publish_shared_start);
    tcase_add_test(tc, test_wake_handshake);
    tcase_add_test(tc, test_wake_replay_readers);
    tcase_add_test(tc, test_wake_replay_writer);
    suite_add_tcase(s, tc);
}
