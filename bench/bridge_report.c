/*
 * bridge_report.c - the report of scb-bench --bridge: a table for people,
 * with each target of the README's table marked met or not, and JSON.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <scb.h>

#include "bridge_bench.h"

const char *br_case_label(enum br_case c)
{
    switch (c) {
    case BR_LOCAL: return "local: the ring read by another process";
    case BR_CORE: return "out -> core NATS -> in";
    case BR_JS: return "out -> JetStream R1 (file) -> in";
    case BR_LAT: return "latency, out -> core NATS -> in";
    case BR_ALONE_CORE: return "client -> core NATS -> client";
    case BR_ALONE_JS: return "client -> JetStream R1 (file) -> client";
    case BR_ALONE_STORED: return "client -> JetStream R1 (file), no reader";
    default: return "latency, client -> core NATS -> client";
    }
}

int br_case_latency(enum br_case c)
{
    return c == BR_LAT || c == BR_ALONE_LAT;
}

/* The case of NATS alone that bridge case c is set beside. */
static enum br_case alone_of(enum br_case c)
{
    return c == BR_CORE ? BR_ALONE_CORE : c == BR_JS ? BR_ALONE_JS : BR_ALONE_LAT;
}

const char *br_case_id(enum br_case c)
{
    switch (c) {
    case BR_LOCAL: return "local";
    case BR_CORE: return "core-nats";
    case BR_JS: return "jetstream-r1";
    case BR_LAT: return "latency-core-nats";
    case BR_ALONE_CORE: return "alone-core-nats";
    case BR_ALONE_JS: return "alone-jetstream-r1";
    case BR_ALONE_STORED: return "alone-jetstream-r1-stored";
    default: return "alone-latency-core-nats";
    }
}

/* --- the report ----------------------------------------------------------- */

/* The median over the runs of case c's rate over case `by`'s in the same
 * run; NAN when either is missing. */
static struct bench_stat ratio_of(const struct br_result *res, enum br_case c,
                                  enum br_case by)
{
    const struct br_result *l = &res[by], *r = &res[c];
    double ratio[256];
    int j, m = r->nreps < l->nreps ? r->nreps : l->nreps, n = 0;

    if (r->status != ST_OK || l->status != ST_OK)
        m = 0;
    for (j = 0; j < m; j++)
        if (l->rate[j] > 0)
            ratio[n++] = r->rate[j] / l->rate[j];
    return bench_stat_of(ratio, n);
}

static struct bench_stat vs_local(const struct br_result *res, enum br_case c)
{
    return ratio_of(res, c, BR_LOCAL);
}

