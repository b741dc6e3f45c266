/*
 * scb-rings.c - the scb command's subcommands that look at rings as a whole:
 * stat, ls and rm (by name, or --stale).  Public API only (<scb.h>).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include <scb.h>

#include "scb-cmd.h"

/* ------------------------------------------------------------------------ */
/* stat, ls and rm                                                          */

/* What an observer sees: SCB_OBSERVE takes no reader slot and holds no
 * writer back, so looking at a ring never changes it (nor fails because
 * every slot is taken), and needs only read access. */
static int inspect(const char *name, const char *backend, scb_info_t *info)
{
    scb_t *h = NULL;
    int rc = open_ring(&h, name, backend, SCB_OBSERVE);

    if (rc != SCB_OK)
        return rc;
    rc = scb_info(h, info);
    scb_close(h);
    return rc;
}

static void print_flags_json(FILE *f, uint32_t flags)
{
    const char *sep = "";

    fputc('[', f);
    if (flags & SCB_LOSSLESS) {
        fprintf(f, "%s\"lossless\"", sep);
        sep = ", ";
    }
    if (flags & SCB_UNLINK_ON_CLOSE) {
        fprintf(f, "%s\"unlink_on_close\"", sep);
        sep = ", ";
    }
    if (flags & SCB_RECORDS) {
        fprintf(f, "%s\"records\"", sep);
        sep = ", ";
    }
    if (flags & SCB_ASYM_BARRIERS)
        fprintf(f, "%s\"asym_barriers\"", sep);
    fputc(']', f);
}

static void print_info_json(FILE *f, const scb_info_t *in)
{
    fprintf(f, "{\"name\": ");
    cmd_json_string(f, in->name);
    fprintf(f, ", \"backend\": ");
    cmd_json_string(f, in->backend);
    fprintf(f, ", \"item_size\": %lu, \"length\": %llu, \"flags\": ",
            (unsigned long)in->item_size, (unsigned long long)in->length);
    print_flags_json(f, in->flags);
    fprintf(f, ", \"pushed\": %llu, \"usage\": %llu, \"lost\": %llu, "
            "\"max_readers\": %lu, \"readers\": %lu, \"writer_alive\": %s, "
            "\"writer_pid\": %lld, \"mode\": \"%04lo\"}",
            (unsigned long long)in->pushed, (unsigned long long)in->usage,
            (unsigned long long)in->lost, (unsigned long)in->max_readers,
            (unsigned long)in->readers, in->writer_alive ? "true" : "false",
            (long long)in->writer_pid, (unsigned long)in->mode);
}

