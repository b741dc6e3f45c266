/*
 * check_scb.c - the per-backend Check suite: tests/check_scb BACKEND.
 *
 * It runs the API suite below (tu_api_suite: the contract of spec/API.md and
 * scb.h, one tcase per feature) and the multi-process suite of check_scb_mp.c
 * (tu_mp_suite) and the lossless and wait suite (tu_wait_suite) on one
 * backend, with CK_FORK on.
 *
 * Every test works on rings with unique names (tu_name) that its checked
 * fixture removes.  A test that fails or times out never reaches its
 * teardown (Check ends the forked test process at once), so every name is
 * also recorded in a table shared with main(), which removes what is left
 * after the run: a failing test must not leak shared memory either.
 *
 * The hostile-segment tests play the other side the library must not trust:
 * they forge and rewrite segments through the internal backend API
 * (backend.h) and the segment format (layout.h).  Nothing else here touches a
 * ring except through the public API.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "backend.h"
#include "layout.h"
#include "scb.h"
#include "sys.h"
#include "testutil.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION comes from config.h (or -DPACKAGE_VERSION when built by hand)"
#endif

/* ------------------------------------------------------------------------ */
/* Names: the fixture's ring, and the table main() cleans up from.          */

#define REG_SLOTS 8192

typedef struct name_reg {
    atomic_uint n;
    char names[REG_SLOTS][SCB_NAME_MAX + 1];
} name_reg_t;

/* Shared (MAP_SHARED | MAP_ANONYMOUS) with every forked test process. */
static name_reg_t *reg;

static void reg_init(void)
{
    void *p = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("check_scb: mmap of the name table");
        exit(99);
    }
    reg = p;
}

static void reg_add(const char *name)
{
    unsigned i;

    if (reg == NULL)
        return;
    i = atomic_fetch_add(&reg->n, 1u);
    if (i < REG_SLOTS)
        snprintf(reg->names[i], sizeof reg->names[i], "%s", name);
}

/* Removes ring `name` from the suite's backend: scb_unlink first, then the
 * raw segment if one is still there (a forged header that scb_unlink refuses
 * to touch on a backend with hashed names).  Returns scb_unlink's code. */
static int remove_ring(const char *name)
{
    scb_config_t cfg = tu_cfg(1, 2);
    const scb_backend_t *be = scb_backend_find(tu_backend);
    scb_seg_t seg;
    int rc = scb_unlink(name, &cfg);

    if (be != NULL && scb_be_open(be, &seg, name, 0) == SCB_OK) {
        (void)scb_be_remove(be, &seg, name);
        (void)scb_be_close(be, &seg);
    }
    return rc;
}

static void reg_sweep(void)
{
    unsigned i, n;

    if (reg == NULL)
        return;
    n = atomic_load(&reg->n);
    if (n > REG_SLOTS)
        n = REG_SLOTS;
    for (i = 0; i < n; i++)
        if (reg->names[i][0] != '\0')
            (void)remove_ring(reg->names[i]);
}

static char g_name[SCB_NAME_MAX + 1];
static const scb_backend_t *g_be;

/* A fresh unique ring name, recorded for clean-up. */
static void new_name(char *buf, size_t size)
{
    tu_name(buf, size);
    reg_add(buf);
}

static void setup(void)
{
    g_be = scb_backend_find(tu_backend);
    ck_assert_ptr_nonnull(g_be);
    new_name(g_name, sizeof g_name);
}

static void teardown(void)
{
    int rc = remove_ring(g_name);

    ck_assert_msg(rc == SCB_OK || rc == SCB_ENOENT,
                  "teardown: scb_unlink(%s) = %d (%s)", g_name, rc,
                  scb_strerror(rc));
}

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                 */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static scb_config_t cfg_of(uint32_t item_size, uint64_t length, uint32_t flags)
{
    scb_config_t cfg = tu_cfg(item_size, length);

    cfg.flags = flags;
    return cfg;
}

static scb_t *mk_writer(const char *name, uint32_t size, uint64_t length,
                        uint32_t flags)
{
    scb_config_t cfg = cfg_of(size, length, flags);
    scb_t *w = NULL;
    int rc = scb_create(&w, name, &cfg);

    ck_assert_msg(rc == SCB_OK,
                  "scb_create(%s, item_size %u, length %llu, flags %#x) = %d (%s)",
                  name, (unsigned)size, (unsigned long long)length,
                  (unsigned)flags, rc, scb_strerror(rc));
    ck_assert_ptr_nonnull(w);
    return w;
}

static int open_rc(const char *name, uint32_t flags, scb_t **out)
{
    scb_config_t cfg = cfg_of(0, 0, flags);

    return scb_open(out, name, &cfg);
}

static scb_t *mk_open(const char *name, uint32_t flags)
{
    scb_t *h = NULL;
    int rc = open_rc(name, flags, &h);

    ck_assert_msg(rc == SCB_OK, "scb_open(%s, flags %#x) = %d (%s)", name,
                  (unsigned)flags, rc, scb_strerror(rc));
    ck_assert_ptr_nonnull(h);
    return h;
}

/* Asserts that ring `name` does not exist (scb_open says SCB_ENOENT). */
static void assert_absent(const char *name)
{
    scb_t *h = NULL;
    int rc = open_rc(name, 0, &h);

    ck_assert_msg(rc == SCB_ENOENT, "scb_open(%s) = %d (%s), expected SCB_ENOENT",
                  name, rc, scb_strerror(rc));
    ck_assert_ptr_null(h);
}

static void assert_present(const char *name)
{
    scb_close(mk_open(name, 0));
}

static uint64_t seq_mask(size_t size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static void push_seq(scb_t *w, void *buf, uint32_t size, uint64_t seq)
{
    int rc;

    tu_fill(buf, size, seq);
    rc = scb_push(w, buf);
    ck_assert_msg(rc == SCB_OK, "scb_push(seq %llu) = %d (%s)",
                  (unsigned long long)seq, rc, scb_strerror(rc));
}

/* Pops one item and checks that it is the intact item `seq`. */
static void pop_expect(scb_t *r, void *buf, uint32_t size, uint64_t seq)
{
    uint64_t got = 0;
    int rc = scb_pop(r, buf);

    ck_assert_msg(rc == SCB_OK, "scb_pop (expecting seq %llu) = %d (%s)",
                  (unsigned long long)seq, rc, scb_strerror(rc));
    ck_assert_msg(tu_check(buf, size, &got), "item %llu of %u bytes is torn",
                  (unsigned long long)seq, (unsigned)size);
    ck_assert_msg(got == (seq & seq_mask(size)),
                  "popped seq %llu, expected %llu (item_size %u)",
                  (unsigned long long)got,
                  (unsigned long long)(seq & seq_mask(size)), (unsigned)size);
}

static void pop_empty(scb_t *r, void *buf)
{
    int rc = scb_pop(r, buf);

    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop on a drained ring = %d (%s)", rc,
                  scb_strerror(rc));
}

static scb_info_t info_of(const scb_t *h)
{
    scb_info_t info;

    ck_assert_int_eq(scb_info(h, &info), SCB_OK);
    return info;
}

/* Writes `len` characters of [A-Za-z0-9._-] into buf: a unique prefix from
 * tu_name, then every kind of allowed character.  Recorded for clean-up. */
static void long_name(char *buf, size_t len)
{
    static const char chars[] = "_.aZ9-bY8cX7dW6eV5fU4gT3hS2iR1jQ0kPlOmNnMoLpKqJrIsHtGuFvEwDxCyBzA";
    size_t n, k = 0;

    tu_name(buf, len + 1 < 32 ? len + 1 : 32);
    for (n = strlen(buf); n < len; n++)
        buf[n] = chars[k++ % (sizeof chars - 1)];
    buf[len] = '\0';
    if (len <= SCB_NAME_MAX)
        reg_add(buf);
}

/* For forked children: report and exit instead of ck_assert. */
#define CHILD_REQUIRE(cond)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: in child %ld: check failed: %s\n",        \
                    __FILE__, __LINE__, (long)getpid(), #cond);               \
            _exit(100);                                                       \
        }                                                                     \
    } while (0)

#define CHILD_EQ(a, b)                                                        \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_) {                                                       \
            fprintf(stderr, "%s:%d: in child %ld: %s == %lld, expected %s == %lld\n", \
                    __FILE__, __LINE__, (long)getpid(), #a, a_, #b, b_);      \
            _exit(100);                                                       \
        }                                                                     \
    } while (0)