/* "0.0342x": three significant digits, however small. */
static void fmt_ratio3(char *buf, size_t len, double x)
{
    if (isnan(x) || x <= 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3gx", x);
}

struct br_target {
    const char *what, *target;
    char measured[128];
    int met;                           /* 1, 0, -1 not measured */
    char alone[128];                   /* NATS alone's figure, or "" */
    int alone_met;                     /* would NATS alone meet it: 1, 0, -1 */
};

static void targets(const struct br_result *res, struct br_target t[3])
{
    char a[48], b[48];
    struct bench_stat s;

    t[0].what = "64-byte items through out -> core NATS -> in, one machine";
    t[0].target = ">= 1 M items/s";
    t[1].what = "the same through JetStream, R1, file storage";
    t[1].target = ">= 200 k items/s";
    t[2].what = "end-to-end latency of one item, core NATS, idle system";
    t[2].target = "p50 <= 200 us";
    for (int i = 0; i < 2; i++) {
        const struct br_result *r = &res[i == 0 ? BR_CORE : BR_JS];
        s = bench_stat_of(r->rate, r->nreps);
        if (r->status != ST_OK || s.n == 0) {
            snprintf(t[i].measured, sizeof t[i].measured, "not measured");
            t[i].met = -1;
            continue;
        }
        bench_fmt_rate(a, sizeof a, s.med);
        bench_fmt_rate(b, sizeof b, bench_stat_of(res[BR_LOCAL].rate,
                                                  res[BR_LOCAL].nreps).med);
        snprintf(t[i].measured, sizeof t[i].measured, "%s items/s (local ring %s)",
                 a, res[BR_LOCAL].nreps > 0 ? b : "-");
        t[i].met = s.med >= (i == 0 ? TARGET_CORE : TARGET_JS);
    }
    for (int i = 0; i < 3; i++) {
        const struct br_result *r = &res[alone_of(i == 0   ? BR_CORE
                                                  : i == 1 ? BR_JS
                                                           : BR_LAT)];
        s = bench_stat_of(i == 2 ? r->p50 : r->rate, r->nreps);
        t[i].alone[0] = '\0';
        t[i].alone_met = -1;
        if (r->status != ST_OK || s.n == 0)
            continue;
        if (i == 2) {
            bench_fmt_time(a, sizeof a, s.med);
            snprintf(t[i].alone, sizeof t[i].alone, "p50 %s", a);
            t[i].alone_met = s.med <= TARGET_P50_NS;
        } else {
            const struct br_result *st = &res[BR_ALONE_STORED];
            struct bench_stat ss = bench_stat_of(st->rate, st->nreps);

            bench_fmt_rate(a, sizeof a, s.med);
            snprintf(t[i].alone, sizeof t[i].alone, "%s messages/s", a);
            t[i].alone_met = s.med >= (i == 0 ? TARGET_CORE : TARGET_JS);
            /* JetStream: also what the stream stores with no reader. */
            if (i == 1 && st->status == ST_OK && ss.n > 0) {
                bench_fmt_rate(b, sizeof b, ss.med);
                snprintf(t[i].alone, sizeof t[i].alone, "%s messages/s (stored, "
                         "no reader: %s)", a, b);
            }
        }
    }
    s = bench_stat_of(res[BR_LAT].p50, res[BR_LAT].nreps);
    if (res[BR_LAT].status != ST_OK || s.n == 0) {
        snprintf(t[2].measured, sizeof t[2].measured, "not measured");
        t[2].met = -1;
    } else {
        bench_fmt_time(a, sizeof a, s.med);
        snprintf(t[2].measured, sizeof t[2].measured, "p50 %s", a);
        t[2].met = s.med <= TARGET_P50_NS;
    }
}

/* What a row without figures says: why it has none. */
static const char *status_word(const struct br_result *r)
{
    return r->status == ST_SKIPPED  ? "skipped"
           : r->status == ST_FAILED ? "FAILED"
                                    : "not measured (interrupted)";
}

/* A row of a throughput table: case c's rate over the runs, and `ratio`'s
 * median ("-" when none; the local case's is 1.00x), or why there is
 * none. */
static void rate_row(FILE *out, const struct br_env *e, const struct br_result *res,
                     enum br_case c, struct bench_stat ratio)
{
    const struct br_result *r = &res[c];
    char rate[96], x[32], items[32];

    snprintf(items, sizeof items, "%" PRIu64,
             c == BR_JS || c == BR_ALONE_JS || c == BR_ALONE_STORED ? e->items_js
                                                                    : e->items_core);
    if (r->status != ST_OK || r->nreps == 0) {
        fprintf(out, "  %-42s %8s  %s%s%s\n", br_case_label(c), items, status_word(r),
                r->note[0] ? ": " : "", r->note);
        return;
    }
    bench_fmt_rate_spread(rate, sizeof rate, bench_stat_of(r->rate, r->nreps));
    if (c == BR_LOCAL)
        snprintf(x, sizeof x, "1.00x");
    else
        fmt_ratio3(x, sizeof x, ratio.n > 0 ? ratio.med : NAN);
    fprintf(out, "  %-42s %8s  %-26s %s\n", br_case_label(c), items, rate, x);
}

static void report_table(FILE *out, const struct bench_info *info,
                         const struct br_env *e, const struct br_result *res, int quick)
{
    const struct bench_opts *o = info->opts;
    struct br_target t[3];
    int c, i, below = 0;

    fprintf(out, "scb-bench %s (libscb %s) on %s: the NATS bridge\n", PACKAGE_VERSION,
            scb_version(), info->system);
    fprintf(out, "CPUs: %d online, %d usable by this run; processes not pinned "
            "(nats-server, both bridges,\nthe writer and the reader share them)\n",
            info->cpus_online, info->cpus_usable);
    fprintf(out, "nats-server %s (%s) on 127.0.0.1, JetStream storage in a "
            "temporary directory\n", e->server_version[0] ? e->server_version
                                                           : "(version unknown)",
            e->server);
    fprintf(out, "scb-bridge: %s; backend %s\n", e->bridge, e->backend);
    fprintf(out, "each case: median [min-max] of %d run%s, interleaved; total time "
            "%.0f s%s\n", o->reps, o->reps == 1 ? "" : "s", info->elapsed,
            quick ? "\n--quick: few items a run, figures not comparable with the "
                    "targets" : "");
    fprintf(out, "\nThroughput of 64-byte items: one writer process pushes the "
            "items into a lossless ring\n(scb_push_many, 32 at a time); the clock "
            "runs from its first push until a reader process\nhas taken the last "
            "one from the ring at the far end (scb_pop_many), every byte of "
            "every\nitem checked.  The bridges run as `scb-bridge in URL RING` and "
            "`scb-bridge out RING URL`\n(with --stream NAME for JetStream) between "
            "two lossless rings of their own, started\nafresh for every run.  vs "
            "local = items/s over the local case's, per run, median.\n");
    fprintf(out, "\n  %-42s %8s  %-26s %s\n", "case", "items", "items/s", "vs local");
    for (c = BR_LOCAL; c <= BR_JS; c++)
        rate_row(out, e, res, (enum br_case)c, vs_local(res, (enum br_case)c));

    fprintf(out, "\nThe same messages through NATS alone, what the broker and "
            "its client do with them here:\na publisher process and a subscriber "
            "process use the NATS C client directly, no ring and\nno bridge.  64 "
            "bytes and out's headers (through JetStream its message id and "
            "expected last\nsequence number too); no acknowledgement asked of the "
            "stream, each fetched batch's last\nmessage acknowledged; every number "
            "and byte checked.  No reader: the same publisher, no\nconsumer, the "
            "clock stopped when the stream holds the last message (looked at "
            "every\n10 ms).  bridge / alone = the bridge's items/s over these "
            "messages/s, per run, median.\n");
    fprintf(out, "\n  %-42s %8s  %-26s %s\n", "case", "messages", "messages/s",
            "bridge / alone");
    for (c = BR_ALONE_CORE; c <= BR_ALONE_STORED; c++)
        rate_row(out, e, res, (enum br_case)c,
                 ratio_of(res, c == BR_ALONE_CORE ? BR_CORE : BR_JS, (enum br_case)c));

    fprintf(out, "\nLatency of one item through out -> core NATS -> in on an idle "
            "path: the writer stamps it\n(CLOCK_MONOTONIC) and pushes it; the reader "
            "at the far end, asleep in scb_pop_wait,\ntakes it and reads the clock.  "
            "The next item goes %u us after the last one arrived;\n%" PRIu64
            " items a run after %llu unmeasured; each figure: median [min-max] "
            "over the runs.\nNATS alone: the same with a message the publisher "
            "stamps and the subscriber, asleep in\nnatsSubscription_NextMsg, "
            "takes.\n", BR_LAT_GAP_US, e->lat_samples,
            (unsigned long long)BR_LAT_WARM);
    fprintf(out, "\n  %-42s %-22s %-22s %s\n", "case", "p50", "p90", "p99");
    for (c = BR_LAT; c <= BR_ALONE_LAT; c += BR_ALONE_LAT - BR_LAT) {
        const struct br_result *r = &res[c];
        const char *label = c == BR_LAT ? "out -> core NATS -> in, 64 B"
                                        : "client -> core NATS -> client, 64 B";
        char a[64], b[64], d[64];
        if (r->status != ST_OK || r->nreps == 0) {
            fprintf(out, "  %-42s %s%s%s\n", label, status_word(r),
                    r->note[0] ? ": " : "", r->note);
        } else {
            bench_fmt_time_spread(a, sizeof a, bench_stat_of(r->p50, r->nreps));
            bench_fmt_time_spread(b, sizeof b, bench_stat_of(r->p90, r->nreps));
            bench_fmt_time_spread(d, sizeof d, bench_stat_of(r->p99, r->nreps));
            fprintf(out, "  %-42s %-22s %-22s %s\n", label, a, b, d);
        }
    }

    targets(res, t);
    fprintf(out, "\nTargets (from the README's table of speed targets), this run:\n");
    for (i = 0; i < 3; i++)
        fprintf(out, "  %-58s %-17s %-42s %s\n", t[i].what, t[i].target, t[i].measured,
                t[i].met < 0 ? "-" : t[i].met ? "met" : "NOT MET");
    for (i = 0; i < 3; i++) {
        if (t[i].met != 0 || t[i].alone_met != 0)
            continue;
        if (!below++)
            fprintf(out, "\nTargets NATS alone misses too, with the same messages "
                    "on this machine, this run:\n");
        fprintf(out, "  %-58s %-17s %s\n", t[i].what, t[i].target, t[i].alone);
    }
    if (info->failed || info->skipped || info->interrupted)
        fprintf(out, "\n%d case%s failed, %d skipped%s\n", info->failed,
                info->failed == 1 ? "" : "s", info->skipped,
                info->interrupted ? "; interrupted: partial results" : "");
}

static void json_stat(FILE *out, const char *key, struct bench_stat s)
{
    if (s.n == 0 || isnan(s.med))
        fprintf(out, "\"%s\": null", key);
    else
        fprintf(out, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g}", key,
                s.med, s.min, s.max);
}

