/*
 * scb_wait_guard.c - the "guard" tcases of the wait suite of tests/check_scb
 * (see check_scb_wait.c): what a reader's registration and a handle's
 * roles must withstand.
 *
 *   - a handle inherited through fork() acts for nobody in the child: its
 *     calls fail with SCB_EINVAL, and its close there releases neither the
 *     parent's writer role nor its reader slot;
 *   - a registering reader that finds the writer stuck in one push gives up
 *     with SCB_EBUSY instead of waiting for ever;
 *   - a registering reader that cannot issue the heavy barrier of a ring
 *     with asymmetric barriers gets SCB_ENOTSUP at once (Linux, seccomp);
 *   - a registered reader whose slot was taken from it (judged dead) never
 *     writes into the slot's new owner's position, and registers again.
 *
 * The stuck push and the misjudged death are forged through the segment
 * format (layout.h) on a raw mapping (backend.h), as the hostile tests do.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_wait.h"

#include "backend.h"
#include "layout.h"

#ifdef __linux__
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#endif

/* A read-write mapping of rings[k] that bypasses the library, unmapped by
 * raw_unmap. */
static struct scb_hdr *raw_map(int k, scb_seg_t *seg)
{
    const scb_backend_t *be = scb_backend_find(tu_backend);
    int rc;

    W_ASSERT(be != NULL, "backend %s not built in", tu_backend);
    rc = scb_backend_open(be, seg, rings[k], 1);
    W_ASSERT(rc == SCB_OK, "raw open of %s: %s", rings[k], scb_strerror(rc));
    return seg->base;
}

static void raw_unmap(scb_seg_t *seg)
{
    scb_backend_close(scb_backend_find(tu_backend), seg);
}

static struct scb_slot *slot_of(struct scb_hdr *h, uint32_t i)
{
    struct scb_wait *wl = (struct scb_wait *)((uint8_t *)h + h->shared_off);

    return (struct scb_slot *)(wl + 1) + i;
}

/* ---- fork ---------------------------------------------------------------- */

/* The child's side: every call on the inherited handle fails cleanly, and
 * closing it works. */
static int child_inherited(void *arg)
{
    scb_t *h = arg;
    uint8_t item[16] = {0};
    scb_info_t info;
    size_t n;

    if (scb_push(h, item) != SCB_EINVAL || scb_pop(h, item) != SCB_EINVAL ||
        scb_push_many(h, item, 1, &n) != SCB_EINVAL ||
        scb_pop_many(h, item, 1, &n) != SCB_EINVAL ||
        scb_push_wait(h, item, 10) != SCB_EINVAL ||
        scb_pop_wait(h, item, 10) != SCB_EINVAL ||
        scb_info(h, &info) != SCB_EINVAL || scb_usage(h) != 0 || scb_lost(h) != 0)
        return 2;
    if (scb_close(h) != SCB_OK)
        return 3;
    return 0;
}

/* A child that opens rings[0] as writer and exits with 0 on SCB_EBUSY. */
static int child_takeover_busy(void *arg)
{
    scb_t *w = NULL;
    int rc;

    (void)arg;
    rc = w_open_rc(0, SCB_WRITER, &w);
    if (rc == SCB_OK)
        scb_close(w);
    return rc == SCB_EBUSY ? 0 : 10 - rc;
}

/* _i 0: the writer's handle; 1: a lossless reader's. */
START_TEST(test_fork_inherited_handle)
{
    int st, rc;
    uint8_t item[16];
    scb_info_t info;
    pid_t pid;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    pid = spawn(child_inherited, hs[_i]);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "the child's calls on an inherited %s handle: %s",
             _i ? "reader" : "writer", st_str(st));

    /* The parent still holds its writer role... */
    pid = spawn(child_takeover_busy, NULL);
    st = reap(pid, REAP_MS);
    W_ASSERT(exited0(st), "after the child closed the inherited %s handle, "
             "another process's takeover: %s (exit 0 = SCB_EBUSY)",
             _i ? "reader" : "writer", st_str(st));
    /* ...and its reader slot: the writer is held back by it. */
    info = w_info_of(0);
    W_ASSERT(info.readers == 1, "registered readers after the child's close: %u",
             info.readers);
    for (rc = SCB_OK, next_push = 0; next_push < 5 && rc == SCB_OK;)
        rc = push1(0);
    W_ASSERT(rc == SCB_EAGAIN && next_push == 4,
             "the writer pushed %" PRIu64 " items into a ring of 4 its reader has "
             "not read (%s)", next_push, scb_strerror(rc));
    next_pop = 0;
    pop_expect_n(1, 4);
    tu_fill(item, sizeof item, 4);
    W_ASSERT(scb_push(hs[0], item) == SCB_OK, "push after the reader caught up");
}
END_TEST

/* ---- registration against a push that never ends -------------------------- */

