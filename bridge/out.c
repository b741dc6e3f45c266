/*
 * out.c - scb bridge out: reads a local ring as a reader and publishes each
 * item or record, in order, as one NATS message whose header carries its
 * source sequence number, out's running lost_source count and the ring's
 * geometry (bridge.h).  Public libscb API only; not here: waiting on
 * anything but the ring and the NATS client's own buffering.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

/* The bytes one scb_pop_many takes at most, and the bytes of items that
 * may wait in memory while their sequence numbers are not known. */
#define BATCH_BYTES (256u * 1024u)
#define PENDING_MAX_BYTES (64u * 1024u * 1024u)

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

/* Items read while their sequence numbers are not known yet, back to
 * back: length (8 bytes), then the bytes padded to 8. */
typedef struct pending {
    unsigned char *buf;
    size_t used, cap;
    uint64_t count;
} pending_t;

typedef struct out {
    const bridge_opts_t *o;
    scb_t *r;
    scb_info_t info;
    int records;
    int lossless;
    natsConnection *nc;
    int connected;      /* the connection's state at the last look */
    /* Sequence numbers (see resolve): */
    int pos_known;      /* next_seq is the number of the next item read */
    uint64_t next_seq;
    uint64_t known_lost; /* scb_lost when nothing is being skipped, exact */
    int open_known;     /* pos_open is known */
    uint64_t pos_open;  /* the number of the first item this reader could read */
    uint64_t read;      /* items read, all told */
    uint64_t dropped;   /* read but not published: counted in lost_source */
    pending_t pend;
    /* JetStream (o->stream): */
    jsCtx *js;
    int have_stored;     /* the stream held an item of this subject at start */
    uint64_t stored_seq; /* its number: items up to it are not sent again */
    uint64_t js_sent;    /* messages handed to js_PublishMsgAsync */
    atomic_uint_fast64_t js_acked;  /* acknowledged by the stream */
    atomic_uint_fast64_t js_failed; /* acknowledged with an error, or none */
    pthread_mutex_t js_lock;        /* guards the failed messages: */
    natsMsg **js_fail;              /* messages to send again, theirs */
    size_t js_nfail, js_capfail;
    int js_closing;                 /* at the end: on_ack keeps nothing */
    _Atomic natsStatus js_err;      /* the last failure's status */
    _Atomic int js_errcode;         /* and JetStream error code */
    char msgid[SCB_NAME_MAX + 32];  /* "RING:" then the number */
    size_t msgid_len;
    /* The id of the last message handed to the stream, which the next one
     * expects to be the stream's last (js_publish): none at first. */
    char prev_id[SCB_NAME_MAX + 32];
    int have_prev_id;
    uint64_t js_settled; /* failed, then found stored (js_resend) */
    uint64_t js_stopped; /* never sent: stopped with them held (unsent) */
    char geometry[112]; /* " kind=K size=N length=N run=HEX", the header's tail */
    /* Core NATS: the message every item of core_len bytes is sent in (see
     * core_msg). */
    natsMsg *core;
    size_t core_len;
    bridge_stats_t st;
} out_t;

/* Decimal digits of v into buf (21 bytes), NUL-terminated; returns the
 * end (the NUL). */
static char *u64_str(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *buf++ = tmp[--n];
    *buf = '\0';
    return buf;
}

/* A number that tells this run of out from others: the clock and the
 * process id, mixed (splitmix64's finaliser). */
static uint64_t run_id(void)
{
    struct timespec ts;
    uint64_t z;

    clock_gettime(CLOCK_REALTIME, &ts);
    z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    z ^= (uint64_t)getpid() << 32;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return z != 0 ? z : 1;
}

/*
 * Core NATS: the message that carries the next item, `len` bytes of it.
 * The client hands every message natsMsg_Destroy frees to its collector
 * thread, header table and all (the table alone is two callocs): a message
 * made and destroyed per item cost out a third of its time in malloc, free,
 * and the lock and wake-ups of that thread.
 * So one message is kept and sent again for every item of the same length:
 * natsConnection_PublishMsg copies it into the connection's buffer before
 * it returns and keeps no reference to it, and natsMsgHeader_Set replaces
 * the header's value in the table already there.  The item's bytes are
 * written over the message's own data, which natsMsg_Create allocated with
 * the message and nothing else points to.  A record of another length than
 * the last gets a message of its own length.
 */
