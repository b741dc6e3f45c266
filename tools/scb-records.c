/*
 * scb-records.c - the scb command on record rings (SCB_RECORDS): records
 * from arguments and lines, records to text, hex, JSON and length-prefixed
 * bytes, and the waits the record calls do not have built in.  Public API
 * only (<scb.h>); the command's option handling stays in scb.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <scb.h>

#include "scb-cmd.h"

/* ------------------------------------------------------------------------ */
/* Records as text                                                          */

/* The length of the UTF-8 sequence at s (n bytes left), its code point in
 * *cp; 0 when it is no valid sequence (a stray or missing continuation
 * byte, an overlong form, a surrogate, beyond U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        c &= 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        c &= 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Control characters: C0, DEL and C1. */
static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/* Whether rec is valid UTF-8 (printable: and has no control character). */
static int is_utf8(const unsigned char *rec, size_t len, int printable)
{
    size_t i = 0, k;
    uint32_t cp;

    while (i < len) {
        if ((k = utf8_char(rec + i, len - i, &cp)) == 0)
            return 0;
        if (printable && is_control(cp))
            return 0;
        i += k;
    }
    return 1;
}

/* Whether the text form shows rec as it is: printable UTF-8 that does not
 * start with "0x", which would read as the hex form. */
static int shows_as_text(const unsigned char *rec, size_t len)
{
    if (len >= 2 && rec[0] == '0' && (rec[1] == 'x' || rec[1] == 'X'))
        return 0;
    return is_utf8(rec, len, 1);
}

static void print_hex(FILE *f, const unsigned char *rec, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        fprintf(f, "%02x", rec[i]);
}

