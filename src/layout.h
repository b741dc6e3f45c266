/*
 * layout.h - the on-segment format of a ring.  The format is an ABI: fixed
 * width fields, a magic and a format version, offsets pinned by
 * _Static_assert.  Bump SCB_FORMAT_VERSION on any change.
 *
 *   [0, 640)            header: immutable geometry (written once by the
 *                       creator, magic last), the writer's counters on
 *                       their own line, the writer-ownership line
 *   [shared_off, +size) page aligned, written by readers too: the wait line,
 *                       (SCB_LOSSLESS) one line per reader slot, then the
 *                       doorbells (SCB_BELLS of struct scb_bell)
 *   [items_off, +length*item_size)  page aligned: the items, back to back
 *                       (SCB_RECORDS: [items_off, +length), the record
 *                       space, see struct scb_rec below)
 *
 * Readers map the header and the items read-only where the backend allows.
 * Nothing in this file may call the OS.
 */
#ifndef SCB_LAYOUT_H
#define SCB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "scb.h"

/* "SCBRING" and the byte 0x01, read as a little-endian word; on a big-endian
 * host the bytes differ and open refuses the segment, as it should. */
#define SCB_MAGIC UINT64_C(0x01474e4952424353)
#define SCB_FORMAT_VERSION 4u

/* "SCBMAKE" and 0x01: the magic of a header still being created.  Before
 * the slow part of a create (the backend reserving the memory of a large
 * segment) the creator writes the ring's name, its own process identity in
 * writer_id, then this magic; scb_layout_init later writes the rest and
 * SCB_MAGIC.  Openers wait while that process lives; a dead creator's half
 * made ring is SCB_EBADFORMAT, and scb_unlink removes it.  A finished ring
 * is unchanged, so the format version stays. */
#define SCB_MAGIC_CREATING UINT64_C(0x01454b414d424353)

/* What scb_layout_check returns for a header marked as being created: not
 * an SCB_E* code (those are 0 or negative), only the portable code sees it. */
#define SCB_LAYOUT_CREATING 1

/* Spacing between fields written by different parties.  Two cache lines, so
 * that adjacent-line prefetch does not couple them either. */
#define SCB_LINE 128u

/* Ring flags kept in the header. */
#define SCB_RING_FLAGS (SCB_LOSSLESS | SCB_UNLINK_ON_CLOSE | SCB_RECORDS)

/* Bounds that keep every size computation far from overflow. */
#define SCB_ITEM_SIZE_MAX (UINT32_C(1) << 30)
#define SCB_LENGTH_MAX (UINT64_C(1) << 48)
#define SCB_READERS_MAX 4096u
#define SCB_DEFAULT_MAX_READERS 64u

struct scb_hdr {
    /* Immutable after create.  magic is stored last, with release order. */
    scb_atomic_u64 magic;      /* SCB_MAGIC once the header is complete */
    uint32_t version;          /* SCB_FORMAT_VERSION */
    uint32_t hdr_size;         /* sizeof(struct scb_hdr) */
    uint64_t total_size;       /* bytes the creator asked the OS for */
    uint64_t length;           /* capacity in items */
    uint32_t item_size;        /* bytes per item */
    uint32_t flags;            /* SCB_RING_FLAGS */
    uint32_t max_readers;      /* reader slots (SCB_LOSSLESS), else 0 */
    uint32_t mode;             /* permission bits asked for at create */
    uint64_t origin;           /* counter value of the first item ever pushed */
    uint64_t items_off;        /* offset of the items */
    uint64_t shared_off;       /* offset of the region readers write */
    uint64_t shared_size;      /* its size */
    uint32_t name_len;         /* strlen(name) */
    uint32_t barrier_mode;     /* 1: asymmetric barriers (see ring.h) */
    uint64_t birth;            /* set at create, unique per ring made: tells
                                * a ring from one made later under the same
                                * name (scb_check_name) */
    uint64_t reserved[4];
    char name[256];            /* the ring's name, NUL terminated */

    /* Written by the writer only. */
    scb_atomic_u64 head;       /* position after the last published item */
    scb_atomic_u64 claim;      /* position after the last item the writer began */
    scb_atomic_u64 push_seq;   /* SCB_LOSSLESS: odd while a push is under
                                * way (the writer's push counter) */
    /* SCB_RECORDS only (positions count bytes there, see struct scb_rec). */
    scb_atomic_u64 records;    /* sequence number of the next record, stored
                                * after head: origin + records pushed */
    scb_atomic_u64 tail;       /* position of the oldest record the writer
                                * has not begun to overwrite */
    scb_atomic_u64 tail_seq;   /* its sequence number (for reports only) */
    scb_atomic_u64 last;       /* position of the newest record, stored
                                * before head */
    uint8_t pad_w[SCB_LINE - 56];

