/*
 * bridge.c - scb-bench --bridge: 64-byte items through the NATS bridge
 * (scb-bridge out -> nats-server -> scb-bridge in) on this machine, core
 * NATS and JetStream (R1, file storage), beside the same ring read locally,
 * and the latency of one item through core NATS on an idle path.
 *
 * It starts a nats-server of its own (127.0.0.1,
 * a free port, JetStream storage in a temporary directory) and, for every
 * run of a bridge case, a fresh `scb-bridge in` and `scb-bridge out` between
 * two fresh lossless rings.  Its own processes are a writer, which pushes
 * numbered items into the source ring, and a reader, which takes them from
 * the destination ring and checks every byte of every item; the clock runs
 * from the writer's first push until the reader has the last item.  The
 * local case is the same writer and reader on one ring.  Nothing here
 * speaks NATS (the cases of NATS alone do, in nats_alone.c, when
 * scb-bench was built with libnats), and nothing waits without a
 * deadline; every program, ring and file it made is removed on every exit
 * path (harness.c).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <scb.h>

#include "bench.h"
#include "bridge_bench.h"

#ifndef SCB_BINDIR
#define SCB_BINDIR ""
#endif
#ifndef SCB_NATS_SERVER
#define SCB_NATS_SERVER ""
#endif

/* What the writer and the reader of a run share through the harness. */
struct br_arg {
    const char *label;
    const char *name;                  /* the writer's ring */
    const char *far;                   /* the reader's (== name: local) */
    const char *backend;
    uint64_t items;                    /* latency: warm-up + samples */
    uint64_t warm;                     /* latency: items not measured */
    uint64_t limit_ns;
    int latency;
};

/* --- the writer and the reader ------------------------------------------- */

/* Every 64 turns, and whenever the ring gave nothing: the deadline
 * (`done` of the items so far, `what`: how) and the parent's abort.
 * CHILD_OK to go on. */
static int br_check(struct bench_ctl *ctl, const struct br_arg *a, int index,
                    uint64_t now, uint64_t limit, uint64_t done, const char *what)
{
    if (now > limit) {
        bench_child_error(a->label, index, "deadline passed after %" PRIu64
                          " of %" PRIu64 " items%s", done, a->items, what);
        return CHILD_TIMEOUT;
    }
    if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
        return CHILD_ABORT;
    return CHILD_OK;
}

int br_lat_wait(struct bench_ctl *ctl, const char *label, int index, uint64_t seq,
                uint64_t limit, const char *what)
{
    uint64_t t, lat_limit = bench_now() + 5000000000ull;

    while (atomic_load_explicit(&ctl->ball, memory_order_acquire) <= seq) {
        if (atomic_load_explicit(&ctl->go, memory_order_relaxed) < 0)
            return CHILD_ABORT;
        t = bench_now();
        if (t > limit || t > lat_limit) {
            bench_child_error(label, index, "%s %" PRIu64 " did not arrive "
                              "within 5 s", what, seq);
            return CHILD_TIMEOUT;
        }
        bench_sleep_us(20);
    }
    bench_sleep_us(BR_LAT_GAP_US);
    return CHILD_OK;
}

/* Items carry their number in bytes 0-7; latency items the monotonic time
 * of their push in bytes 8-15; the rest is bench_fill's pattern, checked. */
