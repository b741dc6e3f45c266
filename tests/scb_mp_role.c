/*
 * scb_mp_role.c - the writer role (busy, closed, process id reused),
 * killed readers and many short-lived readers, in the multi-process suite
 * of tests/check_scb (see check_scb_mp.c): the mp_writer_role,
 * mp_reader_killed and mp_many_readers tcases.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp.h"

/* ---- 3. the writer role --------------------------------------------------- */

/* A writer child that holds the role until told: 'c' closes the handle
 * (and reports 'C'), end of file ends the process. */
struct holder_opts {
    int report_fd;
    int cmd_fd;
    int cmd_wfd; /* the test process's end, closed here so its close is seen */
};

static int holder_main(void *arg)
{
    const struct holder_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint8_t item[64];
    scb_t *w;
    char cmd;
    int rc;

    close(o->cmd_wfd);
    c.flags = SCB_WRITER;
    rc = scb_open(&w, ring, &c);
    if (rc != SCB_OK) {
        say("holder: scb_open(SCB_WRITER): %s", scb_strerror(rc));
        put_byte(o->report_fd, 'E');
        return 2;
    }
    put_byte(o->report_fd, 'O');
    for (;;) {
        ssize_t r = read(o->cmd_fd, &cmd, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (cmd == 'c' && w != NULL) {
            rc = scb_close(w);
            w = NULL;
            put_byte(o->report_fd, rc == SCB_OK ? 'C' : 'E');
        } else if (cmd == 'p' && w != NULL) {
            scb_info_t info;
            scb_info(w, &info);
            tu_fill(item, sizeof item < info.item_size ? sizeof item : info.item_size,
                    info.pushed);
            rc = scb_push(w, item);
            put_byte(o->report_fd, rc == SCB_OK ? 'P' : 'E');
        }
    }
    if (w != NULL)
        scb_close(w);
    return 0;
}

/* Starts a holder; fds[0] reads its reports, fds[1] sends it commands. */
static pid_t start_holder(int fds[2])
{
    static struct holder_opts ho;
    int rep[2], cmd[2];
    pid_t pid;
    char c = 0;

    MP_ASSERT(pipe(rep) == 0 && pipe(cmd) == 0, "pipe: %s", strerror(errno));
    ho.report_fd = rep[1];
    ho.cmd_fd = cmd[0];
    ho.cmd_wfd = cmd[1];
    pid = spawn(holder_main, &ho);
    close(rep[1]);
    close(cmd[0]);
    fds[0] = rep[0];
    fds[1] = cmd[1];
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'O', "the holder could not take the writer role");
    return pid;
}

static void writer_gone(void)
{
    int rc = scb_close(hs[0]);

    hs[0] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
}

START_TEST(test_role_busy_then_killed)
{
    scb_config_t wc;
    scb_info_t info;
    uint8_t item[64];
    uint64_t t0, elapsed, seq;
    pid_t pid;
    int fds[2], rc, st, tries = 0;
    char c = 0;

    cfg = tu_cfg(sizeof item, 16);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    /* While the creator holds the role, nobody else gets it. */
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer beside the creator: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));

    pid = start_holder(fds);
    put_byte(fds[1], 'p');
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'P', "the holder could not push");
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer while a child holds the role: %s",
              scb_strerror(rc));
    MP_ASSERT(hs[2] == NULL, "a failed open left a handle");
    rc = scb_info(hs[1], &info);
    MP_ASSERT(rc == SCB_OK && info.writer_alive == 1 && info.writer_pid == (int64_t)pid,
              "scb_info: writer_alive %d, writer_pid %" PRId64 ", expected 1 and %ld",
              info.writer_alive, info.writer_pid, (long)pid);
    MP_ASSERT(info.is_writer == 0, "a reader handle says it is the writer");

    /* SIGKILLed and not reaped: a zombie is dead. */
    kill(pid, SIGKILL);
    t0 = now_ns();
    for (;;) {
        tries++;
        rc = scb_open(&hs[2], ring, &wc);
        elapsed = now_ns() - t0;
        if (rc != SCB_EBUSY || elapsed > 2000000000u)
            break;
        tu_sleep_us(1000);
    }
    MP_ASSERT(rc == SCB_OK, "takeover from a killed writer: %s after %.3f s",
              scb_strerror(rc), (double)elapsed / 1e9);
    MP_ASSERT(elapsed < 1000000000u, "takeover took %.3f s (%d tries)",
              (double)elapsed / 1e9, tries);
    MP_ASSERT(waitpid(pid, &st, WNOHANG) == pid && killed9(st),
              "the killed holder was not a zombie waiting to be reaped");
    forget(pid);
    close(fds[0]);
    close(fds[1]);
    rc = scb_info(hs[1], &info);
    MP_ASSERT(rc == SCB_OK && info.writer_alive == 1 &&
                  info.writer_pid == (int64_t)getpid(),
              "after takeover: writer_alive %d, writer_pid %" PRId64 ", expected 1 and %ld",
              info.writer_alive, info.writer_pid, (long)getpid());

    /* The new writer carries on where the dead one stopped. */
    scb_info(hs[2], &info);
    MP_ASSERT(info.pushed == 1 && info.is_writer == 1, "pushed %" PRIu64, info.pushed);
    for (seq = info.pushed; seq < info.pushed + 5; seq++) {
        tu_fill(item, sizeof item, seq);
        MP_ASSERT(scb_push(hs[2], item) == SCB_OK, "push after takeover");
    }
    for (seq = 0; seq < 6; seq++) {
        uint64_t s = UINT64_MAX;
        rc = scb_pop(hs[1], item);
        MP_ASSERT(rc == SCB_OK && tu_check(item, sizeof item, &s) && s == seq,
                  "pop %" PRIu64 ": %s, seq %" PRIu64, seq, scb_strerror(rc), s);
    }
    MP_ASSERT(scb_pop(hs[1], item) == SCB_EAGAIN, "an item too many");
}
END_TEST

