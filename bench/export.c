/*
 * export.c - scb-bench's results for machines: --json, --csv, and --plot
 * through gnuplot.  Figures are those of the table (report.c): medians with
 * the lowest and highest run beside them.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <math.h> /* isnan, isinf, NAN, INFINITY: macros, no libm */
#include <stdlib.h>
#include <unistd.h>

#include <scb.h>

#include "bench.h"

/* --- JSON ----------------------------------------------------------------- */

/* A JSON string of s (also bridge.c's). */
void bench_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void bench_json_head(FILE *out, const struct bench_info *info,
                     const char *experiment)
{
    fprintf(out, "{\n  \"program\": \"scb-bench\",\n");
    if (experiment != NULL) {
        fprintf(out, "  \"experiment\": ");
        bench_json_str(out, experiment);
        fprintf(out, ",\n");
    }
    fprintf(out, "  \"version\": ");
    bench_json_str(out, PACKAGE_VERSION);
    fprintf(out, ",\n  \"libscb\": ");
    bench_json_str(out, scb_version());
    fprintf(out, ",\n  \"system\": ");
    bench_json_str(out, info->system);
}

static void json_num(FILE *out, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", out);
    else
        fprintf(out, "%.6g", v);
}

static void json_stat(FILE *out, const char *key, struct bench_stat s, double mul)
{
    fprintf(out, "\"%s\": {\"median\": ", key);
    json_num(out, s.med * mul);
    fputs(", \"min\": ", out);
    json_num(out, s.min * mul);
    fputs(", \"max\": ", out);
    json_num(out, s.max * mul);
    fputc('}', out);
}

static const char *status_name(enum bench_status st)
{
    return st == ST_OK ? "ok" : st == ST_SKIPPED ? "skipped" : "failed";
}

static const char *transport_name(enum bench_transport tr)
{
    switch (tr) {
    case TR_PIPE: return "pipe";
    case TR_SOCKET: return "unix-socket";
    case TR_MQ: return "posix-mq";
    case TR_SCB: break;
    }
    return "libscb";
}

static const char *case_id(const struct bench_result *r)
{
    if (r->is_latency)
        return r->lat == LAT_PIPE ? "pipe-pingpong"
               : r->lat == LAT_PIPE_POLL ? "pipe-poll-pingpong"
               : r->lat == LAT_FD ? "scb_fd-pingpong"
               : r->lat == LAT_LINE ? "cacheline-pingpong"
               : r->lat == LAT_BUSY ? "busy-poll"
               : r->lat == LAT_REC_BUSY ? "busy-poll-records"
               : r->lat == LAT_SLEEP ? "pop_wait-nospin" : "pop_wait";
    switch (r->tc.rec) {
    case REC_NONE: break;
    case REC_SMALL: return "records-64";
    case REC_MIXED: return r->tc.transport == TR_PIPE ? "pipe-records-mixed"
                                                      : "records-mixed";
    case REC_COPY: return "records-64k-copy";
    case REC_ZEROCOPY: return "records-64k-zerocopy";
    }
    if (r->tc.transport != TR_SCB)
        return transport_name(r->tc.transport);
    if (r->tc.ev != EV_NONE)
        return r->tc.ev == EV_FD ? "push-reader-scb_fd" : "push-reader-plain";
    if (r->tc.mode == MODE_LOSSLESS)
        return r->tc.api == API_ONE ? "lossless-pushpop" : "lossless";
    return "overwrite";
}

