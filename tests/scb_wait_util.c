/*
 * scb_wait_util.c - the wait suite's fixture, the helpers of its test
 * process and the bodies of its children (declared in scb_wait.h), shared
 * by check_scb_wait.c, scb_wait_lossless.c and scb_wait_dead.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

struct shared *sh;

void w_setup(void)
{
    mh_setup(MH_WAIT, MAX_RINGS);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(sh != MAP_FAILED, "mmap of the shared state failed");
    memset(sh, 0, sizeof *sh);
}

void w_teardown(void)
{
    mh_teardown();
    if (sh != NULL && sh != MAP_FAILED)
        munmap(sh, sizeof *sh);
    sh = NULL;
}

TCase *w_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_unchecked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_checked_fixture(tc, w_setup, w_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

/* ---- helpers of the test process ---------------------------------------- */

const char *kind(uint32_t flags)
{
    return (flags & SCB_LOSSLESS) ? "lossless" : "overwrite";
}

/* The apr backend creates 0600 only (README): another mode is SCB_ENOTSUP
 * and leaves nothing behind.  1 if that was checked (apr), 0 otherwise. */
int apr_mode_refused(int k, uint32_t flags, uint32_t mode)
{
    scb_config_t c = tu_cfg(16, 8);
    scb_t *h = NULL;
    int rc;

    if (strcmp(tu_backend, "apr") != 0)
        return 0;
    c.flags = flags;
    c.mode = mode;
    rc = scb_create(&h, rings[k], &c);
    W_ASSERT(rc == SCB_ENOTSUP && h == NULL,
             "apr: scb_create with mode %#o = %s, not SCB_ENOTSUP",
             (unsigned)mode, scb_strerror(rc));
    W_ASSERT(scb_open(&h, rings[k], &c) == SCB_ENOENT, "apr: refused ring exists");
    return 1;
}

/* Creates rings[k] and keeps the writer in hs[h]. */
void mk_ring(int k, uint32_t size, uint64_t length, uint32_t flags,
                    uint32_t max_readers, uint32_t mode, int h)
{
    scb_config_t c = tu_cfg(size, length);
    int rc;

    c.flags = flags;
    c.max_readers = max_readers;
    c.mode = mode;
    rc = scb_create(&hs[h], rings[k], &c);
    W_ASSERT(rc == SCB_OK,
             "scb_create(%s ring, item_size %u, length %" PRIu64 ", max_readers %u): %s",
             kind(flags), size, length, max_readers, scb_strerror(rc));
}

int w_open_rc(int k, uint32_t flags, scb_t **out)
{
    scb_config_t c = tu_cfg(0, 0);

    c.flags = flags;
    return scb_open(out, rings[k], &c);
}

/* Opens rings[k] into hs[h] and asserts it worked. */
void open_h(int k, uint32_t flags, int h)
{
    int rc = w_open_rc(k, flags, &hs[h]);

    W_ASSERT(rc == SCB_OK, "scb_open(ring %d, flags %#x): %s", k, (unsigned)flags,
             scb_strerror(rc));
}

void close_h(int h)
{
    int rc = scb_close(hs[h]);

    hs[h] = NULL;
    W_ASSERT(rc == SCB_OK, "scb_close(handle %d): %s", h, scb_strerror(rc));
}

scb_info_t w_info_of(int h)
{
    scb_info_t info;
    int rc = scb_info(hs[h], &info);

    W_ASSERT(rc == SCB_OK, "scb_info(handle %d): %s", h, scb_strerror(rc));
    return info;
}

/* Test process: asserts that a child wrote 'R' (it opened its ring). */
void expect_ready(int fd, const char *who)
{
    char c = 0;

    read_bytes(fd, &c, 1, READY_MS);
    W_ASSERT(c == 'R', "%s did not get ready (%s)", who,
             c == 0 ? "no word in time" : c == 'E' ? "its scb_open failed" : "bad word");
}

