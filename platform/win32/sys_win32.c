#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * sys_win32.c - the OS layer (src/sys.h) for Windows (built with mingw-w64;
 * tested under Wine).
 *
 * Process identity: the process id in the high 32 bits and a digest of the
 * process's creation time (GetProcessTimes) in the low 32 bits, so a process
 * id Windows hands out again is not mistaken for the old process.  A process
 * is alive while OpenProcess finds it, it has not exited (GetExitCodeProcess
 * says STILL_ACTIVE and a zero-time wait on it times out) and its creation
 * time matches.
 *
 * Waits: Windows has no wait on a word in memory shared between processes
 * (WaitOnAddress works inside one process only): a wait sleeps on a named
 * event per word of a ring (see "Waiting on a word" below), and polls with
 * short sleeps where it has none.
 *
 * Asymmetric barriers are not offered (FlushProcessWriteBuffers reaches only
 * the threads of the calling process): the ring then uses real fences.
 *
 * It keeps no state of its own but the performance counter's frequency,
 * read once; channels belong to the handles that opened them.  It never
 * changes errno, and keeps GetLastError() as it found it.
 */

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "scb.h"
#include "sys.h"

size_t scb_sys_page_size(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    if (si.dwPageSize == 0 || (si.dwPageSize & (si.dwPageSize - 1)) != 0)
        return 4096;
    return (size_t)si.dwPageSize;
}

/* The creation time of the process behind h; 0 if Windows will not say. */
static uint64_t creation_time(HANDLE h)
{
    FILETIME created, exited, kernel, user;

    if (!GetProcessTimes(h, &created, &exited, &kernel, &user))
        return 0;
    return ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
}

uint64_t scb_sys_proc_self(void)
{
    DWORD err = GetLastError();
    uint64_t start = creation_time(GetCurrentProcess());
    uint32_t digest = start != 0 ? scb_sys_start_digest(start) : 0;
    DWORD pid = GetCurrentProcessId();

    SetLastError(err);
    /* Windows process ids are multiples of 4 and never 0 for a user
     * process; the id is never 0 either way. */
    return ((uint64_t)pid << 32) | digest;
}

int scb_sys_proc_alive(uint64_t id)
{
    DWORD err = GetLastError();
    DWORD pid = (DWORD)(id >> 32), code = 0;
    HANDLE h;
    uint64_t start;
    int alive;

    if (pid == 0)
        return 0;
    if (pid == GetCurrentProcessId()) {
        alive = scb_sys_proc_self() == id;
        SetLastError(err);
        return alive;
    }
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE,
                    pid);
    if (h == NULL)
        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (h == NULL) {
        /* ERROR_INVALID_PARAMETER: no such process.  Access denied means it
         * exists but belongs to someone we may not ask: count it as alive
         * (declaring a live reader dead would let a lossless writer
         * overwrite what it has not read). */
        alive = GetLastError() == ERROR_ACCESS_DENIED;
        SetLastError(err);
        return alive;
    }
    alive = 1;
    /* An exited process whose handle someone still holds is still listed:
     * it is dead (like a zombie on Unix). */
    if (GetExitCodeProcess(h, &code) && code != STILL_ACTIVE)
        alive = 0;
    else if (WaitForSingleObject(h, 0) == WAIT_OBJECT_0)
        alive = 0; /* exited with the code 259 (STILL_ACTIVE) itself */
    if (alive) {
        start = creation_time(h);
        if (start != 0 && (uint32_t)id != 0)
            alive = scb_sys_start_digest(start) == (uint32_t)id;
    }
    CloseHandle(h);
    SetLastError(err);
    return alive;
}

uint64_t scb_sys_now_ns(void)
{
    static _Atomic int64_t freq; /* counts per second, read once */
    LARGE_INTEGER c, f;
    int64_t hz = atomic_load_explicit(&freq, memory_order_relaxed);
    uint64_t t;

    if (hz <= 0) {
        if (!QueryPerformanceFrequency(&f) || f.QuadPart <= 0)
            return (uint64_t)GetTickCount64() * UINT64_C(1000000);
        hz = f.QuadPart;
        atomic_store_explicit(&freq, hz, memory_order_relaxed);
    }
    if (!QueryPerformanceCounter(&c))
        return (uint64_t)GetTickCount64() * UINT64_C(1000000);
    t = (uint64_t)c.QuadPart;
    /* Seconds and the remainder separately, so the product cannot
     * overflow for any uptime. */
    return t / (uint64_t)hz * UINT64_C(1000000000) +
           t % (uint64_t)hz * UINT64_C(1000000000) / (uint64_t)hz;
}

