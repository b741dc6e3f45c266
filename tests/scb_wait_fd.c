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
 * The conventions of check_scb_mp.c apply (children report by exit status
 * and on stderr).  The system calls a process makes to wake others are
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

#ifdef __linux__
#include <sys/epoll.h>
#endif

/* The ring kinds of the looped tests. */
static const uint32_t fd_kinds[] = {0, SCB_LOSSLESS, SCB_RECORDS,
                                    SCB_RECORDS | SCB_LOSSLESS};

static const char *fd_kind(uint32_t flags)
{
    static const char *names[] = {"overwrite", "lossless", "overwrite records",
                                  "lossless records"};

    return names[((flags & SCB_RECORDS) ? 2 : 0) + ((flags & SCB_LOSSLESS) ? 1 : 0)];
}

/* 1 if fd is readable within ms (0: now), 0 if not; the test fails if poll
 * does. */
static int fd_ready(int fd, int ms)
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
static int k_ready(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;

    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n > 0;
}

static unsigned long wake_calls(void)
{
    return atomic_load(&scb_sys_wake_calls);
}

/* A 16-byte item (or record) with seq, pushed on hs[h] without waiting. */
static int fd_push(scb_t *w, uint64_t seq)
{
    uint8_t item[16];

    tu_fill(item, sizeof item, seq);
    return scb_push_record(w, item, sizeof item);
}

/* Pops one item or record (16 bytes) into *seq; SCB_EAGAIN when none. */
static int fd_pop(scb_t *r, uint64_t *seq)
{
    uint8_t item[16];
    size_t len = 0;
    int rc = scb_pop_record(r, item, sizeof item, &len);

    if (rc == SCB_OK && (len != sizeof item || !tu_check(item, sizeof item, seq)))
        return SCB_EBADFORMAT;
    return rc;
}

static scb_fd_t fd_of(int h)
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

/* ---- several processes --------------------------------------------------- */

#define PP_FD_ROUNDS 100000

/* A random pause now and then: none mostly, up to 50 us often, 1 ms rarely,
 * so that items arrive before, during and after the other side's poll. */
static void fd_pause(void)
{
    uint64_t r = rnd();

    if ((r & 1023) == 0)
        tu_sleep_us(1000);
    else if ((r & 15) == 0)
        tu_sleep_us((unsigned)((r >> 10) % 50));
}

/* One side of the ping-pong: waits for item `seq` on r with the contract's
 * loop (pop until SCB_EAGAIN, then poll with a timeout that counts as a
 * lost wake-up).  0, or what went wrong in *why. */
static int pp_await(scb_t *r, int fd, uint64_t seq, const char **why)
{
    uint64_t s;
    int rc, n;

    for (;;) {
        rc = fd_pop(r, &s);
        if (rc == SCB_OK) {
            if (s != seq) {
                *why = "an item out of order";
                return -1;
            }
            return 0;
        }
        if (rc != SCB_EAGAIN) {
            *why = scb_strerror(rc);
            return -1;
        }
        n = k_ready(fd, 2000);
        if (n <= 0) {
            *why = n == 0 ? "no readiness in 2 s (a lost wake-up)" : "poll failed";
            return -1;
        }
    }
}

