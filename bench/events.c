/*
 * events.c - the scb_fd cases of scb-bench: a ring read from an event loop,
 * through the public API only.  Nothing here may wait without a deadline.
 *
 * Round trip (LAT_FD): a pinger and a ponger bounce an 8-byte item through
 * two overwrite rings, one each way, as an event loop would: each pops until
 * SCB_EAGAIN (which arms its reader's scb_fd), then sleeps in poll() on that
 * descriptor; the other side's push rings it.  It is compared with
 * LAT_PIPE_POLL, the same ping-pong through two pipes: write 8 bytes, poll
 * the other pipe, read 8 bytes.
 *
 * Push rate (EV_PLAIN, EV_FD): what a handle that called scb_fd but is not
 * armed costs the writer.  The writer pushes 8-byte items with scb_push in
 * a tight loop into an overwrite ring; one reader sleeps through the
 * warm-up, then pops a batch every EV_NAP_US, which never empties a ring
 * that the writer laps every few milliseconds: it never gets SCB_EAGAIN,
 * so its handle is never armed (an empty pop is counted and shown).  EV_FD's reader called scb_fd first,
 * EV_PLAIN's did not; the writer's rate of EV_FD over EV_PLAIN's is the
 * cost.  Every item popped is checked as cases.c checks overwrite readers.
 *
 * scb_fd may not be offered (SCB_ENOTSUP): the parent asks once per
 * backend, and the libscb cases are then skipped, saying so.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <math.h> /* isnan, NAN: macros, no libm */
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <scb.h>

#include "bench.h"

#define EV_NAP_US 100       /* the push-rate reader: sleep between batches */
#define EV_POLL_MS 100      /* poll at most this long between deadline checks */

/* --- is scb_fd offered ---------------------------------------------------- */

struct ev_support {
    const char *backend;
    int state;              /* 0 offered, 1 not (skip), -1 the probe failed */
    char why[200];
};

static struct ev_support ev_known[8];

/* scb_fd on a reader of a small ring, in this process; nothing lasts. */
static int ev_probe(const char *backend, char *why, size_t whylen)
{
    char name[SCB_NAME_MAX + 1];
    scb_config_t cfg;
    scb_t *r = NULL;
    scb_fd_t fd;
    int rc;

    rc = bench_make_ring(name, sizeof name, backend, 8, 64, 0, 0, why, whylen);
    if (rc != 0)
        return rc;
    scb_config_init(&cfg);
    cfg.backend = backend;
    rc = scb_open(&r, name, &cfg);
    if (rc == SCB_OK) {
        rc = scb_fd(r, &fd);
        if (rc != SCB_OK)
            snprintf(why, whylen, "scb_fd: %s", scb_strerror(rc));
    } else {
        snprintf(why, whylen, "scb_open %s: %s", name, scb_strerror(rc));
        rc = -1;
    }
    scb_close(r);
    bench_remove_ring(name, backend);
    return rc == SCB_OK ? 0 : rc == SCB_ENOTSUP ? 1 : -1;
}

static int ev_supported(const char *backend, char *why, size_t whylen)
{
    int i;

    for (i = 0; i < 8 && ev_known[i].backend != NULL; i++)
        if (strcmp(ev_known[i].backend, backend) == 0)
            break;
    if (i == 8)
        return ev_probe(backend, why, whylen);
    if (ev_known[i].backend == NULL) {
        ev_known[i].state = ev_probe(backend, ev_known[i].why, sizeof ev_known[i].why);
        ev_known[i].backend = backend;
    }
    snprintf(why, whylen, "%s", ev_known[i].why);
    return ev_known[i].state;
}

/* --- round trips ---------------------------------------------------------- */

struct ev_lat_arg {
    const char *label;
    const char *name[2];   /* rings: [0] ping -> pong, [1] pong -> ping */
    const char *backend;
    int ping[2], pong[2];  /* pipes, the same two ways */
    uint64_t warm, rounds;
    uint64_t limit_ns;
};

/* Sleeps in poll until fd is readable (or hung up), waking every
 * EV_POLL_MS to look at the deadline and the abort flag. */
