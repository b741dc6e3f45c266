#!/bin/sh
# test.sh [CONFIGURE-ARGS...] - builds libscb in the source tree and runs the
# whole test suite, every backend built (this is what .ci/run calls).
# Every backend means apr too: configure builds it on Unix only when asked,
# so unless the arguments say --with-backends, test.sh asks for
# --with-backends=posix,sysv,apr (deps.sh installs APR).
#
# Installs missing build dependencies (scripts/deps.sh), generates configure
# when needed, configures (CFLAGS and friends pass through from the
# environment, arguments go to configure), runs `make -j2` and
# `make -j2 check` (the backends' suites still one at a time, run-suite.sh's
# lock; the bridge, Python and command tests beside them),
# prints the logs of failing tests, each suite's Check summary and a last line
# "total: N passed, M failed".  Exits non-zero if anything failed or no check
# ran.

set -eu
cd "$(dirname "$0")/.."

echo "== dependencies"
./scripts/deps.sh

if [ ! -x configure ] || [ ! -f Makefile.in ] \
   || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    echo "== autogen.sh"
    ./autogen.sh
fi

case " $* " in
    *" --with-backends="*|*" --without-backends "*) ;;
    *) set -- --with-backends=posix,sysv,apr "$@" ;;
esac

echo "== configure $*"
old_config=
[ -f config.status ] && old_config=$(./config.status --config 2>/dev/null || true)
./configure "$@"
new_config=$(./config.status --config 2>/dev/null || true)
if [ -n "$old_config" ] && [ "$old_config" != "$new_config" ] && [ -f Makefile ]; then
    # Different flags: objects built with the old ones must go.
    echo "== configuration changed: make clean"
    make clean >/dev/null
fi

echo "== make -j2"
make -j2

echo "== make -j2 check"
rm -f tests/*.log tests/*.trs test-suite.log
status=0
make -j2 check || status=$?

if [ "$status" -ne 0 ]; then
    for trs in tests/*.trs; do
        [ -f "$trs" ] || continue
        if grep -Eq '^:test-result: *(FAIL|ERROR|XPASS)' "$trs"; then
            log=${trs%.trs}.log
            echo
            echo "======== $log (failed) ========"
            cat "$log"
        fi
    done
    echo
fi

if [ "$status" -ne 0 ]; then
    echo "test.sh: make check failed (status $status)"
fi
echo "== summary"
sstatus=0
./scripts/summary.sh . || sstatus=$?
[ "$status" -eq 0 ] || exit 1
exit "$sstatus"
