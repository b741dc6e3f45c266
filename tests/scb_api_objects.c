/*
 * scb_api_objects.c - tcases "objects" and "creating" of the API suite of
 * tests/check_scb: what the OS holds under a ring's name.  "objects": things
 * at a ring's name that are no ring (a directory, a symbolic link), a name
 * removed and made again while a handle still maps the old ring, APR's size
 * word, what sysv's scb_unlink may remove.  "creating": rings still being
 * created, by a live or a dead creator.  Unix only: these tests make OS
 * objects by hand, forge headers through layout.h and fork.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <sys/statvfs.h>
#ifdef __linux__
#include <sched.h>
#include <sys/mount.h>
#endif

#include "scb_api.h"

/* Where Linux shows the posix backend's object of ring `name`. */
static void posix_file(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/dev/shm/scb.%s", name);
}

/* ------------------------------------------------------------------------ */
/* posix: a directory or a symbolic link at a ring's name.                  */

enum { NOTOBJ_DIR, NOTOBJ_LINK_TO_RING, NOTOBJ_LINK_DANGLING, NOTOBJ_FIFO,
       N_NOTOBJ };

/* scb_list callback: counts the reports of g_name. */
static int find_name(const char *name, void *arg)
{
    if (strcmp(name, g_name) == 0)
        ++*(int *)arg;
    return 0;
}

static const char *const notobj_what[] = {
    "a directory", "a symbolic link to another ring",
    "a dangling symbolic link", "a FIFO",
};

START_TEST(test_posix_not_an_object)
{
    static const uint32_t flags[] = {0, SCB_LATEST, SCB_WRITER, SCB_OBSERVE};
    char path[300], target[SCB_NAME_MAX + 1], tpath[300];
    scb_config_t cfg = tu_cfg(8, 4);
    struct stat st;
    scb_t *h;
    size_t i;
    int rc, found;

    posix_file(path, sizeof path, g_name);
    switch (_i) {
    case NOTOBJ_DIR:
        ck_assert_int_eq(mkdir(path, 0700), 0);
        break;
    case NOTOBJ_LINK_TO_RING:
        new_name(target, sizeof target);
        ck_assert_int_eq(scb_close(mk_writer(target, 8, 4, 0)), SCB_OK);
        posix_file(tpath, sizeof tpath, target);
        ck_assert_int_eq(symlink(tpath, path), 0);
        break;
    case NOTOBJ_LINK_DANGLING:
        posix_file(tpath, sizeof tpath, "no-ring-of-this-name");
        ck_assert_int_eq(symlink(tpath, path), 0);
        break;
    default: /* opening it must not block (the tcase's timeout) */
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        break;
    }
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        h = NULL;
        rc = open_rc(g_name, flags[i], &h);
        ck_assert_msg(rc == SCB_EBADFORMAT,
                      "%s: scb_open(flags %#x) = %d (%s), not SCB_EBADFORMAT",
                      notobj_what[_i], (unsigned)flags[i], rc,
                      scb_strerror(rc));
        ck_assert_ptr_null(h);
    }
    h = NULL;
    rc = scb_create(&h, g_name, &cfg);
    ck_assert_msg(rc == SCB_EEXIST, "%s: scb_create = %d (%s)", notobj_what[_i],
                  rc, scb_strerror(rc));
    ck_assert_ptr_null(h);
    found = 0;
    ck_assert_int_eq(scb_list(tu_backend, find_name, &found), SCB_OK);
    ck_assert_msg(found == 0, "%s: scb_list reports it as a ring",
                  notobj_what[_i]);

    rc = scb_unlink(g_name, &cfg);
    if (_i == NOTOBJ_DIR) {
        /* Left as it is: no ring, and nothing scb_unlink removes. */
        ck_assert_msg(rc == SCB_EBADFORMAT, "%s: scb_unlink = %d (%s)",
                      notobj_what[_i], rc, scb_strerror(rc));
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(rmdir(path), 0);
    } else {
        /* The link (or the FIFO) goes, never what a link points to. */
        ck_assert_msg(rc == SCB_OK, "%s: scb_unlink = %d (%s)", notobj_what[_i],
                      rc, scb_strerror(rc));
        ck_assert_int_eq(lstat(path, &st), -1);
        ck_assert_int_eq(errno, ENOENT);
        if (_i == NOTOBJ_LINK_TO_RING) {
            assert_present(target);
            ck_assert_int_eq(scb_unlink(target, &cfg), SCB_OK);
        }
    }
    /* The name is free again. */
    h = mk_writer(g_name, 8, 4, 0);
    ck_assert_int_eq(scb_close(h), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* SCB_UNLINK_ON_CLOSE removes the writer's own ring only.                  */

/* The writer of a SCB_UNLINK_ON_CLOSE ring: its creator (_i == 0), or a
 * process that took the role over from a creator that died (_i == 1). */
static scb_t *unlink_on_close_writer(const char *name, int taken_over)
{
    pid_t pid;

    if (!taken_over)
        return mk_writer(name, 8, 4, SCB_UNLINK_ON_CLOSE);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_config_t cfg = cfg_of(8, 4, SCB_UNLINK_ON_CLOSE);
        scb_t *w = NULL;

        CHILD_EQ(scb_create(&w, name, &cfg), SCB_OK);
        _exit(0); /* dies holding the role */
    }
    expect_child_ok(pid, "creator");
    return mk_open(name, SCB_WRITER);
}