static int ev_poll(int fd, const char *label, int index, uint64_t limit)
{
    struct pollfd p;
    int k;

    for (;;) {
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        k = poll(&p, 1, EV_POLL_MS);
        if (k > 0) {
            if (p.revents & (POLLERR | POLLNVAL)) {
                bench_child_error(label, index, "poll: revents 0x%x", p.revents);
                return CHILD_FAIL;
            }
            return CHILD_OK;
        }
        if (k < 0 && errno != EINTR) {
            bench_child_error(label, index, "poll: %s", strerror(errno));
            return CHILD_FAIL;
        }
        if (bench_now() > limit) {
            bench_child_error(label, index, "no reply before the deadline");
            return CHILD_TIMEOUT;
        }
        if (atomic_load_explicit(&bench_ctl()->go, memory_order_relaxed) < 0)
            return CHILD_ABORT;
    }
}

/* Receives one item as an event loop does: scb_pop until it gets one; each
 * SCB_EAGAIN armed fd, so sleep in poll on it before the next try. */
static int ev_recv(scb_t *r, int fd, const struct ev_lat_arg *a, int index,
                   uint64_t limit, uint64_t *seq)
{
    unsigned char item[8];
    int rc, code;

    for (;;) {
        rc = scb_pop(r, item);
        if (rc == SCB_OK) {
            *seq = bench_get_seq(item);
            return CHILD_OK;
        }
        if (rc != SCB_EAGAIN) {
            bench_child_error(a->label, index, "scb_pop: %s", scb_strerror(rc));
            return CHILD_FAIL;
        }
        code = ev_poll(fd, a->label, index, limit);
        if (code != CHILD_OK)
            return code;
    }
}

static int ev_send(scb_t *w, const struct ev_lat_arg *a, int index, uint64_t seq)
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

/* Opens the rings of side `index` (0 pings, 1 pongs) and the reader's
 * scb_fd. */
static int ev_open_side(const struct ev_lat_arg *a, int index, scb_t **r, scb_t **w,
                        int *fd)
{
    scb_fd_t f;
    int code, rc;

    code = bench_open_ring(r, a->name[1 - index], a->backend, 0, a->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(w, a->name[index], a->backend, SCB_WRITER, a->label,
                               index);
    if (code != CHILD_OK)
        return code;
    rc = scb_fd(*r, &f);
    if (rc != SCB_OK) {
        bench_child_error(a->label, index, "scb_fd: %s", scb_strerror(rc));
        return CHILD_FAIL;
    }
    *fd = f;
    return CHILD_OK;
}

/* One round of the scb_fd pinger (bench_round_fn). */
struct fd_round {
    const struct ev_lat_arg *a;
    int index;
    scb_t *w, *r;
    int fd;
};

static int fd_round(void *ctx, uint64_t seq, uint64_t limit, uint64_t *got)
{
    struct fd_round *c = ctx;
    int code = ev_send(c->w, c->a, c->index, seq);

    return code == CHILD_OK ? ev_recv(c->r, c->fd, c->a, c->index, limit, got)
                            : code;
}

/* index 0, the pinger: sends i, waits for i back in poll, times the round. */
static int fd_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_lat_arg *a = varg;
    scb_t *w = NULL, *r = NULL;
    int code, fd = -1;

    code = ev_open_side(a, index, &r, &w, &fd);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    struct fd_round ctx = {a, index, w, r, fd};

    code = bench_ping_rounds(ctl, index, code, a->label, a->warm, a->rounds,
                             a->limit_ns, fd_round, &ctx);
    scb_close(w);
    scb_close(r);
    return code;
}

/* index 1, the ponger: sends back every item it receives. */
static int fd_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_lat_arg *a = varg;
    scb_t *w = NULL, *r = NULL;
    uint64_t i, got, limit;
    int code, fd = -1;

    code = ev_open_side(a, index, &r, &w, &fd);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        code = ev_recv(r, fd, a, index, limit, &got);
        if (code != CHILD_OK)
            break;
        if (got != i) {
            bench_child_error(a->label, index, "got %" PRIu64 ", expected %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
            break;
        }
        code = ev_send(w, a, index, got);
    }
    scb_close(w);
    scb_close(r);
    return code;
}

/* One 8-byte item through a pipe: poll for it, then read it. */
static int pipe_recv(int fd, const struct ev_lat_arg *a, int index, uint64_t limit,
                     uint64_t *seq)
{
    unsigned char item[8];
    ssize_t k;
    int code = ev_poll(fd, a->label, index, limit);

    if (code != CHILD_OK)
        return code;
    do
        k = read(fd, item, sizeof item);
    while (k < 0 && errno == EINTR);
    if (k != (ssize_t)sizeof item) {
        bench_child_error(a->label, index, "read: %s",
                          k < 0 ? strerror(errno) : "short read or end of file");
        return CHILD_FAIL;
    }
    *seq = bench_get_seq(item);
    return CHILD_OK;
}

