/*
 * baselines.c - what a user would pick instead of libscb: a pipe, a Unix
 * domain socket and a POSIX message queue, measured as the libscb cases are
 * (same warm-up, window, pinning and sequence checks).
 *
 * Each item is one write (send) in the writer and one read (receive) in the
 * reader, as a program passing discrete messages does.  The descriptors are
 * made before the fork and inherited; the message queue's name is removed
 * as soon as it is opened, so nothing is ever left behind.  Blocking calls
 * end when the other side exits (EOF, EPIPE) or, for the queue, at their
 * deadline; the parent's deadline covers the rest.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef SCB_BENCH_HAVE_MQ
#include <mqueue.h>
#endif

#include "bench.h"

struct base_arg {
    struct bench_stream_arg s;
    enum bench_transport tr;
    int wfd, rfd;          /* pipe or socket: the writer's and the reader's end */
    int seqpacket;         /* the socket keeps message boundaries */
#ifdef SCB_BENCH_HAVE_MQ
    mqd_t mq;
    long msgsize;
#endif
};

int bench_write_all(int fd, const unsigned char *p, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads exactly n bytes: returns n, 0 at EOF before the first byte, -1 on
 * an error or an EOF inside an item (errno EPIPE then). */
static ssize_t read_all(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;
    ssize_t k;

    while (got < n) {
        k = read(fd, p + got, n - got);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            if (got == 0)
                return 0;
            errno = EPIPE;
            return -1;
        }
        got += (size_t)k;
    }
    return (ssize_t)n;
}

const char *bench_socket_kind(void)
{
    static int kind = -1;
    int sv[2];

    if (kind < 0) {
        kind = socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0;
        if (kind) {
            close(sv[0]);
            close(sv[1]);
        }
    }
    return kind ? "seqpacket" : "stream";
}

/* --- POSIX message queue limits ------------------------------------------ */

/* A number from a /proc file, or -1. */
static long read_proc_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

#ifdef SCB_BENCH_HAVE_MQ
/* Messages a queue holds: the system's default (10), within its limit. */
static long mq_depth(void)
{
    long max = read_proc_long("/proc/sys/fs/mqueue/msg_max");

    return max > 0 && max < 10 ? max : 10;
}
#endif

const char *bench_mq_note(void)
{
#ifdef SCB_BENCH_HAVE_MQ
    static char note[160];
    long msgsize_max = read_proc_long("/proc/sys/fs/mqueue/msgsize_max");

    if (msgsize_max > 0)
        snprintf(note, sizeof note, "queue of %ld messages (msgsize_max %ld)",
                 mq_depth(), msgsize_max);
    else
        snprintf(note, sizeof note, "queue of %ld messages", mq_depth());
    return note;
#else
    return "POSIX message queues not available";
#endif
}

/* --- throughput ---------------------------------------------------------- */

/* The writer's send of one item; 0 or -1 (errno). */
static int send_item(const struct base_arg *a, const unsigned char *buf,
                     const struct timespec *abs)
{
    switch (a->tr) {
    case TR_PIPE:
    case TR_SOCKET:
        return bench_write_all(a->wfd, buf, a->s.size);
    case TR_MQ:
#ifdef SCB_BENCH_HAVE_MQ
        while (mq_timedsend(a->mq, (const char *)buf, a->s.size, 0, abs) != 0) {
            if (errno != EINTR)
                return -1;
        }
        return 0;
#endif
    case TR_SCB:
        break;
    }
    (void)abs;
    errno = EINVAL;
    return -1;
}

