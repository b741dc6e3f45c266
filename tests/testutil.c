/*
 * testutil.c - helpers shared by the Check suites.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#endif

#include "testutil.h"

const char *tu_backend = NULL;

/* SCB_TEST_TAG, when it is a short run of [A-Za-z0-9]: tests/run-suite.sh
 * sets it so that it can tell this run's rings from anyone else's. */
static const char *run_tag(void)
{
    const char *tag = getenv("SCB_TEST_TAG");
    size_t n;

    if (tag == NULL)
        return NULL;
    for (n = 0; tag[n] != '\0'; n++)
        if (n >= 12 || !((tag[n] >= '0' && tag[n] <= '9') ||
                         (tag[n] >= 'a' && tag[n] <= 'z') ||
                         (tag[n] >= 'A' && tag[n] <= 'Z')))
            return NULL;
    return n > 0 ? tag : NULL;
}

void tu_name(char *buf, size_t size)
{
    static unsigned counter;
    const char *tag = run_tag();

    if (tag != NULL)
        snprintf(buf, size, "t%s.%ld-%u", tag, (long)getpid(), counter++);
    else
        snprintf(buf, size, "t%ld-%u", (long)getpid(), counter++);
}

scb_config_t tu_cfg(uint32_t item_size, uint64_t length)
{
    scb_config_t cfg;

    scb_config_init(&cfg);
    cfg.backend = tu_backend;
    cfg.item_size = item_size;
    cfg.length = length;
    return cfg;
}

static uint8_t pattern_byte(uint64_t seq, size_t off)
{
    uint64_t x = seq * UINT64_C(0x9e3779b97f4a7c15) + off;

    x ^= x >> 29;
    return (uint8_t)(x * UINT64_C(0xbf58476d1ce4e5b9) >> 56);
}

void tu_fill(void *item, size_t size, uint64_t seq)
{
    uint8_t *p = item;
    size_t i;

    for (i = 0; i < size && i < 8; i++)
        p[i] = (uint8_t)(seq >> (8 * i));
    for (; i < size; i++)
        p[i] = pattern_byte(seq, i);
}

int tu_check(const void *item, size_t size, uint64_t *seq)
{
    const uint8_t *p = item;
    uint64_t s = 0;
    size_t i;

    for (i = 0; i < size && i < 8; i++)
        s |= (uint64_t)p[i] << (8 * i);
    for (; i < size; i++)
        if (p[i] != pattern_byte(s, i))
            return 0;
    *seq = s;
    return 1;
}

#ifdef _WIN32
/* Windows sleeps in whole milliseconds: round up. */
void tu_sleep_us(unsigned us)
{
    Sleep((DWORD)(us / 1000u + (us % 1000u != 0)));
}
#else
void tu_sleep_us(unsigned us)
{
    struct timespec ts;

    ts.tv_sec = us / 1000000u;
    ts.tv_nsec = (long)(us % 1000000u) * 1000;
    while (nanosleep(&ts, &ts) != 0)
        ;
}
#endif