START_TEST(test_role_closed)
{
    static struct writer_opts wo;
    scb_config_t wc;
    scb_info_t info;
    pid_t pid;
    int fds[2], rc, st;
    char c = 0;

    cfg = tu_cfg(32, 16);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0 && info.writer_pid == 0,
              "no writer: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);

    /* A writer that closed its handle gave the role up, though its process
     * lives on. */
    pid = start_holder(fds);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "open as writer while a child holds the role: %s",
              scb_strerror(rc));
    put_byte(fds[1], 'c');
    read_bytes(fds[0], &c, 1, 10000);
    MP_ASSERT(c == 'C', "the holder could not close");
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0, "after close: writer_alive %d", info.writer_alive);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover after the writer closed (its process alive): %s",
              scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)getpid(),
              "writer_alive %d, writer_pid %" PRId64, info.writer_alive, info.writer_pid);
    rc = scb_close(hs[2]);
    hs[2] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));
    close(fds[1]);
    close(fds[0]);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the holder: %s", st_str(st));

    /* A writer that closed and exited normally: takeover at once. */
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.count = 100;
    wo.max_batch = 4;
    pid = spawn(writer_main, &wo);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the writer: %s", st_str(st));
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover after the writer closed and exited: %s",
              scb_strerror(rc));
    scb_info(hs[2], &info);
    MP_ASSERT(info.pushed == 100, "pushed %" PRIu64, info.pushed);
}
END_TEST

/* Writes the writer identity of the ring through the backend, as a process
 * whose id was reused would leave it. */
static void set_writer_id(uint64_t id)
{
    const scb_backend_t *be = scb_backend_find(tu_backend);
    scb_seg_t seg;
    struct scb_hdr *hdr;
    int rc;

    MP_ASSERT(be != NULL, "backend %s", tu_backend);
    rc = scb_backend_open(be, &seg, ring, 1);
    MP_ASSERT(rc == SCB_OK, "scb_backend_open: %s", scb_strerror(rc));
    MP_ASSERT(seg.size >= sizeof *hdr, "segment of %zu bytes", seg.size);
    hdr = seg.base;
    atomic_store(&hdr->writer_id, id);
    scb_backend_close(be, &seg);
}

/* A child that sends its process identity and sleeps until end of file. */
static int ident_main(void *arg)
{
    const int *fd = arg; /* report (write), command (read), command (write) */
    uint64_t id = scb_sys_proc_self();
    char c;

    close(fd[2]);

    if (write(fd[0], &id, sizeof id) != (ssize_t)sizeof id)
        return 2;
    while (read(fd[1], &c, 1) < 0 && errno == EINTR)
        ;
    return 0;
}

