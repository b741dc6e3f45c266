/*
 * wake.pml - the sleep/wake handshake: readers asleep in scb_pop_wait and
 * the writer that wakes them after scb_push.  (The writer asleep in
 * scb_push_wait, woken by lossless readers, is the same handshake with the
 * roles swapped: wseq, wwait, scb_ring_writer_sleep_prepare,
 * scb_ring_writer_waiting, wake_writer.)
 *
 * Property: no lost wake-up.  Every reader consumes every item: a reader
 * left asleep in futex_wait while an item it has not read is published is a
 * state where nothing can move any more, which SPIN reports as an invalid
 * end state.  The model has no timeouts (scb_pop_wait with timeout -1).
 *
 * Variants (spin -D...):
 *   (none)          the event-count order of the sleeper: read the word,
 *                   raise the flag, fence, re-check, sleep on the word read
 *   -DOLD           the order of scb_ring_reader_sleep_prepare before the
 *                   fix: raise the flag, fence, read the word; fails
 *   -DTSO           x86 store buffers (memory.pml)
 *   -DNO_READER_FENCE, -DNO_WRITER_FENCE
 *                   one of the two fences removed (implies -DTSO); each fails
 *   -DASYM          an asymmetric-barrier ring (implies -DTSO): the writer has
 *                   a compiler barrier only, the sleeper issues the heavy
 *                   barrier (membarrier) after raising the flag
 *   -DSTORY         with -DOLD: pan (-E) finds the one counterexample told
 *                   in spin/README.md (see below)
 *   -DNREADERS=n -DNPUSH=n  the size (default 2 readers, 3 pushes)
 *
 * Step by step, against src/ring.c and src/scb.c:
 *
 *   writer, per push (scb_push):
 *     STORE head            scb_ring_push:
 *                             scb_store_release(&r->hdr->head, next);
 *     WFENCE                wake_readers -> scb_ring_readers_waiting ->
 *                             waiting() (flag = &r->wait->rwait, seq =
 *                             &r->wait->rseq): fast_side_barrier(r);
 *                             (scb_fence_full, or scb_fence_compiler when
 *                             r->fast_unfenced, on a ring with
 *                             r->asym_barriers)
 *     LOAD flag             if (scb_load32_relaxed(flag) == 0)
 *                               return 0;
 *     STORE flag 0          bits = scb_xchg32_acq_rel(flag, 0);
 *                           if (bits == 0) return 0;
 *     RMW_ADD seq           scb_add32_release(seq, 1);
 *     futex_wake            wake_readers -> scb_handle_wake, bits &
 *                             SCB_WAIT_SLEEP: scb_sys_wake(h->rchan,
 *                             &h->ring.wait->rseq)  (FUTEX_WAKE, INT_MAX)
 *
 *   reader, per item (scb_pop_wait):
 *     LOAD head, pos++      scb_pop -> scb_ring_pop -> available():
 *                             c->head = scb_load_acquire(&r->hdr->head);
 *     then, nothing there, the sleep preparation:
 *       fixed:  LOAD seq; STORE flag 1; FENCE
 *                           scb_ring_reader_sleep_prepare -> sleep_prepare:
 *                             s = scb_load32_acquire(seq);
 *                             scb_or32_acq_rel(flag, SCB_WAIT_SLEEP);
 *                             scb_fence_full();
 *       -DOLD:  STORE flag 1; FENCE; LOAD seq
 *                           (before the fix: the flag stored, the fence,
 *                           then the word loaded)
 *     HEAVY (-DASYM)        scb_pop_wait: scb_sys_barrier_heavy()
 *     LOAD head, pos++      scb_pop_wait: rc = scb_pop(r, item);  (re-check)
 *     futex_wait(s)         scb_sys_wait(r->rchan, &r->ring.wait->rseq,
 *                             seq, left, attempt)
 *                           (FUTEX_WAIT: compares the word with s and
 *                           sleeps in one step; a wake clears the sleep)
 *     back to the top       rc = scb_pop(r, item); then the loop again
 *
 * The flag holds the sleepers' bit only here, so a plain STORE of 1 and of
 * 0 stands for the OR and the exchange: OR-ing SCB_WAIT_SLEEP into 0 or 1
 * gives 1; the writer is the only one to clear the flag, so its exchange
 * never finds 0 after its load found it raised; under TSO its STORE 0
 * waits in the buffer, with no load after it, until the RMW_ADD drains
 * it, which is an exchange at that moment; and the sleeper's buffered
 * STORE 1 is the OR as C11 orders it, its store passed by the loads that
 * follow (the fence is there for that; on x86 the locked OR is a full
 * barrier by itself).
 */

#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef NPUSH
#define NPUSH 3
#endif

