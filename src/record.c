/*
 * record.c - record rings (SCB_RECORDS): records of 0 to item_size bytes,
 * packed back to back in a space of `length` bytes (the format is in
 * layout.h).  The writer's and readers' cursors, the claim/head protocol,
 * the lossless reader slots and the wait line are the fixed-size ring's
 * (ring.c), over bytes instead of items; what is here is what records add:
 * the record headers, the padding before a record that does not fit before
 * the end, the tail a lapped reader resumes at, and the sequence numbers
 * that make its loss count exact.
 *
 * Every header a reader uses was first checked to be intact (claim has not
 * passed it) and then to be possible (its check word, its length, its
 * sequence number): a header that is intact but impossible can only have
 * been written so by another process, and is SCB_EBADFORMAT.  Every offset
 * comes from the reader's private position reduced modulo the private
 * length, and every length is bounded before it is used, so nothing in the
 * segment can move a copy outside the record space.  No OS calls and no
 * allocation in here.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <string.h>

#include "ring.h"

/* How many times a reader's call steps over padding, resumes after being
 * lapped or retries a torn copy before it gives up with SCB_EAGAIN (a
 * writer that laps it on every try). */
#define REC_TRIES SCB_POP_TRIES

static inline int ahead(uint64_t a, uint64_t b)
{
    return (int64_t)(a - b) > 0;
}

static inline uint64_t offset_of(const scb_ring_t *r, uint64_t p)
{
    return (p - r->origin) % r->length;
}

static inline struct scb_rec *rec_at(const scb_ring_t *r, uint64_t off)
{
    return (struct scb_rec *)(void *)(r->items + off);
}

/* 1 if a record cannot start at offset off (fewer than 16 bytes remain
 * before the end): the writer goes on at the start of the space. */
static inline int rest_too_short(const scb_ring_t *r, uint64_t off)
{
    return r->length - off < SCB_REC_HDR;
}

/* A record header as read. */
typedef struct rec_view {
    uint64_t seq;
    uint32_t len;      /* payload bytes, or SCB_REC_PAD */
    uint32_t check;
} rec_view_t;

static inline void read_header(const scb_ring_t *r, uint64_t off,
                               rec_view_t *v)
{
    const struct scb_rec *h = rec_at(r, off);
    uint64_t word;

    v->seq = scb_load_relaxed(&h->seq);
    word = scb_load_relaxed(&h->word);
    v->len = (uint32_t)word;
    v->check = (uint32_t)(word >> 32);
}

static inline void write_header(const scb_ring_t *r, uint64_t off,
                                uint64_t pos, uint64_t seq, uint32_t len)
{
    struct scb_rec *h = rec_at(r, off);

    scb_store_relaxed(&h->seq, seq);
    scb_store_relaxed(&h->word,
                      (uint64_t)len | (uint64_t)scb_rec_check(pos) << 32);
}

/* 1 if what was read at position pos before this call is intact: the
 * writer has not claimed past pos + length.  The acquire fence orders the
 * reads before the load of claim; pairs with the release (store and fence)
 * with which the writer raises claim before it writes. */
static inline int intact(const scb_ring_t *r, uint64_t pos)
{
    scb_fence_acquire();
    return scb_load_relaxed(&r->hdr->claim) - pos <= r->length;
}

/* The payload copies: the writer may be overwriting these very bytes; the
 * reader checks intact() afterwards and throws a torn copy away (the
 * ThreadSanitizer suppressions name these two). */
static void rec_copy_out(void *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
}

static void rec_copy_in(uint8_t *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
}

/* The sequence number of the first record at or after position pos
 * (pos < head, a record boundary or the start of a padding), as its header
 * says: a padding record holds the next record's.  Returns 1, or 0 if the
 * header was overwritten while it was read or is not a header. */
static int seq_at(const scb_ring_t *r, uint64_t pos, uint64_t *seq)
{
    uint64_t off = offset_of(r, pos);
    rec_view_t v;

    if (rest_too_short(r, off)) {
        pos += r->length - off;
        off = 0;
    }
    read_header(r, off, &v);
    if (!intact(r, pos) || v.check != scb_rec_check(pos))
        return 0;
    *seq = v.seq;
    return 1;
}

/* The sequence number of the record that will start at `head`, from the
 * newest record (whose position the writer stores before head).  Returns
 * 1, or 0 if it cannot be known now. */
