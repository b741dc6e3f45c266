/*
 * harness.c - the processes of a run: fork, CPU pinning, a start barrier,
 * deadlines, reaping, and cleaning up on every exit path.
 *
 * The parent keeps SIGINT, SIGTERM, SIGHUP and SIGCHLD blocked and takes
 * them only inside pselect, so a signal can never arrive in the middle of a
 * clean-up and a child's exit wakes the parent at once.  Children go back to
 * the default dispositions: Ctrl-C reaches the whole process group and ends
 * them; the parent sees that, removes the rings it created and exits as the
 * signal would have.  A child whose parent dies gets SIGKILL (Linux), and
 * every child has its own deadline besides.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#include <sys/prctl.h>
#endif

#include <scb.h>

#include "bench.h"

#define MAX_TRACKED 8
#define MAX_SPAWNED 8
#define STOP_GRACE_NS (3000ull * 1000000ull)
#define READY_LIMIT_NS (10ull * 1000000000ull)
#define ABORT_GRACE_NS (300ull * 1000000ull)

struct tracked_ring {
    char name[SCB_NAME_MAX + 1];
    const char *backend;
    int used;
};

static struct bench_ctl *g_ctl;
static size_t g_ctl_size;
static pid_t g_parent;
static pid_t g_kids[BENCH_MAX_PROCS];
static const char *g_roles[BENCH_MAX_PROCS]; /* the parent's: each child's role */
static const char *g_self_role;              /* a child's own role, or NULL */
static int g_nkids;
static struct tracked_ring g_rings[MAX_TRACKED];
static unsigned g_ring_counter;
static volatile sig_atomic_t g_signal;
static sigset_t g_orig_mask;   /* the mask the program started with */
static sigset_t g_wait_mask;   /* ... without the signals the parent waits for */
static int g_cpus[256];
static int g_ncpus;
static int g_online;
static int g_unpinned;

/* Programs of their own started by --bridge (nats-server, scb-bridge): each
 * is stopped by bench_cleanup until bench_stop reaped it. */
struct spawned {
    pid_t pid;           /* 0: free */
    int exited;          /* reaped by bench_alive; status holds how */
    int status;
};
static struct spawned g_spawned[MAX_SPAWNED];
static char g_dir[4096];       /* a directory to remove, or "" */

static const int g_handled[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
#define NHANDLED ((int)(sizeof g_handled / sizeof g_handled[0]))

uint64_t bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_sleep_us(unsigned us)
{
    struct timespec ts;

    ts.tv_sec = us / 1000000u;
    ts.tv_nsec = (long)(us % 1000000u) * 1000L;
    nanosleep(&ts, NULL);
}

static void on_signal(int sig)
{
    if (sig != SIGCHLD)
        g_signal = sig;
}

int bench_interrupted(void)
{
    return g_signal;
}

struct bench_ctl *bench_ctl(void)
{
    return g_ctl;
}

static void cleanup_at_exit(void)
{
    if (getpid() == g_parent)
        bench_cleanup();
}

static void find_cpus(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);

    g_online = online > 0 ? (int)online : 1;
    g_ncpus = 0;
#ifdef __linux__
    {
        cpu_set_t set;
        int c;

        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) == 0) {
            for (c = 0; c < CPU_SETSIZE && g_ncpus < 256; c++)
                if (CPU_ISSET(c, &set))
                    g_cpus[g_ncpus++] = c;
        }
    }
#endif
    if (g_ncpus == 0) {
        for (g_ncpus = 0; g_ncpus < g_online && g_ncpus < 256; g_ncpus++)
            g_cpus[g_ncpus] = -1; /* unknown: not pinned */
    }
}

