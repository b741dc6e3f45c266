/*
 * scb_mp_records.c - record rings and zero-copy across processes, in the
 * multi-process suite of tests/check_scb (see check_scb_mp.c): forked
 * writers pushing records of mixed lengths (scb_push_record, and
 * scb_reserve/scb_commit with a shorter commit), forked readers checking
 * every byte, length and index (scb_pop_record, scb_peek/scb_release),
 * empty records and the length probe, and readers that open while records
 * flow.  The mp_records and mp_records_late_readers tcases; its
 * tu_mp_add_records adds every record tcase of the suite, in order, those
 * of scb_mp_records_crash.c, scb_mp_records_wait.c and
 * scb_mp_records_overrun.c too.
 *
 * The record children and the records they push and check are
 * scb_mp_rec_children.c (scb_mp_records.h).  The conventions of
 * check_scb_mp.c apply: children report through a shared mapping and their
 * exit status, every assertion goes through MP_ASSERT, every loop has a
 * deadline.  Writers push for a bounded time as well as a bounded count, so
 * the tcases stay short under sanitizers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp_records.h"

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

void tu_mp_add_records(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_records");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_mixed, 0, 4);
    tcase_add_test(tc, test_records_empty_probe);
    suite_add_tcase(s, tc);

    tu_mp_add_records_crash(s);
    tu_mp_add_records_wait(s);
    tu_mp_add_records_overrun(s);

    tc = mp_tcase("mp_records_late_readers");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_loop_test(tc, test_records_late_readers, 0, 2);
    suite_add_tcase(s, tc);
}
