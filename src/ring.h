/*
 * ring.h - the ring algorithm over a mapped segment: one writer, any number
 * of readers, overwrite with exact loss counting.
 *
 * The writer owns two shared counters: `claim`, the position after the last
 * item it has begun to write, and `head`, the position after the last item
 * it has finished.  Positions are free-running 64-bit counters (they may
 * wrap; every comparison is on differences).  Position p lives in slot
 * p % length.  Before it overwrites a slot the writer raises claim; after
 * copying an item out, a reader re-reads claim: if claim - p > length, the
 * writer has begun position p + length or later, the copy may be torn, and
 * the item counts as lost.  A writer killed mid-push leaves claim > head;
 * the next writer never lowers claim, so the half-written slots stay
 * unpublished (it writes them again before it publishes them) and whatever
 * they held stays marked overwritten.  If the dead writer's batch was larger
 * than the ring, the next writer starts at claim - length instead.
 *
 * SCB_LOSSLESS adds reader slots: a registered reader publishes its
 * position after each pop, and the writer, before it claims a slot, makes
 * sure no live registered reader still needs the item there
 * (scb_ring_room).  It rescans the slots only when its cached minimum says
 * the ring is full, or when a reader registered since (reg_gen).  A push is
 * bracketed by scb_ring_op_begin/end, which keep the header's `push_seq`
 * odd while it is under way; a registering reader that finds a push under
 * way waits for its end (it may have been decided before the
 * registration), then starts at the oldest item that push left intact.
 * From then on every push sees the reader's slot, so a registered reader
 * never loses an item.
 *
 * Cursors are private to a handle.  Indices are kept wrapped beside the
 * positions so the fast path needs no division, and every index comes from
 * private state reduced modulo the private length: nothing the other side
 * writes can move a copy outside the items.
 *
 * No OS calls and no allocation in here.
 */
#ifndef SCB_RING_H
#define SCB_RING_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

/* A handle's private view of one ring. */
typedef struct scb_ring {
    uint8_t *items;          /* base + items_off */
    uint64_t length;         /* capacity in items */
    uint32_t item_size;      /* bytes per item */
    uint64_t origin;         /* counter value of the first item */
    struct scb_hdr *hdr;     /* the shared header (counters) */
    struct scb_wait *wait;   /* the wait line (base + shared_off) */
    struct scb_slot *slots;  /* reader slots (SCB_LOSSLESS), after it */
    uint32_t nslots;         /* max_readers: 0 unless SCB_LOSSLESS */
    struct scb_bell *bells;  /* the doorbells (SCB_BELLS), after the slots */
    int asym_barriers;       /* the ring uses asymmetric barriers: the rare
                              * side of each handshake must issue the heavy
                              * barrier (scb_sys_barrier_heavy) */
    int records;             /* SCB_RECORDS: length is bytes (record.c) */
    int fast_unfenced;       /* this handle's fast path uses compiler
                              * barriers only (asym_barriers, and this
                              * process is registered for the heavy one) */
    /* A seam for tests that replay an interleaving step by step: when
     * set, called between the two steps of a sleeper's handshake (after it
     * reads the word, before it raises its flag).  NULL outside tests. */
    void (*step_hook)(void *arg);
    void *step_arg;
} scb_ring_t;

typedef struct scb_wcursor {
    uint64_t pos;            /* position of the next item to push */
    uint64_t idx;            /* slot of pos: (pos - origin) % length */
    uint64_t claim;          /* last value stored into hdr->claim */
    uint64_t min;            /* SCB_LOSSLESS: the lowest position a
                              * registered reader needed at the last scan */
    uint32_t reg_gen_seen;   /* SCB_LOSSLESS: reg_gen at the last scan */
    uint64_t push_seq;       /* SCB_LOSSLESS: the value of hdr->push_seq */
    int have_readers;        /* SCB_LOSSLESS: a reader was registered then */
    /* SCB_RECORDS */
    uint64_t seq;            /* sequence number of the next record */
    uint64_t tail;           /* the value of hdr->tail */
    uint64_t tail_idx;       /* its offset */
    uint64_t tail_seq;       /* the value of hdr->tail_seq */
    /* A reservation (scb_ring_reserve, scb_rec_reserve). */
    int res_open;            /* 1 while one is open */
    uint64_t res_start;      /* SCB_RECORDS: position of its record (after
                              * the padding before it, if any) */
    uint32_t res_len;        /* SCB_RECORDS: the length reserved */
} scb_wcursor_t;