static int seq_after(const scb_ring_t *r, uint64_t head, uint64_t *seq)
{
    uint64_t last = scb_load_relaxed(&r->hdr->last), off;
    rec_view_t v;

    if (head == r->origin) {
        *seq = r->origin; /* nothing was ever published */
        return 1;
    }
    if (!ahead(head, last) || head - last > SCB_REC_SPAN(r->item_size) ||
        (last - r->origin) % 8 != 0)
        return 0;
    off = offset_of(r, last);
    if (rest_too_short(r, off))
        return 0;
    read_header(r, off, &v);
    if (!intact(r, last) || v.check != scb_rec_check(last) ||
        v.len > r->item_size || last + SCB_REC_SPAN(v.len) != head)
        return 0;
    *seq = v.seq + 1;
    return 1;
}

/* The sequence number of the record that will start at `head`, by walking
 * the headers from `tail` (when the newest record cannot be found: the
 * writer is between its stores of last and head, or died there, or last
 * is corrupt).  Every
 * header from the tail on is intact once the tail is, so one check after
 * the walk vouches for all of them.  Returns 1, or 0 if it cannot be
 * known now. */
static int seq_walk(const scb_ring_t *r, uint64_t tail, uint64_t head,
                    uint64_t *seq)
{
    uint64_t pos = tail, off, steps = 0, s = 0;
    rec_view_t v;
    int have = 0;

    if (!ahead(head, tail) || head - tail > r->length ||
        (tail - r->origin) % 8 != 0)
        return 0;
    off = offset_of(r, tail);
    while (ahead(head, pos)) {
        if (++steps > r->length / 8 + 2)
            return 0;
        if (rest_too_short(r, off)) {
            pos += r->length - off;
            off = 0;
            continue;
        }
        read_header(r, off, &v);
        if (v.check != scb_rec_check(pos))
            return 0;
        if (v.len == SCB_REC_PAD) {
            s = v.seq;
            pos += r->length - off;
            off = 0;
        } else {
            if (v.len > r->item_size || SCB_REC_SPAN(v.len) > r->length - off)
                return 0;
            s = v.seq + 1;
            pos += SCB_REC_SPAN(v.len);
            off += SCB_REC_SPAN(v.len);
            if (off == r->length)
                off = 0;
        }
        have = 1;
    }
    if (pos != head || !have || !intact(r, tail))
        return 0;
    *seq = s;
    return 1;
}

void scb_rec_writer_start(const scb_ring_t *r, scb_wcursor_t *w)
{
    uint64_t head, tail, seq, mis = (w->pos - r->origin) % 8;

    /* Records start at multiples of 8; a head that says otherwise was
     * written by another process: go on from the next one, and say so to
     * readers that start now. */
    if (mis != 0) {
        w->pos += 8 - mis;
        w->idx = offset_of(r, w->pos);
        if (ahead(w->pos, w->claim)) {
            w->claim = w->pos;
            scb_store_release(&r->hdr->claim, w->pos);
        }
        scb_store_release(&r->hdr->head, w->pos);
    }
    head = w->pos;
    /* The tail a dead writer left, if it is possible; else nothing before
     * head is offered to lapped readers any more. */
    tail = scb_load_relaxed(&r->hdr->tail);
    if (ahead(tail, head) || head - tail > r->length ||
        (tail - r->origin) % 8 != 0 || w->claim - tail > r->length)
        tail = head; /* (the last only after a corrupt claim) */
    /* The sequence number goes on from the newest record, or failing that
     * (a writer that died between its stores of last and head, or a
     * corrupt last) from the headers between the tail and head; the
     * counter, stored after head, only when neither can be read. */
    if (!seq_after(r, head, &seq) && !seq_walk(r, tail, head, &seq))
        seq = scb_load_relaxed(&r->hdr->records);
    w->seq = seq;
    scb_store_relaxed(&r->hdr->records, seq);
    /* The tail's number from its header (a writer killed between its
     * stores of tail_seq and tail left them apart). */
    if (tail == head || !seq_at(r, tail, &w->tail_seq))
        w->tail_seq = seq;
    scb_store_relaxed(&r->hdr->tail_seq, w->tail_seq);
    scb_store_release(&r->hdr->tail, tail);
    w->tail = tail;
    w->tail_idx = offset_of(r, tail);
}

