/*
 * bench.h - scb-bench, the libscb benchmark: what its files share.
 *
 *   scb-bench.c   options, the list of cases, the main loop
 *   harness.c     processes: fork, CPU pinning, the start barrier, deadlines,
 *                 reaping, and removing what a run created on every exit path
 *   cases.c       the libscb cases (throughput and round trip), public API
 *                 only
 *   neighbour.c   the neighbour experiment of --neighbour, public API only
 *   records.c     the record cases (SCB_RECORDS rings, zero-copy), and the
 *                 pipe carrying the same records they are compared with
 *   baselines.c   the same measurements through a pipe, a Unix domain socket
 *                 and a POSIX message queue
 *   events.c      the scb_fd cases (an event loop asleep in poll), and the
 *                 pipe polled the same way they are compared with
 *   report.c      statistics, names and numbers for people, and the tables
 *   targets.c     what each case is compared with, and the speed targets
 *   export.c      --json, --csv and --plot
 *   bridge.c      --bridge: the NATS bridge (scb-bridge out -> nats-server ->
 *                 scb-bridge in, core NATS and JetStream) beside the same
 *                 ring read locally; it starts those programs
 *   nats_alone.c  --bridge: the same messages through NATS alone (built
 *                 with libnats only), set beside the bridge's rows
 *
 * Every process that moves items checks a sequence number in the first 8
 * bytes of every item it receives (records: the length, and the number in
 * the first and the last 8 bytes), so no rate is faked.  Nothing here may
 * wait without a deadline.
 */
#ifndef SCB_BENCH_H
#define SCB_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <scb.h>

#define BENCH_BATCH 32          /* items per push_many / pop_many */
#define BENCH_MAX_READERS 16
#define BENCH_MAX_PROCS (BENCH_MAX_READERS + 1)
#define BENCH_LINE 128          /* spacing of fields written by different processes */
#define BENCH_MIN_SIZE 8        /* every item carries a 64-bit sequence number */
#define BENCH_MAX_SIZE (16u << 20)
#define BENCH_NO_P0 UINT64_MAX  /* ctl.p0 before the measured window starts */

/* Exit codes of the child processes. */
#define CHILD_OK 0
#define CHILD_FAIL 3     /* wrong data or an error: explained on stderr */
#define CHILD_TIMEOUT 4  /* its deadline passed */
#define CHILD_ABORT 5    /* the parent called the run off */

/* One child's results, on its own lines.  Written by that child only, read
 * by the parent after the child exited. */
struct bench_proc {
    _Alignas(BENCH_LINE) atomic_int ready; /* 1: opened everything, waits for go */
    int unpinned;        /* 1: sched_setaffinity failed */
    uint64_t t_end;      /* monotonic ns when it finished */
    uint64_t window;     /* reader: items received with seq >= p0;
                          * writer: items pushed from p0 on */
    uint64_t received;   /* reader: every item it received */
    uint64_t bytes;      /* reader of records: payload bytes of the window */
    uint64_t lost;       /* reader: scb_lost at the end */
    uint32_t ring_flags; /* a ring's creator: scb_info's flags of what it made */
    uint64_t empty;      /* reader of the push-rate cases of events.c: pops of
                          * the window that found nothing */
};

/*
 * The control block of one run, in an anonymous shared mapping made before
 * any fork.  The writer runs a warm-up, then publishes the first sequence
 * number of the measured window (p0) and its start time (t0); every rate is
 * items of the window over the time since t0.
 */
