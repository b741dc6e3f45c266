/*
 * scb.c - the public entry points: argument and name checks, roles, the
 * handle's lifecycle, and the writer role's hand-over between processes.
 *
 * The ring itself is in ring.c, the segment format in layout.c, the shared
 * memory behind backend.h and everything else from the OS behind sys.h:
 * this file includes no OS header.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "layout.h"
#include "ring.h"
#include "scb.h"
#include "sys.h"

#define CREATE_FLAGS (SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE)
#define OPEN_FLAGS (SCB_WRITER | SCB_LATEST)
#define KNOWN_FLAGS (CREATE_FLAGS | OPEN_FLAGS)

/* How long open waits for a segment whose creator has not even marked it
 * as being created (the microseconds between the OS call that made it and
 * the marker; a creator killed there leaves it so) before it calls it bad. */
#define OPEN_NOT_READY_NS (500u * 1000u * 1000u)

/* How long open waits for a ring marked as being created by a live process
 * (the slow part of a large create: the backend reserving its memory)
 * before it calls it bad all the same: a creator stopped, or a forger. */
#define OPEN_CREATING_NS (60ull * 1000u * 1000u * 1000u)

/* How often a blocked lossless writer checks whether the readers holding
 * it back are still alive (dead ones are detected within this, well inside
 * the 1 s the contract allows), and the longest it sleeps between checks. */
#define REAP_INTERVAL_NS (100u * 1000u * 1000u)

/* How long a _wait call polls before it goes to sleep by default: an item
 * (or room) that comes within this is caught with no system call on either
 * side, at the cost of that much CPU when nothing comes.  The environment
 * variable SCB_SPIN_US (read when a handle is opened) changes it: 0 sleeps
 * at once, which suits machines with fewer free cores than waiters. */
#define SPIN_NS_DEFAULT (50u * 1000u)
#define SPIN_NS_MAX (1000u * 1000u * 1000u)

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
    uint64_t last_reap;      /* when the writer last looked for dead readers */
    int shared_rw;           /* 1 if this handle may write the wait line */
    uint64_t spin_ns;        /* how long _wait calls poll before sleeping */
    const scb_backend_t *be;
    scb_seg_t seg;
    scb_sys_chan_t *rchan;   /* wake channel of wait->rseq (sys.h) */
    scb_sys_chan_t *wchan;   /* wake channel of wait->wseq */
    char name[SCB_NAME_MAX + 1];
};

/* Semantics 8: 1 to SCB_NAME_MAX characters of [A-Za-z0-9._-]. */
static int check_name(const char *name, const scb_backend_t *be)
{
    size_t n;

    if (name == NULL)
        return SCB_EINVAL;
    for (n = 0; name[n] != '\0'; n++) {
        unsigned char c = (unsigned char)name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return SCB_EINVAL;
        if (n == SCB_NAME_MAX)
            return SCB_ENAMETOOLONG;
    }
    if (n == 0)
        return SCB_EINVAL;
    if (be != NULL && n > be->name_max)
        return SCB_ENAMETOOLONG;
    return SCB_OK;
}

/* Finds the backend a config asks for; SCB_ENOTSUP if not built in. */
static int find_backend(const scb_config_t *cfg, const scb_backend_t **be)
{
    *be = scb_backend_find(cfg != NULL ? cfg->backend : NULL);
    return *be != NULL ? SCB_OK : SCB_ENOTSUP;
}

/* Closes a segment on an error path without losing the errno that explains
 * the error. */
static void close_quietly(const scb_backend_t *be, scb_seg_t *seg)
{
    int saved = errno;

    scb_be_close(be, seg);
    errno = saved;
}

/* Opens the segment of `name` and validates it, waiting for one that is
 * still being created: as long as its creator lives (up to
 * OPEN_CREATING_NS) once the creator marked it, and OPEN_NOT_READY_NS for
 * one not marked yet. */
