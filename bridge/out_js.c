/*
 * out_js.c - scb bridge out onto a JetStream stream: every item one message
 * with an id (RING:SEQ), published asynchronously with a bounded window of
 * acknowledgements pending, each message chained to the one before it so
 * that the stream never stores one after a missing one; those that fail go
 * again, in order, once the stream says which it holds (BRIDGE.md B3).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out.h"

/* JetStream: the messages published whose acknowledgement has not come
 * back yet, at most (js_PublishMsgAsync waits when there are this many). */
#define JS_WINDOW 16384
/* Milliseconds an acknowledgement may take before its message is sent
 * again. */
#define JS_ACK_WAIT 2000
/* Milliseconds a request about the stream may take (the client's default,
 * 5 s, would hold up a stop while the server is away). */
#define JS_REQ_WAIT 1000
/* The headers of a message's id, and of the id the stream's last message
 * must have for it to be stored. */
#define JS_MSGID_HDR "Nats-Msg-Id"
#define JS_EXPECT_HDR "Nats-Expected-Last-Msg-Id"
/* The header of the stream sequence the subject's last message must have:
 * the first message after out asked the stream which is its last. */
#define JS_SUBJSEQ_HDR "Nats-Expected-Last-Subject-Sequence"

static void js_keep(out_t *t, natsMsg **list, size_t n);

/* Hands *m to the client, waiting while the window of acknowledgements is
 * full or the reconnect buffer is: until `deadline` (bridge_now), or with
 * none (0) until a signal. */
static natsStatus js_send(out_t *t, natsMsg **m, jsPubOptions *po,
                          double deadline)
{
    for (;;) {
        natsStatus s = js_PublishMsgAsync(t->js, m, po);

        if (s != NATS_TIMEOUT && s != NATS_INSUFFICIENT_BUFFER)
            return s;
        if (deadline > 0 ? bridge_now() >= deadline : bridge_stop != 0)
            return s;
        if (s == NATS_INSUFFICIENT_BUFFER) {
            /* Refused at once (the window waits by itself): a pause. */
            struct timespec ts = {0, 10 * 1000000};

            nanosleep(&ts, NULL);
        }
    }
}

int out_js_publish(out_t *t, const void *data, size_t len, const char *hdr,
                   uint64_t seq, uint64_t lost)
{
    natsMsg *m = NULL;
    natsStatus s;
    jsPubOptions po;

    if (t->have_stored && seq <= t->stored_seq) {
        /* Already in the stream (a restarted out reads the ring from its
         * oldest item): not sent again. */
        t->st.duplicates++;
        t->st.lost_source = lost;
        return 0;
    }
    if (t->js_abandoned) {
        /* A stop left an item before this one unsent: the stream must not
         * hold this one after it. */
        atomic_fetch_add(&t->js_stopped, 1);
        t->st.lost_source = lost;
        return 0;
    }
    s = natsMsg_Create(&m, t->o->subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_NAME, hdr);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        bridge_err(t->o, "publish on %s: %s", t->o->subject, natsStatus_GetText(s));
        return -1;
    }
    /* The message id, RING:SEQ: the stream drops a second message with the
     * same id within its duplicate window. */
    jsPubOptions_Init(&po);
    out_u64_str(t->msgid + t->msgid_len, seq);
    po.MsgId = t->msgid;
    /* Chained: the stream stores it only right after the one before
     * (Nats-Expected-Last-Msg-Id), so that once a message fails, none after
     * it is stored before it is sent again (js_resend).  The first after
     * the stream was asked expects its last message by stream sequence. */
    if (t->expect_sseq > 0)
        po.ExpectLastSubjectSeq = t->expect_sseq;
    else
        po.ExpectLastMsgId = t->have_prev_id ? t->prev_id : NULL;
    /* An acknowledgement lost with a server that died never comes: after
     * this long the message counts as failed, and goes again. */
    po.MaxWait = JS_ACK_WAIT;
    /* With JS_WINDOW acknowledgements pending the item is not dropped: it
     * waits for room. */
    s = js_send(t, &m, &po, 0);
    if (s == NATS_TIMEOUT || s == NATS_INSUFFICIENT_BUFFER) {
        /* Stopped while waiting: this item and all after it are unsent. */
        natsMsg_Destroy(m);
        atomic_fetch_add(&t->js_stopped, 1);
        t->js_abandoned = 1;
        t->st.lost_source = lost;
        return 0;
    }
    if (s == NATS_CONNECTION_CLOSED) {
        natsMsg_Destroy(m);
        bridge_err(t->o, "publish on %s: %s", t->o->subject, natsStatus_GetText(s));
        return -1;
    }
    if (s != NATS_OK) {
        /* Refused by the client: kept to go again in its place, as if its
         * acknowledgement had failed (those after it expect it, and fail
         * too). */
        atomic_store(&t->js_err, s);
        atomic_store(&t->js_errcode, 0);
        js_keep(t, &m, 1);
        atomic_fetch_add(&t->js_failed, 1);
    }
    t->js_sent++;
    memcpy(t->prev_id, t->msgid, sizeof t->prev_id);
    t->have_prev_id = 1;
    t->expect_sseq = 0;
    /* Published, for JetStream, is acknowledged by the stream: counted as
     * the acknowledgements come (js_update). */
    out_count(t, seq, lost);
    return 0;
}