static void expect_child_ok(pid_t pid, const char *what)
{
    int st = 0;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s: child %s %d (its stderr says why)", what,
                  WIFEXITED(st) ? "exited with" : "died of signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* ------------------------------------------------------------------------ */
/* tcase "args": every error path of every public function.                */

START_TEST(test_null_pointers)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *sentinel = (scb_t *)(void *)&cfg;
    scb_t *h, *w, *r;
    scb_info_t info;
    uint8_t item[8] = {0}, items[64] = {0};
    size_t count;

    ck_assert_int_eq(scb_create(NULL, g_name, &cfg), SCB_EINVAL);
    h = sentinel;
    ck_assert_int_eq(scb_create(&h, NULL, &cfg), SCB_EINVAL);
    ck_assert_ptr_null(h);
    h = sentinel;
    ck_assert_int_eq(scb_create(&h, NULL, NULL), SCB_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(scb_open(NULL, g_name, &cfg), SCB_EINVAL);
    h = sentinel;
    ck_assert_int_eq(scb_open(&h, NULL, &cfg), SCB_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(scb_unlink(NULL, &cfg), SCB_EINVAL);
    ck_assert_int_eq(scb_unlink(NULL, NULL), SCB_EINVAL);
    assert_absent(g_name);

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    /* The NULL is reported before the ring's existence is considered. */
    ck_assert_int_eq(scb_create(NULL, g_name, &cfg), SCB_EINVAL);
    ck_assert_int_eq(scb_open(NULL, g_name, &cfg), SCB_EINVAL);

    ck_assert_int_eq(scb_push(NULL, item), SCB_EINVAL);
    ck_assert_int_eq(scb_push(w, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(NULL, item, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, NULL, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, NULL, 50), SCB_EINVAL);
    ck_assert_int_eq(scb_push_wait(w, NULL, -1), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_push_many(NULL, items, 1, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    count = 77;
    ck_assert_int_eq(scb_push_many(w, NULL, 1, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_push_many(w, items, 1, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_push_many(NULL, NULL, 0, NULL), SCB_EINVAL);
    /* None of those pushed anything. */
    ck_assert_uint_eq(info_of(w).pushed, 0);
    ck_assert_uint_eq(scb_usage(r), 0);

    push_seq(w, item, 8, 0);
    ck_assert_int_eq(scb_pop(NULL, item), SCB_EINVAL);
    ck_assert_int_eq(scb_pop(r, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(NULL, item, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(NULL, item, -1), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, NULL, 0), SCB_EINVAL);
    ck_assert_int_eq(scb_pop_wait(r, NULL, -1), SCB_EINVAL);
    count = 77;
    ck_assert_int_eq(scb_pop_many(NULL, items, 1, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    count = 77;
    ck_assert_int_eq(scb_pop_many(r, NULL, 1, &count), SCB_EINVAL);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(scb_pop_many(r, items, 1, NULL), SCB_EINVAL);
    /* None of those consumed the item. */
    ck_assert_uint_eq(scb_usage(r), 1);
    pop_expect(r, item, 8, 0);

    ck_assert_int_eq(scb_info(NULL, &info), SCB_EINVAL);
    ck_assert_int_eq(scb_info(w, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_info(NULL, NULL), SCB_EINVAL);
    ck_assert_uint_eq(scb_usage(NULL), 0);
    ck_assert_uint_eq(scb_lost(NULL), 0);
    ck_assert_int_eq(scb_close(NULL), SCB_OK);
    scb_config_init(NULL);

    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(w), SCB_OK);
}
END_TEST

static const char *const bad_names[] = {
    "", "a/b", "a b", "\xc3\xa4", "../x", "/abc", "abc/", "a\tb", "a:b",
    "a*b", "a\\b", "x\xff", " ", "a\nb", "a~b", "%s", "a+b", "ab\x7f",
};
#define N_BAD_NAMES ((int)(sizeof bad_names / sizeof bad_names[0]))

START_TEST(test_bad_names)
{
    const char *bad = bad_names[_i];
    scb_config_t cfg = tu_cfg(1, 2), wcfg = cfg_of(1, 2, SCB_WRITER);
    scb_t *sentinel = (scb_t *)(void *)&cfg, *h;
    int rc;

    h = sentinel;
    rc = scb_create(&h, bad, &cfg);
    if (rc == SCB_OK) { /* a bug; leave nothing behind before reporting it */
        scb_close(h);
        scb_unlink(bad, &cfg);
    }
    ck_assert_int_eq(rc, SCB_EINVAL);
    ck_assert_ptr_null(h);
    h = sentinel;
    rc = scb_create(&h, bad, NULL);
    if (rc == SCB_OK) {
        scb_close(h);
        scb_unlink(bad, NULL);
    }
    ck_assert_int_eq(rc, SCB_EINVAL);
    ck_assert_ptr_null(h);
    h = sentinel;
    ck_assert_int_eq(scb_open(&h, bad, &cfg), SCB_EINVAL);
    ck_assert_ptr_null(h);
    h = sentinel;
    ck_assert_int_eq(scb_open(&h, bad, &wcfg), SCB_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(scb_open(&h, bad, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_unlink(bad, &cfg), SCB_EINVAL);
    ck_assert_int_eq(scb_unlink(bad, NULL), SCB_EINVAL);
}
END_TEST

/* Name lengths: 30 (works everywhere), the backend's longest, one more,
 * SCB_NAME_MAX + 1 and beyond. */
static size_t name_len_case(int i, const scb_backend_t *be)
{
    switch (i) {
    case 0: return 30;
    case 1: return be->name_max;
    case 2: return be->name_max + 1;
    case 3: return SCB_NAME_MAX + 1;
    case 4: return 300;
    default: return 4000;
    }
}
#define N_NAME_LEN_CASES 6

START_TEST(test_name_lengths)
{
    size_t len = name_len_case(_i, g_be);
    char *name = malloc(len + 1);
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *w, *r, *h;
    uint8_t item[8];

    ck_assert_ptr_nonnull(name);
    ck_assert_uint_ge(g_be->name_max, 30);
    ck_assert_uint_le(g_be->name_max, SCB_NAME_MAX);
#ifdef __linux__
    /* NAME_MAX 255 less "scb." for posix; System V keys take any length. */
    if (strcmp(tu_backend, "posix") == 0)
        ck_assert_uint_eq(g_be->name_max, 251);
    if (strcmp(tu_backend, "sysv") == 0)
        ck_assert_uint_eq(g_be->name_max, 255);
#endif
    long_name(name, len);
    ck_assert_uint_eq(strlen(name), len);

    if (len <= g_be->name_max) {
        w = mk_writer(name, 8, 4, 0);
        push_seq(w, item, 8, 41);
        r = mk_open(name, 0);
        pop_expect(r, item, 8, 41);
        ck_assert_str_eq(info_of(r).name, name);
        ck_assert_str_eq(info_of(w).name, name);
        ck_assert_int_eq(open_rc(name, SCB_WRITER, &h), SCB_EBUSY);
        ck_assert_int_eq(scb_close(r), SCB_OK);
        ck_assert_int_eq(scb_close(w), SCB_OK);
        ck_assert_int_eq(scb_unlink(name, &cfg), SCB_OK);
        assert_absent(name);
    } else {
        /* scb.h: longer than the backend allows is SCB_ENAMETOOLONG, and
         * so is anything over SCB_NAME_MAX. */
        h = (scb_t *)(void *)&cfg;
        ck_assert_int_eq(scb_create(&h, name, &cfg), SCB_ENAMETOOLONG);
        ck_assert_ptr_null(h);
        ck_assert_int_eq(scb_open(&h, name, &cfg), SCB_ENAMETOOLONG);
        ck_assert_int_eq(open_rc(name, SCB_WRITER, &h), SCB_ENAMETOOLONG);
        ck_assert_int_eq(scb_unlink(name, &cfg), SCB_ENAMETOOLONG);
    }
    free(name);
}
END_TEST

/* A one-character name works (semantics 8: 1 to 30 characters). */
START_TEST(test_name_one_char)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    scb_config_t cfg = tu_cfg(8, 4);
    char name[2] = {0, 0};
    scb_t *w = NULL, *r;
    uint8_t item[8];
    size_t i;
    int rc = SCB_EEXIST;

    for (i = 0; i < sizeof chars - 1 && rc == SCB_EEXIST; i++) {
        name[0] = chars[i];
        reg_add(name);
        rc = scb_create(&w, name, &cfg);
    }
    ck_assert_msg(rc == SCB_OK, "scb_create(\"%s\") = %d (%s)", name, rc,
                  scb_strerror(rc));
    push_seq(w, item, 8, 7);
    r = mk_open(name, 0);
    pop_expect(r, item, 8, 7);
    ck_assert_str_eq(info_of(r).name, name);
    scb_close(r);
    scb_close(w);
    ck_assert_int_eq(scb_unlink(name, &cfg), SCB_OK);
}
END_TEST

static const uint32_t bad_flags[] = {
    0x4, 0x8, 0x10, 0x80, 0x400, 0x800, 0x10000, 0x80000000u, 0xffffffffu,
    SCB_UNLINK_ON_CLOSE | 0x4, SCB_WRITER | 0x1000,
};
#define N_BAD_FLAGS ((int)(sizeof bad_flags / sizeof bad_flags[0]))

START_TEST(test_unknown_flags)
{
    scb_config_t cfg = cfg_of(8, 4, 0);
    scb_t *h, *w;
    int i, rc;

    for (i = 0; i < N_BAD_FLAGS; i++) {
        cfg.flags = bad_flags[i];
        h = (scb_t *)(void *)&cfg;
        rc = scb_create(&h, g_name, &cfg);
        ck_assert_msg(rc == SCB_EINVAL, "scb_create flags %#x = %d (%s)",
                      (unsigned)bad_flags[i], rc, scb_strerror(rc));
        ck_assert_ptr_null(h);
        assert_absent(g_name);
    }
    w = mk_writer(g_name, 8, 4, 0);
    ck_assert_int_eq(scb_close(w), SCB_OK); /* writer role free */
    for (i = 0; i < N_BAD_FLAGS; i++) {
        h = (scb_t *)(void *)&cfg;
        rc = open_rc(g_name, bad_flags[i], &h);
        ck_assert_msg(rc == SCB_EINVAL, "scb_open flags %#x = %d (%s)",
                      (unsigned)bad_flags[i], rc, scb_strerror(rc));
        ck_assert_ptr_null(h);
        rc = open_rc(g_name, bad_flags[i] | SCB_WRITER, &h);
        ck_assert_msg(rc == SCB_EINVAL, "scb_open flags %#x = %d (%s)",
                      (unsigned)(bad_flags[i] | SCB_WRITER), rc,
                      scb_strerror(rc));
    }
    /* The writer role is still free: none of those took it. */
    w = mk_open(g_name, SCB_WRITER);
    scb_close(w);
}
END_TEST

/* A flag meant for the other call is ignored. */
START_TEST(test_other_call_flags_ignored)
{
    scb_t *w, *r, *r2;
    uint8_t item[8];
    scb_info_t info;

    w = mk_writer(g_name, 8, 4, SCB_WRITER | SCB_LATEST);
    info = info_of(w);
    ck_assert_uint_eq(info.flags, 0);
    ck_assert_int_eq(info.is_writer, 1);
    push_seq(w, item, 8, 0);
    push_seq(w, item, 8, 1);

    /* SCB_LOSSLESS and SCB_UNLINK_ON_CLOSE given to open: a plain reader
     * that starts at the oldest item, and whose close removes nothing. */
    r = mk_open(g_name, SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE);
    ck_assert_int_eq(info_of(r).is_writer, 0);
    ck_assert_uint_eq(info_of(r).flags, 0);
    pop_expect(r, item, 8, 0);
    r2 = mk_open(g_name, SCB_UNLINK_ON_CLOSE);
    ck_assert_int_eq(scb_close(r2), SCB_OK);
    assert_present(g_name);

    /* A writer taking over with SCB_UNLINK_ON_CLOSE: the ring has no such
     * flag, so its close removes nothing either. */
    ck_assert_int_eq(scb_close(w), SCB_OK);
    w = mk_open(g_name, SCB_WRITER | SCB_UNLINK_ON_CLOSE | SCB_LOSSLESS);
    info = info_of(w);
    ck_assert_int_eq(info.is_writer, 1);
    ck_assert_uint_eq(info.flags, 0);
    push_seq(w, item, 8, 2);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    assert_present(g_name);
    pop_expect(r, item, 8, 1);
    pop_expect(r, item, 8, 2);
    scb_close(r);
}
END_TEST

START_TEST(test_bad_mode)
{
    static const uint32_t modes[] = {01000, 02600, 04600, 07777, 010000,
                                     0x10000, 0xffffffffu};
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *h;
    size_t i;

    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        cfg.mode = modes[i];
        h = (scb_t *)(void *)&cfg;
        ck_assert_msg(scb_create(&h, g_name, &cfg) == SCB_EINVAL,
                      "scb_create with mode %#o is not SCB_EINVAL",
                      (unsigned)modes[i]);
        ck_assert_ptr_null(h);
        assert_absent(g_name);
    }
}
END_TEST

START_TEST(test_unknown_backend)
{
    static const char *const names[] = {"nope", "", "POSIX", "sysv ", "apr-nope"};
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *h, *w;
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        cfg.backend = names[i];
        h = (scb_t *)(void *)&cfg;
        ck_assert_int_eq(scb_create(&h, g_name, &cfg), SCB_ENOTSUP);
        ck_assert_ptr_null(h);
        assert_absent(g_name);
    }
    w = mk_writer(g_name, 8, 4, 0);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        cfg.backend = names[i];
        cfg.flags = 0;
        h = (scb_t *)(void *)&cfg;
        ck_assert_int_eq(scb_open(&h, g_name, &cfg), SCB_ENOTSUP);
        ck_assert_ptr_null(h);
        cfg.flags = SCB_WRITER;
        ck_assert_int_eq(scb_open(&h, g_name, &cfg), SCB_ENOTSUP);
        ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_ENOTSUP);
    }
    assert_present(g_name);
    scb_close(w);
}
END_TEST

START_TEST(test_lossless_create)
{
    scb_config_t cfg = cfg_of(8, 4, SCB_LOSSLESS);
    scb_t *h = NULL;
    scb_info_t info;

    cfg.max_readers = 3;
    ck_assert_int_eq(scb_create(&h, g_name, &cfg), SCB_OK);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(scb_info(h, &info), SCB_OK);
    ck_assert_uint_eq(info.flags & SCB_LOSSLESS, SCB_LOSSLESS);
    ck_assert_uint_eq(info.max_readers, 3);
    ck_assert_uint_eq(info.readers, 0);
    scb_close(h);
    /* Reader slots beyond the bound are refused. */
    cfg.max_readers = 100000;
    ck_assert_int_eq(scb_create(&h, "x", &cfg), SCB_EINVAL);
    ck_assert_ptr_null(h);
}
END_TEST

/* Sizes whose product or total overflows 64 bits. */
START_TEST(test_overflowing_sizes)
{
    static const struct { uint32_t size; uint64_t length; } cases[] = {
        {1, UINT64_MAX},
        {8, UINT64_C(1) << 62},
        {UINT32_C(1) << 30, UINT64_C(1) << 40},
        {UINT32_MAX, UINT64_C(1) << 33},
        {UINT32_MAX, UINT64_MAX},
        {2, UINT64_MAX / 2 + 1},
    };
    scb_config_t cfg;
    scb_t *h;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg = tu_cfg(cases[i].size, cases[i].length);
        h = (scb_t *)(void *)&cfg;
        ck_assert_msg(scb_create(&h, g_name, &cfg) == SCB_EINVAL,
                      "scb_create(item_size %u, length %llu) is not SCB_EINVAL",
                      (unsigned)cases[i].size,
                      (unsigned long long)cases[i].length);
        ck_assert_ptr_null(h);
        assert_absent(g_name);
    }
}
END_TEST

START_TEST(test_create_twice)
{
    scb_config_t cfg = tu_cfg(8, 4), other = tu_cfg(100, 50);
    scb_t *w, *h, *r;
    uint8_t item[8];
    scb_info_t info;

    w = mk_writer(g_name, 8, 4, 0);
    push_seq(w, item, 8, 0);
    h = (scb_t *)(void *)&cfg;
    ck_assert_int_eq(scb_create(&h, g_name, &cfg), SCB_EEXIST);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(scb_create(&h, g_name, &other), SCB_EEXIST);
    other.flags = SCB_UNLINK_ON_CLOSE;
    ck_assert_int_eq(scb_create(&h, g_name, &other), SCB_EEXIST);
    /* The first ring is untouched and its writer carries on. */
    push_seq(w, item, 8, 1);
    r = mk_open(g_name, 0);
    info = info_of(r);
    ck_assert_uint_eq(info.item_size, 8);
    ck_assert_uint_eq(info.length, 4);
    ck_assert_uint_eq(info.flags, 0);
    ck_assert_uint_eq(info.pushed, 2);
    pop_expect(r, item, 8, 0);
    pop_expect(r, item, 8, 1);
    ck_assert_int_eq(info_of(w).is_writer, 1);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_missing)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *h = (scb_t *)(void *)&cfg, *w;

    ck_assert_int_eq(scb_open(&h, g_name, &cfg), SCB_ENOENT);
    ck_assert_ptr_null(h);
    h = (scb_t *)(void *)&cfg;
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER, &h), SCB_ENOENT);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(open_rc(g_name, SCB_LATEST, &h), SCB_ENOENT);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_ENOENT);

    w = mk_writer(g_name, 8, 4, 0);
    scb_close(w);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_ENOENT);
    assert_absent(g_name);
}
END_TEST

START_TEST(test_wrong_role)
{
    scb_t *w, *r;
    uint8_t item[8], items[8 * 4];
    size_t count;
    double t0;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    push_seq(w, item, 8, 0);
    push_seq(w, item, 8, 1);
    tu_fill(items, 8, 90);
    tu_fill(items + 8, 8, 91);

    ck_assert_int_eq(scb_push(r, item), SCB_ENOTWRITER);
    ck_assert_int_eq(scb_push_wait(r, item, 0), SCB_ENOTWRITER);
    ck_assert_int_eq(scb_push_wait(r, item, 50), SCB_ENOTWRITER);
    ck_assert_int_eq(scb_push_wait(r, item, -1), SCB_ENOTWRITER);
    count = 9;
    ck_assert_int_eq(scb_push_many(r, items, 2, &count), SCB_ENOTWRITER);
    ck_assert_uint_eq(count, 0);
    /* Nothing changed in the ring. */
    ck_assert_uint_eq(info_of(w).pushed, 2);
    ck_assert_uint_eq(info_of(r).pushed, 2);
    ck_assert_uint_eq(scb_usage(r), 2);
    ck_assert_uint_eq(scb_usage(w), 2);
    ck_assert_uint_eq(scb_lost(r), 0);

    ck_assert_int_eq(scb_pop(w, item), SCB_ENOTREADER);
    ck_assert_int_eq(scb_pop_wait(w, item, 0), SCB_ENOTREADER);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(w, item, 200), SCB_ENOTREADER);
    ck_assert_msg(now_ms() - t0 < 150, "a refused pop_wait waited");
    ck_assert_int_eq(scb_pop_wait(w, item, -1), SCB_ENOTREADER);
    count = 9;
    ck_assert_int_eq(scb_pop_many(w, items, 2, &count), SCB_ENOTREADER);
    ck_assert_uint_eq(count, 0);

    ck_assert_uint_eq(scb_usage(w), 2);
    ck_assert_uint_eq(info_of(w).pushed, 2);
    pop_expect(r, item, 8, 0);
    pop_expect(r, item, 8, 1);
    pop_empty(r, item);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_many_edges)
{
    scb_t *w, *r;
    uint8_t item[8], items[8 * 8];
    size_t count;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);

    count = 9;
    ck_assert_int_eq(scb_push_many(w, items, 0, &count), SCB_OK);
    ck_assert_uint_eq(count, 0);
    count = 9;
    ck_assert_int_eq(scb_push_many(w, NULL, 0, &count), SCB_OK);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(info_of(w).pushed, 0);

    count = 9;
    ck_assert_int_eq(scb_pop_many(r, items, 8, &count), SCB_EAGAIN);
    ck_assert_uint_eq(count, 0);

    push_seq(w, item, 8, 0);
    push_seq(w, item, 8, 1);
    count = 9;
    ck_assert_int_eq(scb_pop_many(r, items, 0, &count), SCB_EAGAIN);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(scb_usage(r), 2);
    /* max larger than what waits: all of it, no more. */
    count = 9;
    ck_assert_int_eq(scb_pop_many(r, items, 8, &count), SCB_OK);
    ck_assert_uint_eq(count, 2);
    {
        uint64_t s0 = 99, s1 = 99;
        ck_assert(tu_check(items, 8, &s0) && tu_check(items + 8, 8, &s1));
        ck_assert_uint_eq(s0, 0);
        ck_assert_uint_eq(s1, 1);
    }
    count = 9;
    ck_assert_int_eq(scb_pop_many(r, items, 8, &count), SCB_EAGAIN);
    ck_assert_uint_eq(count, 0);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_usage_lost_writer)
{
    scb_t *w, *r;
    uint8_t item[8];
    uint64_t i;

    w = mk_writer(g_name, 8, 2, 0);
    r = mk_open(g_name, 0);
    for (i = 0; i < 10; i++)
        push_seq(w, item, 8, i);
    ck_assert_uint_eq(scb_lost(w), 0);
    ck_assert_uint_eq(info_of(w).lost, 0);
    ck_assert_uint_eq(scb_usage(w), 2);
    ck_assert_uint_eq(scb_usage(r), 2);
    ck_assert_uint_eq(scb_lost(r), 8);
    pop_expect(r, item, 8, 8);
    pop_expect(r, item, 8, 9);
    ck_assert_uint_eq(scb_lost(r), 8);
    ck_assert_uint_eq(scb_usage(w), 2); /* the writer's view: items in the ring */
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_strerror)
{
#define CODE_(name, value, msg) SCB_##name,
    static const int codes[] = {SCB_OK, SCB_ERRNO_MAP(CODE_)};
#undef CODE_
    static const int unknown[] = {1, 2, 100, SCB_ERR_LAST_, -100, INT_MIN, INT_MAX};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *msgs[32];
    size_t i, j;

    ck_assert_uint_eq(n, 16);
    for (i = 0; i < n; i++) {
        msgs[i] = scb_strerror(codes[i]);
        ck_assert_ptr_nonnull(msgs[i]);
        ck_assert_msg(msgs[i][0] != '\0', "empty message for %d", codes[i]);
        if (i > 0)
            ck_assert_int_eq(codes[i], -(int)i); /* -1 .. -15: ABI */
        for (j = 0; j < i; j++)
            ck_assert_msg(strcmp(msgs[i], msgs[j]) != 0,
                          "codes %d and %d share the message \"%s\"", codes[i],
                          codes[j], msgs[i]);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = scb_strerror(unknown[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert(m[0] != '\0');
        for (j = 0; j < n; j++)
            ck_assert_msg(strcmp(m, msgs[j]) != 0,
                          "unknown code %d reads as code %d", unknown[i],
                          codes[j]);
    }
}
END_TEST

START_TEST(test_version)
{
    const char *v = scb_version();
    unsigned a, b, c;
    char tail;

    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, PACKAGE_VERSION);
    ck_assert_int_eq(sscanf(v, "%u.%u.%u%c", &a, &b, &c, &tail), 3);
}
END_TEST

START_TEST(test_backends)
{
    const char *const *b = scb_backends();
    size_t i, j;
    int found = 0;

    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(b[0]);
    for (i = 0; i < 16 && b[i] != NULL; i++) {
        ck_assert(b[i][0] != '\0');
        ck_assert_ptr_nonnull(scb_backend_find(b[i]));
        ck_assert_str_eq(scb_backend_find(b[i])->name, b[i]);
        for (j = 0; j < i; j++)
            ck_assert_str_ne(b[i], b[j]);
        if (strcmp(b[i], tu_backend) == 0)
            found = 1;
    }
    ck_assert_msg(b[i] == NULL, "scb_backends() is not NULL-terminated");
    ck_assert_msg(found, "scb_backends() lacks %s", tu_backend);
    ck_assert_ptr_eq(scb_backend_find(NULL), scb_backend_find(b[0]));
    ck_assert_ptr_eq(scb_backends(), b); /* a static list */
}
END_TEST

START_TEST(test_config_init)
{
    scb_config_t cfg;

    memset(&cfg, 0xa5, sizeof cfg);
    scb_config_init(&cfg);
    ck_assert_uint_eq(cfg.item_size, 1);
    ck_assert_uint_eq(cfg.length, 2);
    ck_assert_uint_eq(cfg.flags, 0);
    ck_assert_uint_eq(cfg.max_readers, 64);
    ck_assert_uint_eq(cfg.mode, 0600);
    ck_assert_ptr_null(cfg.backend);
}
END_TEST

/* Fields left 0 mean the defaults. */
START_TEST(test_config_zero_fields)
{
    scb_config_t cfg;
    scb_t *w, *r;
    scb_info_t info;
    scb_seg_t seg;
    uint32_t mode = 0;
    uint8_t item[1];

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = tu_backend;
    ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_OK);
    info = info_of(w);
    ck_assert_uint_eq(info.item_size, 1);
    ck_assert_uint_eq(info.length, 2);
    ck_assert_uint_eq(info.flags, 0);
    ck_assert_uint_eq(info.mode, 0600);
    ck_assert_str_eq(info.backend, tu_backend);
    ck_assert_int_eq(scb_be_open(g_be, &seg, g_name, 0), SCB_OK);
    ck_assert_int_eq(scb_be_get_mode(g_be, &seg, &mode), SCB_OK);
    scb_be_close(g_be, &seg);
    ck_assert_uint_eq(mode, 0600);
    r = mk_open(g_name, 0);
    push_seq(w, item, 1, 10);
    push_seq(w, item, 1, 11);
    push_seq(w, item, 1, 12);
    ck_assert_uint_eq(scb_lost(r), 1);
    pop_expect(r, item, 1, 11);
    pop_expect(r, item, 1, 12);
    pop_empty(r, item);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* Added only when the suite's backend is the default one. */
START_TEST(test_default_backend_null_cfg)
{
    char name2[64];
    scb_t *w, *r, *w2;
    uint8_t item[8];
    scb_info_t info;

    w = mk_writer(g_name, 8, 4, 0);
    push_seq(w, item, 8, 5);
    ck_assert_int_eq(scb_open(&r, g_name, NULL), SCB_OK);
    info = info_of(r);
    ck_assert_int_eq(info.is_writer, 0);
    ck_assert_str_eq(info.backend, tu_backend);
    pop_expect(r, item, 8, 5);
    ck_assert_int_eq(scb_push(r, item), SCB_ENOTWRITER);
    scb_close(r);
    scb_close(w);

    new_name(name2, sizeof name2);
    ck_assert_int_eq(scb_create(&w2, name2, NULL), SCB_OK);
    info = info_of(w2);
    ck_assert_uint_eq(info.item_size, 1);
    ck_assert_uint_eq(info.length, 2);
    ck_assert_uint_eq(info.mode, 0600);
    ck_assert_str_eq(info.backend, tu_backend);
    scb_close(w2);
    ck_assert_int_eq(scb_unlink(name2, NULL), SCB_OK);
    ck_assert_int_eq(scb_unlink(name2, NULL), SCB_ENOENT);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "capacity": exactly `length` items, loss counting.                 */

static const uint64_t cap_lengths[] = {1, 2, 3, 5, 64, 1000, 4097};
static const uint32_t cap_sizes[] = {1, 3, 8, 64, 1000, 4096, 65536};
#define CAP_MAX_BYTES (UINT64_C(64) << 20)

/* The _i-th (length, item_size) pair of the table whose items fit in
 * CAP_MAX_BYTES; returns the number of such pairs. */
static int cap_combo(int want, uint64_t *length, uint32_t *size)
{
    size_t a, b;
    int n = 0;

    for (a = 0; a < sizeof cap_lengths / sizeof cap_lengths[0]; a++)
        for (b = 0; b < sizeof cap_sizes / sizeof cap_sizes[0]; b++) {
            if (cap_lengths[a] * cap_sizes[b] > CAP_MAX_BYTES)
                continue;
            if (n == want) {
                *length = cap_lengths[a];
                *size = cap_sizes[b];
            }
            n++;
        }
    return n;
}

START_TEST(test_capacity)
{
    uint64_t L = 0, i, k, pushed;
    uint32_t S = 0;
    scb_t *w, *r;
    uint8_t *buf;
    scb_info_t info;

    cap_combo(_i, &L, &S);
    buf = malloc(S);
    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_uint_eq(scb_usage(w), 0);

    /* length items fit and all come back, intact and in order. */
    for (i = 0; i < L; i++) {
        push_seq(w, buf, S, i);
        ck_assert_uint_eq(scb_usage(r), i + 1);
        ck_assert_uint_eq(scb_usage(w), i + 1);
    }
    ck_assert_uint_eq(scb_lost(r), 0);
    for (i = 0; i < L; i++) {
        ck_assert_uint_eq(scb_usage(r), L - i);
        pop_expect(r, buf, S, i);
    }
    ck_assert_uint_eq(scb_usage(r), 0);
    ck_assert_uint_eq(scb_usage(w), L);
    ck_assert_uint_eq(scb_lost(r), 0);
    pop_empty(r, buf);

    /* length + k: the last length items, and exactly k lost. */
    k = L < 100 ? 2 * L + 3 : L / 3 + 1;
    for (i = 0; i < L + k; i++)
        push_seq(w, buf, S, L + i);
    pushed = 2 * L + k;
    ck_assert_uint_eq(scb_usage(r), L);
    ck_assert_uint_eq(scb_usage(w), L);
    ck_assert_uint_eq(scb_lost(r), k); /* includes the pending loss */
    info = info_of(r);
    ck_assert_uint_eq(info.lost, k);
    ck_assert_uint_eq(info.pushed, pushed);
    for (i = 0; i < L; i++)
        pop_expect(r, buf, S, L + k + i);
    pop_empty(r, buf);
    ck_assert_uint_eq(scb_lost(r), k);
    ck_assert_uint_eq(L + L + scb_lost(r), pushed); /* returned + lost */
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

static const struct { uint64_t length; uint32_t size; } many_cases[] = {
    {1, 1}, {2, 3}, {3, 8}, {5, 64}, {64, 3}, {1000, 8}, {4097, 1},
    {7, 4096}, {3, 65536}, {13, 1000},
};
#define N_MANY_CASES ((int)(sizeof many_cases / sizeof many_cases[0]))

/* push_many / pop_many in odd batch sizes, including batches longer than
 * the ring, with exact loss accounting after every round. */
START_TEST(test_capacity_many)
{
    const uint64_t L = many_cases[_i].length;
    const uint32_t S = many_cases[_i].size;
    const uint64_t pb[] = {1, 3, L > 1 ? L - 1 : 1, L, L + 1, 2 * L + 3, 7, 0, 2};
    const uint64_t qb[] = {1, 2, 5, L, L + 3, 64};
    uint64_t pushed = 0, next_read = 0, pending = 0, lost = 0, returned = 0;
    uint64_t round, j;
    size_t count, maxb = 2 * L + 3 + 64, q;
    uint8_t *buf = malloc(maxb * S);
    scb_t *w, *r;
    int rc;

    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    for (round = 0; round < 36; round++) {
        uint64_t m = pb[round % (sizeof pb / sizeof pb[0])];
        uint64_t drop;

        for (j = 0; j < m; j++)
            tu_fill(buf + j * S, S, pushed + j);
        count = 12345;
        rc = scb_push_many(w, buf, m, &count);
        ck_assert_int_eq(rc, SCB_OK);
        ck_assert_uint_eq(count, m);
        pushed += m;
        drop = pending + m > L ? pending + m - L : 0;
        pending = pending + m - drop;
        next_read += drop;
        lost += drop;
        ck_assert_uint_eq(scb_usage(r), pending);
        ck_assert_uint_eq(scb_usage(w), pushed < L ? pushed : L);
        ck_assert_uint_eq(scb_lost(r), lost);
        ck_assert_uint_eq(info_of(w).pushed, pushed);

        /* Read all of it every third round, some of it otherwise. */
        {
            uint64_t want = round % 3 == 2 ? pending : pending / 2;
            uint64_t got = 0;

            while (got < want || (round % 3 == 2 && pending > 0)) {
                q = qb[(round + got) % (sizeof qb / sizeof qb[0])];
                count = 12345;
                rc = scb_pop_many(r, buf, q, &count);
                ck_assert_int_eq(rc, SCB_OK);
                ck_assert_uint_eq(count, q < pending ? q : pending);
                for (j = 0; j < count; j++) {
                    uint64_t s = 0;
                    ck_assert_msg(tu_check(buf + j * S, S, &s),
                                  "round %llu: item %llu torn",
                                  (unsigned long long)round,
                                  (unsigned long long)j);
                    ck_assert_msg(s == ((next_read + j) & seq_mask(S)),
                                  "round %llu: got seq %llu, expected %llu",
                                  (unsigned long long)round,
                                  (unsigned long long)s,
                                  (unsigned long long)((next_read + j) &
                                                       seq_mask(S)));
                }
                next_read += count;
                pending -= count;
                got += count;
                returned += count;
            }
        }
        ck_assert_uint_eq(scb_lost(r), lost);
        ck_assert_uint_eq(returned + lost + pending, pushed);
    }
    while (pending > 0) {
        rc = scb_pop_many(r, buf, 3, &count);
        ck_assert_int_eq(rc, SCB_OK);
        pending -= count;
        returned += count;
    }
    count = 9;
    ck_assert_int_eq(scb_pop_many(r, buf, 3, &count), SCB_EAGAIN);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(returned + scb_lost(r), pushed);
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* One push_many of far more than length items: the last length survive. */
START_TEST(test_push_many_huge_batch)
{
    const uint64_t L = 5, N = 1003;
    const uint32_t S = 24;
    uint8_t *buf = malloc(N * S), item[24];
    size_t count;
    uint64_t j;
    scb_t *w, *r;

    ck_assert_ptr_nonnull(buf);
    w = mk_writer(g_name, S, L, 0);
    r = mk_open(g_name, 0);
    push_seq(w, item, S, 0);
    for (j = 0; j < N; j++)
        tu_fill(buf + j * S, S, 1 + j);
    ck_assert_int_eq(scb_push_many(w, buf, N, &count), SCB_OK);
    ck_assert_uint_eq(count, N);
    ck_assert_uint_eq(info_of(w).pushed, N + 1);
    ck_assert_uint_eq(scb_lost(r), N + 1 - L);
    ck_assert_uint_eq(scb_usage(r), L);
    for (j = 0; j < L; j++)
        pop_expect(r, item, S, N + 1 - L + j);
    pop_empty(r, item);
    ck_assert_uint_eq(L + scb_lost(r), N + 1);
    free(buf);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "latest".                                                          */

START_TEST(test_latest)
{
    scb_t *w, *rd, *rl, *rd2, *rl2, *re;
    uint8_t item[16];
    uint64_t i;

    w = mk_writer(g_name, 16, 8, 0);
    re = mk_open(g_name, SCB_LATEST); /* on an empty ring */
    for (i = 0; i < 5; i++)
        push_seq(w, item, 16, i);
    rd = mk_open(g_name, 0);
    rl = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(scb_usage(rd), 5);
    ck_assert_uint_eq(scb_usage(rl), 0);
    pop_empty(rl, item);
    ck_assert_uint_eq(scb_lost(rl), 0);
    pop_expect(re, item, 16, 0);

    for (i = 5; i < 8; i++)
        push_seq(w, item, 16, i);
    for (i = 5; i < 8; i++)
        pop_expect(rl, item, 16, i);
    pop_empty(rl, item);
    for (i = 0; i < 8; i++)
        pop_expect(rd, item, 16, i);
    pop_empty(rd, item);
    ck_assert_uint_eq(scb_lost(rd), 0);

    for (i = 8; i < 28; i++)
        push_seq(w, item, 16, i);
    /* A default reader sees the oldest kept: min(pushed, length) items. */
    rd2 = mk_open(g_name, 0);
    ck_assert_uint_eq(scb_usage(rd2), 8);
    ck_assert_uint_eq(scb_lost(rd2), 0);
    rl2 = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(scb_usage(rl2), 0);
    pop_empty(rl2, item);
    push_seq(w, item, 16, 28);
    pop_expect(rl2, item, 16, 28);
    pop_empty(rl2, item);
    ck_assert_uint_eq(scb_lost(rl2), 0);
    for (i = 21; i < 29; i++)
        pop_expect(rd2, item, 16, i);
    ck_assert_uint_eq(scb_lost(rd2), 1);
    ck_assert_uint_eq(scb_lost(rl), 29 - 8 - 8);
    for (i = 21; i < 29; i++)
        pop_expect(rl, item, 16, i);
    scb_close(re);
    scb_close(rd);
    scb_close(rl);
    scb_close(rd2);
    scb_close(rl2);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "wait".                                                            */

START_TEST(test_pop_wait_zero)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    ck_assert_msg(now_ms() - t0 < 90, "pop_wait(0) waited %.1f ms", now_ms() - t0);
    tu_fill(item, 8, 3);
    ck_assert_int_eq(scb_push(w, item), SCB_OK);
    memset(item, 0, sizeof item);
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_OK);
    {
        uint64_t s = 0;
        ck_assert(tu_check(item, 8, &s));
        ck_assert_uint_eq(s, 3);
    }
    ck_assert_int_eq(scb_pop_wait(r, item, 0), SCB_EAGAIN);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_pop_wait_timeout)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 100), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 95 && dt < 1000, "pop_wait(100) took %.1f ms", dt);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 1), SCB_ETIMEDOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 0.9 && dt < 500, "pop_wait(1) took %.1f ms", dt);

    /* With an item present it returns at once. */
    push_seq(w, item, 8, 77);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, 100), SCB_OK);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 90, "pop_wait with an item waiting took %.1f ms", dt);
    {
        uint64_t s = 0;
        ck_assert(tu_check(item, 8, &s));
        ck_assert_uint_eq(s, 77);
    }
    push_seq(w, item, 8, 78);
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, -1), SCB_OK);
    ck_assert_msg(now_ms() - t0 < 90, "pop_wait(-1) with an item waited");
    scb_close(r);
    scb_close(w);
}
END_TEST