START_TEST(test_unlink_on_close_spares_newer_ring)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_t *a, *b, *r;
    uint8_t item[8];

    a = unlink_on_close_writer(g_name, _i);
    push_seq(a, item, 8, 1);
    /* The name is removed and a new ring is made under it... */
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    b = mk_writer(g_name, 8, 4, 0);
    push_seq(b, item, 8, 2);
    /* ...which the old writer's close must leave alone. */
    ck_assert_int_eq(scb_close(a), SCB_OK);
    r = mk_open(g_name, 0);
    pop_expect(r, item, 8, 2);
    pop_empty(r, item);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    ck_assert_int_eq(scb_close(b), SCB_OK);
    assert_present(g_name);
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    assert_absent(g_name);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* apr (Unix): APR's size word, at the start of the object, one page before */
/* the ring.  APR maps as much as it says; the object's real size decides.  */

enum { APRW_HUGE, APRW_TINY, APRW_LARGER_MATCHING, APRW_TRUNCATED, N_APRW };

static const char *const aprw_what[] = {
    "size word 2^63", "size word 3", "size word and geometry 16 MiB larger",
    "object truncated under a valid header",
};

/* The file Linux shows for the mapping that starts at `addr`, into buf;
 * 0 if there is none. */
static int mapped_file(const void *addr, char *buf, size_t size)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[600], path[400];
    unsigned long start, end;
    int found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399s", &start, &end,
                   path) == 3 &&
            start == (unsigned long)(uintptr_t)addr) {
            snprintf(buf, size, "%s", path);
            found = 1;
        }
    fclose(f);
    return found;
}

