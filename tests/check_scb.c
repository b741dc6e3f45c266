/*
 * check_scb.c - the per-backend Check suite: tests/check_scb BACKEND.
 *
 * It runs the API suite (tu_api_suite: the contract of spec/API.md and
 * scb.h, one tcase per feature) and the multi-process suite of check_scb_mp.c
 * (tu_mp_suite) and the lossless and wait suite (tu_wait_suite) on one
 * backend, with CK_FORK on.
 *
 * On Windows there is no fork: Check runs every test in this process
 * (CK_NOFORK), the tests that fork or need Unix (users and groups, signals,
 * mmap, /dev/shm, listing, permissions) are left out, and the multi-process
 * suite is tu_win_suite (scb_win.c), whose children are this program run
 * again as check_scb --child ....  A failing test there longjmps out of its
 * function and leaves its handles open; its teardown still runs and names
 * are removed by reg_sweep at the end as on Unix.
 *
 * Every test works on rings with unique names (tu_name) that its checked
 * fixture removes.  A test that fails or times out never reaches its
 * teardown (Check ends the forked test process at once), so every name is
 * also recorded in a table shared with main(), which removes what is left
 * after the run: a failing test must not leak shared memory either.
 *
 * The hostile-segment tests play the other side the library must not trust:
 * they forge and rewrite segments through the internal backend API
 * (backend.h) and the segment format (layout.h).  Nothing else here touches a
 * ring except through the public API.
 *
 * This file assembles the API suite (tu_api_suite) from the tcases of
 * scb_api_args.c, scb_api_rings.c, scb_api_roles.c, scb_api_hostile.c,
 * scb_api_records.c, scb_api_zerocopy.c, scb_api_records_mixed.c,
 * scb_api_wait.c, scb_api_records_hostile.c, scb_api_list.c, scb_api_perms.c and
 * scb_api_objects.c, whose shared helpers and fixture are scb_api_util.c
 * (scb_api.h; the record files also share scb_api_records.h), and holds
 * main().  The multi-process and
 * wait suites share the harness of mputil.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION comes from config.h (or -DPACKAGE_VERSION when built by hand)"
#endif

/* ------------------------------------------------------------------------ */
/* The suite.                                                               */

Suite *tu_api_suite(void)
{
    static char suite_name[64];
    Suite *s;

    snprintf(suite_name, sizeof suite_name, "scb-%s", tu_backend);
    s = suite_create(suite_name);
    tu_api_add_args(s);
    tu_api_add_rings(s);
    tu_api_add_roles(s);
    tu_api_add_hostile(s);
    tu_api_add_records(s);
    tu_api_add_zerocopy(s);
    tu_api_add_records_mixed(s);
    tu_api_add_wait(s);
    tu_api_add_records_hostile(s);
#ifndef _WIN32
    tu_api_add_list(s);
    tu_api_add_perms(s);
    tu_api_add_objects(s);
#endif
    return s;
}


static void usage(FILE *f)
{
    const char *const *b = scb_backends();

    fprintf(f, "usage: check_scb BACKEND\n  BACKEND: one of");
    for (; *b != NULL; b++)
        fprintf(f, " %s", *b);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    const char *const *b;
    SRunner *sr;
    int failed;

#ifdef _WIN32
    /* A child of the Windows multi-process suite: nothing else first. */
    if (argc >= 2 && strcmp(argv[1], "--child") == 0)
        return tu_win_child(argc, argv);
#endif
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    for (b = scb_backends(); *b != NULL; b++)
        if (strcmp(*b, argv[1]) == 0)
            break;
    if (*b == NULL) {
        fprintf(stderr, "check_scb: backend \"%s\" is not built in\n", argv[1]);
        usage(stderr);
        return 2;
    }
    tu_backend = *b;
    printf("check_scb: backend %s\n", tu_backend);
    fflush(stdout);

    reg_init();
    sr = srunner_create(tu_api_suite());
#ifdef _WIN32
    srunner_add_suite(sr, tu_win_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
#else
    srunner_add_suite(sr, tu_mp_suite());
    srunner_add_suite(sr, tu_wait_suite());
    srunner_set_fork_status(sr, CK_FORK);
#endif
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    reg_sweep();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
