"""Exceptions raised by shared_cbuff.

CBuffException is the base of them all.  The four classes of the original
package keep their names and meaning; every other libscb error raises a
CBuffException subclass whose ``code`` is the SCB_E* value (a negative int)
and whose ``strerror`` is libscb's scb_strerror() text.  Where a built-in
exception means the same thing, the class derives from it too (a missing
ring is also a FileNotFoundError, as with the original package).

This module is pure Python: importing it does not load libscb.
"""

__all__ = [
    "CBuffException",
    "WriteOperationsForbidden",
    "ReadOperationsForbidden",
    "BufferAlreadyCreated",
    "NothingToRead",
    "BufferFull",
    "TimedOut",
    "InvalidArgument",
    "BufferNotFound",
    "WriterBusy",
    "ReaderLimit",
    "BadFormat",
    "AccessDenied",
    "OutOfMemory",
    "NotSupported",
    "NameTooLong",
    "SystemFailure",
    "RecordTooLarge",
    "Overrun",
    "GeometryMismatch",
    "BufferClosed",
    "exception_for",
]


class CBuffException(Exception):
    """Base exception for all exceptions raised by the library.

    ``code`` is the libscb error code (SCB_E*, negative) or None when the
    error was found by the Python layer alone; ``strerror`` is the
    scb_strerror() text for that code (or None)."""

    code = None
    strerror = None


class WriteOperationsForbidden(CBuffException):
    """A write operation on a reader (SCB_ENOTWRITER)."""


class ReadOperationsForbidden(CBuffException):
    """A read operation on the writer (SCB_ENOTREADER)."""


class BufferAlreadyCreated(CBuffException, FileExistsError):
    """create=True for a name that already exists (SCB_EEXIST)."""


class NothingToRead(CBuffException):
    """SCB_EAGAIN where it is an error (pops return None instead)."""


class BufferFull(NothingToRead):
    """A lossless ring has no room for the push (SCB_EAGAIN)."""


class TimedOut(CBuffException, TimeoutError):
    """A wait ran out of time (SCB_ETIMEDOUT)."""


class InvalidArgument(CBuffException, ValueError):
    """libscb rejected an argument: a bad name, size or flag (SCB_EINVAL)."""


class BufferNotFound(CBuffException, FileNotFoundError):
    """No ring of that name (SCB_ENOENT)."""


class WriterBusy(CBuffException):
    """A live writer holds the ring (SCB_EBUSY)."""


class ReaderLimit(CBuffException):
    """Every reader slot of a lossless ring is taken (SCB_ELIMIT)."""


class BadFormat(CBuffException):
    """The segment is not a ring this libscb can read (SCB_EBADFORMAT)."""


class AccessDenied(CBuffException, PermissionError):
    """Permission denied (SCB_EACCES)."""


class OutOfMemory(CBuffException):
    """Out of memory or shared memory (SCB_ENOMEM)."""


class NotSupported(CBuffException):
    """Not supported by this libscb build or backend (SCB_ENOTSUP)."""


class NameTooLong(CBuffException, ValueError):
    """The name is too long for the backend (SCB_ENAMETOOLONG)."""


class SystemFailure(CBuffException, OSError):
    """The operating system failed (SCB_ESYS); ``os_errno`` is its errno."""

    os_errno = None


class RecordTooLarge(CBuffException, ValueError):
    """A record larger than the buffer given for it, or than the ring
    allows (SCB_EMSGSIZE)."""


class Overrun(CBuffException):
    """The writer overwrote a record while it was being read in place
    (SCB_EOVERRUN): what was read must be thrown away."""


class GeometryMismatch(CBuffException, ValueError):
    """A reader was given an item_size, length or lossless that the ring
    does not have (found by the Python layer; code is SCB_EINVAL)."""


class BufferClosed(CBuffException, ValueError):
    """An operation on a buffer after cleanup()."""


_BY_CODE = {
    -1: NothingToRead,
    -2: TimedOut,
    -3: InvalidArgument,
    -4: BufferAlreadyCreated,
    -5: BufferNotFound,
    -6: WriteOperationsForbidden,
    -7: ReadOperationsForbidden,
    -8: WriterBusy,
    -9: ReaderLimit,
    -10: BadFormat,
    -11: AccessDenied,
    -12: OutOfMemory,
    -13: NotSupported,
    -14: NameTooLong,
    -15: SystemFailure,
    -16: RecordTooLarge,
    -17: Overrun,
}


def exception_for(code, strerror, context=None, cls=None):
    """The exception for libscb error ``code``: an instance of its class
    (or of ``cls``) with ``code`` and ``strerror`` set; the message is
    "CONTEXT: STRERROR" (or the strerror alone)."""
    if cls is None:
        cls = _BY_CODE.get(code, CBuffException)
    message = "%s: %s" % (context, strerror) if context else strerror
    exc = cls(message)
    exc.code = code
    exc.strerror = strerror
    return exc