struct bench_ctl {
    _Alignas(BENCH_LINE) atomic_int go;  /* 0: wait; 1: go; -1: abort */
    _Alignas(BENCH_LINE) _Atomic uint64_t p0; /* BENCH_NO_P0 until the window starts */
    uint64_t t0;         /* written before p0 is published */
    _Alignas(BENCH_LINE) atomic_int done;  /* the writer has pushed its last item */
    uint64_t total;      /* items pushed in all; written before done */
    _Alignas(BENCH_LINE) _Atomic uint64_t ball; /* the cache-line ping-pong */
    struct bench_proc proc[BENCH_MAX_PROCS]; /* [0] the writer (or pinger), [1..] readers */
    uint64_t max_samples;
    uint64_t nsamples;   /* round-trip samples in samples[] */
    uint64_t samples[];  /* round trips in ns */
};

/* What one child runs; returns its exit code. */
typedef int (*bench_child_fn)(struct bench_ctl *ctl, int index, void *arg);

struct bench_child {
    bench_child_fn fn;
    void *arg;
    int cpu;             /* CPU to pin to, -1: none */
    const char *role;    /* in messages; NULL: "writer" for 0, "reader N" after */
};

/* Settings of a run, from the options. */
struct bench_opts {
    double duration;     /* seconds measured per repetition */
    double warmup;       /* seconds of warm-up before each */
    int reps;
    uint64_t rounds;     /* round trips per latency repetition */
    uint64_t ring_bytes; /* ring capacity for throughput cases */
    int quiet;
};

/* Flags ORed into every scb_create of the run (--asym-barriers). */
extern uint32_t bench_create_flags;

/* --- harness.c ----------------------------------------------------------- */

uint64_t bench_now(void);           /* CLOCK_MONOTONIC, ns */
void bench_sleep_us(unsigned us);

/* Installs the signal handling and the exit-time cleanup; returns -1 if the
 * shared control block cannot be mapped. */
int bench_init(uint64_t max_samples);
struct bench_ctl *bench_ctl(void);

/* CPUs this process may run on (up to max of them, in list) and the CPUs
 * online; the return value is how many are usable. */
int bench_cpus(int *list, int max, int *online);
int bench_can_pin(void);            /* 1 if processes can be pinned here */
int bench_cpu_for(int proc_index);  /* writer 0, readers 1..: the CPU to pin to */

/* Rings to remove on any exit path until the run removed them itself. */
void bench_track_ring(const char *name, const char *backend);
void bench_untrack_ring(const char *name);

/* A name no other run uses: "scbb.<pid>.<n>". */
void bench_ring_name(char *buf, size_t len);

/*
 * Runs one repetition: resets the control block, forks the children (each
 * pinned to its CPU), waits until all are ready (10 s at most), calls
 * before_go (may be NULL), lets them go and waits for all to exit, at most
 * limit_ns.  Returns 0 when every child exited with CHILD_OK; -1 with the
 * reason in why otherwise (the others are stopped and reaped); -2 when the
 * user interrupted the program.
 */
int bench_run(const struct bench_child *kids, int n, uint64_t limit_ns,
              void (*before_go)(void *), void *arg, char *why, size_t whylen);

int bench_interrupted(void);        /* the signal number, or 0 */
void bench_cleanup(void);           /* stops children, removes rings */
void bench_die_of_signal(void);     /* after bench_cleanup: exits as the signal would */
int bench_any_unpinned(void);

/* Programs of their own (bridge.c): bench_spawn starts argv[0] (a path)
 * with stdout and stderr into files (NULL: /dev/null), the signal handling
 * scb-bench was started with, and SIGTERM when scb-bench dies (Linux);
 * returns its pid, or -1 (why).  bench_cleanup stops every one still
 * running.  bench_alive: 1 while it runs, else 0 with its wait status in
 * *status.  bench_stop: SIGTERM, SIGKILL after grace_ns, reaped; returns
 * the wait status (-1 if unknown). */
pid_t bench_spawn(char *const argv[], const char *out_path, const char *err_path,
                  char *why, size_t whylen);
int bench_alive(pid_t pid, int *status);
int bench_stop(pid_t pid, uint64_t grace_ns);
/* A directory bench_cleanup removes with everything in it (one at a time). */
void bench_track_dir(const char *path);
/* In the parent: sleeps until a signal arrives or ns pass. */
void bench_parent_wait(uint64_t ns);

