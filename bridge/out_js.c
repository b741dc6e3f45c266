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
    s = natsMsg_Create(&m, t->o->subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_NAME, hdr);
    if (s == NATS_OK) {
        /* The message id, RING:SEQ: the stream drops a second message with
         * the same id within its duplicate window. */
        jsPubOptions_Init(&po);
        out_u64_str(t->msgid + t->msgid_len, seq);
        po.MsgId = t->msgid;
        /* Chained: the stream stores it only right after the one before
         * (Nats-Expected-Last-Msg-Id), so that once a message fails, none
         * after it is stored before it is sent again (js_resend). */
        po.ExpectLastMsgId = t->have_prev_id ? t->prev_id : NULL;
        /* An acknowledgement lost with a server that died never comes:
         * after this long the message counts as failed, and goes again. */
        po.MaxWait = JS_ACK_WAIT;
        /* With JS_WINDOW acknowledgements pending (or the reconnect buffer
         * full) the client waits a moment and refuses: the item is not
         * dropped, it waits for room. */
        do
            s = js_PublishMsgAsync(t->js, &m, &po);
        while ((s == NATS_TIMEOUT || s == NATS_INSUFFICIENT_BUFFER) && !bridge_stop);
        if (s == NATS_OK) {
            t->js_sent++;
            memcpy(t->prev_id, t->msgid, sizeof t->prev_id);
            t->have_prev_id = 1;
        } else if (bridge_stop) {
            natsMsg_Destroy(m);
            t->js_stopped++;
            t->st.lost_source = lost;
            return 0;
        }
    }
    natsMsg_Destroy(m);
    /* Published, for JetStream, is acknowledged by the stream: counted as
     * the acknowledgements come (js_update). */
    out_count(t, seq, lost);
    if (s == NATS_OK)
        return 0;
    t->st.errors++;
    if (s == NATS_CONNECTION_CLOSED || s == NATS_NO_MEMORY) {
        bridge_err(t->o, "publish on %s: %s", t->o->subject, natsStatus_GetText(s));
        return -1;
    }
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
         * thread); the handler owns the message. */
        pthread_mutex_lock(&t->js_lock);
        if (!t->js_closing && t->js_nfail == t->js_capfail) {
            size_t cap = t->js_capfail ? 2 * t->js_capfail : 1024;
            natsMsg **nf = realloc(t->js_fail, cap * sizeof *nf);

            if (nf != NULL) {
                t->js_fail = nf;
                t->js_capfail = cap;
            }
        }
        if (!t->js_closing && t->js_nfail < t->js_capfail) {
            t->js_fail[t->js_nfail++] = m;
            m = NULL;
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
        if (t->js_nfail == t->js_capfail) {
            size_t cap = t->js_capfail ? 2 * t->js_capfail : 1024;
            natsMsg **nf = realloc(t->js_fail, cap * sizeof *nf);

            if (nf == NULL) {
                /* Not kept: never sent, and said so at the end. */
                natsMsg_Destroy(list[i]);
                t->js_stopped++;
                continue;
            }
            t->js_fail = nf;
            t->js_capfail = cap;
        }
        t->js_fail[t->js_nfail++] = list[i];
    }
    pthread_mutex_unlock(&t->js_lock);
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
 * (publish), they are every message sent from the first failure on, none
 * of them stored after a missing one.  Once every message sent has its
 * answer, the stream's last message of the subject says which of them it
 * holds after all (its acknowledgement lost, or timed out): those are
 * settled; the others go again in order, the first expecting the stream's
 * last message, each next the one before it.  While the stream cannot be
 * asked (the server away, a leader being elected) they wait for the next
 * round.  `final`: the last rounds at a stop, which a signal does not cut.
 */
static void js_resend(out_t *t, int final)
{
    jsPubOptions po;
    jsOptions jo;
    natsMsg **list, *last = NULL;
    size_t n, i;
    uint64_t stored = 0;
    int have = 0;
    char prev[sizeof t->prev_id];
    int have_prev = 0;
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
    pthread_mutex_lock(&t->js_lock);
    list = t->js_fail;
    n = t->js_nfail;
    t->js_fail = NULL;
    t->js_nfail = t->js_capfail = 0;
    pthread_mutex_unlock(&t->js_lock);
    if (n == 0)
        return;
    qsort(list, n, sizeof *list, cmp_seq);
    jsOptions_Init(&jo);
    jo.Wait = JS_REQ_WAIT;
    s = natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED
            ? js_GetLastMsg(&last, t->js, t->o->stream, t->o->subject, &jo, &jerr)
            : NATS_CONNECTION_DISCONNECTED;
    if (s == NATS_OK) {
        const char *id;

        stored = msg_seq(last);
        have = 1;
        if (natsMsgHeader_Get(last, JS_MSGID_HDR, &id) == NATS_OK && id != NULL &&
            strlen(id) < sizeof prev) {
            strcpy(prev, id);
            have_prev = 1;
        }
        natsMsg_Destroy(last);
    } else if (s != NATS_NOT_FOUND) {
        js_keep(t, list, n);
        free(list);
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
        if (have_prev)
            s = natsMsgHeader_Set(list[i], JS_EXPECT_HDR, prev);
        else
            s = natsMsgHeader_Delete(list[i], JS_EXPECT_HDR);
        if (s != NATS_OK && s != NATS_NOT_FOUND)
            break;
        next[0] = '\0';
        if (natsMsgHeader_Get(list[i], JS_MSGID_HDR, &id) == NATS_OK && id != NULL &&
            strlen(id) < sizeof next)
            strcpy(next, id);
        po.MaxWait = JS_ACK_WAIT;
        do
            s = js_PublishMsgAsync(t->js, &list[i], &po);
        while ((s == NATS_TIMEOUT || s == NATS_INSUFFICIENT_BUFFER) &&
               (final || !bridge_stop));
        if (s != NATS_OK)
            break;
        t->js_sent++;
        strcpy(prev, next);
        have_prev = next[0] != '\0';
    }
    if (i < n)
        js_keep(t, list + i, n - i);
    free(list);
    if (have_prev) {
        memcpy(t->prev_id, prev, sizeof t->prev_id);
        t->have_prev_id = 1;
    }
}

