"""SharedCircularBuffer: the original shared_cbuff API, and more, over
libscb (the extension module shared_cbuff._scb makes every call in C)."""

import asyncio
import atexit
import os
import select
import sys
import threading

from . import _scb
from . import errors

__all__ = ["SharedCircularBuffer", "View"]

View = _scb.View

# Default geometry of a record ring made with records=True.
_RECORD_LENGTH = 65536
# The largest max_record (a 32-bit size in the ring).
_MAX_RECORD = 0xFFFFFFFF

# Longest single wait of the thread that stands in for an event-loop
# handle where there is none (Windows).
_THREAD_SLICE = 0.05

# Longest wait of cleanup() for an event loop in another thread to stop
# watching the handle.
_DROP_WAIT = 1.0

# A coroutine waiting on the handle looks again this often: a wake-up
# lost to a damaged ring costs at most this long, and never a busy loop.
_RECHECK = 1.0

# Buffers open, by id: kept alive until cleanup() (a writer dropped
# without it still removes its ring at exit), cleaned up at interpreter
# exit.  One atexit hook for them all.
_open_buffers = {}


@atexit.register
def _cleanup_at_exit():
    for b in list(_open_buffers.values()):
        try:
            b.cleanup()
        except Exception:
            pass


def _settle(fut, value):
    if not fut.done():
        fut.set_result(value)


def _readable(fd):
    """The fd polls readable now (poll: any fd number, unlike select)."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(0))


def _deadline(timeout):
    """The running loop's time `timeout` seconds from now; None for None."""
    if timeout is None:
        return None
    if not timeout >= 0:
        raise ValueError("timeout must be None or >= 0, not %r" % (timeout,))
    return asyncio.get_running_loop().time() + timeout