void scb_rec_reader_start(const scb_ring_t *r, scb_rcursor_t *c, int latest)
{
    uint64_t head = r->origin, tail, seq = 0, pos;
    int tries, known = 0;

    pos = head;
    for (tries = 0; tries < REC_TRIES && !known; tries++) {
        /* Acquire on both: the tail read is no newer than the head, and
         * the headers before head are visible. */
        tail = scb_load_acquire(&r->hdr->tail);
        head = scb_load_acquire(&r->hdr->head);
        pos = head;
        if (latest || tail == head) {
            known = seq_after(r, head, &seq) || seq_walk(r, tail, head, &seq);
        } else if (ahead(head, tail) && head - tail <= r->length &&
                   (tail - r->origin) % 8 == 0) {
            known = seq_at(r, tail, &seq);
            if (known)
                pos = tail;
        }
        /* Else the writer moved on between the loads: again. */
    }
    /* Without a sequence number from a header (headers another process
     * scribbled over, or a writer lapping the tail through every try), the
     * writer's counter is the estimate: the first record read corrects it
     * upwards as a loss, downwards without one.  A head off the multiples
     * of 8 can only be corrupt: the header found at the multiple below it
     * will say so. */
    if (!known) {
        seq = scb_load_acquire(&r->hdr->records);
        known = 2;
    }
    if ((pos - r->origin) % 8 != 0) {
        pos -= (pos - r->origin) % 8;
        known = 2;
    }
    scb_ring_cursor_reset(r, c, pos, head);
    c->seq = seq;
    c->seq_known = known;
}

uint64_t scb_rec_need(const scb_ring_t *r, const scb_wcursor_t *w,
                      uint32_t len)
{
    uint64_t span = SCB_REC_SPAN(len), rest = r->length - w->idx;

    return rest < span ? rest + span : span;
}

/* Moves the tail past every record that starts before `limit`: the writer
 * is about to claim the bytes before limit + length.  It reads its own
 * headers (a dead writer's, after a take-over); one that is not possible
 * makes it give up what is before its own position. */
static void tail_past(const scb_ring_t *r, scb_wcursor_t *w, uint64_t limit)
{
    uint64_t tail = w->tail, off = w->tail_idx, seq = w->tail_seq;
    rec_view_t v;

    /* A limit past the writer's position comes only from a claim another
     * process wrote: the tail never passes head, which also bounds the
     * walk by one length. */
    if (ahead(limit, w->pos))
        limit = w->pos;
    if (!ahead(limit, tail))
        return;
    while (ahead(limit, tail)) {
        if (rest_too_short(r, off)) {
            tail += r->length - off;
            off = 0;
            continue;
        }
        read_header(r, off, &v);
        if (v.check != scb_rec_check(tail) ||
            (v.len != SCB_REC_PAD && v.len > r->item_size) ||
            (v.len != SCB_REC_PAD && SCB_REC_SPAN(v.len) > r->length - off)) {
            /* Not a header: give up what is before the writer's position
             * (where the padding before the new record, if any, will be). */
            tail = w->pos;
            off = w->idx;
            seq = w->seq;
            break;
        }
        if (v.len == SCB_REC_PAD) {
            tail += r->length - off;
            off = 0;
            seq = v.seq;
        } else {
            tail += SCB_REC_SPAN(v.len);
            off += SCB_REC_SPAN(v.len);
            if (off == r->length)
                off = 0;
            seq = v.seq + 1;
        }
    }
    w->tail = tail;
    w->tail_idx = off;
    w->tail_seq = seq;
    scb_store_relaxed(&r->hdr->tail_seq, seq);
    /* Release: a reader that loads this tail (acquire) then head sees a
     * head at least as far on (the head stored before it). */
    scb_store_release(&r->hdr->tail, tail);
}

void *scb_rec_reserve(const scb_ring_t *r, scb_wcursor_t *w, uint32_t len)
{
    uint64_t rest = r->length - w->idx, span = SCB_REC_SPAN(len);
    uint64_t start = rest < span ? w->pos + rest : w->pos;
    uint64_t end = start + span, top = ahead(w->claim, end) ? w->claim : end;

    /* Every record that the claim up to `top` will reach is passed first,
     * so a lapped reader never resumes inside what is being written. */
    tail_past(r, w, top - r->length);
    if (ahead(end, w->claim)) {
        w->claim = end;
        /* Release: the tail is stored before the claim that makes it
         * needed; the fence orders the claim before the writes. */
        scb_store_release(&r->hdr->claim, end);
        scb_fence_release();
    }
    w->res_open = 1;
    w->res_start = start;
    w->res_len = len;
    return r->items + (start == w->pos ? w->idx : 0) + SCB_REC_HDR;
}

