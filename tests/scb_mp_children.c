/*
 * scb_mp_children.c - the reader and writer child bodies of the
 * multi-process suite of tests/check_scb (declared in scb_mp.h), shared by
 * check_scb_mp.c, scb_mp_crash.c and scb_mp_role.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb_mp.h"

/* ---- the reader child ---------------------------------------------------- */

int reader_main(void *arg)
{
    const struct reader_opts *o = arg;
    struct rstat *st = &mp_sh->r[o->slot];
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS;
    uint64_t last = 0, returned = 0, since_nap = 0, final_deadline = 0;
    size_t batch = 64, size;
    unsigned idle = 0;
    int gone = 0, rc, have_last = 0, use_many;
    scb_info_t info;
    uint8_t *buf;
    scb_t *r;

    c.flags = o->oflags;
    rc = scb_open(&r, ring, &c);
    if (rc != SCB_OK) {
        say("reader %d: scb_open: %s", o->slot, scb_strerror(rc));
        if (o->ready_fd >= 0)
            put_byte(o->ready_fd, 'E');
        return 10;
    }
    scb_info(r, &info);
    size = info.item_size;
    buf = malloc(size * batch);
    if (buf == NULL) {
        say("reader %d: out of memory", o->slot);
        return 11;
    }
    if (o->ready_fd >= 0)
        put_byte(o->ready_fd, 'R');

    for (;;) {
        size_t got = 0, i;

        use_many = o->mode == R_FAST || (o->mode == R_MIX && (rnd() & 1));
        if (use_many) {
            rc = scb_pop_many(r, buf, 1 + (size_t)(rnd() % batch), &got);
        } else {
            rc = scb_pop(r, buf);
            got = rc == SCB_OK;
        }
        if (rc == SCB_OK) {
            idle = 0;
            for (i = 0; i < got; i++) {
                uint64_t seq;

                returned++;
                if (!tu_check(buf + i * size, size, &seq)) {
                    if (st->bad++ < 3)
                        say("reader %d: item %" PRIu64 " is torn (after seq %" PRIu64 ")",
                            o->slot, returned, last);
                    continue;
                }
                if (have_last && seq <= last) {
                    if (st->disorder++ < 3)
                        say("reader %d: seq %" PRIu64 " after seq %" PRIu64,
                            o->slot, seq, last);
                    continue;
                }
                if (!have_last) {
                    st->first_seq = seq;
                    st->streak_start = seq;
                } else if (seq != last + 1) {
                    st->streak_start = seq;
                }
                last = seq;
                have_last = 1;
            }
            atomic_store_explicit(&st->progress, returned, memory_order_relaxed);
            if (o->mode == R_SLOW && (since_nap += got) >= 256) {
                /* Naps until the writer has overwritten something unread:
                 * this reader must fall behind and lose items. */
                uint64_t lost0 = scb_lost(r), until = now_ns() + 20000000u;

                since_nap = 0;
                tu_sleep_us(100);
                while (scb_lost(r) == lost0 && now_ns() < until)
                    tu_sleep_us(50);
            }
            if (o->n != 0 && have_last && last >= o->n - 1)
                break;
            if (o->max_items != 0 && returned >= o->max_items)
                break;
            if (now_ns() > deadline) {
                st->timed_out = 1;
                break;
            }
            continue;
        }
        if (rc != SCB_EAGAIN) {
            say("reader %d: pop: %s", o->slot, scb_strerror(rc));
            st->bad++;
            break;
        }
        if (gone)
            break; /* the writer had finished and nothing more came */
        if (o->use_final) {
            uint64_t fe = atomic_load(&mp_sh->final_end);
            if (fe != 0 && have_last && last + 1 >= fe)
                break;
            /* Everything was pushed: what has not come in 3 s never will. */
            if (fe != 0 && final_deadline == 0)
                final_deadline = now_ns() + UINT64_C(3000000000);
            if (final_deadline != 0 && now_ns() > final_deadline) {
                say("reader %d: seq %" PRIu64 " never came (last seq %" PRIu64 ")",
                    o->slot, fe - 1, last);
                break;
            }
        }
        if (atomic_load(&mp_sh->stop_readers))
            break;
        if (++idle < 32) {
            sched_yield();
            continue;
        }
        if (now_ns() > deadline) {
            st->timed_out = 1;
            break;
        }
        if (o->n != 0 && (idle & 63) == 0) {
            /* A library that lost track of the last item must not keep
             * this reader waiting forever: once the writer is gone with
             * everything pushed, one more empty pop ends it. */
            scb_info(r, &info);
            if (info.pushed >= o->n && !info.writer_alive)
                gone = 1;
        }
        tu_sleep_us(20);
    }

    scb_info(r, &info);
    st->returned = returned;
    st->lost = scb_lost(r);
    st->pushed = info.pushed;
    st->last_seq = last;
    st->have_last = have_last;
    st->finished = !st->timed_out;
    if (st->timed_out)
        say("reader %d: deadline passed (returned %" PRIu64 ", last seq %" PRIu64 ")",
            o->slot, returned, last);
    scb_close(r);
    free(buf);
    return st->bad != 0 || st->disorder != 0 ? 1 : st->timed_out ? 3 : 0;
}

