/*
 * scb_api.h - what the files of the API suite of tests/check_scb share
 * (check_scb.c, scb_api_args.c, scb_api_rings.c, scb_api_roles.c,
 * scb_api_hostile.c, scb_api_records.c, scb_api_zerocopy.c,
 * scb_api_records_mixed.c, scb_api_wait.c, scb_api_records_hostile.c,
 * scb_api_perms.c, scb_api_list.c, scb_api_objects.c): the table of ring names main()
 * cleans up from, the checked fixture (its ring g_name on backend g_be),
 * the helpers of the tests (scb_api_util.c) and the tcases of each file.
 * The record files also share scb_api_records.h.
 *
 * It includes the system headers the suite uses, so a file of the suite
 * starts with config.h and this header.  On Windows (_WIN32) the suite runs
 * without fork (CK_NOFORK): the Unix-only headers, scb_api_list.c,
 * scb_api_perms.c, scb_api_objects.c and the tests that fork are left out.
 */
#ifndef SCB_API_H
#define SCB_API_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifndef _WIN32
/* Users and groups, signals, mmap and fork/wait: the tests that need them
 * are left out on Windows, where Check runs every test in one process
 * (CK_NOFORK). */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#endif

#include <check.h>

#include "backend.h"
#include "layout.h"
#include "scb.h"
#include "sys.h"
#include "testutil.h"

/* The fixture's ring and its backend (setup, teardown). */
extern char g_name[SCB_NAME_MAX + 1];
extern const scb_backend_t *g_be;

/* A tcase of suite s with the checked fixture and the given timeout. */
TCase *new_tcase(Suite *s, const char *name, double timeout);

/* The tcases of each file, added to s in the order of the suite. */
void tu_api_add_args(Suite *s);
void tu_api_add_rings(Suite *s);
void tu_api_add_roles(Suite *s);
void tu_api_add_hostile(Suite *s);
/* Version 0.2: records (scb_api_records.c), zero-copy
 * (scb_api_zerocopy.c), records of every length (scb_api_records_mixed.c),
 * scb_wait (scb_api_wait.c), record headers rewritten by the other side
 * (scb_api_records_hostile.c). */
void tu_api_add_records(Suite *s);
void tu_api_add_zerocopy(Suite *s);
void tu_api_add_records_mixed(Suite *s);
void tu_api_add_wait(Suite *s);
void tu_api_add_records_hostile(Suite *s);
#ifndef _WIN32
/* Not built on Windows: listing and permissions are Unix matters. */
void tu_api_add_list(Suite *s);
void tu_api_add_perms(Suite *s);
/* OS objects at ring names (scb_api_objects.c). */
void tu_api_add_objects(Suite *s);
#endif

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

void reg_init(void);

void reg_add(const char *name);

/* Removes ring `name` from the suite's backend: scb_unlink first, then the
 * raw segment if one is still there (a forged header that scb_unlink refuses
 * to touch on a backend with hashed names).  Returns scb_unlink's code. */
int remove_ring(const char *name);

void reg_sweep(void);

/* A fresh unique ring name, recorded for clean-up. */
void new_name(char *buf, size_t size);

double now_ms(void);

scb_config_t cfg_of(uint32_t item_size, uint64_t length, uint32_t flags);

scb_t *mk_writer(const char *name, uint32_t size, uint64_t length,
                        uint32_t flags);

int open_rc(const char *name, uint32_t flags, scb_t **out);

scb_t *mk_open(const char *name, uint32_t flags);

/* Asserts that ring `name` does not exist (scb_open says SCB_ENOENT). */
void assert_absent(const char *name);

void assert_present(const char *name);

uint64_t seq_mask(size_t size);

void push_seq(scb_t *w, void *buf, uint32_t size, uint64_t seq);

/* Pops one item and checks that it is the intact item `seq`. */
void pop_expect(scb_t *r, void *buf, uint32_t size, uint64_t seq);

void pop_empty(scb_t *r, void *buf);

scb_info_t info_of(const scb_t *h);

/* The permission bits of the OS object of ring `name`, open in `seg` on the
 * suite's backend, as the OS reports them (the backends keep none): into
 * *mode, returning 0, or -1 if the OS would not say. */
int seg_mode(const scb_seg_t *seg, const char *name, uint32_t *mode);

/* Writes `len` characters of [A-Za-z0-9._-] into buf: a unique prefix from
 * tu_name, then every kind of allowed character.  Recorded for clean-up. */
void long_name(char *buf, size_t len);

#ifndef _WIN32
/* Reaps forked child `pid` and asserts that it exited with status 0. */
void expect_child_ok(pid_t pid, const char *what);
#endif

#endif /* SCB_API_H */