    /* Written when the writer role changes hands. */
    scb_atomic_u64 writer_id;  /* process identity of the writer, 0 = none */
    uint8_t pad_o[SCB_LINE - 8];
};

_Static_assert(offsetof(struct scb_hdr, version) == 8, "format");
_Static_assert(offsetof(struct scb_hdr, length) == 24, "format");
_Static_assert(offsetof(struct scb_hdr, origin) == 48, "format");
_Static_assert(offsetof(struct scb_hdr, name_len) == 80, "format");
_Static_assert(offsetof(struct scb_hdr, name) == 128, "format");
_Static_assert(offsetof(struct scb_hdr, head) == 384, "format");
_Static_assert(offsetof(struct scb_hdr, claim) == 392, "format");
_Static_assert(offsetof(struct scb_hdr, push_seq) == 400, "format");
_Static_assert(offsetof(struct scb_hdr, records) == 408, "format");
_Static_assert(offsetof(struct scb_hdr, tail) == 416, "format");
_Static_assert(offsetof(struct scb_hdr, last) == 432, "format");
_Static_assert(offsetof(struct scb_hdr, writer_id) == 512, "format");
_Static_assert(sizeof(struct scb_hdr) == 640, "format");
_Static_assert(sizeof(((struct scb_hdr *)0)->name) == SCB_NAME_MAX + 1, "format");

/* The wait line, first in the region readers write (at shared_off).  Each
 * futex word has a flag beside it that says someone may wait on it, so the
 * side that makes progress issues a wake only when the flag is set, and
 * clears it: a sleeper killed in its sleep costs one needless wake, never a
 * lost one and never a wake on every push forever.  A flag holds bits:
 * SCB_WAIT_SLEEP for a sleeper on the word, SCB_WAIT_BELL for an armed
 * doorbell of that side (struct scb_bell); both are raised with an atomic
 * OR and cleared together by the waker's exchange. */
#define SCB_WAIT_SLEEP 1u
#define SCB_WAIT_BELL 2u

struct scb_wait {
    scb_atomic_u32 rseq;   /* bumped by the writer to wake readers */
    scb_atomic_u32 rwait;  /* SCB_WAIT_*: readers wait on rseq or a bell */
    scb_atomic_u32 wseq;   /* bumped by readers to wake the writer */
    scb_atomic_u32 wwait;  /* SCB_WAIT_*: the writer waits on wseq or a bell */
    scb_atomic_u32 slots_hi; /* 1 + the highest reader slot ever taken */
    scb_atomic_u32 reg_gen;  /* bumped by each reader registration */
    scb_atomic_u32 tags;     /* reader registrations ever: slot tags */
    scb_atomic_u32 bells_hi; /* 1 + the highest doorbell ever taken */
    uint8_t pad[SCB_LINE - 32];
};

/*
 * A doorbell (scb_fd): the OS object a handle's event loop waits on, named
 * by `key` for the whole host (the OS layer makes the name, sys.h), and
 * found by the other side through this table.  A handle that called scb_fd
 * owns one; a call of it that returns SCB_EAGAIN arms it (armed = 1, then
 * the side's SCB_WAIT_BELL flag, then a re-check); the other side, seeing
 * the flag after it made progress, disarms every armed bell of that role
 * with an exchange and rings each once.  owner 0: free.
 */
#define SCB_BELLS 128u
#define SCB_BELL_READER 1u   /* role: rung by the writer's pushes */
#define SCB_BELL_WRITER 2u   /* role: rung by lossless readers' progress */

struct scb_bell {
    scb_atomic_u64 owner;  /* process identity of the owner, 0 = free */
    scb_atomic_u64 key;    /* names the OS object; stored before armed */
    scb_atomic_u32 armed;  /* 1: ring it on the next progress */
    scb_atomic_u32 role;   /* SCB_BELL_READER or SCB_BELL_WRITER */
    uint64_t pad;
};

/* One reader slot (SCB_LOSSLESS), one line each after the wait line. */
struct scb_slot {
    scb_atomic_u64 owner;  /* process identity of the reader, 0 = free */
    scb_atomic_u64 pos;    /* the next position that reader will read */
    scb_atomic_u64 tag;    /* which registration holds it (wait.tags), so a
                            * reader tells its own registration from a later
                            * one of the same process */
    uint8_t pad[SCB_LINE - 24];
};

_Static_assert(sizeof(struct scb_wait) == SCB_LINE, "format");
_Static_assert(sizeof(struct scb_slot) == SCB_LINE, "format");
_Static_assert(sizeof(struct scb_bell) == 32, "format");