START_TEST(test_apr_size_word)
{
    const uint32_t S = 4096;
    const uint64_t L = 8, extra = UINT64_C(16) << 20;
    size_t page = scb_sys_page_size();
    scb_seg_t seg;
    struct scb_hdr *h;
    uint64_t *word;
    char file[400];
    pid_t pid;

    ck_assert_int_eq(scb_close(mk_writer(g_name, S, L, 0)), SCB_OK);
    ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 1), SCB_OK);
    h = seg.base;
    /* The ring starts one page into APR's object, its size word first. */
    word = (uint64_t *)(void *)((char *)seg.base - page);
    ck_assert_uint_eq(*word, (uint64_t)seg.size + page);
    switch (_i) {
    case APRW_HUGE: *word = UINT64_C(1) << 63; break;
    case APRW_TINY: *word = 3; break;
    case APRW_LARGER_MATCHING:
        /* Everything agrees on a ring 16 MiB larger than the object. */
        *word += extra;
        h->total_size += extra;
        h->length += extra / S;
        break;
    default:
        ck_assert_msg(mapped_file(word, file, sizeof file),
                      "no file for APR's mapping at %p", (void *)word);
        /* The object keeps APR's page and the ring's header only. */
        ck_assert_int_eq(truncate(file, (off_t)(page + h->shared_off)), 0);
        break;
    }
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);

    /* A child opens and uses it, so that a fault shows as its signal. */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static const uint32_t flags[] = {SCB_WRITER, 0, SCB_LATEST};
        uint8_t *item = malloc(S);
        size_t i;
        uint64_t k;

        CHILD_REQUIRE(item != NULL);
        for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
            scb_t *x = NULL;
            int rc = open_rc(g_name, flags[i], &x);

            if (rc == SCB_OK) {
                /* Touch every item the ring claims before failing. */
                for (k = 0; k < 2 * (L + extra / S); k++)
                    (void)(flags[i] == SCB_WRITER ? scb_push(x, item)
                                                  : scb_pop(x, item));
                scb_close(x);
            }
            if (rc != SCB_EBADFORMAT)
                fprintf(stderr, "%s: scb_open(flags %#x) = %d (%s)\n",
                        aprw_what[_i], (unsigned)flags[i], rc,
                        scb_strerror(rc));
            CHILD_EQ(rc, SCB_EBADFORMAT);
        }
        free(item);
        _exit(0);
    }
    expect_child_ok(pid, aprw_what[_i]);
    ck_assert_int_eq(remove_ring(g_name), SCB_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A ring still being created: openers wait while its creator lives.        */

/* A process identity of a process that is gone: a child's, reaped. */
static uint64_t dead_process_id(void)
{
    uint64_t id = 0;
    int fds[2];
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        id = scb_sys_proc_self();
        CHILD_EQ(write(fds[1], &id, sizeof id), (long long)sizeof id);
        _exit(0);
    }
    ck_assert_int_eq(read(fds[0], &id, sizeof id), (ssize_t)sizeof id);
    close(fds[0]);
    close(fds[1]);
    expect_child_ok(pid, "short-lived child");
    ck_assert_uint_ne(id, 0);
    ck_assert_int_eq(scb_sys_proc_alive(id), 0);
    return id;
}

/* The geometry of a small ring `name` for forged segments. */
static scb_geom_t small_geometry(const char *name)
{
    scb_geom_t g;

    memset(&g, 0, sizeof g);
    g.item_size = 8;
    g.length = 16;
    g.mode = 0600;
    snprintf(g.name, sizeof g.name, "%s", name);
    ck_assert_int_eq(scb_layout_plan(&g, scb_sys_page_size()), SCB_OK);
    return g;
}

/* A creator that marked the ring and finishes it 1.5 s later (a forked
 * child playing a slow create): on a backend whose create reserves memory
 * after the marker (posix), an open meanwhile waits and succeeds; on the
 * others, where a create is never that slow, a marker that stays is a
 * stopped creator or a forger, and the open gives up after the short
 * wait (0.5 s) with SCB_EBADFORMAT. */
