/*
 * ring.c - push and pop over a mapped ring (see ring.h for the protocol).
 *
 * This is the fast path: no OS calls, no allocation, no division except on
 * the slow paths where a reader skips over lost items.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <string.h>

#include "ring.h"

/* Distances between positions are true distances only below 2^63; a larger
 * difference means "behind", or a corrupt counter. */
static inline int ahead(uint64_t a, uint64_t b)
{
    return (int64_t)(a - b) > 0;
}

/* The slot of position p.  Relative to origin, so that it stays continuous
 * when the counters wrap past 2^64 (2^64 is rarely a multiple of length). */
static inline uint64_t slot_of(const scb_ring_t *r, uint64_t p)
{
    return (p - r->origin) % r->length;
}

void scb_ring_attach(scb_ring_t *r, void *base, const scb_geom_t *g)
{
    r->hdr = base;
    r->items = (uint8_t *)base + g->items_off;
    r->length = g->length;
    r->item_size = g->item_size;
    r->origin = g->origin;
    r->wait = (struct scb_wait *)((uint8_t *)base + g->shared_off);
    r->slots = (struct scb_slot *)(r->wait + 1);
    r->nslots = g->max_readers;
    r->bells = (struct scb_bell *)(r->slots + r->nslots);
    r->asym_barriers = g->barrier_mode != 0;
    r->records = (g->flags & SCB_RECORDS) != 0;
    /* The caller decides, once its process is registered for the heavy
     * barrier. */
    r->fast_unfenced = 0;
    r->step_hook = NULL;
    r->step_arg = NULL;
}

void scb_ring_writer_start(const scb_ring_t *r, scb_wcursor_t *w)
{
    uint64_t head = scb_load_acquire(&r->hdr->head);
    uint64_t claim = scb_load_relaxed(&r->hdr->claim);

    /* claim never goes down: a lower value would let readers trust a slot a
     * dead writer half overwrote.  Below head it can only be corrupt. */
    if (ahead(head, claim)) {
        claim = head;
        scb_store_relaxed(&r->hdr->claim, claim);
    }
    w->claim = claim;
    w->res_open = 0;
    if (claim - head > r->length) {
        /* A writer died inside a batch larger than the ring: readers may
         * already have skipped to claim - length.  Continue from there, and
         * publish the positions before it as pushed (claim marks them
         * overwritten, so readers count them lost).  Records never reach
         * a claim this far ahead (a reservation is less than the space):
         * there only a corrupt claim does, and the writer goes on from the
         * first multiple of 8 it leaves intact, where readers lapped by it
         * resume (scb_rec_writer_start makes it the tail). */
        head = claim - r->length;
        if (r->records && (head - r->origin) % 8 != 0)
            head += 8 - (head - r->origin) % 8;
        scb_store_release(&r->hdr->head, head);
    }
    /* Otherwise continue at head: the slots a dead writer began stay
     * unpublished until this writer has written them again. */
    w->pos = head;
    w->idx = slot_of(r, head);
    if (r->nslots > 0) {
        /* A writer that died mid-push left push_seq odd: make it even, so
         * that odd means "under way" again (this is the only writer now). */
        w->push_seq = scb_load_relaxed(&r->hdr->push_seq);
        if (w->push_seq & 1)
            scb_store_release(&r->hdr->push_seq, ++w->push_seq);
        w->reg_gen_seen = scb_load32_seq_cst(&r->wait->reg_gen);
    }
    w->have_readers = scb_ring_readers_min(r, head, &w->min);
    if (!w->have_readers)
        w->min = head;
    if (r->records)
        scb_rec_writer_start(r, w);
}

void scb_ring_reader_start(const scb_ring_t *r, scb_rcursor_t *c, int latest)
{
    uint64_t head, kept;

    if (r->records) {
        scb_rec_reader_start(r, c, latest);
        return;
    }
    head = scb_load_acquire(&r->hdr->head);
    kept = head - r->origin;
    if (latest || (int64_t)kept < 0)
        kept = 0;
    else if (kept > r->length)
        kept = r->length;
    scb_ring_cursor_reset(r, c, head - kept, head);
}

