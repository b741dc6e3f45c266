#!/bin/sh
# pystage.sh SRCDIR BUILDDIR - stages the shared_cbuff package in
# BUILDDIR/tests/pystage so that Python can import it uninstalled: the
# package's Python files and stub from SRCDIR/python/shared_cbuff, the
# extension module just built (BUILDDIR/python/shared_cbuff/.libs/_scb.so),
# and SRCDIR/python/tests linked as tests.  tests/python.test and
# `make bench` use it; run Python with PYTHONPATH=BUILDDIR/tests/pystage and
# LD_LIBRARY_PATH=BUILDDIR/.libs.  Exit 1 when the module is not built.

set -u
src=$(cd "$1" && pwd) || exit 1
build=$(cd "$2" && pwd) || exit 1
module=$build/python/shared_cbuff/.libs/_scb.so
if [ ! -f "$module" ]; then
    echo "pystage.sh: $module is not built" >&2
    exit 1
fi
stage=$build/tests/pystage
rm -rf "$stage" && mkdir -p "$stage/shared_cbuff" || exit 1
for f in "$src"/python/shared_cbuff/*.py "$src"/python/shared_cbuff/*.pyi; do
    cp "$f" "$stage/shared_cbuff/" || exit 1
done
cp "$module" "$stage/shared_cbuff/_scb.so" && ln -s "$src/python/tests" "$stage/tests"
