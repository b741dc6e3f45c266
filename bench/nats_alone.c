/*
 * nats_alone.c - scb-bench --bridge, the broker alone: the bridge's
 * messages between a publisher process and a subscriber process that use
 * the NATS C client directly, with no ring and no bridge, through core NATS
 * and through JetStream (R1, file storage), into JetStream with no reader
 * (stored only: the broker's own rate for the first half of that path), and
 * the latency of one message through core NATS.  The bridge's rows are set beside these: what the
 * broker and its client do with the same messages on this machine, in the
 * same run, tells the bridge's own cost from the broker's.
 *
 * The messages are the bridge's: 64 bytes (the item's number in bytes 0-7,
 * the stamp of a latency message in 8-15, bench_fill's pattern after), the
 * header `out` sets (Scb: "seq=N lost=0" and a ring's geometry of the same
 * length as out's), and through JetStream out's other two: a message id and
 * the stream's last sequence number expected.  What the bridge adds for its
 * own guarantees is left out: the publisher asks the stream for no
 * acknowledgement (out asks every few hundred messages), and the
 * subscriber copies nothing into a ring.  It checks what the bridge's
 * reader checks: every number in order, every byte.
 *
 * Both sides do what out and in do with the client, as cheaply: one message
 * made once and sent again for every item, its header written by hand
 * (bridge/out.c); the subscriber takes them as in does (core NATS: a
 * synchronous subscription, the messages destroyed a few hundred at a time;
 * JetStream: a pull consumer acknowledging each batch's last message).
 *
 * Every NATS call is made in the children, after the fork: scb-bench itself
 * never starts the client's threads.  Built only with libnats (configure's
 * --with-nats); bridge.c skips these cases otherwise.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench.h"
#include "bridge.h"                    /* the bridge's header: its name, its numbers */
#include "bridge_bench.h"

#define AL_BATCH 4096                  /* JetStream: messages per fetch */
#define AL_WAIT_MS 100                 /* a fetch's or a wait's longest */
#define AL_TAKEN_MAX 256               /* core: messages destroyed together */
#define AL_RUN_ID "0123456789abcdef"   /* a run's id in the header, as out's */

/* What the publisher and the subscriber of a run share. */
struct al_arg {
    const char *label;
    const char *url;
    const char *subject;
    const char *stream;                /* NULL: core NATS */
    const char *id;                    /* message ids: "ID:N" */
    uint64_t items, warm, stream_len;
    uint64_t limit_ns;
    int latency;
    int stored_only;                   /* JetStream with no consumer */
};

/* Connects as the bridges do (bridge/scb-bridge.c): their IO buffer and
 * write deadline.  The latency case's publisher writes every message in
 * the publish call: the client's flusher thread would hold it up to a
 * millisecond, where out flushes whenever its ring is empty. */
