/*
 * in.c - scb bridge in: subscribes to the subject and writes each message
 * into the local ring as its writer, in the order of the source sequence
 * numbers, dropping duplicates and counting gaps.  It creates the ring with
 * the source's geometry (from the first message's headers) when it does
 * not exist, and refuses one whose geometry differs.  It keeps its place
 * (the last number in the ring) in a small ring beside it, so that a
 * restarted in never writes an item twice (see place_load).  Public libscb
 * API only; not here: any reordering (core NATS delivers one publisher's
 * messages in order, and a stream keeps their order, so a number lower
 * than one delivered is a duplicate).  JetStream: in_js.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "in.h"

/* Messages and bytes the client may hold for in before it drops (and in
 * counts the gap): enough for a burst of a second or so. */
#define PENDING_MSGS (1 << 22)
#define PENDING_BYTES (512 * 1024 * 1024)

/*
 * in's place, one item of the ring RING.bridge-in (PLACE_SUFFIX) beside
 * RING, pushed before every push into RING: "the ring had `pushed` items
 * when in pushed (or was about to push) the item numbered `seq`; before it,
 * the last number pushed was `prev`".  See place_load.
 */
#define PLACE_SUFFIX ".bridge-in"
#define PLACE_MAGIC UINT64_C(0x316e692d62637373) /* "sscb-in1" */

typedef struct place {
    uint64_t magic;
    uint64_t pushed;      /* the ring's pushed count before seq's push */
    uint64_t seq, run, lost; /* the item's number, out's run and lost_source */
    uint64_t have_prev;   /* 1: the prev fields hold the item before it */
    uint64_t prev, prev_run, prev_lost;
} place_t;

/* Opens `name` as its writer on `backend`, or (NULL) on the first backend
 * built in that has it. */
static int open_writer(scb_t **w, const bridge_opts_t *o)
{
    scb_config_t cfg;
    int rc = SCB_ENOENT;

    scb_config_init(&cfg);
    cfg.flags = SCB_WRITER;
    if (o->backend != NULL) {
        cfg.backend = o->backend;
        return scb_open(w, o->ring, &cfg);
    }
    for (const char *const *b = scb_backends(); *b != NULL; b++) {
        cfg.backend = *b;
        rc = scb_open(w, o->ring, &cfg);
        if (rc != SCB_ENOENT)
            return rc;
    }
    return rc;
}

/* A geometry libscb can make (scb_create's bounds), and a payload that
 * fits it.  A message that fails this is malformed, whatever the ring. */
static int hdr_ok(const bridge_hdr_t *h, size_t len)
{
    if (h->size < 1 || h->size > (UINT64_C(1) << 30) || h->length < 1 ||
        h->length > (UINT64_C(1) << 48))
        return 0;
    if (h->records) {
        if (h->length % 8 != 0 || h->length < 2 * (h->size + 16))
            return 0;
        return len <= h->size;
    }
    if (h->size * h->length > (UINT64_C(1) << 61))
        return 0;
    return len == h->size;
}

/* The ring takes items of this header's kind and size. */
static int hdr_fits(const in_t *t, const bridge_hdr_t *h)
{
    return h->size == t->info.item_size &&
           ((t->info.flags & SCB_RECORDS) != 0) == h->records;
}

/*
 * A restarted in must not write an item twice: out, restarted too,
 * publishes again every item its ring still holds (core NATS), and a stream
 * delivers again what in had not acknowledged (JetStream), some of which
 * in may have pushed before it stopped.  Neither the messages nor the ring
 * (no headers in it) say which, so in keeps its place in a ring of its
 * own, RING.bridge-in beside RING (same backend, same mode; an overwrite
 * ring of two items), made at the first message and kept when in exits.
 * Before each push into RING it pushes a note there (place_note): RING's
 * pushed count P, the item's number, and the number pushed before it.  A
 * push is whole or not at all, in both rings, so when in starts again, the
 * last note and RING's pushed count now tell exactly what RING holds:
 *   - pushed == P: in stopped before the item's push: the last number in
 *     RING is the one before it;
 *   - pushed > P: the item is in RING, and is the last (more than P + 1:
 *     another writer pushed too, which is said);
 *   - pushed < P: RING was made again since: the note is dropped.
 * Messages numbered at most the last number in RING are then dropped as
 * duplicates, whether they come from a restarted out or from the stream.
 * This holds while in is RING's only writer (libscb lets one live writer
 * hold a ring, and RING.bridge-in too).
 */
