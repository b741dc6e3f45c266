/*
 * scb_win.c - the Windows multi-process suite of tests/check_scb
 * (tu_win_suite, the win_* tcases).  The processes it starts are in
 * scb_win_child.c (tu_win_child).  Compiled on Windows only.
 *
 * Check for Windows cannot fork (CK_NOFORK), so a test that needs a second
 * process starts check_scb.exe itself as "check_scb.exe --child ROLE
 * BACKEND RING ARG PPID"; main() hands such a command line to
 * tu_win_child, whose return value is the process's exit code: 0 when the
 * child did what its role says, else non-zero after a line on stderr.
 * A child ends by itself when its parent dies or after CHILD_LIFE_MS, so a
 * test run that goes wrong leaves no process behind.  A child that is ready
 * sets the named event "Local\scb-test-RING", which the parent made.
 *
 * Without fork a failing ck_assert longjmps out of the test function, and
 * Check does not enforce tcase timeouts: every wait here is bounded, and the
 * checked fixture's teardown (which Check runs after a failure too) kills
 * the test's children, closes its handles and removes its rings.
 *
 * Rings are used through the public API only; the OS layer (sys.h) is
 * called only to check process liveness (and its count of wake-up calls
 * read), and the apr backend's file path only to check what a crash leaves
 * on disk.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#ifdef _WIN32

#include "scb_win.h"

/* ------------------------------------------------------------------------ */
/* The fixture: what a test made, for the teardown to undo.                 */

char win_ring[64];
HANDLE win_ready_ev;
HANDLE win_go_ev; /* the fd_* children's "go" event, NULL if none */
HANDLE win_kid; /* the test's child process, NULL if none */
scb_t *win_hs[4];

void win_setup(void)
{
    tu_name(win_ring, sizeof win_ring);
    win_ready_ev = NULL;
    win_go_ev = NULL;
    win_kid = NULL;
    memset(win_hs, 0, sizeof win_hs);
}

void win_teardown(void)
{
    scb_config_t cfg = tu_cfg(0, 0);
    size_t i;

    if (win_kid != NULL) {
        if (WaitForSingleObject(win_kid, 0) != WAIT_OBJECT_0) {
            TerminateProcess(win_kid, 99);
            WaitForSingleObject(win_kid, 10000);
        }
        CloseHandle(win_kid);
        win_kid = NULL;
    }
    for (i = 0; i < sizeof win_hs / sizeof win_hs[0]; i++) {
        scb_close(win_hs[i]);
        win_hs[i] = NULL;
    }
    if (win_ready_ev != NULL)
        CloseHandle(win_ready_ev);
    win_ready_ev = NULL;
    if (win_go_ev != NULL)
        CloseHandle(win_go_ev);
    win_go_ev = NULL;
    scb_unlink(win_ring, &cfg);
    {
        char back[sizeof win_ring + 2];

        win_back_name(back, sizeof back, win_ring);
        scb_unlink(back, &cfg); /* test_ping_pong's; SCB_ENOENT elsewhere */
    }
    _putenv("SCB_SPIN_US="); /* test_ping_pong sets it */
}

/* Starts "check_scb.exe --child ROLE BACKEND ring ARG PPID" as kid,
 * having made the readiness event. */
