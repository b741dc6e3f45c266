/*
 * scb-zerocopy.c - zero-copy on a record ring, through the public API only
 * (<scb.h>): the writer builds each record in place (scb_reserve, then
 * scb_commit with its final length), the reader reads it in place
 * (scb_peek, then scb_release), and throws away what it read when
 * scb_release says the writer overwrote the record meanwhile (SCB_EOVERRUN).
 *
 *     examples/scb-zerocopy [BACKEND]
 *
 * One process holds the writer and a reader of the overwrite ring
 * "scb-zerocopy-<pid>" (SCB_RECORDS | SCB_UNLINK_ON_CLOSE).  First the
 * writer sends a few records and the reader reads each of them intact.
 * Then the reader peeks a record and, before it releases it, the writer
 * sends more than the ring holds: the release must be SCB_EOVERRUN, and the
 * record counts as lost.  The reader then reads what is left.  Every record
 * released with SCB_OK must be one the writer sent, in order, and the
 * records read plus scb_lost must equal the records sent.  Exit status 0
 * only if all of that holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <scb.h>

#define MAX_TEXT   240  /* the longest text a message carries */
#define RING_BYTES 8192 /* the ring's length: bytes of record space */

/* A message, built in place by the writer (scb_reserve's pointer is 8-byte
 * aligned) and sent with only as much of text as it uses. */
struct msg {
    uint64_t seq; /* 0, 1, 2... */
    uint32_t len; /* bytes of text */
    uint32_t sum; /* text_sum of the text */
    char text[MAX_TEXT];
};

#define MSG_HEAD offsetof(struct msg, text)

static uint32_t text_sum(const char *text, size_t len)
{
    uint32_t s = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        s = (s ^ (unsigned char)text[i]) * 16777619u;
    return s;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "scb-zerocopy: %s: %s\n", what, scb_strerror(rc));
    return 1;
}

/* The writer: builds message `seq` in the ring and publishes it. */
static int send_one(scb_t *w, uint64_t seq)
{
    struct msg *m;
    void *p;
    int rc;

    rc = scb_reserve(w, sizeof *m, &p); /* the most it may take */
    if (rc != SCB_OK)
        return fail("scb_reserve", rc);
    m = p;
    m->seq = seq;
    m->len = (uint32_t)(seq * 37 % (MAX_TEXT + 1)); /* 0 to MAX_TEXT */
    for (uint32_t i = 0; i < m->len; i++)
        m->text[i] = (char)('a' + (seq + i) % 26);
    m->sum = text_sum(m->text, m->len);
    rc = scb_commit(w, MSG_HEAD + m->len); /* only what it used */
    if (rc != SCB_OK)
        return fail("scb_commit", rc);
    return 0;
}

/* What the reader got from one record, before it knows whether to keep it. */
struct seen {
    uint64_t seq;
    int intact; /* the length, header and sum agree */
};

/* The reader reads the peeked record in place.  Nothing read here can be
 * trusted before scb_release returns SCB_OK. */
static struct seen look(const void *ptr, size_t len)
{
    struct seen s = {0, 0};
    struct msg head;

    if (len < MSG_HEAD)
        return s;
    memcpy(&head, ptr, MSG_HEAD); /* seq, len and sum */
    s.seq = head.seq;
    s.intact = head.len <= MAX_TEXT && len == MSG_HEAD + head.len &&
               head.sum == text_sum((const char *)ptr + MSG_HEAD, head.len);
    return s;
}

/* The reader: reads everything there is, in place.  Counts what it kept in
 * *kept and the releases that were SCB_EOVERRUN in *overruns; *next is the
 * lowest sequence number that may come next. */
static int receive_all(scb_t *r, uint64_t *kept, uint64_t *overruns,
                       uint64_t *next)
{
    const void *ptr;
    size_t len;
    int rc;

    while ((rc = scb_peek(r, &ptr, &len)) == SCB_OK) {
        struct seen s = look(ptr, len);

        rc = scb_release(r);
        if (rc == SCB_EOVERRUN) {
            (*overruns)++; /* overwritten while read: forget s */
            continue;
        }
        if (rc != SCB_OK)
            return fail("scb_release", rc);
        if (!s.intact || s.seq < *next) {
            fprintf(stderr, "scb-zerocopy: a bad record (seq %" PRIu64 ")\n",
                    s.seq);
            return 1;
        }
        *next = s.seq + 1;
        (*kept)++;
    }
    if (rc != SCB_EAGAIN)
        return fail("scb_peek", rc);
    return 0;
}

int main(int argc, char **argv)
{
    char name[64];
    uint64_t sent = 0, kept = 0, overruns = 0, next = 0;
    scb_config_t cfg;
    scb_t *w = NULL, *r = NULL;
    const void *ptr;
    size_t len;
    int rc, status = 1;

    snprintf(name, sizeof name, "scb-zerocopy-%ld", (long)getpid());
    scb_config_init(&cfg);
    cfg.item_size = sizeof(struct msg); /* the largest record */
    cfg.length = RING_BYTES;
    cfg.flags = SCB_RECORDS | SCB_UNLINK_ON_CLOSE; /* overwrite mode */
    cfg.backend = argc > 1 ? argv[1] : NULL;

    if ((rc = scb_create(&w, name, &cfg)) != SCB_OK)
        return fail("scb_create", rc);
    if ((rc = scb_open(&r, name, &cfg)) != SCB_OK) {
        fail("scb_open", rc);
        goto out;
    }

    /* 1. A few records, each read intact. */
    for (int i = 0; i < 10; i++)
        if (send_one(w, sent++) != 0)
            goto out;
    if (receive_all(r, &kept, &overruns, &next) != 0)
        goto out;
    if (kept != sent || overruns != 0) {
        fprintf(stderr, "scb-zerocopy: read %" PRIu64 " of %" PRIu64 "\n", kept,
                sent);
        goto out;
    }

    /* 2. The writer laps a reader that holds a record peeked. */
    if (send_one(w, sent++) != 0)
        goto out;
    if ((rc = scb_peek(r, &ptr, &len)) != SCB_OK) {
        fail("scb_peek", rc);
        goto out;
    }
    for (int i = 0; i < 2 * RING_BYTES / 32; i++) /* records take >= 32 */
        if (send_one(w, sent++) != 0)
            goto out;
    rc = scb_release(r);
    if (rc != SCB_EOVERRUN) {
        fprintf(stderr,
                "scb-zerocopy: scb_release after a lap: %s, "
                "expected SCB_EOVERRUN\n",
                scb_strerror(rc));
        goto out;
    }
    overruns++;

    /* 3. What is left. */
    if (receive_all(r, &kept, &overruns, &next) != 0)
        goto out;
    if (kept + scb_lost(r) != sent) {
        fprintf(stderr,
                "scb-zerocopy: read %" PRIu64 " + lost %" PRIu64
                " != sent %" PRIu64 "\n",
                kept, scb_lost(r), sent);
        goto out;
    }
    printf("scb-zerocopy: sent %" PRIu64 ", read %" PRIu64 " in place, "
           "lost %" PRIu64 " (%" PRIu64 " overrun while peeked)\n",
           sent, kept, scb_lost(r), overruns);
    status = 0;

out:
    scb_close(r);
    if (scb_close(w) != SCB_OK) /* also removes the name */
        status = 1;
    return status;
}
