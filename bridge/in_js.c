/*
 * in_js.c - scb bridge in from a JetStream stream (in.c writes the ring):
 * a durable pull consumer, made again at every (re)subscription so that it
 * hands out the stream's messages in order, fetched in batches and
 * acknowledged only once their items are in the ring.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "in.h"

/*
 * JetStream.  in acknowledges a message only once its item is in the ring,
 * so a restarted in gets again every message after the last one it
 * acknowledged; those it had pushed already are dropped by number (its
 * place, place_load).
 */
/* Whether the stream's message `sseq` is the last item in took (its
 * number and out's run): then the stream is the one in read, whatever its
 * creation time says (a server can rewrite it). */
static int js_same_place(in_t *t, uint64_t sseq, jsOptions *jo)
{
    natsMsg *m = NULL;
    const char *value;
    bridge_hdr_t h;
    jsErrCode jerr = 0;
    int same = 0;

    if (sseq == 0 || !t->st.have_seq ||
        js_GetMsg(&m, t->js, t->o->stream, sseq, jo, &jerr) != NATS_OK)
        return 0;
    same = natsMsgHeader_Get(m, HDR_NAME, &value) == NATS_OK && value != NULL &&
           bridge_parse_hdr(value, &h) == 0 && h.seq == t->st.last_seq &&
           h.run == t->last_run;
    natsMsg_Destroy(m);
    return same;
}

/* The stream's creation time, while in's consumer is there (the consumer
 * goes with its stream, so the stream that answers is the one read): known
 * from then on, when the subscription did not learn it. */
static void js_learn_created(in_t *t, jsOptions *jo)
{
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    int64_t created = 0;

    if (js_GetStreamInfo(&si, t->js, t->o->stream, jo, &jerr) == NATS_OK)
        created = si->Created;
    jsStreamInfo_Destroy(si);
    if (created != 0 &&
        js_GetConsumerInfo(&ci, t->js, t->o->stream, t->durable, jo, &jerr) == NATS_OK)
        t->stream_created = created;
    jsConsumerInfo_Destroy(ci);
}

/* The consumer's description in makes it with (in.h). */
static void js_desc_make(in_t *t)
{
    char host[IN_HOST_MAX + 1], ns[64];
    struct timespec ts;
    ssize_t n;

    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    /* Processes of another pid namespace (a container sharing the host's
     * name) are not this in's to look up by number (js_desc_gone). */
    n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    ns[n > 0 ? n : 0] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(t->cons_desc, sizeof t->cons_desc,
             "scb bridge in: process %ld on %s%s%s, run %lx%09ld", (long)getpid(),
             host, n > 0 ? " " : "", ns, (unsigned long)ts.tv_sec,
             (long)ts.tv_nsec);
}

/* Whether desc is the description of an in of this host (and pid
 * namespace) whose process is gone (in started again). */
static int js_desc_gone(const in_t *t, const char *desc)
{
    const char *mine = strstr(t->cons_desc, " on "), *theirs;
    size_t host_len;
    long pid;

    if (desc == NULL || mine == NULL ||
        sscanf(desc, "scb bridge in: process %ld on ", &pid) != 1 || pid <= 0 ||
        (theirs = strstr(desc, " on ")) == NULL)
        return 0;
    /* " on HOST NAMESPACE, run ": the same host and namespace. */
    host_len = (size_t)(strstr(mine, ", run ") - mine);
    if (strncmp(mine, theirs, host_len) != 0 ||
        strncmp(theirs + host_len, ", run ", 6) != 0)
        return 0;
    return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Whether the server kept the consumer's description (desc_kept): a
 * server that drops it would have every consumer look made by another.
 * (Made again by another meanwhile: it is found by its requests.) */
static void js_desc_check(in_t *t, jsOptions *jo)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;

    t->desc_kept = natsSubscription_GetConsumerInfo(&ci, t->sub, jo, &jerr) == NATS_OK &&
                   ci->Config != NULL && ci->Config->Description != NULL &&
                   strcmp(ci->Config->Description, t->cons_desc) == 0;
    jsConsumerInfo_Destroy(ci);
}

/* The description of consumer ci (NULL: none), and whether it is a
 * consumer in made, made again by another client since: its description
 * is not in's own, where the server keeps descriptions (desc_kept). */
static const char *js_desc_of(const jsConsumerInfo *ci)
{
    const char *desc = ci->Config != NULL ? ci->Config->Description : NULL;

    return desc != NULL && *desc != '\0' ? desc : NULL;
}