/* A child pushes (through the writer handle it inherited) while the parent
 * waits: _i 0 waits forever, _i 1 with a timeout. */
START_TEST(test_pop_wait_wakes)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;
    pid_t pid;
    uint64_t s = 0;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint8_t it[8];
        tu_sleep_us(60000);
        tu_fill(it, 8, 1234);
        CHILD_EQ(scb_push(w, it), SCB_OK);
        _exit(0);
    }
    t0 = now_ms();
    ck_assert_int_eq(scb_pop_wait(r, item, _i == 0 ? -1 : 3000), SCB_OK);
    dt = now_ms() - t0;
    expect_child_ok(pid, "pusher");
    ck_assert_msg(dt >= 40 && dt < 2000, "pop_wait returned after %.1f ms", dt);
    ck_assert(tu_check(item, 8, &s));
    ck_assert_uint_eq(s, 1234);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* Timeouts so long they mean "forever" in practice must wait, not time out
 * at once: the conversion to a deadline must not overflow.  A child pushes
 * after 100 ms. */
static const int64_t long_timeouts[] = {
    INT64_MAX, INT64_C(1) << 62, INT64_C(18446744073710), INT64_C(10000000000000),
};
#define N_LONG_TIMEOUTS ((int)(sizeof long_timeouts / sizeof long_timeouts[0]))

