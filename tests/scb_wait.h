/*
 * scb_wait.h - what the files of the wait suite of tests/check_scb share
 * (check_scb_wait.c, scb_wait_lossless.c, scb_wait_dead.c): its limits, the
 * state shared with the children, the fixture, the helpers of the test
 * process and the child bodies (scb_wait_util.c).  The harness below them
 * (children, registry, W_ASSERT) is mputil.h.
 *
 * It includes the system headers the suite uses, so a file of the suite
 * starts with _GNU_SOURCE, config.h and this header.
 */
#ifndef SCB_WAIT_H
#define SCB_WAIT_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <check.h>

#include "mputil.h"
#include "scb.h"
#include "testutil.h"

/* How long the test process waits for a child to open a ring and say so. */
#define READY_MS 10000
/* How long it waits for a child to end before killing it. */
#define REAP_MS 15000

#define MAX_RINGS MH_MAX_RINGS
#define MAX_HANDLES MH_MAX_HANDLES
#define NSLOTS 8

/* Where a forced process id reuse is tried (Linux, root). */
#define NS_LAST_PID "/proc/sys/kernel/ns_last_pid"

/* ---- state shared with the children ------------------------------------ */

/* What one child reports. */
struct kstat {
    _Atomic uint64_t progress; /* readers: items returned so far */
    atomic_int done;           /* blocked callers: 1 once the call returned */
    int rc;                    /* what the blocking call returned */
    uint64_t t_call, t_ret;    /* now_ns() before and after it */
    uint64_t returned;         /* readers: items returned in all */
    uint64_t lost;             /* readers: scb_lost at the end */
};

struct shared {
    struct kstat k[NSLOTS];
};
extern struct shared *sh;

/* The fixture (checked: w_setup, w_teardown) and a tcase with it, added to s. */
void w_setup(void);
void w_teardown(void);
TCase *w_tcase(Suite *s, const char *name, double timeout);

/* The tcases of scb_wait_lossless.c, scb_wait_dead.c, scb_wait_guard.c and
 * scb_wait_fd.c, added to s. */
void tu_wait_add_lossless(Suite *s);
void tu_wait_add_dead(Suite *s);
void tu_wait_add_guard(Suite *s);
void tu_wait_add_fd(Suite *s);
/* scb_wait_fd_mp.c, added by tu_wait_add_fd. */
void tu_wait_add_fd_mp(Suite *s);

/* scb_fd helpers (scb_wait_fd.c): the four ring kinds (items or records,
 * overwrite or lossless) and a name for each; whether fd polls readable
 * within ms (the test process: the test fails if poll does; a child:
 * k_ready, -1 on error); the wake system calls this process made (sys.h);
 * one 16-byte item or record pushed or popped (SCB_EBADFORMAT if what came
 * is not tu_fill's); hs[h]'s scb_fd, asserted. */
extern const uint32_t fd_kinds[4];
const char *fd_kind(uint32_t flags);
int fd_ready(int fd, int ms);
int k_ready(int fd, int ms);
unsigned long wake_calls(void);
int fd_push(scb_t *w, uint64_t seq);
int fd_pop(scb_t *r, uint64_t *seq);
scb_fd_t fd_of(int h);

/* What a child is told to do. */
struct kopts {
    int ring;           /* index into rings[]; -1: none */
    int slot;           /* index into sh->k */
    uint32_t oflags;    /* scb_open flags */
    int ready_fd;       /* writes 'R' once ready, 'E' if its open failed; -1: none */
    int cmd_fd;         /* one byte: go (or quit); -1: none */
    int rep_fd;         /* one byte per item received; -1: none */
    uint64_t n;         /* items to read or write */
    uint64_t seq;       /* first (or only) seq */
    unsigned delay_us;  /* sleep after the go */
    int64_t timeout_ms; /* for the child's _wait calls */
    unsigned nap_every; /* readers: nap after every this many items (0: never) */
    unsigned nap_us;
    int fast;           /* readers: scb_pop_many, scb_pop_wait only when empty */
};

/* Test process: the seq counters of the single-process tests. */
extern uint64_t next_push, next_pop;

const char *kind(uint32_t flags);

/* The apr backend creates 0600 only (README): another mode is SCB_ENOTSUP
 * and leaves nothing behind.  1 if that was checked (apr), 0 otherwise. */
int apr_mode_refused(int k, uint32_t flags, uint32_t mode);

/* Creates rings[k] and keeps the writer in hs[h]. */
void mk_ring(int k, uint32_t size, uint64_t length, uint32_t flags,
                    uint32_t max_readers, uint32_t mode, int h);

int w_open_rc(int k, uint32_t flags, scb_t **out);

/* Opens rings[k] into hs[h] and asserts it worked. */
void open_h(int k, uint32_t flags, int h);

void close_h(int h);

scb_info_t w_info_of(int h);

/* Test process: asserts that a child wrote 'R' (it opened its ring). */
void expect_ready(int fd, const char *who);

int k_open(const struct kopts *o, uint32_t flags, scb_t **h);

void ready(const struct kopts *o);

/* Opens the ring as writer, gets ready, waits for the go, sleeps delay_us,
 * pushes item seq. */
int child_push_later(void *arg);

/* Opens the ring as reader, gets ready, waits for the go, sleeps delay_us,
 * pops one item, which must be seq. */
int child_pop_later(void *arg);

/* Ping-pong: reads every item of rings[0] with scb_pop_wait(-1) and pushes
 * it back on rings[1], n items. */
int child_echo(void *arg);

/* A reader of n items in order from o->seq: scb_pop_wait(timeout_ms) one by
 * one, or (fast) scb_pop_many with scb_pop_wait only when nothing waits.
 * Every item must be intact and the next seq; scb_lost must stay 0. */
int child_stream_reader(void *arg);

/* The writer of the million-item test: n items from the ring's pushed count
 * on, in a random mix of scb_push_wait(-1) and scb_push_many (what does not
 * fit goes through scb_push_wait(-1), then scb_push_many again). */
int child_stream_writer(void *arg);

/* A reader that registers and then does nothing (ring >= 0), or no ring at
 * all (ring < 0): waits for a byte or end of file on cmd_fd, then closes.
 * With timeout_ms != 0 it sleeps in scb_pop_wait(timeout_ms) instead, over
 * and over, until it is killed (a victim). */
int child_idle(void *arg);

/* A reader that sleeps in scb_pop_wait(-1) for n items from o->seq and
 * writes a byte to rep_fd for each. */
int child_waiter(void *arg);

/* A writer that takes the role over, pushes n items with scb_push (they
 * must fit), gets ready and then blocks in scb_push_wait(timeout_ms) with
 * the next item; records when that returned and what it said. */
int child_blocked_writer(void *arg);

/* Pushes one item (seq next_push) on hs[h]; returns scb_push's code. */
int push1(int h);

/* Pushes items next_push.. with scb_push_many(n); returns its code. */
int push_n(int h, size_t n, size_t *count);

/* Pops n items from hs[h], which must be next_pop.. in order. */
void pop_expect_n(int h, uint64_t n);

void w_pop_empty(int h);

#endif /* SCB_WAIT_H */
