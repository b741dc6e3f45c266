/*
 * scb-demo.c - one writer and two readers on one ring, through the public
 * API only (<scb.h>); no internal header, no backend detail.
 *
 *     examples/scb-demo [BACKEND [SECONDS]]
 *
 * The parent creates the ring "scb-demo-<pid>" (64-byte items, 4096 of them,
 * SCB_UNLINK_ON_CLOSE so closing it removes the name), forks two readers and
 * becomes the writer: for SECONDS (default 3) it pushes numbered, checksummed
 * items in small bursts, then one "end" item that carries the number of items
 * pushed.  Reader 1 pops batches with scb_pop_many as fast as it can; reader 2
 * pops one item at a time and sleeps about 1 ms every 100 items, so it falls
 * behind and the writer overwrites items before it gets to them.  Each reader
 * checks that every item is intact and that sequence numbers only increase,
 * and that the items it received plus those it lost (scb_lost) add up to the
 * items pushed.  The demo exits 0 only if both readers pass.
 *
 * scb_pop_wait cannot wait yet in this version, so the readers poll: a pop
 * that finds nothing (SCB_EAGAIN) is followed by a 50 us sleep.  Nothing may
 * hang: the readers give up after a few seconds without items, the parent
 * kills readers that do not finish, and the ring is closed (and so removed)
 * on every path, also on Ctrl-C.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <scb.h>

#define ITEM_SIZE 64
#define RING_LENGTH 4096
#define READERS 2
#define READ_BATCH 256       /* items per scb_pop_many of the fast reader */
#define WRITE_BURST 64       /* items per scb_push_many of the writer */
#define WRITER_NAP_US 200    /* the writer's pause between bursts */
#define EMPTY_NAP_US 50      /* a reader's pause when the ring is empty */
#define SLOW_EVERY 100       /* the slow reader sleeps every this many items */
#define SLOW_NAP_US 1000     /* ... this long */
#define IDLE_LIMIT_S 5       /* a reader gives up after this long without items */
#define READY_LIMIT_S 10     /* the writer waits this long for readers to open */
#define REAP_LIMIT_S 15      /* ... and this long for them to finish */

enum { KIND_DATA = 0x44415441, KIND_END = 0x454e4421 };

/* One item, exactly ITEM_SIZE bytes: a sequence number, a kind, filler
 * derived from the sequence number and a checksum over all of it, so a torn
 * or mixed-up item is caught. */
typedef struct demo_item {
    uint64_t seq;     /* data: 0, 1, 2...; end: the number of data items pushed */
    uint32_t kind;    /* KIND_DATA or KIND_END */
    uint32_t zero;    /* always 0 */
    uint64_t fill[5]; /* mix(seq * 8 + i) */
    uint64_t sum;     /* item_sum() of the fields above */
} demo_item_t;

_Static_assert(sizeof(demo_item_t) == ITEM_SIZE, "demo_item_t must be ITEM_SIZE bytes");

/* What a reader reports to the parent through a pipe (well under PIPE_BUF,
 * so the write is atomic). */
typedef struct demo_result {
    int id;
    int opened;        /* scb_open succeeded */
    int got_end;       /* saw the end item */
    int ok;            /* passed every check */
    uint64_t received; /* data items received */
    uint64_t damaged;  /* items whose content was not what the writer pushed */
    uint64_t disorder; /* items whose sequence number did not increase */
    uint64_t lost;     /* scb_lost at the end */
    uint64_t gaps;     /* sequence numbers skipped */
    uint64_t total;    /* data items pushed, from the end item */
    double seconds;    /* first item to end item */
    char error[120];
} demo_result_t;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap_us(long us)
{
    struct timespec ts;
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000;
    nanosleep(&ts, NULL);
}

/* splitmix64's finaliser: a cheap, well-mixed function of x. */
static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t item_sum(const demo_item_t *it)
{
    uint64_t s = mix(it->seq ^ ((uint64_t)it->kind << 32) ^ it->zero);
    for (int i = 0; i < 5; i++)
        s = mix(s ^ it->fill[i]);
    return s;
}

