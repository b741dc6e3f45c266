/*
 * scb_wait_lossless.c - the SCB_LOSSLESS part of the wait suite of
 * tests/check_scb (see check_scb_wait.c): exact room, no reader, late
 * readers, the reader count, SCB_ELIMIT and a million items.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

/* ======================================================================== */
/* 3. Lossless: exact room                                                  */

static const uint64_t room_lengths[] = {1, 2, 7, 64, 1000};
#define N_ROOM_LENGTHS ((int)(sizeof room_lengths / sizeof room_lengths[0]))

START_TEST(test_exact_room)
{
    uint64_t L = room_lengths[_i], k, i;
    scb_info_t info;
    size_t c;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1); /* registered before the first push */
    next_push = next_pop = 0;
    info = w_info_of(0);
    W_ASSERT((info.flags & SCB_LOSSLESS) && info.length == L && info.readers == 1 &&
                 info.max_readers == 64,
             "L %" PRIu64 ": info: flags %#x, length %" PRIu64 ", readers %u, max_readers %u",
             L, (unsigned)info.flags, info.length, info.readers, info.max_readers);

    /* Exactly L pushes fit. */
    for (i = 0; i < L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "L %" PRIu64 ": push %" PRIu64 ": %s", L, i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": push %" PRIu64 " into a full ring: %s", L, L,
             scb_strerror(rc));
    {
        uint8_t item[16];
        tu_fill(item, sizeof item, next_push);
        rc = scb_push_wait(hs[0], item, 0);
        W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": scb_push_wait(0) into a full ring: %s", L,
                 scb_strerror(rc));
    }
    rc = push_n(0, 3, &c);
    W_ASSERT(rc == SCB_EAGAIN && c == 0,
             "L %" PRIu64 ": scb_push_many(3) into a full ring: %s, count %zu", L,
             scb_strerror(rc), c);
    rc = push_n(0, 0, &c);
    W_ASSERT(rc == SCB_OK && c == 0, "L %" PRIu64 ": scb_push_many(0): %s, count %zu", L,
             scb_strerror(rc), c);
    W_ASSERT(scb_usage(hs[0]) == L && scb_usage(hs[1]) == L,
             "L %" PRIu64 ": full: usage writer %" PRIu64 ", reader %" PRIu64, L,
             scb_usage(hs[0]), scb_usage(hs[1]));
    info = w_info_of(0);
    W_ASSERT(info.pushed == L && info.usage == L,
             "L %" PRIu64 ": full: pushed %" PRIu64 ", usage %" PRIu64, L, info.pushed,
             info.usage);

    /* The reader pops k: exactly k more fit, scb_push_many of more than
     * that pushes exactly k and says so. */
    k = (L + 1) / 2;
    pop_expect_n(1, k);
    W_ASSERT(scb_usage(hs[0]) == L - k, "L %" PRIu64 ": after %" PRIu64
             " pops: writer usage %" PRIu64, L, k, scb_usage(hs[0]));
    rc = push_n(0, (size_t)k + 3, &c);
    W_ASSERT(rc == SCB_OK && c == k, "L %" PRIu64 ": scb_push_many(%" PRIu64 ") with room for %"
             PRIu64 ": %s, count %zu", L, k + 3, k, scb_strerror(rc), c);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": push after filling the room: %s", L,
             scb_strerror(rc));
    W_ASSERT(scb_usage(hs[0]) == L, "L %" PRIu64 ": full again: usage %" PRIu64, L,
             scb_usage(hs[0]));

    /* Pops one by one, each making room for exactly one. */
    for (i = 0; i < 3 && i < L; i++) {
        pop_expect_n(1, 1);
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "L %" PRIu64 ": push after one pop: %s", L, scb_strerror(rc));
        rc = push1(0);
        W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": second push after one pop: %s", L,
                 scb_strerror(rc));
    }

    /* Drained: everything came, in order. */
    pop_expect_n(1, L);
    w_pop_empty(1);
    W_ASSERT(scb_usage(hs[0]) == 0 && scb_usage(hs[1]) == 0 && scb_lost(hs[1]) == 0,
             "L %" PRIu64 ": drained: usage %" PRIu64 "/%" PRIu64 ", lost %" PRIu64, L,
             scb_usage(hs[0]), scb_usage(hs[1]), scb_lost(hs[1]));

    /* An empty ring: scb_push_many of L + 5 pushes L; of n <= room, n. */
    if (L + 5 <= 2048) {
        rc = push_n(0, (size_t)L + 5, &c);
        W_ASSERT(rc == SCB_OK && c == L, "L %" PRIu64 ": scb_push_many(L + 5) into an empty "
                 "ring: %s, count %zu", L, scb_strerror(rc), c);
        pop_expect_n(1, L);
    }
    rc = push_n(0, (size_t)L, &c);
    W_ASSERT(rc == SCB_OK && c == L, "L %" PRIu64 ": scb_push_many(L) into an empty ring: "
             "%s, count %zu", L, scb_strerror(rc), c);
    rc = push_n(0, 1, &c);
    W_ASSERT(rc == SCB_EAGAIN && c == 0, "L %" PRIu64 ": scb_push_many(1) into a full ring: "
             "%s, count %zu", L, scb_strerror(rc), c);
    pop_expect_n(1, L);
    w_pop_empty(1);
    W_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
}
END_TEST

