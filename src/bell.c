/*
 * bell.c - the doorbell table of a ring (struct scb_bell, layout.h): the
 * entries through which handles that called scb_fd are found and rung
 * (ring.h says what each function does; io.c drives them).  Like ring.c it
 * works on the mapped segment only: no OS calls, no allocation, and every
 * index is capped by SCB_BELLS, whatever the shared words say.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stdint.h>

#include "atomic.h"
#include "layout.h"
#include "ring.h"
#include "scb.h"

/* The bell table's extent: up to the highest bell ever taken, never past
 * the table whatever the shared word says. */
static uint32_t bells_hi(const scb_ring_t *r)
{
    uint32_t hi = scb_load32_acquire(&r->wait->bells_hi);

    return hi < SCB_BELLS ? hi : SCB_BELLS;
}

int scb_ring_bell_take(const scb_ring_t *r, uint64_t self, uint64_t key,
                       uint32_t role, scb_ring_alive_fn alive,
                       scb_ring_gone_fn gone, struct scb_bell **bell)
{
    uint32_t i, hi, pass;

    for (pass = 0; pass < 2; pass++) {
        if (pass == 1)
            scb_ring_bell_reap(r, alive, gone);
        for (i = 0; i < SCB_BELLS; i++) {
            struct scb_bell *b = &r->bells[i];
            uint64_t owner = 0;

            if (!scb_cas(&b->owner, &owner, self))
                continue;
            scb_store32_relaxed(&b->armed, 0);
            scb_store_relaxed(&b->key, key);
            scb_store32_relaxed(&b->role, role);
            /* Release (the CAS below): a ringer that reaches this bell
             * reads its key and role. */
            hi = scb_load32_acquire(&r->wait->bells_hi);
            while (hi < i + 1 && !scb_cas32(&r->wait->bells_hi, &hi, i + 1))
                ;
            *bell = b;
            return SCB_OK;
        }
    }
    return SCB_ELIMIT;
}

void scb_ring_bell_reap(const scb_ring_t *r, scb_ring_alive_fn alive,
                        scb_ring_gone_fn gone)
{
    uint32_t i, hi = bells_hi(r);

    for (i = 0; i < hi; i++) {
        struct scb_bell *b = &r->bells[i];
        uint64_t owner = scb_load_acquire(&b->owner);

        if (owner == 0 || alive(owner) || !gone(scb_load_relaxed(&b->key)))
            continue;
        scb_store32_relaxed(&b->armed, 0);
        scb_cas(&b->owner, &owner, 0);
    }
}

void scb_ring_bell_drop(const scb_ring_t *r, struct scb_bell *bell,
                        uint64_t self, uint64_t key)
{
    uint64_t owner = self;

    (void)r;
    /* Another process took it (it judged this one dead): it is that one's. */
    if (scb_load_relaxed(&bell->key) != key)
        return;
    scb_store32_relaxed(&bell->armed, 0);
    scb_cas(&bell->owner, &owner, 0);
}

void scb_ring_bell_arm(const scb_ring_t *r, struct scb_bell *bell,
                       uint32_t role)
{
    /* Release: a ringer that finds armed set also finds the key stored
     * before it (it reads the key after its exchange of armed). */
    scb_store32_release(&bell->armed, 1);
    /* Acquire-release: armed is set before the bit; the full fence then
     * orders the bit before the caller's re-check, as for a sleeper. */
    scb_or32_acq_rel(role == SCB_BELL_WRITER ? &r->wait->wwait
                                             : &r->wait->rwait,
                     SCB_WAIT_BELL);
    scb_fence_full();
}

int scb_ring_bell_mine(const struct scb_bell *bell, uint64_t self,
                       uint64_t key)
{
    return scb_load_relaxed(&bell->owner) == self &&
           scb_load_relaxed(&bell->key) == key;
}

int scb_ring_bell_disarm(struct scb_bell *bell)
{
    return scb_xchg32_acq_rel(&bell->armed, 0) != 0;
}

int scb_ring_bell_next(const scb_ring_t *r, uint32_t role, int all,
                       uint32_t *i, uint64_t *key)
{
    uint32_t hi = bells_hi(r);

    while (*i < hi) {
        struct scb_bell *b = &r->bells[(*i)++];
        int armed;

        if (scb_load32_relaxed(&b->role) != role ||
            scb_load_relaxed(&b->owner) == 0)
            continue;
        /* Only an armed bell is written: the others' lines stay theirs. */
        armed = scb_load32_relaxed(&b->armed) != 0 && scb_ring_bell_disarm(b);
        if (armed || all) {
            *key = scb_load_relaxed(&b->key);
            return 1;
        }
    }
    return 0;
}
