/*
 * scb.c - the public entry points of a handle's lifecycle: argument and
 * name checks, roles, create, open (with a lossless reader's registration),
 * close, unlink, list, info, and the writer role's hand-over between
 * processes.  Pushing, popping and waiting are in io.c.
 *
 * The ring itself is in ring.c, the segment format in layout.c, the shared
 * memory behind backend.h and everything else from the OS behind sys.h:
 * this file includes no OS header.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "layout.h"
#include "ring.h"
#include "scb.h"
#include "sys.h"
#include "handle.h"

#define CREATE_FLAGS \
    (SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE | SCB_RECORDS | SCB_ASYM_BARRIERS)
#define OPEN_FLAGS (SCB_WRITER | SCB_LATEST | SCB_OBSERVE)
#define KNOWN_FLAGS (CREATE_FLAGS | OPEN_FLAGS)

/* How long open waits for a segment whose creator has not even marked it
 * as being created (the microseconds between the OS call that made it and
 * the marker; a creator killed there leaves it so) before it calls it bad. */
#define OPEN_NOT_READY_NS (500u * 1000u * 1000u)

/* How long open waits for a ring marked as being created by a live process
 * (the slow part of a large create: the backend reserving its memory)
 * before it calls it bad all the same: a creator stopped, or a forger. */
#define OPEN_CREATING_NS (60ull * 1000u * 1000u * 1000u)

/* How long a registering reader waits for a push under way to end before
 * scb_open gives up with SCB_EBUSY (a push takes microseconds: a writer
 * still in one after this is stopped, or the counter is corrupt). */
#define REGISTER_WAIT_NS (1000u * 1000u * 1000u)

/* How long a _wait call polls before it goes to sleep by default: an item
 * (or room) that comes within this is caught with no system call on either
 * side, at the cost of that much CPU when nothing comes.  The environment
 * variable SCB_SPIN_US (read when a handle is opened) changes it: 0 sleeps
 * at once, which suits machines with fewer free cores than waiters. */
#define SPIN_NS_DEFAULT (50u * 1000u)
#define SPIN_NS_MAX (1000u * 1000u * 1000u)

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
    *be = scb_backend_find(cfg->backend);
    return *be != NULL ? SCB_OK : SCB_ENOTSUP;
}

/* Closes a segment on an error path without losing the errno that explains
 * the error. */
static void close_quietly(const scb_backend_t *be, scb_seg_t *seg)
{
    int saved = errno;

    scb_backend_close(be, seg);
    errno = saved;
}

/* Opens the segment of `name` and validates it, waiting for one that is
 * still being created: as long as its creator lives (up to
 * OPEN_CREATING_NS) once the creator marked it, and OPEN_NOT_READY_NS for
 * one not marked yet. */
