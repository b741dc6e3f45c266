/*
 * out_js.c - scb bridge out onto a JetStream stream of its own (the ring's
 * subject its only one).  Every item is one message with an id (RING:SEQ,
 * so that the stream drops one sent twice within its duplicate window),
 * chained: each expects the one sent before it to be the stream's last, by
 * its stream sequence number (Nats-Expected-Last-Sequence), so the stream
 * never stores one after a missing one.  The sequence and not the id
 * (Nats-Expected-Last-Msg-Id): every server of a cluster checks the
 * expectation as it stores, and a server restarted past the duplicate
 * window, or that caught up from the others, no longer knows the last id,
 * while it always knows its last sequence number.
 *
 * So one answer vouches for every item sent before it: most items go as
 * plain messages, which the stream stores without answering, and only
 * every JS_CONFIRM_EVERY-th, and the last of those read together, asks for
 * an acknowledgement (asynchronous, with a timeout).  An answer per
 * message cost the client and the server more than the storing (a reply
 * subject, a pending entry and a timer, and the acknowledgement's JSON,
 * per message).
 *
 * The items sent wait in a queue of their own (js_fifo_t) until an answer
 * confirms them.  A failed answer (the chain broken by a message lost, a
 * server restarted or paused, a leader elected) makes out stop sending,
 * wait for every answer, ask the stream for its last message of the
 * subject (the items up to it are settled) and its last sequence number,
 * and send the rest again in order, chained from there (js_recover).
 * BRIDGE.md B3.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out.h"

/* Items sent between two that ask for an answer, at most. */
#define JS_CONFIRM_EVERY 256
/* Milliseconds an acknowledgement may take before the items it would
 * confirm count as failed. */
#define JS_ACK_WAIT 2000
/* The headers of a message's id, and of the sequence number the stream's
 * last message must have for it to be stored. */
#define JS_MSGID_HDR "Nats-Msg-Id"
#define JS_LASTSEQ_HDR "Nats-Expected-Last-Sequence"
/* js_errcode of an answer that says the stream dropped the message as a
 * duplicate (not a JetStream error code). */
#define JS_ERRCODE_DUPLICATE (-1)
/* Messages of others on the subject js_recover looks back over for the
 * last of out's, at most. */
#define JS_STRAYS_MAX 16

static uint64_t msg_seq(natsMsg *m)
{
    const char *value;
    bridge_hdr_t h;

    if (natsMsgHeader_Get(m, HDR_NAME, &value) == NATS_OK && value != NULL &&
        bridge_parse_hdr(value, &h) == 0)
        return h.seq;
    return 0;
}

