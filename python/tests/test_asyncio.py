"""fileno() (scb_fd) in an asyncio event loop: a reader woken by the loop,
never by polling, reading what a writer in another process pushes."""
import asyncio
import os
import select
import sys
import time
import unittest

from shared_cbuff import SharedCircularBuffer, errors

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name


@unittest.skipIf(sys.platform == "win32", "asyncio's add_reader takes sockets only there")
class TestFileno(unittest.TestCase):
    def setUp(self):
        self.name = ring_name("fd")
        self.w = SharedCircularBuffer(self.name, create=True, length=4096)
        self.r = SharedCircularBuffer(self.name)

    def tearDown(self):
        self.r.cleanup()
        self.w.cleanup()

    def readable(self, fd, timeout):
        return bool(select.select([fd], [], [], timeout)[0])

    def test_rules(self):
        fd = self.r.fileno()
        self.assertEqual(fd, self.r.fileno())
        self.assertIsNone(self.r.popitem())          # arms it
        self.assertFalse(self.readable(fd, 0))
        self.w.push(7)
        self.assertTrue(self.readable(fd, 0))
        self.assertEqual(self.r.popitem(), 7)
        self.assertIsNone(self.r.popitem())          # drained: not readable
        self.assertFalse(self.readable(fd, 0.05))
        self.r.cleanup()
        with self.assertRaises(OSError):
            os.fstat(fd)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_asyncio_reader_and_forked_writer(self):
        n = 2000
        name = ring_name("fdw")
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            # The writer: its own ring, items with pauses now and then.
            code = 1
            try:
                os.close(rfd)
                with SharedCircularBuffer(name, create=True, item_size=4,
                                          length=8192) as w:
                    os.write(wfd, b"R")
                    time.sleep(0.05)
                    for i in range(n):
                        w.push(i)
                        if i % 97 == 0:
                            time.sleep(0.002)
                    code = 0
            finally:
                os._exit(code)
        os.close(wfd)
        self.assertEqual(os.read(rfd, 1), b"R")
        os.close(rfd)
        r = SharedCircularBuffer(name)
        got = []

        async def main():
            loop = asyncio.get_running_loop()
            done = loop.create_future()

            def ready():
                while (item := r.popitem()) is not None:
                    got.append(item)
                if len(got) >= n and not done.done():
                    done.set_result(None)

            loop.add_reader(r.fileno(), ready)
            ready()  # the first pass arms it
            try:
                await asyncio.wait_for(done, 10)
            finally:
                loop.remove_reader(r.fileno())

        try:
            asyncio.run(main())
            self.assertEqual(got, list(range(n)))
            self.assertEqual(r.lost, 0)
        finally:
            r.cleanup()
            _, st = os.waitpid(pid, 0)
        self.assertEqual(st, 0)

if __name__ == "__main__":
    unittest.main()
