/*
 * scb_win_child.c - the processes the Windows multi-process suite starts
 * (tests/scb_win.c): check_scb.exe itself, run as "check_scb.exe --child
 * ROLE BACKEND RING ARG PPID", which main() hands to tu_win_child.  Its
 * return value is the process's exit code: 0 when the child did what its
 * role says, else non-zero after a line on stderr.  A child ends by itself
 * when its parent dies or after CHILD_LIFE_MS, so a run that goes wrong
 * leaves no process behind.  Also the helpers both files share (scb_win.h).
 * Windows only.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#ifdef _WIN32

#include "scb_win.h"

/* ------------------------------------------------------------------------ */
/* Common helpers.                                                          */

const char *win_num_str(uint64_t v, int neg, unsigned base)
{
    static char bufs[8][24];
    static unsigned next;
    char *end = bufs[next++ % 8] + sizeof bufs[0], *p = end;

    *--p = '\0';
    do {
        *--p = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    if (base == 16) {
        *--p = 'x';
        *--p = '0';
    }
    if (neg)
        *--p = '-';
    return p;
}

uint64_t win_now_ms(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER c;

    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    return (uint64_t)(c.QuadPart / (freq.QuadPart / 1000));
}

void win_event_name(char *buf, size_t size, const char *ring_name)
{
    snprintf(buf, size, "Local\\scb-test-%s", ring_name);
}

void win_go_name(char *buf, size_t size, const char *ring_name)
{
    snprintf(buf, size, "Local\\scb-test-%s-go", ring_name);
}

/* ------------------------------------------------------------------------ */
/* The children.                                                            */

static HANDLE child_parent; /* the test process, SYNCHRONIZE; NULL if unknown */

#define CHILD_FAIL(code, ...)                                                 \
    do {                                                                      \
        fprintf(stderr, "check_scb --child %s: ", role);                      \
        fprintf(stderr, __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                \
        fflush(stderr);                                                       \
        return (code);                                                        \
    } while (0)

/* Tells the parent this child is ready. */
static int child_ready(const char *ring_name)
{
    char ev[SCB_NAME_MAX + 32];
    HANDLE h;
    BOOL ok;

    win_event_name(ev, sizeof ev, ring_name);
    h = OpenEventA(EVENT_MODIFY_STATE, FALSE, ev);
    if (h == NULL)
        return -1;
    ok = SetEvent(h);
    CloseHandle(h);
    return ok ? 0 : -1;
}

/* Waits until the parent dies or up to ms; returns 1 if the parent is gone. */
static int child_park(DWORD ms)
{
    if (child_parent == NULL) {
        Sleep(ms);
        return 0;
    }
    return WaitForSingleObject(child_parent, ms) == WAIT_OBJECT_0;
}

/* Opens RING (as its writer with SCB_WRITER in flags), checks its item
 * size fits a child's buffer of `max` bytes, and gets ready unless
 * `ready` is 0.  Returns 0, or an exit code after a line on stderr. */
static int child_open(const char *role, const char *ring_name, uint32_t flags, int ready,
                      size_t max, scb_t **h, scb_info_t *info)
{
    scb_config_t cfg = tu_cfg(0, 0);
    int rc;

    cfg.flags = flags;
    rc = scb_open(h, ring_name, &cfg);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_open(flags %#x): %s", (unsigned)flags, scb_strerror(rc));
    scb_info(*h, info);
    if (info->item_size > max)
        CHILD_FAIL(3, "item_size %u too big", (unsigned)info->item_size);
    if (ready && child_ready(ring_name) != 0)
        CHILD_FAIL(3, "cannot signal readiness: error %lu", GetLastError());
    return 0;
}

/* "reader": opens RING as a reader, gets ready, pops ARG items with
 * scb_pop_wait and checks that they are seq 0..ARG-1, intact, none lost
 * and none more. */
static int child_reader(const char *role, const char *ring_name, uint64_t n)
{
    scb_info_t info;
    uint8_t item[4096];
    uint64_t i, seq;
    scb_t *r = NULL;
    int rc = child_open(role, ring_name, 0, 1, sizeof item, &r, &info);

    if (rc != 0)
        return rc;
    for (i = 0; i < n; i++) {
        rc = scb_pop_wait(r, item, 10000);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "item %s: scb_pop_wait: %s", U(i), scb_strerror(rc));
        if (!tu_check(item, info.item_size, &seq))
            CHILD_FAIL(4, "item %s: torn or mixed", U(i));
        if (seq != i)
            CHILD_FAIL(4, "item %s: seq %s", U(i), U(seq));
    }
    if (scb_lost(r) != 0)
        CHILD_FAIL(4, "scb_lost %s", U(scb_lost(r)));
    rc = scb_pop(r, item);
    if (rc != SCB_EAGAIN)
        CHILD_FAIL(4, "after %s items, scb_pop: %s", U(n), scb_strerror(rc));
    rc = scb_close(r);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_close: %s", scb_strerror(rc));
    return 0;
}

/* "stall": opens RING as a reader (a lossless ring gives it a slot), gets
 * ready, and reads nothing until its parent dies or it is killed. */
static int child_stall(const char *role, const char *ring_name)
{
    scb_info_t info;
    scb_t *r = NULL;
    int rc = child_open(role, ring_name, 0, 1, SIZE_MAX, &r, &info);

    if (rc != 0)
        return rc;
    child_park(CHILD_LIFE_MS);
    scb_close(r);
    return 0;
}

/* "writer": takes RING over as its writer, gets ready, pushes items seq
 * 0..ARG-1 pausing 1 ms every 4096 (ARG 0: for ever at full speed, until
 * its parent dies or CHILD_LIFE_MS), closes. */
static int child_writer(const char *role, const char *ring_name, uint64_t n)
{
    scb_info_t info;
    uint8_t item[4096];
    uint64_t seq, t0 = win_now_ms();
    scb_t *w = NULL;
    int rc = child_open(role, ring_name, SCB_WRITER, 1, sizeof item, &w, &info);

    if (rc != 0)
        return rc;
    for (seq = info.pushed; n == 0 || seq < n; seq++) {
        tu_fill(item, info.item_size, seq);
        rc = scb_push(w, item);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "seq %s: scb_push: %s", U(seq), scb_strerror(rc));
        /* A counted run pauses now and then, so the reader reads some of
         * it while it runs and loses some to overwrites. */
        if (n != 0 && seq % 4096 == 4095)
            Sleep(1);
        if (n == 0 && seq % 1024 == 0 &&
            (child_park(0) || win_now_ms() - t0 > CHILD_LIFE_MS))
            break;
    }
    rc = scb_close(w);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_close: %s", scb_strerror(rc));
    return 0;
}

/* "late": takes RING over as its writer, gets ready, sleeps 200 ms, then
 * pushes one item, seq ARG, and closes. */
static int child_late(const char *role, const char *ring_name, uint64_t seq)
{
    scb_info_t info;
    uint8_t item[4096];
    scb_t *w = NULL;
    int rc = child_open(role, ring_name, SCB_WRITER, 1, sizeof item, &w, &info);

    if (rc != 0)
        return rc;
    Sleep(200);
    tu_fill(item, info.item_size, seq);
    rc = scb_push(w, item);
    if (rc != SCB_OK)
        CHILD_FAIL(4, "scb_push: %s", scb_strerror(rc));
    rc = scb_close(w);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_close: %s", scb_strerror(rc));
    return 0;
}

/* "creator": creates RING (32-byte items, length 8), pushes ARG items seq
 * 0..ARG-1, gets ready, and waits to be killed. */
static int child_creator(const char *role, const char *ring_name, uint64_t n)
{
    scb_config_t cfg = tu_cfg(32, 8);
    uint8_t item[32];
    uint64_t seq;
    scb_t *w = NULL;
    int rc;

    rc = scb_create(&w, ring_name, &cfg);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_create: %s", scb_strerror(rc));
    for (seq = 0; seq < n; seq++) {
        tu_fill(item, sizeof item, seq);
        rc = scb_push(w, item);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "seq %s: scb_push: %s", U(seq), scb_strerror(rc));
    }
    if (child_ready(ring_name) != 0)
        CHILD_FAIL(3, "cannot signal readiness: error %lu", GetLastError());
    child_park(CHILD_LIFE_MS);
    scb_close(w);
    return 0;
}

