/*
 * sys.h - the OS services the portable code needs, one implementation per OS
 * under platform/ (platform/unix/sys_unix.c, platform/win32/sys_win32.c).
 *
 * None of these is called on the push/pop fast path.
 */
#ifndef SCB_SYS_H
#define SCB_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "scb.h"

/* The page size of this process, a power of two. */
size_t scb_sys_page_size(void);

/*
 * A process identity that survives process id reuse: the process id in the
 * high 32 bits and a 32-bit digest of the process's start time in the low 32
 * bits.  Never 0.  Not cached: a forked child gets its own.
 */
uint64_t scb_sys_proc_self(void);

/* 1 if the process `id` (from scb_sys_proc_self, possibly another process's)
 * is alive: a process with that id exists, is not a zombie, and started at
 * the same time.  0 otherwise. */
int scb_sys_proc_alive(uint64_t id);

/*
 * The 32-bit digest of a process start time (in the OS's own unit) that
 * goes into a process identity, for the OS layers: the splitmix64
 * finalizer folded to 32 bits, so that start times a few ticks apart still
 * give unrelated digests and a reused process id is caught with
 * probability 1 - 2^-32.  Pure computation; scb_sys_mix64 is the finalizer.
 */
static inline uint64_t scb_sys_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint32_t scb_sys_start_digest(uint64_t start)
{
    uint64_t z = scb_sys_mix64(start + UINT64_C(0x9e3779b97f4a7c15));

    return (uint32_t)(z ^ (z >> 32));
}

/* Nanoseconds of a monotonic clock. */
uint64_t scb_sys_now_ns(void);

/* Sleeps about `us` microseconds. */
void scb_sys_sleep_us(uint32_t us);

/*
 * A wake channel: what scb_sys_wait and scb_sys_wake need besides the word
 * where the OS cannot key a wait between processes on the word's memory
 * (Windows: a named event that every process opening the same key shares).
 * `key` names one word of one ring for the whole host; the caller builds it
 * from the backend, the ring name and the word.  Returns NULL where no
 * channel is needed (futex, umtx) or none could be had; the functions below
 * take NULL and then use the word alone (or the bounded sleep).  A key
 * shared by two rings (names differing only in case, on Windows) costs
 * spurious wake-ups, never a lost one.
 */
typedef struct scb_sys_chan scb_sys_chan_t;
scb_sys_chan_t *scb_sys_chan_open(const char *key);
void scb_sys_chan_close(scb_sys_chan_t *chan);

/*
 * Blocks while the 32-bit word at `addr` (in memory shared between
 * processes, 4-byte aligned) still holds `expected`, for at most timeout_ns
 * nanoseconds (negative: no limit).  Returns 0 when woken, when the word
 * differs, or spuriously; 1 when the time ran out.  Callers re-check their
 * condition in a loop.  Where the OS has no cross-process wait on a word
 * and `chan` is NULL, this sleeps a short bounded time (microseconds,
 * backing off with `attempt`, the caller's loop count) and returns 0:
 * correct, only slower.
 */
int scb_sys_wait(scb_sys_chan_t *chan, const void *addr, uint32_t expected,
                 int64_t timeout_ns, unsigned attempt);

/* Wakes every process blocked in scb_sys_wait on `addr` (and `chan`). */
void scb_sys_wake(scb_sys_chan_t *chan, const void *addr);

/* The system calls scb_sys_wake and scb_sys_bell_ring made in this process
 * (relaxed atomic): the tests' way to see that a push makes none. */
extern _Atomic unsigned long scb_sys_wake_calls;

