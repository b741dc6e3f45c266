"""fileno() (scb_fd) in an asyncio event loop: a reader woken by the loop,
never by polling, reading what a writer in another process pushes."""
import asyncio
import os
import select
import subprocess
import sys
import textwrap
import threading
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors

try:
    from .util import Buffers, ring_name
except ImportError:  # run as a script
    from util import Buffers, ring_name


@unittest.skipIf(sys.platform == "win32", "asyncio's add_reader takes sockets only there")
class TestFileno(unittest.TestCase):
    def setUp(self):
        self.name = ring_name("fd")
        self.w = SharedCircularBuffer(self.name, create=True, length=4096)
        self.r = SharedCircularBuffer(self.name)

    def tearDown(self):
        self.r.cleanup()
        self.w.cleanup()

    def readable(self, fd, timeout):
        return bool(select.select([fd], [], [], timeout)[0])

    def test_rules(self):
        fd = self.r.fileno()
        self.assertEqual(fd, self.r.fileno())
        self.assertIsNone(self.r.popitem())          # arms it
        self.assertFalse(self.readable(fd, 0))
        self.w.push(7)
        self.assertTrue(self.readable(fd, 0))
        self.assertEqual(self.r.popitem(), 7)
        self.assertIsNone(self.r.popitem())          # drained: not readable
        self.assertFalse(self.readable(fd, 0.05))
        self.r.cleanup()
        with self.assertRaises(OSError):
            os.fstat(fd)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_asyncio_reader_and_forked_writer(self):
        n = 2000
        name = ring_name("fdw")
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            # The writer: its own ring, items with pauses now and then.
            code = 1
            try:
                os.close(rfd)
                with SharedCircularBuffer(name, create=True, item_size=4,
                                          length=8192) as w:
                    os.write(wfd, b"R")
                    time.sleep(0.05)
                    for i in range(n):
                        w.push(i)
                        if i % 97 == 0:
                            time.sleep(0.002)
                    code = 0
            finally:
                os._exit(code)
        os.close(wfd)
        self.assertEqual(os.read(rfd, 1), b"R")
        os.close(rfd)
        r = SharedCircularBuffer(name)
        got = []

        async def main():
            loop = asyncio.get_running_loop()
            done = loop.create_future()

            def ready():
                while (item := r.popitem()) is not None:
                    got.append(item)
                if len(got) >= n and not done.done():
                    done.set_result(None)

            loop.add_reader(r.fileno(), ready)
            ready()  # the first pass arms it
            try:
                await asyncio.wait_for(done, 10)
            finally:
                loop.remove_reader(r.fileno())

        try:
            asyncio.run(main())
            self.assertEqual(got, list(range(n)))
            self.assertEqual(r.lost, 0)
        finally:
            r.cleanup()
            _, st = os.waitpid(pid, 0)
        self.assertEqual(st, 0)


def _echo_child(a, b, n, ready_fd):
    """In a forked child: creates ring b, reads ring a with pop_async and
    echoes each item into b; exits 0 when n items went through."""
    code = 1
    try:
        with SharedCircularBuffer(b, create=True, item_size=8, length=16) as wb, \
                SharedCircularBuffer(a) as ra:
            os.write(ready_fd, b"R")

            async def run():
                for _ in range(n):
                    x = await ra.pop_async(10)
                    if x is None:
                        return 2
                    wb.push(x)
                    if x % 10 == 3:
                        await asyncio.sleep(0.001)
                return 0

            code = asyncio.run(run())
    finally:
        os._exit(code)


