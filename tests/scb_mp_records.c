/*
 * scb_mp_records.c - record rings and zero-copy across processes, in the
 * multi-process suite of tests/check_scb (see check_scb_mp.c): forked
 * writers pushing records of mixed lengths (scb_push_record, and
 * scb_reserve/scb_commit with a shorter commit), forked readers checking
 * every byte, length and index (scb_pop_record, scb_peek/scb_release),
 * record readers and writers SIGKILLed, scb_wait across processes,
 * SCB_EOVERRUN, and readers that open while records flow.  The mp_records,
 * mp_records_dead_reader, mp_records_crash, mp_records_wait,
 * mp_records_overrun and mp_records_late_readers tcases.
 *
 * Record i (its index: records pushed into the ring before it) has a
 * length and bytes that are a function of i alone (rec_len, tu_fill): its
 * first min(8, length) bytes are i, little-endian.  A reader that opened
 * before the first push knows the index of every record it gets without
 * trusting the bytes: it is the records it returned before plus scb_lost
 * (semantics 12: returned + lost is exact).  scb_lost also counts, as an
 * estimate, what a lapped reader will skip on its next call (scb.h),
 * judged from the writer's claim; it is exact when scb_usage, read after
 * it, leaves more than what claim can run ahead of head (a reservation and
 * its padding, two spans of the largest record), and an upper bound
 * otherwise.  So every record is checked against the index
 * so derived when it is exact, against the index it carries when it is 8
 * bytes or longer, and otherwise against the lowest index in the bounds
 * that fits its length and bytes.
 *
 * The conventions of check_scb_mp.c apply: children report through a
 * shared mapping and their exit status, every assertion goes through
 * MP_ASSERT, every loop has a deadline.  Writers push for a bounded time
 * as well as a bounded count, so the tcases stay short under sanitizers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp.h"

/* ---- state shared with the children ------------------------------------ */

#define REC_READERS 8

/* What one record reader reports; progress as it reads, the rest at the
 * end. */
struct recstat {
    _Atomic uint64_t progress; /* records returned so far */
    _Atomic uint64_t lost_now; /* scb_lost after the last record */
    uint64_t returned;         /* records returned (a release that said
                                * SCB_EOVERRUN returns nothing) */
    uint64_t lost;             /* scb_lost at the end */
    uint64_t last_idx;         /* index of the last record returned */
    uint64_t exact;            /* records checked against an exact index */
    uint64_t loose;            /* short records checked within bounds only */
    uint64_t overruns;         /* scb_release that said SCB_EOVERRUN */
    uint64_t probes;           /* SCB_EMSGSIZE answers to a short buffer */
    uint64_t bad;              /* wrong bytes, length or index */
    int have_last;
    int finished;
    int timed_out;
};

struct recsh {
    atomic_int wdone;         /* the last writer finished: total is set */
    _Atomic uint64_t total;   /* records pushed in all (scb_info's pushed) */
    atomic_int stop;          /* continuous writers: stop */
    _Atomic uint64_t wpushed; /* continuous writer: records pushed so far */
    /* A child blocked in scb_wait: when it returned and what it said. */
    atomic_int wait_done;
    int wait_rc;
    uint64_t t_call, t_ret;
    struct recstat r[REC_READERS];
};

static struct recsh *rsh;

