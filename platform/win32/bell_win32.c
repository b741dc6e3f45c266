#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * bell_win32.c - the doorbells of src/sys.h (scb_fd) for Windows (built
 * with mingw-w64; tested under Wine).
 *
 * A bell is a named manual-reset event, "scb-bell-<key in hex>", in the
 * same namespace as the wait channels of sys_win32.c: Global when this
 * process may make objects there (a service, an administrator), else Local
 * (its logon session).  Its handle is what scb_fd gives the event loop
 * (WaitForSingleObject, WaitForMultipleObjects, RegisterWaitForSingleObject
 * or MsgWaitForMultipleObjects all take it); the event loop only waits on
 * it and never resets it: clearing is the library's job.
 *
 * open creates the event, not set.  A name that already exists, as any
 * kind of object, is SCB_EEXIST (the caller picks another key); a Local
 * bell is made only where no Global object has its name, so a ringer that
 * looks the key up, Global first and then Local, finds this bell.  (A
 * Global bell made later with the same key as a Local one of another
 * session would hide it: a 64-bit random key makes that a non-event.)
 * clear is ResetEvent; ring is OpenEvent(EVENT_MODIFY_STATE) + SetEvent +
 * CloseHandle, which never blocks and fails (-1) once the owner closed its
 * last handle, since the name goes with the event: a killed owner leaves
 * nothing behind.  The ringer keeps no state (no cache of opened events,
 * which would keep a closed bell's event, and its name, alive in the
 * ringing process).
 *
 * A timed bell (a lossless writer's, which must also wake up to look for
 * dead readers) has a thread-pool timer besides, made once at open and
 * reused: scb_sys_bell_timer sets it one-shot, its callback sets the
 * event.  clear stops it and waits for a callback already running, so that
 * a clear leaves the event reset unless a ring comes later; close does the
 * same before it frees what the callback uses.
 *
 * Security: the events get the default security of the creating process,
 * as the wait channels and the ring's own mapping do (platform/apr: the
 * creator's user only), so a process that may use the ring may normally
 * also set its bells.  Where OpenEvent is refused anyway, ring returns 1
 * (no use trying again): a lossless writer still wakes on its timer, a
 * reader is not woken.
 *
 * What Wine (8.0, scripts/windows.sh, tests/scb_win.c) exercises: named
 * events rung from another process, WaitForMultipleObjects over the bells
 * of two rings, ResetEvent on the next SCB_EAGAIN, the thread-pool timer
 * of a lossless writer (it fired after 100 ms), CloseHandle at scb_close.
 * Wine lets every process create Global objects (Global and Local are
 * distinct there, as on Windows), so all its bells are Global: the Local
 * fallback of a process without SeCreateGlobalPrivilege, other users and
 * other logon sessions are not exercised, and neither is a name taken by
 * another kind of object (ERROR_INVALID_HANDLE, checked by hand under Wine
 * only).
 *
 * It never changes errno, and keeps GetLastError() as it found it, except
 * that an SCB_ESYS from open leaves the Windows error there.
 */

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "scb.h"
#include "sys.h"

_Atomic unsigned long scb_sys_wake_calls;

struct scb_sys_bell {
    HANDLE event;    /* the named manual-reset event: what scb_fd returns */
    PTP_TIMER timer; /* timed bells: the thread-pool timer, else NULL */
    int timer_set;   /* the timer was set since the last clear */
};

/* Ringers keep nothing: each ring opens the event by its name. */
struct scb_sys_ringer {
    int unused;
};

/* "Global\scb-bell-<key>" (global != 0) or "Local\scb-bell-<key>".  The
 * key in hex as two 32-bit halves: mingw's printf family does not agree
 * with gcc's format check on the 64-bit length modifiers. */
static void bell_name(char *buf, size_t size, uint64_t key, int global)
{
    snprintf(buf, size, "%s\\scb-bell-%08lx%08lx", global ? "Global" : "Local",
             (unsigned long)(key >> 32), (unsigned long)(key & 0xffffffffu));
}

/* Sets the event of the bell whose timer fired. */
static VOID CALLBACK timer_fired(PTP_CALLBACK_INSTANCE instance, PVOID arg,
                                 PTP_TIMER timer)
{
    scb_sys_bell_t *b = arg;

    (void)instance;
    (void)timer;
    SetEvent(b->event);
}

/* Stops b's timer and waits until no callback of it runs, or will. */
static void timer_stop(scb_sys_bell_t *b)
{
    if (b->timer == NULL || !b->timer_set)
        return;
    SetThreadpoolTimer(b->timer, NULL, 0, 0);
    WaitForThreadpoolTimerCallbacks(b->timer, TRUE);
    b->timer_set = 0;
}

/* 1 if an object named `name` exists (of any type, maybe one we may not
 * open). */
static int name_taken(const char *name)
{
    HANDLE h = OpenEventA(SYNCHRONIZE, FALSE, name);

    if (h != NULL) {
        CloseHandle(h);
        return 1;
    }
    /* Not found: ERROR_FILE_NOT_FOUND; ERROR_PATH_NOT_FOUND where the
     * namespace itself is missing.  Anything else (access denied, another
     * type of object) means something of that name is there. */
    return GetLastError() != ERROR_FILE_NOT_FOUND &&
           GetLastError() != ERROR_PATH_NOT_FOUND;
}

/* Creates the event `name`: SCB_OK, SCB_EEXIST if the name is taken, or
 * SCB_ESYS with GetLastError() set (the caller may try the other
 * namespace). */