/* The JetStream acknowledgements: counted here, in the client's thread. */
static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae,
                   void *closure)
{
    out_t *t = closure;

    (void)js;
    (void)pa;
    if (pae != NULL) {
        atomic_store(&t->js_err, pae->Err);
        atomic_store(&t->js_errcode, (int)pae->ErrCode);
        /* Kept, to be sent again by js_resend (in order, from the main
         * thread); the handler owns the message.  There is always room
         * (js_cap); at the end nothing is kept, and it is unsent. */
        pthread_mutex_lock(&t->js_lock);
        if (!t->js_closing && t->js_nfail < t->js_cap) {
            t->js_fail[t->js_nfail++] = m;
            m = NULL;
        } else {
            atomic_fetch_add(&t->js_stopped, 1);
        }
        pthread_mutex_unlock(&t->js_lock);
        atomic_fetch_add(&t->js_failed, 1);
    } else {
        atomic_fetch_add(&t->js_acked, 1);
    }
    natsMsg_Destroy(m);
}

static uint64_t msg_seq(natsMsg *m)
{
    const char *value;
    bridge_hdr_t h;

    if (natsMsgHeader_Get(m, HDR_NAME, &value) == NATS_OK && value != NULL &&
        bridge_parse_hdr(value, &h) == 0)
        return h.seq;
    return 0;
}

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = msg_seq(*(natsMsg *const *)a), y = msg_seq(*(natsMsg *const *)b);

    return x < y ? -1 : x > y;
}

/* Puts messages back among the failed ones, to be sent again later. */
static void js_keep(out_t *t, natsMsg **list, size_t n)
{
    pthread_mutex_lock(&t->js_lock);
    for (size_t i = 0; i < n; i++) {
        if (t->js_nfail < t->js_cap) {
            t->js_fail[t->js_nfail++] = list[i];
        } else {
            /* Never (js_cap): not kept, never sent, and said so. */
            natsMsg_Destroy(list[i]);
            atomic_fetch_add(&t->js_stopped, 1);
        }
    }
    pthread_mutex_unlock(&t->js_lock);
}

/* Whether m, the stream's last message of the subject, is one of this
 * out's ring (its id RING:SEQ, SEQ its Scb header's number), and that
 * number. */