static int pipe_send(int fd, const struct ev_lat_arg *a, int index, uint64_t seq)
{
    unsigned char item[8];

    bench_put_seq(item, seq);
    if (bench_write_all(fd, item, sizeof item) != 0) {
        bench_child_error(a->label, index, "write: %s", strerror(errno));
        return CHILD_FAIL;
    }
    return CHILD_OK;
}

/* One round of the pipe pinger (bench_round_fn). */
struct pp_round {
    const struct ev_lat_arg *a;
    int index;
};

static int pp_round(void *ctx, uint64_t seq, uint64_t limit, uint64_t *got)
{
    struct pp_round *c = ctx;
    int code = pipe_send(c->a->ping[1], c->a, c->index, seq);

    return code == CHILD_OK
               ? pipe_recv(c->a->pong[0], c->a, c->index, limit, got)
               : code;
}

static int pp_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_lat_arg *a = varg;
    int code;

    close(a->ping[0]);
    close(a->pong[1]);
    code = bench_child_ready(ctl, index);
    struct pp_round ctx = {a, index};

    code = bench_ping_rounds(ctl, index, code, a->label, a->warm, a->rounds,
                             a->limit_ns, pp_round, &ctx);
    close(a->ping[1]);
    close(a->pong[0]);
    return code;
}

static int pp_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_lat_arg *a = varg;
    uint64_t i, got, limit;
    int code;

    close(a->ping[1]);
    close(a->pong[0]);
    code = bench_child_ready(ctl, index);
    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        code = pipe_recv(a->ping[0], a, index, limit, &got);
        if (code == CHILD_OK && got != i) {
            bench_child_error(a->label, index, "got %" PRIu64 ", expected %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
        }
        if (code == CHILD_OK)
            code = pipe_send(a->pong[1], a, index, got);
    }
    close(a->ping[0]);
    close(a->pong[1]);
    return code;
}

/* A before_go, and the end of every pipe run: the parent's ends go. */
static void ev_close_pipes(void *varg)
{
    struct ev_lat_arg *a = varg;
    int i;

    for (i = 0; i < 2; i++) {
        if (a->ping[i] >= 0)
            close(a->ping[i]);
        if (a->pong[i] >= 0)
            close(a->pong[i]);
        a->ping[i] = a->pong[i] = -1;
    }
}

int bench_ev_latency(enum bench_lat kind, const char *backend,
                     const struct bench_opts *o, uint64_t *samples,
                     char *why, size_t whylen)
{
    char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], label[64];
    struct bench_names names = {{n0, n1}, backend};
    struct bench_child kids[2];
    struct ev_lat_arg a;
    int rc, pipes = kind == LAT_PIPE_POLL;

    memset(&a, 0, sizeof a);
    a.ping[0] = a.ping[1] = a.pong[0] = a.pong[1] = -1;
    a.rounds = o->rounds;
    a.warm = o->rounds / 10 + 10;
    a.limit_ns = 30000000000ull + (a.rounds + a.warm) * 1000000ull; /* 1 ms a round */
    memset(kids, 0, sizeof kids);
    kids[0].arg = kids[1].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].cpu = bench_cpu_for(1);
    if (pipes) {
        a.label = "pipe round trip (poll)";
        if (pipe(a.ping) != 0 || pipe(a.pong) != 0) {
            snprintf(why, whylen, "pipe: %s", strerror(errno));
            ev_close_pipes(&a);
            return -1;
        }
        kids[0].fn = pp_ping;
        kids[1].fn = pp_pong;
        rc = bench_run(kids, 2, a.limit_ns + 5000000000ull, ev_close_pipes, &a,
                       why, whylen);
        ev_close_pipes(&a);
    } else {
        rc = ev_supported(backend, why, whylen);
        if (rc != 0)
            return rc;
        snprintf(label, sizeof label, "%s round trip (scb_fd, poll)", backend);
        a.label = label;
        rc = bench_make_ring(n0, sizeof n0, backend, 8, 64, 0, 0, why, whylen);
        if (rc != 0)
            return rc;
        rc = bench_make_ring(n1, sizeof n1, backend, 8, 64, 0, 0, why, whylen);
        if (rc != 0) {
            bench_remove_ring(n0, backend);
            return rc;
        }
        a.name[0] = n0;
        a.name[1] = n1;
        a.backend = backend;
        kids[0].fn = fd_ping;
        kids[1].fn = fd_pong;
        rc = bench_run(kids, 2, a.limit_ns + 5000000000ull, bench_unlink_names,
                       &names, why, whylen);
        bench_remove_ring(n0, backend);
        bench_remove_ring(n1, backend);
    }
    if (rc != 0)
        return rc;
    return bench_take_samples(o, samples, why, whylen);
}

