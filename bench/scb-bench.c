/*
 * scb-bench.c - the libscb benchmark: throughput and round-trip latency of
 * libscb against a pipe, a Unix domain socket and a POSIX message queue,
 * measured side by side in one run, through the public API only.
 *
 *     scb-bench [--quick] [--duration S] [--reps N] [--sizes LIST]
 *               [--readers LIST] [--backend LIST] [--json[=FILE]]
 *               [--csv[=FILE]] [--plot FILE.svg] ...
 *     scb-bench --neighbour [--quick] [--duration S] [--reps N]
 *               [--backend NAME] [--json[=FILE]]
 *     scb-bench --bridge [--quick] [--reps N] [--backend NAME] [--json[=FILE]]
 *
 * Every case runs in fresh processes (fork), pinned to different CPUs where
 * the machine has several; every receiver checks the sequence number of
 * every item.  The repetitions are interleaved (the first of every case,
 * then the second...), so a burst of load from elsewhere spoils at most a
 * repetition or two of a case and the median sets it aside.  The table goes
 * to stdout, progress to stderr.  Exit status: 0, 1 if a case failed, 2 for
 * bad usage, or the signal's when interrupted.
 *
 * --neighbour runs one experiment instead, with a table of its own: what a
 * ping-pong that sleeps every round costs a CPU-bound process on another CPU,
 * through rings with full fences and with SCB_ASYM_BARRIERS.
 *
 * --bridge runs the NATS bridge's cases instead (bridge.c), with a table of
 * their own: scb-bridge out -> nats-server -> scb-bridge in, core NATS and
 * JetStream, beside the same ring read locally, and the latency of one item.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <scb.h>

#include "bench.h"

#define DEFAULT_DURATION 0.25
#define DEFAULT_REPS 7
#define DEFAULT_BRIDGE_REPS 5
#define DEFAULT_ROUNDS 10000
#define DEFAULT_RING_BYTES (1024u * 1024u)
#define MAX_REPS 100
#define MAX_ROUNDS 10000000ull
#define MAX_CASES 512
#define NB_ROWS 6               /* --neighbour: 3 kinds of traffic x registered or not */

static const size_t default_sizes[] = {8, 64, 1024, 65536};
static const size_t quick_sizes[] = {8, 1024};
static const int default_readers[] = {1, 3};

static void usage(FILE *out)
{
    fprintf(out,
"Usage: scb-bench [OPTION]...\n"
"Measures libscb against a pipe, a Unix domain socket and a POSIX message\n"
"queue on this machine: throughput from one writer process to 1 and to N\n"
"reader processes (lossless and overwrite modes), the overwrite writer's\n"
"rate with and without a reader, records (64 B, 8-1000 B mixed against a\n"
"pipe, 64 KiB zero-copy against copying), the round trip of an 8-byte\n"
"item and of an 8-byte record, and scb_fd: the round trip asleep in poll\n"
"against two pipes, and the push rate beside a reader that called it.\n"
"Every receiver checks every item's sequence number.\n"
"\n"
"  -q, --quick            a short smoke run (a few seconds): 1 run per case\n"
"                         of 20 ms, sizes 8 B and 1 KiB, 300 rounds\n"
"  -d, --duration=SEC     seconds measured per run of a case (default %g)\n"
"  -r, --reps=N           runs per case; the median is reported (default %d)\n"
"  -s, --sizes=LIST       item sizes, e.g. 8,64,1K,64K (default; at least 8 B)\n"
"  -R, --readers=LIST     reader counts for the libscb throughput cases\n"
"                         (default 1,3; at most %d)\n"
"  -b, --backend=LIST     libscb backends to measure (default: every one built:\n"
"                         ",
        DEFAULT_DURATION, DEFAULT_REPS, BENCH_MAX_READERS);
    for (const char *const *b = scb_backends(); *b != NULL; b++)
        fprintf(out, "%s%s", b == scb_backends() ? "" : ", ", *b);
    fprintf(out, ")\n"
"      --rounds=N         round trips per latency run (default %d)\n"
"      --asym-barriers    create the rings with SCB_ASYM_BARRIERS (push and\n"
"                         pop without fences; Linux membarrier)\n"
"      --neighbour        instead of the cases above, only this: the loop rate\n"
"                         of a CPU-bound process alone on one CPU while two\n"
"                         processes on another ping-pong through two rings,\n"
"                         sleeping every round; with no ring traffic, with\n"
"                         full fences and with SCB_ASYM_BARRIERS, the process\n"
"                         registered for membarrier and not (6 rows, about\n"
"                         %.0f s; takes --quick, --duration, --reps, one\n"
"                         --backend (default %s) and --json)\n"
"      --bridge           instead of the cases above, only the NATS bridge:\n"
"                         64-byte items through scb-bridge out -> nats-server\n"
"                         -> scb-bridge in (core NATS and JetStream R1, file\n"
"                         storage) beside the same ring read locally, and the\n"
"                         latency of one item through core NATS; against the\n"
"                         README's targets; beside them the same messages\n"
"                         through NATS alone (a publisher and a subscriber on\n"
"                         the NATS C client, no ring, no bridge; JetStream also\n"
"                         with no reader): the broker's own speed here.\n"
"                         It starts a nats-server of its own\n"
"                         ($SCB_NATS_SERVER, else the one configure found, else\n"
"                         PATH) on 127.0.0.1 and the scb-bridge next to\n"
"                         scb-bench ($SCB_BRIDGE_PROGRAM overrides); without\n"
"                         them it says so and exits 0.  Takes --quick, --reps\n"
"                         (default %d), one --backend, --json and --no-progress\n"
"                         (about %d s; --quick: a few)\n"
"      --ring=BYTES       ring capacity for throughput cases (default 1M; at\n"
"                         least %d items)\n"
"      --json[=FILE]      JSON instead of the table (or into FILE as well)\n"
"      --csv[=FILE]       CSV instead of the table (or into FILE as well)\n"
"      --plot=FILE.svg    a bar chart of the 1->1 throughput, through gnuplot\n"
"      --no-progress      nothing on stderr but errors\n"
"  -h, --help             this help\n"
"  -V, --version          the version\n"
"\n"
"Sizes take the suffixes K (KiB), M (MiB) and G (GiB).  The table shows each figure as\n"
"median [min-max] of the runs, and the ratio to the pipe measured in the same\n"
"run; `make bench` runs the default set, then --neighbour (about four\n"
"minutes on 2 CPUs), and --bridge when the bridge is built.\n",
        DEFAULT_ROUNDS, NB_ROWS * DEFAULT_REPS * (1.2 * DEFAULT_DURATION + 0.02),
        scb_backends()[0], DEFAULT_BRIDGE_REPS, 12 * DEFAULT_BRIDGE_REPS,
        2 * BENCH_BATCH);
}

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "scb-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'scb-bench --help'.\n");
    exit(2);
}