START_TEST(test_creating_waited_for)
{
    scb_geom_t g = small_geometry(g_name);
    scb_t *r = NULL;
    double t0, dt;
    char byte;
    int fds[2], rc;
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_seg_t seg;

        CHILD_EQ(
            scb_backend_create(g_be, &seg, g_name, (size_t)g.total_size, 0600),
            SCB_OK);
        scb_layout_mark_creating(seg.base, &g, scb_sys_proc_self());
        CHILD_EQ(write(fds[1], "m", 1), 1);
        tu_sleep_us(1500 * 1000);
        scb_layout_init(seg.base, &g, 0);
        CHILD_EQ(scb_backend_close(g_be, &seg), SCB_OK);
        _exit(0);
    }
    ck_assert_int_eq(read(fds[0], &byte, 1), 1);
    t0 = now_ms();
    rc = open_rc(g_name, _i == 0 ? 0 : SCB_WRITER, &r);
    dt = now_ms() - t0;
    if (g_be->reserve == NULL) {
        ck_assert_msg(rc == SCB_EBADFORMAT && dt >= 400 && dt < 1400,
                      "open while being created, %s: %d (%s) after %.0f ms",
                      tu_backend, rc, scb_strerror(rc), dt);
        expect_child_ok(pid, "slow creator");
        close(fds[0]);
        close(fds[1]);
        return;
    }
    ck_assert_msg(rc == SCB_OK,
                  "open while being created = %d (%s) after %.0f ms", rc,
                  scb_strerror(rc), dt);
    ck_assert_msg(dt > 1000, "open took %.0f ms: did not wait", dt);
    ck_assert_uint_eq(info_of(r).length, 16);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    expect_child_ok(pid, "slow creator");
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* A creator that died between its marker and the finished header: open
 * says SCB_EBADFORMAT at once, and scb_unlink removes the ring. */
START_TEST(test_creating_dead_creator)
{
    static const uint32_t flags[] = {0, SCB_LATEST, SCB_WRITER, SCB_OBSERVE};
    scb_geom_t g = small_geometry(g_name);
    scb_config_t cfg = tu_cfg(1, 2);
    scb_seg_t seg;
    size_t i;

    ck_assert_int_eq(
        scb_backend_create(g_be, &seg, g_name, (size_t)g.total_size, 0600),
        SCB_OK);
    scb_layout_mark_creating(seg.base, &g, dead_process_id());
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        scb_t *h = NULL;
        double t0 = now_ms(), dt;
        int rc = open_rc(g_name, flags[i], &h);

        dt = now_ms() - t0;
        ck_assert_msg(rc == SCB_EBADFORMAT,
                      "dead creator: scb_open(flags %#x) = %d (%s)",
                      (unsigned)flags[i], rc, scb_strerror(rc));
        ck_assert_ptr_null(h);
        ck_assert_msg(dt < 250, "dead creator: scb_open took %.0f ms", dt);
    }
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    assert_absent(g_name);
}
END_TEST

/* posix: a real large ring, whose create spends a second or more
 * reserving its memory.  _i == 0: a reader started meanwhile must get the
 * ring, never SCB_EBADFORMAT.  _i == 1: the creator is killed during that
 * reservation; then open says SCB_EBADFORMAT at once and scb_unlink
 * removes it. */
#define BIG_ITEM (UINT32_C(1) << 20)
#define BIG_LENGTH UINT64_C(4096) /* 4 GiB of items */

/* Forks a process that creates the 4 GiB ring g_name, closes it and exits. */
static pid_t fork_big_creator(void)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        scb_config_t cfg = cfg_of(BIG_ITEM, BIG_LENGTH, 0);
        scb_t *w = NULL;

        CHILD_EQ(scb_create(&w, g_name, &cfg), SCB_OK);
        CHILD_EQ(scb_close(w), SCB_OK);
        _exit(0);
    }
    return pid;
}

/* One round of test_posix_big_create: 1 if it caught the ring being
 * created and checked what it must, 0 if the create was over before this
 * process looked (a busy machine; the ring is removed, try again). */
