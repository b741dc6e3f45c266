/*
 * report.c - the figures of a run and the table for people: statistics over
 * the repetitions (each figure is their median, with the lowest and highest
 * beside it), the names of the cases, the formatting of sizes, rates and
 * times, and the tables.  What each case is compared with, and the speed
 * targets the table shows, are in targets.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <math.h> /* isnan, isinf, NAN, INFINITY: macros, no libm */
#include <stdlib.h>

#include <scb.h>

#include "bench.h"

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

struct bench_stat bench_stat_of(const double *v, int n)
{
    struct bench_stat s = {NAN, NAN, NAN, 0};
    double tmp[256];
    int i;

    if (n <= 0)
        return s;
    if (n > 256)
        n = 256;
    for (i = 0; i < n; i++)
        tmp[i] = v[i];
    qsort(tmp, (size_t)n, sizeof tmp[0], cmp_double);
    s.n = n;
    s.min = tmp[0];
    s.max = tmp[n - 1];
    s.med = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
    return s;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

void bench_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
}

double bench_percentile(const uint64_t *v, uint64_t n, unsigned p)
{
    uint64_t rank = (p * n + 99) / 100;

    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1];
}

double bench_headline(const struct bench_result *r, int rep)
{
    const struct bench_sample *s = &r->rep[rep];
    double v;
    int i;

    if (r->tc.readers == 0 || r->tc.ev != EV_NONE)
        return s->writer;
    if (r->tc.transport != TR_SCB)
        return s->reader[0];
    if (r->tc.mode == MODE_LOSSLESS) {
        /* Every reader received every item: the slowest sets the pace. */
        for (v = s->reader[0], i = 1; i < r->tc.readers; i++)
            if (s->reader[i] < v)
                v = s->reader[i];
        return v;
    }
    for (v = 0, i = 0; i < r->tc.readers; i++)
        v += s->reader[i];
    return v / r->tc.readers; /* overwrite: the mean delivered rate */
}

struct bench_stat bench_series(const struct bench_result *r, enum bench_series_kind what,
                               int reader)
{
    double v[256];
    int i, j, n = r->nreps < 256 ? r->nreps : 256;

    for (i = 0; i < n; i++) {
        switch (what) {
        case SER_HEAD: v[i] = bench_headline(r, i); break;
        case SER_WRITER: v[i] = r->rep[i].writer; break;
        case SER_READER: v[i] = r->rep[i].reader[reader]; break;
        case SER_LOSS: v[i] = r->rep[i].loss[reader]; break;
        case SER_LOSS_MEAN:
            for (v[i] = 0, j = 0; j < r->tc.readers; j++)
                v[i] += r->rep[i].loss[j];
            v[i] = r->tc.readers > 0 ? v[i] / r->tc.readers : 0;
            break;
        case SER_P50: v[i] = r->p50[i]; break;
        case SER_P99: v[i] = r->p99[i]; break;
        case SER_BYTES:
            v[i] = r->tc.rec != REC_NONE ? r->rep[i].bytes
                                         : bench_headline(r, i) * (double)r->tc.size;
            break;
        }
    }
    return bench_stat_of(v, n);
}

/* --- names and numbers ---------------------------------------------------- */

void bench_fmt_size(char *buf, size_t len, size_t size)
{
    if (size >= 1048576 && size % 1048576 == 0)
        snprintf(buf, len, "%zu MiB", size / 1048576);
    else if (size >= 1024 && size % 1024 == 0)
        snprintf(buf, len, "%zu KiB", size / 1024);
    else
        snprintf(buf, len, "%zu B", size);
}