START_TEST(test_pop_wait_long_timeout)
{
    int64_t timeout = long_timeouts[_i];
    scb_t *w, *r;
    uint8_t item[8];
    double t0, dt;
    pid_t pid;
    uint64_t s = 0;
    int rc;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint8_t it[8];
        tu_sleep_us(100000);
        tu_fill(it, 8, 4321);
        CHILD_EQ(scb_push(w, it), SCB_OK);
        _exit(0);
    }
    t0 = now_ms();
    rc = scb_pop_wait(r, item, timeout);
    dt = now_ms() - t0;
    expect_child_ok(pid, "pusher");
    ck_assert_msg(rc == SCB_OK,
                  "scb_pop_wait(timeout %lld ms) on an empty ring = %d (%s) "
                  "after %.1f ms; expected SCB_OK once the item came at 100 ms",
                  (long long)timeout, rc, scb_strerror(rc), dt);
    ck_assert_msg(dt >= 80, "pop_wait returned after %.1f ms", dt);
    ck_assert(tu_check(item, 8, &s));
    ck_assert_uint_eq(s, 4321);
    scb_close(r);
    scb_close(w);
}
END_TEST

START_TEST(test_push_wait_overwrite)
{
    scb_t *w, *r;
    uint8_t item[8];
    double t0;
    int i;

    w = mk_writer(g_name, 8, 2, 0);
    r = mk_open(g_name, 0);
    t0 = now_ms();
    for (i = 0; i < 5; i++) {
        tu_fill(item, 8, (uint64_t)i);
        ck_assert_int_eq(scb_push_wait(w, item, i % 3 == 0 ? 0 : i % 3 == 1 ? 100 : -1),
                         SCB_OK);
    }
    ck_assert_msg(now_ms() - t0 < 90, "push_wait waited in overwrite mode");
    ck_assert_uint_eq(info_of(w).pushed, 5);
    ck_assert_uint_eq(scb_lost(r), 3);
    pop_expect(r, item, 8, 3);
    pop_expect(r, item, 8, 4);
    pop_empty(r, item);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "info".                                                            */

START_TEST(test_info)
{
    scb_config_t cfg = cfg_of(24, 8, SCB_UNLINK_ON_CLOSE);
    scb_t *w, *r, *r2;
    scb_info_t info;
    uint8_t item[24];
    uint64_t i;

    cfg.mode = 0640;
    if (strcmp(tu_backend, "apr") == 0) {
        /* apr creates 0600 only (README): 0640 is refused. */
        ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_ENOTSUP);
        assert_absent(g_name);
        cfg.mode = 0600;
    }
    ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_OK);
    memset(&info, 0x5a, sizeof info);
    info = info_of(w);
    ck_assert_str_eq(info.name, g_name);
    ck_assert_ptr_nonnull(info.backend);
    ck_assert_str_eq(info.backend, tu_backend);
    ck_assert_uint_eq(info.item_size, 24);
    ck_assert_uint_eq(info.length, 8);
    ck_assert_uint_eq(info.flags, SCB_UNLINK_ON_CLOSE);
    ck_assert_uint_eq(info.pushed, 0);
    ck_assert_uint_eq(info.usage, 0);
    ck_assert_uint_eq(info.lost, 0);
    ck_assert_uint_eq(info.max_readers, 0);
    ck_assert_uint_eq(info.readers, 0);
    ck_assert_int_eq(info.writer_alive, 1);
    ck_assert_int_eq(info.writer_pid, (int64_t)getpid());
    ck_assert_int_eq(info.is_writer, 1);
    ck_assert_uint_eq(info.mode, cfg.mode);

    r = mk_open(g_name, 0);
    info = info_of(r);
    ck_assert_str_eq(info.name, g_name);
    ck_assert_str_eq(info.backend, tu_backend);
    ck_assert_uint_eq(info.item_size, 24);
    ck_assert_uint_eq(info.length, 8);
    ck_assert_uint_eq(info.flags, SCB_UNLINK_ON_CLOSE);
    ck_assert_int_eq(info.writer_alive, 1);
    ck_assert_int_eq(info.writer_pid, (int64_t)getpid());
    ck_assert_int_eq(info.is_writer, 0);
    ck_assert_uint_eq(info.mode, cfg.mode);

    for (i = 0; i < 11; i++)
        push_seq(w, item, 24, i);
    info = info_of(w);
    ck_assert_uint_eq(info.pushed, 11);
    ck_assert_uint_eq(info.usage, 8);
    ck_assert_uint_eq(info.lost, 0);
    info = info_of(r);
    ck_assert_uint_eq(info.pushed, 11);
    ck_assert_uint_eq(info.usage, 8);
    ck_assert_uint_eq(info.lost, 3);
    pop_expect(r, item, 24, 3);
    pop_expect(r, item, 24, 4);
    info = info_of(r);
    ck_assert_uint_eq(info.usage, 6);
    ck_assert_uint_eq(info.lost, 3);
    r2 = mk_open(g_name, SCB_LATEST);
    ck_assert_uint_eq(info_of(r2).usage, 0);
    ck_assert_uint_eq(info_of(r2).lost, 0);

    ck_assert_int_eq(scb_close(w), SCB_OK);
    info = info_of(r);
    ck_assert_int_eq(info.writer_alive, 0);
    ck_assert_int_eq(info.writer_pid, 0);
    ck_assert_uint_eq(info.pushed, 11);
    ck_assert_uint_eq(info.flags, SCB_UNLINK_ON_CLOSE);
    for (i = 5; i < 11; i++)
        pop_expect(r, item, 24, i);
    pop_empty(r, item);
    scb_close(r2);
    scb_close(r);
}
END_TEST