/* With no reader registered the writer never blocks; a reader that closed
 * holds nothing; a new reader starts at the oldest item kept (and then
 * holds those), an SCB_LATEST reader at the next push. */
START_TEST(test_no_reader)
{
    const uint64_t L = 7;
    uint8_t item[16];
    uint64_t i, t0;
    double dt;
    size_t c;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    next_push = 0;
    W_ASSERT(w_info_of(0).readers == 0, "readers %u", w_info_of(0).readers);
    for (i = 0; i < 3 * L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "no reader: push %" PRIu64 ": %s", i, scb_strerror(rc));
    }
    /* scb_push_many of 2L: "as many as fit now" may be read as the ring's
     * length or as all of them; either way at least L, and calls in a row
     * never stop making progress. */
    for (i = 0; i < 2 * L; i += c) {
        rc = push_n(0, (size_t)(2 * L - i), &c);
        W_ASSERT(rc == SCB_OK && c >= (2 * L - i < L ? 2 * L - i : L) && c <= 2 * L - i,
                 "no reader: scb_push_many(%" PRIu64 "): %s, count %zu", 2 * L - i,
                 scb_strerror(rc), c);
    }
    tu_fill(item, sizeof item, next_push);
    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK && dt < 50, "no reader: scb_push_wait(-1): %s after %.1f ms",
             scb_strerror(rc), dt);
    next_push++;
    W_ASSERT(scb_usage(hs[0]) == L, "writer usage %" PRIu64, scb_usage(hs[0]));

    /* A reader opened now starts at the oldest item kept, and holds it. */
    open_h(0, 0, 1);
    next_pop = next_push - L;
    W_ASSERT(scb_usage(hs[1]) == L && w_info_of(0).readers == 1,
             "new reader: usage %" PRIu64 ", readers %u", scb_usage(hs[1]),
             w_info_of(0).readers);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "a new reader with %" PRIu64 " unread items: scb_push = %s", L,
             scb_strerror(rc));
    pop_expect_n(1, 2);
    close_h(1);
    W_ASSERT(w_info_of(0).readers == 0, "closed: readers %u", w_info_of(0).readers);
    for (i = 0; i < 3 * L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "after the reader closed: push %" PRIu64 ": %s", i,
                 scb_strerror(rc));
    }

    /* SCB_LATEST: nothing unread at first, then exactly L fit. */
    open_h(0, SCB_LATEST, 1);
    next_pop = next_push;
    W_ASSERT(scb_usage(hs[1]) == 0, "SCB_LATEST reader: usage %" PRIu64, scb_usage(hs[1]));
    for (i = 0; i < L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "SCB_LATEST reader: push %" PRIu64 ": %s", i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "SCB_LATEST reader: push %" PRIu64 ": %s", L, scb_strerror(rc));
    pop_expect_n(1, L);
    w_pop_empty(1);
}
END_TEST

/* A reader that registers while another one has read everything starts at
 * the oldest item kept and is held to from its scb_open on: exactly the
 * room its unread items leave fits, and it loses nothing.  _i: how many
 * items were pushed (and read by the first reader) before it opened. */
static const uint64_t late_pushes[] = {0, 3, 8, 13, 21};
#define N_LATE ((int)(sizeof late_pushes / sizeof late_pushes[0]))

START_TEST(test_late_reader)
{
    const uint64_t L = 8, p = late_pushes[_i];
    uint64_t kept = p < L ? p : L, i, first;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = next_pop = 0;
    for (i = 0; i < p; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %" PRIu64 ": %s", i, scb_strerror(rc));
        pop_expect_n(1, 1);
    }
    open_h(0, 0, 2);
    W_ASSERT(scb_usage(hs[2]) == kept, "%" PRIu64 " pushed: the new reader has %" PRIu64
             " unread, expected %" PRIu64, p, scb_usage(hs[2]), kept);
    first = next_push - kept;
    for (i = 0; i < L - kept; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "%" PRIu64 " pushed, a reader opened with %" PRIu64
                 " unread: push %" PRIu64 ": %s", p, kept, i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "%" PRIu64 " pushed, a reader opened with %" PRIu64
             " unread: push %" PRIu64 " overwrote an item it had not read (%s)", p, kept,
             L - kept, scb_strerror(rc));
    pop_expect_n(1, next_push - next_pop);
    w_pop_empty(1);
    next_pop = first;
    W_ASSERT(scb_lost(hs[2]) == 0, "the new reader lost %" PRIu64, scb_lost(hs[2]));
    pop_expect_n(2, L);
    w_pop_empty(2);
}
END_TEST

