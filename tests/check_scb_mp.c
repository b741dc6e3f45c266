/*
 * check_scb_mp.c - the multi-process part of the per-backend suite
 * (tests/check_scb BACKEND): forked writers and readers on one ring, writers
 * and readers killed with SIGKILL, the writer role taken over.
 *
 * Every tcase runs real processes.  The test process (Check's forked child)
 * creates the ring before it forks, so children only open it.  Children
 * never call Check: they report by exit status, print details on stderr,
 * leave their counters in an anonymous shared mapping (struct shared) and
 * leave with _exit.  The test process waits for every child and asserts.
 *
 * Nothing may be left behind, even when a test fails: in fork mode a failed
 * Check assertion ends the test process at once, without the checked
 * teardown, so every assertion here goes through MP_ASSERT, which first
 * kills and reaps the children and unlinks the ring.  As a last resort (a
 * test that times out is killed by Check), every ring name is also recorded
 * in a mapping shared with Check's runner process, whose unchecked teardown
 * unlinks whatever is left.
 *
 * The machine may have two cores: children never spin without bound; on
 * SCB_EAGAIN a reader yields, then sleeps a few microseconds, and every loop
 * has a deadline.
 *
 * The harness (children, the registry of names, MP_ASSERT) is mputil.c,
 * shared with the wait suite.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "backend.h"
#include "layout.h"
#include "sys.h"
#include "mputil.h"
#include "testutil.h"

#define TIMEOUT_S 60

/* How long a child may run before it gives up and reports a timeout: well
 * inside the tcase timeout, far beyond any healthy run. */
#define CHILD_DEADLINE_NS (UINT64_C(25) * 1000000000u)
/* How long the test process waits for a child to end before killing it. */
#define REAP_MS 30000

#define MAX_SLOTS 32

/* ---- state shared with the children ------------------------------------ */

/* What one reader child reports.  progress is published as it reads; the
 * rest is written once, when it finishes. */
struct rstat {
    _Atomic uint64_t progress; /* items returned so far */
    uint64_t returned;         /* items scb_pop* returned */
    uint64_t lost;             /* scb_lost at the end */
    uint64_t pushed;           /* scb_info's pushed at the end */
    uint64_t first_seq;        /* seq of the first intact item */
    uint64_t last_seq;         /* seq of the last intact item */
    uint64_t streak_start;     /* first seq of the run of consecutive seqs ending at last_seq */
    uint64_t bad;              /* items that fail tu_check */
    uint64_t disorder;         /* items whose seq is not above the previous one */
    int have_last;             /* 1 once an intact item was read */
    int finished;              /* 1 when it ended its loop normally */
    int timed_out;             /* 1 when it hit its deadline */
};

struct shared {
    atomic_int stop_writer;          /* continuous writers: stop pushing */
    atomic_int stop_readers;         /* open-ended readers: stop reading */
    _Atomic uint64_t final_end;      /* crash test: seq after the last item, 0 = not yet */
    _Atomic uint64_t final_start;    /* crash test: first seq of the clean writer */
    struct rstat r[MAX_SLOTS];
};

static struct shared *sh;

/* The one ring of a test (the harness can keep two). */
#define ring (rings[0])

static scb_config_t cfg;

static void mp_setup(void)
{
    mh_setup(MH_MP, 1);
    cfg = tu_cfg(8, 8);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(sh != MAP_FAILED, "mmap of the shared state failed");
    memset(sh, 0, sizeof *sh);
}

static void mp_teardown(void)
{
    mh_teardown();
    if (sh != NULL && sh != MAP_FAILED)
        munmap(sh, sizeof *sh);
    sh = NULL;
}

/* ---- the reader child ---------------------------------------------------- */

enum { R_FAST, R_SLOW, R_MIX };

struct reader_opts {
    int slot;           /* index into sh->r */
    int mode;           /* R_FAST: scb_pop_many; R_SLOW: scb_pop and naps; R_MIX */
    int ready_fd;       /* writes 'R' once open ('E' if open failed); -1: none */
    uint32_t oflags;    /* open flags (SCB_LATEST) */
    uint64_t n;         /* done after seq n - 1 (0: no such end) */
    uint64_t max_items; /* done after this many items (0: no such end) */
    int use_final;      /* done after seq sh->final_end - 1 once it is set */
};