int k_open(const struct kopts *o, uint32_t flags, scb_t **h)
{
    scb_config_t c = tu_cfg(0, 0);
    uint64_t until = now_ns() + 2000000000u;
    int rc;

    c.flags = flags;
    /* A writer waits until the test process has given the role up. */
    while ((rc = scb_open(h, rings[o->ring], &c)) == SCB_EBUSY &&
           (flags & SCB_WRITER) && now_ns() < until)
        tu_sleep_us(500);
    if (rc != SCB_OK) {
        say("scb_open(ring %d, flags %#x): %s", o->ring, (unsigned)flags,
            scb_strerror(rc));
        if (o->ready_fd >= 0)
            put_byte(o->ready_fd, 'E');
    }
    return rc;
}

void ready(const struct kopts *o)
{
    if (o->ready_fd >= 0)
        put_byte(o->ready_fd, 'R');
}

/* Opens the ring as writer, gets ready, waits for the go, sleeps delay_us,
 * pushes item seq. */
int child_push_later(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    tu_sleep_us(o->delay_us);
    tu_fill(item, sizeof item, o->seq);
    rc = scb_push(w, item);
    if (rc != SCB_OK) {
        say("push_later: scb_push: %s", scb_strerror(rc));
        return 1;
    }
    return scb_close(w) == SCB_OK ? 0 : 2;
}

/* Opens the ring as reader, gets ready, waits for the go, sleeps delay_us,
 * pops one item, which must be seq. */
int child_pop_later(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t s = UINT64_MAX;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    tu_sleep_us(o->delay_us);
    rc = scb_pop(r, item);
    if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->seq) {
        say("pop_later: scb_pop: %s, seq %" PRIu64 ", expected %" PRIu64,
            scb_strerror(rc), s, o->seq);
        return 1;
    }
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* Ping-pong: reads every item of rings[0] with scb_pop_wait(-1) and pushes
 * it back on rings[1], n items. */
int child_echo(void *arg)
{
    const struct kopts *o = arg;
    struct kopts o1 = *o;
    uint8_t item[16];
    uint64_t i, s;
    scb_t *r, *w;
    int rc;

    o1.ring = 0;
    if (k_open(&o1, 0, &r) != SCB_OK)
        return 10;
    o1.ring = 1;
    if (k_open(&o1, SCB_WRITER, &w) != SCB_OK)
        return 10;
    ready(o);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, -1);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != i) {
            say("echo: round %" PRIu64 ": scb_pop_wait(-1): %s, seq %" PRIu64, i,
                scb_strerror(rc), rc == SCB_OK ? s : 0);
            return 1;
        }
        rc = scb_push_wait(w, item, 2000);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": scb_push_wait: %s", i, scb_strerror(rc));
            return 2;
        }
    }
    scb_close(r);
    scb_close(w);
    return 0;
}

/* A reader of n items in order from o->seq: scb_pop_wait(timeout_ms) one by
 * one, or (fast) scb_pop_many with scb_pop_wait only when nothing waits.
 * Every item must be intact and the next seq; scb_lost must stay 0. */
