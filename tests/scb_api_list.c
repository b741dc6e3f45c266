/*
 * scb_api_list.c - tcase "list" of the API suite of tests/check_scb:
 * scb_list finds, stops, checks its arguments and skips garbage.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

/* ------------------------------------------------------------------------ */
/* scb_list.                                                                */

#define LIST_N 3

/* How many times scb_list reported each of LIST_N names, and in all. */
typedef struct list_seen {
    const char *names[LIST_N];
    unsigned count[LIST_N];
    unsigned total;
    unsigned stop_after; /* 0: never stop */
} list_seen_t;

static int list_collect(const char *name, void *arg)
{
    list_seen_t *seen = arg;
    int i;

    ck_assert_ptr_nonnull(name);
    ck_assert_msg(name[0] != '\0' && strlen(name) <= SCB_NAME_MAX,
                  "scb_list reported a bad name");
    for (i = 0; i < LIST_N; i++)
        if (seen->names[i] != NULL && strcmp(seen->names[i], name) == 0)
            seen->count[i]++;
    seen->total++;
    return seen->stop_after != 0 && seen->total >= seen->stop_after;
}

/* Lists the suite's backend; 0 if it cannot list on this system. */
static int list_now(list_seen_t *seen)
{
    int rc, i;

    seen->total = 0;
    for (i = 0; i < LIST_N; i++)
        seen->count[i] = 0;
    rc = scb_list(tu_backend, list_collect, seen);
    if (rc == SCB_ENOTSUP && g_be->list == NULL)
        return 0;
    ck_assert_msg(rc == SCB_OK, "scb_list(%s) = %d (%s)", tu_backend, rc,
                  scb_strerror(rc));
    return 1;
}

START_TEST(test_list_finds)
{
    /* Separate arrays: GCC's truncation warning misjudges rows of a 2-D
     * array passed on to snprintf. */
    static char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], n2[SCB_NAME_MAX + 1];
    char *names[LIST_N] = {n0, n1, n2};
    scb_t *w[LIST_N];
    list_seen_t seen;
    scb_config_t cfg = tu_cfg(1, 2);
    int i;

    memset(&seen, 0, sizeof seen);
    new_name(n0, sizeof n0);
    new_name(n1, sizeof n1);
    new_name(n2, sizeof n2);
    for (i = 0; i < LIST_N; i++) {
        seen.names[i] = names[i];
        w[i] = mk_writer(names[i], (uint32_t)(i + 1), 4, 0);
    }
    if (!list_now(&seen)) {
        fprintf(stderr, "check_scb: %s cannot list here: SCB_ENOTSUP\n",
                tu_backend);
        for (i = 0; i < LIST_N; i++) {
            scb_close(w[i]);
            scb_unlink(names[i], &cfg);
        }
        return;
    }
    for (i = 0; i < LIST_N; i++)
        ck_assert_msg(seen.count[i] == 1, "%s listed %u times", names[i],
                      seen.count[i]);
    ck_assert_uint_ge(seen.total, LIST_N);

    /* An unlinked ring disappears, also while its writer keeps it open. */
    ck_assert_int_eq(scb_unlink(names[0], &cfg), SCB_OK);
    list_now(&seen);
    ck_assert_uint_eq(seen.count[0], 0);
    ck_assert_uint_eq(seen.count[1], 1);
    ck_assert_uint_eq(seen.count[2], 1);
    scb_close(w[0]);

    /* A ring without a writer is still a ring. */
    scb_close(w[1]);
    list_now(&seen);
    ck_assert_uint_eq(seen.count[1], 1);

    ck_assert_int_eq(scb_unlink(names[1], &cfg), SCB_OK);
    scb_close(w[2]);
    ck_assert_int_eq(scb_unlink(names[2], &cfg), SCB_OK);
    list_now(&seen);
    for (i = 0; i < LIST_N; i++)
        ck_assert_uint_eq(seen.count[i], 0);
}
END_TEST

START_TEST(test_list_stops)
{
    static char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1];
    char *names[2] = {n0, n1};
    scb_t *w[2];
    list_seen_t seen;
    scb_config_t cfg = tu_cfg(1, 2);
    int i;

    memset(&seen, 0, sizeof seen);
    new_name(n0, sizeof n0);
    new_name(n1, sizeof n1);
    for (i = 0; i < 2; i++)
        w[i] = mk_writer(names[i], 1, 2, 0);
    seen.stop_after = 1;
    if (list_now(&seen))
        ck_assert_uint_eq(seen.total, 1);
    for (i = 0; i < 2; i++) {
        scb_close(w[i]);
        scb_unlink(names[i], &cfg);
    }
}
END_TEST

START_TEST(test_list_args)
{
    list_seen_t seen;

    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(scb_list(tu_backend, NULL, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_list(NULL, NULL, &seen), SCB_EINVAL);
    ck_assert_int_eq(scb_list("no-such-backend", list_collect, &seen),
                     SCB_ENOTSUP);
    ck_assert_uint_eq(seen.total, 0);
    if (g_be->list == NULL)
        ck_assert_int_eq(scb_list(tu_backend, list_collect, &seen),
                         SCB_ENOTSUP);
}
END_TEST

/* A segment whose header is garbage is no ring: never listed, never a
 * crash (the forged segment is made through the backend directly). */
START_TEST(test_list_skips_garbage)
{
    scb_seg_t seg;
    list_seen_t seen;

    memset(&seen, 0, sizeof seen);
    seen.names[0] = g_name;
    ck_assert_int_eq(scb_backend_create(g_be, &seg, g_name, 4096, 0600),
                     SCB_OK);
    memset(seg.base, 0x5a, 4096);
    if (list_now(&seen) && !g_be->names_exact)
        ck_assert_uint_eq(seen.count[0], 0);
    ck_assert_int_eq(scb_backend_remove(g_be, &seg, g_name), SCB_OK);
    scb_backend_close(g_be, &seg);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_list(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "list", 20);
    tcase_add_test(tc, test_list_finds);
    tcase_add_test(tc, test_list_stops);
    tcase_add_test(tc, test_list_args);
    tcase_add_test(tc, test_list_skips_garbage);
}
