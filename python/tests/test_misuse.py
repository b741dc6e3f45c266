"""Misuse that once crashed, hung or misled, kept as regressions."""
import asyncio
import os
import threading
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import Buffers, ring_name
except ImportError:  # run as a script
    from util import Buffers, ring_name


class TestMisuse(Buffers):
    def test_int_subclass_cannot_choose_the_bytes(self):
        class Evil(int):
            def to_bytes(self, *a, **k):
                return b"short"

        name = ring_name("evil")
        w = self.make(name, create=True, item_size=64, length=4)
        r = self.make(name)
        w.push(Evil(258))
        self.assertEqual(r.popitem(), 258)  # int.to_bytes itself was used

    def test_numbers_out_of_range(self):
        name = ring_name("range")
        for kw in ({"item_size": 2**32 + 8}, {"length": 2**64 + 4}, {"mode": 2**32 + 0o600},
                   {"lossless": True, "max_readers": 2**32 + 1}):
            with self.subTest(kw=kw):
                with self.assertRaises(OverflowError):
                    self.make(name, create=True, **kw)
        self.assertEqual(_scb.strerror(2**40), _scb.strerror(-1000))

    def test_name_with_nul(self):
        with self.assertRaises(ValueError):
            self.make(ring_name("nul") + "\0junk", create=True)

    def test_init_twice(self):
        name = ring_name("init")
        w = self.make(name, create=True)
        with self.assertRaises(RuntimeError):
            w.__init__(name, create=True)
        self.assertFalse(w.closed)

    def test_two_threads_peek_one_record(self):
        name = ring_name("dpk")
        w = self.make(name, create=True, records=True)
        r = self.make(name)
        results, start = [], threading.Barrier(2)

        def peek():
            start.wait()
            try:
                with r.peek(1) as view:
                    results.append(bytes(view) if view is not None else None)
                    time.sleep(0.05)
            except ValueError:
                results.append("busy")

        ts = [threading.Thread(target=peek) for _ in range(2)]
        for t in ts:
            t.start()
        time.sleep(0.05)
        w.push(b"only one")
        for t in ts:
            t.join(5)
        # Either the other thread found the record peeked, or it peeked
        # after the first released it and found nothing: never twice.
        self.assertEqual(results.count(b"only one"), 1, results)
        self.assertEqual(r.lost, 0)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_forked_child_is_refused_not_hung(self):
        name = ring_name("fkw")
        self.make(name, create=True)
        r = self.make(name)
        t = threading.Thread(target=lambda: r.pop(0.3))
        t.start()  # a thread of the parent holds the handle while it waits
        time.sleep(0.05)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                try:
                    r.wait(1)
                except errors.InvalidArgument:
                    code = 0
                r.cleanup()  # only forgets the handle
            finally:
                os._exit(code)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            self.fail("the child hung")
        t.join(5)
        self.assertEqual(st, 0)
        self.assertFalse(r.closed)

    def test_two_event_loops(self):
        name = ring_name("2lp")
        w = self.make(name, create=True, item_size=4, length=16)
        r = self.make(name)
        got = {}

        def run(key, timeout):
            got[key] = asyncio.run(r.pop_async(timeout))

        t1 = threading.Thread(target=run, args=("a", 0.3))
        t1.start()
        t1.join(5)  # a loop that waited and timed out
        t2 = threading.Thread(target=run, args=("b", 5))
        t2.start()
        time.sleep(0.1)
        w.push(7)
        t2.join(5)
        self.assertEqual(got, {"a": None, "b": 7})

    def test_cleanup_retried_removes_its_own_ring_only(self):
        # A writer's cleanup() refused (a view's buffer alive) removed its
        # ring's name already; another writer then made a ring of that
        # name, which the first one's later cleanup() must leave alone.
        name = ring_name("retry")
        w = SharedCircularBuffer(name, create=True, records=True, length=4096)
        with w.reserve(8) as v:
            kept = memoryview(v)
        with self.assertRaises(BufferError):
            w.cleanup()
        w2 = self.make(name, create=True, records=True, length=4096)
        w2.push(b"mine")
        kept.release()
        w.cleanup()
        self.assertTrue(w.closed)
        r = self.make(name)
        self.assertEqual(r.popitem(), b"mine")

    def test_record_ring_too_large_names_max_record(self):
        with self.assertRaises(ValueError) as cm:
            SharedCircularBuffer(ring_name("huge"), create=True, records=True, length=2**62)
        self.assertIn("max_record", str(cm.exception))

    def test_peek_entered_twice(self):
        w, r = self.pair_records()
        w.push(b"one")
        view = r.peek()
        mv = view.__enter__()
        with self.assertRaises(ValueError):
            view.__enter__()
        self.assertEqual(bytes(mv), b"one")
        view.__exit__(None, None, None)
        with self.assertRaises(ValueError):
            bytes(mv)  # released with the block

    def test_another_threads_view_is_named(self):
        w, r = self.pair_records()
        w.push(b"a")
        w.push(b"b")
        entered, leave, seen = threading.Event(), threading.Event(), []

        def hold():
            with r.peek():
                entered.set()
                leave.wait(5)

        t = threading.Thread(target=hold)
        t.start()
        entered.wait(5)
        try:
            with self.assertRaises(errors.InvalidArgument) as cm:
                r.popitem()
            seen.append(str(cm.exception))
        finally:
            leave.set()
            t.join(5)
        self.assertIn("another thread", seen[0])
        self.assertEqual(r.popitem(), b"b")

    def test_cleanup_interrupted_leaves_the_buffer_usable(self):
        # cleanup() interrupted before the handle closed (Ctrl-C while it
        # queued): the buffer is still open, and its coroutines still wait.
        name = ring_name("intc")
        w = self.make(name, create=True, item_size=4, length=8)

        class Interrupted(SharedCircularBuffer):
            once = True

            def _close(self):
                if self.once:
                    self.once = False
                    raise KeyboardInterrupt
                return super()._close()

        r = Interrupted(name)
        self.opened.append(r)
        with self.assertRaises(KeyboardInterrupt):
            r.cleanup()
        self.assertFalse(r.closed)

        async def run():
            asyncio.get_running_loop().call_later(0.05, w.push, 9)
            return await r.pop_async(5)

        self.assertEqual(asyncio.run(run()), 9)

    def pair_records(self):
        name = ring_name("rec")
        return self.make(name, create=True, records=True), self.make(name)


if __name__ == "__main__":
    unittest.main()
