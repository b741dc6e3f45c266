/*
 * out_pace.c - scb bridge out onto the stream of a lossless ring (out_js.c
 * sends; this says when it may).  The stream keeps the ring's limits and
 * discards its oldest message beyond them (BRIDGE.md); a lossless ring's
 * writer waits for its slowest reader instead of overwriting.  So out
 * waits too: it sends no message that would make the stream discard one
 * that a consumer of the stream has not acknowledged (B3), and while it
 * waits it reads no more, and the ring's writer waits for it in turn.
 * Consumers are asked for their acknowledgement floors only when the last
 * answer leaves no room; with none, nothing is waited for (as a lossless
 * ring without live readers), and they are asked again twice a second.
 * A durable consumer is there until it is removed: out waits for one
 * whose in is gone, and says so; and, when that one goes on while another
 * holds out back, says so again (naming the other after 5 s).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

/* The estimated bytes sent, up to the stream sequence number sseq (the
 * latest mark at or below it: never more than were sent). */
static uint64_t pace_bytes_upto(const js_pace_t *p, uint64_t sseq)
{
    uint64_t b = 0;

    for (size_t i = 0; i < p->mn; i++) {
        const js_mark_t *m = &p->marks[(p->mfirst + i) % JS_PACE_MARKS];

        if (m->sseq > sseq)
            break;
        b = m->bytes;
    }
    return b;
}

/* Whether a message of `len` bytes, the stream's next (sseq), leaves every
 * message after the floor in the stream. */
static int pace_fits(const js_pace_t *p, uint64_t sseq, size_t len)
{
    uint64_t ahead;

    if (p->none || sseq <= p->floor + 1)
        return 1; /* the one message after the floor always fits */
    if (p->max_msgs > 0 && sseq - p->floor > p->max_msgs)
        return 0;
    if (p->max_bytes > 0) {
        ahead = p->bytes - p->floor_bytes + len + p->over;
        if (p->floor < p->start_seq)
            ahead += p->start_bytes; /* held from before: at most these */
        if (ahead > p->max_bytes)
            return 0;
    }
    return 1;
}

/* Seconds a consumer no longer listed still counts, at its last floor:
 * in makes its consumer again (deleted, then added at the same floor)
 * when it starts, and the stream must not discard what it had not
 * acknowledged meanwhile. */
#define JS_PACE_GRACE 5.0

/* Consumer `name` listed now with acknowledgement floor `floor`, kept in
 * the table for its grace.  The lowest floor of those listed is taken
 * from the whole list (pace_look); the table matters only for those no
 * longer listed.  It grows with the consumers; out of memory, one listed
 * now with the highest floor makes room (or the new one is not kept):
 * each counts while it is listed, only some lose their grace. */