/* popen(cmd, "w") and pclose for the parent, whose usual signal mask the
 * command must not inherit.  bench_pclose returns the exit status, or -1. */
FILE *bench_popen_w(const char *cmd);
int bench_pclose(FILE *f);

/* In a child: waits for go (or abort, or the deadline), after setting its
 * ready flag.  Returns CHILD_OK or the code to exit with. */
int bench_child_ready(struct bench_ctl *ctl, int index);

/* One round of a round-trip case: sends seq and waits (not past the
 * monotonic time `limit`) for the reply, stored in *got.  CHILD_OK or the
 * code to exit with. */
typedef int (*bench_round_fn)(void *ctx, uint64_t seq, uint64_t limit,
                              uint64_t *got);

/* The pinger of a round-trip case, once its child is ready (`code` is what
 * getting ready returned): warm + rounds rounds, sequence numbers from 0,
 * each reply checked and, after the warm-up, each round timed into
 * ctl->samples.  limit_ns bounds the whole loop.  Returns the code to exit
 * with. */
int bench_ping_rounds(struct bench_ctl *ctl, int index, int code,
                      const char *label, uint64_t warm, uint64_t rounds,
                      uint64_t limit_ns, bench_round_fn round, void *ctx);

/* In a child: one line on stderr, prefixed with the case and the child's
 * role. */
