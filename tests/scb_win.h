/*
 * scb_win.h - what the files of the Windows multi-process suite share:
 * scb_win.c (the tests, their fixture, tu_win_suite), scb_win_fd.c (the
 * scb_fd tests, tu_win_add_fd) and scb_win_child.c (the processes the
 * tests start, tu_win_child).  Windows only.
 */
#ifndef SCB_WIN_H
#define SCB_WIN_H

#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "scb.h"
#include "sys.h"
#include "testutil.h"

/* The apr backend's file behind a ring (platform/apr/shm_apr_win32_files.c,
 * Windows only; internal, not exported from the DLL). */
int scb_apr_file_path(const char *name, char *buf, size_t size);

/* tcase timeout (not enforced without fork: every wait below is bounded). */
#define TIMEOUT_S 120
/* How long a child lives at most when nothing ends it earlier. */
#define CHILD_LIFE_MS 60000
/* How long the parent waits for a child to get ready or to end. */
#define READY_MS 30000
#define REAP_MS 60000

/*
 * Numbers for messages.  Check formats its messages with its own printf,
 * which on Windows does not know %llu (and gcc's format check does not know
 * %I64u), so 64-bit values are turned into strings here: U(x) decimal, S(x)
 * signed decimal, X(x) hexadecimal, each valid until eight more calls.
 */
const char *win_num_str(uint64_t v, int neg, unsigned base);
#define U(x) win_num_str((uint64_t)(x), 0, 10)
#define S(x) ((int64_t)(x) < 0 ? win_num_str(0 - (uint64_t)(x), 1, 10) : win_num_str((uint64_t)(x), 0, 10))
#define X(x) win_num_str((uint64_t)(x), 0, 16)

/* SCB_WIN_VERBOSE=1 prints what the tests measured. */
#define VERBOSE (getenv("SCB_WIN_VERBOSE") != NULL)

/* Milliseconds of the performance counter. */
uint64_t win_now_ms(void);

/* The readiness event of the child working on ring_name: a child that is
 * ready sets it; the parent made it. */
void win_event_name(char *buf, size_t size, const char *ring_name);

/* The ring the "echo" child answers on: ring_name with "-b" appended. */
void win_back_name(char *buf, size_t size, const char *ring_name);

/* The "go" event of the child working on ring_name (the fd_* roles): the
 * parent made it and sets it when the child may act. */
void win_go_name(char *buf, size_t size, const char *ring_name);

/*
 * The fixture of the tests (scb_win.c), what a test made, for the teardown
 * to undo: the test's ring name, the child's readiness and "go" events,
 * the child process (NULL if none), the test's handles.
 */
extern char win_ring[64];
extern HANDLE win_ready_ev;
extern HANDLE win_go_ev;
extern HANDLE win_kid;
extern scb_t *win_hs[4];

void win_setup(void);
void win_teardown(void);

/* A tcase with the fixture and TIMEOUT_S, holding test unless NULL. */
TCase *win_tcase(const char *name, const TTest *test);

/* Starts "check_scb.exe --child ROLE BACKEND win_ring ARG PPID" as
 * win_kid, having made the readiness event. */
void win_spawn(const char *role, uint64_t arg);

/* The exit code of win_kid once it ended within ms, else a failure. */
DWORD win_reap(DWORD ms);

/* Kills win_kid and waits until it is gone (its handle stays open). */
void win_kill_child(void);

/* Waits until win_kid sets the readiness event; fails if it ends first. */
void win_wait_ready(void);

/* Creates win_ring with cfg, opens a reader on it as win_hs[1] and closes
 * the writer handle, so that a child can take the writer role over. */
void win_reader_of_new_ring(const scb_config_t *cfg);

/* Adds the scb_fd tcases (scb_win_fd.c) to s. */
void tu_win_add_fd(Suite *s);

#endif /* SCB_WIN_H */
