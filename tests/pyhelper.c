/*
 * pyhelper.c - the C side of the Python package's cross-language tests
 * (python/tests/test_cross.py), public API only.
 *
 *   pyhelper write NAME ITEM_SIZE LENGTH N [lossless]
 *       creates NAME and pushes 0..N-1, each big-endian in ITEM_SIZE bytes
 *       (modulo 256^ITEM_SIZE).  With "lossless" the ring is SCB_LOSSLESS,
 *       the writer waits for one reader to register before pushing, waits
 *       for room on each push, and then for the readers to read everything.
 *       It prints "created" once the ring exists and closes without removing
 *       it (the reader removes it).
 *   pyhelper read NAME N [TIMEOUT_MS]
 *       opens NAME as a reader, prints "ready", then pops N items, waiting up
 *       to TIMEOUT_MS (default 10000) for each, and checks they are 0..N-1
 *       big-endian with nothing lost.  Prints "ok N".
 *
 *   pyhelper writerec NAME MAX_RECORD LENGTH N
 *       creates the record ring NAME (SCB_RECORDS, lossless: the writer
 *       waits for one reader to register) and pushes N records: record i
 *       has rec_len(i) bytes, byte j being (i + j) & 255.  Prints
 *       "created", waits for the reader to read everything, closes without
 *       removing the ring.
 *   pyhelper readrec NAME N [TIMEOUT_MS]
 *       opens the record ring NAME, prints "ready", pops N records (waiting
 *       up to TIMEOUT_MS for each) and checks each as writerec makes them,
 *       with nothing lost.  Prints "ok N".
 *   rec_len(i) = (i * 7919) % (MAX_RECORD + 1): lengths from 0 to
 *   MAX_RECORD, mixed; the Python tests make the same records.
 *
 * Exit status: 0 on success, 1 on a failed check or libscb error, 2 on usage.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#include <scb.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void encode(unsigned char *item, uint32_t size, uint64_t v)
{
    for (uint32_t i = 0; i < size; i++) {
        item[size - 1 - i] = (unsigned char)(v & 0xffu);
        v = i < 7 ? v >> 8 : 0;
    }
}

static uint64_t decode(const unsigned char *item, uint32_t size)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < size; i++)
        v = (v << 8) | item[i];
    return v;
}

static uint64_t mask_for(uint32_t size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pyhelper: %s: %s\n", what, scb_strerror(rc));
    return 1;
}

static int wait_reader(scb_t *w)
{
    scb_info_t info;

    for (int waited = 0; waited < 10000; waited++) {
        int rc = scb_info(w, &info);
        if (rc != SCB_OK)
            return rc;
        if (info.readers >= 1)
            return SCB_OK;
        nap_ms(1);
    }
    return SCB_ETIMEDOUT;
}

static int do_write(const char *name, uint32_t size, uint64_t length, uint64_t n, int lossless)
{
    scb_config_t cfg;
    scb_t *w = NULL;
    unsigned char *item = malloc(size ? size : 1);
    int rc;

    if (!item)
        return 1;
    scb_config_init(&cfg);
    cfg.item_size = size;
    cfg.length = length;
    if (lossless)
        cfg.flags |= SCB_LOSSLESS;
    rc = scb_create(&w, name, &cfg);
    if (rc != SCB_OK) {
        free(item);
        return fail("scb_create", rc);
    }
    printf("created\n");
    fflush(stdout);
    if (lossless) {
        rc = wait_reader(w);
        if (rc != SCB_OK)
            goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        encode(item, size, i & mask_for(size));
        rc = scb_push_wait(w, item, 10000);
        if (rc != SCB_OK)
            goto out;
    }
    if (lossless) {
        int waited = 0;
        while (scb_usage(w) > 0 && ++waited < 10000)
            nap_ms(1);
    }
out:
    free(item);
    scb_close(w);
    return rc == SCB_OK ? 0 : fail("push", rc);
}

static int do_read(const char *name, uint64_t n, long timeout_ms)
{
    scb_t *r = NULL;
    scb_info_t info;
    unsigned char *item;
    int rc = scb_open(&r, name, NULL);

    if (rc != SCB_OK)
        return fail("scb_open", rc);
    rc = scb_info(r, &info);
    if (rc != SCB_OK) {
        scb_close(r);
        return fail("scb_info", rc);
    }
    item = malloc(info.item_size);
    if (!item) {
        scb_close(r);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t want = i & mask_for(info.item_size), got;
        rc = scb_pop_wait(r, item, timeout_ms);
        if (rc != SCB_OK) {
            fprintf(stderr, "pyhelper: item %llu: %s\n", (unsigned long long)i, scb_strerror(rc));
            free(item);
            scb_close(r);
            return 1;
        }
        got = decode(item, info.item_size);
        if (got != want) {
            fprintf(stderr, "pyhelper: item %llu is %llu, expected %llu\n",
                    (unsigned long long)i, (unsigned long long)got, (unsigned long long)want);
            free(item);
            scb_close(r);
            return 1;
        }
    }
    free(item);
    if (scb_lost(r) != 0) {
        fprintf(stderr, "pyhelper: lost %llu items\n", (unsigned long long)scb_lost(r));
        scb_close(r);
        return 1;
    }
    scb_close(r);
    printf("ok %llu\n", (unsigned long long)n);
    return 0;
}

static int num(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-')
        return 0;
    v = strtoull(s, &end, 10);
    if (*end)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static size_t rec_len(uint64_t i, uint32_t max)
{
    return (size_t)((i * 7919u) % ((uint64_t)max + 1));
}

static void rec_fill(unsigned char *p, uint64_t i, size_t len)
{
    for (size_t j = 0; j < len; j++)
        p[j] = (unsigned char)((i + j) & 0xffu);
}

static int do_writerec(const char *name, uint32_t max, uint64_t length, uint64_t n)
{
    scb_config_t cfg;
    scb_t *w = NULL;
    unsigned char *rec = malloc(max ? max : 1);
    int rc;

    if (!rec)
        return 1;
    scb_config_init(&cfg);
    cfg.item_size = max;
    cfg.length = length;
    cfg.flags = SCB_RECORDS | SCB_LOSSLESS;
    rc = scb_create(&w, name, &cfg);
    if (rc != SCB_OK) {
        free(rec);
        return fail("scb_create", rc);
    }
    printf("created\n");
    fflush(stdout);
    rc = wait_reader(w);
    for (uint64_t i = 0; rc == SCB_OK && i < n; i++) {
        size_t len = rec_len(i, max);
        rec_fill(rec, i, len);
        while ((rc = scb_push_record(w, rec, len)) == SCB_EAGAIN) {
            rc = scb_wait(w, 10000);
            if (rc != SCB_OK)
                break;
        }
    }
    for (int waited = 0; rc == SCB_OK && scb_usage(w) > 0 && waited < 10000; waited++)
        nap_ms(1);
    free(rec);
    scb_close(w);
    return rc == SCB_OK ? 0 : fail("push", rc);
}

static int do_readrec(const char *name, uint64_t n, long timeout_ms)
{
    scb_t *r = NULL;
    scb_info_t info;
    unsigned char *rec, *want;
    int rc = scb_open(&r, name, NULL);

    if (rc != SCB_OK)
        return fail("scb_open", rc);
    rc = scb_info(r, &info);
    if (rc != SCB_OK || !(info.flags & SCB_RECORDS)) {
        scb_close(r);
        return fail("not a record ring", rc != SCB_OK ? rc : SCB_EINVAL);
    }
    rec = malloc(info.item_size ? info.item_size : 1);
    want = malloc(info.item_size ? info.item_size : 1);
    if (!rec || !want) {
        free(rec);
        free(want);
        scb_close(r);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (uint64_t i = 0; i < n && rc == SCB_OK; i++) {
        size_t len = 0, wlen = rec_len(i, info.item_size);
        while ((rc = scb_pop_record(r, rec, info.item_size, &len)) == SCB_EAGAIN) {
            rc = scb_wait(r, timeout_ms);
            if (rc != SCB_OK)
                break;
        }
        if (rc != SCB_OK) {
            fprintf(stderr, "pyhelper: record %llu: %s\n", (unsigned long long)i,
                    scb_strerror(rc));
            break;
        }
        rec_fill(want, i, wlen);
        if (len != wlen || memcmp(rec, want, len) != 0) {
            fprintf(stderr, "pyhelper: record %llu has %zu bytes, not the %zu expected\n",
                    (unsigned long long)i, len, wlen);
            rc = SCB_EBADFORMAT;
        }
    }
    free(rec);
    free(want);
    if (rc == SCB_OK && scb_lost(r) != 0) {
        fprintf(stderr, "pyhelper: lost %llu records\n", (unsigned long long)scb_lost(r));
        rc = SCB_EBADFORMAT;
    }
    scb_close(r);
    if (rc != SCB_OK)
        return 1;
    printf("ok %llu\n", (unsigned long long)n);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t a, b, c;

    if (argc == 6 && strcmp(argv[1], "writerec") == 0 && num(argv[3], &a) && num(argv[4], &b) &&
        num(argv[5], &c) && a <= UINT32_MAX)
        return do_writerec(argv[2], (uint32_t)a, b, c);
    if (argc >= 4 && strcmp(argv[1], "readrec") == 0 && num(argv[3], &a)) {
        uint64_t t = 10000;
        if (argc >= 5 && !num(argv[4], &t))
            goto usage;
        return do_readrec(argv[2], a, (long)t);
    }

    if (argc >= 6 && strcmp(argv[1], "write") == 0 && num(argv[3], &a) && num(argv[4], &b) &&
        num(argv[5], &c) && a <= UINT32_MAX) {
        int lossless = argc >= 7 && strcmp(argv[6], "lossless") == 0;
        return do_write(argv[2], (uint32_t)a, b, c, lossless);
    }
    if (argc >= 4 && strcmp(argv[1], "read") == 0 && num(argv[3], &a)) {
        uint64_t t = 10000;
        if (argc >= 5 && !num(argv[4], &t))
            goto usage;
        return do_read(argv[2], a, (long)t);
    }
usage:
    fprintf(stderr,
            "usage: pyhelper write NAME ITEM_SIZE LENGTH N [lossless]\n"
            "       pyhelper read NAME N [TIMEOUT_MS]\n"
            "       pyhelper writerec NAME MAX_RECORD LENGTH N\n"
            "       pyhelper readrec NAME N [TIMEOUT_MS]\n");
    return 2;
}