static int child_open_reader_rc(void *arg)
{
    scb_t *r = NULL;
    uint64_t t0 = now_ns();
    int rc;

    (void)arg;
    rc = w_open_rc(0, 0, &r);
    if (rc == SCB_OK)
        scb_close(r);
    if (ms_since(t0) > 5000)
        return 100;
    return rc == SCB_EBUSY ? 0 : 10 - rc;
}

/* The writer (this process, alive) seems to be in the middle of a push for
 * ever: push_seq odd, as a writer stopped by SIGSTOP or a debugger leaves
 * it. */
START_TEST(test_register_stuck_push)
{
    scb_seg_t seg;
    struct scb_hdr *h;
    uint64_t push_seq;
    pid_t pid;
    int st;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    h = raw_map(0, &seg);
    push_seq = scb_load_relaxed(&h->push_seq);
    scb_store_relaxed(&h->push_seq, push_seq | 1);
    pid = spawn(child_open_reader_rc, NULL);
    st = reap(pid, 10000);
    scb_store_relaxed(&h->push_seq, push_seq);
    raw_unmap(&seg);
    W_ASSERT(exited0(st), "a reader's open while the live writer's push never "
             "ends: %s (exit 0 = SCB_EBUSY within 5 s, 100 = too slow)", st_str(st));
    /* It left no slot behind. */
    W_ASSERT(w_info_of(0).readers == 0, "a failed registration kept its slot");
}
END_TEST

/* ---- a misjudged death ----------------------------------------------------- */