static void rec_setup(void)
{
    rsh = mmap(NULL, sizeof *rsh, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(rsh != MAP_FAILED, "mmap of the shared state failed");
    memset(rsh, 0, sizeof *rsh);
}

static void rec_teardown(void)
{
    if (rsh != NULL && rsh != MAP_FAILED)
        munmap(rsh, sizeof *rsh);
    rsh = NULL;
}

/* ---- records as a function of their index -------------------------------- */

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finaliser */
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The length of record i in a ring whose largest record is max: a mix of
 * empty, short (under the 8 bytes of the index), largest, nearly largest
 * and any lengths. */
static size_t rec_len(uint64_t i, uint32_t max)
{
    uint64_t h = mix(i);
    uint64_t k = h >> 8;

    switch (h & 7) {
    case 0:
        return 0;
    case 1:
        return (size_t)(1 + k % 7) <= max ? (size_t)(1 + k % 7) : max;
    case 2:
        return max;
    case 3:
        return max - (size_t)(k % (max < 16 ? max + 1 : 16));
    default:
        return (size_t)(k % ((uint64_t)max + 1));
    }
}

/* How record i is written: 0 scb_push_record, 1 scb_reserve of more and
 * scb_commit of its length, 2 a reservation discarded first, then
 * scb_push_record. */
static int rec_path(uint64_t i)
{
    uint64_t h = mix(i ^ UINT64_C(0x5ca1ab1e));

    return (h & 7) < 3 ? 1 : (h & 15) == 3 ? 2 : 0;
}

static uint64_t low_bytes(uint64_t v, size_t len)
{
    return len >= 8 ? v : v & ((UINT64_C(1) << (8 * len)) - 1);
}

/* 1 if (p, len) is record i. */
static int rec_is(const void *p, size_t len, uint64_t i, uint32_t max)
{
    uint64_t s = 0;

    if (len != rec_len(i, max))
        return 0;
    if (len == 0)
        return 1;
    return tu_check(p, len, &s) && s == low_bytes(i, len);
}

/* Pushes record i on w by its path; SCB_OK or what failed (SCB_EAGAIN on a
 * full lossless ring: nothing was published). */
static int put_rec(scb_t *w, uint64_t i, uint32_t max, uint8_t *buf)
{
    size_t len = rec_len(i, max), rlen;
    uint64_t h = mix(i ^ UINT64_C(0xfeed));
    void *p;
    int rc;

    switch (rec_path(i)) {
    case 1:
        rlen = len + (size_t)(h % ((uint64_t)max - len + 1));
        rc = scb_reserve(w, rlen, &p);
        if (rc != SCB_OK)
            return rc;
        /* Bytes past the commit must never be seen: junk there. */
        memset(p, 0xee, rlen);
        tu_fill(p, len, i);
        return scb_commit(w, len);
    case 2:
        rc = scb_reserve(w, (size_t)(h % ((uint64_t)max + 1)), &p);
        if (rc != SCB_OK)
            return rc;
        memset(p, 0xdd, (size_t)(h % ((uint64_t)max + 1)));
        rc = scb_discard(w);
        if (rc != SCB_OK)
            return rc;
        /* fall through */
    default:
        tu_fill(buf, len, i);
        return scb_push_record(w, buf, len);
    }
}

/* ---- the reader child ----------------------------------------------------- */

enum { RR_POP, RR_PEEK, RR_SLOW, RR_MIX };

struct rr_opts {
    int slot;           /* index into rsh->r */
    int mode;           /* RR_* */
    int ready_fd;       /* 'R' once open, 'E' if that failed; -1: none */
    int lossless;       /* a registered reader: scb_lost must stay 0 */
    int late;           /* opens after the first push: see struct rr_state */
    uint32_t oflags;    /* scb_open flags (SCB_LATEST) */
    uint64_t max_items; /* done after this many records (0: when the last
                         * writer is done) */
};

/* What a reader knows while it reads. */
struct rr_state {
    scb_t *r;
    uint32_t max;
    uint64_t length;
    uint64_t returned;
    uint64_t prev; /* index of the last record returned */
    int have_prev;
    struct recstat *st;
    int slot;
    int lossless;
    /* The index of the record the reader started at.  A reader that opened
     * after the first push does not know it (unanchored) until it gets a
     * record of 8 bytes or more while scb_lost is exact; until then it
     * checks records by the index they carry, and short ones not at all. */
    uint64_t base;
    int unanchored;
    char why[320]; /* why the last record judged was wrong */
};

/* Finds the index of the record (p, len) just got, and checks it: see the
 * top of the file.  Returns 1 and sets *idx if it is right. */
static int rr_judge(struct rr_state *s, const uint8_t *p, size_t len,
                    uint64_t *idx, int *how)
{
    uint64_t lost = scb_lost(s->r), usage = scb_usage(s->r), ub, lb, c;
    /* No forecast in lost while the writer's claim has not lapped the
     * reader: claim runs at most one reservation and its padding (two
     * spans of the largest record) ahead of head. */
    int exact = usage + 2 * ((uint64_t)s->max + 24) < s->length;

    if (s->lossless && lost != 0) {
        snprintf(s->why, sizeof s->why,
                 "record reader %d: a registered reader lost %" PRIu64, s->slot,
                 lost);
        return 0;
    }
    if (s->unanchored) {
        uint64_t v = 0;

        *how = 4;
        if (len < 8)
            return 1; /* nothing to check it by yet */
        *how = 3;
        tu_check(p, 8, &v);
        *idx = v;
        if (!rec_is(p, len, v, s->max) || (s->have_prev && v <= s->prev) ||
            (exact && v < s->returned + lost)) {
            snprintf(s->why, sizeof s->why,
                     "record reader %d: a record of %zu bytes that says it is "
                     "record %" PRIu64 " (after %" PRIu64 ", returned %" PRIu64
                     ", lost %" PRIu64 ")",
                     s->slot, len, v, s->have_prev ? s->prev : 0, s->returned,
                     lost);
            return 0;
        }
        if (exact) {
            s->base = v - s->returned - lost;
            s->unanchored = 0;
        }
        return 1;
    }
    ub = s->base + s->returned + lost;
    lb = s->have_prev ? s->prev + 1 : s->base;
    *how = exact ? 0 : 1;
    if (exact) {
        *idx = ub;
    } else if (len >= 8) {
        uint64_t v = 0;

        tu_check(p, 8, &v);
        *idx = v;
    } else {
        /* The lowest index in the bounds that this record can be. */
        for (c = lb; c <= ub && c - lb < (UINT64_C(1) << 22); c++)
            if (rec_is(p, len, c, s->max))
                break;
        *idx = c;
        *how = 2;
    }
    if (*idx < lb || *idx > ub) {
        snprintf(s->why, sizeof s->why,
                 "record reader %d: record of %zu bytes at index %" PRIu64
                 ", expected %" PRIu64 "..%" PRIu64 " (returned %" PRIu64
                 ", lost %" PRIu64 ", usage %" PRIu64 ")",
                 s->slot, len, *idx, lb, ub, s->returned, lost, usage);
        return 0;
    }
    if (!rec_is(p, len, *idx, s->max)) {
        snprintf(s->why, sizeof s->why,
                 "record reader %d: record %" PRIu64 " has %zu bytes "
                 "(expected %zu) or wrong bytes (returned %" PRIu64
                 ", lost %" PRIu64 ")",
                 s->slot, *idx, len, rec_len(*idx, s->max), s->returned, lost);
        return 0;
    }
    return 1;
}

static void rr_accept(struct rr_state *s, uint64_t idx, int how)
{
    if (how != 4) {
        s->prev = idx;
        s->have_prev = 1;
    }
    s->returned++;
    if (how == 0)
        s->st->exact++;
    else if (how == 2)
        s->st->loose++;
    atomic_store_explicit(&s->st->progress, s->returned, memory_order_relaxed);
}

/* One record by scb_pop_record, now and then asking its length first:
 * SCB_OK (judged), SCB_EAGAIN, or a failure code. */
static int rr_pop(struct rr_state *s, uint8_t *buf, int probe)
{
    size_t len = 0, cap = s->max;
    uint64_t idx;
    int rc, how;

    if (probe) {
        rc = scb_pop_record(s->r, NULL, 0, &len);
        if (rc == SCB_EMSGSIZE) {
            s->st->probes++;
            if (len == 0 || len > s->max) {
                say("record reader %d: SCB_EMSGSIZE with length %zu", s->slot,
                    len);
                return SCB_EINVAL;
            }
            cap = len; /* may be too small if it was overwritten since */
        } else if (rc == SCB_OK) {
            if (len != 0) {
                say("record reader %d: a record of %zu bytes in no buffer",
                    s->slot, len);
                return SCB_EINVAL;
            }
            goto got;
        } else {
            return rc;
        }
    }
    rc = scb_pop_record(s->r, buf, cap, &len);
    if (rc == SCB_EMSGSIZE && cap < s->max) {
        s->st->probes++;
        rc = scb_pop_record(s->r, buf, s->max, &len);
    }
    if (rc != SCB_OK)
        return rc;
got:
    if (!rr_judge(s, buf, len, &idx, &how)) {
        say("%s", s->why);
        s->st->bad++;
        return SCB_EINVAL;
    }
    rr_accept(s, idx, how);
    return SCB_OK;
}

/* One record by scb_peek and scb_release: checked in place, and the check
 * counts only if the release vouches for it. */
static int rr_peek(struct rr_state *s)
{
    const void *p, *p2;
    size_t len, len2;
    uint64_t idx = 0;
    int rc, ok, how = 0;

    rc = scb_peek(s->r, &p, &len);
    if (rc != SCB_OK)
        return rc;
    ok = rr_judge(s, p, len, &idx, &how);
    /* Peeking again gives the same record. */
    rc = scb_peek(s->r, &p2, &len2);
    if (rc != SCB_OK || p2 != p || len2 != len) {
        say("record reader %d: a second peek: %s, %p/%zu after %p/%zu", s->slot,
            scb_strerror(rc), p2, len2, p, len);
        s->st->bad++;
        return SCB_EINVAL;
    }
    rc = scb_release(s->r);
    if (rc == SCB_EOVERRUN) {
        s->st->overruns++;
        if (s->lossless) {
            say("record reader %d: SCB_EOVERRUN on a registered reader",
                s->slot);
            s->st->bad++;
            return SCB_EINVAL;
        }
        return SCB_OK;
    }
    if (rc != SCB_OK)
        return rc;
    if (!ok) {
        /* The release vouched for what was read: it was wrong. */
        say("%s (scb_release said SCB_OK)", s->why);
        s->st->bad++;
        return SCB_EINVAL;
    }
    rr_accept(s, idx, how);
    return SCB_OK;
}

/* Reads records until the last writer is done and nothing is left, as
 * o->mode says, and reports in rsh->r[o->slot]. */
static int rec_reader_main(void *arg)
{
    const struct rr_opts *o = arg;
    struct recstat *st = &rsh->r[o->slot];
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS, since_nap = 0;
    struct rr_state s;
    scb_info_t info;
    unsigned idle = 0;
    uint8_t *buf;
    int rc;

    memset(&s, 0, sizeof s);
    c.flags = o->oflags;
    rc = scb_open(&s.r, ring, &c);
    if (rc != SCB_OK) {
        say("record reader %d: scb_open: %s", o->slot, scb_strerror(rc));
        if (o->ready_fd >= 0)
            put_byte(o->ready_fd, 'E');
        return 10;
    }
    scb_info(s.r, &info);
    s.max = info.item_size;
    s.length = info.length;
    s.st = st;
    s.slot = o->slot;
    s.lossless = o->lossless;
    s.unanchored = o->late;
    buf = malloc(s.max + 1);
    if (buf == NULL)
        return 11;
    if (o->ready_fd >= 0)
        put_byte(o->ready_fd, 'R');

    for (;;) {
        int done = atomic_load(&rsh->wdone), peek;

        peek = o->mode == RR_PEEK || (o->mode == RR_MIX && (rnd() & 1));
        if (peek)
            rc = rr_peek(&s);
        else
            rc = rr_pop(&s, buf,
                        (o->mode == RR_POP || o->mode == RR_MIX) &&
                            (rnd() & 3) == 0);
        if (rc == SCB_OK) {
            idle = 0;
            if (o->mode == RR_SLOW && ++since_nap >= 64) {
                /* Naps until the writer overwrote something unread (on an
                 * overwrite ring): this reader is lapped over and over. */
                uint64_t lost0 = scb_lost(s.r), until = now_ns() + 20000000u;

                since_nap = 0;
                tu_sleep_us(200);
                while (!o->lossless && scb_lost(s.r) == lost0 &&
                       now_ns() < until)
                    tu_sleep_us(50);
            }
            if ((s.returned & 1023) == 0 && now_ns() > deadline) {
                st->timed_out = 1;
                break;
            }
            if (o->max_items != 0 && s.returned >= o->max_items)
                break;
            continue;
        }
        if (rc != SCB_EAGAIN) {
            say("record reader %d: %s (returned %" PRIu64 ")", o->slot,
                scb_strerror(rc), s.returned);
            if (st->bad == 0)
                st->bad++;
            break;
        }
        if (done)
            break; /* everything was pushed before this empty call */
        if (now_ns() > deadline) {
            st->timed_out = 1;
            break;
        }
        if (++idle < 16)
            sched_yield();
        else
            tu_sleep_us(20);
    }
    if (s.unanchored && !st->timed_out && st->bad == 0) {
        say("record reader %d: %" PRIu64 " records and not one of 8 bytes "
            "or more while scb_lost was exact",
            o->slot, s.returned);
        st->bad++;
    }
    st->returned = s.returned;
    st->lost = scb_lost(s.r);
    st->last_idx = s.prev;
    st->have_last = s.have_prev;
    st->finished = !st->timed_out && st->bad == 0;
    if (st->timed_out)
        say("record reader %d: deadline passed (returned %" PRIu64 ")", o->slot,
            s.returned);
    scb_close(s.r);
    free(buf);
    return st->bad != 0 ? 1 : st->timed_out ? 3 : 0;
}

static const char *rr_str(int slot)
{
    static char b[4][400];
    static int k;
    const struct recstat *s = &rsh->r[slot];
    char *p = b[k++ & 3];

    snprintf(p, sizeof b[0],
             "record reader %d: returned %" PRIu64 ", lost %" PRIu64
             ", last index %" PRIu64 "%s, %" PRIu64 " checked exactly, %" PRIu64
             " within bounds, %" PRIu64 " overruns, %" PRIu64
             " SCB_EMSGSIZE, bad %" PRIu64 "%s; total pushed %" PRIu64
             "; backend %s, seed %" PRIu64,
             slot, s->returned, s->lost, s->last_idx,
             s->have_last ? "" : " (none)", s->exact, s->loose, s->overruns,
             s->probes, s->bad, s->timed_out ? ", TIMED OUT" : "",
             (uint64_t)atomic_load(&rsh->total), tu_backend, seed);
    return p;
}

/* ---- the writer child ----------------------------------------------------- */

enum { WR_COUNT, WR_LOOP, WR_HALF };

/* mode: WR_COUNT pushes count records or for budget_ms, then is done;
 * WR_LOOP pushes until killed (or rsh->stop); WR_HALF pushes a few records,
 * then opens a reservation, writes half of it, and blocks there. */
struct rw_opts {
    int mode;
    uint64_t count;
    unsigned budget_ms;
    int report_fd;   /* 'O' once the role is taken, 'E' if not, 'H' once
                      * the half reservation is open; -1: none */
    int block_fd;    /* WR_HALF: blocks reading this */
    int retry_ms;    /* retries SCB_EBUSY this long */
    int final;       /* the last writer: sets rsh->total and wdone */
    unsigned nap_us; /* WR_LOOP: sleeps this long every 64 records */
};

static int rec_writer_main(void *arg)
{
    const struct rw_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS, retry_until;
    uint64_t end_ns, i, end;
    scb_info_t info;
    uint8_t *buf;
    scb_t *w;
    int rc;

    c.flags = SCB_WRITER;
    retry_until = now_ns() + (uint64_t)o->retry_ms * 1000000u;
    while ((rc = scb_open(&w, ring, &c)) == SCB_EBUSY && now_ns() < retry_until)
        tu_sleep_us(200);
    if (rc != SCB_OK) {
        say("record writer: scb_open(SCB_WRITER): %s", scb_strerror(rc));
        if (o->report_fd >= 0)
            put_byte(o->report_fd, 'E');
        return 2;
    }
    scb_info(w, &info);
    buf = malloc(info.item_size + 1);
    if (buf == NULL)
        return 11;
    /* The index of the next record: records pushed before it. */
    i = info.pushed;
    end = o->mode == WR_COUNT ? i + o->count : UINT64_MAX;
    end_ns = o->budget_ms ? now_ns() + (uint64_t)o->budget_ms * 1000000u : 0;
    if (o->mode == WR_HALF)
        end = i + (rnd() % 4);
    if (o->report_fd >= 0)
        put_byte(o->report_fd, 'O');

    while (i < end) {
        if ((i & 255) == 0) {
            if (now_ns() > deadline) {
                say("record writer: deadline passed at record %" PRIu64, i);
                return 3;
            }
            if (end_ns != 0 && now_ns() > end_ns)
                break;
            if (o->mode == WR_LOOP && atomic_load(&rsh->stop))
                break;
        }
        rc = put_rec(w, i, info.item_size, buf);
        if (rc == SCB_EAGAIN) {
            /* A full lossless ring: the readers make room. */
            rc = scb_wait(w, 5000);
            if (rc != SCB_OK) {
                say("record writer: scb_wait(5000) for room for record %" PRIu64
                    ": %s",
                    i, scb_strerror(rc));
                return 4;
            }
            continue;
        }
        if (rc != SCB_OK) {
            say("record writer: record %" PRIu64 " (%zu bytes, path %d): %s", i,
                rec_len(i, info.item_size), rec_path(i), scb_strerror(rc));
            return 4;
        }
        i++;
        if (o->mode == WR_LOOP) {
            atomic_store_explicit(&rsh->wpushed, i, memory_order_relaxed);
            if (o->nap_us != 0 && (i & 63) == 0)
                tu_sleep_us(o->nap_us);
        }
    }
    if (o->mode == WR_HALF) {
        size_t len = info.item_size;
        void *p;

        /* Half of the largest record: its first half as record i would
         * have it.  Nothing of it may ever be read. */
        while ((rc = scb_reserve(w, len, &p)) == SCB_EAGAIN)
            if (scb_wait(w, 5000) != SCB_OK)
                break;
        if (rc != SCB_OK) {
            say("record writer: scb_reserve(%zu): %s", len, scb_strerror(rc));
            return 4;
        }
        tu_fill(p, len / 2, i);
        put_byte(o->report_fd, 'H');
        for (;;)
            await_byte(o->block_fd); /* until killed */
    }
    scb_info(w, &info);
    if (info.pushed != i) {
        say("record writer: pushed %" PRIu64 " after record %" PRIu64,
            info.pushed, i - 1);
        return 6;
    }
    if (o->final) {
        atomic_store(&rsh->total, info.pushed);
        atomic_store(&rsh->wdone, 1);
    }
    rc = scb_close(w);
    free(buf);
    return rc == SCB_OK ? 0 : 5;
}

/* ---- common steps of the test process ------------------------------------ */

static void rec_create(uint32_t size, uint64_t length, uint32_t flags)
{
    int rc;

    cfg = tu_cfg(size, length);
    cfg.flags = SCB_RECORDS | flags;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK,
              "scb_create(%s, records of up to %u B in %" PRIu64 " B, %s): %s",
              tu_backend, size, length,
              (flags & SCB_LOSSLESS) ? "lossless" : "overwrite",
              scb_strerror(rc));
}

