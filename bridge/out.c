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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

/* The bytes one scb_pop_many takes at most, and the bytes of items that
 * may wait in memory while their sequence numbers are not known. */
#define BATCH_BYTES (256u * 1024u)
#define PENDING_MAX_BYTES (64u * 1024u * 1024u)

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

void out_count(out_t *t, uint64_t seq, uint64_t lost)
{
    if (!t->st.have_seq)
        t->st.first_seq = seq;
    t->st.last_seq = seq;
    t->st.have_seq = 1;
    t->st.lost_source = lost;
}

/*
 * The message that carries the next item (core NATS; JetStream for those
 * that ask for no answer), `len` bytes of it.
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
natsStatus out_msg(out_t *t, natsMsg **m, const void *data, size_t len)
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

void out_hdr(const out_t *t, char *buf, uint64_t seq, uint64_t lost)
{
    char *p = buf;

    memcpy(p, "seq=", 4);
    p = bridge_u64_str(p + 4, seq);
    memcpy(p, " lost=", 6);
    p = bridge_u64_str(p + 6, lost);
    memcpy(p, t->geometry, strlen(t->geometry) + 1);
}

/* Publishes one item as one message (`last`: the last of those read
 * together).  A message the client refuses (its reconnect buffer full
 * while disconnected) is counted in publish_errors: in sees its sequence
 * number missing and counts it in lost_upstream. */
static int publish(out_t *t, const void *data, size_t len, uint64_t seq,
                   uint64_t lost, int last)
{
    natsMsg *m = NULL;
    natsStatus s;
    char hdr[OUT_HDR_MAX];

    if (t->js != NULL)
        return out_js_publish(t, data, len, seq, lost, last);
    out_hdr(t, hdr, seq, lost);
    s = out_msg(t, &m, data, len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_NAME, hdr);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(t->nc, m);
    if (m != t->core)
        natsMsg_Destroy(m);
    out_count(t, seq, lost);
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
                        t->known_lost + t->dropped, k + 1 == n && !t->more) != 0)
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
        size_t at;

        memcpy(&hdr, t->pend.buf + off, 8);
        at = off + 8;
        off = at + (((size_t)hdr + 7) & ~(size_t)7);
        if (publish(t, t->pend.buf + at, (size_t)hdr, seq, t->known_lost + t->dropped,
                    n == 0 && off == t->pend.used && !t->more) != 0)
            return -1;
    }
    t->pend.used = 0;
    t->pend.count = 0;
    for (k = 0; k < n; k++, seq++)
        if (publish(t, items + k * stride, len, seq, t->known_lost + t->dropped,
                    k + 1 == n && !t->more) != 0)
            return -1;
    t->next_seq = pos;
    t->pos_known = 1;
    return 0;
}

int64_t out_stats_tick(out_t *t)
{
    double *next = &t->next_stats;
    int64_t wait_ms = 100;

    if (*next > 0) {
        double now = bridge_now();

        if (now >= *next) {
            bridge_print_stats(t->o, t->nc, &t->st);
            *next += t->o->stats_period;
            if (*next < now)
                *next = now + t->o->stats_period;
        }
        wait_ms = (int64_t)((*next - now) * 1000) + 1;
        if (wait_ms > 100)
            wait_ms = 100;
    }
    return wait_ms;
}

