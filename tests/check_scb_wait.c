/*
 * check_scb_wait.c - blocking waits, SCB_LOSSLESS and processes that die
 * (issue 3): the part of the per-backend suite (tests/check_scb BACKEND)
 * that covers scb_pop_wait and scb_push_wait, reader slots and SCB_ELIMIT,
 * readers and waiters killed with SIGKILL, and reader permissions in
 * lossless mode.
 *
 *     Suite *tu_wait_suite(void);
 *
 * Tests are written against the public contract (spec/API.md, scb.h) only:
 * nothing here looks inside a segment.
 *
 * The conventions of check_scb_mp.c apply.  Every tcase runs real forked
 * processes.  The test process (Check's forked child) creates the rings
 * before it forks, so children only open them.  Children never call Check:
 * they report by exit status, print details on stderr, leave their figures
 * in an anonymous shared mapping (struct shared) and leave with _exit.  In
 * fork mode a failed Check assertion ends the test process at once, without
 * the checked teardown, so every assertion here goes through W_ASSERT, which
 * first kills and reaps the children, closes the handles and unlinks the
 * rings.  As a last resort (a test that times out is killed by Check), every
 * ring name is also recorded in a mapping shared with Check's runner
 * process, whose unchecked teardown unlinks whatever is left.  On Linux the
 * children also die with the test process (PR_SET_PDEATHSIG).
 *
 * Time limits are the contract's and the issue's: a timeout holds to within
 * a few ms (100 ms waits return after 100 to 115 ms), a dead reader stops
 * holding the writer back within 1 s of its death, and a wake-up is never
 * lost (a round that needs a wake-up and gets none runs into a 2 s
 * timeout, which fails the test).
 *
 * The machine may have two cores: children never spin; they sleep in the
 * library's waits or in short naps, and every wait of the test process has
 * a deadline.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

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

#include "scb.h"
#include "testutil.h"

/* How long the test process waits for a child to open a ring and say so. */
#define READY_MS 10000
/* How long it waits for a child to end before killing it. */
#define REAP_MS 15000

#define MAX_KIDS 32
#define MAX_RINGS 2
#define MAX_HANDLES 16
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

static struct shared *sh;

/* Ring names recorded for Check's runner process (see the top comment). */
#define REG_MAX 256
struct registry {
    atomic_int n;
    char names[REG_MAX][32];
};
static struct registry *reg;

/* ---- the test process's state, for cleanup ------------------------------ */

static char rings[MAX_RINGS][32];
static pid_t kids[MAX_KIDS];
static int nkids;
static scb_t *hs[MAX_HANDLES];
static uint64_t seed;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

static double ms_between(uint64_t t0, uint64_t t1)
{
    return t1 >= t0 ? (double)(t1 - t0) / 1e6 : -(double)(t0 - t1) / 1e6;
}

static void forget(pid_t pid)
{
    int i;

    for (i = 0; i < nkids; i++) {
        if (kids[i] == pid) {
            kids[i] = kids[--nkids];
            return;
        }
    }
}

/* Kills and reaps every child still known, closes the test process's
 * handles and unlinks the rings.  Safe to call twice. */
static void w_cleanup(void)
{
    int i, st;

    for (i = 0; i < nkids; i++)
        kill(kids[i], SIGKILL);
    for (i = 0; i < nkids; i++)
        while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
            ;
    nkids = 0;
    for (i = 0; i < MAX_HANDLES; i++) {
        scb_close(hs[i]);
        hs[i] = NULL;
    }
    for (i = 0; i < MAX_RINGS; i++) {
        if (rings[i][0] != '\0') {
            scb_config_t c = tu_cfg(0, 0);
            scb_unlink(rings[i], &c);
        }
    }
}

/* Every assertion of the test process: formats the message (its arguments
 * may read the handles), cleans up, then fails the test. */
#define W_ASSERT(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            char w_msg_[1024];                                                \
            snprintf(w_msg_, sizeof w_msg_, __VA_ARGS__);                     \
            w_cleanup();                                                      \
            ck_abort_msg("%s [backend %s, seed %" PRIu64 "]", w_msg_,         \
                         tu_backend, seed);                                   \
        }                                                                     \
    } while (0)

/* Runner side (unchecked fixture): the registry of names, and the unlink of
 * whatever a killed test process left. */
static void reg_setup(void)
{
    if (reg == NULL) {
        void *p = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            reg = p;
            memset(reg, 0, sizeof *reg);
        }
    }
}

static void reg_teardown(void)
{
    scb_config_t c = tu_cfg(0, 0);
    int i, n;

    if (reg == NULL)
        return;
    n = atomic_load(&reg->n);
    for (i = 0; i < n && i < REG_MAX; i++)
        scb_unlink(reg->names[i], &c); /* SCB_ENOENT when the test did */
    atomic_store(&reg->n, 0);
}

static void w_setup(void)
{
    int i, k;

    for (k = 0; k < MAX_RINGS; k++) {
        tu_name(rings[k], sizeof rings[k]);
        if (reg != NULL) {
            i = atomic_fetch_add(&reg->n, 1);
            if (i < REG_MAX)
                memcpy(reg->names[i], rings[k], sizeof reg->names[i]);
        }
    }
    nkids = 0;
    memset(hs, 0, sizeof hs);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(sh != MAP_FAILED, "mmap of the shared state failed");
    memset(sh, 0, sizeof *sh);
    seed = now_ns() ^ ((uint64_t)getpid() << 32);
    if (seed == 0)
        seed = 1;
    rng_state = seed;
}

static void w_teardown(void)
{
    int k;

    w_cleanup();
    for (k = 0; k < MAX_RINGS; k++)
        rings[k][0] = '\0';
    if (sh != NULL && sh != MAP_FAILED)
        munmap(sh, sizeof *sh);
    sh = NULL;
}

/* ---- helpers of the test process ---------------------------------------- */

static const char *kind(uint32_t flags)
{
    return (flags & SCB_LOSSLESS) ? "lossless" : "overwrite";
}

/* The apr backend creates 0600 only (README): another mode is SCB_ENOTSUP
 * and leaves nothing behind.  1 if that was checked (apr), 0 otherwise. */
static int apr_mode_refused(int k, uint32_t flags, uint32_t mode)
{
    scb_config_t c = tu_cfg(16, 8);
    scb_t *h = NULL;
    int rc;

    if (strcmp(tu_backend, "apr") != 0)
        return 0;
    c.flags = flags;
    c.mode = mode;
    rc = scb_create(&h, rings[k], &c);
    W_ASSERT(rc == SCB_ENOTSUP && h == NULL,
             "apr: scb_create with mode %#o = %s, not SCB_ENOTSUP",
             (unsigned)mode, scb_strerror(rc));
    W_ASSERT(scb_open(&h, rings[k], &c) == SCB_ENOENT, "apr: refused ring exists");
    return 1;
}

/* Creates rings[k] and keeps the writer in hs[h]. */
static void mk_ring(int k, uint32_t size, uint64_t length, uint32_t flags,
                    uint32_t max_readers, uint32_t mode, int h)
{
    scb_config_t c = tu_cfg(size, length);
    int rc;

    c.flags = flags;
    c.max_readers = max_readers;
    c.mode = mode;
    rc = scb_create(&hs[h], rings[k], &c);
    W_ASSERT(rc == SCB_OK,
             "scb_create(%s ring, item_size %u, length %" PRIu64 ", max_readers %u): %s",
             kind(flags), size, length, max_readers, scb_strerror(rc));
}

static int open_rc(int k, uint32_t flags, scb_t **out)
{
    scb_config_t c = tu_cfg(0, 0);

    c.flags = flags;
    return scb_open(out, rings[k], &c);
}

/* Opens rings[k] into hs[h] and asserts it worked. */
static void open_h(int k, uint32_t flags, int h)
{
    int rc = open_rc(k, flags, &hs[h]);

    W_ASSERT(rc == SCB_OK, "scb_open(ring %d, flags %#x): %s", k, (unsigned)flags,
             scb_strerror(rc));
}

static void close_h(int h)
{
    int rc = scb_close(hs[h]);

    hs[h] = NULL;
    W_ASSERT(rc == SCB_OK, "scb_close(handle %d): %s", h, scb_strerror(rc));
}

static scb_info_t info_of(int h)
{
    scb_info_t info;
    int rc = scb_info(hs[h], &info);

    W_ASSERT(rc == SCB_OK, "scb_info(handle %d): %s", h, scb_strerror(rc));
    return info;
}

static void mk_pipe(int fds[2])
{
    W_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
}

/* ---- children ------------------------------------------------------------ */

/* Child side: one line on stderr. */
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    n = snprintf(buf, sizeof buf, "check_scb_wait[%ld] %s: ", (long)getpid(),
                 tu_backend);
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", buf);
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t pid, parent = getpid();

    W_ASSERT(nkids < MAX_KIDS, "too many children");
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    W_ASSERT(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
#ifdef __linux__
        /* Die with the test process, even when Check kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(98);
#else
        (void)parent;
#endif
        rng_state = seed ^ ((uint64_t)getpid() * UINT64_C(0x9e3779b97f4a7c15));
        if (rng_state == 0)
            rng_state = 1;
        _exit(fn(arg));
    }
    kids[nkids++] = pid;
    return pid;
}

/* Waits up to ms for the child to end and returns its wait status; kills it
 * and returns -1 when it does not end in time. */
static int reap(pid_t pid, int ms)
{
    uint64_t deadline = now_ns() + (uint64_t)ms * 1000000u;
    uint32_t nap = 50;
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget(pid);
            return st;
        }
        if (r < 0 && errno != EINTR) {
            forget(pid);
            return -2;
        }
        if (now_ns() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            forget(pid);
            return -1;
        }
        tu_sleep_us(nap);
        if (nap < 2000)
            nap *= 2;
    }
}

