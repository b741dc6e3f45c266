/*
 * scb_api_util.c - the helpers of the API suite of tests/check_scb, declared
 * in scb_api.h: the table of ring names main() cleans up from, the checked
 * fixture and the helpers the tests share.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_api.h"

/* ------------------------------------------------------------------------ */
/* Names: the fixture's ring, and the table main() cleans up from.          */

#define REG_SLOTS 8192

typedef struct name_reg {
    atomic_uint n;
    char names[REG_SLOTS][SCB_NAME_MAX + 1];
} name_reg_t;

/* Shared (MAP_SHARED | MAP_ANONYMOUS) with every forked test process.  On
 * Windows every test runs in this process (CK_NOFORK): plain memory. */
static name_reg_t *reg;

void reg_init(void)
{
#ifdef _WIN32
    void *p = calloc(1, sizeof *reg);

    if (p == NULL) {
        perror("check_scb: calloc of the name table");
        exit(99);
    }
#else
    void *p = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("check_scb: mmap of the name table");
        exit(99);
    }
#endif
    reg = p;
}

void reg_add(const char *name)
{
    unsigned i;

    if (reg == NULL)
        return;
    i = atomic_fetch_add(&reg->n, 1u);
    if (i < REG_SLOTS)
        snprintf(reg->names[i], sizeof reg->names[i], "%s", name);
}

/* Removes ring `name` from the suite's backend: scb_unlink first, then the
 * raw segment if one is still there (a forged header that scb_unlink refuses
 * to touch on a backend with hashed names).  Returns scb_unlink's code. */
int remove_ring(const char *name)
{
    scb_config_t cfg = tu_cfg(1, 2);
    const scb_backend_t *be = scb_backend_find(tu_backend);
    scb_seg_t seg;
    int rc = scb_unlink(name, &cfg);

    if (be != NULL && scb_backend_open(be, &seg, name, 0) == SCB_OK) {
        (void)scb_backend_remove(be, &seg, name);
        (void)scb_backend_close(be, &seg);
    }
    return rc;
}

void reg_sweep(void)
{
    unsigned i, n;

    if (reg == NULL)
        return;
    n = atomic_load(&reg->n);
    if (n > REG_SLOTS)
        n = REG_SLOTS;
    for (i = 0; i < n; i++)
        if (reg->names[i][0] != '\0')
            (void)remove_ring(reg->names[i]);
}

char g_name[SCB_NAME_MAX + 1];
const scb_backend_t *g_be;

/* A fresh unique ring name, recorded for clean-up. */
void new_name(char *buf, size_t size)
{
    tu_name(buf, size);
    reg_add(buf);
}

static void setup(void)
{
    g_be = scb_backend_find(tu_backend);
    ck_assert_ptr_nonnull(g_be);
    new_name(g_name, sizeof g_name);
}

static void teardown(void)
{
    int rc = remove_ring(g_name);

    ck_assert_msg(rc == SCB_OK || rc == SCB_ENOENT,
                  "teardown: scb_unlink(%s) = %d (%s)", g_name, rc,
                  scb_strerror(rc));
}

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                 */

double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

scb_config_t cfg_of(uint32_t item_size, uint64_t length, uint32_t flags)
{
    scb_config_t cfg = tu_cfg(item_size, length);

    cfg.flags = flags;
    return cfg;
}

scb_t *mk_writer(const char *name, uint32_t size, uint64_t length,
                        uint32_t flags)
{
    scb_config_t cfg = cfg_of(size, length, flags);
    scb_t *w = NULL;
    int rc = scb_create(&w, name, &cfg);

    ck_assert_msg(rc == SCB_OK,
                  "scb_create(%s, item_size %u, length %ju, flags %#x) = %d (%s)",
                  name, (unsigned)size, (uintmax_t)length,
                  (unsigned)flags, rc, scb_strerror(rc));
    ck_assert_ptr_nonnull(w);
    return w;
}

int open_rc(const char *name, uint32_t flags, scb_t **out)
{
    scb_config_t cfg = cfg_of(0, 0, flags);

    return scb_open(out, name, &cfg);
}

scb_t *mk_open(const char *name, uint32_t flags)
{
    scb_t *h = NULL;
    int rc = open_rc(name, flags, &h);

    ck_assert_msg(rc == SCB_OK, "scb_open(%s, flags %#x) = %d (%s)", name,
                  (unsigned)flags, rc, scb_strerror(rc));
    ck_assert_ptr_nonnull(h);
    return h;
}

/* Asserts that ring `name` does not exist (scb_open says SCB_ENOENT). */
void assert_absent(const char *name)
{
    scb_t *h = NULL;
    int rc = open_rc(name, 0, &h);

    ck_assert_msg(rc == SCB_ENOENT, "scb_open(%s) = %d (%s), expected SCB_ENOENT",
                  name, rc, scb_strerror(rc));
    ck_assert_ptr_null(h);
}

void assert_present(const char *name)
{
    scb_close(mk_open(name, 0));
}

