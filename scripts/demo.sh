#!/bin/sh
# demo.sh - installs missing build dependencies, builds libscb in the source
# tree (configuring only when needed) and runs the demo: one writer and two
# readers, one of them slow, on one ring.  Arguments go to the demo
# (examples/scb-demo [BACKEND [SECONDS]]).  With --bridge first, it runs
# the bridge's demo instead (examples/bridge-demo.sh [--stream] [ITEMS]): a
# writer, scb bridge out, a nats-server of its own, scb bridge in, a reader.

set -eu
cd "$(dirname "$0")/.."

./scripts/deps.sh

if [ ! -x configure ] || [ ! -f Makefile.in ] \
   || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    echo "== autogen.sh"
    ./autogen.sh
fi
if [ ! -f Makefile ] || [ ! -f config.status ] || [ configure -nt config.status ]; then
    echo "== configure"
    ./configure
fi

echo "== make"
make -j2

if [ "${1:-}" = --bridge ]; then
    shift
    echo "== examples/bridge-demo.sh $*"
    exec ./examples/bridge-demo.sh "$@"
fi
echo "== examples/scb-demo $*"
exec ./examples/scb-demo "$@"
