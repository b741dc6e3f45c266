"""The shared_cbuff benchmark: ``python3 -m shared_cbuff.bench``.

Measures the package in one run against a stand-in for the original
pure-Python package that this script writes itself (``StandIn``: a ring
over multiprocessing.shared_memory, the write position in the first bytes,
each reader with its own cursor, items stored big-endian, one slice
assignment per push and one per pop), and against an asyncio pipe for the
round trip.  Each case alternates the two sides over ``--repeat``
repetitions and reports the medians, and the ratio against the targets of
the README's "Python speed targets" table.  The exit status is 0 whatever
the figures (it is a benchmark, not a test), non-zero only on errors.

    python3 -m shared_cbuff.bench [--repeat N] [--quick] [--only CASE]
"""

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
from multiprocessing import shared_memory

import shared_cbuff
from shared_cbuff import SharedCircularBuffer

_names = itertools.count()


def ring_name(tag):
    return "bench-%s-%d-%d" % (tag, os.getpid(), next(_names))


class StandIn:
    """A pure-Python ring in the manner of the original package: the write
    position in the first 8 bytes, items big-endian after it; the creator
    writes, every other instance reads with a cursor of its own."""

    HEADER = 8

    def __init__(self, name, create=False, item_size=1, length=2):
        self.item_size = item_size
        self.length = length
        size = self.HEADER + item_size * length
        self.shm = shared_memory.SharedMemory(name=name, create=create, size=size)
        self.buf = self.shm.buf
        self.creator = create
        if create:
            self.buf[0:self.HEADER] = bytes(self.HEADER)
        self.cursor = 0

    def push(self, item):
        buf, size = self.buf, self.item_size
        w = int.from_bytes(buf[0:8], "big")
        at = self.HEADER + (w % self.length) * size
        buf[at:at + size] = item.to_bytes(size, "big")
        buf[0:8] = (w + 1).to_bytes(8, "big")

    def popitem(self):
        buf, size = self.buf, self.item_size
        w = int.from_bytes(buf[0:8], "big")
        if self.cursor == w:
            return None
        if w - self.cursor > self.length:  # overwritten: skip to the oldest kept
            self.cursor = w - self.length
        at = self.HEADER + (self.cursor % self.length) * size
        item = int.from_bytes(buf[at:at + size], "big")
        self.cursor += 1
        return item

    def close(self):
        self.buf = None
        self.shm.close()
        if self.creator:
            self.shm.unlink()


# -- the cases: each returns a rate (per second) or seconds ---------------------


def standin_push(n):
    name = ring_name("sp")
    w = StandIn(name, create=True, item_size=4, length=128)
    try:
        push = w.push
        t = time.perf_counter()
        for i in range(n):
            push(i & 255)
        return n / (time.perf_counter() - t)
    finally:
        w.close()


def package_push(n):
    name = ring_name("pp")
    with SharedCircularBuffer(name, create=True, item_size=4, length=128) as w:
        push = w.push
        t = time.perf_counter()
        for i in range(n):
            push(i & 255)
        return n / (time.perf_counter() - t)


def standin_pairs(n):
    name = ring_name("sq")
    w = StandIn(name, create=True, item_size=4, length=128)
    r = StandIn(name, item_size=4, length=128)
    try:
        push, pop = w.push, r.popitem
        t = time.perf_counter()
        for i in range(n):
            push(i & 255)
            pop()
        return n / (time.perf_counter() - t)
    finally:
        r.close()
        w.close()


def package_pairs(n):
    name = ring_name("pq")
    with SharedCircularBuffer(name, create=True, item_size=4, length=128) as w, \
            SharedCircularBuffer(name) as r:
        push, pop = w.push, r.popitem
        t = time.perf_counter()
        for i in range(n):
            push(i & 255)
            pop()
        return n / (time.perf_counter() - t)