/* Kills the child and reaps it at once. */
static int kill_reap(pid_t pid)
{
    int st = -2;

    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    forget(pid);
    return st;
}

static int exited0(int st)
{
    return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int killed9(int st)
{
    return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static const char *st_str(int st)
{
    static char buf[64];

    if (st == -1)
        snprintf(buf, sizeof buf, "did not end in time (killed)");
    else if (st < 0)
        snprintf(buf, sizeof buf, "could not be waited for");
    else if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exit status %d (its stderr says why)", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof buf, "wait status %#x", (unsigned)st);
    return buf;
}

/* Reads up to n bytes from fd, waiting at most ms in all; returns how many
 * it got. */
static size_t read_bytes(int fd, void *buf, size_t n, int ms)
{
    uint64_t deadline = now_ns() + (uint64_t)ms * 1000000u;
    size_t got = 0;

    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = now_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
        ssize_t r;

        if (poll(&p, 1, left) <= 0) {
            if (now_ns() >= deadline)
                break;
            continue;
        }
        r = read(fd, (char *)buf + got, n - got);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    return got;
}

static void put_byte(int fd, char c)
{
    while (write(fd, &c, 1) < 0 && errno == EINTR)
        ;
}

/* Child side: blocks until one byte or end of file comes on fd. */
static void await_byte(int fd)
{
    char c;

    while (read(fd, &c, 1) < 0 && errno == EINTR)
        ;
}

/* Test process: asserts that a child wrote 'R' (it opened its ring). */
static void expect_ready(int fd, const char *who)
{
    char c = 0;

    read_bytes(fd, &c, 1, READY_MS);
    W_ASSERT(c == 'R', "%s did not get ready (%s)", who,
             c == 0 ? "no word in time" : c == 'E' ? "its scb_open failed" : "bad word");
}

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

static int k_open(const struct kopts *o, uint32_t flags, scb_t **h)
{
    scb_config_t c = tu_cfg(0, 0);
    uint64_t until = now_ns() + 2000000000u;
    int rc;

    c.flags = flags;
    /* A writer waits until the test process has given the role up. */
    while ((rc = scb_open(h, rings[o->ring], &c)) == SCB_EBUSY &&
           (flags & SCB_WRITER) && now_ns() < until)
        tu_sleep_us(500);
    if (rc != SCB_OK) {
        say("scb_open(ring %d, flags %#x): %s", o->ring, (unsigned)flags,
            scb_strerror(rc));
        if (o->ready_fd >= 0)
            put_byte(o->ready_fd, 'E');
    }
    return rc;
}

static void ready(const struct kopts *o)
{
    if (o->ready_fd >= 0)
        put_byte(o->ready_fd, 'R');
}

/* Opens the ring as writer, gets ready, waits for the go, sleeps delay_us,
 * pushes item seq. */
static int child_push_later(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    tu_sleep_us(o->delay_us);
    tu_fill(item, sizeof item, o->seq);
    rc = scb_push(w, item);
    if (rc != SCB_OK) {
        say("push_later: scb_push: %s", scb_strerror(rc));
        return 1;
    }
    return scb_close(w) == SCB_OK ? 0 : 2;
}

/* Opens the ring as reader, gets ready, waits for the go, sleeps delay_us,
 * pops one item, which must be seq. */
static int child_pop_later(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t s = UINT64_MAX;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    tu_sleep_us(o->delay_us);
    rc = scb_pop(r, item);
    if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->seq) {
        say("pop_later: scb_pop: %s, seq %" PRIu64 ", expected %" PRIu64,
            scb_strerror(rc), s, o->seq);
        return 1;
    }
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* Ping-pong: reads every item of rings[0] with scb_pop_wait(-1) and pushes
 * it back on rings[1], n items. */
static int child_echo(void *arg)
{
    const struct kopts *o = arg;
    struct kopts o1 = *o;
    uint8_t item[16];
    uint64_t i, s;
    scb_t *r, *w;
    int rc;

    o1.ring = 0;
    if (k_open(&o1, 0, &r) != SCB_OK)
        return 10;
    o1.ring = 1;
    if (k_open(&o1, SCB_WRITER, &w) != SCB_OK)
        return 10;
    ready(o);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, -1);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != i) {
            say("echo: round %" PRIu64 ": scb_pop_wait(-1): %s, seq %" PRIu64, i,
                scb_strerror(rc), rc == SCB_OK ? s : 0);
            return 1;
        }
        rc = scb_push_wait(w, item, 2000);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": scb_push_wait: %s", i, scb_strerror(rc));
            return 2;
        }
    }
    scb_close(r);
    scb_close(w);
    return 0;
}

/* A reader of n items in order from o->seq: scb_pop_wait(timeout_ms) one by
 * one, or (fast) scb_pop_many with scb_pop_wait only when nothing waits.
 * Every item must be intact and the next seq; scb_lost must stay 0. */
static int child_stream_reader(void *arg)
{
    const struct kopts *o = arg;
    struct kstat *st = &sh->k[o->slot];
    enum { BATCH = 256 };
    static uint8_t buf[BATCH * 64];
    uint64_t exp = o->seq, end = o->seq + o->n;
    scb_info_t info;
    uint32_t size;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    scb_info(r, &info);
    size = info.item_size;
    if (size > 64) {
        say("reader %d: items of %u bytes are too big for this test", o->slot, size);
        return 11;
    }
    ready(o);
    while (exp < end) {
        size_t got = 0, i;
        uint64_t before = exp;

        if (o->fast) {
            size_t max = (size_t)(end - exp < BATCH ? end - exp : BATCH);
            rc = scb_pop_many(r, buf, 1 + (size_t)(rnd() % max), &got);
            if (rc == SCB_EAGAIN) {
                rc = scb_pop_wait(r, buf, o->timeout_ms);
                got = rc == SCB_OK;
            }
        } else {
            rc = scb_pop_wait(r, buf, o->timeout_ms);
            got = rc == SCB_OK;
        }
        if (rc != SCB_OK) {
            say("reader %d: waiting for seq %" PRIu64 ": %s (lost %" PRIu64 ")", o->slot,
                exp, scb_strerror(rc), scb_lost(r));
            st->returned = exp - o->seq;
            return 3;
        }
        for (i = 0; i < got; i++) {
            uint64_t s = UINT64_MAX;
            if (!tu_check(buf + i * size, size, &s) || s != exp) {
                say("reader %d: got %s seq %" PRIu64 ", expected %" PRIu64 " (lost %" PRIu64 ")",
                    o->slot, s == UINT64_MAX ? "a torn item," : "", s, exp, scb_lost(r));
                st->returned = exp - o->seq;
                return 1;
            }
            exp++;
        }
        atomic_store_explicit(&st->progress, exp - o->seq, memory_order_relaxed);
        if (o->nap_every != 0 && exp / o->nap_every != before / o->nap_every)
            tu_sleep_us(o->nap_us);
    }
    st->returned = exp - o->seq;
    st->lost = scb_lost(r);
    if (st->lost != 0) {
        say("reader %d: scb_lost %" PRIu64 " after all items came", o->slot, st->lost);
        return 4;
    }
    scb_close(r);
    return 0;
}

/* The writer of the million-item test: n items from the ring's pushed count
 * on, in a random mix of scb_push_wait(-1) and scb_push_many (what does not
 * fit goes through scb_push_wait(-1), then scb_push_many again). */
static int child_stream_writer(void *arg)
{
    const struct kopts *o = arg;
    enum { BATCH = 64 };
    uint8_t buf[BATCH * 64];
    uint64_t seq, end;
    scb_info_t info;
    uint32_t size;
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    scb_info(w, &info);
    size = info.item_size;
    if (size > 64)
        return 11;
    seq = info.pushed;
    end = seq + o->n;
    ready(o);
    while (seq < end) {
        uint64_t r = rnd();
        size_t k = 1 + (size_t)(r % BATCH), done = 0, j;

        if (k > end - seq)
            k = (size_t)(end - seq);
        for (j = 0; j < k; j++)
            tu_fill(buf + j * size, size, seq + j);
        if ((r >> 32) & 1) {
            for (j = 0; j < k; j++) {
                rc = scb_push_wait(w, buf + j * size, -1);
                if (rc != SCB_OK) {
                    say("writer: scb_push_wait(-1) at seq %" PRIu64 ": %s", seq + j,
                        scb_strerror(rc));
                    return 1;
                }
            }
        } else {
            while (done < k) {
                size_t c = 99999;
                rc = scb_push_many(w, buf + done * size, k - done, &c);
                if (rc == SCB_OK && c >= 1 && c <= k - done) {
                    done += c;
                    continue;
                }
                if (rc != SCB_EAGAIN || c != 0) {
                    say("writer: scb_push_many(%zu) at seq %" PRIu64 ": %s, count %zu",
                        k - done, seq + done, scb_strerror(rc), c);
                    return 2;
                }
                rc = scb_push_wait(w, buf + done * size, -1);
                if (rc != SCB_OK) {
                    say("writer: scb_push_wait(-1) at seq %" PRIu64 ": %s", seq + done,
                        scb_strerror(rc));
                    return 1;
                }
                done++;
            }
        }
        seq += k;
    }
    return scb_close(w) == SCB_OK ? 0 : 5;
}

/* A reader that registers and then does nothing (ring >= 0), or no ring at
 * all (ring < 0): waits for a byte or end of file on cmd_fd, then closes.
 * With timeout_ms != 0 it sleeps in scb_pop_wait(timeout_ms) instead, over
 * and over, until it is killed (a victim). */
