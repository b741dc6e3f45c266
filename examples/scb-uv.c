/*
 * scb-uv.c - one process reads several rings and a timer in a libuv loop,
 * through the public API only (<scb.h>): scb-epoll's example with libuv.
 *
 *     examples/scb-uv [-b BACKEND] [-n RINGS] [-c ITEMS]
 *     examples/scb-uv [-b BACKEND] [-c ITEMS] NAME...
 *
 * Without NAMEs it runs a demo: it makes RINGS lossless rings (default 3;
 * see demo-rings.h), each with a forked writer that pushes ITEMS items
 * (default 1000) in bursts with pauses, reads them all, and exits 0 only if
 * every item arrived, intact and in order, and none was lost.  With NAMEs it
 * reads those existing rings (fixed-size or record rings) until Ctrl-C, or
 * until ITEMS items arrived in all when -c is given, and exits 0.
 *
 * How it waits: scb_fd gives each reader handle a file descriptor, watched
 * by a uv_poll_t for UV_READABLE; a uv_timer_t prints a line of statistics
 * every TICK_MS, and uv_signal_t handles end the loop on SIGINT and
 * SIGTERM.  The contract of scb_fd: a pop that returns SCB_EAGAIN arms the
 * descriptor, which then becomes readable as soon as a pop would succeed.
 * So, each time libuv reports a ring readable, pop until SCB_EAGAIN.  The
 * descriptor is owned by the handle: never read it, never close it; and
 * libuv must stop watching it (uv_close on the poll handle, completed)
 * before scb_close closes it.
 *
 * Exit status: 0 success, 1 error (or a demo item missing), 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include <scb.h>

#include "demo-rings.h"

#define PROG          "scb-uv"
#define RINGS_MAX     DEMO_RINGS_MAX
#define TICK_MS       100  /* the timer's period */
#define IDLE_LIMIT_MS 5000 /* the demo gives up after this long without items */
#define REAP_LIMIT_S  10   /* ... and waits this long for its writers to end */

typedef struct ring {
    const char *name;
    int index;
    scb_t *r;           /* the reader handle */
    scb_fd_t fd;        /* its descriptor, owned by r */
    uv_poll_t poll;     /* libuv's watch on fd (poll.data: this ring) */
    int polling;        /* poll initialised and not yet closed */
    unsigned char *buf; /* item_size bytes: room for any item or record */
    size_t cap;
    uint64_t received; /* items (records) popped */
    uint64_t bad;      /* demo: items that were not the one expected */
    uint64_t wakeups;  /* times libuv reported it readable */
    uint64_t empty;    /* ... and the first pop found nothing (spurious) */
} ring_t;

/* Everything the callbacks share (loop.data points here). */
typedef struct app {
    uv_loop_t loop;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    ring_t rings[RINGS_MAX];
    int count;
    int demo;
    uint64_t items; /* demo: per ring */
    uint64_t want;  /* items in all before the end; 0: until a signal */
    uint64_t total, last_total, ticks, idle_ms;
    int stopping, error, interrupted;
} app_t;

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

/* Ends the loop: closes every handle; uv_run returns once their close
 * callbacks ran.  Only then may scb_close close the rings' descriptors. */
