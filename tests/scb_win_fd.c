/*
 * scb_win_fd.c - the scb_fd tcases of the Windows multi-process suite
 * (win_fd_reader, win_fd_writer), which tu_win_suite (scb_win.c) adds
 * through tu_win_add_fd.  The fixture, the rings and the child processes
 * are scb_win.c's (scb_win.h); the children's fd_* roles are in
 * scb_win_child.c.  Compiled on Windows only.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#ifdef _WIN32

#include <stdatomic.h>

#include "scb_win.h"

/* ------------------------------------------------------------------------ */
/* 8. scb_fd: a bell's event HANDLE, rung by a child process.               */

/* 1 if the handle h is signalled now. */
static int signalled(HANDLE h)
{
    return WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
}

/* Like win_spawn, having made the child's "go" event first (not set). */
static void spawn_go(const char *role, uint64_t arg)
{
    char ev[SCB_NAME_MAX + 32];

    ck_assert(win_go_ev == NULL);
    win_go_name(ev, sizeof ev, win_ring);
    win_go_ev = CreateEventA(NULL, TRUE, FALSE, ev);
    ck_assert_msg(win_go_ev != NULL, "CreateEvent %s: error %lu", ev,
                  GetLastError());
    win_spawn(role, arg);
}

/* Lets the child act. */
static void go(void)
{
    ck_assert_msg(SetEvent(win_go_ev), "SetEvent(go): error %lu",
                  GetLastError());
}

/* A reader's handle: quiet after SCB_EAGAIN, signalled when a child process
 * pushes (WaitForMultipleObjects over it and an armed reader of another
 * ring), quiet again after the next SCB_EAGAIN, the same handle from every
 * scb_fd, closed by scb_close. */
START_TEST(test_fd_reader)
{
    char back[sizeof win_ring + 2];
    scb_config_t cfg = tu_cfg(32, 8);
    uint8_t item[32];
    scb_fd_t fd = NULL, again = NULL, other = NULL;
    HANDLE hv[2];
    uint64_t seq = 0, t0;
    unsigned long calls;
    DWORD w, flags;
    int rc;

    win_reader_of_new_ring(&cfg);
    /* Another ring, with an armed reader that nothing will wake. */
    win_back_name(back, sizeof back, win_ring);
    rc = scb_create(&win_hs[2], back, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create(%s): %s", back, scb_strerror(rc));
    rc = scb_open(&win_hs[3], back, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_open(%s): %s", back, scb_strerror(rc));
    rc = scb_fd(win_hs[3], &other);
    ck_assert_msg(rc == SCB_OK, "scb_fd on the other ring: %s",
                  scb_strerror(rc));
    ck_assert_int_eq(scb_pop(win_hs[3], item), SCB_EAGAIN);

    /* The child takes the writer role over (which rings the readers armed
     * then), then waits for "go". */
    spawn_go("fd_writer", 42);
    win_wait_ready();

    rc = scb_fd(win_hs[1], &fd);
    ck_assert_msg(rc == SCB_OK, "scb_fd: %s", scb_strerror(rc));
    ck_assert_msg(fd != NULL && fd != INVALID_HANDLE_VALUE && fd != other,
                  "scb_fd gave %s (the other ring's: %s)", X((uintptr_t)fd),
                  X((uintptr_t)other));
    rc = scb_fd(win_hs[1], &again);
    ck_assert_msg(rc == SCB_OK && again == fd,
                  "scb_fd again: %s, %s, the first %s", scb_strerror(rc),
                  X((uintptr_t)again), X((uintptr_t)fd));
    ck_assert_msg(GetHandleInformation(fd, &flags),
                  "GetHandleInformation: error %lu", GetLastError());
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop on an empty ring: %s",
                  scb_strerror(rc));
    ck_assert_msg(!signalled(fd), "the handle is signalled after SCB_EAGAIN");

    go();
    hv[0] = other;
    hv[1] = fd;
    t0 = win_now_ms();
    w = WaitForMultipleObjects(2, hv, FALSE, 10000);
    ck_assert_msg(
        w != WAIT_TIMEOUT,
        "the handle not signalled 10 s after the child was told to push");
    ck_assert_msg(
        w == WAIT_OBJECT_0 + 1,
        "WaitForMultipleObjects: %lu (0: the other ring's handle; error %lu)",
        (unsigned long)w, GetLastError());
    if (VERBOSE)
        fprintf(stderr, "win_fd_reader: woken %s ms after go\n",
                U(win_now_ms() - t0));
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_OK, "scb_pop once signalled: %s", scb_strerror(rc));
    ck_assert_msg(tu_check(item, sizeof item, &seq) && seq == 42, "item seq %s",
                  U(seq));
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_EAGAIN, "a second item: %s", scb_strerror(rc));
    ck_assert_msg(!signalled(fd),
                  "the handle is signalled after the second SCB_EAGAIN");
    /* The child pushes nothing more (it waits to be killed). */
    w = WaitForMultipleObjects(2, hv, FALSE, 200);
    ck_assert_msg(w == WAIT_TIMEOUT,
                  "a handle signalled with nothing pushed: %lu",
                  (unsigned long)w);
    win_kill_child();

    rc = scb_close(win_hs[1]);
    win_hs[1] = NULL;
    ck_assert_msg(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
    ck_assert_msg(!GetHandleInformation(fd, &flags),
                  "the handle is still open after scb_close");
    ck_assert_msg(!signalled(other), "the other ring's handle is signalled");

    /* The other ring, in this process: a push rings its armed reader with
     * one counted call, the next push makes none (the bell is disarmed). */
    calls = atomic_load(&scb_sys_wake_calls);
    tu_fill(item, sizeof item, 0);
    ck_assert_int_eq(scb_push(win_hs[2], item), SCB_OK);
    ck_assert_msg(atomic_load(&scb_sys_wake_calls) == calls + 1,
                  "a push to an armed reader made %s wake-up calls",
                  U(atomic_load(&scb_sys_wake_calls) - calls));
    ck_assert_msg(signalled(other), "the other ring's handle after a push");
    tu_fill(item, sizeof item, 1);
    ck_assert_int_eq(scb_push(win_hs[2], item), SCB_OK);
    ck_assert_msg(atomic_load(&scb_sys_wake_calls) == calls + 1,
                  "a push with nobody armed made %s wake-up calls",
                  U(atomic_load(&scb_sys_wake_calls) - calls - 1));
    ck_assert_int_eq(scb_pop(win_hs[3], item), SCB_OK);
    ck_assert_int_eq(scb_pop(win_hs[3], item), SCB_OK);
    ck_assert_int_eq(scb_pop(win_hs[3], item), SCB_EAGAIN);
    ck_assert_msg(!signalled(other),
                  "the other ring's handle after SCB_EAGAIN");
}
END_TEST

