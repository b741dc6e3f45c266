/*
 * wake_writer.pml - the sleep/wake handshake the other way round: the
 * writer of a lossless ring asleep in scb_push_wait for room, and the
 * readers that wake it when they publish their positions.  The same
 * handshake as wake.pml (wseq and wwait instead of rseq and rwait), but
 * with several wakers racing on the flag and one sleeper.
 *
 * Property: no lost wake-up.  The writer pushes NPUSH items into a ring of
 * LENGTH slots; each of NREADERS readers reads them all.  A writer left
 * asleep while every reader has published enough room for its next push is
 * a state where nothing can move any more: an invalid end state.  The
 * model has no timeouts (the real writer also wakes every REAP_INTERVAL_NS
 * to look for dead readers, which bounds a lost wake-up to that long).
 * The readers' own wait for items is a plain blocking condition here: that
 * handshake is wake.pml's.
 *
 * Variants (spin -D...): as wake.pml.
 *   (none)          the event-count order of the sleeper
 *   -DOLD           the order of scb_ring_writer_sleep_prepare before the
 *                   fix (raise the flag, fence, read the word); fails
 *   -DTSO           x86 store buffers (memory.pml)
 *   -DNO_SLEEPER_FENCE, -DNO_WAKER_FENCE
 *                   one of the two fences removed (implies -DTSO); fails
 *   -DASYM          an asymmetric-barrier ring (implies -DTSO): the
 *                   readers have a compiler barrier only (registered, so
 *                   r->fast_unfenced), the writer issues the heavy barrier
 *   -DNREADERS=n -DNPUSH=n -DLENGTH=n  the size (default 2, 3, 1)
 *
 * Step by step, against src/ring.c and src/scb.c:
 *
 *   writer (scb_push_wait):
 *     LOAD pos[r], all r    scb_push -> room_for -> scb_ring_room ->
 *                             scb_ring_readers_min: per slot
 *                             p = scb_load_acquire(&r->slots[i].pos);
 *     room: STORE head      scb_ring_push: scb_store_release(&r->hdr->head,
 *                             next);
 *     no room, the sleep preparation:
 *       fixed:  LOAD wseq; STORE wwait 1; FENCE
 *                           scb_ring_writer_sleep_prepare -> sleep_prepare
 *                             (seq = &r->wait->wseq, flag = &r->wait->wwait):
 *                             s = scb_load32_acquire(seq);
 *                             scb_or32_acq_rel(flag, SCB_WAIT_SLEEP);
 *                             scb_fence_full();
 *       -DOLD:  STORE wwait 1; FENCE; LOAD wseq
 *                           (before the fix: the flag stored, the fence,
 *                           then the word loaded)
 *     HEAVY (-DASYM)        heavy_ok = ... scb_sys_barrier_heavy() == 0
 *     LOAD pos[r], room?    rc = scb_push(w, item);  (re-check)
 *     futex_wait(s)         scb_sys_wait(w->wchan, &w->ring.wait->wseq,
 *                             seq, left, attempt)
 *
 *   reader r, per item (scb_pop):
 *     (head > pos)          scb_ring_pop: available()
 *     STORE pos[r]          publish: scb_store_release(&c->slot->pos,
 *                             c->pos);
 *     WAKER_FENCE           wake_writer -> scb_ring_writer_waiting ->
 *                             waiting(): fast_side_barrier(r);
 *     LOAD wwait            if (scb_load32_relaxed(flag) == 0)
 *                               return 0;
 *     XCHG wwait 0 -> bits  bits = scb_xchg32_acq_rel(flag, 0);
 *                           if (bits == 0) return 0;  (another reader
 *                             took them since the load)
 *     RMW_ADD wseq          scb_add32_release(seq, 1);
 *     futex_wake            scb_handle_wake, bits & SCB_WAIT_SLEEP:
 *                             scb_sys_wake(h->wchan, &h->ring.wait->wseq)
 *
 * The flag holds the writer's sleeper bit only here, so the sleeper's plain
 * STORE of 1 stands for its OR: OR-ing SCB_WAIT_SLEEP into 0 or 1 gives 1,
 * and the store in the buffer is the OR as C11 orders it, passed by the
 * loads that follow (the fence is there for that; on x86 the locked OR is
 * a full barrier by itself).  The wakers are several, so their exchange is
 * modelled as it is: a reader whose exchange finds 0 bumps nothing.
 */

#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef NPUSH
#define NPUSH 3
#endif
#ifndef LENGTH
#define LENGTH 1
#endif

#define NPROC (NREADERS + 1)  /* process 0 is the writer */
#define HEAD 0                /* hdr->head */
#define SEQ 1                 /* wait->wseq, the futex word */
#define FLAG 2                /* wait->wwait, "the writer may sleep" */
#define POS 3                 /* slots[r - 1].pos: POS + r - 1 */
#define NV (POS + NREADERS)

#if defined(NO_SLEEPER_FENCE) || defined(NO_WAKER_FENCE) || defined(ASYM)
#define TSO
#endif
#include "memory.pml"

bit asleep;                   /* the writer, blocked in FUTEX_WAIT on wseq */

#if defined(NO_WAKER_FENCE) || defined(ASYM)
#define WAKER_FENCE(p) skip
#else
#define WAKER_FENCE(p) FENCE(p)
#endif
#ifdef NO_SLEEPER_FENCE
#define SLEEPER_FENCE skip
#else
#define SLEEPER_FENCE FENCE(0)
#endif

/* Room for position n: every reader has read up to n + 1 - LENGTH
 * (scb_ring_room, without the cache: it only saves loads). */
inline room_check()
{
    room = 1;
    r = 1;
    do
    :: r <= NREADERS ->
        LOAD(0, POS + r - 1, p);
        if
        :: p + LENGTH < n + 1 -> room = 0
        :: else -> skip
        fi;
        r++
    :: else -> break
    od;
    r = 0; p = 0
}

proctype writer()
{
    byte n = 0, s, r, p;
    bit room;

    do
    :: n < NPUSH ->
        room_check();
        if
        :: room -> n++; STORE(0, HEAD, n)
        :: else ->
#ifdef OLD
            STORE(0, FLAG, 1);
            SLEEPER_FENCE;
            LOAD(0, SEQ, s);
#else
            LOAD(0, SEQ, s);
            STORE(0, FLAG, 1);
            SLEEPER_FENCE;
#endif
#ifdef ASYM
            r = 0;
            do
            :: r < NPROC -> empty(sb[r]); r++
            :: else -> r = 0; break
            od;
#endif
            room_check();
            if
            :: room -> n++; STORE(0, HEAD, n)
            :: else ->
                atomic {
                    if
                    :: mem[SEQ] == s -> asleep = 1
                    :: else -> skip
                    fi
                };
                (asleep == 0)
            fi
        fi
    :: else -> break
    od
}

proctype reader(byte me)
{
    byte pos = 0, f, bits, old;

    do
    :: pos < NPUSH ->
        (mem[HEAD] > pos);  /* the reader has no store to head to forward */
        pos++;
        STORE(me, POS + me - 1, pos);
        WAKER_FENCE(me);
        LOAD(me, FLAG, f);
        if
        :: f == 0 -> skip
        :: else ->
            XCHG(me, FLAG, 0, bits);
            if
            :: bits == 0 -> skip  /* another reader took it */
            :: else ->
                RMW_ADD(me, SEQ, 1, old);
                asleep = 0  /* futex_wake */
            fi
        fi;
        f = 0; bits = 0; old = 0
    :: else -> break
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
