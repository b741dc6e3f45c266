/*
 * scb_api_hostile.c - tcase "hostile" of the API suite of
 * tests/check_scb: segments forged and rewritten through the internal
 * backend API (backend.h) and the segment format (layout.h).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

/* ------------------------------------------------------------------------ */
/* tcase "hostile": forged and rewritten segments (semantics 6).           */

#define HOST_SIZE 8u  /* item size of the rings forged below */
#define HOST_LEN 16u  /* their length */

static struct scb_hdr *raw_map(scb_seg_t *seg, const char *name)
{
    int rc = scb_backend_open(g_be, seg, name, 1);

    ck_assert_msg(rc == SCB_OK, "raw open of %s = %d (%s)", name, rc,
                  scb_strerror(rc));
    ck_assert_ptr_nonnull(seg->base);
    ck_assert_uint_ge(seg->size, sizeof(struct scb_hdr));
    return seg->base;
}

/* A valid ring of HOST_LEN items of HOST_SIZE, every slot holding an item,
 * and no writer. */
static void make_plain_ring(const char *name)
{
    scb_t *w = mk_writer(name, HOST_SIZE, HOST_LEN, 0);
    uint8_t item[HOST_SIZE];
    uint64_t i;

    for (i = 0; i < HOST_LEN + 4; i++)
        push_seq(w, item, HOST_SIZE, i);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}

/* What opening a corrupted header must return. */
enum { EXP_BAD, EXP_NAME, EXP_NOT_READY };

static const char *const corruptions[] = {
    "magic off by one bit", "magic inverted", "version 0", "version 2",
    "hdr_size 0", "hdr_size 641", "total_size > segment", "total_size max",
    "length 0", "length 2^60", "length * item_size past the segment",
    "item_size 0", "item_size 2^31", "item_size * length past the segment",
    "flags 0x10", "flags 0x80000000", "flags SCB_WRITER",
    "max_readers 1 without SCB_LOSSLESS", "SCB_LOSSLESS, 64 slots, no room",
    "SCB_LOSSLESS, 0 slots", "mode 07777", "mode 01000",
    "items_off past the end", "items_off misaligned", "items_off 0 (header)",
    "items_off = shared_off", "items_off near 2^64", "shared_off 0",
    "shared_off 128 (inside the header)", "shared_off misaligned",
    "shared_off near 2^64", "shared_size 0", "shared_size max",
    "name_len 0", "name_len 300", "name_len + 1", "name_len - 1",
    "name with '/'", "name with ' '", "name with UTF-8", "name of another ring",
    "name not terminated", "name empty", "magic 0 (never ready)",
};
#define N_CORRUPTIONS ((int)(sizeof corruptions / sizeof corruptions[0]))
#define N_RANDOM_SEEDS 6
#define N_RANDOM_VARIANTS 3

/* Applies corruption `which` to the header of a segment of `size` bytes and
 * returns what opening it must give. */
