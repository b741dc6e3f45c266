/*
 * scb-epoll.c - one process reads several rings and a timer with one epoll
 * set (Linux), through the public API only (<scb.h>): the way to wait on
 * rings inside an event loop.
 *
 *     examples/scb-epoll [-b BACKEND] [-n RINGS] [-c ITEMS]
 *     examples/scb-epoll [-b BACKEND] [-c ITEMS] NAME...
 *
 * Without NAMEs it runs a demo: it makes RINGS lossless rings (default 3;
 * see demo-rings.h), each with a forked writer that pushes ITEMS items
 * (default 1000) in bursts with pauses, reads them all, and exits 0 only if
 * every item arrived, intact and in order, and none was lost.  With NAMEs it
 * reads those existing rings (fixed-size or record rings) until Ctrl-C, or
 * until ITEMS items arrived in all when -c is given, and exits 0.
 *
 * How it waits: scb_fd gives each reader handle a file descriptor; all of
 * them go into one epoll set, with a timerfd that ticks every TICK_MS (a
 * line of statistics) and a signalfd for SIGINT and SIGTERM.  The contract
 * of scb_fd: a pop that returns SCB_EAGAIN arms the descriptor, which then
 * becomes readable as soon as a pop would succeed.  So, for each ring that
 * epoll reports ready, pop until SCB_EAGAIN, and only then wait again.  The
 * descriptor is owned by the handle: never read it, never close it; remove
 * it from the epoll set before scb_close closes it.
 *
 * Exit status: 0 success, 1 error (or a demo item missing), 2 usage.
 */
#define _GNU_SOURCE /* signalfd's struct signalfd_siginfo */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <scb.h>

#include "demo-rings.h"

#define PROG          "scb-epoll"
#define RINGS_MAX     DEMO_RINGS_MAX
#define TICK_MS       100  /* the timer's period */
#define IDLE_LIMIT_MS 5000 /* the demo gives up after this long without items */
#define REAP_LIMIT_S  10   /* ... and waits this long for its writers to end */

/* epoll_event.data.u32 of the two descriptors that are not rings (a ring's
 * is its index). */
#define ID_TIMER  RINGS_MAX
#define ID_SIGNAL (RINGS_MAX + 1)

typedef struct ring {
    const char *name;
    scb_t *r;           /* the reader handle */
    scb_fd_t fd;        /* its descriptor, owned by r */
    unsigned char *buf; /* item_size bytes: room for any item or record */
    size_t cap;
    uint64_t received; /* items (records) popped */
    uint64_t bad;      /* demo: items that were not the one expected */
    uint64_t wakeups;  /* times epoll reported it ready */
    uint64_t empty;    /* ... and the first pop found nothing (spurious) */
} ring_t;

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [-b BACKEND] [-n RINGS] [-c ITEMS]\n"
            "       %s [-b BACKEND] [-c ITEMS] NAME...\n"
            "Without NAMEs, a demo: RINGS rings (1 to %d, default 3), each\n"
            "with a forked writer pushing ITEMS items (default 1000).\n"
            "With NAMEs: reads those rings until Ctrl-C, or until ITEMS\n"
            "items arrived in all.\n",
            PROG, PROG, RINGS_MAX);
}

static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
        v > max)
        return -1;
    *out = v;
    return 0;
}

/*
 * Pops everything there is on one ring: the loop of scb_fd's contract.
 * scb_pop_record works on both kinds of ring (on a fixed-size ring a record
 * is one item), and a buffer of item_size bytes always holds one.  The
 * SCB_EAGAIN that ends the loop is what re-arms the descriptor.  Returns 0,
 * or -1 on an error.
 */