static int place_load(in_t *t)
{
    const bridge_opts_t *o = t->o;
    char name[SCB_NAME_MAX + 1];
    scb_config_t cfg;
    scb_t *r = NULL;
    place_t p, last;
    int rc, have = 0;

    if (strlen(o->ring) + strlen(PLACE_SUFFIX) > SCB_NAME_MAX) {
        bridge_err(o, "%s: the name is too long for in to keep its place "
                   "beside it (%s%s)", o->ring, o->ring, PLACE_SUFFIX);
        return BRIDGE_EXIT_USAGE;
    }
    snprintf(name, sizeof name, "%s%s", o->ring, PLACE_SUFFIX);
    scb_config_init(&cfg);
    cfg.item_size = sizeof(place_t);
    cfg.length = 2;
    cfg.backend = t->info.backend;
    cfg.mode = t->info.mode;
    rc = scb_create(&t->place, name, &cfg);
    if (rc == SCB_EEXIST) {
        cfg.flags = SCB_WRITER;
        rc = scb_open(&t->place, name, &cfg);
        if (rc == SCB_OK) {
            scb_info_t pi;

            /* The newest note, through a reader of our own. */
            cfg.flags = SCB_OBSERVE;
            if (scb_info(t->place, &pi) != SCB_OK || pi.item_size != sizeof(place_t) ||
                (pi.flags & (SCB_RECORDS | SCB_LOSSLESS)) != 0) {
                bridge_err(o, "%s: not a ring of in's place (its geometry "
                           "differs): remove it", name);
                return BRIDGE_EXIT_USAGE;
            }
            if ((rc = scb_open(&r, name, &cfg)) == SCB_OK) {
                while ((rc = scb_pop(r, &p)) == SCB_OK)
                    if (p.magic == PLACE_MAGIC) {
                        last = p;
                        have = 1;
                    }
                scb_close(r);
                if (rc == SCB_EAGAIN)
                    rc = SCB_OK;
            }
        }
    }
    if (rc != SCB_OK) {
        bridge_err(o, "%s: %s", name, scb_strerror(rc));
        return rc == SCB_EINVAL || rc == SCB_ENAMETOOLONG ? BRIDGE_EXIT_USAGE
                                                           : BRIDGE_EXIT_ERR;
    }
    t->pushed = t->info.pushed;
    if (!have) {
        if (t->pushed > 0)
            bridge_err(o, "%s: %" PRIu64 " items pushed and no place of in's "
                       "beside it (%s removed?): items it holds may be "
                       "written again", o->ring, t->pushed, name);
        return 0;
    }
    if (t->pushed < last.pushed) {
        bridge_err(o, "%s: %" PRIu64 " items pushed, fewer than the %" PRIu64
                   " in's place says: made again since, in starts afresh",
                   o->ring, t->pushed, last.pushed);
        return 0;
    }
    if (t->pushed == last.pushed) {
        if (!last.have_prev)
            return 0;
        last.seq = last.prev;
        last.run = last.prev_run;
        last.lost = last.prev_lost;
    } else if (t->pushed > last.pushed + 1) {
        bridge_err(o, "%s: %" PRIu64 " items pushed, more than the %" PRIu64
                   " in's place says: another writer?", o->ring, t->pushed,
                   last.pushed + 1);
    }
    t->st.have_seq = 1;
    t->st.last_seq = last.seq;
    t->st.first_seq = last.seq + 1;
    t->last_run = last.run;
    t->last_lost = last.lost;
    return 0;
}

/* Before the push of the item numbered seq (place_load).  Returns an
 * SCB_* code. */
static int place_note(in_t *t, uint64_t seq, uint64_t run, uint64_t lost)
{
    place_t p;

    memset(&p, 0, sizeof p);
    p.magic = PLACE_MAGIC;
    p.pushed = t->pushed;
    p.seq = seq;
    p.run = run;
    p.lost = lost;
    if (t->st.have_seq) {
        p.have_prev = 1;
        p.prev = t->st.last_seq;
        p.prev_run = t->last_run;
        p.prev_lost = t->last_lost;
    }
    return scb_push(t->place, &p);
}