void bench_case_name(char *buf, size_t len, const struct bench_result *r)
{
    if (bench_ev_case_name(buf, len, r))
        return;
    if (r->is_latency) {
        if (r->lat == LAT_PIPE)
            snprintf(buf, len, "pipe ping-pong");
        else if (r->lat == LAT_LINE)
            snprintf(buf, len, "cache-line ping-pong (hardware floor)");
        else if (r->lat == LAT_REC_BUSY)
            snprintf(buf, len, "libscb %s busy-poll records", r->backend);
        else
            snprintf(buf, len, "libscb %s %s", r->backend,
                     r->lat == LAT_BUSY    ? "busy-poll scb_pop"
                     : r->lat == LAT_SLEEP ? "scb_pop_wait, no spin"
                                           : "scb_pop_wait");
        return;
    }
    if (r->tc.rec != REC_NONE) {
        if (r->tc.transport == TR_PIPE)
            snprintf(buf, len, "pipe, 8-1000 B, length-prefixed");
        else
            snprintf(buf, len, "libscb %s records, %s", r->tc.backend,
                     r->tc.rec == REC_SMALL   ? "64 B, push/pop_record"
                     : r->tc.rec == REC_MIXED ? "8-1000 B, push/pop_record"
                     : r->tc.rec == REC_COPY  ? "64 KiB, push/pop_record"
                                              : "64 KiB, reserve/peek");
        return;
    }
    switch (r->tc.transport) {
    case TR_PIPE: snprintf(buf, len, "pipe"); break;
    case TR_SOCKET: snprintf(buf, len, "unix socket (%s)", bench_socket_kind()); break;
    case TR_MQ: snprintf(buf, len, "POSIX mq"); break;
    case TR_SCB:
        snprintf(buf, len, "libscb %s %s, %s", r->tc.backend,
                 r->tc.mode == MODE_LOSSLESS ? "lossless" : "overwrite",
                 r->tc.api == API_ONE ? "push/pop" : "many/32");
        break;
    }
}

/* Scale of a value: 1e9, 1e6, 1e3 or 1, with its prefix. */
static double scale_of(double v, const char **prefix)
{
    if (v >= 1e9) { *prefix = "G"; return 1e9; }
    if (v >= 1e6) { *prefix = "M"; return 1e6; }
    if (v >= 1e3) { *prefix = "k"; return 1e3; }
    *prefix = "";
    return 1;
}

/* Three significant digits (more for large values) of v / scale. */
static void fmt_scaled(char *buf, size_t len, double v, double scale)
{
    double x = v / scale;

    if (isnan(x))
        snprintf(buf, len, "-");
    else if (x < 10)
        snprintf(buf, len, "%.2f", x);
    else if (x < 100)
        snprintf(buf, len, "%.1f", x);
    else
        snprintf(buf, len, "%.0f", x);
}

/* "210 M [205-215]" */
void bench_fmt_rate_spread(char *buf, size_t len, struct bench_stat s)
{
    const char *p;
    double sc = scale_of(s.med, &p);
    char a[24], b[24], c[24];

    fmt_scaled(a, sizeof a, s.med, sc);
    if (s.n > 1) {
        fmt_scaled(b, sizeof b, s.min, sc);
        fmt_scaled(c, sizeof c, s.max, sc);
        snprintf(buf, len, "%s %s [%s-%s]", a, p, b, c);
    } else {
        snprintf(buf, len, "%s %s", a, p);
    }
}

void bench_fmt_rate(char *buf, size_t len, double v)
{
    const char *p;
    double sc = scale_of(v, &p);
    char a[24];

    fmt_scaled(a, sizeof a, v, sc);
    snprintf(buf, len, "%s %s", a, p);
}

/* Bytes per second, decimal: "1.68 GB/s". */
void bench_fmt_bytes(char *buf, size_t len, double v)
{
    const char *p;
    double sc = scale_of(v, &p);
    char a[24];

    fmt_scaled(a, sizeof a, v, sc);
    snprintf(buf, len, "%s %sB/s", a, p);
}

/* Nanoseconds for people: "410 ns", "62.1 us", "1.20 ms". */
void bench_fmt_time(char *buf, size_t len, double ns)
{
    char a[24];

    if (isnan(ns))
        snprintf(buf, len, "-");
    else if (ns < 1000) {
        snprintf(buf, len, "%.0f ns", ns);
    } else if (ns < 1e6) {
        fmt_scaled(a, sizeof a, ns, 1e3);
        snprintf(buf, len, "%s us", a);
    } else {
        fmt_scaled(a, sizeof a, ns, 1e6);
        snprintf(buf, len, "%s ms", a);
    }
}

/* "42.3 us [40.6-53.4]": the spread in the median's unit. */
void bench_fmt_time_spread(char *buf, size_t len, struct bench_stat s)
{
    char a[32], b[24], c[24]; /* fmt_time: at most 27 bytes */
    double unit = s.med < 1000 ? 1 : s.med < 1e6 ? 1e3 : 1e6;

    bench_fmt_time(a, sizeof a, s.med);
    if (s.n > 1 && !isnan(s.med)) {
        if (unit == 1) {
            snprintf(b, sizeof b, "%.0f", s.min);
            snprintf(c, sizeof c, "%.0f", s.max);
        } else {
            fmt_scaled(b, sizeof b, s.min, unit);
            fmt_scaled(c, sizeof c, s.max, unit);
        }
        snprintf(buf, len, "%s [%s-%s]", a, b, c);
    } else {
        snprintf(buf, len, "%s", a);
    }
}

