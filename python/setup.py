"""Builds shared_cbuff's extension module for `pip install ./python`.

The module links with an installed libscb, found with pkg-config
(`pkg-config --cflags --libs scb`); set PKG_CONFIG_PATH to the directory
holding scb.pc for a libscb installed under a prefix pkg-config does not
search.  The metadata is in pyproject.toml.
"""
import shlex
import subprocess
import sys

from setuptools import Extension, setup

SOURCES = [
    "shared_cbuff/_scb.c",
    "shared_cbuff/_scb_io.c",
    "shared_cbuff/_scb_ring.c",
    "shared_cbuff/_scb_view.c",
]


def pkg_config(*args):
    try:
        done = subprocess.run(["pkg-config", *args, "scb"], capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit(
            "shared_cbuff: pkg-config is not installed; it finds libscb "
            "(Debian: apt-get install pkg-config)"
        )
    if done.returncode != 0:
        sys.exit(
            "shared_cbuff needs libscb: `pkg-config %s scb` failed%s.\n"
            "Install libscb (`make install` of its source tree), or set "
            "PKG_CONFIG_PATH to the directory that holds its scb.pc."
            % (" ".join(args), ": " + done.stderr.strip() if done.stderr.strip() else "")
        )
    return shlex.split(done.stdout)


def libscb():
    """include_dirs, library_dirs, libraries and other flags of libscb."""
    found = {"include_dirs": [], "library_dirs": [], "libraries": [], "extra": []}
    for flag in pkg_config("--cflags", "--libs"):
        if flag.startswith("-I"):
            found["include_dirs"].append(flag[2:])
        elif flag.startswith("-L"):
            found["library_dirs"].append(flag[2:])
        elif flag.startswith("-l"):
            found["libraries"].append(flag[2:])
        else:
            found["extra"].append(flag)
    return found


def extension():
    scb = libscb()
    return Extension(
        "shared_cbuff._scb",
        sources=SOURCES,
        depends=["shared_cbuff/_scb.h"],
        include_dirs=scb["include_dirs"],
        library_dirs=scb["library_dirs"],
        libraries=scb["libraries"],
        # libscb may live outside the loader's search path.
        runtime_library_dirs=scb["library_dirs"] if sys.platform != "win32" else [],
        extra_link_args=[f for f in scb["extra"] if f.startswith("-Wl,")],
        define_macros=[("Py_LIMITED_API", "0x030B0000")],
        py_limited_api=True,
    )


setup(
    ext_modules=[extension()],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