/* Starts a record reader child and waits until it opened the ring. */
static pid_t start_rec_reader(struct rr_opts *o, int slot, int mode,
                              int lossless)
{
    int fds[2];
    pid_t pid;
    char c = 0;

    mk_pipe(fds);
    memset(o, 0, sizeof *o);
    o->slot = slot;
    o->mode = mode;
    o->ready_fd = fds[1];
    o->lossless = lossless;
    pid = spawn(rec_reader_main, o);
    close(fds[1]);
    read_bytes(fds[0], &c, 1, 10000);
    close(fds[0]);
    MP_ASSERT(c == 'R', "record reader %d did not open the ring (%c)", slot,
              c ? c : '-');
    return pid;
}

static void drop_writer(int h)
{
    int rc = scb_close(hs[h]);

    hs[h] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
}

/* ---- 1. records of mixed lengths, three readers ------------------------- */

struct rec_geom {
    uint32_t size;
    uint64_t length;
};

static const struct rec_geom mix_geoms[] = {{60, 2048}, {1000, 16384}};

/* _i: bit 0 lossless, bit 1 the geometry. */
START_TEST(test_records_mixed)
{
    static const int modes[] = {RR_POP, RR_PEEK, RR_SLOW};
    int lossless = _i & 1, i, st;
    const struct rec_geom *g = &mix_geoms[_i >> 1];
    struct rr_opts ro[3];
    struct rw_opts wo;
    pid_t rp[3], wp;
    uint64_t total, t0 = now_ns();

    rec_create(g->size, g->length, lossless ? SCB_LOSSLESS : 0);
    for (i = 0; i < 3; i++)
        rp[i] = start_rec_reader(&ro[i], i, modes[i], lossless);
    drop_writer(0);

    memset(&wo, 0, sizeof wo);
    wo.mode = WR_COUNT;
    wo.count = UINT64_C(1) << 32;
    wo.budget_ms = 600;
    wo.report_fd = -1;
    wo.final = 1;
    wp = spawn(rec_writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "record writer: %s", st_str(st));
    total = atomic_load(&rsh->total);
    for (i = 0; i < 3; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "%s: %s", st_str(st), rr_str(i));
    }
    if (getenv("SCB_MP_VERBOSE") != NULL) {
        fprintf(stderr,
                "records %s %s %u B in %" PRIu64 " B: %" PRIu64
                " records in %.3f s\n",
                tu_backend, lossless ? "lossless" : "overwrite", g->size,
                g->length, total, (double)(now_ns() - t0) / 1e9);
        for (i = 0; i < 3; i++)
            fprintf(stderr, "  %s\n", rr_str(i));
    }
    MP_ASSERT(total > 1000, "only %" PRIu64 " records pushed", total);
    for (i = 0; i < 3; i++) {
        const struct recstat *s = &rsh->r[i];

        MP_ASSERT(s->finished && s->bad == 0, "%s", rr_str(i));
        MP_ASSERT(s->returned + s->lost == total,
                  "returned + lost != pushed: %s", rr_str(i));
        MP_ASSERT(s->have_last && s->last_idx == total - 1,
                  "the last record never came: %s", rr_str(i));
        if (lossless)
            MP_ASSERT(s->lost == 0 && s->overruns == 0 && s->returned == total,
                      "a registered reader of a lossless ring lost records: "
                      "%s",
                      rr_str(i));
        else if (modes[i] == RR_SLOW)
            MP_ASSERT(s->lost > 0, "the slow reader was never lapped: %s",
                      rr_str(i));
    }
}
END_TEST

/* Empty records from a writer process, and a reader that asks for the next
 * length with scb_pop_record(r, NULL, 0, &len): an empty record fits in no
 * buffer at all, so that call returns it (SCB_OK, length 0); a longer one
 * is SCB_EMSGSIZE with its length.  (Built with -fsanitize=undefined this
 * also checks that the library never hands the NULL buffer to memcpy.) */