static natsStatus core_msg(out_t *t, natsMsg **m, const void *data, size_t len)
{
    natsStatus s;

    if (t->core == NULL || t->core_len != len) {
        natsMsg_Destroy(t->core);
        t->core = NULL;
        s = natsMsg_Create(&t->core, t->o->subject, NULL, data, (int)len);
        if (s != NATS_OK)
            return s;
        if (len > 0 && natsMsg_GetData(t->core) == (const char *)data) {
            /* A client that keeps the caller's bytes instead of a copy:
             * nothing to write over, so this one is not kept. */
            *m = t->core;
            t->core = NULL;
            return NATS_OK;
        }
        t->core_len = len;
    } else if (len > 0) {
        memcpy((char *)natsMsg_GetData(t->core), data, len);
    }
    *m = t->core;
    return NATS_OK;
}

/* Publishes one item as one message.  A message the client refuses (its
 * reconnect buffer full while disconnected) is counted in publish_errors:
 * in sees its sequence number missing and counts it in lost_upstream. */
static int publish(out_t *t, const void *data, size_t len, uint64_t seq,
                   uint64_t lost)
{
    natsMsg *m = NULL;
    natsStatus s;
    char hdr[sizeof t->geometry + 64], *p = hdr;

    memcpy(p, "seq=", 4);
    p = u64_str(p + 4, seq);
    memcpy(p, " lost=", 6);
    p = u64_str(p + 6, lost);
    memcpy(p, t->geometry, strlen(t->geometry) + 1);
    if (t->js != NULL && t->have_stored && seq <= t->stored_seq) {
        /* Already in the stream (a restarted out reads the ring from its
         * oldest item): not sent again. */
        t->st.duplicates++;
        t->st.lost_source = lost;
        return 0;
    }
    if (t->js == NULL)
        s = core_msg(t, &m, data, len);
    else
        s = natsMsg_Create(&m, t->o->subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_NAME, hdr);
    if (s == NATS_OK && t->js != NULL) {
        jsPubOptions po;

        /* The message id, RING:SEQ: the stream drops a second message with
         * the same id within its duplicate window. */
        jsPubOptions_Init(&po);
        u64_str(t->msgid + t->msgid_len, seq);
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
    } else if (s == NATS_OK) {
        s = natsConnection_PublishMsg(t->nc, m);
    }
    if (m != t->core)
        natsMsg_Destroy(m);
    if (t->js != NULL && s == NATS_OK) {
        /* Published, for JetStream, is acknowledged by the stream: counted
         * as the acknowledgements come (js_update). */
        if (!t->st.have_seq)
            t->st.first_seq = seq;
        t->st.last_seq = seq;
        t->st.have_seq = 1;
        t->st.lost_source = lost;
        return 0;
    }
    if (!t->st.have_seq)
        t->st.first_seq = seq;
    t->st.last_seq = seq;
    t->st.have_seq = 1;
    t->st.lost_source = lost;
    if (s == NATS_OK) {
        /* While the server is away the client only holds the message for
         * the reconnection: not published yet. */
        if (t->connected)
            t->st.moved++;
        else
            t->st.unsent++;
        return 0;
    }
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

static int js_setup(out_t *t)
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

static uint64_t pushed(const scb_t *r)
{
    scb_info_t info;

    if (scb_info(r, &info) != SCB_OK)
        return 0;
    return info.pushed;
}

/*
 * Sequence numbers.  The public API has no call that gives a reader's
 * position: it is derived from scb_info's pushed (items ever pushed) and
 * scb_usage (items waiting for this reader, capped at the ring's length),
 * which are read separately while a writer may push in between.  So pushed
 * is read before and after usage, and only when both reads agree did the
 * writer push nothing in between: then the reader's next item is number
 * pushed - usage, exactly, provided usage is below the length (at the
 * length, the reader may have been lapped and will skip an unknown number;
 * a registered reader of a lossless ring never is).  On a record ring
 * usage counts bytes, so only usage 0 tells: the next record is number
 * pushed.  That takes two scb_info calls, too many to make per item; so
 * it is done when needed, and between times the numbers simply follow on:
 * scb_lost (items skipped since the reader opened, and those its next pop
 * will skip) staying at its exact value known_lost across a pop proves
 * that the pop skipped nothing.
 *
 * When the numbers are not known (at the start, or after a skip) the items
 * read wait in memory (pending) while scb_lost stays put, and get their
 * numbers, counting back, as soon as the position is found.  Items read
 * across a skip before the position could be found cannot be numbered:
 * they are dropped and counted in lost_source, like the items the ring
 * overwrote.  Scb-Lost is then exactly the count of numbers out never
 * published, so `in` splits a gap exactly.  known_lost is exact at the
 * start (0) and, once the position is known after a skip, is recomputed
 * as position - first position - items read; only when the reader was
 * lapped before its position was ever found is scb_lost's own reading
 * taken, which a push_many under way can overstate.
 */
static int resolve(out_t *t, uint64_t *pos)
{
    uint64_t p1, p2, u;

    for (int tries = 0; tries < 4; tries++) {
        u = scb_usage(t->r);
        /* Cheap look first: scb_info checks liveness. */
        if (t->records ? u != 0 : (!t->lossless && u >= t->info.length))
            return 0;
        p1 = pushed(t->r);
        u = scb_usage(t->r);
        p2 = pushed(t->r);
        if (p1 != p2)
            continue;
        if (t->records ? u != 0 : (!t->lossless && u >= t->info.length))
            return 0;
        *pos = p1 - u;
        return 1;
    }
    return 0;
}

static int pending_add(out_t *t, const void *item, size_t len)
{
    pending_t *p = &t->pend;
    size_t need = 8 + ((len + 7) & ~(size_t)7);
    uint64_t hdr = len;

    if (p->used + need > PENDING_MAX_BYTES) {
        /* Too long without a position: give up what waits. */
        t->dropped += p->count;
        p->used = 0;
        p->count = 0;
    }
    if (p->used + need > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        unsigned char *nb;

        while (cap < p->used + need)
            cap *= 2;
        if ((nb = realloc(p->buf, cap)) == NULL)
            return -1;
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->used, &hdr, 8);
    memcpy(p->buf + p->used + 8, item, len);
    p->used += need;
    p->count++;
    return 0;
}

/* n items (each `len` bytes, `stride` apart) were just read: number and
 * publish them, or keep them until they can be numbered. */
static int take(out_t *t, const unsigned char *items, size_t n, size_t len,
                size_t stride)
{
    uint64_t lost = scb_lost(t->r), pos, seq;
    int clean = lost == t->known_lost;
    size_t k;

    t->read += n;
    if (clean && t->pos_known) {
        for (k = 0; k < n; k++)
            if (publish(t, items + k * stride, len, t->next_seq + k,
                        t->known_lost + t->dropped) != 0)
                return -1;
        t->next_seq += n;
        return 0;
    }
    if (!clean) {
        /* Something was skipped: what waits can no longer be numbered. */
        t->dropped += t->pend.count;
        t->pend.used = 0;
        t->pend.count = 0;
        t->pos_known = 0;
    }
    if (!resolve(t, &pos)) {
        if (!clean) {
            t->dropped += n;
            /* The best known; exact unless a skip is pending (see above). */
            t->known_lost = lost;
            return 0;
        }
        for (k = 0; k < n; k++)
            if (pending_add(t, items + k * stride, len) != 0) {
                bridge_err(t->o, "%s", strerror(ENOMEM));
                return -1;
            }
        return 0;
    }
    if (!t->open_known && clean && t->known_lost == 0) {
        t->pos_open = pos - t->read;
        t->open_known = 1;
    }
    if (!clean)
        t->known_lost = t->open_known ? pos - t->pos_open - t->read : lost;
    /* The waiting items, then these n, end right before pos. */
    seq = pos - n - t->pend.count;
    for (size_t off = 0; off < t->pend.used; seq++) {
        uint64_t hdr;

        memcpy(&hdr, t->pend.buf + off, 8);
        if (publish(t, t->pend.buf + off + 8, (size_t)hdr, seq,
                    t->known_lost + t->dropped) != 0)
            return -1;
        off += 8 + (((size_t)hdr + 7) & ~(size_t)7);
    }
    t->pend.used = 0;
    t->pend.count = 0;
    for (k = 0; k < n; k++, seq++)
        if (publish(t, items + k * stride, len, seq, t->known_lost + t->dropped) != 0)
            return -1;
    t->next_seq = pos;
    t->pos_known = 1;
    return 0;
}

int bridge_out(const bridge_opts_t *o)
{
    /* Static: an acknowledgement handler still running on the client's
     * thread after the destroy calls finds it there (main waits for those
     * threads before the process exits). */
    static out_t t;
    unsigned char *buf = NULL;
    size_t batch, n, len;
    double next_stats = 0;
    int rc, status = BRIDGE_EXIT_ERR;
    scb_config_t cfg;

    memset(&t, 0, sizeof t);
    t.o = o;
    pthread_mutex_init(&t.js_lock, NULL);

    /* The ring, as a reader (registered, if it is lossless), before the
     * connection: a ring that is not there is a bad argument (exit 2, no
     * statistics). */
    scb_config_init(&cfg);
    rc = SCB_ENOENT;
    if (o->backend != NULL) {
        cfg.backend = o->backend;
        rc = scb_open(&t.r, o->ring, &cfg);
    } else {
        for (const char *const *b = scb_backends(); *b != NULL; b++) {
            cfg.backend = *b;
            rc = scb_open(&t.r, o->ring, &cfg);
            if (rc != SCB_ENOENT)
                break;
        }
    }
    if (rc != SCB_OK) {
        bridge_err(o, "%s: %s", o->ring, scb_strerror(rc));
        return rc == SCB_ENOENT || rc == SCB_EINVAL || rc == SCB_ENAMETOOLONG
                   ? BRIDGE_EXIT_USAGE : BRIDGE_EXIT_ERR;
    }
    t.nc = bridge_connect(o);
    if (t.nc == NULL) {
        scb_close(t.r);
        return BRIDGE_EXIT_USAGE;
    }
    t.connected = 1;
    scb_info(t.r, &t.info);
    t.records = (t.info.flags & SCB_RECORDS) != 0;
    t.lossless = (t.info.flags & SCB_LOSSLESS) != 0;
    snprintf(t.geometry, sizeof t.geometry,
             " kind=%s size=%" PRIu32 " length=%" PRIu64 " run=%016" PRIx64,
             t.records ? KIND_RECORDS : KIND_ITEMS, t.info.item_size,
             t.info.length, run_id());
    if ((int64_t)t.info.item_size + 256 > natsConnection_GetMaxPayload(t.nc)) {
        bridge_err(o, "%s: items of up to %" PRIu32 " bytes do not fit the "
                   "server's largest message (%" PRId64 " bytes)", o->ring,
                   t.info.item_size, natsConnection_GetMaxPayload(t.nc));
        goto done;
    }

    if (o->stream != NULL && (status = js_setup(&t)) != 0)
        goto done;
    status = BRIDGE_EXIT_ERR;

    batch = t.records ? 1 : BATCH_BYTES / t.info.item_size;
    if (batch == 0)
        batch = 1;
    buf = malloc(batch * t.info.item_size);
    if (buf == NULL) {
        bridge_err(o, "%s", strerror(ENOMEM));
        goto done;
    }

    /* Where the reader starts, when it can be told now. */
    if (resolve(&t, &t.next_seq)) {
        t.pos_known = 1;
        t.pos_open = t.next_seq;
        t.open_known = 1;
    }

    if (o->stats_period > 0)
        next_stats = bridge_now() + o->stats_period;
    while (!bridge_stop) {
        int64_t wait_ms = 100;
        int connected = natsConnection_Status(t.nc) == NATS_CONN_STATUS_CONNECTED;

        if (t.js != NULL) {
            js_update(&t);
            if (js_nfailed(&t) > 0) {
                js_resend(&t, 0);
                continue;
            }
        }
        /* Back from a reconnection: the client sent what it held first. */
        else if (connected && !t.connected) {
            t.st.moved += t.st.unsent;
            t.st.unsent = 0;
        }
        t.connected = connected;

        if (t.records) {
            rc = scb_pop_record(t.r, buf, t.info.item_size, &len);
            n = rc == SCB_OK;
        } else {
            rc = scb_pop_many(t.r, buf, batch, &n);
            len = t.info.item_size;
        }
        if (rc == SCB_OK) {
            if (take(&t, buf, n, len, len) != 0)
                goto done;
            t.st.lost_source = t.known_lost + t.dropped;
        } else if (rc == SCB_EAGAIN && !t.pos_known && t.pend.count > 0) {
            /* Caught up: the position is found now, unless the writer is
             * pushing this very moment. */
            if (take(&t, buf, 0, len, len) != 0)
                goto done;
        } else if (rc != SCB_EAGAIN) {
            bridge_err(o, "%s: %s", o->ring, scb_strerror(rc));
            goto done;
        }
        if (next_stats > 0) {
            double now = bridge_now();

            if (now >= next_stats) {
                bridge_print_stats(o, t.nc, &t.st);
                next_stats += o->stats_period;
                if (next_stats < now)
                    next_stats = now + o->stats_period;
            }
            wait_ms = (int64_t)((next_stats - now) * 1000) + 1;
            if (wait_ms > 100)
                wait_ms = 100;
        }
        if (rc == SCB_EAGAIN) {
            /* The ring is empty: send what the client holds now rather
             * than when its flusher thread wakes (a millisecond later).
             * Not while disconnected: the client keeps it for the
             * reconnection, and the flush would only wait. */
            if (t.connected && natsConnection_Buffered(t.nc) > 0)
                natsConnection_FlushTimeout(t.nc, 100);
            scb_wait(t.r, wait_ms);
        }
    }
    status = BRIDGE_EXIT_OK;
done:
    /* Whatever the reason, what was published reaches the server first;
     * unless the server is away: the flush would only wait, and what the
     * client holds is reported as unsent. */
    if (t.js != NULL) {
        jsPubOptions po;

        /* What was sent is acknowledged before the last line, unless the
         * server stays away (then unsent says how many were not). */
        jsPubOptions_Init(&po);
        po.MaxWait = 5000;
        /* Those that failed go again (a few rounds, while connected). */
        for (int round = 0; round < 3 && js_nfailed(&t) > 0 &&
             natsConnection_Status(t.nc) == NATS_CONN_STATUS_CONNECTED;
             round++) {
            js_resend(&t, 1);
            js_PublishAsyncComplete(t.js, &po);
        }
        if (natsConnection_Status(t.nc) == NATS_CONN_STATUS_CONNECTED &&
            js_PublishAsyncComplete(t.js, &po) != NATS_OK &&
            status == BRIDGE_EXIT_OK)
            bridge_err(o, "stream %s: not every message acknowledged",
                       o->stream);
        /* What failed and could not go again is not published: unsent. */
        pthread_mutex_lock(&t.js_lock);
        t.js_closing = 1;
        for (size_t i = 0; i < t.js_nfail; i++)
            natsMsg_Destroy(t.js_fail[i]);
        t.js_stopped += t.js_nfail;
        t.js_nfail = 0;
        pthread_mutex_unlock(&t.js_lock);
        js_update(&t);
        if (t.st.unsent > 0)
            bridge_err(o, "%" PRIu64 " items not acknowledged by the stream",
                       t.st.unsent);
    } else if (natsConnection_Status(t.nc) == NATS_CONN_STATUS_CONNECTED) {
        if (t.st.unsent > 0) {
            t.st.moved += t.st.unsent;
            t.st.unsent = 0;
        }
        if (natsConnection_FlushTimeout(t.nc, 5000) != NATS_OK &&
            status == BRIDGE_EXIT_OK)
            bridge_err(o, "flush: %s", natsStatus_GetText(NATS_TIMEOUT));
    } else if (t.st.unsent > 0) {
        bridge_err(o, "the server is away: %" PRIu64 " items not sent",
                   t.st.unsent);
    }
    bridge_print_stats(o, t.nc, &t.st);
    free(buf);
    free(t.pend.buf);
    scb_close(t.r);
    jsCtx_Destroy(t.js);
    natsMsg_Destroy(t.core);
    natsConnection_Destroy(t.nc);
    pthread_mutex_lock(&t.js_lock);
    t.js_closing = 1;
    for (size_t i = 0; i < t.js_nfail; i++)
        natsMsg_Destroy(t.js_fail[i]);
    free(t.js_fail);
    t.js_fail = NULL;
    t.js_nfail = t.js_capfail = 0;
    pthread_mutex_unlock(&t.js_lock);
    return status;
}