START_TEST(test_info_writer_comes_and_goes)
{
    scb_t *w, *r;

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    ck_assert_int_eq(info_of(r).writer_alive, 1);
    scb_close(w);
    ck_assert_int_eq(info_of(r).writer_alive, 0);
    ck_assert_int_eq(info_of(r).writer_pid, 0);
    w = mk_open(g_name, SCB_WRITER);
    ck_assert_int_eq(info_of(r).writer_alive, 1);
    ck_assert_int_eq(info_of(r).writer_pid, (int64_t)getpid());
    ck_assert_int_eq(info_of(w).is_writer, 1);
    ck_assert_int_eq(info_of(w).mode, 0600);
    scb_close(w);
    ck_assert_int_eq(info_of(r).writer_alive, 0);
    scb_close(r);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "roles": one writer, take-over, unlink.                            */

START_TEST(test_writer_busy)
{
    scb_t *w, *h;
    uint8_t item[8];

    w = mk_writer(g_name, 8, 4, 0);
    h = (scb_t *)(void *)&h;
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER, &h), SCB_EBUSY);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER | SCB_LATEST, &h), SCB_EBUSY);
    /* The live writer is unharmed. */
    push_seq(w, item, 8, 0);
    ck_assert_int_eq(info_of(w).writer_pid, (int64_t)getpid());
    ck_assert_int_eq(info_of(w).is_writer, 1);
    h = mk_open(g_name, 0);
    pop_expect(h, item, 8, 0);
    scb_close(h);
    scb_close(w);
}
END_TEST