void scb_ring_cursor_reset(const scb_ring_t *r, scb_rcursor_t *c,
                           uint64_t pos, uint64_t head)
{
    c->pos = pos;
    c->idx = slot_of(r, pos);
    c->head = head;
    c->lost = 0;
    c->slot = NULL;
    c->self = 0;
    c->tag = 0;
    c->published = 0;
    c->evicted = 0;
    c->seq = 0;
    c->seq_known = 0;
    c->peeked = 0;
}

void scb_ring_reap(const scb_ring_t *r, scb_ring_alive_fn alive)
{
    uint32_t i, hi = scb_load32_acquire(&r->wait->slots_hi);

    if (hi > r->nslots)
        hi = r->nslots;
    for (i = 0; i < hi; i++) {
        struct scb_slot *slot = &r->slots[i];
        uint64_t owner = scb_load_acquire(&slot->owner);

        if (owner != 0 && !alive(owner))
            scb_cas(&slot->owner, &owner, 0);
    }
}

uint32_t scb_ring_readers_live(const scb_ring_t *r, scb_ring_alive_fn alive)
{
    uint32_t i, n = 0, hi = scb_load32_acquire(&r->wait->slots_hi);
    uint64_t owner;

    if (hi > r->nslots)
        hi = r->nslots;
    for (i = 0; i < hi; i++) {
        owner = scb_load_acquire(&r->slots[i].owner);
        if (owner != 0 && alive(owner))
            n++;
    }
    return n;
}

int scb_ring_slot_take(const scb_ring_t *r, uint64_t self,
                       scb_ring_alive_fn alive, struct scb_slot **slot)
{
    uint32_t i, hi, pass;

    for (pass = 0; pass < (alive != NULL ? 2 : 1); pass++) {
        if (pass == 1)
            scb_ring_reap(r, alive);
        for (i = 0; i < r->nslots; i++) {
            uint64_t free_owner = 0;
            if (scb_cas(&r->slots[i].owner, &free_owner, self)) {
                /* Until register_begin stores this reader's position, a
                 * writer's scan reads the previous owner's: a push decided
                 * on it is one the registration handshake waits for and
                 * starts after (spin/register.pml reuses slots).  Let the
                 * writer's scans reach this slot. */
                hi = scb_load32_acquire(&r->wait->slots_hi);
                while (hi < i + 1 &&
                       !scb_cas32(&r->wait->slots_hi, &hi, i + 1))
                    ;
                *slot = &r->slots[i];
                return SCB_OK;
            }
        }
    }
    return SCB_ELIMIT;
}

void scb_ring_reader_register_begin(const scb_ring_t *r, scb_rcursor_t *c,
                                    struct scb_slot *slot, uint64_t self,
                                    enum scb_start start)
{
    if (start != SCB_START_RESUME)
        scb_ring_reader_start(r, c, start == SCB_START_LATEST);
    c->slot = slot;
    c->self = self;
    c->evicted = 0;
    /* A tag no earlier registration had (modulo 2^32), stored before the
     * position: a reader evicted from this slot stops writing to it once it
     * sees the tag change, whoever took the slot. */
    c->tag = (uint64_t)scb_add32_seq_cst(&r->wait->tags, 1) + 1;
    scb_store_relaxed(&slot->tag, c->tag);
    /* Release: the tag and the position are in the slot before the
     * announcement. */
    scb_store_release(&slot->pos, c->pos);
    c->published = c->pos;
    /* Announce, then (scb_ring_writer_push_seq) look at the writer.  The
     * full fence here pairs with the barrier in scb_ring_op_begin between
     * the writer's push_seq store and its reg_gen load: either the writer's
     * next scan sees this slot, or push_seq reads odd and the reader waits
     * for the push that may have missed it. */
    scb_add32_seq_cst(&r->wait->reg_gen, 1);
    scb_fence_full();
}

uint64_t scb_ring_writer_push_seq(const scb_ring_t *r)
{
    return scb_load_acquire(&r->hdr->push_seq);
}

