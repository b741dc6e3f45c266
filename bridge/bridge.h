/*
 * bridge.h - what the parts of scb-bridge share: the options, the NATS
 * connection, the statistics and the message headers.
 *
 * scb-bridge carries a ring to other hosts over NATS (the contract:
 * BRIDGE.md).  It uses only the public libscb API (<scb.h>) and the NATS C
 * client; libscb itself never links libnats.
 */
#ifndef SCB_BRIDGE_H
#define SCB_BRIDGE_H

#include <signal.h>
#include <stdint.h>

#include <nats/nats.h>
#include <scb.h>

/* Exit statuses, as the scb command's: 0 success (SIGINT and SIGTERM
 * included), 1 a libscb, NATS or system error after start, 2 bad
 * arguments, a server unreachable at start, a geometry mismatch. */
#define BRIDGE_EXIT_OK 0
#define BRIDGE_EXIT_ERR 1
#define BRIDGE_EXIT_USAGE 2

/* The one header of every message, "Scb", whose value is space-separated
 * KEY=VALUE fields (unknown keys are ignored, for later additions):
 *   seq=N     the item's number in the source ring, from 0 (the items
 *             pushed before it);
 *   lost=N    out's running lost_source when it published the item;
 *   kind=K    "items" or "records";
 *   size=N    the item size (records: the largest record);
 *   length=N  the source's length (items; records: bytes of record space);
 *   run=HEX   optional: a random number out draws when it starts, so that
 *             in knows a restarted out (whose lost starts again from 0).
 * One header rather than five: the NATS client builds a hash table per
 * message for its headers, and five entries cost out and in half their
 * throughput. */
#define HDR_NAME "Scb"
#define KIND_ITEMS "items"
#define KIND_RECORDS "records"

/* Decimal digits of v into buf (21 bytes), NUL-terminated; returns the
 * end (the NUL).  The headers' numbers, written for every message: by
 * hand, in about a tenth of snprintf's time.  Inline: scb-bench writes its
 * messages of NATS alone (bench/nats_alone.c) with it too. */
static inline char *bridge_u64_str(char *buf, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *buf++ = tmp[--n];
    *buf = '\0';
    return buf;
}

/* The fields of the header; 0 when all of seq, lost, kind, size and length
 * are there and every field known is well formed, else -1.  run is 0 when
 * absent. */
typedef struct bridge_hdr {
    uint64_t seq, lost, size, length, run;
    int records;
} bridge_hdr_t;
int bridge_parse_hdr(const char *value, bridge_hdr_t *h);

typedef struct bridge_opts {
    int out;               /* 1: scb bridge out, 0: scb bridge in */
    const char *ring;      /* the local ring's name */
    const char *url;       /* NATS URL or comma-separated list */
    const char *subject;   /* default "scb." RING */
    const char *stream;    /* JetStream stream, NULL: core NATS */
    const char *durable;   /* in, JetStream: durable consumer name */
    uint32_t replicas;     /* out, JetStream: stream replicas (0: default 1) */
    uint64_t length;       /* in: length of a ring it creates (0: source's) */
    const char *backend;   /* NULL: the default (in) or the first that has RING */
    double stats_period;   /* seconds; 0: only the line at exit */
    const char *creds;     /* NATS credentials file */
    const char *tls_ca;    /* CA certificates for TLS */
} bridge_opts_t;

/* What both print in their statistics lines (BRIDGE.md). */
typedef struct bridge_stats {
    uint64_t moved;         /* out: published; in: delivered */
    uint64_t lost_source;   /* items the source ring overwrote before out read them */
    uint64_t lost_upstream; /* in: sequence gaps not explained by lost_source */
    uint64_t duplicates;    /* in: messages dropped as already delivered */
    uint64_t errors;        /* out: failed publishes; in: malformed messages */
    uint64_t unsent;        /* out: published while the server was away,
                             * still held by the client (not in moved) */
    uint64_t dropped_at_stop; /* in: taken but not written, the local
                               * lossless ring full when a signal came */
    uint64_t first_seq;     /* the first sequence number published/delivered */
    uint64_t last_seq;      /* the last sequence number published/delivered */
    int have_seq;           /* last_seq is set */
} bridge_stats_t;

/* Set by SIGINT and SIGTERM: the loops finish, flush and print. */
extern volatile sig_atomic_t bridge_stop;

/* The program's messages: "scb: bridge: out: ..." on stderr. */
void bridge_err(const bridge_opts_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The NATS client's last error text for this thread (it names the file and
 * the reason), or s's text when there is none. */
const char *bridge_nats_err(natsStatus s);

/* Whether a JetStream request that failed with s (and the error code jerr)
 * may succeed when made again: a timeout, the connection away, a cluster
 * electing a leader or a stream or consumer offline meanwhile.  No
 * responders is not: the server has no JetStream. */
int bridge_js_transient(natsStatus s, jsErrCode jerr);

/* The stream sequence number up to which consumer ci needs no message
 * again: its acknowledgement floor, or more when the server reports less
 * than it knows (a consumer made to start at sequence S says 0 until its
 * first acknowledgement: at least S - 1; one with no acknowledgement
 * pending has had all it was handed acknowledged: at least the last). */
uint64_t bridge_js_floor(const jsConsumerInfo *ci);

/* Before a JetStream request is made again: says once (*said) what failed,
 * then sleeps a quarter of a second, less when a signal comes. */
void bridge_js_pause(const bridge_opts_t *o, int *said, const char *what,
                     natsStatus s);

/* Connects to o->url with reconnection for ever; on failure prints one line
 * and returns NULL (the caller exits 2). */
natsConnection *bridge_connect(const bridge_opts_t *o);

/* Monotonic seconds. */
double bridge_now(void);

/* Prints one statistics line (JSON) on standard output and flushes it. */
void bridge_print_stats(const bridge_opts_t *o, natsConnection *nc,
                        const bridge_stats_t *s);

/* The two directions; each returns the exit status. */
int bridge_out(const bridge_opts_t *o);
int bridge_in(const bridge_opts_t *o);

/* Parses all of s as an unsigned decimal number: 0, or -1. */
int bridge_parse_u64(const char *s, uint64_t *out);

#endif /* SCB_BRIDGE_H */
