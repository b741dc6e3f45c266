/*
 * io.c - the public entry points that move items and wait: push, pop and
 * their _many and _wait forms.  The fast path is the ring's (ring.c); this
 * adds the argument checks, the lossless writer's look for dead readers
 * when the ring is full, the wake-ups, and the waits (spin, then sleep on
 * the ring's futex words through sys.h).  No OS header here either.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stddef.h>
#include <stdint.h>

#include "handle.h"
#include "ring.h"
#include "scb.h"
#include "sys.h"

/* How often a blocked lossless writer checks whether the readers holding
 * it back are still alive (dead ones are detected within this, well inside
 * the 1 s the contract allows), and the longest it sleeps between checks. */
#define REAP_INTERVAL_NS (100u * 1000u * 1000u)

/* The writer's slow path when a lossless ring looks full: at most every
 * REAP_INTERVAL_NS, free the slots of dead readers holding it back. */
static void writer_reap(scb_t *w)
{
    uint64_t now = scb_sys_now_ns();

    if (w->last_reap != 0 && now - w->last_reap < REAP_INTERVAL_NS)
        return;
    w->last_reap = now;
    scb_ring_reap(&w->ring, scb_sys_proc_alive);
}

/* Converts a timeout in milliseconds to a deadline on the monotonic clock;
 * 0 means none (forever).  Timeouts too long to express in nanoseconds
 * (over 290 years) are forever too. */