/* scb_info: readers counts registered readers, in this and other
 * processes; max_readers comes from the config (default 64); overwrite
 * rings report 0 for both. */
START_TEST(test_reader_count)
{
    scb_config_t c;
    struct kopts o;
    scb_info_t info;
    int rfd[2], cfd[2], h, st, rc;
    pid_t pid;

    scb_config_init(&c);
    W_ASSERT(c.max_readers == 64, "scb_config_init: max_readers %u", c.max_readers);

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    info = w_info_of(0);
    W_ASSERT(info.max_readers == 64 && info.readers == 0,
             "default: max_readers %u, readers %u", info.max_readers, info.readers);
    for (h = 1; h <= 3; h++) {
        open_h(0, h == 2 ? SCB_LATEST : 0, h);
        info = w_info_of(0);
        W_ASSERT(info.readers == (uint32_t)h, "%d readers open: readers %u", h, info.readers);
        info = w_info_of(h);
        W_ASSERT(info.readers == (uint32_t)h && info.max_readers == 64,
                 "reader's view: readers %u, max_readers %u", info.readers, info.max_readers);
    }
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    W_ASSERT(w_info_of(0).readers == 4, "with a child's reader: readers %u", w_info_of(0).readers);
    put_byte(cfd[1], 'q');
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the reader child: %s", st_str(st));
    W_ASSERT(w_info_of(0).readers == 3, "the child closed: readers %u", w_info_of(0).readers);
    close_h(2);
    W_ASSERT(w_info_of(0).readers == 2, "one closed: readers %u", w_info_of(0).readers);
    close_h(1);
    close_h(3);
    W_ASSERT(w_info_of(0).readers == 0, "all closed: readers %u", w_info_of(0).readers);

    mk_ring(1, 16, 8, SCB_LOSSLESS, 5, 0, 4);
    open_h(1, 0, 5);
    W_ASSERT(w_info_of(4).max_readers == 5 && w_info_of(5).max_readers == 5 &&
                 w_info_of(4).readers == 1,
             "max_readers 5: writer says %u, reader %u; readers %u", w_info_of(4).max_readers,
             w_info_of(5).max_readers, w_info_of(4).readers);
    close_h(5);
    close_h(4);
    c = tu_cfg(0, 0);
    rc = scb_unlink(rings[1], &c);
    W_ASSERT(rc == SCB_OK, "scb_unlink: %s", scb_strerror(rc));

    mk_ring(1, 16, 8, 0, 5, 0, 4);
    open_h(1, 0, 5);
    open_h(1, 0, 6);
    info = w_info_of(4);
    W_ASSERT(info.max_readers == 0 && info.readers == 0 && !(info.flags & SCB_LOSSLESS),
             "overwrite ring: max_readers %u, readers %u, flags %#x", info.max_readers,
             info.readers, (unsigned)info.flags);
}
END_TEST

/* ======================================================================== */
/* 4. SCB_ELIMIT                                                            */

START_TEST(test_elimit)
{
    scb_t *h = (scb_t *)(void *)&h;
    struct kopts o;
    int rfd[2], cfd[2], rc, st, i;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 3, 0, 0);
    for (i = 1; i <= 3; i++)
        open_h(0, i == 3 ? SCB_LATEST : 0, i);
    rc = w_open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader (max_readers 3): %s", scb_strerror(rc));
    W_ASSERT(h == NULL, "a failed open left a handle");
    rc = w_open_rc(0, SCB_LATEST, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader with SCB_LATEST: %s", scb_strerror(rc));
    W_ASSERT(w_info_of(0).readers == 3, "readers %u", w_info_of(0).readers);

    /* The writer role takes no reader slot. */
    close_h(0);
    open_h(0, SCB_WRITER, 0);
    W_ASSERT(w_info_of(0).readers == 3, "after takeover: readers %u", w_info_of(0).readers);

    /* One closes: one more opens, and then none. */
    close_h(2);
    open_h(0, 0, 2);
    rc = w_open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "again a fourth reader: %s", scb_strerror(rc));

    /* Slots held in another process count; its close frees one. */
    close_h(3);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    rc = w_open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader beside a child's: %s", scb_strerror(rc));
    put_byte(cfd[1], 'q');
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the reader child: %s", st_str(st));
    open_h(0, 0, 3);

    /* Overwrite rings have no reader slots and no limit. */
    mk_ring(1, 16, 8, 0, 3, 0, 4);
    for (i = 5; i < MAX_HANDLES; i++)
        open_h(1, 0, i);
}
END_TEST