static int corrupt_header(struct scb_hdr *h, size_t size, int which)
{
    size_t len = strlen(h->name);

    switch (which) {
    case 0: scb_store_relaxed(&h->magic, SCB_MAGIC ^ 0x100); break;
    case 1: scb_store_relaxed(&h->magic, ~SCB_MAGIC); break;
    case 2: h->version = 0; break;
    case 3: h->version = SCB_FORMAT_VERSION + 1; break;
    case 4: h->hdr_size = 0; break;
    case 5: h->hdr_size = sizeof *h + 1; break;
    case 6: h->total_size = size + 1; break;
    case 7: h->total_size = UINT64_MAX; break;
    case 8: h->length = 0; break;
    case 9: h->length = UINT64_C(1) << 60; break;
    case 10: h->length = (h->total_size - h->items_off) / h->item_size + 1; break;
    case 11: h->item_size = 0; break;
    case 12: h->item_size = UINT32_C(1) << 31; break;
    case 13: h->item_size = HOST_SIZE + 1; break;
    case 14: h->flags = 0x10; break;
    case 15: h->flags = 0x80000000u; break;
    case 16: h->flags = SCB_WRITER; break;
    case 17: h->max_readers = 1; break;
    case 18: h->flags = SCB_LOSSLESS; h->max_readers = 64; break;
    case 19: h->flags = SCB_LOSSLESS; h->max_readers = 0; break;
    case 20: h->mode = 07777; break;
    case 21: h->mode = 01000; break;
    case 22: h->items_off = size + 4096; break;
    case 23: /* misaligned, with the items still inside the segment */
        h->items_off += 1;
        h->length -= 1;
        break;
    case 24: h->items_off = 0; break;
    case 25: h->items_off = h->shared_off; break;
    case 26: h->items_off = UINT64_MAX - 63; break;
    case 27: h->shared_off = 0; break;
    case 28: h->shared_off = 128; break;
    case 29: /* misaligned, still clear of the header and the items */
        h->shared_off += 8;
        h->shared_size -= 8;
        break;
    case 30: h->shared_off = UINT64_MAX - 4095; break;
    case 31: h->shared_size = 0; break;
    case 32: h->shared_size = UINT64_MAX; break;
    case 33: h->name_len = 0; break;
    case 34: h->name_len = 300; break;
    case 35: h->name_len = (uint32_t)len + 1; break;
    case 36: h->name_len = (uint32_t)len - 1; break;
    case 37: h->name[1] = '/'; break;
    case 38: h->name[1] = ' '; break;
    case 39: h->name[0] = '\xc3'; h->name[1] = '\xa4'; break;
    case 40:
        h->name[len - 1] = h->name[len - 1] == 'x' ? 'y' : 'x';
        return EXP_NAME;
    case 41: memset(h->name, 'a', sizeof h->name); h->name_len = SCB_NAME_MAX; break;
    case 42: h->name[0] = '\0'; break;
    case 43: scb_store_relaxed(&h->magic, 0); return EXP_NOT_READY;
    default: {
        /* All bytes random; variant 1 keeps the magic, variant 2 also the
         * version and header size, so the checks behind them are reached. */
        int k = which - N_CORRUPTIONS;
        int variant = k % N_RANDOM_VARIANTS;
        unsigned char *p = (unsigned char *)h;
        size_t i;

        srand(1000u + (unsigned)(k / N_RANDOM_VARIANTS));
        for (i = 0; i < sizeof *h; i++)
            p[i] = (unsigned char)(rand() >> 7);
        if (variant >= 1)
            scb_store_relaxed(&h->magic, SCB_MAGIC);
        if (variant >= 2) {
            h->version = SCB_FORMAT_VERSION;
            h->hdr_size = sizeof *h;
        }
        if (scb_load_relaxed(&h->magic) == 0) /* cannot happen with these seeds */
            return EXP_NOT_READY;
        break;
    }
    }
    return EXP_BAD;
}

/* Opening `name` as a reader, a LATEST reader and a writer all fail with
 * `want`, promptly. */
static void expect_open_fails(const char *name, int want, const char *what,
                              double max_ms)
{
    static const uint32_t flags[] = {0, SCB_LATEST, SCB_WRITER};
    size_t i;

    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        scb_t *h = (scb_t *)(void *)&h;
        double t0 = now_ms(), dt;
        int rc = open_rc(name, flags[i], &h);

        dt = now_ms() - t0;
        ck_assert_msg(rc == want,
                      "%s: scb_open(flags %#x) = %d (%s), expected %d (%s)",
                      what, (unsigned)flags[i], rc, scb_strerror(rc), want,
                      scb_strerror(want));
        ck_assert_ptr_null(h);
        ck_assert_msg(dt < max_ms, "%s: scb_open took %.0f ms", what, dt);
    }
}

START_TEST(test_hostile_header)
{
    scb_seg_t seg;
    struct scb_hdr *h;
    int exp, want;
    char what[80];

    make_plain_ring(g_name);
    h = raw_map(&seg, g_name);
    exp = corrupt_header(h, seg.size, _i);
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
    if (_i < N_CORRUPTIONS)
        snprintf(what, sizeof what, "%s", corruptions[_i]);
    else
        snprintf(what, sizeof what, "random header (seed %d, variant %d)",
                 (_i - N_CORRUPTIONS) / N_RANDOM_VARIANTS,
                 (_i - N_CORRUPTIONS) % N_RANDOM_VARIANTS);
    want = exp == EXP_NAME && !g_be->names_exact ? SCB_ENOENT : SCB_EBADFORMAT;
    expect_open_fails(g_name, want, what, exp == EXP_NOT_READY ? 2000 : 250);
    if (exp == EXP_NAME) {
        /* Where names are hashed, the segment is another ring's: unlink
         * leaves it alone.  Where they are exact, it is this name's. */
        scb_config_t cfg = tu_cfg(1, 2);
        int rc = scb_unlink(g_name, &cfg);

        if (g_be->names_exact) {
            ck_assert_int_eq(rc, SCB_OK);
            ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0),
                             SCB_ENOENT);
        } else {
            ck_assert_int_eq(rc, SCB_ENOENT);
            ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0), SCB_OK);
            ck_assert_int_eq(scb_backend_remove(g_be, &seg, g_name), SCB_OK);
            ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
        }
    }
}
END_TEST