void bench_child_error(const char *label, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void bench_put_seq(void *item, uint64_t seq)
{
    memcpy(item, &seq, sizeof seq);
}

static inline uint64_t bench_get_seq(const void *item)
{
    uint64_t seq;
    memcpy(&seq, item, sizeof seq);
    return seq;
}

/* Fills n items of size bytes with a pattern (the seq goes in later). */
void bench_fill(unsigned char *buf, size_t size, size_t n);

/* --- cases.c and baselines.c --------------------------------------------- */

enum bench_transport { TR_PIPE, TR_SOCKET, TR_MQ, TR_SCB };
enum bench_mode { MODE_LOSSLESS, MODE_OVERWRITE };
enum bench_api { API_MANY, API_ONE };
enum bench_lat { LAT_BUSY, LAT_WAIT, LAT_PIPE, LAT_LINE, LAT_SLEEP,
                 LAT_REC_BUSY, /* busy-poll, 8-byte records (records.c) */
                 LAT_FD,       /* asleep in poll on scb_fd (events.c) */
                 LAT_PIPE_POLL /* two pipes: write, poll, read (events.c) */ };

/* The record cases (records.c): one writer, one reader, lossless. */
enum bench_rec {
    REC_NONE,      /* not a record case */
    REC_SMALL,     /* 64-byte records, scb_push_record / scb_pop_record */
    REC_MIXED,     /* 8 to 1000 bytes, a fixed pseudo-random sequence of
                    * lengths; TR_PIPE: the same records length-prefixed */
    REC_COPY,      /* 64 KiB records, filled before scb_push_record and
                    * checksummed after scb_pop_record */
    REC_ZEROCOPY   /* the same work in place: scb_reserve / scb_commit,
                    * scb_peek / scb_release */
};

/* The push-rate cases of events.c: an overwrite writer's scb_push of 8-byte
 * items, and one reader that pops a batch now and then, never emptying the
 * ring, so that it never gets SCB_EAGAIN. */
enum bench_ev {
    EV_NONE,       /* not one of them */
    EV_PLAIN,      /* the reader never calls scb_fd */
    EV_FD          /* the reader called scb_fd: it has a bell, never armed */
};

/* One repetition of a throughput case, as measured. */
struct bench_sample {
    double writer;                        /* items/s pushed */
    double reader[BENCH_MAX_READERS];     /* items/s each reader received */
    double loss[BENCH_MAX_READERS];       /* fraction of the window each lost */
    double bytes;                         /* record cases: payload B/s received */
    double empty;                         /* events.c: the reader's empty pops */
};

struct bench_tput {
    enum bench_transport transport;
    enum bench_mode mode;
    enum bench_api api;
    const char *backend; /* TR_SCB */
    size_t size;
    int readers;         /* 0: the writer alone */
    uint64_t length;     /* TR_SCB: ring capacity in items (records: bytes) */
    enum bench_rec rec;  /* REC_NONE, or a record case of records.c */
    enum bench_ev ev;    /* EV_NONE, or a push-rate case of events.c */
};

/* Returns 0 and fills *s; 1 if the case cannot run here (why says why: it
 * is skipped); -1 if it failed (why); -2 if interrupted. */
int bench_scb_tput(const struct bench_tput *tc, const struct bench_opts *o,
                   struct bench_sample *s, char *why, size_t whylen);
int bench_base_tput(const struct bench_tput *tc, const struct bench_opts *o,
                    struct bench_sample *s, char *why, size_t whylen);
/* Round trips: fills samples (ns, o->rounds of them, sorted). */
int bench_scb_latency(enum bench_lat kind, const char *backend,
                      const struct bench_opts *o, uint64_t *samples,
                      char *why, size_t whylen);
int bench_pipe_latency(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen);
/* The hardware's floor: one shared word bounced between two processes. */
int bench_line_latency(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen);

/* Record cases: tc->rec says which (TR_SCB, or TR_PIPE for REC_MIXED's
 * baseline); returns as bench_scb_tput, and 1 (skipped) where the library
 * has no record rings.  s->bytes is the payload rate. */
int bench_rec_tput(const struct bench_tput *tc, const struct bench_opts *o,
                   struct bench_sample *s, char *why, size_t whylen);
/* Busy-poll round trips of 8-byte records through two record rings. */
int bench_rec_latency(const char *backend, const struct bench_opts *o,
                      uint64_t *samples, char *why, size_t whylen);
#define BENCH_REC_SMALL 64          /* bytes of a REC_SMALL record */
#define BENCH_REC_MIN 8             /* REC_MIXED: shortest and longest */
#define BENCH_REC_MAX 1000
#define BENCH_REC_BIG 65536         /* REC_COPY and REC_ZEROCOPY */

/* The scb_fd cases (events.c).  Round trips of 8-byte items, each side
 * asleep in poll: LAT_FD through two overwrite rings on the readers'
 * scb_fd (backend), LAT_PIPE_POLL through two pipes (backend NULL).
 * bench_ev_tput runs tc->ev; it returns as bench_scb_tput, and 1 (skipped)
 * where scb_fd is not supported. */
int bench_ev_latency(enum bench_lat kind, const char *backend,
                     const struct bench_opts *o, uint64_t *samples,
                     char *why, size_t whylen);
int bench_ev_tput(const struct bench_tput *tc, const struct bench_opts *o,
                  struct bench_sample *s, char *why, size_t whylen);
#define BENCH_EV_SIZE 8             /* item size of the push-rate cases */

/* After a round-trip run: copies the pinger's samples out, sorted. */
int bench_take_samples(const struct bench_opts *o, uint64_t *samples,
                       char *why, size_t whylen);

/*
 * The neighbour experiment (--neighbour, neighbour.c): a CPU-bound process
 * alone on one CPU while two processes on another ping-pong an item through
 * two rings, sleeping in scb_pop_wait every round.
 */
enum bench_traffic {
    NB_QUIET,   /* no ring traffic: the neighbour alone */
    NB_FENCES,  /* the ping-pong through rings with full fences */
    NB_ASYM     /* ... through rings with SCB_ASYM_BARRIERS */
};

struct bench_nb_sample {
    double loops;   /* the neighbour's loop turns per second */
    double rounds;  /* the ping-pong's round trips per second (0: none) */
};

/* Whether a ring made here with SCB_ASYM_BARRIERS has them in force (*asym),
 * asked of a child so that this process never registers for membarrier.
 * Returns 0, or as bench_scb_tput. */
int bench_neighbour_probe(const char *backend, int *asym, char *why, size_t whylen);
/* One run; returns as bench_scb_tput. */
int bench_neighbour(enum bench_traffic traffic, int registered, const char *backend,
                    const struct bench_opts *o, struct bench_nb_sample *s,
                    char *why, size_t whylen);
const char *bench_traffic_name(enum bench_traffic t);

const char *bench_socket_kind(void);  /* "seqpacket" or "stream" */
/* The POSIX message queue's limits here, for the header; "" if none. */
const char *bench_mq_note(void);

/* Shared by the children of both files. */
struct bench_stream_arg {
    const char *label;
    size_t size;
    uint64_t warm_ns, dur_ns, limit_ns;
    int oversubscribed;
};
int bench_window_done(struct bench_ctl *ctl, uint64_t *t0, uint64_t start,
                      uint64_t now, uint64_t pushed, const struct bench_stream_arg *a);

/* Rings of a run (cases.c), for records.c and neighbour.c too.
 * bench_create_ring creates the ring `name` and gives up its writer role at
 * once; *in_force (may be NULL) receives the flags scb_info reports for it;
 * returns 0, 1 (SCB_ENOTSUP: skip) or -1 (why).  bench_make_ring names a
 * new ring, tracks it for removal and creates it so, with the run's flags
 * added.  bench_unlink_names is a before_go: the processes have opened the
 * rings, their names can go. */
struct bench_names {
    const char *name[2];
    const char *backend;
};
int bench_create_ring(const char *name, const char *backend, uint32_t item_size,
                      uint64_t length, uint32_t flags, uint32_t max_readers,
                      uint32_t *in_force, char *why, size_t whylen);
int bench_make_ring(char *name, size_t namelen, const char *backend,
                    uint32_t item_size, uint64_t length, uint32_t flags,
                    uint32_t max_readers, char *why, size_t whylen);
void bench_remove_ring(const char *name, const char *backend);
void bench_unlink_names(void *varg);
/* In a child: opens the ring (flags SCB_WRITER or 0); CHILD_OK or CHILD_FAIL
 * after saying why. */
int bench_open_ring(scb_t **h, const char *name, const char *backend,
                    uint32_t flags, const char *label, int index);
/* Writes all n bytes to fd; 0 or -1 (errno). */
int bench_write_all(int fd, const unsigned char *p, size_t n);

/* A ping-pong of 8-byte items through two rings (cases.c), for neighbour.c
 * too.  In a child: bench_lat_recv receives one item into *seq, spinning on
 * scb_pop or sleeping in scb_pop_wait, not past the monotonic time `limit`;
 * bench_lat_send pushes seq.  Each returns CHILD_OK or the code to exit
 * with, after saying why. */
struct bench_lat_arg {
    const char *label;
    const char *name[2];   /* [0] ping -> pong, [1] pong -> ping */
    const char *backend;
    int wait;              /* scb_pop_wait instead of spinning on scb_pop */
    uint64_t warm, rounds;
    uint64_t limit_ns;
};
int bench_lat_recv(scb_t *r, const struct bench_lat_arg *a, int index,
                   uint64_t limit, uint64_t *seq);
int bench_lat_send(scb_t *w, const struct bench_lat_arg *a, int index,
                   uint64_t seq);

/* --- bridge.c ------------------------------------------------------------ */

struct bench_info;

/* --bridge: runs the bridge cases, prints their table (or JSON) and returns
 * the exit status; 0 with a message when scb-bridge or nats-server is not
 * found.  Exits as the signal would when interrupted. */
int bench_bridge_main(struct bench_opts *o, struct bench_info *info, int quick,
                      int json, const char *json_path);

/* --- report.c and targets.c ---------------------------------------------- */

enum bench_status { ST_OK, ST_FAILED, ST_SKIPPED };

/* One case of the run and what its repetitions measured. */
struct bench_result {
    int is_latency;
    struct bench_tput tc;        /* throughput cases */
    enum bench_lat lat;          /* round-trip cases */
    const char *backend;         /* libscb cases: the backend; else NULL */
    enum bench_status status;
    char note[300];              /* why it failed or was skipped */
    int nreps;                   /* repetitions that completed */
    struct bench_sample *rep;    /* [reps], throughput */
    double *p50, *p99;           /* [reps], ns, round trips */
};

/* What the header of the report says about the run. */
struct bench_info {
    const struct bench_opts *opts;
    const char *backends[8];
    int nbackends;
    size_t sizes[16];
    int nsizes;
    int readers[8];
    int nreaders;
    int cpus_online, cpus_usable, pinned, pin_failed;
    char system[200];            /* uname: OS, release, machine */
    double elapsed;              /* seconds the whole run took */
    double clock_ns;             /* cost of one clock read */
    int failed, skipped;
    int interrupted;
    int asym_barriers;           /* --neighbour: 1 if a ring made here with
                                  * SCB_ASYM_BARRIERS has them in force, 0 if
                                  * not, -1 not probed */
};

/* A figure over the repetitions of a case: median, lowest, highest. */
struct bench_stat {
    double med, min, max;
    int n;                       /* 0: no figure (all NAN) */
};

enum bench_series_kind {
    SER_HEAD,       /* the headline items/s (bench_headline) */
    SER_WRITER,     /* the writer's items/s */
    SER_READER,     /* one reader's items/s */
    SER_LOSS,       /* one reader's lost fraction */
    SER_LOSS_MEAN,  /* the readers' mean lost fraction */
    SER_P50, SER_P99, /* round trip, ns */
    SER_BYTES       /* payload bytes/s (records: as counted; else items x size) */
};

struct bench_stat bench_series(const struct bench_result *r,
                               enum bench_series_kind what, int reader);

/* The first completed case of that kind, or NULL.  Baselines match any
 * mode, api and backend; round trips match backend NULL only with NULL. */
const struct bench_result *bench_find_tput(const struct bench_result *res, int n,
                                           enum bench_transport tr,
                                           enum bench_mode mode, enum bench_api api,
                                           const char *backend, size_t size,
                                           int readers);
const struct bench_result *bench_find_lat(const struct bench_result *res, int n,
                                          enum bench_lat lat, const char *backend);
/* A record case (bench_find_tput finds none of them); backend NULL for the
 * pipe. */
const struct bench_result *bench_find_rec(const struct bench_result *res, int n,
                                          enum bench_rec rec,
                                          enum bench_transport tr,
                                          const char *backend);
/* What a record case is compared with in the same run (the fixed-size
 * ring's scb_push/scb_pop at 64 B, the pipe carrying the same records, the
 * copying 64 KiB case), or a push-rate case of events.c (its case without
 * scb_fd), or NULL; and the ratio of the median rates, NAN when either is
 * missing. */
const struct bench_result *bench_rec_baseline(const struct bench_result *res, int n,
                                              const struct bench_result *r);
double bench_vs_baseline(const struct bench_result *res, int n,
                         const struct bench_result *r);
/* Throughput: items/s over the pipe's at the same size; round trip: the
 * pipe's p50 over this p50.  NAN when either is missing. */
double bench_vs_pipe(const struct bench_result *res, int n,
                     const struct bench_result *r);

/* One row of the neighbour table and what its repetitions measured. */
struct bench_nb_result {
    enum bench_traffic traffic;
    int registered;              /* the neighbour registered for membarrier */
    enum bench_status status;
    char note[300];
    int nreps;
    struct bench_nb_sample *rep; /* [reps] */
};

/* The neighbour's loop turns/s (rounds 0) or the round trips/s (1). */
struct bench_stat bench_nb_series(const struct bench_nb_result *r, int rounds);
/* The neighbour's median over that of the row without ring traffic and
 * registered alike; NAN when either is missing. */
double bench_nb_vs_quiet(const struct bench_nb_result *res, int n,
                         const struct bench_nb_result *r);

/* The speed targets (the README's "Speed targets" table), judged on one
 * backend. */
struct bench_target {
    char what[128];
    char measured[256];
    int met;                     /* 1 met, 0 not met, -1 not measured */
};
#define BENCH_MAX_TARGETS 20
int bench_targets(const struct bench_info *info, const struct bench_result *res,
                  int n, const char *backend, struct bench_target *t);

void bench_report_table(FILE *out, const struct bench_info *info,
                        const struct bench_result *res, int n);
/* Writes s as a JSON string, quoted and escaped. */
void bench_json_str(FILE *out, const char *s);
/* Opens a JSON report: "{", the program, the experiment (NULL: none), the
 * versions and the system, without the comma after them. */
void bench_json_head(FILE *out, const struct bench_info *info,
                     const char *experiment);
void bench_report_json(FILE *out, const struct bench_info *info,
                       const struct bench_result *res, int n);
void bench_report_csv(FILE *out, const struct bench_info *info,
                      const struct bench_result *res, int n);
/* The neighbour experiment's table and JSON; info->backends[0] is its
 * backend. */
void bench_report_nb_table(FILE *out, const struct bench_info *info,
                           const struct bench_nb_result *res, int n);
void bench_report_nb_json(FILE *out, const struct bench_info *info,
                          const struct bench_nb_result *res, int n);
/* Returns 0, or -1 after saying why on stderr (no gnuplot: 1). */
int bench_report_plot(const char *path, const struct bench_info *info,
                      const struct bench_result *res, int n);

/* A short name of a case ("libscb posix lossless, many/32"), and sizes,
 * rates and times for people. */
void bench_case_name(char *buf, size_t len, const struct bench_result *r);
void bench_fmt_size(char *buf, size_t len, size_t size);
void bench_fmt_rate(char *buf, size_t len, double v); /* "210 M" */
void bench_fmt_bytes(char *buf, size_t len, double v); /* "1.68 GB/s" */
void bench_fmt_ratio(char *buf, size_t len, double x); /* "78.1x" */
void bench_fmt_time(char *buf, size_t len, double ns); /* "62.1 us" */
/* A statistic as "210 M [205-215]" and "42.3 us [40.6-53.4]". */
void bench_fmt_rate_spread(char *buf, size_t len, struct bench_stat s);
void bench_fmt_time_spread(char *buf, size_t len, struct bench_stat s);
/* Median, lowest and highest of n values (at most 256 of them). */
struct bench_stat bench_stat_of(const double *v, int n);
/* Sorts n samples, ascending; the nearest-rank percentile p (in %) of n
 * sorted samples. */
void bench_sort_u64(uint64_t *v, size_t n);
double bench_percentile(const uint64_t *v, uint64_t n, unsigned p);

/* events.c's part of the report: the names of its cases (returns 0 for any
 * other case), the case a push-rate case is compared with, its targets
 * (returns how many it wrote to t) and its section of the table. */
int bench_ev_case_name(char *buf, size_t len, const struct bench_result *r);
const struct bench_result *bench_ev_baseline(const struct bench_result *res, int n,
                                             const struct bench_result *r);
int bench_ev_targets(const struct bench_result *res, int n, const char *backend,
                     struct bench_target *t);
void bench_report_events(FILE *out, const struct bench_result *res, int n);
/* The headline rate of one repetition of a throughput case (items/s). */
double bench_headline(const struct bench_result *r, int rep);

#endif /* SCB_BENCH_H */
