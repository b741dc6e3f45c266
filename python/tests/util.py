"""Shared helpers of the shared_cbuff tests."""
import itertools
import os

_counter = itertools.count()


def ring_name(tag="t"):
    """A ring name unique to this run and call (portable: at most 30
    characters of [A-Za-z0-9._-]).  tests/python.test sets SCB_TEST_TAG to
    its process id and looks for pyt-*-TAG-* rings left behind."""
    run = os.environ.get("SCB_TEST_TAG") or str(os.getpid())
    return "pyt-%s-%s-%d" % (tag[:5], run[:8], next(_counter))