def standin_popitem(n):
    """Items/s of the stand-in's popitem, 100 at a time (the pushes that
    refill the ring are not timed)."""
    name = ring_name("si")
    w = StandIn(name, create=True, item_size=4, length=128)
    r = StandIn(name, item_size=4, length=128)
    try:
        spent = 0.0
        pop = r.popitem
        for _ in range(n // 100):
            for i in range(100):
                w.push(i)
            t = time.perf_counter()
            for _ in range(100):
                pop()
            spent += time.perf_counter() - t
        return (n // 100) * 100 / spent
    finally:
        r.close()
        w.close()


def package_popmany(n):
    """Items/s of popmany(100) (the push_many that refills the ring is not
    timed)."""
    name = ring_name("pm")
    items = bytes(range(100)) * 4
    with SharedCircularBuffer(name, create=True, item_size=4, length=128) as w, \
            SharedCircularBuffer(name) as r:
        spent = 0.0
        popmany = r.popmany
        for _ in range(n // 100):
            w.push_many(items)
            t = time.perf_counter()
            got = popmany(100)
            spent += time.perf_counter() - t
        assert len(got) == 100
        return (n // 100) * 100 / spent


def records_pairs(n):
    name = ring_name("rp")
    record = bytes(range(64))
    with SharedCircularBuffer(name, create=True, records=True, length=65536) as w, \
            SharedCircularBuffer(name) as r:
        push, pop = w.push, r.pop
        t = time.perf_counter()
        for _ in range(n):
            push(record)
            pop()
        rate = n / (time.perf_counter() - t)
        assert pop(0) is None
        return rate


def views_bytes(n):
    """Bytes/s of 1 MiB records written into reserve's view and copied out
    of peek's, alternately in one process."""
    size = 1 << 20
    name = ring_name("vw")
    src = bytearray(os.urandom(size))
    dst = bytearray(size)
    with SharedCircularBuffer(name, create=True, records=True, length=4 * size + 64,
                              max_record=size) as w, SharedCircularBuffer(name) as r:
        t = time.perf_counter()
        for _ in range(n):
            with w.reserve(size) as v:
                v[:] = src
            with r.peek() as m:
                dst[:] = m
        rate = n * size / (time.perf_counter() - t)
        assert dst == src
        return rate


# -- round trips between two processes --------------------------------------------


class _PipeReader(asyncio.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.waiter = None

    def data_received(self, data):
        self.data += data
        if self.waiter is not None and len(self.data) >= 8 and not self.waiter.done():
            self.waiter.set_result(None)

    async def read8(self):
        while len(self.data) < 8:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        out = bytes(self.data[:8])
        del self.data[:8]
        return out


async def _pipe_reader(fd):
    loop = asyncio.get_running_loop()
    proto = _PipeReader()
    await loop.connect_read_pipe(lambda: proto, os.fdopen(fd, "rb", buffering=0))
    return proto


async def _side(first, rounds, reps, ring_out, ring_in, pipe_out, pipe_in):
    """One side of the ping-pongs: per repetition, `rounds` round trips
    over the rings (push, then pop_async), then over the pipes (write 8
    bytes, then read 8 through connect_read_pipe).  The first side times
    each round; returns [(ring p50, pipe p50)] per repetition."""
    proto = await _pipe_reader(pipe_in)
    results = []
    for _ in range(reps):
        times = []
        for kind in ("ring", "pipe"):
            lat = []
            for i in range(rounds + rounds // 10):
                t = time.perf_counter()
                if first:
                    if kind == "ring":
                        ring_out.push(i)
                        got = await ring_in.pop_async(5)
                    else:
                        os.write(pipe_out, i.to_bytes(8, "big"))
                        got = int.from_bytes(await proto.read8(), "big")
                    if got != i:
                        raise RuntimeError("%s round %d got %r" % (kind, i, got))
                    if i >= rounds // 10:
                        lat.append(time.perf_counter() - t)
                else:
                    if kind == "ring":
                        got = await ring_in.pop_async(5)
                        if got is None:
                            raise RuntimeError("ring round %d: nothing in 5 s" % i)
                        ring_out.push(got)
                    else:
                        os.write(pipe_out, await proto.read8())
            times.append(statistics.median(lat) if lat else 0.0)
        results.append(tuple(times))
    return results


def round_trips(rounds, reps):
    """Median over repetitions of the p50 round trip of pop_async and of
    the asyncio pipe, between this process and a child."""
    a, b = ring_name("ra"), ring_name("rb")
    ready_r, ready_w = os.pipe()
    p1r, p1w = os.pipe()  # parent -> child
    p2r, p2w = os.pipe()  # child -> parent
    wa = SharedCircularBuffer(a, create=True, item_size=8, length=64)
    try:
        pid = os.fork()
    except BaseException:
        wa.cleanup()
        raise
    if pid == 0:  # the child: echoes
        status = 1
        try:
            os.close(ready_r)
            with SharedCircularBuffer(b, create=True, item_size=8, length=64) as wb, \
                    SharedCircularBuffer(a) as ra:
                os.write(ready_w, b"1")
                asyncio.run(_side(False, rounds, reps, wb, ra, p2w, p1r))
            status = 0
        except BaseException as e:  # noqa: BLE001 - reported, then exit
            print("bench: round-trip child: %r" % (e,), file=sys.stderr)
        finally:
            os._exit(status)
    try:
        os.close(ready_w)
        if os.read(ready_r, 1) != b"1":
            raise RuntimeError("the round-trip child did not start")
        with SharedCircularBuffer(b) as rb:
            results = asyncio.run(_side(True, rounds, reps, wa, rb, p1w, p2r))
    finally:
        _, status = os.waitpid(pid, 0)
        wa.cleanup()
    if status != 0:
        raise RuntimeError("the round-trip child failed (status %d)" % status)
    ring = statistics.median(r for r, _ in results)
    pipe = statistics.median(p for _, p in results)
    return ring, pipe


# -- the run ------------------------------------------------------------------------


def alternate(reps, a, b):
    """Runs a() and b() alternately reps times; their medians."""
    xs, ys = [], []
    for _ in range(reps):
        xs.append(a())
        ys.append(b())
    return statistics.median(xs), statistics.median(ys)


def fmt_rate(v, unit="/s"):
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if v >= div:
            return "%.2f%s%s" % (v / div, suffix, unit)
    return "%.0f %s" % (v, unit)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m shared_cbuff.bench",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions per case (default 5)")
    ap.add_argument("--quick", action="store_true", help="a short run (a smoke test)")
    ap.add_argument("--only", choices=["push", "pairs", "popmany", "records", "views",
                                       "async"], action="append",
                    help="run only this case (repeatable)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    reps = 2 if args.quick else args.repeat
    scale = 10 if args.quick else 1
    only = set(args.only or ["push", "pairs", "popmany", "records", "views", "async"])

    print("shared_cbuff benchmark: Python %s, libscb %s (%s), %d repetitions, medians"
          % (sys.version.split()[0], shared_cbuff.library_version(),
             shared_cbuff.library_path, reps))
    print("stand-in: a pure-Python ring over multiprocessing.shared_memory, as the original")
    print("targets: the README's \"Python speed targets\"\n")
    rows = []

    def ratio_row(case, base, mine, target, unit="/s"):
        ratio = mine / base
        rows.append((case, fmt_rate(base, unit), fmt_rate(mine, unit), "%.1fx" % ratio,
                     ">= %gx" % target, ratio >= target))

    def absolute_row(case, mine, target, unit):
        rows.append((case, "-", fmt_rate(mine, unit), "-", ">= " + fmt_rate(target, unit),
                     mine >= target))

    if "push" in only:
        n = 200000 // scale
        base, mine = alternate(reps, lambda: standin_push(n), lambda: package_push(n))
        ratio_row("push of a small int", base, mine, 4)
    if "pairs" in only:
        n = 200000 // scale
        base, mine = alternate(reps, lambda: standin_pairs(n), lambda: package_pairs(n))
        ratio_row("push + popitem pairs", base, mine, 4)
    if "popmany" in only:
        n = 500000 // scale
        base, mine = alternate(reps, lambda: standin_popitem(n), lambda: package_popmany(n))
        ratio_row("popmany(100) per item vs popitem", base, mine, 20)
    if "records" in only:
        n = 200000 // scale
        mine = statistics.median(records_pairs(n) for _ in range(reps))
        absolute_row("64 B records push(bytes) + pop()", mine, 2e6, " pairs/s")
    if "views" in only:
        n = 2000 // scale
        mine = statistics.median(views_bytes(n) for _ in range(reps))
        absolute_row("1 MiB records, reserve/peek views", mine, 2e9, "B/s")
    if "async" in only and hasattr(os, "fork") and sys.platform != "win32":
        rounds = 2000 // scale
        ring, pipe = round_trips(rounds, reps)
        ratio = ring / pipe
        rows.append(("pop_async round trip, p50", "%.1f us (pipe)" % (pipe * 1e6),
                     "%.1f us" % (ring * 1e6), "%.2fx" % ratio, "<= 2x", ratio <= 2))

    widths = [max(len(str(r[i])) for r in rows + [("case", "stand-in/baseline", "package",
                                                    "ratio", "target", "")])
              for i in range(5)]
    head = ("case", "stand-in/baseline", "package", "ratio", "target")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  result")
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r[:5], widths)) + "  "
              + ("met" if r[5] else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