static void report_json(FILE *out, const struct bench_info *info, const struct br_env *e,
                        const struct br_result *res, int quick, const char *skipped)
{
    struct br_target t[3];
    int c, i;

    bench_json_head(out, info, "bridge");
    if (skipped != NULL) {
        fprintf(out, ",\n  \"status\": \"skipped\",\n  \"note\": ");
        bench_json_str(out, skipped);
        fprintf(out, "\n}\n");
        return;
    }
    fprintf(out, ",\n  \"cpus_online\": %d,\n  \"cpus_usable\": %d,\n"
            "  \"nats_server\": ", info->cpus_online, info->cpus_usable);
    bench_json_str(out, e->server_version);
    fprintf(out, ",\n  \"scb_bridge\": ");
    bench_json_str(out, e->bridge);
    fprintf(out, ",\n  \"backend\": ");
    bench_json_str(out, e->backend);
    fprintf(out, ",\n  \"settings\": {\"reps\": %d, \"quick\": %s, \"item_size\": %d, "
            "\"items_core\": %" PRIu64 ", \"items_jetstream\": %" PRIu64
            ", \"latency_samples\": %" PRIu64 "},\n", info->opts->reps,
            quick ? "true" : "false", BR_SIZE, e->items_core, e->items_js,
            e->lat_samples);
    fprintf(out, "  \"elapsed_s\": %.1f,\n  \"failed\": %d,\n  \"skipped\": %d,\n"
            "  \"interrupted\": %s,\n  \"cases\": [", info->elapsed, info->failed,
            info->skipped, info->interrupted ? "true" : "false");
    for (c = 0; c < BR_NCASES; c++) {
        const struct br_result *r = &res[c];
        fprintf(out, "%s\n    {\"case\": \"%s\", \"name\": ", c ? "," : "",
                br_case_id((enum br_case)c));
        bench_json_str(out, br_case_label((enum br_case)c));
        fprintf(out, ", \"status\": \"%s\"", r->status == ST_OK ? "ok"
                                             : r->status == ST_FAILED ? "failed"
                                                                      : "skipped");
        if (r->note[0]) {
            fputs(", \"note\": ", out);
            bench_json_str(out, r->note);
        }
        fprintf(out, ", \"reps\": %d, ", r->nreps);
        if (br_case_latency((enum br_case)c)) {
            json_stat(out, "p50_ns", bench_stat_of(r->p50, r->nreps));
            fputs(", ", out);
            json_stat(out, "p90_ns", bench_stat_of(r->p90, r->nreps));
            fputs(", ", out);
            json_stat(out, "p99_ns", bench_stat_of(r->p99, r->nreps));
        } else {
            json_stat(out, "items_per_s", bench_stat_of(r->rate, r->nreps));
            if (c == BR_CORE || c == BR_JS) {
                fputs(", ", out);
                json_stat(out, "vs_local", vs_local(res, (enum br_case)c));
                fputs(", ", out);
                json_stat(out, "vs_alone", ratio_of(res, (enum br_case)c,
                                                    alone_of((enum br_case)c)));
            }
        }
        fputc('}', out);
    }
    targets(res, t);
    fprintf(out, "\n  ],\n  \"targets\": [");
    for (i = 0; i < 3; i++) {
        fprintf(out, "%s\n    {\"what\": ", i ? "," : "");
        bench_json_str(out, t[i].what);
        fputs(", \"target\": ", out);
        bench_json_str(out, t[i].target);
        fputs(", \"measured\": ", out);
        bench_json_str(out, t[i].measured);
        fprintf(out, ", \"met\": %s, \"nats_alone\": ", t[i].met < 0 ? "null"
                : t[i].met ? "true" : "false");
        if (t[i].alone[0])
            bench_json_str(out, t[i].alone);
        else
            fputs("null", out);
        fprintf(out, ", \"nats_alone_met\": %s}", t[i].alone_met < 0 ? "null"
                : t[i].alone_met ? "true" : "false");
    }
    fprintf(out, "\n  ]\n}\n");
}

int br_report(FILE *out, const struct bench_info *info, const struct br_env *e,
              const struct br_result *res, int quick, int json,
              const char *json_path, const char *skipped)
{
    if (json) {
        FILE *f = json_path != NULL ? fopen(json_path, "w") : stdout;
        if (f == NULL) {
            fprintf(stderr, "scb-bench: %s: %s\n", json_path, strerror(errno));
            return 1;
        }
        report_json(f, info, e, res, quick, skipped);
        if (f != stdout && fclose(f) != 0)
            return 1;
    }
    if ((!json || json_path != NULL) && skipped == NULL)
        report_table(out, info, e, res, quick);
    if (fflush(out) != 0) {
        fprintf(stderr, "scb-bench: writing the report: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