/* Moves the cursor forward to `target`, counting what it skips as lost. */
static void skip_to(const scb_ring_t *r, scb_rcursor_t *c, uint64_t target)
{
    if (!ahead(target, c->pos))
        return;
    c->lost += target - c->pos;
    c->pos = target;
    c->idx = slot_of(r, target);
}

/* How often slot_publish retries a compare-and-swap that found a value
 * it did not store while the slot still looks its own. */
#define PUBLISH_TRIES 4

/* Stores the reader's position in its slot, if the slot is still this
 * registration's.  The owner and tag loads (from the line the store goes
 * to anyway) catch a slot reaped and taken since; the compare-and-swap from
 * the value this registration last stored catches one taken between those
 * loads and the store, so an evicted reader never moves another reader's
 * position except forward, and only in the one case where that reader
 * started exactly where this one last was.  The reader that owns the slot
 * then finds a value it did not store: its acquire on the failed CAS makes
 * a newer registration's tag visible if there is one, so with owner and
 * tag still its own the value can only be such a stale store, and it
 * stores its position over it.  Release (the CAS is acq_rel): the copies
 * are complete before the writer may reuse their slots; pairs with the
 * acquire load in scb_ring_readers_min.  Returns 0 and evicts the cursor
 * if the slot is gone (giving it back if it somehow still is its own). */
static int slot_publish(scb_rcursor_t *c)
{
    uint64_t expected = c->published, me = c->self;
    int tries;

    for (tries = 0; tries < PUBLISH_TRIES; tries++) {
        if (scb_load_relaxed(&c->slot->owner) != c->self ||
            scb_load_relaxed(&c->slot->tag) != c->tag)
            break;
        if (scb_cas(&c->slot->pos, &expected, c->pos)) {
            c->published = c->pos;
            return 1;
        }
    }
    if (tries == PUBLISH_TRIES && scb_load_relaxed(&c->slot->tag) == c->tag)
        scb_cas(&c->slot->owner, &me, 0); /* never left held by nobody */
    c->slot = NULL;
    c->evicted = 1;
    return 0;
}

int scb_ring_reader_register_end(const scb_ring_t *r, scb_rcursor_t *c,
                                 enum scb_start start)
{
    /* A push decided before the registration may have overwritten the
     * oldest items: start after what it claimed.  Acquire pairs with the
     * release increment of push_seq in scb_ring_op_end.  A new reader owed
     * nothing before its start; one registering again lost them. */
    uint64_t claim, lost = c->lost;

    (void)scb_load_acquire(&r->hdr->push_seq);
    claim = scb_load_acquire(&r->hdr->claim);
    if (ahead(claim, c->pos) && claim - c->pos > r->length && r->records) {
        /* Records: to the oldest one kept, a record boundary.  A new
         * reader takes its sequence number from there. */
        if (start != SCB_START_RESUME)
            c->seq_known = 0;
        scb_rec_reader_resync(r, c);
        if (!slot_publish(c))
            return -1;
    } else if (ahead(claim, c->pos) && claim - c->pos > r->length) {
        skip_to(r, c, claim - r->length);
        if (start != SCB_START_RESUME)
            c->lost = lost;
        if (!slot_publish(c))
            return -1;
    }
    c->head = scb_load_acquire(&r->hdr->head);
    return 0;
}

void scb_ring_reader_unregister(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t me = c->self;

    (void)r;
    /* The tag tells this registration from a later one of the same
     * process (another handle) that took the slot after a reap.  Between
     * the tag load and the CAS such a registration could still slip in:
     * it is then unregistered too, and finds out at its next pop
     * (slot_publish), registering again. */
    if (c->slot != NULL && scb_load_relaxed(&c->slot->tag) == c->tag)
        scb_cas(&c->slot->owner, &me, 0);
    c->slot = NULL;
}

/* The fast side of a handshake: orders its store before its load. */
static inline void fast_side_barrier(const scb_ring_t *r)
{
    if (r->fast_unfenced)
        scb_fence_compiler();
    else
        scb_fence_full();
}