int bench_init(uint64_t max_samples)
{
    struct sigaction sa;
    sigset_t block;
    int i;

    g_parent = getpid();
    find_cpus();
    g_ctl_size = sizeof(struct bench_ctl) + max_samples * sizeof(uint64_t);
    g_ctl = mmap(NULL, g_ctl_size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_ctl == MAP_FAILED) {
        g_ctl = NULL;
        return -1;
    }
    g_ctl->max_samples = max_samples;

    sigemptyset(&block);
    for (i = 0; i < NHANDLED; i++)
        sigaddset(&block, g_handled[i]);
    sigprocmask(SIG_BLOCK, &block, &g_orig_mask);
    g_wait_mask = g_orig_mask;
    for (i = 0; i < NHANDLED; i++)
        sigdelset(&g_wait_mask, g_handled[i]);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: pselect returns at once */
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < NHANDLED; i++)
        sigaction(g_handled[i], &sa, NULL);
    atexit(cleanup_at_exit);
    return 0;
}

int bench_cpus(int *list, int max, int *online)
{
    int i;

    for (i = 0; i < g_ncpus && i < max; i++)
        list[i] = g_cpus[i];
    if (online != NULL)
        *online = g_online;
    return g_ncpus;
}

int bench_can_pin(void)
{
#ifdef __linux__
    return g_ncpus > 1 && g_cpus[0] >= 0;
#else
    return 0;
#endif
}

int bench_cpu_for(int proc_index)
{
    if (!bench_can_pin())
        return -1;
    return g_cpus[proc_index % g_ncpus];
}

int bench_any_unpinned(void)
{
    return g_unpinned;
}

void bench_track_ring(const char *name, const char *backend)
{
    int i;

    for (i = 0; i < MAX_TRACKED; i++) {
        if (!g_rings[i].used) {
            snprintf(g_rings[i].name, sizeof g_rings[i].name, "%s", name);
            g_rings[i].backend = backend;
            g_rings[i].used = 1;
            return;
        }
    }
    /* The callers track at most two rings at a time. */
    fprintf(stderr, "scb-bench: internal error: too many rings tracked\n");
    abort();
}

void bench_untrack_ring(const char *name)
{
    int i;

    for (i = 0; i < MAX_TRACKED; i++)
        if (g_rings[i].used && strcmp(g_rings[i].name, name) == 0)
            g_rings[i].used = 0;
}

void bench_ring_name(char *buf, size_t len)
{
    snprintf(buf, len, "scbb.%ld.%u", (long)g_parent, g_ring_counter++);
}

/* Stops every child still alive and reaps it. */
static void kill_kids(void)
{
    int i;

    for (i = 0; i < g_nkids; i++)
        if (g_kids[i] > 0)
            kill(g_kids[i], SIGKILL);
    for (i = 0; i < g_nkids; i++) {
        if (g_kids[i] > 0) {
            while (waitpid(g_kids[i], NULL, 0) < 0 && errno == EINTR)
                ;
            g_kids[i] = 0;
        }
    }
    g_nkids = 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

void bench_cleanup(void)
{
    scb_config_t cfg;
    int i;

    kill_kids();
    for (i = 0; i < MAX_SPAWNED; i++)
        if (g_spawned[i].pid > 0)
            (void)bench_stop(g_spawned[i].pid, STOP_GRACE_NS);
    if (g_dir[0] != '\0') {
        (void)nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        g_dir[0] = '\0';
    }
    for (i = 0; i < MAX_TRACKED; i++) {
        if (!g_rings[i].used)
            continue;
        scb_config_init(&cfg);
        cfg.backend = g_rings[i].backend;
        (void)scb_unlink(g_rings[i].name, &cfg); /* ENOENT: already gone */
        g_rings[i].used = 0;
    }
}

void bench_die_of_signal(void)
{
    int sig = g_signal != 0 ? g_signal : SIGTERM;
    sigset_t set;

    fflush(NULL);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    raise(sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    _exit(128 + sig); /* not reached */
}

/* Sleeps until a signal arrives or `ns` pass. */
static void parent_wait(uint64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    pselect(0, NULL, NULL, NULL, &ts, &g_wait_mask);
}

void bench_parent_wait(uint64_t ns)
{
    parent_wait(ns);
}

static void describe_status(char *why, size_t whylen, int index, int status)
{
    const char *who = g_roles[index] != NULL ? g_roles[index]
                      : index == 0           ? "writer"
                                             : "reader";
    char num[32] = "";

    if (index > 0 && g_roles[index] == NULL)
        snprintf(num, sizeof num, " %d", index);
    if (WIFSIGNALED(status)) {
        snprintf(why, whylen, "%s%s killed by signal %d", who, num,
                 WTERMSIG(status));
    } else if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        snprintf(why, whylen, "%s%s %s", who, num,
                 code == CHILD_TIMEOUT ? "ran out of time"
                 : code == CHILD_ABORT ? "was called off"
                 : code == CHILD_FAIL  ? "failed (see the message above)"
                                       : "exited with an unexpected status");
    } else {
        snprintf(why, whylen, "%s%s ended (status %#x)", who, num, status);
    }
}

/* Reaps children that exited.  Returns -1 (and says why) at the first one
 * that failed, else the number still running. */
static int reap(char *why, size_t whylen)
{
    int i, running = 0, status;
    pid_t p;

    for (i = 0; i < g_nkids; i++) {
        if (g_kids[i] <= 0)
            continue;
        p = waitpid(g_kids[i], &status, WNOHANG);
        if (p == 0) {
            running++;
            continue;
        }
        if (p < 0 && errno == EINTR) {
            running++;
            continue;
        }
        g_kids[i] = 0;
        if (p < 0) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK) {
            describe_status(why, whylen, i, status);
            return -1;
        }
    }
    return running;
}

