/*
 * scb_wait_fd.c - the wait suite's tcases for scb_fd (Unix): the handle an
 * event loop waits on.  The contract's loop (pop until SCB_EAGAIN, then
 * poll) must never miss an item and never spin; a writer must make no
 * system call on a push unless an armed handle waits, also after an armed
 * reader was killed; a lossless writer's handle must come up when a reader
 * makes room or dies.  Every poll has a timeout that fails the test; where
 * the other side acted in this very process, its ring is queued before the
 * call returns, so the poll does not wait at all (a writer's handle also
 * comes up by its timer, which must not hide a missing ring).
 *
 * This file holds the rules on one handle and the limits; scb_wait_fd_mp.c
 * the tcases between processes; the helpers they share are declared in
 * scb_wait.h.  The conventions of check_scb_mp.c apply (children report by
 * exit status and on stderr).  The system calls a process makes to wake others are
 * counted by the OS layer (scb_sys_wake_calls, sys.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "layout.h"
#include "scb_wait.h"
#include "sys.h"

#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>


/* The ring kinds of the looped tests. */
const uint32_t fd_kinds[4] = {0, SCB_LOSSLESS, SCB_RECORDS,
                                    SCB_RECORDS | SCB_LOSSLESS};

const char *fd_kind(uint32_t flags)
{
    static const char *names[] = {"overwrite", "lossless", "overwrite records",
                                  "lossless records"};

    return names[((flags & SCB_RECORDS) ? 2 : 0) + ((flags & SCB_LOSSLESS) ? 1 : 0)];
}

/* 1 if fd is readable within ms (0: now), 0 if not; the test fails if poll
 * does. */
int fd_ready(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;

    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    W_ASSERT(n >= 0, "poll: %s", strerror(errno));
    return n > 0;
}

/* The same in a child (no Check there): -1 on a poll error. */
int k_ready(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;

    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n > 0;
}

unsigned long wake_calls(void)
{
    return atomic_load(&scb_sys_wake_calls);
}

/* A 16-byte item (or record) with seq, pushed on hs[h] without waiting. */
int fd_push(scb_t *w, uint64_t seq)
{
    uint8_t item[16];

    tu_fill(item, sizeof item, seq);
    return scb_push_record(w, item, sizeof item);
}

/* Pops one item or record (16 bytes) into *seq; SCB_EAGAIN when none. */
int fd_pop(scb_t *r, uint64_t *seq)
{
    uint8_t item[16];
    size_t len = 0;
    int rc = scb_pop_record(r, item, sizeof item, &len);

    if (rc == SCB_OK && (len != sizeof item || !tu_check(item, sizeof item, seq)))
        return SCB_EBADFORMAT;
    return rc;
}

scb_fd_t fd_of(int h)
{
    scb_fd_t fd = -1;
    int rc = scb_fd(hs[h], &fd);

    W_ASSERT(rc == SCB_OK && fd >= 0, "scb_fd(handle %d): %s", h, scb_strerror(rc));
    return fd;
}

/* ---- one process --------------------------------------------------------- */

/* The contract's rules on one handle, for each ring kind: arming by
 * SCB_EAGAIN, ready until the next SCB_EAGAIN, not ready once drained, an
 * item pushed between SCB_EAGAIN and the poll, no system call per push
 * unless armed, scb_peek arms too, scb_close closes the handle. */