/* A reader killed (not closed) frees its slot for a new reader within 1 s.
 * _i 0: the dead reader is reaped, 1: it stays a zombie. */
START_TEST(test_elimit_dead_slot)
{
    scb_t *h = NULL;
    struct kopts o;
    uint64_t t0;
    int rfd[2], cfd[2], rc = SCB_ELIMIT, st;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 1, 0, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: it waits to be killed */
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    rc = w_open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "the one slot is taken: %s", scb_strerror(rc));
    t0 = now_ns();
    kill(pid, SIGKILL);
    if (_i == 0)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    for (;;) {
        rc = w_open_rc(0, 0, &hs[1]);
        if (rc != SCB_ELIMIT || now_ns() - t0 > 3000000000u)
            break;
        tu_sleep_us(1000);
    }
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK, "%s dead reader: a new reader: %s after %.1f ms",
             _i ? "zombie" : "reaped", scb_strerror(rc), dt);
    W_ASSERT(dt < 1000, "%s dead reader: its slot was free after %.1f ms",
             _i ? "zombie" : "reaped", dt);
    if (_i == 1) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    next_push = 0;
    next_pop = 0;
    rc = push1(0);
    W_ASSERT(rc == SCB_OK, "push: %s", scb_strerror(rc));
    pop_expect_n(1, 1);
}
END_TEST

/* ======================================================================== */
/* 5. A million items, lossless, in order                                   */

#define MILLION 1000000u

/* _i 0: one slow reader; 1: a slow and a fast reader. */
START_TEST(test_million)
{
    struct kopts o[3];
    pid_t rp[2], wp;
    int nr = _i + 1, rfd[2], st, j;
    uint64_t t0;

    mk_ring(0, 8, 1024, SCB_LOSSLESS, 0, 0, 0);
    mk_pipe(rfd);
    for (j = 0; j < nr; j++) {
        memset(&o[j], 0, sizeof o[j]);
        o[j].ring = 0;
        o[j].slot = j;
        o[j].ready_fd = rfd[1];
        o[j].cmd_fd = o[j].rep_fd = -1;
        o[j].n = MILLION;
        o[j].timeout_ms = 5000;
        o[j].fast = j == 1;
        o[j].nap_every = j == 0 ? 4096 : 0;
        o[j].nap_us = 1000;
        rp[j] = spawn(child_stream_reader, &o[j]);
        expect_ready(rfd[0], "a reader");
    }
    W_ASSERT(w_info_of(0).readers == (uint32_t)nr, "readers %u", w_info_of(0).readers);
    close_h(0);
    memset(&o[2], 0, sizeof o[2]);
    o[2].ring = 0;
    o[2].ready_fd = rfd[1];
    o[2].cmd_fd = o[2].rep_fd = -1;
    o[2].n = MILLION;
    t0 = now_ns();
    wp = spawn(child_stream_writer, &o[2]);
    expect_ready(rfd[0], "the writer");
    st = reap(wp, 60000);
    W_ASSERT(exited0(st), "the writer: %s after %.1f s (readers at %" PRIu64 ", %" PRIu64 ")",
             st_str(st), ms_since(t0) / 1e3, (uint64_t)atomic_load(&sh->k[0].progress),
             (uint64_t)atomic_load(&sh->k[1].progress));
    for (j = 0; j < nr; j++) {
        st = reap(rp[j], 10000);
        W_ASSERT(exited0(st), "reader %d (%s): %s, at item %" PRIu64 " of %u", j,
                 j ? "fast" : "slow", st_str(st), (uint64_t)atomic_load(&sh->k[j].progress),
                 MILLION);
        W_ASSERT(sh->k[j].returned == MILLION && sh->k[j].lost == 0,
                 "reader %d: returned %" PRIu64 ", lost %" PRIu64, j, sh->k[j].returned,
                 sh->k[j].lost);
    }
}
END_TEST

/* ======================================================================== */
/* The tcases of this file                                                  */

void tu_wait_add_lossless(Suite *s)
{
    TCase *tc;

    tc = w_tcase(s, "lossless_room", 20);
    tcase_add_loop_test(tc, test_exact_room, 0, N_ROOM_LENGTHS);
    tcase_add_test(tc, test_no_reader);
    tcase_add_loop_test(tc, test_late_reader, 0, N_LATE);
    tcase_add_test(tc, test_reader_count);

    tc = w_tcase(s, "lossless_elimit", 20);
    tcase_add_test(tc, test_elimit);
    tcase_add_loop_test(tc, test_elimit_dead_slot, 0, 2);

    tc = w_tcase(s, "lossless_million", 90);
    tcase_add_loop_test(tc, test_million, 0, 2);
}