typedef struct scb_rcursor {
    uint64_t pos;            /* position of the next item to read */
    uint64_t idx;            /* slot of pos: (pos - origin) % length */
    uint64_t head;           /* last value of hdr->head seen */
    uint64_t lost;           /* items skipped because they were overwritten */
    struct scb_slot *slot;   /* SCB_LOSSLESS: this reader's slot, else NULL */
    uint64_t self;           /* SCB_LOSSLESS: the owner id it holds slot as */
    uint64_t tag;            /* SCB_LOSSLESS: its registration's slot tag */
    uint64_t published;      /* SCB_LOSSLESS: the position it last stored in
                              * its slot (the expected value of the next) */
    int evicted;             /* SCB_LOSSLESS: 1 once the reader found its slot
                              * taken from it (judged dead): it stopped
                              * publishing there and reads unregistered */
    /* SCB_RECORDS */
    uint64_t seq;            /* sequence number of the next record */
    int seq_known;           /* 1: seq is exact; 2: an estimate, which the
                              * next header corrects (upwards as a loss);
                              * 0: adopt the next header's without counting
                              * a loss (a new lossless registration) */
    /* A peeked record or item (scb_ring_peek, scb_rec_peek). */
    int peeked;              /* 1 while one is */
    const uint8_t *peek_ptr; /* where it is */
    uint32_t peek_len;       /* its length */
    uint64_t peek_span;      /* bytes (records) or items (1) it takes */
} scb_rcursor_t;

/* Where a reader starts (scb_ring_reader_register_begin). */
enum scb_start {
    SCB_START_OLDEST,        /* the oldest item kept */
    SCB_START_LATEST,        /* the next item pushed */
    SCB_START_RESUME         /* where the cursor is: a reader registering
                              * again; what it missed meanwhile is lost */
};

/* A process's liveness, passed in by the caller (the ring never asks the
 * OS): 1 if the process with identity `id` is alive. */
typedef int (*scb_ring_alive_fn)(uint64_t id);

/* How many times one pop retries when the writer keeps overwriting the item
 * it copies before it gives up with SCB_EAGAIN. */
#define SCB_POP_TRIES 64

void scb_ring_attach(scb_ring_t *r, void *base, const scb_geom_t *g);

/* Writer: starts at the shared head, keeping claim where it is (a writer
 * that died mid-push may have left claim above head). */
void scb_ring_writer_start(const scb_ring_t *r, scb_wcursor_t *w);

/* Reader: starts at the oldest item kept, or with `latest` at the next item
 * pushed. */
void scb_ring_reader_start(const scb_ring_t *r, scb_rcursor_t *c, int latest);

/* A reader cursor at `pos` (head: the head it last saw), unregistered,
 * nothing lost, nothing peeked. */
void scb_ring_cursor_reset(const scb_ring_t *r, scb_rcursor_t *c,
                           uint64_t pos, uint64_t head);

/* SCB_LOSSLESS: brackets one push (or batch) of the writer; no-ops for
 * rings without reader slots.  begin notices readers registered since the
 * last scan. */
void scb_ring_op_begin(const scb_ring_t *r, scb_wcursor_t *w);
void scb_ring_op_end(const scb_ring_t *r, scb_wcursor_t *w);
/* SCB_LOSSLESS, outside a push: brings the writer's view of the reader
 * slots up to date (readers registered since the last scan), for a room
 * check that decides nothing (scb_wait). */
void scb_ring_writer_refresh(const scb_ring_t *r, scb_wcursor_t *w);