#define NPROC (NREADERS + 1)  /* process 0 is the writer */
#define NV 3
#define HEAD 0                /* hdr->head */
#define SEQ 1                 /* wait->rseq, the futex word */
#define FLAG 2                /* wait->rwait, "a reader may sleep" */

#if defined(NO_READER_FENCE) || defined(NO_WRITER_FENCE) || defined(ASYM)
#define TSO
#endif
#include "memory.pml"

bit asleep[NPROC];            /* blocked in FUTEX_WAIT on rseq */

#if defined(NO_WRITER_FENCE) || defined(ASYM)
#define WFENCE skip
#else
#define WFENCE FENCE(0)
#endif
#ifdef NO_READER_FENCE
#define RFENCE(p) skip
#else
#define RFENCE(p) FENCE(p)
#endif

/*
 * -DSTORY (with -DOLD, sequential consistency, pan -E): ghost variables that
 * follow each step they annotate atomically, and a check, once nothing can
 * move, that turns the one lost wake-up told in spin/README.md into an
 * assertion, so that pan finds that interleaving and no other.  Without
 * STORY they vanish and every step is the bare statement.
 */
#ifdef STORY
#define GHOST(step, ghost) atomic { step; ghost }
byte raiser;             /* the reader that raised the flag last */
byte seen_raiser;        /* whose flag the waker saw */
bit waker_saw_flag;      /* the waker saw the flag and has not bumped yet */
bit raised_late[NPROC];  /* raised while the waker sat on a flag it saw */
bit story[NPROC];        /* ... then read the word after the bump */
#define G_SEEN(f) \
    if :: f != 0 -> waker_saw_flag = 1; seen_raiser = raiser :: else fi
#define G_BUMPED() waker_saw_flag = 0
#define G_RAISED(p) raiser = p; raised_late[p] = waker_saw_flag
#define G_SEQ_READ(p) \
    story[p] = raised_late[p] && !waker_saw_flag && seen_raiser != p

/* Once nothing can move: no reader lost the wake-up that way while the
 * other readers got through. */
active proctype story_check()
{
    byte p, n;

    timeout;
    for (p : 1 .. NREADERS) {
        n = n + asleep[p]
    }
    for (p : 1 .. NREADERS) {
        assert(!(asleep[p] && story[p] && n == 1))
    }
}
#else
#define GHOST(step, ghost) step
#endif

/* FUTEX_WAIT: sleeps only if the word still holds s, checked and begun in
 * one step; returns when a FUTEX_WAKE clears the sleep. */
#define FUTEX_WAIT(p, s) \
    atomic { if :: mem[SEQ] == s -> asleep[p] = 1 :: else -> skip fi }; \
    (asleep[p] == 0)

inline futex_wake()
{
    d_step {
        i = 1;
        do
        :: i < NPROC -> asleep[i] = 0; i++
        :: else -> break
        od;
        i = 0
    }
}

proctype writer()
{
    byte n = 0, f, old, i;

    do
    :: n < NPUSH ->
        n++;
        STORE(0, HEAD, n);
        WFENCE;
        GHOST(LOAD(0, FLAG, f), G_SEEN(f));
        if
        :: f == 0 -> skip
        :: else ->
            STORE(0, FLAG, 0);
            GHOST(RMW_ADD(0, SEQ, 1, old), G_BUMPED());
            futex_wake()
        fi
    :: else -> break
    od
}

/* The heavy barrier of a ring with asymmetric barriers: every process's
 * buffer drains at some moment during the call. */
inline heavy()
{
    i = 0;
    do
    :: i < NPROC -> empty(sb[i]); i++
    :: else -> i = 0; break
    od
}

proctype reader(byte me)
{
    byte pos = 0, h, s, i;

    do
    :: pos == NPUSH -> break
    :: else ->
        LOAD(me, HEAD, h);
        if
        :: h > pos -> pos++
        :: else ->
#ifdef OLD
            GHOST(STORE(me, FLAG, 1), G_RAISED(me));
            RFENCE(me);
            GHOST(LOAD(me, SEQ, s), G_SEQ_READ(me));
#else
            GHOST(LOAD(me, SEQ, s), G_SEQ_READ(me));
            GHOST(STORE(me, FLAG, 1), G_RAISED(me));
            RFENCE(me);
#endif
#ifdef ASYM
            heavy();
#endif
            LOAD(me, HEAD, h);
            if
            :: h > pos -> pos++
            :: else -> FUTEX_WAIT(me, s)
            fi
        fi
    od
}

init
{
    byte r;

    atomic {
        START_FLUSHERS();
        run writer();
        r = 1;
        do
        :: r <= NREADERS -> run reader(r); r++
        :: else -> break
        od
    }
}