static void stop(app_t *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    for (int i = 0; i < a->count; i++) {
        if (a->rings[i].polling) {
            uv_close((uv_handle_t *)&a->rings[i].poll, NULL);
            a->rings[i].polling = 0;
        }
    }
    uv_close((uv_handle_t *)&a->timer, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

/*
 * Pops everything there is on one ring: the loop of scb_fd's contract.
 * scb_pop_record works on both kinds of ring (on a fixed-size ring a record
 * is one item), and a buffer of item_size bytes always holds one.  The
 * SCB_EAGAIN that ends the loop is what re-arms the descriptor.
 */
static void drain(app_t *a, ring_t *rg)
{
    uint64_t before = rg->received;
    for (;;) {
        size_t len = 0;
        int rc = scb_pop_record(rg->r, rg->buf, rg->cap, &len);
        if (rc == SCB_EAGAIN)
            break;
        if (rc != SCB_OK) {
            fprintf(stderr, PROG ": %s: scb_pop_record: %s\n", rg->name,
                    scb_strerror(rc));
            a->error = 1;
            stop(a);
            return;
        }
        if (a->demo && !demo_item_check(rg->buf, len, rg->index, rg->received))
            rg->bad++;
        rg->received++;
    }
    a->total += rg->received - before;
    if (a->want != 0 && a->total >= a->want)
        stop(a);
}

/* libuv: a ring's descriptor is readable. */
static void on_ready(uv_poll_t *p, int status, int events)
{
    ring_t *rg = p->data;
    app_t *a = p->loop->data;
    (void)events;
    if (status < 0) {
        fprintf(stderr, PROG ": %s: uv_poll: %s\n", rg->name,
                uv_strerror(status));
        a->error = 1;
        stop(a);
        return;
    }
    uint64_t before = rg->received;
    rg->wakeups++;
    drain(a, rg);
    if (rg->received == before)
        rg->empty++;
}

/* libuv: the timer's period ran out. */
static void on_tick(uv_timer_t *t)
{
    app_t *a = t->loop->data;
    a->ticks++;
    printf("tick %3" PRIu64 ": %" PRIu64 " items", a->ticks, a->total);
    for (int i = 0; i < a->count; i++)
        printf("%s%" PRIu64, i == 0 ? " (" : " + ", a->rings[i].received);
    printf(")\n");
    fflush(stdout);
    a->idle_ms = a->total == a->last_total ? a->idle_ms + TICK_MS : 0;
    a->last_total = a->total;
    if (a->demo && a->idle_ms >= IDLE_LIMIT_MS) {
        fprintf(stderr, PROG ": no item for %d ms: gave up\n", IDLE_LIMIT_MS);
        a->error = 1;
        stop(a);
    }
}

/* libuv: SIGINT or SIGTERM. */
static void on_signal(uv_signal_t *s, int signum)
{
    app_t *a = s->loop->data;
    fprintf(stderr, PROG ": %s: stopping\n", strsignal(signum));
    a->interrupted = 1;
    stop(a);
}

int main(int argc, char **argv)
{
    static app_t app; /* static: zeroed, and off the stack */
    app_t *a = &app;
    const char *backend = NULL;
    uint64_t nrings = 3;
    int have_n = 0, have_c = 0, opt, rc;
    a->items = 1000;

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
            if (parse_count(optarg, UINT64_C(1) << 40, &a->items) != 0) {
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
    a->demo = optind == argc;
    if (!a->demo && (have_n || argc - optind > RINGS_MAX)) {
        usage();
        return 2;
    }
    a->count = a->demo ? (int)nrings : argc - optind;

    int status = 1, loop_ready = 0;
    demo_rings_t d;
    memset(&d, 0, sizeof d);

    /* The rings: the demo's, with their writers (forked before the loop
     * exists), or the ones named. */
    if (a->demo) {
        scb_t *readers[RINGS_MAX];
        rc = demo_rings_start(&d, PROG, backend, a->count, a->items, readers);
        for (int i = 0; i < a->count; i++) {
            a->rings[i].name = d.names[i];
            a->rings[i].r = readers[i];
        }
        if (rc != 0)
            goto out;
        a->want = a->items * (uint64_t)a->count;
    } else {
        scb_config_t cfg;
        scb_config_init(&cfg);
        cfg.backend = backend;
        for (int i = 0; i < a->count; i++) {
            a->rings[i].name = argv[optind + i];
            rc = scb_open(&a->rings[i].r, a->rings[i].name, &cfg);
            if (rc != SCB_OK) {
                fprintf(stderr, PROG ": scb_open(\"%s\"): %s\n",
                        a->rings[i].name, scb_strerror(rc));
                goto out;
            }
        }
        a->want = have_c ? a->items : 0;
    }

    if ((rc = uv_loop_init(&a->loop)) != 0) {
        fprintf(stderr, PROG ": uv_loop_init: %s\n", uv_strerror(rc));
        goto out;
    }
    loop_ready = 1;
    a->loop.data = a;
    uv_timer_init(&a->loop, &a->timer);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    if ((rc = uv_timer_start(&a->timer, on_tick, TICK_MS, TICK_MS)) != 0 ||
        (rc = uv_signal_start(&a->sigint, on_signal, SIGINT)) != 0 ||
        (rc = uv_signal_start(&a->sigterm, on_signal, SIGTERM)) != 0) {
        fprintf(stderr, PROG ": uv_timer_start or uv_signal_start: %s\n",
                uv_strerror(rc));
        a->error = 1;
        stop(a);
    }

    printf(PROG ": reading %d ring%s%s\n", a->count, a->count == 1 ? "" : "s",
           a->demo ? " (demo: one forked writer each)" : "");
    fflush(stdout);

    /* Each ring: a poll handle on its descriptor, then drained once.  Items
     * pushed before the first SCB_EAGAIN rang no bell, so a loop that
     * waited first could sleep with items there. */
    for (int i = 0; i < a->count && !a->stopping; i++) {
        ring_t *rg = &a->rings[i];
        scb_info_t info;
        rg->index = i;
        rc = scb_info(rg->r, &info);
        if (rc == SCB_OK)
            rc = scb_fd(rg->r, &rg->fd);
        if (rc != SCB_OK) {
            fprintf(stderr, PROG ": %s: scb_info or scb_fd: %s\n", rg->name,
                    scb_strerror(rc));
            a->error = 1;
            stop(a);
            break;
        }
        rg->cap = info.item_size;
        if ((rg->buf = malloc(rg->cap ? rg->cap : 1)) == NULL) {
            fprintf(stderr, PROG ": %s: no memory for an item of %zu bytes\n",
                    rg->name, rg->cap);
            a->error = 1;
            stop(a);
            break;
        }
        if ((rc = uv_poll_init(&a->loop, &rg->poll, rg->fd)) != 0) {
            fprintf(stderr, PROG ": %s: uv_poll_init: %s\n", rg->name,
                    uv_strerror(rc));
            a->error = 1;
            stop(a);
            break;
        }
        rg->polling = 1;
        rg->poll.data = rg;
        if ((rc = uv_poll_start(&rg->poll, UV_READABLE, on_ready)) != 0) {
            fprintf(stderr, PROG ": %s: uv_poll_start: %s\n", rg->name,
                    uv_strerror(rc));
            a->error = 1;
            stop(a);
            break;
        }
        drain(a, rg);
    }

    /* The loop runs until stop() closed every handle. */
    uv_run(&a->loop, UV_RUN_DEFAULT);

    /* The report: per ring, what came, what was lost (scb_lost: items the
     * writer overwrote before this reader got them; none in lossless
     * rings), and how often it woke. */
    int complete = !a->error && !a->interrupted;
    for (int i = 0; i < a->count; i++) {
        ring_t *rg = &a->rings[i];
        if (rg->buf == NULL) {
            complete = 0;
            continue;
        }
        uint64_t lost = scb_lost(rg->r);
        printf("ring %s: received %" PRIu64, rg->name, rg->received);
        if (a->demo)
            printf(" of %" PRIu64, a->items);
        printf(", lost %" PRIu64 ", woken %" PRIu64 " times (%" PRIu64
               " found nothing)\n",
               lost, rg->wakeups, rg->empty);
        if (rg->bad)
            printf("ring %s: %" PRIu64 " items not the ones expected\n",
                   rg->name, rg->bad);
        if (a->demo && (rg->received != a->items || rg->bad || lost))
            complete = 0;
    }
    if (a->demo)
        printf(PROG ": %s\n",
               complete
                   ? "OK: every item arrived, intact and in order, none lost"
                   : "FAILED: not every item arrived intact");
    status = a->demo ? !complete : a->error;

out:
    if (loop_ready && uv_loop_close(&a->loop) != 0) {
        fprintf(stderr, PROG ": uv_loop_close: handles still open\n");
        status = 1;
    }
    for (int i = 0; i < a->count; i++) {
        if (a->rings[i].r != NULL && scb_close(a->rings[i].r) != SCB_OK)
            status = 1;
        free(a->rings[i].buf);
    }
    if (a->demo && demo_rings_finish(&d, REAP_LIMIT_S) != 0)
        status = 1;
    return status;
}
