/*
 * out_js_setup.c - scb bridge out onto a JetStream stream: at the start,
 * the stream (made when it is not there, or judged when it is) and where
 * a restarted out goes on from (out_js.c sends).
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
int out_subject_matches(const char *p, const char *s)
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

        if (p != NULL && out_subject_matches(p, subject))
            takes = 1;
        if (p == NULL || strcmp(p, subject) != 0)
            others = 1;
    }
    return !takes ? 0 : others ? 2 : 1;
}

/* The guard's name: RING.bridge-out.STREAM. */
#define GUARD_INFIX ".bridge-out."
/* Seconds between two looks at the guard's name while out runs. */
#define GUARD_CHECK_S 0.25
/* ... after one that failed (the name leads to a ring out cannot open). */
#define GUARD_RETRY_S 5.0

/* Holds the guard `name` as its writer, made when it is not there
 * (*made).  A refused out removes the one it made (bridge_out): between
 * the two calls, or while this one took it, it can be gone. */
static int guard_take(scb_t **g, int *made, const char *name, scb_config_t *cfg)
{
    int rc;

    for (int tries = 0;; tries++) {
        cfg->flags = 0;
        rc = scb_create(g, name, cfg);
        *made = rc == SCB_OK;
        if (rc == SCB_EEXIST) {
            cfg->flags = SCB_WRITER;
            rc = scb_open(g, name, cfg);
        }
        if (rc == SCB_OK && scb_check_name(*g) == SCB_ENOENT) {
            scb_close(*g);
            *g = NULL;
            rc = SCB_ENOENT;
        }
        if (rc != SCB_ENOENT || tries == 4)
            return rc;
    }
}

/* The process of the live writer of the ring `name` (0: none, or not
 * known), through an observer. */
static int64_t guard_holder(const char *name, scb_config_t *cfg)
{
    scb_info_t gi;
    scb_t *r;

    gi.writer_pid = 0;
    cfg->flags = SCB_OBSERVE;
    if (scb_open(&r, name, cfg) == SCB_OK) {
        if (scb_info(r, &gi) != SCB_OK)
            gi.writer_pid = 0;
        scb_close(r);
    }
    return gi.writer_pid;
}

/*
 * One out of a ring on a stream at a time.  Two would each
 * take the stream's last message for their own (the ids and bytes are the
 * same): one that started while the other's messages were on their way
 * reads the ring from an item the stream does not hold yet, its messages
 * go in before the other's, and the other, told that the stream holds a
 * later item than it sent, drops the items in between as stored.  So out
 * holds the ring RING.bridge-out.STREAM beside the ring (same backend,
 * same mode) as its writer while it runs: libscb lets one live writer hold
 * a ring, and a new one take it over from a writer that died.  It is kept
 * at exit (removed, another out could have opened it the moment before
 * and a third make a new one beside it), except by an out refused (exit
 * 2) that made it: removed while still held, so that none takes it over.
 * One ring only: rings of the same name on two hosts, or in two backends,
 * publishing on one stream are not told apart (README).  Returns 0 or the
 * exit status.
 */