static int js_made_again(const in_t *t, const jsConsumerInfo *ci)
{
    const char *desc = js_desc_of(ci);

    return t->cons_made && t->desc_kept &&
           (desc == NULL || strcmp(desc, t->cons_desc) != 0);
}

/*
 * One in per consumer.  Two (another in given the same durable name, or
 * two hosts whose rings have the same name and so the same default) would
 * share its messages, each making it again at every gap the other leaves;
 * an acknowledgement of one covers messages the other has not written.
 * Two signs tell another client:
 *   - the consumer in made has another description than in's own
 *     (cons_desc, which names the process, host and run): another made it
 *     again since (when the server keeps descriptions: desc_kept);
 *   - pull requests wait on it that are not in's.  in's own (a replaced
 *     subscription's, or a killed in's) expire within a fetch's wait, 100
 *     ms at most, and a connection gone takes its own with it; another
 *     live in has one waiting nearly always.  So when some are waiting, in
 *     looks again for up to a second, and any still there after 300 ms are
 *     another's.  (One that reads as fast as the stream fills has none
 *     waiting: it is found out by the first sign, at the next gap.)
 * Returns 1 when another client reads it (said), 0 otherwise.
 */
static int js_shared(in_t *t, const jsConsumerInfo *ci, jsOptions *jo)
{
    const char *desc = js_desc_of(ci);
    double start = bridge_now();
    int64_t waiting = ci->NumWaiting;
    int other = js_made_again(t, ci), quick;
    int ours = desc != NULL && strcmp(desc, t->cons_desc) == 0;

    /* The requests waiting are likely in's own (a replaced subscription's)
     * when it made the consumer, or a gone in of this host's: the look
     * ends at the first time none waits.  Otherwise it goes on for the
     * whole second, at the start even when none waits now. */
    quick = ours || js_desc_gone(t, desc);
    if (!t->cons_made && !quick)
        waiting = 1;
    while (!other && waiting > 0 && !bridge_stop && bridge_now() - start < 1.0) {
        struct timespec ts = {0, 100 * 1000000};
        jsConsumerInfo *c = NULL;
        jsErrCode jerr = 0;
        double at;

        nanosleep(&ts, NULL);
        /* The lines go on; not at the start, where a refusal prints
         * none. */
        if (t->cons_made)
            in_tick(t);
        at = bridge_now() - start;
        if (js_GetConsumerInfo(&c, t->js, t->o->stream, t->durable, jo,
                               &jerr) != NATS_OK)
            return 0; /* gone, or no answer: nothing to tell by */
        waiting = c->NumWaiting;
        jsConsumerInfo_Destroy(c);
        if (waiting > 0 && at >= 0.3)
            other = 1;
        else if (waiting <= 0 && !quick)
            waiting = 1; /* looked at again: another may be between two */
    }
    if (other) {
        int theirs = desc != NULL && !ours;

        bridge_err(t->o, "stream %s: consumer %s is read by another client "
                   "too%s%.*s%s: one in per consumer; give each its own "
                   "--durable", t->o->stream, t->durable,
                   theirs ? " (made by " : " (another in?)",
                   theirs ? IN_HOST_MAX + 100 : 0, theirs ? desc : "",
                   theirs ? ")" : "");
    }
    return other;
}

/* (Re)subscribes with the durable consumer made again, so that it hands
 * out the stream's messages in order from `start` (0: right after the old
 * consumer's acknowledgement floor).  A pull consumer hands a restarted in
 * the messages after the ones the killed one had fetched, and those only
 * after their acknowledgement wait: out of order, and dropped as duplicates
 * then; made again, every message not acknowledged comes again, first, in
 * the stream's order.  Nothing is subscribed until the old consumer is
 * known to be gone: one that stayed would go on past its acknowledgement
 * floor.  Requests that a cluster electing a leader, or a server going
 * away, does not answer are made again until a signal (then 0, without a
 * subscription: js_loop sees the signal).  `first`: in's first
 * subscription, where an error that waiting cannot mend (no JetStream, a
 * bad name) ends in with exit 2; later every error is waited out.  A
 * stream made again (removed, then made by a new out) numbers its messages
 * from 1 again: one whose creation time is not the one known, and whose
 * message before `start` is not the last item taken (js_same_place), is
 * read from its first message; a place in a stream whose creation time is
 * known is used only once the stream answers.  Returns 0 or the exit
 * status. */
