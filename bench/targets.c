/*
 * targets.c - what the report compares: the case of a run that another is
 * compared with (the pipe at the same size, a record case's baseline), the
 * ratios to them, and the speed targets (the README's table) judged on one
 * backend, each marked met, not met or not measured.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <math.h> /* isnan, NAN: macros, no libm */

#include "bench.h"

const struct bench_result *bench_find_tput(const struct bench_result *res, int n,
                                            enum bench_transport tr,
                                            enum bench_mode mode, enum bench_api api,
                                            const char *backend, size_t size,
                                            int readers)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (r->is_latency || r->status != ST_OK || r->nreps == 0 ||
            r->tc.rec != REC_NONE || r->tc.ev != EV_NONE)
            continue;
        if (r->tc.transport != tr || r->tc.size != size || r->tc.readers != readers)
            continue;
        if (tr == TR_SCB && (r->tc.mode != mode || r->tc.api != api ||
                             strcmp(r->tc.backend, backend) != 0))
            continue;
        return r;
    }
    return NULL;
}

const struct bench_result *bench_find_lat(const struct bench_result *res, int n,
                                           enum bench_lat lat, const char *backend)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (!r->is_latency || r->status != ST_OK || r->nreps == 0 || r->lat != lat)
            continue;
        if ((r->backend == NULL) != (backend == NULL) ||
            (backend != NULL && strcmp(r->backend, backend) != 0))
            continue;
        return r;
    }
    return NULL;
}

const struct bench_result *bench_find_rec(const struct bench_result *res, int n,
                                          enum bench_rec rec,
                                          enum bench_transport tr,
                                          const char *backend)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (r->is_latency || r->status != ST_OK || r->nreps == 0 ||
            r->tc.rec != rec || r->tc.transport != tr)
            continue;
        if ((r->tc.backend == NULL) != (backend == NULL) ||
            (backend != NULL && strcmp(r->tc.backend, backend) != 0))
            continue;
        return r;
    }
    return NULL;
}

const struct bench_result *bench_rec_baseline(const struct bench_result *res, int n,
                                              const struct bench_result *r)
{
    if (r->is_latency || r->tc.transport != TR_SCB)
        return NULL;
    switch (r->tc.rec) {
    case REC_SMALL:
        return bench_find_tput(res, n, TR_SCB, MODE_LOSSLESS, API_ONE, r->tc.backend,
                               BENCH_REC_SMALL, 1);
    case REC_MIXED:
        return bench_find_rec(res, n, REC_MIXED, TR_PIPE, NULL);
    case REC_ZEROCOPY:
        return bench_find_rec(res, n, REC_COPY, TR_SCB, r->tc.backend);
    default:
        return bench_ev_baseline(res, n, r);
    }
}

double bench_vs_baseline(const struct bench_result *res, int n,
                         const struct bench_result *r)
{
    const struct bench_result *b = bench_rec_baseline(res, n, r);
    double v;

    if (b == NULL || r->status != ST_OK || r->nreps == 0)
        return NAN;
    v = bench_series(b, SER_HEAD, 0).med;
    return v > 0 ? bench_series(r, SER_HEAD, 0).med / v : NAN;
}

/* The pipe's median items/s at `size`, NAN if not measured. */
static double pipe_rate(const struct bench_result *res, int n, size_t size)
{
    const struct bench_result *p =
        bench_find_tput(res, n, TR_PIPE, MODE_LOSSLESS, API_MANY, NULL, size, 1);
    return p != NULL ? bench_series(p, SER_HEAD, 0).med : NAN;
}

double bench_vs_pipe(const struct bench_result *res, int n,
                      const struct bench_result *r)
{
    double pr, v;

    if (r->is_latency) {
        const struct bench_result *p = bench_find_lat(res, n, LAT_PIPE, NULL);
        if (p == NULL || r->status != ST_OK || r->nreps == 0)
            return NAN;
        v = bench_series(r, SER_P50, 0).med;
        return v > 0 ? bench_series(p, SER_P50, 0).med / v : NAN;
    }
    if (r->tc.rec != REC_NONE || r->tc.ev != EV_NONE)
        return NAN; /* compared with their own baselines */
    pr = pipe_rate(res, n, r->tc.size);
    if (r->status != ST_OK || r->nreps == 0 || !(pr > 0))
        return NAN;
    return bench_series(r, SER_HEAD, 0).med / pr;
}

