/*
 * scb_mp.h - what the files of the multi-process suite of tests/check_scb
 * share (check_scb_mp.c, scb_mp_children.c, scb_mp_crash.c, scb_mp_role.c,
 * and the record files, which also share scb_mp_records.h):
 * its limits, the state shared with the children, the fixture's ring and
 * config, the tcase maker, and the reader and writer child bodies
 * (scb_mp_children.c).  The harness below them (children, registry,
 * MP_ASSERT) is mputil.h.
 *
 * It includes the system headers the suite uses, so a file of the suite
 * starts with _GNU_SOURCE, config.h and this header.
 */
#ifndef SCB_MP_H
#define SCB_MP_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "backend.h"
#include "layout.h"
#include "sys.h"
#include "mputil.h"
#include "testutil.h"

#define TIMEOUT_S 60

/* How long a child may run before it gives up and reports a timeout: well
 * inside the tcase timeout, far beyond any healthy run. */
#define CHILD_DEADLINE_NS (UINT64_C(25) * 1000000000u)
/* How long the test process waits for a child to end before killing it. */
#define REAP_MS 30000

#define MAX_SLOTS 32

/* ---- state shared with the children ------------------------------------ */

/* What one reader child reports.  progress is published as it reads; the
 * rest is written once, when it finishes. */
struct rstat {
    _Atomic uint64_t progress; /* items returned so far */
    uint64_t returned;         /* items scb_pop* returned */
    uint64_t lost;             /* scb_lost at the end */
    uint64_t pushed;           /* scb_info's pushed at the end */
    uint64_t first_seq;        /* seq of the first intact item */
    uint64_t last_seq;         /* seq of the last intact item */
    uint64_t streak_start;     /* first seq of the run of consecutive seqs ending at last_seq */
    uint64_t bad;              /* items that fail tu_check */
    uint64_t disorder;         /* items whose seq is not above the previous one */
    int have_last;             /* 1 once an intact item was read */
    int finished;              /* 1 when it ended its loop normally */
    int timed_out;             /* 1 when it hit its deadline */
};

struct shared {
    atomic_int stop_writer;          /* continuous writers: stop pushing */
    atomic_int stop_readers;         /* open-ended readers: stop reading */
    _Atomic uint64_t final_end;      /* crash test: seq after the last item, 0 = not yet */
    _Atomic uint64_t final_start;    /* crash test: first seq of the clean writer */
    struct rstat r[MAX_SLOTS];
};

/* The state shared between the test process and its children (the wait
 * suite has its own, `sh` in scb_wait.h). */
extern struct shared *mp_sh;

/* The one ring of a test (the harness can keep two). */
#define ring (rings[0])

extern scb_config_t cfg;

/* A tcase with the fixture and the suite's timeout (check_scb_mp.c). */
TCase *mp_tcase(const char *name);

/* The tcases of scb_mp_crash.c, scb_mp_role.c and scb_mp_records.c, added
 * to s (tu_mp_add_records adds those of the other record files too). */
void tu_mp_add_crash(Suite *s);
void tu_mp_add_role(Suite *s);
void tu_mp_add_records(Suite *s);

/* ---- the reader child ---------------------------------------------------- */

enum { R_FAST, R_SLOW, R_MIX };

struct reader_opts {
    int slot;           /* index into mp_sh->r */
    int mode;           /* R_FAST: scb_pop_many; R_SLOW: scb_pop and naps; R_MIX */
    int ready_fd;       /* writes 'R' once open ('E' if open failed); -1: none */
    uint32_t oflags;    /* open flags (SCB_LATEST) */
    uint64_t n;         /* done after seq n - 1 (0: no such end) */
    uint64_t max_items; /* done after this many items (0: no such end) */
    int use_final;      /* done after seq mp_sh->final_end - 1 once it is set */
};

/* Reads the ring as o says and records what it saw in mp_sh->r[o->slot];
 * returns 0 if every item was intact and in order. */
int reader_main(void *arg);

/* One reader's report, for an assertion message. */
const char *rs_str(int slot);

/* ---- the writer child ---------------------------------------------------- */

struct writer_opts {
    int report_fd;     /* 'O': took the role at once, 'R': after retries, 'E': failed; -1: none */
    int retry_ms;      /* retries SCB_EBUSY this long (0: not at all) */
    uint64_t count;    /* items to push; 0: until mp_sh->stop_writer, or killed */
    size_t max_batch;  /* the largest scb_push_many */
    int big_batches;   /* now and then pushes 2 * length + 1 items at once */
    int final;         /* records its first seq in mp_sh->final_start */
};

/* Takes the writer role as o says and pushes seq-numbered items. */
int writer_main(void *arg);

#endif /* SCB_MP_H */