/* CREATE_WAITABLE_TIMER_HIGH_RESOLUTION (Windows 10 1803 and later); older
 * headers lack it. */
#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

/*
 * Sleeps about ns nanoseconds (> 0).  Sleep() counts in milliseconds and
 * rounds up to the scheduler tick (up to 15.6 ms), so a shorter sleep uses
 * a high-resolution waitable timer where Windows has one, and Sleep(1)
 * where it has not.
 */
static void sleep_ns(int64_t ns)
{
    HANDLE t;
    LARGE_INTEGER due;

    if (ns >= INT64_C(2000000)) {
        Sleep((DWORD)(ns / 1000000 > 0x7ffffffe ? 0x7ffffffe : ns / 1000000));
        return;
    }
    t = CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                               TIMER_ALL_ACCESS);
    if (t == NULL) /* before Windows 10 1803: a timer of the tick */
        t = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
    if (t == NULL) {
        Sleep(1);
        return;
    }
    due.QuadPart = -(ns + 99) / 100; /* relative, in 100 ns units */
    if (due.QuadPart == 0)
        due.QuadPart = -1;
    if (SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE))
        (void)WaitForSingleObject(t, INFINITE);
    else
        Sleep(1);
    CloseHandle(t);
}

void scb_sys_sleep_us(uint32_t us)
{
    DWORD err = GetLastError();

    if (us == 0)
        SwitchToThread();
    else
        sleep_ns((int64_t)us * 1000);
    SetLastError(err);
}

/* ---------------------------------------------------------------------------
 * Waiting on a word in shared memory.
 *
 * Windows cannot wait on a word of memory shared between processes
 * (WaitOnAddress works within one process), so a wait sleeps on a named
 * auto-reset event, one per word of a ring (the channel, sys.h), made or
 * opened under a name built from the ring's key.  The waker bumps the word
 * and then sets the event.  A waiter checks the word, then waits on the
 * event: a set between its check and its wait leaves the event set, so no
 * wake is lost.  An auto-reset event releases one waiter: each waiter that
 * wakes to a changed word sets the event again for the next one (the last
 * leaves it set, and the next sleeper's first wait returns at once and is
 * spurious).  An event wait lasts at most WAIT_SLICE_MS, so two processes
 * that ended up with different events (a Global and a Local one) still see
 * each other, only later; and a rare interleaving (the waker preempted
 * between its bump and its set while another waiter takes the set) can
 * leave a waiter for one slice.  Two stale wakes in a row (an event some
 * other program made manual-reset and left set) switch the waiter to
 * polling until the word changes, so it never spins on the event.
 *
 * Without a channel (the name was too long, or the event was refused),
 * waits poll: they yield the processor for the first few attempts and then
 * sleep from 50 us, doubling, to 1 ms.
 */

struct scb_sys_chan {
    HANDLE event;
    unsigned stale; /* wakes in a row that found the word unchanged */
};

#define WAIT_SLICE_MS 50u

scb_sys_chan_t *scb_sys_chan_open(const char *key)
{
    DWORD err = GetLastError();
    char name[MAX_PATH];
    scb_sys_chan_t *c;
    HANDLE ev;
    int n;

    if (key == NULL)
        return NULL;
    /* A Global event when one exists or this process may make one (a
     * service, an administrator): rings made by such a process live in the
     * Global namespace.  Else one of this logon session. */
    n = snprintf(name, sizeof name, "Global\\%s", key);
    if (n < 0 || (size_t)n >= sizeof name)
        goto fail;
    ev = OpenEventA(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, name);
    if (ev == NULL)
        ev = CreateEventA(NULL, FALSE, FALSE, name);
    if (ev == NULL) {
        snprintf(name, sizeof name, "Local\\%s", key);
        ev = CreateEventA(NULL, FALSE, FALSE, name);
    }
    if (ev == NULL)
        goto fail;
    c = malloc(sizeof *c);
    if (c == NULL) {
        CloseHandle(ev);
        goto fail;
    }
    c->event = ev;
    c->stale = 0;
    SetLastError(err);
    return c;
fail:
    SetLastError(err);
    return NULL;
}

void scb_sys_chan_close(scb_sys_chan_t *chan)
{
    if (chan != NULL) {
        DWORD err = GetLastError();

        CloseHandle(chan->event);
        free(chan);
        SetLastError(err);
    }
}

/* The polling pause: attempts 0..7 yield the processor, later ones sleep
 * 50 us, doubling, at most 1 ms. */
#define SCB_WAIT_YIELDS 8u
#define SCB_WAIT_NAP_MIN_NS INT64_C(50000)
#define SCB_WAIT_NAP_MAX_NS INT64_C(1000000)

