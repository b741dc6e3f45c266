"""ctypes bindings of libscb (include/scb.h): finding the library, the two
structs and the prototypes.  Internal: use shared_cbuff.SharedCircularBuffer.
"""
import ctypes
import ctypes.util
import os
import sys

__all__ = ["lib", "path", "Config", "Info", "NAME_MAX"]

NAME_MAX = 255

# Flags (scb.h).
LOSSLESS = 0x0001
RECORDS = 0x0004
UNLINK_ON_CLOSE = 0x0002
ASYM_BARRIERS = 0x0008
WRITER = 0x0100
LATEST = 0x0200
OBSERVE = 0x0400

# Error codes (scb.h, SCB_ERRNO_MAP); the values are ABI.
OK = 0
EAGAIN = -1
ETIMEDOUT = -2
EINVAL = -3
EEXIST = -4
ENOENT = -5
ENOTWRITER = -6
ENOTREADER = -7
EBUSY = -8
ELIMIT = -9
EBADFORMAT = -10
EACCES = -11
ENOMEM = -12
ENOTSUP = -13
ENAMETOOLONG = -14
ESYS = -15


class Config(ctypes.Structure):
    """scb_config_t, field for field."""

    _fields_ = [
        ("item_size", ctypes.c_uint32),
        ("length", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("max_readers", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("backend", ctypes.c_char_p),
        ("struct_size", ctypes.c_uint32),
    ]


class Info(ctypes.Structure):
    """scb_info_t, field for field."""

    _fields_ = [
        ("name", ctypes.c_char * (NAME_MAX + 1)),
        ("backend", ctypes.c_char_p),
        ("item_size", ctypes.c_uint32),
        ("length", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("pushed", ctypes.c_uint64),
        ("usage", ctypes.c_uint64),
        ("lost", ctypes.c_uint64),
        ("max_readers", ctypes.c_uint32),
        ("readers", ctypes.c_uint32),
        ("writer_alive", ctypes.c_int),
        ("writer_pid", ctypes.c_int64),
        ("is_writer", ctypes.c_int),
        ("mode", ctypes.c_uint32),
    ]


if sys.platform == "darwin":
    _NAMES = ("libscb.dylib", "libscb.1.dylib")
elif sys.platform.startswith(("win", "cygwin", "msys")):
    _NAMES = ("libscb-1.dll", "libscb.dll", "cygscb-1.dll", "scb.dll")
else:
    _NAMES = ("libscb.so", "libscb.so.1")


def _candidates():
    """Where to look, in order, after SCB_LIBRARY: the system's search
    (ctypes.util.find_library), the lib directories above this package (an
    installed package lives in PREFIX/lib/pythonX.Y/site-packages), the
    usual install directories, and a build tree's .libs."""
    found = ctypes.util.find_library("scb")
    if found:
        yield found
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = []
    parent = here
    for _ in range(6):
        parent = os.path.dirname(parent)
        if os.path.basename(parent) in ("lib", "lib64", "lib32"):
            dirs.append(parent)
    prefixes = [sys.prefix, "/usr/local", "/usr", "/opt/local", "/opt/homebrew"]
    multiarch = getattr(sys.implementation, "_multiarch", None)
    for prefix in prefixes:
        dirs.append(os.path.join(prefix, "lib"))
        if multiarch:
            dirs.append(os.path.join(prefix, "lib", multiarch))
        dirs.append(os.path.join(prefix, "lib64"))
    # A build tree: the package is SRCDIR/python/shared_cbuff and an in-tree
    # build puts the library in SRCDIR/.libs.
    dirs.append(os.path.join(os.path.dirname(os.path.dirname(here)), ".libs"))
    seen = set()
    for d in dirs:
        if d in seen:
            continue
        seen.add(d)
        for n in _NAMES:
            p = os.path.join(d, n)
            if os.path.exists(p):
                yield p


def _load():
    env = os.environ.get("SCB_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env, use_errno=True), env
        except OSError as e:
            raise ImportError(
                "shared_cbuff: cannot load libscb from SCB_LIBRARY=%s: %s" % (env, e)
            ) from None
    tried = []
    for cand in _candidates():
        try:
            return ctypes.CDLL(cand, use_errno=True), cand
        except OSError as e:
            tried.append("%s (%s)" % (cand, e))
    raise ImportError(
        "shared_cbuff: libscb not found. Install libscb (make install), or set "
        "SCB_LIBRARY to the path of libscb.so"
        + ("; tried: " + "; ".join(tried) if tried else "")
    )


lib, path = _load()


def _proto(name, restype, *argtypes):
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise ImportError(
            "shared_cbuff: %s does not export %s: not libscb, or too old" % (path, name)
        ) from None
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_h = ctypes.c_void_p
_hp = ctypes.POINTER(ctypes.c_void_p)
_cfgp = ctypes.POINTER(Config)
_sizep = ctypes.POINTER(ctypes.c_size_t)

# The size-taking forms, so that a newer library never writes past these
# mirrors of the structs (nor reads past Config).
_config_init_size = _proto("scb_config_init_size", None, _cfgp, ctypes.c_size_t)
_info_size = _proto(
    "scb_info_size", ctypes.c_int, _h, ctypes.POINTER(Info), ctypes.c_size_t
)


def scb_config_init(cfg):
    """scb_config_init(cfg) as the C macro does it: with this mirror's size."""
    _config_init_size(cfg, ctypes.sizeof(Config))


def scb_info(h, info):
    """scb_info(h, out) as the C macro does it: with this mirror's size."""
    return _info_size(h, info, ctypes.sizeof(Info))

scb_create = _proto("scb_create", ctypes.c_int, _hp, ctypes.c_char_p, _cfgp)
scb_open = _proto("scb_open", ctypes.c_int, _hp, ctypes.c_char_p, _cfgp)
scb_close = _proto("scb_close", ctypes.c_int, _h)
scb_unlink = _proto("scb_unlink", ctypes.c_int, ctypes.c_char_p, _cfgp)
scb_push = _proto("scb_push", ctypes.c_int, _h, ctypes.c_void_p)
scb_push_many = _proto(
    "scb_push_many", ctypes.c_int, _h, ctypes.c_void_p, ctypes.c_size_t, _sizep
)
scb_push_wait = _proto("scb_push_wait", ctypes.c_int, _h, ctypes.c_void_p, ctypes.c_int64)
scb_pop = _proto("scb_pop", ctypes.c_int, _h, ctypes.c_void_p)
scb_pop_many = _proto(
    "scb_pop_many", ctypes.c_int, _h, ctypes.c_void_p, ctypes.c_size_t, _sizep
)
scb_pop_wait = _proto("scb_pop_wait", ctypes.c_int, _h, ctypes.c_void_p, ctypes.c_int64)
# scb_fd_t: a HANDLE on Windows, a file descriptor elsewhere.
fd_t = ctypes.c_void_p if sys.platform == "win32" else ctypes.c_int
scb_fd = _proto("scb_fd", ctypes.c_int, _h, ctypes.POINTER(fd_t))
scb_usage = _proto("scb_usage", ctypes.c_uint64, _h)
scb_lost = _proto("scb_lost", ctypes.c_uint64, _h)
scb_strerror = _proto("scb_strerror", ctypes.c_char_p, ctypes.c_int)
scb_version = _proto("scb_version", ctypes.c_char_p)
scb_backends = _proto("scb_backends", ctypes.POINTER(ctypes.c_char_p))


def strerror(code):
    return scb_strerror(code).decode("utf-8", "replace")


def version():
    return scb_version().decode("ascii")


def backends():
    arr = scb_backends()
    out = []
    i = 0
    while arr[i] is not None:
        out.append(arr[i].decode("ascii"))
        i += 1
    return out