static int js_guard(out_t *t)
{
    const bridge_opts_t *o = t->o;
    char name[SCB_NAME_MAX + 1];
    scb_config_t cfg;
    int rc;

    scb_config_init(&cfg);
    cfg.backend = t->info.backend;
    cfg.mode = t->info.mode;
    if (strlen(o->ring) + strlen(GUARD_INFIX) + strlen(o->stream) > SCB_NAME_MAX) {
        rc = SCB_ENAMETOOLONG;
    } else {
        snprintf(name, sizeof name, "%s" GUARD_INFIX "%s", o->ring, o->stream);
        rc = guard_take(&t->guard, &t->guard_made, name, &cfg);
    }
    if (rc == SCB_ENAMETOOLONG || rc == SCB_EINVAL || rc == SCB_EACCES) {
        /* A name the backend does not take, or another user's guard:
         * out goes on without it, as before there was one. */
        bridge_err(o, "%s: out cannot hold the ring %s" GUARD_INFIX "%s "
                   "(%s), which keeps a second out of the ring off the "
                   "stream: going on without it", o->ring, o->ring,
                   o->stream, scb_strerror(rc));
        t->guard = NULL;
        return 0;
    }
    if (rc == SCB_EBUSY) {
        /* Its writer's process (0: gone meanwhile). */
        int64_t pid = guard_holder(name, &cfg);

        if (pid > 0)
            bridge_err(o, "%s: another out (process %" PRId64 ") publishes "
                       "it on stream %s: one at a time (it holds %s)",
                       o->ring, pid, o->stream, name);
        else
            bridge_err(o, "%s: another out publishes it on stream %s: one "
                       "at a time (it holds %s)", o->ring, o->stream, name);
        return BRIDGE_EXIT_USAGE;
    }
    if (rc != SCB_OK) {
        bridge_err(o, "%s: %s", name, scb_strerror(rc));
        return BRIDGE_EXIT_ERR;
    }
    memcpy(t->guard_name, name, sizeof name);
    t->guard_next = bridge_now() + GUARD_CHECK_S;
    /* Read again now that no other out publishes: one that stopped
     * meanwhile may have published items pushed since the ring was
     * opened (the check of a ring made again below compares them). */
    scb_info(t->r, &t->info);
    return 0;
}

/*
 * The guard removed while out runs (scb rm, by hand) would let a second
 * out start.  So four times a second out looks whether the name still
 * leads to the ring it holds (scb_check_name: an open and a map of the
 * header), and if not holds the ring of that name again, made anew when
 * it is not there, which keeps later outs off.  Found held by another
 * live writer: most likely a second out that started in between.  out
 * then reads nothing for up to a second, trying again four times a
 * second (a second out refused for its arguments or its stream removes
 * the guard it made and exits), and then stops (exit 1) without sending
 * anything again (out_js_finish), leaving the stream to the other.  The
 * two may have lost items or sent some out of order meanwhile: one
 * stopped (SIGSTOP) and resumed still publishes what it had read before
 * its next look (README).
 */
int out_js_guard_check(out_t *t)
{
    const bridge_opts_t *o = t->o;
    scb_config_t cfg;
    scb_t *g = NULL;
    int64_t pid = 0;
    double now, until;
    int rc, made = 0;

    if (t->guard == NULL || (now = bridge_now()) < t->guard_next)
        return 0;
    t->guard_next = now + GUARD_CHECK_S;
    rc = scb_check_name(t->guard);
    if (rc == SCB_OK)
        return 0;
    if (rc != SCB_ENOENT && rc != SCB_EBADFORMAT) {
        /* Cannot look (permission, resources): out keeps the one it holds,
         * says so once, and looks again later. */
        t->guard_next = bridge_now() + GUARD_RETRY_S;
        if (!t->guard_said_look)
            bridge_err(o, "%s: cannot look at the ring %s (%s), which keeps a "
                       "second out of the ring off the stream: going on",
                       o->ring, t->guard_name, scb_strerror(rc));
        t->guard_said_look = 1;
        return 0;
    }
    scb_config_init(&cfg);
    cfg.backend = t->info.backend;
    cfg.mode = t->info.mode;
    until = now + 1.0;
    for (;;) {
        rc = guard_take(&g, &made, t->guard_name, &cfg);
        if (rc == SCB_OK) {
            scb_close(t->guard);
            t->guard = g;
            t->guard_made = made;
            if (!t->guard_said)
                bridge_err(o, "%s: the ring %s was removed or replaced while "
                           "out ran: out holds it again", o->ring,
                           t->guard_name);
            t->guard_said = 1;
            return 0;
        }
        if (rc != SCB_EBUSY) {
            /* Not there for the taking (removed five times over, another
             * user's ring): out keeps the one it holds, says so once, and
             * looks again later. */
            if (!t->guard_said_take)
                bridge_err(o, "%s: cannot hold the ring %s again (%s), which "
                           "keeps a second out of the ring off the stream: "
                           "going on", o->ring, t->guard_name,
                           scb_strerror(rc));
            t->guard_said_take = 1;
            /* Opening what is there can wait (a ring being made, an empty
             * segment): not four times a second. */
            t->guard_next = bridge_now() + GUARD_RETRY_S;
            return 0;
        }
        /* Signals or not: the last look at a stop (out_js_finish) waits
         * too, within its deadline. */
        pid = guard_holder(t->guard_name, &cfg);
        if (bridge_now() >= until)
            break;
        {
            struct timespec ts = {0, (long)(GUARD_CHECK_S * 1e9)};

            nanosleep(&ts, NULL);
        }
    }
    {
        char who[48] = "another process";

        if (pid > 0)
            snprintf(who, sizeof who, "process %" PRId64, pid);
        bridge_err(o, "%s: the ring %s was removed or replaced while out "
                   "ran, and %s holds it now (another out of the ring on "
                   "stream %s?): stopping, one out at a time (items may have "
                   "been lost or sent out of order meanwhile)", o->ring,
                   t->guard_name, who, o->stream);
    }
    t->guard_lost = 1;
    return -1;
}

