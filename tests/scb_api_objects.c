/*
 * scb_api_objects.c - tcase "objects" of the API suite of tests/check_scb:
 * what the OS holds under a ring's name, seen from the public API.  Things
 * at a ring's name that are no ring (a directory, a symbolic link), a name
 * removed and made again while a handle still maps the old ring.  Unix
 * only: these tests make OS objects by hand and fork.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

/* Where Linux shows the posix backend's object of ring `name`. */
static void posix_file(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/dev/shm/scb.%s", name);
}

/* ------------------------------------------------------------------------ */
/* posix: a directory or a symbolic link at a ring's name.                  */

enum { NOTOBJ_DIR, NOTOBJ_LINK_TO_RING, NOTOBJ_LINK_DANGLING, N_NOTOBJ };

static const char *const notobj_what[] = {
    "a directory", "a symbolic link to another ring", "a dangling symbolic link",
};

START_TEST(test_posix_not_an_object)
{
    static const uint32_t flags[] = {0, SCB_LATEST, SCB_WRITER};
    char path[300], target[SCB_NAME_MAX + 1], tpath[300];
    scb_config_t cfg = tu_cfg(8, 4);
    struct stat st;
    scb_t *h;
    size_t i;
    int rc;

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
    default:
        posix_file(tpath, sizeof tpath, "no-ring-of-this-name");
        ck_assert_int_eq(symlink(tpath, path), 0);
        break;
    }
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        h = NULL;
        rc = open_rc(g_name, flags[i], &h);
        ck_assert_msg(rc == SCB_EBADFORMAT,
                      "%s: scb_open(flags %#x) = %d (%s), expected SCB_EBADFORMAT",
                      notobj_what[_i], (unsigned)flags[i], rc, scb_strerror(rc));
        ck_assert_ptr_null(h);
    }
    h = NULL;
    rc = scb_create(&h, g_name, &cfg);
    ck_assert_msg(rc == SCB_EEXIST, "%s: scb_create = %d (%s)", notobj_what[_i],
                  rc, scb_strerror(rc));
    ck_assert_ptr_null(h);

    rc = scb_unlink(g_name, &cfg);
    if (_i == NOTOBJ_DIR) {
        /* Left as it is: no ring, and nothing scb_unlink removes. */
        ck_assert_msg(rc == SCB_EBADFORMAT, "%s: scb_unlink = %d (%s)",
                      notobj_what[_i], rc, scb_strerror(rc));
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(rmdir(path), 0);
    } else {
        /* The link goes, never what it points to. */
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
/* The tcases of this file.                                                 */

void tu_api_add_objects(Suite *s)
{
    TCase *tc;
    struct stat st;

    tc = new_tcase(s, "objects", 30);
    tcase_add_loop_test(tc, test_unlink_on_close_spares_newer_ring, 0, 2);
    if (strcmp(tu_backend, "posix") == 0 && stat("/dev/shm", &st) == 0 &&
        S_ISDIR(st.st_mode))
        tcase_add_loop_test(tc, test_posix_not_an_object, 0, N_NOTOBJ);
}