static int open_segment(const scb_backend_t *be, const char *name,
                        int writable, scb_seg_t *seg, scb_geom_t *g)
{
    uint64_t start = scb_sys_now_ns(), not_ready = start, creating = 0, now;
    uint32_t nap = 100;
    int rc;

    for (;;) {
        rc = scb_backend_open(be, seg, name, writable);
        if (rc != SCB_OK)
            return rc;
        rc = scb_layout_check(seg->base, seg->size, g);
        now = scb_sys_now_ns();
        if (rc == SCB_LAYOUT_CREATING) {
            if (strcmp(g->name, name) != 0)
                break; /* another ring's, or a lie: decided below */
            /* A dead creator's ring will never be finished.  Only a
             * backend with a slow reservation step makes a live one worth
             * a long wait: elsewhere a marker that stays is a stopped
             * creator or a forger, given the short wait. */
            if (creating == 0)
                creating = now; /* the marker's time starts when seen */
            if (!scb_sys_proc_alive(g->creator)) {
                /* It may have finished the ring and exited since the
                 * marker was read: the header decides, once more. */
                rc = scb_layout_check(seg->base, seg->size, g);
                if (rc != SCB_OK)
                    rc = SCB_EBADFORMAT;
                break;
            }
            if (now - creating > (be->reserve != NULL ? OPEN_CREATING_NS
                                                      : OPEN_NOT_READY_NS)) {
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
        scb_sys_watch_forks();
        h->forks = scb_sys_forks;
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

/* Frees a handle whose segment is closed already (with its doorbell and
 * its sending end, which an open that failed may have made). */
static void free_handle(scb_t *h)
{
    scb_handle_fd_close(h, 0);
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
    h->ring.fast_unfenced = h->ring.asym_barriers && scb_sys_barrier_register();
    /* SCB_ASYM_BARRIERS is not kept here: ring.asym_barriers says. */
    h->flags = g->flags & SCB_RING_FLAGS;
    h->birth = g->birth;
    h->mode = g->mode;
    h->max_readers = g->max_readers;
}

/* The bytes of scb_config_t up to and including struct_size: what every
 * caller since struct_size exists has. */
#define CONFIG_BASE_SIZE \
    (offsetof(scb_config_t, struct_size) + sizeof(uint32_t))

void scb_config_init_size(scb_config_t *cfg, size_t size)
{
    scb_config_t d;

    if (cfg == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.item_size = 1;
    d.length = 2;
    d.max_readers = SCB_DEFAULT_MAX_READERS;
    d.mode = 0600;
    d.backend = NULL;
    d.struct_size = (uint32_t)(size < UINT32_MAX ? size : UINT32_MAX);
    if (size > sizeof d) {
        memset((char *)cfg + sizeof d, 0, size - sizeof d);
        size = sizeof d;
    }
    memcpy(cfg, &d, size);
}

void(scb_config_init)(scb_config_t *cfg)
{
    scb_config_init_size(cfg, sizeof *cfg);
}

/* The caller's config as this version's struct: the fields its struct_size
 * covers, defaults for the rest (NULL: all defaults). */
static void config_of(const scb_config_t *cfg, scb_config_t *out)
{
    size_t n;

    scb_config_init_size(out, sizeof *out);
    if (cfg == NULL)
        return;
    n = cfg->struct_size;
    if (n < CONFIG_BASE_SIZE || n > sizeof *out)
        n = n > sizeof *out ? sizeof *out : CONFIG_BASE_SIZE;
    memcpy(out, cfg, n);
    out->struct_size = (uint32_t)sizeof *out;
}

int scb_create(scb_t **out, const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_config_t c;
    scb_geom_t g;
    scb_t *h;
    int rc;

    if (out == NULL)
        return SCB_EINVAL;
    *out = NULL;
    config_of(cfg, &c);
    cfg = &c;
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
    g.flags = cfg->flags & CREATE_FLAGS;
    /* Two items, or room for two of the largest records. */
    g.length = cfg->length != 0                ? cfg->length
               : (g.flags & SCB_RECORDS) != 0 ? 2 * SCB_REC_SPAN(g.item_size)
                                              : 2;
    g.max_readers =
        cfg->max_readers != 0 ? cfg->max_readers : SCB_DEFAULT_MAX_READERS;
    g.mode = cfg->mode != 0 ? cfg->mode : 0600;
    g.origin = 0;
    /* Asymmetric barriers when asked for and this OS has them (Linux
     * membarrier); the creating process registers for them only then. */
    g.barrier_mode = (cfg->flags & SCB_ASYM_BARRIERS) != 0 &&
                     scb_sys_barrier_register() &&
                     scb_sys_barrier_heavy() == 0;
    strcpy(g.name, name);
    if ((rc = scb_layout_plan(&g, scb_sys_page_size())) != SCB_OK)
        return rc;

    if ((h = new_handle(be, name)) == NULL)
        return SCB_ENOMEM;
    /* Before the segment exists: a creator killed between the OS call
     * and its marker leaves a segment nobody can tell from a foreign one,
     * so that window is kept short (no /proc read in it). */
    h->self_id = scb_sys_proc_self();
    /* Unique per ring made: this process and the moment (scb_check_name). */
    g.birth = (scb_sys_now_ns() * UINT64_C(0x9e3779b97f4a7c15)) ^ h->self_id;
    if (g.birth == 0)
        g.birth = 1;
    rc = scb_backend_create(be, &h->seg, name, (size_t)g.total_size, g.mode);
    if (rc != SCB_OK) {
        free(h);
        return rc;
    }
    /* Openers from here on wait while this process lives, however long
     * the backend takes to reserve a large segment. */
    scb_layout_mark_creating(h->seg.base, &g, h->self_id);
    rc = scb_backend_reserve(be, &h->seg);
    if (rc != SCB_OK) {
        int saved = errno;

        (void)scb_backend_remove(be, &h->seg, name);
        scb_backend_close(be, &h->seg);
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

/* A registering reader found a push under way that may have been decided
 * before its registration: waits for that push to end (a few microseconds),
 * or for its writer to be found dead.  Returns 0 if the writer is alive but
 * still in the same push after REGISTER_WAIT_NS (stopped by a signal or a
 * debugger, or the counter was made odd by another process). */
static int wait_push_done(scb_t *h, uint64_t push_seq)
{
    unsigned attempt;
    uint64_t start = scb_sys_now_ns(), last_check = start, now;

    for (attempt = 0; scb_load_acquire(&h->ring.hdr->push_seq) == push_seq;
         attempt++) {
        scb_sys_sleep_us(attempt < 10 ? 1u << attempt : 1000u);
        now = scb_sys_now_ns();
        if (now - last_check > 10u * 1000u * 1000u) {
            uint64_t owner = scb_load_acquire(&h->ring.hdr->writer_id);
            if (owner == 0 || !scb_sys_proc_alive(owner))
                return 1; /* no push will end it; the next writer starts clean */
            last_check = now;
        }
        if (now - start > REGISTER_WAIT_NS)
            return 0;
    }
    return 1;
}

/* One attempt at register_reader's work; SCB_EAGAIN when the slot was
 * taken from this reader while it registered (it was judged dead). */
static int register_once(scb_t *h, enum scb_start start, int may_wait)
{
    struct scb_slot *slot;
    uint64_t push_seq;
    int rc;

    rc = scb_ring_slot_take(&h->ring, h->self_id,
                            may_wait ? scb_sys_proc_alive : NULL, &slot);
    if (rc != SCB_OK)
        return rc;
    scb_ring_reader_register_begin(&h->ring, &h->r, slot, h->self_id, start);
    if (h->ring.asym_barriers && scb_sys_barrier_heavy() != 0) {
        rc = SCB_ENOTSUP;
    } else {
        push_seq = scb_ring_writer_push_seq(&h->ring);
        if ((push_seq & 1) && (!may_wait || !wait_push_done(h, push_seq)))
            rc = SCB_EBUSY;
    }
    if (rc != SCB_OK) {
        scb_ring_reader_unregister(&h->ring, &h->r);
        wake_writer_always(h);
        return rc;
    }
    rc = scb_ring_reader_register_end(&h->ring, &h->r, start) == 0 ? SCB_OK
                                                                    : SCB_EAGAIN;
    wake_writer_always(h);
    return rc;
}

/* Takes a free reader slot of a lossless ring and registers the reader in
 * it, starting where `start` says.  SCB_ELIMIT when every slot is held by a
 * live reader; SCB_EBUSY when the writer stays in the middle of one push
 * (or, with may_wait 0, is in one now), or this process keeps being judged
 * dead; SCB_ENOTSUP when the ring uses asymmetric barriers and this process
 * cannot issue the heavy one (the writer's fast path then has nothing that
 * would order its push against this registration).  may_wait 0 (a reader
 * registering again inside a pop) neither waits nor looks for dead
 * readers. */
static int register_reader(scb_t *h, enum scb_start start, int may_wait)
{
    int rc = SCB_EAGAIN, tries;

    for (tries = 0; tries < 3 && rc == SCB_EAGAIN; tries++) {
        if (tries > 0)
            h->r.evicted = 0;
        rc = register_once(h, start, may_wait);
    }
    if (rc == SCB_EAGAIN) {
        h->r.evicted = 0;
        rc = SCB_EBUSY;
    }
    return rc;
}

/* How often an evicted reader tries to register again when it could not:
 * soon after a push under way stopped it, else every 100 ms. */
#define REJOIN_SOON_NS (1000u * 1000u)
#define REJOIN_INTERVAL_NS (100u * 1000u * 1000u)

/* A registered reader found its slot taken from it (it was judged dead):
 * it registers again where it is, what it missed counted as lost, without
 * waiting (this runs inside a pop).  If that fails it reads on
 * unregistered, its copies checked as always, and tries again at a pop
 * REJOIN_SOON_NS (a push was under way) or REJOIN_INTERVAL_NS later. */
void scb_handle_rejoin(scb_t *r)
{
    uint64_t now = scb_sys_now_ns();
    int rc;

    if (r->rejoin_at != 0 && now < r->rejoin_at)
        return;
    r->r.evicted = 0;
    rc = register_reader(r, SCB_START_RESUME, 0);
    if (rc == SCB_OK) {
        r->rejoin_at = 0;
    } else {
        /* A push under way (SCB_EBUSY) ends within microseconds: try again
         * soon; no free slot or no heavy barrier: much later. */
        r->r.evicted = 1;
        r->rejoin_at = now + (rc == SCB_EBUSY ? REJOIN_SOON_NS
                                              : REJOIN_INTERVAL_NS);
    }
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
        scb_backend_protect(h->be, &h->seg, 0, (size_t)hdr_end);
    if (items_start < h->seg.size)
        scb_backend_protect(
            h->be, &h->seg, (size_t)items_start,
            (size_t)((h->seg.size - items_start + page - 1) & ~(page - 1)));
}

int scb_open(scb_t **out, const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_config_t c;
    scb_geom_t g;
    uint32_t flags;
    int writer, observe;
    scb_t *h;
    int rc;

    config_of(cfg, &c);
    cfg = &c;
    flags = cfg->flags;
    writer = (flags & SCB_WRITER) != 0;
    observe = (flags & SCB_OBSERVE) != 0;
    if (out == NULL)
        return SCB_EINVAL;
    *out = NULL;
    if ((rc = check_name(name, NULL)) != SCB_OK)
        return rc;
    if ((flags & ~KNOWN_FLAGS) != 0 || (writer && observe))
        return SCB_EINVAL;
    if ((rc = find_backend(cfg, &be)) != SCB_OK)
        return rc;
    if ((rc = check_name(name, be)) != SCB_OK)
        return rc;

    if ((h = new_handle(be, name)) == NULL)
        return SCB_ENOMEM;
    /* A reader maps read-write when the mode lets it, for the wait line and
     * its lossless slot, and then protects the header and the items;
     * otherwise it maps everything read-only and can only poll.  An
     * observer always maps read-only: it writes nothing, ever. */
    rc = observe ? SCB_EACCES : open_segment(be, name, 1, &h->seg, &g);
    if (rc == SCB_EACCES && !writer)
        rc = open_segment(be, name, 0, &h->seg, &g);
    if (rc != SCB_OK) {
        free(h);
        return rc;
    }
    attach(h, &g);
    /* An observer writes nothing, not even the wait line, also where the
     * backend could not map the segment read-only. */
    h->shared_rw = h->seg.writable && !observe;
    if (writer) {
        if ((rc = take_writer(h)) != SCB_OK) {
            close_quietly(be, &h->seg);
            free_handle(h);
            return rc;
        }
        h->is_writer = 1;
        scb_ring_writer_start(&h->ring, &h->w);
        /* The writer it replaced may have died between disarming a
         * reader's doorbell and ringing it. */
        scb_handle_ring_all(h);
    } else {
        if (h->ring.nslots > 0 && !observe) {
            h->self_id = scb_sys_proc_self();
            rc = h->shared_rw ? register_reader(h, (flags & SCB_LATEST)
                                                       ? SCB_START_LATEST
                                                       : SCB_START_OLDEST, 1)
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
    if (foreign(h)) {
        /* A forked child's copy: unmap it, release nothing shared. */
        rc = scb_backend_close(h->be, &h->seg);
        free_handle(h);
        return rc;
    }
    if (h->is_writer) {
        uint64_t me = h->self_id;

        if (h->flags & SCB_UNLINK_ON_CLOSE) {
            rc = scb_backend_remove(h->be, &h->seg, h->name);
            if (rc == SCB_ENOENT)
                rc = SCB_OK; /* already removed by someone else */
        }
        /* Gives the role up, unless another process already took it over
         * (it judged this one dead). */
        scb_cas(&h->ring.hdr->writer_id, &me, 0);
    } else if (h->r.slot != NULL) {
        /* Frees the slot, and wakes a writer that waits for room. */
        scb_ring_reader_unregister(&h->ring, &h->r);
        wake_writer_always(h);
    }
    scb_handle_fd_close(h, 1);
    rc2 = scb_backend_close(h->be, &h->seg);
    if (rc == SCB_OK)
        rc = rc2;
    free_handle(h);
    return rc;
}

int scb_unlink(const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_config_t c;
    scb_seg_t seg;
    int rc;

    config_of(cfg, &c);
    cfg = &c;
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
        return scb_backend_remove(be, &seg, name);
    }
    if ((rc = scb_backend_open(be, &seg, name, 0)) != SCB_OK)
        return rc;
    /* A hashed OS name may lead to another ring, or to a segment that is no
     * ring at all (another program's): remove only a ring of this name, as
     * its magic (finished or being created) and its name say, whatever else
     * in its header is corrupt.  A segment with neither is left alone, also
     * one whose creator died before it even marked it (zeros): that cannot
     * be told from another program's. */
    rc = scb_layout_is_ring_of(seg.base, seg.size, name) ? SCB_OK : SCB_ENOENT;
    if (rc == SCB_OK)
        rc = scb_backend_remove(be, &seg, name);
    if (rc != SCB_OK)
        close_quietly(be, &seg);
    else
        rc = scb_backend_close(be, &seg);
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
    scb_backend_lister_t l;

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
    return scb_backend_list_rings(ctx.be, &l);
}

uint64_t scb_usage(const scb_t *h)
{
    uint64_t min;

    if (h == NULL || foreign(h))
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
    if (r == NULL || r->is_writer || foreign(r))
        return 0;
    return scb_ring_reader_lost(&r->ring, &r->r);
}

/* The size of version 0.1's scb_info_t, the smallest a caller has. */
#define INFO_BASE_SIZE (offsetof(scb_info_t, mode) + sizeof(uint32_t))

int scb_info_size(const scb_t *h, scb_info_t *dst, size_t size)
{
    scb_info_t info, *out = &info;
    uint64_t owner;

    if (h == NULL || dst == NULL || foreign(h) || size < INFO_BASE_SIZE)
        return SCB_EINVAL;
    memset(out, 0, sizeof *out);
    strcpy(out->name, h->name);
    out->backend = h->be->name;
    out->item_size = h->ring.item_size;
    out->length = h->ring.length;
    out->flags = h->flags | (h->ring.asym_barriers ? SCB_ASYM_BARRIERS : 0);
    out->pushed = scb_ring_pushed(&h->ring);
    out->usage = scb_usage(h);
    out->lost = scb_lost(h);
    out->max_readers = h->max_readers;
    out->readers = scb_ring_readers_live(&h->ring, scb_sys_proc_alive);
    owner = scb_load_acquire(&h->ring.hdr->writer_id);
    if (owner != 0 && scb_sys_proc_alive(owner)) {
        out->writer_alive = 1;
        out->writer_pid = (int64_t)(owner >> 32);
    }
    out->is_writer = h->is_writer;
    out->mode = h->mode;
    memcpy(dst, out, size < sizeof *out ? size : sizeof *out);
    return SCB_OK;
}

int(scb_info)(const scb_t *h, scb_info_t *out)
{
    return scb_info_size(h, out, sizeof *out);
}

int scb_check_name(const scb_t *h)
{
    scb_seg_t seg;
    scb_geom_t g;
    int rc;

    if (h == NULL || foreign(h))
        return SCB_EINVAL;
    /* Read-only, as an observer: looking takes nothing from the ring. */
    rc = open_segment(h->be, h->name, 0, &seg, &g);
    if (rc != SCB_OK)
        return rc;
    /* birth is written before the header is published and never changes;
     * the rest is what this handle copied at open. */
    if (g.birth != h->birth || g.item_size != h->ring.item_size ||
        g.length != h->ring.length || g.flags != h->flags ||
        g.max_readers != h->max_readers || g.mode != h->mode)
        rc = SCB_ENOENT;
    close_quietly(h->be, &seg);
    return rc;
}