static int child_idle(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[64];
    scb_t *r = NULL;

    if (o->ring >= 0 && k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    if (o->timeout_ms != 0) {
        for (;;) {
            int rc = scb_pop_wait(r, item, o->timeout_ms);
            if (rc != SCB_OK && rc != SCB_ETIMEDOUT) {
                say("victim: scb_pop_wait: %s", scb_strerror(rc));
                return 1;
            }
        }
    }
    await_byte(o->cmd_fd);
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* A reader that sleeps in scb_pop_wait(-1) for n items from o->seq and
 * writes a byte to rep_fd for each. */
static int child_waiter(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t i, s;
    scb_t *r;
    int rc;

    if (k_open(o, o->oflags, &r) != SCB_OK)
        return 10;
    ready(o);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, -1);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->seq + i) {
            say("waiter: item %" PRIu64 ": scb_pop_wait(-1): %s, seq %" PRIu64
                ", expected %" PRIu64, i, scb_strerror(rc), rc == SCB_OK ? s : 0,
                o->seq + i);
            return 1;
        }
        put_byte(o->rep_fd, 'i');
    }
    return scb_close(r) == SCB_OK ? 0 : 2;
}

/* A writer that takes the role over, pushes n items with scb_push (they
 * must fit), gets ready and then blocks in scb_push_wait(timeout_ms) with
 * the next item; records when that returned and what it said. */
static int child_blocked_writer(void *arg)
{
    const struct kopts *o = arg;
    struct kstat *st = &sh->k[o->slot];
    uint8_t item[16];
    scb_info_t info;
    uint64_t seq, i;
    scb_t *w;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    scb_info(w, &info);
    seq = info.pushed;
    for (i = 0; i < o->n; i++) {
        tu_fill(item, sizeof item, seq);
        rc = scb_push(w, item);
        if (rc != SCB_OK) {
            say("blocked writer: scb_push of seq %" PRIu64 ": %s", seq, scb_strerror(rc));
            return 1;
        }
        seq++;
    }
    tu_fill(item, sizeof item, seq);
    ready(o);
    st->t_call = now_ns();
    rc = scb_push_wait(w, item, o->timeout_ms);
    st->t_ret = now_ns();
    st->rc = rc;
    atomic_store(&st->done, 1);
    if (rc != SCB_OK) {
        say("blocked writer: scb_push_wait(%" PRId64 ") of seq %" PRIu64 ": %s after %.1f ms",
            o->timeout_ms, seq, scb_strerror(rc), ms_between(st->t_call, st->t_ret));
        return 5;
    }
    return scb_close(w) == SCB_OK ? 0 : 2;
}

/* Test process: the seq counters of the single-process tests. */
static uint64_t next_push, next_pop;

/* Pushes one item (seq next_push) on hs[h]; returns scb_push's code. */
static int push1(int h)
{
    uint8_t item[16];
    int rc;

    tu_fill(item, sizeof item, next_push);
    rc = scb_push(hs[h], item);
    if (rc == SCB_OK)
        next_push++;
    return rc;
}

/* Pushes items next_push.. with scb_push_many(n); returns its code. */
static int push_n(int h, size_t n, size_t *count)
{
    static uint8_t buf[2048 * 16];
    size_t i;
    int rc;

    W_ASSERT(n <= 2048, "push_n(%zu): too many", n);
    for (i = 0; i < n; i++)
        tu_fill(buf + i * 16, 16, next_push + i);
    *count = 12345;
    rc = scb_push_many(hs[h], buf, n, count);
    if (rc == SCB_OK && *count <= n)
        next_push += *count;
    return rc;
}

/* Pops n items from hs[h], which must be next_pop.. in order. */
static void pop_expect_n(int h, uint64_t n)
{
    uint8_t item[16];
    uint64_t i, s;
    int rc;

    for (i = 0; i < n; i++) {
        s = UINT64_MAX;
        rc = scb_pop(hs[h], item);
        W_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == next_pop,
                 "pop %" PRIu64 " of %" PRIu64 ": %s, seq %" PRIu64 ", expected %" PRIu64,
                 i, n, scb_strerror(rc), s, next_pop);
        next_pop++;
    }
}

static void pop_empty(int h)
{
    uint8_t item[16];
    int rc = scb_pop(hs[h], item);

    W_ASSERT(rc == SCB_EAGAIN, "scb_pop on a drained ring: %s, expected SCB_EAGAIN",
             scb_strerror(rc));
}

/* ======================================================================== */
/* 1. Timeouts                                                              */

/* _i 0: overwrite ring, 1: lossless ring (with the reader registered). */
START_TEST(test_pop_wait_timeouts)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    uint64_t t0, s = UINT64_MAX;
    int rfd[2], cfd[2], rc, st;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 8, flags, 0, 0, 0);
    open_h(0, 0, 1);

    t0 = now_ns();
    rc = scb_pop_wait(hs[1], item, 0);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_EAGAIN, "%s: scb_pop_wait(0) on an empty ring: %s", kind(flags),
             scb_strerror(rc));
    W_ASSERT(dt < 20, "%s: scb_pop_wait(0) took %.1f ms", kind(flags), dt);

    t0 = now_ns();
    rc = scb_pop_wait(hs[1], item, 100);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_ETIMEDOUT, "%s: scb_pop_wait(100) on an empty ring: %s",
             kind(flags), scb_strerror(rc));
    W_ASSERT(dt >= 100 && dt <= 115, "%s: scb_pop_wait(100) timed out after %.2f ms",
             kind(flags), dt);

    /* Forever, with a push from another process after 50 ms. */
    close_h(0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    o.seq = 42;
    o.delay_us = 50000;
    pid = spawn(child_push_later, &o);
    expect_ready(rfd[0], "the pushing child");
    t0 = now_ns();
    put_byte(cfd[1], 'g');
    rc = scb_pop_wait(hs[1], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == 42,
             "%s: scb_pop_wait(-1): %s, seq %" PRIu64 ", expected 42", kind(flags),
             scb_strerror(rc), s);
    W_ASSERT(dt >= 50 && dt < 1000,
             "%s: scb_pop_wait(-1) returned after %.1f ms (the push came after 50 ms)",
             kind(flags), dt);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the pushing child: %s", st_str(st));
    pop_empty(1);
}
END_TEST

START_TEST(test_push_wait_timeouts)
{
    struct kopts o;
    uint8_t item[16];
    uint64_t t0;
    int rfd[2], cfd[2], rc, st, i;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = 0;
    for (i = 0; i < 4; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d of 4: %s", i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "push into a full lossless ring: %s", scb_strerror(rc));

    tu_fill(item, sizeof item, next_push);
    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, 0);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_EAGAIN, "scb_push_wait(0) on a full ring: %s", scb_strerror(rc));
    W_ASSERT(dt < 20, "scb_push_wait(0) took %.1f ms", dt);

    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, 100);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_ETIMEDOUT, "scb_push_wait(100) on a full ring: %s",
             scb_strerror(rc));
    W_ASSERT(dt >= 100 && dt <= 115, "scb_push_wait(100) timed out after %.2f ms", dt);
    W_ASSERT(info_of(0).pushed == 4, "failed pushes pushed: pushed %" PRIu64,
             info_of(0).pushed);

    /* Forever, with a reader in another process that pops after 50 ms;
     * the test process's own reader goes, so only the child holds room. */
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    o.seq = 0;
    o.delay_us = 50000;
    pid = spawn(child_pop_later, &o);
    expect_ready(rfd[0], "the popping child");
    close_h(1);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the child reader (4 unread items) does not hold the "
             "writer back: scb_push = %s", scb_strerror(rc));
    t0 = now_ns();
    put_byte(cfd[1], 'g');
    rc = scb_push_wait(hs[0], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK, "scb_push_wait(-1): %s", scb_strerror(rc));
    W_ASSERT(dt >= 50 && dt < 1000,
             "scb_push_wait(-1) returned after %.1f ms (the pop came after 50 ms)", dt);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the popping child: %s", st_str(st));
    W_ASSERT(info_of(0).pushed == 5, "pushed %" PRIu64 ", expected 5", info_of(0).pushed);
}
END_TEST

/* ======================================================================== */
/* 2. Cross-process wake-up, no lost wake                                   */

#define PP_ROUNDS 5000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* _i 0: overwrite rings, 1: lossless rings. */
START_TEST(test_pingpong)
{
    static double lat[PP_ROUNDS];
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    uint64_t t0, s;
    int rfd[2], rc, st, i;
    pid_t pid;

    mk_ring(0, 16, 4, flags, 0, 0, 0); /* ping: test process -> child */
    mk_ring(1, 16, 4, flags, 0, 0, 1); /* pong: child -> test process */
    open_h(1, 0, 2);
    close_h(1);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = PP_ROUNDS;
    pid = spawn(child_echo, &o);
    expect_ready(rfd[0], "the echo child");

    for (i = 0; i < PP_ROUNDS; i++) {
        double dt;

        tu_fill(item, sizeof item, (uint64_t)i);
        rc = scb_push(hs[0], item);
        W_ASSERT(rc == SCB_OK, "%s: round %d: scb_push: %s", kind(flags), i,
                 scb_strerror(rc));
        s = UINT64_MAX;
        t0 = now_ns();
        rc = scb_pop_wait(hs[2], item, 2000);
        dt = ms_since(t0);
        W_ASSERT(rc == SCB_OK, "%s: round %d of %d: scb_pop_wait(2000): %s after %.1f ms "
                 "(a lost wake-up on one side or the other)",
                 kind(flags), i, PP_ROUNDS, scb_strerror(rc), dt);
        W_ASSERT(tu_check(item, sizeof item, &s) && s == (uint64_t)i,
                 "%s: round %d: echo seq %" PRIu64, kind(flags), i, s);
        lat[i] = dt;
    }
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the echo child: %s", st_str(st));
    pop_empty(2);
    qsort(lat, PP_ROUNDS, sizeof lat[0], cmp_double);
    fprintf(stderr, "check_scb_wait: %s %s ping-pong: %d rounds, round trip median "
            "%.1f us, p99 %.1f us, max %.2f ms\n", tu_backend, kind(flags), PP_ROUNDS,
            lat[PP_ROUNDS / 2] * 1e3, lat[PP_ROUNDS * 99 / 100] * 1e3, lat[PP_ROUNDS - 1]);
}
END_TEST