static int open_segment(const scb_backend_t *be, const char *name,
                        int writable, scb_seg_t *seg, scb_geom_t *g)
{
    uint64_t start = scb_sys_now_ns(), not_ready = start, now;
    uint32_t nap = 100;
    int rc;

    for (;;) {
        rc = scb_be_open(be, seg, name, writable);
        if (rc != SCB_OK)
            return rc;
        rc = scb_layout_check(seg->base, seg->size, g);
        now = scb_sys_now_ns();
        if (rc == SCB_LAYOUT_CREATING) {
            if (strcmp(g->name, name) != 0)
                break; /* another ring's, or a lie: decided below */
            /* A dead creator's ring will never be finished. */
            if (!scb_sys_proc_alive(g->creator) ||
                now - start > OPEN_CREATING_NS) {
                rc = SCB_EBADFORMAT;
                break;
            }
            not_ready = now;
        } else if (rc != SCB_EAGAIN) {
            break;
        } else if (now - not_ready > OPEN_NOT_READY_NS) {
            close_quietly(be, seg);
            return SCB_EBADFORMAT;
        }
        close_quietly(be, seg);
        scb_sys_sleep_us(nap);
        if (nap < 10000)
            nap *= 2;
    }
    if ((rc == SCB_OK || rc == SCB_LAYOUT_CREATING) &&
        strcmp(g->name, name) != 0) {
        /* With hashed OS names (System V keys) another ring's segment can
         * sit where this name leads: that is no ring of this name.  With
         * exact names the header lies. */
        rc = be->names_exact ? SCB_EBADFORMAT : SCB_ENOENT;
    }
    if (rc != SCB_OK)
        close_quietly(be, seg);
    return rc;
}

/* SCB_SPIN_US from the environment, in nanoseconds; the default when it is
 * unset or not a plain decimal number. */
static uint64_t spin_ns_from_env(void)
{
    const char *s = getenv("SCB_SPIN_US");
    uint64_t us = 0;

    if (s == NULL || *s == '\0')
        return SPIN_NS_DEFAULT;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || us > SPIN_NS_MAX / 1000u)
            return SPIN_NS_DEFAULT;
        us = us * 10u + (uint64_t)(*s - '0');
    }
    return us * 1000u > SPIN_NS_MAX ? SPIN_NS_MAX : us * 1000u;
}

static scb_t *new_handle(const scb_backend_t *be, const char *name)
{
    scb_t *h = calloc(1, sizeof *h);

    if (h != NULL) {
        h->be = be;
        strcpy(h->name, name); /* checked: at most SCB_NAME_MAX */
        h->spin_ns = spin_ns_from_env();
    }
    return h;
}

/* The wake channel of one word of the ring ('r': rseq, 'w': wseq). */
static scb_sys_chan_t *open_chan(const scb_t *h, char which)
{
    char key[sizeof h->name + 32];

    snprintf(key, sizeof key, "scb.%s.%s.%c", h->be->name, h->name, which);
    return scb_sys_chan_open(key);
}

/* Frees a handle whose segment is closed already. */
static void free_handle(scb_t *h)
{
    scb_sys_chan_close(h->rchan);
    scb_sys_chan_close(h->wchan);
    free(h);
}

static void attach(scb_t *h, const scb_geom_t *g)
{
    scb_ring_attach(&h->ring, h->seg.base, g);
    h->rchan = open_chan(h, 'r');
    h->wchan = open_chan(h, 'w');
    /* On a ring made for asymmetric barriers, this process's fast path may
     * drop its fences only once it is registered for the others' heavy
     * barrier; otherwise it keeps them (always correct). */
    h->ring.light = h->ring.asym && scb_sys_barrier_register();
    h->flags = g->flags;
    h->mode = g->mode;
    h->max_readers = g->max_readers;
}

void scb_config_init(scb_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->item_size = 1;
    cfg->length = 2;
    cfg->max_readers = SCB_DEFAULT_MAX_READERS;
    cfg->mode = 0600;
    cfg->backend = NULL;
}

