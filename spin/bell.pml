/*
 * bell.pml - the doorbell handshake of scb_fd: readers in an event loop,
 * each polling its own bell, armed when a pop returns SCB_EAGAIN, and the
 * writer that rings the armed bells after scb_push.  Beside them a reader
 * asleep in scb_pop_wait (wake.pml's handshake): both kinds of waiter
 * raise their bit in the same flag (rwait), and the writer's one flag load
 * serves both.
 *
 * Property: no lost readiness.  Every reader consumes every item: a bell
 * reader blocked in poll on a bell that was not rung, or the sleeper
 * asleep in futex_wait, while an item it has not read is published, is a
 * state where nothing can move any more: an invalid end state.
 *
 * Variants (spin -D...):
 *   (none)          the handshake of src/io.c arm() and scb_handle_wake()
 *   -DTSO           x86 store buffers (memory.pml)
 *   -DNO_READER_FENCE, -DNO_WRITER_FENCE
 *                   the bell reader's fence after raising its bit, or the
 *                   writer's fence after the head store, removed (implies
 *                   -DTSO); each fails
 *   -DASYM          an asymmetric-barrier ring (implies -DTSO): the writer
 *                   has a compiler barrier only, the bell reader and the
 *                   sleeper issue the heavy barrier after raising their bit
 *   -DPLAIN_STORE_FLAG  the bell reader raises its bit with a plain store
 *                   of SCB_WAIT_BELL instead of an OR: it can overwrite the
 *                   sleeper's bit; fails
 *   -DNO_RECHECK    the bell reader does not check for items after arming;
 *                   fails
 *   -DNREADERS=n -DNPUSH=n -DSLEEPERS=0|1  the size (default 2 bell
 *                   readers, 3 pushes, 1 sleeper)
 *
 * Step by step, against src/io.c, src/ring.c, src/bell.c and src/handle.h:
 *
 *   writer, per push (scb_push):
 *     STORE head            scb_ring_push:
 *                             scb_store_release(&r->hdr->head, next);
 *     WFENCE                wake_readers -> scb_ring_readers_waiting ->
 *                             waiting(): fast_side_barrier(r);
 *                             (scb_fence_full, or scb_fence_compiler on a
 *                             ring with asymmetric barriers)
 *     LOAD flag             if (scb_load32_relaxed(flag) == 0) return 0;
 *     XCHG flag 0 -> bits   bits = scb_xchg32_acq_rel(flag, 0);
 *                           if (bits == 0) return 0;
 *     RMW_ADD seq           scb_add32_release(seq, 1);
 *     bits & SLEEP:         scb_handle_wake: scb_sys_wake(h->rchan,
 *       futex_wake            &h->ring.wait->rseq)
 *     bits & BELL, per bell of role SCB_BELL_READER:
 *       XCHG armed 0 -> a   scb_ring_bell_next -> scb_ring_bell_disarm:
 *                             scb_xchg32_acq_rel(&bell->armed, 0) != 0
 *       a: rung[r] = 1      ring(h, key) -> scb_sys_bell_ring (a byte
 *                             written to its FIFO: its fd polls readable)
 *
 *   bell reader (the event loop: pop until SCB_EAGAIN, then poll):
 *     LOAD head, pos++      scb_pop -> scb_ring_pop -> available():
 *                             c->head = scb_load_acquire(&r->hdr->head);
 *     nothing there: scb_pop -> armed_rc -> again() -> arm():
 *       rung = 0            scb_sys_bell_clear(h->bell)  (reads its FIFO empty)
 *       STORE armed 1       scb_ring_bell_arm:
 *                             scb_store32_relaxed(&bell->armed, 1);
 *       OR flag BELL          scb_or32_acq_rel(&r->wait->rwait,
 *                             SCB_WAIT_BELL);  (-DPLAIN_STORE_FLAG: a
 *                             plain store of SCB_WAIT_BELL)
 *       RFENCE                scb_fence_full();
 *       HEAVY (-DASYM)      arm: barrier_for_sleep(h) (scb_sys_barrier_heavy)
 *       LOAD head           arm: !ready(h)  (the re-check; not -DNO_RECHECK)
 *       ready:              if (scb_ring_bell_disarm(h->bell_slot))
 *         XCHG armed 0 -> a     ring(h, h->bell_key);
 *         a: rung = 1
 *     (rung == 1)           poll(fd, POLLIN) until the bell is readable
 *
 * Two pairs of steps are one step here, to keep the search small; neither
 * hides an interleaving that matters.  A disarm and its ring (XCHG armed,
 * then rung = 1): only the one whose XCHG got 1 rings, and between the
 * writer's two steps the bell's reader can only re-check, find the bell
 * disarmed (its own XCHG gets 0) and wait in poll for that ring.
 * A clear and the armed store (rung = 0, STORE armed 1): when the reader
 * arms, its bell is disarmed and its last ring delivered already (poll
 * returned on it), so no ring of this bell falls between them.
 *
 *   sleeper (scb_pop_wait; wake.pml's reader):
 *     LOAD head, pos++      scb_pop
 *     nothing there, wait_ready -> scb_ring_reader_sleep_prepare ->
 *     sleep_prepare():
 *       LOAD seq              s = scb_load32_acquire(seq);
 *       OR flag SLEEP         scb_or32_acq_rel(flag, SCB_WAIT_SLEEP);
 *       FENCE                 scb_fence_full();
 *     HEAVY (-DASYM)        barrier_for_sleep(h)
 *     LOAD head, pos++      wait_ready: ready(h); then scb_pop  (re-check)
 *     futex_wait(s)         scb_sys_wait(chan, word, seq, left, attempt)
 *
 * The OR of memory.pml goes through the store buffer under TSO: the loads
 * after it may pass it, as C11 allows for an acq_rel read-modify-write
 * (on x86 the locked OR is a full barrier by itself, and -DNO_READER_FENCE
 * would not fail there).
 *
 * Left out: the bell table's other fields (owner, role, key, bells_hi:
 * fixed here), a reader that pops again without polling first (its next
 * SCB_EAGAIN arms again, which the model's loop covers), a bell whose
 * heavy barrier fails (it rings itself at once: spurious readiness), the
 * lossless writer's bell (the same handshake the other way round:
 * bell_writer.pml), and scb_handle_ring_all of a take-over writer.
 */