static int reader_main(void *arg)
{
    const struct reader_opts *o = arg;
    struct rstat *st = &sh->r[o->slot];
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS;
    uint64_t last = 0, returned = 0, since_nap = 0, final_deadline = 0;
    size_t batch = 64, size;
    unsigned idle = 0;
    int gone = 0, rc, have_last = 0, use_many;
    scb_info_t info;
    uint8_t *buf;
    scb_t *r;

    c.flags = o->oflags;
    rc = scb_open(&r, ring, &c);
    if (rc != SCB_OK) {
        say("reader %d: scb_open: %s", o->slot, scb_strerror(rc));
        if (o->ready_fd >= 0)
            put_byte(o->ready_fd, 'E');
        return 10;
    }
    scb_info(r, &info);
    size = info.item_size;
    buf = malloc(size * batch);
    if (buf == NULL) {
        say("reader %d: out of memory", o->slot);
        return 11;
    }
    if (o->ready_fd >= 0)
        put_byte(o->ready_fd, 'R');

    for (;;) {
        size_t got = 0, i;

        use_many = o->mode == R_FAST || (o->mode == R_MIX && (rnd() & 1));
        if (use_many) {
            rc = scb_pop_many(r, buf, 1 + (size_t)(rnd() % batch), &got);
        } else {
            rc = scb_pop(r, buf);
            got = rc == SCB_OK;
        }
        if (rc == SCB_OK) {
            idle = 0;
            for (i = 0; i < got; i++) {
                uint64_t seq;

                returned++;
                if (!tu_check(buf + i * size, size, &seq)) {
                    if (st->bad++ < 3)
                        say("reader %d: item %" PRIu64 " is torn (after seq %" PRIu64 ")",
                            o->slot, returned, last);
                    continue;
                }
                if (have_last && seq <= last) {
                    if (st->disorder++ < 3)
                        say("reader %d: seq %" PRIu64 " after seq %" PRIu64,
                            o->slot, seq, last);
                    continue;
                }
                if (!have_last) {
                    st->first_seq = seq;
                    st->streak_start = seq;
                } else if (seq != last + 1) {
                    st->streak_start = seq;
                }
                last = seq;
                have_last = 1;
            }
            atomic_store_explicit(&st->progress, returned, memory_order_relaxed);
            if (o->mode == R_SLOW && (since_nap += got) >= 256) {
                /* Naps until the writer has overwritten something unread:
                 * this reader must fall behind and lose items. */
                uint64_t lost0 = scb_lost(r), until = now_ns() + 20000000u;

                since_nap = 0;
                tu_sleep_us(100);
                while (scb_lost(r) == lost0 && now_ns() < until)
                    tu_sleep_us(50);
            }
            if (o->n != 0 && have_last && last >= o->n - 1)
                break;
            if (o->max_items != 0 && returned >= o->max_items)
                break;
            if (now_ns() > deadline) {
                st->timed_out = 1;
                break;
            }
            continue;
        }
        if (rc != SCB_EAGAIN) {
            say("reader %d: pop: %s", o->slot, scb_strerror(rc));
            st->bad++;
            break;
        }
        if (gone)
            break; /* the writer had finished and nothing more came */
        if (o->use_final) {
            uint64_t fe = atomic_load(&sh->final_end);
            if (fe != 0 && have_last && last + 1 >= fe)
                break;
            /* Everything was pushed: what has not come in 3 s never will. */
            if (fe != 0 && final_deadline == 0)
                final_deadline = now_ns() + UINT64_C(3000000000);
            if (final_deadline != 0 && now_ns() > final_deadline) {
                say("reader %d: seq %" PRIu64 " never came (last seq %" PRIu64 ")",
                    o->slot, fe - 1, last);
                break;
            }
        }
        if (atomic_load(&sh->stop_readers))
            break;
        if (++idle < 32) {
            sched_yield();
            continue;
        }
        if (now_ns() > deadline) {
            st->timed_out = 1;
            break;
        }
        if (o->n != 0 && (idle & 63) == 0) {
            /* A library that lost track of the last item must not keep
             * this reader waiting forever: once the writer is gone with
             * everything pushed, one more empty pop ends it. */
            scb_info(r, &info);
            if (info.pushed >= o->n && !info.writer_alive)
                gone = 1;
        }
        tu_sleep_us(20);
    }

    scb_info(r, &info);
    st->returned = returned;
    st->lost = scb_lost(r);
    st->pushed = info.pushed;
    st->last_seq = last;
    st->have_last = have_last;
    st->finished = !st->timed_out;
    if (st->timed_out)
        say("reader %d: deadline passed (returned %" PRIu64 ", last seq %" PRIu64 ")",
            o->slot, returned, last);
    scb_close(r);
    free(buf);
    return st->bad != 0 || st->disorder != 0 ? 1 : st->timed_out ? 3 : 0;
}

/* One reader's report, for an assertion message. */
static const char *rs_str(int slot)
{
    static char buf[320];
    const struct rstat *s = &sh->r[slot];

    snprintf(buf, sizeof buf,
             "reader %d: returned %" PRIu64 ", lost %" PRIu64 ", pushed %" PRIu64
             ", seq %" PRIu64 "..%" PRIu64 " (last run from %" PRIu64 ")"
             ", torn %" PRIu64 ", out of order %" PRIu64 "%s; backend %s, seed %" PRIu64,
             slot, s->returned, s->lost, s->pushed, s->first_seq, s->last_seq,
             s->streak_start, s->bad, s->disorder,
             s->timed_out ? ", TIMED OUT" : "", tu_backend, seed);
    return buf;
}

/* ---- the writer child ---------------------------------------------------- */

struct writer_opts {
    int report_fd;     /* 'O': took the role at once, 'R': after retries, 'E': failed; -1: none */
    int retry_ms;      /* retries SCB_EBUSY this long (0: not at all) */
    uint64_t count;    /* items to push; 0: until sh->stop_writer, or killed */
    size_t max_batch;  /* the largest scb_push_many */
    int big_batches;   /* now and then pushes 2 * length + 1 items at once */
    int final;         /* records its first seq in sh->final_start */
};

