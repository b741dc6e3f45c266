/*
 * out.c - scb bridge out: reads a local ring as a reader and publishes each
 * item or record, in order, as one NATS message whose headers carry its
 * source sequence number, out's running lost_source count and the ring's
 * geometry (bridge.h).  Public libscb API only; not here: waiting on
 * anything but the ring and the NATS client's own buffering.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* How many items one scb_pop_many takes at most, and the bytes that may
 * wait in memory while out looks for its first sequence number. */
#define BATCH_BYTES (256u * 1024u)
#define PENDING_MAX_BYTES (64u * 1024u * 1024u)

typedef struct pending {
    unsigned char *buf; /* records back to back: length (8 bytes), lost (8), bytes */
    size_t used, cap;
    uint64_t count;     /* records in buf */
} pending_t;

typedef struct out {
    const bridge_opts_t *o;
    scb_t *r;
    scb_info_t info;
    int records;
    natsConnection *nc;
    /* Sequence numbers: item number i read (from 0, counting those read
     * during the start-up below) has seq = base + i + scb_lost() read right
     * after the pop that returned it; see find_base. */
    uint64_t base;
    uint64_t read;
    uint64_t dropped; /* read but given up before publishing (lost_source) */
    char kind[16], size[24], length[24];
    bridge_stats_t st;
} out_t;

/* Decimal digits of v into buf (24 bytes), NUL-terminated. */
static void u64_str(char *buf, uint64_t v)
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
}

/* Publishes one item as one message.  A message the client refuses (its
 * reconnect buffer full while disconnected) is counted in publish_errors:
 * in sees its sequence number missing and counts it in lost_upstream. */
