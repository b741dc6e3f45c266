"""Record rings and views between two processes: a writer in a child
interpreter (sys.executable), the reader here."""
import os
import signal
import subprocess
import sys
import textwrap
import unittest

from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name

# The child creates the ring, says "ready", waits for a line ("go"), runs
# its part, says "done <pushed>", and waits for stdin to close before it
# cleans up.  Record i: 4 bytes of i, then (i % 251) bytes of (i + j) & 255.
CHILD = textwrap.dedent("""
    import sys
    from shared_cbuff import SharedCircularBuffer

    def rec(i):
        return i.to_bytes(4, "big") + bytes((i + j) & 255 for j in range(i % 251))

    name, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kw = dict(create=True, records=True, length=4096, max_record=300)
    w = SharedCircularBuffer(name, lossless=(mode == "reserve"), **kw)
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "push":
        for i in range(n):
            w.push(rec(i))
    elif mode == "reserve":
        for i in range(n):
            r = rec(i)
            with w.reserve(300, timeout=None) as view:
                view[:len(r)] = r
                view.commit(len(r))
    elif mode == "die":  # one record, then a reservation half written
        w.push(rec(0))
        with w.reserve(300) as view:
            view[:100] = bytes(range(100))
            print("reserved", flush=True)
            sys.stdin.readline()
            view[100:] = bytes(200)
        raise SystemExit("not killed")
    elif mode == "lap":  # one record, then, on a second line, the rest
        w.push(rec(0))
        print("one", flush=True)
        sys.stdin.readline()
        for i in range(1, n):
            w.push(rec(i))
    print("done", w.info()["pushed"], flush=True)
    sys.stdin.read()
    w.cleanup()
""")


def rec(i):
    return i.to_bytes(4, "big") + bytes((i + j) & 255 for j in range(i % 251))


class TestProcesses(unittest.TestCase):
    def start(self, mode, n):
        name = ring_name("proc")
        child = subprocess.Popen([sys.executable, "-c", CHILD, name, mode, str(n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.wait, 20)
        self.addCleanup(child.stdin.close)
        self.assertEqual(child.stdout.readline().strip(), "ready")
        r = SharedCircularBuffer(name)
        self.addCleanup(r.cleanup)
        return child, r

    @staticmethod
    def go(child):
        child.stdin.write("go\n")
        child.stdin.flush()

    def finish(self, child):
        line = child.stdout.readline().split()
        self.assertEqual(line[0], "done")
        return int(line[1])

    def check(self, got):
        """Every record whole and right, in order, none twice."""
        last = -1
        for g in got:
            i = int.from_bytes(g[:4], "big")
            self.assertGreater(i, last)
            self.assertEqual(g, rec(i), "record %d torn" % i)
            last = i
        return last

    def test_overwrite_records_while_the_writer_runs(self):
        n = 20000
        child, r = self.start("push", n)
        self.go(child)
        got = []
        while True:
            x = r.pop(timeout=5)
            self.assertIsNotNone(x, "no record for 5 s")
            got.append(x)
            if int.from_bytes(x[:4], "big") == n - 1:
                break
        self.assertEqual(self.finish(child), n)
        self.assertEqual(self.check(got), n - 1)
        self.assertIsNone(r.popitem())
        self.assertEqual(len(got) + r.lost, n)

    def test_reserve_in_one_process_peek_in_another(self):
        n = 3000
        child, r = self.start("reserve", n)
        self.go(child)
        got = []
        while len(got) < n:
            with r.peek(timeout=5) as view:
                self.assertIsNotNone(view, "no record for 5 s after %d" % len(got))
                got.append(bytes(view))
        self.assertEqual(self.finish(child), n)
        self.assertEqual(self.check(got), n - 1)
        self.assertEqual(r.lost, 0)
        self.assertIsNone(r.popitem())

    def test_peek_overrun_by_another_process(self):
        n = 500  # many laps of a 4096-byte ring
        child, r = self.start("lap", n)
        self.go(child)
        self.assertEqual(child.stdout.readline().strip(), "one")
        with self.assertRaises(errors.Overrun):
            with r.peek(timeout=5) as view:
                self.assertEqual(bytes(view), rec(0))
                self.go(child)  # the writer laps us while we hold the view
                self.assertEqual(self.finish(child), n)
        with self.assertRaises(ValueError):
            bytes(view)
        self.assertGreaterEqual(r.lost, 1)
        got = r.popmany(n)
        self.assertEqual(self.check(got), n - 1)
        self.assertEqual(len(got) + r.lost, n)  # the overrun record is lost too


    @unittest.skipIf(sys.platform == "win32", "SIGKILL")
    def test_reader_killed_inside_a_peek(self):
        # A lossless writer must not wait forever for a reader that died
        # holding a peeked record.
        name = ring_name("kill")
        w = SharedCircularBuffer(name, create=True, records=True, length=1024,
                                 max_record=100, lossless=True)
        self.addCleanup(w.cleanup)
        child = subprocess.Popen([sys.executable, "-c", PEEKER, name],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.stdout.close)
        try:
            self.assertEqual(child.stdout.readline().strip(), "ready")
            w.push(b"a" * 100)
            self.assertEqual(child.stdout.readline().strip(), "peeked")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(20)
        for i in range(20):  # far more than the ring holds
            w.push(i.to_bytes(4, "big") * 25, timeout=5)
        self.assertEqual(w.info()["pushed"], 21)


    @unittest.skipIf(sys.platform == "win32", "SIGKILL")
    def test_writer_killed_inside_a_reserve(self):
        # Nothing of a reservation whose writer died is ever published.
        child, r = self.start("die", 2)
        self.addCleanup(_scb.unlink, r.name, None)  # its writer cannot
        self.go(child)
        self.assertEqual(child.stdout.readline().strip(), "reserved")
        child.send_signal(signal.SIGKILL)
        child.wait(20)
        self.assertEqual(r.pop(timeout=5), rec(0))
        self.assertIsNone(r.pop(timeout=0.2))
        with r.peek(timeout=0) as view:
            self.assertIsNone(view)
        self.assertFalse(r.info()["writer_alive"])
        self.assertEqual(r.lost, 0)

PEEKER = textwrap.dedent("""
    import sys, time
    from shared_cbuff import SharedCircularBuffer
    r = SharedCircularBuffer(sys.argv[1])
    print("ready", flush=True)
    with r.peek(timeout=10) as view:
        if view is not None:
            print("peeked", flush=True)
            time.sleep(60)
""")

if __name__ == "__main__":
    unittest.main()
