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
#include <time.h>

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
    /* JetStream (o->stream): see js_setup. */
    jsCtx *js;
    kvStore *kv;
    char key[512];       /* STREAM.DURABLE in the bucket */
    uint64_t skip;       /* items to drop as already in the ring */
    uint64_t crash_after; /* SCB_BRIDGE_TEST_CRASH_AFTER (tests only) */
    bridge_stats_t st;
} in_t;

/* JetStream: messages fetched at a time, and the bucket where in keeps
 * how far it got (see js_setup). */
#define JS_BATCH 4096
#define JS_BUCKET "scb-bridge-in"

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
    if (t->skip > 0) {
        /* Pushed by the in before this one, which stopped before it could
         * say so (js_setup): the number is taken, the item not again. */
        t->skip--;
        t->st.duplicates++;
        t->st.last_seq = seq;
        t->st.have_seq = 1;
        t->last_lost = lost;
        t->last_run = h.run;
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
    /* For tests/bridge.test only: die as kill -9 would, right after the
     * Nth push, before in could record or acknowledge it. */
    if (t->crash_after != 0 && t->st.moved == t->crash_after)
        raise(SIGKILL);
    if (!t->st.have_seq)
        t->st.first_seq = seq;
    t->st.last_seq = seq;
    t->st.have_seq = 1;
    t->last_lost = lost;
    t->last_run = h.run;
    return 0;
}

static uint64_t ring_pushed(const in_t *t)
{
    scb_info_t info;

    if (t->w == NULL || scb_info(t->w, &info) != SCB_OK)
        return 0;
    return info.pushed;
}

/*
 * JetStream.  in acknowledges a message only once its item is in the ring,
 * so a restarted in gets again every message after the last one it
 * acknowledged.  Some of those may already be in the ring: in pushed them
 * and was killed before its acknowledgement.  Neither the messages (their
 * redelivery count also counts messages fetched and never pushed) nor the
 * ring (no headers in it) tell which.  So before every acknowledgement in
 * records, in a key-value bucket of the same server, two numbers: the
 * ring's pushed count after the batch and the last source number it put
 * there ("P SEQ").  The order is push, record, acknowledge.  When in
 * starts again:
 *   - messages whose number is SEQ or lower were pushed (the record was
 *     made after their push): dropped as duplicates;
 *   - the ring's pushed count now, minus P, is how many items in pushed
 *     after the record: the next that many messages it would have pushed
 *     (numbered above SEQ, in order: the stream keeps out's order) are in
 *     the ring already, and are dropped too.
 * A crash between record and acknowledgement only redelivers messages
 * numbered SEQ or lower.  This holds while in is the ring's only writer;
 * a pushed count lower than P (the ring made again) is said and taken as
 * nothing pushed since.
 */