/* Interesting values for one header field. */
static uint64_t pick(uint64_t orig, uint64_t size)
{
    static const uint64_t v[] = {0, 1, 8, 127, 128, 640, 4096, 8192,
                                 UINT64_C(1) << 31, UINT64_C(1) << 32,
                                 UINT64_C(1) << 48, UINT64_C(1) << 60,
                                 UINT64_MAX, UINT64_MAX - 4095};
    int k = rand() % 24;

    if (k < 8)
        return orig; /* mostly leave it, so valid geometries come up too */
    if (k < 10)
        return orig + (uint64_t)(rand() % 3) - 1;
    if (k == 10)
        return size;
    return v[k % (sizeof v / sizeof v[0])];
}

/* Random crafted geometries: open either refuses with SCB_EBADFORMAT or
 * accepts a geometry whose items lie inside the segment, and then works. */
START_TEST(test_hostile_geometry_fuzz)
{
    int round;

    srand(77u + (unsigned)_i);
    for (round = 0; round < 40; round++) {
        scb_seg_t seg;
        struct scb_hdr *h;
        size_t size;
        scb_t *r = NULL, *w = NULL;
        int rc, rcw;

        make_plain_ring(g_name);
        h = raw_map(&seg, g_name);
        size = seg.size;
        h->length = pick(h->length, size);
        h->item_size = (uint32_t)pick(h->item_size, size);
        h->items_off = pick(h->items_off, size);
        h->shared_off = pick(h->shared_off, size);
        h->shared_size = pick(h->shared_size, size);
        h->total_size = pick(h->total_size, size);
        ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);

        rc = open_rc(g_name, 0, &r);
        rcw = open_rc(g_name, SCB_WRITER, &w);
        ck_assert_msg(rc == SCB_OK || rc == SCB_EBADFORMAT,
                      "round %d: reader open = %d (%s)", round, rc,
                      scb_strerror(rc));
        ck_assert_int_eq(rcw, rc);
        if (rc == SCB_OK) {
            scb_info_t info = info_of(r);
            uint8_t *buf;
            size_t count;
            int k;

            ck_assert_uint_ge(info.item_size, 1);
            ck_assert_uint_ge(info.length, 1);
            ck_assert_msg(info.length <= (size - sizeof *h) / info.item_size,
                          "round %d: accepted %ju items of %u in %zu bytes",
                          round, (uintmax_t)info.length,
                          (unsigned)info.item_size, size);
            buf = malloc((size_t)info.item_size * 4);
            ck_assert_ptr_nonnull(buf);
            for (k = 0; k < 50; k++) {
                tu_fill(buf, info.item_size, (uint64_t)k);
                ck_assert_int_eq(scb_push(w, buf), SCB_OK);
                ck_assert_int_eq(scb_push_many(w, buf, 4, &count), SCB_OK);
                rc = scb_pop(r, buf);
                ck_assert(rc == SCB_OK || rc == SCB_EAGAIN);
                rc = scb_pop_many(r, buf, 4, &count);
                ck_assert(rc == SCB_OK || rc == SCB_EAGAIN);
                ck_assert_uint_le(scb_usage(r), info.length);
            }
            free(buf);
        }
        scb_close(r);
        scb_close(w);
        (void)remove_ring(g_name);
    }
}
END_TEST

/* Raw segments that never were rings. */
enum { RAW_TINY_MAGIC, RAW_639_MAGIC, RAW_HEADER_ONLY, RAW_ZEROS, RAW_POSIX_EMPTY };

