/*
 * scb.c - the scb command: create, fill, read, inspect and remove libscb
 * rings from the shell.  Public API only (<scb.h>).
 *
 *     scb create NAME [--item-size N] [--length N] [--lossless]
 *                     [--max-readers N] [--mode 0644] [--backend B]
 *     scb create NAME --records [--max-record N] [--length BYTES] [...]
 *     scb push NAME VALUE... | --hex HEX... | --stdin [--hex]
 *     scb pop NAME [-n N] [--wait MS] [--format int|hex|text|json|raw]
 *     scb tail NAME... [-f] [--format int|hex|text|json|raw]
 *     scb stat NAME [--json]
 *     scb ls [--json]
 *     scb rm NAME... | scb rm --stale [--prefix P]
 *     scb bench [scb-bench options]
 *     scb bridge out RING URL [...] | scb bridge in URL RING [...]
 *
 * pop and tail are in scb-read.c, stat, ls and rm in scb-rings.c.
 *
 * Exit statuses: 0 success, 1 a libscb or system error, 2 bad usage (an
 * unknown option or subcommand, a bad number or value), 3 nothing to read
 * (pop) or no room (push on a lossless ring).  Errors go to stderr as
 * "scb: WHAT: MESSAGE" with scb_strerror's message.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

#include <scb.h>

#include "scb-cmd.h"

#ifndef SCB_BINDIR
#define SCB_BINDIR "/usr/local/bin"
#endif


const char *sub = ""; /* the subcommand, for messages */

void say_usage_hint(void)
{
    if (*sub != '\0')
        fprintf(stderr, "Try 'scb %s --help'.\n", sub);
    else
        fprintf(stderr, "Try 'scb --help'.\n");
}