START_TEST(test_fd_reader_rules)
{
    uint32_t flags = fd_kinds[_i];
    uint64_t s, i;
    unsigned long c0;
    scb_fd_t fd, fd2;
    const void *p;
    size_t len;
    int rc;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 65536 : 4096, flags, 0, 0, 0);
    open_h(0, 0, 1);
    W_ASSERT(scb_fd(NULL, &fd) == SCB_EINVAL, "scb_fd(NULL) is not SCB_EINVAL");
    W_ASSERT(scb_fd(hs[1], NULL) == SCB_EINVAL, "scb_fd(h, NULL) is not SCB_EINVAL");
    fd = fd_of(1);
    fd2 = fd_of(1);
    W_ASSERT(fd == fd2, "%s: scb_fd twice: %d then %d", fd_kind(flags), fd, fd2);
    W_ASSERT(!fd_ready(fd, 0), "%s: a new handle's fd is ready", fd_kind(flags));

    /* Armed by SCB_EAGAIN, ready after a push, and stays so. */
    W_ASSERT(fd_pop(hs[1], &s) == SCB_EAGAIN, "%s: empty ring pops", fd_kind(flags));
    W_ASSERT(!fd_ready(fd, 0), "%s: armed fd ready with nothing pushed", fd_kind(flags));
    W_ASSERT(fd_push(hs[0], 0) == SCB_OK, "%s: push", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: push did not make the armed fd ready", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: fd not ready the second time", fd_kind(flags));
    W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == 0, "%s: pop", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: fd not ready until the next SCB_EAGAIN", fd_kind(flags));

    /* Drained: not ready, and stays so (an event loop must not spin). */
    W_ASSERT(fd_pop(hs[1], &s) == SCB_EAGAIN, "%s: drained ring pops", fd_kind(flags));
    W_ASSERT(!fd_ready(fd, 0), "%s: drained quiet fd is ready", fd_kind(flags));
    W_ASSERT(!fd_ready(fd, 50), "%s: drained quiet fd ready within 50 ms", fd_kind(flags));

    /* An item pushed between SCB_EAGAIN and the poll. */
    W_ASSERT(fd_push(hs[0], 1) == SCB_OK, "%s: push", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: item pushed before the poll missed", fd_kind(flags));
    W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == 1, "%s: pop", fd_kind(flags));

    /* Not armed (it did not drain): pushes make no system call. */
    W_ASSERT(fd_push(hs[0], 2) == SCB_OK, "%s: push", fd_kind(flags));
    c0 = wake_calls();
    for (i = 3; i < 1003; i++)
        W_ASSERT(fd_push(hs[0], i) == SCB_OK, "%s: push %" PRIu64, fd_kind(flags), i);
    W_ASSERT(wake_calls() == c0, "%s: %lu system calls in 1000 pushes to an unarmed "
             "reader", fd_kind(flags), wake_calls() - c0);
    for (i = 2; i < 1003; i++)
        W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == i, "%s: pop %" PRIu64, fd_kind(flags), i);
    /* Armed: the first push rings once, the rest make no call. */
    W_ASSERT(fd_pop(hs[1], &s) == SCB_EAGAIN, "%s: drained ring pops", fd_kind(flags));
    c0 = wake_calls();
    for (i = 1003; i < 2003; i++)
        W_ASSERT(fd_push(hs[0], i) == SCB_OK, "%s: push %" PRIu64, fd_kind(flags), i);
    W_ASSERT(wake_calls() - c0 == 1, "%s: %lu system calls in 1000 pushes to one armed "
             "reader, not 1", fd_kind(flags), wake_calls() - c0);
    W_ASSERT(fd_ready(fd, 0), "%s: fd not ready", fd_kind(flags));

    /* scb_peek's SCB_EAGAIN arms as well. */
    for (i = 1003; i < 2003; i++)
        W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == i, "%s: pop %" PRIu64, fd_kind(flags), i);
    rc = scb_peek(hs[1], &p, &len);
    W_ASSERT(rc == SCB_EAGAIN, "%s: scb_peek on a drained ring: %s", fd_kind(flags),
             scb_strerror(rc));
    W_ASSERT(!fd_ready(fd, 0), "%s: fd ready after scb_peek's SCB_EAGAIN", fd_kind(flags));
    W_ASSERT(fd_push(hs[0], 2003) == SCB_OK, "%s: push", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: push missed after scb_peek armed", fd_kind(flags));
    W_ASSERT(scb_peek(hs[1], &p, &len) == SCB_OK && len == 16, "%s: peek", fd_kind(flags));
    W_ASSERT(scb_release(hs[1]) == SCB_OK, "%s: release", fd_kind(flags));

#ifdef __linux__
    /* A FIFO with the ring's permission bits (0600), whose name goes with
     * the handle.  (It was made under a temporary name: /proc shows that
     * one, removed.) */
    {
        char link[64], path[256], *cut;
        struct stat st, named;
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof path - 1);
        W_ASSERT(n > 0, "readlink %s: %s", link, strerror(errno));
        path[n] = '\0';
        if ((cut = strstr(path, ".new")) != NULL)
            *cut = '\0';
        W_ASSERT(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
                 (st.st_mode & 07777) == 0600, "%s: fd %d is not a FIFO of mode 0600",
                 fd_kind(flags), fd);
        W_ASSERT(lstat(path, &named) == 0 && named.st_ino == st.st_ino,
                 "%s: %s is not the doorbell's name", fd_kind(flags), path);
        close_h(1);
        W_ASSERT(lstat(path, &named) != 0 && errno == ENOENT,
                 "%s: %s left after scb_close", fd_kind(flags), path);
    }