START_TEST(test_hostile_raw)
{
    scb_seg_t seg;
    size_t size;
    double max_ms = 250;
    const char *what;

#ifndef _WIN32
    if (_i == RAW_POSIX_EMPTY) {
        /* Only the posix backend can hold an object of size 0. */
        char path[300];
        int fd;

        snprintf(path, sizeof path, "/scb.%s", g_name);
        fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        expect_open_fails(g_name, SCB_EBADFORMAT, "empty posix object", 2000);
        ck_assert_int_eq(shm_unlink(path), 0);
        return;
    }
#endif
    switch (_i) {
    case RAW_TINY_MAGIC: size = 100; what = "100 bytes with a magic"; break;
    case RAW_639_MAGIC: size = 639; what = "639 bytes with a magic"; break;
    case RAW_HEADER_ONLY: size = sizeof(struct scb_hdr); what = "a real header, no more"; break;
    default: size = 4096; what = "4096 zero bytes"; max_ms = 2000; break;
    }
    if (_i == RAW_HEADER_ONLY) {
        /* A header copied from a real ring of this name, without the rest.
         * The ring is larger than a header-sized segment can be once its
         * backend rounded it up (apr on Windows: to 64 KiB). */
        struct scb_hdr copy;
        scb_seg_t real;

        ck_assert_int_eq(scb_close(mk_writer(g_name, 4096, 64, 0)), SCB_OK);
        memcpy(&copy, raw_map(&real, g_name), sizeof copy);
        ck_assert_int_eq(scb_backend_remove(g_be, &real, g_name), SCB_OK);
        ck_assert_int_eq(scb_backend_close(g_be, &real), SCB_OK);
        ck_assert_int_eq(scb_backend_create(g_be, &seg, g_name, size, 0600),
                         SCB_OK);
        ck_assert_msg(seg.size < copy.total_size,
                      "a segment of %zu bytes holds the ring of %ju bytes",
                      seg.size, (uintmax_t)copy.total_size);
        memcpy(seg.base, &copy, sizeof copy);
    } else {
        ck_assert_int_eq(scb_backend_create(g_be, &seg, g_name, size, 0600),
                         SCB_OK);
        if (_i != RAW_ZEROS) {
            uint64_t magic = SCB_MAGIC;
            memcpy(seg.base, &magic, sizeof magic);
        }
    }
    expect_open_fails(g_name, SCB_EBADFORMAT, what, max_ms);
    ck_assert_int_eq(scb_backend_remove(g_be, &seg, g_name), SCB_OK);
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
    assert_absent(g_name);
}
END_TEST

/* Counters and the writer's identity rewritten before open: not geometry,
 * so open may accept the ring; then every call must stay safe. */
static const char *const counter_cases[] = {
    "head 2^63+5", "head max, claim 0", "claim head+1000", "claim below head",
    "origin 2^62", "origin ahead of head", "writer_id garbage",
    "writer_id: this pid, wrong start time", "writer_id: this process",
};
#define N_COUNTER_CASES ((int)(sizeof counter_cases / sizeof counter_cases[0]))

/* Calls everything on a reader and a writer `rounds` times; each call must
 * return a documented code and keep its promises, and whatever a reader
 * returns must be an intact item out of one of its slots (every slot holds
 * one, and the writer here pushes only such items).  With `raw` set it
 * rewrites the shared header as live_corrupt(live_case) says before every
 * round. */
static void hammer(scb_t *r, scb_t *w, const char *name, uint32_t S, uint64_t L,
                   struct scb_hdr *raw, int live_case, int rounds);

/* Checks that each of the n items at p is an intact tu_fill item: every
 * slot of the ring holds one, so a reader that copies anything else read
 * outside its slots. */
static void expect_items(const char *name, const uint8_t *p, size_t n,
                         uint32_t S, const char *call)
{
    size_t j;
    uint64_t s;

    for (j = 0; j < n; j++)
        ck_assert_msg(tu_check(p + j * S, S, &s),
                      "%s: %s returned bytes that are no item (item %zu of %zu)",
                      name, call, j, n);
}