/* *a = max(*a, v), whichever thread writes *a meanwhile. */
static void atomic_max(atomic_uint_fast64_t *a, uint64_t v)
{
    uint_fast64_t cur = atomic_load(a);

    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

/*
 * The messages the answers hand back, destroyed by the main thread
 * (js_reap), not by out_js_on_ack: the client times an answer out, and
 * hands its message to out_js_on_ack, on its own threads, and can do so
 * while js_PublishMsgAsync has yet to write that message (waiting for the
 * connection's lock, held by a write the server does not take): freed
 * there, it would be read after it was freed.  Once out sends no more
 * (out_js_free), out_js_on_ack destroys them itself.
 */
static pthread_mutex_t reap_mu = PTHREAD_MUTEX_INITIALIZER;
static natsMsg **reap_list;
static size_t reap_n, reap_cap;
static int reap_direct;

static void reap_later(natsMsg *m)
{
    pthread_mutex_lock(&reap_mu);
    if (reap_direct) {
        natsMsg_Destroy(m);
    } else if (reap_n < reap_cap) {
        reap_list[reap_n++] = m;
    } else {
        size_t cap = reap_cap ? 2 * reap_cap : 64;
        natsMsg **l = realloc(reap_list, cap * sizeof *l);

        /* Out of memory: kept (a few bytes lost), never freed early. */
        if (l != NULL) {
            reap_list = l;
            reap_cap = cap;
            reap_list[reap_n++] = m;
        }
    }
    pthread_mutex_unlock(&reap_mu);
}

void out_js_reap_start(void)
{
    pthread_mutex_lock(&reap_mu);
    reap_direct = 0;
    pthread_mutex_unlock(&reap_mu);
}

/* In the main thread, outside js_PublishMsgAsync; `last`: from now on
 * out_js_on_ack destroys them itself. */
static void js_reap(int last)
{
    pthread_mutex_lock(&reap_mu);
    for (size_t i = 0; i < reap_n; i++)
        natsMsg_Destroy(reap_list[i]);
    reap_n = 0;
    if (last) {
        free(reap_list);
        reap_list = NULL;
        reap_cap = 0;
        reap_direct = 1;
    }
    pthread_mutex_unlock(&reap_mu);
}

/* The answers, in the client's thread: an acknowledgement confirms its
 * item and, chained, every one before it; a failure (an error, or none
 * within JS_ACK_WAIT) makes the main thread send again (js_recover). */
void out_js_on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae,
                   void *closure)
{
    out_t *t = closure;

    (void)js;
    if (pae != NULL) {
        atomic_store(&t->js_err, pae->Err);
        atomic_store(&t->js_errcode, (int)pae->ErrCode);
        atomic_store(&t->js_broken, 1);
    } else if (pa != NULL && pa->Duplicate) {
        /* Not stored: the stream took a message of that id before, as its
         * pa->Sequence-th.  js_recover looks at that one: out's own (its
         * answer lost, and out's last message since gone from the stream)
         * confirms the item; someone else's of the same id does not, and
         * the item goes again until the id has left the duplicate
         * window. */
        atomic_store(&t->js_err, NATS_ERR);
        atomic_store(&t->js_errcode, JS_ERRCODE_DUPLICATE);
        atomic_max(&t->js_dup_sseq, pa->Sequence);
        atomic_store(&t->js_broken, 1);
    } else {
        atomic_max(&t->js_confirmed, msg_seq(m) + 1);
    }
    reap_later(m);
}

/* The headers of item `it`'s message: Scb, its id (t->msgid, js_send),
 * and the stream's last sequence number it expects. */
static natsStatus js_headers(out_t *t, natsMsg *m, const js_item_t *it)
{
    char hdr[OUT_HDR_MAX], num[24];
    natsStatus s;

    out_hdr(t, hdr, it->seq, it->lost);
    bridge_u64_str(num, t->expect_seq);
    s = natsMsgHeader_Set(m, HDR_NAME, hdr);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, JS_MSGID_HDR, t->msgid);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, JS_LASTSEQ_HDR, num);
    return s;
}

/*
 * Sends item `it` (its bytes in the queue): as a plain message, or, when
 * `answer`, asking the stream for an acknowledgement.  While the client
 * refuses for want of room (its reconnect buffer full while the server is
 * away), it is tried again every 10 ms, until `deadline` (bridge_now), or
 * with none (0) until a signal.  Sent or not, the next item expects this
 * one to be the stream's last: after one that did not go, none is stored.
 */
static natsStatus js_send(out_t *t, const js_item_t *it, int answer,
                          double deadline)
{
    const void *data = t->fifo.data + it->off;
    natsMsg *m = NULL;
    natsStatus s;

    /* Its id, which the next expects whether this one goes or not. */
    bridge_u64_str(t->msgid + t->msgid_len, it->seq);
    for (;;) {
        if (answer) {
            jsPubOptions po;

            s = natsMsg_Create(&m, t->o->subject, NULL, data, (int)it->len);
            if (s == NATS_OK)
                s = js_headers(t, m, it);
            jsPubOptions_Init(&po);
            po.MaxWait = JS_ACK_WAIT;
            if (s == NATS_OK)
                s = js_PublishMsgAsync(t->js, &m, &po);
            natsMsg_Destroy(m); /* NULL when the client took it */
            m = NULL;
            js_reap(0);
        } else {
            s = out_msg(t, &m, data, it->len);
            if (s == NATS_OK)
                s = js_headers(t, m, it);
            if (s == NATS_OK)
                s = natsConnection_PublishMsg(t->nc, m);
            if (m != t->core)
                natsMsg_Destroy(m);
            m = NULL;
        }
        if (s != NATS_TIMEOUT && s != NATS_INSUFFICIENT_BUFFER)
            break;
        if (deadline > 0 ? bridge_now() >= deadline : bridge_stop != 0)
            break;
        {
            struct timespec ts = {0, 10 * 1000000};

            nanosleep(&ts, NULL);
        }
    }
    t->expect_seq++;
    if (s == NATS_OK) {
        t->js_since = answer ? 0 : t->js_since + 1;
        t->js_since_bytes = answer ? 0 : t->js_since_bytes + js_fifo_size(it->len);
    }
    return s;
}