START_TEST(test_records_empty_probe)
{
    struct rw_opts wo;
    uint8_t buf[8];
    uint64_t i;
    size_t len;
    pid_t wp;
    int rc, st;

    rec_create(64, 16384, 0); /* room for all 64 */
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    /* 64 records by rec_len and put_rec: seven of them empty, pushed by
     * scb_push_record and by scb_reserve and scb_commit(w, 0). */
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_COUNT;
    wo.count = 64;
    wo.report_fd = -1;
    wo.final = 1;
    wp = spawn(rec_writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    for (i = 0; i < 64; i++) {
        size_t want = rec_len(i, 64);

        len = 12345;
        rc = scb_pop_record(hs[1], NULL, 0, &len);
        if (want == 0) {
            MP_ASSERT(rc == SCB_OK && len == 0,
                      "record %" PRIu64 " (empty): scb_pop_record(r, NULL, 0, "
                      "&len) = %s, len %zu",
                      i, scb_strerror(rc), len);
            continue;
        }
        MP_ASSERT(rc == SCB_EMSGSIZE && len == want,
                  "record %" PRIu64 " (%zu bytes): scb_pop_record(r, NULL, 0, "
                  "&len) = %s, len %zu",
                  i, want, scb_strerror(rc), len);
        if (want <= sizeof buf) {
            rc = scb_pop_record(hs[1], buf, want, &len);
            MP_ASSERT(rc == SCB_OK && rec_is(buf, len, i, 64),
                      "record %" PRIu64 ": %s, %zu bytes", i, scb_strerror(rc),
                      len);
        } else {
            uint8_t big[64];

            rc = scb_pop_record(hs[1], big, sizeof big, &len);
            MP_ASSERT(rc == SCB_OK && rec_is(big, len, i, 64),
                      "record %" PRIu64 ": %s, %zu bytes", i, scb_strerror(rc),
                      len);
        }
    }
    len = 12345;
    rc = scb_pop_record(hs[1], NULL, 0, &len);
    MP_ASSERT(rc == SCB_EAGAIN && len == 0,
              "scb_pop_record(r, NULL, 0, &len) on a drained ring: %s, len %zu",
              scb_strerror(rc), len);
    MP_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
}
END_TEST

/* ---- 2. a dead record reader stops holding a lossless writer back ------- */

/* Bytes a record of n bytes takes at most (spec: 16 bytes of overhead and
 * its length rounded up to 8). */
#define SPAN(n) (16u + (((n) + 7u) & ~7u))
/* Records of DR_SIZE fill the ring of DR_LENGTH bytes exactly: at most
 * DR_MAX of them fit, and at least DR_MIN (semantics 13). */
#define DR_SIZE   56u
#define DR_LENGTH (10u * SPAN(DR_SIZE))
#define DR_MAX    (DR_LENGTH / SPAN(DR_SIZE))
#define DR_MIN    ((DR_LENGTH - 2u * (DR_SIZE + 16u)) / SPAN(DR_SIZE))

struct victim_opts {
    int ready_fd; /* 'R' once registered, 'P' once it peeks */
    int cmd_fd;   /* 'p': peek the next record and hold it */
    int cmd_wfd;  /* the test process's end, closed here */
};

/* A registered record reader that reads nothing, or holds a peek, until
 * it is killed. */
static int victim_main(void *arg)
{
    const struct victim_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    const void *p;
    uint64_t seq = UINT64_MAX;
    size_t len;
    scb_t *r;
    char cmd;
    int rc;

    close(o->cmd_wfd);
    rc = scb_open(&r, ring, &c);
    if (rc != SCB_OK) {
        say("victim: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    put_byte(o->ready_fd, 'R');
    for (;;) {
        ssize_t n = read(o->cmd_fd, &cmd, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (cmd == 'p') {
            rc = scb_peek(r, &p, &len);
            put_byte(o->ready_fd, rc == SCB_OK && len == DR_SIZE &&
                                          tu_check(p, len, &seq) && seq == 0
                                      ? 'P'
                                      : 'E');
        }
    }
    scb_close(r);
    return 0;
}

/* A writer that takes the role over and waits in scb_wait(w, timeout_ms)
 * for room, then pushes record `first`. */
struct waiter_opts {
    int ready_fd;
    int64_t timeout_ms;
    uint64_t first;
};

static int wait_writer_main(void *arg)
{
    const struct waiter_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t until = now_ns() + 2000000000u;
    uint8_t item[DR_SIZE];
    scb_t *w;
    int rc;

    c.flags = SCB_WRITER;
    while ((rc = scb_open(&w, ring, &c)) == SCB_EBUSY && now_ns() < until)
        tu_sleep_us(200);
    if (rc != SCB_OK) {
        say("waiting writer: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    put_byte(o->ready_fd, 'R');
    rsh->t_call = now_ns();
    rc = scb_wait(w, o->timeout_ms);
    rsh->t_ret = now_ns();
    rsh->wait_rc = rc;
    atomic_store(&rsh->wait_done, 1);
    if (rc != SCB_OK) {
        say("waiting writer: scb_wait(%" PRId64 "): %s", o->timeout_ms,
            scb_strerror(rc));
        return 1;
    }
    tu_fill(item, sizeof item, o->first);
    rc = scb_push_record(w, item, sizeof item);
    if (rc != SCB_OK) {
        say("waiting writer: scb_wait said there is room, then "
            "scb_push_record: %s",
            scb_strerror(rc));
        return 2;
    }
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* Test process: pushes records next.. of DR_SIZE on hs[h] until
 * SCB_EAGAIN; returns how many went in. */
static uint64_t fill_up(int h, uint64_t *next)
{
    uint8_t item[DR_SIZE];
    uint64_t n = 0;
    int rc;

    for (;;) {
        tu_fill(item, sizeof item, *next);
        rc = scb_push_record(hs[h], item, sizeof item);
        if (rc == SCB_EAGAIN)
            return n;
        MP_ASSERT(rc == SCB_OK && n < 1000, "push of record %" PRIu64 ": %s",
                  *next, scb_strerror(rc));
        ++*next;
        n++;
    }
}

/* Test process: pops records of DR_SIZE from hs[h], which must be
 * *next.. in order, until none is left; returns how many. */
static uint64_t drain(int h, uint64_t *next)
{
    uint8_t item[DR_SIZE];
    uint64_t n = 0, s;
    size_t len;
    int rc;

    for (;;) {
        rc = scb_pop_record(hs[h], item, sizeof item, &len);
        if (rc == SCB_EAGAIN)
            return n;
        s = UINT64_MAX;
        MP_ASSERT(rc == SCB_OK && len == DR_SIZE && tu_check(item, len, &s) &&
                      s == *next,
                  "pop: %s, %zu bytes, record %" PRIu64 ", expected %" PRIu64,
                  scb_strerror(rc), len, s, *next);
        ++*next;
        n++;
    }
}

/* _i: bit 0: the victim holds a peeked record (else it reads nothing);
 * bit 1: the writer is a child blocked in scb_wait(w, -1) (else the test
 * process retries scb_push_record every ms).  The victim is left a zombie
 * when _i is 1 or 2, and reaped at once otherwise. */
START_TEST(test_records_dead_reader)
{
    int peeking = _i & 1, child_writer = (_i >> 1) & 1;
    int zombie = _i == 1 || _i == 2;
    struct victim_opts vo;
    struct waiter_opts wo;
    uint64_t next = 0, popped = 0, n, t_kill, t_free;
    int rfd[2], cfd[2], st, rc;
    pid_t victim, wp = 0;
    scb_config_t wc;
    char c = 0;
    double dt;

    rec_create(DR_SIZE, DR_LENGTH, SCB_LOSSLESS);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    mk_pipe(rfd);
    mk_pipe(cfd);
    vo.ready_fd = rfd[1];
    vo.cmd_fd = cfd[0];
    vo.cmd_wfd = cfd[1];
    victim = spawn(victim_main, &vo);
    close(cfd[0]);
    read_bytes(rfd[0], &c, 1, 10000);
    MP_ASSERT(c == 'R', "the victim did not open the ring");

    /* Full because of the victim alone. */
    n = fill_up(0, &next);
    MP_ASSERT(n >= DR_MIN && n <= DR_MAX,
              "%" PRIu64 " records of %u bytes fit in %u bytes", n, DR_SIZE,
              DR_LENGTH);
    MP_ASSERT(drain(1, &popped) == n, "the live reader did not get them all");
    if (peeking) {
        c = 0;
        put_byte(cfd[1], 'p');
        read_bytes(rfd[0], &c, 1, 10000);
        MP_ASSERT(c == 'P', "the victim could not peek record 0");
    }
    tu_sleep_us(20000);
    MP_ASSERT(fill_up(0, &next) == 0,
              "the live victim stopped holding the writer back");
    rc = scb_wait(hs[0], 0);
    MP_ASSERT(rc == SCB_ETIMEDOUT, "scb_wait(0) on a full ring: %s",
              scb_strerror(rc));

    if (child_writer) {
        drop_writer(0);
        wo.ready_fd = rfd[1];
        wo.timeout_ms = -1;
        wo.first = next;
        wp = spawn(wait_writer_main, &wo);
        c = 0;
        read_bytes(rfd[0], &c, 1, 10000);
        MP_ASSERT(c == 'R', "the waiting writer did not take the role");
        tu_sleep_us(100000);
        MP_ASSERT(!atomic_load(&rsh->wait_done),
                  "scb_wait of a writer whose ring is full for a live reader "
                  "returned %s",
                  scb_strerror(rsh->wait_rc));
    }

    t_kill = now_ns();
    kill(victim, SIGKILL);
    if (!zombie)
        MP_ASSERT(killed9(kill_reap(victim)), "the victim was not killed");
    if (child_writer) {
        st = reap(wp, 5000);
        MP_ASSERT(exited0(st), "the waiting writer: %s (%s)", st_str(st),
                  atomic_load(&rsh->wait_done) ? scb_strerror(rsh->wait_rc)
                                               : "still waiting after 5 s");
        t_free = rsh->t_ret;
        next++;
        wc = cfg;
        wc.flags = SCB_WRITER;
        rc = scb_open(&hs[0], ring, &wc);
        MP_ASSERT(rc == SCB_OK, "takeover: %s", scb_strerror(rc));
    } else {
        uint8_t item[DR_SIZE];

        tu_fill(item, sizeof item, next);
        while ((rc = scb_push_record(hs[0], item, sizeof item)) == SCB_EAGAIN &&
               now_ns() - t_kill < 3000000000u)
            tu_sleep_us(1000);
        t_free = now_ns();
        MP_ASSERT(rc == SCB_OK, "push after the victim's death: %s",
                  scb_strerror(rc));
        next++;
    }
    dt = ms_between(t_kill, t_free);
    MP_ASSERT(dt < 1000,
              "a %s record reader %s was killed: the writer was free %.1f ms "
              "later",
              zombie ? "zombie" : "reaped",
              peeking ? "holding a peek" : "reading nothing", dt);
    if (zombie) {
        MP_ASSERT(waitpid(victim, &st, WNOHANG) == victim && killed9(st),
                  "the killed victim was not a zombie");
        forget(victim);
    }

    /* The live reader still holds the writer back, and loses nothing. */
    fill_up(0, &next);
    MP_ASSERT(next - popped == n,
              "the live reader has %" PRIu64 " records unread when the "
              "writer stops, expected %" PRIu64,
              next - popped, n);
    MP_ASSERT(drain(1, &popped) == n && popped == next,
              "the live reader got up to record %" PRIu64 " of %" PRIu64,
              popped, next);
    MP_ASSERT(scb_lost(hs[1]) == 0, "the live reader lost %" PRIu64,
              scb_lost(hs[1]));
    close(rfd[0]);
    close(rfd[1]);
    close(cfd[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "dead record reader %s (%s, %s, %s): free after "
                "%.1f ms\n",
                tu_backend, zombie ? "zombie" : "reaped",
                peeking ? "peeking" : "idle",
                child_writer ? "writer in scb_wait" : "writer retrying", dt);
}
END_TEST

/* ---- 3. writers SIGKILLed, a reservation open or not -------------------- */

#define CRASH_ROUNDS 60

/* _i 0: an overwrite ring, 1: a lossless one. */
START_TEST(test_records_crash)
{
    int lossless = _i, i, st, rc, prev_how = 0, fds[2], blk[2];
    unsigned halves = 0, loops = 0, blind = 0;
    struct rr_opts ro[3];
    struct rw_opts wo;
    pid_t rp[3], wp, pending = 0;
    uint64_t total, t0 = now_ns();
    char c;

    rec_create(200, 4096, lossless ? SCB_LOSSLESS : 0);
    rp[0] = start_rec_reader(&ro[0], 0, RR_POP, lossless);
    rp[1] = start_rec_reader(&ro[1], 1, RR_MIX, lossless);
    /* Lapped over and over (overwrite), or holding the writers back so
     * that some are killed while they wait for room (lossless). */
    rp[2] = start_rec_reader(&ro[2], 2, RR_SLOW, lossless);
    drop_writer(0);
    mk_pipe(blk); /* never written: a half writer blocks on it */

    for (i = 0; i < CRASH_ROUNDS; i++) {
        int how = i % 3, half = i % 4 == 1, is_blind = !half && i % 10 == 9;

        mk_pipe(fds);
        memset(&wo, 0, sizeof wo);
        wo.mode = half ? WR_HALF : WR_LOOP;
        wo.report_fd = fds[1];
        wo.block_fd = blk[0];
        /* Only a writer killed a moment ago may take up to 1 s to be seen
         * dead. */
        wo.retry_ms = prev_how == 2 ? 1000 : 0;
        wp = spawn(rec_writer_main, &wo);
        close(fds[1]);
        c = 0;
        if (is_blind) {
            /* Killed whatever it is doing, even opening. */
            blind++;
            tu_sleep_us((unsigned)(rnd() % 2000));
        } else {
            read_bytes(fds[0], &c, 1, 5000);
            MP_ASSERT(c == 'O',
                      "round %d: the writer could not take over "
                      "(%c)",
                      i, c ? c : '-');
            if (half) {
                c = 0;
                read_bytes(fds[0], &c, 1, 5000);
                MP_ASSERT(c == 'H',
                          "round %d: the writer did not open its "
                          "half written reservation (%c)",
                          i, c ? c : '-');
                halves++;
            } else {
                loops++;
                tu_sleep_us((unsigned)(rnd() % 3000));
            }
        }
        kill(wp, SIGKILL);
        if (pending != 0) {
            st = reap(pending, REAP_MS);
            MP_ASSERT(killed9(st), "round %d: a killed writer: %s", i,
                      st_str(st));
            pending = 0;
        }
        if (is_blind) {
            c = 0;
            read_bytes(fds[0], &c, 1, 0);
            MP_ASSERT(c != 'E', "round %d: the writer could not take over", i);
        }
        close(fds[0]);
        if (how == 0) {
            st = reap(wp, REAP_MS);
            MP_ASSERT(killed9(st), "round %d: the writer: %s", i, st_str(st));
        } else {
            if (how == 1) {
                siginfo_t si;

                while (waitid(P_PID, (id_t)wp, &si, WEXITED | WNOWAIT) < 0 &&
                       errno == EINTR)
                    ;
            }
            pending = wp;
        }
        prev_how = how;
        MP_ASSERT(!rsh->r[0].finished && !rsh->r[1].finished &&
                      !rsh->r[2].finished,
                  "round %d: a reader stopped early: %s; %s; %s", i, rr_str(0),
                  rr_str(1), rr_str(2));
    }
    if (pending != 0) {
        st = reap(pending, REAP_MS);
        MP_ASSERT(killed9(st), "the last killed writer: %s", st_str(st));
    }

    /* A clean writer takes over and carries on. */
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_COUNT;
    wo.count = 500;
    wo.report_fd = -1;
    wo.retry_ms = 1000;
    wo.final = 1;
    wp = spawn(rec_writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the clean writer: %s", st_str(st));
    total = atomic_load(&rsh->total);
    for (i = 0; i < 3; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "%s: %s", st_str(st), rr_str(i));
    }
    close(blk[0]);
    close(blk[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record crash %s %s: %d rounds (%u half reservations, "
                "%u in a push loop, %u blind) in %.3f s, %" PRIu64
                " pushed\n  %s\n  %s\n  %s\n",
                tu_backend, lossless ? "lossless" : "overwrite", CRASH_ROUNDS,
                halves, loops, blind, (double)(now_ns() - t0) / 1e9, total,
                rr_str(0), rr_str(1), rr_str(2));
    for (i = 0; i < 3; i++) {
        const struct recstat *s = &rsh->r[i];

        MP_ASSERT(s->finished && s->bad == 0, "%s", rr_str(i));
        MP_ASSERT(s->returned + s->lost == total,
                  "returned + lost != pushed: %s", rr_str(i));
        MP_ASSERT(s->have_last && s->last_idx == total - 1,
                  "the last record never came: %s", rr_str(i));
        if (lossless)
            MP_ASSERT(s->lost == 0,
                      "a registered reader of a lossless ring lost records "
                      "to writers killed: %s",
                      rr_str(i));
    }
    (void)rc;
}
END_TEST

/* ---- 4. scb_wait across processes ---------------------------------------- */

/* The tcases with two rings have a fixture of their own: mp_setup names
 * one. */
static void rec2_setup(void)
{
    mh_setup(MH_MP, 2);
    rec_setup();
}

static void rec2_teardown(void)
{
    mh_teardown();
    rec_teardown();
}

static void rec_create_k(int k, int h, uint32_t size, uint64_t length,
                         uint32_t flags)
{
    scb_config_t c = tu_cfg(size, length);
    int rc;

    c.flags = SCB_RECORDS | flags;
    rc = scb_create(&hs[h], rings[k], &c);
    MP_ASSERT(rc == SCB_OK, "scb_create(%s, ring %d): %s", tu_backend, k,
              scb_strerror(rc));
}

static int open_k(int k, uint32_t flags, scb_t **out)
{
    scb_config_t c = tu_cfg(0, 0);
    uint64_t until = now_ns() + 2000000000u;
    int rc;

    c.flags = flags;
    while ((rc = scb_open(out, rings[k], &c)) == SCB_EBUSY &&
           (flags & SCB_WRITER) && now_ns() < until)
        tu_sleep_us(200);
    return rc;
}

/* Takes the next record from r, by scb_pop_record or scb_peek and
 * scb_release as `peek` says, and checks that it is record i.  Returns
 * SCB_OK, or what failed (SCB_EINVAL for a wrong record). */
static int take_rec(scb_t *r, uint64_t i, uint32_t max, uint8_t *buf, int peek,
                    char *why, size_t why_size)
{
    const void *p;
    size_t len;
    int rc, ok;

    if (peek) {
        rc = scb_peek(r, &p, &len);
        if (rc != SCB_OK) {
            snprintf(why, why_size, "scb_peek: %s", scb_strerror(rc));
            return rc;
        }
        ok = rec_is(p, len, i, max);
        rc = scb_release(r);
        if (rc != SCB_OK) {
            snprintf(why, why_size, "scb_release: %s", scb_strerror(rc));
            return rc;
        }
    } else {
        rc = scb_pop_record(r, buf, max, &len);
        if (rc != SCB_OK) {
            snprintf(why, why_size, "scb_pop_record: %s", scb_strerror(rc));
            return rc;
        }
        ok = rec_is(buf, len, i, max);
    }
    if (!ok) {
        snprintf(why, why_size,
                 "a record of %zu bytes that is not record "
                 "%" PRIu64 " (%zu bytes)",
                 len, i, rec_len(i, max));
        return SCB_EINVAL;
    }
    return SCB_OK;
}

/* A random short pause, or none. */
static void short_pause(void)
{
    uint64_t r = rnd();

    switch (r & 7) {
    case 0:
        tu_sleep_us((unsigned)((r >> 8) % 200));
        break;
    case 1:
        sched_yield();
        break;
    case 2:
        tu_sleep_us(1000 + (unsigned)((r >> 8) % 1000));
        break;
    default:
        break;
    }
}

struct echo_opts {
    int ready_fd;
    uint64_t n;
};

/* Ping-pong: waits in scb_wait on rings[0] (for ever, or 2 s), takes
 * record i and pushes it back on rings[1], n times. */
static int echo_main(void *arg)
{
    const struct echo_opts *o = arg;
    char why[256];
    scb_info_t info;
    uint8_t *buf;
    uint64_t i;
    scb_t *r, *w;
    int rc;

    rc = open_k(0, 0, &r);
    if (rc == SCB_OK)
        rc = open_k(1, SCB_WRITER, &w);
    if (rc != SCB_OK) {
        say("echo: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    scb_info(r, &info);
    buf = malloc(info.item_size + 1);
    if (buf == NULL)
        return 11;
    put_byte(o->ready_fd, 'R');
    for (i = 0; i < o->n; i++) {
        int64_t timeout = (rnd() & 1) ? -1 : 2000;

        short_pause();
        rc = scb_wait(r, timeout);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": scb_wait(%" PRId64 "): %s", i,
                timeout, scb_strerror(rc));
            return 1;
        }
        rc = take_rec(r, i, info.item_size, buf, (int)(rnd() & 1), why,
                      sizeof why);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": %s", i, why);
            return 2;
        }
        short_pause();
        rc = put_rec(w, i, info.item_size, buf);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": push back: %s", i, scb_strerror(rc));
            return 3;
        }
    }
    if (scb_lost(r) != 0) {
        say("echo: lost %" PRIu64, scb_lost(r));
        return 4;
    }
    scb_close(r);
    return scb_close(w) == SCB_OK ? 0 : 5;
}

#define PP_RECORDS 1000
#define PP_SIZE    200

/* _i 0: overwrite rings, 1: lossless rings. */
START_TEST(test_records_pingpong)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    static uint8_t buf[PP_SIZE];
    struct echo_opts eo;
    uint64_t i, t0 = now_ns(), t;
    double dt, worst = 0;
    int rfd[2], rc, st;
    char why[256], c = 0;
    pid_t pid;

    rec_create_k(0, 0, PP_SIZE, 2048, flags); /* ping */
    rec_create_k(1, 1, PP_SIZE, 2048, flags); /* pong */
    rc = open_k(1, 0, &hs[2]);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(1);
    mk_pipe(rfd);
    eo.ready_fd = rfd[1];
    eo.n = PP_RECORDS;
    pid = spawn(echo_main, &eo);
    read_bytes(rfd[0], &c, 1, 10000);
    MP_ASSERT(c == 'R', "the echo child did not open the rings");

    for (i = 0; i < PP_RECORDS; i++) {
        if ((rnd() & 7) == 0) {
            rc = scb_wait(hs[2], 0);
            MP_ASSERT(rc == SCB_ETIMEDOUT,
                      "round %" PRIu64 ": scb_wait(0) with nothing to read: "
                      "%s",
                      i, scb_strerror(rc));
        }
        short_pause();
        rc = put_rec(hs[0], i, PP_SIZE, buf);
        MP_ASSERT(rc == SCB_OK, "round %" PRIu64 ": push: %s", i,
                  scb_strerror(rc));
        t = now_ns();
        rc = scb_wait(hs[2], 2000);
        dt = ms_since(t);
        MP_ASSERT(rc == SCB_OK,
                  "%s: round %" PRIu64 " of %d: scb_wait(2000): %s after "
                  "%.1f ms (a lost wake-up on one side or the other)",
                  _i ? "lossless" : "overwrite", i, PP_RECORDS,
                  scb_strerror(rc), dt);
        if (dt > worst)
            worst = dt;
        rc =
            take_rec(hs[2], i, PP_SIZE, buf, (int)(rnd() & 1), why, sizeof why);
        MP_ASSERT(rc == SCB_OK, "round %" PRIu64 ": the echo: %s", i, why);
    }
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the echo child: %s", st_str(st));
    rc = scb_wait(hs[2], 0);
    MP_ASSERT(rc == SCB_ETIMEDOUT, "scb_wait(0) on a drained ring: %s",
              scb_strerror(rc));
    MP_ASSERT(scb_lost(hs[2]) == 0, "lost %" PRIu64, scb_lost(hs[2]));
    close(rfd[0]);
    close(rfd[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record ping-pong %s %s: %d rounds in %.3f s, "
                "slowest wait %.2f ms\n",
                tu_backend, _i ? "lossless" : "overwrite", PP_RECORDS,
                (double)(now_ns() - t0) / 1e9, worst);
}
END_TEST

struct room_opts {
    int ready_fd;
    int cmd_fd;
    int cmd_wfd;
};

/* A registered reader that, for each 'g', pauses a little and takes one
 * record of DR_SIZE (the next index); 'q' or end of file ends it. */
static int room_reader_main(void *arg)
{
    const struct room_opts *o = arg;
    uint8_t item[DR_SIZE];
    uint64_t i = 0, s;
    const void *p;
    size_t len;
    scb_t *r;
    char cmd;
    int rc;

    close(o->cmd_wfd);
    rc = open_k(0, 0, &r);
    if (rc != SCB_OK) {
        say("room reader: scb_open: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 10;
    }
    put_byte(o->ready_fd, 'R');
    for (;;) {
        ssize_t n = read(o->cmd_fd, &cmd, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || cmd != 'g')
            break;
        short_pause();
        s = UINT64_MAX;
        if (i & 1) {
            rc = scb_peek(r, &p, &len);
            if (rc == SCB_OK && (len != DR_SIZE || !tu_check(p, len, &s)))
                s = UINT64_MAX;
            if (rc == SCB_OK)
                rc = scb_release(r);
        } else {
            rc = scb_pop_record(r, item, sizeof item, &len);
            if (rc == SCB_OK && (len != DR_SIZE || !tu_check(item, len, &s)))
                s = UINT64_MAX;
        }
        if (rc != SCB_OK || s != i) {
            say("room reader: record %" PRIu64 ": %s, got %" PRIu64, i,
                scb_strerror(rc), s);
            return 1;
        }
        i++;
    }
    if (scb_lost(r) != 0) {
        say("room reader: lost %" PRIu64, scb_lost(r));
        return 2;
    }
    return scb_close(r) == SCB_OK ? 0 : 3;
}

#define ROOM_ROUNDS 300

/* The test process is a lossless writer whose ring is full; a reader
 * process takes one record at a time, and each time the writer, blocked in
 * scb_wait, must be woken and then find room. */
START_TEST(test_records_wait_room)
{
    struct room_opts ro;
    uint64_t next = 0, n, t0 = now_ns(), t;
    int rfd[2], cfd[2], i, rc, st;
    double dt, worst = 0;
    uint8_t item[DR_SIZE];
    char c = 0;
    pid_t pid;

    rec_create_k(0, 0, DR_SIZE, DR_LENGTH, SCB_LOSSLESS);
    mk_pipe(rfd);
    mk_pipe(cfd);
    ro.ready_fd = rfd[1];
    ro.cmd_fd = cfd[0];
    ro.cmd_wfd = cfd[1];
    pid = spawn(room_reader_main, &ro);
    close(cfd[0]);
    read_bytes(rfd[0], &c, 1, 10000);
    MP_ASSERT(c == 'R', "the reader did not open the ring");
    n = fill_up(0, &next);
    MP_ASSERT(n >= DR_MIN && n <= DR_MAX,
              "%" PRIu64 " records of %u bytes fit in %u bytes", n, DR_SIZE,
              DR_LENGTH);
    rc = scb_wait(hs[0], 0);
    MP_ASSERT(rc == SCB_ETIMEDOUT,
              "scb_wait(0) of a full lossless writer: "
              "%s",
              scb_strerror(rc));

    for (i = 0; i < ROOM_ROUNDS; i++) {
        put_byte(cfd[1], 'g');
        t = now_ns();
        rc = scb_wait(hs[0], 2000);
        dt = ms_since(t);
        MP_ASSERT(rc == SCB_OK,
                  "round %d: the writer's scb_wait(2000): %s after %.1f ms "
                  "(the reader released room: a lost wake-up)",
                  i, scb_strerror(rc), dt);
        if (dt > worst)
            worst = dt;
        tu_fill(item, sizeof item, next);
        rc = scb_push_record(hs[0], item, sizeof item);
        MP_ASSERT(rc == SCB_OK,
                  "round %d: scb_wait said there is room, "
                  "then scb_push_record: %s",
                  i, scb_strerror(rc));
        next++;
        /* One record out, one in: full again. */
        MP_ASSERT(fill_up(0, &next) == 0,
                  "round %d: the writer pushed past its reader's unread "
                  "records",
                  i);
    }
    put_byte(cfd[1], 'q');
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the reader: %s", st_str(st));
    close(cfd[1]);
    close(rfd[0]);
    close(rfd[1]);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record wait for room %s: %d rounds in %.3f s, "
                "slowest wait %.2f ms\n",
                tu_backend, ROOM_ROUNDS, (double)(now_ns() - t0) / 1e9, worst);
}
END_TEST

/* ---- 5. SCB_EOVERRUN across processes ------------------------------------ */

struct cw_opts {
    int cmd_fd; /* 8 bytes: how many records to push; 0: close and end */
    int rep_fd; /* 8 bytes: how many it pushed */
};

/* A writer driven by the test process.  On a record ring it pushes records
 * by put_rec; on a fixed-size ring items of item_size made by tu_fill,
 * through scb_push_record and scb_reserve/scb_commit in turn.  A lossless
 * ring's SCB_EAGAIN ends a batch early. */
static int cmd_writer_main(void *arg)
{
    const struct cw_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t n, k, i;
    scb_info_t info;
    uint8_t *buf;
    void *p;
    scb_t *w;
    int rc, fixed;

    c.flags = SCB_WRITER;
    rc = scb_open(&w, ring, &c);
    if (rc != SCB_OK) {
        say("writer: scb_open: %s", scb_strerror(rc));
        return 10;
    }
    scb_info(w, &info);
    fixed = !(info.flags & SCB_RECORDS);
    buf = malloc(info.item_size + 1);
    if (buf == NULL)
        return 11;
    i = info.pushed;
    while (read_bytes(o->cmd_fd, &n, sizeof n, REAP_MS) == sizeof n && n != 0) {
        for (k = 0; k < n; k++, i++) {
            if (!fixed) {
                rc = put_rec(w, i, info.item_size, buf);
            } else if (i & 1) {
                rc = scb_reserve(w, info.item_size, &p);
                if (rc == SCB_OK) {
                    tu_fill(p, info.item_size, i);
                    rc = scb_commit(w, info.item_size);
                }
            } else {
                tu_fill(buf, info.item_size, i);
                rc = scb_push_record(w, buf, info.item_size);
            }
            if (rc == SCB_EAGAIN && (info.flags & SCB_LOSSLESS))
                break;
            if (rc != SCB_OK) {
                say("writer: record %" PRIu64 ": %s", i, scb_strerror(rc));
                return 1;
            }
        }
        if (write(o->rep_fd, &k, sizeof k) != (ssize_t)sizeof k)
            return 2;
    }
    free(buf);
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* Test process: tells the writer to push n records; returns how many it
 * did. */
static uint64_t cw_push(const int cmd[2], const int rep[2], uint64_t n)
{
    uint64_t k = UINT64_MAX;

    MP_ASSERT(write(cmd[1], &n, sizeof n) == (ssize_t)sizeof n, "write: %s",
              strerror(errno));
    MP_ASSERT(read_bytes(rep[0], &k, sizeof k, 10000) == sizeof k,
              "the writer did not push %" PRIu64 " records", n);
    return k;
}

/* A reader in the test process, as the reader children keep one. */
static void rr_init(struct rr_state *s, scb_t *r, int lossless)
{
    scb_info_t info;

    memset(s, 0, sizeof *s);
    scb_info(r, &info);
    s->r = r;
    s->max = info.item_size;
    s->length = info.length;
    s->st = &rsh->r[0];
    s->lossless = lossless;
}

/* Pops every record left; each must be right.  Returns the count. */
static uint64_t rr_drain(struct rr_state *s, uint8_t *buf)
{
    uint64_t n = 0;
    int rc;

    while ((rc = rr_pop(s, buf, (int)(rnd() & 1))) == SCB_OK)
        n++;
    MP_ASSERT(rc == SCB_EAGAIN, "drain: %s: %s", scb_strerror(rc), s->why);
    return n;
}

/* Record rings: a reader peeks record 0 or 1, holds it while the writer
 * process pushes (_i 0: less than a ring, then more than a ring; _i 1:
 * the same on a lossless ring, where the writer must stop instead). */
START_TEST(test_records_overrun)
{
    int lossless = _i, cmd[2], rep[2], rc, st;
    static uint8_t buf[128], copy[128];
    const void *p;
    size_t len, len0;
    struct rr_state s;
    struct cw_opts co;
    uint64_t k, lost;
    scb_info_t info;
    pid_t wp;

    rec_create(100, 1024, lossless ? SCB_LOSSLESS : 0);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    mk_pipe(cmd);
    mk_pipe(rep);
    co.cmd_fd = cmd[0];
    co.rep_fd = rep[1];
    wp = spawn(cmd_writer_main, &co);
    rr_init(&s, hs[1], lossless);

    MP_ASSERT(cw_push(cmd, rep, 3) == 3, "3 records into an empty ring");
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && rec_is(p, len, 0, 100),
              "peek of record 0: %s, %zu bytes", scb_strerror(rc), len);
    /* Records 3 and 4 take at most 232 bytes more: record 0 is intact. */
    MP_ASSERT(cw_push(cmd, rep, 2) == 2, "2 more records");
    MP_ASSERT(rec_is(p, len, 0, 100), "record 0 changed while peeked");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_OK,
              "release of a record the writer did not reach: "
              "%s",
              scb_strerror(rc));
    s.returned = 1;
    s.have_prev = 1;
    s.prev = 0;

    /* Record 1, held while the writer pushes 100 records (1600 bytes at
     * least, over a ring of 1024). */
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && rec_is(p, len, 1, 100),
              "peek of record 1: %s, %zu bytes", scb_strerror(rc), len);
    len0 = len;
    memcpy(copy, p, len);
    lost = scb_lost(hs[1]);
    MP_ASSERT(lost == 0, "lost %" PRIu64 " before the writer lapped", lost);
    k = cw_push(cmd, rep, 100);
    rc = scb_release(hs[1]);
    if (!lossless) {
        MP_ASSERT(k == 100, "the writer pushed %" PRIu64 " of 100", k);
        MP_ASSERT(rc == SCB_EOVERRUN,
                  "release of a record the writer "
                  "process overwrote: %s",
                  scb_strerror(rc));
        MP_ASSERT(scb_lost(hs[1]) >= 1,
                  "the overrun record is not counted "
                  "by scb_lost (%" PRIu64 ")",
                  scb_lost(hs[1]));
    } else {
        MP_ASSERT(k < 100 && k > 0,
                  "a lossless writer pushed %" PRIu64
                  " of 100 records past a reader holding a peek",
                  k);
        MP_ASSERT(rc == SCB_OK,
                  "release of a registered reader's peek in a "
                  "lossless ring: %s",
                  scb_strerror(rc));
        MP_ASSERT(rec_is(copy, len0, 1, 100), "record 1 was wrong");
        s.returned = 2;
        s.prev = 1;
        MP_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
    }
    k = rr_drain(&s, buf);
    scb_info(hs[1], &info);
    MP_ASSERT(s.returned + scb_lost(hs[1]) == info.pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              s.returned, scb_lost(hs[1]), info.pushed);
    MP_ASSERT(s.have_prev && s.prev == info.pushed - 1,
              "the last record returned is %" PRIu64 " of %" PRIu64, s.prev,
              info.pushed);
    if (lossless)
        MP_ASSERT(scb_lost(hs[1]) == 0 && s.returned == info.pushed,
                  "lost %" PRIu64, scb_lost(hs[1]));
    k = 0;
    MP_ASSERT(write(cmd[1], &k, sizeof k) == (ssize_t)sizeof k, "write");
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    close(cmd[0]);
    close(cmd[1]);
    close(rep[0]);
    close(rep[1]);
}
END_TEST

/* The same on a fixed-size ring, where a record is an item. */
START_TEST(test_items_overrun)
{
    int cmd[2], rep[2], rc, st;
    uint8_t item[32];
    const void *p;
    size_t len;
    struct cw_opts co;
    uint64_t s = UINT64_MAX, returned = 1, last = 0;
    scb_info_t info;
    pid_t wp;

    cfg = tu_cfg(sizeof item, 8);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    mk_pipe(cmd);
    mk_pipe(rep);
    co.cmd_fd = cmd[0];
    co.rep_fd = rep[1];
    wp = spawn(cmd_writer_main, &co);

    MP_ASSERT(cw_push(cmd, rep, 3) == 3, "3 items");
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && len == sizeof item && tu_check(p, len, &s) &&
                  s == 0,
              "peek of item 0: %s, %zu bytes, seq %" PRIu64, scb_strerror(rc),
              len, s);
    MP_ASSERT(cw_push(cmd, rep, 5) == 5, "5 more items");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_OK, "release of an item the writer did not reach: %s",
              scb_strerror(rc));
    rc = scb_peek(hs[1], &p, &len);
    MP_ASSERT(rc == SCB_OK && len == sizeof item && tu_check(p, len, &s) &&
                  s == 1,
              "peek of item 1: %s, %zu bytes, seq %" PRIu64, scb_strerror(rc),
              len, s);
    MP_ASSERT(cw_push(cmd, rep, 20) == 20, "20 more items");
    rc = scb_release(hs[1]);
    MP_ASSERT(rc == SCB_EOVERRUN,
              "release of an item the writer process "
              "overwrote: %s",
              scb_strerror(rc));
    MP_ASSERT(scb_lost(hs[1]) >= 1, "the overrun item is not counted");
    for (;;) {
        rc = scb_pop_record(hs[1], item, sizeof item, &len);
        if (rc == SCB_EAGAIN)
            break;
        MP_ASSERT(rc == SCB_OK && len == sizeof item &&
                      tu_check(item, len, &s) && s > last,
                  "pop after the overrun: %s, %zu bytes, seq %" PRIu64
                  " after %" PRIu64,
                  scb_strerror(rc), len, s, last);
        last = s;
        returned++;
    }
    scb_info(hs[1], &info);
    MP_ASSERT(info.pushed == 28 && last == 27,
              "pushed %" PRIu64 ", last item %" PRIu64, info.pushed, last);
    MP_ASSERT(returned + scb_lost(hs[1]) == info.pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              returned, scb_lost(hs[1]), info.pushed);
    s = 0;
    MP_ASSERT(write(cmd[1], &s, sizeof s) == (ssize_t)sizeof s, "write");
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    close(cmd[0]);
    close(cmd[1]);
    close(rep[0]);
    close(rep[1]);
}
END_TEST

#define HOLD_ROUNDS 150

/* A writer process pushes on and on; the reader catches up, then peeks
 * the next record and holds it for no time, a little or long (longer than
 * the writer takes to go round the ring), reads it again at the end and
 * releases it: SCB_OK vouches for what it read, SCB_EOVERRUN throws it
 * away and counts it lost. */
START_TEST(test_records_hold)
{
    static uint8_t buf[128], copy[128];
    uint64_t oks = 0, overruns = 0, pushed;
    struct rr_state s;
    struct rw_opts wo;
    scb_info_t info;
    const void *p;
    size_t len;
    int i, rc, st, ok, how;
    uint64_t idx, until;
    pid_t wp;

    rec_create(100, 16384, 0);
    cfg.flags = 0;
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    drop_writer(0);
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_LOOP;
    wo.report_fd = -1;
    wo.nap_us = 100;
    wp = spawn(rec_writer_main, &wo);
    rr_init(&s, hs[1], 0);

    for (i = 0; i < HOLD_ROUNDS; i++) {
        unsigned hold = (unsigned[]){0, 0, 50, 20000}[rnd() % 4];

        rr_drain(&s, buf);
        until = now_ns() + 5000000000u;
        while ((rc = scb_peek(hs[1], &p, &len)) == SCB_EAGAIN &&
               now_ns() < until)
            tu_sleep_us(20);
        MP_ASSERT(rc == SCB_OK, "round %d: peek: %s", i, scb_strerror(rc));
        if (hold != 0)
            tu_sleep_us(hold);
        /* What is read at the end of the hold is what the release judges. */
        memcpy(copy, p, len <= sizeof copy ? len : sizeof copy);
        ok = len <= s.max && rr_judge(&s, copy, len, &idx, &how);
        rc = scb_release(hs[1]);
        if (rc == SCB_EOVERRUN) {
            overruns++;
            continue;
        }
        MP_ASSERT(rc == SCB_OK, "round %d: release: %s", i, scb_strerror(rc));
        MP_ASSERT(ok,
                  "round %d: scb_release said SCB_OK after a hold of %u "
                  "us: %s",
                  i, hold, s.why);
        rr_accept(&s, idx, how);
        oks++;
    }
    atomic_store(&rsh->stop, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    rr_drain(&s, buf);
    scb_info(hs[1], &info);
    pushed = info.pushed;
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "record hold %s: %d rounds, %" PRIu64 " released "
                "intact, %" PRIu64 " overrun; returned %" PRIu64
                ", lost %" PRIu64 ", pushed %" PRIu64 "\n",
                tu_backend, HOLD_ROUNDS, oks, overruns, s.returned,
                scb_lost(hs[1]), pushed);
    MP_ASSERT(s.returned + scb_lost(hs[1]) == pushed,
              "returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              s.returned, scb_lost(hs[1]), pushed);
    MP_ASSERT(s.have_prev && s.prev == pushed - 1,
              "the last record returned is %" PRIu64 " of %" PRIu64, s.prev,
              pushed);
    MP_ASSERT(oks > 0 && overruns > 0,
              "%" PRIu64 " holds released intact, %" PRIu64 " overrun: the "
              "test did not see both",
              oks, overruns);
    MP_ASSERT(scb_lost(hs[1]) >= overruns,
              "lost %" PRIu64 " < %" PRIu64 " overruns", scb_lost(hs[1]),
              overruns);
}
END_TEST

/* ---- 6. readers that open and close while records flow ----------------- */

#define LATE_READERS  6
#define LATE_SESSIONS 3
#define LATE_RECORDS  2000

/* Opens the ring (now and then with SCB_LATEST), reads LATE_RECORDS
 * records in one of the ways, closes it; three times over. */
static int late_reader_main(void *arg)
{
    static const int modes[] = {RR_POP, RR_PEEK, RR_MIX};
    struct rr_opts o = *(const struct rr_opts *)arg;
    int k, rc;

    for (k = 0; k < LATE_SESSIONS; k++) {
        memset(&rsh->r[o.slot], 0, sizeof rsh->r[o.slot]);
        o.oflags = (rnd() & 1) ? SCB_LATEST : 0;
        o.mode = modes[rnd() % 3];
        rc = rec_reader_main(&o);
        if (rc != 0)
            return rc;
        tu_sleep_us((unsigned)(rnd() % 2000));
    }
    return 0;
}

/* A writer pushes records of mixed lengths on and on, through scb_reserve
 * and scb_commit too; readers open in the midst of it (a registration may
 * meet a reservation open), read, close and open again.  Each reader
 * checks every record from the first it can place on: on a lossless ring
 * a reader loses nothing from its scb_open on.  _i 0: overwrite, 1:
 * lossless. */
START_TEST(test_records_late_readers)
{
    int lossless = _i, fds[2], i, st;
    struct rr_opts ro[LATE_READERS];
    pid_t rp[LATE_READERS], wp;
    struct rw_opts wo;
    uint64_t pushed;
    char c = 0;

    rec_create(300, 8192, lossless ? SCB_LOSSLESS : 0);
    drop_writer(0);
    mk_pipe(fds);
    memset(&wo, 0, sizeof wo);
    wo.mode = WR_LOOP;
    wo.report_fd = fds[1];
    wp = spawn(rec_writer_main, &wo);
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'O', "the writer did not take the role");
    close(fds[0]);
    close(fds[1]);
    tu_sleep_us(2000);
    for (i = 0; i < LATE_READERS; i++) {
        memset(&ro[i], 0, sizeof ro[i]);
        ro[i].slot = i;
        ro[i].ready_fd = -1;
        ro[i].lossless = lossless;
        ro[i].late = 1;
        ro[i].max_items = LATE_RECORDS;
        rp[i] = spawn(late_reader_main, &ro[i]);
    }
    for (i = 0; i < LATE_READERS; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "late reader: %s, %s", st_str(st), rr_str(i));
    }
    atomic_store(&rsh->stop, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    pushed = atomic_load(&rsh->wpushed);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr, "late record readers %s %s: %" PRIu64 " pushed\n  %s\n",
                tu_backend, lossless ? "lossless" : "overwrite", pushed,
                rr_str(0));
    MP_ASSERT(pushed >= LATE_RECORDS, "the writer pushed %" PRIu64, pushed);
}
END_TEST

static TCase *rec2_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_unchecked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_checked_fixture(tc, rec2_setup, rec2_teardown);
    return tc;
}

void tu_mp_add_records(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_records");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_mixed, 0, 4);
    tcase_add_test(tc, test_records_empty_probe);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_records_dead_reader");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_dead_reader, 0, 4);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_records_crash");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_crash, 0, 2);
    suite_add_tcase(s, tc);

    tc = rec2_tcase("mp_records_wait");
    tcase_add_loop_test(tc, test_records_pingpong, 0, 2);
    tcase_add_test(tc, test_records_wait_room);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_records_overrun");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_overrun, 0, 2);
    tcase_add_test(tc, test_items_overrun);
    tcase_add_test(tc, test_records_hold);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_records_late_readers");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_late_readers, 0, 2);
    suite_add_tcase(s, tc);
}