/* "ident": takes RING over as its writer, pushes one item holding its
 * scb_sys_proc_self() in the first 8 bytes, gets ready, and waits to be
 * killed. */
static int child_ident(const char *role, const char *ring_name)
{
    scb_info_t info;
    uint8_t item[4096];
    uint64_t id = scb_sys_proc_self();
    scb_t *w = NULL;
    int rc = child_open(role, ring_name, SCB_WRITER, 0, sizeof item, &w, &info);

    if (rc != 0)
        return rc;
    if (info.item_size < sizeof id)
        CHILD_FAIL(3, "item_size %u too small", (unsigned)info.item_size);
    memset(item, 0, info.item_size);
    memcpy(item, &id, sizeof id);
    rc = scb_push(w, item);
    if (rc != SCB_OK)
        CHILD_FAIL(4, "scb_push: %s", scb_strerror(rc));
    if (child_ready(ring_name) != 0)
        CHILD_FAIL(3, "cannot signal readiness: error %lu", GetLastError());
    child_park(CHILD_LIFE_MS);
    scb_close(w);
    return 0;
}

void win_back_name(char *buf, size_t size, const char *ring_name)
{
    snprintf(buf, size, "%s-b", ring_name);
}

/* "echo": opens RING as a reader, creates RING-b (same geometry) as its
 * writer, gets ready, and pushes back every item it pops (scb_pop_wait)
 * until it pops seq ARG, which it does not echo. */
