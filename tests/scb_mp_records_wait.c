/*
 * scb_mp_records_wait.c - scb_wait on record rings across processes, in
 * the multi-process suite of tests/check_scb (see check_scb_mp.c): records
 * played back and forth between two processes on two rings, each side
 * waiting in scb_wait, and a lossless writer waiting for room that a
 * reader process makes.  The mp_records_wait tcase, which has a fixture
 * of its own (two rings).
 *
 * The record children are scb_mp_rec_children.c (scb_mp_records.h); the
 * conventions of check_scb_mp.c apply.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp_records.h"

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

static TCase *rec2_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_unchecked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_checked_fixture(tc, rec2_setup, rec2_teardown);
    return tc;
}

void tu_mp_add_records_wait(Suite *s)
{
    TCase *tc;

    tc = rec2_tcase("mp_records_wait");
    tcase_add_loop_test(tc, test_records_pingpong, 0, 2);
    tcase_add_test(tc, test_records_wait_room);
    suite_add_tcase(s, tc);
}
