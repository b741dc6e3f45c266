"""Waits without end are interrupted by signals (they wait in slices and
run Python's signal handlers between them), and leave the buffer usable."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors, _scb

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name


class Alarm(Exception):
    pass


def on_alarm(signum, frame):
    raise Alarm()


@unittest.skipUnless(hasattr(signal, "setitimer"), "no setitimer")
class TestInterrupted(unittest.TestCase):
    def setUp(self):
        self.old = signal.signal(signal.SIGALRM, on_alarm)
        name = ring_name("sig")
        self.w = SharedCircularBuffer(name, create=True, records=True, length=1024,
                                      max_record=100, lossless=True)
        self.r = SharedCircularBuffer(name)

    def tearDown(self):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        self.r.cleanup()
        self.w.cleanup()

    def interrupted(self, call):
        """call() waits without end; an alarm in 0.1 s must end it."""
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        start = time.monotonic()
        with self.assertRaises(Alarm):
            call()
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.assertLess(time.monotonic() - start, 2.0)

    def fill(self):
        n = 0
        while True:
            try:
                self.w.push(b"f" * 100)
            except errors.BufferFull:
                return n
            n += 1

    def test_reader_waits(self):
        self.interrupted(lambda: self.r.pop(None))
        self.interrupted(lambda: self.r.wait(None))

        def peek():
            with self.r.peek(timeout=None):
                self.fail("peek gave a view of an empty ring")

        self.interrupted(peek)
        # Nothing is left peeked or waiting: the reader goes on.
        self.w.push(b"one")
        with self.r.peek(timeout=1) as view:
            self.assertEqual(bytes(view), b"one")
        self.w.push(b"two")
        self.assertEqual(self.r.pop(1), b"two")
        self.assertEqual(self.r.lost, 0)

    def test_writer_waits(self):
        n = self.fill()
        self.assertGreater(n, 0)
        self.interrupted(lambda: self.w.push(b"p" * 100, timeout=None))
        self.interrupted(lambda: self.w.push_many([b"p" * 100], timeout=None))

        def reserve():
            with self.w.reserve(100, timeout=None):
                self.fail("reserved in a full ring")

        self.interrupted(reserve)
        # None of the interrupted calls put anything in, and no reservation
        # is left open: after one pop, a push goes in.
        self.assertEqual(self.r.popitem(), b"f" * 100)
        self.w.push(b"last" * 25, timeout=1)
        got = self.r.popmany(100)
        self.assertEqual(got, [b"f" * 100] * (n - 1) + [b"last" * 25])
        self.assertEqual(self.w.info()["pushed"], n + 1)


CHILD = textwrap.dedent("""
    import signal, sys
    from shared_cbuff import SharedCircularBuffer
    # Python leaves SIGINT alone when it started ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    w = SharedCircularBuffer(sys.argv[1], create=True, item_size=4, length=8)
    r = SharedCircularBuffer(sys.argv[1])
    print("waiting", flush=True)
    try:
        r.pop(None)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        r.cleanup()
        w.cleanup()