#define BURST_ITEMS 20000
#define BURST_SIZE 24

/* The writer (the test process) pushes in random bursts of 1 to 8 items
 * with random tiny sleeps between them, while two reader children sleep in
 * scb_pop_wait(-1).  Now and then the writer waits (2 s at most) until both
 * readers have everything: a reader asleep through a push shows there.
 * _i 0: overwrite ring (large enough that nothing is overwritten),
 * 1: lossless ring of 64 (the writer waits for room in scb_push_wait). */
START_TEST(test_bursts)
{
    static uint8_t buf[8 * BURST_SIZE];
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o[2];
    pid_t rp[2];
    uint64_t seq = 0;
    int rfd[2], rc, st, j;

    mk_ring(0, BURST_SIZE, _i ? 64 : 65536, flags, 0, 0, 0);
    mk_pipe(rfd);
    for (j = 0; j < 2; j++) {
        memset(&o[j], 0, sizeof o[j]);
        o[j].ring = 0;
        o[j].slot = j;
        o[j].ready_fd = rfd[1];
        o[j].cmd_fd = o[j].rep_fd = -1;
        o[j].n = BURST_ITEMS;
        o[j].timeout_ms = -1;
        o[j].fast = j;
        rp[j] = spawn(child_stream_reader, &o[j]);
        expect_ready(rfd[0], "a reader");
    }
    while (seq < BURST_ITEMS) {
        uint64_t r = rnd();
        size_t k = 1 + (size_t)(r % 8), done = 0, c, i;

        if (k > BURST_ITEMS - seq)
            k = (size_t)(BURST_ITEMS - seq);
        for (i = 0; i < k; i++)
            tu_fill(buf + i * BURST_SIZE, BURST_SIZE, seq + i);
        while (done < k) {
            c = 99999;
            rc = scb_push_many(hs[0], buf + done * BURST_SIZE, k - done, &c);
            if (!_i) {
                W_ASSERT(rc == SCB_OK && c == k, "overwrite: scb_push_many(%zu): %s, count %zu",
                         k, scb_strerror(rc), c);
                done = k;
                break;
            }
            if (rc == SCB_OK) {
                W_ASSERT(c >= 1 && c <= k - done, "scb_push_many(%zu): SCB_OK, count %zu",
                         k - done, c);
                done += c;
                continue;
            }
            W_ASSERT(rc == SCB_EAGAIN && c == 0, "scb_push_many(%zu): %s, count %zu",
                     k - done, scb_strerror(rc), c);
            rc = scb_push_wait(hs[0], buf + done * BURST_SIZE, 5000);
            W_ASSERT(rc == SCB_OK, "lossless: scb_push_wait(5000) of seq %" PRIu64
                     ": %s (readers at %" PRIu64 " and %" PRIu64 ")",
                     seq + done, scb_strerror(rc),
                     (uint64_t)atomic_load(&sh->k[0].progress),
                     (uint64_t)atomic_load(&sh->k[1].progress));
            done++;
        }
        seq += k;
        if ((r >> 20) % 8 == 0) {
            uint64_t deadline = now_ns() + 2000000000u;
            while ((atomic_load(&sh->k[0].progress) < seq ||
                    atomic_load(&sh->k[1].progress) < seq) && now_ns() < deadline)
                tu_sleep_us(20);
            for (j = 0; j < 2; j++)
                W_ASSERT(atomic_load(&sh->k[j].progress) >= seq,
                         "%s: reader %d asleep at item %" PRIu64 " for 2 s while %" PRIu64
                         " were pushed (a lost wake-up)", kind(flags), j,
                         (uint64_t)atomic_load(&sh->k[j].progress), seq);
        } else if ((r >> 20) % 8 > 2) {
            tu_sleep_us((unsigned)((r >> 40) % 200));
        }
    }
    for (j = 0; j < 2; j++) {
        st = reap(rp[j], 5000);
        W_ASSERT(exited0(st), "%s: reader %d: %s, at item %" PRIu64 " of %d", kind(flags), j,
                 st_str(st), (uint64_t)atomic_load(&sh->k[j].progress), BURST_ITEMS);
        W_ASSERT(sh->k[j].returned == BURST_ITEMS && sh->k[j].lost == 0,
                 "%s: reader %d returned %" PRIu64 ", lost %" PRIu64, kind(flags), j,
                 sh->k[j].returned, sh->k[j].lost);
    }
}
END_TEST

/* ======================================================================== */
/* 3. Lossless: exact room                                                  */

static const uint64_t room_lengths[] = {1, 2, 7, 64, 1000};
#define N_ROOM_LENGTHS ((int)(sizeof room_lengths / sizeof room_lengths[0]))

START_TEST(test_exact_room)
{
    uint64_t L = room_lengths[_i], k, i;
    scb_info_t info;
    size_t c;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1); /* registered before the first push */
    next_push = next_pop = 0;
    info = info_of(0);
    W_ASSERT((info.flags & SCB_LOSSLESS) && info.length == L && info.readers == 1 &&
                 info.max_readers == 64,
             "L %" PRIu64 ": info: flags %#x, length %" PRIu64 ", readers %u, max_readers %u",
             L, (unsigned)info.flags, info.length, info.readers, info.max_readers);

    /* Exactly L pushes fit. */
    for (i = 0; i < L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "L %" PRIu64 ": push %" PRIu64 ": %s", L, i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": push %" PRIu64 " into a full ring: %s", L, L,
             scb_strerror(rc));
    {
        uint8_t item[16];
        tu_fill(item, sizeof item, next_push);
        rc = scb_push_wait(hs[0], item, 0);
        W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": scb_push_wait(0) into a full ring: %s", L,
                 scb_strerror(rc));
    }
    rc = push_n(0, 3, &c);
    W_ASSERT(rc == SCB_EAGAIN && c == 0,
             "L %" PRIu64 ": scb_push_many(3) into a full ring: %s, count %zu", L,
             scb_strerror(rc), c);
    rc = push_n(0, 0, &c);
    W_ASSERT(rc == SCB_OK && c == 0, "L %" PRIu64 ": scb_push_many(0): %s, count %zu", L,
             scb_strerror(rc), c);
    W_ASSERT(scb_usage(hs[0]) == L && scb_usage(hs[1]) == L,
             "L %" PRIu64 ": full: usage writer %" PRIu64 ", reader %" PRIu64, L,
             scb_usage(hs[0]), scb_usage(hs[1]));
    info = info_of(0);
    W_ASSERT(info.pushed == L && info.usage == L,
             "L %" PRIu64 ": full: pushed %" PRIu64 ", usage %" PRIu64, L, info.pushed,
             info.usage);

    /* The reader pops k: exactly k more fit, scb_push_many of more than
     * that pushes exactly k and says so. */
    k = (L + 1) / 2;
    pop_expect_n(1, k);
    W_ASSERT(scb_usage(hs[0]) == L - k, "L %" PRIu64 ": after %" PRIu64
             " pops: writer usage %" PRIu64, L, k, scb_usage(hs[0]));
    rc = push_n(0, (size_t)k + 3, &c);
    W_ASSERT(rc == SCB_OK && c == k, "L %" PRIu64 ": scb_push_many(%" PRIu64 ") with room for %"
             PRIu64 ": %s, count %zu", L, k + 3, k, scb_strerror(rc), c);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": push after filling the room: %s", L,
             scb_strerror(rc));
    W_ASSERT(scb_usage(hs[0]) == L, "L %" PRIu64 ": full again: usage %" PRIu64, L,
             scb_usage(hs[0]));

    /* Pops one by one, each making room for exactly one. */
    for (i = 0; i < 3 && i < L; i++) {
        pop_expect_n(1, 1);
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "L %" PRIu64 ": push after one pop: %s", L, scb_strerror(rc));
        rc = push1(0);
        W_ASSERT(rc == SCB_EAGAIN, "L %" PRIu64 ": second push after one pop: %s", L,
                 scb_strerror(rc));
    }

    /* Drained: everything came, in order. */
    pop_expect_n(1, L);
    pop_empty(1);
    W_ASSERT(scb_usage(hs[0]) == 0 && scb_usage(hs[1]) == 0 && scb_lost(hs[1]) == 0,
             "L %" PRIu64 ": drained: usage %" PRIu64 "/%" PRIu64 ", lost %" PRIu64, L,
             scb_usage(hs[0]), scb_usage(hs[1]), scb_lost(hs[1]));

    /* An empty ring: scb_push_many of L + 5 pushes L; of n <= room, n. */
    if (L + 5 <= 2048) {
        rc = push_n(0, (size_t)L + 5, &c);
        W_ASSERT(rc == SCB_OK && c == L, "L %" PRIu64 ": scb_push_many(L + 5) into an empty "
                 "ring: %s, count %zu", L, scb_strerror(rc), c);
        pop_expect_n(1, L);
    }
    rc = push_n(0, (size_t)L, &c);
    W_ASSERT(rc == SCB_OK && c == L, "L %" PRIu64 ": scb_push_many(L) into an empty ring: "
             "%s, count %zu", L, scb_strerror(rc), c);
    rc = push_n(0, 1, &c);
    W_ASSERT(rc == SCB_EAGAIN && c == 0, "L %" PRIu64 ": scb_push_many(1) into a full ring: "
             "%s, count %zu", L, scb_strerror(rc), c);
    pop_expect_n(1, L);
    pop_empty(1);
    W_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
}
END_TEST

/* With no reader registered the writer never blocks; a reader that closed
 * holds nothing; a new reader starts at the oldest item kept (and then
 * holds those), an SCB_LATEST reader at the next push. */
