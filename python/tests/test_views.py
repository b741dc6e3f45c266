"""Records in place: peek() and reserve() views."""
import unittest

from shared_cbuff import SharedCircularBuffer, View, errors

try:
    from .util import Buffers, ring_name
except ImportError:  # run as a script
    from util import Buffers, ring_name

try:
    import numpy
except ImportError:  # optional
    numpy = None


class Base(Buffers):
    TAG = "view"


class TestPeek(Base):
    def test_peek_in_place(self):
        w, r = self.pair(records=True, length=4096, max_record=100)
        with r.peek() as view:
            self.assertIsNone(view)  # nothing yet
        w.push(b"first")
        w.push(b"second")
        with r.peek() as view:
            self.assertIsInstance(view, memoryview)
            self.assertTrue(view.readonly)
            self.assertEqual(bytes(view), b"first")
            self.assertEqual(view[1:3].tobytes(), b"ir")
            with self.assertRaises(TypeError):
                view[0] = 65
            with self.assertRaises(errors.InvalidArgument) as cm:
                r.popitem()  # a record is peeked
            self.assertIn("peeked", str(cm.exception))
            with self.assertRaises(ValueError):
                r.peek()  # one at a time
        with self.assertRaises(ValueError):
            bytes(view)  # released at the end of the block
        with self.assertRaises(ValueError):
            view[0]
        self.assertEqual(r.popitem(), b"second")  # "first" was consumed
        self.assertEqual(r.lost, 0)

    def test_peek_timeout(self):
        w, r = self.pair(records=True)
        with r.peek(0.05) as view:
            self.assertIsNone(view)
        w.push(b"x")
        with r.peek(timeout=1) as view:
            self.assertEqual(bytes(view), b"x")

    def test_overrun(self):
        w, r = self.pair(records=True, length=1024, max_record=100)
        w.push(b"a" * 100)
        with self.assertRaises(errors.Overrun) as cm:
            with r.peek() as view:
                self.assertEqual(bytes(view), b"a" * 100)
                for _ in range(30):  # the writer laps the reader
                    w.push(b"b" * 100)
        self.assertEqual(cm.exception.code, -17)
        self.assertGreaterEqual(r.lost, 1)
        with self.assertRaises(ValueError):
            bytes(view)
        got = r.popmany(100)
        self.assertTrue(got and all(g == b"b" * 100 for g in got))
        self.assertEqual(len(got) + r.lost, 31)

    def test_exception_in_block_still_consumes(self):
        w, r = self.pair(records=True)
        w.push(b"one")
        w.push(b"two")
        with self.assertRaises(KeyError):
            with r.peek() as view:
                raise KeyError(bytes(view))
        self.assertEqual(r.popitem(), b"two")

    def test_fixed_size_ring(self):
        w, r = self.pair(item_size=4, length=8)
        w.push(0x01020304)
        with r.peek() as view:
            self.assertEqual(bytes(view), b"\x01\x02\x03\x04")
        self.assertIsNone(r.popitem())

    def test_writer_cannot_peek(self):
        w, r = self.pair(records=True)
        with self.assertRaises(errors.ReadOperationsForbidden):
            w.peek()
        with self.assertRaises(errors.WriteOperationsForbidden):
            r.reserve(4)

    def test_cleanup_refused_while_a_view_lives(self):
        w, r = self.pair(records=True)
        w.push(b"kept")
        with r.peek() as view:
            part = view[1:]  # a second buffer over the record
        with self.assertRaises(ValueError):
            bytes(view)
        with self.assertRaises(BufferError):
            r.cleanup()
        self.assertFalse(r.closed)
        part.release()
        r.cleanup()
        self.assertTrue(r.closed)

    def test_unentered_view_after_cleanup(self):
        w, r = self.pair(records=True)
        w.push(b"abc")
        v = r.peek()
        r.cleanup()
        with self.assertRaises(ValueError):
            with v as view:
                bytes(view)
        del v


