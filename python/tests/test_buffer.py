"""Every method, attribute and exception of SharedCircularBuffer."""
import os
import subprocess
import sys
import threading
import time
import unittest

import shared_cbuff
from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import Buffers, ring_name
except ImportError:  # run as a script
    from util import Buffers, ring_name


def exists(name, backend=None):
    """True if the ring can be opened."""
    try:
        SharedCircularBuffer(name, backend=backend).cleanup()
        return True
    except errors.BufferNotFound:
        return False


class Base(Buffers):
    pass


class TestOriginalAPI(Base):
    def test_readme_example(self):
        name = ring_name()
        w = self.make(name, create=True, length=5)
        r = self.make(name, length=5)
        w.push(50); w.push(10); w.push(20); w.push(30)
        self.assertEqual(r.popitem(), 50)
        self.assertEqual(r.popmany(3), [10, 20, 30])
        self.assertIsNone(r.popitem())
        self.assertEqual(r.popmany(3), [])

    def test_defaults(self):
        w, r = self.pair()
        self.assertEqual((w.item_size, w.length), (1, 2))
        self.assertEqual((r.item_size, r.length), (1, 2))
        self.assertEqual(w.name, r.name)
        self.assertTrue(w.is_writer)
        self.assertFalse(r.is_writer)
        self.assertFalse(w.lossless)

    def test_length_below_two(self):
        for bad in (1, 0, -3):
            with self.assertRaises(ValueError):
                SharedCircularBuffer(ring_name(), create=True, length=bad)
            with self.assertRaises(ValueError):
                SharedCircularBuffer(ring_name(), length=bad)
        with self.assertRaises(ValueError):
            SharedCircularBuffer(ring_name(), create=True, item_size=0)
        with self.assertRaises(TypeError):
            SharedCircularBuffer(ring_name(), create=True, length="5")

    def test_push_big_endian(self):
        w, r = self.pair(item_size=3, length=4)
        w.push(0x010203)
        self.assertEqual(r.pop_bytes(), b"\x01\x02\x03")
        w.push(0)
        w.push(0xFFFFFF)
        self.assertEqual(r.popmany(5), [0, 0xFFFFFF])
        with self.assertRaises(OverflowError):
            w.push(0x1000000)
        with self.assertRaises(OverflowError):
            w.push(-1)
        with self.assertRaises(TypeError):
            w.push("1")

    def test_large_items(self):
        w, r = self.pair(item_size=32, length=3)
        big = (1 << 255) + 12345
        w.push(big)
        self.assertEqual(r.popitem(), big)

    def test_overwrite_keeps_newest(self):
        w, r = self.pair(length=4)
        for i in range(10):
            w.push(i)
        self.assertEqual(r.usage, 4)
        self.assertEqual(r.popmany(10 ** 12), [6, 7, 8, 9])  # n larger than the ring
        self.assertEqual(r.lost, 6)

    def test_usage(self):
        w, r = self.pair(length=8)
        self.assertEqual(r.usage, 0)
        for i in range(3):
            w.push(i)
        self.assertEqual(r.usage, 3)
        self.assertEqual(w.usage, 3)
        r.popitem()
        self.assertEqual(r.usage, 2)

    def test_readers_independent(self):
        name = ring_name()
        w = self.make(name, create=True, length=4)
        r1 = self.make(name)
        r2 = self.make(name)
        w.push(7)
        w.push(8)
        self.assertEqual(r1.popmany(2), [7, 8])
        self.assertEqual(r2.popitem(), 7)
        self.assertEqual(r1.usage, 0)
        self.assertEqual(r2.usage, 1)

    def test_str(self):
        w, r = self.pair(length=3)
        self.assertEqual(str(w), "SharedCircularBuffer (%s)" % w.name)
        self.assertEqual(str(r), "SharedCircularBuffer (%s) (0.00%% full)" % r.name)
        w.push(1)
        self.assertEqual(str(r), "SharedCircularBuffer (%s) (33.33%% full)" % r.name)
        w.push(2)
        self.assertEqual(str(r), "SharedCircularBuffer (%s) (66.67%% full)" % r.name)
        w.push(3)
        self.assertEqual(str(r), "SharedCircularBuffer (%s) (100.00%% full)" % r.name)
        self.assertIn("reader", repr(r))
        self.assertIn("writer", repr(w))

    def test_write_forbidden(self):
        w, r = self.pair()
        with self.assertRaises(errors.WriteOperationsForbidden) as cm:
            r.push(1)
        self.assertIsInstance(cm.exception, errors.CBuffException)
        self.assertEqual(cm.exception.code, _scb.ENOTWRITER)
        self.assertEqual(cm.exception.strerror, "operation needs the writer handle")
        with self.assertRaises(errors.WriteOperationsForbidden):
            r.push_bytes(b"\x01")

    def test_read_forbidden(self):
        w, r = self.pair()
        for call in (w.popitem, lambda: w.popmany(2), lambda: w.pop(0), w.pop_bytes,
                     lambda: w.popmany_bytes(1), lambda: list(w)):
            with self.assertRaises(errors.ReadOperationsForbidden) as cm:
                call()
            self.assertEqual(cm.exception.code, _scb.ENOTREADER)

    def test_already_created(self):
        w, r = self.pair()
        with self.assertRaises(errors.BufferAlreadyCreated) as cm:
            SharedCircularBuffer(w.name, create=True)
        self.assertEqual(cm.exception.code, _scb.EEXIST)
        self.assertEqual(cm.exception.strerror, "a ring of that name exists")
        self.assertIsInstance(cm.exception, FileExistsError)

    def test_not_found(self):
        with self.assertRaises(errors.BufferNotFound) as cm:
            SharedCircularBuffer(ring_name())
        e = cm.exception
        self.assertIsInstance(e, errors.CBuffException)
        self.assertIsInstance(e, FileNotFoundError)  # as the original package
        self.assertEqual(e.code, _scb.ENOENT)
        self.assertEqual(e.strerror, "no ring of that name")
        self.assertIn("no ring of that name", str(e))

    def test_invalid_name(self):
        with self.assertRaises(errors.CBuffException) as cm:
            SharedCircularBuffer("", create=True)
        self.assertIn(cm.exception.code, (_scb.EINVAL, _scb.ENAMETOOLONG))
        with self.assertRaises(errors.CBuffException) as cm:
            SharedCircularBuffer("x" * 300, create=True)
        self.assertIn(cm.exception.code, (_scb.EINVAL, _scb.ENAMETOOLONG))
        with self.assertRaises(TypeError):
            SharedCircularBuffer(b"bytes")

    def test_every_code_has_a_class(self):
        for code in range(-15, 0):
            text = _scb.strerror(code)
            e = errors.exception_for(code, text, "ctx")
            self.assertIsInstance(e, errors.CBuffException)
            self.assertIsNot(type(e), errors.CBuffException)
            self.assertEqual(e.code, code)
            self.assertEqual(e.strerror, text)
            self.assertEqual(str(e), "ctx: " + text)
        self.assertEqual(len({type(errors.exception_for(c, "")) for c in range(-15, 0)}), 15)

    def test_cleanup(self):
        name = ring_name()
        w = SharedCircularBuffer(name, create=True)
        r = SharedCircularBuffer(name)
        r.cleanup()
        r.cleanup()  # no-op
        self.assertTrue(r.closed)
        self.assertTrue(exists(name))  # a reader's cleanup leaves the ring
        with self.assertRaises(errors.BufferClosed):
            r.popitem()
        with self.assertRaises(errors.BufferClosed):
            r.usage
        w.cleanup()
        self.assertFalse(exists(name))  # the writer's removes it
        w.cleanup()
        with self.assertRaises(errors.BufferClosed):
            w.push(1)

    def test_cleanup_at_exit(self):
        name = ring_name("exit")
        code = (
            "from shared_cbuff import SharedCircularBuffer as S\n"
            "w = S(%r, create=True, length=3)\n"
            "r = S(%r)\n"
            "w.push(1)\n"
            "print(r.popitem())\n" % (name, name)
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "1\n")
        self.assertEqual(out.stderr, "")
        self.assertFalse(exists(name), "the writer's ring survived interpreter exit")