int scb_create(scb_t **out, const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_config_t defaults;
    scb_geom_t g;
    scb_t *h;
    int rc;

    if (out == NULL)
        return SCB_EINVAL;
    *out = NULL;
    if (cfg == NULL) {
        scb_config_init(&defaults);
        cfg = &defaults;
    }
    if ((rc = check_name(name, NULL)) != SCB_OK)
        return rc;
    if ((cfg->flags & ~KNOWN_FLAGS) != 0 || cfg->mode > 0777)
        return SCB_EINVAL;
    if ((rc = find_backend(cfg, &be)) != SCB_OK)
        return rc;
    if ((rc = check_name(name, be)) != SCB_OK)
        return rc;

    memset(&g, 0, sizeof g);
    g.item_size = cfg->item_size != 0 ? cfg->item_size : 1;
    g.length = cfg->length != 0 ? cfg->length : 2;
    g.flags = cfg->flags & CREATE_FLAGS;
    g.max_readers =
        cfg->max_readers != 0 ? cfg->max_readers : SCB_DEFAULT_MAX_READERS;
    g.mode = cfg->mode != 0 ? cfg->mode : 0600;
    g.origin = 0;
    /* Asymmetric barriers when this OS has them (Linux membarrier). */
    g.barrier = scb_sys_barrier_register() && scb_sys_barrier_heavy() == 0;
    strcpy(g.name, name);
    if ((rc = scb_layout_plan(&g, scb_sys_page_size())) != SCB_OK)
        return rc;

    if ((h = new_handle(be, name)) == NULL)
        return SCB_ENOMEM;
    rc = scb_be_create(be, &h->seg, name, (size_t)g.total_size, g.mode);
    if (rc != SCB_OK) {
        free(h);
        return rc;
    }
    h->self_id = scb_sys_proc_self();
    /* Openers from here on wait while this process lives, however long
     * the backend takes to reserve a large segment. */
    scb_layout_mark_creating(h->seg.base, &g, h->self_id);
    rc = scb_be_reserve(be, &h->seg);
    if (rc != SCB_OK) {
        int saved = errno;

        (void)scb_be_remove(be, &h->seg, name);
        scb_be_close(be, &h->seg);
        free(h);
        errno = saved;
        return rc;
    }
    scb_layout_init(h->seg.base, &g, h->self_id);
    attach(h, &g);
    h->is_writer = 1;
    h->shared_rw = 1;
    scb_ring_writer_start(&h->ring, &h->w);
    *out = h;
    return SCB_OK;
}

/* Takes the writer role: succeeds when no live process holds it.  The
 * compare-and-swap makes two openers racing for a dead writer's role agree
 * on one winner. */
static int take_writer(scb_t *h)
{
    scb_atomic_u64 *owner = &h->ring.hdr->writer_id;
    uint64_t cur = scb_load_acquire(owner);

    h->self_id = scb_sys_proc_self();
    for (;;) {
        if (cur != 0 && scb_sys_proc_alive(cur))
            return SCB_EBUSY;
        if (scb_cas(owner, &cur, h->self_id))
            return SCB_OK;
    }
}

/* Frees the slots of registered readers whose process died, so they stop
 * holding the writer back (all of them at once: readers that died at
 * different positions must not hold it back one interval each). */
static void reap_dead_readers(scb_t *h)
{
    uint32_t i, hi = scb_load32_acquire(&h->ring.wait->slots_hi);

    if (hi > h->ring.nslots)
        hi = h->ring.nslots;
    for (i = 0; i < hi; i++) {
        struct scb_slot *slot = &h->ring.slots[i];
        uint64_t owner = scb_load_acquire(&slot->owner);

        if (owner != 0 && !scb_sys_proc_alive(owner))
            scb_cas(&slot->owner, &owner, 0);
    }
}

/* The writer's slow path when a lossless ring looks full: at most every
 * REAP_INTERVAL_NS, free the slots of dead readers holding it back. */