/* Milliseconds until `deadline` (bridge_now), at least 1, at most `most`. */
static int64_t ms_left(double deadline, int64_t most)
{
    double ms = (deadline - bridge_now()) * 1000;

    return ms < 1 ? 1 : ms > (double)most ? most : (int64_t)ms;
}

/* Takes the confirmations come: the items up to the highest confirmed are
 * published. */
static void js_confirm(out_t *t)
{
    uint64_t upto = atomic_load(&t->js_confirmed);

    while (t->fifo.n > 0 && js_fifo_at(&t->fifo, 0)->seq < upto) {
        js_fifo_drop_first(&t->fifo);
        t->st.moved++;
    }
}

/* published: confirmed; unsent: sent and not confirmed yet, and (at the
 * end) never sent. */
static void js_update(out_t *t)
{
    js_confirm(t);
    t->st.unsent = t->fifo.n + t->js_stopped;
}

/* Whether m, the stream's last message of the subject, is one of this
 * out's ring (its id RING:SEQ, SEQ its Scb header's number, its kind and
 * size the ring's), and that number (and, unless NULL, its lost count). */
int out_js_last_ours(const out_t *t, natsMsg *m, uint64_t *seq,
                     uint64_t *lost)
{
    const char *value, *id;
    bridge_hdr_t h;
    char want[sizeof t->msgid];

    if (natsMsgHeader_Get(m, HDR_NAME, &value) != NATS_OK || value == NULL ||
        bridge_parse_hdr(value, &h) != 0 || h.records != t->records ||
        h.size != t->info.item_size ||
        natsMsgHeader_Get(m, JS_MSGID_HDR, &id) != NATS_OK || id == NULL)
        return 0;
    memcpy(want, t->msgid, t->msgid_len);
    bridge_u64_str(want + t->msgid_len, h.seq);
    if (strcmp(id, want) != 0)
        return 0;
    *seq = h.seq;
    if (lost != NULL)
        *lost = h.lost;
    return 1;
}

/* Whether m, the message a duplicate answer named, is the copy of an item
 * in the queue (of its number n): its id and Scb number this ring's, and
 * its bytes and lost count the item's.  Another out of a ring of the same
 * name on the stream (two hosts, one subject) writes the same ids: its
 * item n settles nothing here. */
static int js_dup_ours(const out_t *t, natsMsg *m, uint64_t *n)
{
    uint64_t lost;

    if (!out_js_last_ours(t, m, n, &lost))
        return 0;
    for (size_t i = 0; i < t->fifo.n; i++) {
        const js_item_t *it = js_fifo_at(&t->fifo, i);

        if (it->seq < *n)
            continue;
        return it->seq == *n && it->lost == lost &&
               (size_t)natsMsg_GetDataLength(m) == it->len &&
               (it->len == 0 ||
                memcmp(natsMsg_GetData(m), t->fifo.data + it->off, it->len) == 0);
    }
    return 0;
}

/* The stream's last sequence number (its messages all out's: the subject
 * is its only one). */
static natsStatus js_stream_last(out_t *t, jsOptions *jo, uint64_t *lseq,
                                 jsErrCode *jerr)
{
    jsStreamInfo *si = NULL;
    natsStatus s;

    *jerr = 0;
    s = js_GetStreamInfo(&si, t->js, t->o->stream, jo, jerr);
    if (s == NATS_OK)
        *lseq = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return s;
}