START_TEST(test_no_reader)
{
    const uint64_t L = 7;
    uint8_t item[16];
    uint64_t i, t0;
    double dt;
    size_t c;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    next_push = 0;
    W_ASSERT(info_of(0).readers == 0, "readers %u", info_of(0).readers);
    for (i = 0; i < 3 * L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "no reader: push %" PRIu64 ": %s", i, scb_strerror(rc));
    }
    /* scb_push_many of 2L: "as many as fit now" may be read as the ring's
     * length or as all of them; either way at least L, and calls in a row
     * never stop making progress. */
    for (i = 0; i < 2 * L; i += c) {
        rc = push_n(0, (size_t)(2 * L - i), &c);
        W_ASSERT(rc == SCB_OK && c >= (2 * L - i < L ? 2 * L - i : L) && c <= 2 * L - i,
                 "no reader: scb_push_many(%" PRIu64 "): %s, count %zu", 2 * L - i,
                 scb_strerror(rc), c);
    }
    tu_fill(item, sizeof item, next_push);
    t0 = now_ns();
    rc = scb_push_wait(hs[0], item, -1);
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK && dt < 50, "no reader: scb_push_wait(-1): %s after %.1f ms",
             scb_strerror(rc), dt);
    next_push++;
    W_ASSERT(scb_usage(hs[0]) == L, "writer usage %" PRIu64, scb_usage(hs[0]));

    /* A reader opened now starts at the oldest item kept, and holds it. */
    open_h(0, 0, 1);
    next_pop = next_push - L;
    W_ASSERT(scb_usage(hs[1]) == L && info_of(0).readers == 1,
             "new reader: usage %" PRIu64 ", readers %u", scb_usage(hs[1]),
             info_of(0).readers);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "a new reader with %" PRIu64 " unread items: scb_push = %s", L,
             scb_strerror(rc));
    pop_expect_n(1, 2);
    close_h(1);
    W_ASSERT(info_of(0).readers == 0, "closed: readers %u", info_of(0).readers);
    for (i = 0; i < 3 * L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "after the reader closed: push %" PRIu64 ": %s", i,
                 scb_strerror(rc));
    }

    /* SCB_LATEST: nothing unread at first, then exactly L fit. */
    open_h(0, SCB_LATEST, 1);
    next_pop = next_push;
    W_ASSERT(scb_usage(hs[1]) == 0, "SCB_LATEST reader: usage %" PRIu64, scb_usage(hs[1]));
    for (i = 0; i < L; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "SCB_LATEST reader: push %" PRIu64 ": %s", i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "SCB_LATEST reader: push %" PRIu64 ": %s", L, scb_strerror(rc));
    pop_expect_n(1, L);
    pop_empty(1);
}
END_TEST

/* A reader that registers while another one has read everything starts at
 * the oldest item kept and is held to from its scb_open on: exactly the
 * room its unread items leave fits, and it loses nothing.  _i: how many
 * items were pushed (and read by the first reader) before it opened. */
static const uint64_t late_pushes[] = {0, 3, 8, 13, 21};
#define N_LATE ((int)(sizeof late_pushes / sizeof late_pushes[0]))

START_TEST(test_late_reader)
{
    const uint64_t L = 8, p = late_pushes[_i];
    uint64_t kept = p < L ? p : L, i, first;
    int rc;

    mk_ring(0, 16, L, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = next_pop = 0;
    for (i = 0; i < p; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %" PRIu64 ": %s", i, scb_strerror(rc));
        pop_expect_n(1, 1);
    }
    open_h(0, 0, 2);
    W_ASSERT(scb_usage(hs[2]) == kept, "%" PRIu64 " pushed: the new reader has %" PRIu64
             " unread, expected %" PRIu64, p, scb_usage(hs[2]), kept);
    first = next_push - kept;
    for (i = 0; i < L - kept; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "%" PRIu64 " pushed, a reader opened with %" PRIu64
                 " unread: push %" PRIu64 ": %s", p, kept, i, scb_strerror(rc));
    }
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "%" PRIu64 " pushed, a reader opened with %" PRIu64
             " unread: push %" PRIu64 " overwrote an item it had not read (%s)", p, kept,
             L - kept, scb_strerror(rc));
    pop_expect_n(1, next_push - next_pop);
    pop_empty(1);
    next_pop = first;
    W_ASSERT(scb_lost(hs[2]) == 0, "the new reader lost %" PRIu64, scb_lost(hs[2]));
    pop_expect_n(2, L);
    pop_empty(2);
}
END_TEST

/* scb_info: readers counts registered readers, in this and other
 * processes; max_readers comes from the config (default 64); overwrite
 * rings report 0 for both. */
START_TEST(test_reader_count)
{
    scb_config_t c;
    struct kopts o;
    scb_info_t info;
    int rfd[2], cfd[2], h, st, rc;
    pid_t pid;

    scb_config_init(&c);
    W_ASSERT(c.max_readers == 64, "scb_config_init: max_readers %u", c.max_readers);

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    info = info_of(0);
    W_ASSERT(info.max_readers == 64 && info.readers == 0,
             "default: max_readers %u, readers %u", info.max_readers, info.readers);
    for (h = 1; h <= 3; h++) {
        open_h(0, h == 2 ? SCB_LATEST : 0, h);
        info = info_of(0);
        W_ASSERT(info.readers == (uint32_t)h, "%d readers open: readers %u", h, info.readers);
        info = info_of(h);
        W_ASSERT(info.readers == (uint32_t)h && info.max_readers == 64,
                 "reader's view: readers %u, max_readers %u", info.readers, info.max_readers);
    }
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    W_ASSERT(info_of(0).readers == 4, "with a child's reader: readers %u", info_of(0).readers);
    put_byte(cfd[1], 'q');
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the reader child: %s", st_str(st));
    W_ASSERT(info_of(0).readers == 3, "the child closed: readers %u", info_of(0).readers);
    close_h(2);
    W_ASSERT(info_of(0).readers == 2, "one closed: readers %u", info_of(0).readers);
    close_h(1);
    close_h(3);
    W_ASSERT(info_of(0).readers == 0, "all closed: readers %u", info_of(0).readers);

    mk_ring(1, 16, 8, SCB_LOSSLESS, 5, 0, 4);
    open_h(1, 0, 5);
    W_ASSERT(info_of(4).max_readers == 5 && info_of(5).max_readers == 5 &&
                 info_of(4).readers == 1,
             "max_readers 5: writer says %u, reader %u; readers %u", info_of(4).max_readers,
             info_of(5).max_readers, info_of(4).readers);
    close_h(5);
    close_h(4);
    c = tu_cfg(0, 0);
    rc = scb_unlink(rings[1], &c);
    W_ASSERT(rc == SCB_OK, "scb_unlink: %s", scb_strerror(rc));

    mk_ring(1, 16, 8, 0, 5, 0, 4);
    open_h(1, 0, 5);
    open_h(1, 0, 6);
    info = info_of(4);
    W_ASSERT(info.max_readers == 0 && info.readers == 0 && !(info.flags & SCB_LOSSLESS),
             "overwrite ring: max_readers %u, readers %u, flags %#x", info.max_readers,
             info.readers, (unsigned)info.flags);
}
END_TEST

/* ======================================================================== */
/* 4. SCB_ELIMIT                                                            */

START_TEST(test_elimit)
{
    scb_t *h = (scb_t *)(void *)&h;
    struct kopts o;
    int rfd[2], cfd[2], rc, st, i;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 3, 0, 0);
    for (i = 1; i <= 3; i++)
        open_h(0, i == 3 ? SCB_LATEST : 0, i);
    rc = open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader (max_readers 3): %s", scb_strerror(rc));
    W_ASSERT(h == NULL, "a failed open left a handle");
    rc = open_rc(0, SCB_LATEST, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader with SCB_LATEST: %s", scb_strerror(rc));
    W_ASSERT(info_of(0).readers == 3, "readers %u", info_of(0).readers);

    /* The writer role takes no reader slot. */
    close_h(0);
    open_h(0, SCB_WRITER, 0);
    W_ASSERT(info_of(0).readers == 3, "after takeover: readers %u", info_of(0).readers);

    /* One closes: one more opens, and then none. */
    close_h(2);
    open_h(0, 0, 2);
    rc = open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "again a fourth reader: %s", scb_strerror(rc));

    /* Slots held in another process count; its close frees one. */
    close_h(3);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    rc = open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "a fourth reader beside a child's: %s", scb_strerror(rc));
    put_byte(cfd[1], 'q');
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the reader child: %s", st_str(st));
    open_h(0, 0, 3);

    /* Overwrite rings have no reader slots and no limit. */
    mk_ring(1, 16, 8, 0, 3, 0, 4);
    for (i = 5; i < MAX_HANDLES; i++)
        open_h(1, 0, i);
}
END_TEST

/* A reader killed (not closed) frees its slot for a new reader within 1 s.
 * _i 0: the dead reader is reaped, 1: it stays a zombie. */
START_TEST(test_elimit_dead_slot)
{
    scb_t *h = NULL;
    struct kopts o;
    uint64_t t0;
    int rfd[2], cfd[2], rc = SCB_ELIMIT, st;
    double dt;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 1, 0, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: it waits to be killed */
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the reader child");
    rc = open_rc(0, 0, &h);
    W_ASSERT(rc == SCB_ELIMIT, "the one slot is taken: %s", scb_strerror(rc));
    t0 = now_ns();
    kill(pid, SIGKILL);
    if (_i == 0)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    for (;;) {
        rc = open_rc(0, 0, &hs[1]);
        if (rc != SCB_ELIMIT || now_ns() - t0 > 3000000000u)
            break;
        tu_sleep_us(1000);
    }
    dt = ms_since(t0);
    W_ASSERT(rc == SCB_OK, "%s dead reader: a new reader: %s after %.1f ms",
             _i ? "zombie" : "reaped", scb_strerror(rc), dt);
    W_ASSERT(dt < 1000, "%s dead reader: its slot was free after %.1f ms",
             _i ? "zombie" : "reaped", dt);
    if (_i == 1) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    next_push = 0;
    next_pop = 0;
    rc = push1(0);
    W_ASSERT(rc == SCB_OK, "push: %s", scb_strerror(rc));
    pop_expect_n(1, 1);
}
END_TEST