/* One reader's report, for an assertion message. */
const char *rs_str(int slot)
{
    static char buf[320];
    const struct rstat *s = &mp_sh->r[slot];

    snprintf(buf, sizeof buf,
             "reader %d: returned %" PRIu64 ", lost %" PRIu64 ", pushed %" PRIu64
             ", seq %" PRIu64 "..%" PRIu64 " (last run from %" PRIu64 ")"
             ", torn %" PRIu64 ", out of order %" PRIu64 "%s; backend %s, seed %" PRIu64,
             slot, s->returned, s->lost, s->pushed, s->first_seq, s->last_seq,
             s->streak_start, s->bad, s->disorder,
             s->timed_out ? ", TIMED OUT" : "", tu_backend, seed);
    return buf;
}

/* ---- the writer child ---------------------------------------------------- */

int writer_main(void *arg)
{
    const struct writer_opts *o = arg;
    scb_config_t c = tu_cfg(0, 0);
    uint64_t deadline = now_ns() + CHILD_DEADLINE_NS, retry_until;
    uint64_t seq, end, loops = 0;
    size_t size, cap;
    scb_info_t info;
    uint8_t *buf;
    char how = 'O';
    scb_t *w;
    int rc;

    c.flags = SCB_WRITER;
    retry_until = now_ns() + (uint64_t)o->retry_ms * 1000000u;
    while ((rc = scb_open(&w, ring, &c)) == SCB_EBUSY && now_ns() < retry_until) {
        how = 'R';
        tu_sleep_us(200);
    }
    if (rc != SCB_OK) {
        say("writer: scb_open(SCB_WRITER): %s", scb_strerror(rc));
        if (o->report_fd >= 0)
            put_byte(o->report_fd, 'E');
        return 2;
    }
    scb_info(w, &info);
    size = info.item_size;
    cap = o->max_batch;
    if (o->big_batches && cap < 2 * info.length + 1)
        cap = 2 * info.length + 1;
    buf = malloc(size * cap);
    if (buf == NULL) {
        say("writer: out of memory");
        return 11;
    }
    /* seq is the position in the ring: items ever pushed before this one. */
    seq = info.pushed;
    end = o->count != 0 ? seq + o->count : UINT64_MAX;
    if (o->final)
        atomic_store(&mp_sh->final_start, seq);
    if (o->report_fd >= 0)
        put_byte(o->report_fd, how);

    while (seq < end) {
        uint64_t r = rnd();
        size_t k, j, n;
        int single = (r & 3) == 0;

        if (o->count == 0 && atomic_load_explicit(&mp_sh->stop_writer, memory_order_relaxed))
            break;
        if ((++loops & 255) == 0 && now_ns() > deadline) {
            say("writer: deadline passed at seq %" PRIu64, seq);
            return 3;
        }
        k = single ? 1 : 1 + (size_t)((r >> 8) % o->max_batch);
        if (o->big_batches && (r >> 40) % 32 == 0) {
            single = 0;
            k = 2 * info.length + 1;
        }
        if (k > end - seq)
            k = (size_t)(end - seq);
        for (j = 0; j < k; j++)
            tu_fill(buf + j * size, size, seq + j);
        if (single && k == 1) {
            rc = scb_push(w, buf);
            n = 1;
        } else {
            rc = scb_push_many(w, buf, k, &n);
        }
        if (rc != SCB_OK || n != k) {
            say("writer: push of %zu items at seq %" PRIu64 ": %s, count %zu", k,
                seq, scb_strerror(rc), n);
            return 4;
        }
        seq += k;
    }
    rc = scb_close(w);
    free(buf);
    if (rc != SCB_OK) {
        say("writer: scb_close: %s", scb_strerror(rc));
        return 5;
    }
    return 0;
}