static int writer_main(void *arg)
{
    const struct writer_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS, retry_until;
    uint64_t seq, end, loops = 0;
    size_t size, cap;
    scb_info_t info;
    uint8_t *buf;
    char how = 'O';
    scb_t *w;
    int rc;

    c.flags = SCB_WRITER;
    retry_until = now_ns() + (uint64_t)o->retry_ms * 1000000u;
    while ((rc = scb_open(&w, ring, &c)) == SCB_EBUSY && now_ns() < retry_until) {
        how = 'R';
        tu_sleep_us(200);
    }
    if (rc != SCB_OK) {
        say("writer: scb_open(SCB_WRITER): %s", scb_strerror(rc));
        if (o->report_fd >= 0)
            put_byte(o->report_fd, 'E');
        return 2;
    }
    scb_info(w, &info);
    size = info.item_size;
    cap = o->max_batch;
    if (o->big_batches && cap < 2 * info.length + 1)
        cap = 2 * info.length + 1;
    buf = malloc(size * cap);
    if (buf == NULL) {
        say("writer: out of memory");
        return 11;
    }
    /* seq is the position in the ring: items ever pushed before this one. */
    seq = info.pushed;
    end = o->count != 0 ? seq + o->count : UINT64_MAX;
    if (o->final)
        atomic_store(&sh->final_start, seq);
    if (o->report_fd >= 0)
        put_byte(o->report_fd, how);

    while (seq < end) {
        uint64_t r = rnd();
        size_t k, j, n;
        int single = (r & 3) == 0;

        if (o->count == 0 && atomic_load_explicit(&sh->stop_writer, memory_order_relaxed))
            break;
        if ((++loops & 255) == 0 && now_ns() > deadline) {
            say("writer: deadline passed at seq %" PRIu64, seq);
            return 3;
        }
        k = single ? 1 : 1 + (size_t)((r >> 8) % o->max_batch);
        if (o->big_batches && (r >> 40) % 32 == 0) {
            single = 0;
            k = 2 * info.length + 1;
        }
        if (k > end - seq)
            k = (size_t)(end - seq);
        for (j = 0; j < k; j++)
            tu_fill(buf + j * size, size, seq + j);
        if (single && k == 1) {
            rc = scb_push(w, buf);
            n = 1;
        } else {
            rc = scb_push_many(w, buf, k, &n);
        }
        if (rc != SCB_OK || n != k) {
            say("writer: push of %zu items at seq %" PRIu64 ": %s, count %zu", k,
                seq, scb_strerror(rc), n);
            return 4;
        }
        seq += k;
    }
    rc = scb_close(w);
    free(buf);
    if (rc != SCB_OK) {
        say("writer: scb_close: %s", scb_strerror(rc));
        return 5;
    }
    return 0;
}

/* ---- 1. integrity: a writer at full speed, a fast and a slow reader ------ */

static const uint32_t int_sizes[] = {8, 100, 4096, 65536};
static const uint64_t int_lengths[] = {8, 64};
#define INT_LOOPS 8

/* Items per run: about a second of writing at any item size. */
static uint64_t int_items(uint32_t size)
{
    switch (size) {
    case 8: return 30000000;
    case 100: return 6000000;
    case 4096: return 150000;
    default: return 10000;
    }
}

/* Creates the ring, starts nr readers (modes[i]) and waits until they are
 * open, then hands the writer role to a forked writer pushing n items; waits
 * for everyone and checks what each reader saw. */
static void run_integrity(uint32_t size, uint64_t length, uint64_t n,
                          const int *modes, int nr)
{
    struct reader_opts ro[MAX_SLOTS];
    struct writer_opts wo;
    pid_t rp[MAX_SLOTS], wp;
    char ready[MAX_SLOTS];
    uint64_t t0;
    int fds[2], i, st, rc;

    cfg = tu_cfg(size, length);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create(%s, %u B x %" PRIu64 "): %s", tu_backend,
              size, length, scb_strerror(rc));
    MP_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
    for (i = 0; i < nr; i++) {
        memset(&ro[i], 0, sizeof ro[i]);
        ro[i].slot = i;
        ro[i].mode = modes[i];
        ro[i].ready_fd = fds[1];
        ro[i].n = n;
        rp[i] = spawn(reader_main, &ro[i]);
    }
    close(fds[1]);
    i = (int)read_bytes(fds[0], ready, (size_t)nr, 10000);
    close(fds[0]);
    MP_ASSERT(i == nr && memchr(ready, 'E', (size_t)nr) == NULL,
              "%d of %d readers opened the ring", i, nr);

    /* The creator gives the role up before the child takes it, or the
     * child would get SCB_EBUSY. */
    rc = scb_close(hs[0]);
    hs[0] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.count = n;
    wo.max_batch = 16;
    t0 = now_ns();
    wp = spawn(writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "writer (%u B x %" PRIu64 "): %s", size, length, st_str(st));
    for (i = 0; i < nr; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "%u B x %" PRIu64 ": %s, %s", size, length,
                  st_str(st), rs_str(i));
    }
    if (getenv("SCB_MP_VERBOSE") != NULL) {
        fprintf(stderr, "integrity %s %u B x %" PRIu64 ": %" PRIu64 " items in %.3f s\n",
                tu_backend, size, length, n, (double)(now_ns() - t0) / 1e9);
        for (i = 0; i < nr; i++)
            fprintf(stderr, "  %s\n", rs_str(i));
    }
    for (i = 0; i < nr; i++) {
        const struct rstat *s = &sh->r[i];

        MP_ASSERT(s->finished && s->bad == 0 && s->disorder == 0,
                  "%u B x %" PRIu64 ": %s", size, length, rs_str(i));
        MP_ASSERT(s->returned > 0, "%u B x %" PRIu64 ": nothing returned: %s",
                  size, length, rs_str(i));
        MP_ASSERT(s->have_last && s->last_seq == n - 1,
                  "%u B x %" PRIu64 ": the last item (seq %" PRIu64 ") never came: %s",
                  size, length, n - 1, rs_str(i));
        MP_ASSERT(s->pushed == n, "%u B x %" PRIu64 ": pushed %" PRIu64 " != %" PRIu64,
                  size, length, s->pushed, n);
        MP_ASSERT(s->returned + s->lost == n,
                  "%u B x %" PRIu64 ": returned + lost != pushed (%" PRIu64 "): %s",
                  size, length, n, rs_str(i));
        if (modes[i] == R_SLOW)
            MP_ASSERT(s->lost > 0,
                      "%u B x %" PRIu64 ": the slow reader lost nothing: %s",
                      size, length, rs_str(i));
    }
}

