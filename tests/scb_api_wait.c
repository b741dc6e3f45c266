/*
 * scb_api_wait.c - tcase "records_wait" of the API suite of
 * tests/check_scb: scb_wait, and the _wait calls built on it, for a reader
 * and for a lossless writer, on record rings and fixed-size ones.
 *
 * Writer and readers are handles of this one process: nothing here forks,
 * so it runs on Windows too (CK_NOFORK), but for the tests that wait for
 * another thread (Unix only: the suite uses no threads on Windows).
 * Records are made and checked by the helpers of scb_api_records.h.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api_records.h"

#ifndef _WIN32
#include <pthread.h>
#endif

/* ------------------------------------------------------------------------ */
/* tcase "records_wait": scb_wait, and the _wait calls built on it.         */

/* _i 0: a fixed-size ring; 1: a record ring. */
START_TEST(test_wait_reader)
{
    const int R = _i;
    const uint32_t S = R ? 100 : 16;
    scb_t *w = mk_ring(R, S, R ? 1024 : 4, 0), *r = mk_open(g_name, 0);
    const void *cp;
    size_t len;
    double t0, dt;
    uint64_t k;

    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT); /* only a check */
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "scb_wait(0) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 60), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 55 && dt < 2000, "scb_wait(60) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 1), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 0.9 && dt < 500, "scb_wait(1) took %.1f ms", dt);

    /* Something to read: at once, whatever the timeout, consuming
     * nothing. */
    push_k(w, 1, S);
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK);
    ck_assert_int_eq(scb_wait(r, 1000), SCB_OK);
    ck_assert_int_eq(scb_wait(r, -1), SCB_OK);
    ck_assert_int_eq(scb_wait(r, INT64_MAX), SCB_OK);
    ck_assert_int_eq(scb_wait(r, INT64_MIN), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "scb_wait with a record waiting took %.1f ms", dt);
    ck_assert_uint_eq(scb_usage(r), R ? SCB_REC_SPAN(S) : 1);
    pop_k(r, S, 1, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* Peeked: at once. */
    push_k(w, 2, S);
    ck_assert_int_eq(scb_peek(r, &cp, &len), SCB_OK);
    ck_assert_int_eq(scb_wait(r, -1), SCB_OK);
    ck_assert_int_eq(scb_release(r), SCB_OK);
    ck_assert_int_eq(scb_wait(r, 0), SCB_ETIMEDOUT);
    /* Lapped: there is something (the oldest kept). */
    for (k = 3; k < 40; k++)
        push_k(w, k, S);
    ck_assert_int_eq(scb_wait(r, 0), SCB_OK);

    /* An overwrite writer never waits. */
    t0 = now_ms();
    ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
    ck_assert_int_eq(scb_wait(w, 1000), SCB_OK);
    ck_assert_int_eq(scb_wait(w, -1), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "an overwrite writer's scb_wait took %.1f ms", dt);

    if (!R) {
        /* The fixed-size _wait calls, now loops over the same wait. */
        uint8_t item[16];

        while (scb_pop(r, item) == SCB_OK)
            ;
        t0 = now_ms();
        ck_assert_int_eq(scb_pop_wait(r, item, 50), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt >= 45 && dt < 2000, "scb_pop_wait(50) took %.1f ms", dt);
        ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
        push_seq(w, item, S, 70);
        t0 = now_ms();
        ck_assert_int_eq(scb_push_wait(w, item, -1), SCB_OK);
        ck_assert_int_eq(scb_pop_wait(r, item, -1), SCB_OK);
        ck_assert_msg(now_ms() - t0 < 90, "the _wait calls waited");
        ck_assert_int_eq(scb_pop_wait(r, item, 1000), SCB_OK);
        ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    }
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

/* A lossless writer waits for room: none without readers; SCB_ETIMEDOUT
 * while its reader reads nothing; SCB_OK once there is room for a push of
 * item_size bytes, or once the reader that held it back left. */
START_TEST(test_wait_lossless_writer)
{
    const int R = _i;
    const uint32_t S = R ? 100 : 16;
    const uint64_t L = R ? 1024 : 4;
    scb_t *w = mk_ring(R, S, L, SCB_LOSSLESS), *r;
    uint8_t *b = xmalloc(S);
    double t0, dt;
    uint64_t k = 0, j;
    int round;

    ck_assert_int_eq(scb_wait(w, 0), SCB_OK); /* nobody to wait for */
    r = mk_open(g_name, 0);
    for (round = 0; round < 2; round++) {
        for (;;) {
            tu_fill(b, S, k);
            if (scb_push_record(w, b, S) != SCB_OK)
                break;
            k++;
        }
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 0), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt < 90, "scb_wait(0) took %.1f ms", dt);
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 60), SCB_ETIMEDOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt >= 55 && dt < 2000, "scb_wait(60) took %.1f ms", dt);
        if (!R) {
            ck_assert_int_eq(scb_push_wait(w, b, 0), SCB_EAGAIN);
            t0 = now_ms();
            ck_assert_int_eq(scb_push_wait(w, b, 50), SCB_ETIMEDOUT);
            dt = now_ms() - t0;
            ck_assert_msg(dt >= 45 && dt < 2000, "scb_push_wait(50) took %.1f ms", dt);
        }
        if (round == 0) {
            /* The reader catches up. */
            for (j = 0; j < k; j++)
                pop_k(r, S, j, S);
            pop_none(r, S);
        } else {
            /* The reader leaves. */
            ck_assert_int_eq(scb_close(r), SCB_OK);
            r = NULL;
        }
        t0 = now_ms();
        ck_assert_int_eq(scb_wait(w, 0), SCB_OK);
        ck_assert_int_eq(scb_wait(w, -1), SCB_OK);
        ck_assert_int_eq(scb_wait(w, 1000), SCB_OK);
        dt = now_ms() - t0;
        ck_assert_msg(dt < 90, "scb_wait with room took %.1f ms", dt);
        /* It said so: a push of item_size bytes goes through. */
        push_k(w, k++, S);
        if (!R)
            ck_assert_int_eq(scb_push_wait(w, b, 1000), SCB_OK);
        else
            push_k(w, k, S);
        k++;
    }
    free(b);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