void scb_ring_writer_refresh(const scb_ring_t *r, scb_wcursor_t *w)
{
    uint32_t reg_gen;

    if (r->nslots == 0)
        return;
    /* Acquire: a registration seen here has its slot (owner, slots_hi,
     * pos, all stored before its seq_cst increment) visible to the rescan
     * below.  A reader registered: rescan before trusting the cached
     * room. */
    reg_gen = scb_load32_acquire(&r->wait->reg_gen);
    if (reg_gen != w->reg_gen_seen) {
        w->reg_gen_seen = reg_gen;
        w->have_readers = scb_ring_readers_min(r, w->pos, &w->min);
        if (!w->have_readers)
            w->min = w->pos;
    }
}

void scb_ring_op_begin(const scb_ring_t *r, scb_wcursor_t *w)
{
    if (r->nslots == 0)
        return;
    /* push_seq odd: a push is under way.  The barrier pairs with the fence
     * (and with asymmetric barriers the heavy barrier) after a
     * registration's announcement in scb_ring_reader_register_begin. */
    scb_store_relaxed(&r->hdr->push_seq, ++w->push_seq);
    fast_side_barrier(r);
    scb_ring_writer_refresh(r, w);
}

void scb_ring_op_end(const scb_ring_t *r, scb_wcursor_t *w)
{
    if (r->nslots == 0)
        return;
    /* push_seq even again; release: what the push wrote (claim, head,
     * items) is visible to a registering reader that sees the new value. */
    scb_store_release(&r->hdr->push_seq, ++w->push_seq);
}

int scb_ring_readers_min(const scb_ring_t *r, uint64_t pos, uint64_t *min)
{
    uint32_t i, hi = scb_load32_acquire(&r->wait->slots_hi);
    uint64_t m = pos, p;
    int have_readers = 0;

    if (hi > r->nslots)
        hi = r->nslots;
    for (i = 0; i < hi; i++) {
        if (scb_load_acquire(&r->slots[i].owner) == 0)
            continue;
        /* Pairs with the release store of pos after a reader's copy: the
         * reader is done with everything before p. */
        p = scb_load_acquire(&r->slots[i].pos);
        have_readers = 1;
        if (ahead(p, pos))
            continue; /* wants only items not pushed yet */
        if (pos - p > r->length)
            p = pos - r->length; /* those are gone already */
        if (ahead(m, p))
            m = p;
    }
    *min = m;
    return have_readers;
}

uint64_t scb_ring_room(const scb_ring_t *r, scb_wcursor_t *w, uint64_t want)
{
    uint64_t used;

    /* With nobody registered at the last scan there is no limit: a reader
     * that registers since bumps reg_gen, and scb_ring_op_begin rescans. */
    if (r->nslots == 0 || !w->have_readers)
        return UINT64_MAX;
    used = w->pos - w->min;
    if (used <= r->length && r->length - used >= want)
        return r->length - used;
    /* Out of cached room: look again. */
    w->have_readers = scb_ring_readers_min(r, w->pos, &w->min);
    if (!w->have_readers) {
        w->min = w->pos;
        return UINT64_MAX;
    }
    return r->length - (w->pos - w->min);
}

/* The sleeper's side of a wake handshake, in event-count order: read the
 * word, then raise the flag.  A waker that clears the flag after this load
 * bumps the word after that too (its increment is a release, after its
 * store of 0), so a sleep on the value read here returns at once; a waker
 * whose increment this load saw had cleared the flag before, so the flag
 * raised here stands for the next one.  Either way the sleeper's sleep ends
 * at the next progress: no lost wake-up (spin/wake.pml checks it).  Acquire
 * keeps the flag store after the load; the full fence orders the flag
 * before the caller's re-check of its condition and pairs with the barrier
 * in waiting(). */
static uint32_t sleep_prepare(const scb_ring_t *r, scb_atomic_u32 *seq,
                              scb_atomic_u32 *flag)
{
    uint32_t s = scb_load32_acquire(seq);

    if (r->step_hook != NULL)
        r->step_hook(r->step_arg);
    scb_or32_acq_rel(flag, SCB_WAIT_SLEEP);
    scb_fence_full();
    return s;
}