START_TEST(test_takeover_continues)
{
    scb_t *w, *w2, *w3, *r, *h;
    uint8_t item[8];
    uint64_t i;

    w = mk_writer(g_name, 8, 16, 0);
    r = mk_open(g_name, 0);
    for (i = 0; i < 5; i++)
        push_seq(w, item, 8, i);
    for (i = 0; i < 3; i++)
        pop_expect(r, item, 8, i);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    ck_assert_int_eq(info_of(r).writer_alive, 0);

    w2 = mk_open(g_name, SCB_WRITER);
    ck_assert_int_eq(info_of(w2).is_writer, 1);
    ck_assert_uint_eq(info_of(w2).pushed, 5);
    ck_assert_uint_eq(scb_usage(w2), 5);
    for (i = 5; i < 10; i++)
        push_seq(w2, item, 8, i);
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER, &h), SCB_EBUSY);
    for (i = 3; i < 10; i++)
        pop_expect(r, item, 8, i);
    pop_empty(r, item);
    ck_assert_uint_eq(scb_lost(r), 0);
    ck_assert_int_eq(scb_close(w2), SCB_OK);

    w3 = mk_open(g_name, SCB_WRITER);
    push_seq(w3, item, 8, 10);
    pop_expect(r, item, 8, 10);
    ck_assert_uint_eq(info_of(r).pushed, 11);
    scb_close(w3);
    scb_close(r);
}
END_TEST

/* The writer process dies without closing: _i 0 takes over from its zombie
 * (not yet reaped), _i 1 after it was reaped. */
START_TEST(test_takeover_dead_writer)
{
    scb_t *w, *r, *h = NULL;
    uint8_t item[8];
    int ready[2], go[2], rc = SCB_EBUSY;
    char c = 0;
    pid_t pid;
    uint64_t i;
    double t0;

    w = mk_writer(g_name, 8, 16, 0);
    push_seq(w, item, 8, 0);
    push_seq(w, item, 8, 1);
    scb_close(w);
    r = mk_open(g_name, 0);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_t *cw = NULL;
        uint8_t it[8];
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &cw), SCB_OK);
        for (i = 2; i < 5; i++) {
            tu_fill(it, 8, i);
            CHILD_EQ(scb_push(cw, it), SCB_OK);
        }
        CHILD_EQ(write(ready[1], "r", 1), 1);
        CHILD_EQ(read(go[0], &c, 1), 1);
        _exit(0); /* dies holding the writer role */
    }
    close(ready[1]);
    close(go[0]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER, &h), SCB_EBUSY);
    ck_assert_int_eq(info_of(r).writer_alive, 1);
    ck_assert_int_eq(info_of(r).writer_pid, (int64_t)pid);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    if (_i == 0) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    } else {
        expect_child_ok(pid, "dying writer");
    }
    /* Detected within 1 s (the contract), here at once in practice. */
    t0 = now_ms();
    while ((rc = open_rc(g_name, SCB_WRITER, &h)) == SCB_EBUSY &&
           now_ms() - t0 < 1000)
        tu_sleep_us(10000);
    ck_assert_msg(rc == SCB_OK, "take-over from a dead %s writer = %d (%s)",
                  _i == 0 ? "zombie" : "reaped", rc, scb_strerror(rc));
    ck_assert_int_eq(info_of(r).writer_pid, (int64_t)getpid());
    push_seq(h, item, 8, 5);
    for (i = 0; i < 6; i++)
        pop_expect(r, item, 8, i);
    pop_empty(r, item);
    if (_i == 0)
        expect_child_ok(pid, "dying writer");
    close(ready[0]);
    close(go[1]);
    scb_close(h);
    scb_close(r);
}
END_TEST

START_TEST(test_unlink_on_close)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *w, *r, *r2;
    uint8_t item[8];

    w = mk_writer(g_name, 8, 4, SCB_UNLINK_ON_CLOSE);
    for (uint64_t i = 0; i < 3; i++)
        push_seq(w, item, 8, i);
    r = mk_open(g_name, 0);
    r2 = mk_open(g_name, 0);
    ck_assert_int_eq(scb_close(r2), SCB_OK); /* a reader's close removes nothing */
    assert_present(g_name);
    ck_assert_int_eq(scb_close(w), SCB_OK);
    assert_absent(g_name);
    ck_assert_int_eq(open_rc(g_name, SCB_WRITER, &r2), SCB_ENOENT);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_ENOENT);
    /* The reader opened before still reads every item. */
    for (uint64_t i = 0; i < 3; i++)
        pop_expect(r, item, 8, i);
    pop_empty(r, item);
    ck_assert_int_eq(info_of(r).writer_alive, 0);
    scb_close(r);
}
END_TEST

START_TEST(test_unlink_while_open)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *w, *r, *w2, *r2;
    uint8_t item[8];

    w = mk_writer(g_name, 8, 4, 0);
    r = mk_open(g_name, 0);
    push_seq(w, item, 8, 0);
    push_seq(w, item, 8, 1);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    assert_absent(g_name);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_ENOENT);
    /* The open handles keep working. */
    push_seq(w, item, 8, 2);
    pop_expect(r, item, 8, 0);
    pop_expect(r, item, 8, 1);
    pop_expect(r, item, 8, 2);
    ck_assert_uint_eq(info_of(w).pushed, 3);

    /* The name is free for a new, independent ring. */
    w2 = mk_writer(g_name, 8, 4, 0);
    r2 = mk_open(g_name, 0);
    push_seq(w, item, 8, 3);
    ck_assert_uint_eq(scb_usage(r2), 0);
    ck_assert_uint_eq(info_of(r2).pushed, 0);
    push_seq(w2, item, 8, 100);
    pop_expect(r, item, 8, 3);
    pop_empty(r, item);
    pop_expect(r2, item, 8, 100);
    scb_close(w);
    scb_close(r);
    scb_close(r2);
    scb_close(w2);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "hostile": forged and rewritten segments (semantics 6).           */

#define HOST_SIZE 8u  /* item size of the rings forged below */
#define HOST_LEN 16u  /* their length */

static struct scb_hdr *raw_map(scb_seg_t *seg, const char *name)
{
    int rc = scb_be_open(g_be, seg, name, 1);

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
    "flags 0x4", "flags 0x80000000", "flags SCB_WRITER",
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
    case 14: h->flags = 0x4; break;
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
    ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
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
            ck_assert_int_eq(scb_be_open(g_be, &seg, g_name, 0), SCB_ENOENT);
        } else {
            ck_assert_int_eq(rc, SCB_ENOENT);
            ck_assert_int_eq(scb_be_open(g_be, &seg, g_name, 0), SCB_OK);
            ck_assert_int_eq(scb_be_remove(g_be, &seg, g_name), SCB_OK);
            ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
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
        ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);

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
                          "round %d: accepted %llu items of %u in %zu bytes",
                          round, (unsigned long long)info.length,
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
    switch (_i) {
    case RAW_TINY_MAGIC: size = 100; what = "100 bytes with a magic"; break;
    case RAW_639_MAGIC: size = 639; what = "639 bytes with a magic"; break;
    case RAW_HEADER_ONLY: size = sizeof(struct scb_hdr); what = "a real header, no more"; break;
    default: size = 4096; what = "4096 zero bytes"; max_ms = 2000; break;
    }
    if (_i == RAW_HEADER_ONLY) {
        /* A header copied from a real ring of this name, without the rest. */
        struct scb_hdr copy;
        scb_seg_t real;

        make_plain_ring(g_name);
        memcpy(&copy, raw_map(&real, g_name), sizeof copy);
        ck_assert_int_eq(scb_be_remove(g_be, &real, g_name), SCB_OK);
        ck_assert_int_eq(scb_be_close(g_be, &real), SCB_OK);
        ck_assert_int_eq(scb_be_create(g_be, &seg, g_name, size, 0600), SCB_OK);
        memcpy(seg.base, &copy, sizeof copy);
    } else {
        ck_assert_int_eq(scb_be_create(g_be, &seg, g_name, size, 0600), SCB_OK);
        if (_i != RAW_ZEROS) {
            uint64_t magic = SCB_MAGIC;
            memcpy(seg.base, &magic, sizeof magic);
        }
    }
    expect_open_fails(g_name, SCB_EBADFORMAT, what, max_ms);
    ck_assert_int_eq(scb_be_remove(g_be, &seg, g_name), SCB_OK);
    ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
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
    ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
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
    ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "mode": exact permission bits whatever the umask (semantics 7).   */

static const uint32_t exact_modes[] = {0600, 0640, 0644, 0660, 0666, 0604,
                                       0700, 0777, 0620};
#define N_EXACT_MODES ((int)(sizeof exact_modes / sizeof exact_modes[0]))

/* Each mode under several umasks, 077 and 0777 among them: the segment gets
 * exactly the mode asked for. */