/* ======================================================================== */
/* 5. A million items, lossless, in order                                   */

#define MILLION 1000000u

/* _i 0: one slow reader; 1: a slow and a fast reader. */
START_TEST(test_million)
{
    struct kopts o[3];
    pid_t rp[2], wp;
    int nr = _i + 1, rfd[2], st, j;
    uint64_t t0;

    mk_ring(0, 8, 1024, SCB_LOSSLESS, 0, 0, 0);
    mk_pipe(rfd);
    for (j = 0; j < nr; j++) {
        memset(&o[j], 0, sizeof o[j]);
        o[j].ring = 0;
        o[j].slot = j;
        o[j].ready_fd = rfd[1];
        o[j].cmd_fd = o[j].rep_fd = -1;
        o[j].n = MILLION;
        o[j].timeout_ms = 5000;
        o[j].fast = j == 1;
        o[j].nap_every = j == 0 ? 4096 : 0;
        o[j].nap_us = 1000;
        rp[j] = spawn(child_stream_reader, &o[j]);
        expect_ready(rfd[0], "a reader");
    }
    W_ASSERT(info_of(0).readers == (uint32_t)nr, "readers %u", info_of(0).readers);
    close_h(0);
    memset(&o[2], 0, sizeof o[2]);
    o[2].ring = 0;
    o[2].ready_fd = rfd[1];
    o[2].cmd_fd = o[2].rep_fd = -1;
    o[2].n = MILLION;
    t0 = now_ns();
    wp = spawn(child_stream_writer, &o[2]);
    expect_ready(rfd[0], "the writer");
    st = reap(wp, 60000);
    W_ASSERT(exited0(st), "the writer: %s after %.1f s (readers at %" PRIu64 ", %" PRIu64 ")",
             st_str(st), ms_since(t0) / 1e3, (uint64_t)atomic_load(&sh->k[0].progress),
             (uint64_t)atomic_load(&sh->k[1].progress));
    for (j = 0; j < nr; j++) {
        st = reap(rp[j], 10000);
        W_ASSERT(exited0(st), "reader %d (%s): %s, at item %" PRIu64 " of %u", j,
                 j ? "fast" : "slow", st_str(st), (uint64_t)atomic_load(&sh->k[j].progress),
                 MILLION);
        W_ASSERT(sh->k[j].returned == MILLION && sh->k[j].lost == 0,
                 "reader %d: returned %" PRIu64 ", lost %" PRIu64, j, sh->k[j].returned,
                 sh->k[j].lost);
    }
}
END_TEST

/* ======================================================================== */
/* 6. Dead readers                                                          */

/* A lossless ring of 8 with a live reader of the test process (hs[1]) that
 * has read everything and a reader child (returned) that registered and
 * read nothing, so the ring is full because of the child alone; hs[0] is
 * the writer, next_push 8. */
static pid_t full_because_of_child(void)
{
    struct kopts o;
    int rfd[2], cfd[2], rc, i;
    pid_t pid;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: it waits to be killed */
    o.rep_fd = -1;
    pid = spawn(child_idle, &o);
    expect_ready(rfd[0], "the doomed reader");
    next_push = next_pop = 0;
    for (i = 0; i < 8; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d: %s", i, scb_strerror(rc));
    }
    pop_expect_n(1, 8);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader child does not hold the writer back: "
             "scb_push = %s", scb_strerror(rc));
    tu_sleep_us(20000);
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader child stopped holding the writer back "
             "after 20 ms: scb_push = %s", scb_strerror(rc));
    return pid;
}

/* After the writer was freed: the live reader (hs[1]) still holds it back
 * at 8 unread items, and receives them in order. */
static void live_reader_still_holds(int wh)
{
    int rc, i;

    for (i = 0; next_push - next_pop < 8; i++) {
        rc = push1(wh);
        W_ASSERT(rc == SCB_OK, "push after the dead reader was dropped: %s", scb_strerror(rc));
    }
    rc = push1(wh);
    W_ASSERT(rc == SCB_EAGAIN, "the live reader has 8 unread items: scb_push = %s",
             scb_strerror(rc));
    pop_expect_n(1, 8);
    pop_empty(1);
    W_ASSERT(scb_lost(hs[1]) == 0, "lost %" PRIu64, scb_lost(hs[1]));
}

/* Retries scb_push on hs[0] every ms until it works; returns ms since t0,
 * asserts it did within 3 s. */
static double retry_push(uint64_t t0, const char *what)
{
    int rc;

    for (;;) {
        rc = push1(0);
        if (rc != SCB_EAGAIN || now_ns() - t0 > 3000000000u)
            break;
        tu_sleep_us(1000);
    }
    W_ASSERT(rc == SCB_OK, "%s: scb_push after the reader's death: %s after %.1f ms", what,
             scb_strerror(rc), ms_since(t0));
    return ms_since(t0);
}

/* The writer retries scb_push.  _i 0: the dead reader is reaped at once,
 * 1: it stays a zombie. */
START_TEST(test_dead_reader_retry)
{
    const char *what = _i ? "zombie reader" : "reaped reader";
    uint64_t t0;
    pid_t pid;
    double dt;
    int st;

    pid = full_because_of_child();
    t0 = now_ns();
    kill(pid, SIGKILL);
    if (_i == 0)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    dt = retry_push(t0, what);
    W_ASSERT(dt < 1000, "%s: the writer was free %.1f ms after the kill", what, dt);
    if (_i == 1) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    live_reader_still_holds(0);
}
END_TEST

/* A writer child is blocked in scb_push_wait when the reader is killed.
 * _i: bit 0: the dead reader stays a zombie; bit 1: scb_push_wait(5000)
 * instead of (-1). */
START_TEST(test_dead_reader_blocked)
{
    int zombie = _i & 1;
    int64_t timeout = (_i & 2) ? 5000 : -1;
    char what[64];
    struct kopts o;
    uint64_t t_kill;
    int rfd[2], st;
    pid_t pid, wp;
    double dt;

    snprintf(what, sizeof what, "%s reader, scb_push_wait(%d)",
             zombie ? "zombie" : "reaped", (int)timeout);
    pid = full_because_of_child();
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.slot = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = timeout;
    wp = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the writer child");
    tu_sleep_us(100000);
    W_ASSERT(!atomic_load(&sh->k[0].done),
             "%s: scb_push_wait into a ring that is full for a live reader returned %s",
             what, scb_strerror(sh->k[0].rc));
    t_kill = now_ns();
    kill(pid, SIGKILL);
    if (!zombie)
        W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    st = reap(wp, 5000);
    W_ASSERT(exited0(st) && sh->k[0].rc == SCB_OK, "%s: the blocked writer: %s, %s", what,
             st_str(st), atomic_load(&sh->k[0].done) ? scb_strerror(sh->k[0].rc)
                                                     : "still blocked after 5 s");
    dt = ms_between(t_kill, sh->k[0].t_ret);
    W_ASSERT(dt < 1000, "%s: the blocked writer was freed %.1f ms after the kill", what, dt);
    if (zombie) {
        W_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
                 "the killed reader was not a zombie");
        forget(pid);
    }
    next_push++; /* the writer child's item */
    open_h(0, SCB_WRITER, 0);
    live_reader_still_holds(0);
}
END_TEST

#define STAGGERED 12

/* Several readers die at once, each registered at a different position
 * (SCB_LATEST, one push apart), so each in turn is the one that holds the
 * writer back: all of them stop doing so within 1 s of their death. */
START_TEST(test_dead_readers_staggered)
{
    struct kopts o;
    pid_t v[STAGGERED];
    uint64_t t0, target, i;
    int rfd[2], cfd[2], rc = SCB_OK, k;
    double dt;

    mk_ring(0, 16, 16, SCB_LOSSLESS, 0, 0, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.oflags = SCB_LATEST;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0]; /* never written: they wait to be killed */
    o.rep_fd = -1;
    next_push = 0;
    for (k = 0; k < STAGGERED; k++) {
        v[k] = spawn(child_idle, &o);
        expect_ready(rfd[0], "a doomed reader");
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "push %d: %s", k, scb_strerror(rc));
    }
    W_ASSERT(info_of(0).readers == STAGGERED, "readers %u", info_of(0).readers);
    while ((rc = push1(0)) == SCB_OK && next_push < 100)
        ;
    W_ASSERT(rc == SCB_EAGAIN && next_push == 16,
             "the first reader (16 unread) does not hold the writer back: %s at %" PRIu64,
             scb_strerror(rc), next_push);

    t0 = now_ns();
    for (k = 0; k < STAGGERED; k++)
        kill(v[k], SIGKILL);
    for (k = 0; k < STAGGERED; k++)
        W_ASSERT(killed9(kill_reap(v[k])), "reader %d was not killed", k);
    /* Each dead reader let go, the writer gets past the last one's place. */
    target = next_push + STAGGERED;
    while (next_push < target && now_ns() - t0 < 3000000000u) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK || rc == SCB_EAGAIN, "scb_push: %s", scb_strerror(rc));
        if (rc == SCB_EAGAIN)
            tu_sleep_us(1000);
    }
    dt = ms_since(t0);
    W_ASSERT(next_push >= target, "%d readers killed at once, one push apart: 3 s later "
             "the writer got only %" PRIu64 " of %d items past them", STAGGERED,
             next_push - (target - STAGGERED), STAGGERED);
    W_ASSERT(dt < 1000, "%d readers killed at once, one push apart: the writer was free "
             "of them all %.1f ms after the kill", STAGGERED, dt);
    for (i = 0; i < 64; i++) {
        rc = push1(0);
        W_ASSERT(rc == SCB_OK, "no live reader left: push %" PRIu64 ": %s", i,
                 scb_strerror(rc));
    }
}
END_TEST