/* --- the push rate beside a reader that is never armed --------------------- */

struct ev_arg {
    struct bench_stream_arg s;
    const char *name;
    const char *backend;
    int fd;                /* the reader calls scb_fd */
};

/* index 0: scb_push of one item at a time, warm-up then the window. */
static int ev_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_arg *a = varg;
    unsigned char item[BENCH_EV_SIZE];
    uint64_t start, limit, now = 0, t0 = 0, pushed = 0;
    unsigned turn = 0;
    scb_t *w = NULL;
    int rc, code;

    memset(item, 0x5a, sizeof item);
    code = bench_open_ring(&w, a->name, a->backend, SCB_WRITER, a->s.label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    start = bench_now();
    limit = start + a->s.limit_ns;
    for (;;) {
        bench_put_seq(item, pushed);
        rc = scb_push(w, item);
        if (rc != SCB_OK) {
            bench_child_error(a->s.label, index, "scb_push: %s", scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        pushed++;
        if ((++turn & 255) != 0)
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
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = pushed - atomic_load_explicit(&ctl->p0, memory_order_relaxed);
    ctl->total = pushed;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
out:
    scb_close(w);
    return code;
}

/* What the reader has seen. */
struct ev_count {
    uint64_t expected, received, window, gaps;
};

/* Checks cnt items just popped, as an overwrite reader of cases.c does:
 * each number higher than the last, the gaps counted. */
static int ev_take(const struct ev_arg *a, int index, struct ev_count *c,
                   const unsigned char *buf, size_t cnt, uint64_t p0)
{
    uint64_t seq;
    size_t j;

    for (j = 0; j < cnt; j++) {
        seq = bench_get_seq(buf + j * BENCH_EV_SIZE);
        if (seq < c->expected) {
            bench_child_error(a->s.label, index, "wrong sequence number: got %" PRIu64
                              ", expected %" PRIu64 " or more", seq, c->expected);
            return CHILD_FAIL;
        }
        c->gaps += seq - c->expected;
        c->expected = seq + 1;
        c->window += seq >= p0;
    }
    c->received += cnt;
    return CHILD_OK;
}

/* index 1: asleep through the warm-up, then a batch every EV_NAP_US until
 * the writer is done; then it drains the ring and checks that the items
 * add up. */
static int ev_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct ev_arg *a = varg;
    unsigned char buf[BENCH_BATCH * BENCH_EV_SIZE];
    struct ev_count c = {0, 0, 0, 0};
    uint64_t limit, now, p0, total, lost, empty = 0;
    scb_fd_t fd;
    size_t cnt;
    int rc, code, draining = 0;
    unsigned turn = 0;
    scb_t *r = NULL;

    code = bench_open_ring(&r, a->name, a->backend, 0, a->s.label, index);
    if (code == CHILD_OK && a->fd && (rc = scb_fd(r, &fd)) != SCB_OK) {
        bench_child_error(a->s.label, index, "scb_fd: %s", scb_strerror(rc));
        code = CHILD_FAIL;
    }
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;

    limit = bench_now() + a->s.limit_ns;
    for (;;) {
        if (!draining) {
            bench_sleep_us(EV_NAP_US);
            /* Once done is seen, a pop that finds nothing means drained. */
            draining = atomic_load_explicit(&ctl->done, memory_order_acquire);
            if (!draining &&
                atomic_load_explicit(&ctl->p0, memory_order_acquire) == BENCH_NO_P0)
                goto check_time; /* still the warm-up */
        }
        rc = scb_pop_many(r, buf, BENCH_BATCH, &cnt);
        if (rc == SCB_OK) {
            /* Ordered after the pop: an item numbered p0 or later was
             * pushed after p0 was published.  What it drains after the
             * window is not counted in it. */
            p0 = draining ? UINT64_MAX
                          : atomic_load_explicit(&ctl->p0, memory_order_relaxed);
            code = ev_take(a, index, &c, buf, cnt, p0);
            if (code != CHILD_OK)
                goto out;
        } else if (rc == SCB_EAGAIN) {
            if (draining)
                break;
            empty++;
        } else {
            bench_child_error(a->s.label, index, "scb_pop_many: %s", scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
check_time:
        if (draining && (++turn & 63) != 0)
            continue;
        now = bench_now();
        if (now > limit) {
            bench_child_error(a->s.label, index, "deadline passed after %" PRIu64
                              " items", c.received);
            code = CHILD_TIMEOUT;
            goto out;
        }
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0) {
            code = CHILD_ABORT;
            goto out;
        }
    }
    total = ctl->total;
    lost = scb_lost(r);
    if (c.expected != total || c.received + lost != total || c.gaps != lost) {
        bench_child_error(a->s.label, index, "items do not add up: pushed %" PRIu64
                          ", received %" PRIu64 ", last %" PRIu64 ", gaps %" PRIu64
                          ", scb_lost %" PRIu64,
                          total, c.received, c.expected, c.gaps, lost);
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].t_end = ctl->proc[0].t_end; /* the window the writer had */
    ctl->proc[index].window = c.window;
    ctl->proc[index].received = c.received;
    ctl->proc[index].lost = lost;
    ctl->proc[index].empty = empty;
out:
    scb_close(r);
    return code;
}

int bench_ev_tput(const struct bench_tput *tc, const struct bench_opts *o,
                  struct bench_sample *s, char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct bench_ctl *ctl = bench_ctl();
    char name[SCB_NAME_MAX + 1], label[96];
    struct bench_names names = {{NULL, NULL}, tc->backend};
    struct ev_arg a;
    uint64_t offered;
    double secs;
    int rc;

    rc = ev_supported(tc->backend, why, whylen);
    if (rc != 0)
        return rc;
    snprintf(label, sizeof label, "%s overwrite scb_push, reader %s scb_fd",
             tc->backend, tc->ev == EV_FD ? "with" : "without");
    rc = bench_make_ring(name, sizeof name, tc->backend, BENCH_EV_SIZE, tc->length, 0,
                         0, why, whylen);
    if (rc != 0)
        return rc;
    names.name[0] = name;
    memset(&a, 0, sizeof a);
    a.s.label = label;
    a.s.size = BENCH_EV_SIZE;
    a.s.warm_ns = (uint64_t)(o->warmup * 1e9);
    a.s.dur_ns = (uint64_t)(o->duration * 1e9);
    a.s.limit_ns = a.s.warm_ns + a.s.dur_ns + 10000000000ull;
    a.name = name;
    a.backend = tc->backend;
    a.fd = tc->ev == EV_FD;
    memset(kids, 0, sizeof kids);
    kids[0].fn = ev_writer;
    kids[1].fn = ev_reader;
    kids[0].arg = kids[1].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].cpu = bench_cpu_for(1);
    rc = bench_run(kids, 2, a.s.limit_ns + 5000000000ull, bench_unlink_names, &names,
                   why, whylen);
    bench_remove_ring(name, tc->backend); /* if the run failed before unlinking */
    if (rc != 0)
        return rc;

    memset(s, 0, sizeof *s);
    secs = (double)(ctl->proc[0].t_end - ctl->t0) / 1e9;
    s->writer = secs > 0 ? (double)ctl->proc[0].window / secs : 0;
    s->reader[0] = secs > 0 ? (double)ctl->proc[1].window / secs : 0;
    offered = ctl->total - atomic_load(&ctl->p0);
    s->loss[0] = offered > 0 ? 1.0 - (double)ctl->proc[1].window / (double)offered : 0;
    s->empty = (double)ctl->proc[1].empty;
    return 0;
}

/* --- the report ------------------------------------------------------------ */

int bench_ev_case_name(char *buf, size_t len, const struct bench_result *r)
{
    if (r->is_latency && r->lat == LAT_PIPE_POLL)
        snprintf(buf, len, "pipe ping-pong, poll then read");
    else if (r->is_latency && r->lat == LAT_FD)
        snprintf(buf, len, "libscb %s poll on scb_fd", r->backend);
    else if (!r->is_latency && r->tc.ev != EV_NONE)
        snprintf(buf, len, "libscb %s, reader %s", r->tc.backend,
                 r->tc.ev == EV_FD ? "with scb_fd, not armed" : "without scb_fd");
    else
        return 0;
    return 1;
}

static const struct bench_result *ev_find(const struct bench_result *res, int n,
                                          enum bench_ev ev, const char *backend)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (!r->is_latency && r->status == ST_OK && r->nreps > 0 && r->tc.ev == ev &&
            strcmp(r->tc.backend, backend) == 0)
            return r;
    }
    return NULL;
}

