/*
 * check_ring.h - what the files of the ring suite (tests/check_ring) share:
 * a ring laid out in malloc'd memory as scb_create would lay it out.
 */
#ifndef SCB_CHECK_RING_H
#define SCB_CHECK_RING_H

#include <inttypes.h>
#include <stdint.h>

#include <check.h>

#include "layout.h"
#include "ring.h"
#include "testutil.h"

#define PAGE 4096u

/* A ring in malloc'd memory, as scb_create would lay it out. */
struct mem_ring {
    void *base;
    scb_geom_t g;
    scb_ring_t ring;
};

void mem_ring_make_flags(struct mem_ring *m, uint32_t item_size,
                         uint64_t length, uint64_t origin, uint32_t flags,
                         uint32_t max_readers);
void mem_ring_make(struct mem_ring *m, uint32_t item_size, uint64_t length,
                   uint64_t origin);
void mem_ring_free(struct mem_ring *m);
struct scb_hdr *hdr_of(struct mem_ring *m);

/* The "lossless" tcase (check_ring_lossless.c), added to s. */
void ring_add_lossless(Suite *s);
/* The "records" tcase (check_ring_records.c). */
void ring_add_records(Suite *s);
/* The "records_threads" tcase (check_ring_records_mt.c). */
void ring_add_records_threads(Suite *s);

/* Records made and checked (check_ring_records.c): record k has the length
 * rec_len(k, max) and the bytes rec_fill(k). */
uint32_t rec_len(uint64_t k, uint32_t max);
void rec_fill(uint8_t *b, uint64_t k, uint32_t n);
int rec_ok(const uint8_t *b, uint64_t k, uint32_t n);
int mpush_k(struct mem_ring *m, scb_wcursor_t *w, uint64_t k);
void writer_start(struct mem_ring *m, scb_wcursor_t *w);
void make_records(struct mem_ring *m, uint32_t max, uint64_t length,
                  uint64_t origin, uint32_t flags);
void register_reader(struct mem_ring *m, scb_rcursor_t *c, uint32_t i);

#endif /* SCB_CHECK_RING_H */