static int publish(out_t *t, const void *data, size_t len, uint64_t seq,
                   uint64_t lost)
{
    natsMsg *m = NULL;
    natsStatus s;
    char seqs[24], losts[24];

    u64_str(seqs, seq);
    u64_str(losts, lost);
    s = natsMsg_Create(&m, t->o->subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_SEQ, seqs);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_LOST, losts);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_KIND, t->kind);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_SIZE, t->size);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_LENGTH, t->length);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(t->nc, m);
    natsMsg_Destroy(m);
    t->st.last_seq = seq;
    t->st.have_seq = 1;
    t->st.lost_source = lost;
    if (s == NATS_OK) {
        t->st.moved++;
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

static int pending_add(out_t *t, pending_t *p, const void *rec, size_t len)
{
    uint64_t hdr[2];

    if (p->used + 16 + len > PENDING_MAX_BYTES) {
        /* The writer never paused long enough: give up what waits (it
         * counts in lost_source, as if the ring had overwritten it). */
        t->dropped += p->count;
        p->used = 0;
        p->count = 0;
    }
    if (p->used + 16 + len > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        unsigned char *nb;

        while (cap < p->used + 16 + len)
            cap *= 2;
        if ((nb = realloc(p->buf, cap)) == NULL)
            return -1;
        p->buf = nb;
        p->cap = cap;
    }
    hdr[0] = len;
    hdr[1] = scb_lost(t->r);
    memcpy(p->buf + p->used, hdr, 16);
    memcpy(p->buf + p->used + 16, rec, len);
    p->used += 16 + ((len + 7) & ~(size_t)7);
    p->count++;
    t->read++;
    return 0;
}

/*
 * The sequence number of the first item out reads.  The public API has no
 * call that gives a reader's position, so it is derived: scb_info's pushed
 * (items ever pushed) and, for this handle, scb_usage (items waiting for it)
 * and scb_lost (those it missed, including the ones its next pop will skip)
 * are read separately, and a running writer may push between the reads.  So
 * pushed is read before and after the other two, and only when both reads
 * agree did the writer push nothing in between: then the next item this
 * reader gets is number pushed - usage (the pending skip included: a
 * lapped reader's usage is the ring's length, and it resumes at the oldest
 * item kept, pushed - length), and the item read as number i has
 * seq = base + i + lost with base = pushed - usage - lost - read.  Items
 * skipped later are counted by scb_lost as they are skipped, and a pop
 * returns items in order after any it skipped, so the formula holds for
 * the whole run.  (The one inexact case: a reader lapped before the reads,
 * while a push is half done, is off by one; it has just lost items, and
 * the error is in the sequence number of the next, not in the data.)
 * On a record ring scb_usage counts bytes, not records, so the reads count
 * only when usage is 0: out reads what waits into memory (up to 64 MiB,
 * beyond which it gives it up as lost_source) until it catches the ring
 * empty, then knows the sequence numbers of what it read.  The same is the
 * fallback when a writer of items pushes between every pair of reads.
 */
static int find_base(out_t *t, pending_t *p)
{
    unsigned char *rec = NULL;
    uint64_t p1, p2, u, l;
    size_t len;
    int tries, rc;

    for (tries = 0; !bridge_stop; tries++) {
        p1 = pushed(t->r);
        u = scb_usage(t->r);
        l = scb_lost(t->r);
        p2 = pushed(t->r);
        if (p1 == p2 && (!t->records || u == 0)) {
            t->base = p1 - u - l - t->read;
            free(rec);
            return 0;
        }
        if (!t->records && tries < 1000) {
            sched_yield();
            continue;
        }
        if (rec == NULL && (rec = malloc(t->info.item_size ? t->info.item_size : 1)) == NULL)
            break;
        /* Read what waits, then look again. */
        for (int k = 0; k < 4096; k++) {
            rc = scb_pop_record(t->r, rec, t->info.item_size, &len);
            if (rc == SCB_EAGAIN)
                break;
            if (rc != SCB_OK) {
                bridge_err(t->o, "%s: %s", t->o->ring, scb_strerror(rc));
                free(rec);
                return -1;
            }
            if (pending_add(t, p, rec, len) != 0)
                goto nomem;
        }
    }
    free(rec);
    return bridge_stop ? 1 : -1;
nomem:
    free(rec);
    bridge_err(t->o, "%s", strerror(ENOMEM));
    return -1;
}

/* Publishes what find_base kept in memory. */
static int publish_pending(out_t *t, pending_t *p)
{
    size_t off = 0;
    uint64_t i = t->read - p->count, hdr[2];

    while (off < p->used) {
        memcpy(hdr, p->buf + off, 16);
        if (publish(t, p->buf + off + 16, (size_t)hdr[0], t->base + i + hdr[1],
                    hdr[1] + t->dropped) != 0)
            return -1;
        off += 16 + (((size_t)hdr[0] + 7) & ~(size_t)7);
        i++;
    }
    p->used = 0;
    p->count = 0;
    return 0;
}

int bridge_out(const bridge_opts_t *o)
{
    out_t t;
    pending_t p = {NULL, 0, 0, 0};
    unsigned char *buf = NULL;
    size_t batch, n, len;
    double next_stats = 0;
    int rc, status = BRIDGE_EXIT_ERR;
    scb_config_t cfg;

    memset(&t, 0, sizeof t);
    t.o = o;
    t.nc = bridge_connect(o);
    if (t.nc == NULL)
        return BRIDGE_EXIT_USAGE;

    /* The ring, as a reader (registered, if it is lossless). */
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
        goto done;
    }
    scb_info(t.r, &t.info);
    t.records = (t.info.flags & SCB_RECORDS) != 0;
    snprintf(t.kind, sizeof t.kind, "%s", t.records ? KIND_RECORDS : KIND_ITEMS);
    u64_str(t.size, t.info.item_size);
    u64_str(t.length, t.info.length);
    if ((int64_t)t.info.item_size + 256 > natsConnection_GetMaxPayload(t.nc)) {
        bridge_err(o, "%s: items of up to %" PRIu32 " bytes do not fit the "
                   "server's largest message (%" PRId64 " bytes)", o->ring,
                   t.info.item_size, natsConnection_GetMaxPayload(t.nc));
        goto done;
    }

    batch = t.records ? 1 : BATCH_BYTES / t.info.item_size;
    if (batch == 0)
        batch = 1;
    buf = malloc(batch * t.info.item_size);
    if (buf == NULL) {
        bridge_err(o, "%s", strerror(ENOMEM));
        goto done;
    }

    rc = find_base(&t, &p);
    if (rc < 0)
        goto done;
    if (rc == 0 && publish_pending(&t, &p) != 0)
        goto done;

    if (o->stats_period > 0)
        next_stats = bridge_now() + o->stats_period;
    while (!bridge_stop) {
        uint64_t lost;
        int64_t wait_ms = 100;

        if (t.records) {
            rc = scb_pop_record(t.r, buf, t.info.item_size, &len);
            n = rc == SCB_OK;
        } else {
            rc = scb_pop_many(t.r, buf, batch, &n);
            len = t.info.item_size;
        }
        if (rc == SCB_OK) {
            lost = scb_lost(t.r);
            for (size_t k = 0; k < n; k++)
                if (publish(&t, buf + k * len, len, t.base + t.read + k + lost,
                            lost + t.dropped) != 0)
                    goto done;
            t.read += n;
            t.st.lost_source = lost + t.dropped;
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
        if (rc == SCB_EAGAIN)
            scb_wait(t.r, wait_ms);
    }
    status = BRIDGE_EXIT_OK;
done:
    /* Whatever the reason, what was published reaches the server first. */
    if (natsConnection_FlushTimeout(t.nc, 5000) != NATS_OK && status == BRIDGE_EXIT_OK)
        bridge_err(o, "flush: %s", natsStatus_GetText(natsConnection_Status(t.nc) ==
                   NATS_CONN_STATUS_CONNECTED ? NATS_TIMEOUT : NATS_CONNECTION_CLOSED));
    bridge_print_stats(o, t.nc, &t.st);
    free(buf);
    free(p.buf);
    scb_close(t.r);
    natsConnection_Destroy(t.nc);
    return status;
}