/* A size with an optional K/KiB/M/MiB suffix; 0 if malformed. */
static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return 0;
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        v *= 1024 * 1024 * 1024;
        end++;
    }
    if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
        end += strlen(end);
    return *end == '\0' && v < (1ull << 40) ? (uint64_t)v : 0;
}

static int parse_sizes(const char *arg, size_t *out, int max)
{
    char buf[256], *tok, *save = NULL;
    int n = 0;

    snprintf(buf, sizeof buf, "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        uint64_t v = parse_size(tok);
        if (v < BENCH_MIN_SIZE || v > BENCH_MAX_SIZE)
            die_usage("--sizes: '%s' is not a size from 8 B to 16M", tok);
        if (n == max)
            die_usage("--sizes: too many sizes in '%s'", arg);
        out[n++] = (size_t)v;
    }
    if (n == 0)
        die_usage("--sizes: no size in '%s'", arg);
    return n;
}

static int parse_readers(const char *arg, int *out, int max)
{
    char buf[256], *tok, *save = NULL, *end;
    int n = 0;
    long v;

    snprintf(buf, sizeof buf, "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        v = strtol(tok, &end, 10);
        if (*end != '\0' || v < 1 || v > BENCH_MAX_READERS)
            die_usage("--readers: '%s' is not a count from 1 to 16", tok);
        if (n == max)
            die_usage("--readers: too many counts in '%s'", arg);
        out[n++] = (int)v;
    }
    if (n == 0)
        die_usage("--readers: no count in '%s'", arg);
    return n;
}

static int parse_backends(const char *arg, const char **out, int max)
{
    char buf[256], *tok, *save = NULL;
    const char *const *b;
    int n = 0;

    snprintf(buf, sizeof buf, "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        for (b = scb_backends(); *b != NULL && strcmp(*b, tok) != 0; b++)
            ;
        if (*b == NULL) {
            fprintf(stderr, "scb-bench: --backend: '%s' is not built in; built in:", tok);
            for (b = scb_backends(); *b != NULL; b++)
                fprintf(stderr, " %s", *b);
            fprintf(stderr, "\n");
            exit(2);
        }
        if (n == max)
            die_usage("--backend: too many backends in '%s'", arg);
        out[n++] = *b; /* the library's static string */
    }
    if (n == 0)
        die_usage("--backend: no backend in '%s'", arg);
    return n;
}