static int al_connect(natsConnection **nc, const struct al_arg *a, int index)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);

    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, a->url);
    if (s == NATS_OK)
        s = natsOptions_SetIOBufSize(opts, 256 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetWriteDeadline(opts, 2000);
    if (s == NATS_OK && a->latency)
        s = natsOptions_SetSendAsap(opts, true);
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        bench_child_error(a->label, index, "connecting to %s: %s", a->url,
                          natsStatus_GetText(s));
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* Every 64 turns, and whenever nothing came: the deadline and the parent's
 * abort.  CHILD_OK to go on. */
static int al_check(struct bench_ctl *ctl, const struct al_arg *a, int index,
                    uint64_t limit, uint64_t done)
{
    if (bench_now() > limit) {
        bench_child_error(a->label, index, "deadline passed after %" PRIu64
                          " of %" PRIu64 " messages", done, a->items);
        return CHILD_TIMEOUT;
    }
    if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
        return CHILD_ABORT;
    return CHILD_OK;
}

static int al_publisher(struct bench_ctl *ctl, int index, void *varg)
{
    const struct al_arg *a = varg;
    unsigned char item[BR_SIZE];
    char hdr[160], geometry[96], id[96], last[24], *id_num;
    natsConnection *nc = NULL;
    natsMsg *m = NULL;
    natsStatus s;
    uint64_t seq, limit, t, left_ms;
    size_t geometry_len;
    int code;

    bench_fill(item, BR_SIZE, 1);
    /* What follows the numbers in out's header (bridge/out.c), and the
     * message id's fixed part ("RING:"). */
    geometry_len = (size_t)snprintf(geometry, sizeof geometry,
                                    " kind=" KIND_ITEMS " size=%d length=%" PRIu64
                                    " run=" AL_RUN_ID, BR_SIZE, a->stream_len);
    snprintf(id, sizeof id, "%s:", a->id != NULL ? a->id : "");
    id_num = id + strlen(id);
    code = al_connect(&nc, a, index);
    if (code == CHILD_OK) {
        s = natsMsg_Create(&m, a->subject, NULL, (const char *)item, BR_SIZE);
        if (s != NATS_OK || natsMsg_GetData(m) == (const char *)item) {
            bench_child_error(a->label, index, "natsMsg_Create: %s",
                              s != NATS_OK ? natsStatus_GetText(s)
                                           : "the client kept the caller's bytes");
            code = CHILD_FAIL;
        }
    }
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    limit = bench_now() + a->limit_ns;
    ctl->t0 = bench_now();
    for (seq = 0; seq < a->items; seq++) {
        char *data = (char *)natsMsg_GetData(m), *p;

        bench_put_seq(data, seq);
        if (a->latency) {
            t = bench_now();
            memcpy(data + 8, &t, sizeof t);
        }
        memcpy(hdr, "seq=", 4);
        p = bridge_u64_str(hdr + 4, seq);
        memcpy(p, " lost=0", 7);
        memcpy(p + 7, geometry, geometry_len + 1);
        s = natsMsgHeader_Set(m, HDR_NAME, hdr);
        if (s == NATS_OK && a->stream != NULL) {
            /* out's other two: its id, and the stream's last sequence
             * number it expects (the stream is new: the item's number). */
            bridge_u64_str(id_num, seq);
            bridge_u64_str(last, seq);
            s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
            if (s == NATS_OK)
                s = natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", last);
        }
        if (s == NATS_OK)
            s = natsConnection_PublishMsg(nc, m);
        if (s != NATS_OK) {
            bench_child_error(a->label, index, "publishing message %" PRIu64 ": %s",
                              seq, natsStatus_GetText(s));
            code = CHILD_FAIL;
            goto out;
        }
        if (a->latency) {
            /* The next once this one arrived and the path stood idle. */
            code = br_lat_wait(ctl, a->label, index, seq, limit, "message");
            if (code != CHILD_OK)
                goto out;
        } else if ((seq & 63) == 63) {
            code = al_check(ctl, a, index, limit, seq + 1);
            if (code != CHILD_OK)
                goto out;
        }
    }
    t = bench_now();
    if (t >= limit) {
        bench_child_error(a->label, index, "deadline passed before the last "
                          "messages were flushed");
        code = CHILD_TIMEOUT;
        goto out;
    }
    left_ms = (limit - t) / 1000000;
    s = natsConnection_FlushTimeout(nc, left_ms < 1    ? 1
                                        : left_ms > 10000 ? 10000
                                                          : (int64_t)left_ms);
    if (s != NATS_OK) {
        bench_child_error(a->label, index, "flush: %s", natsStatus_GetText(s));
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].t_end = bench_now();
    ctl->total = a->items;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
out:
    natsMsg_Destroy(m);
    natsConnection_Destroy(nc);
    return code;
}

/* JetStream: the stream (file storage, R1, at most stream_len messages,
 * the oldest discarded: out's) and, unless stored only, a pull consumer on
 * it (in's settings). */
static int al_stream(natsConnection *nc, jsCtx **js, natsSubscription **sub,
                     const struct al_arg *a, int index)
{
    jsStreamConfig cfg;
    jsSubOptions so;
    jsErrCode jerr = 0;
    const char *subjects[1];
    natsStatus s;

    subjects[0] = a->subject;
    s = natsConnection_JetStream(js, nc, NULL);
    if (s == NATS_OK) {
        jsStreamConfig_Init(&cfg);
        cfg.Name = a->stream;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = 1;
        cfg.MaxMsgs = (int64_t)a->stream_len;
        cfg.Discard = js_DiscardOld;
        s = js_AddStream(NULL, *js, &cfg, NULL, &jerr);
    }
    if (s == NATS_OK && !a->stored_only) {
        jsSubOptions_Init(&so);
        so.Stream = a->stream;
        so.Config.AckPolicy = js_AckAll;
        so.Config.MaxAckPending = 4 * AL_BATCH;
        s = js_PullSubscribe(sub, *js, a->subject, "alone", NULL, &so, &jerr);
    }
    if (s != NATS_OK) {
        bench_child_error(a->label, index, "stream %s: %s (%d)", a->stream,
                          natsStatus_GetText(s), (int)jerr);
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* One message taken: its number and bytes checked; CHILD_OK or CHILD_FAIL. */
static int al_take(struct bench_ctl *ctl, const struct al_arg *a, int index,
                   natsMsg *m, uint64_t *expected, const unsigned char *tmpl)
{
    const char *data = natsMsg_GetData(m), *hdr = NULL;
    size_t from = a->latency ? 16 : 8;
    uint64_t seq, t;

    if (natsMsg_GetDataLength(m) != BR_SIZE ||
        natsMsgHeader_Get(m, HDR_NAME, &hdr) != NATS_OK || hdr == NULL ||
        strncmp(hdr, "seq=", 4) != 0) {
        bench_child_error(a->label, index, "message %" PRIu64 ": not one of "
                          "the publisher's", *expected);
        return CHILD_FAIL;
    }
    seq = strtoull(hdr + 4, NULL, 10);
    if (seq != *expected || bench_get_seq(data) != seq) {
        bench_child_error(a->label, index, "wrong sequence number: got %" PRIu64
                          ", expected %" PRIu64, seq, *expected);
        return CHILD_FAIL;
    }
    if (memcmp(data + from, tmpl + from, BR_SIZE - from) != 0) {
        bench_child_error(a->label, index, "message %" PRIu64 " does not hold "
                          "the bytes published", seq);
        return CHILD_FAIL;
    }
    if (a->latency) {
        memcpy(&t, data + 8, sizeof t);
        if (seq >= a->warm)
            ctl->samples[seq - a->warm] = bench_now() - t;
        atomic_store_explicit(&ctl->ball, seq + 1, memory_order_release);
    }
    (*expected)++;
    return CHILD_OK;
}

/* Destroys the messages taken so far: the client frees them in a thread
 * of its own, woken once for the lot (bridge/in.c's destroy_taken). */
static void al_destroy(natsMsg **taken, int *ntaken)
{
    for (int i = 0; i < *ntaken; i++)
        natsMsg_Destroy(taken[i]);
    *ntaken = 0;
}

static int al_subscriber(struct bench_ctl *ctl, int index, void *varg)
{
    const struct al_arg *a = varg;
    unsigned char tmpl[BR_SIZE];
    natsMsg *taken[AL_TAKEN_MAX];
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    jsCtx *js = NULL;
    natsStatus s;
    uint64_t expected = 0, limit;
    unsigned turn = 0;
    int code, i, ntaken = 0;

    bench_fill(tmpl, BR_SIZE, 1);
    code = al_connect(&nc, a, index);
    if (code == CHILD_OK && a->stream != NULL) {
        code = al_stream(nc, &js, &sub, a, index);
    } else if (code == CHILD_OK) {
        s = natsConnection_SubscribeSync(&sub, nc, a->subject);
        if (s == NATS_OK)
            s = natsSubscription_SetPendingLimits(sub, -1, -1);
        if (s == NATS_OK)
            s = natsConnection_Flush(nc); /* subscribed at the server */
        if (s != NATS_OK) {
            bench_child_error(a->label, index, "subscribing to %s: %s", a->subject,
                              natsStatus_GetText(s));
            code = CHILD_FAIL;
        }
    }
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    limit = bench_now() + a->limit_ns;
    while (expected < a->items) {
        if (a->stored_only) {
            /* The stream's count, every 10 ms: done when it holds every
             * message, the last one last. */
            jsStreamInfo *si = NULL;
            jsErrCode jerr = 0;
            jsOptions jo;
            uint64_t now;

            bench_sleep_us(10000);
            /* An answer waited for a second at most, not past the
             * deadline. */
            now = bench_now();
            jsOptions_Init(&jo);
            jo.Wait = now + 1000000000ull < limit ? 1000
                      : now < limit               ? (int64_t)((limit - now) / 1000000) + 1
                                                  : 1;
            s = js_GetStreamInfo(&si, js, a->stream, &jo, &jerr);
            if (s == NATS_OK) {
                if (si->State.Msgs >= a->items && si->State.LastSeq != a->items) {
                    bench_child_error(a->label, index, "the stream holds %" PRIu64
                                      " messages, the last numbered %" PRIu64,
                                      si->State.Msgs, si->State.LastSeq);
                    code = CHILD_FAIL;
                }
                expected = si->State.Msgs;
                jsStreamInfo_Destroy(si);
                if (code != CHILD_OK)
                    goto out;
            }
        } else if (a->stream == NULL) {
            natsMsg *m = NULL;

            /* As in does (bridge/in.c): what was taken is destroyed
             * before a wait, or a few hundred at a time. */
            s = natsSubscription_NextMsg(&m, sub, 0);
            if (s == NATS_TIMEOUT) {
                al_destroy(taken, &ntaken);
                s = natsSubscription_NextMsg(&m, sub, AL_WAIT_MS);
            }
            if (s == NATS_OK) {
                code = al_take(ctl, a, index, m, &expected, tmpl);
                taken[ntaken++] = m;
                if (ntaken == AL_TAKEN_MAX)
                    al_destroy(taken, &ntaken);
                if (code != CHILD_OK)
                    goto out;
                if ((++turn & 63) != 0)
                    continue;
            }
        } else {
            natsMsgList list = {0};
            jsErrCode jerr = 0;
            int pending = 0, batch = AL_BATCH;

            /* As in does (bridge/in_js.c): a batch of 1 while messages of
             * an earlier answer are pending, for the client's sake. */
            if (natsSubscription_GetPending(sub, &pending, NULL) == NATS_OK &&
                pending > 0)
                batch = 1;
            s = natsSubscription_Fetch(&list, sub, batch, AL_WAIT_MS, &jerr);
            if (s == NATS_OK) {
                for (i = 0; i < list.Count && code == CHILD_OK; i++)
                    code = al_take(ctl, a, index, list.Msgs[i], &expected, tmpl);
                if (code == CHILD_OK && list.Count > 0 &&
                    (s = natsMsg_Ack(list.Msgs[list.Count - 1], NULL)) != NATS_OK) {
                    bench_child_error(a->label, index, "ack: %s",
                                      natsStatus_GetText(s));
                    code = CHILD_FAIL;
                }
                natsMsgList_Destroy(&list);
                if (code != CHILD_OK)
                    goto out;
            }
        }
        if (s != NATS_OK && s != NATS_TIMEOUT) {
            bench_child_error(a->label, index, "%s: %s",
                              a->stored_only     ? "js_GetStreamInfo"
                              : a->stream == NULL ? "natsSubscription_NextMsg"
                                                  : "natsSubscription_Fetch",
                              natsStatus_GetText(s));
            code = CHILD_FAIL;
            goto out;
        }
        code = al_check(ctl, a, index, limit, expected);
        if (code != CHILD_OK)
            goto out;
    }
    ctl->proc[index].t_end = bench_now();
    ctl->proc[index].received = expected;
    if (a->latency)
        ctl->nsamples = a->items - a->warm;
out:
    al_destroy(taken, &ntaken);
    if (js != NULL) {
        jsOptions jo;

        /* The server's room, for the runs after this one. */
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        (void)js_DeleteStream(js, a->stream, &jo, NULL);
    }
    /* The connection closed first: nothing then arrives for the
     * subscription while it is destroyed (bridge/in.c). */
    if (nc != NULL)
        natsConnection_Close(nc);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return code;
}

int br_alone_run(struct br_env *e, enum br_case c, double *rate, uint64_t *samples,
                 uint64_t nsamples, char *why, size_t whylen)
{
    char subject[64], stream[64], id[64];
    struct al_arg a;
    unsigned n = e->counter++;

    memset(&a, 0, sizeof a);
    a.label = br_case_label(c);
    a.url = e->url;
    a.latency = c == BR_ALONE_LAT;
    a.stored_only = c == BR_ALONE_STORED;
    a.items = c == BR_ALONE_JS || a.stored_only ? e->items_js
              : a.latency      ? BR_LAT_WARM + nsamples
                               : e->items_core;
    a.warm = a.latency ? BR_LAT_WARM : 0;
    a.limit_ns = 20000000000ull + a.items * (a.latency ? 10000000ull : 50000ull);
    snprintf(subject, sizeof subject, "scbb.alone.%ld.%u", (long)getpid(), n);
    a.subject = subject;
    /* The length of the bridge's rings in the same case (bridge.c's
     * run_once): the stream's too. */
    a.stream_len = BR_RING_LEN;
    if (c == BR_ALONE_JS || a.stored_only)
        while (a.stream_len < a.items)
            a.stream_len *= 2;
    if (c == BR_ALONE_JS || a.stored_only) {
        snprintf(stream, sizeof stream, "SCBA_%ld_%u", (long)getpid(), n);
        snprintf(id, sizeof id, "scbb.%ld.%u", (long)getpid(), n);
        a.stream = stream;
        a.id = id;
    }
    return br_run_pair(al_publisher, "publisher", al_subscriber, "subscriber", &a,
                       a.latency, a.items, a.limit_ns, rate, samples, nsamples, why,
                       whylen);
}
