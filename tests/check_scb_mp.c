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
 * shared with the wait suite.  This file holds the fixture, the integrity
 * tcase and tu_mp_suite; scb_mp.h is what the suite's files share, the
 * reader and writer children are scb_mp_children.c, the crash tcase
 * scb_mp_crash.c, the writer role, killed and many readers
 * scb_mp_role.c, and record rings and zero-copy scb_mp_records.c,
 * scb_mp_records_crash.c, scb_mp_records_wait.c and
 * scb_mp_records_overrun.c, whose record children are
 * scb_mp_rec_children.c (scb_mp_records.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp.h"

struct shared *mp_sh;

scb_config_t cfg;

static void mp_setup(void)
{
    mh_setup(MH_MP, 1);
    cfg = tu_cfg(8, 8);
    mp_sh = mmap(NULL, sizeof *mp_sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(mp_sh != MAP_FAILED, "mmap of the shared state failed");
    memset(mp_sh, 0, sizeof *mp_sh);
}

static void mp_teardown(void)
{
    mh_teardown();
    if (mp_sh != NULL && mp_sh != MAP_FAILED)
        munmap(mp_sh, sizeof *mp_sh);
    mp_sh = NULL;
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
        const struct rstat *s = &mp_sh->r[i];

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

/* ---- the suite ------------------------------------------------------------ */

TCase *mp_tcase(const char *name)
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

    tu_mp_add_crash(s);
    tu_mp_add_role(s);
    tu_mp_add_records(s);

    return s;
}