/* published: acknowledged; unsent: sent and not acknowledged yet;
 * publish_errors: failed acknowledgements. */
static void js_update(out_t *t)
{
    uint64_t acked = atomic_load(&t->js_acked);
    uint64_t failed = atomic_load(&t->js_failed);

    t->st.moved = acked + t->js_settled;
    t->st.unsent = t->js_sent - acked - failed + t->js_stopped;
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

/* Whether a stream already there stores what is published on subject. */
static int stream_takes(const jsStreamInfo *si, const char *subject)
{
    if (si == NULL || si->Config == NULL)
        return 1; /* nothing to judge by: the publishes will tell */
    for (int i = 0; i < si->Config->SubjectsLen; i++)
        if (si->Config->Subjects[i] != NULL &&
            subject_matches(si->Config->Subjects[i], subject))
            return 1;
    return 0;
}

int out_js_setup(out_t *t)
{
    const bridge_opts_t *o = t->o;
    jsOptions jo;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsMsg *last = NULL;
    natsStatus s;

    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = JS_WINDOW;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = t;
    s = natsConnection_JetStream(&t->js, t->nc, &jo);
    if (s != NATS_OK) {
        bridge_err(o, "JetStream: %s", bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
    }
    s = js_GetStreamInfo(&si, t->js, o->stream, NULL, &jerr);
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
        s = js_AddStream(&si, t->js, &sc, NULL, &jerr);
    } else if (s == NATS_OK && !stream_takes(si, o->subject)) {
        /* Every publish would wait for an answer that never comes. */
        bridge_err(o, "stream %s does not take the subject %s: give "
                   "another stream or --subject", o->stream, o->subject);
        jsStreamInfo_Destroy(si);
        return BRIDGE_EXIT_USAGE;
    }
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
        bridge_err(o, "stream %s: %s", o->stream, bridge_nats_err(s));
        /* No JetStream on the server, a bad name: the arguments' fault. */
        return BRIDGE_EXIT_USAGE;
    }
    jerr = 0;
    s = js_GetLastMsg(&last, t->js, o->stream, o->subject, NULL, &jerr);
    if (s == NATS_OK) {
        const char *value;
        bridge_hdr_t h;

        if (natsMsgHeader_Get(last, HDR_NAME, &value) == NATS_OK &&
            value != NULL && bridge_parse_hdr(value, &h) == 0) {
            t->have_stored = 1;
            t->stored_seq = h.seq;
        }
        /* The chain goes on from the stream's last message (js_publish). */
        if (natsMsgHeader_Get(last, JS_MSGID_HDR, &value) == NATS_OK &&
            value != NULL && strlen(value) < sizeof t->prev_id) {
            strcpy(t->prev_id, value);
            t->have_prev_id = 1;
        }
        natsMsg_Destroy(last);
    } else if (s != NATS_NOT_FOUND) {
        bridge_err(o, "stream %s: the last message of %s: %s", o->stream,
                   o->subject, bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
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
    t->msgid_len = (size_t)snprintf(t->msgid, sizeof t->msgid, "%s:", o->ring);
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

    /* What was sent is acknowledged before the last line, unless the
     * server stays away (then unsent says how many were not). */
    jsPubOptions_Init(&po);
    po.MaxWait = 5000;
    /* Those that failed go again (a few rounds, while connected). */
    for (int round = 0; round < 3 && js_nfailed(t) > 0 &&
         natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED;
         round++) {
        js_resend(t, 1);
        js_PublishAsyncComplete(t->js, &po);
    }
    if (natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED &&
        js_PublishAsyncComplete(t->js, &po) != NATS_OK && ok)
        bridge_err(t->o, "stream %s: not every message acknowledged",
                   t->o->stream);
    /* What failed and could not go again is not published: unsent. */
    pthread_mutex_lock(&t->js_lock);
    t->js_closing = 1;
    for (size_t i = 0; i < t->js_nfail; i++)
        natsMsg_Destroy(t->js_fail[i]);
    t->js_stopped += t->js_nfail;
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
    t->js_fail = NULL;
    t->js_nfail = t->js_capfail = 0;
    pthread_mutex_unlock(&t->js_lock);
}
