/*
 * bell_writer.pml - the doorbell handshake the other way round: the writer
 * of a lossless ring, out of room, either asleep in scb_push_wait
 * (wake_writer.pml's handshake) or armed on its scb_fd doorbell, and the
 * readers that wake it or ring its bell when they publish their positions.
 * bell.pml is to wake.pml what this model is to wake_writer.pml: both kinds
 * of wait raise their bit in the same flag (wwait), and each reader's one
 * flag load serves both; the readers are several, racing on the flag and
 * on the bell's armed word.
 *
 * Property: no lost wake-up or readiness.  The writer pushes NPUSH items
 * into a ring of LENGTH slots; each of NREADERS readers reads them all.
 * Each time it finds no room, the writer chooses (nondeterministically)
 * to sleep on the futex word or to arm its bell and poll it, so the flag
 * holds either bit, or both (a bit whose waiter found room on its re-check
 * stays raised).  A writer asleep in futex_wait, or blocked in poll on a
 * bell that was not rung, while every reader has published enough room for
 * its next push, is a state where nothing can move any more: an invalid
 * end state.  The model has no timer (the real writer's bell is "timed",
 * its sleep bounded: it wakes every REAP_INTERVAL_NS to look for dead
 * readers, which would bound a lost readiness to that long and hide it
 * from the check).  The readers' own wait for items is a plain blocking
 * condition here: that handshake is bell.pml's and wake.pml's.
 *
 * Variants (spin -D...):
 *   (none)          the handshake of src/io.c arm() and scb_handle_wake()
 *   -DTSO           x86 store buffers (memory.pml)
 *   -DNO_READER_FENCE, -DNO_WRITER_FENCE
 *                   the readers' fence after publishing their position, or
 *                   the writer's fence after raising its bell bit (in
 *                   scb_ring_bell_arm), removed (implies -DTSO); each fails
 *   -DASYM          an asymmetric-barrier ring (implies -DTSO): the readers
 *                   have a compiler barrier only (registered, so
 *                   r->fast_unfenced), the writer issues the heavy barrier
 *                   after raising either bit
 *   -DNO_RECHECK    the writer does not check for room after arming its
 *                   bell; fails
 *   -DNO_RING       the readers' wake path knows the sleeper's bit only (as
 *                   before the doorbells): it clears the flag, bumps the
 *                   word and wakes the futex, and rings no bell; fails
 *   -DSLEEPS=0      the writer never sleeps on the futex: it waits on its
 *                   bell only (the failing variants are checked so, which
 *                   shows the bell's handshake, not the sleeper's, failing)
 *   -DNREADERS=n -DNPUSH=n -DLENGTH=n  the size (default 2, 3, 1)
 *
 * Step by step, against src/io.c, src/ring.c, src/bell.c and src/handle.h:
 *
 *   writer (an event loop: push until SCB_EAGAIN, then poll; or
 *   scb_push_wait):
 *     LOAD pos[r], all r    scb_push -> room_for -> scb_ring_room ->
 *                             scb_ring_readers_min: per slot
 *                             p = scb_load_acquire(&r->slots[i].pos);
 *     room: STORE head      scb_ring_push: scb_store_release(&r->hdr->head,
 *                             next);
 *     no room, either scb_push_wait (not -DSLEEPS=0) -> wait_ready ->
 *     scb_ring_writer_sleep_prepare -> sleep_prepare():
 *       LOAD wseq             s = scb_load32_acquire(seq);
 *       OR wwait SLEEP        scb_or32_acq_rel(flag, SCB_WAIT_SLEEP);
 *       FENCE                 scb_fence_full();
 *       HEAVY (-DASYM)      barrier_for_sleep(h)
 *       LOAD pos[r], room?  wait_ready: ready(h) -> room_for (re-check);
 *         room: STORE head    then the push
 *       futex_wait(s)       scb_sys_wait(chan, &h->ring.wait->wseq, seq,
 *                             left, attempt)
 *     or scb_push returns SCB_EAGAIN -> again() -> arm():
 *       rung = 0            scb_sys_bell_clear(h->bell)  (reads its FIFO empty)
 *       STORE armed 1       scb_ring_bell_arm:
 *                             scb_store32_release(&bell->armed, 1);
 *       OR wwait BELL         scb_or32_acq_rel(&r->wait->wwait,
 *                             SCB_WAIT_BELL);
 *       FENCE                 scb_fence_full();  (not -DNO_WRITER_FENCE)
 *       HEAVY (-DASYM)      arm: barrier_for_sleep(h) (scb_sys_barrier_heavy)
 *       LOAD pos[r], room?  arm: !ready(h) -> room_for  (the re-check; not
 *                             -DNO_RECHECK)
 *       room:               if (scb_ring_bell_disarm(h->bell_slot) &&
 *         XCHG armed 0 -> a     ring(h, h->bell_key) < 0) ...
 *         a: rung = 1
 *     (rung == 1)           poll(fd, POLLIN) until the bell is readable
 *                             (its timer, scb_sys_bell_timer, left out);
 *                             then the loop pushes again
 *
 *   reader r, per item (scb_pop):
 *     (head > pos)          scb_ring_pop: available()
 *     STORE pos[r]          publish: scb_store_release(&c->slot->pos,
 *                             c->pos);
 *     READER_FENCE          scb_pop -> wake_writer -> wake_writer_always ->
 *                             scb_ring_writer_waiting -> waiting():
 *                             fast_side_barrier(r);
 *     LOAD wwait            if (scb_load32_relaxed(flag) == 0) return 0;
 *     XCHG wwait 0 -> bits  bits = scb_xchg32_acq_rel(flag, 0);
 *                           if (bits == 0) return 0;  (another reader
 *                             took them since the load)
 *     RMW_ADD wseq          scb_add32_release(seq, 1);
 *     bits & SLEEP:         scb_handle_wake: scb_sys_wake(h->wchan,
 *       futex_wake            &h->ring.wait->wseq)
 *     bits & BELL (not -DNO_RING), the writer's bell (role SCB_BELL_WRITER):
 *       XCHG armed 0 -> a   scb_ring_bell_next -> scb_ring_bell_disarm:
 *                             scb_xchg32_acq_rel(&bell->armed, 0) != 0
 *       a: rung = 1         ring(h, key) -> scb_sys_bell_ring
 *
 * As in bell.pml, two pairs of steps are one step here, to keep the search
 * small; neither hides an interleaving that matters.  A disarm and its
 * ring (XCHG armed, then rung = 1): only the one whose XCHG got 1 rings,
 * and between the two steps the other XCHGs (other readers', or the
 * writer's on its re-check) get 0 and the writer can only wait in poll
 * for that ring.  A clear and the armed store
 * (rung = 0, STORE armed 1): when the writer arms, its bell is disarmed
 * and its last ring delivered already (poll returned on it), so no ring
 * falls between them.  scb_ring_bell_next loads armed before its exchange
 * and skips a bell that reads 0; the exchange alone does the same (it
 * writes 0 over 0).  The flag has one raiser, the writer, but two bits: it
 * is raised with the OR of memory.pml, as in the code.
 *
 * Left out: the bell's timer and the reap of dead readers, a writer that
 * pushes again before it polls (its next SCB_EAGAIN arms again, which the
 * model's loop covers), a ring that fails (scb_handle_wake arms the bell
 * again for the next reader), a heavy barrier that fails (the writer rings
 * itself at once: spurious readiness), and the bell table's other words
 * (owner, role, key, bells_hi: fixed here).
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
#ifndef SLEEPS
#define SLEEPS 1
#endif

#define NPROC (NREADERS + 1)  /* process 0 is the writer */
#define HEAD 0                /* hdr->head */
#define SEQ 1                 /* wait->wseq, the futex word */
#define FLAG 2                /* wait->wwait, the bits below */
#define ARMED 3               /* the writer's bell: bells[i].armed */
#define POS 4                 /* slots[r - 1].pos: POS + r - 1 */
#define NV (POS + NREADERS)

