/*
 * in.h - what the two halves of scb bridge in share: in.c (the ring, its
 * place beside it, core NATS) and in_js.c (JetStream).
 */
#ifndef SCB_BRIDGE_IN_H
#define SCB_BRIDGE_IN_H

#include <stddef.h>
#include <stdint.h>

#include "bridge.h"

/* Messages taken one after the other, without a wait, between two looks
 * at the clock for the statistics lines: a few milliseconds' worth at
 * full speed. */
#define TICK_EVERY 4096

/* Messages taken and destroyed together (see destroy_taken). */
#define TAKEN_MAX 256

#define IN_RETIRED_MAX 64

/* The longest host name in a consumer's description (POSIX: 255). */
#define IN_HOST_MAX 255

typedef struct in {
    const bridge_opts_t *o;
    natsConnection *nc;
    natsSubscription *sub;
    /* Subscriptions replaced (js_subscribe), destroyed once the connection
     * is closed: the client reads a message's subscription from its table
     * and locks it later, unguarded, so one destroyed while a message for
     * it comes is used after it is freed (seen as a hang at a stop). */
    natsSubscription *retired[IN_RETIRED_MAX];
    size_t nretired;
    scb_t *w;
    scb_info_t info;
    int geometry_known;  /* the first message's geometry was checked */
    int lossless;        /* the local ring is lossless: pushes wait */
    uint64_t last_lost;  /* out's lost_source in the last message taken */
    uint64_t last_run;   /* and its run (0: none given) */
    int created;         /* in created the ring */
    int said_nomake;     /* the source's geometry could not be made: said */
    double next_stats;   /* when the next statistics line is due (0: never) */
    scb_t *place;        /* RING.bridge-in, as its writer (place_load) */
    uint64_t pushed;     /* the ring's pushed count, kept by in */
    int first_taken;     /* first_seq is set for this run */
    /* JetStream (o->stream): see js_setup. */
    jsCtx *js;
    char durable[SCB_NAME_MAX + 8]; /* the consumer's name */
    int64_t stream_created; /* the stream's creation time (ns), 0: unknown */
    uint64_t last_sseq;  /* the stream's number of the last message taken */
    int have_sseq;       /* (not since the last subscription) */
    uint64_t sub_start;  /* the subscription's first stream number */
    int sub_checks;      /* subscribed again for its first message */
    double cons_check;   /* when js_loop may next ask for the consumer */
    /* The consumer's description, this in's own ("scb bridge in: process
     * P on HOST pid:[NS], run R"): one made by another client has another
     * (when the server keeps descriptions: desc_kept). */
    char cons_desc[IN_HOST_MAX + 160];
    int cons_made;       /* in made the consumer (it has cons_desc) */
    int desc_kept;       /* and the server kept its description */
    /* Tests only: SCB_BRIDGE_TEST_CRASH_AFTER=N (BEFORE=N) makes in kill
     * itself right after its Nth push (right before it, the place noted). */
    uint64_t crash_after, crash_before;
    /* Core NATS: messages taken, not destroyed yet (destroy_taken). */
    natsMsg *taken[TAKEN_MAX];
    int ntaken;
    bridge_stats_t st;
} in_t;

/* JetStream: messages fetched at a time. */
#define JS_BATCH 4096

/* Prints the statistics line when its time has come; returns the longest
 * wait (ms, at most 100) before the next is due. */
int64_t in_tick(in_t *t);
/* One message.  Returns 0, or the exit status. */
int in_take(in_t *t, natsMsg *m);

/* JetStream (in_js.c).  in_js_setup: the durable consumer and its
 * subscription; in_js_loop: the messages until a stop.  Both return 0 or
 * the exit status. */
int in_js_setup(in_t *t);
int in_js_loop(in_t *t);

#endif
