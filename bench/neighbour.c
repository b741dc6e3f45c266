/*
 * neighbour.c - scb-bench --neighbour: what a sleeping ping-pong through
 * libscb rings costs a CPU-bound process on another CPU, with full fences
 * and with asymmetric barriers, through the public API only.  The rings are
 * made and the items bounced as the round trips of cases.c do.
 *
 * Process 0, the neighbour, alone on one CPU, does integer work and counts
 * it.  Processes 1 and 2, the pinger and the ponger, share another CPU and
 * bounce an 8-byte item through two rings with SCB_SPIN_US=0, so that each
 * sleeps in scb_pop_wait every round.  On rings made with SCB_ASYM_BARRIERS
 * every such sleep issues membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which
 * interrupts the neighbour's CPU when the neighbour is registered for it:
 * the neighbour's rate tells what that costs a bystander.
 *
 * Registration for membarrier belongs to the address space and is inherited
 * across fork.  Were the parent registered, every neighbour would be, so the
 * parent never creates or opens a ring with asymmetric barriers: a child
 * creates the rings (nb_creator), and the neighbour checks its registration
 * where the kernel can tell (MEMBARRIER_CMD_GET_REGISTRATIONS, Linux 6.3).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_membarrier
#include <linux/membarrier.h>
#endif
#endif

#include <scb.h>

#include "bench.h"

#if defined(__linux__) && defined(SYS_membarrier)
#define NB_HAVE_MEMBARRIER 1
#define NB_CMD_GET_REGISTRATIONS (1 << 9) /* Linux 6.3; older headers lack it */
#endif

#define NB_BLOCK 65536          /* loop turns between clock reads */
#define NB_STOP UINT64_MAX      /* the pinger's last item: the ponger stops */

struct nb_arg {
    struct bench_lat_arg lat; /* the rings, the label, the deadline */
    uint32_t flags;         /* nb_creator: create flags of the rings */
    int registered;         /* the neighbour registers for membarrier */
    uint64_t warm_ns, dur_ns;
};

/* What a neighbour does, NB_BLOCK turns of a dependent chain of shifts and
 * exclusive ors: no memory traffic, nothing a compiler can fold away. */