int bridge_out(const bridge_opts_t *o)
{
    /* Static: an acknowledgement handler still running on the client's
     * thread after the destroy calls finds it there (main waits for those
     * threads before the process exits). */
    static out_t t;
    unsigned char *buf = NULL;
    size_t batch, n, len, hdr_max;
    int rc, status = BRIDGE_EXIT_ERR;
    scb_config_t cfg;

    memset(&t, 0, sizeof t);
    t.o = o;

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
    /* The headers take up to 256 bytes; through a stream also two ids
     * (RING:SEQ) and the expectation's name and number. */
    hdr_max = 256 + (o->stream != NULL ? 2 * (strlen(o->ring) + 24) + 96 : 0);
    if ((int64_t)(t.info.item_size + hdr_max) > natsConnection_GetMaxPayload(t.nc)) {
        bridge_err(o, "%s: items of up to %" PRIu32 " bytes and their headers "
                   "(up to %zu bytes) do not fit the server's largest message "
                   "(%" PRId64 " bytes)", o->ring, t.info.item_size, hdr_max,
                   natsConnection_GetMaxPayload(t.nc));
        /* The ring's geometry against the server's: a bad argument (exit
         * 2, no statistics). */
        natsConnection_Destroy(t.nc);
        scb_close(t.r);
        return BRIDGE_EXIT_USAGE;
    }

    batch = t.records ? 1 : BATCH_BYTES / t.info.item_size;
    if (batch == 0)
        batch = 1;
    if (o->stream != NULL && (status = out_js_setup(&t)) != 0)
        goto done;
    status = BRIDGE_EXIT_ERR;

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
        t.next_stats = bridge_now() + o->stats_period;
    while (!bridge_stop) {
        int64_t wait_ms = 100;
        int connected = natsConnection_Status(t.nc) == NATS_CONN_STATUS_CONNECTED;

        if (t.js != NULL) {
            rc = out_js_round(&t);
            if (rc < 0)
                goto done;
            if (rc > 0) {
                /* Sending again: nothing read meanwhile, lines go on. */
                out_stats_tick(&t);
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
            /* More to read at once: this one is not the last (out_js). */
            t.more = rc == SCB_OK && scb_usage(t.r) > 0;
        } else {
            rc = scb_pop_many(t.r, buf, batch, &n);
            len = t.info.item_size;
        }
        if (rc == SCB_OK) {
            if (take(&t, buf, n, len, len) != 0)
                goto done;
            /* A restarted out of a stream counts from the stream's last
             * item instead (out_js_publish). */
            if (!t.have_stored)
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
        wait_ms = out_stats_tick(&t);
        if (rc == SCB_EAGAIN) {
            if (t.js != NULL)
                out_js_idle(&t);
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
    if (t.refused)
        status = BRIDGE_EXIT_USAGE;
    /* Whatever the reason, what was published reaches the server first;
     * unless the server is away: the flush would only wait, and what the
     * client holds is reported as unsent. */
    if (t.js != NULL) {
        out_js_finish(&t, status == BRIDGE_EXIT_OK);
        /* Its last look found another out holding the guard: an error
         * after start, said there. */
        if (t.guard_lost && status == BRIDGE_EXIT_OK)
            status = BRIDGE_EXIT_ERR;
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
    /* A refusal (exit 2: the stream, the geometry) is one line on stderr
     * and no final statistics, as for bad arguments (BRIDGE.md). */
    if (status != BRIDGE_EXIT_USAGE)
        bridge_print_stats(o, t.nc, &t.st);
    free(buf);
    free(t.pend.buf);
    scb_close(t.r);
    /* After the last rounds: a new out starts on what they stored.  A
     * refusal leaves nothing made (BRIDGE.md): the guard it made is
     * removed while still held (out_js_setup.c). */
    if (t.guard != NULL) {
        if (status == BRIDGE_EXIT_USAGE && t.guard_made &&
            scb_check_name(t.guard) == SCB_OK) {
            scb_config_t gc;

            scb_config_init(&gc);
            gc.backend = t.info.backend;
            scb_unlink(t.guard_name, &gc);
        }
        scb_close(t.guard);
    }
    /* Closed first, its reading thread ended: the context's subscription
     * for the answers destroyed while one comes would be used after it is
     * freed (the client reads it from its table unguarded). */
    natsConnection_Close(t.nc);
    jsCtx_Destroy(t.js);
    natsMsg_Destroy(t.core);
    natsConnection_Destroy(t.nc);
    out_js_free(&t);
    return status;
}