void bench_report_json(FILE *out, const struct bench_info *info,
                       const struct bench_result *res, int n)
{
    const struct bench_opts *o = info->opts;
    struct bench_target t[BENCH_MAX_TARGETS];
    int i, j, k, nt, first;

    bench_json_head(out, info, NULL);
    fprintf(out, ",\n  \"cpus_online\": %d,\n  \"cpus_usable\": %d,\n"
            "  \"pinned\": %s,\n  \"backends\": [", info->cpus_online,
            info->cpus_usable, info->pinned && !info->pin_failed ? "true" : "false");
    for (i = 0; i < info->nbackends; i++) {
        fputs(i ? ", " : "", out);
        bench_json_str(out, info->backends[i]);
    }
    fprintf(out, "],\n  \"settings\": {\"duration_s\": %g, \"warmup_s\": %g, "
            "\"reps\": %d, \"batch\": %d, \"rounds\": %llu, \"ring_bytes\": %llu, "
            "\"socket\": \"%s\"},\n", o->duration, o->warmup, o->reps, BENCH_BATCH,
            (unsigned long long)o->rounds, (unsigned long long)o->ring_bytes,
            bench_socket_kind());
    fprintf(out, "  \"elapsed_s\": %.1f,\n  \"failed\": %d,\n  \"skipped\": %d,\n"
            "  \"interrupted\": %s,\n", info->elapsed, info->failed, info->skipped,
            info->interrupted ? "true" : "false");

    fprintf(out, "  \"throughput\": [");
    first = 1;
    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        char name[96];
        if (r->is_latency)
            continue;
        bench_case_name(name, sizeof name, r);
        fprintf(out, "%s\n    {\"case\": \"%s\", \"name\": ", first ? "" : ",",
                case_id(r));
        bench_json_str(out, name);
        fprintf(out, ", \"transport\": \"%s\", \"backend\": ",
                transport_name(r->tc.transport));
        if (r->tc.transport == TR_SCB)
            bench_json_str(out, r->tc.backend);
        else
            fputs("null", out);
        fprintf(out, ", \"mode\": %s, \"api\": %s, \"item_size\": %zu, "
                "\"readers\": %d, \"ring_length\": %llu, \"status\": \"%s\"",
                r->tc.transport != TR_SCB ? "null"
                : r->tc.mode == MODE_LOSSLESS ? "\"lossless\"" : "\"overwrite\"",
                r->tc.transport != TR_SCB ? "null"
                : r->tc.rec == REC_ZEROCOPY ? "\"reserve/peek\""
                : r->tc.rec != REC_NONE ? "\"push/pop_record\""
                : r->tc.api == API_ONE ? "\"push/pop\"" : "\"many\"",
                r->tc.size, r->tc.readers,
                (unsigned long long)(r->tc.transport == TR_SCB ? r->tc.length : 0),
                status_name(r->status));
        if (r->note[0]) {
            fputs(", \"note\": ", out);
            bench_json_str(out, r->note);
        }
        fprintf(out, ", \"reps\": %d", r->nreps);
        if (r->status == ST_OK && r->nreps > 0) {
            struct bench_stat h = bench_series(r, SER_HEAD, 0);
            fputs(", ", out);
            json_stat(out, "items_per_s", h, 1);
            fputs(", ", out);
            json_stat(out, "bytes_per_s", bench_series(r, SER_BYTES, 0), 1);
            fputs(", ", out);
            json_stat(out, "writer_items_per_s", bench_series(r, SER_WRITER, 0), 1);
            fputs(", \"vs_pipe\": ", out);
            json_num(out, bench_vs_pipe(res, n, r));
            if (bench_rec_baseline(res, n, r) != NULL) {
                fprintf(out, ", \"baseline\": \"%s\", \"vs_baseline\": ",
                        case_id(bench_rec_baseline(res, n, r)));
                json_num(out, bench_vs_baseline(res, n, r));
            }
            if (r->tc.readers > 0) {
                fputs(", ", out);
                json_stat(out, "loss_pct", bench_series(r, SER_LOSS_MEAN, 0), 100);
            }
            fputs(", \"per_reader\": [", out);
            for (j = 0; j < r->tc.readers; j++) {
                fprintf(out, "%s{", j ? ", " : "");
                json_stat(out, "items_per_s", bench_series(r, SER_READER, j), 1);
                fputs(", ", out);
                json_stat(out, "loss_pct", bench_series(r, SER_LOSS, j), 100);
                fputc('}', out);
            }
            fputc(']', out);
        }
        fputc('}', out);
        first = 0;
    }
    fprintf(out, "\n  ],\n  \"latency\": [");
    first = 1;
    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        char name[96];
        if (!r->is_latency)
            continue;
        bench_case_name(name, sizeof name, r);
        fprintf(out, "%s\n    {\"case\": \"%s\", \"name\": ", first ? "" : ",",
                case_id(r));
        bench_json_str(out, name);
        fputs(", \"backend\": ", out);
        if (r->backend != NULL)
            bench_json_str(out, r->backend);
        else
            fputs("null", out);
        fprintf(out, ", \"item_size\": 8, \"rounds\": %llu, \"status\": \"%s\"",
                (unsigned long long)info->opts->rounds, status_name(r->status));
        if (r->note[0]) {
            fputs(", \"note\": ", out);
            bench_json_str(out, r->note);
        }
        fprintf(out, ", \"reps\": %d", r->nreps);
        if (r->status == ST_OK && r->nreps > 0) {
            fputs(", ", out);
            json_stat(out, "p50_ns", bench_series(r, SER_P50, 0), 1);
            fputs(", ", out);
            json_stat(out, "p99_ns", bench_series(r, SER_P99, 0), 1);
            fputs(", \"p50_vs_pipe\": ", out);
            json_num(out, bench_vs_pipe(res, n, r));
        }
        fputc('}', out);
        first = 0;
    }
    fprintf(out, "\n  ],\n  \"targets\": [");
    first = 1;
    for (k = 0; k < info->nbackends; k++) {
        nt = bench_targets(info, res, n, info->backends[k], t);
        for (i = 0; i < nt; i++) {
            fprintf(out, "%s\n    {\"backend\": ", first ? "" : ",");
            bench_json_str(out, info->backends[k]);
            fputs(", \"target\": ", out);
            bench_json_str(out, t[i].what);
            fputs(", \"measured\": ", out);
            bench_json_str(out, t[i].measured);
            fprintf(out, ", \"met\": %s}",
                    t[i].met < 0 ? "null" : t[i].met ? "true" : "false");
            first = 0;
        }
    }
    fprintf(out, "\n  ]\n}\n");
}

