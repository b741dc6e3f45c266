/*
 * register.pml - a lossless reader registering while the writer pushes
 * (SCB_LOSSLESS rings).
 *
 * Property: a registered reader never loses an item it is owed.  From the
 * start position it settles on (after the fix-up in
 * scb_ring_reader_register_end) it reads every item in order, and none is
 * overwritten before it has read it: the reader asserts that the slot
 * still holds the item when its copy begins, and that the writer has not
 * decided to claim position p + length (which overwrites p) before its copy
 * of p ends.  The writer never deadlocks against its readers either (SPIN's
 * invalid end states).
 *
 * Processes: the writer (process 0) pushes NPUSH items into a ring of
 * LENGTH slots; NREADERS readers each register into one of NSLOTS slots,
 * read to the end, and may close after any item (freeing the slot, which a
 * later reader may then take with the old position still in it).  Nobody
 * dies here: dead readers and writers are the take-over model's business.
 *
 * Variants (spin -D...):
 *   (none)            the protocol as in src/ring.c, with the bounded wait
 *                     of the open (a reader may give up waiting for an odd
 *                     push_seq, free its slot and fail the open)
 *   -DTSO             x86 store buffers (memory.pml)
 *   -DNO_WRITER_BARRIER  no barrier in scb_ring_op_begin between the
 *                     push_seq store and the reg_gen load (implies -DTSO);
 *                     fails
 *   -DNO_READER_FENCE no fence after reg_gen++ (implies -DTSO); passes,
 *                     because on x86 the locked add is itself a full
 *                     barrier (the fence matters on weaker hardware, which
 *                     is not modelled)
 *   -DASYM            asymmetric barriers (implies -DTSO): a compiler
 *                     barrier in op_begin, the heavy barrier after the
 *                     announcement
 *   -DNO_WOP_WAIT     the reader does not wait for a push under way (an
 *                     odd push_seq); fails
 *   -DNO_FIXUP        no fix-up from claim in register_end; fails
 *   -DLENGTH=n -DNPUSH=n -DNREADERS=n -DNSLOTS=n  the size
 *
 * Step by step, against src/ring.c and src/scb.c (the model's wop is the
 * header's push_seq and the cursor's copy of it, its gen the cursor's
 * reg_gen_seen, its any the cursor's have_readers):
 *
 *   writer, per push (scb_push):
 *     wop++; STORE wop      scb_ring_op_begin:
 *                             scb_store_relaxed(&r->hdr->push_seq,
 *                             ++w->push_seq);
 *     WBARRIER              fast_side_barrier(r);
 *     LOAD reg_gen          scb_ring_writer_refresh:
 *                             reg_gen = scb_load32_acquire(&r->wait->reg_gen);
 *     rescan if changed     if (reg_gen != w->reg_gen_seen) {
 *                             w->reg_gen_seen = reg_gen;
 *                             w->have_readers = scb_ring_readers_min(r,
 *                             w->pos, &w->min); ... }
 *     rescan()              scb_ring_readers_min: per slot
 *                             scb_load_acquire(&r->slots[i].owner) and
 *                             p = scb_load_acquire(&r->slots[i].pos);
 *                             skip p ahead of pos, clamp to pos - length,
 *                             keep the lowest
 *     room                  scb_ring_room: no limit if !w->have_readers;
 *                             the cached used = w->pos - w->min if it
 *                             leaves room; else rescan and
 *                             r->length - (w->pos - w->min)
 *     no room               scb_push: scb_ring_op_end, SCB_EAGAIN; then
 *                             scb_push_wait (wait_op, wait_ready) sleeps
 *                             until a reader wakes it
 *                             (here: until a reader has published progress
 *                             since this push began; model 1 checks that
 *                             wake)
 *     STORE claim           scb_ring_push -> claim_to:
 *                             scb_store_relaxed(&r->hdr->claim, end);
 *     STORE item            copy_in(r, w->idx, item, 1);
 *     STORE head            scb_store_release(&r->hdr->head, next);
 *     wop++; STORE wop      scb_ring_op_end:
 *                             scb_store_release(&r->hdr->push_seq,
 *                             ++w->push_seq);
 *
 *   Not modelled: scb_wait's readiness check for a lossless writer
 *   (io.c ready()) runs scb_ring_writer_refresh alone, outside a push: the
 *   same LOAD reg_gen and rescan without the wop steps.  It decides
 *   nothing (the push after it runs the whole sequence above), and a
 *   registration it consumes was visible to its rescan (the acquire), so
 *   the next push's cached view already holds that reader's slot.  Record
 *   rings (src/record.c) push with the same steps, over bytes; scb_reserve
 *   ends the bracket once its claim is stored (the payload and head come
 *   at scb_commit, after), and register_end's fix-up there moves a reader
 *   the pre-registration push overwrote to the writer's tail instead of
 *   claim - length.
 *
 *   reader (scb_open without SCB_WRITER on a lossless ring):
 *     CAS owner 0 -> me     register_reader -> scb_ring_slot_take:
 *                             scb_cas(&r->slots[i].owner, &free_owner, self)
 *                             (ELIMIT if none)
 *     LOAD head, pos        scb_ring_reader_register_begin ->
 *                             scb_ring_reader_start: head - min(head -
 *                             origin, length)
 *     (STORE slot.tag       scb_store_relaxed(&slot->tag, c->tag): only for
 *                             eviction, not modelled)
 *     STORE slot.pos        scb_store_release(&slot->pos, c->pos);
 *     RMW_ADD reg_gen       scb_add32_seq_cst(&r->wait->reg_gen, 1);
 *     RFENCE                scb_fence_full();
 *     HEAVY (-DASYM)        register_reader: scb_sys_barrier_heavy() (if
 *                             it fails, the registration fails with
 *                             SCB_ENOTSUP, as a give-up does)
 *     LOAD wop              push_seq = scb_ring_writer_push_seq(&h->ring);
 *     odd: wait             wait_push_done(h, push_seq): until
 *                             scb_load_acquire(&h->ring.hdr->push_seq) !=
 *                             push_seq, or give up after REGISTER_WAIT_NS
 *                             (SCB_EBUSY):
 *                             scb_ring_reader_unregister frees the slot
 *     LOAD claim, fix-up    scb_ring_reader_register_end:
 *                             claim = scb_load_acquire(&r->hdr->claim);
 *                             if (ahead(claim, c->pos) &&
 *                                 claim - c->pos > r->length) {
 *                                 skip_to(r, c, claim - r->length); ...
 *                                 scb_store_release(&c->slot->pos, c->pos); }
 *     per item              scb_pop -> scb_ring_pop: available() (head),
 *                             copy_out (checked here), advance, publish:
 *                             scb_store_release(&c->slot->pos, c->pos);
 *                             wake_writer
 *     CAS owner me -> 0     scb_close -> scb_ring_reader_unregister:
 *                             scb_cas(&c->slot->owner, &me, 0);
 *                             scb_ring_writer_waiting / scb_sys_wake
 */