void bench_fmt_ratio(char *buf, size_t len, double x)
{
    if (isnan(x) || x <= 0)
        snprintf(buf, len, "-");
    else if (x < 10)
        snprintf(buf, len, "%.2fx", x);
    else
        snprintf(buf, len, "%.1fx", x);
}

/* --- the table ------------------------------------------------------------ */

static void table_header(FILE *out, const struct bench_info *info)
{
    const struct bench_opts *o = info->opts;
    char sizes[160] = "", sz[32];
    int i;

    for (i = 0; i < info->nsizes; i++) {
        bench_fmt_size(sz, sizeof sz, info->sizes[i]);
        if (i > 0)
            strncat(sizes, ", ", sizeof sizes - strlen(sizes) - 1);
        strncat(sizes, sz, sizeof sizes - strlen(sizes) - 1);
    }
    fprintf(out, "scb-bench %s (libscb %s) on %s\n", PACKAGE_VERSION,
            scb_version(), info->system);
    fprintf(out, "CPUs: %d online, %d usable by this run; ", info->cpus_online,
            info->cpus_usable);
    if (info->pinned)
        fprintf(out, "each process pinned (writer on one CPU, readers on the next)%s\n",
                info->pin_failed ? ", but some pinning failed" : "");
    else
        fprintf(out, "processes not pinned\n");
    fprintf(out, "rings: %s\n", (bench_create_flags & SCB_ASYM_BARRIERS)
                                   ? "asymmetric barriers (SCB_ASYM_BARRIERS)"
                                   : "full fences (the default)");
    fprintf(out, "backends: ");
    for (i = 0; i < info->nbackends; i++)
        fprintf(out, "%s%s", i ? ", " : "", info->backends[i]);
    fprintf(out, "; item sizes: %s\n", sizes);
    fprintf(out, "each case: median [min-max] of %d run%s of %.2f s after %.2f s of "
            "warm-up; total time %.0f s\n", o->reps, o->reps == 1 ? "" : "s",
            o->duration, o->warmup, info->elapsed);
}