int child_stream_reader(void *arg)
{
    const struct kopts *o = arg;
    struct kstat *st = &sh->k[o->slot];
    enum { BATCH = 256 };
    static uint8_t buf[BATCH * 64];
    uint64_t exp = o->seq, end = o->seq + o->n;
    scb_info_t info;
    uint32_t size;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    scb_info(r, &info);
    size = info.item_size;
    if (size > 64) {
        say("reader %d: items of %u bytes are too big for this test", o->slot, size);
        return 11;
    }
    ready(o);
    while (exp < end) {
        size_t got = 0, i;
        uint64_t before = exp;

        if (o->fast) {
            size_t max = (size_t)(end - exp < BATCH ? end - exp : BATCH);
            rc = scb_pop_many(r, buf, 1 + (size_t)(rnd() % max), &got);
            if (rc == SCB_EAGAIN) {
                rc = scb_pop_wait(r, buf, o->timeout_ms);
                got = rc == SCB_OK;
            }
        } else {
            rc = scb_pop_wait(r, buf, o->timeout_ms);
            got = rc == SCB_OK;
        }
        if (rc != SCB_OK) {
            say("reader %d: waiting for seq %" PRIu64 ": %s (lost %" PRIu64 ")", o->slot,
                exp, scb_strerror(rc), scb_lost(r));
            st->returned = exp - o->seq;
            return 3;
        }
        for (i = 0; i < got; i++) {
            uint64_t s = UINT64_MAX;
            if (!tu_check(buf + i * size, size, &s) || s != exp) {
                say("reader %d: got %s seq %" PRIu64 ", expected %" PRIu64 " (lost %" PRIu64 ")",
                    o->slot, s == UINT64_MAX ? "a torn item," : "", s, exp, scb_lost(r));
                st->returned = exp - o->seq;
                return 1;
            }
            exp++;
        }
        atomic_store_explicit(&st->progress, exp - o->seq, memory_order_relaxed);
        if (o->nap_every != 0 && exp / o->nap_every != before / o->nap_every)
            tu_sleep_us(o->nap_us);
    }
    st->returned = exp - o->seq;
    st->lost = scb_lost(r);
    if (st->lost != 0) {
        say("reader %d: scb_lost %" PRIu64 " after all items came", o->slot, st->lost);
        return 4;
    }
    scb_close(r);
    return 0;
}

/* The writer of the million-item test: n items from the ring's pushed count
 * on, in a random mix of scb_push_wait(-1) and scb_push_many (what does not
 * fit goes through scb_push_wait(-1), then scb_push_many again). */
int child_stream_writer(void *arg)
{
    const struct kopts *o = arg;
    enum { BATCH = 64 };
    uint8_t buf[BATCH * 64];
    uint64_t seq, end;
    scb_info_t info;
    uint32_t size;
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    scb_info(w, &info);
    size = info.item_size;
    if (size > 64)
        return 11;
    seq = info.pushed;
    end = seq + o->n;
    ready(o);
    while (seq < end) {
        uint64_t r = rnd();
        size_t k = 1 + (size_t)(r % BATCH), done = 0, j;

        if (k > end - seq)
            k = (size_t)(end - seq);
        for (j = 0; j < k; j++)
            tu_fill(buf + j * size, size, seq + j);
        if ((r >> 32) & 1) {
            for (j = 0; j < k; j++) {
                rc = scb_push_wait(w, buf + j * size, -1);
                if (rc != SCB_OK) {
                    say("writer: scb_push_wait(-1) at seq %" PRIu64 ": %s", seq + j,
                        scb_strerror(rc));
                    return 1;
                }
            }
        } else {
            while (done < k) {
                size_t c = 99999;
                rc = scb_push_many(w, buf + done * size, k - done, &c);
                if (rc == SCB_OK && c >= 1 && c <= k - done) {
                    done += c;
                    continue;
                }
                if (rc != SCB_EAGAIN || c != 0) {
                    say("writer: scb_push_many(%zu) at seq %" PRIu64 ": %s, count %zu",
                        k - done, seq + done, scb_strerror(rc), c);
                    return 2;
                }
                rc = scb_push_wait(w, buf + done * size, -1);
                if (rc != SCB_OK) {
                    say("writer: scb_push_wait(-1) at seq %" PRIu64 ": %s", seq + done,
                        scb_strerror(rc));
                    return 1;
                }
                done++;
            }
        }
        seq += k;
    }
    return scb_close(w) == SCB_OK ? 0 : 5;
}

/* A reader that registers and then does nothing (ring >= 0), or no ring at
 * all (ring < 0): waits for a byte or end of file on cmd_fd, then closes.
 * With timeout_ms != 0 it sleeps in scb_pop_wait(timeout_ms) instead, over
 * and over, until it is killed (a victim). */
