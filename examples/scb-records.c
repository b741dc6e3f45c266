/*
 * scb-records.c - a record ring: records of varying length pushed with
 * scb_push_record and popped with scb_pop_record, through the public API
 * only (<scb.h>).
 *
 *     examples/scb-records [BACKEND]
 *
 * One process holds two handles on the ring "scb-records-<pid>": the writer
 * (scb_create) and a reader (scb_open).  The ring is SCB_RECORDS |
 * SCB_LOSSLESS, so the registered reader loses nothing: the writer pushes
 * until the ring is full (SCB_EAGAIN), the reader pops all there is, and so
 * on, until RECORDS records of 0 to MAX_RECORD bytes went through.  The
 * reader checks every record's length and bytes, and that nothing was lost;
 * the program exits 0 only if every check passed.  SCB_UNLINK_ON_CLOSE:
 * closing the writer removes the name.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <scb.h>

#define MAX_RECORD 200   /* the ring's item_size: its largest record */
#define RING_BYTES 4096  /* its length: bytes of record space */
#define RECORDS    10000 /* records to send */

/* Record n: its length (0 to MAX_RECORD, varying) and its bytes. */
static size_t record_len(uint64_t n)
{
    return (size_t)((n * 37) % (MAX_RECORD + 1));
}

static unsigned char record_byte(uint64_t n, size_t i)
{
    return (unsigned char)(n * 131 + i * 7 + 1);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "scb-records: %s: %s\n", what, scb_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    unsigned char out[MAX_RECORD], in[MAX_RECORD];
    char name[64];
    uint64_t pushed = 0, popped = 0, bytes = 0;
    scb_config_t cfg;
    scb_t *w = NULL, *r = NULL;
    int rc, status = 1;

    snprintf(name, sizeof name, "scb-records-%ld", (long)getpid());
    scb_config_init(&cfg);
    cfg.item_size = MAX_RECORD; /* the largest record */
    cfg.length = RING_BYTES;    /* bytes: a multiple of 8, >= 2 * (200 + 16) */
    cfg.flags = SCB_RECORDS | SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE;
    cfg.backend = argc > 1 ? argv[1] : NULL;

    if ((rc = scb_create(&w, name, &cfg)) != SCB_OK)
        return fail("scb_create", rc);
    if ((rc = scb_open(&r, name, &cfg)) != SCB_OK) {
        fail("scb_open", rc);
        goto out;
    }

    while (popped < RECORDS) {
        uint64_t before = popped;

        /* The writer: as many records as fit now. */
        while (pushed < RECORDS) {
            size_t len = record_len(pushed);

            for (size_t i = 0; i < len; i++)
                out[i] = record_byte(pushed, i);
            rc = scb_push_record(w, out, len);
            if (rc == SCB_EAGAIN)
                break; /* full: the reader has not read enough yet */
            if (rc != SCB_OK) {
                fail("scb_push_record", rc);
                goto out;
            }
            pushed++;
        }

        /* The reader: everything there is.  A buffer of item_size bytes
         * is always enough. */
        size_t len;
        while ((rc = scb_pop_record(r, in, sizeof in, &len)) == SCB_OK) {
            if (len != record_len(popped)) {
                fprintf(stderr,
                        "scb-records: record %" PRIu64 ": %zu bytes, "
                        "expected %zu\n",
                        popped, len, record_len(popped));
                goto out;
            }
            for (size_t i = 0; i < len; i++) {
                if (in[i] != record_byte(popped, i)) {
                    fprintf(stderr,
                            "scb-records: record %" PRIu64 ": byte %zu "
                            "differs\n",
                            popped, i);
                    goto out;
                }
            }
            bytes += len;
            popped++;
        }
        if (rc != SCB_EAGAIN) {
            fail("scb_pop_record", rc);
            goto out;
        }
        if (popped == before) {
            fprintf(stderr,
                    "scb-records: no progress after %" PRIu64 " records\n",
                    popped);
            goto out;
        }
    }

    scb_info_t info;
    if ((rc = scb_info(r, &info)) != SCB_OK) {
        fail("scb_info", rc);
        goto out;
    }
    if (scb_lost(r) != 0 || info.pushed != RECORDS || scb_usage(r) != 0) {
        fprintf(stderr,
                "scb-records: lost %" PRIu64 ", pushed %" PRIu64
                ", usage %" PRIu64 "; expected 0, %d, 0\n",
                scb_lost(r), info.pushed, scb_usage(r), RECORDS);
        goto out;
    }
    printf("scb-records: %" PRIu64 " records of 0 to %d bytes (%" PRIu64
           " bytes in all) through a ring of %" PRIu64 " bytes, none lost\n",
           popped, MAX_RECORD, bytes, info.length);
    status = 0;

out:
    scb_close(r);
    if (scb_close(w) != SCB_OK) /* also removes the name */
        status = 1;
    return status;
}