/*
 * The same item first to go again as the round before: the stream took
 * none of what was sent then.  A cluster electing a leader does that for a
 * moment; a message of someone else's id RING:N (which the stream takes
 * for item N's, dropping item N as a duplicate until its window has
 * passed) or on the subject (every message after it expects one sequence
 * number too few) does it for longer.  So each such round waits longer
 * (50 ms, doubling, up to 2 s), and the wait is said once it is long.
 * Returns 1 when a stop came meanwhile.
 */
static int js_redo_pause(out_t *t)
{
    uint64_t first = js_fifo_at(&t->fifo, 0)->seq;
    double until;

    if (first != t->js_redo_seq || t->js_redo_wait == 0) {
        if (t->js_redo_said)
            bridge_err(t->o, "%s: item %" PRIu64 " stored: going on",
                       t->o->stream, t->js_redo_seq);
        t->js_redo_said = 0;
        t->js_redo_seq = first;
        t->js_redo_wait = 0.05; /* if it comes first again */
        return 0;
    }
    until = bridge_now() + t->js_redo_wait;
    if (t->js_redo_wait >= 2 && !t->js_redo_said) {
        bridge_err(t->o, "%s: item %" PRIu64 " is not stored however often it "
                   "goes (the stream holds its id %.*s%" PRIu64 " from "
                   "elsewhere, or another publisher's messages are on %s): "
                   "sending it again every 2 s", t->o->stream, first,
                   (int)t->msgid_len, t->msgid, first, t->o->subject);
        t->js_redo_said = 1;
    }
    t->js_redo_wait = t->js_redo_wait * 2 > 2 ? 2 : t->js_redo_wait * 2;
    while (!bridge_stop && bridge_now() < until) {
        struct timespec ts = {0, 10 * 1000000};

        nanosleep(&ts, NULL);
        js_update(t);
        out_stats_tick(t);
    }
    return bridge_stop != 0;
}

/*
 * After a failed answer: once every answer asked for has come (or timed
 * out), the stream's last message of the subject says which of the items
 * not confirmed it holds after all (their answer lost, or never asked
 * for): those are settled; the others go again in order, chained from
 * the stream's last sequence number, every JS_CONFIRM_EVERY-th and the
 * last asking for an answer.  While the stream cannot be asked (the server away, a leader
 * being elected) nothing goes, and the next round tries again.
 * `deadline`: the last rounds at a stop, which a signal does not cut, end
 * then (0: not the last rounds).
 */
