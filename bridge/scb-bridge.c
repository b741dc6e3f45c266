/*
 * scb-bridge.c - carries a libscb ring to other hosts over NATS: the
 * arguments, the connection, the statistics lines and the signals.  `scb
 * bridge ...` runs this program (found next to scb), so that scb itself
 * never links libnats.  The two directions are in out.c (with out_js.c for
 * JetStream) and in.c.
 *
 *     scb-bridge out RING URL [--subject S] [--stream NAME [--replicas N]] [--backend B] [--stats SECONDS]
 *     scb-bridge in  URL RING [--subject S] [--stream NAME [--durable D]] [--length N] [--backend B] [--stats SECONDS]
 *
 * Public libscb API only (<scb.h>).  Not here: any knowledge of the ring's
 * layout; the ring is read and written as any program would.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "scb-cmd.h"

volatile sig_atomic_t bridge_stop;

static const char *role(const bridge_opts_t *o)
{
    return o->out ? "out" : "in";
}

/* Writes s to f with the user information of every URL in it (the
 * "user:password@" or "token@" after "scheme://") replaced by "***", so
 * that no message shows credentials. */
static void put_redacted(FILE *f, const char *s)
{
    const char *p;

    while ((p = strstr(s, "://")) != NULL) {
        const char *host = p + 3, *e = host, *at = NULL;

        while (*e != '\0' && strchr("/,; \t\n'\"()<>", *e) == NULL) {
            if (*e == '@')
                at = e;
            e++;
        }
        fwrite(s, 1, (size_t)(host - s), f);
        if (at != NULL) {
            fputs("***", f);
            host = at;
        }
        fwrite(host, 1, (size_t)(e - host), f);
        s = e;
    }
    fputs(s, f);
}

static void verr(const bridge_opts_t *o, const char *fmt, va_list ap)
{
    char msg[2048];

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (o != NULL)
        fprintf(stderr, "scb: bridge: %s: ", role(o));
    else
        fprintf(stderr, "scb: bridge: ");
    put_redacted(stderr, msg);
}

