"""shared_cbuff: a shared circular buffer between processes, over libscb.

A drop-in for the original pure-Python ``shared_cbuff`` package: one writer
(the creator) pushes integers of ``item_size`` bytes into a named ring of
``length`` items in shared memory; every reader reads every item, in order.
The ring is libscb's, so C programs using libscb share it too.

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

The library is found through the SCB_LIBRARY environment variable (a path),
then the system's search (ctypes.util.find_library), then the usual install
directories and a build tree's .libs.
"""

from . import errors
from ._lib import backends as _backends, version as _version, path as library_path
from .buffer import SharedCircularBuffer

__all__ = ["SharedCircularBuffer", "errors", "library_version", "backends", "library_path"]
__version__ = "0.2.0"


def library_version():
    """The libscb version string, "MAJOR.MINOR.PATCH"."""
    return _version()


def backends():
    """The backends libscb was built with, the default first."""
    return _backends()