#else
    close_h(1);
#endif
    /* scb_close closes it. */
    errno = 0;
    W_ASSERT(fcntl(fd, F_GETFD) == -1 && errno == EBADF,
             "%s: fd %d still open after scb_close", fd_kind(flags), fd);
}
END_TEST

/* A writer's fd: an overwrite writer's never comes up; a lossless writer's
 * is armed by a push that finds no room (also scb_reserve and a record
 * push) and comes up when the reader makes room. */
START_TEST(test_fd_writer_rules)
{
    uint32_t flags = fd_kinds[_i];
    int lossless = (flags & SCB_LOSSLESS) != 0;
    uint64_t s, n = 0;
    scb_fd_t fd;
    void *ptr;
    int rc;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 512 : 8, flags, 0, 0, 0);
    open_h(0, 0, 1);
    fd = fd_of(0);
    if (!lossless) {
        for (n = 0; n < 100; n++)
            W_ASSERT(fd_push(hs[0], n) == SCB_OK, "%s: push", fd_kind(flags));
        W_ASSERT(!fd_ready(fd, 0), "%s: an overwrite writer's fd is ready", fd_kind(flags));
        return;
    }
    while ((rc = fd_push(hs[0], n)) == SCB_OK)
        n++;
    W_ASSERT(rc == SCB_EAGAIN && n > 0, "%s: filling: %s after %" PRIu64, fd_kind(flags),
             scb_strerror(rc), n);
    W_ASSERT(!fd_ready(fd, 0), "%s: full ring: writer's fd ready at once", fd_kind(flags));
    W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == 0, "%s: pop", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: a pop did not make the writer's fd ready",
             fd_kind(flags));
    W_ASSERT(fd_push(hs[0], n) == SCB_OK, "%s: push after the pop", fd_kind(flags));
    n++;
    /* scb_reserve arms as well. */
    rc = scb_reserve(hs[0], 16, &ptr);
    W_ASSERT(rc == SCB_EAGAIN, "%s: scb_reserve on a full ring: %s", fd_kind(flags),
             scb_strerror(rc));
    W_ASSERT(!fd_ready(fd, 0), "%s: writer's fd ready after scb_reserve's SCB_EAGAIN",
             fd_kind(flags));
    W_ASSERT(fd_pop(hs[1], &s) == SCB_OK && s == 1, "%s: pop", fd_kind(flags));
    W_ASSERT(fd_ready(fd, 0), "%s: a pop did not make the writer's fd ready after "
             "scb_reserve", fd_kind(flags));
    /* The reader leaves: its slot is room. */
    W_ASSERT(fd_push(hs[0], n) == SCB_OK, "%s: push", fd_kind(flags));
    W_ASSERT(fd_push(hs[0], n + 1) == SCB_EAGAIN, "%s: ring not full again", fd_kind(flags));
    W_ASSERT(!fd_ready(fd, 0), "%s: writer's fd ready at once", fd_kind(flags));
    close_h(1);
    W_ASSERT(fd_ready(fd, 0), "%s: the reader's scb_close did not make the writer's "
             "fd ready", fd_kind(flags));
    W_ASSERT(fd_push(hs[0], n + 1) == SCB_OK, "%s: push after the reader left",
             fd_kind(flags));
}
END_TEST