/* A lossless writer's handle: SCB_EAGAIN on a full ring arms it; its timer
 * signals it about 100 ms later even with no reader reading; a child
 * process that pops makes room and signals it. */
START_TEST(test_fd_writer)
{
    scb_config_t cfg = tu_cfg(32, 8);
    uint8_t item[32];
    scb_fd_t fd = NULL, again = NULL;
    uint64_t i, t0, waited, wakes = 0;
    DWORD w, flags;
    int rc;

    cfg.flags = SCB_LOSSLESS;
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    spawn_go("fd_reader", 1);
    win_wait_ready(); /* its slot holds the writer back from now on */

    rc = scb_fd(win_hs[0], &fd);
    ck_assert_msg(rc == SCB_OK, "scb_fd: %s", scb_strerror(rc));
    rc = scb_fd(win_hs[0], &again);
    ck_assert_msg(rc == SCB_OK && again == fd,
                  "scb_fd again: %s, %s, the first %s", scb_strerror(rc),
                  X((uintptr_t)again), X((uintptr_t)fd));
    for (i = 0; i <= 8; i++) {
        tu_fill(item, sizeof item, i);
        if ((rc = scb_push(win_hs[0], item)) != SCB_OK)
            break;
    }
    ck_assert_msg(rc == SCB_EAGAIN && i == 8,
                  "a lossless ring of 8: push %s: %s", U(i), scb_strerror(rc));

    /* Nobody reads: the timer signals it anyway.  (Not asserted quiet for
     * long: being timed, it may be signalled ~100 ms after any SCB_EAGAIN.) */
    t0 = win_now_ms();
    rc = scb_push(win_hs[0], item);
    ck_assert_msg(rc == SCB_EAGAIN, "push on a full ring: %s",
                  scb_strerror(rc));
    w = WaitForSingleObject(fd, 5000);
    waited = win_now_ms() - t0;
    ck_assert_msg(w == WAIT_OBJECT_0,
                  "the handle not signalled 5 s after SCB_EAGAIN (%lu)",
                  (unsigned long)w);
    ck_assert_msg(waited >= 50, "signalled %s ms after SCB_EAGAIN, nobody read",
                  U(waited));
    if (VERBOSE)
        fprintf(stderr, "win_fd_writer: the timer after %s ms\n", U(waited));

    /* Re-armed, then the child pops one item: room, and a signal. */
    rc = scb_push(win_hs[0], item);
    ck_assert_msg(rc == SCB_EAGAIN, "push on a full ring again: %s",
                  scb_strerror(rc));
    go();
    t0 = win_now_ms();
    for (;;) {
        w = WaitForSingleObject(fd, 5000);
        ck_assert_msg(w == WAIT_OBJECT_0,
                      "the handle not signalled in 5 s (%lu)",
                      (unsigned long)w);
        wakes++;
        rc = scb_push(win_hs[0], item);
        if (rc == SCB_OK)
            break;
        ck_assert_msg(rc == SCB_EAGAIN, "push once signalled: %s",
                      scb_strerror(rc));
        ck_assert_msg(win_now_ms() - t0 < 10000,
                      "no room 10 s after the reader child was told to pop");
    }
    if (VERBOSE)
        fprintf(stderr, "win_fd_writer: room after %s ms, %s wake-ups\n",
                U(win_now_ms() - t0), U(wakes));
    win_kill_child();

    rc = scb_close(win_hs[0]);
    win_hs[0] = NULL;
    ck_assert_msg(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
    ck_assert_msg(!GetHandleInformation(fd, &flags),
                  "the handle is still open after scb_close");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases, for tu_win_suite.                                            */

void tu_win_add_fd(Suite *s)
{
    suite_add_tcase(s, win_tcase("win_fd_reader", test_fd_reader));
    suite_add_tcase(s, win_tcase("win_fd_writer", test_fd_writer));
}

#endif /* _WIN32 */