static double parse_double(const char *arg, const char *opt, double lo, double hi)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || *end != '\0' || end == arg || !(v >= lo && v <= hi)) {
        fprintf(stderr, "scb-bench: %s: '%s' is not a number from %g to %g\n",
                opt, arg, lo, hi);
        exit(2);
    }
    return v;
}

/* --- the cases ------------------------------------------------------------ */

static struct bench_result g_res[MAX_CASES];
static int g_nres;

static struct bench_result *add_case(void)
{
    struct bench_result *r;

    if (g_nres == MAX_CASES) {
        fprintf(stderr, "scb-bench: too many cases; fewer sizes, readers or backends\n");
        exit(2);
    }
    r = &g_res[g_nres++];
    memset(r, 0, sizeof *r);
    return r;
}

static void add_tput(enum bench_transport tr, enum bench_mode mode,
                     enum bench_api api, const char *backend, size_t size,
                     int readers, uint64_t ring_bytes)
{
    struct bench_result *r = add_case();
    uint64_t len = ring_bytes / size;

    r->tc.transport = tr;
    r->tc.mode = mode;
    r->tc.api = api;
    r->tc.backend = backend;
    r->backend = backend;
    r->tc.size = size;
    r->tc.readers = readers;
    r->tc.length = len < 2 * BENCH_BATCH ? 2 * BENCH_BATCH : len;
}

/* A record case (records.c): one reader, lossless; the ring's length is in
 * bytes, a multiple of 8 and at least what the largest record needs. */
static void add_rec(enum bench_transport tr, enum bench_rec rec, const char *backend,
                    uint64_t ring_bytes)
{
    struct bench_result *r = add_case();
    size_t size = rec == REC_SMALL   ? BENCH_REC_SMALL
                  : rec == REC_MIXED ? BENCH_REC_MAX
                                     : BENCH_REC_BIG;
    uint64_t len = ring_bytes & ~(uint64_t)7, least = 2 * ((size + 7) / 8 * 8 + 16);

    r->tc.transport = tr;
    r->tc.mode = MODE_LOSSLESS;
    r->tc.api = API_ONE;
    r->tc.backend = backend;
    r->backend = backend;
    r->tc.size = size;
    r->tc.readers = 1;
    r->tc.length = len < least ? least : len;
    r->tc.rec = rec;
}

/* A push-rate case of events.c: 8-byte items, one reader. */
static void add_ev(enum bench_ev ev, const char *backend, uint64_t ring_bytes)
{
    add_tput(TR_SCB, MODE_OVERWRITE, API_ONE, backend, BENCH_EV_SIZE, 1, ring_bytes);
    g_res[g_nres - 1].tc.ev = ev;
}

static void add_lat(enum bench_lat lat, const char *backend)
{
    struct bench_result *r = add_case();

    r->is_latency = 1;
    r->lat = lat;
    r->backend = backend;
}

static void build_cases(const struct bench_info *info, uint64_t ring_bytes)
{
    int s, b, k;

    for (s = 0; s < info->nsizes; s++) {
        add_tput(TR_PIPE, MODE_LOSSLESS, API_ONE, NULL, info->sizes[s], 1, 0);
        add_tput(TR_SOCKET, MODE_LOSSLESS, API_ONE, NULL, info->sizes[s], 1, 0);
        add_tput(TR_MQ, MODE_LOSSLESS, API_ONE, NULL, info->sizes[s], 1, 0);
    }
    for (b = 0; b < info->nbackends; b++) {
        const char *be = info->backends[b];
        for (s = 0; s < info->nsizes; s++) {
            size_t size = info->sizes[s];
            for (k = 0; k < info->nreaders; k++)
                if (info->readers[k] == 1)
                    add_tput(TR_SCB, MODE_LOSSLESS, API_MANY, be, size, 1, ring_bytes);
            add_tput(TR_SCB, MODE_LOSSLESS, API_ONE, be, size, 1, ring_bytes);
            add_tput(TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 0, ring_bytes);
            for (k = 0; k < info->nreaders; k++)
                if (info->readers[k] == 1)
                    add_tput(TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 1, ring_bytes);
        }
        for (k = 0; k < info->nreaders; k++) {
            if (info->readers[k] == 1)
                continue;
            for (s = 0; s < info->nsizes; s++) {
                add_tput(TR_SCB, MODE_LOSSLESS, API_MANY, be, info->sizes[s],
                         info->readers[k], ring_bytes);
                add_tput(TR_SCB, MODE_OVERWRITE, API_MANY, be, info->sizes[s],
                         info->readers[k], ring_bytes);
            }
        }
    }
    /* The record cases, each after what it is compared with: the pipe
     * carrying the same mixed records, the fixed-size ring's scb_push /
     * scb_pop at 64 B (added when --sizes left 64 B out), the copying 64 KiB
     * case. */
    add_rec(TR_PIPE, REC_MIXED, NULL, 0);
    for (b = 0; b < info->nbackends; b++) {
        const char *be = info->backends[b];
        for (s = 0; s < info->nsizes && info->sizes[s] != BENCH_REC_SMALL; s++)
            ;
        if (s == info->nsizes)
            add_tput(TR_SCB, MODE_LOSSLESS, API_ONE, be, BENCH_REC_SMALL, 1, ring_bytes);
        add_rec(TR_SCB, REC_SMALL, be, ring_bytes);
        add_rec(TR_SCB, REC_MIXED, be, ring_bytes);
        add_rec(TR_SCB, REC_COPY, be, ring_bytes);
        add_rec(TR_SCB, REC_ZEROCOPY, be, ring_bytes);
        add_ev(EV_PLAIN, be, ring_bytes);
        add_ev(EV_FD, be, ring_bytes);
    }
    add_lat(LAT_LINE, NULL);
    add_lat(LAT_PIPE, NULL);
    add_lat(LAT_PIPE_POLL, NULL);
    for (b = 0; b < info->nbackends; b++) {
        add_lat(LAT_BUSY, info->backends[b]);
        add_lat(LAT_REC_BUSY, info->backends[b]);
        add_lat(LAT_WAIT, info->backends[b]);
        add_lat(LAT_SLEEP, info->backends[b]);
        add_lat(LAT_FD, info->backends[b]);
    }
}

