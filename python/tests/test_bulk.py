"""Bulk calls on fixed-size rings: push_many, popmany, pop_into."""
import array
import unittest

from shared_cbuff import SharedCircularBuffer, errors

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name

try:
    import numpy
except ImportError:  # optional
    numpy = None


class TestBulk(unittest.TestCase):
    def setUp(self):
        name = ring_name("bulk")
        self.w = SharedCircularBuffer(name, create=True, item_size=4, length=64)
        self.r = SharedCircularBuffer(name)

    def tearDown(self):
        self.r.cleanup()
        self.w.cleanup()

    def test_push_many_ints(self):
        self.assertEqual(self.w.push_many(range(10)), 10)
        self.assertEqual(self.w.push_many([2**32 - 1]), 1)
        self.assertEqual(self.w.push_many([]), 0)
        self.assertEqual(self.r.popmany(100), list(range(10)) + [2**32 - 1])
        with self.assertRaises(OverflowError):
            self.w.push_many([1, 2**32])
        with self.assertRaises(TypeError):
            self.w.push_many([1, "2"])
        with self.assertRaises(TypeError):
            self.w.push_many(5)
        self.assertEqual(self.r.popmany(10), [])  # nothing of a failed call went in

    def test_push_many_buffer(self):
        raw = b"".join(i.to_bytes(4, "big") for i in range(20))
        self.assertEqual(self.w.push_many(raw), 20)
        self.assertEqual(self.w.push_many(bytearray(raw[:8])), 2)
        self.assertEqual(self.w.push_many(memoryview(raw)[4:12]), 2)
        self.assertEqual(self.r.popmany(100), list(range(20)) + [0, 1, 1, 2])
        with self.assertRaises(ValueError):
            self.w.push_many(b"abc")  # not whole items
        self.assertEqual(self.w.push_many(b""), 0)

    def test_popmany(self):
        for i in range(100):
            self.w.push(i)
        got = self.r.popmany(1000)  # the ring keeps 64
        self.assertEqual(got, list(range(36, 100)))
        self.assertEqual(self.r.lost, 36)
        self.assertEqual(self.r.popmany(0), [])
        with self.assertRaises(ValueError):
            self.r.popmany(-1)
        with self.assertRaises(TypeError):
            self.r.popmany(2.0)

    def test_pop_into(self):
        self.w.push_many(range(5))
        buf = bytearray(12)  # room for three items
        self.assertEqual(self.r.pop_into(buf), 3)
        self.assertEqual(buf, b"".join(i.to_bytes(4, "big") for i in range(3)))
        big = bytearray(100)
        self.assertEqual(self.r.pop_into(big), 2)
        self.assertEqual(self.r.pop_into(big), 0)
        with self.assertRaises(ValueError):
            self.r.pop_into(bytearray(3))  # not one item
        a = array.array("I", [0] * 4)
        self.w.push_many([7, 8])
        self.assertEqual(self.r.pop_into(a), 2)
        self.assertEqual(bytes(a)[:8], b"\0\0\0\x07\0\0\0\x08")

    @unittest.skipIf(numpy is None, "NumPy not installed")
    def test_pop_into_numpy(self):
        self.w.push_many(range(40))
        a = numpy.zeros(32, dtype=">u4")
        self.assertEqual(self.r.pop_into(a), 32)
        self.assertEqual(a.tolist(), list(range(32)))
        self.assertEqual(self.w.push_many(numpy.arange(3, dtype=">u4")), 3)
        self.assertEqual(self.r.popmany(20), list(range(32, 40)) + [0, 1, 2])

    def test_lossless_partial(self):
        name = ring_name("bull")
        w = SharedCircularBuffer(name, create=True, item_size=4, length=8, lossless=True)
        r = SharedCircularBuffer(name)
        try:
            self.assertEqual(w.push_many(range(20)), 8)
            with self.assertRaises(errors.BufferFull):
                w.push_many(range(3))
            self.assertEqual(r.popmany(3), [0, 1, 2])
            self.assertEqual(w.push_many(range(20), timeout=0), 3)
            with self.assertRaises(errors.TimedOut):
                w.push_many([1], timeout=0.05)
        finally:
            r.cleanup()
            w.cleanup()


if __name__ == "__main__":
    unittest.main()