/* SCB_LOSSLESS, between op_begin and op_end: how many items the writer may
 * push now without overwriting one a registered reader has not read (at
 * least `want` if that many fit; it rescans the slots only when its cached
 * view says less or a reader registered since).  UINT64_MAX when no reader
 * is registered (the writer does not block then) and for rings without
 * reader slots. */
uint64_t scb_ring_room(const scb_ring_t *r, scb_wcursor_t *w, uint64_t want);

/* SCB_LOSSLESS: the lowest position a live registered reader needs (into
 * *min) and whether there is any; the writer's usage is pos - *min. */
int scb_ring_readers_min(const scb_ring_t *r, uint64_t pos, uint64_t *min);

/* SCB_LOSSLESS: frees the slots of registered readers that `alive` says
 * are dead (all of them at once: readers that died at different positions
 * must not hold the writer back one interval each).  A slot whose owner
 * changed meanwhile is left alone. */
void scb_ring_reap(const scb_ring_t *r, scb_ring_alive_fn alive);

/* SCB_LOSSLESS: registered readers that `alive` says are alive (a dead
 * reader's slot stays owned until a writer that needs room frees it; it is
 * no reader any more).  Scans up to the highest slot ever taken. */
uint32_t scb_ring_readers_live(const scb_ring_t *r, scb_ring_alive_fn alive);

/* SCB_LOSSLESS: takes a free reader slot for the owner id `self` (after
 * reaping dead owners once if none is free, unless `alive` is NULL) and
 * lets the writer's scans reach it.  SCB_OK and *slot, or SCB_ELIMIT. */
int scb_ring_slot_take(const scb_ring_t *r, uint64_t self,
                       scb_ring_alive_fn alive, struct scb_slot **slot);

/* SCB_LOSSLESS: registers the reader `c` in `slot` (taken for `self`),
 * starting where `start` says.  begin announces the registration (with a
 * full fence after it); on a ring with asymmetric barriers the caller then
 * issues the heavy barrier.  scb_ring_writer_push_seq then reads the
 * writer's push counter: if it is odd, the caller waits until it differs
 * (or the writer is dead), then calls end; if it cannot (the writer stays
 * in one push, or the heavy barrier failed), it calls
 * scb_ring_reader_unregister instead. */
void scb_ring_reader_register_begin(const scb_ring_t *r, scb_rcursor_t *c,
                                    struct scb_slot *slot, uint64_t self,
                                    enum scb_start start);
uint64_t scb_ring_writer_push_seq(const scb_ring_t *r);
/* Returns 0, or -1 if the slot was taken from the reader meanwhile (it was
 * judged dead): then the cursor is unregistered and evicted. */
int scb_ring_reader_register_end(const scb_ring_t *r, scb_rcursor_t *c,
                                 enum scb_start start);

/* SCB_LOSSLESS: gives the reader's slot back, if it still holds it (a slot
 * taken from it meanwhile, by another process or another handle of this
 * one, belongs to that reader now: owner and tag tell), and leaves the
 * cursor unregistered. */
void scb_ring_reader_unregister(const scb_ring_t *r, scb_rcursor_t *c);

/* Wake-up handshakes, in event-count order.  The sleeper reads the futex
 * word, then raises its flag (prepare; on a ring with asymmetric barriers
 * the caller then issues the heavy barrier), re-checks its condition, then
 * sleeps on the word it read.  The other side, after publishing progress,
 * calls the *_waiting function: when it returns 1 the caller must wake the
 * word (the flag was set, it has been cleared and the word bumped).  A
 * barrier on each side makes sure that either the sleeper sees the progress
 * or the other side sees the flag: full fences on both sides, or with
 * asymmetric barriers a compiler barrier on the fast side (fast_unfenced)
 * and the heavy barrier on the sleeper's.  Reading the word before raising
 * the flag makes sure that a waker which clears the flag after it was
 * raised has bumped the word the sleeper sleeps on: the sleep then ends at
 * once. */