/* Calls the run off: tells the children, gives them a moment to exit on
 * their own, then kills the rest. */
static void abort_run(void)
{
    uint64_t until = bench_now() + ABORT_GRACE_NS;
    char ignore[128];

    atomic_store_explicit(&g_ctl->go, -1, memory_order_release);
    while (bench_now() < until) {
        if (reap(ignore, sizeof ignore) == 0)
            break;
        parent_wait(5000000ull);
    }
    kill_kids();
}

/* In the child, right after fork. */
static void child_enter(int cpu, int index, const char *role)
{
    struct sigaction sa;
    int i;

    g_self_role = role;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < NHANDLED; i++)
        sigaction(g_handled[i], &sa, NULL);
    /* A reader that died shows up as EPIPE in the writer, not as a death
     * by SIGPIPE. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigprocmask(SIG_SETMASK, &g_orig_mask, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != g_parent)
        _exit(CHILD_ABORT);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            g_ctl->proc[index].unpinned = 1;
    }
#else
    (void)cpu;
    (void)index;
#endif
}

int bench_run(const struct bench_child *kids, int n, uint64_t limit_ns,
              void (*before_go)(void *), void *arg, char *why, size_t whylen)
{
    uint64_t deadline;
    int i, left;
    pid_t pid;

    if (n > BENCH_MAX_PROCS) {
        snprintf(why, whylen, "too many processes");
        return -1;
    }
    /* Reset the control block (the samples stay: the pinger overwrites
     * what it uses). */
    atomic_store(&g_ctl->go, 0);
    atomic_store(&g_ctl->p0, BENCH_NO_P0);
    g_ctl->t0 = 0;
    atomic_store(&g_ctl->done, 0);
    g_ctl->total = 0;
    atomic_store(&g_ctl->ball, 0);
    g_ctl->nsamples = 0;
    for (i = 0; i < BENCH_MAX_PROCS; i++) {
        atomic_store(&g_ctl->proc[i].ready, 0);
        g_ctl->proc[i].unpinned = 0;
        g_ctl->proc[i].t_end = 0;
        g_ctl->proc[i].window = 0;
        g_ctl->proc[i].received = 0;
        g_ctl->proc[i].bytes = 0;
        g_ctl->proc[i].lost = 0;
        g_ctl->proc[i].empty = 0;
        g_ctl->proc[i].ring_flags = 0;
    }

    fflush(NULL); /* nothing buffered may be written twice */
    g_nkids = 0;
    for (i = 0; i < n; i++) {
        pid = fork();
        if (pid < 0) {
            snprintf(why, whylen, "fork: %s", strerror(errno));
            abort_run();
            return -1;
        }
        if (pid == 0) {
            child_enter(kids[i].cpu, i, kids[i].role);
            _exit(kids[i].fn(g_ctl, i, kids[i].arg));
        }
        g_kids[i] = pid;
        g_roles[i] = kids[i].role;
        g_nkids = i + 1;
    }

    /* Everyone opened what it needs? */
    deadline = bench_now() + READY_LIMIT_NS;
    for (;;) {
        int ready = 0;
        for (i = 0; i < n; i++)
            ready += atomic_load_explicit(&g_ctl->proc[i].ready,
                                          memory_order_acquire) != 0;
        if (ready == n)
            break;
        if (reap(why, whylen) < 0) {
            abort_run();
            return g_signal ? -2 : -1;
        }
        if (g_signal) {
            abort_run();
            return -2;
        }
        if (bench_now() > deadline) {
            snprintf(why, whylen, "%d of %d processes ready after 10 s", ready, n);
            abort_run();
            return -1;
        }
        parent_wait(200000ull);
    }
    for (i = 0; i < n; i++)
        if (g_ctl->proc[i].unpinned)
            g_unpinned = 1;
    if (before_go != NULL)
        before_go(arg);
    atomic_store_explicit(&g_ctl->go, 1, memory_order_release);

    deadline = bench_now() + limit_ns;
    for (;;) {
        left = reap(why, whylen);
        if (left < 0) {
            abort_run();
            return g_signal ? -2 : -1;
        }
        if (left == 0)
            break;
        if (g_signal) {
            abort_run();
            return -2;
        }
        if (bench_now() > deadline) {
            snprintf(why, whylen, "still running after %.1f s: stopped",
                     (double)limit_ns / 1e9);
            abort_run();
            return -1;
        }
        parent_wait(100000000ull);
    }
    g_nkids = 0;
    return 0;
}