static int big_create_round(int kill_creator)
{
    scb_config_t cfg = tu_cfg(1, 2);
    char path[300];
    struct stat st;
    scb_t *r = NULL;
    double t0, start, waited = 0;
    int rc = SCB_ENOENT, status, marked = 0, done = 0;
    pid_t pid;

    posix_file(path, sizeof path, g_name);
    pid = fork_big_creator();
    start = now_ms();
    if (kill_creator) {
        /* Kill the creator once its marker is there, that is during the
         * reservation (a second or more for 4 GiB). */
        while (!marked && !done && now_ms() - start < 20000) {
            scb_seg_t seg;

            if (scb_backend_open(g_be, &seg, g_name, 0) == SCB_OK) {
                const struct scb_hdr *h = seg.base;
                uint64_t magic = seg.size >= sizeof *h
                                     ? scb_load_acquire(&h->magic)
                                     : 0;

                marked = magic == SCB_MAGIC_CREATING;
                done = magic == SCB_MAGIC;
                ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
            }
            if (!marked && !done)
                tu_sleep_us(200);
        }
        ck_assert_msg(marked || done, "the ring never appeared");
        if (done) {
            expect_child_ok(pid, "creator of a 4 GiB ring");
            ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
            return 0;
        }
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            /* It finished between the look and the kill. */
            ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
            return 0;
        }
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        t0 = now_ms();
        rc = open_rc(g_name, 0, &r);
        ck_assert_msg(rc == SCB_EBADFORMAT, "killed creator: open = %d (%s)",
                      rc, scb_strerror(rc));
        ck_assert_msg(now_ms() - t0 < 250, "killed creator: open took %.0f ms",
                      now_ms() - t0);
        ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
        ck_assert_int_eq(stat(path, &st), -1);
        return 1;
    }
    /* A reader that starts with the creator: the name does not exist yet
     * (SCB_ENOENT, try again), then exists and is being created: the open
     * must wait and succeed. */
    while (rc == SCB_ENOENT && now_ms() - start < 20000) {
        t0 = now_ms();
        rc = open_rc(g_name, 0, &r);
        waited = now_ms() - t0;
        if (rc == SCB_ENOENT)
            tu_sleep_us(100);
    }
    ck_assert_msg(rc == SCB_OK,
                  "open during a 4 GiB create = %d (%s) after %.0f ms", rc,
                  scb_strerror(rc), waited);
    ck_assert_uint_eq(info_of(r).length, BIG_LENGTH);
    ck_assert_int_eq(scb_close(r), SCB_OK);
    expect_child_ok(pid, "creator of a 4 GiB ring");
    ck_assert_int_eq(scb_unlink(g_name, &cfg), SCB_OK);
    /* The open overlapped the creation, or this round proved nothing. */
    return waited > 100;
}

/* The bytes test_posix_big_create needs free in /dev/shm and in memory. */
#define BIG_NEED ((uint64_t)BIG_ITEM * BIG_LENGTH + (UINT64_C(2) << 30))

/* 1 if this machine has room for test_posix_big_create. */
static int big_create_fits(void)
{
    long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    struct statvfs vfs;

    return statvfs("/dev/shm", &vfs) == 0 &&
           (uint64_t)vfs.f_bavail * vfs.f_frsize >= BIG_NEED && pages >= 0 &&
           (uint64_t)pages * (uint64_t)psize >= BIG_NEED;
}

START_TEST(test_posix_big_create)
{
    int round;

    for (round = 0; round < 3; round++)
        if (big_create_round(_i == 1))
            return;
    ck_abort_msg("three 4 GiB creates were each over before this process "
                 "looked at the ring");
}
END_TEST

/* posix: a ring larger than /dev/shm fails in its reservation, after the
 * marker: SCB_ENOMEM, and nothing is left under the name. */
START_TEST(test_posix_reserve_fails)
{
    struct statvfs vfs;
    struct stat st;
    scb_config_t cfg;
    scb_t *w = NULL;
    char path[300];
    uint64_t total;
    int rc;

    ck_assert_int_eq(statvfs("/dev/shm", &vfs), 0);
    /* Larger than the whole file system: tmpfs refuses to allocate it
     * before it allocates anything. */
    total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    cfg = cfg_of(BIG_ITEM, total / BIG_ITEM + 1024, 0);
    rc = scb_create(&w, g_name, &cfg);
    ck_assert_msg(rc == SCB_ENOMEM, "create of %ju bytes in a /dev/shm of %ju = "
                  "%d (%s)", (uintmax_t)(cfg.length * BIG_ITEM),
                  (uintmax_t)total, rc, scb_strerror(rc));
    ck_assert_ptr_null(w);
    posix_file(path, sizeof path, g_name);
    ck_assert_int_eq(stat(path, &st), -1);
    assert_absent(g_name);
}
END_TEST