/* rec as a JSON string (valid UTF-8 only), quotes included. */
static void json_text(FILE *f, const unsigned char *rec, size_t len)
{
    size_t i;

    fputc('"', f);
    for (i = 0; i < len; i++) {
        unsigned char c = rec[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cmd_print_record(FILE *f, const char *ring, const unsigned char *rec,
                      size_t len, item_fmt_t fmt)
{
    switch (fmt) {
    case FMT_RAW:
        /* Framed, so that records of any bytes, empty ones included, can be
         * told apart: a 4-byte big-endian length, then the bytes. */
        fputc((int)(len >> 24 & 0xff), f);
        fputc((int)(len >> 16 & 0xff), f);
        fputc((int)(len >> 8 & 0xff), f);
        fputc((int)(len & 0xff), f);
        fwrite(rec, 1, len, f);
        break;
    case FMT_HEX:
        print_hex(f, rec, len);
        fputc('\n', f);
        break;
    case FMT_JSON:
        fputc('{', f);
        if (ring != NULL) {
            fputs("\"ring\": ", f);
            cmd_json_string(f, ring);
            fputs(", ", f);
        }
        fprintf(f, "\"len\": %zu, ", len);
        if (is_utf8(rec, len, 0)) {
            fputs("\"text\": ", f);
            json_text(f, rec, len);
        } else {
            fputs("\"hex\": \"", f);
            print_hex(f, rec, len);
            fputc('"', f);
        }
        fputs("}\n", f);
        break;
    default: /* FMT_TEXT */
        if (shows_as_text(rec, len)) {
            fwrite(rec, 1, len, f);
        } else {
            fputs("0x", f);
            print_hex(f, rec, len);
        }
        fputc('\n', f);
        break;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cmd_decode_hex(const char *s, size_t n, unsigned char *out, size_t cap,
                   size_t *len)
{
    size_t i;

    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
    }
    if (n % 2 != 0)
        return -1;
    for (i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return -1;
    *len = n / 2;
    if (n / 2 > cap)
        return -2;
    for (i = 0; i < n / 2; i++)
        out[i] = (unsigned char)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Waits                                                                    */

/* A lossless writer waits for room in slices: scb_wait waits for room for
 * the largest record, and a shorter one may fit sooner. */
#define PUSH_WAIT_SLICE_MS 50

int cmd_push_record_wait(scb_t *w, const void *data, size_t len,
                         int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms, left;
    int rc;

    for (;;) {
        rc = scb_push_record(w, data, len);
        if (rc != SCB_EAGAIN || timeout_ms == 0)
            return rc;
        left = deadline - now_ms();
        if (left <= 0)
            return SCB_ETIMEDOUT;
        rc = scb_wait(w, left < PUSH_WAIT_SLICE_MS ? left : PUSH_WAIT_SLICE_MS);
        if (rc != SCB_OK && rc != SCB_ETIMEDOUT)
            return rc;
    }
}

int cmd_pop_record_wait(scb_t *r, void *buf, size_t cap, size_t *len,
                        int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms, left = -1;
    int rc;

    for (;;) {
        rc = scb_pop_record(r, buf, cap, len);
        if (rc != SCB_EAGAIN || timeout_ms == 0)
            return rc;
        if (timeout_ms > 0) {
            left = deadline - now_ms();
            if (left <= 0)
                return SCB_ETIMEDOUT;
        }
        /* A reader's scb_wait ends when a pop would return something. */
        rc = scb_wait(r, left);
        if (rc == SCB_ETIMEDOUT) {
            rc = scb_pop_record(r, buf, cap, len);
            return rc == SCB_EAGAIN ? SCB_ETIMEDOUT : rc;
        }
        if (rc != SCB_OK)
            return rc;
    }
}

/* ------------------------------------------------------------------------ */
/* push                                                                     */

/* The exit status of a push that failed with rc. */
static int push_status(int rc)
{
    return rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT ? EXIT_EMPTY : EXIT_SCB;
}

/* "scb: push: NAME: WHERE: LEN bytes: <SCB_EMSGSIZE's message> (...)". */
static void too_long(const char *name, const char *where, size_t len,
                     size_t max)
{
    fprintf(stderr,
            "scb: push: %s: %s: %zu bytes: %s (the ring's records "
            "have at most %zu bytes)\n",
            name, where, len, scb_strerror(SCB_EMSGSIZE), max);
}

/* Reads a line of f into buf (cap bytes), its newline dropped: 1 and its
 * whole length in *len (when that is more than cap, the rest was skipped),
 * 0 at the end of the input, -1 on a read error. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int c;

    while ((c = getc(f)) != EOF && c != '\n') {
        if (n < cap)
            buf[n] = (char)c;
        n++;
    }
    if (c == EOF && (ferror(f) || n == 0))
        return ferror(f) ? -1 : 0;
    *len = n;
    return 1;
}

/* push --stdin on a record ring: one record per line. */
static int push_lines(scb_t *w, const char *name, size_t max, int hex,
                      int64_t wait_ms, unsigned char *rec)
{
    /* A hex line: "0x" and two digits a byte. */
    size_t cap = hex ? 2 * max + 2 : max, n, len;
    char *line = hex ? malloc(cap) : (char *)rec, where[64];
    unsigned long long lineno = 0;
    int got, e, rc, status = EXIT_OK;

    if (line == NULL) {
        report("push", name, SCB_ENOMEM);
        return EXIT_SCB;
    }
    while ((got = read_line(stdin, line, cap, &n)) == 1) {
        lineno++;
        snprintf(where, sizeof where, "line %llu", lineno);
        if (n > cap) {
            /* Too long for any record of this ring, whatever it holds. */
            too_long(name, where, hex ? n / 2 : n, max);
            status = EXIT_USAGE;
            break;
        }
        len = n;
        if (hex && (e = cmd_decode_hex(line, n, rec, max, &len)) != 0) {
            if (e == -2) {
                too_long(name, where, len, max);
            } else {
                fprintf(stderr,
                        "scb: push: %s: %s: bad hex record: want an "
                        "even number of hex digits\n",
                        name, where);
            }
            status = EXIT_USAGE;
            break;
        }
        rc = cmd_push_record_wait(w, rec, len, wait_ms);
        if (rc != SCB_OK) {
            report("push", name, rc);
            fprintf(stderr, "scb: push: %s: stopped at %s\n", name, where);
            status = push_status(rc);
            break;
        }
    }
    if (got < 0) {
        fprintf(stderr, "scb: push: standard input: %s\n", strerror(errno));
        status = EXIT_SCB;
    }
    if (hex)
        free(line);
    return status;
}

int cmd_push_records(scb_t *w, const char *name, const scb_info_t *info,
                     char **vals, int n, int hex, int from_stdin,
                     int64_t wait_ms)
{
    size_t max = info->item_size, len;
    unsigned char *rec = malloc(max);
    char where[64];
    int i, e, rc, status = EXIT_OK;

    if (rec == NULL) {
        report("push", name, SCB_ENOMEM);
        return EXIT_SCB;
    }
    if (from_stdin) {
        status = push_lines(w, name, max, hex, wait_ms, rec);
        free(rec);
        return status;
    }
    /* Every record is checked before the first is pushed. */
    for (i = 0; i < n; i++) {
        snprintf(where, sizeof where, "record %d", i + 1);
        if (!hex) {
            if ((len = strlen(vals[i])) > max) {
                too_long(name, where, len, max);
                status = EXIT_USAGE;
                break;
            }
        } else if ((e = cmd_decode_hex(vals[i], strlen(vals[i]), rec, max,
                                       &len)) != 0) {
            if (e == -2)
                too_long(name, where, len, max);
            else
                fprintf(stderr,
                        "scb: push: bad hex record '%s': want an even "
                        "number of hex digits\n",
                        vals[i]);
            status = EXIT_USAGE;
            break;
        }
    }
    if (status != EXIT_OK) {
        say_usage_hint();
        free(rec);
        return status;
    }
    for (i = 0; i < n; i++) {
        len = strlen(vals[i]);
        if (hex)
            cmd_decode_hex(vals[i], len, rec, max, &len);
        rc = cmd_push_record_wait(w, hex ? rec : (unsigned char *)vals[i], len,
                                  wait_ms);
        if (rc != SCB_OK) {
            report("push", name, rc);
            fprintf(stderr, "scb: push: %s: %d of %d records pushed\n", name, i,
                    n);
            status = push_status(rc);
            break;
        }
    }
    free(rec);
    return status;
}
