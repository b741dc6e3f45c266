"""Shared helpers of the shared_cbuff tests."""
import itertools
import os
import unittest

_counter = itertools.count()


def ring_name(tag="t"):
    """A ring name unique to this run and call (portable: at most 30
    characters of [A-Za-z0-9._-]).  tests/python.test sets SCB_TEST_TAG to
    its process id and looks for pyt-*-TAG-* rings left behind."""
    run = os.environ.get("SCB_TEST_TAG") or str(os.getpid())
    return "pyt-%s-%s-%d" % (tag[:5], run[:8], next(_counter))


class Buffers(unittest.TestCase):
    """A test case that opens buffers with make() (or pair(): a writer
    that creates a ring named by ring_name(TAG) with pair's arguments,
    and a reader of it) and cleans them all up after the test, readers
    first, then the writers, which remove their rings."""

    TAG = "t"

    def setUp(self):
        self.opened = []

    def tearDown(self):
        for b in sorted(self.opened, key=lambda b: b.is_writer):
            b.cleanup()

    def make(self, name, **kw):
        from shared_cbuff import SharedCircularBuffer

        b = SharedCircularBuffer(name, **kw)
        self.opened.append(b)
        return b

    def pair(self, **kw):
        name = ring_name(self.TAG)
        w = self.make(name, create=True, **kw)
        return w, self.make(name)