int bench_child_ready(struct bench_ctl *ctl, int index)
{
    uint64_t deadline = bench_now() + READY_LIMIT_NS + 5000000000ull;
    int go;

    atomic_store_explicit(&ctl->proc[index].ready, 1, memory_order_release);
    for (;;) {
        go = atomic_load_explicit(&ctl->go, memory_order_acquire);
        if (go > 0)
            return CHILD_OK;
        if (go < 0)
            return CHILD_ABORT;
        if (bench_now() > deadline)
            return CHILD_TIMEOUT;
        bench_sleep_us(20);
    }
}

void bench_child_error(const char *label, int index, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_self_role != NULL)
        fprintf(stderr, "scb-bench: %s: %s: %s\n", label, g_self_role, msg);
    else if (index == 0)
        fprintf(stderr, "scb-bench: %s: writer: %s\n", label, msg);
    else
        fprintf(stderr, "scb-bench: %s: reader %d: %s\n", label, index, msg);
}

void bench_fill(unsigned char *buf, size_t size, size_t n)
{
    size_t i;

    for (i = 0; i < size * n; i++)
        buf[i] = (unsigned char)(i * 131u + 7u);
}

int bench_window_done(struct bench_ctl *ctl, uint64_t *t0, uint64_t start,
                      uint64_t now, uint64_t pushed,
                      const struct bench_stream_arg *a)
{
    if (*t0 == 0) {
        if (now - start >= a->warm_ns) {
            *t0 = now;
            ctl->t0 = now;
            /* Publishes t0 with p0; the readers' loads of p0 are ordered
             * after their receipt of items pushed later. */
            atomic_store_explicit(&ctl->p0, pushed, memory_order_release);
        }
        return 0;
    }
    return now - *t0 >= a->dur_ns;
}

FILE *bench_popen_w(const char *cmd)
{
    sigset_t now;
    FILE *f;

    sigprocmask(SIG_SETMASK, &g_orig_mask, &now);
    f = popen(cmd, "w");
    sigprocmask(SIG_SETMASK, &now, NULL);
    return f;
}