void bridge_err(const bridge_opts_t *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(o, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *bridge_nats_err(natsStatus s)
{
    static _Thread_local char buf[512];
    const char *text = nats_GetLastError(NULL), *p;
    size_t n;

    if (text == NULL || *text == '\0')
        return natsStatus_GetText(s);
    /* Without the client's "(file.c:123): " in front. */
    if (text[0] == '(' && (p = strstr(text, "): ")) != NULL)
        text = p + 3;
    /* Nor the ": (null)" it writes after a reason it has no text for (a
     * certificate file that cannot be read). */
    n = strlen(text);
    if (n >= 8 && strcmp(text + n - 8, ": (null)") == 0 && n - 8 < sizeof buf) {
        memcpy(buf, text, n - 8);
        buf[n - 8] = '\0';
        return buf;
    }
    return text;
}

int bridge_js_transient(natsStatus s, jsErrCode jerr)
{
    switch (s) {
    case NATS_TIMEOUT:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_NO_SERVER:
        return 1;
    default:
        break;
    }
    return jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr ||
           jerr == JSClusterNoPeersErr || jerr == JSStreamOfflineErr ||
           jerr == JSConsumerOfflineErr;
}

uint64_t bridge_js_floor(const jsConsumerInfo *ci)
{
    uint64_t f = ci->AckFloor.Stream;
    const jsConsumerConfig *c = ci->Config;

    if (c != NULL && c->DeliverPolicy == js_DeliverByStartSequence &&
        c->OptStartSeq > 0 && c->OptStartSeq - 1 > f)
        f = c->OptStartSeq - 1;
    if (ci->NumAckPending == 0 && ci->Delivered.Stream > f)
        f = ci->Delivered.Stream;
    return f;
}

void bridge_js_pause(const bridge_opts_t *o, int *said, const char *what,
                     natsStatus s)
{
    if (!*said)
        bridge_err(o, "%s: %s: trying again until it answers", what,
                   bridge_nats_err(s));
    *said = 1;
    /* Ten short sleeps: a signal is seen within 25 ms. */
    for (int i = 0; i < 10 && !bridge_stop; i++) {
        struct timespec ts = {0, 25 * 1000000};

        nanosleep(&ts, NULL);
    }
}

double bridge_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bridge_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

int bridge_parse_hdr(const char *v, bridge_hdr_t *h)
{
    enum { K_SEQ, K_LOST, K_KIND, K_SIZE, K_LENGTH, K_RUN, K_N };
    static const struct {
        const char *name;
        size_t len;
    } keys[K_N] = {{"seq", 3},  {"lost", 4},   {"kind", 4},
                   {"size", 4}, {"length", 6}, {"run", 3}};
    const unsigned required = (1u << K_RUN) - 1;
    unsigned seen = 0;

    h->run = 0;
    while (*v != '\0') {
        const char *key = v, *val, *end;
        size_t klen;
        int i;

        while (*v != '\0' && *v != ' ')
            v++;
        end = v;
        while (*v == ' ')
            v++;
        if ((val = memchr(key, '=', (size_t)(end - key))) == NULL)
            continue;
        klen = (size_t)(val - key);
        val++;
        for (i = 0; i < K_N; i++)
            if (keys[i].len == klen && memcmp(key, keys[i].name, klen) == 0)
                break;
        if (i == K_N)
            continue; /* a later addition */
        if (i == K_KIND) {
            if ((size_t)(end - val) == strlen(KIND_ITEMS) &&
                memcmp(val, KIND_ITEMS, strlen(KIND_ITEMS)) == 0)
                h->records = 0;
            else if ((size_t)(end - val) == strlen(KIND_RECORDS) &&
                     memcmp(val, KIND_RECORDS, strlen(KIND_RECORDS)) == 0)
                h->records = 1;
            else
                return -1;
        } else {
            uint64_t n = 0;
            unsigned base = i == K_RUN ? 16 : 10;

            if (val == end || end - val > 20)
                return -1;
            for (; val < end; val++) {
                unsigned d;

                if (*val >= '0' && *val <= '9')
                    d = (unsigned)(*val - '0');
                else if (base == 16 && *val >= 'a' && *val <= 'f')
                    d = (unsigned)(*val - 'a' + 10);
                else
                    return -1;
                /* in parses every message's header: a multiplication
                 * that says when it overflows, not a division per digit
                 * (which cost in a tenth of its time). */
                if (__builtin_mul_overflow(n, base, &n) ||
                    __builtin_add_overflow(n, d, &n))
                    return -1;
            }
            switch (i) {
            case K_SEQ: h->seq = n; break;
            case K_LOST: h->lost = n; break;
            case K_SIZE: h->size = n; break;
            case K_LENGTH: h->length = n; break;
            default: h->run = n; break;
            }
        }
        seen |= 1u << i;
    }
    return (seen & required) == required ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Usage.                                                                   */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: scb bridge out RING URL [OPTION]...\n"
"  or:  scb bridge in  URL RING [OPTION]...\n"
"Carries a ring to other hosts over NATS.  out reads the local ring RING (as\n"
"a reader) and publishes each item or record as one NATS message; in\n"
"subscribes and writes each message into the local ring RING (as its writer),\n"
"creating it with the source's geometry when it does not exist.\n"
"\n"
"URL is a NATS URL or a comma-separated list (nats://host:4222,...), with\n"
"credentials in it if needed.\n"
"\n"
"      --subject=S      the NATS subject (default: scb.RING)\n"
"      --stream=NAME    JetStream: out makes the stream NAME when missing\n"
"                       (the subject, file storage, the ring's length as\n"
"                       its limit, oldest discarded); in reads it through\n"
"                       a durable consumer\n"
"      --replicas=N     out, with --stream: the stream's replicas (1 to 5)\n"
"      --durable=D      in, with --stream: the durable consumer (default:\n"
"                       scb-RING, characters other than letters, digits,\n"
"                       '-' and '_' made '_')\n"
"      --length=N       in: the length of a ring it creates (default: the\n"
"                       source's); K, M, G, T as in scb create\n"
"      --backend=B      the local ring's backend\n"
"      --stats=SECONDS  print a statistics line (JSON) every SECONDS (at\n"
"                       least 0.01); one is always printed at exit\n"
"      --creds=FILE     NATS user credentials file\n"
"      --tls-ca=FILE    CA certificates: connect with TLS\n"
"  -h, --help           this help\n"
"  -V, --version        the version\n"
"\n"
"Core NATS is at-most-once: what is lost is counted (lost_source: items the\n"
"ring overwrote before out read them; lost_upstream: items out published\n"
"that in never got), never hidden.  With --stream, out counts as published\n"
"what the stream acknowledged, and a restarted out skips (duplicates) what\n"
"the stream holds already; in acknowledges only what is in its ring.  in\n"
"keeps its place in the ring RING.bridge-in beside RING (kept at exit), so\n"
"that a restarted in never writes an item twice; out with --stream holds\n"
"the ring RING.bridge-out.STREAM while it runs (kept at exit): one out of a\n"
"ring on a stream at a time.  SIGINT and SIGTERM flush, print the last\n"
"statistics line and exit 0.\n"
"Exit status: 0 success, 1 an error after start, 2 bad arguments, a server\n"
"unreachable at start, another out of the ring on the stream or in on the\n"
"consumer, or (in) a ring whose geometry differs from the source's.\n");
}

static void bad_args(const bridge_opts_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void bad_args(const bridge_opts_t *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(o, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'scb bridge --help')\n");
    exit(BRIDGE_EXIT_USAGE);
}

/* A subject one can publish to: tokens separated by dots, none empty, no
 * space or control character, no wildcard. */
static int subject_ok(const char *s)
{
    size_t tok = 0;

    for (; *s != '\0'; s++) {
        if (*s == '.') {
            if (tok == 0)
                return 0;
            tok = 0;
            continue;
        }
        if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '*' || *s == '>')
            return 0;
        tok++;
    }
    return tok > 0;
}

/* A stream or consumer name: no dots, spaces, wildcards or slashes. */
static int stream_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 200)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* The shortest --stats period: a line every 10 ms is already a flood. */
#define STATS_MIN 0.01

