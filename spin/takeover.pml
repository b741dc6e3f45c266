/*
 * takeover.pml - the writer role changing hands: openers with SCB_WRITER
 * racing for the role of a writer that may die or close at any step.
 *
 * Properties:
 *   - never two live writers: no moment where two processes that are alive
 *     both believe they hold the role (asserted where a process comes to
 *     believe it, the only step that can break it: see won());
 *   - the role is taken when its holder is dead and someone asks: an
 *     opener that found the role vacant (no owner, or a dead one) returns
 *     SCB_EBUSY only if some opener's compare-and-swap won since.
 * Process 1 holds the role at the start (scb_create: scb_layout_init writes
 * its identity); processes 2..NPROC open with SCB_WRITER; a killer may kill
 * any process at any step (a process runs only while alive: SPIN's
 * `provided`).  A dead process is simply stuck, so pan runs with -E (no
 * invalid-end-state check: nothing here waits for anyone).
 *
 * Variants (spin -D...):
 *   (none)        take_writer and scb_close as in src/scb.c
 *   -DNO_CAS      take_writer stores its identity instead of the
 *                 compare-and-swap: two live writers; fails
 *   -DNO_ALIVE    take_writer refuses any non-zero owner, dead or alive:
 *                 the role of a dead writer is never taken; fails
 *   -DNOPENERS=n  openers (default 3)
 *
 * Step by step, against src/scb.c:
 *
 *   opener (scb_open with SCB_WRITER -> take_writer):
 *     cur = writer_id       uint64_t cur = scb_load_acquire(owner);
 *     busy?                 if (cur != 0 && scb_sys_proc_alive(cur))
 *                               return SCB_EBUSY;
 *                           (alive(x): process x has not died; the real
 *                           scb_sys_proc_alive also tells a reused process
 *                           id apart by its start time)
 *     CAS                   if (scb_cas(owner, &cur, h->self_id))
 *                               return SCB_OK;
 *                           (on failure cur is the value the CAS saw)
 *     the second property:  vacant_seen[me] is set when the opener reads an
 *                           owner that is 0 or dead, cleared by any winning
 *                           CAS; returning SCB_EBUSY with it still set means
 *                           the opener refused a vacant role that nobody
 *                           took (asserted at the EBUSY)
 *   holder (h->is_writer):
 *     keeps the role, or closes (scb_close):
 *     believes = 0          the handle stops pushing: scb_close is its
 *                           last call
 *     CAS writer_id me -> 0 scb_cas(&h->ring.hdr->writer_id, &me, 0);
 */

#ifndef NOPENERS
#define NOPENERS 3
#endif
#define NPROC (NOPENERS + 1)  /* processes 1..NPROC; 0 means none */

byte writer_id = 1;           /* hdr->writer_id */
bit alive[NPROC + 1];         /* the OS's view: not dead */
bit believes[NPROC + 1];      /* the process's handle has is_writer set */
bit vacant_seen[NPROC + 1];   /* ghost: the opener found the role vacant
                               * (no owner, or a dead one) and no CAS has
                               * won since */

/* A CAS for the role won (in the same atomic step): no other live process
 * may believe it is the writer, and whoever found the role vacant has had
 * an answer.  The first property can only break at such a step: believes[]
 * goes from 0 to 1 only here, and alive[] never from 0 to 1. */
inline won()
{
    for (k : 1 .. NPROC) {
        assert(k == me || !(alive[k] && believes[k]));
        vacant_seen[k] = 0
    }
    k = 0
}

/* Holds the role until it closes, or keeps it (the process stays alive and
 * does nothing more here). */
inline hold()
{
    if
    :: skip
    :: believes[me] = 0;
        atomic {
            if
            :: writer_id == me -> writer_id = 0
            :: else -> skip
            fi
        }
    fi
}

proctype first_writer(byte me) provided (alive[me])
{
    hold()
}

proctype opener(byte me) provided (alive[me])
{
    byte cur, k;

    atomic { cur = writer_id; vacant_seen[me] = cur == 0 || !alive[cur] };
    do
#ifdef NO_ALIVE
    :: cur != 0 -> assert(!vacant_seen[me]); break
#else
    :: cur != 0 && alive[cur] -> assert(!vacant_seen[me]); break  /* EBUSY */
#endif
    :: else ->
#ifdef NO_CAS
        atomic {
            writer_id = me;
            believes[me] = 1;
            won()
        };
        break
#else
        atomic {
            if
            :: writer_id == cur ->
                writer_id = me;
                believes[me] = 1;
                won()
            :: else -> cur = writer_id
            fi
        };
        if
        :: believes[me] -> break
        :: else -> skip
        fi
#endif
    od;
    if
    :: believes[me] -> hold()
    :: else -> skip
    fi
}

/* Kills any live process at any moment, or stops killing. */
proctype killer()
{
    byte x;

    do
    :: atomic {
        select(x : 1 .. NPROC);
        alive[x] -> alive[x] = 0;
        x = 0
    }
    :: break
    od
}

init
{
    byte p;

    atomic {
        p = 1;
        do
        :: p <= NPROC -> alive[p] = 1; p++
        :: else -> break
        od;
        believes[1] = 1;
        run first_writer(1);
        p = 2;
        do
        :: p <= NPROC -> run opener(p); p++
        :: else -> break
        od;
        run killer()
    }
}
