/*
 * layout.c - planning, writing and validating the segment header.
 *
 * scb_layout_check is the one gate between bytes another process controls
 * and the geometry a handle trusts: it copies the header once and checks the
 * copy, so a header rewritten afterwards changes nothing for this handle.
 * No OS calls, no allocation.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <string.h>

#include "layout.h"

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

int scb_layout_plan(scb_geom_t *g, size_t page)
{
    uint64_t items_bytes, slots;

    if (page < SCB_LINE || (page & (page - 1)) != 0 || page > (1u << 24))
        return SCB_EINVAL;
    if (g->item_size < 1 || g->item_size > SCB_ITEM_SIZE_MAX)
        return SCB_EINVAL;
    if (g->length < 1 || g->length > SCB_LENGTH_MAX)
        return SCB_EINVAL;
    if (g->flags & SCB_RECORDS) {
        /* length is bytes of record space; room for two of the largest
         * records (see SCB_REC_MIN_LENGTH). */
        if (g->length % 8 != 0 || g->length < SCB_REC_MIN_LENGTH(g->item_size) ||
            g->origin % 8 != 0)
            return SCB_EINVAL;
        items_bytes = g->length;
    } else {
        if (g->length > UINT64_MAX / g->item_size)
            return SCB_EINVAL;
        items_bytes = g->length * g->item_size;
    }
    /* Keep the whole segment well inside 2^62 so no sum below can wrap. */
    if (items_bytes > (UINT64_C(1) << 61))
        return SCB_EINVAL;
    if (g->flags & SCB_LOSSLESS) {
        if (g->max_readers < 1 || g->max_readers > SCB_READERS_MAX)
            return SCB_EINVAL;
    } else {
        g->max_readers = 0;
    }
    slots = (uint64_t)g->max_readers * SCB_LINE;

    g->shared_off = round_up(sizeof(struct scb_hdr), page);
    /* The wait line, one line per reader slot, the doorbells. */
    g->shared_size =
        round_up(SCB_LINE + slots + SCB_BELLS * sizeof(struct scb_bell), page);
    g->items_off = g->shared_off + g->shared_size;
    g->total_size = g->items_off + items_bytes;
    if (g->total_size > SIZE_MAX)
        return SCB_ENOMEM;
    return SCB_OK;
}

void scb_layout_mark_creating(void *base, const scb_geom_t *g,
                              uint64_t creator)
{
    struct scb_hdr *h = base;
    size_t n = strlen(g->name);

    h->name_len = (uint32_t)n;
    memcpy(h->name, g->name, n + 1);
    scb_store_relaxed(&h->writer_id, creator);
    /* Publishes the name and the creator; pairs with the acquire load of
     * magic in scb_layout_check. */
    scb_store_release(&h->magic, SCB_MAGIC_CREATING);
}

void scb_layout_init(void *base, const scb_geom_t *g, uint64_t writer_id)
{
    struct scb_hdr *h = base;
    size_t n = strlen(g->name);

    h->version = SCB_FORMAT_VERSION;
    h->hdr_size = (uint32_t)sizeof(struct scb_hdr);
    h->total_size = g->total_size;
    h->length = g->length;
    h->item_size = g->item_size;
    h->flags = g->flags & SCB_RING_FLAGS;
    h->max_readers = g->max_readers;
    h->mode = g->mode;
    h->origin = g->origin;
    h->items_off = g->items_off;
    h->shared_off = g->shared_off;
    h->shared_size = g->shared_size;
    h->barrier_mode = g->barrier_mode;
    h->birth = g->birth;
    /* A header marked as being created has its name already, which
     * openers may be reading. */
    if (scb_load_relaxed(&h->magic) != SCB_MAGIC_CREATING) {
        h->name_len = (uint32_t)n;
        memcpy(h->name, g->name, n + 1);
    }
    scb_store_relaxed(&h->head, g->origin);
    scb_store_relaxed(&h->claim, g->origin);
    scb_store_relaxed(&h->records, g->origin);
    scb_store_relaxed(&h->tail, g->origin);
    scb_store_relaxed(&h->tail_seq, g->origin);
    scb_store_relaxed(&h->last, g->origin);
    scb_store_relaxed(&h->writer_id, writer_id);
    /* Publishes the complete header; pairs with the acquire load of magic
     * in scb_layout_check. */
    scb_store_release(&h->magic, SCB_MAGIC);
}

static int name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* 1 if the copied name g->name of length name_len is a valid ring name. */
static int name_ok(const scb_geom_t *g, uint32_t name_len)
{
    uint32_t i;

    if (name_len < 1 || name_len > SCB_NAME_MAX || g->name[name_len] != '\0')
        return 0;
    for (i = 0; i < name_len; i++)
        if (!name_char_ok((unsigned char)g->name[i]))
            return 0;
    return 1;
}

