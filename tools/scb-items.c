/*
 * scb-items.c - the scb command's conversions: strict numbers, and items to
 * and from text.  An item of item_size bytes read as an integer is the
 * unsigned big-endian integer in those bytes, as the Python package
 * shared_cbuff reads it.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scb-cmd.h"

static int parse_base(const char *s, int base, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    /* strtoull would accept leading blanks and a sign: refuse them. */
    if (s == NULL || *s == '\0')
        return -1;
    if (base == 16 ? !((s[0] >= '0' && s[0] <= '9') ||
                       (s[0] >= 'a' && s[0] <= 'f') ||
                       (s[0] >= 'A' && s[0] <= 'F'))
                   : !(s[0] >= '0' && s[0] <= '9'))
        return -1;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int cmd_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s != NULL && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return parse_base(s + 2, 16, max, out);
    return parse_base(s, 10, max, out);
}

int cmd_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    static const char units[] = "KMGT";
    const char *u;
    char digits[32];
    size_t n;
    uint64_t v;
    int shift;

    if (s == NULL)
        return -1;
    n = strlen(s);
    /* An optional "iB" after the unit: 1MiB is 1M. */
    if (n >= 3 && strcmp(s + n - 2, "iB") == 0 &&
        strchr(units, s[n - 3]) != NULL)
        n -= 2;
    if (n < 2 || (u = strchr(units, s[n - 1])) == NULL || *u == '\0')
        return cmd_parse_u64(s, max, out);
    if (n - 1 >= sizeof digits)
        return -1;
    memcpy(digits, s, n - 1);
    digits[n - 1] = '\0';
    shift = 10 * (int)(u - units + 1);
    if (cmd_parse_u64(digits, max >> shift, &v) != 0)
        return -1;
    *out = v << shift;
    return 0;
}

int cmd_parse_octal(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '7')
        return -1;
    return parse_base(s, 8, max, out);
}

int cmd_encode_int(const char *s, unsigned char *item, size_t size)
{
    uint64_t v;
    size_t i;

    if (cmd_parse_u64(s, UINT64_MAX, &v) != 0)
        return -1;
    if (size < 8 && (v >> (8 * size)) != 0)
        return -2;
    memset(item, 0, size);
    for (i = 0; i < size && i < 8; i++)
        item[size - 1 - i] = (unsigned char)(v >> (8 * i));
    return 0;
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

int cmd_encode_hex(const char *s, unsigned char *item, size_t size)
{
    size_t i;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    if (strlen(s) != 2 * size)
        return -1;
    for (i = 0; i < size; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        item[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void cmd_print_item(FILE *f, const unsigned char *item, size_t size,
                    item_fmt_t fmt)
{
    uint64_t v = 0;
    size_t i;

    switch (fmt) {
    case FMT_RAW:
        fwrite(item, 1, size, f);
        break;
    case FMT_INT:
        for (i = 0; i < size; i++)
            v = v << 8 | item[i];
        fprintf(f, "%llu\n", (unsigned long long)v);
        break;
    default:
        for (i = 0; i < size; i++)
            fprintf(f, "%02x", item[i]);
        fputc('\n', f);
        break;
    }
}

int cmd_parse_format(const char *s, item_fmt_t *fmt)
{
    if (strcmp(s, "int") == 0)
        *fmt = FMT_INT;
    else if (strcmp(s, "hex") == 0)
        *fmt = FMT_HEX;
    else if (strcmp(s, "raw") == 0)
        *fmt = FMT_RAW;
    else if (strcmp(s, "text") == 0)
        *fmt = FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *fmt = FMT_JSON;
    else
        return -1;
    return 0;
}

void cmd_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