/* Echo child: rings[0] -> rings[1], PP_FD_ROUNDS items, through its fd. */
static int child_fd_echo(void *arg)
{
    const struct kopts *o = arg;
    struct kopts o1 = *o;
    const char *why = "";
    scb_t *r, *w;
    scb_fd_t fd;
    uint64_t i;
    int rc;

    o1.ring = 0;
    if (k_open(&o1, 0, &r) != SCB_OK)
        return 10;
    o1.ring = 1;
    if (k_open(&o1, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(r, &fd)) != SCB_OK) {
        say("echo: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    ready(o);
    for (i = 0; i < o->n; i++) {
        if (pp_await(r, fd, i, &why) != 0) {
            say("echo: round %" PRIu64 ": %s", i, why);
            return 1;
        }
        fd_pause();
        while ((rc = fd_push(w, i)) == SCB_EAGAIN)
            tu_sleep_us(10);
        if (rc != SCB_OK) {
            say("echo: round %" PRIu64 ": push: %s", i, scb_strerror(rc));
            return 2;
        }
    }
    scb_close(r);
    scb_close(w);
    return 0;
}

/* The contract's loop between two processes for 100 000 round trips, with
 * random pauses on both sides: every wait is in poll on scb_fd, with a
 * timeout that fails the test.  _i: the ring kind. */
START_TEST(test_fd_pingpong)
{
    uint32_t flags = fd_kinds[_i];
    const char *why = "";
    struct kopts o;
    scb_fd_t fd;
    uint64_t i, t0;
    int rfd[2], rc, st;
    pid_t pid;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 1024 : 16, flags, 0, 0, 0);
    mk_ring(1, 16, (flags & SCB_RECORDS) ? 1024 : 16, flags, 0, 0, 1);
    open_h(1, 0, 2);
    close_h(1);
    fd = fd_of(2);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.n = PP_FD_ROUNDS;
    pid = spawn(child_fd_echo, &o);
    expect_ready(rfd[0], "the echo child");
    t0 = now_ns();
    for (i = 0; i < PP_FD_ROUNDS; i++) {
        while ((rc = fd_push(hs[0], i)) == SCB_EAGAIN)
            tu_sleep_us(10);
        W_ASSERT(rc == SCB_OK, "%s: round %" PRIu64 ": push: %s", fd_kind(flags), i,
                 scb_strerror(rc));
        rc = pp_await(hs[2], fd, i, &why);
        W_ASSERT(rc == 0, "%s: round %" PRIu64 " of %d: %s", fd_kind(flags), i,
                 PP_FD_ROUNDS, why);
        fd_pause();
    }
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the echo child: %s", st_str(st));
    fprintf(stderr, "check_scb_wait: %s %s scb_fd ping-pong: %d rounds in %.0f ms\n",
            tu_backend, fd_kind(flags), PP_FD_ROUNDS, ms_since(t0));
}
END_TEST

#define MANY_FD 64

/* A reader child: arms its fd, says ready, and must see it come up and pop
 * item 0 within 5 s; reports 'G' on rep_fd. */
static int child_fd_reader1(void *arg)
{
    const struct kopts *o = arg;
    uint64_t s = UINT64_MAX;
    scb_t *r;
    scb_fd_t fd;
    int rc;

    if (k_open(o, 0, &r) != SCB_OK)
        return 10;
    if ((rc = scb_fd(r, &fd)) != SCB_OK) {
        say("reader: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    if ((rc = fd_pop(r, &s)) != SCB_EAGAIN) {
        say("reader: pop on an empty ring: %s", scb_strerror(rc));
        return 12;
    }
    ready(o);
    if (o->timeout_ms == 0) {
        for (;;)
            pause(); /* a victim, armed until it is killed */
    }
    if (k_ready(fd, (int)o->timeout_ms) != 1) {
        say("reader: fd not ready within %d ms", (int)o->timeout_ms);
        return 1;
    }
    if ((rc = fd_pop(r, &s)) != SCB_OK || s != 0) {
        say("reader: pop after poll: %s, seq %" PRIu64, scb_strerror(rc), s);
        return 2;
    }
    put_byte(o->rep_fd, 'G');
    return scb_close(r) == SCB_OK ? 0 : 3;
}

/* 64 armed readers of one ring, each in its own process: one push wakes
 * them all. */
START_TEST(test_fd_many_readers)
{
    struct kopts o;
    int rfd[2], gfd[2], i, st;
    char buf[MANY_FD];
    size_t got;

    mk_ring(0, 16, 64, 0, 0, 0, 0);
    mk_pipe(rfd);
    mk_pipe(gfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.rep_fd = gfd[1];
    o.cmd_fd = -1;
    o.timeout_ms = 5000;
    for (i = 0; i < MANY_FD; i++)
        spawn(child_fd_reader1, &o);
    for (i = 0; i < MANY_FD; i++)
        expect_ready(rfd[0], "an armed reader");
    W_ASSERT(fd_push(hs[0], 0) == SCB_OK, "push");
    got = read_bytes(gfd[0], buf, MANY_FD, 5000);
    W_ASSERT(got == MANY_FD, "%zu of %d armed readers woke up", got, MANY_FD);
    for (i = 0; i < MANY_FD; i++) {
        st = reap(kids[0], REAP_MS);
        W_ASSERT(exited0(st), "reader %d: %s", i, st_str(st));
    }
}
END_TEST

/* An armed reader SIGKILLed: the writer pays one needless ring at most,
 * then pushes without system calls. */
START_TEST(test_fd_dead_reader)
{
    uint32_t flags = fd_kinds[_i];
    struct kopts o;
    unsigned long c0;
    uint64_t i;
    int rfd[2];
    pid_t pid;

    mk_ring(0, 16, (flags & SCB_RECORDS) ? 65536 : 4096, flags, 0, 0, 0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = 0; /* stays armed */
    pid = spawn(child_fd_reader1, &o);
    expect_ready(rfd[0], "the armed reader");
    W_ASSERT(killed9(kill_reap(pid)), "the armed reader did not die of SIGKILL");
    c0 = wake_calls();
    for (i = 0; i < 1000; i++)
        W_ASSERT(fd_push(hs[0], i) == SCB_OK, "push %" PRIu64, i);
    W_ASSERT(wake_calls() - c0 <= 1, "%s: %lu system calls in 1000 pushes after the armed "
             "reader died (at most 1)", fd_kind(flags), wake_calls() - c0);
}
END_TEST

/* A writer child for the lossless tests: fills the ring, arms its fd with
 * the push that finds it full, says ready, then waits in poll (5 s) and
 * pushes once more; exits 0 if that worked, with timeout_ms 0 it stays
 * armed until it is killed. */
static int child_fd_writer(void *arg)
{
    const struct kopts *o = arg;
    uint64_t n = 0;
    scb_t *w;
    scb_fd_t fd;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(w, &fd)) != SCB_OK) {
        say("writer: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    while ((rc = fd_push(w, n)) == SCB_OK)
        n++;
    if (rc != SCB_EAGAIN) {
        say("writer: push: %s", scb_strerror(rc));
        return 12;
    }
    ready(o);
    for (;;)
        pause();
}

/* An armed lossless writer SIGKILLed: the reader's pops pay one needless
 * ring at most. */
START_TEST(test_fd_dead_writer)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct kopts o;
    unsigned long c0;
    uint64_t s, n = 0;
    int rfd[2], rc;
    pid_t pid;

    mk_ring(0, 16, _i ? 4096 : 128, flags, 0, 0, 0);
    open_h(0, 0, 1);
    close_h(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    pid = spawn(child_fd_writer, &o);
    expect_ready(rfd[0], "the armed writer");
    W_ASSERT(killed9(kill_reap(pid)), "the armed writer did not die of SIGKILL");
    c0 = wake_calls();
    while ((rc = fd_pop(hs[1], &s)) == SCB_OK) {
        W_ASSERT(s == n, "%s: popped %" PRIu64 ", expected %" PRIu64, fd_kind(flags), s, n);
        n++;
    }
    W_ASSERT(rc == SCB_EAGAIN && n > 10, "%s: %s after %" PRIu64 " pops", fd_kind(flags),
             scb_strerror(rc), n);
    W_ASSERT(wake_calls() - c0 <= 1, "%s: %lu system calls in %" PRIu64 " pops after the "
             "armed writer died (at most 1)", fd_kind(flags), wake_calls() - c0, n);
}
END_TEST

/* A lossless writer armed on a full ring whose only reader is killed: the
 * writer's fd comes up and its push succeeds within the 1 s a dead reader
 * may hold it back. */
START_TEST(test_fd_dead_blocker)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct kopts o;
    uint64_t n = 0, t0;
    scb_fd_t fd;
    int rfd[2], rc;
    pid_t pid;

    mk_ring(0, 16, _i ? 512 : 8, flags, 0, 0, 0);
    fd = fd_of(0);
    mk_pipe(rfd);
    memset(&o, 0, sizeof o);
    o.ready_fd = rfd[1];
    o.cmd_fd = o.rep_fd = -1;
    o.timeout_ms = 0;
    pid = spawn(child_fd_reader1, &o);
    expect_ready(rfd[0], "the blocking reader");
    while ((rc = fd_push(hs[0], n)) == SCB_OK)
        n++;
    W_ASSERT(rc == SCB_EAGAIN, "%s: filling: %s", fd_kind(flags), scb_strerror(rc));
    W_ASSERT(killed9(kill_reap(pid)), "the reader did not die of SIGKILL");
    t0 = now_ns();
    for (;;) {
        W_ASSERT(ms_since(t0) < 1500, "%s: the writer is still held back %.0f ms after "
                 "its only reader died", fd_kind(flags), ms_since(t0));
        W_ASSERT(fd_ready(fd, 1500), "%s: the armed writer's fd did not come up in 1.5 s "
                 "after its reader died", fd_kind(flags));
        if ((rc = fd_push(hs[0], n)) == SCB_OK)
            break;
        W_ASSERT(rc == SCB_EAGAIN, "%s: push: %s", fd_kind(flags), scb_strerror(rc));
    }
}
END_TEST

#ifdef __linux__

#define EP_RINGS 3
#define EP_ITEMS 20000

/* A writer child of the epoll test: EP_ITEMS items with random pauses,
 * waiting for room in poll on its own fd (lossless ring). */
static int child_fd_stream_writer(void *arg)
{
    const struct kopts *o = arg;
    scb_t *w;
    scb_fd_t fd;
    uint64_t i;
    int rc;

    if (k_open(o, SCB_WRITER, &w) != SCB_OK)
        return 10;
    if ((rc = scb_fd(w, &fd)) != SCB_OK) {
        say("writer: scb_fd: %s", scb_strerror(rc));
        return 11;
    }
    ready(o);
    await_byte(o->cmd_fd);
    for (i = 0; i < o->n; i++) {
        while ((rc = fd_push(w, i)) == SCB_EAGAIN) {
            if (k_ready(fd, 2000) != 1) {
                say("writer: item %" PRIu64 ": no room in 2 s", i);
                return 1;
            }
        }
        if (rc != SCB_OK) {
            say("writer: push: %s", scb_strerror(rc));
            return 2;
        }
        fd_pause();
    }
    return scb_close(w) == SCB_OK ? 0 : 3;
}

/* One process reads three lossless rings and a timer through one epoll set
 * while three writer children push into them with random pauses: every
 * item arrives, in order, and every wait ends within its timeout. */
START_TEST(test_fd_epoll)
{
    uint32_t flags = SCB_LOSSLESS | (_i ? SCB_RECORDS : 0);
    struct epoll_event ev, evs[EP_RINGS + 1];
    uint64_t next[EP_RINGS], s, total = 0;
    struct kopts o[EP_RINGS];
    int rfd[2], cfd[2], ep, i, n, k, st, rc;

    mk_pipe(rfd);
    mk_pipe(cfd);
    ep = epoll_create1(EPOLL_CLOEXEC);
    W_ASSERT(ep >= 0, "epoll_create1: %s", strerror(errno));
    for (k = 0; k < EP_RINGS; k++) {
        mk_ring(k, 16, _i ? 2048 : 64, flags, 0, 0, k);
        open_h(k, 0, EP_RINGS + k);
        close_h(k);
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)k;
        W_ASSERT(epoll_ctl(ep, EPOLL_CTL_ADD, fd_of(EP_RINGS + k), &ev) == 0,
                 "epoll_ctl: %s", strerror(errno));
        memset(&o[k], 0, sizeof o[k]);
        o[k].ring = k;
        o[k].ready_fd = rfd[1];
        o[k].cmd_fd = cfd[0];
        o[k].rep_fd = -1;
        o[k].n = EP_ITEMS;
        spawn(child_fd_stream_writer, &o[k]);
        next[k] = 0;
    }
    for (k = 0; k < EP_RINGS; k++) {
        expect_ready(rfd[0], "a writer");
        /* The contract's loop starts with the pops: their SCB_EAGAIN arms. */
        rc = fd_pop(hs[EP_RINGS + k], &s);
        W_ASSERT(rc == SCB_EAGAIN, "%s: first pop: %s", fd_kind(flags), scb_strerror(rc));
    }
    for (k = 0; k < EP_RINGS; k++)
        put_byte(cfd[1], 'g'); /* go */
    while (total < (uint64_t)EP_RINGS * EP_ITEMS) {
        n = epoll_wait(ep, evs, EP_RINGS + 1, 2000);
        if (n < 0 && errno == EINTR)
            continue;
        W_ASSERT(n > 0, "%s: epoll_wait: %s with %" PRIu64 " of %d items in (a lost "
                 "wake-up)", fd_kind(flags), n == 0 ? "2 s without readiness" :
                 strerror(errno), total, EP_RINGS * EP_ITEMS);
        for (i = 0; i < n; i++) {
            k = (int)evs[i].data.u32;
            while ((rc = fd_pop(hs[EP_RINGS + k], &s)) == SCB_OK) {
                W_ASSERT(s == next[k], "%s: ring %d: item %" PRIu64 ", expected %" PRIu64,
                         fd_kind(flags), k, s, next[k]);
                next[k]++;
                total++;
            }
            W_ASSERT(rc == SCB_EAGAIN, "%s: pop: %s", fd_kind(flags), scb_strerror(rc));
        }
    }
    close(ep);
    for (k = 0; k < EP_RINGS; k++) {
        st = reap(kids[0], REAP_MS);
        W_ASSERT(exited0(st), "writer %d: %s", k, st_str(st));
    }
}
END_TEST

#endif /* __linux__ */

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

    tc = w_tcase(s, "fd_pingpong", 120);
    tcase_add_loop_test(tc, test_fd_pingpong, 0, 4);

    tc = w_tcase(s, "fd_processes", 60);
    tcase_add_test(tc, test_fd_many_readers);
    tcase_add_loop_test(tc, test_fd_dead_reader, 0, 4);
    tcase_add_loop_test(tc, test_fd_dead_writer, 0, 2);
    tcase_add_loop_test(tc, test_fd_dead_blocker, 0, 2);
#ifdef __linux__
    tcase_add_loop_test(tc, test_fd_epoll, 0, 2);
#endif
}