START_TEST(test_integrity)
{
    static const int modes[] = {R_FAST, R_SLOW};
    uint32_t size = int_sizes[_i / 2];

    run_integrity(size, int_lengths[_i % 2], int_items(size), modes, 2);
}
END_TEST

START_TEST(test_integrity_three_fast)
{
    static const int modes[] = {R_FAST, R_FAST, R_FAST};

    run_integrity(1024, 64, 600000, modes, 3);
}
END_TEST

/* ---- 2. the writer SIGKILLed at random points, then taken over ----------- */

static const uint32_t crash_sizes[] = {24, 8192};
#define CRASH_ROUNDS 300
#define CRASH_LENGTH 16

START_TEST(test_crash_takeover)
{
    uint32_t size = crash_sizes[_i];
    struct reader_opts ro;
    struct writer_opts wo;
    pid_t rp, wp, pending = 0;
    int prev_how = 0;
    unsigned waited = 0, taken = 0, retried = 0, blind = 0;
    uint64_t t0 = now_ns(), final_end;
    char c;
    int fds[2], i, st, rc;
    scb_info_t info;

    cfg = tu_cfg(size, CRASH_LENGTH);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));

    MP_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
    memset(&ro, 0, sizeof ro);
    ro.slot = 0;
    ro.mode = R_MIX;
    ro.ready_fd = fds[1];
    ro.use_final = 1;
    rp = spawn(reader_main, &ro);
    close(fds[1]);
    MP_ASSERT(read_bytes(fds[0], &c, 1, 10000) == 1 && c == 'R', "reader did not open");
    close(fds[0]);
    rc = scb_close(hs[0]);
    hs[0] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    memset(&wo, 0, sizeof wo);
    wo.max_batch = 8;
    wo.big_batches = 1;
    for (i = 0; i < CRASH_ROUNDS; i++) {
        /* How the previous writer is left for this one: reaped (0), a
         * zombie (1), or killed a moment ago and possibly still dying (2,
         * where the contract gives takeover up to 1 s). */
        int how = i % 3;

        MP_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
        wo.report_fd = fds[1];
        /* Only a writer killed a moment ago may take up to 1 s to be seen
         * dead; a reaped one or a zombie must be seen dead at once. */
        wo.retry_ms = prev_how == 2 ? 1000 : 0;
        wp = spawn(writer_main, &wo);
        close(fds[1]);
        if (i % 10 == 9) {
            /* Blind: killed whatever it is doing, even opening. */
            blind++;
            tu_sleep_us((unsigned)(rnd() % 400));
            c = 0;
        } else {
            waited++;
            c = 0;
            read_bytes(fds[0], &c, 1, 5000);
            if (c == 'O' || c == 'R') {
                taken++;
                retried += c == 'R';
            }
            MP_ASSERT(c == 'O' || c == 'R',
                      "round %d: the writer could not take over (%s; the previous "
                      "writer %s)", i, c == 'E' ? "scb_open failed" : "no report",
                      prev_how == 0 ? "reaped" : prev_how == 1 ? "a zombie" : "just killed");
            tu_sleep_us((unsigned)(rnd() % 2001));
        }
        kill(wp, SIGKILL);
        if (pending != 0) {
            st = reap(pending, REAP_MS);
            MP_ASSERT(killed9(st), "round %d: a killed writer: %s", i, st_str(st));
            pending = 0;
        }
        if (c == 0) {
            /* A blind round: learn whether it got as far as opening. */
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
                /* Dead but not reaped: the next writer meets a zombie. */
                while (waitid(P_PID, (id_t)wp, &si, WEXITED | WNOWAIT) < 0 &&
                       errno == EINTR)
                    ;
            }
            pending = wp;
        }
        prev_how = how;
        MP_ASSERT(sh->r[0].finished == 0 && !sh->r[0].timed_out,
                  "round %d: the reader stopped early: %s", i, rs_str(0));
    }
    if (pending != 0) {
        st = reap(pending, REAP_MS);
        MP_ASSERT(killed9(st), "the last killed writer: %s", st_str(st));
    }

    /* A clean writer takes over and pushes one ring's worth, which the
     * reader must receive in full. */
    wo.report_fd = -1;
    wo.retry_ms = 0;
    wo.count = CRASH_LENGTH;
    wo.big_batches = 0;
    wo.final = 1;
    wp = spawn(writer_main, &wo);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "the clean writer: %s", st_str(st));
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    scb_info(hs[1], &info);
    final_end = info.pushed;
    MP_ASSERT(final_end == atomic_load(&sh->final_start) + CRASH_LENGTH,
              "pushed %" PRIu64 " after the clean writer started at %" PRIu64,
              final_end, (uint64_t)atomic_load(&sh->final_start));
    atomic_store(&sh->final_end, final_end);
    st = reap(rp, REAP_MS);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "crash %s %u B: %d rounds (%u waited, %u taken, %u after retries, "
                "%u blind) in %.3f s, %" PRIu64 " pushed\n  %s\n",
                tu_backend, size, CRASH_ROUNDS, waited, taken, retried, blind,
                (double)(now_ns() - t0) / 1e9, final_end, rs_str(0));
    MP_ASSERT(exited0(st), "%u B: %s, %s", size, st_str(st), rs_str(0));
    MP_ASSERT(taken == waited, "takeover succeeded in %u of %u rounds", taken, waited);
    MP_ASSERT(sh->r[0].bad == 0 && sh->r[0].disorder == 0, "%u B: %s", size, rs_str(0));
    MP_ASSERT(sh->r[0].returned > 0, "%u B: nothing returned: %s", size, rs_str(0));
    MP_ASSERT(sh->r[0].have_last && sh->r[0].last_seq == final_end - 1 &&
                  sh->r[0].streak_start <= atomic_load(&sh->final_start),
              "%u B: the clean writer's items %" PRIu64 "..%" PRIu64
              " were not all received: %s",
              size, (uint64_t)atomic_load(&sh->final_start), final_end - 1, rs_str(0));
    MP_ASSERT(sh->r[0].returned + sh->r[0].lost == final_end,
              "%u B: returned + lost != pushed (%" PRIu64 "): %s", size, final_end,
              rs_str(0));
}
END_TEST

