/*
 * in.c - scb bridge in: subscribes to the subject and writes each message
 * into the local ring as its writer, in the order of the source sequence
 * numbers, dropping duplicates and counting gaps.  It creates the ring with
 * the source's geometry (from the first message's headers) when it does
 * not exist, and refuses one whose geometry differs.  Public libscb API
 * only; not here: any reordering (core NATS delivers one publisher's
 * messages in order, so a number lower than one delivered is a duplicate).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* Messages and bytes the client may hold for in before it drops (and in
 * counts the gap): enough for a burst of a second or so. */
#define PENDING_MSGS (1 << 22)
#define PENDING_BYTES (512 * 1024 * 1024)

typedef struct in {
    const bridge_opts_t *o;
    natsConnection *nc;
    natsSubscription *sub;
    scb_t *w;
    scb_info_t info;
    int geometry_known;  /* the first message's geometry was checked */
    int lossless;        /* the local ring is lossless: pushes wait */
    uint64_t last_lost;  /* out's lost_source in the last message taken */
    uint64_t last_run;   /* and its run (0: none given) */
    int created;         /* in created the ring */
    int said_nomake;     /* the source's geometry could not be made: said */
    double next_stats;   /* when the next statistics line is due (0: never) */
    bridge_stats_t st;
} in_t;

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
    t->geometry_known = 1;
    return 0;
}

/* Prints the statistics line when its time has come; returns the longest
 * wait (ms, at most 100) before the next is due. */
static int64_t tick(in_t *t)
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
        scb_wait(t->w, tick(t));
    }
}

/* One message.  Returns 0, or the exit status. */
static int take(in_t *t, natsMsg *m)
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
        t->st.duplicates++;
        return 0;
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
    t->st.lost_source += dlost;
    t->st.lost_upstream += gap - dlost;
    t->st.moved++;
    if (!t->st.have_seq)
        t->st.first_seq = seq;
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
    for (;;) {
        int64_t wait_ms = tick(&t);

        /* Stopping: what the client held when the signal came goes into
         * the ring, and nothing after it. */
        if (bridge_stop && drain_left < 0) {
            int msgs = 0, bytes = 0;

            natsSubscription_GetPending(t.sub, &msgs, &bytes);
            drain_left = msgs;
        }
        if (drain_left == 0)
            break;
        s = natsSubscription_NextMsg(&m, t.sub, bridge_stop ? 0 : wait_ms);
        if (s == NATS_OK) {
            if (drain_left > 0)
                drain_left--;
            rc = take(&t, m);
            natsMsg_Destroy(m);
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
    bridge_print_stats(o, t.nc, &t.st);
    natsSubscription_Destroy(t.sub);
    scb_close(t.w);
    natsConnection_Destroy(t.nc);
    return status;
}