class TestReserve(Base):
    def test_reserve_commit(self):
        w, r = self.pair(records=True, length=4096, max_record=100)
        with w.reserve(10) as view:
            self.assertIsInstance(view, View)
            self.assertEqual(len(view), 10)
            self.assertFalse(view.readonly)
            self.assertEqual(view.nbytes, 10)
            view[:] = b"0123456789"
            view[0] = ord("X")
            self.assertEqual(view[0], ord("X"))
            self.assertEqual(view.tobytes(), b"X123456789")
            self.assertIsNone(r.popitem())  # nothing published before the end
            with self.assertRaises(errors.InvalidArgument) as cm:
                w.push(b"not now")
            self.assertIn("reserved", str(cm.exception))
            with self.assertRaises(ValueError):
                w.reserve(5)
        self.assertEqual(r.popitem(), b"X123456789")
        with self.assertRaises(ValueError):
            view[0]
        with self.assertRaises(ValueError):
            memoryview(view)
        with self.assertRaises(ValueError):
            view.commit(1)

    def test_commit_shorter(self):
        w, r = self.pair(records=True, length=4096, max_record=100)
        with w.reserve(100) as view:
            mv = memoryview(view)
            mv[:5] = b"hello"
            mv.release()
            view.commit(5)
        self.assertEqual(r.popitem(), b"hello")
        with w.reserve(8) as view:
            with self.assertRaises(ValueError):
                view.commit(9)
            with self.assertRaises(ValueError):
                view.commit(-1)
            with self.assertRaises(TypeError):
                view.commit("3")
            view[:] = b"abcdefgh"
            view.commit(0)
        self.assertEqual(r.popitem(), b"")

    def test_discard_on_exception(self):
        w, r = self.pair(records=True)
        with self.assertRaises(RuntimeError):
            with w.reserve(4) as view:
                view[:] = b"lost"
                raise RuntimeError("no")
        self.assertIsNone(r.popitem())
        w.push(b"next")
        self.assertEqual(r.popitem(), b"next")

    def test_too_large_and_full(self):
        w, r = self.pair(records=True, length=256, max_record=100, lossless=True)
        with self.assertRaises(errors.RecordTooLarge):
            w.reserve(101)
        while True:
            try:
                w.push(b"f" * 40)
            except errors.BufferFull:
                break
        with self.assertRaises(errors.BufferFull):
            w.reserve(40)
        with self.assertRaises(errors.TimedOut):
            w.reserve(40, timeout=0.05)
        r.popitem()
        with w.reserve(40, timeout=1) as view:
            view[:] = b"g" * 40

    def test_fixed_size_ring(self):
        w, r = self.pair(item_size=4, length=8)
        with w.reserve(4) as view:
            view[:] = (258).to_bytes(4, "big")
        self.assertEqual(r.popitem(), 258)
        with self.assertRaises(ValueError):
            w.reserve(3)
        with w.reserve(4) as view:
            view[:] = b"\0\0\0\1"
            with self.assertRaises(ValueError):
                view.commit(2)
        self.assertEqual(r.popitem(), 1)

    @unittest.skipIf(numpy is None, "NumPy not installed")
    def test_numpy_over_views(self):
        w, r = self.pair(records=True, length=8192, max_record=800)
        with w.reserve(800) as view:
            a = numpy.frombuffer(view, dtype=numpy.float64)
            a[:] = numpy.arange(100)
            del a
        with r.peek() as view:
            b = numpy.frombuffer(view, dtype=numpy.float64)
            self.assertEqual(float(b.sum()), float(sum(range(100))))
            del b

    def test_reserve_view_cleanup_refused(self):
        w, r = self.pair(records=True)
        with w.reserve(8) as view:
            kept = memoryview(view)
            with self.assertRaises(BufferError):
                w.cleanup()
        kept.release()
        r.cleanup()
        w.cleanup()

    def test_cleanup_ends_an_open_reservation(self):
        w, r = self.pair(records=True)
        v = w.reserve(8)
        r.cleanup()
        w.cleanup()
        with self.assertRaises(ValueError):
            v[0] = 1
        with self.assertRaises(ValueError):
            with v:
                pass


if __name__ == "__main__":
    unittest.main()