int scb_layout_is_ring_of(const void *base, size_t size, const char *name)
{
    const struct scb_hdr *h = base;
    char copy[sizeof h->name];
    uint64_t magic;

    if (base == NULL || size < sizeof(struct scb_hdr) || name == NULL)
        return 0;
    magic = scb_load_acquire(&h->magic);
    if (magic != SCB_MAGIC && magic != SCB_MAGIC_CREATING)
        return 0;
    /* Compare a copy: the field may change under us. */
    memcpy(copy, h->name, sizeof copy);
    return memchr(copy, '\0', sizeof copy) != NULL && strcmp(copy, name) == 0;
}

int scb_layout_check(const void *base, size_t size, scb_geom_t *g)
{
    const struct scb_hdr *h = base;
    uint64_t magic, min_shared;
    uint32_t version, hdr_size, name_len;

    if (base == NULL || size < sizeof(struct scb_hdr))
        return size == 0 ? SCB_EAGAIN : SCB_EBADFORMAT;
    /* Pairs with the release store of magic in scb_layout_init: once magic
     * reads right, the creator's header is visible. */
    magic = scb_load_acquire(&h->magic);
    if (magic == 0)
        return SCB_EAGAIN;
    if (magic == SCB_MAGIC_CREATING) {
        /* Only the name and the creator are there yet. */
        name_len = h->name_len;
        memcpy(g->name, h->name, sizeof g->name);
        g->creator = scb_load_relaxed(&h->writer_id);
        return name_ok(g, name_len) ? SCB_LAYOUT_CREATING : SCB_EBADFORMAT;
    }
    if (magic != SCB_MAGIC)
        return SCB_EBADFORMAT;

    /* Copy every field once; validate only the copies. */
    version = h->version;
    hdr_size = h->hdr_size;
    g->total_size = h->total_size;
    g->length = h->length;
    g->item_size = h->item_size;
    g->flags = h->flags;
    g->max_readers = h->max_readers;
    g->mode = h->mode;
    g->origin = h->origin;
    g->items_off = h->items_off;
    g->shared_off = h->shared_off;
    g->shared_size = h->shared_size;
    name_len = h->name_len;
    g->barrier_mode = h->barrier_mode;
    g->birth = h->birth;
    memcpy(g->name, h->name, sizeof g->name);

    if (version != SCB_FORMAT_VERSION || hdr_size != sizeof(struct scb_hdr))
        return SCB_EBADFORMAT;
    if ((g->flags & ~SCB_RING_FLAGS) != 0 || g->mode > 0777 ||
        g->barrier_mode > 1)
        return SCB_EBADFORMAT;
    if (g->item_size < 1 || g->item_size > SCB_ITEM_SIZE_MAX)
        return SCB_EBADFORMAT;
    if (g->length < 1 || g->length > SCB_LENGTH_MAX)
        return SCB_EBADFORMAT;
    if (g->flags & SCB_LOSSLESS) {
        if (g->max_readers < 1 || g->max_readers > SCB_READERS_MAX)
            return SCB_EBADFORMAT;
    } else if (g->max_readers != 0) {
        return SCB_EBADFORMAT;
    }
    /* Each factor is bounded, but their product is not (2^48 * 2^30):
     * whether the items fit is decided by division, never by a product
     * that could wrap. */
    min_shared = SCB_LINE + (uint64_t)g->max_readers * SCB_LINE +
                 SCB_BELLS * sizeof(struct scb_bell);
    if (g->total_size > size)
        return SCB_EBADFORMAT;
    if (g->shared_off < sizeof(struct scb_hdr) || g->shared_off % SCB_LINE ||
        g->shared_off > g->total_size)
        return SCB_EBADFORMAT;
    if (g->shared_size < min_shared ||
        g->shared_size > g->total_size - g->shared_off)
        return SCB_EBADFORMAT;
    if (g->items_off < g->shared_off + g->shared_size ||
        g->items_off % SCB_LINE || g->items_off > g->total_size)
        return SCB_EBADFORMAT;
    if (g->flags & SCB_RECORDS) {
        /* length is bytes of record space. */
        if (g->length % 8 != 0 || g->length < SCB_REC_MIN_LENGTH(g->item_size) ||
            g->origin % 8 != 0 || g->length > g->total_size - g->items_off)
            return SCB_EBADFORMAT;
    } else if (g->length > (g->total_size - g->items_off) / g->item_size) {
        return SCB_EBADFORMAT;
    }
    if (!name_ok(g, name_len))
        return SCB_EBADFORMAT;
    return SCB_OK;
}
