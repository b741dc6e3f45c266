/*
 * mputil.c - the harness shared by the multi-process suites of
 * tests/check_scb (check_scb_mp.c and the check_scb_wait.c group): see
 * mputil.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <poll.h>
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

/* ---- the ring names recorded for Check's runner process ----------------- */

#define REG_MAX 256
struct registry {
    atomic_int n;
    char names[REG_MAX][32];
};
static struct registry *reg;

/* ---- the test process's state, for cleanup ------------------------------ */

int mh_style;
char rings[MH_MAX_RINGS][32];
pid_t kids[MH_MAX_KIDS];
int nkids;
scb_t *hs[MH_MAX_HANDLES];
uint64_t seed;
uint64_t rng_state;

/* An assertion of the harness itself, in the running suite's style. */
#define MH_ASSERT(cond, ...) MH_ASSERT_(cond, mh_style == MH_WAIT, __VA_ARGS__)

uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

double ms_between(uint64_t t0, uint64_t t1)
{
    return t1 >= t0 ? (double)(t1 - t0) / 1e6 : -(double)(t0 - t1) / 1e6;
}

void forget(pid_t pid)
{
    int i;

    for (i = 0; i < nkids; i++) {
        if (kids[i] == pid) {
            kids[i] = kids[--nkids];
            return;
        }
    }
}

void mh_cleanup(void)
{
    int i, st;

    for (i = 0; i < nkids; i++)
        kill(kids[i], SIGKILL);
    for (i = 0; i < nkids; i++)
        while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
            ;
    nkids = 0;
    for (i = 0; i < MH_MAX_HANDLES; i++) {
        scb_close(hs[i]);
        hs[i] = NULL;
    }
    for (i = 0; i < MH_MAX_RINGS; i++) {
        if (rings[i][0] != '\0') {
            scb_config_t c = tu_cfg(0, 0);
            scb_unlink(rings[i], &c);
        }
    }
}

void reg_setup(void)
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

void reg_teardown(void)
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

void mh_setup(int style, int nrings)
{
    int i, k;

    mh_style = style;
    for (k = 0; k < nrings && k < MH_MAX_RINGS; k++) {
        tu_name(rings[k], sizeof rings[k]);
        if (reg != NULL) {
            i = atomic_fetch_add(&reg->n, 1);
            if (i < REG_MAX)
                memcpy(reg->names[i], rings[k], sizeof reg->names[i]);
        }
    }
    nkids = 0;
    memset(hs, 0, sizeof hs);
    seed = now_ns() ^ ((uint64_t)getpid() << 32);
    if (seed == 0)
        seed = 1;
    rng_state = seed;
}

void mh_teardown(void)
{
    int k;

    mh_cleanup();
    for (k = 0; k < MH_MAX_RINGS; k++)
        rings[k][0] = '\0';
}

/* ---- children ------------------------------------------------------------ */

void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    n = snprintf(buf, sizeof buf, "%s[%ld] %s: ",
                 mh_style == MH_WAIT ? "check_scb_wait" : "check_scb_mp",
                 (long)getpid(), tu_backend);
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", buf);
}

pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t pid, parent = getpid();

    MH_ASSERT(nkids < MH_MAX_KIDS, "too many children");
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    MH_ASSERT(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
#ifdef __linux__
        /* Die with the test process, even when Check kills it. */
        if (mh_style == MH_WAIT) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(98);
        }
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

int reap(pid_t pid, int ms)
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

int kill_reap(pid_t pid)
{
    int st = -2;

    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    forget(pid);
    return st;
}

int exited0(int st)
{
    return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int killed9(int st)
{
    return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

const char *st_str(int st)
{
    static char buf[64];

    if (st == -1)
        snprintf(buf, sizeof buf, "did not end in time (killed)");
    else if (st < 0)
        snprintf(buf, sizeof buf, "could not be waited for");
    else if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exit status %d%s", WEXITSTATUS(st),
                 mh_style == MH_WAIT ? " (its stderr says why)" : "");
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof buf, "wait status %#x", (unsigned)st);
    return buf;
}

size_t read_bytes(int fd, void *buf, size_t n, int ms)
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

void put_byte(int fd, char c)
{
    while (write(fd, &c, 1) < 0 && errno == EINTR)
        ;
}

void await_byte(int fd)
{
    char c;

    while (read(fd, &c, 1) < 0 && errno == EINTR)
        ;
}

void mk_pipe(int fds[2])
{
    MH_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
}