START_TEST(test_mode_exact)
{
    static const mode_t masks[] = {077, 0777, 022, 0};
    uint32_t mode = exact_modes[_i], got;
    scb_config_t cfg = tu_cfg(8, 4);
    scb_seg_t seg;
    scb_t *w, *r;
    size_t m;

    cfg.mode = mode;
    for (m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        umask(masks[m]);
        if (strcmp(tu_backend, "apr") == 0 &&
            (mode != 0600 || (masks[m] & 0600) != 0)) {
            /* apr creates 0600 only, and cannot undo a umask that takes
             * the owner's bits away (README): SCB_ENOTSUP, nothing made. */
            ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_ENOTSUP);
            assert_absent(g_name);
            continue;
        }
        ck_assert_int_eq(scb_create(&w, g_name, &cfg), SCB_OK);
        ck_assert_uint_eq(info_of(w).mode, mode);
        got = 0;
        ck_assert_int_eq(scb_be_open(g_be, &seg, g_name, 0), SCB_OK);
        ck_assert_int_eq(scb_be_get_mode(g_be, &seg, &got), SCB_OK);
        ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
        ck_assert_msg(got == mode, "umask %#o, mode %#o: segment has %#o",
                      (unsigned)masks[m], (unsigned)mode, (unsigned)got);
#ifdef __linux__
        if (strcmp(tu_backend, "posix") == 0) {
            char path[300];
            struct stat st;

            snprintf(path, sizeof path, "/dev/shm/scb.%s", g_name);
            ck_assert_int_eq(stat(path, &st), 0);
            ck_assert_msg((st.st_mode & 07777) == mode,
                          "umask %#o: %s has mode %#o, not %#o",
                          (unsigned)masks[m], path,
                          (unsigned)(st.st_mode & 07777), (unsigned)mode);
        }
#endif
        r = mk_open(g_name, 0);
        ck_assert_uint_eq(info_of(r).mode, mode);
        scb_close(r);
        scb_close(w);
        ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "readonly": readers cannot write the segment (semantics 7).        */

/* Forks a child that maps `name` (writable or not) with the backend and
 * writes one byte at `off` (the value it holds, so nothing changes if the
 * write goes through).  Returns the child's wait status. */
static int child_write_byte(const char *name, int writable, size_t off)
{
    int st = 0;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sigaction sa;
        scb_seg_t seg;
        volatile uint8_t *p;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        CHILD_EQ(scb_be_open(g_be, &seg, name, writable), SCB_OK);
        CHILD_REQUIRE(off < seg.size);
        p = (volatile uint8_t *)seg.base + off;
        *p = *p;
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

START_TEST(test_reader_mapping_faults)
{
    scb_seg_t seg;
    size_t offs[3], i;
    scb_t *w = mk_writer(g_name, 8, 16, 0);
    int st;

    ck_assert_int_eq(scb_be_open(g_be, &seg, g_name, 0), SCB_OK);
    offs[0] = 0;
    offs[1] = offsetof(struct scb_hdr, head);
    offs[2] = seg.size - 1; /* the last item */
    ck_assert_int_eq(scb_be_close(g_be, &seg), SCB_OK);
    for (i = 0; i < 3; i++) {
        st = child_write_byte(g_name, 0, offs[i]);
        ck_assert_msg(WIFSIGNALED(st) &&
                      (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS),
                      "a write at %zu through a read-only mapping: status %#x",
                      offs[i], (unsigned)st);
        /* The same write through a writable mapping goes through: the
         * fault above comes from the protection, not from the child. */
        st = child_write_byte(g_name, 1, offs[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "a write at %zu through a writable mapping: status %#x",
                      offs[i], (unsigned)st);
    }
    scb_close(w);
}
END_TEST

static char *read_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t cap = 1 << 16, len = 0, n;
    char *s = malloc(cap);

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(s);
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            cap *= 2;
            s = realloc(s, cap);
            ck_assert_ptr_nonnull(s);
        }
    }
    s[len] = '\0';
    fclose(f);
    return s;
}

/* A reader handle's own mapping of the segment is read-only: the new
 * shared-memory mappings scb_open adds carry no 'w'. */
START_TEST(test_reader_handle_maps_readonly)
{
    scb_t *w = mk_writer(g_name, 8, 16, 0), *r;
    char *before, *after, *line, *save = NULL;
    unsigned long lo, hi, off;
    /* apr: the ring starts one page into APR's object (README). */
    unsigned long shift = strcmp(tu_backend, "apr") == 0
                              ? (unsigned long)sysconf(_SC_PAGESIZE) : 0;
    scb_geom_t g;
    int found = 0;

    memset(&g, 0, sizeof g);
    g.item_size = 8;
    g.length = 16;
    ck_assert_int_eq(scb_layout_plan(&g, (size_t)sysconf(_SC_PAGESIZE)), SCB_OK);
    before = read_maps();
    r = mk_open(g_name, 0);
    after = read_maps();
    for (line = strtok_r(after, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char perms[8] = "";
        if (strstr(line, "/dev/shm/scb.") == NULL && strstr(line, "SYSV") == NULL &&
            (shift == 0 || strstr(line, "/dev/shm/ShM.") == NULL))
            continue;
        if (strstr(before, line) != NULL)
            continue;
        ck_assert_int_eq(sscanf(line, "%lx-%lx %7s %lx", &lo, &hi, perms, &off), 4);
        if (shift != 0 && off < shift) {
            /* APR's own first page (its size word): not the ring. */
            continue;
        }
        off -= shift;
        /* Only the wait line and the reader slots, between shared_off and
         * items_off, may stay writable: the header and the items not. */
        if (perms[1] == 'w')
            ck_assert_msg(off >= g.shared_off && off + (hi - lo) <= g.items_off,
                          "reader mapping is writable outside the reader region: %s",
                          line);
        found++;
    }
    ck_assert_msg(found > 0, "no new shared mapping found after scb_open");
    free(before);
    free(after);
    scb_close(r);
    scb_close(w);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tcase "perms" (root only): another user, shut out or let in.            */

static void drop_to_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");

    CHILD_REQUIRE(pw != NULL);
    CHILD_REQUIRE(pw->pw_uid != 0 && pw->pw_gid != 0);
    CHILD_EQ(setgroups(0, NULL), 0);
    CHILD_EQ(setgid(pw->pw_gid), 0);
    CHILD_EQ(setuid(pw->pw_uid), 0);
    CHILD_EQ(getuid(), pw->pw_uid);
    CHILD_EQ(geteuid(), pw->pw_uid);
    CHILD_EQ(getgid(), pw->pw_gid);
    CHILD_EQ(getegid(), pw->pw_gid);
    CHILD_EQ(getgroups(0, NULL), 0);
    CHILD_EQ(setuid(0), -1); /* the drop cannot be undone */
}

static scb_t *mk_writer_mode(const char *name, uint32_t mode)
{
    scb_config_t cfg = tu_cfg(8, 16);
    scb_t *w = NULL;

    cfg.mode = mode;
    ck_assert_int_eq(scb_create(&w, name, &cfg), SCB_OK);
    return w;
}

START_TEST(test_perm_0600)
{
    scb_t *w = mk_writer_mode(g_name, 0600);
    uint8_t item[8];
    pid_t pid;

    push_seq(w, item, 8, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_config_t cfg = tu_cfg(8, 16);
        scb_t *h = NULL;
        drop_to_nobody();
        CHILD_EQ(open_rc(g_name, 0, &h), SCB_EACCES);
        CHILD_REQUIRE(h == NULL);
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &h), SCB_EACCES);
        CHILD_EQ(open_rc(g_name, SCB_LATEST, &h), SCB_EACCES);
        CHILD_EQ(scb_unlink(g_name, &cfg), SCB_EACCES);
        _exit(0);
    }
    expect_child_ok(pid, "nobody on a 0600 ring");
    assert_present(g_name);
    scb_close(w);
}
END_TEST

/* apr creates 0600 only (README): other modes are SCB_ENOTSUP, so the
 * tests of shared modes check that instead.  1 if so. */
static int apr_mode_refused(const char *name, uint32_t mode)
{
    scb_config_t cfg = tu_cfg(8, 16);
    scb_t *w = NULL;

    if (strcmp(tu_backend, "apr") != 0)
        return 0;
    cfg.mode = mode;
    ck_assert_int_eq(scb_create(&w, name, &cfg), SCB_ENOTSUP);
    ck_assert_ptr_null(w);
    assert_absent(name);
    return 1;
}

START_TEST(test_perm_0644)
{
    scb_t *w;
    uint8_t item[8];
    uint64_t i;
    pid_t pid;

    if (apr_mode_refused(g_name, 0644))
        return;
    w = mk_writer_mode(g_name, 0644);

    for (i = 0; i < 5; i++)
        push_seq(w, item, 8, i);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_config_t cfg = tu_cfg(8, 16);
        scb_t *h = NULL, *r = NULL;
        scb_info_t info;
        uint8_t it[8];
        uint64_t s;
        drop_to_nobody();
        CHILD_EQ(open_rc(g_name, 0, &r), SCB_OK);
        for (i = 0; i < 5; i++) {
            CHILD_EQ(scb_pop(r, it), SCB_OK);
            CHILD_REQUIRE(tu_check(it, 8, &s));
            CHILD_EQ(s, i);
        }
        CHILD_EQ(scb_pop(r, it), SCB_EAGAIN);
        CHILD_EQ(scb_info(r, &info), SCB_OK);
        CHILD_EQ(info.mode, 0644);
        CHILD_EQ(info.writer_alive, 1);
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &h), SCB_EACCES);
        CHILD_REQUIRE(h == NULL);
        CHILD_EQ(scb_unlink(g_name, &cfg), SCB_EACCES);
        CHILD_EQ(scb_close(r), SCB_OK);
        _exit(0);
    }
    expect_child_ok(pid, "nobody on a 0644 ring");
    assert_present(g_name);
    scb_close(w);
}
END_TEST

START_TEST(test_perm_0666_takeover)
{
    scb_t *w, *r;
    uint8_t item[8];
    uint64_t i;
    pid_t pid;

    if (apr_mode_refused(g_name, 0666))
        return;
    w = mk_writer_mode(g_name, 0666);

    r = mk_open(g_name, 0);
    for (i = 0; i < 3; i++)
        push_seq(w, item, 8, i);
    /* While the creator lives the role is taken, across users too. */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_t *h = NULL;
        drop_to_nobody();
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &h), SCB_EBUSY);
        _exit(0);
    }
    expect_child_ok(pid, "nobody writer while root's writer lives");
    ck_assert_int_eq(scb_close(w), SCB_OK);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_t *h = NULL;
        uint8_t it[8];
        drop_to_nobody();
        CHILD_EQ(open_rc(g_name, SCB_WRITER, &h), SCB_OK);
        for (i = 3; i < 6; i++) {
            tu_fill(it, 8, i);
            CHILD_EQ(scb_push(h, it), SCB_OK);
        }
        CHILD_EQ(scb_close(h), SCB_OK);
        _exit(0);
    }
    expect_child_ok(pid, "nobody taking over a 0666 ring");
    for (i = 0; i < 6; i++)
        pop_expect(r, item, 8, i);
    pop_empty(r, item);
    ck_assert_int_eq(info_of(r).writer_alive, 0);
    scb_close(r);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* scb_list.                                                                */

#define LIST_N 3

/* How many times scb_list reported each of LIST_N names, and in all. */
typedef struct list_seen {
    const char *names[LIST_N];
    unsigned count[LIST_N];
    unsigned total;
    unsigned stop_after; /* 0: never stop */
} list_seen_t;

static int list_collect(const char *name, void *arg)
{
    list_seen_t *seen = arg;
    int i;

    ck_assert_ptr_nonnull(name);
    ck_assert_msg(name[0] != '\0' && strlen(name) <= SCB_NAME_MAX,
                  "scb_list reported a bad name");
    for (i = 0; i < LIST_N; i++)
        if (seen->names[i] != NULL && strcmp(seen->names[i], name) == 0)
            seen->count[i]++;
    seen->total++;
    return seen->stop_after != 0 && seen->total >= seen->stop_after;
}