void win_spawn(const char *role, uint64_t arg)
{
    char exe[MAX_PATH], cmd[2 * MAX_PATH], ev[SCB_NAME_MAX + 32];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE), dup = NULL;
    DWORD n;
    BOOL ok;

    ck_assert(win_kid == NULL && win_ready_ev == NULL);
    win_event_name(ev, sizeof ev, win_ring);
    win_ready_ev = CreateEventA(NULL, TRUE, FALSE, ev);
    ck_assert_msg(win_ready_ev != NULL, "CreateEvent %s: error %lu", ev, GetLastError());
    n = GetModuleFileNameA(NULL, exe, sizeof exe);
    ck_assert_msg(n > 0 && n < sizeof exe, "GetModuleFileName: error %lu", GetLastError());
    snprintf(cmd, sizeof cmd, "\"%s\" --child %s %s %s %s %lu", exe, role,
             tu_backend, win_ring, U(arg), (unsigned long)GetCurrentProcessId());

    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* The child reports on our stderr: hand it an inheritable copy (and
     * nothing else is inheritable here). */
    if (err != NULL && err != INVALID_HANDLE_VALUE &&
        DuplicateHandle(GetCurrentProcess(), err, GetCurrentProcess(), &dup, 0, TRUE,
                        DUPLICATE_SAME_ACCESS)) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = NULL;
        si.hStdOutput = dup;
        si.hStdError = dup;
    }
    ok = CreateProcessA(exe, cmd, NULL, NULL, dup != NULL, 0, NULL, NULL, &si, &pi);
    if (dup != NULL)
        CloseHandle(dup);
    ck_assert_msg(ok, "CreateProcess %s: error %lu", cmd, GetLastError());
    CloseHandle(pi.hThread);
    win_kid = pi.hProcess;
}

/* The exit code of kid once it ended within ms, else a failure. */
DWORD win_reap(DWORD ms)
{
    DWORD code = 0;

    ck_assert_msg(WaitForSingleObject(win_kid, ms) == WAIT_OBJECT_0,
                  "the child still runs after %lu ms", (unsigned long)ms);
    ck_assert(GetExitCodeProcess(win_kid, &code));
    return code;
}

/* Kills kid and waits until it is gone (its handle stays open). */
void win_kill_child(void)
{
    DWORD code = 0;

    if (WaitForSingleObject(win_kid, 0) == WAIT_OBJECT_0) {
        GetExitCodeProcess(win_kid, &code);
        ck_abort_msg("the child ended by itself (exit code %lu) before it was killed",
                     (unsigned long)code);
    }
    ck_assert_msg(TerminateProcess(win_kid, 9), "TerminateProcess: error %lu", GetLastError());
    ck_assert_msg(win_reap(REAP_MS) == 9, "the killed child's exit code");
}

/* Waits until kid sets the readiness event; fails if it ends first. */
void win_wait_ready(void)
{
    HANDLE hv[2];
    DWORD w, code = 0;

    hv[0] = win_ready_ev;
    hv[1] = win_kid;
    w = WaitForMultipleObjects(2, hv, FALSE, READY_MS);
    if (w == WAIT_OBJECT_0 + 1)
        GetExitCodeProcess(win_kid, &code);
    ck_assert_msg(w != WAIT_OBJECT_0 + 1,
                  "the child ended (exit code %lu) before it got ready", (unsigned long)code);
    ck_assert_msg(w == WAIT_OBJECT_0, "the child not ready after %d ms (wait %lu)", READY_MS,
                  (unsigned long)w);
}

/* Creates the test's ring with cfg, opens a reader on it as hs[1], and
 * closes the writer handle, so that a child can take the writer role
 * over. */