/* Handles that cannot have an fd, and the table's limit. */
START_TEST(test_fd_limits)
{
    static scb_t *extra[SCB_BELLS + 1];
    scb_fd_t fd;
    int i, rc;

    mk_ring(0, 16, 64, 0, 0, 0, 0);
    open_h(0, SCB_OBSERVE, 1);
    rc = scb_fd(hs[1], &fd);
    W_ASSERT(rc == SCB_ENOTSUP, "scb_fd on an observer: %s, not SCB_ENOTSUP",
             scb_strerror(rc));
    close_h(1);

    /* One doorbell per handle that called scb_fd, SCB_BELLS per ring. */
    for (i = 0; i <= (int)SCB_BELLS; i++) {
        rc = w_open_rc(0, 0, &extra[i]);
        W_ASSERT(rc == SCB_OK, "scb_open %d: %s", i, scb_strerror(rc));
        rc = scb_fd(extra[i], &fd);
        W_ASSERT(rc == (i < (int)SCB_BELLS ? SCB_OK : SCB_ELIMIT),
                 "scb_fd on handle %d of a ring with %u doorbells: %s", i + 1,
                 SCB_BELLS, scb_strerror(rc));
    }
    /* A handle that gives its bell back makes room for another. */
    W_ASSERT(scb_close(extra[0]) == SCB_OK, "scb_close");
    rc = scb_fd(extra[SCB_BELLS], &fd);
    W_ASSERT(rc == SCB_OK, "scb_fd after a handle closed: %s", scb_strerror(rc));
    for (i = 1; i <= (int)SCB_BELLS; i++)
        W_ASSERT(scb_close(extra[i]) == SCB_OK, "scb_close %d", i);
}
END_TEST

/* The highest descriptor open in this process, below 4096. */
static int top_fd(void)
{
    int fd, top = -1;

    for (fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            top = fd;
    return top;
}

/* In a child, out of descriptors: scb_fd fails cleanly and closes none of
 * the caller's; a writer that cannot ring an armed reader (no descriptor
 * for its sending end) rings it at its next push once it can. */
static int child_fd_no_descriptors(void *arg)
{
    const struct kopts *o = arg;
    struct rlimit rl;
    int open_before[64], i, n, top, rc, spare;
    scb_t *w, *r, *r2;
    scb_fd_t fd;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK || k_open(o, 0, &r) != SCB_OK ||
        k_open(o, 0, &r2) != SCB_OK)
        return 10;
    if (scb_fd(r, &fd) != SCB_OK || fd_pop(r, &(uint64_t){0}) != SCB_EAGAIN)
        return 11;
    /* Keep one descriptor to give back later, then use up the rest. */
    if ((spare = dup(0 <= fd ? fd : 0)) < 0)
        return 12;
    top = top_fd();
    rl.rlim_cur = rl.rlim_max = (rlim_t)top + 1;
    if (top >= 4000 || setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        say("setrlimit(%d): %s", top + 1, strerror(errno));
        return 13;
    }
    while (dup(spare) >= 0)
        ; /* the numbers below top that were free */
    for (i = n = 0; i <= top && n < 64; i++)
        if (fcntl(i, F_GETFD) != -1)
            open_before[n++] = i;
    rc = scb_fd(r2, &fd);
    if (rc == SCB_OK) {
        say("scb_fd with no descriptor left: SCB_OK");
        return 1;
    }
    for (i = 0; i < n; i++)
        if (fcntl(open_before[i], F_GETFD) == -1) {
            say("scb_fd's failure (%s) closed descriptor %d", scb_strerror(rc),
                open_before[i]);
            return 2;
        }
    /* The push rings the armed reader: no descriptor for the ringer. */
    if (fd_push(w, 0) != SCB_OK)
        return 14;
    if (k_ready(scb_fd(r, &fd) == SCB_OK ? fd : -1, 0) == 1) {
        say("the reader's fd is ready though its writer had no descriptor to ring");
        return 3;
    }
    close(spare);
    if (fd_push(w, 1) != SCB_OK)
        return 15;
    if (k_ready(fd, 0) != 1) {
        say("a ring that failed was not tried again at the next push");
        return 4;
    }
    scb_close(r2);
    scb_close(r);
    scb_close(w);
    return 0;
}

START_TEST(test_fd_no_descriptors)
{
    struct kopts o;
    int st;
    pid_t pid;

    mk_ring(0, 16, 64, 0, 0, 0, 0);
    close_h(0);
    memset(&o, 0, sizeof o);
    o.ready_fd = o.cmd_fd = o.rep_fd = -1;
    pid = spawn(child_fd_no_descriptors, &o);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "out of descriptors: %s", st_str(st));
}
END_TEST

/* Drops root for uid, with primary group gid and the one supplementary
 * group sup (0: none); 0 or -1. */