static int js_last_ours(const out_t *t, natsMsg *m, uint64_t *seq)
{
    const char *value, *id;
    bridge_hdr_t h;
    char want[sizeof t->msgid];

    if (natsMsgHeader_Get(m, HDR_NAME, &value) != NATS_OK || value == NULL ||
        bridge_parse_hdr(value, &h) != 0 ||
        natsMsgHeader_Get(m, JS_MSGID_HDR, &id) != NATS_OK || id == NULL)
        return 0;
    memcpy(want, t->msgid, t->msgid_len);
    out_u64_str(want + t->msgid_len, h.seq);
    if (strcmp(id, want) != 0)
        return 0;
    *seq = h.seq;
    return 1;
}

/* Sets header `name` of m to v, or (NULL) removes it. */
static natsStatus js_header(natsMsg *m, const char *name, const char *v)
{
    natsStatus s;

    if (v != NULL)
        return natsMsgHeader_Set(m, name, v);
    s = natsMsgHeader_Delete(m, name);
    return s == NATS_NOT_FOUND ? NATS_OK : s;
}

/* How many messages wait to be sent again. */
static size_t js_nfailed(out_t *t)
{
    size_t n;

    pthread_mutex_lock(&t->js_lock);
    n = t->js_nfail;
    pthread_mutex_unlock(&t->js_lock);
    return n;
}

/*
 * Sends again the messages the stream did not acknowledge.  Chained
 * (out_js_publish), they are every message sent from the first failure on,
 * none of them stored after a missing one.  Once every message sent has
 * its answer, the stream's last message of the subject says which of them
 * it holds after all (its acknowledgement lost, or timed out): those are
 * settled; the others go again in order, the first expecting the stream's
 * last message by its stream sequence (the stream forgets ids past its
 * duplicate window, when it restarts or its leader changes), each next the
 * one before it by id.  While the stream cannot be asked (the server away,
 * a leader being elected) they wait for the next round.  `deadline`: the
 * last rounds at a stop, which a signal does not cut, end then (0: not
 * the last rounds).
 */