static int js_setup(in_t *t)
{
    const bridge_opts_t *o = t->o;
    kvConfig kc;
    kvEntry *e = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    static char durable[SCB_NAME_MAX + 8];
    const char *d = o->durable;
    uint64_t start = 0;
    int replicas = 1;

    s = natsConnection_JetStream(&t->js, t->nc, NULL);
    if (s != NATS_OK) {
        bridge_err(o, "JetStream: %s", bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
    }
    if (d == NULL) {
        /* scb-RING, with what a consumer name cannot hold made '_'. */
        char *p;

        snprintf(durable, sizeof durable, "scb-%s", o->ring);
        for (p = durable; *p != '\0'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                *p = '_';
        d = durable;
    }
    snprintf(t->key, sizeof t->key, "%s.%s", o->stream, d);
    /* The stream is out's to make: wait for it (saying so once).  Its
     * replicas are the bucket's, so that in's records survive what the
     * stream survives. */
    for (int said = 0;; said = 1) {
        jsStreamInfo *si = NULL;

        jerr = 0;
        s = js_GetStreamInfo(&si, t->js, o->stream, NULL, &jerr);
        if (s == NATS_OK && si->Config != NULL && si->Config->Replicas > 0)
            replicas = (int)si->Config->Replicas;
        jsStreamInfo_Destroy(si);
        if (s != NATS_NOT_FOUND || bridge_stop)
            break;
        if (!said)
            bridge_err(o, "stream %s: not there yet, waiting for out to "
                       "make it", o->stream);
        {
            struct timespec ts = {0, 250 * 1000000};
            nanosleep(&ts, NULL);
        }
        tick(t);
    }
    if (bridge_stop)
        return 0; /* js_loop sees the signal */
    if (s != NATS_OK) {
        bridge_err(o, "stream %s: %s", o->stream, bridge_nats_err(s));
        return BRIDGE_EXIT_USAGE;
    }
    s = js_KeyValue(&t->kv, t->js, JS_BUCKET);
    if (s == NATS_NOT_FOUND) {
        kvConfig_Init(&kc);
        kc.Bucket = JS_BUCKET;
        kc.History = 1;
        kc.StorageType = js_FileStorage;
        kc.Replicas = replicas;
        s = js_CreateKeyValue(&t->kv, t->js, &kc);
    }
    if (s != NATS_OK) {
        bridge_err(o, "bucket %s: %s", JS_BUCKET, bridge_nats_err(s));
        return BRIDGE_EXIT_USAGE;
    }
    s = kvStore_Get(&e, t->kv, t->key);
    if (s == NATS_OK) {
        const char *v = kvEntry_ValueString(e);
        uint64_t p = 0, seq = 0, now = ring_pushed(t);

        if (v != NULL && sscanf(v, "%" SCNu64 " %" SCNu64, &p, &seq) == 2) {
            t->st.have_seq = 1;
            t->st.last_seq = seq;
            t->st.first_seq = seq + 1;
            if (now >= p)
                t->skip = now - p;
            else
                bridge_err(o, "%s: the ring has %" PRIu64 " items pushed, "
                           "fewer than the %" PRIu64 " recorded: made again?",
                           o->ring, now, p);
        }
        kvEntry_Destroy(e);
    } else if (s != NATS_NOT_FOUND) {
        bridge_err(o, "bucket %s: %s", JS_BUCKET, bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
    }
    /* A pull consumer hands a restarted in the messages after the ones the
     * killed one had fetched, and those only after their acknowledgement
     * wait: out of order, and dropped as duplicates then.  So the consumer
     * is made again, starting right after its acknowledgement floor: every
     * message not acknowledged comes again, first, in the stream's order. */
    {
        jsConsumerInfo *ci = NULL;

        jerr = 0;
        s = js_GetConsumerInfo(&ci, t->js, o->stream, d, NULL, &jerr);
        if (s == NATS_OK) {
            start = ci->AckFloor.Stream + 1;
            jsConsumerInfo_Destroy(ci);
            jerr = 0;
            s = js_DeleteConsumer(t->js, o->stream, d, NULL, &jerr);
            if (s != NATS_OK) {
                bridge_err(o, "stream %s, consumer %s: %s", o->stream, d,
                           bridge_nats_err(s));
                return BRIDGE_EXIT_ERR;
            }
        }
    }
    jsSubOptions_Init(&so);
    so.Stream = o->stream;
    if (start > 1) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = start;
    }
    so.Config.AckPolicy = js_AckAll;
    so.Config.MaxAckPending = 4 * JS_BATCH;
    so.Config.AckWait = INT64_C(30) * 1000000000;
    /* The stream is out's to make: wait for it (saying so once). */
    for (int said = 0;; said = 1) {
        jerr = 0;
        s = js_PullSubscribe(&t->sub, t->js, o->subject, d, NULL, &so, &jerr);
        if (s == NATS_ERR && jerr == JSStreamNotFoundErr)
            s = NATS_NOT_FOUND;
        if (s != NATS_NOT_FOUND || bridge_stop)
            break;
        if (!said)
            bridge_err(o, "stream %s: not there yet, waiting for out to "
                       "make it", o->stream);
        {
            struct timespec ts = {0, 250 * 1000000};
            nanosleep(&ts, NULL);
        }
        tick(t);
    }
    if (s == NATS_NOT_FOUND && bridge_stop)
        return 0; /* js_loop sees the signal */
    if (s != NATS_OK) {
        bridge_err(o, "stream %s, consumer %s: %s", o->stream, d,
                   bridge_nats_err(s));
        return BRIDGE_EXIT_USAGE;
    }
    return 0;
}

/* After a batch: record how far in got, then acknowledge (js_setup). */
static int js_done(in_t *t, natsMsg *last)
{
    char v[48];
    natsStatus s;

    if (t->st.have_seq) {
        snprintf(v, sizeof v, "%" PRIu64 " %" PRIu64, ring_pushed(t),
                 t->st.last_seq);
        s = kvStore_PutString(NULL, t->kv, t->key, v);
        if (s != NATS_OK) {
            /* Not acknowledged: delivered again, and dropped by number
             * (those already in the ring) when the record works again. */
            bridge_err(t->o, "bucket %s: %s", JS_BUCKET, natsStatus_GetText(s));
            return 0;
        }
    }
    /* AckAll: this one acknowledges all before it. */
    natsMsg_Ack(last, NULL);
    return 0;
}

static int js_loop(in_t *t)
{
    natsMsgList list;
    jsErrCode jerr;
    natsStatus s;
    int rc, i;

    while (!bridge_stop) {
        int64_t wait_ms = tick(t);

        jerr = 0;
        s = natsSubscription_Fetch(&list, t->sub, JS_BATCH,
                                   wait_ms < 10 ? 10 : wait_ms, &jerr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0))
            continue;
        if (s != NATS_OK) {
            if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION) {
                bridge_err(t->o, "%s: %s", t->o->subject, natsStatus_GetText(s));
                return BRIDGE_EXIT_ERR;
            }
            /* The server away, a leader being elected: again. */
            {
                struct timespec ts = {0, 100 * 1000000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        rc = 0;
        for (i = 0; i < list.Count && rc == 0; i++) {
            uint64_t before = t->st.dropped_at_stop;

            rc = take(t, list.Msgs[i]);
            if (t->st.dropped_at_stop != before) {
                /* Stopped with the ring full: this one and what follows
                 * are not acknowledged, and come again. */
                t->st.dropped_at_stop += (uint64_t)(list.Count - i - 1);
                break;
            }
        }
        if (rc == 0 && i > 0)
            js_done(t, list.Msgs[i - 1]);
        natsMsgList_Destroy(&list);
        if (rc != 0)
            return rc;
    }
    return BRIDGE_EXIT_OK;
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
        if ((rc = js_setup(&t)) != 0) {
            status = rc;
            goto done;
        }
        status = js_loop(&t);
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
    kvStore_Destroy(t.kv);
    jsCtx_Destroy(t.js);
    scb_close(t.w);
    natsConnection_Destroy(t.nc);
    return status;
}
