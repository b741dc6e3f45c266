/*
 * atomic.h - named memory-ordering helpers over <stdatomic.h>.
 *
 * Every ordering point in the ring goes through one of these, so that each
 * call site can say what it pairs with.  Nothing here may call the OS.
 */
#ifndef SCB_ATOMIC_H
#define SCB_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t scb_atomic_u64;
typedef _Atomic uint32_t scb_atomic_u32;

/* The shared counters live in memory mapped by several processes: they must
 * be real lock-free atomics, never a lock hidden in one process. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(sizeof(scb_atomic_u64) == 8, "64-bit atomics must be plain words");

static inline uint64_t scb_load_acquire(const scb_atomic_u64 *p)
{
    return atomic_load_explicit((scb_atomic_u64 *)p, memory_order_acquire);
}

static inline uint64_t scb_load_relaxed(const scb_atomic_u64 *p)
{
    return atomic_load_explicit((scb_atomic_u64 *)p, memory_order_relaxed);
}

static inline void scb_store_release(scb_atomic_u64 *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_release);
}

static inline void scb_store_relaxed(scb_atomic_u64 *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}

/* Compare-and-swap with acquire-release ordering; on failure *expected gets
 * the current value. */
static inline int scb_cas(scb_atomic_u64 *p, uint64_t *expected, uint64_t desired)
{
    return atomic_compare_exchange_strong_explicit(
        p, expected, desired, memory_order_acq_rel, memory_order_acquire);
}

static inline uint32_t scb_load32_acquire(const scb_atomic_u32 *p)
{
    return atomic_load_explicit((scb_atomic_u32 *)p, memory_order_acquire);
}

static inline uint32_t scb_load32_relaxed(const scb_atomic_u32 *p)
{
    return atomic_load_explicit((scb_atomic_u32 *)p, memory_order_relaxed);
}

static inline void scb_store32_relaxed(scb_atomic_u32 *p, uint32_t v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}

static inline void scb_store32_release(scb_atomic_u32 *p, uint32_t v)
{
    atomic_store_explicit(p, v, memory_order_release);
}

static inline void scb_add32_release(scb_atomic_u32 *p, uint32_t v)
{
    atomic_fetch_add_explicit(p, v, memory_order_release);
}

/* Read-modify-write and load in the single total order of seq_cst
 * operations (the registration counter). */
static inline uint32_t scb_add32_seq_cst(scb_atomic_u32 *p, uint32_t v)
{
    return atomic_fetch_add_explicit(p, v, memory_order_seq_cst);
}

static inline uint32_t scb_load32_seq_cst(const scb_atomic_u32 *p)
{
    return atomic_load_explicit((scb_atomic_u32 *)p, memory_order_seq_cst);
}

/* Sets bits with acquire-release ordering (the wait flags: several
 * raisers must not erase each other's bits). */
static inline void scb_or32_acq_rel(scb_atomic_u32 *p, uint32_t bits)
{
    atomic_fetch_or_explicit(p, bits, memory_order_acq_rel);
}

/* Swaps in v with acquire-release ordering; returns the old value. */
static inline uint32_t scb_xchg32_acq_rel(scb_atomic_u32 *p, uint32_t v)
{
    return atomic_exchange_explicit(p, v, memory_order_acq_rel);
}

static inline int scb_cas32(scb_atomic_u32 *p, uint32_t *expected, uint32_t desired)
{
    return atomic_compare_exchange_strong_explicit(
        p, expected, desired, memory_order_acq_rel, memory_order_acquire);
}

/* A full fence: orders earlier stores before later loads, which release
 * and acquire do not.  Used where one side stores then loads and the other
 * side does the mirror image (the wake-up handshakes). */
static inline void scb_fence_full(void)
{
    atomic_thread_fence(memory_order_seq_cst);
}

/* Keeps the compiler from moving memory accesses across it; no CPU fence.
 * Used where the other side's heavy barrier (membarrier) supplies the CPU
 * ordering. */
static inline void scb_fence_compiler(void)
{
    atomic_signal_fence(memory_order_seq_cst);
}

/* Orders earlier stores before later stores (and loads). */
static inline void scb_fence_release(void)
{
    atomic_thread_fence(memory_order_release);
}

/* Orders earlier loads before later loads (and stores). */
static inline void scb_fence_acquire(void)
{
    atomic_thread_fence(memory_order_acquire);
}

#endif /* SCB_ATOMIC_H */