static int poll_wait(int64_t timeout_ns, unsigned attempt)
{
    int64_t ns;

    if (attempt < SCB_WAIT_YIELDS) {
        SwitchToThread();
        return 0;
    }
    attempt -= SCB_WAIT_YIELDS;
    ns = attempt >= 5 ? SCB_WAIT_NAP_MAX_NS : SCB_WAIT_NAP_MIN_NS << attempt;
    if (ns > SCB_WAIT_NAP_MAX_NS)
        ns = SCB_WAIT_NAP_MAX_NS;
    if (timeout_ns >= 0 && timeout_ns <= ns) {
        sleep_ns(timeout_ns); /* the rest of the time: sleep it all */
        return 1;
    }
    sleep_ns(ns);
    return 0;
}

static int event_wait(scb_sys_chan_t *chan, const _Atomic uint32_t *word,
                      uint32_t expected, int64_t timeout_ns, unsigned attempt)
{
    DWORD ms = WAIT_SLICE_MS, w;
    int last = 0;

    /* One stale set is normal (see above); more in a row mean an event
     * that stays set (another program made a manual-reset event of that
     * name): poll then, rather than spin on it. */
    if (chan->stale >= 2)
        return poll_wait(timeout_ns, attempt + SCB_WAIT_YIELDS);

    if (timeout_ns >= 0 && timeout_ns <= (int64_t)WAIT_SLICE_MS * 1000000) {
        ms = (DWORD)((timeout_ns + 999999) / 1000000);
        last = 1;
    }
    w = WaitForSingleObject(chan->event, ms);
    if (w == WAIT_OBJECT_0) {
        /* Woken: pass the wake on to the next sleeper, unless it was the
         * stale set a previous round left behind. */
        if (atomic_load_explicit(word, memory_order_acquire) != expected) {
            chan->stale = 0;
            SetEvent(chan->event);
        } else {
            chan->stale++;
        }
        return 0;
    }
    if (w == WAIT_TIMEOUT) {
        chan->stale = 0;
        return last;
    }
    return poll_wait(timeout_ns, 8); /* WAIT_FAILED: poll instead */
}

int scb_sys_wait(scb_sys_chan_t *chan, const void *addr, uint32_t expected,
                 int64_t timeout_ns, unsigned attempt)
{
    DWORD err = GetLastError();
    const _Atomic uint32_t *word = (const _Atomic uint32_t *)addr;
    int r;

    if (atomic_load_explicit(word, memory_order_acquire) != expected) {
        r = 0;
        if (chan != NULL)
            chan->stale = 0;
    } else if (timeout_ns == 0) {
        r = 1;
    } else if (chan != NULL) {
        r = event_wait(chan, word, expected, timeout_ns, attempt);
    } else {
        r = poll_wait(timeout_ns, attempt);
    }
    SetLastError(err);
    return r;
}

void scb_sys_wake(scb_sys_chan_t *chan, const void *addr)
{
    (void)addr;
    if (chan != NULL) {
        DWORD err = GetLastError();

        atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
        SetEvent(chan->event);
        SetLastError(err);
    }
}

int scb_sys_barrier_register(void)
{
    return 0;
}

int scb_sys_barrier_heavy(void)
{
    return -1;
}

void scb_sys_cpu_relax(void)
{
    YieldProcessor();
}

int scb_sys_errno_to_scb(int e)
{
    switch (e) {
    case 0:
        return SCB_OK;
    case ENOENT:
        return SCB_ENOENT;
    case EEXIST:
        return SCB_EEXIST;
    case EACCES:
    case EPERM:
        return SCB_EACCES;
    case ENOMEM:
    case ENOSPC:
        return SCB_ENOMEM;
    case ENAMETOOLONG:
        return SCB_ENAMETOOLONG;
    case EINVAL:
        return SCB_EINVAL;
    case ENOSYS:
        return SCB_ENOTSUP;
    default:
        return SCB_ESYS;
    }
}

int scb_sys_protect_readonly(void *addr, size_t len)
{
    DWORD old;

    if (len == 0)
        return SCB_OK;
    if (!VirtualProtect(addr, len, PAGE_READONLY, &old)) {
        switch (GetLastError()) {
        case ERROR_INVALID_PARAMETER:
        case ERROR_ACCESS_DENIED:
            return SCB_ENOTSUP;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
            return SCB_ENOMEM;
        default:
            return SCB_ESYS;
        }
    }
    return SCB_OK;
}

/* No fork on Windows: the count stays 0. */
uint32_t scb_sys_forks;

void scb_sys_watch_forks(void)
{
}