/* The first well-formed message (a malformed one decides nothing): the
 * ring is created with its geometry, or the one that was there at start
 * is checked against it.  Returns 0, -1 for a geometry this host cannot
 * make (counted as malformed), or the exit status. */
static int take_geometry(in_t *t, const bridge_hdr_t *h)
{
    const bridge_opts_t *o = t->o;
    int rc;

    if (t->w == NULL) {
        scb_config_t cfg;

        scb_config_init(&cfg);
        cfg.item_size = (uint32_t)h->size;
        cfg.length = o->length ? o->length : h->length;
        cfg.flags = h->records ? SCB_RECORDS : 0;
        cfg.backend = o->backend;
        rc = scb_create(&t->w, o->ring, &cfg);
        if (rc == SCB_EEXIST)
            rc = open_writer(&t->w, o);
        else if (rc == SCB_OK)
            t->created = 1;
        if (rc != SCB_OK) {
            if (o->length != 0 && rc == SCB_EINVAL) {
                bridge_err(o, "%s: --length %" PRIu64 " does not make a ring "
                           "of the source's %s of %s%" PRIu64 " bytes: %s",
                           o->ring, o->length, h->records ? "records" : "items",
                           h->records ? "up to " : "", h->size, scb_strerror(rc));
                return BRIDGE_EXIT_USAGE;
            }
            if ((rc == SCB_EINVAL || rc == SCB_ENOMEM) && o->length == 0) {
                /* The source's geometry, too big for this host (or a
                 * forged one): said once, then counted as malformed. */
                if (!t->said_nomake)
                    bridge_err(o, "%s: cannot make a ring of %s %s of %s%"
                               PRIu64 " bytes: %s", o->ring, h->records ?
                               "record space" : "length", h->records ?
                               "for records" : "for items", h->records ?
                               "up to " : "", h->size, scb_strerror(rc));
                t->said_nomake = 1;
                return -1;
            }
            bridge_err(o, "%s: %s", o->ring, scb_strerror(rc));
            return BRIDGE_EXIT_ERR;
        }
    }
    scb_info(t->w, &t->info);
    if (!hdr_fits(t, h)) {
        bridge_err(o, "%s: the ring holds %s of %" PRIu32 " bytes, the source "
                   "%s of %" PRIu64 ": geometry mismatch", o->ring,
                   (t->info.flags & SCB_RECORDS) ? "records of up to" : "items",
                   t->info.item_size, h->records ? "records of up to" : "items",
                   h->size);
        return BRIDGE_EXIT_USAGE;
    }
    t->lossless = (t->info.flags & SCB_LOSSLESS) != 0;
    if ((rc = place_load(t)) != 0)
        return rc;
    t->geometry_known = 1;
    return 0;
}

/* Prints the statistics line when its time has come; returns the longest
 * wait (ms, at most 100) before the next is due. */
int64_t in_tick(in_t *t)
{
    int64_t wait_ms = 100;

    if (t->next_stats > 0) {
        double now = bridge_now();

        if (now >= t->next_stats) {
            bridge_print_stats(t->o, t->nc, &t->st);
            t->next_stats += t->o->stats_period;
            if (t->next_stats < now)
                t->next_stats = now + t->o->stats_period;
        }
        wait_ms = (int64_t)((t->next_stats - now) * 1000) + 1;
        if (wait_ms > 100)
            wait_ms = 100;
    }
    return wait_ms;
}

/* Writes one item; on a lossless ring it waits for room (100 ms at a time,
 * so that a signal is seen, and the statistics lines go on).  Returns an
 * SCB_* code. */
static int push(in_t *t, const void *data, size_t len)
{
    int rc;

    for (;;) {
        if (t->info.flags & SCB_RECORDS)
            rc = scb_push_record(t->w, data, len);
        else
            rc = scb_push(t->w, data);
        if (rc != SCB_EAGAIN || !t->lossless || bridge_stop)
            return rc;
        scb_wait(t->w, in_tick(t));
    }
}

/* More items than a source ring of h's geometry can hold at once (a record
 * takes 8 bytes at least): a restarted out publishes again only what its
 * ring holds, numbered less than this below the last number it published. */
static uint64_t kept_max(const bridge_hdr_t *h)
{
    return h->records ? h->length / 8 + 1 : h->length + 1;
}