/* A usage error: message, hint, exit 2. */
void die_usage(const char *fmt, const char *arg)
{
    if (*sub != '\0')
        fprintf(stderr, "scb: %s: ", sub);
    else
        fprintf(stderr, "scb: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    say_usage_hint();
    exit(EXIT_USAGE);
}

const char *one_name(int argc, char **argv)
{
    if (argc - optind != 1)
        die_usage("%s", argc - optind < 1 ? "missing NAME" : "one NAME only");
    return argv[optind];
}

/* "scb: WHAT: MESSAGE" for a libscb code. */
void report(const char *what, const char *name, int rc)
{
    if (name != NULL)
        fprintf(stderr, "scb: %s: %s: %s\n", what, name, scb_strerror(rc));
    else
        fprintf(stderr, "scb: %s: %s\n", what, scb_strerror(rc));
}

static int status_of(int rc)
{
    if (rc == SCB_OK)
        return EXIT_OK;
    if (rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT)
        return EXIT_EMPTY;
    return EXIT_SCB;
}

uint64_t num_opt(const char *opt, const char *arg, uint64_t min,
                        uint64_t max)
{
    uint64_t v;

    if (cmd_parse_u64(arg, max, &v) != 0 || v < min) {
        fprintf(stderr, "scb: %s: bad number for %s: '%s'\n", sub, opt, arg);
        say_usage_hint();
        exit(EXIT_USAGE);
    }
    return v;
}

/* A size: a number with an optional unit (K, M, G, T). */
static uint64_t size_opt(const char *opt, const char *arg, uint64_t min,
                         uint64_t max)
{
    uint64_t v;

    if (cmd_parse_size(arg, max, &v) != 0 || v < min) {
        fprintf(stderr, "scb: %s: bad number for %s: '%s'\n", sub, opt, arg);
        say_usage_hint();
        exit(EXIT_USAGE);
    }
    return v;
}

static void print_version(void)
{
    printf("scb (libscb) %s\n", scb_version());
}

/* ------------------------------------------------------------------------ */
/* Opening rings.                                                           */

/* Opens `name` on `backend`, or (NULL) on the first backend built in,
 * default first, that has a ring of that name. */
int open_ring(scb_t **h, const char *name, const char *backend,
                     uint32_t flags)
{
    const char *const *b;
    scb_config_t cfg;
    int rc = SCB_ENOENT;

    scb_config_init(&cfg);
    cfg.flags = flags;
    if (backend != NULL) {
        cfg.backend = backend;
        return scb_open(h, name, &cfg);
    }
    for (b = scb_backends(); *b != NULL; b++) {
        cfg.backend = *b;
        rc = scb_open(h, name, &cfg);
        if (rc != SCB_ENOENT)
            return rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* create                                                                   */

/* The bounds of scb_create's numbers (scb.h): out of them is a usage error
 * here, before the library is asked. */
#define ITEM_SIZE_MAX (UINT64_C(1) << 30)
#define MAX_READERS_MAX 4096u

/* Record rings (the contract in scb.h): each record takes a 16-byte header
 * plus its length rounded up to 8, and the record space (length, in bytes)
 * is a multiple of 8 that holds at least two of the largest records.  The
 * defaults: records of up to 4 KiB in 1 MiB, or room for four of the
 * largest records when that is more. */
#define RECORD_HEADER 16u
#define RECORD_MAX_DEFAULT 4096u
#define RECORD_SPACE_DEFAULT (UINT64_C(1) << 20)

static uint64_t round8(uint64_t v)
{
    return (v + 7) & ~UINT64_C(7);
}

/* Fills in the defaults of a record ring's geometry and checks what was
 * given against the contract: a usage error (exit 2) says what is wrong. */
static void record_geometry(scb_config_t *cfg, int max_given, int length_given)
{
    /* scb_config_init's item_size (1) is the default of items, not ours. */
    uint64_t max = max_given ? cfg->item_size : RECORD_MAX_DEFAULT;
    uint64_t least = 2 * (max + RECORD_HEADER);

    cfg->item_size = (uint32_t)max;
    if (!length_given) {
        cfg->length = RECORD_SPACE_DEFAULT;
        if (cfg->length < round8(4 * (max + RECORD_HEADER)))
            cfg->length = round8(4 * (max + RECORD_HEADER));
        return;
    }
    if (cfg->length % 8 != 0) {
        fprintf(stderr, "scb: create: --length %llu is not a multiple of 8: a "
                "record ring's length is its bytes of record space\n",
                (unsigned long long)cfg->length);
        say_usage_hint();
        exit(EXIT_USAGE);
    }
    if (cfg->length < least) {
        fprintf(stderr, "scb: create: --length %llu is too small for records "
                "of up to %llu bytes: a record ring holds at least two of its "
                "largest, 2 * (%llu + %u) = %llu bytes\n",
                (unsigned long long)cfg->length, (unsigned long long)max,
                (unsigned long long)max, RECORD_HEADER,
                (unsigned long long)least);
        say_usage_hint();
        exit(EXIT_USAGE);
    }
}

/* A name scb_create accepts on any backend as far as the characters and the
 * length go (semantics 8; a backend may still find it too long). */
static int name_ok(const char *name)
{
    size_t n;

    for (n = 0; name[n] != '\0'; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= SCB_NAME_MAX;
}

static int cmd_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"item-size", required_argument, NULL, 's'},
        {"length", required_argument, NULL, 'l'},
        {"records", no_argument, NULL, 'R'},
        {"max-record", required_argument, NULL, 'M'},
        {"lossless", no_argument, NULL, 'L'},
        {"unlink-on-close", no_argument, NULL, 'U'},
        {"asym-barriers", no_argument, NULL, 'A'},
        {"max-readers", required_argument, NULL, 'r'},
        {"mode", required_argument, NULL, 'm'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    scb_config_t cfg;
    scb_info_t info;
    scb_t *w = NULL;
    uint64_t v;
    int c, rc, item_size_given = 0, max_record_given = 0, length_given = 0;

    scb_config_init(&cfg);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            cfg.item_size = (uint32_t)size_opt("--item-size", optarg, 1,
                                               ITEM_SIZE_MAX);
            item_size_given = 1;
            break;
        case 'M':
            cfg.item_size = (uint32_t)size_opt("--max-record", optarg, 1,
                                               ITEM_SIZE_MAX);
            max_record_given = 1;
            break;
        case 'l':
            cfg.length = size_opt("--length", optarg, 1, UINT64_MAX);
            length_given = 1;
            break;
        case 'R':
            cfg.flags |= SCB_RECORDS;
            break;
        case 'L':
            cfg.flags |= SCB_LOSSLESS;
            break;
        case 'U':
            cfg.flags |= SCB_UNLINK_ON_CLOSE;
            break;
        case 'A':
            cfg.flags |= SCB_ASYM_BARRIERS;
            break;
        case 'r':
            cfg.max_readers = (uint32_t)num_opt("--max-readers", optarg, 1,
                                                MAX_READERS_MAX);
            break;
        case 'm':
            /* Permission bits only: scb_create refuses setuid, setgid and
             * sticky bits. */
            if (cmd_parse_octal(optarg, 0777, &v) != 0 || v == 0)
                die_usage("bad mode for --mode (permission bits in octal, "
                          "0001 to 0777, e.g. 0644): '%s'", optarg);
            cfg.mode = (uint32_t)v;
            break;
        case OPT_BACKEND:
            cfg.backend = optarg;
            break;
        case OPT_HELP:
            printf(
"Usage: scb create NAME [OPTION]...\n"
"  or:  scb create NAME --records [--max-record N] [--length BYTES] [OPTION]...\n"
"Creates the ring NAME and leaves it for others to use (no live writer until\n"
"one opens it, e.g. scb push).  Sizes take a unit: K, M, G or T (KiB, MiB...;\n"
"powers of 1024), e.g. 1M.\n"
"\n"
"      --item-size=N    bytes per item, 1 to 1073741824 (1G; default 1)\n"
"      --length=N       capacity in items (default 2); with --records, bytes of\n"
"                       record space: a multiple of 8, at least\n"
"                       2 * (max record + 16) (default 1M, or\n"
"                       4 * (max record + 16) when that is more)\n"
"      --records        a record ring (SCB_RECORDS): records of 0 to max record\n"
"                       bytes each, stored back to back (16 bytes of header\n"
"                       plus the length rounded up to 8 each)\n"
"      --max-record=N   with --records: the largest record, 1 to 1073741824\n"
"                       bytes (default 4096)\n"
"      --lossless       the writer never overwrites an item a live reader has\n"
"                       not read (SCB_LOSSLESS)\n"
"      --max-readers=N  reader slots of a lossless ring, 1 to 4096 (default 64)\n"
"      --asym-barriers  push and pop without fences, membarrier on the rare\n"
"                       side (SCB_ASYM_BARRIERS; Linux, else no effect)\n"
"      --mode=MODE      permission bits, octal, at most 0777 (default 0600)\n"
"      --backend=B      backend (default: the configured default)\n"
"  -h, --help           this help\n");
            return EXIT_OK;
        default:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    one_name(argc, argv);
    if (cfg.flags & SCB_RECORDS) {
        if (item_size_given)
            die_usage("%s", "--item-size is for items: a record ring takes "
                      "--max-record");
        record_geometry(&cfg, max_record_given, length_given);
    } else if (max_record_given) {
        die_usage("%s", "--max-record goes with --records");
    }
    rc = scb_create(&w, argv[optind], &cfg);
    if (rc == SCB_EINVAL && name_ok(argv[optind])) {
        /* A good name: what scb_create refused is the geometry the options
         * asked for (item size times length too large to address). */
        if (cfg.flags & SCB_RECORDS)
            fprintf(stderr, "scb: create: %s: %s: --length is too large\n",
                    argv[optind], scb_strerror(rc));
        else
            fprintf(stderr, "scb: create: %s: %s: --item-size times --length "
                    "is too large\n", argv[optind], scb_strerror(rc));
        say_usage_hint();
        return EXIT_USAGE;
    }
    if (rc != SCB_OK) {
        report("create", argv[optind], rc);
        return EXIT_SCB;
    }
    /* A library that does not know SCB_RECORDS would have made a ring of
     * fixed-size items out of the geometry asked for: take it back. */
    if ((cfg.flags & SCB_RECORDS) &&
        (scb_info(w, &info) != SCB_OK || !(info.flags & SCB_RECORDS))) {
        scb_close(w);
        scb_unlink(argv[optind], &cfg);
        fprintf(stderr, "scb: create: %s: record rings: %s\n", argv[optind],
                scb_strerror(SCB_ENOTSUP));
        return EXIT_SCB;
    }
    /* Without SCB_UNLINK_ON_CLOSE the ring outlives this writer. */
    rc = scb_close(w);
    if (rc != SCB_OK) {
        report("create", argv[optind], rc);
        return EXIT_SCB;
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* push                                                                     */

static int cmd_push(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hex", no_argument, NULL, 'x'},
        {"stdin", no_argument, NULL, 'i'},
        {"wait", required_argument, NULL, 'w'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *backend = NULL, *name;
    int hex = 0, from_stdin = 0, c, rc, i, status = EXIT_OK;
    int64_t wait_ms = 0;
    unsigned char *items = NULL;
    size_t size, n = 0, k;
    scb_info_t info;
    scb_t *w = NULL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'x':
            hex = 1;
            break;
        case 'i':
            from_stdin = 1;
            break;
        case 'w':
            wait_ms = (int64_t)num_opt("--wait", optarg, 0, INT64_MAX);
            break;
        case OPT_BACKEND:
            backend = optarg;
            break;
        case OPT_HELP:
            printf(
"Usage: scb push NAME VALUE...\n"
"  or:  scb push NAME --hex HEX...\n"
"  or:  scb push NAME --stdin [--hex]\n"
"Takes the writer role of ring NAME (fails if a live writer holds it) and\n"
"pushes items.  A VALUE is an unsigned integer (decimal, or hexadecimal after\n"
"0x) stored big-endian in item_size bytes; it must fit.\n"
"On a record ring (scb create --records) each VALUE is one record, its text\n"
"as given (\"\" is the empty record; put -- before values that start with\n"
"-); a record longer than the ring's max record is a usage error, and then\n"
"no VALUE is pushed.\n"
"\n"
"  --hex        each argument is exactly item_size bytes as hex digits; on a\n"
"               record ring, a record of any length as hex digits, two a\n"
"               byte, after an optional 0x\n"
"  --stdin      push the raw items read from standard input (item_size bytes\n"
"               each; a partial last item is an error); on a record ring,\n"
"               each line (without its newline) is a record, and with --hex\n"
"               each line is one in hex\n"
"  --wait=MS    lossless ring: wait up to MS ms for room per item (default 0)\n"
"  --backend=B  the ring's backend (default: the first that has NAME)\n"
"  -h, --help   this help\n"
"\n"
"Exit status 3 when a lossless ring has no room.\n");
            return EXIT_OK;
        default:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        die_usage("%s", "missing NAME");
    name = argv[optind++];
    if (from_stdin && optind < argc)
        die_usage("%s", "--stdin takes no VALUE");
    if (!from_stdin && optind >= argc)
        die_usage("%s", "missing VALUE");

    rc = open_ring(&w, name, backend, SCB_WRITER);
    if (rc != SCB_OK) {
        report("push", name, rc);
        return EXIT_SCB;
    }
    scb_info(w, &info);
    size = info.item_size;

    if (info.flags & SCB_RECORDS) {
        status = cmd_push_records(w, name, &info, argv + optind, argc - optind,
                                  hex, from_stdin, wait_ms);
        rc = scb_close(w);
        if (rc != SCB_OK && status == EXIT_OK) {
            report("push", name, rc);
            status = EXIT_SCB;
        }
        return status;
    }
    if (hex && from_stdin) {
        scb_close(w);
        die_usage("%s", "--hex and --stdin exclude each other on a ring of "
                  "fixed-size items");
    }
    if (from_stdin) {
        unsigned char *item = malloc(size);
        size_t got;

        if (item == NULL) {
            report("push", name, SCB_ENOMEM);
            scb_close(w);
            return EXIT_SCB;
        }
        for (;;) {
            got = fread(item, 1, size, stdin);
            if (got == 0)
                break;
            if (got < size) {
                fprintf(stderr, "scb: push: %s: standard input ends in a "
                        "partial item (%zu of %zu bytes)\n", name, got, size);
                status = EXIT_USAGE;
                break;
            }
            rc = scb_push_wait(w, item, wait_ms);
            if (rc != SCB_OK) {
                report("push", name, rc);
                status = status_of(rc);
                break;
            }
        }
        if (status == EXIT_OK && ferror(stdin)) {
            fprintf(stderr, "scb: push: standard input: %s\n", strerror(errno));
            status = EXIT_SCB;
        }
        free(item);
        scb_close(w);
        return status;
    }

    /* Every value is checked before the first is pushed. */
    n = (size_t)(argc - optind);
    if (n > SIZE_MAX / size || (items = malloc(n * size)) == NULL) {
        report("push", name, SCB_ENOMEM);
        scb_close(w);
        return EXIT_SCB;
    }
    for (i = optind, k = 0; i < argc; i++, k++) {
        int e = hex ? cmd_encode_hex(argv[i], items + k * size, size)
                    : cmd_encode_int(argv[i], items + k * size, size);
        if (e != 0) {
            if (hex)
                fprintf(stderr, "scb: push: bad hex item '%s': want exactly "
                        "%zu hex digits\n", argv[i], 2 * size);
            else if (e == -2)
                fprintf(stderr, "scb: push: %s does not fit in %zu byte%s\n",
                        argv[i], size, size == 1 ? "" : "s");
            else
                fprintf(stderr, "scb: push: bad number '%s'\n", argv[i]);
            say_usage_hint();
            free(items);
            scb_close(w);
            return EXIT_USAGE;
        }
    }
    for (k = 0; k < n; k++) {
        rc = scb_push_wait(w, items + k * size, wait_ms);
        if (rc != SCB_OK) {
            report("push", name, rc);
            fprintf(stderr, "scb: push: %s: %zu of %zu items pushed\n", name,
                    k, n);
            status = status_of(rc);
            break;
        }
    }
    free(items);
    rc = scb_close(w);
    if (rc != SCB_OK && status == EXIT_OK) {
        report("push", name, rc);
        status = EXIT_SCB;
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* bench and bridge: companion programs                                     */

/* Some commands are programs of their own, so that scb links nothing but
 * libscb: `scb bench` runs scb-bench, `scb bridge` runs scb-bridge (which
 * links the NATS client).  A companion is looked for next to this program
 * (installed), or in the build tree (`dir`/ beside tools/, where libtool
 * may have put this program in tools/.libs/), else in the configured
 * bindir; it gets this command's arguments, with its own name as argv[0].
 * `missing` says when it is built, for the message when it is not found. */
#if defined(_WIN32)
static int run_companion(const char *prog, const char *dir, const char *missing,
                         char **argv)
{
    (void)dir;
    (void)missing;
    (void)argv;
    fprintf(stderr, "scb: %s: %s is not built on Windows\n", sub, prog);
    return EXIT_SCB;
}
#else
static int run_companion(const char *prog, const char *dir, const char *missing,
                         char **argv)
{
    char self[PATH_MAX], cand[PATH_MAX + 128], *slash;
    const char *rel[3];
    char rel1[96], rel2[96];
    ssize_t n = -1;
    int i;

    snprintf(rel1, sizeof rel1, "/../%s/%s", dir, prog);
    snprintf(rel2, sizeof rel2, "/../../%s/%s", dir, prog);
    rel[0] = rel1;
    rel[1] = rel2;
    rel[2] = NULL;
    argv[0] = (char *)prog;
#if defined(__linux__)
    n = readlink("/proc/self/exe", self, sizeof self - 1);
#endif
    if (n > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL) {
            *slash = '\0';
            snprintf(cand, sizeof cand, "%s/%s", self, prog);
            for (i = -1; i < 0 || rel[i] != NULL; i++) {
                if (i >= 0)
                    snprintf(cand, sizeof cand, "%s%s", self, rel[i]);
                if (access(cand, X_OK) == 0) {
                    execv(cand, argv);
                    fprintf(stderr, "scb: %s: %s: %s\n", sub, cand, strerror(errno));
                    return EXIT_SCB;
                }
            }
        }
    }
    snprintf(cand, sizeof cand, "%s/%s", SCB_BINDIR, prog);
    if (access(cand, X_OK) == 0) {
        execv(cand, argv);
        fprintf(stderr, "scb: %s: %s: %s\n", sub, cand, strerror(errno));
        return EXIT_SCB;
    }
    fprintf(stderr, "scb: %s: %s not found (next to scb, nor in %s)%s\n", sub,
            prog, SCB_BINDIR, missing);
    return EXIT_SCB;
}
#endif

static int cmd_bench(int argc, char **argv)
{
    (void)argc;
    return run_companion("scb-bench", "bench", "", argv);
}

/* scb-bridge parses its own arguments: it gets "scb-bridge out ..." */
static int cmd_bridge(int argc, char **argv)
{
    (void)argc;
    return run_companion("scb-bridge", "bridge",
                         "; it is built when configure finds the NATS C "
                         "client (libnats; --with-nats)", argv);
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: scb COMMAND [ARG]...\n"
"Creates, inspects and removes libscb shared-memory rings.\n"
"\n"
"  scb create NAME [--item-size N] [--length N] [--lossless]\n"
"                  [--max-readers N] [--mode 0644] [--backend B]\n"
"  scb create NAME --records [--max-record N] [--length BYTES] [...]\n"
"  scb push NAME VALUE...   integers, or --hex HEX..., or --stdin (raw items);\n"
"                           record ring: texts, hex, or stdin's lines\n"
"  scb pop NAME [-n N] [--wait MS] [--format int|hex|text|json|raw]\n"
"  scb tail NAME... [-f]    print the items, then (-f) those that arrive;\n"
"                           several rings: each line starts with \"NAME: \"\n"
"  scb stat NAME [--json]   geometry, backend, pushed, usage, writer, readers\n"
"  scb ls [--json]          the rings of every backend that can list\n"
"  scb rm NAME... | scb rm --stale   remove rings; --stale: those with no\n"
"                           live writer and (lossless) no live reader\n"
"  scb bench [OPTION]...    run scb-bench\n"
"  scb bridge out RING URL [OPTION]...   publish a ring over NATS\n"
"  scb bridge in URL RING [OPTION]...    write a ring from NATS (scb-bridge;\n"
"                           see scb bridge --help)\n"
"\n"
"  -h, --help     this help (COMMAND --help: that command's)\n"
"  -V, --version  the version\n"
"\n"
"Every command takes --backend B (default: the first backend built in that\n"
"has the ring; for create, the configured default).  Backends built in:");
    for (const char *const *b = scb_backends(); *b != NULL; b++)
        fprintf(f, " %s", *b);
    fprintf(f, ".\n"
"Integers are items read as unsigned big-endian numbers (as the Python\n"
"package shared_cbuff reads them); items over 8 bytes print as hex.\n"
"A record ring (--records) holds records of 0 to max record bytes; pop and\n"
"tail print one a line: its text when it is printable UTF-8 not starting with\n"
"0x, else 0x and its bytes in hex.  Sizes take a unit: 1K, 4M, 1G (1024s).\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  a libscb or system error (the message is scb_strerror's)\n"
"  2  usage error: unknown command or option, bad number or value (out of\n"
"     range included; a record longer than the ring's max record)\n"
"  3  pop: nothing to read (SCB_EAGAIN, SCB_ETIMEDOUT); push: no room in a\n"
"     lossless ring\n");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"create", cmd_create}, {"push", cmd_push},
                {"stat", cmd_stat},     {"ls", cmd_ls},
                {"rm", cmd_rm},         {"bench", cmd_bench},
                {"bridge", cmd_bridge}, {NULL, NULL}};
    const char *name;
    int i;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        print_version();
        return EXIT_OK;
    }
    sub = argv[1];
    /* Each command's --version is the command's (the companion programs
     * answer theirs). */
    for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--version") == 0 && strcmp(sub, "bench") != 0 &&
            strcmp(sub, "bridge") != 0) {
            print_version();
            return EXIT_OK;
        }
    /* getopt's own messages then read "scb: COMMAND: ...". */
    {
        static char prefix[64];
        snprintf(prefix, sizeof prefix, "scb: %s", sub);
        argv[1] = prefix;
    }
    if (strcmp(sub, "pop") == 0)
        return cmd_read(argc - 1, argv + 1, 0);
    if (strcmp(sub, "tail") == 0)
        return cmd_read(argc - 1, argv + 1, 1);
    for (i = 0; cmds[i].name != NULL; i++)
        if (strcmp(sub, cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    name = sub;
    sub = "";
    if (name[0] == '-')
        die_usage("unknown option '%s'", name);
    die_usage("unknown command '%s'", name);
    return EXIT_USAGE;
}
