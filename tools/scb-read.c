/*
 * scb-read.c - the scb command's readers: pop and tail (-f following the
 * name when the ring is removed and created again).  Public API only
 * (<scb.h>).
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
 * came, but in the formats only records had (text and json). */
static void print_one(const scb_info_t *info, const unsigned char *buf,
                      size_t len, item_fmt_t fmt)
{
    if ((info->flags & SCB_RECORDS) || fmt == FMT_TEXT || fmt == FMT_JSON)
        cmd_print_record(stdout, buf, len, fmt);
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

/* Reports items (or records) the reader lost since the last call. */
static void report_lost(scb_t *r, const scb_info_t *info, uint64_t *seen)
{
    uint64_t lost = scb_lost(r);

    if (lost > *seen) {
        fflush(stdout);
        fprintf(stderr, "scb: lost %llu %s\n",
                (unsigned long long)(lost - *seen),
                (info->flags & SCB_RECORDS) ? "records" : "items");
        *seen = lost;
    }
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
"Usage: scb tail NAME [-f] [--format int|hex|text|json|raw]\n"
"Opens a reader on ring NAME and prints the items (or records) in it, oldest\n"
"first; with -f it then keeps printing items as they arrive, until\n"
"interrupted.  Items the writer overwrote before they were read are reported\n"
"on stderr as \"scb: lost N items\" (records: \"lost N records\").  With -f,\n"
"when the ring is removed and a ring of that name is created again, it\n"
"follows the new ring from its oldest item (it looks twice a second while\n"
"idle; stderr says so).\n"
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
            print_one(&info, item, len, fmt);
            done++;
        }
        report_lost(r, &info, &lost_seen);
        if (rc != SCB_OK && rc != SCB_EAGAIN && rc != SCB_ETIMEDOUT) {
            report("pop", name, rc);
            status = EXIT_SCB;
        } else if (done == 0) {
            status = EXIT_EMPTY;
        }
    } else {
#if defined(_WIN32)
        signal(SIGINT, on_signal); /* Ctrl-C */
        signal(SIGTERM, on_signal);
#else
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
#endif
        while (!stop_signal) {
            /* Wakes up now and then to notice a signal. */
            rc = read_one(r, &info, item, &len, follow ? 200 : 0);
            report_lost(r, &info, &lost_seen);
            if (rc == SCB_OK) {
                print_one(&info, item, len, fmt);
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