void win_reader_of_new_ring(const scb_config_t *cfg)
{
    int rc = scb_create(&win_hs[0], win_ring, cfg);

    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    rc = scb_open(&win_hs[1], win_ring, cfg);
    ck_assert_msg(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    rc = scb_close(win_hs[0]);
    win_hs[0] = NULL;
    ck_assert_msg(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
}

/* What a reader saw: items returned, how many failed tu_check, how many were
 * not above the one before, the last seq. */
struct seen {
    uint64_t returned, bad, disorder, last;
    int have_last;
};

static void see(struct seen *s, const void *item, size_t size)
{
    uint64_t seq;

    s->returned++;
    if (!tu_check(item, size, &seq)) {
        s->bad++;
        return;
    }
    if (s->have_last && seq <= s->last)
        s->disorder++;
    s->last = seq;
    s->have_last = 1;
}

/* Pops what r holds now into s. */
static void drain(scb_t *r, struct seen *s, uint32_t size)
{
    static uint8_t buf[64 * 1024];
    size_t max = sizeof buf / size, cnt, i;
    int rc;

    while ((rc = scb_pop_many(r, buf, max, &cnt)) == SCB_OK)
        for (i = 0; i < cnt; i++)
            see(s, buf + i * size, size);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop_many: %s", scb_strerror(rc));
}

/* ------------------------------------------------------------------------ */
/* 1. Two processes, lossless: every item arrives, in order.               */

#define TWO_N 100000

START_TEST(test_two_process)
{
    scb_config_t cfg = tu_cfg(64, 64);
    scb_info_t info;
    uint8_t item[64];
    uint64_t i;
    DWORD code;
    int rc;

    cfg.flags = SCB_LOSSLESS;
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    win_spawn("reader", TWO_N);
    win_wait_ready();
    scb_info(win_hs[0], &info);
    ck_assert_msg(info.readers == 1, "readers %u once the child opened",
                  (unsigned)info.readers);
    for (i = 0; i < TWO_N; i++) {
        tu_fill(item, sizeof item, i);
        rc = scb_push_wait(win_hs[0], item, 10000);
        ck_assert_msg(rc == SCB_OK, "item %s: scb_push_wait: %s", U(i),
                      scb_strerror(rc));
    }
    code = win_reap(REAP_MS);
    ck_assert_msg(code == 0, "the reader child exited with %lu", (unsigned long)code);
    scb_info(win_hs[0], &info);
    ck_assert_msg(info.pushed == TWO_N, "pushed %s", U(info.pushed));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 2. Child writer, parent reader, overwrite mode: returned + lost == pushed.*/

START_TEST(test_child_writer)
{
    scb_config_t cfg = tu_cfg(64, 64);
    struct seen s;
    scb_info_t info;
    uint8_t item[64];
    uint64_t t0, lost;
    int done = 0, rc;
    DWORD code;

    memset(&s, 0, sizeof s);
    win_reader_of_new_ring(&cfg);
    win_spawn("writer", TWO_N);
    t0 = win_now_ms();
    while (!done) {
        /* Exited before this last drain: everything is in the ring. */
        done = WaitForSingleObject(win_kid, 0) == WAIT_OBJECT_0;
        drain(win_hs[1], &s, sizeof item);
        if (done)
            break;
        ck_assert_msg(win_now_ms() - t0 < REAP_MS, "the writer child still runs after %d ms",
                      REAP_MS);
        rc = scb_pop_wait(win_hs[1], item, 20);
        ck_assert_msg(rc == SCB_OK || rc == SCB_ETIMEDOUT, "scb_pop_wait: %s",
                      scb_strerror(rc));
        if (rc == SCB_OK)
            see(&s, item, sizeof item);
    }
    code = win_reap(0);
    ck_assert_msg(code == 0, "the writer child exited with %lu", (unsigned long)code);
    lost = scb_lost(win_hs[1]);
    scb_info(win_hs[1], &info);
    ck_assert_msg(info.pushed == TWO_N, "pushed %s", U(info.pushed));
    ck_assert_msg(s.bad == 0 && s.disorder == 0, "%s items torn, %s out of order",
                  U(s.bad), U(s.disorder));
    ck_assert_msg(s.returned > 0 && s.have_last && s.last == TWO_N - 1,
                  "returned %s, last seq %s", U(s.returned), U(s.last));
    ck_assert_msg(s.returned + lost == TWO_N, "returned %s + lost %s != pushed %d",
                  U(s.returned), U(lost), TWO_N);
    if (VERBOSE)
        fprintf(stderr, "win_child_writer: returned %s, lost %s\n", U(s.returned), U(lost));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 3. The writer killed, then taken over; the reader carries on.           */

START_TEST(test_crash_takeover)
{
    scb_config_t cfg = tu_cfg(64, 256), wcfg;
    struct seen s;
    scb_info_t info;
    uint8_t item[64];
    uint64_t t0, p, i, lost;
    int rc;

    memset(&s, 0, sizeof s);
    win_reader_of_new_ring(&cfg);
    win_spawn("writer", 0);
    win_wait_ready();
    t0 = win_now_ms();
    for (;;) {
        drain(win_hs[1], &s, sizeof item);
        scb_info(win_hs[1], &info);
        if (info.pushed > 1000)
            break;
        ck_assert_msg(win_now_ms() - t0 < READY_MS, "pushed only %s after %d ms",
                      U(info.pushed), READY_MS);
        Sleep(1);
    }
    ck_assert_msg(info.writer_alive == 1 &&
                      info.writer_pid == (int64_t)GetProcessId(win_kid),
                  "writer_alive %d, writer_pid %s, the child is %lu", info.writer_alive,
                  S(info.writer_pid), (unsigned long)GetProcessId(win_kid));
    wcfg = cfg;
    wcfg.flags = SCB_WRITER;
    rc = scb_open(&win_hs[3], win_ring, &wcfg); /* the teardown closes it if it opens */
    ck_assert_msg(rc == SCB_EBUSY, "scb_open(SCB_WRITER) with a live writer: %s",
                  scb_strerror(rc));

    win_kill_child();
    drain(win_hs[1], &s, sizeof item);
    rc = scb_open(&win_hs[2], win_ring, &wcfg);
    ck_assert_msg(rc == SCB_OK, "scb_open(SCB_WRITER) after the writer was killed: %s",
                  scb_strerror(rc));
    scb_info(win_hs[2], &info);
    ck_assert_msg(info.is_writer == 1 && info.writer_alive == 1, "is_writer %d, writer_alive %d",
                  info.is_writer, info.writer_alive);
    p = info.pushed;
    ck_assert_msg(p > 1000, "pushed %s", U(p));
    for (i = p; i < p + 100; i++) {
        tu_fill(item, sizeof item, i);
        rc = scb_push(win_hs[2], item);
        ck_assert_msg(rc == SCB_OK, "scb_push: %s", scb_strerror(rc));
    }
    drain(win_hs[1], &s, sizeof item);
    lost = scb_lost(win_hs[1]);
    ck_assert_msg(s.bad == 0 && s.disorder == 0, "%s items torn, %s out of order",
                  U(s.bad), U(s.disorder));
    ck_assert_msg(s.have_last && s.last == p + 99,
                  "the reader's last seq %s, the new writer's last %s", U(s.last),
                  U(p + 99));
    ck_assert_msg(s.returned + lost == p + 100, "returned %s + lost %s != pushed %s",
                  U(s.returned), U(lost), U(p + 100));
    if (VERBOSE)
        fprintf(stderr, "win_crash_takeover: killed after %s items; returned %s, lost %s\n",
                U(p), U(s.returned), U(lost));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 4. A lossless reader killed stops holding the writer back.               */

START_TEST(test_dead_reader)
{
    scb_config_t cfg = tu_cfg(64, 16);
    scb_info_t info;
    uint8_t item[64];
    uint64_t i, t0, took;
    int rc;

    cfg.flags = SCB_LOSSLESS;
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    win_spawn("stall", 0);
    win_wait_ready();
    scb_info(win_hs[0], &info);
    ck_assert_msg(info.readers == 1, "readers %u", (unsigned)info.readers);
    for (i = 0; i < 16; i++) {
        tu_fill(item, sizeof item, i);
        rc = scb_push(win_hs[0], item);
        ck_assert_msg(rc == SCB_OK, "item %s: scb_push: %s", U(i), scb_strerror(rc));
    }
    tu_fill(item, sizeof item, 16);
    rc = scb_push(win_hs[0], item);
    ck_assert_msg(rc == SCB_EAGAIN, "scb_push into a full ring: %s", scb_strerror(rc));
    rc = scb_push_wait(win_hs[0], item, 200);
    ck_assert_msg(rc == SCB_ETIMEDOUT, "scb_push_wait with a live stalled reader: %s",
                  scb_strerror(rc));

    win_kill_child();
    t0 = win_now_ms();
    rc = scb_push_wait(win_hs[0], item, 5000);
    took = win_now_ms() - t0;
    ck_assert_msg(rc == SCB_OK, "scb_push_wait after the reader was killed: %s (%s ms)",
                  scb_strerror(rc), U(took));
    ck_assert_msg(took < 3000, "the dead reader held the writer back %s ms", U(took));
    if (VERBOSE)
        fprintf(stderr, "win_dead_reader: the killed reader held the writer %s ms\n", U(took));
    for (i = 17; i < 117; i++) {
        tu_fill(item, sizeof item, i);
        rc = scb_push(win_hs[0], item);
        ck_assert_msg(rc == SCB_OK, "item %s with no live reader: %s", U(i),
                      scb_strerror(rc));
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 5. A reader waiting in scb_pop_wait is woken by another process.         */

START_TEST(test_cross_wake)
{
    scb_config_t cfg = tu_cfg(32, 16);
    uint8_t item[32];
    uint64_t t0, took, seq = 0;
    DWORD code;
    int rc;

    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    t0 = win_now_ms();
    rc = scb_pop_wait(win_hs[1], item, 100);
    took = win_now_ms() - t0;
    ck_assert_msg(rc == SCB_ETIMEDOUT, "scb_pop_wait(100) on an empty ring: %s",
                  scb_strerror(rc));
    ck_assert_msg(took >= 80 && took < 5000, "scb_pop_wait(100) took %s ms", U(took));
    rc = scb_close(win_hs[0]);
    win_hs[0] = NULL;
    ck_assert_msg(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    win_spawn("late", 42);
    rc = scb_pop_wait(win_hs[1], item, 10000);
    ck_assert_msg(rc == SCB_OK, "scb_pop_wait(10000) for the child's item: %s",
                  scb_strerror(rc));
    ck_assert_msg(tu_check(item, sizeof item, &seq) && seq == 42, "item seq %s",
                  U(seq));
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_EAGAIN, "a second item: %s", scb_strerror(rc));
    code = win_reap(REAP_MS);
    ck_assert_msg(code == 0, "the writer child exited with %lu", (unsigned long)code);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 5b. Ping-pong between two processes, both sides asleep in scb_pop_wait   */
/* (SCB_SPIN_US=0): every round is a wake-up across processes through the   */
/* rings' named events, and every item comes back, in order.               */

#define PING_ROUNDS 2000

START_TEST(test_ping_pong)
{
    char back[sizeof win_ring + 2];
    scb_config_t cfg = tu_cfg(16, 8);
    uint8_t item[16];
    uint64_t i, seq = 0, t0, took;
    DWORD code;
    int rc;

    /* Read when a handle opens, here and in the child (inherited). */
    ck_assert_int_eq(_putenv("SCB_SPIN_US=0"), 0);
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    win_spawn("echo", PING_ROUNDS);
    win_wait_ready();
    win_back_name(back, sizeof back, win_ring);
    rc = scb_open(&win_hs[1], back, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_open(%s): %s", back, scb_strerror(rc));
    t0 = win_now_ms();
    for (i = 0; i < PING_ROUNDS; i++) {
        tu_fill(item, sizeof item, i);
        rc = scb_push(win_hs[0], item);
        ck_assert_msg(rc == SCB_OK, "round %s: scb_push: %s", U(i), scb_strerror(rc));
        rc = scb_pop_wait(win_hs[1], item, 10000);
        ck_assert_msg(rc == SCB_OK, "round %s: scb_pop_wait: %s", U(i),
                      scb_strerror(rc));
        ck_assert_msg(tu_check(item, sizeof item, &seq) && seq == i,
                      "round %s: got seq %s", U(i), U(seq));
    }
    took = win_now_ms() - t0;
    tu_fill(item, sizeof item, PING_ROUNDS);
    ck_assert_int_eq(scb_push(win_hs[0], item), SCB_OK);
    code = win_reap(REAP_MS);
    ck_assert_msg(code == 0, "the echo child exited with %lu", (unsigned long)code);
    ck_assert_int_eq(scb_pop(win_hs[1], item), SCB_EAGAIN);
    ck_assert_uint_eq(scb_lost(win_hs[1]), 0);
    if (VERBOSE)
        printf("ping_pong: %d round trips in %s ms\n", PING_ROUNDS, U(took));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 6. A ring whose creator was killed: still there, readable, removable.    */

START_TEST(test_unlink_after_crash)
{
    scb_config_t cfg = tu_cfg(0, 0);
    scb_info_t info;
    char path[MAX_PATH + SCB_NAME_MAX];
    uint8_t item[32];
    uint64_t i, seq;
    int is_apr = strcmp(tu_backend, "apr") == 0, rc;

    win_spawn("creator", 5);
    win_wait_ready();
    win_kill_child();

    if (is_apr) {
        rc = scb_apr_file_path(win_ring, path, sizeof path);
        ck_assert_msg(rc == SCB_OK, "scb_apr_file_path: %s", scb_strerror(rc));
        ck_assert_msg(GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES,
                      "%s is gone after its creator was killed (error %lu)", path,
                      GetLastError());
    }
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_open after the creator was killed: %s",
                  scb_strerror(rc));
    scb_info(win_hs[1], &info);
    ck_assert_msg(info.item_size == 32 && info.length == 8 && info.pushed == 5,
                  "item_size %u, length %s, pushed %s", (unsigned)info.item_size,
                  U(info.length), U(info.pushed));
    ck_assert_msg(info.writer_alive == 0, "writer_alive %d after the writer was killed",
                  info.writer_alive);
    for (i = 0; i < 5; i++) {
        rc = scb_pop(win_hs[1], item);
        ck_assert_msg(rc == SCB_OK, "item %s: scb_pop: %s", U(i), scb_strerror(rc));
        ck_assert_msg(tu_check(item, sizeof item, &seq) && seq == i,
                      "item %s: torn, or seq %s", U(i), U(seq));
    }
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_EAGAIN, "a sixth item: %s", scb_strerror(rc));
    rc = scb_close(win_hs[1]);
    win_hs[1] = NULL;
    ck_assert_msg(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    rc = scb_unlink(win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_unlink: %s", scb_strerror(rc));
    if (is_apr)
        ck_assert_msg(GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES,
                      "%s is still there after scb_unlink", path);
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_ENOENT, "scb_open after scb_unlink: %s", scb_strerror(rc));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 6b. Hostile ring files (apr): a name file holding garbage, a data file   */
/* cut short, one padded with garbage.  Open says SCB_EBADFORMAT and never  */
/* maps past the file; scb_unlink removes what is there.                    */

/* Overwrites `path` (opened anew) with n bytes of `fill`, or cuts it to n
 * bytes (fill < 0). */
static void rewrite_file(const char *path, size_t n, int fill)
{
    HANDLE h = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    static char buf[4096];
    LARGE_INTEGER at;
    DWORD put;

    ck_assert_msg(h != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    at.QuadPart = (LONGLONG)n;
    if (fill < 0) {
        ck_assert(SetFilePointerEx(h, at, NULL, FILE_BEGIN));
        ck_assert(SetEndOfFile(h));
    } else {
        memset(buf, fill, sizeof buf);
        ck_assert(n <= sizeof buf);
        ck_assert(WriteFile(h, buf, (DWORD)n, &put, NULL) && put == n);
        ck_assert(SetEndOfFile(h));
    }
    CloseHandle(h);
}

START_TEST(test_hostile_files)
{
    scb_config_t cfg = tu_cfg(32, 8);
    char data[MAX_PATH + SCB_NAME_MAX], name[MAX_PATH + SCB_NAME_MAX], *dot;
    uint8_t item[32];
    int rc;

    if (strcmp(tu_backend, "apr") != 0)
        return;
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    tu_fill(item, sizeof item, 7);
    ck_assert_int_eq(scb_push(win_hs[0], item), SCB_OK);
    ck_assert_int_eq(scb_close(win_hs[0]), SCB_OK);
    win_hs[0] = NULL;
    rc = scb_apr_file_path(win_ring, data, sizeof data);
    ck_assert_msg(rc == SCB_OK, "scb_apr_file_path: %s", scb_strerror(rc));
    strcpy(name, data);
    dot = strrchr(name, '.');
    ck_assert_ptr_nonnull(dot);
    *dot = '\0'; /* the name file: the data file's path less ".<generation>" */
    ck_assert(GetFileAttributesA(name) != INVALID_FILE_ATTRIBUTES);

    /* _i 0: a name file of garbage. */
    if (_i == 0)
        rewrite_file(name, 16, 'z');
    /* _i 1: a data file of 100 bytes. */
    if (_i == 1)
        rewrite_file(data, 100, -1);
    /* _i 2: a data file whose APR size words say 2^63 and whose ring header
     * is zeros (APR's words are in its first 16 bytes). */
    if (_i == 2) {
        HANDLE h = CreateFileA(data, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        static uint8_t junk[8192];
        DWORD put;

        ck_assert(h != INVALID_HANDLE_VALUE);
        memset(junk, 0, sizeof junk);
        junk[7] = 0x80;
        junk[15] = 0x80;
        ck_assert(WriteFile(h, junk, sizeof junk, &put, NULL) && put == sizeof junk);
        CloseHandle(h);
    }
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_EBADFORMAT, "case %d: scb_open: %s", _i, scb_strerror(rc));
    ck_assert_ptr_null(win_hs[1]);
    rc = scb_unlink(win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "case %d: scb_unlink: %s", _i, scb_strerror(rc));
    ck_assert_msg(GetFileAttributesA(name) == INVALID_FILE_ATTRIBUTES,
                  "case %d: the name file is still there", _i);
    if (_i != 0) /* a garbage name file leads to no data file to remove */
        ck_assert_msg(GetFileAttributesA(data) == INVALID_FILE_ATTRIBUTES,
                      "case %d: the data file is still there", _i);
    else
        ck_assert(DeleteFileA(data) || GetLastError() == ERROR_FILE_NOT_FOUND);
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_ENOENT, "case %d: scb_open after scb_unlink: %s", _i,
                  scb_strerror(rc));
    /* The name is free again. */
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "case %d: scb_create again: %s", _i, scb_strerror(rc));
    rc = scb_open(&win_hs[1], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "case %d: scb_open of the new ring: %s", _i,
                  scb_strerror(rc));
    ck_assert_int_eq(scb_pop(win_hs[1], item), SCB_EAGAIN);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 6c. scb_list on Windows (apr): the rings of the directory, names spelled  */
/* back exactly, removed rings gone.                                        */

struct found {
    const char *want[2];
    int seen[2], total;
};

static int on_ring(const char *name, void *arg)
{
    struct found *f = arg;
    int i;

    f->total++;
    for (i = 0; i < 2; i++)
        if (strcmp(name, f->want[i]) == 0)
            f->seen[i]++;
    return 0;
}

START_TEST(test_list)
{
    char upper[sizeof win_ring + 8];
    scb_config_t cfg = tu_cfg(8, 4);
    struct found f;
    int rc;

    if (strcmp(tu_backend, "apr") != 0)
        return;
    snprintf(upper, sizeof upper, "%sAb.", win_ring);
    rc = scb_create(&win_hs[0], win_ring, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create(%s): %s", win_ring, scb_strerror(rc));
    rc = scb_create(&win_hs[1], upper, &cfg);
    ck_assert_msg(rc == SCB_OK, "scb_create(%s): %s", upper, scb_strerror(rc));

    memset(&f, 0, sizeof f);
    f.want[0] = win_ring;
    f.want[1] = upper;
    rc = scb_list("apr", on_ring, &f);
    ck_assert_msg(rc == SCB_OK, "scb_list: %s", scb_strerror(rc));
    ck_assert_msg(f.seen[0] == 1 && f.seen[1] == 1,
                  "listed %s %d times and %s %d times (%d rings in all)", win_ring,
                  f.seen[0], upper, f.seen[1], f.total);

    ck_assert_int_eq(scb_close(win_hs[1]), SCB_OK);
    win_hs[1] = NULL;
    ck_assert_int_eq(scb_unlink(upper, &cfg), SCB_OK);
    memset(&f, 0, sizeof f);
    f.want[0] = win_ring;
    f.want[1] = upper;
    rc = scb_list(NULL, on_ring, &f);
    ck_assert_msg(rc == SCB_OK, "scb_list(NULL): %s", scb_strerror(rc));
    ck_assert_msg(f.seen[0] == 1 && f.seen[1] == 0,
                  "after unlinking %s: listed %s %d times and it %d times", upper,
                  win_ring, f.seen[0], f.seen[1]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* 7. scb_sys_proc_alive of another process, alive then killed.             */

START_TEST(test_proc_alive)
{
    scb_config_t cfg = tu_cfg(16, 4);
    scb_info_t info;
    uint8_t item[16];
    uint64_t id = 0, self = scb_sys_proc_self();
    DWORD pid;
    int rc;

    ck_assert_msg(self != 0 && scb_sys_proc_alive(self) == 1,
                  "scb_sys_proc_self %s, alive %d", X(self), scb_sys_proc_alive(self));
    ck_assert_msg(self >> 32 == GetCurrentProcessId(), "scb_sys_proc_self %s, pid %lu",
                  X(self), (unsigned long)GetCurrentProcessId());
    win_reader_of_new_ring(&cfg);

    win_spawn("ident", 0);
    win_wait_ready();
    pid = GetProcessId(win_kid);
    rc = scb_pop(win_hs[1], item);
    ck_assert_msg(rc == SCB_OK, "the child's item: %s", scb_strerror(rc));
    memcpy(&id, item, sizeof id);
    ck_assert_msg(id != 0 && id != self && id >> 32 == pid,
                  "the child's scb_sys_proc_self %s, its pid %lu", X(id),
                  (unsigned long)pid);
    ck_assert_msg(scb_sys_proc_alive(id) == 1, "a running child: scb_sys_proc_alive %d",
                  scb_sys_proc_alive(id));
    scb_info(win_hs[1], &info);
    ck_assert_msg(info.writer_alive == 1 && info.writer_pid == (int64_t)pid,
                  "writer_alive %d, writer_pid %s", info.writer_alive,
                  S(info.writer_pid));

    /* Killed and waited for, its handle still open here. */
    win_kill_child();
    ck_assert_msg(scb_sys_proc_alive(id) == 0, "a killed child: scb_sys_proc_alive %d",
                  scb_sys_proc_alive(id));
    /* The same process id with another start time is not that process. */
    ck_assert_msg(scb_sys_proc_alive((self & ~UINT64_C(0xffffffff)) |
                                     (uint32_t)(self + 1)) == 0,
                  "this process's id with another start time is alive");
    scb_info(win_hs[1], &info);
    ck_assert_msg(info.writer_alive == 0, "writer_alive %d after the writer was killed",
                  info.writer_alive);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The suite.                                                               */

TCase *win_tcase(const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, win_setup, win_teardown);
    tcase_set_timeout(tc, TIMEOUT_S);
    if (test != NULL)
        tcase_add_test(tc, test);
    return tc;
}

Suite *tu_win_suite(void)
{
    static char suite_name[64];
    TCase *tc;
    Suite *s;

    snprintf(suite_name, sizeof suite_name, "scb-win-%s", tu_backend);
    s = suite_create(suite_name);
    suite_add_tcase(s, win_tcase("win_two_process", test_two_process));
    suite_add_tcase(s, win_tcase("win_child_writer", test_child_writer));
    suite_add_tcase(s, win_tcase("win_crash_takeover", test_crash_takeover));
    suite_add_tcase(s, win_tcase("win_dead_reader", test_dead_reader));
    suite_add_tcase(s, win_tcase("win_cross_wake", test_cross_wake));
    suite_add_tcase(s, win_tcase("win_ping_pong", test_ping_pong));
    suite_add_tcase(s, win_tcase("win_unlink_after_crash", test_unlink_after_crash));
    tc = win_tcase("win_hostile_files", NULL);
    tcase_add_loop_test(tc, test_hostile_files, 0, 3);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, win_tcase("win_list", test_list));
    suite_add_tcase(s, win_tcase("win_proc_alive", test_proc_alive));
    tu_win_add_fd(s);
    return s;
}

#endif /* _WIN32 */
