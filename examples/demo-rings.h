/*
 * demo-rings.h - the demo rings of the event-loop examples (scb-epoll,
 * scb-uv), kept apart so that each of those shows only its event loop.
 * Public API only (<scb.h>), POSIX (fork).
 *
 * demo_rings_start makes `count` lossless rings "PROG-<pid>-<i>" of
 * DEMO_ITEM_SIZE-byte items, opens a reader on each before anything is
 * pushed (so, lossless, it gets every item), and forks one writer process
 * per ring.  Writer i pushes `items` items numbered 0, 1, 2... in bursts of
 * a few, pausing a few milliseconds between bursts (longer for higher i),
 * so that the readers really sleep and wake; it waits (scb_push_wait) when
 * the ring is full.  demo_item_check says whether an item is the one
 * expected.  demo_rings_finish, called after the readers are closed, reaps
 * the writers and removes the rings' names.
 */
#ifndef DEMO_RINGS_H
#define DEMO_RINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <scb.h>

#define DEMO_ITEM_SIZE 16 /* bytes per item */
#define DEMO_RINGS_MAX 16 /* rings at most */

typedef struct demo_rings {
    const char *prog;    /* the program's name, for names and messages */
    const char *backend; /* NULL: the default backend */
    int count;           /* rings made so far */
    char names[DEMO_RINGS_MAX][64];
    pid_t writers[DEMO_RINGS_MAX]; /* 0: none (or reaped) */
} demo_rings_t;

/* Makes the rings, opens readers[0..count-1] and forks the writers.  On
 * failure it says why on stderr and returns -1; whatever it made is then
 * undone by demo_rings_finish (after closing the readers it opened, which
 * are the non-NULL ones). */
int demo_rings_start(demo_rings_t *d, const char *prog, const char *backend,
                     int count, uint64_t items, scb_t **readers);

/* 1 if (item, len) is item number `seq` of ring `ring`, else 0. */
int demo_item_check(const void *item, size_t len, int ring, uint64_t seq);

/* Reaps the writers, killing any still running after limit_s seconds, and
 * removes the rings' names.  Close the readers first: a lossless writer
 * waits for its readers.  Returns 0 if every writer exited with status 0,
 * else -1 (and says which did not on stderr). */
int demo_rings_finish(demo_rings_t *d, int limit_s);

#endif /* DEMO_RINGS_H */
