/*
 * scb_mp_rec_children.c - the record reader and writer children of the
 * multi-process suite of tests/check_scb, and what goes with them
 * (declared in scb_mp_records.h), shared by scb_mp_records.c,
 * scb_mp_records_crash.c, scb_mp_records_wait.c and
 * scb_mp_records_overrun.c: the state shared with the children, records as
 * a function of their index, and the common steps of the test process.
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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp_records.h"

struct recsh *rsh;

void rec_setup(void)
{
    rsh = mmap(NULL, sizeof *rsh, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(rsh != MAP_FAILED, "mmap of the shared state failed");
    memset(rsh, 0, sizeof *rsh);
}

void rec_teardown(void)
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
size_t rec_len(uint64_t i, uint32_t max)
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
int rec_is(const void *p, size_t len, uint64_t i, uint32_t max)
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
int put_rec(scb_t *w, uint64_t i, uint32_t max, uint8_t *buf)
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

/* Finds the index of the record (p, len) just got, and checks it: see the
 * top of the file.  Returns 1 and sets *idx if it is right. */
int rr_judge(struct rr_state *s, const uint8_t *p, size_t len,
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

void rr_accept(struct rr_state *s, uint64_t idx, int how)
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
int rr_pop(struct rr_state *s, uint8_t *buf, int probe)
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
int rec_reader_main(void *arg)
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

const char *rr_str(int slot)
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

int rec_writer_main(void *arg)
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

void rec_create(uint32_t size, uint64_t length, uint32_t flags)
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
pid_t start_rec_reader(struct rr_opts *o, int slot, int mode,
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

void drop_writer(int h)
{
    int rc = scb_close(hs[h]);

    hs[h] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
}

/* Test process: pushes records next.. of DR_SIZE on hs[h] until
 * SCB_EAGAIN; returns how many went in. */
uint64_t fill_up(int h, uint64_t *next)
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
