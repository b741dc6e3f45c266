#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

/*
 * sys_unix.c - the OS services of src/sys.h for Unix: Linux (tested),
 * FreeBSD and macOS, with a weaker fallback for other systems.
 *
 * It knows nothing of rings, segments or backends.  It keeps no state between
 * calls and allocates nothing: the process identity is recomputed on every
 * call, so a forked child gets its own.  It never changes errno except where
 * a function's contract says so.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#elif defined(__APPLE__)
#include <sys/proc.h>
#include <sys/sysctl.h>
#endif

/*
 * The cross-process wait on a word (scb_sys_wait): the futex on Linux,
 * _umtx_op on FreeBSD, a bounded sleep elsewhere.  Defining
 * SCB_SYS_FORCE_SLEEP_WAIT (-DSCB_SYS_FORCE_SLEEP_WAIT) builds the sleep
 * fallback on Linux and FreeBSD too, to test it where it is not the default.
 */
#if defined(__linux__) && !defined(SCB_SYS_FORCE_SLEEP_WAIT)
#define SCB_WAIT_FUTEX 1
#include <linux/futex.h>
#include <sys/syscall.h>
#elif defined(__FreeBSD__) && !defined(SCB_SYS_FORCE_SLEEP_WAIT)
#define SCB_WAIT_UMTX 1
#include <sys/umtx.h>
#endif

#include "scb.h"
#include "sys.h"

size_t scb_sys_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);

    /* No system we know fails here, but the callers align on the result, so
     * anything that is not a positive power of two falls back to the
     * smallest page size in use rather than breaking that promise. */
    if (n <= 0 || (n & (n - 1)) != 0)
        return 4096;
    return (size_t)n;
}

/* What the OS says about one process. */
typedef struct proc_info {
    uint64_t start; /* when it started, in the OS's own unit */
    int dead;       /* 1 if it exited and only its zombie is left */
} proc_info_t;

#if defined(__linux__)