#define SLEEP 1               /* SCB_WAIT_SLEEP */
#define BELL 2                /* SCB_WAIT_BELL */

#if defined(NO_READER_FENCE) || defined(NO_WRITER_FENCE) || defined(ASYM)
#define TSO
#endif
#include "memory.pml"

bit asleep;                   /* the writer, blocked in FUTEX_WAIT on wseq */
bit rung;                     /* its bell holds a byte: its fd is readable */

#if defined(NO_READER_FENCE) || defined(ASYM)
#define READER_FENCE(p) skip
#else
#define READER_FENCE(p) FENCE(p)
#endif
#ifdef NO_WRITER_FENCE
#define BELL_FENCE skip
#else
#define BELL_FENCE FENCE(0)
#endif

/* The heavy barrier of a ring with asymmetric barriers: every process's
 * buffer drains at some moment during the call. */
inline heavy()
{
    r = 0;
    do
    :: r < NPROC -> empty(sb[r]); r++
    :: else -> r = 0; break
    od
}

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
    byte n = 0, s, r, p, a;
    bit room;

    do
    :: n < NPUSH ->
        room_check();
        if
        :: room -> n++; STORE(0, HEAD, n)
        :: else ->
            if
            :: SLEEPS > 0 ->  /* scb_push_wait */
                LOAD(0, SEQ, s);
                OR(0, FLAG, SLEEP);
                FENCE(0);
#ifdef ASYM
                heavy();
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
                fi;
                s = 0
            :: true ->        /* scb_push: SCB_EAGAIN arms, then poll */
                atomic { rung = 0; STORE(0, ARMED, 1) };
                OR(0, FLAG, BELL);
                BELL_FENCE;
#ifdef ASYM
                heavy();
#endif
#ifndef NO_RECHECK
                room_check();
                if
                :: room ->
                    atomic {
                        XCHG(0, ARMED, 0, a);
                        if
                        :: a != 0 -> rung = 1
                        :: else -> skip
                        fi
                    };
                    a = 0
                :: else -> skip
                fi;
#endif
                (rung == 1)   /* poll */
            fi;
            room = 0
        fi
    :: else -> break
    od
}

proctype reader(byte me)
{
    byte pos = 0, f, bits, old, a;

    do
    :: pos < NPUSH ->
        (mem[HEAD] > pos);  /* the reader has no store to head to forward */
        pos++;
        STORE(me, POS + me - 1, pos);
        READER_FENCE(me);
        LOAD(me, FLAG, f);
        if
        :: f == 0 -> skip
        :: else ->
            XCHG(me, FLAG, 0, bits);
            if
            :: bits == 0 -> skip  /* another reader took them */
            :: else ->
                RMW_ADD(me, SEQ, 1, old);
                if
                :: (bits & SLEEP) != 0 -> asleep = 0  /* FUTEX_WAKE */
                :: else -> skip
                fi;
#ifndef NO_RING
                if
                :: (bits & BELL) != 0 ->
                    atomic {
                        XCHG(me, ARMED, 0, a);
                        if
                        :: a != 0 -> rung = 1
                        :: else -> skip
                        fi
                    }
                :: else -> skip
                fi
#endif
            fi
        fi;
        f = 0; bits = 0; old = 0; a = 0
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