uint32_t scb_ring_reader_sleep_prepare(const scb_ring_t *r);
uint32_t scb_ring_readers_waiting(const scb_ring_t *r);
uint32_t scb_ring_writer_sleep_prepare(const scb_ring_t *r);
uint32_t scb_ring_writer_waiting(const scb_ring_t *r);
/* The *_waiting functions return the SCB_WAIT_* bits they cleared: with
 * SCB_WAIT_SLEEP the caller wakes the word, with SCB_WAIT_BELL it rings
 * the armed bells of that side (scb_ring_bell_next). */

/* Whether a dead owner's bell named `key` has left nothing behind: the
 * caller's OS layer removes its name if nobody holds it open any more and
 * says 1, or says 0 (then the entry stays taken until a later try). */
typedef int (*scb_ring_gone_fn)(uint64_t key);

/* Doorbells (struct scb_bell, for scb_fd).  take finds a free bell (after
 * a reap, if none was) and makes it `self`'s, named `key`, of `role`:
 * SCB_OK and *bell, or SCB_ELIMIT.  reap frees the bells whose owner
 * `alive` says is dead and whose name `gone` could remove.  drop gives a
 * bell back unless another process took it since (key tells). */
int scb_ring_bell_take(const scb_ring_t *r, uint64_t self, uint64_t key,
                       uint32_t role, scb_ring_alive_fn alive,
                       scb_ring_gone_fn gone, struct scb_bell **bell);
void scb_ring_bell_reap(const scb_ring_t *r, scb_ring_alive_fn alive,
                        scb_ring_gone_fn gone);
void scb_ring_bell_drop(const scb_ring_t *r, struct scb_bell *bell,
                        uint64_t self, uint64_t key);
/* Arms the bell, then raises the SCB_WAIT_BELL bit of the side that rings
 * `role` with a full fence after it: the caller then re-checks its
 * condition (and on a ring with asymmetric barriers issues the heavy
 * barrier first), exactly as a sleeper does after scb_*_sleep_prepare.
 * The ringer that could not ring a bell it disarmed arms it again the same
 * way, so that the next progress tries again. */
void scb_ring_bell_arm(const scb_ring_t *r, struct scb_bell *bell,
                       uint32_t role);
/* 1 if the bell is still `self`'s, named `key` (nobody took it). */
int scb_ring_bell_mine(const struct scb_bell *bell, uint64_t self,
                       uint64_t key);
/* Disarms the bell; 1 if it was armed (then its owner is owed a ring). */
int scb_ring_bell_disarm(struct scb_bell *bell);
/* The ringer's scan, from bell *i on: disarms the next armed bell of
 * `role` (with `all`: the next owned one, armed or not) and gives its key;
 * 0 at the end of the table.  The table's extent is bells_hi, capped at
 * SCB_BELLS. */
int scb_ring_bell_next(const scb_ring_t *r, uint32_t role, int all,
                       uint32_t *i, uint64_t *key);

/* Overwrite mode (and SCB_LOSSLESS once scb_ring_room said so): never
 * waits, never fails. */
void scb_ring_push(const scb_ring_t *r, scb_wcursor_t *w, const void *item);
void scb_ring_push_many(const scb_ring_t *r, scb_wcursor_t *w,
                        const void *items, size_t n);

/* Returns SCB_OK or SCB_EAGAIN.  Every copy is checked against claim, a
 * registered lossless reader's too: if the writer overwrote the item while
 * it was copied (it judged the reader dead, or a hostile process moved the
 * counters), the item counts as lost instead of being returned torn.  A
 * registered reader publishes its position after the call, unless its slot
 * was taken from it: then it sets c->evicted, stops publishing, and reads
 * on unregistered until the caller registers it again. */
int scb_ring_pop(const scb_ring_t *r, scb_rcursor_t *c, void *item);
/* Returns SCB_OK with 1 <= *count <= max, or SCB_EAGAIN with *count 0. */
int scb_ring_pop_many(const scb_ring_t *r, scb_rcursor_t *c, void *items,
                      size_t max, size_t *count);

/* Zero-copy on fixed-size rings.  reserve claims the slot at the writer's
 * position and returns it (room checked by the caller, as for a push);
 * commit publishes it; discard drops it (the slot stays claimed: readers
 * treat what it held as overwritten). */