static int js_subscribe(in_t *t, uint64_t start, int first)
{
    const bridge_opts_t *o = t->o;
    jsConsumerInfo *ci = NULL;
    jsStreamInfo *si = NULL;
    jsSubOptions so;
    jsOptions jo;
    jsErrCode jerr;
    natsStatus s;
    /* Each kind of failure said once (the consumer, the stream, the
     * subscription). */
    int said_cons = 0, said_look = 0, said_sub = 0, said_stream = 0;

    if (t->sub != NULL) {
        if (t->nretired == IN_RETIRED_MAX) {
            /* The oldest, long replaced: no message comes for it now. */
            natsSubscription_Destroy(t->retired[0]);
            memmove(t->retired, t->retired + 1,
                    (IN_RETIRED_MAX - 1) * sizeof t->retired[0]);
            t->nretired--;
        }
        t->retired[t->nretired++] = t->sub;
        t->sub = NULL;
    }
    jsOptions_Init(&jo);
    jo.Wait = 2000;
look:
    for (;;) {
        jerr = 0;
        s = js_GetConsumerInfo(&ci, t->js, o->stream, t->durable, &jo, &jerr);
        if (s == NATS_OK && js_shared(t, ci, &jo)) {
            jsConsumerInfo_Destroy(ci);
            /* At the start a bad argument (nothing made yet); later an
             * error after start, with the statistics. */
            return first ? BRIDGE_EXIT_USAGE : BRIDGE_EXIT_ERR;
        }
        if (start == 0 && (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr))
            start = 1; /* a consumer looked at again is not its floor */
        if (s == NATS_OK) {
            if (start == 0)
                start = bridge_js_floor(ci) + 1;
            jsConsumerInfo_Destroy(ci);
            ci = NULL;
            jerr = 0;
            s = js_DeleteConsumer(t->js, o->stream, t->durable, &jo, &jerr);
        }
        /* Gone (or never made, or no stream yet: waited for below). */
        if (s == NATS_OK || s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr ||
            jerr == JSStreamNotFoundErr)
            break;
        if (bridge_stop)
            return 0;
        if (first && !bridge_js_transient(s, jerr)) {
            bridge_err(o, "stream %s, consumer %s: %s", o->stream, t->durable,
                       bridge_nats_err(s));
            return BRIDGE_EXIT_USAGE;
        }
        bridge_js_pause(o, &said_cons, t->durable, s);
        in_tick(t);
    }
    for (;;) {
        int64_t created = 0;

        /* Read from its first message, a stream made again: the items
         * in the ring already are dropped by number (the place). */
        jerr = 0;
        s = js_GetStreamInfo(&si, t->js, o->stream, &jo, &jerr);
        if (s == NATS_OK)
            created = si->Created;
        else if (jerr == JSStreamNotFoundErr)
            s = NATS_NOT_FOUND;
        jsStreamInfo_Destroy(si);
        si = NULL;
        if (s == NATS_OK && created != 0 && t->stream_created != 0 &&
            created != t->stream_created && start > 1) {
            if (js_same_place(t, start - 1, &jo)) {
                t->stream_created = created; /* the same, its time changed */
            } else {
                bridge_err(o, "stream %s was made again: reading it from its "
                           "first message", o->stream);
                start = 1;
            }
        }
        /* From a place of a stream known before, only once the stream is
         * known to be that one (a cluster electing the new stream's
         * leader does not answer). */
        if (s != NATS_OK && s != NATS_NOT_FOUND && start > 1 &&
            t->stream_created != 0) {
            if (bridge_stop)
                return 0;
            bridge_js_pause(o, &said_look, o->stream, s);
            in_tick(t);
            continue;
        }
        jsSubOptions_Init(&so);
        so.Stream = o->stream;
        if (start > 1) {
            so.Config.DeliverPolicy = js_DeliverByStartSequence;
            so.Config.OptStartSeq = start;
        }
        so.Config.Description = t->cons_desc;
        so.Config.AckPolicy = js_AckAll;
        so.Config.MaxAckPending = 4 * JS_BATCH;
        so.Config.AckWait = INT64_C(30) * 1000000000;
        /* Not there: not subscribed (between the two requests it could
         * be made, and read from a place of the old one). */
        if (s != NATS_NOT_FOUND) {
            jerr = 0;
            s = js_PullSubscribe(&t->sub, t->js, o->subject, t->durable, &jo,
                                 &so, &jerr);
        }
        if (s == NATS_OK) {
            if (created != 0)
                t->stream_created = created;
            t->cons_made = 1;
            js_desc_check(t, &jo);
            break;
        }
        if (bridge_stop)
            return 0;
        if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
            /* The stream is out's to make: waited for, said once. */
            if (!said_stream)
                bridge_err(o, "stream %s: not there yet, waiting for out to "
                           "make it", o->stream);
            said_stream = 1;
            bridge_js_pause(o, &said_stream, o->stream, s);
        } else if (js_GetConsumerInfo(&ci, t->js, o->stream, t->durable, &jo,
                                      NULL) == NATS_OK) {
            /* There again: made by another client between in's two
             * requests (with another start, or another description). */
            jsConsumerInfo_Destroy(ci);
            ci = NULL;
            bridge_js_pause(o, &said_sub, t->durable, s);
            in_tick(t);
            goto look;
        } else if (first && !bridge_js_transient(s, jerr)) {
            bridge_err(o, "stream %s, consumer %s: %s", o->stream, t->durable,
                       bridge_nats_err(s));
            return BRIDGE_EXIT_USAGE;
        } else {
            bridge_js_pause(o, &said_sub, t->durable, s);
        }
        in_tick(t);
    }
    t->have_sseq = 0;
    t->sub_start = start > 1 ? start : 1;
    return 0;
}