static uint64_t nb_block(uint64_t x)
{
    int i;

    for (i = 0; i < NB_BLOCK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static volatile uint64_t nb_sink;

/* Registers the neighbour for membarrier if asked, and checks that it is
 * registered exactly then. */
static int nb_registration(const struct nb_arg *a, int index)
{
#ifdef NB_HAVE_MEMBARRIER
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0), regs;

    if (a->registered &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0) {
        bench_child_error(a->lat.label, index, "membarrier register: %s",
                          strerror(errno));
        return CHILD_FAIL;
    }
    if (cmds < 0 || !(cmds & NB_CMD_GET_REGISTRATIONS))
        return CHILD_OK; /* the kernel cannot tell */
    regs = syscall(SYS_membarrier, NB_CMD_GET_REGISTRATIONS, 0, 0);
    if (regs >= 0 &&
        ((regs & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0) != a->registered) {
        bench_child_error(a->lat.label, index, "%s",
                          a->registered ? "not registered for membarrier after "
                                          "registering"
                                        : "registered for membarrier without "
                                          "registering (inherited from the parent?)");
        return CHILD_FAIL;
    }
    return CHILD_OK;
#else
    if (a->registered) {
        bench_child_error(a->lat.label, index, "no membarrier on this system");
        return CHILD_FAIL;
    }
    return CHILD_OK;
#endif
}

/* index 0: the warm-up, then the window; publishes t0 and p0 (0, only a mark
 * that the window opened) at its start, done at its end. */
static int nb_neighbour(struct bench_ctl *ctl, int index, void *varg)
{
    const struct nb_arg *a = varg;
    uint64_t x = 0x9e3779b97f4a7c15ull, start, now, t0, turns = 0;
    int code;

    code = nb_registration(a, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        return code;
    start = now = bench_now();
    while (now - start < a->warm_ns) {
        x = nb_block(x);
        now = bench_now();
    }
    if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
        return CHILD_ABORT;
    t0 = now;
    ctl->t0 = t0;
    /* Publishes t0; pairs with the pinger's acquire load of p0. */
    atomic_store_explicit(&ctl->p0, 0, memory_order_release);
    do {
        x = nb_block(x);
        turns += NB_BLOCK;
        now = bench_now();
    } while (now - t0 < a->dur_ns);
    nb_sink = x;
    ctl->proc[index].t_end = now;
    ctl->proc[index].window = turns;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
    return CHILD_OK;
}

/* index 1: sends i, waits for i back, until the neighbour's window closed;
 * counts the rounds from the window's start. */
static int nb_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct nb_arg *a = varg;
    const struct bench_lat_arg *la = &a->lat;
    scb_t *w = NULL, *r = NULL;
    uint64_t i, r0 = 0, got, limit, t_end = 0;
    unsigned char stop[8];
    int code, counting = 0, done;

    code = bench_open_ring(&r, la->name[1], la->backend, 0, la->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(&w, la->name[0], la->backend, SCB_WRITER, la->label,
                               index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    limit = bench_now() + la->limit_ns;
    for (i = 0; code == CHILD_OK; i++) {
        /* done first: once it is seen, so is p0, which was published before
         * it; the count never starts from before the window. */
        done = atomic_load_explicit(&ctl->done, memory_order_acquire);
        if (!counting &&
            atomic_load_explicit(&ctl->p0, memory_order_acquire) != BENCH_NO_P0) {
            r0 = i;
            counting = 1;
        }
        if (done) {
            t_end = bench_now();
            break;
        }
        code = bench_lat_send(w, la, index, i);
        if (code == CHILD_OK)
            code = bench_lat_recv(r, la, index, limit, &got);
        if (code == CHILD_OK && got != i) {
            bench_child_error(la->label, index, "reply %" PRIu64 " to %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
        }
    }
    if (code == CHILD_OK) {
        ctl->proc[index].t_end = t_end;
        ctl->proc[index].window = i - r0;
    }
    if (w != NULL) {
        bench_put_seq(stop, NB_STOP);
        (void)scb_push(w, stop); /* the ponger stops at once */
    }
    scb_close(w);
    scb_close(r);
    return code;
}

/* index 2: sends back every item it receives, until NB_STOP. */
static int nb_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct nb_arg *a = varg;
    const struct bench_lat_arg *la = &a->lat;
    scb_t *w = NULL, *r = NULL;
    uint64_t i, got, limit;
    int code;

    code = bench_open_ring(&r, la->name[0], la->backend, 0, la->label, index);
    if (code == CHILD_OK)
        code = bench_open_ring(&w, la->name[1], la->backend, SCB_WRITER, la->label,
                               index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    limit = bench_now() + la->limit_ns;
    for (i = 0; code == CHILD_OK; i++) {
        code = bench_lat_recv(r, la, index, limit, &got);
        if (code != CHILD_OK || got == NB_STOP)
            break;
        if (got != i) {
            bench_child_error(la->label, index, "got %" PRIu64 ", expected %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
            break;
        }
        code = bench_lat_send(w, la, index, got);
    }
    scb_close(w);
    scb_close(r);
    return code;
}

/* A child, so that the parent never registers for membarrier: creates the
 * rings and reports the flags in force on the first. */
static int nb_creator(struct bench_ctl *ctl, int index, void *varg)
{
    const struct nb_arg *a = varg;
    uint32_t in_force = 0;
    char why[256];
    int i;

    for (i = 0; i < 2 && a->lat.name[i] != NULL; i++) {
        if (bench_create_ring(a->lat.name[i], a->lat.backend, 8, 64, a->flags,
                              0, i == 0 ? &in_force : NULL, why,
                              sizeof why) != 0) {
            bench_child_error(a->lat.label, index, "%s", why);
            return CHILD_FAIL;
        }
    }
    ctl->proc[index].ring_flags = in_force;
    return bench_child_ready(ctl, index);
}

/* Names the rings of a->lat.name (one or two), tracks them, and has a child
 * create them with a->flags.  *in_force: the flags scb_info reported. */
static int nb_make_rings(struct nb_arg *a, char *n0, char *n1, size_t len,
                         uint32_t *in_force, char *why, size_t whylen)
{
    struct bench_child kid;
    int rc;

    bench_ring_name(n0, len);
    bench_track_ring(n0, a->lat.backend);
    a->lat.name[0] = n0;
    a->lat.name[1] = NULL;
    if (n1 != NULL) {
        bench_ring_name(n1, len);
        bench_track_ring(n1, a->lat.backend);
        a->lat.name[1] = n1;
    }
    memset(&kid, 0, sizeof kid);
    kid.fn = nb_creator;
    kid.arg = a;
    kid.cpu = -1;
    kid.role = "ring creator";
    rc = bench_run(&kid, 1, 10000000000ull, NULL, NULL, why, whylen);
    *in_force = bench_ctl()->proc[0].ring_flags;
    if (rc != 0) {
        bench_remove_ring(n0, a->lat.backend);
        if (n1 != NULL)
            bench_remove_ring(n1, a->lat.backend);
    }
    return rc;
}

int bench_neighbour_probe(const char *backend, int *asym, char *why, size_t whylen)
{
    char n0[SCB_NAME_MAX + 1];
    struct nb_arg a;
    uint32_t in_force = 0;
    int rc;

    memset(&a, 0, sizeof a);
    a.lat.label = "neighbour: membarrier probe";
    a.lat.backend = backend;
    a.flags = SCB_ASYM_BARRIERS;
    rc = nb_make_rings(&a, n0, NULL, sizeof n0, &in_force, why, whylen);
    if (rc != 0)
        return rc;
    bench_remove_ring(n0, backend);
    *asym = (in_force & SCB_ASYM_BARRIERS) != 0;
    return 0;
}

const char *bench_traffic_name(enum bench_traffic t)
{
    return t == NB_QUIET    ? "none"
           : t == NB_FENCES ? "ping-pong, full fences"
                            : "ping-pong, SCB_ASYM_BARRIERS";
}

int bench_neighbour(enum bench_traffic traffic, int registered, const char *backend,
                    const struct bench_opts *o, struct bench_nb_sample *s,
                    char *why, size_t whylen)
{
    char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], label[96];
    struct bench_names names = {{n0, n1}, backend};
    struct bench_ctl *ctl = bench_ctl();
    struct bench_child kids[3];
    struct nb_arg a;
    uint32_t in_force = 0;
    int rc, n = 1;
    double secs;

    snprintf(label, sizeof label, "neighbour, %s, %sregistered",
             bench_traffic_name(traffic), registered ? "" : "not ");
    memset(&a, 0, sizeof a);
    a.lat.label = label;
    a.lat.backend = backend;
    a.lat.wait = 1;
    a.registered = registered;
    a.warm_ns = (uint64_t)(o->warmup * 1e9);
    a.dur_ns = (uint64_t)(o->duration * 1e9);
    a.lat.limit_ns = a.warm_ns + a.dur_ns + 10000000000ull;
    memset(kids, 0, sizeof kids);
    kids[0].fn = nb_neighbour;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[0].role = "neighbour";
    if (traffic != NB_QUIET) {
        a.flags = traffic == NB_ASYM ? SCB_ASYM_BARRIERS : 0;
        rc = nb_make_rings(&a, n0, n1, sizeof n0, &in_force, why, whylen);
        if (rc != 0)
            return rc;
        if ((in_force & SCB_ASYM_BARRIERS) != (a.flags & SCB_ASYM_BARRIERS)) {
            snprintf(why, whylen, "the ring has %sSCB_ASYM_BARRIERS in force",
                     a.flags ? "no " : "");
            bench_remove_ring(n0, backend);
            bench_remove_ring(n1, backend);
            return -1;
        }
        /* Both share the other CPU: while one runs, the other sleeps. */
        kids[1].fn = nb_ping;
        kids[1].arg = &a;
        kids[1].cpu = bench_cpu_for(1);
        kids[1].role = "pinger";
        kids[2].fn = nb_pong;
        kids[2].arg = &a;
        kids[2].cpu = bench_cpu_for(1);
        kids[2].role = "ponger";
        n = 3;
        /* Inherited by the children: every scb_pop_wait that finds nothing
         * sleeps at once. */
        setenv("SCB_SPIN_US", "0", 1);
    }
    rc = bench_run(kids, n, a.lat.limit_ns + 5000000000ull,
                   n > 1 ? bench_unlink_names : NULL, &names, why, whylen);
    if (n > 1) {
        unsetenv("SCB_SPIN_US");
        bench_remove_ring(n0, backend);
        bench_remove_ring(n1, backend);
    }
    if (rc != 0)
        return rc;
    secs = (double)(ctl->proc[0].t_end - ctl->t0) / 1e9;
    s->loops = secs > 0 ? (double)ctl->proc[0].window / secs : 0;
    s->rounds = 0;
    if (n > 1) {
        secs = (double)(ctl->proc[1].t_end - ctl->t0) / 1e9;
        s->rounds = secs > 0 ? (double)ctl->proc[1].window / secs : 0;
    }
    return 0;
}
