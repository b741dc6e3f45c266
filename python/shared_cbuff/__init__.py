"""shared_cbuff: a shared circular buffer between processes, over libscb.

A drop-in for the original pure-Python ``shared_cbuff`` package: one writer
(the creator) pushes integers of ``item_size`` bytes into a named ring of
``length`` items in shared memory; every reader reads every item, in order.
It also holds records (``records=True``: bytes of any length), reads and
writes them in place (``peek``, ``reserve``), moves many at once
(``push_many``, ``popmany``, ``pop_into``) and waits in asyncio
(``pop_async``, ``aiter``, ``push_async``).  The ring is libscb's, so C
programs using libscb share it too; every call is made in C by the
extension module ``shared_cbuff._scb``.

>>> from shared_cbuff import SharedCircularBuffer
>>> w = SharedCircularBuffer("shared_buffer_a", create=True, length=5)
>>> r = SharedCircularBuffer("shared_buffer_a", length=5)
>>> w.push(50); w.push(10); w.push(20); w.push(30)
>>> r.popitem()
50
>>> r.popmany(3)
[10, 20, 30]
>>> print(r)
SharedCircularBuffer (shared_buffer_a) (0.00% full)
>>> r.cleanup(); w.cleanup()
"""

from . import errors
from . import _scb
from .buffer import SharedCircularBuffer, View

__all__ = [
    "SharedCircularBuffer",
    "View",
    "errors",
    "library_version",
    "backends",
    "library_path",
]
__version__ = "0.2.0"


def library_version():
    """The libscb version string, "MAJOR.MINOR.PATCH"."""
    return _scb.version()


def backends():
    """The backends libscb was built with, the default first."""
    return _scb.backends()


library_path = _scb.library_path()
"""The file libscb was loaded from (None if the system cannot say)."""