/* Writes want - 1 into ns_last_pid so that the next fork gets want (if it
 * is free and nothing else forks in between).  Returns 0 on success. */
static int set_last_pid(pid_t want)
{
    char buf[32];
    int fd = open(NS_LAST_PID, O_WRONLY), n, ok;

    if (fd < 0)
        return -1;
    n = snprintf(buf, sizeof buf, "%ld", (long)want - 1);
    ok = write(fd, buf, (size_t)n) == n;
    close(fd);
    return ok ? 0 : -1;
}

/* Suite construction: 1 if a reaped process id can be handed to the next
 * fork through ns_last_pid here. */
static int pid_reuse_works(void)
{
    int tries, st;

    if (geteuid() != 0 || access(NS_LAST_PID, W_OK) != 0)
        return 0;
    for (tries = 0; tries < 10; tries++) {
        pid_t a, b;

        fflush(stdout);
        fflush(stderr);
        a = fork();
        if (a < 0)
            return 0;
        if (a == 0)
            _exit(0);
        waitpid(a, &st, 0);
        if (set_last_pid(a) != 0)
            return 0;
        b = fork();
        if (b < 0)
            return 0;
        if (b == 0)
            _exit(0);
        waitpid(b, &st, 0);
        if (b == a)
            return 1;
    }
    return 0;
}

/* The dead reader's process id goes at once to a new (sleeping) process
 * before the writer looks again.  _i 0: the writer retries scb_push,
 * 1: it calls scb_push_wait(5000). */
START_TEST(test_dead_reader_pid_reuse)
{
    const char *what = _i ? "pid reused, scb_push_wait(5000)" : "pid reused, scb_push retried";
    struct kopts o;
    uint64_t t0;
    int cfd[2], st, tries, rc;
    pid_t pid, sleeper = -1;
    double dt;

    pid = full_because_of_child();
    t0 = now_ns();
    W_ASSERT(killed9(kill_reap(pid)), "the reader child was not killed");
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ring = -1;
    o.ready_fd = -1;
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    for (tries = 0; tries < 20; tries++) {
        W_ASSERT(set_last_pid(pid) == 0, "writing %s: %s", NS_LAST_PID, strerror(errno));
        sleeper = spawn(child_idle, &o);
        if (sleeper == pid)
            break;
        kill_reap(sleeper);
    }
    if (sleeper != pid)
        fprintf(stderr, "check_scb_wait: %s: could not force the reuse of pid %ld (an "
                "environment problem, not a library one): test_dead_reader_pid_reuse "
                "FAILS rather than pass unchecked\n", tu_backend, (long)pid);
    W_ASSERT(sleeper == pid, "could not force the reuse of pid %ld in 20 tries", (long)pid);
    W_ASSERT(ms_since(t0) < 500, "forcing the pid reuse took %.1f ms", ms_since(t0));

    if (_i == 0) {
        dt = retry_push(t0, what);
    } else {
        uint8_t item[16];
        tu_fill(item, sizeof item, next_push);
        rc = scb_push_wait(hs[0], item, 5000);
        dt = ms_since(t0);
        W_ASSERT(rc == SCB_OK, "%s: %s after %.1f ms", what, scb_strerror(rc), dt);
        next_push++;
    }
    W_ASSERT(dt < 1000, "%s: the writer was free %.1f ms after the kill", what, dt);
    /* The process that got the id lived throughout. */
    W_ASSERT(waitpid(sleeper, &st, WNOHANG) == 0 && kill(sleeper, 0) == 0,
             "the process with the reused pid %ld is gone", (long)pid);
    live_reader_still_holds(0);
    put_byte(cfd[1], 'q');
    st = reap(sleeper, REAP_MS);
    W_ASSERT(exited0(st), "the process with the reused pid: %s", st_str(st));
}
END_TEST

/* ======================================================================== */
/* 7. Waiters killed                                                        */

#define VICTIM_ROUNDS 6
#define RATE_PUSHES 500000

/* Nanoseconds for RATE_PUSHES scb_push on hs[h], best of three. */
static uint64_t push_time(int h)
{
    uint8_t item[16];
    uint64_t best = UINT64_MAX;
    int run, i, rc;

    tu_fill(item, sizeof item, 0);
    for (run = 0; run < 3; run++) {
        uint64_t t0 = now_ns(), dt;
        for (i = 0; i < RATE_PUSHES; i++) {
            rc = scb_push(hs[h], item);
            if (rc != SCB_OK)
                break;
        }
        dt = now_ns() - t0;
        W_ASSERT(rc == SCB_OK, "push %d of a rate run (no live reader registered): %s",
                 i, scb_strerror(rc));
        if (dt < best)
            best = dt;
    }
    return best;
}

/* Readers killed while asleep in scb_pop_wait(-1) leave the ring working:
 * another reader asleep in scb_pop_wait(-1) wakes for every push, and once
 * the dead are gone the writer pushes at its old rate.  _i 0: overwrite,
 * 1: lossless. */
START_TEST(test_pop_waiter_killed)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    const uint64_t base = 1000;
    struct kopts ob, ov;
    uint64_t before, after, last_kill = 0;
    int rfd[2], bfd[2], st, r;
    pid_t b;

    mk_ring(0, 16, 16, flags, 0, 0, 0);
    before = push_time(0);

    mk_pipe(rfd);
    mk_pipe(bfd);
    memset(&ob, 0, sizeof ob);
    ob.ring = 0;
    ob.oflags = SCB_LATEST;
    ob.ready_fd = rfd[1];
    ob.cmd_fd = -1;
    ob.rep_fd = bfd[1];
    ob.n = VICTIM_ROUNDS;
    ob.seq = base;
    b = spawn(child_waiter, &ob);
    expect_ready(rfd[0], "the surviving waiter");

    memset(&ov, 0, sizeof ov);
    ov.ring = 0;
    ov.oflags = SCB_LATEST;
    ov.ready_fd = rfd[1];
    ov.cmd_fd = ov.rep_fd = -1;
    ov.timeout_ms = -1;
    for (r = 0; r < VICTIM_ROUNDS; r++) {
        uint8_t item[16];
        pid_t v[2];
        char c = 0;
        int nv = 1 + r % 2, j, rc;

        for (j = 0; j < nv; j++) {
            v[j] = spawn(child_idle, &ov);
            expect_ready(rfd[0], "a victim");
        }
        tu_sleep_us(30000); /* everyone is asleep in scb_pop_wait */
        for (j = 0; j < nv; j++)
            kill(v[j], SIGKILL);
        last_kill = now_ns();
        if (r % 3 != 2) /* every third round they stay zombies over the push */
            for (j = 0; j < nv; j++)
                W_ASSERT(killed9(kill_reap(v[j])), "a victim was not killed");
        tu_fill(item, sizeof item, base + (uint64_t)r);
        rc = scb_push(hs[0], item);
        W_ASSERT(rc == SCB_OK, "%s: round %d: scb_push: %s", kind(flags), r, scb_strerror(rc));
        W_ASSERT(read_bytes(bfd[0], &c, 1, 2000) == 1,
                 "%s: round %d: the surviving waiter did not wake within 2 s of a push "
                 "after %d waiter(s) were killed in scb_pop_wait", kind(flags), r, nv);
        if (r % 3 == 2)
            for (j = 0; j < nv; j++)
                W_ASSERT(killed9(kill_reap(v[j])), "a victim was not killed");
    }
    st = reap(b, REAP_MS);
    W_ASSERT(exited0(st), "the surviving waiter: %s", st_str(st));

    /* Nobody waits any more (the survivor closed, the victims are dead
     * for a second): the writer is back on its fast path. */
    while (now_ns() - last_kill < 1100000000u)
        tu_sleep_us(10000);
    after = push_time(0);
    W_ASSERT(after <= 10 * before + 20000000u,
             "%s: %d pushes took %.1f ms before waiters were killed in scb_pop_wait and "
             "%.1f ms after (a waiter count left wrong?)", kind(flags), RATE_PUSHES,
             (double)before / 1e6, (double)after / 1e6);
}
END_TEST

/* A writer killed while blocked in scb_push_wait: a new writer takes the
 * role over and works, waits and wakes included. */
START_TEST(test_push_waiter_killed)
{
    struct kopts o;
    uint64_t t0, t_pop;
    int rfd[2], st, rc;
    pid_t w1, w2;
    double dt;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.slot = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = 4; /* fills the ring, then waits for room */
    o.timeout_ms = -1;
    w1 = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the first writer");
    tu_sleep_us(50000);
    W_ASSERT(!atomic_load(&sh->k[0].done), "scb_push_wait into a full ring returned %s",
             scb_strerror(sh->k[0].rc));
    W_ASSERT(killed9(kill_reap(w1)), "the first writer was not killed");

    /* A new writer takes over; the ring is still full. */
    t0 = now_ns();
    while ((rc = open_rc(0, SCB_WRITER, &hs[0])) == SCB_EBUSY && now_ns() - t0 < 2000000000u)
        tu_sleep_us(1000);
    W_ASSERT(rc == SCB_OK, "takeover from a writer killed in scb_push_wait: %s after %.1f ms",
             scb_strerror(rc), ms_since(t0));
    W_ASSERT(ms_since(t0) < 1000, "takeover took %.1f ms", ms_since(t0));
    W_ASSERT(info_of(0).pushed == 4, "pushed %" PRIu64, info_of(0).pushed);
    next_push = 4;
    rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN, "the new writer pushed into a full ring: %s", scb_strerror(rc));
    close_h(0);

    /* A second writer child waits in scb_push_wait(-1) and wakes when the
     * reader pops. */
    o.n = 0;
    o.slot = 1;
    w2 = spawn(child_blocked_writer, &o);
    expect_ready(rfd[0], "the second writer");
    tu_sleep_us(50000);
    W_ASSERT(!atomic_load(&sh->k[1].done), "the second writer's scb_push_wait into a full "
             "ring returned %s", scb_strerror(sh->k[1].rc));
    next_pop = 0;
    t_pop = now_ns();
    pop_expect_n(1, 1);
    st = reap(w2, 5000);
    W_ASSERT(exited0(st) && sh->k[1].rc == SCB_OK, "the second writer: %s, %s", st_str(st),
             atomic_load(&sh->k[1].done) ? scb_strerror(sh->k[1].rc) : "never woke");
    dt = ms_between(t_pop, sh->k[1].t_ret);
    W_ASSERT(dt < 1000, "the second writer woke %.1f ms after the pop", dt);
    pop_expect_n(1, 4); /* seq 1..3 of the first writer, 4 of the second */
    pop_empty(1);
}
END_TEST