#ifdef __linux__
/* The child of test_full_shm, in a mount namespace of its own with a
 * /dev/shm of 512 KiB.  _i 0: /dev/shm filled up, then a create of a small
 * ring.  _i 1: two rings of 300 KiB, each of which fits on its own: the
 * second must fail at create, not fault when its items are written. */
static int full_shm_child(int which)
{
    scb_config_t cfg = cfg_of(8, 4, 0);
    char path[300], block[4096], name2[SCB_NAME_MAX + 1];
    struct stat st;
    scb_t *w = NULL, *w2 = NULL;
    uint64_t i;
    int fd, rc;

    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=512k,mode=1777") != 0)
        return 20;
    if (which == 0) {
        fd = open("/dev/shm/filler", O_CREAT | O_WRONLY, 0600);
        if (fd < 0)
            return 21;
        memset(block, 1, sizeof block);
        while (write(fd, block, sizeof block) > 0)
            ;
        close(fd);
        rc = scb_create(&w, g_name, &cfg);
        if (rc != SCB_ENOMEM)
            return 10 - rc;
        posix_file(path, sizeof path, g_name);
        return strcmp(tu_backend, "posix") == 0 && stat(path, &st) == 0 ? 30 : 0;
    }
    cfg = cfg_of(1024, 300, 0);
    if ((rc = scb_create(&w, g_name, &cfg)) != SCB_OK)
        return 40 - rc;
    new_name(name2, sizeof name2);
    rc = scb_create(&w2, name2, &cfg);
    memset(block, 2, sizeof block);
    for (i = 0; i < 300; i++)
        if (scb_push(w, block) != SCB_OK || (w2 != NULL && scb_push(w2, block) != SCB_OK))
            return 50;
    return rc == SCB_ENOMEM ? 0 : 60 - rc;
}

/* posix, apr: a create on a full /dev/shm fails with SCB_ENOMEM and leaves
 * nothing behind, and a ring that was created never faults for want of
 * memory: it must not die of SIGBUS writing the header or the items. */