/* The waker's side, after publishing progress: the barrier orders what was
 * just published before the flag load (full fence, or with asymmetric
 * barriers a compiler barrier paired with the sleeper's heavy barrier).
 * The flag is only a hint that saves the wake system call: the word is the
 * truth.  Returns the bits it cleared. */
static uint32_t waiting(const scb_ring_t *r, scb_atomic_u32 *seq,
                        scb_atomic_u32 *flag)
{
    uint32_t bits;

    fast_side_barrier(r);
    if (scb_load32_relaxed(flag) == 0)
        return 0;
    /* Acquire: an armed bell's key and armed store come before its bit. */
    bits = scb_xchg32_acq_rel(flag, 0);
    if (bits == 0)
        return 0; /* another waker (a reader) took them */
    /* Release: the flag is clear before the bump (see sleep_prepare). */
    scb_add32_release(seq, 1);
    return bits;
}

uint32_t scb_ring_reader_sleep_prepare(const scb_ring_t *r)
{
    return sleep_prepare(r, &r->wait->rseq, &r->wait->rwait);
}

uint32_t scb_ring_readers_waiting(const scb_ring_t *r)
{
    return waiting(r, &r->wait->rseq, &r->wait->rwait);
}

uint32_t scb_ring_writer_sleep_prepare(const scb_ring_t *r)
{
    return sleep_prepare(r, &r->wait->wseq, &r->wait->wwait);
}

uint32_t scb_ring_writer_waiting(const scb_ring_t *r)
{
    return waiting(r, &r->wait->wseq, &r->wait->wwait);
}

/* Announces that positions before `end` are being written.  The release
 * fence orders the claim before the item stores that follow; it pairs with
 * the acquire fence a reader issues after its copy and before it re-reads
 * claim. */
static inline void claim_to(const scb_ring_t *r, scb_wcursor_t *w, uint64_t end)
{
    if (ahead(end, w->claim)) {
        w->claim = end;
        scb_store_relaxed(&r->hdr->claim, end);
        scb_fence_release();
    }
}

/* Copies n <= length items into the ring starting at slot idx, wrapping. */
static void copy_in(const scb_ring_t *r, uint64_t idx, const uint8_t *src,
                    uint64_t n)
{
    uint64_t first = r->length - idx;
    size_t sz = r->item_size;

    if (first > n)
        first = n;
    memcpy(r->items + idx * sz, src, first * sz);
    if (n > first)
        memcpy(r->items, src + first * sz, (n - first) * sz);
}

/* Copies n <= length items out of the ring starting at slot idx, wrapping.
 * The writer may be overwriting these very bytes: the caller re-validates
 * with claim afterwards and discards what was torn. */
static void copy_out(const scb_ring_t *r, uint64_t idx, uint8_t *dst,
                     uint64_t n)
{
    uint64_t first = r->length - idx;
    size_t sz = r->item_size;

    if (first > n)
        first = n;
    memcpy(dst, r->items + idx * sz, first * sz);
    if (n > first)
        memcpy(dst + first * sz, r->items, (n - first) * sz);
}

void scb_ring_push(const scb_ring_t *r, scb_wcursor_t *w, const void *item)
{
    uint64_t next = w->pos + 1;

    claim_to(r, w, next);
    copy_in(r, w->idx, item, 1);
    w->pos = next;
    if (++w->idx == r->length)
        w->idx = 0;
    /* Publishes the item; pairs with the acquire load of head in pop. */
    scb_store_release(&r->hdr->head, next);
}

void scb_ring_push_many(const scb_ring_t *r, scb_wcursor_t *w,
                        const void *items, size_t n)
{
    const uint8_t *src = items;
    uint64_t end = w->pos + n;
    uint64_t m = n, idx = w->idx;

    if (n == 0)
        return;
    claim_to(r, w, end);
    if (m > r->length) {
        /* Only the last `length` items can survive the batch: the earlier
         * ones count as pushed and at once overwritten. */
        uint64_t skip = m - r->length;
        src += skip * r->item_size;
        idx = slot_of(r, w->pos + skip);
        m = r->length;
    }
    copy_in(r, idx, src, m);
    idx += m;
    if (idx >= r->length)
        idx -= r->length;
    w->pos = end;
    w->idx = idx;
    /* Publishes the batch; pairs with the acquire load of head in pop. */
    scb_store_release(&r->hdr->head, end);
}