""")


class TestCtrlC(unittest.TestCase):
    @unittest.skipIf(sys.platform == "win32", "POSIX signals")
    def test_sigint_ends_a_pop_without_timeout(self):
        name = ring_name("int")
        child = subprocess.Popen([sys.executable, "-c", CHILD, name],
                                 stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(child.stdout.readline().strip(), "waiting")
            time.sleep(0.1)  # in its wait
            child.send_signal(signal.SIGINT)
            out, _ = child.communicate(timeout=5)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
            _scb.unlink(name, None)  # if the child could not remove it
        self.assertEqual(out.strip(), "interrupted")
        self.assertEqual(child.returncode, 0)


HANDLER_CHILD = textwrap.dedent("""
    import signal, sys, threading, time
    from shared_cbuff import SharedCircularBuffer, errors
    name, mode = sys.argv[1], sys.argv[2]
    w = SharedCircularBuffer(name, create=True, item_size=8, length=16)
    r = SharedCircularBuffer(name)

    def waiter():  # holds r's handle inside its wait slices
        try:
            while True:
                r.wait(None)
        except errors.BufferClosed:
            pass

    class Nested(Exception):
        pass

    calls = {"handler": 0, "nested": 0, "raised": 0}
    depth = [0]
    armed = [False]  # the main loop's call is inside its try
    # One Nested at a time: a signal that comes while one propagates (in
    # the handler's finally) would replace it, one caught for two raised.
    flying = [False]

    def handler(signum, frame):
        calls["handler"] += 1
        if depth[0]:
            # A second signal while the handler's own call queues.
            calls["nested"] += 1
            if mode == "raise" and armed[0] and not flying[0]:
                flying[0] = True
                calls["raised"] += 1
                raise Nested()
            return
        depth[0] += 1
        try:
            if mode == "cleanup" and calls["handler"] >= 50:
                r.cleanup()  # the calls queued then raise BufferClosed
            else:
                r.info()
        finally:
            depth[0] -= 1

    signal.signal(signal.SIGALRM, handler)
    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    time.sleep(0.05)
    signal.setitimer(signal.ITIMER_REAL, 0.003, 0.003)
    end = time.monotonic() + 1.0
    closed = False
    while time.monotonic() < end and not closed:
        try:
            armed[0] = True
            r.info()  # queues behind the waiting thread
            armed[0] = False
        except Nested:
            armed[0] = False
            flying[0] = False
            calls["caught"] = calls.get("caught", 0) + 1
        except errors.BufferClosed:
            armed[0] = False
            closed = True
    signal.setitimer(signal.ITIMER_REAL, 0)
    if not closed:
        # Still usable by every thread.
        w.push(7)
        assert r.popitem() == 7
        r.cleanup()
    t.join(5)
    assert not t.is_alive()
    w.cleanup()
    print(calls["handler"], calls["raised"], calls.get("caught", 0), int(closed), flush=True)
""")


WAITING_HANDLER_CHILD = textwrap.dedent("""
    import signal, sys, threading, time
    from shared_cbuff import SharedCircularBuffer, errors
    w = SharedCircularBuffer(sys.argv[1], create=True, item_size=8, length=16)
    r = SharedCircularBuffer(sys.argv[1])
    log, took = [], []

    def holder():  # holds r's handle inside its wait slices
        try:
            while True:
                r.wait(0.2)
        except errors.BufferClosed:
            pass

    def handler(signum, frame):
        try:
            r.pop(timeout=None)
            log.append("handler: popped")
        except errors.BufferClosed:
            log.append("handler: BufferClosed")

    def closer():
        time.sleep(0.5)
        start = time.monotonic()
        r.cleanup()
        took.append(time.monotonic() - start)

    signal.signal(signal.SIGALRM, handler)
    threading.Thread(target=holder, daemon=True).start()
    time.sleep(0.05)
    c = threading.Thread(target=closer)
    c.start()
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    try:
        while not log:
            r.info()  # queues behind the holder; the handler runs then
    except errors.BufferClosed:
        pass
    c.join(10)
    w.cleanup()
    print(log[0] if log else "no handler")
    print("%.3f" % took[0] if took else "99")
""")

FORKING_HANDLER_CHILD = textwrap.dedent("""
    import os, signal, sys, threading, time
    from shared_cbuff import SharedCircularBuffer, errors
    w = SharedCircularBuffer(sys.argv[1], create=True, item_size=8, length=16)
    r = SharedCircularBuffer(sys.argv[1])
    stop = []

    def holder():
        while not stop:
            r.wait(0.05)

    child = []

    def handler(signum, frame):
        if child:
            return
        pid = os.fork()
        if pid == 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            r.cleanup()  # the child's copy: forgotten
            return       # back into the queued r.info()
        child.append(pid)

    signal.signal(signal.SIGALRM, handler)
    t = threading.Thread(target=holder)
    t.start()
    time.sleep(0.05)
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    try:
        while not child:
            r.info()
    except errors.BufferClosed:
        print("child: BufferClosed", flush=True)
        os._exit(0)
    except BaseException as e:
        print("child: %r" % (e,), flush=True)
        os._exit(1)
    if not child:
        print("child: info() returned", flush=True)
        os._exit(1)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(child[0], os.WNOHANG)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if not done:
        os.kill(child[0], 9)
        os.waitpid(child[0], 0)
        status = 9
    print("parent: child exited %d" % os.waitstatus_to_exitcode(status) if done
          else "parent: child hung", flush=True)
    stop.append(1)
    t.join(5)
    w.cleanup()