/* A writer that died inside a scb_push_many of more items than the ring
 * holds leaves claim more than one ring above head.  A reader that is
 * behind and pops before the next writer takes over must not skip past
 * what that writer then pushes. */
START_TEST(test_crash_inside_big_batch)
{
    const uint64_t length = 8;
    const scb_backend_t *be;
    scb_seg_t seg;
    struct scb_hdr *hdr;
    uint8_t item[64];
    uint64_t seq, head, i, got = 0, last = 0;
    scb_config_t wc;
    scb_info_t info;
    int rc;

    cfg = tu_cfg(sizeof item, length);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    for (i = 0; i < 4; i++) {
        tu_fill(item, sizeof item, i);
        scb_push(hs[0], item);
    }
    /* The writer "dies" having claimed 3 rings' worth past head. */
    be = scb_backend_find(tu_backend);
    MP_ASSERT(be != NULL, "backend %s", tu_backend);
    rc = scb_be_open(be, &seg, ring, 1);
    MP_ASSERT(rc == SCB_OK, "scb_be_open: %s", scb_strerror(rc));
    hdr = seg.base;
    head = atomic_load(&hdr->head);
    atomic_store(&hdr->claim, head + 3 * length);
    atomic_store(&hdr->writer_id, 0);
    scb_be_close(be, &seg);
    scb_close(hs[0]);
    hs[0] = NULL;
    /* The reader, 4 items behind, sees them overwritten. */
    rc = scb_pop(hs[1], item);
    MP_ASSERT(rc == SCB_EAGAIN, "pop of an overwritten item: %s", scb_strerror(rc));
    /* A new writer takes over and pushes less than a ring. */
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_open(&hs[0], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover: %s", scb_strerror(rc));
    for (seq = head; seq < head + length / 2; seq++) {
        tu_fill(item, sizeof item, seq);
        scb_push(hs[0], item);
    }
    while (scb_pop(hs[1], item) == SCB_OK) {
        MP_ASSERT(tu_check(item, sizeof item, &last), "torn item");
        got++;
    }
    MP_ASSERT(got == length / 2 && last == head + length / 2 - 1,
              "%s: after a takeover from a writer that died inside a batch larger "
              "than the ring, the reader got %" PRIu64 " of the %" PRIu64
              " items pushed since (last seq %" PRIu64 "), lost %" PRIu64
              ", usage %" PRIu64,
              tu_backend, got, length / 2, last, scb_lost(hs[1]), scb_usage(hs[1]));
    /* The dead writer's batch counts as pushed up to claim - length, where
     * the new writer went on (src/ring.c, scb_ring_writer_start): those
     * items were never readable, so readers count them lost. */
    MP_ASSERT(scb_info(hs[1], &info) == SCB_OK, "scb_info");
    MP_ASSERT(info.pushed == head + 2 * length + length / 2,
              "%s: pushed %" PRIu64 ", expected %" PRIu64, tu_backend,
              info.pushed, head + 2 * length + length / 2);
    MP_ASSERT(got + scb_lost(hs[1]) == info.pushed,
              "%s: returned %" PRIu64 " + lost %" PRIu64 " != pushed %" PRIu64,
              tu_backend, got, scb_lost(hs[1]), info.pushed);
}
END_TEST

/* ---- 3. the writer role --------------------------------------------------- */

/* A writer child that holds the role until told: 'c' closes the handle
 * (and reports 'C'), end of file ends the process. */
struct holder_opts {
    int report_fd;
    int cmd_fd;
    int cmd_wfd; /* the test process's end, closed here so its close is seen */
};

static int holder_main(void *arg)
{
    const struct holder_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint8_t item[64];
    scb_t *w;
    char cmd;
    int rc;

    close(o->cmd_wfd);
    c.flags = SCB_WRITER;
    rc = scb_open(&w, ring, &c);
    if (rc != SCB_OK) {
        say("holder: scb_open(SCB_WRITER): %s", scb_strerror(rc));
        put_byte(o->report_fd, 'E');
        return 2;
    }
    put_byte(o->report_fd, 'O');
    for (;;) {
        ssize_t r = read(o->cmd_fd, &cmd, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (cmd == 'c' && w != NULL) {
            rc = scb_close(w);
            w = NULL;
            put_byte(o->report_fd, rc == SCB_OK ? 'C' : 'E');
        } else if (cmd == 'p' && w != NULL) {
            scb_info_t info;
            scb_info(w, &info);
            tu_fill(item, sizeof item < info.item_size ? sizeof item : info.item_size,
                    info.pushed);
            rc = scb_push(w, item);
            put_byte(o->report_fd, rc == SCB_OK ? 'P' : 'E');
        }
    }
    if (w != NULL)
        scb_close(w);
    return 0;
}

/* Starts a holder; fds[0] reads its reports, fds[1] sends it commands. */
static pid_t start_holder(int fds[2])
{
    static struct holder_opts ho;
    int rep[2], cmd[2];
    pid_t pid;
    char c = 0;

    MP_ASSERT(pipe(rep) == 0 && pipe(cmd) == 0, "pipe: %s", strerror(errno));
    ho.report_fd = rep[1];
    ho.cmd_fd = cmd[0];
    ho.cmd_wfd = cmd[1];
    pid = spawn(holder_main, &ho);
    close(rep[1]);
    close(cmd[0]);
    fds[0] = rep[0];
    fds[1] = cmd[1];
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'O', "the holder could not take the writer role");
    return pid;
}

static void writer_gone(void)
{
    int rc = scb_close(hs[0]);

    hs[0] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
}

START_TEST(test_role_busy_then_killed)
{
    scb_config_t wc;
    scb_info_t info;
    uint8_t item[64];
    uint64_t t0, elapsed, seq;
    pid_t pid;
    int fds[2], rc, st, tries = 0;
    char c = 0;

    cfg = tu_cfg(sizeof item, 16);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    /* While the creator holds the role, nobody else gets it. */
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer beside the creator: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));

    pid = start_holder(fds);
    put_byte(fds[1], 'p');
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'P', "the holder could not push");
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer while a child holds the role: %s",
              scb_strerror(rc));
    MP_ASSERT(hs[2] == NULL, "a failed open left a handle");
    rc = scb_info(hs[1], &info);
    MP_ASSERT(rc == SCB_OK && info.writer_alive == 1 && info.writer_pid == (int64_t)pid,
              "scb_info: writer_alive %d, writer_pid %" PRId64 ", expected 1 and %ld",
              info.writer_alive, info.writer_pid, (long)pid);
    MP_ASSERT(info.is_writer == 0, "a reader handle says it is the writer");

    /* SIGKILLed and not reaped: a zombie is dead. */
    kill(pid, SIGKILL);
    t0 = now_ns();
    for (;;) {
        tries++;
        rc = scb_open(&hs[2], ring, &wc);
        elapsed = now_ns() - t0;
        if (rc != SCB_EBUSY || elapsed > 2000000000u)
            break;
        tu_sleep_us(1000);
    }
    MP_ASSERT(rc == SCB_OK, "takeover from a killed writer: %s after %.3f s",
              scb_strerror(rc), (double)elapsed / 1e9);
    MP_ASSERT(elapsed < 1000000000u, "takeover took %.3f s (%d tries)",
              (double)elapsed / 1e9, tries);
    MP_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
              "the killed holder was not a zombie waiting to be reaped");
    forget(pid);
    close(fds[0]);
    close(fds[1]);
    rc = scb_info(hs[1], &info);
    MP_ASSERT(rc == SCB_OK && info.writer_alive == 1 &&
                  info.writer_pid == (int64_t)getpid(),
              "after takeover: writer_alive %d, writer_pid %" PRId64 ", expected 1 and %ld",
              info.writer_alive, info.writer_pid, (long)getpid());

    /* The new writer carries on where the dead one stopped. */
    scb_info(hs[2], &info);
    MP_ASSERT(info.pushed == 1 && info.is_writer == 1, "pushed %" PRIu64, info.pushed);
    for (seq = info.pushed; seq < info.pushed + 5; seq++) {
        tu_fill(item, sizeof item, seq);
        MP_ASSERT(scb_push(hs[2], item) == SCB_OK, "push after takeover");
    }
    for (seq = 0; seq < 6; seq++) {
        uint64_t s = UINT64_MAX;
        rc = scb_pop(hs[1], item);
        MP_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == seq,
                  "pop %" PRIu64 ": %s, seq %" PRIu64, seq, scb_strerror(rc), s);
    }
    MP_ASSERT(scb_pop(hs[1], item) == SCB_EAGAIN, "an item too many");
}
END_TEST