static void js_recover(out_t *t, double deadline)
{
    jsPubOptions po;
    jsOptions jo;
    natsMsg *last = NULL;
    uint64_t stored = 0, lseq = 0, resent = 0, dup;
    int have = 0, final = deadline > 0;
    jsErrCode jerr = 0;
    natsStatus s;

    jsPubOptions_Init(&po);
    po.MaxWait = final ? ms_left(deadline, JS_ACK_WAIT) : 500;
    while (js_PublishAsyncComplete(t->js, &po) != NATS_OK)
        if (final || bridge_stop ||
            natsConnection_Status(t->nc) != NATS_CONN_STATUS_CONNECTED)
            return; /* the next round, or the stop, sees to them */
    if (!final && bridge_stop)
        return;
    /* Every answer asked for has come: a failure from now on is new. */
    atomic_store(&t->js_broken, 0);
    {
        natsStatus why = atomic_exchange(&t->js_err, NATS_OK);
        int code = atomic_exchange(&t->js_errcode, 0);

        if (why != NATS_OK) {
            t->js_why = why;
            t->js_why_code = code;
        }
    }
    js_confirm(t);
    if (t->fifo.n == 0) {
        t->js_why = NATS_OK; /* all confirmed after all */
        atomic_store(&t->js_dup_sseq, 0);
        return;
    }
    jsOptions_Init(&jo);
    jo.Wait = final ? ms_left(deadline, JS_REQ_WAIT) : JS_REQ_WAIT;
    s = natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED
            ? js_GetLastMsg(&last, t->js, t->o->stream, t->o->subject, &jo, &jerr)
            : NATS_CONNECTION_DISCONNECTED;
    if (s == NATS_OK) {
        /* Only a message of this ring settles any (a forged number would
         * settle what the stream does not hold). */
        have = out_js_last_ours(t, last, &stored, NULL);
        natsMsg_Destroy(last);
    }
    if (s == NATS_OK || s == NATS_NOT_FOUND)
        s = js_stream_last(t, &jo, &lseq, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        /* Removed while out runs: said once; out does not make it again
         * on its own (a stream made in the same moment can be unreadable
         * on nats-server 2.9; and what the old one held and in had not
         * read is gone), a new out makes it. */
        if (!t->js_gone_said)
            bridge_err(t->o, "stream %s is gone (removed?): nothing is "
                       "stored; out goes on when it is there again (a new "
                       "out makes it)", t->o->stream);
        t->js_gone_said = 1;
    } else if (s == NATS_OK && t->js_gone_said) {
        bridge_err(t->o, "stream %s is there again: going on", t->o->stream);
        t->js_gone_said = 0;
    }
    /* The last message someone else's: out's last is found before it. */
    for (uint64_t q = lseq; s == NATS_OK && !have && q > 1 &&
         lseq - q < JS_STRAYS_MAX;) {
        natsStatus gs;

        q--;
        jerr = 0;
        gs = js_GetMsg(&last, t->js, t->o->stream, q, &jo, &jerr);
        if (gs == NATS_OK) {
            have = out_js_last_ours(t, last, &stored, NULL);
            natsMsg_Destroy(last);
            last = NULL;
        } else if (gs != NATS_NOT_FOUND) {
            s = gs; /* asked again next round */
        }
    }
    /* A duplicate answer: the message the stream holds of that id. */
    dup = atomic_exchange(&t->js_dup_sseq, 0);
    if (s == NATS_OK && dup > 0) {
        uint64_t n;

        jerr = 0;
        s = js_GetMsg(&last, t->js, t->o->stream, dup, &jo, &jerr);
        if (s == NATS_OK) {
            if (js_dup_ours(t, last, &n) && (!have || n > stored)) {
                stored = n;
                have = 1;
            }
            natsMsg_Destroy(last);
            last = NULL;
        } else if (s == NATS_NOT_FOUND) {
            /* Gone (purged, aged): it says nothing; sent again when the
             * id has left the window, and in drops it if it had it. */
            s = NATS_OK;
        } else {
            atomic_max(&t->js_dup_sseq, dup); /* asked again next round */
        }
    }
    if (s != NATS_OK) {
        atomic_store(&t->js_broken, 1);
        if (!final) {
            struct timespec ts = {0, 100 * 1000000};

            nanosleep(&ts, NULL);
        }
        return;
    }
    while (have && t->fifo.n > 0 && js_fifo_at(&t->fifo, 0)->seq <= stored) {
        js_fifo_drop_first(&t->fifo);
        t->st.moved++;
        t->js_settled++;
    }
    t->expect_seq = lseq;
    if (t->fifo.n == 0) {
        /* All of them stored after all. */
        if (t->js_redo_said)
            bridge_err(t->o, "%s: item %" PRIu64 " stored: going on",
                       t->o->stream, t->js_redo_seq);
        t->js_redo_said = 0;
        t->js_redo_wait = 0;
        t->js_why = NATS_OK;
        return;
    }
    if (!final && js_redo_pause(t)) {
        atomic_store(&t->js_broken, 1); /* a stop came: its rounds send */
        return;
    }
    for (size_t i = 0; i < t->fifo.n; i++) {
        s = js_send(t, js_fifo_at(&t->fifo, i),
                    i + 1 == t->fifo.n || (i + 1) % JS_CONFIRM_EVERY == 0,
                    deadline);
        if (s != NATS_OK) {
            /* The rest wait for the next round (or the end: unsent); what
             * comes next expects this one (js_send), so none is stored
             * after it is missing. */
            atomic_store(&t->js_broken, 1);
            if (s == NATS_MAX_PAYLOAD || s == NATS_CONNECTION_CLOSED)
                t->js_fatal = s;
            break;
        }
        resent++;
    }
    if (resent > 0) {
        t->st.errors += resent;
        if (t->js_why_code == JS_ERRCODE_DUPLICATE)
            bridge_err(t->o, "%s: %" PRIu64 " messages not acknowledged (one "
                       "taken for a duplicate): sent again", t->o->stream,
                       resent);
        else if (t->js_why != NATS_OK)
            bridge_err(t->o, "%s: %" PRIu64 " messages not acknowledged (%s, "
                       "error code %d): sent again", t->o->stream, resent,
                       natsStatus_GetText(t->js_why), t->js_why_code);
        else
            bridge_err(t->o, "%s: %" PRIu64 " messages not confirmed by the "
                       "stream: sent again", t->o->stream, resent);
        t->js_why = NATS_OK;
        t->js_why_code = 0;
    }
}

