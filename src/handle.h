/*
 * handle.h - what the two halves of the API layer share: the handle
 * (struct scb), and the few helpers both use.  scb.c holds a handle's
 * lifecycle (create, open, registration, close, info), io.c pushes, pops
 * and waits.  Private to the library.
 */
#ifndef SCB_HANDLE_H
#define SCB_HANDLE_H

#include <stdint.h>

#include "backend.h"
#include "ring.h"
#include "scb.h"
#include "sys.h"

struct scb {
    /* Hot: what push and pop touch. */
    scb_ring_t ring;
    scb_wcursor_t w;
    scb_rcursor_t r;
    int is_writer;

    /* Cold. */
    uint32_t flags;          /* the ring's flags */
    uint32_t mode;
    uint32_t max_readers;
    uint64_t self_id;        /* this process's identity (writer, slot owner) */
    uint32_t forks;          /* scb_sys_forks when opened: a handle used in a
                              * forked child is not that child's */
    uint64_t rejoin_at;      /* evicted reader: no new try before this */
    uint64_t birth;          /* the ring's birth mark, as validated at open */
    int no_heavy;            /* asymmetric barriers: this process's heavy
                              * barrier failed, so its _wait calls poll */
    uint64_t last_reap;      /* when the writer last looked for dead readers */
    int shared_rw;           /* 1 if this handle may write the wait line */
    uint64_t spin_ns;        /* how long _wait calls poll before sleeping */
    const scb_backend_t *be;
    scb_seg_t seg;
    scb_sys_chan_t *rchan;   /* wake channel of wait->rseq (sys.h) */
    scb_sys_chan_t *wchan;   /* wake channel of wait->wseq */
    /* scb_fd: this handle's doorbell (NULL until scb_fd), its entry in the
     * ring's table and its key; and the sending end it rings the other
     * side's bells with (made on first use). */
    scb_sys_bell_t *bell;
    struct scb_bell *bell_slot;
    uint64_t bell_key;
    int bell_lost;           /* its entry was taken and could not be again */
    scb_sys_ringer_t *ringer;
    char name[SCB_NAME_MAX + 1];
};

/* 1 if the handle is used in a forked child of the process that opened
 * it: it acts for that process (its writer role, its reader slot), so the
 * child may only close it, which releases nothing shared. */
static inline int foreign(const scb_t *h)
{
    return h->forks != scb_sys_forks;
}

/* The slow part of a wake-up, once a *_waiting function returned the
 * flag bits it cleared: wakes the sleepers on the other side's word
 * (SCB_WAIT_SLEEP) and rings its armed doorbells (SCB_WAIT_BELL); io.c. */
void scb_handle_wake(scb_t *h, uint32_t bits);

/* After the writer published items: wake readers asleep in scb_pop_wait
 * or armed on scb_fd. */
static inline void wake_readers(scb_t *w)
{
    uint32_t bits = scb_ring_readers_waiting(&w->ring);

    if (bits != 0)
        scb_handle_wake(w, bits);
}

/* After a reader let go of a position the writer may be waiting on (a
 * slot given back, a position moved forward): wake a writer asleep in
 * scb_push_wait or armed on scb_fd. */
static inline void wake_writer_always(scb_t *r)
{
    uint32_t bits = scb_ring_writer_waiting(&r->ring);

    if (bits != 0)
        scb_handle_wake(r, bits);
}

/* A writer that took the role over: rings every reader's doorbell once,
 * armed or not (the writer it replaced may have died between disarming a
 * bell and ringing it); io.c. */
void scb_handle_ring_all(scb_t *w);

/* Gives the handle's doorbell back and closes it (scb_close); io.c.
 * `shared`: 0 in a forked child, which closes its copies only. */
void scb_handle_fd_close(scb_t *h, int shared);

/* A registered reader found its slot taken from it: registers it again
 * where it is, without waiting (scb.c). */
void scb_handle_rejoin(scb_t *r);

#endif /* SCB_HANDLE_H */