START_TEST(test_role_closed)
{
    static struct writer_opts wo;
    scb_config_t wc;
    scb_info_t info;
    pid_t pid;
    int fds[2], rc, st;
    char c = 0;

    cfg = tu_cfg(32, 16);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0 && info.writer_pid == 0,
              "no writer: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);

    /* A writer that closed its handle gave the role up, though its process
     * lives on. */
    pid = start_holder(fds);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer while a child holds the role: %s",
              scb_strerror(rc));
    put_byte(fds[1], 'c');
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'C', "the holder could not close");
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0, "after close: writer_alive %d", info.writer_alive);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover after the writer closed (its process alive): %s",
              scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)getpid(),
              "writer_alive %d, writer_pid %" PRId64, info.writer_alive, info.writer_pid);
    rc = scb_close(hs[2]);
    hs[2] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
    close(fds[1]);
    close(fds[0]);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the holder: %s", st_str(st));

    /* A writer that closed and exited normally: takeover at once. */
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.count = 100;
    wo.max_batch = 4;
    pid = spawn(writer_main, &wo);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover after the writer closed and exited: %s",
              scb_strerror(rc));
    scb_info(hs[2], &info);
    MP_ASSERT(info.pushed == 100, "pushed %" PRIu64, info.pushed);
}
END_TEST