static int child_echo(const char *role, const char *ring_name, uint64_t stop)
{
    char back[SCB_NAME_MAX + 1];
    scb_config_t cfg;
    scb_info_t info;
    uint8_t item[4096];
    uint64_t seq;
    scb_t *r = NULL, *w = NULL;
    int rc = child_open(role, ring_name, 0, 0, sizeof item, &r, &info);

    if (rc != 0)
        return rc;
    win_back_name(back, sizeof back, ring_name);
    cfg = tu_cfg(info.item_size, info.length);
    rc = scb_create(&w, back, &cfg);
    if (rc != SCB_OK)
        CHILD_FAIL(3, "scb_create(%s): %s", back, scb_strerror(rc));
    if (child_ready(ring_name) != 0)
        CHILD_FAIL(3, "cannot signal readiness: error %lu", GetLastError());
    for (;;) {
        rc = scb_pop_wait(r, item, 10000);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "scb_pop_wait: %s", scb_strerror(rc));
        if (!tu_check(item, info.item_size, &seq))
            CHILD_FAIL(4, "torn or mixed item");
        if (seq == stop)
            break;
        rc = scb_push(w, item);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "seq %s: scb_push: %s", U(seq), scb_strerror(rc));
    }
    scb_close(w);
    scb_close(r);
    return 0;
}

/* Waits until the parent sets the "go" event of ring_name: 0, or -1 if
 * the parent died first, the wait failed or CHILD_LIFE_MS went by. */
static int child_go(const char *ring_name)
{
    char ev[SCB_NAME_MAX + 32];
    HANDLE hv[2];
    DWORD n = 1, w;

    win_go_name(ev, sizeof ev, ring_name);
    hv[0] = OpenEventA(SYNCHRONIZE, FALSE, ev);
    if (hv[0] == NULL)
        return -1;
    if (child_parent != NULL)
        hv[n++] = child_parent;
    w = WaitForMultipleObjects(n, hv, FALSE, CHILD_LIFE_MS);
    CloseHandle(hv[0]);
    return w == WAIT_OBJECT_0 ? 0 : -1;
}

