/*
 * records.c - the record cases of scb-bench: rings made with SCB_RECORDS,
 * the zero-copy calls, and a pipe carrying the same records; public API
 * only.  Nothing here may wait without a deadline.
 *
 * Throughput, one writer process to one reader process, lossless, set up as
 * the fixed-size cases are (cases.c: the parent creates the ring, the
 * processes open it, the name goes before they start):
 *
 *   REC_SMALL     64-byte records through scb_push_record / scb_pop_record,
 *                 against the fixed-size ring's scb_push / scb_pop at 64 B;
 *   REC_MIXED     records of 8 to 1000 bytes whose lengths follow a fixed
 *                 pseudo-random sequence, against a pipe carrying the same
 *                 records behind a 4-byte length;
 *   REC_ZEROCOPY  64 KiB records the writer fills in place (scb_reserve /
 *                 scb_commit) and the reader checksums in place (scb_peek /
 *                 scb_release), against REC_COPY, the same fill and
 *                 checksum on private buffers around scb_push_record /
 *                 scb_pop_record.
 *
 * What the readers check, so that a broken ring cannot make a good number:
 * every record's sequence number is the next one, in its first and in its
 * last 8 bytes; its length is the one the writer chose for that number;
 * the 64 KiB records are summed whole and the sum must be the one their
 * number implies.  At the end every record pushed must have arrived and
 * scb_lost must be 0.
 *
 * Round trip: as the busy-poll case of cases.c, with 8-byte records
 * through two record rings.
 *
 * The library may not have record rings yet (the calls return
 * SCB_ENOTSUP, or scb_create refuses SCB_RECORDS): the parent asks once per
 * backend, and the cases are then skipped, saying so.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <scb.h>

#include "bench.h"

#define REC_LENGTHS 4096            /* the sequence of REC_MIXED lengths repeats */
#define REC_PREFIX 4                /* the pipe's length prefix */
#define REC_PIPE_BUF 65536          /* the pipe reader's buffer */
#define REC_FILL_MUL 0x9e3779b97f4a7c15ull
#define REC_LAT_RING (64u * (16u + 8u)) /* round trip: 64 records of 8 bytes */

/* REC_MIXED's lengths: the same in every process and every run. */
static uint16_t rec_len_table[REC_LENGTHS];
static uint64_t rec_len_total; /* the sum of one turn of the table */

static void rec_lengths_init(void)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    int i;

    if (rec_len_total != 0)
        return;
    for (i = 0; i < REC_LENGTHS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rec_len_table[i] = (uint16_t)(BENCH_REC_MIN +
                                      x % (BENCH_REC_MAX - BENCH_REC_MIN + 1));
        rec_len_total += rec_len_table[i];
    }
}

/* The length of record `seq` of a case. */
static inline size_t rec_length(enum bench_rec rec, uint64_t seq)
{
    switch (rec) {
    case REC_MIXED: return rec_len_table[seq % REC_LENGTHS];
    case REC_SMALL: return BENCH_REC_SMALL;
    default: return BENCH_REC_BIG;
    }
}

/* Where a record's second copy of its number goes: its last 8 bytes, or
 * its first ones again when the last would overlap them (under 16 bytes). */
static inline size_t rec_tail(size_t len)
{
    return len >= 16 ? len - 8 : 0;
}

/* Small records carry their number in the first and the last 8 bytes; the
 * rest keeps bench_fill's pattern. */
static inline void rec_stamp(unsigned char *p, size_t len, uint64_t seq)
{
    bench_put_seq(p, seq);
    bench_put_seq(p + rec_tail(len), seq);
}

/*
 * The 64 KiB cases' work: the writer fills every 64-bit word (the number
 * first and last, words derived from it between), the reader sums every
 * word and compares the sum with the one the number implies.  p is 8-byte
 * aligned (the ring's records are, and so is malloc's memory).
 */
static void rec_fill(void *p, size_t len, uint64_t seq)
{
    uint64_t *w = p, base = seq * REC_FILL_MUL;
    size_t i, n = len / 8;

    w[0] = seq;
    for (i = 1; i + 1 < n; i++)
        w[i] = base + i;
    w[n - 1] = seq;
}