static void lossless_target(struct bench_target *t, const struct bench_result *res,
                            int n, const char *be, size_t size, double ratio,
                            double gbps)
{
    const struct bench_result *r =
        bench_find_tput(res, n, TR_SCB, MODE_LOSSLESS, API_MANY, be, size, 1);
    char sz[32];

    bench_fmt_size(sz, sizeof sz, size);
    if (gbps > 0)
        snprintf(t->what, sizeof t->what, "lossless 1->1, %s: >= %gx pipe, >= %g GB/s",
                 sz, ratio, gbps);
    else
        snprintf(t->what, sizeof t->what, "lossless 1->1, %s: >= %gx pipe", sz, ratio);
    t->met = -1;
    snprintf(t->measured, sizeof t->measured, "not measured");
    if (r != NULL) {
        double x = bench_vs_pipe(res, n, r);
        double bytes = bench_series(r, SER_HEAD, 0).med * (double)size;
        char a[32], b[48];
        bench_fmt_ratio(a, sizeof a, x);
        bench_fmt_bytes(b, sizeof b, bytes);
        if (isnan(x)) {
            snprintf(t->measured, sizeof t->measured, "%s (no pipe figure)", b);
            return;
        }
        if (gbps > 0)
            snprintf(t->measured, sizeof t->measured, "%s pipe, %s", a, b);
        else
            snprintf(t->measured, sizeof t->measured, "%s pipe", a);
        t->met = x >= ratio && (gbps <= 0 || bytes >= gbps * 1e9);
    }
}

/* Target "record case r >= ratio x its baseline"; `base` names the
 * baseline in the measured text.  The mixed records also show their
 * payload rate. */
static void rec_target(struct bench_target *t, const struct bench_result *res, int n,
                       const struct bench_result *r, double ratio, const char *base)
{
    double x;
    char a[32], b[48];

    t->met = -1;
    snprintf(t->measured, sizeof t->measured, "not measured");
    if (r == NULL)
        return;
    x = bench_vs_baseline(res, n, r);
    if (isnan(x)) {
        snprintf(t->measured, sizeof t->measured, "no %s figure", base);
        return;
    }
    bench_fmt_ratio(a, sizeof a, x);
    if (r->tc.rec == REC_MIXED) {
        bench_fmt_bytes(b, sizeof b, bench_series(r, SER_BYTES, 0).med);
        snprintf(t->measured, sizeof t->measured, "%s %s, %s of payload", a, base, b);
    } else {
        snprintf(t->measured, sizeof t->measured, "%s %s", a, base);
    }
    t->met = x >= ratio;
}

/* Target "p50 of round trip r <= the pipe's p50". */
static void p50_vs_pipe(struct bench_target *t, const struct bench_result *r,
                        const struct bench_result *p)
{
    double a50, b50;
    char a[32], b[32];

    if (r == NULL || p == NULL) {
        snprintf(t->measured, sizeof t->measured, "not measured");
        t->met = -1;
        return;
    }
    a50 = bench_series(r, SER_P50, 0).med;
    b50 = bench_series(p, SER_P50, 0).med;
    bench_fmt_time(a, sizeof a, a50);
    bench_fmt_time(b, sizeof b, b50);
    snprintf(t->measured, sizeof t->measured, "p50 %s, pipe %s", a, b);
    t->met = a50 <= b50;
}