int bench_pclose(FILE *f)
{
    int status = pclose(f);

    if (status < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int bench_ping_rounds(struct bench_ctl *ctl, int index, int code,
                      const char *label, uint64_t warm, uint64_t rounds,
                      uint64_t limit_ns, bench_round_fn round, void *ctx)
{
    uint64_t i, t, got, limit = bench_now() + limit_ns;

    for (i = 0; code == CHILD_OK && i < warm + rounds; i++) {
        t = bench_now();
        code = round(ctx, i, limit, &got);
        if (code != CHILD_OK)
            break;
        if (got != i) {
            bench_child_error(label, index, "reply %" PRIu64 " to %" PRIu64,
                              got, i);
            code = CHILD_FAIL;
            break;
        }
        if (i >= warm)
            ctl->samples[i - warm] = bench_now() - t;
    }
    if (code == CHILD_OK)
        ctl->nsamples = rounds;
    return code;
}

/* --- programs of their own (--bridge) -------------------------------------- */

pid_t bench_spawn(char *const argv[], const char *out_path, const char *err_path,
                  char *why, size_t whylen)
{
    struct sigaction sa;
    int i, slot, fd;
    pid_t pid;

    for (slot = 0; slot < MAX_SPAWNED && g_spawned[slot].pid != 0; slot++)
        ;
    if (slot == MAX_SPAWNED) {
        snprintf(why, whylen, "internal error: too many programs started");
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The program gets the dispositions and the mask scb-bench was
         * started with: Ctrl-C reaches it as it reaches the children. */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        for (i = 0; i < NHANDLED; i++)
            sigaction(g_handled[i], &sa, NULL);
        sigprocmask(SIG_SETMASK, &g_orig_mask, NULL);
#ifdef __linux__
        /* Kept across exec: scb-bench killed outright takes it along. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != g_parent)
            _exit(127);
#endif
        fd = open(out_path != NULL ? out_path : "/dev/null",
                  O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(127);
        close(fd);
        fd = open(err_path != NULL ? err_path : "/dev/null",
                  O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        close(fd);
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0 && fd != STDIN_FILENO) {
            dup2(fd, STDIN_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "scb-bench: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    g_spawned[slot].pid = pid;
    g_spawned[slot].exited = 0;
    g_spawned[slot].status = 0;
    return pid;
}

static struct spawned *find_spawned(pid_t pid)
{
    int i;

    for (i = 0; i < MAX_SPAWNED; i++)
        if (g_spawned[i].pid == pid && pid > 0)
            return &g_spawned[i];
    return NULL;
}

int bench_alive(pid_t pid, int *status)
{
    struct spawned *sp = find_spawned(pid);
    int st;
    pid_t p;

    if (sp == NULL)
        return 0;
    if (!sp->exited) {
        p = waitpid(pid, &st, WNOHANG);
        if (p == 0 || (p < 0 && errno == EINTR))
            return 1;
        sp->exited = 1;
        sp->status = p == pid ? st : 0;
    }
    if (status != NULL)
        *status = sp->status;
    return 0;
}

int bench_stop(pid_t pid, uint64_t grace_ns)
{
    struct spawned *sp = find_spawned(pid);
    uint64_t until = bench_now() + grace_ns;
    int status = -1;

    if (sp == NULL)
        return -1;
    if (bench_alive(pid, &status)) {
        kill(pid, SIGTERM);
        /* Signals stay blocked here (this runs in bench_cleanup too):
         * plain sleeps, not parent_wait. */
        while (bench_alive(pid, &status) && bench_now() < until)
            bench_sleep_us(5000);
        if (bench_alive(pid, &status)) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
    }
    sp->pid = 0;
    sp->exited = 0;
    return status;
}

void bench_track_dir(const char *path)
{
    snprintf(g_dir, sizeof g_dir, "%s", path != NULL ? path : "");
}
