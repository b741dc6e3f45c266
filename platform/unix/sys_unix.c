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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * The 32-bit digest of a start time that goes into a process identity.  It is
 * the splitmix64 finalizer folded to 32 bits, so that start times a few ticks
 * apart still give unrelated digests and a reused process id is caught with
 * probability 1 - 2^-32.
 */
static uint32_t start_digest(uint64_t start)
{
    uint64_t z = start + UINT64_C(0x9e3779b97f4a7c15);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (uint32_t)(z ^ (z >> 32));
}

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
        digest = start_digest(pi.start);
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
        alive = !pi.dead && start_digest(pi.start) == (uint32_t)id;
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