int bench_targets(const struct bench_info *info,
                           const struct bench_result *res, int n,
                           const char *be, struct bench_target *t)
{
    const struct bench_result *r, *p;
    char part[64], sz[32];
    int k = 0, i, all, any;

    lossless_target(&t[k++], res, n, be, 8, 75, 0);
    lossless_target(&t[k++], res, n, be, 64, 55, 0);
    lossless_target(&t[k++], res, n, be, 1024, 17, 15);
    lossless_target(&t[k++], res, n, be, 65536, 8.5, 10);

    /* Overwrite: the writer's rate with one reader against none, every size. */
    snprintf(t[k].what, sizeof t[k].what,
             "overwrite: writer rate with 1 reader >= 90%% of with none");
    t[k].measured[0] = '\0';
    all = 1;
    any = 0;
    for (i = 0; i < info->nsizes; i++) {
        size_t size = info->sizes[i];
        r = bench_find_tput(res, n, TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 1);
        p = bench_find_tput(res, n, TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 0);
        if (r == NULL || p == NULL)
            continue;
        double x = bench_series(r, SER_WRITER, 0).med / bench_series(p, SER_WRITER, 0).med;
        bench_fmt_size(sz, sizeof sz, size);
        snprintf(part, sizeof part, "%s%s %.0f%%", any ? ", " : "", sz, x * 100);
        strncat(t[k].measured, part, sizeof t[k].measured - strlen(t[k].measured) - 1);
        any = 1;
        all = all && x >= 0.9;
    }
    if (!any)
        snprintf(t[k].measured, sizeof t[k].measured, "not measured");
    t[k++].met = any ? all : -1;

    /* Overwrite: a reader keeping pace loses < 5 % (64 B and 1 KiB). */
    snprintf(t[k].what, sizeof t[k].what,
             "overwrite: 1 reader keeping pace (64 B, 1 KiB) loses < 5%%");
    t[k].measured[0] = '\0';
    all = 1;
    any = 0;
    for (i = 0; i < 2; i++) {
        size_t size = i == 0 ? 64 : 1024;
        r = bench_find_tput(res, n, TR_SCB, MODE_OVERWRITE, API_MANY, be, size, 1);
        if (r == NULL)
            continue;
        double loss = bench_series(r, SER_LOSS, 0).med;
        bench_fmt_size(sz, sizeof sz, size);
        snprintf(part, sizeof part, "%s%s %.2f%%", any ? ", " : "", sz, loss * 100);
        strncat(t[k].measured, part, sizeof t[k].measured - strlen(t[k].measured) - 1);
        any = 1;
        all = all && loss < 0.05;
    }
    if (!any)
        snprintf(t[k].measured, sizeof t[k].measured, "not measured");
    t[k++].met = any ? all : -1;

    snprintf(t[k].what, sizeof t[k].what,
             "busy-poll round trip, 8 B: p50 <= 500 ns, p99 <= 1 us");
    r = bench_find_lat(res, n, LAT_BUSY, be);
    if (r != NULL) {
        double p50 = bench_series(r, SER_P50, 0).med, p99 = bench_series(r, SER_P99, 0).med;
        char a[32], b[32];
        bench_fmt_time(a, sizeof a, p50);
        bench_fmt_time(b, sizeof b, p99);
        snprintf(t[k].measured, sizeof t[k].measured, "p50 %s, p99 %s", a, b);
        t[k].met = p50 <= 500 && p99 <= 1000;
    } else {
        snprintf(t[k].measured, sizeof t[k].measured, "not measured");
        t[k].met = -1;
    }
    k++;

    p = bench_find_lat(res, n, LAT_PIPE, NULL);
    snprintf(t[k].what, sizeof t[k].what,
             "scb_pop_wait round trip: p50 <= the pipe's p50");
    p50_vs_pipe(&t[k++], bench_find_lat(res, n, LAT_WAIT, be), p);
    /* The same with no spin: both sides sleep in the futex every round, as
     * both sides of the pipe ping-pong block in read. */
    snprintf(t[k].what, sizeof t[k].what,
             "  the same, no spin (SCB_SPIN_US=0)");
    p50_vs_pipe(&t[k++], bench_find_lat(res, n, LAT_SLEEP, be), p);

    snprintf(t[k].what, sizeof t[k].what,
             "records 1->1, 64 B: >= 0.8x fixed-size push/pop");
    rec_target(&t[k++], res, n, bench_find_rec(res, n, REC_SMALL, TR_SCB, be), 0.8,
               "push/pop");
    snprintf(t[k].what, sizeof t[k].what,
             "records 1->1, 8-1000 B mixed, lossless: >= 5x pipe");
    rec_target(&t[k++], res, n, bench_find_rec(res, n, REC_MIXED, TR_SCB, be), 5,
               "pipe");
    snprintf(t[k].what, sizeof t[k].what,
             "zero-copy 64 KiB records: >= 1.5x push/pop_record");
    rec_target(&t[k++], res, n, bench_find_rec(res, n, REC_ZEROCOPY, TR_SCB, be), 1.5,
               "copying");

    snprintf(t[k].what, sizeof t[k].what,
             "busy-poll round trip, 8 B records: p50 <= 1.2x cache line");
    r = bench_find_lat(res, n, LAT_REC_BUSY, be);
    p = bench_find_lat(res, n, LAT_LINE, NULL);
    if (r != NULL && p != NULL) {
        /* Judged on the ratio within each run, whose two round trips are
         * measured a second or so apart, then the median of those: on a
         * virtual machine the floor moves between runs with where the host
         * put the virtual CPUs, and a ratio of medians would mix
         * placements. */
        double ratio[256], a50 = bench_series(r, SER_P50, 0).med;
        double b50 = bench_series(p, SER_P50, 0).med;
        int m = r->nreps < p->nreps ? r->nreps : p->nreps, j, nr = 0;
        char a[32], b[32], c[32];
        for (j = 0; j < m && j < 256; j++)
            if (p->p50[j] > 0)
                ratio[nr++] = r->p50[j] / p->p50[j];
        struct bench_stat x = bench_stat_of(ratio, nr);
        bench_fmt_time(a, sizeof a, a50);
        bench_fmt_time(b, sizeof b, b50);
        bench_fmt_ratio(c, sizeof c, x.med);
        snprintf(t[k].measured, sizeof t[k].measured,
                 "p50 %s, line %s, %s per run", a, b, c);
        t[k].met = x.n > 0 ? x.med <= 1.2 : -1;
    } else {
        snprintf(t[k].measured, sizeof t[k].measured, "not measured");
        t[k].met = -1;
    }
    k++;
    return k + bench_ev_targets(res, n, be, &t[k]);
}