/* Items readable now from the cursor, refreshing the cached head only when
 * the cache says fewer than `want` (so the writer's line is not pulled on
 * every call).  Skips what the writer has lapped. */
static uint64_t available(const scb_ring_t *r, scb_rcursor_t *c, uint64_t want)
{
    uint64_t avail = c->head - c->pos;

    if (avail < want || (int64_t)avail < 0) {
        /* Pairs with the release store of head in push: the items before
         * head are visible once head is. */
        c->head = scb_load_acquire(&r->hdr->head);
        avail = c->head - c->pos;
        if (avail == 0 || (int64_t)avail < 0)
            return 0;
    }
    if (avail > r->length) {
        skip_to(r, c, c->head - r->length);
        avail = r->length;
    }
    return avail;
}

/* After a copy of positions [pos, pos + n): how many of them, from the
 * first, the writer may have overwritten meanwhile. */
static uint64_t torn(const scb_ring_t *r, const scb_rcursor_t *c, uint64_t n,
                     uint64_t *claim)
{
    uint64_t behind;

    /* Orders the copy before the re-read of claim; pairs with the release
     * fence after the writer raises claim. */
    scb_fence_acquire();
    *claim = scb_load_relaxed(&r->hdr->claim);
    behind = *claim - c->pos;
    if (behind <= r->length)
        return 0;
    behind -= r->length;
    return behind < n ? behind : n;
}

/* Where a reader the writer overran while it copied goes on.  The first
 * time in a call, at the oldest item kept, claim - length: if the writer
 * has stopped, nothing more is lost.  But that is the very slot a writer
 * still running overwrites next, and a reader resuming there races it
 * again and again; overrun a second time in the same call, it resumes a
 * sixteenth of the ring further (items it would lose to that race anyway),
 * which lets it read a run of items in peace. */
static inline uint64_t overrun_target(const scb_ring_t *r, uint64_t claim,
                                      int again)
{
    return claim - r->length + (again ? r->length / 16 : 0);
}

static inline void advance(const scb_ring_t *r, scb_rcursor_t *c, uint64_t n)
{
    c->pos += n;
    c->idx += n;
    if (c->idx >= r->length)
        c->idx -= r->length;
}

/* A registered reader tells the writer how far it has read (slot_publish),
 * when it moved. */
static inline void publish(scb_rcursor_t *c)
{
    if (c->slot != NULL && c->pos != c->published)
        (void)slot_publish(c);
}

void scb_ring_publish(scb_rcursor_t *c)
{
    (void)slot_publish(c);
}

int scb_ring_pop(const scb_ring_t *r, scb_rcursor_t *c, void *item)
{
    uint64_t claim = 0;
    int tries, rc = SCB_EAGAIN;

    for (tries = 0; tries < SCB_POP_TRIES; tries++) {
        if (available(r, c, 1) == 0)
            break;
        copy_out(r, c->idx, item, 1);
        if (torn(r, c, 1, &claim) == 0) {
            advance(r, c, 1);
            rc = SCB_OK;
            break;
        }
        skip_to(r, c, overrun_target(r, claim, tries > 0));
    }
    publish(c);
    return rc;
}