class TestLibrary(unittest.TestCase):
    def run_py(self, code, **env):
        e = dict(os.environ)
        e.update(env)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=e, timeout=60)

    def test_errors_module_is_pure(self):
        # shared_cbuff/errors.py alone does not need libscb.
        code = ("import importlib.util, sys\n"
                "spec = importlib.util.spec_from_file_location('e', %r)\n"
                "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
                "print(issubclass(m.BufferAlreadyCreated, m.CBuffException))\n"
                % errors.__file__)
        out = self.run_py(code, LD_LIBRARY_PATH="/nonexistent")
        self.assertEqual(out.stdout, "True\n", out.stderr)

    def test_dropped_writer_removes_its_ring_at_exit(self):
        # A writer dropped without cleanup() stays open until the
        # interpreter exits, which cleans it up and removes its ring.
        name = ring_name("drop")
        code = ("import gc, sys\n"
                "from shared_cbuff import SharedCircularBuffer\n"
                "def make():\n"
                "    SharedCircularBuffer(sys.argv[1], create=True).push(1)\n"
                "make(); gc.collect()\n"
                "r = SharedCircularBuffer(sys.argv[1]); print(r.popitem())\n")
        try:
            out = subprocess.run([sys.executable, "-c", code, name], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.stdout, "1\n", out.stderr)
            self.assertFalse(exists(name))
        finally:
            _scb.unlink(name, None)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_forked_child_leaves_the_ring(self):
        name = ring_name("fork")
        w = SharedCircularBuffer(name, create=True)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    w.cleanup()  # the child's copy: must not remove the ring
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            self.assertTrue(exists(name))
            w.push(1)
        finally:
            w.cleanup()
        self.assertFalse(exists(name))