@unittest.skipIf(sys.platform == "win32", "fork")
class TestAsync(Buffers):
    def test_round_trips_between_processes(self):
        # 2000 round trips, both sides in pop_async: a lost wake-up would
        # leave one side waiting out its 10 s and fail the test.
        n = 2000
        a, b = ring_name("aa"), ring_name("ab")
        wa = self.make(a, create=True, item_size=8, length=16)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _echo_child(a, b, n, wfd)
        os.close(wfd)
        try:
            self.assertEqual(os.read(rfd, 1), b"R")
            rb = self.make(b)

            async def run():
                for i in range(n):
                    wa.push(i)
                    got = await rb.pop_async(10)
                    self.assertEqual(got, i)
                    if i % 7 == 0:
                        await asyncio.sleep(0)

            start = time.monotonic()
            asyncio.run(run())
            self.assertLess(time.monotonic() - start, 60)
        finally:
            os.close(rfd)
            _, st = os.waitpid(pid, 0)
        self.assertEqual(st, 0)

    def test_timeout_and_cancel(self):
        name = ring_name("ac")
        w = self.make(name, create=True, item_size=4, length=8)
        r = self.make(name)

        async def run():
            t = time.monotonic()
            self.assertIsNone(await r.pop_async(0.05))
            self.assertGreaterEqual(time.monotonic() - t, 0.04)
            self.assertIsNone(await r.pop_async(timeout=0))
            with self.assertRaises(ValueError):
                await r.pop_async(-1)
            pending = asyncio.ensure_future(r.pop_async())
            await asyncio.sleep(0.02)
            pending.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await pending
            self.assertEqual(r._waiters, {})
            loop = asyncio.get_running_loop()
            loop.call_later(0.02, w.push, 11)
            self.assertEqual(await r.pop_async(5), 11)  # still usable
            w.push(12)
            self.assertEqual(await r.pop_async(5), 12)
            # Two coroutines wait on one reader: both are woken.
            c1 = asyncio.ensure_future(r.pop_async(5))
            c2 = asyncio.ensure_future(r.pop_async(5))
            await asyncio.sleep(0.02)
            w.push(13)
            w.push(14)
            self.assertEqual(sorted(await asyncio.gather(c1, c2)), [13, 14])
            # wait_for cancels a pending pop_async too.
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(r.pop_async(), 0.05)
            self.assertEqual(r._waiters, {})

        asyncio.run(run())

    def test_aiter(self):
        name = ring_name("ai")
        w = self.make(name, create=True, records=True, length=4096)
        r = self.make(name)

        async def run():
            loop = asyncio.get_running_loop()
            for i in range(5):
                loop.call_later(0.01 * i, w.push, b"r%d" % i)
            got = []
            async for rec in r.aiter():
                got.append(rec)
                if len(got) == 5:
                    break
            w.push(b"more")
            async for rec in r:
                got.append(rec)
                break
            return got

        self.assertEqual(asyncio.run(run()), [b"r0", b"r1", b"r2", b"r3", b"r4", b"more"])

    def test_push_async_waits_for_a_reader_in_another_process(self):
        name = ring_name("ap")
        w = self.make(name, create=True, item_size=4, length=4, lossless=True)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(rfd)
                r = SharedCircularBuffer(name)
                os.write(wfd, b"R")
                got = []
                deadline = time.monotonic() + 20
                while len(got) < 20 and time.monotonic() < deadline:
                    time.sleep(0.02)  # slow: the writer must wait for room
                    x = r.pop(1)
                    if x is not None:
                        got.append(x)
                r.cleanup()
                code = 0 if got == list(range(20)) else 3
            finally:
                os._exit(code)
        os.close(wfd)
        try:
            self.assertEqual(os.read(rfd, 1), b"R")

            async def run():
                waited = 0
                for i in range(20):
                    t = time.monotonic()
                    await w.push_async(i, timeout=10)
                    waited += time.monotonic() - t > 0.005
                return waited

            self.assertGreater(asyncio.run(run()), 5)  # it did wait for room
        finally:
            os.close(rfd)
            _, st = os.waitpid(pid, 0)
        self.assertEqual(st, 0)

    def test_records_both_ways_through_full_lossless_rings(self):
        # Records of every length through two small lossless rings, a child
        # interpreter echoing them, both sides in pop_async and push_async at
        # once: both rings fill, so each side waits for room the other
        # process makes; a lost wake-up leaves a side waiting out its 10 s.
        n = 1000
        a, b = ring_name("ra"), ring_name("rb")
        wa = self.make(a, create=True, records=True, length=256, max_record=100,
                       lossless=True)
        child = subprocess.Popen([sys.executable, "-c", _ECHO_RECORDS, a, b, str(n)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(child.stdout.readline().strip(), "ready")
            rb = self.make(b)

            def rec(i):
                return bytes((i * 3 + j) & 255 for j in range(i % 101))

            async def send():
                full = 0
                for i in range(n):
                    try:
                        wa.push(rec(i))
                    except errors.BufferFull:
                        full += 1
                        await wa.push_async(rec(i), timeout=10)
                return full

            async def receive():
                got = []
                for _ in range(n):
                    got.append(await rb.pop_async(10))
                return got

            async def run():
                return await asyncio.gather(send(), receive())

            try:
                full, got = asyncio.run(run())
            finally:
                code = child.wait(20)  # the child cleans its ring up
            self.assertEqual(code, 0)
            self.assertEqual(got, [rec(i) for i in range(n)])
            self.assertGreater(full, 0)  # push_async did wait for room
            self.assertEqual(rb.lost, 0)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()

    def test_push_async_timeout(self):
        name = ring_name("at")
        w = self.make(name, create=True, item_size=4, length=2, lossless=True)
        self.make(name)  # a reader that never reads

        async def run():
            await w.push_async(1)
            await w.push_async(2)
            with self.assertRaises(errors.TimedOut):
                await w.push_async(3, timeout=0.05)

        asyncio.run(run())

    def test_cleanup_while_a_coroutine_waits(self):
        name = ring_name("aw")
        self.make(name, create=True, item_size=4, length=8)
        r = SharedCircularBuffer(name)

        async def run():
            pending = asyncio.ensure_future(r.pop_async())
            await asyncio.sleep(0.02)
            r.cleanup()
            with self.assertRaises(errors.BufferClosed):
                await asyncio.wait_for(pending, 2)

        asyncio.run(run())


    @unittest.skipIf(sys.platform == "win32", "POSIX fds")
    def test_handle_fd_above_1024(self):
        # A process with many files open: the handle's fd is past
        # select()'s limit.  The loop's wake-up check must still work (no
        # error in the reader callback, no spinning).
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 1200
        if hard != resource.RLIM_INFINITY and hard < want:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        hog = []
        try:
            null = os.open(os.devnull, os.O_RDONLY)
            hog.append(null)
            while hog[-1] < 1100:
                hog.append(os.dup(null))
            w, r = self.pair(records=True, length=256, max_record=100, lossless=True)
            self.assertGreater(w.fileno(), 1024)
            n = 0
            while True:
                try:
                    w.push(b"x" * 8)
                except errors.BufferFull:
                    break
                n += 1
            problems = []

            async def run():
                loop = asyncio.get_running_loop()
                loop.set_exception_handler(lambda l, ctx: problems.append(ctx))
                loop.call_later(0.1, r.popitem)
                cpu = time.process_time()
                await w.push_async(b"y" * 8, timeout=5)
                return time.process_time() - cpu

            cpu = asyncio.run(run())
            self.assertEqual(problems, [])
            self.assertLess(cpu, 1.0)  # woken, not spinning for 5 s
            self.assertEqual(r.popmany(1000), [b"x" * 8] * (n - 1) + [b"y" * 8])
        finally:
            for fd in hog:
                os.close(fd)
            if soft != resource.RLIM_INFINITY and soft < want:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


    def test_cleanup_between_pop_and_wait(self):
        # cleanup() from another thread after pop_async found nothing and
        # before it waits on the handle: BufferClosed, never a wait on a
        # closed (or reused) fd.
        name = ring_name("acr")
        self.make(name, create=True, item_size=4, length=16)
        keep = []

        class Preempted(SharedCircularBuffer):
            hit = False

            def popitem(self):
                x = super().popitem()
                if x is None and not self.hit:
                    self.hit = True
                    t = threading.Thread(target=self.cleanup)
                    t.start()
                    t.join()
                    keep.append(os.pipe())  # takes the closed fd's number
                return x

        r = Preempted(name)

        async def run():
            with self.assertRaises(errors.BufferClosed):
                await asyncio.wait_for(r.pop_async(), 5)

        try:
            asyncio.run(run())
        finally:
            for a, b in keep:
                os.close(a)
                os.close(b)

    def test_loops_in_many_threads(self):
        # Room for every item: none is overwritten however far the loops
        # lag (a loaded machine, ASan), so each must come exactly once.
        w, r = self.pair(item_size=4, length=4096)
        errs, got, stop = [], [], threading.Event()

        def loop_thread():
            async def main():
                while not stop.is_set():
                    try:
                        x = await r.pop_async(timeout=0.001)
                    except Exception as e:
                        errs.append(e)
                        return
                    if x is not None:
                        got.append(x)

            asyncio.run(main())

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        ts = [threading.Thread(target=loop_thread) for _ in range(6)]
        try:
            for t in ts:
                t.start()
            for i in range(2000):
                w.push(i)
                if i % 20 == 0:
                    time.sleep(0.001)
            deadline = time.monotonic() + 10
            while r.usage and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            for t in ts:
                t.join(10)
            sys.setswitchinterval(old)
        self.assertEqual(errs, [])
        self.assertEqual(sorted(got), list(range(2000)))  # each once


_ECHO_RECORDS = textwrap.dedent("""
    import asyncio, sys
    from shared_cbuff import SharedCircularBuffer
    a, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ra = SharedCircularBuffer(a)
    wb = SharedCircularBuffer(b, create=True, records=True, length=256,
                              max_record=100, lossless=True)
    print("ready", flush=True)

    async def echo():
        for _ in range(n):
            x = await ra.pop_async(10)
            if x is None:
                return 3
            await wb.push_async(x, timeout=10)
        while wb.usage:  # wait for the parent to read it all
            await asyncio.sleep(0.01)
        return 0

    code = asyncio.run(echo())
    ra.cleanup()
    wb.cleanup()
    sys.exit(code)
""")


if __name__ == "__main__":
    unittest.main()
