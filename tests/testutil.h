/*
 * testutil.h - helpers shared by the Check suites.
 */
#ifndef SCB_TESTUTIL_H
#define SCB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "scb.h"

/* The backend the per-backend suite runs on (argv[1] of tests/check_scb). */
extern const char *tu_backend;

/* A ring name unique to this process and call: "t<pid>-<n>", or
 * "t<tag>.<pid>-<n>" when the environment variable SCB_TEST_TAG holds a tag
 * (1 to 12 letters and digits; tests/run-suite.sh sets one per run). */
void tu_name(char *buf, size_t size);

/* A config from scb_config_init with the suite's backend and the given
 * geometry. */
scb_config_t tu_cfg(uint32_t item_size, uint64_t length);

/* Fills an item with a pattern derived from seq: the first min(8, size)
 * bytes hold seq (little-endian), every later byte is a function of seq and
 * its offset, so a torn or mixed item is detected. */
void tu_fill(void *item, size_t size, uint64_t seq);

/* Checks an item made by tu_fill; returns 1 and sets *seq if intact.
 * Items under 8 bytes carry only the low bytes of seq. */
int tu_check(const void *item, size_t size, uint64_t *seq);

/* Sleeps `us` microseconds. */
void tu_sleep_us(unsigned us);

/* Suites of tests/check_scb (one source file each). */
Suite *tu_api_suite(void);
#ifdef _WIN32
/* The Windows multi-process suite (tests/scb_win.c), and the child side of
 * it: tests/check_scb --child ... runs tu_win_child and exits with what it
 * returns. */
Suite *tu_win_suite(void);
int tu_win_child(int argc, char **argv);
#else
Suite *tu_mp_suite(void);
Suite *tu_wait_suite(void);
#endif

#endif /* SCB_TESTUTIL_H */
