"""Record rings: bytes of any length up to max_record, and bulk calls."""
import array
import os
import subprocess
import unittest

from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import Buffers, ring_name
except ImportError:  # run as a script
    from util import Buffers, ring_name

try:
    import numpy
except ImportError:  # optional
    numpy = None

HELPER = os.environ.get("SCB_PYHELPER")


def rec_len(i, max_record):
    """The length of record i, as tests/pyhelper makes them."""
    return (i * 7919) % (max_record + 1)


def rec(i, max_record):
    return bytes((i + j) & 255 for j in range(rec_len(i, max_record)))


class Base(Buffers):
    TAG = "rec"

    def pair(self, **kw):
        return super().pair(records=True, **kw)


class TestGeometry(Base):
    def test_defaults(self):
        w, r = self.pair()
        for b in (w, r):
            self.assertTrue(b.records)
            self.assertEqual(b.length, 65536)
            self.assertEqual(b.max_record, 65536 // 2 - 16)
            self.assertEqual(b.item_size, b.max_record)
        self.assertTrue(w.info()["records"])
        self.assertIn("max_record=32752", repr(w))

    def test_length_and_max_record(self):
        w, r = self.pair(length=4096, max_record=100)
        self.assertEqual((r.length, r.max_record), (4096, 100))
        w2, _ = self.pair(length=1024)
        self.assertEqual(w2.max_record, 1024 // 2 - 16)

    def test_bad_geometry(self):
        name = ring_name("bad")
        for kw in ({"length": 1001}, {"length": 64, "max_record": 100}, {"length": 16},
                   {"item_size": 8}, {"max_record": 0}):
            with self.subTest(kw=kw):
                with self.assertRaises(ValueError):
                    self.make(name, create=True, records=True, **kw)
        with self.assertRaises(ValueError):
            self.make(name, create=True, max_record=8)  # not a record ring
        self.assertFalse(os.path.exists("/dev/shm/scb." + name))

    def test_reader_checks(self):
        name = ring_name("chk")
        self.make(name, create=True, records=True, length=4096, max_record=100)
        self.make(name, records=True, max_record=100, length=4096).cleanup()
        for kw in ({"records": False}, {"max_record": 99}, {"length": 8192}):
            with self.subTest(kw=kw):
                with self.assertRaises(errors.GeometryMismatch) as cm:
                    self.make(name, **kw)
                self.assertIn(list(kw)[0], str(cm.exception))
        fixed = ring_name("fix")
        self.make(fixed, create=True, item_size=4, length=8)
        with self.assertRaises(errors.GeometryMismatch):
            self.make(fixed, records=True)


class TestPushPop(Base):
    def test_bytes_like(self):
        w, r = self.pair(length=4096, max_record=256)
        items = [b"hello", bytearray(b"world"), memoryview(b"xyz"), b"",
                 array.array("i", [1, 2, 3]), memoryview(b"abcdef")[1:4]]
        for x in items:
            self.assertIsNone(w.push(x))
        for x in items:
            got = r.popitem()
            self.assertIsInstance(got, bytes)
            self.assertEqual(got, bytes(x))
        self.assertIsNone(r.popitem())
        self.assertEqual(r.popmany(5), [])

    @unittest.skipIf(numpy is None, "NumPy not installed")
    def test_numpy_buffers(self):
        w, r = self.pair(length=4096, max_record=512)
        a = numpy.arange(50, dtype=numpy.float64)
        w.push(a)
        got = numpy.frombuffer(r.pop(0), dtype=numpy.float64)
        self.assertTrue((got == a).all())
        with self.assertRaises((BufferError, TypeError, ValueError)):
            w.push(a[::2])  # not contiguous

    def test_not_bytes(self):
        w, _ = self.pair()
        for x in (5, "text", None, [1, 2]):
            with self.subTest(x=x):
                with self.assertRaises(TypeError):
                    w.push(x)

    def test_record_sizes(self):
        w, r = self.pair(length=1024, max_record=100)
        w.push(b"x" * 100)
        with self.assertRaises(errors.RecordTooLarge) as cm:
            w.push(b"x" * 101)
        self.assertEqual(cm.exception.code, _scb.EMSGSIZE)
        self.assertEqual(r.pop(0), b"x" * 100)
        self.assertIsNone(r.pop(0))

    def test_mixed_lengths_in_order(self):
        w, r = self.pair(length=8192, max_record=300, lossless=True)
        for start in range(0, 2000, 20):
            for i in range(start, start + 20):
                w.push(rec(i, 300))
            for i in range(start, start + 20):
                self.assertEqual(r.popitem(), rec(i, 300))
        self.assertEqual(r.lost, 0)

    def test_overwrite_accounting(self):
        w, r = self.pair(length=2048, max_record=200)
        pushed = 3000
        got = []
        for i in range(pushed):
            w.push(i.to_bytes(4, "big") + b"x" * (i % 150))
            if i % 37 == 0:
                got.extend(r.popmany(3))
        got.extend(r.popmany(pushed))
        self.assertGreater(r.lost, 0)
        self.assertEqual(len(got) + r.lost, pushed)
        self.assertEqual(w.info()["pushed"], pushed)
        index = [int.from_bytes(g[:4], "big") for g in got]
        self.assertEqual(index, sorted(set(index)))  # in order, none twice
        for i, g in zip(index, got):
            self.assertEqual(len(g), 4 + i % 150)
        self.assertEqual(index[-1], pushed - 1)

    def test_lossless_full(self):
        w, r = self.pair(length=256, max_record=100, lossless=True)
        n = 0
        with self.assertRaises(errors.BufferFull) as cm:
            while True:
                w.push(b"r" * 40)
                n += 1
        self.assertEqual(cm.exception.code, _scb.EAGAIN)
        self.assertGreater(n, 0)
        with self.assertRaises(errors.TimedOut):
            w.push(b"r" * 40, timeout=0.05)
        self.assertEqual(r.popitem(), b"r" * 40)
        w.push(b"s" * 40, timeout=0.05)
        self.assertEqual(len(r.popmany(100)), n)

    def test_pop_timeout(self):
        w, r = self.pair()
        self.assertIsNone(r.pop(0.05))
        self.assertIsNone(r.pop(timeout=0))
        w.push(b"late")
        self.assertEqual(r.pop(1), b"late")

    def test_pop_into(self):
        w, r = self.pair(length=4096, max_record=200)
        buf = bytearray(16)
        self.assertIsNone(r.pop_into(buf))
        w.push(b"short")
        self.assertEqual(r.pop_into(buf), 5)
        self.assertEqual(bytes(buf[:5]), b"short")
        w.push(b"q" * 100)
        with self.assertRaises(errors.RecordTooLarge) as cm:
            r.pop_into(buf)
        self.assertIn("100", str(cm.exception))
        self.assertEqual(r.usage > 0, True)  # nothing consumed
        big = bytearray(200)
        self.assertEqual(r.pop_into(memoryview(big)), 100)
        self.assertEqual(bytes(big[:100]), b"q" * 100)
        w.push(b"")
        self.assertEqual(r.pop_into(buf), 0)
        with self.assertRaises(TypeError):
            r.pop_into(b"read-only")
        with self.assertRaises(TypeError):
            r.pop_into(None)
        if numpy is not None:
            a = numpy.zeros(64, dtype=numpy.uint8)
            w.push(bytes(range(10)))
            self.assertEqual(r.pop_into(a), 10)
            self.assertEqual(list(a[:10]), list(range(10)))

    def test_push_many_records(self):
        w, r = self.pair(length=4096, max_record=100)
        self.assertEqual(w.push_many([b"a", bytearray(b"bb"), memoryview(b"ccc")]), 3)
        self.assertEqual(w.push_many(iter([])), 0)
        self.assertEqual(w.push_many(b"x" * 3 for _ in range(4)), 4)
        self.assertEqual(r.popmany(10), [b"a", b"bb", b"ccc"] + [b"xxx"] * 4)
        with self.assertRaises(TypeError):
            w.push_many(b"one record")
        with self.assertRaises(TypeError):
            w.push_many([b"ok", 5])
        with self.assertRaises(errors.RecordTooLarge):
            w.push_many([b"ok", b"y" * 101])
        self.assertEqual(r.popmany(10), [])  # a bad record pushes nothing
        self.assertEqual(w.info()["pushed"], 7)

    def test_push_many_lossless_partial(self):
        w, r = self.pair(length=256, max_record=100, lossless=True)
        n = w.push_many([b"z" * 40] * 20)
        self.assertGreater(n, 0)
        self.assertLess(n, 20)
        with self.assertRaises(errors.BufferFull):
            w.push_many([b"z" * 40])
        self.assertEqual(len(r.popmany(100)), n)

    def test_fixed_ring_calls_refused(self):
        w, r = self.pair()
        with self.assertRaises(errors.InvalidArgument):
            w.push_bytes(b"abcd")
        with self.assertRaises(errors.InvalidArgument):
            r.popmany_bytes(2)

    def test_iterate(self):
        w, r = self.pair()
        for x in (b"1", b"22", b"333"):
            w.push(x)
        self.assertEqual(list(r), [b"1", b"22", b"333"])


@unittest.skipUnless(HELPER and os.path.exists(HELPER),
                     "SCB_PYHELPER (tests/pyhelper) not set: run by make check")
class TestRecordsWithC(unittest.TestCase):
    N = 3000
    MAX = 300

    def test_c_writes_python_reads(self):
        name = ring_name("crw")
        p = subprocess.Popen([HELPER, "writerec", name, str(self.MAX), "4096", str(self.N)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "created")
            r = SharedCircularBuffer(name)
            try:
                self.assertTrue(r.records)
                for i in range(self.N):
                    self.assertEqual(r.pop(10), rec(i, self.MAX), i)
                self.assertEqual(r.lost, 0)
                # The writer leaves once this reader, still registered,
                # has read everything.
                self.assertEqual(p.wait(60), 0, p.stderr.read())
            finally:
                r.cleanup()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
            _scb.unlink(name, None)

    def test_python_writes_c_reads(self):
        name = ring_name("pwr")
        with SharedCircularBuffer(name, create=True, records=True, length=4096,
                                  max_record=self.MAX, lossless=True) as w:
            p = subprocess.Popen([HELPER, "readrec", name, str(self.N)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "ready")
                i = 0
                while i < self.N:  # mixed: push, push_many, reserve
                    if i % 3 == 0:
                        w.push(rec(i, self.MAX), timeout=10)
                        i += 1
                    elif i % 3 == 1:
                        i += w.push_many([rec(i, self.MAX)], timeout=10)
                    else:
                        data = rec(i, self.MAX)
                        with w.reserve(self.MAX, timeout=10) as v:
                            v[:len(data)] = data
                            v.commit(len(data))
                        i += 1
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(out.split()[-2:], ["ok", str(self.N)])
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()


if __name__ == "__main__":
    unittest.main()