START_TEST(test_hostile_counters)
{
    scb_seg_t seg;
    struct scb_hdr *h;
    scb_t *r = NULL, *w = NULL;
    uint64_t head;
    int rc, rcw;

    make_plain_ring(g_name);
    h = raw_map(&seg, g_name);
    head = scb_load_relaxed(&h->head);
    switch (_i) {
    case 0: scb_store_relaxed(&h->head, (UINT64_C(1) << 63) + 5); break;
    case 1:
        scb_store_relaxed(&h->head, UINT64_MAX);
        scb_store_relaxed(&h->claim, 0);
        break;
    case 2: scb_store_relaxed(&h->claim, head + 1000); break;
    case 3: scb_store_relaxed(&h->claim, head - 3); break;
    case 4: h->origin = UINT64_C(1) << 62; break;
    case 5: h->origin = head + 5; break;
    case 6: scb_store_relaxed(&h->writer_id, UINT64_C(0xdeadbeefcafebabe)); break;
    case 7: scb_store_relaxed(&h->writer_id, scb_sys_proc_self() ^ 1); break;
    default: scb_store_relaxed(&h->writer_id, scb_sys_proc_self()); break;
    }
    rc = open_rc(g_name, 0, &r);
    rcw = open_rc(g_name, SCB_WRITER, &w);
    ck_assert_msg(rc == SCB_OK || rc == SCB_EBADFORMAT, "%s: reader open = %d (%s)",
                  counter_cases[_i], rc, scb_strerror(rc));
    if (_i == 8)
        ck_assert_msg(rcw == SCB_EBUSY, "%s: writer open = %d (%s)",
                      counter_cases[_i], rcw, scb_strerror(rcw));
    else if (_i >= 6)
        /* A process id whose start time differs is another (dead) process:
         * the role is free (robust to process id reuse). */
        ck_assert_msg(rcw == SCB_OK, "%s: writer open = %d (%s)",
                      counter_cases[_i], rcw, scb_strerror(rcw));
    else
        ck_assert_msg(rcw == SCB_OK || rcw == SCB_EBADFORMAT,
                      "%s: writer open = %d (%s)", counter_cases[_i], rcw,
                      scb_strerror(rcw));
    if (r != NULL || w != NULL)
        hammer(r, w, g_name, HOST_SIZE, HOST_LEN, NULL, -1, 300);
    scb_close(r);
    scb_close(w);
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
}
END_TEST

static const char *const live_cases[] = {
    "head 2^63+5, claim garbage", "head and claim max", "head far ahead",
    "claim head+1", "geometry rewritten, head huge", "whole header random",
    "head and claim random every round", "head back to 0, origin huge",
};
#define N_LIVE_CASES ((int)(sizeof live_cases / sizeof live_cases[0]))

static uint64_t rand64(void)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 4; i++)
        v = (v << 16) ^ (uint64_t)(rand() & 0xffff);
    return v;
}

static void live_corrupt(struct scb_hdr *h, int which, uint64_t L)
{
    uint64_t head = scb_load_relaxed(&h->head);

    switch (which) {
    case 0:
        scb_store_relaxed(&h->head, (UINT64_C(1) << 63) + 5);
        scb_store_relaxed(&h->claim, UINT64_C(0x1234567));
        break;
    case 1:
        scb_store_relaxed(&h->head, UINT64_MAX);
        scb_store_relaxed(&h->claim, UINT64_MAX);
        break;
    case 2:
        scb_store_relaxed(&h->head, head + 1000 * L + 3);
        scb_store_relaxed(&h->claim, head + 1000 * L + 3);
        break;
    case 3: scb_store_relaxed(&h->claim, head + L + 1); break;
    case 4:
        h->length = UINT64_C(1) << 60;
        h->items_off = UINT64_C(1) << 62;
        h->item_size = UINT32_C(1) << 31;
        h->total_size = UINT64_MAX;
        scb_store_relaxed(&h->head, UINT64_C(0x7fffffffffffff00));
        break;
    case 5: {
        unsigned char *p = (unsigned char *)h;
        size_t i;
        for (i = 0; i < sizeof *h; i++)
            p[i] = (unsigned char)(rand() >> 5);
        break;
    }
    case 6:
        scb_store_relaxed(&h->head, rand64());
        scb_store_relaxed(&h->claim, rand() % 2 ? rand64() : head + (uint64_t)(rand() % 64));
        break;
    default:
        scb_store_relaxed(&h->head, 0);
        scb_store_relaxed(&h->claim, 0);
        h->origin = UINT64_MAX - 2;
        break;
    }
}

static void hammer(scb_t *r, scb_t *w, const char *name, uint32_t S, uint64_t L,
                   struct scb_hdr *raw, int live_case, int rounds)
{
    /* Exactly sized heap buffers, so that AddressSanitizer sees any copy
     * past them. */
    uint8_t *item = malloc(S), *buf = malloc((size_t)S * 64), *many;
    size_t count, nmany = 3 * L + 1;
    int k, rc;