uint64_t seq_mask(size_t size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

void push_seq(scb_t *w, void *buf, uint32_t size, uint64_t seq)
{
    int rc;

    tu_fill(buf, size, seq);
    rc = scb_push(w, buf);
    ck_assert_msg(rc == SCB_OK, "scb_push(seq %ju) = %d (%s)",
                  (uintmax_t)seq, rc, scb_strerror(rc));
}

/* Pops one item and checks that it is the intact item `seq`. */
void pop_expect(scb_t *r, void *buf, uint32_t size, uint64_t seq)
{
    uint64_t got = 0;
    int rc = scb_pop(r, buf);

    ck_assert_msg(rc == SCB_OK, "scb_pop (expecting seq %ju) = %d (%s)",
                  (uintmax_t)seq, rc, scb_strerror(rc));
    ck_assert_msg(tu_check(buf, size, &got), "item %ju of %u bytes is torn",
                  (uintmax_t)seq, (unsigned)size);
    ck_assert_msg(got == (seq & seq_mask(size)),
                  "popped seq %ju, expected %ju (item_size %u)",
                  (uintmax_t)got,
                  (uintmax_t)(seq & seq_mask(size)), (unsigned)size);
}

void pop_empty(scb_t *r, void *buf)
{
    int rc = scb_pop(r, buf);

    ck_assert_msg(rc == SCB_EAGAIN, "scb_pop on a drained ring = %d (%s)", rc,
                  scb_strerror(rc));
}

scb_info_t info_of(const scb_t *h)
{
    scb_info_t info;

    ck_assert_int_eq(scb_info(h, &info), SCB_OK);
    return info;
}

#ifdef __linux__
/* The permission bits of the file mapped at addr, found in /proc/self/maps;
 * -1 if the mapping is anonymous or the file cannot be looked at. */
static int mapped_file_mode(const void *addr, uint32_t *mode)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[PATH_MAX + 256], *path;
    unsigned long lo, hi;
    struct stat st;
    int n, rc = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        n = -1;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &n) != 2 ||
            n < 0 || (uintptr_t)addr < lo || (uintptr_t)addr >= hi)
            continue;
        path = line + n;
        path[strcspn(path, "\n")] = '\0';
        if (path[0] == '/' && stat(path, &st) == 0) {
            *mode = (uint32_t)st.st_mode & UINT32_C(07777);
            rc = 0;
        }
        break;
    }
    fclose(f);
    return rc;
}
#endif

/* posix: the fstat of the shared memory object "/scb.NAME"; sysv: the
 * IPC_STAT of the segment (its id in seg->id); apr on Linux: the stat of the
 * object APR mapped (it hashes the name into /dev/shm/ShM.*), found from
 * the mapping.  apr elsewhere has nothing to look at (the object is APR's
 * secret, and Windows files carry no such bits): the one mode APR creates,
 * 0600, which its create checks. */
int seg_mode(const scb_seg_t *seg, const char *name, uint32_t *mode)
{
    (void)name; /* Windows */
#ifndef _WIN32
    if (strcmp(g_be->name, "posix") == 0) {
        char path[SCB_NAME_MAX + 8];
        struct stat st;
        int fd, rc;

        snprintf(path, sizeof path, "/scb.%s", name);
        fd = shm_open(path, O_RDONLY, 0);
        if (fd < 0)
            return -1;
        rc = fstat(fd, &st);
        close(fd);
        if (rc != 0)
            return -1;
        *mode = (uint32_t)st.st_mode & UINT32_C(07777);
        return 0;
    }
    if (strcmp(g_be->name, "sysv") == 0) {
        struct shmid_ds ds;

        if (seg->id < 0 || seg->id > INT_MAX ||
            shmctl((int)seg->id, IPC_STAT, &ds) != 0)
            return -1;
        *mode = (uint32_t)ds.shm_perm.mode & UINT32_C(0777);
        return 0;
    }
#endif
    if (strcmp(g_be->name, "apr") == 0) {
#ifdef __linux__
        return seg->base != NULL ? mapped_file_mode(seg->base, mode) : -1;
#else
        (void)seg;
        *mode = 0600;
        return 0;
#endif
    }
    return -1;
}

/* Writes `len` characters of [A-Za-z0-9._-] into buf: a unique prefix from
 * tu_name, then every kind of allowed character.  Recorded for clean-up. */
void long_name(char *buf, size_t len)
{
    static const char chars[] = "_.aZ9-bY8cX7dW6eV5fU4gT3hS2iR1jQ0kPlOmNnMoLpKqJrIsHtGuFvEwDxCyBzA";
    size_t n, k = 0;

    tu_name(buf, len + 1 < 32 ? len + 1 : 32);
    for (n = strlen(buf); n < len; n++)
        buf[n] = chars[k++ % (sizeof chars - 1)];
    buf[len] = '\0';
    if (len <= SCB_NAME_MAX)
        reg_add(buf);
}

#ifndef _WIN32
void expect_child_ok(pid_t pid, const char *what)
{
    int st = 0;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s: child %s %d (its stderr says why)", what,
                  WIFEXITED(st) ? "exited with" : "died of signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}
#endif

TCase *new_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}