/* ======================================================================== */
/* 8. Reader permissions in lossless mode (root only)                       */

/* Child side: becomes `nobody` for good; returns 0 on success. */
static int drop_to_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");

    if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
        say("no unprivileged user nobody");
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
        geteuid() != pw->pw_uid || getegid() != pw->pw_gid || setuid(0) != -1) {
        say("could not become nobody: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* As nobody: opening a reader must give SCB_EACCES. */
static int child_nobody_refused(void *arg)
{
    const struct kopts *o = arg;
    scb_t *h = (scb_t *)(void *)&h;
    int rc;

    if (drop_to_nobody() != 0)
        return 20;
    rc = open_rc(o->ring, 0, &h);
    if (rc != SCB_EACCES || h != NULL) {
        say("nobody, 0644 lossless ring: scb_open as reader: %s, expected SCB_EACCES",
            scb_strerror(rc));
        if (rc == SCB_OK)
            scb_close(h);
        return 1;
    }
    rc = open_rc(o->ring, SCB_LATEST, &h);
    if (rc != SCB_EACCES) {
        say("nobody, 0644 lossless ring: scb_open(SCB_LATEST): %s, expected SCB_EACCES",
            scb_strerror(rc));
        return 2;
    }
    return 0;
}

/* As nobody: a reader that pops o->n items (seq 0..), then after telling
 * the test process, waits for one more (seq n) with scb_pop_wait(-1), after
 * a scb_pop_wait(0) and a scb_pop_wait(100) that find nothing. */
static int child_nobody_reader(void *arg)
{
    const struct kopts *o = arg;
    uint8_t item[16];
    uint64_t i, s, t0;
    double dt;
    scb_t *r;
    int rc;

    if (drop_to_nobody() != 0)
        return 20;
    if (k_open(o, 0, &r) != SCB_OK)
        return 10;
    ready(o);
    await_byte(o->cmd_fd);
    for (i = 0; i < o->n; i++) {
        rc = scb_pop_wait(r, item, 2000);
        if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != i) {
            say("nobody reader: item %" PRIu64 ": %s", i, scb_strerror(rc));
            return 1;
        }
    }
    t0 = now_ns();
    rc = scb_pop_wait(r, item, 0);
    if (rc != SCB_EAGAIN || ms_since(t0) >= 20) {
        say("nobody reader: scb_pop_wait(0): %s after %.1f ms", scb_strerror(rc),
            ms_since(t0));
        return 2;
    }
    t0 = now_ns();
    rc = scb_pop_wait(r, item, 100);
    dt = ms_since(t0);
    if (rc != SCB_ETIMEDOUT || dt < 100 || dt > 115) {
        say("nobody reader: scb_pop_wait(100): %s after %.2f ms", scb_strerror(rc), dt);
        return 3;
    }
    put_byte(o->rep_fd, 'w');
    t0 = now_ns();
    rc = scb_pop_wait(r, item, -1);
    dt = ms_since(t0);
    if (rc != SCB_OK || !tu_check(item, sizeof item, &s) || s != o->n || dt >= 1000) {
        say("nobody reader: scb_pop_wait(-1): %s after %.1f ms", scb_strerror(rc), dt);
        return 4;
    }
    return scb_close(r) == SCB_OK ? 0 : 5;
}

/* A lossless ring of mode 0644: `nobody` may read it but not write its
 * reader slot, so it cannot register: SCB_EACCES. */
START_TEST(test_perm_lossless_0644)
{
    struct kopts o;
    pid_t pid;
    int st;

    if (apr_mode_refused(0, SCB_LOSSLESS, 0644))
        return;
    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0644, 0);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = o.cmd_fd = o.rep_fd = -1;
    pid = spawn(child_nobody_refused, &o);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "nobody on a 0644 lossless ring: %s", st_str(st));
    W_ASSERT(info_of(0).readers == 0, "readers %u", info_of(0).readers);
    next_push = 0;
    W_ASSERT(push1(0) == SCB_OK, "push");
}
END_TEST

/* _i 0: an overwrite ring of mode 0644: `nobody` reads it, and
 * scb_pop_wait works there (by polling where it cannot announce itself);
 * _i 1: a lossless ring of mode 0666: `nobody` registers, holds the
 * writer back, and reads everything. */
START_TEST(test_perm_reader_works)
{
    uint32_t flags = _i ? SCB_LOSSLESS : 0;
    struct kopts o;
    uint8_t item[16];
    char c = 0;
    int rfd[2], cfd[2], wfd[2], st, rc, i;
    pid_t pid;

    if (apr_mode_refused(0, flags, _i ? 0666 : 0644))
        return;
    mk_ring(0, 16, 8, flags, 0, _i ? 0666 : 0644, 0);
    mk_pipe(rfd);
    mk_pipe(cfd);
    mk_pipe(wfd);
    memset(&o, 0, sizeof o);
    o.ring = 0;
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = wfd[1];
    o.n = 8;
    pid = spawn(child_nobody_reader, &o);
    expect_ready(rfd[0], "the nobody reader");
    next_push = 0;
    for (i = 0; i < 8; i++)
        W_ASSERT(push1(0) == SCB_OK, "push %d", i);
    if (_i) {
        W_ASSERT(info_of(0).readers == 1, "nobody's reader: readers %u", info_of(0).readers);
        rc = push1(0);
        W_ASSERT(rc == SCB_EAGAIN, "nobody's registered reader does not hold the writer "
                 "back: scb_push = %s", scb_strerror(rc));
    }
    put_byte(cfd[1], 'g');
    W_ASSERT(read_bytes(wfd[0], &c, 1, 5000) == 1, "the nobody reader did not get to "
             "its last wait: %s", st_str(reap(pid, 1)));
    tu_sleep_us(50000);
    tu_fill(item, sizeof item, next_push);
    rc = scb_push_wait(hs[0], item, 2000);
    W_ASSERT(rc == SCB_OK, "push of the last item: %s", scb_strerror(rc));
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "nobody on a %s ring of mode %o: %s", kind(flags),
             _i ? 0666 : 0644, st_str(st));
}
END_TEST

/* ======================================================================== */
/* The suite                                                                */

static TCase *w_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_unchecked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_checked_fixture(tc, w_setup, w_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

Suite *tu_wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc;

    tc = w_tcase(s, "wait_timeouts", 20);
    tcase_add_loop_test(tc, test_pop_wait_timeouts, 0, 2);
    tcase_add_test(tc, test_push_wait_timeouts);

    tc = w_tcase(s, "wait_wakeup", 60);
    tcase_add_loop_test(tc, test_pingpong, 0, 2);
    tcase_add_loop_test(tc, test_bursts, 0, 2);

    tc = w_tcase(s, "lossless_room", 20);
    tcase_add_loop_test(tc, test_exact_room, 0, N_ROOM_LENGTHS);
    tcase_add_test(tc, test_no_reader);
    tcase_add_loop_test(tc, test_late_reader, 0, N_LATE);
    tcase_add_test(tc, test_reader_count);

    tc = w_tcase(s, "lossless_elimit", 20);
    tcase_add_test(tc, test_elimit);
    tcase_add_loop_test(tc, test_elimit_dead_slot, 0, 2);

    tc = w_tcase(s, "lossless_million", 90);
    tcase_add_loop_test(tc, test_million, 0, 2);

    tc = w_tcase(s, "dead_reader", 20);
    tcase_add_loop_test(tc, test_dead_reader_retry, 0, 2);
    tcase_add_loop_test(tc, test_dead_reader_blocked, 0, 4);
    tcase_add_test(tc, test_dead_readers_staggered);

    if (pid_reuse_works()) {
        tc = w_tcase(s, "dead_reader_pid_reuse", 20);
        tcase_add_loop_test(tc, test_dead_reader_pid_reuse, 0, 2);
    } else {
        fprintf(stderr, "check_scb_wait: NOTE: a process id cannot be reused on demand "
                "here (needs root and a writable %s), so the \"dead_reader_pid_reuse\" "
                "tcase (a dead reader whose pid is reused at once) is NOT run\n",
                NS_LAST_PID);
    }

    tc = w_tcase(s, "waiter_killed", 30);
    tcase_add_loop_test(tc, test_pop_waiter_killed, 0, 2);
    tcase_add_test(tc, test_push_waiter_killed);

    if (geteuid() == 0) {
        tc = w_tcase(s, "lossless_perms", 20);
        tcase_add_test(tc, test_perm_lossless_0644);
        tcase_add_loop_test(tc, test_perm_reader_works, 0, 2);
    } else {
        fprintf(stderr, "check_scb_wait: NOTE: not root, so the \"lossless_perms\" tcase "
                "(reader permissions as another user) is NOT run\n");
    }
    return s;
}