int in_js_setup(in_t *t)
{
    const bridge_opts_t *o = t->o;
    natsStatus s;

    s = natsConnection_JetStream(&t->js, t->nc, NULL);
    if (s != NATS_OK) {
        bridge_err(o, "JetStream: %s", bridge_nats_err(s));
        return BRIDGE_EXIT_ERR;
    }
    js_desc_make(t);
    if (o->durable != NULL) {
        snprintf(t->durable, sizeof t->durable, "%s", o->durable);
    } else {
        /* scb-RING, with what a consumer name cannot hold made '_'. */
        char *p;

        snprintf(t->durable, sizeof t->durable, "scb-%s", o->ring);
        for (p = t->durable; *p != '\0'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                *p = '_';
    }
    return js_subscribe(t, 0, 1);
}

/* Whether m's item number leaves a gap after the last item taken that
 * out's lost_source does not explain (messages lost on the way). */
static int js_gap(const in_t *t, natsMsg *m)
{
    const char *value;
    bridge_hdr_t h;
    uint64_t gap, dlost;

    if (!t->st.have_seq || natsMsgHeader_Get(m, HDR_NAME, &value) != NATS_OK ||
        value == NULL || bridge_parse_hdr(value, &h) != 0 ||
        h.seq <= t->st.last_seq + 1)
        return 0;
    gap = h.seq - t->st.last_seq - 1;
    dlost = h.run != t->last_run || h.lost < t->last_lost ? h.lost
                                                          : h.lost - t->last_lost;
    return dlost < gap;
}

/*
 * Whether m comes right after the last message taken, in the stream.  A
 * consumer that skips messages has lost them on the way (a fetch answered
 * while its leader was being replaced, and the answer lost): since in
 * acknowledges all before the last message of a batch (AckAll), they would
 * never come again.  So in stops the batch there, and subscribes again from
 * the first one missing.  A stream sequence further on is not enough to
 * tell: the stream may hold other subjects' messages in between, or no
 * longer hold ours (its limits); so only when m's item number also leaves
 * a gap that out's lost_source does not explain (js_gap).  The first
 * message of a subscription is checked against where it starts, while the
 * stream still holds that message: a few times at most, after which what
 * is missing is lost_upstream.  Returns 1 when m can be taken, 0 when in
 * must subscribe again (once the batch's messages are destroyed: they
 * belong to the subscription) from last_sseq + 1.
 */
static int js_in_order(in_t *t, natsMsg *m)
{
    jsMsgMetaData *meta = NULL;
    uint64_t sseq;

    if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
        return 1; /* not from a consumer: in_take() judges it */
    sseq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    if (t->have_sseq && sseq != t->last_sseq + 1 &&
        (sseq <= t->last_sseq || js_gap(t, m))) {
        bridge_err(t->o, "stream %s: message %" PRIu64 " came after %"
                   PRIu64 ": subscribing again from %" PRIu64, t->o->stream,
                   sseq, t->last_sseq, t->last_sseq + 1);
        return 0;
    }
    if (!t->have_sseq && sseq > t->sub_start && t->sub_checks < 3 && js_gap(t, m)) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        uint64_t first = 0;

        if (js_GetStreamInfo(&si, t->js, t->o->stream, NULL, &jerr) == NATS_OK)
            first = si->State.FirstSeq;
        jsStreamInfo_Destroy(si);
        if (first <= t->sub_start) {
            bridge_err(t->o, "stream %s: message %" PRIu64 " came first, not %"
                       PRIu64 ": subscribing again", t->o->stream, sseq,
                       t->sub_start);
            t->sub_checks++;
            t->last_sseq = t->sub_start - 1;
            return 0;
        }
    }
    t->sub_checks = 0;
    t->last_sseq = sseq;
    t->have_sseq = 1;
    return 1;
}

