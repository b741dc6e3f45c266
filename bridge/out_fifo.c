/*
 * out_fifo.c - scb bridge out's queue of the items sent to a stream and not
 * confirmed yet (out_js.c): their numbers, lost counts and lengths in a
 * circular array, their bytes in a circular buffer, in arrival order.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <stdlib.h>
#include <string.h>

#include "out.h"

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* The bytes an item of `len` bytes takes in the queue: at least 8. */
size_t js_fifo_size(size_t len)
{
    return pad8(len > 0 ? len : 1);
}

/* The queue of items sent and not confirmed. */
int js_fifo_init(js_fifo_t *f, size_t item_size)
{
    size_t big = pad8(item_size) + 8;

    f->items_cap = JS_FIFO_ITEMS;
    /* At least four of the largest (see out_js_publish). */
    f->data_cap = big <= JS_FIFO_BYTES / JS_FIFO_ITEMS ? JS_FIFO_ITEMS * big
                                                       : JS_FIFO_BYTES;
    if (f->data_cap / 4 < big)
        f->data_cap = 4 * big;
    f->items = malloc(f->items_cap * sizeof *f->items);
    f->data = malloc(f->data_cap);
    f->first = f->n = f->tail = 0;
    return f->items != NULL && f->data != NULL ? 0 : -1;
}

js_item_t *js_fifo_at(const js_fifo_t *f, size_t i)
{
    return &f->items[(f->first + i) % f->items_cap];
}

/* Where `len` bytes can go now (1, *off), or not (0: the queue is full).
 * Bytes are kept in arrival order: from the oldest item's to tail, going
 * round the end; every item takes at least 8 bytes, so tail meets the
 * oldest item's bytes only when full. */
int js_fifo_room(const js_fifo_t *f, size_t len, size_t *off)
{
    size_t need = js_fifo_size(len), head;

    if (f->n == f->items_cap)
        return 0;
    if (f->n == 0) {
        *off = 0;
        return need <= f->data_cap;
    }
    head = js_fifo_at(f, 0)->off;
    if (f->tail > head) {
        if (f->tail + need <= f->data_cap) {
            *off = f->tail;
            return 1;
        }
        *off = 0; /* round the end */
        return need <= head;
    }
    *off = f->tail;
    return f->tail + need <= head;
}

void js_fifo_push(js_fifo_t *f, uint64_t seq, uint64_t lost,
                      const void *data, size_t len, size_t off)
{
    js_item_t *it = &f->items[(f->first + f->n) % f->items_cap];

    it->seq = seq;
    it->lost = lost;
    it->off = off;
    it->len = len;
    if (len > 0)
        memcpy(f->data + off, data, len);
    f->tail = off + js_fifo_size(len);
    f->n++;
}

void js_fifo_drop_first(js_fifo_t *f)
{
    f->first = (f->first + 1) % f->items_cap;
    if (--f->n == 0)
        f->first = f->tail = 0;
}

/* The last item pushed, taken back (never sent). */
void js_fifo_drop_last(js_fifo_t *f)
{
    const js_item_t *prev;

    if (--f->n == 0) {
        f->first = f->tail = 0;
        return;
    }
    prev = js_fifo_at(f, f->n - 1);
    f->tail = prev->off + js_fifo_size(prev->len);
}