/* --- CSV ------------------------------------------------------------------ */

static void csv_row(FILE *out, const struct bench_result *r, const char *name,
                    int reader, const char *metric, const char *unit,
                    struct bench_stat s, double mul, double ratio)
{
    fprintf(out, "%s,%s,\"%s\",%s,%s,%zu,%d,", r->is_latency ? "latency" : "throughput",
            case_id(r), name,
            r->is_latency ? (r->backend ? r->backend : "")
            : r->tc.transport == TR_SCB ? r->tc.backend : "",
            r->is_latency ? (r->lat == LAT_PIPE || r->lat == LAT_PIPE_POLL ? "pipe"
                             : r->lat == LAT_LINE ? "shared-memory" : "libscb")
            : transport_name(r->tc.transport),
            r->is_latency ? (size_t)8 : r->tc.size,
            r->is_latency ? 1 : r->tc.readers);
    if (reader > 0)
        fprintf(out, "%d", reader);
    fprintf(out, ",%s,%s,", metric, unit);
    if (s.n > 0)
        fprintf(out, "%.6g,%.6g,%.6g,", s.med * mul, s.min * mul, s.max * mul);
    else
        fputs(",,,", out);
    if (!isnan(ratio))
        fprintf(out, "%.4g", ratio);
    fprintf(out, ",%s,\"", status_name(r->status));
    for (const char *p = r->note; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', out); /* doubled, as CSV quotes a quote */
        fputc(*p == '\n' ? ' ' : *p, out);
    }
    fputs("\"\n", out);
}