/* The reader's receipt of one item: 1, 0 at the end, -1 (errno). */
static int recv_item(const struct base_arg *a, unsigned char *buf,
                     const struct timespec *abs)
{
    ssize_t k;

    switch (a->tr) {
    case TR_PIPE:
        k = read_all(a->rfd, buf, a->s.size);
        return k < 0 ? -1 : k > 0;
    case TR_SOCKET:
        if (!a->seqpacket) {
            k = read_all(a->rfd, buf, a->s.size);
            return k < 0 ? -1 : k > 0;
        }
        do
            k = read(a->rfd, buf, a->s.size);
        while (k < 0 && errno == EINTR);
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        if ((size_t)k != a->s.size) {
            errno = EMSGSIZE;
            return -1;
        }
        return 1;
    case TR_MQ:
#ifdef SCB_BENCH_HAVE_MQ
        do
            k = mq_timedreceive(a->mq, (char *)buf, (size_t)a->msgsize, NULL, abs);
        while (k < 0 && errno == EINTR);
        if (k < 0)
            return -1;
        if ((size_t)k != a->s.size) {
            errno = EMSGSIZE;
            return -1;
        }
        return bench_get_seq(buf) == UINT64_MAX ? 0 : 1; /* the end marker */
#endif
    case TR_SCB:
        break;
    }
    (void)abs;
    errno = EINVAL;
    return -1;
}

