/*
 * cases.c - the libscb cases of scb-bench, through the public API only.
 *
 * Throughput: the parent creates the ring and closes it again (so the name
 * exists with no writer), forks the readers (which open it; lossless readers
 * register) and a writer (which takes the writer role with SCB_WRITER),
 * removes the name once all are ready, and lets them go.  The writer pushes
 * numbered items for the warm-up and the measured window; every reader checks
 * every number: in lossless mode each must be the next one, in overwrite mode
 * each must be higher than the last, and at the end the gaps must add up to
 * scb_lost and the items received plus lost to the items pushed.
 *
 * Round trip: two rings of 8-byte items, one each way, between a pinger and
 * a ponger, either spinning on scb_pop or sleeping in scb_pop_wait.
 *
 * The neighbour experiment of --neighbour (neighbour.c) makes its rings
 * and bounces its items with the functions here (bench.h).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>

#include <scb.h>

#include "bench.h"

struct scb_arg {
    struct bench_stream_arg s;
    const char *name;
    const char *backend;
    int lossless;
    int one;               /* scb_push / scb_pop instead of the _many calls */
};

int bench_open_ring(scb_t **h, const char *name, const char *backend,
                    uint32_t flags, const char *label, int index)
{
    scb_config_t cfg;
    int rc;

    scb_config_init(&cfg);
    cfg.backend = backend;
    cfg.flags = flags;
    rc = scb_open(h, name, &cfg);
    if (rc != SCB_OK) {
        bench_child_error(label, index, "scb_open %s%s: %s", name,
                          (flags & SCB_WRITER) ? " as writer" : "",
                          scb_strerror(rc));
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* How often (a power of two minus one, in loop turns) a hot loop reads the
 * clock: about every 256 small items, every turn for big ones. */
static unsigned check_mask(size_t size, size_t per_turn)
{
    size_t bytes = size * per_turn;

    if (bytes >= 4096)
        return 0;
    if (per_turn > 1)
        return 7;
    return 255;
}

static int scb_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct scb_arg *a = varg;
    const size_t size = a->s.size;
    const size_t batch = a->one ? 1 : BENCH_BATCH;
    const unsigned mask = check_mask(size, batch);
    unsigned char *buf;
    uint64_t start, limit, now, t0 = 0, pushed = 0, p0;
    size_t off = batch, cnt;
    unsigned turn = 0, stalls = 0;
    scb_t *w = NULL;
    int rc, code;

    if ((buf = malloc(size * batch)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    bench_fill(buf, size, batch);
    code = bench_open_ring(&w, a->name, a->backend, SCB_WRITER, a->s.label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;

    start = bench_now();
    limit = start + a->s.limit_ns;
    for (;;) {
        if (off == batch) {
            size_t j;
            for (j = 0; j < batch; j++)
                bench_put_seq(buf + j * size, pushed + j);
            off = 0;
        }
        if (a->one) {
            rc = scb_push(w, buf);
            cnt = rc == SCB_OK;
        } else {
            rc = scb_push_many(w, buf + off * size, batch - off, &cnt);
        }
        if (rc == SCB_OK) {
            off += cnt;
            pushed += cnt;
        } else if (rc == SCB_EAGAIN) {
            /* Lossless and full: the readers hold the writer back. */
            if (a->s.oversubscribed && (++stalls & 63) == 0)
                sched_yield();
        } else {
            bench_child_error(a->s.label, index, "%s: %s",
                              a->one ? "scb_push" : "scb_push_many",
                              scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        if ((++turn & mask) != 0)
            continue;
        now = bench_now();
        if (bench_window_done(ctl, &t0, start, now, pushed, &a->s))
            break;
        if (now > limit) {
            bench_child_error(a->s.label, index, "deadline passed");
            code = CHILD_TIMEOUT;
            goto out;
        }
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0) {
            code = CHILD_ABORT;
            goto out;
        }
    }
    p0 = atomic_load_explicit(&ctl->p0, memory_order_relaxed);
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = pushed - p0;
    ctl->total = pushed;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
out:
    scb_close(w);
    free(buf);
    return code;
}

static int scb_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct scb_arg *a = varg;
    const size_t size = a->s.size;
    const size_t batch = a->one ? 1 : BENCH_BATCH;
    unsigned char *buf;
    uint64_t limit, now = 0, expected = 0, received = 0, window = 0, gaps = 0;
    uint64_t p0, total, lost, seq;
    unsigned turn = 0, idle = 0;
    int done_seen = 0, rc, code;
    size_t cnt, j;
    scb_t *r = NULL;

    if ((buf = malloc(size * batch)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    code = bench_open_ring(&r, a->name, a->backend, 0, a->s.label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;

    limit = bench_now() + a->s.limit_ns;
    for (;;) {
        if (a->one) {
            rc = scb_pop(r, buf);
            cnt = rc == SCB_OK;
        } else {
            rc = scb_pop_many(r, buf, batch, &cnt);
        }
        if (rc == SCB_OK) {
            /* Ordered after the pop: an item numbered p0 or later was
             * pushed after p0 was published. */
            p0 = atomic_load_explicit(&ctl->p0, memory_order_relaxed);
            for (j = 0; j < cnt; j++) {
                seq = bench_get_seq(buf + j * size);
                if (seq != expected) {
                    if (a->lossless || seq < expected) {
                        bench_child_error(a->s.label, index,
                                          "wrong sequence number: got %" PRIu64
                                          ", expected %" PRIu64 "%s",
                                          seq, expected,
                                          a->lossless ? "" : " or more");
                        code = CHILD_FAIL;
                        goto out;
                    }
                    gaps += seq - expected;
                }
                expected = seq + 1;
                window += seq >= p0;
            }
            received += cnt;
        } else if (rc == SCB_EAGAIN) {
            /* Empty.  Once the writer is done, one more empty pop (after
             * seeing done, so after its last push) means drained. */
            if (done_seen)
                break;
            done_seen = atomic_load_explicit(&ctl->done, memory_order_acquire);
            if (!done_seen && a->s.oversubscribed && (++idle & 63) == 0)
                sched_yield();
        } else {
            bench_child_error(a->s.label, index, "%s: %s",
                              a->one ? "scb_pop" : "scb_pop_many",
                              scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        if ((++turn & 1023) != 0)
            continue;
        now = bench_now();
        if (now > limit) {
            bench_child_error(a->s.label, index,
                              "deadline passed after %" PRIu64 " items", received);
            code = CHILD_TIMEOUT;
            goto out;
        }
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0) {
            code = CHILD_ABORT;
            goto out;
        }
    }
    now = bench_now();
    total = ctl->total;
    lost = scb_lost(r);
    if (expected != total || received + lost != total || gaps != lost ||
        (a->lossless && lost != 0)) {
        bench_child_error(a->s.label, index,
                          "items do not add up: pushed %" PRIu64 ", received %"
                          PRIu64 ", last %" PRIu64 ", gaps %" PRIu64
                          ", scb_lost %" PRIu64,
                          total, received, expected, gaps, lost);
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = window;
    ctl->proc[index].received = received;
    ctl->proc[index].lost = lost;
out:
    scb_close(r);
    free(buf);
    return code;
}

uint32_t bench_create_flags;

void bench_unlink_names(void *varg)
{
    struct bench_names *n = varg;
    scb_config_t cfg;
    int i, rc;

    scb_config_init(&cfg);
    cfg.backend = n->backend;
    for (i = 0; i < 2 && n->name[i] != NULL; i++) {
        rc = scb_unlink(n->name[i], &cfg);
        if (rc != SCB_OK)
            fprintf(stderr, "scb-bench: scb_unlink %s: %s\n", n->name[i],
                    scb_strerror(rc));
        else
            bench_untrack_ring(n->name[i]);
    }
}

/* Creates the ring `name` and gives up its writer role at once: the name
 * exists, and the writer process takes the role over.  *in_force (may be
 * NULL) receives the flags scb_info reports for it. */
int bench_create_ring(const char *name, const char *backend, uint32_t item_size,
                      uint64_t length, uint32_t flags, uint32_t max_readers,
                      uint32_t *in_force, char *why, size_t whylen)
{
    scb_config_t cfg;
    scb_info_t info;
    scb_t *h;
    int rc;

    scb_config_init(&cfg);
    cfg.backend = backend;
    cfg.item_size = item_size;
    cfg.length = length;
    cfg.flags = flags;
    if (max_readers > 0)
        cfg.max_readers = max_readers;
    rc = scb_create(&h, name, &cfg);
    if (rc != SCB_OK) {
        snprintf(why, whylen, "scb_create (%s, %" PRIu32 " B x %" PRIu64 "): %s",
                 backend, item_size, length, scb_strerror(rc));
        return rc == SCB_ENOTSUP ? 1 : -1;
    }
    rc = scb_close(h);
    if (rc != SCB_OK) {
        snprintf(why, whylen, "scb_close: %s", scb_strerror(rc));
        return -1;
    }
    if (in_force == NULL)
        return 0;
    /* Asked of a reader's handle: the creator's reports SCB_ASYM_BARRIERS
     * whenever it was asked for, a reader's only when the ring has it. */
    cfg.flags = 0;
    rc = scb_open(&h, name, &cfg);
    if (rc != SCB_OK) {
        snprintf(why, whylen, "scb_open %s: %s", name, scb_strerror(rc));
        return -1;
    }
    rc = scb_info(h, &info);
    if (rc != SCB_OK)
        snprintf(why, whylen, "scb_info: %s", scb_strerror(rc));
    else
        *in_force = info.flags;
    (void)scb_close(h);
    return rc == SCB_OK ? 0 : -1;
}

void bench_remove_ring(const char *name, const char *backend)
{
    scb_config_t cfg;

    scb_config_init(&cfg);
    cfg.backend = backend;
    (void)scb_unlink(name, &cfg);
    bench_untrack_ring(name);
}

/* As bench_create_ring, under a new name, with the flags of the run added;
 * tracked for removal before it exists (bench.h). */
int bench_make_ring(char *name, size_t namelen, const char *backend,
                    uint32_t item_size, uint64_t length, uint32_t flags,
                    uint32_t max_readers, char *why, size_t whylen)
{
    int rc;

    bench_ring_name(name, namelen);
    bench_track_ring(name, backend);
    rc = bench_create_ring(name, backend, item_size, length,
                           flags | bench_create_flags, max_readers, NULL, why,
                           whylen);
    if (rc != 0)
        bench_remove_ring(name, backend);
    return rc;
}

int bench_scb_tput(const struct bench_tput *tc, const struct bench_opts *o,
                   struct bench_sample *s, char *why, size_t whylen)
{
    struct bench_child kids[BENCH_MAX_PROCS];
    struct bench_ctl *ctl = bench_ctl();
    char name[SCB_NAME_MAX + 1], label[96];
    struct bench_names names = {{NULL, NULL}, tc->backend};
    struct scb_arg a;
    int i, rc, ncpus = bench_cpus(NULL, 0, NULL);
    double secs;

    snprintf(label, sizeof label, "%s %s %s, %zu B, %d reader%s", tc->backend,
             tc->mode == MODE_LOSSLESS ? "lossless" : "overwrite",
             tc->api == API_ONE ? "push/pop" : "many", tc->size, tc->readers,
             tc->readers == 1 ? "" : "s");
    rc = bench_make_ring(name, sizeof name, tc->backend, (uint32_t)tc->size,
                   tc->length, tc->mode == MODE_LOSSLESS ? SCB_LOSSLESS : 0, 0,
                   why, whylen);
    if (rc != 0)
        return rc;
    names.name[0] = name;

    memset(&a, 0, sizeof a);
    a.s.label = label;
    a.s.size = tc->size;
    a.s.warm_ns = (uint64_t)(o->warmup * 1e9);
    a.s.dur_ns = (uint64_t)(o->duration * 1e9);
    a.s.limit_ns = a.s.warm_ns + a.s.dur_ns + 10000000000ull;
    a.s.oversubscribed = tc->readers + 1 > ncpus;
    a.name = name;
    a.backend = tc->backend;
    a.lossless = tc->mode == MODE_LOSSLESS;
    a.one = tc->api == API_ONE;

    memset(kids, 0, sizeof kids);
    kids[0].fn = scb_writer;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    for (i = 1; i <= tc->readers; i++) {
        kids[i].fn = scb_reader;
        kids[i].arg = &a;
        kids[i].cpu = bench_cpu_for(i);
    }
    rc = bench_run(kids, tc->readers + 1, a.s.limit_ns + 5000000000ull,
                   bench_unlink_names, &names, why, whylen);
    bench_remove_ring(name, tc->backend); /* if the run failed before unlinking */
    if (rc != 0)
        return rc;

    memset(s, 0, sizeof *s);
    secs = (double)(ctl->proc[0].t_end - ctl->t0) / 1e9;
    s->writer = secs > 0 ? (double)ctl->proc[0].window / secs : 0;
    for (i = 1; i <= tc->readers; i++) {
        uint64_t offered = ctl->total - atomic_load(&ctl->p0);
        secs = (double)(ctl->proc[i].t_end - ctl->t0) / 1e9;
        s->reader[i - 1] = secs > 0 ? (double)ctl->proc[i].window / secs : 0;
        s->loss[i - 1] = offered > 0
            ? 1.0 - (double)ctl->proc[i].window / (double)offered : 0;
    }
    return 0;
}

/* --- round trips ---------------------------------------------------------- */

/* Receives one item into *seq: spinning, or sleeping in scb_pop_wait. */
int bench_lat_recv(scb_t *r, const struct bench_lat_arg *a, int index,
                   uint64_t limit, uint64_t *seq)
{
    unsigned char item[8];
    unsigned spins = 0;
    int rc;

    for (;;) {
        rc = a->wait ? scb_pop_wait(r, item, 100) : scb_pop(r, item);
        if (rc == SCB_OK) {
            *seq = bench_get_seq(item);
            return CHILD_OK;
        }
        if (rc != SCB_EAGAIN && rc != SCB_ETIMEDOUT) {
            bench_child_error(a->label, index, "%s: %s",
                              a->wait ? "scb_pop_wait" : "scb_pop",
                              scb_strerror(rc));
            return CHILD_FAIL;
        }
        if (a->wait || (++spins & 4095) == 0) {
            if (bench_now() > limit) {
                bench_child_error(a->label, index, "no reply before the deadline");
                return CHILD_TIMEOUT;
            }
            if (atomic_load_explicit(&bench_ctl()->go, memory_order_relaxed) < 0)
                return CHILD_ABORT;
        }
    }
}

int bench_lat_send(scb_t *w, const struct bench_lat_arg *a, int index,
                   uint64_t seq)
{
    unsigned char item[8];
    int rc;

    bench_put_seq(item, seq);
    rc = scb_push(w, item);
    if (rc != SCB_OK) {
        bench_child_error(a->label, index, "scb_push: %s", scb_strerror(rc));
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* One round of the pinger (bench_round_fn). */
struct lat_round {
    const struct bench_lat_arg *a;
    int index;
    scb_t *w, *r;
};

static int lat_round(void *ctx, uint64_t seq, uint64_t limit, uint64_t *got)
{
    struct lat_round *c = ctx;
    int code = bench_lat_send(c->w, c->a, c->index, seq);

    return code == CHILD_OK ? bench_lat_recv(c->r, c->a, c->index, limit, got)
                            : code;
}

/* index 0, the pinger: sends i, waits for i back, times the round. */
static int lat_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct bench_lat_arg *a = varg;
    scb_t *w = NULL, *r = NULL;
    int code;

    code = bench_open_ring(&r, a->name[1], a->backend, 0, a->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(&w, a->name[0], a->backend, SCB_WRITER, a->label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    struct lat_round ctx = {a, index, w, r};

    code = bench_ping_rounds(ctl, index, code, a->label, a->warm, a->rounds,
                             a->limit_ns, lat_round, &ctx);
    scb_close(w);
    scb_close(r);
    return code;
}

/* index 1, the ponger: sends back every item it receives. */
static int lat_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct bench_lat_arg *a = varg;
    scb_t *w = NULL, *r = NULL;
    uint64_t i, got, limit;
    int code;

    code = bench_open_ring(&r, a->name[0], a->backend, 0, a->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(&w, a->name[1], a->backend, SCB_WRITER, a->label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        code = bench_lat_recv(r, a, index, limit, &got);
        if (code != CHILD_OK)
            break;
        if (got != i) {
            bench_child_error(a->label, index, "got %" PRIu64 ", expected %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
            break;
        }
        code = bench_lat_send(w, a, index, got);
    }
    scb_close(w);
    scb_close(r);
    return code;
}

/* Copies the pinger's samples out and sorts them. */
static int take_samples(const struct bench_opts *o, uint64_t *samples,
                        char *why, size_t whylen)
{
    struct bench_ctl *ctl = bench_ctl();

    if (ctl->nsamples != o->rounds) {
        snprintf(why, whylen, "the pinger recorded %" PRIu64 " of %" PRIu64
                 " rounds", ctl->nsamples, o->rounds);
        return -1;
    }
    memcpy(samples, ctl->samples, o->rounds * sizeof *samples);
    bench_sort_u64(samples, o->rounds);
    return 0;
}

int bench_scb_latency(enum bench_lat kind, const char *backend,
                      const struct bench_opts *o, uint64_t *samples,
                      char *why, size_t whylen)
{
    char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], label[64];
    struct bench_names names = {{n0, n1}, backend};
    struct bench_child kids[2];
    struct bench_lat_arg a;
    int rc;

    snprintf(label, sizeof label, "%s round trip (%s)", backend,
             kind == LAT_WAIT    ? "scb_pop_wait"
             : kind == LAT_SLEEP ? "scb_pop_wait, no spin"
                                 : "busy-poll scb_pop");
    rc = bench_make_ring(n0, sizeof n0, backend, 8, 64, 0, 0, why, whylen);
    if (rc != 0)
        return rc;
    rc = bench_make_ring(n1, sizeof n1, backend, 8, 64, 0, 0, why, whylen);
    if (rc != 0) {
        bench_remove_ring(n0, backend);
        return rc;
    }
    memset(&a, 0, sizeof a);
    a.label = label;
    a.name[0] = n0;
    a.name[1] = n1;
    a.backend = backend;
    a.wait = kind == LAT_WAIT || kind == LAT_SLEEP;
    /* The children inherit it: with no spin, every scb_pop_wait that finds
     * nothing sleeps in the futex, as a blocking read of a pipe does. */
    if (kind == LAT_SLEEP)
        setenv("SCB_SPIN_US", "0", 1);
    a.rounds = o->rounds;
    a.warm = o->rounds / 10 + 10;
    a.limit_ns = 30000000000ull + (a.rounds + a.warm) * 1000000ull; /* 1 ms a round */
    memset(kids, 0, sizeof kids);
    kids[0].fn = lat_ping;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].fn = lat_pong;
    kids[1].arg = &a;
    kids[1].cpu = bench_cpu_for(1);
    rc = bench_run(kids, 2, a.limit_ns + 5000000000ull, bench_unlink_names, &names,
                   why, whylen);
    if (kind == LAT_SLEEP)
        unsetenv("SCB_SPIN_US");
    bench_remove_ring(n0, backend);
    bench_remove_ring(n1, backend);
    if (rc != 0)
        return rc;
    return take_samples(o, samples, why, whylen);
}

int bench_take_samples(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen)
{
    return take_samples(o, samples, why, whylen);
}