static int become(uid_t uid, gid_t gid, gid_t sup)
{
    if (setgroups(sup != 0 ? 1 : 0, &sup) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        say("become %d/%d: %s", (int)uid, (int)gid, strerror(errno));
        return -1;
    }
    return 0;
}

#define OU_WRITER 2001 /* uid and primary group of the writer */
#define OU_READER 2002 /* a reader in the writer's group only as a supplementary */

/* The writer of the other-users test: creates rings[0] (mode 0660, its
 * group), says ready, waits for the go, pushes item 0. */
static int child_ou_writer(void *arg)
{
    const struct kopts *o = arg;
    scb_config_t c = tu_cfg(16, 64);
    scb_t *w;
    int rc;

    if (become(OU_WRITER, OU_WRITER, 0) != 0)
        return 10;
    c.mode = 0660;
    if ((rc = scb_create(&w, rings[0], &c)) != SCB_OK) {
        say("scb_create: %s", scb_strerror(rc));
        put_byte(o->ready_fd, 'E');
        return 11;
    }
    ready(o);
    await_byte(o->cmd_fd);
    if (fd_push(w, 0) != SCB_OK)
        return 12;
    await_byte(o->cmd_fd); /* the reader is done */
    return scb_close(w) == SCB_OK ? 0 : 13;
}

/* The reader: another user, in the ring's group by a supplementary group
 * only: its doorbell must take the ring's group, or the writer could not
 * ring it.  Someone outside the group must not be able to read it. */
static int child_ou_reader(void *arg)
{
    const struct kopts *o = arg;
    struct stat st;
    uint64_t s = 1;
    scb_t *r;
    scb_fd_t fd;
    int rc;

    if (become(OU_READER, OU_READER, OU_WRITER) != 0)
        return 10;
    if (k_open(o, 0, &r) != SCB_OK)
        return 11;
    if ((rc = scb_fd(r, &fd)) != SCB_OK) {
        say("scb_fd: %s", scb_strerror(rc));
        return 12;
    }
    if (fstat(fd, &st) != 0 || st.st_gid != OU_WRITER || (st.st_mode & 07777) != 0660) {
        say("the doorbell has group %d, mode %o: not the ring's (%d, 0660)",
            (int)st.st_gid, (unsigned)(st.st_mode & 07777), OU_WRITER);
        return 1;
    }
    if (fd_pop(r, &s) != SCB_EAGAIN)
        return 13;
    ready(o);
    if (k_ready(fd, 2000) != 1) {
        say("the writer of another user did not ring within 2 s");
        return 2;
    }
    if (fd_pop(r, &s) != SCB_OK || s != 0)
        return 14;
    return scb_close(r) == SCB_OK ? 0 : 15;
}

/* Users who share a ring through a group: the writer rings a reader whose
 * primary group is another (as root only: it needs other users). */
START_TEST(test_fd_other_users)
{
    struct kopts o;
    int rfd[2], cfd[2], st;
    pid_t wp, rp;

    mk_pipe(rfd);
    mk_pipe(cfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = cfd[0];
    o.rep_fd = -1;
    wp = spawn(child_ou_writer, &o);
    expect_ready(rfd[0], "the writer of another user");
    rp = spawn(child_ou_reader, &o);
    expect_ready(rfd[0], "the reader of a third user");
    put_byte(cfd[1], 'g');
    st = reap(rp, REAP_MS);
    put_byte(cfd[1], 'q');
    W_ASSERT(exited0(st), "the reader: %s", st_str(st));
    st = reap(wp, REAP_MS);
    W_ASSERT(exited0(st), "the writer: %s", st_str(st));
}
END_TEST

void tu_wait_add_fd(Suite *s)
{
    TCase *tc;

    tc = w_tcase(s, "fd_rules", 30);
    tcase_add_loop_test(tc, test_fd_reader_rules, 0, 4);
    tcase_add_loop_test(tc, test_fd_writer_rules, 0, 4);
    tcase_add_test(tc, test_fd_limits);
    tcase_add_test(tc, test_fd_no_descriptors);
    /* Other users exist for root only, and the apr backend makes rings of
     * mode 0600 only: elsewhere this case is not built into the suite (and
     * not counted). */
    if (geteuid() == 0 && strcmp(tu_backend, "apr") != 0)
        tcase_add_test(tc, test_fd_other_users);

    tu_wait_add_fd_mp(s);
}
