/*
 * scb_api_perms.c - the permission tcases of the API suite of
 * tests/check_scb: "mode" (exact bits), "readonly" (a reader cannot write
 * the segment) and, as root, "perms" (another user shut out or let in).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

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
        ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0), SCB_OK);
        ck_assert_int_eq(seg_mode(&seg, g_name, &got), 0);
        ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
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
        CHILD_EQ(scb_backend_open(g_be, &seg, name, writable), SCB_OK);
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

    ck_assert_int_eq(scb_backend_open(g_be, &seg, g_name, 0), SCB_OK);
    offs[0] = 0;
    offs[1] = offsetof(struct scb_hdr, head);
    offs[2] = seg.size - 1; /* the last item */
    ck_assert_int_eq(scb_backend_close(g_be, &seg), SCB_OK);
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
/* The tcases of this file.                                                 */

void tu_api_add_perms(Suite *s)
{
    TCase *tc;

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
}
