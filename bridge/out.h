/*
 * out.h - what the two halves of scb bridge out share.  out.c reads the
 * ring, numbers its items and publishes them on core NATS; out_js.c
 * publishes them to a JetStream stream instead: chained, confirmed, and
 * sent again when they fail.
 */
#ifndef SCB_BRIDGE_OUT_H
#define SCB_BRIDGE_OUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "bridge.h"

/* Items read while their sequence numbers are not known yet, back to
 * back: length (8 bytes), then the bytes padded to 8. */
typedef struct pending {
    unsigned char *buf;
    size_t used, cap;
    uint64_t count;
} pending_t;

/* JetStream: the items sent and not confirmed yet (out_js.c), oldest
 * first: their numbers, lost_source counts and lengths in a circular array,
 * their bytes in a circular buffer (each at `off`, padded to 8). */
typedef struct js_item {
    uint64_t seq, lost;
    size_t off, len;
} js_item_t;

typedef struct js_fifo {
    js_item_t *items;
    size_t items_cap, first, n;
    unsigned char *data;
    size_t data_cap, tail; /* the next item's bytes go at tail (or 0) */
} js_fifo_t;
/* Items sent and not confirmed yet, at most, and their bytes (or four of
 * the largest, when more): out reads no more while the queue is full. */
#define JS_FIFO_ITEMS 65536
#define JS_FIFO_BYTES (64u * 1024u * 1024u)

/* A lossless ring's stream (out_pace.c): out sends no message
 * that would make the stream discard one a consumer has not acknowledged.
 * The estimated bytes of the messages sent are marked every `step` bytes
 * (the sum up to a stream sequence number), so that what lies beyond a
 * consumer's floor is known to within a step. */
#define JS_PACE_MARKS 1024
typedef struct js_mark {
    uint64_t sseq, bytes;
} js_mark_t;

/* A consumer of the stream as last seen (js_pace_t). */
typedef struct js_consumer {
    char name[64];
    uint64_t floor;     /* its acknowledgement floor */
    double seen;        /* when it was last listed (bridge_now) */
} js_consumer_t;

typedef struct js_pace {
    int on;                 /* lossless ring, and the stream has limits */
    uint64_t max_msgs, max_bytes; /* the stream's limits (0: none) */
    uint64_t start_seq, start_bytes; /* the stream when out started */
    size_t over;            /* estimated bytes of a message beyond its data */
    uint64_t bytes, step;   /* estimated bytes sent since the start */
    js_mark_t marks[JS_PACE_MARKS];
    size_t mfirst, mn;
    js_consumer_t *cons;    /* the consumers seen lately (allocated) */
    int ncons, cons_cap;
    int none;               /* none seen lately at the last look */
    uint64_t floor;         /* else their lowest acknowledgement floor */
    uint64_t floor_bytes;   /* the estimated bytes sent up to it */
    char slowest[64];       /* and the name of the consumer it is */
    double look_at, backoff; /* the next look, and the wait before it */
    double since;           /* waiting since (0: not waiting) */
    int said;               /* the wait was said */
    char waited[64];        /* for that consumer */
} js_pace_t;

typedef struct out {
    const bridge_opts_t *o;
    scb_t *r;
    scb_info_t info;
    int records;
    int lossless;
    natsConnection *nc;
    int connected;      /* the connection's state at the last look */
    /* Sequence numbers (see resolve): */
    int pos_known;      /* next_seq is the number of the next item read */
    uint64_t next_seq;
    uint64_t known_lost; /* scb_lost when nothing is being skipped, exact */
    int open_known;     /* pos_open is known */
    uint64_t pos_open;  /* the number of the first item this reader could read */
    uint64_t read;      /* items read, all told */
    uint64_t dropped;   /* read but not published: counted in lost_source */
    pending_t pend;
    int more;           /* a record was left to read right after this one */
    /* JetStream (o->stream): see out_js.c. */
    scb_t *guard;        /* RING.bridge-out.STREAM, as its writer: one out
                          * of the ring on the stream (out_js_setup.c) */
    int guard_made;      /* this out made it (removed at a refusal) */
    char guard_name[SCB_NAME_MAX + 1];
    double guard_next;   /* bridge_now of its next look (out_js_guard_check) */
    int guard_said;      /* made again: said once */
    int guard_said_look; /* could not be looked at: said once */
    int guard_said_take; /* could not be held again: said once */
    int guard_lost;      /* another out holds it now: out stops, sending
                          * nothing again (out_js_finish) */
    jsCtx *js;
    int have_stored;     /* the stream held an item of this subject at start */
    uint64_t stored_seq; /* its number: items up to it are not sent again */
    uint64_t above;      /* items numbered after it handed to out_js_publish */
    unsigned char *stored_data; /* its bytes, until the ring's item of that
                                 * number is read and matches them */
    size_t stored_len;
    int refused;         /* out stops with exit 2: the stream is not the ring's */
    js_fifo_t fifo;      /* the items sent and not confirmed yet, in order */
    atomic_uint_fast64_t js_confirmed; /* 1 + the highest number confirmed */
    atomic_int js_broken;           /* a confirmation failed: send again */
    _Atomic natsStatus js_err;      /* the last failure's status */
    _Atomic int js_errcode;         /* and JetStream error code */
    /* The highest stream sequence number a duplicate answer named (the
     * message stored before with the id sent), 0 if none since the last
     * js_recover. */
    atomic_uint_fast64_t js_dup_sseq;
    natsStatus js_why;   /* the failure js_recover reports (main thread) */
    int js_why_code;
    unsigned js_since;   /* items sent since the last that asked for an answer */
    size_t js_since_bytes; /* and their bytes in the queue */
    char msgid[SCB_NAME_MAX + 32];  /* "RING:" then the number */
    size_t msgid_len;
    /* The stream's last sequence number the next message expects (each
     * message expects the one sent before it to be the last): from the
     * stream when out asks it, then one more per message sent. */
    uint64_t expect_seq;
    js_pace_t pace;
    int js_abandoned;    /* a stop left an item unsent: none after it goes */
    natsStatus js_fatal; /* a send the client will never take (out ends) */
    uint64_t js_settled; /* not confirmed, then found stored (js_recover) */
    uint64_t js_stopped; /* never sent: a stop came first (unsent) */
    /* The item js_recover sent first last time, and the wait before it
     * sends that one first again (see js_recover). */
    uint64_t js_redo_seq;
    double js_redo_wait;
    int js_redo_said;
    int js_gone_said;    /* the stream is gone: said */
    char geometry[112]; /* " kind=K size=N length=N run=HEX", the header's tail */
    /* Core NATS: the message every item of core_len bytes is sent in (see
     * core_msg). */
    natsMsg *core;
    size_t core_len;
    bridge_stats_t st;
    double next_stats;  /* when the next statistics line is due (0: never) */
} out_t;

