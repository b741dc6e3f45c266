/*
 * mputil.h - the harness shared by the multi-process suites of
 * tests/check_scb (check_scb_mp.c and the check_scb_wait.c group): forked
 * children and their spawning, killing and reaping, the test process's
 * handles and rings, the ring-name registry that Check's runner process
 * cleans up, and MP_ASSERT / W_ASSERT, which clean up before they fail.
 *
 * The conventions are in the top comment of check_scb_mp.c: children never
 * call Check, they report by exit status and on stderr and leave with _exit;
 * every assertion of the test process cleans up first (a failed Check
 * assertion ends it at once, without the checked teardown); every ring name
 * is also recorded for the runner's unchecked teardown (reg_teardown).
 */
#ifndef SCB_MPUTIL_H
#define SCB_MPUTIL_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <check.h>

#include "scb.h"
#include "testutil.h"

#define MH_MAX_KIDS 64
#define MH_MAX_RINGS 4
#define MH_MAX_HANDLES 16

/* Which suite is running: its messages differ a little (say's prefix, the
 * seed in W_ASSERT's messages), and only the wait suite's children die with
 * the test process (PR_SET_PDEATHSIG on Linux). */
enum { MH_MP, MH_WAIT };

/* ---- the test process's state, for cleanup ------------------------------ */

extern int mh_style;                          /* MH_MP or MH_WAIT */
extern char rings[MH_MAX_RINGS][32];          /* the test's rings; "" = none */
extern pid_t kids[MH_MAX_KIDS];               /* children not yet reaped */
extern int nkids;
extern scb_t *hs[MH_MAX_HANDLES];             /* the test process's handles */
extern uint64_t seed;                         /* the test's random seed */
extern uint64_t rng_state;                    /* rnd's state (per child) */

/* xorshift64* on rng_state. */
uint64_t rnd(void);

/* CLOCK_MONOTONIC in ns; ms since t0; ms from t0 to t1 (negative if t1 is
 * before t0). */
uint64_t now_ns(void);
double ms_since(uint64_t t0);
double ms_between(uint64_t t0, uint64_t t1);

/* Kills and reaps every child still known, closes the test process's
 * handles and unlinks the rings.  Safe to call twice. */
void mh_cleanup(void);

/* Formats the message (its arguments may read the handles), cleans up,
 * then fails the test; with_seed adds the backend and the seed. */
#define MH_ASSERT_(cond, with_seed, ...)                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            char mh_msg_[1024];                                               \
            snprintf(mh_msg_, sizeof mh_msg_, __VA_ARGS__);                   \
            mh_cleanup();                                                     \
            if (with_seed)                                                    \
                ck_abort_msg("%s [backend %s, seed %" PRIu64 "]", mh_msg_,    \
                             tu_backend, seed);                               \
            else                                                              \
                ck_abort_msg("%s", mh_msg_);                                  \
        }                                                                     \
    } while (0)

/* Every assertion of check_scb_mp.c. */
#define MP_ASSERT(cond, ...) MH_ASSERT_(cond, 0, __VA_ARGS__)
/* Every assertion of the test process in the wait suite. */
#define W_ASSERT(cond, ...) MH_ASSERT_(cond, 1, __VA_ARGS__)

/* Runner side (unchecked fixture): the registry of names, and the unlink of
 * whatever a killed test process left. */
void reg_setup(void);
void reg_teardown(void);

/* Test process side (the checked fixture's common part): names rings[0 ..
 * nrings-1] and records them, forgets children and handles, picks the seed.
 * mh_teardown cleans up and forgets the rings. */
void mh_setup(int style, int nrings);
void mh_teardown(void);

/* Child side: one line on stderr, with the suite, pid and backend. */
void say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Forks a child that runs fn(arg) and _exits with its result. */
pid_t spawn(int (*fn)(void *), void *arg);

/* Waits up to ms for the child to end and returns its wait status; kills it
 * and returns -1 when it does not end in time. */
int reap(pid_t pid, int ms);

/* Drops a child the test process reaped itself from the list of kids. */
void forget(pid_t pid);

/* Kills the child and reaps it at once. */
int kill_reap(pid_t pid);

int exited0(int st);
int killed9(int st);
const char *st_str(int st);

/* Reads up to n bytes from fd, waiting at most ms in all; returns how many
 * it got. */
size_t read_bytes(int fd, void *buf, size_t n, int ms);
void put_byte(int fd, char c);

/* Child side: blocks until one byte or end of file comes on fd. */
void await_byte(int fd);

/* Test process: a pipe, or the test fails. */
void mk_pipe(int fds[2]);

#endif /* SCB_MPUTIL_H */