int cmd_stat(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *backend = NULL;
    int json = 0, c, rc;
    scb_info_t in;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case OPT_BACKEND:
            backend = optarg;
            break;
        case OPT_HELP:
            printf(
"Usage: scb stat NAME [--json]\n"
"Shows ring NAME: geometry, backend, items pushed and kept, the writer's\n"
"process id and whether it is alive, the live registered readers.  It looks\n"
"through an observer (SCB_OBSERVE): it takes no reader slot and holds no\n"
"writer back.  A record ring shows \"kind: records\", its largest record\n"
"(max_record), its bytes of record space (length), the records pushed and\n"
"the bytes of record space in use (usage).\n"
"\n"
"  --json       one JSON object: name, backend, item_size, length, flags\n"
"               (list of \"lossless\", \"unlink_on_close\", \"records\",\n"
"               \"asym_barriers\"), pushed, usage,\n"
"               lost, max_readers, readers, writer_alive (boolean),\n"
"               writer_pid (0 when none), mode (octal string); for a record\n"
"               ring item_size is the largest record, length and usage are\n"
"               bytes, pushed and lost count records\n"
"  --backend=B  the ring's backend (default: the first that has NAME)\n"
"  -h, --help   this help\n");
            return EXIT_OK;
        default:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    one_name(argc, argv);
    rc = inspect(argv[optind], backend, &in);
    if (rc != SCB_OK) {
        report("stat", argv[optind], rc);
        return EXIT_SCB;
    }
    if (json) {
        print_info_json(stdout, &in);
        putchar('\n');
    } else {
        /* A record ring's sizes are bytes, its counts records: each line
         * says which. */
        int rec = (in.flags & SCB_RECORDS) != 0;

        printf("name:        %s\n", in.name);
        printf("backend:     %s\n", in.backend);
        if (rec) {
            printf("kind:        records\n");
            printf("max_record:  %lu bytes\n", (unsigned long)in.item_size);
            printf("length:      %llu bytes of record space\n",
                   (unsigned long long)in.length);
        } else {
            printf("item_size:   %lu\n", (unsigned long)in.item_size);
            printf("length:      %llu\n", (unsigned long long)in.length);
        }
        printf("flags:       %s%s%s\n",
               (in.flags & SCB_LOSSLESS) ? "lossless" : "overwrite",
               (in.flags & SCB_UNLINK_ON_CLOSE) ? " unlink_on_close" : "",
               (in.flags & SCB_ASYM_BARRIERS) ? " asym_barriers" : "");
        printf("mode:        %04lo\n", (unsigned long)in.mode);
        printf("pushed:      %llu%s\n", (unsigned long long)in.pushed,
               rec ? " records" : "");
        printf("usage:       %llu%s\n", (unsigned long long)in.usage,
               rec ? " bytes" : "");
        if (in.flags & SCB_LOSSLESS)
            printf("readers:     %lu of %lu\n", (unsigned long)in.readers,
                   (unsigned long)in.max_readers);
        if (in.writer_alive)
            printf("writer:      alive, pid %lld\n", (long long)in.writer_pid);
        else
            printf("writer:      none\n");
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_SCB;
}

/* The rings of one backend, collected before any is opened. */
typedef struct ring_list {
    char **names;
    size_t n, cap;
    int failed;
} ring_list_t;

static int collect(const char *name, void *arg)
{
    ring_list_t *l = arg;

    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->names, cap * sizeof *p);
        if (p == NULL) {
            l->failed = 1;
            return 1;
        }
        l->names = p;
        l->cap = cap;
    }
    if ((l->names[l->n] = strdup(name)) == NULL) {
        l->failed = 1;
        return 1;
    }
    l->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(ring_list_t *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

/* Lists backend `b` into *l, sorted: SCB_OK, SCB_ENOTSUP (cannot list)... */
static int list_backend(const char *b, ring_list_t *l)
{
    int rc;

    memset(l, 0, sizeof *l);
    rc = scb_list(b, collect, l);
    if (rc == SCB_OK && l->failed)
        rc = SCB_ENOMEM;
    if (rc != SCB_OK) {
        free_list(l);
        return rc;
    }
    if (l->n > 1)
        qsort(l->names, l->n, sizeof *l->names, cmp_names);
    return SCB_OK;
}

int cmd_ls(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *backend = NULL;
    const char *const *b;
    const char *one[2] = {NULL, NULL};
    int json = 0, c, rc, status = EXIT_OK, first = 1;
    ring_list_t l;
    scb_info_t in;
    size_t i;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case OPT_BACKEND:
            backend = optarg;
            break;
        case OPT_HELP:
            printf(
"Usage: scb ls [--json]\n"
"Lists the rings of every backend that can list them, one line each:\n"
"BACKEND NAME ITEM_SIZE LENGTH PUSHED WRITER (\"alive\" or \"none\").  A record\n"
"ring's line ends with a seventh field, \"records\": its ITEM_SIZE is the\n"
"largest record, its LENGTH bytes of record space, its PUSHED records.  A ring\n"
"that cannot be opened shows \"-\" fields, and why on stderr.\n"
"\n"
"  --json       a JSON array of the objects `scb stat --json` prints (a ring\n"
"               that cannot be opened: name, backend and error)\n"
"  --backend=B  only backend B\n"
"  -h, --help   this help\n");
            return EXIT_OK;
        default:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (backend != NULL)
        one[0] = backend;
    if (json)
        printf("[");
    for (b = backend != NULL ? one : scb_backends(); *b != NULL; b++) {
        rc = list_backend(*b, &l);
        if (rc == SCB_ENOTSUP && backend == NULL)
            continue; /* this backend cannot list here */
        if (rc != SCB_OK) {
            report("ls", *b, rc);
            status = EXIT_SCB;
            continue;
        }
        for (i = 0; i < l.n; i++) {
            rc = inspect(l.names[i], *b, &in);
            if (rc == SCB_ENOENT)
                continue; /* removed meanwhile */
            if (json) {
                printf("%s\n  ", first ? "" : ",");
                if (rc == SCB_OK) {
                    print_info_json(stdout, &in);
                } else {
                    printf("{\"name\": ");
                    cmd_json_string(stdout, l.names[i]);
                    printf(", \"backend\": ");
                    cmd_json_string(stdout, *b);
                    printf(", \"error\": ");
                    cmd_json_string(stdout, scb_strerror(rc));
                    printf("}");
                }
            } else if (rc == SCB_OK) {
                printf("%-6s %-24s %6lu %10llu %12llu %s%s\n", *b, l.names[i],
                       (unsigned long)in.item_size,
                       (unsigned long long)in.length,
                       (unsigned long long)in.pushed,
                       in.writer_alive ? "alive" : "none",
                       (in.flags & SCB_RECORDS) ? " records" : "");
            } else {
                printf("%-6s %-24s %6s %10s %12s %s\n", *b, l.names[i], "-",
                       "-", "-", "-");
            }
            if (rc != SCB_OK) {
                fprintf(stderr, "scb: ls: %s %s: %s\n", *b, l.names[i],
                        scb_strerror(rc));
            }
            first = 0;
        }
        free_list(&l);
    }
    if (json)
        printf("%s]\n", first ? "" : "\n");
    if (fflush(stdout) != 0)
        status = EXIT_SCB;
    return status;
}

/* Removes `name` from `backend`, or from the first backend that has it. */
static int unlink_ring(const char *name, const char *backend)
{
    const char *const *b;
    scb_config_t cfg;
    int rc = SCB_ENOENT;

    scb_config_init(&cfg);
    if (backend != NULL) {
        cfg.backend = backend;
        return scb_unlink(name, &cfg);
    }
    for (b = scb_backends(); *b != NULL; b++) {
        cfg.backend = *b;
        rc = scb_unlink(name, &cfg);
        if (rc != SCB_ENOENT)
            return rc;
    }
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"stale", no_argument, NULL, 's'},
        {"prefix", required_argument, NULL, 'p'},
        {"dry-run", no_argument, NULL, 'n'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *backend = NULL, *prefix = NULL;
    const char *const *b;
    const char *one[2] = {NULL, NULL};
    int stale = 0, dry = 0, c, rc, status = EXIT_OK, i;
    ring_list_t l;
    scb_info_t in;
    scb_config_t cfg;
    size_t k;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            stale = 1;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'n':
            dry = 1;
            break;
        case OPT_BACKEND:
            backend = optarg;
            break;
        case OPT_HELP:
            printf(
"Usage: scb rm NAME...\n"
"  or:  scb rm --stale [--prefix P] [--dry-run]\n"
"Removes rings.  Handles already open keep working.  --stale removes every\n"
"listed ring that no live writer holds and, when lossless, no live reader\n"
"is registered on, and prints \"BACKEND NAME\" for each.\n"
"\n"
"  --stale      remove the stale rings of every backend that can list\n"
"  --prefix=P   --stale: only rings whose name starts with P\n"
"  --dry-run    --stale: print, do not remove\n"
"  --backend=B  only backend B (default for NAME: the first that has it)\n"
"  -h, --help   this help\n");
            return EXIT_OK;
        default:
            say_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (!stale) {
        if (prefix != NULL || dry)
            die_usage("%s", "--prefix and --dry-run go with --stale");
        if (optind >= argc)
            die_usage("%s", "missing NAME (or --stale)");
        for (i = optind; i < argc; i++) {
            rc = unlink_ring(argv[i], backend);
            if (rc != SCB_OK) {
                report("rm", argv[i], rc);
                status = EXIT_SCB;
            }
        }
        return status;
    }
    if (optind != argc)
        die_usage("%s", "--stale takes no NAME");
    if (backend != NULL)
        one[0] = backend;
    for (b = backend != NULL ? one : scb_backends(); *b != NULL; b++) {
        rc = list_backend(*b, &l);
        if (rc == SCB_ENOTSUP && backend == NULL)
            continue;
        if (rc != SCB_OK) {
            report("rm", *b, rc);
            status = EXIT_SCB;
            continue;
        }
        for (k = 0; k < l.n; k++) {
            if (prefix != NULL &&
                strncmp(l.names[k], prefix, strlen(prefix)) != 0)
                continue;
            rc = inspect(l.names[k], *b, &in);
            if (rc != SCB_OK) /* gone, not a ring, not ours to judge */
                continue;
            if (in.writer_alive || ((in.flags & SCB_LOSSLESS) && in.readers > 0))
                continue;
            if (!dry) {
                scb_config_init(&cfg);
                cfg.backend = *b;
                rc = scb_unlink(l.names[k], &cfg);
                if (rc == SCB_ENOENT)
                    continue;
                if (rc != SCB_OK) {
                    fprintf(stderr, "scb: rm: %s %s: %s\n", *b, l.names[k],
                            scb_strerror(rc));
                    status = EXIT_SCB;
                    continue;
                }
            }
            printf("%s %s\n", *b, l.names[k]);
        }
        free_list(&l);
    }
    if (fflush(stdout) != 0)
        status = EXIT_SCB;
    return status;
}

