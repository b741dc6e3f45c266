/*
 * backend.c - the registry of built-in backends and the wrappers that are
 * the only callers of a backend table.
 *
 * configure decides which backends are compiled in and which is the
 * default; this file only lists them.  No OS calls, no mutable globals.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <string.h>

#include "backend.h"
#include "scb.h"
#include "sys.h"

/* configure lists the backends it built, the default first, as
 * SCB_BACKEND_TABLE (addresses of their tables) and SCB_BACKEND_NAMES (their
 * names, in the same order). */
#if !defined(SCB_BACKEND_TABLE) || !defined(SCB_BACKEND_NAMES)
#error "configure must define SCB_BACKEND_TABLE and SCB_BACKEND_NAMES"
#endif

const scb_backend_t *const scb_backend_list[] = {SCB_BACKEND_TABLE, NULL};
const char *const scb_backend_names[] = {SCB_BACKEND_NAMES, NULL};

const char *const *scb_backends(void)
{
    return scb_backend_names;
}

const scb_backend_t *scb_backend_find(const char *name)
{
    size_t i;

    if (name == NULL)
        return scb_backend_list[0];
    for (i = 0; scb_backend_list[i] != NULL; i++)
        if (strcmp(scb_backend_list[i]->name, name) == 0)
            return scb_backend_list[i];
    return NULL;
}

int scb_backend_create(const scb_backend_t *be, scb_seg_t *seg,
                       const char *name, size_t size, uint32_t mode)
{
    int rc;

    if (be == NULL || seg == NULL || name == NULL || size == 0 || mode > 0777)
        return SCB_EINVAL;
    memset(seg, 0, sizeof *seg);
    rc = be->create(seg, name, size, mode);
    if (rc == SCB_OK && (seg->base == NULL || seg->size < size)) {
        /* A backend that maps less than asked breaks its contract; refuse
         * to build a ring on it. */
        be->remove(seg, name);
        be->close(seg);
        return SCB_ENOMEM;
    }
    return rc;
}

int scb_backend_reserve(const scb_backend_t *be, scb_seg_t *seg)
{
    if (be == NULL || seg == NULL || seg->base == NULL || !seg->writable)
        return SCB_EINVAL;
    if (be->reserve == NULL)
        return SCB_OK;
    return be->reserve(seg);
}

int scb_backend_open(const scb_backend_t *be, scb_seg_t *seg, const char *name,
                     int writable)
{
    int rc;

    if (be == NULL || seg == NULL || name == NULL)
        return SCB_EINVAL;
    memset(seg, 0, sizeof *seg);
    rc = be->open(seg, name, writable != 0);
    if (rc == SCB_OK && seg->base == NULL && seg->size != 0) {
        be->close(seg);
        return SCB_ESYS;
    }
    return rc;
}

int scb_backend_protect(const scb_backend_t *be, scb_seg_t *seg, size_t off,
                        size_t len)
{
    size_t page = scb_sys_page_size();
    size_t mapped;

    if (be == NULL || seg == NULL)
        return SCB_EINVAL;
    /* The mapping covers whole pages: a range may end in the last, partly
     * used one. */
    mapped = seg->size + (page - seg->size % page) % page;
    if (off % page != 0 || len % page != 0 || off > mapped ||
        len > mapped - off)
        return SCB_EINVAL;
    if (!be->can_protect)
        return SCB_ENOTSUP;
    if (len == 0)
        return SCB_OK;
    if (seg->base == NULL || !seg->writable)
        return SCB_EINVAL;
    return scb_sys_protect_readonly((char *)seg->base + off, len);
}

int scb_backend_close(const scb_backend_t *be, scb_seg_t *seg)
{
    if (be == NULL || seg == NULL)
        return SCB_EINVAL;
    return be->close(seg);
}

int scb_backend_remove(const scb_backend_t *be, scb_seg_t *seg,
                       const char *name)
{
    if (be == NULL || seg == NULL || name == NULL)
        return SCB_EINVAL;
    return be->remove(seg, name);
}

int scb_backend_list_rings(const scb_backend_t *be,
                           const scb_backend_lister_t *l)
{
    if (be == NULL || l == NULL || l->report == NULL || l->name_of == NULL)
        return SCB_EINVAL;
    if (be->list == NULL)
        return SCB_ENOTSUP;
    return be->list(l);
}