static void pace_seen(js_pace_t *p, const char *name, uint64_t floor,
                      double now)
{
    js_consumer_t *c = NULL;

    for (int i = 0; i < p->ncons && c == NULL; i++)
        if (strncmp(p->cons[i].name, name, sizeof p->cons[i].name - 1) == 0)
            c = &p->cons[i];
    if (c != NULL && c->seen == now && c->floor < floor)
        return; /* two names alike in their first 63 bytes: the lower */
    if (c == NULL && p->ncons == p->cons_cap) {
        int cap = p->cons_cap ? 2 * p->cons_cap : 16;
        js_consumer_t *more = realloc(p->cons, (size_t)cap * sizeof *more);

        if (more != NULL) {
            p->cons = more;
            p->cons_cap = cap;
        }
    }
    if (c == NULL && p->ncons < p->cons_cap)
        c = &p->cons[p->ncons++];
    if (c == NULL) {
        for (int i = 0; i < p->ncons; i++)
            if (p->cons[i].seen == now &&
                (c == NULL || p->cons[i].floor > c->floor))
                c = &p->cons[i];
        if (c == NULL || c->floor < floor)
            return;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    c->floor = floor;
    c->seen = now;
}

/* The consumers' lowest floor, asked of the stream: of every one listed,
 * and of those listed within JS_PACE_GRACE.  0, or -1 when it cannot be
 * asked now (the last answer stands). */
static int pace_look(out_t *t)
{
    js_pace_t *p = &t->pace;
    jsConsumerInfoList *list = NULL;
    jsErrCode jerr = 0;
    jsOptions jo;
    natsStatus s;
    double now;
    int n = 0, kept = 0;

    jsOptions_Init(&jo);
    jo.Wait = JS_REQ_WAIT;
    s = js_Consumers(&list, t->js, t->o->stream, &jo, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND)
        return -1;
    now = bridge_now();
    for (int i = 0; list != NULL && i < list->Count; i++) {
        const jsConsumerInfo *ci = list->List[i];
        const char *f = ci->Config != NULL ? ci->Config->FilterSubject : NULL;
        const char *name = ci->Name != NULL ? ci->Name : "";
        uint64_t floor = bridge_js_floor(ci);

        if (f != NULL && *f != '\0' && !out_subject_matches(f, t->o->subject))
            continue; /* reads none of these messages */
        if (n++ == 0 || floor < p->floor) {
            p->floor = floor;
            snprintf(p->slowest, sizeof p->slowest, "%s", name);
        }
        pace_seen(p, name, floor, now);
    }
    jsConsumerInfoList_Destroy(list);
    for (int i = 0; i < p->ncons; i++) {
        const js_consumer_t *c = &p->cons[i];

        if (now - c->seen > JS_PACE_GRACE)
            continue; /* gone */
        if (n++ == 0 || c->floor < p->floor) {
            p->floor = c->floor;
            snprintf(p->slowest, sizeof p->slowest, "%s", c->name);
        }
        p->cons[kept++] = *c;
    }
    p->ncons = kept;
    p->none = n == 0;
    if (!p->none) {
        /* Marks at or below the floor: only the latest is needed. */
        while (p->mn > 1 && p->marks[(p->mfirst + 1) % JS_PACE_MARKS].sseq <= p->floor) {
            p->mfirst = (p->mfirst + 1) % JS_PACE_MARKS;
            p->mn--;
        }
        p->floor_bytes = pace_bytes_upto(p, p->floor);
    }
    return 0;
}

/* Whether consumer `name` is (one of) the slowest: listed, at the floor. */
static int pace_holds(const js_pace_t *p, const char *name)
{
    for (int i = 0; i < p->ncons; i++)
        if (strcmp(p->cons[i].name, name) == 0)
            return p->cons[i].floor <= p->floor;
    return 0;
}

/* The consumer out said it waited for goes on, or is gone; `held`: out
 * is still held back, by another. */
static void pace_said_goes_on(const out_t *t, int held)
{
    const js_pace_t *p = &t->pace;
    int listed = 0;

    for (int i = 0; i < p->ncons; i++)
        listed |= strcmp(p->cons[i].name, p->waited) == 0;
    bridge_err(t->o, "%s: consumer %s %s%s", t->o->stream, p->waited,
               listed ? "goes on" : "is gone",
               held ? "; another holds out back" : listed ? "" : ": going on");
}

/* Asks the consumers when the last answer leaves no room, at first at
 * once, then after longer and longer waits (up to 50 ms) while their
 * floor does not move; says so after 5 s. */
int out_pace_ok(out_t *t, size_t len)
{
    js_pace_t *p = &t->pace;
    uint64_t sseq = t->expect_seq + 1, before = p->floor;
    double now;

    if (!p->on)
        return 1;
    if (!p->none && pace_fits(p, sseq, len))
        goto fits;
    now = bridge_now();
    if (now < p->look_at)
        return p->none;
    if (pace_look(t) == 0 && (p->none || p->floor != before))
        p->backoff = 0;
    else
        p->backoff = p->backoff < 0.001 ? 0.001
                     : p->backoff * 2 > 0.05 ? 0.05 : p->backoff * 2;
    p->look_at = now + (p->none ? 0.5 : p->backoff);
    if (pace_fits(p, sseq, len))
        goto fits;
    if (p->said && !pace_holds(p, p->waited)) {
        /* The one named goes on (or is gone), another holds out back:
         * said so now, and that one's name if it does for 5 s. */
        pace_said_goes_on(t, 1);
        p->said = 0;
        p->since = now;
    }
    if (p->since == 0)
        p->since = now;
    else if (!p->said && now - p->since >= 5) {
        bridge_err(t->o, "%s: consumer %s has acknowledged up to message %"
                   PRIu64 " of %" PRIu64 ": waiting for it (the stream of "
                   "a lossless ring loses none that a consumer has not "
                   "acknowledged)", t->o->stream, p->slowest, p->floor,
                   t->expect_seq);
        snprintf(p->waited, sizeof p->waited, "%s", p->slowest);
        p->said = 1;
    }
    return 0;
fits:
    if (p->said)
        pace_said_goes_on(t, 0);
    p->since = 0;
    p->said = 0;
    return 1;
}

/* A message of `len` bytes sent as the stream's next (sseq). */
void out_pace_sent(js_pace_t *p, uint64_t sseq, size_t len)
{
    js_mark_t *last;

    if (!p->on || p->max_bytes == 0)
        return; /* counted in messages only: expect_seq says it all */
    p->bytes += len + p->over;
    last = p->mn > 0 ? &p->marks[(p->mfirst + p->mn - 1) % JS_PACE_MARKS] : NULL;
    if (last != NULL && p->bytes - last->bytes < p->step)
        return; /* within a step of the last mark */
    if (p->mn == JS_PACE_MARKS) {
        /* Only with no consumer to keep them for (a floor keeps at most
         * max_bytes / step of them): the oldest goes. */
        p->mfirst = (p->mfirst + 1) % JS_PACE_MARKS;
        p->mn--;
    }
    last = &p->marks[(p->mfirst + p->mn) % JS_PACE_MARKS];
    last->sseq = sseq;
    last->bytes = p->bytes;
    p->mn++;
}

/* A lossless ring's stream that discards its oldest messages beyond a
 * limit: out waits for its consumers (out_pace_ok). */
void out_pace_setup(out_t *t, const jsStreamInfo *si)
{
    js_pace_t *p = &t->pace;
    const jsStreamConfig *c = si->Config;

    free(p->cons);
    memset(p, 0, sizeof *p);
    if (!t->lossless || c == NULL || c->Retention != js_LimitsPolicy ||
        c->Discard != js_DiscardOld || (c->MaxMsgs <= 0 && c->MaxBytes <= 0))
        return;
    p->on = 1;
    p->max_msgs = c->MaxMsgs > 0 ? (uint64_t)c->MaxMsgs : 0;
    p->max_bytes = c->MaxBytes > 0 ? (uint64_t)c->MaxBytes : 0;
    p->start_seq = si->State.LastSeq;
    p->start_bytes = si->State.Bytes;
    /* More than the stream counts beyond the data: the subject, the
     * headers (Scb, the id, the expectation) and its own record. */
    p->over = strlen(t->o->subject) + OUT_HDR_MAX + 2 * t->msgid_len + 192;
    p->step = p->max_bytes / (JS_PACE_MARKS / 2);
    if (p->step == 0)
        p->step = 1;
}