const struct bench_result *bench_ev_baseline(const struct bench_result *res, int n,
                                             const struct bench_result *r)
{
    if (r->is_latency || r->tc.ev != EV_FD)
        return NULL;
    return ev_find(res, n, EV_PLAIN, r->tc.backend);
}

static int ev_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/*
 * The writer's rate of push-rate case r over that of its case without
 * scb_fd, run by run (the two run one after the other in each repetition),
 * and the median of those ratios; NAN if there is none.  Paired so that a
 * drift of the machine between repetitions (another process, the host
 * moving the virtual CPUs) cancels out.
 */
static double ev_ratio(const struct bench_result *res, int n,
                       const struct bench_result *r)
{
    const struct bench_result *p = bench_ev_baseline(res, n, r);
    double v[256];
    int j, m, k = 0;

    if (p == NULL || r->status != ST_OK)
        return NAN;
    m = r->nreps < p->nreps ? r->nreps : p->nreps;
    for (j = 0; j < m && j < 256; j++)
        if (p->rep[j].writer > 0)
            v[k++] = r->rep[j].writer / p->rep[j].writer;
    if (k == 0)
        return NAN;
    qsort(v, (size_t)k, sizeof v[0], ev_cmp_double);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* "410 ns", "21.3 us", "2.08 ms": three significant digits. */
static void ev_fmt_time(char *buf, size_t len, double ns)
{
    double unit = ns < 1e6 ? 1e3 : 1e6, x = ns / unit;

    if (isnan(ns))
        snprintf(buf, len, "-");
    else if (ns < 1000)
        snprintf(buf, len, "%.0f ns", ns);
    else
        snprintf(buf, len, "%.*f %s", x < 10 ? 2 : x < 100 ? 1 : 0, x,
                 unit == 1e3 ? "us" : "ms");
}

int bench_ev_targets(const struct bench_result *res, int n, const char *be,
                     struct bench_target *t)
{
    const struct bench_result *r, *p;
    char a[32], b[32], c[32], d[32];
    int k = 0;

    snprintf(t[k].what, sizeof t[k].what,
             "scb_fd round trip, 8 B: p50 <= the pipe's p50, in poll");
    r = bench_find_lat(res, n, LAT_FD, be);
    p = bench_find_lat(res, n, LAT_PIPE_POLL, NULL);
    t[k].met = -1;
    snprintf(t[k].measured, sizeof t[k].measured, "not measured");
    if (r != NULL && p != NULL) {
        double r50 = bench_series(r, SER_P50, 0).med, p50 = bench_series(p, SER_P50, 0).med;
        ev_fmt_time(a, sizeof a, r50);
        ev_fmt_time(b, sizeof b, bench_series(r, SER_P99, 0).med);
        ev_fmt_time(c, sizeof c, p50);
        ev_fmt_time(d, sizeof d, bench_series(p, SER_P99, 0).med);
        snprintf(t[k].measured, sizeof t[k].measured, "p50 %s, pipe %s (p99 %s, %s)",
                 a, c, b, d);
        t[k].met = r50 <= p50;
    }
    k++;

    snprintf(t[k].what, sizeof t[k].what,
             "overwrite push 8 B, unarmed scb_fd reader: >= 0.95x plain");
    r = ev_find(res, n, EV_FD, be);
    p = ev_find(res, n, EV_PLAIN, be);
    t[k].met = -1;
    snprintf(t[k].measured, sizeof t[k].measured, "not measured");
    if (r != NULL && p != NULL) {
        double x = ev_ratio(res, n, r);
        bench_fmt_ratio(a, sizeof a, x);
        bench_fmt_rate(b, sizeof b, bench_series(r, SER_WRITER, 0).med);
        bench_fmt_rate(c, sizeof c, bench_series(p, SER_WRITER, 0).med);
        snprintf(t[k].measured, sizeof t[k].measured, "%s per run (%s vs %s items/s)",
                 a, b, c);
        t[k].met = isnan(x) ? -1 : x >= 0.95;
    }
    k++;

    /* Judged against a build from before scb_fd, which this run cannot
     * measure: the figures to compare are shown, not judged. */
    snprintf(t[k].what, sizeof t[k].what,
             "no scb_fd called: push rate unchanged (vs an older build)");
    t[k].met = -1;
    t[k].measured[0] = '\0';
    if (p != NULL) {
        bench_fmt_rate(a, sizeof a, bench_series(p, SER_WRITER, 0).med);
        snprintf(t[k].measured, sizeof t[k].measured, "scb_push %sitems/s", a);
    }
    r = bench_find_tput(res, n, TR_SCB, MODE_OVERWRITE, API_MANY, be, BENCH_EV_SIZE, 0);
    if (r != NULL) {
        bench_fmt_rate(a, sizeof a, bench_series(r, SER_WRITER, 0).med);
        snprintf(t[k].measured + strlen(t[k].measured),
                 sizeof t[k].measured - strlen(t[k].measured),
                 "%smany/32 alone %sitems/s", p != NULL ? ", " : "", a);
    }
    if (p == NULL && r == NULL)
        snprintf(t[k].measured, sizeof t[k].measured, "not measured");
    k++;
    return k;
}

/* Three significant digits, as the rest of the table. */
static void ev_fmt_num(char *buf, size_t len, double x)
{
    snprintf(buf, len, x < 10 ? "%.2f" : x < 100 ? "%.1f" : "%.0f", x);
}

/* "210 M [205-215]", in the median's unit. */
static void ev_fmt_spread(char *buf, size_t len, struct bench_stat s)
{
    double sc = s.med >= 1e9 ? 1e9 : s.med >= 1e6 ? 1e6 : s.med >= 1e3 ? 1e3 : 1;
    const char *unit = sc == 1e9 ? "G" : sc == 1e6 ? "M" : sc == 1e3 ? "k" : "";
    char a[32], b[32], c[32];

    ev_fmt_num(a, sizeof a, s.med / sc);
    if (s.n > 1) {
        ev_fmt_num(b, sizeof b, s.min / sc);
        ev_fmt_num(c, sizeof c, s.max / sc);
        snprintf(buf, len, "%s %s [%s-%s]", a, unit, b, c);
    } else {
        snprintf(buf, len, "%s %s", a, unit);
    }
}

void bench_report_events(FILE *out, const struct bench_result *res, int n)
{
    char name[96], rate[128], ratio[32];
    int i, j, any = 0;
    double empty;

    for (i = 0; i < n; i++)
        any |= !res[i].is_latency && res[i].tc.ev != EV_NONE;
    if (!any)
        return;
    fprintf(out, "\nA handle that called scb_fd but is not armed: the writer's "
            "scb_push rate, %d B items,\noverwrite, with one reader that pops %d "
            "items every %d us and never empties the ring\n(so never gets "
            "SCB_EAGAIN); vs = over the same without scb_fd run just before, the\n"
            "median of the ratios of the runs.\n",
            BENCH_EV_SIZE, BENCH_BATCH, EV_NAP_US);
    fprintf(out, "\n  %-48s %-24s %s\n", "case", "writer items/s", "vs");
    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (r->is_latency || r->tc.ev == EV_NONE)
            continue;
        bench_ev_case_name(name, sizeof name, r);
        if (r->status != ST_OK || r->nreps == 0) {
            fprintf(out, "  %-48s %s: %s\n", name,
                    r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
            continue;
        }
        for (empty = 0, j = 0; j < r->nreps; j++)
            empty += r->rep[j].empty;
        bench_fmt_ratio(ratio, sizeof ratio, ev_ratio(res, n, r));
        if (bench_ev_baseline(res, n, r) == NULL)
            ratio[0] = '\0';
        ev_fmt_spread(rate, sizeof rate, bench_series(r, SER_WRITER, 0));
        fprintf(out, "  %-48s %-24s %s", name, rate, ratio);
        if (empty > 0)
            fprintf(out, "  (the reader found the ring empty %.0f times)", empty);
        fputc('\n', out);
    }
}