static int br_writer(struct bench_ctl *ctl, int index, void *varg)
{
    const struct br_arg *a = varg;
    unsigned char buf[BENCH_BATCH * BR_SIZE];
    uint64_t pushed = 0, limit, t;
    size_t off = BENCH_BATCH, cnt, j;
    unsigned turn = 0;
    scb_t *w = NULL;
    int rc, code;

    for (j = 0; j < BENCH_BATCH; j++)
        bench_fill(buf + j * BR_SIZE, BR_SIZE, 1);
    code = bench_open_ring(&w, a->name, a->backend, SCB_WRITER, a->label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    limit = bench_now() + a->limit_ns;
    ctl->t0 = bench_now();

    if (a->latency) {
        /* One item at a time, each once the last one arrived and the path
         * stood idle BR_LAT_GAP_US. */
        for (pushed = 0; pushed < a->items; pushed++) {
            bench_put_seq(buf, pushed);
            t = bench_now();
            memcpy(buf + 8, &t, sizeof t);
            rc = scb_push_wait(w, buf, 1000);
            if (rc != SCB_OK) {
                bench_child_error(a->label, index, "scb_push_wait: %s",
                                  scb_strerror(rc));
                code = CHILD_FAIL;
                goto out;
            }
            code = br_lat_wait(ctl, a->label, index, pushed, limit, "item");
            if (code != CHILD_OK)
                goto out;
        }
    } else {
        while (pushed < a->items) {
            if (off == BENCH_BATCH) {
                for (j = 0; j < BENCH_BATCH; j++)
                    bench_put_seq(buf + j * BR_SIZE, pushed + j);
                off = 0;
            }
            cnt = BENCH_BATCH - off;
            if (cnt > a->items - pushed)
                cnt = (size_t)(a->items - pushed);
            rc = scb_push_many(w, buf + off * BR_SIZE, cnt, &cnt);
            if (rc == SCB_OK) {
                off += cnt;
                pushed += cnt;
            } else if (rc == SCB_EAGAIN) {
                /* Full: the far side holds the writer back.  It sleeps: the
                 * bridges and the server need the CPUs. */
                (void)scb_wait(w, 100);
            } else {
                bench_child_error(a->label, index, "scb_push_many: %s",
                                  scb_strerror(rc));
                code = CHILD_FAIL;
                goto out;
            }
            if ((++turn & 63) != 0 && rc == SCB_OK)
                continue;
            code = br_check(ctl, a, index, bench_now(), limit, pushed, " pushed");
            if (code != CHILD_OK)
                goto out;
        }
    }
    ctl->proc[index].t_end = bench_now();
    ctl->total = pushed;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
out:
    scb_close(w);
    return code;
}

static int br_reader(struct bench_ctl *ctl, int index, void *varg)
{
    const struct br_arg *a = varg;
    unsigned char buf[BENCH_BATCH * BR_SIZE], tmpl[BR_SIZE];
    uint64_t expected = 0, limit, now, seq, t;
    size_t cnt, j, from = a->latency ? 16 : 8;
    unsigned turn = 0;
    scb_t *r = NULL;
    int rc, code;

    bench_fill(tmpl, BR_SIZE, 1);
    code = bench_open_ring(&r, a->far, a->backend, 0, a->label, index);
    if (code == CHILD_OK)
        code = bench_child_ready(ctl, index);
    if (code != CHILD_OK)
        goto out;
    limit = bench_now() + a->limit_ns;
    while (expected < a->items) {
        if (a->latency) {
            rc = scb_pop_wait(r, buf, 100);
            cnt = rc == SCB_OK;
            if (rc == SCB_ETIMEDOUT)
                rc = SCB_EAGAIN;
        } else {
            rc = scb_pop_many(r, buf, BENCH_BATCH, &cnt);
        }
        now = bench_now();
        if (rc == SCB_OK) {
            for (j = 0; j < cnt; j++) {
                const unsigned char *item = buf + j * BR_SIZE;
                seq = bench_get_seq(item);
                if (seq != expected) {
                    bench_child_error(a->label, index, "wrong sequence number: "
                                      "got %" PRIu64 ", expected %" PRIu64,
                                      seq, expected);
                    code = CHILD_FAIL;
                    goto out;
                }
                if (memcmp(item + from, tmpl + from, BR_SIZE - from) != 0) {
                    bench_child_error(a->label, index, "item %" PRIu64
                                      " does not hold the bytes pushed", seq);
                    code = CHILD_FAIL;
                    goto out;
                }
                if (a->latency) {
                    memcpy(&t, item + 8, sizeof t);
                    if (seq >= a->warm)
                        ctl->samples[seq - a->warm] = now - t;
                    /* Publishes the sample before the writer sends more. */
                    atomic_store_explicit(&ctl->ball, seq + 1, memory_order_release);
                }
                expected++;
            }
            ctl->proc[index].received = expected;
        } else if (rc == SCB_EAGAIN) {
            if (!a->latency)
                (void)scb_wait(r, 100);
        } else {
            bench_child_error(a->label, index, "%s: %s",
                              a->latency ? "scb_pop_wait" : "scb_pop_many",
                              scb_strerror(rc));
            code = CHILD_FAIL;
            goto out;
        }
        if ((++turn & 63) != 0 && rc == SCB_OK)
            continue;
        code = br_check(ctl, a, index, now, limit, expected, "");
        if (code != CHILD_OK)
            goto out;
    }
    ctl->proc[index].t_end = bench_now();
    if (a->latency)
        ctl->nsamples = a->items - a->warm;
out:
    scb_close(r);
    return code;
}

/* --- finding and starting the programs ------------------------------------ */

static int executable(const char *path)
{
    struct stat st;

    return path[0] != '\0' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* `prog` in PATH, then in /usr/sbin and /usr/local/sbin (configure's
 * search); 0 if found. */
static int in_path(const char *prog, char *out, size_t len)
{
    const char *path = getenv("PATH");
    char buf[8192], *dir, *save = NULL;

    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/local/sbin",
             path != NULL ? path : "/usr/bin:/bin");
    for (dir = strtok_r(buf, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", *dir ? dir : ".", prog);
        if (executable(out))
            return 0;
    }
    return -1;
}

/* nats-server: $SCB_NATS_SERVER, else the one configure found, else PATH. */
static int find_server(char *out, size_t len, char *why, size_t whylen)
{
    const char *env = getenv("SCB_NATS_SERVER");

    if (env != NULL && env[0] != '\0') {
        snprintf(out, len, "%s", env);
        if (executable(out))
            return 0;
        snprintf(why, whylen, "SCB_NATS_SERVER=%s is not an executable file", env);
        return -1;
    }
    snprintf(out, len, "%s", SCB_NATS_SERVER);
    if (executable(out) || in_path("nats-server", out, len) == 0)
        return 0;
    snprintf(why, whylen, "nats-server not found (SCB_NATS_SERVER, %s%sPATH, "
             "/usr/sbin); Debian: apt-get install nats-server",
             SCB_NATS_SERVER, SCB_NATS_SERVER[0] ? ", " : "");
    return -1;
}

/* scb-bridge: $SCB_BRIDGE_PROGRAM, else next to this program (in the build
 * tree: ../bridge/ beside bench/, where libtool may have put this program
 * in bench/.libs/), else the configured bindir, as the scb command finds
 * its companions. */
static int find_bridge(char *out, size_t len, char *why, size_t whylen)
{
    const char *env = getenv("SCB_BRIDGE_PROGRAM");
    static const char *const rel[] = {"/scb-bridge", "/../bridge/scb-bridge",
                                      "/../../bridge/scb-bridge"};
    char self[PATH_MAX], *slash;
    ssize_t n = -1;
    size_t i;

    if (env != NULL && env[0] != '\0') {
        snprintf(out, len, "%s", env);
        if (executable(out))
            return 0;
        snprintf(why, whylen, "SCB_BRIDGE_PROGRAM=%s is not an executable file", env);
        return -1;
    }
#ifdef __linux__
    n = readlink("/proc/self/exe", self, sizeof self - 1);
#endif
    if (n > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL) {
            *slash = '\0';
            for (i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                char canon[PATH_MAX];
                snprintf(out, len, "%s%s", self, rel[i]);
                if (!executable(out))
                    continue;
                if (realpath(out, canon) != NULL)
                    snprintf(out, len, "%s", canon);
                return 0;
            }
        }
    }
    snprintf(out, len, "%s/scb-bridge", SCB_BINDIR);
    if (SCB_BINDIR[0] != '\0' && executable(out))
        return 0;
    snprintf(why, whylen, "scb-bridge not found (SCB_BRIDGE_PROGRAM, next to "
             "scb-bench, %s); it is built when configure finds the NATS C "
             "client (libnats; --with-nats)", SCB_BINDIR[0] ? SCB_BINDIR : "bindir");
    return -1;
}

/* A TCP port on 127.0.0.1 that nobody listens on now; 0 if none. */
static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* The file's contents (up to len - 1 bytes of its end when tail), "" if
 * none. */
static void read_file(const char *path, char *buf, size_t len, int tail)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    long size;

    buf[0] = '\0';
    if (f == NULL)
        return;
    if (tail && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > (long)len - 1)
        fseek(f, size - (long)len + 1, SEEK_SET);
    else
        rewind(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The last complete line of a file, without its newline ("" if none). */
static void last_line(const char *path, char *buf, size_t len)
{
    char tmp[2048], *end, *start;

    read_file(path, tmp, sizeof tmp, 1);
    size_t n;

    end = strrchr(tmp, '\n');
    if (end != NULL) {
        *end = '\0';
        start = strrchr(tmp, '\n');
        start = start != NULL ? start + 1 : tmp;
    } else {
        start = tmp; /* a partial line, or an error message without one */
    }
    n = strlen(start);
    if (n >= len)
        n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
}

/* A number in a statistics line ("key": N), or -1. */
static long long stat_field(const char *line, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(line, pat);
    return p != NULL ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Waits (at most BR_READY_NS) until the file holds `needle`, or (NULL) a
 * complete line.  0, -1 (why) if the program exited or the time ran out,
 * -2 when interrupted. */
static int wait_for_file(const char *path, const char *needle, pid_t pid,
                         const char *who, const char *err_path, char *why,
                         size_t whylen)
{
    uint64_t deadline = bench_now() + BR_READY_NS;
    char buf[8192], line[256];
    int status;

    for (;;) {
        read_file(path, buf, sizeof buf, needle == NULL);
        if (needle != NULL ? strstr(buf, needle) != NULL : strchr(buf, '\n') != NULL)
            return 0;
        if (bench_interrupted())
            return -2;
        if (!bench_alive(pid, &status)) {
            last_line(err_path, line, sizeof line);
            snprintf(why, whylen, "%s exited (status %d) before it was up%s%s", who,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                     line[0] ? ": " : "", line);
            return -1;
        }
        if (bench_now() > deadline) {
            snprintf(why, whylen, "%s not up after %.0f s", who, BR_READY_NS / 1e9);
            return -1;
        }
        bench_parent_wait(10000000ull);
    }
}

static void path_in(const struct br_env *e, char *buf, size_t len, const char *what,
                    unsigned n)
{
    snprintf(buf, len, "%s/%s.%u", e->dir, what, n);
}

/* Its version line ("nats-server: v2.10.x"), or "". */
static void server_version(struct br_env *e)
{
    char out[PATH_MAX + 16], why[128], buf[256], *nl;
    char *argv[] = {e->server, (char *)"--version", NULL};
    uint64_t deadline = bench_now() + 5000000000ull;
    pid_t pid;

    e->server_version[0] = '\0';
    path_in(e, out, sizeof out, "version", 0);
    pid = bench_spawn(argv, out, NULL, why, sizeof why);
    if (pid < 0)
        return;
    while (bench_alive(pid, NULL) && bench_now() < deadline && !bench_interrupted())
        bench_parent_wait(10000000ull);
    (void)bench_stop(pid, 0);
    read_file(out, buf, sizeof buf, 0);
    if ((nl = strchr(buf, '\n')) != NULL)
        *nl = '\0';
    /* "nats-server: v2.9.10" */
    nl = strncmp(buf, "nats-server: ", 13) == 0 ? buf + 13 : buf;
    snprintf(e->server_version, sizeof e->server_version, "%.90s", nl);
}

/* Starts the server: 0, -1 (why), -2 when interrupted. */
static int start_server(struct br_env *e, char *why, size_t whylen)
{
    char store[PATH_MAX + 8], log[PATH_MAX + 16], port_s[16];
    char *argv[] = {e->server, (char *)"-a", (char *)"127.0.0.1", (char *)"-p",
                    port_s, (char *)"-js", (char *)"-sd", store, NULL};
    int attempt, port, rc = -1;

    snprintf(store, sizeof store, "%s/js", e->dir);
    for (attempt = 0; attempt < 3; attempt++) {
        port = free_port();
        if (port == 0) {
            snprintf(why, whylen, "no free TCP port on 127.0.0.1");
            return -1;
        }
        snprintf(port_s, sizeof port_s, "%d", port);
        path_in(e, log, sizeof log, "nats-server.log", (unsigned)attempt);
        e->server_pid = bench_spawn(argv, NULL, log, why, whylen);
        if (e->server_pid < 0)
            return -1;
        rc = wait_for_file(log, "Server is ready", e->server_pid, "nats-server",
                           log, why, whylen);
        if (rc == 0) {
            snprintf(e->url, sizeof e->url, "nats://127.0.0.1:%d", port);
            return 0;
        }
        (void)bench_stop(e->server_pid, BR_STOP_NS);
        e->server_pid = 0;
        if (rc == -2)
            return -2;
        /* The port may have been taken in between: another one. */
    }
    return rc;
}

/* --- one run of a case ---------------------------------------------------- */

struct br_bridges {
    pid_t in, out;
    char in_stats[PATH_MAX + 32], in_err[PATH_MAX + 32];
    char out_stats[PATH_MAX + 32], out_err[PATH_MAX + 32];
};

/* Starts in, then out, between the rings, and waits for both to be up
 * (their first statistics line: in prints none before it subscribed, out
 * none before it has the ring open).  0, -1 (why), -2. */
static int start_bridges(struct br_env *e, struct br_bridges *b, const char *src,
                         const char *dst, const char *stream, char *why, size_t whylen)
{
    char *in_argv[16], *out_argv[16];
    char *subject = (char *)src; /* the names are [a-z0-9.]: a subject too */
    unsigned n = e->counter++;
    int k = 0, rc;

    path_in(e, b->in_stats, sizeof b->in_stats, "in.stats", n);
    path_in(e, b->in_err, sizeof b->in_err, "in.err", n);
    path_in(e, b->out_stats, sizeof b->out_stats, "out.stats", n);
    path_in(e, b->out_err, sizeof b->out_err, "out.err", n);
    in_argv[k++] = e->bridge;
    in_argv[k++] = (char *)"in";
    in_argv[k++] = e->url;
    in_argv[k++] = (char *)dst;
    in_argv[k++] = (char *)"--subject";
    in_argv[k++] = subject;
    in_argv[k++] = (char *)"--backend";
    in_argv[k++] = (char *)e->backend;
    in_argv[k++] = (char *)"--stats";
    in_argv[k++] = (char *)BR_STATS;
    if (stream != NULL) {
        in_argv[k++] = (char *)"--stream";
        in_argv[k++] = (char *)stream;
    }
    in_argv[k] = NULL;
    k = 0;
    out_argv[k++] = e->bridge;
    out_argv[k++] = (char *)"out";
    out_argv[k++] = (char *)src;
    out_argv[k++] = e->url;
    for (int i = 4; in_argv[i] != NULL; i++)
        out_argv[k++] = in_argv[i];
    out_argv[k] = NULL;

    b->in = bench_spawn(in_argv, b->in_stats, b->in_err, why, whylen);
    if (b->in < 0)
        return -1;
    b->out = bench_spawn(out_argv, b->out_stats, b->out_err, why, whylen);
    if (b->out < 0)
        return -1;
    rc = wait_for_file(b->in_stats, NULL, b->in, "scb-bridge in", b->in_err, why,
                       whylen);
    if (rc == 0)
        rc = wait_for_file(b->out_stats, NULL, b->out, "scb-bridge out", b->out_err,
                           why, whylen);
    return rc;
}

/* Adds to why how a bridge that had exited ended, and its last line on
 * stderr. */
static void say_exit(char *why, size_t whylen, const char *who, int status,
                     const char *err_path)
{
    char line[1024], how[48];
    size_t used = strlen(why);

    last_line(err_path, line, sizeof line);
    if (status >= 0 && WIFSIGNALED(status))
        snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "exit status %d",
                 status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    snprintf(why + used, whylen - used, "; %s had exited (%s)%s%.300s", who, how,
             line[0] ? ": " : "", line);
}

/* Stops both (out first, so that in gets what out flushes) and adds to why
 * (when it says something) which had exited, or what in counted. */
static void stop_bridges(struct br_bridges *b, char *why, size_t whylen)
{
    int out_alive = b->out > 0 && bench_alive(b->out, NULL);
    int in_alive = b->in > 0 && bench_alive(b->in, NULL);
    int out_status = -1, in_status = -1;
    char line[1024];

    if (b->out > 0)
        out_status = bench_stop(b->out, BR_STOP_NS);
    if (b->in > 0)
        in_status = bench_stop(b->in, BR_STOP_NS);
    if (why[0] != '\0') {
        if (b->out > 0 && !out_alive)
            say_exit(why, whylen, "scb-bridge out", out_status, b->out_err);
        if (b->in > 0 && !in_alive) {
            say_exit(why, whylen, "scb-bridge in", in_status, b->in_err);
        } else if (b->in > 0) {
            size_t used = strlen(why);
            last_line(b->in_stats, line, sizeof line);
            snprintf(why + used, whylen - used, "; scb-bridge in: delivered %lld, "
                     "lost_upstream %lld, duplicates %lld",
                     stat_field(line, "delivered"), stat_field(line, "lost_upstream"),
                     stat_field(line, "duplicates"));
        }
    }
    b->in = b->out = 0;
}

int br_run_pair(bench_child_fn sender, const char *sender_role,
                bench_child_fn receiver, const char *receiver_role, void *arg,
                int latency, uint64_t items, uint64_t limit_ns, double *rate,
                uint64_t *samples, uint64_t nsamples, char *why, size_t whylen)
{
    struct bench_child kids[2];
    struct bench_ctl *ctl = bench_ctl();
    uint64_t t;
    int rc;

    kids[0].fn = sender;
    kids[0].arg = arg;
    kids[0].cpu = -1;
    kids[0].role = sender_role;
    kids[1].fn = receiver;
    kids[1].arg = arg;
    kids[1].cpu = -1;
    kids[1].role = receiver_role;
    rc = bench_run(kids, 2, limit_ns + 5000000000ull, NULL, NULL, why, whylen);
    if (rc != 0)
        return rc;
    if (latency) {
        if (ctl->nsamples != nsamples) {
            snprintf(why, whylen, "%" PRIu64 " samples, want %" PRIu64,
                     ctl->nsamples, nsamples);
            return -1;
        }
        memcpy(samples, ctl->samples, nsamples * sizeof *samples);
    } else {
        t = ctl->proc[1].t_end - ctl->t0;
        *rate = t > 0 ? (double)items * 1e9 / (double)t : NAN;
    }
    return 0;
}

/* One run of case c: 0 (the rate or the latency samples filled), -1 (why),
 * -2 when interrupted. */
static int run_once(struct br_env *e, enum br_case c, double *rate, uint64_t *samples,
                    uint64_t nsamples, char *why, size_t whylen)
{
    char src[SCB_NAME_MAX + 1], dst[SCB_NAME_MAX + 1], stream[64];
    char place[SCB_NAME_MAX + 1 + sizeof ".bridge-in"];
    char guard[SCB_NAME_MAX + 1 + sizeof ".bridge-out." + sizeof stream];
    struct br_bridges b;
    struct br_arg a;
    uint64_t len = BR_RING_LEN;
    int rc;

    memset(&b, 0, sizeof b);
    memset(&a, 0, sizeof a);
    dst[0] = '\0';
    place[0] = '\0';
    guard[0] = '\0';
    a.label = br_case_label(c);
    a.backend = e->backend;
    a.latency = c == BR_LAT;
    a.items = c == BR_JS ? e->items_js : c == BR_LAT ? BR_LAT_WARM + nsamples
                                                      : e->items_core;
    a.warm = a.latency ? BR_LAT_WARM : 0;
    /* JetStream: the stream keeps at most the ring's length of messages
     * (discarding the oldest); room for every item of the run, so that a
     * slow in never finds one gone. */
    if (c == BR_JS)
        while (len < a.items)
            len *= 2;
    a.limit_ns = 20000000000ull + a.items * (a.latency ? 10000000ull : 50000ull);

    rc = bench_make_ring(src, sizeof src, e->backend, BR_SIZE, len, SCB_LOSSLESS,
                         0, why, whylen);
    if (rc != 0)
        return -1;
    a.name = src;
    a.far = src;
    if (c != BR_LOCAL) {
        rc = bench_make_ring(dst, sizeof dst, e->backend, BR_SIZE, len, SCB_LOSSLESS,
                             0, why, whylen);
        if (rc != 0)
            goto done;
        /* Where in keeps its place, beside its ring: removed with it. */
        snprintf(place, sizeof place, "%s.bridge-in", dst);
        bench_track_ring(place, e->backend);
        a.far = dst;
        snprintf(stream, sizeof stream, "SCBB_%ld_%u", (long)getpid(), e->counter);
        /* Where a JetStream out holds the stream, beside its ring. */
        if (c == BR_JS) {
            snprintf(guard, sizeof guard, "%s.bridge-out.%s", src, stream);
            bench_track_ring(guard, e->backend);
        }
        rc = start_bridges(e, &b, src, dst, c == BR_JS ? stream : NULL, why, whylen);
        if (rc != 0)
            goto done;
    }
    rc = br_run_pair(br_writer, "writer", br_reader, "reader", &a, a.latency, a.items,
                     a.limit_ns, rate, samples, nsamples, why, whylen);
done:
    stop_bridges(&b, why, whylen);
    bench_remove_ring(src, e->backend);
    if (dst[0] != '\0')
        bench_remove_ring(dst, e->backend);
    if (place[0] != '\0')
        bench_remove_ring(place, e->backend);
    if (guard[0] != '\0')
        bench_remove_ring(guard, e->backend);
    return rc;
}

/* --- the run -------------------------------------------------------------- */

int bench_bridge_main(struct bench_opts *o, struct bench_info *info, int quick,
                      int json, const char *json_path)
{
    static struct br_env e;
    static struct br_result res[BR_NCASES];
    char why[1024] = "", tmpl[sizeof e.dir];
    const char *tmpdir = getenv("TMPDIR");
    uint64_t *samples, start;
    int c, rep, rc, interrupted = 0;

    memset(&e, 0, sizeof e);
    memset(res, 0, sizeof res);
    e.backend = info->backends[0];
    e.items_core = quick ? BR_QUICK_CORE : BR_ITEMS_CORE;
    e.items_js = quick ? BR_QUICK_JS : BR_ITEMS_JS;
    e.lat_samples = quick ? BR_QUICK_LAT : BR_LAT_SAMPLES;
    if (e.lat_samples > bench_ctl()->max_samples)
        e.lat_samples = bench_ctl()->max_samples;
    if (o->reps > 256)
        o->reps = 256;
#ifndef SCB_BENCH_NATS
    for (c = BR_ALONE_CORE; c <= BR_ALONE_LAT; c++) {
        res[c].status = ST_SKIPPED;
        snprintf(res[c].note, sizeof res[c].note, "this scb-bench was built "
                 "without libnats (configure --with-nats)");
    }
#endif

    if (find_bridge(e.bridge, sizeof e.bridge, why, sizeof why) != 0 ||
        find_server(e.server, sizeof e.server, why, sizeof why) != 0) {
        /* Not a failure: the bridge is optional.  Said once, where the
         * report goes. */
        if (!json || json_path != NULL)
            printf("scb-bench --bridge: skipped, nothing measured: %s\n", why);
        else
            fprintf(stderr, "scb-bench: --bridge: skipped, nothing measured: %s\n",
                    why);
        return br_report(stdout, info, &e, res, quick, json, json_path, why) ? 1 : 0;
    }
    samples = malloc(e.lat_samples * sizeof *samples);
    if (samples == NULL) {
        fprintf(stderr, "scb-bench: out of memory\n");
        return 1;
    }
    snprintf(tmpl, sizeof tmpl, "%.900s/scb-bench-bridge.XXXXXX",
             tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "scb-bench: --bridge: mkdtemp %s: %s\n", tmpl, strerror(errno));
        free(samples);
        return 1;
    }
    memcpy(e.dir, tmpl, sizeof e.dir);
    bench_track_dir(e.dir);

    start = bench_now();
    server_version(&e);
    rc = start_server(&e, why, sizeof why);
    if (rc == -2 || bench_interrupted()) {
        interrupted = 1;
    } else if (rc != 0) {
        fprintf(stderr, "scb-bench: --bridge: %s\n", why);
        for (c = 0; c < BR_NCASES; c++) {
            if (c == BR_LOCAL || res[c].status != ST_OK)
                continue;
            res[c].status = ST_FAILED;
            snprintf(res[c].note, sizeof res[c].note, "nats-server: %.380s", why);
        }
    } else if (!o->quiet) {
        int ncases = 0;

        for (c = 0; c < BR_NCASES; c++)
            ncases += res[c].status == ST_OK;
        fprintf(stderr, "scb-bench: --bridge: nats-server %s on %s; %d run%s of %d "
                "cases (Ctrl-C stops it and removes every process, ring and file "
                "it made)\n", e.server_version, e.url,
                o->reps, o->reps == 1 ? "" : "s", ncases);
    }

    /* Interleaved: the first run of every case, then the second... */
    for (rep = 0; rep < o->reps && !interrupted; rep++) {
        for (c = 0; c < BR_NCASES && !interrupted; c++) {
            struct br_result *r = &res[c];
            double rate = NAN;
            char line[160];

            if (r->status != ST_OK)
                continue;
            why[0] = '\0';
#ifdef SCB_BENCH_NATS
            if (c >= BR_ALONE_CORE)
                rc = br_alone_run(&e, (enum br_case)c, &rate, samples, e.lat_samples,
                                  why, sizeof why);
            else
#endif
                rc = run_once(&e, (enum br_case)c, &rate, samples, e.lat_samples,
                              why, sizeof why);
            if (rc == -2 || bench_interrupted()) {
                interrupted = 1;
                break;
            }
            if (rc != 0) {
                r->status = ST_FAILED;
                snprintf(r->note, sizeof r->note, "run %d: %.380s", rep + 1, why);
                fprintf(stderr, "scb-bench: %s: FAILED: %s\n",
                        br_case_label((enum br_case)c), r->note);
                continue;
            }
            if (br_case_latency((enum br_case)c)) {
                bench_sort_u64(samples, e.lat_samples);
                r->p50[r->nreps] = bench_percentile(samples, e.lat_samples, 50);
                r->p90[r->nreps] = bench_percentile(samples, e.lat_samples, 90);
                r->p99[r->nreps] = bench_percentile(samples, e.lat_samples, 99);
                snprintf(line, sizeof line, "p50 %.0f us, p99 %.0f us",
                         r->p50[r->nreps] / 1e3, r->p99[r->nreps] / 1e3);
            } else {
                char fr[48];
                r->rate[r->nreps] = rate;
                bench_fmt_rate(fr, sizeof fr, rate);
                snprintf(line, sizeof line, "%s%s/s", fr,
                         c >= BR_ALONE_CORE ? "msg" : "items");
            }
            r->nreps++;
            if (!o->quiet)
                fprintf(stderr, "scb-bench: [run %d/%d, %.0f s] %s: %s\n", rep + 1,
                        o->reps, (double)(bench_now() - start) / 1e9,
                        br_case_label((enum br_case)c), line);
        }
    }
    info->elapsed = (double)(bench_now() - start) / 1e9;
    info->interrupted = interrupted;
    for (c = 0; c < BR_NCASES; c++) {
        info->failed += res[c].status == ST_FAILED;
        info->skipped += res[c].status == ST_SKIPPED;
    }
    bench_cleanup(); /* the server, and the temporary directory */
    free(samples);
    if (interrupted)
        fprintf(stderr, "scb-bench: interrupted; every process, ring and file it "
                "made is removed; partial results follow\n");
    if (br_report(stdout, info, &e, res, quick, json, json_path, NULL) != 0)
        return 1;
    if (interrupted)
        bench_die_of_signal();
    return info->failed ? 1 : 0;
}
