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

/* After the writer published items: wake readers asleep in scb_pop_wait. */
static inline void wake_readers(scb_t *w)
{
    if (scb_ring_readers_waiting(&w->ring))
        scb_sys_wake(w->rchan, &w->ring.wait->rseq);
}

/* After a lossless reader published its position: wake a writer asleep in
 * scb_push_wait. */
static inline void wake_writer(scb_t *r)
{
    if (r->r.slot != NULL && scb_ring_writer_waiting(&r->ring))
        scb_sys_wake(r->wchan, &r->ring.wait->wseq);
}

/* Room for `want` items now, looking for dead readers once if there is
 * none. */
static uint64_t room_for(scb_t *w, uint64_t want)
{
    uint64_t room = scb_ring_room(&w->ring, &w->w, want);

    if (room == 0) {
        writer_reap(w);
        room = scb_ring_room(&w->ring, &w->w, want);
    }
    return room;
}

int scb_push(scb_t *w, const void *item)
{
    if (w == NULL || item == NULL || foreign(w))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    scb_ring_op_begin(&w->ring, &w->w);
    if (room_for(w, 1) == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return SCB_EAGAIN;
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
    if (n == 0)
        return SCB_OK;
    scb_ring_op_begin(&w->ring, &w->w);
    room = room_for(w, n);
    if (room == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return SCB_EAGAIN;
    }
    if (room < n)
        n = (size_t)room;
    scb_ring_push_many(&w->ring, &w->w, items, n);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    *count = n;
    return SCB_OK;
}

/* scb_push with the signature spin() takes. */
static int push_op(scb_t *w, void *item)
{
    return scb_push(w, item);
}

/* Retries `op` for up to the handle's spin time (and not past `deadline`,
 * 0: none), pausing the CPU between tries; SCB_EAGAIN if it never
 * succeeded. */
static int spin(scb_t *h, void *item, uint64_t deadline,
                int (*op)(scb_t *, void *))
{
    uint64_t start, end;
    unsigned i, n;
    int rc;

    if (h->spin_ns == 0)
        return SCB_EAGAIN;
    start = scb_sys_now_ns();
    end = start + h->spin_ns;
    if (deadline != 0 && deadline < end)
        end = deadline;
    for (n = 1;; n++) {
        for (i = 0; i < 8; i++)
            scb_sys_cpu_relax();
        rc = op(h, item);
        if (rc != SCB_EAGAIN)
            return rc;
        if ((n & 15) == 0 && scb_sys_now_ns() >= end)
            return SCB_EAGAIN;
    }
}

/* The start of a _wait call: one try of op, then, if it found nothing and
 * the caller may wait, the spin.  Returns 1 when the call is over (*rc is
 * its result), 0 when it must go on to sleep until *deadline. */
static int wait_start(scb_t *h, void *item, int64_t timeout_ms,
                      int (*op)(scb_t *, void *), int *rc, uint64_t *deadline)
{
    *rc = op(h, item);
    if (*rc != SCB_EAGAIN || timeout_ms == 0)
        return 1;
    *deadline = deadline_of(timeout_ms);
    *rc = spin(h, item, *deadline, op);
    return *rc != SCB_EAGAIN;
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

int scb_push_wait(scb_t *w, const void *item, int64_t timeout_ms)
{
    uint64_t deadline;
    int64_t left;
    uint32_t seq;
    unsigned attempt;
    int rc, heavy_ok;

    if (wait_start(w, (void *)item, timeout_ms, push_op, &rc, &deadline))
        return rc;
    for (attempt = 0;; attempt++) {
        /* A writer whose heavy barrier failed on a ring with asymmetric
         * barriers polls, and raises no flag that would make readers issue
         * needless wakes. */
        heavy_ok = sleep_prepare_ok(w);
        seq = heavy_ok ? scb_ring_writer_sleep_prepare(&w->ring) : 0;
        if (heavy_ok && !barrier_for_sleep(w))
            heavy_ok = 0;
        rc = scb_push(w, item);
        if (rc != SCB_EAGAIN)
            return rc;
        left = remaining_ns(deadline);
        if (left == 0)
            return SCB_ETIMEDOUT;
        /* Wake up at least every REAP_INTERVAL_NS: a reader that died
         * holding the writer back wakes nobody. */
        if (left < 0 || left > (int64_t)REAP_INTERVAL_NS)
            left = REAP_INTERVAL_NS;
        if (heavy_ok)
            scb_sys_wait(w->wchan, &w->ring.wait->wseq, seq, left, attempt);
        else
            nap(left, attempt);
    }
}

int scb_pop(scb_t *r, void *item)
{
    int rc;

    if (r == NULL || item == NULL || foreign(r))
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    rc = scb_ring_pop(&r->ring, &r->r, item);
    if (rc == SCB_OK)
        wake_writer(r);
    if (r->r.evicted)
        scb_handle_rejoin(r);
    return rc;
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
    rc = scb_ring_pop_many(&r->ring, &r->r, items, max, count);
    if (rc == SCB_OK)
        wake_writer(r);
    if (r->r.evicted)
        scb_handle_rejoin(r);
    return rc;
}

int scb_pop_wait(scb_t *r, void *item, int64_t timeout_ms)
{
    uint64_t deadline;
    int64_t left;
    uint32_t seq = 0;
    unsigned attempt;
    int rc, sleep_ok;

    if (wait_start(r, item, timeout_ms, scb_pop, &rc, &deadline))
        return rc;
    for (attempt = 0;; attempt++) {
        /* A reader that may write the wait line raises its flag and sleeps
         * until the writer bumps the word; one mapped read-only cannot (nor
         * one that cannot issue the heavy barrier of a ring with asymmetric
         * barriers), and polls with short sleeps that back off (attempt). */
        sleep_ok = 0;
        if (r->shared_rw && sleep_prepare_ok(r)) {
            seq = scb_ring_reader_sleep_prepare(&r->ring);
            sleep_ok = barrier_for_sleep(r);
            rc = scb_pop(r, item);
            if (rc != SCB_EAGAIN)
                return rc;
        }
        left = remaining_ns(deadline);
        if (left == 0)
            return SCB_ETIMEDOUT;
        if (sleep_ok)
            scb_sys_wait(r->rchan, &r->ring.wait->rseq, seq, left, attempt);
        else
            nap(left, attempt);
        rc = scb_pop(r, item);
        if (rc != SCB_EAGAIN)
            return rc;
    }
}


/* The 0.2 calls, declared ahead of their implementation. */
int scb_push_record(scb_t *w, const void *data, size_t len)
{
    (void)w; (void)data; (void)len;
    return SCB_ENOTSUP;
}

int scb_pop_record(scb_t *r, void *buf, size_t cap, size_t *len)
{
    (void)r; (void)buf; (void)cap; (void)len;
    return SCB_ENOTSUP;
}

int scb_reserve(scb_t *w, size_t len, void **ptr)
{
    (void)w; (void)len; (void)ptr;
    return SCB_ENOTSUP;
}

int scb_commit(scb_t *w, size_t len)
{
    (void)w; (void)len;
    return SCB_ENOTSUP;
}

int scb_discard(scb_t *w)
{
    (void)w;
    return SCB_ENOTSUP;
}

int scb_peek(scb_t *r, const void **ptr, size_t *len)
{
    (void)r; (void)ptr; (void)len;
    return SCB_ENOTSUP;
}

int scb_release(scb_t *r)
{
    (void)r;
    return SCB_ENOTSUP;
}

int scb_wait(scb_t *h, int64_t timeout_ms)
{
    (void)h; (void)timeout_ms;
    return SCB_ENOTSUP;
}