void scb_rec_commit(const scb_ring_t *r, scb_wcursor_t *w, uint32_t len)
{
    uint64_t start = w->res_start, end = start + SCB_REC_SPAN(len);
    uint64_t off = start == w->pos ? w->idx : 0;

    if (start != w->pos && !rest_too_short(r, w->idx))
        write_header(r, w->idx, w->pos, w->seq, SCB_REC_PAD);
    write_header(r, off, start, w->seq, len);
    w->res_open = 0;
    scb_store_relaxed(&r->hdr->last, start);
    /* Publishes the record (and the padding before it); pairs with the
     * acquire loads of head by readers. */
    scb_store_release(&r->hdr->head, end);
    w->seq++;
    scb_store_relaxed(&r->hdr->records, w->seq);
    w->pos = end;
    w->idx = off + SCB_REC_SPAN(len);
    if (w->idx == r->length)
        w->idx = 0;
}

void scb_rec_discard(const scb_ring_t *r, scb_wcursor_t *w)
{
    /* The claim stays: readers treat what the reservation may have
     * overwritten as lost. */
    (void)r;
    w->res_open = 0;
}

/* Moves the cursor to the oldest record kept (the writer's tail).  Its
 * sequence number, read with its header, says how many were lost.  Returns
 * SCB_OK, or SCB_EBADFORMAT for a tail no writer could have stored. */
static int resync(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t tail = scb_load_acquire(&r->hdr->tail);

    /* Acquire on both, and the tail stored with release after the head
     * before it: a tail ahead of head was written by another process. */
    c->head = scb_load_acquire(&r->hdr->head);
    if (ahead(tail, c->head) || (tail - r->origin) % 8 != 0)
        return SCB_EBADFORMAT;
    if (ahead(tail, c->pos)) {
        c->pos = tail;
        c->idx = offset_of(r, tail);
    }
    return SCB_OK;
}

void scb_rec_reader_resync(const scb_ring_t *r, scb_rcursor_t *c)
{
    (void)resync(r, c);
}

/* Publishes a registered reader's position (ring.c's slot_publish). */
static inline void rec_publish(const scb_ring_t *r, scb_rcursor_t *c)
{
    (void)r;
    if (c->slot != NULL && c->pos != c->published)
        scb_ring_publish(c);
}

/* Finds the next record from the cursor, stepping over padding and
 * resuming at the tail when lapped, and leaves its header's view in
 * c->peek_*: SCB_OK, SCB_EAGAIN or SCB_EBADFORMAT.  The payload is not
 * checked yet: the caller re-checks intact() after it used it.  Every turn
 * of the loop counts: a writer that laps the reader on every try, or a
 * segment made to look so, costs it REC_TRIES turns and SCB_EAGAIN. */