static void writer_reap(scb_t *w)
{
    uint64_t now = scb_sys_now_ns();

    if (w->last_reap != 0 && now - w->last_reap < REAP_INTERVAL_NS)
        return;
    w->last_reap = now;
    reap_dead_readers(w);
}

/* A registering reader found a push under way that may have been decided
 * before its registration: waits for that push to end (a few microseconds),
 * or for its writer to be found dead. */
static void wait_push_done(scb_t *h, uint64_t wop)
{
    unsigned attempt;
    uint64_t last_check = scb_sys_now_ns();

    for (attempt = 0; scb_load_acquire(&h->ring.hdr->wop) == wop; attempt++) {
        scb_sys_sleep_us(attempt < 10 ? 1u << attempt : 1000u);
        if (scb_sys_now_ns() - last_check > 10u * 1000u * 1000u) {
            uint64_t owner = scb_load_acquire(&h->ring.hdr->writer_id);
            if (owner == 0 || !scb_sys_proc_alive(owner))
                return; /* no push will end it; the next writer starts clean */
            last_check = scb_sys_now_ns();
        }
    }
}

/* The fallback of register_reader: waits until wop is even and unchanged
 * over 2 ms (bounded by the writer's death). */
static void wait_writer_quiet(scb_t *h)
{
    uint64_t a, b;

    for (;;) {
        a = scb_ring_writer_wop(&h->ring);
        if (a & 1) {
            wait_push_done(h, a);
            continue;
        }
        scb_sys_sleep_us(2000);
        b = scb_ring_writer_wop(&h->ring);
        if (a == b)
            return;
    }
}

/* Takes a free reader slot of a lossless ring (after freeing those of dead
 * readers if none is free) and registers the reader in it. */
static int register_reader(scb_t *h, int latest)
{
    uint64_t wop;
    uint32_t i, hi, pass;
    struct scb_slot *slot = NULL;

    h->self_id = scb_sys_proc_self();
    for (pass = 0; pass < 2 && slot == NULL; pass++) {
        if (pass == 1)
            reap_dead_readers(h);
        for (i = 0; i < h->ring.nslots; i++) {
            uint64_t free_owner = 0;
            if (scb_cas(&h->ring.slots[i].owner, &free_owner, h->self_id)) {
                slot = &h->ring.slots[i];
                break;
            }
        }
    }
    if (slot == NULL)
        return SCB_ELIMIT;
    /* Let the writer's scans reach this slot. */
    hi = scb_load32_acquire(&h->ring.wait->slots_hi);
    while (hi < i + 1 && !scb_cas32(&h->ring.wait->slots_hi, &hi, i + 1))
        ;
    scb_ring_reader_register_begin(&h->ring, &h->r, slot, latest != 0);
    if (h->ring.asym && scb_sys_barrier_heavy() != 0) {
        /* The writer orders its pushes with compiler barriers only and
         * this process cannot issue the heavy barrier: wait until the
         * writer has been between pushes for a while instead (its stores
         * become visible within nanoseconds in practice). */
        wait_writer_quiet(h);
    } else {
        wop = scb_ring_writer_wop(&h->ring);
        if (wop & 1)
            wait_push_done(h, wop);
    }
    scb_ring_reader_register_end(&h->ring, &h->r);
    return SCB_OK;
}

/* Maps the header and the items read-only for a reader that mapped the
 * segment read-write (semantics 7): only the wait line and the reader
 * slots stay writable.  Whole pages only; where the backend cannot, the
 * reader simply keeps the writable mapping. */
static void protect_reader(scb_t *h, const scb_geom_t *g)
{
    uint64_t page = scb_sys_page_size();
    uint64_t hdr_end = g->shared_off & ~(page - 1);
    uint64_t items_start = (g->items_off + page - 1) & ~(page - 1);

    if (hdr_end > 0)
        scb_be_protect(h->be, &h->seg, 0, (size_t)hdr_end);
    if (items_start < h->seg.size)
        scb_be_protect(h->be, &h->seg, (size_t)items_start,
                       (size_t)((h->seg.size - items_start + page - 1) &
                                ~(page - 1)));
}