/* Parses the unsigned decimal at *p, which must end at a space or the end. */
static int parse_u64(const char *p, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/*
 * Reads /proc/PID/stat.  Returns 1 and fills *pi when the process is listed,
 * 0 when it is not (it does not exist, or /proc is not mounted, or mounted
 * with hidepid), -1 when the file could not be read or parsed.  errno is
 * clobbered.
 */
static int proc_query(pid_t pid, proc_info_t *pi)
{
    char path[40];
    char buf[2048];
    size_t len = 0;
    ssize_t n = 0;
    const char *p;
    char state;
    uint64_t threads = 0, start = 0;
    int fd, field;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return (errno == ENOENT || errno == ESRCH) ? 0 : -1;
    /* The fields we need are in the first few hundred bytes; a line longer
     * than the buffer is cut, which only loses fields after starttime. */
    while (len < sizeof buf - 1) {
        n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (n < 0) {
        /* A process reaped between open and read reports ESRCH. */
        int gone = (errno == ESRCH);
        close(fd);
        return gone ? 0 : -1;
    }
    close(fd);
    buf[len] = '\0';

    /* Field 2 is the command name in parentheses, and the name itself may
     * hold spaces and parentheses; no later field holds a ')', so the last
     * one ends the name. */
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        return -1;
    p += 2;
    state = *p; /* field 3 */
    for (field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
        if (field + 1 == 20 && parse_u64(p, &threads) != 0)
            return -1;
    }
    if (parse_u64(p, &start) != 0) /* field 22: starttime, ticks since boot */
        return -1;

    pi->start = start;
    /*
     * 'Z' is an exited process its parent has not reaped yet (a SIGKILLed
     * child, for one); 'X' and the older 'x' one being reaped.  Both are dead.
     * But /proc/PID/stat shows the state of the main thread only, and a main
     * thread that called pthread_exit is a zombie while the other threads
     * run; num_threads (field 20) then still counts them, so a zombie with
     * more than one thread is a live process.
     */
    pi->dead = state == 'X' || state == 'x' || (state == 'Z' && threads <= 1);
    return 1;
}

#elif defined(__FreeBSD__)

/* Returns 1 and fills *pi when the process is listed, 0 when it is not,
 * -1 when the OS would not tell.  errno is clobbered. */
static int proc_query(pid_t pid, proc_info_t *pi)
{
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
    struct kinfo_proc kp;
    size_t len = sizeof kp;

    if (sysctl(mib, 4, &kp, &len, NULL, 0) != 0)
        return errno == ESRCH ? 0 : -1;
    if (len < sizeof kp)
        return 0;
    pi->start = (uint64_t)kp.ki_start.tv_sec * UINT64_C(1000000) +
                (uint64_t)kp.ki_start.tv_usec;
    pi->dead = kp.ki_stat == SZOMB;
    return 1;
}

#elif defined(__APPLE__)

/* Returns 1 and fills *pi when the process is listed, 0 when it is not,
 * -1 when the OS would not tell.  errno is clobbered. */
static int proc_query(pid_t pid, proc_info_t *pi)
{
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
    struct kinfo_proc kp;
    size_t len = sizeof kp;

    if (sysctl(mib, 4, &kp, &len, NULL, 0) != 0)
        return errno == ESRCH ? 0 : -1;
    /* macOS answers an unknown pid with success and no data. */
    if (len < sizeof kp)
        return 0;
    pi->start = (uint64_t)kp.kp_proc.p_starttime.tv_sec * UINT64_C(1000000) +
                (uint64_t)kp.kp_proc.p_starttime.tv_usec;
    pi->dead = kp.kp_proc.p_stat == SZOMB;
    return 1;
}

#else

/* Elsewhere there is no portable way to learn a process's start time, so
 * identities carry digest 0 and liveness falls back to kill(pid, 0), which
 * cannot tell a zombie or a reused process id from the original. */
static int proc_query(pid_t pid, proc_info_t *pi)
{
    (void)pid;
    (void)pi;
    return -1;
}

#endif

uint64_t scb_sys_proc_self(void)
{
    int saved = errno;
    pid_t pid = getpid();
    proc_info_t pi;
    uint32_t digest = 0;

    /* Digest 0 when the OS will not tell: scb_sys_proc_alive then falls back
     * to the same kill(pid, 0) test for this identity.  The id is never 0
     * because a process id is at least 1. */
    if (proc_query(pid, &pi) > 0)
        digest = scb_sys_start_digest(pi.start);
    errno = saved;
    return ((uint64_t)(uint32_t)pid << 32) | digest;
}

int scb_sys_proc_alive(uint64_t id)
{
    int saved = errno, alive, r;
    uint32_t hi = (uint32_t)(id >> 32);
    pid_t pid;
    proc_info_t pi;

    /* Process ids are positive 32-bit values everywhere we build. */
    if (hi == 0 || hi > (uint32_t)INT32_MAX)
        return 0;
    pid = (pid_t)hi;

    r = proc_query(pid, &pi);
    if (r > 0) {
        alive = !pi.dead && scb_sys_start_digest(pi.start) == (uint32_t)id;
    } else {
        /*
         * Not listed, or the OS would not say.  Usually the process is gone,
         * but /proc may be unmounted or mounted with hidepid, and FreeBSD may
         * hide other users' processes; declaring a live process dead would
         * let a lossless writer overwrite what its reader has not read, so
         * a process id that still answers a signal counts as alive.  Its
         * start time cannot be checked then, but the next call that can
         * list it will.
         */
        alive = kill(pid, 0) == 0 || errno == EPERM;
    }
    errno = saved;
    return alive;
}

uint64_t scb_sys_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

void scb_sys_sleep_us(uint32_t us)
{
    int saved = errno;
    struct timespec req, rem;

    req.tv_sec = (time_t)(us / 1000000u);
    req.tv_nsec = (long)(us % 1000000u) * 1000L;
    /* A signal cuts nanosleep short; sleep out the rest so the caller's
     * polling interval does not shrink under a stream of signals. */
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
    errno = saved;
}

/* ---------------------------------------------------------------------------
 * Waiting on a word in shared memory.
 *
 * The word is read with an atomic load: callers pass an _Atomic uint32_t that
 * other processes store to.  Only the shared (not _PRIVATE) kernel operations
 * are used, since the private ones key the wait on the address in this
 * process's address space and would never see another process's wake.
 */

/* The sleep of the fallback: 2 us on attempt 0, doubling, at most 1 ms. */
#define SCB_WAIT_BACKOFF_MIN_NS INT64_C(2000)
#define SCB_WAIT_BACKOFF_MAX_NS INT64_C(1000000)

static int64_t wait_backoff_ns(unsigned attempt)
{
    /* 2 us << 9 is past 1 ms already; larger shifts would overflow. */
    if (attempt >= 9)
        return SCB_WAIT_BACKOFF_MAX_NS;
    if ((SCB_WAIT_BACKOFF_MIN_NS << attempt) > SCB_WAIT_BACKOFF_MAX_NS)
        return SCB_WAIT_BACKOFF_MAX_NS;
    return SCB_WAIT_BACKOFF_MIN_NS << attempt;
}

/* ns (>= 0) as a timespec; seconds past a 32-bit time_t are cut to its
 * largest value (68 years, as good as no limit). */
static struct timespec ns_to_timespec(int64_t ns)
{
    struct timespec ts;
    int64_t sec = ns / INT64_C(1000000000);

    if (sizeof(time_t) < sizeof(int64_t) && sec > INT32_MAX)
        sec = INT32_MAX;
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)(ns % INT64_C(1000000000));
    return ts;
}

/*
 * The bounded-sleep wait, for systems without a cross-process wait on a word
 * and for a native wait the kernel refused.  The caller has checked that the
 * word still holds the expected value and that timeout_ns != 0.  Sleeps the
 * backoff for `attempt`, or the whole timeout if that is shorter, and returns
 * 1 only in the second case.  A signal ends the sleep early (returns 0:
 * spurious wake-ups are allowed).  errno is clobbered.
 */
static int sleep_wait(int64_t timeout_ns, unsigned attempt)
{
    int64_t ns = wait_backoff_ns(attempt);
    int all = 0;
    struct timespec ts;

    if (timeout_ns >= 0 && timeout_ns <= ns) {
        ns = timeout_ns;
        all = 1;
    }
    ts = ns_to_timespec(ns);
    if (nanosleep(&ts, NULL) != 0)
        return 0;
    return all;
}

#if defined(SCB_WAIT_FUTEX)

/*
 * The futex call that takes a timeout.  A 32-bit process built with a 64-bit
 * time_t must use futex_time64, whose timespec is two 64-bit fields; old
 * 32-bit ABIs, 64-bit ABIs and x32 take struct timespec through plain futex.
 * Some 32-bit ABIs (riscv32) have only futex_time64.
 */
#if defined(SYS_futex_time64)
typedef struct { int64_t tv_sec; int64_t tv_nsec; } futex_ts64_t;
#endif

static long futex_wait(const void *addr, uint32_t expected, int64_t timeout_ns)
{
#if defined(SYS_futex_time64)
    if (timeout_ns < 0) {
#if defined(SYS_futex)
        return syscall(SYS_futex, addr, FUTEX_WAIT, expected, NULL, NULL, 0);
#else
        return syscall(SYS_futex_time64, addr, FUTEX_WAIT, expected, NULL,
                       NULL, 0);
#endif
    }
#if defined(SYS_futex)
    if (sizeof(time_t) <= sizeof(long)) {
        struct timespec ts = ns_to_timespec(timeout_ns);
        return syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
    }
#endif
    {
        futex_ts64_t ts;
        ts.tv_sec = timeout_ns / INT64_C(1000000000);
        ts.tv_nsec = timeout_ns % INT64_C(1000000000);
        return syscall(SYS_futex_time64, addr, FUTEX_WAIT, expected, &ts,
                       NULL, 0);
    }
#else
    struct timespec ts;

    if (timeout_ns < 0)
        return syscall(SYS_futex, addr, FUTEX_WAIT, expected, NULL, NULL, 0);
    ts = ns_to_timespec(timeout_ns);
    return syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
#endif
}

#if defined(SYS_futex)
#define SCB_SYS_FUTEX_ANY SYS_futex
#else
#define SCB_SYS_FUTEX_ANY SYS_futex_time64
#endif

#endif /* SCB_WAIT_FUTEX */

/* Unix waits are keyed on the word itself (futex, umtx) or are the bounded
 * sleep: no channel. */
scb_sys_chan_t *scb_sys_chan_open(const char *key)
{
    (void)key;
    return NULL;
}

void scb_sys_chan_close(scb_sys_chan_t *chan)
{
    (void)chan;
}

int scb_sys_wait(scb_sys_chan_t *chan, const void *addr, uint32_t expected,
                 int64_t timeout_ns, unsigned attempt)
{
    int saved = errno, r;
    const _Atomic uint32_t *word = (const _Atomic uint32_t *)addr;

    (void)chan;
    if (atomic_load_explicit(word, memory_order_acquire) != expected) {
        r = 0;
    } else if (timeout_ns == 0) {
        r = 1;
    } else {
#if defined(SCB_WAIT_FUTEX)
        /* FUTEX_WAIT (not FUTEX_WAIT_PRIVATE): the word is in a shared
         * mapping, and the kernel keys the wait on the page, not on our
         * address.  The timeout is relative, on CLOCK_MONOTONIC. */
        if (futex_wait(addr, expected, timeout_ns) == 0)
            r = 0;
        else if (errno == EAGAIN || errno == EINTR)
            r = 0; /* the word changed first, or a signal: re-check */
        else if (errno == ETIMEDOUT)
            r = 1;
        else
            r = sleep_wait(timeout_ns, attempt); /* seccomp's ENOSYS, ... */
#elif defined(SCB_WAIT_UMTX)
        /* UMTX_OP_WAIT_UINT (not _PRIVATE) compares the 32-bit word and
         * sleeps, keyed on the shared page.  A value that differs returns 0
         * at once.  The timeout is relative (no UMTX_ABSTIME) on
         * CLOCK_MONOTONIC; _umtx_op reads a struct _umtx_time when its
         * size is passed in uaddr. */
        struct _umtx_time ut;
        void *obj = (void *)(uintptr_t)addr;
        int rc;

        if (timeout_ns < 0) {
            rc = _umtx_op(obj, UMTX_OP_WAIT_UINT, (u_long)expected, NULL,
                          NULL);
        } else {
            memset(&ut, 0, sizeof ut);
            ut._timeout = ns_to_timespec(timeout_ns);
            ut._flags = 0;
            ut._clockid = CLOCK_MONOTONIC;
            rc = _umtx_op(obj, UMTX_OP_WAIT_UINT, (u_long)expected,
                          (void *)(uintptr_t)sizeof ut, &ut);
        }
        if (rc == 0)
            r = 0;
        else if (errno == EINTR || errno == EAGAIN)
            r = 0;
        else if (errno == ETIMEDOUT)
            r = 1;
        else
            r = sleep_wait(timeout_ns, attempt);
#else
        r = sleep_wait(timeout_ns, attempt);
#endif
    }
    errno = saved;
    return r;
}

void scb_sys_wake(scb_sys_chan_t *chan, const void *addr)
{
    (void)chan;
#if defined(SCB_WAIT_FUTEX)
    int saved = errno;

    atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
    (void)syscall(SCB_SYS_FUTEX_ANY, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    errno = saved;
#elif defined(SCB_WAIT_UMTX)
    int saved = errno;

    atomic_fetch_add_explicit(&scb_sys_wake_calls, 1, memory_order_relaxed);
    (void)_umtx_op((void *)(uintptr_t)addr, UMTX_OP_WAKE, (u_long)INT_MAX,
                   NULL, NULL);
    errno = saved;
#else
    /* The fallback's waiters wake up on their own after a bounded sleep. */
    (void)addr;
#endif
}

int scb_sys_errno_to_scb(int e)
{
    /* A chain of ifs, not a switch: some of these share a value on some
     * systems (ENOTSUP and EOPNOTSUPP on Linux). */
    if (e == ENOENT)
        return SCB_ENOENT;
    if (e == EEXIST)
        return SCB_EEXIST;
    if (e == EACCES || e == EPERM)
        return SCB_EACCES;
    if (e == ENAMETOOLONG)
        return SCB_ENAMETOOLONG;
    if (e == ENOMEM || e == ENOSPC || e == EFBIG)
        return SCB_ENOMEM;
    if (e == EINVAL)
        return SCB_EINVAL;
    /* A kernel built without the facility (System V IPC is often left out
     * of containers and small kernels) is "not offered", not a failure. */
    if (e == ENOSYS || e == ENOTSUP || e == EOPNOTSUPP)
        return SCB_ENOTSUP;
    return SCB_ESYS;
}

/*
 * Asymmetric barriers (Linux membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED):
 * processes on the fast path register and order their accesses with a
 * compiler barrier only; the rare side that must order against them (a
 * sleeper raising its flag, a registering reader) issues the heavy barrier,
 * which runs a full memory barrier on every CPU currently running a
 * registered process.  Elsewhere both calls report "unavailable" and the
 * portable code uses full fences instead.
 */
#if defined(__linux__) && defined(SYS_membarrier)
#include <linux/membarrier.h>
#define SCB_HAVE_MEMBARRIER 1
#endif

int scb_sys_barrier_register(void)
{
#ifdef SCB_HAVE_MEMBARRIER
    int saved = errno;
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    int ok = 0;

    if (cmds >= 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
        (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
        ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
                     0, 0) == 0;
    errno = saved;
    return ok;
#else
    return 0;
#endif
}

int scb_sys_barrier_heavy(void)
{
#ifdef SCB_HAVE_MEMBARRIER
    int saved = errno;
    int rc = syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0
                 ? 0
                 : -1;

    errno = saved;
    return rc;
#else
    return -1;
#endif
}

void scb_sys_cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && (defined(__aarch64__) || defined(__arm__))
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

int scb_sys_protect_readonly(void *addr, size_t len)
{
    int saved = errno, rc = SCB_OK;

    if (len != 0 && mprotect(addr, len, PROT_READ) != 0)
        rc = (errno == EINVAL || errno == EACCES) ? SCB_ENOTSUP
                                                  : scb_sys_errno_to_scb(errno);
    if (rc == SCB_OK || rc == SCB_ENOTSUP)
        errno = saved;
    return rc;
}

/* ---- forks ---------------------------------------------------------- */

uint32_t scb_sys_forks;

static void count_fork(void)
{
    scb_sys_forks++;
}

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void watch_forks_once(void)
{
    /* If it fails (ENOMEM), forks go unnoticed, as before it was asked. */
    (void)pthread_atfork(NULL, NULL, count_fork);
}

void scb_sys_watch_forks(void)
{
    (void)pthread_once(&watch_once, watch_forks_once);
}
