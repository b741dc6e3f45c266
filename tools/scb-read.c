/*
 * scb-read.c - the scb command's readers: pop and tail (-f following the
 * name when the ring is removed and created again; several rings at once,
 * waiting on each reader's scb_fd).  Public API only (<scb.h>).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <poll.h>
#endif

#include <scb.h>

#include "scb-cmd.h"

/* The format to print the ring's items or records in, or -1 (with a
 * message) when fmt does not suit them: FMT_INT needs items of at most 8
 * bytes.  Records print as text by default; items of up to 8 bytes as
 * integers, larger ones as hex. */
static int resolve_format(item_fmt_t fmt, const scb_info_t *info,
                          item_fmt_t *out)
{
    size_t size = info->item_size;

    if (info->flags & SCB_RECORDS) {
        if (fmt == FMT_INT) {
            fprintf(stderr, "scb: %s: %s: --format int is for rings of "
                    "fixed-size items: use text, hex, json or raw\n", sub,
                    info->name);
            return -1;
        }
        *out = fmt == FMT_DEFAULT ? FMT_TEXT : fmt;
        return 0;
    }
    if (fmt == FMT_DEFAULT)
        fmt = size <= 8 ? FMT_INT : FMT_HEX;
    if (fmt == FMT_INT && size > 8) {
        fprintf(stderr, "scb: %s: --format int needs items of at most 8 "
                "bytes (these have %zu): use hex or raw\n", sub, size);
        return -1;
    }
    *out = fmt;
    return 0;
}

/* Prints an item, or a record of len bytes.  Items print as before records
 * came, but in the formats only records had (text and json).  ring (tail of
 * several rings) names the ring on the line: "RING: " before it, or a
 * "ring" field in json; NULL: nothing (raw never has one). */
static void print_one(const scb_info_t *info, const unsigned char *buf,
                      size_t len, item_fmt_t fmt, const char *ring)
{
    if (ring != NULL && fmt != FMT_JSON && fmt != FMT_RAW)
        printf("%s: ", ring);
    if ((info->flags & SCB_RECORDS) || fmt == FMT_TEXT || fmt == FMT_JSON)
        cmd_print_record(stdout, ring, buf, len, fmt);
    else
        cmd_print_item(stdout, buf, len, fmt);
}

/* Reads the next item or record into buf (item_size bytes), waiting up to
 * timeout_ms (0: not at all, negative: forever). */
static int read_one(scb_t *r, const scb_info_t *info, unsigned char *buf,
                    size_t *len, int64_t timeout_ms)
{
    int rc;

    if (info->flags & SCB_RECORDS) {
        rc = cmd_pop_record_wait(r, buf, info->item_size, len, timeout_ms);
        /* The library never returns more than the buffer holds; should it,
         * nothing beyond the buffer is printed. */
        if (rc == SCB_OK && *len > info->item_size)
            return SCB_EBADFORMAT;
        return rc;
    }
    *len = info->item_size;
    return scb_pop_wait(r, buf, timeout_ms);
}

/* ------------------------------------------------------------------------ */
/* pop and tail                                                             */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