int scb_open(scb_t **out, const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_geom_t g;
    uint32_t flags = cfg != NULL ? cfg->flags : 0;
    int writer = (flags & SCB_WRITER) != 0;
    scb_t *h;
    int rc;

    if (out == NULL)
        return SCB_EINVAL;
    *out = NULL;
    if ((rc = check_name(name, NULL)) != SCB_OK)
        return rc;
    if ((flags & ~KNOWN_FLAGS) != 0)
        return SCB_EINVAL;
    if ((rc = find_backend(cfg, &be)) != SCB_OK)
        return rc;
    if ((rc = check_name(name, be)) != SCB_OK)
        return rc;

    if ((h = new_handle(be, name)) == NULL)
        return SCB_ENOMEM;
    /* A reader maps read-write when the mode lets it, for the wait line and
     * its lossless slot, and then protects the header and the items;
     * otherwise it maps everything read-only and can only poll. */
    rc = open_segment(be, name, 1, &h->seg, &g);
    if (rc == SCB_EACCES && !writer)
        rc = open_segment(be, name, 0, &h->seg, &g);
    if (rc != SCB_OK) {
        free(h);
        return rc;
    }
    attach(h, &g);
    h->shared_rw = h->seg.writable;
    if (writer) {
        if ((rc = take_writer(h)) != SCB_OK) {
            close_quietly(be, &h->seg);
            free_handle(h);
            return rc;
        }
        h->is_writer = 1;
        scb_ring_writer_start(&h->ring, &h->w);
    } else {
        if (h->ring.nslots > 0) {
            rc = h->shared_rw ? register_reader(h, flags & SCB_LATEST)
                              : SCB_EACCES; /* a lossless reader needs its slot */
            if (rc != SCB_OK) {
                close_quietly(be, &h->seg);
                free_handle(h);
                return rc;
            }
        } else {
            scb_ring_reader_start(&h->ring, &h->r, (flags & SCB_LATEST) != 0);
        }
        if (h->shared_rw)
            protect_reader(h, &g);
    }
    *out = h;
    return SCB_OK;
}

int scb_close(scb_t *h)
{
    int rc = SCB_OK, rc2;

    if (h == NULL)
        return SCB_OK;
    if (h->is_writer) {
        uint64_t me = h->self_id;

        if (h->flags & SCB_UNLINK_ON_CLOSE) {
            rc = scb_be_remove(h->be, &h->seg, h->name);
            if (rc == SCB_ENOENT)
                rc = SCB_OK; /* already removed by someone else */
        }
        /* Gives the role up, unless another process already took it over
         * (it judged this one dead). */
        scb_cas(&h->ring.hdr->writer_id, &me, 0);
    } else if (h->r.slot != NULL) {
        uint64_t me = h->self_id;

        /* Frees the slot, and wakes a writer that waits for room. */
        scb_cas(&h->r.slot->owner, &me, 0);
        if (scb_ring_writer_waiting(&h->ring))
            scb_sys_wake(h->wchan, &h->ring.wait->wseq);
    }
    rc2 = scb_be_close(h->be, &h->seg);
    if (rc == SCB_OK)
        rc = rc2;
    free_handle(h);
    return rc;
}

