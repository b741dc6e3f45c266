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
 *   pyhelper layout
 *       prints sizeof and offsetof of scb_config_t and scb_info_t, one
 *       "STRUCT.FIELD OFFSET" line per field after "STRUCT SIZE", for the
 *       test that the ctypes mirrors match the header.
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
        scb_info_t info;
        int waited = 0;
        for (;;) {
            rc = scb_info(w, &info);
            if (rc != SCB_OK || info.readers >= 1)
                break;
            if (++waited > 10000) {
                rc = SCB_ETIMEDOUT;
                break;
            }
            nap_ms(1);
        }
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

#define LAYOUT_FIELD(t, f) printf(#t "." #f " %zu\n", offsetof(t, f))

static int do_layout(void)
{
    printf("scb_config_t %zu\n", sizeof(scb_config_t));
    LAYOUT_FIELD(scb_config_t, item_size);
    LAYOUT_FIELD(scb_config_t, length);
    LAYOUT_FIELD(scb_config_t, flags);
    LAYOUT_FIELD(scb_config_t, max_readers);
    LAYOUT_FIELD(scb_config_t, mode);
    LAYOUT_FIELD(scb_config_t, backend);
    printf("scb_info_t %zu\n", sizeof(scb_info_t));
    LAYOUT_FIELD(scb_info_t, name);
    LAYOUT_FIELD(scb_info_t, backend);
    LAYOUT_FIELD(scb_info_t, item_size);
    LAYOUT_FIELD(scb_info_t, length);
    LAYOUT_FIELD(scb_info_t, flags);
    LAYOUT_FIELD(scb_info_t, pushed);
    LAYOUT_FIELD(scb_info_t, usage);
    LAYOUT_FIELD(scb_info_t, lost);
    LAYOUT_FIELD(scb_info_t, max_readers);
    LAYOUT_FIELD(scb_info_t, readers);
    LAYOUT_FIELD(scb_info_t, writer_alive);
    LAYOUT_FIELD(scb_info_t, writer_pid);
    LAYOUT_FIELD(scb_info_t, is_writer);
    LAYOUT_FIELD(scb_info_t, mode);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t a, b, c;

    if (argc == 2 && strcmp(argv[1], "layout") == 0)
        return do_layout();

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
            "       pyhelper layout\n");
    return 2;
}