START_TEST(test_role_pid_reuse)
{
    scb_config_t wc;
    scb_info_t info;
    uint64_t id = 0, self, wrong;
    pid_t pid;
    int rep[2], cmd[2], kfd[3], rc, st;

    cfg = tu_cfg(16, 4);
    wc = cfg;
    wc.flags = SCB_WRITER;
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));

    MP_ASSERT(pipe(rep) == 0 && pipe(cmd) == 0, "pipe: %s", strerror(errno));
    kfd[0] = rep[1];
    kfd[1] = cmd[0];
    kfd[2] = cmd[1];
    pid = spawn(ident_main, kfd);
    close(rep[1]);
    close(cmd[0]);
    MP_ASSERT(read_bytes(rep[0], &id, sizeof id, 10000) == sizeof id,
              "the child did not send its identity");
    MP_ASSERT((id >> 32) == (uint64_t)pid, "identity %#" PRIx64 " of pid %ld", id,
              (long)pid);

    /* The true identity of a live process holds the role. */
    set_writer_id(id);
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)pid,
              "live identity: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_EBUSY, "takeover from a live identity: %s", scb_strerror(rc));

    /* The same live process id with another start time is a process whose
     * id was reused: the writer is dead. */
    wrong = (id & ~(uint64_t)UINT32_MAX) | (uint32_t)((uint32_t)id ^ 0x5a5a5a5au);
    set_writer_id(wrong);
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 0, "reused pid %ld: writer_alive %d", (long)pid,
              info.writer_alive);
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover from a reused pid (a live child's): %s",
              scb_strerror(rc));
    scb_info(hs[1], &info);
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)getpid(),
              "after takeover: writer_alive %d, writer_pid %" PRId64, info.writer_alive,
              info.writer_pid);
    rc = scb_close(hs[2]);
    hs[2] = NULL;
    MP_ASSERT(rc == SCB_OK, "scb_close: %s", scb_strerror(rc));

    /* The same with this very process's id. */
    self = scb_sys_proc_self();
    MP_ASSERT((self >> 32) == (uint64_t)getpid(), "own identity %#" PRIx64, self);
    set_writer_id((self & ~(uint64_t)UINT32_MAX) |
                  (uint32_t)((uint32_t)self ^ 0xa5a5a5a5u));
    rc = scb_open(&hs[2], ring, &wc);
    MP_ASSERT(rc == SCB_OK, "takeover from a reused pid (our own): %s", scb_strerror(rc));

    close(cmd[1]);
    close(rep[0]);
    st = reap(pid, REAP_MS);
    MP_ASSERT(exited0(st), "the identity child: %s", st_str(st));
}
END_TEST

/* ---- 4. killing a reader never harms the ring ---------------------------- */

#define KILL_ROUNDS 12