    many = malloc((size_t)S * nmany);
    ck_assert(item != NULL && buf != NULL && many != NULL);
    for (k = 0; (size_t)k < nmany; k++)
        tu_fill(many + (size_t)k * S, S, UINT64_C(1) << 40 | (uint64_t)k);
    for (k = 0; k < rounds; k++) {
        if (raw != NULL)
            live_corrupt(raw, live_case, L);
        if (r != NULL) {
            scb_info_t info;
            uint64_t u;

            rc = scb_pop(r, item);
            ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN, "%s: pop = %d", name, rc);
            if (rc == SCB_OK)
                expect_items(name, item, 1, S, "scb_pop");
            count = 999;
            rc = scb_pop_many(r, buf, 1 + (size_t)k % 64, &count);
            ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN, "%s: pop_many = %d", name, rc);
            ck_assert_uint_le(count, 1 + (size_t)k % 64);
            ck_assert_int_eq(rc == SCB_OK, count > 0);
            expect_items(name, buf, count, S, "scb_pop_many");
            rc = scb_pop_wait(r, item, k % 50 == 0 ? 1 : 0);
            ck_assert_msg(rc == SCB_OK || rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT,
                          "%s: pop_wait = %d", name, rc);
            if (rc == SCB_OK)
                expect_items(name, item, 1, S, "scb_pop_wait");
            u = scb_usage(r);
            ck_assert_uint_le(u, L);
            (void)scb_lost(r);
            ck_assert_int_eq(scb_info(r, &info), SCB_OK);
            ck_assert_uint_eq(info.length, L);
            ck_assert_uint_eq(info.item_size, S);
            ck_assert_uint_le(info.usage, L);
            ck_assert_int_eq(info.is_writer, 0);
            ck_assert_uint_le(strlen(info.name), SCB_NAME_MAX);
        }
        if (w != NULL) {
            scb_info_t info;
            size_t n = (size_t)k % (nmany + 1);

            tu_fill(item, S, (uint64_t)k);
            ck_assert_int_eq(scb_push(w, item), SCB_OK);
            ck_assert_int_eq(scb_push_wait(w, item, 0), SCB_OK);
            ck_assert_int_eq(scb_push_many(w, many, n, &count), SCB_OK);
            ck_assert_uint_eq(count, n);
            ck_assert_uint_le(scb_usage(w), L);
            ck_assert_uint_eq(scb_lost(w), 0);
            ck_assert_int_eq(scb_info(w, &info), SCB_OK);
            ck_assert_uint_eq(info.length, L);
            ck_assert_uint_eq(info.item_size, S);
            ck_assert_uint_le(info.usage, L);
        }
    }
    free(item);
    free(buf);
    free(many);
}

/* Handles opened on a valid ring, then the other side rewrites the shared
 * header: no call may crash, leave its mapping or fail to return. */
START_TEST(test_hostile_live)
{
    const uint32_t S = 24; /* not a power of two */
    const uint64_t L = 16;
    scb_seg_t seg;
    struct scb_hdr *h;
    scb_t *w, *r, *rl, *h2 = NULL;
    uint8_t item[24];
    uint64_t i;
    int rc;

    srand(4242u + (unsigned)_i);
    w = mk_writer(g_name, S, L, 0);
    for (i = 0; i < 20; i++)
        push_seq(w, item, S, i);
    r = mk_open(g_name, 0);
    rl = mk_open(g_name, SCB_LATEST);
    h = raw_map(&seg, g_name);
    live_corrupt(h, _i, L);
    if (_i == 4 || _i == 5) {
        /* A new opener sees the rewritten header and refuses it. */
        rc = open_rc(g_name, 0, &h2);
        ck_assert_msg(rc == SCB_EBADFORMAT,
                      "%s: open after the rewrite = %d (%s)", live_cases[_i], rc,
                      scb_strerror(rc));
        ck_assert_ptr_null(h2);
    }
    hammer(r, w, live_cases[_i], S, L, h, _i, 2000);
    hammer(rl, NULL, live_cases[_i], S, L, h, _i, 200);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(rl), SCB_OK);
    rc = scb_close(w);
    ck_assert_msg(rc == SCB_OK, "%s: writer close = %d", live_cases[_i], rc);
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_hostile(Suite *s)
{
    TCase *tc;

    tc = new_tcase(s, "hostile", 60);
    tcase_add_loop_test(tc, test_hostile_header, 0,
                        N_CORRUPTIONS + N_RANDOM_SEEDS * N_RANDOM_VARIANTS);
    tcase_add_loop_test(tc, test_hostile_geometry_fuzz, 0, 8);
    tcase_add_loop_test(tc, test_hostile_raw, 0,
                        strcmp(tu_backend, "posix") == 0 ? RAW_POSIX_EMPTY + 1
                                                         : RAW_POSIX_EMPTY);
    tcase_add_loop_test(tc, test_hostile_counters, 0, N_COUNTER_CASES);
    tcase_add_loop_test(tc, test_hostile_live, 0, N_LIVE_CASES);
}