static struct timespec abs_deadline(uint64_t ns)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec += (long)(ns % 1000000000ull);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int base_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct base_arg *a = varg;
    const unsigned mask = a->s.size >= 4096 ? 0 : 31;
    unsigned char *buf;
    uint64_t start, limit, now, t0 = 0, pushed = 0;
    struct timespec abs;
    int code;

    if (a->rfd >= 0)
        close(a->rfd);
    if ((buf = malloc(a->s.size)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    bench_fill(buf, a->s.size, 1);
    code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    start = bench_now();
    limit = start + a->s.limit_ns;
    abs = abs_deadline(a->s.limit_ns);
    for (;;) {
        bench_put_seq(buf, pushed);
        if (send_item(a, buf, &abs) != 0) {
            bench_child_error(a->s.label, index, "send: %s", strerror(errno));
            code = errno == ETIMEDOUT ? CHILD_TIMEOUT : CHILD_FAIL;
            goto out;
        }
        pushed++;
        if ((pushed & mask) != 0)
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
    ctl->proc[index].window = pushed - atomic_load(&ctl->p0);
    ctl->total = pushed;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
    if (a->tr == TR_MQ) {
        bench_put_seq(buf, UINT64_MAX);
        if (send_item(a, buf, &abs) != 0) {
            bench_child_error(a->s.label, index, "send: %s", strerror(errno));
            code = CHILD_FAIL;
        }
    }
out:
    if (a->wfd >= 0)
        close(a->wfd); /* the reader's EOF */
    free(buf);
    return code;
}

static int base_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct base_arg *a = varg;
    unsigned char *buf;
    uint64_t expected = 0, window = 0, seq, p0;
    struct timespec abs;
    size_t room = a->s.size;
    int code, k;

    if (a->wfd >= 0)
        close(a->wfd);
#ifdef SCB_BENCH_HAVE_MQ
    if (a->tr == TR_MQ)
        room = (size_t)a->msgsize;
#endif
    if ((buf = malloc(room)) == NULL) {
        bench_child_error(a->s.label, index, "out of memory");
        return CHILD_FAIL;
    }
    code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    abs = abs_deadline(a->s.limit_ns);
    for (;;) {
        k = recv_item(a, buf, &abs);
        if (k == 0)
            break;
        if (k < 0) {
            bench_child_error(a->s.label, index, "receive: %s", strerror(errno));
            code = errno == ETIMEDOUT ? CHILD_TIMEOUT : CHILD_FAIL;
            goto out;
        }
        seq = bench_get_seq(buf);
        if (seq != expected) {
            bench_child_error(a->s.label, index,
                              "wrong sequence number: got %" PRIu64
                              ", expected %" PRIu64, seq, expected);
            code = CHILD_FAIL;
            goto out;
        }
        expected++;
        p0 = atomic_load_explicit(&ctl->p0, memory_order_acquire);
        window += seq >= p0;
    }
    ctl->proc[index].t_end = bench_now();
    if (!atomic_load_explicit(&ctl->done, memory_order_acquire) ||
        expected != ctl->total) {
        bench_child_error(a->s.label, index,
                          "the stream ended after %" PRIu64 " of %" PRIu64 " items",
                          expected, ctl->total);
        code = CHILD_FAIL;
        goto out;
    }
    ctl->proc[index].window = window;
    ctl->proc[index].received = expected;
out:
    if (a->rfd >= 0)
        close(a->rfd);
    free(buf);
    return code;
}

/* before_go: the parent's copies of the descriptors must go, or the reader
 * never sees EOF. */
static void close_parent_fds(void *varg)
{
    struct base_arg *a = varg;

    if (a->wfd >= 0)
        close(a->wfd);
    if (a->rfd >= 0)
        close(a->rfd);
    a->wfd = a->rfd = -1;
}

#ifdef SCB_BENCH_HAVE_MQ
/* Opens a fresh queue for items of `size` and removes its name at once.
 * Returns 0, 1 (cannot run here: why) or -1 (why). */
static int open_mq(struct base_arg *a, size_t size, char *why, size_t whylen)
{
    char name[64];
    struct mq_attr attr;
    long msgsize_max = read_proc_long("/proc/sys/fs/mqueue/msgsize_max");

    name[0] = '/';
    bench_ring_name(name + 1, sizeof name - 1);
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = mq_depth();
    attr.mq_msgsize = (long)size;
    a->mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (a->mq == (mqd_t)-1) {
        int e = errno;
        if (e == EINVAL && msgsize_max > 0 && (long)size > msgsize_max) {
            snprintf(why, whylen,
                     "a message of %zu B is over the system's limit, "
                     "/proc/sys/fs/mqueue/msgsize_max = %ld (as root: sysctl "
                     "fs.mqueue.msgsize_max=%zu, then run again)", size,
                     msgsize_max, size);
            return 1;
        }
        snprintf(why, whylen, "mq_open: %s", strerror(e));
        return e == ENOSYS ? 1 : -1;
    }
    mq_unlink(name);
    if (mq_getattr(a->mq, &attr) != 0) {
        snprintf(why, whylen, "mq_getattr: %s", strerror(errno));
        mq_close(a->mq);
        return -1;
    }
    a->msgsize = attr.mq_msgsize;
    return 0;
}
#endif

int bench_base_tput(const struct bench_tput *tc, const struct bench_opts *o,
                    struct bench_sample *s, char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct bench_ctl *ctl = bench_ctl();
    struct base_arg a;
    char label[64];
    int fds[2], rc;
    double secs;

    memset(&a, 0, sizeof a);
    a.tr = tc->transport;
    a.wfd = a.rfd = -1;
    snprintf(label, sizeof label, "%s, %zu B",
             tc->transport == TR_PIPE ? "pipe"
             : tc->transport == TR_SOCKET ? "unix socket" : "POSIX mq", tc->size);
    a.s.label = label;
    a.s.size = tc->size;
    a.s.warm_ns = (uint64_t)(o->warmup * 1e9);
    a.s.dur_ns = (uint64_t)(o->duration * 1e9);
    a.s.limit_ns = a.s.warm_ns + a.s.dur_ns + 10000000000ull;

    switch (tc->transport) {
    case TR_PIPE:
        if (pipe(fds) != 0) {
            snprintf(why, whylen, "pipe: %s", strerror(errno));
            return -1;
        }
        a.rfd = fds[0];
        a.wfd = fds[1];
        break;
    case TR_SOCKET:
        a.seqpacket = strcmp(bench_socket_kind(), "seqpacket") == 0;
        if (socketpair(AF_UNIX, a.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM, 0,
                       fds) != 0) {
            snprintf(why, whylen, "socketpair: %s", strerror(errno));
            return -1;
        }
        if (a.seqpacket) {
            /* A message must fit in the send buffer whole. */
            int want = (int)(tc->size * 4 + 4096);
            int have = 0;
            socklen_t len = sizeof have;
            if (getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &have, &len) == 0 &&
                have < want)
                (void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
        }
        a.wfd = fds[0];
        a.rfd = fds[1];
        break;
    case TR_MQ:
#ifdef SCB_BENCH_HAVE_MQ
        if ((rc = open_mq(&a, tc->size, why, whylen)) != 0)
            return rc;
        break;
#else
        snprintf(why, whylen, "POSIX message queues are not available here");
        return 1;
#endif
    case TR_SCB:
        snprintf(why, whylen, "not a baseline");
        return -1;
    }

    memset(kids, 0, sizeof kids);
    kids[0].fn = base_writer;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].fn = base_reader;
    kids[1].arg = &a;
    kids[1].cpu = bench_cpu_for(1);
    rc = bench_run(kids, 2, a.s.limit_ns + 5000000000ull, close_parent_fds, &a,
                   why, whylen);
    close_parent_fds(&a);
#ifdef SCB_BENCH_HAVE_MQ
    if (tc->transport == TR_MQ)
        mq_close(a.mq);
#endif
    if (rc != 0)
        return rc;

    memset(s, 0, sizeof *s);
    secs = (double)(ctl->proc[0].t_end - ctl->t0) / 1e9;
    s->writer = secs > 0 ? (double)ctl->proc[0].window / secs : 0;
    secs = (double)(ctl->proc[1].t_end - ctl->t0) / 1e9;
    s->reader[0] = secs > 0 ? (double)ctl->proc[1].window / secs : 0;
    s->loss[0] = 0;
    return 0;
}