/* Runs repetition `rep` of case r; returns -2 if interrupted. */
static int run_case(struct bench_result *r, int rep, const struct bench_opts *o,
                    uint64_t *samples)
{
    char why[256] = "";
    int rc;

    if (r->is_latency) {
        if (r->lat == LAT_PIPE)
            rc = bench_pipe_latency(o, samples, why, sizeof why);
        else if (r->lat == LAT_LINE)
            rc = bench_line_latency(o, samples, why, sizeof why);
        else if (r->lat == LAT_REC_BUSY)
            rc = bench_rec_latency(r->backend, o, samples, why, sizeof why);
        else if (r->lat == LAT_FD || r->lat == LAT_PIPE_POLL)
            rc = bench_ev_latency(r->lat, r->backend, o, samples, why, sizeof why);
        else
            rc = bench_scb_latency(r->lat, r->backend, o, samples, why, sizeof why);
        if (rc == 0) {
            r->p50[r->nreps] = bench_percentile(samples, o->rounds, 50);
            r->p99[r->nreps] = bench_percentile(samples, o->rounds, 99);
        }
    } else if (r->tc.rec != REC_NONE) {
        rc = bench_rec_tput(&r->tc, o, &r->rep[r->nreps], why, sizeof why);
    } else if (r->tc.ev != EV_NONE) {
        rc = bench_ev_tput(&r->tc, o, &r->rep[r->nreps], why, sizeof why);
    } else if (r->tc.transport == TR_SCB) {
        rc = bench_scb_tput(&r->tc, o, &r->rep[r->nreps], why, sizeof why);
    } else {
        rc = bench_base_tput(&r->tc, o, &r->rep[r->nreps], why, sizeof why);
    }
    if (rc == 0) {
        r->nreps++;
        return 0;
    }
    if (rc == -2)
        return -2;
    r->status = rc == 1 ? ST_SKIPPED : ST_FAILED;
    if (rc == 1)
        snprintf(r->note, sizeof r->note, "%s", why);
    else
        snprintf(r->note, sizeof r->note, "run %d: %s", rep + 1, why);
    return rc;
}

/* One line for people about the latest run of r. */
static void describe_last(char *buf, size_t len, const struct bench_result *r)
{
    char name[96], sz[32], rate[48];

    bench_case_name(name, sizeof name, r);
    if (r->is_latency) {
        snprintf(buf, len, "%s: p50 %.0f ns, p99 %.0f ns", name,
                 r->p50[r->nreps - 1], r->p99[r->nreps - 1]);
        return;
    }
    bench_fmt_rate(rate, sizeof rate, bench_headline(r, r->nreps - 1));
    if (r->tc.rec != REC_NONE) {
        snprintf(buf, len, "%s: %srecords/s", name, rate);
        return;
    }
    bench_fmt_size(sz, sizeof sz, r->tc.size);
    snprintf(buf, len, "%s, %s, %d reader%s: %sitems/s%s", name, sz,
             r->tc.readers, r->tc.readers == 1 ? "" : "s", rate,
             r->tc.readers == 0 || r->tc.ev != EV_NONE ? " pushed" : "");
}

