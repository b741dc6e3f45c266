/*
 * scb-cmd.h - what the parts of the scb command share: exit statuses,
 * strict number parsing and the conversion of items to and from text.
 * Public API only (<scb.h>).
 */
#ifndef SCB_CMD_H
#define SCB_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses, documented in `scb --help` and the README. */
#define EXIT_OK 0
#define EXIT_SCB 1   /* a libscb or system error */
#define EXIT_USAGE 2 /* bad option, number or value */
#define EXIT_EMPTY 3 /* pop/push: nothing to read, or no room (SCB_EAGAIN, SCB_ETIMEDOUT) */

/* How items and records are printed. */
typedef enum {
    FMT_DEFAULT,
    FMT_INT,
    FMT_HEX,
    FMT_RAW,
    FMT_TEXT,
    FMT_JSON
} item_fmt_t;

/* Parses all of `s` as an unsigned decimal number (or hexadecimal after
 * "0x"): 0 and *out set, or -1 if it is not one or exceeds max. */
int cmd_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* As cmd_parse_u64, with an optional binary unit after the number: K, M,
 * G or T (or KiB, MiB, GiB, TiB), 2^10, 2^20, 2^30 or 2^40 times it. */
int cmd_parse_size(const char *s, uint64_t max, uint64_t *out);

/* Parses all of `s` as an octal number of at most max: 0 or -1. */
int cmd_parse_octal(const char *s, uint64_t max, uint64_t *out);

/* Stores the integer `s` big-endian in item[size]: 0, -1 if `s` is no
 * number, -2 if it does not fit in size bytes. */
int cmd_encode_int(const char *s, unsigned char *item, size_t size);

/* Stores the hex string `s` (optional "0x", exactly 2*size digits) in
 * item[size]: 0 or -1. */
int cmd_encode_hex(const char *s, unsigned char *item, size_t size);

/* Writes one item to f in fmt (FMT_INT needs size <= 8): int and hex end
 * with a newline, raw is the bytes alone. */
void cmd_print_item(FILE *f, const unsigned char *item, size_t size,
                    item_fmt_t fmt);

/* Parses a --format value: 0 or -1. */
int cmd_parse_format(const char *s, item_fmt_t *fmt);

/* Writes `s` as a JSON string, quotes included. */
void cmd_json_string(FILE *f, const char *s);

/* The options every subcommand takes besides its own. */
#define OPT_HELP 'h'
#define OPT_BACKEND 'B'

#include <scb.h>

/* The subcommand running, for messages ("" before there is one). */
extern const char *sub;

/* "Try 'scb [COMMAND] --help'." on stderr. */
void say_usage_hint(void);

/* A usage error: "scb: COMMAND: " fmt (with arg), the hint, exit 2. */
void die_usage(const char *fmt, const char *arg) __attribute__((noreturn));

/* After getopt: the one NAME left in argv, or a usage error (missing NAME,
 * one NAME only). */
const char *one_name(int argc, char **argv);

/* "scb: WHAT: NAME: scb_strerror(rc)" on stderr (NAME NULL: left out). */
void report(const char *what, const char *name, int rc);

/* Opens `name` on `backend`, or (NULL) on the first backend built in,
 * default first, that has a ring of that name. */
int open_ring(scb_t **h, const char *name, const char *backend,
              uint32_t flags);

/* Milliseconds on a monotonic clock. */
int64_t now_ms(void);

/* The record calls of scb-records.c.  cmd_print_record writes rec in fmt:
 * FMT_TEXT (the default) the bytes when they are printable UTF-8 that does
 * not start with "0x", else "0x" and the hex digits, then a newline;
 * FMT_HEX the hex digits and a newline; FMT_JSON one object per line,
 * {"len": N, "text": "..."} for valid UTF-8, else {"len": N, "hex": "..."},
 * with a first field "ring": RING when ring is not NULL (the other formats
 * ignore ring); FMT_RAW a 4-byte big-endian length, then the bytes. */
void cmd_print_record(FILE *f, const char *ring, const unsigned char *rec,
                      size_t len, item_fmt_t fmt);

/* Decodes the n characters of hex at s (an optional "0x", then an even
 * number of digits) into out (cap bytes): 0 and *len, -1 if it is no such
 * hex, -2 if it would be longer than cap (*len: its length). */
int cmd_decode_hex(const char *s, size_t n, unsigned char *out, size_t cap,
                   size_t *len);

/* scb_push_record, and on SCB_EAGAIN (a lossless ring) retries for up to
 * timeout_ms (0: once): SCB_ETIMEDOUT when the time ran out. */
int cmd_push_record_wait(scb_t *w, const void *data, size_t len,
                         int64_t timeout_ms);

/* scb_pop_record, waiting up to timeout_ms for a record (0: not at all,
 * negative: forever): SCB_ETIMEDOUT when the time ran out. */
int cmd_pop_record_wait(scb_t *r, void *buf, size_t cap, size_t *len,
                        int64_t timeout_ms);

/* push on a record ring: each of vals[n] is a record (its text, or with hex
 * its bytes in hex), or with from_stdin each line of standard input is.
 * Returns the exit status; a record longer than the ring takes is a usage
 * error, and no argument's record is pushed then. */
int cmd_push_records(scb_t *w, const char *name, const scb_info_t *info,
                     char **vals, int n, int hex, int from_stdin,
                     int64_t wait_ms);

/* The number arg of option opt, at least min and at most max, or a usage
 * error. */
uint64_t num_opt(const char *opt, const char *arg, uint64_t min, uint64_t max);

/* pop (tail 0) and tail (tail 1, one ring or several), in scb-read.c. */
int cmd_read(int argc, char **argv, int tail);

/* The subcommands of scb-rings.c. */
int cmd_stat(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);

#endif /* SCB_CMD_H */