void *scb_ring_reserve(const scb_ring_t *r, scb_wcursor_t *w);
void scb_ring_commit(const scb_ring_t *r, scb_wcursor_t *w);
/* peek: SCB_OK with c->peek_* set, or SCB_EAGAIN.  release: SCB_OK, or
 * SCB_EOVERRUN when the writer began to overwrite the item meanwhile (it
 * counts as lost); either way the item is consumed. */
int scb_ring_peek(const scb_ring_t *r, scb_rcursor_t *c);
int scb_ring_release(const scb_ring_t *r, scb_rcursor_t *c);
/* 1 if the reader has something to read: what scb_wait waits for. */
int scb_ring_readable(const scb_ring_t *r, scb_rcursor_t *c);

/*
 * Record rings (record.c; the format is in layout.h).  The writer's and
 * readers' cursors are those of the fixed-size ring, over bytes, and the
 * lossless machinery (op_begin/end, room, reader slots) is shared.
 */

/* After scb_ring_writer_start: the writer's sequence number and tail. */
void scb_rec_writer_start(const scb_ring_t *r, scb_wcursor_t *w);
/* Reader: starts at the oldest record kept, or with `latest` at the next
 * record pushed (replaces scb_ring_reader_start on record rings). */
void scb_rec_reader_start(const scb_ring_t *r, scb_rcursor_t *c, int latest);
/* Bytes of room a record of len bytes needs at the writer's position (its
 * span, and the padding before it if it does not fit before the end). */
uint64_t scb_rec_need(const scb_ring_t *r, const scb_wcursor_t *w,
                      uint32_t len);
/* Writer, once the room is there: reserves a record of len bytes (moving
 * tail past what it will overwrite, raising claim) and returns where its
 * payload goes; commit publishes it with its final length (at most len);
 * discard drops it. */
void *scb_rec_reserve(const scb_ring_t *r, scb_wcursor_t *w, uint32_t len);
void scb_rec_commit(const scb_ring_t *r, scb_wcursor_t *w, uint32_t len);
void scb_rec_discard(const scb_ring_t *r, scb_wcursor_t *w);
/* Reader.  peek finds the next record: SCB_OK with c->peek_* set,
 * SCB_EAGAIN, or SCB_EBADFORMAT (an impossible header).  release consumes
 * it: SCB_OK, or SCB_EOVERRUN (overwritten meanwhile: counted as lost).
 * pop copies it into buf: SCB_OK, SCB_EAGAIN, SCB_EBADFORMAT, or
 * SCB_EMSGSIZE when it is longer than cap (nothing consumed); *len is the
 * record's length. */
int scb_rec_peek(const scb_ring_t *r, scb_rcursor_t *c);
int scb_rec_release(const scb_ring_t *r, scb_rcursor_t *c);
int scb_rec_pop(const scb_ring_t *r, scb_rcursor_t *c, void *buf, size_t cap,
                size_t *len);
void scb_rec_push(const scb_ring_t *r, scb_wcursor_t *w, const void *data,
                  uint32_t len);
/* A registered reader stores its position in its slot (see ring.c). */
void scb_ring_publish(scb_rcursor_t *c);
/* SCB_LOSSLESS registration: a registering reader whose position the push
 * before its registration overwrote (scb_ring_reader_register_end) moves to
 * the oldest record kept. */
void scb_rec_reader_resync(const scb_ring_t *r, scb_rcursor_t *c);

/* Items ever pushed. */
uint64_t scb_ring_pushed(const scb_ring_t *r);
/* Writer: items in the ring (at most length). */
uint64_t scb_ring_writer_usage(const scb_ring_t *r);
/* Reader: items waiting for it, and items it lost (counted or pending). */
uint64_t scb_ring_reader_usage(const scb_ring_t *r, const scb_rcursor_t *c);
uint64_t scb_ring_reader_lost(const scb_ring_t *r, const scb_rcursor_t *c);

#endif /* SCB_RING_H */