int out_js_setup(out_t *t)
{
    const bridge_opts_t *o = t->o;
    jsOptions jo;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsMsg *last = NULL;
    natsStatus s;
    int said = 0, rc;

    if ((rc = js_guard(t)) != 0)
        return rc;
    out_js_reap_start();
    if (js_fifo_init(&t->fifo, t->info.item_size) != 0) {
        bridge_err(o, "%s", strerror(ENOMEM));
        return BRIDGE_EXIT_ERR;
    }
    t->msgid_len = (size_t)snprintf(t->msgid, sizeof t->msgid, "%s:", o->ring);
    jsOptions_Init(&jo);
    /* Never reached: the queue fills first. */
    jo.PublishAsync.MaxPending = JS_FIFO_ITEMS;
    jo.PublishAsync.AckHandler = out_js_on_ack;
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
        } else if (s == NATS_OK && si->Config != NULL &&
                   si->Config->Retention != js_LimitsPolicy) {
            /* Messages removed once read or unwanted: out's last message,
             * which says where a restarted out goes on, would be gone. */
            bridge_err(o, "stream %s keeps messages by interest or as a "
                       "work queue: give a stream that keeps them by limits",
                       o->stream);
            jsStreamInfo_Destroy(si);
            return BRIDGE_EXIT_USAGE;
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
        if (s == NATS_OK) {
            t->expect_seq = si->State.LastSeq;
            out_pace_setup(t, si);
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
    if (bridge_stop) {
        natsMsg_Destroy(last); /* NULL unless it came */
        return 0; /* bridge_out stops before it sends anything */
    }
    /* The first message expects the stream's last sequence number as it
     * was then (expect_seq), each next one more. */
    if (s == NATS_OK) {
        t->have_stored = out_js_last_ours(t, last, &t->stored_seq, NULL);
        if (t->have_stored) {
            t->stored_len = (size_t)natsMsg_GetDataLength(last);
            t->stored_data = malloc(t->stored_len + 1);
            if (t->stored_data == NULL) {
                natsMsg_Destroy(last);
                bridge_err(o, "%s", strerror(ENOMEM));
                return BRIDGE_EXIT_ERR;
            }
            if (t->stored_len > 0)
                memcpy(t->stored_data, natsMsg_GetData(last), t->stored_len);
        }
        natsMsg_Destroy(last);
        if (!t->have_stored) {
            /* Another ring's, or none of out's: its number says nothing. */
            bridge_err(o, "stream %s: the last message of %s is not one of "
                       "%s's (its id is not %.*s<number>): give another "
                       "stream or --subject", o->stream, o->subject, o->ring,
                       (int)t->msgid_len, t->msgid);
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