#ifndef LENGTH
#define LENGTH 1
#endif
#ifndef NPUSH
#define NPUSH 3
#endif
#ifndef NREADERS
#define NREADERS 2
#endif
#ifndef NSLOTS
#define NSLOTS 1
#endif

#define NPROC (NREADERS + 1)  /* process 0 is the writer */
#define HEAD 0                /* hdr->head */
#define CLAIM 1               /* hdr->claim */
#define WOP 2                 /* hdr->push_seq */
#define REGGEN 3              /* wait->reg_gen */
#define OWNER 4               /* slots[i].owner: OWNER + i */
#define SPOS (OWNER + NSLOTS) /* slots[i].pos: SPOS + i */
#define RING (SPOS + NSLOTS)  /* the items: RING + p % LENGTH holds p */
#define NV (RING + LENGTH)

#if defined(NO_WRITER_BARRIER) || defined(NO_READER_FENCE) || defined(ASYM)
#define TSO
#endif
#include "memory.pml"

byte wclaim;    /* ghost: the claim the writer has decided on (in program
                 * order, whether or not the store is visible yet) */
byte progress;  /* ghost: bumped when a reader publishes a position or frees
                 * its slot, the events after which it wakes the writer */

#if defined(NO_WRITER_BARRIER) || defined(ASYM)
#define WBARRIER skip
#else
#define WBARRIER FENCE(0)
#endif
#ifdef NO_READER_FENCE
#define RFENCE(p) skip
#else
#define RFENCE(p) FENCE(p)
#endif