START_TEST(test_full_shm)
{
    pid_t pid = fork();
    int st;

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(full_shm_child(_i));
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s on a full /dev/shm: %s %d (exit 0: SCB_ENOMEM and "
                  "nothing left; 10 - rc, 40 - rc, 60 - rc: another code; "
                  "30: the object left)",
                  _i == 0 ? "a create" : "two rings that fit one at a time",
                  WIFSIGNALED(st) ? "killed by signal" : "exit status",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}
END_TEST
#endif

/* ------------------------------------------------------------------------ */
/* sysv: scb_unlink removes what is a ring of that name, corrupt or not,   */
/* and nothing else that sits at the name's key.                            */

enum { SYSV_VERSION, SYSV_GEOMETRY, SYSV_FOREIGN_ZEROS, SYSV_FOREIGN_BYTES,
       SYSV_OTHER_NAME, N_SYSV };

static const char *const sysv_what[] = {
    "a ring whose version is corrupt", "a ring whose geometry is garbage",
    "a foreign segment of zeros", "a foreign segment of bytes, no magic",
    "a ring of another name at the key",
};

START_TEST(test_sysv_unlink_what_is_ours)
{
    scb_config_t cfg = tu_cfg(8, 4);
    scb_seg_t seg;
    struct scb_hdr *h;
    int ours = _i == SYSV_VERSION || _i == SYSV_GEOMETRY, rc;
    size_t i;

    if (ours || _i == SYSV_OTHER_NAME) {
        ck_assert_int_eq(scb_close(mk_writer(g_name, 8, 4, 0)), SCB_OK);
        ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 1), SCB_OK);
    } else {
        /* Not made by libscb: a segment at the key, 16 KiB. */
        ck_assert_int_eq(scb_backend_create(g_be, &seg, g_name, 16384, 0600),
                         SCB_OK);
    }
    h = seg.base;
    switch (_i) {
    case SYSV_VERSION: h->version = 0x7777; break;
    case SYSV_GEOMETRY:
        h->hdr_size = 3;
        h->total_size = UINT64_MAX;
        h->items_off = 1;
        h->name_len = 999;
        break;
    case SYSV_FOREIGN_ZEROS: break;
    case SYSV_FOREIGN_BYTES:
        for (i = 8; i < seg.size; i++)
            ((unsigned char *)seg.base)[i] = (unsigned char)(i * 7 + 1);
        break;
    default:
        /* The name of another ring, as a hash collision would put there. */
        h->name[0] = h->name[0] == 'x' ? 'y' : 'x';
        break;
    }
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);

    rc = scb_unlink(g_name, &cfg);
    if (ours) {
        ck_assert_msg(rc == SCB_OK, "%s: scb_unlink = %d (%s)",
                      sysv_what[_i], rc, scb_strerror(rc));
        ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0), SCB_ENOENT);
        /* The name is free again. */
        ck_assert_int_eq(scb_close(mk_writer(g_name, 8, 4, 0)), SCB_OK);
    } else {
        ck_assert_msg(rc == SCB_ENOENT, "%s: scb_unlink = %d (%s)",
                      sysv_what[_i], rc, scb_strerror(rc));
        ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0), SCB_OK);
        ck_assert_int_eq(scb_backend_remove(g_be, &seg, g_name), SCB_OK);
        ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The tcases of this file.                                                 */

void tu_api_add_objects(Suite *s)
{
    TCase *tc;
    struct stat st;

    tc = new_tcase(s, "objects", 30);
    if (strcmp(tu_backend, "posix") == 0 && stat("/dev/shm", &st) == 0 &&
        S_ISDIR(st.st_mode))
        tcase_add_loop_test(tc, test_posix_not_an_object, 0, N_NOTOBJ);
    tcase_add_loop_test(tc, test_unlink_on_close_spares_newer_ring, 0, 2);
#ifdef __linux__
    if (strcmp(tu_backend, "apr") == 0)
        tcase_add_loop_test(tc, test_apr_size_word, 0, N_APRW);
#endif

    if (strcmp(tu_backend, "sysv") == 0)
        tcase_add_loop_test(tc, test_sysv_unlink_what_is_ours, 0, N_SYSV);

    tc = new_tcase(s, "creating", 60);
    tcase_add_loop_test(tc, test_creating_waited_for, 0, 2);
    tcase_add_test(tc, test_creating_dead_creator);
#ifdef __linux__
    if (strcmp(tu_backend, "posix") == 0) {
        if (big_create_fits())
            tcase_add_loop_test(tc, test_posix_big_create, 0, 2);
        else
            fprintf(stderr, "check_scb: NOTE: not %ju bytes free in /dev/shm "
                    "and memory, so test_posix_big_create (a 4 GiB create "
                    "watched by a reader) is NOT run\n", (uintmax_t)BIG_NEED);
        tcase_add_test(tc, test_posix_reserve_fails);
    }
    if (strcmp(tu_backend, "posix") == 0 || strcmp(tu_backend, "apr") == 0) {
        if (geteuid() == 0)
            tcase_add_loop_test(tc, test_full_shm, 0, 2);
        else
            fprintf(stderr, "check_scb: NOTE: not root, so test_full_shm "
                    "(creates on a full /dev/shm, in a mount namespace) is "
                    "NOT run\n");
    }
#endif
}