/* The client frees every message natsMsg_Destroy is given in a collector
 * thread of its own, which it wakes whenever it was waiting: destroyed one
 * at a time as they are taken, the messages woke it almost once each.
 * Destroyed together, a few hundred at a time and whenever in is about to
 * wait, they wake it once for the lot. */
static void destroy_taken(in_t *t)
{
    for (int i = 0; i < t->ntaken; i++)
        natsMsg_Destroy(t->taken[i]);
    t->ntaken = 0;
}

/* One message.  Returns 0, or the exit status. */
int in_take(in_t *t, natsMsg *m)
{
    bridge_hdr_t h;
    uint64_t seq, lost, gap = 0, dlost = 0;
    const char *value;
    const void *data = natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    int rc;

    if (natsMsgHeader_Get(m, HDR_NAME, &value) != NATS_OK || value == NULL ||
        bridge_parse_hdr(value, &h) != 0 || !hdr_ok(&h, len)) {
        t->st.errors++;
        return 0;
    }
    seq = h.seq;
    lost = h.lost;
    if (!t->geometry_known) {
        rc = take_geometry(t, &h);
        if (rc < 0) {
            t->st.errors++;
            return 0;
        }
        if (rc > 0)
            return rc;
    }
    /* Every message, not only the first: a kind or size the ring does not
     * take is malformed (a second out on the subject, or a forgery). */
    if (!hdr_fits(t, &h)) {
        t->st.errors++;
        return 0;
    }
    if (t->st.have_seq && seq <= t->st.last_seq) {
        if (h.run == t->last_run || t->st.last_seq - seq < kept_max(&h)) {
            t->st.duplicates++;
            return 0;
        }
        /* Another out, numbering from further back than any ring of the
         * source's length could still hold after the last number: a source
         * ring made again (its numbers start at 0), not a repeat. */
        bridge_err(t->o, "%s: the source numbers from %" PRIu64 " again, "
                   "after %" PRIu64 ": its ring was made again", t->o->ring,
                   seq, t->st.last_seq);
        t->st.have_seq = 0;
        t->first_taken = 0;
    }
    if (t->st.have_seq) {
        /* The numbers skipped are items out never published (its
         * lost_source grew by as many) or messages lost on the way.  A
         * restarted out (another run, or without runs a lost_source lower
         * than the last) counts from 0 again.  Counted only once the item
         * is in the ring. */
        gap = seq - t->st.last_seq - 1;
        if (h.run != t->last_run || lost < t->last_lost)
            dlost = lost;
        else
            dlost = lost - t->last_lost;
        if (dlost > gap)
            dlost = gap;
    }
    rc = place_note(t, seq, h.run, lost);
    if (rc != SCB_OK) {
        bridge_err(t->o, "%s%s: %s", t->o->ring, PLACE_SUFFIX, scb_strerror(rc));
        return BRIDGE_EXIT_ERR;
    }
    if (t->crash_before != 0 && t->st.moved + 1 == t->crash_before)
        raise(SIGKILL);
    rc = push(t, data, len);
    if (rc != SCB_OK) {
        if (bridge_stop && rc == SCB_EAGAIN) {
            /* The lossless ring stayed full until the signal: this item
             * is not written, and says so. */
            t->st.dropped_at_stop++;
            return 0;
        }
        bridge_err(t->o, "%s: %s", t->o->ring, scb_strerror(rc));
        return BRIDGE_EXIT_ERR;
    }
    t->pushed++;
    t->st.lost_source += dlost;
    t->st.lost_upstream += gap - dlost;
    t->st.moved++;
    if (t->crash_after != 0 && t->st.moved == t->crash_after)
        raise(SIGKILL);
    if (!t->first_taken)
        t->st.first_seq = t->st.have_seq ? t->st.last_seq + 1 : seq;
    t->first_taken = 1;
    t->st.last_seq = seq;
    t->st.have_seq = 1;
    t->last_lost = lost;
    t->last_run = h.run;
    return 0;
}