class TestReaderGeometry(Base):
    def test_from_ring(self):
        name = ring_name()
        self.make(name, create=True, item_size=5, length=9)
        r = self.make(name)
        self.assertEqual((r.item_size, r.length), (5, 9))

    def test_checked(self):
        name = ring_name()
        self.make(name, create=True, item_size=5, length=9)
        self.make(name, item_size=5, length=9)
        with self.assertRaises(errors.GeometryMismatch) as cm:
            SharedCircularBuffer(name, length=10)
        self.assertIn("length 9, not 10", str(cm.exception))
        self.assertIsInstance(cm.exception, errors.CBuffException)
        self.assertEqual(cm.exception.code, _scb.EINVAL)
        with self.assertRaises(errors.GeometryMismatch) as cm:
            SharedCircularBuffer(name, item_size=4)
        self.assertIn("item_size 5, not 4", str(cm.exception))
        with self.assertRaises(errors.GeometryMismatch) as cm:
            SharedCircularBuffer(name, lossless=True)
        self.assertIn("lossless", str(cm.exception))


class TestBeyond(Base):
    def test_push_pop_bytes(self):
        w, r = self.pair(item_size=2, length=8)
        self.assertEqual(w.push_bytes(b"ab"), 1)
        self.assertEqual(w.push_bytes(b"cdefgh"), 3)
        self.assertEqual(r.pop_bytes(), b"ab")
        self.assertEqual(r.popmany_bytes(2), b"cdef")
        self.assertEqual(r.popitem(), int.from_bytes(b"gh", "big"))
        self.assertIsNone(r.pop_bytes())
        self.assertEqual(r.popmany_bytes(4), b"")
        for bad in (b"", b"a", b"abc"):
            with self.assertRaises(ValueError):
                w.push_bytes(bad)
        w.push_bytes(bytearray(b"zz"))
        self.assertEqual(r.pop_bytes(timeout=0.01), b"zz")

    def test_lost(self):
        w, r = self.pair(length=2)
        self.assertEqual(r.lost, 0)
        self.assertEqual(w.lost, 0)
        for i in range(5):
            w.push(i)
        self.assertEqual(r.lost, 3)
        self.assertEqual(r.popmany(5), [3, 4])

    def test_pop_timeout(self):
        w, r = self.pair(length=4)
        t0 = time.monotonic()
        self.assertIsNone(r.pop(timeout=0))
        self.assertIsNone(r.pop(timeout=0.2))
        self.assertGreaterEqual(time.monotonic() - t0, 0.19)
        w.push(9)
        self.assertEqual(r.pop(timeout=0), 9)
        with self.assertRaises(ValueError):
            r.pop(timeout=-1)

    def test_pop_waits_for_push(self):
        w, r = self.pair(length=4)
        timer = threading.Timer(0.3, w.push, (42,))
        timer.start()
        try:
            self.assertEqual(r.pop(), 42)  # None: for ever
            timer2 = threading.Timer(0.1, w.push, (43,))
            timer2.start()
            self.assertEqual(r.pop(timeout=10), 43)
            timer2.join()
        finally:
            timer.join()

    def test_context_manager(self):
        name = ring_name()
        with SharedCircularBuffer(name, create=True, length=4) as w:
            with SharedCircularBuffer(name) as r:
                w.push(3)
                self.assertEqual(r.popitem(), 3)
            self.assertTrue(r.closed)
            self.assertTrue(exists(name))
        self.assertTrue(w.closed)
        self.assertFalse(exists(name))

    def test_iteration(self):
        w, r = self.pair(length=8)
        self.assertEqual(list(r), [])
        for i in range(5):
            w.push(i)
        self.assertEqual(list(r), [0, 1, 2, 3, 4])
        w.push(5)
        self.assertEqual([x for x in r], [5])

    def test_lossless(self):
        name = ring_name()
        w = self.make(name, create=True, length=2, lossless=True)
        self.assertTrue(w.lossless)
        r = self.make(name, lossless=True)
        self.assertTrue(r.lossless)
        w.push(1)
        w.push(2)
        with self.assertRaises(errors.BufferFull) as cm:
            w.push(3)
        self.assertEqual(cm.exception.code, _scb.EAGAIN)
        self.assertIsInstance(cm.exception, errors.CBuffException)
        with self.assertRaises(errors.TimedOut) as cm:
            w.push(3, timeout=0.05)
        self.assertEqual(cm.exception.code, _scb.ETIMEDOUT)
        self.assertEqual(r.popitem(), 1)
        # Room for one of two: push_bytes pushes what fits.
        self.assertEqual(w.push_bytes(b"\x03\x04"), 1)
        timer = threading.Timer(0.2, r.popmany, (2,))
        timer.start()
        try:
            w.push(5, timeout=10)  # waits for the reader to make room
        finally:
            timer.join()
        self.assertEqual(r.popmany(5), [5])
        self.assertEqual(r.lost, 0)

    def test_lossless_reader_limit(self):
        name = ring_name()
        self.make(name, create=True, lossless=True, max_readers=1)
        self.make(name)
        with self.assertRaises(errors.ReaderLimit) as cm:
            SharedCircularBuffer(name)
        self.assertEqual(cm.exception.code, _scb.ELIMIT)

    def test_latest(self):
        w, _ = self.pair(length=4)
        w.push(1)
        r = self.make(w.name, latest=True)
        self.assertIsNone(r.popitem())
        w.push(2)
        self.assertEqual(r.popitem(), 2)

    def test_backends(self):
        names = shared_cbuff.backends()
        self.assertTrue(names)
        for backend in names:
            with self.subTest(backend=backend):
                name = ring_name(backend)
                w = self.make(name, create=True, backend=backend, item_size=2, length=4)
                r = self.make(name, backend=backend)
                self.assertEqual(w.backend, backend)
                self.assertEqual(r.backend, backend)
                w.push(513)
                self.assertEqual(r.popitem(), 513)
        with self.assertRaises(errors.NotSupported) as cm:
            SharedCircularBuffer(ring_name(), create=True, backend="nosuchbackend")
        self.assertEqual(cm.exception.code, _scb.ENOTSUP)

    def test_mode_and_info(self):
        name = ring_name()
        w = self.make(name, create=True, item_size=4, length=16, mode=0o640)
        r = self.make(name)
        w.push(1)
        info = r.info()
        self.assertEqual(info["name"], name)
        self.assertEqual(info["item_size"], 4)
        self.assertEqual(info["length"], 16)
        self.assertEqual(info["mode"], 0o640)
        self.assertEqual(info["pushed"], 1)
        self.assertEqual(info["usage"], 1)
        self.assertTrue(info["writer_alive"])
        self.assertEqual(info["writer_pid"], os.getpid())
        self.assertFalse(info["is_writer"])
        self.assertTrue(w.info()["is_writer"])
        with self.assertRaises(ValueError):
            SharedCircularBuffer(name, mode=0o600)

    def test_library(self):
        v = shared_cbuff.library_version()
        self.assertRegex(v, r"^\d+\.\d+\.\d+$")
        self.assertTrue(os.path.exists(shared_cbuff.library_path)
                        or not os.path.isabs(shared_cbuff.library_path))


if __name__ == "__main__":
    unittest.main()