/* Lists the suite's backend; 0 if it cannot list on this system. */
static int list_now(list_seen_t *seen)
{
    int rc, i;

    seen->total = 0;
    for (i = 0; i < LIST_N; i++)
        seen->count[i] = 0;
    rc = scb_list(tu_backend, list_collect, seen);
    if (rc == SCB_ENOTSUP && g_be->list == NULL)
        return 0;
    ck_assert_msg(rc == SCB_OK, "scb_list(%s) = %d (%s)", tu_backend, rc,
                  scb_strerror(rc));
    return 1;
}

START_TEST(test_list_finds)
{
    /* Separate arrays: GCC's truncation warning misjudges rows of a 2-D
     * array passed on to snprintf. */
    static char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1], n2[SCB_NAME_MAX + 1];
    char *names[LIST_N] = {n0, n1, n2};
    scb_t *w[LIST_N];
    list_seen_t seen;
    scb_config_t cfg = tu_cfg(1, 2);
    int i;

    memset(&seen, 0, sizeof seen);
    new_name(n0, sizeof n0);
    new_name(n1, sizeof n1);
    new_name(n2, sizeof n2);
    for (i = 0; i < LIST_N; i++) {
        seen.names[i] = names[i];
        w[i] = mk_writer(names[i], (uint32_t)(i + 1), 4, 0);
    }
    if (!list_now(&seen)) {
        fprintf(stderr, "check_scb: %s cannot list here: SCB_ENOTSUP\n",
                tu_backend);
        for (i = 0; i < LIST_N; i++) {
            scb_close(w[i]);
            scb_unlink(names[i], &cfg);
        }
        return;
    }
    for (i = 0; i < LIST_N; i++)
        ck_assert_msg(seen.count[i] == 1, "%s listed %u times", names[i],
                      seen.count[i]);
    ck_assert_uint_ge(seen.total, LIST_N);

    /* An unlinked ring disappears, also while its writer keeps it open. */
    ck_assert_int_eq(scb_unlink(names[0], &cfg), SCB_OK);
    list_now(&seen);
    ck_assert_uint_eq(seen.count[0], 0);
    ck_assert_uint_eq(seen.count[1], 1);
    ck_assert_uint_eq(seen.count[2], 1);
    scb_close(w[0]);

    /* A ring without a writer is still a ring. */
    scb_close(w[1]);
    list_now(&seen);
    ck_assert_uint_eq(seen.count[1], 1);

    ck_assert_int_eq(scb_unlink(names[1], &cfg), SCB_OK);
    scb_close(w[2]);
    ck_assert_int_eq(scb_unlink(names[2], &cfg), SCB_OK);
    list_now(&seen);
    for (i = 0; i < LIST_N; i++)
        ck_assert_uint_eq(seen.count[i], 0);
}
END_TEST

START_TEST(test_list_stops)
{
    static char n0[SCB_NAME_MAX + 1], n1[SCB_NAME_MAX + 1];
    char *names[2] = {n0, n1};
    scb_t *w[2];
    list_seen_t seen;
    scb_config_t cfg = tu_cfg(1, 2);
    int i;

    memset(&seen, 0, sizeof seen);
    new_name(n0, sizeof n0);
    new_name(n1, sizeof n1);
    for (i = 0; i < 2; i++)
        w[i] = mk_writer(names[i], 1, 2, 0);
    seen.stop_after = 1;
    if (list_now(&seen))
        ck_assert_uint_eq(seen.total, 1);
    for (i = 0; i < 2; i++) {
        scb_close(w[i]);
        scb_unlink(names[i], &cfg);
    }
}
END_TEST

START_TEST(test_list_args)
{
    list_seen_t seen;

    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(scb_list(tu_backend, NULL, NULL), SCB_EINVAL);
    ck_assert_int_eq(scb_list(NULL, NULL, &seen), SCB_EINVAL);
    ck_assert_int_eq(scb_list("no-such-backend", list_collect, &seen),
                     SCB_ENOTSUP);
    ck_assert_uint_eq(seen.total, 0);
    if (g_be->list == NULL)
        ck_assert_int_eq(scb_list(tu_backend, list_collect, &seen),
                         SCB_ENOTSUP);
}
END_TEST

/* A segment whose header is garbage is no ring: never listed, never a
 * crash (the forged segment is made through the backend directly). */
START_TEST(test_list_skips_garbage)
{
    scb_seg_t seg;
    list_seen_t seen;

    memset(&seen, 0, sizeof seen);
    seen.names[0] = g_name;
    ck_assert_int_eq(scb_be_create(g_be, &seg, g_name, 4096, 0600), SCB_OK);
    memset(seg.base, 0x5a, 4096);
    if (list_now(&seen) && !g_be->names_exact)
        ck_assert_uint_eq(seen.count[0], 0);
    ck_assert_int_eq(scb_be_remove(g_be, &seg, g_name), SCB_OK);
    scb_be_close(g_be, &seg);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The suite.                                                               */

static TCase *new_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

Suite *tu_api_suite(void)
{
    static char suite_name[64];
    const char *const *b = scb_backends();
    const scb_backend_t *be = scb_backend_find(tu_backend);
    uint64_t l;
    uint32_t sz;
    Suite *s;
    TCase *tc;

    snprintf(suite_name, sizeof suite_name, "scb-%s", tu_backend);
    s = suite_create(suite_name);

    tc = new_tcase(s, "args", 20);
    tcase_add_test(tc, test_null_pointers);
    tcase_add_loop_test(tc, test_bad_names, 0, N_BAD_NAMES);
    tcase_add_loop_test(tc, test_name_lengths, 0, N_NAME_LEN_CASES);
    tcase_add_test(tc, test_name_one_char);
    tcase_add_test(tc, test_unknown_flags);
    tcase_add_test(tc, test_other_call_flags_ignored);
    tcase_add_test(tc, test_bad_mode);
    tcase_add_test(tc, test_unknown_backend);
    tcase_add_test(tc, test_lossless_create);
    tcase_add_test(tc, test_overflowing_sizes);
    tcase_add_test(tc, test_create_twice);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_wrong_role);
    tcase_add_test(tc, test_many_edges);
    tcase_add_test(tc, test_usage_lost_writer);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_backends);
    tcase_add_test(tc, test_config_init);
    tcase_add_test(tc, test_config_zero_fields);
    if (be != NULL && b[0] != NULL && strcmp(b[0], tu_backend) == 0)
        tcase_add_test(tc, test_default_backend_null_cfg);
    else
        fprintf(stderr, "check_scb: %s is not the default backend: "
                "scb_open with cfg NULL is tested in the %s suite\n",
                tu_backend, b[0] != NULL ? b[0] : "(none)");

    tc = new_tcase(s, "capacity", 120);
    tcase_add_loop_test(tc, test_capacity, 0, cap_combo(-1, &l, &sz));
    tcase_add_loop_test(tc, test_capacity_many, 0, N_MANY_CASES);
    tcase_add_test(tc, test_push_many_huge_batch);

    tc = new_tcase(s, "latest", 10);
    tcase_add_test(tc, test_latest);

    tc = new_tcase(s, "wait", 10);
    tcase_add_test(tc, test_pop_wait_zero);
    tcase_add_test(tc, test_pop_wait_timeout);
    tcase_add_loop_test(tc, test_pop_wait_wakes, 0, 2);
    tcase_add_loop_test(tc, test_pop_wait_long_timeout, 0, N_LONG_TIMEOUTS);
    tcase_add_test(tc, test_push_wait_overwrite);

    tc = new_tcase(s, "info", 10);
    tcase_add_test(tc, test_info);
    tcase_add_test(tc, test_info_writer_comes_and_goes);

    tc = new_tcase(s, "roles", 10);
    tcase_add_test(tc, test_writer_busy);
    tcase_add_test(tc, test_takeover_continues);
    tcase_add_loop_test(tc, test_takeover_dead_writer, 0, 2);
    tcase_add_test(tc, test_unlink_on_close);
    tcase_add_test(tc, test_unlink_while_open);

    tc = new_tcase(s, "hostile", 60);
    tcase_add_loop_test(tc, test_hostile_header, 0,
                        N_CORRUPTIONS + N_RANDOM_SEEDS * N_RANDOM_VARIANTS);
    tcase_add_loop_test(tc, test_hostile_geometry_fuzz, 0, 8);
    tcase_add_loop_test(tc, test_hostile_raw, 0,
                        strcmp(tu_backend, "posix") == 0 ? RAW_POSIX_EMPTY + 1
                                                         : RAW_POSIX_EMPTY);
    tcase_add_loop_test(tc, test_hostile_counters, 0, N_COUNTER_CASES);
    tcase_add_loop_test(tc, test_hostile_live, 0, N_LIVE_CASES);

    tc = new_tcase(s, "list", 20);
    tcase_add_test(tc, test_list_finds);
    tcase_add_test(tc, test_list_stops);
    tcase_add_test(tc, test_list_args);
    tcase_add_test(tc, test_list_skips_garbage);

    tc = new_tcase(s, "mode", 10);
    tcase_add_loop_test(tc, test_mode_exact, 0, N_EXACT_MODES);

    tc = new_tcase(s, "readonly", 10);
    tcase_add_test(tc, test_reader_mapping_faults);
    if (access("/proc/self/maps", R_OK) == 0)
        tcase_add_test(tc, test_reader_handle_maps_readonly);
    else
        fprintf(stderr, "check_scb: NOTE: no /proc/self/maps, so the reader "
                "handle's mapping protection is NOT checked\n");

    if (geteuid() == 0) {
        tc = new_tcase(s, "perms", 10);
        tcase_add_test(tc, test_perm_0600);
        tcase_add_test(tc, test_perm_0644);
        tcase_add_test(tc, test_perm_0666_takeover);
    } else {
        fprintf(stderr, "check_scb: NOTE: not root, so the \"perms\" tcase "
                "(another user shut out or let in) is NOT run\n");
    }
    return s;
}

static void usage(FILE *f)
{
    const char *const *b = scb_backends();

    fprintf(f, "usage: check_scb BACKEND\n  BACKEND: one of");
    for (; *b != NULL; b++)
        fprintf(f, " %s", *b);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    const char *const *b;
    SRunner *sr;
    int failed;

    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    for (b = scb_backends(); *b != NULL; b++)
        if (strcmp(*b, argv[1]) == 0)
            break;
    if (*b == NULL) {
        fprintf(stderr, "check_scb: backend \"%s\" is not built in\n", argv[1]);
        usage(stderr);
        return 2;
    }
    tu_backend = *b;
    printf("check_scb: backend %s\n", tu_backend);
    fflush(stdout);

    reg_init();
    sr = srunner_create(tu_api_suite());
    srunner_add_suite(sr, tu_mp_suite());
    srunner_add_suite(sr, tu_wait_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    reg_sweep();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