/*
 * Doorbells, for scb_fd: an OS object that an event loop waits on (a
 * descriptor readable for poll/epoll/kqueue, a Windows event), named by a
 * 64-bit key for the whole host, so that any process that knows the key,
 * and nothing else, can make it ready.  The key travels through the ring
 * (struct scb_bell); the owner picks it at random.
 *
 * open makes the bell `key` (SCB_EEXIST: that key is in use, pick
 * another; SCB_ENOTSUP: no doorbells on this system), not ready, that the
 * users `mode` (the ring's permission bits) lets write the ring may ring;
 * `gid` is the ring's group (UINT32_MAX: unknown), which the bell takes
 * where only group members may write the ring (SCB_ENOTSUP, errno EACCES,
 * if it cannot).
 * With `timed` it can also become ready by a timer (scb_sys_bell_timer).
 * fd is the handle given to the event loop, owned by the bell.  clear
 * makes it not ready (and stops its timer); set makes it ready, needing no
 * new descriptor.  close closes it all and, with `remove`, removes its
 * name (not in a forked child: the name is the parent's).  remove removes
 * the name of a bell whose owner died without closing it, where names
 * outlive their owners, if its owner is indeed gone: 1 when no such name
 * is left, 0 when it stays (a live bell, or not this process's to judge).
 *
 * ring makes the bell `key`, of this process or another, ready, without
 * blocking; *ringer is the caller's sending end, made on first use and
 * freed by scb_sys_ringer_close.  0 when rung (or ringing already), 1 when
 * it cannot be rung and never will (its owner is gone, or it is not this
 * process's to ring), -1 when it could not be rung now (out of memory or
 * descriptors): the caller may try again later.
 */
typedef struct scb_sys_bell scb_sys_bell_t;
typedef struct scb_sys_ringer scb_sys_ringer_t;
int scb_sys_bell_open(uint64_t key, int timed, uint32_t mode, uint32_t gid,
                      scb_sys_bell_t **out);
scb_fd_t scb_sys_bell_fd(const scb_sys_bell_t *b);
void scb_sys_bell_clear(scb_sys_bell_t *b);
void scb_sys_bell_set(scb_sys_bell_t *b);
void scb_sys_bell_timer(scb_sys_bell_t *b, uint64_t ns);
void scb_sys_bell_close(scb_sys_bell_t *b, int remove);
int scb_sys_bell_remove(uint64_t key);
int scb_sys_bell_ring(scb_sys_ringer_t **ringer, uint64_t key);
void scb_sys_ringer_close(scb_sys_ringer_t *ringer);


/*
 * Asymmetric barriers.  scb_sys_barrier_register makes this process one
 * whose fast path may order its memory accesses with a compiler barrier
 * only: returns 1 if so, 0 if the OS offers no such thing.  Not inherited
 * by a forked child reliably: call it in each process that opens a ring.
 * scb_sys_barrier_heavy acts as a full fence executed at once by the caller
 * and by every thread of every registered process: returns 0, or -1 if
 * unavailable (the caller must then not rely on it).
 */
int scb_sys_barrier_register(void);
int scb_sys_barrier_heavy(void);

/*
 * Fork detection.  scb_sys_forks is bumped in the child of every fork()
 * once scb_sys_watch_forks has run in the process (it installs a
 * pthread_atfork child handler, once; calling it again is free), so a
 * handle that recorded the value when it was opened learns with one load
 * that it is being used in a process other than its opener's.  Children
 * made without fork() (vfork, _Fork, raw clone) are not counted.  The
 * handler stays installed while the library is loaded (glibc removes a
 * library's handlers when it is unloaded).  Always 0 where
 * there is no fork (Windows).
 */
extern uint32_t scb_sys_forks;
void scb_sys_watch_forks(void);

/* A pause for spin-wait loops (x86 PAUSE, ARM YIELD). */
void scb_sys_cpu_relax(void);

/* Translates an errno value into an SCB_E* code (SCB_ESYS for anything
 * without a closer match); it does not change errno, so the native code
 * stays there for SCB_ESYS.  (Windows errors are translated by the apr
 * backend itself.) */
int scb_sys_errno_to_scb(int e);

/* Makes [addr, addr + len) of a mapping read-only (mprotect on Unix,
 * VirtualProtect on Windows).  SCB_ENOTSUP where the system refuses to
 * narrow that mapping, another SCB_E* code for other errors. */
int scb_sys_protect_readonly(void *addr, size_t len);

#endif /* SCB_SYS_H */