int64_t now_ms(void)
{
#if defined(_WIN32)
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

/* Reports items (or records) the reader lost since the last call:
 * "scb: lost N items", or with ring (tail of several rings) "scb: RING:
 * lost N items". */
static void report_lost(scb_t *r, const scb_info_t *info, uint64_t *seen,
                        const char *ring)
{
    uint64_t lost = scb_lost(r);

    if (lost > *seen) {
        fflush(stdout);
        fprintf(stderr, "scb: %s%slost %llu %s\n", ring != NULL ? ring : "",
                ring != NULL ? ": " : "", (unsigned long long)(lost - *seen),
                (info->flags & SCB_RECORDS) ? "records" : "items");
        *seen = lost;
    }
}

/* tail ends on SIGINT, SIGTERM and SIGHUP (Windows: Ctrl-C and SIGTERM)
 * once it notices stop_signal, and then dies of that signal; a closed
 * output (SIGPIPE) shows as a write error instead. */
static void catch_signals(void)
{
#if defined(_WIN32)
    signal(SIGINT, on_signal); /* Ctrl-C */
    signal(SIGTERM, on_signal);
#else
    struct sigaction sa;

    /* No SA_RESTART: a signal ends a poll() with EINTR. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
#endif
}

/* How often tail -f, while idle, checks that the name still leads to the
 * ring it reads. */
#define FOLLOW_CHECK_MS 500

/* tail -f: when the name of the ring *r reads no longer leads to it (the
 * ring was removed, and maybe created again), opens the ring that now has
 * the name, on the same backend, from its oldest item, and reads that one
 * instead.  Returns 1 when it switched, 0 when it did not (the same ring,
 * or no ring of that name yet: the old one is still read, its writer may
 * still push), -1 on an error it reported. */
static int follow_name(scb_t **r, const char *name, uint32_t flags,
                       scb_info_t *info, unsigned char **item,
                       item_fmt_t fmt_asked, item_fmt_t *fmt)
{
    scb_t *n = NULL;
    scb_info_t ni;
    item_fmt_t new_fmt;
    unsigned char *buf;
    int rc;

    /* Only a name that no longer leads to this ring means another ring;
     * a passing error (memory, permissions) is not a reason to switch. */
    if (scb_check_name(*r) != SCB_ENOENT)
        return 0;
    rc = open_ring(&n, name, info->backend, flags & ~(uint32_t)SCB_LATEST);
    if (rc == SCB_ENOENT || rc == SCB_EBADFORMAT)
        return 0; /* not there (yet), or still being created */
    if (rc != SCB_OK) {
        report("tail", name, rc);
        return -1;
    }
    scb_info(n, &ni);
    if (resolve_format(fmt_asked, &ni, &new_fmt) != 0) {
        fprintf(stderr, "scb: tail: %s: the ring of that name created again "
                "cannot be shown as asked\n", name);
        scb_close(n);
        return -1;
    }
    if ((buf = realloc(*item, ni.item_size)) == NULL) {
        report("tail", name, SCB_ENOMEM);
        scb_close(n);
        return -1;
    }
    *item = buf;
    fflush(stdout);
    fprintf(stderr, "scb: tail: %s: the ring was removed and created again; "
            "following the new one\n", name);
    scb_close(*r);
    *r = n;
    *info = ni;
    *fmt = new_fmt;
    return 1;
}

/* The formats, for pop --help and tail --help. */
static const char formats_help[] =
"\n"
"Formats:\n"
"  int   the unsigned big-endian integer in the item, one a line (the default\n"
"        for items of at most 8 bytes)\n"
"  hex   the bytes in hex, one item or record a line (the default for larger\n"
"        items; an empty record is an empty line)\n"
"  text  the bytes as they are when they are printable UTF-8 (no control\n"
"        characters) not starting with 0x, else 0x and the bytes in hex; one\n"
"        a line (the default for records)\n"
"  json  one JSON object a line: {\"len\": N, \"text\": \"...\"} when the bytes\n"
"        are valid UTF-8, else {\"len\": N, \"hex\": \"...\"}\n"
"  raw   items: their bytes, back to back; records: each a 4-byte big-endian\n"
"        length, then its bytes\n";

/* ------------------------------------------------------------------------ */
/* tail of several rings                                                    */

/* How often tail -f of several rings looks at a ring whose reader has no
 * scb_fd to wait on (a reader without write access to the ring). */
#define POLL_FALLBACK_MS 20

/* The most items (or records) of one ring printed in a turn, so that a ring
 * filled as fast as it is read does not keep the others waiting. */
#define TURN_MAX 256

/* One ring of tail NAME NAME... */
struct tail_ring {
    const char *name;
    scb_t *r;
    scb_info_t info;
    item_fmt_t fmt;
    unsigned char *item; /* item_size bytes */
    uint64_t lost_seen;
    scb_fd_t fd;   /* with has_fd: the reader's scb_fd */
    int has_fd;    /* 0: polled every POLL_FALLBACK_MS */
    int said_poll; /* stderr said that this ring is polled */
    int ready;     /* to be read in the next turn */
};

/* Prints up to max items (or records) of t, "NAME: " (or the json field)
 * first.  SCB_OK, and *more set when it stopped at max rather than at
 * SCB_EAGAIN (which arms the reader's scb_fd); else the error of the read. */
static int tail_turn(struct tail_ring *t, uint64_t max, int *more)
{
    uint64_t n;
    size_t len;
    int rc;

    *more = 0;
    for (n = 0; n < max; n++) {
        rc = read_one(t->r, &t->info, t->item, &len, 0);
        report_lost(t->r, &t->info, &t->lost_seen, t->name);
        if (rc == SCB_EAGAIN)
            return SCB_OK;
        if (rc != SCB_OK)
            return rc;
        print_one(&t->info, t->item, len, t->fmt, t->name);
    }
    *more = 1;
    return SCB_OK;
}

/* Says once per ring, on stderr, that t is polled rather than waited on:
 * scb_fd returned rc, or its handle failed (rc SCB_OK). */
static void tail_poll_instead(struct tail_ring *t, int rc)
{
    t->has_fd = 0;
    if (t->said_poll)
        return;
    t->said_poll = 1;
    fflush(stdout);
    if (rc == SCB_ENOTSUP)
        fprintf(stderr, "scb: tail: %s: this reader has no scb_fd to wait on "
                "(a reader without write access to the ring, or a system "
                "without them): polling it every %d ms\n", t->name,
                POLL_FALLBACK_MS);
    else if (rc != SCB_OK)
        fprintf(stderr, "scb: tail: %s: scb_fd: %s: polling it every %d ms\n",
                t->name, scb_strerror(rc), POLL_FALLBACK_MS);
    else
        fprintf(stderr, "scb: tail: %s: waiting on its scb_fd failed: "
                "polling it every %d ms\n", t->name, POLL_FALLBACK_MS);
}

/* tail -f: gets the scb_fd of t = all[i] to wait on, or falls back to
 * polling t.  Either way t is to be read until SCB_EAGAIN next: only a call
 * that returns SCB_EAGAIN after scb_fd arms it. */
static void tail_get_fd(struct tail_ring *all, size_t n, size_t i)
{
    struct tail_ring *t = &all[i];
    int rc;
#if defined(_WIN32)
    size_t k, waitable = 0;
#endif

    t->ready = 1;
#if defined(_WIN32)
    /* WaitForMultipleObjects takes up to MAXIMUM_WAIT_OBJECTS handles. */
    for (k = 0; k < n; k++)
        if (k != i && all[k].has_fd)
            waitable++;
    if (waitable >= MAXIMUM_WAIT_OBJECTS) {
        t->has_fd = 0;
        if (!t->said_poll) {
            t->said_poll = 1;
            fflush(stdout);
            fprintf(stderr, "scb: tail: %s: more than %d rings to wait on: "
                    "polling it every %d ms\n", t->name, MAXIMUM_WAIT_OBJECTS,
                    POLL_FALLBACK_MS);
        }
        return;
    }
#else
    (void)n;
#endif
    rc = scb_fd(t->r, &t->fd);
    if (rc == SCB_OK)
        t->has_fd = 1;
    else
        tail_poll_instead(t, rc);
}

/* Sleeps until one of the scb_fds of t[n] is ready, up to timeout_ms (at
 * least 0), and sets ready on those that are.  0, or -1 with errno set; a
 * signal ends it early (0). */
static int tail_sleep(struct tail_ring *t, size_t n, int timeout_ms)
{
#if defined(_WIN32)
    HANDLE hs[MAXIMUM_WAIT_OBJECTS];
    size_t idx[MAXIMUM_WAIT_OBJECTS], i, k = 0;
    DWORD w;

    for (i = 0; i < n && k < MAXIMUM_WAIT_OBJECTS; i++)
        if (t[i].has_fd) {
            hs[k] = (HANDLE)t[i].fd;
            idx[k++] = i;
        }
    if (k == 0) {
        Sleep((DWORD)timeout_ms);
        return 0;
    }
    w = WaitForMultipleObjects((DWORD)k, hs, FALSE, (DWORD)timeout_ms);
    if (w == WAIT_FAILED) {
        errno = EIO;
        return -1;
    }
    if (w == WAIT_TIMEOUT)
        return 0;
    /* It names the first handle signalled only: look at each, so that a
     * busy first ring does not hide the others. */
    for (i = 0; i < k; i++)
        if (WaitForSingleObject(hs[i], 0) == WAIT_OBJECT_0)
            t[idx[i]].ready = 1;
    return 0;
#else
    struct pollfd *pfd;
    size_t *idx, i, k = 0;
    int rc, saved;

    pfd = malloc((n ? n : 1) * sizeof *pfd);
    idx = malloc((n ? n : 1) * sizeof *idx);
    if (pfd == NULL || idx == NULL) {
        free(pfd);
        free(idx);
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < n; i++)
        if (t[i].has_fd) {
            pfd[k].fd = t[i].fd;
            pfd[k].events = POLLIN;
            pfd[k].revents = 0;
            idx[k++] = i;
        }
    /* A signal between the caller's look at stop_signal and this poll is
     * noticed when the poll times out: within FOLLOW_CHECK_MS. */
    rc = poll(pfd, (nfds_t)k, timeout_ms);
    saved = errno;
    if (rc > 0)
        for (i = 0; i < k; i++) {
            if (pfd[i].revents == 0)
                continue;
            t[idx[i]].ready = 1;
            /* Readiness is POLLIN alone: any other answer means the handle
             * is no use to wait on, and waiting on it again would spin. */
            if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
                tail_poll_instead(&t[idx[i]], SCB_OK);
        }
    free(pfd);
    free(idx);
    if (rc < 0 && saved != EINTR) {
        errno = saved;
        return -1;
    }
    return 0;
#endif
}

/* tail NAME NAME... [-f]: every ring is opened first (an error on one:
 * nothing is printed); then what each holds, ring by ring, in the order
 * given, each line naming its ring.  With follow, then the items of all of
 * them as they arrive: each reader's scb_fd is waited on in one poll() (or
 * one WaitForMultipleObjects), each ring that is ready is read until
 * SCB_EAGAIN (which arms its scb_fd again), and a reader without one is
 * polled.  Returns the exit status. */
static int tail_many(char **names, size_t n, const char *backend,
                     uint32_t flags, item_fmt_t fmt_asked, int follow)
{
    struct tail_ring *t;
    int64_t next_check = 0, now, timeout;
    size_t i;
    int status = EXIT_OK, rc, more, any_more, polled;

    if ((t = calloc(n, sizeof *t)) == NULL) {
        report("tail", NULL, SCB_ENOMEM);
        return EXIT_SCB;
    }
    for (i = 0; i < n; i++) {
        t[i].name = names[i];
        rc = open_ring(&t[i].r, names[i], backend, flags);
        if (rc != SCB_OK) {
            report("tail", names[i], rc);
            status = EXIT_SCB;
            goto out;
        }
        scb_info(t[i].r, &t[i].info);
        if (resolve_format(fmt_asked, &t[i].info, &t[i].fmt) != 0) {
            say_usage_hint();
            status = EXIT_USAGE;
            goto out;
        }
        if ((t[i].item = malloc(t[i].info.item_size)) == NULL) {
            report("tail", names[i], SCB_ENOMEM);
            status = EXIT_SCB;
            goto out;
        }
    }
    catch_signals();

    /* What they hold, ring by ring. */
    for (i = 0; i < n && !stop_signal; i++) {
        rc = tail_turn(&t[i], UINT64_MAX, &more);
        if (rc != SCB_OK) {
            report("tail", t[i].name, rc);
            status = EXIT_SCB;
            goto out;
        }
    }
    if (!follow)
        goto out;
    if (fflush(stdout) != 0)
        goto out; /* the reader of our output went away */
    for (i = 0; i < n; i++)
        tail_get_fd(t, n, i);

    while (!stop_signal) {
        now = now_ms();
        if (now >= next_check) {
            /* Now and then, see whether the names still lead to the rings
             * read (as tail -f of one ring does). */
            next_check = now + FOLLOW_CHECK_MS;
            for (i = 0; i < n; i++) {
                rc = follow_name(&t[i].r, t[i].name, flags, &t[i].info,
                                 &t[i].item, fmt_asked, &t[i].fmt);
                if (rc < 0) {
                    status = EXIT_SCB;
                    goto out;
                }
                if (rc == 1) {
                    /* The old reader's scb_fd closed with it. */
                    t[i].lost_seen = 0;
                    t[i].has_fd = 0;
                    tail_get_fd(t, n, i);
                }
            }
        }
        any_more = polled = 0;
        for (i = 0; i < n; i++) {
            if (!t[i].has_fd)
                polled = t[i].ready = 1;
            if (!t[i].ready)
                continue;
            rc = tail_turn(&t[i], TURN_MAX, &more);
            if (rc != SCB_OK) {
                report("tail", t[i].name, rc);
                status = EXIT_SCB;
                goto out;
            }
            t[i].ready = more;
            any_more |= more;
        }
        if (fflush(stdout) != 0)
            break; /* the reader of our output went away */
        if (stop_signal)
            break;
        timeout = next_check - now_ms();
        if (timeout < 0 || any_more)
            timeout = 0;
        if (polled && timeout > POLL_FALLBACK_MS)
            timeout = POLL_FALLBACK_MS;
        if (tail_sleep(t, n, (int)timeout) != 0) {
            fprintf(stderr, "scb: tail: waiting: %s\n", strerror(errno));
            status = EXIT_SCB;
            break;
        }
    }
out:
    for (i = 0; i < n; i++) {
        free(t[i].item);
        if (t[i].r != NULL)
            scb_close(t[i].r);
    }
    free(t);
    if (fflush(stdout) != 0 && status == EXIT_OK) {
        fprintf(stderr, "scb: tail: standard output: %s\n", strerror(errno));
        status = EXIT_SCB;
    }
    if (stop_signal) {
        signal(stop_signal, SIG_DFL);
        raise(stop_signal);
    }
    return status;
}

/* pop (follow < 0) or tail (follow 0: what is there; 1: forever). */
int cmd_read(int argc, char **argv, int tail)
{
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},
        {"wait", required_argument, NULL, 'w'},
        {"format", required_argument, NULL, 'F'},
        {"json", no_argument, NULL, 'J'},
        {"follow", no_argument, NULL, 'f'},
        {"latest", no_argument, NULL, 'N'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *backend = NULL, *name;
    uint64_t count = 1, done = 0, lost_seen = 0;
    int64_t wait_ms = 0, deadline = 0;
    item_fmt_t fmt = FMT_DEFAULT, fmt_asked;
    int64_t next_check = 0;
    int follow = 0, c, rc, status = EXIT_OK;
    uint32_t flags = 0;
    unsigned char *item;
    size_t len;
    scb_info_t info;
    scb_t *r = NULL;

    while ((c = getopt_long(argc, argv, tail ? "hf" : "hn:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (tail)
                goto bad;
            count = num_opt("-n", optarg, 1, UINT64_MAX);
            break;
        case 'w':
            if (tail)
                goto bad;
            wait_ms = (int64_t)num_opt("--wait", optarg, 0, INT64_MAX / 2);
            break;
        case 'f':
            if (!tail)
                goto bad;
            follow = 1;
            break;
        case 'F':
            if (cmd_parse_format(optarg, &fmt) != 0)
                die_usage("bad --format '%s' (int, hex, text, json or raw)",
                          optarg);
            break;
        case 'J':
            fmt = FMT_JSON;
            break;
        case 'N':
            flags |= SCB_LATEST;
            break;
        case OPT_BACKEND:
            backend = optarg;
            break;
        case OPT_HELP:
            if (tail)
                printf(
"Usage: scb tail NAME... [-f] [--format int|hex|text|json|raw]\n"
"Opens a reader on ring NAME and prints the items (or records) in it, oldest\n"
"first; with -f it then keeps printing items as they arrive, until\n"
"interrupted.  Items the writer overwrote before they were read are reported\n"
"on stderr as \"scb: lost N items\" (records: \"lost N records\").  With -f,\n"
"when the ring is removed and a ring of that name is created again, it\n"
"follows the new ring from its oldest item (it looks twice a second while\n"
"idle; stderr says so).\n"
"\n"
"With several NAMEs it opens them all (if one fails, it prints nothing), then\n"
"prints what each holds, ring by ring in the order given, and with -f follows\n"
"all of them, sleeping until one of them has items (it waits on each\n"
"reader's scb_fd; a reader that has none, such as one without write access to\n"
"its ring, is polled every 20 ms, and stderr says so).  Each line then starts\n"
"with its ring's name: \"NAME: 42\"; in json the object's first field is\n"
"\"ring\": {\"ring\": \"NAME\", \"len\": ...}; losses read \"scb: NAME: lost N\n"
"items\".  --format raw takes one NAME only.\n"
"\n"
"  -f, --follow      wait for new items forever\n"
"      --latest      start at the next item pushed, not the oldest kept\n"
"      --format=FMT  how to print them (below)\n"
"      --json        --format json\n"
"      --backend=B   the ring's backend (default: the first that has NAME)\n"
"  -h, --help        this help\n"
"%s", formats_help);
            else
                printf(
"Usage: scb pop NAME [-n N] [--wait MS] [--format int|hex|text|json|raw]\n"
"Opens a new reader on ring NAME, which starts at the oldest item kept, and\n"
"prints up to N items (or records; default 1), one per line.\n"
"\n"
"  -n, --count=N     items to print at most (default 1)\n"
"      --wait=MS     wait up to MS ms in all for the items (default 0: take\n"
"                    what is there)\n"
"      --latest      start at the next item pushed, not the oldest kept\n"
"      --format=FMT  how to print them (below)\n"
"      --json        --format json\n"
"      --backend=B   the ring's backend (default: the first that has NAME)\n"
"  -h, --help        this help\n"
"%s"
"\n"
"Exit status 3 when there was nothing to read.\n", formats_help);
            return EXIT_OK;
        default:
        bad:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (tail && argc - optind > 1) {
        /* Raw bytes cannot say which ring they came from. */
        if (fmt == FMT_RAW)
            die_usage("%s", "--format raw takes one NAME only");
        return tail_many(argv + optind, (size_t)(argc - optind), backend,
                         flags, fmt, follow);
    }
    name = one_name(argc, argv);
    rc = open_ring(&r, name, backend, flags);
    if (rc != SCB_OK) {
        report(sub, name, rc);
        return EXIT_SCB;
    }
    scb_info(r, &info);
    fmt_asked = fmt;
    if (resolve_format(fmt_asked, &info, &fmt) != 0) {
        scb_close(r);
        say_usage_hint();
        return EXIT_USAGE;
    }
    /* A buffer of item_size bytes holds any record of the ring. */
    if ((item = malloc(info.item_size)) == NULL) {
        report(sub, name, SCB_ENOMEM);
        scb_close(r);
        return EXIT_SCB;
    }

    if (!tail) {
        deadline = now_ms() + wait_ms;
        while (done < count) {
            int64_t left = deadline - now_ms();
            rc = read_one(r, &info, item, &len, left > 0 ? left : 0);
            if (rc != SCB_OK)
                break;
            print_one(&info, item, len, fmt, NULL);
            done++;
        }
        report_lost(r, &info, &lost_seen, NULL);
        if (rc != SCB_OK && rc != SCB_EAGAIN && rc != SCB_ETIMEDOUT) {
            report("pop", name, rc);
            status = EXIT_SCB;
        } else if (done == 0) {
            status = EXIT_EMPTY;
        }
    } else {
        catch_signals();
        while (!stop_signal) {
            /* Wakes up now and then to notice a signal. */
            rc = read_one(r, &info, item, &len, follow ? 200 : 0);
            report_lost(r, &info, &lost_seen, NULL);
            if (rc == SCB_OK) {
                print_one(&info, item, len, fmt, NULL);
                if (follow && fflush(stdout) != 0)
                    break; /* the reader of our output went away */
                continue;
            }
            if ((rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT) && follow) {
                /* Nothing to read: now and then, see whether the name
                 * still leads to this ring. */
                if (now_ms() >= next_check) {
                    next_check = now_ms() + FOLLOW_CHECK_MS;
                    rc = follow_name(&r, name, flags, &info, &item,
                                     fmt_asked, &fmt);
                    if (rc < 0) {
                        status = EXIT_SCB;
                        break;
                    }
                    if (rc == 1)
                        lost_seen = 0;
                }
                continue;
            }
            if (rc != SCB_EAGAIN) {
                report("tail", name, rc);
                status = EXIT_SCB;
            }
            break;
        }
    }
    free(item);
    if (fflush(stdout) != 0 && status == EXIT_OK) {
        fprintf(stderr, "scb: %s: standard output: %s\n", sub, strerror(errno));
        status = EXIT_SCB;
    }
    scb_close(r);
    if (stop_signal) {
        signal(stop_signal, SIG_DFL);
        raise(stop_signal);
    }
    return status;
}