static int find_record(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t avail, off, span, walked = 0;
    rec_view_t v;
    int tries, pads = 0, laps = 0, rc;

    for (tries = 0; tries < REC_TRIES; tries++) {
        avail = c->head - c->pos;
        if (avail == 0 || (int64_t)avail < 0) {
            c->head = scb_load_acquire(&r->hdr->head);
            avail = c->head - c->pos;
            if (avail == 0 || (int64_t)avail < 0)
                return SCB_EAGAIN;
        }
        off = c->idx;
        if (avail > r->length) {
            /* Lapped: resume at the tail. */
            rc = resync(r, c);
            if (rc != SCB_OK)
                return rc;
            laps++;
            pads = 0;
            continue;
        }
        if (rest_too_short(r, off)) {
            if (++pads > 1)
                return SCB_EBADFORMAT;
            c->pos += r->length - off;
            c->idx = 0;
            continue;
        }
        read_header(r, off, &v);
        if (!intact(r, c->pos)) {
            rc = resync(r, c);
            if (rc != SCB_OK)
                return rc;
            laps++;
            pads = 0;
            continue;
        }
        /* Intact: the writer wrote it so, or another process did. */
        if (v.check != scb_rec_check(c->pos))
            return SCB_EBADFORMAT; /* no record starts here */
        if (c->seq_known == 1 && ahead(c->seq, v.seq))
            return SCB_EBADFORMAT; /* a sequence going backwards */
        if (v.len == SCB_REC_PAD) {
            if (++pads > 1)
                return SCB_EBADFORMAT;
            c->pos += r->length - off;
            c->idx = 0;
            continue;
        }
        span = SCB_REC_SPAN(v.len);
        if (v.len > r->item_size || span > r->length - off ||
            span > c->head - c->pos)
            return SCB_EBADFORMAT;
        pads = 0;
        if (laps > 1 && walked < r->length / 16) {
            /* Lapped twice in this call: the writer overwrites the tail
             * as fast as the reader gets there.  Step over records (lost
             * to that race anyway; the sequence number counts them) up to
             * a sixteenth of the space, and read in peace there. */
            walked += span;
            c->pos += span;
            c->idx = off + span == r->length ? 0 : off + span;
            continue;
        }
        /* Records the writer overwrote before this reader got to them. */
        if (c->seq_known == 1 ||
            (c->seq_known == 2 && laps > 0 && !ahead(c->seq, v.seq)))
            c->lost += v.seq - c->seq; /* (an estimate counts only a lap) */
        c->seq = v.seq;
        c->seq_known = 1;
        c->peek_ptr = r->items + off + SCB_REC_HDR;
        c->peek_len = v.len;
        c->peek_span = span;
        return SCB_OK;
    }
    return SCB_EAGAIN;
}

/* find_record, and on SCB_EBADFORMAT the cursor as it was. */
static int next_record(const scb_ring_t *r, scb_rcursor_t *c)
{
    uint64_t pos = c->pos, idx = c->idx, seq = c->seq, lost = c->lost;
    int known = c->seq_known, rc = find_record(r, c);

    if (rc == SCB_EBADFORMAT) {
        /* A failing call changes nothing: the reader stays before the
         * damage, and says so again at its next call. */
        c->pos = pos;
        c->idx = idx;
        c->seq = seq;
        c->lost = lost;
        c->seq_known = known;
    }
    return rc;
}

/* Consumes the record at the cursor (found by next_record). */
static inline void consume(const scb_ring_t *r, scb_rcursor_t *c)
{
    c->pos += c->peek_span;
    c->idx += c->peek_span;
    if (c->idx == r->length)
        c->idx = 0;
    c->seq++;
}

int scb_rec_peek(const scb_ring_t *r, scb_rcursor_t *c)
{
    int rc = next_record(r, c);

    if (rc == SCB_OK)
        c->peeked = 1;
    else
        rec_publish(r, c);
    return rc;
}

int scb_rec_release(const scb_ring_t *r, scb_rcursor_t *c)
{
    int rc = SCB_OK;

    c->peeked = 0;
    if (!intact(r, c->pos)) {
        c->lost++;
        rc = SCB_EOVERRUN;
    }
    consume(r, c);
    rec_publish(r, c);
    return rc;
}

int scb_rec_pop(const scb_ring_t *r, scb_rcursor_t *c, void *buf, size_t cap,
                size_t *len)
{
    int tries, rc = SCB_EAGAIN;

    *len = 0;
    for (tries = 0; tries < REC_TRIES; tries++) {
        rc = next_record(r, c);
        if (rc != SCB_OK)
            break;
        *len = c->peek_len;
        if (c->peek_len > cap) {
            rc = SCB_EMSGSIZE;
            break;
        }
        if (c->peek_len > 0)
            rec_copy_out(buf, c->peek_ptr, c->peek_len);
        if (intact(r, c->pos)) {
            consume(r, c);
            break;
        }
        /* Torn: that record is lost (next_record counts it from the
         * sequence number it finds next). */
        *len = 0;
        rc = SCB_EAGAIN;
    }
    rec_publish(r, c);
    return rc;
}

/* Writer: copies a record in (the room checked by the caller). */
void scb_rec_push(const scb_ring_t *r, scb_wcursor_t *w, const void *data,
                  uint32_t len)
{
    uint8_t *p = scb_rec_reserve(r, w, len);

    if (len > 0)
        rec_copy_in(p, data, len);
    scb_rec_commit(r, w, len);
}