static void js_resend(out_t *t, double deadline)
{
    jsPubOptions po;
    jsOptions jo;
    natsMsg **list, *last = NULL;
    size_t n, i;
    uint64_t stored = 0, last_sseq = 0;
    int have = 0, first = 1, final = deadline > 0;
    char prev[sizeof t->prev_id], num[24];
    jsErrCode jerr = 0;
    natsStatus s;

    jsPubOptions_Init(&po);
    po.MaxWait = final ? JS_ACK_WAIT : 500;
    while (js_PublishAsyncComplete(t->js, &po) != NATS_OK)
        if (final || bridge_stop ||
            natsConnection_Status(t->nc) != NATS_CONN_STATUS_CONNECTED)
            return; /* the next round, or the stop, sees to them */
    if (!final && bridge_stop)
        return;
    /* The list is taken whole; js_fail goes on in the spare array. */
    pthread_mutex_lock(&t->js_lock);
    list = t->js_fail;
    n = t->js_nfail;
    t->js_fail = t->js_spare;
    t->js_nfail = 0;
    pthread_mutex_unlock(&t->js_lock);
    t->js_spare = list;
    if (n == 0)
        return;
    qsort(list, n, sizeof *list, cmp_seq);
    jsOptions_Init(&jo);
    jo.Wait = JS_REQ_WAIT;
    s = natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED
            ? js_GetLastMsg(&last, t->js, t->o->stream, t->o->subject, &jo, &jerr)
            : NATS_CONNECTION_DISCONNECTED;
    if (s == NATS_OK) {
        last_sseq = natsMsg_GetSequence(last);
        /* Only a message of this ring settles any (a forged number would
         * settle what the stream does not hold). */
        have = js_last_ours(t, last, &stored);
        natsMsg_Destroy(last);
    } else if (s != NATS_NOT_FOUND) {
        js_keep(t, list, n);
        if (!final) {
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
        return;
    }
    for (i = 0; i < n; i++) {
        const char *id;
        char next[sizeof prev];

        if (have && msg_seq(list[i]) <= stored) {
            natsMsg_Destroy(list[i]);
            t->js_settled++;
            continue;
        }
        if (first) {
            /* None stored of the subject (last_sseq 0): no expectation. */
            if (last_sseq > 0)
                out_u64_str(num, last_sseq);
            s = js_header(list[i], JS_EXPECT_HDR, NULL);
            if (s == NATS_OK)
                s = js_header(list[i], JS_SUBJSEQ_HDR, last_sseq > 0 ? num : NULL);
        } else {
            s = js_header(list[i], JS_SUBJSEQ_HDR, NULL);
            if (s == NATS_OK)
                s = js_header(list[i], JS_EXPECT_HDR, prev);
        }
        if (s != NATS_OK ||
            natsMsgHeader_Get(list[i], JS_MSGID_HDR, &id) != NATS_OK ||
            id == NULL || strlen(id) >= sizeof next)
            break;
        strcpy(next, id);
        po.MaxWait = JS_ACK_WAIT;
        s = js_send(t, &list[i], &po, deadline);
        if (s != NATS_OK)
            break;
        t->js_sent++;
        strcpy(prev, next);
        first = 0;
    }
    if (i < n)
        js_keep(t, list + i, n - i);
    if (!first) {
        memcpy(t->prev_id, prev, sizeof t->prev_id);
        t->have_prev_id = 1;
        t->expect_sseq = 0;
    } else if (i == n && have) {
        /* Every one was stored after all: the next expects the last. */
        t->expect_sseq = last_sseq;
    }
}

/* published: acknowledged; unsent: sent and not acknowledged yet;
 * publish_errors: failed acknowledgements. */
static void js_update(out_t *t)
{
    uint64_t acked = atomic_load(&t->js_acked);
    uint64_t failed = atomic_load(&t->js_failed);

    t->st.moved = acked + t->js_settled;
    t->st.unsent = t->js_sent - acked - failed + atomic_load(&t->js_stopped);
    if (failed > t->st.errors) {
        bridge_err(t->o, "%s: %" PRIu64 " messages not acknowledged (%s, "
                   "error code %d): sent again",
                   t->o->stream, failed - t->st.errors,
                   natsStatus_GetText(atomic_load(&t->js_err)),
                   atomic_load(&t->js_errcode));
        t->st.errors = failed;
    }
}

/*
 * JetStream: the stream is made when it is not there (the subject, file
 * storage, the replicas asked for, the ring's own limits: at most `length`
 * messages for items, `length` bytes for records, the oldest discarded).
 * Then the last message of the subject in the stream tells where a
 * restarted out stops resending: out reads the ring from its oldest item
 * kept and skips every number up to that one's.  The message ids (RING:SEQ)
 * are the second guard: within the stream's duplicate window (two minutes)
 * the broker drops what was sent twice anyway, for example messages that
 * reached the stream while their acknowledgement did not reach out.  Both,
 * because the last message is exact but only covers what is stored in
 * order, and the ids only hold for the window.  Returns 0 or the exit
 * status.
 */
/* Whether the NATS subject pattern p ('*' a token, '>' the rest) matches
 * the subject s. */
static int subject_matches(const char *p, const char *s)
{
    for (;;) {
        size_t pl = strcspn(p, "."), sl = strcspn(s, ".");

        if (pl == 1 && p[0] == '>')
            return 1;
        if (!(pl == 1 && p[0] == '*') && (pl != sl || memcmp(p, s, pl) != 0))
            return 0;
        p += pl;
        s += sl;
        if (*p == '\0' || *s == '\0')
            return *p == *s;
        p++;
        s++;
    }
}

/* What a stream already there stores: 0 nothing published on subject, 1
 * that subject alone, 2 that subject and others (a wildcard, or several
 * subjects). */
static int stream_takes(const jsStreamInfo *si, const char *subject)
{
    int takes = 0, others = 0;

    if (si == NULL || si->Config == NULL)
        return 1; /* nothing to judge by: the publishes will tell */
    for (int i = 0; i < si->Config->SubjectsLen; i++) {
        const char *p = si->Config->Subjects[i];

        if (p != NULL && subject_matches(p, subject))
            takes = 1;
        if (p == NULL || strcmp(p, subject) != 0)
            others = 1;
    }
    return !takes ? 0 : others ? 2 : 1;
}

int out_js_setup(out_t *t)
{
    const bridge_opts_t *o = t->o;
    jsOptions jo;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsMsg *last = NULL;
    natsStatus s;
    int said = 0;

    t->js_cap = JS_WINDOW + t->batch + 16;
    t->js_fail = malloc(t->js_cap * sizeof *t->js_fail);
    t->js_spare = malloc(t->js_cap * sizeof *t->js_spare);
    if (t->js_fail == NULL || t->js_spare == NULL) {
        bridge_err(o, "%s", strerror(ENOMEM));
        return BRIDGE_EXIT_ERR;
    }
    t->msgid_len = (size_t)snprintf(t->msgid, sizeof t->msgid, "%s:", o->ring);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = JS_WINDOW;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = t;
    s = natsConnection_JetStream(&t->js, t->nc, &jo);
    if (s != NATS_OK) {
        bridge_err(o, "JetStream: %s", bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
    }
    /* Requests a cluster electing a leader, or a server going away, does
     * not answer are made again, until a signal (then out stops at once,
     * having sent nothing). */
    jsOptions_Init(&jo);
    jo.Wait = 2 * JS_REQ_WAIT;
    for (;;) {
        jerr = 0;
        s = js_GetStreamInfo(&si, t->js, o->stream, &jo, &jerr);
        if (s == NATS_NOT_FOUND) {
            jsStreamConfig sc;
            const char *subjects[1] = {o->subject};

            jsStreamConfig_Init(&sc);
            sc.Name = o->stream;
            sc.Subjects = subjects;
            sc.SubjectsLen = 1;
            sc.Storage = js_FileStorage;
            sc.Discard = js_DiscardOld;
            sc.Replicas = o->replicas ? o->replicas : 1;
            if (t->records)
                sc.MaxBytes = (int64_t)t->info.length;
            else
                sc.MaxMsgs = (int64_t)t->info.length;
            jerr = 0;
            s = js_AddStream(&si, t->js, &sc, &jo, &jerr);
        } else if (s == NATS_OK && stream_takes(si, o->subject) != 1) {
            /* Not the subject: every publish would wait for an answer that
             * never comes.  Others too: the stream's last id (which each
             * message expects) would be theirs as often as out's. */
            if (stream_takes(si, o->subject) == 0)
                bridge_err(o, "stream %s does not take the subject %s: give "
                           "another stream or --subject", o->stream, o->subject);
            else
                bridge_err(o, "stream %s takes other subjects than %s: give "
                           "a stream of its own", o->stream, o->subject);
            jsStreamInfo_Destroy(si);
            return BRIDGE_EXIT_USAGE;
        }
        jsStreamInfo_Destroy(si);
        si = NULL;
        if (s == NATS_OK || bridge_stop)
            break;
        /* Made meanwhile (the answer to an earlier try lost): asked again. */
        if (!bridge_js_transient(s, jerr) && jerr != JSStreamNameExistErr) {
            bridge_err(o, "stream %s: %s", o->stream, bridge_nats_err(s));
            /* No JetStream on the server, a bad name: the arguments'
             * fault. */
            return BRIDGE_EXIT_USAGE;
        }
        bridge_js_pause(o, &said, o->stream, s);
    }
    for (;;) {
        jerr = 0;
        s = js_GetLastMsg(&last, t->js, o->stream, o->subject, &jo, &jerr);
        if (s == NATS_OK || s == NATS_NOT_FOUND || bridge_stop)
            break;
        if (!bridge_js_transient(s, jerr)) {
            bridge_err(o, "stream %s: the last message of %s: %s", o->stream,
                       o->subject, bridge_nats_err(s));
            return BRIDGE_EXIT_ERR;
        }
        bridge_js_pause(o, &said, o->stream, s);
    }
    if (bridge_stop)
        return 0; /* bridge_out stops before it sends anything */
    if (s == NATS_OK) {
        /* The first message expects this one to be the stream's last, by
         * its stream sequence: whether the stream still knows its id
         * depends on its duplicate window. */
        t->expect_sseq = natsMsg_GetSequence(last);
        t->have_stored = js_last_ours(t, last, &t->stored_seq);
        natsMsg_Destroy(last);
        if (!t->have_stored) {
            /* Another ring's, or none of out's: its number says nothing. */
            bridge_err(o, "stream %s: the last message of %s is not one of "
                       "%s's (its id is not %s<number>): give another stream "
                       "or --subject", o->stream, o->subject, o->ring, t->msgid);
            return BRIDGE_EXIT_USAGE;
        }
    }
    /* Numbers the stream holds that the ring never reached: a ring made
     * again under the same name (numbering from 0).  Its items would be
     * skipped as sent already, and their ids taken for the old ones':
     * refused rather than lost. */
    if (t->have_stored && t->info.pushed <= t->stored_seq) {
        bridge_err(o, "stream %s holds item %" PRIu64 " of %s, which has had "
                   "only %" PRIu64 " pushed: the ring was made again; give "
                   "another stream, or remove this one", o->stream,
                   t->stored_seq, o->ring, t->info.pushed);
        return BRIDGE_EXIT_USAGE;
    }
    return 0;
}

int out_js_round(out_t *t)
{
    js_update(t);
    if (js_nfailed(t) == 0)
        return 0;
    js_resend(t, 0);
    return 1;
}

void out_js_finish(out_t *t, int ok)
{
    jsPubOptions po;
    /* A stop's last rounds take this long at most, signals or not. */
    double deadline = bridge_now() + 2.0 * JS_ACK_WAIT / 1000;

    /* Those that failed go again (a few rounds, while connected). */
    jsPubOptions_Init(&po);
    for (int round = 0; round < 3 && js_nfailed(t) > 0 &&
         natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED &&
         bridge_now() < deadline;
         round++) {
        js_resend(t, deadline);
        po.MaxWait = JS_ACK_WAIT;
        js_PublishAsyncComplete(t->js, &po);
    }
    /* What was sent is acknowledged before the last line, unless the
     * server stays away (then unsent says how many were not). */
    po.MaxWait = 5000;
    if (natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED &&
        js_PublishAsyncComplete(t->js, &po) != NATS_OK && ok)
        bridge_err(t->o, "stream %s: not every message acknowledged",
                   t->o->stream);
    /* What failed and could not go again is not published: unsent. */
    pthread_mutex_lock(&t->js_lock);
    t->js_closing = 1;
    for (size_t i = 0; i < t->js_nfail; i++)
        natsMsg_Destroy(t->js_fail[i]);
    atomic_fetch_add(&t->js_stopped, t->js_nfail);
    t->js_nfail = 0;
    pthread_mutex_unlock(&t->js_lock);
    js_update(t);
    if (t->st.unsent > 0)
        bridge_err(t->o, "%" PRIu64 " items not acknowledged by the stream",
                   t->st.unsent);
}

void out_js_free(out_t *t)
{
    pthread_mutex_lock(&t->js_lock);
    t->js_closing = 1;
    for (size_t i = 0; i < t->js_nfail; i++)
        natsMsg_Destroy(t->js_fail[i]);
    free(t->js_fail);
    free(t->js_spare);
    t->js_fail = t->js_spare = NULL;
    t->js_nfail = 0;
    pthread_mutex_unlock(&t->js_lock);
}