int child_idle(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[64];
    scb_t *r = NULL;

    if (o->ring >= 0 && k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    if (o->timeout_ms != 0) {
        for (;;) {
            int rc = scb_pop_wait(r, item, o->timeout_ms);
            if (rc != SCB_OK && rc != SCB_ETIMEDOUT) {
                say("victim: scb_pop_wait: %s", scb_strerror(rc));
                return 1;
            }
        }
    }
    await_byte(o->cmd_fd);
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* A reader that sleeps in scb_pop_wait(-1) for n items from o->seq and
 * writes a byte to rep_fd for each. */
int child_waiter(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t i, s;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, -1);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->seq + i) {
            say("waiter: item %" PRIu64 ": scb_pop_wait(-1): %s, seq %" PRIu64
                ", expected %" PRIu64, i, scb_strerror(rc), rc == SCB_OK ? s : 0,
                o->seq + i);
            return 1;
        }
        put_byte(o->rep_fd, 'i');
    }
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* A writer that takes the role over, pushes n items with scb_push (they
 * must fit), gets ready and then blocks in scb_push_wait(timeout_ms) with
 * the next item; records when that returned and what it said. */
int child_blocked_writer(void *arg)
{
    const struct kopts *o = arg;
    struct kstat *st = &sh->k[o->slot];
    uint8_t item[16];
    scb_info_t info;
    uint64_t seq, i;
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    scb_info(w, &info);
    seq = info.pushed;
    for (i = 0; i < o->n; i++) {
        tu_fill(item, sizeof item, seq);
        rc = scb_push(w, item);
        if (rc != SCB_OK) {
            say("blocked writer: scb_push of seq %" PRIu64 ": %s", seq, scb_strerror(rc));
            return 1;
        }
        seq++;
    }
    tu_fill(item, sizeof item, seq);
    ready(o);
    st->t_call = now_ns();
    rc = scb_push_wait(w, item, o->timeout_ms);
    st->t_ret = now_ns();
    st->rc = rc;
    atomic_store(&st->done, 1);
    if (rc != SCB_OK) {
        say("blocked writer: scb_push_wait(%" PRId64 ") of seq %" PRIu64 ": %s after %.1f ms",
            o->timeout_ms, seq, scb_strerror(rc), ms_between(st->t_call, st->t_ret));
        return 5;
    }
    return scb_close(w) == SCB_OK ? 0 : 2;
}

/* Test process: the seq counters of the single-process tests. */
uint64_t next_push, next_pop;

/* Pushes one item (seq next_push) on hs[h]; returns scb_push's code. */
int push1(int h)
{
    uint8_t item[16];
    int rc;

    tu_fill(item, sizeof item, next_push);
    rc = scb_push(hs[h], item);
    if (rc == SCB_OK)
        next_push++;
    return rc;
}

/* Pushes items next_push.. with scb_push_many(n); returns its code. */
int push_n(int h, size_t n, size_t *count)
{
    static uint8_t buf[2048 * 16];
    size_t i;
    int rc;

    W_ASSERT(n <= 2048, "push_n(%zu): too many", n);
    for (i = 0; i < n; i++)
        tu_fill(buf + i * 16, 16, next_push + i);
    *count = 12345;
    rc = scb_push_many(hs[h], buf, n, count);
    if (rc == SCB_OK && *count <= n)
        next_push += *count;
    return rc;
}

/* Pops n items from hs[h], which must be next_pop.. in order. */
void pop_expect_n(int h, uint64_t n)
{
    uint8_t item[16];
    uint64_t i, s;
    int rc;

    for (i = 0; i < n; i++) {
        s = UINT64_MAX;
        rc = scb_pop(hs[h], item);
        W_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == next_pop,
                 "pop %" PRIu64 " of %" PRIu64 ": %s, seq %" PRIu64 ", expected %" PRIu64,
                 i, n, scb_strerror(rc), s, next_pop);
        next_pop++;
    }
}

void w_pop_empty(int h)
{
    uint8_t item[16];
    int rc = scb_pop(hs[h], item);

    W_ASSERT(rc == SCB_EAGAIN, "scb_pop on a drained ring: %s, expected SCB_EAGAIN",
             scb_strerror(rc));
}

/* ======================================================================== */
/* 1. Timeouts                                                              */

/* _i 0: overwrite ring, 1: lossless ring (with the reader registered). */