/*
 * Record rings (SCB_RECORDS).  length is the bytes of record space (a
 * multiple of 8, at least SCB_REC_MIN_LENGTH(item_size)), positions count
 * bytes, and position p lives at offset (p - origin) % length; origin is a
 * multiple of 8.  A record is a header and its payload rounded up to 8
 * bytes, contiguous: one that does not fit before the end of the space is
 * preceded by a padding record (len SCB_REC_PAD) that fills the rest, or,
 * when fewer than 16 bytes remain, by nothing (readers skip such a rest
 * without reading it).  Each record has a sequence number, one more than
 * the record before it (a writer that died between its stores of head and
 * records can leave a gap of one, which readers count as lost).
 *
 * claim and head work as for items, over bytes: the writer raises claim
 * past a record before it writes any of it, and head past it once it is
 * complete, so a reader knows the header and payload it copied intact when
 * claim has not passed its first byte plus length.  tail is where a reader
 * the writer lapped resumes (its header's sequence number says how many it
 * missed); the writer moves it past each record before it claims any byte
 * of it.
 */
struct scb_rec {
    scb_atomic_u64 seq;        /* sequence number; a padding record holds the
                                * next record's */
    scb_atomic_u64 word;       /* payload length (or SCB_REC_PAD) in the low
                                * 32 bits, scb_rec_check(position) in the
                                * high 32 */
};

#define SCB_REC_HDR 16u
#define SCB_REC_PAD UINT32_C(0xffffffff)
/* Bytes a record of n payload bytes takes in the ring. */
#define SCB_REC_SPAN(n) (SCB_REC_HDR + (((uint64_t)(n) + 7u) & ~UINT64_C(7)))

/* The least record space for records of up to n bytes: 2 * (n + 16), as
 * the contract says.  With a length that is a multiple of 8 it is enough
 * for the worst a record of n bytes needs, padding included: the padding
 * is less than the record's span, both are multiples of 8, so at most
 * 2 * SCB_REC_SPAN(n) - 8 bytes, and the smallest multiple of 8 from
 * 2 * (n + 16) is at least that for every n. */
#define SCB_REC_MIN_LENGTH(n) (2 * ((uint64_t)(n) + SCB_REC_HDR))

_Static_assert(sizeof(struct scb_rec) == SCB_REC_HDR, "format");

/* What ties a record header to its position: a header read at a position
 * where no record starts does not match (but for a one in 2^32 chance that
 * payload bytes there happen to). */
static inline uint32_t scb_rec_check(uint64_t pos)
{
    return (uint32_t)(pos >> 3) ^ UINT32_C(0x5cb0c0de);
}

/* The geometry a handle uses: copied out of the header once and validated,
 * never re-read from shared memory. */
typedef struct scb_geom {
    uint64_t length;
    uint32_t item_size;
    uint32_t flags;
    uint32_t max_readers;
    uint32_t mode;
    uint64_t origin;
    uint64_t items_off;
    uint64_t shared_off;
    uint64_t shared_size;
    uint64_t total_size;
    uint32_t barrier_mode;
    uint64_t birth;
    char name[SCB_NAME_MAX + 1];
    uint64_t creator; /* SCB_LAYOUT_CREATING: the creator's identity */
} scb_geom_t;

/* Creator side: fills in the offsets and total_size of *g for the given
 * length, item_size, flags and max_readers, with regions aligned to `page`.
 * SCB_EINVAL if the sizes are out of bounds or overflow. */
int scb_layout_plan(scb_geom_t *g, size_t page);

/* Creator side, first: marks the zero-filled segment at base as being
 * created by the process `creator` (scb_sys_proc_self), with the ring's name
 * g->name; SCB_MAGIC_CREATING is stored last, with release order. */
void scb_layout_mark_creating(void *base, const scb_geom_t *g,
                              uint64_t creator);

/* Creator side, last: writes the header of a zero-filled segment of
 * g->total_size bytes at base, magic last.  The writer's identity goes in
 * with it. */
void scb_layout_init(void *base, const scb_geom_t *g, uint64_t writer_id);

/* Opener side: copies the header of the segment [base, base + size) into *g
 * and validates every field against size.  Returns SCB_OK,
 * SCB_EBADFORMAT, SCB_EAGAIN when the creator has not even marked the
 * segment yet (too small for a header, or magic still 0), or
 * SCB_LAYOUT_CREATING when it is marked as being created: then g->name
 * holds the ring's (valid) name and g->creator the creator's identity, and
 * nothing else in *g is meaningful. */
int scb_layout_check(const void *base, size_t size, scb_geom_t *g);

/* 1 if the segment [base, base + size) is a ring of the name `name`,
 * corrupt or not: its magic is SCB_MAGIC or SCB_MAGIC_CREATING and its name
 * field holds exactly `name`, whatever the other fields say.  What decides
 * whether unlink may remove a segment found under a hashed OS name. */
int scb_layout_is_ring_of(const void *base, size_t size, const char *name);

#endif /* SCB_LAYOUT_H */
