/*
 * out.h - what the two halves of scb bridge out share.  out.c reads the
 * ring, numbers its items and publishes them on core NATS; out_js.c
 * publishes them to a JetStream stream instead: acknowledged, chained, and
 * sent again when they fail.
 */
#ifndef SCB_BRIDGE_OUT_H
#define SCB_BRIDGE_OUT_H

#include <pthread.h>
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
    /* JetStream (o->stream): */
    jsCtx *js;
    int have_stored;     /* the stream held an item of this subject at start */
    uint64_t stored_seq; /* its number: items up to it are not sent again */
    uint64_t js_sent;    /* messages handed to js_PublishMsgAsync */
    atomic_uint_fast64_t js_acked;  /* acknowledged by the stream */
    atomic_uint_fast64_t js_failed; /* acknowledged with an error, or none */
    pthread_mutex_t js_lock;        /* guards the failed messages: */
    natsMsg **js_fail;              /* messages to send again, theirs */
    size_t js_nfail;
    /* js_fail and js_spare (js_resend's list) hold js_cap each, allocated
     * at the start: enough for every message out may have unacknowledged
     * (the window and one batch), so that none is ever dropped for want
     * of memory. */
    natsMsg **js_spare;
    size_t js_cap;
    size_t batch;                   /* the most items one pop takes */
    int js_closing;                 /* at the end: on_ack keeps nothing */
    _Atomic natsStatus js_err;      /* the last failure's status */
    _Atomic int js_errcode;         /* and JetStream error code */
    char msgid[SCB_NAME_MAX + 32];  /* "RING:" then the number */
    size_t msgid_len;
    /* What the next message expects the stream's last message of the
     * subject to be (out_js_publish): the id of the one handed to the
     * stream before it, or, right after the stream was asked (at the start,
     * when sending again), that message's stream sequence, expect_sseq
     * (0: by id): a stream past its duplicate window, restarted or with a
     * new leader, no longer knows the last id. */
    char prev_id[SCB_NAME_MAX + 32];
    int have_prev_id;
    uint64_t expect_sseq;
    int js_abandoned;    /* a stop left an item unsent: none after it goes */
    uint64_t js_settled; /* failed, then found stored (js_resend) */
    atomic_uint_fast64_t js_stopped; /* never sent: stopped with them held
                                      * (unsent) */
    char geometry[112]; /* " kind=K size=N length=N run=HEX", the header's tail */
    /* Core NATS: the message every item of core_len bytes is sent in (see
     * core_msg). */
    natsMsg *core;
    size_t core_len;
    bridge_stats_t st;
} out_t;

/* Decimal digits of v into buf (21 bytes), NUL-terminated; returns the
 * end (the NUL). */
char *out_u64_str(char *buf, uint64_t v);

/* The statistics of one item handled: its number, and out's lost_source
 * then. */
void out_count(out_t *t, uint64_t seq, uint64_t lost);

/* JetStream (out_js.c).  out_js_setup: the stream, made when it is not
 * there, and where a restarted out goes on from; 0 or the exit status. */
int out_js_setup(out_t *t);
/* Publishes one item (hdr: the Scb header's value); 0, or -1 after saying
 * why (out ends). */
int out_js_publish(out_t *t, const void *data, size_t len, const char *hdr,
                   uint64_t seq, uint64_t lost);
/* Counts the acknowledgements come, and sends again the messages that
 * failed; 1 when there were such (out's loop goes round again first). */
int out_js_round(out_t *t);
/* At the end: what failed goes again while the server is there, what was
 * sent is waited for, and what never was is counted as unsent.  `ok`:
 * out is stopping normally (a failure to finish is then said). */
void out_js_finish(out_t *t, int ok);
/* After the connection is destroyed: the messages still held. */
void out_js_free(out_t *t);

#endif /* SCB_BRIDGE_OUT_H */