/* The value of an item's Scb header into buf (OUT_HDR_MAX bytes). */
#define OUT_HDR_MAX 176
void out_hdr(const out_t *t, char *buf, uint64_t seq, uint64_t lost);

/* The message kept for items of `len` bytes sent on o->subject: the item's
 * bytes written over its data (see out.c). */
natsStatus out_msg(out_t *t, natsMsg **m, const void *data, size_t len);

/* The statistics of one item handled: its number, and out's lost_source
 * then. */
void out_count(out_t *t, uint64_t seq, uint64_t lost);

/* Prints the statistics line when its time (t->next_stats) has come;
 * returns the longest wait (ms, at most 100) before the next is due. */
int64_t out_stats_tick(out_t *t);

/* Milliseconds a request about the stream may take (the client's default,
 * 5 s, would hold up a stop while the server is away). */
#define JS_REQ_WAIT 1000

/* Whether the NATS subject pattern p ('*' a token, '>' the rest) matches
 * the subject s (out_js.c). */
int out_subject_matches(const char *p, const char *s);

/* The queue (out_fifo.c).  js_fifo_size: the bytes an item of `len`
 * bytes takes in it; js_fifo_init: 0, or -1 out of memory; js_fifo_at:
 * the i-th oldest; js_fifo_room: where `len` bytes can go now (1, *off),
 * or not (0: full); js_fifo_push: an item in at `off`; js_fifo_drop_first:
 * the oldest out; js_fifo_drop_last: the newest taken back (never sent). */
size_t js_fifo_size(size_t len);
int js_fifo_init(js_fifo_t *f, size_t item_size);
js_item_t *js_fifo_at(const js_fifo_t *f, size_t i);
int js_fifo_room(const js_fifo_t *f, size_t len, size_t *off);
void js_fifo_push(js_fifo_t *f, uint64_t seq, uint64_t lost, const void *data,
                  size_t len, size_t off);
void js_fifo_drop_first(js_fifo_t *f);
void js_fifo_drop_last(js_fifo_t *f);

/* A lossless ring's stream (out_pace.c).  out_pace_setup: whether out
 * waits for the consumers of the stream si describes, and its limits.
 * out_pace_ok: whether the item of `len` bytes may go now (the stream's
 * next message).  out_pace_sent: it went, as the stream's sseq-th. */
void out_pace_setup(out_t *t, const jsStreamInfo *si);
int out_pace_ok(out_t *t, size_t len);
void out_pace_sent(js_pace_t *p, uint64_t sseq, size_t len);

/* JetStream (out_js_setup.c).  out_js_setup: the stream, made when it is
 * not there, and where a restarted out goes on from; 0 or the exit
 * status. */
int out_js_setup(out_t *t);
/* Now and then while out runs: the guard's name still leads to the ring
 * out holds, or out holds a new one of that name (made again after it was
 * removed by hand).  0, or -1 after saying that another out holds it. */
int out_js_guard_check(out_t *t);
/* (out_js.c) The answers' handler, in the client's thread; its messages'
 * reaping started (out_js_reap_start, before the first publish); whether
 * m, the stream's last message of the subject, is one of this out's ring,
 * and its number (and lost count). */
void out_js_on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae,
                   void *closure);
void out_js_reap_start(void);
int out_js_last_ours(const out_t *t, natsMsg *m, uint64_t *seq,
                     uint64_t *lost);
/* Publishes one item; `last`: the last of those read together (it asks
 * the stream for an answer).  0, or -1 after saying why (out ends). */
int out_js_publish(out_t *t, const void *data, size_t len, uint64_t seq,
                   uint64_t lost, int last);
/* Takes the confirmations come, and sends again what failed; 1 when out
 * must not read more yet (its loop goes round again first), -1 after
 * saying why out must end. */
int out_js_round(out_t *t);
/* The ring is empty: an item sent last without asking for an answer gets
 * one (through the stream's last message). */
void out_js_idle(out_t *t);
/* At the end: what failed goes again while the server is there, what was
 * sent is waited for, and what never was is counted as unsent.  `ok`:
 * out is stopping normally (a failure to finish is then said). */
void out_js_finish(out_t *t, int ok);
/* After the connection is destroyed: what out_js_setup allocated. */
void out_js_free(out_t *t);

#endif /* SCB_BRIDGE_OUT_H */
