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

/* How long open waits for a segment that is still being created (its
 * creator has not written the magic yet) before it calls it bad. */
#define OPEN_NOT_READY_NS (500u * 1000u * 1000u)

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
    uint64_t self_id;        /* the writer's process identity */
    const scb_backend_t *be;
    scb_seg_t seg;
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

/* Opens the segment of `name` and validates it, waiting a little for one
 * that is still being created. */
static int open_segment(const scb_backend_t *be, const char *name,
                        int writable, scb_seg_t *seg, scb_geom_t *g)
{
    uint64_t start = scb_sys_now_ns();
    uint32_t nap = 100;
    int rc;

    for (;;) {
        rc = scb_be_open(be, seg, name, writable);
        if (rc != SCB_OK)
            return rc;
        rc = scb_layout_check(seg->base, seg->size, g);
        if (rc != SCB_EAGAIN)
            break;
        close_quietly(be, seg);
        if (scb_sys_now_ns() - start > OPEN_NOT_READY_NS)
            return SCB_EBADFORMAT;
        scb_sys_sleep_us(nap);
        if (nap < 10000)
            nap *= 2;
    }
    if (rc == SCB_OK && strcmp(g->name, name) != 0) {
        /* With hashed OS names (System V keys) another ring's segment can
         * sit where this name leads: that is no ring of this name.  With
         * exact names the header lies. */
        rc = be->names_exact ? SCB_EBADFORMAT : SCB_ENOENT;
    }
    if (rc != SCB_OK)
        close_quietly(be, seg);
    return rc;
}

static scb_t *new_handle(const scb_backend_t *be, const char *name)
{
    scb_t *h = calloc(1, sizeof *h);

    if (h != NULL) {
        h->be = be;
        strcpy(h->name, name); /* checked: at most SCB_NAME_MAX */
    }
    return h;
}

static void attach(scb_t *h, const scb_geom_t *g)
{
    scb_ring_attach(&h->ring, h->seg.base, g);
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
    if (cfg->flags & SCB_LOSSLESS)
        return SCB_ENOTSUP; /* not yet available: see scb.h */

    memset(&g, 0, sizeof g);
    g.item_size = cfg->item_size != 0 ? cfg->item_size : 1;
    g.length = cfg->length != 0 ? cfg->length : 2;
    g.flags = cfg->flags & CREATE_FLAGS;
    g.max_readers =
        cfg->max_readers != 0 ? cfg->max_readers : SCB_DEFAULT_MAX_READERS;
    g.mode = cfg->mode != 0 ? cfg->mode : 0600;
    g.origin = 0;
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
    scb_layout_init(h->seg.base, &g, h->self_id);
    attach(h, &g);
    h->is_writer = 1;
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
    /* Readers map the whole segment read-only: in overwrite mode they
     * write nothing shared, so a stray write faults. */
    rc = open_segment(be, name, writer, &h->seg, &g);
    if (rc != SCB_OK) {
        free(h);
        return rc;
    }
    attach(h, &g);
    if (writer) {
        if ((rc = take_writer(h)) != SCB_OK) {
            close_quietly(be, &h->seg);
            free(h);
            return rc;
        }
        h->is_writer = 1;
        scb_ring_writer_start(&h->ring, &h->w);
    } else {
        scb_ring_reader_start(&h->ring, &h->r, (flags & SCB_LATEST) != 0);
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
    }
    rc2 = scb_be_close(h->be, &h->seg);
    if (rc == SCB_OK)
        rc = rc2;
    free(h);
    return rc;
}

int scb_unlink(const char *name, const scb_config_t *cfg)
{
    const scb_backend_t *be;
    scb_seg_t seg;
    scb_geom_t g;
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
     * ring at all: remove only this ring, or a segment whose creator never
     * finished writing its header (scb_layout_check says SCB_EAGAIN). */
    rc = scb_layout_check(seg.base, seg.size, &g);
    if (rc == SCB_OK && strcmp(g.name, name) != 0)
        rc = SCB_ENOENT;
    else if (rc == SCB_EBADFORMAT)
        rc = SCB_ENOENT;
    else
        rc = SCB_OK;
    if (rc == SCB_OK)
        rc = scb_be_remove(be, &seg, name);
    if (rc != SCB_OK)
        close_quietly(be, &seg);
    else
        rc = scb_be_close(be, &seg);
    return rc;
}

int scb_push(scb_t *w, const void *item)
{
    if (w == NULL || item == NULL)
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    scb_ring_push(&w->ring, &w->w, item);
    return SCB_OK;
}

int scb_push_many(scb_t *w, const void *items, size_t n, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (w == NULL || count == NULL || (items == NULL && n > 0))
        return SCB_EINVAL;
    if (!w->is_writer)
        return SCB_ENOTWRITER;
    scb_ring_push_many(&w->ring, &w->w, items, n);
    *count = n;
    return SCB_OK;
}

int scb_push_wait(scb_t *w, const void *item, int64_t timeout_ms)
{
    (void)timeout_ms;
    /* In overwrite mode there is always room: this is scb_push.  Only
     * SCB_LOSSLESS rings wait, and they are not yet available. */
    return scb_push(w, item);
}

int scb_pop(scb_t *r, void *item)
{
    if (r == NULL || item == NULL)
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    return scb_ring_pop(&r->ring, &r->r, item);
}

int scb_pop_many(scb_t *r, void *items, size_t max, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (r == NULL || items == NULL || count == NULL)
        return SCB_EINVAL;
    if (r->is_writer)
        return SCB_ENOTREADER;
    return scb_ring_pop_many(&r->ring, &r->r, items, max, count);
}

int scb_pop_wait(scb_t *r, void *item, int64_t timeout_ms)
{
    uint64_t deadline = 0;
    uint32_t nap = 10;
    int rc;

    rc = scb_pop(r, item);
    if (rc != SCB_EAGAIN || timeout_ms == 0)
        return rc;
    /* A timeout too long to express in nanoseconds (over 290 years) is
     * forever. */
    if (timeout_ms > INT64_MAX / 1000000)
        timeout_ms = -1;
    if (timeout_ms > 0)
        deadline = scb_sys_now_ns() + (uint64_t)timeout_ms * 1000000u;
    /* The portable fallback: sleep and poll, starting at microseconds and
     * backing off to a millisecond, so a waiting reader costs no core. */
    for (;;) {
        if (timeout_ms > 0) {
            uint64_t now = scb_sys_now_ns();
            if (now >= deadline)
                return SCB_ETIMEDOUT;
            if ((uint64_t)nap * 1000u > deadline - now)
                nap = (uint32_t)((deadline - now) / 1000u) + 1;
        }
        scb_sys_sleep_us(nap);
        rc = scb_pop(r, item);
        if (rc != SCB_EAGAIN)
            return rc;
        if (nap < 1000)
            nap *= 2;
    }
}

uint64_t scb_usage(const scb_t *h)
{
    if (h == NULL)
        return 0;
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
    out->readers = 0;
    owner = scb_load_acquire(&h->ring.hdr->writer_id);
    if (owner != 0 && scb_sys_proc_alive(owner)) {
        out->writer_alive = 1;
        out->writer_pid = (int64_t)(owner >> 32);
    }
    out->is_writer = h->is_writer;
    out->mode = h->mode;
    return SCB_OK;
}