static uint64_t rec_sum(const void *p, size_t len)
{
    const uint64_t *w = p;
    uint64_t s = 0;
    size_t i, n = len / 8;

    for (i = 0; i < n; i++)
        s += w[i];
    return s;
}

static uint64_t rec_expected_sum(size_t len, uint64_t seq)
{
    uint64_t n = len / 8;

    return 2 * seq + (n - 2) * (seq * REC_FILL_MUL) + (n - 2) * (n - 1) / 2;
}

struct rec_arg {
    struct bench_stream_arg s;
    enum bench_rec rec;
    const char *name;      /* TR_SCB: the ring */
    const char *backend;
    int wfd, rfd;          /* TR_PIPE: the writer's and the reader's end */
};

/* Checks record `expected` of len bytes at p; CHILD_OK or CHILD_FAIL after
 * saying what is wrong. */
static int rec_check(const struct rec_arg *a, int index, const unsigned char *p,
                     size_t len, uint64_t expected)
{
    uint64_t seq = len >= 8 ? bench_get_seq(p) : UINT64_MAX;
    size_t want = rec_length(a->rec, expected);

    if (len != want) {
        bench_child_error(a->s.label, index, "record %" PRIu64 " has %zu bytes, "
                          "expected %zu", expected, len, want);
        return CHILD_FAIL;
    }
    if (seq != expected || bench_get_seq(p + rec_tail(len)) != expected) {
        bench_child_error(a->s.label, index, "record %" PRIu64 " carries the "
                          "numbers %" PRIu64 " (first 8 bytes) and %" PRIu64
                          " (last 8 bytes)", expected, seq,
                          bench_get_seq(p + rec_tail(len)));
        return CHILD_FAIL;
    }
    if ((a->rec == REC_COPY || a->rec == REC_ZEROCOPY) &&
        rec_sum(p, len) != rec_expected_sum(len, expected)) {
        bench_child_error(a->s.label, index, "record %" PRIu64 ": wrong checksum",
                          expected);
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* How often (loop turns, a power of two minus one) a hot loop reads the
 * clock: every turn for big records, about every 256 small ones. */
static unsigned rec_mask(enum bench_rec rec)
{
    return rec == REC_COPY || rec == REC_ZEROCOPY ? 0 : 255;
}

/* Ends a writer's stream: publishes its figures and done. */
static void rec_writer_done(struct bench_ctl *ctl, int index, uint64_t now,
                            uint64_t pushed)
{
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = pushed - atomic_load(&ctl->p0);
    ctl->total = pushed;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
}

/* The writer's periodic checks: 1 when the window is over, 0 to go on, or
 * -(the code to exit with). */
static int rec_writer_tick(struct bench_ctl *ctl, int index, const struct rec_arg *a,
                           uint64_t *t0, uint64_t start, uint64_t limit,
                           uint64_t pushed, uint64_t *now)
{
    *now = bench_now();
    if (bench_window_done(ctl, t0, start, *now, pushed, &a->s))
        return 1;
    if (*now > limit) {
        bench_child_error(a->s.label, index, "deadline passed");
        return -CHILD_TIMEOUT;
    }
    if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
        return -CHILD_ABORT;
    return 0;
}

/* --- through a record ring ------------------------------------------------ */

static int rec_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct rec_arg *a = varg;
    const unsigned mask = rec_mask(a->rec);
    unsigned char *buf;
    uint64_t start, limit, now = 0, t0 = 0, pushed = 0;
    unsigned turn = 0, stalls = 0;
    scb_t *w = NULL;
    const char *call = "scb_push_record";
    size_t len;
    void *p;
    int rc, code, tick;

    if ((buf = malloc(a->s.size)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    bench_fill(buf, a->s.size, 1);
    code = bench_open_ring(&w, a->name, a->backend, SCB_WRITER, a->s.label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;

    start = bench_now();
    limit = start + a->s.limit_ns;
    for (;;) {
        len = rec_length(a->rec, pushed);
        switch (a->rec) {
        case REC_ZEROCOPY:
            call = "scb_reserve";
            rc = scb_reserve(w, len, &p);
            if (rc != SCB_OK)
                break;
            rec_fill(p, len, pushed);
            rc = scb_commit(w, len);
            if (rc != SCB_OK) {
                /* Never SCB_EAGAIN: the room was had at scb_reserve. */
                bench_child_error(a->s.label, index, "scb_commit: %s",
                                  scb_strerror(rc));
                code = CHILD_FAIL;
                goto out;
            }
            break;
        case REC_COPY:
            rec_fill(buf, len, pushed);
            rc = scb_push_record(w, buf, len);
            break;
        default:
            rec_stamp(buf, len, pushed);
            rc = scb_push_record(w, buf, len);
            break;
        }
        if (rc == SCB_OK) {
            pushed++;
        } else if (rc == SCB_EAGAIN) {
            /* Full: the reader holds the writer back. */
            if (a->s.oversubscribed && (++stalls & 63) == 0)
                sched_yield();
        } else {
            bench_child_error(a->s.label, index, "%s: %s", call, scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        if ((++turn & mask) != 0)
            continue;
        tick = rec_writer_tick(ctl, index, a, &t0, start, limit, pushed, &now);
        if (tick < 0) {
            code = -tick;
            goto out;
        }
        if (tick > 0)
            break;
    }
    rec_writer_done(ctl, index, now, pushed);
out:
    scb_close(w);
    free(buf);
    return code;
}

static int rec_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct rec_arg *a = varg;
    const int peek = a->rec == REC_ZEROCOPY;
    unsigned char *buf;
    const unsigned char *p;
    const void *vp;
    uint64_t limit, now, expected = 0, window = 0, bytes = 0, p0, lost;
    unsigned turn = 0, idle = 0;
    int done_seen = 0, rc, code;
    size_t len;
    scb_t *r = NULL;

    if ((buf = malloc(a->s.size)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    code = bench_open_ring(&r, a->name, a->backend, 0, a->s.label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;

    limit = bench_now() + a->s.limit_ns;
    for (;;) {
        if (peek) {
            rc = scb_peek(r, &vp, &len);
            p = vp;
        } else {
            rc = scb_pop_record(r, buf, a->s.size, &len);
            p = buf;
        }
        if (rc == SCB_OK) {
            code = rec_check(a, index, p, len, expected);
            if (code != CHILD_OK)
                goto out;
            if (peek && (rc = scb_release(r)) != SCB_OK) {
                /* Lossless: nothing may overwrite a peeked record. */
                bench_child_error(a->s.label, index, "scb_release: %s",
                                  scb_strerror(rc));
                code = CHILD_FAIL;
                goto out;
            }
            /* Ordered after the pop: a record numbered p0 or later was
             * pushed after p0 was published. */
            p0 = atomic_load_explicit(&ctl->p0, memory_order_relaxed);
            if (expected >= p0) {
                window++;
                bytes += len;
            }
            expected++;
        } else if (rc == SCB_EAGAIN) {
            /* Empty.  Once the writer is done, one more empty pop (after
             * seeing done, so after its last push) means drained. */
            if (done_seen)
                break;
            done_seen = atomic_load_explicit(&ctl->done, memory_order_acquire);
            if (!done_seen && a->s.oversubscribed && (++idle & 63) == 0)
                sched_yield();
        } else {
            bench_child_error(a->s.label, index, "%s: %s",
                              peek ? "scb_peek" : "scb_pop_record", scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        if ((++turn & 1023) != 0)
            continue;
        now = bench_now();
        if (now > limit) {
            bench_child_error(a->s.label, index, "deadline passed after %" PRIu64
                              " records", expected);
            code = CHILD_TIMEOUT;
            goto out;
        }
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0) {
            code = CHILD_ABORT;
            goto out;
        }
    }
    now = bench_now();
    lost = scb_lost(r);
    if (expected != ctl->total || lost != 0) {
        bench_child_error(a->s.label, index, "records do not add up: pushed %"
                          PRIu64 ", received %" PRIu64 ", scb_lost %" PRIu64,
                          ctl->total, expected, lost);
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = window;
    ctl->proc[index].received = expected;
    ctl->proc[index].bytes = bytes;
out:
    scb_close(r);
    free(buf);
    return code;
}

/* --- through a pipe, length-prefixed ------------------------------------- */

/* One write per record, its length and its bytes together, as the fixed-size
 * baselines make one per item. */
static int rec_pipe_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct rec_arg *a = varg;
    unsigned char *buf;
    uint64_t start, limit, now = 0, t0 = 0, pushed = 0;
    uint32_t len32;
    size_t len;
    int code, tick;

    close(a->rfd);
    if ((buf = malloc(REC_PREFIX + a->s.size)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        code = CHILD_FAIL;
        goto out;
    }
    bench_fill(buf, REC_PREFIX + a->s.size, 1);
    code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    start = bench_now();
    limit = start + a->s.limit_ns;
    for (;;) {
        len = rec_length(a->rec, pushed);
        len32 = (uint32_t)len;
        memcpy(buf, &len32, sizeof len32);
        rec_stamp(buf + REC_PREFIX, len, pushed);
        if (bench_write_all(a->wfd, buf, REC_PREFIX + len) != 0) {
            bench_child_error(a->s.label, index, "write: %s", strerror(errno));
            code = CHILD_FAIL;
            goto out;
        }
        pushed++;
        if ((pushed & 31) != 0)
            continue;
        tick = rec_writer_tick(ctl, index, a, &t0, start, limit, pushed, &now);
        if (tick < 0) {
            code = -tick;
            goto out;
        }
        if (tick > 0)
            break;
    }
    rec_writer_done(ctl, index, now, pushed);
out:
    close(a->wfd); /* the reader's end of file */
    free(buf);
    return code;
}

/* Reads what the pipe holds, up to REC_PIPE_BUF bytes a call, and takes the
 * records out of its buffer, as a buffered reader of such a stream would:
 * the writer's call per record sets the pace. */
static int rec_pipe_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct rec_arg *a = varg;
    unsigned char *buf;
    uint64_t expected = 0, window = 0, bytes = 0, p0;
    size_t have = 0, off, len;
    uint32_t len32;
    ssize_t k;
    int code;

    close(a->wfd);
    if ((buf = malloc(REC_PIPE_BUF)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        code = CHILD_FAIL;
        goto out;
    }
    code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    for (;;) {
        k = read(a->rfd, buf + have, REC_PIPE_BUF - have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            bench_child_error(a->s.label, index, "read: %s", strerror(errno));
            code = CHILD_FAIL;
            goto out;
        }
        if (k == 0)
            break;
        have += (size_t)k;
        p0 = atomic_load_explicit(&ctl->p0, memory_order_acquire);
        for (off = 0; have - off >= REC_PREFIX; off += REC_PREFIX + len) {
            memcpy(&len32, buf + off, sizeof len32);
            len = len32;
            if (len > a->s.size) {
                bench_child_error(a->s.label, index, "record %" PRIu64 ": a length "
                                  "of %zu", expected, len);
                code = CHILD_FAIL;
                goto out;
            }
            if (have - off < REC_PREFIX + len)
                break;
            code = rec_check(a, index, buf + off + REC_PREFIX, len, expected);
            if (code != CHILD_OK)
                goto out;
            if (expected >= p0) {
                window++;
                bytes += len;
            }
            expected++;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    ctl->proc[index].t_end = bench_now();
    if (!atomic_load_explicit(&ctl->done, memory_order_acquire) ||
        expected != ctl->total || have != 0) {
        bench_child_error(a->s.label, index, "the stream ended after %" PRIu64
                          " of %" PRIu64 " records (%zu bytes left over)",
                          expected, ctl->total, have);
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].window = window;
    ctl->proc[index].received = expected;
    ctl->proc[index].bytes = bytes;
out:
    close(a->rfd);
    free(buf);
    return code;
}

/* before_go: the parent's ends of the pipe must go, or the reader never
 * sees its end of file. */
static void rec_close_pipe(void *varg)
{
    struct rec_arg *a = varg;

    if (a->wfd >= 0)
        close(a->wfd);
    if (a->rfd >= 0)
        close(a->rfd);
    a->wfd = a->rfd = -1;
}

/* --- does this library have record rings? -------------------------------- */

struct rec_support {
    const char *backend;
    int state;             /* 0 yes, 1 no (why), -1 the probe failed (why) */
    char why[200];
};

static struct rec_support rec_known[8];

/* Every record and zero-copy call once, on a small lossless record ring, in
 * this process (no fork: nothing here lasts beyond the probe). */
static int rec_probe(const char *backend, char *why, size_t whylen)
{
    char name[SCB_NAME_MAX + 1];
    unsigned char rec[BENCH_REC_SMALL];
    const char *call = "scb_create with SCB_RECORDS";
    scb_config_t cfg;
    scb_t *w = NULL, *r = NULL;
    const void *cp;
    void *p;
    size_t len;
    int rc;

    bench_ring_name(name, sizeof name);
    bench_track_ring(name, backend);
    scb_config_init(&cfg);
    cfg.backend = backend;
    cfg.item_size = BENCH_REC_SMALL;
    cfg.length = 4096;
    cfg.flags = SCB_RECORDS | SCB_LOSSLESS;
    rc = scb_create(&w, name, &cfg);
    if (rc == SCB_OK) {
        call = "scb_open";
        cfg.flags = 0;
        rc = scb_open(&r, name, &cfg);
    }
    memset(rec, 7, sizeof rec);
    if (rc == SCB_OK && (rc = scb_push_record(w, rec, 8)) != SCB_OK)
        call = "scb_push_record";
    if (rc == SCB_OK && (rc = scb_pop_record(r, rec, sizeof rec, &len)) != SCB_OK)
        call = "scb_pop_record";
    if (rc == SCB_OK && (rc = scb_reserve(w, sizeof rec, &p)) != SCB_OK)
        call = "scb_reserve";
    if (rc == SCB_OK) {
        memset(p, 9, sizeof rec);
        if ((rc = scb_commit(w, sizeof rec)) != SCB_OK)
            call = "scb_commit";
    }
    if (rc == SCB_OK && (rc = scb_peek(r, &cp, &len)) != SCB_OK)
        call = "scb_peek";
    if (rc == SCB_OK && (rc = scb_release(r)) != SCB_OK)
        call = "scb_release";
    scb_close(r);
    scb_close(w);
    bench_remove_ring(name, backend);
    if (rc == SCB_OK)
        return 0;
    snprintf(why, whylen, "this libscb has no record rings (%s: %s)", call,
             scb_strerror(rc));
    /* Before the record rings, scb_create refuses the flag as unknown. */
    if (rc == SCB_ENOTSUP || (rc == SCB_EINVAL && strncmp(call, "scb_create", 10) == 0))
        return 1;
    snprintf(why, whylen, "record ring probe: %s: %s", call, scb_strerror(rc));
    return -1;
}

/* 0, or 1 / -1 with why, asked of the library once per backend. */
static int rec_supported(const char *backend, char *why, size_t whylen)
{
    int i;

    for (i = 0; i < 8 && rec_known[i].backend != NULL; i++)
        if (strcmp(rec_known[i].backend, backend) == 0)
            break;
    if (i == 8)
        return rec_probe(backend, why, whylen);
    if (rec_known[i].backend == NULL) {
        rec_known[i].state = rec_probe(backend, rec_known[i].why,
                                       sizeof rec_known[i].why);
        rec_known[i].backend = backend;
    }
    snprintf(why, whylen, "%s", rec_known[i].why);
    return rec_known[i].state;
}

/* --- a case's run --------------------------------------------------------- */

int bench_rec_tput(const struct bench_tput *tc, const struct bench_opts *o,
                   struct bench_sample *s, char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct bench_ctl *ctl = bench_ctl();
    char name[SCB_NAME_MAX + 1], label[96];
    struct bench_names names = {{NULL, NULL}, tc->backend};
    struct rec_arg a;
    int rc, fds[2], pipe_case = tc->transport == TR_PIPE;
    double secs;

    rec_lengths_init(); /* before the fork: the children inherit it */
    memset(&a, 0, sizeof a);
    a.rec = tc->rec;
    a.wfd = a.rfd = -1;
    snprintf(label, sizeof label, "%s records, %s", pipe_case ? "pipe" : tc->backend,
             tc->rec == REC_MIXED   ? "8-1000 B"
             : tc->rec == REC_SMALL ? "64 B"
             : tc->rec == REC_COPY  ? "64 KiB, copied"
                                    : "64 KiB, zero-copy");
    a.s.label = label;
    a.s.size = tc->size;
    a.s.warm_ns = (uint64_t)(o->warmup * 1e9);
    a.s.dur_ns = (uint64_t)(o->duration * 1e9);
    a.s.limit_ns = a.s.warm_ns + a.s.dur_ns + 10000000000ull;
    a.s.oversubscribed = 2 > bench_cpus(NULL, 0, NULL);
    a.backend = tc->backend;

    memset(kids, 0, sizeof kids);
    kids[0].cpu = bench_cpu_for(0);
    kids[1].cpu = bench_cpu_for(1);
    kids[0].arg = kids[1].arg = &a;
    if (pipe_case) {
        if (tc->rec != REC_MIXED) {
            snprintf(why, whylen, "no pipe case for these records");
            return -1;
        }
        if (pipe(fds) != 0) {
            snprintf(why, whylen, "pipe: %s", strerror(errno));
            return -1;
        }
        a.rfd = fds[0];
        a.wfd = fds[1];
        kids[0].fn = rec_pipe_writer;
        kids[1].fn = rec_pipe_reader;
        rc = bench_run(kids, 2, a.s.limit_ns + 5000000000ull, rec_close_pipe, &a,
                       why, whylen);
        rec_close_pipe(&a);
    } else {
        rc = rec_supported(tc->backend, why, whylen);
        if (rc != 0)
            return rc;
        rc = bench_make_ring(name, sizeof name, tc->backend, (uint32_t)tc->size,
                             tc->length, SCB_RECORDS | SCB_LOSSLESS, 0, why, whylen);
        if (rc != 0)
            return rc;
        names.name[0] = name;
        a.name = name;
        kids[0].fn = rec_writer;
        kids[1].fn = rec_reader;
        rc = bench_run(kids, 2, a.s.limit_ns + 5000000000ull, bench_unlink_names,
                       &names, why, whylen);
        bench_remove_ring(name, tc->backend); /* if the run failed before unlinking */
    }
    if (rc != 0)
        return rc;

    memset(s, 0, sizeof *s);
    secs = (double)(ctl->proc[0].t_end - ctl->t0) / 1e9;
    s->writer = secs > 0 ? (double)ctl->proc[0].window / secs : 0;
    secs = (double)(ctl->proc[1].t_end - ctl->t0) / 1e9;
    s->reader[0] = secs > 0 ? (double)ctl->proc[1].window / secs : 0;
    s->bytes = secs > 0 ? (double)ctl->proc[1].bytes / secs : 0;
    return 0;
}

/* --- round trip ------------------------------------------------------------ */

struct rec_lat_arg {
    const char *label;
    const char *name[2];   /* [0] ping -> pong, [1] pong -> ping */
    const char *backend;
    uint64_t warm, rounds;
    uint64_t limit_ns;
};

/* Spins on scb_pop_record until a record comes; checks it is `want`. */
static int rec_lat_recv(scb_t *r, const struct rec_lat_arg *a, int index,
                        uint64_t limit, uint64_t want)
{
    unsigned char rec[8];
    unsigned spins = 0;
    size_t len;
    int rc;

    for (;;) {
        rc = scb_pop_record(r, rec, sizeof rec, &len);
        if (rc == SCB_OK) {
            if (len != sizeof rec || bench_get_seq(rec) != want) {
                bench_child_error(a->label, index, "got %zu bytes numbered %" PRIu64
                                  ", expected 8 numbered %" PRIu64, len,
                                  len == sizeof rec ? bench_get_seq(rec) : 0, want);
                return CHILD_FAIL;
            }
            return CHILD_OK;
        }
        if (rc != SCB_EAGAIN) {
            bench_child_error(a->label, index, "scb_pop_record: %s", scb_strerror(rc));
            return CHILD_FAIL;
        }
        if ((++spins & 4095) == 0) {
            if (bench_now() > limit) {
                bench_child_error(a->label, index, "no reply before the deadline");
                return CHILD_TIMEOUT;
            }
            if (atomic_load_explicit(&bench_ctl()->go, memory_order_relaxed) < 0)
                return CHILD_ABORT;
        }
    }
}

static int rec_lat_send(scb_t *w, const struct rec_lat_arg *a, int index,
                        uint64_t seq)
{
    unsigned char rec[8];
    int rc;

    bench_put_seq(rec, seq);
    rc = scb_push_record(w, rec, sizeof rec);
    if (rc != SCB_OK) {
        bench_child_error(a->label, index, "scb_push_record: %s", scb_strerror(rc));
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* index 0 sends i and times its return; index 1 sends back what it gets. */
static int rec_lat_child(struct bench_ctl *ctl, int index, void *varg)
{
    const struct rec_lat_arg *a = varg;
    scb_t *w = NULL, *r = NULL;
    uint64_t i, t = 0, limit;
    int code, ping = index == 0;

    code = bench_open_ring(&r, a->name[ping ? 1 : 0], a->backend, 0, a->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(&w, a->name[ping ? 0 : 1], a->backend, SCB_WRITER,
                               a->label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        if (ping) {
            t = bench_now();
            code = rec_lat_send(w, a, index, i);
            if (code == CHILD_OK)
                code = rec_lat_recv(r, a, index, limit, i);
            if (code == CHILD_OK && i >= a->warm)
                ctl->samples[i - a->warm] = bench_now() - t;
        } else {
            code = rec_lat_recv(r, a, index, limit, i);
            if (code == CHILD_OK)
                code = rec_lat_send(w, a, index, i);
        }
    }
    if (ping && code == CHILD_OK)
        ctl->nsamples = a->rounds;
    scb_close(w);
    scb_close(r);
    return code;
}

int bench_rec_latency(const char *backend, const struct bench_opts *o,
                      uint64_t *samples, char *why, size_t whylen)
{
    char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], label[64];
    struct bench_names names = {{n0, n1}, backend};
    struct bench_child kids[2];
    struct rec_lat_arg a;
    int rc;

    rc = rec_supported(backend, why, whylen);
    if (rc != 0)
        return rc;
    snprintf(label, sizeof label, "%s round trip (busy-poll records)", backend);
    rc = bench_make_ring(n0, sizeof n0, backend, 8, REC_LAT_RING, SCB_RECORDS, 0,
                         why, whylen);
    if (rc != 0)
        return rc;
    rc = bench_make_ring(n1, sizeof n1, backend, 8, REC_LAT_RING, SCB_RECORDS, 0,
                         why, whylen);
    if (rc != 0) {
        bench_remove_ring(n0, backend);
        return rc;
    }
    memset(&a, 0, sizeof a);
    a.label = label;
    a.name[0] = n0;
    a.name[1] = n1;
    a.backend = backend;
    a.rounds = o->rounds;
    a.warm = o->rounds / 10 + 10;
    a.limit_ns = 30000000000ull + (a.rounds + a.warm) * 1000000ull; /* 1 ms a round */
    memset(kids, 0, sizeof kids);
    kids[0].fn = rec_lat_child;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[0].role = "pinger";
    kids[1].fn = rec_lat_child;
    kids[1].arg = &a;
    kids[1].cpu = bench_cpu_for(1);
    kids[1].role = "ponger";
    rc = bench_run(kids, 2, a.limit_ns + 5000000000ull, bench_unlink_names, &names,
                   why, whylen);
    bench_remove_ring(n0, backend);
    bench_remove_ring(n1, backend);
    if (rc != 0)
        return rc;
    return bench_take_samples(o, samples, why, whylen);
}