""")


@unittest.skipUnless(hasattr(signal, "setitimer"), "no setitimer")
class TestHandlerUsesTheBuffer(unittest.TestCase):
    """A signal handler may use the buffer its thread is queued for (the
    handler runs with the thread out of the queue), and a second signal
    whose handler raises ends the queued call, never freezing it."""

    def run_child(self, mode):
        name = ring_name("hnd")
        try:
            done = subprocess.run([sys.executable, "-c", HANDLER_CHILD, name, mode],
                                  capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the process hung (mode %s)" % mode)
        finally:
            _scb.unlink(name, None)  # if the child could not remove it
        self.assertEqual(done.returncode, 0, done.stderr)
        return [int(x) for x in done.stdout.split()]

    def test_handler_calls_info(self):
        handled, raised, caught, closed = self.run_child("info")
        self.assertGreater(handled, 20)
        self.assertEqual((raised, caught, closed), (0, 0, 0))

    def test_handler_closes_the_buffer(self):
        handled, raised, caught, closed = self.run_child("cleanup")
        self.assertGreaterEqual(handled, 50)
        self.assertEqual(closed, 1)

    def test_second_signal_raises(self):
        handled, raised, caught, closed = self.run_child("raise")
        self.assertGreater(handled, 20)
        self.assertEqual(raised, caught)  # each ended the queued call
        self.assertEqual(closed, 0)

    def test_handler_waits_others_go_on(self):
        # A handler's waiting call on the buffer its thread queued for lets
        # the other threads in between its slices: another thread's
        # cleanup() ends it.
        out = self.run_script(WAITING_HANDLER_CHILD)
        self.assertEqual(out[0], "handler: BufferClosed")
        self.assertLess(float(out[1]), 2.0)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_fork_in_a_handler(self):
        # A handler forks while its thread queues for the buffer: in the
        # child the queued call is refused (BufferClosed after the child's
        # cleanup()) instead of waiting for the parent's threads.
        out = self.run_script(FORKING_HANDLER_CHILD)
        self.assertEqual(out, ["child: BufferClosed", "parent: child exited 0"])

    def run_script(self, script):
        name = ring_name("hnd")
        try:
            done = subprocess.run([sys.executable, "-c", script, name],
                                  capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the process hung")
        finally:
            _scb.unlink(name, None)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout.split("\n")[:-1]


@unittest.skipUnless(os.environ.get("SCB_PYFORGE") and hasattr(signal, "setitimer"),
                     "SCB_PYFORGE (tests/pyforge, set by make check) and setitimer")
class TestOpenInterrupted(unittest.TestCase):
    def test_open_of_a_ring_being_created(self):
        # scb_open waits (up to a minute) for a ring whose creator lives
        # and has not finished it: an alarm must end the open at once.
        name = ring_name("crt")
        forge = subprocess.Popen([os.environ["SCB_PYFORGE"], "creating", name],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        old = signal.signal(signal.SIGALRM, on_alarm)
        try:
            self.assertEqual(forge.stdout.readline().strip(), "marked")
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            start = time.monotonic()
            with self.assertRaises(Alarm):
                SharedCircularBuffer(name)
            self.assertLess(time.monotonic() - start, 3.0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            forge.stdin.close()
            forge.stdout.close()
            self.assertEqual(forge.wait(10), 0)
        # The abandoned open's thread closes what it opened, if anything.
        self.assertFalse(os.path.exists("/dev/shm/scb." + name))


if __name__ == "__main__":
    unittest.main()
