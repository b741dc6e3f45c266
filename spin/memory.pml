/*
 * memory.pml - the shared memory of the models: sequential consistency, or
 * with -DTSO x86-style store buffers (total store order).
 *
 * Every shared word is a byte of mem[]; processes are numbered 0..NPROC-1
 * (the including model defines NPROC and NV, the number of words).
 *
 * Sequential consistency: a load or a store is one atomic step on mem[].
 *
 * TSO: each process's plain stores go into its own FIFO store buffer, and a
 * flusher process per buffer moves the oldest store to mem[] whenever it is
 * scheduled (so at any moment, nondeterministically).  A load returns the
 * newest store to that word still in the process's own buffer (store
 * forwarding), else mem[].  FENCE(p) (a full fence, mfence) waits until
 * p's buffer is empty.  A read-modify-write (lock xadd, lock cmpxchg: every
 * atomic_fetch_add and compare-and-swap on x86) first drains the buffer,
 * then acts on mem[] in one step; so does XCHG (lock xchg).  OR (an atomic
 * OR, C11 acq_rel) goes into the buffer like a store and is applied to
 * mem[] by the flusher in one step (mem[v] | x): it is atomic, and ordered
 * after the process's earlier stores (release), but the loads that follow
 * it may run before it is seen, as C11 allows and ARM does (a lock-prefixed
 * OR on x86 is a full barrier by itself: the model is the weaker of the
 * two, which is why the code fences after it).  A pending OR is not
 * forwarded: a model must not load a word it has an OR pending on.
 * HEAVY() is the asymmetric heavy barrier (Linux membarrier): it returns
 * only after every process has been through a full fence, i.e. each buffer
 * has been empty at some moment during the call.  Acquire and release
 * orderings need no code here: TSO gives them.
 */

byte mem[NV];

#ifdef TSO

#ifndef SBSIZE
#define SBSIZE 2
#endif

chan sb[NPROC] = [SBSIZE] of { byte, byte };  /* (word, value) */
byte nbuf[NPROC * NV];  /* stores to word v in p's buffer: nbuf[p*NV+v] */
byte bval[NPROC * NV];  /* the newest of them */

#define LOAD(p, v, dst) \
    atomic { if :: nbuf[(p)*NV+(v)] > 0 -> dst = bval[(p)*NV+(v)] \
                :: else -> dst = mem[v] fi }
#define STORE(p, v, x) \
    atomic { sb[p] ! v, x; nbuf[(p)*NV+(v)]++; bval[(p)*NV+(v)] = x }
#define FENCE(p) empty(sb[p])
#define OR_TAG 128  /* an OR in the buffer: word + OR_TAG (NV < OR_TAG) */
#define OR(p, v, x) sb[p] ! (v) + OR_TAG, x
#define XCHG(p, v, x, old) \
    atomic { empty(sb[p]) -> old = mem[v]; mem[v] = x }
#define RMW_ADD(p, v, k, old) \
    atomic { empty(sb[p]) -> old = mem[v]; mem[v] = old + (k) }
#define CAS(p, v, exp, new, ok) \
    atomic { empty(sb[p]) -> \
             if :: mem[v] == exp -> mem[v] = new; ok = 1 \
                :: else -> exp = mem[v]; ok = 0 fi }

proctype flusher(byte p)
{
    byte v, x;
end:
    do
    :: atomic { sb[p] ? v, x ->
                mem[v % OR_TAG] = (v < OR_TAG -> x : mem[v % OR_TAG] | x);
                nbuf[p*NV + v % OR_TAG] = nbuf[p*NV + v % OR_TAG] -
                                          (v < OR_TAG -> 1 : 0) }
    od
}

#define START_FLUSHERS() \
    atomic { byte fp = 0; do :: fp < NPROC -> run flusher(fp); fp++ \
                             :: else -> break od }

#else /* sequential consistency */

#define LOAD(p, v, dst)  dst = mem[v]
#define STORE(p, v, x)   mem[v] = x
#define FENCE(p)         skip
#define OR(p, v, x)      mem[v] = mem[v] | (x)
#define XCHG(p, v, x, old) atomic { old = mem[v]; mem[v] = x }
#define RMW_ADD(p, v, k, old) atomic { old = mem[v]; mem[v] = old + (k) }
#define CAS(p, v, exp, new, ok) \
    atomic { if :: mem[v] == exp -> mem[v] = new; ok = 1 \
                :: else -> exp = mem[v]; ok = 0 fi }
#define START_FLUSHERS() skip

#endif
