/*
 * scb_mp_records.h - what the record files of the multi-process suite of
 * tests/check_scb share (scb_mp_rec_children.c, scb_mp_records.c,
 * scb_mp_records_crash.c, scb_mp_records_wait.c,
 * scb_mp_records_overrun.c): the state shared with the record children,
 * records as a function of their index, the record reader and writer
 * children and the common steps of the test process (defined in
 * scb_mp_rec_children.c), and the tcases of each file.
 *
 * The conventions of check_scb_mp.c apply (scb_mp.h, mputil.h).
 */
#ifndef SCB_MP_RECORDS_H
#define SCB_MP_RECORDS_H

#include "scb_mp.h"

/* ---- state shared with the children ------------------------------------ */

#define REC_READERS 8

/* What one record reader reports; progress as it reads, the rest at the
 * end. */
struct recstat {
    _Atomic uint64_t progress; /* records returned so far */
    _Atomic uint64_t lost_now; /* scb_lost after the last record */
    uint64_t returned;         /* records returned (a release that said
                                * SCB_EOVERRUN returns nothing) */
    uint64_t lost;             /* scb_lost at the end */
    uint64_t last_idx;         /* index of the last record returned */
    uint64_t exact;            /* records checked against an exact index */
    uint64_t loose;            /* short records checked within bounds only */
    uint64_t overruns;         /* scb_release that said SCB_EOVERRUN */
    uint64_t probes;           /* SCB_EMSGSIZE answers to a short buffer */
    uint64_t bad;              /* wrong bytes, length or index */
    int have_last;
    int finished;
    int timed_out;
};

struct recsh {
    atomic_int wdone;         /* the last writer finished: total is set */
    _Atomic uint64_t total;   /* records pushed in all (scb_info's pushed) */
    atomic_int stop;          /* continuous writers: stop */
    _Atomic uint64_t wpushed; /* continuous writer: records pushed so far */
    /* A child blocked in scb_wait: when it returned and what it said. */
    atomic_int wait_done;
    int wait_rc;
    uint64_t t_call, t_ret;
    struct recstat r[REC_READERS];
};

/* The state shared with the record children, mapped by rec_setup (the
 * checked fixture of the record tcases) and unmapped by rec_teardown. */
extern struct recsh *rsh;
void rec_setup(void);
void rec_teardown(void);

/* ---- records as a function of their index -------------------------------- */

/* The length of record i in a ring whose largest record is max. */
size_t rec_len(uint64_t i, uint32_t max);
/* 1 if (p, len) is record i. */
int rec_is(const void *p, size_t len, uint64_t i, uint32_t max);
/* Pushes record i on w by its path; SCB_OK or what failed (SCB_EAGAIN on a
 * full lossless ring: nothing was published). */
int put_rec(scb_t *w, uint64_t i, uint32_t max, uint8_t *buf);

/* ---- the reader child ----------------------------------------------------- */

enum { RR_POP, RR_PEEK, RR_SLOW, RR_MIX };

struct rr_opts {
    int slot;           /* index into rsh->r */
    int mode;           /* RR_* */
    int ready_fd;       /* 'R' once open, 'E' if that failed; -1: none */
    int lossless;       /* a registered reader: scb_lost must stay 0 */
    int late;           /* opens after the first push: see struct rr_state */
    uint32_t oflags;    /* scb_open flags (SCB_LATEST) */
    uint64_t max_items; /* done after this many records (0: when the last
                         * writer is done) */
};

/* What a reader knows while it reads. */
struct rr_state {
    scb_t *r;
    uint32_t max;
    uint64_t length;
    uint64_t returned;
    uint64_t prev; /* index of the last record returned */
    int have_prev;
    struct recstat *st;
    int slot;
    int lossless;
    /* The index of the record the reader started at.  A reader that opened
     * after the first push does not know it (unanchored) until it gets a
     * record of 8 bytes or more while scb_lost is exact; until then it
     * checks records by the index they carry, and short ones not at all. */
    uint64_t base;
    int unanchored;
    char why[320]; /* why the last record judged was wrong */
};

/* Finds the index of the record (p, len) just got, and checks it (see
 * scb_mp_rec_children.c).  Returns 1 and sets *idx if it is right. */
int rr_judge(struct rr_state *s, const uint8_t *p, size_t len,
             uint64_t *idx, int *how);
void rr_accept(struct rr_state *s, uint64_t idx, int how);
/* One record by scb_pop_record, now and then asking its length first:
 * SCB_OK (judged), SCB_EAGAIN, or a failure code. */
int rr_pop(struct rr_state *s, uint8_t *buf, int probe);
/* The record reader child: reads records as its struct rr_opts says and
 * reports in rsh->r[o->slot]. */
int rec_reader_main(void *arg);
/* One record reader's report, for an assertion message. */
const char *rr_str(int slot);

/* ---- the writer child ----------------------------------------------------- */

enum { WR_COUNT, WR_LOOP, WR_HALF };

/* mode: WR_COUNT pushes count records or for budget_ms, then is done;
 * WR_LOOP pushes until killed (or rsh->stop); WR_HALF pushes a few records,
 * then opens a reservation, writes half of it, and blocks there. */
struct rw_opts {
    int mode;
    uint64_t count;
    unsigned budget_ms;
    int report_fd;   /* 'O' once the role is taken, 'E' if not, 'H' once
                      * the half reservation is open; -1: none */
    int block_fd;    /* WR_HALF: blocks reading this */
    int retry_ms;    /* retries SCB_EBUSY this long */
    int final;       /* the last writer: sets rsh->total and wdone */
    unsigned nap_us; /* WR_LOOP: sleeps this long every 64 records */
};

/* The record writer child: pushes as its struct rw_opts says. */
int rec_writer_main(void *arg);

/* ---- common steps of the test process ------------------------------------ */

/* Bytes a record of n bytes takes at most (spec: 16 bytes of overhead and
 * its length rounded up to 8). */
#define SPAN(n) (16u + (((n) + 7u) & ~7u))
/* Records of DR_SIZE fill the ring of DR_LENGTH bytes exactly: at most
 * DR_MAX of them fit, and at least DR_MIN (semantics 13). */
#define DR_SIZE   56u
#define DR_LENGTH (10u * SPAN(DR_SIZE))
#define DR_MAX    (DR_LENGTH / SPAN(DR_SIZE))
#define DR_MIN    ((DR_LENGTH - 2u * (DR_SIZE + 16u)) / SPAN(DR_SIZE))

/* Creates the fixture's record ring (the writer in hs[0]). */
void rec_create(uint32_t size, uint64_t length, uint32_t flags);
/* Starts a record reader child and waits until it opened the ring. */
pid_t start_rec_reader(struct rr_opts *o, int slot, int mode,
                       int lossless);
void drop_writer(int h);
/* Pushes records next.. of DR_SIZE on hs[h] until SCB_EAGAIN; returns how
 * many went in. */
uint64_t fill_up(int h, uint64_t *next);

/* The record tcases of the files after scb_mp_records.c, whose
 * tu_mp_add_records (scb_mp.h) adds them in their order. */
void tu_mp_add_records_crash(Suite *s);
void tu_mp_add_records_wait(Suite *s);
void tu_mp_add_records_overrun(Suite *s);

#endif /* SCB_MP_RECORDS_H */