static void item_make(demo_item_t *it, uint32_t kind, uint64_t seq)
{
    it->seq = seq;
    it->kind = kind;
    it->zero = 0;
    for (int i = 0; i < 5; i++)
        it->fill[i] = mix(seq * 8 + (uint64_t)i);
    it->sum = item_sum(it);
}

static int item_intact(const demo_item_t *it)
{
    if (it->kind != KIND_DATA && it->kind != KIND_END)
        return 0;
    if (it->zero != 0)
        return 0;
    for (int i = 0; i < 5; i++)
        if (it->fill[i] != mix(it->seq * 8 + (uint64_t)i))
            return 0;
    return it->sum == item_sum(it);
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* A reader process: opens the ring, says it is ready, reads until the end
 * item (or until nothing comes for IDLE_LIMIT_S), reports, exits. */
static int reader_main(int id, int slow, const char *name, const char *backend,
                       int ready_fd, int result_fd)
{
    static demo_item_t buf[READ_BATCH];
    demo_result_t res;
    memset(&res, 0, sizeof res);
    res.id = id;

    scb_config_t cfg;
    scb_config_init(&cfg);
    cfg.backend = backend;
    scb_t *r = NULL;
    int rc = scb_open(&r, name, &cfg);
    if (rc != SCB_OK) {
        snprintf(res.error, sizeof res.error, "scb_open(\"%s\"): %s", name,
                 scb_strerror(rc));
        close(ready_fd);
        write_all(result_fd, &res, sizeof res);
        return 1;
    }
    res.opened = 1;
    write_all(ready_fd, "r", 1);
    close(ready_fd);

    uint64_t next = 0; /* the lowest sequence number that may come next */
    uint64_t first_ns = 0, last_ns = 0, idle_since = now_ns();
    while (!res.got_end) {
        size_t n = 0;
        if (slow) {
            rc = scb_pop(r, &buf[0]);
            n = rc == SCB_OK ? 1 : 0;
        } else {
            rc = scb_pop_many(r, buf, READ_BATCH, &n);
        }
        if (rc == SCB_EAGAIN) {
            if (now_ns() - idle_since > (uint64_t)IDLE_LIMIT_S * 1000000000u) {
                snprintf(res.error, sizeof res.error,
                         "no item for %d s and no end item: gave up", IDLE_LIMIT_S);
                break;
            }
            nap_us(EMPTY_NAP_US);
            continue;
        }
        if (rc != SCB_OK) {
            snprintf(res.error, sizeof res.error, "%s: %s",
                     slow ? "scb_pop" : "scb_pop_many", scb_strerror(rc));
            break;
        }
        last_ns = idle_since = now_ns();
        if (first_ns == 0)
            first_ns = last_ns;
        for (size_t i = 0; i < n && !res.got_end; i++) {
            const demo_item_t *it = &buf[i];
            if (!item_intact(it)) {
                res.damaged++;
                res.received++;
                continue;
            }
            if (it->kind == KIND_END) {
                res.got_end = 1;
                res.total = it->seq;
                break;
            }
            if (it->seq < next)
                res.disorder++;
            else
                res.gaps += it->seq - next;
            next = it->seq + 1;
            res.received++;
            if (slow && res.received % SLOW_EVERY == 0)
                nap_us(SLOW_NAP_US);
        }
    }
    res.lost = scb_lost(r);
    rc = scb_close(r);
    if (rc != SCB_OK && res.error[0] == '\0')
        snprintf(res.error, sizeof res.error, "scb_close: %s", scb_strerror(rc));
    res.seconds = first_ns ? (double)(last_ns - first_ns) / 1e9 : 0.0;
    res.ok = res.got_end && res.error[0] == '\0' && res.damaged == 0 &&
             res.disorder == 0 && res.received + res.lost == res.total &&
             res.gaps == res.lost;
    write_all(result_fd, &res, sizeof res);
    return res.ok ? 0 : 1;
}

/* Waits up to limit_s for `want` ready bytes; returns how many came. */
static int wait_ready(int fd, int want, int limit_s)
{
    int got = 0;
    uint64_t deadline = now_ns() + (uint64_t)limit_s * 1000000000u;
    while (got < want && !stop_requested) {
        uint64_t t = now_ns();
        if (t >= deadline)
            break;
        struct pollfd pfd = { .fd = fd, .events = POLLIN, .revents = 0 };
        int left_ms = (int)((deadline - t) / 1000000u) + 1;
        int rc = poll(&pfd, 1, left_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        char c[READERS];
        ssize_t n = read(fd, c, sizeof c);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* every reader closed its end: some failed to open */
        got += (int)n;
    }
    return got;
}

/* Reaps the readers, killing those still running after limit_s. */
static void reap(pid_t *pids, int *status, int count, int limit_s)
{
    uint64_t deadline = now_ns() + (uint64_t)limit_s * 1000000000u;
    int left = 0;
    for (int i = 0; i < count; i++)
        left += pids[i] > 0;
    while (left > 0) {
        for (int i = 0; i < count; i++) {
            if (pids[i] <= 0)
                continue;
            pid_t p = waitpid(pids[i], &status[i], WNOHANG);
            if (p == pids[i] || (p < 0 && errno != EINTR)) {
                pids[i] = 0;
                left--;
            }
        }
        if (left > 0 && now_ns() > deadline) {
            for (int i = 0; i < count; i++) {
                if (pids[i] > 0) {
                    fprintf(stderr, "scb-demo: reader %d did not finish: killed\n", i + 1);
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], &status[i], 0);
                    pids[i] = 0;
                }
            }
            break;
        }
        if (left > 0)
            nap_us(10000);
    }
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    double seconds = 3.0;
    if (argc > 2) {
        char *end = NULL;
        seconds = strtod(argv[2], &end);
        if (end == argv[2] || *end != '\0' || !(seconds >= 0.1 && seconds <= 3600.0)) {
            fprintf(stderr, "usage: %s [BACKEND [SECONDS]]  (SECONDS from 0.1 to 3600)\n", argv[0]);
            return 2;
        }
    }
    if (argc > 3) {
        fprintf(stderr, "usage: %s [BACKEND [SECONDS]]\n", argv[0]);
        return 2;
    }

    char name[32];
    snprintf(name, sizeof name, "scb-demo-%ld", (long)getpid());

    printf("libscb %s; backends built in:", scb_version());
    for (const char *const *b = scb_backends(); *b != NULL; b++)
        printf(" %s", *b);
    printf("\n");

    scb_config_t cfg;
    scb_config_init(&cfg);
    cfg.item_size = ITEM_SIZE;
    cfg.length = RING_LENGTH;
    cfg.flags = SCB_UNLINK_ON_CLOSE;
    cfg.backend = backend;
    scb_t *w = NULL;
    int rc = scb_create(&w, name, &cfg);
    if (rc != SCB_OK) {
        fprintf(stderr, "scb-demo: scb_create(\"%s\", backend %s): %s\n", name,
                backend ? backend : "(default)", scb_strerror(rc));
        return 1;
    }
    scb_info_t info;
    if (scb_info(w, &info) == SCB_OK)
        printf("ring \"%s\": backend %s, %" PRIu64 " items of %" PRIu32 " bytes\n",
               info.name, info.backend, info.length, info.item_size);

    /* The readers are forked after the ring exists, so they can open it at
     * once; they say so on ready_pipe before the writer starts, so each
     * of them sees every item from the first. */
    int ready_pipe[2], result_pipe[2];
    if (pipe(ready_pipe) != 0 || pipe(result_pipe) != 0) {
        perror("scb-demo: pipe");
        scb_close(w);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    pid_t pids[READERS] = { 0, 0 };
    int status[READERS] = { 0, 0 };
    int failed = 0;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < READERS; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("scb-demo: fork");
            failed = 1;
            break;
        }
        if (pid == 0) {
            /* The reader: default signal actions, only its pipe ends; it
             * never touches the writer's handle `w`. */
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            close(ready_pipe[0]);
            close(result_pipe[0]);
            _exit(reader_main(i + 1, i == 1, name, backend, ready_pipe[1], result_pipe[1]));
        }
        pids[i] = pid;
    }
    close(ready_pipe[1]);
    close(result_pipe[1]);

    uint64_t pushed = 0;
    double wseconds = 0.0;
    if (!failed) {
        int ready = wait_ready(ready_pipe[0], READERS, READY_LIMIT_S);
        if (ready < READERS) {
            fprintf(stderr, "scb-demo: only %d of %d readers opened the ring\n", ready, READERS);
            failed = 1;
        }
    }
    close(ready_pipe[0]);

    if (!failed && !stop_requested) {
        static demo_item_t burst[WRITE_BURST];
        uint64_t start = now_ns();
        uint64_t stop_at = start + (uint64_t)(seconds * 1e9);
        while (!stop_requested && now_ns() < stop_at) {
            for (int i = 0; i < WRITE_BURST; i++)
                item_make(&burst[i], KIND_DATA, pushed + (uint64_t)i);
            size_t count = 0;
            rc = scb_push_many(w, burst, WRITE_BURST, &count);
            pushed += count;
            if (rc != SCB_OK || count != WRITE_BURST) {
                fprintf(stderr, "scb-demo: scb_push_many: %s (%zu of %d pushed)\n",
                        scb_strerror(rc), count, WRITE_BURST);
                failed = 1;
                break;
            }
            nap_us(WRITER_NAP_US);
        }
        wseconds = (double)(now_ns() - start) / 1e9;
    }

    /* Always push the end item, so the readers stop now rather than at their
     * idle limit, then close: SCB_UNLINK_ON_CLOSE removes the name, and the
     * readers keep their mappings until they close. */
    demo_item_t end;
    item_make(&end, KIND_END, pushed);
    rc = scb_push(w, &end);
    if (rc != SCB_OK) {
        fprintf(stderr, "scb-demo: scb_push(end): %s\n", scb_strerror(rc));
        failed = 1;
    }
    rc = scb_close(w);
    if (rc != SCB_OK) {
        fprintf(stderr, "scb-demo: scb_close: %s\n", scb_strerror(rc));
        failed = 1;
    }

    if (wseconds > 0.0)
        printf("writer:          pushed %10" PRIu64 " items in %.2f s, %10.0f items/s\n",
               pushed, wseconds, (double)pushed / wseconds);

    reap(pids, status, READERS, REAP_LIMIT_S);
    if (stop_requested) {
        fprintf(stderr, "scb-demo: interrupted\n");
        failed = 1;
    }

    demo_result_t results[READERS];
    int have[READERS] = { 0, 0 };
    demo_result_t res;
    ssize_t n;
    while ((n = read(result_pipe[0], &res, sizeof res)) == (ssize_t)sizeof res ||
           (n < 0 && errno == EINTR)) {
        if (n > 0 && res.id >= 1 && res.id <= READERS) {
            results[res.id - 1] = res;
            have[res.id - 1] = 1;
        }
    }
    close(result_pipe[0]);

    for (int i = 0; i < READERS; i++) {
        const char *role = i == 0 ? "reader 1 (fast)" : "reader 2 (slow)";
        if (!have[i]) {
            fprintf(stderr, "%s: no report (exit status %d)\n", role, status[i]);
            failed = 1;
            continue;
        }
        const demo_result_t *r = &results[i];
        if (r->opened)
            printf("%s: received %10" PRIu64 " items, lost %9" PRIu64 ", %10.0f items/s;"
                   " all intact and in order: %s; received + lost == pushed: %s\n",
                   role, r->received, r->lost,
                   r->seconds > 0.0 ? (double)r->received / r->seconds : 0.0,
                   yes_no(r->damaged == 0 && r->disorder == 0),
                   yes_no(r->got_end && r->received + r->lost == r->total));
        if (r->damaged)
            printf("%s: %" PRIu64 " items damaged\n", role, r->damaged);
        if (r->disorder)
            printf("%s: %" PRIu64 " items out of order\n", role, r->disorder);
        if (r->got_end && r->gaps != r->lost)
            printf("%s: skipped %" PRIu64 " sequence numbers but scb_lost says %" PRIu64 "\n",
                   role, r->gaps, r->lost);
        if (r->got_end && r->total != pushed)
            printf("%s: the end item says %" PRIu64 " pushed, the writer %" PRIu64 "\n",
                   role, r->total, pushed);
        if (r->error[0] != '\0')
            printf("%s: %s\n", role, r->error);
        if (!r->ok || r->total != pushed || !WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0)
            failed = 1;
    }

    printf("demo: %s\n", failed ? "FAILED" : "OK (both readers got intact items, in order, and received + lost == pushed)");
    return failed ? 1 : 0;
}
