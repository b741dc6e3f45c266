"""Views waited for in threads: a peek or a reserve that waits releases the
GIL and lets other threads use the same buffer between its slices."""
import threading
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name


class TestViewWaitsInThreads(unittest.TestCase):
    def setUp(self):
        self.name = ring_name("gil")
        self.w = SharedCircularBuffer(self.name, create=True, records=True, length=1024,
                                      max_record=100, lossless=True)
        self.r = SharedCircularBuffer(self.name)
        other = ring_name("gilo")
        self.w2 = SharedCircularBuffer(other, create=True, item_size=8, length=1024)
        self.r2 = SharedCircularBuffer(other)

    def tearDown(self):
        for b in (self.r2, self.w2, self.r, self.w):
            b.cleanup()

    def busy(self, n=10000):
        """n pushes and pops on another ring; seconds spent."""
        start = time.monotonic()
        for i in range(n):
            self.w2.push(i)
        got = self.r2.popmany(n)
        self.assertEqual(got[-1], n - 1)
        return time.monotonic() - start

    def test_peek_waiting_in_a_thread(self):
        got = []

        def peek():
            with self.r.peek(timeout=None) as view:
                got.append(bytes(view))

        t = threading.Thread(target=peek)
        t.start()
        try:
            time.sleep(0.05)  # in its wait
            self.assertLess(self.busy(), 5)
            self.assertTrue(t.is_alive())
            start = time.monotonic()
            self.assertIsNone(self.r.popitem())  # the same reader, between slices
            self.assertLess(time.monotonic() - start, 1.0)
            self.w.push(b"wake")
            t.join(10)
            self.assertFalse(t.is_alive())
            self.assertEqual(got, [b"wake"])
            self.assertIsNone(self.r.popitem())  # consumed by the peek
            self.assertEqual(self.r.lost, 0)
        finally:
            self.w.push(b"unblock")  # if the thread still waits
            t.join(10)

    def test_reserve_waiting_in_a_thread(self):
        n = 0
        while True:
            try:
                self.w.push(b"f" * 100)
            except errors.BufferFull:
                break
            n += 1
        done = []

        def reserve():
            with self.w.reserve(100, timeout=None) as view:
                view[:] = b"R" * 100
            done.append(True)

        t = threading.Thread(target=reserve)
        t.start()
        try:
            time.sleep(0.05)  # in its wait
            self.assertLess(self.busy(), 5)
            self.assertTrue(t.is_alive())
            self.assertEqual(done, [])
            self.assertEqual(self.r.popitem(), b"f" * 100)  # room for it
            t.join(10)
            self.assertFalse(t.is_alive())
            self.assertEqual(done, [True])
            self.assertEqual(self.r.popmany(100), [b"f" * 100] * (n - 1) + [b"R" * 100])
        finally:
            self.r.popmany(100)
            t.join(10)


if __name__ == "__main__":
    unittest.main()