static uint64_t deadline_of(int64_t timeout_ms)
{
    if (timeout_ms < 0 || timeout_ms > INT64_MAX / 1000000)
        return 0;
    return scb_sys_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Nanoseconds left before `deadline` (0 if past), or -1 for none. */
static int64_t remaining_ns(uint64_t deadline)
{
    uint64_t now;

    if (deadline == 0)
        return -1;
    now = scb_sys_now_ns();
    return now >= deadline ? 0 : (int64_t)(deadline - now);
}

/* Sleeps a little in a polling wait: from 2 us, doubling with `attempt` to
 * about 1 ms, never past `left` nanoseconds (negative: no limit). */
static void nap(int64_t left, unsigned attempt)
{
    uint64_t ns = 2000u << (attempt < 9 ? attempt : 9);

    if (left >= 0 && (uint64_t)left < ns)
        ns = (uint64_t)left;
    scb_sys_sleep_us((uint32_t)(ns / 1000u) + 1);
}

/* After a lossless reader published its position: wake a writer asleep in
 * scb_push_wait or armed on scb_fd. */
static inline void wake_writer(scb_t *r)
{
    if (r->r.slot != NULL)
        wake_writer_always(r);
}

/* Room for `want` items (bytes in a record ring) now, looking for dead
 * readers once if there is less. */
static uint64_t room_for(scb_t *w, uint64_t want)
{
    uint64_t room = scb_ring_room(&w->ring, &w->w, want);

    if (room < want) {
        writer_reap(w);
        room = scb_ring_room(&w->ring, &w->w, want);
    }
    return room;
}

static void arm(scb_t *h);

/* What a call that found nothing to do returns: SCB_EAGAIN, arming the
 * handle's doorbell first if it has one (scb_fd). */
static int again(scb_t *h)
{
    if (h->bell != NULL)
        arm(h);
    return SCB_EAGAIN;
}

static inline int armed_rc(scb_t *h, int rc)
{
    return rc == SCB_EAGAIN ? again(h) : rc;
}

/* 1 if the fixed-size calls may not be used now: a record ring, or (the
 * writer) a reservation open, or (a reader) a record peeked. */
static inline int fixed_refused(const scb_t *h)
{
    return h->ring.records | h->w.res_open | h->r.peeked;
}

int scb_push(scb_t *w, const void *item)
{
    if (w == NULL || item == NULL || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (fixed_refused(w))
        return SCB_EINVAL;
    scb_ring_op_begin(&w->ring, &w->w);
    if (room_for(w, 1) == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return again(w);
    }
    scb_ring_push(&w->ring, &w->w, item);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    return SCB_OK;
}

int scb_push_many(scb_t *w, const void *items, size_t n, size_t *count)
{
    uint64_t room;

    if (count != NULL)
        *count = 0;
    if (w == NULL || count == NULL || (items == NULL && n > 0) || foreign(w))
        return SCB_EINVAL;
    if (n > PTRDIFF_MAX / w->ring.item_size)
        return SCB_EINVAL; /* no buffer of n items can exist */
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (fixed_refused(w))
        return SCB_EINVAL;
    if (n == 0)
        return SCB_OK;
    scb_ring_op_begin(&w->ring, &w->w);
    room = room_for(w, n);
    if (room == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return again(w);
    }
    if (room < n)
        n = (size_t)room;
    scb_ring_push_many(&w->ring, &w->w, items, n);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    *count = n;
    return SCB_OK;
}

/* 1 if this handle may raise a sleeper's flag: not on a ring with
 * asymmetric barriers where this process's heavy barrier failed before (it
 * polls instead). */
static inline int sleep_prepare_ok(const scb_t *h)
{
    return !h->no_heavy;
}

/* After the sleeper's prepare: the heavy barrier of a ring with asymmetric
 * barriers.  Returns 1 if the handle may sleep on the word; 0 (and never
 * again for this handle) if the barrier failed. */
static int barrier_for_sleep(scb_t *h)
{
    if (!h->ring.asym_barriers || scb_sys_barrier_heavy() == 0)
        return 1;
    h->no_heavy = 1;
    return 0;
}

int scb_pop(scb_t *r, void *item)
{
    int rc;

    if (r == NULL || item == NULL || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    if (fixed_refused(r))
        return SCB_EINVAL;
    rc = scb_ring_pop(&r->ring, &r->r, item);
    if (rc == SCB_OK)
        wake_writer(r);
    if (r->r.evicted)
        scb_handle_rejoin(r);
    return armed_rc(r, rc);
}

int scb_pop_many(scb_t *r, void *items, size_t max, size_t *count)
{
    int rc;

    if (count != NULL)
        *count = 0;
    if (r == NULL || items == NULL || count == NULL || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    if (fixed_refused(r))
        return SCB_EINVAL;
    rc = scb_ring_pop_many(&r->ring, &r->r, items, max, count);
    if (rc == SCB_OK)
        wake_writer(r);
    if (r->r.evicted)
        scb_handle_rejoin(r);
    return armed_rc(r, rc);
}

/* After a reader's call: if it moved from `from` (a record consumed, or
 * padding and lost records stepped over), wake a lossless writer that may
 * wait for that room; register again if its slot was taken from it. */
static inline void reader_moved(scb_t *r, uint64_t from)
{
    if (r->r.pos != from)
        wake_writer(r);
    if (r->r.evicted)
        scb_handle_rejoin(r);
}

int scb_push_record(scb_t *w, const void *data, size_t len)
{
    uint64_t need;

    if (w == NULL || (data == NULL && len > 0) || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (w->w.res_open)
        return SCB_EINVAL;
    if (!w->ring.records)
        return len == w->ring.item_size ? scb_push(w, data) : SCB_EMSGSIZE;
    if (len > w->ring.item_size)
        return SCB_EMSGSIZE;
    scb_ring_op_begin(&w->ring, &w->w);
    need = scb_rec_need(&w->ring, &w->w, (uint32_t)len);
    if (room_for(w, need) < need) {
        scb_ring_op_end(&w->ring, &w->w);
        return again(w);
    }
    scb_rec_push(&w->ring, &w->w, data, (uint32_t)len);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    return SCB_OK;
}

int scb_pop_record(scb_t *r, void *buf, size_t cap, size_t *len)
{
    uint64_t from;
    int rc;

    if (len != NULL)
        *len = 0;
    if (r == NULL || len == NULL || (buf == NULL && cap > 0) || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    if (r->r.peeked)
        return SCB_EINVAL;
    from = r->r.pos;
    if (r->ring.records) {
        rc = scb_rec_pop(&r->ring, &r->r, buf, cap, len);
    } else if (cap < r->ring.item_size) {
        /* Too small for an item: say so if there is one, take nothing. */
        rc = scb_ring_peek(&r->ring, &r->r);
        if (rc == SCB_OK) {
            r->r.peeked = 0;
            *len = r->ring.item_size;
            rc = SCB_EMSGSIZE;
        }
    } else {
        rc = scb_ring_pop(&r->ring, &r->r, buf);
        if (rc == SCB_OK)
            *len = r->ring.item_size;
    }
    reader_moved(r, from);
    return armed_rc(r, rc);
}

int scb_reserve(scb_t *w, size_t len, void **ptr)
{
    uint64_t need;

    if (ptr != NULL)
        *ptr = NULL;
    if (w == NULL || ptr == NULL || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (w->w.res_open)
        return SCB_EINVAL;
    if (w->ring.records ? len > w->ring.item_size : len != w->ring.item_size)
        return SCB_EMSGSIZE;
    /* The bracket covers the decision and the claim; what is written
     * later is published by scb_commit, and a reader that registers
     * meanwhile starts after the claim. */
    scb_ring_op_begin(&w->ring, &w->w);
    need = w->ring.records ? scb_rec_need(&w->ring, &w->w, (uint32_t)len) : 1;
    if (room_for(w, need) < need) {
        scb_ring_op_end(&w->ring, &w->w);
        return again(w);
    }
    *ptr = w->ring.records ? scb_rec_reserve(&w->ring, &w->w, (uint32_t)len)
                           : scb_ring_reserve(&w->ring, &w->w);
    scb_ring_op_end(&w->ring, &w->w);
    return SCB_OK;
}

int scb_commit(scb_t *w, size_t len)
{
    if (w == NULL || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (!w->w.res_open)
        return SCB_EINVAL;
    if (w->ring.records ? len > w->w.res_len : len != w->ring.item_size)
        return SCB_EMSGSIZE;
    if (w->ring.records)
        scb_rec_commit(&w->ring, &w->w, (uint32_t)len);
    else
        scb_ring_commit(&w->ring, &w->w);
    wake_readers(w);
    return SCB_OK;
}

int scb_discard(scb_t *w)
{
    if (w == NULL || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (!w->w.res_open)
        return SCB_EINVAL;
    if (w->ring.records)
        scb_rec_discard(&w->ring, &w->w);
    else
        w->w.res_open = 0; /* the slot stays claimed: see ring.h */
    return SCB_OK;
}

int scb_peek(scb_t *r, const void **ptr, size_t *len)
{
    int rc;

    if (ptr != NULL)
        *ptr = NULL;
    if (len != NULL)
        *len = 0;
    if (r == NULL || ptr == NULL || len == NULL || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    if (!r->r.peeked) {
        uint64_t from = r->r.pos;

        rc = r->ring.records ? scb_rec_peek(&r->ring, &r->r)
                             : scb_ring_peek(&r->ring, &r->r);
        if (rc != SCB_OK) {
            reader_moved(r, from);
            return armed_rc(r, rc);
        }
    }
    *ptr = r->r.peek_ptr;
    *len = r->r.peek_len;
    return SCB_OK;
}

int scb_release(scb_t *r)
{
    uint64_t from;
    int rc;

    if (r == NULL || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    if (!r->r.peeked)
        return SCB_EINVAL;
    from = r->r.pos;
    rc = r->ring.records ? scb_rec_release(&r->ring, &r->r)
                         : scb_ring_release(&r->ring, &r->r);
    reader_moved(r, from);
    return rc;
}

/* 1 if the handle can go on: a reader has something to read (or a record
 * peeked); a writer has room for a push of item_size bytes (always in an
 * overwrite ring, and while a reservation is open).  A lossless writer
 * looks for dead readers here as a push does. */
static int ready(scb_t *h)
{
    uint64_t need;

    if (!h->is_writer)
        return scb_ring_readable(&h->ring, &h->r);
    if (h->ring.nslots == 0 || h->w.res_open)
        return 1;
    /* No push bracket: this decides nothing (the push that follows
     * decides again), and a waiting writer must not keep its counters'
     * line busy or make registering readers wait. */
    scb_ring_writer_refresh(&h->ring, &h->w);
    need = h->ring.records
               ? scb_rec_need(&h->ring, &h->w, h->ring.item_size)
               : 1;
    return room_for(h, need) >= need;
}

/* Polls ready() for up to the handle's spin time (and not past `deadline`,
 * 0: none), pausing the CPU between tries. */
static int spin_ready(scb_t *h, uint64_t deadline)
{
    uint64_t end;
    unsigned i, n;

    if (h->spin_ns == 0)
        return 0;
    end = scb_sys_now_ns() + h->spin_ns;
    if (deadline != 0 && deadline < end)
        end = deadline;
    for (n = 1;; n++) {
        for (i = 0; i < 8; i++)
            scb_sys_cpu_relax();
        if (ready(h))
            return 1;
        if ((n & 15) == 0 && scb_sys_now_ns() >= end)
            return 0;
    }
}

/* Waits until ready(h), or `deadline` (0: none) passes: SCB_OK or
 * SCB_ETIMEDOUT.  It polls for the spin time, then sleeps on the futex
 * word of its side: the sleeper reads the word and raises its flag
 * (sleep_prepare), checks ready() again, and sleeps on the value read; the
 * other side bumps the word and wakes it when the flag is set (see
 * ring.h).  A handle that may not raise the flag (a reader mapped
 * read-only, an observer, a process whose heavy barrier failed) polls with
 * short sleeps that back off.  A writer wakes at least every
 * REAP_INTERVAL_NS: a reader that died holding it back wakes nobody. */
static int wait_ready(scb_t *h, uint64_t deadline)
{
    scb_sys_chan_t *chan = h->is_writer ? h->wchan : h->rchan;
    scb_atomic_u32 *word =
        h->is_writer ? &h->ring.wait->wseq : &h->ring.wait->rseq;
    int64_t left;
    uint32_t seq = 0;
    unsigned attempt;
    int sleep_ok;

    if (spin_ready(h, deadline))
        return SCB_OK;
    for (attempt = 0;; attempt++) {
        sleep_ok = 0;
        if ((h->is_writer || h->shared_rw) && sleep_prepare_ok(h)) {
            seq = h->is_writer ? scb_ring_writer_sleep_prepare(&h->ring)
                               : scb_ring_reader_sleep_prepare(&h->ring);
            sleep_ok = barrier_for_sleep(h);
        }
        if (ready(h))
            return SCB_OK;
        left = remaining_ns(deadline);
        if (left == 0)
            return SCB_ETIMEDOUT;
        if (h->is_writer && (left < 0 || left > (int64_t)REAP_INTERVAL_NS))
            left = REAP_INTERVAL_NS;
        if (sleep_ok)
            scb_sys_wait(chan, word, seq, left, attempt);
        else
            nap(left, attempt);
    }
}

int scb_wait(scb_t *h, int64_t timeout_ms)
{
    if (h == NULL || foreign(h))
        return SCB_EINVAL;
    if (ready(h))
        return SCB_OK;
    if (timeout_ms == 0)
        return SCB_ETIMEDOUT;
    return wait_ready(h, deadline_of(timeout_ms));
}

/*
 * Doorbells (scb_fd).  A handle that called scb_fd owns a bell (sys.h) and
 * an entry in the ring's bell table (layout.h) that names it.  A call that
 * returns SCB_EAGAIN arms it: it empties the bell, sets the entry's armed
 * word and its side's SCB_WAIT_BELL bit, then checks ready() again,
 * exactly as a sleeper raises its flag and re-checks before it sleeps.
 * The other side, after it made progress, finds the bit (the same load
 * that tells it a sleeper waits), disarms every armed bell of that side
 * and rings each once.  So either the re-check sees the progress or the
 * ringer sees the bit: readiness is never lost, and while no handle is
 * armed the pusher's only cost is the flag load it always makes.
 */

/* Rings the bell named `key` of another handle, or this one's: 0 rung, 1
 * gone, -1 not rung now (sys.h). */
static int ring(scb_t *h, uint64_t key)
{
    return scb_sys_bell_ring(&h->ringer, key);
}

/* Takes an entry of the ring's bell table for the handle's bell (again,
 * after another process took its entry); a full table is reaped first. */
static int take_entry(scb_t *h)
{
    return scb_ring_bell_take(&h->ring, h->self_id, h->bell_key,
                              h->is_writer ? SCB_BELL_WRITER : SCB_BELL_READER,
                              scb_sys_proc_alive, scb_sys_bell_remove,
                              &h->bell_slot);
}

/* Arms the handle's bell (see above).  If ready() is true already, the
 * handle makes its own bell ready, unless the other side disarmed it
 * first (it rings it then).  A lossless writer's bell also gets a timer: a
 * reader that died holding it back rings nothing, and the next push frees
 * its slot.  An entry another process took (it judged this one dead, or
 * wrote over the table) is taken again where it can be; where it cannot,
 * the bell is made ready once (the loop comes back and finds out), then
 * stays quiet: with its table overwritten the handle can count on nothing,
 * and an event loop must not spin on it.  Where the heavy barrier of a ring
 * with asymmetric barriers fails after scb_fd (which refuses such a
 * process), the handle cannot count on the other side either and makes its
 * bell ready: spurious readiness, never a lost one. */
static void arm(scb_t *h)
{
    uint32_t role = h->is_writer ? SCB_BELL_WRITER : SCB_BELL_READER;

    scb_sys_bell_clear(h->bell);
    if (!scb_ring_bell_mine(h->bell_slot, h->self_id, h->bell_key) &&
        take_entry(h) != SCB_OK) {
        if (!h->bell_lost)
            scb_sys_bell_set(h->bell);
        h->bell_lost = 1;
        return;
    }
    h->bell_lost = 0;
    scb_ring_bell_arm(&h->ring, h->bell_slot, role);
    if (!h->no_heavy && barrier_for_sleep(h) && !ready(h)) {
        if (h->is_writer)
            scb_sys_bell_timer(h->bell, REAP_INTERVAL_NS);
        return;
    }
    if (scb_ring_bell_disarm(h->bell_slot))
        scb_sys_bell_set(h->bell);
}

void scb_handle_wake(scb_t *h, uint32_t bits)
{
    uint32_t role = h->is_writer ? SCB_BELL_READER : SCB_BELL_WRITER;
    struct scb_bell *b;
    uint32_t i = 0;
    uint64_t key;

    if (bits & SCB_WAIT_SLEEP) {
        if (h->is_writer)
            scb_sys_wake(h->rchan, &h->ring.wait->rseq);
        else
            scb_sys_wake(h->wchan, &h->ring.wait->wseq);
    }
    if (bits & SCB_WAIT_BELL)
        while (scb_ring_bell_next(&h->ring, role, 0, &i, &key)) {
            if (ring(h, key) >= 0)
                continue;
            /* Not rung (out of memory or descriptors): armed again while
             * its owner lives, so that the next progress tries again.
             * Bell i - 1 is the one scb_ring_bell_next disarmed. */
            b = &h->ring.bells[i - 1];
            if (scb_sys_proc_alive(scb_load_relaxed(&b->owner)))
                scb_ring_bell_arm(&h->ring, b, role);
        }
}

void scb_handle_ring_all(scb_t *w)
{
    uint32_t i = 0;
    uint64_t key;

    /* First the entries of dead owners (the writer replaced among them). */
    scb_ring_bell_reap(&w->ring, scb_sys_proc_alive, scb_sys_bell_remove);

    while (scb_ring_bell_next(&w->ring, SCB_BELL_READER, 1, &i, &key))
        (void)ring(w, key);
}

/* A key for a new bell: unlikely to be anyone else's, never 0. */
static uint64_t bell_key(const scb_t *h, unsigned attempt)
{
    uint64_t k = scb_sys_mix64(scb_sys_proc_self() ^
                               scb_sys_mix64(scb_sys_now_ns()) ^
                               (uint64_t)(uintptr_t)h ^ attempt);

    return k != 0 ? k : 1;
}

int scb_fd(scb_t *h, scb_fd_t *out)
{
    unsigned attempt;
    uint64_t key = 0;
    int rc = SCB_EEXIST;

    if (h == NULL || out == NULL || foreign(h))
        return SCB_EINVAL;
    if (h->bell == NULL) {
        /* The bell's entry is in the region readers write. */
        if (!h->shared_rw)
            return SCB_ENOTSUP;
        /* Arming is a sleeper's handshake: on a ring with asymmetric
         * barriers it needs the heavy barrier. */
        if (h->ring.asym_barriers &&
            (h->no_heavy || scb_sys_barrier_heavy() != 0)) {
            h->no_heavy = 1;
            return SCB_ENOTSUP;
        }
        for (attempt = 0; rc == SCB_EEXIST && attempt < 8; attempt++) {
            key = bell_key(h, attempt);
            rc = scb_sys_bell_open(key, h->is_writer,
                                   h->seg.has_perm ? h->seg.mode : h->mode,
                                   h->seg.has_perm ? h->seg.gid : UINT32_MAX,
                                   &h->bell);
        }
        if (rc == SCB_EEXIST)
            rc = SCB_ESYS; /* eight keys in use: errno says EADDRINUSE */
        if (rc != SCB_OK)
            return rc;
        if (h->self_id == 0)
            h->self_id = scb_sys_proc_self();
        h->bell_key = key;
        if ((rc = take_entry(h)) != SCB_OK) {
            scb_sys_bell_close(h->bell, 1);
            h->bell = NULL;
            return rc;
        }
    }
    *out = scb_sys_bell_fd(h->bell);
    return SCB_OK;
}

void scb_handle_fd_close(scb_t *h, int shared)
{
    /* A handle leaving frees the entries of dead owners and removes the
     * names they left: a killed owner's name is removed by nobody else
     * unless another handle needs its entry.  Its own cached descriptors
     * first: a name is removed only once nobody holds it open. */
    scb_sys_ringer_close(h->ringer);
    h->ringer = NULL;
    if (shared && h->shared_rw)
        scb_ring_bell_reap(&h->ring, scb_sys_proc_alive, scb_sys_bell_remove);
    if (h->bell != NULL && shared)
        scb_ring_bell_drop(&h->ring, h->bell_slot, h->self_id, h->bell_key);
    scb_sys_bell_close(h->bell, shared);
    h->bell = NULL;
}

/* scb_push with the signature wait_op takes. */
static int push_op(scb_t *w, void *item)
{
    return scb_push(w, item);
}

/* The _wait calls: `op` until it does not return SCB_EAGAIN, waiting for
 * ready() in between, until the deadline.  ready() may say yes and op still
 * find nothing (a writer that laps the reader on every try, or counters
 * another process scribbled over): then it naps before it waits again, so
 * such a call neither spins nor outlives its timeout. */
static int wait_op(scb_t *h, void *item, int64_t timeout_ms,
                   int (*op)(scb_t *, void *))
{
    uint64_t deadline = 0;
    unsigned round;
    int64_t left;
    int rc;

    for (round = 0;; round++) {
        rc = op(h, item);
        if (rc != SCB_EAGAIN || timeout_ms == 0)
            return rc;
        if (round == 0) {
            deadline = deadline_of(timeout_ms);
        } else {
            left = remaining_ns(deadline);
            if (left == 0)
                return SCB_ETIMEDOUT;
            nap(left, round - 1);
        }
        rc = wait_ready(h, deadline);
        if (rc != SCB_OK)
            return rc;
    }
}

int scb_push_wait(scb_t *w, const void *item, int64_t timeout_ms)
{
    return wait_op(w, (void *)item, timeout_ms, push_op);
}

int scb_pop_wait(scb_t *r, void *item, int64_t timeout_ms)
{
    return wait_op(r, item, timeout_ms, scb_pop);
}