void bench_report_csv(FILE *out, const struct bench_info *info,
                      const struct bench_result *res, int n)
{
    struct bench_stat none = {NAN, NAN, NAN, 0};
    int i, j;

    (void)info;
    fputs("section,case,name,backend,transport,item_size,readers,reader,metric,"
          "unit,median,min,max,vs_pipe,status,note\n", out);
    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        char name[96];
        int ok = r->status == ST_OK && r->nreps > 0;

        bench_case_name(name, sizeof name, r);
        if (!ok) {
            csv_row(out, r, name, 0, r->is_latency ? "p50" : "items_per_s",
                    r->is_latency ? "ns" : "items/s", none, 1, NAN);
            continue;
        }
        if (r->is_latency) {
            csv_row(out, r, name, 0, "p50", "ns", bench_series(r, SER_P50, 0), 1,
                    bench_vs_pipe(res, n, r));
            csv_row(out, r, name, 0, "p99", "ns", bench_series(r, SER_P99, 0), 1, NAN);
            continue;
        }
        csv_row(out, r, name, 0, "items_per_s", "items/s",
                bench_series(r, SER_HEAD, 0), 1, bench_vs_pipe(res, n, r));
        csv_row(out, r, name, 0, "bytes_per_s", "B/s", bench_series(r, SER_BYTES, 0),
                1, NAN);
        if (bench_rec_baseline(res, n, r) != NULL) {
            struct bench_stat x = {NAN, NAN, NAN, 1};
            x.med = x.min = x.max = bench_vs_baseline(res, n, r);
            csv_row(out, r, name, 0, "vs_baseline", case_id(bench_rec_baseline(res, n, r)),
                    x, 1, NAN);
        }
        csv_row(out, r, name, 0, "writer_items_per_s", "items/s",
                bench_series(r, SER_WRITER, 0), 1, NAN);
        for (j = 0; j < r->tc.readers && r->tc.transport == TR_SCB; j++) {
            csv_row(out, r, name, j + 1, "items_per_s", "items/s",
                    bench_series(r, SER_READER, j), 1, NAN);
            csv_row(out, r, name, j + 1, "loss_pct", "%",
                    bench_series(r, SER_LOSS, j), 100, NAN);
        }
    }
}

/* --- gnuplot -------------------------------------------------------------- */

static int have_program(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];

    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        if (len > 0 && len + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, path, len);
            buf[len] = '/';
            strcpy(buf + len + 1, prog);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

/* The power of ten at or below v (1 for anything below 10). */
static double decade_below(double v)
{
    double d = 1;

    while (!isinf(v) && d * 10 <= v)
        d *= 10;
    return d;
}

int bench_report_plot(const char *path, const struct bench_info *info,
                      const struct bench_result *res, int n)
{
    const char *be = info->nbackends > 0 ? info->backends[0] : "";
    const char *cols[5] = {"pipe", "unix socket", "POSIX mq",
                           "libscb lossless (many/32)",
                           "libscb overwrite (delivered)"};
    double lo = INFINITY;
    FILE *g;
    int i, c, rc;

    if (!have_program("gnuplot")) {
        fprintf(stderr, "scb-bench: --plot %s: gnuplot is not installed; no plot "
                "(Debian: apt-get install gnuplot-nox)\n", path);
        return 1;
    }
    if (strchr(path, '\'') != NULL || strchr(path, '\n') != NULL) {
        fprintf(stderr, "scb-bench: --plot: file name must not hold ' or a newline\n");
        return -1;
    }
    g = bench_popen_w("gnuplot");
    if (g == NULL) {
        fprintf(stderr, "scb-bench: --plot: cannot run gnuplot: %s\n", strerror(errno));
        return -1;
    }
    fprintf(g, "$data << EOD\n");
    for (i = 0; i < info->nsizes; i++) {
        char sz[32];
        size_t size = info->sizes[i];
        bench_fmt_size(sz, sizeof sz, size);
        fprintf(g, "\"%s\"", sz);
        for (c = 0; c < 5; c++) {
            const struct bench_result *r =
                c == 0 ? bench_find_tput(res, n, TR_PIPE, 0, 0, NULL, size, 1)
                : c == 1 ? bench_find_tput(res, n, TR_SOCKET, 0, 0, NULL, size, 1)
                : c == 2 ? bench_find_tput(res, n, TR_MQ, 0, 0, NULL, size, 1)
                : c == 3 ? bench_find_tput(res, n, TR_SCB, MODE_LOSSLESS, API_MANY, be, size, 1)
                         : bench_find_tput(res, n, TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 1);
            if (r != NULL) {
                double v = bench_series(r, SER_HEAD, 0).med;
                fprintf(g, " %.6g", v);
                if (v > 0 && v < lo)
                    lo = v;
            } else {
                fprintf(g, " ?");
            }
        }
        fputc('\n', g);
    }
    fprintf(g, "EOD\n");
    fprintf(g, "set terminal svg size 960,540 dynamic enhanced font 'sans,12'\n"
               "set output '%s'\n"
               "set title 'scb-bench %s: one writer to one reader, items/s (median of %d), backend %s'\n"
               "set datafile missing '?'\n"
               "set style data histograms\n"
               "set style histogram clustered gap 1\n"
               "set style fill solid 0.8 border -1\n"
               "set logscale y\n"
               "set yrange [%g:*]\n"
               "set format y '%%.0s %%c'\n"
               "set ylabel 'items/s (log scale)'\n"
               "set xlabel 'item size'\n"
               "set grid ytics\n"
               "set key top right\n",
            path, PACKAGE_VERSION, info->opts->reps, be,
            decade_below(lo));
    fprintf(g, "plot");
    for (c = 0; c < 5; c++)
        fprintf(g, "%s $data using %d%s title '%s'", c ? "," : "", c + 2,
                c == 0 ? ":xtic(1)" : "", cols[c]);
    fprintf(g, "\n");
    rc = bench_pclose(g);
    if (rc != 0) {
        fprintf(stderr, "scb-bench: --plot: gnuplot failed (status %d)\n", rc);
        return -1;
    }
    fprintf(stderr, "scb-bench: plot written to %s\n", path);
    return 0;
}