int out_js_publish(out_t *t, const void *data, size_t len, uint64_t seq,
                   uint64_t lost, int last)
{
    size_t off = 0;
    natsStatus s;

    if (t->have_stored && seq <= t->stored_seq) {
        /* Already in the stream (a restarted out reads the ring from its
         * oldest item): not sent again.  The item of the last message's
         * number, when the ring still holds it, must be that message's
         * bytes: another's message with the id of a later item (or a ring
         * made again since that has had as many pushed) would have out
         * skip items that never reached the stream.  Nothing after it has
         * been sent yet: out refuses the stream rather than lose them. */
        if (seq == t->stored_seq && t->stored_data != NULL) {
            int same = len == t->stored_len &&
                       (len == 0 || memcmp(data, t->stored_data, len) == 0);

            free(t->stored_data);
            t->stored_data = NULL;
            if (!same) {
                bridge_err(t->o, "stream %s: its last message of %s, with the "
                           "id %.*s%" PRIu64 ", is not %s %" PRIu64 " of %s "
                           "(other bytes): give another stream, or remove "
                           "this one", t->o->stream, t->o->subject,
                           (int)t->msgid_len, t->msgid, seq,
                           t->records ? "record" : "item", seq, t->o->ring);
                t->refused = 1;
                return -1;
            }
        }
        t->st.duplicates++;
        return 0;
    }
    if (t->have_stored) {
        /* Restarted: lost_source counts the numbers after the stream's
         * last item that this run did not publish (overwritten while no
         * out ran, or since, before out read them): exactly the gaps in
         * sees, whether or not the reader's position was known when it
         * opened. */
        lost = seq - t->stored_seq - 1 - t->above;
        t->above++;
    }
    /* Nothing new while a failure is not mended (it would go after the
     * items that failed), before there is room in the queue (confirmations
     * come), or while a lossless ring's consumers are behind. */
    while (!t->js_abandoned && t->js_fatal == NATS_OK &&
           (atomic_load(&t->js_broken) || !js_fifo_room(&t->fifo, len, &off) ||
            !out_pace_ok(t, len))) {
        if (bridge_stop) {
            t->js_abandoned = 1;
            break;
        }
        /* The wait can be long (a stream away, consumers behind): the
         * guard is looked at here too. */
        if (out_js_guard_check(t) != 0)
            return -1;
        if (atomic_load(&t->js_broken)) {
            js_recover(t, 0);
        } else {
            struct timespec ts = {0, 1000000};

            /* Waiting for the consumers: what was sent without asking
             * for an answer gets one (through the stream's last message). */
            if (t->pace.since > 0)
                out_js_idle(t);
            nanosleep(&ts, NULL);
        }
        js_confirm(t);
        js_update(t);
        out_stats_tick(t);
    }
    if (t->js_fatal != NATS_OK) {
        bridge_err(t->o, "publish on %s: %s", t->o->subject,
                   natsStatus_GetText(t->js_fatal));
        return -1;
    }
    if (t->js_abandoned) {
        /* A stop left an item before this one unsent: the stream must not
         * hold this one after it. */
        t->js_stopped++;
        t->st.lost_source = lost;
        return 0;
    }
    js_fifo_push(&t->fifo, seq, lost, data, len, off);
    out_pace_sent(&t->pace, t->expect_seq + 1, len);
    /* An answer every JS_CONFIRM_EVERY items and every quarter of the
     * queue's bytes: a full queue always holds an item that asked for one
     * (what follows it is less than half the queue), whose answer makes
     * room. */
    s = js_send(t, js_fifo_at(&t->fifo, t->fifo.n - 1),
                last || t->js_since + 1 >= JS_CONFIRM_EVERY ||
                    t->js_since_bytes + js_fifo_size(len) >= t->fifo.data_cap / 4,
                0);
    if (s == NATS_TIMEOUT || s == NATS_INSUFFICIENT_BUFFER) {
        /* Stopped while the client had no room: this item and all after
         * it are unsent. */
        js_fifo_drop_last(&t->fifo);
        t->js_stopped++;
        t->js_abandoned = 1;
        t->st.lost_source = lost;
        return 0;
    }
    if (s == NATS_CONNECTION_CLOSED || s == NATS_MAX_PAYLOAD) {
        bridge_err(t->o, "publish on %s: %s", t->o->subject, natsStatus_GetText(s));
        return -1;
    }
    if (s != NATS_OK) {
        /* Refused otherwise: sent again in its place (those after it
         * expect it, js_send, and fail too). */
        atomic_store(&t->js_err, s);
        atomic_store(&t->js_errcode, 0);
        atomic_store(&t->js_broken, 1);
    }
    out_count(t, seq, lost);
    return 0;
}

