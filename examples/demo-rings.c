/*
 * demo-rings.c - the demo rings of the event-loop examples: see
 * demo-rings.h.  Public API only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo-rings.h"

#define RING_LENGTH   64   /* items per ring: small, so writers do fill it */
#define BURST         20   /* items a writer pushes between pauses */
#define PAUSE_US      2000 /* writer i pauses PAUSE_US * (i + 1) */
#define PUSH_LIMIT_MS 5000 /* a writer gives up on a ring full this long */

/* Item `seq` of ring `ring`: its number, its ring and a check word. */
typedef struct demo_item {
    uint64_t seq;
    uint32_t ring;
    uint32_t check;
} demo_item_t;

_Static_assert(sizeof(demo_item_t) == DEMO_ITEM_SIZE,
               "demo_item_t must be DEMO_ITEM_SIZE bytes");

static uint32_t check_word(int ring, uint64_t seq)
{
    uint64_t x = (seq + 1) * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)ring;
    return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

int demo_item_check(const void *item, size_t len, int ring, uint64_t seq)
{
    demo_item_t it;
    if (len != sizeof it)
        return 0;
    memcpy(&it, item, sizeof it);
    return it.seq == seq && it.ring == (uint32_t)ring &&
           it.check == check_word(ring, seq);
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A writer process: takes the writer role of ring `ring` over (the parent
 * made the ring and gave the role up) and pushes its items. */
static int writer_main(const demo_rings_t *d, int ring, uint64_t items)
{
    scb_config_t cfg;
    scb_config_init(&cfg);
    cfg.backend = d->backend;
    cfg.flags = SCB_WRITER;
    scb_t *w = NULL;
    int rc = scb_open(&w, d->names[ring], &cfg);
    if (rc != SCB_OK) {
        fprintf(stderr, "%s: writer %d: scb_open(\"%s\", SCB_WRITER): %s\n",
                d->prog, ring, d->names[ring], scb_strerror(rc));
        return 1;
    }
    for (uint64_t seq = 0; seq < items; seq++) {
        demo_item_t it = {seq, (uint32_t)ring, check_word(ring, seq)};
        rc = scb_push_wait(w, &it,
                           PUSH_LIMIT_MS); /* waits while the ring is full */
        if (rc != SCB_OK) {
            fprintf(stderr, "%s: writer %d: scb_push_wait: %s\n", d->prog, ring,
                    scb_strerror(rc));
            scb_close(w);
            return 1;
        }
        if ((seq + 1) % BURST == 0)
            nap_us(PAUSE_US * (ring + 1));
    }
    return scb_close(w) == SCB_OK ? 0 : 1;
}

int demo_rings_start(demo_rings_t *d, const char *prog, const char *backend,
                     int count, uint64_t items, scb_t **readers)
{
    memset(d, 0, sizeof *d);
    d->prog = prog;
    d->backend = backend;
    for (int i = 0; i < count; i++)
        readers[i] = NULL;
    if (count < 1 || count > DEMO_RINGS_MAX) {
        fprintf(stderr, "%s: %d rings: 1 to %d\n", prog, count, DEMO_RINGS_MAX);
        return -1;
    }

    for (int i = 0; i < count; i++) {
        char *name = d->names[i];
        snprintf(name, sizeof d->names[i], "%s-%ld-%d", prog, (long)getpid(),
                 i);

        /* Lossless: the writer never overwrites what the reader has not
         * read, so the reader must get every item.  No SCB_UNLINK_ON_CLOSE:
         * the name outlives the parent's writer handle, closed below, and
         * demo_rings_finish removes it. */
        scb_config_t cfg;
        scb_config_init(&cfg);
        cfg.item_size = DEMO_ITEM_SIZE;
        cfg.length = RING_LENGTH;
        cfg.flags = SCB_LOSSLESS;
        cfg.backend = backend;
        scb_t *w = NULL;
        int rc = scb_create(&w, name, &cfg);
        if (rc != SCB_OK) {
            fprintf(stderr, "%s: scb_create(\"%s\"): %s\n", prog, name,
                    scb_strerror(rc));
            return -1;
        }
        d->count = i + 1;

        /* The reader registers now, before the writer exists. */
        rc = scb_open(&readers[i], name, &cfg);
        if (rc != SCB_OK) {
            fprintf(stderr, "%s: scb_open(\"%s\"): %s\n", prog, name,
                    scb_strerror(rc));
            scb_close(w);
            return -1;
        }

        /* A handle belongs to the process that opened it, so the child
         * cannot use `w`: the parent gives the writer role up and the
         * child takes it over (scb_open with SCB_WRITER). */
        rc = scb_close(w);
        if (rc != SCB_OK) {
            fprintf(stderr, "%s: scb_close(\"%s\"): %s\n", prog, name,
                    scb_strerror(rc));
            return -1;
        }

        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
            return -1;
        }
        if (pid == 0)
            _exit(writer_main(d, i, items)); /* never touches `readers` */
        d->writers[i] = pid;
    }
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int demo_rings_finish(demo_rings_t *d, int limit_s)
{
    int failed = 0;
    uint64_t deadline = now_ms() + (uint64_t)limit_s * 1000u;

    for (int i = 0; i < d->count; i++) {
        if (d->writers[i] <= 0)
            continue;
        int status = 0;
        pid_t p;
        while ((p = waitpid(d->writers[i], &status, WNOHANG)) == 0 &&
               now_ms() < deadline)
            nap_us(10000);
        if (p == 0) {
            fprintf(stderr, "%s: writer %d did not finish: killed\n", d->prog,
                    i);
            kill(d->writers[i], SIGKILL);
            p = waitpid(d->writers[i], &status, 0);
        }
        if (p != d->writers[i]) {
            fprintf(stderr, "%s: writer %d: waitpid: %s\n", d->prog, i,
                    strerror(errno));
            failed = 1;
        } else if (WIFSIGNALED(status)) {
            fprintf(stderr, "%s: writer %d: killed by signal %d\n", d->prog, i,
                    WTERMSIG(status));
            failed = 1;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s: writer %d: exit status %d\n", d->prog, i,
                    WEXITSTATUS(status));
            failed = 1;
        }
        d->writers[i] = 0;
    }

    scb_config_t cfg;
    scb_config_init(&cfg);
    cfg.backend = d->backend;
    for (int i = 0; i < d->count; i++) {
        int rc = scb_unlink(d->names[i], &cfg);
        if (rc != SCB_OK) {
            fprintf(stderr, "%s: scb_unlink(\"%s\"): %s\n", d->prog,
                    d->names[i], scb_strerror(rc));
            failed = 1;
        }
    }
    d->count = 0;
    return failed ? -1 : 0;
}