int scb_unlink(const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_seg_t seg;
    int rc;

    if ((rc = check_name(name, NULL)) != SCB_OK)
        return rc;
    if ((rc = find_backend(cfg, &be)) != SCB_OK)
        return rc;
    if ((rc = check_name(name, be)) != SCB_OK)
        return rc;
    if (be->names_exact) {
        /* The name is the OS object: remove it without opening it, so an
         * owner can remove a ring whose mode shuts even the owner out. */
        memset(&seg, 0, sizeof seg);
        return scb_be_remove(be, &seg, name);
    }
    if ((rc = scb_be_open(be, &seg, name, 0)) != SCB_OK)
        return rc;
    /* A hashed OS name may lead to another ring, or to a segment that is no
     * ring at all (another program's): remove only a ring of this name, as
     * its magic (finished or being created) and its name say, whatever else
     * in its header is corrupt.  A segment with neither is left alone, also
     * one whose creator died before it even marked it (zeros): that cannot
     * be told from another program's. */
    rc = scb_layout_is_ring_of(seg.base, seg.size, name) ? SCB_OK : SCB_ENOENT;
    if (rc == SCB_OK)
        rc = scb_be_remove(be, &seg, name);
    if (rc != SCB_OK)
        close_quietly(be, &seg);
    else
        rc = scb_be_close(be, &seg);
    return rc;
}

/* scb_list's state, handed through the backend's list method. */
struct list_ctx {
    const scb_backend_t *be;
    scb_list_cb cb;
    void *arg;
};

/* For backends with hashed names: the ring name a candidate segment holds,
 * if it is a valid ring (the format stays here, out of the backend). */
static int list_name_of(const scb_seg_t *seg, char *name, void *arg)
{
    struct list_ctx *ctx = arg;
    scb_geom_t g;

    if (seg == NULL || seg->base == NULL ||
        scb_layout_check(seg->base, seg->size, &g) != SCB_OK ||
        check_name(g.name, ctx->be) != SCB_OK)
        return 0;
    strcpy(name, g.name); /* checked: at most SCB_NAME_MAX */
    return 1;
}

/* Passes a found name on to the caller's callback if it is a valid name. */
static int list_report(const char *name, void *arg)
{
    struct list_ctx *ctx = arg;

    if (check_name(name, ctx->be) != SCB_OK)
        return 0;
    return ctx->cb(name, ctx->arg);
}

int scb_list(const char *backend, scb_list_cb cb, void *arg)
{
    struct list_ctx ctx;
    scb_be_lister_t l;

    if (cb == NULL)
        return SCB_EINVAL;
    ctx.be = scb_backend_find(backend);
    if (ctx.be == NULL)
        return SCB_ENOTSUP;
    ctx.cb = cb;
    ctx.arg = arg;
    l.name_of = list_name_of;
    l.report = list_report;
    l.arg = &ctx;
    return scb_be_list(ctx.be, &l);
}

/* Converts a timeout in milliseconds to a deadline on the monotonic clock;
 * 0 means none (forever).  Timeouts too long to express in nanoseconds
 * (over 290 years) are forever too. */