static int drain(ring_t *rg, int index, int demo)
{
    for (;;) {
        size_t len = 0;
        int rc = scb_pop_record(rg->r, rg->buf, rg->cap, &len);
        if (rc == SCB_EAGAIN)
            break;
        if (rc != SCB_OK) {
            fprintf(stderr, PROG ": %s: scb_pop_record: %s\n", rg->name,
                    scb_strerror(rc));
            return -1;
        }
        if (demo && !demo_item_check(rg->buf, len, index, rg->received))
            rg->bad++;
        rg->received++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *backend = NULL;
    uint64_t nrings = 3, items = 1000, want = 0;
    int have_n = 0, have_c = 0, opt;

    while ((opt = getopt(argc, argv, "b:n:c:h")) != -1) {
        switch (opt) {
        case 'b':
            backend = optarg;
            break;
        case 'n':
            if (parse_count(optarg, RINGS_MAX, &nrings) != 0) {
                usage();
                return 2;
            }
            have_n = 1;
            break;
        case 'c':
            if (parse_count(optarg, UINT64_C(1) << 40, &items) != 0) {
                usage();
                return 2;
            }
            have_c = 1;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    int demo = optind == argc;
    if (!demo && (have_n || argc - optind > RINGS_MAX)) {
        usage();
        return 2;
    }

    ring_t rings[RINGS_MAX];
    scb_t *readers[RINGS_MAX];
    demo_rings_t d;
    int count = demo ? (int)nrings : argc - optind;
    int status = 1, ep = -1, tfd = -1, sfd = -1;
    memset(rings, 0, sizeof rings);
    memset(&d, 0, sizeof d);

    /* The rings: the demo's, with their writers, or the ones named. */
    if (demo) {
        int rc = demo_rings_start(&d, PROG, backend, count, items, readers);
        for (int i = 0; i < count; i++) {
            rings[i].name = d.names[i];
            rings[i].r = readers[i];
        }
        if (rc != 0)
            goto out;
        want = items * (uint64_t)count;
    } else {
        scb_config_t cfg;
        scb_config_init(&cfg);
        cfg.backend = backend;
        for (int i = 0; i < count; i++) {
            rings[i].name = argv[optind + i];
            int rc = scb_open(&rings[i].r, rings[i].name, &cfg);
            if (rc != SCB_OK) {
                fprintf(stderr, PROG ": scb_open(\"%s\"): %s\n", rings[i].name,
                        scb_strerror(rc));
                goto out;
            }
        }
        want = have_c ? items : 0; /* 0: until a signal */
    }

    /* SIGINT and SIGTERM arrive through a signalfd, as one more event.
     * (Blocked only now: the demo's writers keep the default actions.) */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0 ||
        (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) <
            0) {
        perror(PROG ": signalfd, epoll_create1 or timerfd_create");
        goto out;
    }
    struct itimerspec period = {{TICK_MS / 1000, (TICK_MS % 1000) * 1000000L},
                                {TICK_MS / 1000, (TICK_MS % 1000) * 1000000L}};
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u32 = ID_TIMER;
    if (timerfd_settime(tfd, 0, &period, NULL) != 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) != 0) {
        perror(PROG ": timerfd");
        goto out;
    }
    ev.data.u32 = ID_SIGNAL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) != 0) {
        perror(PROG ": epoll_ctl(signalfd)");
        goto out;
    }

    printf(PROG ": reading %d ring%s%s\n", count, count == 1 ? "" : "s",
           demo ? " (demo: one forked writer each)" : "");
    fflush(stdout);

    /* Each ring: its descriptor into the epoll set, then drained once.
     * Items pushed before the first SCB_EAGAIN rang no bell, so a loop that
     * waited first could sleep with items there. */
    for (int i = 0; i < count; i++) {
        ring_t *rg = &rings[i];
        scb_info_t info;
        int rc = scb_info(rg->r, &info);
        if (rc == SCB_OK)
            rc = scb_fd(rg->r, &rg->fd);
        if (rc != SCB_OK) {
            fprintf(stderr, PROG ": %s: scb_info or scb_fd: %s\n", rg->name,
                    scb_strerror(rc));
            goto out;
        }
        rg->cap = info.item_size;
        if ((rg->buf = malloc(rg->cap ? rg->cap : 1)) == NULL) {
            fprintf(stderr, PROG ": %s: no memory for an item of %zu bytes\n",
                    rg->name, rg->cap);
            goto out;
        }
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rg->fd, &ev) != 0) {
            perror(PROG ": epoll_ctl(scb_fd)");
            goto out;
        }
        if (drain(rg, i, demo) != 0)
            goto out;
    }

    /* The loop.  The set is level-triggered (no EPOLLET), and a ring's
     * descriptor stays ready until a pop returns SCB_EAGAIN: a loop that
     * popped at most a batch per wakeup, to be fair to the other rings,
     * would be told again about a ring it left items in. */
    uint64_t total = 0, ticks = 0, idle_ms = 0, last_total = 0;
    int stop = 0, error = 0;
    for (int i = 0; i < count; i++)
        total += rings[i].received;
    while (!stop && !error && (want == 0 || total < want)) {
        struct epoll_event events[8];
        int n = epoll_wait(ep, events, 8, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror(PROG ": epoll_wait");
            error = 1;
            break;
        }
        for (int k = 0; k < n; k++) {
            uint32_t id = events[k].data.u32;
            if (id == ID_TIMER) {
                uint64_t expirations = 0;
                if (read(tfd, &expirations, sizeof expirations) !=
                    (ssize_t)sizeof expirations)
                    continue; /* nothing after all (EAGAIN) */
                ticks += expirations;
                printf("tick %3" PRIu64 ": %" PRIu64 " items", ticks, total);
                for (int i = 0; i < count; i++)
                    printf("%s%" PRIu64, i == 0 ? " (" : " + ",
                           rings[i].received);
                printf(")\n");
                fflush(stdout);
                idle_ms =
                    total == last_total ? idle_ms + expirations * TICK_MS : 0;
                last_total = total;
                if (demo && idle_ms >= IDLE_LIMIT_MS) {
                    fprintf(stderr, PROG ": no item for %d ms: gave up\n",
                            IDLE_LIMIT_MS);
                    error = 1;
                }
            } else if (id == ID_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    fprintf(stderr, PROG ": %s: stopping\n",
                            strsignal((int)si.ssi_signo));
                    stop = 1;
                }
            } else if (id < (uint32_t)count) {
                ring_t *rg = &rings[id];
                uint64_t before = rg->received;
                rg->wakeups++;
                if (drain(rg, (int)id, demo) != 0)
                    error = 1;
                if (rg->received == before)
                    rg->empty++;
                total += rg->received - before;
            }
        }
    }

    /* The report: per ring, what came, what was lost (scb_lost: items the
     * writer overwrote before this reader got them; none in lossless
     * rings), and how often it woke. */
    int complete = !error && !stop;
    for (int i = 0; i < count; i++) {
        ring_t *rg = &rings[i];
        uint64_t lost = scb_lost(rg->r);
        printf("ring %s: received %" PRIu64, rg->name, rg->received);
        if (demo)
            printf(" of %" PRIu64, items);
        printf(", lost %" PRIu64 ", woken %" PRIu64 " times (%" PRIu64
               " found nothing)\n",
               lost, rg->wakeups, rg->empty);
        if (rg->bad)
            printf("ring %s: %" PRIu64 " items not the ones expected\n",
                   rg->name, rg->bad);
        if (demo && (rg->received != items || rg->bad || lost))
            complete = 0;
    }
    if (demo)
        printf(PROG ": %s\n",
               complete
                   ? "OK: every item arrived, intact and in order, none lost"
                   : "FAILED: not every item arrived intact");
    status = demo ? !complete : error;

out:
    /* Each descriptor leaves the epoll set before scb_close closes it. */
    for (int i = 0; i < count; i++) {
        if (ep >= 0 && rings[i].buf != NULL)
            epoll_ctl(ep, EPOLL_CTL_DEL, rings[i].fd, NULL);
        if (rings[i].r != NULL && scb_close(rings[i].r) != SCB_OK)
            status = 1;
        free(rings[i].buf);
    }
    if (ep >= 0)
        close(ep);
    if (tfd >= 0)
        close(tfd);
    if (sfd >= 0)
        close(sfd);
    if (demo && demo_rings_finish(&d, REAP_LIMIT_S) != 0)
        status = 1;
    return status;
}