def _check_int(what, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if value < minimum:
        raise ValueError("%s must be at least %d, not %d" % (what, minimum, value))


class SharedCircularBuffer(_scb.Ring):
    """A named ring in shared memory (libscb): fixed-size items (ints) or
    records (bytes of any length up to ``max_record``).

    Args:
        name: the ring's name (portable names: 1 to 30 characters of
            ``[A-Za-z0-9._-]``).

    Keyword Args:
        create: create the ring and be its writer (default: open it as a
            reader).
        item_size: bytes per item (default 1 on create).  A reader that
            leaves it out takes it from the ring; one that gives it must give
            the ring's (GeometryMismatch otherwise).
        length: capacity in items, at least 2 (default 2 on create); for a
            record ring the bytes of record space, a multiple of 8 and at
            least ``2 * (max_record + 16)`` (default 65536).  Read from the
            ring and checked like ``item_size`` for readers.
        lossless: on create, a SCB_LOSSLESS ring: the writer never overwrites
            an item a live reader has not read (push raises BufferFull, or
            waits with ``timeout``).  A reader that gives it is checked.
        records: on create, a record ring (SCB_RECORDS): ``push`` takes
            bytes-like objects of 0 to ``max_record`` bytes and the pops
            return ``bytes``.  A reader that gives it is checked.
        max_record: the largest record of a record ring (default
            ``length // 2 - 16``); checked for readers.
        backend: libscb backend ("posix", "sysv"...); None is the library's
            default.
        max_readers: reader slots of a lossless ring (create only; None:
            libscb's default, 64).
        mode: permission bits of a new ring (create only; None: 0o600).
        latest: a reader starts at the next item pushed instead of the oldest
            one kept.

    Raises:
        ValueError: length < 2 or item_size < 1 (fixed-size ring); a record
            ring's length or max_record out of range.
        errors.BufferAlreadyCreated: create=True and the name exists.
        errors.BufferNotFound: a reader for a name that does not exist.
        errors.GeometryMismatch: a reader's item_size/length/lossless/
            records/max_record differ from the ring's.
        errors.CBuffException: any other libscb error.

    A buffer is used by one thread at a time: a call from another thread
    waits until the current one returns (a waiting call lets others in
    between its slices of at most 0.2 s).  Calls that wait release the GIL.
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
        records=None,
        max_record=None,
    ):
        if getattr(self, "_pid", None) is not None and not self.closed:
            raise RuntimeError("this buffer is open: __init__ runs once")
        if not isinstance(name, str):
            raise TypeError("name must be a str, not %s" % type(name).__name__)
        if item_size is not None:
            _check_int("item_size", item_size, 1)
        if max_record is not None:
            _check_int("max_record", max_record, 1)
        if length is not None:
            _check_int("length", length, 0)
            if length < 2 and not (create and records):
                raise ValueError("Buffer length must greater than 1")
        self._pid = os.getpid()
        self._backend_arg = None if backend is None else str(backend)
        self._fd = None
        # asyncio, under _alock (event loops in several threads): event
        # loop -> futures waiting on the handle; the loops with the reader
        # callback on; set by cleanup() before it closes the handle.
        self._alock = threading.Lock()
        self._waiters = {}
        self._watching = set()
        self._closing = False
        self._unlinked = False
        flags = 0
        if create:
            if records:
                if item_size is not None:
                    raise ValueError(
                        "item_size does not apply to a record ring: give max_record"
                    )
                flags |= _scb.RECORDS
                if length is None:
                    length = _RECORD_LENGTH
                if max_record is None:
                    max_record = length // 2 - 16
                if max_record > _MAX_RECORD:
                    raise ValueError(
                        "max_record must be at most %d, not %d%s"
                        % (_MAX_RECORD, max_record,
                           " (length // 2 - 16 of length %d)" % length
                           if max_record == length // 2 - 16 else "")
                    )
                if max_record < 1 or length % 8 or length < 2 * (max_record + 16):
                    raise ValueError(
                        "a record ring's length (%d bytes) must be a multiple of 8 and "
                        "at least 2 * (max_record + 16) = %d"
                        % (length, 2 * (max(max_record, 1) + 16))
                    )
                item_size = max_record
            elif max_record is not None:
                raise ValueError("max_record applies to record rings (records=True)")
            if lossless:
                flags |= _scb.LOSSLESS
            if max_readers is not None:
                _check_int("max_readers", max_readers, 1)
            if mode is not None:
                _check_int("mode", mode, 1)
            self._open(
                name, True, 1 if item_size is None else item_size,
                2 if length is None else length, flags,
                max_readers or 0, mode or 0, self._backend_arg,
            )
        else:
            if max_readers is not None or mode is not None:
                raise ValueError("max_readers and mode apply to create=True only")
            if latest:
                flags |= _scb.LATEST
            self._open(name, False, 0, 0, flags, 0, 0, self._backend_arg)
            for what, given, actual in (
                ("item_size", item_size, self.item_size),
                ("length", length, self.length),
                ("lossless", None if lossless is None else bool(lossless), self.lossless),
                ("records", None if records is None else bool(records), self.records),
                ("max_record", max_record, self.max_record if self.records else None),
            ):
                if given is not None and given != actual:
                    self._close()
                    raise errors.exception_for(
                        _scb.EINVAL,
                        _scb.strerror(_scb.EINVAL),
                        "ring %r has %s %r, not %r" % (name, what, actual, given),
                        errors.GeometryMismatch,
                    )
        _open_buffers[id(self)] = self

    # -- the original API ------------------------------------------------------

    def __str__(self):
        if self.is_writer:
            return "SharedCircularBuffer (%s)" % self.name
        return "SharedCircularBuffer (%s) (%.2f%% full)" % (
            self.name,
            (self.usage / self.length) * 100,
        )

    def __repr__(self):
        return "<SharedCircularBuffer name=%r %s %s=%d length=%d%s%s>" % (
            self.name,
            "writer" if self.is_writer else "reader",
            "max_record" if self.records else "item_size",
            self.item_size,
            self.length,
            " lossless" if self.lossless else "",
            " closed" if self.closed else "",
        )

    def cleanup(self):
        """Closes the buffer; the writer's also removes the ring.  Runs at
        interpreter exit for buffers still open; calling it again is a
        no-op.  In a child forked after the buffer was opened it only
        forgets the handle (the parent's).  BufferError while a view of a
        record in place (peek, reserve) is still alive."""
        if self.closed:
            return
        with self._alock:
            # From here no coroutine starts waiting on the handle.
            self._closing = True
            waiting, self._waiters = self._waiters, {}
            watching, self._watching = self._watching, set()
        try:
            if (waiting or watching) and os.getpid() == self._pid:
                # (A forked child's loops are copies of the parent's: forgotten.)
                self._drop_waiters(waiting, watching)
            self._close()
        except BaseException as e:
            if not self.closed:
                self._closing = False  # still open (views alive, interrupted)
            if not isinstance(e, (BufferError, errors.CBuffException)):
                raise
            if isinstance(e, errors.CBuffException):
                # Closed, with an error: the writer's ring is removed all
                # the same, and the error (with its errno) raised.
                self._unregister()
            # BufferError: views still alive keep the mapping; the writer's
            # ring still goes away by name (its memory when the last view
            # does).
            self._unlink()
            raise
        self._unregister()
        urc = self._unlink()
        if urc not in (_scb.OK, _scb.ENOENT):
            self._raise(urc, "cleanup")

    def _unlink(self):
        """The writer removes its ring by name, once: after a cleanup()
        that failed, another writer may have made a ring of that name."""
        with self._alock:
            if not self.is_writer or os.getpid() != self._pid or self._unlinked:
                return _scb.OK
            self._unlinked = True
        return _scb.unlink(self.name, self._backend_arg)

    def _unregister(self):
        _open_buffers.pop(id(self), None)

    # -- beyond the original -----------------------------------------------------

    @property
    def max_record(self):
        """The largest record of a record ring (item_size of a fixed-size
        one)."""
        return self.item_size

    def info(self):
        """scb_info as a dict: name, backend, item_size, length, flags,
        lossless, records, pushed, usage, lost, max_readers, readers,
        writer_alive, writer_pid, is_writer, mode."""
        return self._info()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup()
        return False

    def __iter__(self):
        """Yields the items (ints) or records (bytes) waiting, until there
        is none."""
        while True:
            item = self.popitem()
            if item is None:
                return
            yield item

    # -- asyncio -------------------------------------------------------------------

    def _handle(self):
        """fileno(), asked once; None where event loops cannot wait on it."""
        if self._fd is None:
            self._fd = -1
            if sys.platform != "win32":
                try:
                    self._fd = self.fileno()
                except errors.NotSupported:  # e.g. a read-only reader
                    pass
        return None if self._fd < 0 else self._fd

    def _on_ready(self, loop, fd):
        """The handle is readable: the loop's waiters wake (each pops; one
        that finds nothing arms the handle again).  The reader callback
        stays on the loop for the next wait, unless nobody waits: a
        readable handle would call it at every turn of the loop."""
        with self._alock:
            if not self._waiters.get(loop):
                self._waiters.pop(loop, None)
                self._watching.discard(loop)
                loop.remove_reader(fd)
                return
        try:
            ready = self.wait(0) or _readable(fd)
        except Exception:  # e.g. closed meanwhile: the waiters' calls say so
            ready = True
        if not ready:
            # A call queued before the waiter's own pop drained the handle:
            # nothing new, keep waiting.
            return
        with self._alock:
            waiters = self._waiters.pop(loop, ())
        for fut in waiters:
            _settle(fut, True)

    async def _ready(self, deadline):
        """Waits until the handle may be ready (True) or the loop's clock
        passes deadline (False).  The caller made a call that returned
        nothing (SCB_EAGAIN) after _handle(), which armed the handle.  Each
        event loop waiting on the buffer has its own reader callback and
        list of futures.  True also comes every _RECHECK seconds, so that
        the caller looks again even if a wake-up never comes."""
        loop = asyncio.get_running_loop()
        fd = self._handle()
        if fd is None:
            return await self._ready_thread(loop, deadline)
        fut = loop.create_future()
        with self._alock:
            if self._closing or self.closed:
                raise errors.BufferClosed(
                    "buffer %r is closed (cleanup() was called)" % (self.name,))
            for other in [l for l in self._waiters if l.is_closed()]:
                del self._waiters[other]
            self._watching.difference_update([l for l in self._watching if l.is_closed()])
            self._waiters.setdefault(loop, []).append(fut)
            if loop not in self._watching:
                loop.add_reader(fd, self._on_ready, loop, fd)
                self._watching.add(loop)
        if deadline is not None and deadline - loop.time() <= _RECHECK:
            timer = loop.call_at(deadline, _settle, fut, False)
        else:
            timer = loop.call_later(_RECHECK, _settle, fut, True)
        try:
            return await fut
        finally:
            timer.cancel()
            with self._alock:
                waiters = self._waiters.get(loop)
                if waiters is not None and fut in waiters:
                    waiters.remove(fut)
                    if not waiters:
                        del self._waiters[loop]

    def _drop_waiters(self, waiting, watching):
        """cleanup(): every event loop stops watching the handle before it
        is closed, and the coroutines waiting on it get BufferClosed."""
        for loop in watching | set(waiting):
            if loop.is_closed():
                continue
            futures = waiting.get(loop, ())

            def drop(loop=loop, futures=futures, watched=loop in watching):
                if watched and not self.closed:
                    # (Once closed, the fd number may be another file's.)
                    loop.remove_reader(self._fd)
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(errors.BufferClosed(
                            "buffer %r was closed while a coroutine waited on it"
                            % (self.name,)))

            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                drop()
                continue
            done = threading.Event()

            def drop_then_set(drop=drop, done=done):
                try:
                    drop()
                finally:
                    done.set()

            try:
                loop.call_soon_threadsafe(drop_then_set)
            except RuntimeError:  # closed meanwhile
                continue
            # The handle (and its fd) closes after this: a running loop
            # stops watching it first, so a new file given the same fd
            # number cannot lose its reader to this one's removal.
            if loop.is_running():
                done.wait(_DROP_WAIT)

    async def _ready_thread(self, loop, deadline):
        while True:
            left = _THREAD_SLICE
            if deadline is not None:
                left = min(left, max(0.0, deadline - loop.time()))
            if await loop.run_in_executor(None, self.wait, left):
                return True
            if deadline is not None and loop.time() >= deadline:
                return False

    async def pop_async(self, timeout=None):
        """The next item (int) or record (bytes), awaiting one for up to
        ``timeout`` seconds (None: for ever); None when the time runs out.
        The event loop waits on fileno(), never polling; cancelling the
        await leaves the buffer as it was."""
        self._handle()
        item = self.popitem()
        if item is not None:
            return item
        deadline = _deadline(timeout)
        while True:
            ready = await self._ready(deadline)
            item = self.popitem()
            if item is not None or not ready:
                return item

    async def aiter(self):
        """``async for item in buf.aiter()``: every item or record, awaiting
        each with pop_async."""
        while True:
            yield await self.pop_async()

    def __aiter__(self):
        return self.aiter()

    async def push_async(self, item, timeout=None):
        """push(item), awaiting room in a lossless ring for up to
        ``timeout`` seconds (None: for ever), then errors.TimedOut.  An
        overwrite ring always has room."""
        self._handle()
        deadline = _deadline(timeout)
        while True:
            try:
                return self.push(item)
            except errors.BufferFull:
                pass
            if not await self._ready(deadline):
                try:
                    return self.push(item)
                except errors.BufferFull:
                    raise errors.exception_for(
                        _scb.ETIMEDOUT, _scb.strerror(_scb.ETIMEDOUT),
                        "push %r" % (self.name,),
                    ) from None
