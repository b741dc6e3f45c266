"""SharedCircularBuffer: the original shared_cbuff API over libscb."""

import atexit
import ctypes
import math
import os
import threading
import time

from . import _lib
from . import errors

__all__ = ["SharedCircularBuffer"]

# Longest single wait handed to libscb, so that a long or endless wait still
# lets Python run signal handlers (Ctrl-C) between slices.
_WAIT_SLICE_MS = 200


def _check_int(what, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if value < minimum:
        raise ValueError("%s must be at least %d, not %d" % (what, minimum, value))


class SharedCircularBuffer:
    """A named ring of fixed-size items in shared memory (libscb).

    Args:
        name: the ring's name (portable names: 1 to 30 characters of
            ``[A-Za-z0-9._-]``).

    Keyword Args:
        create: create the ring and be its writer (default: open it as a
            reader).
        item_size: bytes per item (default 1 on create).  A reader that
            leaves it out takes it from the ring; one that gives it must give
            the ring's (GeometryMismatch otherwise).
        length: capacity in items, at least 2 (default 2 on create); read
            from the ring and checked like ``item_size`` for readers.
        lossless: on create, a SCB_LOSSLESS ring: the writer never overwrites
            an item a live reader has not read (push raises BufferFull, or
            waits with ``timeout``).  A reader that gives it is checked.
        backend: libscb backend ("posix", "sysv"...); None is the library's
            default.
        max_readers: reader slots of a lossless ring (create only; None:
            libscb's default, 64).
        mode: permission bits of a new ring (create only; None: 0o600).
        latest: a reader starts at the next item pushed instead of the oldest
            one kept.

    Raises:
        ValueError: length < 2 or item_size < 1.
        errors.BufferAlreadyCreated: create=True and the name exists.
        errors.BufferNotFound: a reader for a name that does not exist.
        errors.GeometryMismatch: a reader's item_size/length/lossless differ
            from the ring's.
        errors.CBuffException: any other libscb error.
    """

    def __init__(
        self,
        name,
        *,
        create=False,
        item_size=None,
        length=None,
        lossless=None,
        backend=None,
        max_readers=None,
        mode=None,
        latest=False,
    ):
        if not isinstance(name, str):
            raise TypeError("name must be a str, not %s" % type(name).__name__)
        if length is not None:
            _check_int("length", length, 0)
            if length < 2:
                raise ValueError("Buffer length must greater than 1")
        if item_size is not None:
            _check_int("item_size", item_size, 1)
        self._handle = None
        self._lock = threading.Lock()
        self.name = name
        """The ring's name."""
        self._writer = bool(create)
        self._backend_arg = None if backend is None else str(backend).encode("utf-8")
        self._cname = name.encode("utf-8")

        cfg = _lib.Config()
        _lib.scb_config_init(ctypes.byref(cfg))
        cfg.backend = self._backend_arg
        handle = ctypes.c_void_p()
        if create:
            cfg.item_size = 1 if item_size is None else item_size
            cfg.length = 2 if length is None else length
            if lossless:
                cfg.flags |= _lib.LOSSLESS
            if max_readers is not None:
                _check_int("max_readers", max_readers, 1)
                cfg.max_readers = max_readers
            if mode is not None:
                _check_int("mode", mode, 1)
                cfg.mode = mode
            rc = _lib.scb_create(ctypes.byref(handle), self._cname, ctypes.byref(cfg))
            if rc == _lib.EEXIST:
                raise self._error(
                    rc, "Buffer with that name already exists (%r)" % name,
                    errors.BufferAlreadyCreated,
                )
        else:
            if max_readers is not None or mode is not None:
                raise ValueError("max_readers and mode apply to create=True only")
            if latest:
                cfg.flags |= _lib.LATEST
            rc = _lib.scb_open(ctypes.byref(handle), self._cname, ctypes.byref(cfg))
        if rc != _lib.OK:
            raise self._error(rc, "%s %r" % ("create" if create else "open", name))
        self._handle = handle
        self._pid = os.getpid()

        info = self._info_struct()
        if info.flags & _lib.RECORDS:
            _lib.scb_close(self._handle)
            self._handle = None
            raise errors.exception_for(
                _lib.ENOTSUP,
                _lib.strerror(_lib.ENOTSUP),
                "ring %r holds records; this package reads rings of "
                "fixed-size items" % (name,),
                errors.NotSupported,
            )
        self.item_size = int(info.item_size)
        """Bytes per item."""
        self.length = int(info.length)
        """Capacity in items."""
        self.backend = info.backend.decode("ascii") if info.backend else None
        """The libscb backend holding the ring."""
        self.lossless = bool(info.flags & _lib.LOSSLESS)
        """True for a SCB_LOSSLESS ring."""
        if not create:
            for what, given, actual in (
                ("item_size", item_size, self.item_size),
                ("length", length, self.length),
                ("lossless", None if lossless is None else bool(lossless), self.lossless),
            ):
                if given is not None and given != actual:
                    _lib.scb_close(self._handle)
                    self._handle = None
                    raise errors.exception_for(
                        _lib.EINVAL,
                        _lib.strerror(_lib.EINVAL),
                        "ring %r has %s %r, not %r" % (name, what, actual, given),
                        errors.GeometryMismatch,
                    )
        self._popbuf = ctypes.create_string_buffer(self.item_size)
        atexit.register(self.cleanup)

    # -- helpers -------------------------------------------------------------

    def _error(self, rc, context, cls=None):
        text = _lib.strerror(rc)
        if rc == _lib.ESYS:
            err = ctypes.get_errno()
            exc = errors.exception_for(
                rc, text, "%s: %s" % (context, os.strerror(err)) if err else context, cls
            )
            exc.os_errno = err
            return exc
        return errors.exception_for(rc, text, context, cls)

    def _live(self):
        if self._handle is None:
            raise errors.BufferClosed("buffer %r is closed (cleanup() was called)" % self.name)
        return self._handle

    def _need_writer(self):
        if not self._writer:
            exc = errors.WriteOperationsForbidden("Buffer is not writeable")
            exc.code = _lib.ENOTWRITER
            exc.strerror = _lib.strerror(_lib.ENOTWRITER)
            raise exc

    def _need_reader(self):
        if self._writer:
            exc = errors.ReadOperationsForbidden("Buffer is not readable")
            exc.code = _lib.ENOTREADER
            exc.strerror = _lib.strerror(_lib.ENOTREADER)
            raise exc

    def _info_struct(self):
        info = _lib.Info()
        with self._lock:
            rc = _lib.scb_info(self._live(), ctypes.byref(info))
        if rc != _lib.OK:
            raise self._error(rc, "info %r" % self.name)
        return info

    @staticmethod
    def _timeout_ms(timeout):
        """None -> -1 (forever); seconds -> whole milliseconds, rounded up."""
        if timeout is None:
            return -1
        if timeout < 0:
            raise ValueError("timeout must be None or >= 0, not %r" % (timeout,))
        return int(math.ceil(timeout * 1000.0))

    def _wait_call(self, fn, buf, timeout):
        """Calls fn(handle, buf, ms) in slices of at most _WAIT_SLICE_MS until
        it returns something other than SCB_ETIMEDOUT or the time is up."""
        total = self._timeout_ms(timeout)
        if total >= 0:
            deadline = time.monotonic() + total / 1000.0
        while True:
            if total < 0:
                ms = _WAIT_SLICE_MS
            else:
                left = int(math.ceil((deadline - time.monotonic()) * 1000.0))
                ms = max(0, min(left, _WAIT_SLICE_MS))
            with self._lock:
                rc = fn(self._live(), buf, ms)
            if rc != _lib.ETIMEDOUT:
                return rc
            if total >= 0 and time.monotonic() >= deadline:
                return rc

    def _to_bytes(self, item):
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError("item must be an int, not %s" % type(item).__name__)
        return item.to_bytes(self.item_size, byteorder="big")

    # -- the original API ------------------------------------------------------

    def __str__(self):
        if self._writer:
            return "SharedCircularBuffer (%s)" % self.name
        return "SharedCircularBuffer (%s) (%.2f%% full)" % (
            self.name,
            (self.usage / self.length) * 100,
        )

    def __repr__(self):
        return "<SharedCircularBuffer name=%r %s item_size=%d length=%d%s%s>" % (
            self.name,
            "writer" if self._writer else "reader",
            self.item_size,
            self.length,
            " lossless" if self.lossless else "",
            " closed" if self._handle is None else "",
        )

    @property
    def usage(self):
        """Items waiting for this reader; for the writer, items in the ring
        (lossless, with live readers: those the slowest has not read)."""
        with self._lock:
            return int(_lib.scb_usage(self._live()))

    def push(self, item, *, timeout=0):
        """Pushes the int ``item``, stored big-endian in item_size bytes
        (OverflowError if it does not fit, as int.to_bytes).

        In a lossless ring with no room it waits up to ``timeout`` seconds
        (0: not at all, None: for ever), then raises errors.BufferFull
        (errors.TimedOut after a wait).  An overwrite ring always has room.

        Raises errors.WriteOperationsForbidden on a reader."""
        self._need_writer()
        self.push_bytes(self._to_bytes(item), timeout=timeout)

    def popitem(self):
        """The next item as an int, or None when there is nothing to read.

        Raises errors.ReadOperationsForbidden on the writer."""
        self._need_reader()
        buf = self._popbuf
        with self._lock:
            rc = _lib.scb_pop(self._live(), buf)
        if rc == _lib.EAGAIN:
            return None
        if rc != _lib.OK:
            raise self._error(rc, "pop %r" % self.name)
        return int.from_bytes(buf.raw, byteorder="big")

    def popmany(self, n):
        """Up to ``n`` items as a list of ints (empty when there is nothing to
        read), in one scb_pop_many call.

        Raises errors.ReadOperationsForbidden on the writer."""
        self._need_reader()
        size = self.item_size
        raw = self._pop_many_raw(n)
        return [int.from_bytes(raw[i : i + size], "big") for i in range(0, len(raw), size)]

    def cleanup(self):
        """Closes the buffer; the writer's also removes the ring.  Runs at
        interpreter exit for buffers still open; calling it again is a
        no-op.  In a child forked after the buffer was opened it only
        forgets the handle (the parent's)."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            try:
                atexit.unregister(self.cleanup)
            except Exception:  # interpreter shutting down
                pass
            if os.getpid() != self._pid:
                # A forked child's copy: the handle belongs to the parent,
                # which still uses it (and, as the writer, owns the ring).
                return
            rc = _lib.scb_close(handle)
            if self._writer:
                cfg = _lib.Config()
                _lib.scb_config_init(ctypes.byref(cfg))
                cfg.backend = self._backend_arg
                urc = _lib.scb_unlink(self._cname, ctypes.byref(cfg))
                if urc not in (_lib.OK, _lib.ENOENT) and rc == _lib.OK:
                    rc = urc
        if rc != _lib.OK:
            raise self._error(rc, "cleanup %r" % self.name)

    # -- beyond the original -----------------------------------------------------

    def push_bytes(self, data, *, timeout=0):
        """Pushes raw items: ``data`` is one item of item_size bytes, or
        several back to back (a multiple of item_size; one scb_push_many
        call).  Lossless ring without room: as push().  Returns the number of
        items pushed (a lossless ring may take fewer than given when
        timeout is 0)."""
        self._need_writer()
        data = bytes(data)
        size = self.item_size
        if not data or len(data) % size:
            raise ValueError(
                "push_bytes needs a non-empty multiple of item_size (%d) bytes, not %d"
                % (size, len(data))
            )
        n = len(data) // size
        if n == 1:
            if timeout == 0:
                with self._lock:
                    rc = _lib.scb_push(self._live(), data)
            else:
                rc = self._wait_call(_lib.scb_push_wait, data, timeout)
            count = 1
        else:
            count_c = ctypes.c_size_t(0)
            with self._lock:
                rc = _lib.scb_push_many(self._live(), data, n, ctypes.byref(count_c))
            count = count_c.value
            if timeout != 0:
                # Lossless and partly full: wait for room item by item.
                while count < n and rc in (_lib.OK, _lib.EAGAIN):
                    rc = self._wait_call(
                        _lib.scb_push_wait, data[count * size : (count + 1) * size], timeout
                    )
                    if rc == _lib.OK:
                        count += 1
        if rc == _lib.EAGAIN:
            raise self._error(rc, "push %r: ring full" % self.name, errors.BufferFull)
        if rc != _lib.OK:
            raise self._error(rc, "push %r" % self.name)
        return count

    def pop(self, timeout=None):
        """The next item as an int, waiting up to ``timeout`` seconds for one
        (None: for ever, 0: not at all) with scb_pop_wait; None when the time
        runs out."""
        raw = self.pop_bytes(timeout=timeout)
        return None if raw is None else int.from_bytes(raw, "big")

    def pop_bytes(self, timeout=0):
        """The next item as item_size raw bytes, or None when there is none
        (waiting up to ``timeout`` seconds as pop(); default: no wait)."""
        self._need_reader()
        buf = self._popbuf
        if timeout == 0:
            with self._lock:
                rc = _lib.scb_pop(self._live(), buf)
        else:
            rc = self._wait_call(_lib.scb_pop_wait, buf, timeout)
        if rc in (_lib.EAGAIN, _lib.ETIMEDOUT):
            return None
        if rc != _lib.OK:
            raise self._error(rc, "pop %r" % self.name)
        return buf.raw

    def popmany_bytes(self, n):
        """Up to ``n`` items as raw bytes back to back (b"" when none), in
        one scb_pop_many call."""
        self._need_reader()
        return self._pop_many_raw(n)

    def _pop_many_raw(self, n):
        _check_int("n", n, 0)
        n = min(n, self.length)  # never more than the ring holds
        if n == 0:
            return b""
        size = self.item_size
        buf = ctypes.create_string_buffer(n * size)
        count = ctypes.c_size_t(0)
        with self._lock:
            rc = _lib.scb_pop_many(self._live(), buf, n, ctypes.byref(count))
        if rc == _lib.EAGAIN:
            return b""
        if rc != _lib.OK:
            raise self._error(rc, "pop %r" % self.name)
        return buf.raw[: count.value * size]

    def fileno(self):
        """The OS handle an event loop waits on (scb_fd): a file descriptor
        (on Windows an event HANDLE, as an int), owned by the buffer and
        closed by cleanup().  Once it was asked for, a pop that finds
        nothing (popitem() returning None, an empty popmany()) arms it: it
        becomes readable as soon as there is something to read, and stays
        so until the next pop that finds nothing.  So with asyncio::

            def ready():
                while (item := buf.popitem()) is not None:
                    use(item)

            loop.add_reader(buf.fileno(), ready)
            ready()   # the first pass arms it

        On the writer of a lossless ring, a push that finds no room arms it
        instead.  Raises errors.NotSupported where the system or the
        buffer's access rights offer no such handle (a read-only reader)."""
        fd = _lib.fd_t()
        with self._lock:
            rc = _lib.scb_fd(self._live(), ctypes.byref(fd))
        if rc != _lib.OK:
            raise self._error(rc, "fd of %r" % self.name)
        return int(fd.value or 0)

    @property
    def lost(self):
        """Items the writer overwrote before this reader read them (0 for the
        writer)."""
        with self._lock:
            return int(_lib.scb_lost(self._live()))

    @property
    def closed(self):
        """True after cleanup()."""
        return self._handle is None

    @property
    def is_writer(self):
        """True for the writer (the creator)."""
        return self._writer

    def info(self):
        """scb_info as a dict: name, backend, item_size, length, flags,
        lossless, pushed, usage, lost, max_readers, readers, writer_alive,
        writer_pid, is_writer, mode."""
        i = self._info_struct()
        return {
            "name": i.name.decode("utf-8", "replace"),
            "backend": i.backend.decode("ascii") if i.backend else None,
            "item_size": int(i.item_size),
            "length": int(i.length),
            "flags": int(i.flags),
            "lossless": bool(i.flags & _lib.LOSSLESS),
            "pushed": int(i.pushed),
            "usage": int(i.usage),
            "lost": int(i.lost),
            "max_readers": int(i.max_readers),
            "readers": int(i.readers),
            "writer_alive": bool(i.writer_alive),
            "writer_pid": int(i.writer_pid),
            "is_writer": bool(i.is_writer),
            "mode": int(i.mode),
        }

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup()
        return False

    def __iter__(self):
        """Yields the items (ints) waiting, until there is none."""
        while True:
            item = self.popitem()
            if item is None:
                return
            yield item