#ifndef _WIN32
/* Another thread of this process, with its own handle, makes progress
 * after a delay.  (Unix only: the suite uses no threads on Windows.) */
enum { HELP_POP_ALL, HELP_PEEK_ALL, HELP_PUSH, HELP_COMMIT };

struct helper {
    scb_t *h;
    int what;
    uint32_t size;
    uint64_t k;     /* HELP_PUSH: the record pushed */
    int rc;
    uint64_t n;     /* HELP_POP_ALL: records popped */
};

static void *helper_main(void *arg)
{
    struct helper *a = arg;
    uint8_t *b = malloc(a->size);
    size_t len;

    if (b == NULL) {
        a->rc = SCB_ENOMEM;
        return NULL;
    }
    tu_sleep_us(100000);
    switch (a->what) {
    case HELP_PUSH:
        tu_fill(b, a->size, a->k);
        a->rc = scb_push_record(a->h, b, a->size);
        break;
    case HELP_COMMIT: {
        void *p = NULL;

        a->rc = scb_reserve(a->h, a->size, &p);
        if (a->rc == SCB_OK) {
            tu_fill(p, a->size, a->k);
            a->rc = scb_commit(a->h, a->size);
        }
        break;
    }
    case HELP_PEEK_ALL: {
        const void *cp;

        while ((a->rc = scb_peek(a->h, &cp, &len)) == SCB_OK &&
               (a->rc = scb_release(a->h)) == SCB_OK)
            a->n++;
        break;
    }
    default:
        while ((a->rc = scb_pop_record(a->h, b, a->size, &len)) == SCB_OK)
            a->n++;
        break;
    }
    free(b);
    return NULL;
}

/* _i: 0, 1: a lossless writer in scb_wait (fixed-size, records); 2: in
 * scb_push_wait; 3, 4: a reader in scb_wait (fixed-size, records); 5: in
 * scb_pop_wait; the other side pops or pushes.  6 to 8: as 0 to 2, the
 * other side peeks and releases; 9 to 11: as 3 to 5, the other side
 * reserves and commits. */
START_TEST(test_wait_thread)
{
    const int c = _i % 6, R = c == 1 || c == 4, writer_waits = c < 3;
    const uint32_t S = R ? 100 : 16;
    scb_t *w = mk_ring(R, S, R ? 1024 : 4, writer_waits ? SCB_LOSSLESS : 0);
    scb_t *r = mk_open(g_name, 0);
    struct helper a;
    pthread_t t;
    uint8_t *b = xmalloc(S);
    uint64_t k = 0;
    double t0, dt;
    int rc;

    memset(&a, 0, sizeof a);
    a.size = S;
    if (writer_waits) {
        for (;;) {
            tu_fill(b, S, k);
            if (scb_push_record(w, b, S) != SCB_OK)
                break;
            k++;
        }
        a.h = r;
        a.what = _i < 6 ? HELP_POP_ALL : HELP_PEEK_ALL;
    } else {
        a.h = w;
        a.what = _i < 6 ? HELP_PUSH : HELP_COMMIT;
        a.k = 42;
    }
    ck_assert_int_eq(pthread_create(&t, NULL, helper_main, &a), 0);
    t0 = now_ms();
    switch (c) {
    case 0:
    case 1:
        rc = scb_wait(w, 10000);
        break;
    case 2:
        tu_fill(b, S, k);
        rc = scb_push_wait(w, b, -1);
        break;
    case 3:
        rc = scb_wait(r, -1);
        break;
    case 4:
        rc = scb_wait(r, 10000);
        break;
    default:
        rc = scb_pop_wait(r, b, 10000);
        break;
    }
    dt = now_ms() - t0;
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(rc == SCB_OK, "the wait = %d (%s) after %.1f ms", rc,
                  scb_strerror(rc), dt);
    ck_assert_msg(dt >= 80 && dt < 5000, "the wait returned after %.1f ms", dt);
    if (writer_waits) {
        ck_assert_int_eq(a.rc, SCB_EAGAIN);
        if (c != 2) {
            ck_assert_uint_eq(a.n, k);
            push_k(w, k, S); /* the room it waited for */
            pop_k(r, S, k, S);
        } else {
            /* The helper may have popped the item pushed on waking. */
            ck_assert_msg(a.n == k || a.n == k + 1, "helper popped %ju of %ju",
                          (uintmax_t)a.n, (uintmax_t)k);
            if (a.n == k)
                pop_k(r, S, k, S);
        }
    } else {
        ck_assert_int_eq(a.rc, SCB_OK);
        if (c == 5)
            ck_assert(rec_is(b, S, 42));
        else
            pop_k(r, S, 42, S);
    }
    pop_none(r, S);
    free(b);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST
#endif /* !_WIN32 */

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_wait(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "records_wait", 30);
    tcase_add_loop_test(tc, test_wait_reader, 0, 2);
    tcase_add_loop_test(tc, test_wait_lossless_writer, 0, 2);
#ifndef _WIN32
    tcase_add_loop_test(tc, test_wait_thread, 0, 12);
#endif
}