int bridge_in(const bridge_opts_t *o)
{
    in_t t;
    natsMsg *m = NULL;
    natsStatus s;
    int64_t drain_left = -1;
    int rc, status = BRIDGE_EXIT_ERR;

    memset(&t, 0, sizeof t);
    t.o = o;
    {
        const char *c = getenv("SCB_BRIDGE_TEST_CRASH_AFTER");

        if (c != NULL && bridge_parse_u64(c, &t.crash_after) != 0)
            t.crash_after = 0;
        c = getenv("SCB_BRIDGE_TEST_CRASH_BEFORE");
        if (c != NULL && bridge_parse_u64(c, &t.crash_before) != 0)
            t.crash_before = 0;
    }

    /* A ring already there is taken now (its geometry is checked against
     * the first message); a missing one is created then.  Before the
     * connection: a bad name is a bad argument (exit 2, no statistics). */
    rc = open_writer(&t.w, o);
    if (rc != SCB_OK && rc != SCB_ENOENT) {
        bridge_err(o, "%s: %s", o->ring, scb_strerror(rc));
        return rc == SCB_EINVAL || rc == SCB_ENAMETOOLONG ? BRIDGE_EXIT_USAGE
                                                           : BRIDGE_EXIT_ERR;
    }
    t.nc = bridge_connect(o);
    if (t.nc == NULL) {
        scb_close(t.w);
        return BRIDGE_EXIT_USAGE;
    }

    if (o->stream != NULL) {
        /* Lines while in waits for the stream, too. */
        if (o->stats_period > 0)
            t.next_stats = bridge_now() + o->stats_period;
        if ((rc = in_js_setup(&t)) != 0) {
            status = rc;
            goto done;
        }
        status = in_js_loop(&t);
        goto done;
    }

    s = natsConnection_SubscribeSync(&t.sub, t.nc, o->subject);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(t.sub, PENDING_MSGS, PENDING_BYTES);
    /* The server has the subscription when the flush returns. */
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(t.nc, 5000);
    if (s != NATS_OK) {
        bridge_err(o, "subscribe to %s: %s", o->subject, natsStatus_GetText(s));
        goto done;
    }

    if (o->stats_period > 0)
        t.next_stats = bridge_now() + o->stats_period;
    for (unsigned since_tick = 0;; since_tick++) {
        /* Stopping: what the client held when the signal came goes into
         * the ring, and nothing after it. */
        if (bridge_stop && drain_left < 0) {
            int msgs = 0, bytes = 0;

            natsSubscription_GetPending(t.sub, &msgs, &bytes);
            drain_left = msgs;
        }
        if (drain_left == 0)
            break;
        /* The clock is read (tick) only before a wait, and every so many
         * messages while they keep coming: once per message, it cost in
         * several per cent of its time.  A message already there needs
         * no timeout. */
        if (since_tick >= TICK_EVERY) {
            in_tick(&t);
            since_tick = 0;
        }
        s = natsSubscription_NextMsg(&m, t.sub, 0);
        if (s == NATS_TIMEOUT && !bridge_stop) {
            destroy_taken(&t);
            since_tick = 0;
            s = natsSubscription_NextMsg(&m, t.sub, in_tick(&t));
        }
        if (s == NATS_OK) {
            if (drain_left > 0)
                drain_left--;
            rc = in_take(&t, m);
            t.taken[t.ntaken++] = m;
            if (t.ntaken == TAKEN_MAX)
                destroy_taken(&t);
            if (rc != 0) {
                status = rc;
                goto done;
            }
            continue;
        }
        if (bridge_stop)
            break;
        /* NATS_SLOW_CONSUMER: the client dropped messages for in; their
         * numbers are missing and counted as lost_upstream. */
        if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER)
            continue;
        if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION) {
            bridge_err(o, "%s: %s", o->subject, natsStatus_GetText(s));
            goto done;
        }
    }
    status = BRIDGE_EXIT_OK;
done:
    destroy_taken(&t);
    /* A refusal (exit 2: the stream, the geometry) is one line on stderr
     * and no final statistics, as for bad arguments (BRIDGE.md). */
    if (status != BRIDGE_EXIT_USAGE)
        bridge_print_stats(o, t.nc, &t.st);
    /* Closed first (its reading thread ended), then the subscriptions
     * destroyed: see retired. */
    natsConnection_Close(t.nc);
    natsSubscription_Destroy(t.sub);
    for (size_t i = 0; i < t.nretired; i++)
        natsSubscription_Destroy(t.retired[i]);
    jsCtx_Destroy(t.js);
    scb_close(t.place);
    scb_close(t.w);
    natsConnection_Destroy(t.nc);
    return status;
}