static int backend_ok(const char *name)
{
    for (const char *const *b = scb_backends(); *b != NULL; b++)
        if (strcmp(*b, name) == 0)
            return 1;
    return 0;
}

static const char *backends_list(void)
{
    static char list[256];
    size_t n = 0;

    for (const char *const *b = scb_backends(); *b != NULL; b++)
        n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0,
                              "%s%s", n ? ", " : "", *b);
    return list;
}

/* --help ('h') or --version ('V'), before or after the direction: print
 * and exit 0. */
static void help_or_version(int c)
{
    if (c == 'h')
        usage(stdout);
    else
        printf("scb-bridge (libscb) %s\n", scb_version());
    exit(BRIDGE_EXIT_OK);
}

static void parse(bridge_opts_t *o, int argc, char **argv)
{
    enum { O_SUBJECT = 256, O_STREAM, O_REPLICAS, O_DURABLE, O_LENGTH,
           O_BACKEND, O_STATS, O_CREDS, O_TLS_CA };
    static const struct option opts[] = {
        {"subject", required_argument, NULL, O_SUBJECT},
        {"stream", required_argument, NULL, O_STREAM},
        {"replicas", required_argument, NULL, O_REPLICAS},
        {"durable", required_argument, NULL, O_DURABLE},
        {"length", required_argument, NULL, O_LENGTH},
        {"backend", required_argument, NULL, O_BACKEND},
        {"stats", required_argument, NULL, O_STATS},
        {"creds", required_argument, NULL, O_CREDS},
        {"tls-ca", required_argument, NULL, O_TLS_CA},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    static char subject[SCB_NAME_MAX + 8];
    int c, replicas_given = 0;
    uint64_t v;
    char *end;

    memset(o, 0, sizeof *o);
    if (argc < 2)
        bad_args(NULL, "%s", "missing out or in");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        help_or_version('h');
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        help_or_version('V');
    if (strcmp(argv[1], "out") == 0)
        o->out = 1;
    else if (strcmp(argv[1], "in") != 0)
        bad_args(NULL, "unknown direction '%s': out or in", argv[1]);
    argc--;
    argv++;
    /* getopt's own messages then read "scb bridge out: ...". */
    argv[0] = o->out ? "scb bridge out" : "scb bridge in";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
        switch (c) {
        case O_SUBJECT:
            o->subject = optarg;
            break;
        case O_STREAM:
            o->stream = optarg;
            break;
        case O_REPLICAS:
            if (!o->out)
                bad_args(o, "%s", "--replicas is for out");
            if (bridge_parse_u64(optarg, &v) != 0 || v < 1 || v > 5)
                bad_args(o, "bad number for --replicas (1 to 5): '%s'", optarg);
            o->replicas = (uint32_t)v;
            replicas_given = 1;
            break;
        case O_DURABLE:
            if (o->out)
                bad_args(o, "%s", "--durable is for in");
            o->durable = optarg;
            break;
        case O_LENGTH:
            if (o->out)
                bad_args(o, "%s", "--length is for in (out reads the ring as it is)");
            /* The units of scb create's --length (K, M, G, T), through
             * the scb command's own parser. */
            if (cmd_parse_size(optarg, UINT64_MAX, &v) != 0 || v < 1)
                bad_args(o, "bad number for --length: '%s'", optarg);
            o->length = v;
            break;
        case O_BACKEND:
            o->backend = optarg;
            if (!backend_ok(optarg))
                bad_args(o, "unknown backend '%s' (built in: %s)", optarg,
                          backends_list());
            break;
        case O_STATS:
            errno = 0;
            o->stats_period = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' ||
                !(o->stats_period >= STATS_MIN) || o->stats_period > 86400)
                bad_args(o, "bad number for --stats (seconds, at least %g, "
                          "at most 86400): '%s'", STATS_MIN, optarg);
            break;
        case O_CREDS:
            o->creds = optarg;
            break;
        case O_TLS_CA:
            o->tls_ca = optarg;
            break;
        case 'h':
        case 'V':
            help_or_version(c);
            break;
        case ':':
            bad_args(o, "option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            bad_args(o, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        bad_args(o, "%s", o->out ? "want RING and URL" : "want URL and RING");
    o->ring = argv[optind + (o->out ? 0 : 1)];
    o->url = argv[optind + (o->out ? 1 : 0)];
    if (*o->ring == '\0' || strlen(o->ring) > SCB_NAME_MAX)
        bad_args(o, "bad ring name '%s'", o->ring);
    if (*o->url == '\0')
        bad_args(o, "%s", "empty URL");
    if (replicas_given && o->stream == NULL)
        bad_args(o, "%s", "--replicas goes with --stream");
    if (o->durable != NULL && o->stream == NULL)
        bad_args(o, "%s", "--durable goes with --stream");
    if (o->subject == NULL) {
        snprintf(subject, sizeof subject, "scb.%s", o->ring);
        o->subject = subject;
        if (!subject_ok(subject))
            bad_args(o, "the ring's name does not make a NATS subject "
                      "('%s'): give --subject", subject);
    } else if (!subject_ok(o->subject)) {
        bad_args(o, "bad subject '%s' (dot-separated tokens, no spaces, "
                  "no control characters, no wildcards)", o->subject);
    }
    if (o->stream != NULL && !stream_ok(o->stream))
        bad_args(o, "bad stream name '%s' (letters, digits, '-' and '_')",
                  o->stream);
    if (o->durable != NULL && !stream_ok(o->durable))
        bad_args(o, "bad durable name '%s' (letters, digits, '-' and '_')",
                  o->durable);
}

/* ------------------------------------------------------------------------ */
/* NATS.                                                                    */

natsConnection *bridge_connect(const bridge_opts_t *o)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsStatus s;
    const char **servers = NULL;
    char *list = NULL, *p, *save = NULL;
    int n = 0, max = 1;

    for (p = (char *)o->url; *p != '\0'; p++)
        max += *p == ',';
    list = strdup(o->url);
    servers = calloc((size_t)max, sizeof *servers);
    if (list == NULL || servers == NULL) {
        bridge_err(o, "%s", strerror(ENOMEM));
        goto fail;
    }
    for (p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        if (*p != '\0')
            servers[n++] = p;
    }
    if (n == 0) {
        bridge_err(o, "no server in URL '%s'", o->url);
        goto fail;
    }
    s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(opts, servers, n);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, o->out ? "scb-bridge out" : "scb-bridge in");
    /* B4: reconnect by themselves, for ever, and keep what out publishes
     * meanwhile in a reconnect buffer (what does not fit is counted). */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(opts, 64 * 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 2000);
    /* A write the server does not take within 2 s (stopped, or its
     * machine gone without a word) breaks the connection, which is then
     * made again: otherwise the write holds the connection's lock, and a
     * stop waits for the server. */
    if (s == NATS_OK)
        s = natsOptions_SetWriteDeadline(opts, 2000);
    /* A bigger socket buffer batches more small messages per write. */
    if (s == NATS_OK)
        s = natsOptions_SetIOBufSize(opts, 256 * 1024);
    if (s == NATS_OK && o->creds != NULL)
        s = natsOptions_SetUserCredentialsFromFiles(opts, o->creds, NULL);
    if (s == NATS_OK && o->tls_ca != NULL) {
        s = natsOptions_SetSecure(opts, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(opts, o->tls_ca);
    }
    if (s != NATS_OK) {
        /* The client's own text says which file and why. */
        bridge_err(o, "NATS options: %s", bridge_nats_err(s));
        goto fail;
    }
    s = natsConnection_Connect(&nc, opts);
    if (s != NATS_OK) {
        bridge_err(o, "cannot connect to %s: %s", o->url, bridge_nats_err(s));
        nc = NULL;
    }
fail:
    /* The client's threads exist now (see main): signals reach this one. */
    {
        sigset_t block;

        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    }
    natsOptions_Destroy(opts);
    free(servers);
    free(list);
    return nc;
}

void bridge_print_stats(const bridge_opts_t *o, natsConnection *nc,
                        const bridge_stats_t *s)
{
    natsStatistics *st = NULL;
    uint64_t reconnects = 0;
    struct timespec ts;

    if (nc != NULL && natsStatistics_Create(&st) == NATS_OK &&
        natsConnection_GetStats(nc, st) == NATS_OK)
        natsStatistics_GetCounts(st, NULL, NULL, NULL, NULL, &reconnects);
    natsStatistics_Destroy(st);
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The ring's name and the subject are [A-Za-z0-9._-] and printable
     * ASCII without quotes or backslashes only when checked: escape. */
    printf("{\"bridge\": \"%s\", \"time\": %lld.%03ld, \"ring\": ", role(o),
           (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    for (int pass = 0; pass < 2; pass++) {
        const char *str = pass == 0 ? o->ring : o->subject;

        putchar('"');
        for (; *str != '\0'; str++) {
            unsigned char ch = (unsigned char)*str;
            if (ch == '"' || ch == '\\')
                printf("\\%c", ch);
            else if (ch < 0x20)
                printf("\\u%04x", ch);
            else
                putchar(ch);
        }
        putchar('"');
        if (pass == 0)
            printf(", \"subject\": ");
    }
    printf(", \"%s\": %" PRIu64 ", \"lost_source\": %" PRIu64
           ", \"lost_upstream\": %" PRIu64 ", \"duplicates\": %" PRIu64
           ", \"reconnects\": %" PRIu64 ", \"%s\": %" PRIu64,
           o->out ? "published" : "delivered", s->moved, s->lost_source,
           s->lost_upstream, s->duplicates, reconnects,
           o->out ? "publish_errors" : "malformed", s->errors);
    if (o->out)
        printf(", \"unsent\": %" PRIu64, s->unsent);
    else
        printf(", \"dropped_at_stop\": %" PRIu64, s->dropped_at_stop);
    if (s->have_seq)
        printf(", \"first_seq\": %" PRIu64 ", \"last_seq\": %" PRIu64,
               s->first_seq, s->last_seq);
    printf("}\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    bridge_stop = 1;
}

int main(int argc, char **argv)
{
    bridge_opts_t o;
    struct sigaction sa;
    sigset_t block;
    int status;

    /* First thing: a SIGINT or SIGTERM from now on stops the bridge the
     * orderly way, even when the process started with them ignored (a
     * background job's SIGINT) or blocked. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    signal(SIGPIPE, SIG_IGN);

    parse(&o, argc, argv);

    /* The NATS client's threads inherit the mask at their creation: block
     * the two signals while they are made, so that they reach this thread,
     * whose waits they then cut short (bridge_connect unblocks them; one
     * that came meanwhile is delivered then). */
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    if (nats_Open(-1) != NATS_OK) {
        fprintf(stderr, "scb: bridge: cannot start the NATS library\n");
        return BRIDGE_EXIT_ERR;
    }
    status = o.out ? bridge_out(&o) : bridge_in(&o);
    /* The client's threads may still be ending after the destroy calls:
     * wait for them (a little), so that none is left running while the
     * process exits and frees what it uses. */
    (void)nats_CloseAndWait(2000);
    return status;
}