static uint64_t deadline_of(int64_t timeout_ms)
{
    if (timeout_ms < 0 || timeout_ms > INT64_MAX / 1000000)
        return 0;
    return scb_sys_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Nanoseconds left before `deadline` (0 if past), or -1 for none. */
static int64_t remaining_ns(uint64_t deadline)
{
    uint64_t now;

    if (deadline == 0)
        return -1;
    now = scb_sys_now_ns();
    return now >= deadline ? 0 : (int64_t)(deadline - now);
}

/* Sleeps a little in a polling wait: from 2 us, doubling with `attempt` to
 * about 1 ms, never past `left` nanoseconds (negative: no limit). */
static void nap(int64_t left, unsigned attempt)
{
    uint64_t ns = 2000u << (attempt < 9 ? attempt : 9);

    if (left >= 0 && (uint64_t)left < ns)
        ns = (uint64_t)left;
    scb_sys_sleep_us((uint32_t)(ns / 1000u) + 1);
}

/* After the writer published items: wake readers asleep in scb_pop_wait. */
static inline void wake_readers(scb_t *w)
{
    if (scb_ring_readers_waiting(&w->ring))
        scb_sys_wake(w->rchan, &w->ring.wait->rseq);
}

/* After a lossless reader published its position: wake a writer asleep in
 * scb_push_wait. */
static inline void wake_writer(scb_t *r)
{
    if (r->r.slot != NULL && scb_ring_writer_waiting(&r->ring))
        scb_sys_wake(r->wchan, &r->ring.wait->wseq);
}

/* Room for `want` items now, looking for dead readers once if there is
 * none. */
static uint64_t room_for(scb_t *w, uint64_t want)
{
    uint64_t room = scb_ring_room(&w->ring, &w->w, want);

    if (room == 0) {
        writer_reap(w);
        room = scb_ring_room(&w->ring, &w->w, want);
    }
    return room;
}

int scb_push(scb_t *w, const void *item)
{
    if (w == NULL || item == NULL)
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    scb_ring_op_begin(&w->ring, &w->w);
    if (room_for(w, 1) == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return SCB_EAGAIN;
    }
    scb_ring_push(&w->ring, &w->w, item);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    return SCB_OK;
}

int scb_push_many(scb_t *w, const void *items, size_t n, size_t *count)
{
    uint64_t room;

    if (count != NULL)
        *count = 0;
    if (w == NULL || count == NULL || (items == NULL && n > 0))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    if (n == 0)
        return SCB_OK;
    scb_ring_op_begin(&w->ring, &w->w);
    room = room_for(w, n);
    if (room == 0) {
        scb_ring_op_end(&w->ring, &w->w);
        return SCB_EAGAIN;
    }
    if (room < n)
        n = (size_t)room;
    scb_ring_push_many(&w->ring, &w->w, items, n);
    scb_ring_op_end(&w->ring, &w->w);
    wake_readers(w);
    *count = n;
    return SCB_OK;
}

/* scb_push with the signature spin() takes. */
static int push_op(scb_t *w, void *item)
{
    return scb_push(w, item);
}

/* Retries `op` for up to the handle's spin time (and not past `deadline`,
 * 0: none), pausing the CPU between tries; SCB_EAGAIN if it never
 * succeeded. */
static int spin(scb_t *h, void *item, uint64_t deadline,
                int (*op)(scb_t *, void *))
{
    uint64_t start, end;
    unsigned i, n;
    int rc;

    if (h->spin_ns == 0)
        return SCB_EAGAIN;
    start = scb_sys_now_ns();
    end = start + h->spin_ns;
    if (deadline != 0 && deadline < end)
        end = deadline;
    for (n = 1;; n++) {
        for (i = 0; i < 8; i++)
            scb_sys_cpu_relax();
        rc = op(h, item);
        if (rc != SCB_EAGAIN)
            return rc;
        if ((n & 15) == 0 && scb_sys_now_ns() >= end)
            return SCB_EAGAIN;
    }
}

int scb_push_wait(scb_t *w, const void *item, int64_t timeout_ms)
{
    uint64_t deadline;
    int64_t left;
    uint32_t seq;
    unsigned attempt;
    int rc, heavy_ok;

    rc = scb_push(w, item);
    if (rc != SCB_EAGAIN || timeout_ms == 0)
        return rc;
    deadline = deadline_of(timeout_ms);
    rc = spin(w, (void *)item, deadline, push_op);
    if (rc != SCB_EAGAIN)
        return rc;
    for (attempt = 0;; attempt++) {
        seq = scb_ring_writer_sleep_prepare(&w->ring);
        heavy_ok = !w->ring.asym || scb_sys_barrier_heavy() == 0;
        rc = scb_push(w, item);
        if (rc != SCB_EAGAIN)
            return rc;
        left = remaining_ns(deadline);
        if (left == 0)
            return SCB_ETIMEDOUT;
        /* Wake up at least every REAP_INTERVAL_NS: a reader that died
         * holding the writer back wakes nobody. */
        if (left < 0 || left > (int64_t)REAP_INTERVAL_NS)
            left = REAP_INTERVAL_NS;
        if (heavy_ok)
            scb_sys_wait(w->wchan, &w->ring.wait->wseq, seq, left, attempt);
        else
            nap(left, attempt);
    }
}

int scb_pop(scb_t *r, void *item)
{
    int rc;

    if (r == NULL || item == NULL)
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    rc = scb_ring_pop(&r->ring, &r->r, item);
    if (rc == SCB_OK)
        wake_writer(r);
    return rc;
}

int scb_pop_many(scb_t *r, void *items, size_t max, size_t *count)
{
    int rc;

    if (count != NULL)
        *count = 0;
    if (r == NULL || items == NULL || count == NULL)
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    rc = scb_ring_pop_many(&r->ring, &r->r, items, max, count);
    if (rc == SCB_OK)
        wake_writer(r);
    return rc;
}

int scb_pop_wait(scb_t *r, void *item, int64_t timeout_ms)
{
    uint64_t deadline;
    int64_t left;
    uint32_t seq = 0;
    unsigned attempt;
    int rc, sleep_ok;

    rc = scb_pop(r, item);
    if (rc != SCB_EAGAIN || timeout_ms == 0)
        return rc;
    deadline = deadline_of(timeout_ms);
    rc = spin(r, item, deadline, scb_pop);
    if (rc != SCB_EAGAIN)
        return rc;
    for (attempt = 0;; attempt++) {
        /* A reader that may write the wait line raises its flag and sleeps
         * until the writer bumps the word; one mapped read-only cannot (nor
         * one that cannot issue the heavy barrier an asym ring needs), and
         * polls with short sleeps that back off (attempt). */
        sleep_ok = 0;
        if (r->shared_rw) {
            seq = scb_ring_reader_sleep_prepare(&r->ring);
            sleep_ok = !r->ring.asym || scb_sys_barrier_heavy() == 0;
            rc = scb_pop(r, item);
            if (rc != SCB_EAGAIN)
                return rc;
        }
        left = remaining_ns(deadline);
        if (left == 0)
            return SCB_ETIMEDOUT;
        if (sleep_ok)
            scb_sys_wait(r->rchan, &r->ring.wait->rseq, seq, left, attempt);
        else
            nap(left, attempt);
        rc = scb_pop(r, item);
        if (rc != SCB_EAGAIN)
            return rc;
    }
}

uint64_t scb_usage(const scb_t *h)
{
    uint64_t min;

    if (h == NULL)
        return 0;
    if (h->is_writer && h->ring.nslots > 0 &&
        scb_ring_readers_min(&h->ring, h->w.pos, &min))
        return h->w.pos - min; /* what the slowest live reader has not read */
    if (h->is_writer)
        return scb_ring_writer_usage(&h->ring);
    return scb_ring_reader_usage(&h->ring, &h->r);
}

uint64_t scb_lost(const scb_t *r)
{
    if (r == NULL || r->is_writer)
        return 0;
    return scb_ring_reader_lost(&r->ring, &r->r);
}

/* Registered readers of a lossless ring: slots with an owner. */
static uint32_t count_readers(const scb_t *h)
{
    uint32_t i, n = 0;

    for (i = 0; i < h->ring.nslots; i++)
        if (scb_load_acquire(&h->ring.slots[i].owner) != 0)
            n++;
    return n;
}

int scb_info(const scb_t *h, scb_info_t *out)
{
    uint64_t owner;

    if (h == NULL || out == NULL)
        return SCB_EINVAL;
    memset(out, 0, sizeof *out);
    strcpy(out->name, h->name);
    out->backend = h->be->name;
    out->item_size = h->ring.item_size;
    out->length = h->ring.length;
    out->flags = h->flags;
    out->pushed = scb_ring_pushed(&h->ring);
    out->usage = scb_usage(h);
    out->lost = scb_lost(h);
    out->max_readers = h->max_readers;
    out->readers = count_readers(h);
    owner = scb_load_acquire(&h->ring.hdr->writer_id);
    if (owner != 0 && scb_sys_proc_alive(owner)) {
        out->writer_alive = 1;
        out->writer_pid = (int64_t)(owner >> 32);
    }
    out->is_writer = h->is_writer;
    out->mode = h->mode;
    return SCB_OK;
}