START_TEST(test_reader_evicted_rejoins)
{
    scb_seg_t seg;
    struct scb_hdr *h;
    uint64_t owner, pos1;
    scb_info_t info;
    int rc;

    mk_ring(0, 16, 4, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = next_pop = 0;
    W_ASSERT(push1(0) == SCB_OK && push1(0) == SCB_OK && push1(0) == SCB_OK,
             "three pushes");
    pop_expect_n(1, 1);
    /* A writer judged reader 1 dead and freed its slot; reader 2 took it. */
    h = raw_map(0, &seg);
    owner = scb_load_relaxed(&slot_of(h, 0)->owner);
    W_ASSERT(owner != 0, "reader 1 holds slot 0");
    scb_store_relaxed(&slot_of(h, 0)->owner, 0);
    open_h(0, SCB_LATEST, 2);
    pos1 = scb_load_relaxed(&slot_of(h, 0)->pos);
    W_ASSERT(scb_load_relaxed(&slot_of(h, 0)->owner) == owner && pos1 == 3,
             "reader 2 took slot 0 at position 3 (position %" PRIu64 ")", pos1);
    /* Reader 1 reads on: slot 0 keeps reader 2's position. */
    pop_expect_n(1, 1);
    W_ASSERT(scb_load_relaxed(&slot_of(h, 0)->pos) == 3,
             "reader 1 wrote its position %" PRIu64 " into reader 2's slot",
             scb_load_relaxed(&slot_of(h, 0)->pos));
    /* It registered again in slot 1, where it is. */
    W_ASSERT(scb_load_relaxed(&slot_of(h, 1)->owner) == owner &&
                 scb_load_relaxed(&slot_of(h, 1)->pos) == 2,
             "reader 1 did not register again in slot 1");
    raw_unmap(&seg);
    info = w_info_of(0);
    W_ASSERT(info.readers == 2, "registered readers: %u", info.readers);
    /* Both hold the writer back again, and lose nothing. */
    for (rc = SCB_OK; rc == SCB_OK;)
        rc = push1(0);
    W_ASSERT(next_push == 6, "the writer pushed up to %" PRIu64 " (ring of 4, "
             "slowest reader at 2)", next_push);
    pop_expect_n(1, 4);
    W_ASSERT(scb_lost(hs[1]) == 0 && scb_lost(hs[2]) == 0, "lost %" PRIu64 ", %" PRIu64,
             scb_lost(hs[1]), scb_lost(hs[2]));
}
END_TEST

/* An evicted reader registers again inside a pop without waiting: while
 * the writer seems stuck in a push the pop returns at once and the reader
 * reads on unregistered; a later pop registers it. */
START_TEST(test_rejoin_does_not_wait)
{
    scb_seg_t seg;
    struct scb_hdr *h;
    uint64_t push_seq, t0;
    double dt;
    int rc;

    mk_ring(0, 16, 8, SCB_LOSSLESS, 0, 0, 0);
    open_h(0, 0, 1);
    next_push = next_pop = 0;
    W_ASSERT(push1(0) == SCB_OK && push1(0) == SCB_OK, "two pushes");
    h = raw_map(0, &seg);
    scb_store_relaxed(&slot_of(h, 0)->owner, 0); /* judged dead */
    push_seq = scb_load_relaxed(&h->push_seq);
    scb_store_relaxed(&h->push_seq, push_seq | 1);
    t0 = now_ns();
    pop_expect_n(1, 1);
    dt = ms_since(t0);
    W_ASSERT(dt < 200, "a pop that found its reader evicted took %.1f ms", dt);
    W_ASSERT(w_info_of(0).readers == 0, "registered while the push was under way");
    scb_store_relaxed(&h->push_seq, push_seq);
    raw_unmap(&seg);
    /* The next try comes at a pop at least 100 ms later. */
    tu_sleep_us(150000);
    pop_expect_n(1, 1);
    W_ASSERT(w_info_of(0).readers == 1, "the reader did not register again");
    for (rc = SCB_OK; rc == SCB_OK;)
        rc = push1(0);
    W_ASSERT(next_push == 10, "the writer pushed up to %" PRIu64 " (ring of 8, "
             "reader at 2)", next_push);
}
END_TEST

/* ---- asymmetric barriers without the heavy one ------------------------------ */

#ifdef __linux__
/* Makes membarrier fail with ENOSYS in this process, as a seccomp policy of
 * a container or a sandbox does. */
static int deny_membarrier(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static int child_pusher(void *arg)
{
    uint8_t item[16] = {0};
    scb_t *w = NULL;

    (void)arg;
    if (w_open_rc(0, SCB_WRITER, &w) != SCB_OK)
        return 2;
    for (;;)
        (void)scb_push(w, item);
}

/* Opens a reader of rings[0] without membarrier; exits 0 if the open gave
 * what *arg says. */
static int child_open_denied(void *arg)
{
    int want = *(const int *)arg;
    scb_t *r = NULL;
    int rc;

    if (deny_membarrier() != 0)
        return 3;
    rc = w_open_rc(0, 0, &r);
    if (rc == SCB_OK)
        scb_close(r);
    return rc == want ? 0 : 10 - rc;
}

/* Creates rings[1] with SCB_ASYM_BARRIERS without membarrier: the ring
 * uses full fences and says so. */
static int child_create_denied(void *arg)
{
    scb_config_t c = tu_cfg(8, 8);
    scb_info_t info;
    scb_t *w = NULL;
    int rc;

    (void)arg;
    if (deny_membarrier() != 0)
        return 3;
    c.flags = SCB_ASYM_BARRIERS;
    if ((rc = scb_create(&w, rings[1], &c)) != SCB_OK)
        return 10 - rc;
    rc = scb_info(w, &info);
    scb_close(w);
    scb_unlink(rings[1], &c);
    return rc == SCB_OK && (info.flags & SCB_ASYM_BARRIERS) == 0 ? 0 : 4;
}

START_TEST(test_asym_create_without_membarrier)
{
    pid_t pid = spawn(child_create_denied, NULL);
    int st = reap(pid, 5000);

    W_ASSERT(exited0(st), "SCB_ASYM_BARRIERS without membarrier: %s (exit 4: "
             "scb_info reports the flag although it is not in force)", st_str(st));
}
END_TEST

/* _i 0: a ring made for asymmetric barriers: SCB_ENOTSUP at once, while
 * the writer pushes non-stop.  _i 1: a ring with full fences (the
 * default) needs no membarrier: the reader registers. */
START_TEST(test_register_without_heavy_barrier)
{
    uint32_t flags = SCB_LOSSLESS | (_i == 0 ? SCB_ASYM_BARRIERS : 0);
    int want = _i == 0 ? SCB_ENOTSUP : SCB_OK;
    scb_info_t info;
    pid_t writer, pid;
    int st;

    mk_ring(0, 16, 1024, flags, 0, 0, 0);
    info = w_info_of(0);
    W_ASSERT((info.flags & SCB_ASYM_BARRIERS) == (flags & SCB_ASYM_BARRIERS),
             "ring flags %#x for create flags %#x (asymmetric barriers need "
             "Linux 4.16)", (unsigned)info.flags, (unsigned)flags);
    close_h(0); /* the writer role goes to a child that pushes non-stop */
    writer = spawn(child_pusher, NULL);
    tu_sleep_us(50000);
    pid = spawn(child_open_denied, &want);
    st = reap(pid, 5000);
    kill_reap(writer);
    W_ASSERT(exited0(st), "a reader's open without membarrier, while the writer "
             "pushes, %s: %s (exit 0 = %s)",
             _i == 0 ? "asymmetric barriers" : "full fences", st_str(st),
             scb_strerror(want));
}
END_TEST
#endif

void tu_wait_add_guard(Suite *s)
{
    TCase *tc = w_tcase(s, "guard", 30);

    tcase_add_loop_test(tc, test_fork_inherited_handle, 0, 2);
    tcase_add_test(tc, test_register_stuck_push);
    tcase_add_test(tc, test_reader_evicted_rejoins);
    tcase_add_test(tc, test_rejoin_does_not_wait);
#ifdef __linux__
    tcase_add_loop_test(tc, test_register_without_heavy_barrier, 0, 2);
    tcase_add_test(tc, test_asym_create_without_membarrier);
#endif
}