/* --- the neighbour experiment, JSON --------------------------------------- */

void bench_report_nb_json(FILE *out, const struct bench_info *info,
                          const struct bench_nb_result *res, int n)
{
    const struct bench_opts *o = info->opts;
    int i;

    bench_json_head(out, info, "neighbour");
    fprintf(out, ",\n  \"cpus_online\": %d,\n  \"cpus_usable\": %d,\n"
            "  \"pinned\": %s,\n  \"backend\": ", info->cpus_online,
            info->cpus_usable, info->pinned && !info->pin_failed ? "true" : "false");
    bench_json_str(out, info->nbackends > 0 ? info->backends[0] : "");
    fprintf(out, ",\n  \"asym_barriers_available\": %s,\n",
            info->asym_barriers > 0 ? "true" : info->asym_barriers == 0 ? "false" : "null");
    fprintf(out, "  \"settings\": {\"duration_s\": %g, \"warmup_s\": %g, "
            "\"reps\": %d},\n", o->duration, o->warmup, o->reps);
    fprintf(out, "  \"elapsed_s\": %.1f,\n  \"failed\": %d,\n  \"skipped\": %d,\n"
            "  \"interrupted\": %s,\n", info->elapsed, info->failed, info->skipped,
            info->interrupted ? "true" : "false");
    fprintf(out, "  \"neighbour\": [");
    for (i = 0; i < n; i++) {
        const struct bench_nb_result *r = &res[i];
        fprintf(out, "%s\n    {\"traffic\": \"%s\", \"name\": ", i ? "," : "",
                r->traffic == NB_QUIET    ? "none"
                : r->traffic == NB_FENCES ? "fences"
                                          : "asym-barriers");
        bench_json_str(out, bench_traffic_name(r->traffic));
        fprintf(out, ", \"registered\": %s, \"status\": \"%s\"",
                r->registered ? "true" : "false", status_name(r->status));
        if (r->note[0]) {
            fputs(", \"note\": ", out);
            bench_json_str(out, r->note);
        }
        fprintf(out, ", \"reps\": %d", r->nreps);
        if (r->status == ST_OK && r->nreps > 0) {
            fputs(", ", out);
            json_stat(out, "loop_turns_per_s", bench_nb_series(r, 0), 1);
            fputs(", \"vs_quiet\": ", out);
            json_num(out, bench_nb_vs_quiet(res, n, r));
            fputs(", ", out);
            if (r->traffic == NB_QUIET)
                fputs("\"round_trips_per_s\": null", out);
            else
                json_stat(out, "round_trips_per_s", bench_nb_series(r, 1), 1);
        }
        fputc('}', out);
    }
    fprintf(out, "\n  ]\n}\n");
}
