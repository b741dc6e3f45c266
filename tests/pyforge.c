/*
 * pyforge.c - for the Python tests, states of a ring that the public API
 * does not make on demand (it uses libscb's internals, as the Check suites
 * do).
 *
 *   pyforge creating NAME   makes NAME's segment (default backend) marked
 *                           as being created by this process, prints
 *                           "marked", and waits for its standard input to
 *                           close; then it removes the segment.
 *
 * A reader opening NAME meanwhile waits for the creator (scb_open), which
 * is what the tests interrupt.
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "layout.h"
#include "sys.h"

int main(int argc, char **argv)
{
    const scb_backend_t *be = scb_backend_find(NULL);
    scb_seg_t seg;
    scb_geom_t g;
    int c, rc;

    if (argc != 3 || strcmp(argv[1], "creating") != 0 || be == NULL) {
        fprintf(stderr, "usage: pyforge creating NAME\n");
        return 2;
    }
    memset(&g, 0, sizeof g);
    g.item_size = 8;
    g.length = 16;
    g.mode = 0600;
    snprintf(g.name, sizeof g.name, "%s", argv[2]);
    rc = scb_layout_plan(&g, scb_sys_page_size());
    if (rc == SCB_OK)
        rc = scb_backend_create(be, &seg, argv[2], (size_t)g.total_size, 0600);
    if (rc != SCB_OK) {
        fprintf(stderr, "pyforge: %s: %s\n", argv[2], scb_strerror(rc));
        return 1;
    }
    scb_layout_mark_creating(seg.base, &g, scb_sys_proc_self());
    printf("marked\n");
    fflush(stdout);
    while ((c = getchar()) != EOF)
        ;
    (void)scb_backend_remove(be, &seg, argv[2]);
    return 0;
}