static double clock_cost(void)
{
    uint64_t t0 = bench_now(), t = 0;
    int i;

    for (i = 0; i < 100000; i++)
        t += bench_now();
    (void)t;
    return (double)(bench_now() - t0) / 100000.0;
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        fprintf(stderr, "scb-bench: %s: %s\n", path, strerror(errno));
    return f;
}

/* --- --neighbour ---------------------------------------------------------- */

/* Runs the neighbour experiment, prints its table (or JSON) and returns the
 * exit status; exits as the signal would when interrupted. */
static int run_neighbour(struct bench_opts *o, struct bench_info *info, int json,
                         const char *json_path)
{
    struct bench_nb_result res[NB_ROWS];
    const char *be = info->backends[0];
    char why[256] = "";
    uint64_t start;
    int i, rep, rc, interrupted = 0, progress_tty = !o->quiet && isatty(STDERR_FILENO);

    memset(res, 0, sizeof res);
    for (i = 0; i < NB_ROWS; i++) {
        res[i].traffic = (enum bench_traffic)(i / 2);
        res[i].registered = i % 2;
        res[i].rep = calloc((size_t)o->reps, sizeof *res[i].rep);
        if (res[i].rep == NULL) {
            fprintf(stderr, "scb-bench: out of memory\n");
            return 1;
        }
    }
    start = bench_now();
    info->asym_barriers = -1; /* not known until the probe */
    if (!info->pinned) {
        for (i = 0; i < NB_ROWS; i++) {
            res[i].status = ST_SKIPPED;
            snprintf(res[i].note, sizeof res[i].note, "needs 2 usable CPUs and "
                     "pinning (Linux); %d usable", info->cpus_usable);
        }
        fprintf(stderr, "scb-bench: --neighbour needs 2 usable CPUs and pinning "
                "(Linux); this run has %d usable CPU%s: nothing measured\n",
                info->cpus_usable, info->cpus_usable == 1 ? "" : "s");
    } else {
        rc = bench_neighbour_probe(be, &info->asym_barriers, why, sizeof why);
        if (rc == -2 || bench_interrupted())
            interrupted = 1;
        for (i = 0; i < NB_ROWS && !interrupted; i++) {
            if (rc != 0) {
                res[i].status = rc == 1 ? ST_SKIPPED : ST_FAILED;
                snprintf(res[i].note, sizeof res[i].note, "membarrier probe: %s", why);
            } else if (info->asym_barriers != 1 &&
                       (res[i].traffic == NB_ASYM || res[i].registered)) {
                res[i].status = ST_SKIPPED;
                snprintf(res[i].note, sizeof res[i].note, "membarrier not available "
                         "(a ring made with SCB_ASYM_BARRIERS does not report it)");
            }
        }
        if (rc != 0 && !interrupted)
            fprintf(stderr, "scb-bench: neighbour: membarrier probe: %s\n", why);
        if (!o->quiet && !interrupted)
            fprintf(stderr, "scb-bench: neighbour: %d rows x %d run%s, about %.0f s "
                    "(Ctrl-C stops it and removes every ring it made)\n", NB_ROWS,
                    o->reps, o->reps == 1 ? "" : "s",
                    NB_ROWS * o->reps * (o->warmup + o->duration + 0.02));
    }

    /* Interleaved, as the cases are: the first run of every row, then the
     * second...; the baseline is measured among the others. */
    for (rep = 0; rep < o->reps && !interrupted; rep++) {
        for (i = 0; i < NB_ROWS && !interrupted; i++) {
            struct bench_nb_result *r = &res[i];
            char line[320], rounds[48], loops[48];

            if (r->status != ST_OK)
                continue;
            rc = bench_neighbour(r->traffic, r->registered, be, o, &r->rep[r->nreps],
                                 why, sizeof why);
            if (rc == -2 || bench_interrupted()) {
                interrupted = 1;
                break;
            }
            snprintf(line, sizeof line, "neighbour, %s, %sregistered",
                     bench_traffic_name(r->traffic), r->registered ? "" : "not ");
            if (rc != 0) {
                r->status = rc == 1 ? ST_SKIPPED : ST_FAILED;
                if (rc == 1)
                    snprintf(r->note, sizeof r->note, "%s", why);
                else
                    snprintf(r->note, sizeof r->note, "run %d: %s", rep + 1, why);
                if (progress_tty)
                    fputs("\r\033[K", stderr);
                fprintf(stderr, "scb-bench: %s: %s: %s\n", line,
                        r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
                continue;
            }
            r->nreps++;
            if (o->quiet)
                continue;
            bench_fmt_rate(loops, sizeof loops, r->rep[r->nreps - 1].loops);
            bench_fmt_rate(rounds, sizeof rounds, r->rep[r->nreps - 1].rounds);
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     ": %s loop turns/s", loops);
            if (r->traffic != NB_QUIET)
                snprintf(line + strlen(line), sizeof line - strlen(line),
                         ", %s round trips/s", rounds);
            if (progress_tty)
                fprintf(stderr, "\r\033[K[run %d/%d, row %d/%d, %.0f s] %s", rep + 1,
                        o->reps, i + 1, NB_ROWS, (double)(bench_now() - start) / 1e9,
                        line);
            else if (rep == 0)
                fprintf(stderr, "scb-bench: %s\n", line);
        }
    }
    if (progress_tty)
        fputs("\r\033[K", stderr);
    info->elapsed = (double)(bench_now() - start) / 1e9;
    info->pin_failed = bench_any_unpinned();
    info->interrupted = interrupted;
    for (i = 0; i < NB_ROWS; i++) {
        info->failed += res[i].status == ST_FAILED;
        info->skipped += res[i].status == ST_SKIPPED;
    }
    bench_cleanup();
    if (interrupted)
        fprintf(stderr, "scb-bench: interrupted; every ring it made is removed; "
                "partial results follow\n");
    if (json) {
        FILE *f = json_path ? open_out(json_path) : stdout;
        if (f == NULL)
            return 1;
        bench_report_nb_json(f, info, res, NB_ROWS);
        if (f != stdout && fclose(f) != 0)
            return 1;
    }
    if (!json || json_path != NULL)
        bench_report_nb_table(stdout, info, res, NB_ROWS);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scb-bench: writing the report: %s\n", strerror(errno));
        return 1;
    }
    if (interrupted)
        bench_die_of_signal();
    for (i = 0; i < NB_ROWS; i++)
        free(res[i].rep);
    return info->failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    enum { OPT_ROUNDS = 256, OPT_RING, OPT_JSON, OPT_CSV, OPT_PLOT, OPT_NOPROG,
           OPT_ASYM, OPT_NEIGHBOUR, OPT_BRIDGE };
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},
        {"duration", required_argument, NULL, 'd'},
        {"reps", required_argument, NULL, 'r'},
        {"sizes", required_argument, NULL, 's'},
        {"readers", required_argument, NULL, 'R'},
        {"backend", required_argument, NULL, 'b'},
        {"backends", required_argument, NULL, 'b'},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"ring", required_argument, NULL, OPT_RING},
        {"json", optional_argument, NULL, OPT_JSON},
        {"csv", optional_argument, NULL, OPT_CSV},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"no-progress", no_argument, NULL, OPT_NOPROG},
        {"asym-barriers", no_argument, NULL, OPT_ASYM},
        {"neighbour", no_argument, NULL, OPT_NEIGHBOUR},
        {"bridge", no_argument, NULL, OPT_BRIDGE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    struct bench_opts o;
    struct bench_info info;
    struct utsname un;
    int quick = 0, set_dur = 0, set_reps = 0, set_rounds = 0, set_sizes = 0;
    int set_readers = 0, set_backends = 0, set_ring = 0, json = 0, csv = 0;
    int neighbour = 0, bridge = 0;
    const char *json_path = NULL, *csv_path = NULL, *plot_path = NULL;
    uint64_t *samples, start, ncases_runs;
    int c, i, rep, progress_tty, failed = 0, interrupted = 0;
    double estimate;

    memset(&o, 0, sizeof o);
    memset(&info, 0, sizeof info);
    o.duration = DEFAULT_DURATION;
    o.reps = DEFAULT_REPS;
    o.rounds = DEFAULT_ROUNDS;
    o.ring_bytes = DEFAULT_RING_BYTES;

    while ((c = getopt_long(argc, argv, "qd:r:s:R:b:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': quick = 1; break;
        case 'd':
            o.duration = parse_double(optarg, "--duration", 0.001, 3600);
            set_dur = 1;
            break;
        case 'r':
            o.reps = (int)parse_double(optarg, "--reps", 1, MAX_REPS);
            set_reps = 1;
            break;
        case 's':
            info.nsizes = parse_sizes(optarg, info.sizes, 16);
            set_sizes = 1;
            break;
        case 'R':
            info.nreaders = parse_readers(optarg, info.readers, 8);
            set_readers = 1;
            break;
        case 'b':
            info.nbackends = parse_backends(optarg, info.backends, 8);
            set_backends = 1;
            break;
        case OPT_ROUNDS:
            o.rounds = (uint64_t)parse_double(optarg, "--rounds", 100, (double)MAX_ROUNDS);
            set_rounds = 1;
            break;
        case OPT_RING:
            o.ring_bytes = parse_size(optarg);
            if (o.ring_bytes == 0 || o.ring_bytes > (1ull << 34))
                die_usage("--ring: '%s' is not a size up to 16G", optarg);
            set_ring = 1;
            break;
        case OPT_JSON: json = 1; json_path = optarg; break;
        case OPT_CSV: csv = 1; csv_path = optarg; break;
        case OPT_PLOT: plot_path = optarg; break;
        case OPT_NOPROG: o.quiet = 1; break;
        case OPT_ASYM: bench_create_flags |= SCB_ASYM_BARRIERS; break;
        case OPT_NEIGHBOUR: neighbour = 1; break;
        case OPT_BRIDGE: bridge = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V':
            printf("scb-bench (libscb) %s, library %s\n", PACKAGE_VERSION, scb_version());
            return 0;
        default:
            fprintf(stderr, "Try 'scb-bench --help'.\n");
            return 2;
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (json && csv && json_path == NULL && csv_path == NULL)
        die_usage("%s", "--json and --csv cannot both go to stdout: give one a file");
    if (bridge) {
        /* Its own items, rings and programs: no sizes, no durations. */
        if (neighbour || set_dur || set_sizes || set_readers || set_rounds ||
            set_ring || csv || plot_path != NULL || bench_create_flags != 0)
            die_usage("%s", "--bridge takes only --quick, --reps, --backend, "
                      "--json and --no-progress");
        if (info.nbackends > 1)
            die_usage("%s", "--bridge measures one backend: give one to --backend");
        if (!set_reps)
            o.reps = quick ? 1 : DEFAULT_BRIDGE_REPS;
    }
    if (neighbour) {
        /* It measures both kinds of ring itself, one backend, no sizes. */
        if (set_sizes || set_readers || set_rounds || set_ring || csv ||
            plot_path != NULL || bench_create_flags != 0)
            die_usage("%s", "--neighbour takes only --quick, --duration, --reps, "
                      "--backend, --json and --no-progress");
        if (info.nbackends > 1)
            die_usage("%s", "--neighbour measures one backend: give one to --backend");
    }

    if (quick) {
        if (!set_dur)
            o.duration = 0.02;
        if (!set_reps)
            o.reps = 1;
        if (!set_rounds)
            o.rounds = 300;
        if (!set_sizes) {
            info.nsizes = (int)(sizeof quick_sizes / sizeof quick_sizes[0]);
            memcpy(info.sizes, quick_sizes, sizeof quick_sizes);
        }
    }
    o.warmup = o.duration / 5 < 0.005 ? 0.005 : o.duration / 5;
    if (!set_sizes && !quick) {
        info.nsizes = (int)(sizeof default_sizes / sizeof default_sizes[0]);
        memcpy(info.sizes, default_sizes, sizeof default_sizes);
    }
    if (!set_readers) {
        info.nreaders = (int)(sizeof default_readers / sizeof default_readers[0]);
        memcpy(info.readers, default_readers, sizeof default_readers);
    }
    if (!set_backends) {
        for (const char *const *b = scb_backends(); *b != NULL && info.nbackends < 8; b++)
            info.backends[info.nbackends++] = *b;
    }

    if (bench_init(o.rounds) != 0) {
        fprintf(stderr, "scb-bench: cannot map the shared control block: %s\n",
                strerror(errno));
        return 1;
    }
    samples = malloc(o.rounds * sizeof *samples);
    if (samples == NULL) {
        fprintf(stderr, "scb-bench: out of memory\n");
        return 1;
    }
    info.opts = &o;
    info.cpus_usable = bench_cpus(NULL, 0, &info.cpus_online);
    info.pinned = bench_can_pin();
    if (uname(&un) == 0)
        snprintf(info.system, sizeof info.system, "%s %s %s", un.sysname,
                 un.release, un.machine);
    else
        snprintf(info.system, sizeof info.system, "unknown system");
    info.clock_ns = clock_cost();
    if (neighbour) {
        info.nbackends = 1; /* the default backend unless --backend named one */
        free(samples);
        return run_neighbour(&o, &info, json, json_path);
    }
    if (bridge) {
        info.nbackends = 1;
        free(samples);
        return bench_bridge_main(&o, &info, quick, json, json_path);
    }

    build_cases(&info, o.ring_bytes);
    for (i = 0; i < g_nres; i++) {
        struct bench_result *r = &g_res[i];
        r->rep = calloc((size_t)o.reps, sizeof *r->rep);
        r->p50 = calloc((size_t)o.reps, sizeof *r->p50);
        r->p99 = calloc((size_t)o.reps, sizeof *r->p99);
        if (r->rep == NULL || r->p50 == NULL || r->p99 == NULL) {
            fprintf(stderr, "scb-bench: out of memory\n");
            return 1;
        }
    }

    /* A rough forecast: each throughput run is warm-up + window + ~15 ms of
     * set-up; a round trip costs ~70 us through a pipe or a futex. */
    ncases_runs = 0;
    estimate = 0;
    for (i = 0; i < g_nres; i++) {
        if (g_res[i].is_latency)
            estimate += (g_res[i].lat == LAT_BUSY || g_res[i].lat == LAT_LINE ||
                         g_res[i].lat == LAT_REC_BUSY
                         ? 2e-6 : 70e-6) *
                        (double)o.rounds * 1.1 + 0.015;
        else
            estimate += o.warmup + o.duration + 0.015;
        ncases_runs++;
    }
    estimate *= o.reps;
    progress_tty = !o.quiet && isatty(STDERR_FILENO);
    if (!o.quiet)
        fprintf(stderr, "scb-bench: %d cases x %d run%s on %d CPUs, about %.0f s "
                "(Ctrl-C stops it and removes every ring it made)\n", g_nres,
                o.reps, o.reps == 1 ? "" : "s", info.cpus_usable, estimate);

    start = bench_now();
    for (rep = 0; rep < o.reps && !interrupted; rep++) {
        for (i = 0; i < g_nres && !interrupted; i++) {
            struct bench_result *r = &g_res[i];
            char line[320];
            int rc;

            if (r->status != ST_OK)
                continue;
            rc = run_case(r, rep, &o, samples);
            if (rc == -2 || bench_interrupted()) {
                interrupted = 1;
                break;
            }
            if (rc != 0) {
                char sz[32];
                bench_case_name(line, sizeof line, r);
                bench_fmt_size(sz, sizeof sz, r->is_latency ? 8 : r->tc.size);
                if (r->tc.rec == REC_MIXED)
                    snprintf(sz, sizeof sz, "8-1000 B");
                if (progress_tty)
                    fputs("\r\033[K", stderr);
                fprintf(stderr, "scb-bench: %s, %s: %s: %s\n", line, sz,
                        r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
                continue;
            }
            if (o.quiet)
                continue;
            describe_last(line, sizeof line, r);
            if (progress_tty)
                fprintf(stderr, "\r\033[K[run %d/%d, case %d/%d, %.0f s] %s", rep + 1,
                        o.reps, i + 1, g_nres, (double)(bench_now() - start) / 1e9,
                        line);
            else if (rep == 0)
                fprintf(stderr, "scb-bench: %s\n", line);
        }
        if (!o.quiet && !progress_tty && !interrupted && o.reps > 1)
            fprintf(stderr, "scb-bench: run %d of %d of every case done, %.0f s\n",
                    rep + 1, o.reps, (double)(bench_now() - start) / 1e9);
    }
    if (progress_tty)
        fputs("\r\033[K", stderr);
    info.elapsed = (double)(bench_now() - start) / 1e9;
    info.pin_failed = bench_any_unpinned();
    info.interrupted = interrupted;
    for (i = 0; i < g_nres; i++) {
        failed += g_res[i].status == ST_FAILED;
        info.skipped += g_res[i].status == ST_SKIPPED;
    }
    info.failed = failed;
    bench_cleanup();
    if (interrupted)
        fprintf(stderr, "scb-bench: interrupted; every ring it made is removed; "
                "partial results follow\n");

    if (json) {
        FILE *f = json_path ? open_out(json_path) : stdout;
        if (f == NULL)
            return 1;
        bench_report_json(f, &info, g_res, g_nres);
        if (f != stdout && fclose(f) != 0)
            return 1;
    }
    if (csv) {
        FILE *f = csv_path ? open_out(csv_path) : stdout;
        if (f == NULL)
            return 1;
        bench_report_csv(f, &info, g_res, g_nres);
        if (f != stdout && fclose(f) != 0)
            return 1;
    }
    if ((!json || json_path != NULL) && (!csv || csv_path != NULL))
        bench_report_table(stdout, &info, g_res, g_nres);
    if (plot_path != NULL && bench_report_plot(plot_path, &info, g_res, g_nres) < 0)
        failed++;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scb-bench: writing the report: %s\n", strerror(errno));
        return 1;
    }
    if (interrupted)
        bench_die_of_signal();
    for (i = 0; i < g_nres; i++) {
        free(g_res[i].rep);
        free(g_res[i].p50);
        free(g_res[i].p99);
    }
    free(samples);
    return failed ? 1 : 0;
}
