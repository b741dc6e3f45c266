/*
 * scb_mp_crash.c - the writer SIGKILLed at random points and taken over,
 * in the multi-process suite of tests/check_scb (see check_scb_mp.c):
 * the mp_crash_takeover tcase.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp.h"

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
        MP_ASSERT(mp_sh->r[0].finished == 0 && !mp_sh->r[0].timed_out,
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
    MP_ASSERT(final_end == atomic_load(&mp_sh->final_start) + CRASH_LENGTH,
              "pushed %" PRIu64 " after the clean writer started at %" PRIu64,
              final_end, (uint64_t)atomic_load(&mp_sh->final_start));
    atomic_store(&mp_sh->final_end, final_end);
    st = reap(rp, REAP_MS);
    if (getenv("SCB_MP_VERBOSE") != NULL)
        fprintf(stderr,
                "crash %s %u B: %d rounds (%u waited, %u taken, %u after retries, "
                "%u blind) in %.3f s, %" PRIu64 " pushed\n  %s\n",
                tu_backend, size, CRASH_ROUNDS, waited, taken, retried, blind,
                (double)(now_ns() - t0) / 1e9, final_end, rs_str(0));
    MP_ASSERT(exited0(st), "%u B: %s, %s", size, st_str(st), rs_str(0));
    MP_ASSERT(taken == waited, "takeover succeeded in %u of %u rounds", taken, waited);
    MP_ASSERT(mp_sh->r[0].bad == 0 && mp_sh->r[0].disorder == 0, "%u B: %s", size, rs_str(0));
    MP_ASSERT(mp_sh->r[0].returned > 0, "%u B: nothing returned: %s", size, rs_str(0));
    MP_ASSERT(mp_sh->r[0].have_last && mp_sh->r[0].last_seq == final_end - 1 &&
                  mp_sh->r[0].streak_start <= atomic_load(&mp_sh->final_start),
              "%u B: the clean writer's items %" PRIu64 "..%" PRIu64
              " were not all received: %s",
              size, (uint64_t)atomic_load(&mp_sh->final_start), final_end - 1, rs_str(0));
    MP_ASSERT(mp_sh->r[0].returned + mp_sh->r[0].lost == final_end,
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
    rc = scb_backend_open(be, &seg, ring, 1);
    MP_ASSERT(rc == SCB_OK, "scb_backend_open: %s", scb_strerror(rc));
    hdr = seg.base;
    head = atomic_load(&hdr->head);
    atomic_store(&hdr->claim, head + 3 * length);
    atomic_store(&hdr->writer_id, 0);
    scb_backend_close(be, &seg);
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

void tu_mp_add_crash(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_crash_takeover");
    tcase_add_loop_test(tc, test_crash_takeover, 0, 2);
    tcase_add_test(tc, test_crash_inside_big_batch);
    suite_add_tcase(s, tc);
}