/* Writes the writer identity of the ring through the backend, as a process
 * whose id was reused would leave it. */
static void set_writer_id(uint64_t id)
{
    const scb_backend_t *be = scb_backend_find(tu_backend);
    scb_seg_t seg;
    struct scb_hdr *hdr;
    int rc;

    MP_ASSERT(be != NULL, "backend %s", tu_backend);
    rc = scb_be_open(be, &seg, ring, 1);
    MP_ASSERT(rc == SCB_OK, "scb_be_open: %s", scb_strerror(rc));
    MP_ASSERT(seg.size >= sizeof *hdr, "segment of %zu bytes", seg.size);
    hdr = seg.base;
    atomic_store(&hdr->writer_id, id);
    scb_be_close(be, &seg);
}

/* A child that sends its process identity and sleeps until end of file. */
static int ident_main(void *arg)
{
    const int *fd = arg; /* report (write), command (read), command (write) */
    uint64_t id = scb_sys_proc_self();
    char c;

    close(fd[2]);

    if (write(fd[0], &id, sizeof id) != (ssize_t)sizeof id)
        return 2;
    while (read(fd[1], &c, 1) < 0 && errno == EINTR)
        ;
    return 0;
}

START_TEST(test_role_pid_reuse)
{
    scb_config_t wc;
    scb_info_t info;
    uint64_t id = 0, self, wrong;
    pid_t pid;
    int rep[2], cmd[2], kfd[3], rc, st;

    cfg = tu_cfg(16, 4);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));

    MP_ASSERT(pipe(rep) == 0 && pipe(cmd) == 0, "pipe: %s", strerror(errno));
    kfd[0] = rep[1];
    kfd[1] = cmd[0];
    kfd[2] = cmd[1];
    pid = spawn(ident_main, kfd);
    close(rep[1]);
    close(cmd[0]);
    MP_ASSERT(read_bytes(rep[0], &id, sizeof id, 10000) == sizeof id,
              "the child did not send its identity");
    MP_ASSERT((id >> 32) == (uint64_t)pid, "identity %#" PRIx64 " of pid %ld", id,
              (long)pid);

    /* The true identity of a live process holds the role. */
    set_writer_id(id);
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)pid,
              "live identity: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "takeover from a live identity: %s", scb_strerror(rc));

    /* The same live process id with another start time is a process whose
     * id was reused: the writer is dead. */
    wrong = (id & ~(uint64_t)UINT32_MAX) | (uint32_t)((uint32_t)id ^ 0x5a5a5a5au);
    set_writer_id(wrong);
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0, "reused pid %ld: writer_alive %d", (long)pid,
              info.writer_alive);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover from a reused pid (a live child's): %s",
              scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)getpid(),
              "after takeover: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);
    rc = scb_close(hs[2]);
    hs[2] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    /* The same with this very process's id. */
    self = scb_sys_proc_self();
    MP_ASSERT((self >> 32) == (uint64_t)getpid(), "own identity %#" PRIx64, self);
    set_writer_id((self & ~(uint64_t)UINT32_MAX) |
                  (uint32_t)((uint32_t)self ^ 0xa5a5a5a5u));
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover from a reused pid (our own): %s", scb_strerror(rc));

    close(cmd[1]);
    close(rep[0]);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the identity child: %s", st_str(st));
}
END_TEST

/* ---- 4. killing a reader never harms the ring ---------------------------- */

#define KILL_ROUNDS 12