static int event_create(const char *name, HANDLE *out)
{
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, name);

    *out = NULL;
    if (ev == NULL)
        /* ERROR_INVALID_HANDLE: the name belongs to another type of
         * object. */
        return GetLastError() == ERROR_INVALID_HANDLE ? SCB_EEXIST : SCB_ESYS;
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(ev);
        return SCB_EEXIST;
    }
    *out = ev;
    return SCB_OK;
}

int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode, uint32_t gid,
                      scb_sys_bell_t **out)
{
    DWORD err = GetLastError();
    char global[64], local[64];
    scb_sys_bell_t *b;
    int rc;

    (void)mode; /* the events get the creator's default security */
    (void)gid;
    *out = NULL;
    if ((b = malloc(sizeof *b)) == NULL)
        return SCB_ENOMEM;
    b->event = NULL;
    b->timer = NULL;
    b->timer_set = 0;
    bell_name(global, sizeof global, key, 1);
    bell_name(local, sizeof local, key, 0);

    rc = event_create(global, &b->event);
    if (rc == SCB_ESYS) {
        /* No Global object for this process (no SeCreateGlobalPrivilege):
         * a Local one, unless the Global name exists (a ringer, which looks
         * there first, would ring that one). */
        rc = name_taken(global) ? SCB_EEXIST : event_create(local, &b->event);
    }
    if (rc != SCB_OK)
        goto fail;
    if (timed) {
        b->timer = CreateThreadpoolTimer(timer_fired, b, NULL);
        if (b->timer == NULL) {
            rc = GetLastError() == ERROR_NOT_ENOUGH_MEMORY ||
                         GetLastError() == ERROR_OUTOFMEMORY
                     ? SCB_ENOMEM
                     : SCB_ESYS;
            goto fail;
        }
    }
    *out = b;
    SetLastError(err);
    return SCB_OK;

fail:
    if (rc == SCB_ESYS && (GetLastError() == ERROR_NOT_ENOUGH_MEMORY ||
                           GetLastError() == ERROR_OUTOFMEMORY ||
                           GetLastError() == ERROR_NO_SYSTEM_RESOURCES))
        rc = SCB_ENOMEM;
    if (b->event != NULL)
        CloseHandle(b->event);
    free(b);
    if (rc != SCB_ESYS)
        SetLastError(err);
    return rc;
}

scb_fd_t scb_sys_bell_fd(const scb_sys_bell_t *b)
{
    return b->event;
}

void scb_sys_bell_clear(scb_sys_bell_t *b)
{
    DWORD err = GetLastError();

    /* The timer first: a callback that ran before the reset cannot leave
     * the event set behind it. */
    timer_stop(b);
    ResetEvent(b->event);
    SetLastError(err);
}

void scb_sys_bell_set(scb_sys_bell_t *b)
{
    DWORD err = GetLastError();

    SetEvent(b->event);
    SetLastError(err);
}

void scb_sys_bell_timer(scb_sys_bell_t *b, uint64_t ns)
{
    DWORD err = GetLastError();
    ULARGE_INTEGER due;
    FILETIME ft;
    uint64_t ticks = ns / 100 + (ns % 100 != 0); /* 100 ns units */

    if (b->timer == NULL)
        return;
    if (ticks == 0)
        ticks = 1;
    if (ticks > (UINT64_C(1) << 62))
        ticks = UINT64_C(1) << 62;
    /* Negative: relative to now. */
    due.QuadPart = (ULONGLONG)(0 - ticks);
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(b->timer, &ft, 0, 0);
    b->timer_set = 1;
    SetLastError(err);
}

void scb_sys_bell_close(scb_sys_bell_t *b, int remove)
{
    DWORD err;

    (void)remove; /* a named event's name goes with its last handle */
    if (b == NULL)
        return;
    err = GetLastError();
    if (b->timer != NULL) {
        /* No callback may run once b is freed. */
        b->timer_set = 1;
        timer_stop(b);
        CloseThreadpoolTimer(b->timer);
    }
    CloseHandle(b->event);
    free(b);
    SetLastError(err);
}

int scb_sys_bell_remove(uint64_t key)
{
    (void)key; /* nothing outlives its owner */
    return 1;
}

int scb_sys_bell_ring(scb_sys_ringer_t **ringer, uint64_t key)
{
    DWORD err = GetLastError();
    char name[64];
    HANDLE ev;
    DWORD why;
    int rc;

    (void)ringer; /* nothing to keep: stays NULL */
    atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
    bell_name(name, sizeof name, key, 1);
    ev = OpenEventA(EVENT_MODIFY_STATE, FALSE, name);
    if (ev == NULL) {
        bell_name(name, sizeof name, key, 0);
        ev = OpenEventA(EVENT_MODIFY_STATE, FALSE, name);
    }
    if (ev != NULL) {
        rc = SetEvent(ev) ? 0 : -1;
        CloseHandle(ev);
    } else {
        why = GetLastError();
        /* No such event (its owner is gone), or one this process may never
         * open (another account's): 1, nothing to try again.  Out of
         * memory or handles: -1, the caller tries again later. */
        rc = (why == ERROR_NOT_ENOUGH_MEMORY || why == ERROR_OUTOFMEMORY ||
              why == ERROR_NO_SYSTEM_RESOURCES) ? -1 : 1;
    }
    SetLastError(err);
    return rc;
}

void scb_sys_ringer_close(scb_sys_ringer_t *ringer)
{
    free(ringer); /* always NULL */
}