/* --- pipe ping-pong ------------------------------------------------------- */

struct pp_arg {
    int ping[2];   /* pinger -> ponger */
    int pong[2];   /* ponger -> pinger */
    uint64_t warm, rounds;
};

static const char pp_label[] = "pipe round trip";

static int pp_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct pp_arg *a = varg;
    unsigned char item[8];
    uint64_t i, t;
    int code;

    close(a->ping[0]);
    close(a->pong[1]);
    code = bench_child_ready(ctl, index);
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        errno = 0;
        t = bench_now();
        bench_put_seq(item, i);
        if (bench_write_all(a->ping[1], item, sizeof item) != 0 ||
            read_all(a->pong[0], item, sizeof item) != (ssize_t)sizeof item) {
            bench_child_error(pp_label, index, "%s", errno ? strerror(errno)
                                                           : "end of file");
            code = CHILD_FAIL;
            break;
        }
        if (bench_get_seq(item) != i) {
            bench_child_error(pp_label, index, "reply %" PRIu64 " to %" PRIu64,
                              bench_get_seq(item), i);
            code = CHILD_FAIL;
            break;
        }
        if (i >= a->warm)
            ctl->samples[i - a->warm] = bench_now() - t;
    }
    if (code == CHILD_OK)
        ctl->nsamples = a->rounds;
    close(a->ping[1]);
    close(a->pong[0]);
    return code;
}

static int pp_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct pp_arg *a = varg;
    unsigned char item[8];
    uint64_t i;
    int code;

    close(a->ping[1]);
    close(a->pong[0]);
    code = bench_child_ready(ctl, index);
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        errno = 0;
        if (read_all(a->ping[0], item, sizeof item) != (ssize_t)sizeof item ||
            bench_write_all(a->pong[1], item, sizeof item) != 0) {
            bench_child_error(pp_label, index, "%s", errno ? strerror(errno)
                                                           : "end of file");
            code = CHILD_FAIL;
        }
    }
    close(a->ping[0]);
    close(a->pong[1]);
    return code;
}

static void close_pp(void *varg)
{
    struct pp_arg *a = varg;
    int i;

    for (i = 0; i < 2; i++) {
        if (a->ping[i] >= 0)
            close(a->ping[i]);
        if (a->pong[i] >= 0)
            close(a->pong[i]);
        a->ping[i] = a->pong[i] = -1;
    }
}