int out_js_round(out_t *t)
{
    if (out_js_guard_check(t) != 0)
        return -1;
    js_update(t);
    if (!atomic_load(&t->js_broken))
        return 0;
    js_recover(t, 0);
    if (t->js_fatal != NATS_OK) {
        bridge_err(t->o, "publish on %s: %s", t->o->subject,
                   natsStatus_GetText(t->js_fatal));
        return -1;
    }
    return 1;
}

void out_js_idle(out_t *t)
{
    /* The newest item asked for no answer (a record that seemed not to be
     * the last): the stream is asked which it holds (js_recover). */
    if (t->fifo.n > 0 && t->js_since > 0)
        atomic_store(&t->js_broken, 1);
}

void out_js_finish(out_t *t, int ok)
{
    jsPubOptions po;
    /* A stop's last rounds take this long at most, signals or not. */
    double deadline = bridge_now() + 2.0 * JS_ACK_WAIT / 1000;

    /* The answers asked for, then what failed (or was never vouched for)
     * goes again: a few rounds, while connected. */
    jsPubOptions_Init(&po);
    po.MaxWait = ms_left(deadline, JS_ACK_WAIT);
    if (natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED)
        js_PublishAsyncComplete(t->js, &po);
    js_confirm(t);
    /* Before sending anything again, a last look at the guard: another
     * out holding it now keeps this one from doing so. */
    if (!t->guard_lost && t->fifo.n > 0) {
        t->guard_next = 0;
        (void)out_js_guard_check(t);
    }
    /* Another out holds the guard now: what this one sends again would
     * go between its messages. */
    for (int round = 0; round < 3 && !t->guard_lost && t->fifo.n > 0 &&
         t->js_fatal == NATS_OK &&
         natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED &&
         bridge_now() < deadline;
         round++) {
        js_recover(t, deadline);
        po.MaxWait = ms_left(deadline, JS_ACK_WAIT);
        js_PublishAsyncComplete(t->js, &po);
        js_confirm(t);
    }
    js_update(t);
    if (t->fifo.n > 0 && ok &&
        natsConnection_Status(t->nc) == NATS_CONN_STATUS_CONNECTED)
        bridge_err(t->o, "stream %s: not every message acknowledged",
                   t->o->stream);
    if (t->st.unsent > 0)
        bridge_err(t->o, "%" PRIu64 " items not acknowledged by the stream",
                   t->st.unsent);
}

void out_js_free(out_t *t)
{
    js_reap(1);
    free(t->stored_data);
    t->stored_data = NULL;
    free(t->pace.cons);
    t->pace.cons = NULL;
    free(t->fifo.items);
    free(t->fifo.data);
    t->fifo.items = NULL;
    t->fifo.data = NULL;
    t->fifo.n = 0;
}
