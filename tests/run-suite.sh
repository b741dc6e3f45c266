#!/bin/sh
# run-suite.sh BACKEND - runs the Check suite of one backend
# (tests/check_scb BACKEND) and fails if it left shared memory behind.
# Otherwise exits with the suite's status (77 = skipped).
#
# Only this run's own objects count, so that other programs (or another
# build's suites) making and removing segments meanwhile never look like a
# leak: the suite names every ring "t<tag>.<pid>-<n>" (tu_name in
# tests/testutil.c), with the tag this script puts in SCB_TEST_TAG, and
# afterwards it looks for objects holding such a ring:
#  - posix: /dev/shm/scb.NAME, by its name;
#  - apr (Linux): /dev/shm/ShM.* objects, whose names are hashes, by the
#    ring name in the ring header (at offset 128, one page into the object,
#    after APR's own size word);
#  - sysv: segments, whose keys are hashes, by the ring name in the header
#    (offset 128), read with perl's shmread.
# A segment that never held a ring header (the hostile tests' raw segments)
# carries no name and cannot be told from another program's: it is not
# looked for.
#
# Backend suites of one build directory still run one at a time (a lock), as
# tests/cli.test does.  It writes nothing outside $TMPDIR and the build
# directory.

set -u
backend=${1:?usage: run-suite.sh BACKEND}
: "${builddir:=.}"
suite=$builddir/tests/check_scb

if [ ! -x "$suite" ]; then
    echo "run-suite.sh: $suite is not built" >&2
    exit 99
fi

# --- one suite at a time in this build directory ---------------------------
lock=$builddir/tests/run-suite.lock
waited=0
while ! mkdir "$lock" 2>/dev/null; do
    holder=$(cat "$lock/pid" 2>/dev/null || true)
    if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
        rm -rf "$lock"          # its holder died without cleaning up
        continue
    fi
    if [ -z "$holder" ] && [ "$waited" -ge 10 ]; then
        rm -rf "$lock"          # created but never claimed
        continue
    fi
    if [ "$waited" -ge 3600 ]; then
        echo "run-suite.sh: waited an hour for $lock; giving up" >&2
        exit 99
    fi
    sleep 1
    waited=$((waited + 1))
done
echo $$ >"$lock/pid"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scb-suite.XXXXXX") || exit 99
trap 'rm -rf "$lock" "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- this run's shared memory ---------------------------------------------
# The pid alone is not unique across PID namespaces that share /dev/shm:
# add random bytes.
rnd=$(od -An -N3 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n')
tag=rs$$${rnd}
SCB_TEST_TAG=$tag
export SCB_TEST_TAG
prefix=t$tag.
page=$(getconf PAGESIZE 2>/dev/null || getconf PAGE_SIZE 2>/dev/null || echo 4096)

# header_name FILE OFFSET: the NUL-terminated ring name at OFFSET + 128.
header_name() {
    dd if="$1" bs=1 skip=$(($2 + 128)) count=256 2>/dev/null | tr '\000' '\n' | head -n 1
}

# One line per object of this run: "/dev/shm/scb.NAME",
# "/dev/shm/ShM.X (apr ring NAME)" or "sysv shmid=I key=K (ring NAME)".
snapshot() {
    if [ -d /dev/shm ]; then
        for f in /dev/shm/scb."$prefix"*; do
            { [ -e "$f" ] || [ -L "$f" ]; } && echo "$f"
        done
        for f in /dev/shm/ShM.*; do
            [ -f "$f" ] && [ -r "$f" ] || continue
            n=$(header_name "$f" "$page")
            case $n in "$prefix"*) echo "$f (apr ring $n)" ;; esac
        done
    fi
    if command -v ipcs >/dev/null 2>&1 && ! command -v perl >/dev/null 2>&1; then
        echo "run-suite.sh: NOTE: no perl: System V segments are not checked for leaks" >&2
    fi
    if command -v ipcs >/dev/null 2>&1 && command -v perl >/dev/null 2>&1; then
        ipcs -m 2>/dev/null | awk '
            # Linux: key shmid owner perms bytes nattch status.  A segment
            # marked "dest" was removed already and only waits for its last
            # process to detach: not a leak.
            $1 ~ /^0x[0-9a-fA-F]+$/ && $2 ~ /^[0-9]+$/ && $7 != "dest" { print $2, $1; next }
            # BSD, macOS: T ID KEY MODE OWNER GROUP
            $1 == "m" && $2 ~ /^[0-9]+$/ { print $2, $3 }' |
        SCB_PREFIX=$prefix perl -ne '
            my ($id, $key) = split;
            my $buf;
            next unless defined shmread($id, $buf, 0, 384);
            my $name = substr($buf, 128, 256);
            $name =~ s/\0.*//s;
            print "sysv shmid=$id key=$key (ring $name)\n"
                if index($name, $ENV{SCB_PREFIX}) == 0;'
    fi
}

unset CK_DEFAULT_TIMEOUT        # every tcase sets its own timeout
echo "run-suite.sh: $suite $backend"
"$suite" "$backend"
rc=$?
echo "run-suite.sh: tests/check_scb $backend exited with status $rc"

# An object a child process of the suite is still removing may linger for a
# moment: look twice, a second apart, and report what is there both times.
snapshot | sort >"$tmp/after1"
if [ -s "$tmp/after1" ]; then
    sleep 1
    snapshot | sort | comm -12 "$tmp/after1" - >"$tmp/leaked"
    if [ -s "$tmp/leaked" ]; then
        echo "run-suite.sh: FAIL: the $backend suite left shared memory behind:" >&2
        sed 's/^/  /' "$tmp/leaked" >&2
        echo "  (remove with scb rm NAME, rm /dev/shm/..., or ipcrm -m SHMID)" >&2
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rc=1; fi
        exit "$rc"
    fi
fi
echo "run-suite.sh: no shared memory left behind"
exit "$rc"
