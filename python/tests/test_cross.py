"""Rings shared between C and Python, in separate processes.

The C side is tests/pyhelper (built by `make check`), found through the
SCB_PYHELPER environment variable; without it these tests are skipped."""
import os
import subprocess
import sys
import unittest

from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import ring_name
except ImportError:
    from util import ring_name

HELPER = os.environ.get("SCB_PYHELPER")
needs_helper = unittest.skipUnless(
    HELPER and os.path.exists(HELPER), "SCB_PYHELPER (tests/pyhelper) not set: run by make check"
)
TIMEOUT = 60


def helper(*args, **kw):
    return subprocess.Popen([HELPER] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def unlink(name):
    _scb.unlink(name, None)


@needs_helper
class TestCWriterPythonReader(unittest.TestCase):
    def test_c_writes_then_python_reads(self):
        # The C writer creates, pushes and exits; the ring stays.
        name = ring_name("cw")
        try:
            p = subprocess.run([HELPER, "write", name, "3", "7", "5"], capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            r = SharedCircularBuffer(name)  # geometry from the ring
            self.assertEqual((r.item_size, r.length), (3, 7))
            self.assertEqual(str(r), "SharedCircularBuffer (%s) (71.43%% full)" % name)
            self.assertEqual(r.popmany(10), [0, 1, 2, 3, 4])
            self.assertFalse(r.info()["writer_alive"])
            r.cleanup()
        finally:
            unlink(name)

    def test_concurrent_lossless(self):
        # The C writer pushes 20000 items through a ring of 64 while this
        # process reads them: nothing lost, all in order.
        name = ring_name("cwl")
        n = 20000
        p = helper("write", name, 4, 64, n, "lossless")
        try:
            self.assertEqual(p.stdout.readline(), "created\n")
            r = SharedCircularBuffer(name, item_size=4, length=64, lossless=True)
            got = []
            while len(got) < n:
                item = r.pop(timeout=10)
                self.assertIsNotNone(item, "timed out after %d items" % len(got))
                got.append(item)
                got.extend(r.popmany(n - len(got)))
            self.assertEqual(got, list(range(n)))
            self.assertEqual(r.lost, 0)
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            r.cleanup()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
            unlink(name)

    def test_overwrite_wraps(self):
        # 1000 one-byte items through a ring of 16: a reader opened afterwards
        # sees the last 16 (values mod 256); lost counts only what was
        # overwritten since it opened.
        name = ring_name("cwo")
        try:
            p = subprocess.run([HELPER, "write", name, "1", "16", "1000"], capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            with SharedCircularBuffer(name, item_size=1) as r:
                self.assertEqual(list(r), [i % 256 for i in range(984, 1000)])
                self.assertEqual(r.lost, 0)
        finally:
            unlink(name)


@needs_helper
class TestPythonWriterCReader(unittest.TestCase):
    def run_reader(self, n, item_size, length, lossless):
        name = ring_name("pw")
        with SharedCircularBuffer(name, create=True, item_size=item_size, length=length,
                                  lossless=lossless) as w:
            p = helper("read", name, n)
            try:
                self.assertEqual(p.stdout.readline(), "ready\n")
                mask = (1 << (8 * item_size)) - 1
                for i in range(n):
                    if lossless:
                        w.push(i & mask, timeout=10)
                    else:
                        w.push(i & mask)
                out, err = p.communicate(timeout=TIMEOUT)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(out, "ok %d\n" % n)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()
                p.stderr.close()

    def test_python_writes_c_reads(self):
        self.run_reader(100, 2, 128, False)

    def test_concurrent_lossless(self):
        self.run_reader(20000, 3, 32, True)

    def test_push_bytes_c_reads(self):
        name = ring_name("pwb")
        with SharedCircularBuffer(name, create=True, item_size=8, length=64) as w:
            p = helper("read", name, 50)
            try:
                self.assertEqual(p.stdout.readline(), "ready\n")
                w.push_bytes(b"".join(i.to_bytes(8, "big") for i in range(50)))
                out, err = p.communicate(timeout=TIMEOUT)
                self.assertEqual(p.returncode, 0, err)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()
                p.stderr.close()

    def test_c_reader_missing_ring(self):
        p = subprocess.run([HELPER, "read", ring_name("none"), "1"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no ring of that name", p.stderr)


if __name__ == "__main__":
    unittest.main()