/* "fd_writer": takes RING over as its writer, gets ready, waits for "go",
 * pushes one item, seq ARG, and waits to be killed (holding the writer
 * role, so that what wakes the parent is the push, not a close). */
static int child_fd_writer(const char *role, const char *ring_name,
                           uint64_t seq)
{
    scb_info_t info;
    uint8_t item[4096];
    scb_t *w = NULL;
    int rc = child_open(role, ring_name, SCB_WRITER, 1, sizeof item, &w, &info);

    if (rc != 0)
        return rc;
    if (child_go(ring_name) != 0)
        CHILD_FAIL(3, "no go from the parent");
    tu_fill(item, info.item_size, seq);
    rc = scb_push(w, item);
    if (rc != SCB_OK)
        CHILD_FAIL(4, "scb_push: %s", scb_strerror(rc));
    child_park(CHILD_LIFE_MS);
    scb_close(w);
    return 0;
}

/* "fd_reader": opens RING as a reader (a slot in a lossless ring), gets
 * ready, waits for "go", pops ARG items (scb_pop_wait), and waits to be
 * killed (holding its slot, so that what wakes the parent is the pop, not
 * a close). */
static int child_fd_reader(const char *role, const char *ring_name, uint64_t n)
{
    scb_info_t info;
    uint8_t item[4096];
    uint64_t i;
    scb_t *r = NULL;
    int rc = child_open(role, ring_name, 0, 1, sizeof item, &r, &info);

    if (rc != 0)
        return rc;
    if (child_go(ring_name) != 0)
        CHILD_FAIL(3, "no go from the parent");
    for (i = 0; i < n; i++) {
        rc = scb_pop_wait(r, item, 10000);
        if (rc != SCB_OK)
            CHILD_FAIL(4, "item %s: scb_pop_wait: %s", U(i), scb_strerror(rc));
    }
    child_park(CHILD_LIFE_MS);
    scb_close(r);
    return 0;
}

int tu_win_child(int argc, char **argv)
{
    const char *role, *ring_name;
    uint64_t arg;
    DWORD ppid;

    /* main's argv: EXE --child ROLE BACKEND RING ARG PPID */
    if (argc != 7 || strcmp(argv[1], "--child") != 0) {
        fprintf(stderr, "usage: check_scb --child ROLE BACKEND RING ARG PPID\n");
        return 2;
    }
    role = argv[2];
    tu_backend = argv[3];
    ring_name = argv[4];
    arg = strtoull(argv[5], NULL, 10);
    ppid = (DWORD)strtoul(argv[6], NULL, 10);
    child_parent = ppid != 0 ? OpenProcess(SYNCHRONIZE, FALSE, ppid) : NULL;

    if (strcmp(role, "reader") == 0)
        return child_reader(role, ring_name, arg);
    if (strcmp(role, "stall") == 0)
        return child_stall(role, ring_name);
    if (strcmp(role, "writer") == 0)
        return child_writer(role, ring_name, arg);
    if (strcmp(role, "late") == 0)
        return child_late(role, ring_name, arg);
    if (strcmp(role, "creator") == 0)
        return child_creator(role, ring_name, arg);
    if (strcmp(role, "ident") == 0)
        return child_ident(role, ring_name);
    if (strcmp(role, "echo") == 0)
        return child_echo(role, ring_name, arg);
    if (strcmp(role, "fd_writer") == 0)
        return child_fd_writer(role, ring_name, arg);
    if (strcmp(role, "fd_reader") == 0)
        return child_fd_reader(role, ring_name, arg);
    fprintf(stderr, "check_scb --child: unknown role \"%s\"\n", role);
    return 2;
}

#endif /* _WIN32 */