/* scb_ring_readers_min(r, pos, &min) into any and min. */
inline rescan()
{
    any = 0;
    m = pos;
    i = 0;
    do
    :: i < NSLOTS ->
        LOAD(0, OWNER + i, o);
        if
        :: o != 0 ->
            LOAD(0, SPOS + i, p);
            any = 1;
            if
            :: p > pos -> skip
            :: else ->
                if
                :: pos - p > LENGTH -> p = pos - LENGTH
                :: else -> skip
                fi;
                if
                :: m > p -> m = p
                :: else -> skip
                fi
            fi
        :: else -> skip
        fi;
        i++
    :: else -> break
    od;
    min = m;
    i = 0; o = 0; p = 0; m = 0
}

proctype writer()
{
    byte pos = 0, wop = 0, gen = 0, min = 0, g, i, o, p, m, seen;
    bit any = 0, room;

    do
    :: pos < NPUSH ->
        seen = progress;
        wop++;
        STORE(0, WOP, wop);
        WBARRIER;
        LOAD(0, REGGEN, g);
        if
        :: g != gen -> gen = g; rescan()
        :: else -> skip
        fi;
        g = 0;
        room = 1;
        if
        :: any && pos - min < LENGTH -> skip
        :: any && pos - min >= LENGTH ->
            rescan();
            room = !any || pos - min < LENGTH
        :: else -> skip
        fi;
        if
        :: room ->
            atomic { wclaim = pos + 1; STORE(0, CLAIM, pos + 1) };
            STORE(0, RING + pos % LENGTH, pos);
            pos++;
            STORE(0, HEAD, pos);
            wop++;
            STORE(0, WOP, wop)
        :: else ->
            wop++;
            STORE(0, WOP, wop);
            (progress != seen)
        fi;
        seen = 0
    :: else -> break
    od
}

#ifdef ASYM
inline heavy()
{
    i = 0;
    do
    :: i < NPROC -> empty(sb[i]); i++
    :: else -> i = 0; break
    od
}
#endif

proctype reader(byte me)
{
    byte slot, i, h, pos, g, w, c, x, exp;
    bit ok;

    /* register_reader: the first free slot */
    i = 0;
    do
    :: i < NSLOTS ->
        exp = 0;
        CAS(me, OWNER + i, exp, me, ok);
        if
        :: ok -> slot = i; break
        :: else -> i++
        fi
    :: else -> goto done  /* SCB_ELIMIT */
    od;
    i = 0;

    /* scb_ring_reader_register_begin */
    LOAD(me, HEAD, h);
    pos = (h > LENGTH -> h - LENGTH : 0);
    h = 0;
    STORE(me, SPOS + slot, pos);
    RMW_ADD(me, REGGEN, 1, g);
    g = 0;
    RFENCE(me);
#ifdef ASYM
    heavy();
#endif

    /* wait_push_done */
    LOAD(me, WOP, w);
#ifndef NO_WOP_WAIT
    if
    :: w % 2 == 1 ->
        do
        :: LOAD(me, WOP, x);
            if
            :: x != w -> break
            :: else -> skip
            fi
        :: exp = me;  /* gives up: the open fails, the slot is freed */
            CAS(me, OWNER + slot, exp, 0, ok);
            progress++;
            goto done
        od
    :: else -> skip
    fi;
#endif
    w = 0; x = 0;

    /* scb_ring_reader_register_end */
#ifndef NO_FIXUP
    LOAD(me, CLAIM, c);
    if
    :: c > pos && c - pos > LENGTH ->
        pos = c - LENGTH;
        STORE(me, SPOS + slot, pos)
    :: else -> skip
    fi;
    c = 0;
#endif

    /* scb_pop, item after item; may close after any of them */
    do
    :: pos < NPUSH ->
        (mem[HEAD] > pos);  /* the reader has no store to head to forward */
        LOAD(me, RING + pos % LENGTH, x);
        assert(x == pos);           /* the copy begins on the item */
        assert(wclaim <= pos + LENGTH);  /* and ends before p is overwritten */
        x = 0;
        pos++;
        STORE(me, SPOS + slot, pos);
        FENCE(me);  /* wake_writer: scb_ring_writer_waiting's barrier */
        progress++;
        if
        :: skip
        :: break
        fi
    :: else -> break
    od;

    /* scb_close */
    exp = me;
    atomic { CAS(me, OWNER + slot, exp, 0, ok); progress++ };
done:
    skip
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