static void print_tput_row(FILE *out, const struct bench_result *res, int n,
                           const struct bench_result *r)
{
    char name[96], rate[96], data[48], ratio[32], writer[48], loss[32];

    bench_case_name(name, sizeof name, r);
    if (r->status != ST_OK || r->nreps == 0) {
        fprintf(out, "  %-34s %3d  %s: %s\n", name, r->tc.readers,
                r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
        return;
    }
    struct bench_stat head = bench_series(r, SER_HEAD, 0);
    bench_fmt_rate_spread(rate, sizeof rate, head);
    bench_fmt_bytes(data, sizeof data, head.med * (double)r->tc.size);
    bench_fmt_ratio(ratio, sizeof ratio, bench_vs_pipe(res, n, r));
    writer[0] = loss[0] = '\0';
    if (r->tc.transport == TR_SCB)
        bench_fmt_rate(writer, sizeof writer, bench_series(r, SER_WRITER, 0).med);
    if (r->tc.transport == TR_SCB && r->tc.mode == MODE_OVERWRITE) {
        if (r->tc.readers == 0)
            snprintf(loss, sizeof loss, "(no reader)");
        else
            snprintf(loss, sizeof loss, "%.2f%%%s",
                     bench_series(r, SER_LOSS_MEAN, 0).med * 100,
                     r->tc.readers > 1 ? " mean" : "");
    }
    if (r->tc.readers == 0)
        fprintf(out, "  %-34s %3d  %-24s %-11s %8s  %-9s %s\n", name, 0, "-", "-",
                "-", writer, loss);
    else
        fprintf(out, "  %-34s %3d  %-24s %-11s %8s  %-9s %s\n", name,
                r->tc.readers, rate, data, ratio, writer, loss);
    if (r->tc.transport == TR_SCB && r->tc.readers > 1) {
        int i;
        for (i = 0; i < r->tc.readers; i++) {
            char lbl[32];
            struct bench_stat rs = bench_series(r, SER_READER, i);
            bench_fmt_rate_spread(rate, sizeof rate, rs);
            bench_fmt_bytes(data, sizeof data, rs.med * (double)r->tc.size);
            snprintf(lbl, sizeof lbl, "  reader %d", i + 1);
            if (r->tc.mode == MODE_OVERWRITE)
                snprintf(loss, sizeof loss, "%.2f%%",
                         bench_series(r, SER_LOSS, i).med * 100);
            else
                loss[0] = '\0';
            fprintf(out, "  %-34s %3s  %-24s %-11s %8s  %-9s %s\n", lbl, "", rate,
                    data, "", "", loss);
        }
    }
}

/* A case's name in the records section: the fixed-size ones with their
 * size. */
static void rec_case_name(char *buf, size_t len, const struct bench_result *r)
{
    char sz[32];

    bench_case_name(buf, len, r);
    if (r->tc.rec == REC_NONE) {
        bench_fmt_size(sz, sizeof sz, r->tc.size);
        snprintf(buf + strlen(buf), len - strlen(buf), ", %s", sz);
    }
}

/* One row of the records section: the case, its rate, its payload, and its
 * ratio to its baseline (a baseline row shows none). */
static void print_rec_row(FILE *out, const struct bench_result *res, int n,
                          const struct bench_result *r)
{
    const struct bench_result *b = bench_rec_baseline(res, n, r);
    char name[96], base[96], rate[96], data[48], ratio[32];

    rec_case_name(name, sizeof name, r);
    if (r->status != ST_OK || r->nreps == 0) {
        fprintf(out, "  %-48s %s: %s\n", name,
                r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
        return;
    }
    bench_fmt_rate_spread(rate, sizeof rate, bench_series(r, SER_HEAD, 0));
    bench_fmt_bytes(data, sizeof data, bench_series(r, SER_BYTES, 0).med);
    bench_fmt_ratio(ratio, sizeof ratio, bench_vs_baseline(res, n, r));
    if (b != NULL)
        rec_case_name(base, sizeof base, b);
    else
        snprintf(base, sizeof base, "-");
    fprintf(out, "  %-48s %-24s %-11s %7s  %s\n", name, rate, data,
            b != NULL ? ratio : "", b != NULL ? base : "");
}

/* The records section: each backend's record cases after what they are
 * compared with. */
static void print_records(FILE *out, const struct bench_result *res, int n)
{
    static const enum bench_rec order[] = {REC_SMALL, REC_MIXED, REC_COPY,
                                           REC_ZEROCOPY};
    const struct bench_result *shown[64];
    int i, j, k, nshown = 0, any = 0;

    for (j = 0; j < n; j++)
        any |= !res[j].is_latency && res[j].tc.rec != REC_NONE;
    if (!any)
        return;
    fprintf(out, "\nRecords: one writer process to one reader process, lossless "
            "(SCB_RECORDS | SCB_LOSSLESS);\nevery record's length and the "
            "sequence number in its first and last 8 bytes checked, the 64 KiB\n"
            "ones summed whole (the fill and the sum are the work of both 64 KiB "
            "cases);\nvs = records/s over those of the case named last, "
            "measured in the same run.\n");
    fprintf(out, "\n  %-48s %-24s %-11s %7s  %s\n", "case", "records/s",
            "payload", "vs", "compared with");
    for (j = 0; j < n; j++) {
        const struct bench_result *r = &res[j];
        if (r->is_latency || r->tc.rec == REC_NONE || r->tc.transport != TR_PIPE)
            continue;
        print_rec_row(out, res, n, r);
    }
    for (j = 0; j < n; j++) {
        const struct bench_result *r = &res[j];
        if (r->is_latency || r->tc.rec == REC_NONE || r->tc.transport != TR_SCB)
            continue;
        /* Once per backend, in the order of the cases. */
        for (i = 0; i < nshown && strcmp(shown[i]->tc.backend, r->tc.backend) != 0; i++)
            ;
        if (i < nshown || nshown == 64)
            continue;
        shown[nshown++] = r;
        for (k = 0; k < (int)(sizeof order / sizeof order[0]); k++) {
            const struct bench_result *c = NULL, *b;
            int m;
            for (m = 0; m < n && c == NULL; m++)
                if (!res[m].is_latency && res[m].tc.rec == order[k] &&
                    res[m].tc.transport == TR_SCB &&
                    strcmp(res[m].tc.backend, r->tc.backend) == 0)
                    c = &res[m];
            if (c == NULL)
                continue;
            b = bench_rec_baseline(res, n, c);
            if (order[k] == REC_SMALL && b != NULL)
                print_rec_row(out, res, n, b);
            print_rec_row(out, res, n, c);
        }
    }
}

void bench_report_table(FILE *out, const struct bench_info *info,
                        const struct bench_result *res, int n)
{
    struct bench_target t[BENCH_MAX_TARGETS];
    int i, j, k, nt, any_lat = 0;
    char sz[32];

    table_header(out, info);
    fprintf(out, "\nThroughput: one writer process to N reader processes; every "
            "item's sequence number checked.\n"
            "items/s = what each reader received (lossless: the slowest "
            "reader; overwrite: the mean);\nvs pipe = items/s over the pipe's at "
            "the same size; baselines make one system call per item each side.\n");
    if (info->cpus_usable < 4)
        fprintf(out, "With %d usable CPUs, more than %d reader%s and a writer "
                "share CPUs: that measures oversubscription, not scaling.\n",
                info->cpus_usable, info->cpus_usable - 1,
                info->cpus_usable - 1 == 1 ? "" : "s");
    for (i = 0; i < info->nsizes; i++) {
        bench_fmt_size(sz, sizeof sz, info->sizes[i]);
        fprintf(out, "\n  %-34s %3s  %-24s %-11s %8s  %-9s %s\n", sz, "rd",
                "items/s", "data rate", "vs pipe", "writer/s", "loss");
        for (j = 0; j < n; j++)
            if (!res[j].is_latency && res[j].tc.rec == REC_NONE &&
                res[j].tc.ev == EV_NONE && res[j].tc.size == info->sizes[i])
                print_tput_row(out, res, n, &res[j]);
    }

    print_records(out, res, n);
    bench_report_events(out, res, n);

    for (j = 0; j < n; j++)
        any_lat |= res[j].is_latency;
    if (any_lat) {
        fprintf(out, "\nRound trip of an 8-byte item between two processes, "
                "%llu rounds a run (each timing includes\ntwo clock reads of "
                "~%.0f ns); vs pipe = the pipe's p50 over this p50 (higher is "
                "faster):\n",
                (unsigned long long)info->opts->rounds, info->clock_ns);
        fprintf(out, "  %-38s %-24s %-24s %s\n", "case", "p50", "p99", "vs pipe");
        for (j = 0; j < n; j++) {
            const struct bench_result *r = &res[j];
            char name[96], a[128], b[128], c[32];
            if (!r->is_latency)
                continue;
            bench_case_name(name, sizeof name, r);
            if (r->status != ST_OK || r->nreps == 0) {
                fprintf(out, "  %-38s %s: %s\n", name,
                        r->status == ST_SKIPPED ? "skipped" : "FAILED", r->note);
                continue;
            }
            bench_fmt_time_spread(a, sizeof a, bench_series(r, SER_P50, 0));
            bench_fmt_time_spread(b, sizeof b, bench_series(r, SER_P99, 0));
            bench_fmt_ratio(c, sizeof c, bench_vs_pipe(res, n, r));
            fprintf(out, "  %-38s %-24s %-24s %s\n", name, a, b, c);
        }
    }

    for (k = 0; k < info->nbackends; k++) {
        nt = bench_targets(info, res, n, info->backends[k], t);
        fprintf(out, "\nSpeed targets (the README's \"Speed targets\" table), "
                "backend %s (this run):\n", info->backends[k]);
        for (i = 0; i < nt; i++)
            fprintf(out, "  %-60s %-44s %s\n", t[i].what, t[i].measured,
                    t[i].met < 0 ? "-" : t[i].met ? "met" : "NOT MET");
    }
    if (info->failed || info->skipped || info->interrupted)
        fprintf(out, "\n%d case%s failed, %d skipped%s\n", info->failed,
                info->failed == 1 ? "" : "s", info->skipped,
                info->interrupted ? "; interrupted: partial results" : "");
}

/* --- the neighbour table (--neighbour) ------------------------------------ */

struct bench_stat bench_nb_series(const struct bench_nb_result *r, int rounds)
{
    double v[256];
    int i, n = r->nreps < 256 ? r->nreps : 256;

    for (i = 0; i < n; i++)
        v[i] = rounds ? r->rep[i].rounds : r->rep[i].loops;
    return bench_stat_of(v, n);
}

double bench_nb_vs_quiet(const struct bench_nb_result *res, int n,
                         const struct bench_nb_result *r)
{
    double q, v;
    int i;

    if (r->status != ST_OK || r->nreps == 0)
        return NAN;
    for (i = 0; i < n; i++) {
        const struct bench_nb_result *b = &res[i];
        if (b->traffic != NB_QUIET || b->registered != r->registered ||
            b->status != ST_OK || b->nreps == 0)
            continue;
        q = bench_nb_series(b, 0).med;
        v = bench_nb_series(r, 0).med;
        return q > 0 ? v / q : NAN;
    }
    return NAN;
}

void bench_report_nb_table(FILE *out, const struct bench_info *info,
                           const struct bench_nb_result *res, int n)
{
    const struct bench_opts *o = info->opts;
    int i;

    fprintf(out, "scb-bench %s (libscb %s) on %s\n", PACKAGE_VERSION,
            scb_version(), info->system);
    fprintf(out, "CPUs: %d online, %d usable by this run; ", info->cpus_online,
            info->cpus_usable);
    if (info->pinned)
        fprintf(out, "the neighbour pinned to CPU %d, both ping-pong processes "
                "to CPU %d%s\n", bench_cpu_for(0), bench_cpu_for(1),
                info->pin_failed ? ", but some pinning failed" : "");
    else
        fprintf(out, "processes not pinned\n");
    fprintf(out, "backend: %s; membarrier: %s\n",
            info->nbackends > 0 ? info->backends[0] : "-",
            info->asym_barriers > 0    ? "available (SCB_ASYM_BARRIERS in force "
                                         "on the rings made here)"
            : info->asym_barriers == 0 ? "not available (rings made here with "
                                         "SCB_ASYM_BARRIERS use full fences)"
                                       : "not probed");
    fprintf(out, "each row: median [min-max] of %d run%s of %.2f s after %.2f s of "
            "warm-up; total time %.0f s\n", o->reps, o->reps == 1 ? "" : "s",
            o->duration, o->warmup, info->elapsed);
    fprintf(out, "\nA CPU-bound neighbour: one process alone on its CPU counts the "
            "turns of an integer loop\nwhile two processes on another CPU bounce "
            "an 8-byte item through two rings, each sleeping\nin scb_pop_wait "
            "every round (SCB_SPIN_US=0).  With SCB_ASYM_BARRIERS every such "
            "sleep issues\nmembarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which "
            "interrupts each CPU running a process\nregistered for it (every "
            "process that opened such a ring is).  vs quiet = the neighbour's\n"
            "loop turns/s over its rate with no ring traffic, registered alike, "
            "in this run.\n");
    if (!info->pinned)
        fprintf(out, "This needs 2 usable CPUs and pinning (Linux); this run has "
                "%d usable: nothing measured.\n", info->cpus_usable);
    else if (info->asym_barriers == 0)
        fprintf(out, "membarrier is not available here: the rows with "
                "SCB_ASYM_BARRIERS or a registered\nneighbour are skipped.\n");
    fprintf(out, "\n  %-30s %-16s %-24s %-9s %s\n", "ring traffic", "neighbour",
            "loop turns/s", "vs quiet", "round trips/s");
    for (i = 0; i < n; i++) {
        const struct bench_nb_result *r = &res[i];
        const char *who = r->registered ? "registered" : "not registered";
        char loops[96], ratio[32], rounds[96];

        if (r->status != ST_OK || r->nreps == 0) {
            fprintf(out, "  %-30s %-16s %s: %s\n", bench_traffic_name(r->traffic),
                    who, r->status == ST_FAILED ? "FAILED" : "skipped", r->note);
            continue;
        }
        bench_fmt_rate_spread(loops, sizeof loops, bench_nb_series(r, 0));
        bench_fmt_ratio(ratio, sizeof ratio, bench_nb_vs_quiet(res, n, r));
        if (r->traffic == NB_QUIET)
            snprintf(rounds, sizeof rounds, "-");
        else
            bench_fmt_rate_spread(rounds, sizeof rounds, bench_nb_series(r, 1));
        fprintf(out, "  %-30s %-16s %-24s %-9s %s\n", bench_traffic_name(r->traffic),
                who, loops, ratio, rounds);
    }
    if (info->failed || info->skipped || info->interrupted)
        fprintf(out, "\n%d row%s failed, %d skipped%s\n", info->failed,
                info->failed == 1 ? "" : "s", info->skipped,
                info->interrupted ? "; interrupted: partial results" : "");
}