START_TEST(test_reader_killed)
{
    struct reader_opts ro[3];
    struct writer_opts wo;
    pid_t wp, survivor, late;
    scb_info_t info;
    uint64_t pushed0;
    char c;
    int fds[2], i, st, rc;

    cfg = tu_cfg(256, 64);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    /* One reader runs throughout, from before the first push; others are
     * killed in mid-loop. */
    MP_ASSERT(pipe(fds) == 0, "pipe: %s", strerror(errno));
    memset(ro, 0, sizeof ro);
    ro[0].slot = 0;
    ro[0].mode = R_MIX;
    ro[0].ready_fd = fds[1];
    survivor = spawn(reader_main, &ro[0]);
    MP_ASSERT(read_bytes(fds[0], &c, 1, 10000) == 1 && c == 'R', "reader did not open");
    writer_gone();
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.max_batch = 8;
    wp = spawn(writer_main, &wo);
    for (i = 0; i < KILL_ROUNDS; i++) {
        uint64_t t0 = now_ns();
        pid_t victim;

        ro[1].slot = 1 + i % 2;
        ro[1].mode = i % 2 ? R_FAST : R_SLOW;
        ro[1].ready_fd = fds[1];
        atomic_store(&mp_sh->r[ro[1].slot].progress, 0);
        victim = spawn(reader_main, &ro[1]);
        MP_ASSERT(read_bytes(fds[0], &c, 1, 10000) == 1 && c == 'R',
                  "round %d: reader did not open", i);
        while (atomic_load(&mp_sh->r[ro[1].slot].progress) < 100 &&
               now_ns() - t0 < 5000000000u)
            tu_sleep_us(100);
        MP_ASSERT(atomic_load(&mp_sh->r[ro[1].slot].progress) >= 100,
                  "round %d: the reader read nothing", i);
        tu_sleep_us((unsigned)(rnd() % 1000));
        kill(victim, SIGKILL);
        st = reap(victim, REAP_MS);
        MP_ASSERT(killed9(st), "round %d: the victim: %s", i, st_str(st));
    }

    /* The writer kept pushing. */
    rc = scb_open(&hs[1], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_open: %s", scb_strerror(rc));
    scb_info(hs[1], &info);
    pushed0 = info.pushed;
    MP_ASSERT(info.writer_alive == 1 && info.writer_pid == (int64_t)wp,
              "writer_alive %d, writer_pid %" PRId64, info.writer_alive, info.writer_pid);

    /* A reader opened afterwards reads intact items. */
    ro[2].slot = 3;
    ro[2].mode = R_MIX;
    ro[2].ready_fd = -1;
    ro[2].max_items = 20000;
    late = spawn(reader_main, &ro[2]);
    st = reap(late, REAP_MS);
    MP_ASSERT(exited0(st), "late reader: %s, %s", st_str(st), rs_str(3));
    MP_ASSERT(mp_sh->r[3].returned >= 20000 && mp_sh->r[3].bad == 0 && mp_sh->r[3].disorder == 0,
              "late reader: %s", rs_str(3));
    MP_ASSERT(mp_sh->r[3].first_seq >= (pushed0 > 64 ? pushed0 - 64 : 0),
              "late reader started before the oldest item kept (%" PRIu64 "): %s",
              pushed0, rs_str(3));
    scb_info(hs[1], &info);
    MP_ASSERT(info.pushed > pushed0, "the writer stopped at %" PRIu64, pushed0);

    atomic_store(&mp_sh->stop_writer, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "writer: %s", st_str(st));
    atomic_store(&mp_sh->stop_readers, 1);
    st = reap(survivor, REAP_MS);
    close(fds[0]);
    close(fds[1]);
    MP_ASSERT(exited0(st), "surviving reader: %s, %s", st_str(st), rs_str(0));
    MP_ASSERT(mp_sh->r[0].returned > 0 && mp_sh->r[0].bad == 0 && mp_sh->r[0].disorder == 0,
              "surviving reader: %s", rs_str(0));
    /* The writer is gone and pushes no more: what the survivor returned and
     * lost is everything pushed since it started (at 0). */
    MP_ASSERT(mp_sh->r[0].returned + mp_sh->r[0].lost == mp_sh->r[0].pushed,
              "surviving reader: returned + lost != pushed: %s", rs_str(0));
}
END_TEST

/* ---- 5. many short-lived readers ----------------------------------------- */

#define SHORT_READERS 20

/* Opens, pops some, closes, three times over. */
static int short_reader_main(void *arg)
{
    struct reader_opts o = *(const struct reader_opts *)arg;
    int k, rc;

    for (k = 0; k < 3; k++) {
        memset(&mp_sh->r[o.slot], 0, sizeof mp_sh->r[o.slot]);
        o.oflags = (o.slot + k) % 2 ? SCB_LATEST : 0;
        o.mode = (o.slot + k) % 3;
        rc = reader_main(&o);
        if (rc != 0)
            return rc;
        if (mp_sh->r[o.slot].returned == 0) {
            say("short reader %d: nothing read", o.slot);
            return 6;
        }
    }
    return 0;
}

START_TEST(test_many_readers)
{
    struct reader_opts ro[SHORT_READERS];
    struct writer_opts wo;
    pid_t wp, rp[SHORT_READERS];
    int i, st, rc;

    cfg = tu_cfg(128, 64);
    rc = scb_create(&hs[0], ring, &cfg);
    MP_ASSERT(rc == SCB_OK, "scb_create: %s", scb_strerror(rc));
    writer_gone();
    memset(&wo, 0, sizeof wo);
    wo.report_fd = -1;
    wo.max_batch = 8;
    wp = spawn(writer_main, &wo);
    for (i = 0; i < SHORT_READERS; i++) {
        memset(&ro[i], 0, sizeof ro[i]);
        ro[i].slot = i;
        ro[i].ready_fd = -1;
        ro[i].max_items = 2000;
        rp[i] = spawn(short_reader_main, &ro[i]);
    }
    for (i = 0; i < SHORT_READERS; i++) {
        st = reap(rp[i], REAP_MS);
        MP_ASSERT(exited0(st), "short reader %d: %s, %s", i, st_str(st), rs_str(i));
    }
    atomic_store(&mp_sh->stop_writer, 1);
    st = reap(wp, REAP_MS);
    MP_ASSERT(exited0(st), "writer: %s", st_str(st));
}
END_TEST

void tu_mp_add_role(Suite *s)
{
    TCase *tc;

    tc = mp_tcase("mp_writer_role");
    tcase_add_test(tc, test_role_busy_then_killed);
    tcase_add_test(tc, test_role_closed);
    tcase_add_test(tc, test_role_pid_reuse);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_reader_killed");
    tcase_add_test(tc, test_reader_killed);
    suite_add_tcase(s, tc);

    tc = mp_tcase("mp_many_readers");
    tcase_add_test(tc, test_many_readers);
    suite_add_tcase(s, tc);
}