/* While nothing comes, once a second at most: whether the consumer is
 * still there.  Returns 0 when it is, or it cannot be told, -1 when it was
 * made again (js_subscribe), or the exit status. */
static int js_consumer_gone(in_t *t)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    jsOptions jo;
    natsStatus s;
    double now = bridge_now();
    int rc;

    if (now < t->cons_check)
        return 0;
    t->cons_check = now + 1;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    s = js_GetConsumerInfo(&ci, t->js, t->o->stream, t->durable, &jo, &jerr);
    /* Made again by another client (its description): what in fetches
     * now comes from that one's consumer. */
    if (s == NATS_OK && js_made_again(t, ci)) {
        rc = js_shared(t, ci, &jo);
        jsConsumerInfo_Destroy(ci);
        return rc ? BRIDGE_EXIT_ERR : 0;
    }
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK && t->stream_created == 0)
        js_learn_created(t, &jo);
    if (s == NATS_OK || (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr &&
                         jerr != JSStreamNotFoundErr))
        return 0;
    bridge_err(t->o, "stream %s: consumer %s is gone: making it again from "
               "message %" PRIu64, t->o->stream, t->durable,
               t->have_sseq ? t->last_sseq + 1 : t->sub_start);
    rc = js_subscribe(t, t->have_sseq ? t->last_sseq + 1 : t->sub_start, 0);
    return rc != 0 ? rc : -1;
}

int in_js_loop(in_t *t)
{
    natsMsgList list;
    jsErrCode jerr;
    natsStatus s;
    int rc, i, again, batch, pending;

    while (!bridge_stop) {
        int64_t wait_ms = in_tick(t);

        /* The NATS client up to 3.4 (Debian 12 has 3.4.1) writes past the
         * batch's array when a fetch takes k messages already pending (the
         * rest of an earlier answer) and k is more than the batch minus k:
         * it then asks for more and counts towards the wrong total.  Status
         * messages among the pending ones are not taken, so no batch fits
         * them all; a batch of 1 is always safe, and is used while any
         * message is pending (those fetches ask the server for nothing). */
        batch = JS_BATCH;
        if (natsSubscription_GetPending(t->sub, &pending, NULL) == NATS_OK &&
            pending > 0)
            batch = 1;
        jerr = 0;
        s = natsSubscription_Fetch(&list, t->sub, batch,
                                   wait_ms < 10 ? 10 : wait_ms, &jerr);
        if (s != NATS_OK || list.Count == 0) {
            /* Nothing: the consumer may be gone (removed by hand, or with
             * its stream): made again, from the message after the last
             * taken. */
            rc = js_consumer_gone(t);
            if (rc < 0)
                continue;
            if (rc > 0)
                return rc;
        }
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
        again = 0;
        for (i = 0; i < list.Count && rc == 0; i++) {
            uint64_t before = t->st.dropped_at_stop;

            if (!js_in_order(t, list.Msgs[i])) {
                again = 1; /* this one and the rest come again */
                break;
            }
            rc = in_take(t, list.Msgs[i]);
            if (t->st.dropped_at_stop != before) {
                /* Stopped with the ring full: this one and what follows
                 * are not acknowledged, and come again. */
                t->st.dropped_at_stop += (uint64_t)(list.Count - i - 1);
                break;
            }
        }
        /* After the batch's pushes: AckAll acknowledges all before it. */
        if (rc == 0 && i > 0)
            natsMsg_Ack(list.Msgs[i - 1], NULL);
        natsMsgList_Destroy(&list);
        if (rc == 0 && again)
            rc = js_subscribe(t, t->last_sseq + 1, 0);
        if (rc != 0)
            return rc;
    }
    return BRIDGE_EXIT_OK;
}
