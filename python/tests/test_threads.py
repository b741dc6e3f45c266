"""Threads: waits release the GIL; one buffer used by several threads."""
import os
import threading
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name


class TestThreads(unittest.TestCase):
    def setUp(self):
        self.name = ring_name("thr")
        self.w = SharedCircularBuffer(self.name, create=True, item_size=8, length=1024)
        self.r = SharedCircularBuffer(self.name)

    def tearDown(self):
        self.r.cleanup()
        self.w.cleanup()

    def test_push_while_another_thread_waits(self):
        # A thread waits in pop on its own handle; the main thread pushes
        # 10000 items meanwhile: the wait must not hold the GIL.
        other = ring_name("thro")
        w2 = SharedCircularBuffer(other, create=True, item_size=8, length=8)
        r2 = SharedCircularBuffer(other)
        got = []
        t = threading.Thread(target=lambda: got.append(r2.pop(10)))
        t.start()
        try:
            time.sleep(0.05)  # in its wait now
            start = time.monotonic()
            for i in range(10000):
                self.w.push(i)
            spent = time.monotonic() - start
            self.assertTrue(t.is_alive())  # still waiting, yet the pushes went on
            self.assertLess(spent, 5)
            self.assertEqual(self.r.popmany(2000)[-1], 9999)
            w2.push(42)
            t.join(10)
            self.assertEqual(got, [42])
        finally:
            t.join(10)
            r2.cleanup()
            w2.cleanup()

    def test_popitem_while_another_thread_waits_on_the_same_reader(self):
        got = []
        t = threading.Thread(target=lambda: got.append(self.r.pop(None)))
        t.start()
        time.sleep(0.05)
        start = time.monotonic()
        self.assertIsNone(self.r.popitem())  # no deadlock
        self.assertLess(time.monotonic() - start, 1.0)
        self.w.push(7)
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(got, [7])

    def test_many_threads_share_a_reader(self):
        n, threads, got = 4000, 4, []
        lock = threading.Lock()

        def reader():
            while True:
                x = self.r.pop(2)
                if x is None or x == n - 1:
                    if x is not None:
                        with lock:
                            got.append(x)
                    return
                with lock:
                    got.append(x)

        ts = [threading.Thread(target=reader) for _ in range(threads)]
        for t in ts:
            t.start()
        for i in range(n):
            self.w.push(i)
            if i % 500 == 0:
                time.sleep(0.001)
        for t in ts:
            t.join(20)
        self.assertEqual(sorted(got), sorted(set(got)))  # nothing twice
        self.assertEqual(len(got) + self.r.lost, n)

    def test_cleanup_while_waiting(self):
        errs = []

        def wait():
            try:
                self.r.pop(None)
            except errors.BufferClosed as e:
                errs.append(e)

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.05)
        self.r.cleanup()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual(len(errs), 1)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_fork_while_another_thread_holds_the_buffer(self):
        # The child inherits the buffer taken by a thread it does not have:
        # its calls are refused, its cleanup() forgets the parent's handle,
        # and every call after raises BufferClosed; none of them waits.
        t = threading.Thread(target=lambda: self.r.wait(timeout=1.0))
        t.start()
        time.sleep(0.05)  # t holds the handle inside a wait slice
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                try:
                    self.r.info()
                except errors.InvalidArgument:
                    self.r.cleanup()
                    try:
                        self.r.info()
                    except errors.BufferClosed:
                        try:
                            self.r.popitem()
                        except errors.BufferClosed:
                            code = 0
            finally:
                os._exit(code)
        try:
            deadline = time.monotonic() + 10
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if not done:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                self.fail("the forked child hung")
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        finally:
            t.join(5)
        self.w.push(5)  # the parent's buffer goes on
        self.assertEqual(self.r.popitem(), 5)


if __name__ == "__main__":
    unittest.main()
