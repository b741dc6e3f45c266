/*
 * bridge_bench.h - what the two files of scb-bench --bridge share: the
 * sizes of its runs, the targets of the README's table, its cases, what
 * each gave, and what the run found and made.  bridge.c runs the cases;
 * bridge_report.c writes the table and the JSON.
 */
#ifndef SCB_BRIDGE_BENCH_H
#define SCB_BRIDGE_BENCH_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "bench.h"

#define BR_SIZE 64                     /* bytes per item */
#define BR_ITEMS_CORE 500000ull        /* items per run: local and core NATS */
#define BR_ITEMS_JS 200000ull          /* ... JetStream */
#define BR_QUICK_CORE 20000ull         /* --quick */
#define BR_QUICK_JS 10000ull
#define BR_LAT_SAMPLES 500ull          /* latency samples per run */
#define BR_QUICK_LAT 50ull
#define BR_LAT_WARM 20ull              /* items sent before the samples */
#define BR_LAT_GAP_US 1000u            /* idle time between two of them */
#define BR_RING_LEN 65536ull           /* items in a core NATS or local ring */
#define BR_READY_NS (10ull * 1000000000ull)  /* a program's start-up, at most */
#define BR_STOP_NS (5ull * 1000000000ull)    /* a bridge's exit after SIGTERM */
#define BR_STATS "0.05"                /* --stats of the bridges: a first line
                                        * says they are up (bridge.test's way) */

/* The targets of the README's table, as this run judges them. */
#define TARGET_CORE 1e6                /* items/s */
#define TARGET_JS 200e3                /* items/s */
#define TARGET_P50_NS 200e3            /* ns */

/* The bridge's cases, then the same messages through NATS alone (no ring,
 * no bridge: nats_alone.c), set beside them. */
enum br_case {
    BR_LOCAL, BR_CORE, BR_JS, BR_LAT,
    BR_ALONE_CORE, BR_ALONE_JS, BR_ALONE_STORED, BR_ALONE_LAT,
    BR_NCASES
};

struct br_result {
    enum bench_status status;
    char note[400];
    int nreps;
    double rate[256];                  /* items/s of each run */
    double p50[256], p90[256], p99[256]; /* BR_LAT: ns */
};

/* What the run found and made. */
struct br_env {
    char server[PATH_MAX];             /* nats-server */
    char server_version[96];
    char bridge[PATH_MAX];             /* scb-bridge */
    char dir[1024];                    /* the temporary directory */
    char url[64];
    pid_t server_pid;
    const char *backend;
    uint64_t items_core, items_js, lat_samples;
    unsigned counter;                  /* names of streams and files */
};

const char *br_case_label(enum br_case c);
int br_case_latency(enum br_case c);  /* BR_LAT, BR_ALONE_LAT */
const char *br_case_id(enum br_case c);

/* One run of two children sharing `arg`: the sender (index 0: it sets
 * ctl->t0 at its start) and the receiver (index 1: its t_end when it has
 * the last of `items`, and ctl->nsamples for latency), for at most
 * limit_ns and 5 s more.  Then *rate (items/s) or, for latency, the
 * `nsamples` samples.  0, -1 (why), -2 when interrupted. */
int br_run_pair(bench_child_fn sender, const char *sender_role,
                bench_child_fn receiver, const char *receiver_role, void *arg,
                int latency, uint64_t items, uint64_t limit_ns, double *rate,
                uint64_t *samples, uint64_t nsamples, char *why, size_t whylen);

/* Latency, in the child that sends: waits until item `seq` has arrived
 * (the receiver moved ctl->ball past it), at most 5 s and until `limit`,
 * then lets the path stand idle BR_LAT_GAP_US.  `what` names the item in
 * the error ("item", "message").  CHILD_OK or the code to exit with. */
int br_lat_wait(struct bench_ctl *ctl, const char *label, int index, uint64_t seq,
                uint64_t limit, const char *what);

/* nats_alone.c (built with libnats only): one run of a BR_ALONE_ case, as
 * bridge.c's run_once: 0 (the rate or the latency samples filled), -1
 * (why), -2 when interrupted. */
int br_alone_run(struct br_env *e, enum br_case c, double *rate, uint64_t *samples,
                 uint64_t nsamples, char *why, size_t whylen);

/* The JSON (into json_path, or standard output) and, unless only JSON on
 * standard output was asked for, the table on `out`; `skipped`: why the
 * cases did not run (NULL: they did).  Returns 0, or 1 after saying why. */
int br_report(FILE *out, const struct bench_info *info, const struct br_env *e,
              const struct br_result *res, int quick, int json,
              const char *json_path, const char *skipped);

#endif /* SCB_BRIDGE_BENCH_H */