START_TEST(test_reader_killed)
{
    struct reader_opts ro[3];
    struct writer_opts wo;
    pid_t wp, survivor, late;
    scb_info_t info;
    uint64_t pushed0;
    char c;
    int fds[2], i, st, rc;

    cfg = tu_cfg(256, 64);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    /* One reader runs throughout, from before the first push; others are
     * killed in mid-loop. */
    MP_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
    memset(ro, 0, sizeof ro);
    ro[0].slot = 0;
    ro[0].mode = R_MIX;
    ro[0].ready_fd = fds[1];
    survivor = spawn(reader_main, &ro[0]);
    MP_ASSERT(read_bytes(fds[0], &c, 1, 10000) == 1 && c == 'R', "reader did not open");
    writer_gone();
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.max_batch = 8;
    wp = spawn(writer_main, &wo);
    for (i = 0; i < KILL_ROUNDS; i++) {
        uint64_t t0 = now_ns();
        pid_t victim;

        ro[1].slot = 1 + i % 2;
        ro[1].mode = i % 2 ? R_FAST : R_SLOW;
        ro[1].ready_fd = fds[1];
        atomic_store(&sh->r[ro[1].slot].progress, 0);
        victim = spawn(reader_main, &ro[1]);
        MP_ASSERT(read_bytes(fds[0], &c, 1, 10000) == 1 && c == 'R',
                  "round %d: reader did not open", i);
        while (atomic_load(&sh->r[ro[1].slot].progress) < 100 &&
               now_ns() - t0 < 5000000000u)
            tu_sleep_us(100);
        MP_ASSERT(atomic_load(&sh->r[ro[1].slot].progress) >= 100,
                  "round %d: the reader read nothing", i);
        tu_sleep_us((unsigned)(rnd() % 1000));
        kill(victim, SIGKILL);
        st = reap(victim, REAP_MS);
        MP_ASSERT(killed9(st), "round %d: the victim: %s", i, st_str(st));
    }

    /* The writer kept pushing. */
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    scb_info(hs[1], &info);
    pushed0 = info.pushed;
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)wp,
              "writer_alive %d, writer_pid %" PRId64, info.writer_alive, info.writer_pid);

    /* A reader opened afterwards reads intact items. */
    ro[2].slot = 3;
    ro[2].mode = R_MIX;
    ro[2].ready_fd = -1;
    ro[2].max_items = 20000;
    late = spawn(reader_main, &ro[2]);
    st = reap(late, REAP_MS);
    MP_ASSERT(exited0(st), "late reader: %s, %s", st_str(st), rs_str(3));
    MP_ASSERT(sh->r[3].returned >= 20000 && sh->r[3].bad == 0 && sh->r[3].disorder == 0,
              "late reader: %s", rs_str(3));
    MP_ASSERT(sh->r[3].first_seq >= (pushed0 > 64 ? pushed0 - 64 : 0),
              "late reader started before the oldest item kept (%" PRIu64 "): %s",
              pushed0, rs_str(3));
    scb_info(hs[1], &info);
    MP_ASSERT(info.pushed > pushed0, "the writer stopped at %" PRIu64, pushed0);

    atomic_store(&sh->stop_writer, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "writer: %s", st_str(st));
    atomic_store(&sh->stop_readers, 1);
    st = reap(survivor, REAP_MS);
    close(fds[0]);
    close(fds[1]);
    MP_ASSERT(exited0(st), "surviving reader: %s, %s", st_str(st), rs_str(0));
    MP_ASSERT(sh->r[0].returned > 0 && sh->r[0].bad == 0 && sh->r[0].disorder == 0,
              "surviving reader: %s", rs_str(0));
    /* The writer is gone and pushes no more: what the survivor returned and
     * lost is everything pushed since it started (at 0). */
    MP_ASSERT(sh->r[0].returned + sh->r[0].lost == sh->r[0].pushed,
              "surviving reader: returned + lost != pushed: %s", rs_str(0));
}
END_TEST

/* ---- 5. many short-lived readers ----------------------------------------- */

#define SHORT_READERS 20

/* Opens, pops some, closes, three times over. */
static int short_reader_main(void *arg)
{
    struct reader_opts o = *(const struct reader_opts *)arg;
    int k, rc;

    for (k = 0; k < 3; k++) {
        memset(&sh->r[o.slot], 0, sizeof sh->r[o.slot]);
        o.oflags = (o.slot + k) % 2 ? SCB_LATEST : 0;
        o.mode = (o.slot + k) % 3;
        rc = reader_main(&o);
        if (rc != 0)
            return rc;
        if (sh->r[o.slot].returned == 0) {
            say("short reader %d: nothing read", o.slot);
            return 6;
        }
    }
    return 0;
}

START_TEST(test_many_readers)
{
    struct reader_opts ro[SHORT_READERS];
    struct writer_opts wo;
    pid_t wp, rp[SHORT_READERS];
    int i, st, rc;

    cfg = tu_cfg(128, 64);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.max_batch = 8;
    wp = spawn(writer_main, &wo);
    for (i = 0; i < SHORT_READERS; i++) {
        memset(&ro[i], 0, sizeof ro[i]);
        ro[i].slot = i;
        ro[i].ready_fd = -1;
        ro[i].max_items = 2000;
        rp[i] = spawn(short_reader_main, &ro[i]);
    }
    for (i = 0; i < SHORT_READERS; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "short reader %d: %s, %s", i, st_str(st), rs_str(i));
    }
    atomic_store(&sh->stop_writer, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "writer: %s", st_str(st));
}
END_TEST

/* ---- the suite ------------------------------------------------------------ */

static TCase *mp_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_unchecked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_checked_fixture(tc, mp_setup, mp_teardown);
    return tc;
}

Suite *tu_mp_suite(void)
{
    Suite *s = suite_create("mp");
    TCase *tc;

    tc = mp_tcase("mp_integrity");
    tcase_add_loop_test(tc, test_integrity, 0, INT_LOOPS);
    tcase_add_test(tc, test_integrity_three_fast);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_crash_takeover");
    tcase_add_loop_test(tc, test_crash_takeover, 0, 2);
    tcase_add_test(tc, test_crash_inside_big_batch);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_writer_role");
    tcase_add_test(tc, test_role_busy_then_killed);
    tcase_add_test(tc, test_role_closed);
    tcase_add_test(tc, test_role_pid_reuse);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_reader_killed");
    tcase_add_test(tc, test_reader_killed);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_many_readers");
    tcase_add_test(tc, test_many_readers);
    suite_add_tcase(s, tc);

    return s;
}
