#!/bin/sh
# windows.sh - the Windows build and its tests, from Debian: cross-compiles
# libscb for x86_64-w64-mingw32 (libscb-1.dll, the apr backend, the OS layer
# of platform/win32) and runs its Check suites under Wine.
#
#  1. .ci/mingw/build-deps.sh: mingw-w64 and Wine (apt-get), Check and APR
#     cross-built into a cached prefix (/var/cache/scb-mingw/prefix, about a
#     minute the first time, nothing afterwards);
#  2. scripts/deps.sh: the autotools, to generate configure;
#  3. a copy of the sources in _build/mingw/src (a source tree configured in
#     place for Linux, as scripts/test.sh leaves it, cannot also host an
#     out-of-tree build), configured with --host=x86_64-w64-mingw32 and
#     PKG_CONFIG_LIBDIR pointing at the prefix only;
#  4. make, then make check: tests/win32.test runs tests/check_ring.exe and
#     tests/check_scb.exe apr under Wine, in its own Wine prefix
#     (_build/wine), with the DLLs found through WINEPATH.
# CFLAGS pass through from the environment (default -O2 -g -Wall -Wextra
# -Werror); arguments go to configure.  Prints each suite's Check summary
# and a last line "windows total: N passed, M failed".

set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
prefix=${SCB_MINGW_PREFIX:-/var/cache/scb-mingw/prefix}
host=x86_64-w64-mingw32

echo "== windows: dependencies (mingw-w64, Wine, Check and APR for $host)"
SCB_MINGW_PREFIX=$prefix bash .ci/mingw/build-deps.sh
./scripts/deps.sh

echo "== windows: sources into _build/mingw/src"
rm -rf _build/mingw
mkdir -p _build/mingw/src
if [ -d .git ] && command -v git >/dev/null 2>&1; then
    # The tracked files plus whatever the work tree changed in them.
    git ls-files -z --cached --others --exclude-standard |
        xargs -0 tar -cf - | tar -C _build/mingw/src -xf -
else
    tar --exclude=./_build -cf - . | tar -C _build/mingw/src -xf -
    if [ -f _build/mingw/src/Makefile ]; then
        (cd _build/mingw/src && make distclean >/dev/null 2>&1) || true
    fi
fi
cd _build/mingw/src
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    ./autogen.sh
fi

echo "== windows: configure --host=$host"
mkdir -p ../wine
WINEPREFIX=$top/_build/wine
WINEPATH="$(winepath -w "$prefix/bin" 2>/dev/null || echo "$prefix/bin")"
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPREFIX WINEPATH WINEDEBUG WINEDLLOVERRIDES
: "${CFLAGS=-O2 -g -Wall -Wextra -Werror}"
export CFLAGS
PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig \
PKG_CONFIG_SYSROOT_DIR= \
    ./configure --host=$host --prefix=/scb "$@"

echo "== windows: make -j2"
make -j2
ls -l .libs/libscb-*.dll

echo "== windows: make check (under $(grep '^SCB_WINE = ' Makefile | sed 's/^SCB_WINE = //'))"
status=0
make check || status=$?
for log in tests/win32.log; do
    [ -f "$log" ] || continue
    if [ "$status" -ne 0 ]; then
        echo "======== $log ========"
        cat "$log"
    fi
done
echo "== windows: summary"
grep -E '^(scb command:|win32.test:)' tests/win32.log 2>/dev/null || true
# The Check counts of both suites, as for Linux, under their own name.
sstatus=0
./scripts/summary.sh . >summary.out || sstatus=$?
sed 's/^total:/windows total:/' summary.out
rm -f summary.out
if [ "$status" -ne 0 ] || [ "$sstatus" -ne 0 ]; then
    echo "windows.sh: FAILED"
    exit 1
fi