int bench_pipe_latency(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct pp_arg a;
    uint64_t limit;
    int rc;

    memset(&a, 0, sizeof a);
    a.ping[0] = a.ping[1] = a.pong[0] = a.pong[1] = -1;
    if (pipe(a.ping) != 0 || pipe(a.pong) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        close_pp(&a);
        return -1;
    }
    a.rounds = o->rounds;
    a.warm = o->rounds / 10 + 10;
    limit = 35000000000ull + (a.rounds + a.warm) * 1000000ull;
    memset(kids, 0, sizeof kids);
    kids[0].fn = pp_ping;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].fn = pp_pong;
    kids[1].arg = &a;
    kids[1].cpu = bench_cpu_for(1);
    rc = bench_run(kids, 2, limit, close_pp, &a, why, whylen);
    close_pp(&a);
    if (rc != 0)
        return rc;
    return bench_take_samples(o, samples, why, whylen);
}

/* --- cache-line ping-pong -------------------------------------------------- */

/* The floor under any shared-memory round trip: one word on its own cache
 * line, which the pinger sets to odd values and the ponger to even ones. */

struct line_arg {
    uint64_t warm, rounds;
    uint64_t limit_ns;
};

static const char line_label[] = "cache-line round trip";

/* Spins until the ball holds `want`; CHILD_OK or the code to exit with. */
static int line_await(struct bench_ctl *ctl, int index, uint64_t want,
                      uint64_t limit)
{
    unsigned spins = 0;

    while (atomic_load_explicit(&ctl->ball, memory_order_acquire) != want) {
        if ((++spins & 4095) != 0)
            continue;
        if (bench_now() > limit) {
            bench_child_error(line_label, index, "no reply before the deadline");
            return CHILD_TIMEOUT;
        }
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
            return CHILD_ABORT;
    }
    return CHILD_OK;
}

static int line_ping(struct bench_ctl *ctl, int index, void *varg)
{
    const struct line_arg *a = varg;
    uint64_t i, t, limit;
    int code = bench_child_ready(ctl, index);

    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        t = bench_now();
        atomic_store_explicit(&ctl->ball, 2 * i + 1, memory_order_release);
        code = line_await(ctl, index, 2 * i + 2, limit);
        if (code == CHILD_OK && i >= a->warm)
            ctl->samples[i - a->warm] = bench_now() - t;
    }
    if (code == CHILD_OK)
        ctl->nsamples = a->rounds;
    return code;
}

static int line_pong(struct bench_ctl *ctl, int index, void *varg)
{
    const struct line_arg *a = varg;
    uint64_t i, limit;
    int code = bench_child_ready(ctl, index);

    limit = bench_now() + a->limit_ns;
    for (i = 0; code == CHILD_OK && i < a->warm + a->rounds; i++) {
        code = line_await(ctl, index, 2 * i + 1, limit);
        if (code == CHILD_OK)
            atomic_store_explicit(&ctl->ball, 2 * i + 2, memory_order_release);
    }
    return code;
}

int bench_line_latency(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct line_arg a;
    int rc;

    a.rounds = o->rounds;
    a.warm = o->rounds / 10 + 10;
    a.limit_ns = 30000000000ull + (a.rounds + a.warm) * 1000000ull;
    memset(kids, 0, sizeof kids);
    kids[0].fn = line_ping;
    kids[0].arg = &a;
    kids[0].cpu = bench_cpu_for(0);
    kids[1].fn = line_pong;
    kids[1].arg = &a;
    kids[1].cpu = bench_cpu_for(1);
    rc = bench_run(kids, 2, a.limit_ns + 5000000000ull, NULL, NULL, why, whylen);
    if (rc != 0)
        return rc;
    return bench_take_samples(o, samples, why, whylen);
}