#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef NPUSH
#define NPUSH 3
#endif

#ifndef SLEEPERS
#define SLEEPERS 1
#endif

#define SLEEPER (NREADERS + 1)
#define NPROC (NREADERS + 1 + SLEEPERS)  /* 0 the writer, 1..NREADERS the
                                 bell readers, NREADERS + 1 the sleeper */
#define HEAD 0                /* hdr->head */
#define SEQ 1                 /* wait->rseq, the futex word */
#define FLAG 2                /* wait->rwait, the bits below */
#define ARMED 3               /* bells[r - 1].armed: ARMED + r - 1 */
#define NV (ARMED + NREADERS)

#define SLEEP 1               /* SCB_WAIT_SLEEP */
#define BELL 2                /* SCB_WAIT_BELL */

#if defined(NO_READER_FENCE) || defined(NO_WRITER_FENCE) || defined(ASYM)
#define TSO
#endif
#include "memory.pml"

bit asleep;                   /* the sleeper, blocked in FUTEX_WAIT on rseq */
bit rung[NREADERS + 1];       /* bell r holds a byte: its fd is readable */

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
#ifdef PLAIN_STORE_FLAG
#define RAISE_BELL(p) STORE(p, FLAG, BELL)
#else
#define RAISE_BELL(p) OR(p, FLAG, BELL)
#endif

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

proctype writer()
{
    byte n = 0, f, bits, old, a, i;

    do
    :: n < NPUSH ->
        n++;
        STORE(0, HEAD, n);
        WFENCE;
        LOAD(0, FLAG, f);
        if
        :: f == 0 -> skip
        :: else ->
            XCHG(0, FLAG, 0, bits);
            if
            :: bits == 0 -> skip
            :: else ->
                RMW_ADD(0, SEQ, 1, old);
                if
                :: (bits & SLEEP) != 0 -> asleep = 0  /* FUTEX_WAKE */
                :: else -> skip
                fi;
                if
                :: (bits & BELL) != 0 ->
                    i = 1;
                    do
                    :: i <= NREADERS ->
                        atomic {
                            XCHG(0, ARMED + i - 1, 0, a);
                            if
                            :: a != 0 -> rung[i] = 1
                            :: else -> skip
                            fi
                        };
                        i++
                    :: else -> i = 0; break
                    od
                :: else -> skip
                fi
            fi
        fi;
        f = 0; bits = 0; old = 0; a = 0
    :: else -> break
    od
}

proctype reader(byte me)
{
    byte pos = 0, a, i;

    do
    :: pos == NPUSH -> break
    :: else ->
        if
        :: mem[HEAD] > pos -> pos++  /* no store of its own to forward */
        :: else ->
            atomic { rung[me] = 0; STORE(me, ARMED + me - 1, 1) };
            RAISE_BELL(me);
            RFENCE(me);
#ifdef ASYM
            heavy();
#endif
#ifndef NO_RECHECK
            if
            :: mem[HEAD] > pos ->
                atomic {
                    XCHG(me, ARMED + me - 1, 0, a);
                    if
                    :: a != 0 -> rung[me] = 1
                    :: else -> skip
                    fi
                };
                a = 0
            :: else -> skip
            fi;
#endif
            (rung[me] == 1)  /* poll */
        fi
    od
}

/* The reader in scb_pop_wait (wake.pml's reader).  FUTEX_WAIT: sleeps only
 * if the word still holds s, checked and begun in one step; returns when a
 * FUTEX_WAKE clears the sleep. */
proctype sleeper()
{
    byte pos = 0, s, i;

    do
    :: pos == NPUSH -> break
    :: else ->
        if
        :: mem[HEAD] > pos -> pos++
        :: else ->
            LOAD(SLEEPER, SEQ, s);
            OR(SLEEPER, FLAG, SLEEP);
            FENCE(SLEEPER);
#ifdef ASYM
            heavy();
#endif
            if
            :: mem[HEAD] > pos -> pos++
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
        od;
        if
        :: SLEEPERS > 0 -> run sleeper()
        :: else -> skip
        fi
    }
}