int scb_ring_pop_many(const scb_ring_t *r, scb_rcursor_t *c, void *items,
                      size_t max, size_t *count)
{
    uint8_t *dst = items;
    uint64_t n, bad, claim = 0;
    int tries, rc = SCB_EAGAIN;

    *count = 0;
    if (max == 0)
        return SCB_EAGAIN;
    for (tries = 0; tries < SCB_POP_TRIES; tries++) {
        n = available(r, c, max);
        if (n == 0)
            break;
        if (n > max)
            n = max;
        copy_out(r, c->idx, dst, n);
        bad = torn(r, c, n, &claim);
        if (bad == n) {
            skip_to(r, c, overrun_target(r, claim, tries > 0));
            continue;
        }
        if (bad > 0) {
            /* The oldest `bad` copies may be torn: keep the rest. */
            memmove(dst, dst + bad * r->item_size, (n - bad) * r->item_size);
            skip_to(r, c, c->pos + bad);
            n -= bad;
        }
        advance(r, c, n);
        *count = (size_t)n;
        rc = SCB_OK;
        break;
    }
    publish(c);
    return rc;
}

void *scb_ring_reserve(const scb_ring_t *r, scb_wcursor_t *w)
{
    claim_to(r, w, w->pos + 1);
    w->res_open = 1;
    return r->items + w->idx * r->item_size;
}

void scb_ring_commit(const scb_ring_t *r, scb_wcursor_t *w)
{
    uint64_t next = w->pos + 1;

    w->res_open = 0;
    w->pos = next;
    if (++w->idx == r->length)
        w->idx = 0;
    /* Publishes the item; pairs with the acquire load of head in pop. */
    scb_store_release(&r->hdr->head, next);
}

int scb_ring_peek(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t claim;
    int tries;

    for (tries = 0; tries < SCB_POP_TRIES; tries++) {
        if (available(r, c, 1) == 0)
            break;
        /* Not already being overwritten (release checks the rest). */
        claim = scb_load_acquire(&r->hdr->claim);
        if (claim - c->pos <= r->length) {
            c->peeked = 1;
            c->peek_ptr = r->items + c->idx * r->item_size;
            c->peek_len = r->item_size;
            c->peek_span = 1;
            return SCB_OK;
        }
        skip_to(r, c, overrun_target(r, claim, tries > 0));
    }
    publish(c);
    return SCB_EAGAIN;
}

int scb_ring_release(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t claim;
    int rc = SCB_OK;

    c->peeked = 0;
    if (torn(r, c, 1, &claim) != 0) {
        c->lost++;
        rc = SCB_EOVERRUN;
    }
    advance(r, c, 1);
    publish(c);
    return rc;
}

int scb_ring_readable(const scb_ring_t *r, scb_rcursor_t *c)
{
    if (c->peeked)
        return 1;
    c->head = scb_load_acquire(&r->hdr->head);
    return ahead(c->head, c->pos);
}

uint64_t scb_ring_pushed(const scb_ring_t *r)
{
    if (r->records)
        return scb_load_acquire(&r->hdr->records) - r->origin;
    return scb_load_acquire(&r->hdr->head) - r->origin;
}

uint64_t scb_ring_writer_usage(const scb_ring_t *r)
{
    uint64_t n = scb_load_acquire(&r->hdr->head);

    /* Records: the bytes from the oldest record kept. */
    n -= r->records ? scb_load_relaxed(&r->hdr->tail) : r->origin;

    if ((int64_t)n < 0)
        return 0;
    return n < r->length ? n : r->length;
}

uint64_t scb_ring_reader_usage(const scb_ring_t *r, const scb_rcursor_t *c)
{
    uint64_t n = scb_load_acquire(&r->hdr->head) - c->pos;

    if ((int64_t)n < 0)
        return 0;
    return n < r->length ? n : r->length;
}

uint64_t scb_ring_reader_lost(const scb_ring_t *r, const scb_rcursor_t *c)
{
    /* What the writer has begun to overwrite counts: claim, not head
     * (they differ while a push is under way, and after a reservation
     * was dropped or committed shorter). */
    uint64_t n = scb_load_acquire(&r->hdr->claim) - c->pos;

    if ((int64_t)n < 0 || n <= r->length)
        return c->lost;
    if (r->records) {
        /* Lapped: what it will skip is counted when it resumes; until then
         * the writer's tail says (a report, not exact while it moves). */
        n = scb_load_relaxed(&r->hdr->tail_seq) - c->seq;
        return c->lost + (c->seq_known && (int64_t)n > 0 ? n : 0);
    }
    return c->lost + (n - r->length);
}
